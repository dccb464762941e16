#!/bin/sh
# lab-app: the lab's transactional service. It keeps orders in SQLite on the data disk
# (/mnt/data/app.db, WAL journal, synchronous=OFF: it never fsyncs, trusting the page
# cache) and, like any service with an asynchronous commit, acknowledges each order as soon
# as it is in its own write buffer; the buffer is committed as one transaction every BATCH
# orders.
#
# Each acknowledgement is written through (O_DIRECT, O_DSYNC) to sector 0 of the ack disk
# /dev/vdc, which is NOT the disk under test: a snapshot of both disks at one instant shows
# exactly which orders had been acknowledged at that instant. Every acknowledgement is also
# logged with the guest's uptime to /run/app/acks.log (tmpfs), for the stall measure.
#
# Control, for an fsfreeze hook (the lab's handout explains):
#   kill -USR1 $(cat /run/app/pid)   commit the buffer, then pause: /run/app/paused appears
#   kill -USR2 $(cat /run/app/pid)   resume
#
# Usage: lab-app.sh [BATCH]
set -u
db=/mnt/data/app.db
run=/run/app
batch=${1:-16}
mkdir -p "$run"
rm -f "$run/paused"
: > "$run/acks.log"
seq=$(sqlite3 "$db" 'SELECT coalesce(max(seq), 0) FROM orders') || exit 1
buf=""
n=0
flush=0
pause=0
trap 'flush=1' USR1
trap 'pause=0' USR2
trap 'exit 0' TERM INT

commit() {
  [ -n "$buf" ] || return 0
  sqlite3 "$db" "PRAGMA synchronous=OFF; BEGIN; $buf COMMIT;" || exit 1
  buf=""
  n=0
}

ack() {
  printf '%-511s\n' "$1" | dd of=/dev/vdc bs=512 count=1 oflag=direct,dsync conv=notrunc status=none || exit 1
  read -r up _ < /proc/uptime
  echo "$1 $up" >> "$run/acks.log"
}

echo $$ > "$run/pid"
while :; do
  if [ "$flush" = 1 ]; then
    flush=0
    commit
    pause=1
    : > "$run/paused"
    while [ "$pause" = 1 ]; do sleep 0.02; done
    rm -f "$run/paused"
  fi
  seq=$((seq + 1))
  buf="$buf INSERT INTO orders VALUES ($seq, $((seq * 7 % 1000)), 'order $seq');"
  n=$((n + 1))
  ack "$seq"
  [ "$n" -ge "$batch" ] && commit
done
