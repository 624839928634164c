// SPDX-License-Identifier: GPL-2.0-only
/*
 * The zone table: what hvisor's zone_create / zone shutdown / zone list do,
 * with the checks hvisor v0.4 lacks (it trusts hvisor-tool and panics on bad
 * regions). Error codes follow hvisor where it has them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hvisor-sim.h"
#include "log.h"
#include "util.h"

static void zone_set_name(struct sim_zone *z, const char *raw)
{
	memcpy(z->name, raw, sizeof(z->name));
	for (size_t i = 0; i < sizeof(z->name); i++) {
		char c = raw[i];

		if (c == '\0') {
			z->log_name[i] = '\0';
			return;
		}
		z->log_name[i] = (c >= 0x20 && c < 0x7f) ? c : '?';
	}
	z->log_name[sizeof(z->name)] = '\0';
}

static struct sim_zone *zone_new(struct sim *sim, uint32_t id)
{
	struct sim_zone *z = calloc(1, sizeof(*z));

	if (!z)
		return NULL;
	z->sim = sim;
	z->id = id;
	z->owner_fd = -1;
	z->guest_fd = -1;
	z->complaints = (struct ratelimit)RATELIMIT_INIT(SIM_LOG_INTERVAL, SIM_LOG_BURST);
	TAILQ_INIT(&z->guest_out);
	return z;
}

static void zone_insert(struct sim *sim, struct sim_zone *z)
{
	struct sim_zone *it;

	TAILQ_FOREACH (it, &sim->zones, link)
		if (it->id > z->id) {
			TAILQ_INSERT_BEFORE(it, z, link);
			sim->n_zones++;
			return;
		}
	TAILQ_INSERT_TAIL(&sim->zones, z, link);
	sim->n_zones++;
}

int sim_zones_init(struct sim *sim)
{
	struct sim_zone *root = zone_new(sim, 0);
	char name[HV_CONFIG_NAME_LEN] = SIM_ROOT_NAME;

	if (!root)
		return -ENOMEM;
	root->cpus = sim->root_cpus ? sim->root_cpus : sim->ncpus == 1 ? UINT64_C(1) : UINT64_C(3);
	zone_set_name(root, name);
	zone_insert(sim, root);
	return 0;
}

static void zone_free(struct sim *sim, struct sim_zone *z)
{
	sim_channel_close_all(z);
	TAILQ_REMOVE(&sim->zones, z, link);
	sim->n_zones--;
	free(z);
}

void sim_zones_free(struct sim *sim)
{
	struct sim_zone *z;

	while ((z = TAILQ_FIRST(&sim->zones)))
		zone_free(sim, z);
	sim_channel_pending_free_all(sim);
}

struct sim_zone *sim_zone_find(struct sim *sim, uint32_t id)
{
	struct sim_zone *z;

	TAILQ_FOREACH (z, &sim->zones, link)
		if (z->id == id)
			return z;
	return NULL;
}

static const char *region_type_name(uint32_t type)
{
	switch (type) {
	case HV_MEM_TYPE_RAM:
		return "ram";
	case HV_MEM_TYPE_IO:
		return "io";
	case HV_MEM_TYPE_VIRTIO:
		return "virtio";
	default:
		return "?";
	}
}

/* Memory checks of one zone_config; the zone is not in the table yet. */
static int check_regions(struct sim *sim, const struct hv_cfg_head *h)
{
	for (uint32_t i = 0; i < h->num_memory_regions; i++) {
		const struct hv_cfg_memory_region *r = &h->memory_regions[i];
		uint64_t end, vend;
		struct sim_zone *z;

		if (r->type != HV_MEM_TYPE_RAM && r->type != HV_MEM_TYPE_IO &&
		    r->type != HV_MEM_TYPE_VIRTIO) {
			log_warn("zone %u: memory region %u has unknown type %u", h->zone_id, i,
				 r->type);
			return -EINVAL;
		}
		/* RAM is also mapped at virtual_start: that must not wrap either */
		if (r->size == 0 || range_end(r->physical_start, r->size, &end) < 0 ||
		    (r->type == HV_MEM_TYPE_RAM &&
		     range_end(r->virtual_start, r->size, &vend) < 0)) {
			log_warn(
				"zone %u: memory region %u (%s) has size 0x%llx at 0x%llx: empty or wraps",
				h->zone_id, i, region_type_name(r->type),
				(unsigned long long)r->size, (unsigned long long)r->physical_start);
			return -EINVAL;
		}
		if (r->type != HV_MEM_TYPE_RAM)
			continue;
		if (end > sim->phys_size) {
			log_warn(
				"zone %u: RAM region %u [0x%llx, 0x%llx) is beyond physical memory (0x%llx)",
				h->zone_id, i, (unsigned long long)r->physical_start,
				(unsigned long long)end, (unsigned long long)sim->phys_size);
			return -EINVAL;
		}
		TAILQ_FOREACH (z, &sim->zones, link)
			for (uint32_t j = 0; j < z->n_regions; j++) {
				const struct hv_cfg_memory_region *o = &z->regions[j];

				if (o->type != HV_MEM_TYPE_RAM)
					continue;
				if (ranges_overlap(r->physical_start, r->size, o->physical_start,
						   o->size)) {
					log_warn(
						"zone %u: RAM region %u [0x%llx, 0x%llx): memory overlaps zone %u",
						h->zone_id, i,
						(unsigned long long)r->physical_start,
						(unsigned long long)end, z->id);
					return -EBUSY;
				}
			}
	}
	return 0;
}

int sim_zone_start(struct sim *sim, const void *cfg, size_t size)
{
	size_t want = hv_zone_config_size(sim->arch, sim->magic);
	struct hv_cfg_head *h;
	struct sim_zone *z;
	char cpus[256];
	int r;

	if (size != want) {
		log_warn("zone_config has %zu bytes, hvisor (%s, magic 0x%02x) expects %zu", size,
			 hv_arch_to_string(sim->arch), sim->magic, want);
		return -EINVAL;
	}
	h = malloc(sizeof(*h));
	if (!h)
		return -ENOMEM;
	memcpy(h, cfg, sizeof(*h)); /* the payload may be unaligned */

	r = -EINVAL;
	if (h->zone_id == 0) {
		log_warn("zone 0 is the root zone, refusing to start it");
		goto out;
	}
	if (sim_zone_find(sim, h->zone_id)) {
		log_warn("zone %u already exists", h->zone_id);
		goto out;
	}
	if (h->num_memory_regions > HV_CONFIG_MAX_MEMORY_REGIONS) {
		log_warn("zone %u: %u memory regions, at most %u", h->zone_id,
			 h->num_memory_regions, HV_CONFIG_MAX_MEMORY_REGIONS);
		goto out;
	}
	if (h->cpus == 0) {
		log_warn("zone %u: no CPU", h->zone_id);
		goto out;
	}
	if (sim_cpu_missing(sim->ncpus, h->cpus) >= 0) {
		log_warn("zone %u: CPU %d does not exist (%u CPUs)", h->zone_id,
			 sim_cpu_missing(sim->ncpus, h->cpus), sim->ncpus);
		goto out;
	}
	TAILQ_FOREACH (z, &sim->zones, link)
		if (z->cpus & h->cpus) {
			log_warn("zone %u: CPU %u is in use by zone %u", h->zone_id,
				 (unsigned)__builtin_ctzll(z->cpus & h->cpus), z->id);
			r = -EBUSY;
			goto out;
		}
	r = check_regions(sim, h);
	if (r < 0)
		goto out;

	z = zone_new(sim, h->zone_id);
	if (!z) {
		r = -ENOMEM;
		goto out;
	}
	z->cpus = h->cpus;
	zone_set_name(z, h->name);
	z->n_regions = h->num_memory_regions;
	memcpy(z->regions, h->memory_regions, sizeof(z->regions[0]) * z->n_regions);
	memcpy(z->irq_bitmap, h->interrupts_bitmap, sizeof(z->irq_bitmap));
	zone_insert(sim, z);

	format_cpu_list(z->cpus, ",", cpus, sizeof(cpus));
	log_info("zone %u (%s) started on CPU %s, entry 0x%llx, %u memory regions", z->id,
		 z->log_name, cpus, (unsigned long long)h->entry_point, z->n_regions);
	for (uint32_t i = 0; i < z->n_regions; i++) {
		const struct hv_cfg_memory_region *m = &z->regions[i];

		log_debug("zone %u: %-6s phys 0x%llx virt 0x%llx size 0x%llx", z->id,
			  region_type_name(m->type), (unsigned long long)m->physical_start,
			  (unsigned long long)m->virtual_start, (unsigned long long)m->size);
	}
	/* a backend that attached early sees the zone's first access */
	sim_channel_adopt_pending(z);
	r = 0;
out:
	free(h);
	return r;
}

int sim_zone_shutdown(struct sim *sim, uint32_t id)
{
	struct sim_zone *z;

	if (id == 0) {
		log_warn("refusing to shut down the root zone");
		return -EINVAL;
	}
	z = sim_zone_find(sim, id);
	if (!z) {
		log_warn("shutdown: zone %u does not exist", id);
		return -EINVAL;
	}
	log_info("zone %u (%s) shut down", z->id, z->log_name);
	zone_free(sim, z);
	return 0;
}

unsigned sim_zone_list(struct sim *sim, struct hvisor_zone_info *out, unsigned cap)
{
	struct sim_zone *z;
	unsigned n = 0;

	TAILQ_FOREACH (z, &sim->zones, link) {
		if (n >= cap)
			break;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].zone_id = z->id;
		out[n].cpus = z->cpus;
		memcpy(out[n].name, z->name, sizeof(out[n].name));
		out[n].is_err = 0;
		n++;
	}
	return n;
}

bool sim_ram_in_use(struct sim *sim, uint64_t addr, uint64_t size, uint32_t *ret_id)
{
	struct sim_zone *z;

	TAILQ_FOREACH (z, &sim->zones, link) {
		if (z->id == 0)
			continue;
		for (uint32_t i = 0; i < z->n_regions; i++) {
			const struct hv_cfg_memory_region *r = &z->regions[i];

			if (r->type == HV_MEM_TYPE_RAM &&
			    ranges_overlap(addr, size, r->physical_start, r->size)) {
				*ret_id = z->id;
				return true;
			}
		}
	}
	return false;
}
