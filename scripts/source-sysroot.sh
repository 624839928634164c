#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Builds a sysroot for a cross build whose architecture Debian 12 has no
# packages for (riscv64): json-c, libevent, liburing and cmocka from
# Debian's own source packages (apt-get source), compiled with the cross
# compiler TRIPLET-gcc and installed into DIR/usr (libraries in
# DIR/usr/lib/TRIPLET, libevent's in DIR/usr/lib). The C library is the cross toolchain's
# (/usr/TRIPLET). Writes DIR/sysroot.ini, a meson machine file that
# defines the constant `sysroot` for conf/cross/TRIPLET.ini:
#
#   scripts/source-sysroot.sh riscv64-linux-gnu DIR
#   meson setup --cross-file DIR/sysroot.ini \
#               --cross-file conf/cross/riscv64-linux-gnu.ini build-riscv64
#
# The sources (and a private apt configuration with deb-src entries; the
# system's apt sources are not touched) are kept in DIR.src/. A library is
# rebuilt only when its source version changes. Installs the cross
# compiler, cmake and dpkg-dev if they are missing.
set -eu
SCRIPTS=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/apt-helpers.sh
. "$SCRIPTS/apt-helpers.sh"

if [ $# -ne 2 ]; then
	sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//'
	case ${1:-} in -h | --help) exit 0 ;; esac
	exit 2
fi
TRIPLET=$1
mkdir -p "$2"
DIR=$(cd "$2" && pwd)
SRC=$DIR.src
LOG=$SRC/build.log
CC=$TRIPLET-gcc
JOBS=$(nproc 2>/dev/null || echo 2)
LIBS="json-c libevent liburing cmocka"

case $TRIPLET in
riscv64-linux-gnu) need_pkgs gcc-riscv64-linux-gnu libc6-dev-riscv64-cross cmake dpkg-dev make ;;
*) need_pkgs cmake dpkg-dev make ;;
esac
command -v "$CC" >/dev/null || { echo "error: no $CC" >&2; exit 1; }
mkdir -p "$SRC"
: >"$LOG"

# apt-get or apt-cache with deb-src entries of its own: lists and cache
# under $SRC/apt
APT_DIR=$SRC/apt
src_apt() {
	_cmd=$1
	shift
	"$_cmd" -q -o Dir::Etc::SourceList="$APT_DIR/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$APT_DIR/lists" -o Dir::Cache="$APT_DIR/cache" \
		-o APT::Sandbox::User=root "$@"
}

# the newest source version of PKG, as apt knows it (updates lists once)
src_version() {
	if [ ! -f "$APT_DIR/sources.list" ]; then
		mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
		k=/usr/share/keyrings/debian-archive-keyring.gpg
		cat >"$APT_DIR/sources.list" <<EOF
deb-src [signed-by=$k] http://deb.debian.org/debian bookworm main
deb-src [signed-by=$k] http://deb.debian.org/debian bookworm-updates main
deb-src [signed-by=$k] http://deb.debian.org/debian-security bookworm-security main
EOF
		src_apt apt-get update >>"$LOG" 2>&1 || { echo "error: apt-get update (deb-src) failed, see $LOG" >&2; exit 1; }
	fi
	src_apt apt-cache showsrc "$1" 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -n 1
}

# fetch PKG VERSION: unpacked (patches applied) in $SRC/PKG-VERSION
fetch() {
	[ -d "$SRC/$1-$2" ] && return 0
	rm -rf "$SRC/dl" && mkdir -p "$SRC/dl"
	(cd "$SRC/dl" && src_apt apt-get source "$1=$2") >>"$LOG" 2>&1 ||
		{ echo "error: apt-get source $1=$2 failed, see $LOG" >&2; exit 1; }
	d=$(find "$SRC/dl" -mindepth 1 -maxdepth 1 -type d | head -n 1)
	mv "$d" "$SRC/$1-$2"
	rm -rf "$SRC/dl"
}

cmake_build() { # source dir, cmake options...
	s=$1
	shift
	rm -rf "$s/_build"
	cmake -S "$s" -B "$s/_build" -DCMAKE_SYSTEM_NAME=Linux \
		-DCMAKE_SYSTEM_PROCESSOR="${TRIPLET%%-*}" -DCMAKE_C_COMPILER="$CC" \
		-DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_INSTALL_LIBDIR="lib/$TRIPLET" \
		-DCMAKE_BUILD_TYPE=Release "$@" &&
		cmake --build "$s/_build" -j "$JOBS" &&
		DESTDIR=$DIR cmake --install "$s/_build"
}

build() { # library, its source dir
	case $1 in
	json-c)
		cmake_build "$2" -DBUILD_TESTING=OFF -DBUILD_APPS=OFF -DDISABLE_WERROR=ON
		;;
	cmocka)
		cmake_build "$2" -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF
		;;
	libevent)
		# cmake: the Debian patches make autotools want to regenerate
		cmake_build "$2" -DEVENT__DISABLE_OPENSSL=ON -DEVENT__DISABLE_MBEDTLS=ON \
			-DEVENT__DISABLE_SAMPLES=ON -DEVENT__DISABLE_TESTS=ON \
			-DEVENT__DISABLE_REGRESS=ON -DEVENT__DISABLE_BENCHMARK=ON -DEVENT__LIBRARY_TYPE=BOTH
		;;
	liburing)
		(cd "$2" && ./configure --cc="$CC" --prefix=/usr --libdir="/usr/lib/$TRIPLET" \
			--libdevdir="/usr/lib/$TRIPLET" --mandir=/usr/share/man &&
			make -C src -j "$JOBS" && make install DESTDIR="$DIR")
		;;
	esac
}

for lib in $LIBS; do
	v=$(src_version "$lib")
	[ -n "$v" ] || { echo "error: no source package $lib in the deb-src lists" >&2; exit 1; }
	stamp=$DIR/.built-$lib
	[ "$(cat "$stamp" 2>/dev/null)" = "$v" ] && continue
	echo "==> $lib $v for $TRIPLET" >&2
	fetch "$lib" "$v"
	# a clean tree for every build (configure writes into it)
	rm -rf "$SRC/work-$lib"
	cp -a "$SRC/$lib-$v" "$SRC/work-$lib"
	build "$lib" "$SRC/work-$lib" >>"$LOG" 2>&1 ||
		{ echo "error: building $lib $v for $TRIPLET failed, see $LOG" >&2; exit 1; }
	rm -rf "$SRC/work-$lib"
	echo "$v" >"$stamp"
done

# libevent's cmake build ignores CMAKE_INSTALL_LIBDIR: its files are in
# usr/lib, the cross file looks there too
for pc in json-c libevent_core liburing cmocka; do
	[ -f "$DIR/usr/lib/$TRIPLET/pkgconfig/$pc.pc" ] || [ -f "$DIR/usr/lib/pkgconfig/$pc.pc" ] ||
		{ echo "error: $pc.pc missing in $DIR/usr/lib/{$TRIPLET/,}pkgconfig" >&2; exit 1; }
done
cat >"$DIR/sysroot.ini" <<EOF
# written by scripts/source-sysroot.sh; use before conf/cross/$TRIPLET.ini
[constants]
sysroot = '$DIR'
EOF
echo "$TRIPLET sysroot: $DIR (meson: --cross-file $DIR/sysroot.ini --cross-file conf/cross/$TRIPLET.ini)"
