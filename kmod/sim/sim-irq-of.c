// SPDX-License-Identifier: GPL-2.0-only
/*
 * Wake-up IRQ on device-tree architectures. hvisor.ko takes it from the DT
 * node /hvisor_virtio_device; the sim finds the same node and makes the
 * interrupt pending in the interrupt controller, as hvisor's injection
 * does on a board, so a real (GIC) interrupt reaches hvisor.ko's handler.
 *
 * On a board the vCPU that traps and the root CPU that takes the wake-up
 * are different CPUs. Here the "guest" is the root kernel itself, and a
 * driver may spin with interrupts off until the backend answers (as
 * virtio_console's put_chars() does); an interrupt routed to that very CPU
 * would never be taken. So when this CPU has interrupts off, the
 * interrupt is first routed to another one; else to this one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/smp.h>
#include <linux/of.h>
#include <linux/of_irq.h>

#include "sim.h"

#define SIM_IRQ_NODE "/hvisor_virtio_device"

static int sim_virq;	/* 0: none */

int sim_irq_init(void)
{
	struct device_node *np;
	int virq;

	if (!sim_virtio_irq)
		return 0;
	np = of_find_node_by_path(SIM_IRQ_NODE);
	if (!np) {
		pr_err("no DT node %s (needed for the wake-up IRQ; virtio_irq=0 runs without)\n",
		       SIM_IRQ_NODE);
		return -ENODEV;
	}
	virq = of_irq_get(np, 0);
	of_node_put(np);
	if (virq <= 0) {
		pr_err("%s has no usable interrupt (%d)\n", SIM_IRQ_NODE, virq);
		return virq < 0 ? virq : -ENODEV;
	}
	sim_virq = virq;
	pr_info("wake-up IRQ %d from %s\n", sim_virq, SIM_IRQ_NODE);
	return 0;
}

void sim_irq_exit(void)
{
	sim_virq = 0;
}

static void sim_irq_route(void)
{
	struct irq_data *d = irq_get_irq_data(sim_virq);
	unsigned int cpu, target;

	if (!d)
		return;
	cpu = get_cpu();
	target = sim_irq_target(cpu);
	if (!cpumask_test_cpu(target, irq_data_get_effective_affinity_mask(d)))
		irq_set_affinity(sim_virq, cpumask_of(target));
	put_cpu();
}

void sim_irq_raise(void)
{
	int ret;

	if (!sim_virq)
		return;
	sim_irq_route();
	ret = irq_set_irqchip_state(sim_virq, IRQCHIP_STATE_PENDING, true);
	if (ret)
		pr_err_ratelimited("cannot make IRQ %d pending: %d\n", sim_virq, ret);
}

/* GET_VIRTIO_IRQ is x86-only: hvisor elsewhere leaves the u32 alone. */
long sim_irq_hc_get(u64 pa)
{
	return 0;
}
