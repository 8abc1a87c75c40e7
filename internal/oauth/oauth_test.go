package oauth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/learnerrecords/clr-operator/internal/oauth"
	"github.com/learnerrecords/clr-operator/internal/oauth/oauthtest"
	"github.com/learnerrecords/clr-operator/internal/oidctest"
	"github.com/learnerrecords/clr-operator/internal/store"
)

const (
	redirectURI = "http://127.0.0.1:9999/callback"
	sisID       = "registrar-sis"
	sisSecret   = "sis-secret-0123456789abcdef"
)

type harness struct {
	srv  *httptest.Server
	auth *oauth.Server
	st   store.Store
}

// devLoginToken signs user in through the development login (code + PKCE)
// and exchanges the code.
func (h *harness) devLoginToken(t *testing.T, cfg *oauth2.Config, user string) *oauth2.Token {
	t.Helper()
	ctx := context.Background()
	v := oauth2.GenerateVerifier()
	back, err := oauthtest.DevLogin(ctx, oauthtest.Browser(), cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), user)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// revoke posts token to the RFC 7009 endpoint as the client (hint may be
// empty) and returns the status code.
func (h *harness) revoke(t *testing.T, clientID, clientSecret, token, hint string) int {
	t.Helper()
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+oauth.PathRevoke, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// newHarness runs the authorization server on loopback over a real SQLite
// store, with a protected /whoami resource that echoes the principal.
func newHarness(t *testing.T, mutate func(*oauth.Options)) *harness {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "clr.db"), store.SQLiteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	opts := oauth.Options{
		PublicURL:           srv.URL,
		ServiceName:         "Test University records",
		Dev:                 true,
		DynamicRegistration: true,
		SessionKey:          []byte("0123456789abcdef0123456789abcdef-session"),
		TokenPepper:         []byte("0123456789abcdef0123456789abcdef-pepper"),
		IssuingClients:      []oauth.IssuingClient{{ID: sisID, Secret: sisSecret, Scopes: []string{oauth.ScopeIssue, oauth.ScopeRevoke}}},
	}
	if mutate != nil {
		mutate(&opts)
	}
	auth, err := oauth.New(opts, st)
	if err != nil {
		t.Fatal(err)
	}
	auth.Register(mux)
	mux.Handle("GET /whoami", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := oauth.PrincipalFrom(r.Context())
		json.NewEncoder(w).Encode(p)
	}), oauth.ScopeCredentialReadonly))
	mux.Handle("GET /issuer-only", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := oauth.PrincipalFrom(r.Context())
		json.NewEncoder(w).Encode(p)
	}), oauth.ScopeIssue))
	return &harness{srv: srv, auth: auth, st: st}
}

func (h *harness) register(t *testing.T, scopes ...string) (id, secret string) {
	t.Helper()
	if len(scopes) == 0 {
		scopes = oauth.CLRScopes
	}
	resp, status, err := oauthtest.Register(context.Background(), h.srv.URL+oauth.PathRegister, map[string]any{
		"client_name":   "Wallet",
		"client_uri":    "https://wallet.example",
		"redirect_uris": []string{redirectURI},
		"scope":         strings.Join(scopes, " "),
	})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("register: %d %v %v", status, resp, err)
	}
	return resp["client_id"].(string), resp["client_secret"].(string)
}

func (h *harness) config(id, secret string, scopes ...string) *oauth2.Config {
	if len(scopes) == 0 {
		scopes = oauth.CLRScopes
	}
	return &oauth2.Config{
		ClientID: id, ClientSecret: secret, RedirectURL: redirectURI, Scopes: scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL: h.srv.URL + oauth.PathAuthorize, TokenURL: h.srv.URL + oauth.PathToken,
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}
}

// whoami calls the protected resource with a bearer token.
func (h *harness) whoami(t *testing.T, path, token string) (int, *oauth.Principal, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil, resp.Header
	}
	var p oauth.Principal
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, &p, resp.Header
}

func TestMetadata(t *testing.T) {
	h := newHarness(t, nil)
	resp, err := http.Get(h.srv.URL + oauth.PathMetadata)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var md map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&md); err != nil {
		t.Fatal(err)
	}
	if md["issuer"] != h.srv.URL || md["token_endpoint"] != h.srv.URL+oauth.PathToken ||
		md["registration_endpoint"] != h.srv.URL+oauth.PathRegister || md["revocation_endpoint"] != h.srv.URL+oauth.PathRevoke {
		t.Fatalf("metadata endpoints wrong: %v", md)
	}
	if m := md["code_challenge_methods_supported"].([]any); len(m) != 1 || m[0] != "S256" {
		t.Fatalf("code_challenge_methods_supported = %v, want only S256", m)
	}
}

func TestRegistration(t *testing.T) {
	h := newHarness(t, nil)
	good := func() map[string]any {
		return map[string]any{
			"client_name": "Wallet", "client_uri": "https://wallet.example", "logo_uri": "https://wallet.example/logo.png",
			"tos_uri": "https://wallet.example/tos", "policy_uri": "https://wallet.example/privacy",
			"software_id": "wallet", "software_version": "1.0",
			"redirect_uris": []string{"https://wallet.example/cb", "http://127.0.0.1:8000/cb", "http://[::1]/cb"},
			"scope":         oauth.ScopeCredentialReadonly + " " + oauth.ScopeProfileReadonly,
			"grant_types":   []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
			"token_endpoint_auth_method": "client_secret_basic",
		}
	}
	resp, status, err := oauthtest.Register(context.Background(), h.srv.URL+oauth.PathRegister, good())
	if err != nil || status != http.StatusCreated {
		t.Fatalf("good registration: %d %v %v", status, resp, err)
	}
	for _, f := range []string{"client_id", "client_secret", "client_id_issued_at", "client_secret_expires_at", "client_name", "redirect_uris", "scope"} {
		if _, ok := resp[f]; !ok {
			t.Errorf("registration response lacks %s", f)
		}
	}
	if resp["client_secret_expires_at"].(float64) != 0 {
		t.Errorf("client_secret_expires_at = %v", resp["client_secret_expires_at"])
	}
	c, err := h.st.GetClient(context.Background(), resp["client_id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if c.SecretHash == "" || strings.Contains(c.SecretHash, resp["client_secret"].(string)) {
		t.Fatal("the client secret must be stored hashed")
	}

	bad := []struct {
		name   string
		mutate func(m map[string]any)
		code   string
	}{
		{"no redirect_uris", func(m map[string]any) { delete(m, "redirect_uris") }, "invalid_redirect_uri"},
		{"http redirect on a public host", func(m map[string]any) { m["redirect_uris"] = []string{"http://wallet.example/cb"} }, "invalid_redirect_uri"},
		{"redirect with fragment", func(m map[string]any) { m["redirect_uris"] = []string{"https://wallet.example/cb#x"} }, "invalid_redirect_uri"},
		{"relative redirect", func(m map[string]any) { m["redirect_uris"] = []string{"/cb"} }, "invalid_redirect_uri"},
		{"custom scheme redirect", func(m map[string]any) { m["redirect_uris"] = []string{"javascript:alert(1)"} }, "invalid_redirect_uri"},
		{"no client_name", func(m map[string]any) { delete(m, "client_name") }, "invalid_client_metadata"},
		{"no client_uri", func(m map[string]any) { delete(m, "client_uri") }, "invalid_client_metadata"},
		{"http client_uri", func(m map[string]any) { m["client_uri"] = "http://wallet.example" }, "invalid_client_metadata"},
		{"bad logo_uri", func(m map[string]any) { m["logo_uri"] = "ftp://wallet.example/logo" }, "invalid_client_metadata"},
		{"bad tos_uri", func(m map[string]any) { m["tos_uri"] = "not a url" }, "invalid_client_metadata"},
		{"bad policy_uri", func(m map[string]any) { m["policy_uri"] = "http://evil.example/p" }, "invalid_client_metadata"},
		{"no scope", func(m map[string]any) { delete(m, "scope") }, "invalid_client_metadata"},
		{"unknown scope", func(m map[string]any) { m["scope"] = "openid" }, "invalid_client_metadata"},
		{"issuing scope", func(m map[string]any) { m["scope"] = oauth.ScopeIssue }, "invalid_client_metadata"},
		{"implicit grant", func(m map[string]any) { m["grant_types"] = []string{"implicit"} }, "invalid_client_metadata"},
		{"client_credentials grant", func(m map[string]any) { m["grant_types"] = []string{"authorization_code", "client_credentials"} }, "invalid_client_metadata"},
		{"token response type", func(m map[string]any) { m["response_types"] = []string{"token"} }, "invalid_client_metadata"},
		{"auth method none", func(m map[string]any) { m["token_endpoint_auth_method"] = "none" }, "invalid_client_metadata"},
		{"auth method post", func(m map[string]any) { m["token_endpoint_auth_method"] = "client_secret_post" }, "invalid_client_metadata"},
		{"wrong type", func(m map[string]any) { m["redirect_uris"] = "https://wallet.example/cb" }, "invalid_client_metadata"},
	}
	before, _ := h.st.CountClients(context.Background())
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			m := good()
			tc.mutate(m)
			resp, status, err := oauthtest.Register(context.Background(), h.srv.URL+oauth.PathRegister, m)
			if err != nil {
				t.Fatal(err)
			}
			if status != http.StatusBadRequest || resp["error"] != tc.code || resp["error_description"] == "" {
				t.Fatalf("got %d %v, want 400 %s", status, resp, tc.code)
			}
		})
	}
	after, _ := h.st.CountClients(context.Background())
	if after != before {
		t.Fatalf("rejected registrations stored clients: %d → %d", before, after)
	}

	// Wrong media type, and registration disabled by configuration.
	r, _ := http.Post(h.srv.URL+oauth.PathRegister, "text/plain", strings.NewReader("{}"))
	r.Body.Close()
	if r.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain registration: %d", r.StatusCode)
	}
	off := newHarness(t, func(o *oauth.Options) { o.DynamicRegistration = false })
	resp, status, _ = oauthtest.Register(context.Background(), off.srv.URL+oauth.PathRegister, good())
	if status != http.StatusForbidden || resp["error"] != "access_denied" {
		t.Fatalf("disabled registration: %d %v", status, resp)
	}
}

// TestDevFlow runs a standard OAuth 2.0 client (golang.org/x/oauth2, PKCE)
// through the development login, then refresh rotation and its replay.
// Without an identity provider (and not in development mode) learners cannot
// sign in: the authorize page says so instead of failing obscurely, while the
// institution's client-credentials grant keeps working.
func TestNoIdentityProvider(t *testing.T) {
	h := newHarness(t, func(o *oauth.Options) { o.Dev = false; o.Upstream = nil })
	ctx := context.Background()
	id, secret := h.register(t)
	cfg := h.config(id, secret, oauth.ScopeCredentialReadonly)
	page, err := oauthtest.Get(ctx, oauthtest.Browser(), cfg.AuthCodeURL("st-1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if err != nil {
		t.Fatal(err)
	}
	if page.Status != http.StatusServiceUnavailable || !strings.Contains(string(page.Body), "no identity provider is configured") {
		t.Fatalf("authorize without an identity provider: %d %.300s", page.Status, page.Body)
	}
	cc := clientcredentials.Config{ClientID: sisID, ClientSecret: sisSecret, TokenURL: h.srv.URL + oauth.PathToken,
		Scopes: []string{oauth.ScopeIssue}, AuthStyle: oauth2.AuthStyleInHeader}
	if _, err := cc.Token(ctx); err != nil {
		t.Fatalf("client credentials without an identity provider: %v", err)
	}
}

func TestDevFlow(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	id, secret := h.register(t)
	cfg := h.config(id, secret, oauth.ScopeCredentialReadonly, oauth.ScopeProfileReadonly)
	verifier := oauth2.GenerateVerifier()
	// The page: an accessible form naming the client and the scopes.
	page, err := oauthtest.Get(ctx, oauthtest.Browser(), cfg.AuthCodeURL("st-123", oauth2.S256ChallengeOption(verifier)))
	if err != nil || page.Status != http.StatusOK {
		t.Fatalf("authorization page: %v %d", err, page.Status)
	}
	form, err := oauthtest.ParseForm(page.Body, page.URL)
	if err != nil {
		t.Fatal(err)
	}
	if form.Method != http.MethodPost || !slices.Contains(form.TextInputs, "username") || form.Labels["username"] == "" {
		t.Fatalf("dev login form: %+v", form)
	}
	for _, want := range []string{"Wallet", oauth.ScopeDescriptions[oauth.ScopeProfileReadonly]} {
		if !strings.Contains(string(page.Body), want) {
			t.Errorf("the page does not show %q", want)
		}
	}
	back, err := oauthtest.DevLogin(ctx, oauthtest.Browser(), cfg.AuthCodeURL("st-123", oauth2.S256ChallengeOption(verifier)), "ada.lovelace")
	if err != nil {
		t.Fatal(err)
	}
	q := back.Query()
	if q.Get("state") != "st-123" || q.Get("code") == "" || q.Get("iss") != h.srv.URL {
		t.Fatalf("redirect back %s lacks state, code or iss", back)
	}
	if got := back.Scheme + "://" + back.Host + back.Path; got != redirectURI {
		t.Fatalf("redirected to %s", got)
	}
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
		t.Fatalf("token response incomplete: %+v", tok)
	}
	status, p, _ := h.whoami(t, "/whoami", tok.AccessToken)
	if status != http.StatusOK || p.LearnerID != "ada.lovelace" || p.ClientID != id || p.Institutional {
		t.Fatalf("whoami: %d %+v", status, p)
	}
	if status, _, hdr := h.whoami(t, "/issuer-only", tok.AccessToken); status != http.StatusForbidden ||
		!strings.Contains(hdr.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Fatalf("learner token on an issuing resource: %d %q", status, hdr.Get("WWW-Authenticate"))
	}

	// Refresh: the old refresh token stops working, the new one works.
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	fresh, err := cfg.TokenSource(ctx, &old).Token()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	if status, _, _ := h.whoami(t, "/whoami", fresh.AccessToken); status != http.StatusOK {
		t.Fatalf("refreshed access token: %d", status)
	}
	// Replaying the rotated refresh token fails and revokes the grant.
	if _, err := cfg.TokenSource(ctx, &old).Token(); err == nil {
		t.Fatal("a rotated refresh token was accepted again")
	}
	if status, _, _ := h.whoami(t, "/whoami", fresh.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("after refresh-token replay the grant's access token still works: %d", status)
	}
	fresher := *fresh
	fresher.Expiry = time.Now().Add(-time.Minute)
	if _, err := cfg.TokenSource(ctx, &fresher).Token(); err == nil {
		t.Fatal("after refresh-token replay the newest refresh token still works")
	}
}

func TestCodeReplayRevokesTokens(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	id, secret := h.register(t)
	cfg := h.config(id, secret)
	verifier := oauth2.GenerateVerifier()
	back, err := oauthtest.DevLogin(ctx, oauthtest.Browser(), cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "grace")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("a used code was exchanged twice")
	} else if re, ok := err.(*oauth2.RetrieveError); !ok || re.ErrorCode != "invalid_grant" {
		t.Fatalf("replay error: %v", err)
	}
	if status, _, _ := h.whoami(t, "/whoami", tok.AccessToken); status != http.StatusUnauthorized {
		t.Fatalf("access token issued from a replayed code still works: %d", status)
	}
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	if _, err := cfg.TokenSource(ctx, &old).Token(); err == nil {
		t.Fatal("refresh token issued from a replayed code still works")
	}
}

func TestRevocation(t *testing.T) {
	h := newHarness(t, nil)
	id, secret := h.register(t)
	cfg := h.config(id, secret)
	login := func() *oauth2.Token { return h.devLoginToken(t, cfg, "alan") }
	revoke := func(clientID, clientSecret, token, hint string) int {
		return h.revoke(t, clientID, clientSecret, token, hint)
	}
	// Access token revocation.
	tok := login()
	if st := revoke(id, secret, tok.AccessToken, "access_token"); st != http.StatusOK {
		t.Fatalf("revoke: %d", st)
	}
	if st, _, _ := h.whoami(t, "/whoami", tok.AccessToken); st != http.StatusUnauthorized {
		t.Fatalf("revoked access token still works: %d", st)
	}
	// Refresh token revocation revokes the grant's access tokens too.
	tok = login()
	if st := revoke(id, secret, tok.RefreshToken, ""); st != http.StatusOK {
		t.Fatalf("revoke refresh: %d", st)
	}
	if st, _, _ := h.whoami(t, "/whoami", tok.AccessToken); st != http.StatusUnauthorized {
		t.Fatalf("access token of a revoked refresh token still works: %d", st)
	}
	// Another client cannot revoke this client's tokens; unknown tokens are 200.
	tok = login()
	otherID, otherSecret := h.register(t)
	if st := revoke(otherID, otherSecret, tok.AccessToken, ""); st != http.StatusOK {
		t.Fatalf("foreign revoke: %d", st)
	}
	if st, _, _ := h.whoami(t, "/whoami", tok.AccessToken); st != http.StatusOK {
		t.Fatalf("another client revoked this client's token: %d", st)
	}
	if st := revoke(id, secret, "no-such-token", ""); st != http.StatusOK {
		t.Fatalf("unknown token revoke: %d", st)
	}
	if st := revoke(id, "wrong", tok.AccessToken, ""); st != http.StatusUnauthorized {
		t.Fatalf("revoke with a bad secret: %d", st)
	}
}

func TestClientCredentials(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	cc := func(id, secret string, scopes ...string) (*oauth2.Token, error) {
		cfg := &clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: h.srv.URL + oauth.PathToken,
			Scopes: scopes, AuthStyle: oauth2.AuthStyleInHeader}
		return cfg.Token(ctx)
	}
	tok, err := cc(sisID, sisSecret, oauth.ScopeIssue)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" {
		t.Fatal("client credentials must not get a refresh token")
	}
	status, p, _ := h.whoami(t, "/issuer-only", tok.AccessToken)
	if status != http.StatusOK || !p.Institutional || p.LearnerID != "" || !p.Has(oauth.ScopeIssue) || p.Has(oauth.ScopeRevoke) {
		t.Fatalf("issuing principal: %d %+v", status, p)
	}
	if status, _, _ := h.whoami(t, "/whoami", tok.AccessToken); status != http.StatusForbidden {
		t.Fatalf("institutional token on a learner resource: %d", status)
	}
	if _, err := cc(sisID, "wrong-secret-0123456789"); err == nil {
		t.Fatal("bad client secret accepted")
	}
	if _, err := cc(sisID, sisSecret, oauth.ScopeRecordsRead); err == nil {
		t.Fatal("scope beyond the configuration granted")
	}
	id, secret := h.register(t)
	if _, err := cc(id, secret, oauth.ScopeCredentialReadonly); err == nil {
		t.Fatal("a registered client obtained a client-credentials token")
	} else if re, ok := err.(*oauth2.RetrieveError); !ok || re.ErrorCode != "unauthorized_client" {
		t.Fatalf("registered client with client_credentials: %v", err)
	}
}

// oidcHarness runs the authorization server with the test OpenID Connect
// provider upstream.
func oidcHarness(t *testing.T) (*harness, *oidctest.Provider) {
	t.Helper()
	var prov *oidctest.Provider
	h := newHarness(t, func(o *oauth.Options) {
		o.Dev = false
		var err error
		prov, err = oidctest.Start(oidctest.Config{
			ClientID: "clr-host", ClientSecret: "upstream-secret",
			RedirectURIs: []string{o.PublicURL + oauth.PathCallback},
			User:         oidctest.User{Subject: "u-1001", PreferredUsername: "mary.somerville", Email: "mary@example.edu"},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { prov.Close() })
		o.Upstream = &oauth.UpstreamOIDC{IssuerURL: prov.Issuer(), ClientID: "clr-host", ClientSecret: "upstream-secret", UsernameClaim: "preferred_username"}
	})
	return h, prov
}

// oidcLogin follows the browser through the provider and returns the
// consent page (or whatever the callback answered).
func oidcLogin(t *testing.T, b *http.Client, authURL string) *oauthtest.Page {
	t.Helper()
	ctx := context.Background()
	p, err := oauthtest.Get(ctx, b, authURL)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3 && p.Status == http.StatusFound; i++ {
		if p, err = oauthtest.Get(ctx, b, p.Location.String()); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestOIDCLoginAndConsent(t *testing.T) {
	h, prov := oidcHarness(t)
	ctx := context.Background()
	id, secret := h.register(t)
	cfg := h.config(id, secret, oauth.ScopeCredentialUpsert, oauth.ScopeProfileUpdate)

	// Approve.
	b := oauthtest.Browser()
	verifier := oauth2.GenerateVerifier()
	consent := oidcLogin(t, b, cfg.AuthCodeURL("xyz", oauth2.S256ChallengeOption(verifier)))
	if consent.Status != http.StatusOK {
		t.Fatalf("consent page: %d %s", consent.Status, consent.Body)
	}
	page := string(consent.Body)
	for _, want := range []string{"Wallet", "mary.somerville", oauth.ScopeDescriptions[oauth.ScopeCredentialUpsert], oauth.ScopeDescriptions[oauth.ScopeProfileUpdate], `lang="en"`} {
		if !strings.Contains(page, want) {
			t.Errorf("consent page does not show %q", want)
		}
	}
	if strings.Contains(page, "<script") || consent.Header.Get("X-Frame-Options") != "DENY" {
		t.Error("consent page must have no script and forbid framing")
	}
	if strings.Contains(page, oauth.ScopeDescriptions[oauth.ScopeCredentialReadonly]) {
		t.Error("consent page shows a scope that was not requested")
	}
	form, err := oauthtest.ParseForm(consent.Body, consent.URL)
	if err != nil {
		t.Fatal(err)
	}
	if form.Method != http.MethodPost || form.Fields.Get("csrf") == "" || !slices.Contains(form.Buttons["decision"], "approve") || !slices.Contains(form.Buttons["decision"], "deny") {
		t.Fatalf("consent form: %+v", form)
	}
	// A forged CSRF token is refused and yields no code.
	forged, err := oauthtest.Submit(ctx, b, form, url.Values{"decision": {"approve"}, "csrf": {"forged"}})
	if err != nil {
		t.Fatal(err)
	}
	if forged.Status != http.StatusForbidden || forged.Location != nil {
		t.Fatalf("forged CSRF: %d %v", forged.Status, forged.Location)
	}
	// Without the session cookie the form is refused too.
	if res, _ := oauthtest.Submit(ctx, oauthtest.Browser(), form, url.Values{"decision": {"approve"}}); res.Status != http.StatusBadRequest || res.Location != nil {
		t.Fatalf("consent without session: %d", res.Status)
	}
	res, err := oauthtest.Submit(ctx, b, form, url.Values{"decision": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusFound || res.Location.Query().Get("code") == "" || res.Location.Query().Get("state") != "xyz" {
		t.Fatalf("approve: %d %v %s", res.Status, res.Location, res.Body)
	}
	tok, err := cfg.Exchange(ctx, res.Location.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tok.Extra("scope").(string), oauth.ScopeProfileUpdate) {
		t.Fatalf("scope %v", tok.Extra("scope"))
	}
	if _, err := h.st.GetLearner(ctx, "mary.somerville"); err != nil {
		t.Fatalf("learner from the ID token not stored: %v", err)
	}

	// The session is remembered: a second authorization goes straight to
	// consent without another trip to the provider.
	before := prov.AuthorizeCount()
	page2, err := oauthtest.Get(ctx, b, cfg.AuthCodeURL("second", oauth2.S256ChallengeOption(verifier)))
	if err != nil || page2.Status != http.StatusOK || prov.AuthorizeCount() != before {
		t.Fatalf("second authorization: %d, provider visits %d→%d", page2.Status, before, prov.AuthorizeCount())
	}
	// Deny.
	form2, _ := oauthtest.ParseForm(page2.Body, page2.URL)
	res, _ = oauthtest.Submit(ctx, b, form2, url.Values{"decision": {"deny"}})
	if res.Status != http.StatusFound || res.Location.Query().Get("error") != "access_denied" || res.Location.Query().Get("state") != "second" || res.Location.Query().Has("code") {
		t.Fatalf("deny: %d %v", res.Status, res.Location)
	}
}

func TestOIDCRejectsBadIDTokens(t *testing.T) {
	cases := map[string]oidctest.Misbehaviour{
		"unpublished key": {SignWithUnpublishedKey: true},
		"wrong audience":  {WrongAudience: true},
		"wrong nonce":     {WrongNonce: true},
		"wrong issuer":    {WrongIssuer: true},
		"expired":         {Expired: true},
	}
	h, prov := oidcHarness(t)
	id, secret := h.register(t)
	cfg := h.config(id, secret)
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			prov.SetMisbehaviour(m)
			b := oauthtest.Browser()
			p := oidcLogin(t, b, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			if p.Status != http.StatusBadRequest || p.Location != nil || strings.Contains(string(p.Body), "<form") {
				t.Fatalf("bad ID token accepted: %d %v", p.Status, p.Location)
			}
			// No session was created: a new authorization goes upstream again.
			again, _ := oauthtest.Get(context.Background(), b, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			if again.Status != http.StatusFound || !strings.HasPrefix(again.Location.String(), prov.Issuer()) {
				t.Fatalf("a session survived a rejected login: %d", again.Status)
			}
		})
	}
	prov.SetMisbehaviour(oidctest.Misbehaviour{})
	// Without --dev there is no username login.
	dl, _ := http.PostForm(h.srv.URL+oauth.PathLogin, url.Values{"username": {"eve"}})
	dl.Body.Close()
	if dl.StatusCode != http.StatusNotFound {
		t.Fatalf("dev login outside dev mode: %d", dl.StatusCode)
	}
	// A callback with a state that does not match the cookie is refused.
	b := oauthtest.Browser()
	start, _ := oauthtest.Get(context.Background(), b, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	atProvider, _ := oauthtest.Get(context.Background(), b, start.Location.String())
	cb := atProvider.Location
	q := cb.Query()
	q.Set("state", "attacker")
	cb.RawQuery = q.Encode()
	res, _ := oauthtest.Get(context.Background(), b, cb.String())
	if res.Status != http.StatusBadRequest {
		t.Fatalf("callback with a foreign state: %d", res.Status)
	}
}

// TestPathPrefix serves the authorization server under the path of a
// public URL such as https://clr.example.edu/records.
func TestPathPrefix(t *testing.T) {
	h := newHarness(t, func(o *oauth.Options) { o.PublicURL += "/records" })
	base := h.srv.URL + "/records"
	for _, u := range []string{base + oauth.PathMetadata, h.srv.URL + oauth.PathMetadata + "/records"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		var md map[string]any
		json.NewDecoder(resp.Body).Decode(&md)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || md["issuer"] != base || md["token_endpoint"] != base+oauth.PathToken {
			t.Fatalf("metadata at %s: %d %v", u, resp.StatusCode, md)
		}
	}
	resp, status, err := oauthtest.Register(context.Background(), base+oauth.PathRegister, map[string]any{
		"client_name": "Wallet", "client_uri": "https://wallet.example", "redirect_uris": []string{redirectURI},
		"scope": oauth.ScopeCredentialReadonly,
	})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("register under a prefix: %d %v %v", status, resp, err)
	}
	cfg := &oauth2.Config{
		ClientID: resp["client_id"].(string), ClientSecret: resp["client_secret"].(string), RedirectURL: redirectURI,
		Scopes:   []string{oauth.ScopeCredentialReadonly},
		Endpoint: oauth2.Endpoint{AuthURL: base + oauth.PathAuthorize, TokenURL: base + oauth.PathToken, AuthStyle: oauth2.AuthStyleInHeader},
	}
	v := oauth2.GenerateVerifier()
	back, err := oauthtest.DevLogin(context.Background(), oauthtest.Browser(), cfg.AuthCodeURL("p", oauth2.S256ChallengeOption(v)), "emmy")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.Exchange(context.Background(), back.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	if st, p, _ := h.whoami(t, "/whoami", tok.AccessToken); st != http.StatusOK || p.LearnerID != "emmy" {
		t.Fatalf("token from a prefixed server: %d %+v", st, p)
	}
}

func TestDeleteExpired(t *testing.T) {
	var skew atomic.Int64
	h := newHarness(t, func(o *oauth.Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	ctx := context.Background()
	id, secret := h.register(t)
	cfg := h.config(id, secret)
	v := oauth2.GenerateVerifier()
	back, err := oauthtest.DevLogin(ctx, oauthtest.Browser(), cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), "kate")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := h.auth.DeleteExpired(ctx); err != nil || n != 0 {
		t.Fatalf("nothing is expired yet, deleted %d (%v)", n, err)
	}
	skew.Store(int64(oauth.DefaultRefreshTokenTTL + time.Hour))
	n, err := h.auth.DeleteExpired(ctx)
	if err != nil || n < 3 { // the code, the access and the refresh token
		t.Fatalf("deleted %d (%v), want at least 3", n, err)
	}
	if st, _, _ := h.whoami(t, "/whoami", tok.AccessToken); st != http.StatusUnauthorized {
		t.Fatalf("expired token: %d", st)
	}
}
