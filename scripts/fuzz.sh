#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for
# SECONDS (default 60) from its seed corpus. A crash, leak or sanitizer
# report fails the target. Prints one TAP line per target and writes the
# counts to build-fuzz/fuzz-results ("passed failed").
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -u
cd "$(dirname "$0")/.."
SECS=${1:-60}
[ $# -gt 0 ] && shift
B=build-fuzz

if ! command -v clang >/dev/null 2>&1; then
	as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev
fi
if [ ! -f "$B/build.ninja" ]; then
	CC=clang meson setup "$B" -Dfuzz=true -Dbench=false -Db_sanitize=address,undefined \
		-Db_lundef=false >/dev/null || exit 1
fi
ninja -C "$B" >/dev/null || { echo "fuzz build failed"; echo "0 1" >"$B/fuzz-results"; exit 1; }

targets=${*:-$(cd "$B/tests/fuzz" && find . -maxdepth 1 -type f -perm -u+x -name 'fuzz-*' | sed 's|^\./||' | sort)}
n=0 passed=0 failed=0
echo "1..$(echo $targets | wc -w)"
for t in $targets; do
	n=$((n + 1))
	name=${t#fuzz-}
	work=$(mktemp -d)
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$work/"
	log="$B/fuzz-$name.log"
	if "$B/tests/fuzz/$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$B/crash-$name-" "$work" >"$log" 2>&1; then
		runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
		echo "ok $n - $t ($SECS s, ${runs:-?} runs)"
		passed=$((passed + 1))
	else
		echo "not ok $n - $t (see $log)"
		grep -m5 -E 'ERROR|SUMMARY|runtime error' "$log" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
	rm -rf "$work"
done
echo "$passed $failed" >"$B/fuzz-results"
[ $failed -eq 0 ]
