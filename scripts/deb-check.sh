#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds the Debian packages (debian/), checks them with lintian, installs
# them, builds hvisor.ko through DKMS and checks the installed files.
# Prints "PASS <name>", "FAIL <name>: reason" or "SKIP <name>: reason" per
# check, writes "passed failed skipped" to the results file and exits 1 if
# any check failed.
set -eu

usage() {
	cat <<'EOF'
Usage: scripts/deb-check.sh [options]

  deb-build          dpkg-buildpackage -b -us -uc in a copy of the tree under
                     the build directory (the package build runs the unit tests)
  deb-lintian        lintian over the .changes: no E: tag (W: lines are shown)
  deb-install        apt-get install of hvisor-tools, hvisor-dkms, hvisor-sim
  deb-group          the postinst created the system group hvisor
  deb-files-<pkg>    every path dpkg -L lists exists, and the files this
                     project documents are among them
  deb-run            the installed programs run (--version / --help)
  deb-units          systemd-analyze verify of the installed units, nothing
                     on stderr
  deb-dkms-<kver>    dkms build + install of hvisor.ko for each installed
                     linux-headers-<kver>; modinfo's vermagic names <kver>

The install checks need root and change the system (that is what they
check): run them on a machine you may install packages on, e.g. CI.

Options:
  --results FILE   write "passed failed skipped" here (default: <build>/results)
  --build DIR      work directory (default: <repository>/build-deb)
  --no-install     build and lintian only; the install checks SKIP
  --purge          remove the three packages again at the end
  -h, --help       this text

Exit status: 0 if no check failed (skips allowed), 1 otherwise, 2 usage.
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-deb
RESULTS=
INSTALL=1
PURGE=0

while [ $# -gt 0 ]; do
	case $1 in
	--results) RESULTS=${2:?--results needs a file}; shift 2 ;;
	--build) BUILD=${2:?--build needs a directory}; shift 2 ;;
	--no-install) INSTALL=0; shift ;;
	--purge) PURGE=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "deb-check: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
RESULTS=${RESULTS:-$BUILD/results}
LOGS=$BUILD/logs
PKGS="hvisor-tools hvisor-dkms hvisor-sim"
VERSION=$(sed -n '1s/^[^(]*(\([^)-]*\).*/\1/p' "$ROOT/debian/changelog")
PASS=0 FAIL=0 SKIP=0

pass() { echo "PASS $1"; PASS=$((PASS + 1)); }
fail() { echo "FAIL $1: $2"; FAIL=$((FAIL + 1)); }
skip() { echo "SKIP $1: $2"; SKIP=$((SKIP + 1)); }

finish() {
	mkdir -p "$(dirname "$RESULTS")"
	echo "$PASS $FAIL $SKIP" >"$RESULTS"
	echo "deb-check: $PASS passed, $FAIL failed, $SKIP skipped (logs: $LOGS)"
	[ "$FAIL" -eq 0 ]
	exit
}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }

apt_install() {
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends -o DPkg::Lock::Timeout=600 "$@" >>"$LOGS/apt.log" 2>&1
}

# The tools the package build needs (debian/control's Build-Depends and
# dpkg-buildpackage's own), installed in one apt-get call.
build_deps() {
	local need="debhelper dh-dkms dpkg-dev fakeroot lintian meson ninja-build pkg-config
		libjson-c-dev libevent-dev liburing-dev libcmocka-dev python3 systemd"
	local miss="" p
	for p in $need; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || miss="$miss $p"
	done
	[ -z "$miss" ] && return 0
	[ "$INSTALL" -eq 1 ] || { echo "missing:$miss"; return 1; }
	as_root apt-get -q -o DPkg::Lock::Timeout=600 update >>"$LOGS/apt.log" 2>&1 || true
	# shellcheck disable=SC2086
	apt_install $miss || { echo "apt-get install$miss failed (see $LOGS/apt.log)"; return 1; }
}

# A copy of the tree as git sees it (tracked and new files, no build dirs):
# dpkg-buildpackage builds in place and writes its .debs next to the tree.
copy_tree() {
	local dst=$BUILD/src/hvisor-tools-$VERSION
	rm -rf "$BUILD/src"
	mkdir -p "$dst"
	if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$ROOT" ls-files -z --cached --others --exclude-standard |
			(cd "$ROOT" && xargs -0 tar -c --no-recursion -f -) | tar -x -C "$dst"
	else
		tar -C "$ROOT" -c --exclude='./build*' --exclude=./debian/tmp . | tar -x -C "$dst"
	fi
	echo "$dst"
}

check_build() {
	local why src
	if ! why=$(build_deps); then
		fail deb-build "$why"
		return 1
	fi
	src=$(copy_tree)
	if (cd "$src" && dpkg-buildpackage -b -us -uc) >"$LOGS/build.log" 2>&1; then
		pass deb-build
	else
		fail deb-build "dpkg-buildpackage failed (see $LOGS/build.log)"
		return 1
	fi
}

check_lintian() {
	local changes
	changes=$(ls "$BUILD"/src/hvisor-tools_"$VERSION"_*.changes)
	lintian --info "$changes" >"$LOGS/lintian.log" 2>&1 || true
	sed -n 's/^W: /# lintian W: /p' "$LOGS/lintian.log"
	if grep -q '^E: ' "$LOGS/lintian.log"; then
		fail deb-lintian "$(grep -c '^E: ' "$LOGS/lintian.log") errors (see $LOGS/lintian.log)"
	else
		pass deb-lintian
	fi
}

debs() {
	local p
	for p in $PKGS; do ls "$BUILD"/src/"${p}_${VERSION}"_*.deb; done
}

check_install() {
	# shellcheck disable=SC2046 # absolute paths: apt takes them as files
	if apt_install $(debs); then
		pass deb-install
	else
		fail deb-install "apt-get install of the .debs failed (see $LOGS/apt.log)"
		return 1
	fi
	if getent group hvisor >/dev/null; then
		pass deb-group
	else
		fail deb-group "no group hvisor after hvisor-tools' postinst"
	fi
}

# What each package must hold (more may be there: docs, changelogs).
expected() {
	case $1 in
	hvisor-tools)
		echo /usr/sbin/hvisord /usr/libexec/hvisor-virtiod /usr/bin/hvctl /usr/bin/hvisor \
			/lib/systemd/system/hvisord.service /lib/systemd/system/hvisord.socket \
			/usr/lib/tmpfiles.d/hvisor.conf /etc/default/hvisord \
			/usr/share/man/man1/hvctl.1.gz /usr/share/man/man8/hvisord.8.gz \
			/usr/share/man/man8/hvisor-virtiod.8.gz /usr/share/man/man8/hvisor-zone.8.gz \
			/usr/share/man/man5/hvisor-zone.json.5.gz \
			/usr/share/man/man5/hvisor-virtio.json.5.gz \
			/usr/share/bash-completion/completions/hvctl
		;;
	hvisor-dkms)
		echo "/usr/src/hvisor-$VERSION/dkms.conf /usr/src/hvisor-$VERSION/Kbuild" \
			"/usr/src/hvisor-$VERSION/Makefile /usr/src/hvisor-$VERSION/include/uapi/hvisor.h"
		;;
	hvisor-sim)
		echo /usr/bin/hvisor-sim /usr/bin/hvsim-guest /usr/share/man/man1/hvisor-sim.1.gz \
			/usr/share/man/man1/hvsim-guest.1.gz
		;;
	esac
}

check_files() {
	local p f list missing absent
	for p in $PKGS; do
		list=$(dpkg -L "$p" 2>/dev/null) || { fail "deb-files-$p" "dpkg -L $p failed"; continue; }
		missing="" absent=""
		while IFS= read -r f; do
			[ -e "$f" ] || [ -L "$f" ] || missing="$missing $f"
		done <<<"$list"
		for f in $(expected "$p"); do
			grep -qxF "$f" <<<"$list" || absent="$absent $f"
		done
		if [ -n "$missing" ]; then
			fail "deb-files-$p" "listed by dpkg -L but not on disk:$missing"
		elif [ -n "$absent" ]; then
			fail "deb-files-$p" "not in the package:$absent"
		else
			pass "deb-files-$p"
		fi
	done
}

check_run() {
	local b out bad=""
	for b in /usr/bin/hvctl /usr/sbin/hvisord /usr/libexec/hvisor-virtiod \
		/usr/bin/hvisor-sim /usr/bin/hvsim-guest; do
		out=$("$b" --version 2>&1) || bad="$bad $b($?)"
		case $out in *"$VERSION"*) ;; *) bad="$bad $b('$out')" ;; esac
	done
	# the upstream spelling has upstream's options only
	/usr/bin/hvisor --help >/dev/null 2>&1 || bad="$bad /usr/bin/hvisor --help($?)"
	if [ -z "$bad" ]; then pass deb-run; else fail deb-run "--version failed:$bad"; fi
}

check_units() {
	local err
	if ! command -v systemd-analyze >/dev/null; then
		skip deb-units "no systemd-analyze"
		return
	fi
	err=$(systemd-analyze verify /lib/systemd/system/hvisord.service \
		/lib/systemd/system/hvisord.socket 2>&1 >/dev/null) || true
	if [ -z "$err" ]; then pass deb-units; else fail deb-units "$(tr '\n' ' ' <<<"$err")"; fi
}

# For each kernel whose headers are installed: build and install through
# DKMS, then check the module is the one built for that kernel.
check_dkms() {
	local d k ko vm any=0
	for d in /usr/src/linux-headers-*; do
		k=${d#/usr/src/linux-headers-}
		[ -f "$d/Makefile" ] && [ -e "/lib/modules/$k/build" ] || continue
		any=1
		if ! as_root dkms build -m hvisor -v "$VERSION" -k "$k" >"$LOGS/dkms-$k.log" 2>&1 ||
			! as_root dkms install -m hvisor -v "$VERSION" -k "$k" >>"$LOGS/dkms-$k.log" 2>&1; then
			fail "deb-dkms-$k" "dkms build/install failed (see $LOGS/dkms-$k.log)"
			continue
		fi
		ko=$(find "/lib/modules/$k/updates/dkms" -name 'hvisor.ko*' 2>/dev/null | head -n 1)
		vm=$([ -n "$ko" ] && modinfo -F vermagic "$ko" 2>/dev/null) || vm=
		case $vm in
		"$k "*) pass "deb-dkms-$k" ;;
		*) fail "deb-dkms-$k" "no hvisor.ko for $k under /lib/modules/$k/updates/dkms (vermagic '$vm')" ;;
		esac
	done
	[ "$any" -eq 1 ] || skip deb-dkms "no linux-headers-* installed (apt-get install linux-headers-$(uname -r))"
}

mkdir -p "$LOGS"
: >"$LOGS/apt.log"
check_build || finish
check_lintian
if [ "$INSTALL" -eq 0 ]; then
	for c in deb-install deb-group deb-files deb-run deb-units deb-dkms; do skip "$c" "--no-install"; done
	finish
fi
if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
	for c in deb-install deb-group deb-files deb-run deb-units deb-dkms; do skip "$c" "needs root"; done
	finish
fi
if check_install; then
	check_files
	check_run
	check_units
	check_dkms
fi
if [ "$PURGE" -eq 1 ]; then
	# shellcheck disable=SC2086
	as_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $PKGS >>"$LOGS/apt.log" 2>&1 ||
		fail deb-purge "apt-get purge failed (see $LOGS/apt.log)"
fi
finish
