package validate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// walker carries the state of one validation.
type walker struct {
	opts  Options
	spec  bool
	errs  []Error
	creds int
	full  bool
}

// fail records an error at p.key (key may be "" for p itself).
func (w *walker) fail(p *path, key string, code Code, format string, args ...any) {
	if w.full {
		return
	}
	if len(w.errs) >= w.opts.MaxErrors {
		w.full = true
		w.errs = append(w.errs, Error{Code: CodeLimit, Message: fmt.Sprintf("more than %d errors; validation stopped", w.opts.MaxErrors)})
		return
	}
	if key != "" {
		p = p.key1(key)
	}
	w.errs = append(w.errs, Error{Path: p.String(), Code: code, Message: fmt.Sprintf(format, args...)})
}

// object returns v as an object, or records a TYPE error.
func (w *walker) object(v any, p *path, what string) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		w.fail(p, "", CodeType, "must be a %s object, not %s", what, jsonType(v))
	}
	return m, ok
}

func (w *walker) required(m map[string]any, p *path, keys ...string) {
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			w.fail(p, k, CodeRequired, "required property is missing")
		}
	}
}

// noAdditional enforces additionalProperties: false.
func (w *walker) noAdditional(m map[string]any, p *path, allowed ...string) {
	var extra []string
	for k := range m {
		if !slices.Contains(allowed, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra) // deterministic error order
	for _, k := range extra {
		w.fail(p, k, CodeAdditional, "property not allowed here (allowed: %s)", strings.Join(allowed, ", "))
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func isNumber(v any) bool {
	switch v.(type) {
	case float64, json.Number:
		return true
	}
	return false
}

// ---- the schemas' building blocks ----

var (
	// Language-map keys as the schemas define them.
	langKeyRe = regexp.MustCompile(`^[a-z]{2}(-[A-Z]{2})?$`)
	// inLanguage values (BCP 47 subset of the schemas).
	inLanguageRe = regexp.MustCompile(`^[a-z]{2,4}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$`)
	// Compact JWS, for endorsementJwt.
	jwsRe = regexp.MustCompile(`^[a-zA-Z0-9_-]+\.[a-zA-Z0-9_-]*\.[a-zA-Z0-9_-]+$`)
	// Extension enum values. The schemas use this unanchored pattern (so any
	// string containing "ext:x" passes); the spec text asks for the prefix.
	extSchemaRe = regexp.MustCompile(`(ext:)[a-z|A-Z|0-9|.|-|_]+`)
	extSpecRe   = regexp.MustCompile(`^ext:[a-zA-Z0-9._-]+$`)
	// URI scheme, for the spec-level URI checks.
	uriSchemeRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

// isLangMap: an object whose keys are language tags and values strings
// (the schemas' alternative to a plain string for almost every property).
func isLangMap(v any, valueRe *regexp.Regexp) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for k, x := range m {
		s, ok := x.(string)
		if !ok || !langKeyRe.MatchString(k) || (valueRe != nil && !valueRe.MatchString(s)) {
			return false
		}
	}
	return true
}

func isLangMapOf(v any, want string) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for k, x := range m {
		if s, ok := x.(string); !ok || s != want || !langKeyRe.MatchString(k) {
			return false
		}
	}
	return true
}

// text checks a String property: a string or a language map.
func (w *walker) text(m map[string]any, p *path, keys ...string) {
	for _, k := range keys {
		v, ok := m[k]
		if !ok {
			continue
		}
		if _, isStr := v.(string); !isStr && !isLangMap(v, nil) {
			w.fail(p, k, CodeType, "must be a string or a language map, not %s", jsonType(v))
		}
	}
}

// patText checks a string (or language map) whose strings match re.
func (w *walker) patText(m map[string]any, p *path, key string, re *regexp.Regexp, what string) {
	v, ok := m[key]
	if !ok {
		return
	}
	if s, isStr := v.(string); isStr {
		if !re.MatchString(s) {
			w.fail(p, key, CodeFormat, "%q is not a valid %s", s, what)
		}
		return
	}
	if !isLangMap(v, re) {
		w.fail(p, key, CodeType, "must be a %s string, not %s", what, jsonType(v))
	}
}

// uri checks an IRI/URI property: the schemas accept any string or language
// map; the spec requires an absolute URI string.
func (w *walker) uri(m map[string]any, p *path, keys ...string) {
	for _, k := range keys {
		v, ok := m[k]
		if !ok {
			continue
		}
		w.uriValue(v, p, k)
	}
}

func (w *walker) uriValue(v any, p *path, key string) {
	s, isStr := v.(string)
	if !w.spec {
		if !isStr && !isLangMap(v, nil) {
			w.fail(p, key, CodeType, "must be a string, not %s", jsonType(v))
		}
		return
	}
	if !isStr {
		w.fail(p, key, CodeType, "must be a URI string, not %s", jsonType(v))
		return
	}
	if !isURI(s) {
		w.fail(p, key, CodeFormat, "%q is not an absolute URI", s)
	}
}

// isURI accepts absolute URIs/IRIs (including DIDs, urn: and data: URIs):
// a scheme, something after it, and no whitespace or control characters.
func isURI(s string) bool {
	loc := uriSchemeRe.FindStringIndex(s)
	if loc == nil || loc[1] == len(s) {
		return false
	}
	for _, r := range s {
		if r <= 0x20 || r == 0x7f || r == '<' || r == '>' || r == '"' || r == '{' || r == '}' || r == '|' || r == '\\' || r == '^' || r == '`' {
			return false
		}
	}
	return true
}

func (w *walker) dateTime(m map[string]any, p *path, keys ...string) {
	for _, k := range keys {
		v, ok := m[k]
		if !ok {
			continue
		}
		s, isStr := v.(string)
		if !isStr {
			w.fail(p, k, CodeType, "must be a date-time string, not %s", jsonType(v))
			continue
		}
		if !isDateTime(s) {
			w.fail(p, k, CodeFormat, "%q is not an RFC 3339 date-time", s)
		}
	}
}

func (w *walker) date(m map[string]any, p *path, key string) {
	v, ok := m[key]
	if !ok {
		return
	}
	s, isStr := v.(string)
	if !isStr {
		w.fail(p, key, CodeType, "must be a date string, not %s", jsonType(v))
		return
	}
	if _, err := time.Parse("2006-01-02", s); err != nil {
		w.fail(p, key, CodeFormat, "%q is not an RFC 3339 full-date", s)
	}
}

func (w *walker) number(m map[string]any, p *path, keys ...string) {
	for _, k := range keys {
		if v, ok := m[k]; ok && !isNumber(v) {
			w.fail(p, k, CodeType, "must be a number, not %s", jsonType(v))
		}
	}
}

func (w *walker) boolean(m map[string]any, p *path, key string) {
	if v, ok := m[key]; ok {
		if _, isBool := v.(bool); !isBool {
			w.fail(p, key, CodeType, "must be a boolean, not %s", jsonType(v))
		}
	}
}

// enum checks a plain string enum (no extensions, no language map).
func (w *walker) enum(m map[string]any, p *path, key string, allowed []string) {
	v, ok := m[key]
	if !ok {
		return
	}
	s, isStr := v.(string)
	if !isStr {
		w.fail(p, key, CodeType, "must be a string, not %s", jsonType(v))
		return
	}
	if !slices.Contains(allowed, s) {
		w.fail(p, key, CodeEnum, "%q is not one of %s", s, strings.Join(allowed, ", "))
	}
}

// enumOrExt checks an extensible enum: a listed value or "ext:..." (oneOf
// in the schemas: a value matching both would fail, none of the listed does).
func (w *walker) enumOrExt(m map[string]any, p *path, key string, allowed []string) {
	v, ok := m[key]
	if !ok {
		return
	}
	s, isStr := v.(string)
	if !isStr {
		w.fail(p, key, CodeType, "must be a string, not %s", jsonType(v))
		return
	}
	if slices.Contains(allowed, s) {
		return
	}
	ext := extSchemaRe
	if w.spec {
		ext = extSpecRe
	}
	if !ext.MatchString(s) {
		w.fail(p, key, CodeEnum, "%q is neither one of %s nor an extension value ext:...", s, strings.Join(allowed, ", "))
	}
}

// typeList checks a `type` property that must contain an IRI from each group
// (for a credential: VerifiableCredential and its own class).
//
// Schema: a single string (or language map) passes whatever it says — the
// schemas only check arrays (non-empty, string items, containing each group).
// Spec: the value must be a string or an array of strings containing each
// group; a single string therefore only fits a single group.
func (w *walker) typeList(m map[string]any, p *path, groups ...[]string) {
	v, ok := m["type"]
	if !ok {
		return
	}
	var items []string
	switch t := v.(type) {
	case string:
		if !w.spec {
			return
		}
		items = []string{t}
	case []any:
		if len(t) == 0 {
			w.fail(p, "type", CodeCount, "must not be empty")
			return
		}
		bad := false
		for i, x := range t {
			s, isStr := x.(string)
			if !isStr && (w.spec || !isLangMap(x, nil)) {
				w.fail(p.key1("type"), "", CodeType, "item %d must be a string, not %s", i, jsonType(x))
				bad = true
			}
			items = append(items, s)
		}
		if bad {
			return
		}
	default:
		if !w.spec && isLangMap(v, nil) {
			return
		}
		w.fail(p, "type", CodeType, "must be a string or an array of strings, not %s", jsonType(v))
		return
	}
	for _, g := range groups {
		if !slices.ContainsFunc(items, func(s string) bool { return slices.Contains(g, s) }) {
			w.fail(p, "type", CodeTypeValue, "must contain %s", strings.Join(g, " or "))
		}
	}
}

// fixedType checks a `type` that must be exactly one IRI (Image,
// IdentityObject, ...); the schemas also accept a language map of it.
func (w *walker) fixedType(m map[string]any, p *path, want string) {
	v, ok := m["type"]
	if !ok {
		return
	}
	if s, isStr := v.(string); isStr {
		if s != want {
			w.fail(p, "type", CodeEnum, "must be %q, not %q", want, s)
		}
		return
	}
	if !w.spec && isLangMapOf(v, want) {
		return
	}
	w.fail(p, "type", CodeType, "must be the string %q, not %s", want, jsonType(v))
}

// oneOrMany applies fn to a value that may be single or an array of items.
func (w *walker) oneOrMany(m map[string]any, p *path, key string, fn func(v any, p *path)) {
	v, ok := m[key]
	if !ok {
		return
	}
	kp := p.key1(key)
	if arr, isArr := v.([]any); isArr {
		for i, x := range arr {
			if w.full {
				return
			}
			fn(x, kp.at(i))
		}
		return
	}
	fn(v, kp)
}

// single applies fn to a single-valued property.
func (w *walker) single(m map[string]any, p *path, key string, fn func(v any, p *path)) {
	if v, ok := m[key]; ok {
		fn(v, p.key1(key))
	}
}
