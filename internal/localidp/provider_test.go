package localidp_test

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/learnerrecords/clr-operator/internal/localidp"
	"github.com/learnerrecords/clr-operator/internal/oauth/oauthtest"
)

const (
	redirectA = "https://records.cascadia-state.edu/oauth/callback"
	redirectB = "https://www.riverbend.edu/records/oauth/callback"
)

// provider serves two realms over HTTPS on loopback, with the same client
// id in both (as two institutions' providers may have), and returns its
// base URL and an HTTP client trusting its certificate.
func provider(t *testing.T) (*localidp.Provider, string, *http.Client) {
	t.Helper()
	certPEM, keyPEM, err := localidp.LoopbackCertificate(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	key, err := localidp.LoadOrCreateSigningKey(filepath.Join(t.TempDir(), "signing.key"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	base := "https://" + srv.Listener.Addr().String()
	p, err := localidp.New(localidp.Config{BaseURL: base, Realms: []localidp.Realm{
		{Name: "cascadia-state", Title: "Cascadia State University", EmailDomain: "cascadia-state.edu",
			Clients: []localidp.Client{{ID: "clr-records", Secret: "secret-a", RedirectURIs: []string{redirectA}}},
			Users:   []localidp.User{{Username: "maya.lindqvist", Name: "Maya Lindqvist"}}},
		{Name: "riverbend-college", EmailDomain: "riverbend.edu",
			Clients: []localidp.Client{{ID: "clr-records", Secret: "secret-b", RedirectURIs: []string{redirectB}}}},
	}}, key)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = p
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(certPEM) {
		t.Fatal("certificate not PEM")
	}
	browser := oauthtest.Browser()
	browser.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	return p, base, browser
}

type discovery struct {
	Issuer        string `json:"issuer"`
	Authorization string `json:"authorization_endpoint"`
	Token         string `json:"token_endpoint"`
	JWKS          string `json:"jwks_uri"`
}

func discover(t *testing.T, c *http.Client, issuer string) discovery {
	t.Helper()
	resp, err := c.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d discovery
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery at %s: %d %v", issuer, resp.StatusCode, err)
	}
	if d.Issuer != issuer {
		t.Fatalf("discovery issuer %q, want %q", d.Issuer, issuer)
	}
	return d
}

// signIn fetches the login page of an authorization request, checks it is
// an accessible form with a username field, submits username and returns
// the redirect back to the client.
func signIn(t *testing.T, c *http.Client, authURL, username string) *url.URL {
	t.Helper()
	ctx := context.Background()
	page, err := oauthtest.Get(ctx, c, authURL)
	if err != nil {
		t.Fatal(err)
	}
	if page.Status != http.StatusOK {
		t.Fatalf("login page: %d %s", page.Status, page.Body)
	}
	f, err := oauthtest.ParseForm(page.Body, page.URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.TextInputs) != 1 || f.TextInputs[0] != "username" || f.Labels["username"] != "Username" {
		t.Fatalf("the login form's text inputs %v and labels %v, want one labelled username field", f.TextInputs, f.Labels)
	}
	res, err := oauthtest.Submit(ctx, c, f, url.Values{"username": {username}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusFound || res.Location == nil {
		t.Fatalf("login: %d, no redirect: %s", res.Status, res.Body)
	}
	return res.Location
}

// A standard client (golang.org/x/oauth2) runs the code flow with PKCE and
// nonce; the ID token verifies with the published JWKS and names the user
// typed on the form.
func TestCodeFlowWithLoginForm(t *testing.T) {
	p, base, c := provider(t)
	issuer := p.Issuer("cascadia-state")
	if issuer != base+"/realms/cascadia-state" {
		t.Fatalf("issuer %s", issuer)
	}
	d := discover(t, c, issuer)
	cfg := &oauth2.Config{ClientID: "clr-records", ClientSecret: "secret-a", RedirectURL: redirectA, Scopes: []string{"openid", "email"},
		Endpoint: oauth2.Endpoint{AuthURL: d.Authorization, TokenURL: d.Token, AuthStyle: oauth2.AuthStyleInHeader}}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, c)

	for _, tc := range []struct{ username, name, email string }{
		{"maya.lindqvist", "Maya Lindqvist", "maya.lindqvist@cascadia-state.edu"},
		{"J.Doe", "J.Doe", "j.doe@cascadia-state.edu"},
	} {
		verifier := oauth2.GenerateVerifier()
		back := signIn(t, c, cfg.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "n-1")), tc.username)
		q := back.Query()
		if !strings.HasPrefix(back.String(), redirectA+"?") || q.Get("state") != "st-1" || q.Get("iss") != issuer || q.Get("code") == "" {
			t.Fatalf("redirect back %s", back)
		}
		if _, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("exchange with another PKCE verifier: %v, want invalid_grant", err)
		}
		// A failed exchange used the code up: sign in again.
		back = signIn(t, c, cfg.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "n-1")), tc.username)
		tok, err := cfg.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier)); err == nil {
			t.Fatal("a code was redeemed twice")
		}
		raw, _ := tok.Extra("id_token").(string)
		claims := verifyIDToken(t, c, d.JWKS, raw)
		if claims["iss"] != issuer || claims["aud"] != "clr-records" || claims["nonce"] != "n-1" || claims["sub"] != tc.username ||
			claims["email"] != tc.email || claims["name"] != tc.name || claims["preferred_username"] != tc.username {
			t.Errorf("ID token claims %v for %s", claims, tc.username)
		}
	}
}

func verifyIDToken(t *testing.T, c *http.Client, jwksURL, raw string) map[string]any {
	t.Helper()
	resp, err := c.Get(jwksURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("the JWKS has %d keys for kid %q", len(keys), tok.Headers[0].KeyID)
	}
	var claims map[string]any
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("the ID token does not verify with the published key: %v", err)
	}
	var std jwt.Claims
	_ = tok.Claims(keys[0].Key, &std)
	if err := std.ValidateWithLeeway(jwt.Expected{Time: time.Now()}, 0); err != nil {
		t.Errorf("the ID token is not valid now: %v", err)
	}
	return claims
}

// Bad requests are refused the way the relying party must see them: no
// redirect for an unknown client or redirect URI, an error redirect
// otherwise, the form again for a bad username; a code is only good in its
// realm with its client's secret.
func TestRefusals(t *testing.T) {
	p, _, c := provider(t)
	issA, issB := p.Issuer("cascadia-state"), p.Issuer("riverbend-college")
	ctx := context.Background()
	authURL := func(iss string, v url.Values) string { return iss + "/authorize?" + v.Encode() }
	good := url.Values{"client_id": {"clr-records"}, "redirect_uri": {redirectA}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}
	with := func(k, v string) url.Values {
		out := url.Values{}
		for kk, vv := range good {
			out[kk] = vv
		}
		out.Set(k, v)
		return out
	}
	for name, tc := range map[string]struct {
		url       string
		status    int
		errorCode string
	}{
		"unknown client":         {authURL(issA, with("client_id", "nobody")), http.StatusBadRequest, ""},
		"unregistered redirect":  {authURL(issA, with("redirect_uri", redirectA+"x")), http.StatusBadRequest, ""},
		"other realm's redirect": {authURL(issB, good), http.StatusBadRequest, ""},
		"no openid scope":        {authURL(issA, with("scope", "email")), http.StatusFound, "invalid_scope"},
		"implicit flow":          {authURL(issA, with("response_type", "token")), http.StatusFound, "unsupported_response_type"},
		"plain PKCE": {authURL(issA, func() url.Values {
			v := with("code_challenge", "abc")
			v.Set("code_challenge_method", "plain")
			return v
		}()), http.StatusFound, "invalid_request"},
		"unknown realm":           {p.Issuer("nowhere") + "/authorize?" + good.Encode(), http.StatusNotFound, ""},
		"unknown realm discovery": {p.Issuer("nowhere") + "/.well-known/openid-configuration", http.StatusNotFound, ""},
	} {
		page, err := oauthtest.Get(ctx, c, tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if page.Status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", name, page.Status, tc.status, page.Body)
			continue
		}
		if tc.errorCode != "" {
			if page.Location == nil || !strings.HasPrefix(page.Location.String(), redirectA) || page.Location.Query().Get("error") != tc.errorCode ||
				page.Location.Query().Get("state") != "s" {
				t.Errorf("%s: redirect %v, want %s with error %s and the state", name, page.Location, redirectA, tc.errorCode)
			}
		} else if page.Location != nil {
			t.Errorf("%s: redirected to %s, want an error page", name, page.Location)
		}
	}

	// A bad username shows the form again with the error, and no code.
	page, err := oauthtest.Get(ctx, c, authURL(issA, good))
	if err != nil {
		t.Fatal(err)
	}
	f, err := oauthtest.ParseForm(page.Body, page.URL)
	if err != nil {
		t.Fatal(err)
	}
	res, err := oauthtest.Submit(ctx, c, f, url.Values{"username": {"../root"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusBadRequest || res.Location != nil || !strings.Contains(string(res.Body), `role="alert"`) {
		t.Errorf("a bad username: %d %v", res.Status, res.Location)
	}
	// The form's hidden fields are checked again on submission.
	f.Fields.Set("redirect_uri", "https://evil.example/cb")
	if res, err = oauthtest.Submit(ctx, c, f, url.Values{"username": {"maya"}}); err != nil || res.Status != http.StatusBadRequest || res.Location != nil {
		t.Errorf("a tampered form: %v %d %v", err, res.Status, res.Location)
	}

	// A code of realm A with realm A's client: refused at realm B's token
	// endpoint (even with B's secret for the same client id) and with a
	// wrong secret at A.
	back := signIn(t, c, authURL(issA, good), "maya")
	code := back.Query().Get("code")
	exchange := func(iss, secret, code string) int {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectA}}
		req, _ := http.NewRequest(http.MethodPost, iss+"/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("clr-records", secret)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := exchange(issA, "secret-b", code); s != http.StatusUnauthorized {
		t.Errorf("realm A's token endpoint with realm B's secret: %d, want 401", s)
	}
	if s := exchange(issB, "secret-b", code); s != http.StatusBadRequest {
		t.Errorf("realm A's code at realm B: %d, want 400 invalid_grant", s)
	}
	back = signIn(t, c, authURL(issA, good), "maya")
	if s := exchange(issA, "secret-a", back.Query().Get("code")); s != http.StatusOK {
		t.Errorf("a good exchange: %d", s)
	}
}

func TestConfigValidation(t *testing.T) {
	key, err := localidp.LoadOrCreateSigningKey(filepath.Join(t.TempDir(), "k"))
	if err != nil {
		t.Fatal(err)
	}
	realm := func() localidp.Realm {
		return localidp.Realm{Name: "r", EmailDomain: "x.edu", Clients: []localidp.Client{{ID: "c", Secret: "s", RedirectURIs: []string{"https://x.edu/cb"}}}}
	}
	for name, mutate := range map[string]func(*localidp.Config){
		"http base":          func(c *localidp.Config) { c.BaseURL = "http://127.0.0.1:1" },
		"base with path":     func(c *localidp.Config) { c.BaseURL = "https://127.0.0.1:1/x" },
		"no realm":           func(c *localidp.Config) { c.Realms = nil },
		"bad realm name":     func(c *localidp.Config) { c.Realms[0].Name = "R/1" },
		"duplicate realm":    func(c *localidp.Config) { c.Realms = append(c.Realms, realm()) },
		"no email domain":    func(c *localidp.Config) { c.Realms[0].EmailDomain = "" },
		"client sans secret": func(c *localidp.Config) { c.Realms[0].Clients[0].Secret = "" },
		"relative redirect":  func(c *localidp.Config) { c.Realms[0].Clients[0].RedirectURIs = []string{"/cb"} },
		"bad username":       func(c *localidp.Config) { c.Realms[0].Users = []localidp.User{{Username: "a b"}} },
	} {
		cfg := localidp.Config{BaseURL: "https://127.0.0.1:1", Realms: []localidp.Realm{realm()}}
		if _, err := localidp.New(cfg, key); err != nil {
			t.Fatalf("the valid config: %v", err)
		}
		mutate(&cfg)
		if _, err := localidp.New(cfg, key); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := localidp.New(localidp.Config{BaseURL: "https://127.0.0.1:1", Realms: []localidp.Realm{realm()}}, &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: new(big.Int).Rsh(key.N, 1100)}}); err == nil {
		t.Error("a short signing key was accepted")
	}
}

// The signing key is kept across restarts.
func TestSigningKeyPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signing.key")
	a, err := localidp.LoadOrCreateSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := localidp.LoadOrCreateSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Equal(b) {
		t.Error("a second load made another key")
	}
}

// A client added to the configuration file is accepted once the provider
// reloads it, not before; the sign-ins of the realms already served go on
// (a code issued before the reload is redeemed after it); a broken file is
// refused with a logged error and the configuration stays.
func TestReloadFile(t *testing.T) {
	p, base, c := provider(t)
	issA := p.Issuer("cascadia-state")
	ctx := context.Background()
	const redirectC = "https://records.later-college.test/oauth/callback"
	authC := func() string {
		v := url.Values{"client_id": {"later-clr"}, "redirect_uri": {redirectC}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}
		return base + "/realms/later-college/authorize?" + v.Encode()
	}
	status := func(target string) int {
		page, err := oauthtest.Get(ctx, c, target)
		if err != nil {
			t.Fatal(err)
		}
		return page.Status
	}
	if s := status(authC()); s != http.StatusNotFound {
		t.Fatalf("the later realm before the reload: %d, want 404", s)
	}

	// A sign-in at realm A under way across the reload.
	cfgA := &oauth2.Config{ClientID: "clr-records", ClientSecret: "secret-a", RedirectURL: redirectA, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: issA + "/authorize", TokenURL: issA + "/token", AuthStyle: oauth2.AuthStyleInHeader}}
	back := signIn(t, c, cfgA.AuthCodeURL("st"), "maya")

	cfg := p.Config()
	cfg.Realms = append(cfg.Realms, localidp.Realm{Name: "later-college", Title: "Later College", EmailDomain: "later-college.test",
		Clients: []localidp.Client{{ID: "other", Secret: "x", RedirectURIs: []string{redirectC}}}})
	file := filepath.Join(t.TempDir(), "config.json")
	writeRaw := func(raw []byte) {
		// Atomically, as the watcher may read at any time.
		if err := os.WriteFile(file+".tmp", raw, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".tmp", file); err != nil {
			t.Fatal(err)
		}
	}
	write := func(v any) {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		writeRaw(raw)
	}
	write(cfg)
	if changed, err := p.ReloadFile(file); err != nil || !changed {
		t.Fatalf("first reload: changed %v, err %v", changed, err)
	}
	if s := status(authC()); s != http.StatusBadRequest {
		t.Fatalf("an unknown client of the new realm: %d, want 400", s)
	}
	cfg.Realms[2].Clients = append(cfg.Realms[2].Clients, localidp.Client{ID: "later-clr", Secret: "s-c", RedirectURIs: []string{redirectC}})
	write(cfg)
	if changed, err := p.ReloadFile(file); err != nil || !changed {
		t.Fatalf("second reload: changed %v, err %v", changed, err)
	}
	if changed, err := p.ReloadFile(file); err != nil || changed {
		t.Errorf("the same file again: changed %v, err %v, want no reload", changed, err)
	}
	if got := signIn(t, c, authC(), "maya.lindqvist"); !strings.HasPrefix(got.String(), redirectC+"?") || got.Query().Get("iss") != base+"/realms/later-college" {
		t.Errorf("the added client's sign-in came back to %s", got)
	}
	if _, err := cfgA.Exchange(context.WithValue(ctx, oauth2.HTTPClient, c), back.Query().Get("code")); err != nil {
		t.Errorf("a code of realm A issued before the reload: %v", err)
	}

	// A broken file, then an invalid one: refused, logged, the
	// configuration stays.
	var logs []string
	logged := make(chan string, 10)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go p.WatchFile(wctx, file, 5*time.Millisecond, func(format string, args ...any) { logged <- fmt.Sprintf(format, args...) })
	for _, broken := range [][]byte{[]byte(`{"baseURL": "` + base + `", "realms": [`), []byte(`{"baseURL": "` + base + `", "realms": []}`)} {
		writeRaw(broken)
		select {
		case msg := <-logged:
			logs = append(logs, msg)
			if !strings.Contains(msg, "not reloaded") || !strings.Contains(msg, "keeping the previous configuration") {
				t.Errorf("log for a broken file: %q", msg)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no error logged for the broken file %s", broken)
		}
		if s := status(authC()); s != http.StatusOK {
			t.Errorf("the added client after a broken file: %d, want the login page", s)
		}
		if len(p.Config().Realms) != 3 {
			t.Errorf("%d realms after a broken file, want 3", len(p.Config().Realms))
		}
	}
	// The watcher reloads a good file again.
	cfg.Realms = cfg.Realms[:2]
	write(cfg)
	select {
	case msg := <-logged:
		if !strings.Contains(msg, "reloaded") || strings.Contains(msg, "later-college") {
			t.Errorf("log for the good file: %q", msg)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the good file was not reloaded (logs %q)", logs)
	}
	if s := status(authC()); s != http.StatusNotFound {
		t.Errorf("a removed realm: %d, want 404", s)
	}
}
