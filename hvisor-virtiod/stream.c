// SPDX-License-Identifier: GPL-2.0-only
/* The receive and transmit turns and the lifecycle of a device on one fd
 * (stream.h): virtio-net and virtio-console. */
#include <errno.h>
#include <stdlib.h>

#include <event2/event.h>

#include "macro.h"
#include "stream.h"
#include "util.h"

static bool may_run(struct stream *s, unsigned q)
{
	const struct virtq *vq = &s->dev.vq[q];

	return virtio_dev_running(&s->dev) && vq->ready && !vq->broken &&
	       (!s->ops->may_run || s->ops->may_run(s, q));
}

void stream_arm_rx(struct stream *s, bool on)
{
	if (on == s->rx_armed)
		return;
	if (on) {
		if (event_add(s->ev_rx, NULL) < 0)
			return;
		/* buffers are held: kicks on the receive queue tell us nothing */
		virtq_disable_notify(&s->dev.vq[STREAM_RXQ]);
	} else
		event_del(s->ev_rx);
	s->rx_armed = on;
}

void stream_rx(struct stream *s)
{
	struct virtq *vq = &s->dev.vq[STREAM_RXQ];
	unsigned n = 0;
	int r;

	if (s->draining || !may_run(s, STREAM_RXQ)) {
		stream_arm_rx(s, false);
		return;
	}
	while (n < STREAM_BATCH) {
		r = s->ops->rx_take(s);
		if (r <= 0) {
			/* no buffers: the records wait in the fd until the
			 * guest posts more (it kicks; we ask it to) */
			stream_arm_rx(s, false);
			if (r == 0 && virtq_enable_notify(vq))
				continue;
			break;
		}
		r = s->ops->rx_read(s);
		if (r == 0) {
			stream_arm_rx(s, true);
			break;
		}
		if (r < 0)
			break;
		n++;
	}
	/* a full batch: more may wait; the persistent event brings us back */
	if (n == STREAM_BATCH && may_run(s, STREAM_RXQ))
		stream_arm_rx(s, true);
	virtio_dev_used(&s->dev, STREAM_RXQ);
}

/* The next request to send, in s->tx_cur: 1, or 0 when the turn ends. */
static int tx_next(struct stream *s, unsigned n)
{
	struct virtq *vq = &s->dev.vq[STREAM_TXQ];
	int r;

	if (s->draining)
		return 0; /* finish what was taken, take nothing new */
	if (n == STREAM_BATCH) {
		event_active(s->ev_more, EV_TIMEOUT, 0);
		return 0;
	}
	while ((r = virtio_dev_pop(&s->dev, STREAM_TXQ, &s->tx_cur)) == 0) {
		if (!virtq_enable_notify(vq))
			return 0;
		virtq_disable_notify(vq);
	}
	s->tx_off = 0;
	return r > 0;
}

void stream_tx(struct stream *s)
{
	struct virtq *vq = &s->dev.vq[STREAM_TXQ];
	unsigned n = 0;
	int r;

	if (s->tx_blocked || !may_run(s, STREAM_TXQ))
		return;
	virtq_disable_notify(vq);
	while (s->tx_cur || tx_next(s, n) > 0) {
		r = s->ops->tx_send(s, s->tx_cur);
		if (r == -EAGAIN) {
			if (event_add(s->ev_tx, NULL) == 0)
				s->tx_blocked = true;
			break;
		}
		if (r < 0)
			break;
		virtq_complete(vq, TAKE_PTR(s->tx_cur), 0);
		s->dev.n_requests++;
		n++;
	}
	virtio_dev_used(&s->dev, STREAM_TXQ);
}

static void on_rx(evutil_socket_t fd, short what, void *arg)
{
	stream_rx(arg);
}

static void on_tx(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;

	s->tx_blocked = false;
	stream_tx(s);
}

int stream_init(struct stream *s, const struct stream_ops *ops, int fd, struct event_base *base)
{
	int r = fd_set_nonblock(fd, true);

	s->ops = ops;
	s->fd = fd;
	if (r < 0)
		return r;
	s->ev_rx = event_new(base, fd, EV_READ | EV_PERSIST, on_rx, s);
	s->ev_tx = event_new(base, fd, EV_WRITE, on_tx, s);
	s->ev_more = event_new(base, -1, 0, on_tx, s);
	return s->ev_rx && s->ev_tx && s->ev_more ? 0 : -ENOMEM;
}

void stream_stop(struct stream *s)
{
	if (s->ev_rx)
		stream_arm_rx(s, false);
	if (s->ev_tx)
		event_del(s->ev_tx);
	if (s->ev_more)
		event_del(s->ev_more);
	s->tx_blocked = false;
	/* taken, never completed: the guest has forgotten them, or a
	 * restarted backend takes them again (virtq_resume) */
	s->ops->rx_forget(s);
	free(TAKE_PTR(s->tx_cur));
}

void stream_fini(struct stream *s)
{
	stream_stop(s);
	if (s->ev_rx)
		event_free(s->ev_rx);
	if (s->ev_tx)
		event_free(s->ev_tx);
	if (s->ev_more)
		event_free(s->ev_more);
	s->ev_rx = s->ev_tx = s->ev_more = NULL;
	s->fd = safe_close(s->fd);
}

void stream_start(struct virtio_dev *d)
{
	struct stream *s = stream_of(d);

	if (s->ops->start)
		s->ops->start(s);
	stream_rx(s);
	stream_tx(s);
}

void stream_queue_notify(struct virtio_dev *d, unsigned q)
{
	struct stream *s = stream_of(d);

	if (q == STREAM_RXQ)
		stream_rx(s);
	else if (q == STREAM_TXQ)
		stream_tx(s);
}

int stream_drain(struct virtio_dev *d)
{
	struct stream *s = stream_of(d);
	const struct virtq *vq = &d->vq[STREAM_TXQ];

	if (!s->draining) {
		s->draining = true;
		stream_arm_rx(s, false);
		event_del(s->ev_more);
		s->ops->rx_forget(s); /* buffers without a record stay the guest's */
	}
	if (!s->tx_cur)
		return 0;
	if (!virtio_dev_running(d) || !vq->ready || vq->broken) {
		free(TAKE_PTR(s->tx_cur));
		return 0;
	}
	stream_tx(s); /* what the fd did not take yet */
	return s->tx_cur ? 1 : 0;
}
