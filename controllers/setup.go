package controllers

import (
	"context"
	"fmt"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
)

// NewScheme returns a scheme with every kind the operator reads or writes.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(clrv1.AddToScheme(s))
	utilruntime.Must(cmapi.AddToScheme(s))
	return s
}

// Options configure the controllers.
type Options struct {
	// MaxConcurrentReconciles per controller.
	MaxConcurrentReconciles int
	// Build holds the settings of the children the operator creates.
	Build BuildOptions
	// DiscoveryRecheck: how long an optional kind's absence is believed
	// (default 5 minutes).
	DiscoveryRecheck time.Duration
	// RegisterMetrics registers the per-object metrics collector on
	// controller-runtime's registry (once per process).
	RegisterMetrics bool
	// Scope is where the operator works; it must be the scope the
	// manager's cache was made for (CacheOptionsFor).
	Scope WatchScope
}

// Setup registers the field indexes, the three controllers and the metrics
// collector with the manager.
func Setup(ctx context.Context, mgr manager.Manager, opts Options) error {
	if err := SetupIndexes(ctx, mgr); err != nil {
		return err
	}
	copts := controller.Options{MaxConcurrentReconciles: max(opts.MaxConcurrentReconciles, 1)}
	if err := (&IssuerReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Scheme: mgr.GetScheme(), Recorder: mgr.GetEventRecorder("clr-operator-issuer"),
	}).SetupWithManager(mgr, copts); err != nil {
		return fmt.Errorf("setting up the Issuer controller: %w", err)
	}
	if err := (&FrameworkReconciler{
		Client: mgr.GetClient(), Scheme: mgr.GetScheme(), Recorder: mgr.GetEventRecorder("clr-operator-framework"),
	}).SetupWithManager(mgr, copts); err != nil {
		return fmt.Errorf("setting up the Framework controller: %w", err)
	}
	if err := (&CLRProviderReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Scheme: mgr.GetScheme(),
		Recorder: mgr.GetEventRecorder("clr-operator-clrprovider"), Options: opts.Build, DiscoveryRecheck: opts.DiscoveryRecheck,
		Scope: opts.Scope,
	}).SetupWithManager(mgr, copts); err != nil {
		return fmt.Errorf("setting up the CLRProvider controller: %w", err)
	}
	if opts.RegisterMetrics {
		if err := crmetrics.Registry.Register(NewCollector(mgr.GetClient())); err != nil {
			return fmt.Errorf("registering metrics: %w", err)
		}
	}
	return nil
}

// Leader election (--leader-elect) keeps its lock in a Lease.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete

// Owner references with blockOwnerDeletion need update on the owner's
// finalizers where OwnerReferencesPermissionEnforcement is enabled.
// +kubebuilder:rbac:groups=clr.learnerrecords.io,resources=clrproviders/finalizers;issuers/finalizers;frameworks/finalizers,verbs=update
