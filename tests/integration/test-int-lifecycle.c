// SPDX-License-Identifier: GPL-2.0-only
/* Zone lifecycle end to end: hvctl start/list/info/shutdown, the image
 * bytes in the sim's memory, both zone_config layouts and another arch. */
#include <errno.h>
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

#define MiB	    (1024u * 1024u)
#define KERNEL_SIZE (5 * MiB + 12345) /* several load chunks and a partial one */
#define DTB_SIZE    (4096 + 77)

static json_object *parse_stdout(const struct ih_out *o)
{
	json_object *j = json_tokener_parse(o->out);

	if (!j)
		fail_msg("not JSON: %s", o->out);
	return j;
}

static void assert_cpus(json_object *z, const int *cpus, size_t n)
{
	json_object *a = ih_json_get(z, "cpus");

	assert_int_equal(json_object_array_length(a), n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(json_object_get_int(json_object_array_get_idx(a, i)), cpus[i]);
}

static void test_lifecycle_hvctl(void **state)
{
	static const int root_cpus[] = {0, 1}, z1_cpus[] = {2};
	struct ih *h = ih_start(NULL);
	struct ih_layout z1 = ih_layout("zone1");
	char *cfg = ih_make_zone(h, "zone1", KERNEL_SIZE, DTB_SIZE);
	char real[PATH_MAX], expect[600];
	json_object *j, *zones, *z, *images, *regions;
	struct ih_out o;

	assert_non_null(realpath(cfg, real));

	/* start */
	assert_int_equal(ih_hvctl(h, &o, "zone", "start", cfg, NULL), 0);
	assert_string_equal(o.out, "Zone 1 (zone1) started.\n");
	ih_out_free(&o);

	/* list: table */
	assert_int_equal(ih_hvctl(h, &o, "zone", "list", NULL), 0);
	assert_non_null(strstr(o.out, "ZONE"));
	assert_non_null(strstr(o.out, "STATUS"));
	assert_non_null(strstr(o.out, "root-linux"));
	assert_non_null(strstr(o.out, "0,1"));
	assert_non_null(strstr(o.out, "zone1"));
	assert_non_null(strstr(o.out, real));
	assert_non_null(strstr(o.out, "running"));
	{
		/* exactly a header and two rows, root first */
		char *l1 = strchr(o.out, '\n'), *l2 = l1 ? strchr(l1 + 1, '\n') : NULL;

		assert_non_null(l2);
		assert_true(strncmp(l1 + 1, "0 ", 2) == 0);
		assert_true(strncmp(l2 + 1, "1 ", 2) == 0);
		assert_non_null(strchr(l2 + 1, '\n'));
		assert_string_equal(strchr(l2 + 1, '\n') + 1, "");
	}
	ih_out_free(&o);

	/* list: JSON, as a command option and as a global option */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0)
			assert_int_equal(ih_hvctl(h, &o, "zone", "list", "--json", NULL), 0);
		else
			assert_int_equal(ih_hvctl(h, &o, "--json", "zone", "list", NULL), 0);
		j = parse_stdout(&o);
		zones = ih_json_get(j, "zones");
		assert_int_equal(json_object_array_length(zones), 2);
		z = json_object_array_get_idx(zones, 0);
		assert_int_equal(ih_jint(z, "zone_id"), 0);
		assert_string_equal(ih_jstr(z, "name"), "root-linux");
		assert_string_equal(ih_jstr(z, "status"), "running");
		assert_false(json_object_get_boolean(ih_json_get(z, "managed")));
		assert_cpus(z, root_cpus, 2);
		z = json_object_array_get_idx(zones, 1);
		assert_int_equal(ih_jint(z, "zone_id"), 1);
		assert_string_equal(ih_jstr(z, "name"), "zone1");
		assert_string_equal(ih_jstr(z, "status"), "running");
		assert_true(json_object_get_boolean(ih_json_get(z, "managed")));
		assert_string_equal(ih_jstr(z, "source"), real);
		assert_true(ih_jint(z, "started_usec") > 0);
		assert_cpus(z, z1_cpus, 1);
		json_object_put(j);
		ih_out_free(&o);
	}

	/* info: human */
	assert_int_equal(ih_hvctl(h, &o, "zone", "info", "1", NULL), 0);
	assert_non_null(strstr(o.out, "Zone 1: zone1\n"));
	assert_non_null(strstr(o.out, "  Status:       running\n"));
	assert_non_null(strstr(o.out, "  CPUs:         2\n"));
	snprintf(expect, sizeof(expect), "  Arch:         %s\n", ih_arch());
	assert_non_null(strstr(o.out, expect));
	snprintf(expect, sizeof(expect), "  Entry point:  0x%llx\n", (unsigned long long)z1.entry);
	assert_non_null(strstr(o.out, expect));
	assert_non_null(strstr(o.out, "  Interrupts:   76, 77, 78, 79\n"));
	snprintf(expect, sizeof(expect), "%u bytes  zone1-kernel.bin", KERNEL_SIZE);
	assert_non_null(strstr(o.out, expect));
	snprintf(expect, sizeof(expect), "%u bytes  zone1.dtb", DTB_SIZE);
	assert_true(!strstr(o.out, expect) == !z1.dtb_loaded);
	snprintf(expect, sizeof(expect), "ram     host 0x%llx", (unsigned long long)z1.ram);
	assert_non_null(strstr(o.out, expect));
	ih_out_free(&o);

	/* info: JSON */
	assert_int_equal(ih_hvctl(h, &o, "zone", "info", "1", "--json", NULL), 0);
	j = parse_stdout(&o);
	z = ih_json_get(j, "zone");
	assert_int_equal(ih_jint(z, "zone_id"), 1);
	assert_string_equal(ih_jstr(z, "name"), "zone1");
	assert_string_equal(ih_jstr(z, "arch"), ih_arch());
	assert_int_equal(ih_jint(z, "entry_point"), z1.entry);
	assert_int_equal(json_object_array_length(ih_json_get(z, "interrupts")), 4);
	regions = ih_json_get(z, "memory_regions");
	assert_int_equal(json_object_array_length(regions), 2);
	assert_string_equal(ih_jstr(json_object_array_get_idx(regions, 0), "type"), "ram");
	assert_int_equal(ih_jint(json_object_array_get_idx(regions, 0), "size"), z1.ram_size);
	assert_string_equal(ih_jstr(json_object_array_get_idx(regions, 1), "type"), "virtio");
	images = ih_json_get(z, "images");
	assert_int_equal(json_object_array_length(images), z1.dtb_loaded ? 2 : 1);
	for (size_t i = 0; i < json_object_array_length(images); i++) {
		json_object *im = json_object_array_get_idx(images, i);
		bool kernel = strcmp(ih_jstr(im, "key"), "kernel_filepath") == 0;

		if (!kernel)
			assert_string_equal(ih_jstr(im, "key"), "dtb_filepath");
		assert_int_equal(ih_jint(im, "load_paddr"), kernel ? z1.kernel : z1.dtb);
		assert_int_equal(ih_jint(im, "size"), kernel ? KERNEL_SIZE : DTB_SIZE);
	}
	json_object_put(j);
	ih_out_free(&o);

	/* the root zone is known but not managed */
	assert_int_equal(ih_hvctl(h, &o, "zone", "info", "0", NULL), 0);
	assert_non_null(strstr(o.out, "Zone 0: root-linux\n"));
	assert_non_null(strstr(o.out, "Managed:      no"));
	ih_out_free(&o);
	assert_int_equal(ih_hvctl(h, &o, "zone", "info", "7", NULL), 1);
	assert_non_null(strstr(o.err, "org.hvisor.Zone.NotFound"));
	assert_string_equal(o.out, "");
	ih_out_free(&o);

	/* shutdown */
	assert_int_equal(ih_hvctl(h, &o, "zone", "shutdown", "1", NULL), 0);
	assert_string_equal(o.out, "Zone 1 shut down.\n");
	ih_out_free(&o);
	assert_int_equal(ih_hvctl(h, &o, "zone", "list", "--json", NULL), 0);
	j = parse_stdout(&o);
	zones = ih_json_get(j, "zones");
	assert_int_equal(json_object_array_length(zones), 1);
	assert_int_equal(ih_jint(json_object_array_get_idx(zones, 0), "zone_id"), 0);
	json_object_put(j);
	ih_out_free(&o);
	assert_int_equal(ih_hvctl(h, &o, "zone", "shutdown", "1", NULL), 1);
	assert_non_null(strstr(o.err, "org.hvisor.Zone.NotFound"));
	ih_out_free(&o);
	{
		uint32_t ids[8];

		assert_int_equal(ih_sim_zone_ids(h, ids, 8), 1);
	}

	/* and it can be started again */
	assert_int_equal(ih_hvctl(h, &o, "zone", "start", cfg, NULL), 0);
	ih_out_free(&o);
	{
		char *k = ih_path(h, "zone1-kernel.bin");

		ih_assert_phys_equals_file(h, z1.kernel, k);
		free(k);
	}
	free(cfg);
	ih_stop(h);
}

/* dtb NULL: the arch loads none */
static void check_loaded(struct ih *h, uint64_t kernel_at, const char *kernel, uint64_t dtb_at,
			 const char *dtb)
{
	char *k = ih_path(h, kernel);

	ih_assert_phys_equals_file(h, kernel_at, k);
	free(k);
	if (dtb) {
		k = ih_path(h, dtb);
		ih_assert_phys_equals_file(h, dtb_at, k);
		free(k);
	}
}

static void test_loaded_bytes(void **state)
{
	struct ih *h = ih_start(NULL);
	char *z1 = ih_make_zone(h, "zone1", KERNEL_SIZE, DTB_SIZE);
	char *z2 = ih_make_zone(h, "zone2", 3 * MiB - 1, 1);
	struct ih_layout l1 = ih_layout("zone1"), l2 = ih_layout("zone2");
	struct ih_out o;

	/* nothing there before */
	assert_true(ih_phys_is_zero(h, l1.kernel, KERNEL_SIZE));
	assert_int_equal(ih_hvctl(h, &o, "zone", "start", z1, NULL), 0);
	ih_out_free(&o);
	assert_int_equal(ih_hvctl(h, &o, "zone", "start", z2, NULL), 0);
	ih_out_free(&o);
	check_loaded(h, l1.kernel, "zone1-kernel.bin", l1.dtb, l1.dtb_loaded ? "zone1.dtb" : NULL);
	check_loaded(h, l2.kernel, "zone2-kernel.bin", l2.dtb, l2.dtb_loaded ? "zone2.dtb" : NULL);
	/* nothing beyond the files */
	assert_true(ih_phys_is_zero(h, l1.kernel + KERNEL_SIZE, 4096));
	assert_true(ih_phys_is_zero(h, l1.dtb + DTB_SIZE, 4096));
	assert_true(ih_phys_is_zero(h, l2.dtb + 1, 4096));
	free(z1);
	free(z2);
	ih_stop(h);
}

/* Starts the sim with the given arch and magic, checks GetInfo, starts the
 * zone config `cfg` (written by the caller) and checks its bytes. */
static void run_arch_magic(const char *arch, const char *magic, int64_t magic_val,
			   void (*make)(struct ih *h, char **cfg, uint64_t *kernel_at,
					uint64_t *dtb_at))
{
	const char *sim_args[] = {"--arch", arch, "--magic", magic, NULL};
	struct ih_opts opts = {.sim_args = sim_args};
	struct ih *h = ih_start(&opts);
	struct vl_client *c = ih_client(h);
	json_object *reply = ih_call(c, "org.hvisor.Manager.GetInfo", NULL), *info;
	uint64_t kernel_at, dtb_at;
	uint32_t ids[8];
	struct ih_out o;
	char *cfg;

	info = ih_json_get(ih_ok(reply), "info");
	assert_int_equal(ih_jint(info, "config_magic"), magic_val);
	assert_true(json_object_get_boolean(ih_json_get(info, "config_magic_supported")));
	assert_string_equal(ih_jstr(info, "arch"), arch);
	assert_string_equal(ih_jstr(info, "backend"), "sim");
	assert_int_equal(ih_jint(info, "cpus"), 4);
	json_object_put(reply);
	vl_client_free(c);

	/* hvctl version shows it too */
	assert_int_equal(ih_hvctl(h, &o, "version", NULL), 0);
	{
		char want[64];

		snprintf(want, sizeof(want), "config magic 0x%02llx",
			 (unsigned long long)magic_val);
		assert_non_null(strstr(o.out, want));
		assert_non_null(strstr(o.out, arch));
	}
	ih_out_free(&o);

	make(h, &cfg, &kernel_at, &dtb_at);
	assert_int_equal(ih_hvctl(h, &o, "zone", "start", cfg, NULL), 0);
	ih_out_free(&o);
	assert_int_equal(ih_sim_zone_ids(h, ids, 8), 2);
	assert_int_equal(ids[1], 1);
	check_loaded(h, kernel_at, "kernel.bin", dtb_at, "zone.dtb");
	/* --json before a command that prints no data: nothing on stdout */
	assert_int_equal(ih_hvctl(h, &o, "--json", "zone", "shutdown", "1", NULL), 0);
	assert_string_equal(o.out, "");
	ih_out_free(&o);
	assert_int_equal(ih_sim_zone_ids(h, ids, 8), 1);
	free(cfg);
	ih_stop(h);
}

static void write_images(struct ih *h, json_object *j, size_t ksize, size_t dsize)
{
	char *k = ih_path(h, "kernel.bin"), *d = ih_path(h, "zone.dtb");
	char *buf = malloc(ksize);

	assert_non_null(buf);
	ih_fill(buf, ksize, "kernel");
	ih_write_file(k, buf, ksize, 0644);
	ih_fill(buf, dsize, "dtb");
	ih_write_file(d, buf, dsize, 0644);
	free(buf);
	free(k);
	free(d);
	ih_json_set(j, "kernel_filepath", json_object_new_string("kernel.bin"));
	ih_json_set(j, "dtb_filepath", json_object_new_string("zone.dtb"));
}

static void make_aarch64(struct ih *h, char **cfg, uint64_t *kernel_at, uint64_t *dtb_at)
{
	char *src = NULL;
	json_object *j;

	assert_true(asprintf(&src, "%s/conf/examples/sim/zone1.json", ih_source_dir()) > 0);
	j = ih_json_load(src);
	write_images(h, j, 2 * MiB + 3, 999);
	*cfg = ih_path(h, "zone.json");
	ih_json_save(j, *cfg);
	json_object_put(j);
	free(src);
	*kernel_at = 0x50400000;
	*dtb_at = 0x50000000;
}

static void make_riscv64(struct ih *h, char **cfg, uint64_t *kernel_at, uint64_t *dtb_at)
{
	char *src = NULL;
	json_object *j;

	/* the QEMU example as it is, with generated images */
	assert_true(asprintf(&src, "%s/conf/examples/qemu-riscv64/zone1-linux.json",
			     ih_source_dir()) > 0);
	j = ih_json_load(src);
	write_images(h, j, 3 * MiB + 5, 2000);
	*cfg = ih_path(h, "zone.json");
	ih_json_save(j, *cfg);
	json_object_put(j);
	free(src);
	*kernel_at = 0x84000000;
	*dtb_at = 0x83000000;
}

static void test_aarch64_magic_05(void **state)
{
	run_arch_magic("aarch64", "5", 0x05, make_aarch64);
}

static void test_aarch64_magic_06(void **state)
{
	run_arch_magic("aarch64", "0x06", 0x06, make_aarch64);
}

static void test_riscv64_magic_06(void **state)
{
	run_arch_magic("riscv64", "6", 0x06, make_riscv64);
}

static void test_riscv64_magic_05(void **state)
{
	run_arch_magic("riscv64", "5", 0x05, make_riscv64);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_lifecycle_hvctl, ih_reap),
		cmocka_unit_test_setup(test_loaded_bytes, ih_reap),
		cmocka_unit_test_setup(test_aarch64_magic_05, ih_reap),
		cmocka_unit_test_setup(test_aarch64_magic_06, ih_reap),
		cmocka_unit_test_setup(test_riscv64_magic_06, ih_reap),
		cmocka_unit_test_setup(test_riscv64_magic_05, ih_reap),
	};

	ih_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, ih_reap);
}
