// SPDX-License-Identifier: GPL-2.0-only
/* virtio-blk's backing store and the interface to its I/O engines
 * (blk-io.h; each engine in a file of its own, blk-io-engine.h). The
 * engines know nothing about virtio: they move bytes between iovecs and
 * the image and report each request back once, on the loop thread. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <event2/event.h>
#include <linux/magic.h>

#include "blk-io-engine.h"
#include "log.h"
#include "macro.h"

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

/* ---- the engines ---- */

static const struct blk_io_engine *engine_of(enum hv_blk_aio kind)
{
	switch (kind) {
	case HV_AIO_SYNC:
		return &blk_io_sync_engine;
	case HV_AIO_IO_URING:
		if (blk_io_uring_engine)
			return blk_io_uring_engine;
		log_warn("blk: built without liburing; using the threads engine");
		break;
	case HV_AIO_THREADS:
	case HV_AIO_DEFAULT:
		break;
	}
	return &blk_io_threads_engine;
}

/* docs/devices.md §3.2, "Engines", has the figures (tests/bench/blk-engines):
 * on a disk io_uring overlaps reads the others serialise (QD32 cold: 3.9x
 * sync) and keeps up with sync on cached data; on memory-backed images
 * nothing ever waits for a device, and sync is fastest by far (io_uring
 * cannot read tmpfs without a kernel worker). */
enum hv_blk_aio blk_io_default(void)
{
	return blk_io_uring_engine ? HV_AIO_IO_URING : HV_AIO_THREADS;
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
	return io->e->kind;
}

unsigned blk_io_inflight(const struct blk_io *io)
{
	return io->inflight;
}

/* ---- delivery, and the tests' hold on it ---- */

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

void blk_io_deliver(struct blk_io *io, struct blk_io_req *r)
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

/* ---- the interface ---- */

static void on_eventfd(evutil_socket_t fd, short what, void *arg)
{
	struct blk_io *io = arg;
	uint64_t v;

	while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	io->e->reap(io, false);
	if (io->cb.flush)
		io->cb.flush(io->cb.ctx);
}

static void engine_free(struct blk_io *io)
{
	if (io->e->stop)
		io->e->stop(io);
	safe_close(io->efd);
	free(io);
}

/* The engine of that kind, set up; NULL (logged) if it cannot run here. */
static struct blk_io *engine_new(const struct blk_io_engine *e, int fd, unsigned depth,
				 const struct blk_io_cb *cb, int *ret_err)
{
	struct blk_io *io = calloc(1, e->size);
	int r = 0;

	if (!io) {
		*ret_err = -ENOMEM;
		return NULL;
	}
	*io = (struct blk_io){.e = e, .fd = fd, .depth = depth, .cb = *cb, .efd = -1};
	if (e->uses_efd) {
		io->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (io->efd < 0)
			r = negative_errno();
	}
	if (r == 0 && e->start)
		r = e->start(io);
	if (r < 0) {
		engine_free(io);
		*ret_err = r;
		return NULL;
	}
	return io;
}

int blk_io_create(enum hv_blk_aio kind, int fd, unsigned depth, struct event_base *evbase,
		  const struct blk_io_cb *cb, struct blk_io **ret)
{
	const struct blk_io_engine *e;
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
	e = engine_of(kind);
	io = engine_new(e, fd, depth, cb, &r);
	if (!io && e == blk_io_uring_engine) {
		log_warn("blk: io_uring unavailable (%s); using the threads engine", strerror(-r));
		io = engine_new(&blk_io_threads_engine, fd, depth, cb, &r);
	}
	if (!io)
		return r;
	if (io->efd >= 0) {
		io->ev = event_new(evbase, io->efd, EV_READ | EV_PERSIST, on_eventfd, io);
		if (!io->ev || event_add(io->ev, NULL) < 0) {
			blk_io_destroy(io);
			return -ENOMEM;
		}
	}
	*ret = io;
	return 0;
}

void blk_io_destroy(struct blk_io *io)
{
	if (!io)
		return;
	blk_io_wait(io);
	if (io->ev)
		event_free(io->ev);
	engine_free(io);
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
	io->e->submit(io, r);
	return 0;
}

void blk_io_kick(struct blk_io *io)
{
	if (io->e->kick)
		io->e->kick(io);
}

void blk_io_wait(struct blk_io *io)
{
	if (!io->inflight)
		return;
	if (io->e->reap)
		io->e->reap(io, true);
	if (io->cb.flush)
		io->cb.flush(io->cb.ctx);
}
