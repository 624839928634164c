// SPDX-License-Identifier: GPL-2.0-only
/* No lock-out, no flood: unprivileged users hold every connection and
 * subscription they may and root (and group "hvisor") is still served; a
 * message that trickles in byte by byte and a connection that sits idle are
 * cut off; a flood of refused connections writes a few log lines per
 * second, not one per connection. */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "util.h"

#define HOG_MAX_CONNS 64
#define N_HOGS	      4
#define FLOOD	      2000
/* hvisord's rate limit on lines about connections (control.c) */
#define LOG_BURST 5

/* What a hog saw: connections accepted, the limit that refused the next
 * one, and the outcome of Subscribe on its first three connections ("ok"
 * or the limit named). */
struct hog_report {
	int accepted;
	char refused[32];
	char subs[3][32];
};

/* "ok", the limit of a LimitExceeded, another error's name, or "io". */
static void outcome(struct vl_client *c, const char *method, bool more, char *ret, size_t size)
{
	json_object *msg = vl_call_new(method, NULL, more), *reply = NULL, *v;
	const char *e;

	snprintf(ret, size, "io");
	/* a refused connection may be closed before the call is sent: its
	 * answer is read all the same */
	(void)ih_send(c, msg, NULL, 0);
	json_object_put(msg);
	if (vl_client_recv(c, &reply) < 0)
		return;
	e = vl_reply_error(reply);
	if (!e)
		snprintf(ret, size, "ok");
	else if (strcmp(e, "org.hvisor.LimitExceeded") == 0 &&
		 json_object_object_get_ex(vl_reply_parameters(reply), "limit", &v))
		snprintf(ret, size, "%s", json_object_get_string(v));
	else
		snprintf(ret, size, "%s", e);
	json_object_put(reply);
}

/* As uid: takes every connection it may (each proven by a served GetInfo),
 * subscribes on the first three, starts a message it never finishes on
 * the others; reports on `report`, then holds all until `release` closes. */
static int hog(const char *sock, uid_t uid, int report, int release)
{
	static const char partial[] = "{\"method\": \"org.hvisor.Man";
	struct vl_client *conns[HOG_MAX_CONNS];
	struct hog_report r = {0};
	char c;

	if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
		return 1;
	while (r.accepted < HOG_MAX_CONNS) {
		struct vl_client *cl;

		if (vl_client_connect(sock, &cl) < 0)
			return 1;
		outcome(cl, "org.hvisor.Manager.GetInfo", false, r.refused, sizeof(r.refused));
		if (strcmp(r.refused, "ok") != 0) {
			vl_client_free(cl);
			break;
		}
		conns[r.accepted++] = cl;
	}
	for (int i = 0; i < r.accepted; i++) {
		if (i < 3)
			outcome(conns[i], "org.hvisor.Manager.Subscribe", true, r.subs[i],
				sizeof(r.subs[i]));
		else if (write_full(conns[i]->fd, partial, sizeof(partial) - 1) < 0)
			return 1;
	}
	if (write_full(report, &r, sizeof(r)) < 0)
		return 1;
	while (read(release, &c, 1) > 0)
		;
	return 0;
}

/* Starts a hog as uid and waits for its report. */
static pid_t hog_start(struct ih *h, uid_t uid, int release[2], struct hog_report *ret)
{
	int report[2];
	pid_t pid;

	assert_int_equal(pipe(report), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(report[0]);
		close(release[1]);
		_exit(hog(h->sock, uid, report[1], release[0]));
	}
	close(report[1]);
	assert_int_equal(read_full(report[0], ret, sizeof(*ret)), sizeof(*ret));
	close(report[0]);
	return pid;
}

static void assert_hog(const struct hog_report *r, int accepted, const char *refused,
		       const char *sub3)
{
	assert_int_equal(r->accepted, accepted);
	assert_string_equal(r->refused, refused);
	for (int i = 0; i < 3 && i < accepted; i++)
		assert_string_equal(r->subs[i], i < 2 ? "ok" : sub3);
}

static size_t log_lines(const struct ih *h)
{
	size_t len, n = 0;
	char *s = ih_read_file(h->log, &len);

	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	free(s);
	return n;
}

/* FLOOD connections from uid, each refused: how many were told so. */
static int flood(const char *sock, uid_t uid)
{
	int refused = 0;

	if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
		return -1;
	for (int i = 0; i < FLOOD; i++) {
		struct vl_client *c;
		json_object *m = NULL;

		if (vl_client_connect(sock, &c) < 0)
			return -1;
		if (vl_client_recv(c, &m) == 0 && vl_reply_error(m) &&
		    strcmp(vl_reply_error(m), "org.hvisor.LimitExceeded") == 0)
			refused++;
		json_object_put(m);
		vl_client_free(c);
	}
	return refused;
}

static gid_t hvisor_gid(void)
{
	struct group *g = getgrnam("hvisor");

	return g ? g->gr_gid : (gid_t)-1;
}

/* Root's zone list, zone start and events, and a group member's list,
 * while the unprivileged hold all they may. */
static void root_is_served(struct ih *h, const char *cfg)
{
	const char *argv[] = {ih_bin_hvctl(), "events", NULL};
	struct ih_lines *l = calloc(1, sizeof(*l));
	struct vl_client *sub;
	struct ih_out o;
	char line[1024];
	pid_t ev;
	gid_t gid = hvisor_gid();

	assert_non_null(l);
	assert_int_equal(ih_hvctl(h, &o, "zone", "list", NULL), 0);
	ih_out_free(&o);
	sub = ih_subscribe(h);
	ev = ih_spawn_bg(h, argv, &l->fd);
	assert_true(ih_read_line(l, line, sizeof(line), IH_TIMEOUT_MS) > 0);
	assert_non_null(strstr(line, "Subscribed"));
	assert_int_equal(ih_hvctl(h, &o, "zone", "start", cfg, NULL), 0);
	ih_out_free(&o);
	assert_true(ih_read_line(l, line, sizeof(line), IH_TIMEOUT_MS) > 0);
	assert_non_null(strstr(line, "ZoneStarted zone 1"));
	json_object_put(ih_wait_event(sub, "ZoneStarted", 1, IH_TIMEOUT_MS));
	if (gid != (gid_t)-1) {
		const gid_t groups[] = {gid};
		const struct ih_exec member = {
			.uid = 65530, .gid = 65530, .groups = groups, .n_groups = 1};
		const char *list[] = {ih_bin_hvctl(), "zone", "list", NULL};

		assert_int_equal(ih_run(h, &member, &o, list), 0);
		assert_non_null(strstr(o.out, "zone1"));
		ih_out_free(&o);
	}
	kill(ev, SIGTERM);
	ih_waitpid(ev, IH_TIMEOUT_MS);
	close(l->fd);
	free(l);
	vl_client_free(sub);
}

static void test_unprivileged_cannot_lock_out(void **state)
{
	/* unprivileged: 18 connections (6 per uid), 6 subscriptions (2 per uid) */
	const char *args[] = {"--max-connections",
			      "24",
			      "--max-connections-per-user",
			      "6",
			      "--reserved-connections",
			      "6",
			      "--max-subscribers",
			      "8",
			      "--max-subscribers-per-user",
			      "2",
			      "--reserved-subscribers",
			      "2",
			      NULL};
	const struct ih_opts opts = {.daemon_args = args};
	struct hog_report r[N_HOGS];
	pid_t hogs[N_HOGS], pid;
	int release[2], status, refused;
	int64_t t0;
	size_t lines;
	struct ih *h;
	char *cfg;

	if (geteuid() != 0)
		skip();
	h = ih_start(&opts);
	assert_int_equal(chmod(h->dir, 0755), 0);
	cfg = ih_make_zone(h, "zone1", 8192, 4096);
	assert_int_equal(pipe(release), 0);
	for (int i = 0; i < N_HOGS; i++)
		hogs[i] = hog_start(h, (uid_t)(65534 - i), release, &r[i]);
	assert_hog(&r[0], 6, "connections_per_user", "subscribers_per_user");
	assert_hog(&r[1], 6, "connections_per_user", "subscribers_per_user");
	/* the unprivileged share is gone: 18 connections, 6 subscriptions */
	assert_hog(&r[2], 6, "connections", "subscribers");
	assert_hog(&r[3], 0, "connections", "");

	root_is_served(h, cfg);

	/* a flood of refused connections: a few lines a second, a summary */
	lines = log_lines(h);
	t0 = (int64_t)(now_usec() / 1000);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(flood(h->sock, 65534) == FLOOD ? 0 : 1);
	status = ih_waitpid(pid, 4 * IH_TIMEOUT_MS);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(ih_wait_file_contains(h->log, "not logged (at most", IH_TIMEOUT_MS));
	refused = (int)(log_lines(h) - lines);
	{
		int64_t ms = (int64_t)(now_usec() / 1000) - t0;
		int bound = (int)(ms / 1000 + 2) * (LOG_BURST + 1);

		if (refused > bound)
			fail_msg("%d log lines in %lld ms for %d refused connections (at most %d)",
				 refused, (long long)ms, FLOOD, bound);
	}
	close(release[0]);
	close(release[1]);
	for (int i = 0; i < N_HOGS; i++) {
		status = ih_waitpid(hogs[i], IH_TIMEOUT_MS);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ih_assert_serving(h);
	free(cfg);
	ih_stop(h);
}

/* A message trickling in byte by byte is cut off message_seconds after its
 * first byte; a connection holding nothing after idle_seconds; a
 * subscriber never. */
static void test_slow_message_and_idle(void **state)
{
	const char *args[] = {"--message-timeout", "1", "--idle-timeout", "2", NULL};
	const struct ih_opts opts = {.daemon_args = args};
	struct ih *h = ih_start(&opts);
	char msg[300];
	struct vl_framer frm;
	struct vl_client *sub;
	json_object *reply = NULL;
	struct pollfd p;
	int fd, len, sent = 0, r;

	/* a GetInfo padded to take 30 s at one byte per 100 ms */
	len = snprintf(msg, sizeof(msg), "{\"method\": \"org.hvisor.Manager.GetInfo\"%*s}", 250,
		       "");
	sub = ih_subscribe(h);
	fd = ih_raw_connect(h->sock);
	vl_framer_init(&frm, VL_MAX_MESSAGE_SIZE);
	for (;;) {
		p = (struct pollfd){.fd = fd, .events = POLLIN};
		r = poll(&p, 1, 100);
		assert_true(r >= 0);
		if (r > 0 || sent == len)
			break;
		assert_int_equal(send(fd, msg + sent, 1, MSG_NOSIGNAL), 1);
		sent++;
	}
	assert_true(sent < len);
	assert_int_equal(ih_raw_recv(fd, &frm, IH_TIMEOUT_MS, &reply), 1);
	ih_assert_error(reply, "org.hvisor.ProtocolError");
	assert_non_null(strstr(json_object_to_json_string(reply), "not complete within 1 s"));
	json_object_put(reply);
	ih_assert_closed(fd, &frm);
	close(fd);
	vl_framer_done(&frm);

	/* idle: closed without a word */
	fd = ih_raw_connect(h->sock);
	vl_framer_init(&frm, VL_MAX_MESSAGE_SIZE);
	ih_assert_closed(fd, &frm);
	close(fd);
	vl_framer_done(&frm);
	/* The subscriber has been idle for longer: had it a timeout, its
	 * timer (armed earlier, the same length) would have fired first. */
	p = (struct pollfd){.fd = sub->fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 0), 0);
	vl_client_free(sub);
	assert_true(ih_file_contains(h->log, "not complete within 1 s"));
	ih_assert_serving(h);
	ih_stop(h);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_unprivileged_cannot_lock_out, ih_reap),
		cmocka_unit_test_setup(test_slow_message_and_idle, ih_reap),
	};

	ih_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, ih_reap);
}
