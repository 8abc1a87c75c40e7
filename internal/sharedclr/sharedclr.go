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

	"github.com/santhosh-tekuri/jsonschema/v6"

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

// Schema compiles the official JSON Schema at rel (e.g.
// "schemas/ob_v3p0/ob_v3p0_profile_schema.json") and returns it with the
// schema document itself.
func Schema(tb testing.TB, rel string) (*jsonschema.Schema, map[string]any) {
	tb.Helper()
	f, err := os.Open(filepath.Join(Dir(tb), rel))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		tb.Fatalf("sharedclr: %s: %v", rel, err)
	}
	m, ok := doc.(map[string]any)
	id, _ := m["$id"].(string)
	if !ok || id == "" {
		tb.Fatalf("sharedclr: %s has no $id", rel)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(id, doc); err != nil {
		tb.Fatal(err)
	}
	s, err := c.Compile(id)
	if err != nil {
		tb.Fatalf("sharedclr: compile %s: %v", rel, err)
	}
	return s, m
}
