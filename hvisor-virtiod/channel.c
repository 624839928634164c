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
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "virtiod.h"

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
}

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
	unsigned size = req->size;
	uint64_t value = 0;
	struct vdev *vd;

	v->n_ioreqs++;
	vd = virtiod_find(v, req->address);
	if (size != 1 && size != 2 && size != 4 && size != 8) {
		/* the hypervisor only traps 1/2/4/8-byte accesses */
		if (v->n_unclaimed++ < 16)
			log_warn("access of %u bytes at 0x%llx ignored", size,
				 (unsigned long long)req->address);
	} else if (!vd) {
		/* no device here: reads 0 (a probing guest sees magic 0) */
		if (v->n_unclaimed++ < 16)
			log_info("no device at 0x%llx (%s)", (unsigned long long)req->address,
				 req->is_write ? "write dropped" : "read as 0");
	} else if (req->is_write)
		virtio_mmio_write(vd->dev, req->address - vd->dev->base, size,
				  req->value & size_mask(size));
	else
		value = virtio_mmio_read(vd->dev, req->address - vd->dev->base, size) &
			size_mask(size);
	if (!req->is_notify)
		queue_out(v, &(struct hvisor_iocomp){
				     .type = HVISOR_IOCOMP_COMPLETE,
				     .cpu = req->cpu,
				     .id = req->id,
				     .value = req->is_write ? 0 : value,
			     });
}

void channel_flush(struct virtiod *v)
{
	unsigned done = 0;

	while (done < v->n_out && v->channel_fd >= 0) {
		/* the sim takes at most 1024 records per packet */
		unsigned n = MIN(v->n_out - done, 256u);
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

static void channel_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hvisor_ioreq reqs[VIRTIOD_MAX_BATCH];
	struct virtiod *v = arg;

	/* a few reads per wake-up: requests come in bursts */
	for (int round = 0; round < 8; round++) {
		ssize_t k = read(fd, reqs, sizeof(reqs));

		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				log_errno(LOG_ERR, negative_errno(), "reading the zone channel");
			if (errno != EAGAIN)
				virtiod_begin_drain(v, "the zone channel failed");
			break;
		}
		if (k == 0) {
			log_info("zone channel closed (zone %u shut down)", v->zone_id);
			event_del(v->ev_channel);
			virtiod_begin_drain(v, "the zone is gone");
			break;
		}
		if ((size_t)k % sizeof(reqs[0]))
			log_warn("zone channel: %zd bytes is not a whole number of records", k);
		for (size_t i = 0; i < (size_t)k / sizeof(reqs[0]); i++)
			handle(v, &reqs[i]);
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

int channel_start(struct virtiod *v, int fd)
{
	int r = fd_set_nonblock(fd, true);

	if (r < 0)
		return r;
	v->out = calloc(VIRTIOD_OUT_MAX, sizeof(*v->out));
	v->ev_channel = event_new(v->base, fd, EV_READ | EV_PERSIST, channel_read_cb, v);
	v->ev_channel_out = event_new(v->base, fd, EV_WRITE | EV_PERSIST, channel_write_cb, v);
	v->ev_flush = event_new(v->base, -1, 0, flush_cb, v);
	if (!v->out || !v->ev_channel || !v->ev_channel_out || !v->ev_flush)
		return -ENOMEM;
	v->channel_fd = fd;
	event_add(v->ev_channel, NULL);
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
