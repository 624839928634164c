/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio-blk's backing store: what the image (regular file or block
 * device) is and can do, and the I/O engines that run requests on it.
 *
 * Engines (one file each, blk-io-engine.h; docs/devices.md §3.2 has the
 * measurements behind the default):
 *   sync      every request runs in the caller (the event loop thread);
 *   threads   a small pool of worker threads; completions come back to the
 *             loop thread through an eventfd on the event base;
 *   io_uring  liburing; the ring's eventfd on the event base. Falls back to
 *             threads (with a log line) where io_uring cannot be set up.
 *
 * One interface for all three: the caller submits requests, calls
 * blk_io_kick() after a batch, and gets each request back exactly once
 * through cb->complete, always on the loop thread, followed by cb->flush
 * when a batch of completions delivered by the event loop is over. The
 * sync engine completes inside blk_io_submit(), io_uring may complete what
 * finished at once inside blk_io_kick(); neither calls flush then (the
 * caller is running). Requests complete in any order. Only the data copy
 * touches guest memory outside the loop thread.
 */
#ifndef VIRTIOD_BLK_IO_H
#define VIRTIOD_BLK_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio-config.h"

struct event_base;

/* ---- the backing file ---- */

struct blk_backing {
	uint64_t size;	     /* bytes */
	uint32_t block_size; /* logical block size (BLKSSZGET), 512 for files */
	bool is_blockdev;
	bool can_punch; /* fallocate(PUNCH_HOLE | KEEP_SIZE) works */
	bool can_zero;	/* fallocate(ZERO_RANGE | KEEP_SIZE) works */
};

/* Size, block size and, unless readonly, which fallocate modes work, by
 * probes that change nothing the guest can see: beyond EOF with
 * KEEP_SIZE for files (on some filesystems a ZERO_RANGE probe leaves one
 * preallocated block past EOF), sysfs limits and a probe past the end
 * for block devices. -EINVAL for anything but a regular file or a block
 * device, -EBADF if the fd cannot be written and !readonly, or
 * cannot be read. */
int blk_backing_probe(int fd, bool readonly, struct blk_backing *ret);

/* ---- the engines ---- */

enum blk_io_op {
	BLK_IO_READ,
	BLK_IO_WRITE,
	BLK_IO_FLUSH, /* fdatasync */
	BLK_IO_PUNCH, /* fallocate(PUNCH_HOLE | KEEP_SIZE) of [off, off + len) */
	BLK_IO_ZERO,  /* fallocate(ZERO_RANGE | KEEP_SIZE) of [off, off + len) */
};

struct blk_io_req {
	/* set by the caller */
	enum blk_io_op op;
	/* WRITE/PUNCH/ZERO: durable before completion (RWF_DSYNC, or an
	 * fdatasync after the fallocate), for write-through devices */
	bool dsync;
	/* READ/WRITE: the data; the engine may modify the array (to go on
	 * after a short transfer), never the memory it points to except by
	 * the READ itself */
	struct iovec *iov;
	unsigned niov;
	uint64_t off, len; /* file offset, bytes (checked by the caller) */

	/* set by the engine before cb->complete: 0 or -errno. A READ or
	 * WRITE succeeds only if all len bytes were transferred. */
	int result;

	/* engine-private */
	uint64_t done;	  /* bytes transferred so far */
	unsigned pending; /* io_uring submissions not yet completed */
	struct blk_io_req *next;
};

struct blk_io_cb {
	void (*complete)(void *ctx, struct blk_io_req *r);
	void (*flush)(void *ctx);
	void *ctx;
};

struct blk_io;

/* An engine on fd (not owned) for up to `depth` requests in flight.
 * HV_AIO_DEFAULT means blk_io_default_for(fd). io_uring falls back to
 * threads when it cannot be set up; blk_io_kind() tells which one runs. */
int blk_io_create(enum hv_blk_aio kind, int fd, unsigned depth, struct event_base *evbase,
		  const struct blk_io_cb *cb, struct blk_io **ret);
/* Waits for everything in flight (delivering the completions), then
 * frees the engine. */
void blk_io_destroy(struct blk_io *io);

enum hv_blk_aio blk_io_kind(const struct blk_io *io);
/* The engine HV_AIO_DEFAULT resolves to: for an image on a disk (or a
 * block device) io_uring, threads without liburing; */
enum hv_blk_aio blk_io_default(void);
/* for this image: sync if it is a file that lives in memory (tmpfs, ramfs,
 * hugetlbfs), else (a file on a disk, any block device) blk_io_default(). */
enum hv_blk_aio blk_io_default_for(int fd);

/* Takes the request (-EBUSY when `depth` requests are in flight; the
 * caller bounds itself so this does not happen). */
int blk_io_submit(struct blk_io *io, struct blk_io_req *r);
/* End of a batch of submissions (io_uring: one io_uring_submit; may
 * deliver completions, see above). */
void blk_io_kick(struct blk_io *io);
/* Requests submitted and not yet handed to cb->complete. */
unsigned blk_io_inflight(const struct blk_io *io);
/* Blocks until nothing is in flight, delivering completions (cb->complete
 * for each, then cb->flush). Used by reset and drain: requests running in
 * the kernel or a worker are waited for, never abandoned while they may
 * still write into guest memory. */
void blk_io_wait(struct blk_io *io);

/* A test's hold on completions (tests/vdev/test-blk.c), so that a test can
 * order them without betting on timing. A finished request for which
 * hold(ctx, r) is true is parked instead of reaching cb->complete; parked
 * requests are offered to the hook again after every completion, and all
 * are delivered whatever it says once nothing else is in flight, so a hold
 * reorders completions but never loses or stalls one. Called on the loop
 * thread; unset (NULL) outside tests. */
struct blk_io_hold {
	bool (*hold)(void *ctx, const struct blk_io_req *r);
	void *ctx;
};
extern struct blk_io_hold blk_io_test_hold;

#endif
