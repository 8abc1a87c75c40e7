package jose

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	gojose "github.com/go-jose/go-jose/v4"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
)

// acceptedAlgorithms is the explicit allow-list passed to go-jose: "none"
// and the HMAC algorithms are never in it.
var acceptedAlgorithms = []gojose.SignatureAlgorithm{gojose.EdDSA, gojose.ES256, gojose.ES384, gojose.RS256}

// ResolvedKey is the key a kid resolved to.
type ResolvedKey struct {
	Key crypto.PublicKey
	// Bound is true when the issuer's own documents (DID document, JWKS)
	// list the key, or its controller is the issuer.
	Bound bool
	// VerificationMethod is the resolved method's id, when known.
	VerificationMethod string
}

// KeyResolver resolves the kid of a VC-JWT for the credential's issuer.
// B3's resolver (did:key, did:web, JWKS) implements it.
type KeyResolver interface {
	ResolveKey(ctx context.Context, kid, issuer string) (ResolvedKey, error)
}

// KeyResolverFunc adapts a function to KeyResolver.
type KeyResolverFunc func(ctx context.Context, kid, issuer string) (ResolvedKey, error)

// ResolveKey implements KeyResolver.
func (f KeyResolverFunc) ResolveKey(ctx context.Context, kid, issuer string) (ResolvedKey, error) {
	return f(ctx, kid, issuer)
}

// KeyBinding says where the verification key came from.
type KeyBinding string

const (
	// BindingIssuer: the kid resolved to a key bound to the issuer.
	BindingIssuer KeyBinding = "issuer"
	// BindingResolved: the kid resolved (e.g. a did:key) but the key is not
	// shown to belong to the issuer; a warning, not a failure.
	BindingResolved KeyBinding = "resolved"
	// BindingEmbedded: only the jwk header carried the key.
	BindingEmbedded KeyBinding = "embedded"
)

// Result is a verified VC-JWT.
type Result struct {
	// Credential is the credential JSON (the "vc" claim, or the whole
	// payload for a credential sent as top-level claims).
	Credential json.RawMessage
	// Header members.
	Algorithm string
	KeyID     string
	Type      string
	// EmbeddedJWK is the public jwk header, if any.
	EmbeddedJWK map[string]any
	// Key is the key that verified the signature and Binding where it
	// came from.
	Key        crypto.PublicKey
	Binding    KeyBinding
	Thumbprint string
	// Claims as found in the payload.
	Claims PayloadClaims
	// ClaimErrors lists claims inconsistent with the credential; the JWS is
	// not valid as a VC-JWT when it is non-empty.
	ClaimErrors []error
	// KeyResolutionError is why the kid did not resolve when the embedded
	// key was used instead.
	KeyResolutionError error
}

// PayloadClaims are the registered claims of the payload.
type PayloadClaims struct {
	Issuer    string `json:"iss,omitempty"`
	ID        string `json:"jti,omitempty"`
	Subject   string `json:"sub,omitempty"`
	NotBefore *int64 `json:"nbf,omitempty"`
	Expires   *int64 `json:"exp,omitempty"`
	IssuedAt  *int64 `json:"iat,omitempty"`
}

// Parse parses a compact JWS without verifying it, rejecting algorithms
// outside the allow-list. It is the entry point of FuzzParseJWS.
func Parse(token string) (*gojose.JSONWebSignature, error) {
	if len(token) > MaxTokenSize {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, len(token), MaxTokenSize)
	}
	token = strings.TrimSpace(token)
	if strings.Count(token, ".") != 2 {
		return nil, fmt.Errorf("%w: not a compact JWS", ErrMalformed)
	}
	jws, err := gojose.ParseSignedCompact(token, acceptedAlgorithms)
	if err != nil {
		if strings.Contains(err.Error(), "unexpected signature algorithm") {
			return nil, fmt.Errorf("%w: %v", ErrAlgorithm, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: %d signatures", ErrMalformed, len(jws.Signatures))
	}
	return jws, nil
}

// Verify verifies a compact VC-JWT: algorithm allow-list, the key found by
// kid (or embedded as jwk), algorithm/key agreement, signature, and the
// consistency of iss/jti/sub/nbf/exp with the credential. Time validity
// (now against nbf/exp) is the caller's policy and not checked here.
func Verify(ctx context.Context, token string, resolver KeyResolver) (*Result, error) {
	jws, err := Parse(token)
	if err != nil {
		return nil, err
	}
	sig := jws.Signatures[0]
	h := sig.Protected
	res := &Result{Algorithm: h.Algorithm, KeyID: h.KeyID}
	if typ, ok := h.ExtraHeaders["typ"].(string); ok {
		res.Type = typ
	}
	switch res.Type {
	case "", "JWT", "vc+jwt", "vc+ld+jwt", "vc+ld+json+jwt":
	default:
		return nil, fmt.Errorf("%w: typ %q", ErrMalformed, res.Type)
	}
	// No extension header is understood, so none may be critical.
	if _, ok := h.ExtraHeaders["crit"]; ok {
		return nil, fmt.Errorf("%w: critical header extensions are not supported", ErrMalformed)
	}

	// The payload is read before verification only to learn the issuer
	// for key resolution; nothing from it is trusted until the signature
	// has been checked below.
	unverified := jws.UnsafePayloadWithoutVerification()
	credRaw, claims, err := splitPayload(unverified)
	if err != nil {
		return nil, err
	}
	var fields credentialFields
	if err := json.Unmarshal(credRaw, &fields); err != nil {
		return nil, fmt.Errorf("%w: credential: %v", ErrMalformed, err)
	}
	issuer := fields.issuerID()
	if issuer == "" {
		issuer = claims.Issuer
	}

	var embedded crypto.PublicKey
	if h.JSONWebKey != nil {
		jwkJSON, err := h.JSONWebKey.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%w: jwk header: %v", ErrMalformed, err)
		}
		if !h.JSONWebKey.IsPublic() {
			return nil, fmt.Errorf("%w: jwk header carries a private key", ErrMalformed)
		}
		embedded, err = keys.ParsePublicJWKJSON(jwkJSON)
		if err != nil {
			return nil, fmt.Errorf("%w: jwk header: %v", ErrMalformed, err)
		}
		_ = json.Unmarshal(jwkJSON, &res.EmbeddedJWK)
	}

	var key crypto.PublicKey
	if h.KeyID != "" && resolver != nil {
		rk, rerr := resolver.ResolveKey(ctx, h.KeyID, issuer)
		switch {
		case rerr == nil && rk.Key != nil:
			key = rk.Key
			res.Binding = BindingResolved
			if rk.Bound {
				res.Binding = BindingIssuer
			}
			if embedded != nil && !keys.Equal(embedded, key) {
				return nil, fmt.Errorf("%w (kid %s)", ErrKeyConfusion, h.KeyID)
			}
		case rerr != nil:
			res.KeyResolutionError = rerr
		}
	}
	if key == nil && embedded != nil {
		key, res.Binding = embedded, BindingEmbedded
	}
	if key == nil {
		if res.KeyResolutionError != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoKey, res.KeyResolutionError)
		}
		return nil, ErrNoKey
	}
	if err := matchesKey(h.Algorithm, key); err != nil {
		return nil, err
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	// Re-split the verified payload (identical bytes; explicit for clarity).
	credRaw, claims, err = splitPayload(payload)
	if err != nil {
		return nil, err
	}
	res.Credential, res.Claims, res.Key = credRaw, claims, key
	res.Thumbprint, _ = keys.Thumbprint(key)
	res.ClaimErrors = checkClaims(claims, fields)
	return res, nil
}

// splitPayload finds the credential: the "vc" claim, or the payload itself
// when it is a credential (VC-JWT with the credential as the claims set).
func splitPayload(payload []byte) (json.RawMessage, PayloadClaims, error) {
	var p struct {
		PayloadClaims
		VC      json.RawMessage `json:"vc"`
		Context json.RawMessage `json:"@context"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, PayloadClaims{}, fmt.Errorf("%w: payload is not a JSON object: %v", ErrMalformed, err)
	}
	if len(p.VC) > 0 && string(p.VC) != "null" {
		if p.VC[0] != '{' {
			return nil, PayloadClaims{}, fmt.Errorf("%w: vc claim is not an object", ErrNoCredential)
		}
		return p.VC, p.PayloadClaims, nil
	}
	if len(p.Context) > 0 {
		return json.RawMessage(payload), p.PayloadClaims, nil
	}
	return nil, PayloadClaims{}, ErrNoCredential
}

func checkClaims(cl PayloadClaims, f credentialFields) []error {
	var errs []error
	mismatch := func(claim, got, want string) {
		errs = append(errs, fmt.Errorf("%w: %s %q, credential has %q", ErrClaimMismatch, claim, got, want))
	}
	if iss := f.issuerID(); cl.Issuer != "" && iss != "" && cl.Issuer != iss {
		mismatch("iss", cl.Issuer, iss)
	}
	if cl.ID != "" && f.ID != "" && cl.ID != f.ID {
		mismatch("jti", cl.ID, f.ID)
	}
	if sub := f.subjectID(); cl.Subject != "" && sub != "" && cl.Subject != sub {
		mismatch("sub", cl.Subject, sub)
	}
	want, err := f.claims()
	if err != nil {
		return append(errs, err)
	}
	if cl.NotBefore != nil && !want.NotBefore.IsZero() && *cl.NotBefore != want.NotBefore.Unix() {
		mismatch("nbf", time.Unix(*cl.NotBefore, 0).UTC().Format(time.RFC3339), want.NotBefore.UTC().Format(time.RFC3339))
	}
	if want.Expires != nil && cl.Expires == nil {
		errs = append(errs, fmt.Errorf("%w: exp missing while the credential has validUntil", ErrClaimMismatch))
	}
	if cl.Expires != nil && want.Expires != nil && *cl.Expires != want.Expires.Unix() {
		mismatch("exp", time.Unix(*cl.Expires, 0).UTC().Format(time.RFC3339), want.Expires.UTC().Format(time.RFC3339))
	}
	return errs
}
