/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small fake virtio-mmio device for the libhvguest tests: it owns zone 1's
 * channel of an hvisor-sim (HVSIM_OP_ZONE_ATTACH), answers the trapped
 * register accesses of one device from a thread, and does something simple
 * with the queues when notified:
 *   FAKE_MANUAL     counts notifications; the test runs the queue itself
 *   FAKE_MARK_USED  marks every chain used with its writable length (the
 *                   writable bytes filled with FAKE_FILL)
 *   FAKE_BLK        a virtio-blk over a RAM disk (IN, OUT, FLUSH, GET_ID)
 *   FAKE_STREAM     net (id 1): frames sent on queue 1 are captured,
 *                   queue 0 is fed with the frames the test injects
 * It raises IRQ records like a device (used_event / NO_INTERRUPT honoured).
 * It is test code, but it still bounds-checks what the driver hands it.
 */
#ifndef HV_TEST_FAKEDEV_H
#define HV_TEST_FAKEDEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-zone.h"
#include "sim-harness.h"

#define FAKE_QUEUES	4
#define FAKE_FILL	0x5a
#define FAKE_MAX_FRAMES 64
#define FAKE_FRAME_MAX	2048

enum fake_mode {
	FAKE_MANUAL,
	FAKE_MARK_USED,
	FAKE_BLK,
	FAKE_STREAM,
};

struct fake_chain {
	uint16_t head;
	unsigned ndesc;
	bool indirect;
	uint32_t readable, writable;
};

struct fake_queue {
	uint32_t num, ready;
	uint64_t desc, avail, used;
	uint16_t last_avail, used_idx;
};

struct fake_frame {
	size_t len;
	uint8_t data[FAKE_FRAME_MAX];
};

struct fakedev {
	/* set before fake_env_start (or under the lock) */
	uint32_t magic, version, device_id, vendor;
	uint64_t features;
	bool refuse_features_ok;
	uint32_t num_max;
	unsigned n_queues;
	uint8_t config[64];
	uint32_t config_len;
	enum fake_mode mode;
	uint8_t *disk; /* FAKE_BLK */
	uint64_t disk_sectors;
	char serial[21];
	bool corrupt_reads; /* flip a bit in every block read */

	pthread_mutex_t lock;
	/* register state */
	uint32_t status, dev_sel, drv_sel, queue_sel, isr;
	uint64_t driver_features;
	struct fake_queue q[FAKE_QUEUES];
	/* what happened */
	uint64_t accesses, resets, acks, irqs_sent, chains, bad_chains;
	uint64_t notifies[FAKE_QUEUES];
	uint32_t last_ack;
	uint64_t first_address; /* of the first access */
	unsigned config_sizes;	/* bitmask of config access sizes seen */
	struct fake_chain last_chain;
	/* FAKE_STREAM */
	uint8_t *rx_pending; /* frames of [u16 len][bytes] */
	size_t rx_len, rx_cap;
	struct fake_frame *tx_frames;
	unsigned n_tx_frames;
	uint8_t last_tx_hdr[12]; /* net: header of the last frame sent */
	size_t last_tx_len;	 /* its length, header included */
	bool split_rx;		 /* net + MRG_RXBUF: each frame in two buffers */
	unsigned rx_second;	 /* bytes still owed to the second buffer */

	/* plumbing */
	int chan, mem;
	uint8_t *ram;
	int stop[2];
	pthread_t thread;
	bool running;
};

struct fake_env {
	struct simh sim;
	struct fakedev dev;
};

/* Defaults: magic "virt", version 2, the given id, VERSION_1 | features,
 * 2 queues of at most 256, FAKE_MARK_USED. */
void fake_init(struct fakedev *d, uint32_t device_id, uint64_t features);
/* Starts a sim, zone 1 (CPUs 2 and 3, RAM regions GZ_RAM and GZ_RAM2,
 * a virtio region at GZ_BASE, IRQs GZ_IRQ and GZ_IRQ2) and the fake
 * device as its channel owner; attach_first: the owner attaches before
 * ZONE_START (pending owner). */
void fake_env_start(struct fake_env *e, bool attach_first);
void fake_env_stop(struct fake_env *e);

void fake_lock(struct fakedev *d);
void fake_unlock(struct fakedev *d);
/* Sets InterruptStatus bits and sends the IRQ (lock not held). */
void fake_raise(struct fakedev *d, uint32_t isr, uint32_t irq);
/* Runs queue q now, as on a notify (lock not held). */
void fake_run_queue(struct fakedev *d, unsigned q);
/* Host view of zone RAM (NULL outside). */
void *fake_host(struct fakedev *d, uint64_t gpa, uint64_t len);
/* FAKE_STREAM: one net frame (a header of zeroes is prefixed). */
void fake_inject(struct fakedev *d, const void *data, size_t len);
/* Polls cond (called with the lock held) for up to timeout_ms. */
bool fake_wait(struct fakedev *d, bool (*cond)(struct fakedev *d, void *arg), void *arg,
	       int timeout_ms);

#endif
