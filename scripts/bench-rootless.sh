#!/usr/bin/env bash
# The benchmark (tests-integration/benches/runtimes.rs) run by an unprivileged user
# (scripts/rootless-user.sh's runr-tester): runr, runc and crun all rootless, on bundles with
# `runr spec --rootless`'s config; the seccomp rows have no memory limit (no cgroup for the user
# on a v1/hybrid host). Not part of CI. Short by default (BENCH_RUNS=10, no 100-container
# batches: BENCH_BATCH_RUNS=0); override either in the environment. Root required (to switch).
#   scripts/bench-rootless.sh [USER]
set -euo pipefail
cd "$(dirname "$0")/.."
user=${1:-runr-tester}
[ "$(id -u)" = 0 ] || { echo "bench-rootless: run as root" >&2; exit 1; }
read -r user uid < <(bash scripts/rootless-user.sh "$user" | tail -1)
cargo build --release -p runtime-cli --quiet
bench=$(cargo bench -p tests-integration --bench runtimes --no-run --quiet \
  --message-format=json-render-diagnostics | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[ -n "$bench" ] || { echo "bench-rootless: cargo listed no bench executable" >&2; exit 1; }
# The user reads the fixture and runs the binaries from here; its scratch files go to its own
# TMPDIR.
mkdir -p target/rootless-fixtures
cp ../shared/fixtures/engine-configs/docker-config-default.json target/rootless-fixtures/
chmod -R a+rX target/rootless-fixtures
# Debian's crun 1.8.1 refuses a hybrid host while cgroup2 holds a controller; the benchmark
# mounts hugetlb as a v1 hierarchy for it, which the user cannot: do it here, as root, for the
# run, and take it away after (as the benchmark does).
hugetlb=/sys/fs/cgroup/hugetlb
if [ -e /sys/fs/cgroup/unified/cgroup.controllers ] && ! mountpoint -q "$hugetlb" \
  && awk '$1 == "hugetlb" && $2 == 0 { found = 1 } END { exit !found }' /proc/cgroups; then
  mkdir -p "$hugetlb" && mount -t cgroup -o hugetlb none "$hugetlb"
  trap 'umount "$hugetlb"; rmdir "$hugetlb"' EXIT
  echo "# mounted hugetlb as a v1 hierarchy at $hugetlb for crun; unmounted at the end"
fi
tmp=$(su "$user" -c 'mktemp -d')
su "$user" -c "cd / && env TMPDIR=$tmp XDG_RUNTIME_DIR=/run/user/$uid \
  RUNR_BIN=$(pwd)/target/release/runr RUNR_FIXTURES=$(pwd)/target/rootless-fixtures \
  BENCH_RUNS=${BENCH_RUNS:-10} BENCH_BATCH_RUNS=${BENCH_BATCH_RUNS:-0} \
  BENCH_RUNTIMES=${BENCH_RUNTIMES:-runr,runc,crun} $bench"
rm -rf "$tmp"
