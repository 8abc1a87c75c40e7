package dataintegrity

import (
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/piprate/json-gold/ld"
)

// contextCache memoises json-gold's processing of @context values.
//
// json-gold processes every @context it meets from scratch: the four remote
// contexts of a CLR (~40 KB, several hundred terms) for the document, the
// proof configuration, and again for every nested credential. Its context
// processing accepts an already processed *ld.Context in place of a @context
// value and then uses it as the active context as is. That is only correct
// when the processed context was computed from the same active context json-
// gold would have at that point, so substitute walks the document the way
// JSON-LD 1.1 expansion does and tracks that active context, conservatively:
//
//   - at the root the active context is the initial (empty) one;
//   - a node's embedded @context made only of pinned context URLs is replaced
//     by the cached result of processing it on the node's active context;
//   - type-scoped contexts (processed in lexicographic type order) apply to
//     the node's own properties and are reverted for child nodes (they do not
//     propagate), so a child node starts from its parent's active context;
//   - it stops descending (leaving json-gold to do all the work below) at
//     anything else: inline contexts, property-scoped contexts, @propagate,
//     containers other than @set, keywords such as @graph, @nest, @reverse,
//     @included, and @json literals.
//
// Each cached context is identified by the path of context lists that
// produced it, so the same lists under different parents never share an
// entry. Cached contexts are read-only for json-gold's expansion (it copies
// a context before changing it), which makes them safe to share.
type contextCache struct {
	mu      sync.RWMutex
	entries map[string]*ld.Context
}

// maxCachedContexts bounds the cache; a document with ever-new context
// paths only costs what json-gold would have spent anyway.
const maxCachedContexts = 4096

func newContextCache() *contextCache {
	return &contextCache{entries: make(map[string]*ld.Context)}
}

func (cc *contextCache) get(key string, compute func() (*ld.Context, error)) (*ld.Context, error) {
	cc.mu.RLock()
	c, ok := cc.entries[key]
	cc.mu.RUnlock()
	if ok {
		return c, nil
	}
	c, err := compute()
	if err != nil {
		return nil, err
	}
	cc.mu.Lock()
	if len(cc.entries) >= maxCachedContexts {
		cc.entries = make(map[string]*ld.Context)
	}
	cc.entries[key] = c
	cc.mu.Unlock()
	return c, nil
}

// substitute returns a copy of doc in which embedded @context values are
// replaced by processed contexts where that is provably equivalent. Only
// the maps along the rewritten paths are copied; doc is not modified.
func (cc *contextCache) substitute(doc map[string]any, opts *ld.JsonLdOptions, w walker) (any, error) {
	initial := ld.NewContext(nil, opts)
	w.cc = cc
	out, err := w.node(doc, initial, "")
	if err != nil {
		return nil, err
	}
	return out, nil
}

type walker struct {
	cc *contextCache
	// split, when set, receives nested nodes with their own @context that
	// can be expanded on their own (see expansionMemo); the node is replaced
	// by a placeholder reference in the document.
	split func(active *ld.Context, key, property string, original, node map[string]any) (placeholder map[string]any, err error)
}

// node handles one node object whose active context (before its own
// @context) is active, identified by key. It returns the node, copied if
// anything below it was substituted.
func (w walker) node(elem map[string]any, active *ld.Context, key string) (map[string]any, error) {
	var out map[string]any
	set := func(k string, v any) {
		if out == nil {
			out = make(map[string]any, len(elem))
			for kk, vv := range elem {
				out[kk] = vv
			}
		}
		out[k] = v
	}
	if raw, has := elem["@context"]; has {
		urls, ok := contextURLs(raw)
		if !ok {
			// Inline or unusual context: json-gold processes it and
			// everything below it itself.
			return elem, nil
		}
		key = key + "\x00" + strings.Join(urls, "\x01")
		parent := active
		processed, err := w.cc.get(key, func() (*ld.Context, error) {
			return parent.Parse(raw)
		})
		if err != nil {
			return nil, err
		}
		active = processed
		set("@context", shallowCopy(processed))
	}

	// Type-scoped contexts, as json-gold applies them: in lexicographic
	// order of the types, without propagation to child nodes.
	effective, effKey := active, key
	var scoped, types []string
	typeKey := ""
	for k, v := range elem {
		if td := active.GetTermDefinition(k); (td != nil && td.ID == "@type") || k == "@type" {
			// Several keys for @type are applied key by key; not modelled.
			if typeKey != "" {
				return elem, nil
			}
			typeKey = k
			var ok bool
			if types, ok = typeStrings(v); !ok {
				return elem, nil
			}
			for _, t := range types {
				if td := active.GetTermDefinition(t); td != nil && td.HasContext {
					m, ok := td.Context.(map[string]any)
					if !ok {
						return elem, nil // remote or null type-scoped context
					}
					if p, has := m["@propagate"]; has && p != false {
						return elem, nil
					}
					scoped = append(scoped, t)
				}
			}
		}
	}
	if len(scoped) > 0 {
		sort.Strings(scoped)
		effKey = key + "\x02" + strings.Join(scoped, "\x01")
		base := active
		var err error
		effective, err = w.cc.get(effKey, func() (*ld.Context, error) {
			// "@propagate": false makes json-gold record the context to
			// revert to (base) exactly as it does for type-scoped ones.
			c := base
			for _, t := range scoped {
				m := base.GetTermDefinition(t).Context.(map[string]any)
				withProp := make(map[string]any, len(m)+1)
				for k, v := range m {
					withProp[k] = v
				}
				withProp["@propagate"] = false
				next, err := c.Parse(withProp)
				if err != nil {
					return nil, err
				}
				c = next
			}
			return c, nil
		})
		if err != nil {
			// Leave it to json-gold, which reports the error itself.
			return elem, nil
		}
		// Hand json-gold the type-scoped context already processed: it
		// becomes the node's embedded context, and the types are given as
		// the absolute IRIs they expand to, so that json-gold finds no
		// type-scoped context to process again. Child nodes still revert
		// to the active context recorded in it.
		if iris, ok := typeIRIs(active, effective, types); ok && onlyBasicKeywords(elem, active, effective) {
			set("@context", shallowCopy(effective))
			if _, single := elem[typeKey].(string); single {
				set(typeKey, iris[0])
			} else {
				set(typeKey, iris)
			}
		}
	}

	for k, v := range elem {
		if k == "@context" || strings.HasPrefix(k, "@") {
			continue
		}
		td := effective.GetTermDefinition(k)
		if td != nil {
			if strings.HasPrefix(td.ID, "@") || td.HasContext || td.Type == "@json" || td.Reverse || td.Nest != "" {
				continue
			}
			if !onlySetContainer(td.Container) {
				continue
			}
		}
		// Child node objects start from this node's active context: the
		// type-scoped contexts do not propagate.
		switch val := v.(type) {
		case map[string]any:
			child, err := w.child(val, active, effective, key, k)
			if err != nil {
				return nil, err
			}
			if !sameMap(child, val) {
				set(k, child)
			}
		case []any:
			var arr []any
			for i, e := range val {
				m, ok := e.(map[string]any)
				if !ok {
					continue
				}
				child, err := w.child(m, active, effective, key, k)
				if err != nil {
					return nil, err
				}
				if !sameMap(child, m) {
					if arr == nil {
						arr = append([]any(nil), val...)
					}
					arr[i] = child
				}
			}
			if arr != nil {
				set(k, arr)
			}
		}
	}
	if out == nil {
		return elem, nil
	}
	return out, nil
}

// child processes a child node object reached through property prop.
func (w walker) child(elem map[string]any, active, effective *ld.Context, key, prop string) (map[string]any, error) {
	if w.split != nil && splittable(elem) {
		iri, err := effective.ExpandIri(prop, false, true, nil, nil)
		if err == nil && strings.Contains(iri, ":") && !strings.HasPrefix(iri, "@") {
			// Split only the outermost such nodes: what is inside
			// belongs to their memoised expansion.
			out, err := walker{cc: w.cc}.node(elem, active, key)
			if err != nil {
				return nil, err
			}
			return w.split(active, key, iri, elem, out)
		}
	}
	return w.node(elem, active, key)
}

// splittable: nodes worth expanding on their own are those with their own
// pinned @context (nested credentials) and typed nodes (whose type-scoped
// contexts json-gold processes on every visit) that hold no such nested
// credential, so that a CLR's subject, which holds the credentials, is
// walked into rather than memoised as one piece.
func splittable(elem map[string]any) bool {
	if raw, has := elem["@context"]; has {
		_, ok := contextURLs(raw)
		return ok
	}
	_, typed := elem["type"]
	if !typed {
		_, typed = elem["@type"]
	}
	return typed && !containsContext(elem)
}

func containsContext(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		if _, ok := t["@context"]; ok {
			return true
		}
		for _, e := range t {
			if containsContext(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if containsContext(e) {
				return true
			}
		}
	}
	return false
}

func contextURLs(raw any) ([]string, bool) {
	switch v := raw.(type) {
	case string:
		return []string{v}, true
	case []any:
		if len(v) == 0 {
			return nil, false
		}
		urls := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			urls[i] = s
		}
		return urls, true
	}
	return nil, false
}

func typeStrings(v any) ([]string, bool) {
	switch t := v.(type) {
	case string:
		return []string{t}, true
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

func onlySetContainer(c []string) bool {
	for _, x := range c {
		if x != "@set" {
			return false
		}
	}
	return true
}

// sameMap reports whether a and b are the same map (not a copy).
func sameMap(a, b map[string]any) bool {
	return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer()
}

// shallowCopy returns a context sharing the cached one's term definitions
// but with its own Values: json-gold's context processing, handed a
// *ld.Context, adopts it and then writes its processing mode into Values.
// The term-definition maps are only read (json-gold copies a context before
// defining terms in it).
func shallowCopy(c *ld.Context) *ld.Context {
	cp := *c
	if c.Values != nil {
		v := *c.Values
		cp.Values = &v
	}
	return &cp
}

// typeIRIs expands types as json-gold would (in the context before the
// type-scoped ones) and checks that each expanded IRI expands to itself in
// the type-scoped context and names no term there.
func typeIRIs(active, effective *ld.Context, types []string) ([]any, bool) {
	out := make([]any, len(types))
	for i, t := range types {
		iri, err := active.ExpandIri(t, true, true, nil, nil)
		if err != nil || !absoluteIRI(iri) || strings.HasPrefix(iri, "_:") {
			return nil, false
		}
		if active.GetTermDefinition(iri) != nil || effective.GetTermDefinition(iri) != nil {
			return nil, false
		}
		if again, err := effective.ExpandIri(iri, true, true, nil, nil); err != nil || again != iri {
			return nil, false
		}
		out[i] = iri
	}
	return out, true
}

// onlyBasicKeywords: the node uses no keyword (or alias) but @id, @type and
// @context, whose handling the substitution above does not change.
func onlyBasicKeywords(elem map[string]any, contexts ...*ld.Context) bool {
	for k := range elem {
		if strings.HasPrefix(k, "@") && k != "@id" && k != "@type" && k != "@context" {
			return false
		}
		for _, c := range contexts {
			if td := c.GetTermDefinition(k); td != nil && strings.HasPrefix(td.ID, "@") && td.ID != "@id" && td.ID != "@type" {
				return false
			}
		}
	}
	return true
}
