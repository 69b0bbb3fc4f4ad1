#!/usr/bin/env bash
# Runs every test of Deploywatch. On a fresh Debian/Ubuntu machine it first installs what is
# missing (apt packages, Rust, the wasm target, pinned UI/WebDriver tools); when everything is
# there it goes straight to the tests. The desktop app's tests run in a real window under Xvfb
# when there is no display.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source scripts/app.sh
ensure_base_packages
ensure_infra_packages
ensure_rust
ensure_node
ensure_windows_target
app_deps

echo "== the UI (wasm), which the app embeds" >&2
bash ui/build.sh

echo "== formatting" >&2
cargo fmt --all -- --check

echo "== lints" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy --locked -p deploywatch-ui --target wasm32-unknown-unknown -- -D warnings
# The resident process (and the engine and channel it links) and the CLI must build for Windows
# too, so a Unix-only call cannot slip in unnoticed; macOS needs Apple's SDK for the C parts,
# not here.
cargo clippy --locked --target x86_64-pc-windows-gnu -p deploywatch-engine -p deploywatch-cli \
  -p deploywatch-link -p deploywatch-resident --all-targets -- -D warnings

echo "== fake GitHub bodies match @octokit/openapi's examples" >&2
(cd crates/deploywatch-fakehub/scripts && npm ci --silent --no-audit --no-fund && node extract-examples.mjs --check)

echo "== the scripts people run (stand-ins for the build and the app)" >&2
for t in tests/scripts/*.sh; do bash "$t"; done

echo "== tests (unit, integration, end-to-end with the real binary)" >&2
cargo test --workspace --locked --exclude deploywatch-app

echo "== the desktop app: commands, the real window over WebDriver, notifications over D-Bus" >&2
gui_test
