package localidp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/learnerrecords/clr-operator/internal/tlscert"
)

// LoopbackCertificate returns a self-signed certificate (and its PKCS#8
// key) for 127.0.0.1, ::1 and localhost, valid for validity: relying
// parties trust the provider by adding the certificate to their roots, as
// the CLRProvider API requires an https issuer.
func LoopbackCertificate(validity time.Duration) (certPEM, keyPEM []byte, err error) {
	pair, err := tlscert.Loopback("clr-operator local OpenID Connect provider", validity)
	if err != nil {
		return nil, nil, fmt.Errorf("localidp: %w", err)
	}
	return pair.PEM()
}

// LoadOrCreateSigningKey reads the RSA signing key at path (PKCS#8 PEM),
// creating it (mode 0600) when absent, so that a restarted provider keeps
// the key relying parties have cached.
func LoadOrCreateSigningKey(path string) (*rsa.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("localidp: generating the signing key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, fmt.Errorf("localidp: writing the signing key: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("localidp: reading the signing key: %w", err)
	}
	b, _ := pem.Decode(raw)
	if b == nil || b.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("localidp: %s: no PEM PRIVATE KEY block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("localidp: %s: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("localidp: %s: not an RSA key", path)
	}
	return rk, nil
}
