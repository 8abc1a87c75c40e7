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
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types. Ready, Reconciling and Stalled follow kstatus: Ready is
// the summary; Reconciling is True while the controller is still working
// towards the spec (present only then); Stalled is True when it cannot make
// progress without a change by a human (present only then). The others are
// the per-aspect conditions the summary is computed from.
const (
	// ConditionReady is True when the object is fully reconciled and serving.
	ConditionReady = "Ready"
	// ConditionReconciling is True while the controller is making progress.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when progress needs a change to the spec or
	// to a referenced object.
	ConditionStalled = "Stalled"

	// ConditionKeyReady (Issuer) is True when the current signing key exists,
	// is of the requested algorithm and is published in the keyring.
	ConditionKeyReady = "KeyReady"
	// ConditionReferencesResolved (CLRProvider) is True when every referenced
	// Issuer and Framework exists, is Ready and may be used from here.
	ConditionReferencesResolved = "ReferencesResolved"
	// ConditionConfigReady (CLRProvider) is True when the clr-server
	// configuration is rendered and up to date.
	ConditionConfigReady = "ConfigReady"
	// ConditionStorageReady (CLRProvider) is True when the database is
	// provisioned (SQLite volume bound, or PostgreSQL Secret present).
	ConditionStorageReady = "StorageReady"
	// ConditionWorkloadReady (CLRProvider) is True when the clr-server
	// Deployment has rolled out the current configuration.
	ConditionWorkloadReady = "WorkloadReady"
	// ConditionNetworkReady (CLRProvider) is True when the Service, the
	// Ingress and its TLS certificate (where requested) are in place.
	ConditionNetworkReady = "NetworkReady"
)

// Condition reasons. A reason is a CamelCase word a human and a program can
// both act on; the message carries the detail.
const (
	// ReasonSucceeded: the aspect is reconciled.
	ReasonSucceeded = "Succeeded"
	// ReasonProgressing: the controller is working towards the spec.
	ReasonProgressing = "Progressing"
	// ReasonPaused: spec.paused is set; the controller changes nothing.
	ReasonPaused = "Paused"
	// ReasonInvalidSpec: the spec fails a check that needs more than the
	// schema (for example a cycle in the competency tree).
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonReconcileFailed: an API call failed; the controller retries.
	ReasonReconcileFailed = "ReconcileFailed"

	// ReasonCertificateNotReady: the cert-manager Certificate of a key is not
	// Ready yet (or its issuer refuses it); when spec.signing.issuerRef names
	// a cert-manager Issuer or ClusterIssuer that is missing or not Ready,
	// the message says so.
	ReasonCertificateNotReady = "CertificateNotReady"
	// ReasonSecretMissing: a referenced Secret (or a key in it) is absent.
	ReasonSecretMissing = "SecretMissing"
	// ReasonUnsupportedKey: the key in the Secret is not of the requested
	// algorithm, or cannot be parsed.
	ReasonUnsupportedKey = "UnsupportedKey"
	// ReasonKeyRotated: a new key replaced the previous one, which stays
	// published for spec.signing.retiredKeyRetention.
	ReasonKeyRotated = "KeyRotated"

	// ReasonIssuerNotFound: a referenced Issuer does not exist.
	ReasonIssuerNotFound = "IssuerNotFound"
	// ReasonIssuerNotReady: a referenced Issuer exists but is not Ready.
	ReasonIssuerNotReady = "IssuerNotReady"
	// ReasonFrameworkNotFound: a referenced Framework does not exist.
	ReasonFrameworkNotFound = "FrameworkNotFound"
	// ReasonFrameworkNotReady: a referenced Framework exists but is not Ready.
	ReasonFrameworkNotReady = "FrameworkNotReady"
	// ReasonFrameworkNotShared: a Framework in another namespace does not
	// share itself (spec.sharing.namespaceSelector) with this namespace.
	ReasonFrameworkNotShared = "FrameworkNotShared"
	// ReasonFrameworkNamespaceNotWatched: a referenced Framework is in a
	// namespace the operator does not watch (its --namespaces flag), so
	// it cannot be read; --framework-namespaces adds namespaces of shared
	// Frameworks.
	ReasonFrameworkNamespaceNotWatched = "FrameworkNamespaceNotWatched"

	// ReasonStorageNotReady: the SQLite volume is not bound yet.
	ReasonStorageNotReady = "StorageNotReady"
	// ReasonDeploymentNotAvailable: the clr-server pods are not all ready.
	ReasonDeploymentNotAvailable = "DeploymentNotAvailable"
	// ReasonIngressCertificateNotReady: the cert-manager Certificate the
	// operator requested for the Ingress (spec.ingress.tls.issuerRef) is not
	// Ready yet, so the Ingress would serve no or an expired certificate;
	// the message carries cert-manager's reason when it reported a failure,
	// or names the referenced cert-manager Issuer or ClusterIssuer when it
	// is missing or not Ready.
	ReasonIngressCertificateNotReady = "IngressCertificateNotReady"
)

// ObjectWithConditions is implemented by every kind of this package, so that
// condition and status helpers can be written once.
// +kubebuilder:object:generate=false
type ObjectWithConditions interface {
	GetConditions() []metav1.Condition
	SetConditions([]metav1.Condition)
}

// FindCondition returns the condition of the given type, or nil.
func FindCondition(obj ObjectWithConditions, conditionType string) *metav1.Condition {
	return meta.FindStatusCondition(obj.GetConditions(), conditionType)
}

// IsReady reports whether the object's Ready condition is True for its
// current generation: a Ready condition observed for an older spec does not
// count, so callers never act on a stale summary.
func IsReady(obj interface {
	ObjectWithConditions
	GetGeneration() int64
}) bool {
	c := FindCondition(obj, ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == obj.GetGeneration()
}
