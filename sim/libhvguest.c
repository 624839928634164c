// SPDX-License-Identifier: GPL-2.0-only
/*
 * libhvguest driver core: a virtio-mmio (version 2) driver with split
 * virtqueues (VIRTIO 1.2 §2.7, §4.2), the guest's side of what
 * hvisor-virtiod serves. Transport-independent: registers and guest memory
 * are reached through struct hvg_transport_ops (hvguest.h).
 *
 * The device is untrusted like any peer: its used-ring entries are checked
 * (index, head of a chain we own) before they are believed, and chains are
 * freed from the driver's own shadow of the descriptor table, never from
 * what is in guest memory.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "hvguest.h"
#include "macro.h"
#include "util.h"

#define HVG_MMIO_MAGIC	   0x74726976 /* "virt" */
#define HVG_MAX_QUEUES	   16
#define HVG_QUEUE_MAX_SIZE 32768 /* split ring limit */
#define HVG_PAGE	   4096
#define HVG_RESET_POLLS	   1000

/* Transport feature bits the driver implements; the others of the
 * reserved range (24..41) change the ring or notification format and are
 * never accepted. */
#define HVG_TRANSPORT_MASK (((UINT64_C(1) << 42) - 1) & ~((UINT64_C(1) << 24) - 1))
#define HVG_TRANSPORT_OK                                                                           \
	((UINT64_C(1) << VIRTIO_RING_F_INDIRECT_DESC) | (UINT64_C(1) << VIRTIO_RING_F_EVENT_IDX) | \
	 (UINT64_C(1) << VIRTIO_F_VERSION_1) | (UINT64_C(1) << VIRTIO_F_ACCESS_PLATFORM))

/* An indirect table the driver owns (kept for reuse once its request
 * completes, so long runs do not exhaust the bump allocator). */
struct hvg_itable {
	uint64_t gpa;
	uint16_t cap; /* descriptors */
};

struct hvg_req {
	void *token;
	uint16_t ndesc; /* descriptors of the ring this request holds */
	bool in_use;
	bool has_itable;
	struct hvg_itable itable;
};

struct hvg_vq {
	struct hvg_dev *d;
	unsigned index;
	uint16_t size;
	uint16_t ring_cap; /* entries the ring memory was allocated for */
	bool event_idx, indirect, irq_enabled;
	bool dead; /* the device was reset: set the queue up again */

	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;
	uint16_t *avail; /* flags, idx, ring[size], used_event */
	uint8_t *used;	 /* flags, idx, ring[size] of 8 bytes, avail_event */

	uint16_t *next; /* shadow of desc[].next: the free list and our chains */
	uint16_t free_head, num_free;
	uint16_t avail_idx;  /* shadow of avail->idx (entries added) */
	uint16_t kicked_idx; /* avail->idx at the last publication */
	uint16_t last_used;
	struct hvg_req *reqs; /* by head descriptor */

	struct hvg_itable *pool; /* free indirect tables */
	unsigned pool_len, pool_cap;
};

struct hvg_dev {
	struct hvg_transport *t;
	uint64_t base;
	uint32_t irq;
	uint32_t id;
	uint64_t offered, negotiated;
	struct hvg_vq *vqs[HVG_MAX_QUEUES];
	uint64_t n_notify, n_irq;
};

/* --- transport wrappers ------------------------------------------------------ */

static int t_read(struct hvg_transport *t, uint64_t addr, unsigned size, uint64_t *ret)
{
	t->n_reads++;
	return t->ops->read(t->ctx, addr, size, ret);
}

static int t_write(struct hvg_transport *t, uint64_t addr, unsigned size, uint64_t value)
{
	t->n_writes++;
	return t->ops->write(t->ctx, addr, size, value);
}

static int reg_read(struct hvg_dev *d, uint32_t off, uint32_t *ret)
{
	uint64_t v = 0;
	int r = t_read(d->t, d->base + off, 4, &v);

	if (r < 0)
		return r;
	*ret = (uint32_t)v;
	return 0;
}

static int reg_write(struct hvg_dev *d, uint32_t off, uint32_t value)
{
	return t_write(d->t, d->base + off, 4, value);
}

void hvg_transport_close(struct hvg_transport *t)
{
	if (t && t->ops && t->ops->close)
		t->ops->close(t->ctx);
}

/* --- guest memory -------------------------------------------------------------- */

uint64_t hvg_alloc(struct hvg_transport *t, uint64_t size, uint64_t align)
{
	uint64_t start, end, heap_end, next;
	void *p;

	if (size == 0 || align == 0 || (align & (align - 1)) != 0)
		return 0;
	if (__builtin_add_overflow(t->heap_gpa, t->heap_size, &heap_end))
		return 0;
	/* heap_next is an address; a transport set up with 0 starts at the
	 * heap, and address 0 is never handed out (0 means failure) */
	next = t->heap_next < t->heap_gpa ? t->heap_gpa : t->heap_next;
	if (next == 0)
		next = 1;
	if (__builtin_add_overflow(next, align - 1, &start))
		return 0;
	start &= ~(align - 1);
	if (__builtin_add_overflow(start, size, &end) || end > heap_end)
		return 0;
	p = hvg_ptr(t, start, size);
	if (!p)
		return 0;
	memset(p, 0, size);
	t->heap_next = end;
	return start;
}

void *hvg_ptr(struct hvg_transport *t, uint64_t gpa, uint64_t len)
{
	uint64_t end;

	if (__builtin_add_overflow(gpa, len, &end))
		return NULL;
	return t->ops->ptr(t->ctx, gpa, len);
}

/* --- device ------------------------------------------------------------------ */

static int read_features(struct hvg_dev *d, uint64_t *ret)
{
	uint32_t lo, hi;
	int r;

	r = reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	if (!r)
		r = reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES, &lo);
	if (!r)
		r = reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	if (!r)
		r = reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES, &hi);
	if (r)
		return r < 0 ? r : -EIO;
	*ret = (uint64_t)hi << 32 | lo;
	return 0;
}

static void vq_free(struct hvg_vq *vq)
{
	if (!vq)
		return;
	free(vq->next);
	free(vq->reqs);
	free(vq->pool);
	free(vq);
}

static void free_queues(struct hvg_dev *d)
{
	for (unsigned i = 0; i < HVG_MAX_QUEUES; i++) {
		vq_free(d->vqs[i]);
		d->vqs[i] = NULL;
	}
}

static void itable_put(struct hvg_vq *vq, const struct hvg_itable *it);

int hvg_dev_reset(struct hvg_dev *d)
{
	uint32_t status = 0;
	int r;

	r = reg_write(d, VIRTIO_MMIO_STATUS, 0);
	if (r < 0)
		return r;
	/* §4.2.3.1: the reset is done when Status reads back 0 */
	for (int i = 0; i < HVG_RESET_POLLS; i++) {
		r = reg_read(d, VIRTIO_MMIO_STATUS, &status);
		if (r < 0)
			return r;
		if (status == 0)
			break;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	if (status != 0)
		return -ETIMEDOUT;
	/* the device forgot its queues: ours are dead until set up again
	 * (kept, so their ring memory and indirect tables are reused) */
	for (unsigned i = 0; i < HVG_MAX_QUEUES; i++)
		if (d->vqs[i])
			d->vqs[i]->dead = true;
	d->negotiated = 0;
	return 0;
}

int hvg_dev_probe(struct hvg_transport *t, uint64_t base, uint32_t irq, struct hvg_dev **ret)
{
	struct hvg_dev *d;
	uint32_t magic, version, id;
	int r;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->t = t;
	d->base = base;
	d->irq = irq;
	r = reg_read(d, VIRTIO_MMIO_MAGIC_VALUE, &magic);
	if (r < 0)
		goto fail;
	if (magic != HVG_MMIO_MAGIC) {
		r = -ENODEV;
		goto fail;
	}
	r = reg_read(d, VIRTIO_MMIO_VERSION, &version);
	if (r < 0)
		goto fail;
	if (version != 2) {
		r = -ENOTSUP; /* legacy (1) devices are not driven */
		goto fail;
	}
	r = reg_read(d, VIRTIO_MMIO_DEVICE_ID, &id);
	if (r < 0)
		goto fail;
	if (id == 0) {
		r = -ENODEV; /* a placeholder, no device behind it */
		goto fail;
	}
	d->id = id;
	r = hvg_dev_reset(d);
	if (!r)
		r = reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	if (!r)
		r = reg_write(d, VIRTIO_MMIO_STATUS,
			      VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	if (!r)
		r = read_features(d, &d->offered);
	if (r < 0)
		goto fail;
	*ret = d;
	return 0;
fail:
	free(d);
	return r;
}

void hvg_dev_free(struct hvg_dev *d)
{
	if (!d)
		return;
	free_queues(d);
	free(d);
}

uint32_t hvg_dev_id(const struct hvg_dev *d)
{
	return d->id;
}

uint64_t hvg_dev_features(const struct hvg_dev *d)
{
	return d->offered;
}

uint64_t hvg_dev_negotiated(const struct hvg_dev *d)
{
	return d->negotiated;
}

int hvg_dev_status(struct hvg_dev *d, uint32_t *ret)
{
	return reg_read(d, VIRTIO_MMIO_STATUS, ret);
}

int hvg_dev_negotiate(struct hvg_dev *d, uint64_t wanted, uint64_t *ret_negotiated)
{
	uint32_t status, want_status;
	uint64_t features;
	int r;

	r = reg_read(d, VIRTIO_MMIO_STATUS, &status);
	if (r < 0)
		return r;
	want_status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	if ((status & ~want_status) != 0) {
		/* negotiated before (or failed): start over */
		r = hvg_dev_reset(d);
		status = 0;
	}
	if (!r && status != want_status) {
		r = reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
		if (!r)
			r = reg_write(d, VIRTIO_MMIO_STATUS, want_status);
		if (!r)
			r = read_features(d, &d->offered);
	}
	if (r < 0)
		return r;
	if (!(d->offered & (UINT64_C(1) << VIRTIO_F_VERSION_1)))
		return -ENOTSUP; /* a legacy-only device */

	features = d->offered & wanted;
	features &= ~HVG_TRANSPORT_MASK | HVG_TRANSPORT_OK;
	features |= UINT64_C(1) << VIRTIO_F_VERSION_1;

	r = reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	if (!r)
		r = reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	if (!r)
		r = reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	if (!r)
		r = reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	if (!r)
		r = reg_write(d, VIRTIO_MMIO_STATUS, want_status | VIRTIO_CONFIG_S_FEATURES_OK);
	if (!r)
		r = reg_read(d, VIRTIO_MMIO_STATUS, &status);
	if (r < 0)
		return r;
	if (!(status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		/* §3.1.1: the device does not support this subset */
		reg_write(d, VIRTIO_MMIO_STATUS, status | VIRTIO_CONFIG_S_FAILED);
		return -ENOTSUP;
	}
	d->negotiated = features;
	if (ret_negotiated)
		*ret_negotiated = features;
	return 0;
}

int hvg_dev_driver_ok(struct hvg_dev *d)
{
	uint32_t status;
	int r = reg_read(d, VIRTIO_MMIO_STATUS, &status);

	if (r < 0)
		return r;
	if (!(status & VIRTIO_CONFIG_S_FEATURES_OK))
		return -EINVAL;
	return reg_write(d, VIRTIO_MMIO_STATUS, status | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* Natural access size at this position: 4, 2 or 1 bytes (§4.2.2.2: 8-bit
 * fields byte-wide, 16-bit fields 16-bit aligned, wider fields as 32-bit). */
static unsigned config_chunk(uint32_t off, uint32_t left)
{
	if (off % 4 == 0 && left >= 4)
		return 4;
	if (off % 2 == 0 && left >= 2)
		return 2;
	return 1;
}

int hvg_dev_config_read(struct hvg_dev *d, uint32_t offset, void *buf, uint32_t len)
{
	uint8_t *out = buf;
	uint32_t end;
	int r;

	if (__builtin_add_overflow(offset, len, &end) || end > UINT32_MAX - VIRTIO_MMIO_CONFIG)
		return -EINVAL;
	/* §2.5.1: retry while the generation changes under a multi-access read */
	for (int attempt = 0; attempt < 100; attempt++) {
		uint32_t gen0 = 0, gen1 = 0;

		if (len > 4) {
			r = reg_read(d, VIRTIO_MMIO_CONFIG_GENERATION, &gen0);
			if (r < 0)
				return r;
		}
		for (uint32_t pos = 0; pos < len;) {
			unsigned n = config_chunk(offset + pos, len - pos);
			uint64_t v = 0;

			r = t_read(d->t, d->base + VIRTIO_MMIO_CONFIG + offset + pos, n, &v);
			if (r < 0)
				return r;
			for (unsigned i = 0; i < n; i++)
				out[pos + i] =
					(uint8_t)(v >> (8 * i)); /* config is little-endian */
			pos += n;
		}
		if (len <= 4)
			return 0;
		r = reg_read(d, VIRTIO_MMIO_CONFIG_GENERATION, &gen1);
		if (r < 0)
			return r;
		if (gen0 == gen1)
			return 0;
	}
	return -EAGAIN;
}

int hvg_dev_config_write(struct hvg_dev *d, uint32_t offset, const void *buf, uint32_t len)
{
	const uint8_t *in = buf;
	uint32_t end;
	int r;

	if (__builtin_add_overflow(offset, len, &end) || end > UINT32_MAX - VIRTIO_MMIO_CONFIG)
		return -EINVAL;
	for (uint32_t pos = 0; pos < len;) {
		unsigned n = config_chunk(offset + pos, len - pos);
		uint64_t v = 0;

		for (unsigned i = 0; i < n; i++)
			v |= (uint64_t)in[pos + i] << (8 * i);
		r = t_write(d->t, d->base + VIRTIO_MMIO_CONFIG + offset + pos, n, v);
		if (r < 0)
			return r;
		pos += n;
	}
	return 0;
}

/* --- virtqueues ---------------------------------------------------------------- */

/* Ring layout (§2.7): avail = flags, idx, ring[size], used_event;
 * used = flags, idx, {id, len}[size], avail_event. */
static inline uint16_t *avail_flags(struct hvg_vq *vq)
{
	return &vq->avail[0];
}

static inline uint16_t *avail_idx(struct hvg_vq *vq)
{
	return &vq->avail[1];
}

static inline uint16_t *avail_ring(struct hvg_vq *vq, uint16_t i)
{
	return &vq->avail[2 + i];
}

static inline uint16_t *used_event(struct hvg_vq *vq)
{
	return &vq->avail[2 + vq->size];
}

static inline uint16_t *used_flags(struct hvg_vq *vq)
{
	return (uint16_t *)vq->used;
}

static inline uint16_t *used_idx(struct hvg_vq *vq)
{
	return (uint16_t *)(vq->used + 2);
}

static inline struct vring_used_elem *used_ring(struct hvg_vq *vq, uint16_t i)
{
	return (struct vring_used_elem *)(vq->used + 4) + i;
}

static inline uint16_t *avail_event(struct hvg_vq *vq)
{
	return (uint16_t *)(vq->used + 4 + 8 * (size_t)vq->size);
}

static int write_addr(struct hvg_dev *d, uint32_t lo_reg, uint64_t gpa)
{
	int r = reg_write(d, lo_reg, (uint32_t)gpa);

	return r < 0 ? r : reg_write(d, lo_reg + 4, (uint32_t)(gpa >> 32));
}

/* The queue's size: the one asked for (0: QueueNumMax, at most 256) if the
 * device offers the queue and it is not in use. */
static int vq_size(struct hvg_dev *d, unsigned index, uint16_t *size)
{
	uint32_t max, ready;
	int r;

	if (index >= HVG_MAX_QUEUES)
		return -EINVAL;
	r = reg_write(d, VIRTIO_MMIO_QUEUE_SEL, index);
	if (!r)
		r = reg_read(d, VIRTIO_MMIO_QUEUE_READY, &ready);
	if (!r)
		r = reg_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX, &max);
	if (r)
		return r < 0 ? r : -EIO;
	if (ready)
		return -EBUSY; /* §4.2.3.2: the queue must not be in use */
	if (max == 0)
		return -ENOENT; /* no such queue */
	if (*size == 0)
		*size = (uint16_t)MIN(max, (uint32_t)256);
	if (*size > max || *size > HVG_QUEUE_MAX_SIZE || (*size & (*size - 1)) != 0)
		return -EINVAL;
	return 0;
}

/* vq's rings, zeroed: page-aligned rings satisfy every alignment rule (16,
 * 2, 4); an earlier incarnation's (old) are reused when big enough. */
static int vq_rings(struct hvg_vq *vq, const struct hvg_vq *old)
{
	struct hvg_transport *t = vq->d->t;
	uint64_t desc_len, avail_len, used_len;

	vq->ring_cap = old && old->ring_cap >= vq->size ? old->ring_cap : vq->size;
	desc_len = 16 * (uint64_t)vq->ring_cap;
	avail_len = 6 + 2 * (uint64_t)vq->ring_cap;
	used_len = 6 + 8 * (uint64_t)vq->ring_cap;
	if (old && old->ring_cap >= vq->size) {
		vq->desc_gpa = old->desc_gpa;
		vq->avail_gpa = old->avail_gpa;
		vq->used_gpa = old->used_gpa;
	} else {
		vq->desc_gpa = hvg_alloc(t, desc_len, HVG_PAGE);
		vq->avail_gpa = vq->desc_gpa ? hvg_alloc(t, avail_len, HVG_PAGE) : 0;
		vq->used_gpa = vq->avail_gpa ? hvg_alloc(t, used_len, HVG_PAGE) : 0;
	}
	if (!vq->used_gpa)
		return -ENOMEM;
	vq->desc = hvg_ptr(t, vq->desc_gpa, desc_len);
	vq->avail = hvg_ptr(t, vq->avail_gpa, avail_len);
	vq->used = hvg_ptr(t, vq->used_gpa, used_len);
	if (!vq->desc || !vq->avail || !vq->used)
		return -EFAULT;
	memset(vq->desc, 0, desc_len);
	memset(vq->avail, 0, avail_len);
	memset(vq->used, 0, used_len);
	return 0;
}

/* The device is told where the rings are, and takes the queue. */
static int vq_enable(struct hvg_dev *d, const struct hvg_vq *vq)
{
	uint32_t ready;
	int r = reg_write(d, VIRTIO_MMIO_QUEUE_NUM, vq->size);

	if (!r)
		r = write_addr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, vq->desc_gpa);
	if (!r)
		r = write_addr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, vq->avail_gpa);
	if (!r)
		r = write_addr(d, VIRTIO_MMIO_QUEUE_USED_LOW, vq->used_gpa);
	/* the rings (zeroed) must be visible before the device may use them */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!r)
		r = reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	if (!r)
		r = reg_read(d, VIRTIO_MMIO_QUEUE_READY, &ready);
	if (r < 0)
		return r;
	return ready == 1 ? 0 : -EIO; /* -EIO: the device refused the queue */
}

int hvg_vq_setup(struct hvg_dev *d, unsigned index, uint16_t size, struct hvg_vq **ret)
{
	struct hvg_vq *vq, *old = index < HVG_MAX_QUEUES ? d->vqs[index] : NULL;
	int r = vq_size(d, index, &size);

	if (r < 0)
		return r;
	vq = calloc(1, sizeof(*vq));
	if (!vq)
		return -ENOMEM;
	vq->d = d;
	vq->index = index;
	vq->size = size;
	vq->event_idx = d->negotiated & (UINT64_C(1) << VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = d->negotiated & (UINT64_C(1) << VIRTIO_RING_F_INDIRECT_DESC);
	vq->irq_enabled = true;
	vq->next = calloc(size, sizeof(*vq->next));
	vq->reqs = calloc(size, sizeof(*vq->reqs));
	r = vq->next && vq->reqs ? vq_rings(vq, old) : -ENOMEM;
	for (uint16_t i = 0; r == 0 && i < size; i++)
		vq->next[i] = (uint16_t)(i + 1);
	vq->free_head = 0;
	vq->num_free = size;
	if (r == 0)
		r = vq_enable(d, vq);
	if (r < 0) {
		vq_free(vq);
		return r;
	}
	if (old) {
		/* its indirect tables, free or left in flight by a reset, are
		 * ours now */
		for (uint16_t i = 0; i < old->size; i++)
			if (old->reqs[i].in_use && old->reqs[i].has_itable)
				itable_put(vq, &old->reqs[i].itable);
		for (unsigned i = 0; i < old->pool_len; i++)
			itable_put(vq, &old->pool[i]);
		vq_free(old);
	}
	d->vqs[index] = vq;
	*ret = vq;
	return 0;
}

unsigned hvg_vq_free_descs(const struct hvg_vq *vq)
{
	return vq->num_free;
}

/* An indirect table with room for n descriptors: a free one from the pool,
 * or a new one from the heap. */
static int itable_get(struct hvg_vq *vq, unsigned n, struct hvg_itable *ret)
{
	unsigned best = vq->pool_len;
	unsigned cap;
	uint64_t gpa;

	for (unsigned i = 0; i < vq->pool_len; i++)
		if (vq->pool[i].cap >= n &&
		    (best == vq->pool_len || vq->pool[i].cap < vq->pool[best].cap))
			best = i;
	if (best < vq->pool_len) {
		*ret = vq->pool[best];
		vq->pool[best] = vq->pool[--vq->pool_len];
		return 0;
	}
	/* power-of-two capacities keep the number of distinct tables small */
	for (cap = 4; cap < n; cap *= 2)
		;
	gpa = hvg_alloc(vq->d->t, 16 * (uint64_t)cap, 16);
	if (!gpa)
		return -ENOMEM;
	ret->gpa = gpa;
	ret->cap = (uint16_t)MIN(cap, (unsigned)UINT16_MAX);
	return 0;
}

static void itable_put(struct hvg_vq *vq, const struct hvg_itable *it)
{
	if (vq->pool_len == vq->pool_cap) {
		unsigned cap = vq->pool_cap ? vq->pool_cap * 2 : 16;
		struct hvg_itable *p = realloc(vq->pool, cap * sizeof(*p));

		if (!p)
			return; /* leaks heap, never memory safety */
		vq->pool = p;
		vq->pool_cap = cap;
	}
	vq->pool[vq->pool_len++] = *it;
}

static void fill_desc(struct vring_desc *dsc, const struct hvg_buf *b, bool more, uint16_t next)
{
	uint16_t flags = (b->writable ? VRING_DESC_F_WRITE : 0) | (more ? VRING_DESC_F_NEXT : 0);

	dsc->addr = htole64(b->gpa);
	dsc->len = htole32(b->len);
	dsc->flags = htole16(flags);
	dsc->next = htole16(more ? next : 0);
}

int hvg_vq_add(struct hvg_vq *vq, const struct hvg_buf *bufs, unsigned n, bool indirect,
	       void *token)
{
	uint16_t head, idx;
	struct hvg_req *req;

	if (vq->dead)
		return -ENODEV;
	/* §2.7.5.3.1: no chain longer than the queue */
	if (n == 0 || n > vq->size)
		return -EINVAL;
	for (unsigned i = 1; i < n; i++)
		if (bufs[i - 1].writable && !bufs[i].writable)
			return -EINVAL; /* device-readable buffers come first */
	if (indirect && !vq->indirect)
		return -ENOTSUP;
	if (vq->num_free < (indirect ? 1 : n))
		return -ENOSPC;

	head = vq->free_head;
	req = &vq->reqs[head];
	if (indirect) {
		struct hvg_itable it;
		struct vring_desc *table;
		int r = itable_get(vq, n, &it);

		if (r < 0)
			return r;
		table = hvg_ptr(vq->d->t, it.gpa, 16 * (uint64_t)n);
		if (!table) {
			itable_put(vq, &it);
			return -EFAULT;
		}
		for (unsigned i = 0; i < n; i++)
			fill_desc(&table[i], &bufs[i], i + 1 < n, (uint16_t)(i + 1));
		vq->desc[head].addr = htole64(it.gpa);
		vq->desc[head].len = htole32(16 * n);
		vq->desc[head].flags = htole16(VRING_DESC_F_INDIRECT);
		vq->desc[head].next = 0;
		vq->free_head = vq->next[head];
		vq->num_free--;
		req->ndesc = 1;
		req->has_itable = true;
		req->itable = it;
	} else {
		idx = head;
		for (unsigned i = 0; i < n; i++) {
			fill_desc(&vq->desc[idx], &bufs[i], i + 1 < n, vq->next[idx]);
			idx = vq->next[idx];
		}
		/* the shadow keeps the chain linked for the free */
		vq->free_head = idx;
		vq->num_free = (uint16_t)(vq->num_free - n);
		req->ndesc = (uint16_t)n;
		req->has_itable = false;
	}
	req->token = token;
	req->in_use = true;

	/* descriptors first, then the avail entry; avail->idx is published
	 * (after a release barrier) by hvg_vq_kick */
	*avail_ring(vq, (uint16_t)(vq->avail_idx & (vq->size - 1))) = htole16(head);
	vq->avail_idx++;
	return 0;
}

int hvg_vq_kick(struct hvg_vq *vq)
{
	uint16_t old = vq->kicked_idx, new = vq->avail_idx;
	bool notify;
	int r;

	if (vq->dead)
		return -ENODEV;
	/* descriptors and ring entries before the index that publishes them */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(avail_idx(vq), htole16(new), __ATOMIC_RELAXED);
	vq->kicked_idx = new;
	/* the index store before the load of the device's suppression state
	 * (§2.7.10, §2.7.13.4): a store-load ordering, so a full barrier */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (new == old)
		return 0; /* nothing new to tell */
	if (vq->event_idx) {
		uint16_t event = le16toh(__atomic_load_n(avail_event(vq), __ATOMIC_RELAXED));

		notify = vring_need_event(event, new, old);
	} else {
		uint16_t flags = le16toh(__atomic_load_n(used_flags(vq), __ATOMIC_RELAXED));

		notify = !(flags & VRING_USED_F_NO_NOTIFY);
	}
	if (!notify)
		return 0;
	r = reg_write(vq->d, VIRTIO_MMIO_QUEUE_NOTIFY, vq->index);
	if (r < 0)
		return r;
	vq->d->n_notify++;
	return 1;
}

int hvg_vq_get(struct hvg_vq *vq, void **ret_token, uint32_t *ret_len)
{
	struct vring_used_elem e;
	struct hvg_req *req;
	uint16_t used, id_idx, idx;
	uint32_t id;

	if (vq->dead)
		return -ENODEV;
	used = le16toh(__atomic_load_n(used_idx(vq), __ATOMIC_ACQUIRE));
	if (used == vq->last_used)
		return 0;
	/* more entries than requests outstanding: a broken device */
	if ((uint16_t)(used - vq->last_used) > vq->size)
		return -EIO;
	id_idx = (uint16_t)(vq->last_used & (vq->size - 1));
	e = *used_ring(vq, id_idx);
	id = le32toh(e.id);
	if (id >= vq->size || !vq->reqs[id].in_use)
		return -EIO; /* not the head of a chain we handed out */
	req = &vq->reqs[id];

	/* return the chain to the free list (from our shadow of it) */
	idx = (uint16_t)id;
	for (uint16_t i = 1; i < req->ndesc; i++)
		idx = vq->next[idx];
	vq->next[idx] = vq->free_head;
	vq->free_head = (uint16_t)id;
	vq->num_free = (uint16_t)(vq->num_free + req->ndesc);
	if (req->has_itable)
		itable_put(vq, &req->itable);
	req->in_use = false;
	vq->last_used++;

	if (vq->event_idx && vq->irq_enabled) {
		/* interrupt me at the next entry; visible before we look again */
		__atomic_store_n(used_event(vq), htole16(vq->last_used), __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	if (ret_token)
		*ret_token = req->token;
	if (ret_len)
		*ret_len = le32toh(e.len);
	return 1;
}

void hvg_vq_irq_enable(struct hvg_vq *vq, bool enable)
{
	if (vq->dead)
		return;
	vq->irq_enabled = enable;
	if (vq->event_idx) {
		/* disabled: an event index just behind us fires only after a
		 * full wrap of the ring index */
		uint16_t ev = enable ? vq->last_used : (uint16_t)(vq->last_used - 1);

		__atomic_store_n(used_event(vq), htole16(ev), __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(avail_flags(vq), htole16(enable ? 0 : VRING_AVAIL_F_NO_INTERRUPT),
				 __ATOMIC_RELAXED);
	}
	/* the device must see this before we next look at the used ring */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* --- interrupts ------------------------------------------------------------------ */

int hvg_dev_wait(struct hvg_dev *d, int timeout_ms, uint32_t *ret_status)
{
	struct hvg_transport *t = d->t;
	int64_t deadline = timeout_ms < 0 ? -1 : (int64_t)(now_usec() / 1000) + timeout_ms;
	uint32_t irq, status;
	int r;

	for (;;) {
		int left = -1;

		if (deadline >= 0) {
			int64_t now = (int64_t)(now_usec() / 1000);

			left = now >= deadline ? 0 : (int)MIN(deadline - now, (int64_t)INT32_MAX);
		}
		r = t->ops->wait_irq(t->ctx, left, &irq);
		if (r <= 0)
			return r;
		t->n_irqs++;
		if (d->irq == 0 || irq == d->irq)
			break;
		/* another device's interrupt: not ours to acknowledge */
	}
	d->n_irq++;
	r = reg_read(d, VIRTIO_MMIO_INTERRUPT_STATUS, &status);
	if (r < 0)
		return r;
	if (status) {
		r = reg_write(d, VIRTIO_MMIO_INTERRUPT_ACK, status);
		if (r < 0)
			return r;
	}
	if (ret_status)
		*ret_status = status;
	return 1;
}

uint64_t hvg_dev_notifications(const struct hvg_dev *d)
{
	return d->n_notify;
}

uint64_t hvg_dev_interrupts(const struct hvg_dev *d)
{
	return d->n_irq;
}
