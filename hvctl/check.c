// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvctl zone check | virtio check: a config checked offline, without
 * hvisord, by the same parsers and encoders zone start and virtio start go
 * through (proto/): what would be loaded where, the zone_config bytes hvisor
 * would get, the devices hvisord would be asked to add. The files a config
 * names are opened the way zone start and virtio start open them, unless
 * --no-images. Exit status: 0 valid, 1 not (the first error, with its JSON
 * path), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hvctl.h"
#include "json-util.h"
#include "util.h"
#include "virtio-config.h"

#define CHECK_MAX_ZONES 16 /* --zone files of one virtio check */

struct check_opts {
	const char *file;
	bool arch_set;
	enum hv_arch arch;
	unsigned magic;
	bool no_images;
	bool hexdump;
	const char *zones[CHECK_MAX_ZONES];
	size_t n_zones;
};

/* One file a zone config names, as zone start would open it. */
struct named_file {
	char key[64];
	char full[PATH_MAX]; /* resolved against the config's directory */
	uint64_t size;
};

struct zone_check {
	struct hvctl *h;
	const struct check_opts *o;
	const char *file;
	char dir[PATH_MAX];
	char arch_why[96];
	json_object *root;
	struct hv_zone_config *cfg;
	struct named_file files[HV_MAX_FDS_PER_MSG];
	size_t n_files;
	uint8_t bytes[HV_ZONE_CONFIG_MAX_SIZE];
	size_t size;
	bool failed; /* the error has been reported */
};

/* The first error: "hvctl: FILE: path: message" on stderr and, with --json,
 * {"file", "valid": false, "path", "message"} on stdout. */
static int report_error(struct hvctl *h, const char *file, const struct hv_error *err, bool printed)
{
	char msg[512];

	hv_error_format(err, msg, sizeof(msg));
	if (!printed)
		fprintf(stderr, "%s: %s: %s\n", h->prog, file, msg);
	if (h->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "file", json_object_new_string(file));
		json_object_object_add(o, "valid", json_object_new_boolean(false));
		json_object_object_add(o, "path", json_object_new_string(err->path));
		json_object_object_add(o, "message", json_object_new_string(msg));
		print_json(o);
		json_object_put(o);
	}
	return EXIT_FAILED;
}

/* The text of a config as JSON, with the limits zone start applies (the
 * config travels inside a call) or, for a virtio config, its own. */
static int read_json(struct hvctl *h, const char *file, int max_depth, json_object **ret)
{
	struct hv_error err;
	size_t len;
	char *text;
	int r = read_config_file(h, file, &text, &len);

	if (r != EXIT_OK) {
		hv_error_set(&err, "", "cannot read the config");
		return report_error(h, file, &err, true);
	}
	r = hv_zone_config_parse_json(text, len, max_depth, ret, &err);
	free(text);
	return r < 0 ? report_error(h, file, &err, false) : EXIT_OK;
}

/* zone check of a virtio config and the other way round: say which check. */
static bool wrong_kind(json_object *root, bool zone, struct hv_error *err)
{
	bool has_zones = json_object_object_get_ex(root, "zones", NULL);
	bool has_zone_id = json_object_object_get_ex(root, "zone_id", NULL);

	if (zone && has_zones && !has_zone_id)
		hv_error_set(
			err, "zones",
			"this is a virtio config, not a zone config: use 'hvctl virtio check'");
	else if (!zone && has_zone_id && !has_zones)
		hv_error_set(err, "zone_id",
			     "this is a zone config, not a virtio config: use 'hvctl zone check'");
	else
		return false;
	return true;
}

/* Reads and parses a zone config for --arch or the arch it looks written
 * for (else this machine's). */
static int zone_parse(struct zone_check *z)
{
	struct hv_arch_evidence ev;
	json_object *root = NULL;
	struct hv_error err;
	enum hv_arch arch;
	int r = read_json(z->h, z->file, VL_MAX_DEPTH - 2, &root);

	if (r != EXIT_OK)
		return r;
	if (wrong_kind(root, true, &err)) {
		json_object_put(root);
		return report_error(z->h, z->file, &err, false);
	}
	if (z->o->arch_set) {
		arch = z->o->arch;
		snprintf(z->arch_why, sizeof(z->arch_why), "--arch");
	} else if (hv_zone_config_apparent_arch(root, &ev) > 0) {
		arch = ev.arch;
		snprintf(z->arch_why, sizeof(z->arch_why), "%s", ev.why);
	} else {
		arch = hv_arch_native();
		snprintf(z->arch_why, sizeof(z->arch_why),
			 "this machine's; the config does not tell");
	}
	file_dir(z->file, z->dir, sizeof(z->dir));
	z->root = root;
	r = hv_zone_config_parse(root, arch, &z->cfg, &err);
	return r < 0 ? report_error(z->h, z->file, &err, false) : EXIT_OK;
}

/* Like zone start's open_one(): every file the config names, relative to
 * the config's directory, opened with the caller's permissions (unless
 * --no-images) and sized. */
static int visit_file(const char *key, const char *path, void *userdata)
{
	struct zone_check *z = userdata;
	struct named_file *f = &z->files[z->n_files];
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	if (z->n_files == ARRAY_SIZE(z->files)) {
		fprintf(stderr, "%s: the config names more than %zu files\n", z->h->prog,
			ARRAY_SIZE(z->files));
		z->failed = true;
		return -E2BIG;
	}
	snprintf(f->key, sizeof(f->key), "%s", key);
	if (resolve_path(z->dir, path, f->full, sizeof(f->full)) < 0) {
		fprintf(stderr, "%s: %s: path too long\n", z->h->prog, key);
		z->failed = true;
		return -ENAMETOOLONG;
	}
	z->n_files++;
	if (z->o->no_images)
		return 0;
	z->h->where = z->file;
	fd = open_named_file(z->h, key, path, f->full, O_RDONLY, true, &st);
	z->h->where = NULL;
	if (fd < 0) {
		z->failed = true;
		return fd;
	}
	r = fd_file_size(fd, &st, &f->size);
	if (r < 0) {
		fprintf(stderr, "%s: %s: %s '%s': cannot tell its size: %s\n", z->h->prog, z->file,
			key, path, strerror(-r));
		z->failed = true;
	}
	return r;
}

static const struct named_file *file_of(const struct zone_check *z, const char *key)
{
	for (size_t i = 0; i < z->n_files; i++)
		if (strcmp(z->files[i].key, key) == 0)
			return &z->files[i];
	return NULL;
}

/* Image placement needs sizes: with --no-images only the load addresses are
 * checked (as one-byte images), and the zone_config carries no sizes. */
static int zone_check_images(struct zone_check *z, struct hv_error *err)
{
	struct hv_zone_config *cfg = z->cfg;
	int r;

	for (size_t i = 0; i < cfg->n_images; i++) {
		const struct named_file *f = file_of(z, cfg->images[i].key);

		if (cfg->images[i].path)
			cfg->images[i].size = z->o->no_images ? 1 : f ? f->size : 0;
	}
	r = hv_zone_config_check_images(cfg, err);
	for (size_t i = 0; i < cfg->n_images && z->o->no_images; i++)
		if (cfg->images[i].path)
			cfg->images[i].size = 0;
	return r;
}

static void zone_check_done(struct zone_check *z)
{
	json_object_put(z->root);
	hv_zone_config_free(z->cfg);
}

static int zone_check(struct zone_check *z)
{
	struct hv_error err;
	int r = zone_parse(z);

	if (r != EXIT_OK)
		return r;
	r = hv_zone_config_check_supported(z->cfg, &err);
	if (r < 0)
		return report_error(z->h, z->file, &err, false);
	/* the files as zone start opens them: every file key, whatever the arch */
	r = hv_zone_config_foreach_file(z->root, visit_file, z, &err);
	if (r < 0) {
		if (!z->failed)
			return report_error(z->h, z->file, &err, false);
		hv_error_set(&err, z->n_files ? z->files[z->n_files - 1].key : "", "%s",
			     r == -EINVAL ? "not a regular file or a block device" : strerror(-r));
		return report_error(z->h, z->file, &err, true);
	}
	r = zone_check_images(z, &err);
	if (r >= 0)
		r = hv_zone_config_encode(z->cfg, z->o->magic, z->bytes, sizeof(z->bytes), &err);
	if (r < 0)
		return report_error(z->h, z->file, &err, false);
	z->size = (size_t)r;
	return EXIT_OK;
}

/* ---- the zone_config, field by field ----------------------------------- */

struct rows {
	const uint8_t *buf;
	struct table *t; /* for people */
	json_object *a;	 /* --json */
};

static uint64_t get_uint(const uint8_t *p, size_t size)
{
	uint8_t u8;
	uint32_t u32;
	uint64_t u64;

	switch (size) {
	case 1:
		memcpy(&u8, p, 1);
		return u8;
	case 4:
		memcpy(&u32, p, 4);
		return u32;
	default:
		memcpy(&u64, p, 8);
		return u64;
	}
}

/* text for people, value (owned) for --json; a NULL value: people only */
static void row(struct rows *r, size_t off, size_t size, const char *field, const char *text,
		json_object *value)
{
	char o[16], s[16];

	if (r->a) {
		json_object *e;

		if (!value)
			return;
		e = json_object_new_object();
		json_object_object_add(e, "offset", json_object_new_uint64(off));
		json_object_object_add(e, "size", json_object_new_uint64(size));
		json_object_object_add(e, "field", json_object_new_string(field));
		json_object_object_add(e, "value", value);
		json_object_array_add(r->a, e);
		return;
	}
	json_object_put(value);
	snprintf(o, sizeof(o), "0x%04zx", off);
	snprintf(s, sizeof(s), "%zu", size);
	table_add(r->t, o, s, field, text);
}

/* An integer field; addresses and sizes (64-bit, but for counts, ids and
 * tags) in hex. */
static void row_int(struct rows *r, size_t off, size_t size, const char *field, const char *note)
{
	uint64_t v = get_uint(r->buf + off, size);
	bool hex = size == 8 && strncmp(field, "num_", 4) != 0 && !strstr(field, "_id") &&
		   strcmp(field, "arch_config.gic_version") != 0 &&
		   strcmp(field, "arch_config.uefi") != 0;
	char text[512];

	snprintf(text, sizeof(text), hex ? "0x%llx%s%s" : "%llu%s%s", (unsigned long long)v,
		 note ? " " : "", note ? note : "");
	row(r, off, size, field, text, json_object_new_uint64(v));
}

#define FIELD(r, base, type, member, name, note) \
	row_int(r, (base) + offsetof(type, member), sizeof(((type *)0)->member), name, note)

/* "prefix[i].member" */
static const char *elem(char *buf, size_t size, const char *prefix, unsigned i, const char *member)
{
	snprintf(buf, size, "%s[%u].%s", prefix, i, member);
	return buf;
}

/* The entries of an array after the used ones: zeros, shown as one row. */
static void row_unused(struct rows *r, size_t off, size_t stride, const char *name, unsigned used,
		       unsigned max)
{
	char f[64];

	if (used >= max)
		return;
	snprintf(f, sizeof(f), used + 1 == max ? "%s[%u]" : "%s[%u..%u]", name, used, max - 1);
	row(r, off + used * stride, (max - used) * stride, f, "(unused: zeros)", NULL);
}

static void row_irqs(struct rows *r, size_t off)
{
	json_object *list = json_object_new_array();
	char text[512] = "none";
	size_t len = 0;

	for (unsigned i = 0; i < HV_CONFIG_MAX_INTERRUPTS; i++) {
		unsigned j = i;

		if (!(get_uint(r->buf + off + i / 32 * 4, 4) & (1u << (i % 32))))
			continue;
		while (j + 1 < HV_CONFIG_MAX_INTERRUPTS &&
		       get_uint(r->buf + off + (j + 1) / 32 * 4, 4) & (1u << ((j + 1) % 32)))
			j++;
		for (unsigned k = i; k <= j; k++)
			json_object_array_add(list, json_object_new_int((int)k));
		if (len < sizeof(text))
			len += (size_t)snprintf(text + len, sizeof(text) - len,
						j > i ? "%s%u-%u" : "%s%u", len ? ", " : "", i, j);
		i = j;
	}
	row(r, off, HV_CONFIG_IRQ_WORDS * 4, "interrupts_bitmap", text, list);
}

static const char *const region_types[] = {"ram", "io", "virtio"};

static void rows_regions(struct rows *r, unsigned n)
{
	const size_t base = offsetof(struct hv_cfg_head, memory_regions);
	const size_t sz = sizeof(struct hv_cfg_memory_region);
	char f[64];

	for (unsigned i = 0; i < n; i++) {
		size_t b = base + i * sz;
		uint64_t type = get_uint(r->buf + b, 4);

		FIELD(r, b, struct hv_cfg_memory_region, type,
		      elem(f, sizeof(f), "memory_regions", i, "type"),
		      type < ARRAY_SIZE(region_types) ? region_types[type] : NULL);
		FIELD(r, b, struct hv_cfg_memory_region, physical_start,
		      elem(f, sizeof(f), "memory_regions", i, "physical_start"), NULL);
		FIELD(r, b, struct hv_cfg_memory_region, virtual_start,
		      elem(f, sizeof(f), "memory_regions", i, "virtual_start"), NULL);
		FIELD(r, b, struct hv_cfg_memory_region, size,
		      elem(f, sizeof(f), "memory_regions", i, "size"), NULL);
	}
	row_unused(r, base, sz, "memory_regions", n, HV_CONFIG_MAX_MEMORY_REGIONS);
}

static void rows_ivc(struct rows *r, unsigned n)
{
	static const struct {
		const char *name;
		size_t off, size;
	} fields[] = {
#define IVC(m) {#m, offsetof(struct hv_cfg_ivc, m), sizeof(((struct hv_cfg_ivc *)0)->m)}
		IVC(ivc_id),	  IVC(peer_id),	     IVC(control_table_ipa), IVC(shared_mem_ipa),
		IVC(rw_sec_size), IVC(out_sec_size), IVC(interrupt_num),     IVC(max_peers),
#undef IVC
	};
	const size_t base = offsetof(struct hv_cfg_head, ivc_configs);
	char f[64];

	for (unsigned i = 0; i < n && i < HV_CONFIG_MAX_IVC; i++)
		for (size_t k = 0; k < ARRAY_SIZE(fields); k++)
			row_int(r, base + i * sizeof(struct hv_cfg_ivc) + fields[k].off,
				fields[k].size,
				elem(f, sizeof(f), "ivc_configs", i, fields[k].name), NULL);
	row_unused(r, base, sizeof(struct hv_cfg_ivc), "ivc_configs", n, HV_CONFIG_MAX_IVC);
}

static void rows_head(struct rows *r)
{
	const struct hv_cfg_head *h = (const void *)r->buf;
	char cpus[256], note[300], name[HV_CONFIG_NAME_LEN + 1];

	FIELD(r, 0, struct hv_cfg_head, zone_id, "zone_id", NULL);
	format_cpu_list(get_uint(r->buf + offsetof(struct hv_cfg_head, cpus), 8), ", ", cpus,
			sizeof(cpus));
	snprintf(note, sizeof(note), "(CPUs %s)", cpus);
	FIELD(r, 0, struct hv_cfg_head, cpus, "cpus", note);
	FIELD(r, 0, struct hv_cfg_head, num_memory_regions, "num_memory_regions", NULL);
	rows_regions(r, MIN(h->num_memory_regions, HV_CONFIG_MAX_MEMORY_REGIONS));
	row_irqs(r, offsetof(struct hv_cfg_head, interrupts_bitmap));
	FIELD(r, 0, struct hv_cfg_head, num_ivc_configs, "num_ivc_configs", NULL);
	rows_ivc(r, h->num_ivc_configs);
	FIELD(r, 0, struct hv_cfg_head, entry_point, "entry_point", NULL);
	FIELD(r, 0, struct hv_cfg_head, kernel_load_paddr, "kernel_load_paddr", NULL);
	FIELD(r, 0, struct hv_cfg_head, kernel_size, "kernel_size", NULL);
	FIELD(r, 0, struct hv_cfg_head, dtb_load_paddr, "dtb_load_paddr", NULL);
	FIELD(r, 0, struct hv_cfg_head, dtb_size, "dtb_size", NULL);
	/* the model's name is printable and NUL-terminated */
	memcpy(name, h->name, HV_CONFIG_NAME_LEN);
	name[HV_CONFIG_NAME_LEN] = '\0';
	snprintf(note, sizeof(note), "\"%s\"", name);
	row(r, offsetof(struct hv_cfg_head, name), HV_CONFIG_NAME_LEN, "name", note,
	    json_object_new_string(name));
}

static void rows_aarch64(struct rows *r, size_t b, unsigned magic)
{
	typedef struct hv_cfg_arch_aarch64_0x06 a6;
	/* 0x05 is 0x06 without the UEFI fields at the end */
	const bool v2 = get_uint(r->buf + b + offsetof(a6, gic_tag), 8) == HV_GIC_TAG_V2;

	FIELD(r, b, a6, is_aarch32, "arch_config.is_aarch32", NULL);
	FIELD(r, b, a6, gic_tag, "arch_config.gic_version", v2 ? "(GICv2)" : "(GICv3)");
	if (v2) {
		FIELD(r, b, a6, gic.v2.gicd_base, "arch_config.gicd_base", NULL);
		FIELD(r, b, a6, gic.v2.gicd_size, "arch_config.gicd_size", NULL);
		FIELD(r, b, a6, gic.v2.gicc_base, "arch_config.gicc_base", NULL);
		FIELD(r, b, a6, gic.v2.gicc_size, "arch_config.gicc_size", NULL);
		FIELD(r, b, a6, gic.v2.gicc_offset, "arch_config.gicc_offset", NULL);
		FIELD(r, b, a6, gic.v2.gich_base, "arch_config.gich_base", NULL);
		FIELD(r, b, a6, gic.v2.gich_size, "arch_config.gich_size", NULL);
		FIELD(r, b, a6, gic.v2.gicv_base, "arch_config.gicv_base", NULL);
		FIELD(r, b, a6, gic.v2.gicv_size, "arch_config.gicv_size", NULL);
	} else {
		FIELD(r, b, a6, gic.v3.gicd_base, "arch_config.gicd_base", NULL);
		FIELD(r, b, a6, gic.v3.gicd_size, "arch_config.gicd_size", NULL);
		FIELD(r, b, a6, gic.v3.gicr_base, "arch_config.gicr_base", NULL);
		FIELD(r, b, a6, gic.v3.gicr_size, "arch_config.gicr_size", NULL);
		FIELD(r, b, a6, gic.v3.gits_base, "arch_config.gits_base", NULL);
		FIELD(r, b, a6, gic.v3.gits_size, "arch_config.gits_size", NULL);
	}
	if (magic == HV_CONFIG_MAGIC_0x05)
		return;
	FIELD(r, b, a6, uefi_tag, "arch_config.uefi",
	      get_uint(r->buf + b + offsetof(a6, uefi_tag), 8) == HV_UEFI_TAG_PRESENT ? "(present)"
										      : "(none)");
	FIELD(r, b, a6, memory_map_addr, "arch_config.memory_map_addr", NULL);
	FIELD(r, b, a6, memory_map_size, "arch_config.memory_map_size", NULL);
	FIELD(r, b, a6, sys_map_addr, "arch_config.sys_map_addr", NULL);
}

static void rows_x86_64(struct rows *r, size_t b)
{
	typedef struct hv_cfg_arch_x86_64 x;

	FIELD(r, b, x, ioapic_base, "arch_config.ioapic_base", NULL);
	FIELD(r, b, x, ioapic_size, "arch_config.ioapic_size", NULL);
	FIELD(r, b, x, kernel_entry_gpa, "arch_config.kernel_entry_gpa", NULL);
	FIELD(r, b, x, cmdline_load_gpa, "arch_config.cmdline_load_gpa", NULL);
	FIELD(r, b, x, setup_load_gpa, "arch_config.setup_load_gpa", NULL);
	FIELD(r, b, x, initrd_load_gpa, "arch_config.initrd_load_gpa", NULL);
	FIELD(r, b, x, initrd_size, "arch_config.initrd_size", NULL);
	FIELD(r, b, x, rsdp_memory_region_id, "arch_config.rsdp_memory_region_id", NULL);
	FIELD(r, b, x, acpi_memory_region_id, "arch_config.acpi_memory_region_id", NULL);
	FIELD(r, b, x, uefi_memory_region_id, "arch_config.uefi_memory_region_id", NULL);
	FIELD(r, b, x, screen_base, "arch_config.screen_base", NULL);
}

static void rows_arch(struct rows *r, enum hv_arch arch, unsigned magic)
{
	const size_t b = sizeof(struct hv_cfg_head);
	typedef struct hv_cfg_arch_riscv64 rv;

	switch (arch) {
	case HV_ARCH_AARCH64:
		rows_aarch64(r, b, magic);
		break;
	case HV_ARCH_RISCV64:
		FIELD(r, b, rv, plic_base, "arch_config.plic_base", NULL);
		FIELD(r, b, rv, plic_size, "arch_config.plic_size", NULL);
		FIELD(r, b, rv, aplic_base, "arch_config.aplic_base", NULL);
		FIELD(r, b, rv, aplic_size, "arch_config.aplic_size", NULL);
		break;
	case HV_ARCH_LOONGARCH64:
		FIELD(r, b, struct hv_cfg_arch_loongarch64, dummy, "arch_config.dummy", NULL);
		break;
	default:
		rows_x86_64(r, b);
		break;
	}
}

static void rows_pci_buses(struct rows *r, size_t base, unsigned n)
{
	static const struct {
		const char *name;
		size_t off, size;
	} fields[] = {
#define BUS(m) {#m, offsetof(struct hv_cfg_pci_bus, m), sizeof(((struct hv_cfg_pci_bus *)0)->m)}
		BUS(ecam_base),	    BUS(ecam_size),  BUS(io_base),	  BUS(io_size),
		BUS(pci_io_base),   BUS(mem32_base), BUS(mem32_size),	  BUS(pci_mem32_base),
		BUS(mem64_base),    BUS(mem64_size), BUS(pci_mem64_base), BUS(bus_range_begin),
		BUS(bus_range_end), BUS(domain),
#undef BUS
	};
	char f[64];

	for (unsigned i = 0; i < n; i++)
		for (size_t k = 0; k < ARRAY_SIZE(fields); k++)
			row_int(r, base + i * sizeof(struct hv_cfg_pci_bus) + fields[k].off,
				fields[k].size, elem(f, sizeof(f), "pci_config", i, fields[k].name),
				NULL);
	row_unused(r, base, sizeof(struct hv_cfg_pci_bus), "pci_config", n, HV_CONFIG_MAX_PCI_BUS);
}

static void rows_pci_devs(struct rows *r, size_t base, unsigned n, unsigned magic)
{
	static const char *const names[] = {"domain", "bus",	  "device",    "function",
					    "v_bus",  "v_device", "v_function"};
	const bool v6 = magic == HV_CONFIG_MAGIC_0x06;
	const size_t sz =
		v6 ? sizeof(struct hv_cfg_pci_dev_0x06) : sizeof(struct hv_cfg_pci_dev_0x05);
	const size_t type_off = v6 ? offsetof(struct hv_cfg_pci_dev_0x06, dev_type)
				   : offsetof(struct hv_cfg_pci_dev_0x05, dev_type);
	char f[64];

	/* u8 fields in the order of names[], 4 of them without a virtual BDF */
	for (unsigned i = 0; i < n; i++) {
		for (size_t k = 0; k < (v6 ? ARRAY_SIZE(names) : 4); k++)
			row_int(r, base + i * sz + k, 1,
				elem(f, sizeof(f), "alloc_pci_devs", i, names[k]), NULL);
		row_int(r, base + i * sz + type_off, 4,
			elem(f, sizeof(f), "alloc_pci_devs", i, "dev_type"), NULL);
	}
	row_unused(r, base, sz, "alloc_pci_devs", n, HV_CONFIG_MAX_PCI_DEVS);
}

/* The PCI tail ends the zone_config in both magics. */
static void rows_pci(struct rows *r, size_t total, unsigned magic)
{
	const bool v6 = magic == HV_CONFIG_MAGIC_0x06;
	const size_t b = total - (v6 ? sizeof(struct hv_cfg_pci_tail_0x06)
				     : sizeof(struct hv_cfg_pci_tail_0x05));
	typedef struct hv_cfg_pci_tail_0x06 t6;
	typedef struct hv_cfg_pci_tail_0x05 t5;
	uint64_t nbus = get_uint(r->buf + b + offsetof(t6, num_pci_bus), 8), ndev;

	FIELD(r, b, t6, num_pci_bus, "num_pci_bus", NULL);
	rows_pci_buses(r, b + offsetof(t6, pci_config), (unsigned)MIN(nbus, HV_CONFIG_MAX_PCI_BUS));
	if (v6) {
		ndev = get_uint(r->buf + b + offsetof(t6, num_pci_devs), 8);
		FIELD(r, b, t6, num_pci_devs, "num_pci_devs", NULL);
		rows_pci_devs(r, b + offsetof(t6, alloc_pci_devs),
			      (unsigned)MIN(ndev, HV_CONFIG_MAX_PCI_DEVS), magic);
	} else {
		ndev = get_uint(r->buf + b + offsetof(t5, num_pci_devs), 8);
		FIELD(r, b, t5, num_pci_devs, "num_pci_devs", NULL);
		rows_pci_devs(r, b + offsetof(t5, alloc_pci_devs),
			      (unsigned)MIN(ndev, HV_CONFIG_MAX_PCI_DEVS), magic);
	}
}

/* Every field of the encoded zone_config: a table, or with --json an array. */
static json_object *layout(const struct zone_check *z, bool json)
{
	struct rows r = {.buf = z->bytes};

	if (json)
		r.a = json_object_new_array();
	else
		r.t = table_new(4, "OFFSET", "SIZE", "FIELD", "VALUE");
	rows_head(&r);
	rows_arch(&r, z->cfg->arch, z->o->magic);
	rows_pci(&r, z->size, z->o->magic);
	if (json)
		return r.a;
	table_print(r.t, stdout);
	table_free(r.t);
	return NULL;
}

/* hexdump -C's format: offset, 16 bytes, their ASCII; a repeated line is
 * one "*". */
static void hexdump(const uint8_t *p, size_t n)
{
	bool starred = false;

	for (size_t off = 0; off < n; off += 16) {
		size_t len = MIN((size_t)16, n - off);

		if (off && len == 16 && memcmp(p + off, p + off - 16, 16) == 0) {
			if (!starred)
				printf("*\n");
			starred = true;
			continue;
		}
		starred = false;
		printf("%08zx ", off);
		for (size_t i = 0; i < 16; i++) {
			fputs(i == 8 ? "  " : " ", stdout);
			if (i < len)
				printf("%02x", p[off + i]);
			else
				fputs("  ", stdout);
		}
		printf("  |");
		for (size_t i = 0; i < len; i++)
			putchar(p[off + i] >= 0x20 && p[off + i] < 0x7f ? p[off + i] : '.');
		printf("|\n");
	}
	printf("%08zx\n", n);
}

/* ---- zone check --------------------------------------------------------- */

static const char *magic_name(unsigned magic)
{
	return magic == HV_CONFIG_MAGIC_0x05 ? "hvisor v0.4" : "current hvisor";
}

/* The images in load order of the config, as hvisord would load them. */
static void print_images(const struct zone_check *z)
{
	struct table *t = table_new(5, "KEY", "LOAD AT", "SIZE", "END", "FILE");
	const struct hv_zone_config *cfg = z->cfg;

	for (size_t i = 0; i < cfg->n_images; i++) {
		const struct hv_image *img = &cfg->images[i];
		const struct named_file *f = img->path ? file_of(z, img->key) : NULL;
		char at[24], size[24] = "?", end[24] = "?", file[PATH_MAX + 32];
		uint64_t n = img->path ? (f && !z->o->no_images ? f->size : 0) : img->size;

		snprintf(at, sizeof(at), "0x%llx", (unsigned long long)img->load_paddr);
		if (!img->path || !z->o->no_images) {
			snprintf(size, sizeof(size), "0x%llx", (unsigned long long)n);
			snprintf(end, sizeof(end), "0x%llx",
				 (unsigned long long)(img->load_paddr + n));
		}
		if (!img->path)
			snprintf(file, sizeof(file), "(inline, from the config)");
		else
			hv_printable(f ? f->full : img->path, file, sizeof(file));
		if (img->path && z->o->no_images)
			strncat(file, " (not opened: --no-images)",
				sizeof(file) - strlen(file) - 1);
		table_add(t, img->key, at, size, end, file);
	}
	table_print(t, stdout);
	table_free(t);
}

static void print_zone(const struct zone_check *z)
{
	const struct hv_zone_config *cfg = z->cfg;
	char cpus[256], file[PATH_MAX];

	format_cpu_list(cfg->cpus, ", ", cpus, sizeof(cpus));
	printf("Config:       %s\n", hv_printable(z->file, file, sizeof(file)));
	printf("Zone:         %u (%s)\n", cfg->zone_id, cfg->name);
	printf("Arch:         %s (%s)\n", hv_arch_to_string(cfg->arch), z->arch_why);
	printf("Magic:        0x%02x (%s): zone_config of %zu bytes\n", z->o->magic,
	       magic_name(z->o->magic), z->size);
	printf("CPUs:         %s\n", cpus);
	printf("Entry point:  0x%llx\n", (unsigned long long)cfg->entry_point);
	for (unsigned i = 0; i < cfg->n_warnings; i++)
		printf("%s%s\n", i ? "              " : "Warnings:     ", cfg->warnings[i]);
	printf("\nImages%s:\n", z->o->no_images ? " (sizes unknown: --no-images)" : "");
	print_images(z);
	printf("\nzone_config (%s, magic 0x%02x, %zu bytes):\n", hv_arch_to_string(cfg->arch),
	       z->o->magic, z->size);
	if (z->o->hexdump)
		hexdump(z->bytes, z->size);
	else
		layout(z, false);
}

static json_object *images_json(const struct zone_check *z)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < z->cfg->n_images; i++) {
		const struct hv_image *img = &z->cfg->images[i];
		const struct named_file *f = img->path ? file_of(z, img->key) : NULL;
		json_object *o = json_object_new_object();

		json_object_object_add(o, "key", json_object_new_string(img->key));
		json_object_object_add(o, "load_paddr", json_object_new_uint64(img->load_paddr));
		if (!img->path || !z->o->no_images)
			json_object_object_add(
				o, "size",
				json_object_new_uint64(img->path ? (f ? f->size : 0) : img->size));
		if (img->path) {
			json_object_object_add(o, "path", json_object_new_string(img->path));
			json_object_object_add(o, "file",
					       json_object_new_string(f ? f->full : img->path));
		}
		json_object_array_add(a, o);
	}
	return a;
}

static void print_zone_json(const struct zone_check *z)
{
	json_object *o = json_object_new_object(), *w = json_object_new_array(), *b;
	char *hex = malloc(z->size * 2 + 1);

	if (!hex)
		abort();
	for (size_t i = 0; i < z->size; i++)
		snprintf(hex + 2 * i, 3, "%02x", z->bytes[i]);
	for (unsigned i = 0; i < z->cfg->n_warnings; i++)
		json_object_array_add(w, json_object_new_string(z->cfg->warnings[i]));
	json_object_object_add(o, "file", json_object_new_string(z->file));
	json_object_object_add(o, "valid", json_object_new_boolean(true));
	json_object_object_add(o, "zone_id", json_object_new_int64(z->cfg->zone_id));
	json_object_object_add(o, "name", json_object_new_string(z->cfg->name));
	json_object_object_add(o, "arch", json_object_new_string(hv_arch_to_string(z->cfg->arch)));
	json_object_object_add(o, "arch_source", json_object_new_string(z->arch_why));
	json_object_object_add(o, "magic", json_object_new_int((int)z->o->magic));
	json_object_object_add(o, "size", json_object_new_uint64(z->size));
	json_object_object_add(o, "warnings", w);
	json_object_object_add(o, "images", images_json(z));
	json_object_object_add(o, "images_checked", json_object_new_boolean(!z->o->no_images));
	json_object_object_add(o, "fields", layout(z, true));
	b = json_object_new_string(hex);
	json_object_object_add(o, "bytes", b);
	free(hex);
	print_json(o);
	json_object_put(o);
}

/* ---- virtio check ------------------------------------------------------- */

struct virtio_check {
	struct hvctl *h;
	const struct check_opts *o;
	struct zone_check *zones[CHECK_MAX_ZONES]; /* --zone */
	size_t n_zones;
	struct hv_virtio_config *cfg;
	char dir[PATH_MAX];
};

static void virtio_check_done(struct virtio_check *v)
{
	for (size_t i = 0; i < v->n_zones; i++) {
		zone_check_done(v->zones[i]);
		free(v->zones[i]);
	}
	hv_virtio_config_free(v->cfg);
}

static const struct zone_check *zone_of(const struct virtio_check *v, uint32_t id)
{
	for (size_t i = 0; i < v->n_zones; i++)
		if (v->zones[i]->cfg->zone_id == id)
			return v->zones[i];
	return NULL;
}

/* The --zone configs: parsed (their files are zone check's business). */
static int virtio_zones(struct virtio_check *v)
{
	for (size_t i = 0; i < v->o->n_zones; i++) {
		struct zone_check *z = calloc(1, sizeof(*z));
		const struct zone_check *other;
		int r;

		if (!z)
			return EXIT_FAILED;
		*z = (struct zone_check){.h = v->h, .o = v->o, .file = v->o->zones[i]};
		v->zones[v->n_zones++] = z;
		r = zone_parse(z);
		if (r != EXIT_OK)
			return r;
		other = zone_of(v, z->cfg->zone_id);
		if (other != z) {
			fprintf(stderr, "%s: --zone %s and --zone %s are both zone %u\n",
				v->h->prog, other->file, z->file, z->cfg->zone_id);
			return EXIT_USAGE;
		}
	}
	return EXIT_OK;
}

static void device_path(const struct hv_virtio_config *cfg, unsigned z, unsigned k, char *buf,
			size_t size)
{
	snprintf(buf, size, "zones[%u].devices[%u]", z, cfg->zones[z].device_index[k]);
}

/* As virtio start would add it: inside its zone's virtio regions with an
 * IRQ it owns (with --zone), the image opened as add_device() opens it. */
static int virtio_device(struct virtio_check *v, const char *file, unsigned z, unsigned k)
{
	const struct hv_virtio_device *dev = &v->cfg->zones[z].devices[k];
	const struct zone_check *zc = zone_of(v, v->cfg->zones[z].zone_id);
	char path[128], where[PATH_MAX + 160], full[PATH_MAX];
	struct hv_error err;
	int fd;

	device_path(v->cfg, z, k, path, sizeof(path));
	if (zc && hv_virtio_device_check_zone(dev, zc->cfg, path, &err) < 0)
		return report_error(v->h, file, &err, false);
	if (dev->type != HV_VIRTIO_BLK || v->o->no_images)
		return EXIT_OK;
	if (resolve_path(v->dir, dev->img, full, sizeof(full)) < 0) {
		hv_error_set(&err, path, "image path too long");
		return report_error(v->h, file, &err, false);
	}
	snprintf(where, sizeof(where), "%s: %s", file, path);
	v->h->where = where;
	fd = open_named_file(v->h, "image", dev->img, full, dev->readonly ? O_RDONLY : O_RDWR, true,
			     NULL);
	v->h->where = NULL;
	if (fd < 0) {
		hv_error_set(&err, path, "image '%s': %s", dev->img, strerror(-fd));
		return report_error(v->h, file, &err, true);
	}
	close(fd);
	return EXIT_OK;
}

static int virtio_check(struct virtio_check *v, const char *file)
{
	json_object *root = NULL;
	struct hv_error err;
	int r = virtio_zones(v);

	if (r != EXIT_OK)
		return r;
	r = read_json(v->h, file, 0, &root);
	if (r != EXIT_OK)
		return r;
	if (wrong_kind(root, false, &err))
		r = -EINVAL;
	else
		r = hv_virtio_config_parse(root, &v->cfg, &err);
	json_object_put(root);
	if (r < 0)
		return report_error(v->h, file, &err, false);
	file_dir(file, v->dir, sizeof(v->dir));
	for (unsigned z = 0; z < v->cfg->n_zones; z++)
		for (unsigned k = 0; k < v->cfg->zones[z].n_devices; k++) {
			if (!v->cfg->zones[z].devices[k].enabled)
				continue; /* virtio start skips it */
			r = virtio_device(v, file, z, k);
			if (r != EXIT_OK)
				return r;
		}
	return EXIT_OK;
}

static void backing(const struct virtio_check *v, const struct hv_virtio_device *d, char *buf,
		    size_t size)
{
	char full[PATH_MAX], shown[PATH_MAX], mac[18];

	switch (d->type) {
	case HV_VIRTIO_BLK:
		if (resolve_path(v->dir, d->img, full, sizeof(full)) < 0)
			snprintf(full, sizeof(full), "%s", d->img);
		snprintf(buf, size, "%s (%s%s)", hv_printable(full, shown, sizeof(shown)),
			 d->readonly ? "read-only" : "read-write",
			 v->o->no_images ? ", not opened: --no-images" : "");
		break;
	case HV_VIRTIO_NET:
		hv_mac_format(d->mac, mac);
		snprintf(buf, size, "tap %s%s%s", d->tap, d->has_mac ? ", mac " : "",
			 d->has_mac ? mac : "");
		break;
	default:
		snprintf(buf, size, "pty");
		break;
	}
}

static void print_virtio_zone(const struct virtio_check *v, unsigned z)
{
	const struct hv_virtio_zone *vz = &v->cfg->zones[z];
	const struct zone_check *zc = zone_of(v, vz->zone_id);
	char file[PATH_MAX];

	printf("Zone %u:\n", vz->zone_id);
	for (unsigned i = 0; i < vz->n_mem; i++)
		printf("  RAM:        host 0x%llx = guest 0x%llx, 0x%llx bytes (memory_region[%u])\n",
		       (unsigned long long)vz->mem[i].zone0_ipa,
		       (unsigned long long)vz->mem[i].zonex_ipa,
		       (unsigned long long)vz->mem[i].size, i);
	if (zc)
		printf("  Checked:    against %s (%s): virtio regions, interrupts\n",
		       hv_printable(zc->file, file, sizeof(file)),
		       hv_arch_to_string(zc->cfg->arch));
	else
		printf("  Checked:    not against a zone config (--zone FILE)\n");
}

static void print_virtio(const struct virtio_check *v, const char *file)
{
	struct table *t =
		table_new(8, "ZONE", "DEVICE", "TYPE", "ADDR", "LEN", "IRQ", "STATUS", "BACKING");
	char shown[PATH_MAX];

	printf("Config:       %s\n", hv_printable(file, shown, sizeof(shown)));
	for (unsigned z = 0; z < v->cfg->n_zones; z++) {
		const struct hv_virtio_zone *vz = &v->cfg->zones[z];

		print_virtio_zone(v, z);
		for (unsigned k = 0; k < vz->n_devices; k++) {
			const struct hv_virtio_device *d = &vz->devices[k];
			char id[16], path[128], addr[24], len[24], irq[16], back[PATH_MAX + 64];

			snprintf(id, sizeof(id), "%u", vz->zone_id);
			device_path(v->cfg, z, k, path, sizeof(path));
			snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)d->addr);
			snprintf(len, sizeof(len), "0x%llx", (unsigned long long)d->len);
			snprintf(irq, sizeof(irq), "%u", d->irq);
			backing(v, d, back, sizeof(back));
			table_add(t, id, path, hv_virtio_type_to_string(d->type), addr, len, irq,
				  d->enabled ? "enabled" : "disabled (skipped)", back);
		}
	}
	printf("\n");
	table_print(t, stdout);
	table_free(t);
}

static json_object *virtio_zone_json(const struct virtio_check *v, unsigned z)
{
	const struct hv_virtio_zone *vz = &v->cfg->zones[z];
	const struct zone_check *zc = zone_of(v, vz->zone_id);
	json_object *o = json_object_new_object(), *devs = json_object_new_array();

	for (unsigned k = 0; k < vz->n_devices; k++) {
		const struct hv_virtio_device *d = &vz->devices[k];
		json_object *e = json_object_new_object();
		char path[128], full[PATH_MAX];

		device_path(v->cfg, z, k, path, sizeof(path));
		json_object_object_add(e, "path", json_object_new_string(path));
		json_object_object_add(e, "enabled", json_object_new_boolean(d->enabled));
		/* what Virtio.Add carries */
		json_object_object_add(e, "device", hv_virtio_device_to_json(d));
		if (d->type == HV_VIRTIO_BLK &&
		    resolve_path(v->dir, d->img, full, sizeof(full)) == 0)
			json_object_object_add(e, "file", json_object_new_string(full));
		json_object_array_add(devs, e);
	}
	json_object_object_add(o, "id", json_object_new_int64(vz->zone_id));
	json_object_object_add(o, "memory", hv_virtio_mem_to_json(vz));
	json_object_object_add(o, "zone_config", zc ? json_object_new_string(zc->file) : NULL);
	json_object_object_add(o, "devices", devs);
	return o;
}

static void print_virtio_json(const struct virtio_check *v, const char *file)
{
	json_object *o = json_object_new_object(), *zones = json_object_new_array();

	for (unsigned z = 0; z < v->cfg->n_zones; z++)
		json_object_array_add(zones, virtio_zone_json(v, z));
	json_object_object_add(o, "file", json_object_new_string(file));
	json_object_object_add(o, "valid", json_object_new_boolean(true));
	json_object_object_add(o, "images_checked", json_object_new_boolean(!v->o->no_images));
	json_object_object_add(o, "zones", zones);
	print_json(o);
	json_object_put(o);
}

/* ---- the commands ------------------------------------------------------- */

enum {
	OPT_ARCH = 0x100,
	OPT_MAGIC,
	OPT_NO_IMAGES,
	OPT_HEXDUMP,
	OPT_ZONE,
	OPT_JSON
};

static int check_option(struct hvctl *h, const struct command *cmd, int c, struct check_opts *o)
{
	uint64_t magic;

	switch (c) {
	case OPT_ARCH:
		if (hv_arch_from_string(optarg, &o->arch) < 0) {
			fprintf(stderr,
				"%s: %s: unknown arch '%s' (aarch64, riscv64, loongarch64 or x86_64)\n",
				h->prog, cmd->name, optarg);
			return EXIT_USAGE;
		}
		o->arch_set = true;
		return EXIT_OK;
	case OPT_MAGIC:
		if (parse_u64(optarg, UINT32_MAX, &magic) < 0 ||
		    hv_zone_config_size(HV_ARCH_AARCH64, (unsigned)magic) == 0) {
			fprintf(stderr, "%s: %s: unknown config magic '%s' (5 or 6)\n", h->prog,
				cmd->name, optarg);
			return EXIT_USAGE;
		}
		o->magic = (unsigned)magic;
		return EXIT_OK;
	case OPT_NO_IMAGES:
		o->no_images = true;
		return EXIT_OK;
	case OPT_HEXDUMP:
		o->hexdump = true;
		return EXIT_OK;
	case OPT_ZONE:
		if (o->n_zones == CHECK_MAX_ZONES) {
			fprintf(stderr, "%s: %s: at most %d --zone files\n", h->prog, cmd->name,
				CHECK_MAX_ZONES);
			return EXIT_USAGE;
		}
		o->zones[o->n_zones++] = optarg;
		return EXIT_OK;
	case OPT_JSON:
		h->json = true;
		return EXIT_OK;
	}
	return EXIT_USAGE;
}

/* argv[-1] is the command's last word: getopt's argv[0]. */
static int check_args(struct hvctl *h, const struct command *cmd, const struct option *opts,
		      int argc, char **argv, struct check_opts *o)
{
	int c, r;

	*o = (struct check_opts){.magic = HV_CONFIG_MAGIC_0x06};
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc + 1, argv - 1, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			command_help(h, cmd, stdout);
			return EXIT_HELP;
		}
		if (c == '?' || c == ':') {
			fprintf(stderr, "%s: %s: %s '%s'\n", h->prog, cmd->name,
				c == '?' ? "unknown option" : "missing the value of",
				argv[optind - 2]);
			command_help(h, cmd, stderr);
			return EXIT_USAGE;
		}
		r = check_option(h, cmd, c, o);
		if (r != EXIT_OK)
			return r;
	}
	if (argc + 1 - optind != 1) {
		fprintf(stderr, "%s: %s: %s\n", h->prog, cmd->name,
			argc + 1 == optind ? "missing FILE" : "one FILE only");
		command_help(h, cmd, stderr);
		return EXIT_USAGE;
	}
	o->file = argv[optind - 1];
	return EXIT_OK;
}

static int cmd_zone_check(struct hvctl *h, const struct command *cmd, const struct cmd_args *a)
{
	static const struct option opts[] = {
		{"arch", required_argument, NULL, OPT_ARCH},
		{"magic", required_argument, NULL, OPT_MAGIC},
		{"no-images", no_argument, NULL, OPT_NO_IMAGES},
		{"hexdump", no_argument, NULL, OPT_HEXDUMP},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct check_opts o;
	struct zone_check *z;
	int r = check_args(h, cmd, opts, a->argc, a->argv, &o);

	if (r != EXIT_OK)
		return r;
	z = calloc(1, sizeof(*z));
	if (!z)
		return EXIT_FAILED;
	*z = (struct zone_check){.h = h, .o = &o, .file = o.file};
	r = zone_check(z);
	if (r == EXIT_OK && h->json)
		print_zone_json(z);
	else if (r == EXIT_OK)
		print_zone(z);
	zone_check_done(z);
	free(z);
	return r;
}

static int cmd_virtio_check(struct hvctl *h, const struct command *cmd, const struct cmd_args *a)
{
	static const struct option opts[] = {
		{"zone", required_argument, NULL, OPT_ZONE},
		{"arch", required_argument, NULL, OPT_ARCH},
		{"no-images", no_argument, NULL, OPT_NO_IMAGES},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct virtio_check v = {.h = h};
	struct check_opts o;
	int r = check_args(h, cmd, opts, a->argc, a->argv, &o);

	if (r != EXIT_OK)
		return r;
	v.o = &o;
	r = virtio_check(&v, o.file);
	if (r == EXIT_OK && h->json)
		print_virtio_json(&v, o.file);
	else if (r == EXIT_OK)
		print_virtio(&v, o.file);
	virtio_check_done(&v);
	return r;
}

const struct command check_commands[] = {
	{"zone check", "FILE", "check a zone config offline and show what it would load",
	 "Checks FILE without hvisord, by the rules of zone start: the JSON, every file it\n"
	 "names (opened with your permissions, relative to FILE's directory), where each\n"
	 "is loaded; prints the zone_config hvisor would get, field by field.\n"
	 "  --arch ARCH    aarch64, riscv64, loongarch64 or x86_64 (default: the arch the\n"
	 "                 config looks written for, else this machine's)\n"
	 "  --magic N      config magic: 5 (hvisor v0.4) or 6 (current; the default)\n"
	 "  --no-images    do not open the named files: their sizes are unknown, only\n"
	 "                 the load addresses are checked\n"
	 "  --hexdump      the zone_config as a hex dump instead of a field table\n"
	 "Exit status: 0 valid, 1 not (the first error, with its JSON path), 2 usage.\n",
	 CMD_DATA | CMD_OWN_ARGS, 1, 1, cmd_zone_check},
	{"virtio check", "FILE", "check a virtio_cfg.json offline",
	 "Checks FILE without hvisord, by the rules of virtio start: the JSON, every\n"
	 "enabled device, its disk image (opened as virtio start would, relative to FILE's\n"
	 "directory) and, with --zone, its place in the zone's virtio regions and IRQs.\n"
	 "  --zone ZONE.json  the config of a zone the file has devices for (repeatable)\n"
	 "  --arch ARCH       the arch the --zone configs are read for (as zone check)\n"
	 "  --no-images       do not open the disk images\n"
	 "Exit status: 0 valid, 1 not (the first error, with its JSON path), 2 usage.\n",
	 CMD_DATA | CMD_OWN_ARGS, 1, 1, cmd_virtio_check},
	{},
};
