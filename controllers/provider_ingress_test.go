package controllers_test

import (
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/controllers"
)

// ingressCA creates, in ns, a CA cert-manager Issuer named name: a
// self-signed Issuer signs a CA Certificate, whose Secret the CA Issuer
// then signs with. It returns the name of the CA's Secret.
func ingressCA(t *testing.T, ns, name string) string {
	t.Helper()
	caSecret := name + "-root"
	for _, obj := range []client.Object{
		&cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-bootstrap"},
			Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{SelfSigned: &cmapi.SelfSignedIssuer{}}}},
		&cmapi.Certificate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: caSecret},
			Spec: cmapi.CertificateSpec{IsCA: true, CommonName: "Consortium ingress CA", SecretName: caSecret,
				PrivateKey: &cmapi.CertificatePrivateKey{Algorithm: cmapi.ECDSAKeyAlgorithm, Size: 256},
				IssuerRef:  cmmeta.IssuerReference{Name: name + "-bootstrap", Kind: cmapi.IssuerKind, Group: "cert-manager.io"}}},
		&cmapi.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: cmapi.IssuerSpec{IssuerConfig: cmapi.IssuerConfig{CA: &cmapi.CAIssuer{SecretName: caSecret}}}},
	} {
		if err := k8s.Create(ctx, obj); err != nil {
			t.Fatalf("creating %T %s: %v", obj, obj.GetName(), err)
		}
	}
	return caSecret
}

func providerCondition(t *testing.T, ns, name, typ string) (*clrv1.CLRProvider, *metav1.Condition) {
	t.Helper()
	p := getProvider(t, ns, name)
	return p, clrv1.FindCondition(p, typ)
}

// A provider with spec.ingress.tls.issuerRef gets its Ingress certificate
// from cert-manager: NetworkReady is False with IngressCertificateNotReady
// while the issuer cannot issue, and the provider becomes Ready once
// cert-manager has really issued the certificate into the Secret the
// Ingress references.
func TestProviderIngressCertificateFromCertManager(t *testing.T) {
	needEnv(t)
	ns := newNamespace(t, nil)
	p := tenant(t, ns)
	// Not "records": tenant() made a user Secret records-tls for the
	// secretName case, and the certificate's Secret is "<provider>-tls".
	p.Name = "portal"
	p.Spec.Ingress.TLS = &clrv1.IngressTLS{IssuerRef: &clrv1.CertManagerIssuerReference{Name: "ingress-ca"}}
	if err := k8s.Create(ctx, p); err != nil {
		t.Fatal(err)
	}

	// The cert-manager Issuer does not exist yet: the Certificate cannot be
	// issued, while everything else becomes ready. Once cert-manager has
	// been issuing for a few seconds (issuerRefGrace), the message names
	// the missing issuer, with no event to wake the provider but its own
	// requeue.
	eventually(t, 90*time.Second, "NetworkReady False IngressCertificateNotReady naming the missing issuer, with the workload ready", func() (bool, string) {
		p, net := providerCondition(t, ns, "portal", clrv1.ConditionNetworkReady)
		wl := clrv1.FindCondition(p, clrv1.ConditionWorkloadReady)
		if net == nil || wl == nil {
			return false, "conditions not set yet"
		}
		return net.Status == metav1.ConditionFalse && net.Reason == clrv1.ReasonIngressCertificateNotReady &&
				strings.Contains(net.Message, "does not exist") &&
				wl.Status == metav1.ConditionTrue && net.ObservedGeneration == p.Generation,
			net.Reason + ": " + net.Message + "; workload " + wl.Reason + ": " + wl.Message
	})
	p, net := providerCondition(t, ns, "portal", clrv1.ConditionNetworkReady)
	ready := clrv1.FindCondition(p, clrv1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != clrv1.ReasonIngressCertificateNotReady {
		t.Errorf("Ready = %+v, want False with reason %s", ready, clrv1.ReasonIngressCertificateNotReady)
	}
	for _, want := range []string{"portal-tls", `cert-manager Issuer "ingress-ca" does not exist`, "spec.ingress.tls.issuerRef"} {
		if !strings.Contains(net.Message, want) {
			t.Errorf("NetworkReady message %q does not mention %q", net.Message, want)
		}
	}
	// Waiting for cert-manager is progress, not a stall.
	checkKstatus(t, p, p.Generation, p.Status.ObservedGeneration, "InProgress")

	cert := &cmapi.Certificate{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "portal-tls"}, cert); err != nil {
		t.Fatalf("the operator made no Certificate: %v", err)
	}
	if !metav1.IsControlledBy(cert, p) || cert.Labels[controllers.LabelManagedBy] != controllers.ManagedByValue {
		t.Errorf("Certificate not owned or not labelled: owners %+v labels %v", cert.OwnerReferences, cert.Labels)
	}
	compareGolden(t, "provider/certificate.yaml", normalize(t, cert, ns))

	ing := &networkingv1.Ingress{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "portal"}, ing); err != nil {
		t.Fatal(err)
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "portal-tls" || len(ing.Spec.TLS[0].Hosts) != 1 || ing.Spec.TLS[0].Hosts[0] != p.Spec.Hostname {
		t.Errorf("Ingress TLS %+v, want Secret portal-tls for %s", ing.Spec.TLS, p.Spec.Hostname)
	}

	// The CA Issuer appears: cert-manager issues, the provider follows.
	caSecret := ingressCA(t, ns, "ingress-ca")
	p = waitProviderReady(t, ns, "portal")
	if c := clrv1.FindCondition(p, clrv1.ConditionNetworkReady); c == nil || c.Status != metav1.ConditionTrue || c.Reason != clrv1.ReasonSucceeded {
		t.Errorf("NetworkReady = %+v after the certificate was issued", c)
	}
	checkKstatus(t, p, p.Generation, p.Status.ObservedGeneration, "Current")

	// The Secret the Ingress references holds a certificate for the
	// hostname, signed by the CA, and carries the operator's labels (so
	// that the operator's label-filtered cache sees it).
	tlsSecret := &corev1.Secret{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "portal-tls"}, tlsSecret); err != nil {
		t.Fatal(err)
	}
	if tlsSecret.Labels[controllers.LabelManagedBy] != controllers.ManagedByValue {
		t.Errorf("TLS Secret lacks the managed-by label: %v", tlsSecret.Labels)
	}
	ca := &corev1.Secret{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: caSecret}, ca); err != nil {
		t.Fatal(err)
	}
	leaf := parseCert(t, tlsSecret.Data[corev1.TLSCertKey])
	roots := x509.NewCertPool()
	roots.AddCert(parseCert(t, ca.Data[corev1.TLSCertKey]))
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: p.Spec.Hostname, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Errorf("the Ingress certificate does not verify for %s against the CA: %v", p.Spec.Hostname, err)
	}

	// Switching to an existing Secret removes the Certificate the operator
	// had requested, and the Ingress follows.
	cur := getProvider(t, ns, "portal")
	patch := client.MergeFrom(cur.DeepCopy())
	cur.Spec.Ingress.TLS = &clrv1.IngressTLS{SecretName: "records-tls"}
	if err := k8s.Patch(ctx, cur, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "Certificate portal-tls deleted and the Ingress on records-tls", func() (bool, string) {
		certErr := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "portal-tls"}, &cmapi.Certificate{})
		if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: "portal"}, ing); err != nil {
			return false, err.Error()
		}
		onSecret := len(ing.Spec.TLS) == 1 && ing.Spec.TLS[0].SecretName == "records-tls"
		return apierrors.IsNotFound(certErr) && onSecret, "certificate: " + errString(certErr) + "; ingress TLS " + ingressTLSString(ing)
	})
}

func parseCert(t *testing.T, pemBytes []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatal("no PEM certificate")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func errString(err error) string {
	if err == nil {
		return "exists"
	}
	return err.Error()
}

func ingressTLSString(ing *networkingv1.Ingress) string {
	if len(ing.Spec.TLS) == 0 {
		return "none"
	}
	return ing.Spec.TLS[0].SecretName
}
