package controllers

import (
	corev1 "k8s.io/api/core/v1"
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

// readyTransition decides whether a change of the Ready condition between
// two condition lists is news worth an event, and of which type. Events
// are emitted only when Ready changes status or reason, and not for moves
// between progressing states (Ready False while Reconciling): a new
// tenant passing IssuerNotReady then DeploymentNotAvailable on its way to
// Ready is working as intended, and a thousand new tenants would otherwise
// post thousands of Warnings that the apiserver stores and the operator
// caches. A Warning is for a stall, a failure, or losing Ready; getting to
// Ready, recovering from a stall and pausing are Normal.
func readyTransition(before, after []metav1.Condition) (changed bool, eventType string, now *metav1.Condition) {
	b := meta.FindStatusCondition(before, clrv1.ConditionReady)
	a := meta.FindStatusCondition(after, clrv1.ConditionReady)
	if a == nil {
		return false, "", nil
	}
	if b != nil && b.Status == a.Status && b.Reason == a.Reason {
		return false, "", a
	}
	nowProgressing := progressing(a, after)
	if nowProgressing && (b == nil || (b.Status != metav1.ConditionTrue && progressing(b, before))) {
		return false, "", a
	}
	switch {
	case a.Status == metav1.ConditionTrue, a.Reason == clrv1.ReasonPaused:
		return true, corev1.EventTypeNormal, a
	case nowProgressing && b != nil && b.Status != metav1.ConditionTrue:
		// Back on track after a stall or a failure.
		return true, corev1.EventTypeNormal, a
	default:
		return true, corev1.EventTypeWarning, a
	}
}

// progressing: Ready is False (not for a failure) and Reconciling is True
// in the same condition list.
func progressing(ready *metav1.Condition, conditions []metav1.Condition) bool {
	return ready.Status != metav1.ConditionTrue && ready.Reason != clrv1.ReasonReconcileFailed &&
		meta.IsStatusConditionTrue(conditions, clrv1.ConditionReconciling)
}
