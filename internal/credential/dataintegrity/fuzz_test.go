package dataintegrity

import (
	"context"
	"encoding/json"
	"runtime/debug"
	"testing"
	"time"

	"github.com/piprate/json-gold/ld"
)

// FuzzCanonicalize feeds arbitrary JSON to the canonicalizer with tight
// limits: it must return (output or a typed error) without panicking or
// hanging, and when it succeeds the output must be stable.
func FuzzCanonicalize(f *testing.F) {
	for _, rel := range []string{
		"test-vectors/clrv2p0/credential.json",
		"examples/ob30/simple.json",
	} {
		f.Add(readShared(f, rel))
	}
	clique, _ := json.Marshal(cliqueDocument(5))
	f.Add(clique)
	f.Add([]byte(`{"@context":{"p":{"@id":"http://e/p","@type":"@id"}},"@id":"_:a","p":{"@id":"_:b","p":{"@id":"_:a"}}}`))
	f.Add([]byte(`{"@context":["https://www.w3.org/ns/credentials/v2"],"type":"VerifiableCredential","name":"a\u0001"}`))
	f.Add([]byte(`{"@context":"https://www.w3.org/ns/credentials/v2","@type":"rel","id":"relative"}`))
	f.Add([]byte(`[]`))
	c := NewCanonicalizer(testLoader(f), Limits{MaxQuads: 5000, MaxBlankNodes: 500, MaxAmbiguousNeighbours: 5, MaxWork: 20_000, Timeout: 2 * time.Second})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 16<<10 {
			return
		}
		var doc map[string]any
		if json.Unmarshal(data, &doc) != nil {
			return
		}
		// A hang is a failure: crash the worker (with every goroutine's
		// stack) so that the fuzzer records the input.
		watchdog := time.AfterFunc(20*time.Second, func() {
			debug.SetTraceback("all")
			panic("FuzzCanonicalize: input took more than 20s")
		})
		defer watchdog.Stop()
		out, err := c.Canonicalize(context.Background(), doc)
		if err != nil {
			return
		}
		again, err := c.Canonicalize(context.Background(), doc)
		if err != nil || again != out {
			t.Fatalf("unstable canonical form: %v", err)
		}
		// Differential check: what we accept, json-gold canonicalises the
		// same way (except blank-node self-references, where json-gold
		// departs from RDFC-1.0's set semantics).
		ds, err := c.toRDF(doc)
		if err != nil {
			t.Fatalf("toRDF failed after Canonicalize succeeded: %v", err)
		}
		if hasBlankSelfReference(ds) {
			return
		}
		if want := baselineCanonicalize(t, doc); out != want {
			t.Fatalf("differs from json-gold:\n got: %s\nwant: %s", out, want)
		}
	})
}

func hasBlankSelfReference(ds *ld.RDFDataset) bool {
	for g, quads := range ds.Graphs {
		for _, q := range quads {
			s, sok := q.Subject.(ld.BlankNode)
			o, ook := q.Object.(ld.BlankNode)
			if sok && ook && s.Attribute == o.Attribute {
				return true
			}
			if (sok && s.Attribute == g) || (ook && o.Attribute == g) {
				return true
			}
		}
	}
	return false
}
