# SPDX-License-Identifier: GPL-2.0-only
# Sourced by the run-*.sh scripts here, with their arguments: sets $src, the
# source tree, and $build, the build directory: the first argument if it
# is a directory (then shifted off), else $src/build.
# shellcheck shell=sh disable=SC2034

src=$(cd "$(dirname "$0")/../.." && pwd)
build=$src/build
if [ $# -gt 0 ] && [ -d "$1" ]; then
	build=$1
	shift
fi
