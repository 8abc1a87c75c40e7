package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/internal/localcluster"
	"github.com/learnerrecords/clr-operator/internal/localidp"
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
	crt2, _, err := localcluster.SelfSignedTLS("other.local.test")
	if err != nil {
		t.Fatal(err)
	}
	ca2 := filepath.Join(dir, "ca2.pem")
	if err := os.WriteFile(ca2, crt2, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := writeTrustBundle(filepath.Join(dir, "bundle.pem"), ca, ca2)
	if err != nil {
		t.Fatal(err)
	}
	bundle, _ := os.ReadFile(out)
	if !bytes.HasSuffix(bundle, append(append(append(crt, '\n'), crt2...), '\n')) {
		t.Error("the bundle does not end with the extra CAs")
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
	if _, err := writeTrustBundle(filepath.Join(dir, "bundle2.pem"), ca2, ca); err == nil || !strings.Contains(err.Error(), "no PEM CERTIFICATE") {
		t.Errorf("a file without certificates: err %v", err)
	}
}

func TestEmailDomain(t *testing.T) {
	for host, want := range map[string]string{
		"records.cascadia-state.edu": "cascadia-state.edu",
		"www.riverbend.edu":          "riverbend.edu",
		"riverbend.edu":              "riverbend.edu",
		"a.b.example.ac.uk":          "b.example.ac.uk",
	} {
		if got := emailDomain(host); got != want {
			t.Errorf("emailDomain(%s) = %s, want %s", host, got, want)
		}
	}
}

// The learner's id at an institution is the claim its tenant reads, as
// the local provider fills it.
func TestDemoLearnerID(t *testing.T) {
	for claim, want := range map[string]string{"sub": "Maya.Lindqvist", "preferred_username": "Maya.Lindqvist", "email": "maya.lindqvist@riverbend.edu"} {
		d := &demoRun{realm: oidcRealmState{UsernameClaim: claim, EmailDomain: "riverbend.edu"}}
		if err := d.setLearner("Maya.Lindqvist"); err != nil {
			t.Fatal(err)
		}
		if d.learner.id != want || d.learner.name != sampleLearner.Name {
			t.Errorf("claim %s: learner %+v, want id %s and name %s", claim, d.learner, want, sampleLearner.Name)
		}
	}
	d := &demoRun{realm: oidcRealmState{UsernameClaim: "upn", EmailDomain: "x.edu"}}
	if err := d.setLearner("maya"); err == nil {
		t.Error("a claim the local provider does not issue was accepted")
	}
}

// addProvider points a CLRProvider at its institution's realm with the
// client secret of its Secret; two tenants of one institution share the
// realm, and one client id cannot have two secrets.
func TestIdPPlanAddProvider(t *testing.T) {
	secret := func(ns, name, value string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{"client-secret": []byte(value)}}
	}
	c := fake.NewClientBuilder().WithObjects(secret("rb", "oidc-a", "s1"), secret("rb", "oidc-b", "s2")).Build()
	issuer := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "clr.learnerrecords.io/v1alpha1", "kind": "Issuer",
		"metadata": map[string]any{"name": "riverbend-college", "namespace": "rb"}, "spec": map[string]any{"profile": map[string]any{"name": "Riverbend College"}}}}
	provider := func(name, hostname, prefix, secretName, clientID string) (*unstructured.Unstructured, *clrv1.CLRProvider) {
		p := &clrv1.CLRProvider{ObjectMeta: metav1.ObjectMeta{Namespace: "rb", Name: name}, Spec: clrv1.CLRProviderSpec{
			Hostname: hostname, PathPrefix: prefix, IssuerRefs: []clrv1.LocalObjectReference{{Name: "riverbend-college"}},
			OAuth: clrv1.ProviderOAuth{OIDC: &clrv1.OIDCProvider{IssuerURL: "https://riverbend.okta.com", ClientID: clientID,
				ClientSecretRef: clrv1.OIDCClientSecretReference{Name: secretName}, UsernameClaim: "email"}}}}
		return &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"oauth": map[string]any{"oidc": map[string]any{"issuerURL": "https://riverbend.okta.com"}}}}}, p
	}
	plan := &idpPlan{cfg: localidp.Config{BaseURL: "https://127.0.0.1:18443"}}
	ctx := context.Background()
	o, p := provider("rb-clr", "www.riverbend.edu", "/records", "oidc-a", "clr")
	if err := plan.addProvider(ctx, c, o, p, []*unstructured.Unstructured{issuer}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := unstructured.NestedString(o.Object, "spec", "oauth", "oidc", "issuerURL"); got != "https://127.0.0.1:18443/realms/rb" {
		t.Errorf("issuerURL %s", got)
	}
	o2, p2 := provider("rb-clr-2", "alumni.riverbend.edu", "", "oidc-a", "clr")
	if err := plan.addProvider(ctx, c, o2, p2, nil); err != nil {
		t.Fatal(err)
	}
	if len(plan.cfg.Realms) != 1 {
		t.Fatalf("%d realms, want the institution's one", len(plan.cfg.Realms))
	}
	r := plan.cfg.Realms[0]
	if r.Title != "Riverbend College" || r.EmailDomain != "riverbend.edu" || len(r.Clients) != 1 || r.Clients[0].Secret != "s1" ||
		!slices.Equal(r.Clients[0].RedirectURIs, []string{"https://www.riverbend.edu/records/oauth/callback", "https://alumni.riverbend.edu/oauth/callback"}) {
		t.Errorf("realm %+v", r)
	}
	if len(plan.realms) != 2 || plan.realms[0].UsernameClaim != "email" || plan.realms[1].Provider.Name != "rb-clr-2" {
		t.Errorf("recorded realms %+v", plan.realms)
	}
	if err := plan.cfg.Validate(); err != nil {
		t.Errorf("the plan's provider configuration: %v", err)
	}
	o3, p3 := provider("rb-clr-3", "x.riverbend.edu", "", "oidc-b", "clr")
	if err := plan.addProvider(ctx, c, o3, p3, nil); err == nil || !strings.Contains(err.Error(), "another secret") {
		t.Errorf("one client id with two secrets: %v", err)
	}
	o4, p4 := provider("rb-clr-4", "y.riverbend.edu", "", "missing", "clr")
	if err := plan.addProvider(ctx, c, o4, p4, nil); err == nil {
		t.Error("a missing client secret was not reported")
	}
}
