#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Static analysis of the product directories. Prints one line per check,
# "PASS <name>", "FAIL <name>: reason" or "SKIP <name>: reason", writes
# "passed failed skipped" to the results file and exits 1 if a check failed.
set -u

usage() {
	cat <<'EOF'
Usage: scripts/static-check.sh [options]

Static analysis of the userspace product directories (hvisord, hvisor-virtiod,
hvctl, proto, lib, sim):

  clang-build          the whole tree built with clang -Werror (gcc builds it
                       in ./dev.sh test): another compiler's warnings
  clang-tidy-<dir>     clang-tidy with bugprone-* and clang-analyzer-* over
                       the directory's C files, against clang-build's compile
                       database
  cppcheck-<dir>       cppcheck --enable=warning,portability with
                       --include=sys/queue.h (its TAILQ macros)

A finding fails its check unless scripts/static-check.supp names it: one line
per finding kind, "TOOL CHECK PATH-GLOB # reason", PATH relative to the
repository (a glob: * and ? match across directories). A line without a
reason is refused. Known false positives live there with their reason, so
anything new fails.

Options:
  --results FILE   write "passed failed skipped" here (default:
                   build-static/results)
  --build DIR      work directory (default: <repository>/build-static)
  --no-install     never run apt-get; missing tools make their checks SKIP
  --self-test      plant known defects and check that each tool reports them
  -h, --help       this text

Exit status: 0 if no check failed (skips allowed), 1 otherwise, 2 usage.
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-static
RESULTS=
INSTALL=1
SELFTEST=0
DIRS="hvisord hvisor-virtiod hvctl proto lib sim"
TIDY_CHECKS='-*,bugprone-*,clang-analyzer-*'
while [ $# -gt 0 ]; do
	case "$1" in
	--results) RESULTS=${2:?--results needs a file}; shift 2 ;;
	--build) BUILD=${2:?--build needs a directory}; shift 2 ;;
	--no-install) INSTALL=0; shift ;;
	--self-test) SELFTEST=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "static-check: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
RESULTS=${RESULTS:-$BUILD/results}
SUPP=$ROOT/scripts/static-check.supp
# cppcheck reads glibc's TAILQ macros from here, so its paths are understood
QUEUE_H=$(echo '#include <sys/queue.h>' | cpp -H -o /dev/null 2>&1 | sed -n 's/^\. //p' | head -n 1)
mkdir -p "$BUILD/logs"

NPASS=0 NFAIL=0 NSKIP=0
pass() { echo "PASS $1"; NPASS=$((NPASS + 1)); }
fail() { echo "FAIL $1: $2"; NFAIL=$((NFAIL + 1)); }
skip() { echo "SKIP $1: $2"; NSKIP=$((NSKIP + 1)); }
finish() {
	echo "$NPASS $NFAIL $NSKIP" >"$RESULTS"
	echo "static-check: $NPASS passed, $NFAIL failed, $NSKIP skipped"
	[ "$NFAIL" = 0 ]
	exit $?
}

# the tools, from Debian's packages
need() {
	missing=
	for p in clang clang-tidy cppcheck meson ninja-build pkg-config; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$INSTALL" = 1 ] || return 1
	if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
	$SUDO apt-get install -y -q --no-install-recommends $missing >"$BUILD/logs/apt.log" 2>&1
}

# The findings of a tool's output ("path:line:col: ...: text [check]" or
# cppcheck's template) that no suppression names: "path check" lines.
unsuppressed() { # tool file
	awk -v tool="$1" -v supp="$SUPP" -v root="$ROOT/" '
	function glob2re(g) { gsub(/[.+^$(){}|\\[\]]/, "\\\\&", g); gsub(/\*/, ".*", g); gsub(/\?/, ".", g); return "^" g "$" }
	BEGIN {
		while ((getline l < supp) > 0) {
			if (l ~ /^[ \t]*(#|$)/) continue
			split(l, f, /[ \t]+/)
			if (f[1] == tool) { n++; sc[n] = f[2]; sp[n] = glob2re(f[3]) }
		}
	}
	match($0, /\[[a-zA-Z0-9_.-]+\]$/) {
		check = substr($0, RSTART + 1, RLENGTH - 2)
		path = $0; sub(/:.*/, "", path); sub(root, "", path); sub(/^(\.\.\/)+/, "", path)
		sub(/^build-static\/clang\/\.\.\//, "", path)
		for (i = 1; i <= n; i++)
			if ((sc[i] == check || sc[i] == "*") && path ~ sp[i]) next
		print $0
	}' "$2"
}

# every suppression line has its reason
check_supp() {
	bad=$(grep -nvE '^[ \t]*(#|$)|^(clang-tidy|cppcheck) [^ ]+ [^ ]+ +# .+' "$SUPP")
	if [ -n "$bad" ]; then
		fail static-check.supp "lines without TOOL CHECK PATH # reason: $bad"
		return 1
	fi
	pass static-check.supp
}

clang_build() {
	B=$BUILD/clang
	if [ ! -f "$B/build.ninja" ] &&
		! CC=clang meson setup "$B" "$ROOT" -Dwerror=true >"$BUILD/logs/clang-setup.log" 2>&1; then
		fail clang-build "meson setup with clang failed ($BUILD/logs/clang-setup.log)"
		return 1
	fi
	if ninja -C "$B" >"$BUILD/logs/clang-build.log" 2>&1; then
		pass clang-build
	else
		fail clang-build "$(grep -m 3 -E 'error:' "$BUILD/logs/clang-build.log")"
		return 1
	fi
}

tidy() { # dir
	log=$BUILD/logs/clang-tidy-$1.log
	(cd "$ROOT" && clang-tidy -p "$BUILD/clang" --checks="$TIDY_CHECKS" --quiet "$1"/*.c) >"$log" 2>&1
	grep -E ': (warning|error): ' "$log" >"$log.findings"
	left=$(unsuppressed clang-tidy "$log.findings")
	if [ -z "$left" ]; then pass "clang-tidy-$1"; else
		fail "clang-tidy-$1" "$(echo "$left" | wc -l) finding(s), e.g. $(echo "$left" | head -n 1)"
		echo "$left" | sed 's/^/# /'
	fi
}

cppcheck_dir() { # dir
	log=$BUILD/logs/cppcheck-$1.log
	(cd "$ROOT" && cppcheck --quiet --enable=warning,portability --inline-suppr \
		--include="$QUEUE_H" -D_GNU_SOURCE \
		-I lib -I proto -I /usr/include/json-c -I "$1" --std=c11 \
		--template='{file}:{line}:{column}: {severity}: {message} [{id}]' "$1"/*.c) >"$log" 2>&1
	grep -E ': (warning|error|portability|style|performance): ' "$log" >"$log.findings"
	left=$(unsuppressed cppcheck "$log.findings")
	if [ -z "$left" ]; then pass "cppcheck-$1"; else
		fail "cppcheck-$1" "$(echo "$left" | wc -l) finding(s), e.g. $(echo "$left" | head -n 1)"
		echo "$left" | sed 's/^/# /'
	fi
}

# Planted defects must be found: a use after free and a strcmp used as a
# truth value (clang-tidy), an uninitialised read (cppcheck).
self_test() {
	T=$BUILD/selftest
	mkdir -p "$T"
	cat >"$T/planted.c" <<'EOF'
#include <stdlib.h>
#include <string.h>
int planted(const char *a, const char *b);
int planted(const char *a, const char *b)
{
	int *p = malloc(sizeof(*p)), x;

	free(p);
	if (strcmp(a, b))
		return *p;
	return x;
}
EOF
	out=$(clang-tidy --checks="$TIDY_CHECKS" --quiet "$T/planted.c" -- 2>/dev/null)
	if echo "$out" | grep -q 'clang-analyzer-unix.Malloc' &&
		echo "$out" | grep -q 'bugprone-suspicious-string-compare'; then
		pass self-test-clang-tidy
	else fail self-test-clang-tidy "the planted defects were not reported"; fi
	out=$(cppcheck --quiet --enable=warning "$T/planted.c" 2>&1)
	if echo "$out" | grep -qi 'uninit'; then pass self-test-cppcheck; else
		fail self-test-cppcheck "the planted uninitialised read was not reported"; fi
}

if ! need; then
	skip static-check "clang, clang-tidy or cppcheck missing (--no-install)"
	finish
fi
if [ "$SELFTEST" = 1 ]; then
	self_test
	finish
fi
check_supp || finish
clang_build || finish
for d in $DIRS; do
	tidy "$d"
	cppcheck_dir "$d"
done
finish
