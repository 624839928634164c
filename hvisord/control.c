// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket: varlink over SOCK_STREAM. One struct conn per client,
 * credentials taken once at accept (SO_PEERCRED/SO_PEERGROUPS), calls
 * handled in order, one at a time per connection. Everything a client can
 * make us hold is capped: connections and subscriptions (in all, per uid,
 * and with a part kept for root and group "hvisor"), message size, JSON
 * depth, queued output, the time a message may take to arrive and the time
 * a connection may sit idle. What clients can make us log is rate-limited.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <event2/buffer.h>

#include "hv.h"
#include "hvisord.h"
#include "log.h"
#include "sd-notify.h"
#include "util.h"

#define MAX_FD_BATCHES	   4
#define ACCEPT_BACKOFF_SEC 1
#define CONN_LOG_INTERVAL  UINT64_C(1000000) /* µs */
#define LISTEN_BACKLOG	   128
#define GETGR_BUF_BYTES	   4096 /* getgrnam_r's buffer for group "hvisor" */
#define MAX_PEER_GROUPS	   256	/* supplementary groups looked at */
#define CONN_LOG_BURST	   5

/* Descriptors that arrived with the message starting at stream `offset`. */
struct fd_batch {
	uint64_t offset;
	size_t n;
	int fds[HV_MAX_FDS_PER_MSG];
};

struct conn {
	TAILQ_ENTRY(conn) entry;
	struct daemon *d;
	uint64_t id;
	int fd;
	struct event *ev_read, *ev_write, *ev_process, *ev_timer;
	struct vl_framer in;
	struct evbuffer *out;
	struct ucred cred;
	bool privileged;

	struct fd_batch batches[MAX_FD_BATCHES];
	size_t n_batches;

	bool async;	      /* a handler has not replied yet */
	bool dead;	      /* peer gone: free as soon as nothing refers to us */
	bool closing;	      /* close after the output is flushed */
	bool subscriber;      /* in a Subscribe stream */
	bool oneway;	      /* the current call wants no reply */
	bool replied;	      /* the current call has its reply */
	const char *method;   /* the current call's, for logs */
	json_object *failure; /* the current call's error, sent once it returns */
	bool deadline;	      /* ev_timer is the deadline of a message begun */
};

static void conn_update_events(struct conn *c);
static void conn_process(struct conn *c);

struct daemon *conn_daemon(struct conn *c)
{
	return c->d;
}

bool conn_is_privileged(const struct conn *c)
{
	return c->privileged;
}

uid_t conn_uid(const struct conn *c)
{
	return c->cred.uid;
}

/* Lines about connections that a client can provoke at will (refusals,
 * protocol errors, hang-ups): CONN_LOG_BURST per interval, then one summary
 * line at its end. */
static void conn_log(struct daemon *d, int prio, const char *fmt, ...) _printf_(3, 4);
static void conn_log(struct daemon *d, int prio, const char *fmt, ...)
{
	int saved_errno = errno; /* for %m */
	uint64_t now = now_usec();
	char buf[512];
	va_list ap;

	if (!ratelimit_pass(&d->conn_log_rl, now)) {
		uint64_t left = ratelimit_end(&d->conn_log_rl) - now;
		struct timeval tv = timeval_from_ms(left / 1000);

		if (!evtimer_pending(d->ev_conn_log, NULL))
			evtimer_add(d->ev_conn_log, &tv);
		return;
	}
	errno = saved_errno;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_msg(prio, "%s", buf);
}

static void conn_log_summary_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	unsigned n = ratelimit_take(&d->conn_log_rl);

	if (n)
		log_notice("%u more lines about refused, broken or timed-out connections "
			   "not logged (at most %u per second)",
			   n, CONN_LOG_BURST);
}

static void batch_close(struct fd_batch *b)
{
	close_many(b->fds, b->n);
	b->n = 0;
}

static void conn_free(struct conn *c)
{
	struct daemon *d = c->d;

	TAILQ_REMOVE(&d->conns, c, entry);
	d->n_conns--;
	d->n_conns_unprivileged -= !c->privileged;
	if (c->subscriber) {
		d->n_subscribers--;
		d->n_subscribers_unprivileged -= !c->privileged;
	}
	for (size_t i = 0; i < c->n_batches; i++)
		batch_close(&c->batches[i]);
	event_free(c->ev_read);
	event_free(c->ev_write);
	event_free(c->ev_process);
	event_free(c->ev_timer);
	json_object_put(c->failure);
	evbuffer_free(c->out);
	vl_framer_done(&c->in);
	safe_close(c->fd);
	log_debug("connection %llu closed", (unsigned long long)c->id);
	free(c);
}

/* The peer is gone or broke the protocol: stop talking to it. The conn is
 * freed later from its process event (never under a caller's feet), and
 * only once no handler owns it anymore. */
static void conn_kill(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	event_del(c->ev_read);
	event_del(c->ev_write);
	event_active(c->ev_process, 0, 0);
}

/* Returns false if the connection is dead. */
static bool conn_flush(struct conn *c)
{
	while (evbuffer_get_length(c->out) > 0) {
		int k = evbuffer_write(c->out, c->fd);

		if (k < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			log_debug("connection %llu: write failed: %m", (unsigned long long)c->id);
			conn_kill(c);
			return false;
		}
		if (k == 0)
			break;
	}
	if (c->closing && evbuffer_get_length(c->out) == 0) {
		conn_kill(c);
		return false;
	}
	conn_update_events(c);
	return true;
}

/* A message that has begun must arrive within message_timeout_sec of its
 * first byte; a connection that waits for nothing of ours (no call running,
 * not a subscriber) is closed after idle_timeout_sec without progress. */
static void conn_arm_timer(struct conn *c)
{
	const struct limits *l = &c->d->limits;
	struct timeval tv = {.tv_sec = l->idle_timeout_sec};

	if (c->dead || c->async || (c->subscriber && !c->closing)) {
		event_del(c->ev_timer);
		c->deadline = false;
		return;
	}
	if (!c->closing && !vl_framer_empty(&c->in)) {
		if (c->deadline)
			return; /* counted from the message's first byte */
		c->deadline = true;
		tv.tv_sec = l->message_timeout_sec;
	} else
		c->deadline = false;
	event_add(c->ev_timer, &tv);
}

static void conn_update_events(struct conn *c)
{
	bool want_read = !c->dead && !c->closing && !c->async &&
			 evbuffer_get_length(c->out) < c->d->limits.max_reply_queue;

	/* Subscribers keep reading: that is how we notice them leave. */
	if (c->subscriber && !c->dead && !c->closing)
		want_read = true;
	if (want_read)
		event_add(c->ev_read, NULL);
	else
		event_del(c->ev_read);
	if (!c->dead && evbuffer_get_length(c->out) > 0)
		event_add(c->ev_write, NULL);
	else
		event_del(c->ev_write);
	conn_arm_timer(c);
}

static int conn_send(struct conn *c, json_object *msg)
{
	size_t len;
	const char *s;

	if (c->dead) {
		json_object_put(msg);
		return 0;
	}
	s = vl_message_serialize(msg, &len);
	if (evbuffer_add(c->out, s, len) < 0) {
		json_object_put(msg);
		return -ENOMEM;
	}
	json_object_put(msg);
	conn_flush(c);
	return 0;
}

/* The one reply of a call (or of a call that keeps replying). */
static int conn_answer(struct conn *c, json_object *msg, bool more)
{
	if (c->replied && !c->subscriber) {
		log_err("bug: a second reply to %s", c->method ? c->method : "a call");
		json_object_put(msg);
		return -EALREADY;
	}
	c->replied = !more;
	if (c->oneway) {
		json_object_put(msg);
		return 0;
	}
	return conn_send(c, msg);
}

int conn_reply(struct conn *c, json_object *parameters)
{
	return conn_answer(c, vl_reply_new(parameters, false), false);
}

int conn_reply_more(struct conn *c, json_object *parameters)
{
	return conn_answer(c, vl_reply_new(parameters, true), true);
}

int conn_fail(struct conn *c, json_object *error_message)
{
	if (c->failure) /* the first one is the cause */
		json_object_put(error_message);
	else
		c->failure = error_message;
	return -EINVAL;
}

int conn_failf(struct conn *c, const char *error, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return conn_fail(c, vl_error_newf(error, "%s", buf));
}

json_object *conn_failure_take(struct conn *c)
{
	return TAKE_PTR(c->failure);
}

/* How a call ended: r < 0 sends the error it recorded (org.hvisor.Internal
 * if none), else it replied or went asynchronous. The only place errors
 * are sent from. */
static void conn_outcome(struct conn *c, int r)
{
	const char *what = c->method ? c->method : "a call";
	json_object *e = TAKE_PTR(c->failure);

	if (r < 0 && !e) {
		log_errno(LOG_ERR, r, "%s failed", what);
		e = vl_error_newf(VL_ERROR_INTERNAL, "%s failed: %s", what, strerror(-r));
	}
	if (r >= 0 && e)
		log_err("bug: %s recorded an error and returned %d", what, r);
	if (r < 0 && !c->replied)
		conn_answer(c, e, false);
	else {
		if (r < 0)
			log_err("bug: %s replied and then failed", what);
		json_object_put(e);
	}
	if (r >= 0 && !c->replied && !c->async && !c->subscriber) {
		log_err("bug: %s returned without a reply", what);
		conn_answer(c, vl_error_newf(VL_ERROR_INTERNAL, "%s did not reply", what), false);
	}
}

const char *passed_file_problem(int fd, bool write, struct stat *ret_st)
{
	int mode = fcntl(fd, F_GETFL);

	if (mode < 0 || fstat(fd, ret_st) < 0)
		return "unusable descriptor";
	if (!S_ISREG(ret_st->st_mode) && !S_ISBLK(ret_st->st_mode))
		return "not a regular file or block device";
	if (mode & O_PATH)
		return "opened with O_PATH, which cannot be read";
	if ((mode & O_ACCMODE) == O_WRONLY)
		return "not opened for reading";
	if (write && (mode & O_ACCMODE) != O_RDWR)
		return "opened read-only, but the device is not readonly";
	if (write && (mode & O_APPEND))
		return "opened with O_APPEND, which would move every write to the end";
	return NULL;
}

int conn_fail_invalid(struct conn *c, const char *prefix, const struct hv_error *err)
{
	json_object *p = json_object_new_object();
	char path[256], msg[600];

	if (prefix && err->path[0])
		snprintf(path, sizeof(path), "%s.%s", prefix, err->path);
	else
		snprintf(path, sizeof(path), "%s",
			 err->path[0] ? err->path : (prefix ? prefix : ""));
	snprintf(msg, sizeof(msg), "%s%s%s", path, path[0] ? ": " : "", err->message);
	json_object_object_add(p, "parameter", json_object_new_string(path));
	json_object_object_add(p, "message", json_object_new_string(msg));
	return conn_fail(c, vl_error_new(VL_ERROR_INVALID_PARAMETER, p));
}

int conn_zone_id(struct conn *c, json_object *v, bool root_ok, uint32_t *ret)
{
	int64_t id = json_object_get_int64(v);
	struct hv_error err;

	if (id < (root_ok ? 0 : 1) || id > UINT32_MAX) {
		hv_error_set(&err, "zone_id", "must be a%s zone id (%d..2^32-1)",
			     root_ok ? "" : " non-root", root_ok ? 0 : 1);
		return conn_fail_invalid(c, NULL, &err);
	}
	*ret = (uint32_t)id;
	return 0;
}

static const char *errno_name(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

/* org.hvisor.BackendUnavailable: what is gone, and what hvisord does. */
static int conn_fail_backend(struct conn *c)
{
	const struct hv *hv = c->d->hv;
	json_object *p = json_object_new_object();
	char msg[PATH_MAX + 200];

	if (hv->lost)
		snprintf(msg, sizeof(msg),
			 "the %s backend at %s is gone (%s): hvisord %s it as soon as it is back",
			 hv->ops->what, hv->path, strerror(-hv->lost_reason),
			 hv->ops->watch_fd ? "reconnects to" : "reopens");
	else
		snprintf(msg, sizeof(msg),
			 "the %s backend at %s went away during the call and is back now: try "
			 "again",
			 hv->ops->what, hv->path);
	json_object_object_add(p, "backend", json_object_new_string(hv->ops->name));
	json_object_object_add(p, "backend_path", json_object_new_string(hv->path));
	json_object_object_add(p, "message", json_object_new_string(msg));
	conn_fail(c, vl_error_new(VL_ERROR_BACKEND_UNAVAILABLE, p));
	return -ENOLINK;
}

int conn_fail_kernel(struct conn *c, const char *operation, int r)
{
	json_object *p;
	char msg[256];

	if (r == HV_LOST)
		return conn_fail_backend(c);
	p = json_object_new_object();

	snprintf(msg, sizeof(msg), "%s failed: %s", operation, strerror(-r));
	json_object_object_add(p, "operation", json_object_new_string(operation));
	json_object_object_add(p, "errno", json_object_new_int(-r));
	json_object_object_add(p, "errno_name", json_object_new_string(errno_name(-r)));
	json_object_object_add(p, "message", json_object_new_string(msg));
	conn_fail(c, vl_error_new(VL_ERROR_KERNEL, p));
	return r < 0 ? r : -EIO;
}

void conn_async_begin(struct conn *c)
{
	c->async = true;
	conn_update_events(c);
}

void conn_async_done(struct conn *c, int r)
{
	conn_outcome(c, r);
	conn_async_end(c);
}

void conn_async_end(struct conn *c)
{
	c->async = false;
	if (!c->dead)
		conn_update_events(c);
	/* frees a dead conn, or handles calls waiting in the buffer */
	event_active(c->ev_process, 0, 0);
}

/* How many connections (subscriptions) uid holds. */
static unsigned count_of_uid(const struct daemon *d, uid_t uid, bool subscriptions)
{
	const struct conn *c;
	unsigned n = 0;

	TAILQ_FOREACH (c, &d->conns, entry)
		n += c->cred.uid == uid && (!subscriptions || c->subscriber) && !c->dead;
	return n;
}

/* The limit a caller with cred (privileged or not) would exceed with one
 * more connection (subscription), with *ret_message; NULL if none. */
static const char *cap_exceeded(const struct daemon *d, const struct ucred *cred, bool privileged,
				bool subscription, char *ret_message, size_t size)
{
	const struct limits *l = &d->limits;
	const char *what = subscription ? "subscriptions" : "connections";
	unsigned max = subscription ? l->max_subscribers : l->max_connections;
	unsigned n = subscription ? d->n_subscribers : d->n_conns;
	unsigned reserved = subscription ? l->reserved_subscribers : l->reserved_connections;
	unsigned n_unpriv = subscription ? d->n_subscribers_unprivileged : d->n_conns_unprivileged;
	unsigned per_user =
		subscription ? l->max_subscribers_per_user : l->max_connections_per_user;

	if (n >= max) {
		snprintf(ret_message, size, "too many %s: all %u are taken", what, max);
		return subscription ? "subscribers" : "connections";
	}
	if (!privileged && n_unpriv >= max - reserved) {
		snprintf(ret_message, size,
			 "too many %s: the %u open to unprivileged users are taken (%u are kept "
			 "for root and group '%s')",
			 what, max - reserved, reserved, HVISOR_GROUP);
		return subscription ? "subscribers" : "connections";
	}
	/* root and hvisord's own user administer it: no per-user cap */
	if (cred->uid != 0 && cred->uid != geteuid() &&
	    count_of_uid(d, cred->uid, subscription) >= per_user) {
		snprintf(ret_message, size, "too many %s: uid %u holds %u, the most one user may",
			 what, (unsigned)cred->uid, per_user);
		return subscription ? "subscribers_per_user" : "connections_per_user";
	}
	return NULL;
}

json_object *conn_subscribe(struct conn *c)
{
	struct daemon *d = c->d;
	char msg[256];
	const char *limit;

	if (c->subscriber)
		return NULL;
	limit = cap_exceeded(d, &c->cred, c->privileged, true, msg, sizeof(msg));
	if (limit) {
		conn_log(d, LOG_NOTICE, "connection %llu (uid %u pid %d): %s",
			 (unsigned long long)c->id, (unsigned)c->cred.uid, (int)c->cred.pid, msg);
		return vl_error_limit_new(limit, "%s", msg);
	}
	c->subscriber = true;
	d->n_subscribers++;
	d->n_subscribers_unprivileged += !c->privileged;
	conn_update_events(c);
	return NULL;
}

void control_broadcast(struct daemon *d, json_object *event)
{
	json_object *msg = vl_reply_new(event, true);
	struct conn *c, *tmp;
	size_t len;
	const char *s = vl_message_serialize(msg, &len);

	TAILQ_FOREACH_SAFE (c, &d->conns, entry, tmp) {
		if (!c->subscriber || c->dead || c->closing)
			continue;
		if (evbuffer_get_length(c->out) + len > d->limits.max_subscriber_queue) {
			conn_log(d, LOG_WARNING,
				 "dropping subscriber %llu (uid %u pid %d): it does not read its "
				 "events",
				 (unsigned long long)c->id, (unsigned)c->cred.uid,
				 (int)c->cred.pid);
			conn_kill(c);
			continue;
		}
		if (evbuffer_add(c->out, s, len) < 0) {
			conn_kill(c);
			continue;
		}
		conn_flush(c);
	}
	json_object_put(msg);
}

/* The varlink error for a protocol violation, then hang up. */
static void conn_protocol_error(struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void conn_protocol_error(struct conn *c, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	conn_log(c->d, LOG_INFO, "connection %llu (uid %u pid %d): %s", (unsigned long long)c->id,
		 (unsigned)c->cred.uid, (int)c->cred.pid, buf);
	c->oneway = false;
	c->closing = true;
	conn_send(c, vl_error_newf(VL_ERROR_PROTOCOL, "%s", buf));
}

static const struct method *const method_tables[] = {manager_methods, zone_methods, virtio_methods};

/* An unknown method of a known interface is MethodNotFound, anything else
 * InterfaceNotFound; the known interfaces are the ones GetInfo lists. */
static const struct method *find_method(const char *name, bool *ret_iface_known)
{
	const char *dot = strrchr(name, '.');
	char iface[128];

	for (size_t t = 0; t < ARRAY_SIZE(method_tables); t++)
		for (const struct method *m = method_tables[t]; m->name; m++)
			if (strcmp(m->name, name) == 0)
				return m;
	*ret_iface_known = false;
	if (dot && (size_t)(dot - name) < sizeof(iface)) {
		memcpy(iface, name, (size_t)(dot - name));
		iface[dot - name] = '\0';
		*ret_iface_known = vl_interface_description(iface) != NULL;
	}
	return NULL;
}

/* Takes the descriptors that belong to the message at `offset`; closes any
 * left over from earlier messages (they had no taker). */
static size_t claim_fds(struct conn *c, uint64_t offset, int *fds)
{
	size_t n = 0, keep = 0;

	for (size_t i = 0; i < c->n_batches; i++) {
		struct fd_batch *b = &c->batches[i];

		if (b->offset == offset) {
			memcpy(fds, b->fds, b->n * sizeof(int));
			n = b->n;
			b->n = 0;
		} else if (b->offset < offset)
			batch_close(b);
		else
			c->batches[keep++] = *b;
	}
	c->n_batches = keep;
	return n;
}

/* Checks before the handler: a known method the caller may call, with
 * valid text and descriptors only where it takes them. */
static int conn_admit(struct conn *c, const struct vl_call *call, size_t n_fds,
		      const struct method **ret)
{
	const struct method *m;
	struct hv_error herr;
	bool iface_known;

	m = find_method(call->method, &iface_known);
	if (!m) {
		json_object *p = json_object_new_object();
		char buf[300];

		if (iface_known) {
			json_object_object_add(p, "method", json_object_new_string(call->method));
			snprintf(buf, sizeof(buf), "no method %.200s", call->method);
		} else {
			const char *dot = strrchr(call->method, '.');
			int ilen = dot ? (int)(dot - call->method) : (int)strlen(call->method);

			json_object_object_add(p, "interface",
					       json_object_new_string_len(call->method, ilen));
			snprintf(buf, sizeof(buf), "no interface %.*s", MIN(ilen, 200),
				 call->method);
		}
		json_object_object_add(p, "message", json_object_new_string(buf));
		return conn_fail(c, vl_error_new(iface_known ? VL_ERROR_METHOD_NOT_FOUND
							     : VL_ERROR_INTERFACE_NOT_FOUND,
						 p));
	}
	c->method = m->name;
	if ((m->flags & METHOD_MUTATING) && !c->privileged) {
		conn_log(c->d, LOG_NOTICE,
			 "denied %s to uid %u pid %d (not root, not in group '%s')", m->name,
			 (unsigned)c->cred.uid, (int)c->cred.pid, HVISOR_GROUP);
		return conn_failf(c, VL_ERROR_PERMISSION_DENIED,
				  "%s needs root or membership in group '%s' (caller uid %u)",
				  m->name, HVISOR_GROUP, (unsigned)c->cred.uid);
	}
	if (vl_check_utf8(call->parameters, "", &herr) < 0)
		return conn_fail_invalid(c, NULL, &herr);
	if (n_fds > 0 && !(m->flags & METHOD_TAKES_FDS)) {
		/* no parameter is wrong, the message is: "parameter" is empty */
		hv_error_set(&herr, "", "%s takes no file descriptors", m->name);
		return conn_fail_invalid(c, NULL, &herr);
	}
	*ret = m;
	return 0;
}

static void conn_dispatch(struct conn *c, json_object *msg, uint64_t offset)
{
	int fds[HV_MAX_FDS_PER_MSG];
	size_t n_fds = claim_fds(c, offset, fds);
	const struct method *m = NULL;
	struct vl_call call;
	char err[256];
	int r;

	if (vl_call_parse(msg, &call, err, sizeof(err)) < 0) {
		conn_protocol_error(c, "%s", err);
		goto out;
	}
	if (c->subscriber) {
		conn_protocol_error(c, "no calls allowed on a subscription");
		goto out;
	}
	c->oneway = call.oneway;
	c->replied = false;
	c->method = NULL;
	log_debug("connection %llu: %s", (unsigned long long)c->id, call.method);
	r = conn_admit(c, &call, n_fds, &m);
	if (r == 0 && m)
		r = m->fn(c, &call, fds, n_fds);
	conn_outcome(c, r);
out:
	close_many(fds, n_fds);
	json_object_put(msg);
}

static void conn_process(struct conn *c)
{
	while (!c->dead && !c->closing && !c->async && !c->subscriber &&
	       evbuffer_get_length(c->out) < c->d->limits.max_reply_queue) {
		json_object *msg = NULL;
		uint64_t offset;
		int r = vl_framer_next(&c->in, &msg, &offset);

		if (r == 0)
			break;
		if (r == -EMSGSIZE) {
			conn_protocol_error(c, "message larger than %u bytes", VL_MAX_MESSAGE_SIZE);
			return;
		}
		if (r < 0) {
			conn_protocol_error(
				c, "message is not a JSON object (or nests deeper than %d)",
				VL_MAX_DEPTH);
			return;
		}
		c->deadline = false; /* the next message has a deadline of its own */
		conn_dispatch(c, msg, offset);
	}
	if (!c->dead)
		conn_update_events(c);
}

/* Stream offset where the last message starting inside the chunk
 * [start, start + n) begins: the kernel ends a read right after an skb that
 * carries descriptors, so they belong to that message. */
static int last_message_start(const char *chunk, size_t n, uint64_t start, bool at_boundary,
			      uint64_t *ret)
{
	bool found = at_boundary;
	uint64_t pos = start;

	for (size_t i = 0; i + 1 < n; i++)
		if (chunk[i] == '\0') {
			pos = start + i + 1;
			found = true;
		}
	if (!found)
		return -EBADMSG;
	*ret = pos;
	return 0;
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int fds[HV_MAX_FDS_PER_MSG];
	size_t n_fds = 0, avail;
	bool at_boundary;
	uint64_t start;
	ssize_t k;
	char *p;
	int r;

	r = vl_framer_reserve(&c->in, &p, &avail);
	if (r < 0) {
		conn_protocol_error(c, "message larger than %u bytes", VL_MAX_MESSAGE_SIZE);
		return;
	}
	at_boundary = c->in.len == 0;
	start = c->in.offset + c->in.len;
	k = recv_with_fds(fd, p, avail, fds, ARRAY_SIZE(fds), &n_fds, MSG_DONTWAIT);
	if (k == -EAGAIN)
		return;
	if (k == -EMSGSIZE) {
		conn_protocol_error(c, "more than %d file descriptors with one message",
				    HV_MAX_FDS_PER_MSG);
		return;
	}
	if (k <= 0) {
		if (k == 0 && vl_framer_eof(&c->in) < 0)
			conn_log(
				c->d, LOG_INFO,
				"connection %llu (uid %u pid %d) hung up in the middle of a message",
				(unsigned long long)c->id, (unsigned)c->cred.uid, (int)c->cred.pid);
		conn_kill(c);
		return;
	}
	vl_framer_commit(&c->in, (size_t)k);
	if (c->subscriber) {
		/* Subscribers may only listen. */
		close_many(fds, n_fds);
		conn_protocol_error(c, "no calls allowed on a subscription");
		return;
	}
	if (n_fds > 0) {
		struct fd_batch *b;
		uint64_t at;

		if (last_message_start(p, (size_t)k, start, at_boundary, &at) < 0 ||
		    c->n_batches == MAX_FD_BATCHES) {
			close_many(fds, n_fds);
			conn_protocol_error(
				c, "file descriptors must come with the first byte of a message");
			return;
		}
		b = &c->batches[c->n_batches++];
		b->offset = at;
		b->n = n_fds;
		memcpy(b->fds, fds, n_fds * sizeof(int));
	}
	conn_process(c);
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (!conn_flush(c))
		return;
	/* output drained below the pause mark: carry on with queued calls */
	if (!c->async && !c->subscriber && !c->closing)
		conn_process(c);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (c->deadline) {
		conn_protocol_error(c, "message not complete within %u s of its first byte",
				    c->d->limits.message_timeout_sec);
		return;
	}
	log_debug("connection %llu (uid %u pid %d): no progress for %u s, closing",
		  (unsigned long long)c->id, (unsigned)c->cred.uid, (int)c->cred.pid,
		  c->d->limits.idle_timeout_sec);
	conn_kill(c);
}

static void conn_process_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	if (c->dead) {
		if (!c->async)
			conn_free(c);
		return;
	}
	conn_process(c);
}

static bool in_group(int fd, const struct ucred *cred)
{
	struct group grp, *g = NULL;
	char buf[GETGR_BUF_BYTES];
	gid_t gids[MAX_PEER_GROUPS];
	socklen_t len = sizeof(gids);

	if (getgrnam_r(HVISOR_GROUP, &grp, buf, sizeof(buf), &g) != 0 || !g)
		return false;
	if (cred->gid == g->gr_gid)
		return true;
	/* supplementary groups as they were when the peer connected */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gids, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (gids[i] == g->gr_gid)
			return true;
	return false;
}

/* Answers and closes a connection over a limit, without a struct conn. */
static void refuse_connection(int fd, const char *limit, const char *message)
{
	json_object *msg = vl_error_limit_new(limit, "%s", message);
	const char *s;
	size_t len;

	s = vl_message_serialize(msg, &len);
	(void)!send(fd, s, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	json_object_put(msg);
	close(fd);
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	event_add(d->ev_listen, NULL);
}

/* A connection for fd (taken) from cred, reading; NULL if out of memory. */
static struct conn *conn_new(struct daemon *d, int fd, const struct ucred *cred, bool privileged)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return NULL;
	}
	c->d = d;
	c->fd = fd;
	c->id = ++d->next_conn_id;
	c->cred = *cred;
	c->privileged = privileged;
	vl_framer_init(&c->in, VL_MAX_MESSAGE_SIZE);
	c->out = evbuffer_new();
	c->ev_read = event_new(d->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	c->ev_write = event_new(d->base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
	c->ev_process = event_new(d->base, -1, 0, conn_process_cb, c);
	c->ev_timer = evtimer_new(d->base, conn_timer_cb, c);
	if (!c->out || !c->ev_read || !c->ev_write || !c->ev_process || !c->ev_timer) {
		evbuffer_free(c->out);
		event_free(c->ev_read);
		event_free(c->ev_write);
		event_free(c->ev_process);
		event_free(c->ev_timer);
		vl_framer_done(&c->in);
		close(fd);
		free(c);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&d->conns, c, entry);
	d->n_conns++;
	d->n_conns_unprivileged += !privileged;
	log_debug("connection %llu from uid %u pid %d%s", (unsigned long long)c->id,
		  (unsigned)cred->uid, (int)cred->pid, privileged ? " (privileged)" : "");
	event_add(c->ev_read, NULL);
	conn_arm_timer(c);
	return c;
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct daemon *d = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	const char *limit;
	bool privileged;
	char msg[256];
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE) {
			/* out of descriptors: pause accepting instead of spinning */
			struct timeval tv = {.tv_sec = ACCEPT_BACKOFF_SEC};

			conn_log(d, LOG_WARNING, "accept: %m; pausing for %d s",
				 ACCEPT_BACKOFF_SEC);
			event_del(d->ev_listen);
			evtimer_add(d->ev_accept_resume, &tv);
		} else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			conn_log(d, LOG_WARNING, "accept: %m");
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		conn_log(d, LOG_WARNING, "SO_PEERCRED: %m");
		close(fd);
		return;
	}
	/* root, the user hvisord runs as (a sim of one's own), group hvisor */
	privileged = cred.uid == 0 || cred.uid == geteuid() || in_group(fd, &cred);
	/* Keep accepting at the limits: newcomers are refused with
	 * LimitExceeded instead of waiting unanswered in the backlog. */
	limit = cap_exceeded(d, &cred, privileged, false, msg, sizeof(msg));
	if (limit) {
		conn_log(d, LOG_WARNING, "refusing connection from uid %u pid %d: %s",
			 (unsigned)cred.uid, (int)cred.pid, msg);
		refuse_connection(fd, limit, msg);
		return;
	}
	conn_new(d, fd, &cred, privileged);
}

/* A file at the socket's path: a leftover socket is removed (unless a
 * live hvisord serves it); anything else is refused, not followed. */
static int remove_stale_socket(struct daemon *d, const struct sockaddr_un *sa)
{
	_cleanup_close_ int probe = -1;
	const char *name = strrchr(d->socket_path, '/') + 1;
	struct stat st;

	if (fstatat(d->runtime_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return log_errno(LOG_ERR, negative_errno(), "%s", d->socket_path);
	if (!S_ISSOCK(st.st_mode)) {
		log_err("%s exists and is not a socket (%s): refusing to replace it",
			d->socket_path, S_ISLNK(st.st_mode) ? "a symlink" : "some other file");
		return -EEXIST;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
		log_err("another hvisord is serving %s", d->socket_path);
		return -EADDRINUSE;
	}
	log_info("removing stale socket %s", d->socket_path);
	if (unlinkat(d->runtime_fd, name, 0) < 0)
		return log_errno(LOG_ERR, negative_errno(), "cannot remove %s", d->socket_path);
	return 0;
}

/* Binds DIR/hvisord.sock, refusing to steal it from a live hvisord. */
static int bind_socket(struct daemon *d)
{
	struct sockaddr_un sa;
	_cleanup_close_ int fd = -1;
	mode_t old_mask;
	int r;

	r = sockaddr_un_from_path(d->socket_path, &sa);
	if (r < 0)
		return log_errno(LOG_ERR, r, "socket path %s", d->socket_path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_errno(LOG_ERR, negative_errno(), "socket");
	/* Everyone may connect; what they may do is decided per call. The
	 * mode comes with bind() instead of a chmod() by path afterwards. */
	old_mask = umask(0111);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? negative_errno() : 0;
	if (r == -EADDRINUSE) {
		r = remove_stale_socket(d, &sa);
		if (r == 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			r = log_errno(LOG_ERR, negative_errno(), "bind %s", d->socket_path);
	} else if (r < 0)
		log_errno(LOG_ERR, r, "bind %s", d->socket_path);
	umask(old_mask);
	if (r < 0)
		return r;
	d->socket_created = true;
	if (listen(fd, LISTEN_BACKLOG) < 0)
		return log_errno(LOG_ERR, negative_errno(), "listen");
	d->listen_fd = TAKE_FD(fd);
	return 0;
}

int control_init(struct daemon *d)
{
	int n = sd_listen_fds(), r;

	TAILQ_INIT(&d->conns);
	d->listen_fd = -1;
	if (n > 1)
		log_warn("socket activation passed %d sockets; using the first", n);
	if (n >= 1) {
		int acc = 0;
		socklen_t len = sizeof(acc);

		if (getsockopt(SD_LISTEN_FDS_START, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0 ||
		    !acc)
			return log_errno(LOG_ERR, -EINVAL,
					 "socket-activated fd is not a listening socket");
		d->listen_fd = SD_LISTEN_FDS_START;
		r = fd_set_nonblock(d->listen_fd, true);
		if (r < 0)
			return r;
		log_info("using the socket passed by the service manager");
	} else {
		r = bind_socket(d);
		if (r < 0)
			return r;
		log_info("listening on %s", d->socket_path);
	}
	d->ev_listen = event_new(d->base, d->listen_fd, EV_READ | EV_PERSIST, accept_cb, d);
	d->ev_accept_resume = evtimer_new(d->base, accept_resume_cb, d);
	d->ev_conn_log = evtimer_new(d->base, conn_log_summary_cb, d);
	d->conn_log_rl = (struct ratelimit)RATELIMIT_INIT(CONN_LOG_INTERVAL, CONN_LOG_BURST);
	if (!d->ev_listen || !d->ev_accept_resume || !d->ev_conn_log)
		return -ENOMEM;
	event_add(d->ev_listen, NULL);
	return 0;
}

void control_done(struct daemon *d)
{
	struct conn *c;

	while ((c = TAILQ_FIRST(&d->conns))) {
		c->async = false; /* the loop is over; nothing finishes anymore */
		conn_free(c);
	}
	if (d->ev_listen)
		event_free(d->ev_listen);
	if (d->ev_accept_resume)
		event_free(d->ev_accept_resume);
	if (d->ev_conn_log) {
		conn_log_summary_cb(-1, 0, d); /* what the last interval held back */
		event_free(d->ev_conn_log);
	}
	d->ev_listen = d->ev_accept_resume = d->ev_conn_log = NULL;
	d->listen_fd = safe_close(d->listen_fd);
	if (d->socket_created && unlinkat(d->runtime_fd, strrchr(d->socket_path, '/') + 1, 0) < 0 &&
	    errno != ENOENT)
		log_warn("unlink %s: %m", d->socket_path);
	d->socket_created = false;
}
