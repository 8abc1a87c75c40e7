package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
	"github.com/learnerrecords/clr-operator/internal/server"
	"github.com/learnerrecords/clr-operator/internal/server/app"
)

func sharedContexts(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "clr", "contexts")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type running struct {
	srv     *server.Server
	api     string
	metrics string
	logs    *syncBuffer
	stop    func() error
}

// start runs a development server on loopback with the given mounts
// (nil: the real handler packages) and returns its URLs.
func start(t *testing.T, mounts []server.Mount, tweak func(*app.Deps)) *running {
	t.Helper()
	dataDir := t.TempDir()
	cfg, secrets, err := server.DevSetup(dataDir, "127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ContextsDir = sharedContexts(t)
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.PublicURL = "http://" + apiLn.Addr().String()
	cfg.Server.RateLimit = 5
	cfg.Server.MaxBodyBytes = 1024
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv, err := server.New(context.Background(), server.Options{
		Config: cfg, Secrets: secrets, Logger: server.NewLogger(logs, -4), Mounts: mounts,
		ShutdownTimeout: 20 * time.Second, KeyWatchInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(srv.Deps())
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, apiLn, metricsLn) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-errc
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &running{srv: srv, api: "http://" + apiLn.Addr().String(), metrics: "http://" + metricsLn.Addr().String(), logs: logs, stop: stop}
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func testMounts(release chan struct{}) []server.Mount {
	return []server.Mount{{Name: "test", Mount: func(d *app.Deps, mux *http.ServeMux) error {
		mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("kaboom") })
		d.BodyLimits["POST /stream"] = 0
		mux.HandleFunc("POST /stream", func(w http.ResponseWriter, r *http.Request) {
			n, err := io.Copy(io.Discard, r.Body)
			if err != nil {
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				return
			}
			fmt.Fprint(w, n)
		})
		mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("big") != "" {
				app.SetBodyLimit(r, 1<<20)
			}
			b, err := io.ReadAll(r.Body)
			if err != nil {
				var mbe *http.MaxBytesError
				if ok := asMaxBytes(err, &mbe); ok {
					w.WriteHeader(http.StatusRequestEntityTooLarge)
					return
				}
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.Write(b)
		})
		mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Id", app.RequestID(r.Context()))
			<-release
			io.WriteString(w, "finished")
		})
		return nil
	}}}
}

func asMaxBytes(err error, target **http.MaxBytesError) bool {
	for err != nil {
		if e, ok := err.(*http.MaxBytesError); ok {
			*target = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func TestHealthReadyAndMetrics(t *testing.T) {
	r := start(t, testMounts(nil), nil)
	resp, body := get(t, r.api+"/healthz")
	if resp.StatusCode != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("healthz %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, r.api+"/readyz")
	if resp.StatusCode != 200 || !strings.Contains(body, `"ready"`) {
		t.Fatalf("readyz %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, r.metrics+"/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("metrics %d", resp.StatusCode)
	}
	for _, want := range []string{
		`clr_http_requests_total{code="200",method="GET",route="GET /readyz"} 1`,
		`clr_http_request_duration_seconds_bucket{method="GET",route="GET /healthz"`,
		`clr_oauth_clients 0`,
		`clr_signing_key_not_after_timestamp_seconds{algorithm="Ed25519",issuer="dev-university"`,
		`clr_signing_keys_published{issuer="dev-university"} 1`,
		`clr_store_up 1`,
		`clr_server_build_info{goversion="go`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// /metrics is not on the API listener.
	if resp, _ := get(t, r.api+"/metrics"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("API listener serves /metrics: %d", resp.StatusCode)
	}
	// Readiness follows the database: closed store, not ready.
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
}

func TestReadyzFailsWithoutDatabase(t *testing.T) {
	r := start(t, testMounts(nil), nil)
	r.srv.Deps().Store.Close()
	resp, body := get(t, r.api+"/readyz")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"database":"unreachable"`) {
		t.Fatalf("readyz with a closed store: %d %s", resp.StatusCode, body)
	}
	resp, _ = get(t, r.api+"/healthz")
	if resp.StatusCode != 200 {
		t.Fatalf("liveness must not depend on the database: %d", resp.StatusCode)
	}
}

func TestMiddleware(t *testing.T) {
	r := start(t, testMounts(nil), nil)

	// Request ids: generated, or a sane incoming one echoed.
	resp, _ := get(t, r.api+"/healthz")
	if id := resp.Header.Get("X-Request-Id"); len(id) != 24 {
		t.Fatalf("generated request id %q", id)
	}
	resp, _ = get(t, r.api+"/healthz", "X-Request-Id", "abc-123")
	if resp.Header.Get("X-Request-Id") != "abc-123" {
		t.Fatal("incoming request id not kept")
	}
	resp, _ = get(t, r.api+"/healthz", "X-Request-Id", "bad id with spaces")
	if strings.Contains(resp.Header.Get("X-Request-Id"), " ") {
		t.Fatal("unsafe request id echoed")
	}

	// Panics become a 500 Imsx_StatusInfo and the server survives.
	resp, body := get(t, r.api+"/panic")
	if resp.StatusCode != 500 || !strings.Contains(body, `"internal_server_error"`) {
		t.Fatalf("panic: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(r.logs.String(), "kaboom") {
		t.Fatal("panic not logged")
	}

	// Body limit (1 KiB here), and a handler raising it.
	post := func(path string, n int) int {
		resp, err := http.Post(r.api+path, "text/plain", strings.NewReader(strings.Repeat("x", n)))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post("/echo", 1024); c != 200 {
		t.Fatalf("body at the limit: %d", c)
	}
	if c := post("/echo", 1025); c != http.StatusRequestEntityTooLarge {
		t.Fatalf("body over the limit: %d", c)
	}
	if c := post("/echo?big=1", 100000); c != 200 {
		t.Fatalf("raised limit: %d", c)
	}
	if c := post("/stream", 200000); c != 200 {
		t.Fatalf("route with no body limit: %d", c)
	}

	// Access log: JSON, with the request id and route, never the token.
	logs := r.logs.String()
	if !strings.Contains(logs, `"request_id":"abc-123"`) || !strings.Contains(logs, `"route":"GET /healthz"`) {
		t.Fatalf("access log lacks fields:\n%s", logs)
	}
}

func TestRateLimitPerClient(t *testing.T) {
	r := start(t, testMounts(nil), nil) // 5/s, burst 10
	limited := 0
	for i := 0; i < 40; i++ {
		resp, body := get(t, r.api+"/healthz", "Authorization", "Bearer secret-token-A")
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
			if !strings.Contains(body, `"server_busy"`) || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("429 body %s", body)
			}
		}
	}
	if limited == 0 {
		t.Fatal("40 rapid requests from one client were never limited")
	}
	// Another client is not affected by the first one's burst.
	if resp, _ := get(t, r.api+"/healthz", "Authorization", "Bearer secret-token-B"); resp.StatusCode != 200 {
		t.Fatalf("second client limited: %d", resp.StatusCode)
	}
	if strings.Contains(r.logs.String(), "secret-token") {
		t.Fatal("a bearer token reached the logs")
	}
	_, body := get(t, r.metrics+"/metrics")
	if !strings.Contains(body, "clr_http_rate_limited_total") || strings.Contains(body, "clr_http_rate_limited_total 0") {
		t.Fatal("rate limiting not counted")
	}
}

func TestGracefulShutdown(t *testing.T) {
	release := make(chan struct{})
	r := start(t, testMounts(release), nil)
	type result struct {
		code int
		body string
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := http.Get(r.api + "/slow")
		if err != nil {
			inflight <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		inflight <- result{code: resp.StatusCode, body: string(b)}
	}()
	// Wait until the slow request is being served.
	deadline := time.Now().Add(30 * time.Second)
	for !inFlight(t, r) {
		if time.Now().After(deadline) {
			t.Fatal("slow request never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- r.stop() }()
	// New connections are refused once shutdown began.
	deadline = time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", strings.TrimPrefix(r.api, "http://"))
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting after shutdown began")
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-stopped:
		t.Fatalf("server stopped before the request in flight finished: %v", err)
	default:
	}
	close(release)
	res := <-inflight
	if res.err != nil || res.code != 200 || res.body != "finished" {
		t.Fatalf("in-flight request: %+v", res)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
	if !strings.Contains(r.logs.String(), `"msg":"stopped"`) {
		t.Fatal("shutdown not logged")
	}
}

// inFlight reads the in-flight gauge from the metrics listener.
func inFlight(t *testing.T, r *running) bool {
	resp, err := http.Get(r.metrics + "/metrics")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), "clr_http_requests_in_flight 1")
}

// TestRealHandlersMounted assembles the server with the real handler
// packages and checks a route of each is served.
func TestRealHandlersMounted(t *testing.T) {
	r := start(t, nil, nil)
	resp, body := get(t, r.api+"/ims/clr/v2p0/discovery")
	if resp.StatusCode != 200 {
		t.Fatalf("discovery %d %s", resp.StatusCode, body)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc["openapi"] == nil {
		t.Fatalf("discovery is not an OpenAPI document: %v", err)
	}
	resp, body = get(t, r.api+"/ims/clr/v2p0/credentials")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "imsx_codeMajor") {
		t.Fatalf("unauthenticated credentials: %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, r.api+"/.well-known/jwks.json")
	if resp.StatusCode != 200 || !strings.Contains(body, `"keys"`) {
		t.Fatalf("jwks %d %s", resp.StatusCode, body)
	}
	resp, _ = get(t, r.api+"/.well-known/oauth-authorization-server")
	if resp.StatusCode != 200 {
		t.Fatalf("oauth metadata %d", resp.StatusCode)
	}
	_, body = get(t, r.metrics+"/metrics")
	if !strings.Contains(body, `route="GET /ims/clr/v2p0/discovery"`) {
		t.Fatal("route label missing for a real handler")
	}
}

// TestKeyRenewalWhileServing replaces tls.key under a running server: the
// watcher started by Serve swaps the key, the JWKS then publishes both keys
// (the new one first), and the metrics name the new kid.
func TestKeyRenewalWhileServing(t *testing.T) {
	r := start(t, nil, nil)
	issuer := r.srv.Deps().Config.Issuers[0]
	ik, _ := r.srv.Deps().Keys.Issuer(issuer.Name)
	oldKID := ik.Current().KID

	k, err := keys.Generate(keys.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	pemKey, _ := keys.MarshalPrivateKeyPEM(k)
	newKID, _ := keys.Thumbprint(k.Public())
	tmp := filepath.Join(issuer.Signing.KeyDir, ".tls.key.new")
	if err := os.WriteFile(tmp, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(issuer.Signing.KeyDir, "tls.key")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, body := get(t, r.api+"/.well-known/jwks.json")
		if strings.Contains(body, newKID) {
			if !strings.Contains(body, oldKID) {
				t.Fatalf("the retired key is no longer published: %s", body)
			}
			if strings.Index(body, newKID) > strings.Index(body, oldKID) {
				t.Fatalf("the new key is not listed first: %s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("JWKS never published the renewed key %s: %s", newKID, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ik.Current().KID != newKID {
		t.Fatalf("current kid %s, want %s", ik.Current().KID, newKID)
	}
	_, metrics := get(t, r.metrics+"/metrics")
	if !strings.Contains(metrics, `kid="`+newKID+`"`) || !strings.Contains(metrics, `clr_signing_keys_published{issuer="dev-university"} 2`) {
		t.Fatal("metrics do not reflect the renewal")
	}
	if strings.Contains(r.logs.String(), "PRIVATE KEY") {
		t.Fatal("key material logged")
	}
}

// TestContainerMemoryLimit: the container's memory limit reaches the
// dependencies and sizes the page cache (a quarter of 128Mi), which is
// logged once; a limit that is not a byte count stops the server, naming
// the variable.
func TestContainerMemoryLimit(t *testing.T) {
	cfg, secrets, err := server.DevSetup(t.TempDir(), "127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ContextsDir = sharedContexts(t)
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CLR_MEMORY_LIMIT": "134217728"}
	logs := &syncBuffer{}
	srv, err := server.New(context.Background(), server.Options{
		Config: cfg, Secrets: secrets, Logger: server.NewLogger(logs, 0), Getenv: func(k string) string { return env[k] },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if got := srv.Deps().MemoryLimit; got != 128<<20 {
		t.Errorf("MemoryLimit %d, want %d", got, 128<<20)
	}
	if n := strings.Count(logs.String(), `"msg":"GET credentials page cache (used with SQLite only)","bytes":33554432,"automatic":true`); n != 1 {
		t.Errorf("page cache size logged %d times, want once with 32Mi:\n%s", n, logs.String())
	}

	env["CLR_MEMORY_LIMIT"] = "128Mi"
	_, err = server.New(context.Background(), server.Options{
		Config: cfg, Secrets: secrets, Logger: server.NewLogger(io.Discard, 0), Getenv: func(k string) string { return env[k] },
	})
	if err == nil || !strings.Contains(err.Error(), "CLR_MEMORY_LIMIT") {
		t.Fatalf("CLR_MEMORY_LIMIT=128Mi: error %v, want one naming the variable", err)
	}
}
