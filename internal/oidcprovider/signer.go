package oidcprovider

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Signer signs ID tokens (RS256) with an RSA key published under KeyID.
type Signer struct {
	Key   *rsa.PrivateKey
	KeyID string
}

// NewSigner returns a signer for key, whose key id is the key's JWK
// thumbprint (RFC 7638): stable for the key, so that relying parties'
// cached JWKS stay right across restarts.
func NewSigner(key *rsa.PrivateKey) (*Signer, error) {
	if key == nil || key.N.BitLen() < 2048 {
		return nil, errors.New("oidcprovider: an RSA signing key of at least 2048 bits is required")
	}
	thumb, err := (&jose.JSONWebKey{Key: &key.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("oidcprovider: key thumbprint: %w", err)
	}
	return &Signer{Key: key, KeyID: base64.RawURLEncoding.EncodeToString(thumb)}, nil
}

// JWKS is the key set relying parties verify the ID tokens with.
func (s *Signer) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &s.Key.PublicKey, KeyID: s.KeyID, Algorithm: string(jose.RS256), Use: "sig",
	}}}
}

// Sign serialises claims as a compact JWT signed with RS256.
func (s *Signer) Sign(claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: s.Key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", s.KeyID))
	if err != nil {
		return "", fmt.Errorf("oidcprovider: signer: %w", err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("oidcprovider: signing the ID token: %w", err)
	}
	return tok, nil
}
