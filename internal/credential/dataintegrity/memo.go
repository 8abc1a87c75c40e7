package dataintegrity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/piprate/json-gold/ld"
)

// expansionMemo remembers the JSON-LD expansion of nested nodes that carry
// their own @context, such as the credentials inside a CLR.
//
// A CLR is re-issued (and re-verified) every time a learner's record grows,
// with the same nested credentials each time. The expansion of such a node
// depends only on the active context it starts from (tracked by the
// context cache's walker, which also proves that no property-scoped
// context applies) and on its own JSON, so it is expanded once, on its own,
// through json-gold's exported expansion entry point with that context, and
// spliced into the document's expansion where a placeholder reference
// stood. The result is the same expanded document json-gold would have
// produced in one piece (TestCanonicalMatchesJSONGold checks it), so
// canonicalisation over all of it still happens for every signature.
type expansionMemo struct {
	mu      sync.Mutex
	entries map[string]any
}

const maxMemoEntries = 1024

func newExpansionMemo() *expansionMemo { return &expansionMemo{entries: map[string]any{}} }

// splitter collects the nested nodes of one canonicalisation.
type splitter struct {
	memo   *expansionMemo
	opts   *ld.JsonLdOptions
	prefix string
	nodes  map[string]any // placeholder id -> expanded node (private copy)
}

func newSplitter(memo *expansionMemo, opts *ld.JsonLdOptions) (*splitter, error) {
	var nonce [12]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	return &splitter{memo: memo, opts: opts, prefix: "urn:x-clr-operator-expanded:" + hex.EncodeToString(nonce[:]) + ":", nodes: map[string]any{}}, nil
}

// split is walker.split: original is the node as in the document (hashed
// for the memo key), node the same with its @context already substituted.
func (sp *splitter) split(active *ld.Context, key, property string, original, node map[string]any) (map[string]any, error) {
	raw, err := json.Marshal(original)
	if err != nil {
		return node, nil
	}
	sum := sha256.Sum256(raw)
	mkey := key + "\x03" + property + "\x03" + string(sum[:])
	sp.memo.mu.Lock()
	expanded, ok := sp.memo.entries[mkey]
	sp.memo.mu.Unlock()
	if !ok {
		expanded, err = ld.NewJsonLdApi().Expand(active, property, node, sp.opts, false, nil)
		if err != nil {
			return nil, err
		}
		sp.memo.mu.Lock()
		if len(sp.memo.entries) >= maxMemoEntries {
			sp.memo.entries = map[string]any{}
		}
		sp.memo.entries[mkey] = expanded
		sp.memo.mu.Unlock()
	}
	id := sp.prefix + fmt.Sprint(len(sp.nodes))
	// json-gold's RDF conversion relabels blank-node types in place, so
	// every use gets its own copy.
	sp.nodes[id] = ld.CloneDocument(expanded)
	return map[string]any{"@id": id}, nil
}

// splice replaces placeholder references in an expanded document by the
// expanded nodes.
func (sp *splitter) splice(v any) any {
	switch t := v.(type) {
	case []any:
		out := t[:0:0]
		for _, e := range t {
			if m, ok := e.(map[string]any); ok && len(m) == 1 {
				if id, ok := m["@id"].(string); ok {
					if node, ok := sp.nodes[id]; ok {
						switch n := node.(type) {
						case nil:
						case []any:
							out = append(out, n...)
						default:
							out = append(out, n)
						}
						continue
					}
				}
			}
			out = append(out, sp.splice(e))
		}
		return out
	case map[string]any:
		for k, e := range t {
			t[k] = sp.splice(e)
		}
		return t
	}
	return v
}
