#!/usr/bin/env bash
# Generates src/api/schema.d.ts from the API contract with openapi-typescript:
#   bash scripts/gen-api.sh           regenerate (npm run gen:api)
#   bash scripts/gen-api.sh --check   regenerate into a temp file and fail on any difference (drift)
# The contract is ../openapi.json (generated from the Rust types at the repository root);
# OPENAPI_SPEC overrides it.
set -euo pipefail
web="$(cd "$(dirname "$0")/.." && pwd)"
cd "$web"
spec="${OPENAPI_SPEC:-../openapi.json}"
if [ ! -f "$spec" ]; then
  echo "gen-api: $spec not found (the lead generates it from the Rust types)" >&2
  exit 1
fi
target=src/api/schema.d.ts
if [ "${1:-}" = "--check" ]; then
  tmp="$(mktemp --suffix=.d.ts)"
  trap 'rm -f "$tmp"' EXIT
  node_modules/.bin/openapi-typescript "$spec" --output "$tmp" >/dev/null 2>&1
  if ! diff -u "$target" "$tmp"; then
    echo "gen-api: $target is out of date with $spec; run: (cd web && npm run gen:api)" >&2
    exit 1
  fi
  echo "gen-api: $target matches $spec"
else
  node_modules/.bin/openapi-typescript "$spec" --output "$target"
fi
