#!/usr/bin/env bash
# Builds (once, cached by version under bin/) every binary the tests need and
# prints shell `export` lines for them; `eval "$(hack/test-env.sh)"`.
# Build progress goes to stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
assets=$("$root/hack/build-control-plane.sh" --with-controller-manager | tail -1)
echo "export KUBEBUILDER_ASSETS=$assets"
# Controller tests: cert-manager's controllers (our program on its Go module),
# kube-scheduler and kwok (pods on a fake node), cert-manager's CRDs.
"$root/hack/build-kube-scheduler.sh" >/dev/null
echo "export CLR_CERT_MANAGER_CONTROLLER=$("$root/hack/build-cert-manager.sh" | tail -1)"
kwok_out=$("$root/hack/install-kwok.sh")
echo "export CLR_KWOK=$(echo "$kwok_out" | sed -n 1p)"
echo "export CLR_KWOK_STAGES=$(echo "$kwok_out" | sed -n 2p)"
echo "export CLR_CERT_MANAGER_CRDS=$(cd "$root" && go list -m -f '{{.Dir}}' github.com/cert-manager/cert-manager)/deploy/crds"
# Chart tests: helm (built from its Go module) and prometheus-operator's CRDs
# (ServiceMonitor, PrometheusRule) from its module in the module cache; the
# module is downloaded only, never required by go.mod.
echo "export CLR_HELM=$("$root/hack/build-helm.sh")"
echo "export CLR_PROMETHEUS_OPERATOR_CRDS=$(source "$root/hack/versions.env" && cd "${TMPDIR:-/tmp}" && go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/example/prometheus-operator-crd"
