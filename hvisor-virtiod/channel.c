// SPDX-License-Identifier: GPL-2.0-only
/*
 * The zone channel: struct hvisor_ioreq records in (a SOCK_SEQPACKET from
 * hvisor-sim, or the fd of hvisor.ko's HVISOR_ZONE_ATTACH: both give whole
 * records per read), struct hvisor_iocomp records out. Every non-posted
 * access is answered, also when no device claims the address (reads 0):
 * the trapping vCPU waits for it. Completions go out at the end of each
 * batch, IRQs raised elsewhere (I/O completions) at the end of that loop
 * turn, so one write carries many records.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "virtiod.h"

/* Records in one write: the sim takes at most 1024 per packet. */
#define CHANNEL_WRITE_RECORDS 256u
/* Up to this many packets of the sim in one call; fewer means none is
 * left, so no read ends in EAGAIN. */
#define CHANNEL_READ_PKTS 8
/* Reads per wake-up (requests come in bursts), then other fds' turn. */
#define CHANNEL_READ_ROUNDS 8

static void queue_out(struct virtiod *v, const struct hvisor_iocomp *c)
{
	if (v->n_out == VIRTIOD_OUT_MAX)
		channel_flush(v);
	if (v->n_out == VIRTIOD_OUT_MAX) {
		/* One completion per vCPU and one IRQ per device can be
		 * pending; this many means the other side stopped reading. */
		log_err("zone channel is not read; dropping a record");
		return;
	}
	v->out[v->n_out++] = *c;
}

void channel_raise_irq(void *ctx, uint32_t irq)
{
	struct virtiod *v = ctx;

	queue_out(v, &(struct hvisor_iocomp){.type = HVISOR_IOCOMP_IRQ, .value = irq});
	/* from an I/O completion: send at the end of this loop turn */
	if (v->ev_flush)
		event_active(v->ev_flush, 0, 0);
}

static void handle(struct virtiod *v, const struct hvisor_ioreq *req)
{
	uint64_t value = 0;
	struct vdev *vd;

	v->n_ioreqs++;
	vd = virtiod_find(v, req->address);
	if (!virtio_mmio_size_ok(req->size))
		/* the hypervisor only traps 1/2/4/8-byte accesses */
		virtio_log_limited(&v->channel_log, LOG_WARNING, "zone channel",
				   "access of %u bytes at 0x%llx ignored", req->size,
				   (unsigned long long)req->address);
	else if (!vd)
		/* no device here: reads 0 (a probing guest sees magic 0) */
		virtio_log_limited(&v->channel_log, LOG_INFO, "zone channel",
				   "no device at 0x%llx (%s)", (unsigned long long)req->address,
				   req->is_write ? "write dropped" : "read as 0");
	else if (req->is_write)
		virtio_mmio_write(vd->dev, req->address - vd->dev->base, req->size, req->value);
	else
		value = virtio_mmio_read(vd->dev, req->address - vd->dev->base, req->size);
	if (!req->is_notify)
		queue_out(v, &(struct hvisor_iocomp){
				     .type = HVISOR_IOCOMP_COMPLETE,
				     .cpu = req->cpu,
				     .id = req->id,
				     .value = value,
			     });
}

void channel_flush(struct virtiod *v)
{
	unsigned done = 0;

	while (done < v->n_out && v->channel_fd >= 0) {
		unsigned n = MIN(v->n_out - done, CHANNEL_WRITE_RECORDS);
		ssize_t k = write(v->channel_fd, v->out + done, n * sizeof(*v->out));

		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				event_add(v->ev_channel_out, NULL);
				break;
			}
			log_errno(LOG_ERR, negative_errno(), "writing to the zone channel");
			done = v->n_out; /* the channel is gone; nothing to answer */
			break;
		}
		done += (unsigned)((size_t)k / sizeof(*v->out));
		if ((size_t)k % sizeof(*v->out)) {
			log_err("short write to the zone channel");
			done = v->n_out;
			break;
		}
	}
	memmove(v->out, v->out + done, (v->n_out - done) * sizeof(*v->out));
	v->n_out -= done;
	if (v->n_out == 0 && v->ev_channel_out)
		event_del(v->ev_channel_out);
}

/* Up to CHANNEL_READ_PKTS packets; returns bytes per packet in len[]. */
static int channel_recv(struct virtiod *v, struct hvisor_ioreq (*bufs)[VIRTIOD_MAX_BATCH],
			size_t *len)
{
	struct mmsghdr mm[CHANNEL_READ_PKTS];
	struct iovec iov[CHANNEL_READ_PKTS];
	int n;

	if (!v->channel_is_socket) {
		/* hvisor.ko: one read returns every record queued (up to the
		 * buffer), so a short read is the end */
		ssize_t k = read(v->channel_fd, bufs[0], sizeof(bufs[0]));

		if (k < 0)
			return negative_errno();
		len[0] = (size_t)k;
		return 1;
	}
	for (int i = 0; i < CHANNEL_READ_PKTS; i++) {
		iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
		mm[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
	}
	n = recvmmsg(v->channel_fd, mm, CHANNEL_READ_PKTS, MSG_DONTWAIT, NULL);
	if (n < 0)
		return negative_errno();
	if (n == 0) {
		len[0] = 0; /* end of file */
		return 1;
	}
	for (int i = 0; i < n; i++)
		len[i] = mm[i].msg_len;
	return n;
}

static void channel_read_cb(evutil_socket_t fd, short what, void *arg)
{
	static struct hvisor_ioreq bufs[CHANNEL_READ_PKTS][VIRTIOD_MAX_BATCH];
	size_t len[CHANNEL_READ_PKTS] = {0};
	struct virtiod *v = arg;

	for (int round = 0; round < CHANNEL_READ_ROUNDS; round++) {
		int n = channel_recv(v, bufs, len);
		bool drained;

		if (n < 0) {
			if (n == -EINTR)
				continue;
			if (n != -EAGAIN) {
				log_errno(LOG_ERR, n, "reading the zone channel");
				virtiod_begin_drain(v, "the zone channel failed");
			}
			break;
		}
		if (len[0] == 0) {
			log_info("zone channel closed (zone %u shut down)", v->zone_id);
			event_del(v->ev_channel);
			virtiod_begin_drain(v, "the zone is gone");
			break;
		}
		drained = v->channel_is_socket ? n < CHANNEL_READ_PKTS : len[0] < sizeof(bufs[0]);
		for (int p = 0; p < n; p++) {
			if (len[p] % sizeof(bufs[p][0]))
				log_warn("zone channel: %zu bytes is not a whole number of records",
					 len[p]);
			for (size_t i = 0; i < len[p] / sizeof(bufs[p][0]); i++)
				handle(v, &bufs[p][i]);
		}
		if (drained)
			break;
	}
	channel_flush(v);
}

static void channel_write_cb(evutil_socket_t fd, short what, void *arg)
{
	channel_flush(arg);
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	channel_flush(arg);
}

void channel_serve(struct virtiod *v)
{
	if (v->ev_channel)
		event_add(v->ev_channel, NULL);
}

int channel_start(struct virtiod *v, int fd, bool serve)
{
	socklen_t sl = sizeof(int);
	int type, r = fd_set_nonblock(fd, true);

	if (r < 0)
		return r;
	v->out = calloc(VIRTIOD_OUT_MAX, sizeof(*v->out));
	v->ev_channel = event_new(v->base, fd, EV_READ | EV_PERSIST, channel_read_cb, v);
	v->ev_channel_out = event_new(v->base, fd, EV_WRITE | EV_PERSIST, channel_write_cb, v);
	v->ev_flush = event_new(v->base, -1, 0, flush_cb, v);
	if (!v->out || !v->ev_channel || !v->ev_channel_out || !v->ev_flush)
		return -ENOMEM;
	v->channel_fd = fd;
	v->channel_is_socket =
		getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) == 0 && type == SOCK_SEQPACKET;
	v->channel_log =
		(struct ratelimit)RATELIMIT_INIT(VIRTIO_LOG_INTERVAL_USEC, VIRTIO_LOG_BURST);
	if (serve)
		channel_serve(v);
	return 0;
}

void channel_stop(struct virtiod *v)
{
	if (v->channel_fd >= 0)
		channel_flush(v);
	if (v->ev_channel)
		event_free(v->ev_channel);
	if (v->ev_channel_out)
		event_free(v->ev_channel_out);
	if (v->ev_flush)
		event_free(v->ev_flush);
	v->ev_channel = v->ev_channel_out = v->ev_flush = NULL;
	free(v->out);
	v->out = NULL;
	v->n_out = 0;
	v->channel_fd = safe_close(v->channel_fd);
}
