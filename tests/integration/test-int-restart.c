// SPDX-License-Identifier: GPL-2.0-only
/* hvisord restarts (SIGTERM, kill -9, several in a row) while a guest
 * writes and verifies its disk and sends on its console: the guest notices
 * nothing, and the new hvisord manages the zone, its devices and their
 * backend as the old one did. Also: a backend that dies while hvisord is
 * away, failed backends and pending devices, the descriptor keeper, a
 * hostile state file, a stopped backend, --stop-zones. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "hvsim-guest.h"
#include "util.h"

#define BLK_ADDR 0xa003c00
#define BLK_IRQ	 78
/* the console is zone 2's: one guest per zone on hvisor-sim */
#define CON_ZONE    2
#define CON_ADDR    0xa004000
#define CON_IRQ	    80
#define CON_SPEC    "console,addr=0xa004000,len=0x200,irq=80"
#define CON_BYTES   (256 * 1024)
#define CON_SEED    11
#define BLK_WRITES  "3000"
#define KILL9	    (-9)
#define GUEST_TO_MS "30000"

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void hvctl_ok(struct ih *h, const char *const *args)
{
	ih_hvctl_expect(h, 0, args, NULL, NULL, NULL);
}

/* Zone 1 with a disk (and zone 2 with a console); hvisord keeps them
 * across restarts. */
static struct ih *start_zone(bool console)
{
	const struct ih_opts opts = {.keep_zones = true};
	struct ih *h = ih_start(&opts);
	char *img = ih_make_image(h, "disk.img", 16 << 20), *spec;

	ih_zone_start(h, "zone1");
	assert_true(asprintf(&spec, "blk,addr=0x%x,len=0x200,irq=%d,img=%s", BLK_ADDR, BLK_IRQ,
			     img) > 0);
	hvctl_ok(h, IH_ARGS("virtio", "add", "1", spec));
	if (console) {
		ih_zone_start(h, "zone2");
		hvctl_ok(h, IH_ARGS("virtio", "add", "2", CON_SPEC));
	}
	free(spec);
	free(img);
	return h;
}

static void restart(struct ih *h, int how)
{
	if (how == KILL9)
		ih_daemon_kill9(h);
	else
		ih_daemon_stop(h, how);
	ih_daemon_restart(h, NULL);
}

/* Waits until zone 1's disk has served `n` requests more than `from`. */
static int64_t wait_requests(struct ih *h, int64_t from, int64_t n)
{
	int64_t deadline = mono_ms() + IH_TIMEOUT_MS, r;

	while ((r = ih_virtio_counter(h, 1, BLK_ADDR, "requests")) < from + n) {
		if (mono_ms() > deadline)
			fail_msg("the disk served %lld requests, expected %lld\n%s", (long long)r,
				 (long long)(from + n), ih_bg_log(h));
		poll(NULL, 0, 5);
	}
	return r;
}

/* Reads CON_BYTES of console-send's pattern from the console. */
static void read_console(struct ih *h, int fd)
{
	int64_t deadline = mono_ms() + 3 * IH_TIMEOUT_MS;
	uint64_t off = 0;
	uint8_t buf[8192];

	while (off < CON_BYTES) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t k;

		if (mono_ms() > deadline)
			fail_msg("the console gave %llu of %d bytes\n%s", (unsigned long long)off,
				 CON_BYTES, ih_bg_log(h));
		if (poll(&p, 1, 100) <= 0)
			continue;
		k = read(fd, buf, MIN(sizeof(buf), (size_t)(CON_BYTES - off)));
		if (k < 0 && errno == EAGAIN)
			continue;
		assert_true(k > 0);
		for (ssize_t i = 0; i < k; i++)
			if (buf[i] != wl_pattern_byte(CON_SEED, off + (uint64_t)i))
				fail_msg("console byte %llu is wrong",
					 (unsigned long long)(off + (uint64_t)i));
		off += (uint64_t)k;
	}
}

/* blk-verify's JSON result: every write done, no sector wrong. */
static void expect_verified(struct ih *h, pid_t guest, int out)
{
	json_object *res = ih_wait_bg_json(h, guest, out, 3 * IH_TIMEOUT_MS);

	assert_int_equal(ih_jint(res, "writes"), atoi(BLK_WRITES));
	assert_int_equal(ih_jint(res, "mismatched_sectors"), 0);
	json_object_put(res);
}

/* After the restarts: the same zone, devices, backend and counters, and
 * every operation works. */
static void expect_managed(struct ih *h, pid_t backend, int64_t requests)
{
	json_object *z = ih_zone_virtio(h, 1);

	assert_string_equal(ih_jstr(z, "backend"), "running");
	assert_int_equal(ih_jint(z, "pid"), backend);
	assert_int_equal(ih_jint(z, "devices"), 1);
	json_object_put(z);
	assert_true(ih_virtio_counter(h, 1, BLK_ADDR, "requests") >= requests);
	ih_hvctl_expect(h, 0, IH_ARGS("zone", "info", "1"), "Started:", NULL, NULL);
	ih_hvctl_expect(h, 0, IH_ARGS("zone", "info", "2"), "Started:", NULL, NULL);
	hvctl_ok(h, IH_ARGS("virtio", "add", "1", "console,addr=0xa003800,len=0x200,irq=76"));
	hvctl_ok(h, IH_ARGS("virtio", "remove", "1", "0xa003800"));
	hvctl_ok(h, IH_ARGS("virtio", "remove", "2", "0xa004000"));
	hvctl_ok(h, IH_ARGS("virtio", "add", "2", CON_SPEC));
	/* the reply comes once the backend is gone */
	hvctl_ok(h, IH_ARGS("zone", "shutdown", "1"));
	assert_false(ih_pid_alive(backend, IH_VIRTIOD_COMM));
}

/* A guest verifies its disk and sends on its console while hvisord is
 * restarted `times` times by `how`. Each restart has a blk-verify of its
 * own, well into its writes: the backend serves on while hvisord is away,
 * so one guest could finish before a later restart. */
static void restarts_during_io(int how, int times)
{
	struct ih *h = start_zone(true);
	pid_t backend = ih_virtiod_pid(h, 1), blk, con;
	char *link = ih_path(h, "zone2/console"), nbytes[16], seed[16];
	int64_t req = 0;
	int out, fd;

	fd = open(link, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	assert_true(fd >= 0);
	snprintf(nbytes, sizeof(nbytes), "%d", CON_BYTES);
	con = ih_guest_bg(h, NULL, CON_ZONE, CON_ADDR, CON_IRQ, "--timeout", GUEST_TO_MS,
			  "console-send", "--bytes", nbytes, "--seed", "11", NULL);
	for (int i = 0; i < times; i++) {
		snprintf(seed, sizeof(seed), "%d", i + 1);
		blk = ih_guest_bg(h, &out, 1, BLK_ADDR, BLK_IRQ, "--timeout", GUEST_TO_MS, "--json",
				  "blk-verify", "--count", BLK_WRITES, "--qd", "16", "--seed", seed,
				  NULL);
		req = wait_requests(h, req, 100);
		restart(h, how == 0 ? (i % 2 ? KILL9 : SIGTERM) : how);
		expect_verified(h, blk, out);
		req = ih_virtio_counter(h, 1, BLK_ADDR, "requests");
	}
	read_console(h, fd);
	close(fd);
	assert_int_equal(ih_wait_bg(h, con, IH_TIMEOUT_MS), 0);
	/* the backend was never restarted: it served on */
	expect_managed(h, backend, req);
	assert_false(ih_file_contains(h->log, "no completion within"));
	free(link);
	ih_stop(h);
}

static void test_sigterm(void **state)
{
	restarts_during_io(SIGTERM, 1);
}

static void test_kill9(void **state)
{
	restarts_during_io(KILL9, 1);
}

static void test_three_in_a_row(void **state)
{
	restarts_during_io(0, 3);
}

/* After a restart hvisord still knows zone 1's memory: an overlapping zone
 * is refused by hvisord itself (MemoryOverlap), not by the hypervisor. */
static void test_overlap_after_restart(void **state)
{
	struct ih *h = start_zone(false);
	char *cfg = ih_make_zone(h, "zone1", 4096, 4096);
	json_object *c = ih_json_load(cfg);

	/* zone 3 on zone 1's RAM and CPUs of its own */
	ih_json_set(c, "zone_id", json_object_new_int(3));
	ih_json_set(c, "name", json_object_new_string("overlap"));
	ih_json_set(c, "cpus", json_tokener_parse("[3]"));
	ih_json_save(c, cfg);
	json_object_put(c);
	restart(h, SIGTERM);
	ih_hvctl_expect(h, 1, IH_ARGS("zone", "start", cfg), NULL, "org.hvisor.Zone.MemoryOverlap",
			NULL);
	restart(h, KILL9);
	ih_hvctl_expect(h, 1, IH_ARGS("zone", "start", cfg), NULL, "org.hvisor.Zone.MemoryOverlap",
			NULL);
	free(cfg);
	ih_stop(h);
}

/* The backend dies while hvisord is away: the new hvisord starts it again
 * (the guest's setup and the requests it had taken are restored) and counts
 * the restart. */
static void test_backend_dies_while_away(void **state)
{
	struct ih *h = start_zone(false);
	pid_t backend = ih_virtiod_pid(h, 1), blk, now;
	json_object *z;
	int out;

	blk = ih_guest_bg(h, &out, 1, BLK_ADDR, BLK_IRQ, "--timeout", GUEST_TO_MS, "--json",
			  "blk-verify", "--count", BLK_WRITES, "--qd", "16", NULL);
	wait_requests(h, 0, 200);
	ih_daemon_stop(h, SIGTERM);
	assert_int_equal(kill(backend, SIGKILL), 0);
	ih_daemon_restart(h, NULL);
	now = ih_wait_virtiod(h, 1, backend);
	expect_verified(h, blk, out);
	z = ih_zone_virtio(h, 1);
	assert_int_equal(ih_jint(z, "restarts"), 1);
	assert_int_equal(ih_jint(z, "pid"), now);
	assert_string_equal(ih_jstr(z, "last_exit"), "gone while hvisord was away");
	json_object_put(z);
	ih_stop(h);
}

/* A failed backend stays failed, a pending device stays pending, across a
 * restart; both ways out of failed still work, the pending device is
 * served when its zone starts. */
static void test_failed_and_pending(void **state)
{
	struct ih *h = start_zone(false);
	pid_t pid = 0;
	json_object *z;

	hvctl_ok(h, IH_ARGS("virtio", "add", "2", CON_SPEC));
	/* 5 quick deaths: given up on */
	for (int i = 0; i < 5; i++) {
		pid = ih_wait_virtiod(h, 1, pid);
		assert_int_equal(kill(pid, SIGKILL), 0);
	}
	for (int64_t deadline = mono_ms() + IH_TIMEOUT_MS;; poll(NULL, 0, 10)) {
		z = ih_zone_virtio(h, 1);
		if (strcmp(ih_jstr(z, "backend"), "failed") == 0)
			break;
		json_object_put(z);
		if (mono_ms() > deadline)
			fail_msg("the backend did not become failed");
	}
	json_object_put(z);
	restart(h, KILL9);
	z = ih_zone_virtio(h, 1);
	assert_string_equal(ih_jstr(z, "backend"), "failed");
	json_object_put(z);
	ih_hvctl_expect(h, 0, IH_ARGS("virtio", "list"), "pending", NULL, NULL);
	ih_zone_start(h, "zone2");
	assert_true(ih_virtiod_pid(h, 2) > 0);
	/* out of failed: the zone's device removed and added again */
	hvctl_ok(h, IH_ARGS("virtio", "remove", "1", "0xa003c00"));
	{
		char *img = ih_path(h, "disk.img"), *spec;

		assert_true(asprintf(&spec, "blk,addr=0x%x,len=0x200,irq=%d,img=%s", BLK_ADDR,
				     BLK_IRQ, img) > 0);
		hvctl_ok(h, IH_ARGS("virtio", "add", "1", spec));
		free(spec);
		free(img);
	}
	ih_blk_verify_quick(h, 1, BLK_ADDR, BLK_IRQ);
	ih_stop(h);
}

/* The descriptor keeper is killed: hvisord starts a new one with the next
 * descriptor and hands it everything again, so a restart still finds
 * every device. */
static void test_keeper_killed(void **state)
{
	struct ih *h = start_zone(false);
	pid_t keeper = ih_keeper_pid(h), backend = ih_virtiod_pid(h, 1);

	assert_true(keeper > 0);
	assert_int_equal(kill(keeper, SIGKILL), 0);
	ih_zone_start(h, "zone2");
	hvctl_ok(h, IH_ARGS("virtio", "add", "2", CON_SPEC));
	assert_true(ih_keeper_pid(h) > 0);
	assert_int_not_equal(ih_keeper_pid(h), keeper);
	assert_true(ih_file_contains(h->log, "the descriptor keeper is gone"));
	restart(h, KILL9);
	/* the backend was kept, and its disk */
	assert_int_equal(ih_virtiod_pid(h, 1), backend);
	ih_blk_verify_quick(h, 1, BLK_ADDR, BLK_IRQ);
	ih_hvctl_expect(h, 0, IH_ARGS("virtio", "list"), "0xa004000", NULL, NULL);
	ih_stop(h);
}

/* What a state file may say is checked, never obeyed: hvisord starts,
 * says what it ignored, and the zone is unmanaged. */
static void test_state_file_hostile(void **state)
{
	static const char *const bad[] = {
		"not json",
		"{\"version\": 1, \"zones\": \"x\", \"virtio\": 7}",
		"{\"version\": 1, \"zones\": [{\"id\": 1, \"started_by\": 0, \"started_usec\": 1, "
		"\"config\": {\"zone_id\": 9}}]}",
		"{\"version\": 2}",
		"{\"version\": 1, \"zones\": [], \"virtio\": [{\"zone_id\": 1, \"devices\": "
		"[{\"spec\": {\"type\": \"blk\"}}], \"backend\": {}}]}",
	};
	struct ih *h = start_zone(false);
	char *st = ih_path(h, "state.json"), *mine = ih_path(h, "mine");

	for (size_t i = 0; i <= ARRAY_SIZE(bad) + 1; i++) {
		ih_daemon_stop(h, SIGTERM);
		assert_int_equal(unlink(st), 0);
		if (i < ARRAY_SIZE(bad))
			ih_write_file(st, bad[i], strlen(bad[i]), 0600);
		else if (i == ARRAY_SIZE(bad)) /* a symlink is not followed */
			assert_int_equal(symlink("/etc/passwd", st), 0);
		else /* readable by others: not ours */
			ih_write_file(st, "{}", 2, 0644);
		ih_daemon_restart(h, NULL);
		ih_hvctl_expect(h, 0, IH_ARGS("zone", "info", "1"), "Managed:      no", NULL, NULL);
	}
	assert_true(ih_file_contains(h->log, "ignoring the state file"));
	assert_true(ih_file_contains(h->log, "state file: zones[0].config"));
	assert_true(ih_file_contains(h->log, "state file: virtio[0]"));
	free(st);
	free(mine);
	ih_stop(h);
}

/* zone 1's device in Virtio.List: answering, and whether counters came. */
static bool device_answering(struct ih *h, bool *ret_counters)
{
	json_object *d = ih_virtio_device(h, 1, BLK_ADDR), *v;
	bool answering =
		json_object_object_get_ex(d, "answering", &v) && json_object_get_boolean(v);

	*ret_counters = json_object_object_get_ex(d, "requests", NULL);
	json_object_put(d);
	return answering;
}

/* A stopped backend (SIGSTOP) holds nobody up: zone list, virtio list,
 * events and another zone's virtio add are answered, without a call to it
 * (no deadline missed); its zone's entries say it does not answer; after
 * SIGCONT it answers again. */
static void test_stopped_backend(void **state)
{
	struct ih *h = start_zone(true);
	pid_t stopped = ih_virtiod_pid(h, 1);
	struct vl_client *sub;
	bool counters;
	json_object *z;

	assert_int_equal(kill(stopped, SIGSTOP), 0);
	ih_wait_stopped(stopped, true);
	ih_hvctl_expect(h, 0, IH_ARGS("zone", "list"), "zone1", NULL, NULL);
	assert_false(device_answering(h, &counters));
	assert_false(counters);
	assert_true(ih_virtio_counter(h, 2, CON_ADDR, "requests") >= 0);
	sub = ih_subscribe(h);
	hvctl_ok(h, IH_ARGS("virtio", "add", "2", "console,addr=0xa004200,len=0x200,irq=81"));
	json_object_put(ih_wait_event(sub, "VirtioDeviceAdded", 2, IH_TIMEOUT_MS));
	z = ih_zone_virtio(h, 1);
	assert_non_null(strstr(ih_jstr(z, "not_answering"), "stopped"));
	json_object_put(z);
	ih_hvctl_expect(h, 1,
			IH_ARGS("virtio", "add", "1", "console,addr=0xa003800,len=0x200,irq=76"),
			NULL, "does not answer", NULL);
	/* hvisord never waited for it */
	assert_false(ih_file_contains(h->log, "did not answer"));

	assert_int_equal(kill(stopped, SIGCONT), 0);
	for (int64_t deadline = mono_ms() + IH_TIMEOUT_MS; !device_answering(h, &counters);
	     poll(NULL, 0, 10))
		if (mono_ms() > deadline)
			fail_msg("the backend does not answer after SIGCONT");
	assert_true(counters);
	ih_blk_verify_quick(h, 1, BLK_ADDR, BLK_IRQ);
	vl_client_free(sub);
	ih_stop(h);
}

/* hvisord --stop-zones: its exit shuts every zone down, with its backend,
 * tells the keeper to go and removes the state file. */
static void test_stop_zones(void **state)
{
	const char *args[] = {"--stop-zones", NULL};
	struct ih *h = start_zone(true);
	pid_t b1 = ih_virtiod_pid(h, 1), b2 = ih_virtiod_pid(h, 2), keeper = ih_keeper_pid(h);
	char *st = ih_path(h, "state.json");
	uint32_t ids[8];

	/* the same hvisord, told to stop everything on its way out */
	ih_daemon_stop(h, SIGTERM);
	ih_daemon_restart(h, args);
	assert_int_equal(ih_virtiod_pid(h, 1), b1);
	ih_daemon_stop(h, SIGTERM);
	assert_int_equal(ih_sim_zone_ids(h, ids, ARRAY_SIZE(ids)), 1); /* zone 0 only */
	assert_false(ih_pid_alive(b1, IH_VIRTIOD_COMM));
	assert_false(ih_pid_alive(b2, IH_VIRTIOD_COMM));
	for (int64_t deadline = mono_ms() + IH_TIMEOUT_MS; ih_pid_alive(keeper, NULL);
	     poll(NULL, 0, 10))
		if (mono_ms() > deadline)
			fail_msg("the descriptor keeper is still there");
	assert_int_equal(access(st, F_OK), -1);
	ih_daemon_restart(h, NULL);
	ih_hvctl_expect(h, 0, IH_ARGS("virtio", "list", "--json"), "[", NULL, NULL);
	free(st);
	ih_stop(h);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_sigterm, ih_reap),
		cmocka_unit_test_setup(test_kill9, ih_reap),
		cmocka_unit_test_setup(test_three_in_a_row, ih_reap),
		cmocka_unit_test_setup(test_overlap_after_restart, ih_reap),
		cmocka_unit_test_setup(test_backend_dies_while_away, ih_reap),
		cmocka_unit_test_setup(test_failed_and_pending, ih_reap),
		cmocka_unit_test_setup(test_keeper_killed, ih_reap),
		cmocka_unit_test_setup(test_state_file_hostile, ih_reap),
		cmocka_unit_test_setup(test_stopped_backend, ih_reap),
		cmocka_unit_test_setup(test_stop_zones, ih_reap),
	};

	ih_init(argc, argv);
	ih_need_virtio();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
