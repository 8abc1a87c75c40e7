package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// upstream is the OpenID Connect relying party side: discovery, the
// authorization redirect, the code exchange and ID token verification.
type upstream struct {
	cfg    UpstreamOIDC
	client *http.Client

	mu        sync.Mutex
	discovery *oidcDiscovery
	jwks      *jose.JSONWebKeySet
	jwksAt    time.Time
}

type oidcDiscovery struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

func newUpstream(cfg UpstreamOIDC, client *http.Client) *upstream {
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"openid", "profile", "email"}
	}
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = "sub"
	}
	cfg.IssuerURL = strings.TrimSuffix(cfg.IssuerURL, "/")
	return &upstream{cfg: cfg, client: client}
}

// upstreamState is the OIDC cookie: it binds the callback to the browser
// that started the login (state), the ID token to this login (nonce), and
// carries the PKCE verifier and the pending authorization request.
type upstreamState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Request  string `json:"r"`
	Expires  int64  `json:"x"`
}

// discover fetches and caches the provider's discovery document.
func (u *upstream) discover(ctx context.Context) (*oidcDiscovery, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.discovery != nil {
		return u.discovery, nil
	}
	var d oidcDiscovery
	if err := u.getJSON(ctx, u.cfg.IssuerURL+"/.well-known/openid-configuration", &d); err != nil {
		return nil, fmt.Errorf("oidc discovery: %w", err)
	}
	// OpenID Connect Discovery §4.3: the issuer must be the configured one.
	if strings.TrimSuffix(d.Issuer, "/") != u.cfg.IssuerURL {
		return nil, fmt.Errorf("oidc discovery: issuer %q does not match the configured %q", d.Issuer, u.cfg.IssuerURL)
	}
	if d.AuthorizationEndpoint == "" || d.TokenEndpoint == "" || d.JWKSURI == "" {
		return nil, errors.New("oidc discovery: document lacks authorization_endpoint, token_endpoint or jwks_uri")
	}
	u.discovery = &d
	return &d, nil
}

// keys returns the provider's JWKS, refetched when a kid is unknown (key
// rotation), at most once a minute.
func (u *upstream) keys(ctx context.Context, d *oidcDiscovery, kid string) (*jose.JSONWebKeySet, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.jwks != nil && (len(u.jwks.Key(kid)) > 0 || time.Since(u.jwksAt) < time.Minute) {
		return u.jwks, nil
	}
	var set jose.JSONWebKeySet
	if err := u.getJSON(ctx, d.JWKSURI, &set); err != nil {
		if u.jwks != nil {
			return u.jwks, nil
		}
		return nil, fmt.Errorf("oidc jwks: %w", err)
	}
	u.jwks, u.jwksAt = &set, time.Now()
	return u.jwks, nil
}

func (u *upstream) getJSON(ctx context.Context, target string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := u.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", target, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

// startUpstreamLogin redirects the learner to the provider.
func (s *Server) startUpstreamLogin(w http.ResponseWriter, r *http.Request, sealed string) {
	if s.upstream == nil {
		s.errorPage(w, http.StatusServiceUnavailable, "Learner sign-in is not set up for this institution yet: no identity provider is configured. Please contact the registrar.")
		return
	}
	d, err := s.upstream.discover(r.Context())
	if err != nil {
		s.log.Error("oidc login", "err", err)
		s.errorPage(w, http.StatusBadGateway, "The institution's sign-in service is unavailable. Please try again later.")
		return
	}
	st := upstreamState{
		State: newSecret(), Nonce: newSecret(), Verifier: newSecret() + newSecret()[:11],
		Request: sealed, Expires: s.now().Add(pendingTTL).Unix(),
	}
	cookie, err := s.seal("oidc", st)
	if err != nil {
		s.errorPage(w, http.StatusInternalServerError, "The server could not start the sign-in.")
		return
	}
	http.SetCookie(w, s.cookie(oidcCookie, cookie, pendingTTL))
	sum := sha256.Sum256([]byte(st.Verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {s.upstream.cfg.ClientID},
		"redirect_uri":          {s.URL(PathCallback)},
		"scope":                 {strings.Join(s.upstream.cfg.Scopes, " ")},
		"state":                 {st.State},
		"nonce":                 {st.Nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	target := d.AuthorizationEndpoint
	if strings.Contains(target, "?") {
		target += "&" + q.Encode()
	} else {
		target += "?" + q.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}

// callback receives the provider's answer.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	if s.upstream == nil {
		s.errorPage(w, http.StatusNotFound, "No identity provider is configured on this server.")
		return
	}
	c, err := r.Cookie(oidcCookie)
	var st upstreamState
	if err != nil || s.unseal("oidc", c.Value, &st) != nil || s.now().Unix() > st.Expires {
		s.errorPage(w, http.StatusBadRequest, "Your sign-in has expired or was started in another browser. Please start again from the application.")
		return
	}
	// The cookie is single-use whatever happens next.
	expired := s.cookie(oidcCookie, "", 0)
	expired.MaxAge = -1
	http.SetCookie(w, expired)
	q := r.URL.Query()
	if !hmac.Equal([]byte(q.Get("state")), []byte(st.State)) {
		s.errorPage(w, http.StatusBadRequest, "The sign-in response does not match the sign-in request.")
		return
	}
	if e := q.Get("error"); e != "" {
		s.log.Info("oidc login refused upstream", "error", e)
		var p pending
		if s.unseal("pending", st.Request, &p) == nil {
			s.redirectError(w, r, p.RedirectURI, p.State, "access_denied", "the learner could not be signed in")
			return
		}
		s.errorPage(w, http.StatusBadRequest, "The institution's sign-in service refused the sign-in.")
		return
	}
	learner, err := s.upstream.exchange(r.Context(), q.Get("code"), s.URL(PathCallback), st)
	if err != nil {
		s.log.Warn("oidc login failed", "err", err)
		s.errorPage(w, http.StatusBadRequest, "The sign-in could not be verified. Please start again from the application.")
		return
	}
	s.finishUpstreamLogin(r.Context(), w, r, learner, st.Request)
}

// exchange redeems the code and verifies the ID token (OpenID Connect Core
// §3.1.3.7): signature by a key of the provider's JWKS, iss, aud, azp, exp,
// iat and nonce. It returns the learner id from the configured claim.
func (u *upstream) exchange(ctx context.Context, code, redirect string, st upstreamState) (string, error) {
	if code == "" {
		return "", errors.New("no code in the callback")
	}
	d, err := u.discover(ctx)
	if err != nil {
		return "", err
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {redirect},
		"code_verifier": {st.Verifier},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(u.cfg.ClientID), url.QueryEscape(u.cfg.ClientSecret))
	resp, err := u.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	var tr struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tr); err != nil {
		return "", fmt.Errorf("token response: %w", err)
	}
	if resp.StatusCode != http.StatusOK || tr.IDToken == "" {
		return "", fmt.Errorf("token response %s: error %q", resp.Status, tr.Error)
	}
	tok, err := jwt.ParseSigned(tr.IDToken, []jose.SignatureAlgorithm{
		jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.EdDSA,
	})
	if err != nil {
		return "", fmt.Errorf("id token: %w", err)
	}
	kid := ""
	if len(tok.Headers) > 0 {
		kid = tok.Headers[0].KeyID
	}
	set, err := u.keys(ctx, d, kid)
	if err != nil {
		return "", err
	}
	var std jwt.Claims
	var extra map[string]any
	if err := tok.Claims(set, &std, &extra); err != nil {
		return "", fmt.Errorf("id token signature: %w", err)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{
		Issuer:      d.Issuer,
		AnyAudience: jwt.Audience{u.cfg.ClientID},
		Time:        time.Now(),
	}, time.Minute); err != nil {
		return "", fmt.Errorf("id token claims: %w", err)
	}
	if std.Expiry == nil || std.IssuedAt == nil {
		return "", errors.New("id token lacks exp or iat")
	}
	if len(std.Audience) > 1 && extra["azp"] != u.cfg.ClientID {
		return "", errors.New("id token azp is not this client")
	}
	if n, _ := extra["nonce"].(string); !hmac.Equal([]byte(n), []byte(st.Nonce)) {
		return "", errors.New("id token nonce does not match")
	}
	var learner string
	if u.cfg.UsernameClaim == "sub" {
		learner = std.Subject
	} else {
		learner, _ = extra[u.cfg.UsernameClaim].(string)
	}
	if learner == "" || len(learner) > 255 {
		return "", fmt.Errorf("id token claim %q is missing or too long", u.cfg.UsernameClaim)
	}
	return learner, nil
}
