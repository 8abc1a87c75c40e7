//go:build e2e

// Package e2e runs the product end to end on the environment of `make
// local-up`: a real control plane, cert-manager, the operator built from
// the tree, the samples, and each tenant's clr-server run from what the
// operator rendered. `make test-e2e` (go test -tags e2e ./test/e2e/).
//
// The suite starts its own environment (hack/localup up) and stops it at
// the end; it refuses to run while a local environment is up, because its
// last steps are destructive (a tenant is deleted). CLR_E2E_SAMPLES names
// another manifests directory than config/samples.
//
// The tests run in file order and build on each other.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
)

var (
	root  string
	k8s   client.Client
	ctx   = context.Background()
	state localState
)

// localState is the part of tmp/local/state.json the suite reads.
type localState struct {
	Tenants []struct {
		Key       types.NamespacedName
		Port      int
		LocalURL  string
		PublicURL string
		Issuers   []string
		Process   string
	} `json:"tenants"`
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func localup(args ...string) *exec.Cmd {
	cmd := exec.Command("go", append([]string{"run", "./hack/localup"}, args...)...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd
}

func run(m *testing.M) int {
	dir, _ := os.Getwd()
	for root = dir; ; root = filepath.Dir(root) {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		if root == filepath.Dir(root) {
			fmt.Fprintln(os.Stderr, "FAIL: no go.mod above", dir)
			return 1
		}
	}
	if raw, err := os.ReadFile(filepath.Join(root, "tmp", "local", "pids", "etcd.json")); err == nil && len(raw) > 0 {
		fmt.Fprintln(os.Stderr, "FAIL: a local environment is recorded under tmp/local (make local-down first): the suite deletes a tenant, so it runs on its own environment")
		return 1
	}
	args := []string{"up"}
	if s := os.Getenv("CLR_E2E_SAMPLES"); s != "" {
		args = append(args, "--samples", s)
	}
	defer func() {
		if err := localup("down").Run(); err != nil {
			fmt.Fprintln(os.Stderr, "localup down:", err)
		}
	}()
	if err := localup(args...).Run(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: hack/localup up:", err)
		return 1
	}
	raw, err := os.ReadFile(filepath.Join(root, "tmp", "local", "state.json"))
	if err == nil {
		err = json.Unmarshal(raw, &state)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: reading the local state:", err)
		return 1
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(root, "tmp", "local", "kubeconfig"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(clrv1.AddToScheme(s))
	utilruntime.Must(cmapi.AddToScheme(s))
	if k8s, err = client.New(cfg, client.Options{Scheme: s}); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	return m.Run()
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func getJSON(url string) (int, map[string]any, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &m); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s: not JSON: %.200s", url, raw)
	}
	return resp.StatusCode, m, nil
}

// didPath is where a did:web DID resolves (did:web method §3.2).
func didPath(did string) string {
	parts := strings.Split(strings.TrimPrefix(did, "did:web:"), ":")
	if len(parts) == 1 {
		return "/.well-known/did.json"
	}
	return "/" + strings.Join(parts[1:], "/") + "/did.json"
}

// servedKeys are the key ids (fragments) a DID document lists for
// assertion, resolved at the tenant's local address.
func servedKeys(port int, did string) ([]string, error) {
	code, doc, err := getJSON(fmt.Sprintf("http://127.0.0.1:%d%s", port, didPath(did)))
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK || doc["id"] != did {
		return nil, fmt.Errorf("status %d, id %v, want %s", code, doc["id"], did)
	}
	var kids []string
	am, _ := doc["assertionMethod"].([]any)
	for _, v := range am {
		s, _ := v.(string)
		if _, frag, ok := strings.Cut(s, "#"); ok {
			kids = append(kids, frag)
		}
	}
	return kids, nil
}

func issuerOf(t *testing.T, ns, name string) *clrv1.Issuer {
	t.Helper()
	is := &clrv1.Issuer{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, is); err != nil {
		t.Fatal(err)
	}
	return is
}

// Every sample tenant is Ready, runs locally, and serves for each of its
// issuers the DID document with the key the operator reports as current.
func TestTenantsServeTheOperatorsKeys(t *testing.T) {
	if len(state.Tenants) < 2 {
		t.Fatalf("%d tenants running, want the samples' two institutions", len(state.Tenants))
	}
	for _, tn := range state.Tenants {
		p := &clrv1.CLRProvider{}
		if err := k8s.Get(ctx, tn.Key, p); err != nil {
			t.Fatal(err)
		}
		if !clrv1.IsReady(p) {
			t.Errorf("%s not Ready: %+v", tn.Key, clrv1.FindCondition(p, clrv1.ConditionReady))
		}
		if p.Status.URL != tn.PublicURL {
			t.Errorf("%s: status.url %s, local process serves %s", tn.Key, p.Status.URL, tn.PublicURL)
		}
		if code, _, err := getJSON(tn.LocalURL + "/ims/clr/v2p0/discovery"); err != nil || code != http.StatusOK {
			t.Errorf("%s discovery: %d %v", tn.Key, code, err)
		}
		if len(p.Status.Issuers) == 0 {
			t.Fatalf("%s: no issuers in status", tn.Key)
		}
		for _, is := range p.Status.Issuers {
			kids, err := servedKeys(tn.Port, is.IssuerID)
			if err != nil {
				t.Fatalf("%s: DID document of %s: %v", tn.Key, is.IssuerID, err)
			}
			if is.CurrentKeyID == "" || !slices.Contains(kids, is.CurrentKeyID) {
				t.Errorf("%s: DID document of %s lists %v, not the current key %q", tn.Key, is.IssuerID, kids, is.CurrentKeyID)
			}
			obj := issuerOf(t, tn.Key.Namespace, is.Name)
			if obj.Status.CurrentKey == nil || obj.Status.CurrentKey.KID != is.CurrentKeyID {
				t.Errorf("Issuer %s current key %+v, provider reports %s", is.Name, obj.Status.CurrentKey, is.CurrentKeyID)
			}
		}
	}
}

// An OAuth 2.0 client registers dynamically (RFC 7591) with one institution;
// the other institution does not know it.
func TestClientRegistrationIsPerInstitution(t *testing.T) {
	a, b := state.Tenants[0], state.Tenants[1]
	body, _ := json.Marshal(map[string]any{
		"client_name": "E2E Wallet", "client_uri": "https://wallet.example.org",
		"redirect_uris":              []string{"http://127.0.0.1:9/callback"},
		"token_endpoint_auth_method": "client_secret_basic",
		"grant_types":                []string{"authorization_code", "refresh_token"},
		"response_types":             []string{"code"},
		"scope":                      "https://purl.imsglobal.org/spec/clr/v2p0/scope/credential.readonly",
	})
	resp, err := http.Post(a.LocalURL+"/oauth/register", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("registration with %s: %s %s", a.Key, resp.Status, raw)
	}
	var reg struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(raw, &reg); err != nil || reg.ClientID == "" || reg.ClientSecret == "" {
		t.Fatalf("registration response %s: %v", raw, err)
	}
	// The client's credentials at the other institution's token endpoint.
	for _, tn := range []struct {
		url  string
		want int
	}{{b.LocalURL, http.StatusUnauthorized}} {
		req, _ := http.NewRequest(http.MethodPost, tn.url+"/oauth/token", strings.NewReader("grant_type=refresh_token&refresh_token=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(reg.ClientID, reg.ClientSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tn.want || !strings.Contains(string(raw), "invalid_client") {
			t.Errorf("%s's client at %s: %s %s, want %d invalid_client", a.Key, tn.url, resp.Status, raw, tn.want)
		}
	}
}

// A forced renewal (what `cmctl renew` does: the Certificate's Issuing
// condition) gives the issuer a new key; the running clr-server publishes
// it without a restart and keeps the old one published.
func TestKeyRenewalReachesTheRunningServer(t *testing.T) {
	tn := state.Tenants[len(state.Tenants)-1]
	p := &clrv1.CLRProvider{}
	if err := k8s.Get(ctx, tn.Key, p); err != nil {
		t.Fatal(err)
	}
	is := p.Status.Issuers[0]
	old := is.CurrentKeyID
	pidBefore := pidOf(t, tn.Process)

	cert := &cmapi.Certificate{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: tn.Key.Namespace, Name: is.Name + "-signing-key"}, cert); err != nil {
		t.Fatalf("the Issuer's Certificate: %v", err)
	}
	before := cert.DeepCopy()
	cert.Status.Conditions = append(cert.Status.Conditions, cmapi.CertificateCondition{
		Type: cmapi.CertificateConditionIssuing, Status: cmmeta.ConditionTrue,
		Reason: "ManuallyTriggered", Message: "renewal forced by the e2e suite", LastTransitionTime: &metav1.Time{Time: time.Now()},
	})
	if err := k8s.Status().Patch(ctx, cert, client.MergeFrom(before)); err != nil {
		t.Fatalf("triggering the renewal: %v", err)
	}
	var current string
	eventually(t, 60*time.Second, "a new current key on the Issuer", func() (bool, string) {
		obj := issuerOf(t, tn.Key.Namespace, is.Name)
		if obj.Status.CurrentKey == nil {
			return false, "no current key"
		}
		current = obj.Status.CurrentKey.KID
		return current != old, "still " + current
	})
	eventually(t, 60*time.Second, "the new key in the served DID document", func() (bool, string) {
		kids, err := servedKeys(tn.Port, is.IssuerID)
		if err != nil {
			return false, err.Error()
		}
		return slices.Contains(kids, current) && slices.Contains(kids, old), fmt.Sprintf("served %v, want %s and the retired %s", kids, current, old)
	})
	if pid := pidOf(t, tn.Process); pid != pidBefore {
		t.Errorf("clr-server was restarted (pid %d -> %d): a key renewal must reach it through its watched files", pidBefore, pid)
	}
}

func pidOf(t *testing.T, process string) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "tmp", "local", "pids", process+".json"))
	if err != nil {
		return 0
	}
	var r struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r.PID
}

// Deleting a tenant removes its objects (garbage collected through owner
// references) and its process.
func TestDeleteTenant(t *testing.T) {
	tn := state.Tenants[len(state.Tenants)-1]
	pid := pidOf(t, tn.Process)
	if pid == 0 {
		t.Fatalf("no pid recorded for %s", tn.Process)
	}
	p := &clrv1.CLRProvider{ObjectMeta: metav1.ObjectMeta{Namespace: tn.Key.Namespace, Name: tn.Key.Name}}
	if err := k8s.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the tenant's Deployment, ConfigMap and Secret to be gone", func() (bool, string) {
		for _, o := range []client.Object{&appsv1.Deployment{}, &corev1.ConfigMap{}, &corev1.Secret{}} {
			name := tn.Key.Name
			switch o.(type) {
			case *corev1.ConfigMap:
				name += "-config"
			case *corev1.Secret:
				name += "-secrets"
			}
			if err := k8s.Get(ctx, types.NamespacedName{Namespace: tn.Key.Namespace, Name: name}, o); !apierrors.IsNotFound(err) {
				return false, fmt.Sprintf("%T %s still there (err %v)", o, name, err)
			}
		}
		return true, ""
	})
	eventually(t, 30*time.Second, "the tenant's clr-server to stop", func() (bool, string) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			if stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(stat), ") Z") {
				return false, fmt.Sprintf("pid %d running", pid)
			}
		}
		if _, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", tn.Port)); err == nil {
			return false, "its port still answers"
		}
		return true, ""
	})
}
