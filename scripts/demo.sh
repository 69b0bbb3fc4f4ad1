#!/usr/bin/env bash
# Builds Deploywatch (installing what a fresh Debian/Ubuntu machine lacks) and runs the demo:
# a simulated GitHub and fleet on loopback, watched live. Ctrl-C to stop.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_base_packages
ensure_rust
cargo build --release --locked -p deploywatch-cli
exec "$CARGO_TARGET_DIR/release/deploywatch" demo "$@"
