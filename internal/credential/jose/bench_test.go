package jose

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
)

// credential6KB is the CLR test vector's credential padded to about 6 KB.
func credential6KB(tb testing.TB) []byte {
	var cred map[string]any
	if err := json.Unmarshal(credentialJSON(tb), &cred); err != nil {
		tb.Fatal(err)
	}
	raw, _ := json.Marshal(cred)
	cred["description"] = strings.Repeat("A record of learning. ", (6*1024-len(raw))/22)
	raw, _ = json.Marshal(cred)
	return raw
}

var benchAlgorithms = []string{keys.Ed25519, keys.ECDSAP256, keys.ECDSAP384, keys.RSA2048}

// BenchmarkSign signs a 6 KB credential. "known-claims" is the issuing
// path (claims at hand); "derive-claims" decodes them from the JSON first.
func BenchmarkSign(b *testing.B) {
	raw := credential6KB(b)
	claims, err := ClaimsFromCredential(raw)
	if err != nil {
		b.Fatal(err)
	}
	for _, alg := range benchAlgorithms {
		k, err := keys.Generate(alg)
		if err != nil {
			b.Fatal(err)
		}
		s, err := NewSigner(k, "did:web:example.edu#key-1")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(s.Algorithm()+"/known-claims", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := s.SignWithClaims(raw, claims); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.Algorithm()+"/derive-claims", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := s.SignJSON(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	raw := credential6KB(b)
	for _, alg := range benchAlgorithms {
		k, _ := keys.Generate(alg)
		s, _ := NewSigner(k, "kid-1")
		token, err := s.SignJSON(raw)
		if err != nil {
			b.Fatal(err)
		}
		r := staticResolver("kid-1", k.Public(), true)
		b.Run(s.Algorithm(), func(b *testing.B) {
			for b.Loop() {
				if _, err := Verify(context.Background(), token, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSignSideBySide signs the same 6 KB credential with EdDSA in turn
// with this package's Signer and with go-jose's general signer (marshalling
// the claims with the credential as a map each time, as a straightforward
// implementation would), reporting both rates.
func BenchmarkSignSideBySide(b *testing.B) {
	raw := credential6KB(b)
	var cred map[string]any
	if err := json.Unmarshal(raw, &cred); err != nil {
		b.Fatal(err)
	}
	k, _ := keys.Generate(keys.Ed25519)
	s, _ := NewSigner(k, "did:web:example.edu#key-1")
	claims, _ := ClaimsFromCredential(raw)
	gj, err := gojose.NewSigner(gojose.SigningKey{Algorithm: gojose.EdDSA, Key: k},
		(&gojose.SignerOptions{}).WithType("JWT").WithHeader("kid", "did:web:example.edu#key-1"))
	if err != nil {
		b.Fatal(err)
	}
	var ours, base time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := s.SignWithClaims(raw, claims); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		start = time.Now()
		payload, err := json.Marshal(map[string]any{"iss": claims.Issuer, "jti": claims.ID, "sub": claims.Subject, "nbf": claims.NotBefore.Unix(), "vc": cred})
		if err != nil {
			b.Fatal(err)
		}
		obj, err := gj.Sign(payload)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := obj.CompactSerialize(); err != nil {
			b.Fatal(err)
		}
		base += time.Since(start)
	}
	b.ReportMetric(float64(b.N)/ours.Seconds(), "ours-signs/s")
	b.ReportMetric(float64(b.N)/base.Seconds(), "go-jose-map-signs/s")
}
