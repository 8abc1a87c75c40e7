// Package tlscert makes the X.509 certificates and ECDSA keys of servers
// that run on loopback or in the local sandbox: the local control plane's
// CA and leaves, stand-ins for institutions' TLS Secrets, and the
// self-signed certificates of the local and test OpenID Connect providers.
// Callers describe a certificate by its template (names, usages); the key
// generation, serial number, validity window, signing and PEM encoding are
// done once here.
package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Pair is a certificate and its private key.
type Pair struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// backdate keeps a fresh certificate valid on a machine whose clock is a
// little behind the one that made it.
const backdate = time.Hour

// New makes a P-256 key and a certificate for it from tmpl (subject, names,
// key usages, CA constraints), valid from an hour ago for validity, signed
// by issuer or, when issuer is nil, by itself. The serial number and the
// validity window of tmpl are set here.
func New(tmpl *x509.Certificate, validity time.Duration, issuer *Pair) (*Pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tlscert: generating the key of %q: %w", tmpl.Subject.CommonName, err)
	}
	// RFC 5280 §4.1.2.2: a positive serial of at most 20 octets; 127 random
	// bits keep serials unique without any record of the issued ones.
	tmpl.SerialNumber, err = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("tlscert: serial number: %w", err)
	}
	now := time.Now()
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-backdate), now.Add(validity)
	parent, signer := tmpl, key
	if issuer != nil {
		parent, signer = issuer.Cert, issuer.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("tlscert: creating the certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("tlscert: parsing the certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	return &Pair{Cert: cert, Key: key}, nil
}

// Loopback is a self-signed certificate for 127.0.0.1, ::1 and localhost.
// It is also a CA (BasicConstraints, CertSign) so that clients which only
// accept CA certificates as roots trust it: relying parties add it to their
// roots, since the CLRProvider API requires an https issuer.
func Loopback(commonName string, validity time.Duration) (*Pair, error) {
	return New(&x509.Certificate{
		Subject:               pkix.Name{CommonName: commonName},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, validity, nil)
}

// CertPEM is the certificate as a PEM CERTIFICATE block.
func (p *Pair) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Cert.Raw})
}

// KeyPEM is the private key as a PEM PRIVATE KEY (PKCS#8) block.
func (p *Pair) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(p.Key)
	if err != nil {
		return nil, fmt.Errorf("tlscert: encoding the key of %q: %w", p.Cert.Subject.CommonName, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// PEM is CertPEM and KeyPEM together, the form of a TLS Secret or of a
// server's --tls-cert and --tls-key files.
func (p *Pair) PEM() (certPEM, keyPEM []byte, err error) {
	keyPEM, err = p.KeyPEM()
	if err != nil {
		return nil, nil, err
	}
	return p.CertPEM(), keyPEM, nil
}

// TLS is the pair as a server certificate for crypto/tls.
func (p *Pair) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{p.Cert.Raw}, PrivateKey: p.Key, Leaf: p.Cert}
}
