#!/usr/bin/env bash
# Debian packages Nimbus needs beyond Python: Node.js runs nodejs* functions, wrk drives the
# throughput benchmarks; the sandbox needs nft and ip (isolated function networks), libseccomp
# (the syscall filter) and mkfs.ext4 + losetup (disk-backed /tmp). Installs only what is missing, so it is quick (and offline-safe)
# on a machine that already has them.
set -euo pipefail
need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v losetup >/dev/null 2>&1 || need+=(util-linux)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)
ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2' || need+=(libseccomp2)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${need[*]} (run as root to install them)" >&2
    exit 0
  fi
  apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" || \
    echo "warning: could not install ${need[*]}; related tests/benchmarks will be skipped" >&2
fi
