package controllers_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/controllers"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
)

// transformativeLearning is a three-level framework as a registrar would
// write it.
func transformativeLearning(ns, name string) *clrv1.Framework {
	return &clrv1.Framework{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clrv1.FrameworkSpec{
			Title:       "Transformative Learning Outcomes",
			Description: "Institution-wide learning outcomes assessed across curricular and co-curricular experiences.",
			Version:     "2025.1",
			Creator:     "Faculty Senate",
			Levels: []clrv1.FrameworkLevel{
				{ID: "exposure", Name: "Exposure"},
				{ID: "integration", Name: "Integration"},
				{ID: "transformation", Name: "Transformation"},
			},
			Competencies: []clrv1.Competency{
				{ID: "critical-thinking", HumanCode: "CT", Name: "Critical Thinking"},
				{ID: "ct-evidence", HumanCode: "CT.1", Name: "Evaluates evidence", Parent: "critical-thinking"},
				{ID: "written-communication", HumanCode: "WC", Name: "Written Communication"},
				{ID: "wc-audience", HumanCode: "WC.1", Name: "Writes for an audience", Parent: "written-communication",
					Alignments: []clrv1.Alignment{{TargetURL: "https://example.org/case/items/wc-1", TargetName: "Audience", TargetType: "CFItem"}}},
			},
		},
	}
}

func waitFrameworkCondition(t *testing.T, ns, name string, ready bool) *clrv1.Framework {
	t.Helper()
	fw := &clrv1.Framework{}
	eventually(t, 30*time.Second, "Framework "+name+" Ready condition", func() (bool, string) {
		if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, fw); err != nil {
			return false, err.Error()
		}
		c := clrv1.FindCondition(fw, clrv1.ConditionReady)
		if c == nil || c.ObservedGeneration != fw.Generation {
			return false, "no Ready condition for the current generation"
		}
		return (c.Status == metav1.ConditionTrue) == ready, c.Reason + ": " + c.Message
	})
	return fw
}

func TestFrameworkRendersDocumentAndDigest(t *testing.T) {
	needEnv(t)
	ns := newNamespace(t, nil)
	if err := k8s.Create(ctx, transformativeLearning(ns, "tlo")); err != nil {
		t.Fatal(err)
	}
	fw := waitFrameworkCondition(t, ns, "tlo", true)
	if fw.Status.CompetencyCount != 4 || fw.Status.LevelCount != 3 {
		t.Errorf("status counts = %d competencies, %d levels; want 4, 3", fw.Status.CompetencyCount, fw.Status.LevelCount)
	}
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(fw.Status.Digest) {
		t.Fatalf("status.digest = %q", fw.Status.Digest)
	}
	checkKstatus(t, fw, fw.Generation, fw.Status.ObservedGeneration, "Current")

	cm := &corev1.ConfigMap{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "tlo-framework"}, cm); err != nil {
		t.Fatal(err)
	}
	var doc serverconfig.Framework
	if err := json.Unmarshal([]byte(cm.Data[controllers.FrameworkKey]), &doc); err != nil {
		t.Fatalf("framework JSON: %v", err)
	}
	if doc.Digest != fw.Status.Digest || doc.Title != fw.Spec.Title || len(doc.Levels) != 3 || doc.Levels[0].ID != "exposure" ||
		len(doc.Competencies) != 4 || doc.Competencies[1].Parent != "critical-thinking" || doc.Competencies[0].Type != "Competency" {
		t.Errorf("rendered framework does not match the spec: %+v", doc)
	}
	if len(doc.Competencies[3].Alignments) != 1 || doc.Competencies[3].Alignments[0].TargetType != "CFItem" {
		t.Errorf("alignment not rendered: %+v", doc.Competencies[3])
	}

	// Content change: new digest. Annotation-only change: same digest.
	first := fw.Status.Digest
	fw.Spec.Levels[2].Description = "Applies the outcome in new, complex settings."
	if err := k8s.Update(ctx, fw); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "a new digest", func() (bool, string) {
		_ = k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "tlo"}, fw)
		return fw.Status.ObservedGeneration == fw.Generation && fw.Status.Digest != first, fw.Status.Digest
	})
	second := fw.Status.Digest
	fw.Annotations = map[string]string{"note": "reviewed"}
	if err := k8s.Update(ctx, fw); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	_ = k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "tlo"}, fw)
	if fw.Status.Digest != second {
		t.Errorf("an annotation change altered the digest: %s -> %s", second, fw.Status.Digest)
	}
}

func TestFrameworkValidationErrors(t *testing.T) {
	needEnv(t)
	ns := newNamespace(t, nil)
	cases := []struct {
		name   string
		mutate func(*clrv1.Framework)
		want   []string
	}{
		{"cycle", func(f *clrv1.Framework) {
			// Every parent exists and none is its own: only a walk finds it.
			f.Spec.Competencies = []clrv1.Competency{
				{ID: "a", Name: "A", Parent: "c"}, {ID: "b", Name: "B", Parent: "a"}, {ID: "c", Name: "C", Parent: "b"}, {ID: "root", Name: "Root"},
			}
		}, []string{"cycle", "a", "b", "c"}},
		{"level-id-clash", func(f *clrv1.Framework) {
			f.Spec.Competencies = append(f.Spec.Competencies, clrv1.Competency{ID: "integration", Name: "Integration as a competency"})
		}, []string{"integration", "spec.levels"}},
		{"duplicate-human-code", func(f *clrv1.Framework) {
			f.Spec.Competencies[3].HumanCode = "CT.1"
		}, []string{"humanCode", "CT.1"}},
		{"no-levels", func(f *clrv1.Framework) {
			f.Spec.Levels = nil
		}, []string{"levels", "at least one level"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fw := transformativeLearning(ns, tc.name)
			tc.mutate(fw)
			if err := k8s.Create(ctx, fw); err != nil {
				t.Fatalf("the schema rejected what only the controller can check: %v", err)
			}
			got := waitFrameworkCondition(t, ns, tc.name, false)
			c := clrv1.FindCondition(got, clrv1.ConditionReady)
			if c.Reason != clrv1.ReasonInvalidSpec {
				t.Errorf("reason = %s, want %s", c.Reason, clrv1.ReasonInvalidSpec)
			}
			for _, w := range tc.want {
				if !strings.Contains(c.Message, w) {
					t.Errorf("message %q does not mention %q", c.Message, w)
				}
			}
			checkKstatus(t, got, got.Generation, got.Status.ObservedGeneration, "Failed")
			cm := &corev1.ConfigMap{}
			if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: tc.name + "-framework"}, cm); err == nil {
				t.Errorf("an invalid framework was published as ConfigMap %s", cm.Name)
			}
		})
	}
}
