#!/usr/bin/env bash
# Installs everything the project needs on a fresh machine: the pinned Python venv (cargo-lambda,
# moto, cfn-lint, SAM, pytest) and the Rust components. Idempotent: a second run is a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=.venv/.installed-$(sha256sum requirements-dev.txt | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: creating .venv from requirements-dev.txt" >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip==25.3
  .venv/bin/pip install --quiet -r requirements-dev.txt
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# rustfmt and clippy ship with the machine's toolchain; add them if a minimal profile left them out.
for component in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
done
