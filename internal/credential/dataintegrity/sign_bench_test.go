package dataintegrity

import (
	"context"
	"crypto"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
)

// BenchmarkSign and BenchmarkVerify sign/verify the 1EdTech CLR test vector
// credential with each Data Integrity cryptosuite (contexts cached, as in a
// running server).
func BenchmarkSign(b *testing.B) {
	s := newSuite(b)
	doc := readJSON(b, "test-vectors/clrv2p0/credential.json")
	for _, alg := range []string{keys.Ed25519, keys.ECDSAP256, keys.ECDSAP384} {
		k, err := keys.Generate(alg)
		if err != nil {
			b.Fatal(err)
		}
		suite, _ := CryptosuiteFor(k.Public())
		b.Run(suite+"/"+alg, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Sign(context.Background(), doc, k, SignOptions{VerificationMethod: "did:example:issuer#k"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	s := newSuite(b)
	doc := readJSON(b, "test-vectors/clrv2p0/credential.json")
	for _, alg := range []string{keys.Ed25519, keys.ECDSAP256, keys.ECDSAP384} {
		k, err := keys.Generate(alg)
		if err != nil {
			b.Fatal(err)
		}
		signed, err := s.Sign(context.Background(), doc, k, SignOptions{VerificationMethod: "did:example:issuer#k"})
		if err != nil {
			b.Fatal(err)
		}
		pub := k.Public()
		r := KeyResolverFunc(func(context.Context, string) (crypto.PublicKey, error) { return pub, nil })
		suite, _ := CryptosuiteFor(pub)
		b.Run(suite+"/"+alg, func(b *testing.B) {
			for b.Loop() {
				res, err := s.Verify(context.Background(), signed, r)
				if err != nil || !res[0].Verified() {
					b.Fatal(err, res)
				}
			}
		})
	}
}
