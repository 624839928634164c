#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The demo: hvisor-sim stands in for the hypervisor, hvisord serves it, and
# hvctl starts, lists, inspects and shuts down a zone from conf/examples.
# Everything lives in a temporary directory that is removed at the end.
set -eu
BUILD=${1:-build}
cd "$(dirname "$0")/.."
SRC=$(pwd)
BIN="$SRC/$BUILD"
T=$(mktemp -d /tmp/hvisor-demo.XXXXXX)
SIM_PID= D_PID= EV_PID=

cleanup() {
	[ -n "$EV_PID" ] && kill "$EV_PID" 2>/dev/null || true
	[ -n "$D_PID" ] && kill "$D_PID" 2>/dev/null && wait "$D_PID" 2>/dev/null || true
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null || true
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

step "Preparing a zone: conf/examples/sim/zone1.json with an 8 MiB kernel and a DTB"
cp "$SRC/conf/examples/sim/zone1.json" "$T/"
head -c 8388608 /dev/urandom >"$T/zone1-kernel.bin"
head -c 4096 /dev/urandom >"$T/zone1.dtb"
ls -l "$T"

step "Starting hvisor-sim (the hypervisor + /dev/hvisor stand-in: aarch64, 4 CPUs, root zone on CPUs 0-1)"
"$BIN/sim/hvisor-sim" --socket "$T/sim.sock" --arch aarch64 --cpus 4 2>"$T/sim.log" &
SIM_PID=$!
wait_for "$T/sim.sock" hvisor-sim
echo "hvisor-sim pid $SIM_PID"

step "Starting hvisord on the sim"
"$BIN/hvisord/hvisord" --backend "sim:$T/sim.sock" --runtime-dir "$T/run" 2>"$T/hvisord.log" &
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

step "Shut zone 1 down"
run hvctl zone shutdown 1
run hvctl zone list

step "What 'hvctl events' saw meanwhile"
sleep 0.2
cat "$T/events.txt"

step "hvisord's log"
cat "$T/hvisord.log"
printf '\nDemo finished.\n'
