#!/usr/bin/env bash
# Installs the Debian packages runr's build, demo and tests need (idempotent; root required).
#   busybox-static  the rootfs of demo and test bundles
#   runc, crun      reference runtimes the tests and benchmarks compare against
#   libseccomp-dev, pkg-config  for the seccomp support
#   docker.io, containerd, podman  the engines the engine suite drives runr with
set -euo pipefail
packages=(busybox-static runc crun libseccomp-dev pkg-config procps docker.io containerd podman tini)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}" >/dev/null
fi
