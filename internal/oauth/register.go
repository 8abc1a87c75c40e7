package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/learnerrecords/clr-operator/internal/store"
)

// clientMetadata is the RFC 7591 client metadata this server accepts, with
// the fields the 1EdTech registration request names.
type clientMetadata struct {
	ClientName              string   `json:"client_name"`
	ClientURI               string   `json:"client_uri"`
	LogoURI                 string   `json:"logo_uri,omitempty"`
	TOSURI                  string   `json:"tos_uri,omitempty"`
	PolicyURI               string   `json:"policy_uri,omitempty"`
	SoftwareID              string   `json:"software_id,omitempty"`
	SoftwareVersion         string   `json:"software_version,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	Scope                   string   `json:"scope"`
	Contacts                []string `json:"contacts,omitempty"`
}

// registrationResponse is the RFC 7591 §3.2.1 response.
type registrationResponse struct {
	ClientID              string `json:"client_id"`
	ClientSecret          string `json:"client_secret"`
	ClientIDIssuedAt      int64  `json:"client_id_issued_at"`
	ClientSecretExpiresAt int64  `json:"client_secret_expires_at"`
	clientMetadata
}

// registrationError is an RFC 7591 §3.2.2 error: code is
// invalid_redirect_uri or invalid_client_metadata.
type registrationError struct{ code, desc string }

func (e *registrationError) Error() string { return e.code + ": " + e.desc }

func badMetadata(format string, args ...any) error {
	return &registrationError{"invalid_client_metadata", fmt.Sprintf(format, args...)}
}

// register implements RFC 7591 dynamic client registration. No initial
// access token: any client may register, as the CLR 2.0 API requires.
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	if !s.opts.DynamicRegistration {
		writeOAuthError(w, http.StatusForbidden, "access_denied", "dynamic client registration is disabled on this server")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeOAuthError(w, http.StatusUnsupportedMediaType, "invalid_client_metadata", "the registration request must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRegistrationBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeOAuthError(w, http.StatusRequestEntityTooLarge, "invalid_client_metadata", "the registration request is too large")
			return
		}
		writeOAuthError(w, http.StatusBadRequest, "invalid_client_metadata", "could not read the request body")
		return
	}
	var md clientMetadata
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&md); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_client_metadata", "the body is not a JSON client metadata object: "+jsonProblem(err))
		return
	}
	if dec.More() {
		writeOAuthError(w, http.StatusBadRequest, "invalid_client_metadata", "trailing data after the JSON object")
		return
	}
	if err := validateMetadata(&md); err != nil {
		var re *registrationError
		errors.As(err, &re)
		writeOAuthError(w, http.StatusBadRequest, re.code, re.desc)
		return
	}
	secret := newSecret()
	raw, err := json.Marshal(md)
	if err != nil {
		writeOAuthError(w, http.StatusInternalServerError, "server_error", "could not encode the client metadata")
		return
	}
	now := s.now().UTC()
	c := &store.Client{
		ID:           newSecret(),
		SecretHash:   s.hash("client", secret),
		Name:         md.ClientName,
		RedirectURIs: md.RedirectURIs,
		Scopes:       parseScope(md.Scope),
		GrantTypes:   md.GrantTypes,
		Metadata:     raw,
		CreatedAt:    now,
	}
	if err := s.store.CreateClient(r.Context(), c); err != nil {
		s.log.Error("registering client", "err", err)
		writeOAuthError(w, http.StatusInternalServerError, "server_error", "could not store the client")
		return
	}
	s.log.Info("client registered", "client_id", c.ID, "client_name", c.Name)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusCreated, registrationResponse{
		ClientID:              c.ID,
		ClientSecret:          secret,
		ClientIDIssuedAt:      now.Unix(),
		ClientSecretExpiresAt: 0, // never: RFC 7591 §3.2.1
		clientMetadata:        md,
	})
}

// validateMetadata checks the metadata and fills RFC 7591 defaults.
func validateMetadata(md *clientMetadata) error {
	md.ClientName = strings.TrimSpace(md.ClientName)
	if md.ClientName == "" {
		return badMetadata("client_name is required")
	}
	if len(md.ClientName) > 200 {
		return badMetadata("client_name is longer than 200 characters")
	}
	if md.ClientURI == "" {
		return badMetadata("client_uri is required")
	}
	for name, v := range map[string]string{"client_uri": md.ClientURI, "logo_uri": md.LogoURI, "tos_uri": md.TOSURI, "policy_uri": md.PolicyURI} {
		if v == "" {
			continue
		}
		if err := checkWebURL(v, false); err != nil {
			return badMetadata("%s: %v", name, err)
		}
	}
	if len(md.RedirectURIs) == 0 {
		return &registrationError{"invalid_redirect_uri", "redirect_uris is required"}
	}
	if len(md.RedirectURIs) > 20 {
		return &registrationError{"invalid_redirect_uri", "at most 20 redirect_uris"}
	}
	for _, u := range md.RedirectURIs {
		if err := checkWebURL(u, true); err != nil {
			return &registrationError{"invalid_redirect_uri", fmt.Sprintf("%q: %v", u, err)}
		}
	}
	switch md.TokenEndpointAuthMethod {
	case "":
		md.TokenEndpointAuthMethod = "client_secret_basic"
	case "client_secret_basic":
	default:
		return badMetadata("token_endpoint_auth_method must be client_secret_basic")
	}
	if len(md.GrantTypes) == 0 {
		md.GrantTypes = []string{"authorization_code", "refresh_token"}
	}
	for _, g := range md.GrantTypes {
		if g != "authorization_code" && g != "refresh_token" {
			return badMetadata("grant type %q is not available to registered clients (authorization_code, refresh_token)", g)
		}
	}
	if !slices.Contains(md.GrantTypes, "authorization_code") {
		return badMetadata("grant_types must include authorization_code")
	}
	if len(md.ResponseTypes) == 0 {
		md.ResponseTypes = []string{"code"}
	}
	for _, rt := range md.ResponseTypes {
		if rt != "code" {
			return badMetadata("response type %q is not supported (code)", rt)
		}
	}
	scopes := parseScope(md.Scope)
	if len(scopes) == 0 {
		return badMetadata("scope is required")
	}
	for _, sc := range scopes {
		if !slices.Contains(CLRScopes, sc) {
			return badMetadata("scope %q is not offered to registered clients", sc)
		}
	}
	md.Scope = strings.Join(scopes, " ")
	return nil
}

// checkWebURL accepts absolute https URLs, and http URLs on a loopback
// host (RFC 8252 §7.3) for local development and native apps. Redirect URIs
// must not carry a fragment (RFC 6749 §3.1.2).
func checkWebURL(raw string, redirect bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	if !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return errors.New("not an absolute URL")
	}
	if u.User != nil {
		return errors.New("must not carry user information")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return errors.New("http is only allowed on a loopback host; use https")
		}
	default:
		return fmt.Errorf("scheme %q is not allowed", u.Scheme)
	}
	if redirect && (u.Fragment != "" || strings.Contains(raw, "#")) {
		return errors.New("must not contain a fragment")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// jsonProblem describes a JSON decoding error without echoing input.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	}
	return "malformed JSON"
}
