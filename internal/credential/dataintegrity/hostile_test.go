package dataintegrity

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/jsonld"
	"github.com/learnerrecords/clr-operator/internal/credential/keys"
)

// Inputs that must be refused before signing, each with its error.
func TestCanonicalizeRejects(t *testing.T) {
	c := NewCanonicalizer(testLoader(t), DefaultLimits)
	ctx := context.Background()
	simple := func(mut func(m map[string]any)) map[string]any {
		m := readJSON(t, "examples/ob30/simple-noproof.json")
		mut(m)
		return m
	}
	v2 := func(mut func(m map[string]any)) map[string]any {
		m := readJSON(t, "test-vectors/clrv2p0/credential.json")
		mut(m)
		return m
	}
	cases := []struct {
		name string
		doc  map[string]any
		want error
	}{
		{"control character U+0001", v2(func(m map[string]any) { m["name"] = "a\x01b" }), ErrControlCharacter},
		{"tab", v2(func(m map[string]any) { m["name"] = "a\tb" }), ErrControlCharacter},
		{"backspace", v2(func(m map[string]any) { m["name"] = "a\bb" }), ErrControlCharacter},
		{"DEL", v2(func(m map[string]any) { m["name"] = "a\x7fb" }), ErrControlCharacter},
		{"space in IRI", v2(func(m map[string]any) { m["id"] = "http://example.edu/a b" }), ErrControlCharacter},
		{"relative @type under VC v1", simple(func(m map[string]any) {
			m["credentialSchema"] = []any{map[string]any{"id": "https://example.edu/schema.json", "type": "SomeValidator2019"}}
		}), ErrRelativeIRI},
		{"relative id", simple(func(m map[string]any) { m["id"] = "credentials/1" }), ErrRelativeIRI},
		{"undefined term under VC v1 (safe mode)", simple(func(m map[string]any) { m["undefinedTerm"] = "x" }), ErrCanonicalization},
		{"unknown context", v2(func(m map[string]any) {
			m["@context"] = append(m["@context"].([]any), "https://evil.example/context.json")
		}), jsonld.ErrUnknownContext},
		{"unknown draft CLR context", readJSON(t, "examples/clr20/simple-noproof.json"), jsonld.ErrUnknownContext},
		{"poison clique of 8", cliqueDocument(8), ErrTooComplex},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Canonicalize(ctx, tc.doc)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// Newlines and CR are escaped alike by every implementation: allowed.
	if _, err := c.Canonicalize(ctx, v2(func(m map[string]any) { m["description"] = "line 1\nline 2\r\n" })); err != nil {
		t.Fatalf("newline rejected: %v", err)
	}
	// Stars of identical anonymous nodes are cheap and accepted.
	var kids []any
	for i := 0; i < 40; i++ {
		kids = append(kids, map[string]any{"http://example.com/v": "same"})
	}
	if _, err := c.Canonicalize(ctx, map[string]any{"http://example.com/root": map[string]any{"http://example.com/child": kids}}); err != nil {
		t.Fatalf("star rejected: %v", err)
	}
}

func TestLimits(t *testing.T) {
	ctx := context.Background()
	doc := makeCLR(t, 3)
	if _, err := NewCanonicalizer(testLoader(t), Limits{MaxQuads: 50}).Canonicalize(ctx, doc); !errors.Is(err, ErrTooComplex) {
		t.Fatalf("MaxQuads: %v", err)
	}
	if _, err := NewCanonicalizer(testLoader(t), Limits{MaxBlankNodes: 2}).Canonicalize(ctx, doc); !errors.Is(err, ErrTooComplex) {
		t.Fatalf("MaxBlankNodes: %v", err)
	}
	// The RDFC-1.0 work limit stops a clique of 6 when the structural
	// limit is lifted...
	if _, err := NewCanonicalizer(testLoader(t), Limits{MaxWork: 1000}).Canonicalize(ctx, cliqueDocument(6)); !errors.Is(err, ErrTooComplex) {
		t.Fatalf("MaxWork: %v", err)
	}
	// ...and the timeout a clique of 7 (our RDFC-1.0 checks the context
	// as it goes, so nothing keeps running afterwards).
	c := NewCanonicalizer(testLoader(t), Limits{Timeout: 50 * time.Millisecond})
	if _, err := c.Canonicalize(ctx, cliqueDocument(7)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("timeout: %v", err)
	}
	// A cancelled context is honoured too.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := NewCanonicalizer(testLoader(t), Limits{}).Canonicalize(cctx, cliqueDocument(6)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("cancelled: %v", err)
	}
}

// Signing refuses what canonicalisation refuses, so nothing unverifiable
// elsewhere is ever signed.
func TestSignRefusesHostileDocuments(t *testing.T) {
	s := newSuite(t)
	doc := readJSON(t, "test-vectors/clrv2p0/credential.json")
	doc["name"] = "bell\x07"
	if _, err := s.Sign(context.Background(), doc, vectorKey(t), SignOptions{VerificationMethod: "did:example:1#k"}); !errors.Is(err, ErrControlCharacter) {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.Sign(context.Background(), doc, vectorKey(t), SignOptions{}); !errors.Is(err, ErrMissingVerifMethod) {
		t.Fatalf("no verification method: %v", err)
	}
	rsaKey, _ := keys.Generate(keys.RSA2048)
	if _, err := s.Sign(context.Background(), readJSON(t, "test-vectors/clrv2p0/credential.json"), rsaKey, SignOptions{VerificationMethod: "x:y"}); !errors.Is(err, keys.ErrUnsupportedKey) {
		t.Fatalf("RSA: %v", err)
	}
}

func TestSignVerifyAllSuitesAndProofSets(t *testing.T) {
	s := newSuite(t)
	ctx := context.Background()
	doc := readJSON(t, "test-vectors/clrv2p0/credential.json")
	pubs := map[string]crypto.PublicKey{}
	signed := doc
	for _, alg := range []string{keys.Ed25519, keys.ECDSAP256, keys.ECDSAP384} {
		k, err := keys.Generate(alg)
		if err != nil {
			t.Fatal(err)
		}
		vm := "did:example:issuer#" + alg
		pubs[vm] = k.Public()
		signed, err = s.Sign(ctx, signed, k, SignOptions{VerificationMethod: vm})
		if err != nil {
			t.Fatal(err)
		}
	}
	resolver := KeyResolverFunc(func(ctx context.Context, vm string) (crypto.PublicKey, error) {
		p, ok := pubs[vm]
		if !ok {
			return nil, fmt.Errorf("unknown %s", vm)
		}
		return p, nil
	})
	res, err := s.Verify(ctx, signed, resolverAdapter(resolver))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("%d proofs", len(res))
	}
	wantSuites := []string{SuiteEdDSARDFC2022, SuiteECDSARDFC2019, SuiteECDSARDFC2019}
	for i, r := range res {
		if !r.Verified() || r.Cryptosuite != wantSuites[i] {
			t.Fatalf("proof %d: %s %v", i, r.Cryptosuite, r.Err)
		}
	}
	// Swapping keys between proofs: mismatch or invalid signature.
	proofs, _ := Proofs(signed)
	if err := s.VerifyProof(ctx, signed, proofs[1], pubs["did:example:issuer#"+keys.ECDSAP384]); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("P-256 proof with P-384 key: %v", err)
	}
	if err := s.VerifyProof(ctx, signed, proofs[0], pubs["did:example:issuer#"+keys.ECDSAP256]); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("eddsa proof with P-256 key: %v", err)
	}
	// Tampered proof options break the proof they belong to only.
	proofs[2]["created"] = "2011-01-01T00:00:00Z"
	res, _ = s.Verify(ctx, signed, resolverAdapter(resolver))
	if !res[0].Verified() || !res[1].Verified() || !errors.Is(res[2].Err, ErrInvalidSignature) {
		t.Fatalf("after tampering proof 2: %v %v %v", res[0].Err, res[1].Err, res[2].Err)
	}
	// Malformed proofs.
	bad := map[string]any{}
	for k, v := range signed {
		bad[k] = v
	}
	for name, tc := range map[string]struct {
		proof any
		want  error
	}{
		"no proof":          {nil, ErrNoProof},
		"empty array":       {[]any{}, ErrNoProof},
		"string":            {"x", ErrMalformedProof},
		"array of strings":  {[]any{"x"}, ErrMalformedProof},
		"unknown suite":     {map[string]any{"type": "DataIntegrityProof", "cryptosuite": "bbs-2023", "verificationMethod": "did:example:issuer#Ed25519", "proofValue": "z1"}, ErrUnsupportedProof},
		"no proofValue":     {map[string]any{"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "verificationMethod": "did:example:issuer#Ed25519"}, ErrMalformedProof},
		"base64 proofValue": {map[string]any{"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "verificationMethod": "did:example:issuer#Ed25519", "proofValue": "uAAAA"}, ErrMalformedProof},
		"bad created":       {map[string]any{"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "verificationMethod": "did:example:issuer#Ed25519", "proofValue": "z1111", "created": "yesterday"}, ErrMalformedProof},
		"unknown key":       {map[string]any{"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "verificationMethod": "did:example:other#k", "proofValue": "z1111"}, ErrKeyResolution},
		"no vm":             {map[string]any{"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "proofValue": "z1111"}, ErrMissingVerifMethod},
		"short signature":   {map[string]any{"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "verificationMethod": "did:example:issuer#Ed25519", "proofValue": "z1111"}, ErrInvalidSignature},
	} {
		t.Run(name, func(t *testing.T) {
			if tc.proof == nil {
				delete(bad, "proof")
			} else {
				bad["proof"] = tc.proof
			}
			res, err := s.Verify(ctx, bad, resolverAdapter(resolver))
			if err == nil && len(res) > 0 {
				err = res[0].Err
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// A proof @context different from the document's is refused.
	p := proofConfig(proofs[0])
	p["@context"] = []any{"https://www.w3.org/ns/credentials/v2"}
	if _, err := s.HashData(ctx, signed, p); !errors.Is(err, ErrProofContext) {
		t.Fatalf("proof context: %v", err)
	}
	if !strings.HasPrefix(proofs[0]["proofValue"].(string), "z") {
		t.Fatal("proofValue is not base58btc multibase")
	}
}

func resolverAdapter(f KeyResolverFunc) KeyResolver { return f }
