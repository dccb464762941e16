#!/bin/sh
# The cost of the path from this guest to the scanner's sink (198.18.10.10): run by the
# lab on a tenant, whose path is either the campus bridge or the NAT gateway. Prints:
#   rtt_ms=MEDIAN_PING conn_per_s=RATE mbit_per_s=THROUGHPUT
# rtt: 10 pings 0.2 s apart. conn/s: COUNT TCP connects one after the other to the sink's
# port 9001 (each a handshake and a close, nc's start included). Throughput: MBYTES MB
# sent to port 9000 through one connection. Times from /proc/uptime (10 ms steps).
#   cost.sh COUNT MBYTES
set -u
count=$1 mbytes=$2 host=198.18.10.10
rtt=$(ping -q -n -c 10 -i 0.2 -W 1 "$host" | sed -n 's|.* = [0-9.]*/\([0-9.]*\)/.*|\1|p')
read -r t0 _ < /proc/uptime
ok=0 i=0
while [ "$i" -lt "$count" ]; do
  nc.openbsd -z -w 2 "$host" 9001 2>/dev/null && ok=$((ok + 1))
  i=$((i + 1))
done
read -r t1 _ < /proc/uptime
dd if=/dev/zero bs=64k count=$((mbytes * 16)) 2>/dev/null | nc.openbsd -N -w 5 "$host" 9000
read -r t2 _ < /proc/uptime
awk -v rtt="${rtt:-0}" -v ok="$ok" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v mb="$mbytes" 'BEGIN {
  d1 = t1 - t0; d2 = t2 - t1; if (d1 <= 0) d1 = 0.01; if (d2 <= 0) d2 = 0.01
  printf "rtt_ms=%s conn_per_s=%.1f mbit_per_s=%.1f\n", rtt, ok / d1, mb * 8 / d2
}'
