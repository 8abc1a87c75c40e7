package signing_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/learnerrecords/clr-operator/internal/credential/keys"
	"github.com/learnerrecords/clr-operator/internal/serverconfig"
	"github.com/learnerrecords/clr-operator/internal/signing"
)

// writeKey writes a new key (and a self-signed tls.crt for it) into dir,
// replacing the files atomically as the kubelet does, and returns its kid.
func writeKey(t *testing.T, dir, alg string, notAfter time.Time) (crypto.Signer, string) {
	t.Helper()
	k, err := keys.Generate(alg)
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := keys.MarshalPrivateKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "issuer"},
		NotBefore: notAfter.Add(-90 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		signing.KeyFile:  pemKey,
		signing.CertFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	} {
		tmp := filepath.Join(dir, "."+name)
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	kid, err := keys.Thumbprint(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return k, kid
}

func issuer(dir, keyring string) serverconfig.Issuer {
	return serverconfig.Issuer{Name: "state-u", Signing: serverconfig.Signing{Algorithm: "Ed25519", KeyDir: dir, KeyringFile: keyring}}
}

func TestLoadAndReloadSwapsKey(t *testing.T) {
	dir := t.TempDir()
	notAfter := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	_, kid1 := writeKey(t, dir, keys.Ed25519, notAfter)
	set, err := signing.Load([]serverconfig.Issuer{issuer(dir, "")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ik, ok := set.Issuer("state-u")
	if !ok || !set.Ready() {
		t.Fatal("issuer not loaded")
	}
	cur := ik.Current()
	if cur.KID != kid1 || cur.Algorithm != keys.Ed25519 || !cur.NotAfter.Equal(notAfter) {
		t.Fatalf("current key %s %s %v, want %s", cur.KID, cur.Algorithm, cur.NotAfter, kid1)
	}
	if _, has := cur.PublicJWK["d"]; has {
		t.Fatal("public JWK carries the private member")
	}
	// Nothing changed: no swap.
	if changed, err := ik.Reload(); err != nil || changed {
		t.Fatalf("reload of unchanged files: changed=%v err=%v", changed, err)
	}

	// Renewal: a new key (another algorithm, even) replaces tls.key.
	_, kid2 := writeKey(t, dir, keys.ECDSAP256, notAfter.AddDate(0, 3, 0))
	var swaps []string
	set.OnChange = func(name string, k *signing.Key) { swaps = append(swaps, name+"/"+k.KID) }
	set.ReloadAll()
	if got := ik.Current().KID; got != kid2 {
		t.Fatalf("after renewal the current kid is %s, want %s", got, kid2)
	}
	if len(swaps) != 1 || swaps[0] != "state-u/"+kid2 {
		t.Fatalf("OnChange calls %v", swaps)
	}
	// The old key stays published (retired) so credentials it signed verify.
	pub := ik.Published()
	if len(pub) != 2 || pub[0].KID != kid2 || pub[1].KID != kid1 || pub[1].RetiredAt == nil || pub[0].RetiredAt != nil {
		t.Fatalf("published keys after renewal: %+v", pub)
	}
	if _, ok := ik.PublicKey(kid1); !ok {
		t.Fatal("retired key not found by kid")
	}
	if _, ok := ik.PublicKey(kid2); !ok {
		t.Fatal("current key not found by kid")
	}
}

func TestBrokenKeyKeepsPrevious(t *testing.T) {
	dir := t.TempDir()
	_, kid := writeKey(t, dir, keys.Ed25519, time.Now().Add(time.Hour))
	set, err := signing.Load([]serverconfig.Issuer{issuer(dir, "")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ik, _ := set.Issuer("state-u")
	if err := os.WriteFile(filepath.Join(dir, signing.KeyFile), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	changed, err := ik.Reload()
	if err == nil || changed {
		t.Fatalf("a corrupt key was accepted (changed=%v, err=%v)", changed, err)
	}
	if strings.Contains(err.Error(), "AAAA") {
		t.Fatalf("error echoes key material: %v", err)
	}
	if ik.Current().KID != kid {
		t.Fatal("the previous key was dropped after a failed reload")
	}
}

func TestLoadFailsWithoutKey(t *testing.T) {
	_, err := signing.Load([]serverconfig.Issuer{issuer(t.TempDir(), "")}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), `issuer "state-u"`) {
		t.Fatalf("missing key: %v", err)
	}
}

func TestKeyring(t *testing.T) {
	dir := t.TempDir()
	_, kid := writeKey(t, dir, keys.Ed25519, time.Now().Add(time.Hour))
	old, err := keys.Generate(keys.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	oldJWK, _ := keys.PublicJWK(old.Public())
	oldKID, _ := keys.Thumbprint(old.Public())
	retired := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ring := serverconfig.Keyring{Issuer: "state-u", Keys: []serverconfig.PublishedKey{
		{KID: oldKID, Algorithm: keys.Ed25519, PublicKeyJWK: oldJWK, RetiredAt: &retired},
	}}
	ringFile := filepath.Join(t.TempDir(), "keyring.json")
	b, _ := json.Marshal(ring)
	if err := os.WriteFile(ringFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := signing.Load([]serverconfig.Issuer{issuer(dir, ringFile)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ik, _ := set.Issuer("state-u")
	pub := ik.Published()
	if len(pub) != 2 || pub[0].KID != kid || pub[1].KID != oldKID {
		t.Fatalf("published %+v", pub)
	}
	// A keyring whose kid is not the key's thumbprint is refused, and the
	// previous keyring stays in force.
	ring.Keys[0].KID = "forged"
	b, _ = json.Marshal(ring)
	os.WriteFile(ringFile, b, 0o644)
	if _, err := ik.Reload(); err == nil || !strings.Contains(err.Error(), "not the JWK thumbprint") {
		t.Fatalf("forged keyring: %v", err)
	}
	if len(ik.Published()) != 2 {
		t.Fatal("previous keyring dropped")
	}
	// A keyring of another issuer is refused.
	ring.Keys[0].KID = oldKID
	ring.Issuer = "other-u"
	b, _ = json.Marshal(ring)
	os.WriteFile(ringFile, b, 0o644)
	if _, err := ik.Reload(); err == nil || !strings.Contains(err.Error(), "other-u") {
		t.Fatalf("foreign keyring: %v", err)
	}
}

// TestWatchPicksUpRenewal runs the real watcher: the test waits for the
// swap (bounded, not timed: it asserts the outcome, not the duration).
func TestWatchPicksUpRenewal(t *testing.T) {
	dir := t.TempDir()
	writeKey(t, dir, keys.Ed25519, time.Now().Add(time.Hour))
	set, err := signing.Load([]serverconfig.Issuer{issuer(dir, "")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { set.Watch(ctx, 20*time.Millisecond); close(done) }()
	defer func() { cancel(); <-done }()
	_, kid2 := writeKey(t, dir, keys.Ed25519, time.Now().Add(time.Hour))
	ik, _ := set.Issuer("state-u")
	deadline := time.Now().Add(30 * time.Second)
	for ik.Current().KID != kid2 {
		if time.Now().After(deadline) {
			t.Fatal("the watcher never swapped in the renewed key")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
