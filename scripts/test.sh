#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit tests and real-container integration tests
# (as root). Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "the integration tests create real containers: run as root" >&2; exit 1; }
bash scripts/deps.sh --engines
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
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
# The systemd cgroup driver against a real systemd 252 (VMs booted with systemd: pure v2 with the
# engines, hybrid, v1; runr and runc --systemd-cgroup side by side): ~7 + ~4 + ~1.5 minutes.
if [ "${RUNR_SKIP_SYSTEMD_VM:-0}" != 1 ]; then
  bash scripts/test-systemd.sh
fi
