#!/bin/sh
# The client's probe of the legitimate service, run by the lab: COUNT TCP connects one
# after the other, each given 1 s (a SYN the victim drops is retried by the kernel only
# after 1 s, so a dropped handshake counts as a failure). Prints, on one line:
#   ok=PERCENT ms=MEDIAN
# PERCENT: connects that succeeded; MEDIAN: median connect time in ms (the time nc takes,
# process start included), a failed connect counting as 1000 (its timeout), so a service
# that stops answering shows as slow too.
#   probe.sh HOST PORT COUNT
set -u
host=$1 port=$2 count=$3
# Times come from /proc/uptime (read by the shell itself, no extra process: 10 ms steps).
i=0
while [ "$i" -lt "$count" ]; do
  read -r start _ < /proc/uptime
  if nc.openbsd -z -w 1 "$host" "$port" 2>/dev/null; then
    read -r end _ < /proc/uptime
    echo "ok $start $end"
  else
    echo "fail 0 1"
  fi
  i=$((i + 1))
done | awk '
  { ms[NR] = ($3 - $2) * 1000; if ($1 == "ok") ok++ }
  END {
    n = NR; for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (ms[j] < ms[i]) { t = ms[i]; ms[i] = ms[j]; ms[j] = t }
    printf "ok=%.0f ms=%.0f\n", 100 * ok / n, (n % 2 ? ms[(n + 1) / 2] : (ms[n / 2] + ms[n / 2 + 1]) / 2)
  }'
