//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/internal/oidctest"
)

var (
	root  string
	k8s   client.Client
	ctx   = context.Background()
	state localState
	// oidc is the institution's OpenID Connect provider (the samples name
	// real outside hosts): a real provider on loopback over HTTPS, which
	// the tenants trust through local-up --trust-ca.
	oidc *oidctest.Provider
	// instA is the sample institution the OAuth flows run against: the
	// first CLRProvider with learner login, dynamic registration and an
	// issuing client.
	instA sampleProvider
	// learner is who logs in at instA's provider.
	learner = oidctest.User{Subject: "e2e-learner-7f3a", PreferredUsername: "aokafor",
		Email: "ada.okafor@students.example.edu", Name: "Ada Okafor"}
	// pub reaches the tenants at their public URLs (see ingress).
	pub *ingress
)

// localState is the part of tmp/local/state.json the suite reads.
type localState struct {
	Tenants  []tenantState `json:"tenants"`
	Contexts string        `json:"contexts"`
}

type tenantState struct {
	Key       types.NamespacedName
	Port      int
	LocalURL  string
	PublicURL string
	Issuers   []string
	Process   string
}

// sampleProvider is what the suite takes from the sample CLRProvider it
// signs learners in to.
type sampleProvider struct {
	Key           types.NamespacedName
	PublicURL     string
	OIDCClientID  string
	OIDCSecretRef types.NamespacedName
	OIDCSecretKey string
	UsernameClaim string
	IssuingClient string
}

// learnerID is the learner's id at instA: the configured claim of her ID
// token.
func learnerID() string {
	switch instA.UsernameClaim {
	case "email":
		return learner.Email
	case "preferred_username":
		return learner.PreferredUsername
	}
	return learner.Subject
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	return 1
}

func run(m *testing.M) int {
	dir, _ := os.Getwd()
	for root = dir; ; root = filepath.Dir(root) {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		if root == filepath.Dir(root) {
			return fail("no go.mod above %s", dir)
		}
	}
	if raw, err := os.ReadFile(filepath.Join(root, "tmp", "local", "pids", "etcd.json")); err == nil && len(raw) > 0 {
		return fail("a local environment is recorded under tmp/local (make local-down first): the suite deletes a tenant, so it runs on its own environment")
	}
	samples := os.Getenv("CLR_E2E_SAMPLES")
	if samples == "" {
		samples = filepath.Join(root, "config", "samples")
	}
	work, err := os.MkdirTemp("", "clr-e2e-")
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(work)

	// The provider starts first: its URL goes into the samples. The client
	// secret is local-up's, known once it has created the Secret.
	if instA, err = findInstitution(samples); err != nil {
		return fail("%v", err)
	}
	oidc, err = oidctest.StartTLS(oidctest.Config{ClientID: instA.OIDCClientID, ClientSecret: "replaced-once-local-up-made-it",
		RedirectURIs: []string{instA.PublicURL + "/oauth/callback"}, User: learner})
	if err != nil {
		return fail("starting the OpenID Connect provider: %v", err)
	}
	defer oidc.Close()
	patched := filepath.Join(work, "samples")
	if err := patchSamples(samples, patched, instA.Key, oidc.Issuer()); err != nil {
		return fail("%v", err)
	}
	caFile := filepath.Join(work, "oidc-ca.pem")
	if err := os.WriteFile(caFile, oidc.CACertPEM(), 0o644); err != nil {
		return fail("%v", err)
	}

	// Whatever ends this process (a panic, the test timeout, a signal),
	// the guardian stops the environment; a normal end stops it here.
	localupBin = filepath.Join(work, "localup")
	build := exec.Command("go", "build", "-o", localupBin, "./hack/localup")
	build.Dir, build.Stdout, build.Stderr = root, os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return fail("building hack/localup: %v", err)
	}
	guardian, err := startGuardian(work)
	if err != nil {
		return fail("starting the teardown guardian: %v", err)
	}
	defer func() {
		_ = guardian.Process.Kill()
		_ = guardian.Wait()
		if err := localup("down").Run(); err != nil {
			fmt.Fprintln(os.Stderr, "localup down:", err)
		}
	}()
	if err := localup("up", "--samples", patched, "--trust-ca", caFile).Run(); err != nil {
		return fail("hack/localup up: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "tmp", "local", "state.json"))
	if err == nil {
		err = json.Unmarshal(raw, &state)
	}
	if err != nil {
		return fail("reading the local state: %v", err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(root, "tmp", "local", "kubeconfig"))
	if err != nil {
		return fail("%v", err)
	}
	ctrllog.SetLogger(logr.Discard())
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(clrv1.AddToScheme(s))
	utilruntime.Must(cmapi.AddToScheme(s))
	if k8s, err = client.New(cfg, client.Options{Scheme: s}); err != nil {
		return fail("%v", err)
	}
	sec := &corev1.Secret{}
	if err := k8s.Get(ctx, instA.OIDCSecretRef, sec); err != nil || len(sec.Data[instA.OIDCSecretKey]) == 0 {
		return fail("the OIDC client secret %s (key %s) local-up created: %v", instA.OIDCSecretRef, instA.OIDCSecretKey, err)
	}
	oidc.SetClientSecret(string(sec.Data[instA.OIDCSecretKey]))
	if pub, err = newIngress(state, oidc.CACertPEM()); err != nil {
		return fail("%v", err)
	}
	return m.Run()
}

// localupBin is hack/localup built for this run.
var localupBin string

func localup(args ...string) *exec.Cmd {
	cmd := exec.Command(localupBin, args...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	// If this process dies while local-up starts, local-up stops (and
	// cleans up what it started) rather than finishing unattended.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	return cmd
}

// startGuardian starts a shell in its own process group that runs
// `localup down` and removes the work directory once this process is
// gone, unless killed first.
func startGuardian(work string) (*exec.Cmd, error) {
	script := `while kill -0 "$1" 2>/dev/null; do sleep 1; done
echo "e2e: the test process ended without tearing down: stopping the local environment" >&2
"$2" down
rm -rf "$3"`
	cmd := exec.Command("sh", "-c", script, "e2e-guardian", strconv.Itoa(os.Getpid()), localupBin, work)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, cmd.Start()
}

// docSeparator splits multi-document YAML.
var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// sampleDocs reads the YAML documents of every manifest in dir.
func sampleDocs(dir string) (map[string][]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the samples: %w", err)
	}
	files := map[string][]string{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(e.Name(), ".yaml") && !strings.HasSuffix(e.Name(), ".yml") {
			files[e.Name()] = []string{string(raw)}
			continue
		}
		files[e.Name()] = docSeparator.Split(string(raw), -1)
	}
	return files, nil
}

func isProvider(doc string) (*clrv1.CLRProvider, bool) {
	var p clrv1.CLRProvider
	if err := yaml.Unmarshal([]byte(doc), &p); err != nil || p.Kind != "CLRProvider" {
		return nil, false
	}
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	return &p, true
}

// findInstitution picks the sample CLRProvider the OAuth flows run
// against.
func findInstitution(dir string) (sampleProvider, error) {
	files, err := sampleDocs(dir)
	if err != nil {
		return sampleProvider{}, err
	}
	var found []sampleProvider
	for name, docs := range files {
		if !strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml") {
			continue
		}
		for _, d := range docs {
			p, ok := isProvider(d)
			if !ok {
				continue
			}
			o := p.Spec.OAuth
			// dynamicRegistration defaults to true (CRD default).
			if o.OIDC == nil || (o.DynamicRegistration != nil && !*o.DynamicRegistration) || len(o.IssuingClients) == 0 {
				continue
			}
			sp := sampleProvider{Key: types.NamespacedName{Namespace: p.Namespace, Name: p.Name},
				PublicURL:     strings.TrimSuffix("https://"+p.Spec.Hostname+p.Spec.PathPrefix, "/"),
				OIDCClientID:  o.OIDC.ClientID,
				OIDCSecretRef: types.NamespacedName{Namespace: p.Namespace, Name: o.OIDC.ClientSecretRef.Name},
				OIDCSecretKey: o.OIDC.ClientSecretRef.Key, UsernameClaim: o.OIDC.UsernameClaim,
				IssuingClient: o.IssuingClients[0].ClientID}
			if sp.OIDCSecretKey == "" {
				sp.OIDCSecretKey = "client-secret"
			}
			found = append(found, sp)
		}
	}
	if len(found) == 0 {
		return sampleProvider{}, fmt.Errorf("no CLRProvider in %s has OpenID Connect login, dynamicRegistration: true and an issuing client: the suite needs one", dir)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Key.String() < found[j].Key.String() })
	return found[0], nil
}

// patchSamples copies the samples to dst with the OpenID Connect issuer of
// provider key replaced by issuerURL; every other document is copied as
// written.
func patchSamples(src, dst string, key types.NamespacedName, issuerURL string) error {
	files, err := sampleDocs(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	patched := false
	for name, docs := range files {
		for i, d := range docs {
			p, ok := isProvider(d)
			if !ok || p.Namespace != key.Namespace || p.Name != key.Name {
				continue
			}
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(d), &obj); err != nil {
				return err
			}
			oidcSpec, _ := obj["spec"].(map[string]any)["oauth"].(map[string]any)["oidc"].(map[string]any)
			oidcSpec["issuerURL"] = issuerURL
			out, err := yaml.Marshal(obj)
			if err != nil {
				return err
			}
			docs[i] = "\n" + string(out)
			patched = true
		}
		if err := os.WriteFile(filepath.Join(dst, name), []byte(strings.Join(docs, "---")), 0o644); err != nil {
			return err
		}
	}
	if !patched {
		return errors.New("the CLRProvider to patch was not found again")
	}
	return nil
}

// tenant is the local tenant of a CLRProvider.
func tenant(t *testing.T, key types.NamespacedName) tenantState {
	t.Helper()
	for _, tn := range state.Tenants {
		if tn.Key == key {
			return tn
		}
	}
	t.Fatalf("no local tenant for %s (local-up state lists %d)", key, len(state.Tenants))
	return tenantState{}
}

// otherTenant is a tenant of another institution than instA.
func otherTenant(t *testing.T) tenantState {
	t.Helper()
	for _, tn := range state.Tenants {
		if tn.Key != instA.Key {
			return tn
		}
	}
	t.Fatal("the samples have a single institution: the isolation steps need two")
	return tenantState{}
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
		time.Sleep(250 * time.Millisecond)
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

func issuerOf(t *testing.T, ns, name string) *clrv1.Issuer {
	t.Helper()
	is := &clrv1.Issuer{}
	if err := k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, is); err != nil {
		t.Fatal(err)
	}
	return is
}
