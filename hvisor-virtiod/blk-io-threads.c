// SPDX-License-Identifier: GPL-2.0-only
/* The threads engine (blk-io.h): a small pool of worker threads runs the
 * requests (blk_io_exec); what they finish comes back to the loop thread
 * through the eventfd. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

#include "blk-io-engine.h"
#include "macro.h"

/* Two per CPU of the board class we target is plenty for page-cache I/O,
 * and enough to keep a real disk's queue busy for the blocking calls
 * (fdatasync, fallocate). */
#define BLK_IO_THREADS 4

struct threads {
	struct blk_io io;
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
};

static struct threads *to_threads(struct blk_io *io)
{
	return (struct threads *)io; /* io is the first member */
}

/* A finished request to the loop; called with the lock held. */
static void worker_done(struct threads *t, struct blk_io_req *r)
{
	bool wake;

	r->next = NULL;
	*t->done_tail = r;
	t->done_tail = &r->next;
	t->outstanding--;
	/* one eventfd write per batch the loop has not picked up yet */
	wake = !t->signalled;
	t->signalled = true;
	if (!t->outstanding)
		pthread_cond_broadcast(&t->idle_cond);
	if (wake) {
		uint64_t one = 1;

		/* cannot fail short of a counter overflow, which one write
		 * per pickup never reaches */
		while (write(t->io.efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
}

static void *worker_main(void *arg)
{
	struct threads *t = arg;

	pthread_mutex_lock(&t->lock);
	for (;;) {
		struct blk_io_req *r;

		while (!t->queue_head && !t->stop)
			pthread_cond_wait(&t->work_cond, &t->lock);
		if (!t->queue_head)
			break; /* stopping, and nothing is left */
		r = t->queue_head;
		t->queue_head = r->next;
		if (!t->queue_head)
			t->queue_tail = &t->queue_head;
		pthread_mutex_unlock(&t->lock);

		r->result = blk_io_exec(t->io.fd, r);

		pthread_mutex_lock(&t->lock);
		worker_done(t, r);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

/* Hands what the workers finished to cb.complete; wait: until nothing is
 * left with them. */
static void threads_reap(struct blk_io *io, bool wait)
{
	struct threads *t = to_threads(io);
	struct blk_io_req *list;

	pthread_mutex_lock(&t->lock);
	while (wait && t->outstanding)
		pthread_cond_wait(&t->idle_cond, &t->lock);
	list = t->done_head;
	t->done_head = NULL;
	t->done_tail = &t->done_head;
	t->signalled = false;
	pthread_mutex_unlock(&t->lock);
	while (list) {
		struct blk_io_req *r = list;

		list = r->next;
		blk_io_deliver(io, r);
	}
}

static int threads_start(struct blk_io *io)
{
	struct threads *t = to_threads(io);
	sigset_t all, old;
	int r = 0;

	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->work_cond, NULL);
	pthread_cond_init(&t->idle_cond, NULL);
	t->lock_init = true;
	t->queue_tail = &t->queue_head;
	t->done_tail = &t->done_head;
	/* workers inherit a blocked signal mask: signals are the loop's */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < MIN(io->depth, (unsigned)BLK_IO_THREADS); i++) {
		r = -pthread_create(&t->workers[i], NULL, worker_main, t);
		if (r < 0)
			break;
		t->n_workers++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return t->n_workers ? 0 : r;
}

static void threads_stop(struct blk_io *io)
{
	struct threads *t = to_threads(io);

	if (!t->lock_init)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_broadcast(&t->work_cond);
	pthread_mutex_unlock(&t->lock);
	for (unsigned i = 0; i < t->n_workers; i++)
		pthread_join(t->workers[i], NULL);
	pthread_cond_destroy(&t->work_cond);
	pthread_cond_destroy(&t->idle_cond);
	pthread_mutex_destroy(&t->lock);
	t->lock_init = false;
}

static void threads_submit(struct blk_io *io, struct blk_io_req *r)
{
	struct threads *t = to_threads(io);

	pthread_mutex_lock(&t->lock);
	*t->queue_tail = r;
	t->queue_tail = &r->next;
	t->outstanding++;
	pthread_cond_signal(&t->work_cond);
	pthread_mutex_unlock(&t->lock);
}

const struct blk_io_engine blk_io_threads_engine = {
	.kind = HV_AIO_THREADS,
	.size = sizeof(struct threads),
	.uses_efd = true,
	.start = threads_start,
	.stop = threads_stop,
	.submit = threads_submit,
	.reap = threads_reap,
};
