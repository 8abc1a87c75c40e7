package jsonld

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func contextsDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "clr", "contexts")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found")
		}
		dir = parent
	}
}

func TestStandardPinsMatchSharedContexts(t *testing.T) {
	l := NewLoader(contextsDir(t))
	if err := l.Preload(); err != nil {
		t.Fatal(err)
	}
	for _, p := range StandardPins {
		rd, err := l.LoadDocument(p.URL)
		if err != nil {
			t.Fatal(err)
		}
		if rd.DocumentURL != p.URL {
			t.Fatalf("DocumentURL %q", rd.DocumentURL)
		}
		m, ok := rd.Document.(map[string]any)
		if !ok || m["@context"] == nil {
			t.Fatalf("%s: no @context", p.URL)
		}
		again, _ := l.LoadDocument(p.URL)
		if again != rd {
			t.Fatalf("%s: not served from the cache", p.URL)
		}
	}
	if len(VerifyDir(contextsDir(t), StandardPins)) != len(StandardPins) {
		t.Fatal("VerifyDir result count")
	}
	for _, r := range VerifyDir(contextsDir(t), StandardPins) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
}

func copyContexts(t *testing.T) string {
	dir := t.TempDir()
	for _, p := range StandardPins {
		b, err := os.ReadFile(filepath.Join(contextsDir(t), p.File))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p.File), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoaderErrors(t *testing.T) {
	dir := copyContexts(t)
	l := NewLoader(dir)
	if _, err := l.LoadDocument("https://example.com/evil-context.json"); !errors.Is(err, ErrUnknownContext) {
		t.Fatalf("unknown: %v", err)
	}
	// http:// variants are not the pinned URLs.
	if _, err := l.LoadDocument("http://www.w3.org/ns/credentials/v2"); !errors.Is(err, ErrUnknownContext) {
		t.Fatalf("http variant: %v", err)
	}
	// A modified file is refused...
	p := StandardPins[1]
	b, _ := os.ReadFile(filepath.Join(dir, p.File))
	tampered := strings.Replace(string(b), "https://www.w3.org/2018/credentials#", "https://evil.example/credentials#", 1)
	if tampered == string(b) {
		t.Fatal("tampering did not change the file")
	}
	os.WriteFile(filepath.Join(dir, p.File), []byte(tampered), 0o644)
	if _, err := l.LoadDocument(p.URL); !errors.Is(err, ErrContextMismatch) {
		t.Fatalf("mismatch: %v", err)
	}
	// ...a missing one too...
	os.Remove(filepath.Join(dir, StandardPins[2].File))
	if _, err := l.LoadDocument(StandardPins[2].URL); !errors.Is(err, ErrContextMissing) {
		t.Fatalf("missing: %v", err)
	}
	if err := l.Preload(); !errors.Is(err, ErrContextMismatch) || !errors.Is(err, ErrContextMissing) {
		t.Fatalf("Preload: %v", err)
	}
	// ...and a pin for a non-context JSON file is invalid.
	os.WriteFile(filepath.Join(dir, "x.json"), []byte(`{"a":1}`), 0o644)
	sum := sha256.Sum256([]byte(`{"a":1}`))
	l2 := NewLoader(dir, Pin{URL: "https://example.com/x", File: "x.json", SHA256: hex.EncodeToString(sum[:])})
	if _, err := l2.LoadDocument("https://example.com/x"); !errors.Is(err, ErrContextInvalid) {
		t.Fatalf("invalid: %v", err)
	}
	// Once cached, a document survives the file changing underneath.
	l3 := NewLoader(copyContexts(t))
	rd, err := l3.LoadDocument(StandardPins[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(l3.Dir(), StandardPins[0].File))
	if again, err := l3.LoadDocument(StandardPins[0].URL); err != nil || again != rd {
		t.Fatalf("cache: %v", err)
	}
}

// contextServer serves the shared contexts over TLS at /<host>/<path>, as the
// canonical URLs would, optionally corrupting one.
func contextServer(t *testing.T, corrupt string) (*httptest.Server, *Fetcher) {
	byPath := map[string]string{}
	for _, p := range StandardPins {
		u, _ := url.Parse(p.URL)
		byPath["/"+u.Host+u.Path] = p.File
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		file, ok := byPath[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b, err := os.ReadFile(filepath.Join(contextsDir(t), file))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if file == corrupt {
			b = append(b, ' ')
		}
		w.Header().Set("Content-Type", "application/ld+json")
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	f := &Fetcher{Client: srv.Client(), MapURL: func(canonical string) string {
		u, _ := url.Parse(canonical)
		return srv.URL + "/" + u.Host + u.Path
	}}
	return srv, f
}

func TestFetch(t *testing.T) {
	_, f := contextServer(t, "")
	dir := filepath.Join(t.TempDir(), "contexts")
	res, err := f.Fetch(context.Background(), dir, StandardPins)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(StandardPins) {
		t.Fatalf("%d results", len(res))
	}
	l := NewLoader(dir)
	if err := l.Preload(); err != nil {
		t.Fatalf("fetched directory does not load: %v", err)
	}
}

func TestFetchMismatchNotWritten(t *testing.T) {
	bad := StandardPins[3].File
	_, f := contextServer(t, bad)
	dir := t.TempDir()
	_, err := f.Fetch(context.Background(), dir, StandardPins)
	if !errors.Is(err, ErrContextMismatch) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, bad)); !os.IsNotExist(err) {
		t.Fatalf("mismatching context was written: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, StandardPins[0].File)); err != nil {
		t.Fatalf("good context not written: %v", err)
	}
}

func TestFetchRefusesPlainHTTP(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	f := &Fetcher{MapURL: func(string) string { return srv.URL + "/x" }}
	_, err := f.Fetch(context.Background(), t.TempDir(), StandardPins[:1])
	if !errors.Is(err, ErrInsecureURL) {
		t.Fatalf("err = %v", err)
	}
	// A redirect from https to http is refused as well.
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL+"/ctx", http.StatusFound)
	}))
	defer tls.Close()
	client := tls.Client()
	f = &Fetcher{MapURL: func(string) string { return tls.URL + "/x" }}
	def := f.client()
	def.Transport = client.Transport
	f.Client = def
	_, err = f.Fetch(context.Background(), t.TempDir(), StandardPins[:1])
	if !errors.Is(err, ErrInsecureURL) {
		t.Fatalf("redirect: err = %v", err)
	}
}

func TestFetchSizeLimit(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"@context":{"x":"`))
		w.Write([]byte(strings.Repeat("a", MaxContextSize)))
		w.Write([]byte(`"}}`))
	}))
	defer srv.Close()
	f := &Fetcher{Client: srv.Client(), MapURL: func(string) string { return srv.URL + "/big" }}
	_, err := f.Fetch(context.Background(), t.TempDir(), StandardPins[:1])
	if !errors.Is(err, ErrContextInvalid) {
		t.Fatalf("err = %v", err)
	}
}
