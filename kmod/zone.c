// SPDX-License-Identifier: GPL-2.0-only
/*
 * The zones this module started, as their ZONE_START configs described
 * them. hvisor trusts its caller (a bad region panics it), so a config is
 * checked here before it is passed on; what it says later decides which
 * memory a zone's channel may map and which IRQs its backend may raise.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>

#include "internal.h"

struct hvisor_ram {
	u64 start;	/* host physical */
	u64 size;
};

struct hvisor_zone {
	u32 id;
	u64 cpus;
	u32 nram;
	struct hvisor_ram ram[HV_CONFIG_MAX_MEMORY_REGIONS];
	u32 irqs[HV_CONFIG_IRQ_WORDS];
};

static bool ranges_overlap(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

/* Caller holds zones_lock. */
static struct hvisor_zone *zone_find_locked(u32 zone_id)
{
	int i;

	for (i = 0; i < HVISOR_MAX_ZONES; i++)
		if (hvisor.zones[i] && hvisor.zones[i]->id == zone_id)
			return hvisor.zones[i];
	return NULL;
}

static int check_region(const struct hv_cfg_head *h, u32 i)
{
	const struct hv_cfg_memory_region *r = &h->memory_regions[i];
	u64 end;
	u32 owner;

	if (r->type != HV_MEM_TYPE_RAM && r->type != HV_MEM_TYPE_IO &&
	    r->type != HV_MEM_TYPE_VIRTIO) {
		pr_err("zone %u: memory region %u has unknown type %u\n",
		       h->zone_id, i, r->type);
		return -EINVAL;
	}
	if (!r->size || check_add_overflow(r->physical_start, r->size, &end) ||
	    check_add_overflow(r->virtual_start, r->size, &end)) {
		pr_err("zone %u: memory region %u is empty or wraps\n",
		       h->zone_id, i);
		return -EINVAL;
	}
	if (r->type != HV_MEM_TYPE_RAM)
		return 0;
	if (region_intersects(r->physical_start, r->size,
			      IORESOURCE_SYSTEM_RAM, IORES_DESC_NONE) !=
	    REGION_DISJOINT) {
		pr_err("zone %u: RAM region %u [%#llx, +%#llx) is root Linux's RAM; reserve it (reserved-memory, no-map)\n",
		       h->zone_id, i, r->physical_start, r->size);
		return -EINVAL;
	}
	owner = hvisor_ram_owner(r->physical_start, r->size);
	if (owner) {
		pr_err("zone %u: RAM region %u overlaps the RAM of zone %u\n",
		       h->zone_id, i, owner);
		return -EBUSY;
	}
	return 0;
}

/*
 * What hvisor would otherwise crash on or silently misuse: too many
 * regions, unknown region types, wrapping ranges, CPU ids beyond the
 * bridge's 32 per-CPU slots, zone 0; and what would corrupt root Linux or
 * another zone: RAM that is root Linux's own or already a zone's.
 */
int hvisor_zone_check(const struct hv_cfg_head *h)
{
	u32 i;
	int r;

	if (h->zone_id == 0) {
		pr_err("zone 0 is the root zone\n");
		return -EINVAL;
	}
	if (!h->cpus || h->cpus >> HVISOR_BRIDGE_MAX_CPUS) {
		pr_err("zone %u: CPU mask %#llx is empty or has CPUs >= %u\n",
		       h->zone_id, h->cpus, HVISOR_BRIDGE_MAX_CPUS);
		return -EINVAL;
	}
	if (h->num_memory_regions > HV_CONFIG_MAX_MEMORY_REGIONS) {
		pr_err("zone %u: %u memory regions, at most %u\n", h->zone_id,
		       h->num_memory_regions, HV_CONFIG_MAX_MEMORY_REGIONS);
		return -EINVAL;
	}
	for (i = 0; i < h->num_memory_regions; i++) {
		r = check_region(h, i);
		if (r)
			return r;
	}
	return 0;
}

/* After hvisor accepted the config. */
int hvisor_zone_add(const struct hv_cfg_head *h)
{
	struct hvisor_zone *z = kzalloc(sizeof(*z), GFP_KERNEL);
	int i, slot = -1;
	u32 n;

	if (!z)
		return -ENOMEM;
	z->id = h->zone_id;
	z->cpus = h->cpus;
	for (n = 0; n < h->num_memory_regions; n++) {
		const struct hv_cfg_memory_region *r = &h->memory_regions[n];

		if (r->type == HV_MEM_TYPE_RAM)
			z->ram[z->nram++] = (struct hvisor_ram){
				r->physical_start, r->size };
	}
	memcpy(z->irqs, h->interrupts_bitmap, sizeof(z->irqs));

	spin_lock(&hvisor.zones_lock);
	for (i = 0; i < HVISOR_MAX_ZONES; i++) {
		if (hvisor.zones[i] && hvisor.zones[i]->id == z->id) {
			/* started again behind our back: the new config wins */
			kfree(hvisor.zones[i]);
			hvisor.zones[i] = NULL;
		}
		if (!hvisor.zones[i] && slot < 0)
			slot = i;
	}
	if (slot >= 0)
		hvisor.zones[slot] = z;
	spin_unlock(&hvisor.zones_lock);
	if (slot < 0) {
		pr_warn("zone %u: more than %u zones; its RAM map is not kept\n",
			z->id, HVISOR_MAX_ZONES);
		kfree(z);
		return -ENOSPC;
	}
	return 0;
}

void hvisor_zone_remove(u32 zone_id)
{
	struct hvisor_zone *z;
	int i;

	spin_lock(&hvisor.zones_lock);
	z = zone_find_locked(zone_id);
	for (i = 0; z && i < HVISOR_MAX_ZONES; i++)
		if (hvisor.zones[i] == z)
			hvisor.zones[i] = NULL;
	spin_unlock(&hvisor.zones_lock);
	kfree(z);
}

bool hvisor_zone_known(u32 zone_id)
{
	bool known;

	spin_lock(&hvisor.zones_lock);
	known = zone_find_locked(zone_id);
	spin_unlock(&hvisor.zones_lock);
	return known;
}

/* Is [start, start + len) inside one RAM region of the zone? */
bool hvisor_zone_ram_contains(u32 zone_id, u64 start, u64 len)
{
	struct hvisor_zone *z;
	bool inside = false;
	u64 end;
	u32 i;

	if (!len || check_add_overflow(start, len, &end))
		return false;
	spin_lock(&hvisor.zones_lock);
	z = zone_find_locked(zone_id);
	for (i = 0; z && i < z->nram && !inside; i++)
		inside = start >= z->ram[i].start &&
			 end <= z->ram[i].start + z->ram[i].size;
	spin_unlock(&hvisor.zones_lock);
	return inside;
}

/* The zone whose RAM overlaps [start, start + len), or 0. */
u32 hvisor_ram_owner(u64 start, u64 len)
{
	u32 owner = 0, j;
	int i;

	spin_lock(&hvisor.zones_lock);
	for (i = 0; i < HVISOR_MAX_ZONES && !owner; i++) {
		struct hvisor_zone *z = hvisor.zones[i];

		for (j = 0; z && j < z->nram && !owner; j++)
			if (ranges_overlap(start, len, z->ram[j].start,
					   z->ram[j].size))
				owner = z->id;
	}
	spin_unlock(&hvisor.zones_lock);
	return owner;
}

/*
 * May a backend raise this IRQ in its zone? Where hvisor gates a zone's
 * interrupts by its config (aarch64, riscv64) only those; elsewhere any
 * valid number. Zones started before this module was loaded are unknown:
 * any valid number.
 */
int hvisor_zone_irq_ok(u32 zone_id, u64 irq)
{
	struct hvisor_zone *z;
	int r = 0;

	if (irq >= HV_CONFIG_MAX_INTERRUPTS)
		return -EINVAL;
	if (!hvisor_arch_irqs_gated)
		return 0;
	spin_lock(&hvisor.zones_lock);
	z = zone_find_locked(zone_id);
	if (z && !(z->irqs[irq / 32] & (1U << (irq % 32))))
		r = -EPERM;
	spin_unlock(&hvisor.zones_lock);
	return r;
}

/* Forget zones hvisor no longer lists (stopped behind our back). */
void hvisor_zones_reconcile(const struct hvisor_zone_info *zi, int n)
{
	u32 gone[HVISOR_MAX_ZONES];
	int i, j, ngone = 0;

	spin_lock(&hvisor.zones_lock);
	for (i = 0; i < HVISOR_MAX_ZONES; i++) {
		struct hvisor_zone *z = hvisor.zones[i];
		bool listed = false;

		for (j = 0; z && j < n && !listed; j++)
			listed = zi[j].zone_id == z->id;
		if (z && !listed) {
			gone[ngone++] = z->id;
			hvisor.zones[i] = NULL;
			kfree(z);
		}
	}
	spin_unlock(&hvisor.zones_lock);
	for (i = 0; i < ngone; i++) {
		pr_info("zone %u is gone\n", gone[i]);
		hvisor_channel_end(gone[i]);
	}
}

void hvisor_zones_free(void)
{
	int i;

	for (i = 0; i < HVISOR_MAX_ZONES; i++) {
		kfree(hvisor.zones[i]);
		hvisor.zones[i] = NULL;
	}
}
