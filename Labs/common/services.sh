#!/bin/sh
# The victim's side of the net-attack lab, run by the lab itself (setup and every run):
# (re)starts the two services and sets the kernel knobs the lab depends on, so that each
# run starts from the same victim whatever an earlier run or a student's poking left.
#   services.sh SERVICE_PORT VULN_PORT
set -eu
service_port=$1
vuln_port=$2
mkdir -p /etc/vmlab /run/vmlab

# SYN cookies off: the queue of half-open connections is then the resource a SYN flood
# exhausts (as on stacks without cookies), which makes the attack's effect clear-cut.
echo 0 > /proc/sys/net/ipv4/tcp_syncookies

# The ports as nft variables: a ruleset can `include "/etc/vmlab/ports.nft"`.
cat > /etc/vmlab/ports.nft <<PORTS
define SERVICE_PORT = $service_port
define VULN_PORT = $vuln_port
PORTS

# Stop what an earlier run started (a fresh listening socket also has an empty queue).
# Each service runs in a session of its own (setsid), so its whole group is ended.
for pidfile in /run/vmlab/service.pid /run/vmlab/vuln.pid; do
  if [ -f "$pidfile" ]; then
    kill -- "-$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  fi
done
sleep 0.2

# The legitimate service: accepts connections one after the other, keeps listening (-k).
setsid nc.openbsd -lk -p "$service_port" </dev/null >/dev/null 2>&1 &
echo $! > /run/vmlab/service.pid

# The vulnerable one: a forgotten debug port that hands its secret to anyone who connects.
echo "debug console: admin token 7f3e-lab-secret" > /etc/vmlab/debug-banner
setsid sh -c "while :; do nc.openbsd -l -N -p $vuln_port < /etc/vmlab/debug-banner; done" </dev/null >/dev/null 2>&1 &
echo $! > /run/vmlab/vuln.pid

# Wait until both listen, so a probe right after this script never races the start.
for i in $(seq 50); do
  if ss -Hltn "sport = :$service_port" | grep -q . && ss -Hltn "sport = :$vuln_port" | grep -q .; then exit 0; fi
  sleep 0.1
done
echo "services did not start listening on ports $service_port and $vuln_port" >&2
exit 1
