#!/usr/bin/env bash
# Builds the Leptos UI into ui/dist (what tauri.conf.json's frontendDist serves):
# the wasm32 release build, then wasm-bindgen --target web, plus the static page and styles.
# Installs the wasm32 target and the pinned wasm-bindgen CLI on first use only.
# No wasm-opt: Debian's binaryen produces a wasm that leaves the page blank (PLATFORM.md).
set -euo pipefail

ui_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$ui_dir")"
# shellcheck source=../scripts/lib.sh
source "$repo/scripts/lib.sh"
ensure_rust

tools="${DW_TOOLS:-$HOME/.cache/deploywatch/tools}"
export PATH="$tools/bin:$PATH"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

# The CLI must be exactly the version of the wasm-bindgen crate in Cargo.lock.
want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$repo/Cargo.lock")"
if [ -z "$want" ]; then
  echo "build.sh: no wasm-bindgen in $repo/Cargo.lock" >&2; exit 1
fi
have="$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)"
if [ "$have" != "$want" ]; then
  echo "installing wasm-bindgen-cli $want into $tools" >&2
  # Without --locked: the CLI's lock file asks for a crate version the registry lacks.
  cargo install wasm-bindgen-cli --version "$want" --root "$tools"
fi

cargo build --manifest-path "$repo/Cargo.toml" --target wasm32-unknown-unknown --release -p deploywatch-ui

# Built into a staging directory, then only what changed is copied into dist: an unchanged UI
# leaves dist's files (and their times) alone, so the app, which embeds them, is not rebuilt.
dist="$ui_dir/dist"
stage="$CARGO_TARGET_DIR/ui-dist.new"
rm -rf "$stage"
mkdir -p "$stage" "$dist"
wasm-bindgen --target web --no-typescript --out-dir "$stage" --out-name deploywatch_ui \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/deploywatch-ui.wasm"
cp "$ui_dir"/static/* "$stage"/
for f in "$stage"/*; do
  cmp -s "$f" "$dist/$(basename "$f")" || cp "$f" "$dist/"
done
for f in "$dist"/*; do
  [ -e "$stage/$(basename "$f")" ] || rm -rf "$f"
done
echo "built $dist" >&2
