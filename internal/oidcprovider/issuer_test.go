package oidcprovider_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/learnerrecords/clr-operator/internal/oidcprovider"
)

const (
	redirectA = "https://a.example.edu/cb"
	redirectB = "https://b.example.edu/cb?tenant=b"
	// secretB needs form-urlencoding inside HTTP Basic (RFC 6749 §2.3.1).
	secretB = "b s+cr%t:"
)

// issuer serves an Issuer on loopback with two clients and an authorize
// endpoint that signs in user at once; noRedirect is a client that stops
// at redirects.
func issuer(t *testing.T, user oidcprovider.Identity) (*oidcprovider.Issuer, *http.Client) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := oidcprovider.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	clients := map[string]*oidcprovider.Client{
		"a": {ID: "a", Secret: "secret-a", RedirectURIs: []string{redirectA}},
		"b": {ID: "b", Secret: secretB, RedirectURIs: []string{redirectB}},
	}
	iss := &oidcprovider.Issuer{Signer: signer, Codes: &oidcprovider.Codes{}, AuthRealm: "test",
		Client: func(id string) *oidcprovider.Client { return clients[id] }}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", iss.ServeDiscovery)
	mux.HandleFunc("GET /jwks", iss.ServeJWKS)
	mux.HandleFunc("POST /token", iss.ServeToken)
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		ar := oidcprovider.ParseAuthRequest(r.URL.Query())
		if iss.CheckAuthRequest(w, r, ar) {
			iss.IssueCode(w, r, ar, user)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	iss.URL = srv.URL
	return iss, &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func authorize(t *testing.T, c *http.Client, iss *oidcprovider.Issuer, v url.Values) *url.URL {
	t.Helper()
	resp, err := c.Get(iss.URL + "/authorize?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return nil
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

type tokenReply struct {
	status  int
	body    map[string]any
	wwwAuth string
}

func token(t *testing.T, iss *oidcprovider.Issuer, form url.Values, basicID, basicSecret string) tokenReply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, iss.URL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token response: %v", err)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("token response Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	return tokenReply{resp.StatusCode, body, resp.Header.Get("WWW-Authenticate")}
}

// Client authentication (Basic with form-urlencoded credentials, or form
// fields), the binding of a code to its client, redirect URI and PKCE
// verifier, and single use.
func TestTokenEndpoint(t *testing.T) {
	iss, c := issuer(t, oidcprovider.Identity{Subject: "s-1"})
	verifier := oauth2.GenerateVerifier()
	codeFor := func(client, redirect string, pkce bool) string {
		v := url.Values{"client_id": {client}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid"}, "state": {"st"}}
		if pkce {
			v.Set("code_challenge", oauth2.S256ChallengeFromVerifier(verifier))
			v.Set("code_challenge_method", "S256")
		}
		loc := authorize(t, c, iss, v)
		if loc == nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st" || loc.Query().Get("iss") != iss.URL {
			t.Fatalf("authorize for %s: %v", client, loc)
		}
		if client == "b" && loc.Query().Get("tenant") != "b" {
			t.Fatalf("the redirect URI's own query was lost: %s", loc)
		}
		return loc.Query().Get("code")
	}
	grant := func(code, redirect string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}}
	}
	withVerifier := func(v url.Values, verifier string) url.Values { v.Set("code_verifier", verifier); return v }
	post := func(v url.Values, id, secret string) url.Values {
		v.Set("client_id", id)
		v.Set("client_secret", secret)
		return v
	}

	for name, tc := range map[string]struct {
		reply     func() tokenReply
		status    int
		errorCode string
	}{
		"basic, urlencoded secret": {func() tokenReply {
			return token(t, iss, grant(codeFor("b", redirectB, false), redirectB), "b", secretB)
		}, 200, ""},
		"post": {func() tokenReply {
			return token(t, iss, post(grant(codeFor("a", redirectA, false), redirectA), "a", "secret-a"), "", "")
		}, 200, ""},
		"wrong secret": {func() tokenReply {
			return token(t, iss, grant(codeFor("a", redirectA, false), redirectA), "a", "secret-b")
		}, 401, "invalid_client"},
		"unknown client": {func() tokenReply { return token(t, iss, post(grant("x", redirectA), "nobody", "x"), "", "") }, 401, "invalid_client"},
		"another client's code": {func() tokenReply {
			return token(t, iss, grant(codeFor("a", redirectA, false), redirectA), "b", secretB)
		}, 400, "invalid_grant"},
		"other redirect URI": {func() tokenReply {
			return token(t, iss, grant(codeFor("a", redirectA, false), redirectA+"x"), "a", "secret-a")
		}, 400, "invalid_grant"},
		"PKCE without verifier": {func() tokenReply {
			return token(t, iss, grant(codeFor("a", redirectA, true), redirectA), "a", "secret-a")
		}, 400, "invalid_grant"},
		"PKCE, wrong verifier": {func() tokenReply {
			return token(t, iss, withVerifier(grant(codeFor("a", redirectA, true), redirectA), oauth2.GenerateVerifier()), "a", "secret-a")
		}, 400, "invalid_grant"},
		"PKCE": {func() tokenReply {
			return token(t, iss, withVerifier(grant(codeFor("a", redirectA, true), redirectA), verifier), "a", "secret-a")
		}, 200, ""},
		"refresh grant": {func() tokenReply {
			return token(t, iss, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"r"}}, "a", "secret-a")
		}, 400, "unsupported_grant_type"},
	} {
		r := tc.reply()
		if r.status != tc.status || (tc.errorCode != "" && r.body["error"] != tc.errorCode) {
			t.Errorf("%s: %d %v, want %d %s", name, r.status, r.body["error"], tc.status, tc.errorCode)
		}
		if tc.status == 401 && r.wwwAuth != `Basic realm="test"` {
			t.Errorf("%s: WWW-Authenticate %q", name, r.wwwAuth)
		}
		if tc.status == 200 && (r.body["id_token"] == nil || r.body["token_type"] != "Bearer") {
			t.Errorf("%s: id_token present %v, token_type %v", name, r.body["id_token"] != nil, r.body["token_type"])
		}
	}

	// A code is good once, even when the first exchange failed.
	code := codeFor("a", redirectA, false)
	if r := token(t, iss, grant(code, redirectA+"x"), "a", "secret-a"); r.status != 400 {
		t.Fatalf("a bad redirect URI: %d", r.status)
	}
	if r := token(t, iss, grant(code, redirectA), "a", "secret-a"); r.status != 400 || r.body["error"] != "invalid_grant" {
		t.Errorf("a code redeemed after a failed exchange: %d %v", r.status, r.body["error"])
	}
}

// Two issuers sharing a code store: a code is only good at its own issuer.
func TestSharedCodesStayWithTheirIssuer(t *testing.T) {
	issA, c := issuer(t, oidcprovider.Identity{Subject: "s-1"})
	issB, _ := issuer(t, oidcprovider.Identity{Subject: "s-1"})
	issB.Codes = issA.Codes
	loc := authorize(t, c, issA, url.Values{"client_id": {"a"}, "redirect_uri": {redirectA}, "response_type": {"code"}, "scope": {"openid"}})
	if loc == nil {
		t.Fatal("no redirect")
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {redirectA}}
	if r := token(t, issB, form, "a", "secret-a"); r.status != 400 || r.body["error"] != "invalid_grant" {
		t.Errorf("issuer A's code at issuer B: %d %v", r.status, r.body["error"])
	}
}

// Requests the provider cannot redirect back get an error page; others an
// error redirect carrying the state.
func TestAuthRequestRefusals(t *testing.T) {
	iss, c := issuer(t, oidcprovider.Identity{Subject: "s-1"})
	good := func(k, v string) url.Values {
		out := url.Values{"client_id": {"a"}, "redirect_uri": {redirectA}, "response_type": {"code"}, "scope": {"openid email"}, "state": {"s"}}
		if v == "" {
			out.Del(k)
		} else {
			out.Set(k, v)
		}
		return out
	}
	for name, tc := range map[string]struct {
		v         url.Values
		errorCode string // "" = an error page
	}{
		"unknown client":        {good("client_id", "nobody"), ""},
		"unregistered redirect": {good("redirect_uri", redirectB), ""},
		"no redirect":           {good("redirect_uri", ""), ""},
		"token flow":            {good("response_type", "token"), "unsupported_response_type"},
		"no openid":             {good("scope", "email"), "invalid_scope"},
		"plain PKCE": {func() url.Values {
			v := good("code_challenge", "abc")
			v.Set("code_challenge_method", "plain")
			return v
		}(), "invalid_request"},
		"method sans challenge": {good("code_challenge_method", "S256"), "invalid_request"},
	} {
		resp, err := c.Get(iss.URL + "/authorize?" + tc.v.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if tc.errorCode == "" {
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("%s: %d to %q, want an error page", name, resp.StatusCode, resp.Header.Get("Location"))
			}
			continue
		}
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), redirectA+"?") ||
			loc.Query().Get("error") != tc.errorCode || loc.Query().Get("state") != "s" || loc.Query().Has("code") {
			t.Errorf("%s: %d to %v, want an %s redirect", name, resp.StatusCode, loc, tc.errorCode)
		}
	}
}

// The ID token verifies with the published JWKS and carries the claims of
// the signed-in user, without the empty ones.
func TestIDTokenClaims(t *testing.T) {
	for _, user := range []oidcprovider.Identity{
		{Subject: "u-1", PreferredUsername: "mary", Email: "mary@example.edu", Name: "Mary Somerville"},
		{Subject: "u-2"},
	} {
		iss, c := issuer(t, user)
		var disc map[string]any
		getMetadata(t, iss.URL+"/.well-known/openid-configuration", &disc)
		if disc["issuer"] != iss.URL || disc["token_endpoint"] != iss.URL+"/token" {
			t.Fatalf("discovery %v", disc)
		}
		var set jose.JSONWebKeySet
		getMetadata(t, disc["jwks_uri"].(string), &set)
		cfg := &oauth2.Config{ClientID: "a", ClientSecret: "secret-a", RedirectURL: redirectA, Scopes: []string{"openid"},
			Endpoint: oauth2.Endpoint{AuthURL: iss.URL + "/authorize", TokenURL: iss.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
		v := oauth2.GenerateVerifier()
		loc := authorize(t, c, iss, mustQuery(t, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("nonce", "n-1"))))
		tok, err := cfg.Exchange(context.Background(), loc.Query().Get("code"), oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := jwt.ParseSigned(tok.Extra("id_token").(string), []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		var std jwt.Claims
		var all map[string]any
		if err := parsed.Claims(&set, &std, &all); err != nil {
			t.Fatalf("the ID token does not verify with the JWKS: %v", err)
		}
		if err := std.ValidateWithLeeway(jwt.Expected{Issuer: iss.URL, AnyAudience: jwt.Audience{"a"}, Subject: user.Subject, Time: time.Now()}, 0); err != nil {
			t.Errorf("%s: %v", user.Subject, err)
		}
		if all["nonce"] != "n-1" || all["auth_time"] == nil {
			t.Errorf("%s: claims %v", user.Subject, all)
		}
		for claim, want := range map[string]string{"email": user.Email, "name": user.Name, "preferred_username": user.PreferredUsername} {
			got, present := all[claim]
			if (want == "" && present) || (want != "" && got != want) {
				t.Errorf("%s: %s = %v, want %q", user.Subject, claim, got, want)
			}
		}
		if _, verified := all["email_verified"]; verified != (user.Email != "") {
			t.Errorf("%s: email_verified %v with email %q", user.Subject, all["email_verified"], user.Email)
		}
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// getMetadata reads one of the issuer's JSON documents, which must be
// served as 200 application/json.
func getMetadata(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s: %d %s", u, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
}

// VerifyPKCE agrees with golang.org/x/oauth2's S256 challenges.
func TestVerifyPKCE(t *testing.T) {
	for range 3 {
		verifier := oauth2.GenerateVerifier()
		challenge := oauth2.S256ChallengeFromVerifier(verifier)
		if !oidcprovider.VerifyPKCE(challenge, verifier) {
			t.Errorf("verifier %s does not match its challenge", verifier)
		}
		if oidcprovider.VerifyPKCE(challenge, verifier+"x") || oidcprovider.VerifyPKCE(challenge, "") || oidcprovider.VerifyPKCE(verifier, verifier) {
			t.Error("a wrong verifier verifies")
		}
	}
}

func TestNewSignerRefusesShortKeys(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oidcprovider.NewSigner(key); err == nil {
		t.Error("a 1024-bit key was accepted")
	}
	if _, err := oidcprovider.NewSigner(nil); err == nil {
		t.Error("no key was accepted")
	}
}
