#!/usr/bin/env bash
# Installs the Debian packages the tests need (PostgreSQL for the PostgreSQL
# store tests, ca-certificates for the images). Idempotent; does nothing when everything is already there.
set -euo pipefail
need=()
command -v make >/dev/null 2>&1 || need+=(make)
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
{ [ -n "$pg_bin" ] && [ -x "$pg_bin/postgres" ]; } || need+=(postgresql)
# The images' CA bundle (`make images`, test/image) is Debian's.
[ -f /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: please install: ${need[*]}" >&2; exit 1
  fi
  echo "install-deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
