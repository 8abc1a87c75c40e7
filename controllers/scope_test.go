package controllers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/controllers"
)

func TestWatchScopeFrameworkVisible(t *testing.T) {
	all := controllers.WatchScope{FrameworkNamespaces: []string{"consortium"}}
	if !all.FrameworkVisible("anything") || all.Restricted() {
		t.Error("an operator watching every namespace sees every Framework")
	}
	s := controllers.WatchScope{Namespaces: []string{"college-a", "college-b"}, FrameworkNamespaces: []string{"consortium"}}
	for ns, want := range map[string]bool{"college-a": true, "college-b": true, "consortium": true, "college-c": false, "": false} {
		if got := s.FrameworkVisible(ns); got != want {
			t.Errorf("FrameworkVisible(%q) = %t, want %t", ns, got, want)
		}
	}
}

// The cache of a restricted operator covers the framework namespaces for
// Frameworks and ConfigMaps only, each kind configured once.
func TestCacheOptionsForFrameworkNamespaces(t *testing.T) {
	opts := controllers.CacheOptionsFor(controllers.WatchScope{Namespaces: []string{"college-a"}, FrameworkNamespaces: []string{"consortium"}})
	if len(opts.DefaultNamespaces) != 1 || opts.DefaultNamespaces["college-a"].LabelSelector != nil {
		t.Errorf("default namespaces %v, want college-a only", opts.DefaultNamespaces)
	}
	seen := map[string]int{}
	for obj, by := range opts.ByObject {
		kind := fmt.Sprintf("%T", obj)
		seen[kind]++
		_, shared := by.Namespaces["consortium"]
		_, own := by.Namespaces["college-a"]
		switch obj.(type) {
		case *clrv1.Framework, *corev1.ConfigMap:
			if !shared || !own || len(by.Namespaces) != 2 {
				t.Errorf("%s cached in %v, want college-a and consortium", kind, by.Namespaces)
			}
		default:
			if by.Namespaces != nil {
				t.Errorf("%s cached in %v, want the default namespaces", kind, by.Namespaces)
			}
		}
	}
	for kind, n := range seen {
		if n != 1 {
			t.Errorf("%s configured %d times in ByObject", kind, n)
		}
	}
	if seen["*v1.ConfigMap"] != 1 || seen["*v1alpha1.Framework"] != 1 {
		t.Errorf("ByObject kinds %v", seen)
	}
	if opts := controllers.CacheOptions(nil); opts.DefaultNamespaces != nil {
		t.Errorf("an operator of all namespaces got default namespaces %v", opts.DefaultNamespaces)
	}
}

// startScopedOperator runs a second operator, as the operator's user,
// restricted to scope; it stops at the end of the test.
func startScopedOperator(t *testing.T, scope controllers.WatchScope) {
	t.Helper()
	yes := true
	mgr, err := ctrl.NewManager(operatorConfig, ctrl.Options{
		Scheme:     controllers.NewScheme(),
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Cache:      controllers.CacheOptionsFor(scope),
		Controller: config.Controller{RecoverPanic: &yes, SkipNameValidation: &yes},
	})
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	if err := controllers.Setup(mctx, mgr, controllers.Options{
		MaxConcurrentReconciles: 2, DiscoveryRecheck: time.Second, Scope: scope,
		Build: controllers.BuildOptions{DefaultImage: "ghcr.io/learnerrecords/clr-server:test", IngressNamespaces: []string{"ingress-nginx"}, MonitoringNamespaces: []string{"monitoring"}},
	}); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("namespaced operator: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("the namespaced operator did not stop in time")
		}
	})
}

// consortiumFramework is a Framework shared with member namespaces.
func consortiumFramework(ns string) *clrv1.Framework {
	fw := transformativeLearning(ns, "consortium")
	fw.Spec.Sharing = &clrv1.FrameworkSharing{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"consortium-member": "true"}}}
	return fw
}

// An operator started with --namespaces and --framework-namespaces: a
// provider may use a shared Framework from a --framework-namespaces
// namespace (whose Frameworks that operator reconciles), and a provider
// referencing a Framework in a namespace outside both is told so by name,
// rather than that the Framework does not exist.
func TestFrameworkSharingWithNamespacedOperator(t *testing.T) {
	needEnv(t)
	for _, ns := range []string{scoped.tenant, scoped.shared, scoped.unwatched} {
		labels := map[string]string{}
		if ns == scoped.tenant {
			labels["consortium-member"] = "true"
		}
		if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range []string{scoped.shared, scoped.unwatched} {
		if err := k8s.Create(ctx, consortiumFramework(ns)); err != nil {
			t.Fatal(err)
		}
	}
	// An Issuer in the Framework namespace: the namespaced operator must
	// reconcile only the Frameworks there.
	if err := k8s.Create(ctx, newIssuer(scoped.shared, "bystander", clrv1.KeyAlgorithmEd25519)); err != nil {
		t.Fatal(err)
	}
	base := tenant(t, scoped.tenant)
	base.Spec.Replicas = ptr(int32(1))
	shared, unwatched := base.DeepCopy(), base.DeepCopy()
	shared.Name, shared.Spec.FrameworkRefs = "uses-shared", []clrv1.FrameworkReference{{Name: "consortium", Namespace: scoped.shared}}
	unwatched.Name, unwatched.Spec.FrameworkRefs = "uses-unwatched", []clrv1.FrameworkReference{{Name: "consortium", Namespace: scoped.unwatched}}
	for _, p := range []*clrv1.CLRProvider{shared, unwatched} {
		if err := k8s.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}

	startScopedOperator(t, controllers.WatchScope{Namespaces: []string{scoped.tenant}, FrameworkNamespaces: []string{scoped.shared}})

	t.Run("framework namespace not watched", func(t *testing.T) {
		p := waitProvider(t, scoped.tenant, "uses-unwatched", "FrameworkNamespaceNotWatched", 60*time.Second, func(_ *clrv1.CLRProvider, c *metav1.Condition) bool {
			return c.Reason == clrv1.ReasonFrameworkNamespaceNotWatched
		})
		refs := clrv1.FindCondition(p, clrv1.ConditionReferencesResolved)
		if refs == nil || refs.Status != metav1.ConditionFalse || refs.Reason != clrv1.ReasonFrameworkNamespaceNotWatched {
			t.Fatalf("ReferencesResolved = %+v", refs)
		}
		for _, want := range []string{scoped.unwatched + "/consortium", "--namespaces=" + scoped.tenant, "--framework-namespaces"} {
			if !strings.Contains(refs.Message, want) {
				t.Errorf("message %q does not mention %q", refs.Message, want)
			}
		}
		// Only the operator's configuration can change this: Stalled.
		checkKstatus(t, p, p.Generation, p.Status.ObservedGeneration, "Failed")
	})

	t.Run("shared framework from a framework namespace", func(t *testing.T) {
		// Only the namespaced operator watches scoped.shared: the
		// Framework there is Ready because it reconciles it.
		fw := waitFrameworkCondition(t, scoped.shared, "consortium", true)
		waitProvider(t, scoped.tenant, "uses-shared", "ReferencesResolved", 60*time.Second, func(p *clrv1.CLRProvider, _ *metav1.Condition) bool {
			c := clrv1.FindCondition(p, clrv1.ConditionReferencesResolved)
			return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == p.Generation
		})
		p := waitProvider(t, scoped.tenant, "uses-shared", "configuration rendered", 60*time.Second, func(p *clrv1.CLRProvider, _ *metav1.Condition) bool {
			return len(p.Status.Frameworks) == 1
		})
		if f := p.Status.Frameworks[0]; f.Namespace != scoped.shared || f.Name != "consortium" || f.Digest != fw.Status.Digest {
			t.Errorf("status.frameworks %+v, want %s/consortium with digest %s", p.Status.Frameworks, scoped.shared, fw.Status.Digest)
		}
	})

	t.Run("nothing but Frameworks reconciled in the framework namespace", func(t *testing.T) {
		// The bystander Issuer was created before the operator started,
		// which has since reconciled both providers and the Framework.
		is := &clrv1.Issuer{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: scoped.shared, Name: "bystander"}, is); err != nil {
			t.Fatal(err)
		}
		if len(is.Status.Conditions) > 0 || is.Status.ObservedGeneration != 0 {
			t.Errorf("the namespaced operator reconciled an Issuer outside its namespaces: %+v", is.Status)
		}
		var cms corev1.ConfigMapList
		if err := k8s.List(ctx, &cms, client.InNamespace(scoped.shared)); err != nil {
			t.Fatal(err)
		}
		for _, cm := range cms.Items {
			if cm.Labels[controllers.LabelManagedBy] == controllers.ManagedByValue && cm.Name != "consortium-framework" {
				t.Errorf("the namespaced operator wrote ConfigMap %s in the framework namespace", cm.Name)
			}
		}
	})
}
