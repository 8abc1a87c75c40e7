#!/usr/bin/env bash
# Installs kwok (fake nodes and pods, so Deployments become Available without a
# kubelet) from its Go module into bin/tools/kwok/<version>/, cached by
# version, together with the Stage configuration the module ships
# (kustomize/stage/{node/fast,node/heartbeat,pod/fast}) concatenated into
# stages.yaml. Prints two lines on stdout: the kwok binary, then stages.yaml.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.env
source "$root/hack/versions.env"

out="$root/bin/tools/kwok/$KWOK_VERSION"
log() { echo "install-kwok: $*" >&2; }
mkdir -p "$out"
export CGO_ENABLED=0

if [ ! -x "$out/kwok" ]; then
  log "installing kwok $KWOK_VERSION (cold: a few minutes)"
  start=$SECONDS
  GOBIN="$out" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  log "installed kwok in $((SECONDS - start))s"
fi

if [ ! -s "$out/stages.yaml" ]; then
  dir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -d "$dir/kustomize/stage" ] || { log "no kustomize/stage in $dir"; exit 1; }
  tmp="$out/stages.yaml.tmp"; : > "$tmp"
  for stage in node/fast node/heartbeat pod/fast; do
    for f in "$dir/kustomize/stage/$stage"/*.yaml; do
      [ "$(basename "$f")" = kustomization.yaml ] && continue
      { echo "---"; cat "$f"; echo; } >> "$tmp"
    done
  done
  mv "$tmp" "$out/stages.yaml"
fi
echo "$out/kwok"
echo "$out/stages.yaml"
