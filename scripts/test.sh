#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests and real-container integration tests
# (as root). Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "the integration tests create real containers: run as root" >&2; exit 1; }
# Issue #12 item 22: the suites must leave a hybrid host's cgroup2 root as they found it (checked at the end).
root_ctl=/sys/fs/cgroup/unified/cgroup.subtree_control; root_ctl_before=$(cat "$root_ctl" 2>/dev/null || true)
bash scripts/deps.sh --engines
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

# The library's documentation: every public item documented, no broken links (issue #18).
RUSTDOCFLAGS="-D missing_docs -D warnings" cargo doc --no-deps --quiet -p runtime-core -p cgroups

cargo build --workspace --quiet
cargo test --workspace
# OCI runtime-spec conformance (oci-conformance/): fails when runr fails a case runc passes.
conf="${CARGO_TARGET_DIR:-target}/debug/oci-conformance"
if command -v runc >/dev/null; then
  "$conf" --runtime "runr=${CARGO_TARGET_DIR:-target}/debug/runr" --compare-with "runc=$(command -v runc)"
else
  "$conf" --runtime "runr=${CARGO_TARGET_DIR:-target}/debug/runr" || echo "oci-conformance: no runc to compare with; failures above are informational"
fi
# The same cgroup tests on a pure cgroup v2 host (an emulated VM; ~2 minutes).
if [ "${RUNR_SKIP_V2VM:-0}" != 1 ]; then
  bash scripts/test-v2.sh
fi
# Issue #12 item 22 (see the top): the hybrid host's cgroup2 root is unchanged after every suite.
root_ctl_after=$(cat "$root_ctl" 2>/dev/null || true)
[ "$root_ctl_after" = "$root_ctl_before" ] || { echo "test.sh: $root_ctl changed from '$root_ctl_before' to '$root_ctl_after'" >&2; exit 1; }
