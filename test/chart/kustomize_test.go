package chart

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The fields compared between the kustomize build and the chart, by kind:
// what the object does, not the labels helm adds.
var comparedFields = map[string][][]string{
	"CustomResourceDefinition": {{"spec"}},
	"ClusterRole":              {{"rules"}},
	"Role":                     {{"rules"}},
	"ClusterRoleBinding":       {{"roleRef"}, {"subjects"}},
	"RoleBinding":              {{"roleRef"}, {"subjects"}},
	"ServiceAccount":           {{"automountServiceAccountToken"}},
	"Deployment":               {{"spec", "replicas"}, {"spec", "selector"}, {"spec", "template", "spec"}, {"spec", "template", "metadata", "annotations"}},
	"Service":                  {{"spec"}},
	"ServiceMonitor":           {{"spec"}},
	"PrometheusRule":           {{"spec"}},
	"ConfigMap":                {{"data"}},
}

// compareSets checks that two rendered sets hold the same objects (but for
// the kinds in extra, allowed only on the kustomize side) with the same
// compared fields.
func compareSets(t *testing.T, kust, helm []*unstructured.Unstructured, extra ...string) {
	t.Helper()
	k, h := byKey(kust), byKey(helm)
	for _, name := range keys(k) {
		if _, ok := h[name]; !ok && !slices.Contains(extra, k[name].GetKind()) {
			t.Errorf("kustomize builds %s, the chart does not", name)
		}
	}
	for _, name := range keys(h) {
		ko, ok := k[name]
		if !ok {
			t.Errorf("the chart renders %s, kustomize does not", name)
			continue
		}
		fields, known := comparedFields[ko.GetKind()]
		if !known {
			t.Errorf("no comparison defined for kind %s", ko.GetKind())
			continue
		}
		for _, f := range fields {
			kv, _, _ := unstructured.NestedFieldNoCopy(ko.Object, f...)
			hv, _, _ := unstructured.NestedFieldNoCopy(h[name].Object, f...)
			if !reflect.DeepEqual(normalize(kv), normalize(hv)) {
				kj, _ := json.MarshalIndent(kv, "", "  ")
				hj, _ := json.MarshalIndent(hv, "", "  ")
				t.Errorf("%s .%v differs:\nkustomize: %s\nhelm:      %s", name, f, kj, hj)
			}
		}
	}
}

// normalize round-trips a value through JSON so that numbers compare
// alike whichever decoder produced them.
func normalize(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// TestKustomizeMatchesChart compares `kubectl kustomize config/default`
// with the chart's defaults (release clr-operator in clr-system), and
// config/prometheus with the chart's monitoring objects.
func TestKustomizeMatchesChart(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		kust := kustomize(t, "config/default")
		ns := one(t, kust, "Namespace", releaseNS)
		if ns.GetLabels()["pod-security.kubernetes.io/enforce"] != "restricted" {
			t.Errorf("namespace %s labels %v: the restricted Pod Security Standard is not enforced", releaseNS, ns.GetLabels())
		}
		// The chart installs into a namespace it does not own (helm
		// --create-namespace); kustomize creates it.
		compareSets(t, kust, render(t, ""), "Namespace")
	})
	t.Run("prometheus", func(t *testing.T) {
		kust := kustomize(t, "config/prometheus")
		var helm []*unstructured.Unstructured
		for _, o := range render(t, "serviceMonitor: {enabled: true}\nprometheusRule: {enabled: true}\ndashboard: {enabled: true}\n") {
			switch o.GetKind() {
			case "ServiceMonitor", "PrometheusRule", "ConfigMap":
				helm = append(helm, o)
			}
		}
		if len(helm) != 3 {
			t.Fatalf("the chart rendered %d monitoring objects, want 3", len(helm))
		}
		compareSets(t, kust, helm)
		cm := one(t, kust, "ConfigMap", "clr-operator-dashboards")
		if cm.GetLabels()["grafana_dashboard"] != "1" {
			t.Errorf("kustomize dashboard ConfigMap labels %v", cm.GetLabels())
		}
	})
	t.Run("secure-metrics", func(t *testing.T) {
		// The ready-made overlay: config/default with the component.
		kust := kustomize(t, "config/secure-metrics")
		compareSets(t, kust, render(t, "metrics: {secure: true}\n"), "Namespace")
	})
	t.Run("secure-metrics-with-prometheus", func(t *testing.T) {
		// The component over config/default and config/prometheus, from an
		// overlay of the user's own (kustomize takes relative paths only).
		dir := t.TempDir()
		config, err := filepath.Rel(dir, filepath.Join(repoRoot(t), "config"))
		if err != nil {
			t.Fatal(err)
		}
		overlay := fmt.Sprintf("resources: [%[1]s/default, %[1]s/prometheus]\ncomponents: [%[1]s/components/secure-metrics]\n", config)
		if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(overlay), 0o600); err != nil {
			t.Fatal(err)
		}
		kust := kustomize(t, dir)
		helm := render(t, "metrics: {secure: true}\nserviceMonitor: {enabled: true}\nprometheusRule: {enabled: true}\ndashboard: {enabled: true}\n")
		compareSets(t, kust, helm, "Namespace")
	})
}
