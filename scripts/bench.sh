#!/usr/bin/env bash
# Boot and provisioning benchmark. Prints medians over RUNS runs, measured in this run:
#   (a) floor: raw QEMU boots the image's own kernel with a busybox-only initramfs (built
#       here from the host's static busybox) whose /init mounts proc and devtmpfs and
#       prints a marker on ttyS0; same machine type, accelerator, memory, devices and
#       kernel arguments as a vmlab guest. Timed from the QEMU process start to the marker.
#   (b) `vmlab vm create` (overlay + define + start) until the guest agent answers
#   (c) `vmlab snapshot revert` to a running snapshot until the agent answers
#   (d) provisioning alone: `vmlab vm create --no-start` (overlay + define)
# Targets (issues 3 and 15): b <= 1.25 a, c <= 0.25 b, d <= 0.2 s.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
vmlab=${VMLAB:-.build/debug/vmlab}
export VMLAB_HOME=${VMLAB_HOME:-$(mktemp -d /tmp/vmlab-bench.XXXXXX)}
accel=$("$vmlab" doctor --quick --format json 2>/dev/null | python3 -c 'import json,sys; print([c["detail"].split(":")[0] for c in json.load(sys.stdin) if c["name"]=="accelerator"][0])' || echo tcg)
work=$(mktemp -d /tmp/vmlab-bench-work.XXXXXX)
qemu_pid=
cleanup() {
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null || true
  for vm in bench-r bench-args $(seq -f 'bench-%g' 1 "$RUNS") $(seq -f 'bench-d%g' 1 "$RUNS"); do
    "$vmlab" vm rm "$vm" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

"$vmlab" image build base >/dev/null
image_dir=$("$vmlab" image list --format json | python3 -c 'import json,sys; m=json.load(sys.stdin)[0]; print(m["digest"])')
image_dir="$VMLAB_HOME/images/$image_dir"
echo "accelerator: $accel; image: $image_dir; runs: $RUNS" >&2

# The kernel arguments a vmlab guest gets, from the domain vmlab defines (minus its root disk).
"$vmlab" vm create bench-args --memory 512 --no-start >/dev/null 2>&1
domain=$("$vmlab" vm list --format json | python3 -c 'import json,sys; print([g["domain"] for g in json.load(sys.stdin) if g["name"]=="bench-args"][0])')
args=$(virsh -q dumpxml "$domain" | sed -n 's|.*<cmdline>\(.*\)</cmdline>.*|\1|p' | sed 's|root=/dev/vda rw ||')
"$vmlab" vm rm bench-args >/dev/null

# (a) floor: a busybox-only initramfs, uncompressed (nothing to inflate before /init).
mkdir -p "$work/initramfs/bin" "$work/initramfs/dev" "$work/initramfs/proc"
cp /bin/busybox "$work/initramfs/bin/busybox"
mknod "$work/initramfs/dev/console" c 5 1
printf '%s\n' '#!/bin/busybox sh' '/bin/busybox mount -t proc proc /proc' \
  '/bin/busybox mount -t devtmpfs devtmpfs /dev' '/bin/busybox echo VMLAB-FLOOR > /dev/ttyS0' \
  'exec /bin/busybox sleep 600' > "$work/initramfs/init"
chmod 755 "$work/initramfs/init"
(cd "$work/initramfs" && find . | cpio -o -H newc --quiet) > "$work/floor.cpio"
machine_accel=$([ "$accel" = kvm ] && echo kvm || echo tcg)
echo "floor kernel arguments: $args rdinit=/init" >&2
# (a) and (b) alternate, so that both see the same load on a shared host; the ratio of the
# medians is the figure. (d) follows each pair.
for i in $(seq 1 "$RUNS"); do
  qemu-img create -q -f qcow2 -b "$image_dir/disk.qcow2" -F qcow2 "$work/floor.qcow2"
  : > "$work/serial.log"
  start=$(now)
  qemu-system-x86_64 -machine "pc,accel=$machine_accel" -m 512 -smp 1 -nodefaults -no-user-config -nographic \
    -serial "file:$work/serial.log" -monitor none -no-reboot \
    -kernel "$image_dir/kernel" -initrd "$work/floor.cpio" -append "$args rdinit=/init" \
    -drive "file=$work/floor.qcow2,if=virtio,format=qcow2" \
    -device virtio-serial -chardev "socket,id=ga,path=$work/ga.sock,server=on,wait=off" \
    -device virtserialport,chardev=ga,name=org.qemu.guest_agent.0 \
    -device virtio-balloon -object rng-random,id=rng,filename=/dev/urandom -device virtio-rng-pci,rng=rng \
    -device pvpanic &
  qemu_pid=$!
  until grep -q VMLAB-FLOOR "$work/serial.log" 2>/dev/null; do sleep 0.02; done
  echo "$(now) - $start" | bc >> "$work/a"
  kill "$qemu_pid"; wait "$qemu_pid" 2>/dev/null || true; qemu_pid=
  rm -f "$work/floor.qcow2"

  start=$(now); "$vmlab" vm create "bench-$i" --memory 512 >/dev/null 2>&1; echo "$(now) - $start" | bc >> "$work/b"
  "$vmlab" vm rm "bench-$i" >/dev/null
  start=$(now); "$vmlab" vm create "bench-d$i" --memory 512 --no-start >/dev/null 2>&1; echo "$(now) - $start" | bc >> "$work/d"
  "$vmlab" vm rm "bench-d$i" >/dev/null
  echo "run $i: floor $(tail -n 1 "$work/a") s, vm create $(tail -n 1 "$work/b") s" >&2
done

# (c) revert to a running snapshot -> agent
"$vmlab" vm create bench-r --memory 512 >/dev/null 2>&1
"$vmlab" snapshot create bench-r baseline >/dev/null
for i in $(seq 1 "$RUNS"); do
  "$vmlab" exec bench-r -- sh -c "echo $i > /root/dirty" >/dev/null
  start=$(now); "$vmlab" snapshot revert bench-r baseline >/dev/null; echo "$(now) - $start" | bc >> "$work/c"
done

a=$(median < "$work/a"); b=$(median < "$work/b"); c=$(median < "$work/c"); d=$(median < "$work/d")
printf '%-44s %8s  %s\n' "measure (median of $RUNS, seconds)" "value" "ratio / target"
printf '%-44s %8.3f\n' "(a) floor: same kernel, busybox /init marker" "$a"
printf '%-44s %8.3f  b/a = %.2f (target <= 1.25)\n' "(b) vmlab vm create -> agent answering" "$b" "$(echo "$b / $a" | bc -l)"
printf '%-44s %8.3f  c/b = %.2f (target <= 0.25)\n' "(c) snapshot revert -> agent answering" "$c" "$(echo "$c / $b" | bc -l)"
printf '%-44s %8.3f  (target <= 0.2 s)\n' "(d) provisioning: overlay + define" "$d"
