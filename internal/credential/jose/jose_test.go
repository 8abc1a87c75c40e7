package jose

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
	"github.com/learnerrecords/clr-operator/internal/sharedclr"
)

func sharedDir(tb testing.TB) string {
	tb.Helper()
	return sharedclr.Dir(tb)
}

func credentialJSON(tb testing.TB) []byte {
	b, err := os.ReadFile(filepath.Join(sharedDir(tb), "test-vectors", "clrv2p0", "credential.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

const issuerID = "https://example.edu/issuers/565049"

// staticResolver resolves exactly one kid to one key.
func staticResolver(kid string, pub crypto.PublicKey, bound bool) KeyResolver {
	return KeyResolverFunc(func(ctx context.Context, k, issuer string) (ResolvedKey, error) {
		if k != kid {
			return ResolvedKey{}, fmt.Errorf("unknown kid %q", k)
		}
		if issuer != issuerID {
			return ResolvedKey{}, fmt.Errorf("unexpected issuer %q", issuer)
		}
		return ResolvedKey{Key: pub, Bound: bound, VerificationMethod: k}, nil
	})
}

func TestSignVerifyAllAlgorithms(t *testing.T) {
	raw := credentialJSON(t)
	for _, alg := range []string{keys.Ed25519, keys.ECDSAP256, keys.ECDSAP384, keys.RSA2048} {
		t.Run(alg, func(t *testing.T) {
			k, err := keys.Generate(alg)
			if err != nil {
				t.Fatal(err)
			}
			tp, _ := keys.Thumbprint(k.Public())
			kid := "did:web:example.edu:issuers:565049#" + tp
			s, err := NewSigner(k, kid)
			if err != nil {
				t.Fatal(err)
			}
			token, err := s.SignJSON(raw)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Verify(context.Background(), token, staticResolver(kid, k.Public(), true))
			if err != nil {
				t.Fatal(err)
			}
			wantAlg := map[string]string{keys.Ed25519: "EdDSA", keys.ECDSAP256: "ES256", keys.ECDSAP384: "ES384", keys.RSA2048: "RS256"}[alg]
			if res.Algorithm != wantAlg || res.KeyID != kid || res.Type != "JWT" || res.Binding != BindingIssuer || res.Thumbprint != tp {
				t.Fatalf("result header %+v", res)
			}
			if len(res.ClaimErrors) != 0 {
				t.Fatalf("claim errors: %v", res.ClaimErrors)
			}
			if res.Claims.Issuer != issuerID || res.Claims.ID != "http://example.edu/credentials/3732" ||
				res.Claims.Subject != "did:example:ebfeb1f712ebc6f1c276e12ec21" || res.Claims.NotBefore == nil ||
				*res.Claims.NotBefore != time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC).Unix() || res.Claims.Expires != nil {
				t.Fatalf("claims %+v", res.Claims)
			}
			if string(res.Credential) != string(raw) {
				t.Fatal("credential bytes changed")
			}
			// Tampering with the payload breaks the signature.
			parts := strings.Split(token, ".")
			payload, _ := b64.DecodeString(parts[1])
			tampered := strings.Replace(string(payload), "Sample Transcript", "Sample Transcripz", 1)
			bad := parts[0] + "." + b64.EncodeToString([]byte(tampered)) + "." + parts[2]
			if _, err := Verify(context.Background(), bad, staticResolver(kid, k.Public(), true)); !errors.Is(err, ErrSignature) {
				t.Fatalf("tampered token: err = %v", err)
			}
			// A different key of the same type fails.
			other, _ := keys.Generate(alg)
			if _, err := Verify(context.Background(), token, staticResolver(kid, other.Public(), true)); !errors.Is(err, ErrSignature) {
				t.Fatalf("wrong key: err = %v", err)
			}
		})
	}
}

func TestExpClaim(t *testing.T) {
	var cred map[string]any
	json.Unmarshal(credentialJSON(t), &cred)
	cred["validUntil"] = "2030-01-01T00:00:00Z"
	k, _ := keys.Generate(keys.Ed25519)
	s, _ := NewSigner(k, "kid-1")
	token, err := s.Sign(cred)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Verify(context.Background(), token, staticResolver("kid-1", k.Public(), false))
	if err != nil {
		t.Fatal(err)
	}
	if res.Claims.Expires == nil || *res.Claims.Expires != time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Unix() {
		t.Fatalf("exp = %v", res.Claims.Expires)
	}
	if res.Binding != BindingResolved {
		t.Fatalf("binding = %s", res.Binding)
	}
}

// craft builds a compact JWS with an arbitrary header and payload, signed by
// sign (or with an empty signature).
func craft(header map[string]any, payload []byte, sign func(input []byte) []byte) string {
	h, _ := json.Marshal(header)
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(payload)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + b64.EncodeToString(sig)
}

func vcPayload(tb testing.TB, claims map[string]any) []byte {
	var cred map[string]any
	json.Unmarshal(credentialJSON(tb), &cred)
	p := map[string]any{"iss": issuerID, "jti": cred["id"], "sub": "did:example:ebfeb1f712ebc6f1c276e12ec21", "nbf": 1262304000, "vc": cred}
	for k, v := range claims {
		if v == nil {
			delete(p, k)
		} else {
			p[k] = v
		}
	}
	b, _ := json.Marshal(p)
	return b
}

func TestAttacksRejected(t *testing.T) {
	ed, _ := keys.Generate(keys.Ed25519)
	edOther, _ := keys.Generate(keys.Ed25519)
	rsaKey, _ := keys.Generate(keys.RSA2048)
	p256, _ := keys.Generate(keys.ECDSAP256)
	edJWK, _ := keys.PublicJWK(ed.Public())
	otherJWK, _ := keys.PublicJWK(edOther.Public())
	rsaJWK, _ := keys.PublicJWK(rsaKey.Public())
	pemPub, _ := json.Marshal(rsaJWK)
	edSign := func(k crypto.Signer) func([]byte) []byte {
		return func(in []byte) []byte { s, _ := k.Sign(rand.Reader, in, crypto.Hash(0)); return s }
	}
	payload := vcPayload(t, nil)
	resolver := staticResolver("kid-ed", ed.Public(), true)
	rsaResolver := staticResolver("kid-rsa", rsaKey.Public(), true)

	cases := []struct {
		name     string
		token    string
		resolver KeyResolver
		want     error
	}{
		{"alg none", craft(map[string]any{"alg": "none", "kid": "kid-ed"}, payload, nil), resolver, ErrAlgorithm},
		{"alg None", craft(map[string]any{"alg": "None", "kid": "kid-ed"}, payload, nil), resolver, ErrAlgorithm},
		{"HS256 with public key as secret", craft(map[string]any{"alg": "HS256", "kid": "kid-rsa"}, payload, func(in []byte) []byte {
			m := hmac.New(sha256.New, pemPub)
			m.Write(in)
			return m.Sum(nil)
		}), rsaResolver, ErrAlgorithm},
		{"HS512", craft(map[string]any{"alg": "HS512", "kid": "kid-ed"}, payload, nil), resolver, ErrAlgorithm},
		{"PS256 not allowed", craft(map[string]any{"alg": "PS256", "kid": "kid-rsa"}, payload, nil), rsaResolver, ErrAlgorithm},
		{"ES256 header with RSA key", craft(map[string]any{"alg": "ES256", "kid": "kid-rsa"}, payload, func(in []byte) []byte { return make([]byte, 64) }), rsaResolver, ErrAlgorithmKey},
		{"RS256 header with Ed25519 key", craft(map[string]any{"alg": "RS256", "kid": "kid-ed"}, payload, func(in []byte) []byte { return make([]byte, 256) }), resolver, ErrAlgorithmKey},
		{"EdDSA header with P-256 key", craft(map[string]any{"alg": "EdDSA", "kid": "kid-p256"}, payload, edSign(ed)), staticResolver("kid-p256", p256.Public(), true), ErrAlgorithmKey},
		{"embedded jwk differs from kid key", craft(map[string]any{"alg": "EdDSA", "kid": "kid-ed", "jwk": otherJWK}, payload, edSign(edOther)), resolver, ErrKeyConfusion},
		{"no kid no jwk", craft(map[string]any{"alg": "EdDSA"}, payload, edSign(ed)), resolver, ErrNoKey},
		{"unresolvable kid no jwk", craft(map[string]any{"alg": "EdDSA", "kid": "kid-unknown"}, payload, edSign(ed)), resolver, ErrNoKey},
		{"private jwk in header", craft(map[string]any{"alg": "EdDSA", "jwk": map[string]any{"kty": "OKP", "crv": "Ed25519", "x": edJWK["x"], "d": b64.EncodeToString(ed.(ed25519.PrivateKey).Seed())}}, payload, edSign(ed)), nil, ErrMalformed},
		{"signature by other key", craft(map[string]any{"alg": "EdDSA", "kid": "kid-ed"}, payload, edSign(edOther)), resolver, ErrSignature},
		{"empty signature", craft(map[string]any{"alg": "EdDSA", "kid": "kid-ed"}, payload, nil), resolver, ErrSignature},
		{"two parts", "eyJhbGciOiJFZERTQSJ9.e30", resolver, ErrMalformed},
		{"JWE-like five parts", "a.b.c.d.e", resolver, ErrMalformed},
		{"bad base64 header", "!!!.e30.AA", resolver, ErrMalformed},
		{"payload not JSON", craft(map[string]any{"alg": "EdDSA", "kid": "kid-ed"}, []byte("not json"), edSign(ed)), resolver, ErrMalformed},
		{"no credential", craft(map[string]any{"alg": "EdDSA", "kid": "kid-ed"}, []byte(`{"iss":"x"}`), edSign(ed)), resolver, ErrNoCredential},
		{"vc not an object", craft(map[string]any{"alg": "EdDSA", "kid": "kid-ed"}, []byte(`{"vc":"x"}`), edSign(ed)), resolver, ErrNoCredential},
		{"wrong typ", craft(map[string]any{"alg": "EdDSA", "kid": "kid-ed", "typ": "JWE"}, payload, edSign(ed)), resolver, ErrMalformed},
		{"crit header", craft(map[string]any{"alg": "EdDSA", "kid": "kid-ed", "crit": []string{"exp"}, "exp": 1}, payload, edSign(ed)), resolver, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(context.Background(), tc.token, tc.resolver)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestEmbeddedKeyAndTopLevelCredential(t *testing.T) {
	ed, _ := keys.Generate(keys.Ed25519)
	jwk, _ := keys.PublicJWK(ed.Public())
	sign := func(in []byte) []byte { s, _ := ed.Sign(rand.Reader, in, crypto.Hash(0)); return s }

	// Only an embedded key: accepted, reported as embedded.
	res, err := Verify(context.Background(), craft(map[string]any{"alg": "EdDSA", "typ": "JWT", "jwk": jwk}, vcPayload(t, nil), sign), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Binding != BindingEmbedded || res.EmbeddedJWK["x"] != jwk["x"] {
		t.Fatalf("binding %s jwk %v", res.Binding, res.EmbeddedJWK)
	}
	// kid that resolves and an identical embedded jwk: bound.
	res, err = Verify(context.Background(), craft(map[string]any{"alg": "EdDSA", "kid": "k", "jwk": jwk}, vcPayload(t, nil), sign), staticResolver("k", ed.Public(), true))
	if err != nil || res.Binding != BindingIssuer {
		t.Fatalf("bound: %v %v", res, err)
	}
	// kid that does not resolve falls back to the embedded key and says why.
	res, err = Verify(context.Background(), craft(map[string]any{"alg": "EdDSA", "kid": "other", "jwk": jwk}, vcPayload(t, nil), sign), staticResolver("k", ed.Public(), true))
	if err != nil || res.Binding != BindingEmbedded || res.KeyResolutionError == nil {
		t.Fatalf("fallback: %+v %v", res, err)
	}

	// The credential as the claims set itself.
	cred := credentialJSON(t)
	res, err = Verify(context.Background(), craft(map[string]any{"alg": "EdDSA", "kid": "k"}, cred, sign), staticResolver("k", ed.Public(), true))
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Credential) != string(cred) || len(res.ClaimErrors) != 0 {
		t.Fatalf("top-level credential: %s %v", res.Credential, res.ClaimErrors)
	}
}

func TestClaimMismatches(t *testing.T) {
	ed, _ := keys.Generate(keys.Ed25519)
	sign := func(in []byte) []byte { s, _ := ed.Sign(rand.Reader, in, crypto.Hash(0)); return s }
	r := staticResolver("k", ed.Public(), true)
	for claim, value := range map[string]any{
		"iss": "https://evil.example/issuer",
		"jti": "urn:uuid:other",
		"sub": "did:example:someone-else",
		"nbf": 1,
	} {
		t.Run(claim, func(t *testing.T) {
			payload := vcPayload(t, map[string]any{claim: value})
			res, err := Verify(context.Background(), craft(map[string]any{"alg": "EdDSA", "kid": "k"}, payload, sign), r)
			// The resolver is asked for the credential's issuer, not the
			// iss claim, so resolution works and the mismatch shows.
			if err != nil {
				t.Fatal(err)
			}
			if len(res.ClaimErrors) != 1 || !errors.Is(res.ClaimErrors[0], ErrClaimMismatch) || !strings.Contains(res.ClaimErrors[0].Error(), claim) {
				t.Fatalf("claim errors %v", res.ClaimErrors)
			}
		})
	}
	// exp missing although the credential expires.
	var cred map[string]any
	json.Unmarshal(credentialJSON(t), &cred)
	cred["validUntil"] = "2030-01-01T00:00:00Z"
	payload, _ := json.Marshal(map[string]any{"iss": issuerID, "vc": cred})
	res, err := Verify(context.Background(), craft(map[string]any{"alg": "EdDSA", "kid": "k"}, payload, sign), r)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ClaimErrors) != 1 || !strings.Contains(res.ClaimErrors[0].Error(), "exp") {
		t.Fatalf("claim errors %v", res.ClaimErrors)
	}
}

func TestSignerRejects(t *testing.T) {
	ed, _ := keys.Generate(keys.Ed25519)
	if _, err := NewSigner(ed, ""); !errors.Is(err, ErrMissingKeyID) {
		t.Fatalf("empty kid: %v", err)
	}
	s, _ := NewSigner(ed, "k")
	if _, err := s.SignJSON([]byte(`{"id":"x"}`)); !errors.Is(err, ErrCredentialNoIssuer) {
		t.Fatalf("no issuer: %v", err)
	}
	if _, err := s.SignJSON([]byte(`{"issuer":"x","validFrom":"yesterday"}`)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("bad validFrom: %v", err)
	}
}
