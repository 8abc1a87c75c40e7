//go:build e2e

package e2e

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/localcluster"
)

// ingress stands in for the Ingress controller and DNS of a real
// installation (localcluster.Ingress, as `localup demo` uses): requests to
// a tenant's public host go to its local process with the headers an
// Ingress adds; others (the OpenID Connect provider) go out unchanged.
type ingress struct {
	localcluster.Ingress
}

// newIngress routes every tenant of the state; extraRoots are trusted
// besides the system roots for the other hosts.
func newIngress(st localState, extraRoots []byte) (*ingress, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if len(extraRoots) > 0 && !roots.AppendCertsFromPEM(extraRoots) {
		return nil, errors.New("the OpenID Connect provider's CA is not PEM")
	}
	in := &ingress{localcluster.Ingress{Base: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		// Fresh connections each time keep a stopped tenant from
		// answering through a pooled one.
		DisableKeepAlives: true,
	}}}
	for _, t := range st.Tenants {
		if err := in.AddRoute(t.PublicURL, t.Port); err != nil {
			return nil, fmt.Errorf("tenant %s: %w", t.Key, err)
		}
	}
	return in, nil
}

// client is an HTTP client through the ingress.
func (in *ingress) client() *http.Client {
	return &http.Client{Transport: &in.Ingress, Timeout: 30 * time.Second}
}

// browser keeps cookies and does not follow redirects, so that each step
// of a login is seen.
func (in *ingress) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Transport: &in.Ingress, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// response is a read HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) String() string {
	return fmt.Sprintf("%d %.600s", r.Status, r.Body)
}

// JSON decodes the body into v.
func (r *response) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("body is not the expected JSON (%v): %.300s", err, r.Body)
	}
	return nil
}

// call sends a request: body is JSON-encoded unless it is nil, a string
// (sent as application/x-www-form-urlencoded) or []byte.
func call(c *http.Client, method, target, bearer string, body any) (*response, error) {
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ctype = strings.NewReader(b), "application/x-www-form-urlencoded"
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/json"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd, ctype = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the body: %w", method, target, err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: raw}, nil
}

// mustCall is call that fails the test on a transport error or a status
// other than want.
func mustCall(t *testing.T, c *http.Client, want int, method, target, bearer string, body any) *response {
	t.Helper()
	r, err := call(c, method, target, bearer, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != want {
		t.Fatalf("%s %s: got %s, want status %d", method, target, r, want)
	}
	return r
}

// didWebURL is where a did:web DID's document is (did:web method §3.2).
func didWebURL(did string) string {
	host, path, _ := strings.Cut(strings.TrimPrefix(did, "did:web:"), ":")
	host = strings.ReplaceAll(host, "%3A", ":")
	if path == "" {
		return "https://" + host + "/.well-known/did.json"
	}
	return "https://" + host + "/" + strings.ReplaceAll(path, ":", "/") + "/did.json"
}

// externalResources are the documents a verifier fetches for a credential:
// the DID documents of every did:web it names (issuers, verification
// methods) and its status lists, nested credentials included.
func externalResources(doc any) []string {
	var out []string
	add := func(u string) {
		if u != "" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch x := v.(type) {
		case map[string]any:
			if key == "credentialStatus" {
				if s, ok := x["statusListCredential"].(string); ok {
					add(s)
				}
				if typ, _ := x["type"].(string); typ == "1EdTechRevocationList" {
					id, _ := x["id"].(string)
					add(id)
				}
			}
			for k, e := range x {
				walk(e, k)
			}
		case []any:
			for _, e := range x {
				walk(e, key)
			}
		case string:
			if strings.HasPrefix(x, "did:web:") {
				did, _, _ := strings.Cut(x, "#")
				add(didWebURL(did))
			}
		}
	}
	walk(doc, "")
	slices.Sort(out)
	return out
}

// verifyReport is the part of `clr-server verify`'s JSON report the suite
// reads.
type verifyReport struct {
	Verified    bool `json:"verified"`
	Errors      int  `json:"errors"`
	Credentials []struct {
		Path     string `json:"path"`
		ID       string `json:"id"`
		Verified bool   `json:"verified"`
		Checks   []struct {
			Check   string `json:"check"`
			Path    string `json:"path"`
			Status  string `json:"status"`
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"checks"`
		Proofs []struct {
			VerificationMethod string `json:"verificationMethod"`
			Verified           bool   `json:"verified"`
		} `json:"proofs"`
		Status *struct {
			State string `json:"state"`
		} `json:"status"`
	} `json:"credentials"`
}

// failures lists the checks that did not pass, for failure messages.
func (r *verifyReport) failures() string {
	var b strings.Builder
	for _, c := range r.Credentials {
		for _, ch := range c.Checks {
			if ch.Status == "fail" {
				fmt.Fprintf(&b, "\n  %s %s: %s %s %s %s", c.Path, ch.Check, ch.Status, ch.Code, ch.Path, ch.Message)
			}
		}
	}
	return b.String()
}

// verifyCLI runs the built `clr-server verify` on a credential (JSON, or a
// compact JWS as a JSON string) as a verifier would: offline, with every
// document it needs fetched now through the ingress and given with
// --resource (the public hosts do not resolve here). It returns the report
// and the exit status.
func verifyCLI(t *testing.T, in *ingress, credential json.RawMessage) (*verifyReport, int) {
	t.Helper()
	dir := t.TempDir()
	input := []byte(credential)
	var doc any
	var jws string
	if json.Unmarshal(credential, &jws) == nil {
		input = []byte(jws)
		payload, err := jwsPayload(jws)
		if err != nil {
			t.Fatal(err)
		}
		doc = payload
	} else if err := json.Unmarshal(credential, &doc); err != nil {
		t.Fatalf("the credential is neither JSON nor a JWS string: %v", err)
	}
	file := filepath.Join(dir, "credential")
	if err := os.WriteFile(file, input, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"verify", "--offline", "--contexts", state.Contexts}
	for _, u := range externalResources(doc) {
		r, err := call(in.client(), http.MethodGet, u, "", nil)
		if err != nil {
			t.Fatalf("fetching %s for the verifier: %v", u, err)
		}
		if r.Status != http.StatusOK {
			t.Fatalf("fetching %s for the verifier: %s", u, r)
		}
		sum := sha256.Sum256([]byte(u))
		f := filepath.Join(dir, hex.EncodeToString(sum[:8])+".json")
		if err := os.WriteFile(f, r.Body, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--resource", u+"="+f)
	}
	args = append(args, file)
	cmd := exec.CommandContext(ctx, filepath.Join(root, "tmp", "local", "bin", "clr-server"), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running clr-server verify: %v", err)
	}
	if code != 0 && code != 1 {
		t.Fatalf("clr-server verify %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
	}
	if code != 0 {
		// Kept for the post-mortem (tmp/local stays until the next local-up).
		keep := filepath.Join(root, "tmp", "local", "e2e", "verify-"+strings.ReplaceAll(t.Name(), "/", "-"))
		if err := os.MkdirAll(keep, 0o755); err == nil {
			_ = os.CopyFS(keep, os.DirFS(dir))
			_ = os.WriteFile(filepath.Join(keep, "report.json"), stdout.Bytes(), 0o644)
			_ = os.WriteFile(filepath.Join(keep, "command"), []byte(strings.Join(args, "\n")+"\n"), 0o644)
		}
	}
	var rep verifyReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("clr-server verify printed no JSON report (%v): %.500s %s", err, stdout.String(), stderr.String())
	}
	return &rep, code
}

// jwsPayload decodes the payload of a compact JWS.
func jwsPayload(jws string) (map[string]any, error) {
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a compact JWS: %d parts", len(parts))
	}
	raw, err := decodeSegment(parts[1])
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if vc, ok := m["vc"].(map[string]any); ok {
		return vc, nil
	}
	return m, nil
}

// proofKID is the key id (DID URL fragment) of a credential's proof: the
// Data Integrity proof's verificationMethod or the JWS header's kid.
func proofKID(credential json.RawMessage) (string, error) {
	var jws string
	if json.Unmarshal(credential, &jws) == nil {
		parts := strings.Split(jws, ".")
		raw, err := decodeSegment(parts[0])
		if err != nil {
			return "", err
		}
		var h struct {
			KID string `json:"kid"`
		}
		if err := json.Unmarshal(raw, &h); err != nil {
			return "", err
		}
		_, frag, _ := strings.Cut(h.KID, "#")
		return frag, nil
	}
	var doc struct {
		Proof json.RawMessage `json:"proof"`
	}
	if err := json.Unmarshal(credential, &doc); err != nil {
		return "", err
	}
	var proofs []struct {
		VerificationMethod string `json:"verificationMethod"`
	}
	if err := json.Unmarshal(doc.Proof, &proofs); err != nil {
		proofs = proofs[:0]
		var one struct {
			VerificationMethod string `json:"verificationMethod"`
		}
		if err := json.Unmarshal(doc.Proof, &one); err != nil {
			return "", fmt.Errorf("proof: %w", err)
		}
		proofs = append(proofs, one)
	}
	if len(proofs) == 0 {
		return "", errors.New("no proof")
	}
	_, frag, _ := strings.Cut(proofs[0].VerificationMethod, "#")
	return frag, nil
}

func decodeSegment(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("JWS segment: %w", err)
	}
	return b, nil
}
