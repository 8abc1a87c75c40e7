#!/usr/bin/env bash
# Builds the cert-manager controller program for tests (hack/tools/cert-manager,
# its own Go module on github.com/cert-manager/cert-manager) into
#   bin/tools/cert-manager/<version>-<source hash>/cert-manager-controller
# cached by version: a second run only prints the path. Also prints nothing but
# the binary's path on stdout (last line); progress goes to stderr.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/versions.env
source "$root/hack/versions.env"

# The cache key includes the program's source, so editing it rebuilds.
src_sum=$(cat "$root/hack/tools/cert-manager/main.go" "$root/hack/tools/cert-manager/go.mod" | sha256sum | cut -c1-12)
out="$root/bin/tools/cert-manager/$CERT_MANAGER_VERSION-$src_sum"
bin="$out/cert-manager-controller"
log() { echo "build-cert-manager: $*" >&2; }

if [ ! -x "$bin" ]; then
  export CGO_ENABLED=0 GOFLAGS=-mod=mod
  # Resolve the module in a copy under bin/: `go mod tidy` writes go.sum, and
  # the source tree keeps only go.mod and main.go.
  src="$root/bin/tools/cert-manager/.src-$CERT_MANAGER_VERSION"
  if [ ! -f "$src/go.sum" ] || ! cmp -s "$root/hack/tools/cert-manager/main.go" "$src/main.go"; then
    log "resolving cert-manager $CERT_MANAGER_VERSION"
    rm -rf "$src"; mkdir -p "$src"
    cp "$root/hack/tools/cert-manager/main.go" "$src/main.go"
    sed "s#github.com/cert-manager/cert-manager v[0-9.]*#github.com/cert-manager/cert-manager $CERT_MANAGER_VERSION#" \
      "$root/hack/tools/cert-manager/go.mod" > "$src/go.mod"
    (cd "$src" && go mod tidy)
  fi
  log "building cert-manager-controller $CERT_MANAGER_VERSION (cold: several minutes)"
  start=$SECONDS
  mkdir -p "$out"
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$bin.tmp" .)
  mv "$bin.tmp" "$bin"
  log "built cert-manager-controller in $((SECONDS - start))s"
fi
echo "$bin"
