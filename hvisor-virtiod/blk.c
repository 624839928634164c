// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-blk (VIRTIO 1.2 §5.2) on a raw image file or block device.
 *
 * Every request is checked before any I/O: a 16-byte header, a status
 * byte (the last byte of the writable buffers), data on the side the type
 * requires, a multiple of 512 bytes, sectors inside the capacity with
 * overflow-safe arithmetic, no writes to a read-only device. A bad request
 * is answered with IOERR or UNSUPP; one without a writable byte cannot
 * carry a status and is completed with length 0. Requests run on an I/O
 * engine (blk-io.h), many at once, complete in any order and are pushed
 * in batches with one interrupt per batch.
 *
 * Durability: without VIRTIO_BLK_F_FLUSH negotiated the device is
 * write-through (a write completes once it is durable); with it, writes
 * may stay in the page cache until the driver's FLUSH (fdatasync).
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "blk-io.h"
#include "devices.h"
#include "log.h"
#include "macro.h"

#define BLK_SECTOR    512u
#define BLK_QUEUE_MAX 256u
/* one range per DISCARD/WRITE_ZEROES request (as QEMU): the guest splits */
#define BLK_MAX_SEG 1u
/* sectors per DISCARD/WRITE_ZEROES range: 2 GiB keeps one fallocate short */
#define BLK_MAX_ZERO_SECT (1u << 22)
/* The sync engine runs requests in the event loop thread, where the zone's
 * register accesses are answered too (a trapped vCPU spins until then). So
 * one loop turn takes at most this much, pushes it (the guest can reap and
 * refill meanwhile) and comes back after the loop has looked at the channel. */
#define BLK_TURN_REQS  32u
#define BLK_TURN_BYTES (1u << 20)
/* what the guest may read: up to and including write_zeroes_may_unmap */
#define BLK_CONFIG_SIZE offsetof(struct virtio_blk_config, max_secure_erase_sectors)

struct blk;

/* One request handed to the engine. */
struct blk_req {
	struct blk_io_req io;
	struct blk *b;
	struct virtq_elem *elem;
	uint8_t *status;
	uint32_t in_data;   /* bytes a successful request wrote into the guest */
	struct iovec iov[]; /* the data part of elem's buffers */
};

struct blk {
	struct virtio_dev dev;
	int fd;
	struct blk_backing bk;
	bool readonly;
	uint64_t capacity; /* sectors */
	char serial[VIRTIO_BLK_ID_BYTES];
	struct blk_io *io;

	bool resetting; /* completions are dropped, not pushed */
	bool draining;	/* no new requests */
	bool processing;
	bool turn_limit;       /* the engine runs requests inline (sync) */
	struct event *ev_more; /* the rest of the queue, next loop turn */
};

/* counted as an error when the request completes with its status */
static void blk_complain(struct blk *b, struct virtq_elem *e, const char *what)
{
	virtio_dev_complain(&b->dev, "request %u: %s", e->head, what);
}

/* ---- completion ---- */

/* The request is over: status byte (if it has one), then to the batch
 * to publish. used = bytes written into the guest's writable buffers. */
static void blk_finish(struct blk *b, struct virtq_elem *e, uint8_t *status, uint8_t val,
		       uint32_t used)
{
	if (b->resetting) {
		/* the driver has forgotten the request: touch nothing */
		free(e);
		return;
	}
	if (val != VIRTIO_BLK_S_OK)
		b->dev.n_errors++;
	if (status)
		*status = val;
	virtq_complete(&b->dev.vq[0], e, status ? used : 0);
}

static void blk_io_complete(void *ctx, struct blk_io_req *io)
{
	struct blk_req *r = (struct blk_req *)io;
	struct blk *b = ctx;

	if (io->result < 0 && !b->resetting)
		virtio_dev_complain(&b->dev, "I/O error at offset %" PRIu64 ": %s", io->off,
				    strerror(-io->result));
	if (io->result < 0)
		blk_finish(b, r->elem, r->status, VIRTIO_BLK_S_IOERR, 1);
	else
		blk_finish(b, r->elem, r->status, VIRTIO_BLK_S_OK, r->in_data + 1);
	free(r);
}

static void blk_process(struct blk *b);

static void blk_more_cb(evutil_socket_t fd, short what, void *arg)
{
	blk_process(arg);
}

static void blk_io_flush(void *ctx)
{
	struct blk *b = ctx;

	if (b->resetting)
		return;
	virtio_dev_used(&b->dev, 0);
	/* room in the engine again: take what waited */
	blk_process(b);
}

/* ---- request checks ---- */

/* The status byte: the last byte of the chain's last descriptor, if that
 * is a valid writable buffer. */
static uint8_t *status_byte(const struct virtq_elem *e)
{
	const struct iovec *last;

	if (!e->n_in || !e->last_in)
		return NULL;
	last = &e->in[e->n_in - 1];
	return (uint8_t *)last->iov_base + last->iov_len - 1;
}

/* [sector, sector + n) inside the disk; no multiplication before the
 * bound is known, so nothing can overflow. */
static bool range_ok(const struct blk *b, uint64_t sector, uint64_t n)
{
	return sector <= b->capacity && n <= b->capacity - sector;
}

static void blk_submit(struct blk *b, struct blk_req *r)
{
	if (blk_io_submit(b->io, &r->io) < 0) {
		/* the engine is full: only when the guest disabled the queue
		 * with requests running (they no longer count in vq->inflight,
		 * which is bounded by the engine's depth) */
		blk_finish(b, r->elem, r->status, VIRTIO_BLK_S_IOERR, 1);
		free(r);
	}
}

static struct blk_req *req_new(struct blk *b, struct virtq_elem *e, uint8_t *status, unsigned niov)
{
	struct blk_req *r = calloc(1, sizeof(*r) + niov * sizeof(struct iovec));

	if (!r)
		return NULL;
	r->b = b;
	r->elem = e;
	r->status = status;
	r->io.iov = r->iov;
	return r;
}

/* IN and OUT. Returns a status for an immediate answer, -1 once submitted. */
static int blk_rw(struct blk *b, struct virtq_elem *e, uint8_t *status, bool write, uint64_t sector)
{
	uint64_t len, off;
	size_t skip;
	const struct iovec *src;
	unsigned nsrc;
	struct blk_req *r;

	if (write) {
		/* readable: header + data; writable: only the status */
		if (e->in_len != 1) {
			blk_complain(b, e, "write with writable data buffers");
			return VIRTIO_BLK_S_IOERR;
		}
		if (b->readonly)
			return VIRTIO_BLK_S_IOERR;
		len = e->out_len - sizeof(struct virtio_blk_outhdr);
		src = e->iov;
		nsrc = e->n_out;
		skip = sizeof(struct virtio_blk_outhdr);
	} else {
		/* readable: only the header; writable: data + status */
		if (e->out_len != sizeof(struct virtio_blk_outhdr)) {
			blk_complain(b, e, "read with readable data buffers");
			return VIRTIO_BLK_S_IOERR;
		}
		len = e->in_len - 1;
		src = e->in;
		nsrc = e->n_in;
		skip = 0;
	}
	if (len % BLK_SECTOR) {
		blk_complain(b, e, "data length not a multiple of 512");
		return VIRTIO_BLK_S_IOERR;
	}
	if (!range_ok(b, sector, len / BLK_SECTOR)) {
		blk_complain(b, e, "sectors beyond the capacity");
		return VIRTIO_BLK_S_IOERR;
	}
	if (len == 0)
		return VIRTIO_BLK_S_OK;
	off = sector * BLK_SECTOR; /* <= capacity * 512 <= image size */
	r = req_new(b, e, status, nsrc);
	if (!r)
		return VIRTIO_BLK_S_IOERR;
	r->io.op = write ? BLK_IO_WRITE : BLK_IO_READ;
	r->io.dsync = write && !virtio_dev_has(&b->dev, VIRTIO_BLK_F_FLUSH);
	r->io.niov = iov_slice(src, nsrc, skip, len, r->iov);
	r->io.off = off;
	r->io.len = len;
	r->in_data = write ? 0 : (uint32_t)len;
	blk_submit(b, r);
	return -1;
}

static int blk_get_id(struct blk *b, struct virtq_elem *e, uint8_t *status, uint32_t *ret_used)
{
	/* the id goes into the writable bytes before the status byte */
	uint32_t n = MIN(e->in_len - 1, (uint32_t)VIRTIO_BLK_ID_BYTES);

	if (n == 0) {
		blk_complain(b, e, "GET_ID without a buffer");
		return VIRTIO_BLK_S_IOERR;
	}
	*ret_used = (uint32_t)iov_from_buf(e->in, e->n_in, 0, b->serial, n) + 1;
	return VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES: one struct virtio_blk_discard_write_zeroes
 * after the header. */
static int blk_zero(struct blk *b, struct virtq_elem *e, uint8_t *status, uint32_t type)
{
	bool discard = type == VIRTIO_BLK_T_DISCARD;
	struct virtio_blk_discard_write_zeroes seg;
	uint32_t flags, n, len;
	uint64_t sector;
	struct blk_req *r;

	if (!virtio_dev_has(&b->dev, discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES))
		return VIRTIO_BLK_S_UNSUPP;
	if (b->readonly)
		return VIRTIO_BLK_S_IOERR;
	len = e->out_len - (uint32_t)sizeof(struct virtio_blk_outhdr);
	if (e->in_len != 1 || len == 0 || len % sizeof(seg) || len / sizeof(seg) > BLK_MAX_SEG) {
		blk_complain(b, e, "bad discard/write-zeroes segment list");
		return VIRTIO_BLK_S_IOERR;
	}
	iov_to_buf(e->iov, e->n_out, sizeof(struct virtio_blk_outhdr), &seg, sizeof(seg));
	sector = le64toh(seg.sector);
	n = le32toh(seg.num_sectors);
	flags = le32toh(seg.flags);
	/* unknown flags, and UNMAP on a discard: UNSUPP (§5.2.6.2) */
	if ((flags & ~(uint32_t)VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) || (discard && flags))
		return VIRTIO_BLK_S_UNSUPP;
	if (n > BLK_MAX_ZERO_SECT || !range_ok(b, sector, n)) {
		blk_complain(b, e, "discard/write-zeroes range beyond the limits");
		return VIRTIO_BLK_S_IOERR;
	}
	r = req_new(b, e, status, 0);
	if (!r)
		return VIRTIO_BLK_S_IOERR;
	/* a hole reads as zeroes; WRITE_ZEROES without UNMAP keeps the
	 * space allocated */
	if (discard || ((flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) && b->bk.can_punch))
		r->io.op = BLK_IO_PUNCH;
	else
		r->io.op = BLK_IO_ZERO;
	r->io.dsync = !virtio_dev_has(&b->dev, VIRTIO_BLK_F_FLUSH);
	r->io.off = sector * BLK_SECTOR;
	r->io.len = (uint64_t)n * BLK_SECTOR;
	blk_submit(b, r);
	return -1;
}

static void blk_handle(struct blk *b, struct virtq_elem *e)
{
	uint8_t *status = status_byte(e);
	struct virtio_blk_outhdr hdr;
	uint32_t type, used = 1;
	struct blk_req *r;
	int s;

	if (!status) {
		/* nowhere to say it failed: complete it, count it */
		blk_complain(b, e, "no writable status byte");
		b->dev.n_errors++;
		blk_finish(b, e, NULL, 0, 0);
		return;
	}
	if (e->error) {
		blk_complain(b, e, "malformed descriptor chain");
		blk_finish(b, e, status, VIRTIO_BLK_S_IOERR, 1);
		return;
	}
	if (iov_to_buf(e->iov, e->n_out, 0, &hdr, sizeof(hdr)) < sizeof(hdr)) {
		blk_complain(b, e, "header shorter than 16 bytes");
		blk_finish(b, e, status, VIRTIO_BLK_S_IOERR, 1);
		return;
	}
	type = le32toh(hdr.type);
	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		s = blk_rw(b, e, status, type == VIRTIO_BLK_T_OUT, le64toh(hdr.sector));
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (b->readonly) {
			s = VIRTIO_BLK_S_OK; /* nothing of ours to make durable */
			break;
		}
		r = req_new(b, e, status, 0);
		if (!r) {
			s = VIRTIO_BLK_S_IOERR;
			break;
		}
		r->io.op = BLK_IO_FLUSH;
		blk_submit(b, r);
		s = -1;
		break;
	case VIRTIO_BLK_T_GET_ID:
		s = blk_get_id(b, e, status, &used);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		s = blk_zero(b, e, status, type);
		break;
	default:
		s = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (s >= 0)
		blk_finish(b, e, status, (uint8_t)s, s == VIRTIO_BLK_S_OK ? used : 1);
}

/* ---- the queue ---- */

static bool blk_may_take(struct blk *b)
{
	return !b->resetting && !b->draining && virtio_dev_running(&b->dev) && b->dev.vq[0].ready &&
	       !b->dev.vq[0].broken;
}

/* Hands requests to the engine until the queue is empty, the engine holds
 * as many as the queue has entries or (sync) the turn's budget is spent:
 * 1 when the budget is spent and more waits, 0 otherwise, <0 when the
 * ring failed. */
static int blk_take(struct blk *b, unsigned *n, uint64_t *bytes)
{
	struct virtq *vq = &b->dev.vq[0];

	while (vq->inflight < vq->num) {
		struct virtq_elem *e;
		int r;

		if (b->turn_limit && (*n >= BLK_TURN_REQS || *bytes >= BLK_TURN_BYTES))
			return virtq_has_avail(vq);
		r = virtio_dev_pop(&b->dev, 0, &e);
		if (r <= 0)
			return r;
		(*n)++;
		*bytes += (uint64_t)e->in_len + e->out_len;
		b->dev.n_requests++;
		blk_handle(b, e);
	}
	return 0;
}

/* Takes requests while there are any and room for them; stays deaf to
 * kicks while doing so. When the engine is full, completions bring us
 * back here (blk_io_flush). With the sync engine a turn ends after
 * BLK_TURN_REQS/BLK_TURN_BYTES: kicks stay off and ev_more brings us back
 * once the loop has served what else is waiting. */
static void blk_process(struct blk *b)
{
	struct virtq *vq = &b->dev.vq[0];
	unsigned n = 0;
	uint64_t bytes = 0;

	if (b->processing || !blk_may_take(b))
		return;
	b->processing = true;
	for (;;) {
		int r;
		bool full;

		virtq_disable_notify(vq);
		r = blk_take(b, &n, &bytes);
		full = vq->inflight >= vq->num;
		blk_io_kick(b->io);
		virtio_dev_used(&b->dev, 0);
		if (r < 0)
			break;
		if (r > 0) {
			/* a zero timeout runs after the loop's next poll */
			event_add(b->ev_more, &(struct timeval){0, 0});
			break;
		}
		if (full && vq->inflight >= vq->num)
			break; /* the engine's completions call us again */
		if (!full && !virtq_enable_notify(vq))
			break;
	}
	b->processing = false;
}

/* ---- transport callbacks ---- */

static void blk_driver_ok(struct virtio_dev *d)
{
	blk_process(d->priv); /* requests made available before DRIVER_OK */
}

static void blk_queue_notify(struct virtio_dev *d, unsigned q)
{
	if (q == 0)
		blk_process(d->priv);
}

/* Waits for what the engine runs, then forgets every request taken. */
static void blk_forget_all(struct blk *b)
{
	b->resetting = true;
	blk_io_wait(b->io);
	b->resetting = false;
}

static void blk_reset(struct virtio_dev *d)
{
	blk_forget_all(d->priv);
}

static int blk_drain(struct virtio_dev *d)
{
	struct blk *b = d->priv;

	b->draining = true;
	blk_io_kick(b->io);
	if (blk_io_inflight(b->io))
		return 1; /* completions arrive through the event loop */
	virtio_dev_used(d, 0);
	if (!b->readonly && fdatasync(b->fd) < 0)
		log_warn("%s: fdatasync: %m", d->name);
	return 0;
}

static void blk_resumed(struct virtio_dev *d)
{
	blk_process(d->priv);
}

static void blk_destroy(struct virtio_dev *d)
{
	struct blk *b = d->priv;

	blk_forget_all(b);
	if (b->ev_more)
		event_free(b->ev_more);
	blk_io_destroy(b->io);
	safe_close(b->fd);
	free(b);
}

static void blk_describe(struct virtio_dev *d, struct json_object *obj)
{
	struct blk *b = d->priv;

	json_object_object_add(obj, "engine",
			       json_object_new_string(hv_blk_aio_to_string(blk_io_kind(b->io))));
	json_object_object_add(obj, "readonly", json_object_new_boolean(b->readonly));
	json_object_object_add(obj, "capacity_sectors",
			       json_object_new_int64((int64_t)b->capacity));
	json_object_object_add(
		obj, "discard",
		json_object_new_boolean(!!(d->host_features & (1ull << VIRTIO_BLK_F_DISCARD))));
}

static const struct virtio_dev_ops blk_ops = {
	.name = "blk",
	.driver_ok = blk_driver_ok,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
	.drain = blk_drain,
	.resumed = blk_resumed,
	.destroy = blk_destroy,
	.describe = blk_describe,
};

/* ---- creation ---- */

enum hv_blk_aio blk_default_aio(void)
{
	return blk_io_default();
}

static void blk_fill_config(struct blk *b)
{
	struct virtio_blk_config c = {0};
	uint32_t align = b->bk.block_size / BLK_SECTOR;

	c.capacity = htole64(b->capacity);
	c.seg_max = htole32(BLK_QUEUE_MAX - 2); /* header and status take two */
	c.blk_size = htole32(b->bk.block_size);
	if (!b->bk.is_blockdev)
		align = 4096 / BLK_SECTOR; /* holes come in pages */
	if (b->bk.can_punch && !b->readonly) {
		c.max_discard_sectors = htole32(BLK_MAX_ZERO_SECT);
		c.max_discard_seg = htole32(BLK_MAX_SEG);
		c.discard_sector_alignment = htole32(align);
	}
	if (b->bk.can_zero && !b->readonly) {
		c.max_write_zeroes_sectors = htole32(BLK_MAX_ZERO_SECT);
		c.max_write_zeroes_seg = htole32(BLK_MAX_SEG);
		c.write_zeroes_may_unmap = b->bk.can_punch;
	}
	memcpy(b->dev.config, &c, BLK_CONFIG_SIZE);
}

static uint64_t blk_features(const struct blk *b)
{
	uint64_t f = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
		     (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
		     (1ull << VIRTIO_RING_F_INDIRECT_DESC);

	if (b->readonly)
		f |= 1ull << VIRTIO_BLK_F_RO;
	else {
		if (b->bk.can_punch)
			f |= 1ull << VIRTIO_BLK_F_DISCARD;
		if (b->bk.can_zero)
			f |= 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	}
	return f;
}

int blk_create(const struct vdev_params *p, const struct blk_params *bp, struct virtio_dev **ret)
{
	_cleanup_close_ int fd = bp->fd;
	struct blk_io_cb cb = {.complete = blk_io_complete, .flush = blk_io_flush};
	struct blk_backing bk;
	struct blk *b;
	int r;

	r = blk_backing_probe(fd, bp->readonly, &bk);
	if (r < 0)
		return log_errno(LOG_ERR, r, "blk@0x%" PRIx64 ": image", p->base);
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->bk = bk;
	b->readonly = bp->readonly;
	b->capacity = bk.size / BLK_SECTOR;
	b->fd = -1;
	/* zero-padded to 20 bytes, no NUL when it is 20 long */
	if (bp->serial && bp->serial[0])
		memcpy(b->serial, bp->serial, strnlen(bp->serial, sizeof(b->serial)));
	else {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "hvisor-%" PRIx64, p->base);

		memcpy(b->serial, buf, MIN((size_t)n, sizeof(b->serial)));
	}
	cb.ctx = b;
	r = blk_io_create(bp->aio, fd, BLK_QUEUE_MAX, p->evbase, &cb, &b->io);
	if (r < 0) {
		free(b);
		return log_errno(LOG_ERR, r, "blk@0x%" PRIx64 ": I/O engine", p->base);
	}
	b->turn_limit = blk_io_kind(b->io) == HV_AIO_SYNC;
	b->ev_more = evtimer_new(p->evbase, blk_more_cb, b);
	if (!b->ev_more) {
		blk_io_destroy(b->io);
		free(b);
		return -ENOMEM;
	}
	virtio_dev_init(&b->dev, &blk_ops, b, VIRTIO_ID_BLOCK, p, blk_features(b), 1, BLK_QUEUE_MAX,
			BLK_CONFIG_SIZE);
	blk_fill_config(b);
	b->fd = TAKE_FD(fd);
	log_info("%s: %" PRIu64 " sectors%s, engine %s%s%s", b->dev.name, b->capacity,
		 b->readonly ? ", read-only" : "", hv_blk_aio_to_string(blk_io_kind(b->io)),
		 bk.can_punch && !b->readonly ? ", discard" : "",
		 bk.can_zero && !b->readonly ? ", write-zeroes" : "");
	*ret = &b->dev;
	return 0;
}
