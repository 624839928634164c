#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Every option a program's --help shows is in its man page, and every option
# the man page gives the program is in its --help (or, for --help and
# --version, the program takes it). For hvctl, --help is its own, every
# command's (hvctl COMMAND --help) and the upstream spelling's (hvisor
# --help). The man pages must also format without a warning. Output: TAP.
# Arguments: MANDIR hvctl hvisor-link hvisord hvisor-virtiod hvisor-sim hvsim-guest
set -u
. "$(dirname "$0")/tap.sh"
MAN=$(abs "$1") HVCTL=$(abs "$2") HVISOR=$(abs "$3") HVISORD=$(abs "$4")
VIRTIOD=$(abs "$5") SIM=$(abs "$6") GUEST=$(abs "$7")
PROGRAMS="hvctl hvisord hvisor-virtiod hvisor-sim hvsim-guest"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

echo "1..12"

options() { grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }

# The options of a man page that are the page's program's: not those on a
# line naming another program ("run hvisord --backend sim:PATH").
man_options() { # page program
	sed 's/\\-/-/g' "$1" | awk -v self="$2" -v all="$PROGRAMS hvisor" '
		BEGIN { n = split(all, p, " ") }
		{
			for (i = 1; i <= n; i++)
				if (p[i] != self && !(self == "hvctl" && p[i] == "hvisor") &&
				    $0 ~ ("(^|[ \"(])" p[i] "([ \")]|$)"))
					next
			line = $0
			while (match(line, /--[a-z][a-z0-9-]*/)) {
				print substr(line, RSTART, RLENGTH)
				line = substr(line, RSTART + RLENGTH)
			}
		}' | sort -u
}

hvctl_help() {
	"$HVCTL" --help
	"$HVISOR" --help
	# the commands: the left column of hvctl --help's list, its lowercase words
	"$HVCTL" --help | sed -n '/^Commands:/,/^$/s/^  \(.\{1,24\}\).*/\1/p' |
		sed -E 's/^(([a-z][a-z-]*( |$))+).*/\1/' | while read -r cmd; do
		# shellcheck disable=SC2086
		"$HVCTL" $cmd --help
	done
}

# One program against its page: two test points.
compare() { # program page help-file
	prog=$1 page=$MAN/$2 help=$3 bin=$4
	options <"$help" >"$T/h"
	man_options "$page" "$prog" >"$T/m"
	missing=$(comm -23 "$T/h" "$T/m" | tr '\n' ' ')
	# short options shown as "-x, --long" must be in the page as \-x
	for s in $(sed -n 's/^ *\(-[a-zA-Z0-9]\), --.*/\1/p' "$help"); do
		grep -q -- "\\\\$s\([^a-zA-Z0-9]\|$\)" "$page" || missing="$missing$s "
	done
	if [ -z "$missing" ]; then
		ok "$prog: every option of --help is in $2"
	else
		not_ok "$prog: every option of --help is in $2"
		echo "# missing from $2: $missing"
	fi
	extra=""
	for o in $(comm -13 "$T/h" "$T/m"); do
		case $o in
		--help | --version) "$bin" "$o" >/dev/null 2>&1 && continue ;;
		esac
		extra="$extra$o "
	done
	if [ -z "$extra" ]; then
		ok "$prog: every option $2 gives it is in its --help"
	else
		not_ok "$prog: every option $2 gives it is in its --help"
		echo "# not in $prog's --help: $extra"
	fi
}

hvctl_help >"$T/help-hvctl" 2>&1
compare hvctl hvctl.1 "$T/help-hvctl" "$HVCTL"
for p in hvisord:hvisord.8:"$HVISORD" hvisor-virtiod:hvisor-virtiod.8:"$VIRTIOD" \
	hvisor-sim:hvisor-sim.1:"$SIM" hvsim-guest:hvsim-guest.1:"$GUEST"; do
	prog=${p%%:*} rest=${p#*:}
	page=${rest%%:*} bin=${rest#*:}
	"$bin" --help >"$T/help-$prog" 2>&1
	compare "$prog" "$page" "$T/help-$prog" "$bin"
done

# groff's warnings (-ww) for every page, the section 5 ones included
if command -v groff >/dev/null 2>&1; then
	bad=""
	for page in "$MAN"/*.[158]; do
		LC_ALL=C.UTF-8 groff -man -ww -z -t "$page" >"$T/out" 2>&1 || echo "groff failed" >>"$T/out"
		[ -s "$T/out" ] && bad="$bad $(basename "$page")" && sed 's/^/# /' "$T/out"
	done
	if [ -z "$bad" ]; then ok "the man pages format without warnings"; else not_ok "the man pages format without warnings:$bad"; fi
else
	skip "the man pages format without warnings" "no groff"
fi
# every page is installed (docs/man/meson.build)
missing=""
for page in "$MAN"/*.[158]; do
	grep -q "'$(basename "$page")'" "$MAN/meson.build" || missing="$missing $(basename "$page")"
done
if [ -z "$missing" ]; then ok "every page is installed"; else not_ok "not installed:$missing"; fi
exit $failed
