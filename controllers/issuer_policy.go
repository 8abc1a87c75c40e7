package controllers

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/internal/credential/keys"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
)

// Names of an Issuer's children. Issuer names are DNS labels (at most 63
// characters, enforced by the CRD), so every derived name stays valid.
func signingKeyCertificateName(issuerName string) string { return issuerName + "-signing-key" }
func signingKeySecretName(issuerName string) string      { return issuerName + "-signing-key" }
func selfSignedIssuerName(issuerName string) string      { return issuerName + "-selfsigned" }
func keyringConfigMapName(issuerName string) string      { return issuerName + "-keyring" }

// KeyringKey is the ConfigMap key holding the serverconfig.Keyring JSON.
const KeyringKey = "keyring.json"

// Defaults of spec.signing, applied by the CRD; repeated here so that an
// object written without defaulting (e.g. by a unit test) still works.
const (
	defaultKeyDuration  = 2160 * time.Hour
	defaultRenewBefore  = 360 * time.Hour
	defaultKeyRetention = 8760 * time.Hour
)

func durationOr(d *metav1.Duration, def time.Duration) time.Duration {
	if d == nil || d.Duration <= 0 {
		return def
	}
	return d.Duration
}

func effectiveAlgorithm(s clrv1.IssuerSigning) clrv1.KeyAlgorithm {
	if s.Algorithm == "" {
		return clrv1.KeyAlgorithmEd25519
	}
	return s.Algorithm
}

// certManagerKey maps an Issuer key algorithm to cert-manager's private key
// algorithm and size.
func certManagerKey(a clrv1.KeyAlgorithm) (cmapi.PrivateKeyAlgorithm, int, error) {
	switch a {
	case clrv1.KeyAlgorithmEd25519:
		return cmapi.Ed25519KeyAlgorithm, 0, nil
	case clrv1.KeyAlgorithmECDSAP256:
		return cmapi.ECDSAKeyAlgorithm, 256, nil
	case clrv1.KeyAlgorithmECDSAP384:
		return cmapi.ECDSAKeyAlgorithm, 384, nil
	case clrv1.KeyAlgorithmRSA2048:
		return cmapi.RSAKeyAlgorithm, 2048, nil
	case clrv1.KeyAlgorithmRSA3072:
		return cmapi.RSAKeyAlgorithm, 3072, nil
	}
	return "", 0, fmt.Errorf("unsupported key algorithm %q", a)
}

// issuerLabels are the labels of every child of an Issuer.
func issuerLabels(issuerName, component string) map[string]string {
	return map[string]string{
		LabelManagedBy: ManagedByValue,
		LabelName:      "clr-issuer",
		LabelInstance:  issuerName,
		LabelComponent: component,
		LabelIssuer:    issuerName,
	}
}

// certManagerIssuerRef is the cert-manager issuer that signs the key's
// certificate: the referenced one, or the Issuer's own self-signed one.
func certManagerIssuerRef(issuer *clrv1.Issuer) cmmeta.IssuerReference {
	if r := issuer.Spec.Signing.IssuerRef; r != nil {
		kind, group := r.Kind, r.Group
		if kind == "" {
			kind = cmapi.IssuerKind
		}
		if group == "" {
			group = "cert-manager.io"
		}
		return cmmeta.IssuerReference{Name: r.Name, Kind: kind, Group: group}
	}
	return cmmeta.IssuerReference{Name: selfSignedIssuerName(issuer.Name), Kind: cmapi.IssuerKind, Group: "cert-manager.io"}
}

// buildSelfSignedIssuer is the namespaced cert-manager Issuer used when the
// Issuer names none. A self-signed certificate is enough: the certificate
// only carries the key; trust in the key comes from the issuer's DID
// document and JWKS, not from a certificate chain.
func buildSelfSignedIssuer(issuer *clrv1.Issuer) *cmapi.Issuer {
	return &cmapi.Issuer{
		TypeMeta: metav1.TypeMeta{APIVersion: cmapi.SchemeGroupVersion.String(), Kind: cmapi.IssuerKind},
		ObjectMeta: metav1.ObjectMeta{
			Name:      selfSignedIssuerName(issuer.Name),
			Namespace: issuer.Namespace,
			Labels:    issuerLabels(issuer.Name, ComponentSigningKey),
		},
		Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}},
	}
}

// SigningKeyObjects are the cert-manager objects the Issuer controller
// applies for an Issuer's signing key: its self-signed cert-manager Issuer
// when it references none, and the Certificate. test/scale creates them
// without an operator to measure what cert-manager alone costs.
func SigningKeyObjects(issuer *clrv1.Issuer) ([]client.Object, error) {
	cert, err := buildCertificate(issuer)
	if err != nil {
		return nil, err
	}
	if issuer.Spec.Signing.IssuerRef != nil {
		return []client.Object{cert}, nil
	}
	return []client.Object{buildSelfSignedIssuer(issuer), cert}, nil
}

// buildCertificate is the cert-manager Certificate of an Issuer's signing
// key. rotationPolicy Always is stated even though it is cert-manager's
// default since v1.18: every renewal must produce a new key (a new kid), and
// older cert-manager versions defaulted to Never.
func buildCertificate(issuer *clrv1.Issuer) (*cmapi.Certificate, error) {
	alg, size, err := certManagerKey(effectiveAlgorithm(issuer.Spec.Signing))
	if err != nil {
		return nil, err
	}
	name := issuer.Name
	org := issuer.Spec.Profile.Name
	if len(org) > 64 { // X.520 upper bound for an organizationName
		org = org[:64]
	}
	return &cmapi.Certificate{
		TypeMeta: metav1.TypeMeta{APIVersion: cmapi.SchemeGroupVersion.String(), Kind: cmapi.CertificateKind},
		ObjectMeta: metav1.ObjectMeta{
			Name:      signingKeyCertificateName(name),
			Namespace: issuer.Namespace,
			Labels:    issuerLabels(name, ComponentSigningKey),
		},
		Spec: cmapi.CertificateSpec{
			SecretName: signingKeySecretName(name),
			SecretTemplate: &cmapi.CertificateSecretTemplate{
				Labels: issuerLabels(name, ComponentSigningKey),
			},
			CommonName:  name,
			Subject:     &cmapi.X509Subject{Organizations: []string{org}},
			Duration:    &metav1.Duration{Duration: durationOr(issuer.Spec.Signing.Duration, defaultKeyDuration)},
			RenewBefore: &metav1.Duration{Duration: durationOr(issuer.Spec.Signing.RenewBefore, defaultRenewBefore)},
			Usages:      []cmapi.KeyUsage{cmapi.UsageDigitalSignature},
			PrivateKey: &cmapi.CertificatePrivateKey{
				Algorithm:      alg,
				Size:           size,
				Encoding:       cmapi.PKCS8,
				RotationPolicy: cmapi.RotationPolicyAlways,
			},
			IssuerRef: certManagerIssuerRef(issuer),
		},
	}, nil
}

// certificateReady reports whether cert-manager considers the Certificate
// Ready for its current spec. When it is not, reason and message say why
// only if cert-manager reported something a user acts on (a failed
// issuance, a Ready=False other than "no Secret yet"); while an issuance
// merely runs both are empty. cert-manager's in-progress messages are left
// out on purpose: copying each into the Issuer's or provider's status cost
// one more status write per tenant (measured: 4.2 Issuer status patches
// per new tenant, 3.3 without) and told nothing the Certificate's own
// status does not.
func certificateReady(cert *cmapi.Certificate) (ready bool, reason, message string) {
	var readyCond, issuing *cmapi.CertificateCondition
	for i, c := range cert.Status.Conditions {
		switch c.Type {
		case cmapi.CertificateConditionReady:
			readyCond = &cert.Status.Conditions[i]
		case cmapi.CertificateConditionIssuing:
			issuing = &cert.Status.Conditions[i]
		}
	}
	if readyCond == nil || readyCond.ObservedGeneration != cert.Generation {
		return false, "", ""
	}
	if readyCond.Status == cmmeta.ConditionTrue {
		return true, readyCond.Reason, readyCond.Message
	}
	// cert-manager ends a failed attempt with Issuing=False and the
	// CertificateRequest's reason (Failed, Denied, InvalidRequest...);
	// a successful one with Issuing=False, "Issued", or by removing it.
	if issuing != nil && issuing.Status == cmmeta.ConditionFalse && issuing.Reason != certIssuedReason {
		return false, issuing.Reason, issuing.Message
	}
	if readyCond.Reason == certDoesNotExistReason {
		return false, "", ""
	}
	return false, readyCond.Reason, readyCond.Message
}

// Reasons of cert-manager's Certificate conditions (pkg/controller/
// certificates: the issuing controller and the readiness policies).
const (
	certIssuedReason       = "Issued"
	certDoesNotExistReason = "DoesNotExist"
)

// certificateWaiting is the status message of an owner waiting for the
// Certificate name: cert-manager's own reason and message when it gave
// one that matters, else a line that stays the same for the whole issuance.
func certificateWaiting(name, reason, message string) string {
	if reason == "" && message == "" {
		return fmt.Sprintf("waiting for cert-manager to issue Certificate %s", name)
	}
	return fmt.Sprintf("cert-manager has not issued Certificate %s: %s", name, strings.TrimSpace(reason+": "+message))
}

// issuerRefGrace is how long an issuance runs before the operator looks
// at the cert-manager Issuer it waits on: a healthy one signs well within
// it, so a normal issuance costs no read.
const issuerRefGrace = 5 * time.Second

// issuingFor is how long cert-manager has been issuing the Certificate
// (its Issuing condition True) at now; ok is false when it is not issuing.
func issuingFor(cert *cmapi.Certificate, now time.Time) (d time.Duration, ok bool) {
	for _, c := range cert.Status.Conditions {
		if c.Type == cmapi.CertificateConditionIssuing && c.Status == cmmeta.ConditionTrue && c.LastTransitionTime != nil {
			return now.Sub(c.LastTransitionTime.Time), true
		}
	}
	return 0, false
}

// issuerRefProblem says why the cert-manager Issuer or ClusterIssuer that
// a Certificate references cannot sign it yet: it does not exist (status
// is nil), or it is not Ready. Empty when it is Ready. namespace is the
// Certificate's (a ClusterIssuer has none). cert-manager says this only on
// the CertificateRequest, which platform engineers rarely look at; a typo
// in an issuerRef would otherwise read as "waiting".
func issuerRefProblem(ref cmmeta.IssuerReference, namespace string, status *cmapi.IssuerStatus) string {
	what := fmt.Sprintf("cert-manager %s %q", ref.Kind, ref.Name)
	if status == nil {
		if ref.Kind == cmapi.ClusterIssuerKind {
			return what + " does not exist"
		}
		return fmt.Sprintf("%s does not exist in namespace %s", what, namespace)
	}
	for _, c := range status.Conditions {
		if c.Type == cmapi.IssuerConditionReady {
			if c.Status == cmmeta.ConditionTrue {
				return ""
			}
			return fmt.Sprintf("%s is not Ready: %s", what, strings.TrimSpace(c.Reason+": "+c.Message))
		}
	}
	return what + " has not reported Ready yet"
}

// keyError is a key Secret that cannot be used, with the condition reason.
type keyError struct {
	reason string
	err    error
}

func (e *keyError) Error() string { return e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }

// publishedKeyFromSecret derives the public key, its kid and its validity
// from the certificate of a kubernetes.io/tls Secret written by
// cert-manager. It needs no private key: the operator's cache holds key
// Secrets without one (see stripPrivateKeys); checkKeyPair verifies a new
// key against its private half once, read from the apiserver.
func publishedKeyFromSecret(secret *corev1.Secret, want clrv1.KeyAlgorithm) (serverconfig.PublishedKey, error) {
	var pk serverconfig.PublishedKey
	crtPEM := secret.Data[corev1.TLSCertKey]
	if len(crtPEM) == 0 {
		return pk, &keyError{clrv1.ReasonSecretMissing, fmt.Errorf("Secret %s has no %s yet", secret.Name, corev1.TLSCertKey)}
	}
	cert, err := parseCertificatePEM(secret.Name, crtPEM)
	if err != nil {
		return pk, err
	}
	alg, err := keys.Algorithm(cert.PublicKey)
	if err != nil {
		return pk, &keyError{clrv1.ReasonUnsupportedKey, fmt.Errorf("Secret %s: %w", secret.Name, err)}
	}
	if alg != string(want) {
		return pk, &keyError{clrv1.ReasonUnsupportedKey, fmt.Errorf("Secret %s holds a %s key, spec.signing.algorithm asks for %s", secret.Name, alg, want)}
	}
	jwk, err := keys.PublicJWK(cert.PublicKey)
	if err != nil {
		return pk, &keyError{clrv1.ReasonUnsupportedKey, fmt.Errorf("Secret %s: %w", secret.Name, err)}
	}
	kid, err := keys.JWKThumbprint(jwk)
	if err != nil {
		return pk, &keyError{clrv1.ReasonUnsupportedKey, fmt.Errorf("Secret %s: %w", secret.Name, err)}
	}
	return serverconfig.PublishedKey{
		KID:          kid,
		Algorithm:    alg,
		PublicKeyJWK: jwk,
		NotBefore:    cert.NotBefore.UTC(),
		NotAfter:     cert.NotAfter.UTC(),
	}, nil
}

// checkKeyPair verifies that a key Secret's private key is the one its
// certificate (and so the published kid) names: clr-server signs with the
// private key, verifiers check with the published one. The private key
// never leaves this function; errors carry no key material.
func checkKeyPair(secret *corev1.Secret) error {
	keyPEM, crtPEM := secret.Data[corev1.TLSPrivateKeyKey], secret.Data[corev1.TLSCertKey]
	if len(keyPEM) == 0 || len(crtPEM) == 0 {
		return &keyError{clrv1.ReasonSecretMissing, fmt.Errorf("Secret %s has no %s or %s yet", secret.Name, corev1.TLSPrivateKeyKey, corev1.TLSCertKey)}
	}
	signer, err := keys.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		// The parse error names the problem (encoding, curve) without any
		// key material.
		return &keyError{clrv1.ReasonUnsupportedKey, fmt.Errorf("Secret %s: %w", secret.Name, err)}
	}
	cert, err := parseCertificatePEM(secret.Name, crtPEM)
	if err != nil {
		return err
	}
	if !keys.Equal(cert.PublicKey, signer.Public()) {
		// cert-manager writes key and certificate together; a mismatch
		// means someone edited the Secret.
		return &keyError{clrv1.ReasonUnsupportedKey, fmt.Errorf("Secret %s: the certificate does not match the private key", secret.Name)}
	}
	return nil
}

func parseCertificatePEM(secretName string, crtPEM []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(crtPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, &keyError{clrv1.ReasonUnsupportedKey, fmt.Errorf("Secret %s: %s is not a PEM certificate", secretName, corev1.TLSCertKey)}
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, &keyError{clrv1.ReasonUnsupportedKey, fmt.Errorf("Secret %s: parsing %s: %w", secretName, corev1.TLSCertKey, err)}
	}
	return cert, nil
}

// nextKeyring is the keyring after observing the current key: the current
// key first, then retired keys newest first. A key that is no longer
// current is retired at now and stays published until now-retiredAt exceeds
// retention. It also returns when the next retired key expires (zero if
// none), so the controller can come back then. Pure: same inputs, same
// keyring, so an unchanged key causes no write.
func nextKeyring(issuerName string, prev *serverconfig.Keyring, current serverconfig.PublishedKey, retention time.Duration, now time.Time) (serverconfig.Keyring, time.Time) {
	now = now.UTC().Truncate(time.Second)
	out := serverconfig.Keyring{Issuer: issuerName, Keys: []serverconfig.PublishedKey{current}}
	var retired []serverconfig.PublishedKey
	if prev != nil {
		for _, k := range prev.Keys {
			if k.KID == current.KID {
				continue
			}
			if k.RetiredAt == nil {
				at := now
				k.RetiredAt = &at
			}
			retired = append(retired, k)
		}
	}
	sort.SliceStable(retired, func(i, j int) bool { return retired[i].RetiredAt.After(*retired[j].RetiredAt) })
	var nextExpiry time.Time
	for _, k := range retired {
		expires := k.RetiredAt.Add(retention)
		if !now.Before(expires) {
			continue
		}
		out.Keys = append(out.Keys, k)
		if nextExpiry.IsZero() || expires.Before(nextExpiry) {
			nextExpiry = expires
		}
	}
	return out, nextExpiry
}

// parseKeyring reads a keyring ConfigMap; a missing or unreadable one is an
// empty keyring (the current key is then published again from the Secret).
func parseKeyring(cm *corev1.ConfigMap) (*serverconfig.Keyring, error) {
	if cm == nil {
		return nil, nil
	}
	raw, ok := cm.Data[KeyringKey]
	if !ok {
		return nil, nil
	}
	var kr serverconfig.Keyring
	if err := json.Unmarshal([]byte(raw), &kr); err != nil {
		return nil, fmt.Errorf("ConfigMap %s: %s: %w", cm.Name, KeyringKey, err)
	}
	return &kr, nil
}

// buildKeyringConfigMap renders the keyring ConfigMap (public keys only).
func buildKeyringConfigMap(issuer *clrv1.Issuer, kr serverconfig.Keyring) (*corev1.ConfigMap, error) {
	raw, err := json.MarshalIndent(kr, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding keyring: %w", err)
	}
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      keyringConfigMapName(issuer.Name),
			Namespace: issuer.Namespace,
			Labels:    issuerLabels(issuer.Name, ComponentKeyring),
		},
		Data: map[string]string{KeyringKey: string(raw) + "\n"},
	}, nil
}

// issuerKeyStatus converts a published key to its status form.
func issuerKeyStatus(k serverconfig.PublishedKey, secretName string) clrv1.IssuerKey {
	out := clrv1.IssuerKey{
		KID:        k.KID,
		Algorithm:  clrv1.KeyAlgorithm(k.Algorithm),
		NotBefore:  &metav1.Time{Time: k.NotBefore},
		NotAfter:   &metav1.Time{Time: k.NotAfter},
		SecretName: secretName,
	}
	if k.RetiredAt != nil {
		out.RetiredAt = &metav1.Time{Time: *k.RetiredAt}
		out.SecretName = ""
	}
	return out
}

// asKeyError extracts the condition reason of a key error.
func asKeyError(err error) (*keyError, bool) {
	var ke *keyError
	ok := errors.As(err, &ke)
	return ke, ok
}
