// Command bulkissue measures bulk issuance through clr-server's issuing API:
// N learners × M experiences posted as NDJSON (one learner per line, each
// with its idempotency key) over S concurrent streams to a host on loopback
// (real OAuth token, real SQLite or PostgreSQL store, real signing), and, as
// the baseline in the same run, the same records posted one learner per
// POST /issuing/v1/records request.
//
//	go run ./test/bench/bulkissue -learners 10000 -per 10 -streams 4 -format VC-JWT
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/learnerrecords/clr-operator/internal/issuing"
	"github.com/learnerrecords/clr-operator/internal/issuing/issuingtest"
)

// tb adapts the harness to a program.
type tb struct{ cleanups []func() }

func (t *tb) Helper() {}
func (t *tb) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	t.run()
	os.Exit(1)
}
func (t *tb) TempDir() string {
	d, err := os.MkdirTemp("", "bulkissue-")
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
func (t *tb) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }
func (t *tb) run() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

var (
	comps  = []string{"critical-thinking", "written-communication", "ethical-reasoning", "global-learning", "ct-evidence"}
	levels = []string{"exposure", "integration", "transformation"}
)

func line(prefix string, i, per int, format string) []byte {
	exps := make([]any, 0, per)
	for j := range per {
		exps = append(exps, map[string]any{"kind": "course", "title": fmt.Sprintf("Course %d", j), "code": fmt.Sprintf("C%03d", j),
			"grade": "A", "credits": 3, "term": "Fall 2025",
			"competencies": []any{map[string]any{"framework": issuingtest.FrameworkName, "competency": comps[(i+j)%len(comps)], "level": levels[(i+j)%len(levels)]}}})
	}
	b, _ := json.Marshal(map[string]any{"idempotencyKey": fmt.Sprintf("%s-%d", prefix, i), "format": format,
		"learner": map[string]any{"id": fmt.Sprintf("%s-learner-%d", prefix, i), "name": fmt.Sprintf("Learner %d", i)}, "experiences": exps})
	return b
}

func main() {
	learners := flag.Int("learners", 10000, "learners (NDJSON lines)")
	per := flag.Int("per", 10, "experiences (credentials) per learner")
	streams := flag.Int("streams", 4, "concurrent NDJSON streams")
	format := flag.String("format", "VC-JWT", "proof format: VC-JWT or DataIntegrity")
	baseline := flag.Int("baseline", 500, "learners posted one request each, as the baseline")
	pgDSN := flag.String("postgres", "", "PostgreSQL DSN (default: SQLite in a temporary directory)")
	flag.Parse()

	t := &tb{}
	defer t.run()
	env := issuingtest.Start(t, issuingtest.Options{PostgresDSN: *pgDSN})
	fmt.Printf("machine: %s/%s, %d CPUs, GOMAXPROCS=%d; store: %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), map[bool]string{true: "postgres", false: "sqlite"}[*pgDSN != ""])

	// Baseline: one POST per learner, 4 concurrent clients.
	if *baseline > 0 {
		start, cpu0 := time.Now(), cpuTime()
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= *baseline {
						return
					}
					req, _ := http.NewRequest(http.MethodPost, env.URL+issuing.PathRecords, bytes.NewReader(line("base", i, *per, *format)))
					req.Header.Set("Content-Type", "application/json")
					resp, err := env.Registrar.Do(req)
					if err != nil {
						t.Fatalf("baseline: %v", err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						t.Fatalf("baseline: status %d", resp.StatusCode)
					}
				}
			}()
		}
		wg.Wait()
		el := time.Since(start)
		n := *baseline * *per
		fmt.Printf("baseline  single requests: %d learners, %d credentials in %v: %.0f credentials/s, %.0f credentials per CPU-second\n",
			*baseline, n, el.Round(time.Millisecond), float64(n)/el.Seconds(), float64(n)/(cpuTime()-cpu0).Seconds())
	}

	// Bulk: NDJSON streams.
	start, cpu0, disk0 := time.Now(), cpuTime(), diskWritten()
	var issued, failed atomic.Int64
	var wg sync.WaitGroup
	for s := range *streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr, pw := io.Pipe()
			go func() {
				bw := bufio.NewWriterSize(pw, 256<<10)
				for i := s; i < *learners; i += *streams {
					bw.Write(line("bulk", i, *per, *format))
					bw.WriteByte('\n')
				}
				bw.Flush()
				pw.Close()
			}()
			req, _ := http.NewRequest(http.MethodPost, env.URL+issuing.PathBulk, pr)
			req.Header.Set("Content-Type", "application/x-ndjson")
			resp, err := env.Registrar.Do(req)
			if err != nil {
				t.Fatalf("bulk: %v", err)
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 1<<20), 64<<20)
			for sc.Scan() {
				var r struct {
					Status int `json:"status"`
				}
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Status != http.StatusCreated {
					failed.Add(1)
					continue
				}
				issued.Add(int64(*per))
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	cpu := cpuTime() - cpu0
	fmt.Printf("bulk NDJSON (%d streams, %s): %d learners, %d credentials in %v: %.0f credentials/s; failed lines: %d\n",
		*streams, *format, *learners, issued.Load(), el.Round(time.Millisecond), float64(issued.Load())/el.Seconds(), failed.Load())
	// The machine is shared: CPU time says what the run cost whatever the load.
	fmt.Printf("bulk CPU time (server + clients): %v = %.0f credentials per CPU-second; %.0f%% of %d CPUs used\n",
		cpu.Round(time.Millisecond), float64(issued.Load())/cpu.Seconds(), 100*cpu.Seconds()/el.Seconds()/float64(runtime.NumCPU()), runtime.NumCPU())
	// Bytes this process caused to be written to storage (SQLite's WAL
	// and database file; write-back may lag, so it is a lower bound).
	if disk := diskWritten() - disk0; disk > 0 && issued.Load() > 0 {
		fmt.Printf("bulk disk writes: %.1f MB = %.1f KB per credential\n", float64(disk)/1e6, float64(disk)/1e3/float64(issued.Load()))
	}
	if failed.Load() > 0 || issued.Load() != int64(*learners**per) {
		t.Fatalf("bulk run incomplete")
	}
}

// diskWritten is write_bytes of /proc/self/io (0 if unavailable).
func diskWritten() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "write_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
