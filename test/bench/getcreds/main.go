// Command getcreds measures clr-server's GET credentials (CLR 2.0 §6.2.1)
// under many concurrent clients on SQLite. It runs a real clr-server (this
// program re-executed as a child process, so that the server's CPU time is
// measured apart from the clients') on loopback, seeds learners ×
// credentials through the store API, obtains one access token per learner
// through the real OAuth 2.0 authorization code flow (dev login, PKCE), and
// then runs concurrent HTTP clients, each owning its learners' tokens: a
// closed-loop phase of a fixed number of requests and open-loop phases at
// fixed request rates (each bounded by -max-time). Each phase is preceded
// by the baseline under the same load: the unauthenticated discovery
// document (no database). It prints p50/p90/p99/max latency, requests/s
// and the server's and the clients' CPU time per request. Client and
// server share the machine's cores. Results: docs/benchmarks.md.
//
//	go run ./test/bench/getcreds -learners 1000 -per 20 -clients 200 -requests 20000 -rates 0,250,500,1000
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/oauth2"

	"github.com/learnerrecords/clr-operator/internal/oauth"
	"github.com/learnerrecords/clr-operator/internal/oauth/oauthtest"
	"github.com/learnerrecords/clr-operator/internal/server"
	"github.com/learnerrecords/clr-operator/internal/store"
)

const redirectURI = "http://127.0.0.1:1/callback"

func main() {
	serveDir := flag.String("serve", "", "internal: run the server on this data directory (child process)")
	learners := flag.Int("learners", 1000, "learners seeded")
	per := flag.Int("per", 20, "ClrCredentials per learner")
	clients := flag.Int("clients", 200, "concurrent HTTP clients (each owns learners/clients learners' tokens)")
	requests := flag.Int("requests", 20000, "requests per closed-loop phase")
	rates := flag.String("rates", "0,250,500,1000", "phases: 0 = closed loop, N = open loop at N requests/s in all (each client every clients/N s)")
	pacedFor := flag.Duration("paced-for", 10*time.Second, "duration of each paced phase")
	maxTime := flag.Duration("max-time", 2*time.Minute, "upper bound of each phase")
	limit := flag.Int("limit", 10, "page size asked for (limit=)")
	cpuprofile := flag.String("cpuprofile", "", "write the server's CPU profile of the credentials phase to this file")
	serverBin := flag.String("server-bin", "", "run this build of getcreds as the server child (default: this program), e.g. the baseline's build, so that both servers face the same clients")
	flag.Parse()
	if *serveDir != "" {
		if err := serve(*serveDir); err != nil {
			fmt.Fprintln(os.Stderr, "getcreds server:", err)
			os.Exit(1)
		}
		return
	}
	var rateList []int
	for _, f := range strings.Split(*rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			fmt.Fprintf(os.Stderr, "getcreds: -rates: %q is not a non-negative integer\n", f)
			os.Exit(2)
		}
		rateList = append(rateList, n)
	}
	if err := run(*learners, *per, *clients, *requests, rateList, *pacedFor, *maxTime, *limit, *cpuprofile, *serverBin); err != nil {
		fmt.Fprintln(os.Stderr, "getcreds:", err)
		os.Exit(1)
	}
}

// contextsDir is ../shared/clr/contexts relative to the module root.
func contextsDir() (string, error) {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "clr", "contexts"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// serve is the child: a development clr-server on a loopback port, which it
// prints on stdout, until stdin closes (the parent exited) or SIGTERM.
func serve(dataDir string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	cfg, secrets, err := server.DevSetup(dataDir, ln.Addr().String(), "")
	if err != nil {
		return err
	}
	if cfg.ContextsDir, err = contextsDir(); err != nil {
		return err
	}
	cfg.Server.PublicURL = "http://" + ln.Addr().String()
	cfg.Server.MetricsListen = ""
	// No per-client rate limit: the benchmark measures the server, and the
	// default (500/s per client) is not reached anyway.
	cfg.Server.RateLimit = -1
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	// Access logs go to a discarding JSON handler: encoding them is part of
	// the measured cost, writing them to a terminal is not.
	srv, err := server.New(context.Background(), server.Options{Config: cfg, Secrets: secrets, Logger: server.NewLogger(io.Discard, 0)})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		// The parent holds our stdin; when it goes away, so do we.
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	go profileOnSignal(filepath.Join(dataDir, "cpu.prof"))
	fmt.Println(ln.Addr().String())
	return srv.Serve(ctx, ln, nil)
}

// seed stores learners × per ClrCredentials, each a VC-JWT-shaped compact
// JWS of about 3 KB (the size of the signed credentials of the issuing
// benchmark). GET credentials returns stored bytes without verifying them,
// so the signature need not be real.
func seed(ctx context.Context, dataDir string, learners, per int) error {
	st, err := store.OpenSQLite(ctx, filepath.Join(dataDir, "clr.db"), store.SQLiteOptions{})
	if err != nil {
		return err
	}
	defer st.Close()
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","kid":"did:web:university.example#key-1","typ":"JWT"}`))
	sig := base64.RawURLEncoding.EncodeToString(make([]byte, 64))
	filler := strings.Repeat("Course description and achievement criteria. ", 45)
	now := time.Now().UTC().Add(-time.Hour)
	batch := make([]*store.Credential, 0, 2000)
	for i := range learners {
		learner := fmt.Sprintf("bench-learner-%05d", i)
		if _, err := st.EnsureLearner(ctx, learner, now); err != nil {
			return err
		}
		for j := range per {
			id := fmt.Sprintf("urn:uuid:50000000-0000-4000-8000-%06d%06d", i, j)
			payload, _ := json.Marshal(map[string]any{
				"@context": []string{"https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"},
				"id":       id, "type": []string{"VerifiableCredential", "ClrCredential"},
				"issuer": map[string]any{"id": "did:web:university.example", "type": []string{"Profile"}, "name": "Development University"},
				"name":   "Comprehensive Learner Record", "validFrom": now.Format(time.RFC3339),
				"credentialSubject": map[string]any{"type": []string{"ClrSubject"}, "identifier": learner, "description": filler},
			})
			batch = append(batch, &store.Credential{
				ID: id, LearnerID: learner, Issuer: "did:web:university.example", Type: "ClrCredential", Format: store.FormatJWS,
				Data: []byte(header + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + sig), Source: store.SourceIssued,
				CreatedAt: now.Add(time.Duration(j) * time.Second), UpdatedAt: now.Add(time.Duration(j) * time.Second),
			})
			if len(batch) == cap(batch) {
				if err := st.InsertCredentials(ctx, batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
	}
	if len(batch) > 0 {
		return st.InsertCredentials(ctx, batch)
	}
	return nil
}

// tokens registers one wallet client and logs every learner in through the
// dev login page, exchanging each code for an access token.
func tokens(ctx context.Context, base string, learners int) ([]string, error) {
	reg, status, err := oauthtest.Register(ctx, base+oauth.PathRegister, map[string]any{
		"client_name": "Bench Wallet", "client_uri": "https://wallet.example",
		"redirect_uris": []string{redirectURI}, "scope": strings.Join(oauth.CLRScopes, " "),
	})
	if err != nil || status != http.StatusCreated {
		return nil, fmt.Errorf("register: %d %v", status, err)
	}
	cfg := oauth2.Config{
		ClientID: reg["client_id"].(string), ClientSecret: reg["client_secret"].(string), RedirectURL: redirectURI, Scopes: oauth.CLRScopes,
		Endpoint: oauth2.Endpoint{AuthURL: base + oauth.PathAuthorize, TokenURL: base + oauth.PathToken, AuthStyle: oauth2.AuthStyleInHeader},
	}
	out := make([]string, learners)
	var next atomic.Int64
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= learners {
					return
				}
				learner := fmt.Sprintf("bench-learner-%05d", i)
				v := oauth2.GenerateVerifier()
				back, err := oauthtest.DevLogin(ctx, oauthtest.Browser(), cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), learner)
				if err != nil {
					errs <- fmt.Errorf("login %s: %w", learner, err)
					return
				}
				tok, err := cfg.Exchange(ctx, back.Query().Get("code"), oauth2.VerifierOption(v))
				if err != nil {
					errs <- fmt.Errorf("token %s: %w", learner, err)
					return
				}
				out[i] = tok.AccessToken
			}
		}()
	}
	wg.Wait()
	close(errs)
	return out, <-errs
}

// cpuTime is the user+system CPU time of pid so far.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name "(...)": state is field 3; utime and
	// stime are fields 14 and 15, in clock ticks (100 per second on Linux).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * 10 * time.Millisecond, nil
}

type result struct {
	name       string
	lat        []time.Duration
	elapsed    time.Duration
	serverCPU  time.Duration
	clientCPU  time.Duration
	failed     int64
	firstError string
}

func (r *result) print() {
	n := len(r.lat)
	if n == 0 {
		fmt.Printf("%-34s no requests completed\n", r.name)
		return
	}
	slices.Sort(r.lat)
	p := func(q float64) float64 { return float64(r.lat[int(float64(n-1)*q)].Microseconds()) / 1000 }
	fmt.Printf("%-34s %7d %8.1f %8.1f %8.1f %8.1f %9.0f %10.3f %10.3f\n", r.name, n, p(.50), p(.90), p(.99),
		float64(r.lat[n-1].Microseconds())/1000, float64(n)/r.elapsed.Seconds(),
		float64(r.serverCPU.Microseconds())/1000/float64(n), float64(r.clientCPU.Microseconds())/1000/float64(n))
	if r.failed > 0 {
		fmt.Printf("  %d requests failed (first: %s)\n", r.failed, r.firstError)
	}
}

// phase runs clients clients for requests requests (or until maxTime)
// against url; client w cycles over its own tokens. With interval 0 the
// clients are closed-loop (each sends its next request when the previous
// one is answered: latency is then clients / throughput, by Little's law);
// otherwise each client sends one request every interval (open loop) and
// latency counts from the request's scheduled time, so that a server
// falling behind is not hidden by clients waiting for it (coordinated
// omission).
func phase(name, url string, toks []string, clients, requests int, interval, maxTime time.Duration, pid int, check func(string, []byte, http.Header) error) *result {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, DisableCompression: true}}
	defer hc.CloseIdleConnections()
	lat := make([]time.Duration, requests)
	var next, done, failed atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(maxTime)
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	cpu0, _ := cpuTime(pid)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := 0
			// One body buffer per client, grown once.
			var buf bytes.Buffer
			// Paced clients start spread over one interval.
			tick := start.Add(interval * time.Duration(w) / time.Duration(clients))
			for time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= requests {
					return
				}
				t0 := time.Now()
				if interval > 0 {
					time.Sleep(time.Until(tick))
					t0 = tick
					tick = tick.Add(interval)
				}
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				token := ""
				if toks != nil {
					// Client w owns tokens w, w+clients, w+2·clients, ...
					mine := (len(toks) + clients - 1 - w) / clients
					token = toks[w+clients*(k%max(mine, 1))]
					req.Header.Set("Authorization", "Bearer "+token)
					k++
				}
				if interval == 0 {
					t0 = time.Now()
				}
				resp, err := hc.Do(req)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				buf.Reset()
				_, err = buf.ReadFrom(resp.Body)
				body := buf.Bytes()
				resp.Body.Close()
				d := time.Since(t0)
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d: %.200s", resp.StatusCode, body)
				}
				if err == nil && check != nil {
					err = check(token, body, resp.Header)
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				lat[done.Add(1)-1] = d
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, _ := cpuTime(pid)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	r := &result{name: name, lat: lat[:done.Load()], elapsed: elapsed, serverCPU: cpu1 - cpu0,
		clientCPU: tv(ru1.Utime) - tv(ru0.Utime) + tv(ru1.Stime) - tv(ru0.Stime), failed: failed.Load()}
	if s, ok := firstErr.Load().(string); ok {
		r.firstError = s
	}
	return r
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func run(learners, per, clients, requests int, rates []int, pacedFor, maxTime time.Duration, limit int, cpuprofile, serverBin string) error {
	ctx := context.Background()
	if learners < clients {
		return fmt.Errorf("-learners (%d) must be at least -clients (%d): each client owns its tokens", learners, clients)
	}
	dataDir, err := os.MkdirTemp("", "getcreds-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)
	// DevSetup first, so that the seeded database is the server's.
	if _, _, err := server.DevSetup(dataDir, "127.0.0.1:0", ""); err != nil {
		return err
	}
	t0 := time.Now()
	if err := seed(ctx, dataDir, learners, per); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Printf("seeded %d learners × %d credentials in %s\n", learners, per, time.Since(t0).Round(time.Millisecond))

	self, err := os.Executable()
	if err != nil {
		return err
	}
	if serverBin != "" {
		self = serverBin
	}
	fmt.Printf("server: %s\n", self)
	child := exec.Command(self, "-serve", dataDir)
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return err
	}
	defer func() {
		stdin.Close()
		_ = child.Process.Signal(syscall.SIGTERM)
		_ = child.Wait()
	}()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("server did not start: %w", err)
	}
	base := "http://" + strings.TrimSpace(addr)

	t0 = time.Now()
	toks, err := tokens(ctx, base, learners)
	if err != nil {
		return err
	}
	fmt.Printf("obtained %d access tokens through the authorization code flow in %s\n", len(toks), time.Since(t0).Round(time.Millisecond))

	credsURL := fmt.Sprintf("%s/ims/clr/v2p0/credentials?limit=%d", base, limit)
	wantTotal := strconv.Itoa(per)
	// verified holds, per token, a body that passed the full check. The
	// credentials do not change during the run, so a later body of the
	// same token passes if it is byte for byte the verified one (a memory
	// comparison), and otherwise gets the full check: decoding every body
	// was most of the clients' CPU time, which shares the cores with the
	// server.
	var verified sync.Map // token -> []byte
	checkCreds := func(token string, body []byte, h http.Header) error {
		if h.Get("X-Total-Count") != wantTotal {
			return fmt.Errorf("X-Total-Count %q, want %s", h.Get("X-Total-Count"), wantTotal)
		}
		if v, ok := verified.Load(token); ok && bytes.Equal(v.([]byte), body) {
			return nil
		}
		var doc struct {
			Credential []json.RawMessage `json:"credential"`
			Compact    []string          `json:"compactJwsString"`
		}
		if err := json.Unmarshal(body, &doc); err != nil || len(doc.Compact) != min(limit, per) || len(doc.Credential) != 0 {
			return fmt.Errorf("body: %d credentials, %v", len(doc.Compact), err)
		}
		verified.Store(token, bytes.Clone(body))
		return nil
	}
	// Warm-up: connections, prepared statements, page cache.
	phase("warm-up", credsURL, toks, clients, 2*clients, 0, maxTime, child.Process.Pid, checkCreds)

	fmt.Printf("\nclr-server GET credentials: %d learners × %d credentials on SQLite, %d concurrent clients, page of %d\n",
		learners, per, clients, limit)
	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), %s; load average before: %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOARCH, loadavg())
	fmt.Printf("client and server share the machine's cores (server: child process; clients: this process).\n\n")
	fmt.Printf("%-34s %7s %8s %8s %8s %8s %9s %10s %10s\n", "phase", "reqs", "p50 ms", "p90 ms", "p99 ms", "max ms", "req/s", "srvCPU ms", "cliCPU ms")
	var creds, baseline []*result
	for _, rate := range rates {
		n, interval, mode := requests, time.Duration(0), "closed loop"
		if rate > 0 {
			n = int(float64(rate) * pacedFor.Seconds())
			interval = time.Duration(float64(clients) / float64(rate) * float64(time.Second))
			mode = fmt.Sprintf("paced %d/s", rate)
		}
		b := phase("baseline discovery, "+mode, base+"/ims/clr/v2p0/discovery", nil, clients, n, interval, maxTime, child.Process.Pid, nil)
		b.print()
		if cpuprofile != "" && rate == 0 {
			_ = child.Process.Signal(syscall.SIGUSR1)
		}
		c := phase("GET credentials, "+mode, credsURL, toks, clients, n, interval, maxTime, child.Process.Pid, checkCreds)
		if cpuprofile != "" && rate == 0 {
			_ = child.Process.Signal(syscall.SIGUSR2)
			time.Sleep(200 * time.Millisecond)
			// The child writes the profile next to the database.
			if b, err := os.ReadFile(filepath.Join(dataDir, "cpu.prof")); err == nil {
				_ = os.WriteFile(cpuprofile, b, 0o644)
			}
		}
		c.print()
		creds, baseline = append(creds, c), append(baseline, b)
	}
	var credCPU, baseCPU time.Duration
	var credN, baseN int
	for i := range creds {
		credCPU, credN = credCPU+creds[i].serverCPU, credN+len(creds[i].lat)
		baseCPU, baseN = baseCPU+baseline[i].serverCPU, baseN+len(baseline[i].lat)
	}
	fmt.Printf("\nserver CPU per request, all phases: GET credentials %.3f ms, discovery %.3f ms, difference %.3f ms\n",
		float64(credCPU.Microseconds())/1000/float64(max(credN, 1)), float64(baseCPU.Microseconds())/1000/float64(max(baseN, 1)),
		float64(credCPU.Microseconds())/1000/float64(max(credN, 1))-float64(baseCPU.Microseconds())/1000/float64(max(baseN, 1)))
	fmt.Printf("load average after: %s. srvCPU/cliCPU = user+system CPU time of the server/clients per request.\n", loadavg())
	for i := range creds {
		if creds[i].failed > 0 || baseline[i].failed > 0 {
			return errors.New("some requests failed")
		}
	}
	return nil
}

// profileOnSignal profiles the server's CPU between SIGUSR1 and SIGUSR2
// (the parent brackets the GET credentials phase with them).
func profileOnSignal(path string) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	var f *os.File
	for s := range sigs {
		switch {
		case s == syscall.SIGUSR1 && f == nil:
			var err error
			if f, err = os.Create(path); err == nil {
				_ = pprof.StartCPUProfile(f)
			}
		case s == syscall.SIGUSR2 && f != nil:
			pprof.StopCPUProfile()
			f.Close()
			f = nil
		}
	}
}
