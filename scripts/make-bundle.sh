#!/usr/bin/env bash
# make-bundle.sh DIR [CMD...]: an OCI bundle in DIR with a busybox-static rootfs and runr's
# default config.json (from `runr spec`) with hostname "runr", non-interactive, running CMD
# (default: a greeting).
set -euo pipefail
dir=$1; shift || true
runr=$(readlink -f "${RUNR:-$(dirname "$0")/../target/release/runr}")
rm -rf "$dir" && mkdir -p "$dir/rootfs"
cd "$dir/rootfs"
mkdir -p bin etc proc sys dev tmp root
cp /bin/busybox bin/busybox
for applet in $(./bin/busybox --list); do [ -e "bin/$applet" ] || ln -s busybox "bin/$applet"; done
echo 'root:x:0:0:root:/root:/bin/sh' > etc/passwd
echo 'root:x:0:' > etc/group
cd ..
"$runr" spec
python3 - "$@" <<'PY'
import json, sys
greeting = ('echo "hello from a runr container: hostname=$(hostname) pid=$$ uid=$(id -u)"; '
            'echo "it sees $(ls /proc | grep -c "^[0-9]") process(es) and $(wc -l < /proc/self/mountinfo) mounts"')
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["hostname"] = "runr"  # runr spec keeps runc's default hostname, "runc"
c["process"]["args"] = sys.argv[1:] or ["sh", "-c", greeting]
json.dump(c, open("config.json", "w"), indent="\t")
PY
echo "bundle ready: $dir"
