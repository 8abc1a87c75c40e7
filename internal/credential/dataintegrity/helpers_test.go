package dataintegrity

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/piprate/json-gold/ld"

	"github.com/learnerrecords/clr-operator/internal/credential/jsonld"
	"github.com/learnerrecords/clr-operator/internal/sharedclr"
)

// sharedDir returns ../shared/clr relative to the repository root.
func sharedDir(tb testing.TB) string {
	tb.Helper()
	return sharedclr.Dir(tb)
}

func readShared(tb testing.TB, rel string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(tb), rel))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func readJSON(tb testing.TB, rel string) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(readShared(tb, rel), &m); err != nil {
		tb.Fatalf("%s: %v", rel, err)
	}
	return m
}

func testLoader(tb testing.TB) *jsonld.Loader {
	return jsonld.NewLoader(filepath.Join(sharedDir(tb), "contexts"))
}

func deepCopy(tb testing.TB, v map[string]any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		tb.Fatal(err)
	}
	return out
}

// makeCLR builds a ClrCredential with n nested AchievementCredentials from the
// 1EdTech CLR test vector: each nested credential is the vector's signed one
// with its own id and achievement id, so that no two are identical.
func makeCLR(tb testing.TB, n int) map[string]any {
	tb.Helper()
	base := readJSON(tb, "test-vectors/clrv2p0/credential.json")
	subject := base["credentialSubject"].(map[string]any)
	template := subject["verifiableCredential"].([]any)[0].(map[string]any)
	vcs := make([]any, 0, n)
	achievements := make([]any, 0, n)
	for i := 0; i < n; i++ {
		vc := deepCopy(tb, template)
		vc["id"] = fmt.Sprintf("urn:uuid:91537dba-56cb-11ec-bf63-%012d", i)
		ach := vc["credentialSubject"].(map[string]any)["achievement"].(map[string]any)
		ach["id"] = fmt.Sprintf("urn:uuid:a7467ef6-56cb-11ec-bf63-%012d", i)
		ach["name"] = fmt.Sprintf("Achievement %d", i)
		// Distinct proofs, as real signatures would be; identical proof
		// graphs would make the blank nodes indistinguishable.
		proof := vc["proof"].([]any)[0].(map[string]any)
		proof["created"] = fmt.Sprintf("2010-01-01T19:%02d:%02dZ", i/60, i%60)
		vcs = append(vcs, vc)
		achievements = append(achievements, deepCopy(tb, ach))
	}
	subject["verifiableCredential"] = vcs
	subject["achievement"] = achievements
	return base
}

// fileLoader is the benchmark baseline: json-gold's default processing
// re-reading and re-parsing each context file on every use.
type fileLoader struct{ dir string }

func (f fileLoader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	for _, p := range jsonld.StandardPins {
		if p.URL == u {
			b, err := os.ReadFile(filepath.Join(f.dir, p.File))
			if err != nil {
				return nil, err
			}
			var doc any
			if err := json.Unmarshal(b, &doc); err != nil {
				return nil, err
			}
			return &ld.RemoteDocument{DocumentURL: u, Document: doc}, nil
		}
	}
	return nil, fmt.Errorf("unknown context %s", u)
}

// baselineCanonicalize is plain json-gold: Normalize with URDNA2015.
func baselineCanonicalize(tb testing.TB, doc map[string]any) string {
	opts := ld.NewJsonLdOptions("")
	opts.Algorithm = ld.AlgorithmURDNA2015
	opts.Format = "application/n-quads"
	opts.DocumentLoader = fileLoader{dir: filepath.Join(sharedDir(tb), "contexts")}
	out, err := ld.NewJsonLdProcessor().Normalize(doc, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return out.(string)
}
