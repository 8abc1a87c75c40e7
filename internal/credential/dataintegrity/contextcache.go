package dataintegrity

import "github.com/piprate/json-gold/ld"

type contextCache struct{}

func newContextCache() *contextCache { return &contextCache{} }

func (cc *contextCache) substitute(doc map[string]any, opts *ld.JsonLdOptions) (any, error) {
	return doc, nil
}
