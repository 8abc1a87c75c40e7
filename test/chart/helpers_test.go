// Package chart tests the Helm chart charts/clr-operator and the kustomize
// tree under config/: helm lint and template for default and non-default
// values, values.schema.json rejecting bad values, the alerts' and the
// dashboard's PromQL against the metric names defined in the Go sources,
// the chart against `kubectl kustomize config/default`, and every rendered
// object accepted by a server-side dry run against a real kube-apiserver.
package chart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	envHelm      = "CLR_HELM"
	envAssets    = "KUBEBUILDER_ASSETS"
	envCMCRDs    = "CLR_CERT_MANAGER_CRDS"
	envPromCRDs  = "CLR_PROMETHEUS_OPERATOR_CRDS"
	setupHint    = `run eval "$(hack/test-env.sh)" from the repository root first: it builds helm and the test control plane (cached by version) and exports their paths`
	releaseName  = "clr-operator"
	releaseNS    = "clr-system"
	chartRelPath = "charts/clr-operator"
)

// requireEnv returns an environment variable naming an existing path, or
// fails the test naming the setup command.
func requireEnv(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("environment variable %s is not set; %s", name, setupHint)
	}
	if _, err := os.Stat(v); err != nil {
		t.Fatalf("%s=%s: %v; %s", name, v, err, setupHint)
	}
	return v
}

// repoRoot is the directory holding go.mod above the test's directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// variant is one set of chart values the tests render.
type variant struct {
	name   string
	values string // YAML
}

// variants are the value sets rendered, linted and dry-run: the defaults
// and each optional feature switched on or off.
var variants = []variant{
	{name: "default"},
	{name: "namespaced", values: `
watchNamespaces: [tenant-a, tenant-b]
frameworkNamespaces: [consortium, tenant-a]
`},
	{name: "monitoring", values: `
serviceMonitor:
  enabled: true
  labels: {release: kube-prometheus-stack}
prometheusRule:
  enabled: true
  runbookBaseURL: https://runbooks.example.org/clr
  disabledAlerts: [ClrTenantHighLatency, ClrStatusListStale]
  additionalRuleLabels: {team: platform}
dashboard:
  enabled: true
`},
	{name: "networkpolicy", values: `
networkPolicy:
  enabled: true
  egress:
    enabled: true
    apiServerCIDRs: [10.0.0.1/32]
`},
	{name: "crds-off", values: `
crds:
  enabled: false
replicaCount: 2
image:
  digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
clrServer:
  image:
    repository: registry.example.org/clr/clr-server
    tag: "1.2.3"
logLevel: debug
`},
	{name: "crds-not-kept", values: `
crds:
  keep: false
`},
	{name: "secure-metrics", values: secureMetricsValues},
	{name: "secure-metrics-self-signed", values: `
watchNamespaces: [tenant-a]
serviceMonitor:
  enabled: true
metrics:
  secure: true
`},
}

// secureMetricsValues switch on the authenticated HTTPS metrics endpoint
// with a cert-manager certificate and two readers.
const secureMetricsValues = `
serviceMonitor:
  enabled: true
metrics:
  secure: true
  tlsSecretName: clr-operator-metrics-tls
  readerSubjects:
    - kind: ServiceAccount
      name: prometheus-k8s
      namespace: monitoring
    - kind: Group
      name: metrics-readers
`

// runHelm runs the helm binary with args; stdin is empty.
func runHelm(t testing.TB, args ...string) (string, error) {
	t.Helper()
	helm := requireEnv(t, envHelm)
	cmd := exec.Command(helm, args...)
	cmd.Dir = repoRoot(t)
	// Keep helm away from the user's configuration and caches.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String() + errb.String(), fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), nil
}

// valuesFile writes a variant's values to a file and returns helm's flags
// for it.
func valuesArgs(t testing.TB, values string) []string {
	t.Helper()
	if strings.TrimSpace(values) == "" {
		return nil
	}
	f := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(f, []byte(values), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--values", f}
}

// render runs `helm template` for the chart with the given values.
func render(t testing.TB, values string) []*unstructured.Unstructured {
	t.Helper()
	args := append([]string{"template", releaseName, chartRelPath, "--namespace", releaseNS}, valuesArgs(t, values)...)
	out, err := runHelm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeObjects(out)
	if err != nil {
		t.Fatalf("decoding helm template output: %v", err)
	}
	if len(objs) == 0 {
		t.Fatal("helm template rendered no objects")
	}
	return objs
}

// kustomize runs `kubectl kustomize dir`.
func kustomize(t testing.TB, dir string) []*unstructured.Unstructured {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		kubectl = filepath.Join(requireEnv(t, envAssets), "kubectl")
	}
	cmd := exec.Command(kubectl, "kustomize", dir)
	cmd.Dir = repoRoot(t)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, errb.String())
	}
	objs, err := decodeObjects(out.String())
	if err != nil {
		t.Fatalf("decoding kustomize output of %s: %v", dir, err)
	}
	return objs
}

// decodeObjects splits a multi-document YAML stream into objects, skipping
// empty documents.
func decodeObjects(s string) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(s)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("%w in document:\n%s", err, doc)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			return nil, fmt.Errorf("document without kind or apiVersion:\n%s", doc)
		}
		objs = append(objs, u)
	}
}

// key identifies an object in a rendered set.
func key(u *unstructured.Unstructured) string {
	return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
}

func byKey(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	m := make(map[string]*unstructured.Unstructured, len(objs))
	for _, o := range objs {
		m[key(o)] = o
	}
	return m
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// find returns the objects of a kind.
func find(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// one returns the single object of a kind and name, or fails.
func one(t testing.TB, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	names := []string{}
	for _, o := range objs {
		names = append(names, key(o))
	}
	t.Fatalf("no %s %q among %v", kind, name, names)
	return nil
}

func toUnstructured(m map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: m}
}
