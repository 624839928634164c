// SPDX-License-Identifier: GPL-2.0-only
/* Varlink framing, call/parameter checking and the blocking client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "util.h"
#include "varlink.h"

#define LIMIT 256

static struct vl_framer framer(size_t max)
{
	struct vl_framer f;

	vl_framer_init(&f, max);
	return f;
}

static void feed(struct vl_framer *f, const char *s, size_t n)
{
	assert_int_equal(vl_framer_feed(f, s, n), 0);
}

static void test_single(void **state)
{
	struct vl_framer f = framer(LIMIT);
	json_object *o = NULL;
	uint64_t off = 99;

	feed(&f, "{\"method\":\"a.b.C\"}", 19);
	assert_int_equal(vl_framer_next(&f, &o, &off), 1);
	assert_int_equal(off, 0);
	assert_string_equal(json_object_get_string(json_object_object_get(o, "method")), "a.b.C");
	assert_true(vl_framer_empty(&f));
	assert_int_equal(vl_framer_eof(&f), 0);
	json_object_put(o);
	vl_framer_done(&f);
}

static void test_partial_bytes(void **state)
{
	static const char msg[] = "{\"method\":\"x.Y\",\"parameters\":{\"a\":[1,2,{\"b\":\"c\"}]}}";
	struct vl_framer f = framer(LIMIT);
	json_object *o = NULL;

	/* one byte per read, as a slow client would send */
	for (size_t i = 0; i < sizeof(msg) - 1; i++) {
		feed(&f, msg + i, 1);
		assert_int_equal(vl_framer_next(&f, &o, NULL), 0);
		assert_int_equal(vl_framer_eof(&f), -EBADMSG);
	}
	feed(&f, "", 1); /* the NUL */
	assert_int_equal(vl_framer_next(&f, &o, NULL), 1);
	assert_int_equal(
		json_object_get_int(json_object_array_get_idx(
			json_object_object_get(json_object_object_get(o, "parameters"), "a"), 1)),
		2);
	json_object_put(o);
	vl_framer_done(&f);
}

static void test_several_in_one_read(void **state)
{
	static const char buf[] = "{\"n\":1}\0{\"n\":2}\0 {\"n\":3} \0{\"n\":";
	struct vl_framer f = framer(LIMIT);
	json_object *o;
	uint64_t off;

	feed(&f, buf, sizeof(buf) - 1);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(vl_framer_next(&f, &o, &off), 1);
		assert_int_equal(json_object_get_int(json_object_object_get(o, "n")), i);
		json_object_put(o);
	}
	/* offsets count from the start of the stream */
	assert_int_equal(off, 16);
	assert_int_equal(vl_framer_next(&f, &o, NULL), 0);
	feed(&f, "4}", 3);
	assert_int_equal(vl_framer_next(&f, &o, &off), 1);
	assert_int_equal(off, 26);
	assert_int_equal(json_object_get_int(json_object_object_get(o, "n")), 4);
	json_object_put(o);
	vl_framer_done(&f);
}

static void test_oversize(void **state)
{
	struct vl_framer f = framer(64);
	char big[200];
	json_object *o;
	size_t avail;
	char *p;

	/* unterminated and already over the limit */
	memset(big, ' ', sizeof(big));
	big[0] = '{';
	feed(&f, big, 64);
	assert_int_equal(vl_framer_next(&f, &o, NULL), -EMSGSIZE);
	assert_int_equal(vl_framer_reserve(&f, &p, &avail), -EMSGSIZE);
	vl_framer_done(&f);

	/* terminated, but longer than the limit */
	f = framer(64);
	snprintf(big, sizeof(big), "{\"k\":\"%070d\"}", 0);
	feed(&f, big, strlen(big) + 1);
	assert_int_equal(vl_framer_next(&f, &o, NULL), -EMSGSIZE);
	vl_framer_done(&f);

	/* exactly at the limit (63 bytes + NUL) is fine */
	f = framer(64);
	snprintf(big, sizeof(big), "{\"k\":\"%055d\"}", 0);
	assert_int_equal(strlen(big), 63);
	feed(&f, big, 64);
	assert_int_equal(vl_framer_next(&f, &o, NULL), 1);
	json_object_put(o);
	vl_framer_done(&f);
}

static void expect_bad(const char *s)
{
	struct vl_framer f = framer(LIMIT);
	json_object *o = NULL;

	feed(&f, s, strlen(s) + 1);
	assert_int_equal(vl_framer_next(&f, &o, NULL), -EBADMSG);
	assert_null(o);
	vl_framer_done(&f);
}

static void test_invalid(void **state)
{
	expect_bad("");
	expect_bad("{");
	expect_bad("{\"a\":}");
	expect_bad("[1,2]");
	expect_bad("\"str\"");
	expect_bad("42");
	expect_bad("null");
	expect_bad("{}x");
	expect_bad("{} {}");
	expect_bad("{\"a\":1,}");
	expect_bad("\xff\xfe{}");
}

static json_object *parse1(const char *s)
{
	struct vl_framer f = framer(LIMIT);
	json_object *o = NULL;

	feed(&f, s, strlen(s) + 1);
	assert_int_equal(vl_framer_next(&f, &o, NULL), 1);
	vl_framer_done(&f);
	return o;
}

/* The framer leaves UTF-8 to vl_check_utf8, which names the string. */
static void test_utf8(void **state)
{
	static const struct {
		const char *json, *path, *msg;
	} bad[] = {
		{"{\"a\":\"\xc3\x28\"}", "a", "not valid UTF-8"},	       /* no continuation */
		{"{\"a\":[1,\"x\",\"\xc0\xaf\"]}", "a[2]", "not valid UTF-8"}, /* overlong '/' */
		{"{\"a\":{\"b\":\"\xe0\x80\xaf\"}}", "a.b", "not valid UTF-8"}, /* overlong */
		{"{\"a\":\"\xed\xa0\x80\"}", "a", "not valid UTF-8"},		/* surrogate */
		{"{\"a\":\"\xf4\x90\x80\x80\"}", "a", "not valid UTF-8"},	/* > U+10FFFF */
		{"{\"a\":\"\xe2\x82\"}", "a", "not valid UTF-8"},		/* cut short */
		{"{\"a\":\"\x80\"}", "a", "not valid UTF-8"}, /* lone continuation */
		{"{\"a\":{\"\xff\":1}}", "a", "a key is not valid UTF-8"},
	};
	json_object *o;
	struct hv_error err;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		o = parse1(bad[i].json);
		memset(&err, 0, sizeof(err));
		assert_int_equal(vl_check_utf8(o, "", &err), -EILSEQ);
		assert_string_equal(err.path, bad[i].path);
		assert_string_equal(err.message, bad[i].msg);
		json_object_put(o);
	}
	/* a prefix goes in front */
	o = parse1("{\"a\":\"\xff\"}");
	assert_int_equal(vl_check_utf8(o, "config", &err), -EILSEQ);
	assert_string_equal(err.path, "config.a");
	json_object_put(o);
	/* valid: 2, 3 and 4 byte forms, escapes, U+10FFFF */
	o = parse1("{\"\xc3\xa9\":[\"\xe2\x82\xac\",\"\xf0\x9f\x98\x80\",\"\\u00e9\","
		   "\"\xf4\x8f\xbf\xbf\",1,null]}");
	assert_int_equal(vl_check_utf8(o, "", &err), 0);
	json_object_put(o);
	/* outside the parameters, a call must be valid UTF-8 */
	{
		struct vl_call c;
		char e[128];

		o = parse1("{\"method\":\"a.b\xff\"}");
		assert_int_equal(vl_call_parse(o, &c, e, sizeof(e)), -EBADMSG);
		assert_string_equal(e, "the call is not valid UTF-8");
		json_object_put(o);
		o = parse1("{\"method\":\"a.b\",\"parameters\":{\"x\":\"\xff\"}}");
		assert_int_equal(vl_call_parse(o, &c, e, sizeof(e)), 0);
		assert_int_equal(vl_check_utf8(c.parameters, "", &err), -EILSEQ);
		assert_string_equal(err.path, "x");
		json_object_put(o);
	}
	(void)state;
}

static void nested(char *buf, int depth)
{
	int n = 0;

	for (int i = 0; i < depth; i++)
		n += sprintf(buf + n, "{\"a\":");
	n += sprintf(buf + n, "1");
	for (int i = 0; i < depth; i++)
		buf[n++] = '}';
	buf[n] = '\0';
}

static void test_depth(void **state)
{
	char buf[1024];
	struct vl_framer f = framer(LIMIT * 4);
	json_object *o;

	nested(buf, VL_MAX_DEPTH);
	feed(&f, buf, strlen(buf) + 1);
	assert_int_equal(vl_framer_next(&f, &o, NULL), 1);
	json_object_put(o);
	vl_framer_done(&f);

	nested(buf, VL_MAX_DEPTH + 1);
	expect_bad(buf);
	nested(buf, 100);
	f = framer(4096);
	feed(&f, buf, strlen(buf) + 1);
	assert_int_equal(vl_framer_next(&f, &o, NULL), -EBADMSG);
	vl_framer_done(&f);
}

static void test_eof(void **state)
{
	struct vl_framer f = framer(LIMIT);
	json_object *o;

	assert_int_equal(vl_framer_eof(&f), 0);
	feed(&f, "{\"a\":1}", 7); /* no NUL */
	assert_int_equal(vl_framer_next(&f, &o, NULL), 0);
	assert_int_equal(vl_framer_eof(&f), -EBADMSG);
	vl_framer_done(&f);
}

static void test_large_stream(void **state)
{
	/* growth of the buffer across many messages */
	struct vl_framer f = framer(VL_MAX_MESSAGE_SIZE);
	char msg[64];
	int got = 0;

	for (int i = 0; i < 5000; i++) {
		json_object *o;
		int n = snprintf(msg, sizeof(msg), "{\"i\":%d}", i);

		feed(&f, msg, (size_t)n + 1);
		if (i % 7 == 6)
			while (vl_framer_next(&f, &o, NULL) == 1) {
				assert_int_equal(
					json_object_get_int(json_object_object_get(o, "i")), got++);
				json_object_put(o);
			}
	}
	for (json_object *o; vl_framer_next(&f, &o, NULL) == 1; got++)
		json_object_put(o);
	assert_int_equal(got, 5000);
	vl_framer_done(&f);
}

static int parse_call(const char *s, struct vl_call *call, json_object **ret)
{
	char err[128];

	*ret = json_tokener_parse(s);
	assert_non_null(*ret);
	return vl_call_parse(*ret, call, err, sizeof(err));
}

static void test_call_parse(void **state)
{
	struct vl_call c;
	json_object *o;

	assert_int_equal(parse_call("{\"method\":\"org.hvisor.Zone.List\"}", &c, &o), 0);
	assert_string_equal(c.method, "org.hvisor.Zone.List");
	assert_non_null(c.parameters);
	assert_int_equal(json_object_object_length(c.parameters), 0);
	assert_false(c.more);
	json_object_put(o);

	assert_int_equal(
		parse_call("{\"method\":\"a.B\",\"parameters\":{\"x\":1},\"more\":true}", &c, &o),
		0);
	assert_true(c.more);
	assert_false(c.oneway);
	json_object_put(o);

	/* "parameters": null (the reference Go client's call without
	 * parameters) is the same call as no "parameters" at all */
	assert_int_equal(
		parse_call("{\"method\":\"org.hvisor.Zone.List\",\"parameters\":null}", &c, &o), 0);
	assert_non_null(c.parameters);
	assert_true(json_object_is_type(c.parameters, json_type_object));
	assert_int_equal(json_object_object_length(c.parameters), 0);
	json_object_put(o);

	static const char *const bad[] = {
		"{}",
		"{\"method\":1}",
		"{\"method\":\"\"}",
		"{\"method\":\"a.B\",\"parameters\":[]}",
		"{\"method\":\"a.B\",\"oneway\":1}",
		"{\"method\":\"a.B\",\"more\":true,\"oneway\":true}",
		"{\"method\":\"a.B\",\"upgrade\":true}",
		"{\"method\":\"a.B\",\"extra\":0}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(parse_call(bad[i], &c, &o), -EBADMSG);
		json_object_put(o);
	}
}

static void test_params(void **state)
{
	json_object *id, *name, *p;
	const struct vl_param spec[] = {
		{"zone_id", json_type_int, true, &id},
		{"name", json_type_string, false, &name},
	};
	struct hv_error err;

	p = json_tokener_parse("{\"zone_id\":3}");
	assert_int_equal(vl_params_parse(p, spec, 2, &err), 0);
	assert_int_equal(json_object_get_int(id), 3);
	assert_null(name);
	json_object_put(p);

	p = json_tokener_parse("{\"zone_id\":3,\"bogus\":1}");
	assert_int_equal(vl_params_parse(p, spec, 2, &err), -EINVAL);
	assert_string_equal(err.path, "bogus");
	json_object_put(p);

	p = json_tokener_parse("{\"zone_id\":\"3\"}");
	assert_int_equal(vl_params_parse(p, spec, 2, &err), -EINVAL);
	assert_string_equal(err.path, "zone_id");
	assert_non_null(strstr(err.message, "integer"));
	json_object_put(p);

	p = json_tokener_parse("{\"zone_id\":-1}");
	assert_int_equal(vl_params_parse(p, spec, 2, &err), -EINVAL);
	assert_non_null(strstr(err.message, "negative"));
	json_object_put(p);

	p = json_tokener_parse("{\"name\":\"x\"}");
	assert_int_equal(vl_params_parse(p, spec, 2, &err), -EINVAL);
	assert_string_equal(err.path, "zone_id");
	assert_string_equal(err.message, "missing");
	json_object_put(p);

	p = json_tokener_parse("{\"x\":1}");
	assert_int_equal(vl_params_parse(p, NULL, 0, &err), -EINVAL);
	json_object_put(p);
}

static void test_messages(void **state)
{
	json_object *m = vl_error_newf(VL_ERROR_ZONE_NOT_FOUND, "no zone %d", 7), *back;
	const char *s;
	size_t len;

	s = vl_message_serialize(m, &len);
	assert_int_equal(s[len - 1], '\0');
	assert_int_equal(strlen(s), len - 1);
	back = json_tokener_parse(s);
	assert_string_equal(vl_reply_error(back), VL_ERROR_ZONE_NOT_FOUND);
	assert_string_equal(vl_reply_error_message(back), "no zone 7");
	assert_false(vl_reply_continues(back));
	json_object_put(back);
	json_object_put(m);

	m = vl_reply_new(NULL, true);
	assert_null(vl_reply_error(m));
	assert_true(vl_reply_continues(m));
	assert_int_equal(json_object_object_length(vl_reply_parameters(m)), 0);
	json_object_put(m);

	/* a reply without "parameters" reads as empty */
	m = json_tokener_parse("{}");
	assert_int_equal(json_object_object_length(vl_reply_parameters(m)), 0);
	assert_string_equal(vl_reply_error_message(m), "");
	json_object_put(m);
}

static void test_client_fds(void **state)
{
	struct vl_client c = {.fd = -1};
	int sv[2], p[2], fds[4];
	size_t n_fds = 0;
	char buf[512];
	json_object *msg, *reply = NULL;
	ssize_t k;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pipe(p), 0);
	c.fd = sv[0];
	vl_framer_init(&c.in, VL_MAX_MESSAGE_SIZE);

	msg = vl_call_new("org.hvisor.Zone.Start", json_object_new_object(), false);
	assert_int_equal(vl_client_send(&c, msg, &p[0], 1), 0);
	json_object_put(msg);
	k = recv_with_fds(sv[1], buf, sizeof(buf), fds, 4, &n_fds, 0);
	assert_true(k > 0);
	assert_int_equal(buf[k - 1], '\0');
	assert_int_equal(n_fds, 1);
	/* the received descriptor is the pipe's read end */
	assert_int_equal(write(p[1], "z", 1), 1);
	assert_int_equal(read(fds[0], buf, 1), 1);
	assert_int_equal(buf[0], 'z');
	close(fds[0]);

	/* two replies in one write, then a partial one and EOF */
	static const char two[] = "{\"parameters\":{\"n\":1}}\0{\"parameters\":{\"n\":2}}\0{\"par";
	assert_int_equal(write(sv[1], two, sizeof(two) - 1), (ssize_t)sizeof(two) - 1);
	for (int i = 1; i <= 2; i++) {
		assert_int_equal(vl_client_recv(&c, &reply), 0);
		assert_int_equal(json_object_get_int(
					 json_object_object_get(vl_reply_parameters(reply), "n")),
				 i);
		json_object_put(reply);
	}
	close(sv[1]);
	assert_int_equal(vl_client_recv(&c, &reply), -ECONNRESET);

	close(p[0]);
	close(p[1]);
	close(sv[0]);
	vl_framer_done(&c.in);
}

/* One message per SOCK_SEQPACKET packet (hvisord <-> hvisor-virtiod). */
static void test_recv_packet(void **state)
{
	static const char one[] = "{\"method\":\"a.B\"}", two[] = "{\"a\":1}\0{\"b\":2}",
			  cut[] = "{\"a\":", junk[] = "nope";
	static const char *const bad[] = {two, cut, junk};
	static const size_t bad_len[] = {sizeof(two), sizeof(cut) - 1, sizeof(junk)};
	int sv[2], p[2], fds[2];
	json_object *msg;
	size_t n_fds;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(vl_recv_packet(sv[1], fds, 2, &n_fds, &msg), -EAGAIN);
	assert_int_equal(send_with_fds(sv[0], one, sizeof(one), &p[0], 1, 0), sizeof(one));
	assert_int_equal(vl_recv_packet(sv[1], fds, 2, &n_fds, &msg), 1);
	assert_string_equal(json_object_get_string(json_object_object_get(msg, "method")), "a.B");
	assert_int_equal(n_fds, 1);
	close(fds[0]);
	json_object_put(msg);
	/* two messages, a cut one, not JSON: refused, descriptors still given */
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(send_with_fds(sv[0], bad[i], bad_len[i], &p[1], 1, 0),
				 (ssize_t)bad_len[i]);
		assert_int_equal(vl_recv_packet(sv[1], fds, 2, &n_fds, &msg), -EBADMSG);
		assert_null(msg);
		assert_int_equal(n_fds, 1);
		close(fds[0]);
	}
	close(sv[0]);
	assert_int_equal(vl_recv_packet(sv[1], fds, 2, &n_fds, &msg), 0);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}

static void test_connect_errors(void **state)
{
	struct vl_client *c = NULL;
	char path[200];

	assert_int_equal(vl_client_connect("/nonexistent/dir/hvisord.sock", &c), -ENOENT);
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(vl_client_connect(path, &c), -ENAMETOOLONG);
	assert_null(vl_client_free(NULL));
}

static void test_interfaces(void **state)
{
	assert_true(vl_n_interfaces >= 4);
	for (size_t i = 0; i < vl_n_interfaces; i++) {
		char want[128];

		snprintf(want, sizeof(want), "\ninterface %s\n", vl_interfaces[i].name);
		assert_int_equal(vl_interfaces[i].description[0], '#');
		assert_non_null(strstr(vl_interfaces[i].description, want));
		assert_ptr_equal(vl_interface_description(vl_interfaces[i].name),
				 vl_interfaces[i].description);
	}
	/* every error name the daemon sends is declared in some interface */
	static const char *const errors[] = {
		VL_ERROR_INVALID_PARAMETER,
		VL_ERROR_PERMISSION_DENIED,
		VL_ERROR_KERNEL,
		VL_ERROR_NOT_SUPPORTED,
		VL_ERROR_LIMIT,
		VL_ERROR_BUSY,
		VL_ERROR_PROTOCOL,
		VL_ERROR_INTERNAL,
		VL_ERROR_ZONE_NOT_FOUND,
		VL_ERROR_ZONE_EXISTS,
		VL_ERROR_ZONE_CPU_BUSY,
		VL_ERROR_ZONE_MEMORY_OVERLAP,
		VL_ERROR_METHOD_NOT_FOUND,
		VL_ERROR_INTERFACE_NOT_FOUND,
		VL_ERROR_EXPECTED_MORE,
	};
	for (size_t i = 0; i < ARRAY_SIZE(errors); i++) {
		const char *dot = strrchr(errors[i], '.');
		char iface[96], decl[96];
		const char *desc;

		snprintf(iface, sizeof(iface), "%.*s", (int)(dot - errors[i]), errors[i]);
		snprintf(decl, sizeof(decl), "\nerror %s (", dot + 1);
		desc = vl_interface_description(iface);
		assert_non_null(desc);
		assert_non_null(strstr(desc, decl));
	}
	assert_null(vl_interface_description("org.example.Nope"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single),
		cmocka_unit_test(test_partial_bytes),
		cmocka_unit_test(test_several_in_one_read),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_eof),
		cmocka_unit_test(test_large_stream),
		cmocka_unit_test(test_call_parse),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_client_fds),
		cmocka_unit_test(test_recv_packet),
		cmocka_unit_test(test_connect_errors),
		cmocka_unit_test(test_interfaces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
