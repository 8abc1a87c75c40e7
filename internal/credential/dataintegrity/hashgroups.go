package dataintegrity

import (
	"crypto/sha256"
	"sort"
	"strings"

	"github.com/piprate/json-gold/ld"
)

// largestSharedHashGroup returns the size of the largest set of blank nodes
// with the same RDFC-1.0 first-degree hash input (their quads with the node
// itself as _:a and every other blank node as _:z). Only such groups reach
// the n-degree hashing whose cost grows factorially with their size.
func largestSharedHashGroup(ds *ld.RDFDataset) int {
	lines := map[string][]string{}
	add := func(q *ld.Quad, graph string) {
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
		}
	}
	for graph, triples := range ds.Graphs {
		for _, q := range triples {
			add(q, graph)
		}
	}
	groups := map[[32]byte]int{}
	largest := 0
	for _, ls := range lines {
		sort.Strings(ls)
		h := sha256.Sum256([]byte(strings.Join(ls, "")))
		groups[h]++
		if groups[h] > largest {
			largest = groups[h]
		}
	}
	return largest
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
