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
)

// Dir returns the reference data directory, failing the test when it is
// missing (a missing directory must not make tests pass vacuously).
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("sharedclr: go.mod not found above the test directory")
		}
		dir = parent
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
