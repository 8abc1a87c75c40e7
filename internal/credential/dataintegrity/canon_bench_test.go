package dataintegrity

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkCanonicalizeCLR compares this package's canonicalization with
// json-gold's default processing (baseline) on CLRs with 1, 10 and 40 nested
// credentials, in the same run.
func BenchmarkCanonicalizeCLR(b *testing.B) {
	for _, n := range []int{1, 10, 40} {
		doc := makeCLR(b, n)
		b.Run(fmt.Sprintf("nested=%d/impl=baseline-json-gold", n), func(b *testing.B) {
			for b.Loop() {
				baselineCanonicalize(b, doc)
			}
		})
		c := NewCanonicalizer(testLoader(b), DefaultLimits)
		b.Run(fmt.Sprintf("nested=%d/impl=ours", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := c.Canonicalize(context.Background(), doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
