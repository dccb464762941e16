#!/usr/bin/env bash
# Density benchmark: how many idle guests of the base image (DENSITY_MEMORY MiB, default
# 256) this host keeps with every guest agent answering within 2 s, with KSM off, then on.
# Guests are started one by one with `vmlab vm create` (vmlab has no saved-state fast path
# for plain VMs); after each, every guest's agent gets a guest-ping and the slowest answer
# is kept. A phase stops when the slowest agent exceeds 2 s, when the host's MemAvailable
# would drop under DENSITY_FLOOR_MIB (default 4096: other work shares this machine), or at
# DENSITY_MAX guests in all (default 128; DENSITY_MAX_OFF caps the ksm-off phase). Phase "ksm-off" runs with KSM stopped; phase "ksm-on"
# then turns KSM on, waits for merging, and goes on adding guests to the same set.
# Prints per phase: guests, host memory per guest (MemAvailable drop / guests: it also moves
# with other work on the host, and KSM merges other guests too), the guests' own QEMU
# processes' proportional set size per guest (KSM-shared pages split among their users),
# slowest agent, load average. Every guest it made is removed on exit (also on Ctrl-C), and the
# KSM settings found at the start are put back.
# Targets (issue 15): >= 64 guests with KSM off, >= 96 with KSM on, on a 24 GiB host.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX=${DENSITY_MAX:-128}
MAX_OFF=${DENSITY_MAX_OFF:-$MAX}
MEMORY=${DENSITY_MEMORY:-256}
FLOOR_MIB=${DENSITY_FLOOR_MIB:-4096}
LIMIT_MS=2000
vmlab=${VMLAB:-.build/debug/vmlab}
export VMLAB_HOME=${VMLAB_HOME:-$(mktemp -d /tmp/vmlab-density.XXXXXX)}
export VMLAB_ACCEL=${VMLAB_ACCEL:-tcg}
ksm=/sys/kernel/mm/ksm
saved_ksm=$(for f in run pages_to_scan sleep_millisecs; do echo "$f=$(cat "$ksm/$f")"; done)
guests=()
say() { printf 'density: %s\n' "$*" >&2; }
cleanup() {
  trap - EXIT INT TERM
  say "removing ${#guests[@]} guests"
  for g in "${guests[@]}"; do "$vmlab" vm rm "$g" >/dev/null 2>&1 || say "could not remove $g"; done
  for setting in $saved_ksm; do echo "${setting#*=}" > "$ksm/${setting%%=*}"; done
}
trap cleanup EXIT
# Ctrl-C: the figures so far, then the same clean-up.
trap 'report "${phase:-ksm-off}" interrupted >&2 || true; exit 130' INT TERM
avail_mib() { awk '/^MemAvailable:/ { printf "%d\n", $2 / 1024 }' /proc/meminfo; }
# The slowest guest-ping over every guest, in ms, through one virsh session (-t times each
# command); a guest whose agent fails counts as 99999.
slowest_agent_ms() {
  local out
  out=$(for d in "${domains[@]}"; do echo "qemu-agent-command $d '{\"execute\":\"guest-ping\"}' --timeout 10"; done \
    | virsh -q -t 2>&1 || true)
  printf '%s\n' "$out" | awk -v n="${#domains[@]}" '
    /^\(Time: / { t = $2 + 0; if (t > max) max = t; ok++ }
    /^error: / { failed++ }
    END { if (failed || ok < n) max = 99999; printf "%d\n", max }'
}
# The mean PSS in MiB of our guests' QEMU processes (found by the guest= name libvirt gives them).
pss_mib() {
  for d in "${domains[@]}"; do
    for pid in $(pgrep -f "guest=$d,"); do awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || true; done
  done | awk '{ s += $1; n++ } END { printf "%d\n", n ? s / n / 1024 : 0 }'
}
domain_of() { "$vmlab" vm list --format json | python3 -c "import json,sys; print([g['domain'] for g in json.load(sys.stdin) if g['name']=='$1'][0])"; }

"$vmlab" image build base >/dev/null 2>&1
domains=()
base_avail=$(avail_mib)
say "home $VMLAB_HOME; MemAvailable at start ${base_avail} MiB; floor ${FLOOR_MIB} MiB; limit $MAX guests of $MEMORY MiB"
printf '%-8s %7s %14s %14s %16s %8s  %s\n' phase guests MiB_per_guest PSS_per_guest slowest_agent_s load1 stopped_by
report() { # phase reason
  [ "${#guests[@]}" -gt 0 ] || return 0
  local used=$((base_avail - $(avail_mib)))
  printf '%-8s %7d %14.0f %14d %16.3f %8s  %s\n' "$1" "${#guests[@]}" "$(echo "$used / ${#guests[@]}" | bc -l)" "$(pss_mib)" \
    "$(echo "$slowest / 1000" | bc -l)" "$(cut -d' ' -f1 /proc/loadavg)" "$2"
}

slowest=0
for phase in ksm-off ksm-on; do
  if [ "$phase" = ksm-off ]; then
    echo 0 > "$ksm/run"
  else
    echo 20 > "$ksm/sleep_millisecs"; echo 5000 > "$ksm/pages_to_scan"; echo 1 > "$ksm/run"
    # Wait until merging settles: pages_sharing grows by under 1% in 10 s (at most 3 min).
    prev=0
    for _ in $(seq 1 18); do
      sleep 10; now=$(cat "$ksm/pages_sharing")
      [ "$now" -gt 0 ] && [ $((now - prev)) -lt $((now / 100 + 1)) ] && break
      prev=$now
    done
    say "KSM merged: pages_sharing $(cat "$ksm/pages_sharing"), pages_shared $(cat "$ksm/pages_shared")"
    slowest=$(slowest_agent_ms)
    report ksm-on "(the ksm-off guests, merged)"
    merged_count=${#guests[@]}
  fi
  limit=$([ "$phase" = ksm-off ] && echo "$MAX_OFF" || echo "$MAX")
  reason="limit of $limit guests"
  while [ "${#guests[@]}" -lt "$limit" ]; do
    # The next guest must leave the floor intact even if it costs twice the average so far.
    per=$(( ${#guests[@]} > 0 ? (base_avail - $(avail_mib)) / ${#guests[@]} : MEMORY + 64 ))
    if [ $(( $(avail_mib) - 2 * per )) -lt "$FLOOR_MIB" ]; then reason="host MemAvailable floor"; break; fi
    name="density-$(( ${#guests[@]} + 1 ))"
    guests+=("$name")
    "$vmlab" vm create "$name" --memory "$MEMORY" >/dev/null 2>>"$VMLAB_HOME/density.log" || { reason="vm create failed (see $VMLAB_HOME/density.log)"; break; }
    domains+=("$(domain_of "$name")")
    slowest=$(slowest_agent_ms)
    say "$phase: ${#guests[@]} guests, slowest agent ${slowest} ms, MemAvailable $(avail_mib) MiB, load $(cut -d' ' -f1 /proc/loadavg)"
    if [ "$slowest" -gt "$LIMIT_MS" ]; then reason="slowest agent over 2 s"; break; fi
  done
  if [ "$phase" = ksm-off ] || [ "${#guests[@]}" -gt "$merged_count" ]; then report "$phase" "$reason"; fi
done
