package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/learnerrecords/clr-operator/internal/localcluster"
)

func TestDIDWebPath(t *testing.T) {
	for did, want := range map[string]string{
		"did:web:records.cascadia-state.edu":                                   "/.well-known/did.json",
		"did:web:records.cascadia-state.edu:issuers:cascadia-state-university": "/issuers/cascadia-state-university/did.json",
		"did:web:www.riverbend.edu:records:issuers:riverbend-college":          "/records/issuers/riverbend-college/did.json",
		"did:key:z6Mk": "",
	} {
		if got := didWebPath(did); got != want {
			t.Errorf("didWebPath(%s) = %q, want %q", did, got, want)
		}
	}
}

func TestRewriteStringsOnlyUnderMounts(t *testing.T) {
	cfg := map[string]any{
		"secretsFile": "/etc/clr/secrets/secrets.json",
		"server":      map[string]any{"dataDir": "/var/lib/clr", "publicURL": "https://x.edu/etc/clr"},
		"issuers":     []any{map[string]any{"signing": map[string]any{"keyDir": "/etc/clr/keys/a"}}},
		"other":       "/etc/clrx/not-a-mount",
	}
	mounts := []string{"/etc/clr/secrets", "/etc/clr/keys/a", "/var/lib/clr"}
	f := func(s string) string {
		for _, m := range mounts {
			if s == m || len(s) > len(m) && s[:len(m)+1] == m+"/" {
				return "/root" + s
			}
		}
		return s
	}
	out := rewriteStrings(cfg, f).(map[string]any)
	if out["secretsFile"] != "/root/etc/clr/secrets/secrets.json" || out["other"] != "/etc/clrx/not-a-mount" {
		t.Errorf("top level: %v", out)
	}
	server := out["server"].(map[string]any)
	if server["dataDir"] != "/root/var/lib/clr" || server["publicURL"] != "https://x.edu/etc/clr" {
		t.Errorf("server: %v", server)
	}
	if kd := out["issuers"].([]any)[0].(map[string]any)["signing"].(map[string]any)["keyDir"]; kd != "/root/etc/clr/keys/a" {
		t.Errorf("keyDir %v", kd)
	}
}

func TestWriteItems(t *testing.T) {
	dir := t.TempDir()
	data := map[string][]byte{"tls.key": []byte("k1"), "tls.crt": []byte("c1"), "ca.crt": []byte("ca")}
	items := []corev1.KeyToPath{{Key: "tls.key", Path: "tls.key"}, {Key: "tls.crt", Path: "tls.crt"}}
	if err := writeItems(dir, data, items, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ca.crt")); err == nil {
		t.Error("a key not among the items was written")
	}
	data["tls.key"] = []byte("k2")
	if err := writeItems(dir, data, items, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "tls.key")); string(b) != "k2" {
		t.Errorf("tls.key = %q after the update", b)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "tls.key")); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	if err := writeItems(dir, data, []corev1.KeyToPath{{Key: "missing", Path: "m"}}, 0o600); err == nil {
		t.Error("a missing key was not reported")
	}
	if err := writeItems(dir, map[string][]byte{"x": nil}, []corev1.KeyToPath{{Key: "x", Path: "../escape"}}, 0o600); err == nil {
		t.Error("an item path leaving the volume was accepted")
	}
}

// The trust bundle holds the system roots and the extra CA, and a file
// without a certificate is refused.
func TestWriteTrustBundle(t *testing.T) {
	dir := t.TempDir()
	crt, _, err := localcluster.SelfSignedTLS("oidc.local.test")
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, crt, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := writeTrustBundle(ca, filepath.Join(dir, "bundle.pem"))
	if err != nil {
		t.Fatal(err)
	}
	bundle, _ := os.ReadFile(out)
	if !bytes.HasSuffix(bundle, crt) {
		t.Error("the bundle does not end with the extra CA")
	}
	for _, f := range systemRootFiles {
		if sys, err := os.ReadFile(f); err == nil {
			if !bytes.HasPrefix(bundle, sys) {
				t.Errorf("the bundle does not start with the system roots of %s", f)
			}
			break
		}
	}
	if err := os.WriteFile(ca, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := writeTrustBundle(ca, filepath.Join(dir, "bundle2.pem")); err == nil || !strings.Contains(err.Error(), "no PEM CERTIFICATE") {
		t.Errorf("a file without certificates: err %v", err)
	}
}
