package verify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
	"github.com/learnerrecords/clr-operator/internal/credential/validate"
)

// allowedAlgs are the JWS algorithms of VC-JWT in CLR 2.0 / OB 3.0 and the
// key family each requires. "none", HMAC and anything else is refused: an
// HMAC "signature" keyed with a public key proves nothing.
var allowedAlgs = map[string]string{
	"EdDSA": keys.Ed25519,
	"ES256": keys.ECDSAP256,
	"ES384": keys.ECDSAP384,
	"RS256": "RSA",
}

var joseAlgs = []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256, jose.ES384, jose.RS256}

// codedError carries a report code out of parsing.
type codedError struct {
	code Code
	msg  string
}

func (e *codedError) Error() string { return string(e.code) + ": " + e.msg }

func coded(code Code, format string, args ...any) error {
	return &codedError{code: code, msg: fmt.Sprintf(format, args...)}
}

// jwsToken is a parsed compact JWS whose payload is a credential.
type jwsToken struct {
	compact    string
	alg        string
	kid        string
	jwk        map[string]any
	claims     map[string]any
	credential map[string]any
}

func decodeSegment(name, s string) ([]byte, error) {
	if strings.ContainsAny(s, "=+/ \t\r\n") {
		return nil, coded(CodeJWSMalformed, "%s segment is not unpadded base64url", name)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, coded(CodeJWSMalformed, "%s segment: %v", name, err)
	}
	return b, nil
}

// parseJWS parses a compact JWS carrying a credential: as the payload itself
// (VC-JOSE-COSE, OB 3.0) or under the "vc" claim (VC 1.1 VC-JWT).
func parseJWS(s string, maxDepth int) (*jwsToken, error) {
	parts := strings.Split(s, ".")
	switch {
	case len(parts) == 5:
		return nil, coded(CodeJWSMalformed, "input is a JWE (5 segments); only signed JWS credentials are accepted")
	case len(parts) != 3:
		return nil, coded(CodeJSONMalformed, "input is neither JSON nor a compact JWS (%d dot-separated segments, want 3)", len(parts))
	case parts[1] == "":
		return nil, coded(CodeJWSMalformed, "detached payloads are not accepted")
	case parts[2] == "":
		return nil, coded(CodeJWSMalformed, "the signature segment is empty")
	}
	hb, err := decodeSegment("header", parts[0])
	if err != nil {
		return nil, err
	}
	var header map[string]any
	if err := json.Unmarshal(hb, &header); err != nil || header == nil {
		return nil, coded(CodeJWSMalformed, "protected header is not a JSON object")
	}
	t := &jwsToken{compact: s}
	t.alg, _ = header["alg"].(string)
	if _, ok := header["alg"].(string); !ok {
		return nil, coded(CodeJWSMalformed, "protected header has no alg")
	}
	if _, ok := allowedAlgs[t.alg]; !ok {
		return nil, coded(CodeAlgNotAllowed, "JWS algorithm %q is not allowed (EdDSA, ES256, ES384, RS256)", t.alg)
	}
	if _, ok := header["crit"]; ok {
		return nil, coded(CodeJWSMalformed, "critical header parameters (crit) are not supported")
	}
	if b64, ok := header["b64"]; ok && b64 != true {
		return nil, coded(CodeJWSMalformed, "unencoded payloads (b64: false) are not accepted")
	}
	if v, ok := header["kid"]; ok {
		if t.kid, ok = v.(string); !ok {
			return nil, coded(CodeJWSMalformed, "kid is not a string")
		}
	}
	if v, ok := header["jwk"]; ok {
		if t.jwk, ok = v.(map[string]any); !ok {
			return nil, coded(CodeJWSMalformed, "jwk header is not an object")
		}
	}
	pb, err := decodeSegment("payload", parts[1])
	if err != nil {
		return nil, err
	}
	if jsonDepth(pb) > maxDepth {
		return nil, coded(CodeTooDeep, "JWT payload nests deeper than %d levels", maxDepth)
	}
	claims, err := decodeObject(pb)
	if err != nil {
		return nil, coded(CodeJSONMalformed, "JWT payload: %v", err)
	}
	if _, err := decodeSegment("signature", parts[2]); err != nil {
		return nil, err
	}
	t.claims = claims
	if vc, ok := claims["vc"].(map[string]any); ok {
		t.credential = vc
	} else if _, ok := claims["@context"]; ok {
		t.credential = claims
	} else {
		return nil, coded(CodeJWSMalformed, "the JWT payload is not a credential (no @context, no vc claim)")
	}
	return t, nil
}

// verifyJWTCredential runs the pipeline on a VC-JWT.
func (r *run) verifyJWTCredential(ctx context.Context, cr *CredentialReport, t *jwsToken, depth int) {
	doc := t.credential
	structErrs := validate.ValidateValue(doc, r.v.validateOptions())
	describe(cr, doc)
	if cr.Issuer == "" {
		// VC 1.1 JWTs may carry the issuer only as iss.
		cr.Issuer, _ = t.claims["iss"].(string)
	}
	r.checkContext(cr, doc)
	known := r.checkType(cr, doc)
	r.checkStructure(cr, doc, known, structErrs, "")
	r.checkJWS(ctx, cr, t)
	r.checkClaims(cr, t)
	r.checkValidity(cr, doc)
	r.checkStatus(ctx, cr, doc)
	r.verifyNested(ctx, cr, doc, depth, structErrs, "")
}

func (r *run) checkJWS(ctx context.Context, cr *CredentialReport, t *jwsToken) {
	info := ProofInfo{Type: "JWS", Algorithm: t.alg, VerificationMethod: t.kid}
	defer func() { cr.Proofs = append(cr.Proofs, info) }()
	key, err := r.v.opts.Resolver.ResolveJWS(ctx, t.kid, t.jwk, cr.Issuer)
	if err != nil {
		cr.fail(CheckProof, keyErrorCode(err), err.Error())
		return
	}
	info.KeyBinding, info.KeySource, info.pub = string(key.Binding), key.Source, key.PublicKey
	if info.VerificationMethod == "" {
		info.VerificationMethod = key.ID
	}
	family := key.Algorithm
	if strings.HasPrefix(family, "RSA-") {
		family = "RSA"
	}
	if allowedAlgs[t.alg] != family {
		cr.fail(CheckProof, CodeAlgKeyMismatch, fmt.Sprintf("alg %s cannot be used with a %s key", t.alg, key.Algorithm))
		return
	}
	jws, err := jose.ParseSignedCompact(t.compact, joseAlgs)
	if err != nil {
		cr.fail(CheckProof, CodeJWSMalformed, err.Error())
		return
	}
	if _, err := jws.Verify(key.PublicKey); err != nil {
		cr.fail(CheckProof, CodeProofInvalid, "JWS signature does not verify: "+err.Error())
		return
	}
	info.Verified = true
	cr.pass(CheckProof, fmt.Sprintf("JWS %s signature verified", t.alg))
	reportBinding(cr, key)
	if _, embedded := t.credential["proof"]; embedded {
		cr.warn(CheckProof, CodeProofUnsupported, "the JWT payload also carries an embedded proof; it is ignored (the JWS secures the credential)")
	}
}

// checkClaims checks the registered JWT claims against the credential.
func (r *run) checkClaims(cr *CredentialReport, t *jwsToken) {
	c, doc := t.claims, t.credential
	bad := 0
	str := func(name, want string) {
		v, present := c[name]
		if !present {
			return
		}
		s, ok := v.(string)
		if !ok || (want != "" && s != want) {
			cr.fail(CheckClaims, CodeClaimMismatch, fmt.Sprintf("claim %s %v does not match the credential (%q)", name, v, want))
			bad++
		}
	}
	str("iss", cr.Issuer)
	str("jti", cr.ID)
	subject := ""
	if cs, ok := doc["credentialSubject"].(map[string]any); ok {
		subject, _ = cs["id"].(string)
	}
	str("sub", subject)
	num := func(name string) (time.Time, bool) {
		v, present := c[name]
		if !present {
			return time.Time{}, false
		}
		f, ok := v.(float64)
		if !ok || math.IsNaN(f) || f < 0 || f > 1e11 {
			cr.fail(CheckClaims, CodeDateInvalid, fmt.Sprintf("claim %s %v is not a NumericDate", name, v))
			bad++
			return time.Time{}, false
		}
		return time.Unix(int64(f), 0).UTC(), true
	}
	if exp, ok := num("exp"); ok && !r.now.Before(exp) {
		cr.fail(CheckClaims, CodeExpired, "the JWT expired at "+exp.Format(time.RFC3339))
		bad++
	}
	if nbf, ok := num("nbf"); ok && r.now.Before(nbf) {
		cr.fail(CheckClaims, CodeNotYetValid, "the JWT is not valid before "+nbf.Format(time.RFC3339))
		bad++
	}
	if bad == 0 {
		cr.pass(CheckClaims, "iss, jti, sub, nbf and exp agree with the credential and the time")
	}
}

// errorsOf summarises a failed sub-verification (a status list).
func errorsOf(rep *Report) error {
	var msgs []string
	for _, c := range rep.Credentials {
		for _, ch := range c.Checks {
			if ch.Status == Fail {
				msgs = append(msgs, fmt.Sprintf("%s: %s", ch.Code, ch.Message))
			}
		}
	}
	if len(msgs) == 0 {
		return errors.New("not verified")
	}
	return errors.New(strings.Join(msgs, "; "))
}
