#!/usr/bin/env bash
# make package: every function's `bootstrap` for provided.al2023 on arm64, built by `sam build` from
# template.yaml — offline (cargo-lambda cross-compiles with the ziglang package from the venv).
#
# One `cargo lambda build --release --arm64` for all functions first: cargo shares the dependency
# build and runs the per-binary LTO links side by side, and SAM's own per-function
# `cargo lambda build --bin X` then finds each binary fresh in the shared target dir (seconds each).
# Prints (and writes to .aws-sam/package-sizes.tsv) the binary and zipped size of each function.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

rustup target list --installed | grep -qx aarch64-unknown-linux-gnu \
  || rustup target add aarch64-unknown-linux-gnu

mapfile -t binaries < <(.venv/bin/python - <<'PY'
import sys
sys.path.insert(0, "scripts")
from stacklib import LOCAL_PARAMETER_OVERRIDES, Template
for spec in Template.load(parameter_overrides=LOCAL_PARAMETER_OVERRIDES).functions().values():
    print(spec.binary)
PY
)
bin_args=()
for binary in "${binaries[@]}"; do bin_args+=(--bin "$binary"); done

started=$SECONDS
cargo lambda build --release --arm64 "${bin_args[@]}"
echo "package: cargo lambda build of ${#binaries[@]} functions took $((SECONDS - started)) s" >&2
started=$SECONDS
sam build --template template.yaml
echo "package: sam build took $((SECONDS - started)) s" >&2
.venv/bin/python scripts/package_sizes.py
