package clrapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestJWSSafe checks the word-at-a-time jwsSafe against its byte-by-byte
// definition with every byte value at every position of strings long
// enough to use both the word loop and the tail loop, and checks the
// property the shortcut relies on: for an accepted string, quoting it is
// what json.Marshal of the trimmed string gives.
func TestJWSSafe(t *testing.T) {
	ref := func(b []byte) bool {
		for _, c := range b {
			if !jsonVerbatim(c) {
				return false
			}
		}
		return len(b) > 0
	}
	if jwsSafe(nil) || jwsSafe([]byte{}) {
		t.Fatal("an empty JWS must not be accepted")
	}
	jws := []byte("eyJhbGciOiJFZERTQSJ9.eyJpZCI6InVybjp1dWlkOjEifQ.c2lnbmF0dXJlLWJ5dGVz_-")
	if !jwsSafe(jws) {
		t.Fatal("a compact JWS must be accepted")
	}
	accepted := 0
	for _, n := range []int{1, 7, 8, 9, 16, 23, 24, 31} {
		base := bytes.Repeat([]byte("a"), n)
		for pos := range n {
			for c := range 256 {
				b := bytes.Clone(base)
				b[pos] = byte(c)
				got, want := jwsSafe(b), ref(b)
				if got != want {
					t.Fatalf("jwsSafe(%q) = %v, want %v", b, got, want)
				}
				if got {
					accepted++
					quoted := `"` + string(b) + `"`
					m, _ := json.Marshal(string(bytes.TrimSpace(b)))
					if string(m) != quoted {
						t.Fatalf("accepted %q but json.Marshal gives %s", b, m)
					}
				}
			}
		}
	}
	if accepted == 0 {
		t.Fatal("nothing accepted")
	}
	// Two unsafe bytes in one word, and a trailing newline as stored by a
	// careless writer.
	for _, s := range []string{strings.Repeat("A", 5) + "\"\\" + "A", "abc.def.ghi\n", "abcdefgh\x00bcdefgh", "abcdefgh\xc3\xa9cdefgh"} {
		if jwsSafe([]byte(s)) {
			t.Fatalf("jwsSafe(%q) = true", s)
		}
	}
}
