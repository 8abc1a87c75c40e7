package chart

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// startAPIServer starts kube-apiserver and etcd (envtest) with the CRDs
// the chart's objects need: cert-manager's (the operator's RBAC names its
// kinds) and prometheus-operator's ServiceMonitor and PrometheusRule, read
// from their Go modules (paths from hack/test-env.sh).
func startAPIServer(t *testing.T) (*envtest.Environment, *rest.Config) {
	t.Helper()
	assets := requireEnv(t, envAssets)
	cmCRDs := requireEnv(t, envCMCRDs)
	promCRDs := requireEnv(t, envPromCRDs)
	var paths []string
	paths = append(paths, cmCRDs)
	for _, f := range []string{"monitoring.coreos.com_servicemonitors.yaml", "monitoring.coreos.com_prometheusrules.yaml"} {
		p := filepath.Join(promCRDs, f)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s: %v; %s", envPromCRDs, err, setupHint)
		}
		paths = append(paths, p)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDInstallOptions:     envtest.CRDInstallOptions{Paths: paths, ErrorIfPathMissing: true},
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest: %v; %s", err, setupHint)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping envtest: %v", err)
		}
	})
	return env, cfg
}

// TestServerSideDryRun sends every object of every variant to a real
// kube-apiserver as a server-side apply with dryRun=All: the apiserver
// validates each against its schema (built-in kinds, the CRDs themselves,
// ServiceMonitor and PrometheusRule against prometheus-operator's CRDs).
// It also checks the operator's pod against the restricted Pod Security
// Standard as the apiserver's PodSecurity admission enforces it, the
// namespaced RBAC split against the apiserver's discovery, and the
// ClusterRoles of metrics.secure against its RBAC authorizer.
func TestServerSideDryRun(t *testing.T) {
	env, cfg := startAPIServer(t)
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		t.Fatal(err)
	}

	// The release namespace enforces the restricted Pod Security
	// Standard; the watched namespaces of the namespaced variant exist.
	for _, ns := range []string{releaseNS, "tenant-a", "tenant-b", "consortium"} {
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if ns == releaseNS {
			obj.Labels = map[string]string{"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}
		}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating namespace %s: %v", ns, err)
		}
	}

	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			objs := render(t, v.values)
			crdKinds := map[string]bool{}
			for _, o := range objs {
				if o.GetKind() == "CustomResourceDefinition" {
					crdKinds[o.GetName()] = true
				}
			}
			for _, o := range objs {
				if err := dryRunApply(ctx, dyn, mapper, o); err != nil {
					t.Errorf("%s rejected: %v", key(o), err)
				}
			}
			for _, dep := range find(objs, "Deployment") {
				if err := dryRunPod(ctx, cs, dep); err != nil {
					t.Errorf("the pod of %s is rejected in a namespace enforcing the restricted Pod Security Standard: %v", key(dep), err)
				}
			}
		})
	}

	t.Run("kustomize", func(t *testing.T) {
		for _, dir := range []string{"config/default", "config/prometheus"} {
			for _, o := range kustomize(t, dir) {
				if err := dryRunApply(ctx, dyn, mapper, o); err != nil {
					t.Errorf("%s from %s rejected: %v", key(o), dir, err)
				}
			}
		}
	})

	t.Run("helm-install-upgrade-uninstall", func(t *testing.T) {
		// A real release: install, upgrade (the CRDs are templates, so
		// helm applies them again), uninstall (crds.keep leaves them).
		user, err := env.AddUser(envtest.User{Name: "chart-test", Groups: []string{"system:masters"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		kc, err := user.KubeConfig()
		if err != nil {
			t.Fatal(err)
		}
		kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
		if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
			t.Fatal(err)
		}
		helm := func(args ...string) {
			t.Helper()
			if _, err := runHelm(t, append(args, "--kubeconfig", kubeconfig)...); err != nil {
				t.Fatal(err)
			}
		}
		helm("install", releaseName, chartRelPath, "--namespace", releaseNS)
		crd, err := dyn.Resource(crdGVR).Get(ctx, "clrproviders.clr.learnerrecords.io", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("after helm install: %v", err)
		}
		if crd.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" {
			t.Errorf("CRD labels %v: not managed by the release", crd.GetLabels())
		}
		helm("upgrade", releaseName, chartRelPath, "--namespace", releaseNS, "--set", "maxConcurrentReconciles=5", "--set", "prometheusRule.enabled=true")
		dep, err := cs.AppsV1().Deployments(releaseNS).Get(ctx, "clr-operator", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if args := dep.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--max-concurrent-reconciles=5") {
			t.Errorf("after helm upgrade the args are %v", args)
		}
		helm("uninstall", releaseName, "--namespace", releaseNS)
		for _, name := range []string{"clrproviders.clr.learnerrecords.io", "frameworks.clr.learnerrecords.io", "issuers.clr.learnerrecords.io"} {
			if _, err := dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{}); err != nil {
				t.Errorf("CRD %s after helm uninstall with crds.keep: %v", name, err)
			}
		}
		if _, err := cs.AppsV1().Deployments(releaseNS).Get(ctx, "clr-operator", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the operator Deployment survived helm uninstall: %v", err)
		}
	})

	t.Run("pod-security-is-enforced", func(t *testing.T) {
		// The check above can fail: the same pod without its security
		// settings is refused.
		dep := one(t, render(t, ""), "Deployment", "clr-operator")
		if err := unstructured.SetNestedField(dep.Object, nil, "spec", "template", "spec", "securityContext"); err != nil {
			t.Fatal(err)
		}
		containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
		for _, c := range containers {
			delete(c.(map[string]any), "securityContext")
		}
		_ = unstructured.SetNestedSlice(dep.Object, containers, "spec", "template", "spec", "containers")
		err := dryRunPod(ctx, cs, dep)
		if err == nil || !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "restricted") {
			t.Fatalf("a pod without security settings was not refused by PodSecurity: %v", err)
		}
	})

	t.Run("namespaced-rbac-scopes", func(t *testing.T) {
		objs := render(t, "watchNamespaces: [tenant-a]\nmetrics: {secure: true}\n")
		scope := scopes(t, cfg, objs)
		check := func(kind, name string, wantNamespaced bool) {
			o := one(t, objs, kind, name)
			rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
			for _, ri := range rules {
				r := ri.(map[string]any)
				for _, g := range r["apiGroups"].([]any) {
					for _, res := range r["resources"].([]any) {
						gr := g.(string) + "/" + strings.SplitN(res.(string), "/", 2)[0]
						namespaced, known := scope[gr]
						if !known {
							t.Errorf("%s %s: the apiserver does not serve %s", kind, name, gr)
						} else if namespaced != wantNamespaced {
							t.Errorf("%s %s grants %s, whose namespaced scope is %v", kind, name, gr, namespaced)
						}
					}
				}
			}
		}
		check("ClusterRole", "clr-operator-manager-cluster", false)
		check("Role", "clr-operator-manager", true)
		// TokenReviews and SubjectAccessReviews are cluster-scoped: a
		// ClusterRole is right in the namespaced mode too.
		check("ClusterRole", "clr-operator-metrics-auth", false)
	})

	t.Run("secure-metrics-rbac-authorizes", func(t *testing.T) {
		// The metrics ClusterRoles and bindings, created for real: the
		// apiserver's RBAC authorizer lets the operator review tokens and
		// access, and the readers, and nobody else, get /metrics.
		operator := serviceAccountUser(releaseNS, "clr-operator")
		prometheus := serviceAccountUser("monitoring", "prometheus-k8s")
		other := serviceAccountUser("monitoring", "someone-else")
		group := authorizationv1.SubjectAccessReviewSpec{User: "bob", Groups: []string{"metrics-readers", "system:authenticated"}}
		tokenReviews := &authorizationv1.ResourceAttributes{Group: "authentication.k8s.io", Resource: "tokenreviews", Verb: "create"}
		accessReviews := &authorizationv1.ResourceAttributes{Group: "authorization.k8s.io", Resource: "subjectaccessreviews", Verb: "create"}
		metrics := &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"}

		// Before: nobody may (so the checks below can fail).
		for _, c := range []struct {
			spec authorizationv1.SubjectAccessReviewSpec
			res  *authorizationv1.ResourceAttributes
			non  *authorizationv1.NonResourceAttributes
		}{{operator, tokenReviews, nil}, {operator, accessReviews, nil}, {prometheus, nil, metrics}, {group, nil, metrics}} {
			if allowed(ctx, t, cs, c.spec, c.res, c.non) {
				t.Fatalf("%s may %s before the chart's metrics RBAC exists", c.spec.User, attributes(c.res, c.non))
			}
		}

		var created []*unstructured.Unstructured
		t.Cleanup(func() {
			for _, o := range created {
				m, err := mapper.RESTMapping(o.GroupVersionKind().GroupKind(), o.GroupVersionKind().Version)
				if err == nil {
					err = dyn.Resource(m.Resource).Delete(ctx, o.GetName(), metav1.DeleteOptions{})
				}
				if err != nil {
					t.Errorf("deleting %s: %v", key(o), err)
				}
			}
		})
		for _, o := range render(t, secureMetricsValues) {
			if (o.GetKind() != "ClusterRole" && o.GetKind() != "ClusterRoleBinding") || !strings.Contains(o.GetName(), "-metrics-") {
				continue
			}
			m, err := mapper.RESTMapping(o.GroupVersionKind().GroupKind(), o.GroupVersionKind().Version)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dyn.Resource(m.Resource).Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: "chart-test", Force: true}); err != nil {
				t.Fatalf("creating %s: %v", key(o), err)
			}
			created = append(created, o)
		}
		if len(created) != 4 {
			t.Fatalf("created %d metrics ClusterRoles and bindings, want 4", len(created))
		}

		for _, c := range []struct {
			spec authorizationv1.SubjectAccessReviewSpec
			res  *authorizationv1.ResourceAttributes
			non  *authorizationv1.NonResourceAttributes
			want bool
		}{
			{operator, tokenReviews, nil, true},
			{operator, accessReviews, nil, true},
			{prometheus, nil, metrics, true},
			{group, nil, metrics, true},
			{other, nil, metrics, false},
			{prometheus, tokenReviews, nil, false},
			{operator, &authorizationv1.ResourceAttributes{Group: "authentication.k8s.io", Resource: "tokenreviews", Verb: "list"}, nil, false},
		} {
			// The authorizer learns of new bindings from a watch: wait
			// for the allowed ones, then check the denied ones.
			deadline := time.Now().Add(10 * time.Second)
			got := allowed(ctx, t, cs, c.spec, c.res, c.non)
			for c.want && !got && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				got = allowed(ctx, t, cs, c.spec, c.res, c.non)
			}
			if got != c.want {
				t.Errorf("%s may %s: %v, want %v", c.spec.User, attributes(c.res, c.non), got, c.want)
			}
		}
	})
}

// serviceAccountUser is how the apiserver authenticates a ServiceAccount's
// token.
func serviceAccountUser(ns, name string) authorizationv1.SubjectAccessReviewSpec {
	return authorizationv1.SubjectAccessReviewSpec{
		User:   "system:serviceaccount:" + ns + ":" + name,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}
}

// attributes describes a SubjectAccessReview's question.
func attributes(res *authorizationv1.ResourceAttributes, non *authorizationv1.NonResourceAttributes) string {
	if non != nil {
		return non.Verb + " " + non.Path
	}
	return res.Verb + " " + res.Group + "/" + res.Resource
}

// allowed asks the apiserver with a SubjectAccessReview.
func allowed(ctx context.Context, t *testing.T, cs kubernetes.Interface, spec authorizationv1.SubjectAccessReviewSpec, res *authorizationv1.ResourceAttributes, non *authorizationv1.NonResourceAttributes) bool {
	t.Helper()
	spec.ResourceAttributes, spec.NonResourceAttributes = res, non
	sar, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SubjectAccessReview: %v", err)
	}
	return sar.Status.Allowed
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// dryRunApply sends obj as a server-side apply with dryRun=All.
func dryRunApply(ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("no REST mapping for %s: %w", gvk, err)
	}
	var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if obj.GetNamespace() == "" {
			return fmt.Errorf("namespaced %s rendered without a namespace", gvk.Kind)
		}
		ri = dyn.Resource(m.Resource).Namespace(obj.GetNamespace())
	} else if obj.GetNamespace() != "" {
		return fmt.Errorf("cluster-scoped %s rendered with namespace %s", gvk.Kind, obj.GetNamespace())
	}
	_, err = ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: "chart-test", Force: true, DryRun: []string{metav1.DryRunAll}})
	return err
}

// dryRunPod creates, with dryRun=All, a Pod from a Deployment's template in
// the Deployment's namespace, so that the PodSecurity admission judges it.
func dryRunPod(ctx context.Context, cs kubernetes.Interface, dep *unstructured.Unstructured) error {
	tmpl, _, _ := unstructured.NestedMap(dep.Object, "spec", "template")
	var pod corev1.Pod
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(tmpl, &pod); err != nil {
		return fmt.Errorf("converting the pod template: %w", err)
	}
	pod.Name = dep.GetName() + "-dry-run"
	pod.Namespace = dep.GetNamespace()
	_, err := cs.CoreV1().Pods(pod.Namespace).Create(ctx, &pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}

// scopes maps "group/resource" to whether it is namespaced, from the
// apiserver's discovery and, for the chart's own CRDs (not installed:
// dry-run only), from their spec.scope.
func scopes(t *testing.T, cfg *rest.Config, objs []*unstructured.Unstructured) map[string]bool {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lists, err := dc.ServerPreferredResources()
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	out := map[string]bool{}
	for _, l := range lists {
		gv := strings.SplitN(l.GroupVersion, "/", 2)
		group := ""
		if len(gv) == 2 {
			group = gv[0]
		}
		for _, r := range l.APIResources {
			out[group+"/"+r.Name] = r.Namespaced
		}
	}
	for _, crd := range find(objs, "CustomResourceDefinition") {
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
		sc, _, _ := unstructured.NestedString(crd.Object, "spec", "scope")
		out[group+"/"+plural] = sc == "Namespaced"
	}
	return out
}
