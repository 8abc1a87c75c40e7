#!/usr/bin/env bash
# Builds the binaries of a real Kubernetes control plane for tests from Go
# modules alone (no Docker, no downloads but the Go module proxy):
#   bin/k8s/<version>/{kube-apiserver,kube-controller-manager,etcd,kubectl}
# Each binary is cached by version; a second run only prints the directory.
# Prints the directory to use as KUBEBUILDER_ASSETS on its last line.
#
# Usage: hack/build-control-plane.sh [--with-controller-manager]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.env
source "$root/hack/versions.env"

with_kcm=false
for a in "$@"; do
  case "$a" in
    --with-controller-manager) with_kcm=true ;;
    *) echo "unknown argument: $a" >&2; exit 2 ;;
  esac
done

out="$root/bin/k8s/$KUBERNETES_VERSION"
mkdir -p "$out"
log() { echo "build-control-plane: $*" >&2; }

export CGO_ENABLED=0 GOFLAGS=-mod=mod

# The wrapper module: k8s.io/kubernetes requires its staging modules at v0.0.0
# and replaces them with ./staging/..., which only works inside its own tree, so
# we require it from a module of ours and replace each staging module with its
# published release. The list comes from k8s.io/kubernetes's own go.mod.
wrapper="$root/bin/k8s/.wrapper-$KUBERNETES_VERSION"
ensure_wrapper() {
  [ -f "$wrapper/go.sum" ] && return 0
  log "preparing wrapper module for k8s.io/kubernetes $KUBERNETES_VERSION"
  rm -rf "$wrapper"; mkdir -p "$wrapper"
  local gomod staging_minor
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  staging_minor="v0.${KUBERNETES_VERSION#v1.}"
  {
    echo "module clr-operator.local/k8s-tools"
    echo
    echo "go 1.26"
    echo
    echo "tool ("
    echo "	k8s.io/kubernetes/cmd/kube-apiserver"
    echo "	k8s.io/kubernetes/cmd/kube-controller-manager"
    echo ")"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    echo "replace ("
    grep -E '^\s*k8s.io/[a-z0-9-]+ v0\.0\.0$' "$gomod" | awk -v v="$staging_minor" '{print "\t" $1 " => " $1 " " v}' | sort -u
    echo ")"
  } > "$wrapper/go.mod"
  cp "$root/hack/tools/k8s/tools.go" "$wrapper/tools.go"
  (cd "$wrapper" && go mod tidy)
}

ldflags() {
  local v=$KUBERNETES_VERSION major minor
  major=${v#v}; major=${major%%.*}
  minor=${v#v*.}; minor=${minor%%.*}
  local f=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f+=" -X $p.gitVersion=$v -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  echo "-s -w$f"
}

build_k8s() {
  local name=$1
  [ -x "$out/$name" ] && return 0
  ensure_wrapper
  log "building $name $KUBERNETES_VERSION (cold: several minutes)"
  local start=$SECONDS
  (cd "$wrapper" && go build -trimpath -ldflags "$(ldflags)" -o "$out/$name.tmp" "k8s.io/kubernetes/cmd/$name")
  mv "$out/$name.tmp" "$out/$name"
  log "built $name in $((SECONDS - start))s"
}

build_etcd() {
  [ -x "$out/etcd" ] && return 0
  local dir="$root/bin/k8s/.etcd-$ETCD_VERSION"
  if [ ! -f "$dir/go.sum" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    cp "$root/hack/tools/etcd/main.go" "$dir/main.go"
    printf 'module clr-operator.local/etcd\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$dir/go.mod"
    (cd "$dir" && go mod tidy)
  fi
  log "building etcd $ETCD_VERSION"
  local start=$SECONDS
  (cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp" .)
  mv "$out/etcd.tmp" "$out/etcd"
  log "built etcd in $((SECONDS - start))s"
}

ensure_kubectl() {
  [ -x "$out/kubectl" ] && return 0
  # The machine's kubectl is enough for envtest and for people; link it.
  if command -v kubectl >/dev/null 2>&1; then
    ln -sf "$(command -v kubectl)" "$out/kubectl"
    return 0
  fi
  ensure_wrapper
  log "no kubectl on PATH: building it"
  (cd "$wrapper" && go get "k8s.io/kubernetes/cmd/kubectl@$KUBERNETES_VERSION" >/dev/null 2>&1 || true)
  (cd "$wrapper" && go build -trimpath -ldflags "$(ldflags)" -o "$out/kubectl" k8s.io/kubernetes/cmd/kubectl)
}

build_etcd
build_k8s kube-apiserver
$with_kcm && build_k8s kube-controller-manager
ensure_kubectl
echo "$out"
