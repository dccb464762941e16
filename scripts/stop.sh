#!/usr/bin/env bash
# Ends the libvirtd and virtlogd that scripts/setup.sh started, by their pid files only:
# SIGTERM, then SIGKILL after a grace period, and the pid file goes only once the daemon
# is gone.
set -euo pipefail
RUN_DIR=${VMLAB_RUN:-/run/vmlab}
GRACE=${VMLAB_STOP_GRACE:-10}
. "$(dirname "$0")/daemon-pid.sh"

for d in libvirtd virtlogd; do
  f="$RUN_DIR/$d.pid"
  pid=$(daemon_pid "$f" "$d")
  if [ -z "$pid" ]; then
    rm -f "$f"   # stale: names no running $d
    continue
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((GRACE * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    printf 'stop: %s (pid %s) still running after %s s; sending SIGKILL\n' "$d" "$pid" "$GRACE" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  if kill -0 "$pid" 2>/dev/null; then
    printf 'stop: %s (pid %s) did not exit; keeping %s\n' "$d" "$pid" "$f" >&2
    exit 1
  fi
  rm -f "$f"
  printf 'stop: ended %s (pid %s)\n' "$d" "$pid" >&2
done
