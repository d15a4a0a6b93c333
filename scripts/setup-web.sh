#!/usr/bin/env bash
# Installs what the billing web app (web/) needs, idempotently:
#   - Chromium from Debian (for the Playwright end-to-end tests), unless /usr/bin/chromium exists;
#   - web/node_modules with `npm ci` from the committed package-lock.json, when it is missing or
#     older than the lock file (a stamp records the lock file it was installed from).
# Needs Node 20+ and npm. No browser is downloaded by Playwright (Debian's Chromium is used).
set -euo pipefail
repo_root="$(cd "$(dirname "$0")/.." && pwd)"
web="$repo_root/web"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup-web: node and npm are required (Node 20 or newer)" >&2
  exit 1
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "setup-web: Node 20 or newer is required (found $(node --version))" >&2
  exit 1
fi

if [ ! -x /usr/bin/chromium ] && [ "${SKIP_CHROMIUM:-0}" != "1" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = "0" ]; then
    echo "setup-web: installing chromium (Debian package)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup-web: /usr/bin/chromium is missing; install Debian's chromium package (as root: apt-get install -y chromium)" >&2
    exit 1
  fi
fi

stamp="$web/node_modules/.installed-from-lock"
lock_hash="$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  echo "setup-web: npm ci (web/node_modules missing or stale)" >&2
  (cd "$web" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 NEXT_TELEMETRY_DISABLED=1 nice -n 10 npm ci --no-audit --no-fund)
  echo "$lock_hash" >"$stamp"
fi
