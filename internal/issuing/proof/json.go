package proof

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/learnerrecords/clr-operator/internal/credential/model"
)

// marshal writes JSON without HTML escaping, so that stored credentials read
// naturally ("<" stays "<"); the bytes are what GET returns.
//
// The credentials this host builds are trees of map[string]any, []any,
// strings, numbers and booleans. encoding/json walks those by reflection
// and sorts every map's keys through reflect.Value pairs, which was a fifth
// of the CPU time of issuance (docs/benchmarks.md); appendJSON writes the
// same bytes directly, and hands anything else (structs, json.Marshalers,
// odd numbers) to encoding/json, configured the same way.
// TestMarshalMatchesEncodingJSON holds the two equal.
func marshal(v any) ([]byte, error) {
	b, err := appendJSON(make([]byte, 0, 4<<10), v)
	if err != nil {
		return nil, fmt.Errorf("marshal credential: %w", err)
	}
	return b, nil
}

// marshalStd is marshal through encoding/json alone (the reference).
func marshalStd(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("marshal credential: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// Marshal is the JSON encoding used for everything this host signs and stores.
func Marshal(v any) ([]byte, error) { return marshal(v) }

// appendJSON appends v as encoding/json (HTML escaping off) would write it.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return model.AppendString(b, v), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			break // encoding/json's error
		}
		return appendFloat(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case map[string]any:
		if v == nil {
			return append(b, "null"...), nil
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = model.AppendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendJSON(b, v[k]); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	case []any:
		return appendArray(b, v)
	case []map[string]any:
		return appendArray(b, v)
	case []string:
		return appendArray(b, v)
	}
	std, err := marshalStd(v)
	if err != nil {
		return b, err
	}
	return append(b, std...), nil
}

// appendArray appends a slice as a JSON array (null when nil, as
// encoding/json writes it).
func appendArray[E any](b []byte, v []E) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i, e := range v {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendJSON(b, e); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

// appendFloat is encoding/json's float64 encoding.
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
