#!/usr/bin/env bash
# Lab start benchmark: `vmlab lab start` from a saved baseline against a cold start
# (boot + setup), measured in this run, median of RUNS each, for each lab in LABS.
# The image is built first and is not part of either figure. Target (issue 15): warm <= 0.25 x cold.
# Then, for each lab in REPLAY_LABS (default journal-replay), a grading replay's cost above
# the experiment itself: `vmlab grade --replay` of one bundle (a start, one run, a submit)
# timed with saved baselines and with --cold, minus the replayed run's own time
# (finishedAt - startedAt of the replay instance's run in the store). Prints overhead
# cached, overhead cold and their ratio (issue 15, 5b). REPLAY_LABS= skips it.
# POOL=1 runs it all on a pool host: the libvirtd here named in a hosts.yaml with
# `storage: pool` (images uploaded into a storage pool, baselines kept as its volumes);
# the pool is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
LABS=${LABS-"journal-replay net-attack"}
REPLAY_LABS=${REPLAY_LABS-journal-replay}
vmlab=${VMLAB:-.build/debug/vmlab}
export VMLAB_HOME=${VMLAB_HOME:-$(mktemp -d /tmp/vmlab-start-bench.XXXXXX)}
mkdir -p "$VMLAB_HOME"
export VMLAB_COURSE=${VMLAB_COURSE:-$PWD}
export VMLAB_COURSE_SECRET=${VMLAB_COURSE_SECRET:-start-bench-course-secret-0123456789}
cleanup() {
  for lab in $LABS $REPLAY_LABS; do "$vmlab" lab stop "$lab" >/dev/null 2>&1 || true; done
  if [ "${POOL:-}" = 1 ]; then
    "$vmlab" image rm base >/dev/null 2>&1 || true
    virsh -q -c "${LIBVIRT_DEFAULT_URI:-qemu:///system}" pool-destroy vmlab-images >/dev/null 2>&1 || true
    virsh -q -c "${LIBVIRT_DEFAULT_URI:-qemu:///system}" pool-undefine vmlab-images >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
if [ "${POOL:-}" = 1 ]; then
  printf 'hosts:\n  - {name: here, uri: "%s", storage: pool, pool-path: "%s/pool"}\n' \
    "${LIBVIRT_DEFAULT_URI:-qemu:///system}" "$VMLAB_HOME" > "$VMLAB_HOME/hosts.yaml"
fi
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

# What one bundle asks a replay of, per lab: the run and the answers the replay check reads.
# (net-attack's replay also needs the student's ruleset in the victim: not written yet.)
bundle_run() { case $1 in
  journal-replay) echo "crash-replay --set files=400 --set commit=1" ;;
  *) echo "start-bench: no replay bundle recipe for lab $1" >&2; exit 64 ;;
esac; }
bundle_answers() { case $1 in
  journal-replay) printf 'commit_choice: 1\nfiles_survived_commit_30: 0\n' ;;
esac; }
sql() { sqlite3 "$VMLAB_HOME/vmlab.sqlite" "$1"; }
# Prints "<grade seconds> <seconds of the replayed runs>" for one graded replay of $bundle.
replay() {
  local last t
  last=$(sql "SELECT coalesce(max(id), 0) FROM run")
  t=$(timed "$vmlab" grade "$bundle" --rubric "Grading/$lab/rubric.yaml" --replay "$@")
  echo "$t $(sql "SELECT coalesce(sum((julianday(r.finishedAt) - julianday(r.startedAt)) * 86400), 0) FROM run r
    JOIN instance i ON i.id = r.instance WHERE i.student = 'replay' AND r.id > $last")"
}
[ -n "$REPLAY_LABS" ] && printf '\n%-16s %7s %9s %15s %11s\n' lab mode grade_s replayed_run_s overhead_s
for lab in $REPLAY_LABS; do
  bundle="$VMLAB_HOME/$lab-bundle.json"
  "$vmlab" lab start "$lab" --student bench >/dev/null 2>>"$VMLAB_HOME/bench.log"
  # shellcheck disable=SC2046
  "$vmlab" run "$lab" $(bundle_run "$lab") >/dev/null 2>>"$VMLAB_HOME/bench.log"
  bundle_answers "$lab" > "$VMLAB_HOME/answers.yaml"
  "$vmlab" submit "$lab" --student bench --answers "$VMLAB_HOME/answers.yaml" -o "$bundle" >/dev/null 2>>"$VMLAB_HOME/bench.log"
  "$vmlab" lab stop "$lab" >/dev/null 2>&1
  replay >/dev/null # saves the baseline the cached replays restore (not timed)
  declare -A grade=() ran=() overhead=()
  for _ in $(seq 1 "$RUNS"); do
    for mode in cached cold; do
      read -r g r < <(replay $([ "$mode" = cold ] && echo --cold))
      grade[$mode]+="$g "; ran[$mode]+="$r "; overhead[$mode]+="$(echo "$g - $r" | bc -l) "
    done
  done
  for mode in cached cold; do
    printf '%-16s %7s %9.1f %15.1f %11.1f\n' "$lab" "$mode" "$(printf '%s\n' ${grade[$mode]} | median)" \
      "$(printf '%s\n' ${ran[$mode]} | median)" "$(printf '%s\n' ${overhead[$mode]} | median)"
  done
  printf '%-16s replay overhead cached / cold = %.2f (medians of %d)\n' "$lab" \
    "$(echo "$(printf '%s\n' ${overhead[cached]} | median) / $(printf '%s\n' ${overhead[cold]} | median)" | bc -l)" "$RUNS"
done
