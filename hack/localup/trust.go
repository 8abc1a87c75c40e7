package main

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// systemRootFiles are where Linux distributions keep their CA bundle (the
// list crypto/x509 searches).
var systemRootFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Gentoo
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL 6
	"/etc/ssl/ca-bundle.pem",                            // openSUSE
	"/etc/pki/tls/cacert.pem",                           // OpenELEC
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
	"/etc/ssl/cert.pem",                                 // Alpine
}

// writeTrustBundle writes to dst the system roots followed by the CA
// certificates of caFiles (the local OpenID Connect provider's, --trust-ca),
// and returns dst. SSL_CERT_FILE replaces the system roots rather than
// adding to them, hence the copy.
func writeTrustBundle(dst string, caFiles ...string) (string, error) {
	var extra []byte
	for _, caFile := range caFiles {
		raw, err := os.ReadFile(caFile)
		if err != nil {
			return "", fmt.Errorf("trusted CA file: %w", err)
		}
		rest, n := raw, 0
		for {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			if b.Type != "CERTIFICATE" {
				continue
			}
			if _, err := x509.ParseCertificate(b.Bytes); err != nil {
				return "", fmt.Errorf("trusted CA file %s: %w", caFile, err)
			}
			n++
		}
		if n == 0 {
			return "", fmt.Errorf("trusted CA file %s: no PEM CERTIFICATE block", caFile)
		}
		extra = append(append(extra, raw...), '\n')
	}
	var bundle []byte
	for _, f := range systemRootFiles {
		if b, err := os.ReadFile(f); err == nil {
			bundle = append(b, '\n')
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("reading the system roots: %w", err)
		}
	}
	bundle = append(bundle, extra...)
	if err := os.WriteFile(dst, bundle, 0o644); err != nil {
		return "", err
	}
	return dst, nil
}
