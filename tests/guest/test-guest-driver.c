// SPDX-License-Identifier: GPL-2.0-only
/*
 * libhvguest (the driver core) over its hvisor-sim transport, against the
 * fake device of fakedev.c: probe, negotiation, queue registers, direct and
 * indirect chains, EVENT_IDX suppression both ways, interrupts, the heap,
 * guest memory bounds, and the GUEST_ATTACH / pending-owner protocol.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>

#include <cmocka.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "fakedev.h"
#include "hvguest.h"
#include "util.h"

#define F(bit)	     (UINT64_C(1) << (bit))
#define QUIET_MS     150
#define DEFAULT_HEAP (GZ_RAM + GZ_RAM_SIZE - (UINT64_C(64) << 20))

struct fixture {
	struct fake_env env;
	struct hvg_transport *t;
	struct hvg_dev *d;
};

static struct fakedev *dev(struct fixture *f)
{
	return &f->env.dev;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	hvg_dev_free(f->d);
	hvg_transport_close(f->t);
	fake_env_stop(&f->env);
	free(f);
	return 0;
}

static struct fixture *fixture_new(uint32_t id, uint64_t features)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fake_init(&f->env.dev, id, features);
	return f;
}

static void open_guest(struct fixture *f)
{
	assert_int_equal(hvg_sim_open(f->env.sim.sock, GZ_ZONE, -1, 0, 0, &f->t), 0);
}

/* sim + fake device + transport + probed device */
static int setup_features(void **state, uint64_t features)
{
	struct fixture *f = fixture_new(42, features);

	fake_env_start(&f->env, false);
	open_guest(f);
	assert_int_equal(hvg_dev_probe(f->t, GZ_BASE, GZ_IRQ, &f->d), 0);
	*state = f;
	return 0;
}

static int setup_plain(void **state)
{
	return setup_features(state, 0);
}

static int setup_rings(void **state)
{
	return setup_features(state, F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_RING_F_INDIRECT_DESC));
}

/* only the sim and the fake device, the test opens the rest */
static int setup_env(void **state)
{
	struct fixture *f = fixture_new(42, 0);

	fake_env_start(&f->env, false);
	*state = f;
	return 0;
}

static bool cond_notifies(struct fakedev *d, void *arg)
{
	const uint64_t *want = arg;

	return d->notifies[0] >= *want;
}

static void wait_notifies(struct fakedev *d, uint64_t n)
{
	assert_true(fake_wait(d, cond_notifies, &n, SIMH_TIMEOUT_MS));
}

/* --- transport ---------------------------------------------------------------------- */

/* hvg_sim_open, retried while the sim has not yet seen an earlier guest go */
static int open_retry(struct fixture *f, uint32_t zone, int cpu, uint64_t heap_gpa,
		      uint64_t heap_size, struct hvg_transport **t)
{
	int r = -EBUSY;

	for (int i = 0; i < 400 && r == -EBUSY; i++) {
		r = hvg_sim_open(f->env.sim.sock, zone, cpu, heap_gpa, heap_size, t);
		if (r == -EBUSY)
			usleep(5000);
	}
	return r;
}

static void test_attach_and_heap(void **state)
{
	struct fixture *f = *state;
	struct hvg_transport *t = NULL;

	open_guest(f);
	/* default heap: the last 64 MiB of the first RAM region */
	assert_true(f->t->heap_gpa == DEFAULT_HEAP);
	assert_true(f->t->heap_size == UINT64_C(64) << 20);
	/* one guest at a time */
	assert_int_equal(hvg_sim_open(f->env.sim.sock, GZ_ZONE, -1, 0, 0, &t), -EBUSY);
	hvg_transport_close(f->t);
	f->t = NULL;
	/* the vCPU must be one of the zone's; the zone must run */
	assert_int_equal(open_retry(f, GZ_ZONE, 0, 0, 0, &t), -EINVAL);
	assert_int_equal(open_retry(f, 7, -1, 0, 0, &t), -ENOENT);
	/* an explicit heap must be zone RAM */
	assert_int_equal(open_retry(f, GZ_ZONE, 3, GZ_BASE, 4096, &t), -EINVAL);
	assert_int_equal(open_retry(f, GZ_ZONE, 3, GZ_RAM2, GZ_RAM2_SIZE, &t), 0);
	assert_true(t->heap_gpa == GZ_RAM2 && t->heap_size == GZ_RAM2_SIZE);
	f->t = t;
}

static void test_ptr_bounds(void **state)
{
	struct fixture *f = *state;
	uint8_t *p;

	open_guest(f);
	p = hvg_ptr(f->t, GZ_RAM, 16);
	assert_non_null(p);
	assert_non_null(hvg_ptr(f->t, GZ_RAM + GZ_RAM_SIZE - 1, 1));
	assert_non_null(hvg_ptr(f->t, GZ_RAM, GZ_RAM_SIZE));
	assert_null(hvg_ptr(f->t, GZ_RAM, GZ_RAM_SIZE + 1));
	assert_null(hvg_ptr(f->t, GZ_RAM + GZ_RAM_SIZE - 1, 2));
	assert_null(hvg_ptr(f->t, GZ_RAM - 1, 2));
	assert_null(hvg_ptr(f->t, GZ_RAM + 8, UINT64_MAX - 4)); /* wraps */
	assert_null(hvg_ptr(f->t, UINT64_MAX, 2));
	assert_null(hvg_ptr(f->t, GZ_BASE, 4)); /* virtio regions are not memory */
	/* the second RAM region; not a range spanning both */
	assert_non_null(hvg_ptr(f->t, GZ_RAM2 + 100, 100));
	assert_null(hvg_ptr(f->t, GZ_RAM2 + GZ_RAM2_SIZE - 4, 8));
	/* the same memory the device sees */
	memcpy(p, "guest ram", 10);
	assert_memory_equal(fake_host(dev(f), GZ_RAM, 10), "guest ram", 10);
}

static void test_transport_refusals(void **state)
{
	struct fixture *f = *state;
	uint64_t v = 1;

	/* RAM is not a device: the sim refuses, the transport says so */
	assert_int_equal(f->t->ops->read(f->t->ctx, GZ_RAM, 4, &v), -EFAULT);
	assert_int_equal(f->t->ops->read(f->t->ctx, GZ_BASE, 3, &v), -EINVAL);
	/* and the channel still works afterwards */
	assert_int_equal(f->t->ops->read(f->t->ctx, GZ_BASE + VIRTIO_MMIO_DEVICE_ID, 4, &v), 0);
	assert_true(v == 42);
}

static void test_heap(void **state)
{
	struct fixture *f = *state;
	uint64_t a, b, c, heap = GZ_RAM + 0x100000;
	uint32_t *p;
	struct hvg_vq *vq;

	assert_int_equal(hvg_sim_open(f->env.sim.sock, GZ_ZONE, -1, heap, 64 * 1024, &f->t), 0);
	a = hvg_alloc(f->t, 10, 1);
	assert_true(a == heap);
	/* handed out zeroed, even if the guest wrote there before */
	p = hvg_ptr(f->t, heap + 4096, 4);
	*p = 0xdeadbeef;
	b = hvg_alloc(f->t, 100, 4096);
	assert_true(b == heap + 4096);
	assert_int_equal(*p, 0);
	assert_int_equal(hvg_alloc(f->t, 8, 3), 0); /* not a power of two */
	assert_int_equal(hvg_alloc(f->t, 0, 8), 0);
	c = hvg_alloc(f->t, 64 * 1024 - 8192, 4096);
	assert_true(c == heap + 8192);
	/* full: nothing more, not even a byte, not even with a huge size */
	assert_int_equal(hvg_alloc(f->t, 1, 1), 0);
	assert_int_equal(hvg_alloc(f->t, UINT64_MAX, 1), 0);
	/* a queue needs ring memory */
	assert_int_equal(hvg_dev_probe(f->t, GZ_BASE, GZ_IRQ, &f->d), 0);
	assert_int_equal(hvg_dev_negotiate(f->d, 0, NULL), 0);
	assert_int_equal(hvg_vq_setup(f->d, 0, 16, &vq), -ENOMEM);
	fake_lock(dev(f));
	assert_int_equal(dev(f)->q[0].ready, 0);
	fake_unlock(dev(f));
}

/* --- probe and negotiation ------------------------------------------------------------ */

static void test_probe(void **state)
{
	struct fixture *f = *state;
	struct fakedev *d = dev(f);
	uint32_t status = 0;

	open_guest(f);
	fake_lock(d);
	d->magic = 0x12345678;
	fake_unlock(d);
	assert_int_equal(hvg_dev_probe(f->t, GZ_BASE, GZ_IRQ, &f->d), -ENODEV);
	fake_lock(d);
	d->magic = 0x74726976;
	d->version = 1;
	fake_unlock(d);
	assert_int_equal(hvg_dev_probe(f->t, GZ_BASE, GZ_IRQ, &f->d), -ENOTSUP);
	fake_lock(d);
	d->version = 2;
	d->device_id = 0;
	fake_unlock(d);
	assert_int_equal(hvg_dev_probe(f->t, GZ_BASE, GZ_IRQ, &f->d), -ENODEV);
	/* no device answers outside the virtio region */
	assert_int_equal(hvg_dev_probe(f->t, GZ_RAM, 0, &f->d), -EFAULT);
	fake_lock(d);
	d->device_id = 2;
	d->status = VIRTIO_CONFIG_S_DRIVER_OK; /* left over from a previous driver */
	d->resets = 0;
	fake_unlock(d);
	assert_int_equal(hvg_dev_probe(f->t, GZ_BASE, GZ_IRQ, &f->d), 0);
	assert_int_equal(hvg_dev_id(f->d), 2);
	assert_true(hvg_dev_features(f->d) == F(VIRTIO_F_VERSION_1));
	assert_int_equal(hvg_dev_status(f->d, &status), 0);
	assert_int_equal(status, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	fake_lock(d);
	assert_int_equal(d->resets, 1);
	fake_unlock(d);
}

static void test_negotiate(void **state)
{
	struct fixture *f = *state;
	struct fakedev *d = dev(f);
	uint64_t offered = F(3) | F(5) | F(50) | F(40 /* RING_RESET */) |
			   F(VIRTIO_RING_F_EVENT_IDX) | F(34 /* RING_PACKED */) |
			   F(35 /* IN_ORDER */) | F(38 /* NOTIFICATION_DATA */);
	uint64_t neg = 0;
	uint32_t status;

	fake_lock(d);
	d->features = offered | F(VIRTIO_F_VERSION_1);
	fake_unlock(d);
	open_guest(f);
	assert_int_equal(hvg_dev_probe(f->t, GZ_BASE, GZ_IRQ, &f->d), 0);
	/* wanted, offered, and implemented by the driver; VERSION_1 always */
	assert_int_equal(hvg_dev_negotiate(f->d,
					   F(3) | F(4) | F(50) | F(40) | F(34) | F(35) | F(38) |
						   F(VIRTIO_RING_F_EVENT_IDX),
					   &neg),
			 0);
	assert_true(neg == (F(3) | F(50) | F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_F_VERSION_1)));
	assert_true(hvg_dev_negotiated(f->d) == neg);
	fake_lock(d);
	assert_true(d->driver_features == neg);
	assert_true(d->status & VIRTIO_CONFIG_S_FEATURES_OK);
	fake_unlock(d);
	/* again: the driver starts over with a reset */
	assert_int_equal(hvg_dev_negotiate(f->d, 0, &neg), 0);
	assert_true(neg == F(VIRTIO_F_VERSION_1));

	/* a device that does not keep FEATURES_OK */
	fake_lock(d);
	d->refuse_features_ok = true;
	fake_unlock(d);
	assert_int_equal(hvg_dev_negotiate(f->d, F(3), &neg), -ENOTSUP);
	assert_int_equal(hvg_dev_status(f->d, &status), 0);
	assert_true(status & VIRTIO_CONFIG_S_FAILED);
	assert_int_equal(hvg_dev_driver_ok(f->d), -EINVAL);
	/* a legacy-only device */
	fake_lock(d);
	d->refuse_features_ok = false;
	d->features = F(3);
	fake_unlock(d);
	assert_int_equal(hvg_dev_negotiate(f->d, F(3), &neg), -ENOTSUP);
}

static void test_config(void **state)
{
	struct fixture *f = *state;
	struct fakedev *d = dev(f);
	uint8_t buf[16];
	uint64_t cap;

	fake_lock(d);
	d->config_len = 16;
	for (unsigned i = 0; i < 16; i++)
		d->config[i] = (uint8_t)(0x10 + i);
	d->config_sizes = 0;
	fake_unlock(d);
	assert_int_equal(hvg_dev_config_read(f->d, 0, &cap, 8), 0);
	assert_true(le64toh(cap) == UINT64_C(0x1716151413121110));
	fake_lock(d);
	assert_int_equal(d->config_sizes, 1u << 4); /* 64-bit fields as two 32-bit reads */
	d->config_sizes = 0;
	fake_unlock(d);
	assert_int_equal(hvg_dev_config_read(f->d, 1, buf, 6), 0);
	assert_memory_equal(buf, "\x11\x12\x13\x14\x15\x16", 6);
	fake_lock(d);
	assert_int_equal(d->config_sizes, (1u << 1) | (1u << 2)); /* 1 @1, 2 @2, 2 @4, 1 @6 */
	fake_unlock(d);
	assert_int_equal(hvg_dev_config_write(f->d, 6, "\xaa\xbb\xcc", 3), 0);
	assert_int_equal(hvg_dev_config_read(f->d, 4, buf, 6), 0);
	assert_memory_equal(buf, "\x14\x15\xaa\xbb\xcc\x19", 6);
	assert_int_equal(hvg_dev_config_read(f->d, UINT32_MAX, buf, 2), -EINVAL);
}

/* --- queues ------------------------------------------------------------------------- */

static void test_queue_setup(void **state)
{
	struct fixture *f = *state;
	struct fakedev *d = dev(f);
	struct hvg_vq *vq, *vq2;
	struct fake_queue q;

	fake_lock(d);
	d->num_max = 128;
	fake_unlock(d);
	assert_int_equal(hvg_dev_negotiate(f->d, 0, NULL), 0);
	assert_int_equal(hvg_vq_setup(f->d, 0, 256, &vq), -EINVAL); /* > QueueNumMax */
	assert_int_equal(hvg_vq_setup(f->d, 0, 48, &vq), -EINVAL);  /* not a power of 2 */
	assert_int_equal(hvg_vq_setup(f->d, 2, 16, &vq), -ENOENT);  /* no queue 2 */
	assert_int_equal(hvg_vq_setup(f->d, 0, 64, &vq), 0);
	fake_lock(d);
	q = d->q[0];
	fake_unlock(d);
	assert_int_equal(q.num, 64);
	assert_int_equal(q.ready, 1);
	/* rings in the heap, page-aligned (so 16/2/4-aligned), not overlapping */
	assert_true(q.desc >= DEFAULT_HEAP && q.desc % 4096 == 0);
	assert_true(q.avail >= q.desc + 16 * 64 && q.avail % 4096 == 0);
	assert_true(q.used >= q.avail + 6 + 2 * 64 && q.used % 4096 == 0);
	assert_int_equal(hvg_vq_free_descs(vq), 64);
	/* a live queue is not set up twice */
	assert_int_equal(hvg_vq_setup(f->d, 0, 64, &vq2), -EBUSY);
	/* size 0: QueueNumMax (at most 256) */
	assert_int_equal(hvg_vq_setup(f->d, 1, 0, &vq2), 0);
	assert_int_equal(hvg_vq_free_descs(vq2), 128);
	assert_int_equal(hvg_dev_driver_ok(f->d), 0);
	fake_lock(d);
	assert_true(d->status & VIRTIO_CONFIG_S_DRIVER_OK);
	fake_unlock(d);
	/* a device that refuses to enable a queue */
	assert_int_equal(hvg_dev_reset(f->d), 0);
	fake_lock(d);
	assert_int_equal(d->status, 0);
	d->n_queues = 0;
	fake_unlock(d);
	assert_int_equal(hvg_dev_negotiate(f->d, 0, NULL), 0);
	assert_int_equal(hvg_vq_setup(f->d, 0, 16, &vq), -ENOENT);
}

static struct hvg_vq *ready_queue(struct fixture *f, uint64_t features, uint16_t size)
{
	struct hvg_vq *vq;

	assert_int_equal(hvg_dev_negotiate(f->d, features, NULL), 0);
	assert_int_equal(hvg_vq_setup(f->d, 0, size, &vq), 0);
	assert_int_equal(hvg_dev_driver_ok(f->d), 0);
	return vq;
}

static void test_direct_chain(void **state)
{
	struct fixture *f = *state;
	struct fakedev *d = dev(f);
	struct hvg_vq *vq = ready_queue(f, 0, 16);
	uint64_t buf = hvg_alloc(f->t, 4096, 64);
	struct hvg_buf bufs[3] = {
		{.gpa = buf, .len = 16},
		{.gpa = buf + 16, .len = 100},
		{.gpa = buf + 1024, .len = 512, .writable = true},
	};
	uint8_t *w = hvg_ptr(f->t, buf + 1024, 512);
	uint32_t len = 0, status = 0;
	void *token = NULL;
	int tag;

	assert_int_equal(hvg_vq_add(vq, bufs, 3, false, &tag), 0);
	assert_int_equal(hvg_vq_free_descs(vq), 13);
	assert_int_equal(hvg_vq_get(vq, &token, &len), 0); /* nothing published yet */
	assert_int_equal(hvg_vq_kick(vq), 1);
	assert_int_equal(hvg_dev_wait(f->d, SIMH_TIMEOUT_MS, &status), 1);
	assert_int_equal(status, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(hvg_vq_get(vq, &token, &len), 1);
	assert_ptr_equal(token, &tag);
	assert_int_equal(len, 512);
	assert_int_equal(w[0], FAKE_FILL);
	assert_int_equal(w[511], FAKE_FILL);
	assert_int_equal(hvg_vq_get(vq, &token, &len), 0);
	assert_int_equal(hvg_vq_free_descs(vq), 16);
	fake_lock(d);
	assert_int_equal(d->last_chain.ndesc, 3);
	assert_false(d->last_chain.indirect);
	assert_int_equal(d->last_chain.readable, 116);
	assert_int_equal(d->last_chain.writable, 512);
	assert_int_equal(d->acks, 1);
	assert_int_equal(d->last_ack, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(d->isr, 0);
	fake_unlock(d);

	/* many round trips reuse the descriptors: the ring wraps */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(hvg_vq_add(vq, bufs, 3, false, &tag), 0);
		assert_int_equal(hvg_vq_add(vq, bufs + 1, 2, false, &i), 0);
		hvg_vq_kick(vq);
		for (int got = 0; got < 2;) {
			int r = hvg_vq_get(vq, &token, &len);

			assert_true(r >= 0);
			if (r == 0)
				assert_int_equal(hvg_dev_wait(f->d, SIMH_TIMEOUT_MS, NULL), 1);
			got += r;
		}
	}
	assert_int_equal(hvg_vq_free_descs(vq), 16);
	assert_true(hvg_dev_notifications(f->d) >= 101);
	assert_true(hvg_dev_interrupts(f->d) >= 1);
}

static void test_reset_and_setup_again(void **state)
{
	struct fixture *f = *state;
	struct hvg_vq *vq = ready_queue(f, F(VIRTIO_RING_F_INDIRECT_DESC), 32);
	struct hvg_buf b[2] = {{.gpa = hvg_alloc(f->t, 64, 64), .len = 8},
			       {.gpa = hvg_alloc(f->t, 64, 64), .len = 8, .writable = true}};
	uint64_t heap;
	uint32_t len;

	/* one request in flight with an indirect table when the device resets */
	assert_int_equal(hvg_vq_add(vq, b, 2, true, NULL), 0);
	heap = f->t->heap_next;
	assert_int_equal(hvg_dev_reset(f->d), 0);
	assert_true(hvg_dev_negotiated(f->d) == 0);
	/* the old queue is dead, not freed under the caller */
	assert_int_equal(hvg_vq_add(vq, b, 2, false, NULL), -ENODEV);
	assert_int_equal(hvg_vq_kick(vq), -ENODEV);
	assert_int_equal(hvg_vq_get(vq, NULL, &len), -ENODEV);
	/* set up again: ring memory and the indirect table are reused */
	vq = ready_queue(f, F(VIRTIO_RING_F_INDIRECT_DESC), 16);
	assert_true(f->t->heap_next == heap);
	assert_int_equal(hvg_vq_free_descs(vq), 16);
	assert_int_equal(hvg_vq_add(vq, b, 2, true, NULL), 0);
	assert_int_equal(hvg_vq_kick(vq), 1);
	assert_int_equal(hvg_dev_wait(f->d, SIMH_TIMEOUT_MS, NULL), 1);
	assert_int_equal(hvg_vq_get(vq, NULL, &len), 1);
	assert_int_equal(len, 8);
	assert_true(f->t->heap_next == heap);
}

static void test_chain_errors(void **state)
{
	struct fixture *f = *state;
	struct hvg_vq *vq = ready_queue(f, 0, 4);
	uint64_t buf = hvg_alloc(f->t, 4096, 64);
	struct hvg_buf bufs[5] = {
		{.gpa = buf, .len = 1}, {.gpa = buf, .len = 1}, {.gpa = buf, .len = 1},
		{.gpa = buf, .len = 1}, {.gpa = buf, .len = 1},
	};
	struct hvg_buf bad[2] = {{.gpa = buf, .len = 1, .writable = true}, {.gpa = buf, .len = 1}};

	assert_int_equal(hvg_vq_add(vq, bufs, 0, false, NULL), -EINVAL);
	assert_int_equal(hvg_vq_add(vq, bufs, 5, false, NULL), -EINVAL); /* longer than the queue */
	assert_int_equal(hvg_vq_add(vq, bad, 2, false, NULL), -EINVAL);	 /* writable first */
	assert_int_equal(hvg_vq_add(vq, bufs, 2, true, NULL), -ENOTSUP); /* not negotiated */
	assert_int_equal(hvg_vq_add(vq, bufs, 3, false, NULL), 0);
	assert_int_equal(hvg_vq_add(vq, bufs, 2, false, NULL), -ENOSPC);
	assert_int_equal(hvg_vq_add(vq, bufs, 1, false, NULL), 0);
	assert_int_equal(hvg_vq_free_descs(vq), 0);
}

static void test_indirect_chain(void **state)
{
	struct fixture *f = *state;
	struct fakedev *d = dev(f);
	struct hvg_vq *vq = ready_queue(f, F(VIRTIO_RING_F_INDIRECT_DESC), 8);
	uint64_t buf = hvg_alloc(f->t, 8192, 64), heap_used;
	struct hvg_buf bufs[6];
	uint32_t len;
	void *token;

	for (int i = 0; i < 6; i++)
		bufs[i] = (struct hvg_buf){
			.gpa = buf + 1024 * (uint64_t)i, .len = 1000, .writable = i >= 4};
	/* six buffers through one ring descriptor */
	assert_int_equal(hvg_vq_add(vq, bufs, 6, true, bufs), 0);
	assert_int_equal(hvg_vq_free_descs(vq), 7);
	assert_int_equal(hvg_vq_kick(vq), 1);
	assert_int_equal(hvg_dev_wait(f->d, SIMH_TIMEOUT_MS, NULL), 1);
	assert_int_equal(hvg_vq_get(vq, &token, &len), 1);
	assert_ptr_equal(token, bufs);
	assert_int_equal(len, 2000);
	fake_lock(d);
	assert_true(d->last_chain.indirect);
	assert_int_equal(d->last_chain.ndesc, 6);
	assert_int_equal(d->last_chain.readable, 4000);
	assert_int_equal(d->last_chain.writable, 2000);
	assert_int_equal(d->bad_chains, 0);
	fake_unlock(d);
	/* tables are recycled: a long run does not eat the heap */
	heap_used = f->t->heap_next;
	for (int i = 0; i < 500; i++) {
		assert_int_equal(hvg_vq_add(vq, bufs, 6, true, NULL), 0);
		assert_int_equal(hvg_vq_add(vq, bufs, 3, true, NULL), 0);
		hvg_vq_kick(vq);
		for (int got = 0; got < 2;) {
			int r = hvg_vq_get(vq, &token, &len);

			assert_true(r >= 0);
			if (r == 0)
				assert_int_equal(hvg_dev_wait(f->d, SIMH_TIMEOUT_MS, NULL), 1);
			got += r;
		}
	}
	assert_true(f->t->heap_next - heap_used <= 2 * 16 * 8);
	assert_int_equal(hvg_vq_free_descs(vq), 8);
	/* mixed with direct chains */
	assert_int_equal(hvg_vq_add(vq, bufs, 6, false, NULL), 0);
	assert_int_equal(hvg_vq_add(vq, bufs, 2, true, NULL), 0);
	assert_int_equal(hvg_vq_free_descs(vq), 1);
}

/* --- notification suppression ---------------------------------------------------------- */

static uint16_t *ring16(struct fixture *f, uint64_t gpa, unsigned index)
{
	return (uint16_t *)fake_host(dev(f), gpa + 2 * (uint64_t)index, 2);
}

static void test_event_idx_kick(void **state)
{
	struct fixture *f = *state;
	struct fakedev *d = dev(f);
	struct hvg_vq *vq;
	uint64_t buf = 0;
	struct hvg_buf b;
	struct fake_queue q;
	uint16_t *avail_event;

	fake_lock(d);
	d->mode = FAKE_MANUAL;
	fake_unlock(d);
	vq = ready_queue(f, F(VIRTIO_RING_F_EVENT_IDX), 16);
	buf = hvg_alloc(f->t, 64, 64);
	b = (struct hvg_buf){.gpa = buf, .len = 64};
	fake_lock(d);
	q = d->q[0];
	fake_unlock(d);
	avail_event = ring16(f, q.used, 2 + 4 * 16); /* used->ring[size] */

	/* avail_event 0: the first entry (0 -> 1) is notified */
	assert_int_equal(hvg_vq_add(vq, &b, 1, false, NULL), 0);
	assert_int_equal(hvg_vq_kick(vq), 1);
	/* the device did not move avail_event: 1 -> 2 is not */
	assert_int_equal(hvg_vq_add(vq, &b, 1, false, NULL), 0);
	assert_int_equal(hvg_vq_kick(vq), 0);
	/* the device asks for index 2 (the third entry): 2 -> 4 crosses it */
	*avail_event = htole16(2);
	assert_int_equal(hvg_vq_add(vq, &b, 1, false, NULL), 0);
	assert_int_equal(hvg_vq_add(vq, &b, 1, false, NULL), 0);
	assert_int_equal(hvg_vq_kick(vq), 1);
	/* a kick with nothing new says nothing */
	assert_int_equal(hvg_vq_kick(vq), 0);
	/* the device asks for index 10: 4 -> 6 does not reach it */
	*avail_event = htole16(10);
	assert_int_equal(hvg_vq_add(vq, &b, 1, false, NULL), 0);
	assert_int_equal(hvg_vq_add(vq, &b, 1, false, NULL), 0);
	assert_int_equal(hvg_vq_kick(vq), 0);
	assert_true(hvg_dev_notifications(f->d) == 2);
	wait_notifies(d, 2);
	/* published even when not notified */
	assert_int_equal(le16toh(*ring16(f, q.avail, 1)), 6);
	/* the device catches up: all six come back */
	fake_run_queue(d, 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(hvg_vq_get(vq, NULL, NULL), 1);
	assert_int_equal(hvg_vq_get(vq, NULL, NULL), 0);
	usleep(QUIET_MS * 1000);
	fake_lock(d);
	assert_int_equal(d->notifies[0], 2);
	fake_unlock(d);
}

static void test_no_notify_flag(void **state)
{
	struct fixture *f = *state;
	struct fakedev *d = dev(f);
	struct hvg_vq *vq;
	struct hvg_buf b;
	struct fake_queue q;

	fake_lock(d);
	d->mode = FAKE_MANUAL;
	fake_unlock(d);
	vq = ready_queue(f, 0, 16);
	b = (struct hvg_buf){.gpa = hvg_alloc(f->t, 64, 64), .len = 64};
	fake_lock(d);
	q = d->q[0];
	fake_unlock(d);
	*ring16(f, q.used, 0) = htole16(VRING_USED_F_NO_NOTIFY);
	assert_int_equal(hvg_vq_add(vq, &b, 1, false, NULL), 0);
	assert_int_equal(hvg_vq_kick(vq), 0);
	*ring16(f, q.used, 0) = 0;
	assert_int_equal(hvg_vq_add(vq, &b, 1, false, NULL), 0);
	assert_int_equal(hvg_vq_kick(vq), 1);
	wait_notifies(d, 1);
	assert_true(hvg_dev_notifications(f->d) == 1);
}

static void test_used_event(void **state)
{
	struct fixture *f = *state;
	struct fakedev *d = dev(f);
	struct hvg_vq *vq = ready_queue(f, F(VIRTIO_RING_F_EVENT_IDX), 16);
	struct hvg_buf b = {.gpa = hvg_alloc(f->t, 64, 64), .len = 64, .writable = true};
	struct fake_queue q;
	uint16_t *used_event;
	uint64_t irqs;

	fake_lock(d);
	q = d->q[0];
	fake_unlock(d);
	used_event = ring16(f, q.avail, 2 + 16); /* avail->ring[size] */

	/* enabled: an interrupt for the first completion */
	assert_int_equal(hvg_vq_add(vq, &b, 1, false, NULL), 0);
	hvg_vq_kick(vq);
	assert_int_equal(hvg_dev_wait(f->d, SIMH_TIMEOUT_MS, NULL), 1);
	assert_int_equal(hvg_vq_get(vq, NULL, NULL), 1);
	assert_int_equal(le16toh(*used_event), 1); /* and then for the next one */

	/* disabled: the device completes without interrupting */
	hvg_vq_irq_enable(vq, false);
	assert_int_equal(le16toh(*used_event), 0);
	fake_lock(d);
	irqs = d->irqs_sent;
	fake_unlock(d);
	assert_int_equal(hvg_vq_add(vq, &b, 1, false, NULL), 0);
	hvg_vq_kick(vq);
	wait_notifies(d, 2);
	assert_int_equal(hvg_dev_wait(f->d, QUIET_MS, NULL), 0);
	assert_int_equal(hvg_vq_get(vq, NULL, NULL), 1);
	assert_int_equal(le16toh(*used_event), 0); /* not moved while disabled */
	fake_lock(d);
	assert_true(d->irqs_sent == irqs);
	fake_unlock(d);

	/* enabled again */
	hvg_vq_irq_enable(vq, true);
	assert_int_equal(le16toh(*used_event), 2);
	assert_int_equal(hvg_vq_add(vq, &b, 1, false, NULL), 0);
	hvg_vq_kick(vq);
	assert_int_equal(hvg_dev_wait(f->d, SIMH_TIMEOUT_MS, NULL), 1);
	assert_int_equal(hvg_vq_get(vq, NULL, NULL), 1);
}

static void test_no_interrupt_flag(void **state)
{
	struct fixture *f = *state;
	struct fakedev *d = dev(f);
	struct hvg_vq *vq = ready_queue(f, 0, 16);
	struct hvg_buf b = {.gpa = hvg_alloc(f->t, 64, 64), .len = 64, .writable = true};
	struct fake_queue q;

	fake_lock(d);
	q = d->q[0];
	fake_unlock(d);
	hvg_vq_irq_enable(vq, false);
	assert_int_equal(le16toh(*ring16(f, q.avail, 0)), VRING_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(hvg_vq_add(vq, &b, 1, false, NULL), 0);
	hvg_vq_kick(vq);
	wait_notifies(d, 1);
	assert_int_equal(hvg_dev_wait(f->d, QUIET_MS, NULL), 0);
	assert_int_equal(hvg_vq_get(vq, NULL, NULL), 1);
	hvg_vq_irq_enable(vq, true);
	assert_int_equal(le16toh(*ring16(f, q.avail, 0)), 0);
	assert_int_equal(hvg_vq_add(vq, &b, 1, false, NULL), 0);
	hvg_vq_kick(vq);
	assert_int_equal(hvg_dev_wait(f->d, SIMH_TIMEOUT_MS, NULL), 1);
}

/* --- interrupts ------------------------------------------------------------------------ */

static void test_wait_and_ack(void **state)
{
	struct fixture *f = *state;
	struct fakedev *d = dev(f);
	uint32_t status = 0;
	uint64_t t0;

	/* nothing: a timeout after about the time asked */
	t0 = now_usec();
	assert_int_equal(hvg_dev_wait(f->d, QUIET_MS, &status), 0);
	assert_true(now_usec() - t0 >= (QUIET_MS - 10) * 1000u);
	/* a configuration change: status read and acknowledged */
	fake_raise(d, VIRTIO_MMIO_INT_CONFIG, GZ_IRQ);
	assert_int_equal(hvg_dev_wait(f->d, SIMH_TIMEOUT_MS, &status), 1);
	assert_int_equal(status, VIRTIO_MMIO_INT_CONFIG);
	fake_lock(d);
	assert_int_equal(d->last_ack, VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(d->isr, 0);
	fake_unlock(d);
	assert_true(hvg_dev_interrupts(f->d) == 1);
	/* another device's interrupt is not this device's */
	fake_raise(d, 0, GZ_IRQ2);
	assert_int_equal(hvg_dev_wait(f->d, QUIET_MS, &status), 0);
	assert_true(hvg_dev_interrupts(f->d) == 1);
	/* an interrupt that arrived during register accesses is kept for the wait */
	fake_raise(d, VIRTIO_MMIO_INT_VRING, GZ_IRQ);
	usleep(50 * 1000);
	assert_int_equal(hvg_dev_status(f->d, &status), 0);
	assert_int_equal(hvg_dev_wait(f->d, 0, &status), 1);
	assert_int_equal(status, VIRTIO_MMIO_INT_VRING);
	assert_true(f->t->n_irqs == 3);
}

static void test_any_irq(void **state)
{
	struct fixture *f = *state;
	struct fakedev *d = dev(f);
	struct hvg_dev *any;
	uint32_t status = 0;

	assert_int_equal(hvg_dev_probe(f->t, GZ_BASE, 0, &any), 0);
	fake_raise(d, VIRTIO_MMIO_INT_VRING, GZ_IRQ2);
	assert_int_equal(hvg_dev_wait(any, SIMH_TIMEOUT_MS, &status), 1);
	assert_int_equal(status, VIRTIO_MMIO_INT_VRING);
	hvg_dev_free(any);
}

/* --- pending owner ------------------------------------------------------------------------ */

static void test_pending_owner_first_access(void **state)
{
	struct fixture *f = fixture_new(42, 0);

	*state = f;
	/* the device attaches before the zone exists */
	fake_env_start(&f->env, true);
	open_guest(f);
	assert_int_equal(hvg_dev_probe(f->t, GZ_BASE, GZ_IRQ, &f->d), 0);
	fake_lock(dev(f));
	assert_true(dev(f)->first_address == GZ_BASE + VIRTIO_MMIO_MAGIC_VALUE);
	assert_true(dev(f)->accesses > 4);
	fake_unlock(dev(f));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attach_and_heap, setup_env, teardown),
		cmocka_unit_test_setup_teardown(test_ptr_bounds, setup_env, teardown),
		cmocka_unit_test_setup_teardown(test_transport_refusals, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_heap, setup_env, teardown),
		cmocka_unit_test_setup_teardown(test_probe, setup_env, teardown),
		cmocka_unit_test_setup_teardown(test_negotiate, setup_env, teardown),
		cmocka_unit_test_setup_teardown(test_config, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_queue_setup, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_direct_chain, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_chain_errors, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_reset_and_setup_again, setup_rings, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_chain, setup_rings, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx_kick, setup_rings, teardown),
		cmocka_unit_test_setup_teardown(test_no_notify_flag, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_used_event, setup_rings, teardown),
		cmocka_unit_test_setup_teardown(test_no_interrupt_flag, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_wait_and_ack, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_any_irq, setup_plain, teardown),
		cmocka_unit_test_teardown(test_pending_owner_first_access, teardown),
	};

	sim_harness_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
