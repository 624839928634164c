# SPDX-License-Identifier: GPL-2.0-only
# Infrastructure: the VM provides what the later checks need (the static
# daemons run, the kernel modules load, ext4 on a block device, network
# namespaces with tap and veth), and the modules and hvisord come up and go
# down cleanly.

# the static programs run; hvisor-virtiod can drop to user nobody
t_userspace() {
	hvctl --help >/dev/null
	hvisord --version | grep -q '^hvisord '
	/usr/libexec/hvisor-virtiod --help >/dev/null 2>&1 || [ $? -lt 126 ] || fail "hvisor-virtiod does not run"
	[ "$(readlink /usr/bin/hvisor)" = hvctl ] || fail "/usr/bin/hvisor is not a link to hvctl"
	[ "$(id -u nobody)" = 65534 ] || fail "user nobody unknown"
	hvisor-sim --help >/dev/null 2>&1 || [ $? -lt 126 ] || fail "hvisor-sim does not run"
}

t_kernel_modules() {
	modules_up
	for m in $HVTEST_MODULES; do
		is_builtin "$m" || is_loaded "$m" || fail "module $m is not loaded after modprobe"
	done
	wait_for 10 /dev/net/tun test -c /dev/net/tun
	wait_for 10 /dev/loop-control test -c /dev/loop-control
}

# mkfs.ext4, mount, write + checksum, umount, fsck -f, read back: on a loop
# device over an image in tmpfs
t_ext4_loop() {
	modules_up
	img=/tmp/ext4-loop.img
	truncate -s 64M "$img"
	mkfs.ext4 -q -F "$img"
	mkdir -p /mnt/ext4
	mount -o loop "$img" /mnt/ext4
	dd if=/dev/urandom of=/mnt/ext4/data bs=1M count=8 2>/dev/null
	sum=$(sha256sum </mnt/ext4/data)
	umount /mnt/ext4
	fsck.ext4 -f -n "$img"
	mount -o loop,ro "$img" /mnt/ext4
	[ "$(sha256sum </mnt/ext4/data)" = "$sum" ] || fail "data changed across umount/mount"
	umount /mnt/ext4
	rm -f "$img"
}

_netns_cleanup() {
	ip netns del hvt_a 2>/dev/null || true
	ip netns del hvt_b 2>/dev/null || true
}

# network namespaces, a tap moved into one, veth across two, ping
t_netns_tap() {
	modules_up
	_netns_cleanup
	trap _netns_cleanup EXIT
	ip netns add hvt_a
	ip netns add hvt_b
	ip tuntap add dev hvtap0 mode tap
	ip link set hvtap0 netns hvt_b
	ip -n hvt_b link show hvtap0 >/dev/null
	ip link add hvv0 type veth peer name hvv1
	ip link set hvv0 netns hvt_a
	ip link set hvv1 netns hvt_b
	ip -n hvt_a addr add 192.0.2.1/24 dev hvv0
	ip -n hvt_b addr add 192.0.2.2/24 dev hvv1
	ip -n hvt_a link set hvv0 up
	ip -n hvt_b link set hvv1 up
	ip netns exec hvt_a ping -c 2 -W 5 192.0.2.2
}

t_sim_load() {
	sim_up
	[ -d /sys/class/misc/hvisor_sim/stats ] || fail "/sys/class/misc/hvisor_sim/stats missing"
}

t_hvisor_load() {
	hvisor_up
	irq=$(cat /sys/class/misc/hvisor/virtio_irq) || fail "/sys/class/misc/hvisor/virtio_irq missing"
	echo "virtio_irq: $irq"
	case "$irq" in
	'' | none | *[!0-9]*) fail "no wake-up IRQ (virtio_irq '$irq')" ;;
	esac
}

t_hvisord_start() {
	need_hvisor
	[ -c /dev/hvisor ] || fail "/dev/hvisor does not exist (hvisor_load failed?)"
	hvisord_start
}

t_hvctl_version() {
	need_hvisor
	hvisord_running || fail "hvisord is not running (hvisord_start failed?)"
	out=$(hvctl version)
	echo "$out"
	echo "$out" | grep -q '^hvisord ' || fail "no hvisord line in: $out"
	echo "$out" | grep -q '^backend kmod at /dev/hvisor' || fail "backend is not kmod:/dev/hvisor: $out"
	echo "$out" | grep -q 'not supported' && fail "config magic not supported: $out"
	return 0
}

t_hvisord_stop() {
	need_hvisor
	hvisord_stop
}

# rmmod/insmod cycles: hvisor.ko alone twice (the sim sees a new
# INIT_VIRTIO), then both; hvisord works after each
t_kmod_reload() {
	need_hvisor
	hvisord_running && hvisord_stop
	for round in 1 2; do
		rmmod hvisor
		wait_for 10 "/dev/hvisor to go" test ! -e /dev/hvisor
		hvisor_up
		hvisord_start
		hvctl version >/dev/null
		hvisord_stop
	done
	kmod_down
	hvisor_up
}

# --bench: the benchmark tools are there
t_bench_tools() {
	fio --version
}
