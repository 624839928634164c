/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Split virtqueues (VIRTIO 1.2 §2.7), device side. The guest owns the ring
 * memory and may change it at any time, so:
 *  - ring addresses and size are checked when the queue is enabled: size a
 *    power of two <= the device's maximum, each ring aligned and entirely
 *    inside guest RAM;
 *  - avail->idx may move by at most the queue size past what we consumed;
 *  - every head and `next` index < size; a chain has at most `size`
 *    descriptors, and at most VIRTQ_MAX_CHAIN buffers, direct and in an
 *    indirect table together (the descriptor naming a table is no buffer);
 *  - indirect tables only when VIRTIO_RING_F_INDIRECT_DESC was negotiated,
 *    never nested, length a non-zero multiple of 16;
 *  - every buffer [addr, addr + len) inside one RAM region (gmem_ptr);
 *  - each descriptor is read from guest memory exactly once into a local
 *    copy; nothing is read twice.
 * Corruption of the ring itself (bad head/next index, loops, avail jump)
 * makes virtq_pop() fail with -EFAULT: the device must stop the queue and
 * set DEVICE_NEEDS_RESET. A single bad request (buffer outside RAM, wrong
 * order of readable/writable buffers, zero length, nested or unnegotiated
 * indirect) is returned as an element with `error` set, so the device can
 * complete it with an error status.
 */
#ifndef VIRTIOD_VIRTQUEUE_H
#define VIRTIOD_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <linux/virtio_ring.h>

#include "mem.h"

/* Most buffers a chain may have, direct and indirect together: a
 * virtio_blk request of seg_max 254 pages, its header and status. */
#define VIRTQ_MAX_CHAIN 256
/* Largest queue any device offers. */
#define VIRTQ_MAX_SIZE 1024
/* Completions published together at most (virtq_complete): a queue of
 * our devices' largest size, all at once. */
#define VIRTQ_BATCH 256

/* What a restarted backend needs to continue a queue exactly where the
 * dead one stopped, kept in memory that outlives the process (the state
 * memfd): where it was in the avail ring, the used index it last
 * published, and which requests (by head) it had taken and not completed.
 * Plain integers; checked like guest input when read back. */
struct virtq_persist {
	uint16_t last_avail;
	uint16_t used_idx;
	uint32_t valid; /* 1: written by this scheme since the queue was enabled */
	uint64_t inflight[VIRTQ_MAX_SIZE / 64];
};

struct virtq {
	/* set by the transport from the driver's register writes */
	uint16_t num;	  /* queue size chosen by the driver */
	uint16_t num_max; /* what the device offers (QueueNumMax) */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool ready;

	/* valid once ready: checked host pointers into guest memory */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	const struct gmem *mem;

	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool broken;	/* ring corruption seen; nothing more is processed */

	uint16_t last_avail;	 /* next avail ring entry to consume */
	uint16_t used_idx;	 /* our copy of used->idx (we are the only writer) */
	uint16_t signalled_used; /* used_idx when we last interrupted */
	bool signalled_used_valid;
	uint16_t inflight; /* popped, not yet pushed */

	/* NULL, or where the queue's progress survives a crash (see above) */
	struct virtq_persist *ps;
	/* after virtq_resume(): requests the dead backend had taken, to be
	 * returned by virtq_pop() before anything new */
	uint64_t redo[VIRTQ_MAX_SIZE / 64];
	uint16_t n_redo;

	/* completed, not yet published (virtq_complete, virtq_publish) */
	unsigned n_done;
	struct virtq_elem *done[VIRTQ_BATCH];
	uint32_t done_len[VIRTQ_BATCH];
};

/* One request: the descriptor chain, copied and translated. Readable
 * (driver -> device) buffers first, then writable ones. */
struct virtq_elem {
	uint16_t head;
	uint16_t n_out, n_in;
	uint32_t out_len, in_len; /* total bytes */
	/* 0, or why the request is unusable (-EFAULT: a buffer outside guest
	 * RAM; -EINVAL: zero length, writable before readable, indirect not
	 * negotiated or nested; -E2BIG, -ELOOP). The buffers that were valid
	 * are still listed, so a device can answer with an error status. */
	int error;
	/* The chain's last descriptor is a valid writable buffer: the
	 * last entry of in[] (where virtio-blk expects its status byte). */
	bool last_in;
	struct iovec *in;   /* = iov + n_out */
	struct iovec iov[]; /* n_out + n_in entries */
};

/* Clears all state (device reset), frees the completions not published;
 * vq->ps is cleared too and detached. */
void virtq_reset(struct virtq *vq);
/* Checks size and ring placement against mem and enables the queue.
 * -EINVAL if anything is wrong (the queue stays disabled). */
int virtq_enable(struct virtq *vq, const struct gmem *mem, bool event_idx, bool indirect);
/* After a restart of the backend: continue from vq->ps, the progress the
 * dead backend recorded; the requests it had taken and not completed
 * (whatever order it completed the others in) are taken again, nothing it
 * completed is repeated. Without vq->ps: continue from used->idx (exact
 * only when requests completed in order). */
int virtq_resume(struct virtq *vq, const struct gmem *mem, bool event_idx, bool indirect);

/* Is a request waiting? (false for a disabled or broken queue) */
bool virtq_has_avail(struct virtq *vq);
/* Takes the next request. Returns 1 with *ret (malloc'd, free() it after
 * virtq_push), 0 if none is waiting, -EFAULT if the ring is corrupt (the
 * queue is then broken), -ENOMEM. */
int virtq_pop(struct virtq *vq, struct virtq_elem **ret);
/* How a device completes requests: virtq_complete() for each, during a
 * turn, in any order; at the end of the turn virtq_publish() (through
 * virtio_dev_used(), which also interrupts) makes them visible with one
 * used->idx store. len is the number of bytes written into the writable
 * buffers. The element is the queue's from then on: freed once
 * published, or by virtq_reset(); on a queue that is not ready (reset
 * while the request ran) it is freed at once. A full batch is published
 * early. */
void virtq_complete(struct virtq *vq, struct virtq_elem *elem, uint32_t len);
/* Publishes what virtq_complete() gathered; returns how many. */
unsigned virtq_publish(struct virtq *vq);

/* The same, unbuffered, for callers that keep their elements: used entry
 * {head, len}, then used->idx (with the barriers the spec requires). */
void virtq_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t len);
/* Same for several completions, publishing the index once. */
void virtq_push_batch(struct virtq *vq, struct virtq_elem *const *elems, const uint32_t *lens,
		      unsigned n);

/* Should the driver be interrupted for what was pushed since the last
 * interrupt? Honours VRING_AVAIL_F_NO_INTERRUPT or used_event (EVENT_IDX).
 * Calling it records the interrupt as sent when it returns true. */
bool virtq_should_interrupt(struct virtq *vq);
/* Guest notifications (kicks) off/on while the device drains the queue
 * (VRING_USED_F_NO_NOTIFY, or avail_event with EVENT_IDX). enable returns
 * true if requests arrived meanwhile (re-check before sleeping). */
void virtq_disable_notify(struct virtq *vq);
bool virtq_enable_notify(struct virtq *vq);

/* Helpers for devices: copy between an iovec array and a flat buffer,
 * starting at byte `skip`. Return bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len);
size_t iov_size(const struct iovec *iov, unsigned n);
/* Points dst[] (room for n entries) at `len` bytes of src[] from byte
 * `skip` on; returns the entries used. */
unsigned iov_slice(const struct iovec *src, unsigned n, size_t skip, size_t len, struct iovec *dst);

#endif
