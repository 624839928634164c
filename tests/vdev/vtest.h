/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * In-process test bed for the device models: fake guest RAM, devices
 * reached by direct calls of the mmio transport, interrupts captured, and
 * a struct hvg_transport so libhvguest (the real driver) can drive them.
 * Malicious-guest tests write rings by hand through vtest_host().
 */
#ifndef VTEST_H
#define VTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "hvguest.h"
#include "mmio.h"

#define VTEST_RAM_GPA	0x40000000ull
#define VTEST_RAM_SIZE	(64ull << 20)
/* the lower half is the tests' own, the upper half libhvguest's heap */
#define VTEST_HEAP_GPA	(VTEST_RAM_GPA + VTEST_RAM_SIZE / 2)
#define VTEST_DEV_BASE	0x0a000000ull
#define VTEST_DEV_LEN	0x200ull
#define VTEST_MAX_DEVS	8

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

#endif
