package controllers

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
)

// outcome is what one reconcile concluded about an object: the Ready summary
// and whether the controller is still working (Reconciling) or cannot go on
// without a human (Stalled). It is turned into kstatus-compatible conditions
// by summarize.
type outcome struct {
	ready   bool
	reason  string
	message string
	// stalled: retrying will not help until a spec or a referenced object
	// changes (kstatus Stalled). Otherwise a not-ready outcome is progress
	// (kstatus Reconciling).
	stalled bool
}

// setCondition sets one condition for the object's current generation.
// meta.SetStatusCondition keeps lastTransitionTime when the status does not
// change, so an unchanged outcome leaves the status byte-for-byte equal and
// no write follows.
func setCondition(obj clrv1.ObjectWithConditions, generation int64, conditionType string, status metav1.ConditionStatus, reason, message string) {
	conds := obj.GetConditions()
	meta.SetStatusCondition(&conds, metav1.Condition{
		Type:               conditionType,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: generation,
	})
	obj.SetConditions(conds)
}

func removeCondition(obj clrv1.ObjectWithConditions, conditionType string) {
	conds := obj.GetConditions()
	meta.RemoveStatusCondition(&conds, conditionType)
	obj.SetConditions(conds)
}

// boolStatus converts a bool to a condition status.
func boolStatus(b bool) metav1.ConditionStatus {
	if b {
		return metav1.ConditionTrue
	}
	return metav1.ConditionFalse
}

// summarize writes Ready, Reconciling and Stalled from an outcome, following
// kstatus: Reconciling and Stalled are present only while True ("abnormal-true"
// polarity), Ready is always present.
func summarize(obj clrv1.ObjectWithConditions, generation int64, o outcome) {
	setCondition(obj, generation, clrv1.ConditionReady, boolStatus(o.ready), o.reason, o.message)
	switch {
	case o.ready:
		removeCondition(obj, clrv1.ConditionReconciling)
		removeCondition(obj, clrv1.ConditionStalled)
	case o.stalled:
		removeCondition(obj, clrv1.ConditionReconciling)
		setCondition(obj, generation, clrv1.ConditionStalled, metav1.ConditionTrue, o.reason, o.message)
	default:
		removeCondition(obj, clrv1.ConditionStalled)
		setCondition(obj, generation, clrv1.ConditionReconciling, metav1.ConditionTrue, o.reason, o.message)
	}
}

// readyTransition reports whether the Ready condition changed status or
// reason between two condition lists: events are emitted only then. An
// object's first Ready condition is news only when it is Ready, stalled or
// failed: "still progressing" right after creation is not (a thousand new
// tenants would otherwise post a thousand Warnings each for their Issuers
// and providers, which the apiserver stores and the operator caches).
func readyTransition(before, after []metav1.Condition) (changed bool, now *metav1.Condition) {
	b := meta.FindStatusCondition(before, clrv1.ConditionReady)
	a := meta.FindStatusCondition(after, clrv1.ConditionReady)
	if a == nil {
		return false, nil
	}
	if b == nil && a.Status != metav1.ConditionTrue && a.Reason != clrv1.ReasonReconcileFailed &&
		meta.IsStatusConditionTrue(after, clrv1.ConditionReconciling) {
		return false, a
	}
	if b == nil || b.Status != a.Status || b.Reason != a.Reason {
		return true, a
	}
	return false, a
}
