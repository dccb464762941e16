#!/bin/sh
# The scanner's side of the cost experiment, run by the lab: a sink that swallows what
# arrives on port 9000 and a listener on 9001 that accepts and closes at once.
set -eu
mkdir -p /run/vmlab
for pidfile in /run/vmlab/sink-*.pid; do
  [ -f "$pidfile" ] || continue
  kill -- "-$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
done
sleep 0.2
setsid sh -c "while :; do nc.openbsd -l -p 9000 > /dev/null; done" </dev/null >/dev/null 2>&1 &
echo $! > /run/vmlab/sink-data.pid
setsid nc.openbsd -lk -p 9001 </dev/null >/dev/null 2>&1 &
echo $! > /run/vmlab/sink-conn.pid
for i in $(seq 50); do
  [ "$(ss -Hltn | grep -cE ':(9000|9001) ')" -ge 2 ] && exit 0
  sleep 0.1
done
echo "the sink did not start listening on 9000 and 9001" >&2
exit 1
