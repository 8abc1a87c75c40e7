package controllers

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"maps"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/internal/credential/keys"
)

// tlsPair returns a PKCS#8 private key and a self-signed certificate for
// it, PEM-encoded, as cert-manager writes them.
func tlsPair(t *testing.T, signer crypto.Signer) (keyPEM, crtPEM []byte) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "issuer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	crt, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: crt})
}

func keySecret(keyPEM, crtPEM []byte) *corev1.Secret {
	data := map[string][]byte{corev1.TLSCertKey: crtPEM}
	if keyPEM != nil {
		data[corev1.TLSPrivateKeyKey] = keyPEM
	}
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "u-signing-key"}, Data: data}
}

func TestPublishedKeyFromCertificateAlone(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, crtPEM := tlsPair(t, priv)
	// Without the private key, as the operator's cache holds it.
	got, err := publishedKeyFromSecret(keySecret(nil, crtPEM), clrv1.KeyAlgorithmEd25519)
	if err != nil {
		t.Fatalf("publishedKeyFromSecret: %v", err)
	}
	jwk, err := keys.PublicJWK(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	want, err := keys.JWKThumbprint(jwk)
	if err != nil {
		t.Fatal(err)
	}
	if got.KID != want || got.Algorithm != "Ed25519" {
		t.Errorf("got kid %s (%s), want %s (Ed25519)", got.KID, got.Algorithm, want)
	}
	if err := checkKeyPair(keySecret(keyPEM, crtPEM)); err != nil {
		t.Errorf("checkKeyPair on a matching pair: %v", err)
	}

	// The algorithm is read from the certificate.
	if _, err := publishedKeyFromSecret(keySecret(nil, crtPEM), clrv1.KeyAlgorithmECDSAP256); err == nil ||
		!strings.Contains(err.Error(), "asks for ECDSA-P256") {
		t.Errorf("want an algorithm mismatch naming ECDSA-P256, got %v", err)
	}
	if _, err := publishedKeyFromSecret(keySecret(keyPEM, nil), clrv1.KeyAlgorithmEd25519); reasonOf(err) != clrv1.ReasonSecretMissing {
		t.Errorf("no certificate: want reason %s, got %v", clrv1.ReasonSecretMissing, err)
	}
}

func TestCheckKeyPair(t *testing.T) {
	_, a, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	aKey, aCrt := tlsPair(t, a)
	bKey, _ := tlsPair(t, b)

	err = checkKeyPair(keySecret(bKey, aCrt))
	if reasonOf(err) != clrv1.ReasonUnsupportedKey || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("mismatched pair: want %s naming the mismatch, got %v", clrv1.ReasonUnsupportedKey, err)
	}
	if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("the error shows key material: %v", err)
	}
	if reasonOf(checkKeyPair(keySecret(nil, aCrt))) != clrv1.ReasonSecretMissing {
		t.Error("no private key: want SecretMissing")
	}
	if reasonOf(checkKeyPair(keySecret([]byte("not a key"), aCrt))) != clrv1.ReasonUnsupportedKey {
		t.Error("garbage private key: want UnsupportedKey")
	}
	if err := checkKeyPair(keySecret(aKey, aCrt)); err != nil {
		t.Errorf("matching pair: %v", err)
	}
}

func reasonOf(err error) string {
	if ke, ok := asKeyError(err); ok {
		return ke.reason
	}
	return ""
}

func TestStripPrivateKeys(t *testing.T) {
	transform := stripPrivateKeys(cache.TransformStripManagedFields())
	secret := func(component string) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "s", Labels: map[string]string{LabelComponent: component},
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "cert-manager"}}},
			Data: map[string][]byte{corev1.TLSPrivateKeyKey: []byte("k"), corev1.TLSCertKey: []byte("c")},
		}
	}
	out, err := transform(secret(ComponentSigningKey))
	if err != nil {
		t.Fatal(err)
	}
	s := out.(*corev1.Secret)
	if _, has := s.Data[corev1.TLSPrivateKeyKey]; has || string(s.Data[corev1.TLSCertKey]) != "c" || s.ManagedFields != nil {
		t.Errorf("signing-key Secret after the transform: data %v, managedFields %v; want only tls.crt, none", slices.Sorted(maps.Keys(s.Data)), s.ManagedFields)
	}
	// Other Secrets (the provider's generated secrets, an Ingress TLS
	// Secret) are cached whole: the operator compares and keeps them.
	out, err = transform(secret(ComponentServer))
	if err != nil {
		t.Fatal(err)
	}
	if s := out.(*corev1.Secret); string(s.Data[corev1.TLSPrivateKeyKey]) != "k" {
		t.Errorf("a Secret that is not a signing key lost its tls.key: %v", slices.Sorted(maps.Keys(s.Data)))
	}
	// Tombstones and other kinds pass through.
	cm := &corev1.ConfigMap{}
	if out, err := transform(cm); err != nil || out != cm {
		t.Errorf("a ConfigMap: got %v, %v", out, err)
	}
}
