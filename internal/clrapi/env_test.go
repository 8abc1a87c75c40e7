package clrapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/oauth2"

	"github.com/learnerrecords/clr-operator/internal/clrapi"
	"github.com/learnerrecords/clr-operator/internal/credential/dataintegrity"
	"github.com/learnerrecords/clr-operator/internal/credential/jose"
	"github.com/learnerrecords/clr-operator/internal/credential/jsonld"
	"github.com/learnerrecords/clr-operator/internal/credential/resolve"
	"github.com/learnerrecords/clr-operator/internal/credential/verify"
	"github.com/learnerrecords/clr-operator/internal/oauth"
	"github.com/learnerrecords/clr-operator/internal/oauth/oauthtest"
	"github.com/learnerrecords/clr-operator/internal/pgtest"
	"github.com/learnerrecords/clr-operator/internal/sharedclr"
	"github.com/learnerrecords/clr-operator/internal/store"
)

const redirectURI = "http://127.0.0.1:9999/callback"

// sharedDir is ../shared/clr relative to the repository root.
func sharedDir(t testing.TB) string {
	t.Helper()
	return sharedclr.Dir(t)
}

// pg is the package's PostgreSQL server, started by TestMain.
var pg *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pg) }

func openSQLite(t testing.TB) store.Store {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "clr.db"), store.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openPostgres(t testing.TB) store.Store {
	t.Helper()
	dsn, err := pg.NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenPostgres(context.Background(), dsn, store.PostgresOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var stores = []struct {
	name string
	open func(testing.TB) store.Store
}{{"sqlite", openSQLite}, {"postgres", openPostgres}}

// env is clr-server's OAuth server and CLR API on a loopback HTTP server.
type env struct {
	t    testing.TB
	srv  *httptest.Server
	st   store.Store
	auth *oauth.Server
	api  *clrapi.API
	// clockSkew shifts the authorization server's clock (expiry tests).
	clockSkew atomic.Int64
}

const (
	sisID     = "registrar-sis"
	sisSecret = "sis-secret-0123456789abcdef"
	// maxBody is small so that the oversized-body case is cheap.
	maxBody = 512 << 10
)

var (
	verifierOnce sync.Once
	coreVerifier *verify.Verifier
	verifierErr  error
)

// sharedVerifier is the credential core's verifier with the pinned
// contexts and the offline resolver (did:key issuers).
func sharedVerifier(t testing.TB) *verify.Verifier {
	verifierOnce.Do(func() {
		coreVerifier, verifierErr = verify.New(verify.Options{Loader: jsonld.NewLoader(filepath.Join(sharedDir(t), "contexts"))})
	})
	if verifierErr != nil {
		t.Fatal(verifierErr)
	}
	return coreVerifier
}

func newEnv(t testing.TB, st store.Store, mutate func(*oauth.Options)) *env {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, st: st}
	opts := oauth.Options{
		PublicURL:           srv.URL,
		ServiceName:         "State University learner records",
		Dev:                 true,
		DynamicRegistration: true,
		SessionKey:          []byte("0123456789abcdef0123456789abcdef-session"),
		TokenPepper:         []byte("0123456789abcdef0123456789abcdef-pepper"),
		IssuingClients:      []oauth.IssuingClient{{ID: sisID, Secret: sisSecret, Scopes: []string{oauth.ScopeIssue}}},
		Now:                 func() time.Time { return time.Now().Add(time.Duration(e.clockSkew.Load())) },
	}
	if mutate != nil {
		mutate(&opts)
	}
	auth, err := oauth.New(opts, st)
	if err != nil {
		t.Fatal(err)
	}
	api, err := clrapi.New(clrapi.Options{
		PublicURL:      opts.PublicURL,
		Title:          "State University CLR",
		TermsOfService: "https://state.example.edu/tos",
		PrivacyPolicy:  "https://state.example.edu/privacy",
		Image:          "https://state.example.edu/logo.png",
		MaxBodyBytes:   maxBody,
	}, st, auth, clrapi.CoreVerifier(sharedVerifier(t)))
	if err != nil {
		t.Fatal(err)
	}
	auth.Register(mux)
	api.Register(mux)
	e.auth, e.api = auth, api
	return e
}

// client is a registered application with its oauth2 configuration.
type client struct {
	id, secret string
	cfg        *oauth2.Config
}

func (e *env) register(scopes ...string) *client {
	e.t.Helper()
	if len(scopes) == 0 {
		scopes = oauth.CLRScopes
	}
	resp, status, err := oauthtest.Register(context.Background(), e.srv.URL+oauth.PathRegister, map[string]any{
		"client_name": "Learner Wallet", "client_uri": "https://wallet.example",
		"redirect_uris": []string{redirectURI}, "scope": strings.Join(scopes, " "),
	})
	if err != nil || status != http.StatusCreated {
		e.t.Fatalf("register: %d %v %v", status, resp, err)
	}
	c := &client{id: resp["client_id"].(string), secret: resp["client_secret"].(string)}
	c.cfg = &oauth2.Config{
		ClientID: c.id, ClientSecret: c.secret, RedirectURL: redirectURI, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: e.srv.URL + oauth.PathAuthorize, TokenURL: e.srv.URL + oauth.PathToken, AuthStyle: oauth2.AuthStyleInHeader},
	}
	return c
}

// login runs the dev login for learner and exchanges the code.
func (e *env) login(c *client, learner string, scopes ...string) *oauth2.Token {
	e.t.Helper()
	cfg := *c.cfg
	if len(scopes) > 0 {
		cfg.Scopes = scopes
	}
	v := oauth2.GenerateVerifier()
	back, err := oauthtest.DevLogin(context.Background(), oauthtest.Browser(), cfg.AuthCodeURL("state-"+learner, oauth2.S256ChallengeOption(v)), learner)
	if err != nil {
		e.t.Fatal(err)
	}
	if back.Query().Get("state") != "state-"+learner {
		e.t.Fatalf("state not returned: %s", back)
	}
	tok, err := cfg.Exchange(context.Background(), back.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// call sends a request to the CLR API with a bearer token ("" for none).
func (e *env) call(method, path, token, contentType string, body []byte) (*http.Response, []byte) {
	e.t.Helper()
	target := path
	if !strings.HasPrefix(path, "http") {
		target = e.srv.URL + clrapi.BasePath + path
	}
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

// factory makes signed CLRs: an Ed25519 did:key issuer, a Data Integrity
// (eddsa-rdfc-2022) signed AchievementCredential nested in each CLR, and the
// CLR itself signed with Data Integrity (JSON) or as a VC-JWT.
type factory struct {
	key    ed25519.PrivateKey
	did    string
	vm     string
	suite  *dataintegrity.Suite
	jws    *jose.Signer
	nested map[string]any
}

var (
	factoryOnce sync.Once
	theFactory  *factory
	factoryErr  error
)

func credentialFactory(t testing.TB) *factory {
	t.Helper()
	factoryOnce.Do(func() { theFactory, factoryErr = newFactory(sharedDir(t)) })
	if factoryErr != nil {
		t.Fatal(factoryErr)
	}
	return theFactory
}

func newFactory(shared string) (*factory, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	did, err := resolve.DIDKey(key.Public())
	if err != nil {
		return nil, err
	}
	f := &factory{key: key, did: did, vm: did + "#" + strings.TrimPrefix(did, "did:key:")}
	loader := jsonld.NewLoader(filepath.Join(shared, "contexts"))
	f.suite = dataintegrity.New(dataintegrity.NewCanonicalizer(loader, dataintegrity.DefaultLimits))
	if f.jws, err = jose.NewSigner(key, f.vm); err != nil {
		return nil, err
	}
	ach := map[string]any{
		"@context":  []any{"https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"},
		"id":        "urn:uuid:6a1b0d3e-5d3c-4f7e-9a51-3c7e1f0c2a11",
		"type":      []any{"VerifiableCredential", "AchievementCredential"},
		"issuer":    f.issuer(),
		"validFrom": "2026-01-15T00:00:00Z",
		"name":      "BIO 101 Introduction to Biology",
		"credentialSubject": map[string]any{
			"id":   "did:example:learner-ada",
			"type": []any{"AchievementSubject"},
			"achievement": map[string]any{
				"id":              "https://state.example.edu/achievements/bio-101",
				"type":            []any{"Achievement"},
				"name":            "BIO 101 Introduction to Biology",
				"description":     "Cells, genetics and evolution.",
				"criteria":        map[string]any{"narrative": "Pass the course with a grade of C or better."},
				"achievementType": "Course",
			},
		},
	}
	f.nested, err = f.suite.Sign(context.Background(), ach, key, dataintegrity.SignOptions{VerificationMethod: f.vm})
	if err != nil {
		return nil, fmt.Errorf("signing the nested credential: %w", err)
	}
	return f, nil
}

func (f *factory) issuer() map[string]any {
	return map[string]any{"id": f.did, "type": []any{"Profile"}, "name": "State University"}
}

// clr is an unsigned ClrCredential with the given id.
func (f *factory) clr(id string) map[string]any {
	return map[string]any{
		"@context": []any{
			"https://www.w3.org/ns/credentials/v2",
			"https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
			"https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
		},
		"id":        id,
		"type":      []any{"VerifiableCredential", "ClrCredential"},
		"issuer":    f.issuer(),
		"validFrom": "2026-02-01T00:00:00Z",
		"name":      "Transcript of Ada Lovelace",
		"credentialSubject": map[string]any{
			"id":                   "did:example:learner-ada",
			"type":                 []any{"ClrSubject"},
			"verifiableCredential": []any{f.nested},
		},
	}
}

// signedJSON is a Data Integrity signed CLR, pretty-printed (so that a
// byte-for-byte comparison means something).
func (f *factory) signedJSON(t testing.TB, id string) []byte {
	t.Helper()
	signed, err := f.suite.Sign(context.Background(), f.clr(id), f.key, dataintegrity.SignOptions{VerificationMethod: f.vm})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(signed, "", "   ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nestedJSON is the signed AchievementCredential: valid, but not a CLR.
func (f *factory) nestedJSON(t testing.TB) []byte {
	t.Helper()
	b, err := json.Marshal(f.nested)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signedJWS is the CLR as a VC-JWT.
func (f *factory) signedJWS(t testing.TB, id string) string {
	t.Helper()
	s, err := f.jws.Sign(f.clr(id))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// schemas compiles the 1EdTech schemas of the responses.
type schemaSet struct {
	getCredentials, statusInfo, profile *jsonschema.Schema
}

var (
	schemaOnce sync.Once
	theSchemas schemaSet
)

func schemas(t testing.TB) schemaSet {
	t.Helper()
	schemaOnce.Do(func() {
		compile := func(f string) *jsonschema.Schema {
			s, _ := sharedclr.Schema(t, filepath.Join("schemas", "clr_v2p0", f))
			return s
		}
		theSchemas = schemaSet{
			getCredentials: compile("clr_v2p0_getclrcredentialsresponse_schema.json"),
			statusInfo:     compile("clr_v2p0_imsx_statusinfo_schema.json"),
			profile:        compile("clr_v2p0_profile_schema.json"),
		}
	})
	if theSchemas.getCredentials == nil || theSchemas.statusInfo == nil || theSchemas.profile == nil {
		t.Fatal("the official CLR 2.0 schemas did not compile (see the first test that used them)")
	}
	return theSchemas
}

// validate checks a JSON body against a schema.
func validate(t testing.TB, s *jsonschema.Schema, body []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, body)
	}
	if err := s.Validate(doc); err != nil {
		t.Fatalf("response does not match its schema: %v\n%s", err, body)
	}
}

// statusInfo checks an Imsx_StatusInfo error body and returns its code minor.
func statusInfo(t testing.TB, body []byte) string {
	t.Helper()
	validate(t, schemas(t).statusInfo, body)
	var si struct {
		Major    string `json:"imsx_codeMajor"`
		Severity string `json:"imsx_severity"`
		Desc     string `json:"imsx_description"`
		Minor    struct {
			Fields []struct {
				Value string `json:"imsx_codeMinorFieldValue"`
			} `json:"imsx_codeMinorField"`
		} `json:"imsx_codeMinor"`
	}
	if err := json.Unmarshal(body, &si); err != nil {
		t.Fatal(err)
	}
	if si.Major != "failure" || si.Severity != "error" || si.Desc == "" || len(si.Minor.Fields) != 1 {
		t.Fatalf("error body is not a failure with a description and one code minor: %s", body)
	}
	return si.Minor.Fields[0].Value
}
