#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The service files: systemd units verify, the init scripts parse, and the
# SysV/busybox script really starts, reports and stops hvisord (on hvisor-sim).
# Output: TAP.
set -u
. "$(dirname "$0")/tap.sh"
HVISORD=$(abs "$1") SIM=$(abs "$2") HVCTL=$(abs "$3") SERVICE=$(abs "$4")
SOCKET_UNIT=$(abs "$5") INITD=$(abs "$6") OPENRC=$(abs "$7")

T=$(mktemp -d)
SIM_PID=
cleanup() {
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
	[ -f "$T/hvisord.pid" ] && kill "$(cat "$T/hvisord.pid")" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

echo "1..8"

if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir "$T/units"
	sed "s|^ExecStart=[^ ]*|ExecStart=$HVISORD|" "$SERVICE" >"$T/units/hvisord.service"
	cp "$SOCKET_UNIT" "$T/units/hvisord.socket"
	# warnings go to stderr with status 0: any output is a failure
	if systemd-analyze verify --man=no "$T/units/hvisord.service" "$T/units/hvisord.socket" >"$T/out" 2>&1 &&
		[ ! -s "$T/out" ]; then
		ok "systemd units verify cleanly"
	else
		not_ok "systemd units verify cleanly"
		sed 's/^/# /' "$T/out"
	fi
	if grep -q '^Type=notify' "$SERVICE" && grep -q '^ListenStream=/run/hvisor/hvisord.sock' "$SOCKET_UNIT"; then
		ok "unit is Type=notify and the socket is /run/hvisor/hvisord.sock"
	else
		not_ok "unit is Type=notify and the socket is /run/hvisor/hvisord.sock"
	fi
else
	skip "systemd units verify cleanly" "no systemd-analyze"
	skip "unit is Type=notify and the socket is /run/hvisor/hvisord.sock" "no systemd-analyze"
fi

check "init.d script parses" sh -n "$INITD"
check "OpenRC script parses" sh -n "$OPENRC"

if ! command -v start-stop-daemon >/dev/null 2>&1; then
	for t in start status stop "no socket left"; do skip "init.d $t" "no start-stop-daemon"; done
	exit $failed
fi

sim_start

export DEFAULTS=/nonexistent DAEMON="$HVISORD" PIDFILE="$T/hvisord.pid" RUNTIME_DIR="$T/run"
export HVISORD_BACKEND="sim:$T/sim.sock"
check "init.d start brings hvisord up" sh "$INITD" start
check "init.d status says running, hvctl reaches it" sh -c "sh '$INITD' status && '$HVCTL' --socket '$T/run/hvisord.sock' zone list"
check "init.d stop stops it" sh -c "sh '$INITD' stop && ! sh '$INITD' status"
if [ -e "$T/run/hvisord.sock" ]; then not_ok "no socket left after stop"; else ok "no socket left after stop"; fi
exit $failed
