#!/usr/bin/env bash
# Prints the per-stage timing table of a stages.sh run (scripts/stages.sh): stage, seconds, share.
set -euo pipefail
awk -F'\t' '
  { stage[NR] = $1; secs[NR] = $2; state[NR] = $3; total += $2 }
  END {
    printf "\n%-18s %7s %6s  %s\n", "stage", "seconds", "share", "result"
    for (i = 1; i <= NR; i++)
      printf "%-18s %7d %5.1f%%  %s\n", stage[i], secs[i], total ? 100 * secs[i] / total : 0, state[i]
    printf "%-18s %7d  (%d min %d s)\n", "total", total, total / 60, total % 60
  }' "$1"
