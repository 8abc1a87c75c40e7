package controllers

import (
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
)

// Watch predicates that keep reconciles to the ones that can change
// something. At a thousand tenants every needless reconcile is apiserver
// round trips (user Secret checks, status patches) on a busy apiserver.

// ownedChildChanged drops the creation events of owned children. The
// operator is what creates them, in the very reconcile that then reads the
// stored object from the apply response; a second reconcile per created
// child (six or more per provider) would find nothing to do. Updates (drift,
// a Deployment's rollout status) and deletions still wake the owner, and on
// start every owner is reconciled from its own informer anyway.
var ownedChildChanged = builder.WithPredicates(predicate.Funcs{
	CreateFunc: func(event.CreateEvent) bool { return false },
})

// issuerChangedForProviders passes the Issuer updates a provider reads: its
// spec (profile, signing settings, authority) and its current key. The
// status churn while cert-manager issues a key wakes no provider.
var issuerChangedForProviders = builder.WithPredicates(predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		before, ok1 := e.ObjectOld.(*clrv1.Issuer)
		after, ok2 := e.ObjectNew.(*clrv1.Issuer)
		if !ok1 || !ok2 {
			return true
		}
		return before.Generation != after.Generation ||
			!equality.Semantic.DeepEqual(before.Status.CurrentKey, after.Status.CurrentKey)
	},
})
