# SPDX-License-Identifier: GPL-2.0-only
# The integration suite of tests/integration on hvisor.ko instead of
# hvisor-sim: each program below runs against kmod:/dev/hvisor with the
# example zones of configs/it-$HVTEST_ARCH/ (conf/examples/sim's zones in
# this VM's reserved memory). One check it_NAME per program; each of its
# test cases gets a result line of its own, it_NAME/CASE. The virtio
# programs are not here: their guest is hvsim-guest, which only the
# user-space sim has; in the VM, Linux's own drivers play that part
# (20-stack.sh).
# run.sh builds the programs named here (dynamic: cmocka has no static
# library) and puts them in $HVTEST_DIR/it/.
IT_BINS="lifecycle zone-errors protocol concurrency events permissions daemon cli"

# it_checks: the check names, for the plan
it_checks() {
	printf 'sim_phys_window '
	for _b in $IT_BINS; do
		printf 'it_%s ' "$(echo "$_b" | tr - _)"
	done
}

# hvisor_sim as conf/examples/sim's machine (4 CPUs, root on 0-1, no
# devices), then the test hvisor.ko; no hvisord (each test starts its own).
# HV_IT_CPUS=0: hvisord does not know the CPU count on hvisor.ko.
_it_stack_up() {
	hvisord_running && hvisord_stop
	if is_loaded hvisor_sim && { [ "$(cat /sys/module/hvisor_sim/parameters/ncpus)" != 4 ] ||
		[ -n "$(cat /sys/module/hvisor_sim/parameters/devices)" ]; }; then
		kmod_down
	fi
	sim_up ncpus=4 root_cpus=0x3
	hvisor_up
}

# GetInfo's name of this arch
_it_arch() {
	case "$HVTEST_ARCH" in
	arm64) echo aarch64 ;;
	*) echo "$HVTEST_ARCH" ;;
	esac
}

# _it_results NAME TAPFILE: a result line per test case; the reason of a
# skip is the "# skipped on" line the harness prints before it
_it_results() {
	_ir_why="no reason given"
	while IFS= read -r _ir_line; do
		case "$_ir_line" in
		"# skipped on "*) _ir_why=${_ir_line#\# } ;;
		"ok "*"# SKIP "* | "not ok "*"# SKIP "*)
			result "SKIP it_$1/${_ir_line##*# SKIP }: $_ir_why"
			_ir_why="no reason given"
			;;
		"ok "*) result "PASS it_$1/${_ir_line#ok * - }" ;;
		"not ok "*) result "FAIL it_$1/${_ir_line#not ok * - }" ;;
		esac
	done <"$2"
}

# it_run NAME: test-int-NAME on /dev/hvisor; fails if any case failed or
# the program did not exit 0
it_run() {
	_ir_name=$(echo "$1" | tr - _)
	_ir_bin=$HVTEST_DIR/it/test-int-$1
	[ -x "$_ir_bin" ] || skip "test-int-$1 is not in the initramfs: ${HVTEST_IT_MISSING:-not built}"
	_it_stack_up
	_ir_tap=$HVTEST_RUN/it-$1.tap
	_ir_rc=0
	env CMOCKA_MESSAGE_OUTPUT=TAP TMPDIR=/tmp HV_SOURCE_DIR="$HVTEST_DIR" \
		HV_IT_BACKEND=kmod:/dev/hvisor HV_IT_PHYS=/dev/hvisor_sim HV_IT_ARCH="$(_it_arch)" HV_IT_CPUS=0 \
		HV_IT_EXAMPLES="$HVTEST_DIR/configs/it-$HVTEST_ARCH" \
		HVISOR_SIM=/usr/bin/hvisor-sim HVISORD=/usr/sbin/hvisord HVCTL=/usr/bin/hvctl \
		HVISOR_LINK=/usr/bin/hvisor HVISOR_VIRTIOD=/usr/libexec/hvisor-virtiod \
		"$_ir_bin" >"$_ir_tap" 2>&1 || _ir_rc=$?
	cat "$_ir_tap"
	_it_results "$_ir_name" "$_ir_tap"
	grep -q '^not ok .* - ' "$_ir_tap" && fail "test-int-$1: $(grep -c '^not ok .* - ' "$_ir_tap") cases failed"
	[ "$_ir_rc" = 0 ] || fail "test-int-$1 exited with $_ir_rc"
	[ "$(sim_stat timeouts)" = 0 ] || fail "hvisor_sim counted $(sim_stat timeouts) stall timeouts"
}

for _b in $IT_BINS; do
	eval "t_it_$(echo "$_b" | tr - _)() { it_run $_b; }"
	eval "timeout_it_$(echo "$_b" | tr - _)=600"
done

# /dev/hvisor_sim, the harness's window on zone memory: what is written at
# a physical address outside the root kernel's RAM reads back; the root
# kernel's System RAM is refused
t_sim_phys_window() {
	_it_stack_up
	_pw_page=$(((HVT_R + 0x7000000) / 4096))
	printf 'hvisor phys window\n' >"$HVTEST_RUN/pw.in"
	dd if="$HVTEST_RUN/pw.in" of=/dev/hvisor_sim bs=4096 seek=$_pw_page conv=notrunc 2>/dev/null ||
		fail "cannot write zone memory through /dev/hvisor_sim"
	dd if=/dev/hvisor_sim of="$HVTEST_RUN/pw.out" bs=4096 skip=$_pw_page count=1 2>/dev/null ||
		fail "cannot read zone memory through /dev/hvisor_sim"
	[ "$(head -c 19 "$HVTEST_RUN/pw.out")" = "hvisor phys window" ] ||
		fail "zone memory read back: $(head -c 19 "$HVTEST_RUN/pw.out" | od -c | head -2)"
	_pw_ram=$(sed -n 's/^ *\([0-9a-f]*\)-[0-9a-f]* : System RAM$/\1/p' /proc/iomem | tail -1)
	[ -n "$_pw_ram" ] || fail "no System RAM in /proc/iomem"
	_pw_err=$(dd if=/dev/hvisor_sim of=/dev/null bs=4096 skip=$((0x$_pw_ram / 4096)) count=1 2>&1) &&
		fail "System RAM at 0x$_pw_ram was readable through /dev/hvisor_sim"
	echo "$_pw_err" | grep -q "not permitted" || fail "System RAM read: $_pw_err (want EPERM)"
}
