#!/usr/bin/env bash
# Regenerates the README's "Conformance" table: runr, runc and crun scored side by side by
# oci-conformance (root required). Prints markdown on stdout; the JSON goes to $1 if given.
#
# crun 1.8.1 refuses to run on a cgroup v1/v2 hybrid host unless hugetlb is mounted as a v1
# hierarchy. When crun is installed, the host is hybrid and no v1 hugetlb hierarchy exists, this
# script mounts one for the duration of the run (all three runtimes see the same host, so the
# hugetlb case runs for all of them) and unmounts it on exit: the host is left as it was. runr
# works with or without that mount.
set -euo pipefail
cd "$(dirname "$0")/.."
T=${CARGO_TARGET_DIR:-target}
cargo build -q -p runtime-cli -p oci-conformance
args=(--runtime "runr=$T/debug/runr")
for r in runc crun; do
  if command -v "$r" >/dev/null; then args+=(--runtime "$r=$(command -v "$r")"); fi
done
[ -n "${1:-}" ] && args+=(--json "$1")
if command -v crun >/dev/null && [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] \
   && ! mountpoint -q /sys/fs/cgroup/hugetlb; then
  mkdir -p /sys/fs/cgroup/hugetlb
  mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
  trap 'umount /sys/fs/cgroup/hugetlb; rmdir /sys/fs/cgroup/hugetlb' EXIT
fi
"$T/debug/oci-conformance" "${args[@]}" --markdown
