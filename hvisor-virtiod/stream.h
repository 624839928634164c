/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What virtio-net and virtio-console share: a device that moves records
 * between one fd and two queues, queue 0 receiving (fd -> guest) and
 * queue 1 transmitting (guest -> fd), and the lifecycle around them.
 *
 * Back-pressure both ways, nothing dropped by us:
 *  - receive: the fd is read only while the device holds buffers for the
 *    next record (ev_rx is added then, and guest kicks on the queue are
 *    off, since they tell us nothing); otherwise the records wait in the
 *    fd and the device waits for a kick.
 *  - transmit: a request the fd does not take (EAGAIN) stays ours until
 *    the fd is writable; later ones wait behind it, so order is kept and
 *    the guest's ring fills up, which stops its queue.
 * A turn handles at most STREAM_BATCH records per direction, then the
 * loop serves other fds first (fairness). Completions of a turn are
 * published together, with at most one interrupt.
 *
 * The device embeds a struct stream (which embeds its struct virtio_dev),
 * fills in a struct stream_ops and uses the stream_* transport callbacks
 * in its struct virtio_dev_ops.
 */
#ifndef VIRTIOD_STREAM_H
#define VIRTIOD_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "mmio.h"

struct event;
struct event_base;

#define STREAM_RXQ   0
#define STREAM_TXQ   1
#define STREAM_BATCH 64

struct stream;

struct stream_ops {
	/* Buffers for the next record: 1 when they are held, 0 when the guest
	 * has to post more, <0 when the ring failed (virtio_dev_pop). */
	int (*rx_take)(struct stream *s);
	/* One record from the fd into the held buffers: 1 when one was
	 * consumed, 0 when none is waiting, <0 when the fd failed (the device
	 * has dealt with it: link down, hang-up). */
	int (*rx_read)(struct stream *s);
	/* Drops the buffers held, without completing them: they stay the
	 * guest's (reset, drain; a restarted backend takes them again). */
	void (*rx_forget)(struct stream *s);
	/* (The rest of) request e to the fd, from byte s->tx_off: 0 when it is
	 * finished (sent or refused), -EAGAIN when the fd is full (it is kept
	 * until the fd is writable), other <0 to keep it and stop the turn
	 * (the device arranged to go on later). */
	int (*tx_send)(struct stream *s, struct virtq_elem *e);
	/* Optional: may queue q run, beyond the transport's state? */
	bool (*may_run)(struct stream *s, unsigned q);
	/* Optional: DRIVER_OK or a restore, before the first turns. */
	void (*start)(struct stream *s);
};

struct stream {
	struct virtio_dev dev;
	const struct stream_ops *ops;
	int fd;
	bool draining;
	bool rx_armed, tx_blocked;
	struct event *ev_rx;	   /* fd readable; added only while buffers are held */
	struct event *ev_tx;	   /* fd writable; added while tx_cur waits */
	struct event *ev_more;	   /* the transmit turn goes on after a full batch */
	struct virtq_elem *tx_cur; /* the request the fd has not taken all of */
	size_t tx_off;		   /* bytes of tx_cur written */
};

static inline struct stream *stream_of(struct virtio_dev *d)
{
	return (struct stream *)((char *)d - offsetof(struct stream, dev));
}

/* Takes fd (non-blocking from now on) and makes the events. On failure
 * stream_fini() undoes what was done. */
int stream_init(struct stream *s, const struct stream_ops *ops, int fd, struct event_base *base);
/* stream_stop(), frees the events, closes the fd. */
void stream_fini(struct stream *s);
/* Reset: reading and waiting stop, requests taken are forgotten. */
void stream_stop(struct stream *s);

/* A turn of each queue. */
void stream_rx(struct stream *s);
void stream_tx(struct stream *s);
/* Read the fd (on) or not (off). */
void stream_arm_rx(struct stream *s, bool on);

/* struct virtio_dev_ops callbacks. */
void stream_start(struct virtio_dev *d); /* driver_ok and resumed */
void stream_queue_notify(struct virtio_dev *d, unsigned q);
int stream_drain(struct virtio_dev *d);

#endif
