package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/internal/localcluster"
)

// readyTimeout bounds the wait for the samples' tenants to become Ready.
const readyTimeout = 150 * time.Second

// tools are the binaries hack/test-env.sh builds (cached by version).
type tools struct {
	assets      string // etcd, kube-apiserver, kube-controller-manager, kube-scheduler
	certManager string
	kwok        string
	kwokStages  string
	cmCRDs      string
}

func up(l *layout) (err error) {
	recs, err := l.sup.List()
	if err != nil {
		return err
	}
	if len(recs) > 0 {
		var dead []string
		for _, r := range recs {
			if !r.Running() {
				dead = append(dead, r.Name)
			}
		}
		switch {
		case len(dead) == 0:
			fmt.Println("The local environment is already up (`make local-down` stops it, `go run ./hack/localup status` lists it).")
			if st, err := l.loadState(); err == nil {
				fmt.Print("\n" + renderSummary(l, st))
			}
			return nil
		case len(dead) < len(recs):
			return fmt.Errorf("the local environment is partly running (%s not running; logs in %s): run `make local-down` first, then `make local-up`",
				strings.Join(dead, ", "), l.sup.LogDir())
		}
		// Every recorded process is gone (machine restarted): start over.
	}
	// Start from scratch: a new etcd means new keys, so old tenant data
	// would not match anyway.
	if err := os.RemoveAll(l.Dir); err != nil {
		return fmt.Errorf("cleaning %s: %w", l.Dir, err)
	}
	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return err
	}
	var trust []string
	if !l.ExternalOIDC {
		if l.idp, err = newIdPPlan(l); err != nil {
			return fmt.Errorf("preparing the local OpenID Connect provider: %w", err)
		}
		trust = append(trust, l.idpCAFile())
	}
	if l.TrustCA != "" {
		trust = append(trust, l.TrustCA)
	}
	if len(trust) > 0 {
		if l.trustBundle, err = writeTrustBundle(l.path("trust-bundle.pem"), trust...); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer func() {
		if err == nil {
			return
		}
		fmt.Fprintln(os.Stderr, "localup: start failed; stopping what was started (logs stay in "+l.sup.LogDir()+")")
		if serr := l.sup.StopAll(5 * time.Second); serr != nil {
			err = errors.Join(err, serr)
		}
	}()

	l.step("building the control plane binaries (hack/test-env.sh, cached by version)")
	t, err := buildTools(ctx, l)
	if err != nil {
		return err
	}
	// The operator and clr-server are built while the control plane starts.
	builds := make(chan error, 1)
	go func() { builds <- buildBinaries(ctx, l) }()

	pg, err := planPostgres()
	if err != nil {
		return err
	}
	ports := map[string]int{"etcd": portEtcd, "etcd peer": portEtcdPeer, "kube-apiserver": portAPIServer,
		"operator metrics": portOperatorMetrics, "operator probes": portOperatorProbes}
	if pg.binDir != "" {
		ports["postgres"] = portPostgres
	}
	if l.idp != nil {
		ports["OpenID Connect provider"] = portIdP
	}
	for i := 1; i <= 4; i++ {
		ports[fmt.Sprintf("tenant %d", i)] = portTenantBase + i
		ports[fmt.Sprintf("tenant %d metrics", i)] = portTenantMetricsBase + i
	}
	if err := localcluster.CheckPortsFree(ports); err != nil {
		return fmt.Errorf("%w (another local-up, or something else, is using it)", err)
	}

	c, err := startControlPlane(ctx, l, t)
	if err != nil {
		return err
	}
	if pg.binDir != "" {
		l.step("starting PostgreSQL (%s) on 127.0.0.1:%d", pg.binDir, portPostgres)
		if err := startPostgres(ctx, l, &pg); err != nil {
			return err
		}
	}
	l.step("waiting for the operator and clr-server builds")
	select {
	case err := <-builds:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := startOperator(ctx, l); err != nil {
		return err
	}
	providers, err := applySamples(ctx, l, c, &pg)
	if err != nil {
		return err
	}
	var oidc *oidcState
	if l.idp != nil {
		if oidc, err = l.idp.start(ctx, l); err != nil {
			return err
		}
	}
	if err := waitProvidersReady(ctx, l, c, providers); err != nil {
		return err
	}
	contexts, err := contextsDir(ctx, l)
	if err != nil {
		return err
	}
	tenants, err := startTenants(ctx, l, c, providers, contexts)
	if err != nil {
		return err
	}
	st := &state{Tenants: tenants, Databases: pg.databases, Contexts: contexts, TrustBundle: l.trustBundle, OIDC: oidc}
	if err := l.saveState(st); err != nil {
		return err
	}
	l.step("starting the local kubelet (keeps the tenants' files and processes in step with the operator)")
	if _, err := l.sup.Start(localcluster.Spec{Name: kubeletProcess, Path: l.binPath("localup"), Args: []string{"kubelet"}}); err != nil {
		return err
	}
	fmt.Printf("\nLocal environment up in %.0fs.\n\n%s", time.Since(l.start).Seconds(), renderSummary(l, st))
	return nil
}

// buildTools runs hack/test-env.sh (build progress on stderr) and reads
// the paths it exports.
func buildTools(ctx context.Context, l *layout) (tools, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(l.Root, "hack", "test-env.sh"))
	cmd.Dir = l.Root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return tools{}, fmt.Errorf("hack/test-env.sh: %w", err)
	}
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export ")
		if !ok {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = strings.Trim(v, `"'`)
		}
	}
	t := tools{assets: env["KUBEBUILDER_ASSETS"], certManager: env["CLR_CERT_MANAGER_CONTROLLER"],
		kwok: env["CLR_KWOK"], kwokStages: env["CLR_KWOK_STAGES"], cmCRDs: env["CLR_CERT_MANAGER_CRDS"]}
	for name, p := range map[string]string{
		"etcd": filepath.Join(t.assets, "etcd"), "kube-apiserver": filepath.Join(t.assets, "kube-apiserver"),
		"kube-controller-manager": filepath.Join(t.assets, "kube-controller-manager"), "kube-scheduler": filepath.Join(t.assets, "kube-scheduler"),
		"cert-manager controller": t.certManager, "kwok": t.kwok, "kwok stages": t.kwokStages, "cert-manager CRDs": t.cmCRDs,
	} {
		if p == "" || p == "." {
			return t, fmt.Errorf("hack/test-env.sh did not export the path of %s", name)
		}
		if _, err := os.Stat(p); err != nil {
			return t, fmt.Errorf("%s: %w", name, err)
		}
	}
	return t, nil
}

func (l *layout) binPath(name string) string { return l.path("bin", name) }

// buildBinaries builds the operator, clr-server and this program (its
// kubelet part runs in the background) from the working tree.
func buildBinaries(ctx context.Context, l *layout) error {
	for _, b := range []struct{ name, pkg string }{{"manager", "./cmd/manager"}, {"clr-server", "./cmd/clr-server"}, {"localup", "./hack/localup"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", l.binPath(b.name), b.pkg)
		cmd.Dir = l.Root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s (the %s is not buildable yet?): %w\n%s", b.pkg, b.name, err, out)
		}
	}
	return nil
}

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(apiextensionsv1.AddToScheme(s))
	utilruntime.Must(clrv1.AddToScheme(s))
	return s
}

// startControlPlane starts etcd, kube-apiserver, installs the CRDs, then
// cert-manager, kube-controller-manager, kube-scheduler and kwok with the
// fake node, and returns an admin client.
func startControlPlane(ctx context.Context, l *layout, t tools) (client.Client, error) {
	pki, err := localcluster.GeneratePKI(l.pki().Dir)
	if err != nil {
		return nil, fmt.Errorf("generating certificates: %w", err)
	}
	server := fmt.Sprintf("https://127.0.0.1:%d", portAPIServer)
	if err := os.WriteFile(l.kubeconfig(), pki.AdminKubeconfig(server), 0o600); err != nil {
		return nil, err
	}
	alive := func(name string) func() error {
		return func() error {
			if r, err := l.sup.Get(name); err != nil || !r.Running() {
				return fmt.Errorf("%s exited; end of %s:\n%s", name, l.sup.LogPath(name), localcluster.TailFile(l.sup.LogPath(name), 3000))
			}
			return nil
		}
	}
	wait := func(d time.Duration, hc *http.Client, url, name string) error {
		wctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return localcluster.WaitHTTP(wctx, hc, url, alive(name))
	}

	l.step("starting etcd on 127.0.0.1:%d", portEtcd)
	if _, err := l.sup.Start(localcluster.Spec{Name: "etcd", Path: filepath.Join(t.assets, "etcd"),
		Args: localcluster.EtcdArgs(l.path("etcd"), portEtcd, portEtcdPeer)}); err != nil {
		return nil, err
	}
	if err := wait(30*time.Second, nil, fmt.Sprintf("http://127.0.0.1:%d/health", portEtcd), "etcd"); err != nil {
		return nil, err
	}
	l.step("starting kube-apiserver on %s", server)
	if _, err := l.sup.Start(localcluster.Spec{Name: "kube-apiserver", Path: filepath.Join(t.assets, "kube-apiserver"),
		Args: localcluster.APIServerArgs(pki, portEtcd, portAPIServer)}); err != nil {
		return nil, err
	}
	hc, err := pki.AdminHTTPClient()
	if err != nil {
		return nil, err
	}
	if err := wait(90*time.Second, hc, server+"/readyz", "kube-apiserver"); err != nil {
		return nil, err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", l.kubeconfig())
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	c, err := client.New(cfg, client.Options{Scheme: newScheme()})
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}

	l.step("installing the CRDs (config/crd/bases and cert-manager's)")
	crds, err := localcluster.ReadManifests(filepath.Join(l.Root, "config", "crd", "bases"), t.cmCRDs)
	if err != nil {
		return nil, fmt.Errorf("reading CRDs: %w", err)
	}
	actx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := localcluster.Apply(actx, c, crds); err != nil {
		return nil, err
	}
	if err := localcluster.WaitCRDsEstablished(actx, c, crds); err != nil {
		return nil, err
	}

	kc := l.kubeconfig()
	l.step("starting cert-manager's controllers, kube-controller-manager, kube-scheduler and kwok")
	for _, s := range []localcluster.Spec{
		{Name: "cert-manager", Path: t.certManager, Args: localcluster.CertManagerArgs(kc)},
		{Name: "kube-controller-manager", Path: filepath.Join(t.assets, "kube-controller-manager"), Args: localcluster.ControllerManagerArgs(kc, nil)},
		{Name: "kube-scheduler", Path: filepath.Join(t.assets, "kube-scheduler"), Args: localcluster.SchedulerArgs(kc)},
		{Name: "kwok", Path: t.kwok, Args: localcluster.KwokArgs(kc, t.kwokStages)},
	} {
		if _, err := l.sup.Start(s); err != nil {
			return nil, err
		}
	}
	nctx, ncancel := context.WithTimeout(ctx, 60*time.Second)
	defer ncancel()
	if err := localcluster.EnsureFakeNode(nctx, c); err != nil {
		return nil, fmt.Errorf("%w; end of the kwok log:\n%s", err, localcluster.TailFile(l.sup.LogPath("kwok"), 2000))
	}
	l.step("fake node %s is Ready", localcluster.FakeNodeName)
	return c, nil
}

// startOperator runs the operator built from the working tree against the
// local apiserver.
func startOperator(ctx context.Context, l *layout) error {
	l.step("starting the operator (metrics on 127.0.0.1:%d)", portOperatorMetrics)
	if _, err := l.sup.Start(localcluster.Spec{Name: "operator", Path: l.binPath("manager"),
		Args: []string{
			fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", portOperatorMetrics),
			fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", portOperatorProbes),
		},
		Env: []string{"KUBECONFIG=" + l.kubeconfig()}}); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return localcluster.WaitHTTP(wctx, nil, fmt.Sprintf("http://127.0.0.1:%d/readyz", portOperatorProbes), func() error {
		if r, err := l.sup.Get("operator"); err != nil || !r.Running() {
			return fmt.Errorf("the operator exited; end of %s:\n%s", l.sup.LogPath("operator"), localcluster.TailFile(l.sup.LogPath("operator"), 3000))
		}
		return nil
	})
}
