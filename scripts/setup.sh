#!/usr/bin/env bash
# Prepares a Debian 12 host for vmlab, idempotently:
#   1. installs the Debian packages vmlab needs (only those missing),
#   2. creates the network namespace `vmlab` (lab traffic never leaves it),
#   3. starts virtlogd and libvirtd inside that namespace unless ours already run.
# No systemd is assumed. Pid files live in $VMLAB_RUN (default /run/vmlab);
# scripts/stop.sh ends exactly those pids.
set -euo pipefail

NETNS=${VMLAB_NETNS:-vmlab}
RUN_DIR=${VMLAB_RUN:-/run/vmlab}
PACKAGES=(
  qemu-system-x86 qemu-utils libvirt-daemon-system libvirt-daemon-driver-qemu
  libvirt-clients libvirt-dev libguestfs-dev libguestfs-tools linux-image-amd64
  supermin qemu-guest-agent swtpm busybox-static dnsmasq-base nftables iproute2
  libsqlite3-dev cpio pkg-config bc make libreoffice-calc
)
# Guest-side tools the image recipes pull from the host's archive (supermin copies installed packages).
GUEST_PACKAGES=(
  dash bash coreutils mount kmod util-linux e2fsprogs stress-ng procps grep sed busybox-static
  findutils mawk netcat-openbsd nmap hping3 iputils-ping sqlite3
  gcc gcc-12 make libc6-dev
)

say() { printf 'setup: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: must run as root (it installs packages and starts libvirtd)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}" "${GUEST_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# The kbuild image builds students' modules against the guest kernel (the newest in /boot,
# which linux-image-amd64 installed): its headers must be on the host for supermin to copy.
guest_kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -n 1)
if [ -n "$guest_kernel" ] && ! dpkg-query -W -f='${Status}' "linux-headers-$guest_kernel" 2>/dev/null | grep -q 'install ok installed'; then
  say "installing linux-headers-$guest_kernel (the guest kernel's headers, for the kbuild image)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "linux-headers-$guest_kernel" >&2 \
    || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "linux-headers-$guest_kernel" >&2; }
fi

# A second kernel for the integration test of `boot:` (a VM booting a kernel from the
# student's workspace): Debian's cloud flavour of the guest kernel, fetched with
# `apt-get download` and unpacked into a cache folder, never installed (nothing lands in
# /boot), plus a supermin initrd of its own modules: virtio (the root disk) and
# virtio_console (the agent's channel) are modules there, and the image's initrd carries
# the image kernel's, which the cloud kernel cannot load.
CACHE_DIR=${VMLAB_CACHE:-/var/cache/vmlab}
if [ -n "$guest_kernel" ]; then
  cloud_release=${guest_kernel%-amd64}-cloud-amd64
  cloud_dir=$CACHE_DIR/cloud-kernel/$cloud_release
  if [ ! -s "$cloud_dir/vmlinuz" ] || [ ! -s "$cloud_dir/initrd" ]; then
    say "fetching linux-image-$cloud_release into $cloud_dir (a second guest kernel for the tests; not installed)"
    work=$(mktemp -d)
    chmod 755 "$work"   # apt-get download writes as _apt
    (cd "$work" && apt-get download -q "linux-image-$cloud_release" >&2) \
      || { apt-get update -q >&2 && (cd "$work" && apt-get download -q "linux-image-$cloud_release" >&2); }
    dpkg-deb -x "$work"/linux-image-*.deb "$work/x"
    depmod -b "$work/x" "$cloud_release"
    supermin --prepare -o "$work/prep" kmod >&2
    SUPERMIN_KERNEL="$work/x/boot/vmlinuz-$cloud_release" SUPERMIN_KERNEL_VERSION="$cloud_release" \
      SUPERMIN_MODULES="$work/x/lib/modules/$cloud_release" \
      supermin --build --format ext2 --size 512M -o "$work/out" "$work/prep" >&2
    mkdir -p "$cloud_dir"
    cp "$work/x/boot/vmlinuz-$cloud_release" "$cloud_dir/vmlinuz.tmp"
    cp "$work/out/initrd" "$cloud_dir/initrd.tmp"
    mv "$cloud_dir/vmlinuz.tmp" "$cloud_dir/vmlinuz"
    mv "$cloud_dir/initrd.tmp" "$cloud_dir/initrd"
    rm -rf "$work"
  fi
fi

# libvirt's `default` network NATs to the uplink: never let it autostart.
rm -f /etc/libvirt/qemu/networks/autostart/default.xml
# libvirt keeps per-network state of networks with a host address (outside and nat lab
# networks) here, even with dnsmasq off; the Debian package leaves it out when the
# default network is not set up.
mkdir -p /var/lib/libvirt/dnsmasq

if ! ip netns list | grep -qw "$NETNS"; then
  say "creating network namespace $NETNS"
  ip netns add "$NETNS"
fi
ip -n "$NETNS" link set lo up

mkdir -p "$RUN_DIR"
. "$(dirname "$0")/daemon-pid.sh"
alive() { [ -n "$(daemon_pid "$1" "$2")" ]; }

if alive "$RUN_DIR/libvirtd.pid" libvirtd && alive "$RUN_DIR/virtlogd.pid" virtlogd; then
  say "libvirtd already running in namespace $NETNS (pid $(cat "$RUN_DIR/libvirtd.pid"))"
  exit 0
fi
if [ -S /run/libvirt/libvirt-sock ] && virsh -c qemu:///system version >/dev/null 2>&1; then
  echo "setup: a libvirtd not started by vmlab is already serving qemu:///system;" \
       "stop it (it is not inside the $NETNS namespace) and run this again" >&2
  exit 1
fi

# A pid file naming a dead or unrelated process is stale: never trust it.
for d in libvirtd virtlogd; do alive "$RUN_DIR/$d.pid" "$d" || rm -f "$RUN_DIR/$d.pid"; done
if alive "$RUN_DIR/virtlogd.pid" virtlogd || alive "$RUN_DIR/libvirtd.pid" libvirtd; then
  echo "setup: only one of virtlogd and libvirtd runs; run scripts/stop.sh, then this again" >&2
  exit 1
fi

say "starting virtlogd and libvirtd in namespace $NETNS"
# `ip netns exec` gives a fresh /sys without cgroups: mount them again so that
# libvirtd can apply CPU and memory tuning (see docs/platform notes).
ip netns exec "$NETNS" sh -c '
  set -e
  if ! mountpoint -q /sys/fs/cgroup/cpu 2>/dev/null; then
    mount -t tmpfs cgroup_root /sys/fs/cgroup
    for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
      mkdir -p /sys/fs/cgroup/$c
      mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c 2>/dev/null || rmdir /sys/fs/cgroup/$c
    done
    mkdir -p /sys/fs/cgroup/unified
    mount -t cgroup2 none /sys/fs/cgroup/unified 2>/dev/null || true
  fi
  virtlogd -d -p "$1/virtlogd.pid"
  exec libvirtd -d -p "$1/libvirtd.pid"
' sh "$RUN_DIR" </dev/null >>"$RUN_DIR/daemons.log" 2>&1
# (The daemons get their own log: holding our stdout open would keep any caller that
# reads setup's output, a test or `make test | tee`, waiting forever.)

for _ in $(seq 1 100); do
  if virsh -c qemu:///system version >/dev/null 2>&1; then
    say "libvirtd ready (pid $(cat "$RUN_DIR/libvirtd.pid"))"
    exit 0
  fi
  sleep 0.1
done
echo "setup: libvirtd did not answer on qemu:///system within 10 s; see /var/log/libvirt/libvirtd.log" >&2
exit 1
