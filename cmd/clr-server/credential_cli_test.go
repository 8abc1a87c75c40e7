package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
	"github.com/learnerrecords/clr-operator/internal/credential/resolve"
	"github.com/learnerrecords/clr-operator/internal/sharedclr"
)

// binary is clr-server built once by TestMain, so exit codes are tested on
// the real process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "clr-server-test-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "clr-server")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	// Stamped as the Makefile, imagebuild and the Dockerfile stamp it, so
	// TestVersion proves the -X paths.
	build := exec.Command(gobin, "build", "-ldflags", "-X "+buildinfoPkg+".version="+testVersion+" -X "+buildinfoPkg+".revision="+testRevision, "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		panic("build clr-server: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func sharedDir(t testing.TB) string {
	t.Helper()
	return sharedclr.Dir(t)
}

// exec runs the built binary and returns its exit code, stdout and stderr.
func execBinary(t *testing.T, dir string, stdin []byte, args ...string) (int, []byte, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.Bytes(), errb.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.Bytes(), errb.String()
	}
	t.Fatalf("run %v: %v", args, err)
	return -1, nil, ""
}

// inProcess runs a command through main's dispatcher.
func inProcess(stdin []byte, args ...string) (int, []byte, string) {
	var out, errb bytes.Buffer
	code := run(args, bytes.NewReader(stdin), &out, &errb)
	return code, out.Bytes(), errb.String()
}

type cliReport struct {
	Verified    bool `json:"verified"`
	Credentials []struct {
		Path   string `json:"path"`
		Checks []struct {
			Status string `json:"status"`
			Code   string `json:"code"`
		} `json:"checks"`
		Proofs []struct {
			KeyBinding string `json:"keyBinding"`
		} `json:"proofs"`
	} `json:"credentials"`
}

func (r cliReport) codes() []string {
	var out []string
	for _, c := range r.Credentials {
		for _, ch := range c.Checks {
			if ch.Status == "fail" || ch.Status == "warn" {
				out = append(out, ch.Code)
			}
		}
	}
	return out
}

func parseReport(t *testing.T, b []byte) cliReport {
	t.Helper()
	var r cliReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, b)
	}
	return r
}

// TestVerifyExamples is the done-when of the credential core: every example
// of ../shared/clr/examples (and the signed test vector) through the real
// binary, offline, with its expected exit status and codes. Why some do
// not verify offline is explained in internal/credential/verify's
// TestExamples: a did:web key and a revocation list on dc.1edtech.org
// (KEY_NOT_FOUND, STATUS_UNKNOWN), a status list on GitHub (STATUS_UNKNOWN
// unless --resource serves bit-string-list/testlist, then REVOKED), no
// proof at all. The https://example.com/...#z6Mk... methods fall back to
// the key in the fragment: verified, with a KEY_NOT_BOUND warning.
func TestVerifyExamples(t *testing.T) {
	shared := sharedDir(t)
	contexts := filepath.Join(shared, "contexts")
	ex := func(p string) string { return filepath.Join(shared, p) }
	listURL := "https://raw.githubusercontent.com/1EdTech/digital-credentials-public-validator/refs/heads/main/inspector-vc/src/test/resources/ob30/bit-string-list/testlist"
	cases := []struct {
		file  string
		extra []string
		exit  int
		want  []string
	}{
		{"examples/ob30/simple.json", nil, 0, []string{"KEY_NOT_BOUND"}},
		{"examples/ob30/simple-did-key-method.json", nil, 0, []string{"KEY_NOT_BOUND"}},
		{"examples/ob30/simple-did-web-method.json", nil, 0, []string{"KEY_NOT_BOUND"}},
		{"examples/ob30/simple-eddsa-2022.json", nil, 0, []string{"KEY_NOT_BOUND"}},
		{"examples/ob30/simple-err-expired.json", nil, 1, []string{"EXPIRED"}},
		{"examples/ob30/simple-noproof.json", nil, 1, []string{"PROOF_MISSING"}},
		{"examples/ob30/credential-status-revoked.json", nil, 1, []string{"KEY_NOT_FOUND", "STATUS_UNKNOWN"}},
		{"examples/ob30/bit-string-list/credential-status-revoked.json", nil, 1, []string{"STATUS_UNKNOWN"}},
		{"examples/ob30/bit-string-list/credential-status-revoked.json", []string{"--resource", listURL + "=" + ex("examples/ob30/bit-string-list/testlist")}, 1, []string{"REVOKED"}},
		{"examples/clr20/simple.json", nil, 0, []string{"KEY_NOT_BOUND"}},
		{"examples/clr20/simple_v1.json", nil, 0, []string{"KEY_NOT_BOUND"}},
		{"examples/clr20/simple-noproof.json", nil, 1, []string{"CONTEXT_UNKNOWN", "PROOF_MISSING"}},
		{"test-vectors/clrv2p0/signed-credential.json", nil, 0, []string{"KEY_NOT_BOUND"}},
	}
	// Every example file is covered.
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.file] = true
	}
	filepath.WalkDir(ex("examples"), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".json") {
			rel, _ := filepath.Rel(shared, p)
			if !covered[rel] {
				t.Errorf("example %s has no expected outcome", rel)
			}
		}
		return nil
	})
	for _, c := range cases {
		t.Run(c.file+strings.Join(c.extra, " "), func(t *testing.T) {
			args := append([]string{"verify", "--contexts", contexts, "--offline", "--now", "2026-06-01T00:00:00Z"}, c.extra...)
			args = append(args, ex(c.file))
			code, out, stderr := execBinary(t, t.TempDir(), nil, args...)
			if code != c.exit {
				t.Fatalf("exit %d, want %d; stderr %s\n%s", code, c.exit, stderr, out)
			}
			rep := parseReport(t, out)
			if rep.Verified != (c.exit == 0) {
				t.Fatalf("verified %v with exit %d", rep.Verified, code)
			}
			for _, w := range c.want {
				if !slices.Contains(rep.codes(), w) {
					t.Errorf("code %s missing from %v", w, rep.codes())
				}
			}
		})
	}
}

func TestVerifyUsageErrors(t *testing.T) {
	shared := sharedDir(t)
	contexts := filepath.Join(shared, "contexts")
	example := filepath.Join(shared, "examples/ob30/simple.json")
	cases := map[string][]string{
		"no file":              {"verify", "--contexts", contexts},
		"two files":            {"verify", "--contexts", contexts, example, example},
		"missing file":         {"verify", "--contexts", contexts, filepath.Join(t.TempDir(), "nope.json")},
		"bad --now":            {"verify", "--contexts", contexts, "--now", "tomorrow", example},
		"bad --resource":       {"verify", "--contexts", contexts, "--resource", "no-equals-sign", example},
		"unreadable resource":  {"verify", "--contexts", contexts, "--resource", "https://x/y=" + filepath.Join(t.TempDir(), "absent"), example},
		"contexts not a dir":   {"verify", "--contexts", example, example},
		"unknown flag":         {"verify", "--frobnicate", example},
		"unknown command":      {"frobnicate"},
		"no command":           {},
		"keygen bad algorithm": {"keygen", "--algorithm", "DSA-1024"},
		"keygen stray arg":     {"keygen", "x"},
		"sign without key":     {"sign", "--format", "di", example},
		"sign bad format":      {"sign", "--key", example, "--format", "xml", example},
		"sign key not PEM":     {"sign", "--key", example, example},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := inProcess(nil, args...)
			if code != exitUsage {
				t.Fatalf("in-process exit %d, want 2", code)
			}
			if stderr == "" {
				t.Error("no message on stderr")
			}
			if bcode, _, _ := execBinary(t, t.TempDir(), nil, args...); bcode != exitUsage {
				t.Fatalf("binary exit %d, want 2", bcode)
			}
		})
	}
}

// TestVerifyStdinAndJWT: verify reads "-" and accepts compact JWS input.
func TestVerifyStdinAndJWT(t *testing.T) {
	shared := sharedDir(t)
	contexts := filepath.Join(shared, "contexts")
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "tls.key")
	if code, _, stderr := inProcess(nil, "keygen", "--algorithm", "ECDSA-P256", "--out", keyFile); code != 0 {
		t.Fatalf("keygen: %s", stderr)
	}
	unsigned := unsignedExample(t, "examples/ob30/simple.json")
	code, token, stderr := inProcess(unsigned, "sign", "--key", keyFile, "--format", "jwt", "-")
	if code != 0 {
		t.Fatalf("sign jwt: %s", stderr)
	}
	if strings.Count(strings.TrimSpace(string(token)), ".") != 2 {
		t.Fatalf("not a compact JWS: %s", token)
	}
	code, out, stderr := inProcess(token, "verify", "--contexts", contexts, "--offline", "-")
	if code != 0 {
		t.Fatalf("verify JWT from stdin: exit %d %s\n%s", code, stderr, out)
	}
	// The same token, one character changed in the payload, fails with 1.
	tampered := []byte(strings.Replace(string(token), ".eyJ", ".eyK", 1))
	if bcode, out, _ := execBinary(t, dir, tampered, "verify", "--contexts", contexts, "--offline", "-"); bcode != 1 {
		t.Fatalf("tampered JWT: exit %d\n%s", bcode, out)
	}
}

func unsignedExample(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "proof")
	out, _ := json.Marshal(m)
	return out
}

func TestKeygen(t *testing.T) {
	for _, alg := range []string{keys.Ed25519, keys.ECDSAP256, keys.ECDSAP384, keys.RSA2048, keys.RSA3072} {
		t.Run(alg, func(t *testing.T) {
			code, out, stderr := inProcess(nil, "keygen", "--algorithm", alg)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !bytes.HasPrefix(out, []byte("-----BEGIN PRIVATE KEY-----")) {
				t.Fatalf("not a PKCS#8 PEM block: %.40s", out)
			}
			k, err := keys.ParsePrivateKeyPEM(out)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := keys.Algorithm(k); got != alg {
				t.Fatalf("algorithm %s, want %s", got, alg)
			}
		})
	}
	file := filepath.Join(t.TempDir(), "tls.key")
	if code, _, stderr := execBinary(t, t.TempDir(), nil, "keygen", "--out", file); code != 0 {
		t.Fatalf("keygen --out: %s", stderr)
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	before, _ := os.ReadFile(file)
	if code, _, _ := execBinary(t, t.TempDir(), nil, "keygen", "--out", file); code != exitUsage {
		t.Fatalf("keygen over an existing file: exit %d, want 2", code)
	}
	after, _ := os.ReadFile(file)
	if !bytes.Equal(before, after) {
		t.Fatal("existing key overwritten")
	}
}

// TestSignVerifyRoundTrip signs with every algorithm and format through the
// binary and verifies the result, with a did:web verification method whose
// DID document is served by --resource (bound) and with the default
// did:key (self-certifying).
func TestSignVerifyRoundTrip(t *testing.T) {
	shared := sharedDir(t)
	contexts := filepath.Join(shared, "contexts")
	unsigned := unsignedExample(t, "examples/ob30/simple.json")
	var cred map[string]any
	json.Unmarshal(unsigned, &cred)
	const did = "did:web:issuer.example.edu"
	cred["issuer"].(map[string]any)["id"] = did
	withIssuer, _ := json.Marshal(cred)
	cases := []struct {
		alg, format string
	}{
		{keys.Ed25519, "di"}, {keys.ECDSAP256, "di"}, {keys.ECDSAP384, "di"},
		{keys.Ed25519, "jwt"}, {keys.ECDSAP256, "jwt"}, {keys.ECDSAP384, "jwt"}, {keys.RSA2048, "jwt"},
	}
	for _, c := range cases {
		t.Run(c.alg+"/"+c.format, func(t *testing.T) {
			dir := t.TempDir()
			keyFile, vm, docFile := didWebIssuerKey(t, dir, did, c.alg)
			inFile := filepath.Join(dir, "in.json")
			os.WriteFile(inFile, withIssuer, 0o600)

			code, signed, stderr := execBinary(t, dir, nil, "sign", "--key", keyFile, "--format", c.format, "--contexts", contexts, "--verification-method", vm, inFile)
			if code != 0 {
				t.Fatalf("sign: exit %d %s", code, stderr)
			}
			if strings.Contains(string(signed), "PRIVATE") {
				t.Fatal("signed output mentions the private key")
			}
			signedFile := filepath.Join(dir, "signed")
			os.WriteFile(signedFile, signed, 0o600)
			code, out, stderr := execBinary(t, dir, nil, "verify", "--contexts", contexts, "--offline",
				"--resource", "https://issuer.example.edu/.well-known/did.json="+docFile, signedFile)
			if code != 0 {
				t.Fatalf("verify: exit %d %s\n%s", code, stderr, out)
			}
			rep := parseReport(t, out)
			if len(rep.Credentials) != 1 || len(rep.Credentials[0].Proofs) != 1 || rep.Credentials[0].Proofs[0].KeyBinding != "bound" {
				t.Fatalf("proofs %+v", rep.Credentials)
			}
			// Without the DID document the key cannot be found: exit 1.
			if code, out, _ := execBinary(t, dir, nil, "verify", "--contexts", contexts, "--offline", signedFile); code != 1 || !slices.Contains(parseReport(t, out).codes(), "KEY_NOT_FOUND") {
				t.Fatalf("verify without DID document: exit %d\n%s", code, out)
			}
			if c.alg == keys.RSA2048 {
				return
			}
			// Default verification method: the key's did:key.
			code, signed, stderr = inProcess(unsigned, "sign", "--key", keyFile, "--format", c.format, "--contexts", contexts, "-")
			if code != 0 {
				t.Fatalf("sign with did:key: %s", stderr)
			}
			code, out, _ = inProcess(signed, "verify", "--contexts", contexts, "--offline", "-")
			if code != 0 || !slices.Contains(parseReport(t, out).codes(), "KEY_NOT_BOUND") {
				t.Fatalf("verify did:key-signed: exit %d\n%s", code, out)
			}
		})
	}
	// Data Integrity has no RSA suite; a cryptosuite must fit the key.
	dir := t.TempDir()
	rsaKey, edKey := filepath.Join(dir, "rsa.key"), filepath.Join(dir, "ed.key")
	inProcess(nil, "keygen", "--algorithm", keys.RSA2048, "--out", rsaKey)
	inProcess(nil, "keygen", "--algorithm", keys.Ed25519, "--out", edKey)
	if code, _, _ := inProcess(unsigned, "sign", "--key", rsaKey, "--format", "di", "--contexts", contexts, "--verification-method", "did:web:x#k", "-"); code != exitUsage {
		t.Errorf("DI with RSA: exit %d", code)
	}
	if code, _, _ := inProcess(unsigned, "sign", "--key", edKey, "--format", "di", "--cryptosuite", "ecdsa-rdfc-2019", "--contexts", contexts, "-"); code != exitUsage {
		t.Errorf("mismatched cryptosuite: exit %d", code)
	}
	if code, _, _ := inProcess(unsigned, "sign", "--key", edKey, "--format", "di", "--cryptosuite", "eddsa-rdfc-2022", "--contexts", contexts, "-"); code != 0 {
		t.Errorf("matching cryptosuite: exit %d", code)
	}
}

// TestContextsDefault: without --contexts, verify uses ./contexts, then the
// directory next to the binary, else exits 2 with a clear message.
func TestContextsDefault(t *testing.T) {
	shared := sharedDir(t)
	example := filepath.Join(shared, "examples/ob30/simple.json")
	empty := t.TempDir()
	code, _, stderr := execBinary(t, empty, nil, "verify", "--offline", example)
	if code != exitUsage || !strings.Contains(stderr, "--contexts") {
		t.Fatalf("no contexts anywhere: exit %d, stderr %q", code, stderr)
	}
	cwd := t.TempDir()
	if err := os.Symlink(filepath.Join(shared, "contexts"), filepath.Join(cwd, "contexts")); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := execBinary(t, cwd, nil, "verify", "--offline", example); code != 0 {
		t.Fatalf("./contexts: exit %d %s\n%s", code, stderr, out)
	}
	binDir := t.TempDir()
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	nextTo := filepath.Join(binDir, "clr-server")
	if err := os.WriteFile(nextTo, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(shared, "contexts"), filepath.Join(binDir, "contexts")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nextTo, "verify", "--offline", example)
	cmd.Dir = empty
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("contexts next to the binary: %v\n%s", err, out)
	}
}

// TestVerifyStatusSet: a credential whose credentialStatus is an array (VC
// 2.0; the OB 3.0 schemas allow one object) fails on structure by default;
// with --allow-status-set the array is a warning and its entries are still
// checked: the entry names a list signed by another issuer, which must not
// count as "not revoked" (STATUS_UNKNOWN).
func TestVerifyStatusSet(t *testing.T) {
	shared := sharedDir(t)
	contexts := filepath.Join(shared, "contexts")
	const rel = "examples/ob30/bit-string-list/credential-status-revoked.json"
	listURL := "https://raw.githubusercontent.com/1EdTech/digital-credentials-public-validator/refs/heads/main/inspector-vc/src/test/resources/ob30/bit-string-list/testlist"
	var cred map[string]any
	if err := json.Unmarshal(unsignedExample(t, rel), &cred); err != nil {
		t.Fatal(err)
	}
	const did = "did:web:issuer.example.edu"
	cred["issuer"].(map[string]any)["id"] = did
	cred["credentialStatus"] = []any{cred["credentialStatus"]}
	dir := t.TempDir()
	keyFile, vm, docFile := didWebIssuerKey(t, dir, did, keys.Ed25519)
	in, _ := json.Marshal(cred)
	inFile := filepath.Join(dir, "in.json")
	os.WriteFile(inFile, in, 0o600)
	code, signed, stderr := inProcess(nil, "sign", "--key", keyFile, "--format", "jwt", "--contexts", contexts, "--verification-method", vm, inFile)
	if code != 0 {
		t.Fatalf("sign: exit %d %s", code, stderr)
	}
	signedFile := filepath.Join(dir, "signed")
	os.WriteFile(signedFile, signed, 0o600)
	statusOf := func(r cliReport, code string) []string {
		var out []string
		for _, c := range r.Credentials {
			for _, ch := range c.Checks {
				if ch.Code == code {
					out = append(out, ch.Status)
				}
			}
		}
		return out
	}
	base := []string{"verify", "--contexts", contexts, "--offline", "--now", "2026-06-01T00:00:00Z",
		"--resource", "https://issuer.example.edu/.well-known/did.json=" + docFile,
		"--resource", listURL + "=" + filepath.Join(shared, "examples/ob30/bit-string-list/testlist")}

	code, out, _ := inProcess(nil, append(base, signedFile)...)
	rep := parseReport(t, out)
	if code != 1 || !slices.Contains(statusOf(rep, "STRUCTURE"), "fail") {
		t.Fatalf("default: exit %d, STRUCTURE %v, want exit 1 with a STRUCTURE failure\n%s", code, statusOf(rep, "STRUCTURE"), out)
	}
	code, out, _ = inProcess(nil, append(base, "--allow-status-set", signedFile)...)
	rep = parseReport(t, out)
	if got := statusOf(rep, "STRUCTURE"); code != 1 || !slices.Equal(got, []string{"warn"}) {
		t.Fatalf("--allow-status-set: exit %d, STRUCTURE %v, want exit 1 with only a STRUCTURE warning\n%s", code, got, out)
	}
	if !slices.Contains(statusOf(rep, "STATUS_UNKNOWN"), "fail") || rep.Verified {
		t.Fatalf("--allow-status-set: the revoked entry of the set was not checked: %v\n%s", rep.codes(), out)
	}
}

// didWebIssuerKey generates a key with `clr-server keygen` into dir and
// writes the DID document of did publishing it as did#key-1; it returns the
// key file, the verification method and the document's file (to serve with
// --resource).
func didWebIssuerKey(t *testing.T, dir, did, alg string) (keyFile, vm, docFile string) {
	t.Helper()
	keyFile = filepath.Join(dir, "tls.key")
	if code, _, stderr := inProcess(nil, "keygen", "--algorithm", alg, "--out", keyFile); code != 0 {
		t.Fatal(stderr)
	}
	pemBytes, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := keys.ParsePrivateKeyPEM(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := keys.PublicJWK(signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	vm = did + "#key-1"
	didDoc, _ := json.Marshal(map[string]any{
		"@context": []any{resolve.DIDContext}, "id": did,
		"verificationMethod": []any{map[string]any{"id": vm, "type": "JsonWebKey", "controller": did, "publicKeyJwk": jwk}},
		"assertionMethod":    []any{vm},
	})
	docFile = filepath.Join(dir, "did.json")
	if err := os.WriteFile(docFile, didDoc, 0o600); err != nil {
		t.Fatal(err)
	}
	return keyFile, vm, docFile
}

const (
	buildinfoPkg = "github.com/learnerrecords/clr-operator/internal/buildinfo"
	testVersion  = "v0.0.0-test"
	testRevision = "0123456789abcdef"
)

func TestVersion(t *testing.T) {
	code, out, stderr := execBinary(t, t.TempDir(), nil, "version")
	if want := "clr-server " + testVersion + " (revision " + testRevision + ", " + runtime.Version() + ")\n"; code != 0 || string(out) != want {
		t.Fatalf("version: exit %d, %q (stderr %s), want %q", code, out, stderr, want)
	}
	code, out, _ = execBinary(t, t.TempDir(), nil, "version", "--json")
	var got map[string]string
	if err := json.Unmarshal(out, &got); code != 0 || err != nil || got["version"] != testVersion || got["revision"] != testRevision || got["goVersion"] != runtime.Version() {
		t.Fatalf("version --json: exit %d, %s (%v)", code, out, err)
	}
	if code, _, _ := execBinary(t, t.TempDir(), nil, "version", "extra"); code != 2 {
		t.Errorf("version with an argument: exit %d, want 2", code)
	}
}
