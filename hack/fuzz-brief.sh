#!/usr/bin/env bash
# Runs every go-fuzz target in the tree briefly (FUZZTIME each, default 5s),
# so `make test` exercises the fuzzers and their seed corpora. Targets are
# discovered from the sources, so a new Fuzz function is picked up without
# editing this script.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fuzztime=${FUZZTIME:-5s}
status=0
while IFS=: read -r file fn; do
  pkg="./$(dirname "$file")"
  echo "fuzz: $fn in $pkg for $fuzztime"
  if ! go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$fuzztime" -fuzzminimizetime 5s -parallel 2 "$pkg"; then
    echo "fuzz: $fn FAILED" >&2
    status=1
  fi
done < <(git ls-files '*_test.go' | xargs grep -oE '^func (Fuzz[A-Za-z0-9_]+)' | sed -E 's/:func /:/' | sort)
exit $status
