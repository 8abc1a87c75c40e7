// Package keys parses, generates and describes the signing keys of the
// credential core: PEM private keys as cert-manager writes them into a
// kubernetes.io/tls Secret, public JWKs and their RFC 7638 thumbprints (the
// key id used everywhere), and Multikey encodings used by DID documents.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// Algorithm names, as used in the operator's Issuer spec and keyring.
const (
	Ed25519   = "Ed25519"
	ECDSAP256 = "ECDSA-P256"
	ECDSAP384 = "ECDSA-P384"
	RSA2048   = "RSA-2048"
	RSA3072   = "RSA-3072"
	RSA4096   = "RSA-4096"
)

// MinRSABits is the smallest RSA modulus accepted for signing or verifying.
const MinRSABits = 2048

var (
	// ErrUnsupportedKey: the key type, curve or size is not one the
	// credential core signs or verifies with.
	ErrUnsupportedKey = errors.New("unsupported key")
	// ErrInvalidPEM: the input is not a usable PEM private key.
	ErrInvalidPEM = errors.New("invalid PEM private key")
	// ErrInvalidKey: a JWK or Multikey value is malformed.
	ErrInvalidKey = errors.New("invalid key encoding")
)

// ParsePrivateKeyPEM parses the first private key block of a PEM document:
// PKCS#8 ("PRIVATE KEY") for Ed25519, ECDSA and RSA; SEC1 ("EC PRIVATE KEY")
// for ECDSA; PKCS#1 ("RSA PRIVATE KEY") for RSA. Other blocks before it (for
// example "EC PARAMETERS" written by openssl ecparam) are skipped. Encrypted
// keys, unsupported curves and RSA keys below 2048 bits are rejected.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("%w: no private key block found", ErrInvalidPEM)
		}
		if _, encrypted := block.Headers["Proc-Type"]; encrypted {
			return nil, fmt.Errorf("%w: encrypted PEM blocks are not supported", ErrInvalidPEM)
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: PKCS#8: %v", ErrInvalidPEM, err)
			}
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: SEC1: %v", ErrInvalidPEM, err)
			}
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: PKCS#1: %v", ErrInvalidPEM, err)
			}
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%w: encrypted PKCS#8 keys are not supported", ErrInvalidPEM)
		default:
			continue
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, key)
		}
		if _, err := Algorithm(signer.Public()); err != nil {
			return nil, err
		}
		if rk, ok := signer.(*rsa.PrivateKey); ok {
			if err := rk.Validate(); err != nil {
				return nil, fmt.Errorf("%w: RSA key: %v", ErrInvalidPEM, err)
			}
		}
		return signer, nil
	}
}

// Algorithm names the algorithm family of a supported public key (or of a
// crypto.Signer's key): Ed25519, ECDSA-P256, ECDSA-P384 or RSA-<bits>.
func Algorithm(pub crypto.PublicKey) (string, error) {
	if s, ok := pub.(crypto.Signer); ok {
		pub = s.Public()
	}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("%w: Ed25519 public key of %d bytes", ErrUnsupportedKey, len(k))
		}
		return Ed25519, nil
	case *ed25519.PublicKey:
		return Algorithm(*k)
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return "", fmt.Errorf("%w: empty ECDSA key", ErrUnsupportedKey)
		}
		switch k.Curve {
		case elliptic.P256():
			return ECDSAP256, nil
		case elliptic.P384():
			return ECDSAP384, nil
		}
		return "", fmt.Errorf("%w: ECDSA curve %s", ErrUnsupportedKey, k.Curve.Params().Name)
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "", fmt.Errorf("%w: empty RSA key", ErrUnsupportedKey)
		}
		bits := k.N.BitLen()
		if bits < MinRSABits {
			return "", fmt.Errorf("%w: RSA key of %d bits (minimum %d)", ErrUnsupportedKey, bits, MinRSABits)
		}
		return fmt.Sprintf("RSA-%d", bits), nil
	}
	return "", fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
}

// Generate creates a new private key for one of the algorithm names
// (Ed25519, ECDSA-P256, ECDSA-P384, RSA-2048, RSA-3072, RSA-4096).
func Generate(algorithm string) (crypto.Signer, error) {
	switch algorithm {
	case Ed25519:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case RSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return nil, fmt.Errorf("%w: algorithm %q (want one of %s, %s, %s, %s, %s, %s)",
		ErrUnsupportedKey, algorithm, Ed25519, ECDSAP256, ECDSAP384, RSA2048, RSA3072, RSA4096)
}

// MarshalPrivateKeyPEM writes the key as a PKCS#8 "PRIVATE KEY" PEM block,
// the encoding cert-manager uses with privateKey.encoding: PKCS8 (and the
// only one it has for Ed25519).
func MarshalPrivateKeyPEM(signer crypto.Signer) ([]byte, error) {
	if _, err := Algorithm(signer.Public()); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return nil, fmt.Errorf("marshal PKCS#8: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// PublicKey returns the public half of a signer or public key, normalising
// *ed25519.PublicKey to ed25519.PublicKey.
func PublicKey(k any) crypto.PublicKey {
	switch v := k.(type) {
	case crypto.Signer:
		return v.Public()
	case *ed25519.PublicKey:
		return *v
	}
	return k
}

// Equal reports whether two public keys are the same key.
func Equal(a, b crypto.PublicKey) bool {
	a, b = PublicKey(a), PublicKey(b)
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := a.(equaler); ok {
		return e.Equal(b)
	}
	return false
}
