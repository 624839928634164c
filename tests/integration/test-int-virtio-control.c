// SPDX-License-Identifier: GPL-2.0-only
/* The virtio control plane through its real interfaces (hvctl, the hvisor
 * link, raw varlink where a finer look is needed):
 *  - hvctl virtio add for blk, net and console, hvctl virtio list as a
 *    table and as JSON, hvctl virtio remove; one hvisor-virtiod per zone,
 *    gone with the zone's last device (also while it waits for a restart
 *    or was given up on) and with the zone itself; a device removed while
 *    the backend is down is unplugged like any other;
 *  - refusals name what was wrong and change nothing: overlapping windows,
 *    an IRQ or an address the zone does not have, the root zone, a zone not
 *    started through hvisord without its memory map, malformed specs, a
 *    missing image, an unknown device, the 33rd device, an unprivileged
 *    caller;
 *  - hvctl / hvisor virtio start with upstream's virtio_cfg.json (disabled
 *    devices skipped, all or nothing) and with --device specs;
 *  - devices added before their zone starts are served once it does;
 *  - hvctl zone info shows the backend.
 * Needs root. The net devices need a tap: the test moves into a network
 * namespace of its own for them, and leaves them out where it cannot. */
#include <dirent.h>
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
#include "util.h"

#define BLK_ADDR  0xa003c00
#define BLK_IRQ	  78
#define NET_ADDR  0xa003600
#define NET_IRQ	  77
#define CON_ADDR  0xa003800
#define CON_IRQ	  76
#define CON2_ADDR 0xa007800 /* zone 2's console in virtio_cfg.json */
#define CON2_IRQ  80
#define TAP	  "hvctl0"
#define NET_SPEC  "net,addr=0xa003600,len=0x200,irq=77,tap=" TAP ",mac=02:00:00:00:00:07"
#define CON_SPEC  "console,addr=0xa003800,len=0x200,irq=76"

#define ARGS(...)    ((const char *const[]){__VA_ARGS__, NULL})
#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

static bool have_net; /* in a network namespace of our own, with taps */

/* The end of a test with a net part: without taps it did not run, so the
 * test is a skip, not a pass. */
static void net_part_ran(void)
{
	if (!have_net)
		skip_because("its net devices not run: no network namespace of our own");
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- helpers ------------------------------------------------------------------- */

/* Runs hvctl (or the hvisor link) with args; expects exit `code` and every
 * needle on stderr (or, with code 0, on stdout). The output is returned in
 * o if non-NULL (the caller frees it). */
static void expect_run(struct ih *h, bool link, int code, const char *const *needles,
		       const char *const *args, struct ih_out *ret)
{
	const char *argv[32];
	struct ih_out o;
	size_t n = 0;
	bool ok;
	int r;

	argv[n++] = link ? ih_bin_hvisor_link() : ih_bin_hvctl();
	for (size_t i = 0; args[i]; i++) {
		assert_true(n < ARRAY_SIZE(argv) - 1);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	r = ih_run(h, NULL, &o, argv);
	ok = r == code;
	for (size_t i = 0; needles && needles[i] && ok; i++)
		ok = strstr(code == 0 ? o.out : o.err, needles[i]) != NULL;
	if (!ok) {
		fprintf(stderr, "# %s", link ? "hvisor" : "hvctl");
		for (size_t i = 1; i < n; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "\n# exit %d\n# stdout: %s\n# stderr: %s\n", r, o.out, o.err);
		for (size_t i = 0; needles && needles[i]; i++)
			fprintf(stderr, "# expected: %s\n", needles[i]);
		ih_out_free(&o);
		fail_msg("expected exit %d and the messages above", code);
	}
	if (ret)
		*ret = o;
	else
		ih_out_free(&o);
}

static void hvctl_ok(struct ih *h, const char *const *needles, const char *const *args)
{
	expect_run(h, false, 0, needles, args, NULL);
}

/* The names in a directory, sorted, one per line ("" if it does not exist). */
static char *dir_str(const char *path)
{
	struct dirent **ents;
	int n = scandir(path, &ents, NULL, alphasort);
	size_t len = 1;
	char *s;

	if (n < 0)
		return strdup("");
	for (int i = 0; i < n; i++)
		len += strlen(ents[i]->d_name) + 1;
	s = calloc(1, len);
	assert_non_null(s);
	for (int i = 0; i < n; i++) {
		strcat(s, ents[i]->d_name);
		strcat(s, "\n");
		free(ents[i]);
	}
	free(ents);
	return s;
}

static bool jhas(json_object *o, const char *key)
{
	return json_object_object_get_ex(o, key, NULL);
}

/* The device of `zone` at `addr` in a devices array (borrowed), or NULL. */
static json_object *find_dev(json_object *devs, uint32_t zone, uint64_t addr)
{
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		json_object *d = json_object_array_get_idx(devs, i);

		if (ih_jint(d, "zone_id") == zone && (uint64_t)ih_jint(d, "addr") == addr)
			return d;
	}
	return NULL;
}

/* The number of devices of every zone. */
static size_t n_devices(const struct ih *h)
{
	json_object *l = ih_virtio_list(h, 0);
	size_t n = json_object_array_length(l);

	json_object_put(l);
	return n;
}

/* Waits until pid is gone (reaped by hvisord, or at least a zombie). */
static void wait_gone(pid_t pid)
{
	int64_t deadline = mono_ms() + IH_TIMEOUT_MS;

	while (ih_pid_alive(pid, NULL)) {
		if (mono_ms() > deadline)
			fail_msg("pid %d is still running", (int)pid);
		poll(NULL, 0, 10);
	}
}

/* No hvisor-virtiod runs under hvisord any more. */
static void assert_no_backend(const struct ih *h)
{
	pid_t pids[8];
	int64_t deadline = mono_ms() + IH_TIMEOUT_MS;

	while (ih_children_named(h->pid, IH_VIRTIOD_COMM, pids, 8) > 0) {
		if (mono_ms() > deadline)
			fail_msg("hvisor-virtiod pid %d still runs", (int)pids[0]);
		poll(NULL, 0, 10);
	}
}

/* hvctl --json zone info ID: the zone object (a reference the caller puts). */
static json_object *zone_info(struct ih *h, uint32_t id)
{
	char ids[16];
	struct ih_out o;
	json_object *j, *z;

	snprintf(ids, sizeof(ids), "%u", id);
	expect_run(h, false, 0, NULL, ARGS("--json", "zone", "info", ids), &o);
	j = json_tokener_parse(o.out);
	assert_non_null(j);
	ih_out_free(&o);
	assert_true(json_object_object_get_ex(j, "zone", &z));
	json_object_get(z);
	json_object_put(j);
	return z;
}

/* The row of the hvctl virtio list table for addr: 9 fields. */
static void table_row(const char *table, const char *addr, char f[9][256])
{
	const char *line = table;

	/* the header first */
	if (strncmp(table, "ZONE ", 5) != 0 || !strstr(table, "TYPE") || !strstr(table, "ADDR") ||
	    !strstr(table, "IRQ") || !strstr(table, "BACKING") || !strstr(table, "STATE") ||
	    !strstr(table, "PTY") || !strstr(table, "REQUESTS") || !strstr(table, "ERRORS"))
		fail_msg("no table header: %s", table);
	while ((line = strchr(line, '\n')) && *++line) {
		if (sscanf(line, "%255s %255s %255s %255s %255s %255s %255s %255s %255s", f[0],
			   f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]) == 9 &&
		    strcmp(f[2], addr) == 0)
			return;
	}
	fail_msg("no row for %s in:\n%s", addr, table);
}

/* ---- add, list, remove ---------------------------------------------------------- */

/* blk, net and console on a running zone: one backend for all three;
 * virtio list as a table and as JSON; zone info shows the backend; the
 * devices come and go with events; the last one takes the backend with
 * it, and the next add starts a new one. */
static void test_add_list_remove(void **state)
{
	struct ih *h = ih_start(NULL);
	struct vl_client *sub = ih_subscribe(h);
	char *img = ih_make_image(h, "disk.img", 4 << 20), *spec,
	     *link = ih_path(h, "zone1/console");
	char f[9][256], line[512], pty[64];
	json_object *l, *devs, *d, *z, *v, *e;
	unsigned n = have_net ? 3 : 2;
	struct ih_out o;
	pid_t pid, pid2;

	ih_zone_start(h, "zone1");
	assert_true(asprintf(&spec, "blk,addr=0xa003c00,len=0x200,irq=78,img=%s", img) > 0);
	snprintf(line, sizeof(line), "Zone 1: blk device at 0xa003c00 (irq 78, %s) running.\n",
		 img);
	hvctl_ok(h, NEEDLES(line), ARGS("virtio", "add", "1", spec));
	pid = ih_wait_virtiod(h, 1, 0);
	assert_true(ih_pid_alive(pid, IH_VIRTIOD_COMM));
	if (have_net)
		hvctl_ok(h, NEEDLES("Zone 1: net device at 0xa003600 (irq 77, " TAP ") running.\n"),
			 ARGS("virtio", "add", "1", NET_SPEC));
	expect_run(h, false, 0,
		   NEEDLES("Zone 1: console device at 0xa003800 (irq 76, /dev/pts/",
			   ") running.\nchar device redirected to /dev/pts/"),
		   ARGS("virtio", "add", "1", CON_SPEC), &o);
	assert_int_equal(sscanf(strstr(o.out, "/dev/pts/"), "%63[^)]", pty), 1);
	ih_out_free(&o);
	/* one backend serves them all */
	assert_int_equal(ih_virtiod_pid(h, 1), pid);
	{
		pid_t pids[4];

		assert_int_equal(ih_children_named(h->pid, IH_VIRTIOD_COMM, pids, 4), 1);
		assert_int_equal(pids[0], pid);
	}
	/* the events, in order */
	e = ih_wait_event(sub, "VirtioDeviceAdded", 1, IH_TIMEOUT_MS);
	assert_int_equal(ih_jint(e, "addr"), BLK_ADDR);
	assert_string_equal(ih_jstr(e, "type"), "blk");
	json_object_put(e);
	if (have_net) {
		e = ih_wait_event(sub, "VirtioDeviceAdded", 1, IH_TIMEOUT_MS);
		assert_int_equal(ih_jint(e, "addr"), NET_ADDR);
		assert_string_equal(ih_jstr(e, "type"), "net");
		json_object_put(e);
	}
	e = ih_wait_event(sub, "VirtioDeviceAdded", 1, IH_TIMEOUT_MS);
	assert_int_equal(ih_jint(e, "addr"), CON_ADDR);
	assert_string_equal(ih_jstr(e, "type"), "console");
	json_object_put(e);

	/* the table */
	expect_run(h, false, 0, NULL, ARGS("virtio", "list"), &o);
	table_row(o.out, "0xa003c00", f);
	assert_string_equal(f[0], "1");
	assert_string_equal(f[1], "blk");
	assert_string_equal(f[3], "78");
	assert_string_equal(f[4], img);
	assert_string_equal(f[5], "running");
	assert_string_equal(f[6], "-");
	assert_string_equal(f[7], "0");
	assert_string_equal(f[8], "0");
	table_row(o.out, "0xa003800", f);
	assert_string_equal(f[1], "console");
	assert_string_equal(f[3], "76");
	assert_string_equal(f[4], pty);
	assert_string_equal(f[5], "running");
	assert_string_equal(f[6], pty);
	if (have_net) {
		table_row(o.out, "0xa003600", f);
		assert_string_equal(f[1], "net");
		assert_string_equal(f[3], "77");
		assert_string_equal(f[4], TAP);
		assert_string_equal(f[5], "running");
		assert_string_equal(f[6], "-");
	}
	ih_out_free(&o);

	/* JSON */
	expect_run(h, false, 0, NULL, ARGS("--json", "virtio", "list"), &o);
	l = json_tokener_parse(o.out);
	assert_non_null(l);
	ih_out_free(&o);
	assert_true(json_object_object_get_ex(l, "devices", &devs));
	assert_int_equal(json_object_array_length(devs), n);
	for (size_t i = 0; i < n; i++) {
		d = json_object_array_get_idx(devs, i);
		assert_int_equal(ih_jint(d, "zone_id"), 1);
		assert_int_equal(ih_jint(d, "len"), 0x200);
		assert_string_equal(ih_jstr(d, "state"), "running");
		/* counters while the backend runs */
		assert_int_equal(ih_jint(d, "requests"), 0);
		assert_int_equal(ih_jint(d, "errors"), 0);
		assert_true(jhas(d, "notifies") && jhas(d, "interrupts"));
	}
	d = find_dev(devs, 1, BLK_ADDR);
	assert_non_null(d);
	assert_string_equal(ih_jstr(d, "type"), "blk");
	assert_int_equal(ih_jint(d, "irq"), BLK_IRQ);
	assert_string_equal(ih_jstr(d, "backing"), img);
	assert_false(json_object_get_boolean(json_object_object_get(d, "readonly")));
	assert_int_equal(ih_jint(d, "capacity_sectors"), (4 << 20) / 512);
	assert_false(jhas(d, "pty"));
	d = find_dev(devs, 1, CON_ADDR);
	assert_non_null(d);
	assert_string_equal(ih_jstr(d, "type"), "console");
	assert_int_equal(ih_jint(d, "irq"), CON_IRQ);
	assert_string_equal(ih_jstr(d, "backing"), pty);
	assert_string_equal(ih_jstr(d, "pty"), pty);
	assert_string_equal(ih_jstr(d, "console"), link);
	if (have_net) {
		d = find_dev(devs, 1, NET_ADDR);
		assert_non_null(d);
		assert_string_equal(ih_jstr(d, "type"), "net");
		assert_int_equal(ih_jint(d, "irq"), NET_IRQ);
		assert_string_equal(ih_jstr(d, "backing"), TAP);
		assert_string_equal(ih_jstr(d, "mac"), "02:00:00:00:00:07");
		assert_string_equal(ih_jstr(d, "link"), "up");
		assert_false(jhas(d, "pty"));
		assert_true(ih_if_index(TAP) > 0);
	}
	json_object_put(l);
	/* another zone's list is empty */
	expect_run(h, false, 0, NULL, ARGS("--json", "virtio", "list", "2"), &o);
	l = json_tokener_parse(o.out);
	assert_true(json_object_object_get_ex(l, "devices", &devs));
	assert_int_equal(json_object_array_length(devs), 0);
	json_object_put(l);
	ih_out_free(&o);
	expect_run(h, false, 0, NULL, ARGS("virtio", "list", "2"), &o);
	assert_non_null(strstr(o.out, "ZONE "));
	assert_null(strstr(o.out, "0xa00"));
	ih_out_free(&o);

	/* zone info: the backend, as JSON and for people */
	z = zone_info(h, 1);
	assert_true(json_object_object_get_ex(z, "virtio", &v));
	assert_int_equal(ih_jint(v, "devices"), n);
	assert_string_equal(ih_jstr(v, "backend"), "running");
	assert_int_equal(ih_jint(v, "pid"), pid);
	assert_int_equal(ih_jint(v, "restarts"), 0);
	json_object_put(z);
	snprintf(line, sizeof(line), "  Virtio:       %u devices, backend running (pid %d)\n", n,
		 (int)pid);
	hvctl_ok(h, NEEDLES(line), ARGS("zone", "info", "1"));

	/* traffic shows in the counters of that device only */
	ih_blk_verify(h, 1, BLK_ADDR, BLK_IRQ, "20");
	assert_true(ih_virtio_counter(h, 1, BLK_ADDR, "requests") >= 20);
	assert_int_equal(ih_virtio_counter(h, 1, BLK_ADDR, "errors"), 0);
	assert_int_equal(ih_virtio_counter(h, 1, CON_ADDR, "requests"), 0);

	/* remove the console: its link goes, the backend stays */
	hvctl_ok(h, NEEDLES("Zone 1: device at 0xa003800 removed.\n"),
		 ARGS("virtio", "remove", "1", "0xa003800"));
	assert_int_equal(access(link, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(ih_virtio_device(h, 1, CON_ADDR));
	assert_int_equal(n_devices(h), n - 1);
	assert_int_equal(ih_virtiod_pid(h, 1), pid);
	e = ih_wait_event(sub, "VirtioDeviceRemoved", 1, IH_TIMEOUT_MS);
	assert_int_equal(ih_jint(e, "addr"), CON_ADDR);
	assert_string_equal(ih_jstr(e, "type"), "console");
	json_object_put(e);
	if (have_net) {
		/* the tap hvisord created goes with its device */
		hvctl_ok(h, NULL, ARGS("virtio", "remove", "1", "0xa003600"));
		assert_true(ih_wait_if(TAP, false, IH_TIMEOUT_MS));
		assert_int_equal(ih_virtiod_pid(h, 1), pid);
	}
	/* the last device: the backend stops */
	hvctl_ok(h, NEEDLES("Zone 1: device at 0xa003c00 removed.\n"),
		 ARGS("virtio", "remove", "1", "0xa003c00"));
	wait_gone(pid);
	assert_no_backend(h);
	assert_int_equal(n_devices(h), 0);
	z = zone_info(h, 1);
	assert_false(jhas(z, "virtio"));
	assert_string_equal(ih_jstr(z, "status"), "running"); /* the zone runs on */
	json_object_put(z);
	expect_run(h, false, 0, NULL, ARGS("zone", "info", "1"), &o);
	assert_null(strstr(o.out, "Virtio:"));
	ih_out_free(&o);
	/* and it is gone for good */
	expect_run(
		h, false, 1,
		NEEDLES("org.hvisor.Virtio.NotFound", "zone 1 has no virtio device at 0xa003c00"),
		ARGS("virtio", "remove", "1", "0xa003c00"), NULL);

	/* the next device starts a new backend */
	hvctl_ok(h, NEEDLES("running"), ARGS("virtio", "add", "1", spec));
	e = ih_wait_event(sub, "VirtiodStarted", 1, IH_TIMEOUT_MS);
	json_object_put(e);
	pid2 = ih_wait_virtiod(h, 1, 0);
	assert_int_not_equal(pid2, pid);
	ih_blk_verify(h, 1, BLK_ADDR, BLK_IRQ, "10");

	vl_client_free(sub);
	free(spec);
	free(link);
	free(img);
	ih_stop(h);
	net_part_ran();
}

/* Zone shutdown stops the zone's backend; the devices stay registered,
 * pending, and are served again by a new backend when the zone starts
 * again. */
static void test_zone_shutdown(void **state)
{
	struct ih *h = ih_start(NULL);
	char *img = ih_make_image(h, "disk.img", 4 << 20), *spec;
	json_object *d;
	pid_t pid, pid2;

	ih_zone_start(h, "zone1");
	assert_true(asprintf(&spec, "blk,addr=0xa003c00,len=0x200,irq=78,img=%s", img) > 0);
	hvctl_ok(h, NEEDLES("running"), ARGS("virtio", "add", "1", spec));
	hvctl_ok(h, NEEDLES("running"), ARGS("virtio", "add", "1", CON_SPEC));
	pid = ih_wait_virtiod(h, 1, 0);
	ih_blk_verify(h, 1, BLK_ADDR, BLK_IRQ, "10");

	hvctl_ok(h, NULL, ARGS("zone", "shutdown", "1"));
	wait_gone(pid);
	assert_no_backend(h);
	ih_call_error(h, "org.hvisor.Zone.Info", "{\"zone_id\": 1}", "org.hvisor.Zone.NotFound",
		      false);
	/* still registered, waiting for the zone */
	assert_int_equal(n_devices(h), 2);
	d = ih_virtio_device(h, 1, BLK_ADDR);
	assert_non_null(d);
	assert_string_equal(ih_jstr(d, "state"), "pending");
	assert_false(jhas(d, "requests"));
	json_object_put(d);
	d = ih_virtio_device(h, 1, CON_ADDR);
	assert_non_null(d);
	assert_string_equal(ih_jstr(d, "state"), "pending");
	json_object_put(d);
	/* the console's pty and link survive the zone */
	{
		char *link = ih_path(h, "zone1/console");

		assert_int_equal(access(link, F_OK), 0);
		free(link);
	}

	ih_zone_start(h, "zone1");
	pid2 = ih_wait_virtiod(h, 1, 0);
	assert_int_not_equal(pid2, pid);
	d = ih_virtio_device(h, 1, BLK_ADDR);
	assert_string_equal(ih_jstr(d, "state"), "running");
	json_object_put(d);
	ih_blk_verify(h, 1, BLK_ADDR, BLK_IRQ, "10");
	/* and once more, the backend goes with the zone */
	hvctl_ok(h, NULL, ARGS("zone", "shutdown", "1"));
	wait_gone(pid2);
	free(spec);
	free(img);
	ih_stop(h);
}

/* Devices added before their zone starts are pending (no backend, no
 * counters) and served from the zone's start on; a pending device the
 * zone's config does not allow makes the start fail, naming it, and
 * nothing starts. hvisord cannot tell a zone that will start from one
 * that never will: devices of any other zone are pending too. */
static void test_pending(void **state)
{
	struct ih *h = ih_start(NULL);
	char *img = ih_make_image(h, "disk.img", 4 << 20), *spec, *cfg, line[512];
	struct ih_out o;
	json_object *d;
	uint32_t ids[8];
	pid_t pid;

	assert_true(asprintf(&spec, "blk,addr=0xa003c00,len=0x200,irq=78,img=%s", img) > 0);
	snprintf(line, sizeof(line), "Zone 1: blk device at 0xa003c00 (irq 78, %s) pending.\n",
		 img);
	hvctl_ok(h, NEEDLES(line), ARGS("virtio", "add", "1", spec));
	hvctl_ok(h,
		 NEEDLES("Zone 1: console device at 0xa003800 (irq 76, /dev/pts/", ") pending.\n"),
		 ARGS("virtio", "add", "1", CON_SPEC));
	if (have_net)
		hvctl_ok(h, NEEDLES("Zone 1: net device at 0xa003600 (irq 77, " TAP ") pending.\n"),
			 ARGS("virtio", "add", "1", NET_SPEC));
	hvctl_ok(h, NEEDLES("Zone 9: console device at 0xa003800 (irq 76, /dev/pts/", "pending"),
		 ARGS("virtio", "add", "9", CON_SPEC));
	d = ih_virtio_device(h, 1, BLK_ADDR);
	assert_non_null(d);
	assert_string_equal(ih_jstr(d, "state"), "pending");
	assert_false(jhas(d, "requests"));
	json_object_put(d);
	assert_no_backend(h);
	ih_call_error(h, "org.hvisor.Zone.Info", "{\"zone_id\": 1}", "org.hvisor.Zone.NotFound",
		      false);
	expect_run(h, false, 0, NULL, ARGS("virtio", "list"), &o);
	{
		char f[9][256];

		table_row(o.out, "0xa003c00", f);
		assert_string_equal(f[5], "pending");
		assert_string_equal(f[7], "-"); /* no counters without a backend */
		assert_string_equal(f[8], "-");
	}
	ih_out_free(&o);

	/* a pending device with an IRQ zone 1 does not have: the start fails */
	hvctl_ok(h, NEEDLES("pending"),
		 ARGS("virtio", "add", "1", "console,addr=0xa003a00,len=0x200,irq=90"));
	cfg = ih_make_zone(h, "zone1", 64 * 1024, 4096);
	expect_run(h, false, 1,
		   NEEDLES("org.hvisor.InvalidParameter",
			   "the console device registered at 0xa003a00 does not fit this zone",
			   "IRQ 90 is not in zone 1's interrupts",
			   "hvctl virtio remove 1 0xa003a00"),
		   ARGS("zone", "start", cfg), NULL);
	assert_int_equal(ih_zone_ids(h, ids, 8), 1); /* only the root zone */
	assert_no_backend(h);
	d = ih_virtio_device(h, 1, BLK_ADDR);
	assert_string_equal(ih_jstr(d, "state"), "pending");
	json_object_put(d);
	hvctl_ok(h, NULL, ARGS("virtio", "remove", "1", "0xa003a00"));

	/* now it starts, and the backend serves the devices from the start */
	hvctl_ok(h, NEEDLES("Zone 1 (zone1) started."), ARGS("zone", "start", cfg));
	pid = ih_wait_virtiod(h, 1, 0);
	assert_true(ih_pid_alive(pid, IH_VIRTIOD_COMM));
	d = ih_virtio_device(h, 1, BLK_ADDR);
	assert_string_equal(ih_jstr(d, "state"), "running");
	assert_int_equal(ih_jint(d, "requests"), 0);
	json_object_put(d);
	d = ih_virtio_device(h, 1, CON_ADDR);
	assert_string_equal(ih_jstr(d, "state"), "running");
	json_object_put(d);
	ih_blk_verify(h, 1, BLK_ADDR, BLK_IRQ, "50");
	/* the console answers the guest too */
	if (ih_guest(h, &o, 1, CON_ADDR, CON_IRQ, "--json", "reg-bench", "--count", "20", NULL) !=
	    0)
		fail_msg("reg-bench on the console: %s\n%s", o.out, o.err);
	assert_non_null(strstr(o.out, "\"vendor_id\":1213614419")); /* "HVIS" */
	ih_out_free(&o);
	if (have_net) {
		d = ih_virtio_device(h, 1, NET_ADDR);
		assert_string_equal(ih_jstr(d, "state"), "running");
		assert_string_equal(ih_jstr(d, "link"), "up");
		json_object_put(d);
	}
	/* zone 9's device waits on */
	d = ih_virtio_device(h, 9, CON_ADDR);
	assert_non_null(d);
	assert_string_equal(ih_jstr(d, "state"), "pending");
	json_object_put(d);
	free(cfg);
	free(spec);
	free(img);
	ih_stop(h);
	net_part_ran();
}

/* Kills the zone's backend and waits until hvisord reported it. */
static void kill_backend(const struct ih *h, struct vl_client *sub, pid_t pid)
{
	json_object *e;

	assert_int_equal(kill(pid, SIGKILL), 0);
	e = ih_wait_event(sub, "VirtiodExited", 1, IH_TIMEOUT_MS);
	json_object_put(e);
}

/* Zone 1's backend as Zone.Info reports it ("(none)": no virtio object). */
static const char *backend_state(const struct ih *h)
{
	static char buf[32];
	json_object *v = ih_zone_virtio(h, 1), *b;

	snprintf(buf, sizeof(buf), "%s",
		 v && json_object_object_get_ex(v, "backend", &b) ? json_object_get_string(b)
								  : "(none)");
	json_object_put(v);
	return buf;
}

/* No Virtiod* event on the subscription for ms. */
static void assert_no_restart(struct vl_client *sub, int ms)
{
	int64_t deadline = mono_ms() + ms;

	for (;;) {
		int64_t left = deadline - mono_ms();
		json_object *reply = NULL, *e;
		int r;

		if (left <= 0)
			return;
		r = ih_recv(sub, (int)left, &reply);
		if (r == -ETIMEDOUT)
			return;
		assert_int_equal(r, 1);
		assert_true(json_object_object_get_ex(ih_ok(reply), "event", &e));
		if (strncmp(ih_jstr(e, "event"), "Virtiod", 7) == 0)
			fail_msg("unexpected event after the last device was removed: %s",
				 json_object_to_json_string(e));
		json_object_put(reply);
	}
}

/* Removing the last device ends the zone's backend whatever state it is
 * in: while hvisord waits to restart it (nothing is restarted afterwards)
 * and after hvisord gave up on it (the failure is forgotten, the next
 * device gets a new backend). */
static void test_remove_last_while_down(void **state)
{
	struct ih *h = ih_start(NULL);
	struct vl_client *sub = ih_subscribe(h);
	char *img = ih_make_image(h, "disk.img", 4 << 20), *spec;
	json_object *e;
	pid_t pid;

	ih_zone_start(h, "zone1");
	assert_true(asprintf(&spec, "blk,addr=0xa003c00,len=0x200,irq=78,img=%s", img) > 0);
	hvctl_ok(h, NEEDLES("running"), ARGS("virtio", "add", "1", spec));
	pid = ih_wait_virtiod(h, 1, 0);

	/* four quick deaths: the fourth restart waits 800 ms */
	for (int i = 0; i < 4; i++) {
		kill_backend(h, sub, pid);
		if (i == 3)
			break;
		e = ih_wait_event(sub, "VirtiodRestarted", 1, IH_TIMEOUT_MS);
		json_object_put(e);
		pid = ih_wait_virtiod(h, 1, pid);
	}
	assert_string_equal(backend_state(h), "restarting");
	hvctl_ok(h, NULL, ARGS("virtio", "remove", "1", "0xa003c00"));
	assert_null(ih_zone_virtio(h, 1));
	assert_no_restart(sub, 2000);
	assert_no_backend(h);
	assert_null(ih_zone_virtio(h, 1));

	/* the next device gets a backend of its own */
	hvctl_ok(h, NEEDLES("running"), ARGS("virtio", "add", "1", spec));
	pid = ih_wait_virtiod(h, 1, 0);
	ih_blk_verify(h, 1, BLK_ADDR, BLK_IRQ, "10");

	/* five quick deaths: hvisord gives up */
	for (int i = 0; i < 5; i++) {
		kill_backend(h, sub, pid);
		if (i == 4)
			break;
		e = ih_wait_event(sub, "VirtiodRestarted", 1, IH_TIMEOUT_MS);
		json_object_put(e);
		pid = ih_wait_virtiod(h, 1, pid);
	}
	e = ih_wait_event(sub, "VirtiodFailed", 1, IH_TIMEOUT_MS);
	json_object_put(e);
	assert_string_equal(backend_state(h), "failed");
	hvctl_ok(h, NULL, ARGS("virtio", "remove", "1", "0xa003c00"));
	assert_null(ih_zone_virtio(h, 1));
	assert_no_backend(h);
	hvctl_ok(h, NEEDLES("running"), ARGS("virtio", "add", "1", spec));
	pid = ih_wait_virtiod(h, 1, 0);
	assert_string_equal(backend_state(h), "running");
	ih_blk_verify(h, 1, BLK_ADDR, BLK_IRQ, "10");

	vl_client_free(sub);
	free(spec);
	free(img);
	ih_stop(h);
}

/* A device removed while its backend is down (waiting for a restart) is
 * unplugged like one removed from a running backend: a device added at
 * its address afterwards starts fresh instead of inheriting the guest's
 * setup of the removed one; the other devices keep theirs. */
static void test_remove_while_down(void **state)
{
	struct ih *h = ih_start(NULL);
	struct vl_client *sub = ih_subscribe(h);
	char *img = ih_make_image(h, "disk.img", 4 << 20),
	     *img2 = ih_make_image(h, "disk2.img", 4 << 20);
	char *spec, *spec2;
	struct ih_gblk b;
	json_object *e;
	pid_t pid;

	ih_zone_start(h, "zone1");
	assert_true(asprintf(&spec, "blk,addr=0xa003c00,len=0x200,irq=78,img=%s", img) > 0);
	assert_true(asprintf(&spec2, "blk,addr=0xa003c00,len=0x200,irq=78,img=%s", img2) > 0);
	hvctl_ok(h, NEEDLES("running"), ARGS("virtio", "add", "1", spec));
	hvctl_ok(h, NEEDLES("running"), ARGS("virtio", "add", "1", CON_SPEC));
	pid = ih_wait_virtiod(h, 1, 0);
	/* the guest sets the disk up and leaves it so (no reset) */
	ih_gblk_open(h, 1, BLK_ADDR, BLK_IRQ, 2, 4096, &b);
	hvg_dev_free(b.d);
	hvg_transport_close(b.t); /* one guest driver at a time */
	free(b.reqs);
	assert_int_equal(ih_virtio_counter(h, 1, BLK_ADDR, "driver_status") & 4, 4);
	/* and the console's features */
	{
		struct hvg_transport *t;
		struct hvg_dev *d;
		uint64_t neg;

		assert_int_equal(hvg_sim_open(h->sim.sock, 1, -1, 0, 0, &t), 0);
		assert_int_equal(hvg_dev_probe(t, CON_ADDR, CON_IRQ, &d), 0);
		assert_int_equal(hvg_dev_negotiate(d, 0, &neg), 0);
		hvg_dev_free(d);
		hvg_transport_close(t);
	}
	assert_true(ih_virtio_counter(h, 1, CON_ADDR, "driver_status") & 8); /* FEATURES_OK */

	/* four quick deaths: the fourth restart waits 800 ms */
	for (int i = 0; i < 4; i++) {
		kill_backend(h, sub, pid);
		if (i == 3)
			break;
		e = ih_wait_event(sub, "VirtiodRestarted", 1, IH_TIMEOUT_MS);
		json_object_put(e);
		pid = ih_wait_virtiod(h, 1, pid);
	}
	assert_string_equal(backend_state(h), "restarting");
	hvctl_ok(h, NULL, ARGS("virtio", "remove", "1", "0xa003c00"));
	e = ih_wait_event(sub, "VirtiodRestarted", 1, IH_TIMEOUT_MS);
	json_object_put(e);
	pid = ih_wait_virtiod(h, 1, pid);
	/* the console's setup was restored */
	assert_true(ih_virtio_counter(h, 1, CON_ADDR, "driver_status") & 8);

	/* a new disk at the old address: a fresh device */
	hvctl_ok(h, NEEDLES("running"), ARGS("virtio", "add", "1", spec2));
	assert_int_equal(ih_virtio_counter(h, 1, BLK_ADDR, "driver_status"), 0);
	assert_int_equal(ih_virtio_counter(h, 1, BLK_ADDR, "driver_features"), 0);
	ih_blk_verify(h, 1, BLK_ADDR, BLK_IRQ, "10");

	vl_client_free(sub);
	free(spec);
	free(spec2);
	free(img);
	free(img2);
	ih_stop(h);
}

/* ---- refusals ---------------------------------------------------------------------- */

struct snapshot {
	char *list, *dir;
	pid_t pid;
};

static void snap(const struct ih *h, struct snapshot *s)
{
	char *dir = ih_path(h, "zone1");

	s->list = ih_virtio_list_str(h, 0);
	s->dir = dir_str(dir);
	s->pid = ih_virtiod_pid(h, 1);
	free(dir);
}

/* Nothing changed since s: the device list (counters included), the
 * published consoles, the backend. */
static void assert_unchanged(const struct ih *h, const struct snapshot *s)
{
	struct snapshot now;

	snap(h, &now);
	assert_string_equal(now.list, s->list);
	assert_string_equal(now.dir, s->dir);
	assert_int_equal(now.pid, s->pid);
	assert_true(ih_pid_alive(s->pid, IH_VIRTIOD_COMM));
	free(now.list);
	free(now.dir);
}

static void refused(struct ih *h, const struct snapshot *s, int code, const char *const *needles,
		    const char *const *args)
{
	struct ih_out o;

	expect_run(h, false, code, needles, args, &o);
	assert_string_equal(o.out, "");
	ih_out_free(&o);
	assert_unchanged(h, s);
}

/* hvctl's refusals: each exits 1 (hvisord refused, the error named) or 2
 * (a usage error hvctl finds itself), says what was wrong, and changes
 * nothing. */
static void test_refusals(void **state)
{
	struct ih *h = ih_start(NULL);
	char *img = ih_make_image(h, "disk.img", 4 << 20), *spec, *dir = ih_path(h, "adir");
	struct snapshot s;

	ih_zone_start(h, "zone1");
	assert_true(asprintf(&spec, "blk,addr=0xa003c00,len=0x200,irq=78,img=%s", img) > 0);
	hvctl_ok(h, NULL, ARGS("virtio", "add", "1", spec));
	hvctl_ok(h, NULL, ARGS("virtio", "add", "1", CON_SPEC));
	ih_wait_virtiod(h, 1, 0);
	snap(h, &s);

	/* overlapping windows: the same address, or one inside another */
	refused(h, &s, 1,
		NEEDLES("org.hvisor.InvalidParameter", "device.addr",
			"0xa003c00+0x200 overlaps the blk device at 0xa003c00 of zone 1"),
		ARGS("virtio", "add", "1", "console,addr=0xa003c00,len=0x200,irq=79"));
	refused(h, &s, 1,
		NEEDLES("org.hvisor.InvalidParameter",
			"0xa003d00+0x200 overlaps the blk device at 0xa003c00"),
		ARGS("virtio", "add", "1", "console,addr=0xa003d00,len=0x200,irq=79"));
	refused(h, &s, 1,
		NEEDLES("org.hvisor.InvalidParameter",
			"0xa003700+0x200 overlaps the console device at 0xa003800"),
		ARGS("virtio", "add", "1", "console,addr=0xa003700,len=0x200,irq=79"));
	/* an IRQ the zone does not have */
	refused(h, &s, 1,
		NEEDLES("org.hvisor.InvalidParameter", "device.irq",
			"IRQ 90 is not in zone 1's interrupts"),
		ARGS("virtio", "add", "1", "console,addr=0xa003a00,len=0x200,irq=90"));
	/* outside the zone's virtio region 0xa000000+0x4000, or straddling its end */
	refused(h, &s, 1,
		NEEDLES("org.hvisor.InvalidParameter", "device.addr",
			"0xa004000+0x200 is not inside a virtio memory region of zone 1"),
		ARGS("virtio", "add", "1", "console,addr=0xa004000,len=0x200,irq=79"));
	refused(h, &s, 1, NEEDLES("0xa003f00+0x200 is not inside a virtio memory region of zone 1"),
		ARGS("virtio", "add", "1", "console,addr=0xa003f00,len=0x200,irq=79"));
	refused(h, &s, 1, NEEDLES("0x50000000+0x200 is not inside a virtio memory region"),
		ARGS("virtio", "add", "1", "console,addr=0x50000000,len=0x200,irq=79"));
	/* the root zone has no virtio devices of ours */
	refused(h, &s, 1, NEEDLES("org.hvisor.InvalidParameter", "zone_id"),
		ARGS("virtio", "add", "0", "console,addr=0xa003a00,len=0x200,irq=79"));
	/* usage errors: the zone, the spec */
	refused(h, &s, 2, NEEDLES("'one' is not a zone id"),
		ARGS("virtio", "add", "one", "console,addr=0xa003a00,len=0x200,irq=79"));
	refused(h, &s, 2, NEEDLES("the spec says zone_id=2, the command zone 1"),
		ARGS("virtio", "add", "1", "console,addr=0xa003a00,len=0x200,irq=79,zone_id=2"));
	refused(h, &s, 2, NEEDLES("foo: unknown key"),
		ARGS("virtio", "add", "1", "console,addr=0xa003a00,len=0x200,irq=79,foo=1"));
	refused(h, &s, 2, NEEDLES("img: not an option of console devices (only of blk devices)"),
		ARGS("virtio", "add", "1", "console,addr=0xa003a00,len=0x200,irq=79,img=x"));
	refused(h, &s, 2, NEEDLES("addr: missing"),
		ARGS("virtio", "add", "1", "console,len=0x200,irq=79"));
	refused(h, &s, 2, NEEDLES("img: missing"),
		ARGS("virtio", "add", "1", "blk,addr=0xa003a00,len=0x200,irq=79"));
	refused(h, &s, 2, NEEDLES("irq: expected a decimal number"),
		ARGS("virtio", "add", "1", "console,addr=0xa003a00,len=0x200,irq=7x"));
	refused(h, &s, 2, NEEDLES("addr: expected a hex number"),
		ARGS("virtio", "add", "1", "console,addr=0xzz,len=0x200,irq=79"));
	refused(h, &s, 2, NEEDLES("len: must be >= 0x200"),
		ARGS("virtio", "add", "1", "console,addr=0xa003a00,len=0x100,irq=79"));
	refused(h, &s, 2, NEEDLES("irq: must be <= 1023"),
		ARGS("virtio", "add", "1", "console,addr=0xa003a00,len=0x200,irq=1024"));
	refused(h, &s, 2, NEEDLES("type: device type 'gpu' is not supported"),
		ARGS("virtio", "add", "1", "gpu,addr=0xa003a00,len=0x200,irq=79"));
	refused(h, &s, 2, NEEDLES("type: missing"),
		ARGS("virtio", "add", "1", "addr=0xa003a00,len=0x200,irq=79"));
	refused(h, &s, 2, NEEDLES("irq: given twice"),
		ARGS("virtio", "add", "1", "console,addr=0xa003a00,len=0x200,irq=79,irq=79"));
	refused(h, &s, 2, NULL, ARGS("virtio", "add", "1"));
	/* images hvctl cannot open */
	refused(h, &s, 1,
		NEEDLES("cannot open image '/nonexistent/disk.img' for writing",
			"No such file or directory"),
		ARGS("virtio", "add", "1",
		     "blk,addr=0xa003a00,len=0x200,irq=79,img=/nonexistent/disk.img"));
	refused(h, &s, 1, NEEDLES("cannot open image 'nope.img'", "No such file or directory"),
		ARGS("virtio", "add", "1",
		     "blk,addr=0xa003a00,len=0x200,irq=79,img=nope.img,readonly"));
	assert_int_equal(mkdir(dir, 0700), 0);
	{
		char *s2;

		assert_true(asprintf(&s2, "blk,addr=0xa003a00,len=0x200,irq=79,img=%s,readonly",
				     dir) > 0);
		refused(h, &s, 1,
			NEEDLES("image '", "adir' is a directory, not a regular file or a block "
					   "device"),
			ARGS("virtio", "add", "1", s2));
		free(s2);
	}
	/* removing what is not there */
	refused(h, &s, 1,
		NEEDLES("org.hvisor.Virtio.NotFound", "zone 1 has no virtio device at 0xa003a00"),
		ARGS("virtio", "remove", "1", "0xa003a00"));
	refused(h, &s, 1,
		NEEDLES("org.hvisor.Virtio.NotFound", "zone 7 has no virtio device at 0xa003c00"),
		ARGS("virtio", "remove", "7", "0xa003c00"));
	refused(h, &s, 2, NEEDLES("'0xzz' is not an address"),
		ARGS("virtio", "remove", "1", "0xzz"));
	refused(h, &s, 2, NULL, ARGS("virtio", "remove", "1"));
	refused(h, &s, 2, NEEDLES("'x' is not a zone id"), ARGS("virtio", "list", "x"));

	/* and the devices still work */
	ih_blk_verify(h, 1, BLK_ADDR, BLK_IRQ, "10");
	free(s.list);
	free(s.dir);
	free(dir);
	free(spec);
	free(img);
	ih_stop(h);
}

/* The same refusals on the wire: the error name and the parameter that
 * was wrong, nothing registered. */
static void test_refusals_varlink(void **state)
{
	static const struct {
		const char *params, *error, *parameter;
	} cases[] = {
		{"{\"zone_id\": 1, \"device\": {\"type\": \"console\", \"addr\": 167787776, "
		 "\"len\": 512, \"irq\": 79}}",
		 "org.hvisor.InvalidParameter", "device.addr"}, /* 0xa003d00: overlap */
		{"{\"zone_id\": 1, \"device\": {\"type\": \"console\", \"addr\": 167787008, "
		 "\"len\": 512, \"irq\": 90}}",
		 "org.hvisor.InvalidParameter", "device.irq"},
		{"{\"zone_id\": 1, \"device\": {\"type\": \"console\", \"addr\": 167788544, "
		 "\"len\": 512, \"irq\": 79}}",
		 "org.hvisor.InvalidParameter", "device.addr"}, /* 0xa004000: outside */
		{"{\"zone_id\": 1, \"device\": {\"type\": \"console\", \"addr\": 167787008, "
		 "\"len\": 512, \"irq\": 79, \"foo\": 1}}",
		 "org.hvisor.InvalidParameter", "device.foo"},
		{"{\"zone_id\": 1, \"device\": {\"type\": \"console\", \"addr\": 167787008, "
		 "\"len\": 512, \"irq\": 79, \"status\": \"enable\"}}",
		 "org.hvisor.InvalidParameter", "device.status"},
		{"{\"zone_id\": 1, \"device\": {\"type\": \"console\", \"len\": 512, \"irq\": 79}}",
		 "org.hvisor.InvalidParameter", "device.addr"},
		{"{\"zone_id\": 0, \"device\": {\"type\": \"console\", \"addr\": 167787008, "
		 "\"len\": 512, \"irq\": 79}}",
		 "org.hvisor.InvalidParameter", "zone_id"},
		{"{\"zone_id\": 4294967296, \"device\": {\"type\": \"console\", \"addr\": "
		 "167787008, \"len\": 512, \"irq\": 79}}",
		 "org.hvisor.InvalidParameter", "zone_id"},
		{"{\"zone_id\": 1, \"device\": {\"type\": \"blk\", \"addr\": 167787008, "
		 "\"len\": 512, \"irq\": 79, \"img\": \"x.img\"}}",
		 "org.hvisor.InvalidParameter", "files.img"}, /* no descriptor */
		{"{\"zone_id\": 1}", "org.hvisor.InvalidParameter", "device"},
	};
	struct ih *h = ih_start(NULL);
	char *img = ih_make_image(h, "disk.img", 1 << 20), *spec;
	struct snapshot s;

	ih_zone_start(h, "zone1");
	assert_true(asprintf(&spec, "blk,addr=0xa003c00,len=0x200,irq=78,img=%s", img) > 0);
	hvctl_ok(h, NULL, ARGS("virtio", "add", "1", spec));
	ih_wait_virtiod(h, 1, 0);
	snap(h, &s);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_object *r = ih_call_error(h, "org.hvisor.Virtio.Add", cases[i].params,
					       cases[i].error, true);
		json_object *p = vl_reply_parameters(r);

		if (strcmp(ih_jstr(p, "parameter"), cases[i].parameter) != 0)
			fail_msg("case %zu: parameter %s, expected %s", i, ih_jstr(p, "parameter"),
				 cases[i].parameter);
		json_object_put(r);
		assert_unchanged(h, &s);
	}
	/* Remove: the named error with what was asked for */
	{
		json_object *r = ih_call_error(h, "org.hvisor.Virtio.Remove",
					       "{\"zone_id\": 1, \"addr\": 167787008}",
					       "org.hvisor.Virtio.NotFound", true);
		json_object *p = vl_reply_parameters(r);

		assert_int_equal(ih_jint(p, "zone_id"), 1);
		assert_int_equal(ih_jint(p, "addr"), 0xa003a00);
		json_object_put(r);
		r = ih_call_error(h, "org.hvisor.Virtio.Remove", "{\"zone_id\": 42, \"addr\": 1}",
				  "org.hvisor.Virtio.NotFound", true);
		p = vl_reply_parameters(r);
		assert_int_equal(ih_jint(p, "zone_id"), 42);
		json_object_put(r);
		ih_call_error(h, "org.hvisor.Virtio.Remove", "{\"zone_id\": 1}",
			      "org.hvisor.InvalidParameter", false);
		assert_unchanged(h, &s);
	}
	free(s.list);
	free(s.dir);
	free(spec);
	free(img);
	ih_stop(h);
}

/* A backend that cannot be started (here it exits at once) refuses the
 * device: InvalidParameter naming "device", with why, and nothing stays
 * registered. */
static void test_backend_refuses(void **state)
{
	static const char *const args[] = {"--virtiod", "/bin/false", NULL};
	const struct ih_opts opts = {.daemon_args = args};
	struct ih *h = ih_start(&opts);
	json_object *r, *devs;

	ih_zone_start(h, "zone1");
	r = ih_call_error(
		h, "org.hvisor.Virtio.Add",
		"{\"zone_id\": 1, \"device\": {\"type\": \"console\", \"addr\": 167787008, "
		"\"len\": 512, \"irq\": 79}}",
		"org.hvisor.InvalidParameter", true);
	assert_string_equal(ih_jstr(vl_reply_parameters(r), "parameter"), "device");
	assert_non_null(strstr(vl_reply_error_message(r), "cannot add the device"));
	json_object_put(r);
	devs = ih_virtio_list(h, 0);
	assert_int_equal(json_object_array_length(devs), 0);
	json_object_put(devs);
	ih_stop(h);
}

/* Adding and removing devices is for root and group hvisor; listing them
 * for everyone. Needs root (to become uid 65534). */
static void test_permissions(void **state)
{
	struct ih *h;
	char *img, *spec;
	struct snapshot s;
	struct ih_exec x = {.uid = 65534, .gid = 65534};
	const char *add[] = {ih_bin_hvctl(), "virtio", "add", "1", CON_SPEC, NULL};
	const char *rm[] = {ih_bin_hvctl(), "virtio", "remove", "1", "0xa003c00", NULL};
	const char *start[] = {ih_bin_hvisor_link(),  "virtio", "start", "--device",
			       CON_SPEC ",zone_id=1", NULL};
	const char *list[] = {ih_bin_hvctl(), "virtio", "list", "--json", NULL};
	struct ih_out o;

	if (geteuid() != 0)
		skip_because("needs root (to run hvctl as nobody)");
	h = ih_start(NULL);
	assert_int_equal(chmod(h->dir, 0755), 0);
	img = ih_make_image(h, "disk.img", 1 << 20);
	ih_zone_start(h, "zone1");
	assert_true(asprintf(&spec, "blk,addr=0xa003c00,len=0x200,irq=78,img=%s", img) > 0);
	hvctl_ok(h, NULL, ARGS("virtio", "add", "1", spec));
	ih_wait_virtiod(h, 1, 0);
	snap(h, &s);

	assert_int_equal(ih_run(h, &x, &o, add), 1);
	assert_non_null(strstr(o.err, "org.hvisor.PermissionDenied"));
	ih_out_free(&o);
	assert_int_equal(ih_run(h, &x, &o, rm), 1);
	assert_non_null(strstr(o.err, "org.hvisor.PermissionDenied"));
	ih_out_free(&o);
	assert_int_equal(ih_run(h, &x, &o, start), 1);
	assert_non_null(strstr(o.err, "org.hvisor.PermissionDenied"));
	ih_out_free(&o);
	assert_unchanged(h, &s);
	/* everyone may look */
	assert_int_equal(ih_run(h, &x, &o, list), 0);
	assert_non_null(strstr(o.out, "\"type\": \"blk\""));
	ih_out_free(&o);
	assert_unchanged(h, &s);
	free(s.list);
	free(s.dir);
	free(spec);
	free(img);
	ih_stop(h);
}

/* Virtio.AddMany on the wire: the devices of one call are checked against
 * each other too (an overlap, the per-zone limit); a refusal is
 * DeviceRefused naming the device by its index and carrying what Add would
 * have answered, and adds none of them. */
static void test_add_many(void **state)
{
	struct ih *h = ih_start(NULL);
	json_object *r, *p, *inner, *devs;
	char *list = NULL, *before, *after;
	struct vl_client *c;
	size_t len = 0;
	FILE *f;

	ih_zone_start(h, "zone1");
	r = ih_call_error(h, "org.hvisor.Virtio.AddMany",
			  "{\"devices\": [{\"zone_id\": 1, \"device\": {\"type\": \"console\", "
			  "\"addr\": 167786496, \"len\": 512, \"irq\": 76}}, {\"zone_id\": 1, "
			  "\"device\": {\"type\": \"console\", \"addr\": 167786496, \"len\": 512, "
			  "\"irq\": 79}}]}",
			  "org.hvisor.Virtio.DeviceRefused", true);
	p = vl_reply_parameters(r);
	assert_int_equal(ih_jint(p, "index"), 1);
	assert_string_equal(ih_jstr(p, "error"), "org.hvisor.InvalidParameter");
	assert_true(json_object_object_get_ex(p, "parameters", &inner));
	assert_string_equal(ih_jstr(inner, "parameter"), "device.addr");
	assert_non_null(strstr(ih_jstr(p, "message"), "devices[1]: device.addr: "));
	json_object_put(r);
	assert_int_equal(n_devices(h), 0);
	assert_no_backend(h);

	/* 33 for a zone that does not run: the 33rd is over the limit */
	f = open_memstream(&list, &len);
	for (unsigned i = 0; i < 33; i++)
		fprintf(f,
			"%s{\"zone_id\": 5, \"device\": {\"type\": \"console\", \"addr\": %u, "
			"\"len\": 512, \"irq\": %u}}",
			i ? ", " : "{\"devices\": [", 0xa000000 + i * 0x200, 40 + i);
	fputs("]}", f);
	fclose(f);
	before = ih_virtio_list_str(h, 0);
	r = ih_call_error(h, "org.hvisor.Virtio.AddMany", list, "org.hvisor.Virtio.DeviceRefused",
			  true);
	p = vl_reply_parameters(r);
	assert_int_equal(ih_jint(p, "index"), 32);
	assert_string_equal(ih_jstr(p, "error"), "org.hvisor.LimitExceeded");
	json_object_put(r);
	after = ih_virtio_list_str(h, 0);
	assert_string_equal(after, before);
	free(after);
	free(before);
	free(list);

	/* three at once, for a running zone and one that is not: all in, in order */
	c = ih_client(h);
	r = ih_call(c, "org.hvisor.Virtio.AddMany",
		    "{\"devices\": [{\"zone_id\": 5, \"device\": {\"type\": \"console\", "
		    "\"addr\": 167772160, \"len\": 512, \"irq\": 40}}, {\"zone_id\": 1, "
		    "\"device\": {\"type\": \"console\", \"addr\": 167786496, \"len\": 512, "
		    "\"irq\": 76}}, {\"zone_id\": 5, \"device\": {\"type\": \"console\", "
		    "\"addr\": 167772672, \"len\": 512, \"irq\": 41}}]}");
	assert_true(json_object_object_get_ex(ih_ok(r), "devices", &devs));
	assert_int_equal(json_object_array_length(devs), 3);
	assert_int_equal(ih_jint(json_object_array_get_idx(devs, 1), "zone_id"), 1);
	assert_string_equal(ih_jstr(json_object_array_get_idx(devs, 1), "state"), "running");
	assert_string_equal(ih_jstr(json_object_array_get_idx(devs, 2), "state"), "pending");
	json_object_put(r);
	vl_client_free(c);
	assert_int_equal(n_devices(h), 3);
	ih_wait_virtiod(h, 1, 0);
	ih_stop(h);
}

/* At most 32 devices per zone: the 33rd is LimitExceeded (limit
 * "devices") and changes nothing; removing one makes room. Zone 5 does not
 * run, so the devices are pending and only the limit applies. */
static void test_device_limit(void **state)
{
	struct ih *h = ih_start(NULL);
	struct vl_client *c = ih_client(h);
	char params[256], *before, *after;
	json_object *r;

	for (unsigned i = 0; i < 32; i++) {
		snprintf(params, sizeof(params),
			 "{\"zone_id\": 5, \"device\": {\"type\": \"console\", \"addr\": %u, "
			 "\"len\": 512, \"irq\": %u}}",
			 0xa000000 + i * 0x200, 40 + i);
		r = ih_call(c, "org.hvisor.Virtio.Add", params);
		ih_ok(r);
		json_object_put(r);
	}
	vl_client_free(c);
	assert_int_equal(n_devices(h), 32);
	before = ih_virtio_list_str(h, 0);
	r = ih_call_error(
		h, "org.hvisor.Virtio.Add",
		"{\"zone_id\": 5, \"device\": {\"type\": \"console\", \"addr\": 167788544, "
		"\"len\": 512, \"irq\": 80}}",
		"org.hvisor.LimitExceeded", true);
	assert_string_equal(ih_jstr(vl_reply_parameters(r), "limit"), "devices");
	json_object_put(r);
	expect_run(h, false, 1,
		   NEEDLES("org.hvisor.LimitExceeded", "zone 5 has 32 devices already"),
		   ARGS("virtio", "add", "5", "console,addr=0xa004000,len=0x200,irq=80"), NULL);
	after = ih_virtio_list_str(h, 0);
	assert_string_equal(after, before);
	free(after);
	hvctl_ok(h, NULL, ARGS("virtio", "remove", "5", "0xa000000"));
	hvctl_ok(h, NEEDLES("Zone 5: console device at 0xa004000", "pending"),
		 ARGS("virtio", "add", "5", "console,addr=0xa004000,len=0x200,irq=80"));
	assert_int_equal(n_devices(h), 32);
	free(before);
	ih_stop(h);
}

/* hvisord's descriptors other than sockets (ptys, images, memfds...), once
 * it has finished every call before a round trip on c. */
static int hvisord_files(const struct ih *h, struct vl_client *c)
{
	json_object *r = ih_call(c, "org.hvisor.GetLimits", NULL);
	char path[64], link[256];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	ih_ok(r);
	json_object_put(r);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)h->pid);
	dir = opendir(path);
	assert_non_null(dir);
	while ((e = readdir(dir))) {
		char fd_path[400];
		ssize_t k;

		if (e->d_name[0] == '.')
			continue;
		snprintf(fd_path, sizeof(fd_path), "%s/%s", path, e->d_name);
		k = readlink(fd_path, link, sizeof(link) - 1);
		if (k > 0 && strncmp(link, "socket:", 7) != 0)
			n++;
	}
	closedir(dir);
	return n;
}

/* The zone<N>/ directories in hvisord's runtime directory. */
static int zone_dirs(const struct ih *h)
{
	DIR *dir = opendir(h->dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(dir);
	while ((e = readdir(dir))) {
		unsigned id;
		char end;

		if (e->d_type == DT_DIR && sscanf(e->d_name, "zone%u%c", &id, &end) == 1)
			n++;
	}
	closedir(dir);
	return n;
}

static void add_pending_console(struct vl_client *c, uint32_t zone)
{
	char params[256];
	json_object *r;

	snprintf(params, sizeof(params),
		 "{\"zone_id\": %u, \"device\": {\"type\": \"console\", \"addr\": %u, "
		 "\"len\": 512, \"irq\": %u}}",
		 zone, CON_ADDR, CON_IRQ);
	r = ih_call(c, "org.hvisor.Virtio.Add", params);
	assert_string_equal(ih_jstr(json_object_object_get(ih_ok(r), "device"), "state"),
			    "pending");
	json_object_put(r);
}

/* Devices of zones that do not run are bounded for the whole daemon
 * (--max-pending-devices, reported by GetLimits): the next one is refused
 * with LimitExceeded naming the limit, and holds nothing. Removing pending
 * devices closes their ptys and descriptors and removes zone<N>/ with the
 * zone's last console. Devices of running zones do not count. */
static void test_pending_limit(void **state)
{
	const struct ih_opts opts = {.daemon_args = ARGS("--max-pending-devices", "3")};
	struct ih *h = ih_start(&opts);
	char *img = ih_make_image(h, "pending.img", 1 << 20), *dir, spec[400];
	struct vl_client *c = ih_client(h);
	int files0;
	json_object *r;

	r = ih_call(c, "org.hvisor.GetLimits", NULL);
	assert_int_equal(ih_jint(json_object_object_get(ih_ok(r), "limits"), "pending_devices"), 3);
	json_object_put(r);
	files0 = hvisord_files(h, c);
	for (uint32_t zone = 11; zone <= 13; zone++)
		add_pending_console(c, zone);
	assert_int_equal(hvisord_files(h, c), files0 + 6); /* a pty master and slave each */
	dir = ih_path(h, "zone13/console");
	assert_int_equal(access(dir, F_OK), 0);
	free(dir);
	assert_int_equal(zone_dirs(h), 3);

	r = ih_call_error(h, "org.hvisor.Virtio.Add",
			  "{\"zone_id\": 14, \"device\": {\"type\": \"console\", \"addr\": "
			  "167786496, \"len\": 512, \"irq\": 76}}",
			  "org.hvisor.LimitExceeded", true);
	assert_string_equal(ih_jstr(vl_reply_parameters(r), "limit"), "pending_devices");
	json_object_put(r);
	snprintf(spec, sizeof(spec), "blk,addr=0xa003c00,len=0x200,irq=78,img=%s", img);
	expect_run(h, false, 1, NEEDLES("org.hvisor.LimitExceeded", "--max-pending-devices"),
		   ARGS("virtio", "add", "11", spec), NULL);
	assert_int_equal(hvisord_files(h, c), files0 + 6);
	assert_int_equal(zone_dirs(h), 3);
	assert_int_equal(n_devices(h), 3);

	/* a running zone's device is not pending */
	ih_zone_start(h, "zone1");
	hvctl_ok(h, NEEDLES("running"), ARGS("virtio", "add", "1", CON_SPEC));
	hvctl_ok(h, NULL, ARGS("virtio", "remove", "1", "0xa003800"));
	hvctl_ok(h, NULL, ARGS("zone", "shutdown", "1"));

	/* removal gives everything back */
	for (uint32_t zone = 11; zone <= 13; zone++) {
		char zs[16];

		snprintf(zs, sizeof(zs), "%u", zone);
		hvctl_ok(h, NULL, ARGS("virtio", "remove", zs, "0xa003800"));
	}
	assert_int_equal(hvisord_files(h, c), files0);
	assert_int_equal(zone_dirs(h), 0);
	free(img);
	vl_client_free(c);
	ih_stop(h);
}

/* A zone started behind hvisord's back (straight on the sim): hvisord does
 * not know its RAM, so a device for it needs the memory map of a
 * virtio_cfg.json; with it the device is served (with a warning that its
 * address and IRQ are not checked). */
static void test_unmanaged_zone(void **state)
{
	struct ih *h = ih_start(NULL);
	struct hv_zone_config *cfg =
		simh_cfg_new(HV_ARCH_AARCH64, 3, 1u << 3, "outside", 0x70000000);
	struct hvsim_hello hello = simh_hello(h->sim.ctl);
	char *img = ih_make_image(h, "u.img", 2 << 20), *spec, *vcfg = ih_path(h, "u.json");
	json_object *z;
	char text[1024];
	pid_t pid;

	simh_cfg_region(cfg, HV_MEM_TYPE_VIRTIO, 0xa000000, 0x4000);
	simh_cfg_irq(cfg, BLK_IRQ);
	assert_int_equal(simh_zone_start(h->sim.ctl, cfg, hello.magic), 0);
	free(cfg);
	z = zone_info(h, 3);
	assert_false(json_object_get_boolean(json_object_object_get(z, "managed")));
	json_object_put(z);

	assert_true(asprintf(&spec, "blk,addr=0xa003c00,len=0x200,irq=78,img=%s", img) > 0);
	expect_run(h, false, 1,
		   NEEDLES("org.hvisor.InvalidParameter", "memory",
			   "zone 3 was not started through hvisord"),
		   ARGS("virtio", "add", "3", spec), NULL);
	assert_int_equal(n_devices(h), 0);
	assert_no_backend(h);

	snprintf(
		text, sizeof(text),
		"{\"zones\": [{\"id\": 3, \"memory_region\": [{\"zone0_ipa\": \"0x70000000\", "
		"\"zonex_ipa\": \"0x70000000\", \"size\": \"0x1000000\"}], \"devices\": [{\"type\": "
		"\"blk\", \"addr\": \"0xa003c00\", \"len\": \"0x200\", \"irq\": 78, \"img\": "
		"\"u.img\", \"status\": \"enable\"}]}]}");
	ih_write_file(vcfg, text, strlen(text), 0644);
	{
		struct ih_out o;

		expect_run(h, false, 0,
			   NEEDLES("Zone 3: blk device at 0xa003c00 (irq 78, u.img) running."),
			   ARGS("virtio", "start", vcfg), &o);
		assert_non_null(strstr(o.err, "warning: the zone was not started through hvisord"));
		ih_out_free(&o);
	}
	pid = ih_wait_virtiod(h, 3, 0);
	ih_blk_verify(h, 3, BLK_ADDR, BLK_IRQ, "30");
	/* zone info shows the backend of an unmanaged zone too */
	snprintf(text, sizeof(text), "  Virtio:       1 device, backend running (pid %d)\n",
		 (int)pid);
	hvctl_ok(h, NEEDLES("Managed:      no", text), ARGS("zone", "info", "3"));
	hvctl_ok(h, NULL, ARGS("virtio", "remove", "3", "0xa003c00"));
	wait_gone(pid);
	hvctl_ok(h, NULL, ARGS("zone", "shutdown", "3"));
	free(vcfg);
	free(spec);
	free(img);
	ih_stop(h);
	net_part_ran();
}

/* ---- virtio start --------------------------------------------------------------- */

/* The devices of conf/examples/sim/virtio_cfg.json, as they must be after
 * a start: zone 1 blk + console, zone 2 console, the disabled net not. */
static void assert_example_devices(struct ih *h)
{
	json_object *devs = ih_virtio_list(h, 0), *d;

	assert_int_equal(json_object_array_length(devs), 3);
	d = find_dev(devs, 1, BLK_ADDR);
	assert_non_null(d);
	assert_string_equal(ih_jstr(d, "type"), "blk");
	assert_int_equal(ih_jint(d, "irq"), BLK_IRQ);
	assert_string_equal(ih_jstr(d, "backing"), "zone1-disk.img"); /* as the file says */
	assert_string_equal(ih_jstr(d, "state"), "running");
	d = find_dev(devs, 1, CON_ADDR);
	assert_non_null(d);
	assert_string_equal(ih_jstr(d, "type"), "console");
	assert_string_equal(ih_jstr(d, "state"), "running");
	d = find_dev(devs, 2, CON2_ADDR);
	assert_non_null(d);
	assert_string_equal(ih_jstr(d, "type"), "console");
	assert_int_equal(ih_jint(d, "irq"), CON2_IRQ);
	assert_string_equal(ih_jstr(d, "state"), "running");
	assert_null(find_dev(devs, 1, NET_ADDR)); /* "status": "disable" */
	json_object_put(devs);
	if (have_net)
		assert_int_equal(ih_if_index("hvtap0"), 0);
}

static void remove_example_devices(struct ih *h)
{
	pid_t p1 = ih_virtiod_pid(h, 1), p2 = ih_virtiod_pid(h, 2);

	hvctl_ok(h, NULL, ARGS("virtio", "remove", "1", "0xa003c00"));
	hvctl_ok(h, NULL, ARGS("virtio", "remove", "1", "0xa003800"));
	hvctl_ok(h, NULL, ARGS("virtio", "remove", "2", "0xa007800"));
	wait_gone(p1);
	wait_gone(p2);
	assert_int_equal(n_devices(h), 0);
}

/* hvctl virtio start / hvisor virtio start with upstream's file: image
 * paths relative to the file, disabled devices skipped, one backend per
 * zone; a file with a device that is refused adds nothing (the devices
 * added before it are taken back); a file that does not parse adds
 * nothing either. */
static void test_start_file(void **state)
{
	struct ih *h = ih_start(NULL);
	char *cfgdir = ih_path(h, "cfg"), *cfg = ih_path(h, "cfg/virtio_cfg.json"), src[PATH_MAX];
	char *disk, *bad = ih_path(h, "cfg/bad.json"), *con1, *con2;
	json_object *j;
	uint64_t before;
	pid_t p1, p2;

	ih_zone_start(h, "zone1");
	ih_zone_start(h, "zone2");
	assert_int_equal(mkdir(cfgdir, 0755), 0);
	snprintf(src, sizeof(src), "%s/conf/examples/sim/virtio_cfg.json", ih_source_dir());
	j = ih_json_load(src);
	ih_json_save(j, cfg);
	disk = ih_make_image(h, "cfg/zone1-disk.img", 4 << 20);
	before = ih_file_hash(disk);

	/* hvctl runs elsewhere: the image is found next to the file */
	hvctl_ok(h,
		 NEEDLES("Zone 1: blk device at 0xa003c00 (irq 78, zone1-disk.img) running.\n",
			 "Zone 1: console device at 0xa003800 (irq 76, /dev/pts/",
			 "Zone 2: console device at 0xa007800 (irq 80, /dev/pts/"),
		 ARGS("virtio", "start", cfg));
	assert_example_devices(h);
	p1 = ih_wait_virtiod(h, 1, 0);
	p2 = ih_wait_virtiod(h, 2, 0);
	assert_int_not_equal(p1, p2);
	con1 = ih_path(h, "zone1/console");
	con2 = ih_path(h, "zone2/console");
	assert_int_equal(access(con1, F_OK), 0);
	assert_int_equal(access(con2, F_OK), 0);
	ih_blk_verify(h, 1, BLK_ADDR, BLK_IRQ, "30");
	assert_true(ih_file_hash(disk) != before); /* that image, written by the guest */
	remove_example_devices(h);

	/* the upstream spelling */
	expect_run(h, true, 0, NEEDLES("Zone 2: console device at 0xa007800"),
		   ARGS("virtio", "start", cfg), NULL);
	assert_example_devices(h);
	ih_blk_verify(h, 1, BLK_ADDR, BLK_IRQ, "10");
	remove_example_devices(h);

	/* all or nothing: zone 2's console has an IRQ zone 2 does not own, so
	 * zone 1's devices before it are not added either */
	ih_json_set(j, "zones[1].devices[0].irq", json_object_new_int(90));
	ih_json_save(j, bad);
	for (int link = 0; link < 2; link++) {
		struct ih_out o;

		expect_run(h, link, 1,
			   NEEDLES("org.hvisor.InvalidParameter", "device.irq",
				   "IRQ 90 is not in zone 2's interrupts"),
			   ARGS("virtio", "start", bad), &o);
		assert_string_equal(o.out, "");
		ih_out_free(&o);
		assert_int_equal(n_devices(h), 0);
		assert_no_backend(h);
	}

	/* a typo, even in a disabled device: nothing is added */
	ih_json_set(j, "zones[1].devices[0].irq", json_object_new_int(80));
	ih_json_set(j, "zones[0].devices[2].taps", json_object_new_string("x"));
	ih_json_save(j, bad);
	expect_run(h, false, 1, NEEDLES("zones[0].devices[2].taps: unknown key"),
		   ARGS("virtio", "start", bad), NULL);
	assert_int_equal(n_devices(h), 0);
	/* a file that is not there */
	expect_run(h, false, 1, NEEDLES("/nonexistent.json"),
		   ARGS("virtio", "start", "/nonexistent.json"), NULL);
	assert_int_equal(n_devices(h), 0);
	assert_no_backend(h);

	json_object_put(j);
	free(con1);
	free(con2);
	free(bad);
	free(disk);
	free(cfg);
	free(cfgdir);
	ih_stop(h);
}

/* virtio start: an error names the device of the file it is about
 * (zones[i].devices[k], with its type and address), or the --device spec. */
static void test_start_errors_name_the_device(void **state)
{
	struct ih *h = ih_start(NULL);
	char *cfg = ih_path(h, "virtio_cfg.json"), src[PATH_MAX], *want;
	char *disk = ih_make_image(h, "zone1-disk.img", 1 << 20);
	json_object *j;

	ih_zone_start(h, "zone1");
	ih_zone_start(h, "zone2");
	snprintf(src, sizeof(src), "%s/conf/examples/sim/virtio_cfg.json", ih_source_dir());
	j = ih_json_load(src);
	/* refused by hvisord: zone 2's console */
	ih_json_set(j, "zones[1].devices[0].irq", json_object_new_int(90));
	ih_json_save(j, cfg);
	assert_true(asprintf(&want,
			     "%s: zones[1].devices[0] (console at 0xa007800): "
			     "org.hvisor.InvalidParameter: device.irq: IRQ 90 is not in zone 2's "
			     "interrupts",
			     cfg) > 0);
	expect_run(h, false, 1, NEEDLES(want), ARGS("virtio", "start", cfg), NULL);
	expect_run(h, true, 1, NEEDLES(want), ARGS("virtio", "start", cfg), NULL);
	free(want);
	assert_int_equal(n_devices(h), 0);
	/* refused by hvctl: zone 1's image is not there */
	assert_int_equal(unlink(disk), 0);
	ih_json_set(j, "zones[1].devices[0].irq", json_object_new_int(80));
	ih_json_save(j, cfg);
	assert_true(asprintf(&want,
			     "%s: zones[0].devices[0] (blk at 0xa003c00): cannot open image "
			     "'zone1-disk.img'",
			     cfg) > 0);
	expect_run(h, false, 1, NEEDLES(want, "No such file or directory"),
		   ARGS("virtio", "start", cfg), NULL);
	free(want);
	assert_int_equal(n_devices(h), 0);
	/* a --device spec names itself */
	expect_run(h, false, 1,
		   NEEDLES(CON_SPEC ",zone_id=2: org.hvisor.InvalidParameter: device.addr"),
		   ARGS("virtio", "start", "--device", CON_SPEC ",zone_id=2"), NULL);
	assert_int_equal(n_devices(h), 0);
	json_object_put(j);
	free(disk);
	free(cfg);
	ih_stop(h);
}

/* hvctl log-level reaches the running backends, and each confirms it with
 * the level it had; a backend started later gets the new level. */
static void test_log_level_reaches_backends(void **state)
{
	struct ih *h = ih_start(NULL);
	pid_t p2;

	ih_zone_start(h, "zone1");
	ih_zone_start(h, "zone2");
	hvctl_ok(h, NULL, ARGS("virtio", "add", "1", CON_SPEC));
	ih_wait_virtiod(h, 1, 0);
	hvctl_ok(h,
		 NEEDLES("hvisord: debug (was info)\n",
			 "hvisor-virtiod of zone 1: debug (was info)\n"),
		 ARGS("log-level", "debug"));
	/* zone 2's backend starts now, at debug */
	hvctl_ok(h, NULL, ARGS("virtio", "add", "2", "console,addr=0xa007800,len=0x200,irq=80"));
	p2 = ih_wait_virtiod(h, 2, 0);
	/* each says what it had: so both really were at debug */
	hvctl_ok(h,
		 NEEDLES("hvisord: notice (was debug)\n",
			 "hvisor-virtiod of zone 1: notice (was debug)\n",
			 "hvisor-virtiod of zone 2: notice (was debug)\n"),
		 ARGS("log-level", "5"));
	assert_true(
		ih_wait_file_contains(h->log, "notice: log level set to notice\n", IH_TIMEOUT_MS));
	/* as JSON */
	{
		struct ih_out o;
		json_object *j, *a;

		expect_run(h, false, 0, NULL, ARGS("--json", "log-level", "info"), &o);
		j = json_tokener_parse(o.out);
		assert_non_null(j);
		assert_string_equal(ih_jstr(j, "previous"), "notice");
		assert_true(json_object_object_get_ex(j, "virtiods", &a));
		assert_int_equal(json_object_array_length(a), 2);
		assert_string_equal(ih_jstr(json_object_array_get_idx(a, 0), "previous"), "notice");
		json_object_put(j);
		ih_out_free(&o);
	}
	assert_int_equal(ih_virtiod_pid(h, 2), p2);
	ih_stop(h);
}

/* hvisor virtio start --device SPEC --device SPEC (upstream's older form,
 * zone_id in each spec), and hvctl virtio start --device: added and
 * served; a spec without zone_id is a usage error; with a refused second
 * device the first one is not added either. */
static void test_start_devices(void **state)
{
	struct ih *h = ih_start(NULL);
	char *img = ih_make_image(h, "disk.img", 4 << 20), *spec;
	struct snapshot s;
	pid_t pid;

	ih_zone_start(h, "zone1");
	assert_true(asprintf(&spec, "blk,addr=0xa003c00,len=0x200,irq=78,zone_id=1,img=%s", img) >
		    0);
	expect_run(h, true, 0,
		   NEEDLES("Zone 1: blk device at 0xa003c00 (irq 78, ",
			   "Zone 1: console device at 0xa003800 (irq 76, /dev/pts/"),
		   ARGS("virtio", "start", "--device", spec, "--device", CON_SPEC ",zone_id=1"),
		   NULL);
	pid = ih_wait_virtiod(h, 1, 0);
	assert_int_equal(n_devices(h), 2);
	ih_blk_verify(h, 1, BLK_ADDR, BLK_IRQ, "20");
	snap(h, &s);
	assert_int_equal(s.pid, pid);

	expect_run(h, true, 2, NEEDLES("zone_id= is required with --device"),
		   ARGS("virtio", "start", "--device", "console,addr=0xa003a00,len=0x200,irq=79"),
		   NULL);
	assert_unchanged(h, &s);
	expect_run(h, false, 2, NEEDLES("zone_id= is required with --device"),
		   ARGS("virtio", "start", "--device", "console,addr=0xa003a00,len=0x200,irq=79"),
		   NULL);
	assert_unchanged(h, &s);
	/* the first one fits, the second overlaps the disk: neither is added */
	for (int link = 0; link < 2; link++) {
		struct ih_out o;

		expect_run(h, link, 1,
			   NEEDLES("console,addr=0xa003d00,len=0x200,irq=79,zone_id=1: "
				   "org.hvisor.InvalidParameter: device.addr: 0xa003d00+0x200 "
				   "overlaps the blk device at 0xa003c00"),
			   ARGS("virtio", "start", "--device",
				"console,addr=0xa003a00,len=0x200,irq=79,zone_id=1", "--device",
				"console,addr=0xa003d00,len=0x200,irq=79,zone_id=1"),
			   &o);
		assert_string_equal(o.out, "");
		ih_out_free(&o);
		assert_unchanged(h, &s);
	}
	/* two of the call that overlap each other: neither is added */
	expect_run(h, false, 1, NEEDLES("overlaps the console device at 0xa003e00"),
		   ARGS("virtio", "start", "--device",
			"console,addr=0xa003e00,len=0x200,irq=79,zone_id=1", "--device",
			"console,addr=0xa003f00,len=0x200,irq=79,zone_id=1"),
		   NULL);
	assert_unchanged(h, &s);
	expect_run(h, true, 2, NULL, ARGS("virtio", "start"), NULL);
	expect_run(h, false, 2, NULL, ARGS("virtio", "start"), NULL);
	assert_unchanged(h, &s);
	/* every --device is checked before the first is added: nothing to take back */
	for (int link = 0; link < 2; link++) {
		struct ih_out o;

		expect_run(h, link, 2, NEEDLES("type: device type 'gpu' is not supported"),
			   ARGS("virtio", "start", "--device",
				"console,addr=0xa003a00,len=0x200,irq=79,zone_id=1", "--device",
				"gpu,addr=0xa003e00,len=0x200,irq=79,zone_id=1"),
			   &o);
		assert_string_equal(o.out, "");
		assert_null(strstr(o.err, "removing"));
		ih_out_free(&o);
		assert_unchanged(h, &s);
	}
	/* hvctl's spelling of the same */
	hvctl_ok(h, NEEDLES("Zone 1: console device at 0xa003a00 (irq 79, /dev/pts/"),
		 ARGS("virtio", "start", "--device",
		      "console,addr=0xa003a00,len=0x200,irq=79,zone_id=1"));
	assert_int_equal(n_devices(h), 3);
	assert_int_equal(ih_virtiod_pid(h, 1), pid);
	free(s.list);
	free(s.dir);
	free(spec);
	free(img);
	ih_stop(h);
	net_part_ran();
}

/* ih_reap, and a tap a failed test left behind (it goes with the processes
 * that held it). */
static int reap(void **state)
{
	ih_reap(state);
	if (have_net)
		ih_wait_if(TAP, false, 2000);
	return 0;
}

/* conf/examples/sim/zone1.json rewritten for arch, with an empty interrupt
 * list (as upstream's x86 configs have); returns its path. */
static char *zone1_for_arch(struct ih *h, const char *arch)
{
	char *cfg = ih_make_zone(h, "zone1", 64 * 1024, 4096), *path;
	json_object *j = ih_json_load(cfg), *ac = json_object_new_object();

	if (strcmp(arch, "riscv64") == 0) {
		json_object_object_add(ac, "plic_base", json_object_new_string("0xc000000"));
		json_object_object_add(ac, "plic_size", json_object_new_string("0x4000000"));
		json_object_object_add(ac, "aplic_base", json_object_new_string("0xd000000"));
		json_object_object_add(ac, "aplic_size", json_object_new_string("0x8000"));
	} else if (strcmp(arch, "x86_64") == 0) {
		static const char *const keys[] = {"ioapic_base",
						   "ioapic_size",
						   "kernel_entry_gpa",
						   "rsdp_memory_region_id",
						   "acpi_memory_region_id",
						   "uefi_memory_region_id",
						   "screen_base"};
		static const char *const vals[] = {"0xfec00000", "0x1000", "0x100000", "0",
						   "0",		 "0",	   "0"};

		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			json_object_object_add(ac, keys[i], json_object_new_string(vals[i]));
	}
	if (strcmp(arch, "aarch64") != 0)
		json_object_object_add(j, "arch_config", ac);
	else
		json_object_put(ac);
	json_object_object_add(j, "interrupts", json_object_new_array());
	assert_true(asprintf(&path, "%s/zone1-%s.json", h->dir, arch) > 0);
	ih_json_save(j, path);
	json_object_put(j);
	free(cfg);
	return path;
}

/* A device's IRQ must be in the zone's interrupts where hvisor's list gates
 * them (aarch64, riscv64); on x86_64 and loongarch64 hvisor ignores the
 * list: the device is accepted, and its interrupts reach the guest. */
static void test_irq_rule_per_arch(void **state)
{
	static const struct {
		const char *arch;
		bool gated;
	} arches[] = {
		{"aarch64", true},
		{"riscv64", true},
		{"x86_64", false},
		{"loongarch64", false},
	};

	for (size_t a = 0; a < ARRAY_SIZE(arches); a++) {
		const char *sim_args[] = {"--arch", arches[a].arch, NULL};
		const struct ih_opts opts = {.sim_args = sim_args};
		struct ih *h = ih_start(&opts);
		char *img = ih_make_image(h, "disk.img", 1 << 20),
		     *cfg = zone1_for_arch(h, arches[a].arch);
		char *spec;

		assert_true(asprintf(&spec, "blk,addr=0xa003c00,len=0x200,irq=78,img=%s", img) > 0);
		hvctl_ok(h, NEEDLES("Zone 1 (zone1) started."), ARGS("zone", "start", cfg));
		if (arches[a].gated) {
			expect_run(h, false, 1,
				   NEEDLES("org.hvisor.InvalidParameter",
					   "device.irq: IRQ 78 is not in zone 1's interrupts"),
				   ARGS("virtio", "add", "1", spec), NULL);
			assert_int_equal(n_devices(h), 0);
		} else {
			hvctl_ok(h, NEEDLES("Zone 1: blk device at 0xa003c00 (irq 78"),
				 ARGS("virtio", "add", "1", spec));
			ih_wait_virtiod(h, 1, 0);
			ih_blk_verify(h, 1, BLK_ADDR, BLK_IRQ, "20");
		}
		hvctl_ok(h, NULL, ARGS("zone", "shutdown", "1"));
		free(spec);
		free(cfg);
		free(img);
		ih_stop(h);
	}
	(void)state;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_add_list_remove, reap),
		cmocka_unit_test_setup(test_zone_shutdown, reap),
		cmocka_unit_test_setup(test_pending, reap),
		cmocka_unit_test_setup(test_remove_last_while_down, reap),
		cmocka_unit_test_setup(test_remove_while_down, reap),
		cmocka_unit_test_setup(test_refusals, reap),
		cmocka_unit_test_setup(test_refusals_varlink, reap),
		cmocka_unit_test_setup(test_device_limit, reap),
		cmocka_unit_test_setup(test_add_many, reap),
		cmocka_unit_test_setup(test_pending_limit, reap),
		cmocka_unit_test_setup(test_backend_refuses, reap),
		cmocka_unit_test_setup(test_permissions, reap),
		cmocka_unit_test_setup(test_unmanaged_zone, reap),
		cmocka_unit_test_setup(test_start_file, reap),
		cmocka_unit_test_setup(test_start_devices, reap),
		cmocka_unit_test_setup(test_irq_rule_per_arch, reap),
		cmocka_unit_test_setup(test_start_errors_name_the_device, reap),
		cmocka_unit_test_setup(test_log_level_reaches_backends, reap),
	};

	ih_init(argc, argv);
	have_net = ih_need_root_virtio();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
