// Command scale measures the operator at scale (issue 5, item 8): N
// CLRProviders, each with its own namespace, Issuer and PostgreSQL Secret,
// sharing one Framework, against a real apiserver with cert-manager's
// controllers running; the operator runs as its own process (built from
// ./cmd/manager) under the generated least-privilege ClusterRole.
//
// It reports: the time until every provider has all its children and a
// status for its current generation; the operator's peak RSS; writes per
// minute to the operator's objects once converged; and, for one key
// rotation, the operator's reconciles and the number of tenants whose
// objects were written.
//
//	eval "$(hack/test-env.sh)"; go run ./test/scale -providers 1000
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	restclient "k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/controllers"
	"github.com/learnerrecords/clr-operator/internal/repo"
	"github.com/learnerrecords/clr-operator/internal/testenv"
)

func main() {
	n := flag.Int("providers", 1000, "number of CLRProviders (each with its own namespace and Issuer)")
	workloads := flag.Bool("workloads", false, "also run kube-controller-manager, kube-scheduler and kwok, and wait for Ready (Deployments Available)")
	quiet := flag.Duration("quiet-period", time.Minute, "how long writes are counted once converged")
	timeout := flag.Duration("timeout", 15*time.Minute, "give up converging after this long")
	flag.Parse()
	if err := run(*n, *workloads, *quiet, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

type results struct {
	providers       int
	converge        time.Duration
	peakRSSKiB      int64
	writesPerMinute float64
	rotationRecs    float64
	touchedTenants  int
}

func run(n int, workloads bool, quiet, timeout time.Duration) error {
	root, err := repo.Root()
	if err != nil {
		return err
	}
	env, err := testenv.Start(testenv.Options{CertManager: true, Workloads: workloads, ServiceIPRange: "10.96.0.0/12"})
	if err != nil {
		return err
	}
	defer env.Stop()
	// Interrupted: stop the control plane rather than leave it running.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		_ = env.Stop()
		os.Exit(1)
	}()
	ctx := context.Background()

	scheme := controllers.NewScheme()
	restCfg := rest(env)
	restCfg.QPS, restCfg.Burst = 500, 1000
	c, err := client.NewWithWatch(restCfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}

	// The operator as a process, under the generated ClusterRole.
	bin := filepath.Join(env.Dir, "manager")
	build := exec.Command("go", "build", "-o", bin, "./cmd/manager")
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the operator: %w", err)
	}
	kubeconfig, err := operatorKubeconfig(ctx, env, c, root)
	if err != nil {
		return err
	}
	metricsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	op := exec.Command(bin, "--metrics-bind-address="+metricsAddr, "--health-probe-bind-address=0",
		"--max-concurrent-reconciles=10", "--clr-server-image=ghcr.io/learnerrecords/clr-server:scale")
	op.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	opLog, _ := os.Create(filepath.Join(env.Dir, "operator.log"))
	op.Stdout, op.Stderr = opLog, opLog
	op.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := op.Start(); err != nil {
		return fmt.Errorf("starting the operator: %w", err)
	}
	defer func() { _ = op.Process.Signal(syscall.SIGTERM); _, _ = op.Process.Wait() }()

	res := results{providers: n}
	fmt.Fprintf(os.Stderr, "creating %d tenants...\n", n)
	start := time.Now()
	if err := createTenants(ctx, c, n); err != nil {
		return err
	}
	if err := waitConverged(ctx, c, n, workloads, timeout); err != nil {
		return fmt.Errorf("%w (operator log: %s)", err, filepath.Join(env.Dir, "operator.log"))
	}
	res.converge = time.Since(start)
	fmt.Fprintf(os.Stderr, "converged in %s\n", res.converge.Round(time.Millisecond))

	// Writes at rest.
	time.Sleep(5 * time.Second) // last status writes of the convergence
	writes, err := countWrites(ctx, c, quiet, nil)
	if err != nil {
		return err
	}
	res.writesPerMinute = float64(writes.total) / quiet.Minutes()

	// One rotation: reconciles and tenants touched.
	before, err := reconcileTotal(metricsAddr, "clrprovider")
	if err != nil {
		return err
	}
	rotated := "tenant-0"
	var touched map[string]int
	done := make(chan error, 1)
	go func() {
		w, err := countWrites(ctx, c, 20*time.Second, nil)
		touched = w.byNamespace
		done <- err
	}()
	time.Sleep(time.Second)
	if err := triggerRenewal(ctx, c, rotated, "issuer-signing-key"); err != nil {
		return err
	}
	if err := <-done; err != nil {
		return err
	}
	after, err := reconcileTotal(metricsAddr, "clrprovider")
	if err != nil {
		return err
	}
	res.rotationRecs = after - before
	for ns := range touched {
		if strings.HasPrefix(ns, "tenant-") {
			res.touchedTenants++
		}
	}
	res.peakRSSKiB, err = peakRSS(op.Process.Pid)
	if err != nil {
		return err
	}
	report(res, workloads, quiet)
	return nil
}

func rest(env *testenv.Env) *restclient.Config { cp := *env.Config; return &cp }

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func operatorKubeconfig(ctx context.Context, env *testenv.Env, c client.Client, root string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	if err != nil {
		return "", err
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.Unmarshal(raw, role); err != nil {
		return "", err
	}
	if err := c.Create(ctx, role); err != nil {
		return "", err
	}
	const user = "system:serviceaccount:clr-system:clr-operator"
	if err := c.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "clr-operator-scale"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: user}},
	}); err != nil {
		return "", err
	}
	u, err := env.Env.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		return "", err
	}
	kc, err := u.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(env.Dir, "operator.kubeconfig")
	return path, os.WriteFile(path, kc, 0o600)
}

// createTenants creates the shared Framework and, per tenant, a namespace,
// an Issuer, a PostgreSQL Secret and a CLRProvider, 16 at a time.
func createTenants(ctx context.Context, c client.Client, n int) error {
	shared := "consortium"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: shared}}); err != nil {
		return err
	}
	fw := &clrv1.Framework{
		ObjectMeta: metav1.ObjectMeta{Namespace: shared, Name: "outcomes"},
		Spec: clrv1.FrameworkSpec{
			Title:        "Consortium Learning Outcomes",
			Levels:       []clrv1.FrameworkLevel{{ID: "benchmark", Name: "Benchmark"}, {ID: "milestone", Name: "Milestone"}, {ID: "capstone", Name: "Capstone"}},
			Competencies: []clrv1.Competency{{ID: "inquiry", Name: "Inquiry and Analysis"}, {ID: "teamwork", Name: "Teamwork"}},
			Sharing:      &clrv1.FrameworkSharing{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"consortium": "member"}}},
		},
	}
	if err := c.Create(ctx, fw); err != nil {
		return err
	}
	var (
		wg    sync.WaitGroup
		first atomic.Value
		next  atomic.Int64
	)
	for w := 0; w < 16; w++ {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := createTenant(ctx, c, i, shared); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		return err
	}
	return nil
}

func createTenant(ctx context.Context, c client.Client, i int, shared string) error {
	ns := fmt.Sprintf("tenant-%d", i)
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"consortium": "member"}}},
		&clrv1.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "issuer"},
			Spec: clrv1.IssuerSpec{Profile: clrv1.IssuerProfile{Name: fmt.Sprintf("College %d", i)}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}, StringData: map[string]string{"dsn": "postgres://clr@db/clr"}},
		&clrv1.CLRProvider{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "records"},
			Spec: clrv1.CLRProviderSpec{
				IssuerRefs:    []clrv1.LocalObjectReference{{Name: "issuer"}},
				FrameworkRefs: []clrv1.FrameworkReference{{Name: "outcomes", Namespace: shared}},
				Hostname:      fmt.Sprintf("records.college-%d.example.edu", i),
				Storage:       clrv1.ProviderStorage{Postgres: &clrv1.PostgresStorage{SecretRef: clrv1.PostgresSecretReference{Name: "db", Key: "dsn"}}},
			}},
	}
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil {
			return fmt.Errorf("creating %s in %s: %w", o.GetName(), ns, err)
		}
	}
	return nil
}

// converged: every provider's status is for its generation with its
// configuration, storage and network reconciled (and Ready with
// workloads), and every provider's Deployment exists.
func waitConverged(ctx context.Context, c client.Client, n int, workloads bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		var providers clrv1.CLRProviderList
		if err := c.List(ctx, &providers); err != nil {
			return err
		}
		ok := 0
		reasons := map[string]int{}
		for i := range providers.Items {
			p := &providers.Items[i]
			good := p.Status.ObservedGeneration == p.Generation
			for _, typ := range []string{clrv1.ConditionConfigReady, clrv1.ConditionStorageReady, clrv1.ConditionNetworkReady} {
				cnd := clrv1.FindCondition(p, typ)
				good = good && cnd != nil && cnd.Status == metav1.ConditionTrue
			}
			if workloads {
				good = good && clrv1.IsReady(p)
			}
			if good {
				ok++
			} else if r := clrv1.FindCondition(p, clrv1.ConditionReady); r != nil {
				reasons[r.Reason]++
			}
		}
		var deps appsv1.DeploymentList
		if err := c.List(ctx, &deps, client.MatchingLabels{controllers.LabelManagedBy: controllers.ManagedByValue}); err != nil {
			return err
		}
		if ok == n && len(deps.Items) == n {
			return nil
		}
		// Where the time goes: cert-manager issuing, or the operator.
		var certs cmapi.CertificateList
		if err := c.List(ctx, &certs); err != nil {
			return err
		}
		certsReady := 0
		for _, ct := range certs.Items {
			for _, cnd := range ct.Status.Conditions {
				if cnd.Type == cmapi.CertificateConditionReady && cnd.Status == cmmeta.ConditionTrue {
					certsReady++
				}
			}
		}
		var issuers clrv1.IssuerList
		if err := c.List(ctx, &issuers); err != nil {
			return err
		}
		keyed := 0
		for _, is := range issuers.Items {
			if is.Status.CurrentKey != nil {
				keyed++
			}
		}
		now := fmt.Sprintf("%d/%d providers converged, %d Deployments; %d Certificates Ready, %d Issuers with a key; not yet: %v",
			ok, n, len(deps.Items), certsReady, keyed, reasons)
		if now != last {
			fmt.Fprintln(os.Stderr, now)
			last = now
		}
		time.Sleep(500 * time.Millisecond)
	}
	return errors.New("timed out: " + last)
}

type writeCount struct {
	total       int
	byNamespace map[string]int
}

// countWrites watches the operator's objects (and what it reads) for d and
// counts every change, by namespace.
func countWrites(ctx context.Context, c client.Client, d time.Duration, _ []string) (writeCount, error) {
	wc := writeCount{byNamespace: map[string]int{}}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	ww, ok := c.(client.WithWatch)
	if !ok {
		return wc, errors.New("client cannot watch")
	}
	lists := []client.ObjectList{
		&clrv1.CLRProviderList{}, &clrv1.IssuerList{}, &clrv1.FrameworkList{},
		&corev1.ConfigMapList{}, &corev1.SecretList{}, &corev1.ServiceList{}, &corev1.ServiceAccountList{},
		&appsv1.DeploymentList{}, &cmapi.CertificateList{},
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, l := range lists {
		// Start from "now": list for the resourceVersion, then watch.
		if err := c.List(ctx, l, client.Limit(1)); err != nil {
			return wc, err
		}
		rv := l.(metav1.ListInterface).GetResourceVersion()
		w, err := ww.Watch(wctx, l, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}})
		if err != nil {
			return wc, err
		}
		wg.Go(func() {
			defer w.Stop()
			for ev := range w.ResultChan() {
				if ev.Type == watch.Bookmark || ev.Type == watch.Error {
					continue
				}
				if o, ok := ev.Object.(client.Object); ok {
					mu.Lock()
					wc.total++
					wc.byNamespace[o.GetNamespace()]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return wc, nil
}

func triggerRenewal(ctx context.Context, c client.Client, ns, name string) error {
	cert := &cmapi.Certificate{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, cert); err != nil {
		return err
	}
	now := metav1.Now()
	cert.Status.Conditions = append(cert.Status.Conditions, cmapi.CertificateCondition{
		Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue, Reason: "ManuallyTriggered",
		Message: "scale benchmark rotation", LastTransitionTime: &now, ObservedGeneration: cert.Generation,
	})
	return c.Status().Update(ctx, cert)
}

// reconcileTotal sums controller_runtime_reconcile_total of a controller
// from the operator's metrics endpoint.
func reconcileTotal(addr, controller string) (float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	sum := 0.0
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "controller_runtime_reconcile_total{") && strings.Contains(line, `controller="`+controller+`"`) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err == nil {
				sum += v
			}
		}
	}
	return sum, nil
}

// peakRSS reads VmHWM (peak resident set) of a process, in KiB.
func peakRSS(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

func report(r results, workloads bool, quiet time.Duration) {
	mode := "children and status (no pods)"
	if workloads {
		mode = "Ready (Deployments Available on kwok)"
	}
	rows := [][3]string{
		{fmt.Sprintf("time to converge, %d providers: %s", r.providers, mode), r.converge.Round(100 * time.Millisecond).String(), "< 60s"},
		{"operator peak RSS", fmt.Sprintf("%.0f MiB", float64(r.peakRSSKiB)/1024), "< 150 MiB"},
		{fmt.Sprintf("writes per minute at rest (over %s)", quiet), fmt.Sprintf("%.1f", r.writesPerMinute), "0"},
		{"provider reconciles caused by one key rotation", fmt.Sprintf("%.0f", r.rotationRecs), "(one provider)"},
		{"tenants whose objects were written by one rotation", strconv.Itoa(r.touchedTenants), "1"},
	}
	fmt.Println("| measure | result | goal |")
	fmt.Println("|---|---:|---:|")
	for _, row := range rows {
		fmt.Printf("| %s | %s | %s |\n", row[0], row[1], row[2])
	}
}
