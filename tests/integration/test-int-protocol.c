// SPDX-License-Identifier: GPL-2.0-only
/* The varlink protocol as hvisord speaks it, including everything a
 * misbehaving client can throw at it; after each, a fresh client must still
 * be served. Also org.varlink.service introspection, Manager.GetInfo,
 * org.hvisor.GetLimits, and the harness's check of replies against the
 * IDL. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "util.h"

#define MiB (1024u * 1024u)

static int setup(void **state)
{
	ih_reap(NULL);
	*state = ih_start(NULL);
	return 0;
}

static int teardown(void **state)
{
	struct ih *h = *state;

	ih_assert_serving(h);
	ih_stop(h);
	return 0;
}

/* Sends `msg` (len bytes, NULs included as given) on a fresh connection and
 * expects the error `error` (NULL: no reply), then, if `closes`, the daemon
 * closing the connection. */
static void expect_error_on(struct ih *h, const char *msg, size_t len, const char *error,
			    bool closes)
{
	int fd = ih_raw_connect(h->sock);
	struct vl_framer frm;
	json_object *reply = NULL;

	vl_framer_init(&frm, VL_MAX_MESSAGE_SIZE);
	ih_raw_send(fd, msg, len);
	if (error) {
		assert_int_equal(ih_raw_recv(fd, &frm, IH_TIMEOUT_MS, &reply), 1);
		ih_assert_error(reply, error);
		json_object_put(reply);
	}
	if (closes)
		ih_assert_closed(fd, &frm);
	vl_framer_done(&frm);
	close(fd);
	ih_assert_serving(h);
}

/* A protocol violation: the error (if any), then hang-up. */
static void expect_error_and_close(struct ih *h, const char *msg, size_t len, const char *error)
{
	expect_error_on(h, msg, len, error, true);
}

/* An error about the call; the connection stays open. */
static void expect_error(struct ih *h, const char *msg, size_t len, const char *error)
{
	expect_error_on(h, msg, len, error, false);
}

#define SEND_ERR(h, lit, err) expect_error_and_close(h, lit, sizeof(lit), err)

static void test_half_message_then_disconnect(void **state)
{
	struct ih *h = *state;
	static const char half[] = "{\"method\": \"org.hvisor.Zone.Li";

	for (int i = 0; i < 3; i++) {
		int fd = ih_raw_connect(h->sock);

		ih_raw_send(fd, half, strlen(half));
		close(fd);
		ih_assert_serving(h);
	}
	assert_true(
		ih_wait_file_contains(h->log, "hung up in the middle of a message", IH_TIMEOUT_MS));
}

static void test_missing_nul_at_eof(void **state)
{
	struct ih *h = *state;
	static const char msg[] = "{\"method\": \"org.hvisor.Zone.List\"}";
	int fd = ih_raw_connect(h->sock);
	struct vl_framer frm;

	vl_framer_init(&frm, VL_MAX_MESSAGE_SIZE);
	ih_raw_send(fd, msg, strlen(msg));
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	/* no reply: the message never ended */
	ih_assert_closed(fd, &frm);
	vl_framer_done(&frm);
	close(fd);
	ih_assert_serving(h);
	assert_true(
		ih_wait_file_contains(h->log, "hung up in the middle of a message", IH_TIMEOUT_MS));
}

static void test_malformed(void **state)
{
	struct ih *h = *state;
	static const char bad_utf8[] = "{\"method\": \"org.hvisor.Zone.List\xff\"}";
	static const char bad_utf8_key[] =
		"{\"method\": \"org.hvisor.Zone.List\", \"\xc0\xaf\": 1}";

	SEND_ERR(h, "{this is not json}", "org.hvisor.ProtocolError");
	SEND_ERR(h, "[1, 2, 3]", "org.hvisor.ProtocolError");
	SEND_ERR(h, "\"just a string\"", "org.hvisor.ProtocolError");
	SEND_ERR(h, "", "org.hvisor.ProtocolError");
	SEND_ERR(h, "{}", "org.hvisor.ProtocolError");
	SEND_ERR(h, "{\"method\": 5}", "org.hvisor.ProtocolError");
	SEND_ERR(h, "{\"method\": \"\"}", "org.hvisor.ProtocolError");
	SEND_ERR(h, "{\"method\": \"org.hvisor.Zone.List\", \"parameters\": []}",
		 "org.hvisor.ProtocolError");
	SEND_ERR(h, "{\"method\": \"org.hvisor.Zone.List\", \"extra\": 1}",
		 "org.hvisor.ProtocolError");
	SEND_ERR(h, "{\"method\": \"org.hvisor.Zone.List\", \"more\": \"yes\"}",
		 "org.hvisor.ProtocolError");
	SEND_ERR(h, "{\"method\": \"org.hvisor.Zone.List\", \"oneway\": true, \"more\": true}",
		 "org.hvisor.ProtocolError");
	SEND_ERR(h, "{\"method\": \"org.hvisor.Zone.List\", \"upgrade\": true}",
		 "org.hvisor.ProtocolError");
	SEND_ERR(h, "{\"method\": \"org.hvisor.Zone.List\"} trailing", "org.hvisor.ProtocolError");
	SEND_ERR(h, "{\"method\": \"org.hvisor.Zone.List\",}", "org.hvisor.ProtocolError");
	/* outside the parameters, bad UTF-8 is a broken message */
	SEND_ERR(h, bad_utf8, "org.hvisor.ProtocolError");
	SEND_ERR(h, bad_utf8_key, "org.hvisor.ProtocolError");

	/* a good call first, then garbage on the same connection: the good
	 * one is answered, then the error, then the connection closes */
	{
		static const char two[] = "{\"method\": \"org.hvisor.Zone.List\"}\0{garbage";
		int fd = ih_raw_connect(h->sock);
		struct vl_framer frm;
		json_object *reply = NULL;

		vl_framer_init(&frm, VL_MAX_MESSAGE_SIZE);
		ih_raw_send(fd, two, sizeof(two));
		assert_int_equal(ih_raw_recv(fd, &frm, IH_TIMEOUT_MS, &reply), 1);
		ih_ok(reply);
		json_object_put(reply);
		assert_int_equal(ih_raw_recv(fd, &frm, IH_TIMEOUT_MS, &reply), 1);
		ih_assert_error(reply, "org.hvisor.ProtocolError");
		json_object_put(reply);
		ih_assert_closed(fd, &frm);
		vl_framer_done(&frm);
		close(fd);
	}
}

/* A parameter that is not valid UTF-8 is a wrong parameter, named by its
 * JSON path; the connection stays usable. */
static void test_invalid_utf8_parameter(void **state)
{
	static const struct {
		const char *msg, *parameter, *message;
	} cases[] = {
		{"{\"method\": \"org.hvisor.Zone.List\", \"parameters\": {\"x\": \"\xff\xfe\"}}",
		 "x", "x: not valid UTF-8"},
		{"{\"method\": \"org.hvisor.Zone.Start\", \"parameters\": {\"config\": "
		 "{\"zone_id\": 1, \"name\": \"zone\xe9\"}}}",
		 "config.name", "config.name: not valid UTF-8"},
		{"{\"method\": \"org.hvisor.Zone.Start\", \"parameters\": {\"config\": "
		 "{\"memory_regions\": [{}, {\"type\": \"r\xed\xa0\x80m\"}]}}}",
		 "config.memory_regions[1].type", "config.memory_regions[1].type: not valid UTF-8"},
		{"{\"method\": \"org.hvisor.Zone.Start\", \"parameters\": {\"config\": "
		 "{\"k\xc1\xbf\": 1}}}",
		 "config", "config: a key is not valid UTF-8"},
	};
	struct ih *h = *state;
	int fd = ih_raw_connect(h->sock);
	struct vl_framer frm;
	json_object *reply = NULL, *p;

	vl_framer_init(&frm, VL_MAX_MESSAGE_SIZE);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		ih_raw_send(fd, cases[i].msg, strlen(cases[i].msg) + 1);
		assert_int_equal(ih_raw_recv(fd, &frm, IH_TIMEOUT_MS, &reply), 1);
		ih_assert_error(reply, "org.hvisor.InvalidParameter");
		p = vl_reply_parameters(reply);
		assert_string_equal(ih_jstr(p, "parameter"), cases[i].parameter);
		assert_string_equal(ih_jstr(p, "message"), cases[i].message);
		json_object_put(reply);
	}
	/* the same connection still works; valid multi-byte text is fine */
	{
		static const char ok[] = "{\"method\": \"org.hvisor.Zone.Info\", \"parameters\": "
					 "{\"zone_id\": 0, \"x\": \"z\xc3\xa9\xf0\x9f\x98\x80\"}}";

		ih_raw_send(fd, ok, sizeof(ok));
		assert_int_equal(ih_raw_recv(fd, &frm, IH_TIMEOUT_MS, &reply), 1);
		/* past the UTF-8 check: Info itself refuses the unknown "x" */
		ih_assert_error(reply, "org.hvisor.InvalidParameter");
		assert_string_equal(ih_jstr(vl_reply_parameters(reply), "parameter"), "x");
		assert_non_null(strstr(ih_jstr(vl_reply_parameters(reply), "message"), "unknown"));
		json_object_put(reply);
	}
	vl_framer_done(&frm);
	close(fd);

	/* through hvctl: the zone's name in the file */
	{
		char *cfg = ih_make_zone(h, "zone1", 4096, 512);
		json_object *j = ih_json_load(cfg);
		struct ih_out o;

		ih_json_set(j, "name", json_object_new_string("zone\xff"));
		ih_json_save(j, cfg);
		json_object_put(j);
		assert_int_equal(ih_hvctl(h, &o, "zone", "start", cfg, NULL), 1);
		if (!strstr(o.err, "org.hvisor.InvalidParameter: config.name: not valid UTF-8"))
			fail_msg("hvctl said: %s", o.err);
		ih_out_free(&o);
		free(cfg);
	}
	assert_int_equal(ih_zone_ids(h, NULL, 0), 1);
}

/* One call on a connection of its own; the reply as a string. */
static char *raw_reply(struct ih *h, const char *msg)
{
	int fd = ih_raw_connect(h->sock);
	struct vl_framer frm;
	json_object *reply = NULL;
	char *s;

	vl_framer_init(&frm, VL_MAX_MESSAGE_SIZE);
	ih_raw_send(fd, msg, strlen(msg) + 1);
	assert_int_equal(ih_raw_recv(fd, &frm, IH_TIMEOUT_MS, &reply), 1);
	s = strdup(json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
	assert_non_null(s);
	json_object_put(reply);
	vl_framer_done(&frm);
	close(fd);
	return s;
}

/* "parameters": null, as varlink-go sends on a call without parameters,
 * is that call: the same reply as with the key left out */
static void test_null_parameters(void **state)
{
	static const char *const methods[] = {"org.hvisor.Zone.List", "org.hvisor.Manager.GetInfo",
					      "org.hvisor.Virtio.List",
					      "org.varlink.service.GetInfo"};
	struct ih *h = *state;
	char msg[160];

	for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
		char *absent, *null;

		snprintf(msg, sizeof(msg), "{\"method\":\"%s\"}", methods[i]);
		absent = raw_reply(h, msg);
		snprintf(msg, sizeof(msg), "{\"method\":\"%s\",\"parameters\":null}", methods[i]);
		null = raw_reply(h, msg);
		if (strcmp(absent, null) != 0)
			fail_msg("%s: %s with parameters null, %s without", methods[i], null,
				 absent);
		assert_null(strstr(null, "\"error\""));
		free(absent);
		free(null);
	}
}

/* A call whose "parameters" carry one string of `pad` bytes. */
static char *call_with_padding(size_t pad, size_t *ret_len)
{
	static const char head[] =
		"{\"method\": \"org.hvisor.Zone.List\", \"parameters\": {\"pad\": \"";
	static const char tail[] = "\"}}";
	size_t len = strlen(head) + pad + strlen(tail) + 1;
	char *s = malloc(len);

	assert_non_null(s);
	memcpy(s, head, strlen(head));
	memset(s + strlen(head), 'x', pad);
	memcpy(s + strlen(head) + pad, tail, sizeof(tail)); /* with the NUL */
	*ret_len = len;
	return s;
}

static void test_oversized(void **state)
{
	struct ih *h = *state;
	struct vl_framer frm;
	json_object *reply = NULL;
	size_t len;
	char *msg;
	int fd;

	/* just under the limit: a well-formed call, answered normally */
	msg = call_with_padding(VL_MAX_MESSAGE_SIZE - 200, &len);
	assert_true(len <= VL_MAX_MESSAGE_SIZE);
	expect_error(h, msg, len, "org.hvisor.InvalidParameter"); /* "pad" is unknown */
	free(msg);

	/* over it, terminated or not: ProtocolError, then hang up */
	for (int terminated = 0; terminated < 2; terminated++) {
		size_t off = 0;

		msg = call_with_padding(VL_MAX_MESSAGE_SIZE + 70000, &len);
		if (!terminated)
			len--;
		fd = ih_raw_connect(h->sock);
		vl_framer_init(&frm, VL_MAX_MESSAGE_SIZE);
		/* hvisord stops reading at the limit: stop writing once it hangs up */
		while (off < len) {
			ssize_t k = send(fd, msg + off, len - off, MSG_NOSIGNAL);

			if (k > 0)
				ih_note_sent(fd, msg + off, (size_t)k);
			if (k < 0) {
				assert_true(errno == EPIPE || errno == ECONNRESET);
				break;
			}
			off += (size_t)k;
		}
		assert_int_equal(ih_raw_recv(fd, &frm, IH_TIMEOUT_MS, &reply), 1);
		ih_assert_error(reply, "org.hvisor.ProtocolError");
		json_object_put(reply);
		ih_assert_closed(fd, &frm);
		vl_framer_done(&frm);
		close(fd);
		free(msg);
		ih_assert_serving(h);
	}
}

/* {"method": ..., "parameters": {"x": [[[...]]]}} nesting `depth` levels
 * (objects and arrays), with a number in the innermost one if leaf. */
static char *nested(int depth, bool leaf, size_t *ret_len)
{
	char *s = NULL;
	int arrays = depth - 2;
	size_t len;
	FILE *f = open_memstream(&s, &len);

	assert_non_null(f);
	fprintf(f, "{\"method\": \"org.hvisor.Zone.List\", \"parameters\": {\"x\": ");
	for (int i = 0; i < arrays; i++)
		fputc('[', f);
	if (leaf)
		fputc('7', f);
	for (int i = 0; i < arrays; i++)
		fputc(']', f);
	fprintf(f, "}}");
	fputc('\0', f);
	fclose(f);
	*ret_len = len;
	return s;
}

static void test_depth(void **state)
{
	struct ih *h = *state;
	size_t len;
	char *msg;

	for (int leaf = 0; leaf < 2; leaf++) {
		/* VL_MAX_DEPTH levels are fine (then "x" is an unknown parameter) */
		msg = nested(VL_MAX_DEPTH, leaf, &len);
		expect_error(h, msg, len, "org.hvisor.InvalidParameter");
		free(msg);

		/* one more is a protocol error */
		msg = nested(VL_MAX_DEPTH + 1, leaf, &len);
		expect_error_and_close(h, msg, len, "org.hvisor.ProtocolError");
		free(msg);
	}
	msg = nested(1000, true, &len);
	expect_error_and_close(h, msg, len, "org.hvisor.ProtocolError");
	free(msg);
}

/* org.hvisor.GetLimits: the documented defaults, and the message limits it
 * reports are the ones hvisord enforces. */
static void test_limits(void **state)
{
	static const struct {
		const char *name;
		int64_t value;
	} want[] = {
		{"connections", 512},
		{"subscribers", 64},
		{"devices", 32},
		{"connections_per_user", 64},
		{"subscribers_per_user", 8},
		{"pending_devices", 64},
		{"reserved_connections", 64},
		{"reserved_subscribers", 16},
		{"message_seconds", 10},
		{"idle_seconds", 60},
		{"message_bytes", 128 * 1024},
		{"message_depth", 16},
		{"message_fds", 32},
		{"subscriber_queue_bytes", 256 * 1024},
		{"reply_queue_bytes", 64 * 1024},
	};
	struct ih *h = *state;
	struct vl_client *c = ih_client(h);
	json_object *reply = ih_call(c, "org.hvisor.GetLimits", NULL), *l;
	int64_t bytes, depth;
	size_t len, empty;
	char *msg;

	assert_true(json_object_object_get_ex(ih_ok(reply), "limits", &l));
	assert_int_equal(json_object_object_length(l), ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_int_equal(ih_jint(l, want[i].name), want[i].value);
	bytes = ih_jint(l, "message_bytes");
	depth = ih_jint(l, "message_depth");
	json_object_put(reply);
	reply = ih_call(c, "org.hvisor.GetLimits", "{\"x\": 1}");
	ih_assert_error(reply, "org.hvisor.InvalidParameter");
	json_object_put(reply);
	vl_client_free(c);

	/* exactly message_bytes, its NUL included, is read ("pad" is then an
	 * unknown parameter); one byte more is a protocol error */
	free(call_with_padding(0, &empty));
	msg = call_with_padding((size_t)bytes - empty, &len);
	assert_int_equal(len, bytes);
	expect_error(h, msg, len, "org.hvisor.InvalidParameter");
	free(msg);
	msg = call_with_padding((size_t)bytes - empty + 1, &len);
	expect_error_and_close(h, msg, len, "org.hvisor.ProtocolError");
	free(msg);

	/* message_depth levels are read, one more is not */
	msg = nested((int)depth, true, &len);
	expect_error(h, msg, len, "org.hvisor.InvalidParameter");
	free(msg);
	msg = nested((int)depth + 1, true, &len);
	expect_error_and_close(h, msg, len, "org.hvisor.ProtocolError");
	free(msg);
}

static void test_unknown_names(void **state)
{
	struct ih *h = *state;
	json_object *reply;
	json_object *v;

	reply = ih_call_error(h, "org.hvisor.Zone.Frobnicate", NULL,
			      "org.varlink.service.MethodNotFound", true);
	assert_true(json_object_object_get_ex(vl_reply_parameters(reply), "method", &v));
	assert_string_equal(json_object_get_string(v), "org.hvisor.Zone.Frobnicate");
	json_object_put(reply);

	reply = ih_call_error(h, "org.hvisor.Nope.List", NULL,
			      "org.varlink.service.InterfaceNotFound", true);
	assert_true(json_object_object_get_ex(vl_reply_parameters(reply), "interface", &v));
	assert_string_equal(json_object_get_string(v), "org.hvisor.Nope");
	json_object_put(reply);
	ih_call_error(h, "NoDotsAtAll", NULL, "org.varlink.service.InterfaceNotFound", false);
	/* "org.hvisor" is listed by GetInfo (it declares the shared errors)
	 * but has no methods */
	reply = ih_call_error(h, "org.hvisor.List", NULL, "org.varlink.service.MethodNotFound",
			      true);
	assert_true(json_object_object_get_ex(vl_reply_parameters(reply), "method", &v));
	assert_string_equal(json_object_get_string(v), "org.hvisor.List");
	json_object_put(reply);

	reply = ih_call_error(h, "org.hvisor.Zone.List", "{\"bogus\": 1}",
			      "org.hvisor.InvalidParameter", true);
	assert_true(json_object_object_get_ex(vl_reply_parameters(reply), "parameter", &v));
	assert_string_equal(json_object_get_string(v), "bogus");
	json_object_put(reply);
	ih_call_error(h, "org.hvisor.Zone.Info", "{\"zone_id\": 0, \"verbose\": true}",
		      "org.hvisor.InvalidParameter", false);
	ih_call_error(h, "org.hvisor.Manager.GetInfo", "{\"x\": null}",
		      "org.hvisor.InvalidParameter", false);
	ih_call_error(h, "org.varlink.service.GetInterfaceDescription",
		      "{\"interface\": \"org.example.Nope\"}",
		      "org.varlink.service.InterfaceNotFound", false);
	ih_call_error(h, "org.varlink.service.GetInterfaceDescription", "{}",
		      "org.hvisor.InvalidParameter", false);

	/* these errors are not protocol errors: the connection stays usable */
	{
		struct vl_client *c = ih_client(h);

		for (int i = 0; i < 3; i++) {
			reply = ih_call(c, "org.hvisor.Zone.Nope", NULL);
			ih_assert_error(reply, "org.varlink.service.MethodNotFound");
			json_object_put(reply);
			reply = ih_call(c, "org.hvisor.Zone.List", NULL);
			ih_ok(reply);
			json_object_put(reply);
		}
		vl_client_free(c);
	}
}

static void test_subscribe_without_more(void **state)
{
	struct ih *h = *state;
	struct vl_client *c = ih_client(h);
	json_object *reply = ih_call(c, "org.hvisor.Manager.Subscribe", NULL);

	ih_assert_error(reply, "org.varlink.service.ExpectedMore");
	json_object_put(reply);
	/* not a subscriber: ordinary calls still work on this connection */
	reply = ih_call(c, "org.hvisor.Zone.List", NULL);
	ih_ok(reply);
	json_object_put(reply);
	vl_client_free(c);
}

static void test_pipelined(void **state)
{
	struct ih *h = *state;
	static const char calls[] =
		"{\"method\": \"org.hvisor.Manager.GetInfo\"}\0"
		"{\"method\": \"org.hvisor.Zone.List\"}\0"
		"{\"method\": \"org.hvisor.Zone.Info\", \"parameters\": {\"zone_id\": 0}}\0"
		"{\"method\": \"org.hvisor.Zone.Info\", \"parameters\": {\"zone_id\": 42}}\0"
		"{\"method\": \"org.varlink.service.GetInfo\"}\0"
		"{\"method\": \"org.hvisor.Zone.List\", \"oneway\": true}\0"
		"{\"method\": \"org.hvisor.Nope.X\", \"oneway\": true}\0"
		"{\"method\": \"org.hvisor.Zone.Info\", \"parameters\": {\"zone_id\": 0}}";
	int fd = ih_raw_connect(h->sock);
	struct vl_framer frm;
	json_object *r[6], *v;

	vl_framer_init(&frm, VL_MAX_MESSAGE_SIZE);
	ih_raw_send(fd, calls, sizeof(calls)); /* one write */
	for (int i = 0; i < 6; i++)
		assert_int_equal(ih_raw_recv(fd, &frm, IH_TIMEOUT_MS, &r[i]), 1);
	assert_true(json_object_object_get_ex(ih_ok(r[0]), "info", &v));
	assert_true(json_object_object_get_ex(ih_ok(r[1]), "zones", &v));
	assert_true(json_object_object_get_ex(ih_ok(r[2]), "zone", &v));
	ih_assert_error(r[3], "org.hvisor.Zone.NotFound");
	assert_true(json_object_object_get_ex(ih_ok(r[4]), "interfaces", &v));
	/* the two oneway calls got nothing; the last Info is the 6th reply */
	assert_true(json_object_object_get_ex(ih_ok(r[5]), "zone", &v));
	for (int i = 0; i < 6; i++)
		json_object_put(r[i]);
	/* and nothing else arrives */
	{
		json_object *extra = NULL;

		assert_int_equal(ih_raw_recv(fd, &frm, IH_QUIET_MS, &extra), -ETIMEDOUT);
	}
	vl_framer_done(&frm);
	close(fd);
}

static void test_oneway(void **state)
{
	struct ih *h = *state;
	static const char oneway[] = "{\"method\": \"org.hvisor.Zone.List\", \"oneway\": true}";
	int fd = ih_raw_connect(h->sock);
	struct vl_framer frm;
	json_object *reply = NULL;

	vl_framer_init(&frm, VL_MAX_MESSAGE_SIZE);
	ih_raw_send(fd, oneway, sizeof(oneway));
	assert_int_equal(ih_raw_recv(fd, &frm, IH_QUIET_MS, &reply), -ETIMEDOUT);
	/* the connection still works, and the next reply is for the next call */
	{
		static const char info[] = "{\"method\": \"org.hvisor.Manager.GetInfo\"}";
		json_object *v;

		ih_raw_send(fd, info, sizeof(info));
		assert_int_equal(ih_raw_recv(fd, &frm, IH_TIMEOUT_MS, &reply), 1);
		assert_true(json_object_object_get_ex(ih_ok(reply), "info", &v));
		json_object_put(reply);
	}
	vl_framer_done(&frm);
	close(fd);
}

/* Descriptors hvisord got must be closed: the write end of a pipe whose
 * read end then sees EOF once no copy is left. */
static void assert_pipe_closed(int rfd)
{
	struct pollfd p = {.fd = rfd, .events = POLLIN};
	char c;

	assert_int_equal(poll(&p, 1, IH_TIMEOUT_MS), 1);
	assert_int_equal(read(rfd, &c, 1), 0);
}

static void test_fds_to_fdless_method(void **state)
{
	struct ih *h = *state;
	struct vl_client *c = ih_client(h);
	json_object *reply;
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	reply = ih_call_fds(c, "org.hvisor.Zone.List", NULL, &p[1], 1);
	close(p[1]);
	ih_assert_error(reply, "org.hvisor.InvalidParameter");
	json_object_put(reply);
	assert_pipe_closed(p[0]);
	close(p[0]);
	/* the connection stays usable */
	reply = ih_call(c, "org.hvisor.Zone.List", NULL);
	ih_ok(reply);
	json_object_put(reply);
	vl_client_free(c);

	/* also with a method hvisord does not know, and with a oneway call */
	c = ih_client(h);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	reply = ih_call_fds(c, "org.hvisor.Zone.Nope", NULL, &p[1], 1);
	close(p[1]);
	ih_assert_error(reply, "org.varlink.service.MethodNotFound");
	json_object_put(reply);
	assert_pipe_closed(p[0]);
	close(p[0]);
	vl_client_free(c);

	/* more descriptors than one message may carry: protocol error, all closed */
	{
		static const char call[] = "{\"method\": \"org.hvisor.Zone.List\"}";
		int fds[HV_MAX_FDS_PER_MSG + 8];
		int fd = ih_raw_connect(h->sock);
		struct vl_framer frm;

		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
			fds[i] = p[1];
		vl_framer_init(&frm, VL_MAX_MESSAGE_SIZE);
		/* send_with_fds caps at HV_MAX_FDS_PER_MSG: build the cmsg here */
		{
			char cbuf[CMSG_SPACE(sizeof(fds))];
			struct iovec iov = {.iov_base = (void *)call, .iov_len = sizeof(call)};
			struct msghdr mh = {.msg_iov = &iov,
					    .msg_iovlen = 1,
					    .msg_control = cbuf,
					    .msg_controllen = sizeof(cbuf)};
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

			memset(cbuf, 0, sizeof(cbuf));
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(fds));
			memcpy(CMSG_DATA(cm), fds, sizeof(fds));
			ih_note_sent(fd, call, sizeof(call));
			assert_int_equal(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)sizeof(call));
		}
		close(p[1]);
		assert_int_equal(ih_raw_recv(fd, &frm, IH_TIMEOUT_MS, &reply), 1);
		ih_assert_error(reply, "org.hvisor.ProtocolError");
		json_object_put(reply);
		ih_assert_closed(fd, &frm);
		assert_pipe_closed(p[0]);
		close(p[0]);
		vl_framer_done(&frm);
		close(fd);
	}
}

/* A Start whose client hangs up before the reply: the zone starts
 * completely or not at all, and hvisord keeps serving. */
static void test_start_then_disconnect(void **state)
{
	struct ih *h = *state;
	char *cfg = ih_make_zone(h, "zone1", 24 * MiB + 3, 4096);
	char *kpath = ih_path(h, "zone1-kernel.bin"), *dpath = ih_path(h, "zone1.dtb");

	for (int round = 0; round < 3; round++) {
		struct vl_client *c = ih_client(h);
		uint32_t ids[8], sim_ids[8];
		int n, sn;

		ih_send_start(h, c, cfg);
		vl_client_free(c); /* gone before the reply */

		ih_wait_settled(h);
		n = ih_zone_ids(h, ids, 8);
		sn = ih_sim_zone_ids(h, sim_ids, 8);
		assert_int_equal(n, sn);
		for (int i = 0; i < n; i++)
			assert_int_equal(ids[i], sim_ids[i]);
		if (n == 2) {
			/* started: completely */
			assert_int_equal(ids[1], 1);
			ih_assert_phys_equals_file(h, ih_layout("zone1").kernel, kpath);
			if (ih_layout("zone1").dtb_loaded)
				ih_assert_phys_equals_file(h, ih_layout("zone1").dtb, dpath);
			{
				struct ih_out o;

				assert_int_equal(ih_hvctl(h, &o, "zone", "shutdown", "1", NULL), 0);
				ih_out_free(&o);
			}
		} else
			assert_int_equal(n, 1);
		ih_assert_serving(h);
	}
	free(cfg);
	free(kpath);
	free(dpath);
}

static void test_service_introspection(void **state)
{
	struct ih *h = *state;
	static const char *const ifaces[] = {"org.varlink.service", "org.hvisor",
					     "org.hvisor.Manager", "org.hvisor.Zone",
					     "org.hvisor.Virtio"};
	struct vl_client *c = ih_client(h);
	json_object *reply = ih_call(c, "org.varlink.service.GetInfo", NULL), *p, *v, *list;

	p = ih_ok(reply);
	assert_true(json_object_object_get_ex(p, "vendor", &v));
	assert_true(json_object_get_string_len(v) > 0);
	assert_true(json_object_object_get_ex(p, "product", &v));
	assert_string_equal(json_object_get_string(v), "hvisord");
	assert_true(json_object_object_get_ex(p, "version", &v));
	assert_string_equal(json_object_get_string(v), HV_VERSION);
	assert_true(json_object_object_get_ex(p, "url", &v));
	assert_true(json_object_object_get_ex(p, "interfaces", &list));
	for (size_t i = 0; i < ARRAY_SIZE(ifaces); i++) {
		bool found = false;

		for (size_t k = 0; k < json_object_array_length(list); k++)
			found |= strcmp(json_object_get_string(json_object_array_get_idx(list, k)),
					ifaces[i]) == 0;
		if (!found)
			fail_msg("GetInfo does not list %s", ifaces[i]);
	}
	/* every listed interface has a description */
	for (size_t k = 0; k < json_object_array_length(list); k++) {
		const char *name = json_object_get_string(json_object_array_get_idx(list, k));
		char params[200], want[200];
		json_object *d;
		const char *text;

		snprintf(params, sizeof(params), "{\"interface\": \"%s\"}", name);
		d = ih_call(c, "org.varlink.service.GetInterfaceDescription", params);
		assert_true(json_object_object_get_ex(ih_ok(d), "description", &v));
		text = json_object_get_string(v);
		assert_true(strncmp(text, "# ", 2) == 0);
		/* the text compiled in, which the harness checks every reply with */
		assert_non_null(vl_interface_description(name));
		assert_string_equal(text, vl_interface_description(name));
		snprintf(want, sizeof(want), "\ninterface %s\n", name);
		if (!strstr(text, want))
			fail_msg("description of %s lacks '%s'", name, want);
		if (strcmp(name, "org.hvisor.Zone") == 0) {
			assert_non_null(strstr(text, "method Start("));
			assert_non_null(strstr(text, "error CpuBusy"));
		}
		json_object_put(d);
	}
	json_object_put(reply);
	vl_client_free(c);
}

/* Manager.GetInfo, and SetLogLevel's round trip through it. */
static void test_manager_info(void **state)
{
	struct ih *h = *state;
	struct vl_client *c = ih_client(h);
	json_object *reply, *p, *v;

	reply = ih_call(c, "org.hvisor.Manager.GetInfo", NULL);
	assert_true(json_object_object_get_ex(ih_ok(reply), "info", &p));
	assert_true(json_object_object_get_ex(p, "version", &v));
	assert_string_equal(json_object_get_string(v), HV_VERSION);
	assert_true(json_object_object_get_ex(p, "api_major", &v));
	assert_int_equal(json_object_get_int(v), 1);
	assert_true(json_object_object_get_ex(p, "api_minor", &v));
	assert_true(json_object_is_type(v, json_type_int));
	assert_true(json_object_object_get_ex(p, "backend", &v));
	assert_string_equal(json_object_get_string(v), ih_backend_kind());
	assert_true(json_object_object_get_ex(p, "backend_path", &v));
	assert_string_equal(json_object_get_string(v), ih_backend_path(h));
	assert_true(json_object_object_get_ex(p, "arch", &v));
	assert_string_equal(json_object_get_string(v), ih_arch());
	assert_true(json_object_object_get_ex(p, "config_magic", &v));
	assert_int_equal(json_object_get_int(v), 6);
	assert_true(json_object_object_get_ex(p, "config_magic_supported", &v));
	assert_true(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(p, "cpus", &v));
	assert_int_equal(json_object_get_int(v), ih_cpus());
	assert_true(json_object_object_get_ex(p, "log_level", &v));
	assert_string_equal(json_object_get_string(v), "info");
	assert_true(json_object_object_get_ex(p, "features", &v));
	assert_true(json_object_is_type(v, json_type_array));
	assert_non_null(strstr(json_object_to_json_string(v), "\"zone-lifecycle\""));
	json_object_put(reply);

	/* SetLogLevel round trip */
	reply = ih_call(c, "org.hvisor.Manager.SetLogLevel", "{\"level\": \"debug\"}");
	assert_true(json_object_object_get_ex(ih_ok(reply), "previous", &v));
	assert_string_equal(json_object_get_string(v), "info");
	json_object_put(reply);
	reply = ih_call(c, "org.hvisor.Manager.SetLogLevel", "{\"level\": \"loud\"}");
	ih_assert_error(reply, "org.hvisor.InvalidParameter");
	json_object_put(reply);
	reply = ih_call(c, "org.hvisor.Manager.GetInfo", NULL);
	assert_true(json_object_object_get_ex(ih_ok(reply), "info", &p));
	assert_true(json_object_object_get_ex(p, "log_level", &v));
	assert_string_equal(json_object_get_string(v), "debug");
	json_object_put(reply);
	reply = ih_call(c, "org.hvisor.Manager.SetLogLevel", "{\"level\": \"info\"}");
	ih_ok(reply);
	json_object_put(reply);
	vl_client_free(c);
}

/* The harness's check of what arrives (harness-check.c) on a socketpair
 * that plays hvisord: replies are matched to the calls sent, in order. */
static int check_msg(int fd, const char *json)
{
	json_object *o = json_tokener_parse(json);
	char err[512];
	int r;

	assert_non_null(o);
	r = ih_check_received(fd, o, err, sizeof(err));
	json_object_put(o);
	return r;
}

static void test_reply_checker(void **state)
{
	static const char calls[] =
		"{\"method\": \"org.hvisor.Zone.List\"}\0"
		"{\"method\": \"org.hvisor.Manager.SetLogLevel\", \"oneway\": true}\0"
		"{\"method\": \"org.hvisor.Manager.SetLogLevel\"}\0"
		"{\"method\": \"org.hvisor.Manager.Subscribe\", \"more\": true}\0"
		"{\"method\": \"org.hvisor.Zone.List\"";
	static const char list[] = "{\"parameters\": {\"zones\": []}}";
	static const char level[] = "{\"parameters\": {\"previous\": \"info\", \"virtiods\": []}}";
	static const char event[] =
		"{\"parameters\": {\"event\": {\"event\": \"Subscribed\", "
		"\"timestamp_usec\": 1, \"monotonic_usec\": 2}}, \"continues\": true}";
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	/* nothing sent yet: an error is checked on its own, a reply answers nothing */
	assert_int_equal(
		check_msg(sv[0],
			  "{\"error\": \"org.hvisor.LimitExceeded\", "
			  "\"parameters\": {\"limit\": \"connections\", \"message\": \"m\"}}"),
		0);
	assert_int_equal(check_msg(sv[0],
				   "{\"error\": \"org.hvisor.LimitExceeded\", "
				   "\"parameters\": {\"limit\": \"zones\", \"message\": \"m\"}}"),
			 -EINVAL);
	assert_int_equal(check_msg(sv[0], list), -EINVAL);
	ih_note_sent(sv[0], calls, sizeof(calls) - 1);
	/* in order: the List first, the oneway call gets none */
	assert_int_equal(check_msg(sv[0], level), -EINVAL); /* taken as List's */
	assert_int_equal(check_msg(sv[0], level), 0);
	/* the Subscribe: any number of replies that continue */
	assert_int_equal(check_msg(sv[0], event), 0);
	assert_int_equal(check_msg(sv[0], event), 0);
	assert_int_equal(
		check_msg(sv[0],
			  "{\"parameters\": {\"event\": {\"event\": 1, "
			  "\"timestamp_usec\": 1, \"monotonic_usec\": 2}}, \"continues\": true}"),
		-EINVAL);
	/* its last reply; the partial List call has no reply to take yet */
	assert_int_equal(check_msg(sv[0], "{\"error\": \"org.hvisor.Internal\", "
					  "\"parameters\": {\"message\": \"m\"}}"),
			 0);
	assert_int_equal(check_msg(sv[0], list), -EINVAL);
	/* the rest of it arrives: "continues" without "more" is wrong */
	ih_note_sent(sv[0], "}\0", 2);
	assert_int_equal(check_msg(sv[0], "{\"parameters\": {\"zones\": []}, \"continues\": true}"),
			 -EINVAL);
	assert_int_equal(check_msg(sv[0], list), 0);
	/* an invalid call is answered by an error only */
	ih_note_sent(sv[0], "{\"method\": 1}\0", 14);
	assert_int_equal(check_msg(sv[0], list), -EINVAL);
	close(sv[0]);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_half_message_then_disconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_nul_at_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_utf8_parameter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_parameters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscribe_without_more, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oneway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fds_to_fdless_method, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_then_disconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_service_introspection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manager_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_checker, setup, teardown),
	};

	ih_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, ih_reap);
}
