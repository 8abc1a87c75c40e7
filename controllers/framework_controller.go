package controllers

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
)

// FrameworkReconciler validates a Framework beyond its schema, computes its
// digest and renders the document clr-server publishes into a ConfigMap.
// Sharing with other namespaces is enforced where a Framework is used: by
// the CLRProvider controller (FrameworkNotShared).
type FrameworkReconciler struct {
	Client   client.Client
	Scheme   *runtime.Scheme
	Recorder events.EventRecorder
}

// +kubebuilder:rbac:groups=clr.learnerrecords.io,resources=frameworks,verbs=get;list;watch
// +kubebuilder:rbac:groups=clr.learnerrecords.io,resources=frameworks/status,verbs=get;patch

// SetupWithManager registers the controller and its watches.
func (r *FrameworkReconciler) SetupWithManager(mgr manager.Manager, opts controller.Options) error {
	return builder.ControllerManagedBy(mgr).
		Named("framework").
		WithOptions(opts).
		For(&clrv1.Framework{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&corev1.ConfigMap{}).
		Complete(r)
}

// Reconcile validates and renders one Framework.
func (r *FrameworkReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	fw := &clrv1.Framework{}
	if err := r.Client.Get(ctx, req.NamespacedName, fw); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !fw.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	before := fw.DeepCopy()
	o, err := r.reconcile(ctx, fw)
	if err != nil {
		o = outcome{reason: clrv1.ReasonReconcileFailed, message: err.Error()}
	}
	summarize(fw, fw.Generation, o)
	fw.Status.ObservedGeneration = fw.Generation
	if !equality.Semantic.DeepEqual(before.Status, fw.Status) {
		if perr := r.Client.Status().Patch(ctx, fw, client.MergeFrom(before)); perr != nil {
			return reconcile.Result{}, fmt.Errorf("patching status of Framework %s/%s: %w", fw.Namespace, fw.Name, perr)
		}
	}
	if r.Recorder != nil {
		if changed, typ, ready := readyTransition(before.Status.Conditions, fw.Status.Conditions); changed {
			r.Recorder.Eventf(fw, nil, typ, ready.Reason, "Reconcile", "%s", ready.Message)
		}
	}
	return reconcile.Result{}, err
}

func (r *FrameworkReconciler) reconcile(ctx context.Context, fw *clrv1.Framework) (outcome, error) {
	fw.Status.CompetencyCount = int32(len(fw.Spec.Competencies))
	fw.Status.LevelCount = int32(len(fw.Spec.Levels))
	if problems := validateFramework(&fw.Spec); len(problems) > 0 {
		// The previous rendering (if any) stays published: providers keep
		// the last valid framework rather than losing it.
		return outcome{reason: clrv1.ReasonInvalidSpec, message: strings.Join(problems, "; "), stalled: true}, nil
	}
	rendered, err := renderFramework(fw)
	if err != nil {
		return outcome{}, err
	}
	// clr-server refuses a framework document its own checks reject (for
	// example one without levels); report it here rather than let a tenant
	// fail at start.
	if err := rendered.Validate(); err != nil {
		return outcome{reason: clrv1.ReasonInvalidSpec, message: "clr-server would refuse this framework: " + err.Error(), stalled: true}, nil
	}
	cm, err := buildFrameworkConfigMap(fw, rendered)
	if err != nil {
		return outcome{}, err
	}
	current := &corev1.ConfigMap{}
	err = r.Client.Get(ctx, client.ObjectKeyFromObject(cm), current)
	if err != nil && !apierrors.IsNotFound(err) {
		return outcome{}, fmt.Errorf("reading ConfigMap %s: %w", cm.Name, err)
	}
	if apierrors.IsNotFound(err) || !equality.Semantic.DeepEqual(current.Data, cm.Data) || !hasOwner(current, fw) || !labelsContain(current.Labels, cm.Labels) {
		if err := controllerutil.SetControllerReference(fw, cm, r.Scheme); err != nil {
			return outcome{}, fmt.Errorf("owner reference on %s: %w", cm.Name, err)
		}
		if err := ensureApplied(ctx, r.Client, r.Scheme, cm); err != nil {
			return outcome{}, err
		}
	}
	fw.Status.Digest = rendered.Digest
	return outcome{ready: true, reason: clrv1.ReasonSucceeded,
		message: fmt.Sprintf("%d competencies, %d levels, published as ConfigMap %s", len(rendered.Competencies), len(rendered.Levels), cm.Name)}, nil
}
