package issuing

import "github.com/learnerrecords/clr-operator/internal/oauth"

// APIDocumenter collects OpenAPI path items, schemas and tags:
// *clrapi.Discovery implements it (AddPath documents a path relative to the
// public URL, with a servers override outside the CLR base).
type APIDocumenter interface {
	AddPath(path string, item map[string]any)
	AddSchema(name string, schema any)
	AddTag(name, description string)
}

// Security scheme names of the discovery document (clrapi.SchemeCC,
// clrapi.SchemeACG).
const (
	schemeCC  = "OAuth2CC"
	schemeACG = "OAuth2ACG"
)

// DocumentAPI adds the issuing, status and share-link operations served by
// this package, statuslist and publicsite to the discovery document.
// basePath is the server's path prefix ("" at the root).
func DocumentAPI(d APIDocumenter, basePath string) {
	ref := func(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }
	jsonBody := func(name string) map[string]any {
		return map[string]any{"application/json": map[string]any{"schema": ref(name)}}
	}
	errs := map[string]any{
		"400":     map[string]any{"description": "Malformed request", "content": jsonBody("Imsx_StatusInfo")},
		"401":     map[string]any{"description": "Missing or invalid access token", "content": jsonBody("Imsx_StatusInfo")},
		"403":     map[string]any{"description": "The token lacks the scope", "content": jsonBody("Imsx_StatusInfo")},
		"404":     map[string]any{"description": "Not found", "content": jsonBody("Imsx_StatusInfo")},
		"413":     map[string]any{"description": "Body too large", "content": jsonBody("Imsx_StatusInfo")},
		"422":     map[string]any{"description": "Invalid request (the description names the field); nothing was stored", "content": jsonBody("Imsx_StatusInfo")},
		"default": map[string]any{"description": "Error", "content": jsonBody("Imsx_StatusInfo")},
	}
	with := func(ok map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range errs {
			out[k] = v
		}
		for k, v := range ok {
			out[k] = v
		}
		return out
	}
	cc := func(scope string) []map[string]any { return []map[string]any{{schemeCC: []string{scope}}} }
	acg := func(scope string) []map[string]any { return []map[string]any{{schemeACG: []string{scope}}} }
	learnerParam := map[string]any{"name": "learner", "in": "path", "required": true, "schema": map[string]any{"type": "string"},
		"description": "The learner's login identity on this host"}
	idParam := map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string"},
		"description": "The credential's UUID (the last segment of its id URL)"}

	d.AddTag("Issuing", "The institution's issuing API (client credentials): learning records in, signed credentials out")
	d.AddTag("Status", "Revocation and suspension of issued credentials")
	d.AddTag("Sharing", "Share links to the human-readable verification page")

	d.AddSchema("IssueRequest", map[string]any{
		"type": "object", "required": []string{"learner", "experiences"},
		"properties": map[string]any{
			"idempotencyKey": map[string]any{"type": "string", "maxLength": 200, "description": "Required on bulk lines; the Idempotency-Key header for single requests"},
			"issuer":         map[string]any{"type": "string", "description": "Issuer name; optional when the host has one issuer"},
			"format":         map[string]any{"type": "string", "enum": []string{"VC-JWT", "DataIntegrity"}},
			"learner": map[string]any{"type": "object", "required": []string{"id"}, "properties": map[string]any{
				"id": map[string]any{"type": "string"}, "name": map[string]any{"type": "string"},
				"email": map[string]any{"type": "string"}, "did": map[string]any{"type": "string"}}},
			"experiences": map[string]any{"type": "array", "minItems": 1, "maxItems": MaxExperiences, "items": ref("Experience")},
		},
	})
	evidence := map[string]any{"type": "object", "properties": map[string]any{
		"url": map[string]any{"type": "string", "format": "uri"}, "name": map[string]any{"type": "string"},
		"description": map[string]any{"type": "string"}, "narrative": map[string]any{"type": "string"},
		"genre": map[string]any{"type": "string"}, "audience": map[string]any{"type": "string"}}}
	d.AddSchema("Evidence", evidence)
	d.AddSchema("Experience", map[string]any{
		"type": "object", "required": []string{"kind"},
		"properties": map[string]any{
			"kind":  map[string]any{"type": "string", "enum": []string{KindCourse, KindCoCurricular, KindInternship, KindResearch, KindService, KindStudyAbroad, KindCompetencyAssessment}},
			"title": map[string]any{"type": "string"}, "code": map[string]any{"type": "string"},
			"description": map[string]any{"type": "string"}, "narrative": map[string]any{"type": "string"},
			"grade": map[string]any{"type": "string"}, "credits": map[string]any{"type": "number", "minimum": 0},
			"term": map[string]any{"type": "string"}, "organization": map[string]any{"type": "string"},
			"location": map[string]any{"type": "string"}, "role": map[string]any{"type": "string"},
			"hours":     map[string]any{"type": "number", "minimum": 0},
			"startDate": map[string]any{"type": "string", "description": "YYYY-MM-DD or RFC 3339"},
			"endDate":   map[string]any{"type": "string", "description": "YYYY-MM-DD or RFC 3339"},
			"competencies": map[string]any{"type": "array", "items": map[string]any{"type": "object",
				"required": []string{"framework", "competency", "level"},
				"properties": map[string]any{"framework": map[string]any{"type": "string"}, "competency": map[string]any{"type": "string"},
					"level": map[string]any{"type": "string"}, "narrative": map[string]any{"type": "string"},
					"evidence": map[string]any{"type": "array", "items": ref("Evidence")}}}},
			"evidence": map[string]any{"type": "array", "items": ref("Evidence")},
		},
	})
	issued := map[string]any{"type": "object", "properties": map[string]any{
		"id": map[string]any{"type": "string"}, "type": map[string]any{"type": "string"},
		"format":     map[string]any{"type": "string", "enum": []string{"VC-JWT", "DataIntegrity"}},
		"credential": map[string]any{"description": "The signed credential: a JSON object (Data Integrity) or a compact JWS string (VC-JWT)"}}}
	d.AddSchema("IssuedCredential", issued)
	d.AddSchema("IssueResponse", map[string]any{"type": "object", "properties": map[string]any{
		"learner": map[string]any{"type": "string"}, "issuer": map[string]any{"type": "string"},
		"records": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{
			"recordId": map[string]any{"type": "string"}, "kind": map[string]any{"type": "string"},
			"title": map[string]any{"type": "string"}, "credential": ref("IssuedCredential")}}}}})
	d.AddSchema("BulkResult", map[string]any{"type": "object", "properties": map[string]any{
		"line": map[string]any{"type": "integer"}, "idempotencyKey": map[string]any{"type": "string"},
		"status": map[string]any{"type": "integer"}, "replayed": map[string]any{"type": "boolean"},
		"result": ref("IssueResponse"), "error": ref("Imsx_StatusInfo")}})
	d.AddSchema("CLRRequest", map[string]any{"type": "object", "properties": map[string]any{
		"issuer": map[string]any{"type": "string"}, "format": map[string]any{"type": "string", "enum": []string{"VC-JWT", "DataIntegrity"}},
		"credentials": map[string]any{"type": "array", "items": map[string]any{"type": "string"},
			"description": "Ids of the learner's credentials to include (a partial CLR); empty for the whole record"}}})
	d.AddSchema("StatusResponse", map[string]any{"type": "object", "properties": map[string]any{
		"credential": map[string]any{"type": "string"}, "status": map[string]any{"type": "string", "enum": []string{"active", "suspended", "revoked"}},
		"reason": map[string]any{"type": "string"}, "updatedAt": map[string]any{"type": "string", "format": "date-time"}}})
	d.AddSchema("ShareLink", map[string]any{"type": "object", "properties": map[string]any{
		"url":        map[string]any{"type": "string", "description": "The unguessable link to the verification page (returned once)"},
		"credential": map[string]any{"type": "string"}, "createdAt": map[string]any{"type": "string", "format": "date-time"}}})

	d.AddPath(basePath+PathRecords, map[string]any{"post": map[string]any{
		"operationId": "issueRecords", "tags": []string{"Issuing"}, "security": cc(oauth.ScopeIssue),
		"summary":     "Issue one learner's learning: one signed AchievementCredential per experience, atomically",
		"parameters":  []any{map[string]any{"name": "Idempotency-Key", "in": "header", "schema": map[string]any{"type": "string", "maxLength": 200}}},
		"requestBody": map[string]any{"required": true, "content": jsonBody("IssueRequest")},
		"responses":   with(map[string]any{"201": map[string]any{"description": "Issued (or, with Idempotent-Replayed: true, the earlier issuance)", "content": jsonBody("IssueResponse")}}),
	}})
	d.AddPath(basePath+PathBulk, map[string]any{"post": map[string]any{
		"operationId": "issueRecordsBulk", "tags": []string{"Issuing"}, "security": cc(oauth.ScopeIssue),
		"summary":     "Bulk issuance: NDJSON, one IssueRequest with idempotencyKey per line, each line its own transaction; results stream back one line per request line",
		"parameters":  []any{map[string]any{"name": "include", "in": "query", "schema": map[string]any{"type": "string", "enum": []string{"credentials"}}, "description": "Include the signed credentials in the results (default: ids only)"}},
		"requestBody": map[string]any{"required": true, "content": map[string]any{"application/x-ndjson": map[string]any{"schema": ref("IssueRequest")}}},
		"responses":   with(map[string]any{"200": map[string]any{"description": "One BulkResult per line", "content": map[string]any{"application/x-ndjson": map[string]any{"schema": ref("BulkResult")}}}}),
	}})
	d.AddPath(basePath+PathLearner+"/records", map[string]any{"get": map[string]any{
		"operationId": "getLearnerRecords", "tags": []string{"Issuing"}, "security": cc(oauth.ScopeRecordsRead),
		"summary": "The learner's learning records and the credentials issued from them", "parameters": []any{learnerParam},
		"responses": with(map[string]any{"200": map[string]any{"description": "Records"}}),
	}})
	d.AddPath(basePath+PathLearnerCL, map[string]any{"post": map[string]any{
		"operationId": "assembleClr", "tags": []string{"Issuing"}, "security": cc(oauth.ScopeIssue),
		"summary":    "Sign the learner's ClrCredential: whole, or partial (the chosen credentials), with the framework layer",
		"parameters": []any{learnerParam}, "requestBody": map[string]any{"content": jsonBody("CLRRequest")},
		"responses": with(map[string]any{"201": map[string]any{"description": "The ClrCredential", "content": jsonBody("IssuedCredential")}}),
	}})
	d.AddPath(basePath+PathMyCLR, map[string]any{"post": map[string]any{
		"operationId": "assembleMyClr", "tags": []string{"Sharing"}, "security": acg(oauth.ScopeCredentialReadonly),
		"summary":     "The learner signs in and has a ClrCredential of the parts she chooses assembled",
		"requestBody": map[string]any{"content": jsonBody("CLRRequest")},
		"responses":   with(map[string]any{"201": map[string]any{"description": "The ClrCredential", "content": jsonBody("IssuedCredential")}}),
	}})
	for _, action := range []string{"revoke", "suspend", "reinstate"} {
		d.AddPath(basePath+"/issuing/v1/credentials/{id}/"+action, map[string]any{"post": map[string]any{
			"operationId": action + "Credential", "tags": []string{"Status"}, "security": cc(oauth.ScopeRevoke),
			"summary":    action + " an issued credential; its status lists are re-signed in the same transaction",
			"parameters": []any{idParam},
			"requestBody": map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object",
				"properties": map[string]any{"reason": map[string]any{"type": "string", "maxLength": 1000}}}}}},
			"responses": with(map[string]any{"200": map[string]any{"description": "The new status", "content": jsonBody("StatusResponse")},
				"409": map[string]any{"description": "The credential is revoked (final)", "content": jsonBody("Imsx_StatusInfo")}}),
		}})
	}
	d.AddPath(basePath+"/issuing/v1/credentials/{id}/status", map[string]any{"get": map[string]any{
		"operationId": "getCredentialStatus", "tags": []string{"Status"}, "security": cc(oauth.ScopeRevoke),
		"parameters": []any{idParam}, "responses": with(map[string]any{"200": map[string]any{"description": "The status", "content": jsonBody("StatusResponse")}}),
	}})
	shareBody := map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object",
		"required": []string{"credential"}, "properties": map[string]any{"credential": map[string]any{"type": "string"}}}}}}
	tokenParam := map[string]any{"name": "token", "in": "path", "required": true, "schema": map[string]any{"type": "string"}}
	d.AddPath(basePath+"/issuing/v1/me/share-links", map[string]any{"post": map[string]any{
		"operationId": "createMyShareLink", "tags": []string{"Sharing"}, "security": acg(oauth.ScopeCredentialReadonly),
		"summary": "Create a share link to one of the learner's credentials", "requestBody": shareBody,
		"responses": with(map[string]any{"201": map[string]any{"description": "The link", "content": jsonBody("ShareLink")}}),
	}})
	d.AddPath(basePath+"/issuing/v1/me/share-links/{token}", map[string]any{"delete": map[string]any{
		"operationId": "withdrawMyShareLink", "tags": []string{"Sharing"}, "security": acg(oauth.ScopeCredentialReadonly),
		"parameters": []any{tokenParam}, "responses": with(map[string]any{"204": map[string]any{"description": "Withdrawn"}}),
	}})
	d.AddPath(basePath+"/issuing/v1/learners/{learner}/share-links", map[string]any{"post": map[string]any{
		"operationId": "createShareLink", "tags": []string{"Sharing"}, "security": cc(oauth.ScopeIssue),
		"summary": "The registrar creates a share link for a learner", "parameters": []any{learnerParam}, "requestBody": shareBody,
		"responses": with(map[string]any{"201": map[string]any{"description": "The link", "content": jsonBody("ShareLink")}}),
	}})
	d.AddPath(basePath+"/issuing/v1/learners/{learner}/share-links/{token}", map[string]any{"delete": map[string]any{
		"operationId": "withdrawShareLink", "tags": []string{"Sharing"}, "security": cc(oauth.ScopeIssue),
		"parameters": []any{learnerParam, tokenParam}, "responses": with(map[string]any{"204": map[string]any{"description": "Withdrawn"}}),
	}})
}
