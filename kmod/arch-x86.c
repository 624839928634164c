// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86_64: no device tree; hvisor tells the wake-up IRQ through hypercall
 * 86. hvisor ignores a zone's interrupt list here.
 */
#include <linux/io.h>
#include <linux/slab.h>

#include "internal.h"

const bool hvisor_arch_irqs_gated;

int hvisor_arch_wakeup_irq(void)
{
	u32 *irq = kzalloc(sizeof(*irq), GFP_KERNEL);
	long r;
	int n;

	if (!irq)
		return -ENOMEM;
	r = hvisor_hypercall(HVISOR_HC_GET_VIRTIO_IRQ, virt_to_phys(irq), 0);
	n = READ_ONCE(*irq);
	kfree(irq);
	if (r < 0)
		return r;
	return n > 0 ? n : -ENODEV;
}

void hvisor_arch_wakeup_ack(void)
{
}

/* Caches are coherent with every CPU and with instruction fetch. */
void hvisor_arch_sync_image(void *va, size_t len)
{
}

size_t hvisor_arch_config_size(u64 magic)
{
	switch (magic) {
	case HV_CONFIG_MAGIC_0x05:
		return sizeof(struct hv_zone_config_x86_64_0x05);
	case HV_CONFIG_MAGIC_0x06:
		return sizeof(struct hv_zone_config_x86_64_0x06);
	default:
		return 0;
	}
}
