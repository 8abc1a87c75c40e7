package controllers

// Labels and annotations the operator puts on, and reads from, objects.
const (
	// FieldManager is the server-side apply field manager of every child the
	// operator writes: one owner, so a child's fields are all reasserted
	// (drift corrected) by a single apply.
	FieldManager = "clr-operator"

	// LabelManagedBy marks every Secret and ConfigMap the operator writes,
	// including the signing key Secrets cert-manager writes for it (through
	// the Certificate's secretTemplate). The manager caches only Secrets and
	// ConfigMaps carrying it, so that its memory does not grow with the
	// cluster's other Secrets.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy.
	ManagedByValue = "clr-operator"

	// LabelName and LabelInstance follow the Kubernetes recommended labels.
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"

	// LabelIssuer names the Issuer a Secret, ConfigMap or Certificate
	// belongs to; the Issuer controller maps Secret events back with it.
	LabelIssuer = "clr.learnerrecords.io/issuer"
	// LabelFramework names the Framework a rendered ConfigMap belongs to.
	LabelFramework = "clr.learnerrecords.io/framework"
	// LabelProvider names the CLRProvider a child belongs to.
	LabelProvider = "clr.learnerrecords.io/provider"

	// AnnotationReconcileRequestedAt asks for an immediate reconcile: any
	// new value (conventionally a timestamp) wakes the controller, which
	// records the value it handled in status.lastHandledReconcileAt.
	AnnotationReconcileRequestedAt = "clr.learnerrecords.io/reconcile-requested-at"
	// AnnotationInputHash on a pod template is the hash of the inputs that
	// need a restart of clr-server (its config, frameworks and internal
	// secrets); a change rolls the Deployment out.
	AnnotationInputHash = "clr.learnerrecords.io/inputs-hash"

	// Component values.
	ComponentSigningKey = "signing-key"
	ComponentKeyring    = "keyring"
	ComponentFramework  = "framework"
	ComponentConfig     = "config"
	ComponentSecrets    = "internal-secrets"
	ComponentServer     = "clr-server"
)
