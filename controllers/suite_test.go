package controllers_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/learnerrecords/clr-operator/controllers"
	"github.com/learnerrecords/clr-operator/internal/repo"
	"github.com/learnerrecords/clr-operator/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// The shared control plane of this package's integration tests: apiserver
// and etcd, cert-manager's controllers, kube-controller-manager,
// kube-scheduler and kwok, with the operator's manager running in-process.
var (
	env *testenv.Env
	k8s client.Client // direct (uncached) client
	ctx context.Context
	// operatorConfig is the REST config of the operator's user (the
	// generated ClusterRole only).
	operatorConfig *rest.Config
	// operatorCache reads what the in-process operator's cache holds.
	operatorCache client.Reader
)

// scoped are the namespaces of the tests of a namespaced operator (see
// scope_test.go). The suite's all-namespaces operator leaves them alone:
// two operators reconciling the same objects would fight over them.
var scoped = struct{ tenant, shared, unwatched string }{
	tenant: "scope-tenant-" + rand.String(6), shared: "scope-shared-" + rand.String(6), unwatched: "scope-other-" + rand.String(6),
}

// suiteCacheOptions is the operator's cache for all namespaces, except
// that the scoped namespaces are given a field selector no object matches
// (controller-runtime then also keeps them out of the all-namespaces
// informers).
func suiteCacheOptions() cache.Options {
	opts := controllers.CacheOptions(nil)
	none := cache.Config{FieldSelector: fields.OneTermEqualSelector("metadata.name", "left-to-the-namespaced-operator-of-scope-test")}
	opts.DefaultNamespaces = map[string]cache.Config{
		cache.AllNamespaces: {},
		scoped.tenant:       none,
		scoped.shared:       none,
		scoped.unwatched:    none,
	}
	return opts
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if testing.Short() {
		fmt.Println("controllers: -short: integration tests need the test control plane; running unit tests only")
		return m.Run()
	}
	if os.Getenv("CLR_TEST_VERBOSE") != "" {
		log.SetLogger(zap.New(zap.UseDevMode(true)))
	} else {
		log.SetLogger(zap.New(zap.WriteTo(discard{})))
	}
	var err error
	env, err = testenv.Start(testenv.Options{CertManager: true, Workloads: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: starting the test control plane:", err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the test control plane:", err)
		}
	}()
	scheme := controllers.NewScheme()
	k8s, err = client.New(env.Config, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: client:", err)
		return 1
	}
	var cancel context.CancelFunc
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	// The operator runs as a user holding only the generated ClusterRole
	// (config/rbac/role.yaml): a missing RBAC marker fails the tests.
	operatorConfig, err = operatorUser(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: operator RBAC:", err)
		return 1
	}
	recoverPanic := true
	mgr, err := ctrl.NewManager(operatorConfig, ctrl.Options{
		Scheme:     scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Cache:      suiteCacheOptions(),
		Controller: config.Controller{RecoverPanic: &recoverPanic, SkipNameValidation: &recoverPanic},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: manager:", err)
		return 1
	}
	if err := controllers.Setup(ctx, mgr, controllers.Options{
		MaxConcurrentReconciles: 4, RegisterMetrics: true, DiscoveryRecheck: time.Second,
		Build: controllers.BuildOptions{DefaultImage: "ghcr.io/learnerrecords/clr-server:test", IngressNamespaces: []string{"ingress-nginx"}, MonitoringNamespaces: []string{"monitoring"}},
	}); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: setup:", err)
		return 1
	}
	operatorCache = mgr.GetCache()
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(ctx) }()
	code := m.Run()
	cancel()
	select {
	case err := <-mgrDone:
		if err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	case <-time.After(20 * time.Second):
		fmt.Fprintln(os.Stderr, "manager did not stop in time")
	}
	return code
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// needEnv skips nothing: without the control plane the suite already
// failed in TestMain; under -short integration tests are not run.
func needEnv(t *testing.T) {
	t.Helper()
	if env == nil {
		t.Skip("integration test: skipped under -short (needs the test control plane)")
	}
}

// newNamespace creates a namespace for one test, deleted at its end.
func newNamespace(t *testing.T, labels map[string]string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "t-" + rand.String(8), Labels: labels}}
	if err := k8s.Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}

// eventually polls cond until it returns true or the timeout passes; the
// last error message is reported on failure.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// operatorUser creates a user bound to the generated ClusterRole only and
// returns its REST config.
func operatorUser(ctx context.Context) (*rest.Config, error) {
	root, err := repo.Root()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	if err != nil {
		return nil, err
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.Unmarshal(raw, role); err != nil {
		return nil, fmt.Errorf("config/rbac/role.yaml: %w", err)
	}
	if err := k8s.Create(ctx, role); err != nil {
		return nil, err
	}
	const user = "system:serviceaccount:clr-system:clr-operator"
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "clr-operator-test"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: user}},
	}
	if err := k8s.Create(ctx, binding); err != nil {
		return nil, err
	}
	u, err := env.Env.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		return nil, err
	}
	return u.Config(), nil
}
