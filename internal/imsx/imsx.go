// Package imsx writes the 1EdTech Imsx_StatusInfo error body that every CLR
// 2.0 / Open Badges 3.0 API error carries, with the imsx_codeMinor values the
// standard allows. Every HTTP handler of clr-server answers errors through
// Write so that the bodies are uniform and schema-valid.
package imsx

import (
	"encoding/json"
	"net/http"
)

// CodeMinor is an Imsx_CodeMinorFieldValue of CLR 2.0.
type CodeMinor string

// The allowed imsx_codeMinorFieldValue values (CLR 2.0 / OB 3.0
// Imsx_CodeMinorFieldValue enumeration; nothing else is schema-valid).
const (
	Forbidden             CodeMinor = "forbidden"
	FullSuccess           CodeMinor = "fullsuccess"
	InternalServerError   CodeMinor = "internal_server_error"
	InvalidData           CodeMinor = "invalid_data"
	InvalidQueryParameter CodeMinor = "invalid_query_parameter"
	MisdirectedRequest    CodeMinor = "misdirected_request"
	NotAcceptable         CodeMinor = "not_acceptable"
	NotAllowed            CodeMinor = "not_allowed"
	NotFound              CodeMinor = "not_found"
	NotModified           CodeMinor = "not_modified"
	ServerBusy            CodeMinor = "server_busy"
	UnauthorizedRequest   CodeMinor = "unauthorizedrequest"
	Unknown               CodeMinor = "unknown"
)

// Valid reports whether c is one of the allowed values.
func (c CodeMinor) Valid() bool {
	switch c {
	case Forbidden, FullSuccess, InternalServerError, InvalidData, InvalidQueryParameter,
		MisdirectedRequest, NotAcceptable, NotAllowed, NotFound, NotModified, ServerBusy,
		UnauthorizedRequest, Unknown:
		return true
	}
	return false
}

// FieldName is the imsx_codeMinorFieldName: the system that produced the
// code ("TargetEndSystem" in the specification's examples).
const FieldName = "TargetEndSystem"

// StatusInfo is the Imsx_StatusInfo body.
type StatusInfo struct {
	CodeMajor   string          `json:"imsx_codeMajor"`
	Severity    string          `json:"imsx_severity"`
	Description string          `json:"imsx_description,omitempty"`
	CodeMinor   *CodeMinorBlock `json:"imsx_codeMinor,omitempty"`
}

// CodeMinorBlock is the Imsx_CodeMinor container.
type CodeMinorBlock struct {
	Fields []CodeMinorField `json:"imsx_codeMinorField"`
}

// CodeMinorField is one Imsx_CodeMinorField.
type CodeMinorField struct {
	Name  string    `json:"imsx_codeMinorFieldName"`
	Value CodeMinor `json:"imsx_codeMinorFieldValue"`
}

// New builds a failure StatusInfo. An invalid code falls back to a value
// derived from the HTTP status so that the body stays schema-valid.
func New(httpStatus int, code CodeMinor, description string) StatusInfo {
	if !code.Valid() {
		code = ForStatus(httpStatus)
	}
	return StatusInfo{
		CodeMajor:   "failure",
		Severity:    "error",
		Description: description,
		CodeMinor:   &CodeMinorBlock{Fields: []CodeMinorField{{Name: FieldName, Value: code}}},
	}
}

// Write answers the request with httpStatus and an Imsx_StatusInfo body.
// The description is shown to API clients: it must say what was wrong with
// the request and never carry secrets or internal error details.
func Write(w http.ResponseWriter, httpStatus int, code CodeMinor, description string) {
	body, err := json.Marshal(New(httpStatus, code, description))
	if err != nil {
		// Marshalling strings cannot fail; keep a valid body regardless.
		body = []byte(`{"imsx_codeMajor":"failure","imsx_severity":"error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(append(body, '\n'))
}

// ForStatus is the natural code minor for an HTTP status, for callers that
// have nothing more precise to say.
func ForStatus(httpStatus int) CodeMinor {
	switch httpStatus {
	case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusConflict:
		return InvalidData
	case http.StatusUnauthorized:
		return UnauthorizedRequest
	case http.StatusForbidden:
		return Forbidden
	case http.StatusNotFound:
		return NotFound
	case http.StatusMethodNotAllowed:
		return NotAllowed
	case http.StatusNotAcceptable:
		return NotAcceptable
	case http.StatusMisdirectedRequest:
		return MisdirectedRequest
	case http.StatusNotModified:
		return NotModified
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return ServerBusy
	}
	if httpStatus >= 500 {
		return InternalServerError
	}
	return Unknown
}
