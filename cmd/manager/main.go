// Command manager is the clr-operator: it reconciles Issuers (signing keys
// through cert-manager), Frameworks and CLRProviders (one clr-server per
// institution) and serves the operator's metrics.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/learnerrecords/clr-operator/controllers"
	"github.com/learnerrecords/clr-operator/internal/buildinfo"
	"github.com/learnerrecords/clr-operator/internal/memlimit"
	"github.com/learnerrecords/clr-operator/internal/metricsauth"
)

// defaultServerImage is the clr-server image of this operator release: the
// same version, so that an operator upgrade rolls its tenants onto the
// server it was tested with.
var defaultServerImage = "ghcr.io/learnerrecords/clr-server:" + buildinfo.Get().Version

func main() {
	var (
		metricsAddr, probeAddr, pprofAddr, namespaces, image, ingressNS, monitoringNS string
		leaderElect                                                                   bool
		maxConcurrent, burst                                                          int
		qps                                                                           float64
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "address of the metrics endpoint (0 disables it)")
	metricsSecure := flag.Bool("metrics-secure", false,
		"serve metrics over HTTPS to authenticated callers only: a bearer token that a TokenReview accepts and a SubjectAccessReview allows to get the non-resource URL /metrics")
	metricsCertDir := flag.String("metrics-cert-dir", "",
		"with --metrics-secure: directory holding the serving certificate as tls.crt and tls.key (a cert-manager Secret, say; reloaded when it changes); empty: a self-signed certificate generated at start")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "", "serve Go's /debug/pprof/ on this address (off when empty)")
	flag.BoolVar(&leaderElect, "leader-elect", false, "elect a leader, so that only one of several replicas reconciles")
	flag.IntVar(&maxConcurrent, "max-concurrent-reconciles", 10, "concurrent reconciles per controller")
	// client-go's defaults (5 QPS) would make a thousand tenants take
	// minutes to converge; the apiserver's priority and fairness protects
	// it from a busy operator.
	flag.Float64Var(&qps, "kube-api-qps", 200, "requests per second to the apiserver")
	flag.IntVar(&burst, "kube-api-burst", 400, "request burst to the apiserver")
	flag.StringVar(&namespaces, "namespaces", "", "comma-separated namespaces to watch (all when empty)")
	var frameworkNS string
	flag.StringVar(&frameworkNS, "framework-namespaces", "", "with --namespaces: comma-separated namespaces holding Frameworks shared with the watched namespaces (only their Frameworks are reconciled there)")
	flag.StringVar(&image, "clr-server-image", defaultServerImage, "clr-server image for CLRProviders without spec.image")
	flag.StringVar(&ingressNS, "network-policy-ingress-namespaces", "ingress-nginx", "comma-separated namespaces whose pods may reach clr-server's API port")
	flag.StringVar(&monitoringNS, "network-policy-monitoring-namespaces", "monitoring", "comma-separated namespaces whose pods may scrape clr-server's metrics port")
	memoryLimitRatio := flag.Float64("memory-limit-ratio", memlimit.DefaultRatio,
		"Go soft memory limit as a share of $"+envMemoryLimit+" (the container's memory limit, from the downward API), unless GOMEMLIMIT is set; 0 disables")
	gcPercent := flag.Int("gc-percent", 75,
		"Go's garbage collection target (GOGC) unless GOGC is set; lower keeps the cache-heavy heap closer to its live size at some CPU cost; 0 leaves Go's default (100)")
	showVersion := flag.Bool("version", false, "print the build's version and exit")
	zopts := zap.Options{}
	zopts.BindFlags(flag.CommandLine)
	flag.Parse()
	if *showVersion {
		fmt.Println("manager", buildinfo.Get())
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zopts)))
	bi := buildinfo.Get()
	ctrl.Log.WithName("setup").Info("starting clr-operator", "version", bi.Version, "revision", bi.Revision, "go", bi.GoVersion)
	if err := setMemoryLimit(*memoryLimitRatio); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
	if *gcPercent < 0 {
		fmt.Fprintln(os.Stderr, "manager: --gc-percent must be 0 (Go's default) or more")
		os.Exit(1)
	}
	ctrl.Log.WithName("setup").Info("garbage collection target", "gcPercent", memlimit.SetGCPercent(*gcPercent))

	if err := run(ctrl.SetupSignalHandler(), runOptions{
		metricsAddr: metricsAddr, metricsSecure: *metricsSecure, metricsCertDir: *metricsCertDir, probeAddr: probeAddr, pprofAddr: pprofAddr, leaderElect: leaderElect,
		maxConcurrent: maxConcurrent, namespaces: splitList(namespaces), qps: float32(qps), burst: burst,
		frameworkNamespaces: splitList(frameworkNS),
		build:               controllers.BuildOptions{DefaultImage: image, IngressNamespaces: splitList(ingressNS), MonitoringNamespaces: splitList(monitoringNS)},
	}); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}

type runOptions struct {
	metricsAddr, probeAddr, pprofAddr string
	// metricsSecure, metricsCertDir: --metrics-secure, --metrics-cert-dir.
	metricsSecure  bool
	metricsCertDir string
	leaderElect    bool
	maxConcurrent  int
	qps            float32
	burst          int
	namespaces     []string
	// frameworkNamespaces: --framework-namespaces.
	frameworkNamespaces []string
	build               controllers.BuildOptions
}

// metricsOptions serve the metrics endpoint in plain HTTP by default (the
// chart's NetworkPolicy limits who reaches it) or, with --metrics-secure,
// over TLS to callers that the apiserver authenticates and authorizes, as
// kube-rbac-proxy would, without another container.
func (o runOptions) metricsOptions() (metricsserver.Options, error) {
	opts := metricsserver.Options{BindAddress: o.metricsAddr}
	if !o.metricsSecure {
		if o.metricsCertDir != "" {
			return opts, fmt.Errorf("--metrics-cert-dir needs --metrics-secure")
		}
		return opts, nil
	}
	opts.SecureServing = true
	opts.FilterProvider = metricsauth.FilterProvider
	if o.metricsCertDir != "" {
		// controller-runtime falls back to a self-signed certificate when
		// the files are missing: a mistyped mount would go unnoticed by
		// everyone but the scraper that stops trusting the endpoint.
		for _, f := range []string{"tls.crt", "tls.key"} {
			if _, err := os.Stat(filepath.Join(o.metricsCertDir, f)); err != nil {
				return opts, fmt.Errorf("--metrics-cert-dir: %w", err)
			}
		}
		opts.CertDir = o.metricsCertDir
	}
	return opts, nil
}

func run(ctx context.Context, o runOptions) error {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = o.qps, o.burst
	metricsOpts, err := o.metricsOptions()
	if err != nil {
		return err
	}
	recoverPanic := true
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 controllers.NewScheme(),
		Metrics:                metricsOpts,
		HealthProbeBindAddress: o.probeAddr,
		PprofBindAddress:       o.pprofAddr,
		LeaderElection:         o.leaderElect,
		LeaderElectionID:       "clr-operator.learnerrecords.io",
		Cache:                  controllers.CacheOptionsFor(o.scope()),
		// A panic in one reconcile becomes an error for that object
		// instead of taking every tenant's reconciliation down.
		Controller: config.Controller{RecoverPanic: &recoverPanic},
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	if err := controllers.Setup(ctx, mgr, controllers.Options{
		MaxConcurrentReconciles: o.maxConcurrent, Build: o.build, RegisterMetrics: true, Scope: o.scope(),
	}); err != nil {
		return err
	}
	if err := crmetrics.Registry.Register(buildinfo.Collector("clr_operator_build_info",
		"The operator's release version, source revision and Go version (always 1).")); err != nil {
		return fmt.Errorf("registering build info: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("adding ready check: %w", err)
	}
	return mgr.Start(ctx)
}

func (o runOptions) scope() controllers.WatchScope {
	return controllers.WatchScope{Namespaces: o.namespaces, FrameworkNamespaces: o.frameworkNamespaces}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// envMemoryLimit names the container's memory limit in bytes; the Helm
// chart sets it from the downward API (resources.limits.memory).
const envMemoryLimit = memlimit.EnvContainerLimit

// setMemoryLimit sets the Go soft memory limit to a share of the
// container's (see memlimit.Set): a thousand tenants converging produce a
// lot of short lived garbage. An explicit GOMEMLIMIT wins.
func setMemoryLimit(ratio float64) error {
	res, err := memlimit.Set(ratio)
	if err != nil {
		return fmt.Errorf("Go soft memory limit: %w", err)
	}
	if res.Soft > 0 {
		ctrl.Log.WithName("setup").Info("Go soft memory limit set", "bytes", res.Soft, "containerLimitBytes", res.Container)
	}
	return nil
}
