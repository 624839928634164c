#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Runs the data-plane benchmarks of docs/performance.md and prints a
# results table.
#
#   tests/bench/run-dataplane.sh [BUILD_DIR] [dp-bench OPTIONS] [blk|net|reg|notify|rss|all]
#
# BUILD_DIR defaults to ./build of the source tree. dp-bench starts its own
# hvisor-sim and hvisord (which runs hvisor-virtiod) in a temporary
# directory, the disk image goes to /dev/shm. The net benchmarks need root:
# dp-bench then works in a network namespace of its own (addresses from
# 192.0.2.0/24 only); without root they are skipped. `dp-bench --help`
# lists the options, e.g. --seconds 10, --reg-count 50000, --aio threads.
set -eu

# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
ninja -C "$build" tests/bench/dp-bench sim/hvisor-sim sim/hvsim-guest hvisord/hvisord \
	hvisor-virtiod/hvisor-virtiod >/dev/null
exec "$build/tests/bench/dp-bench" --sim "$build/sim/hvisor-sim" \
	--hvisord "$build/hvisord/hvisord" --virtiod "$build/hvisor-virtiod/hvisor-virtiod" \
	--guest "$build/sim/hvsim-guest" "$@"
