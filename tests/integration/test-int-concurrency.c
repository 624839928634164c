// SPDX-License-Identifier: GPL-2.0-only
/* Many clients at once, and the connection limit. */
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
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "util.h"

#define N_CLIENTS 200
#define N_HVCTL	  16

static void send_call(struct vl_client *c, const char *method)
{
	json_object *msg = vl_call_new(method, NULL, false);

	assert_int_equal(ih_send(c, msg, NULL, 0), 0);
	json_object_put(msg);
}

static void check_reply(json_object *reply, bool get_info, size_t nzones)
{
	json_object *p = ih_ok(reply), *v;

	if (get_info) {
		assert_true(json_object_object_get_ex(p, "info", &v));
		assert_string_equal(json_object_get_string(json_object_object_get(v, "backend")),
				    ih_backend_kind());
		return;
	}
	assert_true(json_object_object_get_ex(p, "zones", &v));
	assert_int_equal(json_object_array_length(v), nzones);
	if (nzones > 1)
		assert_string_equal(json_object_get_string(json_object_object_get(
					    json_object_array_get_idx(v, 1), "name")),
				    "zone1");
}

/* One call on each client (sent to all before any reply is read), then
 * every reply, in whatever order they come. */
static void round_trip_all(struct vl_client **c, size_t n, int round, size_t nzones)
{
	bool *done = calloc(n, sizeof(bool));
	struct pollfd *p = calloc(n, sizeof(*p));
	size_t left = n;

	assert_non_null(done);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		send_call(c[i], (i + (size_t)round) % 5 == 0 ? "org.hvisor.Manager.GetInfo"
							     : "org.hvisor.Zone.List");
	while (left > 0) {
		int r;

		for (size_t i = 0; i < n; i++)
			p[i] = (struct pollfd){.fd = done[i] ? -1 : c[i]->fd, .events = POLLIN};
		r = poll(p, (nfds_t)n, IH_TIMEOUT_MS);
		if (r == 0)
			fail_msg("%zu of %zu clients got no reply", left, n);
		for (size_t i = 0; i < n; i++) {
			json_object *reply = NULL;

			if (done[i] || !p[i].revents)
				continue;
			/* the whole reply is small: once readable it is all there
			 * (or the rest follows at once) */
			assert_int_equal(ih_recv(c[i], IH_TIMEOUT_MS, &reply), 1);
			check_reply(reply, (i + (size_t)round) % 5 == 0, nzones);
			json_object_put(reply);
			done[i] = true;
			left--;
		}
	}
	free(done);
	free(p);
}

static void test_200_clients(void **state)
{
	struct ih *h = ih_start(NULL);
	char *cfg = ih_make_zone(h, "zone1", 4096, 4096);
	struct vl_client **c = calloc(N_CLIENTS, sizeof(*c));
	pid_t pids[N_HVCTL];
	int outs[N_HVCTL];
	struct ih_out o;

	assert_non_null(c);
	assert_int_equal(ih_hvctl(h, &o, "zone", "start", cfg, NULL), 0);
	ih_out_free(&o);

	/* 200 connections open at once */
	for (size_t i = 0; i < N_CLIENTS; i++)
		c[i] = ih_client(h);
	/* while they are open, hvctl processes come and go */
	for (int i = 0; i < N_HVCTL; i++) {
		const char *argv[] = {ih_bin_hvctl(), "zone", "list", "--json", NULL};

		pids[i] = ih_spawn_bg(h, argv, &outs[i]);
	}
	round_trip_all(c, N_CLIENTS, 0, 2);
	round_trip_all(c, N_CLIENTS, 1, 2);
	for (int i = 0; i < N_HVCTL; i++) {
		struct ih_lines *l = calloc(1, sizeof(*l));
		char *all = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&all, &len);
		char line[4096];
		json_object *j, *zones;
		int status;

		assert_non_null(l);
		l->fd = outs[i];
		while (ih_read_line(l, line, sizeof(line), IH_TIMEOUT_MS) >= 0)
			fprintf(f, "%s\n", line);
		fclose(f);
		close(outs[i]);
		free(l);
		status = ih_waitpid(pids[i], IH_TIMEOUT_MS);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		j = json_tokener_parse(all);
		assert_non_null(j);
		assert_true(json_object_object_get_ex(j, "zones", &zones));
		assert_int_equal(json_object_array_length(zones), 2);
		json_object_put(j);
		free(all);
	}
	/* half of them hang up, the rest still work */
	for (size_t i = 0; i < N_CLIENTS; i += 2)
		c[i] = vl_client_free(c[i]);
	{
		struct vl_client *rest[N_CLIENTS / 2];

		for (size_t i = 1, k = 0; i < N_CLIENTS; i += 2)
			rest[k++] = c[i];
		round_trip_all(rest, N_CLIENTS / 2, 2, 2);
	}
	for (size_t i = 0; i < N_CLIENTS; i++)
		vl_client_free(c[i]);
	free(c);
	free(cfg);
	ih_assert_serving(h);
	ih_stop(h);
}

/* A List on a new connection: true if served, false if refused for the
 * connection limit. */
static bool try_list(struct ih *h)
{
	static const char call[] = "{\"method\": \"org.hvisor.Zone.List\"}";
	int fd = ih_raw_connect(h->sock);
	struct vl_framer frm;
	json_object *reply = NULL;
	bool served;

	vl_framer_init(&frm, VL_MAX_MESSAGE_SIZE);
	ih_note_sent(fd, call, sizeof(call));
	(void)!send(fd, call, sizeof(call), MSG_NOSIGNAL); /* may hit a closed socket */
	assert_int_equal(ih_raw_recv(fd, &frm, IH_TIMEOUT_MS, &reply), 1);
	served = !vl_reply_error(reply);
	if (!served)
		ih_assert_error(reply, "org.hvisor.LimitExceeded");
	json_object_put(reply);
	vl_framer_done(&frm);
	close(fd);
	return served;
}

/* A client that was served a GetInfo. Connections closed just before may
 * still hold their slots for a moment: retry while refused. */
static struct vl_client *client_served(struct ih *h)
{
	static const char call[] = "{\"method\": \"org.hvisor.Manager.GetInfo\"}";

	for (int tries = 0; tries < 500; tries++) {
		struct vl_client *c = ih_client(h);
		json_object *reply = NULL;

		ih_note_sent(c->fd, call, sizeof(call));
		(void)!send(c->fd, call, sizeof(call), MSG_NOSIGNAL);
		assert_int_equal(ih_recv(c, IH_TIMEOUT_MS, &reply), 1);
		if (!vl_reply_error(reply)) {
			json_object_put(reply);
			return c;
		}
		ih_assert_error(reply, "org.hvisor.LimitExceeded");
		json_object_put(reply);
		vl_client_free(c);
		poll(NULL, 0, 10);
	}
	fail_msg("no connection slot became free");
	return NULL;
}

static void test_connection_limit(void **state)
{
	const char *args[] = {"--max-connections", "16", NULL};
	struct ih_opts opts = {.daemon_args = args};
	struct ih *h = ih_start(&opts);
	struct vl_client *c[16];
	json_object *limits = ih_call(c[0] = ih_client(h), "org.hvisor.GetLimits", NULL), *l;

	/* GetLimits tells the limit */
	assert_true(json_object_object_get_ex(ih_ok(limits), "limits", &l));
	assert_int_equal(ih_jint(l, "connections"), 16);
	json_object_put(limits);
	vl_client_free(c[0]);
	for (int round = 0; round < 2; round++) {
		json_object *reply = NULL, *v;
		struct vl_framer frm;
		int fd;

		/* 16 connections, each known to be accepted (a call answered) */
		for (size_t i = 0; i < ARRAY_SIZE(c); i++)
			c[i] = client_served(h);
		/* the 17th is told why, then closed */
		fd = ih_raw_connect(h->sock);
		vl_framer_init(&frm, VL_MAX_MESSAGE_SIZE);
		assert_int_equal(ih_raw_recv(fd, &frm, IH_TIMEOUT_MS, &reply), 1);
		ih_assert_error(reply, "org.hvisor.LimitExceeded");
		assert_true(json_object_object_get_ex(vl_reply_parameters(reply), "limit", &v));
		assert_string_equal(json_object_get_string(v), "connections");
		json_object_put(reply);
		ih_assert_closed(fd, &frm);
		vl_framer_done(&frm);
		close(fd);
		/* the 16 still work */
		round_trip_all(c, ARRAY_SIZE(c), round, 1);
		/* one leaves: a newcomer gets its place (hvisord notices the
		 * hang-up asynchronously, so it may be refused a few times) */
		vl_client_free(c[0]);
		for (int tries = 0; !try_list(h); tries++) {
			assert_true(tries < 500);
			poll(NULL, 0, 10);
		}
		for (size_t i = 1; i < ARRAY_SIZE(c); i++)
			vl_client_free(c[i]);
	}
	assert_true(ih_file_contains(h->log, "refusing connection"));
	for (int tries = 0; !try_list(h); tries++) {
		assert_true(tries < 500);
		poll(NULL, 0, 10);
	}
	ih_assert_serving(h);
	ih_stop(h);
}

/* Sends Zone.Start for `cfg` (kernel and dtb named in it, relative to the
 * runtime dir) without waiting for the reply. */
/* Two clients start zones that cannot both run, at the same moment (the
 * first one's 48 MiB kernel takes several event-loop turns to load):
 * exactly one wins, the other gets the named error, nothing is left over. */
static void test_competing_starts(void **state)
{
	struct ih *h = ih_start(NULL);
	char *z1 = ih_make_zone(h, "zone1", 48u << 20, 4096);
	char *z2 = ih_make_zone(h, "zone2", 4096, 4096);
	char *cpu2 = ih_path(h, "cpu2.json"), *overlap = ih_path(h, "overlap.json");
	json_object *j;
	struct {
		const char *other;
		const char *error;
	} cases[] = {
		{z1, "org.hvisor.Zone.AlreadyExists"},
		{cpu2, "org.hvisor.Zone.CpuBusy"},
		{overlap, "org.hvisor.Zone.MemoryOverlap"},
	};

	j = ih_json_load(z2);
	{
		json_object *cpus = json_object_new_array();

		json_object_array_add(cpus, json_object_new_int(2));
		ih_json_set(j, "cpus", cpus);
	}
	ih_json_save(j, cpu2);
	json_object_put(j);
	j = ih_json_load(z2);
	/* over the upper half of zone1's RAM */
	ih_json_rebase(j, ih_layout("zone1").ram + ih_layout("zone1").ram_size / 2);
	ih_json_save(j, overlap);
	json_object_put(j);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vl_client *a = ih_client(h), *b = ih_client(h);
		json_object *ra = NULL, *rb = NULL, *winner;
		uint32_t ids[8], sim_ids[8];
		int n;

		ih_send_start(h, a, z1);
		ih_send_start(h, b, cases[i].other);
		assert_int_equal(ih_recv(a, IH_TIMEOUT_MS, &ra), 1);
		assert_int_equal(ih_recv(b, IH_TIMEOUT_MS, &rb), 1);
		if (!vl_reply_error(ra)) {
			ih_assert_error(rb, cases[i].error);
			winner = ra;
		} else {
			ih_assert_error(ra, cases[i].error);
			ih_ok(rb);
			winner = rb;
		}
		/* exactly one zone besides root, and the sim agrees */
		n = ih_zone_ids(h, ids, 8);
		assert_int_equal(n, 2);
		assert_int_equal(ih_sim_zone_ids(h, sim_ids, 8), 2);
		assert_int_equal(ids[1], sim_ids[1]);
		{
			json_object *v;
			char params[64];
			struct vl_client *c = ih_client(h);
			json_object *r;

			assert_true(json_object_object_get_ex(ih_ok(winner), "zone_id", &v));
			assert_int_equal(json_object_get_int(v), (int)ids[1]);
			if (ids[1] == 1) {
				char *k = ih_path(h, "zone1-kernel.bin");

				ih_assert_phys_equals_file(h, ih_layout("zone1").kernel, k);
				free(k);
			}
			snprintf(params, sizeof(params), "{\"zone_id\": %u}", ids[1]);
			r = ih_call(c, "org.hvisor.Zone.Shutdown", params);
			ih_ok(r);
			json_object_put(r);
			vl_client_free(c);
		}
		json_object_put(ra);
		json_object_put(rb);
		vl_client_free(a);
		vl_client_free(b);
	}
	free(z1);
	free(z2);
	free(cpu2);
	free(overlap);
	ih_assert_serving(h);
	ih_stop(h);
}

/* Images are loaded in bounded steps: other clients are served while a
 * big kernel loads, and see the zone as "starting". hvisor-sim holds the
 * loads, so the start cannot finish meanwhile. */
static void test_served_during_load(void **state)
{
	struct ih *h = ih_start(NULL);
	char *z1 = ih_make_zone(h, "zone1", 4096, 4096);
	char *k = ih_path(h, "zone1-kernel.bin");
	struct vl_client *a = ih_client(h), *b = ih_client(h);
	json_object *ra = NULL, *rb, *zones, *z, *v;
	int fd;

	/* 64 MiB of kernel (sparse): 8 loads of 8 MiB, more than the test lets go */
	fd = open(k, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 64 << 20), 0);
	close(fd);
	ih_load_hold(h, HVSIM_HOLD_ON);
	ih_send_start(h, a, z1);
	assert_int_equal(ih_load_hold(h, HVSIM_HOLD_WAIT), 0);
	/* b is served during the load and sees the zone starting */
	rb = ih_call_during_load(h, b, "org.hvisor.Zone.List", NULL);
	assert_true(json_object_object_get_ex(ih_ok(rb), "zones", &zones));
	assert_int_equal(json_object_array_length(zones), 2);
	z = json_object_array_get_idx(zones, 1);
	assert_true(json_object_object_get_ex(z, "status", &v));
	assert_string_equal(json_object_get_string(v), "starting");
	json_object_put(rb);
	/* its details are known already; it cannot be shut down yet */
	rb = ih_call_during_load(h, b, "org.hvisor.Zone.Info", "{\"zone_id\": 1}");
	assert_true(json_object_object_get_ex(ih_ok(rb), "zone", &z));
	assert_true(json_object_object_get_ex(z, "status", &v));
	assert_string_equal(json_object_get_string(v), "starting");
	assert_true(json_object_object_get_ex(z, "entry_point", &v));
	assert_int_equal(json_object_get_int64(v), ih_layout("zone1").entry);
	json_object_put(rb);
	rb = ih_call_during_load(h, b, "org.hvisor.Zone.Shutdown", "{\"zone_id\": 1}");
	ih_assert_error(rb, "org.hvisor.Busy");
	json_object_put(rb);
	/* a still waits (its loads are held), and gets its reply once they go */
	assert_int_equal(ih_recv(a, 0, &ra), -ETIMEDOUT);
	/* (its next load may be held already, or still on its way) */
	assert_true(ih_load_hold(h, HVSIM_HOLD_OFF) >= 0);
	assert_int_equal(ih_recv(a, IH_TIMEOUT_MS, &ra), 1);
	ih_ok(ra);
	json_object_put(ra);
	vl_client_free(a);
	vl_client_free(b);
	free(z1);
	free(k);
	ih_stop(h);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_200_clients, ih_reap),
		cmocka_unit_test_setup(test_connection_limit, ih_reap),
		cmocka_unit_test_setup(test_competing_starts, ih_reap),
		cmocka_unit_test_setup(test_served_during_load, ih_reap),
	};

	ih_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, ih_reap);
}
