#!/usr/bin/env bash
# Copies into the Helm chart (charts/clr-operator/files/) the files it renders
# from, so that the chart and the kustomize tree under config/ have one
# source each:
#   config/crd/bases/*.yaml                  -> files/crds/        (controller-gen)
#   config/rbac/role.yaml                    -> files/rbac/        (controller-gen, from the RBAC markers)
#   config/prometheus/prometheus-rule.yaml   -> files/             (the alerts)
#   config/prometheus/dashboards/*.json      -> files/dashboards/  (Grafana)
# The copies are verbatim; the chart's templates parse and adjust them.
#
# Usage: hack/sync-chart-crds.sh           update the copies
#        hack/sync-chart-crds.sh --verify  fail when a copy is stale (make verify-generated)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
chart="$root/charts/clr-operator/files"

verify=false
for a in "$@"; do
  case "$a" in
    --verify) verify=true ;;
    *) echo "unknown argument: $a" >&2; exit 2 ;;
  esac
done

# pairs of "source-directory glob destination-directory"
sync_set() {
  local src_dir=$1 pattern=$2 dst_dir=$3
  local want have f
  want=$(cd "$root/$src_dir" && ls -1 $pattern 2>/dev/null | sort || true)
  have=$(cd "$chart/$dst_dir" 2>/dev/null && ls -1 $pattern 2>/dev/null | sort || true)
  if [ -z "$want" ]; then
    echo "sync-chart-crds: nothing matches $src_dir/$pattern" >&2
    return 1
  fi
  if $verify; then
    local bad=0
    if [ "$want" != "$have" ]; then
      echo "sync-chart-crds: charts/clr-operator/files/$dst_dir holds [$(echo $have)], $src_dir holds [$(echo $want)]" >&2
      bad=1
    fi
    for f in $want; do
      if ! cmp -s "$root/$src_dir/$f" "$chart/$dst_dir/$f"; then
        echo "sync-chart-crds: charts/clr-operator/files/$dst_dir/$f differs from $src_dir/$f" >&2
        bad=1
      fi
    done
    return $bad
  fi
  mkdir -p "$chart/$dst_dir"
  for f in $have; do
    [ -e "$root/$src_dir/$f" ] || rm -f "$chart/$dst_dir/$f"
  done
  for f in $want; do
    cp "$root/$src_dir/$f" "$chart/$dst_dir/$f"
  done
}

status=0
sync_set config/crd/bases '*.yaml' crds || status=1
sync_set config/rbac role.yaml rbac || status=1
sync_set config/prometheus prometheus-rule.yaml . || status=1
sync_set config/prometheus/dashboards '*.json' dashboards || status=1
if $verify; then
  if [ "$status" -ne 0 ]; then
    echo "sync-chart-crds: the chart's copies are stale; run 'hack/sync-chart-crds.sh' (or 'make manifests')." >&2
    exit 1
  fi
  echo "sync-chart-crds: the chart's CRDs, RBAC rules, alerts and dashboards match config/."
fi
exit "$status"
