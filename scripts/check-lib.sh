# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=sh disable=SC2034
# Sourced (POSIX sh; also by bash, and by busybox sh inside the static
# build's test root) by scripts/deb-check.sh and scripts/cross-check.sh:
# running the programs on hvisor-sim. Names starting with _ are scratch.

# bg_until LOG PATTERN CMD...: runs CMD in the background, its stderr going
# to LOG, and returns once it printed a line containing PATTERN, or closed
# its stderr (it died). Sets BG_PID.
bg_until() {
	_log=$1 _pat=$2
	shift 2
	rm -f "$_log.fifo"
	mkfifo "$_log.fifo"
	"$@" 2>"$_log.fifo" &
	BG_PID=$!
	exec 3<"$_log.fifo"
	: >"$_log"
	while IFS= read -r _line <&3; do
		printf '%s\n' "$_line" >>"$_log"
		case $_line in *"$_pat"*) break ;; esac
	done
	cat <&3 >>"$_log" &
	exec 3<&-
	rm -f "$_log.fifo"
}

# stop_pid PID...: SIGTERM, SIGKILL if one still runs 10 s later; reaped
# (they are our children)
stop_pid() {
	for _p in "$@"; do
		kill "$_p" 2>/dev/null || continue
		_i=0
		while kill -0 "$_p" 2>/dev/null && [ "$(ps -o stat= -p "$_p" 2>/dev/null)" != Z ]; do
			_i=$((_i + 1))
			if [ $_i -gt 100 ]; then
				kill -9 "$_p" 2>/dev/null
				break
			fi
			sleep 0.1
		done
		wait "$_p" 2>/dev/null || true
	done
	return 0
}

# make_zone DIR NAME DEVICES: DIR/NAME.json, conf/examples/sim's zone1
# (zone 1, for hvisor-sim's default arch) with dummy images, and
# DIR/NAME.virtio.json with DEVICES, a comma-separated list of blk,
# console, net (tap hvchk0). Needs $ROOT, the source tree.
make_zone() {
	_dir=$1 _name=$2 _devs=""
	sed -e "s/\"zone1-kernel.bin\"/\"$_name-kernel.bin\"/" -e "s/\"zone1.dtb\"/\"$_name.dtb\"/" \
		-e "s/\"name\": \"zone1\"/\"name\": \"$_name\"/" \
		"$ROOT/conf/examples/sim/zone1.json" >"$_dir/$_name.json"
	head -c 4096 /dev/zero >"$_dir/$_name-kernel.bin"
	head -c 4096 /dev/zero >"$_dir/$_name.dtb"
	for _d in $(echo "$3" | tr ',' ' '); do
		case $_d in
		blk)
			truncate -s 1M "$_dir/$_name-disk.img"
			_d="\"type\": \"blk\", \"addr\": \"0xa003c00\", \"irq\": 78, \"img\": \"$_name-disk.img\""
			;;
		console) _d='"type": "console", "addr": "0xa003800", "irq": 76' ;;
		net) _d='"type": "net", "addr": "0xa003600", "irq": 77, "tap": "hvchk0", "mac": ["0x02", "0x00", "0x00", "0x00", "0x00", "0x01"]' ;;
		*) echo "make_zone: unknown device '$_d'" >&2; return 1 ;;
		esac
		_devs="$_devs${_devs:+, }{$_d, \"len\": \"0x200\", \"status\": \"enable\"}"
	done
	printf '{"zones": [{"id": 1, "memory_region": [{"zone0_ipa": "0x50000000", "zonex_ipa": "0x50000000", "size": "0x10000000"}], "devices": [%s]}]}\n' \
		"$_devs" >"$_dir/$_name.virtio.json"
}

# zone_running [HVCTL OPTIONS...]: zone 1 is listed as running. $HVCTL is
# the hvctl to use (default: hvctl on PATH).
zone_running() {
	"${HVCTL:-hvctl}" "$@" zone list 2>/dev/null | grep -Eq '^ *1 .*running'
}

# pids_of EXE [COMM]: the live processes running EXE (zombies have no
# exe), named COMM if given (hvisord's descriptor keeper is a fork of
# hvisord named hvisor-fdstore)
pids_of() {
	for _p in /proc/[0-9]*; do
		[ "$(readlink "$_p/exe" 2>/dev/null)" = "$1" ] || continue
		[ -z "${2:-}" ] || [ "$(cat "$_p/comm" 2>/dev/null)" = "$2" ] || continue
		echo "${_p#/proc/}"
	done
	return 0
}

# initd_steps LOG SCRIPT RUNNER...: the verbs of an init script (run as
# RUNNER... SCRIPT VERB) for the installed hvisord (/usr/sbin, pidfile
# /run/hvisord.pid, /run/hvisor), configured for hvisor-sim with zone 1 (a
# console) in zones.enabled: start, status, hvctl version, the zone runs
# with its hvisor-virtiod; restart: a new hvisord, no error from hvctl,
# the zone runs with the same hvisor-virtiod (taken over); stop, status 3,
# no hvisord left, the hvisor-virtiod outlives it (as designed). Prints
# what failed. Run it where every process ends afterwards (a pid
# namespace): the backend and the descriptor keeper stay by design.
initd_steps() {
	_log=$1 _initd=$2 HVCTL=/usr/bin/hvctl
	shift 2
	"$@" "$_initd" start >>"$_log" 2>&1 || { echo "start failed"; return 1; }
	"$@" "$_initd" status >>"$_log" 2>&1 || { echo "status after start: not 0"; return 1; }
	/usr/bin/hvctl version >>"$_log" 2>&1 || { echo "hvctl version failed"; return 1; }
	zone_running --socket /run/hvisor/hvisord.sock || { echo "the zone of zones.enabled does not run"; return 1; }
	_vd=$(pids_of /usr/libexec/hvisor-virtiod)
	[ -n "$_vd" ] || { echo "no hvisor-virtiod for the zone's console"; return 1; }
	_pid1=$(cat /run/hvisord.pid 2>/dev/null)
	_rc=0
	"$@" "$_initd" restart >"$_log.restart" 2>&1 || _rc=$?
	cat "$_log.restart" >>"$_log"
	[ "$_rc" -eq 0 ] || { echo "restart failed"; return 1; }
	# OpenRC's restart succeeds whatever its start_post says
	_err=$(grep -E '^(hvctl|hvisor-zone):' "$_log.restart" | head -n 1)
	[ -z "$_err" ] || { echo "restart said: $_err"; return 1; }
	_pid2=$(cat /run/hvisord.pid 2>/dev/null)
	if [ -z "$_pid2" ] || [ "$_pid1" = "$_pid2" ]; then
		echo "restart: no new pid ($_pid1 -> $_pid2)"
		return 1
	fi
	/usr/bin/hvctl version >>"$_log" 2>&1 || { echo "hvctl version after restart failed"; return 1; }
	zone_running --socket /run/hvisor/hvisord.sock || { echo "the zone does not run after restart"; return 1; }
	[ "$(pids_of /usr/libexec/hvisor-virtiod)" = "$_vd" ] ||
		{ echo "restart: hvisor-virtiod $_vd not kept ($(pids_of /usr/libexec/hvisor-virtiod))"; return 1; }
	"$@" "$_initd" stop >>"$_log" 2>&1 || { echo "stop failed"; return 1; }
	_rc=0
	"$@" "$_initd" status >>"$_log" 2>&1 || _rc=$?
	[ "$_rc" -eq 3 ] || { echo "status after stop: $_rc, expected 3"; return 1; }
	_left=$(pids_of /usr/sbin/hvisord hvisord)
	[ -z "$_left" ] || { echo "hvisord left after stop: $_left"; return 1; }
	[ ! -e /run/hvisor/hvisord.sock ] || { echo "socket left after stop"; return 1; }
	[ "$(pids_of /usr/libexec/hvisor-virtiod)" = "$_vd" ] ||
		{ echo "hvisor-virtiod $_vd did not outlive hvisord"; return 1; }
}
