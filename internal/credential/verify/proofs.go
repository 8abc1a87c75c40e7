package verify

import (
	"context"
	"crypto"
	"errors"
	"fmt"

	"github.com/learnerrecords/clr-operator/internal/credential/dataintegrity"
	"github.com/learnerrecords/clr-operator/internal/credential/keys"
	"github.com/learnerrecords/clr-operator/internal/credential/resolve"
)

// keyErrorCode maps a resolution error to its report code.
func keyErrorCode(err error) Code {
	if errors.Is(err, resolve.ErrContradicted) {
		return CodeKeyContradicted
	}
	return CodeKeyNotFound
}

// reportBinding adds the key-binding check of a resolved key.
func reportBinding(cr *CredentialReport, k *resolve.Key) {
	if k.Binding == resolve.Bound {
		cr.pass(CheckBinding, fmt.Sprintf("key %s (%s) is bound to the issuer", k.ID, k.Source))
		return
	}
	msg := fmt.Sprintf("key %s (%s) is self-certifying, not bound to the issuer", k.ID, k.Source)
	if k.Note != "" {
		msg += ": " + k.Note
	}
	cr.warn(CheckBinding, CodeKeyNotBound, msg)
}

// checkDataIntegrity verifies every proof of a JSON credential. All proofs
// of a proof set must verify.
func (r *run) checkDataIntegrity(ctx context.Context, cr *CredentialReport, doc map[string]any) {
	proofs, err := dataintegrity.Proofs(doc)
	if errors.Is(err, dataintegrity.ErrNoProof) {
		cr.fail(CheckProof, CodeProofMissing, "the credential has no proof")
		return
	}
	if err != nil {
		cr.fail(CheckProof, CodeProofMalformed, err.Error())
		return
	}
	if len(proofs) > r.v.opts.MaxProofs {
		cr.fail(CheckProof, CodeProofMalformed, fmt.Sprintf("%d proofs, more than the limit of %d", len(proofs), r.v.opts.MaxProofs))
		return
	}
	issuer := cr.Issuer
	for i, p := range proofs {
		info := ProofInfo{}
		info.Type, _ = p["type"].(string)
		info.Cryptosuite, _ = p["cryptosuite"].(string)
		info.VerificationMethod, _ = p["verificationMethod"].(string)
		label := fmt.Sprintf("proof[%d]", i)
		key, code, msg := r.verifyOneProof(ctx, doc, p, &info, issuer)
		cr.Proofs = append(cr.Proofs, info)
		if code != CodeOK {
			cr.fail(CheckProof, code, label+": "+msg)
			continue
		}
		cr.pass(CheckProof, fmt.Sprintf("%s: %s signature verified", label, suiteLabel(info)))
		reportBinding(cr, key)
	}
}

func suiteLabel(info ProofInfo) string {
	if info.Cryptosuite != "" {
		return info.Cryptosuite
	}
	return info.Type
}

func (r *run) verifyOneProof(ctx context.Context, doc, p map[string]any, info *ProofInfo, issuer string) (*resolve.Key, Code, string) {
	switch {
	case info.Type == dataintegrity.TypeDataIntegrityProof:
		switch info.Cryptosuite {
		case dataintegrity.SuiteEdDSARDFC2022, dataintegrity.SuiteECDSARDFC2019, dataintegrity.SuiteEdDSA2022:
		case "":
			return nil, CodeProofMalformed, "DataIntegrityProof without cryptosuite"
		default:
			return nil, CodeProofUnsupported, fmt.Sprintf("cryptosuite %q is not supported", info.Cryptosuite)
		}
	case info.Type == dataintegrity.TypeEd25519Signature20:
	case info.Type == "":
		return nil, CodeProofMalformed, "proof has no type"
	default:
		return nil, CodeProofUnsupported, fmt.Sprintf("proof type %q is not supported", info.Type)
	}
	if purpose, _ := p["proofPurpose"].(string); purpose != dataintegrity.PurposeAssertionMethod {
		return nil, CodeProofPurpose, fmt.Sprintf("proofPurpose is %q, a credential needs %q", p["proofPurpose"], dataintegrity.PurposeAssertionMethod)
	}
	if info.VerificationMethod == "" {
		return nil, CodeProofMalformed, "verificationMethod missing or not a string"
	}
	if _, ok := p["proofValue"].(string); !ok {
		return nil, CodeProofMalformed, "proofValue missing or not a string"
	}
	key, err := r.v.opts.Resolver.ResolveMethod(ctx, info.VerificationMethod, issuer)
	if err != nil {
		return nil, keyErrorCode(err), err.Error()
	}
	info.Algorithm = key.Algorithm
	info.KeyBinding = string(key.Binding)
	info.KeySource = key.Source
	info.pub = key.PublicKey
	if code, msg := suiteMatchesKey(info, key.PublicKey); code != CodeOK {
		return nil, code, msg
	}
	cctx, cancel := context.WithTimeout(ctx, r.v.opts.CanonicalizationTimeout)
	defer cancel()
	if err := r.v.suite.VerifyProof(cctx, doc, p, key.PublicKey); err != nil {
		return nil, diErrorCode(err), err.Error()
	}
	info.Verified = true
	return key, CodeOK, ""
}

// suiteMatchesKey refuses a key of the wrong family for the cryptosuite
// before any canonicalisation work.
func suiteMatchesKey(info *ProofInfo, pub crypto.PublicKey) (Code, string) {
	alg, err := keys.Algorithm(pub)
	if err != nil {
		return CodeAlgKeyMismatch, err.Error()
	}
	ok := false
	switch suiteLabel(*info) {
	case dataintegrity.SuiteEdDSARDFC2022, dataintegrity.SuiteEdDSA2022, dataintegrity.TypeEd25519Signature20:
		ok = alg == keys.Ed25519
	case dataintegrity.SuiteECDSARDFC2019:
		ok = alg == keys.ECDSAP256 || alg == keys.ECDSAP384
	}
	if !ok {
		return CodeAlgKeyMismatch, fmt.Sprintf("a %s proof cannot be made with a %s key", suiteLabel(*info), alg)
	}
	return CodeOK, ""
}

func diErrorCode(err error) Code {
	switch {
	case errors.Is(err, dataintegrity.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout
	case errors.Is(err, dataintegrity.ErrCanonicalization), errors.Is(err, dataintegrity.ErrControlCharacter),
		errors.Is(err, dataintegrity.ErrRelativeIRI), errors.Is(err, dataintegrity.ErrTooComplex):
		return CodeCanonicalization
	case errors.Is(err, dataintegrity.ErrMalformedProof):
		return CodeProofMalformed
	case errors.Is(err, dataintegrity.ErrUnsupportedProof):
		return CodeProofUnsupported
	case errors.Is(err, dataintegrity.ErrKeyMismatch):
		return CodeAlgKeyMismatch
	}
	return CodeProofInvalid
}
