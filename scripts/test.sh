#!/usr/bin/env bash
# Runs every test of Deploywatch. On a fresh Debian/Ubuntu machine it first installs what is
# missing (apt packages, Rust); when everything is there it goes straight to the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_base_packages
ensure_rust
ensure_node

echo "== formatting" >&2
cargo fmt --all -- --check

echo "== lints" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== fake GitHub bodies match @octokit/openapi's examples" >&2
(cd crates/deploywatch-fakehub/scripts && npm ci --silent --no-audit --no-fund && node extract-examples.mjs --check)

echo "== tests (unit, integration, end-to-end with the real binary)" >&2
cargo test --workspace --locked
