package dataintegrity

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
)

// KeyResolver returns the public key a verification method URL designates.
// The verifier pipeline supplies it (DID, JWKS and key-document resolution).
type KeyResolver interface {
	ResolveVerificationMethod(ctx context.Context, verificationMethod string) (crypto.PublicKey, error)
}

// KeyResolverFunc adapts a function to KeyResolver.
type KeyResolverFunc func(ctx context.Context, verificationMethod string) (crypto.PublicKey, error)

// ResolveVerificationMethod implements KeyResolver.
func (f KeyResolverFunc) ResolveVerificationMethod(ctx context.Context, vm string) (crypto.PublicKey, error) {
	return f(ctx, vm)
}

// ProofResult is the outcome of verifying one proof of a proof set.
type ProofResult struct {
	Index              int    `json:"index"`
	Type               string `json:"type"`
	Cryptosuite        string `json:"cryptosuite,omitempty"`
	VerificationMethod string `json:"verificationMethod,omitempty"`
	ProofPurpose       string `json:"proofPurpose,omitempty"`
	Created            string `json:"created,omitempty"`
	// Err is nil when the proof verified.
	Err error `json:"-"`
}

// Verified reports whether the proof verified.
func (r ProofResult) Verified() bool { return r.Err == nil }

// Proofs returns the proofs of doc (a single object or an array).
func Proofs(doc map[string]any) ([]map[string]any, error) {
	switch p := doc["proof"].(type) {
	case nil:
		return nil, ErrNoProof
	case map[string]any:
		return []map[string]any{p}, nil
	case []any:
		if len(p) == 0 {
			return nil, ErrNoProof
		}
		out := make([]map[string]any, 0, len(p))
		for i, e := range p {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: proof[%d] is not an object", ErrMalformedProof, i)
			}
			out = append(out, m)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: proof must be an object or an array", ErrMalformedProof)
}

// Verify verifies every proof of doc, resolving keys with resolver. The
// error is non-nil only when doc has no well-formed proof set; per-proof
// failures are in the results.
func (s *Suite) Verify(ctx context.Context, doc map[string]any, resolver KeyResolver) ([]ProofResult, error) {
	proofs, err := Proofs(doc)
	if err != nil {
		return nil, err
	}
	unsecured := withoutProof(doc)
	results := make([]ProofResult, len(proofs))
	for i, p := range proofs {
		r := ProofResult{Index: i}
		r.Type, _ = p["type"].(string)
		r.Cryptosuite, _ = p["cryptosuite"].(string)
		r.VerificationMethod, _ = p["verificationMethod"].(string)
		r.ProofPurpose, _ = p["proofPurpose"].(string)
		r.Created, _ = p["created"].(string)
		if r.VerificationMethod == "" {
			r.Err = fmt.Errorf("%w: %w", ErrMalformedProof, ErrMissingVerifMethod)
		} else if pub, err := resolver.ResolveVerificationMethod(ctx, r.VerificationMethod); err != nil {
			r.Err = fmt.Errorf("%w: %s: %w", ErrKeyResolution, r.VerificationMethod, err)
		} else {
			r.Err = s.verifyProof(ctx, unsecured, p, pub)
		}
		results[i] = r
	}
	return results, nil
}

// VerifyProof verifies one proof of doc with a known public key.
func (s *Suite) VerifyProof(ctx context.Context, doc, proof map[string]any, pub crypto.PublicKey) error {
	return s.verifyProof(ctx, withoutProof(doc), proof, pub)
}

func (s *Suite) verifyProof(ctx context.Context, unsecured, proof map[string]any, pub crypto.PublicKey) error {
	typ, _ := proof["type"].(string)
	suite, _ := proof["cryptosuite"].(string)
	alg, err := keys.Algorithm(pub)
	if err != nil {
		return err
	}
	switch {
	case typ == TypeDataIntegrityProof && (suite == SuiteEdDSARDFC2022 || suite == SuiteEdDSA2022),
		typ == TypeEd25519Signature20 && suite == "":
		if alg != keys.Ed25519 {
			return fmt.Errorf("%w: %s proof with a %s key", ErrKeyMismatch, suiteName(typ, suite), alg)
		}
	case typ == TypeDataIntegrityProof && suite == SuiteECDSARDFC2019:
		if alg != keys.ECDSAP256 && alg != keys.ECDSAP384 {
			return fmt.Errorf("%w: %s proof with a %s key", ErrKeyMismatch, suite, alg)
		}
	default:
		return fmt.Errorf("%w: type %q cryptosuite %q", ErrUnsupportedProof, typ, suite)
	}
	pv, _ := proof["proofValue"].(string)
	if pv == "" {
		return fmt.Errorf("%w: proofValue missing", ErrMalformedProof)
	}
	sig, err := keys.MultibaseDecode(pv)
	if err != nil {
		return fmt.Errorf("%w: proofValue: %v", ErrMalformedProof, err)
	}
	if c, ok := proof["created"]; ok {
		cs, _ := c.(string)
		if _, err := time.Parse(time.RFC3339, cs); err != nil {
			return fmt.Errorf("%w: created %v is not an XML Schema dateTime", ErrMalformedProof, c)
		}
	}
	data, err := s.hashData(ctx, unsecured, proofConfig(proof), newHash(pub))
	if err != nil {
		return err
	}
	return verifyBytes(pub, data, sig)
}

func suiteName(typ, suite string) string {
	if suite != "" {
		return suite
	}
	return typ
}

// proofConfig is the proof without its proofValue.
func proofConfig(proof map[string]any) map[string]any {
	cfg := make(map[string]any, len(proof))
	for k, v := range proof {
		if k != "proofValue" {
			cfg[k] = v
		}
	}
	return cfg
}

// withoutProof is a shallow copy of doc without "proof".
func withoutProof(doc map[string]any) map[string]any {
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		if k != "proof" {
			out[k] = v
		}
	}
	return out
}

func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}
