/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * In-process test bed for the device models: fake guest RAM, devices
 * reached by direct calls of the mmio transport, interrupts captured, and
 * a struct hvg_transport so libhvguest (the real driver) can drive them.
 * Malicious-guest tests write rings by hand: through vtest_host(), or with
 * the little driver (vtest_negotiate, vtest_vq_*) at the end.
 */
#ifndef VTEST_H
#define VTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "hvguest.h"
#include "mmio.h"

#define VTEST_RAM_GPA  0x40000000ull
#define VTEST_RAM_SIZE (64ull << 20)
/* the lower half is the tests' own, the upper half libhvguest's heap */
#define VTEST_HEAP_GPA (VTEST_RAM_GPA + VTEST_RAM_SIZE / 2)
#define VTEST_DEV_BASE 0x0a000000ull
#define VTEST_DEV_LEN  0x200ull
#define VTEST_MAX_DEVS 8

struct event_base;

struct vtest {
	uint8_t *ram;
	struct gmem mem;
	struct event_base *evbase;
	struct virtio_mmio_state state[VTEST_MAX_DEVS];
	struct virtio_dev *devs[VTEST_MAX_DEVS];
	uint32_t irq_queue[256];
	unsigned irq_head, irq_len;
	uint64_t irqs_raised;
	uint64_t test_next; /* bump allocator in the lower half */
	struct hvg_transport t;
};

void vtest_init(struct vtest *t);
/* Destroys the devices still registered and frees everything. */
void vtest_done(struct vtest *t);
/* A test's fixture that begins with its struct vtest: allocated, zeroed
 * and vtest_init()ed; vtest_fx_free() does vtest_done(), closes fd (the
 * test's end of a device's fd, if >= 0) and frees it. */
void *vtest_fx_new(size_t size);
void vtest_fx_free(void *fx, int fd);
/* Parameters for a device in slot i (base VTEST_DEV_BASE + i * 0x200),
 * with its state slot and interrupt capture. */
struct vdev_params vtest_params(struct vtest *t, unsigned slot, uint32_t irq);
/* Route register accesses of slot i to d. */
void vtest_add(struct vtest *t, unsigned slot, struct virtio_dev *d);
/* Unregister and destroy. */
void vtest_remove(struct vtest *t, unsigned slot);
struct hvg_transport *vtest_transport(struct vtest *t);

/* Runs the event loop for what is ready now, or waits up to timeout_ms for
 * something (0: do not wait). */
void vtest_poll(struct vtest *t, int timeout_ms);
/* Interrupts raised and not yet consumed by a wait_irq (hvg_dev_wait). */
unsigned vtest_pending_irqs(const struct vtest *t);

/* Raw guest access. */
uint64_t vtest_alloc(struct vtest *t, uint64_t size, uint64_t align); /* lower half, zeroed */
void *vtest_host(struct vtest *t, uint64_t gpa);
uint64_t vtest_read(struct vtest *t, unsigned slot, uint64_t off, unsigned size);
void vtest_write(struct vtest *t, unsigned slot, uint64_t off, unsigned size, uint64_t val);

/* A few turns of the event loop, without waiting: enough for a kick to
 * reach the backend and its completion to come back. */
void vtest_run(struct vtest *t);

/*
 * A little driver on hand-built rings, for tests that must also build what
 * no real driver would (libhvguest is the well-behaved one). Registers are
 * those of the device in `slot`.
 */
/* A 32-bit register of the device in slot 0, what most tests touch. */
uint32_t vtest_rd(struct vtest *t, uint64_t off);
void vtest_wr(struct vtest *t, uint64_t off, uint32_t val);
uint32_t vtest_status(struct vtest *t, unsigned slot);
/* The device in slot 0 gave up: DEVICE_NEEDS_RESET, and the configuration
 * interrupt that says so pending. */
bool vtest_needs_reset(struct vtest *t);
/* Device features offered, both halves. */
uint64_t vtest_offered(struct vtest *t, unsigned slot);
/* Reset, ACKNOWLEDGE | DRIVER, write features, FEATURES_OK; true if
 * FEATURES_OK stuck (the device accepted them). */
bool vtest_negotiate(struct vtest *t, unsigned slot, uint64_t features);
/* Adds DRIVER_OK; true if it stuck. */
bool vtest_driver_ok(struct vtest *t, unsigned slot);
/* Select queue q, give it num entries and rings at desc/avail/used, then
 * QUEUE_READY. No checks: the tests of bad layouts use it too. */
void vtest_queue_setup(struct vtest *t, unsigned slot, unsigned q, uint32_t num, uint64_t desc,
		       uint64_t avail, uint64_t used);

/* The driver's view of one split queue. */
struct vtest_vq {
	struct vtest *t;
	unsigned slot, q;
	uint16_t num;
	uint64_t desc, avail, used;
	uint16_t next_desc, avail_idx, used_seen;
};

struct vtest_buf {
	uint64_t gpa;
	uint32_t len;
	bool w; /* device-writable */
};

/* Fresh rings from vtest_alloc for queue q, set up with vtest_queue_setup. */
void vtest_vq_setup(struct vtest *t, struct vtest_vq *vq, unsigned slot, unsigned q, uint16_t num);
/* The start of a device with a receive queue 0 and a transmit queue 1
 * (net, console) in slot 0: VERSION_1 | features negotiated, both queues
 * of num entries, DRIVER_OK. False if the device refused a step. */
bool vtest_start_rxtx(struct vtest *t, struct vtest_vq *rx, struct vtest_vq *tx, uint64_t features,
		      uint16_t num);
struct vring_desc *vtest_vq_desc(struct vtest_vq *vq, unsigned i);
struct vring_avail *vtest_vq_avail(struct vtest_vq *vq);
struct vring_used *vtest_vq_used(struct vtest_vq *vq);
/* Writes a chain of n buffers (descriptor slots taken round-robin) and
 * returns its head; it is not made available yet. */
uint16_t vtest_vq_chain(struct vtest_vq *vq, const struct vtest_buf *b, unsigned n);
/* Puts head on the avail ring (no kick). */
void vtest_vq_publish(struct vtest_vq *vq, uint16_t head);
/* A request of one fresh buffer of len bytes (vtest_alloc, aligned to
 * align), published (no kick); returns the buffer's address. */
uint64_t vtest_vq_post(struct vtest_vq *vq, uint32_t len, uint64_t align, bool writable);
void vtest_vq_kick(struct vtest_vq *vq);
/* The next used element not seen yet: true, with its id and len. */
bool vtest_vq_get_used(struct vtest_vq *vq, uint32_t *id, uint32_t *len);
uint16_t vtest_vq_used_idx(struct vtest_vq *vq);

#endif
