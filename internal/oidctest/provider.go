// Package oidctest is a small but real OpenID Connect provider for tests. It
// listens on loopback and serves a discovery document, a JWKS, an authorize
// endpoint that logs in a configured user without a login page, and a token
// endpoint that exchanges codes (client_secret_basic or client_secret_post,
// PKCE when the client used it) for RS256-signed ID tokens.
//
// It exists so that clr-server's upstream login is tested against a genuine
// protocol exchange over HTTP rather than a mocked verifier. The protocol is
// internal/oidcprovider, the one the `make local-up` sandbox provider
// (internal/localidp) serves; this package adds the automatic login and
// knobs that make the provider misbehave (wrong signing key, wrong audience
// or nonce) to prove that the relying party notices.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/learnerrecords/clr-operator/internal/oidcprovider"
	"github.com/learnerrecords/clr-operator/internal/tlscert"
)

// User is the identity the authorize endpoint logs in automatically.
type User = oidcprovider.Identity

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

// accessTokenPrefix marks the access tokens issued here, the only ones
// userinfo accepts.
const accessTokenPrefix = "oidctest-"

// Provider is a running OpenID Connect provider.
type Provider struct {
	oidc   *oidcprovider.Issuer
	server *http.Server
	rogue  *oidcprovider.Signer
	caPEM  []byte

	mu     sync.Mutex
	client oidcprovider.Client
	user   User
	misbeh Misbehaviour
	// authorizeCount counts authorization requests, for tests' assertions.
	authorizeCount int
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
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("oidctest: generating signing key: %w", err)
	}
	signer, err := oidcprovider.NewSigner(key)
	if err != nil {
		return nil, fmt.Errorf("oidctest: %w", err)
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
		pair, err := tlscert.Loopback("oidctest loopback provider", 24*time.Hour)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("oidctest: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair.TLS()}, MinVersion: tls.VersionTLS12})
		scheme, caPEM = "https", pair.CertPEM()
	}
	p := &Provider{
		caPEM: caPEM,
		// Same kid as the published key: only the signature tells them apart.
		rogue:  &oidcprovider.Signer{Key: rogue, KeyID: signer.KeyID},
		client: oidcprovider.Client{ID: cfg.ClientID, Secret: cfg.ClientSecret, RedirectURIs: cfg.RedirectURIs},
		user:   cfg.User,
	}
	p.oidc = &oidcprovider.Issuer{
		URL: scheme + "://" + ln.Addr().String(), Signer: signer, Client: p.lookupClient, Codes: &oidcprovider.Codes{},
		AuthRealm: "oidctest", IDTokenTTL: cfg.IDTokenTTL, AccessTokenPrefix: accessTokenPrefix, SignIDToken: p.signIDToken,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.oidc.ServeJWKS)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.oidc.ServeToken)
	mux.HandleFunc("GET /userinfo", p.userinfo)
	p.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go p.server.Serve(ln) //nolint:errcheck // ends with Close
	return p, nil
}

// Issuer is the provider's issuer URL (also its base URL).
func (p *Provider) Issuer() string { return p.oidc.URL }

// CACertPEM is the PEM certificate a client of a StartTLS provider must
// trust (nil for a plain HTTP provider).
func (p *Provider) CACertPEM() []byte { return p.caPEM }

// SetClientSecret changes the client secret the token endpoint accepts,
// for a relying party whose secret is generated after the provider starts.
func (p *Provider) SetClientSecret(secret string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.client.Secret = secret
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

// lookupClient is the one registered client (a copy: its secret may change).
func (p *Provider) lookupClient(id string) *oidcprovider.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	if id != p.client.ID {
		return nil
	}
	c := p.client
	return &c
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	m := p.oidc.Metadata()
	m["userinfo_endpoint"] = p.oidc.URL + "/userinfo"
	oidcprovider.WriteJSON(w, http.StatusOK, m)
}

// authorize validates the request like a real provider (client, exact
// redirect URI, response type, openid scope, PKCE method) and then, instead
// of showing a login page, logs in the configured user and redirects back
// with a code.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	ar := oidcprovider.ParseAuthRequest(r.URL.Query())
	if !p.oidc.CheckAuthRequest(w, r, ar) {
		return
	}
	p.mu.Lock()
	p.authorizeCount++
	u := p.user
	p.mu.Unlock()
	p.oidc.IssueCode(w, r, ar, u)
}

// signIDToken signs an ID token's claims, honouring the misbehaviour knobs.
func (p *Provider) signIDToken(claims map[string]any) (string, error) {
	p.mu.Lock()
	m := p.misbeh
	p.mu.Unlock()
	signer := p.oidc.Signer
	if m.SignWithUnpublishedKey {
		signer = p.rogue
	}
	if m.WrongIssuer {
		claims["iss"] = "https://evil.example"
	}
	if m.WrongAudience {
		claims["aud"] = "some-other-client"
	}
	if m.WrongNonce {
		nonce, _ := claims["nonce"].(string)
		claims["nonce"] = "not-" + nonce
	}
	if m.Expired {
		claims["exp"] = time.Now().Add(-time.Hour).Unix()
	}
	return signer.Sign(claims)
}

// userinfo answers any bearer token issued here with the current user; it is
// present for completeness of the discovery document.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "+accessTokenPrefix) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	p.mu.Lock()
	u := p.user
	p.mu.Unlock()
	oidcprovider.WriteJSON(w, http.StatusOK, map[string]any{
		"sub": u.Subject, "email": u.Email, "name": u.Name, "preferred_username": u.PreferredUsername,
	})
}
