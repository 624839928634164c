// SPDX-License-Identifier: GPL-2.0-only
/* SO_PEERCRED: mutating calls for root and group "hvisor" only; read-only
 * calls for everyone. Needs root (to become uid 65534); skipped otherwise. */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "util.h"

#define NOBODY 65534

/* hvisord and the zone files in a runtime dir uid 65534 can reach. */
static struct ih *start_open(char **cfg)
{
	struct ih *h = ih_start(NULL);

	assert_int_equal(chmod(h->dir, 0755), 0);
	*cfg = ih_make_zone(h, "zone1", 64 * 1024 + 1, 4096);
	return h;
}

static int run_as(struct ih *h, const struct ih_exec *x, struct ih_out *o, const char *a,
		  const char *b, const char *c)
{
	const char *argv[] = {ih_bin_hvctl(), a, b, c, NULL};

	return ih_run(h, x, o, argv);
}

static void assert_denied_logged(struct ih *h, const char *method, pid_t pid)
{
	char want[200];

	snprintf(want, sizeof(want), "denied %s to uid %d pid %d", method, NOBODY, (int)pid);
	if (!ih_wait_file_contains(h->log, want, IH_TIMEOUT_MS))
		fail_msg("hvisord's log lacks '%s'", want);
}

/* One call from the child; the reply (checked as the harness checks every
 * reply) in *ret, or -1. */
static int child_call(struct vl_client *c, const char *method, const char *params,
		      json_object **ret)
{
	json_object *msg = vl_call_new(method, params ? json_tokener_parse(params) : NULL, false);
	char err[512];
	int r = ih_send(c, msg, NULL, 0);

	json_object_put(msg);
	if (r < 0 || vl_client_recv(c, ret) < 0)
		return -1;
	if (ih_check_received(c->fd, *ret, err, sizeof(err)) < 0) {
		fprintf(stderr, "# %s: %s\n", method, err);
		json_object_put(*ret);
		return -1;
	}
	return 0;
}

/* Raw varlink from a child that became uid/gid 65534 itself: returns a
 * bitmask of what worked as expected. */
static int raw_child(struct ih *h)
{
	struct vl_client *c = NULL;
	json_object *reply = NULL;
	const char *e;
	int ok = 0;

	if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
		return 0;
	if (vl_client_connect(h->sock, &c) < 0)
		return 0;
	if (child_call(c, "org.hvisor.Zone.Shutdown", "{\"zone_id\": 1}", &reply) == 0) {
		e = vl_reply_error(reply);
		ok |= e && strcmp(e, "org.hvisor.PermissionDenied") == 0 ? 1 : 0;
		json_object_put(reply);
	}
	if (child_call(c, "org.hvisor.Zone.Start", "{\"config\": {}}", &reply) == 0) {
		/* refused for who is asking, before the config is even looked at */
		e = vl_reply_error(reply);
		ok |= e && strcmp(e, "org.hvisor.PermissionDenied") == 0 ? 2 : 0;
		json_object_put(reply);
	}
	if (child_call(c, "org.hvisor.Zone.List", NULL, &reply) == 0) {
		ok |= vl_reply_error(reply) ? 0 : 4;
		json_object_put(reply);
	}
	if (child_call(c, "org.hvisor.Manager.GetInfo", NULL, &reply) == 0) {
		ok |= vl_reply_error(reply) ? 0 : 8;
		json_object_put(reply);
	}
	vl_client_free(c);
	return ok;
}

static void test_nobody_denied(void **state)
{
	const struct ih_exec nobody = {.uid = NOBODY, .gid = NOBODY};
	struct ih_out o;
	char *cfg, *before, *after;
	struct ih *h;
	pid_t pid;
	int status;

	if (geteuid() != 0)
		skip_because("needs root (root's rights are what it checks)");
	h = start_open(&cfg);
	/* root may */
	assert_int_equal(ih_hvctl(h, &o, "zone", "start", cfg, NULL), 0);
	ih_out_free(&o);
	before = ih_list_json(h);

	/* hvctl as nobody: the files are readable, the call is refused */
	assert_int_equal(run_as(h, &nobody, &o, "zone", "start", cfg), 1);
	assert_non_null(strstr(o.err, "org.hvisor.PermissionDenied"));
	assert_denied_logged(h, "org.hvisor.Zone.Start", o.pid);
	ih_out_free(&o);
	assert_int_equal(run_as(h, &nobody, &o, "zone", "shutdown", "1"), 1);
	assert_non_null(strstr(o.err, "org.hvisor.PermissionDenied"));
	assert_denied_logged(h, "org.hvisor.Zone.Shutdown", o.pid);
	ih_out_free(&o);
	assert_int_equal(run_as(h, &nobody, &o, "log-level", "debug", NULL), 1);
	assert_non_null(strstr(o.err, "org.hvisor.PermissionDenied"));
	ih_out_free(&o);
	/* reading is open to everyone */
	assert_int_equal(run_as(h, &nobody, &o, "zone", "list", NULL), 0);
	assert_non_null(strstr(o.out, "zone1"));
	ih_out_free(&o);
	assert_int_equal(run_as(h, &nobody, &o, "zone", "info", "1"), 0);
	ih_out_free(&o);
	assert_int_equal(run_as(h, &nobody, &o, "version", NULL, NULL), 0);
	assert_non_null(strstr(o.out, ih_on_sim() ? "backend sim" : "backend kmod"));
	ih_out_free(&o);

	/* a child that drops privileges itself and speaks raw varlink */
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(raw_child(h));
	status = ih_waitpid(pid, IH_TIMEOUT_MS);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1 | 2 | 4 | 8);
	assert_denied_logged(h, "org.hvisor.Zone.Shutdown", pid);
	assert_denied_logged(h, "org.hvisor.Zone.Start", pid);

	after = ih_list_json(h);
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(cfg);
	ih_stop(h);
}

static void test_hvisor_group_allowed(void **state)
{
	struct ih_out o;
	char *cfg, *k;
	struct ih *h;
	gid_t gid;

	if (geteuid() != 0)
		skip_because("needs root (to run hvctl as another user)");
	gid = ih_hvisor_gid();
	if (gid == (gid_t)-1)
		skip_because("no group 'hvisor' here");
	h = start_open(&cfg);
	{
		/* a supplementary group */
		const gid_t groups[] = {gid};
		const struct ih_exec member = {
			.uid = NOBODY, .gid = NOBODY, .groups = groups, .n_groups = 1};

		assert_int_equal(run_as(h, &member, &o, "zone", "start", cfg), 0);
		ih_out_free(&o);
		k = ih_path(h, "zone1-kernel.bin");
		ih_assert_phys_equals_file(h, ih_layout("zone1").kernel, k);
		assert_int_equal(run_as(h, &member, &o, "zone", "shutdown", "1"), 0);
		ih_out_free(&o);

		/* hvctl opens the files with the caller's permissions: a
		 * kernel only root may read cannot be started by a member */
		assert_int_equal(chmod(k, 0600), 0);
		assert_int_equal(run_as(h, &member, &o, "zone", "start", cfg), 1);
		assert_non_null(strstr(o.err, "zone1-kernel.bin"));
		assert_null(strstr(o.err, "org.hvisor."));
		ih_out_free(&o);
		assert_int_equal(chmod(k, 0644), 0);
		free(k);
	}
	{
		/* the primary group */
		const struct ih_exec member = {.uid = NOBODY, .gid = gid};

		assert_int_equal(run_as(h, &member, &o, "zone", "start", cfg), 0);
		ih_out_free(&o);
		assert_int_equal(run_as(h, &member, &o, "zone", "shutdown", "1"), 0);
		ih_out_free(&o);
	}
	free(cfg);
	ih_stop(h);
}

static int cleanup(void **state)
{
	ih_reap(NULL);
	ih_hvisor_group_cleanup();
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_nobody_denied, ih_reap),
		cmocka_unit_test_setup(test_hvisor_group_allowed, ih_reap),
	};

	ih_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, cleanup);
}
