package localcluster

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/learnerrecords/clr-operator/internal/tlscert"
)

// PKI is the certificate material of a local control plane, as files in
// Dir: a CA, the apiserver's serving certificate, an admin client
// certificate (group system:masters) and the service-account key pair.
type PKI struct {
	Dir string
}

// File names inside PKI.Dir.
const (
	CACert          = "ca.crt"
	CAKey           = "ca.key"
	APIServerCert   = "apiserver.crt"
	APIServerKey    = "apiserver.key"
	AdminCert       = "admin.crt"
	AdminKey        = "admin.key"
	ServiceAcctKey  = "sa.key"
	ServiceAcctPub  = "sa.pub"
	adminCommonName = "clr-local-admin"
)

// Path is the full path of one of the files.
func (p PKI) Path(name string) string { return filepath.Join(p.Dir, name) }

// pkiValidity is how long the local control plane's certificates last.
const pkiValidity = 365 * 24 * time.Hour

// GeneratePKI writes a fresh PKI into dir (private keys mode 0600).
func GeneratePKI(dir string) (PKI, error) {
	p := PKI{Dir: dir}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return p, err
	}
	ca, err := tlscert.New(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "clr-local-ca"},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, pkiValidity, nil)
	if err != nil {
		return p, fmt.Errorf("creating the CA: %w", err)
	}
	if err := p.write(CACert, CAKey, ca); err != nil {
		return p, err
	}
	leaf := func(certFile, keyFile string, tmpl *x509.Certificate) error {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		pair, err := tlscert.New(tmpl, pkiValidity, ca)
		if err != nil {
			return fmt.Errorf("creating %s: %w", certFile, err)
		}
		return p.write(certFile, keyFile, pair)
	}
	if err := leaf(APIServerCert, APIServerKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")},
	}); err != nil {
		return p, err
	}
	if err := leaf(AdminCert, AdminKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: adminCommonName, Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return p, err
	}
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return p, err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return p, err
	}
	if err := os.WriteFile(p.Path(ServiceAcctKey), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}), 0o600); err != nil {
		return p, err
	}
	if err := os.WriteFile(p.Path(ServiceAcctPub), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}), 0o644); err != nil {
		return p, err
	}
	return p, nil
}

// write stores a certificate (0644) and its key (0600) in the PKI's dir.
func (p PKI) write(certFile, keyFile string, pair *tlscert.Pair) error {
	certPEM, keyPEM, err := pair.PEM()
	if err != nil {
		return err
	}
	if err := os.WriteFile(p.Path(certFile), certPEM, 0o644); err != nil {
		return err
	}
	return os.WriteFile(p.Path(keyFile), keyPEM, 0o600)
}

// SelfSignedTLS returns a PEM certificate and key for hostnames, signed by
// itself: a stand-in for a TLS Secret an institution would provide.
func SelfSignedTLS(hostnames ...string) (certPEM, keyPEM []byte, err error) {
	pair, err := tlscert.New(&x509.Certificate{
		Subject:     pkix.Name{CommonName: hostnames[0]},
		DNSNames:    hostnames,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, 90*24*time.Hour, nil)
	if err != nil {
		return nil, nil, err
	}
	return pair.PEM()
}

// AdminKubeconfig is a kubeconfig for server using the admin client
// certificate, by file reference (no key material copied).
func (p PKI) AdminKubeconfig(server string) []byte {
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: clr-local
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: %s
  user:
    client-certificate: %s
    client-key: %s
contexts:
- name: clr-local
  context:
    cluster: clr-local
    user: %s
current-context: clr-local
`, server, p.Path(CACert), adminCommonName, p.Path(AdminCert), p.Path(AdminKey), adminCommonName)
}
