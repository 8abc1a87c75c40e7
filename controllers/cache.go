package controllers

import (
	"slices"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
)

// WatchScope is where the operator works.
type WatchScope struct {
	// Namespaces the operator watches and writes in (--namespaces); empty
	// means all namespaces.
	Namespaces []string
	// FrameworkNamespaces (--framework-namespaces) hold Frameworks shared
	// with the watched namespaces, typically a consortium's namespace. The
	// operator reconciles the Frameworks there (validation, status, their
	// rendered ConfigMap) and nothing else. Meaningless when Namespaces is
	// empty: every namespace is watched then.
	FrameworkNamespaces []string
}

// Restricted reports whether the operator watches only some namespaces.
func (s WatchScope) Restricted() bool { return len(s.Namespaces) > 0 }

// FrameworkVisible reports whether the operator's cache holds the
// Frameworks of namespace ns.
func (s WatchScope) FrameworkVisible(ns string) bool {
	return !s.Restricted() || slices.Contains(s.Namespaces, ns) || slices.Contains(s.FrameworkNamespaces, ns)
}

// frameworkNamespaces is every namespace whose Frameworks are cached, when
// the scope is restricted.
func (s WatchScope) frameworkNamespaces() map[string]cache.Config {
	out := map[string]cache.Config{}
	for _, ns := range s.Namespaces {
		out[ns] = cache.Config{}
	}
	for _, ns := range s.FrameworkNamespaces {
		out[ns] = cache.Config{}
	}
	return out
}

// CacheOptions is the manager's cache configuration for an operator that
// watches namespaces (all when empty) and no extra Framework namespaces.
func CacheOptions(namespaces []string) cache.Options {
	return CacheOptionsFor(WatchScope{Namespaces: namespaces})
}

// CacheOptionsFor is the manager's cache configuration. Only objects
// carrying the operator's managed-by label are cached for the kinds it
// creates, most importantly Secrets and ConfigMaps, so that memory follows
// the number of tenants rather than the size of the cluster; managedFields
// are stripped from everything cached. A restricted scope limits the cache
// (and so the operator) to its namespaces, plus, for Frameworks and the
// ConfigMaps they are rendered into, the shared Framework namespaces.
func CacheOptionsFor(scope WatchScope) cache.Options {
	managed := labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedByValue})
	byLabel := cache.ByObject{Label: managed}
	// ByObject is keyed by pointer: the ConfigMap key is kept to change
	// its entry below rather than add a second one.
	configMaps := &corev1.ConfigMap{}
	opts := cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}:                {Label: managed, Transform: stripPrivateKeys(cache.TransformStripManagedFields())},
			configMaps:                      byLabel,
			&corev1.PersistentVolumeClaim{}: byLabel,
			&corev1.ServiceAccount{}:        byLabel,
			&corev1.Service{}:               byLabel,
			&appsv1.Deployment{}:            byLabel,
			&networkingv1.Ingress{}:         byLabel,
			&networkingv1.NetworkPolicy{}:   byLabel,
			&policyv1.PodDisruptionBudget{}: byLabel,
			&cmapi.Certificate{}:            byLabel,
			&cmapi.Issuer{}:                 byLabel,
		},
	}
	if scope.Restricted() {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range scope.Namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
		if len(scope.FrameworkNamespaces) > 0 {
			// A provider may use a Framework there, which must be
			// validated and Ready: the Framework controller (and so
			// its watches: Frameworks, their ConfigMaps) covers those
			// namespaces too. Nothing else is read or written there.
			opts.ByObject[&clrv1.Framework{}] = cache.ByObject{Namespaces: scope.frameworkNamespaces()}
			opts.ByObject[configMaps] = cache.ByObject{Label: managed, Namespaces: scope.frameworkNamespaces()}
		}
	}
	return opts
}

// stripPrivateKeys removes the private key from signing-key Secrets before
// they enter the cache (after next, the default transform). The operator
// derives what it publishes from the certificate and reads a private key
// from the apiserver only to check a new key once (IssuerReconciler): so
// the operator's memory does not hold every institution's signing key,
// and at a thousand tenants (RSA keys are ~3 KiB each) neither does its
// heap.
func stripPrivateKeys(next toolscache.TransformFunc) toolscache.TransformFunc {
	return func(in any) (any, error) {
		out, err := next(in)
		if err != nil {
			return out, err
		}
		if s, ok := out.(*corev1.Secret); ok && s.Labels[LabelComponent] == ComponentSigningKey {
			delete(s.Data, corev1.TLSPrivateKeyKey)
		}
		return out, nil
	}
}
