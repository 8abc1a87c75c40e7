package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/learnerrecords/clr-operator/internal/store"
)

// tokenResponse is RFC 6749 §5.1.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
}

// authClient is a client authenticated at the token or revocation endpoint.
type authClient struct {
	id         string
	scopes     []string
	grantTypes []string
	// institutional clients use client credentials only
	institutional bool
}

// readForm parses an application/x-www-form-urlencoded body, answering the
// RFC 6749 error itself when it cannot.
func readForm(w http.ResponseWriter, r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeOAuthError(w, http.StatusRequestEntityTooLarge, "invalid_request", "the request body is too large")
			return false
		}
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the form is malformed")
		return false
	}
	// RFC 6749 §3.2: parameters must not be repeated; query parameters are
	// not part of a token request.
	for k, v := range r.PostForm {
		if len(v) > 1 {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "parameter "+k+" is repeated")
			return false
		}
	}
	if r.URL.RawQuery != "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "parameters must be sent in the body")
		return false
	}
	return true
}

// authenticateClient checks client_secret_basic credentials (RFC 6749
// §2.3.1: form-urlencoded inside the Basic header). Any other method is
// refused, including credentials in the body.
func (s *Server) authenticateClient(w http.ResponseWriter, r *http.Request) (*authClient, bool) {
	if r.PostForm.Get("client_secret") != "" {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "use client_secret_basic: client credentials in the body are not accepted")
		return nil, false
	}
	rawID, rawSecret, ok := r.BasicAuth()
	if !ok {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication (HTTP Basic) is required")
		return nil, false
	}
	id, err1 := url.QueryUnescape(rawID)
	secret, err2 := url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil || id == "" {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "malformed client credentials")
		return nil, false
	}
	if formID := r.PostForm.Get("client_id"); formID != "" && formID != id {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client_id does not match the authenticated client")
		return nil, false
	}
	given := s.hash("client", secret)
	if ic, ok := s.issuing[id]; ok {
		if subtle.ConstantTimeCompare([]byte(given), []byte(ic.secretHash)) != 1 {
			writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
			return nil, false
		}
		return &authClient{id: id, scopes: ic.scopes, grantTypes: []string{"client_credentials"}, institutional: true}, true
	}
	c, err := s.store.GetClient(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return nil, false
	}
	if err != nil {
		s.log.Error("token: loading client", "err", err)
		writeOAuthError(w, http.StatusInternalServerError, "server_error", "the server could not process the request")
		return nil, false
	}
	if c.SecretHash == "" || subtle.ConstantTimeCompare([]byte(given), []byte(c.SecretHash)) != 1 {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return nil, false
	}
	return &authClient{id: c.ID, scopes: c.Scopes, grantTypes: c.GrantTypes}, true
}

// token is the token endpoint (RFC 6749 §3.2).
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r) {
		return
	}
	client, ok := s.authenticateClient(w, r)
	if !ok {
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		s.grantAuthorizationCode(w, r, client)
	case "refresh_token":
		s.grantRefresh(w, r, client)
	case "client_credentials":
		s.grantClientCredentials(w, r, client)
	case "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type "+quoteShort(gt)+" is not supported")
	}
}

func (s *Server) grantAuthorizationCode(w http.ResponseWriter, r *http.Request, client *authClient) {
	if !slices.Contains(client.grantTypes, "authorization_code") {
		writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", "the client may not use the authorization code grant")
		return
	}
	code, verifier, redirect := r.PostForm.Get("code"), r.PostForm.Get("code_verifier"), r.PostForm.Get("redirect_uri")
	if code == "" || redirect == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "code and redirect_uri are required")
		return
	}
	if verifier == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "code_verifier is required (PKCE)")
		return
	}
	now := s.now().UTC()
	ac, err := s.store.ConsumeAuthCode(r.Context(), s.hash("code", code), now)
	switch {
	case errors.Is(err, store.ErrAlreadyUsed):
		// RFC 6749 §4.1.2: a replayed code revokes what it granted.
		n, rerr := s.store.RevokeGrant(r.Context(), ac.GrantID, now)
		if rerr != nil {
			s.log.Error("revoking grant of a replayed code", "err", rerr)
		}
		s.log.Warn("authorization code replayed; grant revoked", "client_id", client.id, "tokens_revoked", n)
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the authorization code was already used")
		return
	case errors.Is(err, store.ErrExpired):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the authorization code has expired")
		return
	case errors.Is(err, store.ErrNotFound):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the authorization code is not valid")
		return
	case err != nil:
		s.log.Error("consuming authorization code", "err", err)
		writeOAuthError(w, http.StatusInternalServerError, "server_error", "the server could not process the request")
		return
	}
	// From here the code is spent: a failed check does not give it back.
	if ac.ClientID != client.id {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the authorization code was issued to another client")
		return
	}
	if ac.RedirectURI != redirect {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
		return
	}
	if !pkceVerifier.MatchString(verifier) || ac.CodeChallengeMethod != "S256" ||
		subtle.ConstantTimeCompare([]byte(s256(verifier)), []byte(ac.CodeChallenge)) != 1 {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code challenge")
		return
	}
	s.issueTokens(w, r, client, ac.LearnerID, ac.Scopes, ac.GrantID,
		slices.Contains(client.grantTypes, "refresh_token"))
}

func (s *Server) grantRefresh(w http.ResponseWriter, r *http.Request, client *authClient) {
	if !slices.Contains(client.grantTypes, "refresh_token") {
		writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", "the client may not use refresh tokens")
		return
	}
	raw := r.PostForm.Get("refresh_token")
	if raw == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "refresh_token is required")
		return
	}
	hash := s.hash("token", raw)
	old, err := s.store.GetToken(r.Context(), hash)
	if err != nil || old.Kind != store.TokenRefresh || old.ClientID != client.id {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.Error("loading refresh token", "err", err)
			writeOAuthError(w, http.StatusInternalServerError, "server_error", "the server could not process the request")
			return
		}
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the refresh token is not valid")
		return
	}
	scopes := old.Scopes
	if sc := r.PostForm.Get("scope"); sc != "" {
		scopes = parseScope(sc)
		if !subset(scopes, old.Scopes) {
			writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "the requested scope exceeds the original grant")
			return
		}
	}
	now := s.now().UTC()
	access, refresh := newSecret(), newSecret()
	_, err = s.store.RotateRefreshToken(r.Context(), hash, now,
		s.newToken(store.TokenAccess, access, client.id, old.Subject, scopes, old.GrantID, now),
		s.newToken(store.TokenRefresh, refresh, client.id, old.Subject, old.Scopes, old.GrantID, now))
	switch {
	case errors.Is(err, store.ErrAlreadyUsed):
		// A rotated refresh token came back: someone holds a copy. Revoke
		// the whole grant (OAuth 2.0 Security BCP §4.14.2).
		if _, rerr := s.store.RevokeGrant(r.Context(), old.GrantID, now); rerr != nil {
			s.log.Error("revoking grant of a replayed refresh token", "err", rerr)
		}
		s.log.Warn("refresh token replayed; grant revoked", "client_id", client.id)
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the refresh token is not valid")
		return
	case errors.Is(err, store.ErrExpired), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrRevoked):
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "the refresh token is not valid")
		return
	case err != nil:
		s.log.Error("rotating refresh token", "err", err)
		writeOAuthError(w, http.StatusInternalServerError, "server_error", "the server could not process the request")
		return
	}
	writeTokenResponse(w, tokenResponse{
		AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(s.opts.AccessTokenTTL.Seconds()),
		RefreshToken: refresh, Scope: strings.Join(scopes, " "),
	})
}

func (s *Server) grantClientCredentials(w http.ResponseWriter, r *http.Request, client *authClient) {
	if !client.institutional {
		writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", "the client-credentials grant is reserved to the institution's configured systems")
		return
	}
	scopes := client.scopes
	if sc := r.PostForm.Get("scope"); sc != "" {
		scopes = parseScope(sc)
		if !subset(scopes, client.scopes) {
			writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "the requested scope exceeds the client's scopes")
			return
		}
	}
	s.issueTokens(w, r, client, client.id, scopes, grantPrefixClientCredentials+newSecret(), false)
}

// issueTokens stores and returns a new access token, with a refresh token
// when asked.
func (s *Server) issueTokens(w http.ResponseWriter, r *http.Request, client *authClient, subject string, scopes []string, grantID string, withRefresh bool) {
	now := s.now().UTC()
	access := newSecret()
	resp := tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(s.opts.AccessTokenTTL.Seconds()), Scope: strings.Join(scopes, " ")}
	err := s.store.InTx(r.Context(), func(tx store.Store) error {
		if err := tx.CreateToken(r.Context(), s.newToken(store.TokenAccess, access, client.id, subject, scopes, grantID, now)); err != nil {
			return err
		}
		if withRefresh {
			resp.RefreshToken = newSecret()
			return tx.CreateToken(r.Context(), s.newToken(store.TokenRefresh, resp.RefreshToken, client.id, subject, scopes, grantID, now))
		}
		return nil
	})
	if err != nil {
		s.log.Error("storing tokens", "err", err)
		writeOAuthError(w, http.StatusInternalServerError, "server_error", "the server could not issue tokens")
		return
	}
	writeTokenResponse(w, resp)
}

func (s *Server) newToken(kind, value, clientID, subject string, scopes []string, grantID string, t time.Time) *store.Token {
	ttl := s.opts.AccessTokenTTL
	if kind == store.TokenRefresh {
		ttl = s.opts.RefreshTokenTTL
	}
	return &store.Token{
		Hash: s.hash("token", value), Kind: kind, ClientID: clientID, Subject: subject,
		Scopes: scopes, GrantID: grantID, CreatedAt: t, ExpiresAt: t.Add(ttl),
	}
}

func writeTokenResponse(w http.ResponseWriter, resp tokenResponse) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

// revoke is the RFC 7009 revocation endpoint. Revoking a refresh token
// revokes its whole grant (§2.1: the access tokens of the same grant too).
// Unknown tokens and tokens of other clients are answered 200 without
// effect, so the endpoint reveals nothing about tokens (§2.2).
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	if !readForm(w, r) {
		return
	}
	client, ok := s.authenticateClient(w, r)
	if !ok {
		return
	}
	raw := r.PostForm.Get("token")
	if raw == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	switch hint := r.PostForm.Get("token_type_hint"); hint {
	case "", "access_token", "refresh_token":
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_token_type", "token_type_hint must be access_token or refresh_token")
		return
	}
	now := s.now().UTC()
	hash := s.hash("token", raw)
	t, err := s.store.GetToken(r.Context(), hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		s.log.Error("revocation: loading token", "err", err)
		writeOAuthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the server could not process the request")
		return
	case t.ClientID != client.id:
		s.log.Warn("revocation of another client's token ignored", "client_id", client.id)
	case t.Kind == store.TokenRefresh:
		if _, err := s.store.RevokeGrant(r.Context(), t.GrantID, now); err != nil {
			s.log.Error("revoking grant", "err", err)
			writeOAuthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the server could not revoke the token")
			return
		}
	default:
		if err := s.store.RevokeToken(r.Context(), hash, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.Error("revoking token", "err", err)
			writeOAuthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the server could not revoke the token")
			return
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// s256 is the PKCE S256 transform of a code verifier.
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// quoteShort quotes user input for an error description, truncated.
func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}
