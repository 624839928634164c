// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every zone and virtio config that upstream hvisor-tool and hvisor ship
 * (tests/upstream-configs/, see its README), through hvisor-sim + hvisord +
 * hvctl: each case starts a sim of the config's architecture, starts its
 * zones (dummy images of the names the configs give, loaded where they
 * say), lists and inspects them, hands the matching virtio config to `hvctl
 * virtio start` (dummy disks, taps in a network namespace of our own), lets
 * a guest driver use every blk and console device, and shuts the zones
 * down. The configs upstream itself cannot run, and gpu/scmi devices, must
 * be refused with their reason, before any side effect.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
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

#define CORPUS	    "tests/upstream-configs"
#define T(p)	    "hvisor-tool/examples/" p
#define P(p)	    "hvisor/platform/" p
#define IMAGE_SIZE  4096	  /* every kernel, dtb, module, boot/setup file */
#define DISK_SIZE   (1024 * 1024) /* every blk image */
#define HEAP_SIZE   (8ull << 20)  /* guest driver memory, at the end of the largest RAM region */
#define MAX_ZONES   3
#define MAX_DEVICES 16

enum expect {
	EXPECT_OK,
	EXPECT_ZONE_REFUSED,   /* hvctl zone start of the last zone exits 1 with the needles */
	EXPECT_VIRTIO_REFUSED, /* hvctl virtio start exits 1 with the needles */
};

struct ucase {
	const char *zones[MAX_ZONES]; /* started in this order */
	const char *virtio;	      /* NULL: none fits these zones */
	const char *root_cpus;	      /* hvisor-sim --root-cpus, NULL: the default */
	enum expect expect;
	const char *needles[3]; /* on hvctl's stderr when refused */
	const char *type;	/* gpu/scmi: sent to hvisord as Virtio.Add too */
};

#define ZONES(...) .zones = {__VA_ARGS__}
#define NOT_SUPPORTED(t)                            \
	.expect = EXPECT_VIRTIO_REFUSED, .type = t, \
	.needles = {"device type '" t "' is not supported (blk, net and console are)"}

#define LS(b, f) P("loongarch64/" b "/configs/" f)
#define LOONGARCH_ALONE(b, z)                                                         \
	{                                                                             \
		ZONES(LS(b, "zone" z "-linux.json")), .virtio = LS(b, "virtio.json"), \
						      .root_cpus = "0"                \
	}
#define LOONGARCH(b)                                                                        \
	LOONGARCH_ALONE(b, "1"), LOONGARCH_ALONE(b, "2"), LOONGARCH_ALONE(b, "3"),          \
	{                                                                                   \
		ZONES(LS(b, "zone1-linux.json"), LS(b, "zone2-linux.json")),                \
			.root_cpus = "0", .expect = EXPECT_ZONE_REFUSED,                    \
			.needles =                                                          \
		{ "org.hvisor.Zone.MemoryOverlap",                                          \
		  "memory_regions[10] (0x1000+0x10000) overlaps RAM of zone 1 (linux1) at " \
		  "0x1000+0x10000" }                                                        \
	}

static const struct ucase cases[] = {
	{ZONES(T("ecx-2300f-peg-x86_64/zone1_linux.json")),
	 .virtio = T("ecx-2300f-peg-x86_64/virtio_cfg.json")},
	{ZONES(T("jeston/SCMI/GPU/zone1_gpu.json")), .virtio = T("jeston/SCMI/virtio_cfg.json"),
	 NOT_SUPPORTED("scmi")},
	{ZONES(T("jeston/SCMI/MMC/zone1_mmc.json")), .virtio = T("jeston/SCMI/virtio_cfg.json"),
	 NOT_SUPPORTED("scmi")},
	{ZONES(T("jeston/SCMI/RTC/zone1_rtc.json")), .virtio = T("jeston/SCMI/virtio_cfg.json"),
	 NOT_SUPPORTED("scmi")},
	{ZONES(T("jeston/VirtIO/zone1_linux.json")), .virtio = T("jeston/VirtIO/virtio_cfg.json")},
	{ZONES(T("nuc14mnk-x86_64/zone1_linux.json")),
	 .virtio = T("nuc14mnk-x86_64/virtio_cfg.json")},
	{ZONES(T("nxp-aarch64/gpu_on_root/linux2.json")),
	 .virtio = T("nxp-aarch64/gpu_on_root/con_virtio.json")},
	{ZONES(T("nxp-aarch64/gpu_on_root/linux2.json")),
	 .virtio = T("nxp-aarch64/gpu_on_root/con_virtio_rux.json")},
	{ZONES(T("nxp-aarch64/zone1_linux.json")), .virtio = T("nxp-aarch64/virtio_cfg.json")},
	/* its only virtio region is the console's; no virtio config has just that */
	{ZONES(T("nxp-aarch64/zone1-ruxos.json"))},
	{ZONES(T("qemu-aarch64/with_virtio_blk_console/zone1_linux.json")),
	 .virtio = T("qemu-aarch64/with_virtio_blk_console/virtio_cfg.json")},
	{ZONES(T("qemu-aarch64/with_virtio_blk_console/zone1_linux_with_pci.json")),
	 .virtio = T("qemu-aarch64/with_virtio_blk_console/virtio_cfg.json")},
	{ZONES(T("qemu-aarch64/with_virtio_blk_console/zone1-ruxos.json")),
	 .virtio = T("qemu-aarch64/with_virtio_blk_console/virtio_cfg_ruxos.json")},
	{ZONES(T("qemu-aarch64/with_virtio_gpu/zone1_ruxos_display.json")),
	 .virtio = T("qemu-aarch64/with_virtio_gpu/virtio_cfg_ruxos.json"), NOT_SUPPORTED("gpu")},
	{ZONES(T("qemu-riscv64/linux2.json"))},
	{ZONES(T("qemu-riscv64/linux2-aia.json"))},
	{ZONES(T("qemu-x86_64/zone1_linux.json")), .virtio = T("qemu-x86_64/virtio_cfg.json")},
	{ZONES(T("rk3588-aarch64/with_virtio_scmi/zone1-linux-npu.json"),
	       T("rk3588-aarch64/with_virtio_scmi/zone2-linux-gpu-hdmi.json")),
	 .virtio = T("rk3588-aarch64/with_virtio_scmi/zones-npu-gpu-virtio.json"),
	 NOT_SUPPORTED("scmi")},
	{ZONES(T("zcu102/zone1_linux.json")), .virtio = T("zcu102/virtio_cfg.json")},

	/* broken upstream: no gic_version (upstream's tool refuses it too) */
	{ZONES(P("aarch64/imx8mp/configs/zone1-linux.json")), .expect = EXPECT_ZONE_REFUSED,
	 .needles = {"org.hvisor.InvalidParameter", "config.arch_config.gic_version: missing"}},
	{ZONES(P("aarch64/imx8mp/configs/zone1-ruxos.json"))},
	{ZONES(P("aarch64/ok6254-c/configs/zone1-linux.json")),
	 .virtio = P("aarch64/ok6254-c/configs/zone1-linux-virtio.json")},
	{ZONES(P("aarch64/phytium-pi/configs/zone1-linux.json")),
	 .virtio = P("aarch64/phytium-pi/configs/zone1-linux-virtio.json")},
	{ZONES(P("aarch64/qemu-gicv2/configs/zone1-linux.json")),
	 .virtio = P("aarch64/qemu-gicv2/configs/zone1-linux-virtio.json")},
	{ZONES(P("aarch64/qemu-gicv3/configs/zone1-linux.json")),
	 .virtio = P("aarch64/qemu-gicv3/configs/zone1-linux-virtio.json")},
	{ZONES(P("aarch64/qemu-gicv3/configs/zone1-ruxos.json"))},
	{ZONES(P("aarch64/rk3568/configs/linux2.json")),
	 .virtio = P("aarch64/rk3568/configs/virtio.json")},
	{ZONES(P("aarch64/rk3588/configs/zone1-linux.json")),
	 .virtio = P("aarch64/rk3588/configs/zone1-linux-virtio.json")},
	/*
	 * Boards whose root zone keeps only CPU 0. Their zones share RAM (all
	 * three map host 0x1000 and 0xf0000, zone 1 maps zone 2's and 3's
	 * windows at 0x140800000 and 0x141000000): hvisor allows that, hvisord
	 * refuses RAM of a running zone. So each zone runs alone (the others'
	 * devices wait, pending), and two together are refused with the reason.
	 */
	LOONGARCH("ls3a5000"),
	LOONGARCH("ls3a6000"),
	{ZONES(P("riscv64/hifive-premier-p550/configs/zone1-linux.json")),
	 .virtio = P("riscv64/hifive-premier-p550/configs/zone1-linux-virtio.json"),
	 .root_cpus = "0"},
	/* broken upstream: the zone has no virtio region at all */
	{ZONES(P("riscv64/megrez/configs/zone1-linux.json")),
	 .virtio = P("riscv64/megrez/configs/zone1-linux-virtio.json"), .root_cpus = "0",
	 .expect = EXPECT_VIRTIO_REFUSED,
	 .needles =
		 {"org.hvisor.InvalidParameter",
		  "device.addr: 0x10006000+0x1000 is not inside a virtio memory region of zone 1"}},
	{ZONES(P("riscv64/qemu-aia/configs/zone1-linux.json")),
	 .virtio = P("riscv64/qemu-aia/configs/zone1-linux-virtio.json")},
	{ZONES(P("riscv64/qemu-plic/configs/zone1-linux-virtio.json")),
	 .virtio = P("riscv64/qemu-plic/configs/virtio-backend.json")},
	{ZONES(P("riscv64/qemu-plic/configs/zone1-linux-passthrough.json"))},
	{ZONES(P("riscv64/ur-dp1000/configs/zone1-linux.json")),
	 .virtio = P("riscv64/ur-dp1000/configs/zone1-linux-virtio.json")},
};

/* One device of a virtio config, read straight from its JSON. */
struct udev {
	uint32_t zone;
	char type[16];
	bool enabled;
	uint64_t addr, len;
	uint32_t irq;
	char img[PATH_MAX]; /* blk: the staged disk */
	char tap[16];	    /* net */
};

struct run {
	const struct ucase *c;
	struct ih *h;
	char *zone_cfg[MAX_ZONES]; /* staged copies */
	uint32_t zone_id[MAX_ZONES];
	unsigned n_zones, n_started;
	char *virtio_cfg;
	struct udev devs[MAX_DEVICES];
	unsigned n_devs;
	bool net_left_out;		     /* no network namespace: net devices disabled */
	unsigned n_driven, n_pending, n_net; /* devices a guest used, left pending, net up */
};

static bool have_net;

/* ---- the corpus ------------------------------------------------------------------ */

static char *corpus_path(const char *rel)
{
	char *p;

	assert_true(asprintf(&p, "%s/" CORPUS "/%s", ih_source_dir(), rel) > 0);
	return p;
}

static int64_t num(json_object *v)
{
	uint64_t x = 0;

	if (json_object_is_type(v, json_type_string)) {
		if (parse_u64(json_object_get_string(v), UINT64_MAX, &x) < 0)
			fail_msg("not a number: %s", json_object_get_string(v));
		return (int64_t)x;
	}
	return json_object_get_int64(v);
}

/* The architecture the case's configs are written for, as hvisord tells
 * it; under hvisor/platform/<arch>/ the directory must agree. */
static enum hv_arch case_arch(const struct ucase *c, unsigned *ret_ncpus)
{
	enum hv_arch arch = _HV_ARCH_MAX;
	unsigned ncpus = 4;

	for (unsigned i = 0; i < MAX_ZONES && c->zones[i]; i++) {
		char *src = corpus_path(c->zones[i]), want[64];
		json_object *j = ih_json_load(src), *cpus;
		struct hv_arch_evidence e;

		if (hv_zone_config_apparent_arch(j, &e) != 1)
			fail_msg("%s: cannot tell its architecture", c->zones[i]);
		if (i > 0 && e.arch != arch)
			fail_msg("%s: %s, the case's other zones are %s", c->zones[i],
				 hv_arch_to_string(e.arch), hv_arch_to_string(arch));
		arch = e.arch;
		snprintf(want, sizeof(want), "hvisor/platform/%s/", hv_arch_to_string(arch));
		if (strncmp(c->zones[i], "hvisor/", 7) == 0 &&
		    strncmp(c->zones[i], want, strlen(want)) != 0)
			fail_msg("%s looks like %s (%s)", c->zones[i], hv_arch_to_string(arch),
				 e.why);
		assert_true(json_object_object_get_ex(j, "cpus", &cpus));
		for (size_t k = 0; k < json_object_array_length(cpus); k++)
			ncpus = MAX(ncpus, (unsigned)num(json_object_array_get_idx(cpus, k)) + 1);
		json_object_put(j);
		free(src);
	}
	*ret_ncpus = ncpus;
	return arch;
}

/* Absolute file names (upstream's /tool/...) move under dir/root; relative
 * ones stay, resolved against the staged config's directory. Returns
 * whether anything changed. */
static bool rewrite_abs(json_object *o, const struct ih *h)
{
	bool changed = false;

	if (json_object_is_type(o, json_type_array))
		for (size_t i = 0; i < json_object_array_length(o); i++)
			changed |= rewrite_abs(json_object_array_get_idx(o, i), h);
	if (!json_object_is_type(o, json_type_object))
		return changed;
	json_object_object_foreach (o, key, val) {
		size_t n = strlen(key);
		bool file =
			strcmp(key, "img") == 0 || (n >= 8 && strcmp(key + n - 8, "filepath") == 0);

		if (file && json_object_is_type(val, json_type_string) &&
		    json_object_get_string(val)[0] == '/') {
			char *p;

			assert_true(asprintf(&p, "%s/root%s", h->dir, json_object_get_string(val)) >
				    0);
			json_object_object_add(o, key, json_object_new_string(p));
			free(p);
			changed = true;
		} else
			changed |= rewrite_abs(val, h);
	}
	return changed;
}

static void mkdir_parent(const char *path)
{
	char *d = strdup(path), *slash;

	assert_non_null(d);
	slash = strrchr(d, '/');
	assert_non_null(slash);
	*slash = '\0';
	assert_int_equal(mkdir_p(d, 0755), 0);
	free(d);
}

/* The config copied to dir/corpus/<rel>: byte for byte unless an absolute
 * file name had to move. Returns the copy's path. */
static char *stage(struct ih *h, const char *rel)
{
	char *src = corpus_path(rel), *dst, *text;
	json_object *j = ih_json_load(src);
	size_t len;

	assert_true(asprintf(&dst, "%s/corpus/%s", h->dir, rel) > 0);
	mkdir_parent(dst);
	if (rewrite_abs(j, h)) {
		ih_json_save(j, dst);
	} else {
		text = ih_read_file(src, &len);
		ih_write_file(dst, text, len, 0644);
		free(text);
	}
	json_object_put(j);
	free(src);
	return dst;
}

/* A file named by a config, relative to the config's directory. */
static char *resolve(const char *cfg, const char *name)
{
	char *p;
	int slash = (int)(strrchr(cfg, '/') - cfg);

	if (name[0] == '/')
		p = strdup(name);
	else
		assert_true(asprintf(&p, "%.*s/%s", slash, cfg, name) > 0);
	assert_non_null(p);
	return p;
}

static void make_file(const char *path, size_t size)
{
	char *buf = malloc(size);

	assert_non_null(buf);
	ih_fill(buf, size, path);
	mkdir_parent(path);
	ih_write_file(path, buf, size, 0644);
	free(buf);
}

static int make_image(const char *key, const char *name, void *cfg)
{
	char *p = resolve(cfg, name);

	(void)key;
	make_file(p, IMAGE_SIZE);
	free(p);
	return 0;
}

/* ---- zones ------------------------------------------------------------------------ */

static void stage_zones(struct run *r)
{
	for (unsigned i = 0; i < MAX_ZONES && r->c->zones[i]; i++) {
		json_object *j;
		struct hv_error err;

		r->zone_cfg[i] = stage(r->h, r->c->zones[i]);
		j = ih_json_load(r->zone_cfg[i]);
		/* the files hvctl will open, by the project's own list of them */
		assert_int_equal(hv_zone_config_foreach_file(j, make_image, r->zone_cfg[i], &err),
				 0);
		r->zone_id[i] = (uint32_t)num(json_object_object_get(j, "zone_id"));
		json_object_put(j);
		r->n_zones++;
	}
}

static int hvctl_v(const struct ih *h, struct ih_out *o, const char *const *args)
{
	const char *argv[16];
	size_t n = 0;

	argv[n++] = ih_bin_hvctl();
	for (size_t i = 0; args[i]; i++) {
		assert_true(n < ARRAY_SIZE(argv) - 1);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	return ih_run(h, NULL, o, argv);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void expect_needles(const struct ucase *c, const struct ih_out *o, int code)
{
	bool ok = code == 1;

	for (size_t i = 0; i < ARRAY_SIZE(c->needles) && c->needles[i] && ok; i++)
		ok = strstr(o->err, c->needles[i]) != NULL;
	if (!ok)
		fail_msg("expected exit 1 with '%s' on stderr, got exit %d:\n%s%s", c->needles[0],
			 code, o->out, o->err);
}

/* Zone.Info: what was started is what the config says, and every image is
 * in the sim's memory at its load address. */
static void check_zone_info(struct run *r, unsigned i, enum hv_arch arch)
{
	char id[16];
	struct ih_out o;
	json_object *j, *z, *imgs, *cpus, *want = ih_json_load(r->zone_cfg[i]);

	snprintf(id, sizeof(id), "%u", r->zone_id[i]);
	if (hvctl_v(r->h, &o, ARGS("--json", "zone", "info", id)) != 0)
		fail_msg("zone info %s: %s", id, o.err);
	j = json_tokener_parse(o.out);
	assert_non_null(j);
	ih_out_free(&o);
	assert_true(json_object_object_get_ex(j, "zone", &z));
	assert_string_equal(ih_jstr(z, "status"), "running");
	assert_string_equal(ih_jstr(z, "name"), ih_jstr(want, "name"));
	assert_string_equal(ih_jstr(z, "arch"), hv_arch_to_string(arch));
	assert_true(json_object_object_get_ex(z, "cpus", &cpus));
	assert_int_equal(json_object_array_length(cpus),
			 json_object_array_length(json_object_object_get(want, "cpus")));
	assert_true(json_object_object_get_ex(z, "images", &imgs));
	for (size_t k = 0; k < json_object_array_length(imgs); k++) {
		json_object *img = json_object_array_get_idx(imgs, k);
		char *file;

		if (!ih_jstr(img, "path")[0])
			continue; /* x86's inline command line */
		file = resolve(r->zone_cfg[i], ih_jstr(img, "path"));
		assert_int_equal(ih_jint(img, "size"), IMAGE_SIZE);
		ih_assert_phys_equals_file(r->h, (uint64_t)ih_jint(img, "load_paddr"), file);
		free(file);
	}
	json_object_put(want);
	json_object_put(j);
}

/* Starts the case's zones; false if the case ends there (a refusal). */
static bool start_zones(struct run *r, enum hv_arch arch)
{
	for (unsigned i = 0; i < r->n_zones; i++) {
		struct ih_out o;
		char *before = ih_list_json(r->h), *after;
		int code = hvctl_v(r->h, &o, ARGS("zone", "start", r->zone_cfg[i]));

		if (r->c->expect == EXPECT_ZONE_REFUSED && i == r->n_zones - 1) {
			expect_needles(r->c, &o, code);
			after = ih_list_json(r->h);
			assert_string_equal(after, before);
			free(after);
			free(before);
			ih_out_free(&o);
			return false;
		}
		if (code != 0 || !strstr(o.out, "started."))
			fail_msg("zone start %s: exit %d\n%s%s", r->c->zones[i], code, o.out,
				 o.err);
		ih_out_free(&o);
		free(before);
		r->n_started++;
		check_zone_info(r, i, arch);
	}
	return true;
}

static void shutdown_zones(struct run *r)
{
	for (unsigned i = r->n_started; i-- > 0;) {
		char id[16];
		struct ih_out o;

		snprintf(id, sizeof(id), "%u", r->zone_id[i]);
		if (hvctl_v(r->h, &o, ARGS("zone", "shutdown", id)) != 0)
			fail_msg("zone shutdown %s: %s", id, o.err);
		ih_out_free(&o);
	}
	assert_int_equal(ih_zone_ids(r->h, (uint32_t[4]){0}, 4), 1); /* the root zone */
}

/* ---- virtio ----------------------------------------------------------------------- */

static void read_devices(struct run *r, json_object *j)
{
	json_object *zones = json_object_object_get(j, "zones");

	for (size_t z = 0; z < json_object_array_length(zones); z++) {
		json_object *zo = json_object_array_get_idx(zones, z), *devs;
		uint32_t id = (uint32_t)num(json_object_object_get(zo, "id"));

		devs = json_object_object_get(zo, "devices");
		for (size_t k = 0; k < json_object_array_length(devs); k++) {
			json_object *d = json_object_array_get_idx(devs, k), *v;
			struct udev *u = &r->devs[r->n_devs++];

			assert_true(r->n_devs <= MAX_DEVICES);
			u->zone = id;
			snprintf(u->type, sizeof(u->type), "%s", ih_jstr(d, "type"));
			u->enabled = !json_object_object_get_ex(d, "status", &v) ||
				     strcmp(json_object_get_string(v), "disable") != 0;
			u->addr = (uint64_t)num(json_object_object_get(d, "addr"));
			u->len = (uint64_t)num(json_object_object_get(d, "len"));
			u->irq = (uint32_t)num(json_object_object_get(d, "irq"));
			if (json_object_object_get_ex(d, "img", &v))
				snprintf(u->img, sizeof(u->img), "%s", json_object_get_string(v));
			if (json_object_object_get_ex(d, "tap", &v))
				snprintf(u->tap, sizeof(u->tap), "%s", json_object_get_string(v));
			/* without taps the net devices of a case that would run
			 * them are left out (and the case reported as a skip) */
			if (strcmp(u->type, "net") == 0 && u->enabled && !have_net &&
			    r->c->expect == EXPECT_OK) {
				json_object_object_add(d, "status",
						       json_object_new_string("disable"));
				u->enabled = false;
				r->net_left_out = true;
			}
		}
	}
}

/* The virtio config staged with its disks (and taps) made. */
static void stage_virtio(struct run *r)
{
	json_object *j;

	r->virtio_cfg = stage(r->h, r->c->virtio);
	j = ih_json_load(r->virtio_cfg);
	read_devices(r, j);
	if (r->net_left_out)
		ih_json_save(j, r->virtio_cfg);
	json_object_put(j);
	for (unsigned i = 0; i < r->n_devs; i++) {
		struct udev *u = &r->devs[i];

		if (u->img[0]) {
			char *p = resolve(r->virtio_cfg, u->img);

			make_file(p, DISK_SIZE);
			snprintf(u->img, sizeof(u->img), "%s", p);
			free(p);
		}
		if (u->enabled && strcmp(u->type, "net") == 0 && have_net)
			ih_tap_create(u->tap);
	}
}

/* GPA:SIZE at the end of the zone's largest RAM region (the default, the
 * first region, is 896 KiB at 0 on upstream's x86 boards). */
static void guest_heap(const struct run *r, uint32_t zone, char *buf, size_t size)
{
	json_object *j = NULL, *regions, *best = NULL;

	for (unsigned i = 0; i < r->n_zones && !j; i++)
		if (r->zone_id[i] == zone)
			j = ih_json_load(r->zone_cfg[i]);
	assert_non_null(j);
	regions = json_object_object_get(j, "memory_regions");
	for (size_t k = 0; k < json_object_array_length(regions); k++) {
		json_object *m = json_object_array_get_idx(regions, k);

		if (strcmp(ih_jstr(m, "type"), "ram") == 0 &&
		    (!best || num(json_object_object_get(m, "size")) >
				      num(json_object_object_get(best, "size"))))
			best = m;
	}
	assert_non_null(best);
	{
		uint64_t start = (uint64_t)num(json_object_object_get(best, "virtual_start"));
		uint64_t len = (uint64_t)num(json_object_object_get(best, "size"));
		uint64_t heap = MIN(len, HEAP_SIZE);

		snprintf(buf, size, "0x%llx:%llu", (unsigned long long)(start + len - heap),
			 (unsigned long long)heap);
	}
	json_object_put(j);
}

/* The guest uses the device; it needs the device's interrupts to finish. */
static void drive(struct run *r, const struct udev *u)
{
	char heap[64];
	struct ih_out o;
	int code;

	guest_heap(r, u->zone, heap, sizeof(heap));
	if (strcmp(u->type, "blk") == 0)
		code = ih_guest(r->h, &o, u->zone, u->addr, u->irq, "--heap", heap, "blk-verify",
				"--count", "16", "--qd", "4", NULL);
	else if (strcmp(u->type, "console") == 0)
		code = ih_guest(r->h, &o, u->zone, u->addr, u->irq, "--heap", heap, "console-send",
				"--bytes", "64", NULL);
	else
		return; /* net: the link is checked; frames need a peer on the tap */
	r->n_driven++;
	if (code != 0)
		fail_msg("%s of zone %u at 0x%llx: exit %d\n%s%s", u->type, u->zone,
			 (unsigned long long)u->addr, code, o.out, o.err);
	ih_out_free(&o);
}

static bool zone_running(const struct run *r, uint32_t id)
{
	for (unsigned i = 0; i < r->n_started; i++)
		if (r->zone_id[i] == id)
			return true;
	return false;
}

static void check_devices(struct run *r)
{
	for (unsigned i = 0; i < r->n_devs; i++) {
		const struct udev *u = &r->devs[i];
		json_object *d = ih_virtio_device(r->h, u->zone, u->addr);

		if (!u->enabled) {
			assert_null(d);
			continue;
		}
		if (!d)
			fail_msg("no %s device of zone %u at 0x%llx", u->type, u->zone,
				 (unsigned long long)u->addr);
		assert_string_equal(ih_jstr(d, "type"), u->type);
		assert_int_equal(ih_jint(d, "irq"), u->irq);
		if (!zone_running(r, u->zone)) {
			/* served once its zone starts */
			assert_string_equal(ih_jstr(d, "state"), "pending");
			json_object_put(d);
			r->n_pending++;
			continue;
		}
		assert_string_equal(ih_jstr(d, "state"), "running");
		if (strcmp(u->type, "net") == 0) {
			assert_string_equal(ih_jstr(d, "link"), "up");
			r->n_net++;
		}
		json_object_put(d);
		drive(r, u);
	}
}

/* hvisord refuses the device by itself too, whoever sends it. */
static void add_raw_refused(const struct run *r, const struct udev *u)
{
	char params[256], want[128];
	json_object *reply;

	snprintf(params, sizeof(params),
		 "{\"zone_id\": %u, \"device\": {\"type\": \"%s\", \"addr\": %llu, \"len\": "
		 "%llu, \"irq\": %u}}",
		 u->zone, u->type, (unsigned long long)u->addr, (unsigned long long)u->len, u->irq);
	reply = ih_call_error(r->h, "org.hvisor.Virtio.Add", params, "org.hvisor.InvalidParameter",
			      true);
	snprintf(want, sizeof(want), "device type '%s' is not supported", u->type);
	if (!strstr(vl_reply_error_message(reply), want))
		fail_msg("Virtio.Add of a %s device: %s", u->type,
			 json_object_to_json_string(reply));
	json_object_put(reply);
}

static void start_virtio(struct run *r)
{
	struct ih_out o;
	int code = hvctl_v(r->h, &o, ARGS("virtio", "start", r->virtio_cfg));

	if (r->c->expect == EXPECT_VIRTIO_REFUSED) {
		json_object *l;

		expect_needles(r->c, &o, code);
		ih_out_free(&o);
		/* all or nothing: no device stayed, no backend runs */
		l = ih_virtio_list(r->h, 0);
		assert_int_equal(json_object_array_length(l), 0);
		json_object_put(l);
		assert_int_equal(ih_children_named(r->h->pid, IH_VIRTIOD_COMM, (pid_t[4]){0}, 4),
				 0);
		for (unsigned i = 0; i < r->n_devs; i++)
			if (r->c->type && strcmp(r->devs[i].type, r->c->type) == 0)
				add_raw_refused(r, &r->devs[i]);
		return;
	}
	if (code != 0)
		fail_msg("virtio start %s: exit %d\n%s%s", r->c->virtio, code, o.out, o.err);
	for (unsigned i = 0; i < r->n_devs; i++) {
		char line[128];
		bool listed;

		snprintf(line, sizeof(line), "Zone %u: %s device at 0x%llx (irq %u, ",
			 r->devs[i].zone, r->devs[i].type, (unsigned long long)r->devs[i].addr,
			 r->devs[i].irq);
		listed = strstr(o.out, line) != NULL;
		if (listed != r->devs[i].enabled)
			fail_msg("'%s' %s in:\n%s", line, listed ? "unexpected" : "missing", o.out);
	}
	ih_out_free(&o);
	for (unsigned i = 0; i < r->n_zones; i++)
		ih_wait_virtiod(r->h, r->zone_id[i], 0);
	check_devices(r);
}

/* ---- the cases -------------------------------------------------------------------- */

static void test_case(void **state)
{
	struct run r = {.c = *state};
	unsigned ncpus;
	enum hv_arch arch = case_arch(r.c, &ncpus);
	char cpus[16];
	const char *args[] = {"--arch",	     hv_arch_to_string(arch), "--cpus", cpus,
			      "--root-cpus", r.c->root_cpus,	      NULL};
	const struct ih_opts opts = {.sim_args = args};

	snprintf(cpus, sizeof(cpus), "%u", ncpus);
	if (!r.c->root_cpus)
		args[4] = NULL;
	r.h = ih_start(&opts);
	stage_zones(&r);
	if (start_zones(&r, arch) && r.c->virtio) {
		stage_virtio(&r);
		start_virtio(&r);
	}
	print_message("# %s: %u of %u zones started, %u devices used by a guest, %u net links up, "
		      "%u devices pending\n",
		      hv_arch_to_string(arch), r.n_started, r.n_zones, r.n_driven, r.n_net,
		      r.n_pending);
	shutdown_zones(&r);
	ih_stop(r.h);
	for (unsigned i = 0; i < r.n_devs; i++)
		if (r.devs[i].enabled && strcmp(r.devs[i].type, "net") == 0 && have_net)
			ih_tap_delete(r.devs[i].tap);
	for (unsigned i = 0; i < r.n_zones; i++)
		free(r.zone_cfg[i]);
	free(r.virtio_cfg);
	if (r.net_left_out)
		skip_because("net devices not run: no network namespace of our own");
}

static bool in_cases(const char *rel)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (cases[i].virtio && strcmp(cases[i].virtio, rel) == 0)
			return true;
		for (unsigned k = 0; k < MAX_ZONES && cases[i].zones[k]; k++)
			if (strcmp(cases[i].zones[k], rel) == 0)
				return true;
	}
	return false;
}

static size_t n_json;

static int count_json(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	const char *rel = strstr(path, CORPUS "/") + strlen(CORPUS "/");
	size_t len = strlen(path);

	(void)st;
	(void)ftw;
	if (type != FTW_F || len < 5 || strcmp(path + len - 5, ".json") != 0)
		return 0;
	n_json++;
	if (!in_cases(rel))
		fail_msg("%s is in the corpus but in no case of this test", rel);
	return 0;
}

/* A config added to the corpus must get a case; every case's file exists. */
static void test_every_config_has_a_case(void **state)
{
	char *dir = corpus_path("");

	assert_int_equal(nftw(dir, count_json, 8, FTW_PHYS), 0);
	assert_int_equal(n_json, 66); /* 32 from hvisor-tool, 34 from hvisor */
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		for (unsigned k = 0; k < MAX_ZONES && cases[i].zones[k]; k++) {
			char *p = corpus_path(cases[i].zones[k]);

			assert_int_equal(access(p, R_OK), 0);
			free(p);
		}
		if (cases[i].virtio) {
			char *p = corpus_path(cases[i].virtio);

			assert_int_equal(access(p, R_OK), 0);
			free(p);
		}
	}
	free(dir);
	(void)state;
}

static char *names[ARRAY_SIZE(cases)];

int main(int argc, char **argv)
{
	struct CMUnitTest tests[ARRAY_SIZE(cases) + 1] = {
		cmocka_unit_test(test_every_config_has_a_case),
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct ucase *c = &cases[i];
		char name[512];
		int n = snprintf(name, sizeof(name), "%s", c->zones[0]);

		/* the first file by its path, the others by their names */
		for (unsigned k = 1; k < MAX_ZONES && c->zones[k]; k++)
			n += snprintf(name + n, sizeof(name) - (size_t)n, " + %s",
				      strrchr(c->zones[k], '/') + 1);
		if (c->virtio)
			snprintf(name + n, sizeof(name) - (size_t)n, " + %s",
				 strrchr(c->virtio, '/') + 1);
		names[i] = strdup(name);
		assert_non_null(names[i]);
		tests[i + 1] = (struct CMUnitTest){names[i], test_case, ih_reap, NULL, (void *)c};
	}
	ih_init(argc, argv);
	have_net = ih_need_root_virtio();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
