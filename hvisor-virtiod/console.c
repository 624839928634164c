// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-console (VIRTIO 1.2 §5.3) on a pty master hvisord opened: one
 * port, no MULTIPORT. Queue 0 (receiveq) carries pty -> guest, queue 1
 * (transmitq) guest -> pty, with stream.h's back-pressure both ways:
 *  - pty -> guest: the master is read only while a receive buffer is
 *    posted; otherwise the bytes stay in the pty and its writer blocks.
 *  - guest -> pty: a transmit request is completed only once all its
 *    bytes are in the pty; when the pty is full we keep the rest and wait
 *    for EV_WRITE, so the guest can have no more in flight than its queue
 *    holds.
 * No byte is dropped by us. The only exception is the emergency write register (one character the
 * driver writes into config space, with no queue to wait in): when the
 * pty is full that character is dropped and counted.
 *
 * hvisord keeps the slave open, so the master never reports a hang-up in
 * normal operation. If it does (nobody holds the slave), the master is
 * polled once a second instead of spinning on POLLHUP.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#include "devices.h"
#include "stream.h"
#include "log.h"
#include "macro.h"
#include "util.h"

#define CON_QUEUE_MAX	  64
#define CON_CONFIG_SIZE	  sizeof(struct virtio_console_config)
#define CON_EMERG_OFF	  offsetof(struct virtio_console_config, emerg_wr)
#define CON_HUP_RETRY_SEC 1

#define BIT(b) (UINT64_C(1) << (b))

struct console {
	struct stream s;
	uint16_t cols, rows;
	bool hung_up;		/* no slave: polled by ev_retry instead of the fd events */
	struct event *ev_retry; /* hang-up: look again later */
	/* A receive buffer taken from the ring and not filled yet: kept, so
	 * avail_event matches what we consumed. */
	struct virtq_elem *rx_cur;

	uint64_t rx_bytes, tx_bytes, emerg_bytes, emerg_dropped;
};

static struct console *to_console(struct stream *s)
{
	return (struct console *)s; /* s is the first member */
}

/* ---- hang-up ---------------------------------------------------------- */

static bool pty_hung_up(struct console *c)
{
	struct pollfd p = {.fd = c->s.fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

/* Nobody holds the slave: the master reports POLLHUP all the time, so stop
 * watching it and look again later. Nothing is dropped meanwhile. */
static void con_hung_up(struct console *c)
{
	struct timeval tv = {.tv_sec = CON_HUP_RETRY_SEC};

	if (!c->hung_up)
		log_info("%s: pty has no reader/writer; waiting for one", c->s.dev.name);
	c->hung_up = true;
	stream_arm_rx(&c->s, false);
	event_del(c->s.ev_tx);
	c->s.tx_blocked = false;
	evtimer_add(c->ev_retry, &tv);
}

static bool con_may_run(struct stream *s, unsigned q)
{
	return !to_console(s)->hung_up;
}

/* ---- receiveq: pty -> guest ----------------------------------------- */

static int con_rx_take(struct stream *s)
{
	struct console *c = to_console(s);

	while (!c->rx_cur) {
		struct virtq_elem *e;
		int r = virtio_dev_pop(&s->dev, STREAM_RXQ, &e);

		if (r <= 0)
			return r;
		if (!e->error && !e->n_out && e->n_in) {
			c->rx_cur = e;
			break;
		}
		virtio_dev_error(&s->dev, "receive buffer unusable (error %d, %u readable)",
				 e->error, e->n_out);
		virtq_complete(&s->dev.vq[STREAM_RXQ], e, 0);
	}
	return 1;
}

static int con_rx_read(struct stream *s)
{
	struct console *c = to_console(s);
	ssize_t r;

	do
		r = readv(s->fd, c->rx_cur->in, c->rx_cur->n_in);
	while (r < 0 && errno == EINTR);
	if (r > 0) {
		c->rx_bytes += (uint64_t)r;
		s->dev.n_requests++;
		virtq_complete(&s->dev.vq[STREAM_RXQ], TAKE_PTR(c->rx_cur), (uint32_t)r);
		return 1;
	}
	if (r < 0 && errno == EAGAIN)
		return 0;
	/* EIO (or end of file): the slave is closed */
	con_hung_up(c);
	return -EIO;
}

static void con_rx_forget(struct stream *s)
{
	free(TAKE_PTR(to_console(s)->rx_cur));
}

/* ---- transmitq: guest -> pty ---------------------------------------- */

/* One writev of what is left of e: bytes written, or -errno. */
static ssize_t tx_write_once(struct stream *s, const struct virtq_elem *e)
{
	struct iovec iov[VIRTQ_MAX_CHAIN];
	unsigned cnt = iov_slice(e->iov, e->n_out, s->tx_off, SIZE_MAX, iov);
	ssize_t r;

	do
		r = writev(s->fd, iov, (int)cnt);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return negative_errno();
	return r == 0 ? -EAGAIN : r;
}

/* A request is completed only once all its bytes are in the pty. */
static int con_tx_send(struct stream *s, struct virtq_elem *e)
{
	struct console *c = to_console(s);

	if (e->error) {
		virtio_dev_error(&s->dev, "transmit request unusable (error %d)", e->error);
		return 0;
	}
	while (s->tx_off < e->out_len) {
		ssize_t r = tx_write_once(s, e);

		/* a full pty without a slave would report POLLHUP as
		 * writable forever */
		if (r == -EAGAIN && !pty_hung_up(c))
			return -EAGAIN;
		if (r < 0) {
			con_hung_up(c); /* keep the bytes; write them later */
			return -EPIPE;
		}
		s->tx_off += (size_t)r;
		c->tx_bytes += (uint64_t)r;
	}
	return 0;
}

static const struct stream_ops con_stream_ops = {
	.rx_take = con_rx_take,
	.rx_read = con_rx_read,
	.rx_forget = con_rx_forget,
	.tx_send = con_tx_send,
	.may_run = con_may_run,
};

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct console *c = arg;

	c->hung_up = false;
	stream_rx(&c->s);
	stream_tx(&c->s);
}

/* ---- transport callbacks -------------------------------------------- */

/* Only emerg_wr is writable: its low byte goes to the pty at once. */
static int con_config_write(struct virtio_dev *d, uint32_t off, const void *val, uint32_t len)
{
	struct console *c = d->priv;
	uint8_t ch;

	/* usable at any time, even before negotiation (§5.3.6): it is for
	 * early boot and for a guest whose rings are broken */
	if (off != CON_EMERG_OFF)
		return -EPERM;
	memcpy(&ch, val, 1); /* little-endian: the character is the first byte */
	/* a full pty: there is nowhere to keep the character */
	if (write(c->s.fd, &ch, 1) == 1)
		c->emerg_bytes++;
	else
		c->emerg_dropped++;
	/* not stored: emerg_wr reads back as 0 */
	return -EPERM;
}

static void con_reset(struct virtio_dev *d)
{
	struct console *c = d->priv;

	stream_stop(&c->s);
	event_del(c->ev_retry);
	c->hung_up = false;
}

static void con_free(struct console *c)
{
	if (c->ev_retry)
		event_free(c->ev_retry);
	stream_fini(&c->s);
	free(c);
}

static void con_destroy(struct virtio_dev *d)
{
	con_free(d->priv);
}

static void con_describe(struct virtio_dev *d, struct json_object *obj)
{
	struct console *c = d->priv;

	json_object_object_add(obj, "cols", json_object_new_int(c->cols));
	json_object_object_add(obj, "rows", json_object_new_int(c->rows));
	json_object_object_add(obj, "rx_bytes", json_object_new_uint64(c->rx_bytes));
	json_object_object_add(obj, "tx_bytes", json_object_new_uint64(c->tx_bytes));
	json_object_object_add(obj, "emerg_dropped", json_object_new_uint64(c->emerg_dropped));
}

static const struct virtio_dev_ops con_ops = {
	.name = "console",
	.config_write = con_config_write,
	.driver_ok = stream_start,
	.queue_notify = stream_queue_notify,
	.reset = con_reset,
	.drain = stream_drain,
	.resumed = stream_start,
	.destroy = con_destroy,
	.describe = con_describe,
};

static void con_fill_config(struct console *c)
{
	struct virtio_console_config cfg = {
		.cols = htole16(c->cols),
		.rows = htole16(c->rows),
		.max_nr_ports = htole32(1),
		.emerg_wr = 0,
	};

	memcpy(c->s.dev.config, &cfg, sizeof(cfg));
}

int console_create(const struct vdev_params *p, const struct console_params *cp,
		   struct virtio_dev **ret)
{
	struct console *c;
	int r;

	if (cp->pty_fd < 0 || !p->evbase) {
		safe_close(cp->pty_fd);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		safe_close(cp->pty_fd);
		return -ENOMEM;
	}
	r = stream_init(&c->s, &con_stream_ops, cp->pty_fd, p->evbase);
	c->ev_retry = evtimer_new(p->evbase, on_retry, c);
	if (r == 0 && !c->ev_retry)
		r = -ENOMEM;
	if (r < 0) {
		con_free(c);
		return r;
	}
	c->cols = cp->cols ? cp->cols : 80;
	c->rows = cp->rows ? cp->rows : 25;
	virtio_dev_init(&c->s.dev, &con_ops, c, VIRTIO_ID_CONSOLE, p,
			BIT(VIRTIO_CONSOLE_F_SIZE) | BIT(VIRTIO_CONSOLE_F_EMERG_WRITE) |
				BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC),
			2, CON_QUEUE_MAX, CON_CONFIG_SIZE);
	con_fill_config(c);
	*ret = &c->s.dev;
	return 0;
}
