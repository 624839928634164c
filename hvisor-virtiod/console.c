// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-console (VIRTIO 1.2 §5.3) on a pty master hvisord opened: one
 * port, no MULTIPORT. Queue 0 (receiveq) carries pty -> guest, queue 1
 * (transmitq) guest -> pty.
 *
 * Back-pressure both ways, no byte dropped by us:
 *  - pty -> guest: the master is read only while a receive buffer is
 *    posted; otherwise the bytes stay in the pty and its writer blocks.
 *  - guest -> pty: a transmit request is completed only once all its
 *    bytes are in the pty; when the pty is full we keep the rest and wait
 *    for EV_WRITE, so the guest can have no more in flight than its queue
 *    holds.
 * The only exception is the emergency write register (one character the
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
#include "log.h"
#include "macro.h"
#include "util.h"

#define CON_RXQ		 0
#define CON_TXQ		 1
#define CON_QUEUE_MAX	 64
#define CON_BATCH	 64 /* requests per turn, then other fds get a turn */
#define CON_CONFIG_SIZE	 sizeof(struct virtio_console_config)
#define CON_EMERG_OFF	 offsetof(struct virtio_console_config, emerg_wr)
#define CON_HUP_RETRY_MS 1000

#define BIT(b) (UINT64_C(1) << (b))

struct console {
	struct virtio_dev dev;
	int fd;
	uint16_t cols, rows;
	bool draining;
	bool hung_up; /* no slave: polled by ev_retry instead of the fd events */

	struct event *ev_rx;	/* master readable; added while a buffer waits */
	struct event *ev_tx;	/* master writable; added while bytes wait */
	struct event *ev_more;	/* a turn continues after a full batch */
	struct event *ev_retry; /* hang-up: look again later */
	bool rx_armed, tx_blocked;

	/* A receive buffer taken from the ring and not filled yet: kept, so
	 * avail_event matches what we consumed. */
	struct virtq_elem *rx_cur;
	/* The transmit request being written, and how much of it is out. */
	struct virtq_elem *tx_cur;
	size_t tx_off;

	struct virtq_elem *done[CON_BATCH + 1];
	uint32_t done_len[CON_BATCH + 1];
	unsigned n_done;

	uint64_t rx_bytes, tx_bytes, emerg_bytes, emerg_dropped;
};

static void con_rx(struct console *c);
static void con_tx(struct console *c);

/* ---- completions ------------------------------------------------------ */

static void done_flush(struct console *c, unsigned q)
{
	bool any = c->n_done > 0;

	virtq_push_batch(&c->dev.vq[q], c->done, c->done_len, c->n_done);
	for (unsigned i = 0; i < c->n_done; i++)
		free(c->done[i]);
	c->n_done = 0;
	if (any)
		virtio_dev_used(&c->dev, q);
}

static void done_add(struct console *c, unsigned q, struct virtq_elem *e, uint32_t len)
{
	if (c->n_done == ARRAY_SIZE(c->done))
		done_flush(c, q); /* not reached: a turn completes <= CON_BATCH + 1 */
	c->done[c->n_done] = e;
	c->done_len[c->n_done++] = len;
	c->dev.n_requests++;
}

static int pop(struct console *c, unsigned q, struct virtq_elem **e)
{
	int r = virtq_pop(&c->dev.vq[q], e);

	if (r == -EFAULT)
		virtio_dev_fail(&c->dev, q == CON_RXQ ? "receiveq corrupt" : "transmitq corrupt");
	else if (r < 0)
		log_warn("%s: cannot take a request: %s", c->dev.name, strerror(-r));
	return r;
}

static bool queue_may_run(struct console *c, unsigned q)
{
	const struct virtq *vq = &c->dev.vq[q];

	return virtio_dev_running(&c->dev) && vq->ready && !vq->broken;
}

/* ---- hang-up ---------------------------------------------------------- */

static bool pty_hung_up(struct console *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

static void rx_arm(struct console *c, bool on)
{
	if (on == c->rx_armed)
		return;
	if (on) {
		if (event_add(c->ev_rx, NULL) < 0)
			return;
		virtq_disable_notify(&c->dev.vq[CON_RXQ]);
	} else
		event_del(c->ev_rx);
	c->rx_armed = on;
}

/* Nobody holds the slave: the master reports POLLHUP all the time, so stop
 * watching it and look again later. Nothing is dropped meanwhile. */
static void con_hung_up(struct console *c)
{
	struct timeval tv = {CON_HUP_RETRY_MS / 1000, (CON_HUP_RETRY_MS % 1000) * 1000};

	if (!c->hung_up)
		log_info("%s: pty has no reader/writer; waiting for one", c->dev.name);
	c->hung_up = true;
	rx_arm(c, false);
	event_del(c->ev_tx);
	c->tx_blocked = false;
	evtimer_add(c->ev_retry, &tv);
}

/* ---- receiveq: pty -> guest ----------------------------------------- */

/* 1: bytes went into rx_cur, 0: none waiting, <0: the pty failed. */
static int rx_read(struct console *c)
{
	ssize_t r;

	do
		r = readv(c->fd, c->rx_cur->in, c->rx_cur->n_in);
	while (r < 0 && errno == EINTR);
	if (r > 0) {
		c->rx_bytes += (uint64_t)r;
		done_add(c, CON_RXQ, TAKE_PTR(c->rx_cur), (uint32_t)r);
		return 1;
	}
	if (r < 0 && errno == EAGAIN)
		return 0;
	return r == 0 ? -EIO : negative_errno(); /* EIO: the slave is closed */
}

static void con_rx(struct console *c)
{
	unsigned n = 0;
	int r;

	if (!queue_may_run(c, CON_RXQ) || c->draining || c->hung_up) {
		rx_arm(c, false);
		return;
	}
	while (n < CON_BATCH) {
		if (!c->rx_cur) {
			r = pop(c, CON_RXQ, &c->rx_cur);
			if (r < 0) {
				rx_arm(c, false);
				break;
			}
			if (r == 0) {
				/* no buffer: the bytes wait in the pty */
				rx_arm(c, false);
				if (virtq_enable_notify(&c->dev.vq[CON_RXQ]))
					continue;
				break;
			}
			if (c->rx_cur->error || c->rx_cur->n_out || !c->rx_cur->n_in) {
				virtio_dev_error(&c->dev,
						 "receive buffer unusable (error %d, %u readable)",
						 c->rx_cur->error, c->rx_cur->n_out);
				done_add(c, CON_RXQ, TAKE_PTR(c->rx_cur), 0);
				n++;
				continue;
			}
		}
		r = rx_read(c);
		if (r == 0) {
			rx_arm(c, true);
			break;
		}
		if (r < 0) {
			con_hung_up(c);
			break;
		}
		n++;
	}
	if (n == CON_BATCH) /* more may wait: continue after other fds */
		event_active(c->ev_more, EV_TIMEOUT, 0);
	done_flush(c, CON_RXQ);
}

/* ---- transmitq: guest -> pty ---------------------------------------- */

/* One writev of what is left of tx_cur: bytes written, or -errno. */
static ssize_t tx_write_once(struct console *c)
{
	const struct virtq_elem *e = c->tx_cur;
	struct iovec iov[VIRTQ_MAX_CHAIN];
	unsigned i = 0, cnt = 0;
	size_t skip = c->tx_off;
	ssize_t r;

	while (i < e->n_out && skip >= e->iov[i].iov_len)
		skip -= e->iov[i++].iov_len;
	for (; i < e->n_out; i++, skip = 0)
		iov[cnt++] =
			(struct iovec){(char *)e->iov[i].iov_base + skip, e->iov[i].iov_len - skip};
	do
		r = writev(c->fd, iov, (int)cnt);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return negative_errno();
	return r == 0 ? -EAGAIN : r;
}

/* Writes what is left of tx_cur. 0: all of it, -EAGAIN: the pty is full,
 * other -errno: the pty failed. */
static int tx_write(struct console *c)
{
	while (c->tx_off < c->tx_cur->out_len) {
		ssize_t r = tx_write_once(c);

		if (r < 0)
			return (int)r;
		c->tx_off += (size_t)r;
		c->tx_bytes += (uint64_t)r;
	}
	return 0;
}

static void con_tx(struct console *c)
{
	struct virtq *vq = &c->dev.vq[CON_TXQ];
	unsigned n = 0;
	int r;

	if (c->tx_blocked || c->hung_up || !queue_may_run(c, CON_TXQ))
		return;
	virtq_disable_notify(vq);
	for (;;) {
		if (!c->tx_cur) {
			if (c->draining)
				break; /* finish what was taken, take nothing new */
			if (n == CON_BATCH) {
				event_active(c->ev_more, EV_TIMEOUT, 0);
				break;
			}
			r = pop(c, CON_TXQ, &c->tx_cur);
			if (r < 0)
				break;
			if (r == 0) {
				if (!virtq_enable_notify(vq))
					break;
				virtq_disable_notify(vq);
				continue;
			}
			c->tx_off = 0;
			if (c->tx_cur->error) {
				virtio_dev_error(&c->dev, "transmit request unusable (error %d)",
						 c->tx_cur->error);
				done_add(c, CON_TXQ, TAKE_PTR(c->tx_cur), 0);
				n++;
				continue;
			}
		}
		r = tx_write(c);
		if (r == -EAGAIN) {
			/* a full pty without a slave would report POLLHUP as
			 * writable forever */
			if (pty_hung_up(c))
				con_hung_up(c);
			else if (event_add(c->ev_tx, NULL) == 0)
				c->tx_blocked = true;
			break;
		}
		if (r < 0) {
			con_hung_up(c); /* keep the bytes; write them later */
			break;
		}
		done_add(c, CON_TXQ, TAKE_PTR(c->tx_cur), 0);
		n++;
	}
	done_flush(c, CON_TXQ);
}

/* ---- events ----------------------------------------------------------- */

static void on_rx(evutil_socket_t fd, short what, void *arg)
{
	con_rx(arg);
}

static void on_tx(evutil_socket_t fd, short what, void *arg)
{
	struct console *c = arg;

	c->tx_blocked = false;
	con_tx(c);
}

static void on_more(evutil_socket_t fd, short what, void *arg)
{
	con_rx(arg);
	con_tx(arg);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct console *c = arg;

	c->hung_up = false;
	con_rx(c);
	con_tx(c);
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
	if (write(c->fd, &ch, 1) == 1)
		c->emerg_bytes++;
	else
		c->emerg_dropped++;
	/* not stored: emerg_wr reads back as 0 */
	return -EPERM;
}

static void con_start(struct console *c)
{
	con_rx(c);
	con_tx(c);
}

static void con_driver_ok(struct virtio_dev *d)
{
	con_start(d->priv);
}

static void con_queue_notify(struct virtio_dev *d, unsigned q)
{
	struct console *c = d->priv;

	if (q == CON_RXQ)
		con_rx(c);
	else if (q == CON_TXQ)
		con_tx(c);
}

static void con_stop(struct console *c)
{
	rx_arm(c, false);
	event_del(c->ev_tx);
	event_del(c->ev_more);
	event_del(c->ev_retry);
	c->tx_blocked = false;
	c->hung_up = false;
	free(TAKE_PTR(c->rx_cur));
	free(TAKE_PTR(c->tx_cur));
	for (unsigned i = 0; i < c->n_done; i++)
		free(c->done[i]);
	c->n_done = 0;
}

static void con_reset(struct virtio_dev *d)
{
	con_stop(d->priv);
}

static int con_drain(struct virtio_dev *d)
{
	struct console *c = d->priv;

	if (!c->draining) {
		c->draining = true;
		rx_arm(c, false);
		event_del(c->ev_more);
		/* an empty receive buffer stays the guest's */
		free(TAKE_PTR(c->rx_cur));
	}
	if (!c->tx_cur)
		return 0;
	if (!queue_may_run(c, CON_TXQ)) {
		free(TAKE_PTR(c->tx_cur));
		return 0;
	}
	con_tx(c); /* what the pty did not take yet */
	return c->tx_cur ? 1 : 0;
}

static void con_resumed(struct virtio_dev *d)
{
	con_start(d->priv);
}

static void con_destroy(struct virtio_dev *d)
{
	struct console *c = d->priv;

	con_stop(c);
	event_free(c->ev_rx);
	event_free(c->ev_tx);
	event_free(c->ev_more);
	event_free(c->ev_retry);
	safe_close(c->fd);
	free(c);
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
	.driver_ok = con_driver_ok,
	.queue_notify = con_queue_notify,
	.reset = con_reset,
	.drain = con_drain,
	.resumed = con_resumed,
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

	memcpy(c->dev.config, &cfg, sizeof(cfg));
}

int console_create(const struct vdev_params *p, const struct console_params *cp,
		   struct virtio_dev **ret)
{
	_cleanup_close_ int fd = cp->pty_fd;
	struct console *c;
	int r;

	if (fd < 0 || !p->evbase)
		return -EINVAL;
	r = fd_set_nonblock(fd, true);
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->cols = cp->cols ? cp->cols : 80;
	c->rows = cp->rows ? cp->rows : 25;
	c->ev_rx = event_new(p->evbase, fd, EV_READ | EV_PERSIST, on_rx, c);
	c->ev_tx = event_new(p->evbase, fd, EV_WRITE, on_tx, c);
	c->ev_more = event_new(p->evbase, -1, 0, on_more, c);
	c->ev_retry = evtimer_new(p->evbase, on_retry, c);
	if (!c->ev_rx || !c->ev_tx || !c->ev_more || !c->ev_retry) {
		if (c->ev_rx)
			event_free(c->ev_rx);
		if (c->ev_tx)
			event_free(c->ev_tx);
		if (c->ev_more)
			event_free(c->ev_more);
		if (c->ev_retry)
			event_free(c->ev_retry);
		free(c);
		return -ENOMEM;
	}
	virtio_dev_init(&c->dev, &con_ops, c, VIRTIO_ID_CONSOLE, p,
			BIT(VIRTIO_CONSOLE_F_SIZE) | BIT(VIRTIO_CONSOLE_F_EMERG_WRITE) |
				BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC),
			2, CON_QUEUE_MAX, CON_CONFIG_SIZE);
	con_fill_config(c);
	TAKE_FD(fd);
	*ret = &c->dev;
	return 0;
}
