//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
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
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
)

var (
	root  string
	k8s   client.Client
	ctx   = context.Background()
	state localState
	// oidc is instA's realm at the OpenID Connect provider local-up runs
	// on loopback over HTTPS (the samples name real outside hosts), which
	// the tenants trust.
	oidc oidcRealm
	// instA is the sample institution the OAuth flows run against: the
	// first CLRProvider with learner login, dynamic registration and an
	// issuing client.
	instA sampleProvider
	// learner is who signs in at instA's realm (typing her username on its
	// login form); her email is set from the realm's mail domain.
	learner = learnerUser{Username: "aokafor", Name: "Ada Okafor"}
	// pub reaches the tenants at their public URLs (see ingress).
	pub *ingress
)

// localState is the part of tmp/local/state.json the suite reads.
type localState struct {
	Tenants  []tenantState `json:"tenants"`
	Contexts string        `json:"contexts"`
	OIDC     *struct {
		BaseURL string      `json:"baseURL"`
		CAFile  string      `json:"caFile"`
		Realms  []oidcRealm `json:"realms"`
	} `json:"oidc"`
}

// oidcRealm is a tenant's realm at local-up's OpenID Connect provider.
type oidcRealm struct {
	Provider      types.NamespacedName `json:"provider"`
	Issuer        string               `json:"issuer"`
	UsernameClaim string               `json:"usernameClaim"`
	EmailDomain   string               `json:"emailDomain"`
}

// learnerUser is a learner as the provider knows her.
type learnerUser struct {
	Username, Name, Email string
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
	UsernameClaim string
	IssuingClient string
}

// learnerID is the learner's id at instA: the configured claim of her ID
// token.
func learnerID() string {
	if instA.UsernameClaim == "email" {
		return learner.Email
	}
	// sub and preferred_username are the username at local-up's provider.
	return learner.Username
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

	if instA, err = findInstitution(samples); err != nil {
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
	// local-up points the samples' OpenID Connect issuers at realms of its
	// own provider, with the client secrets it put in their Secrets.
	if err := localup("up", "--samples", samples).Run(); err != nil {
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
	if state.OIDC == nil {
		return fail("local-up recorded no OpenID Connect provider in its state")
	}
	found := false
	for _, r := range state.OIDC.Realms {
		if r.Provider == instA.Key {
			oidc, found = r, true
		}
	}
	if !found {
		return fail("local-up's OpenID Connect provider has no realm for %s", instA.Key)
	}
	learner.Email = learner.Username + "@" + oidc.EmailDomain
	ca, err := os.ReadFile(state.OIDC.CAFile)
	if err != nil {
		return fail("the OpenID Connect provider's certificate: %v", err)
	}
	if pub, err = newIngress(state, ca); err != nil {
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
				UsernameClaim: o.OIDC.UsernameClaim,
				IssuingClient: o.IssuingClients[0].ClientID}
			found = append(found, sp)
		}
	}
	if len(found) == 0 {
		return sampleProvider{}, fmt.Errorf("no CLRProvider in %s has OpenID Connect login, dynamicRegistration: true and an issuing client: the suite needs one", dir)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Key.String() < found[j].Key.String() })
	return found[0], nil
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
