package controllers_test

import (
	"encoding/base64"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
)

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// kstatusOf computes an object's status with the rules of kstatus
// (sigs.k8s.io/cli-utils/pkg/kstatus/status, checkGenericProperties) for
// custom resources: InProgress while observedGeneration lags generation or
// Reconciling is True, Failed when Stalled is True, else Current. The rules
// are implemented here rather than imported to keep cli-utils and its
// kubectl dependencies out of go.mod.
func kstatusOf(generation, observed int64, conds []metav1.Condition) string {
	if observed != generation {
		return "InProgress"
	}
	for _, c := range conds {
		if c.Type == clrv1.ConditionReconciling && c.Status == metav1.ConditionTrue {
			return "InProgress"
		}
	}
	for _, c := range conds {
		if c.Type == clrv1.ConditionStalled && c.Status == metav1.ConditionTrue {
			return "Failed"
		}
	}
	return "Current"
}

// checkKstatus asserts the kstatus of an object and the conventions kstatus
// relies on: the summary conditions carry the current observedGeneration, and
// Reconciling and Stalled are never both True.
func checkKstatus(t *testing.T, obj clrv1.ObjectWithConditions, generation, observed int64, want string) {
	t.Helper()
	conds := obj.GetConditions()
	if got := kstatusOf(generation, observed, conds); got != want {
		t.Errorf("kstatus = %s, want %s (generation %d, observed %d, conditions %+v)", got, want, generation, observed, conds)
	}
	var reconciling, stalled bool
	for _, c := range conds {
		// The summary conditions describe the current generation; aspect
		// conditions may be older while paused (they were not re-evaluated).
		summary := c.Type == clrv1.ConditionReady || c.Type == clrv1.ConditionReconciling || c.Type == clrv1.ConditionStalled
		if summary && c.ObservedGeneration != generation {
			t.Errorf("condition %s has observedGeneration %d, want %d", c.Type, c.ObservedGeneration, generation)
		}
		if c.Reason == "" {
			t.Errorf("condition %s has no reason", c.Type)
		}
		reconciling = reconciling || (c.Type == clrv1.ConditionReconciling && c.Status == metav1.ConditionTrue)
		stalled = stalled || (c.Type == clrv1.ConditionStalled && c.Status == metav1.ConditionTrue)
	}
	if reconciling && stalled {
		t.Errorf("Reconciling and Stalled are both True: %+v", conds)
	}
	if clrv1.FindCondition(obj, clrv1.ConditionReady) == nil {
		t.Errorf("no Ready condition: %+v", conds)
	}
}

func TestKstatusRules(t *testing.T) {
	c := func(typ string, s metav1.ConditionStatus) metav1.Condition {
		return metav1.Condition{Type: typ, Status: s, Reason: "R"}
	}
	cases := []struct {
		gen, obs int64
		conds    []metav1.Condition
		want     string
	}{
		{2, 1, []metav1.Condition{c("Ready", "True")}, "InProgress"},
		{1, 1, []metav1.Condition{c("Ready", "False"), c("Reconciling", "True")}, "InProgress"},
		{1, 1, []metav1.Condition{c("Ready", "False"), c("Stalled", "True")}, "Failed"},
		{1, 1, []metav1.Condition{c("Ready", "True")}, "Current"},
	}
	for _, tc := range cases {
		if got := kstatusOf(tc.gen, tc.obs, tc.conds); got != tc.want {
			t.Errorf("kstatusOf(%d,%d,%v) = %s, want %s", tc.gen, tc.obs, tc.conds, got, tc.want)
		}
	}
}
