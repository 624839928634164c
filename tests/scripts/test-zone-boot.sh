#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Zones at boot: hvisor-zone (start/stop NAME, start-enabled), the init.d
# script starting the zones of zones.enabled, and hvisor-zone@.service,
# on hvisor-sim. Output: TAP.
# Arguments: hvisord hvisor-sim hvctl hvisor-virtiod hvisor-zone init.d-script
#            hvisor-zone@.service hvisord.service hvisord.socket
set -u
. "$(dirname "$0")/tap.sh"
HVISORD=$(abs "$1") SIM=$(abs "$2") HVCTL=$(abs "$3") VIRTIOD=$(abs "$4")
ZONE=$(abs "$5") INITD=$(abs "$6") ZONE_UNIT=$(abs "$7") SERVICE=$(abs "$8") SOCKET_UNIT=$(abs "$9")

T=$(mktemp -d)
# meson's configure_file() keeps no mode: an executable copy
cp "$ZONE" "$T/hvisor-zone" && chmod +x "$T/hvisor-zone" && ZONE=$T/hvisor-zone
SIM_PID=
cleanup() {
	[ -f "$T/hvisord.pid" ] && kill "$(cat "$T/hvisord.pid")" 2>/dev/null
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

echo "1..12"

# hvisor-zone@.service: verified with the paths of this build
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir "$T/units"
	sed "s|^ExecStart=[^ ]*|ExecStart=$HVISORD|" "$SERVICE" >"$T/units/hvisord.service"
	cp "$SOCKET_UNIT" "$T/units/hvisord.socket"
	sed -e "s|^\(Exec[A-Za-z]*=\)[^ ]*|\1$ZONE|" -e "s|^ConditionPathExists=.*|ConditionPathExists=$T|" \
		"$ZONE_UNIT" >"$T/units/hvisor-zone@.service"
	if systemd-analyze verify --man=no "$T/units/hvisor-zone@linux1.service" >"$T/out" 2>&1 &&
		[ ! -s "$T/out" ]; then
		ok "hvisor-zone@.service verifies cleanly"
	else
		not_ok "hvisor-zone@.service verifies cleanly"
		sed 's/^/# /' "$T/out"
	fi
else
	skip "hvisor-zone@.service verifies cleanly" "no systemd-analyze"
fi

# Zone configs: conf/examples/sim's zone1 as "linux1" (with a console), and
# "broken", whose CPU does not exist.
SRC=$(dirname "$0")/../../conf/examples/sim
mkdir "$T/zones"
head -c 4096 /dev/zero >"$T/zones/zone1-kernel.bin"
head -c 4096 /dev/zero >"$T/zones/zone1.dtb"
cp "$SRC/zone1.json" "$T/zones/linux1.json"
sed 's/"cpus": \[2\]/"cpus": [63]/; s/"zone_id": 1/"zone_id": 2/' "$SRC/zone1.json" >"$T/zones/broken.json"
console() { # zone id, addr
	printf '{"zones": [{"id": %s, "memory_region": [{"zone0_ipa": "0x50000000", "zonex_ipa": "0x50000000", "size": "0x10000000"}], "devices": [{"type": "console", "addr": "%s", "len": "0x200", "irq": 76, "status": "enable"}]}]}\n' "$1" "$2"
}
console 1 0xa003800 >"$T/zones/linux1.virtio.json"
console 2 0xa003800 >"$T/zones/broken.virtio.json"
printf '# comment\n\nlinux1\n' >"$T/zones.enabled"

if ! command -v start-stop-daemon >/dev/null 2>&1; then
	for t in 2 3 4 5 6 7 8 9 10 11 12; do skip "zones at boot $t" "no start-stop-daemon"; done
	exit 0
fi

sim_start

export DEFAULTS=/nonexistent DAEMON="$HVISORD" PIDFILE="$T/hvisord.pid" RUNTIME_DIR="$T/run"
export HVISORD_BACKEND="sim:$T/sim.sock" HVISORD_OPTS="--virtiod $VIRTIOD"
export ZONE_HELPER="$ZONE" HVCTL HVISOR_ZONES_DIR="$T/zones" HVISOR_ZONES_ENABLED="$T/zones.enabled"
export HVISOR_SOCKET="$T/run/hvisord.sock"
running() { "$HVCTL" zone list | grep -Eq "^ *$1 .*running"; }
devices() { "$HVCTL" virtio list "$1" | tail -n +2 | grep -c .; }

check "init.d start: hvisord up and zones.enabled's zones started" sh "$INITD" start
check "hvctl version reaches it" "$HVCTL" version
check "linux1 (in zones.enabled) is running" running 1
if [ "$(devices 1)" = 1 ]; then ok "linux1's console was added"; else not_ok "linux1's console was added"; fi
check "hvisor-zone stop linux1 shuts it down" "$ZONE" stop linux1
if running 1 || [ "$(devices 1)" != 0 ]; then
	not_ok "linux1 and its device are gone"
	{ "$HVCTL" zone list; "$HVCTL" virtio list; } 2>&1 | sed 's/^/# /'
else
	ok "linux1 and its device are gone"
fi
if "$ZONE" start broken >"$T/out" 2>&1; then
	not_ok "a zone that cannot start fails"
else
	ok "a zone that cannot start fails"
fi
if [ "$(devices 2)" = 0 ]; then ok "... and leaves no device behind"; else not_ok "... and leaves no device behind"; fi
pid=$(cat "$T/hvisord.pid")
# names come from zones.enabled and unit instances: no path escapes
if "$ZONE" start ../linux1 >"$T/out" 2>&1; then
	not_ok "hvisor-zone refuses a name that is a path"
elif [ $? -eq 2 ] && grep -q "not a zone name" "$T/out"; then
	ok "hvisor-zone refuses a name that is a path"
else
	not_ok "hvisor-zone refuses a name that is a path"
	sed 's/^/# /' "$T/out"
fi
check "init.d stop" sh "$INITD" stop
# the init script waits for hvisord's exit (start-stop-daemon --retry)
# gone or a zombie: it exited (its parent here is whoever reaps orphans)
alive() { case $(ps -o stat= -p "$1" 2>/dev/null) in '' | Z*) return 1 ;; esac; }
if [ -z "$pid" ] || alive "$pid"; then
	not_ok "no hvisord left ($pid)"
	sed 's/^/# /' "$T/out"; ps -o pid,stat,args -p "$pid" | sed 's/^/# /'
else
	ok "no hvisord left"
fi
exit $failed
