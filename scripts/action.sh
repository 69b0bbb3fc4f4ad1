#!/usr/bin/env bash
# The steps of the GitHub Action (action.yml at the repository root):
#   install  builds the deploywatch CLI from the action's checkout into $RUNNER_TEMP, unless a
#            `deploywatch` of the same version is already on PATH (a cache, a prior step)
#   verify   runs `deploywatch verify` with the inputs the step passes as DW_INPUT_* variables;
#            verify itself writes the job summary and the annotations
# Inputs are read from the environment and passed as separate arguments, never evaluated.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

_version() { sed -n 's/^version = "\(.*\)"$/\1/p' "$here/Cargo.toml" | head -n 1; }

install() {
  local want have root
  want="$(_version)"
  if have="$(deploywatch --version 2>/dev/null)" && [ "$have" = "deploywatch $want" ]; then
    echo "deploywatch $want is already installed: $(command -v deploywatch)"
    return 0
  fi
  root="${RUNNER_TEMP:-/tmp}/deploywatch"
  cargo install --locked --quiet --root "$root" --path "$here/crates/deploywatch-cli"
  echo "$root/bin" >> "${GITHUB_PATH:-/dev/null}"
  echo "installed deploywatch $want into $root/bin"
}

verify() {
  local bin="${DW_BIN:-deploywatch}"
  local args=(verify)
  local url="${DW_INPUT_URL:-}" config="${DW_INPUT_CONFIG:-}" expect="${DW_INPUT_EXPECT:-}"
  if [ -n "$url" ] && [ -n "$config" ]; then
    echo "::error title=Deploywatch::give either url or config, not both" && exit 2
  fi
  if [ -z "$url" ] && [ -z "$config" ]; then
    echo "::error title=Deploywatch::give url (a build-info URL) or config (a config file)" && exit 2
  fi
  if [ -n "$config" ]; then
    args=(--config "$config" verify)
  else
    args+=(--url "$url")
  fi
  if [ -z "$expect" ] && { [ -n "$url" ] || [ "${DW_INPUT_EXPECT_FROM_GITHUB:-false}" != "true" ]; }; then
    expect="${GITHUB_SHA:-}"
  fi
  if [ -n "$expect" ]; then args+=(--expect "$expect"); fi
  local wait="${DW_INPUT_WAIT:-5m}" stable="${DW_INPUT_STABLE:-1}"
  if [ -n "$wait" ] && [ "$wait" != "0" ]; then
    args+=(--wait "$wait")
    if [ "$stable" != "1" ]; then args+=(--stable "$stable"); fi
    if [ -n "${DW_INPUT_INTERVAL:-}" ]; then args+=(--interval "$DW_INPUT_INTERVAL"); fi
  elif [ "$stable" != "1" ]; then
    echo "::error title=Deploywatch::stable needs wait (consecutive checks take time)" && exit 2
  fi
  if [ -n "${DW_INPUT_PROJECT:-}" ]; then args+=(--project "$DW_INPUT_PROJECT"); fi
  if [ -n "${DW_INPUT_ENVIRONMENT:-}" ]; then args+=(--env "$DW_INPUT_ENVIRONMENT"); fi
  local code=0
  "$bin" "${args[@]}" || code=$?
  if [ "$code" = 0 ]; then live=true; else live=false; fi
  echo "live=$live" >> "${GITHUB_OUTPUT:-/dev/null}"
  exit "$code"
}

case "${1:-}" in
  install) install ;;
  verify) verify ;;
  *) echo "usage: bash scripts/action.sh install|verify" >&2; exit 2 ;;
esac
