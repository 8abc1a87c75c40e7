package dataintegrity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/piprate/json-gold/ld"
)

// This file implements RDF Dataset Canonicalization (RDFC-1.0, formerly
// URDNA2015) over json-gold's RDF dataset. json-gold's own implementation
// gives the same output (the tests compare both on every document they
// use) but has no work limit and cannot be interrupted: a "poison" graph
// runs for ever in a goroutine nobody can stop. This one counts its work,
// watches the context, and avoids re-serialising strings.

// term kinds of a quad component.
const (
	kindIRI = iota
	kindBlank
	kindLiteral
)

// cquad is a quad with its IRIs and literal already in N-Quads form, so that
// only blank node labels vary between serialisations.
type cquad struct {
	s, p, o, g          string // N-Quads text, or the blank node label
	sKind, oKind, gKind int    // gKind is kindIRI with g=="" for the default graph
}

func (q *cquad) serialize(b *strings.Builder, label func(string) string) {
	if q.sKind == kindBlank {
		b.WriteString(label(q.s))
	} else {
		b.WriteString(q.s)
	}
	b.WriteByte(' ')
	b.WriteString(q.p)
	b.WriteByte(' ')
	if q.oKind == kindBlank {
		b.WriteString(label(q.o))
	} else {
		b.WriteString(q.o)
	}
	if q.g != "" {
		b.WriteByte(' ')
		if q.gKind == kindBlank {
			b.WriteString(label(q.g))
		} else {
			b.WriteString(q.g)
		}
	}
	b.WriteString(" .\n")
}

// nquadsEscape escapes like json-gold's N-Quads writer; the characters it
// and RDFC-1.0 escape differently are refused earlier (checkLiteral).
var nquadsEscape = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)

func iriText(v string) string { return "<" + nquadsEscape.Replace(v) + ">" }

func literalText(l ld.Literal) string {
	s := `"` + nquadsEscape.Replace(l.Value) + `"`
	switch l.Datatype {
	case ld.RDFLangString:
		return s + "@" + l.Language
	case ld.XSDString:
		return s
	}
	return s + "^^" + iriText(l.Datatype)
}

// issuer is RDFC-1.0's identifier issuer.
type issuer struct {
	prefix   string
	counter  int
	existing map[string]string
	order    []string
}

func newIssuer(prefix string) *issuer {
	return &issuer{prefix: prefix, existing: map[string]string{}}
}

func (is *issuer) clone() *issuer {
	c := &issuer{prefix: is.prefix, counter: is.counter, existing: make(map[string]string, len(is.existing)), order: append([]string(nil), is.order...)}
	for k, v := range is.existing {
		c.existing[k] = v
	}
	return c
}

func (is *issuer) issue(id string) string {
	if v, ok := is.existing[id]; ok {
		return v
	}
	v := is.prefix + strconv.Itoa(is.counter)
	is.counter++
	is.existing[id] = v
	is.order = append(is.order, id)
	return v
}

func (is *issuer) has(id string) bool { _, ok := is.existing[id]; return ok }

type canonState struct {
	ctx       context.Context
	quads     []*cquad
	bnodes    map[string][]*cquad
	firstHash map[string]string
	canonical *issuer
	budget    int // remaining units of n-degree work
	steps     int
}

// errWorkLimit is returned (wrapped in ErrTooComplex) when the budget runs out.
var errWorkLimit = fmt.Errorf("%w: RDFC-1.0 work limit reached", ErrTooComplex)

// rdfc canonicalises ds. budget bounds the n-degree hashing work (calls and
// permutations explored); ctx is checked as it goes.
func rdfc(ctx context.Context, ds *ld.RDFDataset, budget int) (string, error) {
	st := &canonState{ctx: ctx, bnodes: map[string][]*cquad{}, firstHash: map[string]string{}, canonical: newIssuer("_:c14n"), budget: budget}
	for graph, triples := range ds.Graphs {
		g, gKind := "", kindIRI
		if graph != "@default" {
			if strings.HasPrefix(graph, "_:") {
				g, gKind = graph, kindBlank
			} else {
				g = iriText(graph)
			}
		}
		for _, t := range triples {
			q := &cquad{g: g, gKind: gKind, p: iriText(t.Predicate.GetValue())}
			switch s := t.Subject.(type) {
			case ld.BlankNode:
				q.s, q.sKind = s.Attribute, kindBlank
			default:
				q.s = iriText(s.GetValue())
			}
			switch o := t.Object.(type) {
			case ld.BlankNode:
				q.o, q.oKind = o.Attribute, kindBlank
			case ld.Literal:
				q.o, q.oKind = literalText(o), kindLiteral
			default:
				q.o = iriText(o.GetValue())
			}
			st.quads = append(st.quads, q)
			if q.sKind == kindBlank {
				st.bnodes[q.s] = append(st.bnodes[q.s], q)
			}
			if q.oKind == kindBlank && q.o != q.s {
				st.bnodes[q.o] = append(st.bnodes[q.o], q)
			}
			if q.gKind == kindBlank && q.g != q.s && q.g != q.o {
				st.bnodes[q.g] = append(st.bnodes[q.g], q)
			}
		}
	}

	// Simple issuing: blank nodes with a unique first-degree hash, repeated
	// until nothing changes (as the algorithm specifies).
	nonNormalized := make(map[string]bool, len(st.bnodes))
	for id := range st.bnodes {
		nonNormalized[id] = true
	}
	var hashToBlank map[string][]string
	for simple := true; simple; {
		simple = false
		hashToBlank = map[string][]string{}
		for id := range nonNormalized {
			h := st.hashFirstDegree(id)
			hashToBlank[h] = append(hashToBlank[h], id)
		}
		for _, h := range sortedKeys(hashToBlank) {
			ids := hashToBlank[h]
			if len(ids) > 1 {
				continue
			}
			st.canonical.issue(ids[0])
			delete(nonNormalized, ids[0])
			delete(hashToBlank, h)
			simple = true
		}
	}

	// N-degree issuing for the remaining groups.
	for _, h := range sortedKeys(hashToBlank) {
		type result struct {
			hash   string
			issuer *issuer
		}
		var results []result
		ids := append([]string(nil), hashToBlank[h]...)
		sort.Strings(ids)
		for _, id := range ids {
			if st.canonical.has(id) {
				continue
			}
			tmp := newIssuer("_:b")
			tmp.issue(id)
			hash, is, err := st.hashNDegree(id, tmp)
			if err != nil {
				return "", err
			}
			results = append(results, result{hash, is})
		}
		sort.SliceStable(results, func(i, j int) bool { return results[i].hash < results[j].hash })
		for _, r := range results {
			for _, existing := range r.issuer.order {
				st.canonical.issue(existing)
			}
		}
	}

	lines := make([]string, len(st.quads))
	label := func(id string) string { return st.canonical.issue(id) }
	var b strings.Builder
	for i, q := range st.quads {
		b.Reset()
		q.serialize(&b, label)
		lines[i] = b.String()
	}
	sort.Strings(lines)
	// RDF datasets are sets: json-gold's dataset never holds duplicates.
	return strings.Join(lines, ""), nil
}

func (st *canonState) hashFirstDegree(id string) string {
	if h, ok := st.firstHash[id]; ok {
		return h
	}
	quads := st.bnodes[id]
	lines := make([]string, len(quads))
	label := func(b string) string {
		if b == id {
			return "_:a"
		}
		return "_:z"
	}
	var b strings.Builder
	for i, q := range quads {
		b.Reset()
		q.serialize(&b, label)
		lines[i] = b.String()
	}
	sort.Strings(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
	}
	sum := hex.EncodeToString(h.Sum(nil))
	st.firstHash[id] = sum
	return sum
}

func (st *canonState) hashRelated(related string, q *cquad, is *issuer, position string) string {
	var id string
	if v, ok := st.canonical.existing[related]; ok {
		id = v
	} else if v, ok := is.existing[related]; ok {
		id = v
	} else {
		id = st.hashFirstDegree(related)
	}
	h := sha256.New()
	h.Write([]byte(position))
	if position != "g" {
		h.Write([]byte(q.p))
	}
	h.Write([]byte(id))
	return hex.EncodeToString(h.Sum(nil))
}

func (st *canonState) spend() error {
	st.budget--
	if st.budget < 0 {
		return errWorkLimit
	}
	st.steps++
	if st.steps&255 == 0 {
		if err := st.ctx.Err(); err != nil {
			return fmt.Errorf("%w: %v", ErrTimeout, err)
		}
	}
	return nil
}

func (st *canonState) hashNDegree(id string, is *issuer) (string, *issuer, error) {
	if err := st.spend(); err != nil {
		return "", nil, err
	}
	hashToRelated := map[string][]string{}
	for _, q := range st.bnodes[id] {
		if q.sKind == kindBlank && q.s != id {
			h := st.hashRelated(q.s, q, is, "s")
			hashToRelated[h] = append(hashToRelated[h], q.s)
		}
		if q.oKind == kindBlank && q.o != id {
			h := st.hashRelated(q.o, q, is, "o")
			hashToRelated[h] = append(hashToRelated[h], q.o)
		}
		if q.gKind == kindBlank && q.g != id {
			h := st.hashRelated(q.g, q, is, "g")
			hashToRelated[h] = append(hashToRelated[h], q.g)
		}
	}
	md := sha256.New()
	for _, rh := range sortedKeys(hashToRelated) {
		md.Write([]byte(rh))
		chosenPath := ""
		var chosenIssuer *issuer
		perm := newPermutator(hashToRelated[rh])
		for perm.hasNext() {
			if err := st.spend(); err != nil {
				return "", nil, err
			}
			permutation := perm.next()
			isCopy := is.clone()
			path := ""
			var recursion []string
			skip := false
			for _, related := range permutation {
				if v, ok := st.canonical.existing[related]; ok {
					path += v
				} else {
					if !isCopy.has(related) {
						recursion = append(recursion, related)
					}
					path += isCopy.issue(related)
				}
				if chosenPath != "" && len(path) >= len(chosenPath) && path > chosenPath {
					skip = true
					break
				}
			}
			if skip {
				continue
			}
			for _, related := range recursion {
				rhash, ris, err := st.hashNDegree(related, isCopy)
				if err != nil {
					return "", nil, err
				}
				path += isCopy.issue(related)
				path += "<" + rhash + ">"
				isCopy = ris
				if chosenPath != "" && len(path) >= len(chosenPath) && path > chosenPath {
					skip = true
					break
				}
			}
			if skip {
				continue
			}
			if chosenPath == "" || path < chosenPath {
				chosenPath, chosenIssuer = path, isCopy
			}
		}
		md.Write([]byte(chosenPath))
		is = chosenIssuer
	}
	return hex.EncodeToString(md.Sum(nil)), is, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// permutator enumerates permutations with the Steinhaus-Johnson-Trotter
// algorithm in the order json-gold does, starting from the sorted list.
type permutator struct {
	list []string
	done bool
	left map[string]bool
}

func newPermutator(list []string) *permutator {
	p := &permutator{list: append([]string(nil), list...), left: make(map[string]bool, len(list))}
	sort.Strings(p.list)
	for _, e := range p.list {
		p.left[e] = true
	}
	return p
}

func (p *permutator) hasNext() bool { return !p.done }

func (p *permutator) next() []string {
	rval := append([]string(nil), p.list...)
	k, pos, n := "", 0, len(p.list)
	for i := 0; i < n; i++ {
		e := p.list[i]
		l := p.left[e]
		if (k == "" || e > k) && ((l && i > 0 && e > p.list[i-1]) || (!l && i < n-1 && e > p.list[i+1])) {
			k, pos = e, i
		}
	}
	if k == "" {
		p.done = true
		return rval
	}
	swap := pos + 1
	if p.left[k] {
		swap = pos - 1
	}
	p.list[pos] = p.list[swap]
	p.list[swap] = k
	for i := 0; i < n; i++ {
		if p.list[i] > k {
			p.left[p.list[i]] = !p.left[p.list[i]]
		}
	}
	return rval
}
