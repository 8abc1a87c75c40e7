package controllers_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/controllers"
)

// readyTenant creates a tenant and waits until its provider is Ready.
func readyTenant(t *testing.T, labels map[string]string) (string, *clrv1.CLRProvider) {
	t.Helper()
	ns := newNamespace(t, labels)
	p := tenant(t, ns)
	if err := k8s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	return ns, waitProviderReady(t, ns, p.Name)
}

func TestProviderRevertsDrift(t *testing.T) {
	needEnv(t)
	ns, _ := readyTenant(t, nil)

	// A deleted child comes back.
	svc := &corev1.Service{}
	key := types.NamespacedName{Namespace: ns, Name: "records"}
	if err := k8s.Get(ctx, key, svc); err != nil {
		t.Fatal(err)
	}
	oldUID := svc.UID
	if err := k8s.Delete(ctx, svc); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the Service to be recreated", func() (bool, string) {
		err := k8s.Get(ctx, key, svc)
		return err == nil && svc.UID != oldUID, "not yet"
	})

	// An edited field owned by the operator is set back.
	dep := &appsv1.Deployment{}
	if err := k8s.Get(ctx, key, dep); err != nil {
		t.Fatal(err)
	}
	dep.Spec.Template.Spec.Containers[0].Image = "registry.example/tampered:1"
	dep.Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = ptr(false)
	if err := k8s.Update(ctx, dep); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the Deployment edit to be reverted", func() (bool, string) {
		if err := k8s.Get(ctx, key, dep); err != nil {
			return false, err.Error()
		}
		c := dep.Spec.Template.Spec.Containers[0]
		return c.Image == "ghcr.io/learnerrecords/clr-server:test" && *c.SecurityContext.ReadOnlyRootFilesystem, c.Image
	})

	// An edited ConfigMap is rendered again.
	cm := &corev1.ConfigMap{}
	cmKey := types.NamespacedName{Namespace: ns, Name: "records-config"}
	if err := k8s.Get(ctx, cmKey, cm); err != nil {
		t.Fatal(err)
	}
	want := cm.Data["config.json"]
	cm.Data["config.json"] = "{}"
	if err := k8s.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the config to be rendered again", func() (bool, string) {
		if err := k8s.Get(ctx, cmKey, cm); err != nil {
			return false, err.Error()
		}
		return cm.Data["config.json"] == want, "still edited"
	})
	waitProviderReady(t, ns, "records")
}

func TestProviderPausedWritesNothing(t *testing.T) {
	needEnv(t)
	ns, p := readyTenant(t, nil)
	patch := client.MergeFrom(p.DeepCopy())
	p.Spec.Paused = true
	if err := k8s.Patch(ctx, p, patch); err != nil {
		t.Fatal(err)
	}
	p = waitProvider(t, ns, "records", "Ready reason Paused", 30*time.Second, func(_ *clrv1.CLRProvider, c *metav1.Condition) bool {
		return c.Reason == clrv1.ReasonPaused
	})
	checkKstatus(t, p, p.Generation, p.Status.ObservedGeneration, "Current")
	before := resourceVersions(t, children(ns, "records"))

	// Changes while paused: a spec edit and a deleted child.
	patch = client.MergeFrom(p.DeepCopy())
	p.Spec.Replicas = ptr(int32(3))
	if err := k8s.Patch(ctx, p, patch); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Delete(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "records"}}); err != nil {
		t.Fatal(err)
	}
	waitProvider(t, ns, "records", "the paused spec change observed", 30*time.Second, func(p *clrv1.CLRProvider, c *metav1.Condition) bool {
		return c.Reason == clrv1.ReasonPaused
	})
	time.Sleep(3 * time.Second)
	after := resourceVersions(t, children(ns, "records"))
	before["Service/records"] = "" // deleted by the test itself
	if d := diffVersions(before, after); len(d) > 0 {
		t.Errorf("writes while paused: %v", d)
	}

	// Unpausing applies everything.
	p = getProvider(t, ns, "records")
	patch = client.MergeFrom(p.DeepCopy())
	p.Spec.Paused = false
	if err := k8s.Patch(ctx, p, patch); err != nil {
		t.Fatal(err)
	}
	p = waitProviderReady(t, ns, "records")
	dep := &appsv1.Deployment{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "records"}, dep); err != nil || *dep.Spec.Replicas != 3 {
		t.Errorf("after unpausing: Deployment replicas %v, err %v", dep.Spec.Replicas, err)
	}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "records"}, &corev1.Service{}); err != nil {
		t.Errorf("after unpausing the Service is not back: %v", err)
	}
	if p.Status.ReadyReplicas != 3 {
		t.Errorf("readyReplicas = %d, want 3", p.Status.ReadyReplicas)
	}
}

func TestProviderRolloutOnConfigChangeNotOnRotation(t *testing.T) {
	needEnv(t)
	ns, p := readyTenant(t, nil)
	hash := p.Status.ConfigHash
	dep := &appsv1.Deployment{}
	key := types.NamespacedName{Namespace: ns, Name: "records"}
	if err := k8s.Get(ctx, key, dep); err != nil {
		t.Fatal(err)
	}
	depGen := dep.Generation

	// Key rotation: the keyring in the ConfigMap changes, pods do not roll.
	oldKID := p.Status.CurrentKeyID
	triggerRenewal(t, ns, "cascadia-signing-key")
	p = waitProvider(t, ns, "records", "the new key in the provider status", 60*time.Second, func(p *clrv1.CLRProvider, c *metav1.Condition) bool {
		return p.Status.CurrentKeyID != "" && p.Status.CurrentKeyID != oldKID && c.Status == metav1.ConditionTrue
	})
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "records-config"}, cm); err != nil {
		t.Fatal(err)
	}
	kr := cm.Data["keyring-cascadia.json"]
	if !strings.Contains(kr, p.Status.CurrentKeyID) || !strings.Contains(kr, oldKID) {
		t.Errorf("provider keyring lacks the new (%s) or retired (%s) kid:\n%s", p.Status.CurrentKeyID, oldKID, kr)
	}
	if err := k8s.Get(ctx, key, dep); err != nil {
		t.Fatal(err)
	}
	if p.Status.ConfigHash != hash || dep.Generation != depGen {
		t.Errorf("a key rotation restarted clr-server: hash %s -> %s, Deployment generation %d -> %d", hash, p.Status.ConfigHash, depGen, dep.Generation)
	}

	// A config change rolls the pods.
	patch := client.MergeFrom(p.DeepCopy())
	p.Spec.OAuth.AccessTokenTTL = &metav1.Duration{Duration: 15 * time.Minute}
	if err := k8s.Patch(ctx, p, patch); err != nil {
		t.Fatal(err)
	}
	p = waitProvider(t, ns, "records", "rolled out with the new config", 90*time.Second, func(p *clrv1.CLRProvider, c *metav1.Condition) bool {
		return p.Status.ConfigHash != hash && c.Status == metav1.ConditionTrue
	})
	if err := k8s.Get(ctx, key, dep); err != nil {
		t.Fatal(err)
	}
	if dep.Spec.Template.Annotations[controllers.AnnotationInputHash] != p.Status.ConfigHash || dep.Status.UpdatedReplicas != 2 {
		t.Errorf("Deployment template hash %q (status %q), updated replicas %d", dep.Spec.Template.Annotations[controllers.AnnotationInputHash], p.Status.ConfigHash, dep.Status.UpdatedReplicas)
	}
	if !strings.Contains(getConfigJSON(t, ns), `"accessTokenTTL": "15m0s"`) {
		t.Errorf("rendered config does not carry the new token lifetime:\n%s", getConfigJSON(t, ns))
	}

	// Scaling to one replica removes the PodDisruptionBudget.
	patch = client.MergeFrom(p.DeepCopy())
	p.Spec.Replicas = ptr(int32(1))
	if err := k8s.Patch(ctx, p, patch); err != nil {
		t.Fatal(err)
	}
	waitProviderReady(t, ns, "records")
	eventually(t, 30*time.Second, "the PodDisruptionBudget removed", func() (bool, string) {
		err := k8s.Get(ctx, key, &policyv1.PodDisruptionBudget{})
		return apierrors.IsNotFound(err), "still there"
	})
}

func getConfigJSON(t *testing.T, ns string) string {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "records-config"}, cm); err != nil {
		t.Fatal(err)
	}
	return cm.Data["config.json"]
}

func TestProviderDeletionRemovesChildren(t *testing.T) {
	needEnv(t)
	ns, p := readyTenant(t, nil)
	if err := k8s.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the garbage collector to remove every child", func() (bool, string) {
		left := []string{}
		for k, v := range resourceVersions(t, children(ns, "records")) {
			if v != "" {
				left = append(left, k)
			}
		}
		return len(left) == 0, strings.Join(left, ", ")
	})
	// The Issuer's own objects stay: they belong to the Issuer.
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "cascadia-keyring"}, &corev1.ConfigMap{}); err != nil {
		t.Errorf("the Issuer's keyring went with the provider: %v", err)
	}
}

func TestProviderFrameworkSharing(t *testing.T) {
	needEnv(t)
	owner := newNamespace(t, nil)
	if err := k8s.Create(ctx, transformativeLearning(owner, "consortium")); err != nil {
		t.Fatal(err)
	}
	waitFrameworkCondition(t, owner, "consortium", true)

	ns := newNamespace(t, map[string]string{"clr.example/consortium": "member"})
	p := tenant(t, ns)
	p.Spec.FrameworkRefs = []clrv1.FrameworkReference{{Name: "consortium", Namespace: owner}}
	if err := k8s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	p = waitProvider(t, ns, "records", "FrameworkNotShared", 30*time.Second, func(_ *clrv1.CLRProvider, c *metav1.Condition) bool {
		return c.Reason == clrv1.ReasonFrameworkNotShared
	})
	if c := clrv1.FindCondition(p, clrv1.ConditionReferencesResolved); c == nil || c.Status != metav1.ConditionFalse || c.Reason != clrv1.ReasonFrameworkNotShared {
		t.Errorf("ReferencesResolved = %+v", c)
	}
	checkKstatus(t, p, p.Generation, p.Status.ObservedGeneration, "Failed")
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "records"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("a Deployment was created although a reference is not allowed: %v", err)
	}

	// Sharing with a selector that picks the tenant's namespace.
	fw := &clrv1.Framework{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: owner, Name: "consortium"}, fw); err != nil {
		t.Fatal(err)
	}
	fw.Spec.Sharing = &clrv1.FrameworkSharing{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"clr.example/consortium": "member"}}}
	if err := k8s.Update(ctx, fw); err != nil {
		t.Fatal(err)
	}
	p = waitProviderReady(t, ns, "records")
	if len(p.Status.Frameworks) != 1 || p.Status.Frameworks[0].Namespace != owner {
		t.Errorf("status.frameworks = %+v", p.Status.Frameworks)
	}

	// Relabelling the namespace out of the selector withdraws it.
	nsObj := &corev1.Namespace{}
	if err := k8s.Get(ctx, types.NamespacedName{Name: ns}, nsObj); err != nil {
		t.Fatal(err)
	}
	delete(nsObj.Labels, "clr.example/consortium")
	if err := k8s.Update(ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	waitProvider(t, ns, "records", "FrameworkNotShared after relabelling", 30*time.Second, func(_ *clrv1.CLRProvider, c *metav1.Condition) bool {
		return c.Reason == clrv1.ReasonFrameworkNotShared
	})
}

func TestProviderCannotReachIntoOtherNamespaces(t *testing.T) {
	needEnv(t)
	other := newNamespace(t, nil)
	if err := k8s.Create(ctx, newIssuer(other, "elsewhere", clrv1.KeyAlgorithmEd25519)); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "their-db"}, StringData: map[string]string{"dsn": "postgres://x"}}); err != nil {
		t.Fatal(err)
	}
	waitIssuerReady(t, other, "elsewhere")
	ns := newNamespace(t, nil)

	// The references have no namespace field: naming one is rejected.
	for _, field := range []string{"issuerRefs", "secretRef"} {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "clr.learnerrecords.io/v1alpha1", "kind": "CLRProvider",
			"metadata": map[string]any{"name": "sneaky-" + strings.ToLower(field), "namespace": ns},
			"spec": map[string]any{
				"hostname":   "sneaky.example.edu",
				"issuerRefs": []any{map[string]any{"name": "elsewhere", "namespace": other}},
				"storage":    map[string]any{"postgres": map[string]any{"secretRef": map[string]any{"name": "their-db", "namespace": other}}},
			},
		}}
		err := k8s.Create(ctx, u, client.FieldValidation(metav1.FieldValidationStrict))
		if err == nil || !strings.Contains(err.Error(), "namespace") {
			t.Errorf("a reference into namespace %s was accepted (err %v)", other, err)
		}
	}

	// By name only, the other namespace's objects are not found.
	p := &clrv1.CLRProvider{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sneaky"},
		Spec: clrv1.CLRProviderSpec{
			IssuerRefs: []clrv1.LocalObjectReference{{Name: "elsewhere"}},
			Hostname:   "sneaky.example.edu",
			Storage:    clrv1.ProviderStorage{Postgres: &clrv1.PostgresStorage{SecretRef: clrv1.PostgresSecretReference{Name: "their-db", Key: "dsn"}}},
		},
	}
	if err := k8s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitProvider(t, ns, "sneaky", "IssuerNotFound", 30*time.Second, func(_ *clrv1.CLRProvider, c *metav1.Condition) bool {
		return c.Reason == clrv1.ReasonIssuerNotFound
	})
	if err := k8s.Create(ctx, newIssuer(ns, "elsewhere", clrv1.KeyAlgorithmEd25519)); err != nil {
		t.Fatal(err)
	}
	waitProvider(t, ns, "sneaky", "SecretMissing for the other namespace's Secret", 60*time.Second, func(_ *clrv1.CLRProvider, c *metav1.Condition) bool {
		return c.Reason == clrv1.ReasonSecretMissing && strings.Contains(c.Message, "their-db")
	})
}

func TestProviderSQLiteVolume(t *testing.T) {
	needEnv(t)
	ns := newNamespace(t, nil)
	p := tenant(t, ns)
	p.Name = "solo"
	p.Spec.Replicas = ptr(int32(1))
	p.Spec.Ingress = nil
	class := "clr-test-manual-" + ns
	p.Spec.Storage = clrv1.ProviderStorage{SQLite: &clrv1.SQLiteStorage{Size: ptr(resource.MustParse("2Gi")), StorageClassName: &class}}
	// A pre-provisioned volume for the claim (no provisioner runs here).
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-" + ns},
		Spec: corev1.PersistentVolumeSpec{
			StorageClassName: class, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + ns}},
		},
	}
	if err := k8s.Create(ctx, pv); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx, pv) })
	if err := k8s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	p = waitProviderReady(t, ns, "solo")
	pvc := &corev1.PersistentVolumeClaim{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "solo-data"}, pvc); err != nil {
		t.Fatal(err)
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.Resources.Requests.Storage().String() != "2Gi" || !metav1.IsControlledBy(pvc, p) {
		t.Errorf("PVC %s: phase %s, request %s", pvc.Name, pvc.Status.Phase, pvc.Spec.Resources.Requests.Storage())
	}
	dep := &appsv1.Deployment{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "solo"}, dep); err != nil {
		t.Fatal(err)
	}
	if dep.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("SQLite Deployment strategy %s, want Recreate (one writer)", dep.Spec.Strategy.Type)
	}
	if !strings.Contains(getConfigJSONOf(t, ns, "solo"), `"driver": "sqlite"`) {
		t.Errorf("config does not select sqlite")
	}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "solo"}, &policyv1.PodDisruptionBudget{}); !apierrors.IsNotFound(err) {
		t.Errorf("a single-replica provider has a PodDisruptionBudget (err %v)", err)
	}
}

func getConfigJSONOf(t *testing.T, ns, name string) string {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name + "-config"}, cm); err != nil {
		t.Fatal(err)
	}
	return cm.Data["config.json"]
}

func TestOperatorMetrics(t *testing.T) {
	needEnv(t)
	ns, p := readyTenant(t, nil)
	is := waitIssuerReady(t, ns, "cascadia")
	find := func(name string, labels map[string]string) (float64, bool) {
		mfs, err := crmetrics.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
		next:
			for _, m := range mf.GetMetric() {
				got := map[string]string{}
				for _, l := range m.GetLabel() {
					got[l.GetName()] = l.GetValue()
				}
				for k, v := range labels {
					if got[k] != v {
						continue next
					}
				}
				return m.GetGauge().GetValue(), true
			}
		}
		return 0, false
	}
	check := func(name string, labels map[string]string, want float64) {
		t.Helper()
		got, ok := find(name, labels)
		if !ok || got != want {
			t.Errorf("%s%v = %v (present %t), want %v", name, labels, got, ok, want)
		}
	}
	check("clr_tenant_ready", map[string]string{"namespace": ns, "name": p.Name}, 1)
	check("clr_tenant_info", map[string]string{"namespace": ns, "name": p.Name, "hostname": "records.cascadia-state.edu", "storage": "postgres"}, 1)
	check("clr_signing_key_expiration_timestamp_seconds", map[string]string{"namespace": ns, "issuer": "cascadia"}, float64(is.Status.CurrentKey.NotAfter.Unix()))
	check("clr_signing_keys_published", map[string]string{"namespace": ns, "issuer": "cascadia"}, 1)
	check("clr_framework_competencies", map[string]string{"namespace": ns, "name": "outcomes"}, 4)
	if _, ok := find("controller_runtime_reconcile_total", map[string]string{"controller": "clrprovider"}); !ok {
		t.Errorf("controller-runtime's reconcile metrics are missing")
	}

	// Computed at scrape time: a deleted provider's series disappear.
	if err := k8s.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "clr_tenant_ready to disappear", func() (bool, string) {
		_, ok := find("clr_tenant_ready", map[string]string{"namespace": ns, "name": p.Name})
		return !ok, "still exported"
	})
}

func TestProviderFailureBacksOffAndRecovers(t *testing.T) {
	needEnv(t)
	ns := newNamespace(t, nil)
	p := tenant(t, ns)
	// The schema bounds the annotations but not their keys: the apiserver
	// rejects this Ingress, a failure the operator can only retry.
	p.Spec.Ingress.Annotations = map[string]string{"not a valid key!": "x"}
	if err := k8s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	p = waitProvider(t, ns, "records", "ReconcileFailed with persisted retry state", 60*time.Second, func(p *clrv1.CLRProvider, c *metav1.Condition) bool {
		return c.Reason == clrv1.ReasonReconcileFailed && p.Status.Failures >= 1 && p.Status.NextRetryTime != nil
	})
	if c := clrv1.FindCondition(p, clrv1.ConditionNetworkReady); c == nil || c.Reason != clrv1.ReasonReconcileFailed || !strings.Contains(c.Message, "Ingress") {
		t.Errorf("NetworkReady = %+v, want ReconcileFailed naming the Ingress", c)
	}
	checkKstatus(t, p, p.Generation, p.Status.ObservedGeneration, "InProgress")
	if d := p.Status.NextRetryTime.Sub(time.Now()); d > 10*time.Second {
		t.Errorf("first retry in %s, want about 5s (±20%%)", d)
	}

	// A spec change is acted on at once, whatever the backoff.
	patch := client.MergeFrom(p.DeepCopy())
	p.Spec.Ingress.Annotations = map[string]string{"nginx.ingress.kubernetes.io/proxy-body-size": "8m"}
	if err := k8s.Patch(ctx, p, patch); err != nil {
		t.Fatal(err)
	}
	p = waitProviderReady(t, ns, "records")
	if p.Status.Failures != 0 || p.Status.NextRetryTime != nil {
		t.Errorf("retry state not cleared after success: failures %d, nextRetryTime %v", p.Status.Failures, p.Status.NextRetryTime)
	}
}

func TestProviderServiceMonitorWhenInstalled(t *testing.T) {
	needEnv(t)
	// prometheus-operator's own ServiceMonitor CRD, from its Go module.
	dir := os.Getenv("CLR_PROMETHEUS_OPERATOR_CRDS")
	if dir == "" {
		t.Fatal(`CLR_PROMETHEUS_OPERATOR_CRDS is not set; run eval "$(hack/test-env.sh)" first`)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "monitoring.coreos.com_servicemonitors.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(raw, &crd.Object); err != nil {
		t.Fatalf("ServiceMonitor CRD: %v", err)
	}
	if err := k8s.Create(ctx, crd); err != nil {
		t.Fatal(err)
	}
	// The CRD stays for the rest of the suite: providers of later tests
	// get ServiceMonitors too.
	ns := newNamespace(t, nil)
	p := tenant(t, ns)
	if err := k8s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	p = waitProviderReady(t, ns, "records")
	sm := &unstructured.Unstructured{}
	sm.SetAPIVersion("monitoring.coreos.com/v1")
	sm.SetKind("ServiceMonitor")
	eventually(t, 60*time.Second, "a ServiceMonitor for the provider", func() (bool, string) {
		err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "records"}, sm)
		return err == nil, fmt.Sprint(err)
	})
	if !metav1.IsControlledBy(sm, p) {
		t.Errorf("ServiceMonitor not controlled by the provider: %v", sm.GetOwnerReferences())
	}
	port, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(port) != 1 || port[0].(map[string]any)["port"] != "metrics" {
		t.Errorf("ServiceMonitor endpoints = %v", port)
	}
}
