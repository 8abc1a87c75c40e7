package verify

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
	"github.com/learnerrecords/clr-operator/internal/credential/resolve"
)

// badCase is one hostile or malformed input and the code it must produce.
type badCase struct {
	name  string
	input func(w *world) []byte
	opts  Options
	code  Code
	// verified: the few cases whose problem is only a warning.
	verified bool
	// path, when set, is the credential report that must carry the code.
	path *string
	// ctx, when set, is the context to verify under.
	ctx func() context.Context
}

// expired is a context whose deadline has passed.
func expired() context.Context {
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	_ = cancel // the deadline has already passed; nothing to release early
	return ctx
}

func strp(s string) *string { return &s }

// TestBadInput runs every malformed or hostile input and checks its specific
// code. Fixtures are signed at test time with generated keys; each input
// starts from a correctly signed credential (checked by TestFixturesVerify)
// and changes one thing.
func TestBadInput(t *testing.T) {
	w := newWorld(t)
	edVM, p256VM, rsaVM := w.did+"#ed", w.did+"#p256", w.did+"#rsa"
	malloryDID, _ := resolve.DIDKey(w.mallory.Public())
	malloryVM := malloryDID + "#" + strings.TrimPrefix(malloryDID, "did:key:")
	ach := func(mut func(m map[string]any)) map[string]any {
		m := w.achievement("urn:uuid:00000000-0000-4000-8000-000000000001")
		if mut != nil {
			mut(m)
		}
		return m
	}
	signed := func(mut func(m map[string]any)) []byte { return js(w.signDI(ach(mut), w.ed, edVM)) }
	// tamper signs first, then changes the signed document.
	tamper := func(after func(m map[string]any)) []byte {
		s := w.signDI(ach(nil), w.ed, edVM)
		after(s)
		return js(s)
	}
	proofOf := func(m map[string]any) map[string]any { return m["proof"].(map[string]any) }
	withStatus := func(entry any) []byte {
		return signed(func(m map[string]any) { m["credentialStatus"] = entry })
	}
	entry := func(list string, purpose string, index string) map[string]any {
		return map[string]any{"id": w.url(list) + "#" + index, "type": "BitstringStatusListEntry",
			"statusPurpose": purpose, "statusListIndex": index, "statusListCredential": w.url(list)}
	}
	jwt := func(mut func(m map[string]any)) string { return w.signJWT(ach(mut), w.ed, edVM) }
	edJWK, _ := keys.PublicJWK(w.ed.Public())
	malJWK, _ := keys.PublicJWK(w.mallory.Public())
	deep := func(n int) []byte {
		return []byte(strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n))
	}
	raw := func(s string) func(*world) []byte { return func(*world) []byte { return []byte(s) } }

	cases := []badCase{
		// Parsing and limits.
		{name: "empty input", input: raw(""), code: CodeJSONMalformed},
		{name: "whitespace only", input: raw(" \n\t"), code: CodeJSONMalformed},
		{name: "truncated JSON", input: func(*world) []byte { b := signed(nil); return b[:len(b)/2] }, code: CodeJSONMalformed},
		{name: "JSON array", input: raw(`[{"@context":[]}]`), code: CodeJSONMalformed},
		{name: "JSON null", input: raw(`null`), code: CodeJSONMalformed},
		{name: "JSON string", input: raw(`"eyJhbGciOiJFZERTQSJ9.e30.c2ln"`), code: CodeJSONMalformed},
		{name: "trailing garbage", input: func(*world) []byte { return append(signed(nil), []byte(" {}")...) }, code: CodeJSONMalformed},
		{name: "two documents", input: func(*world) []byte { b := signed(nil); return append(b, b...) }, code: CodeJSONMalformed},
		{name: "over 2 MiB", input: func(*world) []byte {
			return signed(func(m map[string]any) { m["description"] = strings.Repeat("x", 2<<20) })
		}, code: CodeTooLarge},
		{name: "over a custom limit", opts: Options{MaxBytes: 1000}, input: func(*world) []byte { return signed(nil) }, code: CodeTooLarge},
		{name: "deeply nested JSON", input: func(*world) []byte { return deep(10000) }, code: CodeTooDeep},
		{name: "deeply nested arrays in a property", input: func(*world) []byte {
			return []byte(`{"@context":["https://www.w3.org/ns/credentials/v2"],"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`)
		}, code: CodeTooDeep},
		{name: "not JSON, not JWS", input: raw("hello world"), code: CodeJSONMalformed},
		{name: "two-segment token", input: raw("eyJhbGciOiJFZERTQSJ9.e30"), code: CodeJSONMalformed},
		{name: "JWE (five segments)", input: raw("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"), code: CodeJWSMalformed},

		// @context and type.
		{name: "@context missing", input: func(*world) []byte { return tamper(func(m map[string]any) { delete(m, "@context") }) }, code: CodeContextMissing},
		{name: "@context a number", input: func(*world) []byte { return tamper(func(m map[string]any) { m["@context"] = 5.0 }) }, code: CodeContextMissing},
		{name: "@context empty", input: func(*world) []byte { return tamper(func(m map[string]any) { m["@context"] = []any{} }) }, code: CodeContextMissing},
		{name: "unknown context", input: func(*world) []byte {
			return tamper(func(m map[string]any) {
				m["@context"] = append(m["@context"].([]any), "https://evil.example/context.json")
			})
		}, code: CodeContextUnknown},
		{name: "context order swapped", input: func(*world) []byte {
			return tamper(func(m map[string]any) { c := m["@context"].([]any); c[0], c[1] = c[1], c[0] })
		}, code: CodeContextOrder},
		{name: "OB context missing", input: func(*world) []byte {
			return tamper(func(m map[string]any) { m["@context"] = m["@context"].([]any)[:1] })
		}, code: CodeContextOrder},
		{name: "type without VerifiableCredential", input: func(*world) []byte {
			return tamper(func(m map[string]any) { m["type"] = []any{"OpenBadgeCredential"} })
		}, code: CodeTypeMissing},
		{name: "type a number", input: func(*world) []byte { return tamper(func(m map[string]any) { m["type"] = 42.0 }) }, code: CodeTypeMissing},
		{name: "type missing", input: func(*world) []byte { return tamper(func(m map[string]any) { delete(m, "type") }) }, code: CodeTypeMissing},

		// Structure.
		{name: "credentialSubject missing", input: func(*world) []byte {
			return signed(func(m map[string]any) { delete(m, "credentialSubject") })
		}, code: CodeStructure},
		{name: "issuer a number", input: func(*world) []byte { return tamper(func(m map[string]any) { m["issuer"] = 7.0 }) }, code: CodeStructure},
		{name: "achievement criteria missing", input: func(*world) []byte {
			return signed(func(m map[string]any) {
				delete(m["credentialSubject"].(map[string]any)["achievement"].(map[string]any), "criteria")
			})
		}, code: CodeStructure},
		{name: "name an object", input: func(*world) []byte { return tamper(func(m map[string]any) { m["name"] = map[string]any{"x": 1.0} }) }, code: CodeStructure},
		{name: "nested credential missing its subject", path: strp("credentialSubject.verifiableCredential[0]"), input: func(w *world) []byte {
			inner := w.signDI(ach(func(m map[string]any) { delete(m, "credentialSubject") }), w.ed, edVM)
			return js(w.signDI(w.clr(inner), w.ed, edVM))
		}, code: CodeStructure},

		// Data Integrity proofs.
		{name: "no proof", input: func(*world) []byte { return js(ach(nil)) }, code: CodeProofMissing},
		{name: "empty proof array", input: func(*world) []byte { return tamper(func(m map[string]any) { m["proof"] = []any{} }) }, code: CodeProofMissing},
		{name: "proof a string", input: func(*world) []byte { return tamper(func(m map[string]any) { m["proof"] = "z123" }) }, code: CodeProofMalformed},
		{name: "proof without type", input: func(*world) []byte { return tamper(func(m map[string]any) { delete(proofOf(m), "type") }) }, code: CodeProofMalformed},
		{name: "DataIntegrityProof without cryptosuite", input: func(*world) []byte {
			return tamper(func(m map[string]any) { delete(proofOf(m), "cryptosuite") })
		}, code: CodeProofMalformed},
		{name: "unknown cryptosuite", input: func(*world) []byte {
			return tamper(func(m map[string]any) { proofOf(m)["cryptosuite"] = "bbs-2023" })
		}, code: CodeProofUnsupported},
		{name: "unknown proof type", input: func(*world) []byte {
			return tamper(func(m map[string]any) { proofOf(m)["type"] = "RsaSignature2018" })
		}, code: CodeProofUnsupported},
		{name: "proofPurpose authentication", input: func(*world) []byte {
			return tamper(func(m map[string]any) { proofOf(m)["proofPurpose"] = "authentication" })
		}, code: CodeProofPurpose},
		{name: "proofValue missing", input: func(*world) []byte { return tamper(func(m map[string]any) { delete(proofOf(m), "proofValue") }) }, code: CodeProofMalformed},
		{name: "proofValue not multibase", input: func(*world) []byte {
			return tamper(func(m map[string]any) { proofOf(m)["proofValue"] = "AAAA" })
		}, code: CodeProofMalformed},
		{name: "verificationMethod missing", input: func(*world) []byte {
			return tamper(func(m map[string]any) { delete(proofOf(m), "verificationMethod") })
		}, code: CodeProofMalformed},
		{name: "name tampered after signing", input: func(*world) []byte { return tamper(func(m map[string]any) { m["name"] = "Forged Badge" }) }, code: CodeProofInvalid},
		{name: "subject id tampered", input: func(*world) []byte {
			return tamper(func(m map[string]any) { m["credentialSubject"].(map[string]any)["id"] = "did:example:mallory" })
		}, code: CodeProofInvalid},
		{name: "validFrom tampered", input: func(*world) []byte { return tamper(func(m map[string]any) { m["validFrom"] = "2025-01-02T00:00:00Z" }) }, code: CodeProofInvalid},
		{name: "property added after signing", input: func(*world) []byte {
			return tamper(func(m map[string]any) { m["description"] = "an extra claim" })
		}, code: CodeProofInvalid},
		{name: "proof created tampered", input: func(*world) []byte {
			return tamper(func(m map[string]any) { proofOf(m)["created"] = "2025-01-02T00:00:00Z" })
		}, code: CodeProofInvalid},
		{name: "signature bit flipped", input: func(*world) []byte {
			return tamper(func(m map[string]any) {
				sig, _ := keys.MultibaseDecode(proofOf(m)["proofValue"].(string))
				sig[10] ^= 1
				proofOf(m)["proofValue"] = keys.MultibaseEncode(sig)
			})
		}, code: CodeProofInvalid},
		{name: "too many proofs", input: func(w *world) []byte {
			s := w.signDI(ach(nil), w.ed, edVM)
			p := proofOf(s)
			many := make([]any, 50)
			for i := range many {
				many[i] = p
			}
			s["proof"] = many
			return js(s)
		}, code: CodeProofMalformed},
		{name: "too many status lists", opts: Options{MaxStatusLists: 1}, input: func(*world) []byte {
			return withStatus([]any{entry("/lists/rev", "revocation", "1"), entry("/lists/sus", "suspension", "1")})
		}, code: CodeStatusUnknown},
		{name: "one good and one bad proof", input: func(w *world) []byte {
			s := w.signDI(ach(nil), w.ed, edVM)
			s = w.signDI(s, w.p256, p256VM)
			p := s["proof"].([]any)[1].(map[string]any)
			p["proofValue"] = p["proofValue"].(string)[:20] + "1111" + p["proofValue"].(string)[24:]
			return js(s)
		}, code: CodeProofInvalid},
		{name: "signed by another key than the method's", input: func(w *world) []byte { return js(w.signDI(ach(nil), w.mallory, edVM)) }, code: CodeProofInvalid},
		{name: "nested credential tampered in a signed CLR", path: strp("credentialSubject.verifiableCredential[0]"), input: func(w *world) []byte {
			inner := w.signDI(ach(nil), w.ed, edVM)
			inner["name"] = "Forged"
			return js(w.signDI(w.clr(inner), w.ed, edVM))
		}, code: CodeProofInvalid},
		{name: "method absent from the DID document", input: func(w *world) []byte { return js(w.signDI(ach(nil), w.ed, w.did+"#nope")) }, code: CodeKeyContradicted},
		{name: "method with a foreign controller", input: func(w *world) []byte { return js(w.signDI(ach(nil), w.mallory, w.did+"#foreign")) }, code: CodeKeyContradicted},
		{name: "method not an assertionMethod", input: func(w *world) []byte { return js(w.signDI(ach(nil), w.mallory, w.did+"#auth-only")) }, code: CodeKeyContradicted},
		{name: "did:web host unreachable", input: func(w *world) []byte {
			return js(w.signDI(ach(nil), w.ed, "did:web:127.0.0.1%3A1:issuer#ed"))
		}, code: CodeKeyNotFound},
		{name: "did:web offline without resource", opts: Options{Resolver: &resolve.Resolver{Offline: true}}, input: func(*world) []byte { return signed(nil) }, code: CodeKeyNotFound},
		{name: "unsupported DID method", input: func(w *world) []byte { return js(w.signDI(ach(nil), w.ed, "did:ion:EiAbc#key-1")) }, code: CodeKeyNotFound},
		{name: "method URI without any key", input: func(w *world) []byte { return js(w.signDI(ach(nil), w.ed, "urn:uuid:1234#key-1")) }, code: CodeKeyNotFound},
		{name: "did:key of someone else (self-certifying)", verified: true, input: func(w *world) []byte {
			return js(w.signDI(ach(nil), w.mallory, malloryVM))
		}, code: CodeKeyNotBound},
		{name: "eddsa proof relabelled for a P-256 key", input: func(w *world) []byte {
			s := w.signDI(ach(nil), w.p256, p256VM)
			proofOf(s)["cryptosuite"] = "eddsa-rdfc-2022"
			return js(s)
		}, code: CodeAlgKeyMismatch},
		{name: "undefined term added after signing", input: func(*world) []byte {
			return tamper(func(m map[string]any) { m["undefinedTerm"] = "x" })
		}, code: CodeCanonicalization},
		{name: "relative @type added after signing", input: func(*world) []byte {
			return tamper(func(m map[string]any) { m["type"] = append(m["type"].([]any), "NotAnIRI") })
		}, code: CodeCanonicalization},
		{name: "overall deadline passed", input: func(*world) []byte { return signed(nil) }, code: CodeTimeout, ctx: expired},
		{name: "canonicalisation timeout", opts: Options{CanonicalizationTimeout: time.Nanosecond}, input: func(*world) []byte { return signed(nil) }, code: CodeTimeout},
		{name: "control character in a literal", input: func(*world) []byte {
			return tamper(func(m map[string]any) { m["name"] = "Bell\u0007" })
		}, code: CodeCanonicalization},

		// Validity period.
		{name: "expired", input: func(*world) []byte {
			return signed(func(m map[string]any) { m["validUntil"] = "2026-01-01T00:00:00Z" })
		}, code: CodeExpired},
		{name: "not yet valid", input: func(*world) []byte { return signed(func(m map[string]any) { m["validFrom"] = "2027-01-01T00:00:00Z" }) }, code: CodeNotYetValid},
		{name: "validFrom not a date", input: func(*world) []byte { return tamper(func(m map[string]any) { m["validFrom"] = "yesterday" }) }, code: CodeDateInvalid},
		{name: "validUntil a number", input: func(*world) []byte { return tamper(func(m map[string]any) { m["validUntil"] = 1.0 }) }, code: CodeDateInvalid},
		{name: "VC 1.1 expirationDate passed", input: func(*world) []byte {
			return tamper(func(m map[string]any) { m["expirationDate"] = "2020-01-01T00:00:00Z" })
		}, code: CodeExpired},
		{name: "nested credential expired", path: strp("credentialSubject.verifiableCredential[0]"), input: func(w *world) []byte {
			inner := w.signDI(ach(func(m map[string]any) { m["validUntil"] = "2026-01-01T00:00:00Z" }), w.ed, edVM)
			return js(w.signDI(w.clr(inner), w.ed, edVM))
		}, code: CodeExpired},

		// Status.
		{name: "revoked", input: func(*world) []byte { return withStatus(entry("/lists/rev", "revocation", "7")) }, code: CodeRevoked},
		{name: "suspended", input: func(*world) []byte { return withStatus(entry("/lists/sus", "suspension", "9")) }, code: CodeSuspended},
		{name: "revoked in one of two lists", input: func(*world) []byte {
			return withStatus([]any{entry("/lists/sus", "suspension", "7"), entry("/lists/rev", "revocation", "7")})
		}, code: CodeRevoked},
		{name: "status list unreachable", input: func(*world) []byte { return withStatus(entry("/lists/missing", "revocation", "7")) }, code: CodeStatusUnknown},
		{name: "status list signature broken", input: func(*world) []byte { return withStatus(entry("/lists/badsig", "revocation", "3")) }, code: CodeStatusUnknown},
		{name: "status list of another purpose", input: func(*world) []byte { return withStatus(entry("/lists/wrongpurpose", "revocation", "1")) }, code: CodeStatusUnknown},
		{name: "status list by another issuer", input: func(*world) []byte { return withStatus(entry("/lists/mallory", "revocation", "1")) }, code: CodeStatusUnknown},
		{name: "status list signed by an unbound foreign key", input: func(*world) []byte { return withStatus(entry("/lists/hijacked", "revocation", "7")) }, code: CodeStatusUnknown},
		{name: "status list expired", input: func(*world) []byte { return withStatus(entry("/lists/expired", "revocation", "1")) }, code: CodeStatusUnknown},
		{name: "status index out of range", input: func(*world) []byte { return withStatus(entry("/lists/rev", "revocation", "131072")) }, code: CodeStatusUnknown},
		{name: "status index not a number", input: func(*world) []byte { return withStatus(entry("/lists/rev", "revocation", "seven")) }, code: CodeStatusUnknown},
		{name: "status type unsupported", input: func(*world) []byte {
			s := w.signDI(ach(func(m map[string]any) { m["credentialStatus"] = entry("/lists/rev", "revocation", "1") }), w.ed, edVM)
			s["credentialStatus"].(map[string]any)["type"] = "StatusList2021Entry"
			return js(s)
		}, code: CodeStatusUnknown},
		{name: "status offline", opts: Options{Resolver: &resolve.Resolver{Offline: true, Resources: map[string][]byte{}}}, input: func(w *world) []byte {
			return js(w.signDI(ach(func(m map[string]any) { m["credentialStatus"] = entry("/lists/rev", "revocation", "1") }), w.mallory, malloryVM))
		}, code: CodeStatusUnknown},
		{name: "status unknown as a warning", verified: true, opts: Options{StatusUnknownIsWarning: true}, input: func(*world) []byte {
			return withStatus(entry("/lists/missing", "revocation", "7"))
		}, code: CodeStatusUnknown},
		{name: "1EdTech revocation list", input: func(w *world) []byte {
			return js(w.signDI(ach(func(m map[string]any) {
				m["id"] = "urn:uuid:revoked-by-1edtech-list"
				m["@context"] = append(m["@context"].([]any), "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json")
				m["credentialStatus"] = map[string]any{"id": w.url("/revocations"), "type": "1EdTechRevocationList"}
			}), w.ed, edVM))
		}, code: CodeRevoked},
		{name: "nested credential revoked", path: strp("credentialSubject.verifiableCredential[1]"), input: func(w *world) []byte {
			good := w.signDI(ach(nil), w.ed, edVM)
			bad := w.signDI(ach(func(m map[string]any) { m["credentialStatus"] = entry("/lists/rev", "revocation", "7") }), w.ed, edVM)
			return js(w.signDI(w.clr(good, bad), w.ed, edVM))
		}, code: CodeRevoked},

		// VC-JWT and JWS confusion.
		{name: "JWT alg none", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "none", "kid": edVM}, vcClaims(ach(nil), nil), func([]byte) []byte { return []byte{0} }))
		}, code: CodeAlgNotAllowed},
		{name: "JWT alg None (case)", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "None", "kid": edVM}, vcClaims(ach(nil), nil), nil))
		}, code: CodeAlgNotAllowed},
		{name: "JWT HS256 keyed with the public key", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "HS256", "kid": edVM}, vcClaims(ach(nil), nil), signHS256(w.ed.Public().(ed25519.PublicKey))))
		}, code: CodeAlgNotAllowed},
		{name: "JWT HS256 keyed with the JWK JSON", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "HS256", "jwk": edJWK}, vcClaims(ach(nil), nil), signHS256(js(edJWK))))
		}, code: CodeAlgNotAllowed},
		{name: "JWT PS512 not allowed", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "PS512", "kid": rsaVM}, vcClaims(ach(nil), nil), nil))
		}, code: CodeAlgNotAllowed},
		{name: "JWT no alg", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"kid": edVM}, vcClaims(ach(nil), nil), nil))
		}, code: CodeJWSMalformed},
		{name: "JWT ES256 header on an Ed25519 key", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "ES256", "kid": edVM}, vcClaims(ach(nil), nil), signES256(w.p256)))
		}, code: CodeAlgKeyMismatch},
		{name: "JWT EdDSA header on an RSA key", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "EdDSA", "kid": rsaVM}, vcClaims(ach(nil), nil), signEd(w.ed)))
		}, code: CodeAlgKeyMismatch},
		{name: "JWT RS256 header on a P-256 key", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "RS256", "kid": p256VM}, vcClaims(ach(nil), nil), signRS256(w.rsa)))
		}, code: CodeAlgKeyMismatch},
		{name: "JWT embedded jwk differs from kid", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "EdDSA", "kid": edVM, "jwk": malJWK}, vcClaims(ach(nil), nil), signEd(w.mallory)))
		}, code: CodeKeyContradicted},
		{name: "JWT embedded private jwk", input: func(w *world) []byte {
			priv := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": malJWK["x"], "d": "AAAA"}
			return []byte(forge(map[string]any{"alg": "EdDSA", "jwk": priv}, vcClaims(ach(nil), nil), signEd(w.mallory)))
		}, code: CodeKeyNotFound},
		{name: "JWT embedded jwk only (self-certifying)", verified: true, input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "EdDSA", "jwk": malJWK}, vcClaims(ach(nil), nil), signEd(w.mallory)))
		}, code: CodeKeyNotBound},
		{name: "JWT neither kid nor jwk", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "EdDSA"}, vcClaims(ach(nil), nil), signEd(w.ed)))
		}, code: CodeKeyNotFound},
		{name: "JWT kid absent from the DID document", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "EdDSA", "kid": w.did + "#gone"}, vcClaims(ach(nil), nil), signEd(w.ed)))
		}, code: CodeKeyContradicted},
		{name: "JWT signed by another key", input: func(w *world) []byte { return []byte(w.signJWT(ach(nil), w.mallory, edVM)) }, code: CodeProofInvalid},
		{name: "JWT payload swapped", input: func(w *world) []byte {
			a := strings.Split(jwt(nil), ".")
			b := strings.Split(jwt(func(m map[string]any) { m["name"] = "Other Badge" }), ".")
			return []byte(a[0] + "." + b[1] + "." + a[2])
		}, code: CodeProofInvalid},
		{name: "JWT header swapped", input: func(w *world) []byte {
			a := strings.Split(jwt(nil), ".")
			h := b64.EncodeToString(js(map[string]any{"alg": "EdDSA", "kid": edVM, "typ": "vc+jwt"}))
			return []byte(h + "." + a[1] + "." + a[2])
		}, code: CodeProofInvalid},
		{name: "JWT signature truncated", input: func(w *world) []byte { t := jwt(nil); return []byte(t[:len(t)-8]) }, code: CodeProofInvalid},
		{name: "JWT detached payload", input: func(w *world) []byte { a := strings.Split(jwt(nil), "."); return []byte(a[0] + ".." + a[2]) }, code: CodeJWSMalformed},
		{name: "JWT empty signature", input: func(w *world) []byte { a := strings.Split(jwt(nil), "."); return []byte(a[0] + "." + a[1] + ".") }, code: CodeJWSMalformed},
		{name: "JWT padded base64", input: func(w *world) []byte {
			a := strings.Split(jwt(nil), ".")
			return []byte(a[0] + "==." + a[1] + "." + a[2])
		}, code: CodeJWSMalformed},
		{name: "JWT header not JSON", input: func(w *world) []byte {
			a := strings.Split(jwt(nil), ".")
			return []byte(b64.EncodeToString([]byte("alg=EdDSA")) + "." + a[1] + "." + a[2])
		}, code: CodeJWSMalformed},
		{name: "JWT crit header", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "EdDSA", "kid": edVM, "crit": []any{"exp"}}, vcClaims(ach(nil), nil), signEd(w.ed)))
		}, code: CodeJWSMalformed},
		{name: "JWT unencoded payload", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "EdDSA", "kid": edVM, "b64": false}, vcClaims(ach(nil), nil), signEd(w.ed)))
		}, code: CodeJWSMalformed},
		{name: "JWT payload not a credential", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "EdDSA", "kid": edVM}, js(map[string]any{"sub": "x"}), signEd(w.ed)))
		}, code: CodeJWSMalformed},
		{name: "JWT payload not JSON", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "EdDSA", "kid": edVM}, []byte("not json"), signEd(w.ed)))
		}, code: CodeJSONMalformed},
		{name: "JWT iss differs from issuer", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "EdDSA", "kid": edVM}, vcClaims(ach(nil), map[string]any{"iss": "did:example:mallory"}), signEd(w.ed)))
		}, code: CodeClaimMismatch},
		{name: "JWT jti differs from id", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "EdDSA", "kid": edVM}, vcClaims(ach(nil), map[string]any{"jti": "urn:uuid:other"}), signEd(w.ed)))
		}, code: CodeClaimMismatch},
		{name: "JWT sub differs from subject", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "EdDSA", "kid": edVM}, vcClaims(ach(nil), map[string]any{"sub": "did:example:mallory"}), signEd(w.ed)))
		}, code: CodeClaimMismatch},
		{name: "JWT exp passed", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "EdDSA", "kid": edVM}, vcClaims(ach(nil), map[string]any{"exp": float64(testNow.Add(-time.Hour).Unix())}), signEd(w.ed)))
		}, code: CodeExpired},
		{name: "JWT nbf in the future", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "EdDSA", "kid": edVM}, vcClaims(ach(nil), map[string]any{"nbf": float64(testNow.Add(time.Hour).Unix())}), signEd(w.ed)))
		}, code: CodeNotYetValid},
		{name: "JWT exp not a number", input: func(w *world) []byte {
			return []byte(forge(map[string]any{"alg": "EdDSA", "kid": edVM}, vcClaims(ach(nil), map[string]any{"exp": "tomorrow"}), signEd(w.ed)))
		}, code: CodeDateInvalid},
		{name: "VC-JWT string where CLR 2.0 wants an object", input: func(w *world) []byte {
			return js(w.signDI(w.clr(jwt(nil)), w.ed, edVM))
		}, code: CodeStructure, path: strp("")},
		{name: "nested VC-JWT tampered", path: strp("credentialSubject.verifiableCredential[0]"), input: func(w *world) []byte {
			a := strings.Split(jwt(nil), ".")
			b := strings.Split(jwt(func(m map[string]any) { m["name"] = "Other" }), ".")
			return js(w.signDI(w.clr(a[0]+"."+b[1]+"."+a[2]), w.ed, edVM))
		}, code: CodeProofInvalid},

		// Nesting and counts.
		{name: "credentials nested too deep", input: func(w *world) []byte {
			inner := any(w.signDI(ach(nil), w.ed, edVM))
			for range 6 {
				inner = w.signDI(w.clr(inner), w.ed, edVM)
			}
			return js(inner)
		}, code: CodeTooDeep},
		{name: "too many nested credentials", opts: Options{MaxCredentials: 5}, input: func(w *world) []byte {
			one := w.signDI(ach(nil), w.ed, edVM)
			items := make([]any, 10)
			for i := range items {
				items[i] = one
			}
			return js(w.signDI(w.clr(items...), w.ed, edVM))
		}, code: CodeTooManyCredentials},
		{name: "nested credential a number", path: strp("credentialSubject.verifiableCredential[0]"), input: func(w *world) []byte {
			return js(w.signDI(w.clr(12.0), w.ed, edVM))
		}, code: CodeJSONMalformed},
		{name: "nested credential garbage string", path: strp("credentialSubject.verifiableCredential[0]"), input: func(w *world) []byte {
			return js(w.signDI(w.clr("not-a-credential"), w.ed, edVM))
		}, code: CodeJSONMalformed},
		{name: "endorsement tampered", path: strp("credentialSubject.achievement.endorsement[0]"), input: func(w *world) []byte {
			end := w.endorsement()
			end["name"] = "Forged endorsement"
			return signed(func(m map[string]any) {
				m["credentialSubject"].(map[string]any)["achievement"].(map[string]any)["endorsement"] = []any{end}
			})
		}, code: CodeProofInvalid},
	}
	if len(cases) < 60 {
		t.Fatalf("only %d bad inputs", len(cases))
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("duplicate case %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			w.t = t
			ctx := context.Background()
			if c.ctx != nil {
				ctx = c.ctx()
			}
			rep := w.verifier(c.opts).Verify(ctx, c.input(w))
			codes := rep.Codes()
			if !slices.Contains(codes, c.code) {
				t.Fatalf("code %s not reported; got %v\n%s", c.code, codes, brief(rep))
			}
			if rep.Verified != c.verified {
				t.Fatalf("verified = %v, want %v; codes %v", rep.Verified, c.verified, codes)
			}
			if c.path != nil {
				found := false
				for _, cr := range rep.Credentials {
					if cr.Path != *c.path {
						continue
					}
					for _, ch := range cr.Checks {
						found = found || (ch.Code == c.code && ch.Status != Pass)
					}
				}
				if !found {
					t.Fatalf("code %s not on credential %q\n%s", c.code, *c.path, brief(rep))
				}
			}
			// The report is always valid JSON.
			if _, err := json.Marshal(rep); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Logf("%d bad inputs", len(cases))
}

// endorsement is a signed EndorsementCredential of the issuer.
func (w *world) endorsement() map[string]any {
	e := map[string]any{
		"@context":  []any{"https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"},
		"id":        "urn:uuid:00000000-0000-4000-8000-0000000000e1",
		"type":      []any{"VerifiableCredential", "EndorsementCredential"},
		"issuer":    map[string]any{"id": w.did, "type": []any{"Profile"}, "name": "Test University"},
		"validFrom": "2025-01-01T00:00:00Z",
		"name":      "Endorsement of Teamwork",
		"credentialSubject": map[string]any{
			"id":                 "https://example.com/achievements/teamwork",
			"type":               []any{"EndorsementSubject"},
			"endorsementComment": "A fine achievement.",
		},
	}
	return w.signDI(e, w.ed, w.did+"#ed")
}

func brief(rep *Report) string {
	var b bytes.Buffer
	for _, c := range rep.Credentials {
		for _, ch := range c.Checks {
			if ch.Status == Fail || ch.Status == Warn {
				fmt.Fprintf(&b, "  [%s] %s %s %s: %.200s\n", c.Path, ch.Check, ch.Status, ch.Code, ch.Message)
			}
		}
	}
	return b.String()
}

// TestFixturesVerify proves the fixtures the bad inputs start from are
// valid, so each bad input fails for its own reason.
func TestFixturesVerify(t *testing.T) {
	w := newWorld(t)
	edVM := w.did + "#ed"
	ach := w.achievement("urn:uuid:00000000-0000-4000-8000-000000000001")
	ach["credentialSubject"].(map[string]any)["achievement"].(map[string]any)["endorsement"] = []any{w.endorsement()}
	clear := map[string]any{"id": w.url("/lists/rev#8"), "type": "BitstringStatusListEntry", "statusPurpose": "revocation", "statusListIndex": "8", "statusListCredential": w.url("/lists/rev")}
	withStatus := clone(ach)
	withStatus["credentialStatus"] = clear
	withJWTEndorsement := clone(ach)
	endorsement := w.endorsement()
	delete(endorsement, "proof")
	withJWTEndorsement["credentialSubject"].(map[string]any)["achievement"].(map[string]any)["endorsementJwt"] = []any{w.signJWT(endorsement, w.p256, w.did+"#p256")}
	cases := map[string][]byte{
		"DI Ed25519":      js(w.signDI(ach, w.ed, edVM)),
		"DI P-256":        js(w.signDI(ach, w.p256, w.did+"#p256")),
		"DI P-384":        js(w.signDI(ach, w.p384, w.did+"#p384")),
		"DI proof set":    js(w.signDI(w.signDI(ach, w.ed, edVM), w.p256, w.did+"#p256")),
		"DI with status":  js(w.signDI(withStatus, w.ed, edVM)),
		"JWT EdDSA":       []byte(w.signJWT(ach, w.ed, edVM)),
		"JWT ES256":       []byte(w.signJWT(ach, w.p256, w.did+"#p256")),
		"JWT ES384":       []byte(w.signJWT(ach, w.p384, w.did+"#p384")),
		"JWT RS256":       []byte(w.signJWT(ach, w.rsa, w.did+"#rsa")),
		"forged-path JWT": []byte(forge(map[string]any{"alg": "EdDSA", "kid": edVM}, vcClaims(w.achievement("urn:uuid:00000000-0000-4000-8000-000000000001"), nil), signEd(w.ed))),
		"CLR DI":          js(w.signDI(w.clr(w.signDI(ach, w.ed, edVM), w.signDI(ach, w.p256, w.did+"#p256")), w.ed, edVM)),
		"CLR JWT":         []byte(w.signJWT(w.clr(w.signDI(ach, w.ed, edVM)), w.ed, edVM)),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			w.t = t
			rep := w.verifier(Options{}).Verify(context.Background(), in)
			if name == "endorsementJwt" && (len(rep.Credentials) != 3 || rep.Credentials[2].Format != FormatJWT) {
				t.Fatalf("endorsementJwt not verified as a nested VC-JWT: %d credentials", len(rep.Credentials))
			}
			if !rep.Verified || rep.Warnings != 0 {
				t.Fatalf("verified=%v warnings=%d\n%s", rep.Verified, rep.Warnings, brief(rep))
			}
			for _, cr := range rep.Credentials {
				for _, p := range cr.Proofs {
					if p.KeyBinding != string(resolve.Bound) {
						t.Errorf("%s: key binding %s", cr.Path, p.KeyBinding)
					}
				}
			}
		})
	}
}
