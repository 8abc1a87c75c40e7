package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/learnerrecords/clr-operator/internal/credential/model"
)

// Level selects which rules apply.
type Level int

const (
	// LevelSpec applies the official JSON Schema rules plus the rules of the
	// specification text that the schemas omit (the default).
	LevelSpec Level = iota
	// LevelSchema applies exactly the rules of the official JSON Schemas.
	LevelSchema
)

// Kind is the class a document is validated as.
type Kind int

const (
	// KindAuto tells the class from the document's type property.
	KindAuto Kind = iota
	KindClr
	KindAchievement
	KindEndorsement
	KindProfile
)

func (k Kind) String() string {
	switch k {
	case KindClr:
		return "ClrCredential"
	case KindAchievement:
		return "AchievementCredential"
	case KindEndorsement:
		return "EndorsementCredential"
	case KindProfile:
		return "Profile"
	}
	return "auto"
}

// Default limits. The verifier accepts documents up to 2 MiB; a CLR nests
// credentials two or three objects deep per level, so 64 leaves ample room
// while keeping hostile nesting cheap to reject.
const (
	DefaultMaxBytes       = 2 << 20
	DefaultMaxDepth       = 64
	DefaultMaxCredentials = 1000
	DefaultMaxErrors      = 200
)

// Options tune a validation. The zero value validates at LevelSpec, detects
// the kind and uses the default limits.
type Options struct {
	Level Level
	Kind  Kind
	// MaxBytes bounds the raw document size (Validate only).
	MaxBytes int
	// MaxDepth bounds JSON nesting (objects and arrays).
	MaxDepth int
	// MaxCredentials bounds the number of embedded credentials (nested
	// verifiableCredential items and endorsements) that are validated.
	MaxCredentials int
	// MaxErrors stops the validation after this many errors.
	MaxErrors int
	// StatusSet accepts credentialStatus as an array of CredentialStatus
	// objects, each validated, as VC Data Model 2.0 allows. The OB 3.0 /
	// CLR 2.0 JSON Schemas allow a single object, so the default (false)
	// rejects an array, in agreement with them.
	StatusSet bool
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxCredentials <= 0 {
		o.MaxCredentials = DefaultMaxCredentials
	}
	if o.MaxErrors <= 0 {
		o.MaxErrors = DefaultMaxErrors
	}
	return o
}

// Validate checks a raw JSON document. It returns nil when the document is
// valid. It never panics, whatever the input.
func Validate(doc []byte, opts Options) []Error {
	opts = opts.withDefaults()
	if len(doc) > opts.MaxBytes {
		return []Error{{Code: CodeLimit, Message: fmt.Sprintf("document is %d bytes, more than the limit of %d", len(doc), opts.MaxBytes)}}
	}
	if d := jsonDepth(doc); d > opts.MaxDepth {
		return []Error{{Code: CodeLimit, Message: fmt.Sprintf("document nests deeper than %d levels", opts.MaxDepth)}}
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []Error{{Code: CodeSyntax, Message: "not valid JSON: " + err.Error()}}
	}
	if _, err := dec.Token(); err != io.EOF {
		return []Error{{Code: CodeSyntax, Message: "trailing data after the JSON document"}}
	}
	return validateValue(v, opts)
}

// ValidateValue checks a document already decoded by encoding/json (objects
// as map[string]any; numbers as float64 or json.Number).
func ValidateValue(v any, opts Options) []Error {
	opts = opts.withDefaults()
	if valueDepthExceeds(v, opts.MaxDepth) {
		return []Error{{Code: CodeLimit, Message: fmt.Sprintf("document nests deeper than %d levels", opts.MaxDepth)}}
	}
	return validateValue(v, opts)
}

func validateValue(v any, opts Options) []Error {
	m, ok := v.(map[string]any)
	if !ok {
		return []Error{{Code: CodeSyntax, Message: "document is not a JSON object"}}
	}
	w := &walker{opts: opts, spec: opts.Level == LevelSpec}
	kind := opts.Kind
	if kind == KindAuto {
		kind = detectKind(m)
		if kind == KindAuto {
			w.fail(nil, "type", CodeTypeValue, "type names none of ClrCredential, AchievementCredential, OpenBadgeCredential, EndorsementCredential, Profile")
			return w.errs
		}
	}
	switch kind {
	case KindClr, KindAchievement, KindEndorsement:
		w.credential(m, nil, kind)
	case KindProfile:
		w.profileObj(m, nil)
	default:
		w.fail(nil, "", CodeTypeValue, "unknown kind")
	}
	return w.errs
}

// DetectKind tells the class of a decoded document from its type property,
// KindAuto when it names none.
func DetectKind(v any) Kind {
	m, ok := v.(map[string]any)
	if !ok {
		return KindAuto
	}
	return detectKind(m)
}

func detectKind(m map[string]any) Kind {
	types := typeStrings(m["type"])
	switch model.KindOf(types) {
	case model.KindClr:
		return KindClr
	case model.KindAchievement:
		return KindAchievement
	case model.KindEndorsement:
		return KindEndorsement
	}
	for _, t := range types {
		if t == model.TypeProfile {
			return KindProfile
		}
	}
	return KindAuto
}

// typeStrings returns the string members of a type value (string or array).
func typeStrings(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// jsonDepth returns the maximum nesting of arrays and objects in raw JSON,
// ignoring brackets inside strings; it stops counting once past 1<<20.
func jsonDepth(b []byte) int {
	depth, max := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				max = depth
			}
		case '}', ']':
			depth--
		}
	}
	return max
}

func valueDepthExceeds(v any, limit int) bool {
	switch t := v.(type) {
	case map[string]any:
		if limit == 0 {
			return true
		}
		for _, x := range t {
			if valueDepthExceeds(x, limit-1) {
				return true
			}
		}
	case []any:
		if limit == 0 {
			return true
		}
		for _, x := range t {
			if valueDepthExceeds(x, limit-1) {
				return true
			}
		}
	}
	return false
}
