#!/usr/bin/env bash
# Builds kube-scheduler into bin/k8s/<version>/ (cached by version) from the
# same wrapper module hack/build-control-plane.sh prepares for kube-apiserver:
# controller tests need pods scheduled onto kwok's fake node, and the
# operator's Deployments do not (and must not) set nodeName themselves.
# Prints the binary's path on stdout.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.env
source "$root/hack/versions.env"

out="$root/bin/k8s/$KUBERNETES_VERSION"
bin="$out/kube-scheduler"
if [ ! -x "$bin" ]; then
  "$root/hack/build-control-plane.sh" >/dev/null
  wrapper="$root/bin/k8s/.wrapper-$KUBERNETES_VERSION"
  v=$KUBERNETES_VERSION
  major=${v#v}; major=${major%%.*}
  minor=${v#v*.}; minor=${minor%%.*}
  ldflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  echo "build-kube-scheduler: building kube-scheduler $v" >&2
  start=$SECONDS
  (cd "$wrapper" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$bin.tmp" k8s.io/kubernetes/cmd/kube-scheduler)
  mv "$bin.tmp" "$bin"
  echo "build-kube-scheduler: built kube-scheduler in $((SECONDS - start))s" >&2
fi
echo "$bin"
