#!/usr/bin/env bash
# The main job on the embedded defaults: start the journal-replay lab, crash its guest
# under two commit intervals, print the results table, write the HTML report, stop the
# lab. Progress goes to stderr, results to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
vmlab=${VMLAB:-.build/debug/vmlab}
report=${REPORT:-journal-replay-report.html}
step() { printf '\n== %s\n' "$*" >&2; }

stop_lab() { "$vmlab" lab stop journal-replay >/dev/null 2>&1 || true; }
trap stop_lab EXIT
stop_lab

step "host check"
"$vmlab" doctor --quick || true
step "start the lab (builds the base image the first time)"
"$vmlab" lab start journal-replay
"$vmlab" lab show journal-replay
step "crash the guest mid-workload with commit=1 and commit=30, timing the journal replay"
"$vmlab" run journal-replay crash-replay --sweep commit=1,30
step "results"
"$vmlab" results journal-replay
"$vmlab" report journal-replay -o "$report"
step "report written to $report"
step "reset to the baseline snapshot, then stop the lab"
"$vmlab" lab reset journal-replay
"$vmlab" lab stop journal-replay
trap - EXIT
left=$(virsh -c "${LIBVIRT_DEFAULT_URI:-qemu:///system}" list --all --name | grep -c '^vmlab-' || true)
echo "done: $left vmlab domains left" >&2
