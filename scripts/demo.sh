#!/usr/bin/env bash
# The main job on the embedded defaults: build the base image, start a guest, run a
# command in it, snapshot, change it, revert, and tear it all down, saying what happens.
set -euo pipefail
cd "$(dirname "$0")/.."
vmlab=${VMLAB:-.build/debug/vmlab}
name=demo
step() { printf '\n== %s\n' "$*"; }

cleanup() { "$vmlab" vm rm "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
"$vmlab" vm rm "$name" >/dev/null 2>&1 || true

step "host check"
"$vmlab" doctor --quick || true
step "build the base image (a cache hit after the first time)"
"$vmlab" image build base
step "create and boot a guest"
"$vmlab" vm create "$name" --memory 512
step "run commands in it through the guest agent"
"$vmlab" exec "$name" -- uname -sr
"$vmlab" exec "$name" -- sh -c 'grep MemTotal /proc/meminfo; nproc'
step "snapshot 'baseline', then write a marker"
"$vmlab" snapshot create "$name" baseline
"$vmlab" exec "$name" -- sh -c 'echo "written after the snapshot" > /root/marker; cat /root/marker'
step "revert to 'baseline': the marker is gone"
time "$vmlab" snapshot revert "$name" baseline
if "$vmlab" exec "$name" -- test -e /root/marker; then echo "marker still there: revert failed" >&2; exit 1; fi
echo "marker gone"
"$vmlab" vm list
step "tear down"
"$vmlab" vm rm "$name"
trap - EXIT
echo "done: nothing left behind ($(virsh -c "${LIBVIRT_DEFAULT_URI:-qemu:///system}" list --all --name | grep -c vmlab- || true) vmlab domains)"
