// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every message hvisord sends to the tests is checked against the interface
 * descriptions (harness.h, "Replies checked against the IDL").
 *
 * The descriptions are the ones compiled into hvisord (vl_interfaces[],
 * proto/interfaces.c), not fetched with GetInterfaceDescription on each
 * connection: that would add a call to every test connection, and
 * test-int-protocol asserts that GetInterfaceDescription serves exactly
 * this text for every interface, so both are the same.
 *
 * To know which method a reply answers, the calls the tests send are
 * followed per connection (the socket's inode, unique while it is open):
 * the bytes are cut into messages as hvisord cuts them, and each call that
 * expects a reply is queued. A reply answers the oldest queued call; it
 * stays queued while its replies continue.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "harness.h"
#include "varlink-idl.h"

struct pending {
	char *method; /* NULL: the message was no valid call */
	bool more;
};

struct call_log {
	ino_t ino;
	struct vl_framer out; /* what the test sent */
	bool broken;	      /* the stream could not be cut any further */
	struct pending *q;
	size_t n, cap;
	struct call_log *next;
};

static struct call_log *logs;
static struct vl_idl *idls[16];
static size_t n_idls;

static void load_idls(void)
{
	char err[256];

	if (n_idls)
		return;
	assert_true(vl_n_interfaces <= sizeof(idls) / sizeof(idls[0]));
	for (size_t i = 0; i < vl_n_interfaces; i++)
		if (vl_idl_parse(vl_interfaces[i].description, &idls[i], err, sizeof(err)) < 0)
			fail_msg("the description of %s does not parse: %s", vl_interfaces[i].name,
				 err);
	n_idls = vl_n_interfaces;
}

static ino_t sock_ino(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		fail_msg("fstat on a connection: %s", strerror(errno));
	return st.st_ino;
}

static struct call_log *find_log(int fd, bool create)
{
	ino_t ino = sock_ino(fd);
	struct call_log *l;

	for (l = logs; l; l = l->next)
		if (l->ino == ino)
			return l;
	if (!create)
		return NULL;
	l = calloc(1, sizeof(*l));
	assert_non_null(l);
	l->ino = ino;
	/* hvisord's limit: a longer message is where it stops reading */
	vl_framer_init(&l->out, VL_MAX_MESSAGE_SIZE);
	l->next = logs;
	logs = l;
	return l;
}

static void push(struct call_log *l, const char *method, bool more)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->q = realloc(l->q, l->cap * sizeof(*l->q));
		assert_non_null(l->q);
	}
	l->q[l->n].method = method ? strdup(method) : NULL;
	l->q[l->n].more = more;
	l->n++;
}

static void pop(struct call_log *l)
{
	free(l->q[0].method);
	memmove(l->q, l->q + 1, --l->n * sizeof(*l->q));
}

void ih_note_sent(int fd, const void *buf, size_t len)
{
	struct call_log *l = find_log(fd, true);
	json_object *msg;
	int r;

	if (l->broken)
		return;
	if (vl_framer_feed(&l->out, buf, len) < 0) {
		l->broken = true;
		push(l, NULL, false);
		return;
	}
	while ((r = vl_framer_next(&l->out, &msg, NULL)) != 0) {
		struct vl_call call;
		char err[128];

		if (r < 0) {
			/* hvisord answers a ProtocolError and reads no more */
			l->broken = true;
			push(l, NULL, false);
			return;
		}
		if (vl_call_parse(msg, &call, err, sizeof(err)) < 0)
			push(l, NULL, false);
		else if (!call.oneway)
			push(l, call.method, call.more);
		json_object_put(msg);
	}
}

int ih_send(struct vl_client *c, json_object *msg, const int *fds, size_t n_fds)
{
	size_t len;
	const char *s = vl_message_serialize(msg, &len);

	ih_note_sent(c->fd, s, len);
	return vl_client_send(c, msg, fds, n_fds);
}

int ih_check_received(int fd, json_object *msg, char *errbuf, size_t errsize)
{
	struct call_log *l = find_log(fd, false);
	const struct pending *p = l && l->n ? &l->q[0] : NULL;
	bool error = vl_reply_error(msg) != NULL, continues = vl_reply_continues(msg);
	int r = -EINVAL;

	load_idls();
	if (!error && !p)
		snprintf(errbuf, errsize,
			 "a reply to no call (send with ih_send, ih_raw_send or ih_note_sent)");
	else if (!error && !p->method)
		snprintf(errbuf, errsize, "a reply to a message that is no valid call");
	else if (!error && continues && !p->more)
		snprintf(errbuf, errsize, "\"continues\" in a reply to %s, called without \"more\"",
			 p->method);
	else
		/* an error is checked against its own declaration, whatever the call */
		r = vl_idl_check_reply(idls, n_idls, error ? NULL : p->method, msg, errbuf,
				       errsize);
	if (p && (error || !continues))
		pop(l);
	return r;
}

void ih_check_received_or_fail(int fd, json_object *msg)
{
	char err[512];

	if (ih_check_received(fd, msg, err, sizeof(err)) < 0)
		fail_msg("hvisord sent a message its interface description does not allow: %s\n"
			 "message: %s",
			 err, json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN));
}

void ih_check_reset(void)
{
	while (logs) {
		struct call_log *l = logs;

		logs = l->next;
		while (l->n)
			pop(l);
		free(l->q);
		vl_framer_done(&l->out);
		free(l);
	}
}
