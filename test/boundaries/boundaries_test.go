// Package boundaries checks the import boundaries the design relies on:
// clr-server and the credential core know nothing of Kubernetes, and the API
// types import no controller code. A violation would compile fine, so only a
// test keeps it from creeping in.
package boundaries

import (
	"os/exec"
	"strings"
	"testing"
)

func deps(t *testing.T, pkgs ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-deps"}, pkgs...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %v: %v", pkgs, err)
	}
	return strings.Fields(string(out))
}

func TestBoundaries(t *testing.T) {
	const module = "github.com/learnerrecords/clr-operator/"
	cases := []struct {
		name      string
		pkgs      []string
		self      string
		forbidden []string
	}{
		{
			name: "clr-server links neither Kubernetes nor the operator",
			pkgs: []string{"./cmd/clr-server"},
			forbidden: []string{"k8s.io/", "sigs.k8s.io/controller-runtime", "github.com/cert-manager/",
				module + "controllers", module + "api/", module + "cmd/manager"},
		},
		{
			name:      "the credential core knows nothing of Kubernetes or the server",
			pkgs:      []string{"./internal/credential/..."},
			forbidden: []string{"k8s.io/", "sigs.k8s.io/", module + "internal/server", module + "controllers"},
		},
		{
			// Shared by the operator and clr-server: standard library only
			// (go list -deps lists the package itself, hence the exception).
			name:      "memlimit imports only the standard library",
			pkgs:      []string{"./internal/memlimit"},
			self:      module + "internal/memlimit",
			forbidden: []string{module, "k8s.io/", "sigs.k8s.io/", "github.com/", "golang.org/x/"},
		},
		{
			// internal/metricsauth exists so that authenticated metrics do
			// not cost the operator k8s.io/apiserver (gRPC, OpenTelemetry,
			// CEL: +30 MB of binary, measured).
			name:      "the operator does not link the apiserver library",
			pkgs:      []string{"./cmd/manager"},
			forbidden: []string{"k8s.io/apiserver/", "google.golang.org/grpc", "go.opentelemetry.io/"},
		},
		{
			name:      "the API types import no controller code",
			pkgs:      []string{"./api/..."},
			forbidden: []string{module + "controllers", module + "internal/", "sigs.k8s.io/controller-runtime/pkg/client", "sigs.k8s.io/controller-runtime/pkg/manager"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			all := deps(t, tc.pkgs...)
			if len(all) < 10 {
				t.Fatalf("go list returned only %d packages for %v", len(all), tc.pkgs)
			}
			for _, d := range all {
				if d == tc.self {
					continue
				}
				for _, f := range tc.forbidden {
					if strings.HasPrefix(d, f) {
						t.Errorf("%v depends on %s (forbidden prefix %s)", tc.pkgs, d, f)
					}
				}
			}
		})
	}
}
