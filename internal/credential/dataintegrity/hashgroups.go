package dataintegrity

import (
	"crypto/sha256"
	"sort"
	"strings"

	"github.com/piprate/json-gold/ld"
)

// maxAmbiguousNeighbours measures how hard RDFC-1.0's n-degree hashing will
// be. Only blank nodes whose first-degree hash (their quads with the node
// itself as _:a and every other blank node as _:z) is shared reach it, and
// its cost grows with the factorial of the number of their blank-node
// neighbours that are themselves ambiguous and share a hash: a clique of n
// indistinguishable nodes costs about (n-1)! per node, while a parent with
// many identical anonymous children (a star) stays cheap. It returns, over
// every ambiguous blank node, the largest number of such neighbours sharing
// one hash.
func maxAmbiguousNeighbours(ds *ld.RDFDataset) int {
	lines := map[string][]string{}
	neighbours := map[string]map[string]bool{}
	for graph, triples := range ds.Graphs {
		for _, q := range triples {
			var bnodes []string
			for _, n := range []ld.Node{q.Subject, q.Object} {
				if b, ok := n.(ld.BlankNode); ok {
					bnodes = append(bnodes, b.Attribute)
				}
			}
			if strings.HasPrefix(graph, "_:") {
				bnodes = append(bnodes, graph)
			}
			for _, self := range bnodes {
				lines[self] = append(lines[self], quadLine(q, graph, self))
				for _, other := range bnodes {
					if other != self {
						if neighbours[self] == nil {
							neighbours[self] = map[string]bool{}
						}
						neighbours[self][other] = true
					}
				}
			}
		}
	}
	hashOf := make(map[string][32]byte, len(lines))
	groupSize := map[[32]byte]int{}
	for b, ls := range lines {
		sort.Strings(ls)
		h := sha256.Sum256([]byte(strings.Join(ls, "")))
		hashOf[b] = h
		groupSize[h]++
	}
	worst := 0
	for b, ns := range neighbours {
		if groupSize[hashOf[b]] < 2 {
			continue
		}
		counts := map[[32]byte]int{}
		for n := range ns {
			h := hashOf[n]
			if groupSize[h] < 2 {
				continue
			}
			counts[h]++
			if counts[h] > worst {
				worst = counts[h]
			}
		}
	}
	return worst
}

func quadLine(q *ld.Quad, graph, self string) string {
	term := func(n ld.Node) string {
		switch v := n.(type) {
		case ld.BlankNode:
			if v.Attribute == self {
				return "_:a"
			}
			return "_:z"
		case ld.IRI:
			return "<" + v.Value + ">"
		case ld.Literal:
			return "\"" + v.Value + "\"^^<" + v.Datatype + ">@" + v.Language
		}
		return ""
	}
	g := ""
	if strings.HasPrefix(graph, "_:") {
		if graph == self {
			g = "_:a"
		} else {
			g = "_:z"
		}
	} else if graph != "@default" {
		g = "<" + graph + ">"
	}
	return term(q.Subject) + " " + term(q.Predicate) + " " + term(q.Object) + " " + g + "\n"
}
