/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libhvguest: a virtio-mmio *driver* (the guest's side), so tests, demos and
 * benchmarks can drive hvisor-virtiod's devices the way a guest kernel would,
 * the way QEMU's libqos drives its device models. VIRTIO 1.2, modern
 * (version 2) virtio-mmio, split virtqueues, optional INDIRECT_DESC and
 * EVENT_IDX on the driver side.
 *
 * The driver reaches registers and guest memory through a transport:
 *  - hvg_sim_open(): a vCPU of a zone in hvisor-sim (proto/sim.h guest
 *    channel + the physical memory memfd);
 *  - any other implementation of struct hvg_transport_ops (unit tests call
 *    the device model directly).
 * Single-threaded; one struct hvg_dev per device.
 */
#ifndef HVGUEST_H
#define HVGUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hvg_transport_ops {
	/* One register access by a vCPU; blocks until it completes. */
	int (*read)(void *ctx, uint64_t addr, unsigned size, uint64_t *ret);
	int (*write)(void *ctx, uint64_t addr, unsigned size, uint64_t value);
	/* Wait up to timeout_ms (-1: forever) for an interrupt: 1 and *ret_irq,
	 * 0 on timeout, -errno. Interrupts that arrived earlier are returned
	 * first (the transport queues them). */
	int (*wait_irq)(void *ctx, int timeout_ms, uint32_t *ret_irq);
	/* Host pointer for guest memory [gpa, gpa + len), or NULL. */
	void *(*ptr)(void *ctx, uint64_t gpa, uint64_t len);
	void (*close)(void *ctx);
};

struct hvg_transport {
	const struct hvg_transport_ops *ops;
	void *ctx;
	/* Guest memory the driver may use for rings and buffers. */
	uint64_t heap_gpa, heap_size, heap_next;
	/* counters, for the benchmarks */
	uint64_t n_reads, n_writes, n_irqs;
};

/* Attach to zone `zone_id` of the hvisor-sim at `socket` as its guest
 * (HVSIM_OP_GUEST_ATTACH). `cpu` is the vCPU used for accesses (-1: the
 * zone's first CPU). The heap defaults to the last 64 MiB of the zone's
 * first RAM region (or the whole region if smaller); heap_size 0 keeps the
 * default. */
int hvg_sim_open(const char *socket, uint32_t zone_id, int cpu, uint64_t heap_gpa,
		 uint64_t heap_size, struct hvg_transport **ret);
void hvg_transport_close(struct hvg_transport *t);

/* Guest memory helpers. hvg_alloc is a bump allocator in the heap (zeroed);
 * returns the guest address, 0 when the heap is exhausted. */
uint64_t hvg_alloc(struct hvg_transport *t, uint64_t size, uint64_t align);
void *hvg_ptr(struct hvg_transport *t, uint64_t gpa, uint64_t len);

struct hvg_dev;
struct hvg_vq;

/* Probe the device at `base`: magic "virt", version 2, device id != 0;
 * resets it. `irq` is its interrupt (0: accept any interrupt). */
int hvg_dev_probe(struct hvg_transport *t, uint64_t base, uint32_t irq, struct hvg_dev **ret);
void hvg_dev_free(struct hvg_dev *d);
uint32_t hvg_dev_id(const struct hvg_dev *d);
/* What the device offers (both feature words). */
uint64_t hvg_dev_features(const struct hvg_dev *d);
/* ACKNOWLEDGE | DRIVER, write (offered & wanted) | VERSION_1, set
 * FEATURES_OK and check the device kept it (-ENOTSUP if not). */
int hvg_dev_negotiate(struct hvg_dev *d, uint64_t wanted, uint64_t *ret_negotiated);
uint64_t hvg_dev_negotiated(const struct hvg_dev *d);
/* Config space, read with the access sizes the spec allows (1/2/4). */
int hvg_dev_config_read(struct hvg_dev *d, uint32_t offset, void *buf, uint32_t len);
int hvg_dev_config_write(struct hvg_dev *d, uint32_t offset, const void *buf, uint32_t len);
/* Set up queue `index` with `size` entries (<= QueueNumMax), rings in the
 * heap. */
int hvg_vq_setup(struct hvg_dev *d, unsigned index, uint16_t size, struct hvg_vq **ret);
int hvg_dev_driver_ok(struct hvg_dev *d);
int hvg_dev_status(struct hvg_dev *d, uint32_t *ret);
int hvg_dev_reset(struct hvg_dev *d);

struct hvg_buf {
	uint64_t gpa;
	uint32_t len;
	bool writable; /* device-writable */
};

/* Queue a request: readable buffers must come before writable ones.
 * indirect: one indirect table (needs INDIRECT_DESC negotiated). token is
 * returned by hvg_vq_get. -ENOSPC if not enough free descriptors. */
int hvg_vq_add(struct hvg_vq *vq, const struct hvg_buf *bufs, unsigned n, bool indirect,
	       void *token);
/* Publish what was added and notify the device unless it asked not to
 * (VRING_USED_F_NO_NOTIFY, or avail_event with EVENT_IDX). Returns 1 if a
 * notification was sent, 0 if suppressed. */
int hvg_vq_kick(struct hvg_vq *vq);
/* Next completed request: 1 with its token and used length, 0 if none. */
int hvg_vq_get(struct hvg_vq *vq, void **ret_token, uint32_t *ret_len);
unsigned hvg_vq_free_descs(const struct hvg_vq *vq);
/* Wait for the device's interrupt (up to timeout_ms), then read
 * InterruptStatus and acknowledge it. 1: interrupt (status in *ret_status
 * if non-NULL), 0: timeout. */
int hvg_dev_wait(struct hvg_dev *d, int timeout_ms, uint32_t *ret_status);
/* Interrupt suppression on the driver side (VRING_AVAIL_F_NO_INTERRUPT, or
 * used_event with EVENT_IDX). */
void hvg_vq_irq_enable(struct hvg_vq *vq, bool enable);

/* Per-device counters: notifications written, interrupts taken. */
uint64_t hvg_dev_notifications(const struct hvg_dev *d);
uint64_t hvg_dev_interrupts(const struct hvg_dev *d);

#endif
