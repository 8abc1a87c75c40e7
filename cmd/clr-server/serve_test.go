package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeDev runs the real binary: `clr-server serve --dev` on random
// loopback ports, checks health, readiness and metrics, then stops it with
// SIGTERM and expects a graceful exit.
func TestServeDev(t *testing.T) {
	work := t.TempDir()
	cmd := exec.Command(binary, "serve", "--dev", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
		"--contexts", sharedContextsDir(t))
	cmd.Dir = work
	// A 128Mi container, as the operator's downward API describes it.
	cmd.Env = append(os.Environ(), "CLR_MEMORY_LIMIT=134217728", "GOMEMLIMIT=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	}()

	urls := map[string]string{}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(60 * time.Second)
	for urls["Metrics"] == "" || urls["Health"] == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve exited early; stderr:\n%s", stderr.String())
			}
			if k, v, found := strings.Cut(strings.TrimSpace(l), ":"); found {
				urls[k] = strings.TrimSpace(v)
			}
		case <-deadline:
			t.Fatalf("serve printed no URLs; stderr:\n%s", stderr.String())
		}
	}
	go io.Copy(io.Discard, stdout)
	if !strings.HasSuffix(urls["CLR API"], "/ims/clr/v2p0/") || !strings.HasPrefix(urls["CLR API"], "http://127.0.0.1:") {
		t.Fatalf("CLR API base %q", urls["CLR API"])
	}

	check := func(url string, want int, contains string) string {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want || !strings.Contains(string(b), contains) {
			t.Fatalf("GET %s: %d %.300s", url, resp.StatusCode, b)
		}
		return string(b)
	}
	check(urls["Health"], 200, `"ok"`)
	check(urls["Ready"], 200, `"ready"`)
	discovery := check(urls["Discovery"], 200, `"openapi"`)
	// The issuing API is documented in the same service description.
	if !strings.Contains(discovery, `"/issuing/v1/records"`) {
		t.Fatal("discovery lacks the issuing API paths")
	}
	metrics := check(urls["Metrics"], 200, "clr_http_requests_total")
	if !strings.Contains(metrics, `route="GET /readyz"`) {
		t.Fatal("metrics lack the readyz route")
	}

	// The generated development key is private to the user.
	fi, err := os.Stat(filepath.Join(work, "clr-data", "keys", "dev-university", "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("dev key mode %v", fi.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(work, "clr-data", "clr.db")); err != nil {
		t.Fatalf("SQLite database not under ./clr-data: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve exited with %v; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop after SIGTERM")
	}
	logs := stderr.String()
	if !strings.Contains(logs, `"msg":"stopped"`) {
		t.Fatalf("no graceful shutdown in the logs:\n%s", logs)
	}
	if strings.Contains(logs, "PRIVATE KEY") {
		t.Fatal("key material in the logs")
	}
	// 90% of the container limit, rounded down; logged once.
	if n := strings.Count(logs, `"msg":"Go soft memory limit set","bytes":120795955,"containerLimitBytes":134217728`); n != 1 {
		t.Fatalf("soft memory limit logged %d times, want once:\n%s", n, logs)
	}
}

// TestServeMemoryLimitErrors: a container limit that is not a byte count,
// or a ratio above 1, stops serve before it starts.
func TestServeMemoryLimitErrors(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	for _, c := range []struct {
		env   string
		args  []string
		wants string
	}{
		{"128Mi", nil, `CLR_MEMORY_LIMIT="128Mi": want the memory limit in bytes`},
		{"134217728", []string{"--memory-limit-ratio", "1.5"}, "memory limit ratio 1.5"},
	} {
		t.Setenv("CLR_MEMORY_LIMIT", c.env)
		args := append([]string{"serve", "--dev", "--contexts", sharedContextsDir(t)}, c.args...)
		code, _, stderr := inProcess(nil, args...)
		if code != 1 || !strings.Contains(stderr, c.wants) {
			t.Errorf("CLR_MEMORY_LIMIT=%s %v: exit %d, stderr:\n%s\nwant it to contain %q", c.env, c.args, code, stderr, c.wants)
		}
	}
}

func TestServeConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "config.yaml")
	os.WriteFile(bad, []byte(`apiVersion: clr.learnerrecords.io/server-config/v1
server:
  listen: ":8080"
  publicURL: ftp://clr.example.edu
storage:
  driver: sqlite
  sqlitePath: /tmp/x.db
issuers:
  - name: state-u
    profile: {name: State U}
    signing: {algorithm: Ed448, keyDir: /k, proofFormats: [VC-JWT]}
secretsFile: /s.json
oauth:
  oidc: {issuerURL: "https://login.example.edu", clientID: c, clientSecretFile: /x}
`), 0o600)
	code, _, stderr := inProcess(nil, "serve", "--config", bad, "--contexts", sharedContextsDir(t))
	if code != 1 || !strings.Contains(stderr, "server.publicURL") || !strings.Contains(stderr, "issuers[0].signing.algorithm") {
		t.Fatalf("bad config: exit %d, stderr:\n%s", code, stderr)
	}
	code, _, stderr = inProcess(nil, "serve", "--contexts", sharedContextsDir(t))
	if code != 1 || !strings.Contains(stderr, "--config") {
		t.Fatalf("no config: exit %d, stderr:\n%s", code, stderr)
	}
	code, _, stderr = inProcess(nil, "serve", "--bogus")
	if code != 2 || !strings.Contains(stderr, "bogus") {
		t.Fatalf("bad flag: exit %d, stderr:\n%s", code, stderr)
	}
}
