package serverconfig

import "time"

// Keyring is the published public keys of one issuer: the current signing key
// and every retired one still within retention. The operator keeps it in a
// ConfigMap (public keys only) so that a key renewal never makes a credential
// already issued unverifiable; clr-server serves it in the issuer's DID
// document and JWKS.
type Keyring struct {
	// Issuer is the issuer's name (Issuer.Name).
	Issuer string `json:"issuer"`
	// Keys, current first, then retired keys newest first.
	Keys []PublishedKey `json:"keys"`
}

// PublishedKey is one public key.
type PublishedKey struct {
	// KID is the RFC 7638 JWK SHA-256 thumbprint, base64url without padding.
	KID string `json:"kid"`
	// Algorithm is one of Ed25519, ECDSA-P256, ECDSA-P384, RSA-2048, RSA-3072.
	Algorithm string `json:"algorithm"`
	// PublicKeyJWK is the public JWK (never private members).
	PublicKeyJWK map[string]any `json:"publicKeyJwk"`
	// NotBefore/NotAfter are the validity of the key's certificate.
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	// RetiredAt is when a newer key replaced it; nil for the current key.
	RetiredAt *time.Time `json:"retiredAt,omitempty"`
}
