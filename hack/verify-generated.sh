#!/usr/bin/env bash
# Fails when a generated file is stale: the deepcopy code of api/, the CRDs in
# config/crd/bases, the RBAC role in config/rbac and docs/crd-reference.md.
# It regenerates them with the Makefile's own targets in a temporary copy of
# the tree and compares; the working tree is never modified.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/clr-verify-generated.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Everything the generators read (sources, Makefile, go.mod), nothing they
# don't (binaries, caches, the git directory).
tar -C "$root" \
  --exclude=./.git --exclude=./bin --exclude=./tmp --exclude=./.cache --exclude='*.test' \
  -cf - . | tar -C "$work" -xf -

if ! make -C "$work" --no-print-directory generate manifests >"$work/.generate.log" 2>&1; then
  echo "verify-generated: regenerating failed:" >&2
  cat "$work/.generate.log" >&2
  exit 1
fi

# The generated files only: the sources of api/ are compared through what
# they generate, so an edit in progress elsewhere is not reported.
generated=(config/crd config/rbac docs/crd-reference.md)
while IFS= read -r f; do generated+=("${f#./}"); done < <(
  { (cd "$root" && find api -name 'zz_generated*.go'); (cd "$work" && find api -name 'zz_generated*.go'); } | sort -u)
stale=0
for p in "${generated[@]}"; do
  if [ ! -e "$root/$p" ] && [ ! -e "$work/$p" ]; then
    continue
  fi
  # -N shows files the generators would add or delete in full.
  if ! diff -ruN "$root/$p" "$work/$p" >"$work/.diff" 2>&1; then
    stale=1
    sed -e "s#$work/#(regenerated) #g" -e "s#$root/#(committed) #g" "$work/.diff" >&2
  fi
done
if [ "$stale" -ne 0 ]; then
  echo >&2
  echo "verify-generated: the generated files above are stale; run 'make generate manifests' and commit the result." >&2
  exit 1
fi
echo "verify-generated: deepcopy, CRDs, RBAC and docs/crd-reference.md are up to date."
