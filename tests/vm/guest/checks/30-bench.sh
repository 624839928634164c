# SPDX-License-Identifier: GPL-2.0-only
# Benchmarks (tests/vm/run.sh --bench only; never part of the test plan).
# Every figure is printed next to a baseline measured in the same run:
# "BENCH <what>: <figures>" lines, collected by docs/performance.md.
# Under TCG the absolute numbers are emulation speed; the ratios to the
# baseline are what compares.
# Relies on 10-kmod.sh (kmod_test, HVT_*) and 20-stack.sh (stack_up, blk_dev).

HVB_IMG=/tmp/bench.img
HVB_SECS=${HVTEST_BENCH_SECS:-10}

# register round trips: hvisor.ko alone, and a channel owner in user space
t_bench_rtt() {
	hvisord_running && hvisord_stop
	kmod_test rtt 2000 | sed -n 's/^rtt /BENCH rtt /p'
}

timeout_bench_zone_up=120
t_bench_zone_up() {
	stack_up
	truncate -s 256M "$HVB_IMG"
	dd if=/dev/urandom of="$HVB_IMG" bs=1M count=256 conv=notrunc 2>/dev/null
	hvctl virtio add 1 "blk,addr=0xd0000000,len=0x200,irq=40,img=$HVB_IMG"
	hvctl zone start "$HVTEST_DIR/configs/zone1-$HVTEST_ARCH.json"
	wait_for 60 "the guest's virtio_blk disk" blk_dev
}

# a register read answered by hvisor-virtiod (the blk device's MagicValue)
t_bench_device_rtt() {
	hvisor-kmod-test --zone 1 --cpu 2 --ram "$HVT_Z1_RAM" --virtio 0xd0000000 \
		rtt 2000 --device | sed -n 's/^rtt /BENCH rtt /p'
}

_virtiod_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# _fio NAME FILE ARGS...: one fio job; prints "iops bw_kib p50_us p99_us ios"
# from its terse output (read or write side, whichever moved)
_fio() {
	_fn=$1 _ff=$2
	shift 2
	fio --name="$_fn" --filename="$_ff" --runtime="$HVB_SECS" --time_based \
		--size=128M --minimal "$@" 2>/dev/null | awk -F';' '
		$7 > 0 { printf "%s %s %s %s %d\n", $8, $7, substr($24, index($24, "=") + 1), substr($30, index($30, "=") + 1), $6 / ENVIRON["HVB_BS_K"] }
		$7 == 0 { printf "%s %s %s %s %d\n", $49, $48, substr($65, index($65, "=") + 1), substr($71, index($71, "=") + 1), $47 / ENVIRON["HVB_BS_K"] }'
}

# _fio_pair NAME BS_K ARGS...: the job on /dev/vda (O_DIRECT, through
# virtio_blk, hvisor.ko and hvisor-virtiod) and on the image file itself
# (the backing store's own speed); hvisor-virtiod's CPU time per request
_fio_pair() {
	_pn=$1
	export HVB_BS_K=$2
	shift 2
	dev=$(blk_dev) || fail "no virtio disk"
	pid=$(virtiod_pid)
	[ -n "$pid" ] || fail "no hvisor-virtiod"
	base=$(_fio "$_pn-file" "$HVB_IMG" --direct=0 "$@")
	t0=$(_virtiod_ticks "$pid")
	vda=$(_fio "$_pn-vda" "$dev" --direct=1 "$@")
	t1=$(_virtiod_ticks "$pid")
	[ -n "$base" ] && [ -n "$vda" ] || fail "fio $_pn gave no figures"
	echo "$_pn $base $vda $((t1 - t0))" | awk '{
		printf "BENCH blk %s: image file %.0f IOPS %.1f MiB/s p50 %s us p99 %s us | /dev/vda %.0f IOPS %.1f MiB/s p50 %s us p99 %s us | ratio IOPS %.3f | virtiod %.1f us CPU/request\n",
			$1, $2, $3 / 1024, $4, $5, $7, $8 / 1024, $9, $10, $7 / $2, ($12 * 10000) / ($11 > 0 ? $11 : 1) }'
}

timeout_bench_blk=600
t_bench_blk() {
	_fio_pair randread-4k-qd1 4 --rw=randread --bs=4k --ioengine=psync
	_fio_pair randread-4k-qd32 4 --rw=randread --bs=4k --ioengine=libaio --iodepth=32
	_fio_pair seqread-1m 1024 --rw=read --bs=1M --ioengine=libaio --iodepth=4
	_fio_pair seqwrite-1m 1024 --rw=write --bs=1M --ioengine=libaio --iodepth=4
}

_hv_stat() {
	cat "/sys/class/misc/hvisor/stats/$1"
}

# a running zone with an idle device costs nothing: no wake-ups, no
# re-checks, no backend CPU time (baseline: zero)
timeout_bench_idle=60
t_bench_idle() {
	pid=$(virtiod_pid)
	[ -n "$pid" ] || fail "no hvisor-virtiod"
	sync
	w0=$(_hv_stat wakeups) r0=$(_hv_stat rechecks) q0=$(_hv_stat requests) t0=$(_virtiod_ticks "$pid")
	sleep "$HVB_SECS"
	w1=$(_hv_stat wakeups) r1=$(_hv_stat rechecks) q1=$(_hv_stat requests) t1=$(_virtiod_ticks "$pid")
	echo "BENCH idle ${HVB_SECS}s, zone running, disk idle: $((w1 - w0)) wake-ups, $((r1 - r0)) re-checks, $((q1 - q0)) requests, virtiod $(((t1 - t0) * 10)) ms CPU (baseline 0)"
}

t_bench_down() {
	hvctl zone shutdown 1
	hvisord_stop
}
