# SPDX-License-Identifier: GPL-2.0-only
# Helpers of the shell tests, sourced ('. tap.sh'). check() writes the
# command's output to $T/out (the caller's temporary directory) and shows it
# on failure.
n=0
failed=0
abs() { case "$1" in /*) echo "$1" ;; *) echo "$(pwd)/$1" ;; esac; }
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; failed=1; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { # description, command...
	d=$1
	shift
	if "$@" >"$T/out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/# /' "$T/out"; fi
}

# hvisor-sim ($SIM) on $T/sim.sock, ready once it says it listens (no
# polling); its log goes on to $T/sim.log. Sets SIM_PID.
sim_start() {
	mkfifo "$T/sim.fifo"
	"$SIM" --socket "$T/sim.sock" 2>"$T/sim.fifo" &
	SIM_PID=$!
	exec 3<"$T/sim.fifo"
	while read -r line <&3; do case $line in *listening*) break ;; esac; done
	cat <&3 >"$T/sim.log" &
	exec 3<&-
}
