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
  deb-units          systemd-analyze verify of the installed units (hvisord.service,
                     hvisord.socket, an hvisor-zone@ instance): status 0 and
                     nothing at all on stderr
  deb-tmpfiles       systemd-tmpfiles --create of the installed tmpfiles.d entry
                     (into a scratch root) makes run/hvisor, mode 0755
  deb-caps           the installed hvisord under hvisord.service's
                     CapabilityBoundingSet= and NoNewPrivileges= (setpriv),
                     in a network namespace, on hvisor-sim: blk, console and net
                     devices, hvisor-virtiod as nobody, the console pty in group
                     hvisor, devices removed from the running zone
  deb-initd          /etc/init.d/hvisord with /etc/default/hvisord pointing at
                     hvisor-sim and a zone in /etc/hvisor/zones.enabled: start,
                     status, hvctl version, the zone runs, restart (new pid, zone
                     still up), stop, status 3, no hvisord/hvisor-virtiod left
  deb-initd-busybox  the same under busybox sh with busybox's applets only
                     (its start-stop-daemon), as on a busybox root filesystem
  deb-openrc         the same for the OpenRC script (meson -Dinitscripts=openrc
                     for the package's paths), run by openrc-run of Debian's
                     openrc (extracted, not installed) in a private root over
                     the installed system
  deb-systemd        the units under systemd: systemd-nspawn boots the installed
                     system (hvisor-sim as backend, a zone in /etc/hvisor/zones):
                     the socket is root:hvisor 0660, hvctl version activates
                     hvisord.service (Type=notify), which runs with the unit's
                     bounding set, no_new_privs, seccomp and a read-only /usr;
                     hvisor-zone@deb-check starts the zone (blk, console, net;
                     hvisor-virtiod as nobody); a restart of hvisord.service
                     keeps that hvisor-virtiod and the devices; the zone stops; user nobody may not
                     connect, a member of group hvisor may; stopping
                     hvisord.service leaves no process
  deb-dkms-<kver>    dkms build + install of hvisor.ko for each installed
                     linux-headers-<kver>; modinfo's vermagic names <kver>

The install checks need root and change the system (that is what they
check): run them on a machine you may install packages on, e.g. CI. The
init.d checks put back /etc/default/hvisord and zones.enabled and remove
their zone files afterwards.

Options:
  --results FILE   write "passed failed skipped" here (default: <build>/results)
  --build DIR      work directory (default: <repository>/build-deb)
  --no-install     build and lintian only; the install checks SKIP
  --no-build       no build, lintian or install: the other checks run against
                   the packages installed already (by an earlier run)
  --purge          remove the three packages again at the end
  -h, --help       this text

Exit status: 0 if no check failed (skips allowed), 1 otherwise, 2 usage.
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/check-lib.sh
. "$ROOT/scripts/check-lib.sh"
HVCTL=/usr/bin/hvctl
BUILD=$ROOT/build-deb
RESULTS=
INSTALL=1
BUILD_DEBS=1
PURGE=0

while [ $# -gt 0 ]; do
	case $1 in
	--results) RESULTS=${2:?--results needs a file}; shift 2 ;;
	--build) BUILD=${2:?--build needs a directory}; shift 2 ;;
	--no-install) INSTALL=0; shift ;;
	--no-build) BUILD_DEBS=0; shift ;;
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
	for p in $PKGS; do ls "$BUILD/src/${p}_${VERSION}"_*.deb; done
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
			/usr/lib/tmpfiles.d/hvisor.conf /etc/default/hvisord /etc/init.d/hvisord \
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
	local err rc=0 d=/lib/systemd/system
	if ! command -v systemd-analyze >/dev/null; then
		skip deb-units "no systemd-analyze"
		return
	fi
	# warnings go to stderr with status 0: any output at all fails
	err=$(systemd-analyze verify "$d/hvisord.service" "$d/hvisord.socket" \
		"$d/hvisor-zone@deb-check.service" 2>&1 >/dev/null) || rc=$?
	if [ "$rc" -eq 0 ] && [ -z "$err" ]; then
		pass deb-units
	else
		fail deb-units "status $rc: $(tr '\n' ' ' <<<"$err")"
	fi
}

check_tmpfiles() {
	local r=$BUILD/tmpfiles-root err mode
	rm -rf "$r"
	mkdir -p "$r"
	err=$(systemd-tmpfiles --root="$r" --create /usr/lib/tmpfiles.d/hvisor.conf 2>&1) ||
		{ fail deb-tmpfiles "systemd-tmpfiles failed: $err"; return; }
	mode=$(stat -c %a "$r/run/hvisor" 2>/dev/null) || mode=none
	if [ -n "$err" ]; then
		fail deb-tmpfiles "systemd-tmpfiles said: $(tr '\n' ' ' <<<"$err")"
	elif [ "$mode" != 755 ]; then
		fail deb-tmpfiles "run/hvisor: mode $mode, expected 755"
	else
		pass deb-tmpfiles
	fi
	rm -rf "$r"
}

# --- the installed programs at work, on the installed hvisor-sim ---------

# The steps of check_caps, in namespaces of their own (pid, network: hvctl
# makes the tap there; the backend and the descriptor keeper end with it).
# Arguments: check-lib.sh, setpriv's bounding set, more setpriv options;
# prints what failed, PASS if nothing did.
# shellcheck disable=SC2317,SC1090 # run by the namespace's bash
caps_steps() {
	local h=(timeout 20 /usr/bin/hvctl --socket "$T/run/hvisord.sock") pty hv why=""
	. "$1"
	bg_until "$T/sim.log" listening /usr/bin/hvisor-sim --socket "$T/sim.sock"
	bg_until "$T/hvisord.log" "listening on" setpriv --bounding-set "$2" "${@:3}" \
		/usr/sbin/hvisord --backend "sim:$T/sim.sock" --runtime-dir "$T/run"
	hv=$BG_PID
	if ! "${h[@]}" virtio start "$T/caps.virtio.json" >>"$T/hvctl.log" 2>&1; then
		why="hvctl virtio start failed (hvisor-virtiod: CAP_SETUID/CAP_SETGID?)"
	elif ! "${h[@]}" zone start "$T/caps.json" >>"$T/hvctl.log" 2>&1; then
		why="hvctl zone start failed"
	elif ! zone_running --socket "$T/run/hvisord.sock"; then
		why="the zone does not run"
	elif ! pgrep -u nobody -P "$hv" -x hvisor-virtio >/dev/null; then
		why="no hvisor-virtiod child running as nobody"
	elif pty=$(readlink "$T/run/zone1/console") && [ "$(stat -c %G "$pty" 2>/dev/null)" != hvisor ]; then
		why="console pty '$pty' is not group hvisor (CAP_CHOWN)"
	# the last device of a running zone goes: hvisord stops its
	# hvisor-virtiod, which runs as nobody (CAP_KILL)
	elif ! "${h[@]}" virtio stop "$T/caps.virtio.json" >>"$T/hvctl.log" 2>&1; then
		why="hvctl virtio stop failed or hung (CAP_KILL?)"
	elif ! "${h[@]}" zone shutdown 1 >>"$T/hvctl.log" 2>&1; then
		why="hvctl zone shutdown failed"
	fi
	echo "${why:-PASS}"
}

# hvisord.service's CapabilityBoundingSet= for setpriv --bounding-set
caps_set() {
	local caps c set=-all
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' /lib/systemd/system/hvisord.service)
	[ -n "$caps" ] || return 1
	for c in $caps; do
		c=${c#CAP_}
		set="$set,+${c,,}"
	done
	echo "$set"
}

check_caps() {
	local unit=/lib/systemd/system/hvisord.service set nnp=() why
	T=$BUILD/caps
	set=$(caps_set) || { fail deb-caps "no CapabilityBoundingSet= in $unit"; return; }
	grep -qx 'NoNewPrivileges=yes' "$unit" && nnp=(--no-new-privs)
	rm -rf "$T"
	mkdir -p "$T"
	make_zone "$T" caps blk,console,net
	why=$(T=$T unshare -p -f --mount-proc -n bash -c "$(declare -f caps_steps); caps_steps \"\$@\"" \
		bash "$ROOT/scripts/check-lib.sh" "$set" "${nnp[@]}" 2>"$T/steps.log") || true
	case $why in
	PASS) pass deb-caps ;;
	'') fail deb-caps "the test namespace failed (see $T/steps.log)" ;;
	*) fail deb-caps "bounding set $set: $why (see $T/*.log)" ;;
	esac
}

# check_initd NAME sh|busybox
check_initd() {
	local name=$1 how=$2 run why zones=/etc/hvisor/zones zname=deb-check
	T=$BUILD/$name
	if [ ! -x /etc/init.d/hvisord ]; then
		fail "$name" "/etc/init.d/hvisord not installed"
		return
	fi
	if [ -n "$(pids_of /usr/sbin/hvisord hvisord)" ]; then
		skip "$name" "an installed hvisord runs already (pid $(pids_of /usr/sbin/hvisord hvisord))"
		return
	fi
	rm -rf "$T"
	mkdir -p "$T"
	run=(sh)
	if [ "$how" = busybox ]; then
		command -v busybox >/dev/null || apt_install busybox-static ||
			{ fail "$name" "no busybox (apt-get install busybox-static failed)"; return; }
		mkdir "$T/bin"
		busybox --install -s "$T/bin"
		run=(env PATH="$T/bin" busybox sh)
	fi
	# settings, the zone and zones.enabled: saved and put back
	cp -p /etc/default/hvisord "$T/default.orig"
	cp -p /etc/hvisor/zones.enabled "$T/zones.enabled.orig"
	printf 'HVISORD_BACKEND="sim:%s"\nHVISORD_OPTS=""\n' "$T/sim.sock" >/etc/default/hvisord
	make_zone "$zones" "$zname" console
	echo "$zname" >>/etc/hvisor/zones.enabled
	# in a pid namespace (the backends and the descriptor keeper that
	# outlive hvisord end with it) over a /run/hvisor of its own
	mkdir -p /run/hvisor
	# shellcheck disable=SC2016 # for the inner shell
	why=$(unshare -m -p -f --mount-proc bash -c '
		mount -t tmpfs -o mode=0755 tmpfs /run/hvisor || exit
		. "$1"
		T=$2
		shift 2
		bg_until "$T/sim.log" listening /usr/bin/hvisor-sim --socket "$T/sim.sock"
		why=$(initd_steps "$T/initd.log" /etc/init.d/hvisord "$@")
		# whatever failed: no pidfile stays behind
		sh /etc/init.d/hvisord stop >/dev/null 2>&1
		echo "${why:-PASS}"' bash "$ROOT/scripts/check-lib.sh" "$T" "${run[@]}" 2>>"$T/initd.log") || true
	rm -f /run/hvisord.pid
	cp -p "$T/default.orig" /etc/default/hvisord
	cp -p "$T/zones.enabled.orig" /etc/hvisor/zones.enabled
	rm -f "$zones/$zname.json" "$zones/$zname.virtio.json" "$zones/$zname-kernel.bin" "$zones/$zname.dtb"
	case $why in
	PASS) pass "$name" ;;
	'') fail "$name" "the test namespace failed (see $T/initd.log)" ;;
	*) fail "$name" "$why (see $T/initd.log)" ;;
	esac
}

# The OpenRC script is not in the package (Debian's OpenRC runs the sysv
# script): meson configures it for the package's paths, and openrc-run
# of Debian's openrc (downloaded and extracted, not installed) runs it in a
# root of its own over the installed system: /usr and /etc overlays, /run
# and the pid namespace private, so nothing of the host changes.
openrc_root() { # the inner script, run by sh in that root
	cat <<'EOF'
. /w/check-lib.sh
cd /run && mkdir -p openrc && cd openrc && mkdir -p started starting stopping inactive \
	wasinactive failed hotplugged daemons options exclusive scheduled tmp && : >softlevel
cd /
bg_until /w/sim.log listening /usr/bin/hvisor-sim --socket /run/sim.sock
# no dependencies: localmount and logger are no services here
orc() { "$1" --nodeps "$2"; }
why=$(initd_steps /w/initd.log /etc/init.d/hvisord orc) || true
echo "${why:-PASS}"
EOF
}

check_openrc() {
	local x=$BUILD/cache/openrc e why d
	T=$BUILD/deb-openrc
	rm -rf "$T"
	mkdir -p "$T"
	if [ ! -x "$x/usr/sbin/openrc-run" ]; then
		rm -rf "$x" "$x.debs"
		mkdir -p "$x.debs" "$x/usr"
		if ! (cd "$x.debs" && apt-get -q -o APT::Sandbox::User=root download openrc librc1 libeinfo1) \
			>"$T/apt.log" 2>&1; then
			fail deb-openrc "apt-get download openrc librc1 libeinfo1 failed (see $T/apt.log)"
			return
		fi
		for d in "$x.debs"/*.deb; do dpkg-deb -x "$d" "$x"; done
		# the root is merged-usr: /lib and /sbin are links into /usr
		cp -a "$x/lib/." "$x/usr/lib/" && cp -a "$x/sbin/." "$x/usr/sbin/" && rm -rf "${x:?}/lib" "${x:?}/sbin"
	fi
	if ! meson setup "$T/conf" "$ROOT" -Dprefix=/usr -Dinitscripts=openrc -Dtests=false \
		-Dbench=false >"$T/meson.log" 2>&1; then
		fail deb-openrc "meson setup -Dinitscripts=openrc failed (see $T/meson.log)"
		return
	fi
	# /etc on top of the host's: the script, its settings, a zone
	e=$T/etc
	mkdir -p "$e/init.d" "$e/conf.d" "$e/hvisor/zones" "$e/runlevels/sysinit" "$e/runlevels/boot" \
		"$e/runlevels/default" "$e/runlevels/shutdown" "$T/root" "$T/work-usr" "$T/work-etc" "$T/usr"
	install -m 0755 "$T/conf/conf/hvisord.openrc" "$e/init.d/hvisord"
	echo 'HVISORD_BACKEND="sim:/run/sim.sock"' >"$e/conf.d/hvisord"
	: >"$e/insserv.conf"
	make_zone "$e/hvisor/zones" deb-check console
	{ cat /etc/hvisor/zones.enabled; echo deb-check; } >"$e/hvisor/zones.enabled"
	cp "$ROOT/scripts/check-lib.sh" "$T/"
	openrc_root >"$T/inner.sh"
	# shellcheck disable=SC2016 # $1: the inner shell's
	why=$(unshare -m -p -f sh -c 'T=$1 X=$2 R=$1/root
		cd "$R" && mkdir -p usr etc dev proc run tmp var w &&
		ln -s usr/bin bin && ln -s usr/lib lib && ln -s usr/lib64 lib64 && ln -s usr/sbin sbin &&
		mount -t overlay overlay -o "lowerdir=$X/usr:/usr,upperdir=$T/usr,workdir=$T/work-usr" usr &&
		mount -t overlay overlay -o "lowerdir=/etc,upperdir=$T/etc,workdir=$T/work-etc" etc &&
		mount --rbind /dev dev && mount -t proc proc proc && mount -t tmpfs tmpfs run &&
		mount -t tmpfs tmpfs tmp && mount --bind /var var && mount --bind "$T" w &&
		chroot "$R" /bin/sh /w/inner.sh' sh "$T" "$x" 2>"$T/root.log") || true
	case $why in
	PASS) pass deb-openrc ;;
	'') fail deb-openrc "the private root failed: $(tail -n 1 "$T/root.log")" ;;
	*) fail deb-openrc "$why (see $T/initd.log)" ;;
	esac
}

# The units under a real systemd: systemd-nspawn boots the installed
# system (/usr read-only, /etc an overlay with hvisor-sim as the backend and
# a zone, its own network) into systemd.unit=hvtest.target, whose service
# runs these steps and writes what failed to /w/result.
systemd_steps() {
	cat <<'EOF'
set -u
fail() { echo "$*" >/w/result; exit 1; }
systemctl start hvisor-sim.service
i=0
while [ ! -S /run/hvisor-sim.sock ]; do
	i=$((i + 1)); [ $i -le 100 ] || fail "hvisor-sim.service did not listen"; sleep 0.1
done
sock=$(stat -c '%U:%G %a' /run/hvisor/hvisord.sock 2>&1)
[ "$sock" = "root:hvisor 660" ] || fail "hvisord.socket: /run/hvisor/hvisord.sock is '$sock', not root:hvisor 660"
systemctl is-active -q hvisord.service && fail "hvisord.service runs before a client came"
hvctl version >/w/hvctl.log 2>&1 || fail "hvctl version (socket activation) failed"
systemctl is-active -q hvisord.service || fail "hvisord.service is not active after hvctl version"
pid=$(systemctl show -p MainPID --value hvisord.service)
want=$(setpriv --bounding-set "$(cat /w/capset)" grep CapBnd /proc/self/status)
[ "$(grep CapBnd /proc/"$pid"/status)" = "$want" ] || fail "hvisord's $(grep CapBnd /proc/"$pid"/status), expected $want"
grep -q '^NoNewPrivs:[[:space:]]*1' /proc/"$pid"/status || fail "hvisord runs without no_new_privs"
grep -q '^Seccomp:[[:space:]]*2' /proc/"$pid"/status || fail "hvisord runs without a seccomp filter"
awk '$5 == "/usr" && $6 ~ /^ro/ { ro = 1 } END { exit !ro }' /proc/"$pid"/mountinfo ||
	fail "/usr is not read-only for hvisord (ProtectSystem=)"
systemctl start hvisor-zone@deb-check.service || fail "systemctl start hvisor-zone@deb-check failed"
hvctl zone list 2>&1 | grep -Eq '^ *1 .*running' || fail "zone 1 does not run after hvisor-zone@deb-check"
[ "$(hvctl virtio list 1 | grep -c ' running ')" = 3 ] || fail "zone 1's blk, console and net devices do not all run"
vd=$(pgrep -x -u nobody hvisor-virtio)
[ -n "$vd" ] || fail "no hvisor-virtiod running as nobody"
# a restart of the daemon only (KillMode=process): the zone's backend
# stays and the new hvisord takes it over
systemctl restart hvisord.service || fail "systemctl restart hvisord.service failed"
pid2=$(systemctl show -p MainPID --value hvisord.service)
[ "$pid2" != "$pid" ] && [ "$pid2" != 0 ] || fail "restart: hvisord.service's MainPID $pid -> $pid2"
[ "$(pgrep -x -u nobody hvisor-virtio)" = "$vd" ] ||
	fail "restart: hvisor-virtiod $vd did not stay ($(pgrep -x hvisor-virtio))"
[ "$(hvctl virtio list 1 | grep -c ' running ')" = 3 ] || fail "restart: zone 1's devices do not all run"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups hvctl zone list 2>&1) &&
	fail "user nobody may connect to hvisord.socket"
case $out in *"Permission denied"*) ;; *) fail "user nobody: '$out', not Permission denied" ;; esac
setpriv --reuid=nobody --regid=nogroup --groups="$(getent group hvisor | cut -d: -f3)" hvctl zone list \
	>/dev/null 2>&1 || fail "a member of group hvisor may not connect"
systemctl stop hvisor-zone@deb-check.service || fail "systemctl stop hvisor-zone@deb-check failed"
hvctl zone list 2>&1 | grep -Eq '^ *1 ' && fail "zone 1 still there after stopping hvisor-zone@deb-check"
[ "$(hvctl virtio list | wc -l)" = 1 ] || fail "devices left after stopping hvisor-zone@deb-check"
systemctl stop hvisord.service || fail "systemctl stop hvisord.service failed"
# the descriptor keeper stays by design; nothing else
[ -z "$(pgrep -x hvisord; pgrep -x hvisor-virtio)" ] || fail "processes left after stopping hvisord.service"
echo >/w/result
EOF
}

check_systemd() {
	local e r why
	T=$BUILD/deb-systemd
	if ! command -v systemd-nspawn >/dev/null; then
		apt_install systemd-container || { fail deb-systemd "cannot install systemd-container"; return; }
	fi
	rm -rf "$T"
	r=$T/root e=$T/etc
	mkdir -p "$r/usr" "$r/etc" "$r/var" "$r/tmp" "$r/run" "$r/dev" "$r/proc" "$r/sys" "$r/root" \
		"$e/systemd/system" "$e/hvisor/zones" "$e/default" "$T/w"
	ln -s usr/bin "$r/bin" && ln -s usr/lib "$r/lib" && ln -s usr/lib64 "$r/lib64" && ln -s usr/sbin "$r/sbin"
	cp /etc/os-release "$r/etc/"
	printf 'HVISORD_BACKEND="sim:/run/hvisor-sim.sock"\nHVISORD_OPTS=""\n' >"$e/default/hvisord"
	make_zone "$e/hvisor/zones" deb-check blk,console,net
	printf '[Service]\nExecStart=/usr/bin/hvisor-sim --socket /run/hvisor-sim.sock\n' \
		>"$e/systemd/system/hvisor-sim.service"
	printf '[Unit]\nWants=sockets.target\nAfter=sockets.target\nSuccessAction=poweroff-force\nFailureAction=poweroff-force\n[Service]\nType=oneshot\nExecStart=/bin/sh -x /w/steps.sh\nStandardOutput=file:/w/steps.log\nStandardError=inherit\n' \
		>"$e/systemd/system/hvtest.service"
	printf '[Unit]\nRequires=hvtest.service\nAfter=hvtest.service\n' >"$e/systemd/system/hvtest.target"
	caps_set >"$T/w/capset"
	systemd_steps >"$T/w/steps.sh"
	timeout 120 systemd-nspawn -q -D "$r" --register=no --keep-unit --link-journal=no \
		--bind-ro=/usr --overlay=/etc:"$e":/etc --bind="$T/w":/w --private-network \
		--boot -- systemd.unit=hvtest.target >"$T/console.log" 2>&1 || true
	why=$(cat "$T/w/result" 2>/dev/null) || why="no result from the container (see $T/console.log)"
	if [ -z "$why" ]; then
		pass deb-systemd
	else
		fail deb-systemd "$why"
	fi
}

# For each kernel whose headers are installed: build and install through
# DKMS, then check the module is the one built for that kernel.
check_dkms() {
	local d k ko vm any=0
	for d in /usr/src/linux-headers-*; do
		k=${d#/usr/src/linux-headers-}
		if [ ! -f "$d/Makefile" ] || [ ! -e "/lib/modules/$k/build" ]; then continue; fi
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

INSTALL_CHECKS="deb-install deb-group deb-files deb-run deb-units deb-tmpfiles deb-caps
	deb-initd deb-initd-busybox deb-openrc deb-systemd deb-dkms"
mkdir -p "$LOGS"
: >"$LOGS/apt.log"
if [ "$BUILD_DEBS" -eq 1 ]; then
	check_build || finish
	check_lintian
fi
if [ "$INSTALL" -eq 0 ]; then
	for c in $INSTALL_CHECKS; do skip "$c" "--no-install"; done
	finish
fi
if [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
	for c in $INSTALL_CHECKS; do skip "$c" "needs root"; done
	finish
fi
if [ "$BUILD_DEBS" -eq 0 ] || check_install; then
	check_files
	check_run
	check_units
	check_tmpfiles
	check_caps
	check_initd deb-initd sh
	check_initd deb-initd-busybox busybox
	check_openrc
	check_systemd
	check_dkms
fi
if [ "$PURGE" -eq 1 ]; then
	# shellcheck disable=SC2086
	as_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $PKGS >>"$LOGS/apt.log" 2>&1 ||
		fail deb-purge "apt-get purge failed (see $LOGS/apt.log)"
fi
finish
