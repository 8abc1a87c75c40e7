package clrapi

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"sync"

	"github.com/learnerrecords/clr-operator/internal/imsx"
	"github.com/learnerrecords/clr-operator/internal/oauth"
)

// Security scheme names of the service description.
const (
	// SchemeACG is the learners' authorization code grant (1EdTech name).
	SchemeACG = "OAuth2ACG"
	// SchemeCC is the institution's client-credentials grant (issuing API).
	SchemeCC = "OAuth2CC"
)

// Schema URLs of the 1EdTech JSON Schemas the operations refer to.
const (
	schemaBase               = "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/"
	schemaClrCredential      = schemaBase + "clr_v2p0_clrcredential_schema.json"
	schemaGetCredentialsResp = schemaBase + "clr_v2p0_getclrcredentialsresponse_schema.json"
	schemaProfile            = schemaBase + "clr_v2p0_profile_schema.json"
	schemaStatusInfo         = schemaBase + "clr_v2p0_imsx_statusinfo_schema.json"
)

// Discovery builds the OpenAPI 3.0 service description served at
// {base}/ims/clr/v2p0/discovery (1EdTech CLR 2.0 §6.1 "Service Discovery").
// It is safe for concurrent use; other packages add their operations with
// AddPath and AddSchema before the server starts.
type Discovery struct {
	mu        sync.Mutex
	opts      Options
	auth      *oauth.Server
	extra     map[string]map[string]any
	schemas   map[string]any
	tags      []map[string]any
	cached    []byte
	cachedGen int
	gen       int
}

func newDiscovery(opts Options, auth *oauth.Server) *Discovery {
	return &Discovery{opts: opts, auth: auth, extra: map[string]map[string]any{}, schemas: map[string]any{}}
}

// AddPath documents the operations of one path. path is relative to the
// public URL (e.g. "/issuing/v1/records"); a path outside the CLR base gets
// a servers override so that it resolves against the public URL. item is an
// OpenAPI Path Item object; its operations name their security with
// SchemeACG or SchemeCC. Adding the same path again merges the operations.
func (d *Discovery) AddPath(path string, item map[string]any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := path
	cp := maps.Clone(item)
	if rel, ok := strings.CutPrefix(path, BasePath); ok && strings.HasPrefix(rel, "/") {
		key = rel
	} else if _, has := cp["servers"]; !has {
		cp["servers"] = []map[string]any{{"url": d.opts.PublicURL}}
	}
	if old, ok := d.extra[key]; ok {
		maps.Copy(old, cp)
	} else {
		d.extra[key] = cp
	}
	d.gen++
}

// AddSchema adds a named schema to components.schemas.
func (d *Discovery) AddSchema(name string, schema any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.schemas[name] = schema
	d.gen++
}

// AddTag adds a tag (name, description) for grouping operations.
func (d *Discovery) AddTag(name, description string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tags = append(d.tags, map[string]any{"name": name, "description": description})
	d.gen++
}

// Document returns the service description as a JSON-ready value.
func (d *Discovery) Document() map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.document()
}

func (d *Discovery) document() map[string]any {
	o := d.opts
	info := map[string]any{
		"title":   o.Title,
		"version": "2.0",
	}
	if o.Description != "" {
		info["description"] = o.Description
	}
	if o.TermsOfService != "" {
		info["termsOfService"] = o.TermsOfService
	}
	if o.PrivacyPolicy != "" {
		info["x-imssf-privacyPolicyUrl"] = o.PrivacyPolicy
	}
	if o.Image != "" {
		info["x-imssf-image"] = o.Image
	}
	clrScopes := map[string]string{}
	for _, s := range oauth.CLRScopes {
		clrScopes[s] = oauth.ScopeDescriptions[s]
	}
	issuingScopes := map[string]string{}
	for _, s := range oauth.IssuingScopes {
		issuingScopes[s] = oauth.ScopeDescriptions[s]
	}
	acg := map[string]any{
		"type":         "oauth2",
		"description":  "OAuth 2.0 Authorization Code Grant authorization, with PKCE (S256)",
		"x-imssf-name": o.Title,
		"flows": map[string]any{
			"authorizationCode": map[string]any{
				"authorizationUrl": d.auth.URL(oauth.PathAuthorize),
				"tokenUrl":         d.auth.URL(oauth.PathToken),
				"refreshUrl":       d.auth.URL(oauth.PathToken),
				"scopes":           clrScopes,
			},
		},
	}
	if d.auth.RegistrationEnabled() {
		acg["x-imssf-registrationUrl"] = d.auth.URL(oauth.PathRegister)
	}
	cc := map[string]any{
		"type":        "oauth2",
		"description": "OAuth 2.0 Client Credentials Grant for the institution's own systems (SIS, registrar); clients are configured by the institution",
		"flows": map[string]any{
			"clientCredentials": map[string]any{
				"tokenUrl": d.auth.URL(oauth.PathToken),
				"scopes":   issuingScopes,
			},
		},
	}
	schemas := map[string]any{
		"ClrCredential":             externalSchema("A ClrCredential (1EdTech CLR 2.0)", schemaClrCredential),
		"GetClrCredentialsResponse": externalSchema("A page of the learner's ClrCredentials", schemaGetCredentialsResp),
		"Profile":                   externalSchema("An Open Badges 3.0 Profile", schemaProfile),
		"Imsx_StatusInfo":           externalSchema("The status information of a failed request", schemaStatusInfo),
		"CompactJws":                map[string]any{"type": "string", "pattern": `^[a-zA-Z0-9_-]+\.[a-zA-Z0-9_-]*\.[a-zA-Z0-9_-]+$`, "description": "A credential signed as a compact JWS (VC-JWT)"},
	}
	maps.Copy(schemas, d.schemas)
	paths := clrPaths()
	for k, v := range d.extra {
		if old, ok := paths[k].(map[string]any); ok {
			merged := maps.Clone(old)
			maps.Copy(merged, v)
			paths[k] = merged
		} else {
			paths[k] = v
		}
	}
	tags := []map[string]any{
		{"name": "Discovery", "description": "The service description of this CLR host"},
		{"name": "ClrCredentials", "description": "The learner's Comprehensive Learner Records"},
		{"name": "Profiles", "description": "The learner's profile"},
	}
	tags = append(tags, d.tags...)
	return map[string]any{
		"openapi": "3.0.1",
		"info":    info,
		"servers": []map[string]any{{"url": o.PublicURL + BasePath, "description": "CLR Standard API v2.0"}},
		"tags":    tags,
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{SchemeACG: acg, SchemeCC: cc},
			"schemas":         schemas,
		},
	}
}

func externalSchema(desc, url string) map[string]any {
	return map[string]any{"type": "object", "description": desc, "externalDocs": map[string]any{"url": url}}
}

// clrPaths are the CLR 2.0 operations, named as in the 1EdTech OpenAPI.
func clrPaths() map[string]any {
	jsonOf := func(ref string) map[string]any {
		return map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/" + ref}}}
	}
	errs := func(codes ...string) map[string]any {
		out := map[string]any{}
		for _, c := range codes {
			out[c] = map[string]any{"description": errorDescriptions[c], "content": jsonOf("Imsx_StatusInfo")}
		}
		out["default"] = map[string]any{"description": "An error, described by an Imsx_StatusInfo body", "content": jsonOf("Imsx_StatusInfo")}
		return out
	}
	with := func(m map[string]any, more map[string]any) map[string]any {
		maps.Copy(m, more)
		return m
	}
	secured := func(scope string) []map[string]any { return []map[string]any{{SchemeACG: []string{scope}}} }
	credentialBody := map[string]any{
		"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/ClrCredential"}},
		"text/plain":       map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/CompactJws"}},
	}
	return map[string]any{
		"/discovery": map[string]any{
			"get": map[string]any{
				"operationId": "getServiceDescription",
				"summary":     "The service description of this CLR host (this document)",
				"tags":        []string{"Discovery"},
				"security":    []map[string]any{},
				"responses": with(map[string]any{
					"200": map[string]any{"description": "The OpenAPI 3.0 service description", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}},
				}, errs()),
			},
		},
		"/credentials": map[string]any{
			"get": map[string]any{
				"operationId": "getCredentials",
				"summary":     "Get the learner's ClrCredentials, newest changes last",
				"tags":        []string{"ClrCredentials"},
				"security":    secured(oauth.ScopeCredentialReadonly),
				"parameters": []map[string]any{
					{"name": "limit", "in": "query", "description": "The maximum number of ClrCredentials to return per page (1 to 1000, default 100).", "required": false, "schema": map[string]any{"type": "integer", "format": "int32", "minimum": 1, "maximum": MaxPageSize}},
					{"name": "offset", "in": "query", "description": "The index of the first ClrCredential to return (zero-based).", "required": false, "schema": map[string]any{"type": "integer", "format": "int32", "minimum": 0}},
					{"name": "since", "in": "query", "description": "Only ClrCredentials stored or updated at or after this time (ISO 8601 / RFC 3339 date-time).", "required": false, "schema": map[string]any{"type": "string", "format": "date-time"}},
				},
				"responses": with(map[string]any{
					"200": map[string]any{
						"description": "One page of ClrCredentials: JSON credentials in credential, VC-JWT credentials in compactJwsString",
						"headers": map[string]any{
							"X-Total-Count": map[string]any{"description": "The total number of ClrCredentials matching the query", "schema": map[string]any{"type": "integer"}},
							"Link":          map[string]any{"description": "RFC 8288 links to the first, last, next and previous pages", "schema": map[string]any{"type": "string"}},
						},
						"content": jsonOf("GetClrCredentialsResponse"),
					},
				}, errs("400", "401", "403", "405", "406", "500")),
			},
			"post": map[string]any{
				"operationId": "upsertCredential",
				"summary":     "Create or replace one of the learner's ClrCredentials; it is verified before it is stored",
				"tags":        []string{"ClrCredentials"},
				"security":    secured(oauth.ScopeCredentialUpsert),
				"requestBody": map[string]any{"required": true, "content": credentialBody},
				"responses": with(map[string]any{
					"200": map[string]any{"description": "The credential replaced one with the same id", "content": credentialBody},
					"201": map[string]any{"description": "The credential was stored", "content": credentialBody},
				}, errs("400", "401", "403", "405", "413", "415", "500")),
			},
		},
		"/profile": map[string]any{
			"get": map[string]any{
				"operationId": "getProfile",
				"summary":     "Get the learner's profile",
				"tags":        []string{"Profiles"},
				"security":    secured(oauth.ScopeProfileReadonly),
				"responses": with(map[string]any{
					"200": map[string]any{"description": "The learner's Open Badges 3.0 Profile", "content": jsonOf("Profile")},
				}, errs("401", "403", "405", "406", "500")),
			},
			"put": map[string]any{
				"operationId": "putProfile",
				"summary":     "Replace the learner's profile",
				"tags":        []string{"Profiles"},
				"security":    secured(oauth.ScopeProfileUpdate),
				"requestBody": map[string]any{"required": true, "content": jsonOf("Profile")},
				"responses": with(map[string]any{
					"200": map[string]any{"description": "The profile as stored", "content": jsonOf("Profile")},
				}, errs("400", "401", "403", "405", "413", "415", "500")),
			},
		},
	}
}

var errorDescriptions = map[string]string{
	"400": "The request was invalid or cannot be served (imsx_codeMinor invalid_data or invalid_query_parameter)",
	"401": "The request is missing a valid access token (unauthorizedrequest)",
	"403": "The access token lacks the required scope (forbidden)",
	"405": "The method is not allowed on this path (not_allowed)",
	"406": "The requested representation is not available (not_acceptable)",
	"413": "The request body is too large (invalid_data)",
	"415": "The request body has an unsupported media type (invalid_data)",
	"500": "The server failed to process the request (internal_server_error)",
}

// getDiscovery serves the document; it is unprotected so that clients can
// find the registration and authorization endpoints.
func (a *API) getDiscovery(w http.ResponseWriter, r *http.Request) {
	if !acceptsJSON(w, r) {
		return
	}
	d := a.discovery
	d.mu.Lock()
	if d.cached == nil || d.cachedGen != d.gen {
		b, err := json.MarshalIndent(d.document(), "", "  ")
		if err != nil {
			d.mu.Unlock()
			a.log.Error("encoding discovery document", "err", err)
			imsx.Write(w, http.StatusInternalServerError, imsx.InternalServerError, "the service description could not be built")
			return
		}
		d.cached, d.cachedGen = append(b, '\n'), d.gen
	}
	body := d.cached
	d.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(body)
}
