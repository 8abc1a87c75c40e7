package controllers

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
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
	paused := []metav1.Condition{cond(clrv1.ConditionReady, metav1.ConditionFalse, clrv1.ReasonPaused)}
	const none, normal, warning = "", corev1.EventTypeNormal, corev1.EventTypeWarning
	for _, tc := range []struct {
		name          string
		before, after []metav1.Condition
		want          string // the event type; none: no event
	}{
		{"new object, progressing", nil, progressing, none},
		{"new object, stalled", nil, stalled, warning},
		{"new object, failed", nil, failed, warning},
		{"new object, ready", nil, ready, normal},
		{"progressing to ready", progressing, ready, normal},
		{"progressing, other reason", progressing, otherProgress, none},
		{"ready to progressing", ready, otherProgress, warning},
		{"ready to stalled", ready, stalled, warning},
		{"progressing to stalled", progressing, stalled, warning},
		{"progressing to failed", progressing, failed, warning},
		{"stalled to progressing", stalled, progressing, normal},
		{"failed to progressing", failed, otherProgress, normal},
		{"ready to paused", ready, paused, normal},
		{"unchanged", progressing, progressing, none},
		{"unchanged stall", stalled, stalled, none},
		{"no Ready condition yet", nil, nil, none},
	} {
		changed, typ, _ := readyTransition(tc.before, tc.after)
		if changed != (tc.want != none) || typ != tc.want {
			t.Errorf("%s: changed = %v, type %q; want type %q", tc.name, changed, typ, tc.want)
		}
	}
}
