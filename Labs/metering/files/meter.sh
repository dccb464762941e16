#!/bin/sh
# The tenant's own meter, computed the way an in-guest billing agent computes it: over a
# window of SECONDS (slept by the guest's clock), the busy share of the guest's CPU time
# from the guest kernel's /proc/stat, and the window's length by the guest's own clock
# (/proc/uptime). Writes "BUSY_PERCENT GUEST_SECONDS" to /run/vmlab/meter.
# It runs inside the guest, where root can change it or its numbers: that is the point.
set -eu
window=${1:?usage: meter.sh SECONDS}
ticks() {
  # cpu  user nice system idle iowait irq softirq steal guest guest_nice
  read -r _ user nice system idle iowait irq softirq steal _ < /proc/stat
  busy=$((user + nice + system + irq + softirq + steal))
  total=$((busy + idle + iowait))
}
read -r up0 _ < /proc/uptime
ticks; busy0=$busy; total0=$total
sleep "$window"
read -r up1 _ < /proc/uptime
ticks
mkdir -p /run/vmlab
awk -v b=$((busy - busy0)) -v t=$((total - total0)) -v u0="$up0" -v u1="$up1" \
  'BEGIN { printf "%.1f %.2f\n", (t > 0 ? 100 * b / t : 0), u1 - u0 }' > /run/vmlab/meter
