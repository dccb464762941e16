#!/bin/sh
# io.sh MODE SIZE_MIB: the cache-modes workload on /mnt/MODE (the disk whose host cache
# mode is MODE). Prints key=value lines: MiB/s of a buffered write ending in fsync, of a
# direct (O_DIRECT) write, of a cold buffered read; ms per 4 KiB O_DSYNC write; the guest's
# page cache (MiB) right after the buffered write.
set -eu
dir=/mnt/$1
mib=$2
now() { read -r up _ < /proc/uptime; echo "$up"; }
rate() { awk -v m="$1" -v a="$2" -v b="$3" 'BEGIN { d = b - a; if (d < 0.01) d = 0.01; printf "%.1f\n", m / d }'; }
cached() { awk '/^Cached:/ { printf "%.1f\n", $2 / 1024 }' /proc/meminfo; }

rm -f "$dir/buffered" "$dir/direct" "$dir/sync"
sync
echo 3 > /proc/sys/vm/drop_caches
base=$(cached)

a=$(now); dd if=/dev/zero of="$dir/buffered" bs=1M count="$mib" conv=fsync status=none; b=$(now)
echo "buffered_mibs=$(rate "$mib" "$a" "$b")"
echo "guest_cache_mib=$(awk -v c="$(cached)" -v b="$base" 'BEGIN { printf "%.1f\n", c - b }')"

a=$(now); dd if=/dev/zero of="$dir/direct" bs=1M count="$mib" oflag=direct status=none; b=$(now)
echo "direct_mibs=$(rate "$mib" "$a" "$b")"

n=40
a=$(now); dd if=/dev/zero of="$dir/sync" bs=4k count=$n oflag=dsync status=none; b=$(now)
echo "dsync_ms=$(awk -v a="$a" -v b="$b" -v n=$n 'BEGIN { printf "%.2f\n", (b - a) * 1000 / n }')"

sync
echo 3 > /proc/sys/vm/drop_caches
a=$(now); dd if="$dir/buffered" of=/dev/null bs=1M status=none; b=$(now)
echo "read_mibs=$(rate "$mib" "$a" "$b")"
