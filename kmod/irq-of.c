// SPDX-License-Identifier: GPL-2.0-only
/* The wake-up interrupt on device-tree systems: node /hvisor_virtio_device. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/of.h>
#include <linux/of_irq.h>

#include "internal.h"

int hvisor_of_wakeup_irq(void)
{
	struct device_node *np = of_find_node_by_path("/hvisor_virtio_device");
	int irq;

	if (!np) {
		pr_info("no device-tree node /hvisor_virtio_device\n");
		return -ENODEV;
	}
	if (!of_device_is_compatible(np, "hvisor"))
		pr_warn("/hvisor_virtio_device is not compatible = \"hvisor\"\n");
	irq = of_irq_get(np, 0);
	of_node_put(np);
	if (irq <= 0) {
		pr_err("/hvisor_virtio_device: no usable interrupt (%d)\n", irq);
		return irq < 0 ? irq : -ENODEV;
	}
	return irq;
}
