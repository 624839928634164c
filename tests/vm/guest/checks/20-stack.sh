# SPDX-License-Identifier: GPL-2.0-only
# The whole stack on hvisor.ko: hvisord on /dev/hvisor starts zone 1 with
# `hvctl zone start` and its devices with `hvctl virtio add`; hvisor_sim
# registers them as the guest's virtio devices, so Linux's own virtio_blk,
# virtio_net and virtio_console drivers run against hvisor-virtiod.
# Relies on 10-kmod.sh (HVT_* and kmod_stack_up).

HVT_IMG=/tmp/vda.img
HVT_MNT=/mnt/vda
HVT_CONSOLE=$HVISORD_RUNDIR/zone1/console

stack_up() {
	kmod_stack_up
	hvisord_running || hvisord_start
}

blk_dev() {
	for _b in /sys/block/vd*; do
		[ -e "$_b" ] && echo "/dev/${_b##*/}" && return 0
	done
	return 1
}

net_dev() {
	for _n in /sys/class/net/*; do
		case "$(readlink -f "$_n/device/driver" 2>/dev/null)" in
		*virtio_net*) echo "${_n##*/}" && return 0 ;;
		esac
	done
	return 1
}

virtiod_pid() {
	hvctl --json zone info 1 | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' | head -n 1
}

t_stack_zone_start() {
	stack_up
	truncate -s 256M "$HVT_IMG"
	ip link del hvtap1 2>/dev/null || true
	ip tuntap add dev hvtap1 mode tap
	hvctl virtio add 1 "blk,addr=0xd0000000,len=0x200,irq=40,img=$HVT_IMG"
	hvctl virtio add 1 net,addr=0xd0001000,len=0x200,irq=41,tap=hvtap1,mac=02:00:00:00:00:02
	hvctl virtio add 1 console,addr=0xd0002000,len=0x200,irq=42
	hvctl zone start "$HVTEST_DIR/configs/zone1-$HVTEST_ARCH.json"
	hvctl zone list | grep -q vmguest || fail "zone 1 is not listed"
	wait_for 60 "the guest's virtio_blk disk" blk_dev
	wait_for 60 "the guest's virtio_net interface" net_dev
	wait_for 60 "the guest's /dev/hvc0" test -c /dev/hvc0
	hvctl virtio list
	[ -n "$(virtiod_pid)" ] || fail "no hvisor-virtiod pid in zone info"
}

# mkfs, mount, files with checksums, umount, fsck -f clean, read back
t_stack_blk_ext4() {
	dev=$(blk_dev) || fail "no virtio disk"
	mkfs.ext4 -q -F "$dev"
	mkdir -p "$HVT_MNT"
	mount "$dev" "$HVT_MNT"
	for i in 1 2 3 4; do
		dd if=/dev/urandom of="$HVT_MNT/f$i" bs=1M count=$((i * 4)) 2>/dev/null
	done
	mkdir -p "$HVT_MNT/dir"
	for i in $(seq 1 200); do echo "small file $i" >"$HVT_MNT/dir/s$i"; done
	(cd "$HVT_MNT" && find . -type f | sort | xargs sha256sum) >/tmp/vda.sums
	umount "$HVT_MNT"
	fsck.ext4 -f -n "$dev" || fail "fsck -f of the virtio disk is not clean"
	# what the guest wrote is in the backing image
	fsck.ext4 -f -n "$HVT_IMG" || fail "fsck -f of the backing image is not clean"
	mount -o ro "$dev" "$HVT_MNT"
	(cd "$HVT_MNT" && sha256sum -c /tmp/vda.sums >/dev/null) || fail "files differ after remount"
	umount "$HVT_MNT"
}

_stack_net_cleanup() {
	ip netns del hvt_g 2>/dev/null || true
}

# the guest's interface in its own namespace, the tap in the root one:
# every packet crosses virtio_net <-> hvisor-virtiod <-> tap
t_stack_net_ping() {
	_stack_net_cleanup
	eth=$(net_dev) || fail "no virtio_net interface"
	ip link set hvtap1 up
	ip addr add 192.0.2.1/24 dev hvtap1
	ip netns add hvt_g
	ip link set "$eth" netns hvt_g
	ip -n hvt_g link set lo up
	ip -n hvt_g addr add 192.0.2.2/24 dev "$eth"
	ip -n hvt_g link set "$eth" up
	ip netns exec hvt_g ping -c 5 -i 0.2 -W 5 192.0.2.1 || fail "no ping from the guest side"
	ping -c 5 -i 0.2 -W 5 192.0.2.2 || fail "no ping to the guest side"
	# bigger frames, both ways
	ip netns exec hvt_g ping -c 3 -s 1400 -W 5 192.0.2.1 || fail "1400-byte pings lost"
	# give the interface back so later checks find it
	ip -n hvt_g link set "$eth" netns 1
	_stack_net_cleanup
}

_read_n() { # _read_n FILE N TIMEOUT: N bytes from FILE within TIMEOUT s
	timeout "$3" dd if="$1" bs=1 count="$2" 2>/dev/null
}

# bytes both ways over /dev/hvc0 <-> the pty hvisord published
t_stack_console() {
	[ -e "$HVT_CONSOLE" ] || fail "$HVT_CONSOLE missing"
	stty -F /dev/hvc0 raw -echo
	stty -F "$HVT_CONSOLE" raw -echo
	# no newline: nothing for a tty layer to translate
	_read_n "$HVT_CONSOLE" 14 10 >/tmp/con.out &
	rd=$!
	printf 'guest-to-host!' >/dev/hvc0
	wait "$rd" || true
	[ "$(cat /tmp/con.out)" = "guest-to-host!" ] || fail "pty got '$(cat /tmp/con.out)'"
	_read_n /dev/hvc0 14 10 >/tmp/con.in &
	rd=$!
	printf 'host-to-guest!' >"$HVT_CONSOLE"
	wait "$rd" || true
	[ "$(cat /tmp/con.in)" = "host-to-guest!" ] || fail "hvc0 got '$(cat /tmp/con.in)'"
}

_file_bigger() {
	[ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -gt "$2" ]
}

_virtiod_not() {
	_vn=$(virtiod_pid)
	[ -n "$_vn" ] && [ "$_vn" != "$1" ]
}

# kill -9 of hvisor-virtiod during disk I/O: no stall timeout, hvisord
# restarts it, the I/O finishes, the file system is clean
t_stack_backend_kill() {
	dev=$(blk_dev) || fail "no virtio disk"
	timeouts=$(sim_stat timeouts)
	mount "$dev" "$HVT_MNT"
	(dd if=/dev/urandom of="$HVT_MNT/during-kill" bs=64k count=512 conv=fsync 2>/dev/null &&
		sha256sum "$HVT_MNT/during-kill" >/tmp/kill.sum && echo done >/tmp/kill.done) &
	writer=$!
	pid=$(virtiod_pid)
	[ -n "$pid" ] || fail "no hvisor-virtiod"
	wait_for 30 "some I/O in flight" _file_bigger "$HVT_MNT/during-kill" 1000000
	kill -9 "$pid"
	wait_for 60 "a new hvisor-virtiod" _virtiod_not "$pid"
	wait "$writer" || fail "the writer failed across the restart"
	[ -f /tmp/kill.done ] || fail "the writer did not finish"
	sync
	umount "$HVT_MNT"
	fsck.ext4 -f -n "$dev" || fail "fsck after the backend's death is not clean"
	mount -o ro "$dev" "$HVT_MNT"
	(cd / && sha256sum -c /tmp/kill.sum) || fail "the file written across the kill differs"
	umount "$HVT_MNT"
	[ "$(sim_stat timeouts)" = "$timeouts" ] || fail "a vCPU stalled past the timeout during the restart"
	hvctl zone info 1
}

# the register read round trip and the console still work after it
t_stack_after_restart() {
	dev=$(blk_dev) || fail "no virtio disk"
	dd if="$dev" of=/dev/null bs=1M count=16 iflag=direct 2>/dev/null || fail "read after restart"
	t_stack_console
}

# images reach the zone's RAM; hvisord's own checks refuse a busy CPU and
# overlapping RAM
t_stack_zone2_load() {
	stack_up
	mkdir -p /tmp/zone2
	cp "$HVTEST_DIR/configs/zone2-$HVTEST_ARCH.json" /tmp/zone2/zone2.json
	dd if=/dev/urandom of=/tmp/zone2/kernel.bin bs=4096 count=700 2>/dev/null
	hvctl zone start /tmp/zone2/zone2.json
	pa=$(sed -n 's/.*"kernel_load_paddr": *"\(0x[0-9a-f]*\)".*/\1/p' /tmp/zone2/zone2.json)
	hvisor-kmod-test verify-load 2 "$pa" /tmp/zone2/kernel.bin || fail "the image is not in zone 2's RAM"
	out=$(hvctl zone start "$HVTEST_DIR/configs/zone-cpubusy-$HVTEST_ARCH.json" 2>&1) &&
		fail "a zone on zone 1's CPU started"
	echo "$out" | grep -q CpuBusy || fail "busy CPU: $out"
	out=$(hvctl zone start "$HVTEST_DIR/configs/zone-overlap-$HVTEST_ARCH.json" 2>&1) &&
		fail "a zone overlapping zone 1's RAM started"
	echo "$out" | grep -q MemoryOverlap || fail "overlap: $out"
	hvctl zone shutdown 2
}

_gone() { [ ! -d "/proc/$1" ]; }
_no_blk() { ! blk_dev >/dev/null; }

t_stack_zone_shutdown() {
	pid=$(virtiod_pid)
	hvctl zone shutdown 1
	hvctl zone list | grep -q vmguest && fail "zone 1 still listed"
	wait_for 30 "the virtio disk to go" _no_blk
	wait_for 30 "hvisor-virtiod to exit" _gone "$pid"
	ip link del hvtap1 2>/dev/null || true
	[ "$(sim_stat timeouts)" = 0 ] || fail "hvisor_sim counted $(sim_stat timeouts) stall timeouts"
}

t_stack_down() {
	hvisord_stop
	kmod_down
	# and up again: a second load cycle is clean too
	kmod_stack_up
	kmod_down
}
