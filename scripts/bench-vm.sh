#!/usr/bin/env bash
# The benchmark (tests-integration/benches/runtimes.rs) on other host shapes, in a throw-away VM
# (../shared/tools/v2vm): `v2` = pure cgroup v2, busybox as PID 1; `systemd` = pure cgroup v2
# with systemd 252 as PID 1 and every runtime given --systemd-cgroup (runr's D-Bus driver vs
# runc's; crun's if it works there). The VM is emulated (TCG): only the ratios mean something.
# Not part of CI. Short by default: BENCH_RUNS=5, no 100-container batches (BENCH_BATCH_RUNS=0);
# override either in the environment.
#   scripts/bench-vm.sh v2|systemd
set -euo pipefail
cd "$(dirname "$0")/.."
shape=${1:?usage: scripts/bench-vm.sh v2|systemd}
v2vm=${V2VM:-$(pwd)/../shared/tools/v2vm/run-in-v2vm.sh}
[ -x "$v2vm" ] || { echo "bench-vm: $v2vm not found" >&2; exit 1; }
cargo build --release -p runtime-cli --quiet
bench=$(cargo bench -p tests-integration --bench runtimes --no-run --quiet \
  --message-format=json-render-diagnostics | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[ -n "$bench" ] || { echo "bench-vm: cargo listed no bench executable" >&2; exit 1; }
# The VM sees the repository, not ../shared: copy the fixture the seccomp rows read into it.
mkdir -p target/v2vm-fixtures
cp ../shared/fixtures/engine-configs/docker-config-default.json target/v2vm-fixtures/
# runr runs from the guest's root, as runc and crun do (/usr/sbin, /usr/bin), not from the
# repository: the guest sees the repository through 9p, where running the binary cost runr's
# delete ~0.5 s per call in the VM (614 ms against runc's 103; 70 ms from the root).
guest_runr=/usr/local/bin/runr-bench
env="RUNR_BIN=$guest_runr RUNR_FIXTURES=$(pwd)/target/v2vm-fixtures"
env="$env BENCH_RUNS=${BENCH_RUNS:-5} BENCH_BATCH_RUNS=${BENCH_BATCH_RUNS:-0}"
env="$env BENCH_RUNTIMES=${BENCH_RUNTIMES:-runr,runc,crun}"
case $shape in
  v2) init=busybox ;;
  systemd) init=systemd; env="$env BENCH_GLOBAL_ARGS=--systemd-cgroup" ;;
  *) echo "bench-vm: unknown shape $shape (v2 or systemd)" >&2; exit 1 ;;
esac
script="cp $(pwd)/target/release/runr $guest_runr || exit 1; \
echo \"# host shape: $shape, kernel \$(uname -r), cgroup2: \$(cat /sys/fs/cgroup/cgroup.controllers)\"; \
runc --version | head -1; crun --version | head -1; env $env $bench"
if [ "$init" = systemd ]; then
  V2VM_INIT=systemd V2VM_GUEST_DIR=$(pwd) V2VM_TIMEOUT=${V2VM_TIMEOUT:-1800} "$v2vm" "$(pwd)" sh -c "$script"
else
  V2VM_GUEST_DIR=$(pwd) V2VM_TIMEOUT=${V2VM_TIMEOUT:-1800} "$v2vm" "$(pwd)" sh -c "$script"
fi
