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
		if (mono_ms() > deadline) {
			char *bg = ih_path(h, "bg.log"), *text = ih_read_file(bg, NULL);

			fail_msg("the disk served %lld requests, expected %lld\n%s", (long long)r,
				 (long long)(from + n), text);
		}
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

		if (mono_ms() > deadline) {
			char *bg = ih_path(h, "bg.log"), *text = ih_read_file(bg, NULL);

			fail_msg("the console gave %llu of %d bytes\n%s", (unsigned long long)off,
				 CON_BYTES, text);
		}
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
	char buf[16384];
	json_object *res;
	ssize_t k;
	int rc = ih_wait_bg(h, guest, 3 * IH_TIMEOUT_MS);

	k = read(out, buf, sizeof(buf) - 1);
	close(out);
	buf[k > 0 ? k : 0] = '\0';
	if (rc != 0) {
		char *bg = ih_path(h, "bg.log"), *text = ih_read_file(bg, NULL);

		fail_msg("blk-verify across the restarts exited %d: %s\n%s", rc, buf, text);
	}
	res = json_tokener_parse(buf);
	assert_non_null(res);
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
 * restarted `times` times by `how`. */
static void restarts_during_io(int how, int times)
{
	struct ih *h = start_zone(true);
	pid_t backend = ih_virtiod_pid(h, 1), blk, con;
	char *link = ih_path(h, "zone2/console"), nbytes[16];
	int64_t req = 0;
	int out, fd;

	fd = open(link, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	assert_true(fd >= 0);
	snprintf(nbytes, sizeof(nbytes), "%d", CON_BYTES);
	blk = ih_guest_bg(h, &out, 1, BLK_ADDR, BLK_IRQ, "--timeout", GUEST_TO_MS, "--json",
			  "blk-verify", "--count", BLK_WRITES, "--qd", "16", NULL);
	con = ih_guest_bg(h, NULL, CON_ZONE, CON_ADDR, CON_IRQ, "--timeout", GUEST_TO_MS,
			  "console-send", "--bytes", nbytes, "--seed", "11", NULL);
	for (int i = 0; i < times; i++) {
		req = wait_requests(h, req, 100);
		restart(h, how == 0 ? (i % 2 ? KILL9 : SIGTERM) : how);
	}
	read_console(h, fd);
	close(fd);
	assert_int_equal(ih_wait_bg(h, con, IH_TIMEOUT_MS), 0);
	expect_verified(h, blk, out);
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

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_sigterm, ih_reap),
		cmocka_unit_test_setup(test_kill9, ih_reap),
		cmocka_unit_test_setup(test_three_in_a_row, ih_reap),
		cmocka_unit_test_setup(test_overlap_after_restart, ih_reap),
	};

	ih_init(argc, argv);
	ih_need_virtio();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
