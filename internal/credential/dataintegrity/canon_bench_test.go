package dataintegrity

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkCanonicalizeCLR compares canonicalizing a ClrCredential with 1, 10
// and 40 nested AchievementCredentials, in one run:
//
//   - baseline-json-gold: json-gold's default processing (URDNA2015), its
//     loader re-reading each context file on every use;
//   - ours-cold: a new Canonicalizer per operation (nothing cached; our
//     RDFC-1.0 and checks);
//   - ours-contexts: processed contexts cached, nested credentials expanded
//     in place every time (first issue of a CLR);
//   - ours-warm: contexts cached and nested credentials' expansion memoised
//     (re-issuing or re-verifying a CLR whose credentials were seen before).
func BenchmarkCanonicalizeCLR(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 10, 40} {
		doc := makeCLR(b, n)
		b.Run(fmt.Sprintf("nested=%d/impl=baseline-json-gold", n), func(b *testing.B) {
			for b.Loop() {
				baselineCanonicalize(b, doc)
			}
		})
		loader := testLoader(b)
		b.Run(fmt.Sprintf("nested=%d/impl=ours-cold", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := NewCanonicalizer(loader, DefaultLimits).Canonicalize(ctx, doc); err != nil {
					b.Fatal(err)
				}
			}
		})
		noMemo := NewCanonicalizer(loader, DefaultLimits)
		noMemo.memo = nil
		b.Run(fmt.Sprintf("nested=%d/impl=ours-contexts", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := noMemo.Canonicalize(ctx, doc); err != nil {
					b.Fatal(err)
				}
			}
		})
		warm := NewCanonicalizer(loader, DefaultLimits)
		b.Run(fmt.Sprintf("nested=%d/impl=ours-warm", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := warm.Canonicalize(ctx, doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCanonicalizeCLRSideBySide runs the baseline and our variants in
// turn within each iteration, so that a busy machine slows all of them
// alike, and reports each one's time per operation and the speed-ups.
func BenchmarkCanonicalizeCLRSideBySide(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 10, 40} {
		doc := makeCLR(b, n)
		b.Run(fmt.Sprintf("nested=%d", n), func(b *testing.B) {
			loader := testLoader(b)
			noMemo := NewCanonicalizer(loader, DefaultLimits)
			noMemo.memo = nil
			warm := NewCanonicalizer(loader, DefaultLimits)
			var base, cold, contexts, warmed time.Duration
			run := func(d *time.Duration, f func()) {
				start := time.Now()
				f()
				*d += time.Since(start)
			}
			for b.Loop() {
				run(&base, func() { baselineCanonicalize(b, doc) })
				run(&cold, func() {
					if _, err := NewCanonicalizer(loader, DefaultLimits).Canonicalize(ctx, doc); err != nil {
						b.Fatal(err)
					}
				})
				run(&contexts, func() {
					if _, err := noMemo.Canonicalize(ctx, doc); err != nil {
						b.Fatal(err)
					}
				})
				run(&warmed, func() {
					if _, err := warm.Canonicalize(ctx, doc); err != nil {
						b.Fatal(err)
					}
				})
			}
			per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
			b.ReportMetric(per(base)/1e6, "baseline-ms/op")
			b.ReportMetric(per(cold)/1e6, "cold-ms/op")
			b.ReportMetric(per(contexts)/1e6, "contexts-ms/op")
			b.ReportMetric(per(warmed)/1e6, "warm-ms/op")
			b.ReportMetric(per(base)/per(contexts), "x-contexts")
			b.ReportMetric(per(base)/per(warmed), "x-warm")
		})
	}
}
