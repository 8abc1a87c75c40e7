// The cert-manager controller program for tests lives in its own module so
// that it keeps cert-manager's own Kubernetes and controller-runtime versions
// and stays out of the operator's dependency graph. hack/build-cert-manager.sh
// copies this directory under bin/, resolves it with `go mod tidy` there and
// builds it, so no go.sum is kept here.
module clr-operator.local/cert-manager-controller

go 1.26

require github.com/cert-manager/cert-manager v1.21.2
