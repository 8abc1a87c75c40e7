package dataintegrity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/piprate/json-gold/ld"
)

// Canonicalisation errors. Each is a reason to refuse signing (or to report a
// document as unverifiable) rather than to produce N-Quads that another
// implementation would canonicalise differently.
var (
	// ErrCanonicalization wraps JSON-LD expansion/RDF conversion failures,
	// including undefined terms (safe mode) and unknown contexts.
	ErrCanonicalization = errors.New("JSON-LD canonicalization failed")
	// ErrControlCharacter: a literal or IRI holds a control character that
	// json-gold escapes differently from RDFC-1.0 (W3C test060).
	ErrControlCharacter = errors.New("control character in RDF literal or IRI")
	// ErrRelativeIRI: a node, type or datatype IRI is relative; jsonld.js
	// drops such quads while json-gold emits them, so a signature over
	// them would not verify elsewhere.
	ErrRelativeIRI = errors.New("relative IRI in JSON-LD document")
	// ErrTooComplex: the document exceeds the size or blank-node limits.
	ErrTooComplex = errors.New("JSON-LD document too complex to canonicalize")
	// ErrTimeout: canonicalization did not finish in time.
	ErrTimeout = errors.New("JSON-LD canonicalization timed out")
)

// Limits bound the work one canonicalization may do. json-gold has no work
// limit of its own: a clique of blank nodes with identical first-degree
// hashes makes RDFC-1.0's n-degree hashing factorial.
type Limits struct {
	// MaxQuads bounds the size of the RDF dataset.
	MaxQuads int
	// MaxBlankNodes bounds the number of blank nodes.
	MaxBlankNodes int
	// MaxAmbiguousNeighbours bounds, for any blank node that its own
	// statements do not identify, the number of equally ambiguous
	// neighbours sharing one hash (see maxAmbiguousNeighbours). A clique of
	// 7 such nodes (6 neighbours) takes seconds, one of 10 hours.
	MaxAmbiguousNeighbours int
	// MaxWork bounds RDFC-1.0's n-degree hashing (recursive calls plus
	// permutations explored); 0 means unbounded.
	MaxWork int
	// Timeout bounds one canonicalization; 0 means no timeout beyond ctx.
	Timeout time.Duration
}

// DefaultLimits fit a CLR of a few hundred nested credentials.
var DefaultLimits = Limits{MaxQuads: 200_000, MaxBlankNodes: 20_000, MaxAmbiguousNeighbours: 5, MaxWork: 100_000, Timeout: 10 * time.Second}

// Canonicalizer turns JSON-LD documents into RDFC-1.0 canonical N-Quads with
// a pinned document loader. It is safe for concurrent use.
type Canonicalizer struct {
	loader ld.DocumentLoader
	limits Limits
	cache  *contextCache
	memo   *expansionMemo
}

// NewCanonicalizer returns a canonicalizer using loader for contexts (it
// must not touch the network; see package jsonld) with the given limits.
func NewCanonicalizer(loader ld.DocumentLoader, limits Limits) *Canonicalizer {
	return &Canonicalizer{loader: loader, limits: limits, cache: newContextCache(), memo: newExpansionMemo()}
}

func (c *Canonicalizer) options() *ld.JsonLdOptions {
	opts := ld.NewJsonLdOptions("")
	opts.ProcessingMode = ld.JsonLd_1_1
	opts.DocumentLoader = c.loader
	opts.Algorithm = ld.AlgorithmURDNA2015 // json-gold defaults to URGNA2012
	opts.Format = "application/n-quads"
	opts.SafeMode = true
	return opts
}

// Canonicalize returns the canonical N-Quads of doc (a JSON object as decoded
// by encoding/json). doc is not modified.
func (c *Canonicalizer) Canonicalize(ctx context.Context, doc map[string]any) (string, error) {
	dataset, err := c.toRDF(doc)
	if err != nil {
		return "", err
	}
	if err := c.checkDataset(dataset); err != nil {
		return "", err
	}
	return c.normalize(ctx, dataset)
}

func (c *Canonicalizer) toRDF(doc map[string]any) (*ld.RDFDataset, error) {
	opts := c.options()
	input := any(doc)
	var sp *splitter
	if c.cache != nil {
		// Replace @context values made of pinned URLs by the processed
		// active context (contextcache.go) and, with the memo, expand
		// nested credentials on their own (memo.go).
		var w walker
		if c.memo != nil {
			var err error
			if sp, err = newSplitter(c.memo, opts); err != nil {
				return nil, err
			}
			w.split = sp.split
		}
		var err error
		input, err = c.cache.substitute(doc, opts, w)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCanonicalization, err)
		}
	}
	expandedList, err := ld.NewJsonLdProcessor().Expand(input, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCanonicalization, err)
	}
	var expanded any = expandedList
	if sp != nil && len(sp.nodes) > 0 {
		expanded = sp.splice(expanded)
	}
	// json-gold's RDF conversion silently drops statements whose subject
	// or object is a relative or invalid IRI; a signature must never
	// leave a claim such as the credential's id unprotected.
	if err := checkExpanded(expanded); err != nil {
		return nil, err
	}
	dataset, ok, err := expandedToRDF(expanded)
	if !ok {
		dataset, err = ld.NewJsonLdApi().ToRDF(expanded, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCanonicalization, err)
	}
	return dataset, nil
}

// checkDataset enforces the limits and the literal/IRI rules before any
// canonicalization work.
func (c *Canonicalizer) checkDataset(ds *ld.RDFDataset) error {
	quads := 0
	blank := map[string]bool{}
	for graph, triples := range ds.Graphs {
		if strings.HasPrefix(graph, "_:") {
			blank[graph] = true
		} else if graph != "@default" {
			if err := checkIRI(graph); err != nil {
				return err
			}
		}
		quads += len(triples)
		if c.limits.MaxQuads > 0 && quads > c.limits.MaxQuads {
			return fmt.Errorf("%w: more than %d quads", ErrTooComplex, c.limits.MaxQuads)
		}
		for _, q := range triples {
			for _, n := range []ld.Node{q.Subject, q.Predicate, q.Object} {
				switch v := n.(type) {
				case ld.BlankNode:
					blank[v.Attribute] = true
				case ld.IRI:
					if err := checkIRI(v.Value); err != nil {
						return err
					}
				case ld.Literal:
					if err := checkLiteral(v.Value); err != nil {
						return err
					}
					if !validLanguageTag(v.Language) {
						return fmt.Errorf("%w: invalid language tag %q", ErrCanonicalization, truncate(v.Language))
					}
					if err := checkIRI(v.Datatype); err != nil {
						return err
					}
				}
			}
		}
	}
	if c.limits.MaxBlankNodes > 0 && len(blank) > c.limits.MaxBlankNodes {
		return fmt.Errorf("%w: %d blank nodes (limit %d)", ErrTooComplex, len(blank), c.limits.MaxBlankNodes)
	}
	if c.limits.MaxAmbiguousNeighbours > 0 {
		if n := maxAmbiguousNeighbours(ds); n > c.limits.MaxAmbiguousNeighbours {
			return fmt.Errorf("%w: a blank node has %d indistinguishable blank-node neighbours (limit %d)", ErrTooComplex, n, c.limits.MaxAmbiguousNeighbours)
		}
	}
	return nil
}

// checkLiteral rejects the characters whose N-Quads escaping differs between
// json-gold and RDFC-1.0 (every C0 control except LF and CR, which both
// escape as \n and \r, and DEL).
func checkLiteral(s string) error {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if (b < 0x20 && b != '\n' && b != '\r') || b == 0x7f {
			return fmt.Errorf("%w: U+%04X in literal %q", ErrControlCharacter, b, truncate(s))
		}
	}
	return nil
}

func checkIRI(s string) error {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b <= 0x20 || b == 0x7f || strings.IndexByte("<>\"{}|^`\\", b) >= 0 {
			return fmt.Errorf("%w: character 0x%02X in IRI %q", ErrControlCharacter, b, truncate(s))
		}
	}
	if !absoluteIRI(s) {
		return fmt.Errorf("%w: %q (define the term in a context or use an absolute IRI)", ErrRelativeIRI, truncate(s))
	}
	// json-gold would silently drop statements with such an IRI.
	if !jsonGoldValidIRI(s) {
		return fmt.Errorf("%w: %q is not a valid URL", ErrRelativeIRI, truncate(s))
	}
	return nil
}

// absoluteIRI: a scheme (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" /
// "." )) followed by ':'.
func absoluteIRI(s string) bool {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return false
	}
	for j := 0; j < i; j++ {
		c := s[j]
		alpha := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !alpha && (j == 0 || !((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func (c *Canonicalizer) normalize(ctx context.Context, ds *ld.RDFDataset) (string, error) {
	if c.limits.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.limits.Timeout)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%w: %v", ErrTimeout, err)
	}
	budget := c.limits.MaxWork
	if budget <= 0 {
		budget = int(^uint(0) >> 1)
	}
	return rdfc(ctx, ds, budget)
}

// checkExpanded verifies every @id, @type and property IRI of an expanded
// document is absolute (or a blank node) and well-formed.
func checkExpanded(v any) error {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			if err := checkExpanded(e); err != nil {
				return err
			}
		}
	case map[string]any:
		_, isValue := t["@value"]
		for k, e := range t {
			switch k {
			case "@id":
				if s, ok := e.(string); ok && !strings.HasPrefix(s, "_:") {
					if err := checkIRI(s); err != nil {
						return err
					}
				}
			case "@type":
				types, _ := typeStrings(e)
				for _, s := range types {
					if isValue && s == "@json" {
						continue
					}
					if !strings.HasPrefix(s, "_:") {
						if err := checkIRI(s); err != nil {
							return err
						}
					}
				}
			case "@value":
				// literal values are checked on the RDF dataset
			default:
				if !strings.HasPrefix(k, "@") && !strings.HasPrefix(k, "_:") {
					if err := checkIRI(k); err != nil {
						return err
					}
				}
				if err := checkExpanded(e); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
