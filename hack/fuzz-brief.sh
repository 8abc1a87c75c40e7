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
  out=$(mktemp)
  if go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$fuzztime" -fuzzminimizetime 2s -parallel 2 "$pkg" >"$out" 2>&1; then
    cat "$out"
  elif grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written to' "$out"; then
    # Go's fuzz coordinator can end a time-bounded run with a bare "context
    # deadline exceeded" when a worker is still minimising a new interesting
    # input at the deadline; that is not a finding (a finding writes a
    # failing input under testdata/fuzz). Run it again on one worker.
    echo "fuzz: $fn: coordinator deadline while minimising, not a finding; running again on one worker"
    go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$fuzztime" -fuzzminimizetime 2s -parallel 1 "$pkg" || { echo "fuzz: $fn FAILED" >&2; status=1; }
  else
    cat "$out"
    echo "fuzz: $fn FAILED" >&2
    status=1
  fi
  rm -f "$out"
done < <(git ls-files '*_test.go' | xargs grep -oE '^func (Fuzz[A-Za-z0-9_]+)' | sed -E 's/:func /:/' | sort)
exit $status
