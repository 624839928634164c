// SPDX-License-Identifier: GPL-2.0-only
/*
 * The hypercall entry point: what hvisor does for each code hvisor.ko
 * issues. Address arguments are root physical addresses of kernel memory;
 * they are checked before the sim touches them (hvisor would translate
 * them through the root's stage-2 tables and fault on garbage).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/export.h>
#include <linux/irqflags.h>
#include <linux/ioport.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <asm/unaligned.h>

#include "uapi/hvisor.h"
#include "hvisor-sim.h"
#include "sim.h"

/*
 * A kernel pointer to [pa, pa + len) if that range is ordinary root RAM
 * with struct pages (so it is in the linear map), else NULL.
 */
void *sim_phys_ptr(u64 pa, u64 len)
{
	unsigned long pfn;
	u64 last;

	if (!len || check_add_overflow(pa, len - 1, &last))
		return NULL;
	if (last > (u64)(phys_addr_t)-1)
		return NULL;
	for (pfn = PHYS_PFN(pa); pfn <= PHYS_PFN(last); pfn++)
		if (!pfn_valid(pfn))
			return NULL;
	if (region_intersects(pa, len, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_INTERSECTS)
		return NULL;
	return phys_to_virt(pa);
}

static long sim_config_check(u64 pa)
{
	void *p = sim_phys_ptr(pa, sizeof(u64));

	if (!p)
		return -EFAULT;
	put_unaligned((u64)READ_ONCE(sim_magic), (u64 *)p);
	return 0;
}

/* Later hvisor: records the zone's boot mode for its next START_ZONE. */
static long sim_set_boot_mode(u64 pa, u64 size)
{
	if (size != sizeof(struct hvisor_boot_mode_args))
		return -EINVAL;
	if (!sim_phys_ptr(pa, size))
		return -EFAULT;
	return 0;
}

/* Later hvisor: ECAM base of the root's PCI host; none here. */
static long sim_get_ecam_base(u64 pa)
{
	void *p = sim_phys_ptr(pa, sizeof(u64));

	if (!p)
		return -EFAULT;
	put_unaligned(0ULL, (u64 *)p);
	return 0;
}

long hvisor_sim_hypercall(u64 code, u64 arg0, u64 arg1)
{
	switch (code) {
	case HVISOR_HC_INIT_VIRTIO:
		return sim_bridge_init(arg0);
	case HVISOR_HC_FINISH_REQ:
		return sim_bridge_finish_req();
	case HVISOR_HC_START_ZONE:
		return sim_zone_start(arg0, arg1);
	case HVISOR_HC_SHUTDOWN_ZONE:
		return sim_zone_shutdown(arg0);
	case HVISOR_HC_ZONE_LIST:
		return sim_zone_list(arg0, arg1);
	case HVISOR_HC_CONFIG_CHECK:
		return sim_config_check(arg0);
	case HVISOR_HC_SET_BOOT_MODE:
		return sim_set_boot_mode(arg0, arg1);
	case HVISOR_HC_GET_ECAM_BASE:
		return sim_get_ecam_base(arg0);
	case HVISOR_HC_GET_VIRTIO_IRQ:
		return sim_irq_hc_get(arg0);
	default:
		/* hvisor answers codes it does not know with success */
		return 0;
	}
}
EXPORT_SYMBOL_GPL(hvisor_sim_hypercall);

unsigned int sim_irq_target(unsigned int cpu)
{
	unsigned int other;

	if (!irqs_disabled())
		return cpu;
	other = cpumask_any_but(cpu_online_mask, cpu);
	return other < nr_cpu_ids ? other : cpu;
}
