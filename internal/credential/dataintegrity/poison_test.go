package dataintegrity

import (
	"fmt"
)

// cliqueDocument is a "poison graph": n blank nodes, each linked to every
// other, so that all share one first-degree hash and RDFC-1.0's n-degree
// hashing explores their permutations.
func cliqueDocument(n int) map[string]any {
	nodes := make([]any, n)
	for i := 0; i < n; i++ {
		var links []any
		for j := 0; j < n; j++ {
			if i != j {
				links = append(links, map[string]any{"@id": fmt.Sprintf("_:b%d", j)})
			}
		}
		nodes[i] = map[string]any{"@id": fmt.Sprintf("_:b%d", i), "http://example.com/p": links}
	}
	return map[string]any{"@graph": nodes}
}
