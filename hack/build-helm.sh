#!/usr/bin/env bash
# Builds helm from its Go module into bin/tools/helm/<version>/helm, cached by
# version (a second run only prints the path). The Kubernetes version helm
# assumes for `.Capabilities.KubeVersion` and for `helm lint` is stamped with
# -X to the control plane's version: unstamped, helm v3 assumes 1.20 and the
# chart's kubeVersion constraint would fail. Prints the binary on stdout.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.env
source "$root/hack/versions.env"

out="$root/bin/tools/helm/$HELM_VERSION"
log() { echo "build-helm: $*" >&2; }
mkdir -p "$out"
export CGO_ENABLED=0

if [ ! -x "$out/helm" ]; then
  kube=${KUBERNETES_VERSION#v}
  major=${kube%%.*}
  minor=${kube#*.}; minor=${minor%%.*}
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ldflags+=" -X $pkg.k8sVersionMajor=$major -X $pkg.k8sVersionMinor=$minor"
  done
  log "building helm $HELM_VERSION for Kubernetes $major.$minor (cold: a few minutes)"
  start=$SECONDS
  tmp="$out/.gobin"
  rm -rf "$tmp"
  GOBIN="$tmp" go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  mv "$tmp/helm" "$out/helm"
  rm -rf "$tmp"
  log "built helm in $((SECONDS - start))s"
fi
echo "$out/helm"
