// SPDX-License-Identifier: GPL-2.0-only
/* hvctl zone check and virtio check: offline, no hvisord. Every example and
 * upstream config (the known-broken ones fail with their reason), the
 * zone_config bytes and field table against proto's encoder, arch and
 * magic selection, images, virtio devices against their zone's config,
 * usage errors. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "harness.h"
#include "util.h"

#define ARGS IH_ARGS

static int setup(void **state)
{
	ih_reap(NULL);
	*state = ih_new();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return ih_reap(NULL);
}

/* hvctl args (with --json among them) exits with code; its stdout parsed. */
static json_object *check_json(struct ih *h, int code, const char *const *args, const char *in_err)
{
	struct ih_out o;
	json_object *j;

	ih_hvctl_expect(h, code, args, NULL, in_err, &o);
	j = json_tokener_parse(o.out);
	if (!j)
		fail_msg("not JSON on stdout: %s", o.out);
	ih_out_free(&o);
	return j;
}

static char *src_path(const char *rel)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", ih_source_dir(), rel) > 0);
	return p;
}

/* ---- every config of conf/examples and tests/upstream-configs ------------ */

/* Broken upstream (tests/upstream-configs/README.md) or with devices this
 * project does not implement: refused, with the reason. */
static const struct {
	const char *suffix, *needle;
} refused[] = {
	{"hvisor/platform/aarch64/imx8mp/configs/zone1-linux.json",
	 ": arch_config.gic_version: missing"},
	{"jeston/SCMI/virtio_cfg.json",
	 ": zones[0].devices[0].type: device type 'scmi' is not supported"},
	{"qemu-aarch64/with_virtio_gpu/virtio_cfg_ruxos.json",
	 ": zones[0].devices[0].type: device type 'gpu' is not supported"},
	{"rk3588-aarch64/with_virtio_scmi/zones-npu-gpu-virtio.json",
	 ": zones[0].devices[0].type: device type 'scmi' is not supported"},
};

static struct {
	struct ih *h;
	unsigned zones, virtios, refused;
} corpus;

static const char *refusal(const char *path)
{
	size_t n = strlen(path);

	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		size_t k = strlen(refused[i].suffix);

		if (n > k && strcmp(path + n - k, refused[i].suffix) == 0)
			return refused[i].needle;
	}
	return NULL;
}

/* One file: the right check passes (or fails for its known reason), the
 * other says which check it needs. The kind is the file's, not its name's. */
static int check_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	json_object *root, *j;
	const char *needle = refusal(path);
	bool virtio;

	(void)st;
	(void)ftw;
	if (flag != FTW_F || strlen(path) < 5 || strcmp(path + strlen(path) - 5, ".json") != 0)
		return 0;
	root = ih_json_load(path);
	virtio = json_object_object_get_ex(root, "zones", NULL);
	json_object_put(root);
	j = check_json(corpus.h, needle ? 1 : 0,
		       ARGS("--json", virtio ? "virtio" : "zone", "check", "--no-images", path),
		       needle);
	assert_int_equal(json_object_get_boolean(json_object_object_get(j, "valid")), !needle);
	if (!needle && !virtio) {
		enum hv_arch arch;

		assert_int_equal(hv_arch_from_string(ih_jstr(j, "arch"), &arch), 0);
		assert_int_equal(ih_jint(j, "size"), hv_zone_config_size(arch, 6));
	}
	json_object_put(j);
	ih_hvctl_expect(
		corpus.h, 1, ARGS(virtio ? "zone" : "virtio", "check", path), NULL,
		virtio ? "this is a virtio config, not a zone config: use 'hvctl virtio check'"
		       : "this is a zone config, not a virtio config: use 'hvctl zone check'",
		NULL);
	*(virtio ? &corpus.virtios : &corpus.zones) += 1;
	corpus.refused += needle != NULL;
	return 0;
}

static void test_corpus(void **state)
{
	char *examples = src_path("conf/examples"), *upstream = src_path("tests/upstream-configs");

	corpus.h = *state;
	assert_int_equal(nftw(examples, check_one, 16, FTW_PHYS), 0);
	assert_int_equal(nftw(upstream, check_one, 16, FTW_PHYS), 0);
	/* tests/upstream-configs/README.md: 40 zone and 26 virtio configs;
	 * conf/examples: 8 and 2 */
	assert_int_equal(corpus.zones, 40 + 8);
	assert_int_equal(corpus.virtios, 26 + 2);
	assert_int_equal(corpus.refused, ARRAY_SIZE(refused));
	free(examples);
	free(upstream);
}

/* virtio check with the zone configs the devices are meant for. */
static void test_pairs(void **state)
{
	struct ih *h = *state;
	char *up = src_path("tests/upstream-configs/hvisor/platform"), *p[4];
	char *ex = src_path("conf/examples");
	json_object *j, *zones;

	/* broken upstream: megrez's zone has no virtio region at all */
	assert_true(asprintf(&p[0], "%s/riscv64/megrez/configs/zone1-linux-virtio.json", up) > 0);
	assert_true(asprintf(&p[1], "%s/riscv64/megrez/configs/zone1-linux.json", up) > 0);
	ih_hvctl_expect(h, 1, ARGS("virtio", "check", "--no-images", p[0], "--zone", p[1]), NULL,
			"zone1-linux-virtio.json: zones[0].devices[0].addr: 0x10006000+0x1000 is "
			"not inside a virtio memory region of zone 1\n",
			NULL);
	for (int i = 0; i < 2; i++)
		free(p[i]);

	/* loongarch: one virtio config for three zones, IRQs not gated */
	assert_true(asprintf(&p[0], "%s/loongarch64/ls3a5000/configs/virtio.json", up) > 0);
	for (int i = 1; i <= 3; i++)
		assert_true(asprintf(&p[i], "%s/loongarch64/ls3a5000/configs/zone%d-linux.json", up,
				     i) > 0);
	j = check_json(h, 0,
		       ARGS("--json", "virtio", "check", "--no-images", p[0], "--zone", p[1],
			    "--zone", p[2], "--zone", p[3]),
		       NULL);
	assert_true(json_object_object_get_ex(j, "zones", &zones));
	for (size_t i = 0; i < json_object_array_length(zones); i++)
		assert_non_null(ih_jstr(json_object_array_get_idx(zones, i), "zone_config"));
	json_object_put(j);
	/* the same zone twice is a usage error */
	ih_hvctl_expect(h, 2, ARGS("virtio", "check", p[0], "--zone", p[1], "--zone", p[1]), NULL,
			"are both zone 1", NULL);
	for (int i = 0; i < 4; i++)
		free(p[i]);

	assert_true(asprintf(&p[0], "%s/qemu-aarch64/virtio_cfg.json", ex) > 0);
	assert_true(asprintf(&p[1], "%s/qemu-aarch64/zone1-linux.json", ex) > 0);
	ih_hvctl_expect(h, 0, ARGS("virtio", "check", "--no-images", p[0], "--zone", p[1]),
			"against ", NULL, NULL);
	for (int i = 0; i < 2; i++)
		free(p[i]);
	free(up);
	free(ex);
}

/* ---- the zone_config ------------------------------------------------------ */

/* A copy of the config rel (in the source tree), edited, as h's dir/name. */
static char *copy_as(struct ih *h, const char *rel, const char *name,
		     json_object *(*edit)(json_object *))
{
	char *src = src_path(rel), *dst = ih_path(h, name);
	json_object *o = ih_json_load(src);

	if (edit)
		o = edit(o);
	ih_json_save(o, dst);
	json_object_put(o);
	free(src);
	return dst;
}

static char *copy_config(struct ih *h, const char *rel, json_object *(*edit)(json_object *))
{
	return copy_as(h, rel, "zone1.json", edit);
}

/* conf/examples/sim/zone1.json (aarch64, GICv3) with its images in h's dir */
static char *make_zone(struct ih *h, size_t kernel, json_object *(*edit)(json_object *))
{
	free(ih_make_image(h, "zone1-kernel.bin", kernel));
	free(ih_make_image(h, "zone1.dtb", 100));
	return copy_config(h, "conf/examples/sim/zone1.json", edit);
}

/* What proto's encoder makes of the file with these image sizes. */
static size_t expected_bytes(const char *file, unsigned magic, uint8_t *buf, size_t size)
{
	struct hv_zone_config *cfg = NULL;
	struct hv_error err;
	size_t len;
	char *text = ih_read_file(file, &len);
	int r;

	assert_int_equal(hv_zone_config_parse_string(text, len, HV_ARCH_AARCH64, &cfg, &err), 0);
	for (size_t i = 0; i < cfg->n_images; i++)
		cfg->images[i].size = cfg->images[i].kind == HV_IMAGE_KERNEL ? 5000 : 100;
	r = hv_zone_config_encode(cfg, magic, buf, size, &err);
	assert_true(r > 0);
	hv_zone_config_free(cfg);
	free(text);
	return (size_t)r;
}

static size_t unhex(const char *s, uint8_t *buf, size_t size)
{
	size_t n = strlen(s) / 2;

	assert_true(n <= size);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		buf[i] = (uint8_t)v;
	}
	return n;
}

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* Every field the check shows is what the bytes hold at its offset. */
static void assert_fields_match(json_object *fields, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < json_object_array_length(fields); i++) {
		json_object *f = json_object_array_get_idx(fields, i), *v;
		size_t off = (size_t)ih_jint(f, "offset"), size = (size_t)ih_jint(f, "size");
		unsigned bits = 0;

		assert_true(off + size <= n);
		assert_true(json_object_object_get_ex(f, "value", &v));
		if (json_object_is_type(v, json_type_string)) {
			assert_int_equal(strnlen((const char *)b + off, size),
					 strlen(ih_jstr(f, "value")));
			assert_memory_equal(b + off, ih_jstr(f, "value"),
					    strlen(ih_jstr(f, "value")));
		} else if (json_object_is_type(v, json_type_array)) {
			for (size_t k = 0; k < size * 8; k++)
				bits += (b[off + k / 8] >> (k % 8)) & 1;
			assert_int_equal(bits, json_object_array_length(v));
			for (size_t k = 0; k < json_object_array_length(v); k++) {
				int irq = json_object_get_int(json_object_array_get_idx(v, k));

				assert_true(b[off + irq / 8] & (1u << (irq % 8)));
			}
		} else if (le(b + off, size) != json_object_get_uint64(v)) {
			fail_msg("%s at 0x%zx: 0x%llx in the bytes, %s shown", ih_jstr(f, "field"),
				 off, (unsigned long long)le(b + off, size),
				 json_object_get_string(v));
		}
	}
}

static json_object *field(json_object *fields, const char *name)
{
	for (size_t i = 0; i < json_object_array_length(fields); i++) {
		json_object *f = json_object_array_get_idx(fields, i);

		if (strcmp(ih_jstr(f, "field"), name) == 0)
			return f;
	}
	fail_msg("no field %s", name);
	return NULL;
}

/* The places of a few fields, from the reference (hvisor-abi.md §2.8). */
static void assert_offsets(json_object *fields, unsigned magic)
{
	const size_t pci = magic == 5 ? 2360 + 88 : 2360 + 120;

	assert_int_equal(ih_jint(field(fields, "zone_id"), "offset"), 0);
	assert_int_equal(ih_jint(field(fields, "memory_regions[1].physical_start"), "offset"),
			 24 + 32 + 8);
	assert_int_equal(ih_jint(field(fields, "interrupts_bitmap"), "offset"), 2072);
	assert_int_equal(ih_jint(field(fields, "kernel_size"), "offset"), 2304);
	assert_int_equal(ih_jint(field(fields, "name"), "offset"), 2328);
	assert_int_equal(ih_jint(field(fields, "arch_config.gic_version"), "offset"), 2360 + 8);
	assert_int_equal(ih_jint(field(fields, "arch_config.gicr_base"), "offset"), 2360 + 32);
	assert_int_equal(ih_jint(field(fields, "num_pci_bus"), "offset"), pci);
	assert_int_equal(ih_jint(field(fields, "num_pci_devs"), "offset"), pci + 8 + 4 * 104);
	/* the images' page-rounded sizes */
	assert_int_equal(ih_jint(field(fields, "kernel_size"), "value"), 0x2000);
	assert_int_equal(ih_jint(field(fields, "dtb_size"), "value"), 0x1000);
}

static void test_layout(void **state)
{
	struct ih *h = *state;
	char *file = make_zone(h, 5000, NULL);
	static const char *const magics[] = {"5", "0x06"};

	for (int m = 0; m < 2; m++) {
		uint8_t want[HV_ZONE_CONFIG_MAX_SIZE], got[HV_ZONE_CONFIG_MAX_SIZE];
		size_t n = expected_bytes(file, m ? 6 : 5, want, sizeof(want));
		json_object *j = check_json(
				    h, 0,
				    ARGS("zone", "check", "--magic", magics[m], file, "--json"),
				    NULL),
			    *fields;
		struct ih_out o;

		assert_string_equal(ih_jstr(j, "arch"), "aarch64");
		assert_string_equal(ih_jstr(j, "arch_source"), "arch_config has gic_version");
		assert_int_equal(ih_jint(j, "magic"), m ? 6 : 5);
		assert_int_equal(ih_jint(j, "size"), n);
		assert_int_equal(unhex(ih_jstr(j, "bytes"), got, sizeof(got)), n);
		assert_memory_equal(got, want, n);
		assert_true(json_object_object_get_ex(j, "fields", &fields));
		assert_fields_match(fields, got, n);
		assert_offsets(fields, m ? 6 : 5);
		/* the table for people has the same fields */
		ih_hvctl_expect(h, 0, ARGS("zone", "check", "--magic", magics[m], file), NULL, NULL,
				&o);
		for (size_t i = 0; i < json_object_array_length(fields); i++)
			if (!strstr(o.out, ih_jstr(json_object_array_get_idx(fields, i), "field")))
				fail_msg("%s not in the table:\n%s",
					 ih_jstr(json_object_array_get_idx(fields, i), "field"),
					 o.out);
		assert_non_null(strstr(o.out, "kernel_filepath  0x50400000  0x1388  0x50401388"));
		ih_out_free(&o);
		json_object_put(j);
	}
	free(file);
}

/* --hexdump, read back ("*": the line before repeats up to the next
 * offset) gives the bytes --json shows. */
static void test_hexdump(void **state)
{
	struct ih *h = *state;
	char *file = make_zone(h, 5000, NULL), *line, *save = NULL;
	uint8_t want[HV_ZONE_CONFIG_MAX_SIZE], got[HV_ZONE_CONFIG_MAX_SIZE], last[16] = {0};
	size_t n = expected_bytes(file, 6, want, sizeof(want)), at = 0, end = 0;
	bool star = false;
	struct ih_out o;

	ih_hvctl_expect(h, 0, ARGS("zone", "check", "--hexdump", file), NULL, NULL, &o);
	line = strstr(o.out, "\n00000000 ");
	assert_non_null(line);
	for (line = strtok_r(line + 1, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long off;
		unsigned v[16];
		int k;

		if (strcmp(line, "*") == 0) {
			star = true;
			continue;
		}
		assert_int_equal(sscanf(line, "%lx", &off), 1);
		for (; star && at < off; at += 16)
			memcpy(got + at, last, 16);
		star = false;
		assert_int_equal(at, off);
		k = sscanf(line + 8, " %x %x %x %x %x %x %x %x  %x %x %x %x %x %x %x %x", &v[0],
			   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10],
			   &v[11], &v[12], &v[13], &v[14], &v[15]);
		if (k <= 0) {
			end = off; /* the last line: the size */
			break;
		}
		assert_int_equal(k, 16); /* every layout is a multiple of 16 bytes */
		for (int i = 0; i < 16; i++)
			last[i] = got[at + (size_t)i] = (uint8_t)v[i];
		at += 16;
	}
	assert_int_equal(end, n);
	assert_memory_equal(got, want, n);
	ih_out_free(&o);
	free(file);
}

static json_object *drop_arch(json_object *o)
{
	json_object_object_del(o, "arch_config");
	json_object_object_del(o, "arch");
	return o;
}

static json_object *add_uefi(json_object *o)
{
	ih_json_set(o, "arch_config.memory_map_addr", json_object_new_string("0x5f000000"));
	ih_json_set(o, "arch_config.memory_map_size", json_object_new_string("0x1000"));
	ih_json_set(o, "arch_config.sys_map_addr", json_object_new_string("0x5f001000"));
	return o;
}

static json_object *multiboot(json_object *o)
{
	json_object_object_add(o, "boot_protocol", json_object_new_string("multiboot2"));
	return o;
}

static void test_arch(void **state)
{
	struct ih *h = *state;
	char *file = make_zone(h, 4096, NULL);
	json_object *j;

	/* another arch than the config's: refused naming both */
	ih_hvctl_expect(h, 1, ARGS("zone", "check", "--arch", "x86_64", file), NULL,
			"zone1.json: arch_config: this config looks like aarch64 (arch_config has "
			"gic_version) but the backend is x86_64",
			NULL);
	free(file);
	/* a config that does not tell: --arch, else this machine's */
	file = make_zone(h, 4096, drop_arch);
	j = check_json(h, 0, ARGS("zone", "check", "--json", "--arch", "loongarch", file), NULL);
	assert_string_equal(ih_jstr(j, "arch"), "loongarch64");
	assert_string_equal(ih_jstr(j, "arch_source"), "--arch");
	assert_int_equal(ih_jint(j, "size"), 3184);
	json_object_put(j);
	if (hv_arch_native() == HV_ARCH_LOONGARCH64)
		ih_hvctl_expect(h, 0, ARGS("zone", "check", file),
				"(this machine's; the config does not tell)", NULL, NULL);
	else
		ih_hvctl_expect(h, 1, ARGS("zone", "check", file), NULL, ": arch_config: missing",
				NULL);
	free(file);
	/* parsed, but hvisord cannot start it: refused as zone start would */
	file = copy_config(h, "conf/examples/qemu-x86_64/zone1-linux.json", multiboot);
	ih_hvctl_expect(h, 1, ARGS("zone", "check", "--no-images", file), NULL,
			"boot_protocol: multiboot2 zones are not supported yet", NULL);
	free(file);
}

static void test_magic(void **state)
{
	struct ih *h = *state;
	char *file = make_zone(h, 4096, add_uefi);
	json_object *j, *fields;

	ih_hvctl_expect(h, 1, ARGS("zone", "check", "--magic", "0x05", file), NULL,
			"zone1.json: arch_config.memory_map_addr: UEFI boot information needs a "
			"hypervisor with config magic 0x06, this one speaks 0x05",
			NULL);
	j = check_json(h, 1, ARGS("--json", "zone", "check", "--magic", "5", file), NULL);
	assert_false(json_object_get_boolean(json_object_object_get(j, "valid")));
	assert_string_equal(ih_jstr(j, "path"), "arch_config.memory_map_addr");
	json_object_put(j);
	j = check_json(h, 0, ARGS("--json", "zone", "check", file), NULL);
	assert_int_equal(ih_jint(j, "magic"), 6);
	assert_true(json_object_object_get_ex(j, "fields", &fields));
	assert_int_equal(ih_jint(field(fields, "arch_config.uefi"), "value"), 0); /* present */
	assert_int_equal(ih_jint(field(fields, "arch_config.memory_map_addr"), "value"),
			 0x5f000000);
	json_object_put(j);
	free(file);
}

static void test_usage(void **state)
{
	struct ih *h = *state;
	char *file = make_zone(h, 4096, NULL);

	ih_hvctl_expect(h, 2, ARGS("zone", "check"), NULL, "zone check: missing FILE", NULL);
	ih_hvctl_expect(h, 2, ARGS("zone", "check", file, file), NULL, "one FILE only", NULL);
	ih_hvctl_expect(h, 2, ARGS("zone", "check", "--arch", "sparc", file), NULL,
			"unknown arch 'sparc'", NULL);
	ih_hvctl_expect(h, 2, ARGS("zone", "check", "--magic", "7", file), NULL,
			"unknown config magic '7' (5 or 6)", NULL);
	ih_hvctl_expect(h, 2, ARGS("zone", "check", file, "--frob"), NULL,
			"zone check: unknown option '--frob'", NULL);
	ih_hvctl_expect(h, 2, ARGS("zone", "check", file, "--zone", file), NULL,
			"unknown option '--zone'", NULL);
	ih_hvctl_expect(h, 2, ARGS("virtio", "check", file, "--magic", "6"), NULL,
			"virtio check: unknown option '--magic'", NULL);
	ih_hvctl_expect(h, 2, ARGS("zone", "check", file, "--arch"), NULL,
			"missing the value of '--arch'", NULL);
	ih_hvctl_expect(h, 0, ARGS("zone", "check", "--help"),
			"Usage: hvctl [--socket PATH] zone check FILE", NULL, NULL);
	ih_hvctl_expect(h, 0, ARGS("virtio", "check", "-h"), "--zone ZONE.json", NULL, NULL);
	ih_hvctl_expect(h, 0, ARGS("help", "zone"), "zone check FILE", NULL, NULL);
	ih_hvctl_expect(h, 0, ARGS("help", "virtio"), "virtio check FILE", NULL, NULL);
	/* a file that is not there is a failed check, not a usage error */
	ih_hvctl_expect(h, 1, ARGS("zone", "check", "/nonexistent/zone.json"), NULL,
			"cannot open config '/nonexistent/zone.json'", NULL);
	free(file);
}

static json_object *kernel_outside_ram(json_object *o)
{
	ih_json_set(o, "kernel_load_paddr", json_object_new_string("0x90000000"));
	return o;
}

static void test_images(void **state)
{
	struct ih *h = *state;
	char *file = make_zone(h, 4096, NULL), *kernel = ih_path(h, "zone1-kernel.bin");
	json_object *j, *img, *fields;

	/* as zone start would open them: a missing one fails the check... */
	assert_int_equal(unlink(kernel), 0);
	j = check_json(h, 1, ARGS("--json", "zone", "check", file),
		       "zone1.json: cannot open kernel_filepath 'zone1-kernel.bin' (");
	assert_string_equal(ih_jstr(j, "path"), "kernel_filepath");
	json_object_put(j);
	/* ...unless --no-images: sizes unknown, addresses still checked */
	j = check_json(h, 0, ARGS("--json", "zone", "check", "--no-images", file), NULL);
	assert_false(json_object_get_boolean(json_object_object_get(j, "images_checked")));
	img = json_object_array_get_idx(json_object_object_get(j, "images"), 0);
	assert_string_equal(ih_jstr(img, "key"), "kernel_filepath");
	assert_false(json_object_object_get_ex(img, "size", NULL));
	assert_true(json_object_object_get_ex(j, "fields", &fields));
	assert_int_equal(ih_jint(field(fields, "kernel_size"), "value"), 0);
	json_object_put(j);
	/* a FIFO is refused without waiting for a writer */
	assert_int_equal(mkfifo(kernel, 0600), 0);
	ih_hvctl_expect(h, 1, ARGS("zone", "check", file), NULL,
			"kernel_filepath 'zone1-kernel.bin' (", NULL);
	ih_hvctl_expect(h, 1, ARGS("zone", "check", file), NULL, "is a FIFO", NULL);
	assert_int_equal(unlink(kernel), 0);
	/* too large for the RAM region it is loaded into (sparse) */
	free(make_zone(h, 4096, NULL));
	assert_int_equal(truncate(kernel, 0xfc00001), 0);
	ih_hvctl_expect(h, 1, ARGS("zone", "check", file), NULL,
			"kernel_filepath: 0xfc00001 bytes at 0x50400000 do not fit in a RAM region",
			NULL);
	free(file);
	file = make_zone(h, 4096, kernel_outside_ram);
	ih_hvctl_expect(h, 1, ARGS("zone", "check", "--no-images", file), NULL,
			"kernel_filepath: 0x1 bytes at 0x90000000 do not fit in a RAM region",
			NULL);
	free(file);
	free(kernel);
}

/* Relative names: relative to the config's directory, not the cwd. */
static void test_relative(void **state)
{
	struct ih *h = *state;
	char *file = make_zone(h, 4096, NULL), *sub = ih_path(h, "sub"), *to;
	const char *names[] = {"zone1.json", "zone1-kernel.bin", "zone1.dtb"};
	struct ih_exec x = {.cwd = h->dir};
	struct ih_out o;
	json_object *j, *img;

	assert_int_equal(mkdir(sub, 0755), 0);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char *from = ih_path(h, names[i]);

		assert_true(asprintf(&to, "%s/%s", sub, names[i]) > 0);
		assert_int_equal(rename(from, to), 0);
		free(from);
		free(to);
	}
	assert_int_equal(ih_run(NULL, &x, &o,
				ARGS(ih_bin_hvctl(), "--json", "zone", "check", "sub/zone1.json")),
			 0);
	j = json_tokener_parse(o.out);
	assert_non_null(j);
	img = json_object_array_get_idx(json_object_object_get(j, "images"), 0);
	assert_string_equal(ih_jstr(img, "path"), "zone1-kernel.bin");
	assert_string_equal(ih_jstr(img, "file"), "sub/zone1-kernel.bin");
	assert_int_equal(ih_jint(img, "size"), 4096);
	json_object_put(j);
	ih_out_free(&o);
	free(sub);
	free(file);
}

/* ---- virtio check ---------------------------------------------------------- */

static char *copy_virtio(struct ih *h, json_object *(*edit)(json_object *))
{
	return copy_as(h, "conf/examples/sim/virtio_cfg.json", "virtio.json", edit);
}

static json_object *irq_99(json_object *o)
{
	ih_json_set(o, "zones[0].devices[0].irq", json_object_new_int(99));
	return o;
}

/* a disabled gpu first (left out of the model) and a blk outside the
 * zone's virtio region second: the error names devices[1] */
static json_object *gpu_first(json_object *o)
{
	json_object *devs = json_object_new_array(), *gpu = json_object_new_object();

	json_object_object_add(gpu, "type", json_object_new_string("gpu"));
	json_object_object_add(gpu, "status", json_object_new_string("disable"));
	json_object_array_add(devs, gpu);
	json_object_array_add(devs, json_object_get(ih_json_get(o, "zones[0].devices[0]")));
	ih_json_set(o, "zones[0].devices", devs);
	ih_json_set(o, "zones[0].devices[1].addr", json_object_new_string("0xb000000"));
	return o;
}

static void test_virtio(void **state)
{
	struct ih *h = *state;
	char *zone = make_zone(h, 4096, NULL), *cfg = copy_virtio(h, NULL), *disk;
	json_object *j, *z0, *d0;
	struct ih_out o;

	disk = ih_make_image(h, "zone1-disk.img", 1 << 20);
	ih_hvctl_expect(h, 0, ARGS("virtio", "check", cfg, "--zone", zone), NULL, NULL, &o);
	assert_non_null(strstr(o.out, "zone1.json (aarch64): virtio regions, interrupts"));
	assert_non_null(strstr(o.out, "not against a zone config")); /* zone 2 */
	assert_non_null(strstr(o.out, "/zone1-disk.img (read-write)"));
	assert_non_null(strstr(o.out, "disabled (skipped)"));
	ih_out_free(&o);
	j = check_json(h, 0, ARGS("--json", "virtio", "check", cfg, "--zone", zone), NULL);
	z0 = json_object_array_get_idx(json_object_object_get(j, "zones"), 0);
	d0 = json_object_array_get_idx(json_object_object_get(z0, "devices"), 0);
	assert_string_equal(ih_jstr(d0, "path"), "zones[0].devices[0]");
	assert_string_equal(ih_jstr(d0, "file"), disk);
	/* the device as Virtio.Add would carry it */
	assert_string_equal(json_object_get_string(ih_json_get(d0, "device.type")), "blk");
	assert_int_equal(ih_json_u64(d0, "device.addr"), 0xa003c00);
	assert_int_equal(ih_json_u64(d0, "device.irq"), 78);
	assert_null(json_object_object_get(
		json_object_array_get_idx(json_object_object_get(j, "zones"), 1), "zone_config"));
	json_object_put(j);

	/* the disk image as virtio start opens it (read-write here) */
	assert_int_equal(unlink(disk), 0);
	j = check_json(h, 1, ARGS("--json", "virtio", "check", cfg),
		       "virtio.json: zones[0].devices[0]: cannot open image 'zone1-disk.img' (");
	assert_string_equal(ih_jstr(j, "path"), "zones[0].devices[0]");
	json_object_put(j);
	ih_hvctl_expect(h, 0, ARGS("virtio", "check", "--no-images", cfg), "not opened", NULL,
			NULL);

	free(cfg);
	cfg = copy_virtio(h, irq_99);
	ih_hvctl_expect(
		h, 1, ARGS("virtio", "check", "--no-images", cfg, "--zone", zone), NULL,
		"virtio.json: zones[0].devices[0].irq: IRQ 99 is not in zone 1's interrupts", NULL);
	free(cfg);
	cfg = copy_virtio(h, gpu_first);
	ih_hvctl_expect(h, 1, ARGS("virtio", "check", "--no-images", cfg, "--zone", zone), NULL,
			"virtio.json: zones[0].devices[1].addr: 0xb000000+0x200 is not inside a "
			"virtio memory region of zone 1",
			NULL);
	free(cfg);
	free(disk);
	free(zone);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_corpus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pairs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hexdump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_magic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_images, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio, setup, teardown),
	};

	ih_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
