package controllers

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
)

// Field indexes over CLRProviders, so that a change of an Issuer, a
// Framework or a Secret wakes only the providers that use it instead of
// every provider of the cluster.
const (
	// IndexProviderIssuer: the names of the Issuers (same namespace) a
	// provider references.
	IndexProviderIssuer = "spec.issuerRefs.name"
	// IndexProviderFramework: "<namespace>/<name>" of each Framework a
	// provider references.
	IndexProviderFramework = "spec.frameworkRefs"
	// IndexProviderSecret: the names of the Secrets (same namespace) a
	// provider references (PostgreSQL, OIDC client secret, Ingress TLS).
	IndexProviderSecret = "spec.secretRefs"
)

// SetupIndexes registers the field indexes with the manager's cache.
func SetupIndexes(ctx context.Context, mgr manager.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &clrv1.CLRProvider{}, IndexProviderIssuer, func(o client.Object) []string {
		p := o.(*clrv1.CLRProvider)
		out := make([]string, 0, len(p.Spec.IssuerRefs))
		for _, r := range p.Spec.IssuerRefs {
			out = append(out, r.Name)
		}
		return out
	}); err != nil {
		return fmt.Errorf("indexing %s: %w", IndexProviderIssuer, err)
	}
	if err := idx.IndexField(ctx, &clrv1.CLRProvider{}, IndexProviderFramework, func(o client.Object) []string {
		p := o.(*clrv1.CLRProvider)
		out := make([]string, 0, len(p.Spec.FrameworkRefs))
		for _, r := range p.Spec.FrameworkRefs {
			out = append(out, frameworkKey(p.Namespace, r))
		}
		return out
	}); err != nil {
		return fmt.Errorf("indexing %s: %w", IndexProviderFramework, err)
	}
	if err := idx.IndexField(ctx, &clrv1.CLRProvider{}, IndexProviderSecret, func(o client.Object) []string {
		return providerSecretNames(o.(*clrv1.CLRProvider))
	}); err != nil {
		return fmt.Errorf("indexing %s: %w", IndexProviderSecret, err)
	}
	return nil
}

// frameworkKey is "<namespace>/<name>" of a referenced Framework, the
// namespace defaulting to the provider's.
func frameworkKey(providerNamespace string, r clrv1.FrameworkReference) string {
	ns := r.Namespace
	if ns == "" {
		ns = providerNamespace
	}
	return ns + "/" + r.Name
}

// providerSecretNames are the user Secrets a provider references.
func providerSecretNames(p *clrv1.CLRProvider) []string {
	var out []string
	if pg := p.Spec.Storage.Postgres; pg != nil {
		out = append(out, pg.SecretRef.Name)
	}
	if o := p.Spec.OAuth.OIDC; o != nil {
		out = append(out, o.ClientSecretRef.Name)
	}
	if in := p.Spec.Ingress; in != nil && in.TLS != nil && in.TLS.SecretName != "" {
		out = append(out, in.TLS.SecretName)
	}
	return out
}

// providersBy lists the providers whose index field holds value and turns
// them into requests.
func providersBy(ctx context.Context, c client.Reader, namespace, field, value string) []reconcile.Request {
	var list clrv1.CLRProviderList
	opts := []client.ListOption{client.MatchingFields{field: value}}
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	if err := c.List(ctx, &list, opts...); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: list.Items[i].Namespace, Name: list.Items[i].Name}})
	}
	return out
}
