// Package testenv starts a real Kubernetes control plane for integration
// tests: kube-apiserver and etcd through controller-runtime's envtest, with
// the operator's and cert-manager's CRDs installed, and, on request,
// cert-manager's controllers, kube-controller-manager, kube-scheduler and
// kwok (a fake node whose pods become Running and Ready), so that
// Certificates really issue keys, Deployments really roll out and owned
// objects are really garbage collected.
//
// The binaries are built by hack/ (cached by version); tests find them
// through the environment printed by `eval "$(hack/test-env.sh)"`.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/learnerrecords/clr-operator/internal/localcluster"
	"github.com/learnerrecords/clr-operator/internal/repo"
)

// Environment variables naming the binaries (set by hack/test-env.sh).
const (
	EnvAssets      = "KUBEBUILDER_ASSETS"
	EnvCertManager = "CLR_CERT_MANAGER_CONTROLLER"
	EnvKwok        = "CLR_KWOK"
	EnvKwokStages  = "CLR_KWOK_STAGES"
	EnvCMCRDs      = "CLR_CERT_MANAGER_CRDS"
)

const setupHint = `run eval "$(hack/test-env.sh)" from the repository root first: it builds the test control plane (cached) and exports its paths`

// Options choose the parts to start.
type Options struct {
	// CertManager starts cert-manager's controllers.
	CertManager bool
	// CertManagerArgs are extra flags for cert-manager's controller program
	// (for example --workers or --kube-api-qps in the scale benchmark).
	CertManagerArgs []string
	// Workloads starts kube-controller-manager (deployments, replica sets,
	// service accounts, disruption budgets, garbage collection, volume
	// binding), kube-scheduler and kwok with one fake node.
	Workloads bool
	// KCMControllers overrides the kube-controller-manager controllers.
	KCMControllers []string
	// ServiceIPRange overrides the apiserver's service-cluster-ip-range
	// (envtest's default /24 holds only 254 Services).
	ServiceIPRange string
}

// Env is a running control plane.
type Env struct {
	Env    *envtest.Environment
	Config *rest.Config
	Dir    string

	mu    sync.Mutex
	procs []*proc
}

type proc struct {
	name string
	cmd  *exec.Cmd
	log  *lockedWriter
	done chan struct{}
}

func requireEnv(name string) (string, error) {
	v := os.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("environment variable %s is not set; %s", name, setupHint)
	}
	if _, err := os.Stat(v); err != nil {
		return "", fmt.Errorf("%s=%s: %w; %s", name, v, err, setupHint)
	}
	return v, nil
}

// Start starts the control plane and the requested parts. Call Stop when
// done (also on failure of the test).
func Start(opts Options) (*Env, error) {
	assets, err := requireEnv(EnvAssets)
	if err != nil {
		return nil, err
	}
	root, err := repo.Root()
	if err != nil {
		return nil, err
	}
	crdDirs := []string{filepath.Join(root, "config", "crd", "bases")}
	if opts.CertManager {
		cmCRDs, err := requireEnv(EnvCMCRDs)
		if err != nil {
			return nil, err
		}
		crdDirs = append(crdDirs, cmCRDs)
	}
	dir, err := os.MkdirTemp("", "clr-testenv-")
	if err != nil {
		return nil, err
	}
	e := &Env{Dir: dir, Env: &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     crdDirs,
		ErrorIfCRDPathMissing: true,
	}}
	if opts.ServiceIPRange != "" {
		e.Env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", opts.ServiceIPRange)
	}
	cfg, err := e.Env.Start()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting envtest (apiserver, etcd): %w", err)
	}
	e.Config = cfg
	ok := false
	defer func() {
		if !ok {
			_ = e.Stop()
		}
	}()

	kubeconfig, err := e.adminKubeconfig()
	if err != nil {
		return nil, err
	}
	if opts.CertManager {
		bin, err := requireEnv(EnvCertManager)
		if err != nil {
			return nil, err
		}
		if err := e.startProcess("cert-manager", bin, append(localcluster.CertManagerArgs(kubeconfig), opts.CertManagerArgs...)...); err != nil {
			return nil, err
		}
	}
	if opts.Workloads {
		if err := e.startWorkloads(assets, kubeconfig, opts); err != nil {
			return nil, err
		}
	}
	ok = true
	return e, nil
}

// adminKubeconfig writes a system:masters kubeconfig for the processes.
func (e *Env) adminKubeconfig() (string, error) {
	user, err := e.Env.AddUser(envtest.User{Name: "clr-test-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", fmt.Errorf("adding admin user: %w", err)
	}
	raw, err := user.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("admin kubeconfig: %w", err)
	}
	path := filepath.Join(e.Dir, "admin.kubeconfig")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// FakeNodeName is the kwok node pods are scheduled to.
const FakeNodeName = localcluster.FakeNodeName

// startWorkloads runs what makes pods "run" without a kubelet. The flags and
// the fake node are localcluster's, shared with `make local-up`, so tests and
// the local environment behave alike.
func (e *Env) startWorkloads(assets, kubeconfig string, opts Options) error {
	kwok, err := requireEnv(EnvKwok)
	if err != nil {
		return err
	}
	stages, err := requireEnv(EnvKwokStages)
	if err != nil {
		return err
	}
	for _, b := range []string{"kube-controller-manager", "kube-scheduler"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			return fmt.Errorf("%s not in %s: %w; %s", b, assets, err, setupHint)
		}
	}
	if err := e.startProcess("kube-controller-manager", filepath.Join(assets, "kube-controller-manager"),
		localcluster.ControllerManagerArgs(kubeconfig, opts.KCMControllers)...); err != nil {
		return err
	}
	if err := e.startProcess("kube-scheduler", filepath.Join(assets, "kube-scheduler"),
		localcluster.SchedulerArgs(kubeconfig)...); err != nil {
		return err
	}
	if err := e.startProcess("kwok", kwok, localcluster.KwokArgs(kubeconfig, stages)...); err != nil {
		return err
	}
	c, err := client.New(e.Config, client.Options{})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := localcluster.EnsureFakeNode(ctx, c); err != nil {
		return fmt.Errorf("%w (kwok log: %s)", err, e.Log("kwok"))
	}
	return nil
}

func (e *Env) startProcess(name, bin string, args ...string) error {
	cmd := exec.Command(bin, args...)
	buf := &bytes.Buffer{}
	w := &lockedWriter{buf: buf}
	cmd.Stdout, cmd.Stderr = w, w
	// Own process group: Stop kills the process and anything it spawned.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: w, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
	// A process that exits at once (bad flag) is reported now.
	select {
	case <-p.done:
		return fmt.Errorf("%s exited at start: %s", name, tail(w.String(), 2000))
	case <-time.After(300 * time.Millisecond):
	}
	return nil
}

// Log returns the recent output of a started process (for failure messages).
func (e *Env) Log(name string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.procs {
		if p.name == name {
			return tail(p.log.String(), 4000)
		}
	}
	return ""
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// Stop kills the started processes (in reverse order) and stops envtest.
func (e *Env) Stop() error {
	e.mu.Lock()
	procs := e.procs
	e.procs = nil
	e.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		if p.cmd.Process != nil {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
				<-p.done
			}
		}
	}
	var err error
	if e.Env != nil {
		err = e.Env.Stop()
	}
	if e.Dir != "" {
		_ = os.RemoveAll(e.Dir)
	}
	return err
}

type lockedWriter struct {
	mu  sync.Mutex
	buf *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// Keep memory bounded: tests only show the tail.
	if w.buf.Len() > 1<<20 {
		b := w.buf.Bytes()
		rest := append([]byte(nil), b[len(b)-(1<<19):]...)
		w.buf.Reset()
		w.buf.Write(rest)
	}
	return w.buf.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
