#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Cross and static builds of the userspace (hvisord, hvisor-virtiod, hvctl,
# hvisor-sim), checked by running them. Prints "PASS <name>", "FAIL <name>:
# reason" or "SKIP <name>: reason" per check, writes "passed failed skipped"
# to the results file and exits 1 if any check failed.
set -u

usage() {
	cat <<'EOF'
Usage: scripts/cross-check.sh [options]

  arm64 (conf/cross/aarch64-linux-gnu.ini; json-c, libevent, cmocka from
  Debian's arm64 packages, extracted by scripts/arm64-sysroot.sh):
    cross-arm64-build         meson setup + ninja, -Dio_uring=disabled
    cross-arm64-tests         meson test --suite unit --suite vdev under
                              qemu-aarch64-static (qemu-user has no io_uring:
                              hence the build without it)
    cross-arm64-static        -Dstatic=true (io_uring on): `file` says statically
                              linked for hvisord, hvisor-virtiod, hvctl, hvisor-sim;
                              each answers --version under qemu-aarch64-static
    cross-arm64-static-smoke  under qemu-aarch64-static: hvisor-sim, hvisord on it,
                              hvctl zone start of a sim zone, zone list, version
  riscv64 (conf/cross/riscv64-linux-gnu.ini; Debian 12 has no riscv64
  packages: json-c, libevent, liburing, cmocka built from Debian's source
  packages by scripts/source-sysroot.sh):
    cross-riscv64-build, cross-riscv64-tests, cross-riscv64-static,
    cross-riscv64-static-smoke   the same with qemu-riscv64-static
  static (x86_64, -Dstatic=true):
    static-build              `file` says statically linked; --version runs
    static-rootfs-smoke       a root with busybox and the static programs only
                              (no shared library, no NSS module; chroot):
                              hvisor-sim, hvisord, a zone with a console device,
                              hvisor-virtiod dropped to nobody, zone list,
                              shutdown, hvisord stops

No loongarch64: Debian 12 has no LoongArch gcc and no LoongArch C library
(glibc must be built by gcc; clang-19 targets loongarch64 but cannot
build glibc 2.36, and Debian's musl 1.2.3 predates its LoongArch port).

Options:
  --results FILE   write "passed failed skipped" here (default: <build>/results)
  --build DIR      work directory (default: <repository>/build-cross)
  --cache DIR      sysroots, .debs and sources (default: <build>/cache)
  --only LIST      comma-separated groups: arm64,riscv64,static (default: all)
  -h, --help       this text

Installs what is missing with apt-get (cross compilers, qemu-user-static,
busybox-static, cmake, file) and adds the arm64 architecture to dpkg.
The static-rootfs-smoke check needs root (chroot).

Exit status: 0 if no check failed (skips allowed), 1 otherwise, 2 usage.
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-cross
CACHE=
RESULTS=
ONLY=arm64,riscv64,static
while [ $# -gt 0 ]; do
	case $1 in
	--results) RESULTS=${2:?--results needs a file}; shift 2 ;;
	--build) BUILD=${2:?--build needs a directory}; shift 2 ;;
	--cache) CACHE=${2:?--cache needs a directory}; shift 2 ;;
	--only) ONLY=${2:?--only needs a list}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "cross-check: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
for g in $(echo "$ONLY" | tr ',' ' '); do
	case $g in
	arm64 | riscv64 | static) ;;
	*) echo "cross-check: unknown group '$g' in --only" >&2; exit 2 ;;
	esac
done
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)
CACHE=${CACHE:-$BUILD/cache}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
RESULTS=${RESULTS:-$BUILD/results}
LOGS=$BUILD/logs
mkdir -p "$LOGS"
# shellcheck source=scripts/apt-helpers.sh
. "$ROOT/scripts/apt-helpers.sh"
# shellcheck source=scripts/check-lib.sh
. "$ROOT/scripts/check-lib.sh"

NPASS=0 NFAIL=0 NSKIP=0
pass() { echo "PASS $1"; NPASS=$((NPASS + 1)); }
fail() { echo "FAIL $1: $2"; NFAIL=$((NFAIL + 1)); }
skip() { echo "SKIP $1: $2"; NSKIP=$((NSKIP + 1)); }
want() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }
PROGS="hvisord/hvisord hvisor-virtiod/hvisor-virtiod hvctl/hvctl sim/hvisor-sim"

# setup_build DIR LOG MESON-ARGS...: a fresh meson setup + ninja
setup_build() {
	_dir=$1 _log=$2
	shift 2
	rm -rf "$_dir"
	meson setup "$_dir" "$ROOT" "$@" >"$_log" 2>&1 && ninja -C "$_dir" >>"$_log" 2>&1
}

# check_static NAME DIR [QEMU]: every program is statically linked and
# answers --version
check_static() {
	_bad=""
	for _p in $PROGS; do
		case $(file -b "$2/$_p") in
		*"statically linked"* | *"static-pie linked"*) ;;
		*) _bad="$_bad $(basename "$_p") is not static;" ;;
		esac
		# shellcheck disable=SC2086 # QEMU: empty or one word
		${3:-} "$2/$_p" --version >/dev/null 2>&1 || _bad="$_bad $(basename "$_p") --version failed;"
	done
	if [ -z "$_bad" ]; then pass "$1"; else fail "$1" "${_bad% ;}"; fi
}

# The smoke test of one build, all programs run by $QEMU (may be empty),
# in a pid namespace of its own: hvisord's descriptor keeper, which
# outlives it by design, ends with it. Arguments: check-lib.sh, scratch
# directory, build, QEMU; prints what failed, PASS if nothing did.
smoke_steps() {
	cat <<'EOF'
. "$1"
T=$2 B=$3 QEMU=$4
bg_until "$T/sim.log" listening $QEMU "$B/sim/hvisor-sim" --socket "$T/sim.sock"
bg_until "$T/hvisord.log" "listening on" $QEMU "$B/hvisord/hvisord" \
	--backend "sim:$T/sim.sock" --runtime-dir "$T/run"
hv=$BG_PID
h="$QEMU $B/hvctl/hvctl --socket $T/run/hvisord.sock"
why=""
if ! $h zone start "$T/smoke.json" >>"$T/hvctl.log" 2>&1; then
	why="hvctl zone start failed"
elif ! $h zone list 2>>"$T/hvctl.log" | grep -Eq '^ *1 .*running'; then
	why="the zone is not listed as running"
elif ! $h version >>"$T/hvctl.log" 2>&1; then
	why="hvctl version failed"
elif ! $h zone shutdown 1 >>"$T/hvctl.log" 2>&1; then
	why="hvctl zone shutdown failed"
fi
stop_pid "$hv"
[ -n "$why" ] || ! kill -0 "$hv" 2>/dev/null || why="hvisord did not stop"
echo "${why:-PASS}"
EOF
}

# check_smoke NAME BUILD QEMU: hvisor-sim, hvisord, hvctl of one build
check_smoke() {
	T=$BUILD/$1
	rm -rf "$T"
	mkdir -p "$T"
	make_zone "$T" smoke ""
	smoke_steps >"$T/smoke.sh"
	_why=$(unshare -p -f --mount-proc sh "$T/smoke.sh" "$ROOT/scripts/check-lib.sh" "$T" "$2" "$3" \
		2>"$T/steps.log")
	case $_why in
	PASS) pass "$1" ;;
	'') fail "$1" "the smoke test failed (see $T/steps.log)" ;;
	*) fail "$1" "$_why (see $T/*.log)" ;;
	esac
}

# cross_group ARCH TRIPLET QEMU SYSROOT-SCRIPT...
cross_group() {
	_arch=$1 _triplet=$2 _qemu=$3
	shift 3
	_sys=$CACHE/$_arch-sysroot
	_cross="--cross-file $_sys/sysroot.ini --cross-file $ROOT/conf/cross/$_triplet.ini"
	if ! "$@" "$_sys" >"$LOGS/$_arch-sysroot.log" 2>&1; then
		for _c in build tests static static-smoke; do
			fail "cross-$_arch-$_c" "sysroot: $(tail -n 1 "$LOGS/$_arch-sysroot.log")"
		done
		return
	fi
	# shellcheck disable=SC2086
	if setup_build "$BUILD/$_arch" "$LOGS/$_arch-build.log" $_cross -Dbench=false -Dio_uring=disabled; then
		pass "cross-$_arch-build"
		if meson test -C "$BUILD/$_arch" --suite unit --suite vdev --num-processes 2 \
			>"$LOGS/$_arch-tests.log" 2>&1; then
			pass "cross-$_arch-tests"
			echo "# $_arch $(python3 "$ROOT/scripts/test-summary.py" "$BUILD/$_arch" | tail -n 1)"
		else
			fail "cross-$_arch-tests" "$(grep -E '^(Ok|Fail|Timeout):' "$LOGS/$_arch-tests.log" | tr -s ' \n' ' ')(see $LOGS/$_arch-tests.log)"
		fi
	else
		fail "cross-$_arch-build" "see $LOGS/$_arch-build.log"
		skip "cross-$_arch-tests" "no build"
	fi
	# shellcheck disable=SC2086
	if setup_build "$BUILD/$_arch-static" "$LOGS/$_arch-static.log" $_cross -Dstatic=true -Dbench=false; then
		check_static "cross-$_arch-static" "$BUILD/$_arch-static" "$_qemu"
		check_smoke "cross-$_arch-static-smoke" "$BUILD/$_arch-static" "$_qemu"
	else
		fail "cross-$_arch-static" "see $LOGS/$_arch-static.log"
		skip "cross-$_arch-static-smoke" "no build"
	fi
}

# The test root of static-rootfs-smoke: busybox and the static programs
# only. Runs inside it, by busybox sh; prints what failed.
rootfs_steps() {
	cat <<'EOF'
. /check-lib.sh
PATH=/bin
H="hvctl --socket /run/hvisor/hvisord.sock"
bg_until /tmp/sim.log listening hvisor-sim --socket /run/sim.sock
sim=$BG_PID
bg_until /tmp/hvisord.log "listening on" hvisord --backend sim:/run/sim.sock \
	--runtime-dir /run/hvisor --virtiod /bin/hvisor-virtiod
hv=$BG_PID
why=""
if ! $H virtio start /z/smoke.virtio.json >/tmp/hvctl.log 2>&1; then
	why="hvctl virtio start failed"
elif ! $H zone start /z/smoke.json >>/tmp/hvctl.log 2>&1; then
	why="hvctl zone start failed"
elif ! zone_running --socket /run/hvisor/hvisord.sock; then
	why="the zone is not listed as running"
elif [ "$(ps -o user,comm | grep -c '^nobody *hvisor-virtio')" = 0 ]; then
	why="no hvisor-virtiod running as nobody"
elif ! $H zone shutdown 1 >>/tmp/hvctl.log 2>&1; then
	why="hvctl zone shutdown failed"
fi
stop_pid "$hv"
[ -n "$why" ] || ! kill -0 "$hv" 2>/dev/null || why="hvisord did not stop"
stop_pid "$sim"
echo "${why:-PASS}"
EOF
}

check_rootfs() {
	_r=$BUILD/rootfs
	if [ "$(id -u)" -ne 0 ]; then
		skip static-rootfs-smoke "needs root (chroot)"
		return
	fi
	if ! _bb=$(command -v busybox) || ! file -b "$_bb" | grep -q 'statically linked'; then
		need_pkgs busybox-static >/dev/null 2>&1 || { fail static-rootfs-smoke "cannot install busybox-static"; return; }
		_bb=$(command -v busybox)
	fi
	rm -rf "$_r"
	mkdir -p "$_r/bin" "$_r/etc" "$_r/dev" "$_r/proc" "$_r/tmp" "$_r/run" "$_r/z"
	for _p in $PROGS; do cp "$BUILD/static/$_p" "$_r/bin/"; done
	cp "$_bb" "$_r/bin/busybox"
	for _a in sh cat ps grep mkfifo rm sleep kill printf head sed tr; do ln -s busybox "$_r/bin/$_a"; done
	printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$_r/etc/passwd"
	printf 'root:x:0:\nhvisor:x:990:\nnogroup:x:65534:\n' >"$_r/etc/group"
	cp "$ROOT/scripts/check-lib.sh" "$_r/"
	make_zone "$_r/z" smoke console
	rootfs_steps >"$_r/smoke.sh"
	# /dev for the ptys, /proc for ps: mount and pid namespaces of its own
	# (ps sees only this test's processes; all end with it)
	# shellcheck disable=SC2016 # $1: the inner shell's
	_why=$(unshare -m -p -f sh -c 'mount --rbind /dev "$1/dev" && mount -t proc proc "$1/proc" &&
		chroot "$1" /bin/busybox sh /smoke.sh' sh "$_r" 2>"$LOGS/rootfs.log")
	case $_why in
	PASS) pass static-rootfs-smoke ;;
	'') fail static-rootfs-smoke "the smoke script failed: $(tail -n 1 "$LOGS/rootfs.log")" ;;
	*) fail static-rootfs-smoke "$_why (see $_r/tmp/*.log)" ;;
	esac
}

need_pkgs meson ninja-build pkg-config file >/dev/null
if want arm64; then
	need_pkgs gcc-aarch64-linux-gnu qemu-user-static >/dev/null
	cross_group arm64 aarch64-linux-gnu qemu-aarch64-static "$ROOT/scripts/arm64-sysroot.sh"
fi
if want riscv64; then
	need_pkgs gcc-riscv64-linux-gnu qemu-user-static >/dev/null
	cross_group riscv64 riscv64-linux-gnu qemu-riscv64-static \
		"$ROOT/scripts/source-sysroot.sh" riscv64-linux-gnu
fi
if want static; then
	if setup_build "$BUILD/static" "$LOGS/static.log" -Dstatic=true -Dbench=false; then
		check_static static-build "$BUILD/static"
		check_rootfs
	else
		fail static-build "see $LOGS/static.log"
		skip static-rootfs-smoke "no build"
	fi
fi

mkdir -p "$(dirname "$RESULTS")"
echo "$NPASS $NFAIL $NSKIP" >"$RESULTS"
echo "cross-check: $NPASS passed, $NFAIL failed, $NSKIP skipped (logs: $LOGS)"
[ "$NFAIL" -eq 0 ]
