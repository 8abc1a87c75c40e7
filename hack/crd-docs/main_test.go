package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReferenceCoversTheCRDs renders the committed CRDs and checks that
// fields from every level of nesting, defaults and CEL rule messages are in
// the reference.
func TestReferenceCoversTheCRDs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ref.md")
	if err := run(filepath.Join("..", "..", "config", "crd", "bases"), filepath.Join("..", "..", "api", "v1alpha1", "conditions.go"), out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, want := range []string{
		"## Issuer", "## Framework", "## CLRProvider",
		"| `spec.profile.name` | string | yes |",
		"| `spec.signing.algorithm` | string |  | `\"Ed25519\"` | one of Ed25519, ECDSA-P256, ECDSA-P384, RSA-2048, RSA-3072 |",
		"`spec.competencies[].alignments[].targetUrl`",
		"`spec.storage.sqlite.size`",
		"spec.storage: set exactly one of sqlite or postgres",
		"rule on update",
		"short names: `clrissuer`",
		"| `KeyReady` | (Issuer) is True when the current signing key exists",
		"| `FrameworkNotShared` |",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("reference lacks %q", want)
		}
	}
	// Kubernetes' own types are referenced, not expanded.
	if strings.Contains(doc, "`spec.affinity.nodeAffinity") {
		t.Errorf("reference expands spec.affinity")
	}
	if err := run(t.TempDir(), filepath.Join("..", "..", "api", "v1alpha1", "conditions.go"), out); err == nil {
		t.Errorf("an empty CRD directory is not an error")
	}
}
