package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/dataintegrity"
	"github.com/learnerrecords/clr-operator/internal/credential/jose"
	"github.com/learnerrecords/clr-operator/internal/credential/keys"
	"github.com/learnerrecords/clr-operator/internal/credential/resolve"
	"github.com/learnerrecords/clr-operator/internal/credential/status"
)

// testNow is the instant the fixtures are judged at.
var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// world is an issuer published on a loopback HTTPS server: its did:web DID
// document (Ed25519, P-256, P-384 and RSA keys), status lists signed by it
// and a 1EdTech revocation list, plus an attacker ("mallory") with keys of
// her own. Everything is generated at test time.
type world struct {
	t        testing.TB
	srv      *httptest.Server
	mu       sync.Mutex
	docs     map[string][]byte
	did      string
	ed, p256 crypto.Signer
	p384     crypto.Signer
	rsa      crypto.Signer
	mallory  crypto.Signer
	malloryP crypto.Signer
	suite    *dataintegrity.Suite
	revList  *status.List
	susList  *status.List
}

var (
	worldOnce sync.Once
	theWorld  *world
)

func genKey(t testing.TB, alg string) crypto.Signer {
	k, err := keys.Generate(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newWorld builds the shared fixture world once per test binary (RSA key
// generation and list signing are the slow part).
func newWorld(t testing.TB) *world {
	worldOnce.Do(func() { theWorld = buildWorld(t) })
	theWorld.t = t
	return theWorld
}

func buildWorld(t testing.TB) *world {
	w := &world{t: t, docs: map[string][]byte{}}
	w.srv = httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		body, ok := w.docs[r.URL.Path]
		w.mu.Unlock()
		if !ok {
			http.NotFound(rw, r)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.Write(body)
	}))
	// The server lives as long as the test binary: it is shared by tests
	// and benchmarks.
	w.did = "did:web:" + strings.ReplaceAll(strings.TrimPrefix(w.srv.URL, "https://"), ":", "%3A") + ":issuer"
	w.ed = genKey(t, keys.Ed25519)
	w.p256 = genKey(t, keys.ECDSAP256)
	w.p384 = genKey(t, keys.ECDSAP384)
	w.rsa = genKey(t, keys.RSA2048)
	w.mallory = genKey(t, keys.Ed25519)
	w.malloryP = genKey(t, keys.ECDSAP256)
	mk := func(k crypto.Signer) string {
		s, err := keys.Multikey(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rsaJWK, err := keys.PublicJWK(w.rsa.Public())
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]any{
		"@context": []any{resolve.DIDContext, resolve.MultikeyContext},
		"id":       w.did,
		"verificationMethod": []any{
			map[string]any{"id": w.did + "#ed", "type": "Multikey", "controller": w.did, "publicKeyMultibase": mk(w.ed)},
			map[string]any{"id": w.did + "#p256", "type": "Multikey", "controller": w.did, "publicKeyMultibase": mk(w.p256)},
			map[string]any{"id": w.did + "#p384", "type": "Multikey", "controller": w.did, "publicKeyMultibase": mk(w.p384)},
			map[string]any{"id": w.did + "#rsa", "type": "JsonWebKey", "controller": w.did, "publicKeyJwk": rsaJWK},
			map[string]any{"id": w.did + "#foreign", "type": "Multikey", "controller": "did:example:someone-else", "publicKeyMultibase": mk(w.mallory)},
			map[string]any{"id": w.did + "#auth-only", "type": "Multikey", "controller": w.did, "publicKeyMultibase": mk(w.mallory)},
		},
		"assertionMethod": []any{w.did + "#ed", w.did + "#p256", w.did + "#p384", w.did + "#rsa", w.did + "#foreign"},
		"authentication":  []any{w.did + "#auth-only"},
	}
	w.put("/issuer/did.json", doc)
	w.suite = dataintegrity.New(dataintegrity.NewCanonicalizer(testLoader(t), dataintegrity.DefaultLimits))

	// Status lists: bit 7 revoked, bit 9 suspended.
	w.revList, _ = status.NewList(w.url("/lists/rev"), w.did, status.PurposeRevocation)
	w.susList, _ = status.NewList(w.url("/lists/sus"), w.did, status.PurposeSuspension)
	w.revList.Bits.Set(7, true)
	w.susList.Bits.Set(9, true)
	for _, l := range []*status.List{w.revList, w.susList} {
		c, _ := l.Credential(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{})
		w.put(strings.TrimPrefix(l.ID, w.srv.URL), w.signDI(c, w.ed, w.did+"#ed"))
	}
	// A revocation list whose signature no longer matches its bits.
	bad, _ := status.NewList(w.url("/lists/badsig"), w.did, status.PurposeRevocation)
	c, _ := bad.Credential(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{})
	signed := w.signDI(c, w.ed, w.did+"#ed")
	bad.Bits.Set(3, true)
	enc, _ := bad.Bits.Encode()
	signed["credentialSubject"].(map[string]any)["encodedList"] = enc
	w.put("/lists/badsig", signed)
	// A list of another purpose at a URL the entry calls a revocation list.
	wp, _ := status.NewList(w.url("/lists/wrongpurpose"), w.did, status.PurposeSuspension)
	c, _ = wp.Credential(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{})
	w.put("/lists/wrongpurpose", w.signDI(c, w.ed, w.did+"#ed"))
	// A list signed by mallory, naming her own did:key as issuer.
	mdid, _ := resolve.DIDKey(w.mallory.Public())
	ml, _ := status.NewList(w.url("/lists/mallory"), mdid, status.PurposeRevocation)
	c, _ = ml.Credential(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{})
	w.put("/lists/mallory", w.signDI(c, w.mallory, mdid+"#"+strings.TrimPrefix(mdid, "did:key:")))
	// A list naming the issuer but signed by mallory's own did:key, as
	// whoever controls the list's URL could publish.
	hl, _ := status.NewList(w.url("/lists/hijacked"), w.did, status.PurposeRevocation)
	c, _ = hl.Credential(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{})
	w.put("/lists/hijacked", w.signDI(c, w.mallory, mdid+"#"+strings.TrimPrefix(mdid, "did:key:")))
	// An expired list.
	el, _ := status.NewList(w.url("/lists/expired"), w.did, status.PurposeRevocation)
	c, _ = el.Credential(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC))
	w.put("/lists/expired", w.signDI(c, w.ed, w.did+"#ed"))
	// The 1EdTech revocation list.
	w.put("/revocations", status.RevocationList{ID: w.url("/revocations"), Issuer: w.did,
		RevokedCredentials: []status.RevokedCredential{{ID: "urn:uuid:revoked-by-1edtech-list", RevocationReason: "issued in error"}}})
	return w
}

func (w *world) url(p string) string { return w.srv.URL + p }

func (w *world) put(path string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		w.t.Fatal(err)
	}
	w.mu.Lock()
	w.docs[path] = b
	w.mu.Unlock()
}

func (w *world) resolver() *resolve.Resolver {
	return &resolve.Resolver{Client: w.srv.Client()}
}

func (w *world) verifier(opts Options) *Verifier {
	if opts.Loader == nil {
		opts.Loader = testLoader(w.t)
	}
	if opts.Resolver == nil {
		opts.Resolver = w.resolver()
	}
	if opts.Now.IsZero() {
		opts.Now = testNow
	}
	v, err := New(opts)
	if err != nil {
		w.t.Fatal(err)
	}
	return v
}

// achievement returns a fresh unsigned OpenBadgeCredential of the issuer.
func (w *world) achievement(id string) map[string]any {
	return map[string]any{
		"@context":  []any{"https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"},
		"id":        id,
		"type":      []any{"VerifiableCredential", "OpenBadgeCredential"},
		"issuer":    map[string]any{"id": w.did, "type": []any{"Profile"}, "name": "Test University"},
		"validFrom": "2025-01-01T00:00:00Z",
		"name":      "Teamwork Badge",
		"credentialSubject": map[string]any{
			"id":   "did:example:learner",
			"type": []any{"AchievementSubject"},
			"achievement": map[string]any{
				"id":          "https://example.com/achievements/teamwork",
				"type":        []any{"Achievement"},
				"criteria":    map[string]any{"narrative": "Team members are nominated for this badge by their peers."},
				"description": "This badge recognizes the development of teamwork skills.",
				"name":        "Teamwork",
			},
		},
	}
}

// clr returns an unsigned ClrCredential holding the given credentials.
func (w *world) clr(nested ...any) map[string]any {
	return map[string]any{
		"@context":  []any{"https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"},
		"id":        "urn:uuid:6a3c4f1e-0000-4000-8000-000000000001",
		"type":      []any{"VerifiableCredential", "ClrCredential"},
		"issuer":    map[string]any{"id": w.did, "type": []any{"Profile"}, "name": "Test University"},
		"validFrom": "2025-01-01T00:00:00Z",
		"name":      "Transcript",
		"credentialSubject": map[string]any{
			"id":                   "did:example:learner",
			"type":                 []any{"ClrSubject"},
			"verifiableCredential": nested,
		},
	}
}

// clone deep-copies a JSON value.
func clone(v map[string]any) map[string]any {
	b, _ := json.Marshal(v)
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

func (w *world) signDI(doc map[string]any, k crypto.Signer, vm string) map[string]any {
	w.t.Helper()
	signed, err := w.suite.Sign(context.Background(), doc, k, dataintegrity.SignOptions{VerificationMethod: vm, Created: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		w.t.Fatalf("sign: %v", err)
	}
	return signed
}

func (w *world) signJWT(doc map[string]any, k crypto.Signer, kid string) string {
	w.t.Helper()
	s, err := jose.NewSigner(k, kid)
	if err != nil {
		w.t.Fatal(err)
	}
	raw, _ := json.Marshal(doc)
	tok, err := s.SignJSON(raw)
	if err != nil {
		w.t.Fatal(err)
	}
	return tok
}

func js(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

var b64 = base64.RawURLEncoding

// forge builds a compact JWS with any header and payload, signed by sign
// over the signing input (nil sign: a random signature).
func forge(header map[string]any, payload []byte, sign func([]byte) []byte) string {
	in := b64.EncodeToString(js(header)) + "." + b64.EncodeToString(payload)
	var sig []byte
	if sign != nil {
		sig = sign([]byte(in))
	} else {
		sig = make([]byte, 64)
		rand.Read(sig)
	}
	return in + "." + b64.EncodeToString(sig)
}

func signEd(k crypto.Signer) func([]byte) []byte {
	return func(in []byte) []byte { return ed25519.Sign(k.(ed25519.PrivateKey), in) }
}

func signES256(k crypto.Signer) func([]byte) []byte {
	return func(in []byte) []byte {
		h := sha256.Sum256(in)
		r, s, err := ecdsa.Sign(rand.Reader, k.(*ecdsa.PrivateKey), h[:])
		if err != nil {
			panic(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
}

func signRS256(k crypto.Signer) func([]byte) []byte {
	return func(in []byte) []byte {
		h := sha256.Sum256(in)
		sig, err := rsa.SignPKCS1v15(rand.Reader, k.(*rsa.PrivateKey), crypto.SHA256, h[:])
		if err != nil {
			panic(err)
		}
		return sig
	}
}

func signHS256(secret []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

// vcClaims wraps a credential as VC-JWT claims.
func vcClaims(doc map[string]any, extra map[string]any) []byte {
	c := map[string]any{"vc": doc, "iss": status.IssuerID(doc["issuer"]), "jti": doc["id"], "nbf": float64(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix())}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return js(c)
}
