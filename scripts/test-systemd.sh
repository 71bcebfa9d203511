#!/usr/bin/env bash
# The systemd cgroup driver against a real systemd: a throw-away VM booted with systemd 252 as
# PID 1 (../shared/tools/v2vm, V2VM_INIT=systemd). On pure cgroup v2 it runs the driver's tests
# (tests-integration/tests/systemd.rs, runr and runc --systemd-cgroup side by side) and the
# engines with the systemd driver (tests/engines_systemd.rs: docker, ctr, podman; skipped with
# RUNR_SKIP_ENGINES=1); on the hybrid and v1 layouts the driver's tests again. Binaries are built here;
# the VM sees the repository at the same path. Prints the time each VM run took.
#   RUNR_SYSTEMD_LAYOUTS="v2 hybrid v1"  the layouts to boot (default: all three)
#   RUNR_SYSTEMD_TESTS=NAME           only the tests whose name contains NAME
set -euo pipefail
cd "$(dirname "$0")/.."
# The VM tool ($V2VM or ../shared/tools/v2vm) through scripts/v2vm.sh, which makes its private
# qemu loadable on a fresh cache (libnl-3.so.200) and fails if the tool is missing.
v2vm=$(pwd)/scripts/v2vm.sh
cargo build -p runtime-cli --quiet
binary() {
  cargo test -p tests-integration --test "$1" --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | grep -v '^$' | sort -u | head -n1
}
driver=$(binary systemd); engines=$(binary engines_systemd); rootless_sd=$(binary rootless_systemd)
bus_env=$(binary rootless_bus_env)
[ -n "$driver" ] && [ -n "$engines" ] && [ -n "$rootless_sd" ] && [ -n "$bus_env" ] ||
  { echo "test-systemd: test binaries not built" >&2; exit 1; }
# SKIP lines of tests in the VM go to a file in the repository (the VM can write there), then
# to $RUNR_SKIP_LOG (test.sh's summary), tagged with where they ran.
vmlog=$(pwd)/target/skips-systemd-vm.log
: > "$vmlog"
filter=${RUNR_SYSTEMD_TESTS:-}
for layout in ${RUNR_SYSTEMD_LAYOUTS:-v2 hybrid v1}; do
  script="set -e; export RUNR_BIN=$(pwd)/target/debug/runr RUNR_SYSTEMD_VM=1; \
echo \"systemd \$(systemctl is-system-running); cgroup2 root: \$(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null || echo none, $layout)\"; \
echo '== systemd.rs'; $driver --test-threads=1 -q $filter"
  if [ "$layout" = v2 ] && [ "${RUNR_SKIP_ENGINES:-0}" != 1 ]; then
    script="$script; echo '== engines_systemd.rs'; $engines --test-threads=1 -q --nocapture $filter"
  fi
  # Rootless with the user's systemd (tests/rootless_systemd.rs, issue #16): runr-tester's
  # user@UID.service over its session bus, `--systemd-cgroup` and rootless podman `--memory`
  # on runr and runc (measured 4-7 min on this loaded machine, ~2.5 of them podman's; the podman
  # tests say SKIP with RUNR_SKIP_ENGINES=1).
  if [ "$layout" = v2 ]; then
    script="$script; echo '== rootless_systemd.rs'; RUNR_SKIP_LOG=$vmlog RUNR_SKIP_ENGINES=${RUNR_SKIP_ENGINES:-0} $rootless_sd --test-threads=1 -q $filter"
    # The same user's scopes driven from another environment than create's (a shim, sudo -u,
    # cron: tests/rootless_bus_env.rs, runr and runc), the recorded bus gone or another's, the
    # manager stopped. Adds 33-75 s to the v2 VM (measured here under load).
    script="$script; echo '== rootless_bus_env.rs'; RUNR_SKIP_LOG=$vmlog $bus_env --test-threads=1 -q $filter"
  fi
  # The CRI scenarios with containerd's SystemdCgroup = true and kubelet-like pod slices
  # (tests/cri.rs, issue #19 item 4), v2 only; containerd's root on a tmpfs (overlayfs cannot
  # use the VM's overlay root as its upper dir). Adds 3-6.5 min to the v2 VM (193-381 s measured
  # here with up to five emulated VMs sharing the 2 cores: containerd and images 12-61 s, then 2
  # scenarios on runr and runc; the debug runr is the slow half).
  if [ "$layout" = v2 ] && [ -z "$filter" -o "${filter#cri}" != "$filter" ]; then
    if [ "${RUNR_SKIP_ENGINES:-0}" = 1 ]; then
      echo "SKIP cri-systemd: RUNR_SKIP_ENGINES=1, the CRI scenarios did not run with SystemdCgroup = true" |
        tee -a "${RUNR_SKIP_LOG:-/dev/null}" >&2
    else
      cri=$(binary cri)
      [ -n "$cri" ] || { echo "test-systemd: the cri test binary is not built" >&2; exit 1; }
      script="$script; echo '== cri.rs (SystemdCgroup = true)'; mkdir -p /var/tmp/runr-cri; \
mount -t tmpfs tmpfs /var/tmp/runr-cri; TMPDIR=/var/tmp/runr-cri RUNR_SKIP_LOG=$vmlog $cri"
    fi
  fi
  echo "== systemd VM, cgroup layout $layout"
  start=$(date +%s)
  # apparmor=0: the VM's kernel has AppArmor on and this host has no apparmor_parser (docker).
  V2VM_INIT=systemd V2VM_CGROUP=$layout V2VM_APPEND=apparmor=0 V2VM_GUEST_DIR=$(pwd) \
    V2VM_TIMEOUT=${V2VM_TIMEOUT:-2400} "$v2vm" "$(pwd)" sh -c "$script"
  echo "== systemd VM ($layout): $(( $(date +%s) - start )) s"
done
if [ -s "$vmlog" ] && [ -n "${RUNR_SKIP_LOG:-}" ]; then
  sed 's/^SKIP /SKIP [systemd vm] /' "$vmlog" >> "$RUNR_SKIP_LOG"
fi
rm -f "$vmlog"
