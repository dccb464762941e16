#!/usr/bin/env bash
# Lab start benchmark: `vmlab lab start` from a saved baseline against a cold start
# (boot + setup), measured in this run, median of RUNS each, for each lab in LABS.
# The image is built first and is not part of either figure. Target (issue 15): warm <= 0.25 x cold.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
LABS=${LABS:-"journal-replay net-attack"}
vmlab=${VMLAB:-.build/debug/vmlab}
export VMLAB_HOME=${VMLAB_HOME:-$(mktemp -d /tmp/vmlab-start-bench.XXXXXX)}
export VMLAB_COURSE=${VMLAB_COURSE:-$PWD}
cleanup() { for lab in $LABS; do "$vmlab" lab stop "$lab" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
timed() { local t0; t0=$(now); "$@" >/dev/null 2>>"$VMLAB_HOME/bench.log"; echo "$(now) - $t0" | bc -l; }

"$vmlab" image build base >/dev/null 2>>"$VMLAB_HOME/bench.log"
echo "runs: $RUNS; home: $VMLAB_HOME" >&2
printf '%-16s %10s %10s %8s\n' lab cold_s warm_s ratio
for lab in $LABS; do
  cold=() warm=()
  for _ in $(seq 1 "$RUNS"); do
    cold+=("$(timed "$vmlab" lab start "$lab" --cold)"); "$vmlab" lab stop "$lab" >/dev/null 2>&1
  done
  # One start that saves the baseline (not timed), then starts that restore it.
  "$vmlab" lab start "$lab" >/dev/null 2>>"$VMLAB_HOME/bench.log"; "$vmlab" lab stop "$lab" >/dev/null 2>&1
  for _ in $(seq 1 "$RUNS"); do
    warm+=("$(timed "$vmlab" lab start "$lab")"); "$vmlab" lab stop "$lab" >/dev/null 2>&1
  done
  c=$(printf '%s\n' "${cold[@]}" | median); w=$(printf '%s\n' "${warm[@]}" | median)
  printf '%-16s %10.1f %10.1f %8.2f\n' "$lab" "$c" "$w" "$(echo "$w / $c" | bc -l)"
done
