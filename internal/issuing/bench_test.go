package issuing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/issuing"
	"github.com/learnerrecords/clr-operator/internal/issuing/issuingtest"
)

// benchRequest is one learner's term: 10 experiences (courses with a
// competency each), i.e. 10 credentials per request.
func benchRequest(learner string, format string) []byte {
	exps := make([]any, 0, 10)
	comps := []string{"critical-thinking", "written-communication", "ethical-reasoning", "global-learning", "ct-evidence"}
	levels := []string{"exposure", "integration", "transformation"}
	for i := range 10 {
		exps = append(exps, map[string]any{"kind": "course", "title": fmt.Sprintf("Course %d", i), "code": fmt.Sprintf("C%03d", i),
			"grade": "A", "credits": 3, "term": "Fall 2025",
			"competencies": []any{map[string]any{"framework": issuingtest.FrameworkName, "competency": comps[i%len(comps)], "level": levels[i%len(levels)]}}})
	}
	b, _ := json.Marshal(map[string]any{"format": format, "learner": map[string]any{"id": learner, "name": "Learner " + learner}, "experiences": exps})
	return b
}

func benchPost(b *testing.B, env *issuingtest.Env, body []byte) {
	req, _ := http.NewRequest(http.MethodPost, env.URL+issuing.PathRecords, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := env.Registrar.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// BenchmarkIssueHTTP issues 10 credentials per request through the HTTP API
// (token check, validation, status index allocation, signing, one SQLite
// transaction), from 8 concurrent clients.
func BenchmarkIssueHTTP(b *testing.B) {
	for _, format := range []string{"VC-JWT", "DataIntegrity"} {
		b.Run(format, func(b *testing.B) {
			env := issuingtest.Start(b, issuingtest.Options{})
			var n atomic.Int64
			b.SetParallelism(4) // 4 × GOMAXPROCS clients
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					benchPost(b, env, benchRequest(fmt.Sprintf("l-%d", n.Add(1)), format))
				}
			})
			b.ReportMetric(float64(b.N*10)/time.Since(start).Seconds(), "credentials/s")
			// CPU time of the whole process (server and clients) per
			// credential: what the shared, loaded machine cannot distort.
			b.ReportMetric(float64(b.N*10)/(cpuTime()-cpu0).Seconds(), "credentials/cpu-s")
		})
	}
}

// BenchmarkSignOnly is the baseline of BenchmarkIssueHTTP: signing the same
// credentials in memory, without HTTP, validation or storage.
func BenchmarkSignOnly(b *testing.B) {
	for _, format := range []string{"VC-JWT", "DataIntegrity"} {
		b.Run(format, func(b *testing.B) {
			env := issuingtest.Start(b, issuingtest.Options{})
			iss := env.Host.Issuers[issuingtest.IssuerName]
			var req issuing.IssueRequest
			if err := json.Unmarshal(benchRequest("l", format), &req); err != nil {
				b.Fatal(err)
			}
			out, err := env.Host.Issuing.Issue(context.Background(), "bench", "", &req, true)
			if err != nil {
				b.Fatal(err)
			}
			var resp issuing.IssueResponse
			_ = json.Unmarshal(out.Body, &resp)
			stored, err := env.Store.GetCredentialByID(context.Background(), resp.Records[0].Credential.ID)
			if err != nil {
				b.Fatal(err)
			}
			cred, _ := issuing.CredentialJSON(stored)
			delete(cred, "proof")
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := iss.Sign(context.Background(), cred, format, time.Now()); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "credentials/s")
			b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "credentials/cpu-s")
		})
	}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
