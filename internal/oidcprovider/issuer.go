// Package oidcprovider is the protocol core of an OpenID Connect provider
// (authorization code flow): the discovery document, a JWKS, validation of
// authorization requests with exact redirect URIs, single-use codes, the
// token endpoint with client authentication (client_secret_basic or
// client_secret_post) and PKCE (S256), and RS256 ID tokens with nonce.
//
// It leaves to its users how an end user signs in: internal/localidp (the
// `make local-up` sandbox) shows a login form, internal/oidctest (tests)
// logs a configured user in at once and can make the ID tokens misbehave.
// Both then serve the same protocol code, so that what the tests prove of
// clr-server's relying party holds against the sandbox too.
package oidcprovider

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Client is a relying party registered with an issuer.
type Client struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
	// RedirectURIs are compared exactly (OAuth 2.0 Security BCP).
	RedirectURIs []string `json:"redirectURIs"`
}

// Identity is a signed-in end user, as the ID token names them; empty
// optional claims are left out of the token.
type Identity struct {
	Subject           string
	PreferredUsername string
	Email             string
	Name              string
}

// DefaultIDTokenTTL is the lifetime of ID tokens when Issuer.IDTokenTTL is
// zero.
const DefaultIDTokenTTL = 5 * time.Minute

// codeTTL is how long an authorization code may wait for its exchange.
const codeTTL = time.Minute

// Issuer serves the protocol of one issuer URL. Its endpoints are URL +
// /.well-known/openid-configuration, /jwks, /authorize (served by the user
// of this package, which signs the end user in and then calls IssueCode)
// and /token. Set the fields before serving; they are not changed after.
type Issuer struct {
	// URL is the issuer identifier, also the base of its endpoints.
	URL string
	// Signer signs the ID tokens; its public key is the JWKS.
	Signer *Signer
	// Client returns the registered client with that id, or nil.
	Client func(id string) *Client
	// Codes holds the issued authorization codes; several issuers may
	// share one store (a code is only redeemed at its own issuer).
	Codes *Codes
	// AuthRealm is the realm named by the token endpoint's
	// WWW-Authenticate challenge when client authentication fails.
	AuthRealm string
	// IDTokenTTL defaults to DefaultIDTokenTTL.
	IDTokenTTL time.Duration
	// AccessTokenPrefix starts every access token issued, so that a
	// userinfo endpoint can tell its own tokens.
	AccessTokenPrefix string
	// SignIDToken, when set, signs the ID token claims instead of
	// Signer.Sign; internal/oidctest uses it to tamper with tokens.
	SignIDToken func(claims map[string]any) (string, error)
}

func (i *Issuer) idTokenTTL() time.Duration {
	if i.IDTokenTTL > 0 {
		return i.IDTokenTTL
	}
	return DefaultIDTokenTTL
}

// Metadata is the discovery document (OpenID Connect Discovery 1.0 §3).
func (i *Issuer) Metadata() map[string]any {
	return map[string]any{
		"issuer":                                i.URL,
		"authorization_endpoint":                i.URL + "/authorize",
		"token_endpoint":                        i.URL + "/token",
		"jwks_uri":                              i.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "profile", "email"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported":                 []string{"authorization_code"},
		"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce",
			"email", "email_verified", "name", "preferred_username"},
		"authorization_response_iss_parameter_supported": true,
	}
}

// ServeDiscovery answers GET /.well-known/openid-configuration.
func (i *Issuer) ServeDiscovery(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, i.Metadata())
}

// ServeJWKS answers GET /jwks.
func (i *Issuer) ServeJWKS(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, i.Signer.JWKS())
}

// AuthRequest is an authorization request (RFC 6749 §4.1.1, PKCE and the
// OpenID Connect nonce).
type AuthRequest struct {
	ClientID, RedirectURI, ResponseType, Scope, State, Nonce, Challenge, ChallengeMethod string
}

// ParseAuthRequest reads an authorization request from query or form
// parameters.
func ParseAuthRequest(v url.Values) AuthRequest {
	return AuthRequest{ClientID: v.Get("client_id"), RedirectURI: v.Get("redirect_uri"), ResponseType: v.Get("response_type"),
		Scope: v.Get("scope"), State: v.Get("state"), Nonce: v.Get("nonce"),
		Challenge: v.Get("code_challenge"), ChallengeMethod: v.Get("code_challenge_method")}
}

// Params are the request's non-empty parameters, the inverse of
// ParseAuthRequest (for a login form carrying the request along).
func (ar AuthRequest) Params() map[string]string {
	m := map[string]string{"client_id": ar.ClientID, "redirect_uri": ar.RedirectURI, "response_type": ar.ResponseType,
		"scope": ar.Scope, "state": ar.State, "nonce": ar.Nonce, "code_challenge": ar.Challenge, "code_challenge_method": ar.ChallengeMethod}
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}

// CheckAuthRequest validates ar like a real provider and, when it is not
// acceptable, answers it and returns false: an unknown client or an
// unregistered redirect URI gets an error page (never a redirect, RFC 6749
// §4.1.2.1); other errors go back to the client.
func (i *Issuer) CheckAuthRequest(w http.ResponseWriter, r *http.Request, ar AuthRequest) bool {
	cl := i.Client(ar.ClientID)
	if cl == nil {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return false
	}
	if !slices.Contains(cl.RedirectURIs, ar.RedirectURI) {
		http.Error(w, "redirect_uri is not registered for this client", http.StatusBadRequest)
		return false
	}
	if _, err := url.Parse(ar.RedirectURI); err != nil {
		http.Error(w, "the registered redirect_uri is not a URI", http.StatusBadRequest)
		return false
	}
	fail := func(code, desc string) bool {
		redirectBack(w, r, ar, url.Values{"error": {code}, "error_description": {desc}})
		return false
	}
	switch {
	case ar.ResponseType != "code":
		return fail("unsupported_response_type", "only the authorization code flow is supported")
	case !slices.Contains(strings.Fields(ar.Scope), "openid"):
		return fail("invalid_scope", "the openid scope is required")
	case ar.Challenge != "" && ar.ChallengeMethod != "S256":
		return fail("invalid_request", "only S256 code challenges are supported")
	case ar.Challenge == "" && ar.ChallengeMethod != "":
		return fail("invalid_request", "code_challenge_method without code_challenge")
	}
	return true
}

// IssueCode ends an authorization request that CheckAuthRequest accepted
// and whose end user has signed in: it issues a code standing for user and
// redirects back to the client with it (and the issuer, RFC 9207).
func (i *Issuer) IssueCode(w http.ResponseWriter, r *http.Request, ar AuthRequest, user Identity) {
	now := time.Now()
	code := i.Codes.issue(grant{issuer: i.URL, client: ar.ClientID, redirectURI: ar.RedirectURI, nonce: ar.Nonce,
		challenge: ar.Challenge, scope: ar.Scope, user: user, authTime: now, expires: now.Add(codeTTL)})
	redirectBack(w, r, ar, url.Values{"code": {code}, "iss": {i.URL}})
}

func redirectBack(w http.ResponseWriter, r *http.Request, ar AuthRequest, params url.Values) {
	back, _ := url.Parse(ar.RedirectURI) // parsed by CheckAuthRequest
	q := back.Query()
	for k, v := range params {
		q[k] = v
	}
	if ar.State != "" {
		q.Set("state", ar.State)
	}
	back.RawQuery = q.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// grant is what an issued authorization code stands for.
type grant struct {
	issuer, client string
	redirectURI    string
	nonce          string
	challenge      string
	scope          string
	user           Identity
	authTime       time.Time
	expires        time.Time
}

// Codes holds issued authorization codes until their single use. The zero
// value is ready.
type Codes struct {
	mu sync.Mutex
	m  map[string]grant
}

func (c *Codes) issue(g grant) string {
	code := rand.Text()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]grant{}
	}
	// Codes abandoned by their clients go when the next one is issued.
	for k, old := range c.m {
		if g.authTime.After(old.expires) {
			delete(c.m, k)
		}
	}
	c.m[code] = g
	return code
}

// redeem takes a code out of the store: it is used once, even when the
// exchange then fails.
func (c *Codes) redeem(code string) (grant, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.m[code]
	delete(c.m, code)
	if !ok || time.Now().After(g.expires) {
		return grant{}, false
	}
	return g, true
}

// ClientCredentials are the client id and secret of a token request:
// HTTP Basic (client_secret_basic) or form fields (client_secret_post).
func ClientCredentials(r *http.Request) (id, secret string) {
	id, secret, basic := r.BasicAuth()
	if !basic {
		return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	// RFC 6749 §2.3.1: the credentials are form-urlencoded inside Basic.
	if u, err := url.QueryUnescape(id); err == nil {
		id = u
	}
	if u, err := url.QueryUnescape(secret); err == nil {
		secret = u
	}
	return id, secret
}

// VerifyPKCE reports whether verifier matches an S256 code challenge
// (RFC 7636 §4.6).
func VerifyPKCE(challenge, verifier string) bool {
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// ServeToken answers POST /token: the authorization code grant, with
// client authentication and PKCE when the authorization request used it.
func (i *Issuer) ServeToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if err := r.ParseForm(); err != nil {
		TokenError(w, http.StatusBadRequest, "invalid_request", "malformed form")
		return
	}
	id, secret := ClientCredentials(r)
	cl := i.Client(id)
	if cl == nil || subtle.ConstantTimeCompare([]byte(secret), []byte(cl.Secret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+i.AuthRealm+`"`)
		TokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		TokenError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code")
		return
	}
	g, found := i.Codes.redeem(r.PostForm.Get("code"))
	switch {
	case !found || g.issuer != i.URL:
		TokenError(w, http.StatusBadRequest, "invalid_grant", "unknown or expired code")
		return
	case g.client != cl.ID:
		TokenError(w, http.StatusBadRequest, "invalid_grant", "the code was issued to another client")
		return
	case r.PostForm.Get("redirect_uri") != g.redirectURI:
		TokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri mismatch")
		return
	case g.challenge != "" && !VerifyPKCE(g.challenge, r.PostForm.Get("code_verifier")):
		TokenError(w, http.StatusBadRequest, "invalid_grant", "code_verifier mismatch")
		return
	}
	sign := i.SignIDToken
	if sign == nil {
		sign = i.Signer.Sign
	}
	idToken, err := sign(i.idTokenClaims(g))
	if err != nil {
		TokenError(w, http.StatusInternalServerError, "server_error", "could not sign the ID token")
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{
		"access_token": i.AccessTokenPrefix + rand.Text(),
		"token_type":   "Bearer",
		"expires_in":   int(i.idTokenTTL().Seconds()),
		"id_token":     idToken,
		"scope":        g.scope,
	})
}

// idTokenClaims are the claims of a grant's ID token (OpenID Connect Core
// §2), with the user's profile claims that are known.
func (i *Issuer) idTokenClaims(g grant) map[string]any {
	now := time.Now()
	claims := map[string]any{
		"iss": i.URL, "sub": g.user.Subject, "aud": g.client,
		"iat": now.Unix(), "exp": now.Add(i.idTokenTTL()).Unix(), "auth_time": g.authTime.Unix(),
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
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
	return claims
}

// TokenError is an OAuth 2.0 error response (RFC 6749 §5.2).
func TokenError(w http.ResponseWriter, status int, code, desc string) {
	WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// WriteJSON answers with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
