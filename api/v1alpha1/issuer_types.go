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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KeyAlgorithm is the algorithm of an Issuer's signing key.
// +kubebuilder:validation:Enum=Ed25519;ECDSA-P256;ECDSA-P384;RSA-2048;RSA-3072
type KeyAlgorithm string

// Key algorithms. Their names are the ones clr-server's config file uses.
const (
	KeyAlgorithmEd25519   KeyAlgorithm = "Ed25519"
	KeyAlgorithmECDSAP256 KeyAlgorithm = "ECDSA-P256"
	KeyAlgorithmECDSAP384 KeyAlgorithm = "ECDSA-P384"
	KeyAlgorithmRSA2048   KeyAlgorithm = "RSA-2048"
	KeyAlgorithmRSA3072   KeyAlgorithm = "RSA-3072"
)

// ProofFormat is a way of securing a credential.
// +kubebuilder:validation:Enum=DataIntegrity;VC-JWT
type ProofFormat string

// Proof formats.
const (
	// ProofFormatDataIntegrity is a W3C Data Integrity proof embedded in the
	// credential (cryptosuite eddsa-rdfc-2022 or ecdsa-rdfc-2019).
	ProofFormatDataIntegrity ProofFormat = "DataIntegrity"
	// ProofFormatVCJWT is the credential as a compact JWS (VC-JWT).
	ProofFormatVCJWT ProofFormat = "VC-JWT"
)

// Cryptosuite is a Data Integrity cryptosuite.
// +kubebuilder:validation:Enum=eddsa-rdfc-2022;ecdsa-rdfc-2019
type Cryptosuite string

// Cryptosuites.
const (
	CryptosuiteEdDSARDFC2022 Cryptosuite = "eddsa-rdfc-2022"
	CryptosuiteECDSARDFC2019 Cryptosuite = "ecdsa-rdfc-2019"
)

// DefaultCryptosuite is the Data Integrity cryptosuite of an algorithm, ""
// when the algorithm has none (RSA keys sign VC-JWT only).
func DefaultCryptosuite(a KeyAlgorithm) Cryptosuite {
	switch a {
	case KeyAlgorithmEd25519:
		return CryptosuiteEdDSARDFC2022
	case KeyAlgorithmECDSAP256, KeyAlgorithmECDSAP384:
		return CryptosuiteECDSARDFC2019
	}
	return ""
}

// IssuerSpec is an institution's issuing identity.
type IssuerSpec struct {
	// profile is the institution as it appears in the issuer field of every
	// credential: an Open Badges 3.0 Profile.
	Profile IssuerProfile `json:"profile"`

	// authority lists the accreditations and legal authority under which the
	// institution certifies learning (for example its regional accreditor and
	// the state charter that authorises it to award degrees).
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Authority []Authority `json:"authority,omitempty"`

	// signing configures the signing key and what is issued with it.
	// +kubebuilder:default={}
	// +optional
	Signing IssuerSigning `json:"signing,omitempty"`
}

// IssuerProfile holds the Open Badges 3.0 Profile fields an institution
// needs. The Profile's id is the issuer id (a did:web), set by the operator.
type IssuerProfile struct {
	// name of the institution, e.g. "Cascadia State University".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`

	// url of the institution's home page.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s]+$`
	// +optional
	URL string `json:"url,omitempty"`

	// email of the office that answers questions about records, e.g. the
	// registrar.
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:Pattern=`^[^@\s]+@[^@\s]+\.[^@\s]+$`
	// +optional
	Email string `json:"email,omitempty"`

	// phone number, preferably in E.164 form (+15551234567).
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^\+?[0-9 ().-]{3,31}$`
	// +optional
	Phone string `json:"phone,omitempty"`

	// description of the institution.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Description string `json:"description,omitempty"`

	// image is the institution's logo or seal.
	// +optional
	Image *ProfileImage `json:"image,omitempty"`

	// address is the institution's postal address.
	// +optional
	Address *Address `json:"address,omitempty"`

	// official is the name of the institution's authorised official, e.g.
	// the University Registrar.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Official string `json:"official,omitempty"`

	// otherIdentifiers are other identifiers of the institution (IPEDS unit
	// id, OPEID, a national register number...).
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	// +optional
	OtherIdentifiers []IdentifierEntry `json:"otherIdentifiers,omitempty"`

	// parentOrg is the organisation the institution belongs to, e.g. a state
	// university system.
	// +optional
	ParentOrg *ParentOrganization `json:"parentOrg,omitempty"`
}

// ProfileImage is an Open Badges Image.
type ProfileImage struct {
	// url of the image (becomes the Image id).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s]+$`
	URL string `json:"url"`

	// caption of the image.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Caption string `json:"caption,omitempty"`
}

// Address is an Open Badges Address.
type Address struct {
	// streetAddress is the street and number.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	StreetAddress string `json:"streetAddress,omitempty"`
	// postOfficeBoxNumber is a PO box, when mail goes there.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	PostOfficeBoxNumber string `json:"postOfficeBoxNumber,omitempty"`
	// addressLocality is the city or town.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	AddressLocality string `json:"addressLocality,omitempty"`
	// addressRegion is the state or province.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	AddressRegion string `json:"addressRegion,omitempty"`
	// postalCode is the ZIP or postal code.
	// +kubebuilder:validation:MaxLength=32
	// +optional
	PostalCode string `json:"postalCode,omitempty"`
	// addressCountry is the country's name.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	AddressCountry string `json:"addressCountry,omitempty"`
	// addressCountryCode is the ISO 3166-1 alpha-2 country code.
	// +kubebuilder:validation:Pattern=`^[A-Z]{2}$`
	// +optional
	AddressCountryCode string `json:"addressCountryCode,omitempty"`
}

// IdentifierEntry is an Open Badges IdentifierEntry.
type IdentifierEntry struct {
	// identifier value.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Identifier string `json:"identifier"`

	// identifierType from the Open Badges IdentifierTypeEnum (sourcedId,
	// systemId, identifier, ...) or an extension term "ext:...".
	// +kubebuilder:validation:Pattern=`^(name|sourcedId|systemId|productId|userName|accountId|emailAddress|nationalIdentityNumber|isbn|issn|lisSourcedId|oneRosterSourcedId|sisSourcedId|ltiContextId|ltiDeploymentId|ltiToolId|ltiPlatformId|ltiUserId|identifier|ext:[A-Za-z0-9._-]+)$`
	// +kubebuilder:validation:MaxLength=64
	IdentifierType string `json:"identifierType"`
}

// ParentOrganization is the organisation an institution belongs to.
// +kubebuilder:validation:XValidation:rule="has(self.id) || has(self.url)",message="spec.profile.parentOrg: set id or url: an Open Badges Profile needs an id, and the home page serves as one when the organisation has no profile of its own",reason=FieldValueRequired
type ParentOrganization struct {
	// name of the organisation.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`

	// id of the organisation's own profile (a URL or DID), when it has one.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^(https?://|did:)[^\s]+$`
	// +optional
	ID string `json:"id,omitempty"`

	// url of the organisation's home page.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s]+$`
	// +optional
	URL string `json:"url,omitempty"`

	// email of the organisation.
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:Pattern=`^[^@\s]+@[^@\s]+\.[^@\s]+$`
	// +optional
	Email string `json:"email,omitempty"`
}

// Authority is an accreditation or a legal authority to certify learning.
type Authority struct {
	// name of the authority, e.g. "Northwest Commission on Colleges and
	// Universities".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`

	// url where the accreditation or authority can be checked.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s]+$`
	// +optional
	URL string `json:"url,omitempty"`

	// identifier of the institution at that authority (for example an
	// accreditation or charter number).
	// +kubebuilder:validation:MaxLength=256
	// +optional
	Identifier string `json:"identifier,omitempty"`

	// description of what is accredited or authorised.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Description string `json:"description,omitempty"`
}

// IssuerSigning configures the signing key (a cert-manager Certificate whose
// private key signs credentials) and the proofs issued with it.
// +kubebuilder:validation:XValidation:rule="!has(self.cryptosuite) || !has(self.algorithm) || (self.cryptosuite == 'eddsa-rdfc-2022' ? self.algorithm == 'Ed25519' : self.algorithm.startsWith('ECDSA-'))",message="spec.signing.cryptosuite: eddsa-rdfc-2022 needs algorithm Ed25519 and ecdsa-rdfc-2019 needs ECDSA-P256 or ECDSA-P384",fieldPath=".cryptosuite",reason=FieldValueInvalid
// +kubebuilder:validation:XValidation:rule="!has(self.algorithm) || !has(self.proofFormats) || !self.algorithm.startsWith('RSA-') || !self.proofFormats.exists(f, f == 'DataIntegrity')",message="spec.signing.proofFormats: RSA keys have no Data Integrity cryptosuite; with algorithm RSA-2048 or RSA-3072 set proofFormats: [VC-JWT]",fieldPath=".proofFormats",reason=FieldValueInvalid
// +kubebuilder:validation:XValidation:rule="!has(self.duration) || !has(self.renewBefore) || !self.duration.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || !self.renewBefore.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || duration(self.duration) > duration(self.renewBefore)",message="spec.signing.renewBefore must be shorter than spec.signing.duration",fieldPath=".renewBefore",reason=FieldValueInvalid
type IssuerSigning struct {
	// algorithm of the signing key. Changing it makes the operator issue a
	// new key; the old one stays published for retiredKeyRetention.
	// +kubebuilder:default=Ed25519
	// +optional
	Algorithm KeyAlgorithm `json:"algorithm,omitempty"`

	// proofFormats to issue every credential with: a Data Integrity proof,
	// a VC-JWT, or both (then the holder receives both forms).
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=2
	// +kubebuilder:default={DataIntegrity,VC-JWT}
	// +optional
	ProofFormats []ProofFormat `json:"proofFormats,omitempty"`

	// cryptosuite of Data Integrity proofs. Derived from the algorithm when
	// empty: eddsa-rdfc-2022 for Ed25519, ecdsa-rdfc-2019 for ECDSA.
	// +optional
	Cryptosuite Cryptosuite `json:"cryptosuite,omitempty"`

	// issuerRef is the cert-manager issuer of the key's certificate. When
	// empty the operator uses a self-signed issuer: the certificate only
	// carries the key, trust comes from the issuer's DID document.
	// +optional
	IssuerRef *CertManagerIssuerReference `json:"issuerRef,omitempty"`

	// duration of the key's certificate, i.e. how long one key signs.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || duration(self) >= duration('1h')",message="spec.signing.duration must be at least 1h (cert-manager's minimum)"
	// +kubebuilder:default="2160h"
	// +optional
	Duration *metav1.Duration `json:"duration,omitempty"`

	// renewBefore is how long before the end of duration a new key is made.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([0-9]+([.][0-9]+)?(ns|us|ms|s|m|h))+$') || duration(self) >= duration('5m')",message="spec.signing.renewBefore must be at least 5m"
	// +kubebuilder:default="360h"
	// +optional
	RenewBefore *metav1.Duration `json:"renewBefore,omitempty"`

	// retiredKeyRetention is how long a replaced key's public part stays
	// published (DID document, JWKS), so that credentials it signed still
	// verify with a fresh key lookup. Set it at least as long as the longest
	// validity of the credentials you issue.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:default="8760h"
	// +optional
	RetiredKeyRetention *metav1.Duration `json:"retiredKeyRetention,omitempty"`
}

// EffectiveCryptosuite is spec.signing.cryptosuite, or the algorithm's
// default when it is empty.
func (s IssuerSigning) EffectiveCryptosuite() Cryptosuite {
	if s.Cryptosuite != "" {
		return s.Cryptosuite
	}
	return DefaultCryptosuite(s.Algorithm)
}

// IssuerStatus is the observed state of an Issuer.
type IssuerStatus struct {
	// observedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, KeyReady, Reconciling, Stalled.
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// issuerID is the issuer's id in credentials (a did:web), once a
	// CLRProvider serves this Issuer.
	// +optional
	IssuerID string `json:"issuerID,omitempty"`

	// currentKey is the key that signs new credentials.
	// +optional
	CurrentKey *IssuerKey `json:"currentKey,omitempty"`

	// retiredKeys are replaced keys whose public part is still published,
	// newest first.
	// +listType=atomic
	// +optional
	RetiredKeys []IssuerKey `json:"retiredKeys,omitempty"`

	// keyringConfigMap is the ConfigMap (same namespace) holding the
	// published public keys (current and retired) for clr-server.
	// +optional
	KeyringConfigMap string `json:"keyringConfigMap,omitempty"`

	// certificateName is the cert-manager Certificate of the signing key.
	// +optional
	CertificateName string `json:"certificateName,omitempty"`
}

// IssuerKey describes a signing key. It never holds key material.
type IssuerKey struct {
	// kid is the RFC 7638 JWK SHA-256 thumbprint, base64url without padding.
	KID string `json:"kid"`

	// algorithm of the key.
	Algorithm KeyAlgorithm `json:"algorithm"`

	// notBefore and notAfter bound the validity of the key's certificate.
	// +optional
	NotBefore *metav1.Time `json:"notBefore,omitempty"`
	// +optional
	NotAfter *metav1.Time `json:"notAfter,omitempty"`

	// retiredAt is when a newer key replaced this one; empty for the
	// current key.
	// +optional
	RetiredAt *metav1.Time `json:"retiredAt,omitempty"`

	// secretName is the Secret holding the key (current key only: a
	// retired key's private part is not kept).
	// +optional
	SecretName string `json:"secretName,omitempty"`
}

// Issuer is an institution and its signing identity: its Open Badges
// Profile, the authority under which it certifies learning and its signing
// key, managed through cert-manager. Short name clrissuer: "issuer" is
// cert-manager's.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:path=issuers,scope=Namespaced,categories=clr,shortName=clrissuer;clrissuers
// +kubebuilder:selectablefield:JSONPath=`.spec.signing.algorithm`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Institution",type=string,JSONPath=`.spec.profile.name`
// +kubebuilder:printcolumn:name="Algorithm",type=string,JSONPath=`.spec.signing.algorithm`
// +kubebuilder:printcolumn:name="Key",type=string,JSONPath=`.status.currentKey.kid`,priority=1
// +kubebuilder:printcolumn:name="Key-Expires",type=date,JSONPath=`.status.currentKey.notAfter`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$')",message="metadata.name of an Issuer must be a DNS label (lower-case letters, digits and '-', starting with a letter, at most 63 characters): it appears in URLs, DIDs and label values"
type Issuer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec IssuerSpec `json:"spec"`

	// +optional
	Status IssuerStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *Issuer) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces the status conditions.
func (in *Issuer) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// +kubebuilder:object:root=true

// IssuerList is a list of Issuers.
type IssuerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Issuer `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Issuer{}, &IssuerList{})
}
