// Command cert-manager-controller runs the subset of cert-manager's
// controllers that the clr-operator tests need: Issuer and ClusterIssuer
// readiness, CertificateRequest approval and signing by the selfSigned and CA
// issuers, and the six Certificate controllers that turn a Certificate into a
// Secret holding a key and renew it. Upstream's command lives in a nested Go
// module the module proxy does not serve, so this program assembles the same
// controllers from cert-manager's exported packages.
//
// There is no webhook (the tests create valid objects), no cainjector, no
// ACME and no leader election: one process per test control plane.
//
// Throughput settings (measured with test/scale, docs/benchmarks.md):
// --workers is per controller (upstream's default is 5). --kube-api-qps and
// --kube-api-burst are a token bucket shared by every controller, but only
// against an apiserver without API Priority and Fairness: cert-manager
// (pkg/controller.NewContextFactory) asks the apiserver first and, when APF
// answers, as it does on every apiserver since 1.20 and on the test one,
// turns client-side limiting off and lets APF protect the apiserver.
// --feature-gates=ServerSideApply=true made issuance slower, not faster
// (1,000 keys in 51.6 s against 46.1 s with the defaults, back to back).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	controllerpkg "github.com/cert-manager/cert-manager/pkg/controller"
	"github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	crca "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	crselfsigned "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	"github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	"github.com/cert-manager/cert-manager/pkg/controller/issuers"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"

	// The issuer implementations register themselves with pkg/issuer; the
	// issuers controllers look them up by type when checking readiness.
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
)

// controllers are the names (as registered with controllerpkg.Register by
// the imported packages) of the controllers this program starts.
var controllers = []string{
	issuers.ControllerName,
	clusterissuers.ControllerName,
	approver.ControllerName,
	crselfsigned.CRControllerName,
	crca.CRControllerName,
	trigger.ControllerName,
	keymanager.ControllerName,
	requestmanager.ControllerName,
	issuing.ControllerName,
	readiness.ControllerName,
	revisionmanager.ControllerName,
}

func main() {
	klog.InitFlags(nil)
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the API server to work against")
	clusterResourceNamespace := flag.String("cluster-resource-namespace", "cert-manager", "namespace holding the Secrets of ClusterIssuers")
	namespace := flag.String("namespace", "", "only watch this namespace (all namespaces when empty)")
	var o options
	flag.IntVar(&o.workers, "workers", 10, "concurrent workers per controller (upstream's --concurrent-workers)")
	flag.Float64Var(&o.qps, "kube-api-qps", 300, "requests per second to the apiserver, shared by all controllers (ignored when the apiserver has API Priority and Fairness)")
	flag.IntVar(&o.burst, "kube-api-burst", 600, "request burst to the apiserver, shared by all controllers (ignored when the apiserver has API Priority and Fairness)")
	flag.StringVar(&o.pprofAddr, "pprof-bind-address", "", "serve Go's /debug/pprof/ on this address (off when empty)")
	minBackoff := flag.Duration("certificate-request-minimum-backoff", 5*time.Second,
		"first retry delay after a failed CertificateRequest (upstream: 1h; short for tests)")
	maxBackoff := flag.Duration("certificate-request-maximum-backoff", time.Minute,
		"largest retry delay after failed CertificateRequests (upstream: 32h)")
	featureGates := flag.String("feature-gates", "", "cert-manager feature gates, as upstream's --feature-gates (e.g. ServerSideApply=true); its defaults otherwise")
	flag.Parse()

	if *featureGates != "" {
		if err := utilfeature.DefaultMutableFeatureGate.Set(*featureGates); err != nil {
			fmt.Fprintln(os.Stderr, "cert-manager-controller: --feature-gates:", err)
			os.Exit(2)
		}
	}
	o.kubeconfig, o.namespace, o.clusterResourceNamespace = *kubeconfig, *namespace, *clusterResourceNamespace
	o.minBackoff, o.maxBackoff = *minBackoff, *maxBackoff
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "cert-manager-controller:", err)
		os.Exit(1)
	}
}

type options struct {
	kubeconfig, namespace, clusterResourceNamespace string
	workers                                         int
	qps                                             float64
	burst                                           int
	minBackoff, maxBackoff                          time.Duration
	pprofAddr                                       string
}

func run(o options) error {
	if o.kubeconfig == "" {
		return errors.New("--kubeconfig (or KUBECONFIG) is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx = logf.NewContext(ctx, logf.Log)

	factory, err := controllerpkg.NewContextFactory(ctx, controllerpkg.ContextOptions{
		Kubeconfig:         o.kubeconfig,
		KubernetesAPIQPS:   float32(o.qps),
		KubernetesAPIBurst: o.burst,
		Namespace:          o.namespace,
		IssuerOptions: controllerpkg.IssuerOptions{
			ClusterResourceNamespace: o.clusterResourceNamespace,
		},
		CertificateOptions: controllerpkg.CertificateOptions{
			CertificateRequestMinimumBackoffDuration: o.minBackoff,
			CertificateRequestMaximumBackoffDuration: o.maxBackoff,
		},
	})
	if err != nil {
		return fmt.Errorf("building controller context: %w", err)
	}

	known := controllerpkg.Known()
	var started []controllerpkg.Interface
	for _, name := range controllers {
		construct, ok := known[name]
		if !ok {
			names := make([]string, 0, len(known))
			for n := range known {
				names = append(names, n)
			}
			sort.Strings(names)
			return fmt.Errorf("controller %q is not registered (known: %v)", name, names)
		}
		c, err := construct(factory)
		if err != nil {
			return fmt.Errorf("constructing controller %q: %w", name, err)
		}
		started = append(started, c)
	}

	// The controllers registered their informers while being constructed;
	// every Context built by the factory shares the same informer
	// factories, so starting them from one Context starts them all.
	shared, err := factory.Build("informers")
	if err != nil {
		return fmt.Errorf("building informer context: %w", err)
	}
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	shared.SharedInformerFactory.Start(ctx.Done())
	shared.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())

	if o.pprofAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		srv := &http.Server{Addr: o.pprofAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				klog.ErrorS(err, "pprof server stopped")
			}
		}()
		defer srv.Close()
	}

	var wg sync.WaitGroup
	errs := make(chan error, len(started))
	for i, c := range started {
		wg.Go(func() {
			if err := c.Run(o.workers, ctx); err != nil {
				errs <- fmt.Errorf("controller %q: %w", controllers[i], err)
				stop()
			}
		})
	}
	klog.InfoS("cert-manager controllers started", "controllers", controllers, "workers", o.workers, "qps", o.qps, "burst", o.burst)
	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

func collect(ch <-chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}
