package controllers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
)

// CLRProviderReconciler runs one institution's clr-server: configuration,
// storage, workload, network, availability and monitoring, each a
// sub-reconciler owning its condition, then a status summary patched once.
type CLRProviderReconciler struct {
	Client client.Client
	// APIReader reads user Secrets (PostgreSQL, OIDC, TLS), which the
	// manager's cache does not hold (it caches only the operator's own
	// labelled Secrets), and double-checks before generating secrets.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  events.EventRecorder
	Options   BuildOptions
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Jitter returns a value in [0,1) for retry jitter (rand when nil).
	Jitter func() float64

	// DiscoveryRecheck is how long the absence of an optional kind (the
	// ServiceMonitor) is believed before asking discovery again (5 minutes
	// when zero).
	DiscoveryRecheck time.Duration

	// Scope is where the operator works: a Framework outside it cannot be
	// read (the cache does not hold it) and is reported as such.
	Scope WatchScope

	smMu           sync.Mutex
	smMissingUntil time.Time
}

// +kubebuilder:rbac:groups=clr.learnerrecords.io,resources=clrproviders,verbs=get;list;watch
// +kubebuilder:rbac:groups=clr.learnerrecords.io,resources=clrproviders/status,verbs=get;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=configmaps;persistentvolumeclaims;serviceaccounts;services,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses;networkpolicies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=servicemonitors,verbs=get;list;watch;create;patch;delete

// SetupWithManager registers the controller and its watches. Issuers,
// Frameworks and keyrings are mapped to providers through field indexes, so
// that one change wakes only the providers that use it.
func (r *CLRProviderReconciler) SetupWithManager(mgr manager.Manager, opts controller.Options) error {
	c := mgr.GetClient()
	return builder.ControllerManagedBy(mgr).
		Named("clrprovider").
		WithOptions(opts).
		For(&clrv1.CLRProvider{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&corev1.ConfigMap{}, ownedChildChanged).
		Owns(&corev1.Secret{}, ownedChildChanged).
		Owns(&corev1.PersistentVolumeClaim{}, ownedChildChanged).
		Owns(&corev1.ServiceAccount{}, ownedChildChanged).
		Owns(&appsv1.Deployment{}, ownedChildChanged).
		Owns(&corev1.Service{}, ownedChildChanged).
		Owns(&networkingv1.Ingress{}, ownedChildChanged).
		Owns(&networkingv1.NetworkPolicy{}, ownedChildChanged).
		Owns(&policyv1.PodDisruptionBudget{}, ownedChildChanged).
		Owns(&cmapi.Certificate{}, ownedChildChanged).
		Watches(&clrv1.Issuer{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			return providersBy(ctx, c, o.GetNamespace(), IndexProviderIssuer, o.GetName())
		}), issuerChangedForProviders).
		// A rotation rewrites the Issuer's keyring ConfigMap before its
		// status; watching the keyring too means the provider never copies
		// a stale one.
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			issuer := o.GetLabels()[LabelIssuer]
			if issuer == "" || o.GetLabels()[LabelComponent] != ComponentKeyring {
				return nil
			}
			return providersBy(ctx, c, o.GetNamespace(), IndexProviderIssuer, issuer)
		})).
		Watches(&clrv1.Framework{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			return providersBy(ctx, c, "", IndexProviderFramework, o.GetNamespace()+"/"+o.GetName())
		})).
		// Namespace labels decide Framework sharing.
		WatchesMetadata(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			var list clrv1.CLRProviderList
			if err := c.List(ctx, &list, client.InNamespace(o.GetName())); err != nil {
				return nil
			}
			var out []reconcile.Request
			for i := range list.Items {
				for _, ref := range list.Items[i].Spec.FrameworkRefs {
					if ref.Namespace != "" && ref.Namespace != o.GetName() {
						out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
						break
					}
				}
			}
			return out
		}), builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Complete(r)
}

func (r *CLRProviderReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// providerState is what the sub-reconcilers learn and pass on.
type providerState struct {
	p          *clrv1.CLRProvider
	issuers    []resolvedIssuer
	frameworks []resolvedFramework
	configData map[string]string
	inputsHash string
	deployment *appsv1.Deployment
}

// stepResult is a sub-reconciler's verdict on its aspect.
type stepResult struct {
	ok      bool
	reason  string
	message string
	// stalled: a human must change something (kstatus Stalled).
	stalled bool
	// stop: the later steps must not run (their inputs are not there).
	stop bool
	// requeueAfter: come back then even without an event (for example to
	// look for a user Secret the cache does not watch).
	requeueAfter time.Duration
}

// subReconciler is one step of a provider's reconcile, owning at most one
// condition.
type subReconciler struct {
	name      string
	condition string
	run       func(ctx context.Context, st *providerState) (stepResult, error)
}

func (r *CLRProviderReconciler) steps() []subReconciler {
	return []subReconciler{
		{"references", clrv1.ConditionReferencesResolved, r.reconcileReferences},
		{"configuration", clrv1.ConditionConfigReady, r.reconcileConfiguration},
		{"storage", clrv1.ConditionStorageReady, r.reconcileStorage},
		{"workload", clrv1.ConditionWorkloadReady, r.reconcileWorkload},
		{"network", clrv1.ConditionNetworkReady, r.reconcileNetwork},
		{"availability", "", r.reconcileAvailability},
		{"monitoring", "", r.reconcileMonitoring},
	}
}

// Reconcile runs the sub-reconcilers and patches the status once.
func (r *CLRProviderReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	logger := log.FromContext(ctx)
	p := &clrv1.CLRProvider{}
	if err := r.Client.Get(ctx, req.NamespacedName, p); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !p.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil // children are owned: garbage collected
	}
	now := r.now()
	requested := p.Annotations[AnnotationReconcileRequestedAt]

	// Persisted backoff: after failures, wait until nextRetryTime unless
	// the spec changed or a reconcile was asked for, also across operator
	// restarts.
	if s := p.Status; s.Failures > 0 && s.NextRetryTime != nil && now.Before(s.NextRetryTime.Time) &&
		s.ObservedGeneration == p.Generation && s.LastHandledReconcileAt == requested {
		return reconcile.Result{RequeueAfter: s.NextRetryTime.Sub(now)}, nil
	}

	before := p.DeepCopy()
	st := &providerState{p: p}
	var result reconcile.Result
	if p.Spec.Paused {
		r.reconcilePaused(ctx, st)
	} else {
		var err error
		result, err = r.runSteps(ctx, st)
		if err != nil {
			p.Status.Failures++
			delay := retryDelay(p.Status.Failures, r.jitter())
			p.Status.NextRetryTime = &metav1.Time{Time: now.Add(delay).Truncate(time.Second)}
			result = reconcile.Result{RequeueAfter: delay}
			logger.Error(err, "reconcile failed; retrying with backoff", "failures", p.Status.Failures, "retryIn", delay.Round(time.Second))
		} else {
			p.Status.Failures = 0
			p.Status.NextRetryTime = nil
		}
	}
	p.Status.LastHandledReconcileAt = requested
	p.Status.ObservedGeneration = p.Generation
	if !equality.Semantic.DeepEqual(before.Status, p.Status) {
		if err := r.Client.Status().Patch(ctx, p, client.MergeFrom(before)); err != nil {
			if apierrors.IsNotFound(err) {
				return reconcile.Result{}, nil
			}
			return reconcile.Result{}, fmt.Errorf("patching status of CLRProvider %s/%s: %w", p.Namespace, p.Name, err)
		}
	}
	r.emitTransitionEvent(before, p)
	return result, nil
}

func (r *CLRProviderReconciler) jitter() float64 {
	if r.Jitter != nil {
		return r.Jitter()
	}
	return jitter()
}

// runSteps runs the sub-reconcilers in order; the first failing step's
// verdict becomes the Ready summary.
func (r *CLRProviderReconciler) runSteps(ctx context.Context, st *providerState) (reconcile.Result, error) {
	p := st.p
	var (
		blocker *stepResult
		runErr  error
		result  reconcile.Result
	)
	steps := r.steps()
	for i, s := range steps {
		res, err := s.run(ctx, st)
		if err != nil {
			runErr = fmt.Errorf("%s: %w", s.name, err)
			if s.condition != "" {
				setCondition(p, p.Generation, s.condition, metav1.ConditionFalse, clrv1.ReasonReconcileFailed, runErr.Error())
			}
			r.markSkipped(p, steps[i+1:], s.condition)
			break
		}
		if s.condition != "" {
			setCondition(p, p.Generation, s.condition, boolStatus(res.ok), res.reason, res.message)
		}
		if !res.ok && blocker == nil {
			blocker = &res
		}
		if res.requeueAfter > 0 && (result.RequeueAfter == 0 || res.requeueAfter < result.RequeueAfter) {
			result.RequeueAfter = res.requeueAfter
		}
		if res.stop {
			r.markSkipped(p, steps[i+1:], s.condition)
			break
		}
	}
	r.updateObservedStatus(st)
	switch {
	case runErr != nil:
		summarize(p, p.Generation, outcome{reason: clrv1.ReasonReconcileFailed, message: runErr.Error()})
	case blocker != nil:
		summarize(p, p.Generation, outcome{reason: blocker.reason, message: blocker.message, stalled: blocker.stalled})
	default:
		summarize(p, p.Generation, outcome{ready: true, reason: clrv1.ReasonSucceeded,
			message: fmt.Sprintf("serving %s with %d/%d replicas ready", p.Status.URL, p.Status.ReadyReplicas, replicasOf(p))})
	}
	return result, runErr
}

// markSkipped sets the conditions of steps that could not run to Unknown.
func (r *CLRProviderReconciler) markSkipped(p *clrv1.CLRProvider, rest []subReconciler, blockedBy string) {
	for _, s := range rest {
		if s.condition == "" {
			continue
		}
		setCondition(p, p.Generation, s.condition, metav1.ConditionUnknown, clrv1.ReasonProgressing,
			fmt.Sprintf("waiting for %s", blockedBy))
	}
}

// reconcilePaused writes nothing but the provider's own status: what it
// sees of the Deployment, with Ready's reason Paused.
func (r *CLRProviderReconciler) reconcilePaused(ctx context.Context, st *providerState) {
	p := st.p
	dep := &appsv1.Deployment{}
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: p.Name}, dep); err == nil {
		st.deployment = dep
	}
	r.updateObservedStatus(st)
	available, _ := deploymentAvailable(st.deployment, replicasOf(p))
	setCondition(p, p.Generation, clrv1.ConditionReady, boolStatus(available), clrv1.ReasonPaused,
		fmt.Sprintf("spec.paused is set: the operator changes nothing; %d/%d replicas ready", p.Status.ReadyReplicas, replicasOf(p)))
	removeCondition(p, clrv1.ConditionReconciling)
	removeCondition(p, clrv1.ConditionStalled)
}

func (r *CLRProviderReconciler) emitTransitionEvent(before, after *clrv1.CLRProvider) {
	if r.Recorder == nil {
		return
	}
	if changed, typ, ready := readyTransition(before.Status.Conditions, after.Status.Conditions); changed {
		r.Recorder.Eventf(after, nil, typ, ready.Reason, "Reconcile", "%s", ready.Message)
	}
}

// ---- references -----------------------------------------------------------

func (r *CLRProviderReconciler) reconcileReferences(ctx context.Context, st *providerState) (stepResult, error) {
	p := st.p
	st.issuers = nil
	for _, ref := range p.Spec.IssuerRefs {
		is := &clrv1.Issuer{}
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: ref.Name}, is); err != nil {
			if apierrors.IsNotFound(err) {
				return stepResult{reason: clrv1.ReasonIssuerNotFound, stalled: true, stop: true,
					message: fmt.Sprintf("Issuer %s not found in namespace %s", ref.Name, p.Namespace)}, nil
			}
			return stepResult{}, fmt.Errorf("reading Issuer %s: %w", ref.Name, err)
		}
		// An Issuer whose key is published is usable even while its
		// Certificate is being renewed (Ready False for a moment): the
		// provider must not flap on every rotation.
		if is.Status.CurrentKey == nil {
			// The Issuer's own status says why: copying its message here
			// would patch every waiting provider at each step of
			// cert-manager's progress.
			return stepResult{reason: clrv1.ReasonIssuerNotReady, stop: true,
				message: fmt.Sprintf("Issuer %s has no signing key yet; its status says why", ref.Name)}, nil
		}
		kr := &corev1.ConfigMap{}
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: p.Namespace, Name: keyringConfigMapName(ref.Name)}, kr); err != nil {
			if apierrors.IsNotFound(err) {
				return stepResult{reason: clrv1.ReasonIssuerNotReady, stop: true,
					message: fmt.Sprintf("Issuer %s has not published its keyring yet", ref.Name)}, nil
			}
			return stepResult{}, fmt.Errorf("reading keyring of Issuer %s: %w", ref.Name, err)
		}
		st.issuers = append(st.issuers, resolvedIssuer{object: is, keyring: kr.Data[KeyringKey]})
	}

	st.frameworks = nil
	for _, ref := range p.Spec.FrameworkRefs {
		ns := ref.Namespace
		if ns == "" {
			ns = p.Namespace
		}
		if !r.Scope.FrameworkVisible(ns) {
			// The cache would answer with an error (or, were it
			// widened, NotFound): name the cause and the fix instead.
			return stepResult{reason: clrv1.ReasonFrameworkNamespaceNotWatched, stalled: true, stop: true,
				message: fmt.Sprintf("Framework %s/%s is in namespace %s, which this operator does not watch (--namespaces=%s); "+
					"to share Frameworks from there, add %s to the operator's --framework-namespaces",
					ns, ref.Name, ns, strings.Join(r.Scope.Namespaces, ","), ns)}, nil
		}
		fw := &clrv1.Framework{}
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, fw); err != nil {
			if apierrors.IsNotFound(err) {
				return stepResult{reason: clrv1.ReasonFrameworkNotFound, stalled: true, stop: true,
					message: fmt.Sprintf("Framework %s/%s not found", ns, ref.Name)}, nil
			}
			return stepResult{}, fmt.Errorf("reading Framework %s/%s: %w", ns, ref.Name, err)
		}
		nsLabels := map[string]string{}
		if ns != p.Namespace {
			nsMeta := &metav1.PartialObjectMetadata{}
			nsMeta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Namespace"))
			if err := r.Client.Get(ctx, types.NamespacedName{Name: p.Namespace}, nsMeta); err != nil {
				return stepResult{}, fmt.Errorf("reading namespace %s: %w", p.Namespace, err)
			}
			nsLabels = nsMeta.Labels
		}
		shared, why, err := frameworkSharedWith(fw, p.Namespace, nsLabels)
		if err != nil {
			return stepResult{reason: clrv1.ReasonFrameworkNotShared, message: err.Error(), stalled: true, stop: true}, nil
		}
		if !shared {
			return stepResult{reason: clrv1.ReasonFrameworkNotShared, message: why, stalled: true, stop: true}, nil
		}
		if !clrv1.IsReady(fw) {
			return stepResult{reason: clrv1.ReasonFrameworkNotReady, stop: true,
				message: fmt.Sprintf("Framework %s/%s is not Ready: %s", ns, ref.Name, readyMessage(fw))}, nil
		}
		rendered, err := renderFramework(fw)
		if err != nil {
			return stepResult{}, err
		}
		st.frameworks = append(st.frameworks, resolvedFramework{ref: ref, object: fw, rendered: rendered})
	}

	// User Secrets referenced outside storage: OIDC client secret and the
	// Ingress TLS Secret. Only same-namespace Secrets can be named (the
	// references have no namespace field).
	if oidc := p.Spec.OAuth.OIDC; oidc != nil {
		key := oidc.ClientSecretRef.Key
		if key == "" {
			key = "client-secret"
		}
		if res, err := r.checkUserSecret(ctx, p.Namespace, oidc.ClientSecretRef.Name, key, "spec.oauth.oidc.clientSecretRef"); err != nil || !res.ok {
			return res, err
		}
	}
	if in := p.Spec.Ingress; in != nil && in.TLS != nil && in.TLS.SecretName != "" {
		if res, err := r.checkUserSecret(ctx, p.Namespace, in.TLS.SecretName, corev1.TLSCertKey, "spec.ingress.tls.secretName"); err != nil || !res.ok {
			return res, err
		}
	}
	return stepResult{ok: true, reason: clrv1.ReasonSucceeded,
		message: fmt.Sprintf("%d issuer(s) and %d framework(s) resolved", len(st.issuers), len(st.frameworks))}, nil
}

// userSecretRecheck is how often a missing user Secret is looked for: the
// cache does not watch user Secrets (it holds only the operator's own).
const userSecretRecheck = 30 * time.Second

// checkUserSecret verifies that a user Secret exists with the given key. It
// never reads more than presence: the value is not logged or copied.
func (r *CLRProviderReconciler) checkUserSecret(ctx context.Context, namespace, name, key, field string) (stepResult, error) {
	s := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, s); err != nil {
		if apierrors.IsNotFound(err) {
			return stepResult{reason: clrv1.ReasonSecretMissing, stalled: true, stop: true, requeueAfter: userSecretRecheck,
				message: fmt.Sprintf("%s: Secret %s not found in namespace %s", field, name, namespace)}, nil
		}
		return stepResult{}, fmt.Errorf("reading Secret %s: %w", name, err)
	}
	if len(s.Data[key]) == 0 {
		return stepResult{reason: clrv1.ReasonSecretMissing, stalled: true, stop: true, requeueAfter: userSecretRecheck,
			message: fmt.Sprintf("%s: Secret %s has no key %q", field, name, key)}, nil
	}
	return stepResult{ok: true}, nil
}

func readyMessage(o clrv1.ObjectWithConditions) string {
	if c := clrv1.FindCondition(o, clrv1.ConditionReady); c != nil {
		return c.Reason + ": " + c.Message
	}
	return "no Ready condition yet"
}

// ---- configuration --------------------------------------------------------

func (r *CLRProviderReconciler) reconcileConfiguration(ctx context.Context, st *providerState) (stepResult, error) {
	p := st.p
	// Internal secrets: generated once, then kept.
	existing := &corev1.Secret{}
	key := types.NamespacedName{Namespace: p.Namespace, Name: providerSecretsName(p.Name)}
	err := r.Client.Get(ctx, key, existing)
	if apierrors.IsNotFound(err) {
		// The cache can lag just after the Secret was created: ask the
		// apiserver before generating (regenerating would log everyone
		// out and break issued tokens).
		err = r.APIReader.Get(ctx, key, existing)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return stepResult{}, fmt.Errorf("reading Secret %s: %w", key.Name, err)
	}
	if apierrors.IsNotFound(err) {
		existing = nil
	}
	secrets, changed, err := internalSecrets(p, existing)
	if err != nil {
		return stepResult{reason: clrv1.ReasonInvalidSpec, message: err.Error(), stalled: true, stop: true}, nil
	}
	desiredSecret, err := buildSecretsSecret(p, secrets)
	if err != nil {
		return stepResult{}, err
	}
	if changed || existing == nil || !hasOwner(existing, p) || !labelsContain(existing.Labels, desiredSecret.Labels) {
		if err := r.applyOwned(ctx, p, desiredSecret); err != nil {
			return stepResult{}, err
		}
	}

	cfg := renderServerConfig(p, st.issuers, st.frameworks)
	data, err := configMapData(cfg, st.issuers, st.frameworks)
	if err != nil {
		return stepResult{}, err
	}
	cm := buildConfigMap(p, data)
	current := &corev1.ConfigMap{}
	err = r.Client.Get(ctx, client.ObjectKeyFromObject(cm), current)
	if err != nil && !apierrors.IsNotFound(err) {
		return stepResult{}, fmt.Errorf("reading ConfigMap %s: %w", cm.Name, err)
	}
	if apierrors.IsNotFound(err) || !equality.Semantic.DeepEqual(current.Data, cm.Data) || !hasOwner(current, p) || !labelsContain(current.Labels, cm.Labels) {
		if err := r.applyOwned(ctx, p, cm); err != nil {
			return stepResult{}, err
		}
	}
	st.configData = data
	st.inputsHash = restartHash(data, desiredSecret)
	return stepResult{ok: true, reason: clrv1.ReasonSucceeded,
		message: fmt.Sprintf("configuration %s rendered into ConfigMap %s", st.inputsHash, cm.Name)}, nil
}

// ---- storage --------------------------------------------------------------

func (r *CLRProviderReconciler) reconcileStorage(ctx context.Context, st *providerState) (stepResult, error) {
	p := st.p
	if pg := p.Spec.Storage.Postgres; pg != nil {
		key := pg.SecretRef.Key
		if key == "" {
			key = "dsn"
		}
		res, err := r.checkUserSecret(ctx, p.Namespace, pg.SecretRef.Name, key, "spec.storage.postgres.secretRef")
		if err != nil || !res.ok {
			return res, err
		}
		return stepResult{ok: true, reason: clrv1.ReasonSucceeded, message: fmt.Sprintf("PostgreSQL connection Secret %s present", pg.SecretRef.Name)}, nil
	}
	pvc := buildDataPVC(p)
	if err := r.applyOwned(ctx, p, pvc); err != nil {
		return stepResult{}, err
	}
	current := pvc // the stored claim (cache or apply response)
	if current.Status.Phase != corev1.ClaimBound {
		// Not a stop: with a WaitForFirstConsumer storage class the claim
		// binds only once the pod is scheduled.
		return stepResult{reason: clrv1.ReasonStorageNotReady,
			message: fmt.Sprintf("PersistentVolumeClaim %s is %s", pvc.Name, phaseOr(string(current.Status.Phase), "not yet created"))}, nil
	}
	return stepResult{ok: true, reason: clrv1.ReasonSucceeded, message: fmt.Sprintf("PersistentVolumeClaim %s is Bound", pvc.Name)}, nil
}

func phaseOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ---- workload -------------------------------------------------------------

func (r *CLRProviderReconciler) reconcileWorkload(ctx context.Context, st *providerState) (stepResult, error) {
	p := st.p
	if err := r.applyOwned(ctx, p, buildServiceAccount(p)); err != nil {
		return stepResult{}, err
	}
	dep := buildDeployment(p, st.issuers, st.inputsHash, r.Options)
	if err := r.applyOwned(ctx, p, dep); err != nil {
		return stepResult{}, err
	}
	// dep is now the stored Deployment: from the cache, or the apply
	// response when it was just written (no second reconcile to see it).
	current := dep
	st.deployment = current
	ok, msg := deploymentAvailable(current, replicasOf(p))
	if !ok || current.Spec.Template.Annotations[AnnotationInputHash] != st.inputsHash {
		if ok {
			msg = "waiting for the cache to show the new pod template"
		}
		return stepResult{reason: clrv1.ReasonDeploymentNotAvailable, message: msg}, nil
	}
	return stepResult{ok: true, reason: clrv1.ReasonSucceeded, message: msg}, nil
}

// deploymentAvailable reports whether a Deployment has rolled out its
// current template to all wanted replicas and they are available.
func deploymentAvailable(d *appsv1.Deployment, want int32) (bool, string) {
	if d == nil {
		return false, "Deployment does not exist"
	}
	if d.Status.ObservedGeneration < d.Generation {
		return false, "Deployment controller has not observed the latest spec"
	}
	s := d.Status
	if s.UpdatedReplicas < want || s.Replicas > want || s.AvailableReplicas < want {
		return false, fmt.Sprintf("rolling out: %d/%d updated, %d available, %d total", s.UpdatedReplicas, want, s.AvailableReplicas, s.Replicas)
	}
	return true, fmt.Sprintf("%d/%d replicas available", s.AvailableReplicas, want)
}

// ---- network --------------------------------------------------------------

func (r *CLRProviderReconciler) reconcileNetwork(ctx context.Context, st *providerState) (stepResult, error) {
	p := st.p
	if err := r.applyOwned(ctx, p, buildService(p)); err != nil {
		return stepResult{}, err
	}
	if err := r.applyOwned(ctx, p, buildNetworkPolicy(p, r.Options)); err != nil {
		return stepResult{}, err
	}
	key := types.NamespacedName{Namespace: p.Namespace, Name: p.Name}
	if p.Spec.Ingress == nil {
		if err := r.deleteOwned(ctx, p, &networkingv1.Ingress{}, key); err != nil {
			return stepResult{}, err
		}
		if err := r.deleteOwned(ctx, p, &cmapi.Certificate{}, types.NamespacedName{Namespace: p.Namespace, Name: providerTLSSecretName(p.Name)}); err != nil {
			return stepResult{}, err
		}
		return stepResult{ok: true, reason: clrv1.ReasonSucceeded, message: "Service ready (no Ingress requested)"}, nil
	}
	certName := types.NamespacedName{Namespace: p.Namespace, Name: providerTLSSecretName(p.Name)}
	var tlsCert *cmapi.Certificate
	if tls := p.Spec.Ingress.TLS; tls != nil && tls.IssuerRef != nil {
		tlsCert = buildTLSCertificate(p)
		if err := r.applyOwned(ctx, p, tlsCert); err != nil {
			return stepResult{}, err
		}
	} else if err := r.deleteOwned(ctx, p, &cmapi.Certificate{}, certName); err != nil {
		return stepResult{}, err
	}
	if err := r.applyOwned(ctx, p, buildIngress(p)); err != nil {
		return stepResult{}, err
	}
	if tlsCert != nil {
		cert := &cmapi.Certificate{}
		if err := r.Client.Get(ctx, certName, cert); err != nil && !apierrors.IsNotFound(err) {
			return stepResult{}, fmt.Errorf("reading Certificate %s: %w", certName.Name, err)
		}
		// Not a stop: the Ingress is in place and the later steps do not
		// depend on its certificate; cert-manager retries on its own.
		if ready, _, _ := certificateReady(cert); !ready {
			msg, requeue, err := waitingForCertificate(ctx, r.APIReader, p.Namespace, certName.Name, cert, &tlsCert.Spec.IssuerRef, "spec.ingress.tls.issuerRef", r.now())
			if err != nil {
				return stepResult{}, err
			}
			return stepResult{reason: clrv1.ReasonIngressCertificateNotReady, message: "Ingress TLS: " + msg, requeueAfter: requeue}, nil
		}
	}
	return stepResult{ok: true, reason: clrv1.ReasonSucceeded, message: fmt.Sprintf("Service and Ingress for %s in place", p.Spec.Hostname)}, nil
}

// ---- availability ---------------------------------------------------------

func (r *CLRProviderReconciler) reconcileAvailability(ctx context.Context, st *providerState) (stepResult, error) {
	p := st.p
	if replicasOf(p) > 1 {
		return stepResult{ok: true}, r.applyOwned(ctx, p, buildPDB(p))
	}
	// A PodDisruptionBudget allowing one disruption of one pod would block
	// node drains: none below two replicas.
	return stepResult{ok: true}, r.deleteOwned(ctx, p, &policyv1.PodDisruptionBudget{}, types.NamespacedName{Namespace: p.Namespace, Name: p.Name})
}

// ---- monitoring -----------------------------------------------------------

var serviceMonitorGK = schema.GroupKind{Group: "monitoring.coreos.com", Kind: "ServiceMonitor"}

// serviceMonitorRecheck is the default of DiscoveryRecheck: the RESTMapper
// asks the apiserver's discovery again on every miss, which a thousand
// reconciles would turn into a thousand requests.
const serviceMonitorRecheck = 5 * time.Minute

func (r *CLRProviderReconciler) discoveryRecheck() time.Duration {
	if r.DiscoveryRecheck > 0 {
		return r.DiscoveryRecheck
	}
	return serviceMonitorRecheck
}

// serviceMonitorsInstalled reports whether prometheus-operator's
// ServiceMonitor kind is served, remembering a negative answer for a while.
func (r *CLRProviderReconciler) serviceMonitorsInstalled() (bool, error) {
	r.smMu.Lock()
	defer r.smMu.Unlock()
	if !r.smMissingUntil.IsZero() && r.now().Before(r.smMissingUntil) {
		return false, nil
	}
	if _, err := r.Client.RESTMapper().RESTMapping(serviceMonitorGK, "v1"); err != nil {
		if meta.IsNoMatchError(err) {
			r.smMissingUntil = r.now().Add(r.discoveryRecheck())
			return false, nil
		}
		return false, fmt.Errorf("looking up the ServiceMonitor kind: %w", err)
	}
	r.smMissingUntil = time.Time{}
	return true, nil
}

func (r *CLRProviderReconciler) reconcileMonitoring(ctx context.Context, st *providerState) (stepResult, error) {
	installed, err := r.serviceMonitorsInstalled()
	if err != nil || !installed {
		return stepResult{ok: true}, err
	}
	sm := buildServiceMonitor(st.p)
	if err := controllerutil.SetControllerReference(st.p, sm, r.Scheme); err != nil {
		return stepResult{}, fmt.Errorf("owner reference on ServiceMonitor: %w", err)
	}
	// Not cached (the kind is optional), so applied as is: a no-op apply
	// writes nothing.
	if err := applyObject(ctx, r.Client, r.Scheme, sm); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			// The CRD was removed since discovery said otherwise.
			r.smMu.Lock()
			r.smMissingUntil = r.now().Add(r.discoveryRecheck())
			r.smMu.Unlock()
			return stepResult{ok: true}, nil
		}
		return stepResult{}, err
	}
	return stepResult{ok: true}, nil
}

// ---- status ---------------------------------------------------------------

// updateObservedStatus fills the status fields that describe what runs.
func (r *CLRProviderReconciler) updateObservedStatus(st *providerState) {
	p := st.p
	p.Status.URL = publicURL(p.Spec.Hostname, p.Spec.PathPrefix)
	p.Status.DiscoveryURL = p.Status.URL + discoveryPath
	if d := st.deployment; d != nil {
		p.Status.Replicas = d.Status.Replicas
		p.Status.ReadyReplicas = d.Status.ReadyReplicas
	}
	if st.issuers != nil {
		p.Status.Issuers = nil
		for _, is := range st.issuers {
			ps := clrv1.ProviderIssuerStatus{Name: is.object.Name, IssuerID: didWeb(p.Spec.Hostname, p.Spec.PathPrefix, is.object.Name)}
			if k := is.object.Status.CurrentKey; k != nil {
				ps.CurrentKeyID = k.KID
			}
			p.Status.Issuers = append(p.Status.Issuers, ps)
		}
		p.Status.CurrentKeyID = p.Status.Issuers[0].CurrentKeyID
	}
	if st.configData != nil {
		p.Status.Frameworks = nil
		for _, f := range st.frameworks {
			ns := f.ref.Namespace
			if ns == "" {
				ns = p.Namespace
			}
			p.Status.Frameworks = append(p.Status.Frameworks, clrv1.ProviderFrameworkStatus{Name: f.ref.Name, Namespace: ns, Digest: f.rendered.Digest})
		}
		p.Status.ConfigHash = st.inputsHash
	}
}

// ---- helpers --------------------------------------------------------------

func (r *CLRProviderReconciler) applyOwned(ctx context.Context, owner *clrv1.CLRProvider, obj client.Object) error {
	if err := controllerutil.SetControllerReference(owner, obj, r.Scheme); err != nil {
		return fmt.Errorf("owner reference on %s: %w", obj.GetName(), err)
	}
	return ensureApplied(ctx, r.Client, r.Scheme, obj)
}

// deleteOwned deletes a child the provider no longer needs, if the cache
// shows it exists and the provider owns it (nothing else is touched).
func (r *CLRProviderReconciler) deleteOwned(ctx context.Context, owner *clrv1.CLRProvider, obj client.Object, key types.NamespacedName) error {
	if err := r.Client.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
			return nil
		}
		return fmt.Errorf("reading %T %s: %w", obj, key.Name, err)
	}
	if !hasOwner(obj, owner) {
		return nil
	}
	if err := r.Client.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %T %s: %w", obj, key.Name, err)
	}
	return nil
}
