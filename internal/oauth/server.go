// Package oauth is clr-server's OAuth 2.0 authorization server, as the CLR
// 2.0 / Open Badges 3.0 API security section requires: dynamic client
// registration (RFC 7591), the authorization code grant with mandatory PKCE
// S256 (RFC 7636), rotating refresh tokens, token revocation (RFC 7009),
// authorization server metadata (RFC 8414) and, for the institution's own
// systems, the client-credentials grant with issuing scopes.
//
// Learners log in through the institution's OpenID Connect provider, or, in
// development mode, through a built-in form that takes a username. Tokens,
// codes, client secrets and session cookies are 256-bit random values; the
// store only ever sees their peppered SHA-256 (HMAC) hashes.
//
// Resource handlers protect themselves with Server.Require, which
// authenticates the bearer token and checks scopes, and read the caller with
// PrincipalFrom.
package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/learnerrecords/clr-operator/internal/store"
)

// Paths of the authorization server, relative to the public base URL.
const (
	PathRegister  = "/oauth/register"
	PathAuthorize = "/oauth/authorize"
	PathLogin     = "/oauth/login"
	PathDecision  = "/oauth/decision"
	PathCallback  = "/oauth/callback"
	PathToken     = "/oauth/token"
	PathRevoke    = "/oauth/revoke"
	PathMetadata  = "/.well-known/oauth-authorization-server"
)

// Defaults of the token lifetimes.
const (
	DefaultAccessTokenTTL  = time.Hour
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
	DefaultCodeTTL         = 600 * time.Second
	sessionTTL             = 8 * time.Hour
	// pendingTTL bounds how long a learner may take to log in and consent.
	pendingTTL = 15 * time.Minute
	// maxFormBytes bounds token, revocation and consent form bodies.
	maxFormBytes = 16 << 10
	// maxRegistrationBytes bounds registration requests.
	maxRegistrationBytes = 64 << 10
)

// Grant id prefixes tell the two kinds of grants apart in stored tokens.
const (
	grantPrefixCode              = "acg-"
	grantPrefixClientCredentials = "cc-"
)

// IssuingClient is an institutional system allowed the client-credentials
// grant.
type IssuingClient struct {
	ID     string
	Secret string
	Scopes []string
}

// UpstreamOIDC is the institution's OpenID Connect provider.
type UpstreamOIDC struct {
	IssuerURL    string
	ClientID     string
	ClientSecret string
	// Scopes requested upstream; default openid profile email.
	Scopes []string
	// UsernameClaim names the ID token claim that identifies the learner;
	// default "sub".
	UsernameClaim string
}

// Options configure a Server.
type Options struct {
	// PublicURL is the external base URL (no trailing slash); endpoint URLs
	// are PublicURL + Path*. It is also the issuer identifier (RFC 8414).
	PublicURL string
	// ServiceName is shown on the login and consent pages.
	ServiceName string
	// Dev enables the built-in username login instead of OIDC.
	Dev bool
	// DynamicRegistration enables RFC 7591 registration.
	DynamicRegistration bool
	// Upstream is the institution's identity provider for learners' sign-in.
	// Without it (and without Dev) learners cannot authorize clients: the
	// authorize endpoint says so, while issuing, public pages and
	// client-credentials keep working. The operator allows a CLRProvider
	// without an OIDC provider, e.g. while an institution sets one up.
	Upstream *UpstreamOIDC
	// IssuingClients may use the client-credentials grant.
	IssuingClients []IssuingClient

	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	CodeTTL         time.Duration

	// SessionKey signs pending authorization requests, cookies and CSRF
	// tokens; TokenPepper keys the hashes of secrets. Both at least 32 bytes.
	SessionKey  []byte
	TokenPepper []byte

	// HTTPClient talks to the upstream provider (default: 10 s timeout).
	HTTPClient *http.Client
	// Logger receives operational events; never secrets.
	Logger *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time
	// TokenCacheTTL is how long an authenticated access token is trusted
	// without a new database lookup (default DefaultTokenCacheTTL; negative
	// disables the cache). A revocation made through another replica takes
	// effect here within this time; one made through this server at once.
	TokenCacheTTL time.Duration
}

// Server is the authorization server. Create it with New and mount it with
// Register.
type Server struct {
	opts     Options
	store    store.Store
	base     *url.URL
	issuing  map[string]issuingClient
	upstream *upstream
	log      *slog.Logger
	now      func() time.Time
	// tokens caches bearer token lookups (nil: disabled).
	tokens *tokenCache
}

type issuingClient struct {
	secretHash string
	scopes     []string
}

// New checks the options and builds the server.
func New(opts Options, st store.Store) (*Server, error) {
	if st == nil {
		return nil, errors.New("oauth: a store is required")
	}
	base, err := url.Parse(opts.PublicURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("oauth: public URL %q must be an absolute http(s) URL", opts.PublicURL)
	}
	if strings.HasSuffix(opts.PublicURL, "/") {
		return nil, fmt.Errorf("oauth: public URL %q must not end with /", opts.PublicURL)
	}
	if len(opts.SessionKey) < 32 || len(opts.TokenPepper) < 32 {
		return nil, errors.New("oauth: session key and token pepper must be at least 32 bytes")
	}
	if opts.AccessTokenTTL <= 0 {
		opts.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if opts.RefreshTokenTTL <= 0 {
		opts.RefreshTokenTTL = DefaultRefreshTokenTTL
	}
	if opts.CodeTTL <= 0 {
		opts.CodeTTL = DefaultCodeTTL
	}
	if opts.ServiceName == "" {
		opts.ServiceName = "Learner records"
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TokenCacheTTL == 0 {
		opts.TokenCacheTTL = DefaultTokenCacheTTL
	}
	s := &Server{
		opts:    opts,
		store:   st,
		tokens:  newTokenCache(opts.TokenCacheTTL),
		base:    base,
		issuing: map[string]issuingClient{},
		log:     opts.Logger,
		now:     opts.Now,
	}
	for _, c := range opts.IssuingClients {
		if c.ID == "" || len(c.Secret) < 16 {
			return nil, fmt.Errorf("oauth: issuing client %q needs an id and a secret of at least 16 characters", c.ID)
		}
		if !subset(c.Scopes, IssuingScopes) || len(c.Scopes) == 0 {
			return nil, fmt.Errorf("oauth: issuing client %q: scopes must be among %v", c.ID, IssuingScopes)
		}
		s.issuing[c.ID] = issuingClient{secretHash: s.hash("client", c.Secret), scopes: c.Scopes}
	}
	if s.tokens != nil {
		s.store = revokingStore{Store: st, cache: s.tokens}
	}
	if opts.Upstream != nil {
		s.upstream = newUpstream(*opts.Upstream, opts.HTTPClient)
	}
	return s, nil
}

// Register mounts every endpoint on mux, under the path of the public URL
// ("" or "/prefix").
func (s *Server) Register(mux *http.ServeMux) {
	p := s.BasePath()
	mux.HandleFunc("GET "+p+PathMetadata, s.metadata)
	if p != "" {
		// RFC 8414 §3: for an issuer with a path, the well-known segment
		// goes between the host and the path.
		mux.HandleFunc("GET "+PathMetadata+p, s.metadata)
	}
	mux.HandleFunc("POST "+p+PathRegister, s.register)
	mux.HandleFunc("GET "+p+PathAuthorize, s.authorize)
	forms := http.NewCrossOriginProtection()
	// Behind a proxy that rewrites Host, the public origin is still ours.
	_ = forms.AddTrustedOrigin(s.base.Scheme + "://" + s.base.Host)
	mux.Handle("POST "+p+PathLogin, forms.Handler(http.HandlerFunc(s.devLogin)))
	mux.Handle("POST "+p+PathDecision, forms.Handler(http.HandlerFunc(s.decision)))
	mux.HandleFunc("GET "+p+PathCallback, s.callback)
	mux.HandleFunc("POST "+p+PathToken, s.token)
	mux.HandleFunc("POST "+p+PathRevoke, s.revoke)
}

// BasePath is the path of the public URL, "" or "/prefix".
func (s *Server) BasePath() string { return strings.TrimSuffix(s.base.Path, "/") }

// URL is the absolute URL of one of the Path* endpoints.
func (s *Server) URL(path string) string { return s.opts.PublicURL + path }

// Issuer is the authorization server's issuer identifier.
func (s *Server) Issuer() string { return s.opts.PublicURL }

// RegistrationEnabled reports whether dynamic registration is on.
func (s *Server) RegistrationEnabled() bool { return s.opts.DynamicRegistration }

// hash is the peppered hash under which a secret of a kind is stored.
func (s *Server) hash(kind, secret string) string {
	m := hmac.New(sha256.New, s.opts.TokenPepper)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newSecret is a random 256-bit value, base64url encoded.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// mac authenticates data under the session key for one purpose.
func (s *Server) mac(purpose string, data ...string) []byte {
	m := hmac.New(sha256.New, s.opts.SessionKey)
	m.Write([]byte(purpose))
	for _, d := range data {
		m.Write([]byte{0})
		m.Write([]byte(d))
	}
	return m.Sum(nil)
}

// seal signs v as JSON: base64url(json) "." base64url(mac).
func (s *Server) seal(purpose string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("oauth: sealing %s: %w", purpose, err)
	}
	body := base64.RawURLEncoding.EncodeToString(b)
	return body + "." + base64.RawURLEncoding.EncodeToString(s.mac(purpose, body)), nil
}

// unseal checks and decodes a value sealed for purpose.
func (s *Server) unseal(purpose, sealed string, v any) error {
	body, sig, ok := strings.Cut(sealed, ".")
	if !ok {
		return errors.New("malformed sealed value")
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(purpose, body)) {
		return errors.New("bad signature")
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return errors.New("malformed sealed value")
	}
	return json.Unmarshal(b, v)
}

// metadata serves the RFC 8414 authorization server metadata.
func (s *Server) metadata(w http.ResponseWriter, _ *http.Request) {
	md := map[string]any{
		"issuer":                                         s.Issuer(),
		"authorization_endpoint":                         s.URL(PathAuthorize),
		"token_endpoint":                                 s.URL(PathToken),
		"revocation_endpoint":                            s.URL(PathRevoke),
		"scopes_supported":                               append(append([]string{}, CLRScopes...), IssuingScopes...),
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token", "client_credentials"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic"},
		"revocation_endpoint_auth_methods_supported":     []string{"client_secret_basic"},
		"code_challenge_methods_supported":               []string{"S256"},
		"authorization_response_iss_parameter_supported": true,
	}
	if s.opts.DynamicRegistration {
		md["registration_endpoint"] = s.URL(PathRegister)
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, md)
}

// oauthError is an RFC 6749 §5.2 error.
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// writeOAuthError answers with an RFC 6749 JSON error body.
func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="clr-server", charset="UTF-8"`)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, status, oauthError{Code: code, Description: desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// ctxKey keys the principal in a request context.
type ctxKey struct{}

// WithPrincipal returns ctx carrying p (tests and middleware).
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// PrincipalFrom returns the authenticated caller of a request that went
// through Require.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(*Principal)
	return p, ok && p != nil
}

// DeleteExpired removes the tokens and authorization codes that expired
// before now. clr-server runs it periodically; expired tokens are refused
// whether or not they were deleted.
func (s *Server) DeleteExpired(ctx context.Context) (int, error) {
	n, err := s.store.DeleteExpiredTokens(ctx, s.now().UTC())
	if err != nil {
		return 0, fmt.Errorf("oauth: deleting expired tokens: %w", err)
	}
	return n, nil
}
