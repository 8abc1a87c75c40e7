package clrapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/store"
)

// benchClients is the number of concurrent API clients.
const benchClients = 200

// BenchmarkGetCredentials measures GET credentials latency with 200
// concurrent clients on SQLite: each client is a learner with her own
// token and 10 stored VC-JWT ClrCredentials (about 3 KB each) and asks for
// a page of 10. The baseline is the unauthenticated discovery document
// (no database) served by the same server in the same run. "saturated"
// sends back to back (throughput); "paced-1000rps" has each client send one
// request every 200 ms (1,000 requests/s in all; "paced-250rps" every
// 800 ms) and measures latency below saturation. Client and server share the machine's cores.
//
//	go test ./internal/clrapi/ -run '^$' -bench GetCredentials -benchtime 20000x
func BenchmarkGetCredentials(b *testing.B) {
	ctx := context.Background()
	st := openSQLite(b)
	e := newEnv(b, st, nil)
	f := credentialFactory(b)
	c := e.register()
	tokens := make([]string, benchClients)
	now := time.Now().UTC()
	for i := range tokens {
		learner := fmt.Sprintf("learner-%03d", i)
		tokens[i] = e.login(c, learner).AccessToken
		for j := 0; j < 10; j++ {
			id := fmt.Sprintf("urn:uuid:40000000-0000-4000-8000-%06d%06d", i, j)
			if _, err := st.PutCredential(ctx, &store.Credential{
				ID: id, LearnerID: learner, Issuer: f.did, Type: "ClrCredential", Format: store.FormatJWS,
				Data: []byte(f.signedJWS(b, id)), Source: store.SourceUpserted, CreatedAt: now, UpdatedAt: now,
			}); err != nil {
				b.Fatal(err)
			}
		}
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: benchClients * 2, MaxIdleConnsPerHost: benchClients * 2}}
	for _, bc := range []struct {
		name, path string
		auth       bool
		// interval paces each client (open loop); 0 sends back to back
		// (closed loop: latency is then 200 / throughput by Little's law).
		interval time.Duration
	}{
		{"baseline-discovery/saturated", "/ims/clr/v2p0/discovery", false, 0},
		{"credentials/saturated", "/ims/clr/v2p0/credentials?limit=10", true, 0},
		{"baseline-discovery/paced-250rps", "/ims/clr/v2p0/discovery", false, benchClients * time.Second / 250},
		{"credentials/paced-250rps", "/ims/clr/v2p0/credentials?limit=10", true, benchClients * time.Second / 250},
		{"baseline-discovery/paced-1000rps", "/ims/clr/v2p0/discovery", false, benchClients * time.Second / 1000},
		{"credentials/paced-1000rps", "/ims/clr/v2p0/credentials?limit=10", true, benchClients * time.Second / 1000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var failed atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := 0; w < benchClients; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					// Paced clients start spread over one interval.
					tick := time.Now().Add(bc.interval * time.Duration(w) / benchClients)
					for {
						i := int(next.Add(1) - 1)
						if i >= b.N {
							return
						}
						if bc.interval > 0 {
							time.Sleep(time.Until(tick))
							tick = tick.Add(bc.interval)
						}
						req, _ := http.NewRequest(http.MethodGet, e.srv.URL+bc.path, nil)
						if bc.auth {
							req.Header.Set("Authorization", "Bearer "+tokens[w])
						}
						start := time.Now()
						resp, err := hc.Do(req)
						if err != nil {
							failed.Add(1)
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						lat[i] = time.Since(start)
						if resp.StatusCode != http.StatusOK {
							failed.Add(1)
						}
					}
				}(w)
			}
			wg.Wait()
			b.StopTimer()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d requests failed", n)
			}
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
