#!/usr/bin/env bash
# Ends the libvirtd and virtlogd that scripts/setup.sh started, by their pid files only.
set -euo pipefail
RUN_DIR=${VMLAB_RUN:-/run/vmlab}
for d in libvirtd virtlogd; do
  f="$RUN_DIR/$d.pid"
  if [ -f "$f" ] && pid=$(cat "$f") && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    printf 'stop: ended %s (pid %s)\n' "$d" "$pid" >&2
  fi
  rm -f "$f"
done
