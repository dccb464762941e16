#!/usr/bin/env bash
# Grading throughput and the worst case within the submission limits, on this machine:
#   1. writes COUNT (default 1000) net-attack bundles the way `vmlab submit` does and grades
#      them with one `vmlab grade` (no replays): bundles/minute and peak RSS;
#   2. writes the slowest bundles it can within Submission.Limits (the most measurements
#      with a crafted 4 MiB ruleset, the most bytes, the most parameters) and grades each
#      alone: seconds and peak RSS each.
# Uses the debug build unless CONFIG=release. Needs /usr/bin/time (GNU time). Work files go
# under $BENCH_DIR (default: a new folder in /tmp), results to stdout, progress to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${1:-1000}
CONFIG=${CONFIG:-debug}
WORK=${BENCH_DIR:-$(mktemp -d /tmp/grade-bench.XXXXXX)}
export VMLAB_COURSE_SECRET=${VMLAB_COURSE_SECRET:-grade-bench-course-secret-0123456789}
export VMLAB_HOME="$WORK/home"
say() { printf 'grade-bench: %s\n' "$*" >&2; }

say "building ($CONFIG)"
swift build -c "$CONFIG" --product vmlab >&2
swift build -c "$CONFIG" --product grade-bench >&2
BIN=$(swift build -c "$CONFIG" --show-bin-path)
RUBRIC=Grading/net-attack/rubric.yaml

# Runs vmlab grade on $1 under GNU time; prints "<seconds> <peak KiB>".
timed_grade() {
  /usr/bin/time -v "$BIN/vmlab" grade "$1" --rubric "$RUBRIC" --course . --csv "$WORK/last.csv" \
    >"$WORK/last.out" 2>"$WORK/last.time"
  awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i] }
    /Maximum resident set size/ { kb = $2 }
    END { printf "%.2f %d\n", s, kb }' "$WORK/last.time"
}

say "writing $COUNT bundles to $WORK/class"
rm -rf "$WORK/class" "$WORK/worst"
"$BIN/grade-bench" class "$WORK/class" "$COUNT"
say "grading them in one vmlab grade"
read -r seconds kib < <(timed_grade "$WORK/class")
graded=$(($(wc -l <"$WORK/last.csv") - 1))
printf 'class: %d bundles in %s s = %.0f bundles/minute, peak RSS %.0f MiB (%s build)\n' \
  "$graded" "$seconds" "$(echo "$graded * 60 / $seconds" | bc -l)" "$(echo "$kib / 1024" | bc -l)" "$CONFIG"

say "writing the worst bundles within the limits"
"$BIN/grade-bench" worst "$WORK/worst"
for bundle in "$WORK"/worst/*.json; do
  read -r seconds kib < <(timed_grade "$bundle")
  outcome=$(awk 'NR == 2 { print "graded " $2 }' "$WORK/last.out")
  rejected=$(sed -n 's/^vmlab: warning: .* rejected: //p' "$WORK/last.time" | cut -c1-70)
  [ -n "$rejected" ] && outcome="rejected: $rejected"
  printf 'worst %-24s %6.1f MiB  %5s s  peak RSS %4.0f MiB  (%s)\n' "$(basename "$bundle")" \
    "$(echo "$(stat -c %s "$bundle") / 1048576" | bc -l)" "$seconds" "$(echo "$kib / 1024" | bc -l)" "$outcome"
done
say "work files in $WORK"
