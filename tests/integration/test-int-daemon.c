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
	struct ih *h = ih_start(NULL);
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

/* The sim dies under a running hvisord: calls fail with a named error,
 * hvisord itself keeps answering and exits cleanly. */
static void test_backend_dies(void **state)
{
	struct ih *h;
	json_object *reply;
	struct vl_client *c;

	ih_need_sim("it kills the sim");
	h = ih_start(NULL);
	c = ih_client(h);

	kill(h->sim.pid, SIGKILL);
	simh_stop(&h->sim);
	h->sim_running = false;
	reply = ih_call(c, "org.hvisor.Zone.List", NULL);
	ih_assert_error(reply, "org.hvisor.KernelError");
	assert_string_equal(ih_jstr(vl_reply_parameters(reply), "operation"), "ZONE_LIST");
	json_object_put(reply);
	/* also where the zone list is needed on the way: Virtio.Add */
	reply = ih_call(c, "org.hvisor.Virtio.Add",
			"{\"zone_id\": 1, \"device\": {\"type\": \"console\", \"addr\": 167787008, "
			"\"len\": 512, \"irq\": 79}}");
	ih_assert_error(reply, "org.hvisor.KernelError");
	assert_string_equal(ih_jstr(vl_reply_parameters(reply), "operation"), "ZONE_LIST");
	json_object_put(reply);
	reply = ih_call(c, "org.hvisor.Manager.GetInfo", NULL);
	ih_ok(reply);
	json_object_put(reply);
	vl_client_free(c);
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

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_sigterm, ih_reap),
		cmocka_unit_test_setup(test_sigint, ih_reap),
		cmocka_unit_test_setup(test_sigterm_with_clients, ih_reap),
		cmocka_unit_test_setup(test_sigterm_during_load, ih_reap),
		cmocka_unit_test_setup(test_second_daemon_refused, ih_reap),
		cmocka_unit_test_setup(test_stale_socket_replaced, ih_reap),
		cmocka_unit_test_setup(test_socket_activation, ih_reap),
		cmocka_unit_test_setup(test_socket_activation_bad_fd, ih_reap),
		cmocka_unit_test_setup(test_unreachable_sim, ih_reap),
		cmocka_unit_test_setup(test_backend_dies, ih_reap),
		cmocka_unit_test_setup(test_command_line, ih_reap),
	};

	ih_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, ih_reap);
}
