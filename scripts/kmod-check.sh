#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Kernel build checks of kmod/ (hvisor.ko) and kmod/sim/ (hvisor_sim.ko).
# Prints one line per check, "PASS <name>", "FAIL <name>: reason" or
# "SKIP <name>: reason", writes "passed failed skipped" to the results file and
# exits 1 if any check failed. Run with --help for the list of checks.
set -eu

usage() {
	cat <<'EOF'
Usage: scripts/kmod-check.sh [options]

Kernel build checks of hvisor.ko (kmod/) and hvisor_sim.ko (kmod/sim/). Each
module is built in a copy of kmod/ alone under the build directory
(kbuild writes objects next to the sources), never in the repository.

  x86_64-w1-<m>          W=1 KCFLAGS=-Werror build against Debian's installed
                         linux-headers-*-amd64 (newest ABI found); any compiler,
                         linker or modpost warning fails it
  x86_64-sparse-<m>      sparse (C=2) over every source file of <m>; any
                         "warning:" or "error:" from sparse fails it
  checkpatch-<file>      checkpatch.pl --strict --no-tree -f, 0 errors,
                         0 warnings, 0 checks: every .c/.h/Kbuild/Makefile under
                         kmod/ and proto/uapi/hvisor.h. proto/abi/*.h (owned by
                         proto/) are checked too but only reported ("#" lines)
  arm64-w1-<m>           as x86_64-w1 against Debian's arm64 headers
                         (apt-get download + dpkg-deb -x, host kbuild scripts)
  riscv64-compile-<m>    W=1 KCFLAGS=-Werror against linux-source-6.1 riscv
  loongarch64-compile-<m>  defconfig + modules_prepare. Compile only: there is
                         no Module.symvers, so modpost's "undefined" warnings
                         are expected and ignored; compiler warnings fail.
                         loongarch64 uses clang-19/lld-19 (Debian 12 has no
                         LoongArch gcc or binutils) with three small backports
                         of Linux 6.5's LoongArch clang build fixes.
  <m> is hvisor (production), hvisor_sim, hvisor-test (HVISOR_SIM=y against
  hvisor_sim's Module.symvers). A module whose sources are absent is SKIPped.

Options:
  --results FILE   write "passed failed skipped" here (default: <build>/results,
                   <build>/selftest/results with --self-test)
  --src DIR        tree holding kmod/ and proto/ (default: this repository)
  --build DIR      work directory (default: <repository>/build-kmod)
  --cache DIR      extracted headers, kernel trees, checkpatch (default:
                   <build>/cache); reused across runs
  --only LIST      comma-separated subset of
                   x86_64,checkpatch,arm64,riscv64,loongarch64 (default: all)
  --no-install     never run apt-get/dpkg; checks whose tools are missing SKIP
  --self-test      plant known defects in throwaway modules and check that
                   W=1, sparse and checkpatch really fail them (x86_64 only)
  -v, --verbose    print the whole log of a failing check
  -h, --help       this text

Exit status: 0 if no check failed (skips allowed), 1 otherwise, 2 usage.
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SELF="$ROOT/scripts/$(basename "$0")"
SRC=$ROOT
BUILD=
CACHE=
RESULTS=
ONLY="x86_64,checkpatch,arm64,riscv64,loongarch64"
INSTALL=1
VERBOSE=0
SELFTEST=0

while [ $# -gt 0 ]; do
	case $1 in
	--results) RESULTS=${2:?--results needs a file}; shift 2 ;;
	--src) SRC=${2:?--src needs a directory}; shift 2 ;;
	--build) BUILD=${2:?--build needs a directory}; shift 2 ;;
	--cache) CACHE=${2:?--cache needs a directory}; shift 2 ;;
	--only) ONLY=${2:?--only needs a list}; shift 2 ;;
	--no-install) INSTALL=0; shift ;;
	--self-test) SELFTEST=1; shift ;;
	-v | --verbose) VERBOSE=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "kmod-check: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
for g in ${ONLY//,/ }; do
	case $g in
	x86_64 | checkpatch | arm64 | riscv64 | loongarch64) ;;
	*) echo "kmod-check: unknown check group '$g' in --only" >&2; exit 2 ;;
	esac
done

abspath() { mkdir -p "$1" && (cd "$1" && pwd); }
SRC=$(cd "$SRC" && pwd)
BUILD=$(abspath "${BUILD:-$ROOT/build-kmod}")
CACHE=$(abspath "${CACHE:-$BUILD/cache}")
if [ "$SELFTEST" = 1 ]; then RESULTS=${RESULTS:-$BUILD/selftest/results}; fi
RESULTS=${RESULTS:-$BUILD/results}
mkdir -p "$(dirname "$RESULTS")"
case $BUILD/ in "$SRC"/kmod/* | "$SRC"/proto/*)
	echo "kmod-check: the build directory must not be inside kmod/ or proto/" >&2; exit 2 ;;
esac
LOGS=$BUILD/logs
mkdir -p "$LOGS"
JOBS=$(nproc 2>/dev/null || echo 2)
# kbuild reads these from the environment; they must not change our flags
unset KCFLAGS KCPPFLAGS ARCH CROSS_COMPILE LLVM C W V M O KBUILD_EXTRA_SYMBOLS 2>/dev/null || true
export LC_ALL=C

# One run at a time per cache (the selftest's child runs hold it already).
if [ -z "${KMOD_CHECK_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
	exec 9>"$CACHE/.lock"
	flock 9
	export KMOD_CHECK_LOCKED=1
fi

NPASS=0 NFAIL=0 NSKIP=0
want() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }
pass() { echo "PASS $1"; NPASS=$((NPASS + 1)); }
skip() { echo "SKIP $1: $2"; NSKIP=$((NSKIP + 1)); }
# fail NAME REASON [LOG [LINES-FILE]]: LINES-FILE holds the lines to show
fail() {
	echo "FAIL $1: $2"
	NFAIL=$((NFAIL + 1))
	if [ -n "${3:-}" ] && [ -f "$3" ]; then
		if [ "$VERBOSE" = 1 ]; then
			sed 's/^/    /' "$3"
		elif [ -n "${4:-}" ] && [ -s "$4" ]; then
			head -n 20 "$4" | sed 's/^/    /'
		else
			tail -n 20 "$3" | sed 's/^/    /'
		fi
	fi
}
note() { echo "# $*"; }

# ---------------------------------------------------------------- packages

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
APT_UPDATED=0
apt_update() {
	[ "$APT_UPDATED" = 1 ] && return 0
	APT_UPDATED=1
	as_root apt-get -q -o DPkg::Lock::Timeout=600 update >>"$LOGS/apt.log" 2>&1
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
missing_pkgs() {
	local p out=""
	for p in "$@"; do installed "$p" || out="$out $p"; done
	echo "${out# }"
}
apt_install() {
	apt_update || true
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		-o DPkg::Lock::Timeout=600 "$@" >>"$LOGS/apt.log" 2>&1
}
# ensure_pkgs PKG...: 0 if all are installed afterwards. Otherwise sets
# WHY (what is missing) and WHYKIND (SKIP: not allowed to install, or no
# such package in the archive; FAIL: the install failed).
ensure_pkgs() {
	local miss p
	miss=$(missing_pkgs "$@")
	[ -z "$miss" ] && return 0
	if [ "$INSTALL" = 0 ]; then
		WHY="not installed: $miss (--no-install)"; WHYKIND=SKIP; return 1
	fi
	# shellcheck disable=SC2086 # word lists
	apt_install $miss || true
	miss=$(missing_pkgs "$@")
	[ -z "$miss" ] && return 0
	for p in $miss; do
		if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
			WHY="package $p is not in the configured Debian archive"; WHYKIND=SKIP; return 1
		fi
	done
	WHY="apt-get install $miss failed (see $LOGS/apt.log)"; WHYKIND=FAIL
	return 1
}
# What every group needs, installed in one apt-get call up front.
group_pkgs() {
	case $1 in
	x86_64) echo "make gcc sparse" ;;
	checkpatch) echo "perl xz-utils linux-source-6.1" ;;
	arm64) echo "make gcc-aarch64-linux-gnu" ;;
	riscv64) echo "make gcc-riscv64-linux-gnu linux-source-6.1 xz-utils patch bc bison flex libssl-dev libelf-dev" ;;
	loongarch64) echo "make clang-19 lld-19 llvm-19 linux-source-6.1 xz-utils patch bc bison flex libssl-dev libelf-dev" ;;
	esac
}
prefetch_pkgs() {
	local g all=""
	for g in ${ONLY//,/ }; do all="$all $(group_pkgs "$g")"; done
	if want x86_64 || want arm64; then
		ls -d /usr/src/linux-headers-*-amd64 >/dev/null 2>&1 || all="$all linux-headers-amd64"
	fi
	# shellcheck disable=SC2086,SC2046 # word lists
	all=$(missing_pkgs $(printf '%s\n' $all | sort -u))
	# shellcheck disable=SC2086
	if [ -n "$all" ] && [ "$INSTALL" = 1 ]; then apt_install $all || true; fi
	return 0
}

# ---------------------------------------------------------------- sources

HAVE_KMOD=0 HAVE_SIM=0
[ -f "$SRC/kmod/Kbuild" ] && [ -f "$SRC/kmod/main.c" ] && HAVE_KMOD=1
[ -f "$SRC/kmod/sim/Kbuild" ] && HAVE_SIM=1

# fresh_copy DIR: DIR/kmod alone (it is the module's whole source, as a
# DKMS package ships it), without objects a developer may have left there
fresh_copy() {
	rm -rf "$1"
	mkdir -p "$1"
	tar -C "$SRC" -cf - --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude='.*.cmd' --exclude='Module.symvers' \
		--exclude='modules.order' --exclude='*.a' --exclude='.tmp_versions' \
		kmod | tar -C "$1" -xf -
}

# --------------------------------------------------------------- building

# log_diags LOG OUT: compiler/assembler/linker/sparse diagnostics of LOG
log_diags() {
	grep -E '(warning|error):' "$1" >"$2" 2>/dev/null || true
}

# build_one NAME ARCHDIR VARIANT KDIR MODE [make args...]
#   VARIANT hvisor | hvisor_sim | hvisor-test; MODE full | compile
# sets BUILT_OK=1 on success
build_one() {
	local name=$1 arch=$2 variant=$3 kdir=$4 mode=$5
	shift 5
	local dir=$BUILD/$arch/$variant m ko log=$LOGS/$name.log diags=$LOGS/$name.diag rc=0 n
	BUILT_OK=0
	fresh_copy "$dir"
	case $variant in
	hvisor) m=$dir/kmod ko=hvisor.ko ;;
	hvisor_sim) m=$dir/kmod/sim ko=hvisor_sim.ko ;;
	hvisor-test) m=$dir/kmod ko=hvisor.ko
		set -- "$@" HVISOR_SIM=y KBUILD_EXTRA_SYMBOLS="$BUILD/$arch/hvisor_sim/kmod/sim/Module.symvers" ;;
	esac
	BUILD_ARGS=("$@")
	make -C "$kdir" M="$m" W=1 KCFLAGS=-Werror -j"$JOBS" "$@" modules >"$log" 2>&1 || rc=$?
	log_diags "$log" "$diags"
	if [ "$mode" = full ]; then
		grep -E '^(WARNING|ERROR): modpost:' "$log" >>"$diags" || true
	fi
	n=$(wc -l <"$diags")
	if [ "$rc" != 0 ]; then
		fail "$name" "make exited $rc, $n diagnostic line(s) (log: $log)" "$log" "$diags"
	elif [ "$n" != 0 ]; then
		fail "$name" "$n warning line(s) (log: $log)" "$log" "$diags"
	elif [ ! -f "$m/$ko" ]; then
		fail "$name" "no $ko produced (log: $log)" "$log"
	else
		pass "$name"
		BUILT_OK=1
	fi
	BUILD_M=$m
}

# sparse_one NAME KDIR M BUILT_OK [make args...]: sparse over every .c of
# the module already built in M. The CHECK wrapper collects sparse's own
# output, so compiler lines cannot be mistaken for sparse findings.
sparse_one() {
	local name=$1 kdir=$2 m=$3 built=$4
	shift 4
	local log=$LOGS/$name.log slog=$LOGS/$name.sparse rc=0 n ran kcflags=-Werror
	: >"$slog"
	: >"$slog.ran"
	# a build that failed on -Werror still lets sparse see every file
	[ "$built" = 1 ] || kcflags=
	KMOD_SPARSE_LOG=$slog make -C "$kdir" M="$m" W=1 KCFLAGS="$kcflags" C=2 \
		CHECK="$SPARSE_WRAP" -k -j"$JOBS" "$@" modules >"$log" 2>&1 || rc=$?
	n=$(grep -cE '(warning|error):' "$slog" || true)
	ran=$(wc -l <"$slog.ran")
	if [ "$n" != 0 ]; then
		fail "$name" "sparse: $n warning/error line(s) (log: $slog)" "$slog" "$slog"
	elif [ "$rc" != 0 ]; then
		skip "$name" "not every file could be checked: the module has build errors (log: $log)"
	elif [ "$ran" = 0 ]; then
		fail "$name" "sparse never ran (log: $log)" "$log"
	else
		pass "$name"
	fi
}

SPARSE_WRAP=$BUILD/tools/sparse-wrap
write_sparse_wrap() {
	mkdir -p "$BUILD/tools"
	cat >"$SPARSE_WRAP" <<'EOF'
#!/bin/sh
# kbuild CHECK= wrapper written by scripts/kmod-check.sh: runs sparse and
# appends its output to $KMOD_SPARSE_LOG
for last; do :; done
out=$(sparse "$@" 2>&1)
rc=$?
echo "$last" >>"$KMOD_SPARSE_LOG.ran"
if [ -n "$out" ]; then
	printf '%s\n' "$out" >>"$KMOD_SPARSE_LOG"
	printf '%s\n' "$out" >&2
fi
exit $rc
EOF
	chmod +x "$SPARSE_WRAP"
}

# build_set ARCH KDIR MODE SPARSE [make args...]: the three modules
build_set() {
	local arch=$1 kdir=$2 mode=$3 sparse=$4 kind=w1 sim_ok=0
	shift 4
	[ "$mode" = compile ] && kind=compile
	local base=$arch-$kind
	if [ "$HAVE_KMOD" = 1 ]; then
		build_one "$base-hvisor" "$arch" hvisor "$kdir" "$mode" "$@"
		[ "$sparse" = 1 ] && sparse_one "$arch-sparse-hvisor" "$kdir" "$BUILD_M" "$BUILT_OK" "${BUILD_ARGS[@]}"
	else
		skip "$base-hvisor" "sources absent (kmod/Kbuild, kmod/main.c)"
		[ "$sparse" = 1 ] && skip "$arch-sparse-hvisor" "sources absent (kmod/Kbuild, kmod/main.c)"
	fi
	if [ "$HAVE_SIM" = 1 ]; then
		build_one "$base-hvisor_sim" "$arch" hvisor_sim "$kdir" "$mode" "$@"
		sim_ok=$BUILT_OK
		[ "$sparse" = 1 ] && sparse_one "$arch-sparse-hvisor_sim" "$kdir" "$BUILD_M" "$BUILT_OK" "${BUILD_ARGS[@]}"
	else
		skip "$base-hvisor_sim" "sources absent (kmod/sim/Kbuild)"
		[ "$sparse" = 1 ] && skip "$arch-sparse-hvisor_sim" "sources absent (kmod/sim/Kbuild)"
	fi
	local why=
	if [ "$HAVE_KMOD" = 0 ] || [ "$HAVE_SIM" = 0 ]; then
		why="sources absent (needs kmod/ and kmod/sim/)"
	elif [ "$sim_ok" = 0 ]; then
		why="needs hvisor_sim.ko's Module.symvers and its build failed"
	fi
	if [ -z "$why" ]; then
		build_one "$base-hvisor-test" "$arch" hvisor-test "$kdir" "$mode" "$@"
		[ "$sparse" = 1 ] && sparse_one "$arch-sparse-hvisor-test" "$kdir" "$BUILD_M" "$BUILT_OK" "${BUILD_ARGS[@]}"
	else
		skip "$base-hvisor-test" "$why"
		[ "$sparse" = 1 ] && skip "$arch-sparse-hvisor-test" "$why"
	fi
	return 0
}

# skip_set ARCH KIND SPARSE REASON: every module check of an arch
skip_set() {
	local v
	for v in hvisor hvisor_sim hvisor-test; do
		skip "$1-$2-$v" "$4"
		[ "$3" = 1 ] && skip "$1-sparse-$v" "$4"
	done
	return 0
}
# group_unavailable ARCH KIND SPARSE: after a failed ensure_pkgs
group_unavailable() {
	if [ "$WHYKIND" = FAIL ]; then
		fail "$1-toolchain" "$WHY"
		skip_set "$1" "$2" "$3" "no toolchain ($1-toolchain failed)"
	else
		skip_set "$1" "$2" "$3" "$WHY"
	fi
}

# ------------------------------------------------------- x86_64 and arm64

KVER=
find_x86_headers() {
	local d
	KVER=$(for d in /usr/src/linux-headers-*-amd64; do [ -d "$d" ] && echo "${d#/usr/src/linux-headers-}"; done | sort -V | tail -n 1)
	[ -n "$KVER" ] && [ -f "/usr/src/linux-headers-$KVER/Makefile" ]
}

check_x86_64() {
	if ! ensure_pkgs make gcc sparse; then group_unavailable x86_64 w1 1; return 0; fi
	if ! find_x86_headers; then
		if [ "$INSTALL" = 1 ]; then apt_install linux-headers-amd64 || true; fi
		if ! find_x86_headers; then
			if [ "$INSTALL" = 1 ]; then
				fail x86_64-headers "no /usr/src/linux-headers-*-amd64 after apt-get install linux-headers-amd64 (see $LOGS/apt.log)"
				skip_set x86_64 w1 1 "no kernel headers (x86_64-headers failed)"
			else
				skip_set x86_64 w1 1 "linux-headers-amd64 not installed (--no-install)"
			fi
			return 0
		fi
	fi
	note "x86_64: linux-headers-$KVER"
	write_sparse_wrap
	build_set x86_64 "/usr/src/linux-headers-$KVER" full 1
}

# arm64_fetch ABI VERSION DIR: the arm64 headers .deb extracted into DIR
arm64_fetch() {
	local abi=$1 ver=$2 dir=$3 deb h
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		as_root dpkg --add-architecture arm64 || return 1
		APT_UPDATED=0
	fi
	apt_update || return 1
	mkdir -p "$CACHE/debs" || return 1
	# exactly the version of the host's -common package: the arm64
	# Makefile includes /usr/src/linux-headers-<abi>-common/Makefile
	(cd "$CACHE/debs" && apt-get download "linux-headers-$abi-arm64:arm64=$ver") || return 1
	deb=$CACHE/debs/linux-headers-${abi}-arm64_${ver//:/%3a}_arm64.deb
	[ -f "$deb" ] || return 1
	rm -rf "$dir.tmp" && mkdir -p "$dir.tmp" || return 1
	dpkg-deb -x "$deb" "$dir.tmp" || return 1
	# its scripts/ and tools/ point at linux-kbuild-6.1 of arm64: use the
	# host's (same version, amd64 binaries)
	h=$dir.tmp/usr/src/linux-headers-$abi-arm64
	[ -f "$h/Makefile" ] || return 1
	ln -sfn /usr/lib/linux-kbuild-6.1/scripts "$h/scripts" || return 1
	ln -sfn /usr/lib/linux-kbuild-6.1/tools "$h/tools" || return 1
	rm -rf "$dir" && mv "$dir.tmp" "$dir" && touch "$dir/.done"
}

check_arm64() {
	if ! ensure_pkgs make gcc-aarch64-linux-gnu; then group_unavailable arm64 w1 0; return 0; fi
	if ! find_x86_headers; then
		skip_set arm64 w1 0 "no linux-headers-*-amd64 on the host (its -common and kbuild are reused)"
		return 0
	fi
	local abi=${KVER%-amd64} ver h dir log=$LOGS/arm64-headers.log
	ver=$(dpkg-query -W -f='${Version}' "linux-headers-$abi-common" 2>/dev/null || true)
	if [ -z "$ver" ] || ! installed linux-kbuild-6.1; then
		skip_set arm64 w1 0 "linux-headers-$abi-common or linux-kbuild-6.1 not installed"
		return 0
	fi
	dir=$CACHE/arm64-headers/$abi-$ver
	h=$dir/usr/src/linux-headers-$abi-arm64
	if [ ! -f "$dir/.done" ]; then
		if [ "$INSTALL" = 0 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
			skip_set arm64 w1 0 "dpkg architecture arm64 not added (--no-install)"
			return 0
		fi
		: >"$log"
		local rc=0
		arm64_fetch "$abi" "$ver" "$dir" >>"$log" 2>&1 || rc=$?
		if [ "$rc" != 0 ] || [ ! -f "$dir/.done" ]; then
			fail arm64-headers "could not get linux-headers-$abi-arm64:arm64=$ver (log: $log)" "$log"
			skip_set arm64 w1 0 "no arm64 headers (arm64-headers failed)"
			return 0
		fi
	fi
	note "arm64: linux-headers-$abi-arm64 $ver"
	build_set arm64 "$h" full 0 ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
}

# ------------------------------------------- linux-source-6.1 and its users

srcver() { dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true; }
TARBALL=/usr/src/linux-source-6.1.tar.xz
KSRC=$CACHE/linux-source-6.1

# LoongArch: Linux 6.1 does not build with clang (support came in 6.5).
# These are the 6.5 fixes a module build needs: CSR accessors as macros
# (clang wants constant builtin arguments), the vDSO and CHECKFLAGS
# getting clang's --target.
LOONGARCH_PATCH_ID=1
loongarch_patch() {
	cat <<'EOF'
--- a/arch/loongarch/include/asm/loongarch.h
+++ b/arch/loongarch/include/asm/loongarch.h
@@ -206,35 +206,12 @@
 #ifndef __ASSEMBLY__
 
 /* CSR */
-static __always_inline u32 csr_read32(u32 reg)
-{
-	return __csrrd_w(reg);
-}
-
-static __always_inline u64 csr_read64(u32 reg)
-{
-	return __csrrd_d(reg);
-}
-
-static __always_inline void csr_write32(u32 val, u32 reg)
-{
-	__csrwr_w(val, reg);
-}
-
-static __always_inline void csr_write64(u64 val, u32 reg)
-{
-	__csrwr_d(val, reg);
-}
-
-static __always_inline u32 csr_xchg32(u32 val, u32 mask, u32 reg)
-{
-	return __csrxchg_w(val, mask, reg);
-}
-
-static __always_inline u64 csr_xchg64(u64 val, u64 mask, u32 reg)
-{
-	return __csrxchg_d(val, mask, reg);
-}
+#define csr_read32(reg) __csrrd_w(reg)
+#define csr_read64(reg) __csrrd_d(reg)
+#define csr_write32(val, reg) __csrwr_w(val, reg)
+#define csr_write64(val, reg) __csrwr_d(val, reg)
+#define csr_xchg32(val, mask, reg) __csrxchg_w(val, mask, reg)
+#define csr_xchg64(val, mask, reg) __csrxchg_d(val, mask, reg)
 
 /* IOCSR */
 static __always_inline u32 iocsr_read32(u32 reg)
--- a/arch/loongarch/vdso/Makefile
+++ b/arch/loongarch/vdso/Makefile
@@ -16,8 +16,8 @@
 	$(filter -m%-float,$(KBUILD_CFLAGS)) \
 	-D__VDSO__
 
-ifeq ($(cc-name),clang)
-ccflags-vdso += $(filter --target=%,$(KBUILD_CFLAGS))
+ifdef CONFIG_CC_IS_CLANG
+ccflags-vdso += $(CLANG_FLAGS)
 endif
 
 cflags-vdso := $(ccflags-vdso) \
--- a/arch/loongarch/Makefile
+++ b/arch/loongarch/Makefile
@@ -101,7 +101,7 @@
 KBUILD_LDFLAGS	+= -m $(ld-emul)
 
 ifdef CONFIG_LOONGARCH
-CHECKFLAGS += $(shell $(CC) $(KBUILD_CFLAGS) -dM -E -x c /dev/null | \
+CHECKFLAGS += $(shell $(CC) $(CLANG_FLAGS) $(KBUILD_CFLAGS) -dM -E -x c /dev/null | \
 	grep -E -vw '__GNUC_(MINOR_|PATCHLEVEL_)?_' | \
 	sed -e "s/^\#define /-D'/" -e "s/ /'='/" -e "s/$$/'/" -e 's/\$$/&&/g')
 endif
EOF
}

# ensure_ksrc: the whole linux-source-6.1 tree, extracted once per version
ensure_ksrc() {
	local want stamp=$KSRC/.kmod-check-stamp log=$LOGS/linux-source.log
	want="$(srcver) loongarch-patch-$LOONGARCH_PATCH_ID"
	[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
	[ -f "$TARBALL" ] || { WHY="$TARBALL missing"; return 1; }
	rm -rf "$KSRC" "$KSRC.tmp"
	mkdir -p "$KSRC.tmp"
	if ! { tar -C "$KSRC.tmp" -xJf "$TARBALL" &&
		loongarch_patch | patch -d "$KSRC.tmp/linux-source-6.1" -p1 --forward; } >"$log" 2>&1; then
		WHY="extracting or patching $TARBALL failed (log: $log)"
		return 1
	fi
	mv "$KSRC.tmp/linux-source-6.1" "$KSRC"
	rmdir "$KSRC.tmp"
	echo "$want" >"$stamp"
}

# prepare_tree ARCH OUT [make args...]: defconfig + modules_prepare, cached
prepare_tree() {
	local arch=$1 out=$2
	shift 2
	local stamp=$out/.kmod-check-stamp log=$LOGS/$arch-kernel-tree.log want
	want="$(cat "$KSRC/.kmod-check-stamp") $* $("${PREP_CC}" --version | head -n 1)"
	[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
	rm -rf "$out"
	if ! { make -C "$KSRC" O="$out" "$@" defconfig &&
		make -C "$KSRC" O="$out" "$@" -j"$JOBS" modules_prepare; } >"$log" 2>&1; then
		WHY="defconfig + modules_prepare failed (log: $log)"
		return 1
	fi
	echo "$want" >"$stamp"
}

check_source_arch() {
	local arch=$1 pkgs
	shift
	pkgs=$(group_pkgs "$arch")
	# shellcheck disable=SC2086
	if ! ensure_pkgs $pkgs; then group_unavailable "$arch" compile 0; return 0; fi
	if ! ensure_ksrc; then
		fail "$arch-kernel-tree" "$WHY"
		skip_set "$arch" compile 0 "no kernel tree ($arch-kernel-tree failed)"
		return 0
	fi
	if ! prepare_tree "$arch" "$CACHE/kbuild-$arch" "$@"; then
		fail "$arch-kernel-tree" "$WHY" "$LOGS/$arch-kernel-tree.log"
		skip_set "$arch" compile 0 "no kernel tree ($arch-kernel-tree failed)"
		return 0
	fi
	note "$arch: linux-source-6.1 $(srcver) defconfig, $("$PREP_CC" --version | head -n 1);" \
		"compile only (modpost \"undefined\" warnings expected: no Module.symvers)"
	build_set "$arch" "$CACHE/kbuild-$arch" compile 0 "$@" KBUILD_MODPOST_WARN=1
}

check_riscv64() {
	PREP_CC=riscv64-linux-gnu-gcc
	check_source_arch riscv64 ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu-
}

check_loongarch64() {
	# gnusf: the triple of the kernel's soft-float lp64s ABI
	PREP_CC=clang-19
	check_source_arch loongarch64 ARCH=loongarch LLVM=-19 CROSS_COMPILE=loongarch64-linux-gnusf-
}

# -------------------------------------------------------------- checkpatch

CPDIR=$CACHE/checkpatch
ensure_checkpatch() {
	local want f
	want=$(srcver)
	[ -f "$CPDIR/.stamp" ] && [ "$(cat "$CPDIR/.stamp")" = "$want" ] && return 0
	[ -f "$TARBALL" ] || { WHY="$TARBALL missing"; return 1; }
	if { want riscv64 || want loongarch64; } && [ "$(missing_pkgs patch)" = "" ]; then
		ensure_ksrc || true
	fi
	rm -rf "$CPDIR" "$CPDIR.tmp"
	mkdir -p "$CPDIR.tmp"
	if [ -f "$KSRC/.kmod-check-stamp" ] && [ -f "$KSRC/scripts/checkpatch.pl" ]; then
		for f in checkpatch.pl spelling.txt const_structs.checkpatch; do
			cp "$KSRC/scripts/$f" "$CPDIR.tmp/"
		done
	else
		# only the three members: still has to decompress the tarball (~9 s)
		if ! tar -C "$CPDIR.tmp" -xJf "$TARBALL" --strip-components=2 \
			linux-source-6.1/scripts/checkpatch.pl linux-source-6.1/scripts/spelling.txt \
			linux-source-6.1/scripts/const_structs.checkpatch >"$LOGS/checkpatch-extract.log" 2>&1; then
			WHY="extracting checkpatch.pl from $TARBALL failed (log: $LOGS/checkpatch-extract.log)"
			return 1
		fi
	fi
	mv "$CPDIR.tmp" "$CPDIR"
	echo "$want" >"$CPDIR/.stamp"
}

cp_log() { echo "$LOGS/checkpatch-$(echo "$1" | tr '/' '_').log"; }
# checkpatch_all REL...: run checkpatch on every file (REL relative to
# $SRC), $JOBS at a time, each into its cp_log
# shellcheck disable=SC2016 # expanded by the inner sh
checkpatch_all() {
	local rel
	for rel; do printf '%s\0%s\0' "$rel" "$(cp_log "$rel")"; done |
		(cd "$SRC" && xargs -0 -n 2 -P "$JOBS" sh -c \
			'perl "$0" --strict --no-tree --show-types -f "$1" >"$2" 2>&1 || true' "$CPDIR/checkpatch.pl")
}
# checkpatch_run REL: CP_TOTAL from its log, one "file:line: TYPE: msg"
# line per finding into LOG.diag
CP_TOTAL=
checkpatch_run() {
	local out
	out=$(cp_log "$1")
	[ -f "$out" ] || checkpatch_all "$1"
	CP_TOTAL=$(grep -E '^total: [0-9]+ errors, [0-9]+ warnings, [0-9]+ checks' "$out" | tail -n 1 || true)
	awk 'function flush() { if (msg != "") print msg; msg = "" }
		/^(ERROR|WARNING|CHECK):/ { flush(); msg = $0; next }
		msg != "" && /^#[0-9]+: FILE: / {
			f = $0; sub(/^#[0-9]+: FILE: /, "", f); sub(/:$/, "", f)
			print f ": " msg; msg = ""
		}
		END { flush() }' "$out" >"$out.diag"
}
checkpatch_file() {
	local rel=$1 name out
	name=checkpatch-$rel
	out=$(cp_log "$rel")
	checkpatch_run "$rel"
	if [ -z "$CP_TOTAL" ]; then
		fail "$name" "checkpatch printed no summary (log: $out)" "$out"
	elif echo "$CP_TOTAL" | grep -qE '^total: 0 errors, 0 warnings, 0 checks'; then
		pass "$name"
	else
		fail "$name" "$(echo "$CP_TOTAL" | sed 's/^total: //; s/, [0-9]* lines checked//')" "$out" "$out.diag"
	fi
}
checkpatch_report() {
	local rel=$1 out
	out=$(cp_log "$rel")
	checkpatch_run "$rel"
	CP_TOTAL=${CP_TOTAL#total: }
	note "checkpatch (report only, owned by proto/) $rel: ${CP_TOTAL:-no summary (log: $out)}"
	sed 's/^/#     /' "$out.diag"
}

check_checkpatch() {
	local f files
	if ! ensure_pkgs perl xz-utils linux-source-6.1; then
		if [ "$WHYKIND" = FAIL ]; then fail checkpatch-toolchain "$WHY"; else skip checkpatch "$WHY"; fi
		return 0
	fi
	if ! ensure_checkpatch; then
		fail checkpatch-toolchain "$WHY"
		return 0
	fi
	files=
	if [ -d "$SRC/kmod" ]; then
		# kmod/include/ is checked under its proto/ names below
		files=$(cd "$SRC" && find kmod -path kmod/include -prune -o -type f \( -name '*.c' -o -name '*.h' -o -name Kbuild -o -name Makefile \) -print | sort)
	fi
	local all=$files
	[ -f "$SRC/proto/uapi/hvisor.h" ] && all="$all proto/uapi/hvisor.h"
	for f in "$SRC"/proto/abi/*.h; do [ -f "$f" ] && all="$all ${f#"$SRC"/}"; done
	for f in $all; do rm -f "$(cp_log "$f")"; done
	# shellcheck disable=SC2086 # file names without blanks (find above)
	checkpatch_all $all
	if [ -d "$SRC/kmod" ]; then
		if [ -z "$files" ]; then
			skip checkpatch-kmod "no .c/.h/Kbuild/Makefile under kmod/"
		fi
		for f in $files; do checkpatch_file "$f"; done
	else
		skip checkpatch-kmod "sources absent (kmod/)"
	fi
	if [ -f "$SRC/proto/uapi/hvisor.h" ]; then
		checkpatch_file proto/uapi/hvisor.h
	else
		skip checkpatch-proto/uapi/hvisor.h "absent"
	fi
	for f in "$SRC"/proto/abi/*.h; do
		[ -f "$f" ] && checkpatch_report "${f#"$SRC"/}"
	done
	return 0
}

# --------------------------------------------------------------- self-test

# Known-bad modules: each must fail exactly the check it targets, and the
# clean one must pass everything, or the detection is broken.
selftest_tree() {
	local t=$1 kind=$2
	rm -rf "$t"
	mkdir -p "$t/kmod/include/uapi" "$t/proto/uapi"
	cat >"$t/kmod/include/uapi/hvisor.h" <<'EOF'
/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
#ifndef _UAPI_SELFTEST_H
#define _UAPI_SELFTEST_H

#include <linux/types.h>

#define SELFTEST_MAGIC 0x42

#endif
EOF
	ln -s ../../kmod/include/uapi/hvisor.h "$t/proto/uapi/hvisor.h" # as in the tree
	# shellcheck disable=SC2016 # make syntax
	printf '%s\n' '# SPDX-License-Identifier: GPL-2.0-only' 'ccflags-y += -I$(src)/include' \
		'obj-m := hvisor.o' 'hvisor-y := main.o' >"$t/kmod/Kbuild"
	local body='	return 0;' extra=
	case $kind in
	sparse) # a __user pointer assigned to a kernel pointer
		body='	u32 __user *up = (u32 __user *)arg;
	u32 *kp = up;

	return kp ? 0 : 1;' ;;
	w1) # no prototype: -Wmissing-prototypes is a W=1 warning
		extra='int selftest_noproto(void)
{
	return 1;
}

' ;;
	checkpatch) # C99 comment and trailing whitespace
		body='	return 0; // done 	' ;;
	esac
	cat >"$t/kmod/main.c" <<EOF
// SPDX-License-Identifier: GPL-2.0-only
#include <linux/module.h>

#include "uapi/hvisor.h"

${extra}static int selftest_probe(unsigned long arg)
{
$body
}

static int __init selftest_init(void)
{
	return selftest_probe(SELFTEST_MAGIC);
}

static void __exit selftest_exit(void)
{
}

module_init(selftest_init);
module_exit(selftest_exit);
MODULE_DESCRIPTION("kmod-check self-test");
MODULE_LICENSE("GPL");
EOF
}

run_selftest() {
	local kind out expect line ok args=()
	[ "$INSTALL" = 0 ] && args=(--no-install)
	for kind in clean sparse w1 checkpatch; do
		selftest_tree "$BUILD/selftest/$kind/src" "$kind"
		out=$BUILD/selftest/$kind/out
		"$SELF" --src "$BUILD/selftest/$kind/src" --build "$BUILD/selftest/$kind/build" \
			--cache "$CACHE" --only x86_64,checkpatch "${args[@]}" >"$out" 2>&1 || true
		case $kind in
		clean) expect="PASS x86_64-w1-hvisor|PASS x86_64-sparse-hvisor|PASS checkpatch-kmod/main.c|PASS checkpatch-kmod/Kbuild|SKIP x86_64-w1-hvisor_sim|SKIP x86_64-w1-hvisor-test" ;;
		sparse) expect="PASS x86_64-w1-hvisor|FAIL x86_64-sparse-hvisor|PASS checkpatch-kmod/main.c" ;;
		w1) expect="FAIL x86_64-w1-hvisor|PASS checkpatch-kmod/main.c" ;;
		checkpatch) expect="PASS x86_64-w1-hvisor|PASS x86_64-sparse-hvisor|FAIL checkpatch-kmod/main.c" ;;
		esac
		ok=1
		local IFS='|'
		for line in $expect; do
			grep -q "^$line\\b" "$out" || { ok=0; break; }
		done
		unset IFS
		if [ "$ok" = 1 ]; then
			pass "selftest-$kind"
		else
			fail "selftest-$kind" "expected '$line' (output: $out)" "$out"
		fi
	done
}

# ------------------------------------------------------------------- main

if [ "$SELFTEST" = 1 ]; then
	prefetch_pkgs
	run_selftest
else
	prefetch_pkgs
	if want x86_64; then check_x86_64; fi
	if want checkpatch; then check_checkpatch; fi
	if want arm64; then check_arm64; fi
	if want riscv64; then check_riscv64; fi
	if want loongarch64; then check_loongarch64; fi
fi

echo "$NPASS $NFAIL $NSKIP" >"$RESULTS"
echo "kmod-check: $NPASS passed, $NFAIL failed, $NSKIP skipped (${SECONDS} s)"
[ "$NFAIL" = 0 ]
