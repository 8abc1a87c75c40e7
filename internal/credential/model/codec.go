package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// This file holds the small JSON machinery shared by every model type.
//
// Why hand-rolled instead of struct tags: the model must round-trip credentials
// losslessly. encoding/json with tags drops unknown properties, turns a single
// value into an array (or fails), and fails the whole document when one property
// has an unexpected shape (for example a JSON-LD language map where the spec
// says "string"). Each type here lists its properties once (props); decoding
// fills a property only when the value has the expected shape and otherwise
// keeps the raw value in Extra under its key, so nothing is ever lost and
// validation stays the validator's job. No reflection is used: every property
// is a pointer-shaped codec, so building the property list does not allocate
// per field.

// codec reads and writes one property of a model object.
type codec interface {
	// decode fills the property from raw JSON; false means "keep raw in Extra".
	decode(raw []byte) bool
	present() bool
	encode(dst []byte) ([]byte, error)
	// reset clears the property (a later duplicate member did not fit it).
	reset()
}

type prop struct {
	name string
	c    codec
}

// appender is implemented by every model type: it appends the JSON encoding.
type appender interface {
	appendJSON(dst []byte) ([]byte, error)
}

var errNotObject = errors.New("model: JSON value is not an object")

func trimLeft(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

// isObject reports whether b starts a JSON object. decodeRaw only receives
// valid JSON, so after this check decoding cannot fail half-way.
func isObject(b []byte) bool {
	b = trimLeft(b)
	return len(b) > 0 && b[0] == '{'
}

func isNull(b []byte) bool { return string(bytes.TrimSpace(b)) == "null" }

// rawDecoder decodes JSON that is already known to be valid: the exported
// UnmarshalJSON methods check validity once (json.Valid) and then walk the
// document with the cheap splitter below, instead of letting encoding/json
// re-scan every subtree at every nesting level.
type rawDecoder interface {
	decodeRaw(b []byte) error
}

func unmarshalChecked(b []byte, d rawDecoder) error {
	if isNull(b) {
		return nil
	}
	if !json.Valid(b) {
		return errors.New("model: invalid JSON")
	}
	return d.decodeRaw(b)
}

// decodeObject hands each member of a JSON object to the matching property
// codec and keeps the rest (unknown or mis-shaped) in extra. As with
// encoding/json, the last of duplicate members wins.
func decodeObject(b []byte, props []prop, extra *map[string]json.RawMessage) error {
	return eachMember(b, func(k string, raw []byte) {
		if i := findProp(props, k); i >= 0 {
			if !isNull(raw) && props[i].c.decode(raw) {
				if *extra != nil {
					delete(*extra, k)
				}
				return
			}
			props[i].c.reset()
		}
		if *extra == nil {
			*extra = make(map[string]json.RawMessage)
		}
		(*extra)[k] = append(json.RawMessage(nil), raw...) // never alias the caller's buffer
	})
}

func findProp(props []prop, name string) int {
	for i := range props {
		if props[i].name == name {
			return i
		}
	}
	return -1
}

// encodeObject writes the present properties in declaration order, then the
// extra members sorted by key (a typed property wins over an extra of the same
// name, which only happens when a caller set both).
func encodeObject(dst []byte, props []prop, extra map[string]json.RawMessage) ([]byte, error) {
	dst = append(dst, '{')
	first := true
	var err error
	for _, p := range props {
		if !p.c.present() {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = AppendString(dst, p.name)
		dst = append(dst, ':')
		if dst, err = p.c.encode(dst); err != nil {
			return nil, fmt.Errorf("model: encode %q: %w", p.name, err)
		}
	}
	if len(extra) > 0 {
		keys := make([]string, 0, len(extra))
		for k := range extra {
			if i := findProp(props, k); i >= 0 && props[i].c.present() {
				continue
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			raw := bytes.TrimSpace(extra[k])
			if len(raw) == 0 {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = AppendString(dst, k)
			dst = append(dst, ':')
			dst = append(dst, raw...)
		}
	}
	return append(dst, '}'), nil
}

// ---- scalar codecs ----

// strField holds an optional string. An explicit empty string cannot be told
// apart from "absent" in a plain string field, so decode refuses it and the
// empty value survives the round trip in Extra.
type strField struct{ p *string }

func (f strField) decode(raw []byte) bool {
	s, ok := decodeString(raw)
	if !ok || s == "" {
		return false
	}
	*f.p = s
	return true
}
func (f strField) present() bool { return *f.p != "" }
func (f strField) reset()        { *f.p = "" }
func (f strField) encode(dst []byte) ([]byte, error) {
	return AppendString(dst, *f.p), nil
}

type numField struct{ p **float64 }

func (f numField) decode(raw []byte) bool {
	raw = trimLeft(raw)
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return false
	}
	v, err := strconv.ParseFloat(string(bytes.TrimSpace(raw)), 64)
	if err != nil || math.IsInf(v, 0) {
		return false
	}
	*f.p = &v
	return true
}
func (f numField) present() bool { return *f.p != nil }
func (f numField) reset()        { *f.p = nil }
func (f numField) encode(dst []byte) ([]byte, error) {
	v := **f.p
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("unsupported number %v", v)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64), nil
}

type boolField struct{ p **bool }

func (f boolField) decode(raw []byte) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		v := true
		*f.p = &v
	case "false":
		v := false
		*f.p = &v
	default:
		return false
	}
	return true
}
func (f boolField) present() bool { return *f.p != nil }
func (f boolField) reset()        { *f.p = nil }
func (f boolField) encode(dst []byte) ([]byte, error) {
	return strconv.AppendBool(dst, **f.p), nil
}

// rawField keeps any JSON value verbatim.
type rawField struct{ p *json.RawMessage }

func (f rawField) decode(raw []byte) bool {
	*f.p = append(json.RawMessage(nil), bytes.TrimSpace(raw)...)
	return true
}
func (f rawField) present() bool { return len(*f.p) > 0 }
func (f rawField) reset()        { *f.p = nil }
func (f rawField) encode(dst []byte) ([]byte, error) {
	if !json.Valid(*f.p) {
		return nil, errors.New("invalid raw JSON")
	}
	return append(dst, *f.p...), nil
}

// ---- composite codecs ----

// objField holds an optional pointer to a model object.
type objField[T any, PT interface {
	*T
	rawDecoder
	appender
}] struct{ p **T }

func (f objField[T, PT]) decode(raw []byte) bool {
	v := new(T)
	if PT(v).decodeRaw(raw) != nil {
		return false
	}
	*f.p = v
	return true
}
func (f objField[T, PT]) present() bool { return *f.p != nil }
func (f objField[T, PT]) reset()        { *f.p = nil }
func (f objField[T, PT]) encode(dst []byte) ([]byte, error) {
	return PT(*f.p).appendJSON(dst)
}

// valField holds a value type that knows whether it is set (OneOrMany, IRIOr).
type valField[T any, PT interface {
	*T
	rawDecoder
	appender
	isZero() bool
}] struct{ p *T }

func (f valField[T, PT]) decode(raw []byte) bool {
	var v T
	if PT(&v).decodeRaw(raw) != nil {
		return false
	}
	*f.p = v
	return true
}
func (f valField[T, PT]) present() bool { return !PT(f.p).isZero() }
func (f valField[T, PT]) reset() {
	var zero T
	*f.p = zero
}
func (f valField[T, PT]) encode(dst []byte) ([]byte, error) {
	return PT(f.p).appendJSON(dst)
}

// Short constructors used by the props() lists.
func str(p *string) codec             { return strField{p} }
func num(p **float64) codec           { return numField{p} }
func boolean(p **bool) codec          { return boolField{p} }
func raw(p *json.RawMessage) codec    { return rawField{p} }
func strs(p *OneOrMany[string]) codec { return valField[OneOrMany[string], *OneOrMany[string]]{p} }

// ---- OneOrMany ----

// OneOrMany holds a property that JSON-LD lets be a single value or an array.
// It remembers which form it was read in so that it is written back the same
// way; a value built in Go with One is written as a single value when it holds
// exactly one item, and as an array otherwise.
type OneOrMany[T any] struct {
	Items []T
	// Array is true when the value is (or must be) written as a JSON array,
	// even with zero or one item.
	Array bool
}

// One returns a single-valued property.
func One[T any](v T) OneOrMany[T] { return OneOrMany[T]{Items: []T{v}} }

// Many returns an array-valued property (written as an array even if empty).
func Many[T any](v ...T) OneOrMany[T] { return OneOrMany[T]{Items: v, Array: true} }

// Len is the number of items.
func (o OneOrMany[T]) Len() int { return len(o.Items) }

// First returns the first item, if any.
func (o OneOrMany[T]) First() (T, bool) {
	if len(o.Items) == 0 {
		var zero T
		return zero, false
	}
	return o.Items[0], true
}

// Append adds items; a property holding more than one item becomes an array.
func (o *OneOrMany[T]) Append(v ...T) {
	o.Items = append(o.Items, v...)
	if len(o.Items) > 1 {
		o.Array = true
	}
}

// IsZero reports whether the property is absent (used by omitzero too).
func (o OneOrMany[T]) IsZero() bool { return len(o.Items) == 0 && !o.Array }
func (o *OneOrMany[T]) isZero() bool {
	return o.IsZero()
}

func (o OneOrMany[T]) MarshalJSON() ([]byte, error) { return o.appendJSON(nil) }

func (o OneOrMany[T]) appendJSON(dst []byte) ([]byte, error) {
	var err error
	if !o.Array && len(o.Items) == 1 {
		return appendItem(dst, &o.Items[0])
	}
	dst = append(dst, '[')
	for i := range o.Items {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = appendItem(dst, &o.Items[i]); err != nil {
			return nil, err
		}
	}
	return append(dst, ']'), nil
}

func appendItem[T any](dst []byte, v *T) ([]byte, error) {
	switch x := any(v).(type) {
	case *string:
		return AppendString(dst, *x), nil
	case appender:
		return x.appendJSON(dst)
	case *json.RawMessage:
		return append(dst, *x...), nil
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return append(dst, b...), nil
	}
}

// UnmarshalJSON reads a single value or an array of values.
func (o *OneOrMany[T]) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, o) }

func (o *OneOrMany[T]) decodeRaw(b []byte) error {
	b = trimLeft(b)
	if len(b) > 0 && b[0] == '[' {
		items := make([]T, 0, 4)
		var err error
		if e := eachItem(b, func(raw []byte) {
			if err != nil {
				return
			}
			var v T
			if err = decodeItem(raw, &v); err == nil {
				items = append(items, v)
			}
		}); e != nil {
			return e
		}
		if err != nil {
			return err
		}
		*o = OneOrMany[T]{Items: items, Array: true}
		return nil
	}
	var v T
	if err := decodeItem(b, &v); err != nil {
		return err
	}
	*o = OneOrMany[T]{Items: []T{v}}
	return nil
}

func decodeItem[T any](raw []byte, v *T) error {
	switch x := any(v).(type) {
	case *string:
		s, ok := decodeString(raw)
		if !ok {
			return errors.New("not a string")
		}
		*x = s
		return nil
	case rawDecoder:
		return x.decodeRaw(raw)
	case json.Unmarshaler:
		return x.UnmarshalJSON(raw)
	default:
		return json.Unmarshal(raw, v)
	}
}

// ---- IRIOr ----

// IRIOr holds a property that is either an IRI string or an embedded object,
// such as issuer (IRI or Profile) and image (IRI or Image).
type IRIOr[T any] struct {
	IRI   string
	Value *T
}

// IRI returns the string form.
func IRI[T any](iri string) IRIOr[T] { return IRIOr[T]{IRI: iri} }

// Embedded returns the object form.
func Embedded[T any](v *T) IRIOr[T] { return IRIOr[T]{Value: v} }

// IsZero reports whether the property is absent.
func (r IRIOr[T]) IsZero() bool  { return r.IRI == "" && r.Value == nil }
func (r *IRIOr[T]) isZero() bool { return r.IsZero() }

func (r IRIOr[T]) MarshalJSON() ([]byte, error) { return r.appendJSON(nil) }

func (r IRIOr[T]) appendJSON(dst []byte) ([]byte, error) {
	if r.Value != nil {
		return appendItem(dst, r.Value)
	}
	return AppendString(dst, r.IRI), nil
}

// UnmarshalJSON reads an IRI string or an object.
func (r *IRIOr[T]) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, r) }

func (r *IRIOr[T]) decodeRaw(b []byte) error {
	b = trimLeft(b)
	if len(b) > 0 && b[0] == '"' {
		s, ok := decodeString(b)
		if !ok || s == "" {
			return errors.New("empty or invalid IRI")
		}
		*r = IRIOr[T]{IRI: s}
		return nil
	}
	if len(b) == 0 || b[0] != '{' {
		return errNotObject
	}
	v := new(T)
	if err := decodeItem(b, v); err != nil {
		return err
	}
	*r = IRIOr[T]{Value: v}
	return nil
}

// ---- ContextEntry ----

// ContextEntry is one @context item: an IRI, or an inline context kept verbatim.
type ContextEntry struct {
	IRI    string
	Inline json.RawMessage
}

func (c ContextEntry) MarshalJSON() ([]byte, error) { return c.appendJSON(nil) }

func (c ContextEntry) appendJSON(dst []byte) ([]byte, error) {
	if len(c.Inline) > 0 {
		return append(dst, bytes.TrimSpace(c.Inline)...), nil
	}
	return AppendString(dst, c.IRI), nil
}

// UnmarshalJSON reads an IRI or keeps an inline context verbatim.
func (c *ContextEntry) UnmarshalJSON(b []byte) error { return unmarshalChecked(b, c) }

func (c *ContextEntry) decodeRaw(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		s, ok := decodeString(b)
		if ok {
			*c = ContextEntry{IRI: s}
			return nil
		}
	}
	if len(b) == 0 {
		return errors.New("empty @context entry")
	}
	*c = ContextEntry{Inline: append(json.RawMessage(nil), b...)}
	return nil
}

// ---- strings ----

func decodeString(raw []byte) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	simple := true
	for _, c := range inner {
		if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
			simple = false
			break
		}
	}
	if simple {
		return string(inner), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string, byte for byte as encoding/json
// writes it without HTML escaping (SetEscapeHTML(false)): quotes,
// backslashes and control characters escaped, invalid UTF-8 as U+FFFD (so a
// second round trip is a fixed point), U+2028 and U+2029 escaped. The
// issuing path's direct encoder uses it too.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func obj[T any, PT interface {
	*T
	rawDecoder
	appender
}](p **T) codec {
	return objField[T, PT]{p}
}

func val[T any, PT interface {
	*T
	rawDecoder
	appender
	isZero() bool
}](p *T) codec {
	return valField[T, PT]{p}
}
