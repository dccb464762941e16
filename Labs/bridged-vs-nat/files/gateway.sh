#!/bin/sh
# The NAT gateway of the tenants' inner network, run by the lab itself (setup and every
# run). eth0 is on the campus (198.18.10.2), eth1 on the inner network (198.18.20.1).
# The lab's own ruleset: the inner network leaves masqueraded to 198.18.10.2; from the
# campus only answers come in, and whatever a port-forward rule translated (ct status
# dnat). With FORWARDING=on the student's /etc/vmlab/forward.nft is loaded after it.
# /etc/vmlab/ports.nft defines $PUBLIC_PORT and $SERVICE_PORT for the student's ports.
#   gateway.sh on|off PUBLIC_PORT SERVICE_PORT
set -eu
mkdir -p /etc/vmlab
cat > /etc/vmlab/ports.nft <<PORTS
define PUBLIC_PORT = $2
define SERVICE_PORT = $3
PORTS
echo 1 > /proc/sys/net/ipv4/ip_forward
nft flush ruleset
nft -f - <<'RULES'
table ip lab_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oif "eth0" ip saddr 198.18.20.0/24 masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iif "eth1" oif "eth0" accept
    iif "eth0" oif "eth1" ct status dnat accept
  }
}
RULES
if [ "$1" = on ]; then
  [ -s /etc/vmlab/forward.nft ] || { echo "forwarding=on, but the gateway has no /etc/vmlab/forward.nft: copy your rules in first (see the handout)" >&2; exit 1; }
  nft -f /etc/vmlab/forward.nft
fi
