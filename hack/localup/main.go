// Command localup runs the whole product on one machine with only Go (and
// PostgreSQL's binaries): `go run ./hack/localup up|down|status|demo`,
// behind `make local-up` / `make local-down` / `make local-demo`.
//
// up builds (hack/test-env.sh, cached) and starts a real control plane as
// detached processes (etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok with one fake node, cert-manager's controllers),
// installs the CRDs, runs the operator, creates what the samples need
// (namespaces, Secrets, a self-signed ClusterIssuer standing in for
// letsencrypt-prod, a PostgreSQL server, a volume for the SQLite tenant),
// applies config/samples and waits for the tenants to be Ready. As there is
// no kubelet to run containers, it then plays the kubelet's part for each
// tenant: it writes the tenant's ConfigMap and Secrets into a directory
// mirroring the pod's mounts and starts clr-server from the configuration
// the operator rendered, rewriting only the mount-path prefixes and the
// listen addresses.
//
// The samples' learners sign in at outside OpenID Connect providers: up
// runs a local one instead (internal/localidp, `localup idp` in the
// background), a realm per institution, and points each CLRProvider's
// issuerURL at its realm before applying it (--external-oidc keeps the
// samples as written). A CLRProvider applied later whose issuerURL is
// https://127.0.0.1:18443/realms/NAME gets that realm and its client at
// the running provider: the kubelet adds them to the provider's
// configuration file (oidc/config.json, rewritten atomically from up's
// oidc/base.json), which the provider reloads (idpsync.go). demo then walks the learner's side of each
// institution (see demo.go).
//
// Everything lives under tmp/local/ in the repository (git-ignored): pid
// files, logs, the kubeconfig, data. down stops every recorded process by
// pid (process group) and keeps the files for inspection; the next up
// starts from scratch.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/learnerrecords/clr-operator/internal/localcluster"
	"github.com/learnerrecords/clr-operator/internal/repo"
)

// Fixed loopback ports, so that the printed URLs are stable.
const (
	portEtcd            = 12379
	portEtcdPeer        = 12380
	portAPIServer       = 16443
	portPostgres        = 15432
	portOperatorMetrics = 18090
	portOperatorProbes  = 18091
	// Tenants get portTenantBase+1, +2, ... in namespace/name order, and
	// their metrics portTenantMetricsBase+1, ...
	portTenantBase        = 18080
	portTenantMetricsBase = 19080
	// portIdP is the local OpenID Connect provider the tenants' learners
	// sign in at (https).
	portIdP = 18443
)

func usage() {
	fmt.Fprintln(os.Stderr, `Usage: go run ./hack/localup <command>

Commands:
  up [--samples DIR] [--trust-ca FILE] [--external-oidc]
          build and start the local control plane, the operator, the samples and each tenant's clr-server,
          and a local OpenID Connect provider the tenants' learners sign in at (a realm per institution,
          a login form asking only a username) instead of the samples' outside providers;
          --external-oidc keeps the samples' providers as written (for a provider of your own);
          --trust-ca adds the PEM certificates of FILE to the roots the clr-server processes trust
  down    stop everything up started (by pid) and leave no process behind
  status  list what runs
  demo [--provider NAMESPACE/NAME] [--learner USERNAME]
          walk the learner's side on the running environment: register an OAuth 2.0 client, issue the
          learner's records as the registrar, sign in as the learner (authorization code + PKCE through
          the local provider), list her credentials and print her CLR's verification page`)
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	root, err := repo.Root()
	if err != nil {
		fail(err)
	}
	l := newLayout(root)
	switch os.Args[1] {
	case "up":
		fs := flag.NewFlagSet("up", flag.ExitOnError)
		fs.StringVar(&l.Samples, "samples", filepath.Join(root, "config", "samples"), "directory of the manifests to apply (Namespaces first, then the rest in file order)")
		fs.StringVar(&l.TrustCA, "trust-ca", "", "PEM file of CA certificates the tenants' clr-server processes trust besides the system roots (SSL_CERT_FILE)")
		fs.BoolVar(&l.ExternalOIDC, "external-oidc", false, "keep the samples' OpenID Connect providers instead of running a local one")
		_ = fs.Parse(os.Args[2:])
		err = up(l)
	case "down":
		err = down(l)
	case "status":
		err = status(l)
	case "demo":
		err = demo(l, os.Args[2:])
	case "idp":
		// Started in the background by up; not for direct use.
		err = runIdP(os.Args[2:])
	case "kubelet":
		// Started in the background by up; not for direct use.
		err = runKubelet(l)
	case "-h", "--help", "help":
		usage()
		return
	default:
		usage()
		os.Exit(2)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "localup:", err)
	os.Exit(1)
}

// layout names the files under the state directory.
type layout struct {
	Root string // repository root
	Dir  string // tmp/local
	// Samples is the directory of manifests up applies (config/samples).
	Samples string
	// TrustCA is a PEM file of extra CA certificates for the tenants
	// (up --trust-ca); trustBundle is the bundle up made of them and the
	// system roots, given to clr-server as SSL_CERT_FILE.
	TrustCA     string
	trustBundle string
	// ExternalOIDC keeps the samples' OpenID Connect providers; otherwise
	// idp plans the local one.
	ExternalOIDC bool
	idp          *idpPlan
	sup          *localcluster.Supervisor
	start        time.Time
}

func newLayout(root string) *layout {
	dir := filepath.Join(root, "tmp", "local")
	return &layout{Root: root, Dir: dir, sup: localcluster.NewSupervisor(dir), start: time.Now()}
}

func (l *layout) path(elem ...string) string {
	return filepath.Join(append([]string{l.Dir}, elem...)...)
}
func (l *layout) kubeconfig() string    { return l.path("kubeconfig") }
func (l *layout) pki() localcluster.PKI { return localcluster.PKI{Dir: l.path("pki")} }

// step prints a progress line with the time since up started.
func (l *layout) step(format string, args ...any) {
	fmt.Printf("[%5.1fs] %s\n", time.Since(l.start).Seconds(), fmt.Sprintf(format, args...))
}

func down(l *layout) error {
	recs, err := l.sup.List()
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		fmt.Println("Nothing is running (no pid files under " + l.path("pids") + ").")
		return nil
	}
	// Last started first, but the kubelet before all: it would restart
	// tenants being stopped (and the processes it started come after it).
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Name != kubeletProcess && recs[j].Name == kubeletProcess })
	for _, r := range slices.Backward(recs) {
		state := "stopped"
		if !r.Running() {
			state = "was not running"
		}
		if err := l.sup.Stop(r.Name, grace(r.Name)); err != nil {
			return err
		}
		fmt.Printf("  %-46s pid %-7d %s\n", r.Name, r.PID, state)
	}
	fmt.Println("Local environment stopped. Logs and data stay under " + l.Dir + " until the next `make local-up`.")
	return nil
}

// grace is how long a process gets to stop on its signal before SIGKILL.
func grace(name string) time.Duration {
	switch name {
	case "postgres", "etcd":
		return 15 * time.Second
	}
	return 10 * time.Second
}

func status(l *layout) error {
	recs, err := l.sup.List()
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		fmt.Println("Nothing is running. Start with `make local-up`.")
		return nil
	}
	running := 0
	for _, r := range recs {
		state := "running"
		if r.Running() {
			running++
		} else {
			state = "NOT RUNNING"
		}
		fmt.Printf("  %-46s pid %-7d %-12s log %s\n", r.Name, r.PID, state, r.Log)
	}
	fmt.Printf("%d of %d processes running.\n", running, len(recs))
	if st, err := l.loadState(); err == nil {
		fmt.Print("\n" + renderSummary(l, st))
	}
	return nil
}
