// Package validate checks the structure of CLR 2.0 / Open Badges 3.0
// credentials given as raw JSON: required properties, value types, enums,
// formats (date-time, URI), the @context order and the type lists. It never
// decodes into the model (a malformed document must be reported, not
// rejected by a decoder) and never panics on arbitrary input.
//
// Two levels exist because the official JSON Schemas and the specification
// text disagree in places:
//
//   - LevelSchema checks exactly what the official JSON Schemas
//     (../shared/clr/schemas, draft 2019-09, with format assertion) check, no
//     more and no less; a test proves the two agree on every example and on
//     hundreds of mutations.
//   - LevelSpec (the default, used by the verifier) adds the rules of the
//     specification text that the schemas leave out; see spec.go for the list.
package validate

import (
	"fmt"
	"strconv"
	"strings"
)

// Code is a stable, machine-readable error class.
type Code string

// Error codes. They are part of the verifier's report format: never rename.
const (
	// CodeSyntax: the input is not JSON, or not a JSON object.
	CodeSyntax Code = "SYNTAX"
	// CodeLimit: the input exceeds a size, depth, count or error limit.
	CodeLimit Code = "LIMIT"
	// CodeRequired: a required property is missing.
	CodeRequired Code = "REQUIRED"
	// CodeType: a value has the wrong JSON type or shape.
	CodeType Code = "TYPE"
	// CodeTypeValue: a `type` property lacks an IRI it must contain.
	CodeTypeValue Code = "TYPE_VALUE"
	// CodeEnum: a value is not one of the allowed values.
	CodeEnum Code = "ENUM"
	// CodeFormat: a string is not a valid date-time, date, URI, language tag or JWS.
	CodeFormat Code = "FORMAT"
	// CodeContext: @context is missing required entries or has them out of order.
	CodeContext Code = "CONTEXT"
	// CodeCount: an array has too few items.
	CodeCount Code = "COUNT"
	// CodeAdditional: a property is not allowed on this class.
	CodeAdditional Code = "ADDITIONAL"
)

// Error is one structural problem, located by a path such as
// credentialSubject.verifiableCredential[2].issuer.id ("" is the document).
type Error struct {
	Path    string `json:"path"`
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

func (e Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s: %s", e.Path, e.Code, e.Message)
}

// path is a linked list rendered only when an error is reported, so that a
// valid document costs no string building.
type path struct {
	parent *path
	key    string
	index  int // >= 0 for an array index
}

func (p *path) key1(k string) *path { return &path{parent: p, key: k, index: -1} }
func (p *path) at(i int) *path      { return &path{parent: p, index: i} }

func (p *path) String() string {
	if p == nil {
		return ""
	}
	var parts []*path
	for q := p; q != nil; q = q.parent {
		parts = append(parts, q)
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		q := parts[i]
		if q.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(q.index))
			b.WriteByte(']')
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(q.key)
	}
	return b.String()
}
