/*
Copyright 2026 The clr-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CLRProviderSpec is one institution's hosted CLR service: a clr-server
// deployment publishing the records of the referenced Issuers, aligned to the
// referenced Frameworks.
// +kubebuilder:validation:XValidation:rule="!has(self.storage.sqlite) || !has(self.replicas) || self.replicas <= 1",message="spec.replicas must be 0 or 1 with spec.storage.sqlite (a SQLite file cannot be shared between pods); use spec.storage.postgres for more replicas",fieldPath=".replicas",reason=FieldValueForbidden
type CLRProviderSpec struct {
	// issuerRefs are the Issuers (same namespace) whose records this service
	// hosts. The first is the default issuer.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	IssuerRefs []LocalObjectReference `json:"issuerRefs"`

	// frameworkRefs are the Frameworks the records are aligned to; a
	// Framework of another namespace must share itself with this one
	// (spec.sharing). Names are unique: a framework is published at
	// {url}/frameworks/{name}.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	// +optional
	FrameworkRefs []FrameworkReference `json:"frameworkRefs,omitempty"`

	// hostname is the public DNS name of the service, e.g.
	// "records.cascadia-state.edu". Issuer ids (did:web) are built from it,
	// so changing it changes the issuer id of new credentials.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$`
	Hostname string `json:"hostname"`

	// pathPrefix serves the service under a path, e.g. "/clr"; empty for
	// the root. Starts with "/", no trailing "/".
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^(/[A-Za-z0-9._~-]+)+$`
	// +optional
	PathPrefix string `json:"pathPrefix,omitempty"`

	// ingress exposes the service. Without it the operator creates only the
	// Service, for a gateway or load balancer managed elsewhere.
	// +optional
	Ingress *ProviderIngress `json:"ingress,omitempty"`

	// replicas of clr-server. 0 stops the service and keeps the data.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=50
	// +kubebuilder:default=1
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// image of clr-server; empty for the operator's default (the version
	// the operator was released with).
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[^\s]+$`
	// +optional
	Image string `json:"image,omitempty"`

	// resources of the clr-server container.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// nodeSelector of the clr-server pods.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations of the clr-server pods.
	// +listType=atomic
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// affinity of the clr-server pods.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// topologySpreadConstraints of the clr-server pods.
	// +listType=atomic
	// +optional
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`

	// storage is where the learners' records live: exactly one of sqlite or
	// postgres. The kind cannot be changed afterwards (it would orphan the
	// records).
	Storage ProviderStorage `json:"storage"`

	// oauth configures the OAuth 2.0 authorization server of the CLR API.
	// +kubebuilder:default={}
	// +optional
	OAuth ProviderOAuth `json:"oauth,omitempty"`

	// credentialStatus chooses the credentialStatus entries of credentials
	// issued from now on (credentials already issued keep theirs).
	// +optional
	CredentialStatus *ProviderCredentialStatus `json:"credentialStatus,omitempty"`

	// paused stops the operator from changing anything it manages for this
	// provider (for maintenance); status still reports what it sees.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// StatusEntries is a credentialStatus policy.
// +kubebuilder:validation:Enum=Revocation;All
type StatusEntries string

const (
	// StatusEntriesRevocation: one BitstringStatusListEntry (revocation),
	// the single credentialStatus object the OB 3.0 / CLR 2.0 JSON Schemas
	// allow, so every schema-based validator accepts the credentials. They
	// can be revoked, not suspended.
	StatusEntriesRevocation StatusEntries = "Revocation"
	// StatusEntriesAll: BitstringStatusListEntry for revocation and for
	// suspension plus the issuer's 1EdTechRevocationList, as an array (VC
	// Data Model 2.0 allows a set). Suspension works; validators applying
	// the OB 3.0 / CLR 2.0 JSON Schemas strictly reject the array.
	StatusEntriesAll StatusEntries = "All"
)

// ProviderCredentialStatus is the status policy of issued credentials.
type ProviderCredentialStatus struct {
	// entries is Revocation (one schema-valid entry, the default) or All
	// (revocation, suspension and 1EdTechRevocationList entries).
	// +kubebuilder:default=Revocation
	// +optional
	Entries StatusEntries `json:"entries,omitempty"`
}

// FrameworkReference names a Framework, possibly in another namespace.
type FrameworkReference struct {
	// name of the Framework.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// namespace of the Framework; empty for the CLRProvider's own.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// ProviderIngress configures the Ingress of a CLRProvider.
type ProviderIngress struct {
	// className is the IngressClass; empty for the cluster's default.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ClassName *string `json:"className,omitempty"`

	// annotations added to the Ingress (for example the controller's
	// settings).
	// +kubebuilder:validation:MaxProperties=64
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// tls terminates TLS at the Ingress. Without it TLS must be terminated
	// in front of the Ingress: did:web and OAuth need https.
	// +optional
	TLS *IngressTLS `json:"tls,omitempty"`
}

// IngressTLS is the TLS certificate of the Ingress: an existing Secret, or
// one cert-manager issues.
// +kubebuilder:validation:XValidation:rule="has(self.secretName) != has(self.issuerRef)",message="spec.ingress.tls: set exactly one of secretName (an existing kubernetes.io/tls Secret) or issuerRef (cert-manager issues the certificate)",reason=FieldValueInvalid
type IngressTLS struct {
	// secretName of an existing kubernetes.io/tls Secret for the hostname.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +optional
	SecretName string `json:"secretName,omitempty"`

	// issuerRef makes the operator request the certificate from this
	// cert-manager issuer, into the Secret "<CLRProvider name>-tls".
	// +optional
	IssuerRef *CertManagerIssuerReference `json:"issuerRef,omitempty"`
}

// ProviderStorage is exactly one database.
// +kubebuilder:validation:XValidation:rule="(has(self.sqlite) ? 1 : 0) + (has(self.postgres) ? 1 : 0) == 1",message="spec.storage: set exactly one of sqlite or postgres",reason=FieldValueInvalid
// +kubebuilder:validation:XValidation:rule="has(self.sqlite) == has(oldSelf.sqlite) && has(self.postgres) == has(oldSelf.postgres)",message="spec.storage: the storage kind (sqlite or postgres) is immutable: changing it would orphan the learners' records; migrate the data and create a new CLRProvider",reason=FieldValueForbidden
type ProviderStorage struct {
	// sqlite stores the records in a SQLite file on a PersistentVolume; only
	// with replicas 0 or 1.
	// +optional
	SQLite *SQLiteStorage `json:"sqlite,omitempty"`

	// postgres stores the records in a PostgreSQL database.
	// +optional
	Postgres *PostgresStorage `json:"postgres,omitempty"`
}

// SQLiteStorage is a SQLite database on a PersistentVolumeClaim.
// +kubebuilder:validation:XValidation:rule="has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)",message="spec.storage.sqlite.storageClassName is immutable (a PersistentVolumeClaim cannot move to another class)",fieldPath=".storageClassName",reason=FieldValueForbidden
// +kubebuilder:validation:XValidation:rule="!has(self.size) || !has(oldSelf.size) || !isQuantity(string(self.size)) || !isQuantity(string(oldSelf.size)) || quantity(string(self.size)).compareTo(quantity(string(oldSelf.size))) >= 0",message="spec.storage.sqlite.size cannot shrink (a PersistentVolumeClaim can only grow)",fieldPath=".size",reason=FieldValueForbidden
type SQLiteStorage struct {
	// size of the volume. It can grow (when the storage class allows volume
	// expansion), never shrink.
	// +kubebuilder:default="1Gi"
	// +kubebuilder:validation:XValidation:rule="!isQuantity(string(self)) || quantity(string(self)).compareTo(quantity('64Mi')) >= 0",message="spec.storage.sqlite.size must be at least 64Mi"
	// +optional
	Size *resource.Quantity `json:"size,omitempty"`

	// storageClassName of the volume; empty for the cluster's default class.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`
}

// PostgresStorage is a PostgreSQL database reached with a connection string
// kept in a Secret (it holds a password).
type PostgresStorage struct {
	// secretRef is the Secret key holding a libpq connection string or URL.
	SecretRef PostgresSecretReference `json:"secretRef"`
}

// PostgresSecretReference selects the key of a Secret (same namespace)
// holding the PostgreSQL connection string.
type PostgresSecretReference struct {
	// name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// key in the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:default=dsn
	// +optional
	Key string `json:"key,omitempty"`
}

// ProviderOAuth configures the OAuth 2.0 authorization server.
// +kubebuilder:validation:XValidation:rule="!has(self.accessTokenTTL) || !has(self.refreshTokenTTL) || !self.accessTokenTTL.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || !self.refreshTokenTTL.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || duration(self.accessTokenTTL) < duration(self.refreshTokenTTL)",message="spec.oauth.accessTokenTTL must be shorter than spec.oauth.refreshTokenTTL",fieldPath=".accessTokenTTL",reason=FieldValueInvalid
type ProviderOAuth struct {
	// dynamicRegistration enables RFC 7591 dynamic client registration, as
	// CLR 2.0 expects of a host (wallets and employers register themselves).
	// +kubebuilder:default=true
	// +optional
	DynamicRegistration *bool `json:"dynamicRegistration,omitempty"`

	// accessTokenTTL is the lifetime of access tokens.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || (duration(self) >= duration('1m') && duration(self) <= duration('24h'))",message="spec.oauth.accessTokenTTL must be between 1m and 24h"
	// +kubebuilder:default="1h"
	// +optional
	AccessTokenTTL *metav1.Duration `json:"accessTokenTTL,omitempty"`

	// refreshTokenTTL is the lifetime of refresh tokens.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || duration(self) <= duration('8760h')",message="spec.oauth.refreshTokenTTL must be at most 8760h (one year)"
	// +kubebuilder:default="720h"
	// +optional
	RefreshTokenTTL *metav1.Duration `json:"refreshTokenTTL,omitempty"`

	// tokenCacheTTL is how long a replica trusts an access token it has
	// already checked without asking the database again. A revocation takes
	// effect at once on the replica that handled it and within this time on
	// the others. 0s disables the cache (every request reads the database).
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || duration(self) <= duration('1m')",message="spec.oauth.tokenCacheTTL must be at most 1m"
	// +optional
	TokenCacheTTL *metav1.Duration `json:"tokenCacheTTL,omitempty"`

	// oidc is the institution's OpenID Connect identity provider where
	// learners sign in. Without it learners cannot sign in; issuing clients
	// still work.
	// +optional
	OIDC *OIDCProvider `json:"oidc,omitempty"`

	// issuingClients are institutional systems (student information system,
	// registrar) allowed to issue records with the client-credentials grant.
	// The operator generates their client secrets and keeps them, with
	// clr-server's other generated secrets, in the Secret
	// "<CLRProvider name>-secrets".
	// +listType=map
	// +listMapKey=clientID
	// +kubebuilder:validation:MaxItems=16
	// +optional
	IssuingClients []IssuingClient `json:"issuingClients,omitempty"`
}

// OIDCProvider is an upstream OpenID Connect provider.
type OIDCProvider struct {
	// issuerURL of the provider (its discovery document is at
	// {issuerURL}/.well-known/openid-configuration).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https://[^\s]+$`
	IssuerURL string `json:"issuerURL"`

	// clientID registered for this service at the provider.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	ClientID string `json:"clientID"`

	// clientSecretRef is the Secret key holding the client secret.
	ClientSecretRef OIDCClientSecretReference `json:"clientSecretRef"`

	// scopes requested from the provider; empty for "openid profile email".
	// +listType=set
	// +kubebuilder:validation:XValidation:rule="self.exists(s, s == 'openid')",message="spec.oauth.oidc.scopes must include openid (learners sign in with OpenID Connect)"
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=128
	// +optional
	Scopes []string `json:"scopes,omitempty"`

	// usernameClaim is the claim that identifies the learner; empty for "sub".
	// +kubebuilder:validation:MaxLength=128
	// +optional
	UsernameClaim string `json:"usernameClaim,omitempty"`
}

// OIDCClientSecretReference selects the key of a Secret (same namespace)
// holding an OIDC client secret.
type OIDCClientSecretReference struct {
	// name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// key in the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +kubebuilder:default=client-secret
	// +optional
	Key string `json:"key,omitempty"`
}

// IssuingClient is an institutional client of the issuing API.
type IssuingClient struct {
	// clientID of the client, e.g. "registrar-sis".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._-]*$`
	ClientID string `json:"clientID"`

	// scopes granted to the client through the client-credentials grant:
	// the project's issuing scopes (the CLR 2.0 scopes belong to learners,
	// who grant them through the authorization code grant):
	// "https://learnerrecords.io/scope/issue" (post learning records and
	// have credentials issued), ".../scope/revoke" (revoke, suspend,
	// reinstate) and ".../scope/records.read" (read any learner's records).
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=3
	// +kubebuilder:validation:items:Enum=https://learnerrecords.io/scope/issue;https://learnerrecords.io/scope/revoke;https://learnerrecords.io/scope/records.read
	Scopes []string `json:"scopes"`
}

// CLRProviderStatus is the observed state of a CLRProvider.
type CLRProviderStatus struct {
	// observedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, ReferencesResolved, ConfigReady, StorageReady,
	// WorkloadReady, NetworkReady, Reconciling, Stalled.
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// url is the public base URL of the service.
	// +optional
	URL string `json:"url,omitempty"`

	// discoveryURL is the CLR 2.0 service description document.
	// +optional
	DiscoveryURL string `json:"discoveryURL,omitempty"`

	// replicas is the number of clr-server pods.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// readyReplicas is the number of clr-server pods ready to serve.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// currentKeyID is the kid of the current signing key of the default
	// (first) issuer.
	// +optional
	CurrentKeyID string `json:"currentKeyID,omitempty"`

	// issuers is what the service publishes for each referenced Issuer.
	// +listType=map
	// +listMapKey=name
	// +optional
	Issuers []ProviderIssuerStatus `json:"issuers,omitempty"`

	// frameworks is the digest of each Framework the running configuration
	// holds.
	// +listType=atomic
	// +optional
	Frameworks []ProviderFrameworkStatus `json:"frameworks,omitempty"`

	// configHash is the hash of the rendered clr-server configuration the
	// Deployment runs (a change rolls the pods).
	// +optional
	ConfigHash string `json:"configHash,omitempty"`

	// lastHandledReconcileAt is the value of the
	// clr.learnerrecords.io/reconcile-requested-at annotation last acted on.
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`

	// failures counts consecutive failed reconciles (API errors). The
	// operator retries after an exponential backoff with jitter and keeps
	// the count here, so that a restart of the operator keeps the backoff.
	// +optional
	Failures int32 `json:"failures,omitempty"`

	// nextRetryTime is when the operator retries after the last failure.
	// +optional
	NextRetryTime *metav1.Time `json:"nextRetryTime,omitempty"`
}

// ProviderIssuerStatus is one Issuer as published by a CLRProvider.
type ProviderIssuerStatus struct {
	// name of the Issuer.
	Name string `json:"name"`
	// issuerID is the issuer's id (did:web).
	// +optional
	IssuerID string `json:"issuerID,omitempty"`
	// currentKeyID is the kid of its current signing key.
	// +optional
	CurrentKeyID string `json:"currentKeyID,omitempty"`
}

// ProviderFrameworkStatus is one Framework as published by a CLRProvider.
type ProviderFrameworkStatus struct {
	// name and namespace of the Framework.
	Name string `json:"name"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// digest of the content published.
	// +optional
	Digest string `json:"digest,omitempty"`
}

// CLRProvider is one institution's hosted CLR service: clr-server with its
// database, configuration, Service and Ingress, serving the CLR 2.0 API for
// the referenced Issuers.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=clrproviders,scope=Namespaced,categories=clr,shortName=clrp;clrprovider
// +kubebuilder:selectablefield:JSONPath=`.spec.hostname`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.spec.replicas`
// +kubebuilder:printcolumn:name="Ready-Replicas",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Key",type=string,JSONPath=`.status.currentKeyID`,priority=1
// +kubebuilder:printcolumn:name="Paused",type=boolean,JSONPath=`.spec.paused`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]{0,46}[a-z0-9])?$')",message="metadata.name of a CLRProvider must be a DNS label of at most 48 characters (lower-case letters, digits and '-', starting with a letter): it names the Deployment, Service and other objects made for it"
type CLRProvider struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec CLRProviderSpec `json:"spec"`

	// +optional
	Status CLRProviderStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *CLRProvider) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces the status conditions.
func (in *CLRProvider) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// +kubebuilder:object:root=true

// CLRProviderList is a list of CLRProviders.
type CLRProviderList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CLRProvider `json:"items"`
}

func init() {
	SchemeBuilder.Register(&CLRProvider{}, &CLRProviderList{})
}
