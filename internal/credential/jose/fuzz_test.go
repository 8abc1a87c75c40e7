package jose

import (
	"context"
	"crypto"
	"crypto/rand"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
)

// FuzzParseJWS feeds arbitrary strings to the parser and verifier (with an
// embedded-key path, so that signature checking is reached too). Nothing
// may panic, and nothing signed by an unknown key may verify with the
// resolver's key.
func FuzzParseJWS(f *testing.F) {
	ed, _ := keys.Generate(keys.Ed25519)
	jwk, _ := keys.PublicJWK(ed.Public())
	sign := func(in []byte) []byte { s, _ := ed.Sign(rand.Reader, in, crypto.Hash(0)); return s }
	s, _ := NewSigner(ed, "kid-1")
	good, _ := s.SignJSON([]byte(`{"@context":["https://www.w3.org/ns/credentials/v2"],"id":"urn:x","issuer":"did:example:1","validFrom":"2020-01-01T00:00:00Z","credentialSubject":{"id":"did:example:2"}}`))
	f.Add(good)
	f.Add(craft(map[string]any{"alg": "EdDSA", "jwk": jwk}, []byte(`{"vc":{"issuer":"x"}}`), sign))
	f.Add(craft(map[string]any{"alg": "none"}, []byte(`{"vc":{}}`), nil))
	f.Add(craft(map[string]any{"alg": "HS256", "kid": "kid-1"}, []byte(`{}`), nil))
	f.Add("a.b.c")
	f.Add("..")
	f.Add("eyJhbGciOiJFZERTQSJ9.e30.")
	f.Add("")
	other, _ := keys.Generate(keys.Ed25519)
	resolver := staticResolverAny("kid-1", other.Public())
	f.Fuzz(func(t *testing.T, token string) {
		if _, err := Parse(token); err != nil {
			return
		}
		res, err := Verify(context.Background(), token, resolver)
		if err == nil && res.Binding != BindingEmbedded {
			t.Fatalf("token verified with the resolver's key, which signed nothing: %q", token)
		}
	})
}

func staticResolverAny(kid string, pub crypto.PublicKey) KeyResolver {
	return KeyResolverFunc(func(ctx context.Context, k, issuer string) (ResolvedKey, error) {
		if k != kid {
			return ResolvedKey{}, ErrNoKey
		}
		return ResolvedKey{Key: pub, Bound: true}, nil
	})
}
