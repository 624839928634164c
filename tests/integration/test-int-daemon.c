// SPDX-License-Identifier: GPL-2.0-only
/* hvisord as a process: signals, sd_notify, its socket (stale, taken,
 * passed by the service manager), start-up failures, a dying backend. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "util.h"

static int bound_socket(const char *path, bool do_listen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 16), 0);
	return fd;
}

static void test_sigterm(void **state)
{
	struct ih *h = ih_start(NULL);

	/* READY=1 came with a status line */
	assert_non_null(strstr(h->notes, "STATUS=serving "));
	assert_non_null(strstr(h->notes, h->sock));
	ih_assert_serving(h);
	ih_stop_sig(h, SIGTERM); /* exit 0, STOPPING=1, socket gone */
}

static void test_sigint(void **state)
{
	struct ih *h = ih_start(NULL);

	ih_assert_serving(h);
	ih_stop_sig(h, SIGINT);
}

/* Clients of every kind connected at SIGTERM: they see end of file. */
static void test_sigterm_with_clients(void **state)
{
	/* the zone outlives hvisord: no event comes before the end of file */
	const struct ih_opts opts = {.keep_zones = true};
	struct ih *h = ih_start(&opts);
	char *cfg = ih_make_zone(h, "zone1", 4096, 4096);
	struct vl_client *idle = ih_client(h), *sub = ih_client(h);
	json_object *msg = vl_call_new("org.hvisor.Manager.Subscribe", NULL, true), *reply = NULL;
	int half = ih_raw_connect(h->sock);
	struct ih_out o;

	assert_int_equal(ih_send(sub, msg, NULL, 0), 0);
	json_object_put(msg);
	assert_int_equal(ih_recv(sub, IH_TIMEOUT_MS, &reply), 1);
	json_object_put(reply);
	ih_raw_send(half, "{\"method\":", 10);
	assert_int_equal(ih_hvctl(h, &o, "zone", "start", cfg, NULL), 0);
	ih_out_free(&o);
	assert_int_equal(ih_recv(sub, IH_TIMEOUT_MS, &reply), 1); /* ZoneStarted */
	json_object_put(reply);

	ih_stop(h);
	assert_int_equal(ih_recv(idle, IH_TIMEOUT_MS, &reply), -ECONNRESET);
	assert_int_equal(ih_recv(sub, IH_TIMEOUT_MS, &reply), -ECONNRESET);
	{
		struct vl_framer frm;

		vl_framer_init(&frm, VL_MAX_MESSAGE_SIZE);
		ih_assert_closed(half, &frm);
		vl_framer_done(&frm);
	}
	close(half);
	vl_client_free(idle);
	vl_client_free(sub);
	free(cfg);
}

/* SIGTERM while a client's zone start is still loading its images. */
static void test_sigterm_during_load(void **state)
{
	struct ih *h = ih_start(NULL);
	char *cfg = ih_make_zone(h, "zone1", 4096, 4096);
	char *k = ih_path(h, "zone1-kernel.bin");
	struct vl_client *c = ih_client(h);
	json_object *reply = NULL;
	int fd;

	fd = open(k, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 200 << 20), 0); /* sparse, 25 loads of 8 MiB */
	close(fd);
	ih_load_hold(h, HVSIM_HOLD_ON);
	ih_send_start(h, c, cfg);
	assert_int_equal(ih_load_hold(h, HVSIM_HOLD_WAIT), 0);
	/* the signal arrives while hvisord waits for a held load; it takes
	 * it between that load and the next, long before the last */
	assert_int_equal(kill(h->pid, SIGTERM), 0);
	assert_int_equal(ih_load_hold(h, HVSIM_HOLD_OFF), 1);
	ih_stop(h); /* exit 0, clean log (no leak reports under ASan) */
	/* the client hears that its start was cancelled, then end of file */
	assert_int_equal(ih_recv(c, IH_TIMEOUT_MS, &reply), 1);
	ih_assert_error(reply, "org.hvisor.KernelError");
	assert_non_null(strstr(json_object_to_json_string(reply), "ECANCELED"));
	json_object_put(reply);
	assert_int_equal(ih_recv(c, IH_TIMEOUT_MS, &reply), -ECONNRESET);
	vl_client_free(c);
	free(cfg);
	free(k);
}

static void test_second_daemon_refused(void **state)
{
	struct ih *h = ih_start(NULL);
	char *log2 = ih_path(h, "second.log");
	struct stat before, after;
	int status = 0;
	pid_t p2;

	assert_int_equal(stat(h->sock, &before), 0);
	p2 = ih_daemon_spawn(h, NULL, 0, log2);
	/* it exits 1 without ever being ready */
	assert_int_equal(ih_wait_notify(h, "READY=1", p2, IH_TIMEOUT_MS, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_true(ih_file_contains(log2, "another hvisord is serving"));
	ih_assert_log_clean(log2);
	/* the first one's socket is untouched and it keeps serving */
	assert_int_equal(stat(h->sock, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	ih_assert_serving(h);
	free(log2);
	ih_stop(h);
}

static void test_stale_socket_replaced(void **state)
{
	struct ih *h = ih_new();
	int status = 0, fd;

	ih_sim_start(h, NULL);
	/* a socket file nobody listens on, as a crashed hvisord leaves it */
	fd = bound_socket(h->sock, false);
	close(fd);
	assert_int_equal(access(h->sock, F_OK), 0);
	h->pid = ih_daemon_spawn(h, NULL, 0, NULL);
	assert_int_equal(ih_wait_notify(h, "READY=1", h->pid, IH_TIMEOUT_MS, &status), 1);
	assert_true(ih_file_contains(h->log, "removing stale socket"));
	ih_assert_serving(h);
	ih_stop(h);
}

static void test_socket_activation(void **state)
{
	struct ih *h = ih_new();
	char *own = ih_path(h, "hvisord.sock"), *act = ih_path(h, "activated.sock");
	int status = 0, lfd;

	ih_sim_start(h, NULL);
	lfd = bound_socket(act, true);
	snprintf(h->sock, sizeof(h->sock), "%s", act);
	h->pid = ih_daemon_spawn(h, NULL, lfd, NULL);
	close(lfd);
	assert_int_equal(ih_wait_notify(h, "READY=1", h->pid, IH_TIMEOUT_MS, &status), 1);
	assert_true(ih_file_contains(h->log, "using the socket passed by the service manager"));
	ih_assert_serving(h);
	/* it did not bind a socket of its own */
	assert_int_equal(access(own, F_OK), -1);
	{
		char *cfg = ih_make_zone(h, "zone1", 4096, 4096);
		struct ih_out o;

		assert_int_equal(ih_hvctl(h, &o, "zone", "start", cfg, NULL), 0);
		ih_out_free(&o);
		free(cfg);
	}
	/* at exit the manager's socket stays (ih_stop checks), ours never was */
	ih_stop(h);
	free(own);
	free(act);
}

static void test_socket_activation_bad_fd(void **state)
{
	struct ih *h = ih_new();
	char *log = ih_path(h, "bad.log"), *file = ih_path(h, "not-a-socket");
	int status = 0, fd;
	pid_t pid;

	ih_sim_start(h, NULL);
	ih_write_file(file, "x", 1, 0644);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	pid = ih_daemon_spawn(h, NULL, fd, log);
	close(fd);
	assert_int_equal(ih_wait_notify(h, "READY=1", pid, IH_TIMEOUT_MS, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_true(ih_file_contains(log, "not a listening socket"));
	ih_assert_log_clean(log);
	assert_int_equal(access(h->sock, F_OK), -1);
	free(log);
	free(file);
	ih_backend_stop(h);
	ih_reap(NULL);
}

static void test_unreachable_sim(void **state)
{
	struct ih *h = ih_new();
	int status = 0;

	ih_need_sim("it names a sim that is not there");
	snprintf(h->backend, sizeof(h->backend), "sim:%s/no-sim-here.sock", h->dir);
	h->pid = ih_daemon_spawn(h, NULL, 0, NULL);
	assert_int_equal(ih_wait_notify(h, "READY=1", h->pid, IH_TIMEOUT_MS, &status), 0);
	h->pid = -1;
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 0);
	/* a clear message: what, where, why */
	assert_true(ih_file_contains(h->log, "hvisor-sim"));
	assert_true(ih_file_contains(h->log, "no-sim-here.sock"));
	assert_true(ih_file_contains(h->log, "No such file or directory"));
	ih_assert_log_clean(h->log);
	assert_int_equal(access(h->sock, F_OK), -1);
	ih_reap(NULL);
}

/* GetInfo's info. */
static json_object *get_info(struct vl_client *c)
{
	json_object *reply = ih_call(c, "org.hvisor.Manager.GetInfo", NULL);
	json_object *info = json_object_get(json_object_object_get(ih_ok(reply), "info"));

	json_object_put(reply);
	return info;
}

/* One call that must answer BackendUnavailable naming the sim. */
static void assert_backend_unavailable(struct vl_client *c, const struct ih *h, const char *method,
				       const char *params)
{
	json_object *reply = ih_call(c, method, params), *p;

	ih_assert_error(reply, "org.hvisor.BackendUnavailable");
	p = vl_reply_parameters(reply);
	assert_string_equal(ih_jstr(p, "backend"), "sim");
	assert_string_equal(ih_jstr(p, "backend_path"), h->sim.sock);
	assert_non_null(strstr(ih_jstr(p, "message"), "is gone"));
	assert_non_null(strstr(ih_jstr(p, "message"), "reconnects"));
	json_object_put(reply);
}

/* The sim dies under a running hvisord: hvisord logs the loss and tells
 * subscribers (BackendLost), calls that need the backend answer
 * BackendUnavailable naming it, GetInfo and hvctl version report it, and
 * hvisord itself keeps answering. A sim started again on the same socket
 * serves the next call (BackendBack). */
static void test_backend_dies(void **state)
{
	struct vl_client *c, *sub;
	json_object *info, *e;
	struct ih_out o;
	struct ih *h;
	char *line;

	ih_need_sim("it kills the sim");
	h = ih_start(NULL);
	c = ih_client(h);
	sub = ih_subscribe(h);

	ih_sim_kill(h);
	e = ih_wait_event(sub, "BackendLost", -1, IH_TIMEOUT_MS);
	assert_non_null(strstr(ih_jstr(e, "message"), h->sim.sock));
	json_object_put(e);
	assert_true(asprintf(&line, "lost the hvisor-sim backend at %s: ", h->sim.sock) > 0);
	assert_true(ih_file_contains(h->log, line));
	free(line);
	assert_backend_unavailable(c, h, "org.hvisor.Zone.List", NULL);
	assert_backend_unavailable(c, h, "org.hvisor.Zone.Info", "{\"zone_id\": 1}");
	if (geteuid() == 0) /* privileged; ZONE_LIST on the way */
		assert_backend_unavailable(c, h, "org.hvisor.Virtio.Add",
					   "{\"zone_id\": 1, \"device\": {\"type\": \"console\", "
					   "\"addr\": 167787008, \"len\": 512, \"irq\": 79}}");
	info = get_info(c);
	assert_string_equal(ih_jstr(info, "backend_state"), "lost");
	assert_non_null(ih_jstr(info, "backend_error"));
	json_object_put(info);
	assert_int_equal(ih_hvctl(h, &o, "version", NULL), 0);
	assert_non_null(strstr(o.out, "lost"));
	ih_out_free(&o);
	assert_int_equal(ih_hvctl(h, &o, "zone", "list", NULL), 1);
	assert_non_null(strstr(o.err, "org.hvisor.BackendUnavailable"));
	ih_out_free(&o);

	ih_sim_restart(h, NULL);
	assert_int_equal(ih_hvctl(h, &o, "zone", "list", NULL), 0);
	ih_out_free(&o);
	info = get_info(c);
	assert_string_equal(ih_jstr(info, "backend_state"), "connected");
	assert_false(json_object_object_get_ex(info, "backend_error", NULL));
	json_object_put(info);
	e = ih_wait_event(sub, "BackendBack", -1, IH_TIMEOUT_MS);
	json_object_put(e);
	assert_true(ih_file_contains(h->log, "backend at"));
	assert_true(ih_file_contains(h->log, "is back"));
	vl_client_free(c);
	vl_client_free(sub);
	ih_stop(h);
}

static void test_command_line(void **state)
{
	struct ih_out o;
	const char *help[] = {ih_bin_hvisord(), "--help", NULL};
	const char *version[] = {ih_bin_hvisord(), "--version", NULL};
	const char *bogus_backend[] = {ih_bin_hvisord(), "--backend",	 "bogus",
				       "--runtime-dir",	 "/nonexistent", NULL};
	const char *bad_opt[] = {ih_bin_hvisord(), "--frobnicate", NULL};
	const char *bad_arg[] = {ih_bin_hvisord(), "extra", NULL};
	const char *bad_limit[] = {ih_bin_hvisord(), "--max-connections", "0", NULL};
	const char *bad_limit2[] = {ih_bin_hvisord(), "--max-subscribers", "many", NULL};
	const char *bad_level[] = {ih_bin_hvisord(), "--log-level", "chatty", NULL};

	assert_int_equal(ih_run(NULL, NULL, &o, help), 0);
	assert_non_null(strstr(o.out, "Usage: hvisord"));
	assert_non_null(strstr(o.out, "--max-connections"));
	ih_out_free(&o);
	assert_int_equal(ih_run(NULL, NULL, &o, version), 0);
	assert_non_null(strstr(o.out, HV_VERSION));
	ih_out_free(&o);
	assert_int_equal(ih_run(NULL, NULL, &o, bogus_backend), 2);
	assert_non_null(strstr(o.err, "bogus"));
	ih_out_free(&o);
	assert_int_equal(access("/nonexistent", F_OK), -1); /* nothing created */
	assert_int_equal(ih_run(NULL, NULL, &o, bad_opt), 2);
	ih_out_free(&o);
	assert_int_equal(ih_run(NULL, NULL, &o, bad_arg), 2);
	ih_out_free(&o);
	assert_int_equal(ih_run(NULL, NULL, &o, bad_limit), 2);
	assert_non_null(strstr(o.err, "--max-connections"));
	ih_out_free(&o);
	assert_int_equal(ih_run(NULL, NULL, &o, bad_limit2), 2);
	ih_out_free(&o);
	assert_int_equal(ih_run(NULL, NULL, &o, bad_level), 2);
	ih_out_free(&o);
}

/* Starts hvisord with args; asserts it exits 1 before READY=1 with
 * `needle` in its log. */
static void assert_start_refused(struct ih *h, const char *const *args, const char *needle)
{
	char *log = ih_path(h, "refused.log");
	int status = 0;
	pid_t pid;

	unlink(log);
	pid = ih_daemon_spawn(h, args, 0, log);
	assert_int_equal(ih_wait_notify(h, "READY=1", pid, IH_TIMEOUT_MS, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	if (!ih_file_contains(log, needle)) {
		char *text = ih_read_file(log, NULL);

		fail_msg("hvisord's log lacks '%s':\n%s", needle, text);
	}
	ih_assert_log_clean(log);
	free(log);
}

/* hvisord from the build tree, without --virtiod, finds the
 * hvisor-virtiod built next to it; a missing one or an unknown
 * --virtiod-user stop it at start-up, saying which. */
static void test_virtiod_found(void **state)
{
	const char *const missing[] = {"--virtiod", "/nonexistent/hvisor-virtiod", NULL};
	const char *const nouser[] = {"--virtiod-user", "no-such-user-hv", NULL};
	char *real = realpath(ih_bin_virtiod(), NULL), *line;
	struct ih *h = ih_new();

	ih_need_virtio();
	assert_non_null(real);
	ih_sim_start(h, NULL);
	assert_start_refused(h, missing,
			     "cannot run hvisor-virtiod /nonexistent/hvisor-virtiod: No such file");
	assert_start_refused(h, nouser, "--virtiod-user: no user 'no-such-user-hv'");

	h->no_virtiod_arg = true;
	h->pid = ih_daemon_spawn(h, NULL, 0, NULL);
	assert_int_equal(ih_wait_notify(h, "READY=1", h->pid, IH_TIMEOUT_MS, NULL), 1);
	assert_true(asprintf(&line, "hvisor-virtiod: %s, runs as nobody", real) > 0);
	assert_true(ih_file_contains(h->log, line));
	free(line);
	free(real);
	ih_stop(h);
}

/* An hvisor-virtiod that cannot be executed when a zone needs it: the
 * error names it and why, not a control socket that closed. */
static void test_virtiod_exec_fails(void **state)
{
	const char *args[] = {"--virtiod", NULL, NULL};
	struct ih_opts opts = {.daemon_args = args};
	char *copy, *cmd;
	json_object *r;
	struct ih *h;

	if (geteuid() != 0)
		skip(); /* zone start and Virtio.Add are privileged */
	ih_need_virtio();
	h = ih_new();
	copy = ih_path(h, "hvisor-virtiod-copy");
	assert_true(asprintf(&cmd, "cp '%s' '%s'", ih_bin_virtiod(), copy) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	args[1] = copy;
	ih_sim_start(h, NULL);
	h->pid = ih_daemon_spawn(h, opts.daemon_args, 0, NULL);
	assert_int_equal(ih_wait_notify(h, "READY=1", h->pid, IH_TIMEOUT_MS, NULL), 1);
	ih_zone_start(h, "zone1");
	assert_int_equal(unlink(copy), 0);
	r = ih_call_error(h, "org.hvisor.Virtio.Add",
			  "{\"zone_id\": 1, \"device\": {\"type\": \"console\", \"addr\": "
			  "167787008, \"len\": 512, \"irq\": 79}}",
			  "org.hvisor.InvalidParameter", true);
	assert_non_null(strstr(vl_reply_error_message(r), "cannot run "));
	assert_non_null(strstr(vl_reply_error_message(r), "hvisor-virtiod-copy: No such file"));
	json_object_put(r);
	free(copy);
	ih_stop(h);
}

/* --runtime-dir for assert_start_refused and friends. */
#define RUNDIR_ARGS(dir) ((const char *const[]){"--runtime-dir", (dir), NULL})

static char *refused_with(const char *path, const char *what)
{
	char *s;

	assert_true(asprintf(&s, "refusing the runtime directory: %s %s", path, what) > 0);
	return s;
}

static void expect_refused(struct ih *h, const char *rundir, const char *path, const char *what)
{
	char *needle = refused_with(path, what);

	assert_start_refused(h, RUNDIR_ARGS(rundir), needle);
	free(needle);
}

/* The runtime directory and every zone<N>/ in it must be hvisord's own and
 * writable by nobody else: anything else stops it at start-up with the
 * path and the reason; a symlink is never followed. */
static void test_runtime_dir_untrusted(void **state)
{
	struct ih *h = ih_new();
	char *run = ih_path(h, "run"), *link = ih_path(h, "run-link"), *away = ih_path(h, "away");
	char *zone = ih_path(h, "run/zone3"), *sock = ih_path(h, "run/hvisord.sock"), *victim;
	bool root = geteuid() == 0;
	struct stat st;

	ih_sim_start(h, NULL);
	assert_int_equal(mkdir(run, 0777), 0);
	assert_int_equal(mkdir(away, 0700), 0);
	assert_int_equal(chmod(run, 0777), 0);
	expect_refused(h, run, run, "is writable by others (mode 0777)");
	assert_int_equal(chmod(run, 0775), 0);
	if (root) /* root's own group may write it: another one not */
		assert_int_equal(chown(run, 0, 65534), 0);
	if (getegid() != 0 || root)
		expect_refused(h, run, run, "is writable by group");
	assert_int_equal(chmod(run, 0750), 0);
	if (root) {
		assert_int_equal(chown(run, 65534, 0), 0);
		expect_refused(h, run, run, "is owned by uid 65534, not by hvisord's uid 0");
		assert_int_equal(chown(run, 0, 65534), 0); /* root:hvisor 0750 is fine */
	} else {
		expect_refused(h, "/", "/", "is owned by uid 0");
	}
	assert_int_equal(symlink(run, link), 0);
	expect_refused(h, link, link, "is a symlink, not a directory");

	/* zone<N>/ that a previous run could not have left */
	assert_int_equal(symlink(away, zone), 0);
	expect_refused(h, run, zone, "is a symlink, not a directory");
	assert_int_equal(unlink(zone), 0);
	assert_int_equal(mkdir(zone, 0777), 0);
	assert_int_equal(chmod(zone, 0777), 0);
	expect_refused(h, run, zone, "is writable by others");
	if (root) {
		assert_int_equal(chmod(zone, 0755), 0);
		assert_int_equal(chown(zone, 65534, 65534), 0);
		expect_refused(h, run, zone, "is owned by uid 65534");
	}
	assert_int_equal(rmdir(zone), 0);

	/* the socket's name taken by something else: not replaced, not followed */
	victim = ih_path(h, "away/victim");
	ih_write_file(victim, "x", 1, 0600);
	assert_int_equal(symlink(victim, sock), 0);
	assert_start_refused(h, RUNDIR_ARGS(run), "exists and is not a socket (a symlink)");
	assert_int_equal(lstat(sock, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(unlink(sock), 0);

	/* all well now (root:hvisor 0750 as root): it serves, socket mode 0666 */
	h->pid = ih_daemon_spawn(h, RUNDIR_ARGS(run), 0, NULL);
	assert_int_equal(ih_wait_notify(h, "READY=1", h->pid, IH_TIMEOUT_MS, NULL), 1);
	assert_int_equal(stat(sock, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0666);
	assert_int_equal(kill(h->pid, SIGTERM), 0);
	assert_int_equal(ih_waitpid(h->pid, IH_TIMEOUT_MS), 0);
	h->pid = -1;
	assert_int_equal(access(sock, F_OK), -1);
	ih_assert_log_clean(h->log);
	free(run);
	free(link);
	free(away);
	free(zone);
	free(sock);
	free(victim);
	ih_backend_stop(h);
	ih_reap(NULL);
}

/* A zone<N>/ that turns into a symlink while hvisord runs: adding a
 * console for that zone fails naming the path, and nothing is created
 * where the link points. */
static void test_zone_dir_symlink_at_add(void **state)
{
	struct ih *h;
	char *zone, *away;
	json_object *r;

	if (geteuid() != 0)
		skip(); /* Virtio.Add is privileged */
	h = ih_start(NULL);
	zone = ih_path(h, "zone6");
	away = ih_path(h, "away");
	assert_int_equal(mkdir(away, 0755), 0);
	assert_int_equal(symlink(away, zone), 0);
	r = ih_call_error(h, "org.hvisor.Virtio.Add",
			  "{\"zone_id\": 6, \"device\": {\"type\": \"console\", \"addr\": "
			  "167787008, \"len\": 512, \"irq\": 79}}",
			  "org.hvisor.Internal", true);
	assert_non_null(strstr(vl_reply_error_message(r), "is a symlink, not a directory"));
	assert_non_null(strstr(vl_reply_error_message(r), zone));
	json_object_put(r);
	assert_int_equal(rmdir(away), 0); /* still empty */
	{
		struct vl_client *c = ih_client(h);

		r = ih_call(c, "org.hvisor.Virtio.List", NULL);
		assert_int_equal(
			json_object_array_length(json_object_object_get(ih_ok(r), "devices")), 0);
		json_object_put(r);
		vl_client_free(c);
	}
	assert_int_equal(unlink(zone), 0);
	free(zone);
	free(away);
	ih_stop(h);
}

/* SIGHUP reopens the log and hvisord serves on. */
static void test_sighup(void **state)
{
	struct ih *h = ih_start(NULL);

	assert_int_equal(kill(h->pid, SIGHUP), 0);
	assert_true(ih_wait_file_contains(h->log, "the log is reopened", IH_TIMEOUT_MS));
	ih_assert_serving(h);
	ih_stop(h);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_sigterm, ih_reap),
		cmocka_unit_test_setup(test_sigint, ih_reap),
		cmocka_unit_test_setup(test_sighup, ih_reap),
		cmocka_unit_test_setup(test_sigterm_with_clients, ih_reap),
		cmocka_unit_test_setup(test_sigterm_during_load, ih_reap),
		cmocka_unit_test_setup(test_second_daemon_refused, ih_reap),
		cmocka_unit_test_setup(test_stale_socket_replaced, ih_reap),
		cmocka_unit_test_setup(test_socket_activation, ih_reap),
		cmocka_unit_test_setup(test_socket_activation_bad_fd, ih_reap),
		cmocka_unit_test_setup(test_unreachable_sim, ih_reap),
		cmocka_unit_test_setup(test_backend_dies, ih_reap),
		cmocka_unit_test_setup(test_command_line, ih_reap),
		cmocka_unit_test_setup(test_virtiod_found, ih_reap),
		cmocka_unit_test_setup(test_virtiod_exec_fails, ih_reap),
		cmocka_unit_test_setup(test_runtime_dir_untrusted, ih_reap),
		cmocka_unit_test_setup(test_zone_dir_symlink_at_add, ih_reap),
	};

	ih_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, ih_reap);
}
