package image

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/jsonld"
)

// The binaries run from the extracted image filesystem, with the image's
// environment (its absolute paths moved under the extraction root) and
// working directory, as the image's user when the test runs as root (as
// on CI), so that they only reach what that user can.

// inRoot moves an absolute image path under the extraction root.
func inRoot(rootfs, p string) string {
	return filepath.Join(rootfs, filepath.FromSlash(p))
}

// imageEnv is the image's environment with its absolute paths under rootfs.
func imageEnv(rootfs string, img *ociImage) []string {
	var env []string
	for _, kv := range img.Config.Config.Env {
		k, v, _ := strings.Cut(kv, "=")
		var parts []string
		for _, p := range strings.Split(v, ":") {
			if strings.HasPrefix(p, "/") {
				p = inRoot(rootfs, p)
			}
			parts = append(parts, p)
		}
		env = append(env, k+"="+strings.Join(parts, ":"))
	}
	return env
}

// imageCommand is the image's entrypoint with args, as the image's user.
func imageCommand(t *testing.T, rootfs string, img *ociImage, args ...string) *exec.Cmd {
	t.Helper()
	ep := img.Config.Config.Entrypoint
	cmd := exec.Command(inRoot(rootfs, ep[0]), append(ep[1:], args...)...)
	cmd.Env = imageEnv(rootfs, img)
	cmd.Dir = inRoot(rootfs, img.Config.Config.WorkingDir)
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: imageUID, Gid: imageUID}}
	} else {
		t.Logf("not root: running %s as uid %d, not the image's user", ep[0], os.Geteuid())
	}
	return cmd
}

// userDir is a directory the image's user can write (a volume's stand-in).
func userDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(tempDir(t), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(dir, imageUID, imageUID); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runManagerHelp(t *testing.T, rootfs string, img *ociImage) {
	if out, err := imageCommand(t, rootfs, img, "--version").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "manager "+testVersion+" (revision "+testRevision+", ") {
		t.Errorf("/manager --version: %v %q", err, out)
	}
	cmd := imageCommand(t, rootfs, img, "-h")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("/manager -h: %v\n%s", err, out)
	}
	for _, flag := range []string{"-clr-server-image", "-leader-elect", "-metrics-bind-address"} {
		if !bytes.Contains(out, []byte(flag)) {
			t.Errorf("/manager -h does not list %s:\n%s", flag, out)
		}
	}
}

func runServer(t *testing.T, rootfs string, img *ociImage) {
	// The binary reports the release and revision the image is labelled
	// with (stamped at build time).
	out, err := imageCommand(t, rootfs, img, "version").CombinedOutput()
	if want := "clr-server " + testVersion + " (revision " + testRevision + ", "; err != nil || !strings.HasPrefix(string(out), want) {
		t.Errorf("clr-server version in the image: %v %q, want prefix %q", err, out, want)
	}

	// The image's own binary checks the image's contexts against its pins.
	verify := imageCommand(t, rootfs, img, "contexts", "verify", "--dir", inRoot(rootfs, "/contexts"))
	out, err = verify.CombinedOutput()
	if err != nil {
		t.Fatalf("clr-server contexts verify in the image: %v\n%s", err, out)
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "ok ") {
			n++
		}
	}
	if n != len(jsonld.StandardPins) {
		t.Errorf("contexts verify checked %d contexts, want %d:\n%s", n, len(jsonld.StandardPins), out)
	}

	// serve as the image's CMD, in development mode on loopback ports
	// chosen by the kernel; the contexts come from the image's environment.
	args := append(append([]string{}, img.Config.Config.Cmd...),
		"--dev", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--data-dir", userDir(t))
	cmd := imageCommand(t, rootfs, img, args...)
	stdout := &urlWriter{ready: make(chan struct{})}
	var stderr syncBuffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting clr-server serve: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			<-done
		}
	}()
	select {
	case <-stdout.ready:
	case err := <-done:
		stopped = true
		t.Fatalf("clr-server serve exited before serving: %v\nstderr:\n%s", err, stderr.Bytes())
	case <-time.After(2 * time.Minute):
		// A guard against a hang, not a measure of speed.
		t.Fatalf("clr-server serve printed no URLs; stderr:\n%s", stderr.Bytes())
	}
	found := stdout.urls()

	if os.Geteuid() == 0 {
		status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "status"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(status, []byte("\nUid:\t65532\t65532\t65532\t65532\n")) ||
			!bytes.Contains(status, []byte("\nGid:\t65532\t65532\t65532\t65532\n")) {
			t.Errorf("clr-server does not run as 65532:65532:\n%s", status)
		}
	}

	client := &http.Client{Timeout: 10 * time.Second}
	get := func(url string) (int, []byte) {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v\nstderr:\n%s", url, err, stderr.Bytes())
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	if code, body := get(found["Health"]); code != http.StatusOK {
		t.Errorf("GET %s: %d %s", found["Health"], code, body)
	}
	// Ready once the store is open; poll briefly rather than assume.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		code, body := get(found["Ready"])
		if code == http.StatusOK {
			break
		}
		if ctx.Err() != nil {
			t.Errorf("GET %s: %d %s", found["Ready"], code, body)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	code, body := get(found["Discovery"])
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", found["Discovery"], code, body)
	}
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") || len(doc.Paths) == 0 {
		t.Errorf("discovery document is not OpenAPI 3 with paths (%v):\n%.500s", err, body)
	}

	// A clean stop on SIGTERM, as the kubelet stops it.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = <-done
	stopped = true
	if err != nil {
		t.Errorf("clr-server serve after SIGTERM: %v\nstderr:\n%s", err, stderr.Bytes())
	}
	if bytes.Contains(bytes.ToLower(stderr.Bytes()), []byte("permission denied")) {
		t.Errorf("clr-server hit a permission error as the image's user:\n%s", stderr.Bytes())
	}
}

// urlWriter takes clr-server's stdout and collects its "Name: URL" lines;
// ready closes once the health, readiness and discovery URLs are known.
type urlWriter struct {
	mu     sync.Mutex
	buf    []byte
	found  map[string]string
	ready  chan struct{}
	closed bool
}

func (w *urlWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if w.found == nil {
		w.found = map[string]string{}
	}
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSpace(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
		if k, v, ok := strings.Cut(line, ":"); ok {
			w.found[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if !w.closed && w.found["Health"] != "" && w.found["Ready"] != "" && w.found["Discovery"] != "" {
		w.closed = true
		close(w.ready)
	}
	return len(p), nil
}

func (w *urlWriter) urls() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.found)
}

// syncBuffer is a bytes.Buffer safe to read while the process writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
