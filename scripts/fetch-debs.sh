#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Downloads Debian packages of one architecture with apt-get download and
# extracts them (dpkg-deb -x) into a directory tree: a sysroot, or the
# source of an initramfs. Nothing is installed.
#
#   scripts/fetch-debs.sh [--lib-deps] ARCH CACHE DEST PKG...
#
#   ARCH        Debian architecture (arm64, amd64, ...); a foreign one is
#               added to dpkg (dpkg --add-architecture) if needed
#   CACHE       where the .deb files are kept; a package already there
#               (any version) is not downloaded again
#   DEST        the tree they are extracted into (each .deb once)
#   --lib-deps  also the shared-library packages (lib*, zlib1g; not -dev,
#               -bin, -common, -data) the packages depend on, recursively
set -eu
. "$(dirname "$0")/apt-helpers.sh"

LIB_DEPS=
if [ "${1:-}" = "--lib-deps" ]; then
	LIB_DEPS=1
	shift
fi
if [ $# -lt 4 ]; then
	sed -n '6,16p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
ARCH=$1 CACHE=$2 DEST=$3
shift 3
mkdir -p "$CACHE" "$DEST/.debs"

# cached_deb PKG: the newest cached .deb of PKG, or nothing
cached_deb() {
	ls "$CACHE/$1"_*_"$ARCH".deb "$CACHE/$1"_*_all.deb 2>/dev/null | sort -V | tail -n 1
}

# download REQUIRED PKG...: fetches those not cached; REQUIRED=1: a
# package that cannot be downloaded is an error, else a warning
download() {
	_req=$1
	shift
	_want=""
	for _p in "$@"; do
		[ -n "$(cached_deb "$_p")" ] || _want="$_want $_p:$ARCH"
	done
	[ -z "$_want" ] && return 0
	# shellcheck disable=SC2086
	(cd "$CACHE" && apt-get -q -o APT::Sandbox::User=root download $_want >/dev/null 2>&1) && return 0
	# one of them failed: find out which
	for _p in $_want; do
		(cd "$CACHE" && apt-get -q -o APT::Sandbox::User=root download "$_p" >/dev/null 2>&1) && continue
		if [ "$_req" = 1 ]; then
			echo "error: apt-get download $_p failed (not in the archive for $ARCH?)" >&2
			return 1
		fi
		echo "warning: dependency $_p cannot be downloaded (virtual?); skipped" >&2
	done
}

extract() {
	_stamp="$DEST/.debs/$(basename "$1")"
	[ -f "$_stamp" ] && return 0
	dpkg-deb -x "$1" "$DEST" || { echo "error: dpkg-deb -x $1 failed" >&2; return 1; }
	: >"$_stamp"
}

# lib_deps DEB: names of the library packages DEB depends on
lib_deps() {
	dpkg-deb -f "$1" Pre-Depends Depends |
		sed -e 's/^[A-Za-z-]*: //' | tr ',' '\n' |
		sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' |
		grep -E '^(lib.*|zlib1g)$' | grep -vE -- '-(dev|bin|common|data|doc)$' || true
}

need_foreign_arch "$ARCH"
todo="$*" seen=" $* " required=1
while [ -n "$todo" ]; do
	# shellcheck disable=SC2086
	download $required $todo
	next=""
	for p in $todo; do
		deb=$(cached_deb "$p")
		[ -n "$deb" ] || continue # a skipped dependency
		extract "$deb"
		[ -n "$LIB_DEPS" ] || continue
		for d in $(lib_deps "$deb"); do
			case "$seen" in *" $d "*) continue ;; esac
			seen="$seen$d "
			next="$next $d"
		done
	done
	todo=$next required=0
done
