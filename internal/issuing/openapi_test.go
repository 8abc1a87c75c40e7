package issuing_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/issuing"
	"github.com/learnerrecords/clr-operator/internal/issuing/issuingtest"
)

// recorder collects what DocumentAPI adds.
type recorder struct {
	paths   map[string]map[string]any
	schemas map[string]any
}

func (r *recorder) AddPath(p string, item map[string]any) { r.paths[p] = item }
func (r *recorder) AddSchema(n string, s any)             { r.schemas[n] = s }
func (r *recorder) AddTag(string, string)                 {}

// TestDocumentedPathsAreServed: every documented operation is routed by the
// server the harness assembles (the mux answers something other than 404
// or 405 for it), and every $ref names a schema that is documented here or
// by the CLR API (Imsx_StatusInfo).
func TestDocumentedPathsAreServed(t *testing.T) {
	env := issuingtest.Start(t, issuingtest.Options{})
	rec := &recorder{paths: map[string]map[string]any{}, schemas: map[string]any{}}
	issuing.DocumentAPI(rec, "")
	if len(rec.paths) < 10 {
		t.Fatalf("only %d paths documented", len(rec.paths))
	}
	for p, item := range rec.paths {
		for method := range item {
			url := env.URL + strings.NewReplacer("{learner}", "someone", "{id}", "00000000-0000-4000-8000-000000000000",
				"{token}", strings.Repeat("A", 43)).Replace(p)
			req, _ := http.NewRequest(strings.ToUpper(method), url, strings.NewReader("{}"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			// Unauthenticated: the route exists if it asks for a token.
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s: %d, want 401 (route missing?)", method, p, resp.StatusCode)
			}
		}
	}
	refs := map[string]bool{}
	collectRefs(rec.paths, refs)
	collectRefs(rec.schemas, refs)
	for r := range refs {
		name := strings.TrimPrefix(r, "#/components/schemas/")
		if _, ok := rec.schemas[name]; !ok && name != "Imsx_StatusInfo" {
			t.Errorf("undocumented schema %s", r)
		}
	}
}

func collectRefs(v any, out map[string]bool) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if k == "$ref" {
				out[x.(string)] = true
			}
			collectRefs(x, out)
		}
	case map[string]map[string]any:
		for _, x := range t {
			collectRefs(x, out)
		}
	case []any:
		for _, x := range t {
			collectRefs(x, out)
		}
	}
}
