package controllers

import (
	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CacheOptions is the manager's cache configuration. Only objects carrying
// the operator's managed-by label are cached for the kinds it creates, most
// importantly Secrets and ConfigMaps, so that memory follows the number of
// tenants rather than the size of the cluster; managedFields are stripped
// from everything cached. namespaces limits the cache (and so the operator)
// to those namespaces; empty means all.
func CacheOptions(namespaces []string) cache.Options {
	managed := labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedByValue})
	byLabel := cache.ByObject{Label: managed}
	opts := cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}:                byLabel,
			&corev1.ConfigMap{}:             byLabel,
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
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}
