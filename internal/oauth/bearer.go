package oauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/learnerrecords/clr-operator/internal/imsx"
	"github.com/learnerrecords/clr-operator/internal/store"
)

// Principal is the caller of a protected resource, from its access token.
type Principal struct {
	// ClientID is the OAuth client the token was issued to.
	ClientID string
	// LearnerID is the learner who authorized the client (authorization code
	// grant); empty for institutional clients (client credentials).
	LearnerID string
	// Scopes granted to the token.
	Scopes []string
	// Institutional is true for client-credentials tokens of the
	// institution's own systems.
	Institutional bool
	// GrantID identifies the authorization the token derives from.
	GrantID string
}

// Has reports whether the principal holds scope.
func (p *Principal) Has(scope string) bool { return HasScope(p.Scopes, scope) }

// AuthError is a failed bearer authentication or authorization, mapped to
// the HTTP status, the RFC 6750 error code and an Imsx code minor.
type AuthError struct {
	Status      int
	Code        string // RFC 6750 §3.1: invalid_request, invalid_token, insufficient_scope; "" when no token was sent
	CodeMinor   imsx.CodeMinor
	Description string
	// Scope is the scope that was missing (insufficient_scope).
	Scope string
}

func (e *AuthError) Error() string { return e.Description }

// Authenticate checks the request's bearer token (RFC 6750 §2.1: the
// Authorization header only; tokens in the query or body are refused) and
// returns its principal.
func (s *Server) Authenticate(r *http.Request) (*Principal, *AuthError) {
	// Parsing the query allocates; only a query that could name
	// access_token (literally or percent-encoded) is parsed.
	if raw := r.URL.RawQuery; (strings.Contains(raw, "access_token") || strings.Contains(raw, "%")) && r.URL.Query().Has("access_token") {
		return nil, &AuthError{Status: http.StatusBadRequest, Code: "invalid_request", CodeMinor: imsx.InvalidData,
			Description: "access tokens must be sent in the Authorization header, not in the URL"}
	}
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return nil, &AuthError{Status: http.StatusUnauthorized, CodeMinor: imsx.UnauthorizedRequest,
			Description: "an access token is required (Authorization: Bearer)"}
	}
	scheme, tok, ok := strings.Cut(authz, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || strings.ContainsAny(tok, " \t") || len(tok) > 512 {
		return nil, &AuthError{Status: http.StatusUnauthorized, Code: "invalid_request", CodeMinor: imsx.UnauthorizedRequest,
			Description: "the Authorization header must be: Bearer <access token>"}
	}
	hash := s.hash("token", tok)
	now := s.now()
	var gen uint64
	if s.tokens != nil {
		var p *Principal
		if p, gen = s.tokens.get(hash, now); p != nil {
			return p, nil
		}
	}
	t, err := s.store.GetToken(r.Context(), hash)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("bearer: loading token", "err", err)
		return nil, &AuthError{Status: http.StatusServiceUnavailable, CodeMinor: imsx.ServerBusy,
			Description: "the server could not check the access token; try again"}
	}
	if err != nil || t.Kind != store.TokenAccess || !t.Active(now) {
		return nil, &AuthError{Status: http.StatusUnauthorized, Code: "invalid_token", CodeMinor: imsx.UnauthorizedRequest,
			Description: "the access token is not valid, expired or revoked"}
	}
	p := &Principal{ClientID: t.ClientID, Scopes: t.Scopes, GrantID: t.GrantID}
	if strings.HasPrefix(t.GrantID, grantPrefixClientCredentials) {
		p.Institutional = true
	} else {
		p.LearnerID = t.Subject
	}
	if s.tokens != nil {
		s.tokens.put(hash, gen, p, t.ExpiresAt)
	}
	return p, nil
}

// Require wraps a resource handler: the request must carry a valid access
// token holding every one of scopes. Failures are answered with an
// Imsx_StatusInfo body and an RFC 6750 WWW-Authenticate challenge. The
// handler reads the caller with PrincipalFrom.
func (s *Server) Require(next http.Handler, scopes ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, aerr := s.Authenticate(r)
		if aerr == nil {
			for _, sc := range scopes {
				if !p.Has(sc) {
					aerr = &AuthError{Status: http.StatusForbidden, Code: "insufficient_scope", CodeMinor: imsx.Forbidden,
						Description: "the access token lacks the scope " + sc, Scope: sc}
					break
				}
			}
		}
		if aerr != nil {
			s.WriteAuthError(w, aerr)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// WriteAuthError answers an authentication failure: WWW-Authenticate per
// RFC 6750 §3 and an Imsx_StatusInfo body.
func (s *Server) WriteAuthError(w http.ResponseWriter, e *AuthError) {
	challenge := `Bearer realm="` + s.Issuer() + `"`
	if e.Code != "" {
		challenge += `, error="` + e.Code + `"`
	}
	if e.Scope != "" {
		challenge += `, scope="` + e.Scope + `"`
	}
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.Code != "" {
		w.Header().Set("WWW-Authenticate", challenge)
	}
	imsx.Write(w, e.Status, e.CodeMinor, e.Description)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
