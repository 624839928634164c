// SPDX-License-Identifier: GPL-2.0-only
/*
 * DMA for the loopback devices. The test "guest" is the VM's own kernel,
 * whose buffers are root RAM that hvisor-virtiod can neither see nor be
 * allowed to touch. So each zone gets a parent device whose dma_map_ops
 * bounce every buffer through a pool over the zone's first RAM region
 * (memory the root kernel does not use) and hand the backend the
 * guest-physical address of the bounce: pa - physical_start +
 * virtual_start. Coherent allocations (the rings) live in the pool itself.
 * The drivers see VIRTIO_F_ACCESS_PLATFORM and therefore use this DMA API.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-map-ops.h>
#include <linux/genalloc.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/numa.h>
#include <linux/rbtree.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "sim.h"

#define SIM_DMA_MIN_ORDER	6		/* 64-byte granules */
#define SIM_DMA_MAX_MAPPING	(256 * 1024)	/* per streaming mapping */

struct sim_dma {
	struct device dev;
	struct gen_pool *pool;
	void *va;		/* memremap of the region */
	u64 gpa;		/* virtual_start: what the backend sees */
	u64 size;
	spinlock_t lock;	/* maps */
	struct rb_root maps;	/* streaming mappings, by bounce address */
};

struct sim_map {
	struct rb_node node;
	unsigned long bounce;	/* kernel address in the pool */
	size_t size;
	void *orig;		/* the driver's buffer */
};

static struct sim_dma *to_sim_dma(struct device *dev)
{
	return container_of(dev, struct sim_dma, dev);
}

/* Kernel address of [gpa, gpa + len) if it lies in the pool, else NULL. */
void *sim_dma_gpa_to_va(struct sim_dma *d, u64 gpa, u64 len)
{
	u64 off = gpa - d->gpa;

	if (gpa < d->gpa || off >= d->size || len > d->size - off)
		return NULL;
	return d->va + off;
}

static dma_addr_t sim_dma_addr(struct sim_dma *d, unsigned long va)
{
	return d->gpa + (va - (unsigned long)d->va);
}

static void sim_map_insert(struct sim_dma *d, struct sim_map *m)
{
	struct rb_node **link = &d->maps.rb_node, *parent = NULL;
	unsigned long flags;

	spin_lock_irqsave(&d->lock, flags);
	while (*link) {
		parent = *link;
		if (m->bounce < rb_entry(parent, struct sim_map, node)->bounce)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&m->node, parent, link);
	rb_insert_color(&m->node, &d->maps);
	spin_unlock_irqrestore(&d->lock, flags);
}

/* The mapping that contains [va, va + len); d->lock held. */
static struct sim_map *sim_map_find(struct sim_dma *d, unsigned long va,
				    size_t len)
{
	struct rb_node *n = d->maps.rb_node;
	struct sim_map *m, *best = NULL;

	while (n) {
		m = rb_entry(n, struct sim_map, node);
		if (va < m->bounce) {
			n = n->rb_left;
		} else {
			best = m;
			n = n->rb_right;
		}
	}
	if (best && va - best->bounce < best->size &&
	    len <= best->size - (va - best->bounce))
		return best;
	return NULL;
}

static dma_addr_t sim_dma_map_page(struct device *dev, struct page *page,
				   unsigned long offset, size_t size,
				   enum dma_data_direction dir,
				   unsigned long attrs)
{
	struct sim_dma *d = to_sim_dma(dev);
	struct sim_map *m;

	if (!size || size > SIM_DMA_MAX_MAPPING)
		return DMA_MAPPING_ERROR;
	m = kmalloc(sizeof(*m), GFP_ATOMIC);
	if (!m)
		return DMA_MAPPING_ERROR;
	m->bounce = gen_pool_alloc(d->pool, size);
	if (!m->bounce) {
		kfree(m);
		dev_warn_ratelimited(dev, "bounce pool exhausted (%zu bytes)\n",
				     size);
		return DMA_MAPPING_ERROR;
	}
	m->size = size;
	m->orig = page_address(page) + offset;
	/* always: the backend must never see a previous user's bytes */
	memcpy((void *)m->bounce, m->orig, size);
	sim_map_insert(d, m);
	return sim_dma_addr(d, m->bounce);
}

static void sim_dma_unmap_page(struct device *dev, dma_addr_t addr,
			       size_t size, enum dma_data_direction dir,
			       unsigned long attrs)
{
	struct sim_dma *d = to_sim_dma(dev);
	unsigned long flags;
	struct sim_map *m;
	void *va = sim_dma_gpa_to_va(d, addr, size);

	spin_lock_irqsave(&d->lock, flags);
	m = va ? sim_map_find(d, (unsigned long)va, size) : NULL;
	if (m && m->bounce == (unsigned long)va)
		rb_erase(&m->node, &d->maps);
	else
		m = NULL;
	spin_unlock_irqrestore(&d->lock, flags);
	if (!m) {
		dev_WARN_ONCE(dev, 1, "unmap of unknown DMA address %pad\n",
			      &addr);
		return;
	}
	if (!(attrs & DMA_ATTR_SKIP_CPU_SYNC) &&
	    (dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL))
		memcpy(m->orig, (void *)m->bounce, m->size);
	gen_pool_free(d->pool, m->bounce, m->size);
	kfree(m);
}

static void sim_dma_sync(struct device *dev, dma_addr_t addr, size_t size,
			 bool for_cpu)
{
	struct sim_dma *d = to_sim_dma(dev);
	void *va = sim_dma_gpa_to_va(d, addr, size);
	unsigned long flags;
	struct sim_map *m;
	size_t off;

	spin_lock_irqsave(&d->lock, flags);
	m = va ? sim_map_find(d, (unsigned long)va, size) : NULL;
	if (m) {
		off = (unsigned long)va - m->bounce;
		if (for_cpu)
			memcpy(m->orig + off, va, size);
		else
			memcpy(va, m->orig + off, size);
	}
	spin_unlock_irqrestore(&d->lock, flags);
	if (!m)
		dev_WARN_ONCE(dev, 1, "sync of unknown DMA address %pad\n",
			      &addr);
}

static void sim_dma_sync_for_cpu(struct device *dev, dma_addr_t addr,
				 size_t size, enum dma_data_direction dir)
{
	if (dir == DMA_FROM_DEVICE || dir == DMA_BIDIRECTIONAL)
		sim_dma_sync(dev, addr, size, true);
}

static void sim_dma_sync_for_device(struct device *dev, dma_addr_t addr,
				    size_t size, enum dma_data_direction dir)
{
	if (dir == DMA_TO_DEVICE || dir == DMA_BIDIRECTIONAL)
		sim_dma_sync(dev, addr, size, false);
}

static void sim_dma_unmap_sg(struct device *dev, struct scatterlist *sgl,
			     int nents, enum dma_data_direction dir,
			     unsigned long attrs)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i)
		sim_dma_unmap_page(dev, sg_dma_address(sg), sg_dma_len(sg),
				   dir, attrs);
}

static int sim_dma_map_sg(struct device *dev, struct scatterlist *sgl,
			  int nents, enum dma_data_direction dir,
			  unsigned long attrs)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) {
		sg_dma_address(sg) = sim_dma_map_page(dev, sg_page(sg),
						      sg->offset, sg->length,
						      dir, attrs);
		if (sg_dma_address(sg) == DMA_MAPPING_ERROR) {
			sim_dma_unmap_sg(dev, sgl, i, dir,
					 attrs | DMA_ATTR_SKIP_CPU_SYNC);
			return -ENOMEM;
		}
		sg_dma_len(sg) = sg->length;
	}
	return nents;
}

static void sim_dma_sync_sg_for_cpu(struct device *dev,
				    struct scatterlist *sgl, int nents,
				    enum dma_data_direction dir)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i)
		sim_dma_sync_for_cpu(dev, sg_dma_address(sg), sg_dma_len(sg),
				     dir);
}

static void sim_dma_sync_sg_for_device(struct device *dev,
				       struct scatterlist *sgl, int nents,
				       enum dma_data_direction dir)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i)
		sim_dma_sync_for_device(dev, sg_dma_address(sg),
					sg_dma_len(sg), dir);
}

/* Coherent memory (the vrings) is pool memory the backend shares. */
static void *sim_dma_alloc(struct device *dev, size_t size,
			   dma_addr_t *handle, gfp_t gfp, unsigned long attrs)
{
	struct sim_dma *d = to_sim_dma(dev);
	void *va;

	/* the chunk's "phys" is the guest-physical base: handle = gpa */
	va = gen_pool_dma_zalloc_align(d->pool, PAGE_ALIGN(size), handle,
				       PAGE_SIZE);
	if (!va)
		dev_warn_ratelimited(dev, "pool exhausted (%zu coherent bytes)\n",
				     size);
	return va;
}

static void sim_dma_free(struct device *dev, size_t size, void *va,
			 dma_addr_t handle, unsigned long attrs)
{
	struct sim_dma *d = to_sim_dma(dev);

	size = PAGE_ALIGN(size);
	if (!gen_pool_has_addr(d->pool, (unsigned long)va, size) ||
	    sim_dma_addr(d, (unsigned long)va) != handle) {
		dev_WARN_ONCE(dev, 1, "free of unknown coherent memory %pad\n",
			      &handle);
		return;
	}
	gen_pool_free(d->pool, (unsigned long)va, size);
}

static size_t sim_dma_max_mapping_size(struct device *dev)
{
	return SIM_DMA_MAX_MAPPING;
}

static const struct dma_map_ops sim_dma_ops = {
	.alloc = sim_dma_alloc,
	.free = sim_dma_free,
	.map_page = sim_dma_map_page,
	.unmap_page = sim_dma_unmap_page,
	.map_sg = sim_dma_map_sg,
	.unmap_sg = sim_dma_unmap_sg,
	.sync_single_for_cpu = sim_dma_sync_for_cpu,
	.sync_single_for_device = sim_dma_sync_for_device,
	.sync_sg_for_cpu = sim_dma_sync_sg_for_cpu,
	.sync_sg_for_device = sim_dma_sync_sg_for_device,
	.max_mapping_size = sim_dma_max_mapping_size,
};

static void sim_dma_release(struct device *dev)
{
	struct sim_dma *d = to_sim_dma(dev);

	if (d->pool && (gen_pool_avail(d->pool) != gen_pool_size(d->pool) ||
			!RB_EMPTY_ROOT(&d->maps))) {
		/* a driver kept DMA memory: never reuse what it may touch */
		pr_err("%s: DMA memory still in use at release; leaking the pool\n",
		       dev_name(dev));
		return;
	}
	if (d->pool)
		gen_pool_destroy(d->pool);
	if (d->va)
		memunmap(d->va);
	kfree(d);
}

/* Is r usable as a bounce pool: page-aligned and not root System RAM? */
static bool sim_dma_region_ok(const struct sim_zone *z,
			      const struct hv_cfg_memory_region *r)
{
	if (!PAGE_ALIGNED(r->physical_start) || !PAGE_ALIGNED(r->virtual_start) ||
	    !PAGE_ALIGNED(r->size) || r->size > SIZE_MAX) {
		pr_err("zone %u: first RAM region 0x%llx+0x%llx (gpa 0x%llx) is not page-aligned: no loopback devices\n",
		       z->id, r->physical_start, r->size, r->virtual_start);
		return false;
	}
	if (region_intersects(r->physical_start, r->size, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_DISJOINT) {
		pr_err("zone %u: RAM 0x%llx+0x%llx is root System RAM: no loopback devices\n",
		       z->id, r->physical_start, r->size);
		return false;
	}
	return true;
}

static int sim_dma_setup(struct sim_dma *d, const struct sim_zone *z,
			 const struct hv_cfg_memory_region *r)
{
	d->va = memremap(r->physical_start, r->size, MEMREMAP_WB);
	if (!d->va) {
		pr_err("zone %u: cannot map RAM 0x%llx+0x%llx\n", z->id,
		       r->physical_start, r->size);
		return -ENOMEM;
	}
	d->pool = gen_pool_create(SIM_DMA_MIN_ORDER, NUMA_NO_NODE);
	if (!d->pool)
		return -ENOMEM;
	return gen_pool_add_virt(d->pool, (unsigned long)d->va, r->virtual_start,
				 r->size, NUMA_NO_NODE);
}

struct sim_dma *sim_dma_create(struct sim_zone *z,
			       const struct hv_cfg_memory_region *r)
{
	struct sim_dma *d;
	int ret;

	if (!sim_dma_region_ok(z, r))
		return ERR_PTR(-EINVAL);
	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return ERR_PTR(-ENOMEM);
	d->gpa = r->virtual_start;
	d->size = r->size;
	d->maps = RB_ROOT;
	spin_lock_init(&d->lock);
	device_initialize(&d->dev);
	d->dev.release = sim_dma_release;
	d->dev.coherent_dma_mask = DMA_BIT_MASK(64);
	d->dev.dma_mask = &d->dev.coherent_dma_mask;
	set_dma_ops(&d->dev, &sim_dma_ops);
	ret = dev_set_name(&d->dev, "hvisor_sim_zone%u", z->id);
	if (!ret)
		ret = sim_dma_setup(d, z, r);
	if (!ret)
		ret = device_add(&d->dev);
	if (ret) {
		pr_err("zone %u: DMA device: %d\n", z->id, ret);
		put_device(&d->dev);
		return ERR_PTR(ret);
	}
	return d;
}

void sim_dma_destroy(struct sim_dma *d)
{
	device_unregister(&d->dev);
}

struct device *sim_dma_device(struct sim_dma *d)
{
	return &d->dev;
}
