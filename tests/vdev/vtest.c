// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <event2/event.h>

#include "macro.h"
#include "util.h"
#include "vtest.h"

static void die(const char *what)
{
	fprintf(stderr, "vtest: %s\n", what);
	abort();
}

static void capture_irq(void *ctx, uint32_t irq)
{
	struct vtest *t = ctx;

	t->irqs_raised++;
	if (t->irq_len == ARRAY_SIZE(t->irq_queue))
		return; /* a test that never waits; the count still grows */
	t->irq_queue[(t->irq_head + t->irq_len++) % ARRAY_SIZE(t->irq_queue)] = irq;
}

static struct virtio_dev *dev_at(struct vtest *t, uint64_t addr, uint64_t *ret_off)
{
	for (unsigned i = 0; i < VTEST_MAX_DEVS; i++) {
		uint64_t base = VTEST_DEV_BASE + i * VTEST_DEV_LEN;

		if (t->devs[i] && addr >= base && addr - base < VTEST_DEV_LEN) {
			*ret_off = addr - base;
			return t->devs[i];
		}
	}
	return NULL;
}

static int tr_read(void *ctx, uint64_t addr, unsigned size, uint64_t *ret)
{
	uint64_t off;
	struct virtio_dev *d = dev_at(ctx, addr, &off);

	*ret = d ? virtio_mmio_read(d, off, size) : 0; /* no device: reads 0 */
	return 0;
}

static int tr_write(void *ctx, uint64_t addr, unsigned size, uint64_t value)
{
	uint64_t off;
	struct virtio_dev *d = dev_at(ctx, addr, &off);

	if (d)
		virtio_mmio_write(d, off, size, value);
	return 0;
}

static int tr_wait_irq(void *ctx, int timeout_ms, uint32_t *ret_irq)
{
	struct vtest *t = ctx;
	uint64_t deadline = now_usec() / 1000 + (timeout_ms < 0 ? 3600000u : (unsigned)timeout_ms);

	for (;;) {
		uint64_t now;

		vtest_poll(t, 0);
		if (t->irq_len) {
			*ret_irq = t->irq_queue[t->irq_head];
			t->irq_head = (t->irq_head + 1) % ARRAY_SIZE(t->irq_queue);
			t->irq_len--;
			return 1;
		}
		now = now_usec() / 1000;
		if (now >= deadline)
			return 0;
		vtest_poll(t, (int)MIN(deadline - now, (uint64_t)10));
	}
}

static void *tr_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	struct vtest *t = ctx;

	return gmem_ptr(&t->mem, gpa, len);
}

static const struct hvg_transport_ops vtest_ops = {
	.read = tr_read,
	.write = tr_write,
	.wait_irq = tr_wait_irq,
	.ptr = tr_ptr,
};

void vtest_init(struct vtest *t)
{
	struct gmem_region r = {.gpa = VTEST_RAM_GPA, .size = VTEST_RAM_SIZE, .offset = 0};

	memset(t, 0, sizeof(*t));
	/* lazily backed, so 64 MiB costs what the test touches */
	t->ram = mmap(NULL, VTEST_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		      0);
	if (t->ram == MAP_FAILED)
		die("cannot map guest RAM");
	r.host = t->ram;
	if (gmem_init_static(&t->mem, &r, 1) < 0)
		die("gmem_init_static");
	t->evbase = event_base_new();
	if (!t->evbase)
		die("event_base_new");
	t->test_next = VTEST_RAM_GPA;
	t->t = (struct hvg_transport){
		.ops = &vtest_ops,
		.ctx = t,
		.heap_gpa = VTEST_HEAP_GPA,
		.heap_size = VTEST_RAM_SIZE / 2,
		.heap_next = VTEST_HEAP_GPA,
	};
}

void vtest_done(struct vtest *t)
{
	for (unsigned i = 0; i < VTEST_MAX_DEVS; i++)
		vtest_remove(t, i);
	event_base_free(t->evbase);
	munmap(t->ram, VTEST_RAM_SIZE);
	memset(t, 0, sizeof(*t));
}

struct vdev_params vtest_params(struct vtest *t, unsigned slot, uint32_t irq)
{
	if (slot >= VTEST_MAX_DEVS)
		die("slot out of range");
	return (struct vdev_params){
		.base = VTEST_DEV_BASE + slot * VTEST_DEV_LEN,
		.len = VTEST_DEV_LEN,
		.irq = irq,
		.mem = &t->mem,
		.state = &t->state[slot],
		.raise_irq = capture_irq,
		.irq_ctx = t,
		.evbase = t->evbase,
	};
}

void vtest_add(struct vtest *t, unsigned slot, struct virtio_dev *d)
{
	if (slot >= VTEST_MAX_DEVS || t->devs[slot])
		die("slot taken or out of range");
	t->devs[slot] = d;
}

void vtest_remove(struct vtest *t, unsigned slot)
{
	if (slot < VTEST_MAX_DEVS && t->devs[slot]) {
		struct virtio_dev *d = t->devs[slot];

		t->devs[slot] = NULL;
		d->ops->destroy(d);
	}
}

struct hvg_transport *vtest_transport(struct vtest *t)
{
	return &t->t;
}

void vtest_poll(struct vtest *t, int timeout_ms)
{
	if (timeout_ms <= 0) {
		event_base_loop(t->evbase, EVLOOP_NONBLOCK);
		return;
	}
	{
		struct timeval tv = {.tv_sec = timeout_ms / 1000,
				     .tv_usec = (timeout_ms % 1000) * 1000};

		event_base_loopexit(t->evbase, &tv);
		/* 1: no events registered at all; do not spin */
		if (event_base_loop(t->evbase, EVLOOP_ONCE) == 1)
			usleep((useconds_t)MIN(timeout_ms, 1) * 1000);
	}
}

unsigned vtest_pending_irqs(const struct vtest *t)
{
	return t->irq_len;
}

uint64_t vtest_alloc(struct vtest *t, uint64_t size, uint64_t align)
{
	uint64_t p = ALIGN_UP(t->test_next, align);

	if (p + size > VTEST_HEAP_GPA)
		die("test memory exhausted");
	t->test_next = p + size;
	memset(vtest_host(t, p), 0, size);
	return p;
}

void *vtest_host(struct vtest *t, uint64_t gpa)
{
	if (gpa < VTEST_RAM_GPA || gpa >= VTEST_RAM_GPA + VTEST_RAM_SIZE)
		die("vtest_host: address outside guest RAM");
	return t->ram + (gpa - VTEST_RAM_GPA);
}

uint64_t vtest_read(struct vtest *t, unsigned slot, uint64_t off, unsigned size)
{
	if (slot >= VTEST_MAX_DEVS || !t->devs[slot])
		die("no device in slot");
	return virtio_mmio_read(t->devs[slot], off, size);
}

void vtest_write(struct vtest *t, unsigned slot, uint64_t off, unsigned size, uint64_t val)
{
	if (slot >= VTEST_MAX_DEVS || !t->devs[slot])
		die("no device in slot");
	virtio_mmio_write(t->devs[slot], off, size, val);
}

void vtest_run(struct vtest *t)
{
	for (int i = 0; i < 4; i++)
		vtest_poll(t, 0);
}

void *vtest_fx_new(size_t size)
{
	struct vtest *t = calloc(1, size);

	if (!t)
		die("out of memory");
	vtest_init(t);
	return t;
}

void vtest_fx_free(void *fx, int fd)
{
	vtest_done(fx);
	if (fd >= 0)
		close(fd);
	free(fx);
}

uint32_t vtest_rd(struct vtest *t, uint64_t off)
{
	return (uint32_t)vtest_read(t, 0, off, 4);
}

void vtest_wr(struct vtest *t, uint64_t off, uint32_t val)
{
	vtest_write(t, 0, off, 4, val);
}

uint32_t vtest_status(struct vtest *t, unsigned slot)
{
	return (uint32_t)vtest_read(t, slot, VIRTIO_MMIO_STATUS, 4);
}

bool vtest_needs_reset(struct vtest *t)
{
	return (vtest_status(t, 0) & VIRTIO_CONFIG_S_NEEDS_RESET) &&
	       (vtest_rd(t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
}

uint64_t vtest_offered(struct vtest *t, unsigned slot)
{
	uint64_t lo, hi;

	vtest_write(t, slot, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 4, 0);
	lo = vtest_read(t, slot, VIRTIO_MMIO_DEVICE_FEATURES, 4);
	vtest_write(t, slot, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 4, 1);
	hi = vtest_read(t, slot, VIRTIO_MMIO_DEVICE_FEATURES, 4);
	return lo | hi << 32;
}

bool vtest_negotiate(struct vtest *t, unsigned slot, uint64_t features)
{
	const uint32_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	vtest_write(t, slot, VIRTIO_MMIO_STATUS, 4, 0);
	vtest_write(t, slot, VIRTIO_MMIO_STATUS, 4, s);
	vtest_write(t, slot, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 4, 0);
	vtest_write(t, slot, VIRTIO_MMIO_DRIVER_FEATURES, 4, (uint32_t)features);
	vtest_write(t, slot, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 4, 1);
	vtest_write(t, slot, VIRTIO_MMIO_DRIVER_FEATURES, 4, (uint32_t)(features >> 32));
	vtest_write(t, slot, VIRTIO_MMIO_STATUS, 4, s | VIRTIO_CONFIG_S_FEATURES_OK);
	return vtest_status(t, slot) & VIRTIO_CONFIG_S_FEATURES_OK;
}

bool vtest_driver_ok(struct vtest *t, unsigned slot)
{
	vtest_write(t, slot, VIRTIO_MMIO_STATUS, 4,
		    vtest_status(t, slot) | VIRTIO_CONFIG_S_DRIVER_OK);
	return vtest_status(t, slot) & VIRTIO_CONFIG_S_DRIVER_OK;
}

void vtest_queue_setup(struct vtest *t, unsigned slot, unsigned q, uint32_t num, uint64_t desc,
		       uint64_t avail, uint64_t used)
{
	vtest_write(t, slot, VIRTIO_MMIO_QUEUE_SEL, 4, q);
	vtest_write(t, slot, VIRTIO_MMIO_QUEUE_NUM, 4, num);
	vtest_write(t, slot, VIRTIO_MMIO_QUEUE_DESC_LOW, 4, (uint32_t)desc);
	vtest_write(t, slot, VIRTIO_MMIO_QUEUE_DESC_HIGH, 4, (uint32_t)(desc >> 32));
	vtest_write(t, slot, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 4, (uint32_t)avail);
	vtest_write(t, slot, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 4, (uint32_t)(avail >> 32));
	vtest_write(t, slot, VIRTIO_MMIO_QUEUE_USED_LOW, 4, (uint32_t)used);
	vtest_write(t, slot, VIRTIO_MMIO_QUEUE_USED_HIGH, 4, (uint32_t)(used >> 32));
	vtest_write(t, slot, VIRTIO_MMIO_QUEUE_READY, 4, 1);
}

void vtest_vq_setup(struct vtest *t, struct vtest_vq *vq, unsigned slot, unsigned q, uint16_t num)
{
	*vq = (struct vtest_vq){.t = t, .slot = slot, .q = q, .num = num};
	vq->desc = vtest_alloc(t, 16 * num, 16);
	vq->avail = vtest_alloc(t, 6 + 2 * num, 4);
	vq->used = vtest_alloc(t, 6 + 8 * num, 4);
	vtest_queue_setup(t, slot, q, num, vq->desc, vq->avail, vq->used);
}

bool vtest_start_rxtx(struct vtest *t, struct vtest_vq *rx, struct vtest_vq *tx, uint64_t features,
		      uint16_t num)
{
	if (!vtest_negotiate(t, 0, (UINT64_C(1) << VIRTIO_F_VERSION_1) | features))
		return false;
	vtest_vq_setup(t, rx, 0, 0, num);
	vtest_vq_setup(t, tx, 0, 1, num);
	return vtest_driver_ok(t, 0);
}

struct vring_desc *vtest_vq_desc(struct vtest_vq *vq, unsigned i)
{
	return (struct vring_desc *)vtest_host(vq->t, vq->desc) + i;
}

struct vring_avail *vtest_vq_avail(struct vtest_vq *vq)
{
	return vtest_host(vq->t, vq->avail);
}

struct vring_used *vtest_vq_used(struct vtest_vq *vq)
{
	return vtest_host(vq->t, vq->used);
}

uint16_t vtest_vq_chain(struct vtest_vq *vq, const struct vtest_buf *b, unsigned n)
{
	uint16_t head = vq->next_desc % vq->num;

	for (unsigned i = 0; i < n; i++) {
		uint16_t me = vq->next_desc++ % vq->num;

		*vtest_vq_desc(vq, me) = (struct vring_desc){
			.addr = b[i].gpa,
			.len = b[i].len,
			.flags = (b[i].w ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0),
			.next = (uint16_t)(vq->next_desc % vq->num),
		};
	}
	return head;
}

void vtest_vq_publish(struct vtest_vq *vq, uint16_t head)
{
	struct vring_avail *a = vtest_vq_avail(vq);

	a->ring[vq->avail_idx % vq->num] = head;
	/* the entry before the index that exposes it */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	a->idx = ++vq->avail_idx;
}

uint64_t vtest_vq_post(struct vtest_vq *vq, uint32_t len, uint64_t align, bool writable)
{
	struct vtest_buf b = {vtest_alloc(vq->t, len, align), len, writable};

	vtest_vq_publish(vq, vtest_vq_chain(vq, &b, 1));
	return b.gpa;
}

void vtest_vq_kick(struct vtest_vq *vq)
{
	vtest_write(vq->t, vq->slot, VIRTIO_MMIO_QUEUE_NOTIFY, 4, vq->q);
}

bool vtest_vq_get_used(struct vtest_vq *vq, uint32_t *id, uint32_t *len)
{
	struct vring_used *u = vtest_vq_used(vq);

	if (u->idx == vq->used_seen)
		return false;
	*id = u->ring[vq->used_seen % vq->num].id;
	*len = u->ring[vq->used_seen % vq->num].len;
	vq->used_seen++;
	return true;
}

uint16_t vtest_vq_used_idx(struct vtest_vq *vq)
{
	return vtest_vq_used(vq)->idx;
}
