package controllers_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/controllers"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
)

// ZeroWritesPeriod is how long a converged provider is watched for writes:
// 30 s, so that a periodic requeue (the operator re-checks a missing Secret
// every 30 s) or a flapping status would show within it.
const ZeroWritesPeriod = 30 * time.Second

// tenant creates an institution's Issuer, Framework and user Secrets in ns
// and returns a CLRProvider for them (not yet created).
func tenant(t *testing.T, ns string) *clrv1.CLRProvider {
	t.Helper()
	is := newIssuer(ns, "cascadia", clrv1.KeyAlgorithmEd25519)
	is.Spec.Authority = tenantAuthority
	if err := k8s.Create(ctx, is); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Create(ctx, transformativeLearning(ns, "outcomes")); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "records-db"}, StringData: map[string]string{"dsn": "postgres://clr:secret@db.example.internal:5432/clr"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sso-client"}, StringData: map[string]string{"client-secret": "not-a-real-secret"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "records-tls"}, Type: corev1.SecretTypeTLS,
			StringData: map[string]string{"tls.crt": "placeholder", "tls.key": "placeholder"}},
	} {
		if err := k8s.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	className := "nginx"
	return &clrv1.CLRProvider{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "records"},
		Spec: clrv1.CLRProviderSpec{
			IssuerRefs:    []clrv1.LocalObjectReference{{Name: "cascadia"}},
			FrameworkRefs: []clrv1.FrameworkReference{{Name: "outcomes"}},
			Hostname:      "records.cascadia-state.edu",
			PathPrefix:    "/clr",
			Replicas:      ptr(int32(2)),
			Ingress: &clrv1.ProviderIngress{
				ClassName:   &className,
				Annotations: map[string]string{"nginx.ingress.kubernetes.io/proxy-body-size": "8m"},
				TLS:         &clrv1.IngressTLS{SecretName: "records-tls"},
			},
			Storage: clrv1.ProviderStorage{Postgres: &clrv1.PostgresStorage{SecretRef: clrv1.PostgresSecretReference{Name: "records-db", Key: "dsn"}}},
			OAuth: clrv1.ProviderOAuth{
				OIDC: &clrv1.OIDCProvider{IssuerURL: "https://login.cascadia-state.edu", ClientID: "clr",
					ClientSecretRef: clrv1.OIDCClientSecretReference{Name: "sso-client", Key: "client-secret"}},
				IssuingClients: []clrv1.IssuingClient{{ClientID: "registrar-sis",
					Scopes: []string{"https://learnerrecords.io/scope/issue"}}},
			},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// tenantAuthority is the accreditation and legal authority of the tenant's
// Issuer, which the rendered clr-server config must carry.
var tenantAuthority = []clrv1.Authority{
	{Name: "Northwest Commission on Colleges and Universities", URL: "https://nwccu.org/institutions/cascadia-state",
		Identifier: "NWCCU-0042", Description: "Institutional accreditation"},
	{Name: "Washington Student Achievement Council", Identifier: "degree authorization 1967-04"},
}

func getProvider(t *testing.T, ns, name string) *clrv1.CLRProvider {
	t.Helper()
	p := &clrv1.CLRProvider{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, p); err != nil {
		t.Fatalf("CLRProvider: %v", err)
	}
	return p
}

// waitProvider waits until the provider's Ready condition, for its current
// generation, satisfies check.
func waitProvider(t *testing.T, ns, name, what string, timeout time.Duration, check func(*clrv1.CLRProvider, *metav1.Condition) bool) *clrv1.CLRProvider {
	t.Helper()
	p := &clrv1.CLRProvider{}
	eventually(t, timeout, what, func() (bool, string) {
		if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, p); err != nil {
			return false, err.Error()
		}
		c := clrv1.FindCondition(p, clrv1.ConditionReady)
		if c == nil || p.Status.ObservedGeneration != p.Generation {
			return false, "status not observed for the current generation"
		}
		return check(p, c), fmt.Sprintf("%s %s: %s; pods: %s", c.Status, c.Reason, c.Message, podSummary(ns))
	})
	return p
}

func waitProviderReady(t *testing.T, ns, name string) *clrv1.CLRProvider {
	t.Helper()
	return waitProvider(t, ns, name, "CLRProvider "+name+" Ready", 90*time.Second, func(p *clrv1.CLRProvider, c *metav1.Condition) bool {
		return c.Status == metav1.ConditionTrue && c.Reason == clrv1.ReasonSucceeded
	})
}

// children are the objects a provider with ingress and two replicas owns.
func children(ns, name string) []client.Object {
	meta := func(n string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: n} }
	return []client.Object{
		&corev1.ConfigMap{ObjectMeta: meta(name + "-config")},
		&corev1.Secret{ObjectMeta: meta(name + "-secrets")},
		&corev1.ServiceAccount{ObjectMeta: meta(name)},
		&appsv1.Deployment{ObjectMeta: meta(name)},
		&corev1.Service{ObjectMeta: meta(name)},
		&networkingv1.Ingress{ObjectMeta: meta(name)},
		&networkingv1.NetworkPolicy{ObjectMeta: meta(name)},
		&policyv1.PodDisruptionBudget{ObjectMeta: meta(name)},
	}
}

func kindOf(obj client.Object) string {
	gvks, _, err := k8s.Scheme().ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return fmt.Sprintf("%T", obj)
	}
	return gvks[0].Kind
}

// normalize turns a child as stored into a stable document for a golden
// file: server-assigned identity, times and status removed, generated
// secrets and hashes of them replaced by placeholders.
func normalize(t *testing.T, obj client.Object, ns string) []byte {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	gvks, _, err := k8s.Scheme().ObjectKinds(obj)
	if err != nil {
		t.Fatal(err)
	}
	u.SetAPIVersion(gvks[0].GroupVersion().String())
	u.SetKind(gvks[0].Kind)
	for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation"} {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
	ann := u.GetAnnotations()
	delete(ann, "deployment.kubernetes.io/revision")
	if _, ok := ann[controllers.AnnotationAppliedHash]; ok {
		ann[controllers.AnnotationAppliedHash] = "<hash of the applied configuration>"
	}
	if len(ann) == 0 {
		ann = nil
	}
	u.SetAnnotations(ann)
	refs := u.GetOwnerReferences()
	for i := range refs {
		refs[i].UID = "OWNER-UID"
	}
	u.SetOwnerReferences(refs)
	delete(u.Object, "status")
	switch obj.(type) {
	case *corev1.Secret:
		data, _, _ := unstructured.NestedMap(u.Object, "data")
		for k := range data {
			data[k] = "<generated>"
		}
		_ = unstructured.SetNestedMap(u.Object, data, "data")
	case *corev1.ConfigMap:
		data, _, _ := unstructured.NestedStringMap(u.Object, "data")
		for k := range data {
			if strings.HasPrefix(k, "keyring-") {
				data[k] = "<keyring: public keys with random kids>"
			}
		}
		_ = unstructured.SetNestedStringMap(u.Object, data, "data")
	case *appsv1.Deployment:
		_ = unstructured.SetNestedField(u.Object, "<hash of config and generated secrets>", "spec", "template", "metadata", "annotations", controllers.AnnotationInputHash)
	case *corev1.Service:
		unstructured.RemoveNestedField(u.Object, "spec", "clusterIP")
		unstructured.RemoveNestedField(u.Object, "spec", "clusterIPs")
	}
	out, err := yaml.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.ReplaceAll(string(out), ns, "NAMESPACE"))
}

func compareGolden(t *testing.T, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file %s: %v (run go test ./controllers -run %s -update to create it)", path, err, t.Name())
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file (rerun with -update after checking the change):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

func checkRestrictedPSS(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	ps := d.Spec.Template.Spec
	if ps.SecurityContext == nil || ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot ||
		ps.SecurityContext.SeccompProfile == nil || ps.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext not restricted: %+v", ps.SecurityContext)
	}
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
		t.Errorf("pod automounts a service account token")
	}
	for _, c := range ps.Containers {
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			t.Errorf("container %s securityContext not restricted: %+v", c.Name, sc)
		}
		for _, m := range c.VolumeMounts {
			if (strings.HasPrefix(m.Name, "key-") || m.Name == "config" || m.Name == "secrets" || m.Name == "postgres" || m.Name == "oidc") && !m.ReadOnly {
				t.Errorf("volume %s mounted read-write", m.Name)
			}
		}
		if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" ||
			c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
			t.Errorf("container %s probes: readiness %+v liveness %+v", c.Name, c.ReadinessProbe, c.LivenessProbe)
		}
	}
}

// resourceVersions reads the resourceVersion of each object (absent: "").
func resourceVersions(t *testing.T, objs []client.Object) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, o := range objs {
		key := kindOf(o) + "/" + o.GetName()
		cp := o.DeepCopyObject().(client.Object)
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(o), cp); err != nil {
			if apierrors.IsNotFound(err) {
				out[key] = ""
				continue
			}
			t.Fatalf("reading %s: %v", key, err)
		}
		out[key] = cp.GetResourceVersion()
	}
	return out
}

func diffVersions(before, after map[string]string) []string {
	var out []string
	for k, v := range before {
		if after[k] != v {
			out = append(out, fmt.Sprintf("%s: %s -> %s", k, v, after[k]))
		}
	}
	sort.Strings(out)
	return out
}

func TestProviderCreatesChildrenAndConverges(t *testing.T) {
	needEnv(t)
	ns := newNamespace(t, nil)
	p := tenant(t, ns)
	if err := k8s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	p = waitProviderReady(t, ns, "records")
	is := waitIssuerReady(t, ns, "cascadia")
	fw := waitFrameworkCondition(t, ns, "outcomes", true)

	t.Run("status", func(t *testing.T) {
		if p.Status.URL != "https://records.cascadia-state.edu/clr" || p.Status.DiscoveryURL != "https://records.cascadia-state.edu/clr/ims/clr/v2p0/discovery" {
			t.Errorf("url %q, discoveryURL %q", p.Status.URL, p.Status.DiscoveryURL)
		}
		if p.Status.CurrentKeyID != is.Status.CurrentKey.KID || p.Status.ReadyReplicas != 2 {
			t.Errorf("currentKeyID %q (issuer %q), readyReplicas %d", p.Status.CurrentKeyID, is.Status.CurrentKey.KID, p.Status.ReadyReplicas)
		}
		if len(p.Status.Issuers) != 1 || p.Status.Issuers[0].IssuerID != "did:web:records.cascadia-state.edu:clr:issuers:cascadia" {
			t.Errorf("issuers %+v", p.Status.Issuers)
		}
		if len(p.Status.Frameworks) != 1 || p.Status.Frameworks[0].Digest != fw.Status.Digest {
			t.Errorf("frameworks %+v, want digest %s", p.Status.Frameworks, fw.Status.Digest)
		}
		if is.Status.IssuerID != "did:web:records.cascadia-state.edu:clr:issuers:cascadia" {
			t.Errorf("Issuer status.issuerID = %q", is.Status.IssuerID)
		}
		for _, typ := range []string{clrv1.ConditionReferencesResolved, clrv1.ConditionConfigReady, clrv1.ConditionStorageReady, clrv1.ConditionWorkloadReady, clrv1.ConditionNetworkReady} {
			if c := clrv1.FindCondition(p, typ); c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != p.Generation {
				t.Errorf("condition %s = %+v", typ, c)
			}
		}
		checkKstatus(t, p, p.Generation, p.Status.ObservedGeneration, "Current")
	})

	t.Run("children match golden files", func(t *testing.T) {
		for _, obj := range children(ns, "records") {
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				t.Fatalf("%s %s: %v", kindOf(obj), obj.GetName(), err)
			}
			if !metav1.IsControlledBy(obj, p) {
				t.Errorf("%s %s is not controlled by the provider", kindOf(obj), obj.GetName())
			}
			if obj.GetLabels()[controllers.LabelManagedBy] != controllers.ManagedByValue {
				t.Errorf("%s %s lacks the managed-by label", kindOf(obj), obj.GetName())
			}
			compareGolden(t, "provider/"+strings.ToLower(kindOf(obj))+".yaml", normalize(t, obj, ns))
			switch o := obj.(type) {
			case *appsv1.Deployment:
				checkRestrictedPSS(t, o)
			case *corev1.ServiceAccount:
				if o.AutomountServiceAccountToken == nil || *o.AutomountServiceAccountToken {
					t.Errorf("ServiceAccount automounts its token")
				}
			}
		}
	})

	t.Run("rendered files pass clr-server's checks", func(t *testing.T) {
		cm := &corev1.ConfigMap{}
		if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "records-config"}, cm); err != nil {
			t.Fatal(err)
		}
		cfg, err := serverconfig.Parse([]byte(cm.Data["config.json"]))
		if err != nil {
			t.Fatalf("clr-server cannot parse the rendered config: %v", err)
		}
		cfg.ApplyDefaults()
		if err := cfg.Validate(); err != nil {
			t.Errorf("clr-server rejects the rendered config: %v", err)
		}
		for _, f := range cfg.Frameworks {
			key := strings.TrimPrefix(f.File, "/etc/clr/config/")
			var doc serverconfig.Framework
			if err := json.Unmarshal([]byte(cm.Data[key]), &doc); err != nil {
				t.Fatalf("framework file %s (ConfigMap key %s): %v", f.File, key, err)
			}
			if err := doc.Validate(); err != nil {
				t.Errorf("clr-server rejects framework %s: %v", f.Name, err)
			}
		}
		if len(cfg.Issuers) != 1 || len(cfg.Issuers[0].Authority) != len(tenantAuthority) {
			t.Fatalf("rendered issuers %+v, want one with %d authorities", cfg.Issuers, len(tenantAuthority))
		}
		for i, a := range tenantAuthority {
			got := cfg.Issuers[0].Authority[i]
			if got.Name != a.Name || got.URL != a.URL || got.Identifier != a.Identifier || got.Description != a.Description {
				t.Errorf("authority[%d] rendered as %+v, want %+v", i, got, a)
			}
		}
		for _, is := range cfg.Issuers {
			key := strings.TrimPrefix(is.Signing.KeyringFile, "/etc/clr/config/")
			var kr serverconfig.Keyring
			if err := json.Unmarshal([]byte(cm.Data[key]), &kr); err != nil || len(kr.Keys) == 0 {
				t.Errorf("keyring file %s (ConfigMap key %s): %v %+v", is.Signing.KeyringFile, key, err, kr)
			}
		}
		sec := &corev1.Secret{}
		if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "records-secrets"}, sec); err != nil {
			t.Fatal(err)
		}
		var is serverconfig.InternalSecrets
		if err := json.Unmarshal(sec.Data["secrets.json"], &is); err != nil {
			t.Fatal(err)
		}
		if err := is.Validate(); err != nil {
			t.Errorf("clr-server rejects the generated secrets: %v", err)
		}
		if is.ClientSecrets["registrar-sis"] == "" || string(sec.Data["client-registrar-sis"]) != is.ClientSecrets["registrar-sis"] {
			t.Errorf("issuing client secret not generated or not exposed under client-registrar-sis")
		}
	})

	t.Run("zero writes once converged", func(t *testing.T) {
		objs := append(children(ns, "records"),
			&clrv1.CLRProvider{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "records"}},
			&clrv1.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cascadia"}},
			&clrv1.Framework{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "outcomes"}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cascadia-keyring"}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "outcomes-framework"}},
		)
		// Let the last status writes of the rollout settle first.
		time.Sleep(2 * time.Second)
		before := resourceVersions(t, objs)
		eventsBefore := countEvents(t, ns)
		if eventsBefore == 0 {
			t.Errorf("the operator reported no event (the Ready transitions must be)")
		}
		// A reconcile asked for by annotation must also write nothing to
		// the children (only the provider's lastHandledReconcileAt).
		time.Sleep(ZeroWritesPeriod)
		after := resourceVersions(t, objs)
		if d := diffVersions(before, after); len(d) > 0 {
			t.Errorf("writes while converged over %s: %v", ZeroWritesPeriod, d)
		}
		if n := countEvents(t, ns); n != eventsBefore {
			t.Errorf("events emitted while converged: %d -> %d (events are for transitions only)", eventsBefore, n)
		}
	})

	t.Run("reconcile-requested-at annotation", func(t *testing.T) {
		objs := children(ns, "records")
		before := resourceVersions(t, objs)
		p := getProvider(t, ns, "records")
		patch := client.MergeFrom(p.DeepCopy())
		p.Annotations = map[string]string{controllers.AnnotationReconcileRequestedAt: "2026-11-27T21:00:00Z"}
		if err := k8s.Patch(ctx, p, patch); err != nil {
			t.Fatal(err)
		}
		waitProvider(t, ns, "records", "lastHandledReconcileAt", 30*time.Second, func(p *clrv1.CLRProvider, _ *metav1.Condition) bool {
			return p.Status.LastHandledReconcileAt == "2026-11-27T21:00:00Z"
		})
		if d := diffVersions(before, resourceVersions(t, objs)); len(d) > 0 {
			t.Errorf("a requested reconcile of a converged provider wrote children: %v", d)
		}
	})
}

// podSummary describes the namespace's pods for failure messages.
func podSummary(ns string) string {
	var pods corev1.PodList
	if err := k8s.List(ctx, &pods, client.InNamespace(ns)); err != nil {
		return err.Error()
	}
	var out []string
	for _, p := range pods.Items {
		ready := false
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		msg := ""
		for _, c := range p.Status.Conditions {
			if c.Status != corev1.ConditionTrue && c.Message != "" {
				msg += " " + string(c.Type) + ":" + c.Message
			}
		}
		out = append(out, fmt.Sprintf("%s node=%q phase=%s ready=%t%s", p.Name, p.Spec.NodeName, p.Status.Phase, ready, msg))
	}
	return fmt.Sprintf("%d: %s", len(out), strings.Join(out, "; "))
}

// countEvents counts the operator's events.k8s.io Events in a namespace,
// checking
// that no event there carries key material.
func countEvents(t *testing.T, ns string) int {
	t.Helper()
	var list eventsv1.EventList
	if err := k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
		t.Fatalf("listing events: %v", err)
	}
	n := 0
	for _, e := range list.Items {
		if strings.Contains(e.Note, "PRIVATE KEY") || strings.Contains(e.Note, "postgres://") {
			t.Errorf("event %s/%s carries a secret: %q", e.Reason, e.Regarding.Name, e.Note)
		}
		// Only the operator's events: kube-controller-manager, the
		// scheduler and cert-manager report on their own.
		if strings.HasPrefix(e.ReportingController, "clr-operator") {
			n++
		}
	}
	return n
}
