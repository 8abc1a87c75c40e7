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
	"k8s.io/apimachinery/pkg/types"
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

// A CLRProvider applied after up whose issuerURL names a realm of the
// local provider gets that realm (titled with its Issuer's profile name,
// with the sample learner) and its client (id, the secret of its Secret,
// its public callback URL); up's own providers, providers elsewhere and one
// whose Secret is missing or whose client id is taken with another secret
// leave the configuration as it was.
func TestPlanLater(t *testing.T) {
	const base = "https://127.0.0.1:18443"
	secret := func(ns, name, key, value string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string][]byte{key: []byte(value)}}
	}
	issuer := &clrv1.Issuer{ObjectMeta: metav1.ObjectMeta{Namespace: "acme", Name: "acme-u"}, Spec: clrv1.IssuerSpec{Profile: clrv1.IssuerProfile{Name: "Acme University"}}}
	c := fake.NewClientBuilder().WithScheme(newScheme()).WithObjects(issuer, secret("acme", "acme-oidc", "secret", "s-acme"),
		secret("rb", "rb-oidc", "client-secret", "s-rb"), secret("rb", "rb-other", "client-secret", "s-other")).Build()
	provider := func(ns, name, issuerURL, clientID, secretName, secretKey, hostname, prefix string) clrv1.CLRProvider {
		p := clrv1.CLRProvider{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: clrv1.CLRProviderSpec{Hostname: hostname, PathPrefix: prefix,
			OAuth: clrv1.ProviderOAuth{OIDC: &clrv1.OIDCProvider{IssuerURL: issuerURL, ClientID: clientID,
				ClientSecretRef: clrv1.OIDCClientSecretReference{Name: secretName, Key: secretKey}}}}}
		if ns == "acme" {
			p.Spec.IssuerRefs = []clrv1.LocalObjectReference{{Name: "acme-u"}}
		}
		return p
	}
	upCfg := localidp.Config{BaseURL: base, Realms: []localidp.Realm{{Name: "rb", Title: "Riverbend College", EmailDomain: "riverbend.edu",
		Users:   []localidp.User{sampleLearner},
		Clients: []localidp.Client{{ID: "clr", Secret: "s-rb", RedirectURIs: []string{"https://www.riverbend.edu/records/oauth/callback"}}}}}}
	upRealms := []oidcRealmState{{Provider: types.NamespacedName{Namespace: "rb", Name: "rb-clr"}, Realm: "rb", ClientID: "clr"}}
	provs := []clrv1.CLRProvider{
		// up's own: already in its plan.
		provider("rb", "rb-clr", base+"/realms/rb", "clr", "rb-oidc", "", "www.riverbend.edu", "/records"),
		// A new institution at a realm of its own.
		provider("acme", "acme-clr", base+"/realms/acme-realm", "acme-client", "acme-oidc", "secret", "records.acme.edu", "/clr/"),
		// A second tenant in an existing realm, same client and secret.
		provider("rb", "rb-alumni", base+"/realms/rb", "clr", "rb-oidc", "", "alumni.riverbend.edu", ""),
		// Elsewhere: not the local provider's business.
		provider("x", "x-clr", "https://login.x.edu/realms/x", "x", "x-oidc", "", "x.edu", ""),
		// Refused: the realm's client id with another secret; no Secret.
		provider("rb", "rb-clash", base+"/realms/rb", "clr", "rb-other", "", "clash.riverbend.edu", ""),
		provider("acme", "acme-nosecret", base+"/realms/acme-2", "c", "missing", "", "b.acme.edu", ""),
	}
	cfg, later, problems := planLater(context.Background(), c, upCfg, upRealms, provs)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the configuration: %v", err)
	}
	if len(cfg.Realms) != 2 {
		t.Fatalf("realms %+v, want rb and acme-realm", cfg.Realms)
	}
	rb, acme := cfg.Realms[0], cfg.Realms[1]
	if len(rb.Clients) != 1 || !slices.Equal(rb.Clients[0].RedirectURIs, []string{"https://www.riverbend.edu/records/oauth/callback", "https://alumni.riverbend.edu/oauth/callback"}) {
		t.Errorf("realm rb %+v", rb)
	}
	if len(upCfg.Realms[0].Clients[0].RedirectURIs) != 1 {
		t.Errorf("up's plan was changed: %+v", upCfg.Realms[0])
	}
	want := localidp.Realm{Name: "acme-realm", Title: "Acme University", EmailDomain: "acme.edu", Users: []localidp.User{sampleLearner},
		Clients: []localidp.Client{{ID: "acme-client", Secret: "s-acme", RedirectURIs: []string{"https://records.acme.edu/clr/oauth/callback"}}}}
	if acme.Name != want.Name || acme.Title != want.Title || acme.EmailDomain != want.EmailDomain || !slices.Equal(acme.Users, want.Users) ||
		len(acme.Clients) != 1 || acme.Clients[0].ID != "acme-client" || acme.Clients[0].Secret != "s-acme" ||
		!slices.Equal(acme.Clients[0].RedirectURIs, want.Clients[0].RedirectURIs) {
		t.Errorf("realm %+v, want %+v", acme, want)
	}
	if len(later) != 2 || later[0].Provider.Name != "acme-clr" || later[0].Issuer != base+"/realms/acme-realm" || !later[0].Later ||
		later[0].UsernameClaim != "sub" || later[1].Provider.Name != "rb-alumni" {
		t.Errorf("recorded sign-ins %+v", later)
	}
	if len(problems) != 2 || !strings.Contains(problems[types.NamespacedName{Namespace: "rb", Name: "rb-clash"}], "another secret") ||
		problems[types.NamespacedName{Namespace: "acme", Name: "acme-nosecret"}] == "" {
		t.Errorf("problems %v", problems)
	}

	// The acme CLRProvider deleted: its realm goes, rb stays.
	cfg, later, _ = planLater(context.Background(), c, upCfg, upRealms, provs[2:3])
	if len(cfg.Realms) != 1 || cfg.Realms[0].Name != "rb" || len(later) != 1 {
		t.Errorf("after the deletion: realms %+v, sign-ins %+v", cfg.Realms, later)
	}
}

func TestLocalRealm(t *testing.T) {
	const base = "https://127.0.0.1:18443"
	for issuer, want := range map[string]string{
		base + "/realms/acme":                 "acme",
		base + "/realms/acme/":                "acme",
		base + "/realms/":                     "",
		base + "/realms/acme/x":               "",
		"https://127.0.0.1:18444/realms/acme": "",
		"https://login.acme.edu/realms/acme":  "",
	} {
		if got := localRealm(base, issuer); got != want {
			t.Errorf("localRealm(%s) = %q, want %q", issuer, got, want)
		}
	}
}
