// Package oidctest is a small but real OpenID Connect provider for tests. It
// listens on loopback and serves a discovery document, a JWKS, an authorize
// endpoint that logs in a configured user without a login page, and a token
// endpoint that exchanges codes (client_secret_basic or client_secret_post,
// PKCE when the client used it) for RS256-signed ID tokens.
//
// It exists so that clr-server's upstream login is tested against a genuine
// protocol exchange over HTTP rather than a mocked verifier. Knobs let tests
// make the provider misbehave (wrong signing key, wrong audience or nonce) to
// prove that the relying party notices.
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// User is the identity the authorize endpoint logs in automatically.
type User struct {
	Subject           string
	PreferredUsername string
	Email             string
	Name              string
}

// Config configures a Provider.
type Config struct {
	ClientID     string
	ClientSecret string
	// RedirectURIs are the exact redirect URIs the client may use.
	RedirectURIs []string
	// User is logged in by every authorization request.
	User User
	// IDTokenTTL defaults to five minutes.
	IDTokenTTL time.Duration
}

// Misbehaviour makes the provider issue ID tokens a correct relying party
// must reject. The zero value is a well-behaved provider.
type Misbehaviour struct {
	// SignWithUnpublishedKey signs with a key absent from the JWKS (same kid).
	SignWithUnpublishedKey bool
	// WrongAudience sets aud to another client.
	WrongAudience bool
	// WrongNonce replaces the nonce of the authorization request.
	WrongNonce bool
	// WrongIssuer sets iss to another URL.
	WrongIssuer bool
	// Expired issues an ID token that expired an hour ago.
	Expired bool
}

// Provider is a running OpenID Connect provider.
type Provider struct {
	cfg      Config
	issuer   string
	server   *http.Server
	listener net.Listener
	key      *rsa.PrivateKey
	rogue    *rsa.PrivateKey
	kid      string
	caPEM    []byte

	mu     sync.Mutex
	codes  map[string]grant
	user   User
	misbeh Misbehaviour
	// Requests counts authorization requests, for tests' assertions.
	authorizeCount int
}

// grant is what an issued code stands for.
type grant struct {
	redirectURI   string
	nonce         string
	challenge     string
	challengeMeth string
	scope         string
	user          User
	expires       time.Time
}

// Start listens on 127.0.0.1 on a free port and serves plain HTTP until
// Close.
func Start(cfg Config) (*Provider, error) { return start(cfg, false) }

// StartTLS is Start over HTTPS, with a certificate for 127.0.0.1 signed by
// itself (CACertPEM): relying parties that require an https issuer (the
// CLRProvider CRD does) trust it by adding that certificate to their roots.
func StartTLS(cfg Config) (*Provider, error) { return start(cfg, true) }

func start(cfg Config, useTLS bool) (*Provider, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, fmt.Errorf("oidctest: ClientID and ClientSecret are required")
	}
	if cfg.User.Subject == "" {
		return nil, fmt.Errorf("oidctest: User.Subject is required")
	}
	if cfg.IDTokenTTL == 0 {
		cfg.IDTokenTTL = 5 * time.Minute
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("oidctest: generating signing key: %w", err)
	}
	rogue, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("oidctest: generating rogue key: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("oidctest: listening on loopback: %w", err)
	}
	scheme := "http"
	var caPEM []byte
	if useTLS {
		cert, pemBytes, err := loopbackCertificate()
		if err != nil {
			ln.Close()
			return nil, err
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme, caPEM = "https", pemBytes
	}
	jwk := jose.JSONWebKey{Key: &key.PublicKey, Algorithm: string(jose.RS256), Use: "sig"}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("oidctest: key thumbprint: %w", err)
	}
	p := &Provider{
		cfg:      cfg,
		issuer:   scheme + "://" + ln.Addr().String(),
		caPEM:    caPEM,
		listener: ln,
		key:      key,
		rogue:    rogue,
		kid:      base64.RawURLEncoding.EncodeToString(thumb),
		codes:    map[string]grant{},
		user:     cfg.User,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /userinfo", p.userinfo)
	p.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go p.server.Serve(ln) //nolint:errcheck // ends with Close
	return p, nil
}

// Issuer is the provider's issuer URL (also its base URL).
func (p *Provider) Issuer() string { return p.issuer }

// CACertPEM is the PEM certificate a client of a StartTLS provider must
// trust (nil for a plain HTTP provider).
func (p *Provider) CACertPEM() []byte { return p.caPEM }

// SetClientSecret changes the client secret the token endpoint accepts,
// for a relying party whose secret is generated after the provider starts.
func (p *Provider) SetClientSecret(secret string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg.ClientSecret = secret
}

// Close stops the server.
func (p *Provider) Close() error { return p.server.Close() }

// SetUser changes the user logged in by later authorization requests.
func (p *Provider) SetUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = u
}

// SetMisbehaviour changes how later ID tokens are made.
func (p *Provider) SetMisbehaviour(m Misbehaviour) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.misbeh = m
}

// AuthorizeCount is the number of authorization requests served.
func (p *Provider) AuthorizeCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.authorizeCount
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.issuer,
		"authorization_endpoint":                p.issuer + "/authorize",
		"token_endpoint":                        p.issuer + "/token",
		"userinfo_endpoint":                     p.issuer + "/userinfo",
		"jwks_uri":                              p.issuer + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "email"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported":                 []string{"authorization_code"},
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nonce", "email", "name", "preferred_username"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &p.key.PublicKey, KeyID: p.kid, Algorithm: string(jose.RS256), Use: "sig",
	}}}
	writeJSON(w, http.StatusOK, set)
}

// authorize validates the request like a real provider (client, exact
// redirect URI, response type, openid scope) and then, instead of showing a
// login page, logs in the configured user and redirects back with a code.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != p.cfg.ClientID {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	redirect := q.Get("redirect_uri")
	if !slices.Contains(p.cfg.RedirectURIs, redirect) {
		http.Error(w, "redirect_uri not registered", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(redirect)
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	fail := func(code, desc string) {
		v := back.Query()
		v.Set("error", code)
		v.Set("error_description", desc)
		if s := q.Get("state"); s != "" {
			v.Set("state", s)
		}
		back.RawQuery = v.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "only code is supported")
		return
	}
	if !slices.Contains(strings.Fields(q.Get("scope")), "openid") {
		fail("invalid_scope", "openid scope required")
		return
	}
	if m := q.Get("code_challenge_method"); q.Get("code_challenge") != "" && m != "S256" {
		fail("invalid_request", "only S256 code challenges")
		return
	}
	code := rand.Text()
	p.mu.Lock()
	p.authorizeCount++
	p.codes[code] = grant{
		redirectURI:   redirect,
		nonce:         q.Get("nonce"),
		challenge:     q.Get("code_challenge"),
		challengeMeth: q.Get("code_challenge_method"),
		scope:         q.Get("scope"),
		user:          p.user,
		expires:       time.Now().Add(time.Minute),
	}
	p.mu.Unlock()
	v := back.Query()
	v.Set("code", code)
	if s := q.Get("state"); s != "" {
		v.Set("state", s)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "malformed form")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		// RFC 6749 2.3.1: the credentials are form-urlencoded inside Basic.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	p.mu.Lock()
	wantSecret := p.cfg.ClientSecret
	p.mu.Unlock()
	if id != p.cfg.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(wantSecret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code")
		return
	}
	code := r.PostForm.Get("code")
	p.mu.Lock()
	g, found := p.codes[code]
	delete(p.codes, code)
	misbeh := p.misbeh
	p.mu.Unlock()
	if !found || time.Now().After(g.expires) {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown or expired code")
		return
	}
	if r.PostForm.Get("redirect_uri") != g.redirectURI {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri mismatch")
		return
	}
	if g.challenge != "" {
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			tokenError(w, http.StatusBadRequest, "invalid_grant", "code_verifier mismatch")
			return
		}
	}
	idToken, err := p.idToken(g, misbeh)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": "oidctest-" + rand.Text(),
		"token_type":   "Bearer",
		"expires_in":   300,
		"id_token":     idToken,
		"scope":        g.scope,
	})
}

// idToken signs the ID token of a grant, honouring the misbehaviour knobs.
func (p *Provider) idToken(g grant, m Misbehaviour) (string, error) {
	key := p.key
	if m.SignWithUnpublishedKey {
		key = p.rogue
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", p.kid))
	if err != nil {
		return "", fmt.Errorf("oidctest: signer: %w", err)
	}
	now := time.Now()
	iss, aud, nonce := p.issuer, p.cfg.ClientID, g.nonce
	if m.WrongIssuer {
		iss = "https://evil.example"
	}
	if m.WrongAudience {
		aud = "some-other-client"
	}
	if m.WrongNonce {
		nonce = "not-" + nonce
	}
	exp := now.Add(p.cfg.IDTokenTTL)
	if m.Expired {
		exp = now.Add(-time.Hour)
	}
	claims := map[string]any{
		"iss": iss, "sub": g.user.Subject, "aud": aud,
		"iat": now.Unix(), "exp": exp.Unix(), "auth_time": now.Unix(),
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if g.user.Email != "" {
		claims["email"] = g.user.Email
		claims["email_verified"] = true
	}
	if g.user.Name != "" {
		claims["name"] = g.user.Name
	}
	if g.user.PreferredUsername != "" {
		claims["preferred_username"] = g.user.PreferredUsername
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// userinfo answers any bearer token issued here with the current user; it is
// present for completeness of the discovery document.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer oidctest-") {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	p.mu.Lock()
	u := p.user
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"sub": u.Subject, "email": u.Email, "name": u.Name, "preferred_username": u.PreferredUsername,
	})
}

// loopbackCertificate is a fresh self-signed certificate for 127.0.0.1
// (and localhost), usable as its own trust anchor.
func loopbackCertificate() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("oidctest: TLS key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "oidctest loopback provider"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("oidctest: TLS certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
