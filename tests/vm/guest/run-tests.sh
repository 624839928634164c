#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The in-VM checks (run by /init; by hand in a --shell VM):
#   /hvtest/run-tests.sh            the plan of this mode (HVTEST_MODE)
#   /hvtest/run-tests.sh NAME...    only these checks
# Prints "PLAN name..." first, then per check its output (indented) and one
# line "PASS name", "FAIL name: reason" or "SKIP name: reason"; the same
# lines go to /run/hvtest/results. tests/vm/run.sh fails on a FAIL and on a
# planned name without a result.
#
# Adding a check: a function t_NAME in checks/*.sh (helpers: lib.sh), and
# NAME in CHECKS (or BENCH_CHECKS, run only with run.sh --bench) below, in
# the order they run. A check may set timeout_NAME=SECONDS (default
# $HVTEST_CHECK_TIMEOUT) next to its function.
set -eu
HVTEST_DIR=${HVTEST_DIR:-/hvtest}
. "$HVTEST_DIR/lib.sh"
load_checks

# infrastructure first: later checks rely on what these prove
CHECKS="userspace kernel_modules ext4_loop netns_tap
	sim_load hvisor_load hvisord_start hvctl_version hvisord_stop kmod_reload
	kmod_holes kmod_channel kmod_legacy kmod_lost_wakeups kmod_no_virtio_irq
	stack_zone_start stack_blk_raw stack_blk_ext4 stack_net_ping stack_console stack_backend_kill
	stack_hvisord_restart stack_after_restart stack_zone2_load stack_events stack_virtio_remove stack_permissions
	stack_zone_shutdown stack_down $(it_checks)"
# --bench: the infrastructure, then the benchmarks (tests/vm/guest/checks/30-bench.sh)
BENCH_CHECKS="userspace kernel_modules sim_load hvisor_load bench_tools
	bench_rtt bench_zone_up bench_device_rtt bench_blk bench_idle bench_down"

export HVTEST_CHECK_TIMEOUT=${HVTEST_CHECK_TIMEOUT:-300}
if [ $# -gt 0 ]; then
	# shellcheck disable=SC2086
	run_plan "$@"
elif [ "${HVTEST_MODE:-test}" = bench ]; then
	# shellcheck disable=SC2086
	run_plan $BENCH_CHECKS
else
	# shellcheck disable=SC2086
	run_plan $CHECKS
fi
