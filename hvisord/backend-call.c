// SPDX-License-Identifier: GPL-2.0-only
/*
 * Calls on a zone's hvisor-virtiod, never blocking hvisord: queued per
 * backend, one in flight, the reply read when the control socket is
 * readable. Each call has its own deadline; one that misses it fails that
 * call only, the connection is dropped (a late reply must not be taken for
 * the next call's) and made again, and the backend counts as not answering
 * until a probe is answered: calls to it fail at once meanwhile instead of
 * each waiting out its deadline. Every callback runs from the event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "virtio.h"

#define CALL_TIMEOUT_MSEC 5000
#define PROBE_MSEC	  1000
#define CALL_MAX_FDS	  3

struct bcall {
	TAILQ_ENTRY(bcall) entry;
	char method[64];
	json_object *params; /* NULL for a waiter */
	int fds[CALL_MAX_FDS];
	size_t n_fds;
	backend_done_fn done;
	void *arg;
	/* the outcome */
	json_object *reply;
	char *error;
};

static void bcall_free(struct bcall *b)
{
	json_object_put(b->params);
	json_object_put(b->reply);
	close_many(b->fds, b->n_fds);
	free(b->error);
	free(b);
}

/* b's outcome: its callback runs from the event loop. */
static void complete(struct zvirt *zv, struct bcall *b, json_object *reply, const char *error)
{
	b->reply = reply;
	b->error = error ? strdup(error) : NULL;
	if (error && !b->error)
		b->error = strdup("out of memory");
	TAILQ_INSERT_TAIL(&zv->done, b, entry);
	event_active(zv->ev_done, 0, 0);
}

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zvirt *zv = arg;
	TAILQ_HEAD(, bcall) run = TAILQ_HEAD_INITIALIZER(run);
	struct bcall *b;

	/* callbacks may queue calls or let zv go: take this batch first */
	TAILQ_CONCAT(&run, &zv->done, entry);
	zv->callbacks_running++;
	while ((b = TAILQ_FIRST(&run))) {
		TAILQ_REMOVE(&run, b, entry);
		if (b->done)
			b->done(zv, b->reply, b->error ? b->error : NULL, b->arg);
		bcall_free(b);
	}
	zv->callbacks_running--;
	zvirt_release(zv);
}

static struct bcall *bcall_new(const char *method, json_object *params, const int *fds,
			       size_t n_fds, backend_done_fn done, void *arg)
{
	struct bcall *b = calloc(1, sizeof(*b));

	if (!b) {
		json_object_put(params);
		return NULL;
	}
	snprintf(b->method, sizeof(b->method), "%s", method ? method : "");
	b->params = params;
	b->done = done;
	b->arg = arg;
	for (size_t i = 0; i < n_fds && i < CALL_MAX_FDS; i++) {
		/* ours until sent; the caller keeps its own */
		b->fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
		if (b->fds[i] < 0) {
			b->n_fds = i;
			bcall_free(b);
			return NULL;
		}
		b->n_fds = i + 1;
	}
	return b;
}

static void send_next(struct zvirt *zv)
{
	struct timeval tv = timeval_from_ms(CALL_TIMEOUT_MSEC);
	struct bcall *b = TAILQ_FIRST(&zv->calls);
	json_object *msg;
	const char *s;
	size_t len;
	ssize_t k;

	if (zv->in_flight || !b || zv->ctl_fd < 0)
		return;
	msg = vl_call_new(b->method, json_object_get(b->params), false);
	s = vl_message_serialize(msg, &len);
	k = send_with_fds(zv->ctl_fd, s, len, b->fds, b->n_fds, MSG_DONTWAIT);
	json_object_put(msg);
	if (k < 0) {
		char err[160];

		snprintf(err, sizeof(err), "hvisor-virtiod of zone %u: cannot send %s: %s",
			 zv->zone_id, b->method, strerror((int)-k));
		TAILQ_REMOVE(&zv->calls, b, entry);
		complete(zv, b, NULL, err);
		send_next(zv);
		return;
	}
	close_many(b->fds, b->n_fds); /* the backend has them now */
	b->n_fds = 0;
	zv->in_flight = true;
	evtimer_add(zv->ev_call_timeout, &tv);
}

void backend_call(struct zvirt *zv, const char *method, json_object *params, const int *fds,
		  size_t n_fds, backend_done_fn done, void *arg)
{
	struct bcall *b = bcall_new(method, params ? params : json_object_new_object(), fds, n_fds,
				    done, arg);
	char why[160];

	if (!b) {
		log_err("zone %u: cannot queue %s: out of memory", zv->zone_id, method);
		return;
	}
	if (!backend_answering(zv, why, sizeof(why))) {
		complete(zv, b, NULL, why);
		return;
	}
	if (zv->ctl_fd < 0 && ((zv->state != BACKEND_RUNNING && zv->state != BACKEND_STARTING) ||
			       backend_reconnect(zv) < 0)) {
		snprintf(why, sizeof(why), "hvisor-virtiod of zone %u is %s%s", zv->zone_id,
			 backend_state_name(zv->state),
			 zv->pid > 0 ? " and cannot be reached" : "");
		complete(zv, b, NULL, why);
		return;
	}
	TAILQ_INSERT_TAIL(&zv->calls, b, entry);
	send_next(zv);
}

void backend_add_device(struct zvirt *zv, struct vdevice *dev, backend_done_fn done, void *arg)
{
	json_object *params = json_object_new_object();

	json_object_object_add(params, "slot", json_object_new_int((int)dev->slot));
	json_object_object_add(params, "device", hv_virtio_device_to_json(&dev->spec));
	json_object_object_add(params, "restore", json_object_new_boolean(dev->served));
	/* the guest's setup is restored from the slot by the next backend */
	dev->served = true;
	backend_call(zv, HV_VIRTIOD_ADD_DEVICE, params, &dev->fd, 1, done, arg);
}

void backend_wait(struct zvirt *zv, backend_done_fn done, void *arg)
{
	struct bcall *b = bcall_new(NULL, NULL, NULL, 0, done, arg);

	if (b)
		TAILQ_INSERT_TAIL(&zv->waiters, b, entry);
}

void backend_complete(struct zvirt *zv, backend_done_fn done, void *arg, const char *error)
{
	struct bcall *b;

	if (!done)
		return;
	b = bcall_new(NULL, NULL, NULL, 0, done, arg);
	if (b)
		complete(zv, b, NULL, error);
}

void backend_settle(struct zvirt *zv, const char *error)
{
	struct bcall *b;

	while ((b = TAILQ_FIRST(&zv->waiters))) {
		TAILQ_REMOVE(&zv->waiters, b, entry);
		complete(zv, b, NULL, error);
	}
}

void backend_calls_fail(struct zvirt *zv, const char *error)
{
	struct bcall *b;

	zv->in_flight = false;
	evtimer_del(zv->ev_call_timeout);
	while ((b = TAILQ_FIRST(&zv->calls))) {
		TAILQ_REMOVE(&zv->calls, b, entry);
		complete(zv, b, NULL, error);
	}
}

/* The reply to the call in flight. */
static void reply_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zvirt *zv = arg;
	int fds[HV_MAX_FDS_PER_MSG];
	size_t n_fds;
	json_object *msg;
	struct bcall *b;
	char err[400], why[200];
	int r = vl_recv_packet(fd, fds, ARRAY_SIZE(fds), &n_fds, &msg);

	close_many(fds, n_fds); /* replies carry none */
	if (r == -EAGAIN || r == -EINTR)
		return;
	if (r < 0 && r != -EBADMSG) {
		log_errno(LOG_WARNING, r, "hvisor-virtiod of zone %u: control socket", zv->zone_id);
		r = 0;
	}
	if (r == 0) {
		/* it exits (its pidfd tells), or it took another controller */
		snprintf(err, sizeof(err), "hvisor-virtiod of zone %u closed the control socket",
			 zv->zone_id);
		backend_calls_close(zv);
		backend_calls_fail(zv, err);
		return;
	}
	b = TAILQ_FIRST(&zv->calls);
	if (!zv->in_flight || !b) {
		json_object_put(msg); /* nothing asked: ignore */
		return;
	}
	TAILQ_REMOVE(&zv->calls, b, entry);
	zv->in_flight = false;
	evtimer_del(zv->ev_call_timeout);
	if (!msg || hv_virtiod_check_reply(b->method, msg, why, sizeof(why)) < 0) {
		/* the contract (proto/virtiod-protocol.h) is broken: a bug */
		snprintf(err, sizeof(err),
			 "hvisor-virtiod of zone %u: a reply to %s its protocol "
			 "does not allow: %s",
			 zv->zone_id, b->method, msg ? why : "not one message");
		log_err("%s", err);
		complete(zv, b, NULL, err);
		json_object_put(msg);
	} else if (vl_reply_error(msg)) {
		complete(zv, b, NULL, vl_reply_error_message(msg));
		json_object_put(msg);
	} else {
		complete(zv, b, json_object_get(vl_reply_parameters(msg)), NULL);
		json_object_put(msg);
	}
	send_next(zv);
}

/* A missed deadline: that call fails, the others too (it does not answer),
 * and a new connection waits for the probe that finds it answering. */
static void call_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zvirt *zv = arg;
	struct timeval tv = timeval_from_ms(PROBE_MSEC);
	struct bcall *b = TAILQ_FIRST(&zv->calls);
	char err[200];

	snprintf(err, sizeof(err), "hvisor-virtiod of zone %u did not answer %s within %d ms",
		 zv->zone_id, b ? b->method : "a call", CALL_TIMEOUT_MSEC);
	log_warn("%s", err);
	zv->answering = false;
	backend_calls_close(zv); /* its late reply must not answer the next call */
	backend_calls_fail(zv, err);
	evtimer_add(zv->ev_probe, &tv);
}

static void probe_done(struct zvirt *zv, json_object *reply, const char *error, void *arg)
{
	struct timeval tv = timeval_from_ms(PROBE_MSEC);

	if (error) {
		evtimer_add(zv->ev_probe, &tv);
		return;
	}
	if (!zv->answering)
		log_notice("zone %u: hvisor-virtiod answers again", zv->zone_id);
	zv->answering = true;
}

static void probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zvirt *zv = arg;
	struct timeval tv = timeval_from_ms(PROBE_MSEC);
	struct bcall *b;

	if (zv->answering || zv->pid <= 0)
		return;
	/* a stopped process cannot answer: do not even ask */
	if (backend_process_stopped(zv) || (zv->ctl_fd < 0 && backend_reconnect(zv) < 0)) {
		evtimer_add(zv->ev_probe, &tv);
		return;
	}
	b = bcall_new(HV_VIRTIOD_GET_INFO, json_object_new_object(), NULL, 0, probe_done, NULL);
	if (!b)
		return;
	TAILQ_INSERT_TAIL(&zv->calls, b, entry);
	send_next(zv);
}

int backend_calls_init(struct zvirt *zv)
{
	struct event_base *base = zv->d->base;

	TAILQ_INIT(&zv->calls);
	TAILQ_INIT(&zv->done);
	TAILQ_INIT(&zv->waiters);
	zv->ctl_fd = -1;
	zv->answering = true;
	zv->ev_done = event_new(base, -1, 0, done_cb, zv);
	zv->ev_call_timeout = evtimer_new(base, call_timeout_cb, zv);
	zv->ev_probe = evtimer_new(base, probe_cb, zv);
	return zv->ev_done && zv->ev_call_timeout && zv->ev_probe ? 0 : -ENOMEM;
}

int backend_calls_open(struct zvirt *zv, int fd)
{
	backend_calls_close(zv);
	zv->in_flight = false;
	zv->ev_ctl = event_new(zv->d->base, fd, EV_READ | EV_PERSIST, reply_cb, zv);
	if (!zv->ev_ctl) {
		close(fd);
		return -ENOMEM;
	}
	zv->ctl_fd = fd;
	event_add(zv->ev_ctl, NULL);
	return 0;
}

void backend_calls_close(struct zvirt *zv)
{
	if (zv->ev_ctl)
		event_free(zv->ev_ctl);
	zv->ev_ctl = NULL;
	zv->ctl_fd = safe_close(zv->ctl_fd);
}

bool backend_calls_busy(const struct zvirt *zv)
{
	return !TAILQ_EMPTY(&zv->calls) || !TAILQ_EMPTY(&zv->done) || !TAILQ_EMPTY(&zv->waiters) ||
	       zv->callbacks_running;
}

void backend_calls_free(struct zvirt *zv)
{
	struct bcall *b;

	backend_calls_close(zv);
	while ((b = TAILQ_FIRST(&zv->calls))) {
		TAILQ_REMOVE(&zv->calls, b, entry);
		bcall_free(b);
	}
	while ((b = TAILQ_FIRST(&zv->done))) {
		TAILQ_REMOVE(&zv->done, b, entry);
		bcall_free(b);
	}
	while ((b = TAILQ_FIRST(&zv->waiters))) {
		TAILQ_REMOVE(&zv->waiters, b, entry);
		bcall_free(b);
	}
	if (zv->ev_done)
		event_free(zv->ev_done);
	if (zv->ev_call_timeout)
		event_free(zv->ev_call_timeout);
	if (zv->ev_probe)
		event_free(zv->ev_probe);
	zv->ev_done = zv->ev_call_timeout = zv->ev_probe = NULL;
}
