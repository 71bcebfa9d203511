#!/usr/bin/env bash
# Runs the cgroup tests (the cgroups crate's own and the real-container ones) inside a throw-away
# VM whose /sys/fs/cgroup is pure cgroup2 (../shared/tools/v2vm), since this host is v1 hybrid.
# The binaries are built here; the VM sees the repository at the same path.
set -euo pipefail
cd "$(dirname "$0")/.."
v2vm=${V2VM:-$(pwd)/../shared/tools/v2vm/run-in-v2vm.sh}
[ -x "$v2vm" ] || { echo "test-v2: $v2vm not found" >&2; exit 1; }
cargo build -p runtime-cli --quiet
binaries() {
  cargo test "$@" --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\)".*"fresh".*/\1/p; s/.*"executable":"\([^"]*\)".*/\1/p' | sort -u
}
tests=$( (binaries -p cgroups; binaries -p tests-integration --test cgroups --test lifecycle) | grep -v '^$' | sort -u)
# The VM sees the repository, not ../shared: copy the fixtures the tests read into it.
mkdir -p target/v2vm-fixtures
cp ../shared/fixtures/engine-configs/*.json target/v2vm-fixtures/
script="set -e; export RUNR_BIN=$(pwd)/target/debug/runr RUNR_FIXTURES=$(pwd)/target/v2vm-fixtures; cat /sys/fs/cgroup/cgroup.controllers"
for t in $tests; do script="$script; echo '== $(basename "$t")'; $t --test-threads=1 -q"; done
# Rootless on v2, as the unprivileged user: what differs there (a subtree delegated to the user
# takes limits and pause, the skip rule, spec's cgroup namespace). All of rootless.rs but podman
# passes in the VM too, in ~2.5 minutes: `$rootless --skip rootless_podman`.
rootless=$(binaries -p tests-integration --test rootless | grep -v '^$' | head -1)
script="$script; echo '== rootless'; $rootless --test-threads=1 -q v2_delegated lifecycle spec_rootless a_limit"
V2VM_GUEST_DIR=$(pwd) V2VM_TIMEOUT=${V2VM_TIMEOUT:-900} "$v2vm" "$(pwd)" sh -c "$script"
