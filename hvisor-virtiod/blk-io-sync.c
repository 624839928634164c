// SPDX-License-Identifier: GPL-2.0-only
/* The sync engine (blk-io.h): every request runs in the caller, the event
 * loop thread. Its blocking execution is the threads engine's too. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/uio.h>
#include <unistd.h>

#include "blk-io-engine.h"
#include "macro.h"

void blk_io_advance(struct blk_io_req *r, uint64_t n)
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

int blk_io_falloc_mode(const struct blk_io_req *r)
{
	return FALLOC_FL_KEEP_SIZE |
	       (r->op == BLK_IO_PUNCH ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE);
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
		blk_io_advance(r, (uint64_t)n);
	}
	if (sync_after && fdatasync(fd) < 0)
		return negative_errno();
	return 0;
}

static int exec_fallocate(int fd, struct blk_io_req *r)
{
	if (r->len && fallocate(fd, blk_io_falloc_mode(r), (off_t)r->off, (off_t)r->len) < 0)
		return negative_errno();
	if (r->dsync && fdatasync(fd) < 0)
		return negative_errno();
	return 0;
}

int blk_io_exec(int fd, struct blk_io_req *r)
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

static void sync_submit(struct blk_io *io, struct blk_io_req *r)
{
	r->result = blk_io_exec(io->fd, r);
	blk_io_deliver(io, r);
}

const struct blk_io_engine blk_io_sync_engine = {
	.kind = HV_AIO_SYNC,
	.size = sizeof(struct blk_io),
	.submit = sync_submit,
};
