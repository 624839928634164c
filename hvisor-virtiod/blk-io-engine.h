/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Inside blk-io: what blk-io.c (the interface, the backing file, the
 * test hold) shares with the engines, one file each:
 *   blk-io-sync.c     requests run in the caller; also the blocking
 *                     execution the threads engine uses
 *   blk-io-threads.c  a pool of worker threads
 *   blk-io-uring.c    io_uring (built with liburing only; without it
 *                     blk-io-uring-none.c says there is none)
 */
#ifndef VIRTIOD_BLK_IO_ENGINE_H
#define VIRTIOD_BLK_IO_ENGINE_H

#include "blk-io.h"

struct event;

/* The part of an engine every engine has; an engine's own state follows
 * it (the engine's struct starts with a struct blk_io). */
struct blk_io {
	const struct blk_io_engine *e;
	int fd;
	unsigned depth;
	unsigned inflight; /* submitted, not yet given to cb.complete (loop thread) */
	struct blk_io_cb cb;
	struct blk_io_req *held; /* finished, parked by blk_io_test_hold */
	unsigned n_held;
	struct event *ev; /* on efd: completions are ready */
	int efd;	  /* -1 for an engine that completes in the caller */
};

struct blk_io_engine {
	enum hv_blk_aio kind;
	size_t size;   /* of the engine's struct */
	bool uses_efd; /* completions come back through io->efd */
	/* Optional: sets the engine up (io->fd, depth and efd are set);
	 * <0 if it cannot run here. stop() undoes what start() did, also
	 * after a failed start. */
	int (*start)(struct blk_io *io);
	void (*stop)(struct blk_io *io);
	/* Takes the request (io->inflight already counts it); each comes
	 * back through blk_io_deliver() exactly once. */
	void (*submit)(struct blk_io *io, struct blk_io_req *r);
	/* Optional: end of a batch of submissions. */
	void (*kick)(struct blk_io *io);
	/* Optional: delivers what has finished; wait: until nothing is in
	 * flight. */
	void (*reap)(struct blk_io *io, bool wait);
};

extern const struct blk_io_engine blk_io_sync_engine, blk_io_threads_engine;
/* NULL when built without liburing. */
extern const struct blk_io_engine *const blk_io_uring_engine;

/* A finished request to cb.complete (or parked by the test hold). */
void blk_io_deliver(struct blk_io *io, struct blk_io_req *r);
/* Runs the request in the calling thread: 0 or -errno. */
int blk_io_exec(int fd, struct blk_io_req *r);
/* Drops n transferred bytes from the front of the request's iovec. */
void blk_io_advance(struct blk_io_req *r, uint64_t n);
/* fallocate() mode of a PUNCH or ZERO request. */
int blk_io_falloc_mode(const struct blk_io_req *r);

#endif
