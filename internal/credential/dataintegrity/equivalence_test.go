package dataintegrity

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// Our canonicalization (cached contexts + our RDFC-1.0) must give exactly
// json-gold's default output on every document where both apply.
func TestCanonicalMatchesJSONGold(t *testing.T) {
	c := NewCanonicalizer(testLoader(t), DefaultLimits)
	docs := map[string]map[string]any{}
	for _, f := range []string{
		"examples/ob30/simple.json",
		"examples/ob30/simple-did-key-method.json",
		"examples/ob30/simple-did-web-method.json",
		"examples/ob30/simple-eddsa-2022.json",
		"examples/ob30/simple-err-expired.json",
		"examples/ob30/simple-noproof.json",
		"examples/ob30/credential-status-revoked.json",
		"examples/ob30/bit-string-list/credential-status-revoked.json",
		"examples/clr20/simple.json",
		"examples/clr20/simple_v1.json",
		"test-vectors/clrv2p0/credential.json",
		"test-vectors/clrv2p0/signed-credential.json",
	} {
		docs[f] = readJSON(t, f)
	}
	for _, n := range []int{1, 10, 40} {
		docs[fmt.Sprintf("CLR with %d nested", n)] = makeCLR(t, n)
	}
	// Shapes the context walker must leave to json-gold: a nested
	// credential with an inline context, a node with its own inline
	// context holding a property-scoped context, and a type-scoped
	// context that propagates.
	inline := makeCLR(t, 2)
	vc := inline["credentialSubject"].(map[string]any)["verifiableCredential"].([]any)[1].(map[string]any)
	vc["@context"] = append(vc["@context"].([]any), map[string]any{"extraNote": "https://example.com/vocab#extraNote"})
	vc["extraNote"] = "inline-defined"
	docs["nested credential with inline context"] = inline
	scoped := makeCLR(t, 1)
	scoped["credentialSubject"].(map[string]any)["https://example.com/vocab#holder"] = map[string]any{
		"@context": map[string]any{
			"Box":  map[string]any{"@id": "https://example.com/vocab#Box", "@context": map[string]any{"@propagate": true, "label": "https://example.com/vocab#label"}},
			"item": map[string]any{"@id": "https://example.com/vocab#item", "@context": map[string]any{"size": "https://example.com/vocab#size"}},
		},
		"type": "Box",
		"item": map[string]any{"size": "L", "label": "inner", "name": "x"},
	}
	docs["inline property- and type-scoped contexts"] = scoped
	for n := 3; n <= 5; n++ {
		docs[fmt.Sprintf("clique %d", n)] = cliqueDocument(n)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 60; i++ {
		docs[fmt.Sprintf("random graph %d", i)] = randomGraph(rng)
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			want := baselineCanonicalize(t, doc)
			// Twice: the second run uses the cached contexts.
			for run := 0; run < 2; run++ {
				got, err := c.Canonicalize(context.Background(), doc)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Fatalf("run %d differs from json-gold:\n got: %s\nwant: %s", run, got, want)
				}
			}
		})
	}
}

// randomGraph is a small graph of blank nodes (no self-loops, where
// json-gold departs from the specification's set semantics) with few
// distinct predicates and literals, so that many nodes look alike.
func randomGraph(rng *rand.Rand) map[string]any {
	n := 2 + rng.IntN(7)
	nodes := make([]any, n)
	for i := 0; i < n; i++ {
		node := map[string]any{"@id": fmt.Sprintf("_:n%d", i)}
		for e := 0; e < rng.IntN(3)+1; e++ {
			j := rng.IntN(n)
			if j == i {
				continue
			}
			p := fmt.Sprintf("http://example.com/p%d", rng.IntN(2))
			links, _ := node[p].([]any)
			node[p] = append(links, map[string]any{"@id": fmt.Sprintf("_:n%d", j)})
		}
		if rng.IntN(2) == 0 {
			node["http://example.com/v"] = fmt.Sprintf("v%d", rng.IntN(2))
		}
		nodes[i] = node
	}
	if rng.IntN(3) == 0 {
		return map[string]any{"@id": "_:g", "http://example.com/in": map[string]any{"@graph": nodes}}
	}
	return map[string]any{"@graph": nodes}
}
