#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# VM tests: Debian's kernel in QEMU (TCG) with hvisor_sim.ko + hvisor.ko and
# the static hvisord / hvisor-virtiod / hvctl, driven by tests/vm/guest/.
# bash: arrays for the QEMU command line, PIPESTATUS.
set -eu -o pipefail

usage() {
	cat <<'EOF'
Usage: tests/vm/run.sh [OPTIONS] x86_64|arm64

Boots Debian's kernel for the architecture in QEMU (TCG) with an initramfs
holding busybox, the kernel modules (virtio blk/net/console, ext4, tun,
loop), hvisor_sim.ko and hvisor.ko (test build), the static hvisord,
hvisor-virtiod and hvctl, and the tests of tests/vm/guest/. Prints
the serial console, then a summary; exit status 0 only if every planned
check passed or was skipped, nothing failed, the VM finished, and the
kernel logged no WARNING/BUG/Oops/hung task/hvisor_sim TIMEOUT.

Installs what is missing with apt-get (Debian packages only); downloads
(apt-get download) and caches the kernel and the arm64 packages under
build-vm/<arch>/. Needs root (or sudo) for apt-get.

Options:
  --shell       interactive VM: /init starts a shell on the serial console
                instead of the tests (run /hvtest/run-tests.sh by hand;
                poweroff -f or Ctrl-A X leaves); no verdict
  --bench       benchmark run: fio goes into the initramfs and the guest
                runs the benchmark checks (HVTEST_MODE=bench); writes
                bench.log / bench-results instead of serial.log / results
  --keep        keep the work dir build-vm/<arch>/work (initramfs tree,
                initramfs, DTB) after the run
  --strict      a skipped check counts as a failure
  --timeout S   kill the VM after S seconds (default 600 x86_64 and
                arm64; 1800 with --bench)
  -h, --help    this text

Environment:
  HVTEST_KMOD_SRC   kernel module sources (default kmod/; kmod/sim inside)
  HVTEST_CHECKS     only these checks, comma-separated, in this order (the
                    infrastructure ones they rely on included), e.g.
                    sim_load,hvisor_load,stack_zone_start,stack_console
  HVTEST_APPEND     more kernel command line
  HVTEST_QEMU_ARGS  more QEMU arguments (e.g. -monitor unix:/tmp/m.sock,server,nowait)
  HVTEST_VIRTIO_SPI arm64: the GIC SPI of /hvisor_virtio_device (default 200)

Output (build-vm/<arch>/): serial.log (the console), results ("passed
failed skipped", for scripts/test-summary.py --extra), kmod-*.log (module
builds).
EOF
}

SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/scripts/apt-helpers.sh"

die() {
	echo "run.sh: error: $*" >&2
	exit 1
}

step() {
	echo "==> $*"
}

now() {
	date +%s.%N
}

# ---------------------------------------------------------------- options

ARCH="" SHELL_MODE="" BENCH="" KEEP="" STRICT="" TIMEOUT=""
parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--shell) SHELL_MODE=1 ;;
		--bench) BENCH=1 ;;
		--keep) KEEP=1 ;;
		--strict) STRICT=1 ;;
		--timeout)
			[ $# -ge 2 ] || die "--timeout needs a number of seconds"
			TIMEOUT=$2
			shift
			;;
		--timeout=*) TIMEOUT=${1#--timeout=} ;;
		-h | --help)
			usage
			exit 0
			;;
		x86_64 | amd64) ARCH=x86_64 ;;
		arm64 | aarch64) ARCH=arm64 ;;
		*)
			usage >&2
			exit 2
			;;
		esac
		shift
	done
	[ -n "$ARCH" ] || { usage >&2; exit 2; }
	case "$TIMEOUT" in
	"") ;;
	*[!0-9]*) die "--timeout: expected seconds, got '$TIMEOUT'" ;;
	esac
}

# Everything that differs between the two architectures.
arch_setup() {
	MODULES="virtio virtio_ring virtio_blk virtio_net virtio_console ext4 crc32c_generic tun loop veth"
	RESV_SIZE=0x8000000
	# the integration suite's zones (checks/40-integration.sh): where
	# conf/examples/sim puts them, 0x50000000 + 2 x 256 MiB, outside the
	# root kernel's RAM too
	IT_RESV_BASE=0x50000000 IT_RESV_SIZE=512M IT_RESV_SIZE_HEX=0x20000000
	case "$ARCH" in
	x86_64)
		DEB_ARCH=amd64 TRIPLET=x86_64-linux-gnu KARCH=x86 CROSS=""
		QEMU=qemu-system-x86_64 QEMU_PKG=qemu-system-x86
		QEMU_MACHINE=pc CONSOLE=ttyS0 DEFAULT_TIMEOUT=600
		# the '$' is the kernel's memmap syntax, not a shell expansion
		RESV_BASE=0x38000000
		ARCH_APPEND="memmap=128M\$$RESV_BASE memmap=$IT_RESV_SIZE\$$IT_RESV_BASE" MEM_MB=2048
		;;
	arm64)
		DEB_ARCH=arm64 TRIPLET=aarch64-linux-gnu KARCH=arm64 CROSS=aarch64-linux-gnu-
		QEMU=qemu-system-aarch64 QEMU_PKG=qemu-system-arm
		QEMU_MACHINE=virt CONSOLE=ttyAMA0 DEFAULT_TIMEOUT=600
		RESV_BASE=0x78000000 MEM_MB=2048
		ARCH_APPEND=""
		VIRTIO_SPI=${HVTEST_VIRTIO_SPI:-200}
		;;
	esac
	[ -n "$BENCH" ] && DEFAULT_TIMEOUT=1800
	TIMEOUT=${TIMEOUT:-$DEFAULT_TIMEOUT}
	B=$SRC/build-vm/$ARCH
	DEBS=$B/debs
	W=$B/work
	if [ -n "$BENCH" ]; then
		LOG=$B/bench.log RESULTS=$B/bench-results
	else
		LOG=$B/serial.log RESULTS=$B/results
	fi
	KMOD_SRC=${HVTEST_KMOD_SRC:-$SRC/kmod}
}

# ---------------------------------------------------------------- host side

host_deps() {
	local pkgs="$QEMU_PKG cpio gzip kmod binutils rsync make gcc libc6-dev bc
		linux-headers-amd64 meson ninja-build pkg-config libjson-c-dev libevent-dev liburing-dev"
	case "$ARCH" in
	x86_64) pkgs="$pkgs busybox-static e2fsprogs iproute2 ${BENCH:+fio}" ;;
	arm64) pkgs="$pkgs device-tree-compiler gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user-static" ;;
	esac
	# shellcheck disable=SC2086
	need_pkgs $pkgs
}

# The kernel ABI: that of the newest installed linux-headers-*-amd64 (its
# -common and linux-kbuild serve the arm64 headers too). If the archive has
# moved on (no image for it any more), upgrade the headers once.
pick_kernel() {
	local kv
	kv=$(find /usr/src -maxdepth 1 -name 'linux-headers-*-amd64' | sed 's|.*/linux-headers-||' | sort -V | tail -n 1)
	[ -n "$kv" ] || die "no /usr/src/linux-headers-*-amd64 (linux-headers-amd64 not installed?)"
	ABI=${kv%-amd64}
	KVER=$ABI-$DEB_ARCH
	need_foreign_arch "$DEB_ARCH" || die "no $DEB_ARCH package lists"
	IMAGE_PKG=linux-image-$KVER-unsigned
	if ! apt-cache policy "$IMAGE_PKG:$DEB_ARCH" 2>/dev/null | grep 'Candidate: [0-9]' >/dev/null; then
		[ -n "${PICKED_AGAIN:-}" ] && die "$IMAGE_PKG is not in the archive (headers $kv installed)"
		step "$IMAGE_PKG not in the apt lists: updating, upgrading linux-headers-amd64"
		APT_UPDATED=
		apt_update_once
		apt_get install -y --no-install-recommends linux-headers-amd64 >/dev/null ||
			die "apt-get install linux-headers-amd64 failed"
		PICKED_AGAIN=1
		pick_kernel
	fi
}

fetch() {
	"$SRC/scripts/fetch-debs.sh" "$@" || die "fetching Debian $DEB_ARCH packages failed: $*"
}

# Debian's kernel image and its modules, extracted once; modules.dep made
# with depmod -b (the .deb does not ship it).
kernel_image() {
	step "kernel $KVER"
	fetch "$DEB_ARCH" "$DEBS" "$B/kernel" "$IMAGE_PKG"
	VMLINUZ=$B/kernel/boot/vmlinuz-$KVER
	KMODS=$B/kernel/lib/modules/$KVER
	[ -f "$VMLINUZ" ] || die "$IMAGE_PKG has no boot/vmlinuz-$KVER"
	if [ ! -f "$KMODS/modules.dep" ]; then
		depmod -b "$B/kernel" "$KVER" || die "depmod -b $B/kernel $KVER failed"
	fi
}

# The kernel headers to build modules against: the host's for x86_64;
# for arm64 Debian's arm64 headers, extracted, with their scripts/ and
# tools/ pointed at the host's linux-kbuild (same version required).
kernel_headers() {
	if [ "$ARCH" = x86_64 ]; then
		KHDR=/usr/src/linux-headers-$KVER
		return
	fi
	local pkg=linux-headers-$KVER deb want have kbuild
	fetch arm64 "$DEBS" "$B/headers" "$pkg"
	KHDR=$B/headers/usr/src/linux-headers-$KVER
	deb=$(ls "$DEBS/${pkg}"_*_arm64.deb | sort -V | tail -n 1)
	want=$(dpkg-deb -f "$deb" Version)
	kbuild=$(dpkg-deb -c "$deb" | grep -o 'lib/linux-kbuild-[^/]*' | sort -u | tail -n 1)
	kbuild=/usr/${kbuild:-lib/linux-kbuild-6.1}
	have=$(dpkg-query -W -f='${Version}' "linux-headers-$ABI-common" 2>/dev/null || true)
	[ "$want" = "$have" ] ||
		die "arm64 headers $want need linux-headers-$ABI-common $want on the host (have '${have:-none}')"
	[ -d "$kbuild/scripts" ] || die "$kbuild missing (linux-kbuild for $want)"
	ln -sfn "$kbuild/scripts" "$KHDR/scripts"
	ln -sfn "$kbuild/tools" "$KHDR/tools"
}

# ---------------------------------------------------------------- kmod

HOST_RESULTS=()
host_result() {
	HOST_RESULTS+=("$*")
	echo "$*"
}

SIM_KO="" HVISOR_KO="" PROD_KO="" KMOD_MISSING=""

kmake() {
	local dir=$1 log=$2
	shift 2
	# shellcheck disable=SC2086
	make -C "$KHDR" M="$dir" ARCH=$KARCH ${CROSS:+CROSS_COMPILE=$CROSS} -j"$(nproc)" "$@" modules \
		>"$log" 2>&1
}

# kmod_copy VARIANT: kmod/ (the modules' whole source) in a fresh build
# dir of its own (kbuild writes into the source dir; a few seconds to build, and
# no stale object can outlive a renamed source)
kmod_copy() {
	local d=$B/kbuild/$1
	rm -rf "$d"
	mkdir -p "$d"
	local ex=(--exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c'
		--exclude='.*.cmd' --exclude='Module.symvers' --exclude='modules.order' --exclude='.tmp_versions')
	rsync -a --delete "${ex[@]}" "$KMOD_SRC/" "$d/kmod/"
	echo "$d"
}

# build_one NAME DIR LOG [MAKEARGS...]: records PASS/FAIL host:NAME
build_one() {
	local name=$1 dir=$2 log=$3
	shift 3
	if kmake "$dir" "$log" "$@"; then
		host_result "PASS host:$name"
		return 0
	fi
	host_result "FAIL host:$name: make failed, see $log"
	tail -n 20 "$log" | sed 's/^/    /'
	return 1
}

build_kmods() {
	if [ ! -f "$KMOD_SRC/main.c" ]; then
		KMOD_MISSING="$KMOD_SRC/main.c does not exist yet: hvisor.ko not built"
		echo "NOTE: $KMOD_MISSING; the module checks are skipped (SKIP, not PASS)"
		return
	fi
	step "kernel modules against $KHDR"
	local t p
	if ls "$KMOD_SRC"/sim/*.c >/dev/null 2>&1; then
		t=$(kmod_copy test)
		if build_one kmod_sim "$t/kmod/sim" "$B/kmod-sim.log" &&
			build_one kmod_test "$t/kmod" "$B/kmod-test.log" HVISOR_SIM=y \
				KBUILD_EXTRA_SYMBOLS="$t/kmod/sim/Module.symvers"; then
			SIM_KO=$t/kmod/sim/hvisor_sim.ko HVISOR_KO=$t/kmod/hvisor.ko
		fi
	else
		KMOD_MISSING="$KMOD_SRC/sim/ has no sources yet: hvisor_sim.ko and the test hvisor.ko not built"
		echo "NOTE: $KMOD_MISSING; the module checks are skipped (SKIP, not PASS)"
	fi
	p=$(kmod_copy prod)
	build_one kmod_prod "$p/kmod" "$B/kmod-prod.log" && PROD_KO=$p/kmod/hvisor.ko
	[ -n "$HVISOR_KO" ] || KMOD_MISSING=${KMOD_MISSING:-"the module build failed"}
	return 0
}

# ---------------------------------------------------------------- userspace

# CROSS_ARGS: meson's cross files for arm64 (after building the sysroot)
CROSS_ARGS=()
cross_setup() {
	[ "$ARCH" = arm64 ] || return 0
	"$SRC/scripts/arm64-sysroot.sh" "$B/sysroot" >/dev/null || die "scripts/arm64-sysroot.sh failed"
	CROSS_ARGS=(--cross-file "$B/sysroot/sysroot.ini" --cross-file "$SRC/conf/cross/aarch64-linux-gnu.ini")
}

# The static hvisord, hvisor-virtiod, hvctl (+ hvisor-sim, hvsim-guest).
build_userspace() {
	local u=$B/userspace
	step "static userspace ($ARCH)"
	if [ ! -f "$u/build.ninja" ]; then
		meson setup "$u" "$SRC" "${CROSS_ARGS[@]}" -Dstatic=true -Dtests=false -Dbench=false \
			--prefix=/usr >"$B/userspace-setup.log" 2>&1 ||
			{ tail -n 20 "$B/userspace-setup.log"; die "meson setup of the static build failed ($B/userspace-setup.log)"; }
	fi
	ninja -C "$u" >"$B/userspace-build.log" 2>&1 ||
		{ grep -E 'error|FAILED' "$B/userspace-build.log" | head -n 20; die "static build failed ($B/userspace-build.log)"; }
	USERSPACE=$u
}

# The integration suite for the checks it_* (checks/40-integration.sh
# names the programs): a dynamic build, since cmocka has no static
# library; the initramfs gets the programs with their shared libraries.
IT_PROGS=() IT_MISSING=""
build_it() {
	local it=$B/it names n t=()
	names=$(sed -n 's/^IT_BINS="\(.*\)"$/\1/p' "$SRC/tests/vm/guest/checks/40-integration.sh")
	[ -n "$names" ] || die "no IT_BINS in tests/vm/guest/checks/40-integration.sh"
	[ "$ARCH" = x86_64 ] && need_pkgs libcmocka-dev
	step "integration suite ($ARCH, dynamic): $names"
	if [ ! -f "$it/build.ninja" ]; then
		meson setup "$it" "$SRC" "${CROSS_ARGS[@]}" -Dbench=false >"$B/it-setup.log" 2>&1 ||
			{ tail -n 20 "$B/it-setup.log"; die "meson setup of the integration build failed ($B/it-setup.log)"; }
	fi
	for n in $names; do t+=("tests/integration/test-int-$n"); done
	ninja -C "$it" "${t[@]}" >"$B/it-build.log" 2>&1 ||
		{ grep -E 'error|FAILED' "$B/it-build.log" | head -n 20; die "integration build failed ($B/it-build.log)"; }
	for n in $names; do IT_PROGS+=("$it/tests/integration/test-int-$n"); done
}

# The userspace tools of the checks come from ROOT: the host for x86_64, a
# tree of extracted arm64 packages (with their library packages) for arm64.
tools_root() {
	local pkgs="busybox-static e2fsprogs iproute2 ${BENCH:+fio}"
	# the integration programs' shared libraries
	[ ${#IT_PROGS[@]} -gt 0 ] && pkgs="$pkgs libjson-c5 libcmocka0 libevent-core-2.1-7 liburing2"
	if [ "$ARCH" = x86_64 ]; then
		ROOT=/
		return
	fi
	step "arm64 packages: $pkgs"
	# shellcheck disable=SC2086
	fetch --lib-deps arm64 "$DEBS" "$B/rootfs" $pkgs
	ROOT=$B/rootfs
}

# ---------------------------------------------------------------- initramfs

# find_in ROOT NAME DIRS...: the first ROOT/DIR/NAME that exists, as DIR/NAME
find_in() {
	local root=$1 name=$2 d
	shift 2
	for d in "$@"; do
		if [ -e "$root/$d/$name" ] || [ -L "$root/$d/$name" ]; then
			echo "$d/$name"
			return 0
		fi
	done
	return 1
}

# elf_needed FILE / elf_interp FILE / elf_runpath FILE
elf_needed() {
	readelf -dW "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}
elf_interp() {
	readelf -lW "$1" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p'
}
elf_runpath() {
	readelf -dW "$1" 2>/dev/null | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p' | tr ':' ' '
}

# in_root ROOT PATH: PATH with its symlinks followed inside ROOT (an
# absolute link in an extracted tree points into the tree, not the host)
in_root() {
	local root=${1%/} rel=/${2#/} t n=0
	while [ -L "$root$rel" ]; do
		t=$(readlink "$root$rel")
		case "$t" in
		/*) rel=$t ;;
		*) rel=$(dirname "$rel")/$t ;;
		esac
		n=$((n + 1))
		[ $n -lt 20 ] || die "symlink loop at $root$2"
	done
	echo "$root$rel"
}

declare -A COPIED=()
# copy_elf ROOT PATH [DEST]: ROOT/PATH into the initramfs at PATH (or
# DEST), with its interpreter and its shared-library closure resolved
# inside ROOT (the host's / or an extracted arm64 tree: one rule for both)
copy_elf() {
	local root=$1 rel=${2#/} dest=${3:-} lib found dirs file interp
	dest=${dest#/}
	dest=${dest:-$rel}
	[ -n "${COPIED[$dest]:-}" ] && return 0
	COPIED[$dest]=1
	file=$(in_root "$root" "$rel")
	[ -e "$file" ] || die "$root/$rel does not exist"
	mkdir -p "$STAGE/$(dirname "$dest")"
	cp "$file" "$STAGE/$dest"
	interp=$(elf_interp "$file")
	[ -n "$interp" ] && copy_elf "$root" "$interp"
	dirs="$(elf_runpath "$file") /lib/$TRIPLET /usr/lib/$TRIPLET /lib /usr/lib /lib64 /usr/lib64"
	for lib in $(elf_needed "$file"); do
		# shellcheck disable=SC2086
		found=$(find_in "$root" "$lib" $dirs) ||
			die "$rel needs $lib, which is not in $root (searched: $dirs)"
		copy_elf "$root" "$found"
	done
}

# stage_tool ROOT NAME [LINK...]: a program of ROOT (first of sbin, bin,
# usr/sbin, usr/bin) at the same path, plus links to it in its dir
stage_tool() {
	local root=$1 name=$2 rel l
	shift 2
	rel=$(find_in "$root" "$name" usr/sbin usr/bin sbin bin) || die "$name not found in $root"
	# a busybox applet of that name must not shadow it
	for l in "$name" "$@"; do
		find "$STAGE" -path "$STAGE/hvtest" -prune -o -name "$l" -type l -print | xargs -r rm -f
	done
	copy_elf "$root" "$rel"
	for l in "$@"; do
		ln -sf "$name" "$STAGE/$(dirname "$rel")/$l"
	done
	# busybox ash runs its own applet of a name whatever PATH says: lib.sh
	# makes functions of these
	for l in "$name" "$@"; do
		grep -qx "$l" <<<"$APPLETS" && REAL_TOOLS="$REAL_TOOLS $l:/$(dirname "$rel")/$l"
	done
	return 0
}

stage_busybox() {
	local bb rel
	rel=$(find_in "$ROOT" busybox bin usr/bin) || die "busybox not found in $ROOT (busybox-static)"
	bb=$(in_root "$ROOT" "$rel")
	[ -z "$(elf_interp "$bb")" ] || die "$bb is not static (install busybox-static, not busybox)"
	mkdir -p "$STAGE/bin"
	cp "$bb" "$STAGE/bin/busybox"
	for l in $(run_target "$STAGE/bin/busybox" --list-full); do
		mkdir -p "$STAGE/$(dirname "$l")"
		[ "$l" = bin/busybox ] || ln -sf /bin/busybox "$STAGE/$l"
	done
	[ -e "$STAGE/bin/sh" ] || die "busybox --list-full gave no bin/sh"
	APPLETS=$(run_target "$STAGE/bin/busybox" --list)
	REAL_TOOLS=""
}

# run_target PROGRAM ARGS...: runs a program of the target architecture
run_target() {
	if [ "$ARCH" = arm64 ]; then qemu-aarch64-static "$@"; else "$@"; fi
}

# The kernel modules of $MODULES (those not built in) with everything
# modules.dep says they need, then depmod for busybox modprobe.
stage_modules() {
	local m re line f
	local dst=$STAGE/lib/modules/$KVER
	mkdir -p "$dst"
	for m in $MODULES; do
		re=$(echo "$m" | sed 's/[-_]/[-_]/g')
		if grep -Eq "(^|/)$re\.ko(\.[a-z]+)?$" "$KMODS/modules.builtin"; then
			continue
		fi
		line=$(grep -E "(^|/)$re\.ko(\.[a-z]+)?:" "$KMODS/modules.dep") ||
			die "module $m is neither in modules.dep nor built into $KVER"
		for f in $(echo "$line" | tr -d ':'); do
			mkdir -p "$dst/$(dirname "$f")"
			cp "$KMODS/$f" "$dst/$f"
		done
	done
	cp "$KMODS"/modules.builtin "$KMODS"/modules.builtin.modinfo "$KMODS"/modules.order "$dst/"
	if [ -n "$SIM_KO" ]; then
		mkdir -p "$dst/extra"
		cp "$SIM_KO" "$HVISOR_KO" "$dst/extra/"
	fi
	if [ -n "$PROD_KO" ]; then
		mkdir -p "$STAGE/hvtest/kmod/prod"
		cp "$PROD_KO" "$STAGE/hvtest/kmod/prod/"
	fi
	depmod -b "$STAGE" "$KVER" || die "depmod -b $STAGE $KVER failed"
}

stage_hvisor() {
	local u=$USERSPACE strip=${CROSS}strip
	mkdir -p "$STAGE/usr/sbin" "$STAGE/usr/bin" "$STAGE/usr/libexec"
	cp "$u/hvisord/hvisord" "$STAGE/usr/sbin/"
	cp "$u/hvisor-virtiod/hvisor-virtiod" "$STAGE/usr/libexec/"
	cp "$u/hvctl/hvctl" "$u/sim/hvisor-sim" "$u/sim/hvsim-guest" \
		"$u/tests/vm/progs/hvisor-kmod-test" "$STAGE/usr/bin/"
	ln -sf hvctl "$STAGE/usr/bin/hvisor"
	"$strip" "$STAGE/usr/sbin/hvisord" "$STAGE/usr/libexec/hvisor-virtiod" \
		"$STAGE/usr/bin/hvctl" "$STAGE/usr/bin/hvisor-sim" "$STAGE/usr/bin/hvsim-guest" \
		"$STAGE/usr/bin/hvisor-kmod-test"
	run_target "$STAGE/usr/bin/hvctl" --help >/dev/null || die "the static hvctl does not run"
	run_target "$STAGE/usr/sbin/hvisord" --help >/dev/null || die "the static hvisord does not run"
}

stage_it() {
	local p rel
	for p in "${IT_PROGS[@]}"; do
		rel=$p
		if [ "$ROOT" != / ]; then
			# into ROOT, so that copy_elf finds its libraries there
			rel=/usr/lib/hvtest-it/$(basename "$p")
			mkdir -p "$ROOT/usr/lib/hvtest-it"
			cp "$p" "$ROOT$rel"
		fi
		copy_elf "$ROOT" "$rel" "hvtest/it/$(basename "$p")"
	done
	# arm64 is conf/examples/sim's arch: its zones as they are
	if [ "$ARCH" = arm64 ]; then
		mkdir -p "$STAGE/hvtest/configs/it-arm64"
		cp "$SRC/conf/examples/sim/zone1.json" "$SRC/conf/examples/sim/zone2.json" \
			"$STAGE/hvtest/configs/it-arm64/"
	fi
}

stage_etc() {
	cat >"$STAGE/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
	cat >"$STAGE/etc/group" <<'EOF'
root:x:0:
hvisor:x:990:
nogroup:x:65534:
EOF
	echo "hvtest-$ARCH" >"$STAGE/etc/hostname"
	[ -f "$ROOT/etc/mke2fs.conf" ] && cp "$ROOT/etc/mke2fs.conf" "$STAGE/etc/"
	return 0
}

stage_guest() {
	mkdir -p "$STAGE/hvtest"
	cp -a "$SRC/tests/vm/guest/." "$STAGE/hvtest/"
	mv "$STAGE/hvtest/init" "$STAGE/init"
	chmod 755 "$STAGE/init" "$STAGE/hvtest/run-tests.sh"
	local ext=/lib/modules/$KVER/extra
	cat >"$STAGE/hvtest/env.sh" <<EOF
# written by tests/vm/run.sh
HVTEST_ARCH=$ARCH
HVTEST_KVER=$KVER
HVTEST_DIR=/hvtest
HVTEST_RESV_BASE=$RESV_BASE
HVTEST_RESV_SIZE=$RESV_SIZE
HVTEST_VIRTIO_SPI=${VIRTIO_SPI:-}
HVTEST_MODULES="$MODULES"
HVTEST_SIM_KO=${SIM_KO:+$ext/hvisor_sim.ko}
HVTEST_HVISOR_KO=${HVISOR_KO:+$ext/hvisor.ko}
HVTEST_HVISOR_PROD_KO=${PROD_KO:+/hvtest/kmod/prod/hvisor.ko}
HVTEST_KMOD_MISSING="$KMOD_MISSING"
HVTEST_IT_MISSING="$IT_MISSING"
HVTEST_BENCH=${BENCH:-0}
HVTEST_REAL_TOOLS="${REAL_TOOLS# }"
EOF
}

build_initramfs() {
	step "initramfs"
	STAGE=$W/stage
	rm -rf "$STAGE"
	COPIED=()
	mkdir -p "$STAGE"/{proc,sys,dev,tmp,run,etc,root,mnt,var}
	ln -s ../run "$STAGE/var/run"
	ln -s ../tmp "$STAGE/var/tmp"
	mknod -m 600 "$STAGE/dev/console" c 5 1 2>/dev/null || true
	stage_busybox
	stage_tool "$ROOT" mke2fs mkfs.ext4
	stage_tool "$ROOT" e2fsck fsck.ext4
	stage_tool "$ROOT" ip
	[ -n "$BENCH" ] && stage_tool "$ROOT" fio
	stage_modules
	stage_guest
	stage_hvisor
	stage_it
	stage_etc
	INITRD=$W/initramfs.cpio.gz
	(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
		gzip -1 >"$INITRD"
	echo "    $(du -sh "$STAGE" | cut -f1) in $(find "$STAGE" | wc -l) files -> $(du -h "$INITRD" | cut -f1) $INITRD"
}

# ---------------------------------------------------------------- QEMU

qemu_args() {
	local mode=test
	[ -n "$BENCH" ] && mode=bench
	[ -n "$SHELL_MODE" ] && mode=shell
	# nohz=off: the guest of the tests is this kernel, and a driver may spin
	# on one CPU with interrupts off until the backend answers (hvc's
	# put_chars); only a ticking idle CPU pulls tasks queued behind it
	APPEND="console=$CONSOLE panic=-1 printk.time=1 loglevel=5 rdinit=/init hvtest.mode=$mode nohz=off${HVTEST_CHECKS:+ hvtest.checks=$HVTEST_CHECKS}"
	APPEND="$APPEND $ARCH_APPEND ${HVTEST_APPEND:-}"
	QARGS=(-accel tcg -m "$MEM_MB" -smp 2 -nodefaults -no-user-config -display none -no-reboot)
	if [ "$ARCH" = arm64 ]; then
		QARGS+=(-cpu cortex-a57)
	fi
}

# The arm64 DTB: QEMU virt's own (dumpdtb, same options), plus the
# /hvisor_virtio_device node (hvisor.ko's wake-up IRQ) and a no-map
# /reserved-memory child for the zones' RAM (kmod contract).
make_dtb() {
	local base=$W/virt-base
	DTB=$W/virt.dtb
	"$QEMU" -machine "$QEMU_MACHINE,dumpdtb=$base.dtb" "${QARGS[@]}" >/dev/null 2>&1 ||
		die "$QEMU -machine virt,dumpdtb failed"
	dtc -q -I dtb -O dts -o "$base.dts" "$base.dtb" || die "dtc could not read $base.dtb"
	check_spi_free "$base.dts" "$VIRTIO_SPI"
	cat "$base.dts" - >"$W/virt.dts" <<EOF

/ {
	hvisor_virtio_device {
		compatible = "hvisor";
		interrupts = <0 $VIRTIO_SPI 1>; /* GIC_SPI $VIRTIO_SPI IRQ_TYPE_EDGE_RISING */
	};

	reserved-memory {
		#address-cells = <2>;
		#size-cells = <2>;
		ranges;

		zone@${RESV_BASE#0x} {
			reg = <0 $RESV_BASE 0 $RESV_SIZE>;
			no-map;
		};

		it@${IT_RESV_BASE#0x} {
			reg = <0 $IT_RESV_BASE 0 $IT_RESV_SIZE_HEX>;
			no-map;
		};
	};
};
EOF
	dtc -q -I dts -O dtb -o "$DTB" "$W/virt.dts" || die "dtc could not build $DTB from $W/virt.dts"
}

# check_spi_free DTS N: no device of QEMU virt uses GIC SPI N (in an
# interrupts triplet or the GICv2m MSI range)
check_spi_free() {
	local used
	used=$(grep -o 'interrupts = <[^>]*>' "$1" | sed 's/.*<\(.*\)>/\1/' |
		awk '{ for (i = 1; i + 2 <= NF; i += 3) if ($i == "0x00") printf "%d\n", $(i + 1) }')
	if grep -qx "$2" <<<"$used"; then
		die "GIC SPI $2 is used by QEMU virt; set HVTEST_VIRTIO_SPI"
	fi
	local msi base num
	msi=$(grep -A8 'arm,gic-v2m-frame' "$1" || true)
	base=$(sed -n 's/.*arm,msi-base-spi = <\(0x[0-9a-f]*\)>.*/\1/p' <<<"$msi")
	num=$(sed -n 's/.*arm,msi-num-spis = <\(0x[0-9a-f]*\)>.*/\1/p' <<<"$msi")
	if [ -n "$base" ] && [ -n "$num" ] && [ "$2" -ge $((base)) ] && [ "$2" -lt $((base + num)) ]; then
		die "GIC SPI $2 is in QEMU virt's GICv2m MSI range; set HVTEST_VIRTIO_SPI"
	fi
	return 0
}

# the guest's dmesg dump is in the log file, not on the terminal
hide_dmesg() {
	awk -v f="$LOG" '/^HVTEST-DMESG-BEGIN/ { hide = 1; print "    (kernel log: " f ")" }
		!hide { print } /^HVTEST-DMESG-END/ { hide = 0 }'
}

run_vm() {
	local q=("$QEMU" -machine "$QEMU_MACHINE" "${QARGS[@]}" -kernel "$VMLINUZ" -initrd "$INITRD"
		-append "$APPEND")
	[ "$ARCH" = arm64 ] && q+=(-dtb "$DTB")
	# shellcheck disable=SC2206
	[ -n "${HVTEST_QEMU_ARGS:-}" ] && q+=($HVTEST_QEMU_ARGS)
	if [ -n "$SHELL_MODE" ]; then
		step "interactive VM (Ctrl-A X quits QEMU)"
		"${q[@]}" -serial mon:stdio || true
		return
	fi
	step "VM: $QEMU (timeout ${TIMEOUT}s), log $LOG"
	local t0 rc
	t0=$(now)
	set +e
	timeout -k 10 "$TIMEOUT" "${q[@]}" -chardev stdio,id=con,signal=off -serial chardev:con \
		</dev/null 2>&1 | tee "$LOG" | hide_dmesg
	rc=${PIPESTATUS[0]}
	set -e
	VM_SECS=$(echo "$(now) - $t0" | bc)
	VM_TIMED_OUT=""
	[ "$rc" = 124 ] || [ "$rc" = 137 ] && VM_TIMED_OUT=1
	return 0
}

# ---------------------------------------------------------------- verdict

KERNEL_BAD='WARNING:|BUG:|Oops|hung task|blocked for more than|hvisor_sim: TIMEOUT|Kernel panic|general protection fault|Unable to handle kernel|soft lockup|self-detected stall|detected stalls'

# verdict: reads $LOG; the results block of the guest (HVTEST-RESULTS-BEGIN
# .. END, printed with the console quiet) wins over the live lines.
verdict() {
	local clean=$W/serial.clean results plan name passed=0 failed=0 skipped=0 line
	local -a problems=() skips=()
	tr -d '\r' <"$LOG" >"$clean"
	results=$(sed -n '/^HVTEST-RESULTS-BEGIN$/,/^HVTEST-RESULTS-END$/p' "$clean")
	[ -n "$results" ] || results=$(grep -E '^(PLAN|PASS|FAIL|SKIP) ' "$clean" || true)
	for line in "${HOST_RESULTS[@]}"; do results=$(printf '%s\n%s' "$results" "$line"); done

	while read -r line; do
		case "$line" in
		"PASS "*) passed=$((passed + 1)) ;;
		"FAIL "*) failed=$((failed + 1)); problems+=("$line") ;;
		"SKIP "*) skipped=$((skipped + 1)); skips+=("$line") ;;
		esac
	done <<<"$results"

	plan=$(grep -m1 '^PLAN ' <<<"$results" | cut -d' ' -f2- || true)
	if [ -z "$plan" ]; then
		failed=$((failed + 1)); problems+=("no PLAN line from the guest")
	fi
	for name in $plan; do
		grep -Eq "^(PASS|FAIL|SKIP) $name(:|$)" <<<"$results" && continue
		failed=$((failed + 1)); problems+=("MISSING $name: no result")
	done
	if ! grep -q '^HVTEST-DONE$' "$clean"; then
		failed=$((failed + 1))
		if [ -n "$VM_TIMED_OUT" ]; then
			problems+=("VM did not finish: killed after ${TIMEOUT}s")
		else
			problems+=("VM did not finish (no HVTEST-DONE)")
		fi
	fi
	while read -r line; do
		[ -n "$line" ] || continue
		failed=$((failed + 1)); problems+=("KERNEL $line")
	done < <(grep -E '\[ *[0-9]+\.[0-9]+\] ' "$clean" | grep -E "$KERNEL_BAD" | sed 's/^.*\(\[ *[0-9]*\.[0-9]*\]\)/\1/' | sort -u)
	if [ -n "$STRICT" ] && [ "$skipped" -gt 0 ]; then
		failed=$((failed + skipped))
		problems+=("--strict: $skipped skipped")
	fi

	echo "$passed $failed $skipped" >"$RESULTS"
	echo
	echo "vm $ARCH ($KVER): $passed passed, $failed failed, $skipped skipped; VM ${VM_SECS}s, total $(echo "$(now) - $T0" | bc | cut -d. -f1)s"
	for line in "${skips[@]}"; do echo "  $line"; done
	for line in "${problems[@]}"; do echo "  $line"; done
	echo "  log: $LOG, results: $RESULTS"
	[ "$failed" -eq 0 ]
}

# ---------------------------------------------------------------- main

cleanup() {
	[ -n "$KEEP" ] || rm -rf "$W"
}

main() {
	parse_args "$@"
	arch_setup
	T0=$(now)
	mkdir -p "$B"
	exec 9>"$B/.lock"
	flock -n 9 || die "another tests/vm/run.sh $ARCH is running (lock $B/.lock)"
	rm -rf "$W"
	mkdir -p "$W"
	trap cleanup EXIT
	rm -f "$RESULTS"
	echo "0 1" >"$RESULTS" # until a verdict says otherwise

	host_deps
	pick_kernel
	kernel_image
	kernel_headers
	build_kmods
	cross_setup
	build_userspace
	[ -z "$BENCH" ] && build_it
	tools_root
	build_initramfs
	qemu_args
	[ "$ARCH" = arm64 ] && make_dtb
	step "prepared in $(echo "$(now) - $T0" | bc | cut -d. -f1)s"
	run_vm
	[ -n "$SHELL_MODE" ] && return 0
	verdict
}

main "$@"
