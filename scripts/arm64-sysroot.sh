#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Builds the sysroot for an arm64 cross build: json-c, libevent, liburing and
# cmocka (-dev and runtime packages) from Debian's arm64 archive, extracted
# into DIR (never installed: libevent-dev:arm64 would replace the amd64 one). Also
# installs the cross compiler and qemu-user-static if they are missing.
# Writes DIR/sysroot.ini, a meson machine file that defines the constant
# `sysroot` for conf/cross/aarch64-linux-gnu.ini:
#
#   scripts/arm64-sysroot.sh DIR
#   meson setup --cross-file DIR/sysroot.ini \
#               --cross-file conf/cross/aarch64-linux-gnu.ini build-arm64
#
# The .deb files are kept in DIR.debs/ (reused by the next run).
set -eu
SCRIPTS=$(cd "$(dirname "$0")" && pwd)
. "$SCRIPTS/apt-helpers.sh"

if [ $# -ne 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
	sed -n '3,14p' "$0" | sed 's/^# \{0,1\}//'
	[ $# -eq 1 ] && exit 0
	exit 2
fi
mkdir -p "$1"
DIR=$(cd "$1" && pwd)

PKGS="libjson-c-dev libjson-c5
libevent-dev libevent-2.1-7 libevent-core-2.1-7 libevent-extra-2.1-7
libevent-pthreads-2.1-7 libevent-openssl-2.1-7
liburing-dev liburing2
libcmocka-dev libcmocka0"

need_pkgs gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross \
	pkg-config qemu-user-static
# shellcheck disable=SC2086
"$SCRIPTS/fetch-debs.sh" arm64 "$DIR.debs" "$DIR" $PKGS

for pc in json-c libevent_core liburing; do
	[ -f "$DIR/usr/lib/aarch64-linux-gnu/pkgconfig/$pc.pc" ] ||
		{ echo "error: $pc.pc missing in $DIR after extraction" >&2; exit 1; }
done
cat >"$DIR/sysroot.ini" <<EOF
# written by scripts/arm64-sysroot.sh; use before conf/cross/aarch64-linux-gnu.ini
[constants]
sysroot = '$DIR'
EOF
echo "arm64 sysroot: $DIR (meson: --cross-file $DIR/sysroot.ini --cross-file conf/cross/aarch64-linux-gnu.ini)"
