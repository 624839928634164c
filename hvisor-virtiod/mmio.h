/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio-mmio version 2 transport (VIRTIO 1.2 §4.2), device side: the
 * register file every device shares, and the interface between it and the
 * device models (blk.c, net.c, console.c).
 *
 * Rules it keeps for every device:
 *  - register reads are answered at their access size (upper bits 0);
 *    registers below 0x100 are 32-bit only, other sizes read 0 and writes
 *    are ignored; config space (0x100 + offset) takes 1/2/4/8-byte accesses
 *    inside the device's config size, anything beyond reads 0;
 *  - InterruptStatus reads have no side effect; InterruptACK clears bits;
 *  - writing 0 to Status resets the device: negotiated features,
 *    selectors, queues and interrupt status are cleared, the device model's
 *    reset() runs;
 *  - FEATURES_OK stays clear unless the driver's features are a subset of
 *    the offered ones, include VERSION_1, and the device model accepts them;
 *  - queue registers of a QueueSel >= the device's queue count read 0 and
 *    ignore writes; a queue's configuration is frozen while it is ready;
 *  - a ring the driver enables with bad parameters, or whose contents
 *    turn out corrupt, sets DEVICE_NEEDS_RESET and raises a configuration
 *    interrupt (never an assert, never a crash).
 *
 * The transport state lives in a struct virtio_mmio_state the caller
 * provides: hvisor-virtiod keeps it in a memfd shared with hvisord, so a
 * backend that is restarted after a crash restores what the guest driver
 * already configured (virtio_dev_restore) instead of hanging the guest.
 */
#ifndef VIRTIOD_MMIO_H
#define VIRTIOD_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "mem.h"
#include "ratelimit.h"
#include "virtqueue.h"

#define VIRTIO_MMIO_MAGIC     0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION_2 2
#define VIRTIO_VENDOR_HVISOR  0x48564953 /* "HVIS", as upstream */
#define VIRTIO_MAX_QUEUES     4
#define VIRTIO_CONFIG_MAX     256	 /* config space bytes any device may have */
#define VIRTIO_STATE_MAGIC    0x48565354 /* "HVST" */
/* Lines a guest can make us log, per device (and for the zone channel):
 * at most this many a minute; the next one says how many were held back. */
#define VIRTIO_LOG_BURST	 16
#define VIRTIO_LOG_INTERVAL_USEC (60 * 1000000ull)

struct virtio_dev;
struct json_object;
struct event_base;

struct virtio_dev_ops {
	const char *name; /* "blk", "net", "console" */
	/* Driver config-space write of len bytes at off (inside the config
	 * size). Return 0 to keep the bytes in d->config, <0 to ignore them.
	 * NULL: the config space is read-only. */
	int (*config_write)(struct virtio_dev *d, uint32_t off, const void *val, uint32_t len);
	/* FEATURES_OK requested with d->driver features: 0 accepts, <0 refuses. */
	int (*features_ok)(struct virtio_dev *d, uint64_t features);
	/* DRIVER_OK: the device may start (e.g. read its tap). */
	void (*driver_ok)(struct virtio_dev *d);
	/* The driver notified queue q (enabled and not broken). */
	void (*queue_notify)(struct virtio_dev *d, unsigned q);
	/* Device reset: forget in-flight work (nothing is completed; the
	 * driver discards it) and stop all I/O. The transport clears its own
	 * state and the queues afterwards. */
	void (*reset)(struct virtio_dev *d);
	/* Shutting down: finish the requests already taken (complete them to
	 * the guest), sync, and return 0 when nothing is left in flight;
	 * >0 means "call again later". Take no new requests. */
	int (*drain)(struct virtio_dev *d);
	/* After virtio_dev_restore(): the queues are back; resume I/O. */
	void (*resumed)(struct virtio_dev *d);
	/* Free the device (it is removed or the backend exits). */
	void (*destroy)(struct virtio_dev *d);
	/* Optional: device facts for `hvctl virtio list`, added to a json-c
	 * object (e.g. "engine": "threads", "link": "up"). */
	void (*describe)(struct virtio_dev *d, struct json_object *obj);
};

/* Transport state, shared with hvisord; plain integers only. The restore
 * path validates every field as untrusted. */
struct virtio_mmio_state {
	uint32_t magic; /* VIRTIO_STATE_MAGIC: valid */
	uint32_t device_id;
	uint64_t base;
	uint32_t status;
	uint32_t dev_features_sel;
	uint32_t drv_features_sel;
	uint32_t queue_sel;
	uint64_t driver_features;
	uint32_t int_status;
	uint32_t config_generation;
	struct {
		uint32_t num;
		uint32_t ready;
		uint64_t desc, avail, used;
		struct virtq_persist ring; /* the queue's progress (virtqueue.h) */
	} q[VIRTIO_MAX_QUEUES];
};

/* Where the device's interrupt goes (hvisor-virtiod: an IRQ record on the
 * zone channel; tests: a counter). */
typedef void (*virtio_irq_fn)(void *ctx, uint32_t irq);

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv;    /* the device model's state */
	char name[48]; /* "blk@0xa003c00", for logs */
	uint32_t device_id;
	uint64_t base, len; /* MMIO window, guest physical */
	uint32_t irq;
	uint64_t host_features; /* offered; VERSION_1 always included */
	unsigned num_queues;
	uint16_t queue_max;

	struct virtio_mmio_state *st;
	struct virtq vq[VIRTIO_MAX_QUEUES];
	uint8_t config[VIRTIO_CONFIG_MAX];
	uint32_t config_size;
	const struct gmem *mem;

	virtio_irq_fn raise_irq;
	void *irq_ctx;

	/* counters (hvctl virtio list) */
	uint64_t n_requests, n_errors, n_notifies, n_interrupts;
	struct ratelimit log_rl; /* what the guest makes us log */
	bool needs_reset;
};

/* What a device model needs from whoever hosts it. */
struct vdev_params {
	uint64_t base, len;
	uint32_t irq;
	const struct gmem *mem;
	struct virtio_mmio_state *state; /* zeroed, or a saved state to restore */
	virtio_irq_fn raise_irq;
	void *irq_ctx;
	struct event_base *evbase; /* for the device's own fds */
};

/* Fills the transport part of d (called by a device model's create
 * function). features: the device-specific bits; VERSION_1 is added. */
void virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops, void *priv,
		     uint32_t device_id, const struct vdev_params *p, uint64_t features,
		     unsigned num_queues, uint16_t queue_max, uint32_t config_size);
/* If d->st holds a valid saved state for this device, re-apply it: status,
 * features, and every ready queue (virtq_resume; rings re-validated).
 * A restored running device interrupts once (one may have been lost).
 * Returns 1 if restored, 0 if there was nothing to restore, -EINVAL if
 * the saved state does not hold up (the device then starts reset and
 * signals DEVICE_NEEDS_RESET if the driver had gone past ACKNOWLEDGE). */
int virtio_dev_restore(struct virtio_dev *d);

/* Register accesses; offset relative to base, size 1, 2, 4 or 8 (others
 * read 0 and are ignored). Values are masked to the access size. */
static inline bool virtio_mmio_size_ok(unsigned size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}
uint64_t virtio_mmio_read(struct virtio_dev *d, uint64_t offset, unsigned size);
void virtio_mmio_write(struct virtio_dev *d, uint64_t offset, unsigned size, uint64_t value);

/* Takes the next request of queue q (virtq_pop). A ring that fails
 * (corrupt, or no memory for the request) fails the device: it answers
 * nothing more until the guest resets it, rather than leaving the guest
 * waiting. Returns 1, 0 (none waiting) or <0. */
int virtio_dev_pop(struct virtio_dev *d, unsigned q, struct virtq_elem **ret);

/* Device -> driver. */
/* End of a turn on queue q: publishes its completions (virtq_complete)
 * and interrupts unless suppressed. */
void virtio_dev_used(struct virtio_dev *d, unsigned q);
/* Config space changed: bump the generation, configuration interrupt. */
void virtio_dev_config_changed(struct virtio_dev *d);
/* The device cannot go on (ring corruption): DEVICE_NEEDS_RESET, queues
 * stopped, configuration interrupt. Logged once. */
void virtio_dev_fail(struct virtio_dev *d, const char *why);
/* Guest misbehaviour, and errors a guest's I/O provokes: logged as a
 * warning through d->log_rl (a guest must not be able to flood the log).
 * virtio_dev_error() also counts it; virtio_dev_complain() only logs, for
 * callers that count the error elsewhere. */
void virtio_dev_complain(struct virtio_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same for anyone else: "who: message" at prio, through rl. */
void virtio_log_limited(struct ratelimit *rl, int prio, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define virtio_dev_error(d, ...) ((d)->n_errors++, virtio_dev_complain((d), __VA_ARGS__))

static inline bool virtio_dev_has(const struct virtio_dev *d, unsigned bit)
{
	return (d->st->driver_features >> bit) & 1;
}

static inline bool virtio_dev_running(const struct virtio_dev *d)
{
	return (d->st->status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(d->st->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

#endif
