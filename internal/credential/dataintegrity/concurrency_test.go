package dataintegrity

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// The context cache and expansion memo are shared between goroutines; run
// under -race, this also checks json-gold does not write to shared contexts.
func TestConcurrentCanonicalization(t *testing.T) {
	c := NewCanonicalizer(testLoader(t), DefaultLimits)
	docs := []map[string]any{makeCLR(t, 3), makeCLR(t, 1), readJSON(t, "examples/clr20/simple_v1.json"), readJSON(t, "examples/ob30/simple.json")}
	want := make([]string, len(docs))
	for i, d := range docs {
		want[i] = baselineCanonicalize(t, d)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for r := 0; r < 3; r++ {
				i := (g + r) % len(docs)
				got, err := c.Canonicalize(context.Background(), docs[i])
				if err != nil {
					errs <- err
					return
				}
				if got != want[i] {
					errs <- fmt.Errorf("goroutine %d doc %d: output differs from json-gold", g, i)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
