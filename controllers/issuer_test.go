package controllers_test

import (
	"crypto"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	jose "github.com/go-jose/go-jose/v4"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/controllers"
	"github.com/learnerrecords/clr-operator/internal/credential/keys"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
)

func newIssuer(ns, name string, alg clrv1.KeyAlgorithm) *clrv1.Issuer {
	formats := []clrv1.ProofFormat{clrv1.ProofFormatDataIntegrity, clrv1.ProofFormatVCJWT}
	if alg == clrv1.KeyAlgorithmRSA2048 || alg == clrv1.KeyAlgorithmRSA3072 {
		formats = []clrv1.ProofFormat{clrv1.ProofFormatVCJWT}
	}
	return &clrv1.Issuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: clrv1.IssuerSpec{
			Profile: clrv1.IssuerProfile{
				Name:  "Cascadia State University",
				URL:   "https://www.cascadia-state.edu",
				Email: "registrar@cascadia-state.edu",
			},
			Signing: clrv1.IssuerSigning{Algorithm: alg, ProofFormats: formats},
		},
	}
}

// waitIssuerReady waits until the Issuer is Ready for its generation and
// returns it.
func waitIssuerReady(t *testing.T, ns, name string) *clrv1.Issuer {
	t.Helper()
	is := &clrv1.Issuer{}
	eventually(t, 60*time.Second, "Issuer "+name+" Ready", func() (bool, string) {
		if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, is); err != nil {
			return false, err.Error()
		}
		c := clrv1.FindCondition(is, clrv1.ConditionReady)
		if c == nil {
			return false, "no Ready condition"
		}
		return clrv1.IsReady(is) && is.Status.ObservedGeneration == is.Generation, c.Reason + ": " + c.Message
	})
	return is
}

// independentKID computes the RFC 7638 thumbprint of the Secret's key with
// go-jose, an implementation independent of the operator's.
func independentKID(t *testing.T, secret *corev1.Secret) (string, string) {
	t.Helper()
	signer, err := keys.ParsePrivateKeyPEM(secret.Data[corev1.TLSPrivateKeyKey])
	if err != nil {
		t.Fatalf("parsing the key cert-manager wrote: %v", err)
	}
	jwk := jose.JSONWebKey{Key: signer.Public()}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatalf("thumbprint: %v", err)
	}
	alg, _ := keys.Algorithm(signer.Public())
	return b64url(tp), alg
}

func readKeyring(t *testing.T, ns, issuer string) serverconfig.Keyring {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: issuer + "-keyring"}, cm); err != nil {
		t.Fatalf("keyring ConfigMap: %v", err)
	}
	var kr serverconfig.Keyring
	if err := json.Unmarshal([]byte(cm.Data[controllers.KeyringKey]), &kr); err != nil {
		t.Fatalf("keyring JSON: %v", err)
	}
	if cm.Labels[controllers.LabelManagedBy] != controllers.ManagedByValue {
		t.Errorf("keyring ConfigMap lacks the managed-by label (the cache would not see it): %v", cm.Labels)
	}
	return kr
}

func TestIssuerKeyForEachAlgorithm(t *testing.T) {
	needEnv(t)
	ns := newNamespace(t, nil)
	algs := []struct {
		alg  clrv1.KeyAlgorithm
		cm   cmapi.PrivateKeyAlgorithm
		size int
	}{
		{clrv1.KeyAlgorithmEd25519, cmapi.Ed25519KeyAlgorithm, 0},
		{clrv1.KeyAlgorithmECDSAP256, cmapi.ECDSAKeyAlgorithm, 256},
		{clrv1.KeyAlgorithmECDSAP384, cmapi.ECDSAKeyAlgorithm, 384},
		{clrv1.KeyAlgorithmRSA2048, cmapi.RSAKeyAlgorithm, 2048},
		{clrv1.KeyAlgorithmRSA3072, cmapi.RSAKeyAlgorithm, 3072},
	}
	for i, a := range algs {
		if err := k8s.Create(ctx, newIssuer(ns, fmt.Sprintf("key-%d", i), a.alg)); err != nil {
			t.Fatalf("creating Issuer (%s): %v", a.alg, err)
		}
	}
	for i, a := range algs {
		t.Run(string(a.alg), func(t *testing.T) {
			name := fmt.Sprintf("key-%d", i)
			is := waitIssuerReady(t, ns, name)

			cert := &cmapi.Certificate{}
			if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name + "-signing-key"}, cert); err != nil {
				t.Fatalf("Certificate: %v", err)
			}
			pk := cert.Spec.PrivateKey
			if pk == nil || pk.Algorithm != a.cm || pk.Size != a.size || pk.Encoding != cmapi.PKCS8 || pk.RotationPolicy != cmapi.RotationPolicyAlways {
				t.Errorf("Certificate privateKey = %+v, want %s/%d PKCS8 rotationPolicy Always", pk, a.cm, a.size)
			}
			if cert.Spec.IssuerRef.Name != name+"-selfsigned" || cert.Spec.IssuerRef.Kind != "Issuer" {
				t.Errorf("Certificate issuerRef = %+v, want the self-signed Issuer %s-selfsigned", cert.Spec.IssuerRef, name)
			}
			if cert.Spec.Duration == nil || cert.Spec.Duration.Duration != 2160*time.Hour || cert.Spec.RenewBefore == nil || cert.Spec.RenewBefore.Duration != 360*time.Hour {
				t.Errorf("Certificate duration/renewBefore = %v/%v, want the spec defaults 2160h/360h", cert.Spec.Duration, cert.Spec.RenewBefore)
			}
			if cert.Spec.SecretTemplate == nil || cert.Spec.SecretTemplate.Labels[controllers.LabelManagedBy] != controllers.ManagedByValue {
				t.Errorf("Certificate secretTemplate lacks the managed-by label: %+v", cert.Spec.SecretTemplate)
			}
			cmIssuer := &cmapi.Issuer{}
			if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name + "-selfsigned"}, cmIssuer); err != nil || cmIssuer.Spec.SelfSigned == nil {
				t.Errorf("self-signed cert-manager Issuer: %v %+v", err, cmIssuer.Spec)
			}

			secret := &corev1.Secret{}
			if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name + "-signing-key"}, secret); err != nil {
				t.Fatalf("key Secret: %v", err)
			}
			if secret.Labels[controllers.LabelManagedBy] != controllers.ManagedByValue {
				t.Errorf("key Secret lacks the managed-by label: %v", secret.Labels)
			}
			// The operator's cache holds the certificate, never the private key.
			cached := &corev1.Secret{}
			if err := operatorCache.Get(ctx, client.ObjectKeyFromObject(secret), cached); err != nil {
				t.Fatalf("key Secret from the operator's cache: %v", err)
			}
			if _, has := cached.Data[corev1.TLSPrivateKeyKey]; has || len(cached.Data[corev1.TLSCertKey]) == 0 {
				t.Errorf("operator's cached key Secret holds keys %v, want tls.crt without tls.key", slices.Sorted(maps.Keys(cached.Data)))
			}
			if len(secret.Data[corev1.TLSPrivateKeyKey]) == 0 {
				t.Fatal("the key Secret in the apiserver has no tls.key")
			}
			kid, gotAlg := independentKID(t, secret)
			if gotAlg != string(a.alg) {
				t.Errorf("cert-manager issued a %s key, want %s", gotAlg, a.alg)
			}
			if is.Status.CurrentKey == nil || is.Status.CurrentKey.KID != kid || is.Status.CurrentKey.Algorithm != a.alg {
				t.Fatalf("status.currentKey = %+v, want kid %s (%s)", is.Status.CurrentKey, kid, a.alg)
			}
			if is.Status.CurrentKey.NotAfter == nil || is.Status.CurrentKey.NotBefore == nil {
				t.Errorf("status.currentKey lacks validity: %+v", is.Status.CurrentKey)
			}
			kr := readKeyring(t, ns, name)
			if len(kr.Keys) != 1 || kr.Keys[0].KID != kid || kr.Keys[0].RetiredAt != nil {
				t.Fatalf("keyring = %+v, want only the current key %s", kr.Keys, kid)
			}
			for _, priv := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := kr.Keys[0].PublicKeyJWK[priv]; ok {
					t.Errorf("keyring JWK carries private member %q", priv)
				}
			}
			if c := clrv1.FindCondition(is, clrv1.ConditionKeyReady); c == nil || c.Status != metav1.ConditionTrue {
				t.Errorf("KeyReady = %+v", c)
			}
			checkKstatus(t, is, is.Generation, is.Status.ObservedGeneration, "Current")
		})
	}
}

// triggerRenewal asks cert-manager to reissue a Certificate now, the way
// `cmctl renew` does: an Issuing=True condition with reason ManuallyTriggered.
func triggerRenewal(t *testing.T, ns, name string) {
	t.Helper()
	cert := &cmapi.Certificate{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, cert); err != nil {
		t.Fatalf("Certificate: %v", err)
	}
	now := metav1.Now()
	conds := cert.Status.Conditions[:0:0]
	for _, c := range cert.Status.Conditions {
		if c.Type != cmapi.CertificateConditionIssuing {
			conds = append(conds, c)
		}
	}
	conds = append(conds, cmapi.CertificateCondition{
		Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue, Reason: "ManuallyTriggered",
		Message: "Certificate re-issuance manually triggered", LastTransitionTime: &now, ObservedGeneration: cert.Generation,
	})
	cert.Status.Conditions = conds
	if err := k8s.Status().Update(ctx, cert); err != nil {
		t.Fatalf("triggering renewal: %v", err)
	}
}

func TestIssuerRotationKeepsRetiredKey(t *testing.T) {
	needEnv(t)
	ns := newNamespace(t, nil)
	if err := k8s.Create(ctx, newIssuer(ns, "rotating", clrv1.KeyAlgorithmEd25519)); err != nil {
		t.Fatal(err)
	}
	is := waitIssuerReady(t, ns, "rotating")
	oldKID := is.Status.CurrentKey.KID

	triggerRenewal(t, ns, "rotating-signing-key")
	eventually(t, 60*time.Second, "a new current key", func() (bool, string) {
		if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "rotating"}, is); err != nil {
			return false, err.Error()
		}
		if is.Status.CurrentKey == nil || is.Status.CurrentKey.KID == oldKID || !clrv1.IsReady(is) {
			return false, fmt.Sprintf("current key %+v", is.Status.CurrentKey)
		}
		return true, ""
	})
	newKID := is.Status.CurrentKey.KID
	secret := &corev1.Secret{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "rotating-signing-key"}, secret); err != nil {
		t.Fatal(err)
	}
	if kid, _ := independentKID(t, secret); kid != newKID {
		t.Fatalf("status.currentKey.kid %s does not match the renewed Secret's key %s", newKID, kid)
	}
	if len(is.Status.RetiredKeys) != 1 || is.Status.RetiredKeys[0].KID != oldKID || is.Status.RetiredKeys[0].RetiredAt == nil {
		t.Fatalf("status.retiredKeys = %+v, want the old key %s with retiredAt", is.Status.RetiredKeys, oldKID)
	}
	if is.Status.RetiredKeys[0].SecretName != "" {
		t.Errorf("a retired key names a Secret: %+v", is.Status.RetiredKeys[0])
	}
	kr := readKeyring(t, ns, "rotating")
	if len(kr.Keys) != 2 || kr.Keys[0].KID != newKID || kr.Keys[1].KID != oldKID || kr.Keys[1].RetiredAt == nil {
		t.Fatalf("keyring = %+v, want [%s current, %s retired]", kr.Keys, newKID, oldKID)
	}

	// Deleting the Issuer deletes its private key too.
	if err := k8s.Delete(ctx, is); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the key Secret to be garbage collected with the Issuer", func() (bool, string) {
		err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "rotating-signing-key"}, &corev1.Secret{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
}

// TestIssuerWithMissingCertManagerIssuer: spec.signing.issuerRef names a
// cert-manager Issuer that does not exist (a typo, or not created yet).
// cert-manager only says so on the CertificateRequest; once cert-manager
// has been issuing for a few seconds (issuerRefGrace) the Issuer's own
// status names the missing issuer and the field, and the Issuer becomes
// Ready, with no help, once the cert-manager Issuer is created.
func TestIssuerWithMissingCertManagerIssuer(t *testing.T) {
	needEnv(t)
	ns := newNamespace(t, nil)
	is := newIssuer(ns, "consortium-signed", clrv1.KeyAlgorithmEd25519)
	is.Spec.Signing.IssuerRef = &clrv1.CertManagerIssuerReference{Name: "consortium-ca"}
	if err := k8s.Create(ctx, is); err != nil {
		t.Fatal(err)
	}
	got := waitKeyNotReadyNaming(t, ns, is.Name, `cert-manager Issuer "consortium-ca" does not exist in namespace `+ns)
	// Waiting on a cert-manager Issuer is progress, not a stall: creating
	// it is enough.
	checkKstatus(t, got, got.Generation, got.Status.ObservedGeneration, "InProgress")

	ca := &cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "consortium-ca"},
		Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}}}
	if err := k8s.Create(ctx, ca); err != nil {
		t.Fatal(err)
	}
	ready := waitIssuerReady(t, ns, is.Name)
	if ready.Status.CurrentKey == nil {
		t.Fatal("Ready without a current key")
	}
}

// TestIssuerWithMissingClusterIssuer: the same for a ClusterIssuer, which
// the operator may read (get only) in every install mode.
func TestIssuerWithMissingClusterIssuer(t *testing.T) {
	needEnv(t)
	ns := newNamespace(t, nil)
	is := newIssuer(ns, "cluster-signed", clrv1.KeyAlgorithmEd25519)
	name := "consortium-root-" + ns // cluster-scoped: unique per test run
	is.Spec.Signing.IssuerRef = &clrv1.CertManagerIssuerReference{Name: name, Kind: "ClusterIssuer"}
	if err := k8s.Create(ctx, is); err != nil {
		t.Fatal(err)
	}
	waitKeyNotReadyNaming(t, ns, is.Name, `cert-manager ClusterIssuer "`+name+`" does not exist`)
	ci := &cmapi.ClusterIssuer{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}}}
	if err := k8s.Create(ctx, ci); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx, ci) })
	waitIssuerReady(t, ns, is.Name)
}

// waitKeyNotReadyNaming waits until the Issuer's KeyReady is False with
// reason CertificateNotReady and a message naming want and the field
// spec.signing.issuerRef, and returns the Issuer.
func waitKeyNotReadyNaming(t *testing.T, ns, name, want string) *clrv1.Issuer {
	t.Helper()
	got := &clrv1.Issuer{}
	eventually(t, 60*time.Second, "KeyReady False naming "+want, func() (bool, string) {
		if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, got); err != nil {
			return false, err.Error()
		}
		c := clrv1.FindCondition(got, clrv1.ConditionKeyReady)
		if c == nil {
			return false, "no KeyReady condition"
		}
		return c.Status == metav1.ConditionFalse && c.Reason == clrv1.ReasonCertificateNotReady &&
			strings.Contains(c.Message, want) && strings.Contains(c.Message, "spec.signing.issuerRef"), c.Reason + ": " + c.Message
	})
	return got
}
