#!/usr/bin/env bash
# Prepares the unprivileged user the rootless tests run as (idempotent; root required):
# installs uidmap (newuidmap/newgidmap), creates the user (default runr-tester) with a home
# (rootless podman keeps its storage there), gives it /etc/subuid and /etc/subgid ranges and
# its XDG_RUNTIME_DIR (/run/user/UID, mode 700, owned by it), as a login session would.
#   rootless-user.sh [USER]      prints "USER UID" when done
set -euo pipefail
user=${1:-runr-tester}
[ "$(id -u)" = 0 ] || { echo "rootless-user.sh: run as root" >&2; exit 1; }
bash "$(dirname "$0")/deps.sh" --rootless >&2
if ! id -u "$user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/sh --user-group "$user"
fi
uid=$(id -u "$user")
# One range of 65536 ids per file, far above the ids of real accounts, once.
for f in /etc/subuid /etc/subgid; do
  touch "$f"
  grep -q "^$user:" "$f" || echo "$user:200000:65536" >> "$f"
done
run="/run/user/$uid"
mkdir -p "$run"
chown "$user:" "$run"
chmod 700 "$run"
echo "$user $uid"
