// Package sharedclr locates, for tests, the official CLR 2.0 / Open Badges
// 3.0 reference data (schemas, JSON-LD contexts, examples, signing test
// vectors). It lives beside the repository at ../shared/clr, relative to the
// directory holding go.mod, on developers' machines and in CI alike, and is
// never copied into the repository.
package sharedclr

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/repo"
)

// Dir returns the reference data directory, failing the test when it is
// missing (a missing directory must not make tests pass vacuously).
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, err := repo.Root()
	if err != nil {
		tb.Fatalf("sharedclr: %v", err)
	}
	shared := filepath.Join(dir, "..", "shared", "clr")
	if _, err := os.Stat(shared); err != nil {
		tb.Fatalf("sharedclr: the CLR reference data is missing: %v", err)
	}
	return shared
}

// ContextsDir returns the directory of the pinned JSON-LD contexts.
func ContextsDir(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(Dir(tb), "contexts")
}
