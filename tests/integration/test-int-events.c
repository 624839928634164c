// SPDX-License-Identifier: GPL-2.0-only
/* org.hvisor.Manager.Subscribe and hvctl events. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "util.h"

/* The next event: its name; zone id and name checked if given. */
static void expect_event(struct vl_client *c, const char *name, int64_t zone_id,
			 const char *zone_name)
{
	json_object *reply = NULL, *e, *v;

	assert_int_equal(ih_recv(c, IH_TIMEOUT_MS, &reply), 1);
	assert_true(vl_reply_continues(reply));
	assert_true(json_object_object_get_ex(ih_ok(reply), "event", &e));
	assert_true(json_object_object_get_ex(e, "event", &v));
	if (strcmp(json_object_get_string(v), name) != 0)
		fail_msg("expected event %s, got %s", name, json_object_to_json_string(e));
	assert_true(json_object_object_get_ex(e, "timestamp_usec", &v));
	assert_true(json_object_get_int64(v) > 0);
	assert_true(json_object_object_get_ex(e, "monotonic_usec", &v));
	assert_true(json_object_get_int64(v) > 0);
	if (zone_id >= 0) {
		assert_true(json_object_object_get_ex(e, "zone_id", &v));
		assert_int_equal(json_object_get_int64(v), zone_id);
		assert_true(json_object_object_get_ex(e, "name", &v));
		assert_string_equal(json_object_get_string(v), zone_name);
	}
	json_object_put(reply);
}

static void expect_nothing(struct vl_client *c)
{
	json_object *reply = NULL;
	int r = ih_recv(c, IH_QUIET_MS, &reply);

	if (r == 1) {
		fprintf(stderr, "# unexpected: %s\n", json_object_to_json_string(reply));
		json_object_put(reply);
	}
	assert_int_equal(r, -ETIMEDOUT);
}

static void hvctl_ok(struct ih *h, const char *a, const char *b, const char *c)
{
	struct ih_out o;

	if (ih_hvctl(h, &o, a, b, c, NULL) != 0)
		fail_msg("hvctl %s %s %s: %s", a, b, c ? c : "", o.err);
	ih_out_free(&o);
}

static void test_subscriber_gets_events(void **state)
{
	struct ih *h = ih_start(NULL);
	char *z1 = ih_make_zone(h, "zone1", 8192, 4096), *z2 = ih_make_zone(h, "zone2", 100, 10);
	struct vl_client *s1 = ih_subscribe(h), *s2 = ih_subscribe(h);
	struct ih_out o;

	hvctl_ok(h, "zone", "start", z1);
	expect_event(s1, "ZoneStarted", 1, "zone1");
	expect_event(s2, "ZoneStarted", 1, "zone1");
	/* a refused start is no event */
	assert_int_equal(ih_hvctl(h, &o, "zone", "start", z1, NULL), 1);
	ih_out_free(&o);
	expect_nothing(s1);
	hvctl_ok(h, "zone", "start", z2);
	expect_event(s1, "ZoneStarted", 2, "zone2");
	hvctl_ok(h, "zone", "shutdown", "1");
	expect_event(s1, "ZoneStopped", 1, "zone1");
	hvctl_ok(h, "zone", "shutdown", "2");
	expect_event(s1, "ZoneStopped", 2, "zone2");
	expect_event(s2, "ZoneStarted", 2, "zone2");
	expect_event(s2, "ZoneStopped", 1, "zone1");
	expect_event(s2, "ZoneStopped", 2, "zone2");
	expect_nothing(s2);

	/* a zone shut down behind hvisord's back vanishes */
	hvctl_ok(h, "zone", "start", z1);
	expect_event(s1, "ZoneStarted", 1, "zone1");
	ih_backend_zone_shutdown(h, 1);
	hvctl_ok(h, "zone", "list", NULL);
	expect_event(s1, "ZoneVanished", 1, "zone1");

	/* a subscriber may only listen: a call is a protocol error */
	{
		json_object *msg = vl_call_new("org.hvisor.Zone.List", NULL, false), *reply = NULL;

		assert_int_equal(ih_send(s1, msg, NULL, 0), 0);
		json_object_put(msg);
		for (;;) {
			assert_int_equal(ih_recv(s1, IH_TIMEOUT_MS, &reply), 1);
			if (vl_reply_error(reply))
				break;
			json_object_put(reply); /* events still in flight */
		}
		ih_assert_error(reply, "org.hvisor.ProtocolError");
		json_object_put(reply);
		assert_int_equal(ih_recv(s1, IH_TIMEOUT_MS, &reply), -ECONNRESET);
	}
	vl_client_free(s1);
	/* the other one is unaffected */
	hvctl_ok(h, "zone", "start", z2);
	expect_event(s2, "ZoneStarted", 1, "zone1");
	expect_event(s2, "ZoneVanished", 1, "zone1");
	expect_event(s2, "ZoneStarted", 2, "zone2");
	vl_client_free(s2);
	free(z1);
	free(z2);
	ih_assert_serving(h);
	ih_stop(h);
}

static void test_hvctl_events(void **state)
{
	struct ih *h = ih_start(NULL);
	char *z1 = ih_make_zone(h, "zone1", 8192, 4096);
	const char *argv_json[] = {ih_bin_hvctl(), "events", "--json", NULL};
	const char *argv_human[] = {ih_bin_hvctl(), "events", NULL};
	struct ih_lines *lj = calloc(1, sizeof(*lj)), *lh = calloc(1, sizeof(*lh));
	char line[4096];
	pid_t pj, ph;
	json_object *e, *v;
	int status;

	assert_non_null(lj);
	assert_non_null(lh);
	pj = ih_spawn_bg(h, argv_json, &lj->fd);
	ph = ih_spawn_bg(h, argv_human, &lh->fd);
	/* the first line says the subscription is in place */
	assert_true(ih_read_line(lj, line, sizeof(line), IH_TIMEOUT_MS) > 0);
	e = json_tokener_parse(line);
	assert_non_null(e);
	assert_true(json_object_object_get_ex(e, "event", &v));
	assert_string_equal(json_object_get_string(v), "Subscribed");
	json_object_put(e);
	assert_true(ih_read_line(lh, line, sizeof(line), IH_TIMEOUT_MS) > 0);
	assert_non_null(strstr(line, "Subscribed"));

	hvctl_ok(h, "zone", "start", z1);
	hvctl_ok(h, "zone", "shutdown", "1");
	for (int i = 0; i < 2; i++) {
		assert_true(ih_read_line(lj, line, sizeof(line), IH_TIMEOUT_MS) > 0);
		e = json_tokener_parse(line);
		if (!e)
			fail_msg("not one JSON object per line: %s", line);
		assert_true(json_object_object_get_ex(e, "event", &v));
		assert_string_equal(json_object_get_string(v),
				    i == 0 ? "ZoneStarted" : "ZoneStopped");
		assert_true(json_object_object_get_ex(e, "zone_id", &v));
		assert_int_equal(json_object_get_int(v), 1);
		assert_true(json_object_object_get_ex(e, "name", &v));
		assert_string_equal(json_object_get_string(v), "zone1");
		json_object_put(e);

		assert_true(ih_read_line(lh, line, sizeof(line), IH_TIMEOUT_MS) > 0);
		assert_non_null(strstr(line, i == 0 ? "ZoneStarted zone 1 (zone1)"
						    : "ZoneStopped zone 1 (zone1)"));
	}
	assert_int_equal(ih_read_line(lj, line, sizeof(line), IH_QUIET_MS), -ETIMEDOUT);

	/* interrupted by the user */
	kill(pj, SIGTERM);
	kill(ph, SIGINT);
	status = ih_waitpid(pj, IH_TIMEOUT_MS);
	assert_true(WIFSIGNALED(status) || WIFEXITED(status));
	status = ih_waitpid(ph, IH_TIMEOUT_MS);
	assert_true(WIFSIGNALED(status) || WIFEXITED(status));
	close(lj->fd);
	close(lh->fd);
	free(lj);
	free(lh);

	/* when hvisord goes away, hvctl events ends with "unreachable" */
	{
		int fd;
		pid_t p = ih_spawn_bg(h, argv_json, &fd);
		struct ih_lines *l = calloc(1, sizeof(*l));

		assert_non_null(l);
		l->fd = fd;
		assert_true(ih_read_line(l, line, sizeof(line), IH_TIMEOUT_MS) > 0);
		free(z1);
		ih_stop(h);
		assert_int_equal(ih_read_line(l, line, sizeof(line), IH_TIMEOUT_MS), -EPIPE);
		status = ih_waitpid(p, IH_TIMEOUT_MS);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 3);
		close(fd);
		free(l);
	}
}

/* Drains whatever events are waiting; returns how many. -1 at EOF. */
static int drain(struct vl_client *c)
{
	int n = 0;

	for (;;) {
		json_object *reply = NULL;
		int r = ih_recv(c, 0, &reply);

		if (r == -ETIMEDOUT)
			return n;
		if (r == -ECONNRESET)
			return -1;
		assert_int_equal(r, 1);
		ih_ok(reply);
		json_object_put(reply);
		n++;
	}
}

static void test_slow_subscriber_dropped(void **state)
{
	const char *args[] = {"--log-level", "notice", NULL}; /* the warning shows */
	struct ih_opts opts = {.daemon_args = args};
	struct ih *h = ih_start(&opts);
	char *z1 = ih_make_zone(h, "zone1", 4096, 64);
	char *kpath = ih_path(h, "zone1-kernel.bin"), *dpath = ih_path(h, "zone1.dtb");
	json_object *config = ih_json_load(z1);
	struct vl_client *fast = ih_subscribe(h), *slow = ih_subscribe(h), *ctl = ih_client(h);
	int fds[2] = {open(kpath, O_RDONLY | O_CLOEXEC), open(dpath, O_RDONLY | O_CLOEXEC)};
	int cycles, got = 0, n;
	bool dropped = false;

	assert_true(fds[0] >= 0 && fds[1] >= 0);
	/* the longest name: fewer, bigger events fill the queue */
	ih_json_set(config, "name", json_object_new_string("a-zone-with-a-31-byte-long-name"));
	/* the slow one never reads: hvisord queues up to its limit, then
	 * drops it; ~3000 events overflow the socket buffer and the queue */
	for (cycles = 0; cycles < 20000 && !dropped; cycles++) {
		json_object *params = json_object_new_object(), *files = json_object_new_object();
		json_object *reply;

		json_object_object_add(files, "kernel_filepath", json_object_new_int(0));
		json_object_object_add(files, "dtb_filepath", json_object_new_int(1));
		json_object_object_add(params, "config", json_object_get(config));
		json_object_object_add(params, "files", files);
		reply = ih_call_fds(ctl, "org.hvisor.Zone.Start", params, fds, 2);
		ih_ok(reply);
		json_object_put(reply);
		reply = ih_call(ctl, "org.hvisor.Zone.Shutdown", "{\"zone_id\": 1}");
		ih_ok(reply);
		json_object_put(reply);
		/* the fast one keeps up */
		n = drain(fast);
		assert_true(n >= 0);
		got += n;
		if (cycles % 64 == 63)
			dropped = ih_file_contains(h->log, "dropping subscriber");
	}
	assert_true(dropped);
	assert_int_equal(got, 2 * cycles);
	/* the slow one gets what was queued, then end of file */
	{
		int64_t total = 0;

		for (;;) {
			json_object *reply = NULL;
			int r = ih_recv(slow, IH_TIMEOUT_MS, &reply);

			if (r == -ECONNRESET)
				break;
			assert_int_equal(r, 1);
			json_object_put(reply);
			total++;
		}
		assert_true(total < 2 * cycles);
	}
	/* the fast one is still subscribed */
	{
		struct ih_out o;

		assert_int_equal(ih_hvctl(h, &o, "zone", "start", z1, NULL), 0);
		ih_out_free(&o);
		expect_event(fast, "ZoneStarted", 1, "zone1");
	}
	assert_true(ih_file_contains(h->log, "warning: dropping subscriber"));
	json_object_put(config);
	close(fds[0]);
	close(fds[1]);
	vl_client_free(fast);
	vl_client_free(slow);
	vl_client_free(ctl);
	free(z1);
	free(kpath);
	free(dpath);
	ih_assert_serving(h);
	ih_stop(h);
}

/* A start that fails while loading (the kernel file shrinks under it):
 * named error, ZoneStartFailed, nothing left behind, the zone can start
 * afterwards. */
static void test_start_fails_while_loading(void **state)
{
	struct ih *h = ih_start(NULL);
	char *z1 = ih_make_zone(h, "zone1", 4096, 4096);
	char *kpath = ih_path(h, "zone1-kernel.bin");
	struct vl_client *sub = ih_subscribe(h), *a = ih_client(h);
	json_object *reply = NULL, *v;
	uint32_t ids[8];
	int fd;

	fd = open(kpath, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 64 << 20), 0); /* sparse, 8 loads of 8 MiB */
	/* the file shrinks while hvisord waits for a load (held by the sim) */
	ih_load_hold(h, HVSIM_HOLD_ON);
	ih_send_start(h, a, z1);
	assert_int_equal(ih_load_hold(h, HVSIM_HOLD_WAIT), 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	assert_int_equal(ih_load_hold(h, HVSIM_HOLD_OFF), 1);

	assert_int_equal(ih_recv(a, IH_TIMEOUT_MS, &reply), 1);
	ih_assert_error(reply, "org.hvisor.InvalidParameter");
	assert_true(json_object_object_get_ex(vl_reply_parameters(reply), "parameter", &v));
	assert_string_equal(json_object_get_string(v), "files.kernel_filepath");
	json_object_put(reply);
	expect_event(sub, "ZoneStartFailed", 1, "zone1");
	assert_int_equal(ih_zone_ids(h, ids, 8), 1);
	assert_int_equal(ih_sim_zone_ids(h, ids, 8), 1);

	/* nothing reserved is left: the zone starts now */
	{
		char *buf = malloc(3000);

		assert_non_null(buf);
		ih_fill(buf, 3000, "k2");
		ih_write_file(kpath, buf, 3000, 0644);
		free(buf);
	}
	hvctl_ok(h, "zone", "start", z1);
	expect_event(sub, "ZoneStarted", 1, "zone1");
	ih_assert_phys_equals_file(h, ih_layout("zone1").kernel, kpath);
	vl_client_free(sub);
	vl_client_free(a);
	free(z1);
	free(kpath);
	ih_stop(h);
}

static void test_subscriber_limit(void **state)
{
	const char *args[] = {"--max-subscribers", "2", NULL};
	struct ih_opts opts = {.daemon_args = args};
	struct ih *h = ih_start(&opts);
	struct vl_client *s1 = ih_subscribe(h), *s2 = ih_subscribe(h), *c = ih_client(h);
	json_object *msg = vl_call_new("org.hvisor.Manager.Subscribe", NULL, true), *reply = NULL,
		    *v;

	assert_int_equal(ih_send(c, msg, NULL, 0), 0);
	json_object_put(msg);
	assert_int_equal(ih_recv(c, IH_TIMEOUT_MS, &reply), 1);
	ih_assert_error(reply, "org.hvisor.LimitExceeded");
	assert_true(json_object_object_get_ex(vl_reply_parameters(reply), "limit", &v));
	assert_string_equal(json_object_get_string(v), "subscribers");
	json_object_put(reply);
	/* that connection is still an ordinary one; GetLimits tells the limit */
	reply = ih_call(c, "org.hvisor.GetLimits", NULL);
	assert_true(json_object_object_get_ex(ih_ok(reply), "limits", &v));
	assert_int_equal(ih_jint(v, "subscribers"), 2);
	json_object_put(reply);
	vl_client_free(c);

	/* one leaves, another may come (once hvisord noticed) */
	vl_client_free(s1);
	for (int tries = 0;; tries++) {
		c = ih_client(h);
		msg = vl_call_new("org.hvisor.Manager.Subscribe", NULL, true);
		assert_int_equal(ih_send(c, msg, NULL, 0), 0);
		json_object_put(msg);
		assert_int_equal(ih_recv(c, IH_TIMEOUT_MS, &reply), 1);
		if (!vl_reply_error(reply))
			break;
		ih_assert_error(reply, "org.hvisor.LimitExceeded");
		json_object_put(reply);
		vl_client_free(c);
		assert_true(tries < 500);
		poll(NULL, 0, 10);
	}
	assert_true(vl_reply_continues(reply));
	json_object_put(reply);
	vl_client_free(c);
	vl_client_free(s2);
	ih_assert_serving(h);
	ih_stop(h);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_subscriber_gets_events, ih_reap),
		cmocka_unit_test_setup(test_hvctl_events, ih_reap),
		cmocka_unit_test_setup(test_slow_subscriber_dropped, ih_reap),
		cmocka_unit_test_setup(test_start_fails_while_loading, ih_reap),
		cmocka_unit_test_setup(test_subscriber_limit, ih_reap),
	};

	ih_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, ih_reap);
}
