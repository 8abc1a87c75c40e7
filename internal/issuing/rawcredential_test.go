package issuing

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/store"
)

// TestRawCredentialJWS: a stored JWS becomes the same JSON string as
// json.Marshal makes of it, with or without the shortcut.
func TestRawCredentialJWS(t *testing.T) {
	for _, jws := range []string{
		"eyJhbGciOiJFZERTQSJ9.eyJpZCI6InVybjp1dWlkOjEifQ.c2lnbmF0dXJl-_",
		"", "a", "a.b.c\n", `a"b`, `a\b`, "a<b>&c", "ünïcode", "a\u2028b", "a\x00b", "a b",
	} {
		got := rawCredential(store.FormatJWS, []byte(jws))
		want, _ := json.Marshal(jws)
		if !bytes.Equal(got, want) {
			t.Errorf("%q: got %s, want %s", jws, got, want)
		}
	}
	if got := rawCredential(store.FormatJSON, []byte(`{"a":1}`)); string(got) != `{"a":1}` {
		t.Errorf("JSON credential changed: %s", got)
	}
}
