#!/usr/bin/env bash
# Debian packages Nimbus needs beyond Python: Node.js runs nodejs* functions, wrk drives the
# throughput benchmarks. Installs only what is missing, so it is quick (and offline-safe)
# on a machine that already has them.
set -euo pipefail
need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${need[*]} (run as root to install them)" >&2
    exit 0
  fi
  apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" || \
    echo "warning: could not install ${need[*]}; related tests/benchmarks will be skipped" >&2
fi
