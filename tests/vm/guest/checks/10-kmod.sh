# SPDX-License-Identifier: GPL-2.0-only
# hvisor.ko on hvisor_sim.ko, driven by hvisor-kmod-test (tests/vm/progs):
# every hole of upstream's driver refused, the per-zone channel, legacy
# mode, lost wake-ups. hvisord is not running meanwhile (they attach and
# start zones of their own).
#
# The VM's memory (tests/vm/run.sh): a 128 MiB window R that root Linux
# does not use as RAM. Zone 1 (the loopback guest) R+0..96M, zone 2 (image
# loading) R+96..112M, zone 3 (hvisor-kmod-test's own) R+112..128M.

case "$HVTEST_ARCH" in
x86_64) HVT_R=0x38000000 ;;
arm64) HVT_R=0x78000000 ;;
esac
HVT_Z1_RAM=$(printf '0x%x:0x6000000' $((HVT_R)))
HVT_Z2_RAM=$(printf '0x%x:0x1000000' $((HVT_R + 0x6000000)))
HVT_Z3_RAM=$(printf '0x%x:0x1000000' $((HVT_R + 0x7000000)))
# the guest's "device tree": zone 1's blk, net and console
HVT_DEVICES=1:0x200@0xd0000000:40,1:0x200@0xd0001000:41,1:0x200@0xd0002000:42

# hvisor_sim with 8 CPUs (root 0-1, zone 1 on 2-3, zone 2 on 4, zone 3 on 5)
# and zone 1's devices, then the test hvisor.ko
kmod_stack_up() {
	if is_loaded hvisor_sim && [ "$(cat /sys/module/hvisor_sim/parameters/ncpus)" != 8 ]; then
		hvisord_running && hvisord_stop
		kmod_down
	fi
	sim_up ncpus=8 root_cpus=0x3 "devices=$HVT_DEVICES"
	hvisor_up
}

kmod_test() {
	kmod_stack_up
	hvisord_running && fail "hvisord must not run during $*"
	_kt_rc=0
	_kt_out=$(hvisor-kmod-test --zone 3 --cpu 5 --ram "$HVT_Z3_RAM" --virtio 0xfe000000 "$@" 2>&1) ||
		_kt_rc=$?
	echo "$_kt_out"
	[ "$_kt_rc" = 0 ] || fail "$(echo "$_kt_out" | grep -v '^ok ' | tr '\n' ';')"
}

t_kmod_holes() {
	kmod_stack_up
	# a running zone whose RAM the checks must not reach (zone 2, no devices)
	hvisor-kmod-test --zone 2 --cpu 4 --ram "$HVT_Z2_RAM" --virtio 0xfe100000 \
		zone-start || fail "cannot start zone 2"
	kmod_test --busy "$HVT_Z2_RAM" holes && rc=0 || rc=1
	hvisor-kmod-test --zone 2 zone-shutdown
	[ "$rc" = 0 ]
}

t_kmod_channel() {
	kmod_test channel
}

t_kmod_legacy() {
	kmod_test legacy
}

t_kmod_lost_wakeups() {
	kmod_test wakeup
	[ "$(sim_stat timeouts)" = 0 ] || fail "hvisor_sim counted $(sim_stat timeouts) stall timeouts"
}

# no wake-up IRQ: the module loads, lifecycle works, virtio says ENODEV
t_kmod_no_virtio_irq() {
	[ "$HVTEST_ARCH" = x86_64 ] || skip "the IRQ comes from the device tree here (x86_64 covers the path)"
	hvisord_running && hvisord_stop
	kmod_down
	sim_up ncpus=8 root_cpus=0x3 virtio_irq=0
	hvisor_up
	[ "$(cat /sys/class/misc/hvisor/virtio_irq)" = none ] || fail "virtio_irq is not 'none'"
	hvisord_start
	hvctl zone list | grep -q root-linux || fail "zone list does not work"
	hvisord_stop
	kmod_down
}
