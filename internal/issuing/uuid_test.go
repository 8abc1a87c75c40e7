package issuing_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/issuing"
)

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestNewUUID: version 7 UUIDs (RFC 9562) carrying the current time, in
// increasing order across milliseconds, and never repeated.
func TestNewUUID(t *testing.T) {
	before := time.Now().UnixMilli()
	seen := map[string]bool{}
	prev := ""
	for i := range 20000 {
		u := issuing.NewUUID()
		if !uuidV7.MatchString(u) {
			t.Fatalf("%q is not a version 7 UUID", u)
		}
		if seen[u] {
			t.Fatalf("%q issued twice", u)
		}
		seen[u] = true
		ms, err := strconv.ParseInt(strings.ReplaceAll(u[:13], "-", ""), 16, 64)
		if err != nil || ms < before || ms > time.Now().UnixMilli() {
			t.Fatalf("%q carries the time %d, not between %d and now", u, ms, before)
		}
		// Ids of different milliseconds sort by time.
		if prev != "" && prev[:13] != u[:13] && prev > u {
			t.Fatalf("id %d (%s) sorts before the previous one (%s)", i, u, prev)
		}
		prev = u
	}
}
