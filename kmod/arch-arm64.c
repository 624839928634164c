// SPDX-License-Identifier: GPL-2.0-only
/* arm64: wake-up IRQ from the device tree, GIC-gated zone interrupts. */
#include <asm/barrier.h>
#include <asm/cacheflush.h>
#include <asm/cputype.h>

#include "internal.h"

const bool hvisor_arch_irqs_gated = true;

int hvisor_arch_wakeup_irq(void)
{
	return hvisor_of_wakeup_irq();
}

void hvisor_arch_wakeup_ack(void)
{
}

/*
 * A zone's boot CPU starts with its MMU and caches off, so the image must
 * be in memory, not only in our caches: clean and invalidate to the point
 * of coherency (the kernel does not export its own helper for that), then
 * drop stale instructions.
 */
void hvisor_arch_sync_image(void *va, size_t len)
{
	/* CTR_EL0.DminLine: log2 of the smallest D-cache line in words */
	unsigned long line = 4UL << ((read_cpuid_cachetype() >> 16) & 0xf);
	unsigned long p = (unsigned long)va & ~(line - 1);
	unsigned long end = (unsigned long)va + len;

	for (; p < end; p += line)
		asm volatile("dc civac, %0" : : "r"(p) : "memory");
	dsb(sy);
	icache_inval_all_pou();
	isb();
}

size_t hvisor_arch_config_size(u64 magic)
{
	switch (magic) {
	case HV_CONFIG_MAGIC_0x05:
		return sizeof(struct hv_zone_config_aarch64_0x05);
	case HV_CONFIG_MAGIC_0x06:
		return sizeof(struct hv_zone_config_aarch64_0x06);
	default:
		return 0;
	}
}
