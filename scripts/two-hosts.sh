#!/usr/bin/env bash
# Two libvirt hosts on one machine, for host-pool tests (shared/PLATFORM.md, "Two libvirt
# hosts on one machine"):
#
#   two-hosts.sh up            create both hosts (idempotent); prints a hosts.yaml on stdout
#   two-hosts.sh down          end exactly what `up` started, remove the namespaces (idempotent)
#   two-hosts.sh status        one line per host: its namespace, address and daemon pids
#   two-hosts.sh stop HOST     end HOST's libvirtd (a or b) by its pid: a host lost mid-batch
#   two-hosts.sh exec CMD...   run CMD where the clients live (host a's network namespace)
#
# Layout: network namespaces $PREFIX-a and $PREFIX-b joined by one veth pair
# (198.18.1.1/30 and 198.18.1.2/30, the benchmarking range; neither namespace has any
# other route, so nothing can leave the machine). Each runs its own virtlogd and libvirtd,
# started with `ip netns exec NS unshare -u`, in a mount namespace of its own where private
# runtime, state, config, log and cache folders are bind-mounted over /run/libvirt,
# /var/lib/libvirt, /etc/libvirt, /var/log/libvirt and /var/cache/libvirt; pid files are
# $POOL_RUN/HOST/*.pid. libvirtd listens on TCP (no TLS, no auth) on its veth address only:
# qemu+tcp://198.18.1.1/system and qemu+tcp://198.18.1.2/system. Clients run in
# namespace a (`two-hosts.sh exec ...`), the one other end of the link.
#
# Storage is private too, so the test proves that nothing reaches a host through the
# filesystem: each host's mount namespace has an empty tmpfs over /tmp and $TMPDIR (where
# test vmlab homes live; VMLAB_POOL_HIDE adds folders), and its storage pool folder,
# /var/lib/libvirt/vmlab (the hosts.yaml default), lies in its private /var/lib/libvirt.
# The hosts.yaml printed says `storage: pool`: images reach each host through libvirt's
# storage API. The main libvirtd (namespace vmlab, /run/libvirt) is never touched.
set -euo pipefail

PREFIX=${VMLAB_POOL_PREFIX:-vmlabpool}
POOL_RUN=${VMLAB_POOL_RUN:-/run/vmlab-pool}
HOSTS=(a b)
declare -A ADDRESS=([a]=198.18.1.1 [b]=198.18.1.2)
declare -A PEER=([a]=198.18.1.2 [b]=198.18.1.1)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/daemon-pid.sh"

say() { printf 'two-hosts: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
ns() { printf '%s-%s' "$PREFIX" "$1"; }
uri() { printf 'qemu+tcp://%s/system' "${ADDRESS[$1]}"; }
has_ns() { ip netns list | awk '{print $1}' | grep -qx "$1"; }
in_client() { ip netns exec "$(ns a)" "$@"; }
# The folders private to one host's daemons, bind-mounted over libvirt's own.
PRIVATE=(run:/run/libvirt lib:/var/lib/libvirt etc:/etc/libvirt log:/var/log/libvirt cache:/var/cache/libvirt)

[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, libvirtd)"

answers() { in_client virsh -c "$(uri "$1")" version >/dev/null 2>&1; }

network_up() {
  local a b
  a=$(ns a) b=$(ns b)
  for n in "$a" "$b"; do has_ns "$n" || ip netns add "$n"; ip -n "$n" link set lo up; done
  if ! ip -n "$a" link show "$PREFIX-va" >/dev/null 2>&1; then
    ip -n "$a" link add "$PREFIX-va" type veth peer name "$PREFIX-vb" netns "$b"
  fi
  for h in a b; do
    local n dev
    n=$(ns "$h") dev="$PREFIX-v$h"
    ip -n "$n" addr replace "${ADDRESS[$h]}/30" dev "$dev"
    ip -n "$n" link set "$dev" up
  done
  # Proof that the link goes nowhere else: the peer is on the veth, anything else unreachable.
  for h in a b; do
    local n
    n=$(ns "$h")
    ip -n "$n" route get "${PEER[$h]}" | grep -q "dev $PREFIX-v$h" \
      || die "namespace $n does not reach ${PEER[$h]} over its veth"
    if ip -n "$n" route get 192.0.2.1 >/dev/null 2>&1 || ip -n "$n" route get 1.1.1.1 >/dev/null 2>&1; then
      die "namespace $n has a route off the link; refusing to go on"
    fi
  done
}

daemons_up() {
  local h=$1 n dir
  n=$(ns "$h") dir="$POOL_RUN/$h"
  if [ -n "$(daemon_pid "$dir/libvirtd.pid" libvirtd)" ] && [ -n "$(daemon_pid "$dir/virtlogd.pid" virtlogd)" ]; then
    answers "$h" && return 0
  fi
  for d in libvirtd virtlogd; do [ -n "$(daemon_pid "$dir/$d.pid" "$d")" ] || rm -f "$dir/$d.pid"; done
  for p in "${PRIVATE[@]}"; do mkdir -p "$dir/${p%%:*}"; done
  mkdir -p "$dir/lib/dnsmasq" "$dir/etc/qemu/networks"
  # A config of its own: no domains or networks of the machine's libvirtd come along.
  cp /etc/libvirt/qemu.conf /etc/libvirt/libvirt.conf /etc/libvirt/virtlogd.conf "$dir/etc/" 2>/dev/null || true
  [ -f "$dir/host_uuid" ] || cat /proc/sys/kernel/random/uuid > "$dir/host_uuid"
  cat > "$dir/etc/libvirtd.conf" <<EOF
# Written by scripts/two-hosts.sh: host $h of the two-host test pool.
listen_tls = 0
listen_tcp = 1
listen_addr = "${ADDRESS[$h]}"
auth_tcp = "none"
host_uuid = "$(cat "$dir/host_uuid")"
EOF
  say "starting virtlogd and libvirtd of host $h (namespace $n, ${ADDRESS[$h]})"
  ip netns exec "$n" unshare -u sh -c '
    set -e
    dir=$1 host=$2; shift 2
    hostname "vmlab-pool-$host"
    for p in "$@"; do mount --bind "$dir/${p%%:*}" "${p#*:}"; done
    # What the clients keep in their own folders (vmlab homes) this host must not see.
    for hide in /tmp ${TMPDIR:-} ${VMLAB_POOL_HIDE:-}; do
      [ ! -d "$hide" ] || mount -t tmpfs -o size=64m,mode=1777 "hidden-$host" "$hide"
    done
    # `ip netns exec` gives a fresh /sys without cgroups (see PLATFORM.md).
    if ! mountpoint -q /sys/fs/cgroup/cpu 2>/dev/null; then
      mount -t tmpfs cgroup_root /sys/fs/cgroup
      for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
        mkdir -p /sys/fs/cgroup/$c
        mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c 2>/dev/null || rmdir /sys/fs/cgroup/$c
      done
      mkdir -p /sys/fs/cgroup/unified
      mount -t cgroup2 none /sys/fs/cgroup/unified 2>/dev/null || true
    fi
    [ -n "$(cat "$dir/virtlogd.pid" 2>/dev/null)" ] && kill -0 "$(cat "$dir/virtlogd.pid")" 2>/dev/null \
      || virtlogd -d -p "$dir/virtlogd.pid"
    exec libvirtd --listen -d -p "$dir/libvirtd.pid"
  ' sh "$dir" "$h" "${PRIVATE[@]}" </dev/null >>"$dir/daemons.log" 2>&1
  for _ in $(seq 1 150); do
    if answers "$h"; then
      say "host $h ready: $(uri "$h") (libvirtd pid $(cat "$dir/libvirtd.pid"))"
      return 0
    fi
    sleep 0.1
  done
  say "host $h did not answer on $(uri "$h") within 15 s; see $dir/daemons.log and $dir/log/libvirtd.log"
  return 1
}

# SIGTERM, then SIGKILL after 10 s; only a pid the pid file names and that is that daemon.
end_daemon() {
  local file=$1 name=$2 pid
  pid=$(daemon_pid "$file" "$name")
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    say "ended $name (pid $pid)"
  fi
  rm -f "$file"
}

# Every guest of host h destroyed through its libvirtd (which also removes their cgroups).
# A libvirtd stopped mid-batch left its guests running: it is started again first, and
# takes them back. Runs while the client namespace (a) still exists.
host_guests_down() {
  local h=$1 n dir c
  n=$(ns "$h") dir="$POOL_RUN/$h"
  has_ns "$n" && has_ns "$(ns a)" && [ -d "$dir" ] || return 0
  [ -n "$(daemon_pid "$dir/libvirtd.pid" libvirtd)" ] || daemons_up "$h" || true
  answers "$h" || return 0
  c=$(uri "$h")
  for d in $(in_client virsh -c "$c" list --all --name 2>/dev/null); do
    in_client virsh -c "$c" destroy "$d" >/dev/null 2>&1 && say "host $h: destroyed $d"
    in_client virsh -c "$c" undefine --snapshots-metadata "$d" >/dev/null 2>&1 || true
  done
  for net in $(in_client virsh -c "$c" net-list --all --name 2>/dev/null); do
    in_client virsh -c "$c" net-destroy "$net" >/dev/null 2>&1 || true
    in_client virsh -c "$c" net-undefine "$net" >/dev/null 2>&1 || true
  done
}

host_down() {
  local h=$1 n dir
  n=$(ns "$h") dir="$POOL_RUN/$h"
  end_daemon "$dir/libvirtd.pid" libvirtd
  end_daemon "$dir/virtlogd.pid" virtlogd
  if has_ns "$n"; then
    # Whatever still runs in this namespace was started by its daemons (a guest whose
    # libvirtd could not take it back): end it by pid.
    for pid in $(ip netns pids "$n"); do
      say "ending pid $pid left in namespace $n ($(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null | cut -c1-60))"
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    ip netns del "$n"
  fi
  # The cgroups libvirt made for this host's guests outlive a guest whose libvirtd was
  # killed (or that died with it, mid-restore). Each guest it ever started has a log named
  # after it; remove its empty groups, deepest first (libvirt nests emulator and vcpu
  # groups). rmdir never removes a group that still holds a process.
  for log in "$dir"/log/qemu/*.log; do
    [ -f "$log" ] || continue
    name=$(basename "$log" .log)
    for g in /sys/fs/cgroup/*/machine/qemu-*-"$name".libvirt-qemu /sys/fs/cgroup/machine/qemu-*-"$name".libvirt-qemu; do
      [ -d "$g" ] || continue
      find "$g" -depth -type d -exec rmdir {} + 2>/dev/null || say "cgroup $g is still in use; kept"
    done
  done
  rm -rf "$dir"
}

hosts_yaml() {
  cat <<EOF
# The two-host test pool of scripts/two-hosts.sh; clients run in namespace $(ns a).
hosts:
EOF
  for h in "${HOSTS[@]}"; do
    printf '  - name: %s\n    uri: %s\n    reserve-memory: %s\n    max-guests: %s\n    storage: pool\n' \
      "pool-$h" "$(uri "$h")" "${VMLAB_POOL_RESERVE:-1GiB}" "${VMLAB_POOL_MAX_GUESTS:-8}"
  done
}

case "${1:-}" in
  up)
    network_up
    for h in "${HOSTS[@]}"; do daemons_up "$h" || exit 1; done
    hosts_yaml
    ;;
  down)
    for h in "${HOSTS[@]}"; do host_guests_down "$h"; done
    for h in "${HOSTS[@]}"; do host_down "$h"; done
    rmdir "$POOL_RUN" 2>/dev/null || true
    say "down: no namespace, daemon or folder of the pool left"
    ;;
  status)
    for h in "${HOSTS[@]}"; do
      dir="$POOL_RUN/$h"
      printf '%s %s %s libvirtd=%s virtlogd=%s\n' "$h" "$(ns "$h")" "$(uri "$h")" \
        "$(daemon_pid "$dir/libvirtd.pid" libvirtd)" "$(daemon_pid "$dir/virtlogd.pid" virtlogd)"
    done
    ;;
  stop)
    h=${2:-}
    [ -n "$h" ] && [ -n "${ADDRESS[$h]:-}" ] || die "usage: two-hosts.sh stop a|b"
    pid=$(daemon_pid "$POOL_RUN/$h/libvirtd.pid" libvirtd)
    [ -n "$pid" ] || die "host $h has no libvirtd running"
    kill -KILL "$pid"
    say "host $h lost: killed its libvirtd (pid $pid); its guests keep running until \`down\`"
    ;;
  exec)
    shift
    [ $# -gt 0 ] || die "usage: two-hosts.sh exec CMD..."
    exec ip netns exec "$(ns a)" "$@"
    ;;
  *)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
