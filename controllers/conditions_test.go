package controllers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
)

func TestReadyTransition(t *testing.T) {
	cond := func(typ string, status metav1.ConditionStatus, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason}
	}
	progressing := []metav1.Condition{
		cond(clrv1.ConditionReady, metav1.ConditionFalse, clrv1.ReasonIssuerNotReady),
		cond(clrv1.ConditionReconciling, metav1.ConditionTrue, clrv1.ReasonIssuerNotReady),
	}
	stalled := []metav1.Condition{
		cond(clrv1.ConditionReady, metav1.ConditionFalse, clrv1.ReasonSecretMissing),
		cond(clrv1.ConditionStalled, metav1.ConditionTrue, clrv1.ReasonSecretMissing),
	}
	failed := []metav1.Condition{
		cond(clrv1.ConditionReady, metav1.ConditionFalse, clrv1.ReasonReconcileFailed),
		cond(clrv1.ConditionReconciling, metav1.ConditionTrue, clrv1.ReasonReconcileFailed),
	}
	ready := []metav1.Condition{cond(clrv1.ConditionReady, metav1.ConditionTrue, clrv1.ReasonSucceeded)}
	otherProgress := []metav1.Condition{
		cond(clrv1.ConditionReady, metav1.ConditionFalse, clrv1.ReasonDeploymentNotAvailable),
		cond(clrv1.ConditionReconciling, metav1.ConditionTrue, clrv1.ReasonDeploymentNotAvailable),
	}
	for _, tc := range []struct {
		name          string
		before, after []metav1.Condition
		want          bool
	}{
		{"new object, progressing", nil, progressing, false},
		{"new object, stalled", nil, stalled, true},
		{"new object, failed", nil, failed, true},
		{"new object, ready", nil, ready, true},
		{"progressing to ready", progressing, ready, true},
		{"progressing, other reason", progressing, otherProgress, true},
		{"ready to progressing", ready, otherProgress, true},
		{"unchanged", progressing, progressing, false},
		{"no Ready condition yet", nil, nil, false},
	} {
		if got, _ := readyTransition(tc.before, tc.after); got != tc.want {
			t.Errorf("%s: changed = %v, want %v", tc.name, got, tc.want)
		}
	}
}
