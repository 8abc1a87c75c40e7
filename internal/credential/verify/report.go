// Package verify is the credential verifier: parse (JSON or compact JWS),
// limits, @context and type, structure, proofs (Data Integrity and VC-JWT)
// with key resolution, validity period, status, and every nested credential
// and endorsement, recursively. It produces a JSON report with one entry per
// credential and one stable code per check, used by `clr-server verify` and
// by clr-server's public verification endpoints.
package verify

import "crypto"

// Status is the outcome of one check.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	Warn Status = "warn"
	Skip Status = "skip"
)

// Code is a stable, machine-readable outcome. Codes are part of the report
// format: never rename one.
type Code string

const (
	// CodeOK: the check passed.
	CodeOK Code = "OK"
	// CodeNotApplicable: the check does not apply (no status, no
	// structural rules for the type).
	CodeNotApplicable Code = "NOT_APPLICABLE"

	// Input and limits.
	CodeJSONMalformed      Code = "JSON_MALFORMED"       // not JSON / not an object / neither JSON nor JWS
	CodeJWSMalformed       Code = "JWS_MALFORMED"        // a compact JWS that cannot be used (JWE, detached, crit, bad base64...)
	CodeTooLarge           Code = "TOO_LARGE"            // input above MaxBytes
	CodeTooDeep            Code = "TOO_DEEP"             // JSON or credential nesting above the limits
	CodeTooManyCredentials Code = "TOO_MANY_CREDENTIALS" // more nested credentials than MaxCredentials
	CodeTimeout            Code = "TIMEOUT"              // canonicalisation or the whole verification ran out of time

	// Vocabulary and data model.
	CodeContextMissing Code = "CONTEXT_MISSING" // no usable @context
	CodeContextUnknown Code = "CONTEXT_UNKNOWN" // a context that is not pinned (never fetched)
	CodeContextOrder   Code = "CONTEXT_ORDER"   // contexts missing or out of the order the specifications require
	CodeTypeMissing    Code = "TYPE_MISSING"    // type lacks VerifiableCredential (or the class's type)
	CodeTypeUnknown    Code = "TYPE_UNKNOWN"    // warning: not a CLR / Open Badges class; structure not checked
	CodeStructure      Code = "STRUCTURE"       // a data model rule is broken; Check.Path locates it

	// Proofs and keys.
	CodeProofMissing     Code = "PROOF_MISSING"           // no proof (and not a VC-JWT)
	CodeProofMalformed   Code = "PROOF_MALFORMED"         // a proof lacks or mistypes a required member
	CodeProofUnsupported Code = "PROOF_UNSUPPORTED"       // proof type or cryptosuite not supported
	CodeProofInvalid     Code = "PROOF_INVALID"           // the signature does not verify: the credential was altered or signed by another key
	CodeProofPurpose     Code = "PROOF_PURPOSE"           // proofPurpose is not assertionMethod
	CodeKeyNotFound      Code = "KEY_NOT_FOUND"           // the verification method or kid cannot be resolved
	CodeKeyNotBound      Code = "KEY_NOT_BOUND"           // warning: the key is self-certifying, nothing the issuer publishes confirms it
	CodeKeyContradicted  Code = "KEY_CONTRADICTED"        // the controller's documents deny the method (absent, other key, other controller, not an assertion method)
	CodeAlgNotAllowed    Code = "ALG_NOT_ALLOWED"         // JWS alg outside EdDSA, ES256, ES384, RS256 (none, HMAC...)
	CodeAlgKeyMismatch   Code = "ALG_KEY_MISMATCH"        // alg or cryptosuite does not fit the key's type
	CodeClaimMismatch    Code = "CLAIM_MISMATCH"          // JWT iss/jti/sub disagree with the credential
	CodeCanonicalization Code = "CANONICALIZATION_FAILED" // the document cannot be canonicalised safely (undefined terms, relative IRIs, control characters, too complex)

	// Time and status.
	CodeDateInvalid   Code = "DATE_INVALID"   // a date is not RFC 3339 / a NumericDate
	CodeExpired       Code = "EXPIRED"        // validUntil, expirationDate or exp has passed
	CodeNotYetValid   Code = "NOT_YET_VALID"  // validFrom, issuanceDate or nbf is in the future
	CodeRevoked       Code = "REVOKED"        // the issuer revoked the credential
	CodeSuspended     Code = "SUSPENDED"      // the issuer suspended the credential
	CodeStatusUnknown Code = "STATUS_UNKNOWN" // the status could not be established; never read as "not revoked"
)

// Check names, in pipeline order.
const (
	CheckParse     = "parse"
	CheckLimits    = "limits"
	CheckContext   = "context"
	CheckType      = "type"
	CheckStructure = "structure"
	CheckProof     = "proof"
	CheckBinding   = "key-binding"
	CheckClaims    = "jwt-claims"
	CheckValidity  = "validity"
	CheckStatus    = "status"
)

// Check is one finding.
type Check struct {
	Check   string `json:"check"`
	Status  Status `json:"status"`
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// Path locates a structural problem inside the credential
	// (credentialSubject.achievement.criteria).
	Path string `json:"path,omitempty"`
}

// ProofInfo describes one verified or attempted proof.
type ProofInfo struct {
	Type               string `json:"type"`
	Cryptosuite        string `json:"cryptosuite,omitempty"`
	Algorithm          string `json:"alg,omitempty"`
	VerificationMethod string `json:"verificationMethod,omitempty"`
	KeyBinding         string `json:"keyBinding,omitempty"`
	KeySource          string `json:"keySource,omitempty"`
	Verified           bool   `json:"verified"`

	pub crypto.PublicKey
}

// StatusInfo is the status outcome of a credential.
type StatusInfo struct {
	State   string `json:"state"`
	Entries []any  `json:"entries,omitempty"`
}

// CredentialReport is the verification of one credential: the top-level one
// (Path "") or a nested one (Path "credentialSubject.verifiableCredential[3]",
// "endorsement[0]", ...).
type CredentialReport struct {
	Path     string      `json:"path"`
	Format   string      `json:"format"`
	ID       string      `json:"id,omitempty"`
	Type     []string    `json:"type,omitempty"`
	Issuer   string      `json:"issuer,omitempty"`
	Verified bool        `json:"verified"`
	Checks   []Check     `json:"checks"`
	Proofs   []ProofInfo `json:"proofs,omitempty"`
	Status   *StatusInfo `json:"status,omitempty"`
}

// Formats of a credential.
const (
	FormatJSON = "json"
	FormatJWT  = "jwt"
)

// Report is the verifier's answer.
type Report struct {
	// Verified is true when every credential (top-level and nested) passed
	// every check that can fail.
	Verified bool `json:"verified"`
	// VerifiedAt is the instant validity was judged at (RFC 3339).
	VerifiedAt string `json:"verifiedAt"`
	// Errors and Warnings count failed and warning checks over all
	// credentials.
	Errors      int                 `json:"errors"`
	Warnings    int                 `json:"warnings"`
	Credentials []*CredentialReport `json:"credentials"`
}

func (c *CredentialReport) add(check string, st Status, code Code, msg string) {
	c.Checks = append(c.Checks, Check{Check: check, Status: st, Code: code, Message: msg})
}

func (c *CredentialReport) pass(check, msg string) { c.add(check, Pass, CodeOK, msg) }
func (c *CredentialReport) fail(check string, code Code, msg string) {
	c.add(check, Fail, code, msg)
}
func (c *CredentialReport) warn(check string, code Code, msg string) {
	c.add(check, Warn, code, msg)
}
func (c *CredentialReport) skip(check, msg string) { c.add(check, Skip, CodeNotApplicable, msg) }

// failed reports whether any check failed.
func (c *CredentialReport) failed() bool {
	for _, ch := range c.Checks {
		if ch.Status == Fail {
			return true
		}
	}
	return false
}

// Codes returns every non-OK code in the report (failures and warnings),
// for callers and tests that need "which problems were found".
func (r *Report) Codes() []Code {
	var out []Code
	for _, c := range r.Credentials {
		for _, ch := range c.Checks {
			if ch.Status == Fail || ch.Status == Warn {
				out = append(out, ch.Code)
			}
		}
	}
	return out
}

// Has reports whether code occurs among the report's failures and warnings.
func (r *Report) Has(code Code) bool {
	for _, c := range r.Codes() {
		if c == code {
			return true
		}
	}
	return false
}
