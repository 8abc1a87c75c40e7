// Package dataintegrity signs and verifies W3C Verifiable Credential Data
// Integrity proofs: eddsa-rdfc-2022 (Ed25519) and ecdsa-rdfc-2019 (P-256 with
// SHA-256, P-384 with SHA-384), plus the legacy Ed25519Signature2020 and
// eddsa-2022 proofs found in older Open Badges 3.0 credentials. Documents are
// canonicalised with RDFC-1.0 (URDNA2015) by json-gold behind a pinned
// document loader, with the safeguards described in canon.go.
package dataintegrity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
)

// Proof types and cryptosuites.
const (
	TypeDataIntegrityProof = "DataIntegrityProof"
	TypeEd25519Signature20 = "Ed25519Signature2020"

	SuiteEdDSARDFC2022 = "eddsa-rdfc-2022"
	SuiteECDSARDFC2019 = "ecdsa-rdfc-2019"
	// SuiteEdDSA2022 is the pre-CR name of eddsa-rdfc-2022, verified only.
	SuiteEdDSA2022 = "eddsa-2022"

	PurposeAssertionMethod = "assertionMethod"
)

// Errors of signing and verifying; canonicalisation errors are in canon.go.
var (
	ErrNoProof            = errors.New("document has no proof")
	ErrMalformedProof     = errors.New("malformed proof")
	ErrUnsupportedProof   = errors.New("unsupported proof type or cryptosuite")
	ErrKeyMismatch        = errors.New("key does not match the proof's cryptosuite")
	ErrInvalidSignature   = errors.New("invalid signature")
	ErrKeyResolution      = errors.New("verification method could not be resolved")
	ErrProofContext       = errors.New("proof @context does not match the document")
	ErrNotAnObject        = errors.New("credential is not a JSON object")
	ErrMissingVerifMethod = errors.New("verificationMethod is required")
)

// Suite signs and verifies Data Integrity proofs with one canonicalizer.
type Suite struct {
	canon *Canonicalizer
	now   func() time.Time
}

// New returns a Suite over canon.
func New(canon *Canonicalizer) *Suite {
	return &Suite{canon: canon, now: time.Now}
}

// Canonicalizer returns the suite's canonicalizer.
func (s *Suite) Canonicalizer() *Canonicalizer { return s.canon }

// SignOptions are the proof options of a new proof.
type SignOptions struct {
	// VerificationMethod is the URL of the public key (required).
	VerificationMethod string
	// Created defaults to now (UTC, second precision).
	Created time.Time
	// ProofPurpose defaults to assertionMethod.
	ProofPurpose string
}

// CryptosuiteFor names the RDFC cryptosuite for a key.
func CryptosuiteFor(pub crypto.PublicKey) (string, error) {
	alg, err := keys.Algorithm(pub)
	if err != nil {
		return "", err
	}
	switch alg {
	case keys.Ed25519:
		return SuiteEdDSARDFC2022, nil
	case keys.ECDSAP256, keys.ECDSAP384:
		return SuiteECDSARDFC2019, nil
	}
	return "", fmt.Errorf("%w: no Data Integrity cryptosuite for %s keys (use VC-JWT)", keys.ErrUnsupportedKey, alg)
}

// Sign returns a copy of doc with a new proof appended to any existing ones
// (a proof set: existing proofs are not covered by the new one). doc itself
// is not modified.
func (s *Suite) Sign(ctx context.Context, doc map[string]any, signer crypto.Signer, opts SignOptions) (map[string]any, error) {
	if opts.VerificationMethod == "" {
		return nil, ErrMissingVerifMethod
	}
	suite, err := CryptosuiteFor(signer.Public())
	if err != nil {
		return nil, err
	}
	created := opts.Created
	if created.IsZero() {
		created = s.now()
	}
	purpose := opts.ProofPurpose
	if purpose == "" {
		purpose = PurposeAssertionMethod
	}
	proof := map[string]any{
		"type":               TypeDataIntegrityProof,
		"cryptosuite":        suite,
		"created":            created.UTC().Truncate(time.Second).Format(time.RFC3339),
		"verificationMethod": opts.VerificationMethod,
		"proofPurpose":       purpose,
	}
	unsecured := withoutProof(doc)
	data, err := s.hashData(ctx, unsecured, proof, newHash(signer.Public()))
	if err != nil {
		return nil, err
	}
	sig, err := signBytes(signer, data)
	if err != nil {
		return nil, err
	}
	proof["proofValue"] = keys.MultibaseEncode(sig)

	out := make(map[string]any, len(doc)+1)
	for k, v := range doc {
		out[k] = v
	}
	switch existing := doc["proof"].(type) {
	case nil:
		out["proof"] = proof
	case []any:
		out["proof"] = append(append([]any{}, existing...), proof)
	default:
		out["proof"] = []any{existing, proof}
	}
	return out, nil
}

// HashData computes the data a proof signs: hash(canonical proof config) ||
// hash(canonical document), with the document's proof removed and the
// proof's proofValue removed. Exposed for test vectors and diagnostics.
func (s *Suite) HashData(ctx context.Context, doc, proof map[string]any) ([]byte, error) {
	pub := crypto.PublicKey(nil)
	if cs, _ := proof["cryptosuite"].(string); cs == SuiteECDSARDFC2019 {
		// The hash follows the key's curve; without a key, pick it from
		// the proofValue length (64 bytes: P-256, 96: P-384).
		if pv, _ := proof["proofValue"].(string); pv != "" {
			if sig, err := keys.MultibaseDecode(pv); err == nil && len(sig) == 96 {
				return s.hashData(ctx, withoutProof(doc), proofConfig(proof), sha512.New384)
			}
		}
	}
	return s.hashData(ctx, withoutProof(doc), proofConfig(proof), newHash(pub))
}

// hashData canonicalises the proof configuration (with the document's
// @context, as the specification requires) and the document.
func (s *Suite) hashData(ctx context.Context, unsecured, config map[string]any, h func() hash.Hash) ([]byte, error) {
	cfg := make(map[string]any, len(config)+1)
	for k, v := range config {
		cfg[k] = v
	}
	if dc, ok := unsecured["@context"]; ok {
		if pc, has := cfg["@context"]; has {
			if !sameJSON(pc, dc) {
				return nil, ErrProofContext
			}
		}
		cfg["@context"] = dc
	}
	proofCanon, err := s.canon.Canonicalize(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("canonicalize proof configuration: %w", err)
	}
	docCanon, err := s.canon.Canonicalize(ctx, unsecured)
	if err != nil {
		return nil, fmt.Errorf("canonicalize document: %w", err)
	}
	ph := h()
	ph.Write([]byte(proofCanon))
	dh := h()
	dh.Write([]byte(docCanon))
	return append(ph.Sum(nil), dh.Sum(nil)...), nil
}

func newHash(pub crypto.PublicKey) func() hash.Hash {
	if k, ok := keys.PublicKey(pub).(*ecdsa.PublicKey); ok && k.Curve == elliptic.P384() {
		return sha512.New384
	}
	return sha256.New
}

func signBytes(signer crypto.Signer, data []byte) ([]byte, error) {
	switch pub := signer.Public().(type) {
	case ed25519.PublicKey:
		return signer.Sign(rand.Reader, data, crypto.Hash(0))
	case *ecdsa.PublicKey:
		h := newHash(pub)()
		h.Write(data)
		digest := h.Sum(nil)
		hashID := crypto.SHA256
		if pub.Curve == elliptic.P384() {
			hashID = crypto.SHA384
		}
		der, err := signer.Sign(rand.Reader, digest, hashID)
		if err != nil {
			return nil, err
		}
		// Data Integrity carries the IEEE P1363 form r||s, not ASN.1.
		return derToP1363(der, (pub.Curve.Params().BitSize+7)/8)
	}
	return nil, fmt.Errorf("%w: %T", keys.ErrUnsupportedKey, signer.Public())
}

func verifyBytes(pub crypto.PublicKey, data, sig []byte) error {
	switch k := keys.PublicKey(pub).(type) {
	case ed25519.PublicKey:
		if len(sig) != ed25519.SignatureSize || !ed25519.Verify(k, data, sig) {
			return ErrInvalidSignature
		}
		return nil
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return fmt.Errorf("%w: ECDSA signature of %d bytes, want %d", ErrInvalidSignature, len(sig), 2*size)
		}
		h := newHash(k)()
		h.Write(data)
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		if !ecdsa.Verify(k, h.Sum(nil), r, s) {
			return ErrInvalidSignature
		}
		return nil
	}
	return fmt.Errorf("%w: %T", keys.ErrUnsupportedKey, pub)
}

func derToP1363(der []byte, size int) ([]byte, error) {
	// Minimal ASN.1: SEQUENCE { INTEGER r, INTEGER s }.
	var r, s big.Int
	rest, err := parseDERInt(der, &r, &s)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("ECDSA signature encoding: %v", err)
	}
	out := make([]byte, 2*size)
	r.FillBytes(out[:size])
	s.FillBytes(out[size:])
	return out, nil
}
