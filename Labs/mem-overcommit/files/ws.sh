#!/bin/sh
# Working-set helper of the mem-overcommit lab, run in each guest through the agent.
# The working set is a file in tmpfs (/dev/shm): its pages are ordinary swappable memory,
# and reading it over and over touches every page, like a program cycling through its data.
set -eu
case "${1:-}" in
settle)
  # The balloon inflates in the background after set-memory: wait until MemTotal has
  # not moved for ~1 s (at most 30 s), then remember the swap counters.
  last=0 same=0 i=0
  while [ "$i" -lt 100 ]; do
    now=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
    if [ "$now" = "$last" ]; then same=$((same + 1)); [ "$same" -ge 3 ] && break; else same=0; fi
    last=$now i=$((i + 1))
    sleep 0.3
  done
  awk '/^pswp(in|out) / { s += $2 } END { print s }' /proc/vmstat > /run/ws.swap0
  ;;
available)
  # MiB the guest can still give a working set (MemAvailable), after the balloon.
  awk '/^MemAvailable:/ { printf "%.1f\n", $2 / 1024 }' /proc/meminfo
  ;;
start)
  # $2 MiB: write the working set, then read it in a loop, counting whole passes.
  echo 0 > /run/ws.passes
  setsid sh -c "dd if=/dev/zero of=/dev/shm/ws bs=1M count=$2 2>/dev/null
    n=0; while :; do cat /dev/shm/ws > /dev/null; n=\$((n + 1)); echo \$n > /run/ws.passes; done" \
    < /dev/null > /dev/null 2>&1 &
  echo $! > /run/ws.pid
  ;;
stop)
  # Ends the loop (its whole process group), prints the passes it completed.
  kill -TERM -- "-$(cat /run/ws.pid)" 2>/dev/null || true
  cat /run/ws.passes
  ;;
swap)
  # MiB swapped in + out since `settle` (4 KiB pages).
  awk -v before="$(cat /run/ws.swap0)" '/^pswp(in|out) / { s += $2 } END { printf "%.1f\n", (s - before) / 256 }' /proc/vmstat
  ;;
*)
  echo "usage: ws settle | available | start MIB | stop | swap" >&2
  exit 64
  ;;
esac
