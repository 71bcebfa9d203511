#!/usr/bin/env bash
# ../shared/tools/v2vm/run-in-v2vm.sh (or $V2VM) with the same arguments, its private qemu made
# loadable first. Without a system qemu the tool unpacks qemu's Debian packages into
# $V2VM_CACHE/qemu/root and runs it with LD_LIBRARY_PATH=root/usr/lib/x86_64-linux-gnu; the
# packages that still ship their libraries under /lib (libnl-3-200, libbrlapi0.8) are not found
# there, so on a fresh cache qemu fails to start ("libnl-3.so.200: cannot open shared object
# file", the VM step fails with 125). Each such library is linked into usr/lib beside the
# others (what was once done by hand on this machine). Costs nothing with a warm cache; on a
# fresh one the tool first runs `true` in a VM once to download and unpack qemu (its failure
# to start qemu is expected there).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
v2vm=${V2VM:-$here/../../shared/tools/v2vm/run-in-v2vm.sh}
[ -x "$v2vm" ] || { echo "v2vm.sh: $v2vm not found" >&2; exit 1; }
cache=${V2VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/v2vm}
triplet=x86_64-linux-gnu
qroot=$cache/qemu/root

# Links every library of root/lib/<triplet> missing from root/usr/lib/<triplet> (relative, so
# the cache can move). Another run doing the same at once is fine: a link that exists is kept.
link_lib_dir() {
  local lib name
  [ -d "$qroot/lib/$triplet" ] || return 0
  for lib in "$qroot/lib/$triplet"/*.so*; do
    [ -e "$lib" ] || continue
    name=$(basename "$lib")
    [ -e "$qroot/usr/lib/$triplet/$name" ] && continue
    ln -s "../../../lib/$triplet/$name" "$qroot/usr/lib/$triplet/$name" 2>/dev/null ||
      [ -e "$qroot/usr/lib/$triplet/$name" ]
  done
}

# The libraries the private qemu still cannot find (empty when it loads).
missing_libs() {
  LD_LIBRARY_PATH=$qroot/usr/lib/$triplet ldd "$qroot/usr/bin/qemu-system-x86_64" 2>&1 |
    grep "not found" || true
}

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
  if [ ! -f "$cache/qemu/.done" ]; then
    # First use of this cache: the tool downloads and unpacks qemu, then (maybe) fails to start it.
    scratch=$(mktemp -d)
    "$v2vm" "$scratch" true >/dev/null 2>&1 || true
    rmdir "$scratch" 2>/dev/null || true
  fi
  link_lib_dir
  missing=$(missing_libs)
  [ -z "$missing" ] || { echo "v2vm.sh: the private qemu in $qroot still lacks: $missing" >&2; exit 1; }
fi
exec "$v2vm" "$@"
