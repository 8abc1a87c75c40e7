package oauth

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/learnerrecords/clr-operator/internal/store"
)

// Cookie names. The session cookie is scoped to the /oauth/ paths.
const (
	sessionCookie = "clr_session"
	oidcCookie    = "clr_oidc"
)

// pending is a validated authorization request waiting for the learner's
// login and consent. It travels sealed (HMAC) in hidden form fields and in
// the OIDC cookie, so the server keeps no state for abandoned requests.
type pending struct {
	ClientID      string   `json:"c"`
	RedirectURI   string   `json:"r"`
	Scopes        []string `json:"s"`
	State         string   `json:"st"`
	CodeChallenge string   `json:"cc"`
	Expires       int64    `json:"x"`
}

// pkceChallenge is a base64url SHA-256 digest (RFC 7636 §4.2).
var pkceChallenge = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// pkceVerifier is RFC 7636 §4.1's code_verifier.
var pkceVerifier = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// authorize handles the authorization request (RFC 6749 §4.1.1). Errors
// about the client or the redirect URI are shown to the user; the others are
// sent back to the client's redirect URI, which is known to be genuine.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	// Repeated client_id or redirect_uri make the redirect target
	// ambiguous: shown to the user, not redirected (RFC 6749 §3.1).
	for _, p := range []string{"client_id", "redirect_uri"} {
		if len(q[p]) > 1 {
			s.errorPage(w, http.StatusBadRequest, "The request repeats the "+p+" parameter.")
			return
		}
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		s.errorPage(w, http.StatusBadRequest, "The application did not identify itself (client_id is missing).")
		return
	}
	client, err := s.store.GetClient(r.Context(), clientID)
	if errors.Is(err, store.ErrNotFound) {
		s.errorPage(w, http.StatusBadRequest, "The application is not registered with this server.")
		return
	}
	if err != nil {
		s.log.Error("authorize: loading client", "err", err)
		s.errorPage(w, http.StatusInternalServerError, "The server could not process the request. Please try again later.")
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" || !slices.Contains(client.RedirectURIs, redirect) {
		s.errorPage(w, http.StatusBadRequest, "The application's redirect address does not match any it registered.")
		return
	}
	p, code, desc := s.validateRequest(q, client)
	if code != "" {
		s.redirectError(w, r, redirect, q.Get("state"), code, desc)
		return
	}
	s.continueAuthorization(w, r, p, client)
}

// validateRequest checks an authorization request of a known client and
// redirect URI, returning an RFC 6749 error code when it fails.
func (s *Server) validateRequest(q url.Values, client *store.Client) (*pending, string, string) {
	for _, p := range []string{"response_type", "scope", "state", "code_challenge", "code_challenge_method"} {
		if len(q[p]) > 1 {
			return nil, "invalid_request", "parameter " + p + " is repeated"
		}
	}
	if q.Get("response_type") != "code" {
		if q.Get("response_type") == "" {
			return nil, "invalid_request", "response_type is required"
		}
		return nil, "unsupported_response_type", "only the code response type is supported"
	}
	state := q.Get("state")
	if state == "" {
		return nil, "invalid_request", "state is required"
	}
	if len(state) > 512 {
		return nil, "invalid_request", "state is longer than 512 characters"
	}
	if q.Get("code_challenge") == "" {
		return nil, "invalid_request", "PKCE is required: code_challenge is missing"
	}
	if q.Get("code_challenge_method") != "S256" {
		return nil, "invalid_request", "PKCE code_challenge_method must be S256"
	}
	if !pkceChallenge.MatchString(q.Get("code_challenge")) {
		return nil, "invalid_request", "code_challenge is not a base64url SHA-256 digest"
	}
	scopes := parseScope(q.Get("scope"))
	if len(scopes) == 0 {
		return nil, "invalid_scope", "scope is required"
	}
	if !subset(scopes, CLRScopes) || !subset(scopes, client.Scopes) {
		return nil, "invalid_scope", "the requested scope exceeds what the application registered"
	}
	if !slices.Contains(client.GrantTypes, "authorization_code") {
		return nil, "unauthorized_client", "the application may not use the authorization code grant"
	}
	return &pending{
		ClientID:      client.ID,
		RedirectURI:   q.Get("redirect_uri"),
		Scopes:        scopes,
		State:         state,
		CodeChallenge: q.Get("code_challenge"),
		Expires:       s.now().Add(pendingTTL).Unix(),
	}, "", ""
}

// continueAuthorization shows the consent page to a logged-in learner, the
// dev login form in development mode, or sends the learner to the IdP.
func (s *Server) continueAuthorization(w http.ResponseWriter, r *http.Request, p *pending, client *store.Client) {
	sealed, err := s.seal("pending", p)
	if err != nil {
		s.errorPage(w, http.StatusInternalServerError, "The server could not process the request.")
		return
	}
	if s.opts.Dev {
		// Always the form, even for a learner with a session: the contract
		// of development mode is "a form with a username field that logs in
		// and approves", which scripted clients rely on.
		s.renderPage(w, http.StatusOK, pageData{
			Title:   "Sign in (development mode)",
			Client:  clientView(client),
			Scopes:  scopeViews(p.Scopes),
			DevForm: true,
			Action:  s.URL(PathLogin),
			Request: sealed,
		})
		return
	}
	if sess, hash := s.currentSession(r); sess != nil {
		s.renderPage(w, http.StatusOK, pageData{
			Title:   "Allow access to your learner records?",
			Client:  clientView(client),
			Scopes:  scopeViews(p.Scopes),
			Learner: sess.LearnerID,
			Action:  s.URL(PathDecision),
			Request: sealed,
			CSRF:    s.csrfToken(hash, sealed),
		})
		return
	}
	s.startUpstreamLogin(w, r, sealed)
}

// devLogin logs the learner named in the form in and approves the request:
// the development replacement of the IdP plus consent in one step. It
// authenticates nobody, which is why it exists only with --dev.
func (s *Server) devLogin(w http.ResponseWriter, r *http.Request) {
	if !s.opts.Dev {
		s.errorPage(w, http.StatusNotFound, "Development login is disabled on this server.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	p, client, ok := s.openPending(w, r, r.PostForm.Get("request"))
	if !ok {
		return
	}
	learner, ok := validUsername(r.PostForm.Get("username"))
	if !ok {
		sealed, _ := s.seal("pending", p)
		s.renderPage(w, http.StatusBadRequest, pageData{
			Title:   "Sign in (development mode)",
			Error:   "Enter a username of 1 to 128 letters, digits or . _ @ + - characters.",
			Client:  clientView(client),
			Scopes:  scopeViews(p.Scopes),
			DevForm: true,
			Action:  s.URL(PathLogin),
			Request: sealed,
		})
		return
	}
	if _, err := s.store.EnsureLearner(r.Context(), learner, s.now().UTC()); err != nil {
		s.log.Error("dev login: storing learner", "err", err)
		s.errorPage(w, http.StatusInternalServerError, "The server could not sign you in. Please try again later.")
		return
	}
	s.approve(w, r, p, learner)
}

// decision receives the consent form.
func (s *Server) decision(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	sess, hash := s.currentSession(r)
	if sess == nil {
		s.errorPage(w, http.StatusBadRequest, "Your sign-in session has expired. Please start again from the application.")
		return
	}
	sealed := r.PostForm.Get("request")
	if !hmac.Equal([]byte(r.PostForm.Get("csrf")), []byte(s.csrfToken(hash, sealed))) {
		s.errorPage(w, http.StatusForbidden, "The form could not be verified. Please start again from the application.")
		return
	}
	p, _, ok := s.openPending(w, r, sealed)
	if !ok {
		return
	}
	switch r.PostForm.Get("decision") {
	case "approve":
		s.approve(w, r, p, sess.LearnerID)
	case "deny":
		s.redirectError(w, r, p.RedirectURI, p.State, "access_denied", "the learner denied the request")
	default:
		s.errorPage(w, http.StatusBadRequest, "Choose Allow or Deny.")
	}
}

// openPending unseals a pending request and re-checks that its client and
// redirect URI still stand, answering the error page itself when not.
func (s *Server) openPending(w http.ResponseWriter, r *http.Request, sealed string) (*pending, *store.Client, bool) {
	var p pending
	if err := s.unseal("pending", sealed, &p); err != nil {
		s.errorPage(w, http.StatusBadRequest, "The sign-in request is not valid. Please start again from the application.")
		return nil, nil, false
	}
	if s.now().Unix() > p.Expires {
		s.errorPage(w, http.StatusBadRequest, "The sign-in request has expired. Please start again from the application.")
		return nil, nil, false
	}
	client, err := s.store.GetClient(r.Context(), p.ClientID)
	if err != nil || !slices.Contains(client.RedirectURIs, p.RedirectURI) {
		s.errorPage(w, http.StatusBadRequest, "The application is no longer registered.")
		return nil, nil, false
	}
	return &p, client, true
}

// approve issues the authorization code and sends the learner back.
func (s *Server) approve(w http.ResponseWriter, r *http.Request, p *pending, learner string) {
	code := newSecret()
	now := s.now().UTC()
	err := s.store.CreateAuthCode(r.Context(), &store.AuthCode{
		CodeHash:            s.hash("code", code),
		ClientID:            p.ClientID,
		LearnerID:           learner,
		RedirectURI:         p.RedirectURI,
		Scopes:              p.Scopes,
		CodeChallenge:       p.CodeChallenge,
		CodeChallengeMethod: "S256",
		GrantID:             grantPrefixCode + newSecret(),
		CreatedAt:           now,
		ExpiresAt:           now.Add(s.opts.CodeTTL),
	})
	if err != nil {
		s.log.Error("storing authorization code", "err", err)
		s.redirectError(w, r, p.RedirectURI, p.State, "server_error", "the authorization could not be recorded")
		return
	}
	s.log.Info("authorization approved", "client_id", p.ClientID, "scopes", strings.Join(p.Scopes, " "))
	s.redirectBack(w, r, p.RedirectURI, url.Values{"code": {code}, "state": {p.State}})
}

// redirectError sends an RFC 6749 §4.1.2.1 error to a verified redirect URI.
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, redirect, state, code, desc string) {
	v := url.Values{"error": {code}, "error_description": {desc}}
	if state != "" {
		v.Set("state", state)
	}
	s.redirectBack(w, r, redirect, v)
}

func (s *Server) redirectBack(w http.ResponseWriter, r *http.Request, redirect string, params url.Values) {
	u, err := url.Parse(redirect)
	if err != nil {
		s.errorPage(w, http.StatusBadRequest, "The application's redirect address is not valid.")
		return
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	// RFC 9207: name the issuer so that clients can detect mix-up attacks.
	q.Set("iss", s.Issuer())
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// validUsername accepts a dev-mode username.
func validUsername(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 128 || !utf8.ValidString(s) {
		return "", false
	}
	for _, c := range s {
		if !(unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune("._@+-", c)) {
			return "", false
		}
	}
	return s, true
}

// currentSession returns the learner's live session and its hash, if any.
func (s *Server) currentSession(r *http.Request) (*store.Session, string) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return nil, ""
	}
	hash := s.hash("session", c.Value)
	sess, err := s.store.GetSession(r.Context(), hash)
	if err != nil || !s.now().Before(sess.ExpiresAt) {
		return nil, ""
	}
	return sess, hash
}

// csrfToken binds the consent form to the session and the request.
func (s *Server) csrfToken(sessionHash, sealed string) string {
	return base64.RawURLEncoding.EncodeToString(s.mac("csrf", sessionHash, sealed))
}

func (s *Server) cookie(name, value string, ttl time.Duration) *http.Cookie {
	path := s.BasePath() + "/oauth/"
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     path,
		MaxAge:   int(ttl.Seconds()),
		HttpOnly: true,
		Secure:   s.base.Scheme == "https",
		// Lax: the OIDC callback is a top-level cross-site GET that must
		// carry the cookie; the consent POST is same-site.
		SameSite: http.SameSiteLaxMode,
	}
}

// learnerFromUpstream finishes an upstream login: session, then the
// authorization continues with the consent page.
func (s *Server) finishUpstreamLogin(ctx context.Context, w http.ResponseWriter, r *http.Request, learner, sealed string) {
	if _, err := s.store.EnsureLearner(ctx, learner, s.now().UTC()); err != nil {
		s.log.Error("oidc login: storing learner", "err", err)
		s.errorPage(w, http.StatusInternalServerError, "The server could not sign you in. Please try again later.")
		return
	}
	value := newSecret()
	now := s.now().UTC()
	hash := s.hash("session", value)
	if err := s.store.CreateSession(ctx, &store.Session{
		Hash: hash, LearnerID: learner, Data: json.RawMessage(`{"login":"oidc"}`),
		CreatedAt: now, ExpiresAt: now.Add(sessionTTL),
	}); err != nil {
		s.log.Error("oidc login: session", "err", err)
		s.errorPage(w, http.StatusInternalServerError, "The server could not sign you in. Please try again later.")
		return
	}
	http.SetCookie(w, s.cookie(sessionCookie, value, sessionTTL))
	p, client, ok := s.openPending(w, r, sealed)
	if !ok {
		return
	}
	s.renderPage(w, http.StatusOK, pageData{
		Title:   "Allow access to your learner records?",
		Client:  clientView(client),
		Scopes:  scopeViews(p.Scopes),
		Learner: learner,
		Action:  s.URL(PathDecision),
		Request: sealed,
		CSRF:    s.csrfToken(hash, sealed),
	})
}
