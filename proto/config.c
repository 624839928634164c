// SPDX-License-Identifier: GPL-2.0-only
/*
 * Zone JSON -> struct hv_zone_config (see config.h and docs/config.md).
 *
 * Every value that reaches the model has been type- and range-checked here,
 * because hvisor trusts the zone_config it is given (an out-of-range count or
 * an overlapping region panics the hypervisor). Errors name the JSON path of
 * the offending value so a user can find it in a large file.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "json-util.h"
#include "macro.h"
#include "util.h"

/* Bounds on what parse_string feeds to json-c, so no input can make the
 * tokener recurse deeply or allocate without limit. The deepest legitimate
 * zone JSON nests 3 levels. */
#define CONFIG_MAX_TEXT	 HV_CONFIG_MAX_TEXT
#define CONFIG_MAX_DEPTH 32

#define PATH_SIZE HV_JSON_PATH_SIZE

/* multiboot2 info block default, as upstream. */
#define X86_DEFAULT_MULTIBOOT_INFO_PADDR 0x9000000

static void hv_zone_config_freep(struct hv_zone_config **p)
{
	hv_zone_config_free(*p);
}

/* ---- paths and messages ------------------------------------------------ */

/* snprintf for paths and image keys: they are built from our own key names
 * and indexes < 64, so truncation cannot happen (and would be harmless). */
static const char *_printf_(3, 4) fmt(char *buf, size_t size, const char *format, ...)
{
	va_list ap;

	va_start(ap, format);
	vsnprintf(buf, size, format, ap);
	va_end(ap);
	return buf;
}

static void _printf_(2, 3) add_warning(struct hv_zone_config *cfg, const char *format, ...)
{
	va_list ap;

	/* Warnings are advice; beyond the cap they are dropped, not an error. */
	if (cfg->n_warnings >= HV_CONFIG_MAX_WARNINGS)
		return;
	va_start(ap, format);
	vsnprintf(cfg->warnings[cfg->n_warnings], sizeof(cfg->warnings[0]), format, ap);
	va_end(ap);
	cfg->n_warnings++;
}

/* ---- typed access ------------------------------------------------------ */

/* Same for the __u64 (unsigned long long) fields of the ABI structs. */
static int get_abi_u64(json_object *obj, const char *key, const char *prefix, bool required,
		       __u64 *ret, struct hv_error *err)
{
	uint64_t x;
	int r;

	r = hv_json_get_u64(obj, key, prefix, UINT64_MAX, required, &x, err);
	if (r > 0)
		*ret = x;
	return r;
}

static int get_u8(json_object *obj, const char *key, const char *prefix, uint64_t max,
		  bool required, uint8_t *ret, struct hv_error *err)
{
	uint64_t x;
	int r;

	r = hv_json_get_u64(obj, key, prefix, MIN(max, (uint64_t)UINT8_MAX), required, &x, err);
	if (r > 0)
		*ret = (uint8_t)x;
	return r;
}

static int get_object(json_object *obj, const char *key, bool required, json_object **ret,
		      struct hv_error *err)
{
	json_object *v;
	int r;

	r = hv_json_lookup(obj, key, "", required, &v, err);
	if (r <= 0)
		return r;
	if (!json_object_is_type(v, json_type_object)) {
		hv_error_set(err, key, "expected an object, got %s",
			     json_type_to_name(json_object_get_type(v)));
		return -EINVAL;
	}
	*ret = v;
	return 1;
}

/* ---- images ------------------------------------------------------------ */

/*
 * A file name key. "null" means load nothing (upstream); so does "" where
 * allow_empty (dtb_filepath, which upstream x86 examples leave empty).
 * Returns 1 with *ret when a file is named, 0 when none, or an error.
 */
static int get_file(json_object *obj, const char *key, const char *prefix, bool required,
		    bool allow_empty, const char **ret, struct hv_error *err)
{
	char path[PATH_SIZE];
	const char *s;
	int r;

	r = hv_json_get_string(obj, key, prefix, HV_CONFIG_MAX_STRING - 1, required, &s, err);
	if (r <= 0)
		return r;
	if (strcmp(s, "null") == 0)
		return 0;
	if (s[0] == '\0') {
		if (allow_empty)
			return 0;
		hv_error_set(err, hv_json_path_join(path, sizeof(path), prefix, key),
			     "empty file name (use \"null\" to load nothing)");
		return -EINVAL;
	}
	*ret = s;
	return 1;
}

static struct hv_image *new_image(struct hv_zone_config *cfg, enum hv_image_kind kind,
				  const char *key, const char *paddr_key, uint64_t load_paddr,
				  struct hv_error *err)
{
	struct hv_image *img;

	/* Cannot happen: the parser adds at most 2 + modules + 5 images. */
	if (cfg->n_images >= HV_CONFIG_MAX_IMAGES) {
		hv_error_set(err, key, "too many images");
		return NULL;
	}
	img = &cfg->images[cfg->n_images];
	*img = (struct hv_image){.kind = kind, .load_paddr = load_paddr};
	fmt(img->key, sizeof(img->key), "%s", key);
	fmt(img->paddr_key, sizeof(img->paddr_key), "%s", paddr_key);
	return img;
}

static int add_file_image(struct hv_zone_config *cfg, enum hv_image_kind kind, const char *key,
			  const char *paddr_key, const char *file, const char *name,
			  uint64_t load_paddr, struct hv_error *err)
{
	struct hv_image *img = new_image(cfg, kind, key, paddr_key, load_paddr, err);

	if (!img)
		return -EINVAL;
	img->path = strdup(file);
	img->name = name ? strdup(name) : NULL;
	/* Counted before the check so that free() releases a partial image. */
	cfg->n_images++;
	if (!img->path || (name && !img->name)) {
		hv_error_set(err, key, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int add_inline_image(struct hv_zone_config *cfg, enum hv_image_kind kind, const char *key,
			    const char *paddr_key, const char *text, uint64_t load_paddr,
			    struct hv_error *err)
{
	struct hv_image *img = new_image(cfg, kind, key, paddr_key, load_paddr, err);
	size_t len = strlen(text) + 1; /* the guest reads a C string */

	if (!img)
		return -EINVAL;
	img->data = malloc(len);
	if (!img->data) {
		hv_error_set(err, key, "out of memory");
		return -ENOMEM;
	}
	memcpy(img->data, text, len);
	img->data_len = len;
	img->size = len;
	cfg->n_images++;
	return 0;
}

/* ---- top level --------------------------------------------------------- */

static int parse_head(json_object *root, struct hv_zone_config *cfg, struct hv_error *err)
{
	char path[PATH_SIZE];
	json_object *cpus;
	const char *name;
	size_t n, len;
	int r;

	r = hv_json_get_u32(root, "zone_id", "", UINT32_MAX, true, &cfg->zone_id, err);
	if (r < 0)
		return r;
	if (cfg->zone_id == 0) {
		hv_error_set(err, "zone_id", "0 is the root zone; non-root zones use 1 or more");
		return -EINVAL;
	}

	r = hv_json_get_array(root, "cpus", "", SIZE_MAX, true, &cpus, err);
	if (r < 0)
		return r;
	n = json_object_array_length(cpus);
	if (n == 0) {
		hv_error_set(err, "cpus", "must list at least one CPU");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t cpu;

		hv_json_path_index(path, sizeof(path), "cpus", i);
		r = hv_json_value_u64(json_object_array_get_idx(cpus, i), path, UINT64_MAX, &cpu,
				      err);
		if (r < 0)
			return r;
		/* upstream shifts 1ULL by the id unchecked: UB from 64 on */
		if (cpu >= HV_CONFIG_MAX_CPUS) {
			hv_error_set(err, path, "CPU %" PRIu64 " is out of range (0..%d)", cpu,
				     HV_CONFIG_MAX_CPUS - 1);
			return -EINVAL;
		}
		cfg->cpus |= UINT64_C(1) << cpu;
	}

	r = hv_json_get_string(root, "name", "", HV_CONFIG_MAX_STRING, true, &name, err);
	if (r < 0)
		return r;
	len = strlen(name);
	if (len == 0) {
		hv_error_set(err, "name", "must not be empty");
		return -EINVAL;
	}
	/* hvisor's name[32] need not be terminated, but ours is, and zone
	 * list prints it: 31 bytes at most, no control characters. */
	if (len >= HV_CONFIG_NAME_LEN) {
		hv_error_set(err, "name", "longer than %d bytes", HV_CONFIG_NAME_LEN - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
			hv_error_set(err, "name", "contains a control character");
			return -EINVAL;
		}
	memcpy(cfg->name, name, len + 1);
	return 0;
}

static int parse_region(json_object *o, const char *prefix, struct hv_cfg_memory_region *mr,
			struct hv_error *err)
{
	char path[PATH_SIZE], buf[40];
	const char *type;
	uint64_t end;
	int r;

	r = hv_json_get_string(o, "type", prefix, HV_CONFIG_MAX_STRING, true, &type, err);
	if (r < 0)
		return r;
	if (strcmp(type, "ram") == 0)
		mr->type = HV_MEM_TYPE_RAM;
	else if (strcmp(type, "io") == 0)
		mr->type = HV_MEM_TYPE_IO;
	else if (strcmp(type, "virtio") == 0)
		mr->type = HV_MEM_TYPE_VIRTIO;
	else {
		hv_error_set(err, hv_json_path_join(path, sizeof(path), prefix, "type"),
			     "unknown region type '%s' (expected \"ram\", \"io\" or \"virtio\")",
			     hv_printable(type, buf, sizeof(buf)));
		return -EINVAL;
	}
	r = get_abi_u64(o, "physical_start", prefix, true, &mr->physical_start, err);
	if (r < 0)
		return r;
	/* A virtio region is trapped at physical_start only; upstream
	 * examples sometimes leave virtual_start out there. */
	r = get_abi_u64(o, "virtual_start", prefix, mr->type != HV_MEM_TYPE_VIRTIO,
			&mr->virtual_start, err);
	if (r < 0)
		return r;
	if (r == 0)
		mr->virtual_start = mr->physical_start;
	r = get_abi_u64(o, "size", prefix, true, &mr->size, err);
	if (r < 0)
		return r;
	hv_json_path_join(path, sizeof(path), prefix, "size");
	if (mr->size == 0) {
		hv_error_set(err, path, "must not be 0");
		return -EINVAL;
	}
	if (range_end(mr->physical_start, mr->size, &end) < 0) {
		hv_error_set(err, path, "physical_start + size overflows 64 bits");
		return -EINVAL;
	}
	if (range_end(mr->virtual_start, mr->size, &end) < 0) {
		hv_error_set(err, path, "virtual_start + size overflows 64 bits");
		return -EINVAL;
	}
	return 0;
}

static bool is_mapped(const struct hv_cfg_memory_region *r)
{
	return r->type == HV_MEM_TYPE_RAM || r->type == HV_MEM_TYPE_IO;
}

/* hvisor inserts regions into stage-2 with unwrap(): an overlap panics it. */
static int check_region_overlaps(const struct hv_zone_config *cfg, struct hv_error *err)
{
	char path[PATH_SIZE];

	for (uint32_t j = 1; j < cfg->n_regions; j++) {
		const struct hv_cfg_memory_region *b = &cfg->regions[j];

		for (uint32_t i = 0; i < j; i++) {
			const struct hv_cfg_memory_region *a = &cfg->regions[i];
			const char *what = NULL;
			uint64_t start = 0;

			if (a->type == HV_MEM_TYPE_RAM && b->type == HV_MEM_TYPE_RAM &&
			    ranges_overlap(a->physical_start, a->size, b->physical_start,
					   b->size)) {
				what = "RAM host range";
				start = b->physical_start;
			} else if (is_mapped(a) && is_mapped(b) &&
				   ranges_overlap(a->virtual_start, a->size, b->virtual_start,
						  b->size)) {
				what = "guest range";
				start = b->virtual_start;
			} else if (a->type == HV_MEM_TYPE_VIRTIO && b->type == HV_MEM_TYPE_VIRTIO &&
				   ranges_overlap(a->physical_start, a->size, b->physical_start,
						  b->size)) {
				what = "virtio range";
				start = b->physical_start;
			}
			if (what) {
				hv_error_set(
					err,
					hv_json_path_index(path, sizeof(path), "memory_regions", j),
					"%s 0x%" PRIx64 "+0x%" PRIx64
					" overlaps memory_regions[%" PRIu32 "]",
					what, start, (uint64_t)b->size, i);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int parse_regions(json_object *root, struct hv_zone_config *cfg, struct hv_error *err)
{
	char path[PATH_SIZE];
	json_object *arr, *o;
	size_t n;
	int r;

	r = hv_json_get_array(root, "memory_regions", "", HV_CONFIG_MAX_MEMORY_REGIONS, true, &arr,
			      err);
	if (r < 0)
		return r;
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		r = hv_json_array_object(arr, "memory_regions", i, path, sizeof(path), &o, err);
		if (r < 0)
			return r;
		r = parse_region(o, path, &cfg->regions[i], err);
		if (r < 0)
			return r;
		cfg->n_regions = (uint32_t)i + 1;
	}
	return check_region_overlaps(cfg, err);
}

static int parse_interrupts(json_object *root, struct hv_zone_config *cfg, struct hv_error *err)
{
	char path[PATH_SIZE];
	json_object *arr;
	size_t n;
	int r;

	r = hv_json_get_array(root, "interrupts", "", SIZE_MAX, true, &arr, err);
	if (r < 0)
		return r;
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		uint64_t irq;

		hv_json_path_index(path, sizeof(path), "interrupts", i);
		r = hv_json_value_u64(json_object_array_get_idx(arr, i), path, UINT64_MAX, &irq,
				      err);
		if (r < 0)
			return r;
		if (irq >= HV_CONFIG_MAX_INTERRUPTS) {
			hv_error_set(err, path, "IRQ %" PRIu64 " is out of range (0..%d)", irq,
				     HV_CONFIG_MAX_INTERRUPTS - 1);
			return -EINVAL;
		}
		cfg->irq_bitmap[irq / 32] |= UINT32_C(1) << (irq % 32);
	}
	return 0;
}

static int parse_ivc(json_object *root, struct hv_zone_config *cfg, struct hv_error *err)
{
	char path[PATH_SIZE];
	json_object *arr, *o;
	size_t n;
	int r;

	/* upstream requires the key; an absent list means no IVC at all */
	r = hv_json_get_array(root, "ivc_configs", "", HV_CONFIG_MAX_IVC, false, &arr, err);
	if (r <= 0)
		return r;
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		struct hv_cfg_ivc *ivc = &cfg->ivc[i];

		r = hv_json_array_object(arr, "ivc_configs", i, path, sizeof(path), &o, err);
		if (r < 0)
			return r;
		if ((r = hv_json_get_u32(o, "ivc_id", path, UINT32_MAX, true, &ivc->ivc_id, err)) <
			    0 ||
		    (r = hv_json_get_u32(o, "peer_id", path, UINT32_MAX, true, &ivc->peer_id,
					 err)) < 0 ||
		    (r = get_abi_u64(o, "control_table_ipa", path, true, &ivc->control_table_ipa,
				     err)) < 0 ||
		    (r = get_abi_u64(o, "shared_mem_ipa", path, true, &ivc->shared_mem_ipa, err)) <
			    0 ||
		    (r = hv_json_get_u32(o, "rw_sec_size", path, UINT32_MAX, true,
					 &ivc->rw_sec_size, err)) < 0 ||
		    (r = hv_json_get_u32(o, "out_sec_size", path, UINT32_MAX, true,
					 &ivc->out_sec_size, err)) < 0 ||
		    (r = hv_json_get_u32(o, "interrupt_num", path, UINT32_MAX, true,
					 &ivc->interrupt_num, err)) < 0 ||
		    (r = hv_json_get_u32(o, "max_peers", path, UINT32_MAX, true, &ivc->max_peers,
					 err)) < 0)
			return r;
		cfg->n_ivc = (uint32_t)i + 1;
	}
	return 0;
}

static int parse_boot_images(json_object *root, struct hv_zone_config *cfg, struct hv_error *err)
{
	const char *file;
	int r;

	if ((r = hv_json_get_u64(root, "entry_point", "", UINT64_MAX, true, &cfg->entry_point,
				 err)) < 0 ||
	    (r = hv_json_get_u64(root, "kernel_load_paddr", "", UINT64_MAX, true,
				 &cfg->kernel_load_paddr, err)) < 0 ||
	    (r = hv_json_get_u64(root, "dtb_load_paddr", "", UINT64_MAX, true, &cfg->dtb_load_paddr,
				 err)) < 0)
		return r;

	r = get_file(root, "kernel_filepath", "", true, false, &file, err);
	if (r < 0)
		return r;
	if (r > 0) {
		r = add_file_image(cfg, HV_IMAGE_KERNEL, "kernel_filepath", "kernel_load_paddr",
				   file, NULL, cfg->kernel_load_paddr, err);
		if (r < 0)
			return r;
	}

	r = get_file(root, "dtb_filepath", "", true, true, &file, err);
	if (r < 0)
		return r;
	/* x86 boots with ACPI; upstream never loads a DTB there. */
	if (r > 0 && cfg->arch != HV_ARCH_X86_64) {
		r = add_file_image(cfg, HV_IMAGE_DTB, "dtb_filepath", "dtb_load_paddr", file, NULL,
				   cfg->dtb_load_paddr, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_modules(json_object *root, struct hv_zone_config *cfg, struct hv_error *err)
{
	char path[PATH_SIZE], key[64], paddr_key[64];
	json_object *arr, *o;
	const char *name, *file;
	uint64_t paddr;
	size_t n;
	int r;

	r = hv_json_get_array(root, "modules", "", HV_CONFIG_MAX_MODULES, false, &arr, err);
	if (r <= 0)
		return r;
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		r = hv_json_array_object(arr, "modules", i, path, sizeof(path), &o, err);
		if (r < 0)
			return r;
		r = hv_json_get_string(o, "name", path, HV_CONFIG_MAX_STRING - 1, true, &name, err);
		if (r < 0)
			return r;
		r = hv_json_get_u64(o, "load_paddr", path, UINT64_MAX, true, &paddr, err);
		if (r < 0)
			return r;
		r = get_file(o, "filepath", path, true, false, &file, err);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		fmt(key, sizeof(key), "modules[%zu].filepath", i);
		fmt(paddr_key, sizeof(paddr_key), "modules[%zu].load_paddr", i);
		r = add_file_image(cfg, HV_IMAGE_MODULE, key, paddr_key, file, name, paddr, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Guest PA -> host PA the way upstream's multiboot2 loader does it: with
 * the offset of the first RAM region. */
static int x86_gpa_to_hpa(const struct hv_zone_config *cfg, const char *path, uint64_t gpa,
			  uint64_t *ret, struct hv_error *err)
{
	for (uint32_t i = 0; i < cfg->n_regions; i++) {
		const struct hv_cfg_memory_region *mr = &cfg->regions[i];

		if (mr->type != HV_MEM_TYPE_RAM)
			continue;
		*ret = gpa - mr->virtual_start + mr->physical_start; /* modular, as upstream */
		return 0;
	}
	hv_error_set(err, path, "needs a RAM region to translate the guest address");
	return -EINVAL;
}

/* Top-level keys that only x86 reads (multiboot2 boot). */
static int parse_x86_top(json_object *root, struct hv_zone_config *cfg, struct hv_error *err)
{
	struct hv_arch_x86_64 *x = &cfg->arch_config.x86_64;
	const char *s;
	char buf[40];
	int r;

	r = hv_json_get_string(root, "boot_protocol", "", HV_CONFIG_MAX_STRING, false, &s, err);
	if (r < 0)
		return r;
	if (r > 0) {
		/* upstream: any other string means the Linux boot protocol */
		if (strcmp(s, "multiboot2") == 0)
			x->multiboot2 = true;
		else
			add_warning(cfg, "boot_protocol: '%s' is not supported, using Linux boot",
				    hv_printable(s, buf, sizeof(buf)));
	} else {
		/* legacy spelling */
		r = hv_json_get_bool(root, "multiboot_enabled", "", &x->multiboot2, err);
		if (r < 0)
			return r;
	}

	r = hv_json_get_string(root, "kernel_cmdline", "", HV_CONFIG_MAX_STRING - 1, false, &s,
			       err);
	if (r < 0)
		return r;
	if (r > 0) {
		x->kernel_cmdline = strdup(s);
		if (!x->kernel_cmdline) {
			hv_error_set(err, "kernel_cmdline", "out of memory");
			return -ENOMEM;
		}
	}

	x->multiboot_info_paddr = X86_DEFAULT_MULTIBOOT_INFO_PADDR;
	r = hv_json_get_u64(root, "multiboot_info_paddr", "", UINT64_MAX, false,
			    &x->multiboot_info_paddr, err);
	if (r < 0)
		return r;

	return 0;
}

/* After arch_config, so that images[] keep the order foreach_file visits. */
static int parse_x86_initramfs(json_object *root, struct hv_zone_config *cfg, struct hv_error *err)
{
	struct hv_arch_x86_64 *x = &cfg->arch_config.x86_64;
	const char *file = NULL;
	bool has_file, has_gpa;
	uint64_t gpa = 0, hpa;
	int r;

	has_file = json_object_object_get_ex(root, "initramfs_filepath", NULL);
	has_gpa = json_object_object_get_ex(root, "initramfs_load_gpa", NULL);
	if (has_file != has_gpa) {
		hv_error_set(err, has_file ? "initramfs_load_gpa" : "initramfs_filepath",
			     "missing (required with %s)",
			     has_file ? "initramfs_filepath" : "initramfs_load_gpa");
		return -EINVAL;
	}
	if (!has_file)
		return 0;
	r = hv_json_get_u64(root, "initramfs_load_gpa", "", UINT64_MAX, true, &gpa, err);
	if (r < 0)
		return r;
	x->initramfs_load_gpa = gpa;
	r = get_file(root, "initramfs_filepath", "", true, false, &file, err);
	if (r <= 0)
		return r;
	if (!x->multiboot2) {
		add_warning(cfg, "initramfs_filepath: only used with boot_protocol \"multiboot2\", "
				 "ignored");
		return 0;
	}
	r = x86_gpa_to_hpa(cfg, "initramfs_load_gpa", gpa, &hpa, err);
	if (r < 0)
		return r;
	return add_file_image(cfg, HV_IMAGE_INITRAMFS, "initramfs_filepath", "initramfs_load_gpa",
			      file, NULL, hpa, err);
}

static int parse_aarch64(json_object *ac, struct hv_zone_config *cfg, struct hv_error *err)
{
	static const char *const v2_keys[] = {"gicd_base", "gicd_size",	  "gicc_base",
					      "gicc_size", "gicc_offset", "gich_base",
					      "gich_size", "gicv_base",	  "gicv_size"};
	static const char *const v3_keys[] = {"gicd_base", "gicd_size", "gicr_base", "gicr_size"};
	struct hv_arch_aarch64 *a = &cfg->arch_config.aarch64;
	uint64_t *v2_fields[] = {&a->gicd_base, &a->gicd_size,	 &a->gicc_base,
				 &a->gicc_size, &a->gicc_offset, &a->gich_base,
				 &a->gich_size, &a->gicv_base,	 &a->gicv_size};
	uint64_t *v3_fields[] = {&a->gicd_base, &a->gicd_size, &a->gicr_base, &a->gicr_size};
	const char *const *keys;
	uint64_t *const *fields;
	const char *version;
	char buf[40];
	size_t n;
	int r;

	r = hv_json_get_string(ac, "gic_version", "arch_config", HV_CONFIG_MAX_STRING, true,
			       &version, err);
	if (r < 0)
		return r;
	if (strcmp(version, "v2") == 0) {
		a->gic_version = 2;
		keys = v2_keys;
		fields = v2_fields;
		n = ARRAY_SIZE(v2_keys);
	} else if (strcmp(version, "v3") == 0) {
		a->gic_version = 3;
		keys = v3_keys;
		fields = v3_fields;
		n = ARRAY_SIZE(v3_keys);
	} else {
		hv_error_set(err, "arch_config.gic_version",
			     "unknown GIC version '%s' (expected \"v2\" or \"v3\")",
			     hv_printable(version, buf, sizeof(buf)));
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		r = hv_json_get_u64(ac, keys[i], "arch_config", UINT64_MAX, true, fields[i], err);
		if (r < 0)
			return r;
	}
	if (a->gic_version == 3) {
		uint64_t base, size;
		int rb, rs;

		rb = hv_json_get_u64(ac, "gits_base", "arch_config", UINT64_MAX, false, &base, err);
		if (rb < 0)
			return rb;
		rs = hv_json_get_u64(ac, "gits_size", "arch_config", UINT64_MAX, false, &size, err);
		if (rs < 0)
			return rs;
		/* as upstream: an ITS needs both, otherwise none */
		if (rb > 0 && rs > 0) {
			a->gits_base = base;
			a->gits_size = size;
		} else
			add_warning(cfg,
				    "arch_config: no gits_base/gits_size, the zone gets no ITS");
	}

	r = hv_json_get_bool(ac, "is_aarch32", "arch_config", &a->is_aarch32, err);
	if (r < 0)
		return r;

	r = hv_json_get_u64(ac, "memory_map_addr", "arch_config", UINT64_MAX, false,
			    &a->memory_map_addr, err);
	if (r < 0)
		return r;
	if (r > 0) {
		a->has_uefi = true;
		if ((r = hv_json_get_u64(ac, "memory_map_size", "arch_config", UINT64_MAX, true,
					 &a->memory_map_size, err)) < 0 ||
		    (r = hv_json_get_u64(ac, "sys_map_addr", "arch_config", UINT64_MAX, true,
					 &a->sys_map_addr, err)) < 0)
			return r;
	}
	return 0;
}

static int parse_riscv64(json_object *ac, struct hv_zone_config *cfg, struct hv_error *err)
{
	struct hv_arch_riscv64 *a = &cfg->arch_config.riscv64;
	int r;

	/* hvisor uses one pair or the other depending on its build; upstream
	 * requires both. */
	if ((r = hv_json_get_u64(ac, "plic_base", "arch_config", UINT64_MAX, true, &a->plic_base,
				 err)) < 0 ||
	    (r = hv_json_get_u64(ac, "plic_size", "arch_config", UINT64_MAX, true, &a->plic_size,
				 err)) < 0 ||
	    (r = hv_json_get_u64(ac, "aplic_base", "arch_config", UINT64_MAX, true, &a->aplic_base,
				 err)) < 0 ||
	    (r = hv_json_get_u64(ac, "aplic_size", "arch_config", UINT64_MAX, true, &a->aplic_size,
				 err)) < 0)
		return r;
	return 0;
}

/*
 * An optional x86 group of keys (a file or cmdline and its load addresses):
 * all or nothing. Returns 1 when present, 0 when absent, or an error naming
 * the first missing key.
 */
static int x86_group(json_object *ac, const char *const *keys, size_t n, struct hv_error *err)
{
	const char *present = NULL, *missing = NULL;
	char path[PATH_SIZE];

	for (size_t i = 0; i < n; i++) {
		if (json_object_object_get_ex(ac, keys[i], NULL)) {
			if (!present)
				present = keys[i];
		} else if (!missing)
			missing = keys[i];
	}
	if (!present)
		return 0;
	if (missing) {
		hv_error_set(err, hv_json_path_join(path, sizeof(path), "arch_config", missing),
			     "missing (required with %s)", present);
		return -EINVAL;
	}
	return 1;
}

/* file group: keys[0] names the file, keys[1] its host load address,
 * keys[2] (optional) the guest address the boot code is told about. */
static int x86_file_group(json_object *ac, struct hv_zone_config *cfg, enum hv_image_kind kind,
			  const char *const *keys, size_t n, uint64_t *gpa, struct hv_error *err)
{
	char key[64], paddr_key[64];
	const char *file;
	uint64_t hpa;
	int r;

	r = x86_group(ac, keys, n, err);
	if (r <= 0)
		return r;
	if ((r = hv_json_get_u64(ac, keys[1], "arch_config", UINT64_MAX, true, &hpa, err)) < 0)
		return r;
	if (n > 2 &&
	    (r = hv_json_get_u64(ac, keys[2], "arch_config", UINT64_MAX, true, gpa, err)) < 0)
		return r;
	r = get_file(ac, keys[0], "arch_config", true, false, &file, err);
	if (r <= 0)
		return r;
	fmt(key, sizeof(key), "arch_config.%s", keys[0]);
	fmt(paddr_key, sizeof(paddr_key), "arch_config.%s", keys[1]);
	return add_file_image(cfg, kind, key, paddr_key, file, NULL, hpa, err);
}

static int parse_x86_64(json_object *ac, struct hv_zone_config *cfg, struct hv_error *err)
{
	static const char *const boot_keys[] = {"boot_filepath", "boot_load_paddr"};
	static const char *const setup_keys[] = {"setup_filepath", "setup_load_hpa",
						 "setup_load_gpa"};
	static const char *const initrd_keys[] = {"initrd_filepath", "initrd_load_hpa",
						  "initrd_load_gpa"};
	static const char *const cmdline_keys[] = {"cmdline", "cmdline_load_hpa",
						   "cmdline_load_gpa"};
	struct hv_arch_x86_64 *x = &cfg->arch_config.x86_64;
	const char *cmdline;
	uint64_t hpa;
	int r;

	if ((r = hv_json_get_u64(ac, "ioapic_base", "arch_config", UINT64_MAX, true,
				 &x->ioapic_base, err)) < 0 ||
	    (r = hv_json_get_u64(ac, "ioapic_size", "arch_config", UINT64_MAX, true,
				 &x->ioapic_size, err)) < 0)
		return r;
	/* multiboot2 takes the entry from the kernel's ELF header */
	r = hv_json_get_u64(ac, "kernel_entry_gpa", "arch_config", UINT64_MAX, !x->multiboot2,
			    &x->kernel_entry_gpa, err);
	if (r < 0)
		return r;

	if ((r = x86_file_group(ac, cfg, HV_IMAGE_X86_BOOT, boot_keys, ARRAY_SIZE(boot_keys), NULL,
				err)) < 0 ||
	    (r = x86_file_group(ac, cfg, HV_IMAGE_X86_SETUP, setup_keys, ARRAY_SIZE(setup_keys),
				&x->setup_load_gpa, err)) < 0 ||
	    (r = x86_file_group(ac, cfg, HV_IMAGE_X86_INITRD, initrd_keys, ARRAY_SIZE(initrd_keys),
				&x->initrd_load_gpa, err)) < 0)
		return r;

	r = x86_group(ac, cmdline_keys, ARRAY_SIZE(cmdline_keys), err);
	if (r < 0)
		return r;
	if (r > 0) {
		if ((r = hv_json_get_string(ac, "cmdline", "arch_config", HV_CONFIG_MAX_STRING - 1,
					    true, &cmdline, err)) < 0 ||
		    (r = hv_json_get_u64(ac, "cmdline_load_hpa", "arch_config", UINT64_MAX, true,
					 &hpa, err)) < 0 ||
		    (r = hv_json_get_u64(ac, "cmdline_load_gpa", "arch_config", UINT64_MAX, true,
					 &x->cmdline_load_gpa, err)) < 0)
			return r;
		r = add_inline_image(cfg, HV_IMAGE_X86_CMDLINE, "arch_config.cmdline",
				     "arch_config.cmdline_load_hpa", cmdline, hpa, err);
		if (r < 0)
			return r;
	}

	/* indexes into memory_regions[] (64 entries) */
	if ((r = hv_json_get_u64(ac, "rsdp_memory_region_id", "arch_config",
				 HV_CONFIG_MAX_MEMORY_REGIONS - 1, true, &x->rsdp_memory_region_id,
				 err)) < 0 ||
	    (r = hv_json_get_u64(ac, "acpi_memory_region_id", "arch_config",
				 HV_CONFIG_MAX_MEMORY_REGIONS - 1, true, &x->acpi_memory_region_id,
				 err)) < 0 ||
	    (r = hv_json_get_u64(ac, "uefi_memory_region_id", "arch_config",
				 HV_CONFIG_MAX_MEMORY_REGIONS - 1, true, &x->uefi_memory_region_id,
				 err)) < 0 ||
	    (r = hv_json_get_u64(ac, "screen_base", "arch_config", UINT64_MAX, true,
				 &x->screen_base, err)) < 0)
		return r;
	return 0;
}

static int parse_arch_config(json_object *root, struct hv_zone_config *cfg, struct hv_error *err)
{
	json_object *ac = NULL;
	int r;

	/* upstream does not read arch_config on LoongArch at all */
	if (cfg->arch == HV_ARCH_LOONGARCH64)
		return 0;
	r = get_object(root, "arch_config", true, &ac, err);
	if (r < 0)
		return r;
	switch (cfg->arch) {
	case HV_ARCH_AARCH64:
		return parse_aarch64(ac, cfg, err);
	case HV_ARCH_RISCV64:
		return parse_riscv64(ac, cfg, err);
	case HV_ARCH_X86_64:
		return parse_x86_64(ac, cfg, err);
	default:
		return 0;
	}
}

static int parse_pci_bus(json_object *o, const char *path, struct hv_cfg_pci_bus *b,
			 struct hv_error *err)
{
	static const char *const keys[] = {"ecam_base",	 "ecam_size",	   "io_base",
					   "io_size",	 "pci_io_base",	   "mem32_base",
					   "mem32_size", "pci_mem32_base", "mem64_base",
					   "mem64_size", "pci_mem64_base"};
	__u64 *fields[] = {&b->ecam_base,   &b->ecam_size,  &b->io_base,       &b->io_size,
			   &b->pci_io_base, &b->mem32_base, &b->mem32_size,    &b->pci_mem32_base,
			   &b->mem64_base,  &b->mem64_size, &b->pci_mem64_base};
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		r = get_abi_u64(o, keys[i], path, true, fields[i], err);
		if (r < 0)
			return r;
	}
	if ((r = hv_json_get_u32(o, "bus_range_begin", path, UINT32_MAX, true, &b->bus_range_begin,
				 err)) < 0 ||
	    (r = hv_json_get_u32(o, "bus_range_end", path, UINT32_MAX, true, &b->bus_range_end,
				 err)) < 0 ||
	    (r = get_u8(o, "domain", path, UINT8_MAX, true, &b->domain, err)) < 0)
		return r;
	return 0;
}

static int parse_pci_dev(json_object *o, const char *path, struct hv_cfg_pci_dev_0x06 *d,
			 bool *defaulted, struct hv_error *err)
{
	int r;

	if ((r = get_u8(o, "domain", path, UINT8_MAX, true, &d->domain, err)) < 0 ||
	    (r = get_u8(o, "bus", path, UINT8_MAX, true, &d->bus, err)) < 0 ||
	    (r = get_u8(o, "device", path, 31, true, &d->device, err)) < 0 ||
	    (r = get_u8(o, "function", path, 7, true, &d->function, err)) < 0 ||
	    (r = hv_json_get_u32(o, "dev_type", path, UINT32_MAX, true, &d->dev_type, err)) < 0)
		return r;
	/* No upstream example sets a virtual BDF; its intent is "same as the
	 * physical one", which is what an absent key gives here. */
	d->v_bus = d->bus;
	d->v_device = d->device;
	d->v_function = d->function;
	if ((r = get_u8(o, "v_bus", path, UINT8_MAX, false, &d->v_bus, err)) < 0)
		return r;
	*defaulted |= r == 0;
	if ((r = get_u8(o, "v_device", path, 31, false, &d->v_device, err)) < 0)
		return r;
	*defaulted |= r == 0;
	if ((r = get_u8(o, "v_function", path, 7, false, &d->v_function, err)) < 0)
		return r;
	*defaulted |= r == 0;
	return 0;
}

static int parse_pci(json_object *root, struct hv_zone_config *cfg, struct hv_error *err)
{
	char path[PATH_SIZE];
	json_object *arr, *o;
	bool defaulted = false;
	size_t n;
	int r;

	r = hv_json_get_array(root, "pci_config", "", HV_CONFIG_MAX_PCI_BUS, false, &arr, err);
	if (r < 0)
		return r;
	if (r == 0)
		add_warning(cfg, "pci_config: missing, the zone gets no PCI bus");
	n = r > 0 ? json_object_array_length(arr) : 0;
	for (size_t i = 0; i < n; i++) {
		r = hv_json_array_object(arr, "pci_config", i, path, sizeof(path), &o, err);
		if (r < 0)
			return r;
		r = parse_pci_bus(o, path, &cfg->pci_bus[i], err);
		if (r < 0)
			return r;
		cfg->n_pci_bus = (uint32_t)i + 1;
	}

	r = hv_json_get_array(root, "alloc_pci_devs", "", HV_CONFIG_MAX_PCI_DEVS, false, &arr, err);
	if (r <= 0)
		return r;
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		r = hv_json_array_object(arr, "alloc_pci_devs", i, path, sizeof(path), &o, err);
		if (r < 0)
			return r;
		r = parse_pci_dev(o, path, &cfg->pci_devs[i], &defaulted, err);
		if (r < 0)
			return r;
		cfg->n_pci_devs = (uint32_t)i + 1;
	}
	if (defaulted)
		add_warning(cfg, "alloc_pci_devs: v_bus/v_device/v_function missing, "
				 "using the physical bus/device/function");
	return 0;
}

static bool str_in(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* A misspelt optional key silently changes the zone, so say so. */
static void warn_unknown_keys(json_object *root, struct hv_zone_config *cfg)
{
	static const char *const known[] = {
		"zone_id",	   "cpus",	     "name",
		"memory_regions",  "interrupts",     "ivc_configs",
		"kernel_filepath", "dtb_filepath",   "kernel_load_paddr",
		"dtb_load_paddr",  "entry_point",    "arch_config",
		"pci_config",	   "alloc_pci_devs", "modules",
	};
	static const char *const x86_only[] = {
		"boot_protocol",	"multiboot_enabled",  "kernel_cmdline",
		"multiboot_info_paddr", "initramfs_filepath", "initramfs_load_gpa",
	};
	/* informational keys in upstream examples */
	static const char *const ignored[] = {"arch", "num_pci_devs"};
	char buf[48];

	json_object_object_foreach (root, key, val) {
		(void)val;
		if (str_in(key, known, ARRAY_SIZE(known)) ||
		    str_in(key, ignored, ARRAY_SIZE(ignored)))
			continue;
		if (str_in(key, x86_only, ARRAY_SIZE(x86_only))) {
			if (cfg->arch != HV_ARCH_X86_64)
				add_warning(cfg, "'%s' only applies to x86_64, ignored", key);
			continue;
		}
		add_warning(cfg, "unknown key '%s' ignored", hv_printable(key, buf, sizeof(buf)));
	}
}

static int zone_config_parse(json_object *root, enum hv_arch arch, struct hv_zone_config **ret,
			     struct hv_error *err)
{
	_cleanup_(hv_zone_config_freep) struct hv_zone_config *cfg = NULL;
	int r;

	if (!json_object_is_type(root, json_type_object)) {
		hv_error_set(err, "", "a zone config must be a JSON object");
		return -EINVAL;
	}
	if ((unsigned)arch >= _HV_ARCH_MAX) {
		hv_error_set(err, "", "unknown architecture %d", (int)arch);
		return -EINVAL;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		hv_error_set(err, "", "out of memory");
		return -ENOMEM;
	}
	cfg->arch = arch;

	if ((r = parse_head(root, cfg, err)) < 0 || (r = parse_regions(root, cfg, err)) < 0 ||
	    (r = parse_interrupts(root, cfg, err)) < 0 || (r = parse_ivc(root, cfg, err)) < 0 ||
	    (r = parse_boot_images(root, cfg, err)) < 0 || (r = parse_modules(root, cfg, err)) < 0)
		return r;
	if (arch == HV_ARCH_X86_64 && (r = parse_x86_top(root, cfg, err)) < 0)
		return r;
	if ((r = parse_arch_config(root, cfg, err)) < 0)
		return r;
	if (arch == HV_ARCH_X86_64 && (r = parse_x86_initramfs(root, cfg, err)) < 0)
		return r;
	if ((r = parse_pci(root, cfg, err)) < 0)
		return r;
	warn_unknown_keys(root, cfg);

	*ret = TAKE_PTR(cfg);
	return 0;
}

int hv_zone_config_apparent_arch(json_object *root, struct hv_arch_evidence *ret)
{
	/* arch_config keys that only one architecture's hvisor-tool reads */
	static const struct {
		const char *key;
		enum hv_arch arch;
	} keys[] = {
		{"gic_version", HV_ARCH_AARCH64}, {"gicd_base", HV_ARCH_AARCH64},
		{"plic_base", HV_ARCH_RISCV64},	  {"aplic_base", HV_ARCH_RISCV64},
		{"ioapic_base", HV_ARCH_X86_64},
	};
	const char *first[_HV_ARCH_MAX] = {0};
	json_object *ac, *v;
	unsigned seen = 0;
	char buf[24];

	if (json_object_object_get_ex(root, "arch_config", &ac) &&
	    json_object_is_type(ac, json_type_object))
		for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
			if (json_object_object_get_ex(ac, keys[i].key, NULL)) {
				seen |= 1u << keys[i].arch;
				if (!first[keys[i].arch])
					first[keys[i].arch] = keys[i].key;
			}
	/* keys of two architectures contradict each other: no evidence */
	if (seen && !(seen & (seen - 1))) {
		ret->arch = (enum hv_arch)__builtin_ctz(seen);
		snprintf(ret->path, sizeof(ret->path), "arch_config");
		snprintf(ret->why, sizeof(ret->why), "arch_config has %s", first[ret->arch]);
		return 1;
	}
	if (json_object_object_get_ex(root, "arch", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    hv_arch_from_string(json_object_get_string(v), &ret->arch) == 0) {
		snprintf(ret->path, sizeof(ret->path), "arch");
		snprintf(ret->why, sizeof(ret->why), "\"arch\" is \"%s\"",
			 hv_printable(json_object_get_string(v), buf, sizeof(buf)));
		return 1;
	}
	return 0;
}

/* A config written for another architecture fails somewhere in the parse
 * (x86's ioapic_base is missing from an aarch64 config, ...): that error
 * would hide the cause, so the mismatch is the error. Where nothing fails
 * (loongarch64 reads no arch_config) it is a warning. */
static void check_apparent_arch(json_object *root, enum hv_arch arch, struct hv_zone_config *cfg,
				struct hv_error *err)
{
	struct hv_arch_evidence e;

	if (hv_zone_config_apparent_arch(root, &e) <= 0 || e.arch == arch)
		return;
	if (cfg)
		add_warning(cfg, "this config looks like %s (%s) but the backend is %s; read as %s",
			    hv_arch_to_string(e.arch), e.why, hv_arch_to_string(arch),
			    hv_arch_to_string(arch));
	else
		hv_error_set(err, e.path, "this config looks like %s (%s) but the backend is %s",
			     hv_arch_to_string(e.arch), e.why, hv_arch_to_string(arch));
}

int hv_zone_config_parse(json_object *root, enum hv_arch arch, struct hv_zone_config **ret,
			 struct hv_error *err)
{
	int r = zone_config_parse(root, arch, ret, err);

	if (r == -EINVAL && json_object_is_type(root, json_type_object) &&
	    (unsigned)arch < _HV_ARCH_MAX)
		check_apparent_arch(root, arch, NULL, err);
	else if (r == 0)
		check_apparent_arch(root, arch, *ret, err);
	return r;
}

int hv_zone_config_parse_json(const char *text, size_t len, int max_depth, json_object **ret,
			      struct hv_error *err)
{
	json_object *root;
	int r;

	if (max_depth <= 0 || max_depth > CONFIG_MAX_DEPTH)
		max_depth = CONFIG_MAX_DEPTH;
	r = hv_json_parse_text(text, len, CONFIG_MAX_TEXT, max_depth, &root, err);
	if (r < 0)
		return r;
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		hv_error_set(err, "", "a zone config must be a JSON object");
		return -EINVAL;
	}
	*ret = root;
	return 0;
}

int hv_zone_config_parse_string(const char *text, size_t len, enum hv_arch arch,
				struct hv_zone_config **ret, struct hv_error *err)
{
	json_object *root;
	int r;

	r = hv_zone_config_parse_json(text, len, 0, &root, err);
	if (r < 0)
		return r;
	r = hv_zone_config_parse(root, arch, ret, err);
	json_object_put(root);
	return r;
}

struct hv_zone_config *hv_zone_config_free(struct hv_zone_config *cfg)
{
	if (!cfg)
		return NULL;
	for (size_t i = 0; i < cfg->n_images && i < HV_CONFIG_MAX_IMAGES; i++) {
		free(cfg->images[i].path);
		free(cfg->images[i].data);
		free(cfg->images[i].name);
	}
	if (cfg->arch == HV_ARCH_X86_64)
		free(cfg->arch_config.x86_64.kernel_cmdline);
	free(cfg);
	return NULL;
}

/* ---- image placement --------------------------------------------------- */

int hv_zone_config_check_supported(const struct hv_zone_config *cfg, struct hv_error *err)
{
	if (cfg->arch == HV_ARCH_X86_64 && cfg->arch_config.x86_64.multiboot2) {
		hv_error_set(err, "boot_protocol", "multiboot2 zones are not supported yet");
		return -EOPNOTSUPP;
	}
	return 0;
}

static bool in_ram(const struct hv_zone_config *cfg, uint64_t start, uint64_t end)
{
	for (uint32_t i = 0; i < cfg->n_regions && i < HV_CONFIG_MAX_MEMORY_REGIONS; i++) {
		const struct hv_cfg_memory_region *mr = &cfg->regions[i];
		uint64_t mr_end;

		if (mr->type != HV_MEM_TYPE_RAM ||
		    range_end(mr->physical_start, mr->size, &mr_end) < 0)
			continue;
		if (start >= mr->physical_start && end <= mr_end)
			return true;
	}
	return false;
}

int hv_zone_config_check_images(const struct hv_zone_config *cfg, struct hv_error *err)
{
	size_t n = MIN(cfg->n_images, (size_t)HV_CONFIG_MAX_IMAGES);

	for (size_t i = 0; i < n; i++) {
		const struct hv_image *img = &cfg->images[i];
		uint64_t end;

		if (img->size == 0) {
			hv_error_set(err, img->key, "the file is empty");
			return -EINVAL;
		}
		/* LOAD_IMAGE writes host memory: it must be the zone's own RAM. */
		if (range_end(img->load_paddr, img->size, &end) < 0 ||
		    !in_ram(cfg, img->load_paddr, end)) {
			hv_error_set(err, img->key,
				     "0x%" PRIx64 " bytes at 0x%" PRIx64
				     " do not fit in a RAM region",
				     img->size, img->load_paddr);
			return -EINVAL;
		}
	}
	for (size_t j = 1; j < n; j++) {
		const struct hv_image *b = &cfg->images[j];

		for (size_t i = 0; i < j; i++) {
			const struct hv_image *a = &cfg->images[i];

			if (ranges_overlap(a->load_paddr, a->size, b->load_paddr, b->size)) {
				hv_error_set(err, b->key,
					     "0x%" PRIx64 " bytes at 0x%" PRIx64
					     " overlap %s (0x%" PRIx64 " bytes at 0x%" PRIx64 ")",
					     b->size, b->load_paddr, a->key, a->size,
					     a->load_paddr);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* ---- files a config names ---------------------------------------------- */

static int visit_file(json_object *obj, const char *key, const char *full_key,
		      int (*cb)(const char *key, const char *path, void *userdata), void *userdata,
		      struct hv_error *err)
{
	json_object *v;
	const char *s;
	int r;

	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	r = hv_json_value_string(v, full_key, HV_CONFIG_MAX_STRING - 1, &s, err);
	if (r < 0)
		return r;
	if (s[0] == '\0' || strcmp(s, "null") == 0)
		return 0;
	r = cb(full_key, s, userdata);
	return r < 0 ? r : 0;
}

int hv_zone_config_foreach_file(json_object *root,
				int (*cb)(const char *key, const char *path, void *userdata),
				void *userdata, struct hv_error *err)
{
	static const char *const x86_files[] = {"boot_filepath", "setup_filepath",
						"initrd_filepath"};
	char key[64];
	json_object *modules, *ac;
	int r;

	if (!json_object_is_type(root, json_type_object)) {
		hv_error_set(err, "", "a zone config must be a JSON object");
		return -EINVAL;
	}
	if ((r = visit_file(root, "kernel_filepath", "kernel_filepath", cb, userdata, err)) < 0 ||
	    (r = visit_file(root, "dtb_filepath", "dtb_filepath", cb, userdata, err)) < 0)
		return r;

	/* Bounded as in the parser: each file becomes an fd in one message. */
	r = hv_json_get_array(root, "modules", "", HV_CONFIG_MAX_MODULES, false, &modules, err);
	if (r < 0)
		return r;
	for (size_t i = 0; r > 0 && i < json_object_array_length(modules); i++) {
		json_object *m;
		int k;

		k = hv_json_array_object(modules, "modules", i, key, sizeof(key), &m, err);
		if (k < 0)
			return k;
		fmt(key, sizeof(key), "modules[%zu].filepath", i);
		k = visit_file(m, "filepath", key, cb, userdata, err);
		if (k < 0)
			return k;
	}

	r = get_object(root, "arch_config", false, &ac, err);
	if (r < 0)
		return r;
	for (size_t i = 0; r > 0 && i < ARRAY_SIZE(x86_files); i++) {
		int k;

		fmt(key, sizeof(key), "arch_config.%s", x86_files[i]);
		k = visit_file(ac, x86_files[i], key, cb, userdata, err);
		if (k < 0)
			return k;
	}

	return visit_file(root, "initramfs_filepath", "initramfs_filepath", cb, userdata, err);
}
