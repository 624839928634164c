// SPDX-License-Identifier: GPL-2.0-only
/* Zone.Start refusals: each is named, comes before any side effect and
 * leaves the zone list (and the sim's memory) as it was. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "util.h"

#define MiB	    (1024u * 1024u)
#define KERNEL_SIZE (5 * MiB + 12345)

struct fixture {
	struct ih *h;
	char *zone1, *zone2; /* config paths */
	char *before;	     /* Zone.List with zone1 running */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ih_out o;

	ih_reap(NULL);
	assert_non_null(f);
	f->h = ih_start(NULL);
	f->zone1 = ih_make_zone(f->h, "zone1", KERNEL_SIZE, 4096);
	f->zone2 = ih_make_zone(f->h, "zone2", KERNEL_SIZE, 4096);
	assert_int_equal(ih_hvctl(f->h, &o, "zone", "start", f->zone1, NULL), 0);
	ih_out_free(&o);
	f->before = ih_list_json(f->h);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ih_stop(f->h);
	free(f->zone1);
	free(f->zone2);
	free(f->before);
	free(f);
	return 0;
}

/* zone2.json with one change, saved as dir/name. */
static char *variant(struct fixture *f, const char *name, const char *key, json_object *val)
{
	json_object *j = ih_json_load(f->zone2);
	char *path = ih_path(f->h, name);

	ih_json_set(j, key, val);
	ih_json_save(j, path);
	json_object_put(j);
	return path;
}

/* Nothing changed: zones, and (unless images_loaded) zone2's memory. */
static void assert_unchanged_but(struct fixture *f, bool images_loaded)
{
	char *now = ih_list_json(f->h);
	uint32_t ids[8];

	assert_string_equal(now, f->before);
	free(now);
	/* the sim agrees: root and zone1 only */
	assert_int_equal(ih_sim_zone_ids(f->h, ids, 8), 2);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 1);
	/* zone2's kernel was not loaded */
	if (!images_loaded)
		assert_true(ih_phys_is_zero(f->h, ih_layout("zone2").kernel, 64 * 1024));
}

static void assert_unchanged(struct fixture *f)
{
	assert_unchanged_but(f, false);
}

/* hvctl zone start `cfg` must exit 1 naming `error` on stderr. With
 * images_loaded, the hypervisor refused it: hvisord loads the images
 * before ZONE_START (upstream's order), so they are in zone2's memory. */
static void start_refused_but(struct fixture *f, const char *cfg, const char *error,
			      bool images_loaded)
{
	struct ih_out o;

	assert_int_equal(ih_hvctl(f->h, &o, "zone", "start", cfg, NULL), 1);
	if (!strstr(o.err, error))
		fail_msg("expected %s on stderr, got: %s", error, o.err);
	assert_string_equal(o.out, "");
	ih_out_free(&o);
	assert_unchanged_but(f, images_loaded);
}

static void start_refused(struct fixture *f, const char *cfg, const char *error)
{
	start_refused_but(f, cfg, error, false);
}

/* The same through raw varlink (the config inline, files passed as fds):
 * returns the error reply. */
static json_object *start_raw(struct fixture *f, const char *cfg)
{
	json_object *params = json_object_new_object(), *files = json_object_new_object(), *reply;
	json_object *j = ih_json_load(cfg);
	char *k = ih_path(f->h, "zone2-kernel.bin"), *d = ih_path(f->h, "zone2.dtb");
	int fds[2] = {open(k, O_RDONLY | O_CLOEXEC), open(d, O_RDONLY | O_CLOEXEC)};
	struct vl_client *c = ih_client(f->h);

	assert_true(fds[0] >= 0 && fds[1] >= 0);
	json_object_object_add(files, "kernel_filepath", json_object_new_int(0));
	json_object_object_add(files, "dtb_filepath", json_object_new_int(1));
	json_object_object_add(params, "config", j);
	json_object_object_add(params, "files", files);
	reply = ih_call_fds(c, "org.hvisor.Zone.Start", params, fds, 2);
	vl_client_free(c);
	close(fds[0]);
	close(fds[1]);
	free(k);
	free(d);
	return reply;
}

static void test_cpu_owned_by_zone1(void **state)
{
	struct fixture *f = *state;
	json_object *cpus = json_object_new_array(), *reply;
	char *cfg;

	json_object_array_add(cpus, json_object_new_int(2));
	cfg = variant(f, "cpu2.json", "cpus", cpus);
	start_refused(f, cfg, "org.hvisor.Zone.CpuBusy");
	reply = start_raw(f, cfg);
	ih_assert_error(reply, "org.hvisor.Zone.CpuBusy");
	assert_int_equal(ih_jint(vl_reply_parameters(reply), "cpu"), 2);
	assert_int_equal(ih_jint(vl_reply_parameters(reply), "owner"), 1);
	json_object_put(reply);
	assert_unchanged(f);
	free(cfg);
}

static void test_cpu_owned_by_root(void **state)
{
	struct fixture *f = *state;
	json_object *cpus = json_object_new_array(), *reply;
	char *cfg;

	json_object_array_add(cpus, json_object_new_int(3));
	json_object_array_add(cpus, json_object_new_int(0));
	cfg = variant(f, "cpu0.json", "cpus", cpus);
	start_refused(f, cfg, "org.hvisor.Zone.CpuBusy");
	reply = start_raw(f, cfg);
	ih_assert_error(reply, "org.hvisor.Zone.CpuBusy");
	assert_int_equal(ih_jint(vl_reply_parameters(reply), "cpu"), 0);
	assert_int_equal(ih_jint(vl_reply_parameters(reply), "owner"), 0);
	json_object_put(reply);
	free(cfg);
}

static void test_cpu_does_not_exist(void **state)
{
	struct fixture *f = *state;
	json_object *cpus = json_object_new_array();
	char *cfg;

	json_object_array_add(cpus, json_object_new_int(9)); /* the sim has 4 */
	cfg = variant(f, "cpu9.json", "cpus", cpus);
	/* hvisord checks what it knows; on hvisor.ko the CPU count is not
	 * known (root Linux sees its own CPUs only): the hypervisor refuses */
	if (ih_cpus())
		start_refused(f, cfg, "org.hvisor.InvalidParameter");
	else
		start_refused_but(f, cfg, "org.hvisor.KernelError", true);
	free(cfg);
}

static void test_zone_id_exists(void **state)
{
	struct fixture *f = *state;
	json_object *reply;
	char *cfg = variant(f, "id1.json", "zone_id", json_object_new_int(1));

	start_refused(f, cfg, "org.hvisor.Zone.AlreadyExists");
	reply = start_raw(f, cfg);
	ih_assert_error(reply, "org.hvisor.Zone.AlreadyExists");
	assert_int_equal(ih_jint(vl_reply_parameters(reply), "zone_id"), 1);
	json_object_put(reply);
	free(cfg);
	/* the root zone's id too */
	cfg = variant(f, "id0.json", "zone_id", json_object_new_int(0));
	start_refused(f, cfg, "org.hvisor.");
	free(cfg);
}

static void test_memory_overlap(void **state)
{
	struct fixture *f = *state;
	json_object *j = ih_json_load(f->zone2), *reply;
	char *cfg = ih_path(f->h, "overlap.json");
	struct ih_layout z1 = ih_layout("zone1");

	/* zone2 moved into the middle of zone1's RAM */
	ih_json_rebase(j, z1.ram + z1.ram_size / 2);
	ih_json_save(j, cfg);
	json_object_put(j);
	start_refused(f, cfg, "org.hvisor.Zone.MemoryOverlap");
	reply = start_raw(f, cfg);
	ih_assert_error(reply, "org.hvisor.Zone.MemoryOverlap");
	assert_int_equal(ih_jint(vl_reply_parameters(reply), "owner"), 1);
	assert_int_equal(ih_jint(vl_reply_parameters(reply), "start"), z1.ram);
	assert_int_equal(ih_jint(vl_reply_parameters(reply), "size"), z1.ram_size);
	json_object_put(reply);
	/* zone1's RAM was not written either */
	assert_true(ih_phys_is_zero(f->h, ih_file_u64(cfg, "dtb_load_paddr"), 64 * 1024));
	assert_true(ih_phys_is_zero(f->h, ih_file_u64(cfg, "kernel_load_paddr"), 64 * 1024));
	free(cfg);
}

static void test_bad_config(void **state)
{
	struct fixture *f = *state;
	json_object *reply;
	struct ih_out o;
	char *cfg = variant(f, "badsize.json", "memory_regions[0].size",
			    json_object_new_string("lots"));

	assert_int_equal(ih_hvctl(f->h, &o, "zone", "start", cfg, NULL), 1);
	assert_non_null(strstr(o.err, "org.hvisor.InvalidParameter"));
	assert_non_null(strstr(o.err, "config.memory_regions[0].size"));
	ih_out_free(&o);
	reply = start_raw(f, cfg);
	ih_assert_error(reply, "org.hvisor.InvalidParameter");
	assert_string_equal(ih_jstr(vl_reply_parameters(reply), "parameter"),
			    "config.memory_regions[0].size");
	json_object_put(reply);
	assert_unchanged(f);
	free(cfg);

	/* a value hvisor does not know */
	cfg = variant(f, "badtype.json", "memory_regions[1].type", json_object_new_string("flash"));
	reply = start_raw(f, cfg);
	ih_assert_error(reply, "org.hvisor.InvalidParameter");
	assert_string_equal(ih_jstr(vl_reply_parameters(reply), "parameter"),
			    "config.memory_regions[1].type");
	json_object_put(reply);
	assert_unchanged(f);
	free(cfg);

	/* a config that is not JSON at all: hvctl says so itself */
	cfg = ih_path(f->h, "garbage.json");
	ih_write_file(cfg, "{\"name\": ", 9, 0644);
	assert_int_equal(ih_hvctl(f->h, &o, "--socket", "/nonexistent/hvisord.sock", "zone",
				  "start", cfg, NULL),
			 1);
	assert_non_null(strstr(o.err, "garbage.json"));
	ih_out_free(&o);
	free(cfg);
}

static void test_missing_image(void **state)
{
	struct fixture *f = *state;
	struct ih_out o;
	char *cfg = variant(f, "missing.json", "kernel_filepath",
			    json_object_new_string("no-such-kernel.bin"));

	/* exit 1, not 3: hvctl fails before it contacts hvisord */
	assert_int_equal(ih_hvctl(f->h, &o, "--socket", "/nonexistent/hvisord.sock", "zone",
				  "start", cfg, NULL),
			 1);
	assert_non_null(strstr(o.err, "no-such-kernel.bin"));
	ih_out_free(&o);
	start_refused(f, cfg, "no-such-kernel.bin");
	free(cfg);

	/* Start without the descriptor for a file of the config */
	{
		struct vl_client *c = ih_client(f->h);
		json_object *params = json_object_new_object(), *reply;

		json_object_object_add(params, "config", ih_json_load(f->zone2));
		reply = ih_call_fds(c, "org.hvisor.Zone.Start", params, NULL, 0);
		ih_assert_error(reply, "org.hvisor.InvalidParameter");
		assert_string_equal(ih_jstr(vl_reply_parameters(reply), "parameter"), "files");
		json_object_put(reply);
		vl_client_free(c);
	}
	assert_unchanged(f);
}

static void test_kernel_does_not_fit(void **state)
{
	struct fixture *f = *state;
	json_object *reply;
	char *cfg;

	/* 6 MiB of RAM, kernel at +4 MiB: 5 MiB do not fit */
	cfg = variant(f, "small.json", "memory_regions[0].size",
		      json_object_new_string("0x600000"));
	start_refused(f, cfg, "org.hvisor.InvalidParameter");
	reply = start_raw(f, cfg);
	ih_assert_error(reply, "org.hvisor.InvalidParameter");
	assert_string_equal(ih_jstr(vl_reply_parameters(reply), "parameter"),
			    "config.kernel_filepath");
	json_object_put(reply);
	/* not one byte was written: neither kernel nor dtb */
	assert_true(ih_phys_is_zero(f->h, ih_layout("zone2").kernel, KERNEL_SIZE));
	assert_true(ih_phys_is_zero(f->h, ih_layout("zone2").dtb, 4096));
	assert_unchanged(f);
	free(cfg);
}

static void test_shutdown_and_info_errors(void **state)
{
	struct fixture *f = *state;
	json_object *reply;
	struct ih_out o;

	reply = ih_call_error(f->h, "org.hvisor.Zone.Shutdown", "{\"zone_id\": 0}",
			      "org.hvisor.InvalidParameter", true);
	assert_string_equal(ih_jstr(vl_reply_parameters(reply), "parameter"), "zone_id");
	json_object_put(reply);
	reply = ih_call_error(f->h, "org.hvisor.Zone.Shutdown", "{\"zone_id\": 99}",
			      "org.hvisor.Zone.NotFound", true);
	assert_int_equal(ih_jint(vl_reply_parameters(reply), "zone_id"), 99);
	json_object_put(reply);
	ih_call_error(f->h, "org.hvisor.Zone.Shutdown", "{\"zone_id\": -1}",
		      "org.hvisor.InvalidParameter", false);
	ih_call_error(f->h, "org.hvisor.Zone.Shutdown", "{\"zone_id\": 4294967296}",
		      "org.hvisor.InvalidParameter", false);
	ih_call_error(f->h, "org.hvisor.Zone.Shutdown", "{\"zone_id\": \"1\"}",
		      "org.hvisor.InvalidParameter", false);
	ih_call_error(f->h, "org.hvisor.Zone.Shutdown", "{}", "org.hvisor.InvalidParameter", false);
	ih_call_error(f->h, "org.hvisor.Zone.Info", "{\"zone_id\": 99}", "org.hvisor.Zone.NotFound",
		      false);
	assert_int_equal(ih_hvctl(f->h, &o, "zone", "shutdown", "0", NULL), 1);
	assert_non_null(strstr(o.err, "org.hvisor.InvalidParameter"));
	ih_out_free(&o);
	assert_unchanged(f);
}

/* Zone.Start with descriptors hvisord cannot use: named, per file key. */
static void test_bad_descriptors(void **state)
{
	struct fixture *f = *state;
	char *k = ih_path(f->h, "zone2-kernel.bin"), *d = ih_path(f->h, "zone2.dtb");
	struct {
		int kernel_flags; /* -1: a directory, -2: a pipe */
		int kernel_index;
		const char *parameter;
	} cases[] = {
		{O_WRONLY, 0, "files.kernel_filepath"},
		{-1, 0, "files.kernel_filepath"},
		{-2, 0, "files.kernel_filepath"},
		{O_RDONLY, 2, "files.kernel_filepath"}, /* index out of range */
		{O_RDONLY, -1, "files.kernel_filepath"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_object *params = json_object_new_object(), *files = json_object_new_object();
		struct vl_client *c = ih_client(f->h);
		json_object *reply, *v;
		int fds[2], p[2] = {-1, -1};

		if (cases[i].kernel_flags == -1)
			fds[0] = open(f->h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		else if (cases[i].kernel_flags == -2) {
			assert_int_equal(pipe2(p, O_CLOEXEC), 0);
			fds[0] = p[0];
		} else
			fds[0] = open(k, cases[i].kernel_flags | O_CLOEXEC);
		fds[1] = open(d, O_RDONLY | O_CLOEXEC);
		assert_true(fds[0] >= 0 && fds[1] >= 0);
		json_object_object_add(files, "kernel_filepath",
				       json_object_new_int(cases[i].kernel_index));
		json_object_object_add(files, "dtb_filepath", json_object_new_int(1));
		json_object_object_add(params, "config", ih_json_load(f->zone2));
		json_object_object_add(params, "files", files);
		reply = ih_call_fds(c, "org.hvisor.Zone.Start", params, fds, 2);
		ih_assert_error(reply, "org.hvisor.InvalidParameter");
		assert_true(json_object_object_get_ex(vl_reply_parameters(reply), "parameter", &v));
		assert_string_equal(json_object_get_string(v), cases[i].parameter);
		json_object_put(reply);
		vl_client_free(c);
		close(fds[0]);
		close(fds[1]);
		if (p[1] >= 0)
			close(p[1]);
		assert_unchanged(f);
	}
	free(k);
	free(d);
}

/* A kernel passed as an O_PATH descriptor cannot be read: refused when the
 * call is checked, naming the file and why, not when the load fails. */
static void test_opath_descriptor(void **state)
{
	struct fixture *f = *state;
	char *k = ih_path(f->h, "zone2-kernel.bin"), *d = ih_path(f->h, "zone2.dtb");
	json_object *params = json_object_new_object(), *files = json_object_new_object();
	struct vl_client *c = ih_client(f->h);
	json_object *reply, *p;
	int fds[2];

	fds[0] = open(k, O_PATH | O_CLOEXEC);
	fds[1] = open(d, O_RDONLY | O_CLOEXEC);
	assert_true(fds[0] >= 0 && fds[1] >= 0);
	json_object_object_add(files, "kernel_filepath", json_object_new_int(0));
	json_object_object_add(files, "dtb_filepath", json_object_new_int(1));
	json_object_object_add(params, "config", ih_json_load(f->zone2));
	json_object_object_add(params, "files", files);
	reply = ih_call_fds(c, "org.hvisor.Zone.Start", params, fds, 2);
	ih_assert_error(reply, "org.hvisor.InvalidParameter");
	p = vl_reply_parameters(reply);
	assert_string_equal(ih_jstr(p, "parameter"), "files.kernel_filepath");
	if (!strstr(ih_jstr(p, "message"), "opened with O_PATH"))
		fail_msg("unclear message: %s", ih_jstr(p, "message"));
	json_object_put(reply);
	vl_client_free(c);
	close(fds[0]);
	close(fds[1]);
	/* before any side effect: no zone was created, nothing was loaded */
	assert_unchanged(f);
	free(k);
	free(d);
}

/* After all refusals the resources are free: zone2 starts as it is. */
static void test_then_start_works(void **state)
{
	struct fixture *f = *state;
	json_object *cpus = json_object_new_array();
	struct ih_out o;
	char *cfg, *k;

	json_object_array_add(cpus, json_object_new_int(2));
	cfg = variant(f, "cpu2.json", "cpus", cpus);
	start_refused(f, cfg, "org.hvisor.Zone.CpuBusy");
	free(cfg);
	/* an unknown key is only a warning (as upstream ignores it) */
	cfg = variant(f, "colour.json", "colour", json_object_new_string("red"));
	assert_int_equal(ih_hvctl(f->h, &o, "zone", "start", cfg, NULL), 0);
	assert_string_equal(o.out, "Zone 2 (zone2) started.\n");
	assert_non_null(strstr(o.err, "warning: unknown key 'colour' ignored"));
	ih_out_free(&o);
	free(cfg);
	k = ih_path(f->h, "zone2-kernel.bin");
	ih_assert_phys_equals_file(f->h, ih_layout("zone2").kernel, k);
	free(k);
	/* a second start of the same zone */
	assert_int_equal(ih_hvctl(f->h, &o, "zone", "start", f->zone2, NULL), 1);
	assert_non_null(strstr(o.err, "org.hvisor.Zone.AlreadyExists"));
	ih_out_free(&o);
}

/* conf/examples/sim is aarch64: a sim of another arch refuses it naming
 * both, before any side effect; a sim without --arch runs it. */
static void test_arch_mismatch(void **state)
{
	static const char *const x86[] = {"--arch", "x86_64", NULL};
	static const char *const none[] = {NULL};
	const struct ih_opts o86 = {.sim_args = x86}, odefault = {.sim_args = none};
	struct ih *h = ih_start(&o86);
	char *cfg = ih_make_zone(h, "zone1", 4096, 4096), *before = ih_list_json(h), *after;
	struct ih_out o;

	assert_int_equal(ih_hvctl(h, &o, "zone", "start", cfg, NULL), 1);
	if (!strstr(o.err, "org.hvisor.InvalidParameter") ||
	    !strstr(o.err, "config.arch_config: this config looks like aarch64 (arch_config has "
			   "gic_version) but the backend is x86_64"))
		fail_msg("unexpected error: %s", o.err);
	ih_out_free(&o);
	after = ih_list_json(h);
	assert_string_equal(after, before);
	free(after);
	free(before);
	free(cfg);
	ih_stop(h);

	h = ih_start(&odefault);
	cfg = ih_make_zone(h, "zone1", 4096, 4096);
	assert_int_equal(ih_hvctl(h, &o, "zone", "start", cfg, NULL), 0);
	assert_string_equal(o.err, "");
	ih_out_free(&o);
	free(cfg);
	ih_stop(h);
	(void)state;
}

/* A valid config hvisord cannot start yet (Multiboot2, x86_64): refused
 * as not supported, naming the key, before it asks for any file. */
static void test_multiboot2(void **state)
{
	static const char *const x86[] = {"--arch", "x86_64", NULL};
	const struct ih_opts o86 = {.sim_args = x86};
	struct ih *h = ih_start(&o86);
	char path[PATH_MAX];
	json_object *cfg, *params = json_object_new_object(), *reply, *p;
	struct vl_client *c = ih_client(h);

	snprintf(path, sizeof(path), "%s/conf/examples/qemu-x86_64/zone1-linux.json",
		 ih_source_dir());
	cfg = ih_json_load(path);
	json_object_object_add(cfg, "boot_protocol", json_object_new_string("multiboot2"));
	json_object_object_add(params, "config", cfg);
	reply = ih_call(c, "org.hvisor.Zone.Start", json_object_to_json_string(params));
	ih_assert_error(reply, "org.hvisor.NotSupported");
	p = vl_reply_parameters(reply);
	assert_string_equal(ih_jstr(p, "message"),
			    "config.boot_protocol: multiboot2 zones are not supported yet");
	json_object_put(reply);
	json_object_put(params);
	vl_client_free(c);
	ih_stop(h);
	(void)state;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cpu_owned_by_zone1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_owned_by_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_does_not_exist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zone_id_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_does_not_fit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_and_info_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_descriptors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opath_descriptor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_then_start_works, setup, teardown),
		cmocka_unit_test(test_arch_mismatch),
		cmocka_unit_test(test_multiboot2),
	};

	ih_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, ih_reap);
}
