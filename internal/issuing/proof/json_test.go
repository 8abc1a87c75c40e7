package proof

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/sharedclr"
)

// sameAsStd checks that marshal writes exactly what encoding/json writes.
func sameAsStd(t *testing.T, name string, v any) {
	t.Helper()
	got, gotErr := marshal(v)
	want, wantErr := marshalStd(v)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%s: error %v, encoding/json's %v", name, gotErr, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\n got %s\nwant %s", name, got, want)
	}
}

// TestMarshalMatchesEncodingJSON: every JSON document of the shared CLR
// data (examples, schemas, contexts, test vectors), decoded as credentials
// are built (maps, slices, float64), and values chosen for the corners of
// string and number encoding, marshal to the same bytes as encoding/json.
func TestMarshalMatchesEncodingJSON(t *testing.T) {
	n := 0
	err := filepath.WalkDir(sharedclr.Dir(t), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") && !strings.HasSuffix(path, ".jsonld") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var v any
		if json.Unmarshal(data, &v) != nil {
			return nil // not JSON (some fixtures are deliberately broken)
		}
		sameAsStd(t, path, v)
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Fatalf("only %d JSON documents found under the shared CLR data", n)
	}

	var all strings.Builder
	for c := range 256 {
		all.WriteByte(byte(c))
		sameAsStd(t, "byte", string([]byte{byte(c)}))
	}
	type point struct {
		X int `json:"x"`
	}
	values := map[string]any{
		"every byte":  all.String(),
		"html":        `<script>alert("&")</script>`,
		"separators":  "a\u2028b\u2029c",
		"invalid":     "a\xffb\xc0\xafc\xed\xa0\x80",
		"unicode":     "Universität – 学位 ✓ \U0001F393",
		"control":     "\b\f\n\r\t\x00\x1f\x7f",
		"numbers":     []any{0.0, math.Copysign(0, -1), 1.0, -1.5, 1e-6, 1e-7, -1e-7, 1e20, 1e21, 1.2345678901234567e300, 5e-324, 123456789.0, 3, int64(-7)},
		"other ints":  []any{int8(1), uint16(2), uint64(math.MaxUint64), float32(0.1)},
		"json.Number": json.Number("12.50"),
		"raw":         json.RawMessage(`{ "b" : [1, 2], "a":"<&>" }`),
		"nil map":     map[string]any(nil),
		"nil slice":   []any(nil),
		"nil strings": []string(nil),
		"strings":     []string{"a", "\"", ""},
		"maps":        []map[string]any{{"z": 1, "a": nil}, nil},
		"time":        time.Date(2026, 11, 27, 23, 59, 0, 0, time.UTC),
		"struct":      point{X: 1},
		"typed map":   map[string]string{"b": "2", "a": "1"},
		"bytes":       []byte("bytes"),
		"bool":        []any{true, false},
		"\u2028key<>": "keys are escaped too",
		"":            "empty key",
	}
	for name, v := range values {
		sameAsStd(t, name, v)
	}
	sameAsStd(t, "everything at once", values)
	sameAsStd(t, "NaN", map[string]any{"x": math.NaN()})
	sameAsStd(t, "Inf", []any{math.Inf(1)})
}
