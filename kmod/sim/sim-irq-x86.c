// SPDX-License-Identifier: GPL-2.0-only
/*
 * x86_64 wake-up IRQ. hvisor.ko learns it from hypercall 86; on a board it
 * is a vector hvisor injects. Here it is a Linux IRQ descriptor of our own
 * on the dummy chip, fired from hard-IRQ context through irq_work, so
 * hvisor.ko's real handler runs the way it would for a hardware interrupt.
 *
 * On a board the vCPU that traps and the root CPU that takes the wake-up
 * are different CPUs. Here the "guest" is the root kernel itself, and a
 * driver may spin with interrupts off until the backend answers (as
 * virtio_console's put_chars() does), so the wake-up goes to another
 * online CPU when this one has interrupts off.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/irq.h>
#include <linux/cpumask.h>
#include <linux/irq_work.h>
#include <linux/irqdesc.h>
#include <linux/numa.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include <asm/unaligned.h>

#include "sim.h"

static unsigned int sim_irq;	/* 0: none (virtio_irq=0) */

static void sim_irq_fire(struct irq_work *work)
{
	generic_handle_irq(sim_irq);
}

/* here: a self-IPI, taken as soon as this CPU enables interrupts */
static DEFINE_PER_CPU(struct irq_work, sim_irq_work);

/* on another CPU, in its IPI handler (hard-IRQ context) */
static void sim_irq_remote(void *unused)
{
	generic_handle_irq(sim_irq);
}

/* one per target: a raise stuck at a CPU that spins blocks no other */
static DEFINE_PER_CPU(call_single_data_t, sim_irq_csd);

static void sim_irq_nop(void *unused)
{
}

int sim_irq_init(void)
{
	unsigned int cpu;
	int irq;

	if (!sim_virtio_irq)
		return 0;
	/* at run time: a module's per-CPU initialisers are not reliable here */
	for_each_possible_cpu(cpu) {
		struct irq_work w = IRQ_WORK_INIT_HARD(sim_irq_fire);

		*per_cpu_ptr(&sim_irq_work, cpu) = w;
		INIT_CSD(per_cpu_ptr(&sim_irq_csd, cpu), sim_irq_remote, NULL);
	}
	irq = irq_alloc_desc(NUMA_NO_NODE);
	if (irq < 0)
		return irq;
	irq_set_chip_and_handler_name(irq, &dummy_irq_chip, handle_simple_irq,
				      "hvisor_sim");
	/* hvisor.ko must be able to request_irq() it, shared */
	irq_clear_status_flags(irq, IRQ_NOREQUEST | IRQ_NOAUTOEN);
	sim_irq = irq;
	pr_info("wake-up IRQ %u\n", sim_irq);
	return 0;
}

void sim_irq_exit(void)
{
	unsigned int cpu;

	if (!sim_irq)
		return;
	/* a raise in flight: a waited-for call to every CPU queues behind it */
	smp_call_function(sim_irq_nop, NULL, true);
	for_each_possible_cpu(cpu)
		irq_work_sync(per_cpu_ptr(&sim_irq_work, cpu));
	irq_free_desc(sim_irq);
	sim_irq = 0;
}

/*
 * Here, if this CPU takes interrupts; else on another CPU (this one may
 * be a driver spinning with interrupts off for the backend's answer).
 */
void sim_irq_raise(void)
{
	unsigned int cpu, target;

	if (!sim_irq)
		return;
	cpu = get_cpu();
	target = sim_irq_target(cpu);
	/* -EBUSY / false: one is pending there already, as an IRQ would be */
	if (target == cpu)
		irq_work_queue(this_cpu_ptr(&sim_irq_work));
	else
		smp_call_function_single_async(target, per_cpu_ptr(&sim_irq_csd, target));
	put_cpu();
}

/* GET_VIRTIO_IRQ: write the IRQ number (0 = none) to the u32 at pa. */
long sim_irq_hc_get(u64 pa)
{
	void *p = sim_phys_ptr(pa, sizeof(u32));

	if (!p)
		return -EFAULT;
	put_unaligned((u32)sim_irq, (u32 *)p);
	return 0;
}
