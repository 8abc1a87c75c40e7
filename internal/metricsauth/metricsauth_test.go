package metricsauth

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/learnerrecords/clr-operator/internal/repo"
	"github.com/learnerrecords/clr-operator/internal/testenv"
	"github.com/learnerrecords/clr-operator/internal/tlscert"
)

// cluster is a real apiserver with: the operator's identity, allowed only
// what the metrics-auth ClusterRole grants; a ServiceAccount "reader"
// bound to the metrics-reader ClusterRole; and one, "stranger", bound to
// nothing.
type cluster struct {
	admin    kubernetes.Interface
	operator *rest.Config
	reader   string // bearer tokens
	stranger string
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	env, err := testenv.Start(testenv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	admin := kubernetes.NewForConfigOrDie(env.Config)

	// The roles as the chart installs them.
	authRole, readerRole := chartRoles(t)
	for _, r := range []*rbacv1.ClusterRole{authRole, readerRole} {
		if _, err := admin.RbacV1().ClusterRoles().Create(ctx, r, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	const operatorUser = "system:serviceaccount:clr-system:clr-operator"
	bind(t, admin, "operator-metrics-auth", authRole.Name, rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: operatorUser})
	u, err := env.Env.AddUser(envtest.User{Name: operatorUser}, nil)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "monitoring"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	token := func(name string) string {
		if _, err := admin.CoreV1().ServiceAccounts("monitoring").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		tr, err := admin.CoreV1().ServiceAccounts("monitoring").CreateToken(ctx, name, &authnv1.TokenRequest{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	c := &cluster{admin: admin, operator: u.Config(), reader: token("prometheus"), stranger: token("stranger")}
	bind(t, admin, "prometheus-metrics-reader", readerRole.Name, rbacv1.Subject{Kind: "ServiceAccount", Name: "prometheus", Namespace: "monitoring"})
	return c
}

// chartRoles renders the Helm chart's metrics RBAC (metrics.secure=true)
// and returns its two ClusterRoles, so the test proves that the rules the
// chart installs are the ones that work.
func chartRoles(t *testing.T) (auth, reader *rbacv1.ClusterRole) {
	t.Helper()
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	helm := os.Getenv("CLR_HELM")
	if helm == "" {
		t.Fatal("CLR_HELM is not set; run eval \"$(hack/test-env.sh)\" from the repository root first")
	}
	home := t.TempDir()
	cmd := exec.Command(helm, "template", "clr", filepath.Join(root, "charts", "clr-operator"),
		"--namespace", "clr-system", "--set", "metrics.secure=true", "--show-only", "templates/metrics-rbac.yaml")
	// Keep helm away from the user's configuration and caches.
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	for _, doc := range strings.Split(string(out), "\n---") {
		role := &rbacv1.ClusterRole{}
		if err := yaml.Unmarshal([]byte(doc), role); err != nil {
			t.Fatalf("decoding %q: %v", doc, err)
		}
		switch {
		case role.Kind != "ClusterRole":
		case strings.HasSuffix(role.Name, "-metrics-auth"):
			auth = role
		case strings.HasSuffix(role.Name, "-metrics-reader"):
			reader = role
		}
	}
	if auth == nil || reader == nil {
		t.Fatalf("the chart's metrics RBAC lacks a ClusterRole:\n%s", out)
	}
	return auth, reader
}

func bind(t *testing.T, admin kubernetes.Interface, name, role string, s rbacv1.Subject) {
	t.Helper()
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(context.Background(), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{s},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// serve starts controller-runtime's metrics server as the manager does
// with --metrics-secure, running as the operator's identity.
func serve(t *testing.T, c *cluster, opts metricsserver.Options, provider func(*rest.Config, *http.Client) (metricsserver.Filter, error)) string {
	t.Helper()
	hc, err := rest.HTTPClientFor(c.operator)
	if err != nil {
		t.Fatal(err)
	}
	opts.BindAddress, opts.SecureServing, opts.FilterProvider = "127.0.0.1:0", true, provider
	srv, err := metricsserver.NewServer(opts, c.operator, hc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	addr := ""
	for i := 0; i < 200 && addr == ""; i++ {
		if a, ok := srv.(interface{ GetBindAddr() string }); ok {
			addr = a.GetBindAddr()
		}
		time.Sleep(10 * time.Millisecond)
	}
	if addr == "" {
		t.Fatal("metrics server did not start")
	}
	return addr
}

type scrape struct {
	status int
	body   string
	header http.Header
}

func get(t *testing.T, client *http.Client, url, token string) scrape {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return scrape{resp.StatusCode, string(b), resp.Header}
}

var testGauge = prometheus.NewGauge(prometheus.GaugeOpts{Name: "clr_metricsauth_test_gauge", Help: "set by the test"})

func init() { crmetrics.Registry.MustRegister(testGauge) }

func TestSecureMetricsAgainstAnAPIServer(t *testing.T) {
	c := startCluster(t)
	testGauge.Set(42)
	var reviewer *Reviewer
	// An extra handler, as pprof would be: the filter guards it too, and
	// the reader role, which allows /metrics only, does not open it.
	debug := map[string]http.Handler{"/debug": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "debug") })}
	addr := serve(t, c, metricsserver.Options{ExtraHandlers: debug}, func(cfg *rest.Config, hc *http.Client) (metricsserver.Filter, error) {
		r, err := NewReviewer(cfg, hc)
		reviewer = r
		return r.Filter, err
	})
	// The self-signed certificate: encryption without a CA to check.
	insecure := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	url := "https://" + addr + "/metrics"

	if s := get(t, insecure, url, ""); s.status != http.StatusUnauthorized || !strings.HasPrefix(s.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no token: %d %q, want 401 with a Bearer challenge", s.status, s.header.Get("WWW-Authenticate"))
	}
	if s := get(t, insecure, url, "not-a-token"); s.status != http.StatusUnauthorized {
		t.Errorf("a token the apiserver does not know: %d, want 401", s.status)
	}
	s := get(t, insecure, url, c.stranger)
	if s.status != http.StatusForbidden || !strings.Contains(s.body, "system:serviceaccount:monitoring:stranger") {
		t.Errorf("an authenticated user without the reader role: %d %q, want 403 naming the user", s.status, s.body)
	}
	s = get(t, insecure, url, c.reader)
	if s.status != http.StatusOK || !strings.Contains(s.body, "clr_metricsauth_test_gauge 42") {
		t.Fatalf("the reader: %d, want 200 and the metrics; body starts %.200q", s.status, s.body)
	}
	if strings.Contains(s.body, c.reader) {
		t.Error("the metrics show the caller's token")
	}
	if s := get(t, insecure, "https://"+addr+"/debug", c.reader); s.status != http.StatusForbidden {
		t.Errorf("the reader on another path: %d, want 403 (the role allows /metrics only)", s.status)
	}
	plain := &http.Client{Timeout: 20 * time.Second}
	if s := get(t, plain, "http://"+addr+"/metrics", c.reader); s.status == http.StatusOK {
		t.Error("plain HTTP was served")
	}

	// Decisions are cached: taking the role away takes effect when the
	// allow entry expires, not before.
	if err := c.admin.RbacV1().ClusterRoleBindings().Delete(context.Background(), "prometheus-metrics-reader", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if s := get(t, insecure, url, c.reader); s.status != http.StatusOK {
		t.Errorf("within the cache's lifetime: %d, want the cached 200", s.status)
	}
	later := time.Now().Add(allowTTL + time.Second)
	reviewer.mu.Lock()
	reviewer.now = func() time.Time { return later }
	reviewer.mu.Unlock()
	// RBAC's authorizer reads bindings from the apiserver's cache: wait
	// for the deletion to reach it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := get(t, insecure, url, c.reader)
		if s.status == http.StatusForbidden {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the cache expired and the binding is gone: %d, want 403", s.status)
		}
		reviewer.mu.Lock()
		clear(reviewer.cache)
		reviewer.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
}

// TestProvidedCertificate: with --metrics-cert-dir the server presents the
// certificate found there (a cert-manager Secret's tls.crt and tls.key),
// which a scraper verifies against its CA.
func TestProvidedCertificate(t *testing.T) {
	c := startCluster(t)
	dir := t.TempDir()
	caPEM := writeServingCert(t, dir)
	addr := serve(t, c, metricsserver.Options{CertDir: dir}, FilterProvider)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	verifying := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if s := get(t, verifying, "https://"+addr+"/metrics", c.reader); s.status != http.StatusOK {
		t.Fatalf("verified TLS with the reader's token: %d, want 200", s.status)
	}
	other := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	if _, err := other.Get("https://" + addr + "/metrics"); err == nil {
		t.Fatal("a client that does not trust the CA connected: the server did not present the provided certificate")
	}
}

// writeServingCert writes a CA-signed certificate for 127.0.0.1 as tls.crt
// and tls.key into dir and returns the CA certificate.
func writeServingCert(t *testing.T, dir string) []byte {
	t.Helper()
	ca, err := tlscert.New(&x509.Certificate{Subject: pkix.Name{CommonName: "metrics test CA"},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := tlscert.New(&x509.Certificate{Subject: pkix.Name{CommonName: "clr-operator-metrics"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, time.Hour, ca)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := leaf.PEM()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ca.CertPEM()
}

// TestUnreachableAPIServer: when the reviews cannot be made the request is
// refused with 500, and the log names the failure without the token.
func TestUnreachableAPIServer(t *testing.T) {
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	defer dead.Close()
	r, err := NewReviewer(&rest.Config{Host: dead.URL}, dead.Client())
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := funcr.New(func(prefix, args string) { fmt.Fprintln(&logs, prefix, args) }, funcr.Options{Verbosity: 10})
	var served bool
	h, _ := r.Filter(log, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served = true }))
	const secret = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2Vu.c2ln"
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError || served {
		t.Fatalf("apiserver down: %d (served %v), want 500 and nothing served", rec.Code, served)
	}
	if !strings.Contains(logs.String(), "TokenReview") {
		t.Errorf("the log does not say what failed: %q", logs.String())
	}
	if strings.Contains(logs.String(), secret) || strings.Contains(rec.Body.String(), secret) {
		t.Error("the token appears in the log or the response")
	}
	if len(r.cache) != 0 {
		t.Error("a failed review was cached")
	}
}

func TestBearerToken(t *testing.T) {
	for h, want := range map[string]string{"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "Bearer": "", "Bearer   ": "", "": ""} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		got, ok := bearerToken(req)
		if got != want || ok != (want != "") {
			t.Errorf("Authorization %q: token %q %v, want %q", h, got, ok, want)
		}
	}
}

// TestCacheIsBounded: many distinct tokens cannot grow the cache past
// maxCached.
func TestCacheIsBounded(t *testing.T) {
	r := &Reviewer{now: time.Now, cache: map[[32]byte]decision{}}
	now := time.Now()
	for i := 0; i < 3*maxCached; i++ {
		r.store([32]byte{byte(i), byte(i >> 8)}, decision{status: http.StatusForbidden, expires: now.Add(time.Minute)}, now)
	}
	if n := len(r.cache); n > maxCached || n == 0 {
		t.Fatalf("cache holds %d entries, want 1..%d", n, maxCached)
	}
}
