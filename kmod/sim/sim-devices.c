// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guests' "device tree": the `devices` module parameter lists the
 * virtio-mmio devices a zone's guest would probe,
 *
 *	<zone>:<size>@<base>:<irq>[,<zone>:<size>@<base>:<irq>...]
 *
 * (numbers in C notation). It is read when a zone starts. Each entry of
 * that zone becomes a loopback virtio device once the zone runs; they are
 * torn down when it shuts down.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/virtio_mmio.h>

#include "sim.h"

static int sim_devspec_parse(char *tok, u32 *zone, struct sim_devspec *s)
{
	char *zs = strsep(&tok, ":");
	char *size = strsep(&tok, "@");
	char *base = strsep(&tok, ":");
	char *irq = tok;

	if (!zs || !size || !base || !irq)
		return -EINVAL;
	if (kstrtou32(zs, 0, zone) || kstrtou64(size, 0, &s->size) ||
	    kstrtou64(base, 0, &s->base) || kstrtou32(irq, 0, &s->irq))
		return -EINVAL;
	return 0;
}

/* Does s fit zone z's machine and not clash with its other devices? */
static bool sim_devspec_fits(const struct sim_zone *z,
			     const struct sim_devspec *s)
{
	unsigned int i;

	if (s->size < VIRTIO_MMIO_CONFIG || s->irq >= HV_CONFIG_MAX_INTERRUPTS)
		return false;
	if (!sim_zone_virtio_region(z, s->base, s->size))
		return false;
	for (i = 0; i < z->n_specs; i++)
		if (s->base < z->specs[i].base + z->specs[i].size &&
		    z->specs[i].base < s->base + s->size)
			return false;
	return true;
}

static void sim_devspec_add(struct sim_zone *z, char *tok)
{
	struct sim_devspec s;
	char *text = kstrdup(tok, GFP_KERNEL);
	u32 zone;

	if (sim_devspec_parse(tok, &zone, &s)) {
		pr_warn("devices: cannot parse \"%s\" (want <zone>:<size>@<base>:<irq>)\n",
			text ?: "?");
	} else if (zone != z->id) {
		/* another zone's device */
	} else if (z->n_specs >= SIM_MAX_VDEVS) {
		pr_warn("devices: zone %u: more than %u devices, \"%s\" ignored\n",
			z->id, SIM_MAX_VDEVS, text ?: "?");
	} else if (!sim_devspec_fits(z, &s)) {
		pr_warn("devices: zone %u: \"%s\" is not inside one of its virtio regions, overlaps another device, is smaller than 0x%x or has an IRQ >= %u; ignored\n",
			z->id, text ?: "?", VIRTIO_MMIO_CONFIG,
			HV_CONFIG_MAX_INTERRUPTS);
	} else {
		z->specs[z->n_specs++] = s;
	}
	kfree(text);
}

/* Take zone z's entries of the `devices` parameter as it is now. */
unsigned int sim_devices_parse(struct sim_zone *z)
{
	char *copy, *cur, *tok;

	kernel_param_lock(THIS_MODULE);
	copy = kstrdup(sim_devices ?: "", GFP_KERNEL);
	kernel_param_unlock(THIS_MODULE);
	if (!copy)
		return 0;
	cur = copy;
	while ((tok = strsep(&cur, ",")) != NULL) {
		tok = strim(tok);
		if (*tok)
			sim_devspec_add(z, tok);
	}
	kfree(copy);
	return z->n_specs;
}

static const struct hv_cfg_memory_region *
sim_first_ram(const struct sim_zone *z)
{
	u32 i;

	for (i = 0; i < z->n_regions; i++)
		if (z->regions[i].type == HV_MEM_TYPE_RAM)
			return &z->regions[i];
	return NULL;
}

static void sim_devices_attach(struct sim_zone *z)
{
	const struct hv_cfg_memory_region *r = sim_first_ram(z);
	struct sim_dma *d;
	unsigned int i;

	if (!r) {
		pr_warn("zone %u has no RAM region: no loopback devices\n",
			z->id);
		return;
	}
	d = sim_dma_create(z, r);
	if (IS_ERR(d))
		return;
	z->dma = d;
	for (i = 0; i < z->n_specs && !READ_ONCE(z->dead); i++)
		sim_vdev_create(z, &z->specs[i]);
}

/* Lifecycle work: the zone's guest boots and probes its devices. */
void sim_devices_start(struct work_struct *work)
{
	struct sim_zone *z = container_of(work, struct sim_zone, start_work);

	if (z->n_specs && !READ_ONCE(z->dead))
		sim_devices_attach(z);
	sim_zone_put(z);
}

/* Lifecycle work after SHUTDOWN_ZONE: the zone is dead, remove its devices. */
void sim_devices_stop(struct work_struct *work)
{
	struct sim_zone *z = container_of(work, struct sim_zone, stop_work);
	struct sim_vdev *sv, *tmp;
	unsigned long flags;
	LIST_HEAD(gone);

	spin_lock_irqsave(&z->lock, flags);
	list_splice_init(&z->vdevs, &gone);
	spin_unlock_irqrestore(&z->lock, flags);
	list_for_each_entry_safe(sv, tmp, &gone, link) {
		list_del_init(&sv->link);
		sim_vdev_destroy(sv);
	}
	if (z->dma)
		sim_dma_destroy(z->dma);
	z->dma = NULL;
	sim_zone_put(z);
}
