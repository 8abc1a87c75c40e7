package controllers

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	ctrl "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
)

// IssuerReconciler keeps an Issuer's signing key: a cert-manager
// Certificate (and, without an issuerRef, a self-signed cert-manager Issuer
// for it), and a keyring ConfigMap publishing the current public key and the
// retired ones still within retention.
type IssuerReconciler struct {
	Client ctrl.Client
	// APIReader reads a key Secret with its private key, once per new key:
	// the cache strips private keys (stripPrivateKeys).
	APIReader ctrl.Reader
	Scheme    *runtime.Scheme
	Recorder  events.EventRecorder
	// Now is the clock (time.Now when nil); keys are retired at Now.
	Now func() time.Time

	// ownerApplied remembers, by key Secret UID, the resourceVersion of the
	// cached Secret the owner reference was applied over: a reconcile that
	// runs before the cache shows the new version (cert-manager updates the
	// Certificate right after issuing) need not apply it again.
	ownerApplied sync.Map
}

// +kubebuilder:rbac:groups=clr.learnerrecords.io,resources=issuers,verbs=get;list;watch
// +kubebuilder:rbac:groups=clr.learnerrecords.io,resources=issuers/status,verbs=get;patch
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificates;issuers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=cert-manager.io,resources=clusterissuers,verbs=get
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func (r *IssuerReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// SetupWithManager registers the controller and its watches.
func (r *IssuerReconciler) SetupWithManager(mgr manager.Manager, opts controller.Options) error {
	return builder.ControllerManagedBy(mgr).
		Named("issuer").
		WithOptions(opts).
		For(&clrv1.Issuer{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&cmapi.Certificate{}, ownedChildChanged).
		Owns(&cmapi.Issuer{}, ownedChildChanged).
		Owns(&corev1.ConfigMap{}, ownedChildChanged).
		// cert-manager writes the key Secret; it carries our label (through
		// the Certificate's secretTemplate) naming the Issuer.
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(issuerFromLabel)).
		// The issuer id (did:web) comes from the provider that serves it.
		Watches(&clrv1.CLRProvider{}, handler.EnqueueRequestsFromMapFunc(issuersOfProvider),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Complete(r)
}

func issuerFromLabel(_ context.Context, obj ctrl.Object) []reconcile.Request {
	name := obj.GetLabels()[LabelIssuer]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}}}
}

func issuersOfProvider(_ context.Context, obj ctrl.Object) []reconcile.Request {
	p, ok := obj.(*clrv1.CLRProvider)
	if !ok {
		return nil
	}
	out := make([]reconcile.Request, 0, len(p.Spec.IssuerRefs))
	for _, ref := range p.Spec.IssuerRefs {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: p.Namespace, Name: ref.Name}})
	}
	return out
}

// Reconcile brings one Issuer's key material and status up to date.
func (r *IssuerReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	issuer := &clrv1.Issuer{}
	if err := r.Client.Get(ctx, req.NamespacedName, issuer); err != nil {
		return reconcile.Result{}, ctrl.IgnoreNotFound(err)
	}
	if !issuer.DeletionTimestamp.IsZero() {
		// Children are owned by the Issuer: the garbage collector removes them.
		return reconcile.Result{}, nil
	}
	before := issuer.DeepCopy()
	o, requeueAfter, err := r.reconcile(ctx, issuer)
	if err != nil {
		o = outcome{reason: clrv1.ReasonReconcileFailed, message: err.Error()}
		setCondition(issuer, issuer.Generation, clrv1.ConditionKeyReady, metav1.ConditionFalse, clrv1.ReasonReconcileFailed, err.Error())
	}
	summarize(issuer, issuer.Generation, o)
	issuer.Status.ObservedGeneration = issuer.Generation
	if perr := r.patchStatus(ctx, before, issuer); perr != nil {
		return reconcile.Result{}, perr
	}
	r.emitTransitionEvents(before, issuer)
	if err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{RequeueAfter: requeueAfter}, nil
}

func (r *IssuerReconciler) patchStatus(ctx context.Context, before, after *clrv1.Issuer) error {
	if equality.Semantic.DeepEqual(before.Status, after.Status) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, after, ctrl.MergeFrom(before)); err != nil {
		return fmt.Errorf("patching status of Issuer %s/%s: %w", after.Namespace, after.Name, err)
	}
	return nil
}

func (r *IssuerReconciler) emitTransitionEvents(before, after *clrv1.Issuer) {
	if r.Recorder == nil {
		return
	}
	if changed, typ, ready := readyTransition(before.Status.Conditions, after.Status.Conditions); changed {
		r.Recorder.Eventf(after, nil, typ, ready.Reason, "Reconcile", "%s", ready.Message)
	}
	b, a := before.Status.CurrentKey, after.Status.CurrentKey
	if b != nil && a != nil && b.KID != a.KID {
		// kids are public key thumbprints: safe to show.
		r.Recorder.Eventf(after, nil, corev1.EventTypeNormal, clrv1.ReasonKeyRotated, "RotateKey",
			"signing key %s replaced %s, which stays published for %s", a.KID, b.KID,
			durationOr(after.Spec.Signing.RetiredKeyRetention, defaultKeyRetention))
	}
}

// reconcile applies the children and derives the status; it returns the
// summary outcome and when to come back (the expiry of a retired key).
func (r *IssuerReconciler) reconcile(ctx context.Context, issuer *clrv1.Issuer) (outcome, time.Duration, error) {
	logger := log.FromContext(ctx)
	issuer.Status.CertificateName = signingKeyCertificateName(issuer.Name)
	issuer.Status.KeyringConfigMap = keyringConfigMapName(issuer.Name)

	if issuer.Spec.Signing.IssuerRef == nil {
		if err := r.applyOwned(ctx, issuer, buildSelfSignedIssuer(issuer)); err != nil {
			return outcome{}, 0, err
		}
	}
	cert, err := buildCertificate(issuer)
	if err != nil {
		setCondition(issuer, issuer.Generation, clrv1.ConditionKeyReady, metav1.ConditionFalse, clrv1.ReasonInvalidSpec, err.Error())
		return outcome{reason: clrv1.ReasonInvalidSpec, message: err.Error(), stalled: true}, 0, nil
	}
	if err := r.applyOwned(ctx, issuer, cert); err != nil {
		return outcome{}, 0, err
	}

	if err := r.setIssuerID(ctx, issuer); err != nil {
		return outcome{}, 0, err
	}

	current := &cmapi.Certificate{}
	if err := r.Client.Get(ctx, ctrl.ObjectKeyFromObject(cert), current); err != nil && !apierrors.IsNotFound(err) {
		return outcome{}, 0, fmt.Errorf("reading Certificate %s: %w", cert.Name, err)
	}
	certReady, _, _ := certificateReady(current)

	secret := &corev1.Secret{}
	secretErr := r.Client.Get(ctx, types.NamespacedName{Namespace: issuer.Namespace, Name: signingKeySecretName(issuer.Name)}, secret)
	if secretErr != nil && !apierrors.IsNotFound(secretErr) {
		return outcome{}, 0, fmt.Errorf("reading Secret %s: %w", signingKeySecretName(issuer.Name), secretErr)
	}
	if apierrors.IsNotFound(secretErr) {
		if certReady {
			reason, msg := clrv1.ReasonSecretMissing, fmt.Sprintf("Certificate %s is Ready but its Secret %s does not exist", cert.Name, signingKeySecretName(issuer.Name))
			setCondition(issuer, issuer.Generation, clrv1.ConditionKeyReady, metav1.ConditionFalse, reason, msg)
			return outcome{reason: reason, message: msg}, 0, nil
		}
		msg, requeue, err := r.waitingMessage(ctx, issuer, current)
		if err != nil {
			return outcome{}, 0, err
		}
		setCondition(issuer, issuer.Generation, clrv1.ConditionKeyReady, metav1.ConditionFalse, clrv1.ReasonCertificateNotReady, msg)
		return outcome{reason: clrv1.ReasonCertificateNotReady, message: msg}, requeue, nil
	}

	if err := r.ownKeySecret(ctx, issuer, secret); err != nil {
		return outcome{}, 0, err
	}

	want := effectiveAlgorithm(issuer.Spec.Signing)
	key, err := publishedKeyFromSecret(secret, want)
	if cur := issuer.Status.CurrentKey; err == nil && (cur == nil || cur.KID != key.KID) {
		// A key not published yet: check once that the private key is the
		// certificate's, reading it from the apiserver (the cache holds no
		// private keys). Published kids were checked when they were new.
		key, err = r.checkNewKey(ctx, secret, want)
		if _, isKeyErr := asKeyError(err); err != nil && !isKeyErr {
			return outcome{}, 0, err // the apiserver, not the key: retry
		}
	}
	if err != nil {
		ke, _ := asKeyError(err)
		reason := clrv1.ReasonUnsupportedKey
		if ke != nil {
			reason = ke.reason
		}
		// Right after an algorithm change the Secret still holds the old
		// key while cert-manager issues the new one: that is progress, not
		// a fault. Only a Ready Certificate with a wrong key is stalled.
		stalled := certReady && reason == clrv1.ReasonUnsupportedKey
		if !certReady {
			reason = clrv1.ReasonCertificateNotReady
		}
		setCondition(issuer, issuer.Generation, clrv1.ConditionKeyReady, metav1.ConditionFalse, reason, err.Error())
		return outcome{reason: reason, message: err.Error(), stalled: stalled}, 0, nil
	}

	// Keyring: current key first, retired keys within retention after it.
	cm := &corev1.ConfigMap{}
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: issuer.Namespace, Name: keyringConfigMapName(issuer.Name)}, cm); err != nil {
		if !apierrors.IsNotFound(err) {
			return outcome{}, 0, fmt.Errorf("reading keyring ConfigMap: %w", err)
		}
		cm = nil
	}
	prev, err := parseKeyring(cm)
	if err != nil {
		// A corrupt keyring loses the retired keys; say so loudly and
		// rebuild it from the current key rather than stop publishing.
		logger.Error(err, "keyring unreadable; rebuilding it from the current key")
		prev = nil
	}
	retention := durationOr(issuer.Spec.Signing.RetiredKeyRetention, defaultKeyRetention)
	kr, nextExpiry := nextKeyring(issuer.Name, prev, key, retention, r.now())
	desired, err := buildKeyringConfigMap(issuer, kr)
	if err != nil {
		return outcome{}, 0, err
	}
	if cm == nil || !equality.Semantic.DeepEqual(cm.Data, desired.Data) || !hasOwner(cm, issuer) || !labelsContain(cm.Labels, desired.Labels) {
		if err := r.applyOwned(ctx, issuer, desired); err != nil {
			return outcome{}, 0, err
		}
	}

	issuer.Status.CurrentKey = ptrTo(issuerKeyStatus(kr.Keys[0], secret.Name))
	issuer.Status.RetiredKeys = nil
	for _, k := range kr.Keys[1:] {
		issuer.Status.RetiredKeys = append(issuer.Status.RetiredKeys, issuerKeyStatus(k, ""))
	}

	var requeue time.Duration
	if !nextExpiry.IsZero() {
		requeue = max(nextExpiry.Sub(r.now()), time.Second)
	}
	if !certReady {
		// The key in the Secret is published (it is what clr-server signs
		// with), but the Certificate is being (re)issued.
		waiting, after, err := r.waitingMessage(ctx, issuer, current)
		if err != nil {
			return outcome{}, 0, err
		}
		if after > 0 && (requeue == 0 || after < requeue) {
			requeue = after
		}
		msg := fmt.Sprintf("key %s published; %s", key.KID, waiting)
		setCondition(issuer, issuer.Generation, clrv1.ConditionKeyReady, metav1.ConditionFalse, clrv1.ReasonCertificateNotReady, msg)
		return outcome{reason: clrv1.ReasonCertificateNotReady, message: msg}, requeue, nil
	}
	msg := fmt.Sprintf("signing key %s (%s) valid until %s; %d retired key(s) published", key.KID, key.Algorithm, key.NotAfter.Format(time.RFC3339), len(kr.Keys)-1)
	setCondition(issuer, issuer.Generation, clrv1.ConditionKeyReady, metav1.ConditionTrue, clrv1.ReasonSucceeded, msg)
	return outcome{ready: true, reason: clrv1.ReasonSucceeded, message: msg}, requeue, nil
}

// setIssuerID derives the issuer id from the CLRProvider serving the Issuer
// (the oldest, when several do: its id must not flip-flop).
func (r *IssuerReconciler) setIssuerID(ctx context.Context, issuer *clrv1.Issuer) error {
	var providers clrv1.CLRProviderList
	if err := r.Client.List(ctx, &providers, ctrl.InNamespace(issuer.Namespace), ctrl.MatchingFields{IndexProviderIssuer: issuer.Name}); err != nil {
		return fmt.Errorf("listing CLRProviders of Issuer %s: %w", issuer.Name, err)
	}
	items := providers.Items
	sort.Slice(items, func(i, j int) bool {
		if !items[i].CreationTimestamp.Equal(&items[j].CreationTimestamp) {
			return items[i].CreationTimestamp.Before(&items[j].CreationTimestamp)
		}
		return items[i].Name < items[j].Name
	})
	issuer.Status.IssuerID = ""
	if len(items) > 0 {
		issuer.Status.IssuerID = didWeb(items[0].Spec.Hostname, items[0].Spec.PathPrefix, issuer.Name)
	}
	return nil
}

// checkIssuerRef tells, for a Certificate that cert-manager has been
// issuing for issuerRefGrace, what is wrong with the cert-manager Issuer or
// ClusterIssuer ref it waits on (issuerRefProblem); before that it returns
// when to look (the issuance may well finish first). The issuer is read
// from the apiserver: the cache holds only the operator's own cert-manager
// Issuers. External issuers (another API group) are not checked, nor is a
// ClusterIssuer the operator may not read: it then says nothing.
func checkIssuerRef(ctx context.Context, reader ctrl.Reader, namespace string, cert *cmapi.Certificate, ref cmmeta.IssuerReference, now time.Time) (problem string, after time.Duration, err error) {
	var issuer ctrl.Object
	var status *cmapi.IssuerStatus
	key := types.NamespacedName{Namespace: namespace, Name: ref.Name}
	switch {
	case ref.Group != "cert-manager.io":
		return "", 0, nil
	case ref.Kind == cmapi.IssuerKind:
		is := &cmapi.Issuer{}
		issuer, status = is, &is.Status
	case ref.Kind == cmapi.ClusterIssuerKind:
		is := &cmapi.ClusterIssuer{}
		issuer, status, key.Namespace = is, &is.Status, ""
	default:
		return "", 0, nil
	}
	issuing, ok := issuingFor(cert, now)
	if !ok {
		return "", 0, nil
	}
	if issuing < issuerRefGrace {
		return "", issuerRefGrace - issuing, nil
	}
	if err := reader.Get(ctx, key, issuer); err != nil {
		switch {
		case apierrors.IsNotFound(err):
			status = nil
		case apierrors.IsForbidden(err):
			return "", 0, nil
		default:
			return "", 0, fmt.Errorf("reading cert-manager %s %s: %w", ref.Kind, ref.Name, err)
		}
	}
	return issuerRefProblem(ref, namespace, status), 0, nil
}

// waitingForCertificate is the status message of an owner whose
// Certificate name (current: as cached, empty when not yet created)
// cert-manager has not issued: certificateWaiting's line and, when ref is
// set and cert-manager reported nothing of its own, what checkIssuerRef
// finds wrong with that issuer, naming the field that holds ref. It also
// returns when to look again.
func waitingForCertificate(ctx context.Context, reader ctrl.Reader, namespace, name string, current *cmapi.Certificate, ref *cmmeta.IssuerReference, field string, now time.Time) (string, time.Duration, error) {
	_, reason, message := certificateReady(current)
	msg := certificateWaiting(name, reason, message)
	if ref == nil || reason != "" {
		return msg, 0, nil
	}
	problem, after, err := checkIssuerRef(ctx, reader, namespace, current, *ref, now)
	if err != nil || problem == "" {
		return msg, after, err
	}
	return fmt.Sprintf("%s: %s (%s)", msg, problem, field), 0, nil
}

// waitingMessage is KeyReady's message while cert-manager issues the key's
// Certificate. The issuer is checked only when spec.signing.issuerRef names
// one: the operator's own self-signed Issuer needs no second opinion, and
// under load (1,000 tenants at once) issuances outlast issuerRefGrace.
func (r *IssuerReconciler) waitingMessage(ctx context.Context, issuer *clrv1.Issuer, current *cmapi.Certificate) (string, time.Duration, error) {
	var ref *cmmeta.IssuerReference
	if issuer.Spec.Signing.IssuerRef != nil {
		userRef := certManagerIssuerRef(issuer)
		ref = &userRef
	}
	return waitingForCertificate(ctx, r.APIReader, issuer.Namespace, signingKeyCertificateName(issuer.Name), current, ref, "spec.signing.issuerRef", r.now())
}

// applyOwned sets the Issuer as controller owner of a child and applies it.
func (r *IssuerReconciler) applyOwned(ctx context.Context, owner *clrv1.Issuer, obj ctrl.Object) error {
	if err := controllerutil.SetControllerReference(owner, obj, r.Scheme); err != nil {
		return fmt.Errorf("owner reference on %s: %w", obj.GetName(), err)
	}
	return ensureApplied(ctx, r.Client, r.Scheme, obj)
}

// ownKeySecret makes the Issuer an owner of the key Secret cert-manager
// wrote (cert-manager does not own its Secrets by default), so that deleting
// the Issuer also deletes its private key instead of leaving it behind. The
// apply carries only the owner reference: cert-manager keeps the data.
func (r *IssuerReconciler) ownKeySecret(ctx context.Context, issuer *clrv1.Issuer, secret *corev1.Secret) error {
	for _, ref := range secret.OwnerReferences {
		if ref.UID == issuer.UID {
			r.ownerApplied.Delete(secret.UID)
			return nil
		}
	}
	if rv, ok := r.ownerApplied.Load(secret.UID); ok && rv == secret.ResourceVersion {
		return nil // applied over this very version; the cache lags
	}
	gvk, err := apiutil.GVKForObject(issuer, r.Scheme)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("Secret")
	u.SetNamespace(secret.Namespace)
	u.SetName(secret.Name)
	u.SetOwnerReferences([]metav1.OwnerReference{{
		APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Name: issuer.Name, UID: issuer.UID,
		BlockOwnerDeletion: ptrTo(true),
	}})
	if err := r.Client.Apply(ctx, ctrl.ApplyConfigurationFromUnstructured(u), ctrl.FieldOwner(FieldManager)); err != nil {
		return fmt.Errorf("adding the Issuer as owner of Secret %s: %w", secret.Name, err)
	}
	r.ownerApplied.Store(secret.UID, secret.ResourceVersion)
	return nil
}

// checkNewKey reads a key Secret from the apiserver, private key included,
// verifies the pair and derives the key to publish from what it read.
func (r *IssuerReconciler) checkNewKey(ctx context.Context, cached *corev1.Secret, want clrv1.KeyAlgorithm) (serverconfig.PublishedKey, error) {
	live := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, ctrl.ObjectKeyFromObject(cached), live); err != nil {
		if apierrors.IsNotFound(err) {
			return serverconfig.PublishedKey{}, &keyError{clrv1.ReasonSecretMissing, fmt.Errorf("Secret %s was deleted", cached.Name)}
		}
		return serverconfig.PublishedKey{}, fmt.Errorf("reading Secret %s: %w", cached.Name, err)
	}
	if err := checkKeyPair(live); err != nil {
		return serverconfig.PublishedKey{}, err
	}
	return publishedKeyFromSecret(live, want)
}
