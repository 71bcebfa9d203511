#!/usr/bin/env bash
# Runs the cgroup tests (the cgroups crate's own and the real-container ones) inside a throw-away
# VM whose /sys/fs/cgroup is pure cgroup2 (../shared/tools/v2vm), since this host is v1 hybrid.
# The binaries are built here; the VM sees the repository at the same path. Then, in a second
# VM, the engine suite's cgroup v2 scenarios (Docker, containerd, podman; see engines_v2 below).
set -euo pipefail
cd "$(dirname "$0")/.."
# The VM tool ($V2VM or ../shared/tools/v2vm) through scripts/v2vm.sh, which makes its private
# qemu loadable on a fresh cache (libnl-3.so.200) and fails if the tool is missing.
v2vm=$(pwd)/scripts/v2vm.sh
cargo build -p runtime-cli --quiet
# The test executables cargo builds for "$@" (compiler and cargo errors reach the terminal,
# rendered on stderr; a failed build fails the script).
binaries() {
  cargo test "$@" --no-run --quiet --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p'
}
list=$(mktemp)
trap 'rm -f "$list"' EXIT
binaries -p cgroups >> "$list"
binaries -p tests-integration --test cgroups --test lifecycle --test parity_lifecycle --test kill_cgroup >> "$list"
tests=$(grep -v '^$' "$list" | sort -u)
[ -n "$tests" ] || { echo "test-v2: cargo listed no test executables" >&2; exit 1; }
# The VM sees the repository, not ../shared: copy the fixtures the tests read into it.
mkdir -p target/v2vm-fixtures
cp ../shared/fixtures/engine-configs/*.json target/v2vm-fixtures/
# SKIP lines of the tests in the VM are written into the repository (the part the VM can write)
# and then appended to $RUNR_SKIP_LOG (test.sh's summary), tagged with where they ran; CI is
# passed so a missing tool fails there too.
skiplog=${RUNR_SKIP_LOG:-$(pwd)/target/skips-v2vm.log}
vmlog=$(pwd)/target/v2vm-fixtures/skips.log
script="set -e; export RUNR_BIN=$(pwd)/target/debug/runr RUNR_FIXTURES=$(pwd)/target/v2vm-fixtures RUNR_SKIP_LOG=$vmlog CI=${CI:-}; : > $vmlog; cat /sys/fs/cgroup/cgroup.controllers"
for t in $tests; do script="$script; echo '== $(basename "$t")'; $t --test-threads=1 -q"; done
# Rootless on v2, as the unprivileged user: what differs there (a subtree delegated to the user
# takes limits and pause, the skip rule, spec's cgroup namespace). All of rootless.rs but podman
# passes in the VM too, in ~2.5 minutes: `$rootless --skip rootless_podman`.
rootless=$(binaries -p tests-integration --test rootless | grep -v '^$' | head -1)
script="$script; echo '== rootless'; $rootless --test-threads=1 -q v2_delegated lifecycle spec_rootless a_limit"
rc=0
V2VM_GUEST_DIR=$(pwd) V2VM_TIMEOUT=${V2VM_TIMEOUT:-1500} "$v2vm" "$(pwd)" sh -c "$script" || rc=$?
if [ -s "$vmlog" ]; then
  sed 's/^SKIP /SKIP [v2vm] /' "$vmlog" >> "$skiplog"
  echo "test-v2: $(wc -l < "$vmlog") skip(s) in the VM (listed in $skiplog)"
fi
rm -f "$vmlog"

# blockIO on v2 (tests/io_v2.rs: io.bfq.weight or io.weight, io.max, update -r per device; runr
# beside runc on a loop device), in two short VMs of their own: with the BFQ module loaded and
# without it (the io.weight fallback), since loading it changes which file every cgroup gets.
# Adds ~30-40 s (two boots and two runs of the file; measured 26-39 s on the loaded machine).
io_v2() {
  local bin mods start irc=0
  bin=$(binaries -p tests-integration --test io_v2 | grep -v '^$' | head -1)
  [ -n "$bin" ] || { echo "test-v2: the io_v2 test binary was not built" >&2; return 1; }
  for mods in "loop" "loop bfq"; do
    start=$(date +%s)
    V2VM_MODULES="$mods" V2VM_GUEST_DIR=$(pwd) V2VM_TIMEOUT=${V2VM_TIMEOUT:-600} "$v2vm" "$(pwd)" sh -c \
      "export RUNR_BIN=$(pwd)/target/debug/runr RUNR_SKIP_LOG=$vmlog CI=${CI:-}; : > $vmlog; echo '== io_v2 (modules: $mods)'; $bin --test-threads=1 -q" || irc=$?
    [ -s "$vmlog" ] && sed "s/^SKIP /SKIP [v2vm $mods] /" "$vmlog" >> "$skiplog"
    rm -f "$vmlog"
    echo "== io_v2 VM ($mods): $(( $(date +%s) - start )) s"
  done
  return $irc
}
io_v2 || rc=$?

# The engine suite on pure cgroup v2 with the cgroupfs driver (issue #15 item 3): Docker,
# containerd (ctr) and podman on runr, runc as the control (tests/engines.rs, its v2 scenarios
# with RUNR_ENGINES_V2VM=1), in a VM of its own. No systemd in it: engines use the cgroupfs
# driver on v2 where there is none (Alpine/OpenRC, WSL2, Docker-in-Docker); with systemd they
# use the systemd driver, which test-systemd.sh covers. RUNR_SKIP_ENGINES=1 skips it (a SKIP
# line in the summary). Prints the time it took.
engines_v2() {
  if [ "${RUNR_SKIP_ENGINES:-0}" = 1 ]; then
    echo "SKIP [v2vm] engines (cgroup v2, cgroupfs driver): RUNR_SKIP_ENGINES=1" | tee -a "$skiplog" >&2
    return 0
  fi
  local bin start erc=0 elog=$(pwd)/target/v2vm-fixtures/skips-engines.log
  bin=$(binaries -p tests-integration --test engines | grep -v '^$' | head -1)
  [ -n "$bin" ] || { echo "test-v2: the engines test binary was not built" >&2; return 1; }
  start=$(date +%s)
  V2VM_GUEST_DIR=$(pwd) V2VM_TIMEOUT=${V2VM_TIMEOUT:-1800} "$v2vm" "$(pwd)" sh -c \
    "export RUNR_BIN=$(pwd)/target/debug/runr RUNR_ENGINES_V2VM=1 RUNR_SKIP_LOG=$elog CI=${CI:-}; : > $elog; echo '== engines (cgroup v2)'; $bin" || erc=$?
  [ -s "$elog" ] && sed 's/^SKIP /SKIP [v2vm] /' "$elog" >> "$skiplog"
  rm -f "$elog"
  echo "== engines v2 VM: $(( $(date +%s) - start )) s (exit $erc)"
  return $erc
}
engines_v2 || rc=$?
exit $rc
