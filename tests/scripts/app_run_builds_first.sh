#!/usr/bin/env bash
# `bash scripts/app.sh run` builds before it launches, even when a binary is already there:
# after a `git pull` it must run the new code, not the old binary (issue 12). The build and the
# app are stand-ins that record their turn; what is tested is the order app_run follows.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
log="$tmp/log"
# shellcheck source=../../scripts/app.sh
source "$here/scripts/app.sh"
export CARGO_TARGET_DIR="$tmp/target"
mkdir -p "$CARGO_TARGET_DIR/release"
# The binary an earlier build left behind.
printf '#!/bin/sh\necho "ran $*" >> "%s"\n' "$log" > "$CARGO_TARGET_DIR/release/deploywatch-app"
chmod +x "$CARGO_TARGET_DIR/release/deploywatch-app"
app_build() { echo built >> "$log"; }
_app_display() { :; }
app_run --demo
want="$(printf 'built\nran --demo')"
if [ "$(cat "$log")" != "$want" ]; then
  echo "app.sh run did not build before launching; it did:" >&2
  cat "$log" >&2
  exit 1
fi
echo "app.sh run builds before it launches: ok"
