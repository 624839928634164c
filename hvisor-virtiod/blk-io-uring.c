// SPDX-License-Identifier: GPL-2.0-only
/* The io_uring engine (blk-io.h), built with liburing only: requests are
 * prepared as SQEs, submitted once per batch (blk_io_kick), and their
 * CQEs reaped when the ring's eventfd fires. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <liburing.h>

#include "blk-io-engine.h"
#include "log.h"
#include "macro.h"

struct uring {
	struct blk_io io;
	struct io_uring ring;
	bool ring_init;
	unsigned unsubmitted; /* SQEs prepared since the last io_uring_submit */
};

static struct uring *to_uring(struct blk_io *io)
{
	return (struct uring *)io; /* io is the first member */
}

static void submit_prepared(struct uring *u)
{
	io_uring_submit(&u->ring);
	u->unsubmitted = 0;
}

static struct io_uring_sqe *get_sqe(struct uring *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		/* the SQ ring is sized for every request in flight; a full
		 * one only means prepared entries wait for a submit */
		submit_prepared(u);
		sqe = io_uring_get_sqe(&u->ring);
	}
	if (sqe)
		u->unsubmitted++;
	return sqe;
}

/* PUNCH/ZERO, and for a write-through device the fdatasync after it
 * (cancelled if the fallocate fails). */
static bool prep_fallocate(struct uring *u, struct blk_io_req *r, struct io_uring_sqe *sqe)
{
	struct io_uring_sqe *sync;

	if (r->len == 0) /* fallocate refuses a zero length; only the sync */
		io_uring_prep_nop(sqe);
	else
		io_uring_prep_fallocate(sqe, u->io.fd, blk_io_falloc_mode(r), (off_t)r->off,
					(off_t)r->len);
	io_uring_sqe_set_data(sqe, r);
	if (!r->dsync)
		return true;
	sync = get_sqe(u);
	if (!sync) {
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data(sqe, NULL); /* answered and ignored */
		return false;
	}
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_prep_fsync(sync, u->io.fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data(sync, r);
	r->pending = 2;
	return true;
}

/* Queues the (rest of the) request; false if no SQE could be had. */
static bool prep(struct uring *u, struct blk_io_req *r)
{
	struct io_uring_sqe *sqe = get_sqe(u);

	if (!sqe)
		return false;
	r->pending = 1;
	switch (r->op) {
	case BLK_IO_READ:
		io_uring_prep_readv(sqe, u->io.fd, r->iov, r->niov, r->off + r->done);
		break;
	case BLK_IO_WRITE:
		io_uring_prep_writev(sqe, u->io.fd, r->iov, r->niov, r->off + r->done);
		if (r->dsync)
			sqe->rw_flags = RWF_DSYNC;
		break;
	case BLK_IO_FLUSH:
		io_uring_prep_fsync(sqe, u->io.fd, IORING_FSYNC_DATASYNC);
		break;
	case BLK_IO_PUNCH:
	case BLK_IO_ZERO:
		return prep_fallocate(u, r, sqe);
	}
	io_uring_sqe_set_data(sqe, r);
	return true;
}

/* One CQE of request r; true when r is finished. */
static bool on_cqe(struct uring *u, struct blk_io_req *r, int res)
{
	if (res < 0 && res != -ECANCELED && !r->result)
		r->result = res;
	else if (res == -ECANCELED && !r->result)
		r->result = -EIO; /* a linked sync after a failure we saw first */
	if (--r->pending)
		return false;
	if ((r->op != BLK_IO_READ && r->op != BLK_IO_WRITE) || r->result)
		return true;
	if (res == 0)
		r->result = -EIO; /* EOF: the image shrank under us */
	else {
		r->done += (uint64_t)res;
		blk_io_advance(r, (uint64_t)res);
	}
	if (r->result || r->done >= r->len)
		return true;
	/* short transfer: go on with the rest */
	if (!prep(u, r)) {
		r->result = -EAGAIN;
		return true;
	}
	return false;
}

static void reap_ready(struct uring *u)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		struct blk_io_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&u->ring, cqe);
		if (r && on_cqe(u, r, res))
			blk_io_deliver(&u->io, r);
	}
	/* short transfers may have queued more */
	if (u->unsubmitted)
		submit_prepared(u);
}

static void uring_reap(struct blk_io *io, bool wait)
{
	struct uring *u = to_uring(io);

	if (!wait) {
		reap_ready(u);
		return;
	}
	while (io->inflight) {
		int r = io_uring_submit_and_wait(&u->ring, 1);

		u->unsubmitted = 0;
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			/* cannot happen with a working ring; do not spin */
			log_err("blk: io_uring wait: %s", strerror(-r));
			break;
		}
		reap_ready(u);
	}
}

static void uring_submit(struct blk_io *io, struct blk_io_req *r)
{
	if (!prep(to_uring(io), r)) {
		r->result = -EAGAIN;
		blk_io_deliver(io, r);
	}
}

static void uring_kick(struct blk_io *io)
{
	struct uring *u = to_uring(io);

	if (!u->unsubmitted)
		return;
	submit_prepared(u);
	/* what the kernel finished during the submit (cached reads): now,
	 * not one event loop round trip later */
	reap_ready(u);
}

static int uring_start(struct blk_io *io)
{
	static const int ops[] = {IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
				  IORING_OP_FALLOCATE, IORING_OP_NOP};
	struct uring *u = to_uring(io);
	struct io_uring_probe *probe;
	bool all = true;
	int r;

	/* room for every request's SQEs (a fallocate and its sync) */
	r = io_uring_queue_init(2 * io->depth, &u->ring, 0);
	if (r < 0)
		return r;
	u->ring_init = true;
	probe = io_uring_get_probe_ring(&u->ring);
	if (!probe)
		return -EOPNOTSUPP;
	for (unsigned i = 0; i < ARRAY_SIZE(ops); i++)
		all = all && io_uring_opcode_supported(probe, ops[i]);
	io_uring_free_probe(probe);
	if (!all)
		return -EOPNOTSUPP;
	return io_uring_register_eventfd(&u->ring, io->efd);
}

static void uring_stop(struct blk_io *io)
{
	struct uring *u = to_uring(io);

	if (!u->ring_init)
		return;
	io_uring_queue_exit(&u->ring);
	u->ring_init = false;
}

static const struct blk_io_engine uring_engine = {
	.kind = HV_AIO_IO_URING,
	.size = sizeof(struct uring),
	.uses_efd = true,
	.start = uring_start,
	.stop = uring_stop,
	.submit = uring_submit,
	.kick = uring_kick,
	.reap = uring_reap,
};

const struct blk_io_engine *const blk_io_uring_engine = &uring_engine;
