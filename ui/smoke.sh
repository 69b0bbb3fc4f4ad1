#!/usr/bin/env bash
# Smoke test of the built UI (ui/dist) in headless Chromium, without the Tauri backend:
# the page must start under the app's own CSP (read from tauri.conf.json) and show the
# "backend not available" state rather than a blank page. Needs Debian's `chromium`.
# Usage: ui/build.sh && ui/smoke.sh [screenshot.png]   (TAURI_CONF=file overrides the config read)
set -euo pipefail

ui_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$ui_dir")"
dist="$ui_dir/dist"
[ -f "$dist/index.html" ] || { echo "smoke.sh: run ui/build.sh first" >&2; exit 1; }
command -v chromium >/dev/null || { echo "smoke.sh: needs chromium (apt-get install chromium)" >&2; exit 1; }

work="$(mktemp -d)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cp -r "$dist" "$work/site"

# The same CSP the app serves, as a meta tag (http.server sends no headers of its own).
python3 - "${TAURI_CONF:-$repo/tauri.conf.json}" "$work/site/index.html" <<'PY'
import html, json, sys
conf = json.load(open(sys.argv[1]))
csp = conf["app"]["security"]["csp"]
policy = "; ".join(f"{k} {v}" for k, v in csp.items()) if isinstance(csp, dict) else csp
page = open(sys.argv[2]).read()
meta = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy)}">'
open(sys.argv[2], "w").write(page.replace('<meta charset="utf-8">', '<meta charset="utf-8">' + meta, 1))
PY

python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$work/site" >"$work/http.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 50); do
  port="$(grep -oE 'port [0-9]+' "$work/http.log" | grep -oE '[0-9]+' || true)"
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "smoke.sh: static server did not start" >&2; exit 1; }
url="http://127.0.0.1:$port/index.html"

# Flags for this closed network: no background connections to Google.
chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$work/profile" --virtual-time-budget=5000)
"${chrome[@]}" --enable-logging=stderr --v=0 --dump-dom "$url" >"$work/dom.html" 2>"$work/console.log" || true

fail=0
if grep -q 'Content Security Policy' "$work/console.log"; then
  echo "FAIL: the app's CSP blocks the UI:" >&2
  grep 'Content Security Policy' "$work/console.log" | head -3 >&2
  fail=1
fi
if grep -q 'data-testid="backend-unavailable"' "$work/dom.html"; then
  echo "ok: the UI started and shows 'backend not available'"
else
  echo "FAIL: the UI did not render the backend-unavailable state" >&2
  fail=1
fi
if [ $# -ge 1 ]; then
  "${chrome[@]}" --window-size=1200,800 --screenshot="$1" "$url" 2>/dev/null || true
  echo "screenshot: $1"
fi
exit $fail
