#!/usr/bin/env bash
# Runs the systemd cgroup driver's tests (tests-integration/tests/systemd.rs, runr and runc
# --systemd-cgroup side by side) against a real systemd: a throw-away VM booted with systemd 252
# as PID 1 (../shared/tools/v2vm, V2VM_INIT=systemd), on pure cgroup v2 and, unless
# RUNR_SYSTEMD_LAYOUTS says otherwise, on the hybrid layout too. Binaries are built here; the VM
# sees the repository at the same path. Prints the time each VM run took.
# RUNR_SYSTEMD_TESTS=NAME runs only the tests whose name contains NAME.
set -euo pipefail
cd "$(dirname "$0")/.."
v2vm=${V2VM:-$(pwd)/../shared/tools/v2vm/run-in-v2vm.sh}
[ -x "$v2vm" ] || { echo "test-systemd: $v2vm not found" >&2; exit 1; }
cargo build -p runtime-cli --quiet
bin=$(cargo test -p tests-integration --test systemd --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | grep -v '^$' | sort -u | head -n1)
[ -n "$bin" ] || { echo "test-systemd: no test binary" >&2; exit 1; }
script="set -e; export RUNR_BIN=$(pwd)/target/debug/runr; systemctl is-system-running || true; \
echo \"cgroup2 root: \$(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null || echo hybrid/v1)\"; \
$bin --test-threads=1 -q ${RUNR_SYSTEMD_TESTS:-}"
for layout in ${RUNR_SYSTEMD_LAYOUTS:-v2 hybrid}; do
  echo "== systemd VM, cgroup layout $layout"
  start=$(date +%s)
  V2VM_INIT=systemd V2VM_CGROUP=$layout V2VM_GUEST_DIR=$(pwd) V2VM_TIMEOUT=${V2VM_TIMEOUT:-900} \
    "$v2vm" "$(pwd)" sh -c "$script"
  echo "== systemd VM ($layout): $(( $(date +%s) - start )) s"
done
