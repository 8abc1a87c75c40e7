// Package crd tests the CRDs of clr-operator against a real kube-apiserver
// and etcd (envtest): they install, defaults apply, invalid objects are
// rejected with an error naming the field, and every sample is accepted.
package crd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	clrv1alpha1 "github.com/learnerrecords/clr-operator/api/v1alpha1"
	"github.com/learnerrecords/clr-operator/internal/repo"
)

var (
	// repoRoot is the directory holding go.mod.
	repoRoot string
	// cfg and k8s reach the shared control plane of this package.
	cfg    *rest.Config
	k8s    client.Client
	scheme = runtime.NewScheme()
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "test/crd: KUBEBUILDER_ASSETS is not set; these tests need a real kube-apiserver and etcd.\n"+
			"Run them with `make test`, or first `eval \"$(hack/test-env.sh)\"` (it builds the control plane once, cached in bin/k8s/).")
		return 1
	}
	var err error
	if repoRoot, err = repo.Root(); err != nil {
		fmt.Fprintln(os.Stderr, "test/crd:", err)
		return 1
	}
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme, clrv1alpha1.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			fmt.Fprintln(os.Stderr, "test/crd: scheme:", err)
			return 1
		}
	}

	env := newEnv()
	if cfg, err = env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "test/crd: starting the control plane:", err)
		// A CRD the API server rejects fails Start after etcd and the
		// API server are up: stop them, or they outlive the test.
		if stopErr := env.Stop(); stopErr != nil {
			fmt.Fprintln(os.Stderr, "test/crd: stopping the control plane:", stopErr)
		}
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "test/crd: stopping the control plane:", err)
		}
	}()
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, "test/crd: client:", err)
		return 1
	}
	return m.Run()
}

// newEnv is a control plane with the CRDs of config/crd/bases installed; it
// fails to start when a CRD is rejected (for example a CEL rule over the
// cost budget).
func newEnv() *envtest.Environment {
	return &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
}

func clientgoscheme(s *runtime.Scheme) error { return corev1.AddToScheme(s) }

// ctx is the context of API calls in tests.
func ctx(t *testing.T) context.Context { return t.Context() }
