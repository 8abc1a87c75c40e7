package oidctest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/learnerrecords/clr-operator/internal/oidctest"
)

// TestProviderIssuesVerifiableIDTokens runs a code flow with PKCE against
// the provider with a standard client and verifies the ID token with the
// published JWKS; a misbehaving provider's token fails verification.
func TestProviderIssuesVerifiableIDTokens(t *testing.T) {
	const redirect = "http://127.0.0.1:1/cb"
	p, err := oidctest.Start(oidctest.Config{ClientID: "rp", ClientSecret: "rp-secret", RedirectURIs: []string{redirect},
		User: oidctest.User{Subject: "s-1", Email: "a@example.edu"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	var disc map[string]any
	getJSON(t, p.Issuer()+"/.well-known/openid-configuration", &disc)
	if disc["issuer"] != p.Issuer() {
		t.Fatalf("issuer %v", disc["issuer"])
	}
	var set jose.JSONWebKeySet
	getJSON(t, disc["jwks_uri"].(string), &set)

	cfg := &oauth2.Config{ClientID: "rp", ClientSecret: "rp-secret", RedirectURL: redirect, Scopes: []string{"openid", "email"},
		Endpoint: oauth2.Endpoint{AuthURL: disc["authorization_endpoint"].(string), TokenURL: disc["token_endpoint"].(string), AuthStyle: oauth2.AuthStyleInHeader}}
	idToken := func(nonce string) string {
		v := oauth2.GenerateVerifier()
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noRedirect.Get(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("nonce", nonce)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Query().Get("state") != "st" {
			t.Fatalf("authorize: %d %v", resp.StatusCode, loc)
		}
		tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		return tok.Extra("id_token").(string)
	}
	parse := func(raw string) (jwt.Claims, map[string]any, error) {
		tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		var std jwt.Claims
		var extra map[string]any
		err = tok.Claims(&set, &std, &extra)
		return std, extra, err
	}
	std, extra, err := parse(idToken("n-1"))
	if err != nil {
		t.Fatal(err)
	}
	if std.Subject != "s-1" || std.Issuer != p.Issuer() || !std.Audience.Contains("rp") || extra["nonce"] != "n-1" || extra["email"] != "a@example.edu" {
		t.Fatalf("claims %+v %v", std, extra)
	}
	p.SetMisbehaviour(oidctest.Misbehaviour{SignWithUnpublishedKey: true})
	if _, _, err := parse(idToken("n-2")); err == nil {
		t.Fatal("a token signed with an unpublished key verified")
	}
	if p.AuthorizeCount() != 2 {
		t.Fatalf("AuthorizeCount = %d", p.AuthorizeCount())
	}

	// Each knob spoils exactly its claim of an otherwise valid token, and
	// later logins name the user set last.
	p.SetUser(oidctest.User{Subject: "s-2", Name: "Second"})
	for name, tc := range map[string]struct {
		m     oidctest.Misbehaviour
		wrong func(jwt.Claims, map[string]any) bool
	}{
		"wrong issuer":   {oidctest.Misbehaviour{WrongIssuer: true}, func(c jwt.Claims, _ map[string]any) bool { return c.Issuer != p.Issuer() }},
		"wrong audience": {oidctest.Misbehaviour{WrongAudience: true}, func(c jwt.Claims, _ map[string]any) bool { return !c.Audience.Contains("rp") }},
		"wrong nonce":    {oidctest.Misbehaviour{WrongNonce: true}, func(_ jwt.Claims, x map[string]any) bool { return x["nonce"] != "n-3" }},
		"expired":        {oidctest.Misbehaviour{Expired: true}, func(c jwt.Claims, _ map[string]any) bool { return c.Expiry.Time().Before(time.Now()) }},
		"well-behaved":   {oidctest.Misbehaviour{}, func(jwt.Claims, map[string]any) bool { return false }},
	} {
		p.SetMisbehaviour(tc.m)
		std, extra, err := parse(idToken("n-3"))
		if err != nil {
			t.Fatalf("%s: the token does not verify: %v", name, err)
		}
		valid := std.Issuer == p.Issuer() && std.Audience.Contains("rp") && extra["nonce"] == "n-3" && std.Expiry.Time().After(time.Now())
		wellBehaved := tc.m == oidctest.Misbehaviour{}
		if tc.wrong(std, extra) == wellBehaved || valid != wellBehaved {
			t.Errorf("%s: claims %+v %v", name, std, extra)
		}
		if std.Subject != "s-2" || extra["name"] != "Second" || extra["email"] != nil {
			t.Errorf("%s: the token names %s %v, not the user set", name, std.Subject, extra["name"])
		}
	}
}

// userinfo answers the access tokens issued here with the current user.
func TestUserinfo(t *testing.T) {
	p, err := oidctest.Start(oidctest.Config{ClientID: "rp", ClientSecret: "rp-secret", RedirectURIs: []string{"http://127.0.0.1:1/cb"},
		User: oidctest.User{Subject: "s-1", Email: "a@example.edu"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var disc map[string]any
	getJSON(t, p.Issuer()+"/.well-known/openid-configuration", &disc)
	ask := func(token string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, disc["userinfo_endpoint"].(string), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	if status, _ := ask("someone-elses-token"); status != http.StatusUnauthorized {
		t.Errorf("a foreign token: %d, want 401", status)
	}
	// The access token of a real exchange.
	const redirect = "http://127.0.0.1:1/cb"
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cfg := &oauth2.Config{ClientID: "rp", ClientSecret: "rp-secret", RedirectURL: redirect, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: disc["authorization_endpoint"].(string), TokenURL: disc["token_endpoint"].(string), AuthStyle: oauth2.AuthStyleInParams}}
	resp, err := noRedirect.Get(cfg.AuthCodeURL("st"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	tok, err := cfg.Exchange(context.Background(), loc.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if status, body := ask(tok.AccessToken); status != http.StatusOK || body["sub"] != "s-1" || body["email"] != "a@example.edu" {
		t.Errorf("userinfo: %d %v", status, body)
	}
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestStartTLS serves the provider over HTTPS: a client trusting
// CACertPEM reads the discovery document (with https endpoints), a client
// with the system roots only is refused, and SetClientSecret changes the
// secret the token endpoint accepts.
func TestStartTLS(t *testing.T) {
	p, err := oidctest.StartTLS(oidctest.Config{ClientID: "rp", ClientSecret: "first", RedirectURIs: []string{"https://rp.example/cb"},
		User: oidctest.User{Subject: "s-1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(p.CACertPEM()) {
		t.Fatalf("CACertPEM is not a PEM certificate: %q", p.CACertPEM())
	}
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := trusting.Get(p.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disc map[string]any
	err = json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	if err != nil || disc["issuer"] != p.Issuer() || !strings.HasPrefix(p.Issuer(), "https://127.0.0.1:") {
		t.Fatalf("discovery %v (%v), issuer %s", disc, err, p.Issuer())
	}
	if _, err := http.Get(p.Issuer() + "/jwks"); err == nil {
		t.Fatal("a client without the provider's certificate among its roots connected")
	}
	token := func(id, secret string) int {
		req, _ := http.NewRequest(http.MethodPost, p.Issuer()+"/token", strings.NewReader("grant_type=authorization_code&code=unknown"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		resp, err := trusting.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	p.SetClientSecret("second")
	if got := token("rp", "first"); got != http.StatusUnauthorized {
		t.Errorf("old secret: status %d, want 401", got)
	}
	// Authenticated, then refused for the unknown code.
	if got := token("rp", "second"); got != http.StatusBadRequest {
		t.Errorf("new secret: status %d, want 400 (invalid_grant)", got)
	}
}
