#!/usr/bin/env bash
# One command from a fresh Debian machine to a running container:
# installs the packages, builds runr (release), makes a demo bundle and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo build --release --quiet
bash scripts/make-bundle.sh /tmp/runr-demo >/dev/null
id="demo-$$"
./target/release/runr run --bundle /tmp/runr-demo "$id"
