#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# hvisord's kmod backend (hvisord/hv-kmod.c) through the upstream /dev/hvisor
# ioctl ABI, emulated on hvisor-sim by fake-hvisor.so (LD_PRELOAD). TAP.
set -u
abs() { case "$1" in /*) echo "$1" ;; *) echo "$(pwd)/$1" ;; esac; }
HVISORD=$(abs "$1") SIM=$(abs "$2") HVCTL=$(abs "$3") SHIM=$(abs "$4") PEEK=$(abs "$5")
HVISOR=$(dirname "$HVCTL")/hvisor

T=$(mktemp -d)
SIM_PID= D_PID=
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; failed=1; [ -f "$T/out" ] && sed 's/^/# /' "$T/out"; }
check() { d=$1; shift; if "$@" >"$T/out" 2>&1; then ok "$d"; else not_ok "$d"; fi; }
cleanup() {
	[ -n "$D_PID" ] && kill "$D_PID" 2>/dev/null
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
wait_socket() { i=0; while [ ! -S "$1" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done; [ -S "$1" ]; }

start_hvisord() {
	rm -f "$T/run/hvisord.sock"
	# an ASan hvisord complains about a preload that is not its runtime
	LD_PRELOAD="$SHIM" FAKE_HVISOR_DEVICE="$T/dev-hvisor" FAKE_HVISOR_SIM="$T/sim.sock" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
		"$HVISORD" --backend "kmod:$T/dev-hvisor" --runtime-dir "$T/run" 2>>"$T/hvisord.log" &
	D_PID=$!
	wait_socket "$T/run/hvisord.sock"
}
stop_hvisord() {
	kill "$D_PID"
	wait "$D_PID"
	rc=$?
	D_PID=
	return $rc
}

echo "1..12"
export HVISOR_SOCKET="$T/run/hvisord.sock"
# The kmod backend parses configs for this machine's architecture.
case "$(uname -m)" in
aarch64) ARCH=aarch64 ;;
x86_64) ARCH=x86_64 ;;
riscv64) ARCH=riscv64 ;;
loongarch64) ARCH=loongarch64 ;;
*) echo "1..0 # SKIP no zone config for $(uname -m)"; exit 0 ;;
esac
zone_json() { # id cpu ram
	if [ $ARCH = x86_64 ]; then
		arch_config='"ioapic_base": "0xfec00000", "ioapic_size": "0x1000",
		"kernel_entry_gpa": "0x100000", "rsdp_memory_region_id": 0,
		"acpi_memory_region_id": 0, "uefi_memory_region_id": 0, "screen_base": 0'
	elif [ $ARCH = riscv64 ]; then
		arch_config='"plic_base": "0xc000000", "plic_size": "0x4000000",
		"aplic_base": "0xd000000", "aplic_size": "0x8000"'
	else
		arch_config='"gic_version": "v3", "gicd_base": "0x8000000", "gicd_size": "0x10000",
		"gicr_base": "0x80a0000", "gicr_size": "0xf60000"'
	fi
	cat <<EOJ
{ "zone_id": $1, "name": "zone$1", "cpus": [$2],
  "memory_regions": [ { "type": "ram", "physical_start": "$3", "virtual_start": "$3", "size": "0x10000000" } ],
  "interrupts": [], "ivc_configs": [],
  "kernel_filepath": "zone$1-kernel.bin", "dtb_filepath": "zone$1.dtb",
  "kernel_load_paddr": "$(printf '0x%x' $(($3 + 0x400000)))", "dtb_load_paddr": "$3",
  "entry_point": "$(printf '0x%x' $(($3 + 0x400000)))",
  "arch_config": { $arch_config } }
EOJ
}
zone_json 1 2 0x50000000 >"$T/zone1.json"
zone_json 3 3 0x50000000 >"$T/zone3.json" # overlaps zone 1
for z in zone1 zone3; do
	head -c 3000001 /dev/urandom >"$T/$z-kernel.bin"
	head -c 2222 /dev/urandom >"$T/$z.dtb"
done

"$SIM" --socket "$T/sim.sock" --arch $ARCH --magic 5 2>"$T/sim.log" &
SIM_PID=$!
wait_socket "$T/sim.sock" || { echo "Bail out! hvisor-sim did not start"; exit 1; }
start_hvisord || { echo "Bail out! hvisord did not start"; cat "$T/hvisord.log"; exit 1; }

check "version reports the kmod backend and CONFIG_CHECK's magic 0x05" \
	sh -c "'$HVCTL' version | grep -q 'backend kmod at $T/dev-hvisor, $ARCH, config magic 0x05'"
check "zone start through ZONE_START + LOAD_IMAGE ioctls" "$HVCTL" zone start "$T/zone1.json"
check "kernel bytes are at kernel_load_paddr" \
	sh -c "'$PEEK' '$T/sim.sock' 0x50400000 3000001 | cmp - '$T/zone1-kernel.bin'"
if [ $ARCH = x86_64 ]; then
	ok "dtb bytes are at dtb_load_paddr # SKIP x86_64 loads no dtb"
else
	check "dtb bytes are at dtb_load_paddr" \
		sh -c "'$PEEK' '$T/sim.sock' 0x50000000 2222 | cmp - '$T/zone1.dtb'"
fi
printf '%s\n' '|     zone_id     |       cpus        |      name       |     status |' \
	'|               0 |              0, 1 |      root-linux |    running |' \
	'|               1 |                 2 |           zone1 |    running |' >"$T/want"
check "ZONE_LIST through the ioctl gives the upstream table" \
	sh -c "'$HVISOR' zone list >'$T/got' && cmp '$T/got' '$T/want'"

# After a restart hvisord knows zone 1 again (its state file): the overlap
# is refused by hvisord itself.
stop_hvisord && start_hvisord
if "$HVCTL" zone start "$T/zone3.json" >"$T/out" 2>&1; then
	not_ok "after a restart, an overlapping zone is refused by hvisord"
elif grep -q 'org.hvisor.Zone.MemoryOverlap' "$T/out"; then
	ok "after a restart, an overlapping zone is refused by hvisord"
else
	not_ok "after a restart, an overlapping zone is refused by hvisord"
fi
check "zone 1 is managed again after the restart" \
	sh -c "'$HVCTL' zone info 1 | grep -q 'Started:'"

# Without the state file hvisord does not know zone 1's memory: the overlap
# is then caught by the hypervisor, and its errno must come back through ioctl.
stop_hvisord && rm -f "$T/run/state.json" && start_hvisord
if "$HVCTL" zone start "$T/zone3.json" >"$T/out" 2>&1; then
	not_ok "a LOAD_IMAGE refused by the hypervisor is a KernelError with its errno"
elif grep -q 'org.hvisor.KernelError: LOAD_IMAGE failed: Operation not permitted' "$T/out"; then
	ok "a LOAD_IMAGE refused by the hypervisor is a KernelError with its errno"
else
	not_ok "a LOAD_IMAGE refused by the hypervisor is a KernelError with its errno"
fi
check "the failed start left no zone" sh -c "'$HVISOR' zone list >'$T/got' && cmp '$T/got' '$T/want'"
check "zones started before hvisord are listed as unmanaged" \
	sh -c "'$HVCTL' zone info 1 | grep -q 'Managed:      no'"
check "zone shutdown -id passes the id by value" "$HVISOR" zone shutdown -id 1
check "hvisord exits 0 on SIGTERM" stop_hvisord
exit $failed
