package dataintegrity

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/piprate/json-gold/ld"
)

// expandedToRDF converts an expanded document to an RDF dataset like
// json-gold's JsonLdApi.ToRDF, without its per-call IRI validation (a large
// regular expression run on every distinct IRI, a third of the time of a
// warm canonicalisation). That validation silently drops statements; here
// the same rule is applied earlier and refuses the document instead
// (checkIRI), so the datasets are the same for every accepted document.
// Documents with @json literals (which need json-gold's internal JSON
// canonicaliser) are left to json-gold: ok is false.
func expandedToRDF(expanded any) (ds *ld.RDFDataset, ok bool, err error) {
	if hasJSONLiteral(expanded) {
		return nil, false, nil
	}
	issuer := ld.NewIdentifierIssuer("_:b")
	nodeMap := map[string]any{"@default": map[string]any{}}
	if _, err := ld.NewJsonLdApi().GenerateNodeMap(expanded, nodeMap, "@default", issuer, "", "", nil); err != nil {
		return nil, true, err
	}
	ds = ld.NewRDFDataset()
	for graphName, g := range nodeMap {
		if ld.IsRelativeIri(graphName) {
			continue
		}
		ds.Graphs[graphName] = graphQuads(graphName, g.(map[string]any), issuer)
	}
	return ds, true, nil
}

func hasJSONLiteral(v any) bool {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			if hasJSONLiteral(e) {
				return true
			}
		}
	case map[string]any:
		if t["@type"] == "@json" {
			return true
		}
		for _, e := range t {
			if hasJSONLiteral(e) {
				return true
			}
		}
	}
	return false
}

var (
	iriFirst = ld.NewIRI(ld.RDFFirst)
	iriRest  = ld.NewIRI(ld.RDFRest)
	iriNil   = ld.NewIRI(ld.RDFNil)
)

func graphQuads(graphName string, graph map[string]any, issuer *ld.IdentifierIssuer) []*ld.Quad {
	var quads []*ld.Quad
	for _, id := range sortedKeys(graph) {
		if ld.IsRelativeIri(id) {
			continue
		}
		node := graph[id].(map[string]any)
		var subject ld.Node = ld.NewIRI(id)
		if strings.HasPrefix(id, "_:") {
			subject = ld.NewBlankNode(id)
		}
		for _, property := range sortedKeys(node) {
			var values []any
			switch {
			case property == "@type":
				values = node["@type"].([]any)
			case ld.IsKeyword(property), strings.HasPrefix(property, "_:"), ld.IsRelativeIri(property):
				continue
			default:
				values = node[property].([]any)
			}
			predicate := ld.NewIRI(property)
			if property == "@type" {
				predicate = ld.NewIRI(ld.RDFType)
			}
			for _, item := range values {
				var object ld.Node
				object, quads = objectToRDF(item, issuer, graphName, quads)
				if object != nil {
					quads = append(quads, ld.NewQuad(subject, predicate, object, graphName))
				}
			}
		}
	}
	return quads
}

func objectToRDF(item any, issuer *ld.IdentifierIssuer, graphName string, quads []*ld.Quad) (ld.Node, []*ld.Quad) {
	m, isMap := item.(map[string]any)
	if isMap {
		if value, ok := m["@value"]; ok {
			datatype, _ := m["@type"].(string)
			switch v := value.(type) {
			case bool:
				if datatype == "" {
					datatype = ld.XSDBoolean
				}
				return ld.NewLiteral(strconv.FormatBool(v), datatype, ""), quads
			case float64:
				isInteger := v == float64(int64(v))
				if !isInteger || datatype == ld.XSDDouble {
					if datatype == "" {
						datatype = ld.XSDDouble
					}
					return ld.NewLiteral(ld.GetCanonicalDouble(v), datatype, ""), quads
				}
				if datatype == "" {
					datatype = ld.XSDInteger
				}
				return ld.NewLiteral(fmt.Sprintf("%d", int64(v)), datatype, ""), quads
			case string:
				if lang, ok := m["@language"].(string); ok {
					if datatype == "" {
						datatype = ld.RDFLangString
					}
					return ld.NewLiteral(v, datatype, lang), quads
				}
				if datatype == "" {
					datatype = ld.XSDString
				}
				return ld.NewLiteral(v, datatype, ""), quads
			}
			return nil, quads
		}
		if list, ok := m["@list"].([]any); ok {
			return listToRDF(list, issuer, graphName, quads)
		}
		id, _ := m["@id"].(string)
		if ld.IsRelativeIri(id) {
			return nil, quads
		}
		if strings.HasPrefix(id, "_:") {
			return ld.NewBlankNode(id), quads
		}
		return ld.NewIRI(id), quads
	}
	id, _ := item.(string)
	if strings.HasPrefix(id, "_:") {
		return ld.NewBlankNode(id), quads
	}
	return ld.NewIRI(id), quads
}

func listToRDF(list []any, issuer *ld.IdentifierIssuer, graphName string, quads []*ld.Quad) (ld.Node, []*ld.Quad) {
	if len(list) == 0 {
		return iriNil, quads
	}
	head := ld.Node(ld.NewBlankNode(issuer.GetId("")))
	subj := head
	for i, item := range list {
		var obj ld.Node
		obj, quads = objectToRDF(item, issuer, graphName, quads)
		var next ld.Node = iriNil
		if i < len(list)-1 {
			next = ld.NewBlankNode(issuer.GetId(""))
		}
		quads = append(quads, ld.NewQuad(subj, iriFirst, obj, graphName), ld.NewQuad(subj, iriRest, next, graphName))
		subj = next
	}
	return head, quads
}

// iriValidityCache remembers json-gold's IRI validity rule per IRI across
// calls (bounded); credentials repeat the same vocabulary IRIs.
var iriValidityCache sync.Map

var iriValidityCount int64

var iriValidityMu sync.Mutex

const maxIRIValidityEntries = 1 << 16

// jsonGoldValidIRI is json-gold's rule: http(s) IRIs must pass IsURL.
func jsonGoldValidIRI(s string) bool {
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return true
	}
	if v, ok := iriValidityCache.Load(s); ok {
		return v.(bool)
	}
	valid := ld.IsURL(s)
	iriValidityMu.Lock()
	if iriValidityCount >= maxIRIValidityEntries {
		iriValidityCache.Clear()
		iriValidityCount = 0
	}
	iriValidityCount++
	iriValidityMu.Unlock()
	iriValidityCache.Store(s, valid)
	return valid
}

// validLanguageTag is json-gold's language rule ^[a-zA-Z]+(-[a-zA-Z0-9]+)*$.
func validLanguageTag(s string) bool {
	if s == "" {
		return true
	}
	parts := strings.Split(s, "-")
	for i, p := range parts {
		if p == "" {
			return false
		}
		for _, r := range p {
			alpha := (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
			digit := r >= '0' && r <= '9'
			if !alpha && !(digit && i > 0) {
				return false
			}
		}
	}
	return true
}
