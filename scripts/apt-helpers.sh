# SPDX-License-Identifier: GPL-2.0-only
# Sourced (POSIX sh) by scripts/arm64-sysroot.sh, scripts/fetch-debs.sh and
# tests/vm/run.sh: install missing Debian packages, enable the arm64 archive.
# Also sourced by bash with pipefail: no `| grep -q` (SIGPIPE upstream).
# Only Debian's archive is used; packages of a foreign arch are downloaded
# and extracted (scripts/fetch-debs.sh), never installed.

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_get ARGS...: apt-get that waits for a lock held by a parallel apt run
apt_get() {
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 "$@"
}

pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep "ok installed" >/dev/null
}

APT_UPDATED=
apt_update_once() {
	[ -n "$APT_UPDATED" ] && return 0
	apt_get update >/dev/null || { echo "error: apt-get update failed" >&2; return 1; }
	APT_UPDATED=1
}

# need_pkgs PKG...: installs those of the (native) packages that are missing
need_pkgs() {
	_missing=""
	for _p in "$@"; do
		pkg_installed "$_p" || _missing="$_missing $_p"
	done
	[ -z "$_missing" ] && return 0
	echo "==> installing:$_missing" >&2
	apt_update_once
	# shellcheck disable=SC2086
	apt_get install -y --no-install-recommends $_missing >/dev/null ||
		{ echo "error: apt-get install$_missing failed" >&2; return 1; }
}

# need_foreign_arch ARCH: dpkg knows ARCH and apt has its package lists
need_foreign_arch() {
	[ "$1" = "$(dpkg --print-architecture)" ] && return 0
	if ! dpkg --print-foreign-architectures | grep -x "$1" >/dev/null; then
		echo "==> dpkg --add-architecture $1" >&2
		as_root dpkg --add-architecture "$1"
		APT_UPDATED=
	fi
	if ! apt-cache policy "libc6:$1" 2>/dev/null | grep 'Candidate: [0-9]' >/dev/null; then
		apt_update_once
	fi
	apt-cache policy "libc6:$1" | grep 'Candidate: [0-9]' >/dev/null ||
		{ echo "error: no $1 packages in the apt lists (is $1 in the archive?)" >&2; return 1; }
}
