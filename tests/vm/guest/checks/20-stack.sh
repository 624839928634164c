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

# a file on the virtio disk against its source: the first bytes that differ
_same_file() {
	cmp "$1" "$2" >/dev/null && return 0
	_sf_diff=$(cmp -l "$1" "$2" 2>/dev/null | awk 'NR == 1 { f = $1 } { n++; l = $1 } END { printf "%d bytes in [%d, %d]", n, f - 1, l - 1 }')
	echo "$2 differs from $1: $_sf_diff (offsets from 0; 4096-byte blocks $(cmp -l "$1" "$2" 2>/dev/null | awk '{ b = int(($1 - 1) / 4096); if (!(b in s)) { s[b] = 1; printf "%d ", b } }' | cut -c 1-200))"
	return 1
}

_umount_vda() {
	umount "$HVT_MNT" 2>/dev/null || true
}

# the raw disk through the page cache: writeback and readahead build
# requests of scattered pages, up to seg_max (254) of them, i.e. full-size
# indirect chains (header, 254 buffers, status); read back through the disk
# (caches dropped) and from the image itself
timeout_stack_blk_raw=120
t_stack_blk_raw() {
	dev=$(blk_dev) || fail "no virtio disk"
	dd if=/dev/urandom of=/tmp/raw.src bs=1M count=32 2>/dev/null
	dd if=/tmp/raw.src of="$dev" bs=1M conv=fsync 2>/dev/null || fail "write failed"
	echo 3 >/proc/sys/vm/drop_caches
	dd if="$dev" of=/tmp/raw.back bs=1M count=32 2>/dev/null || fail "read failed"
	_same_file /tmp/raw.src /tmp/raw.back || fail "what was read back through the disk differs"
	dd if="$HVT_IMG" of=/tmp/raw.img bs=1M count=32 2>/dev/null
	_same_file /tmp/raw.src /tmp/raw.img || fail "the image does not hold what was written"
	rm -f /tmp/raw.src /tmp/raw.back /tmp/raw.img
}

# mkfs, mount, files, umount, fsck -f clean (device and image), read back
t_stack_blk_ext4() {
	dev=$(blk_dev) || fail "no virtio disk"
	trap _umount_vda EXIT
	mkdir -p /tmp/src "$HVT_MNT"
	for i in 1 2 3 4; do
		dd if=/dev/urandom of="/tmp/src/f$i" bs=1M count=$((i * 4)) 2>/dev/null
	done
	mkfs.ext4 -q -F "$dev"
	mount "$dev" "$HVT_MNT"
	cp /tmp/src/f* "$HVT_MNT/"
	mkdir -p "$HVT_MNT/dir"
	for i in $(seq 1 200); do echo "small file $i" >"$HVT_MNT/dir/s$i"; done
	umount "$HVT_MNT"
	fsck.ext4 -f -n "$dev" || fail "fsck -f of the virtio disk is not clean"
	# what the guest wrote is in the backing image
	fsck.ext4 -f -n "$HVT_IMG" || fail "fsck -f of the backing image is not clean"
	mount -o ro "$dev" "$HVT_MNT"
	bad=0
	for i in 1 2 3 4; do _same_file "/tmp/src/f$i" "$HVT_MNT/f$i" || bad=1; done
	for i in $(seq 1 200); do
		[ "$(cat "$HVT_MNT/dir/s$i")" = "small file $i" ] || { echo "dir/s$i differs"; bad=1; }
	done
	umount "$HVT_MNT"
	[ "$bad" = 0 ] || fail "files differ after remount"
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

# bytes both ways over /dev/hvc0 <-> the pty hvisord published. hvc0 is
# held open on fd 3 throughout: its termios (raw, no echo) would be reset
# by a last close, and a cooked hvc0 waits for a newline and echoes.
timeout_stack_console=60
t_stack_console() {
	[ -e "$HVT_CONSOLE" ] || fail "$HVT_CONSOLE missing"
	exec 3<>/dev/hvc0
	stty raw -echo <&3
	stty -F "$HVT_CONSOLE" raw -echo
	# no newline: nothing for a tty layer to translate
	timeout 10 dd if="$HVT_CONSOLE" bs=1 count=14 2>/dev/null >/tmp/con.out &
	rd=$!
	printf 'guest-to-host!' >&3
	wait "$rd" || true
	[ "$(cat /tmp/con.out)" = "guest-to-host!" ] || fail "pty got '$(cat /tmp/con.out)'"
	timeout 10 dd bs=1 count=14 <&3 2>/dev/null >/tmp/con.in &
	rd=$!
	printf 'host-to-guest!' >"$HVT_CONSOLE"
	wait "$rd" || true
	exec 3>&-
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
	dd if=/dev/urandom of=/tmp/kill.src bs=64k count=512 2>/dev/null
	(dd if=/tmp/kill.src of="$HVT_MNT/during-kill" bs=64k conv=fsync 2>/dev/null &&
		_same_file /tmp/kill.src "$HVT_MNT/during-kill" && echo done >/tmp/kill.done) &
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
	_same_file /tmp/kill.src "$HVT_MNT/during-kill" || fail "the file written across the kill differs"
	umount "$HVT_MNT"
	[ "$(sim_stat timeouts)" = "$timeouts" ] || fail "a vCPU stalled past the timeout during the restart"
	hvctl zone info 1
}

# hvisord restarted during disk I/O, by SIGTERM and by kill -9: the backend
# serves on (the same pid), no stall timeout, the writer finishes, the file
# system is clean, and the new hvisord manages the zone and its devices
t_stack_hvisord_restart() {
	dev=$(blk_dev) || fail "no virtio disk"
	timeouts=$(sim_stat timeouts)
	pid=$(virtiod_pid)
	[ -n "$pid" ] || fail "no hvisor-virtiod"
	mount "$dev" "$HVT_MNT"
	dd if=/dev/urandom of=/tmp/restart.src bs=64k count=512 2>/dev/null
	(dd if=/tmp/restart.src of="$HVT_MNT/during-restart" bs=64k conv=fsync 2>/dev/null &&
		echo done >/tmp/restart.done) &
	writer=$!
	wait_for 30 "some I/O in flight" _file_bigger "$HVT_MNT/during-restart" 1000000
	hvisord_stop
	hvisord_start
	kill -9 "$(cat "$HVTEST_RUN/hvisord.pid")"
	wait_for 30 "hvisord to die" test -f "$HVTEST_RUN/hvisord.rc"
	rm -f "$HVTEST_RUN/hvisord.pid"
	hvisord_start
	wait "$writer" || fail "the writer failed across the restarts"
	[ -f /tmp/restart.done ] || fail "the writer did not finish"
	[ "$(virtiod_pid)" = "$pid" ] || fail "the backend changed: $(virtiod_pid), was $pid"
	hvctl zone info 1 | grep -q Started: || fail "zone 1 is not managed after the restarts"
	hvctl virtio list | grep -c running | grep -qx 3 || fail "not 3 devices running"
	sync
	umount "$HVT_MNT"
	fsck.ext4 -f -n "$dev" || fail "fsck after the restarts is not clean"
	mount -o ro "$dev" "$HVT_MNT"
	_same_file /tmp/restart.src "$HVT_MNT/during-restart" || fail "the file written across the restarts differs"
	umount "$HVT_MNT"
	[ "$(sim_stat timeouts)" = "$timeouts" ] || fail "a vCPU stalled past the timeout during the restarts"
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
