# SPDX-License-Identifier: GPL-2.0-only
# Helpers of the in-VM checks, sourced by run-tests.sh and by every check
# (busybox ash; POSIX sh). A check is a function t_NAME in checks/*.sh; it
# runs in a shell of its own with `set -eu`, so any failing command fails
# it. It ends with:
#   return 0 / falling off the end   PASS
#   fail "reason"                    FAIL NAME: reason
#   skip "reason"                    SKIP NAME: reason
# Paths: the programs are in PATH (/usr/sbin/hvisord,
# /usr/libexec/hvisor-virtiod, /usr/bin/hvctl, /usr/bin/hvisor -> hvctl,
# hvisor-sim, hvsim-guest, mkfs.ext4, fsck.ext4, ip, busybox); the
# modules are in /lib/modules/$(uname -r) (modprobe works; hvisor_sim.ko and
# the test hvisor.ko in extra/); this directory is $HVTEST_DIR (/hvtest),
# zone/device configs go in $HVTEST_DIR/configs/; scratch space is /tmp
# (tmpfs) and $HVTEST_RUN. The HVTEST_* variables of env.sh (written by
# run.sh) are in the environment.

HVTEST_RUN=/run/hvtest

# busybox ash runs its applets (ip, mke2fs, ...) whatever PATH says: the
# real programs run.sh shipped under such a name become functions. In a
# `sh -c '...'` string, call them by their full path.
for _t in ${HVTEST_REAL_TOOLS:-}; do
	eval "${_t%%:*}() { ${_t#*:} \"\$@\"; }"
done
HVISORD_RUNDIR=/run/hvisor
HVISORD_LOG=$HVTEST_RUN/hvisord.log

fail() {
	printf '%s\n' "$*" >"${HVTEST_REASON:-/dev/null}"
	echo "fail: $*" >&2
	exit 1
}

skip() {
	printf '%s\n' "$*" >"${HVTEST_REASON:-/dev/null}"
	echo "skip: $*" >&2
	exit 77
}

# wait_for SECONDS WHAT CMD...: runs CMD every 0.1 s until it succeeds;
# after SECONDS the check fails with "timed out ... waiting for WHAT".
# CMD may itself call fail to give up early.
wait_for() {
	_wf_secs=$1 _wf_what=$2
	shift 2
	_wf_n=$((_wf_secs * 10))
	while ! "$@"; do
		_wf_n=$((_wf_n - 1))
		[ "$_wf_n" -gt 0 ] || fail "timed out after ${_wf_secs}s waiting for $_wf_what"
		sleep 0.1
	done
}

# ---------------------------------------------------------------- modules

is_builtin() {
	grep -Eq "/$(echo "$1" | sed 's/[-_]/[-_]/g')\.ko" "/lib/modules/$(uname -r)/modules.builtin"
}

# is_loaded NAME: a loadable module that is loaded (not a built-in one)
is_loaded() {
	[ -f "/sys/module/$(echo "$1" | tr - _)/initstate" ]
}

# load_module NAME [PARAM=VALUE...]: modprobe, unless built in or loaded
load_module() {
	_lm=$1
	shift
	is_builtin "$_lm" && return 0
	is_loaded "$_lm" && return 0
	modprobe "$_lm" "$@" || fail "modprobe $_lm $* failed"
}

# modules_up: every kernel module run.sh put into the initramfs
modules_up() {
	for _m in $HVTEST_MODULES; do
		load_module "$_m"
	done
}

need_sim() {
	[ -n "$HVTEST_SIM_KO" ] || skip "${HVTEST_KMOD_MISSING:-hvisor_sim.ko was not built}"
}

need_hvisor() {
	need_sim
	[ -n "$HVTEST_HVISOR_KO" ] || skip "${HVTEST_KMOD_MISSING:-hvisor.ko (test build) was not built}"
}

# sim_up [PARAM=VALUE...]: hvisor_sim.ko loaded (with these parameters if
# it was not loaded yet), /dev/hvisor_sim there
sim_up() {
	need_sim
	modules_up
	is_loaded hvisor_sim || modprobe hvisor_sim "$@" || fail "modprobe hvisor_sim $* failed"
	wait_for 10 /dev/hvisor_sim test -c /dev/hvisor_sim
}

# hvisor_up: hvisor_sim.ko and the test hvisor.ko loaded, /dev/hvisor there
hvisor_up() {
	need_hvisor
	sim_up
	is_loaded hvisor || modprobe hvisor || fail "modprobe hvisor (test build) failed"
	wait_for 10 /dev/hvisor test -c /dev/hvisor
}

# kmod_down: hvisor.ko and hvisor_sim.ko unloaded (hvisord must be stopped)
kmod_down() {
	if is_loaded hvisor; then rmmod hvisor || fail "rmmod hvisor failed"; fi
	if is_loaded hvisor_sim; then rmmod hvisor_sim || fail "rmmod hvisor_sim failed"; fi
	return 0
}

# sim_stat NAME: a counter of /sys/class/misc/hvisor_sim/stats/
sim_stat() {
	cat "/sys/class/misc/hvisor_sim/stats/$1"
}

# ---------------------------------------------------------------- hvisord

hvisord_running() {
	[ -f "$HVTEST_RUN/hvisord.pid" ] && [ ! -f "$HVTEST_RUN/hvisord.rc" ]
}

_hvisord_ready() {
	[ -S "$HVISORD_RUNDIR/hvisord.sock" ] && [ -s "$HVTEST_RUN/hvisord.pid" ] && return 0
	[ -f "$HVTEST_RUN/hvisord.rc" ] &&
		fail "hvisord exited with $(cat "$HVTEST_RUN/hvisord.rc"): $(tail -n 3 "$HVISORD_LOG")"
	return 1
}

# hvisord_start [ARGS...]: hvisord --backend kmod:/dev/hvisor in the
# background (log $HVISORD_LOG, runtime dir $HVISORD_RUNDIR, so hvctl finds
# it without options), back when its socket is there
hvisord_start() {
	hvisord_running && fail "hvisord is already running"
	[ -c /dev/hvisor ] || fail "/dev/hvisor does not exist"
	mkdir -p "$HVISORD_RUNDIR"
	rm -f "$HVISORD_RUNDIR/hvisord.sock" "$HVTEST_RUN/hvisord.pid" "$HVTEST_RUN/hvisord.rc"
	(
		hvisord --backend kmod:/dev/hvisor --runtime-dir "$HVISORD_RUNDIR" "$@" \
			>>"$HVISORD_LOG" 2>&1 </dev/null &
		echo $! >"$HVTEST_RUN/hvisord.pid"
		wait $! && rc=0 || rc=$?
		echo "$rc" >"$HVTEST_RUN/hvisord.rc.tmp"
		mv "$HVTEST_RUN/hvisord.rc.tmp" "$HVTEST_RUN/hvisord.rc"
	) >/dev/null 2>&1 &
	wait_for 30 "hvisord's socket $HVISORD_RUNDIR/hvisord.sock" _hvisord_ready
}

# hvisord_stop: SIGTERM, then its exit status must be 0
hvisord_stop() {
	hvisord_running || fail "hvisord is not running"
	kill -TERM "$(cat "$HVTEST_RUN/hvisord.pid")"
	wait_for 30 "hvisord to exit" test -f "$HVTEST_RUN/hvisord.rc"
	_rc=$(cat "$HVTEST_RUN/hvisord.rc")
	rm -f "$HVTEST_RUN/hvisord.pid"
	[ "$_rc" = 0 ] || fail "hvisord exited with $_rc: $(tail -n 3 "$HVISORD_LOG")"
}

# ---------------------------------------------------------------- runner

load_checks() {
	for _f in "$HVTEST_DIR"/checks/*.sh; do
		. "$_f"
	done
}

result() {
	echo "$*"
	echo "$*" >>"$HVTEST_RUN/results"
}

# run_check NAME: t_NAME in a shell of its own, at most $timeout_NAME
# seconds (default $HVTEST_CHECK_TIMEOUT); prints its output indented, then
# PASS/FAIL/SKIP
run_check() {
	_rc_name=$1
	_rc_log=$HVTEST_RUN/log/$_rc_name.log
	_rc_limit=$(eval "echo \${timeout_$_rc_name:-$HVTEST_CHECK_TIMEOUT}")
	export HVTEST_REASON=$HVTEST_RUN/log/$_rc_name.reason
	rm -f "$HVTEST_REASON"
	echo "--- $_rc_name"
	_rc_t0=$(date +%s)
	set +e
	timeout "$_rc_limit" sh -c '. "$HVTEST_DIR/lib.sh"; load_checks; set -eu; "t_$1"' \
		hvcheck "$_rc_name" >"$_rc_log" 2>&1 </dev/null
	_rc=$?
	set -e
	_rc_secs=$(($(date +%s) - _rc_t0))
	sed 's/^/    /' "$_rc_log"
	echo "    ($_rc_name: ${_rc_secs}s)"
	if [ "$_rc" = 0 ]; then
		result "PASS $_rc_name"
	elif [ "$_rc" = 77 ]; then
		result "SKIP $_rc_name: $(cat "$HVTEST_REASON" 2>/dev/null || echo "no reason given")"
	elif [ "$_rc" = 143 ] && [ "$_rc_secs" -ge "$_rc_limit" ]; then
		result "FAIL $_rc_name: timed out after ${_rc_limit}s"
	elif [ -s "$HVTEST_REASON" ]; then
		result "FAIL $_rc_name: $(cat "$HVTEST_REASON")"
	else
		result "FAIL $_rc_name: exit status $_rc; last output: $(tail -n 1 "$_rc_log")"
	fi
	# what hvisord and its backends logged meanwhile, for the diagnosis
	# (an if: under set -e a false && list as the last command would end the plan)
	case "$_rc" in 0 | 77) ;; *) if [ -s "$HVISORD_LOG" ]; then tail -n 40 "$HVISORD_LOG" | sed 's/^/    hvisord: /'; fi ;; esac
}

# run_plan NAME...: PLAN line, then every check in order
run_plan() {
	mkdir -p "$HVTEST_RUN/log"
	: >"$HVTEST_RUN/results"
	result "PLAN $*"
	for _name in "$@"; do
		run_check "$_name"
	done
}
