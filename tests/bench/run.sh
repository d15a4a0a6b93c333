#!/usr/bin/env bash
# The performance benchmark (issue 9) in one command: cold start, warm round trip, upstream calls,
# peak memory and package sizes of every function, against baselines measured in the same run.
#
#   tests/bench/run.sh                 # everything; writes tests/bench/results.md and prints it
#   tests/bench/run.sh --only get-customer,authorizer --cold-runs 5 --warm 20
#   tests/bench/run.sh --quick         # CI: the whole harness on the debug builds `make build` made,
#                                      # 2 cold runs, 5 warm; fails only on a wrong answer, never on time
#
# Builds what it needs (native x86_64 `cargo build --release` of the template's functions and of
# tests/bench/empty-lambda, the debug fake Stripe), installs the Python baseline's pinned packages
# into .venv, then runs tests/bench/bench.py (which starts and stops moto, the fake Stripe, the
# counting proxies and a Lambda Runtime API, all on 127.0.0.1).
# Package sizes come from `make package` (.aws-sam/package-sizes.tsv); run it first for that table.
# BENCH_NICE (default 10) is the niceness of the builds and of the run: the machine is shared.
# BENCH_PROFILE_VARIANTS=1 also builds the authorizer with opt-level=3 and with lto="thin" (custom
# profiles inheriting release, in their own target subdirectories) and reports the sizes: slow
# (each variant recompiles every dependency), so it is off by default.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export PATH="$PWD/.venv/bin:$PATH"
nice_level="${BENCH_NICE:-10}"

[[ -x .venv/bin/python ]] || bash scripts/setup.sh
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/bench/requirements.txt

read -r -a binaries <<<"$(.venv/bin/python tests/bench/bench.py --print-binaries)"
# --quick: proves the harness works end to end, cheaply (no release build; timings meaningless).
quick=0
args=()
for arg in "$@"; do
  if [[ "$arg" == --quick ]]; then quick=1; else args+=("$arg"); fi
done
set -- "${args[@]}"
if [[ "$quick" == 1 ]]; then
  started=$SECONDS
  nice -n "$nice_level" cargo build --bins
  warm_path="$CARGO_TARGET_DIR/bench-warm-path-quick.tsv"
  rm -f "$warm_path"
  BENCH_WARM_OUT="$warm_path" nice -n "$nice_level" \
    cargo test -p billing-core --lib warm_path -- --ignored --quiet
  echo "bench: quick builds and in-process run took $((SECONDS - started)) s" >&2
  exec nice -n "$nice_level" .venv/bin/python tests/bench/bench.py --quick \
    --bin-dir "$CARGO_TARGET_DIR/debug" --cold-runs 2 --warm 5 --warm-path "$warm_path" \
    --out .dev/bench/quick-results.md --log-dir .dev/bench-logs/quick "$@"
fi
# `--only a,b` benchmarks (and builds) only those functions.
previous=""
for arg in "$@"; do
  if [[ "$previous" == --only ]]; then IFS=, read -r -a binaries <<<"$arg"; fi
  if [[ "$arg" == --only=* ]]; then IFS=, read -r -a binaries <<<"${arg#--only=}"; fi
  previous="$arg"
done
packages=()
for bin in "${binaries[@]}" empty-lambda; do packages+=(-p "$bin"); done
started=$SECONDS
echo "bench: cargo build --release --bins (${#binaries[@]} functions + empty-lambda)" >&2
nice -n "$nice_level" cargo build --release --bins "${packages[@]}"
nice -n "$nice_level" cargo build -p stripe-fake
echo "bench: builds took $((SECONDS - started)) s" >&2

# Handler overhead in-process (billing-core's in-memory ports), on the whole set only.
if [[ "$*" != *--only* ]]; then
  warm_path="$CARGO_TARGET_DIR/bench-warm-path.tsv"
  rm -f "$warm_path"
  BENCH_WARM_OUT="$warm_path" nice -n "$nice_level" \
    cargo test --release -p billing-core --lib warm_path -- --ignored --nocapture
  set -- --warm-path "$warm_path" "$@"
fi

if [[ "${BENCH_PROFILE_VARIANTS:-0}" == 1 ]]; then
  variants="$CARGO_TARGET_DIR/bench-profile-variants.tsv"
  printf 'variant\tbinary_bytes\tzipped_bytes\n' >"$variants"
  for variant in release:: bench-o3:opt-level:3 bench-thin:lto:'"thin"'; do
    IFS=: read -r profile key value <<<"$variant"
    args=(--profile "$profile")
    [[ -n "$key" ]] && args+=(--config "profile.$profile.inherits=\"release\"" --config "profile.$profile.$key=$value")
    nice -n "$nice_level" cargo build --bins -p authorizer "${args[@]}"
    .venv/bin/python - "$CARGO_TARGET_DIR/$profile/authorizer" "$profile" >>"$variants" <<'PY'
import io, sys, zipfile
data = open(sys.argv[1], "rb").read()
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
    archive.writestr("bootstrap", data)
print(f"authorizer {sys.argv[2]}\t{len(data)}\t{len(buffer.getvalue())}")
PY
  done
  set -- --profile-variants "$variants" "$@"
fi

exec nice -n "$nice_level" .venv/bin/python tests/bench/bench.py "$@"
