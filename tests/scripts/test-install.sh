#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The install: the files the service files read are where the install puts
# them, for any prefix. This build is installed into a DESTDIR and its unit,
# init script and hvisor-zone checked against what arrived; for other
# prefixes (/usr: sysconfdir /etc; /opt/hvisor) a fresh configuration of the
# tree is checked against its install plan (meson introspect; nothing built).
# Output: TAP.
# Arguments: meson, the source tree, this build directory.
set -u
. "$(dirname "$0")/tap.sh"
MESON=$1 SRC=$(abs "$2") BUILD=$(abs "$3")

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

echo "1..11"

# The default value of a setting in a script: VAR=${VAR:-VALUE} -> VALUE.
script_default() { # file, variable
	sed -n "s|^$2=\${$2:-\(.*\)}\$|\1|p" "$1"
}
# EnvironmentFile=-PATH -> PATH
unit_envfile() {
	sed -n 's|^EnvironmentFile=-\{0,1\}||p' "$1"
}
openrc_defaults() { # the settings file an OpenRC script sources
	sed -n 's|^if \[ -r "\(.*\)" \]; then$|\1|p' "$1"
}
# Is $2 (a path the service files read) the file $1 names, installed as $3?
same_file() { # description, read path, installed path
	if [ -n "$2" ] && [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		echo "# read from '$2', installed as '$3'"
	fi
}

# 1-4: this build, installed
D=$T/dest
if "$MESON" install -C "$BUILD" --no-rebuild --destdir "$D" --quiet >"$T/out" 2>&1; then
	ok "meson install --destdir"
else
	not_ok "meson install --destdir"
	sed 's/^/# /' "$T/out"
fi
unit=$(find "$D" -name hvisord.service | head -n 1)
env=$(unit_envfile "${unit:-/dev/null}")
if [ -n "$unit" ] && [ -n "$env" ] && [ -f "$D$env" ]; then
	ok "the unit's EnvironmentFile ($env) was installed"
else
	not_ok "the unit's EnvironmentFile ('$env' in '$unit') was installed"
	find "$D" -name hvisord | sed 's/^/# installed: /'
fi
zone=$(find "$D" -name hvisor-zone -type f | head -n 1)
dir=$(sed -n 's|^ZONES_DIR=\${HVISOR_ZONES_DIR:-\(.*\)}$|\1|p' "${zone:-/dev/null}")
enabled=$(sed -n 's|^ENABLED=\${HVISOR_ZONES_ENABLED:-\(.*\)}$|\1|p' "${zone:-/dev/null}")
if [ -n "$dir" ] && [ -d "$D$dir" ] && [ -n "$enabled" ] && [ -f "$D$enabled" ]; then
	ok "hvisor-zone's $dir and $enabled were installed"
else
	not_ok "hvisor-zone's zones dir ('$dir') and list ('$enabled') were installed"
fi
# the init scripts of this configuration (installed with -Dinitscripts only)
initd=$(script_default "$BUILD/conf/hvisord.init" DEFAULTS)
openrc=$(openrc_defaults "$BUILD/conf/hvisord.openrc")
if [ "$initd" = "$env" ] && [ "$openrc" = "$env" ]; then
	ok "the SysV and OpenRC scripts read $env too"
else
	not_ok "the SysV ('$initd') and OpenRC ('$openrc') scripts read '$env' too"
fi

# 5-11: other prefixes, from the install plan
planned() { # build dir, source file relative to the tree -> its destination
	"$MESON" introspect "$1" --installed | python3 -c '
import json, sys
for src, dst in json.load(sys.stdin).items():
    if src.endswith("/" + sys.argv[1]):
        print(dst)' "$2"
}
for prefix in /usr /opt/hvisor; do
	B=$T/build-$(echo "$prefix" | tr / _)
	if ! "$MESON" setup "$B" "$SRC" -Dprefix="$prefix" -Dtests=false -Dbench=false \
		-Dinitscripts=sysv >"$T/out" 2>&1; then
		sed 's/^/# /' "$T/out"
	fi
	inst=$(planned "$B" conf/default/hvisord)
	if [ "$prefix" = /usr ]; then
		same_file "prefix /usr: the settings are /etc/default/hvisord" /etc/default/hvisord "$inst"
	fi
	same_file "prefix $prefix: the unit reads the settings installed" \
		"$(unit_envfile "$B/conf/hvisord.service")" "$inst"
	same_file "prefix $prefix: the SysV script reads the settings installed" \
		"$(script_default "$B/conf/hvisord.init" DEFAULTS)" "$inst"
	same_file "prefix $prefix: the OpenRC script reads the settings installed" \
		"$(openrc_defaults "$B/conf/hvisord.openrc")" "$inst"
done
exit $failed
