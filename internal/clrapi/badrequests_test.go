package clrapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/learnerrecords/clr-operator/internal/oauth"
	"github.com/learnerrecords/clr-operator/internal/oauth/oauthtest"
	"github.com/learnerrecords/clr-operator/internal/store"
)

// answer is what one bad request got back.
type answer struct {
	status   int
	body     []byte
	header   http.Header
	location *url.URL
}

// Kinds of error answers.
const (
	imsxBody  = "imsx"     // Imsx_StatusInfo with a code minor
	oauthBody = "oauth"    // RFC 6749 JSON error
	htmlPage  = "html"     // error page shown to the user, no redirect
	redirect  = "redirect" // redirect to the client with error=
)

type badCase struct {
	name   string
	do     func(t *testing.T, fx *fixture) answer
	status int
	kind   string
	code   string // imsx code minor, OAuth error code or redirect error
}

// fixture is the state the bad requests run against.
type fixture struct {
	e                  *env
	alice, other       *client
	readOnly           *client // registered for credential.readonly only
	full               string  // alice's token with every CLR scope
	credOnly           string  // credential.readonly + credential.upsert
	profileOnly        string  // profile.readonly
	refresh            string  // alice's refresh token
	revoked            string
	institutional      string
	signedJSON         []byte
	signedJWS          string
	pendingCode        string // an unused code of alice's client, with verifier
	pendingVerifier    string
	aliceProfileBefore []byte
}

func rawRequest(t *testing.T, method, target string, header http.Header, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := oauthtest.Browser().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, body: b, header: resp.Header}
	if loc := resp.Header.Get("Location"); loc != "" {
		a.location, _ = req.URL.Parse(loc)
	}
	return a
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func (fx *fixture) api(t *testing.T, method, path, token, contentType string, body []byte) answer {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return rawRequest(t, method, fx.e.srv.URL+"/ims/clr/v2p0"+path, h, body)
}

func (fx *fixture) tokenRequest(t *testing.T, c *client, form url.Values) answer {
	h := hdr("Content-Type", "application/x-www-form-urlencoded")
	if c != nil {
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(c.id)+":"+url.QueryEscape(c.secret))))
	}
	return rawRequest(t, http.MethodPost, fx.e.srv.URL+oauth.PathToken, h, []byte(form.Encode()))
}

// authorizeURL builds an authorization request of alice's client with
// overrides (an empty value deletes the parameter).
func (fx *fixture) authorizeURL(over map[string]string) string {
	v := url.Values{
		"response_type": {"code"}, "client_id": {fx.alice.id}, "redirect_uri": {redirectURI},
		"scope": {oauth.ScopeCredentialReadonly}, "state": {"st"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
	}
	for k, val := range over {
		if val == "" {
			v.Del(k)
		} else {
			v.Set(k, val)
		}
	}
	return fx.e.srv.URL + oauth.PathAuthorize + "?" + v.Encode()
}

// freshCode runs the dev login for alice's client and returns a code, its
// verifier and the redirect URI used.
func (fx *fixture) freshCode(t *testing.T, c *client) (code, verifier string) {
	verifier = oauth2.GenerateVerifier()
	back, err := oauthtest.DevLogin(context.Background(), oauthtest.Browser(), c.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "alice")
	if err != nil {
		t.Fatal(err)
	}
	return back.Query().Get("code"), verifier
}

func tamperJSON(t *testing.T, signed []byte) []byte {
	var doc map[string]any
	if err := json.Unmarshal(signed, &doc); err != nil {
		t.Fatal(err)
	}
	doc["name"] = "Transcript of Ada Lovelace (with honours)"
	b, _ := json.Marshal(doc)
	return b
}

func tamperJWS(t *testing.T, jws string) string {
	parts := strings.Split(jws, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	payload = bytes.Replace(payload, []byte("Transcript of Ada"), []byte("Transcript of Eve"), 1)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
}

func badCases() []badCase {
	get := func(path, token string) func(*testing.T, *fixture) answer {
		return func(t *testing.T, fx *fixture) answer { return fx.api(t, http.MethodGet, path, token, "", nil) }
	}
	post := func(ct string, body func(*testing.T, *fixture) []byte) func(*testing.T, *fixture) answer {
		return func(t *testing.T, fx *fixture) answer {
			return fx.api(t, http.MethodPost, "/credentials", fx.full, ct, body(t, fx))
		}
	}
	putProfile := func(ct, body string) func(*testing.T, *fixture) answer {
		return func(t *testing.T, fx *fixture) answer {
			return fx.api(t, http.MethodPut, "/profile", fx.full, ct, []byte(body))
		}
	}
	authz := func(over map[string]string) func(*testing.T, *fixture) answer {
		return func(t *testing.T, fx *fixture) answer {
			return rawRequest(t, http.MethodGet, fx.authorizeURL(over), nil, nil)
		}
	}
	return []badCase{
		// Bearer tokens on the CLR API.
		{"no token", func(t *testing.T, fx *fixture) answer { return fx.api(t, http.MethodGet, "/credentials", "", "", nil) }, 401, imsxBody, "unauthorizedrequest"},
		{"basic instead of bearer", func(t *testing.T, fx *fixture) answer {
			return rawRequest(t, http.MethodGet, fx.e.srv.URL+"/ims/clr/v2p0/credentials", hdr("Authorization", "Basic YTpi"), nil)
		}, 401, imsxBody, "unauthorizedrequest"},
		{"unknown token", func(t *testing.T, fx *fixture) answer {
			return fx.api(t, http.MethodGet, "/credentials", "not-a-token", "", nil)
		}, 401, imsxBody, "unauthorizedrequest"},
		{"revoked token", func(t *testing.T, fx *fixture) answer {
			return fx.api(t, http.MethodGet, "/credentials", fx.revoked, "", nil)
		}, 401, imsxBody, "unauthorizedrequest"},
		{"expired token", func(t *testing.T, fx *fixture) answer {
			fx.e.clockSkew.Store(int64(2 * time.Hour))
			defer fx.e.clockSkew.Store(0)
			return fx.api(t, http.MethodGet, "/credentials", fx.full, "", nil)
		}, 401, imsxBody, "unauthorizedrequest"},
		{"refresh token as access token", func(t *testing.T, fx *fixture) answer {
			return fx.api(t, http.MethodGet, "/credentials", fx.refresh, "", nil)
		}, 401, imsxBody, "unauthorizedrequest"},
		{"token in the query", func(t *testing.T, fx *fixture) answer {
			return fx.api(t, http.MethodGet, "/credentials?access_token="+fx.full, "", "", nil)
		}, 400, imsxBody, "invalid_data"},
		{"list without credential.readonly", func(t *testing.T, fx *fixture) answer {
			return fx.api(t, http.MethodGet, "/credentials", fx.profileOnly, "", nil)
		}, 403, imsxBody, "forbidden"},
		{"upsert without credential.upsert", func(t *testing.T, fx *fixture) answer {
			return fx.api(t, http.MethodPost, "/credentials", fx.profileOnly, "text/plain", []byte(fx.signedJWS))
		}, 403, imsxBody, "forbidden"},
		{"put profile without profile.update", func(t *testing.T, fx *fixture) answer {
			return fx.api(t, http.MethodPut, "/profile", fx.credOnly, "application/json", []byte(`{"id":"did:example:x","type":"Profile"}`))
		}, 403, imsxBody, "forbidden"},
		{"get profile without profile.readonly", func(t *testing.T, fx *fixture) answer {
			return fx.api(t, http.MethodGet, "/profile", fx.credOnly, "", nil)
		}, 403, imsxBody, "forbidden"},
		{"institutional token on the learner API", func(t *testing.T, fx *fixture) answer {
			return fx.api(t, http.MethodGet, "/credentials", fx.institutional, "", nil)
		}, 403, imsxBody, "forbidden"},

		// Query parameters.
		{"limit zero", func(t *testing.T, fx *fixture) answer { return get("/credentials?limit=0", fx.full)(t, fx) }, 400, imsxBody, "invalid_query_parameter"},
		{"limit not a number", func(t *testing.T, fx *fixture) answer { return get("/credentials?limit=ten", fx.full)(t, fx) }, 400, imsxBody, "invalid_query_parameter"},
		{"negative offset", func(t *testing.T, fx *fixture) answer { return get("/credentials?offset=-1", fx.full)(t, fx) }, 400, imsxBody, "invalid_query_parameter"},
		{"since not a date-time", func(t *testing.T, fx *fixture) answer { return get("/credentials?since=yesterday", fx.full)(t, fx) }, 400, imsxBody, "invalid_query_parameter"},
		{"repeated limit", func(t *testing.T, fx *fixture) answer { return get("/credentials?limit=1&limit=2", fx.full)(t, fx) }, 400, imsxBody, "invalid_query_parameter"},
		{"unacceptable Accept", func(t *testing.T, fx *fixture) answer {
			return rawRequest(t, http.MethodGet, fx.e.srv.URL+"/ims/clr/v2p0/credentials", hdr("Authorization", "Bearer "+fx.full, "Accept", "application/xml"), nil)
		}, 406, imsxBody, "not_acceptable"},

		// Upsert bodies.
		{"upsert as XML", post("application/xml", func(*testing.T, *fixture) []byte { return []byte("<clr/>") }), 415, imsxBody, "invalid_data"},
		{"upsert without content type", post("", func(_ *testing.T, fx *fixture) []byte { return fx.signedJSON }), 415, imsxBody, "invalid_data"},
		{"upsert latin-1 text", post("text/plain; charset=iso-8859-1", func(_ *testing.T, fx *fixture) []byte { return []byte(fx.signedJWS) }), 415, imsxBody, "invalid_data"},
		{"malformed JSON", post("application/json", func(*testing.T, *fixture) []byte { return []byte(`{"type": [`) }), 400, imsxBody, "invalid_data"},
		{"JSON array", post("application/json", func(*testing.T, *fixture) []byte { return []byte(`[{"type":"ClrCredential"}]`) }), 400, imsxBody, "invalid_data"},
		{"JSON with trailing data", post("application/json", func(_ *testing.T, fx *fixture) []byte {
			return append(append([]byte{}, fx.signedJSON...), []byte(" {}")...)
		}), 400, imsxBody, "invalid_data"},
		{"not a ClrCredential", post("application/json", func(t *testing.T, fx *fixture) []byte {
			return credentialFactory(t).nestedJSON(t)
		}), 400, imsxBody, "invalid_data"},
		{"unsigned CLR", post("application/json", func(t *testing.T, fx *fixture) []byte {
			b, _ := json.Marshal(credentialFactory(t).clr("urn:uuid:20000000-0000-4000-8000-000000000001"))
			return b
		}), 400, imsxBody, "invalid_data"},
		{"tampered JSON CLR", post("application/json", func(t *testing.T, fx *fixture) []byte { return tamperJSON(t, fx.signedJSON) }), 400, imsxBody, "invalid_data"},
		{"tampered VC-JWT payload", post("text/plain", func(t *testing.T, fx *fixture) []byte { return []byte(tamperJWS(t, fx.signedJWS)) }), 400, imsxBody, "invalid_data"},
		{"VC-JWT with a foreign signature", post("text/plain", func(t *testing.T, fx *fixture) []byte {
			parts := strings.Split(fx.signedJWS, ".")
			return []byte(parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 64)))
		}), 400, imsxBody, "invalid_data"},
		{"text that is not a JWS", post("text/plain", func(*testing.T, *fixture) []byte { return []byte("hello, registrar") }), 400, imsxBody, "invalid_data"},
		{"oversized body", post("application/json", func(*testing.T, *fixture) []byte {
			return append([]byte(`{"pad":"`), append(bytes.Repeat([]byte("a"), maxBody), '"', '}')...)
		}), 413, imsxBody, "invalid_data"},

		// Profile.
		{"profile malformed", putProfile("application/json", `{"id":`), 400, imsxBody, "invalid_data"},
		{"profile without id", putProfile("application/json", `{"type":"Profile","name":"Mallory"}`), 400, imsxBody, "invalid_data"},
		{"profile of the wrong type", putProfile("application/json", `{"id":"did:example:m","type":"Achievement"}`), 400, imsxBody, "invalid_data"},
		{"profile as text", putProfile("text/plain", `{"id":"did:example:m","type":"Profile"}`), 415, imsxBody, "invalid_data"},
		{"oversized profile", putProfile("application/json", `{"id":"did:example:m","type":"Profile","name":"`+strings.Repeat("m", 70<<10)+`"}`), 413, imsxBody, "invalid_data"},
		{"name of the wrong type", putProfile("application/json", `{"id":"did:example:m","type":"Profile","name":42}`), 400, imsxBody, "invalid_data"},

		// Routing.
		{"DELETE credentials", func(t *testing.T, fx *fixture) answer {
			return fx.api(t, http.MethodDelete, "/credentials", fx.full, "", nil)
		}, 405, imsxBody, "not_allowed"},
		{"unknown endpoint", func(t *testing.T, fx *fixture) answer {
			return fx.api(t, http.MethodGet, "/transcripts", fx.full, "", nil)
		}, 404, imsxBody, "not_found"},

		// Token endpoint.
		{"token without client authentication", func(t *testing.T, fx *fixture) answer {
			return fx.tokenRequest(t, nil, url.Values{"grant_type": {"authorization_code"}, "code": {fx.pendingCode}, "redirect_uri": {redirectURI}, "code_verifier": {fx.pendingVerifier}})
		}, 401, oauthBody, "invalid_client"},
		{"token with a wrong client secret", func(t *testing.T, fx *fixture) answer {
			return fx.tokenRequest(t, &client{id: fx.alice.id, secret: "guess"}, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fx.refresh}})
		}, 401, oauthBody, "invalid_client"},
		{"client secret in the body", func(t *testing.T, fx *fixture) answer {
			return fx.tokenRequest(t, nil, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fx.refresh}, "client_id": {fx.alice.id}, "client_secret": {fx.alice.secret}})
		}, 401, oauthBody, "invalid_client"},
		{"unknown grant type", func(t *testing.T, fx *fixture) answer {
			return fx.tokenRequest(t, fx.alice, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"x"}})
		}, 400, oauthBody, "unsupported_grant_type"},
		{"missing grant type", func(t *testing.T, fx *fixture) answer { return fx.tokenRequest(t, fx.alice, url.Values{"code": {"x"}}) }, 400, oauthBody, "invalid_request"},
		{"token request as JSON", func(t *testing.T, fx *fixture) answer {
			return rawRequest(t, http.MethodPost, fx.e.srv.URL+oauth.PathToken, hdr("Content-Type", "application/json"), []byte(`{"grant_type":"client_credentials"}`))
		}, 400, oauthBody, "invalid_request"},
		{"PKCE verifier missing", func(t *testing.T, fx *fixture) answer {
			code, _ := fx.freshCode(t, fx.alice)
			return fx.tokenRequest(t, fx.alice, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}})
		}, 400, oauthBody, "invalid_request"},
		{"PKCE verifier wrong", func(t *testing.T, fx *fixture) answer {
			code, _ := fx.freshCode(t, fx.alice)
			return fx.tokenRequest(t, fx.alice, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {oauth2.GenerateVerifier()}})
		}, 400, oauthBody, "invalid_grant"},
		{"code replay", func(t *testing.T, fx *fixture) answer {
			code, v := fx.freshCode(t, fx.alice)
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {v}}
			if first := fx.tokenRequest(t, fx.alice, form); first.status != 200 {
				t.Fatalf("first exchange: %d %s", first.status, first.body)
			}
			return fx.tokenRequest(t, fx.alice, form)
		}, 400, oauthBody, "invalid_grant"},
		{"redirect_uri mismatch at the token endpoint", func(t *testing.T, fx *fixture) answer {
			code, v := fx.freshCode(t, fx.alice)
			return fx.tokenRequest(t, fx.alice, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://127.0.0.1:9999/other"}, "code_verifier": {v}})
		}, 400, oauthBody, "invalid_grant"},
		{"code of another client", func(t *testing.T, fx *fixture) answer {
			code, v := fx.freshCode(t, fx.alice)
			return fx.tokenRequest(t, fx.other, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {v}})
		}, 400, oauthBody, "invalid_grant"},
		{"unknown code", func(t *testing.T, fx *fixture) answer {
			return fx.tokenRequest(t, fx.alice, url.Values{"grant_type": {"authorization_code"}, "code": {"made-up"}, "redirect_uri": {redirectURI}, "code_verifier": {oauth2.GenerateVerifier()}})
		}, 400, oauthBody, "invalid_grant"},
		{"refresh token of another client", func(t *testing.T, fx *fixture) answer {
			return fx.tokenRequest(t, fx.other, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fx.refresh}})
		}, 400, oauthBody, "invalid_grant"},
		{"refresh with a wider scope", func(t *testing.T, fx *fixture) answer {
			tok := fx.e.login(fx.readOnly, "alice")
			return fx.tokenRequest(t, fx.readOnly, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "scope": {oauth.ScopeCredentialUpsert}})
		}, 400, oauthBody, "invalid_scope"},
		{"client credentials for a registered client", func(t *testing.T, fx *fixture) answer {
			return fx.tokenRequest(t, fx.alice, url.Values{"grant_type": {"client_credentials"}})
		}, 400, oauthBody, "unauthorized_client"},
		{"repeated parameter", func(t *testing.T, fx *fixture) answer {
			return fx.tokenRequest(t, fx.alice, url.Values{"grant_type": {"refresh_token", "refresh_token"}, "refresh_token": {fx.refresh}})
		}, 400, oauthBody, "invalid_request"},

		// Authorization endpoint.
		{"unknown client", authz(map[string]string{"client_id": "nobody"}), 400, htmlPage, ""},
		{"redirect_uri not registered", authz(map[string]string{"redirect_uri": "https://evil.example/cb"}), 400, htmlPage, ""},
		{"redirect_uri missing", authz(map[string]string{"redirect_uri": ""}), 400, htmlPage, ""},
		{"state missing", authz(map[string]string{"state": ""}), 302, redirect, "invalid_request"},
		{"PKCE challenge missing", authz(map[string]string{"code_challenge": "", "code_challenge_method": ""}), 302, redirect, "invalid_request"},
		{"PKCE plain", authz(map[string]string{"code_challenge_method": "plain"}), 302, redirect, "invalid_request"},
		{"PKCE challenge malformed", authz(map[string]string{"code_challenge": "short"}), 302, redirect, "invalid_request"},
		{"implicit response type", authz(map[string]string{"response_type": "token"}), 302, redirect, "unsupported_response_type"},
		{"scope not registered", func(t *testing.T, fx *fixture) answer {
			v := url.Values{"response_type": {"code"}, "client_id": {fx.readOnly.id}, "redirect_uri": {redirectURI}, "scope": {oauth.ScopeCredentialUpsert},
				"state": {"st"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
			return rawRequest(t, http.MethodGet, fx.e.srv.URL+oauth.PathAuthorize+"?"+v.Encode(), nil, nil)
		}, 302, redirect, "invalid_scope"},
		{"issuing scope requested by a learner client", authz(map[string]string{"scope": oauth.ScopeIssue}), 302, redirect, "invalid_scope"},
		{"dev login with a forged request", func(t *testing.T, fx *fixture) answer {
			form := url.Values{"username": {"alice"}, "decision": {"approve"}, "request": {"eyJjIjoiYSJ9.Zm9yZ2Vk"}}
			return rawRequest(t, http.MethodPost, fx.e.srv.URL+oauth.PathLogin, hdr("Content-Type", "application/x-www-form-urlencoded"), []byte(form.Encode()))
		}, 400, htmlPage, ""},
		{"dev login with an empty username", func(t *testing.T, fx *fixture) answer {
			page, err := oauthtest.Get(context.Background(), oauthtest.Browser(), fx.authorizeURL(nil))
			if err != nil {
				t.Fatal(err)
			}
			f, err := oauthtest.ParseForm(page.Body, page.URL)
			if err != nil {
				t.Fatal(err)
			}
			res, err := oauthtest.Submit(context.Background(), oauthtest.Browser(), f, url.Values{"username": {"  "}})
			if err != nil {
				t.Fatal(err)
			}
			return answer{status: res.Status, body: res.Body, header: res.Header, location: res.Location}
		}, 400, htmlPage, ""},

		// Registration.
		{"registration with an http redirect", func(t *testing.T, fx *fixture) answer {
			return rawRequest(t, http.MethodPost, fx.e.srv.URL+oauth.PathRegister, hdr("Content-Type", "application/json"),
				[]byte(`{"client_name":"X","client_uri":"https://x.example","redirect_uris":["http://x.example/cb"],"scope":"`+oauth.ScopeCredentialReadonly+`"}`))
		}, 400, oauthBody, "invalid_redirect_uri"},
		{"registration malformed", func(t *testing.T, fx *fixture) answer {
			return rawRequest(t, http.MethodPost, fx.e.srv.URL+oauth.PathRegister, hdr("Content-Type", "application/json"), []byte(`{"client_name":`))
		}, 400, oauthBody, "invalid_client_metadata"},
		{"registration oversized", func(t *testing.T, fx *fixture) answer {
			return rawRequest(t, http.MethodPost, fx.e.srv.URL+oauth.PathRegister, hdr("Content-Type", "application/json"),
				[]byte(`{"client_name":"`+strings.Repeat("x", 70<<10)+`"}`))
		}, 413, oauthBody, "invalid_client_metadata"},
	}
}

func TestBadRequests(t *testing.T) {
	cases := badCases()
	if len(cases) < 40 {
		t.Fatalf("only %d bad requests", len(cases))
	}
	for _, sf := range stores {
		t.Run(sf.name, func(t *testing.T) { badRequests(t, sf.open(t), cases) })
	}
}

func badRequests(t *testing.T, st store.Store, cases []badCase) {
	ctx := context.Background()
	e := newEnv(t, st, nil)
	f := credentialFactory(t)
	fx := &fixture{e: e, alice: e.register(), other: e.register(), readOnly: e.register(oauth.ScopeCredentialReadonly)}
	tok := e.login(fx.alice, "alice")
	fx.full, fx.refresh = tok.AccessToken, tok.RefreshToken
	fx.credOnly = e.login(fx.alice, "alice", oauth.ScopeCredentialReadonly, oauth.ScopeCredentialUpsert).AccessToken
	fx.profileOnly = e.login(fx.alice, "alice", oauth.ScopeProfileReadonly).AccessToken
	revoked := e.login(fx.alice, "alice")
	fx.revoked = revoked.AccessToken
	form := url.Values{"token": {revoked.AccessToken}}
	if a := rawRequest(t, http.MethodPost, e.srv.URL+oauth.PathRevoke, hdr("Content-Type", "application/x-www-form-urlencoded",
		"Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(fx.alice.id)+":"+url.QueryEscape(fx.alice.secret)))), []byte(form.Encode())); a.status != 200 {
		t.Fatalf("revoking the fixture token: %d", a.status)
	}
	cc := rawRequest(t, http.MethodPost, e.srv.URL+oauth.PathToken, hdr("Content-Type", "application/x-www-form-urlencoded",
		"Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(sisID+":"+sisSecret))), []byte("grant_type=client_credentials"))
	var ccTok struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(cc.body, &ccTok); cc.status != 200 || ccTok.AccessToken == "" {
		t.Fatalf("client credentials: %d %s", cc.status, cc.body)
	}
	fx.institutional = ccTok.AccessToken
	fx.pendingCode, fx.pendingVerifier = fx.freshCode(t, fx.alice)
	fx.signedJSON = f.signedJSON(t, "urn:uuid:30000000-0000-4000-8000-000000000001")
	fx.signedJWS = f.signedJWS(t, "urn:uuid:30000000-0000-4000-8000-000000000002")

	// The baseline: one credential and a profile stored for alice.
	baseline := f.signedJWS(t, "urn:uuid:30000000-0000-4000-8000-000000000000")
	if a := fx.api(t, http.MethodPost, "/credentials", fx.full, "text/plain", []byte(baseline)); a.status != 201 {
		t.Fatalf("baseline upsert: %d %s", a.status, a.body)
	}
	profile := `{"id":"did:example:alice","type":"Profile","name":"Alice"}`
	if a := fx.api(t, http.MethodPut, "/profile", fx.full, "application/json", []byte(profile)); a.status != 200 {
		t.Fatalf("baseline profile: %d %s", a.status, a.body)
	}
	clientsBefore, err := st.CountClients(ctx)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.do(t, fx)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			switch tc.kind {
			case imsxBody:
				if got := statusInfo(t, a.body); got != tc.code {
					t.Fatalf("imsx_codeMinor %q, want %q", got, tc.code)
				}
				if a.status == 401 && !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("401 without a Bearer challenge")
				}
			case oauthBody:
				var oe struct {
					Error string `json:"error"`
					Desc  string `json:"error_description"`
				}
				if err := json.Unmarshal(a.body, &oe); err != nil || oe.Error != tc.code || oe.Desc == "" {
					t.Fatalf("OAuth error %q (%v), want %q: %s", oe.Error, err, tc.code, a.body)
				}
				if strings.Contains(string(a.body), "access_token") {
					t.Fatal("an error answer carries a token")
				}
			case htmlPage:
				if a.location != nil || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
					t.Fatalf("want an error page without redirect, got %v %q", a.location, a.header.Get("Content-Type"))
				}
			case redirect:
				if a.location == nil || a.location.Scheme+"://"+a.location.Host+a.location.Path != redirectURI {
					t.Fatalf("want a redirect to the client, got %v", a.location)
				}
				q := a.location.Query()
				if q.Get("error") != tc.code || q.Has("code") {
					t.Fatalf("redirect %s, want error=%s and no code", a.location, tc.code)
				}
			}
		})
	}

	// Nothing was stored by any of them.
	list, total, err := st.ListCredentials(ctx, store.CredentialQuery{LearnerID: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if total != 1 || len(list) != 1 || string(list[0].Data) != baseline {
		t.Fatalf("bad requests changed alice's credentials: %d stored", total)
	}
	for _, l := range []string{"mallory", "eve", ""} {
		if _, n, _ := st.ListCredentials(ctx, store.CredentialQuery{LearnerID: l}); n != 0 {
			t.Fatalf("credentials stored for %q", l)
		}
	}
	learner, err := st.GetLearner(ctx, "alice")
	if err != nil || string(learner.Profile) != profile {
		t.Fatalf("bad requests changed alice's profile: %v %s", err, learner.Profile)
	}
	if n, _ := st.CountClients(ctx); n != clientsBefore {
		t.Fatalf("bad registrations stored clients: %d → %d", clientsBefore, n)
	}
}
