#!/usr/bin/env bash
# The desktop app: install what building and testing it needs, build it, run it, test it.
# Source it for the functions (scripts/test.sh does), or run it: `bash scripts/app.sh build|run|test|deps|footprint|dashboard-bench|bundle`.
#
#   app_deps   apt packages (build + GUI tests), the wasm target, pinned tools in $DW_TOOLS
#   app_build  the UI (ui/build.sh), then the app, release, serving the embedded UI
#   app_run    builds (incrementally: fast when nothing changed) and launches the app (under
#              Xvfb when there is no display); never an old binary after a `git pull`
#   gui_test   the app's tests including the real window (WebDriver) and notifications (D-Bus)
#   app_footprint  memory and idle CPU, window open and closed (the footprint bench)
#   app_dashboard_bench  the dashboard's render time over 300 environments (the dashboard bench)
#   app_bundle an installable .deb (tauri-cli, pinned)
#
# Every step is idempotent: a second run installs nothing and rebuilds only what changed.
# shellcheck shell=bash

_app_here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib.sh
source "$_app_here/scripts/lib.sh"

# Pinned tools live here (cargo install --root), outside the repository and reused by clones.
export DW_TOOLS="${DW_TOOLS:-$HOME/.cache/deploywatch/tools}"
export PATH="$DW_TOOLS/bin:$PATH"

APP_BUILD_PACKAGES=(build-essential file pkg-config libwebkit2gtk-4.1-dev libxdo-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev)
APP_GUI_PACKAGES=(xvfb xauth imagemagick dbus dbus-x11 webkit2gtk-driver libnotify-bin
  x11-utils xdotool gnome-keyring)

# The wasm-bindgen CLI must equal the wasm-bindgen crate in Cargo.lock exactly.
_wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' \
    "$_app_here/Cargo.lock"
}

# cargo install into $DW_TOOLS unless `bin --version` already reports `version`.
_tool() { # bin crate version [cargo install flags...]
  local bin="$1" crate="$2" version="$3"; shift 3
  if [ -x "$DW_TOOLS/bin/$bin" ] && "$DW_TOOLS/bin/$bin" --version 2>/dev/null | grep -q -- "${version#^}"; then
    return 0
  fi
  echo "installing $crate $version into $DW_TOOLS" >&2
  cargo install --quiet --root "$DW_TOOLS" "$crate" --version "$version" "$@"
}

app_deps() {
  ensure_base_packages
  ensure_rust
  ensure_packages "${APP_BUILD_PACKAGES[@]}" "${APP_GUI_PACKAGES[@]}"
  rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$' \
    || rustup target add wasm32-unknown-unknown
  # Without --locked: with it, cargo asks for a dependency version the registry no longer has.
  _tool wasm-bindgen wasm-bindgen-cli "$(_wasm_bindgen_version)"
  # tauri-driver has no --version flag worth grepping; its presence is enough.
  [ -x "$DW_TOOLS/bin/tauri-driver" ] \
    || cargo install --quiet --root "$DW_TOOLS" tauri-driver --version '^2' --locked
  # Whatever else the UI build needs (trunk, binaryen) is installed by ui/build.sh itself.
}

app_build() {
  app_deps
  (cd "$_app_here" && bash ui/build.sh)
  (cd "$_app_here" && cargo build --release --locked -p deploywatch-app --features custom-protocol)
  # The resident process (watcher, tray, notifications) the window starts, beside it.
  (cd "$_app_here" && cargo build --release --locked -p deploywatch-resident --bin deploywatch-tray)
  echo "built $CARGO_TARGET_DIR/release/deploywatch-app and deploywatch-tray" >&2
}

# Starts Xvfb on :99 when there is no display (the app needs one).
_app_display() {
  if [ -z "${DISPLAY:-}" ]; then
    if ! xdpyinfo -display :99 >/dev/null 2>&1; then
      Xvfb :99 -screen 0 1280x800x24 -nolisten tcp -noreset >/dev/null 2>&1 &
      sleep 1
    fi
    export DISPLAY=:99
  fi
}

app_run() {
  app_build
  _app_display
  # The window; it starts the resident process (deploywatch-tray) when none runs.
  "$CARGO_TARGET_DIR/release/deploywatch-app" "$@"
}

# tauri-cli, pinned to the minor line of the `tauri` crate in Cargo.lock, builds the bundles.
TAURI_CLI_VERSION=2.12.4

# An installable .deb for people without a terminal: $CARGO_TARGET_DIR/release/bundle/deb/.
# Both executables go in: the window (deploywatch-app, the desktop entry's) and the resident
# process it starts from beside itself (deploywatch-tray, which start-at-login runs), the
# latter as a sidecar (`bundle.externalBin`). tauri-build checks that a sidecar exists at every
# build, so it is named only here, through `--config`, once the resident is built and staged
# as tauri expects (`<name>-<target triple>`). tauri-cli reads src-tauri/tauri.conf.json (a
# link to the root one) and adds WebKitGTK and GTK as run-time dependencies itself; the tray
# speaks D-Bus (ksni) and needs no AppIndicator library. AppImage needs tools downloaded from
# GitHub at bundle time, which this project's machines cannot reach.
app_bundle() {
  app_deps
  _tool cargo-tauri tauri-cli "$TAURI_CLI_VERSION" --locked
  (cd "$_app_here" && bash ui/build.sh)
  (cd "$_app_here" && cargo build --release --locked -p deploywatch-resident --bin deploywatch-tray)
  local triple sidecars
  triple=$(rustc -vV | sed -n 's/^host: //p')
  sidecars="$CARGO_TARGET_DIR/sidecars"
  mkdir -p "$sidecars"
  cp "$CARGO_TARGET_DIR/release/deploywatch-tray" "$sidecars/deploywatch-tray-$triple"
  (cd "$_app_here" && TAURI_APP_PATH=src-tauri cargo tauri build --bundles deb \
    --config "{\"bundle\": {\"externalBin\": [\"$sidecars/deploywatch-tray\"]}}")
  local deb
  deb=$(ls -t "$CARGO_TARGET_DIR"/release/bundle/deb/*.deb | head -n 1)
  dpkg-deb --info "$deb" | sed -n '/Package:/,$p' >&2
  echo "built $deb" >&2
}

# Memory and idle CPU with the window open and closed, launch to window shown (BENCHMARKS.md).
# The bench only launches and observes the release app: it is built with the dev profile, so
# that it shares the test build and never replaces the release binary it measures.
app_footprint() {
  app_build
  _app_display
  export DEPLOYWATCH_APP_BIN="$CARGO_TARGET_DIR/release/deploywatch-app"
  (cd "$_app_here" && dbus-run-session --config-file="$_app_here/scripts/dbus-test-session.conf" -- cargo bench --locked --profile dev -p deploywatch-app --features custom-protocol --bench footprint)
}

# The dashboard's render and filter times over a large fleet, in the real window driven by
# WebDriver (BENCHMARKS.md); DEPLOYWATCH_DASHBOARD_ENVS (default 300) and _RUNS (default 10).
app_dashboard_bench() {
  app_build
  _app_display
  export DEPLOYWATCH_APP_BIN="$CARGO_TARGET_DIR/release/deploywatch-app"
  (cd "$_app_here" && dbus-run-session --config-file="$_app_here/scripts/dbus-test-session.conf" -- cargo bench --locked --profile dev -p deploywatch-app --features custom-protocol --bench dashboard)
}

# The app's tests: commands on the mock runtime always; with DEPLOYWATCH_GUI_TESTS=1 (set
# here) also the real window (tauri-driver + WebKitWebDriver under Xvfb), the tray, the
# notifications and the keyring, on a private D-Bus session bus without service activation
# where the tests start the services they talk to.
gui_test() {
  app_build
  _app_display
  export DEPLOYWATCH_GUI_TESTS=1
  export DEPLOYWATCH_APP_BIN="$CARGO_TARGET_DIR/release/deploywatch-app"
  export DEPLOYWATCH_DOCS_DIR="$_app_here/docs"
  (cd "$_app_here" && dbus-run-session --config-file="$_app_here/scripts/dbus-test-session.conf" -- cargo test --locked -p deploywatch-app --features custom-protocol -- --test-threads=1)
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-build}" in
    deps) app_deps ;;
    build) app_build ;;
    run) shift; app_run "$@" ;;
    test) gui_test ;;
    footprint) app_footprint ;;
    dashboard-bench) app_dashboard_bench ;;
    bundle) app_bundle ;;
    *) echo "usage: bash scripts/app.sh [deps|build|run|test|footprint|dashboard-bench|bundle]" >&2; exit 2 ;;
  esac
fi
