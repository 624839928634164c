// SPDX-License-Identifier: GPL-2.0-only
/*
 * loongarch64: wake-up IRQ from the device tree (CPUINTC HWI2). hvisor
 * ignores a zone's interrupt list here.
 */
#include "internal.h"

const bool hvisor_arch_irqs_gated;

int hvisor_arch_wakeup_irq(void)
{
	return hvisor_of_wakeup_irq();
}

/* HWI2 behaves like a level line: hvisor re-arms it on request (§1.4). */
void hvisor_arch_wakeup_ack(void)
{
	hvisor_hypercall(HVISOR_HC_CLEAR_INJECT_IRQ, 0, 4);
}

/* Caches are coherent; ibar orders instruction fetch after the copy. */
void hvisor_arch_sync_image(void *va, size_t len)
{
	asm volatile("ibar 0" : : : "memory");
}

size_t hvisor_arch_config_size(u64 magic)
{
	switch (magic) {
	case HV_CONFIG_MAGIC_0x05:
		return sizeof(struct hv_zone_config_loongarch64_0x05);
	case HV_CONFIG_MAGIC_0x06:
		return sizeof(struct hv_zone_config_loongarch64_0x06);
	default:
		return 0;
	}
}
