#!/usr/bin/env bash
# Runs make targets one after another and times each: `make test` and `.ci/run` use it so that a
# run ends with a per-stage table (also when a stage fails: the table shows where it stopped).
#   MAKE=make bash scripts/stages.sh fmt-check clippy unit ...
# Each stage's seconds are appended to $STAGE_TIMES (default .dev/stage-times.tsv), so .ci/run can
# print one table over `make test` and `make package-test`.
set -uo pipefail
cd "$(dirname "$0")/.."
times="${STAGE_TIMES:-.dev/stage-times.tsv}"
mkdir -p "$(dirname "$times")"
status=0
for stage in "$@"; do
  started=$SECONDS
  ${MAKE:-make} --no-print-directory "$stage"
  status=$?
  printf '%s\t%s\t%s\n' "$stage" "$((SECONDS - started))" "$([[ $status == 0 ]] && echo ok || echo FAILED)" >>"$times"
  [[ $status == 0 ]] || break
done
bash scripts/stage-table.sh "$times" >&2
exit "$status"
