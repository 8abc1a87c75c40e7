#!/usr/bin/env bash
# Builds (once, cached by version under bin/) every binary the tests need and
# prints shell `export` lines for them; `eval "$(hack/test-env.sh)"`.
# Build progress goes to stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
assets=$("$root/hack/build-control-plane.sh" --with-controller-manager | tail -1)
echo "export KUBEBUILDER_ASSETS=$assets"
