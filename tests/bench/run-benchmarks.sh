#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Runs the benchmarks of docs/performance.md and prints a results table.
#
#   tests/bench/run-benchmarks.sh [BUILD_DIR] [hv-bench OPTIONS] [load|list|idle|all]
#
# BUILD_DIR defaults to ./build of the source tree. hv-bench starts its own
# hvisor-sim and hvisord in temporary directories (sockets under $TMPDIR or
# /tmp, the image under /dev/shm); `hv-bench --help` lists the options,
# e.g. --runs 9, --calls 20000, --idle-window 30, --strace.
set -eu

# shellcheck source=tests/bench/lib.sh
. "$(dirname "$0")/lib.sh"
ninja -C "$build" tests/bench/hv-bench sim/hvisor-sim hvisord/hvisord >/dev/null
exec "$build/tests/bench/hv-bench" --sim "$build/sim/hvisor-sim" \
	--hvisord "$build/hvisord/hvisord" "$@"
