// SPDX-License-Identifier: GPL-2.0-only
/*
 * The zone table: START_ZONE, SHUTDOWN_ZONE and ZONE_LIST with the rules
 * the user-space hvisor-sim enforces (sim/sim-zones.c, docs/hvisor-sim.md):
 * exact zone_config size, zone id 0 or duplicate, region count, CPU
 * existence and ownership, region types and sizes, RAM overlap.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/ioport.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "sim.h"

static LIST_HEAD(sim_zones);		/* by id, root first */
static DEFINE_SPINLOCK(sim_zones_lock);	/* sim_zones, zone->dead */
static DEFINE_MUTEX(sim_zones_mutex);	/* START/SHUTDOWN/LIST */
static unsigned int sim_n_zones;

static void sim_zone_free(struct kref *ref)
{
	kfree(container_of(ref, struct sim_zone, ref));
}

void sim_zone_put(struct sim_zone *z)
{
	kref_put(&z->ref, sim_zone_free);
}

/* A running zone, with a reference, or NULL. */
struct sim_zone *sim_zone_get(u32 id)
{
	struct sim_zone *z, *found = NULL;
	unsigned long flags;

	spin_lock_irqsave(&sim_zones_lock, flags);
	list_for_each_entry(z, &sim_zones, link)
		if (z->id == id) {
			kref_get(&z->ref);
			found = z;
			break;
		}
	spin_unlock_irqrestore(&sim_zones_lock, flags);
	return found;
}

static struct sim_zone *sim_zone_new(u32 id, u64 cpus, const char *name)
{
	struct sim_zone *z = kzalloc(sizeof(*z), GFP_KERNEL);

	if (!z)
		return NULL;
	kref_init(&z->ref);
	z->id = id;
	z->cpus = cpus;
	memcpy(z->name, name, sizeof(z->name));
	spin_lock_init(&z->lock);
	init_waitqueue_head(&z->cpu_wq);
	INIT_LIST_HEAD(&z->vdevs);
	INIT_WORK(&z->start_work, sim_devices_start);
	INIT_WORK(&z->stop_work, sim_devices_stop);
	return z;
}

/* Insert by id; the caller holds sim_zones_mutex. */
static void sim_zone_insert(struct sim_zone *z)
{
	struct list_head *pos = &sim_zones;
	struct sim_zone *it;
	unsigned long flags;

	list_for_each_entry(it, &sim_zones, link)
		if (it->id > z->id) {
			pos = &it->link;
			break;
		}
	spin_lock_irqsave(&sim_zones_lock, flags);
	list_add_tail(&z->link, pos);
	sim_n_zones++;
	spin_unlock_irqrestore(&sim_zones_lock, flags);
}

static struct sim_zone *sim_zone_find_locked(u32 id)
{
	struct sim_zone *z;

	list_for_each_entry(z, &sim_zones, link)
		if (z->id == id)
			return z;
	return NULL;
}

int sim_zones_init(void)
{
	char name[HV_CONFIG_NAME_LEN] = "root-linux";
	struct sim_zone *root;

	root = sim_zone_new(0, sim_root_cpus, name);
	if (!root)
		return -ENOMEM;
	mutex_lock(&sim_zones_mutex);
	sim_zone_insert(root);
	mutex_unlock(&sim_zones_mutex);
	return 0;
}

static bool sim_ranges_overlap(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

/* RAM overlap with a running zone (the ranges are known not to wrap). */
static u32 sim_ram_owner(const struct hv_cfg_memory_region *r)
{
	const struct hv_cfg_memory_region *o;
	struct sim_zone *z;
	u32 i;

	list_for_each_entry(z, &sim_zones, link)
		for (i = 0; i < z->n_regions; i++) {
			o = &z->regions[i];
			if (o->type == HV_MEM_TYPE_RAM &&
			    sim_ranges_overlap(r->physical_start, r->size,
					       o->physical_start, o->size))
				return z->id;
		}
	return 0;
}

/* Rules 6 and 7: region types, sizes, wrap-around and RAM overlap. */
static long sim_check_regions(const struct hv_cfg_head *h)
{
	const struct hv_cfg_memory_region *r;
	u64 end, vend;
	u32 i, owner;

	for (i = 0; i < h->num_memory_regions; i++) {
		r = &h->memory_regions[i];
		if (r->type != HV_MEM_TYPE_RAM && r->type != HV_MEM_TYPE_IO &&
		    r->type != HV_MEM_TYPE_VIRTIO) {
			pr_warn("zone %u: memory region %u has unknown type %u\n",
				h->zone_id, i, r->type);
			return -EINVAL;
		}
		/* RAM is also mapped at virtual_start: that must not wrap */
		if (!r->size ||
		    check_add_overflow(r->physical_start, r->size, &end) ||
		    (r->type == HV_MEM_TYPE_RAM &&
		     check_add_overflow(r->virtual_start, r->size, &vend))) {
			pr_warn("zone %u: memory region %u has size 0x%llx at 0x%llx: empty or wraps\n",
				h->zone_id, i, r->size, r->physical_start);
			return -EINVAL;
		}
		if (r->type != HV_MEM_TYPE_RAM)
			continue;
		if (end - 1 > iomem_resource.end) {
			pr_warn("zone %u: RAM region %u [0x%llx, 0x%llx) is beyond physical memory\n",
				h->zone_id, i, r->physical_start, end);
			return -EINVAL;
		}
		owner = sim_ram_owner(r);
		if (owner) {
			pr_warn("zone %u: RAM region %u [0x%llx, 0x%llx): memory overlaps zone %u\n",
				h->zone_id, i, r->physical_start, end, owner);
			return -EBUSY;
		}
	}
	return 0;
}

/* Rules 2-5: zone id, region count, CPU existence and ownership. */
static long sim_check_head(const struct hv_cfg_head *h)
{
	struct sim_zone *z;

	if (h->zone_id == 0) {
		pr_warn("zone 0 is the root zone, refusing to start it\n");
		return -EINVAL;
	}
	if (sim_zone_find_locked(h->zone_id)) {
		pr_warn("zone %u already exists\n", h->zone_id);
		return -EINVAL;
	}
	if (h->num_memory_regions > HV_CONFIG_MAX_MEMORY_REGIONS) {
		pr_warn("zone %u: %u memory regions, at most %u\n", h->zone_id,
			h->num_memory_regions, HV_CONFIG_MAX_MEMORY_REGIONS);
		return -EINVAL;
	}
	if (!h->cpus) {
		pr_warn("zone %u: no CPU\n", h->zone_id);
		return -EINVAL;
	}
	if (sim_ncpus < 64 && (h->cpus >> sim_ncpus)) {
		pr_warn("zone %u: CPU %d does not exist (%u CPUs)\n", h->zone_id,
			fls64(h->cpus) - 1, sim_ncpus);
		return -EINVAL;
	}
	list_for_each_entry(z, &sim_zones, link)
		if (z->cpus & h->cpus) {
			pr_warn("zone %u: CPU %lu is in use by zone %u\n",
				h->zone_id, __ffs64(z->cpus & h->cpus), z->id);
			return -EBUSY;
		}
	return sim_check_regions(h);
}

static struct sim_zone *sim_zone_from_head(const struct hv_cfg_head *h)
{
	struct sim_zone *z = sim_zone_new(h->zone_id, h->cpus, h->name);

	if (!z)
		return NULL;
	z->n_regions = h->num_memory_regions;
	memcpy(z->regions, h->memory_regions,
	       z->n_regions * sizeof(z->regions[0]));
	memcpy(z->irq_bitmap, h->interrupts_bitmap, sizeof(z->irq_bitmap));
	return z;
}

long sim_zone_start(u64 pa, u64 size)
{
	size_t want = sim_arch_config_size(READ_ONCE(sim_magic));
	struct hv_cfg_head *h;
	struct sim_zone *z;
	const void *src;
	long ret;

	if (size != want) {
		pr_warn("zone_config has %llu bytes, hvisor (%s, magic 0x%02x) expects %zu\n",
			size, sim_arch_name(), READ_ONCE(sim_magic), want);
		return -EINVAL;
	}
	src = sim_phys_ptr(pa, size);
	if (!src)
		return -EFAULT;
	h = kmemdup(src, sizeof(*h), GFP_KERNEL);
	if (!h)
		return -ENOMEM;
	mutex_lock(&sim_zones_mutex);
	ret = sim_check_head(h);
	if (ret)
		goto out;
	z = sim_zone_from_head(h);
	if (!z) {
		ret = -ENOMEM;
		goto out;
	}
	sim_devices_parse(z);
	sim_zone_insert(z);
	pr_info("zone %u (%.*s) started, CPUs 0x%llx, %u memory regions, %u loopback devices\n",
		z->id, (int)sizeof(z->name), z->name, z->cpus, z->n_regions,
		z->n_specs);
	/* the devices appear the way a guest probes them: later, elsewhere */
	kref_get(&z->ref);
	queue_work(sim_life_wq, &z->start_work);
out:
	mutex_unlock(&sim_zones_mutex);
	kfree(h);
	return ret;
}

/* Take z out of the table; its accesses and waits end. Mutex held. */
static void sim_zone_remove(struct sim_zone *z)
{
	struct sim_vdev *sv;
	unsigned long flags;

	spin_lock_irqsave(&sim_zones_lock, flags);
	list_del(&z->link);
	sim_n_zones--;
	WRITE_ONCE(z->dead, true);
	spin_unlock_irqrestore(&sim_zones_lock, flags);
	wake_up_all(&z->cpu_wq);
	/* the guest is gone: its devices complete what they still owe */
	spin_lock_irqsave(&z->lock, flags);
	list_for_each_entry(sv, &z->vdevs, link)
		sim_vdev_kill(sv);
	spin_unlock_irqrestore(&z->lock, flags);
	/* the table's reference goes to the teardown */
	queue_work(sim_life_wq, &z->stop_work);
}

long sim_zone_shutdown(u64 id)
{
	struct sim_zone *z;
	long ret = 0;

	if (id == 0) {
		pr_warn("refusing to shut down the root zone\n");
		return -EINVAL;
	}
	mutex_lock(&sim_zones_mutex);
	z = id > U32_MAX ? NULL : sim_zone_find_locked(id);
	if (z) {
		pr_info("zone %u (%.*s) shut down\n", z->id,
			(int)sizeof(z->name), z->name);
		sim_zone_remove(z);
	} else {
		pr_warn("shutdown: zone %llu does not exist\n", id);
		ret = -EINVAL;
	}
	mutex_unlock(&sim_zones_mutex);
	return ret;
}

long sim_zone_list(u64 pa, u64 cnt)
{
	struct hvisor_zone_info *out;
	struct sim_zone *z;
	unsigned int i = 0, n;

	if (!pa)
		return -EINVAL;
	mutex_lock(&sim_zones_mutex);
	n = min_t(u64, cnt, sim_n_zones);
	out = n ? sim_phys_ptr(pa, (u64)n * sizeof(*out)) : NULL;
	if (n && !out) {
		mutex_unlock(&sim_zones_mutex);
		return -EFAULT;
	}
	list_for_each_entry(z, &sim_zones, link) {
		if (i >= n)
			break;
		memset(&out[i], 0, sizeof(out[i]));
		out[i].zone_id = z->id;
		out[i].cpus = z->cpus;
		memcpy(out[i].name, z->name, sizeof(out[i].name));
		i++;
	}
	mutex_unlock(&sim_zones_mutex);
	return n;
}

void sim_zones_exit(void)
{
	struct sim_zone *z, *tmp;

	mutex_lock(&sim_zones_mutex);
	list_for_each_entry_safe(z, tmp, &sim_zones, link) {
		if (z->id) {
			sim_zone_remove(z);
			continue;
		}
		list_del(&z->link);
		sim_n_zones--;
		sim_zone_put(z);
	}
	mutex_unlock(&sim_zones_mutex);
	flush_workqueue(sim_life_wq);
}

/* FINISH_REQ: hvisor injects into the zone (its first CPU). Any context. */
void sim_zone_deliver_irq(u32 zone_id, u32 irq)
{
	struct sim_zone *z;
	struct sim_vdev *sv;

	spin_lock(&sim_zones_lock);
	list_for_each_entry(z, &sim_zones, link) {
		if (z->id != zone_id || !z->id)
			continue;
		if (irq >= HV_CONFIG_MAX_INTERRUPTS ||
		    (sim_arch_irq_gated() &&
		     !(z->irq_bitmap[irq / 32] & BIT(irq % 32)))) {
			pr_warn_ratelimited("zone %u: IRQ %u is not one of its interrupts; not delivered\n",
					    zone_id, irq);
			break;
		}
		atomic_long_inc(&sim_stats.irqs);
		spin_lock(&z->lock);
		list_for_each_entry(sv, &z->vdevs, link)
			if (sv->irq == irq)
				queue_work(sim_irq_wq, &sv->irq_work);
		spin_unlock(&z->lock);
		break;
	}
	spin_unlock(&sim_zones_lock);
}

/* The virtio region that contains [addr, addr + size), as hvisor traps. */
const struct hv_cfg_memory_region *
sim_zone_virtio_region(const struct sim_zone *z, u64 addr, u64 size)
{
	const struct hv_cfg_memory_region *r;
	u32 i;

	for (i = 0; i < z->n_regions; i++) {
		r = &z->regions[i];
		if (r->type == HV_MEM_TYPE_VIRTIO && addr >= r->physical_start &&
		    addr - r->physical_start < r->size &&
		    size <= r->size - (addr - r->physical_start))
			return r;
	}
	return NULL;
}
