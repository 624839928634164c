// SPDX-License-Identifier: GPL-2.0-only
/* virtio-blk's backing store and its I/O engines (blk-io.h). The engines
 * know nothing about virtio: they move bytes between iovecs and the image
 * and report each request back once, on the loop thread. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/event.h>
#include <linux/magic.h>
#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

#include "blk-io.h"
#include "log.h"
#include "macro.h"

/* Worker threads of the threads engine. Two per CPU of the board class we
 * target is plenty for page-cache I/O, and enough to keep a real disk's
 * queue busy for the blocking calls (fdatasync, fallocate). */
#define BLK_IO_THREADS 4

/* ---- the backing file ---- */

/* A fallocate probe: 0 if the mode works, else why not. */
static int probe_fallocate(int fd, int mode, uint64_t off, uint64_t len)
{
	if (off > INT64_MAX - len)
		return -EFBIG;
	return fallocate(fd, mode, (off_t)off, (off_t)len) < 0 ? negative_errno() : 0;
}

/* One unsigned number from a sysfs attribute of the block device (or of
 * the whole disk, for a partition); 0 if it cannot be read. */
static uint64_t sysfs_queue_limit(dev_t rdev, const char *attr)
{
	/* a partition's directory sits inside its disk's */
	static const char *const up[] = {"", "../"};

	for (unsigned i = 0; i < ARRAY_SIZE(up); i++) {
		char path[128], buf[32] = "";
		unsigned long long v;
		FILE *f;

		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%squeue/%s", major(rdev),
			 minor(rdev), up[i], attr);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
		if (sscanf(buf, "%llu", &v) == 1)
			return v;
	}
	return 0;
}

static int probe_blockdev(int fd, const struct stat *st, bool readonly, struct blk_backing *b)
{
	uint64_t size;
	int bs;

	if (ioctl(fd, BLKGETSIZE64, &size) < 0 || ioctl(fd, BLKSSZGET, &bs) < 0)
		return negative_errno();
	if (bs < 512 || bs > 65536 || !IS_POWER_OF_2(bs))
		return -EINVAL;
	b->size = size;
	b->block_size = (uint32_t)bs;
	b->is_blockdev = true;
	if (readonly)
		return 0;
	/* blkdev_fallocate() refuses a start at the end of the device with
	 * EINVAL once it knows the mode, EOPNOTSUPP if it does not: nothing
	 * is written either way. */
	b->can_zero = probe_fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, size,
				      (uint64_t)bs) != -EOPNOTSUPP;
	/* PUNCH_HOLE on a block device is a write-zeroes command that may
	 * unmap and never falls back to writing: only where the device has
	 * one. */
	b->can_punch = probe_fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, size,
				       (uint64_t)bs) != -EOPNOTSUPP &&
		       sysfs_queue_limit(st->st_rdev, "write_zeroes_max_bytes") > 0;
	return 0;
}

static void probe_file(int fd, const struct stat *st, bool readonly, struct blk_backing *b)
{
	b->size = (uint64_t)st->st_size;
	b->block_size = 512;
	if (readonly)
		return;
	/* Beyond EOF with KEEP_SIZE: the image's size and bytes stay as they
	 * are. A punch there is a no-op; a zero range may preallocate a
	 * block past EOF on some filesystems (ext4, xfs), invisible to the
	 * guest. */
	b->can_punch =
		probe_fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, b->size, 4096) == 0;
	b->can_zero =
		probe_fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, b->size, 4096) == 0;
}

int blk_backing_probe(int fd, bool readonly, struct blk_backing *ret)
{
	struct blk_backing b = {0};
	struct stat st;
	int fl, r;

	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fstat(fd, &st) < 0)
		return negative_errno();
	if ((fl & O_ACCMODE) == O_WRONLY || (!readonly && (fl & O_ACCMODE) != O_RDWR))
		return -EBADF;
	if (!readonly && (fl & O_APPEND))
		return -EINVAL; /* pwritev would append, whatever the offset */
	if (S_ISREG(st.st_mode))
		probe_file(fd, &st, readonly, &b);
	else if (S_ISBLK(st.st_mode)) {
		r = probe_blockdev(fd, &st, readonly, &b);
		if (r < 0)
			return r;
	} else
		return -EINVAL;
	if (b.size > INT64_MAX)
		return -EFBIG;
	*ret = b;
	return 0;
}

/* ---- blocking execution (sync and threads engines) ---- */

/* Drops n transferred bytes from the front of the request's iovec. */
static void iov_advance(struct blk_io_req *r, uint64_t n)
{
	while (n && r->niov) {
		if (n < r->iov->iov_len) {
			r->iov->iov_base = (char *)r->iov->iov_base + n;
			r->iov->iov_len -= n;
			return;
		}
		n -= r->iov->iov_len;
		r->iov++;
		r->niov--;
	}
}

static int exec_rw(int fd, struct blk_io_req *r)
{
	int flags = r->op == BLK_IO_WRITE && r->dsync ? RWF_DSYNC : 0;
	bool sync_after = false;

	while (r->done < r->len) {
		off_t off = (off_t)(r->off + r->done);
		ssize_t n;

		if (r->op == BLK_IO_READ)
			n = preadv(fd, r->iov, (int)r->niov, off);
		else
			n = pwritev2(fd, r->iov, (int)r->niov, off, flags);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == EOPNOTSUPP && flags) {
				/* a kernel without RWF_DSYNC (< 4.7) */
				flags = 0;
				sync_after = true;
				continue;
			}
			return negative_errno();
		}
		if (n == 0)
			return -EIO; /* the image shrank under us */
		r->done += (uint64_t)n;
		iov_advance(r, (uint64_t)n);
	}
	if (sync_after && fdatasync(fd) < 0)
		return negative_errno();
	return 0;
}

static int exec_fallocate(int fd, struct blk_io_req *r)
{
	int mode = FALLOC_FL_KEEP_SIZE |
		   (r->op == BLK_IO_PUNCH ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE);

	if (r->len && fallocate(fd, mode, (off_t)r->off, (off_t)r->len) < 0)
		return negative_errno();
	if (r->dsync && fdatasync(fd) < 0)
		return negative_errno();
	return 0;
}

static int exec_req(int fd, struct blk_io_req *r)
{
	switch (r->op) {
	case BLK_IO_READ:
	case BLK_IO_WRITE:
		return exec_rw(fd, r);
	case BLK_IO_FLUSH:
		return fdatasync(fd) < 0 ? negative_errno() : 0;
	case BLK_IO_PUNCH:
	case BLK_IO_ZERO:
		return exec_fallocate(fd, r);
	}
	return -EINVAL;
}

/* ---- the engine object ---- */

struct blk_io {
	enum hv_blk_aio kind;
	int fd;
	unsigned depth;
	unsigned inflight; /* submitted, not yet given to cb.complete (loop thread) */
	struct blk_io_cb cb;
	struct blk_io_req *held; /* finished, parked by blk_io_test_hold */
	unsigned n_held;
	struct event *ev; /* on efd: completions are ready */
	int efd;

	/* threads */
	pthread_t workers[BLK_IO_THREADS];
	unsigned n_workers;
	pthread_mutex_t lock;
	pthread_cond_t work_cond, idle_cond;
	bool lock_init;
	/* under lock: */
	struct blk_io_req *queue_head, **queue_tail; /* waiting for a worker */
	struct blk_io_req *done_head, **done_tail;   /* waiting for the loop */
	unsigned outstanding;			     /* queued or running in a worker */
	bool signalled; /* efd written since the loop last took done_head */
	bool stop;

#ifdef HAVE_LIBURING
	struct io_uring ring;
	bool ring_init;
	unsigned unsubmitted; /* SQEs prepared since the last io_uring_submit */
#endif
};

const char *blk_io_kind_name(enum hv_blk_aio kind)
{
	switch (kind) {
	case HV_AIO_SYNC:
		return "sync";
	case HV_AIO_THREADS:
		return "threads";
	case HV_AIO_IO_URING:
		return "io_uring";
	case HV_AIO_DEFAULT:
		break;
	}
	return "default";
}

/* docs/devices.md §3.2, "Engines", has the figures (tests/bench/blk-engines):
 * on a disk io_uring overlaps reads the others serialise (QD32 cold: 3.9x
 * sync) and keeps up with sync on cached data; on memory-backed images
 * nothing ever waits for a device, and sync is fastest by far (io_uring
 * cannot read tmpfs without a kernel worker). */
enum hv_blk_aio blk_io_default(void)
{
#ifdef HAVE_LIBURING
	return HV_AIO_IO_URING;
#else
	return HV_AIO_THREADS;
#endif
}

enum hv_blk_aio blk_io_default_for(int fd)
{
	struct statfs sfs;
	struct stat st;

	/* a block device's node lives on devtmpfs, its data does not */
	if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode))
		return blk_io_default();
	if (fstatfs(fd, &sfs) == 0 && (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC ||
				       sfs.f_type == HUGETLBFS_MAGIC))
		return HV_AIO_SYNC;
	return blk_io_default();
}

enum hv_blk_aio blk_io_kind(const struct blk_io *io)
{
	return io->kind;
}

unsigned blk_io_inflight(const struct blk_io *io)
{
	return io->inflight;
}

struct blk_io_hold blk_io_test_hold;

static bool test_holds(const struct blk_io_req *r)
{
	return blk_io_test_hold.hold && blk_io_test_hold.hold(blk_io_test_hold.ctx, r);
}

/* The parked requests the hook lets go now (all of them with force). */
static void release_held(struct blk_io *io, bool force)
{
	struct blk_io_req **p = &io->held;

	while (*p) {
		struct blk_io_req *r = *p;

		if (!force && test_holds(r)) {
			p = &r->next;
			continue;
		}
		*p = r->next;
		io->n_held--;
		io->inflight--;
		io->cb.complete(io->cb.ctx, r);
		p = &io->held; /* that completion may have changed the hook's mind */
	}
}

static void deliver(struct blk_io *io, struct blk_io_req *r)
{
	if (test_holds(r)) {
		r->next = io->held;
		io->held = r;
		io->n_held++;
		/* nothing left that could change the hook's mind: never hang */
		if (io->n_held == io->inflight)
			release_held(io, true);
		return;
	}
	io->inflight--;
	io->cb.complete(io->cb.ctx, r);
	if (io->held)
		release_held(io, false);
}

static void drain_eventfd(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

/* ---- threads ---- */

static void *worker_main(void *arg)
{
	struct blk_io *io = arg;

	pthread_mutex_lock(&io->lock);
	for (;;) {
		struct blk_io_req *r;
		bool wake;

		while (!io->queue_head && !io->stop)
			pthread_cond_wait(&io->work_cond, &io->lock);
		if (!io->queue_head)
			break; /* stopping, and nothing is left */
		r = io->queue_head;
		io->queue_head = r->next;
		if (!io->queue_head)
			io->queue_tail = &io->queue_head;
		pthread_mutex_unlock(&io->lock);

		r->result = exec_req(io->fd, r);

		pthread_mutex_lock(&io->lock);
		r->next = NULL;
		*io->done_tail = r;
		io->done_tail = &r->next;
		io->outstanding--;
		/* one eventfd write per batch the loop has not picked up yet */
		wake = !io->signalled;
		io->signalled = true;
		if (!io->outstanding)
			pthread_cond_broadcast(&io->idle_cond);
		if (wake) {
			uint64_t one = 1;

			/* cannot fail short of a counter overflow, which one
			 * write per pickup never reaches */
			while (write(io->efd, &one, sizeof(one)) < 0 && errno == EINTR)
				;
		}
	}
	pthread_mutex_unlock(&io->lock);
	return NULL;
}

/* Hands what the workers finished to cb.complete; wait: until nothing is
 * left with them. */
static void threads_reap(struct blk_io *io, bool wait)
{
	struct blk_io_req *list;

	pthread_mutex_lock(&io->lock);
	while (wait && io->outstanding)
		pthread_cond_wait(&io->idle_cond, &io->lock);
	list = io->done_head;
	io->done_head = NULL;
	io->done_tail = &io->done_head;
	io->signalled = false;
	pthread_mutex_unlock(&io->lock);
	while (list) {
		struct blk_io_req *r = list;

		list = r->next;
		deliver(io, r);
	}
}

static int threads_start(struct blk_io *io)
{
	sigset_t all, old;
	int r = 0;

	pthread_mutex_init(&io->lock, NULL);
	pthread_cond_init(&io->work_cond, NULL);
	pthread_cond_init(&io->idle_cond, NULL);
	io->lock_init = true;
	io->queue_tail = &io->queue_head;
	io->done_tail = &io->done_head;
	/* workers inherit a blocked signal mask: signals are the loop's */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < MIN(io->depth, (unsigned)BLK_IO_THREADS); i++) {
		r = -pthread_create(&io->workers[i], NULL, worker_main, io);
		if (r < 0)
			break;
		io->n_workers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return io->n_workers ? 0 : r;
}

static void threads_stop(struct blk_io *io)
{
	if (!io->lock_init)
		return;
	pthread_mutex_lock(&io->lock);
	io->stop = true;
	pthread_cond_broadcast(&io->work_cond);
	pthread_mutex_unlock(&io->lock);
	for (unsigned i = 0; i < io->n_workers; i++)
		pthread_join(io->workers[i], NULL);
	pthread_cond_destroy(&io->work_cond);
	pthread_cond_destroy(&io->idle_cond);
	pthread_mutex_destroy(&io->lock);
	io->lock_init = false;
}

static void threads_submit(struct blk_io *io, struct blk_io_req *r)
{
	pthread_mutex_lock(&io->lock);
	r->next = NULL;
	*io->queue_tail = r;
	io->queue_tail = &r->next;
	io->outstanding++;
	pthread_cond_signal(&io->work_cond);
	pthread_mutex_unlock(&io->lock);
}

/* ---- io_uring ---- */

#ifdef HAVE_LIBURING
static struct io_uring_sqe *uring_sqe(struct blk_io *io)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);

	if (!sqe) {
		/* the SQ ring is sized for every request in flight; a full
		 * one only means prepared entries wait for a submit */
		io_uring_submit(&io->ring);
		io->unsubmitted = 0;
		sqe = io_uring_get_sqe(&io->ring);
	}
	if (sqe)
		io->unsubmitted++;
	return sqe;
}

/* Queues the (rest of the) request; false if no SQE could be had. */
static bool uring_prep(struct blk_io *io, struct blk_io_req *r)
{
	struct io_uring_sqe *sqe = uring_sqe(io), *sync;
	int mode;

	if (!sqe)
		return false;
	r->pending = 1;
	switch (r->op) {
	case BLK_IO_READ:
		io_uring_prep_readv(sqe, io->fd, r->iov, r->niov, r->off + r->done);
		break;
	case BLK_IO_WRITE:
		io_uring_prep_writev(sqe, io->fd, r->iov, r->niov, r->off + r->done);
		if (r->dsync)
			sqe->rw_flags = RWF_DSYNC;
		break;
	case BLK_IO_FLUSH:
		io_uring_prep_fsync(sqe, io->fd, IORING_FSYNC_DATASYNC);
		break;
	case BLK_IO_PUNCH:
	case BLK_IO_ZERO:
		mode = FALLOC_FL_KEEP_SIZE |
		       (r->op == BLK_IO_PUNCH ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE);
		if (r->len == 0) /* fallocate refuses a zero length; only the sync */
			io_uring_prep_nop(sqe);
		else
			io_uring_prep_fallocate(sqe, io->fd, mode, (off_t)r->off, (off_t)r->len);
		if (!r->dsync)
			break;
		/* write-through: the fdatasync runs after the fallocate
		 * (and is cancelled if it fails) */
		sync = uring_sqe(io);
		if (!sync) {
			io_uring_prep_nop(sqe);
			io_uring_sqe_set_data(sqe, NULL); /* answered and ignored */
			return false;
		}
		sqe->flags |= IOSQE_IO_LINK;
		io_uring_prep_fsync(sync, io->fd, IORING_FSYNC_DATASYNC);
		io_uring_sqe_set_data(sync, r);
		r->pending = 2;
		break;
	}
	io_uring_sqe_set_data(sqe, r);
	return true;
}

/* One CQE of request r; true when r is finished. */
static bool uring_cqe(struct blk_io *io, struct blk_io_req *r, int res)
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
		iov_advance(r, (uint64_t)res);
	}
	if (r->result || r->done >= r->len)
		return true;
	/* short transfer: go on with the rest */
	if (!uring_prep(io, r)) {
		r->result = -EAGAIN;
		return true;
	}
	return false;
}

static void uring_reap(struct blk_io *io)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(&io->ring, &cqe) == 0) {
		struct blk_io_req *r = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&io->ring, cqe);
		if (r && uring_cqe(io, r, res))
			deliver(io, r);
	}
	/* short transfers may have queued more */
	if (io->unsubmitted) {
		io_uring_submit(&io->ring);
		io->unsubmitted = 0;
	}
}

static int uring_start(struct blk_io *io)
{
	static const int ops[] = {IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
				  IORING_OP_FALLOCATE, IORING_OP_NOP};
	struct io_uring_probe *probe;
	int r;

	/* room for every request's SQEs (a fallocate and its sync) */
	r = io_uring_queue_init(2 * io->depth, &io->ring, 0);
	if (r < 0)
		return r;
	io->ring_init = true;
	probe = io_uring_get_probe_ring(&io->ring);
	if (!probe)
		return -EOPNOTSUPP;
	for (unsigned i = 0; i < ARRAY_SIZE(ops); i++) {
		if (!io_uring_opcode_supported(probe, ops[i])) {
			io_uring_free_probe(probe);
			return -EOPNOTSUPP;
		}
	}
	io_uring_free_probe(probe);
	return io_uring_register_eventfd(&io->ring, io->efd);
}

static void uring_stop(struct blk_io *io)
{
	if (!io->ring_init)
		return;
	io_uring_queue_exit(&io->ring);
	io->ring_init = false;
}
#endif

/* ---- the interface ---- */

static void on_eventfd(evutil_socket_t fd, short what, void *arg)
{
	struct blk_io *io = arg;

	drain_eventfd(fd);
#ifdef HAVE_LIBURING
	if (io->kind == HV_AIO_IO_URING)
		uring_reap(io);
	else
#endif
		threads_reap(io, false);
	if (io->cb.flush)
		io->cb.flush(io->cb.ctx);
}

static int start_engine(struct blk_io *io, enum hv_blk_aio kind)
{
	io->kind = kind;
	if (kind == HV_AIO_SYNC)
		return 0;
#ifdef HAVE_LIBURING
	if (kind == HV_AIO_IO_URING) {
		int r = uring_start(io);

		if (r >= 0)
			return 0;
		uring_stop(io);
		log_warn("blk: io_uring unavailable (%s); using the threads engine", strerror(-r));
	}
#else
	if (kind == HV_AIO_IO_URING)
		log_warn("blk: built without liburing; using the threads engine");
#endif
	io->kind = HV_AIO_THREADS;
	return threads_start(io);
}

int blk_io_create(enum hv_blk_aio kind, int fd, unsigned depth, struct event_base *evbase,
		  const struct blk_io_cb *cb, struct blk_io **ret)
{
	struct blk_io *io;
	int r;

	if (depth == 0 || !cb->complete)
		return -EINVAL;
	if (kind == HV_AIO_DEFAULT)
		kind = blk_io_default_for(fd);
	if (!evbase && kind != HV_AIO_SYNC) {
		log_warn("blk: no event loop; using the sync engine");
		kind = HV_AIO_SYNC;
	}
	io = calloc(1, sizeof(*io));
	if (!io)
		return -ENOMEM;
	io->fd = fd;
	io->depth = depth;
	io->cb = *cb;
	io->efd = -1;
	if (kind != HV_AIO_SYNC) {
		io->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (io->efd < 0) {
			r = negative_errno();
			goto fail;
		}
	}
	r = start_engine(io, kind);
	if (r < 0)
		goto fail;
	if (io->efd >= 0) {
		io->ev = event_new(evbase, io->efd, EV_READ | EV_PERSIST, on_eventfd, io);
		if (!io->ev || event_add(io->ev, NULL) < 0) {
			r = -ENOMEM;
			goto fail;
		}
	}
	*ret = io;
	return 0;

fail:
	blk_io_destroy(io);
	return r;
}

void blk_io_destroy(struct blk_io *io)
{
	if (!io)
		return;
	blk_io_wait(io);
	if (io->ev)
		event_free(io->ev);
	threads_stop(io);
#ifdef HAVE_LIBURING
	uring_stop(io);
#endif
	safe_close(io->efd);
	free(io);
}

int blk_io_submit(struct blk_io *io, struct blk_io_req *r)
{
	if (io->inflight >= io->depth)
		return -EBUSY;
	r->result = 0;
	r->done = 0;
	r->pending = 0;
	r->next = NULL;
	io->inflight++;
	switch (io->kind) {
	case HV_AIO_THREADS:
		threads_submit(io, r);
		return 0;
#ifdef HAVE_LIBURING
	case HV_AIO_IO_URING:
		if (!uring_prep(io, r)) {
			r->result = -EAGAIN;
			deliver(io, r);
		}
		return 0;
#endif
	default:
		r->result = exec_req(io->fd, r);
		deliver(io, r);
		return 0;
	}
}

void blk_io_kick(struct blk_io *io)
{
#ifdef HAVE_LIBURING
	if (io->kind == HV_AIO_IO_URING && io->unsubmitted) {
		io_uring_submit(&io->ring);
		io->unsubmitted = 0;
		/* what the kernel finished during the submit (cached reads):
		 * now, not one event loop round trip later */
		uring_reap(io);
	}
#else
	(void)io;
#endif
}

void blk_io_wait(struct blk_io *io)
{
	if (!io->inflight)
		return;
	switch (io->kind) {
	case HV_AIO_THREADS:
		threads_reap(io, true);
		break;
#ifdef HAVE_LIBURING
	case HV_AIO_IO_URING:
		while (io->inflight) {
			int r = io_uring_submit_and_wait(&io->ring, 1);

			io->unsubmitted = 0;
			if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
				/* cannot happen with a working ring; do not spin */
				log_err("blk: io_uring wait: %s", strerror(-r));
				break;
			}
			uring_reap(io);
		}
		break;
#endif
	default:
		break;
	}
	if (io->cb.flush)
		io->cb.flush(io->cb.ctx);
}
