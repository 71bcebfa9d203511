#!/usr/bin/env bash
# Installs the Debian packages runr needs (idempotent; root required).
#   deps.sh            what the build and the demo need:
#                      busybox-static (the rootfs of demo and test bundles), runc and crun (the
#                      reference runtimes tests and benchmarks compare against), libseccomp-dev and
#                      pkg-config (seccomp), procps (ps, for `runr ps`), protobuf-compiler
#                      (protoc: tests-integration's CRI client generates its gRPC code at build),
#                      iproute2 (ip: the netDevices tests make and inspect veth pairs), strace
#                      (tests/intent_durability.rs: the order of the intent record's syncs), libcap2-bin
#                      (setcap: file capabilities in the exec stub's capability test)
#   deps.sh --engines  also the engines the engine suite drives runr with:
#                      docker.io, containerd, podman, tini (docker --init), uidmap and
#                      dbus-user-session (the rootless tests test.sh runs, also in the systemd VM)
#   deps.sh --rootless also uidmap (newuidmap/newgidmap: the rootless tests' wider id mappings)
#                      and dbus-user-session (the user's session bus, for rootless --systemd-cgroup)
set -euo pipefail
packages=(busybox-static runc crun libseccomp-dev pkg-config procps protobuf-compiler iproute2 strace libcap2-bin)
[ "${1:-}" = --engines ] && packages+=(docker.io containerd podman tini uidmap dbus-user-session)
[ "${1:-}" = --rootless ] && packages+=(uidmap dbus-user-session)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
