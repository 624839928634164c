#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The demo: hvisor-sim stands in for the hypervisor, hvisord serves it, and
# hvctl starts, lists, inspects and shuts down a zone from conf/examples.
# The zone gets virtio blk, console and (as root, on a tap inside a private
# network namespace) net devices, served by hvisor-virtiod; hvsim-guest plays
# the guest's drivers. Everything lives in a temporary directory and
# namespace that are removed at the end.
set -eu
BUILD=${1:-build}
cd "$(dirname "$0")/.."
SRC=$(pwd)
BIN="$SRC/$BUILD"
T=$(mktemp -d /tmp/hvisor-demo.XXXXXX)
SIM_PID= D_PID= EV_PID= NS=
# net needs a tap: only as root, and only inside a namespace of our own
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1; then
	NS=hvdemo$$
	ip netns add "$NS"
	IN_NS="ip netns exec $NS"
else
	IN_NS=
fi

cleanup() {
	[ -n "$EV_PID" ] && kill "$EV_PID" 2>/dev/null || true
	[ -n "$D_PID" ] && kill "$D_PID" 2>/dev/null && wait "$D_PID" 2>/dev/null || true
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null || true
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

if [ -t 1 ]; then B=$(printf '\033[1m') N=$(printf '\033[0m'); else B= N=; fi
step() {
	printf '\n%s==> %s%s\n' "$B" "$*" "$N"
}
run() {
	printf '$ %s\n' "$*"
	"$@"
}
wait_for() { # socket, what
	i=0
	while [ ! -S "$1" ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "$2 did not come up" >&2; exit 1; }
		sleep 0.05
	done
}

step "Preparing a zone: conf/examples/sim/zone1.json with an 8 MiB kernel, a DTB and a 64 MiB disk"
cp "$SRC/conf/examples/sim/zone1.json" "$T/"
head -c 8388608 /dev/urandom >"$T/zone1-kernel.bin"
head -c 4096 /dev/urandom >"$T/zone1.dtb"
truncate -s 64M "$T/zone1-disk.img"
ls -l "$T"

step "Starting hvisor-sim (the hypervisor + /dev/hvisor stand-in: aarch64, 4 CPUs, root zone on CPUs 0-1)"
$IN_NS "$BIN/sim/hvisor-sim" --socket "$T/sim.sock" --arch aarch64 --cpus 4 2>"$T/sim.log" &
SIM_PID=$!
wait_for "$T/sim.sock" hvisor-sim
echo "hvisor-sim pid $SIM_PID"

step "Starting hvisord on the sim${NS:+ (in network namespace $NS)}"
$IN_NS "$BIN/hvisord/hvisord" --backend "sim:$T/sim.sock" --runtime-dir "$T/run" \
	--virtiod "$BIN/hvisor-virtiod/hvisor-virtiod" 2>"$T/hvisord.log" &
D_PID=$!
wait_for "$T/run/hvisord.sock" hvisord
export HVISOR_SOCKET="$T/run/hvisord.sock"
export PATH="$BIN/hvctl:$PATH"
run hvctl version

"$BIN/hvctl/hvctl" events >"$T/events.txt" 2>&1 &
EV_PID=$!

step "Zones before: only the root zone"
run hvctl zone list

step "Start zone 1"
run hvctl zone start "$T/zone1.json"

step "List (for people, and the upstream 'hvisor zone list' table)"
run hvctl zone list
run hvisor zone list

step "Inspect zone 1"
run hvctl zone info 1

step "A second start of the same config is refused with a named error"
run hvctl zone start "$T/zone1.json" || echo "(exit status $?, as expected)"

GUEST="$BIN/sim/hvsim-guest --sim $T/sim.sock --zone 1"
step "Virtio devices for zone 1: a disk and a console (hvisor-virtiod serves them)"
run hvctl virtio add 1 "blk,addr=0xa003c00,len=0x200,irq=78,img=$T/zone1-disk.img,serial=demo-disk"
run hvctl virtio add 1 console,addr=0xa003800,len=0x200,irq=76
if [ -n "$NS" ]; then
	run hvctl virtio add 1 net,addr=0xa003600,len=0x200,irq=77,tap=hvdemo0,mac=02:00:00:00:00:02
	$IN_NS ip link set hvdemo0 up
	$IN_NS ip addr add 192.0.2.1/24 dev hvdemo0
else
	echo "(not root: skipping virtio-net, which needs a tap)"
fi
run hvctl virtio list

step "The guest's virtio-blk driver writes, flushes and reads back 128 random extents"
run $GUEST --device 0xa003c00 --irq 78 blk-verify --count 128

step "The guest echoes its console; hvctl console talks to it"
$GUEST --device 0xa003800 --irq 76 console-echo --bytes 25 --seconds 10 &
G=$!
printf 'hello from the root zone\n' >"$T/hello"
printf '$ hvctl console 1 < hello\n'
hvctl console 1 <"$T/hello"
wait $G

if [ -n "$NS" ]; then
	step "The guest answers ping on its virtio-net (192.0.2.2, tap hvdemo0 in $NS)"
	$GUEST --device 0xa003600 --irq 77 net-echo --ip 192.0.2.2 --count 3 --seconds 10 &
	G=$!
	run $IN_NS ping -c 3 -i 0.2 -W 2 192.0.2.2
	wait $G
fi

step "Device counters"
run hvctl virtio list

step "Shut zone 1 down"
run hvctl zone shutdown 1
run hvctl zone list

step "What 'hvctl events' saw meanwhile"
sleep 0.2
cat "$T/events.txt"

step "hvisord's log"
cat "$T/hvisord.log"
printf '\nDemo finished.\n'
