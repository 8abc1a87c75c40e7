package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/credential/jsonld"
)

func sharedContextsDir(t *testing.T) string {
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

// TestContextsFetchAndVerify runs `clr-server contexts fetch` against a
// local TLS server serving the shared contexts (one corrupted in the second
// run), then `contexts verify` on the result.
func TestContextsFetchAndVerify(t *testing.T) {
	src := sharedContextsDir(t)
	corrupt := ""
	files := map[string]string{}
	for _, p := range jsonld.StandardPins {
		u, _ := url.Parse(p.URL)
		files["/"+u.Host+u.Path] = p.File
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b, _ := os.ReadFile(filepath.Join(src, f))
		if f == corrupt {
			b = bytes.Replace(b, []byte("@id"), []byte("@iD"), 1)
		}
		w.Write(b)
	}))
	defer srv.Close()
	saved := newContextsFetcher
	defer func() { newContextsFetcher = saved }()
	newContextsFetcher = func() *jsonld.Fetcher {
		return &jsonld.Fetcher{Client: srv.Client(), MapURL: func(c string) string {
			u, _ := url.Parse(c)
			return srv.URL + "/" + u.Host + u.Path
		}}
	}

	dir := filepath.Join(t.TempDir(), "ctx")
	var out, errb bytes.Buffer
	if code := run([]string{"contexts", "fetch", "--dir", dir}, nil, &out, &errb); code != 0 {
		t.Fatalf("fetch exit %d: %s", code, errb.String())
	}
	if strings.Count(out.String(), "ok ") != len(jsonld.StandardPins) {
		t.Fatalf("fetch output:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"contexts", "verify", "--dir", dir}, nil, &out, &errb); code != 0 {
		t.Fatalf("verify exit %d: %s", code, errb.String())
	}

	corrupt = jsonld.StandardPins[4].File
	dir2 := t.TempDir()
	errb.Reset()
	if code := run([]string{"contexts", "fetch", "--dir", dir2}, nil, &out, &errb); code != 1 {
		t.Fatalf("fetch of a corrupted context exit %d", code)
	}
	if !strings.Contains(errb.String(), jsonld.StandardPins[4].URL) {
		t.Fatalf("stderr does not name the failing context: %s", errb.String())
	}
	errb.Reset()
	if code := run([]string{"contexts", "verify", "--dir", dir2}, nil, &out, &errb); code != 1 {
		t.Fatalf("verify of an incomplete directory exit %d", code)
	}
	if code := run([]string{"contexts", "fetch"}, nil, &out, &errb); code != 2 {
		t.Fatalf("missing --dir exit %d", code)
	}
	if code := run([]string{"contexts", "bogus"}, nil, &out, &errb); code != 2 {
		t.Fatalf("unknown subcommand exit %d", code)
	}
}
