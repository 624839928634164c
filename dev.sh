#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# One entry point for a fresh Debian 12 machine:
#   ./dev.sh demo            install what is missing, build, run the demo
#   ./dev.sh test [--asan]   install what is missing, build, run the whole test suite
#   ./dev.sh build [--asan]  install what is missing and build
#   ./dev.sh deps            only install the build and test dependencies
# Builds go to build/ (or build-asan/ with --asan: ASan+UBSan).
set -eu
cd "$(dirname "$0")"

# golang-go + golang-github-varlink-go-dev: test-int-varlink-go, hvisord
# driven by the reference varlink library (a skip without them)
PKGS="meson ninja-build pkg-config gcc libc6-dev libjson-c-dev libevent-dev libcmocka-dev liburing-dev python3 iproute2 iputils-ping golang-go golang-github-varlink-go-dev"

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

deps() {
	missing=""
	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "==> installing:$missing"
		as_root apt-get update -q
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
	fi
	# Members of group "hvisor" may start and stop zones (docs/protocol.md).
	getent group hvisor >/dev/null || as_root groupadd --system hvisor || true
}

BUILD=build
SETUP_ARGS="-Dwerror=true"
pick_build() {
	if [ "${1:-}" = "--asan" ]; then
		BUILD=build-asan
		SETUP_ARGS="$SETUP_ARGS -Db_sanitize=address,undefined -Db_lundef=false"
	elif [ -n "${1:-}" ]; then
		echo "unknown option '$1'" >&2
		exit 2
	fi
}

build() {
	if [ ! -f "$BUILD/build.ninja" ]; then
		meson setup "$BUILD" $SETUP_ARGS
	fi
	ninja -C "$BUILD"
}

run_tests() {
	# Sanitizer reports must fail the run, not scroll by.
	export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
	rc=0
	meson test -C "$BUILD" --print-errorlogs --num-processes 2 || rc=$?
	python3 scripts/test-summary.py "$BUILD"
	return $rc
}

case "${1:-}" in
deps)
	deps
	;;
build)
	pick_build "${2:-}"
	deps
	build
	;;
test)
	pick_build "${2:-}"
	deps
	build
	run_tests
	;;
demo)
	deps
	build
	exec scripts/demo.sh "$BUILD"
	;;
*)
	[ -z "${1:-}" ] || echo "dev.sh: unknown command '$1'" >&2
	# the header comment, up to the first line that is not one
	sed -n '3,/^[^#]/s/^#\( \|$\)//p' "$0" >&2
	exit 2
	;;
esac
