package resolve

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
)

func genKey(t *testing.T, alg string) crypto.Signer {
	t.Helper()
	k, err := keys.Generate(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func multikey(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	mk, err := keys.Multikey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return mk
}

func TestDIDKey(t *testing.T) {
	ctx := context.Background()
	r := &Resolver{Offline: true}
	for _, alg := range []string{keys.Ed25519, keys.ECDSAP256, keys.ECDSAP384} {
		t.Run(alg, func(t *testing.T) {
			k := genKey(t, alg)
			did, err := DIDKey(k.Public())
			if err != nil {
				t.Fatal(err)
			}
			msid := strings.TrimPrefix(did, "did:key:")
			got, err := r.ResolveMethod(ctx, did+"#"+msid, did)
			if err != nil {
				t.Fatal(err)
			}
			if !keys.Equal(got.PublicKey, k.Public()) || got.Binding != Bound || got.Algorithm != alg {
				t.Fatalf("got %+v", got)
			}
			other, err := r.ResolveMethod(ctx, did, "https://issuer.example/1")
			if err != nil {
				t.Fatal(err)
			}
			if other.Binding != SelfCertifying {
				t.Fatalf("did:key of another issuer: binding %s", other.Binding)
			}
			doc, err := r.ResolveDID(ctx, did)
			if err != nil {
				t.Fatal(err)
			}
			if !doc.IsAssertionMethod(did+"#"+msid) || !doc.Lists(k.Public()) {
				t.Fatalf("did:key document %+v", doc)
			}
		})
	}
	k2 := genKey(t, keys.Ed25519)
	did1, _ := DIDKey(genKey(t, keys.Ed25519).Public())
	if _, err := r.ResolveMethod(ctx, did1+"#"+multikey(t, k2.Public()), ""); !errors.Is(err, ErrContradicted) {
		t.Fatalf("did:key with a foreign fragment: %v", err)
	}
	if _, err := r.ResolveMethod(ctx, "did:key:zNotAKey", ""); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("bad did:key: %v", err)
	}
	if _, err := r.ResolveMethod(ctx, "did:ion:abc#k", ""); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("did:ion: %v", err)
	}
	// The validator's example key.
	if _, err := r.ResolveMethod(ctx, "did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi", ""); err != nil {
		t.Fatal(err)
	}
}

func TestDIDWebURL(t *testing.T) {
	cases := map[string]string{
		"did:web:w3c-ccg.github.io":                   "https://w3c-ccg.github.io/.well-known/did.json",
		"did:web:w3c-ccg.github.io:user:alice":        "https://w3c-ccg.github.io/user/alice/did.json",
		"did:web:example.com%3A3000:user:alice":       "https://example.com:3000/user/alice/did.json",
		"did:web:example.com#key-1":                   "https://example.com/.well-known/did.json",
		"did:web:dc.1edtech.org:wellspring2022:org:x": "https://dc.1edtech.org/wellspring2022/org/x/did.json",
	}
	for did, want := range cases {
		got, err := DIDWebURL(did)
		if err != nil || got != want {
			t.Errorf("%s → %q, %v; want %q", did, got, err, want)
		}
	}
	for _, bad := range []string{"did:web:", "did:web:a:..:b", "did:web:host%2Fpath", "did:key:z6Mk", "did:web:a::b"} {
		if _, err := DIDWebURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// docServer is an HTTPS server on loopback serving path → body.
type docServer struct {
	*httptest.Server
	docs     map[string]string
	requests atomic.Int32
}

func newDocServer(t *testing.T) *docServer {
	s := &docServer{docs: map[string]string{}}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if r.URL.Path == "/hang" {
			// Never answers: only the client's timeout ends the request.
			<-r.Context().Done()
			return
		}
		if r.URL.Path == "/redirect-http" {
			http.Redirect(w, r, "http://"+r.Host+"/x", http.StatusFound)
			return
		}
		body, ok := s.docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *docServer) host() string { return strings.TrimPrefix(s.URL, "https://") }

func (s *docServer) didWeb(path ...string) string {
	return "did:web:" + strings.ReplaceAll(s.host(), ":", "%3A") + strings.Join(append([]string{""}, path...), ":")
}

func didDoc(did string, methods ...map[string]any) string {
	var ids []any
	var vms []any
	for _, m := range methods {
		vms = append(vms, m)
		ids = append(ids, m["id"])
	}
	b, _ := json.Marshal(map[string]any{"@context": []any{DIDContext}, "id": did, "verificationMethod": vms, "assertionMethod": ids})
	return string(b)
}

func TestDIDWeb(t *testing.T) {
	ctx := context.Background()
	srv := newDocServer(t)
	k := genKey(t, keys.Ed25519)
	pk := genKey(t, keys.ECDSAP256)
	did := srv.didWeb("issuers", "u1")
	jwk, _ := keys.PublicJWK(pk.Public())
	srv.docs["/issuers/u1/did.json"] = didDoc(did,
		map[string]any{"id": did + "#k1", "type": "Multikey", "controller": did, "publicKeyMultibase": multikey(t, k.Public())},
		map[string]any{"id": did + "#k2", "type": "JsonWebKey", "controller": did, "publicKeyJwk": jwk},
		map[string]any{"id": did + "#k3", "type": "Multikey", "controller": "did:example:else", "publicKeyMultibase": multikey(t, k.Public())},
	)
	// k4 is listed but not an assertion method.
	var doc map[string]any
	json.Unmarshal([]byte(srv.docs["/issuers/u1/did.json"]), &doc)
	doc["verificationMethod"] = append(doc["verificationMethod"].([]any), map[string]any{"id": "#k4", "type": "Multikey", "controller": did, "publicKeyMultibase": multikey(t, k.Public())})
	b, _ := json.Marshal(doc)
	srv.docs["/issuers/u1/did.json"] = string(b)
	wrongID := srv.didWeb("issuers", "u2")
	srv.docs["/issuers/u2/did.json"] = didDoc(did)
	srv.docs["/.well-known/did.json"] = strings.Repeat(" ", 2000) + "{}"

	r := &Resolver{Client: srv.Client()}
	got, err := r.ResolveMethod(ctx, did+"#k1", did)
	if err != nil {
		t.Fatal(err)
	}
	if !keys.Equal(got.PublicKey, k.Public()) || got.Binding != Bound || got.Source != "did:web" {
		t.Fatalf("k1: %+v", got)
	}
	got, err = r.ResolveMethod(ctx, did+"#k2", "did:example:other")
	if err != nil {
		t.Fatal(err)
	}
	if !keys.Equal(got.PublicKey, pk.Public()) || got.Binding != SelfCertifying {
		t.Fatalf("k2: %+v", got)
	}
	for name, c := range map[string]struct {
		method string
		want   error
	}{
		"absent method":       {did + "#nope", ErrContradicted},
		"wrong controller":    {did + "#k3", ErrContradicted},
		"not assertion":       {did + "#k4", ErrContradicted},
		"document id differs": {wrongID + "#k1", ErrContradicted},
		"no fragment":         {did, ErrKeyNotFound},
		"404":                 {srv.didWeb("missing") + "#k1", ErrKeyNotFound},
	} {
		if _, err := r.ResolveMethod(ctx, c.method, did); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
	before := srv.requests.Load()
	for range 5 {
		if _, err := r.ResolveMethod(ctx, did+"#k1", did); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.requests.Load() - before; n != 0 {
		t.Errorf("cached DID document fetched %d more times", n)
	}
	small := &Resolver{Client: srv.Client(), MaxBytes: 1000}
	if _, err := small.ResolveDID(ctx, srv.didWeb()); !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("size limit: %v", err)
	}
	// Offline: the network is not used, a resource override is.
	off := &Resolver{Offline: true, Resources: map[string][]byte{srv.URL + "/issuers/u1/did.json": []byte(srv.docs["/issuers/u1/did.json"])}}
	before = srv.requests.Load()
	if got, err := off.ResolveMethod(ctx, did+"#k1", did); err != nil || got.Binding != Bound {
		t.Fatalf("offline with resource: %+v %v", got, err)
	}
	if _, err := off.ResolveMethod(ctx, srv.didWeb("missing")+"#k1", did); !errors.Is(err, ErrOffline) || !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("offline without resource: %v", err)
	}
	if srv.requests.Load() != before {
		t.Error("offline resolver used the network")
	}
	// Local documents answer first, without the network.
	local := &Resolver{Offline: true, Local: func(_ context.Context, key string) ([]byte, bool) {
		if key == did {
			return []byte(srv.docs["/issuers/u1/did.json"]), true
		}
		return nil, false
	}}
	if _, err := local.ResolveMethod(ctx, did+"#k1", did); err != nil {
		t.Errorf("local DID: %v", err)
	}
	// A closed server is unreachable.
	closed := newDocServer(t)
	cdid := closed.didWeb()
	closed.Close()
	if _, err := (&Resolver{Client: closed.Client()}).ResolveMethod(ctx, cdid+"#k", cdid); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("unreachable: %v", err)
	}
}

func TestHTTPSKeyDocuments(t *testing.T) {
	ctx := context.Background()
	srv := newDocServer(t)
	k := genKey(t, keys.Ed25519)
	rk := genKey(t, keys.RSA2048)
	mk := multikey(t, k.Public())
	issuer := srv.URL + "/issuers/1"
	keyDoc, _ := json.Marshal(map[string]any{"id": srv.URL + "/keys/1", "type": "Multikey", "controller": issuer, "publicKeyMultibase": mk})
	srv.docs["/keys/1"] = string(keyDoc)
	edDoc, _ := json.Marshal(map[string]any{"id": srv.URL + "/keys/2", "type": "Ed25519VerificationKey2020", "controller": "https://elsewhere.example/x", "publicKeyMultibase": mk})
	srv.docs["/keys/2"] = string(edDoc)
	rjwk, _ := keys.PublicJWK(rk.Public())
	rjwk["kid"] = "rsa-1"
	jwks, _ := json.Marshal(map[string]any{"keys": []any{rjwk}})
	srv.docs["/jwks.json"] = string(jwks)
	srv.docs["/issuers/1"] = didDoc(issuer, map[string]any{"id": issuer + "#" + mk, "type": "Multikey", "controller": issuer, "publicKeyMultibase": mk})
	srv.docs["/profile"] = `{"id":"` + srv.URL + `/profile","type":"Profile","name":"No keys here"}`
	other := genKey(t, keys.Ed25519)

	r := &Resolver{Client: srv.Client()}
	cases := []struct {
		name, method, issuer string
		want                 error
		binding              Binding
		source               string
	}{
		{"key document of the issuer", srv.URL + "/keys/1", issuer, nil, Bound, "document"},
		{"key document on the issuer's host", srv.URL + "/keys/2", issuer, nil, Bound, "document"},
		{"key document of someone else", srv.URL + "/keys/2", "https://other.example/i", nil, SelfCertifying, "document"},
		{"JWKS kid", srv.URL + "/jwks.json#rsa-1", issuer, nil, Bound, "jwks"},
		{"JWKS unknown kid", srv.URL + "/jwks.json#rsa-2", issuer, ErrContradicted, "", ""},
		{"controller document", issuer + "#" + mk, issuer, nil, Bound, "document"},
		{"controller document lacks method", issuer + "#" + multikey(t, other.Public()), issuer, ErrContradicted, "", ""},
		{"document for another id", srv.URL + "/keys/1#" + multikey(t, other.Public()), issuer, ErrContradicted, "", ""},
		{"profile without keys: fragment", srv.URL + "/profile#" + mk, "https://other.example/i", nil, SelfCertifying, "fragment"},
		{"unreachable: fragment", srv.URL + "/missing#" + mk, "https://other.example/i", nil, SelfCertifying, "fragment"},
		{"unreachable, issuer lists it", srv.URL + "/missing#" + mk, issuer, nil, Bound, "fragment"},
		{"unreachable, no key in fragment", srv.URL + "/missing#key-1", issuer, ErrKeyNotFound, "", ""},
		{"urn with fragment key", "urn:uuid:4ca4a241#" + mk, "urn:uuid:4ca4a241", nil, SelfCertifying, "fragment"},
		{"urn without key", "urn:uuid:4ca4a241#k", "urn:uuid:4ca4a241", ErrKeyNotFound, "", ""},
		{"redirect to http", srv.URL + "/redirect-http#k", issuer, ErrKeyNotFound, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := r.ResolveMethod(ctx, c.method, c.issuer)
			if c.want != nil {
				if !errors.Is(err, c.want) {
					t.Fatalf("err = %v, want %v", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Binding != c.binding || got.Source != c.source {
				t.Fatalf("binding %s source %s, want %s %s (%s)", got.Binding, got.Source, c.binding, c.source, got.Note)
			}
		})
	}
	// The validator's examples: offline, the fragment key is used.
	off := &Resolver{Offline: true}
	got, err := off.ResolveMethod(ctx, "https://example.com/issuers/876543#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi", "https://example.com/issuers/876543")
	if err != nil || got.Binding != SelfCertifying || got.Algorithm != keys.Ed25519 {
		t.Fatalf("example key offline: %+v %v", got, err)
	}
}

func TestResolveJWS(t *testing.T) {
	ctx := context.Background()
	srv := newDocServer(t)
	k := genKey(t, keys.ECDSAP256)
	other := genKey(t, keys.ECDSAP256)
	jwk, _ := keys.PublicJWK(k.Public())
	otherJWK, _ := keys.PublicJWK(other.Public())
	did := srv.didWeb("i")
	srv.docs["/i/did.json"] = didDoc(did, map[string]any{"id": did + "#k", "type": "JsonWebKey", "controller": did, "publicKeyJwk": jwk})
	r := &Resolver{Client: srv.Client()}

	if got, err := r.ResolveJWS(ctx, did+"#k", nil, did); err != nil || got.Binding != Bound {
		t.Fatalf("absolute kid: %+v %v", got, err)
	}
	if got, err := r.ResolveJWS(ctx, "#k", nil, did); err != nil || got.Binding != Bound {
		t.Fatalf("relative kid: %+v %v", got, err)
	}
	if got, err := r.ResolveJWS(ctx, "k", jwk, did); err != nil || got.Binding != Bound {
		t.Fatalf("bare kid with matching jwk: %+v %v", got, err)
	}
	if _, err := r.ResolveJWS(ctx, did+"#k", otherJWK, did); !errors.Is(err, ErrContradicted) {
		t.Fatalf("jwk differing from kid: %v", err)
	}
	if got, err := r.ResolveJWS(ctx, "", otherJWK, did); err != nil || got.Binding != SelfCertifying || got.Source != "jwk-header" {
		t.Fatalf("embedded jwk only: %+v %v", got, err)
	}
	if got, err := r.ResolveJWS(ctx, "", jwk, did); err != nil || got.Binding != Bound {
		t.Fatalf("embedded jwk listed by the issuer: %+v %v", got, err)
	}
	if got, err := r.ResolveJWS(ctx, "https://gone.invalid/k", otherJWK, did); err != nil || got.Binding != SelfCertifying {
		t.Fatalf("unresolvable kid with jwk: %+v %v", got, err)
	}
	if _, err := r.ResolveJWS(ctx, "", nil, did); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("no kid, no jwk: %v", err)
	}
	priv := map[string]any{"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"], "d": "AAAA"}
	if _, err := r.ResolveJWS(ctx, "", priv, did); err == nil {
		t.Fatal("private jwk accepted")
	}
}

func TestBlockPrivateNetworks(t *testing.T) {
	srv := newDocServer(t)
	srv.docs["/x"] = `{}`
	r := &Resolver{BlockPrivateNetworks: true}
	_, err := r.Fetch(context.Background(), srv.URL+"/x")
	if !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "non-public address") {
		t.Fatalf("loopback fetch with BlockPrivateNetworks: %v", err)
	}
	if srv.requests.Load() != 0 {
		t.Fatal("request reached the server")
	}
	if _, err := (&Resolver{}).Fetch(context.Background(), "http://example.com/x"); !errors.Is(err, ErrFetch) {
		t.Fatalf("http URL: %v", err)
	}
}

// A key the issuer's document only mentions (another controller, or not an
// assertion method) does not bind a self-certifying key to the issuer.
func TestIssuerListsOnlyAssertionMethods(t *testing.T) {
	ctx := context.Background()
	srv := newDocServer(t)
	k := genKey(t, keys.Ed25519)
	mk := multikey(t, k.Public())
	did := srv.didWeb("i")
	b, _ := json.Marshal(map[string]any{
		"id": did,
		"verificationMethod": []any{
			map[string]any{"id": did + "#auth", "type": "Multikey", "controller": did, "publicKeyMultibase": mk},
			map[string]any{"id": did + "#other", "type": "Multikey", "controller": "did:example:x", "publicKeyMultibase": mk},
		},
		"assertionMethod": []any{did + "#other"},
		"authentication":  []any{did + "#auth"},
	})
	srv.docs["/i/did.json"] = string(b)
	r := &Resolver{Client: srv.Client()}
	got, err := r.ResolveMethod(ctx, "did:key:"+mk, did)
	if err != nil {
		t.Fatal(err)
	}
	if got.Binding != SelfCertifying {
		t.Fatalf("binding %s, want self-certifying", got.Binding)
	}
}

func TestFetchTimeout(t *testing.T) {
	srv := newDocServer(t)
	r := &Resolver{Client: srv.Client(), Timeout: 200 * time.Millisecond}
	_, err := r.Fetch(context.Background(), srv.URL+"/hang")
	if !errors.Is(err, ErrFetch) {
		t.Fatalf("hanging server: %v", err)
	}
	// An override never touches the network, even online.
	r2 := &Resolver{Client: srv.Client(), Resources: map[string][]byte{srv.URL + "/hang": []byte(`{"ok":true}`)}}
	b, err := r2.Fetch(context.Background(), srv.URL+"/hang#frag")
	if err != nil || string(b) != `{"ok":true}` {
		t.Fatalf("resource override: %q %v", b, err)
	}
}
