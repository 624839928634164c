# SPDX-License-Identifier: GPL-2.0-only
# Control-plane scenarios of the integration suite, on hvisor.ko: events,
# device removal and re-adding on a running zone, the caller's rights.
# Runs while zone 1 (20-stack.sh) is up; relies on its helpers.

_events_have() {
	grep -q "\"$1\"" /tmp/events.out && grep "\"$1\"" /tmp/events.out | grep -q '"id": *2\|"zone_id": *2'
}

# hvctl events sees zone 2 start and stop, as hvisord saw them on /dev/hvisor
t_stack_events() {
	stack_up
	mkdir -p /tmp/zone2
	cp "$HVTEST_DIR/configs/zone2-$HVTEST_ARCH.json" /tmp/zone2/zone2.json
	[ -f /tmp/zone2/kernel.bin ] || dd if=/dev/urandom of=/tmp/zone2/kernel.bin bs=4096 count=700 2>/dev/null
	: >/tmp/events.out
	hvctl --json events >/tmp/events.out 2>&1 &
	ev=$!
	trap 'kill $ev 2>/dev/null || true' EXIT
	wait_for 10 "hvctl events to subscribe" grep -q '"Subscribed"' /tmp/events.out
	hvctl zone start /tmp/zone2/zone2.json
	hvctl zone shutdown 2
	wait_for 20 "ZoneStopped of zone 2 in the event stream" _events_have ZoneStopped
	_events_have ZoneStarted || fail "no ZoneStarted of zone 2: $(cat /tmp/events.out)"
}

_virtio_count() {
	hvctl virtio list | grep -c '0xd000'
}

# a device removed from a running zone and added again: hvisord's registry
# and the backend follow (virtio-mmio has no hot-unplug, so the guest's
# driver is not told; this checks the control plane on /dev/hvisor)
t_stack_virtio_remove() {
	[ -n "$(net_dev)" ] || fail "no virtio_net interface to start with"
	hvctl virtio remove 1 0xd0001000
	[ "$(_virtio_count)" = 2 ] || fail "virtio list after remove: $(hvctl virtio list)"
	hvctl virtio add 1 net,addr=0xd0001000,len=0x200,irq=41,tap=hvtap1,mac=02:00:00:00:00:02
	[ "$(_virtio_count)" = 3 ] || fail "virtio list after re-add: $(hvctl virtio list)"
	hvctl virtio list
}

# an unprivileged user reads but cannot change anything, and cannot reach
# /dev/hvisor at all
t_stack_permissions() {
	[ "$(stat -c %a /dev/hvisor)" = 600 ] || fail "/dev/hvisor is mode $(stat -c %a /dev/hvisor)"
	su -s /bin/sh -c 'test -r /dev/hvisor || test -w /dev/hvisor' nobody &&
		fail "nobody can open /dev/hvisor"
	out=$(su -s /bin/sh -c 'hvctl zone shutdown 1' nobody 2>&1) && fail "nobody shut zone 1 down"
	echo "$out"
	echo "$out" | grep -q "group" || fail "the refusal does not name the group: $out"
	hvctl zone list | grep -q vmguest || fail "zone 1 is gone after nobody's attempt"
}
