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
// objects were written. To show where the time goes it also reports the CPU
// seconds of each process (apiserver, etcd, cert-manager, operator) and the
// apiserver's requests per provider while converging; -profile-dir saves CPU
// profiles of the apiserver, cert-manager and the operator, and the
// operator's heap at rest. It also reports the least time the convergence
// could take on this machine were the operator free (the CPU everyone else
// spent, over the cores), and, after an operator restart, how long the new
// process takes to re-check every tenant and what it writes meanwhile.
// -issuers-first starts the clock only once every Issuer has its key: the
// operator's own part, without cert-manager's issuance. -without-operator
// first measures, on its own fresh control plane, the same tenants with no
// operator at all: the benchmark applies each Issuer's cert-manager objects
// itself and waits for every key, a measured floor for the end-to-end time.
//
//	eval "$(hack/test-env.sh)"; go run ./test/scale -providers 1000
//
// A baseline in the same run: -baseline-operator names an operator binary
// (for example one built from the previous commit) and
// -baseline-cert-manager-args the cert-manager flags it is measured with;
// both configurations are measured one after the other, each on a fresh
// control plane, and reported side by side.
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
	goruntime "runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	restclient "k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/controllers"
	"github.com/learnerrecords/clr-operator/internal/repo"
	"github.com/learnerrecords/clr-operator/internal/testenv"
)

func main() {
	var o options
	flag.IntVar(&o.n, "providers", 1000, "number of CLRProviders (each with its own namespace and Issuer)")
	flag.BoolVar(&o.workloads, "workloads", false, "also run kube-controller-manager, kube-scheduler and kwok, and wait for Ready (Deployments Available)")
	flag.DurationVar(&o.quiet, "quiet-period", time.Minute, "how long writes are counted once converged")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "give up converging after this long")
	certManagerArgs := flag.String("cert-manager-args", "", "extra flags for cert-manager's controller program, space-separated (e.g. \"--workers=5 --kube-api-qps=100\"; its defaults otherwise)")
	operatorArgs := flag.String("operator-args", "", "extra flags for the operator, space-separated")
	flag.StringVar(&o.gomemlimit, "operator-gomemlimit", "", "GOMEMLIMIT of the operator process (e.g. 120MiB; none when empty)")
	baselineOperator := flag.String("baseline-operator", "", "an operator binary to measure first, as the baseline, in the same run (e.g. one built from the previous commit)")
	baselineCMArgs := flag.String("baseline-cert-manager-args", "", "cert-manager flags of the baseline run")
	baselineOpArgs := flag.String("baseline-operator-args", "", "operator flags of the baseline run")
	flag.StringVar(&o.profileDir, "profile-dir", "", "write CPU profiles of cert-manager and the operator (first 30 s of convergence) and the operator's heap at rest here")
	flag.BoolVar(&o.issuersFirst, "issuers-first", false, "create the Issuers first and start the clock only once every one has its key: measures the operator's own part (the CLRProviders), without cert-manager's issuance")
	withoutOperator := flag.Bool("without-operator", false, "first measure the same tenants with no operator at all: the benchmark creates each Issuer's cert-manager objects itself, as the operator would, and waits until cert-manager has issued every key (a floor for the end-to-end time on this machine)")
	flag.BoolVar(&o.restart, "restart", true, "after the rotation, restart the operator and measure how long it takes to re-check every tenant, and what it writes meanwhile")
	flag.Parse()
	o.certManagerArgs, o.operatorArgs = strings.Fields(*certManagerArgs), strings.Fields(*operatorArgs)
	// The progress cache logs through controller-runtime; its messages
	// (watch restarts under load) are not results.
	ctrllog.SetLogger(logr.Discard())

	var floor *floorResult
	if *withoutOperator {
		f, err := runWithoutOperator(o)
		if err != nil {
			fmt.Fprintln(os.Stderr, "scale (without the operator):", err)
			os.Exit(1)
		}
		floor = &f
	}
	var all []results
	if *baselineOperator != "" {
		b := o
		b.name, b.operatorBin, b.profileDir = "baseline", *baselineOperator, ""
		b.certManagerArgs, b.operatorArgs = strings.Fields(*baselineCMArgs), strings.Fields(*baselineOpArgs)
		res, err := run(b)
		if err != nil {
			fmt.Fprintln(os.Stderr, "scale (baseline):", err)
			os.Exit(1)
		}
		all = append(all, res)
	}
	o.name = "this tree"
	res, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
	all = append(all, res)
	report(all, o)
	if floor != nil {
		floor.report(o.n)
	}
}

// options describe one measured configuration.
type options struct {
	name            string
	n               int
	workloads       bool
	quiet, timeout  time.Duration
	certManagerArgs []string
	operatorArgs    []string
	// operatorBin is a prebuilt operator; empty: build ./cmd/manager.
	operatorBin string
	gomemlimit  string
	profileDir  string
	// issuersFirst: the clock starts once every Issuer has its key.
	issuersFirst bool
	restart      bool
}

type results struct {
	name            string
	settings        string
	providers       int
	converge        time.Duration
	keysIssued      time.Duration
	peakRSSKiB      int64
	restRSSKiB      int64
	liveHeapBytes   float64
	writesPerMinute float64
	rotationRecs    float64
	touchedTenants  int
	operatorReqs    float64
	cpu             map[string]float64
	apiRequests     map[string]float64
	// floor is the least time the convergence could take on this machine
	// were the operator free: the CPU the other parts spent, over the cores.
	floor time.Duration
	// restart: time for a restarted operator to re-check every tenant, the
	// writes it caused meanwhile and its requests per tenant.
	restart       time.Duration
	restartWrites int
	restartReqs   float64
	// restartPeakRSSKiB: the restarted operator lists every object at once.
	restartPeakRSSKiB int64
}

func run(o options) (results, error) {
	n := o.n
	res := results{name: o.name, providers: n, settings: fmt.Sprintf("cert-manager %v; operator %v", o.certManagerArgs, o.operatorArgs)}
	if o.gomemlimit != "" {
		res.settings += "; GOMEMLIMIT=" + o.gomemlimit
	}
	fmt.Fprintf(os.Stderr, "=== %s: %s\n", o.name, res.settings)
	root, err := repo.Root()
	if err != nil {
		return res, err
	}
	env, restCfg, c, stop, err := startControlPlane(o, o.workloads)
	if err != nil {
		return res, err
	}
	defer stop()
	ctx := context.Background()
	scheme := c.Scheme()

	// The operator as a process, under the generated ClusterRole.
	bin := o.operatorBin
	if bin == "" {
		bin = filepath.Join(env.Dir, "manager")
		build := exec.Command("go", "build", "-o", bin, "./cmd/manager")
		build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return res, fmt.Errorf("building the operator: %w", err)
		}
	}
	kubeconfig, err := operatorKubeconfig(ctx, env, c, root)
	if err != nil {
		return res, err
	}
	metricsAddr, err := freeAddr()
	if err != nil {
		return res, err
	}
	args := []string{"--metrics-bind-address=" + metricsAddr, "--health-probe-bind-address=0",
		"--clr-server-image=ghcr.io/learnerrecords/clr-server:scale"}
	// The operator of this tree serves pprof for the live heap at rest
	// (a prebuilt baseline may not know the flag).
	pprofAddr := ""
	if o.operatorBin == "" {
		if pprofAddr, err = freeAddr(); err != nil {
			return res, err
		}
		args = append(args, "--pprof-bind-address="+pprofAddr)
	}
	startOperator := func(logName string) (*exec.Cmd, error) {
		op := exec.Command(bin, append(args, o.operatorArgs...)...)
		op.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
		if o.gomemlimit != "" {
			op.Env = append(op.Env, "GOMEMLIMIT="+o.gomemlimit)
		}
		opLog, _ := os.Create(filepath.Join(env.Dir, logName))
		op.Stdout, op.Stderr = opLog, opLog
		op.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := op.Start(); err != nil {
			return nil, fmt.Errorf("starting the operator: %w", err)
		}
		if err := waitMetrics(metricsAddr, 60*time.Second); err != nil {
			_ = op.Process.Kill()
			return nil, fmt.Errorf("operator not serving metrics: %w (log: %s)", err, filepath.Join(env.Dir, logName))
		}
		return op, nil
	}
	op, err := startOperator("operator.log")
	if err != nil {
		return res, err
	}
	defer func() { _ = op.Process.Signal(syscall.SIGTERM); _, _ = op.Process.Wait() }()

	// Progress is read from watches, not by listing a thousand objects of
	// four kinds twice a second: the apiserver that is being measured
	// would spend its CPU encoding the benchmark's lists.
	watched, stopWatching, err := watchProgress(ctx, restCfg, scheme)
	if err != nil {
		return res, err
	}
	defer stopWatching()

	phase := allObjects
	if o.issuersFirst {
		// The operator's own part: providers whose Issuers already have
		// their keys. Creating the Issuers and waiting for cert-manager
		// happens before the clock starts.
		fmt.Fprintf(os.Stderr, "creating %d tenants without their CLRProviders, waiting for every key...\n", n)
		t0 := time.Now()
		if err := createTenants(ctx, c, n, withoutProviders); err != nil {
			return res, err
		}
		if err := waitKeys(ctx, watched, n, o.timeout, t0); err != nil {
			return res, err
		}
		// cert-manager goes on after the last key: its queued events are
		// posted one at a time and its temporary key Secrets deleted.
		if err := waitQuiet(restCfg, o.timeout, t0); err != nil {
			return res, err
		}
		phase = onlyProviders
	}

	// Where the CPU and the apiserver's requests go during convergence.
	usageBefore, err := takeUsage(restCfg)
	if err != nil {
		return res, err
	}
	reqBefore, err := metricSum(metricsAddr, "rest_client_requests_total", "")
	if err != nil {
		return res, err
	}
	var profiles sync.WaitGroup
	if o.profileDir != "" {
		cmAddr := ""
		for _, a := range o.certManagerArgs {
			if v, ok := strings.CutPrefix(a, "--pprof-bind-address="); ok {
				cmAddr = v
			}
		}
		profiles.Go(func() {
			// kube-apiserver serves /debug/pprof to system:masters.
			time.Sleep(profileDelay)
			if err := saveAPIProfile(restCfg, "/debug/pprof/profile?seconds=30", filepath.Join(o.profileDir, "kube-apiserver.cpu.pprof")); err != nil {
				fmt.Fprintln(os.Stderr, "profile:", err)
			}
		})
		for name, addr := range map[string]string{"operator": pprofAddr, "cert-manager": cmAddr} {
			if addr == "" {
				continue
			}
			profiles.Go(func() {
				time.Sleep(profileDelay)
				if err := saveProfile("http://"+addr+"/debug/pprof/profile?seconds=30", filepath.Join(o.profileDir, name+".cpu.pprof")); err != nil {
					fmt.Fprintln(os.Stderr, "profile:", err)
				}
			})
		}
	}

	fmt.Fprintf(os.Stderr, "creating %d %s...\n", n, phase)
	start := time.Now()
	if err := createTenants(ctx, c, n, phase); err != nil {
		return res, err
	}
	keysAt, err := waitConverged(ctx, watched, n, o.workloads, o.timeout, start)
	stopWatching()
	if err != nil {
		return res, fmt.Errorf("%w (operator log: %s)", err, filepath.Join(env.Dir, "operator.log"))
	}
	res.converge = time.Since(start)
	res.keysIssued = keysAt
	fmt.Fprintf(os.Stderr, "converged in %s\n", res.converge.Round(time.Millisecond))
	if res.cpu, res.apiRequests, err = usageBefore.since(restCfg); err != nil {
		return res, err
	}
	reqAfter, err := metricSum(metricsAddr, "rest_client_requests_total", "")
	if err != nil {
		return res, err
	}
	res.operatorReqs = reqAfter - reqBefore
	res.floor = lowerBound(res.cpu, res.apiRequests, res.operatorReqs)
	profiles.Wait()

	// Writes at rest.
	time.Sleep(5 * time.Second) // last status writes of the convergence
	writes, err := countWrites(ctx, c, o.quiet, nil)
	if err != nil {
		return res, err
	}
	res.writesPerMinute = float64(writes.total) / o.quiet.Minutes()

	// One rotation: reconciles and tenants touched.
	before, err := metricSum(metricsAddr, "controller_runtime_reconcile_total", `controller="clrprovider"`)
	if err != nil {
		return res, err
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
		return res, err
	}
	if err := <-done; err != nil {
		return res, err
	}
	after, err := metricSum(metricsAddr, "controller_runtime_reconcile_total", `controller="clrprovider"`)
	if err != nil {
		return res, err
	}
	res.rotationRecs = after - before
	for ns := range touched {
		if strings.HasPrefix(ns, "tenant-") {
			res.touchedTenants++
		}
	}
	res.peakRSSKiB, err = procStatusKiB(op.Process.Pid, "VmHWM:")
	if err != nil {
		return res, err
	}
	if res.restRSSKiB, err = procStatusKiB(op.Process.Pid, "VmRSS:"); err != nil {
		return res, err
	}
	if pprofAddr != "" {
		// gc=1 collects first: the heap in use afterwards is the live
		// working set at rest.
		heapFile := filepath.Join(env.Dir, "operator.heap.pprof")
		if o.profileDir != "" {
			heapFile = filepath.Join(o.profileDir, "operator.heap.pprof")
		}
		if err := saveProfile("http://"+pprofAddr+"/debug/pprof/heap?gc=1", heapFile); err != nil {
			return res, err
		}
		if res.liveHeapBytes, err = metricSum(metricsAddr, "go_memstats_heap_inuse_bytes", ""); err != nil {
			return res, err
		}
	}

	if o.restart {
		// An operator restart (upgrade, node drain, lost leadership) with
		// every tenant converged: how long until it has re-checked them
		// all, and whether it wrote anything doing so (it should not).
		_ = op.Process.Signal(syscall.SIGTERM)
		_, _ = op.Process.Wait()
		wctx, stopCounting := context.WithCancel(ctx)
		counted := make(chan writeCount, 1)
		go func() {
			w, _ := countWrites(wctx, c, o.timeout, nil)
			counted <- w
		}()
		time.Sleep(time.Second) // the watches are open
		t0 := time.Now()
		if op, err = startOperator("operator-restarted.log"); err != nil {
			stopCounting()
			return res, err
		}
		if err := waitResynced(metricsAddr, n, o.timeout); err != nil {
			stopCounting()
			return res, err
		}
		res.restart = time.Since(t0)
		time.Sleep(5 * time.Second) // writes that would follow the last reconcile
		stopCounting()
		w := <-counted
		res.restartWrites = w.total
		reqs, err := metricSum(metricsAddr, "rest_client_requests_total", "")
		if err != nil {
			return res, err
		}
		res.restartReqs = reqs / float64(n)
		if res.restartPeakRSSKiB, err = procStatusKiB(op.Process.Pid, "VmHWM:"); err != nil {
			return res, err
		}
		fmt.Fprintf(os.Stderr, "restarted operator re-checked %d tenants in %s with %d writes\n", n, res.restart.Round(time.Millisecond), w.total)
	}
	return res, nil
}

// floorResult is a run with no operator: cert-manager alone issuing every
// Issuer's key.
type floorResult struct {
	keys        time.Duration
	cpu         map[string]float64
	apiRequests map[string]float64
}

// runWithoutOperator creates the same tenants as a full run (namespace,
// Issuer, PostgreSQL Secret, CLRProvider, the shared Framework) plus, per
// Issuer, the cert-manager objects the operator would apply for its key
// (controllers.SigningKeyObjects), with no operator running, and waits
// until every Certificate is Ready. Nothing a full run does is left out but
// the operator's own work, so no operator can converge faster than this on
// the same machine: the figure is a measured floor, not an estimate.
func runWithoutOperator(o options) (floorResult, error) {
	var res floorResult
	fmt.Fprintf(os.Stderr, "=== without the operator: cert-manager %v\n", o.certManagerArgs)
	_, restCfg, c, stop, err := startControlPlane(o, false)
	if err != nil {
		return res, err
	}
	defer stop()
	ctx := context.Background()
	watched, stopWatching, err := watchProgress(ctx, restCfg, c.Scheme())
	if err != nil {
		return res, err
	}
	defer stopWatching()

	usageBefore, err := takeUsage(restCfg)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(os.Stderr, "creating %d tenants and their Certificates...\n", o.n)
	start := time.Now()
	if err := createTenants(ctx, c, o.n, allObjectsAndCertificates); err != nil {
		return res, err
	}
	if err := waitCertificates(ctx, watched, o.n, o.timeout, start); err != nil {
		return res, err
	}
	res.keys = time.Since(start)
	if res.cpu, res.apiRequests, err = usageBefore.since(restCfg); err != nil {
		return res, err
	}
	return res, nil
}

// waitCertificates waits until n Certificates are Ready.
func waitCertificates(ctx context.Context, c client.Reader, n int, timeout time.Duration, start time.Time) error {
	deadline := time.Now().Add(timeout)
	last := -1
	for time.Now().Before(deadline) {
		var certs cmapi.CertificateList
		if err := c.List(ctx, &certs); err != nil {
			return err
		}
		ready := 0
		for _, ct := range certs.Items {
			for _, cnd := range ct.Status.Conditions {
				if cnd.Type == cmapi.CertificateConditionReady && cnd.Status == cmmeta.ConditionTrue {
					ready++
				}
			}
		}
		if ready != last {
			fmt.Fprintf(os.Stderr, "%6.1fs %d/%d Certificates Ready\n", time.Since(start).Seconds(), ready, n)
			last = ready
		}
		if ready == n {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("timed out: %d/%d Certificates Ready", last, n)
}

func (f floorResult) report(n int) {
	total := 0.0
	for _, v := range f.apiRequests {
		total += v
	}
	fmt.Printf("\nwithout the operator (cert-manager alone, its objects created by the benchmark): every one of %d keys issued in %s\n",
		n, f.keys.Round(100*time.Millisecond))
	fmt.Printf("without the operator: CPU seconds:")
	for _, k := range topKeys(f.cpu, 8) {
		fmt.Printf(" %s %.0f;", k, f.cpu[k])
	}
	fmt.Printf("\nwithout the operator: apiserver requests per tenant: total %.1f;", total/float64(n))
	for _, k := range topKeys(f.apiRequests, 40) {
		fmt.Printf(" %s %.2f;", k, f.apiRequests[k]/float64(n))
	}
	fmt.Println()
}

// waitResynced waits until a (re)started operator has reconciled every
// Issuer and provider at least once and its work queues are empty.
func waitResynced(metricsAddr string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		providers, err1 := metricSum(metricsAddr, "controller_runtime_reconcile_total", `controller="clrprovider"`)
		issuers, err2 := metricSum(metricsAddr, "controller_runtime_reconcile_total", `controller="issuer"`)
		depth, err3 := metricSum(metricsAddr, "workqueue_depth", "")
		if err := errors.Join(err1, err2, err3); err != nil {
			return err
		}
		if providers >= float64(n) && issuers >= float64(n) && depth == 0 {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("timed out waiting for the restarted operator to re-check every tenant")
}

// lowerBound is the least time the convergence could have taken on this
// machine with an operator that cost nothing: the CPU the apiserver and
// etcd spent on everyone else's requests, plus cert-manager's own, spread
// over every core. The apiserver's and etcd's CPU is shared out by request
// count (the operator's requests are not dearer than cert-manager's: both
// are mostly writes of similar objects).
func lowerBound(cpu, apiRequests map[string]float64, operatorReqs float64) time.Duration {
	total := 0.0
	for _, v := range apiRequests {
		total += v
	}
	if total == 0 {
		return 0
	}
	others := 1 - operatorReqs/total
	secs := (cpu["kube-apiserver"]+cpu["etcd"])*others + cpu[certManagerComm]
	return time.Duration(secs / float64(goruntime.NumCPU()) * float64(time.Second))
}

// certManagerComm is the cert-manager program's name as /proc shows it
// (truncated to 15 characters).
const certManagerComm = "cert-manager-co"

// watchProgress starts a cache of the kinds waitConverged looks at.
func watchProgress(ctx context.Context, cfg *restclient.Config, scheme *runtime.Scheme) (client.Reader, func(), error) {
	managed := labels.SelectorFromSet(labels.Set{controllers.LabelManagedBy: controllers.ManagedByValue})
	c, err := cache.New(cfg, cache.Options{Scheme: scheme, DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{&appsv1.Deployment{}: {Label: managed}}})
	if err != nil {
		return nil, nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	for _, o := range []client.Object{&clrv1.CLRProvider{}, &appsv1.Deployment{}, &cmapi.Certificate{}, &clrv1.Issuer{}} {
		if _, err := c.GetInformer(cctx, o); err != nil {
			cancel()
			return nil, nil, err
		}
	}
	go func() { _ = c.Start(cctx) }()
	if !c.WaitForCacheSync(cctx) {
		cancel()
		return nil, nil, errors.New("progress cache did not sync")
	}
	return c, cancel, nil
}

func waitMetrics(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func saveProfile(url, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// profileDelay skips the creation of the tenants: the profiles show the
// steady state of convergence.
const profileDelay = 20 * time.Second

func saveAPIProfile(cfg *restclient.Config, path, file string) error {
	hc, err := restclient.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	resp, err := hc.Get(strings.TrimSuffix(cfg.Host, "/") + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// usage is the CPU seconds of each process and the apiserver's request
// counts at one moment; since gives what was spent after it.
type usage struct {
	cpu, apiRequests map[string]float64
}

func takeUsage(restCfg *restclient.Config) (usage, error) {
	cpu := cpuByProcess()
	api, err := apiserverRequests(restCfg)
	return usage{cpu: cpu, apiRequests: api}, err
}

func (u usage) since(restCfg *restclient.Config) (cpu, apiRequests map[string]float64, err error) {
	now, err := takeUsage(restCfg)
	if err != nil {
		return nil, nil, err
	}
	cpu, apiRequests = map[string]float64{}, map[string]float64{}
	for k, v := range now.cpu {
		cpu[k] = v - u.cpu[k]
	}
	for k, v := range now.apiRequests {
		if d := v - u.apiRequests[k]; d > 0 {
			apiRequests[k] = d
		}
	}
	return cpu, apiRequests, nil
}

// cpuByProcess sums user+system CPU seconds of this program's descendants
// (apiserver, etcd, cert-manager, the operator...) by command name.
func cpuByProcess() map[string]float64 {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	type stat struct {
		comm string
		cpu  float64
	}
	stats := map[int]stat{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ... utime(14) stime(15): comm may hold spaces.
		line := string(raw)
		open, closing := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
		if open < 0 || closing < open {
			continue
		}
		f := strings.Fields(line[closing+2:])
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		parent[pid] = ppid
		stats[pid] = stat{comm: line[open+1 : closing], cpu: (ut + st) / 100} // USER_HZ is 100 on Linux
	}
	self := os.Getpid()
	out := map[string]float64{}
	for pid, st := range stats {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == self {
				out[st.comm] += st.cpu
				break
			}
		}
	}
	return out
}

// apiserverRequests reads apiserver_request_total by "verb resource".
func apiserverRequests(cfg *restclient.Config) (map[string]float64, error) {
	hc, err := restclient.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Get(strings.TrimSuffix(cfg.Host, "/") + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			continue
		}
		out[label(line, "verb")+" "+label(line, "resource")+subresource(line)] += v
	}
	return out, nil
}

func subresource(line string) string {
	if s := label(line, "subresource"); s != "" {
		return "/" + s
	}
	return ""
}

func label(line, name string) string {
	_, after, ok := strings.Cut(line, name+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, `"`)
	return v
}

// startControlPlane starts a fresh envtest control plane with cert-manager
// (and the workload controllers when asked) and a client for the
// benchmark's own requests. stop stops it; an interrupt stops it too rather
// than leave kube-apiserver and etcd running.
func startControlPlane(o options, workloads bool) (*testenv.Env, *restclient.Config, client.WithWatch, func(), error) {
	env, err := testenv.Start(testenv.Options{CertManager: true, CertManagerArgs: o.certManagerArgs, Workloads: workloads, ServiceIPRange: "10.96.0.0/12"})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		if _, ok := <-sig; ok {
			_ = env.Stop()
			os.Exit(1)
		}
	}()
	stop := func() {
		signal.Stop(sig)
		close(sig)
		_ = env.Stop()
	}
	restCfg := rest(env)
	restCfg.QPS, restCfg.Burst = 500, 1000
	c, err := client.NewWithWatch(restCfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		stop()
		return nil, nil, nil, nil, err
	}
	return env, restCfg, c, stop, nil
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

// creation says which of a tenant's objects createTenants creates.
type creation int

const (
	allObjects       creation = iota // namespace, Issuer, Secret, CLRProvider (and the shared Framework)
	withoutProviders                 // all but the CLRProvider
	onlyProviders                    // the CLRProvider
	// allObjectsAndCertificates: allObjects plus the cert-manager objects
	// the operator would apply for the Issuer's key (no operator runs).
	allObjectsAndCertificates
)

func (c creation) String() string {
	switch c {
	case withoutProviders:
		return "tenants without their CLRProviders"
	case onlyProviders:
		return "CLRProviders (their Issuers have keys)"
	case allObjectsAndCertificates:
		return "tenants and their Certificates"
	}
	return "tenants"
}

// createTenants creates the shared Framework and, per tenant, a namespace,
// an Issuer, a PostgreSQL Secret and a CLRProvider, 16 at a time (or the
// part of that which what says).
func createTenants(ctx context.Context, c client.Client, n int, what creation) error {
	shared := "consortium"
	if what != onlyProviders {
		if err := createFramework(ctx, c, shared); err != nil {
			return err
		}
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
				if err := createTenant(ctx, c, i, shared, what); err != nil {
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

func createFramework(ctx context.Context, c client.Client, shared string) error {
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: shared}}); err != nil {
		return err
	}
	return c.Create(ctx, &clrv1.Framework{
		ObjectMeta: metav1.ObjectMeta{Namespace: shared, Name: "outcomes"},
		Spec: clrv1.FrameworkSpec{
			Title:        "Consortium Learning Outcomes",
			Levels:       []clrv1.FrameworkLevel{{ID: "benchmark", Name: "Benchmark"}, {ID: "milestone", Name: "Milestone"}, {ID: "capstone", Name: "Capstone"}},
			Competencies: []clrv1.Competency{{ID: "inquiry", Name: "Inquiry and Analysis"}, {ID: "teamwork", Name: "Teamwork"}},
			Sharing:      &clrv1.FrameworkSharing{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"consortium": "member"}}},
		},
	})
}

func createTenant(ctx context.Context, c client.Client, i int, shared string, what creation) error {
	ns := fmt.Sprintf("tenant-%d", i)
	var objs []client.Object
	if what != onlyProviders {
		objs = append(objs,
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"consortium": "member"}}},
			&clrv1.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "issuer"},
				Spec: clrv1.IssuerSpec{Profile: clrv1.IssuerProfile{Name: fmt.Sprintf("College %d", i)}}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"}, StringData: map[string]string{"dsn": "postgres://clr@db/clr"}})
	}
	if what == allObjectsAndCertificates {
		keyObjs, err := controllers.SigningKeyObjects(objs[1].(*clrv1.Issuer))
		if err != nil {
			return err
		}
		objs = append(objs, keyObjs...)
	}
	if what != withoutProviders {
		objs = append(objs, &clrv1.CLRProvider{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "records"},
			Spec: clrv1.CLRProviderSpec{
				IssuerRefs:    []clrv1.LocalObjectReference{{Name: "issuer"}},
				FrameworkRefs: []clrv1.FrameworkReference{{Name: "outcomes", Namespace: shared}},
				Hostname:      fmt.Sprintf("records.college-%d.example.edu", i),
				Storage:       clrv1.ProviderStorage{Postgres: &clrv1.PostgresStorage{SecretRef: clrv1.PostgresSecretReference{Name: "db", Key: "dsn"}}},
			}})
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
// It returns how long after start every Issuer had its key.
func waitConverged(ctx context.Context, c client.Reader, n int, workloads bool, timeout time.Duration, start time.Time) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	last := ""
	var keysAt time.Duration
	for time.Now().Before(deadline) {
		var providers clrv1.CLRProviderList
		if err := c.List(ctx, &providers); err != nil {
			return 0, err
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
		if err := c.List(ctx, &deps); err != nil {
			return 0, err
		}
		if ok == n && len(deps.Items) == n {
			if keysAt == 0 {
				keysAt = time.Since(start)
			}
			return keysAt, nil
		}
		// Where the time goes: cert-manager issuing, or the operator.
		var certs cmapi.CertificateList
		if err := c.List(ctx, &certs); err != nil {
			return 0, err
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
			return 0, err
		}
		keyed := 0
		for _, is := range issuers.Items {
			if is.Status.CurrentKey != nil {
				keyed++
			}
		}
		if keyed == n && keysAt == 0 {
			keysAt = time.Since(start)
		}
		now := fmt.Sprintf("%d/%d providers converged, %d Deployments; %d Certificates Ready, %d Issuers with a key; not yet: %v",
			ok, n, len(deps.Items), certsReady, keyed, reasons)
		if now != last {
			fmt.Fprintf(os.Stderr, "%6.1fs %s\n", time.Since(start).Seconds(), now)
			last = now
		}
		time.Sleep(500 * time.Millisecond)
	}
	return 0, errors.New("timed out: " + last)
}

// waitKeys waits until every Issuer has published its key and is Ready
// (cert-manager has finished with its Certificate).
func waitKeys(ctx context.Context, c client.Reader, n int, timeout time.Duration, start time.Time) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var issuers clrv1.IssuerList
		if err := c.List(ctx, &issuers); err != nil {
			return err
		}
		keyed := 0
		for _, is := range issuers.Items {
			if is.Status.CurrentKey != nil && clrv1.IsReady(&is) {
				keyed++
			}
		}
		if keyed == n {
			fmt.Fprintf(os.Stderr, "%6.1fs every Issuer has its key\n", time.Since(start).Seconds())
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return errors.New("timed out waiting for the Issuers' keys")
}

// waitQuiet waits until the apiserver gets fewer than 5 requests a second
// other than reads and watches.
func waitQuiet(cfg *restclient.Config, timeout time.Duration, start time.Time) error {
	const window = 2 * time.Second
	writes := func() (float64, error) {
		m, err := apiserverRequests(cfg)
		sum := 0.0
		for k, v := range m {
			if verb, _, _ := strings.Cut(k, " "); verb != "GET" && verb != "LIST" && verb != "WATCH" {
				sum += v
			}
		}
		return sum, err
	}
	deadline := time.Now().Add(timeout)
	last, err := writes()
	if err != nil {
		return err
	}
	for time.Now().Before(deadline) {
		time.Sleep(window)
		now, err := writes()
		if err != nil {
			return err
		}
		if (now-last)/window.Seconds() < 5 {
			fmt.Fprintf(os.Stderr, "%6.1fs the apiserver is quiet\n", time.Since(start).Seconds())
			return nil
		}
		last = now
	}
	return errors.New("timed out waiting for the apiserver to be quiet")
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
	// As `cmctl renew` does: an Issuing condition, replacing one there
	// (cert-manager leaves Issuing=False behind after a failed attempt).
	now := metav1.Now()
	conds := slices.DeleteFunc(slices.Clone(cert.Status.Conditions), func(c cmapi.CertificateCondition) bool {
		return c.Type == cmapi.CertificateConditionIssuing
	})
	cert.Status.Conditions = append(conds, cmapi.CertificateCondition{
		Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue, Reason: "ManuallyTriggered",
		Message: "scale benchmark rotation", LastTransitionTime: &now, ObservedGeneration: cert.Generation,
	})
	return c.Status().Update(ctx, cert)
}

// metricSum sums the samples of a metric from the operator's metrics
// endpoint whose labels contain match.
func metricSum(addr, metric, match string) (float64, error) {
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
		if (strings.HasPrefix(line, metric+"{") || strings.HasPrefix(line, metric+" ")) && strings.Contains(line, match) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err == nil {
				sum += v
			}
		}
	}
	return sum, nil
}

// procStatusKiB reads a memory field (VmHWM: peak resident set, VmRSS:
// resident set now) of a process, in KiB.
func procStatusKiB(pid int, field string) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(line)
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc status", field)
}

func report(all []results, o options) {
	mode := "children and status (no pods)"
	if o.issuersFirst {
		mode += ", Issuers already keyed"
	}
	if o.workloads {
		mode = "Ready (Deployments Available on kwok)"
	}
	for _, r := range all {
		fmt.Printf("%s: %s\n", r.name, r.settings)
	}
	fmt.Println()
	header, sep := "| measure |", "|---|"
	for _, r := range all {
		header += " " + r.name + " |"
		sep += "---:|"
	}
	fmt.Println(header + " goal |")
	fmt.Println(sep + "---:|")
	row := func(name, goal string, cell func(r results) string) {
		line := "| " + name + " |"
		for _, r := range all {
			line += " " + cell(r) + " |"
		}
		fmt.Println(line + " " + goal + " |")
	}
	mib := func(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
	row(fmt.Sprintf("time to converge, %d providers: %s", o.n, mode), "< 60s", func(r results) string { return r.converge.Round(100 * time.Millisecond).String() })
	if !o.issuersFirst {
		row("of which: until every Issuer has its key", "", func(r results) string { return r.keysIssued.Round(100 * time.Millisecond).String() })
	}
	row(fmt.Sprintf("least time possible here with an operator that cost nothing (others' CPU / %d cores)", goruntime.NumCPU()), "",
		func(r results) string { return r.floor.Round(100 * time.Millisecond).String() })
	row("operator peak RSS (VmHWM)", "< 150 MiB", func(r results) string { return mib(r.peakRSSKiB) })
	row("operator RSS at rest", "", func(r results) string { return mib(r.restRSSKiB) })
	row("operator live heap at rest (in use after a GC)", "", func(r results) string {
		if r.liveHeapBytes == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f MiB", r.liveHeapBytes/(1<<20))
	})
	row("operator requests to the apiserver per provider, converging", "", func(r results) string { return fmt.Sprintf("%.1f", r.operatorReqs/float64(r.providers)) })
	row(fmt.Sprintf("writes per minute at rest (over %s)", o.quiet), "0", func(r results) string { return fmt.Sprintf("%.1f", r.writesPerMinute) })
	row("provider reconciles caused by one key rotation", "(one provider)", func(r results) string { return fmt.Sprintf("%.0f", r.rotationRecs) })
	row("tenants whose objects were written by one rotation", "1", func(r results) string { return strconv.Itoa(r.touchedTenants) })
	if o.restart {
		row("operator restart: time to re-check every tenant", "", func(r results) string { return r.restart.Round(100 * time.Millisecond).String() })
		row("operator restart: writes meanwhile", "0", func(r results) string { return strconv.Itoa(r.restartWrites) })
		row("operator restart: requests per tenant", "", func(r results) string { return fmt.Sprintf("%.1f", r.restartReqs) })
		row("operator restart: peak RSS of the new process", "", func(r results) string { return mib(r.restartPeakRSSKiB) })
	}

	for _, r := range all {
		fmt.Printf("\n%s: CPU seconds while converging:", r.name)
		for _, k := range topKeys(r.cpu, 8) {
			fmt.Printf(" %s %.0f;", k, r.cpu[k])
		}
		fmt.Printf("\n%s: apiserver requests while converging (per provider):", r.name)
		total := 0.0
		for _, v := range r.apiRequests {
			total += v
		}
		fmt.Printf(" total %.1f;", total/float64(r.providers))
		for _, k := range topKeys(r.apiRequests, 40) {
			fmt.Printf(" %s %.2f;", k, r.apiRequests[k]/float64(r.providers))
		}
		fmt.Println()
	}
}

// topKeys returns the keys of the n largest values, largest first.
func topKeys(m map[string]float64, n int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || (m[keys[i]] == m[keys[j]] && keys[i] < keys[j]) })
	if len(keys) > n {
		keys = keys[:n]
	}
	return keys
}
