package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clrv1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/internal/localcluster"
	"github.com/learnerrecords/clr-operator/internal/localidp"
)

// tenant is one CLRProvider run as a local clr-server process.
type tenant struct {
	Key         types.NamespacedName
	Institution string
	Port        int
	MetricsPort int
	// Dir holds the tenant's files; Dir/root mirrors the pod's file system
	// (root/etc/clr/config is the config volume, and so on).
	Dir string
	// PublicURL is what the operator rendered (credentials, DIDs and links
	// carry it); LocalURL is where the local process answers.
	PublicURL string
	LocalURL  string
	Issuers   []string
	Process   string
	// Template is templateHash of the Deployment it was started from.
	Template string
}

func (t *tenant) root() string { return filepath.Join(t.Dir, "root") }

// startTenants plays the kubelet: for each provider it mirrors the pod's
// volumes from the ConfigMap and Secrets the operator wrote, and starts
// clr-server with the rendered configuration.
func startTenants(ctx context.Context, l *layout, c client.Client, keys []types.NamespacedName, contexts string) ([]*tenant, error) {
	var (
		tenants []*tenant
		failed  []string
	)
	for i, k := range keys {
		t, err := startTenant(ctx, l, c, k, portTenantBase+i+1, portTenantMetricsBase+i+1, contexts)
		if err != nil {
			// Go on with the others, so that one run reports every tenant.
			failed = append(failed, fmt.Sprintf("%s: %v", k, err))
			continue
		}
		tenants = append(tenants, t)
	}
	for _, t := range tenants {
		if err := waitTenant(ctx, l, t); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", t.Key, err))
		}
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("the operator made every CLRProvider Ready, but clr-server could not run from what it rendered "+
			"(a mismatch to fix in the operator or clr-server, not in local-up; the rendered files are under %s):\n  %s",
			l.path("tenants"), strings.Join(failed, "\n  "))
	}
	return tenants, nil
}

// startTenant mirrors one provider's pod into a fresh directory and starts
// its clr-server.
func startTenant(ctx context.Context, l *layout, c client.Client, k types.NamespacedName, port, metricsPort int, contexts string) (*tenant, error) {
	p := &clrv1.CLRProvider{}
	if err := c.Get(ctx, k, p); err != nil {
		return nil, err
	}
	t := &tenant{Key: k, Port: port, MetricsPort: metricsPort,
		Dir: l.path("tenants", k.Namespace, k.Name), Process: "clr-server-" + k.Namespace + "-" + k.Name}
	for _, is := range p.Status.Issuers {
		t.Issuers = append(t.Issuers, is.IssuerID)
	}
	if err := os.RemoveAll(t.Dir); err != nil {
		return nil, err
	}
	args, err := materialize(ctx, c, t, contexts)
	if err != nil {
		return nil, err
	}
	l.step("starting clr-server for %s on 127.0.0.1:%d", k, t.Port)
	env := []string{"TMPDIR=" + filepath.Join(t.root(), "tmp")}
	if l.trustBundle != "" {
		// Go's crypto/x509 reads its roots from SSL_CERT_FILE on Linux: the
		// tenant then trusts a local OpenID Connect provider's CA.
		env = append(env, "SSL_CERT_FILE="+l.trustBundle)
	}
	if _, err := l.sup.Start(localcluster.Spec{Name: t.Process, Path: l.binPath("clr-server"), Args: args,
		// The image's working directory is / (its contexts are at
		// /contexts): here the mirrored root.
		Dir: t.root(), Env: env}); err != nil {
		return nil, err
	}
	return t, nil
}

// waitTenant waits until the tenant's clr-server reports ready.
func waitTenant(ctx context.Context, l *layout, t *tenant) error {
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return localcluster.WaitHTTP(wctx, nil, fmt.Sprintf("http://127.0.0.1:%d/readyz", t.Port), func() error {
		if r, err := l.sup.Get(t.Process); err != nil || !r.Running() {
			return fmt.Errorf("exited; end of %s:\n%s", l.sup.LogPath(t.Process), localcluster.TailFile(l.sup.LogPath(t.Process), 3000))
		}
		return nil
	})
}

// templateHash identifies the pod template a tenant was started from: when
// the operator changes it (new configuration), the kubelet restarts it.
func templateHash(dep *appsv1.Deployment) string {
	raw, _ := json.Marshal(dep.Spec.Template)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:8])
}

// materialize writes the tenant's volumes under t.root() as the kubelet
// would mount them, and a copy of the rendered config with the mount-path
// prefixes and the listen addresses rewritten. It returns clr-server's
// arguments (the container's, with the config path rewritten).
func materialize(ctx context.Context, c client.Client, t *tenant, contexts string) ([]string, error) {
	dep := &appsv1.Deployment{}
	if err := c.Get(ctx, t.Key, dep); err != nil {
		return nil, fmt.Errorf("reading the Deployment the operator rendered: %w", err)
	}
	t.Template = templateHash(dep)
	pod := dep.Spec.Template.Spec
	var ctr *corev1.Container
	for i := range pod.Containers {
		if pod.Containers[i].Name == "clr-server" {
			ctr = &pod.Containers[i]
		}
	}
	if ctr == nil {
		return nil, fmt.Errorf("Deployment %s has no clr-server container", t.Key)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	var mountPaths []string
	for _, m := range ctr.VolumeMounts {
		v, ok := volumes[m.Name]
		if !ok {
			return nil, fmt.Errorf("volume mount %s: no volume of that name", m.Name)
		}
		if m.SubPath != "" || m.SubPathExpr != "" {
			return nil, fmt.Errorf("volume mount %s: subPath is not supported by local-up", m.Name)
		}
		dst := filepath.Join(t.root(), m.MountPath)
		mountPaths = append(mountPaths, m.MountPath)
		if err := mountVolume(ctx, c, t.Key.Namespace, v, dst); err != nil {
			return nil, fmt.Errorf("volume %s at %s: %w", m.Name, m.MountPath, err)
		}
	}
	// Longest first, so that /etc/clr/keys/x wins over /etc/clr.
	sort.Slice(mountPaths, func(i, j int) bool { return len(mountPaths[i]) > len(mountPaths[j]) })
	rewrite := func(s string) string {
		for _, mp := range mountPaths {
			if s == mp || strings.HasPrefix(s, strings.TrimSuffix(mp, "/")+"/") {
				return filepath.Join(t.root(), s)
			}
		}
		return s
	}
	if err := os.Symlink(contexts, filepath.Join(t.root(), "contexts")); err != nil {
		return nil, fmt.Errorf("linking the JSON-LD contexts: %w", err)
	}

	if len(ctr.Command) > 0 {
		return nil, fmt.Errorf("container command %q: local-up runs the clr-server binary with the container's args only", ctr.Command)
	}
	args := make([]string, 0, len(ctr.Args))
	configPath := ""
	for _, a := range ctr.Args {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			configPath = rewrite(v)
			a = "--config=" + filepath.Join(t.Dir, "config.local.json")
		}
		args = append(args, a)
	}
	if configPath == "" {
		return nil, fmt.Errorf("container args %q carry no --config=", ctr.Args)
	}
	raw, err := os.ReadFile(configPath)
	if err != nil {
		return nil, fmt.Errorf("reading the rendered config: %w", err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("the rendered config %s is not JSON: %w", configPath, err)
	}
	cfg = rewriteStrings(cfg, rewrite).(map[string]any)
	server, _ := cfg["server"].(map[string]any)
	if server == nil {
		return nil, fmt.Errorf("the rendered config has no server section")
	}
	server["listen"] = fmt.Sprintf("127.0.0.1:%d", t.Port)
	server["metricsListen"] = fmt.Sprintf("127.0.0.1:%d", t.MetricsPort)
	t.PublicURL, _ = server["publicURL"].(string)
	u, err := url.Parse(t.PublicURL)
	if err != nil {
		return nil, fmt.Errorf("server.publicURL %q: %w", t.PublicURL, err)
	}
	t.LocalURL = fmt.Sprintf("http://127.0.0.1:%d%s", t.Port, strings.TrimSuffix(u.Path, "/"))
	if issuers, _ := cfg["issuers"].([]any); len(issuers) > 0 {
		if is, _ := issuers[0].(map[string]any); is != nil {
			if prof, _ := is["profile"].(map[string]any); prof != nil {
				t.Institution, _ = prof["name"].(string)
			}
		}
	}
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(t.Dir, "config.local.json"), append(out, '\n'), 0o644); err != nil {
		return nil, err
	}
	return args, nil
}

// rewriteStrings applies f to every string in a decoded JSON value.
func rewriteStrings(v any, f func(string) string) any {
	switch x := v.(type) {
	case string:
		return f(x)
	case map[string]any:
		for k, e := range x {
			x[k] = rewriteStrings(e, f)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = rewriteStrings(e, f)
		}
		return x
	}
	return v
}

// mountVolume makes dst hold what the volume would show in the pod.
func mountVolume(ctx context.Context, c client.Client, ns string, v corev1.Volume, dst string) error {
	switch {
	case v.ConfigMap != nil:
		cm := &corev1.ConfigMap{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: v.ConfigMap.Name}, cm); err != nil {
			return err
		}
		data := map[string][]byte{}
		for k, s := range cm.Data {
			data[k] = []byte(s)
		}
		for k, b := range cm.BinaryData {
			data[k] = b
		}
		return writeItems(dst, data, v.ConfigMap.Items, 0o644)
	case v.Secret != nil:
		s := &corev1.Secret{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: v.Secret.SecretName}, s); err != nil {
			return err
		}
		return writeItems(dst, s.Data, v.Secret.Items, 0o600)
	case v.EmptyDir != nil:
		return os.MkdirAll(dst, 0o755)
	case v.PersistentVolumeClaim != nil:
		// The claim's volume is a hostPath directory (local-up created it):
		// link it in.
		pvc := &corev1.PersistentVolumeClaim{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: v.PersistentVolumeClaim.ClaimName}, pvc); err != nil {
			return err
		}
		if pvc.Spec.VolumeName == "" {
			return fmt.Errorf("claim %s is not bound", pvc.Name)
		}
		pv := &corev1.PersistentVolume{}
		if err := c.Get(ctx, types.NamespacedName{Name: pvc.Spec.VolumeName}, pv); err != nil {
			return err
		}
		if pv.Spec.HostPath == nil {
			return fmt.Errorf("volume %s is not a hostPath volume", pv.Name)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.Symlink(pv.Spec.HostPath.Path, dst)
	}
	return fmt.Errorf("volume type not supported by local-up")
}

// writeItems writes the keys (all, or the listed items under their paths).
func writeItems(dir string, data map[string][]byte, items []corev1.KeyToPath, mode os.FileMode) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{}
	if len(items) == 0 {
		for k, b := range data {
			files[k] = b
		}
	} else {
		for _, it := range items {
			b, ok := data[it.Key]
			if !ok {
				return fmt.Errorf("key %s missing", it.Key)
			}
			files[it.Path] = b
		}
	}
	for name, b := range files {
		if strings.Contains(name, "..") || filepath.IsAbs(name) {
			return fmt.Errorf("item path %q", name)
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		// Unchanged files are left alone and changed ones replaced
		// atomically: clr-server polls the key and keyring files.
		if cur, err := os.ReadFile(p); err == nil && bytes.Equal(cur, b) {
			continue
		}
		if err := os.WriteFile(p+".tmp", b, mode); err != nil {
			return err
		}
		if err := os.Rename(p+".tmp", p); err != nil {
			return err
		}
	}
	return nil
}

// contextsDir is a directory of the pinned JSON-LD contexts, checked by
// clr-server against its pins: the shared copy next to the repository when
// present (../shared/clr/contexts), else fetched once into
// .cache/clr-contexts.
func contextsDir(ctx context.Context, l *layout) (string, error) {
	bin := l.binPath("clr-server")
	verify := func(dir string) bool {
		if _, err := os.Stat(dir); err != nil {
			return false
		}
		return exec.CommandContext(ctx, bin, "contexts", "verify", "--dir", dir).Run() == nil
	}
	shared := filepath.Clean(filepath.Join(l.Root, "..", "shared", "clr", "contexts"))
	if verify(shared) {
		return shared, nil
	}
	cache := filepath.Join(l.Root, ".cache", "clr-contexts")
	if verify(cache) {
		return cache, nil
	}
	l.step("fetching the pinned JSON-LD contexts into %s", cache)
	if out, err := exec.CommandContext(ctx, bin, "contexts", "fetch", "--dir", cache).CombinedOutput(); err != nil {
		return "", fmt.Errorf("clr-server contexts fetch: %w\n%s", err, out)
	}
	return cache, nil
}

func renderSummary(l *layout, st *state) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Institutions (each a clr-server process run from the configuration the operator rendered;\n")
	fmt.Fprintf(&b, "only the mount-path prefixes and the listen addresses were rewritten):\n")
	for _, t := range st.Tenants {
		name := t.Institution
		if name == "" {
			name = t.Key.String()
		}
		fmt.Fprintf(&b, "  %s  (CLRProvider %s)\n", name, t.Key)
		fmt.Fprintf(&b, "    URL:          %s\n", t.LocalURL)
		fmt.Fprintf(&b, "    DID document: %s/.well-known/did.json\n", t.LocalURL)
		fmt.Fprintf(&b, "    discovery:    %s/ims/clr/v2p0/discovery\n", t.LocalURL)
		fmt.Fprintf(&b, "    public URL:   %s (in credentials and DIDs; not resolvable locally)\n", t.PublicURL)
		for _, id := range t.Issuers {
			fmt.Fprintf(&b, "    issuer:       %s\n", id)
			if p := didWebPath(id); p != "" {
				fmt.Fprintf(&b, "                  resolves at http://127.0.0.1:%d%s\n", t.Port, p)
			}
		}
		if st.OIDC != nil {
			for _, r := range st.OIDC.Realms {
				if r.Provider == t.Key {
					fmt.Fprintf(&b, "    sign-in:      %s (local OpenID Connect provider; any username, e.g. %s)\n", r.Issuer, r.SampleLearner)
				}
			}
		}
		fmt.Fprintf(&b, "    files:        %s (root/ mirrors the pod's mounts)\n", t.Dir)
		fmt.Fprintf(&b, "    log:          %s\n", l.sup.LogPath(t.Process))
	}
	if len(st.Databases) > 0 {
		fmt.Fprintf(&b, "PostgreSQL:     127.0.0.1:%d, databases %s\n", portPostgres, strings.Join(st.Databases, ", "))
	}
	if st.OIDC != nil {
		fmt.Fprintf(&b, "OpenID Connect: %s, a realm per institution standing in for the samples' providers;\n", st.OIDC.BaseURL)
		fmt.Fprintf(&b, "                its certificate %s, log %s\n", st.OIDC.CAFile, l.sup.LogPath(idpProcess))
		for _, r := range st.OIDC.Realms {
			later := ""
			if r.Later {
				later = ", applied after up"
			}
			fmt.Fprintf(&b, "                realm %s: client %s of CLRProvider %s%s\n", r.Issuer, r.ClientID, r.Provider, later)
		}
		fmt.Fprintf(&b, "                your own CLRProvider signs in here too with issuerURL %s (client secret from its Secret)\n", localidp.IssuerURL(st.OIDC.BaseURL, "<name>"))
	}
	fmt.Fprintf(&b, "Kubeconfig:     %s\n", l.kubeconfig())
	fmt.Fprintf(&b, "                kubectl --kubeconfig %s get clr -A\n", l.kubeconfig())
	fmt.Fprintf(&b, "Operator:       metrics http://127.0.0.1:%d/metrics, log %s\n", portOperatorMetrics, l.sup.LogPath("operator"))
	fmt.Fprintf(&b, "Logs:           %s\n", l.sup.LogDir())
	fmt.Fprintf(&b, "Status / stop:  go run ./hack/localup status  /  make local-down\n")
	fmt.Fprintf(&b, "There is no real kubelet: the background process %s mirrors the operator's later\n", kubeletProcess)
	fmt.Fprintf(&b, "changes (key renewals, new configuration, tenants added or deleted) to these processes; log %s\n", l.sup.LogPath(kubeletProcess))
	if st.OIDC != nil {
		fmt.Fprintf(&b, "\nThe learner's side, scripted (register an app, issue a learner's records, sign in as her with\n")
		fmt.Fprintf(&b, "authorization code + PKCE, list her credentials, open her CLR's verification page):\n")
		fmt.Fprintf(&b, "                make local-demo   (go run ./hack/localup demo [--provider NAMESPACE/NAME] [--learner USERNAME])\n")
	}
	return b.String()
}

// didWebPath is the path a did:web DID resolves at (did:web method §3.2):
// host:a:b -> /a/b/did.json, host alone -> /.well-known/did.json.
func didWebPath(did string) string {
	rest, ok := strings.CutPrefix(did, "did:web:")
	if !ok {
		return ""
	}
	parts := strings.Split(rest, ":")
	if len(parts) == 1 {
		return "/.well-known/did.json"
	}
	return "/" + strings.Join(parts[1:], "/") + "/did.json"
}
