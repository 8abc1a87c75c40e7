package crd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// TestSamplesAreAccepted creates every object of config/samples/, file by
// file in name order (namespaces first), through the API.
func TestSamplesAreAccepted(t *testing.T) {
	files := readSamples(t)
	kinds := map[string]int{}
	for _, f := range files {
		for _, u := range f.objects {
			if err := k8s.Create(ctx(t), u.DeepCopy()); err != nil {
				t.Errorf("%s: %s rejected: %v", f.path, describe(u), err)
				continue
			}
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(u.GroupVersionKind())
			if err := k8s.Get(ctx(t), client.ObjectKeyFromObject(u), got); err != nil {
				t.Errorf("%s: reading back %s: %v", f.path, describe(u), err)
			}
			kinds[u.GetKind()]++
		}
	}
	// The samples are worth something only if they show every kind, two
	// institutions and a shared framework.
	if kinds["Issuer"] < 2 || kinds["CLRProvider"] < 2 || kinds["Framework"] < 3 || kinds["Namespace"] < 3 {
		t.Errorf("samples hold %v; want at least 2 Issuers, 2 CLRProviders, 3 Frameworks, 3 Namespaces", kinds)
	}
}

// TestKubectlApplySamples runs the README's `kubectl apply -f
// config/samples/` as a platform engineer would, with the kubectl of
// KUBEBUILDER_ASSETS and a kubeconfig of a system:masters user, against a
// control plane of its own (so that every object is really created, not
// found from another test).
func TestKubectlApplySamples(t *testing.T) {
	kubectl := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Fatalf("no kubectl in KUBEBUILDER_ASSETS (%v); hack/build-control-plane.sh provides it", err)
	}
	env := newEnv()
	// Stop even when Start fails half-way (after the processes started).
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the second control plane: %v", err)
		}
	})
	if _, err := env.Start(); err != nil {
		t.Fatalf("starting a second control plane: %v", err)
	}
	user, err := env.AddUser(envtest.User{Name: "platform-engineer", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatalf("adding a user: %v", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	kubeconfigPath := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx(t), kubectl, append([]string{"--kubeconfig", kubeconfigPath}, args...)...)
		cmd.Dir = repoRoot
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("kubectl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}

	out := run("apply", "-f", "config/samples/")
	var want []string
	for _, f := range readSamples(t) {
		for _, u := range f.objects {
			want = append(want, u.GetName())
			// kubectl prints "<resource>/<name> created" for each object.
			re := regexp.MustCompile(`(?m)^[a-z.0-9]+/` + regexp.QuoteMeta(u.GetName()) + ` created$`)
			if !re.MatchString(out) {
				t.Errorf("kubectl did not create %s:\n%s", describe(u), out)
			}
		}
	}

	// `kubectl get clr` lists all three kinds through the category.
	listed := run("get", "clr", "--all-namespaces", "-o", "name")
	for _, kind := range []string{"issuer.clr.learnerrecords.io/", "framework.clr.learnerrecords.io/", "clrprovider.clr.learnerrecords.io/"} {
		if !strings.Contains(listed, kind) {
			t.Errorf("kubectl get clr does not list %s objects:\n%s", kind, listed)
		}
	}
	// The short name that does not collide with cert-manager's Issuer.
	issuers := run("get", "clrissuer", "-n", "riverbend-college", "-o", "name")
	if strings.TrimSpace(issuers) != "issuer.clr.learnerrecords.io/riverbend-college" {
		t.Errorf("kubectl get clrissuer -n riverbend-college = %q", issuers)
	}

	// Field selectors on the selectable fields: which tenant serves a host,
	// which issuers use an algorithm.
	byHost := run("get", "clrp", "--all-namespaces", "--field-selector", "spec.hostname=www.riverbend.edu", "-o", "name")
	if strings.TrimSpace(byHost) != "clrprovider.clr.learnerrecords.io/riverbend-clr" {
		t.Errorf("kubectl get clrp --field-selector spec.hostname=www.riverbend.edu = %q", byHost)
	}
	byAlg := run("get", "clrissuer", "--all-namespaces", "--field-selector", "spec.signing.algorithm=ECDSA-P256", "-o", "name")
	if strings.TrimSpace(byAlg) != "issuer.clr.learnerrecords.io/cascadia-state-university" {
		t.Errorf("kubectl get clrissuer --field-selector spec.signing.algorithm=ECDSA-P256 = %q", byAlg)
	}

	// The Kustomization lists every sample: kustomize renders the same
	// objects, and applying it changes nothing.
	rendered := run("kustomize", "config/samples/")
	for _, name := range want {
		if !strings.Contains(rendered, "name: "+name+"\n") {
			t.Errorf("config/samples/Kustomization does not render %s", name)
		}
	}
	again := run("apply", "-k", "config/samples/")
	if strings.Contains(again, " created") {
		t.Errorf("kubectl apply -k created objects that apply -f did not:\n%s", again)
	}
}
