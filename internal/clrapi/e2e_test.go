package clrapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/learnerrecords/clr-operator/internal/oauth"
	"github.com/learnerrecords/clr-operator/internal/oauth/oauthtest"
	"github.com/learnerrecords/clr-operator/internal/oidctest"
	"github.com/learnerrecords/clr-operator/internal/store"
)

// getResponse is a decoded GetClrCredentialsResponse keeping each JSON
// credential's bytes.
type getResponse struct {
	Credential       []json.RawMessage `json:"credential"`
	CompactJwsString []string          `json:"compactJwsString"`
}

var linkRel = regexp.MustCompile(`<([^>]+)>; rel="([a-z]+)"`)

func links(h http.Header) map[string]string {
	out := map[string]string{}
	for _, m := range linkRel.FindAllStringSubmatch(h.Get("Link"), -1) {
		out[m[2]] = m[1]
	}
	return out
}

// discover reads the service description as a client would and returns
// the OAuth endpoints from it.
func discover(t *testing.T, e *env) (registration, authorize, token string) {
	t.Helper()
	resp, body := e.call(http.MethodGet, "/discovery", "", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %d %s", resp.StatusCode, body)
	}
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Info    map[string]any `json:"info"`
		Paths   map[string]any `json:"paths"`
		Comp    struct {
			Schemes map[string]struct {
				Type         string `json:"type"`
				Registration string `json:"x-imssf-registrationUrl"`
				Flows        struct {
					ACG struct {
						AuthorizationURL string            `json:"authorizationUrl"`
						TokenURL         string            `json:"tokenUrl"`
						RefreshURL       string            `json:"refreshUrl"`
						Scopes           map[string]string `json:"scopes"`
					} `json:"authorizationCode"`
				} `json:"flows"`
			} `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0") || doc.Info["title"] != "State University CLR" ||
		doc.Info["termsOfService"] != "https://state.example.edu/tos" ||
		doc.Info["x-imssf-privacyPolicyUrl"] != "https://state.example.edu/privacy" ||
		doc.Info["x-imssf-image"] != "https://state.example.edu/logo.png" {
		t.Fatalf("discovery info: %v (openapi %q)", doc.Info, doc.OpenAPI)
	}
	for _, p := range []string{"/credentials", "/profile", "/discovery"} {
		if _, ok := doc.Paths[p]; !ok {
			t.Errorf("discovery lacks path %s", p)
		}
	}
	acg := doc.Comp.Schemes["OAuth2ACG"]
	if acg.Type != "oauth2" || acg.Registration == "" || acg.Flows.ACG.AuthorizationURL == "" || acg.Flows.ACG.TokenURL == "" || acg.Flows.ACG.RefreshURL == "" {
		t.Fatalf("OAuth2ACG scheme incomplete: %+v", acg)
	}
	for _, s := range oauth.CLRScopes {
		if _, ok := acg.Flows.ACG.Scopes[s]; !ok {
			t.Errorf("OAuth2ACG lacks scope %s", s)
		}
	}
	return acg.Registration, acg.Flows.ACG.AuthorizationURL, acg.Flows.ACG.TokenURL
}

func TestEndToEnd(t *testing.T) {
	for _, sf := range stores {
		t.Run(sf.name, func(t *testing.T) { endToEnd(t, sf.open(t)) })
	}
}

// endToEnd is the whole journey of a standard OAuth 2.0 client: discover,
// register, dev login with PKCE, upsert, page through with since, profile,
// refresh, revoke.
func endToEnd(t *testing.T, st store.Store) {
	ctx := context.Background()
	e := newEnv(t, st, nil)
	f := credentialFactory(t)
	sch := schemas(t)

	regURL, authURL, tokenURL := discover(t, e)
	reg, status, err := oauthtest.Register(ctx, regURL, map[string]any{
		"client_name": "Learner Wallet", "client_uri": "https://wallet.example", "redirect_uris": []string{redirectURI},
		"scope": strings.Join(oauth.CLRScopes, " "), "grant_types": []string{"authorization_code", "refresh_token"},
		"response_types": []string{"code"}, "token_endpoint_auth_method": "client_secret_basic",
	})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("register: %d %v %v", status, reg, err)
	}
	cfg := &oauth2.Config{
		ClientID: reg["client_id"].(string), ClientSecret: reg["client_secret"].(string), RedirectURL: redirectURI, Scopes: oauth.CLRScopes,
		Endpoint: oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInHeader},
	}
	verifier := oauth2.GenerateVerifier()
	back, err := oauthtest.DevLogin(ctx, oauthtest.Browser(), cfg.AuthCodeURL("af0ifjsldkj", oauth2.S256ChallengeOption(verifier)), "ada")
	if err != nil {
		t.Fatal(err)
	}
	if back.Query().Get("state") != "af0ifjsldkj" {
		t.Fatalf("state: %s", back)
	}
	tok, err := cfg.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	access := tok.AccessToken

	// Empty list first.
	resp, body := e.call(http.MethodGet, "/credentials", access, "", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Total-Count") != "0" {
		t.Fatalf("empty list: %d %s %s", resp.StatusCode, resp.Header.Get("X-Total-Count"), body)
	}
	validate(t, sch.getCredentials, body)

	// Upsert: a Data Integrity JSON CLR (201, then 200 on replace) and VC-JWTs.
	jsonCLR := f.signedJSON(t, "urn:uuid:00000000-0000-4000-8000-000000000001")
	resp, body = e.call(http.MethodPost, "/credentials", access, "application/json", jsonCLR)
	if resp.StatusCode != http.StatusCreated || !bytes.Equal(body, jsonCLR) {
		t.Fatalf("upsert JSON: %d %s", resp.StatusCode, body)
	}
	resp, _ = e.call(http.MethodPost, "/credentials", access, "application/json", jsonCLR)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("replace JSON: %d", resp.StatusCode)
	}
	var jwss []string
	for i := 2; i <= 6; i++ {
		j := f.signedJWS(t, fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", i))
		resp, body = e.call(http.MethodPost, "/credentials", access, "text/plain", []byte(j+"\n"))
		if resp.StatusCode != http.StatusCreated || string(body) != j {
			t.Fatalf("upsert JWS %d: %d %s", i, resp.StatusCode, body)
		}
		jwss = append(jwss, j)
	}
	// The boundary for since: everything after it is newer.
	boundary := time.Now().UTC()
	var later []string
	for i := 7; i <= 8; i++ {
		j := f.signedJWS(t, fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", i))
		if resp, _ = e.call(http.MethodPost, "/credentials", access, "text/plain", []byte(j)); resp.StatusCode != http.StatusCreated {
			t.Fatalf("upsert later JWS: %d", resp.StatusCode)
		}
		later = append(later, j)
	}

	// Page through with limit 3 following the Link header.
	var gotJSON []json.RawMessage
	var gotJWS []string
	next := e.srv.URL + "/ims/clr/v2p0/credentials?limit=3"
	pages := 0
	for next != "" {
		resp, body = e.call(http.MethodGet, next, access, "", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("page %d: %d %s", pages, resp.StatusCode, body)
		}
		validate(t, sch.getCredentials, body)
		if resp.Header.Get("X-Total-Count") != "8" {
			t.Fatalf("X-Total-Count = %q, want 8", resp.Header.Get("X-Total-Count"))
		}
		l := links(resp.Header)
		if l["first"] == "" || l["last"] == "" {
			t.Fatalf("Link lacks first/last: %q", resp.Header.Get("Link"))
		}
		if pages > 0 && l["prev"] == "" {
			t.Fatalf("page %d lacks prev: %q", pages, resp.Header.Get("Link"))
		}
		var page getResponse
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		if n := len(page.Credential) + len(page.CompactJwsString); n == 0 || n > 3 {
			t.Fatalf("page %d has %d credentials", pages, n)
		}
		gotJSON = append(gotJSON, page.Credential...)
		gotJWS = append(gotJWS, page.CompactJwsString...)
		next = l["next"]
		pages++
	}
	if pages != 3 {
		t.Fatalf("%d pages, want 3", pages)
	}
	if len(gotJSON) != 1 || !bytes.Equal(gotJSON[0], jsonCLR) {
		t.Fatalf("the JSON credential did not come back byte for byte:\n%s", gotJSON)
	}
	want := append(append([]string{}, jwss...), later...)
	slices.Sort(want)
	slices.Sort(gotJWS)
	if !slices.Equal(want, gotJWS) {
		t.Fatalf("JWS credentials differ: got %d, want %d", len(gotJWS), len(want))
	}

	// since keeps only the later ones.
	resp, body = e.call(http.MethodGet, "/credentials?since="+url.QueryEscape(boundary.Format(time.RFC3339Nano)), access, "", nil)
	var sincePage getResponse
	json.Unmarshal(body, &sincePage)
	slices.Sort(sincePage.CompactJwsString)
	slices.Sort(later)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Total-Count") != "2" || !slices.Equal(sincePage.CompactJwsString, later) || len(sincePage.Credential) != 0 {
		t.Fatalf("since: %d total %s: %s", resp.StatusCode, resp.Header.Get("X-Total-Count"), body)
	}
	if l := links(resp.Header); !strings.Contains(l["first"], "since=") {
		t.Fatalf("paging links drop since: %q", resp.Header.Get("Link"))
	}
	// Offset past the end: empty page, still the total.
	resp, body = e.call(http.MethodGet, "/credentials?offset=100", access, "", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Total-Count") != "8" || links(resp.Header)["next"] != "" {
		t.Fatalf("offset past the end: %d %s %q", resp.StatusCode, body, resp.Header.Get("Link"))
	}

	// Isolation: another learner sees none of ada's credentials, and her
	// upsert of the same id does not touch ada's.
	bob := e.login(e.register(), "bob")
	resp, body = e.call(http.MethodGet, "/credentials", bob.AccessToken, "", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Total-Count") != "0" {
		t.Fatalf("bob sees ada's credentials: %s %s", resp.Header.Get("X-Total-Count"), body)
	}
	bobCopy := f.signedJWS(t, "urn:uuid:00000000-0000-4000-8000-000000000001")
	if resp, _ = e.call(http.MethodPost, "/credentials", bob.AccessToken, "text/plain", []byte(bobCopy)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("bob's upsert: %d", resp.StatusCode)
	}
	stored, err := st.GetCredential(ctx, "ada", "urn:uuid:00000000-0000-4000-8000-000000000001")
	if err != nil || !bytes.Equal(stored.Data, jsonCLR) {
		t.Fatalf("ada's credential changed by bob's upsert: %v", err)
	}

	// Profile: a default one, then replaced and read back unchanged.
	resp, body = e.call(http.MethodGet, "/profile", access, "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get profile: %d %s", resp.StatusCode, body)
	}
	validate(t, sch.profile, body)
	profile := []byte(`{"@context":["https://www.w3.org/ns/credentials/v2","https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
  "id": "did:example:learner-ada", "type": ["Profile"], "name": "Ada Lovelace", "email": "ada@example.org"}`)
	resp, body = e.call(http.MethodPut, "/profile", access, "application/json", profile)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("put profile: %d %s", resp.StatusCode, body)
	}
	resp, body = e.call(http.MethodGet, "/profile", access, "", nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, profile) {
		t.Fatalf("profile not returned as stored: %d %s", resp.StatusCode, body)
	}
	validate(t, sch.profile, body)
	if resp, body = e.call(http.MethodGet, "/profile", bob.AccessToken, "", nil); bytes.Equal(body, profile) {
		t.Fatal("bob reads ada's profile")
	}

	// Refresh: new tokens work, the old refresh token does not.
	old := *tok
	old.Expiry = time.Now().Add(-time.Minute)
	fresh, err := cfg.TokenSource(ctx, &old).Token()
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ = e.call(http.MethodGet, "/credentials", fresh.AccessToken, "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("refreshed token: %d", resp.StatusCode)
	}

	// Revoke the access token (RFC 7009): the API refuses it from then on.
	form := url.Values{"token": {fresh.AccessToken}, "token_type_hint": {"access_token"}}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+oauth.PathRevoke, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(cfg.ClientID), url.QueryEscape(cfg.ClientSecret))
	rr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rr.Body.Close()
	if rr.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", rr.StatusCode)
	}
	resp, body = e.call(http.MethodGet, "/credentials", fresh.AccessToken, "", nil)
	if resp.StatusCode != http.StatusUnauthorized || statusInfo(t, body) != "unauthorizedrequest" {
		t.Fatalf("revoked token: %d %s", resp.StatusCode, body)
	}
}

// TestOIDCLoginToCLRAPI logs a learner in through the test OpenID Connect
// provider and uses the token on the CLR API.
func TestOIDCLoginToCLRAPI(t *testing.T) {
	for _, sf := range stores {
		t.Run(sf.name, func(t *testing.T) { oidcLoginToCLRAPI(t, sf.open(t)) })
	}
}

func oidcLoginToCLRAPI(t *testing.T, st store.Store) {
	ctx := context.Background()
	var prov *oidctest.Provider
	e := newEnv(t, st, func(o *oauth.Options) {
		var err error
		prov, err = oidctest.Start(oidctest.Config{
			ClientID: "clr-host", ClientSecret: "upstream-secret-value",
			RedirectURIs: []string{o.PublicURL + oauth.PathCallback},
			User:         oidctest.User{Subject: "248289761001", Email: "jane@state.example.edu", Name: "Jane Doe"},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { prov.Close() })
		o.Dev = false
		o.Upstream = &oauth.UpstreamOIDC{IssuerURL: prov.Issuer(), ClientID: "clr-host", ClientSecret: "upstream-secret-value"}
	})
	c := e.register()
	b := oauthtest.Browser()
	v := oauth2.GenerateVerifier()
	p, err := oauthtest.Get(ctx, b, c.cfg.AuthCodeURL("s1", oauth2.S256ChallengeOption(v)))
	for i := 0; err == nil && i < 3 && p.Status == http.StatusFound; i++ {
		p, err = oauthtest.Get(ctx, b, p.Location.String())
	}
	if err != nil || p.Status != http.StatusOK {
		t.Fatalf("login through the provider: %v %d", err, p.Status)
	}
	form, err := oauthtest.ParseForm(p.Body, p.URL)
	if err != nil {
		t.Fatal(err)
	}
	res, err := oauthtest.Submit(ctx, b, form, url.Values{"decision": {"approve"}})
	if err != nil || res.Status != http.StatusFound {
		t.Fatalf("consent: %v %d", err, res.Status)
	}
	tok, err := c.cfg.Exchange(ctx, res.Location.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	f := credentialFactory(t)
	j := f.signedJWS(t, "urn:uuid:10000000-0000-4000-8000-000000000001")
	if resp, body := e.call(http.MethodPost, "/credentials", tok.AccessToken, "text/plain", []byte(j)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("upsert: %d %s", resp.StatusCode, body)
	}
	// The learner is the provider's subject (the default claim).
	if c, err := e.st.GetCredential(ctx, "248289761001", "urn:uuid:10000000-0000-4000-8000-000000000001"); err != nil || c.Source != store.SourceUpserted {
		t.Fatalf("credential not stored under the OIDC subject: %v", err)
	}
	resp, _ := e.call(http.MethodGet, "/credentials", tok.AccessToken, "", nil)
	if n, _ := strconv.Atoi(resp.Header.Get("X-Total-Count")); n != 1 {
		t.Fatalf("X-Total-Count = %d", n)
	}
}

// TestPathPrefix serves the API under the path of the public URL.
func TestPathPrefix(t *testing.T) {
	e := newEnv(t, openSQLite(t), func(o *oauth.Options) { o.PublicURL += "/records" })
	base := e.srv.URL + "/records"
	resp, body := e.call(http.MethodGet, base+"/ims/clr/v2p0/discovery", "", "", nil)
	var doc struct {
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || resp.StatusCode != http.StatusOK || len(doc.Servers) != 1 || doc.Servers[0].URL != base+"/ims/clr/v2p0" {
		t.Fatalf("discovery under a prefix: %d %v %s", resp.StatusCode, err, body)
	}
	if !strings.Contains(string(body), base+"/oauth/token") {
		t.Fatal("discovery does not name the prefixed token endpoint")
	}
	resp, body = e.call(http.MethodGet, base+"/ims/clr/v2p0/credentials", "", "", nil)
	if resp.StatusCode != http.StatusUnauthorized || statusInfo(t, body) != "unauthorizedrequest" {
		t.Fatalf("credentials under a prefix without a token: %d %s", resp.StatusCode, body)
	}
}

// TestDiscoveryAddPath documents another package's operations in the
// service description.
func TestDiscoveryAddPath(t *testing.T) {
	e := newEnv(t, openSQLite(t), nil)
	e.api.Discovery().AddPath("/issuing/v1/records", map[string]any{
		"post": map[string]any{"operationId": "postRecord", "security": []map[string]any{{"OAuth2CC": []string{oauth.ScopeIssue}}},
			"responses": map[string]any{"201": map[string]any{"description": "issued"}}},
	})
	e.api.Discovery().AddSchema("LearningRecord", map[string]any{"type": "object"})
	_, body := e.call(http.MethodGet, "/discovery", "", "", nil)
	var doc struct {
		Paths map[string]struct {
			Servers []struct {
				URL string `json:"url"`
			} `json:"servers"`
			Post map[string]any `json:"post"`
		} `json:"paths"`
		Components struct {
			Schemas         map[string]any `json:"schemas"`
			SecuritySchemes map[string]any `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	p, ok := doc.Paths["/issuing/v1/records"]
	if !ok || p.Post["operationId"] != "postRecord" || len(p.Servers) != 1 || p.Servers[0].URL != e.srv.URL {
		t.Fatalf("added path: %+v", p)
	}
	if _, ok := doc.Components.Schemas["LearningRecord"]; !ok {
		t.Fatal("added schema missing")
	}
	if _, ok := doc.Components.SecuritySchemes["OAuth2CC"]; !ok {
		t.Fatal("OAuth2CC security scheme missing")
	}
	if _, ok := doc.Paths["/credentials"]; !ok {
		t.Fatal("CLR paths lost")
	}
}
