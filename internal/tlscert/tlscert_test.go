package tlscert_test

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/tlscert"
)

// A loopback certificate is its own trust anchor: an HTTPS server using it
// is reached at 127.0.0.1, [::1] and localhost by a client trusting only
// that certificate, and refused by a client with the system roots.
func TestLoopbackServes(t *testing.T) {
	pair, err := tlscert.Loopback("tlscert test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := pair.PEM()
	if err != nil {
		t.Fatal(err)
	}
	fromPEM, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("the PEM pair does not load: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{fromPEM}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(certPEM) {
		t.Fatal("CertPEM is not a PEM certificate")
	}
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	resp, err := trusting.Get("https://localhost:" + port)
	if err != nil {
		t.Fatalf("localhost: %v", err)
	}
	resp.Body.Close()
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		if _, err := pair.Cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := pair.Cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "example.org"}); err == nil {
		t.Error("the loopback certificate verifies for example.org")
	}
	if _, err := http.Get(srv.URL); err == nil {
		t.Error("a client with the system roots only connected")
	}
	if got := pair.TLS(); got.Leaf != pair.Cert || len(got.Certificate) != 1 {
		t.Errorf("TLS() = %d certificates, leaf %v", len(got.Certificate), got.Leaf != nil)
	}
	if !pair.Cert.IsCA || pair.Cert.NotAfter.After(time.Now().Add(time.Hour+time.Minute)) || pair.Cert.NotBefore.After(time.Now()) {
		t.Errorf("CA %v, valid %s to %s", pair.Cert.IsCA, pair.Cert.NotBefore, pair.Cert.NotAfter)
	}
}

// A leaf made with an issuer verifies against that issuer only, and two
// certificates never share a serial number.
func TestIssuedLeaf(t *testing.T) {
	ca, err := tlscert.New(&x509.Certificate{Subject: pkix.Name{CommonName: "test CA"}, KeyUsage: x509.KeyUsageCertSign,
		BasicConstraintsValid: true, IsCA: true}, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := tlscert.Loopback("other", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := tlscert.New(&x509.Certificate{Subject: pkix.Name{CommonName: "client"}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, time.Hour, ca)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(root *tlscert.Pair) error {
		roots := x509.NewCertPool()
		roots.AddCert(root.Cert)
		_, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		return err
	}
	if err := verify(ca); err != nil {
		t.Errorf("the leaf does not verify against its issuer: %v", err)
	}
	if err := verify(other); err == nil {
		t.Error("the leaf verifies against another CA")
	}
	if leaf.Cert.SerialNumber.Cmp(ca.Cert.SerialNumber) == 0 || leaf.Cert.SerialNumber.Sign() <= 0 {
		t.Errorf("serials %v and %v", leaf.Cert.SerialNumber, ca.Cert.SerialNumber)
	}
}
