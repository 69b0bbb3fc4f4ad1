# Shared by scripts/test.sh and scripts/demo.sh: install what a fresh Debian/Ubuntu machine
# lacks, and nothing when it is already there (so repeated runs are fast).
# shellcheck shell=bash

# Builds reuse this directory across clones of the repository (CI clones afresh each time).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/deploywatch/target}"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

# apt packages: a C compiler (SQLite is compiled in), pkg-config, git (preflight and tests),
# D-Bus (dbus-daemon and dbus-monitor for the desktop-notification test), Node.js + npm (the
# check that the fake GitHub's bodies still match GitHub's OpenAPI examples).
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

ensure_base_packages() {
  ensure_packages build-essential pkg-config git ca-certificates curl dbus
}

# Rust: the toolchain must be at least the workspace's rust-version (1.95).
ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "installing Rust with rustup" >&2
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if command -v rustup >/dev/null 2>&1; then
    rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt clippy
  fi
}

# Windows as a check target (issue 9): the Rust standard library for x86_64-pc-windows-gnu and
# MinGW's C compiler for the build scripts that compile C (SQLite). Nothing is run, only built.
ensure_windows_target() {
  ensure_packages gcc-mingw-w64-x86-64
  rustup target list --installed 2>/dev/null | grep -q '^x86_64-pc-windows-gnu$' \
    || rustup target add x86_64-pc-windows-gnu
}

# The real third-party software the tests start on loopback as child processes (issue 7).
# One line per program, so each can be added or dropped on its own.
ensure_infra_packages() {
  ensure_packages docker-registry  # the CNCF distribution registry (probe tests: tests/it/real_registry.rs)
  ensure_packages nginx-light  # nginx: static, proxy, proxy_cache, SPA fallback (tests/e2e/real_infra.rs)
  ensure_packages varnish  # Varnish cache in front of an nginx origin (tests/e2e/real_infra.rs)
  ensure_packages wrk  # the HTTP floor the scale bench compares verify with (crates/deploywatch-cli/benches/scale.rs)
  ensure_packages faketime  # libfaketime: a wall-clock jump without a monotonic one, i.e. a suspend (tests/e2e/calm.rs)
}

ensure_node() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || ensure_packages nodejs npm
}
