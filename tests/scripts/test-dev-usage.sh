#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# ./dev.sh without a command (or with an unknown one) prints its usage, the
# header comment's command lines and nothing of the script itself, and
# exits 2. Output: TAP. Argument: dev.sh.
set -u
. "$(dirname "$0")/tap.sh"
DEV=$(abs "$1")

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

echo "1..2"
for arg in "" frobnicate; do
	code=0
	"$DEV" $arg >"$T/out" 2>&1 || code=$?
	# every line is one of the header's, or names the unknown command
	if [ $code = 2 ] && grep -q '^  ./dev.sh test \[--asan\]' "$T/out" &&
		! grep -qv -e '^One entry point' -e '^  ./dev.sh ' -e '^Builds go to' \
			-e "^dev.sh: unknown command '$arg'" "$T/out"; then
		ok "dev.sh $arg: usage, exit 2"
	else
		not_ok "dev.sh $arg: usage, exit 2 (got $code)"
		sed 's/^/# /' "$T/out"
	fi
done
