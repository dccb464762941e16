#!/bin/sh
# A tenant's services, run by the lab itself (setup and every run): the tenant's web
# service on SERVICE_PORT and two that must never face the outside, a database (3306) and
# an admin console (2222). Each answers one line naming itself, then closes.
#   services.sh SERVICE_PORT
set -eu
service_port=$1
mkdir -p /run/vmlab
for pidfile in /run/vmlab/svc-*.pid; do
  [ -f "$pidfile" ] || continue
  kill -- "-$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
done
sleep 0.2
for entry in "web:$service_port" "db:3306" "admin:2222"; do
  name=${entry%%:*} port=${entry#*:}
  echo "$name service of $(cat /proc/sys/kernel/hostname) ok" > "/run/vmlab/banner-$name"
  setsid sh -c "while :; do nc.openbsd -l -N -p $port < /run/vmlab/banner-$name; done" </dev/null >/dev/null 2>&1 &
  echo $! > "/run/vmlab/svc-$name.pid"
done
for i in $(seq 50); do
  n=$(ss -Hltn | grep -cE ":($service_port|3306|2222) ")
  [ "$n" -ge 3 ] && exit 0
  sleep 0.1
done
echo "the services did not start listening on $service_port, 3306 and 2222" >&2
exit 1
