// SPDX-License-Identifier: GPL-2.0-only
/* riscv64: wake-up IRQ from the device tree, PLIC/APLIC-gated interrupts. */
#include <asm/cacheflush.h>

#include "internal.h"

const bool hvisor_arch_irqs_gated = true;

int hvisor_arch_wakeup_irq(void)
{
	return hvisor_of_wakeup_irq();
}

void hvisor_arch_wakeup_ack(void)
{
}

/* Data caches are coherent here; instruction fetch needs a fence.i. */
void hvisor_arch_sync_image(void *va, size_t len)
{
	flush_icache_all();
}

size_t hvisor_arch_config_size(u64 magic)
{
	switch (magic) {
	case HV_CONFIG_MAGIC_0x05:
		return sizeof(struct hv_zone_config_riscv64_0x05);
	case HV_CONFIG_MAGIC_0x06:
		return sizeof(struct hv_zone_config_riscv64_0x06);
	default:
		return 0;
	}
}
