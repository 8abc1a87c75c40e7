// Command manager is the clr-operator: it reconciles Issuers (signing keys
// through cert-manager), Frameworks and CLRProviders (one clr-server per
// institution) and serves the operator's metrics.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/learnerrecords/clr-operator/controllers"
)

// defaultServerImage is the clr-server image of this operator release.
const defaultServerImage = "ghcr.io/learnerrecords/clr-server:dev"

func main() {
	var (
		metricsAddr, probeAddr, namespaces, image, ingressNS, monitoringNS string
		leaderElect                                                        bool
		maxConcurrent, burst                                               int
		qps                                                                float64
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "address of the metrics endpoint (0 disables it)")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of the /healthz and /readyz endpoints")
	flag.BoolVar(&leaderElect, "leader-elect", false, "elect a leader, so that only one of several replicas reconciles")
	flag.IntVar(&maxConcurrent, "max-concurrent-reconciles", 10, "concurrent reconciles per controller")
	// client-go's defaults (5 QPS) would make a thousand tenants take
	// minutes to converge; the apiserver's priority and fairness protects
	// it from a busy operator.
	flag.Float64Var(&qps, "kube-api-qps", 200, "requests per second to the apiserver")
	flag.IntVar(&burst, "kube-api-burst", 400, "request burst to the apiserver")
	flag.StringVar(&namespaces, "namespaces", "", "comma-separated namespaces to watch (all when empty)")
	flag.StringVar(&image, "clr-server-image", defaultServerImage, "clr-server image for CLRProviders without spec.image")
	flag.StringVar(&ingressNS, "network-policy-ingress-namespaces", "ingress-nginx", "comma-separated namespaces whose pods may reach clr-server's API port")
	flag.StringVar(&monitoringNS, "network-policy-monitoring-namespaces", "monitoring", "comma-separated namespaces whose pods may scrape clr-server's metrics port")
	zopts := zap.Options{}
	zopts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zopts)))

	if err := run(ctrl.SetupSignalHandler(), runOptions{
		metricsAddr: metricsAddr, probeAddr: probeAddr, leaderElect: leaderElect,
		maxConcurrent: maxConcurrent, namespaces: splitList(namespaces), qps: float32(qps), burst: burst,
		build: controllers.BuildOptions{DefaultImage: image, IngressNamespaces: splitList(ingressNS), MonitoringNamespaces: splitList(monitoringNS)},
	}); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}

type runOptions struct {
	metricsAddr, probeAddr string
	leaderElect            bool
	maxConcurrent          int
	qps                    float32
	burst                  int
	namespaces             []string
	build                  controllers.BuildOptions
}

func run(ctx context.Context, o runOptions) error {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = o.qps, o.burst
	recoverPanic := true
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 controllers.NewScheme(),
		Metrics:                metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress: o.probeAddr,
		LeaderElection:         o.leaderElect,
		LeaderElectionID:       "clr-operator.learnerrecords.io",
		Cache:                  controllers.CacheOptions(o.namespaces),
		// A panic in one reconcile becomes an error for that object
		// instead of taking every tenant's reconciliation down.
		Controller: config.Controller{RecoverPanic: &recoverPanic},
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	if err := controllers.Setup(ctx, mgr, controllers.Options{
		MaxConcurrentReconciles: o.maxConcurrent, Build: o.build, RegisterMetrics: true,
	}); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("adding ready check: %w", err)
	}
	return mgr.Start(ctx)
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
