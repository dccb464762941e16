#!/bin/sh
# The NAT gateway in front of the victim, run by the lab itself (setup and every run).
# eth0 is on the campus (198.18.30.2), eth1 on the inner network (198.18.40.1).
# The lab's own rules: the inner network leaves masqueraded to 198.18.30.2; from the
# campus only answers come in, and whatever a port forward translated (ct status dnat).
# FORWARDING says which port forward sits on top:
#   none   no forward: nothing of the victim faces the campus
#   plain  the lab's own forward, as a hurried admin writes it: every connection to
#          198.18.30.2:PUBLIC_PORT goes to the victim's service, whoever sends it
#   yours  the student's /etc/vmlab/forward.nft (nft -f), instead of the plain one
# /etc/vmlab/ports.nft defines $PUBLIC_PORT, $SERVICE_PORT and $VULN_PORT.
#   gateway.sh none|plain|yours PUBLIC_PORT SERVICE_PORT VULN_PORT
set -eu
mode=$1 public_port=$2 service_port=$3 vuln_port=$4
mkdir -p /etc/vmlab
cat > /etc/vmlab/ports.nft <<PORTS
define PUBLIC_PORT = $public_port
define SERVICE_PORT = $service_port
define VULN_PORT = $vuln_port
PORTS
echo 1 > /proc/sys/net/ipv4/ip_forward
nft flush ruleset
# An empty connection-tracking table for every run, so that what a run counts is its own
# (an earlier flood's entries live for up to 120 s): with no rules left, the tracking
# modules unload, and the rules below load them again. (The image has no conntrack tool.)
# A table that is already empty (a fresh gateway) is left as it is: reloading is slow.
unload() {
  for holder in /sys/module/"$1"/holders/*; do
    [ -e "$holder" ] && unload "${holder##*/}"
  done
  rmmod "$1" 2>/dev/null || true
}
tracked=$(cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo 0)
if [ "$tracked" -gt 0 ]; then
  unload nf_conntrack
  if [ -d /sys/module/nf_conntrack ]; then
    echo "gateway.sh: connection tracking is still in use; this run's counts include earlier runs' entries" >&2
  fi
fi
nft -f - <<'RULES'
table ip lab_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oif "eth0" ip saddr 198.18.40.0/24 masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iif "eth1" oif "eth0" accept
    iif "eth0" oif "eth1" ct status dnat accept
  }
}
RULES
case $mode in
  none) ;;
  plain)
    nft -f - <<RULES
table ip lab_forward {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iif "eth0" ip daddr 198.18.30.2 tcp dport $public_port dnat to 198.18.40.20:$service_port
  }
}
RULES
    ;;
  yours)
    [ -s /etc/vmlab/forward.nft ] || { echo "forwarding=yours, but the gateway has no /etc/vmlab/forward.nft: copy your rules in first (see the handout)" >&2; exit 1; }
    nft -f /etc/vmlab/forward.nft
    ;;
  *) echo "usage: gateway.sh none|plain|yours PUBLIC_PORT SERVICE_PORT VULN_PORT" >&2; exit 2 ;;
esac
