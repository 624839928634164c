// SPDX-License-Identifier: GPL-2.0-only
/*
 * Zone JSON parser (proto/config.c): every upstream shape is accepted with
 * the right values, every rejection names the right JSON path, the shipped
 * examples parse, image placement is checked, and garbage never crashes.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "macro.h"
#include "rng.h"
#include "source.h"

/* ---- helpers ----------------------------------------------------------- */

/* Test documents are written with ' for " to stay readable in C. */
static char *dq(const char *s)
{
	char *r = strdup(s);

	assert_non_null(r);
	for (char *p = r; *p; p++)
		if (*p == '\'')
			*p = '"';
	return r;
}

static json_object *load(const char *single_quoted)
{
	char *text = dq(single_quoted);
	json_object *o = json_tokener_parse(text);

	if (!o)
		fail_msg("test document does not parse: %s", text);
	free(text);
	return o;
}

static struct hv_zone_config *parse_ok_obj(json_object *root, enum hv_arch arch)
{
	struct hv_zone_config *cfg = NULL;
	struct hv_error err = {0};
	int r;

	r = hv_zone_config_parse(root, arch, &cfg, &err);
	if (r < 0)
		fail_msg("parse failed: %s: %s", err.path, err.message);
	assert_non_null(cfg);
	return cfg;
}

static struct hv_zone_config *parse_ok(const char *doc, enum hv_arch arch)
{
	json_object *root = load(doc);
	struct hv_zone_config *cfg = parse_ok_obj(root, arch);

	json_object_put(root);
	return cfg;
}

static void expect_error(int r, const struct hv_error *err, const char *path, const char *msg)
{
	if (r != -EINVAL)
		fail_msg("expected -EINVAL, got %d (expected error %s: %s)", r, path, msg);
	if (strcmp(err->path, path) != 0 || !strstr(err->message, msg))
		fail_msg("expected error '%s: ...%s...', got '%s: %s'", path, msg, err->path,
			 err->message);
}

/* Parses text (single-quoted) expecting an error at path mentioning msg. */
static void string_rejects(const char *doc, enum hv_arch arch, const char *path, const char *msg)
{
	struct hv_zone_config *cfg = (struct hv_zone_config *)&cfg;
	struct hv_error err = {0};
	char *text = dq(doc);
	int r;

	r = hv_zone_config_parse_string(text, strlen(text), arch, &cfg, &err);
	expect_error(r, &err, path, msg);
	/* ret is only written on success */
	assert_ptr_equal(cfg, (struct hv_zone_config *)&cfg);
	free(text);
}

/* Replaces (value) or deletes (value == NULL) the member at path, e.g.
 * "memory_regions[1].size"; an index equal to the length appends. */
static void mutate(json_object *root, const char *path, const char *value)
{
	json_object *cur = root, *v = NULL;
	const char *p = path;
	char seg[64];

	if (value) {
		char *text = dq(value);

		v = json_tokener_parse(text);
		if (!v && strcmp(text, "null") != 0)
			fail_msg("bad test value %s", value);
		free(text);
	}
	for (;;) {
		bool is_index = *p == '[';
		size_t idx = 0, n = 0;

		if (is_index) {
			idx = strtoul(p + 1, NULL, 10);
			p = strchr(p, ']') + 1;
		} else {
			while (p[n] && p[n] != '.' && p[n] != '[')
				n++;
			assert_true(n < sizeof(seg));
			memcpy(seg, p, n);
			seg[n] = '\0';
			p += n;
		}
		if (*p == '.')
			p++;
		if (*p == '\0') {
			if (is_index && value)
				assert_int_equal(json_object_array_put_idx(cur, idx, v), 0);
			else if (is_index)
				assert_int_equal(json_object_array_del_idx(cur, idx, 1), 0);
			else if (value)
				assert_int_equal(json_object_object_add(cur, seg, v), 0);
			else
				json_object_object_del(cur, seg);
			return;
		}
		cur = is_index ? json_object_array_get_idx(cur, idx)
			       : json_object_object_get(cur, seg);
		if (!cur)
			fail_msg("test path %s does not exist", path);
	}
}

static const struct hv_image *find_image(const struct hv_zone_config *cfg, const char *key)
{
	for (size_t i = 0; i < cfg->n_images; i++)
		if (strcmp(cfg->images[i].key, key) == 0)
			return &cfg->images[i];
	return NULL;
}

static bool has_warning(const struct hv_zone_config *cfg, const char *needle)
{
	for (unsigned i = 0; i < cfg->n_warnings; i++)
		if (strstr(cfg->warnings[i], needle))
			return true;
	return false;
}

static bool irq_set(const struct hv_zone_config *cfg, unsigned irq)
{
	return cfg->irq_bitmap[irq / 32] & (UINT32_C(1) << (irq % 32));
}

static unsigned irq_count(const struct hv_zone_config *cfg)
{
	unsigned n = 0;

	for (unsigned i = 0; i < HV_CONFIG_MAX_INTERRUPTS; i++)
		n += irq_set(cfg, i);
	return n;
}

static void check_region(const struct hv_cfg_memory_region *r, uint32_t type, uint64_t phys,
			 uint64_t virt, uint64_t size)
{
	assert_int_equal(r->type, type);
	assert_int_equal(r->physical_start, phys);
	assert_int_equal(r->virtual_start, virt);
	assert_int_equal(r->size, size);
}

static void check_image(const struct hv_zone_config *cfg, const char *key, enum hv_image_kind kind,
			const char *paddr_key, const char *path, uint64_t paddr)
{
	const struct hv_image *img = find_image(cfg, key);

	if (!img)
		fail_msg("no image %s", key);
	assert_int_equal(img->kind, kind);
	assert_string_equal(img->paddr_key, paddr_key);
	assert_string_equal(img->path, path);
	assert_null(img->data);
	assert_int_equal(img->load_paddr, paddr);
	assert_int_equal(img->size, 0);
}

/* ---- base documents ---------------------------------------------------- */

static const char AARCH64_V3[] =
	"{'arch':'arm64','name':'linux1','zone_id':1,'cpus':[2,3],"
	"'memory_regions':["
	"{'type':'ram','physical_start':'0x50000000','virtual_start':'0x50000000',"
	"'size':'0x30000000'},"
	"{'type':'virtio','physical_start':'0xa000000','virtual_start':'0xa000000',"
	"'size':'0x4000'}],"
	"'interrupts':[76,78],'ivc_configs':[],"
	"'kernel_filepath':'Image','dtb_filepath':'linux.dtb',"
	"'kernel_load_paddr':'0x50400000','dtb_load_paddr':'0x50000000',"
	"'entry_point':'0x50400000',"
	"'arch_config':{'gic_version':'v3','gicd_base':'0x8000000','gicd_size':'0x10000',"
	"'gicr_base':'0x80a0000','gicr_size':'0xf60000','gits_base':'0x8080000',"
	"'gits_size':'0x20000','is_aarch32':false},"
	"'pci_config':[]}";

/* numbers in every accepted spelling, a virtio region without
 * virtual_start, IVC, modules */
static const char AARCH64_V2[] =
	"{'name':'zcu','zone_id':'2','cpus':['1',3],"
	"'memory_regions':["
	"{'type':'ram','physical_start':'0x40000000','virtual_start':'0x40000000',"
	"'size':'0x30000000'},"
	"{'type':'io','physical_start':'0xff010000','virtual_start':'0xff010000','size':4096},"
	"{'type':'virtio','physical_start':'0xff9d0000','size':'0x200'},"
	"{'type':'virtio','physical_start':'0xff9e0000','virtual_start':'0xff9e0000',"
	"'size':'01000'}],"
	"'interrupts':[54,'97','0x66',0,31,32,1023,'0'],"
	"'ivc_configs':[{'ivc_id':0,'peer_id':'1','control_table_ipa':'0xd0000000',"
	"'shared_mem_ipa':'0xd0001000','rw_sec_size':'0x1000','out_sec_size':'0x2000',"
	"'interrupt_num':66,'max_peers':2}],"
	"'kernel_filepath':'Image','dtb_filepath':'zcu.dtb',"
	"'kernel_load_paddr':'0x40400000','dtb_load_paddr':1073741824,"
	"'entry_point':'0x40400000',"
	"'modules':[{'name':'rootfs','filepath':'rootfs.cpio','load_paddr':'0x48000000'},"
	"{'name':'fw','filepath':'fw.bin','load_paddr':1224736768}],"
	"'arch_config':{'gic_version':'v2','gicd_base':'0xf9010000','gicd_size':'0x10000',"
	"'gicc_base':'0xf9020000','gicc_size':'0x20000','gicc_offset':'0xf000',"
	"'gich_base':'0xf9040000','gich_size':'0x20000','gicv_base':'0xf9060000',"
	"'gicv_size':'0x20000','is_aarch32':1},"
	"'pci_config':[]}";

static const char RISCV64[] =
	"{'name':'rv','zone_id':1,'cpus':[3],"
	"'memory_regions':["
	"{'type':'ram','physical_start':'0x83000000','virtual_start':'0x83000000',"
	"'size':'0xc000000'},"
	"{'type':'virtio','physical_start':'0x10007000','virtual_start':'0x10007000',"
	"'size':'0x1000'}],"
	"'interrupts':[7,33],'ivc_configs':[],"
	"'kernel_filepath':'Image','dtb_filepath':'rv.dtb',"
	"'kernel_load_paddr':'0x84000000','dtb_load_paddr':'0x83000000',"
	"'entry_point':'0x84000000',"
	"'arch_config':{'plic_base':'0xc000000','plic_size':'0x4000000',"
	"'aplic_base':'0xd000000','aplic_size':'0x8000'},"
	"'pci_config':[{'ecam_base':'0x30000000','ecam_size':'0x10000000',"
	"'io_base':'0x3000000','io_size':'0x10000','pci_io_base':'0x0',"
	"'mem32_base':'0x40000000','mem32_size':'0x40000000','pci_mem32_base':'0x40000001',"
	"'mem64_base':'0x400000000','mem64_size':'0x400000002','pci_mem64_base':'0x400000003',"
	"'bus_range_begin':1,'bus_range_end':'255','domain':'3'}],"
	"'alloc_pci_devs':["
	"{'domain':0,'bus':0,'device':1,'function':0,'v_bus':0,'v_device':2,'v_function':1,"
	"'dev_type':1},"
	"{'domain':1,'bus':2,'device':31,'function':7,'dev_type':0}]}";

static const char X86_64[] =
	"{'arch':'x86_64','name':'x86','zone_id':1,'cpus':[2,3],"
	"'memory_regions':["
	"{'type':'ram','physical_start':'0x40300000','virtual_start':'0x0','size':'0xe0000'},"
	"{'type':'ram','physical_start':'0x403e0000','virtual_start':'0xe0000','size':'0x20000'},"
	"{'type':'ram','physical_start':'0x40400000','virtual_start':'0x100000',"
	"'size':'0xfe00000'},"
	"{'type':'io','physical_start':'0xfed00000','virtual_start':'0xfed00000',"
	"'size':'0x1000'},"
	"{'type':'virtio','physical_start':'0xfe000000','virtual_start':'0xfe000000',"
	"'size':'0x4000'}],"
	"'interrupts':[4,10],'ivc_configs':[],"
	"'kernel_filepath':'vmlinux.bin','dtb_filepath':'',"
	"'kernel_load_paddr':'0x40400000','dtb_load_paddr':'0x0','entry_point':'0x8000',"
	"'arch_config':{'ioapic_base':'0xfec00000','ioapic_size':'0x1000',"
	"'kernel_entry_gpa':'0x100000',"
	"'boot_filepath':'boot.bin','boot_load_paddr':'0x40308000',"
	"'setup_filepath':'setup.bin','setup_load_hpa':'0x4030d000','setup_load_gpa':'0xd000',"
	"'cmdline':'console=ttyS0','cmdline_load_hpa':'0x4030c000','cmdline_load_gpa':'0xc000',"
	"'initrd_filepath':'initrd.img','initrd_load_hpa':'0x48000000',"
	"'initrd_load_gpa':'0x7d00000',"
	"'rsdp_memory_region_id':1,'acpi_memory_region_id':'2','uefi_memory_region_id':'0x3f',"
	"'screen_base':'0xfd000000'},"
	"'pci_config':[]}";

/* no arch_config, no ivc_configs */
static const char LOONGARCH64[] = "{'name':'la','zone_id':1,'cpus':[1],"
				  "'memory_regions':[{'type':'ram','physical_start':'0x90000000',"
				  "'virtual_start':'0x90000000','size':'0x10000000'}],"
				  "'interrupts':[4],"
				  "'kernel_filepath':'vmlinux.bin','dtb_filepath':'la.dtb',"
				  "'kernel_load_paddr':'0x90200000','dtb_load_paddr':'0x90000000',"
				  "'entry_point':'0x90200000','pci_config':[]}";

/* ---- accepted shapes --------------------------------------------------- */

static void test_aarch64_gicv3(void **state)
{
	struct hv_zone_config *cfg = parse_ok(AARCH64_V3, HV_ARCH_AARCH64);
	const struct hv_arch_aarch64 *a = &cfg->arch_config.aarch64;

	assert_int_equal(cfg->arch, HV_ARCH_AARCH64);
	assert_int_equal(cfg->zone_id, 1);
	assert_int_equal(cfg->cpus, 0xc);
	assert_string_equal(cfg->name, "linux1");
	assert_int_equal(cfg->n_regions, 2);
	check_region(&cfg->regions[0], HV_MEM_TYPE_RAM, 0x50000000, 0x50000000, 0x30000000);
	check_region(&cfg->regions[1], HV_MEM_TYPE_VIRTIO, 0xa000000, 0xa000000, 0x4000);
	assert_true(irq_set(cfg, 76));
	assert_true(irq_set(cfg, 78));
	assert_int_equal(irq_count(cfg), 2);
	assert_int_equal(cfg->n_ivc, 0);
	assert_int_equal(cfg->entry_point, 0x50400000);
	assert_int_equal(cfg->kernel_load_paddr, 0x50400000);
	assert_int_equal(cfg->dtb_load_paddr, 0x50000000);
	assert_int_equal(cfg->n_images, 2);
	check_image(cfg, "kernel_filepath", HV_IMAGE_KERNEL, "kernel_load_paddr", "Image",
		    0x50400000);
	check_image(cfg, "dtb_filepath", HV_IMAGE_DTB, "dtb_load_paddr", "linux.dtb", 0x50000000);
	assert_null(cfg->images[0].name);
	assert_int_equal(a->gic_version, 3);
	assert_false(a->is_aarch32);
	assert_int_equal(a->gicd_base, 0x8000000);
	assert_int_equal(a->gicd_size, 0x10000);
	assert_int_equal(a->gicr_base, 0x80a0000);
	assert_int_equal(a->gicr_size, 0xf60000);
	assert_int_equal(a->gits_base, 0x8080000);
	assert_int_equal(a->gits_size, 0x20000);
	assert_false(a->has_uefi);
	assert_int_equal(cfg->n_pci_bus, 0);
	assert_int_equal(cfg->n_pci_devs, 0);
	/* "arch" is a known-ignored key; everything else is used */
	assert_int_equal(cfg->n_warnings, 0);
	hv_zone_config_free(cfg);
	(void)state;
}

static void test_aarch64_gicv2_numbers_ivc_modules(void **state)
{
	struct hv_zone_config *cfg = parse_ok(AARCH64_V2, HV_ARCH_AARCH64);
	const struct hv_arch_aarch64 *a = &cfg->arch_config.aarch64;
	const struct hv_image *m;

	assert_int_equal(cfg->zone_id, 2);
	assert_int_equal(cfg->cpus, (1u << 1) | (1u << 3));
	assert_int_equal(cfg->n_regions, 4);
	check_region(&cfg->regions[0], HV_MEM_TYPE_RAM, 0x40000000, 0x40000000, 0x30000000);
	check_region(&cfg->regions[1], HV_MEM_TYPE_IO, 0xff010000, 0xff010000, 4096);
	/* missing virtual_start of a virtio region = physical_start */
	check_region(&cfg->regions[2], HV_MEM_TYPE_VIRTIO, 0xff9d0000, 0xff9d0000, 0x200);
	/* "01000" is octal */
	check_region(&cfg->regions[3], HV_MEM_TYPE_VIRTIO, 0xff9e0000, 0xff9e0000, 512);
	for (unsigned irq = 0; irq < HV_CONFIG_MAX_INTERRUPTS; irq++) {
		bool want = irq == 54 || irq == 97 || irq == 0x66 || irq == 0 || irq == 31 ||
			    irq == 32 || irq == 1023;

		assert_int_equal(irq_set(cfg, irq), want);
	}
	assert_int_equal(cfg->irq_bitmap[0], 0x80000001u);
	assert_int_equal(cfg->irq_bitmap[1], 0x00400001u); /* 32, 54 */
	assert_int_equal(cfg->irq_bitmap[31], 0x80000000u);

	assert_int_equal(cfg->n_ivc, 1);
	assert_int_equal(cfg->ivc[0].ivc_id, 0);
	assert_int_equal(cfg->ivc[0].peer_id, 1);
	assert_int_equal(cfg->ivc[0].control_table_ipa, 0xd0000000);
	assert_int_equal(cfg->ivc[0].shared_mem_ipa, 0xd0001000);
	assert_int_equal(cfg->ivc[0].rw_sec_size, 0x1000);
	assert_int_equal(cfg->ivc[0].out_sec_size, 0x2000);
	assert_int_equal(cfg->ivc[0].interrupt_num, 66);
	assert_int_equal(cfg->ivc[0].max_peers, 2);

	assert_int_equal(cfg->dtb_load_paddr, 0x40000000);
	assert_int_equal(cfg->n_images, 4);
	assert_string_equal(cfg->images[0].key, "kernel_filepath");
	assert_string_equal(cfg->images[1].key, "dtb_filepath");
	check_image(cfg, "modules[0].filepath", HV_IMAGE_MODULE, "modules[0].load_paddr",
		    "rootfs.cpio", 0x48000000);
	check_image(cfg, "modules[1].filepath", HV_IMAGE_MODULE, "modules[1].load_paddr", "fw.bin",
		    0x49000000);
	m = find_image(cfg, "modules[0].filepath");
	assert_string_equal(m->name, "rootfs");
	m = find_image(cfg, "modules[1].filepath");
	assert_string_equal(m->name, "fw");

	assert_int_equal(a->gic_version, 2);
	assert_true(a->is_aarch32);
	assert_int_equal(a->gicd_base, 0xf9010000);
	assert_int_equal(a->gicd_size, 0x10000);
	assert_int_equal(a->gicc_base, 0xf9020000);
	assert_int_equal(a->gicc_size, 0x20000);
	assert_int_equal(a->gicc_offset, 0xf000);
	assert_int_equal(a->gich_base, 0xf9040000);
	assert_int_equal(a->gich_size, 0x20000);
	assert_int_equal(a->gicv_base, 0xf9060000);
	assert_int_equal(a->gicv_size, 0x20000);
	assert_int_equal(a->gits_base, 0);
	/* v2 never warns about an ITS */
	assert_int_equal(cfg->n_warnings, 0);
	hv_zone_config_free(cfg);
	(void)state;
}

static void test_aarch64_uefi_and_aarch32_forms(void **state)
{
	static const struct {
		const char *value;
		bool want;
	} forms[] = {{"true", true}, {"false", false}, {"1", true}, {"0", false}};
	json_object *root = load(AARCH64_V3);
	struct hv_zone_config *cfg;

	mutate(root, "arch_config.memory_map_addr", "'0x60000000'");
	mutate(root, "arch_config.memory_map_size", "4096");
	mutate(root, "arch_config.sys_map_addr", "'0x60001000'");
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		mutate(root, "arch_config.is_aarch32", forms[i].value);
		cfg = parse_ok_obj(root, HV_ARCH_AARCH64);
		assert_int_equal(cfg->arch_config.aarch64.is_aarch32, forms[i].want);
		assert_true(cfg->arch_config.aarch64.has_uefi);
		assert_int_equal(cfg->arch_config.aarch64.memory_map_addr, 0x60000000);
		assert_int_equal(cfg->arch_config.aarch64.memory_map_size, 4096);
		assert_int_equal(cfg->arch_config.aarch64.sys_map_addr, 0x60001000);
		hv_zone_config_free(cfg);
	}
	/* is_aarch32 is optional */
	mutate(root, "arch_config.is_aarch32", NULL);
	cfg = parse_ok_obj(root, HV_ARCH_AARCH64);
	assert_false(cfg->arch_config.aarch64.is_aarch32);
	hv_zone_config_free(cfg);
	json_object_put(root);
	(void)state;
}

static void test_aarch64_no_gits_warns(void **state)
{
	json_object *root = load(AARCH64_V3);
	struct hv_zone_config *cfg;

	mutate(root, "arch_config.gits_base", NULL);
	cfg = parse_ok_obj(root, HV_ARCH_AARCH64);
	assert_int_equal(cfg->arch_config.aarch64.gits_base, 0);
	assert_int_equal(cfg->arch_config.aarch64.gits_size, 0);
	assert_true(has_warning(cfg, "gits"));
	hv_zone_config_free(cfg);
	json_object_put(root);
	(void)state;
}

static void test_riscv64_plic_pci(void **state)
{
	struct hv_zone_config *cfg = parse_ok(RISCV64, HV_ARCH_RISCV64);
	const struct hv_arch_riscv64 *a = &cfg->arch_config.riscv64;
	const struct hv_cfg_pci_bus *b = &cfg->pci_bus[0];
	const struct hv_cfg_pci_dev_0x06 *d;

	assert_int_equal(cfg->cpus, 1u << 3);
	assert_int_equal(a->plic_base, 0xc000000);
	assert_int_equal(a->plic_size, 0x4000000);
	assert_int_equal(a->aplic_base, 0xd000000);
	assert_int_equal(a->aplic_size, 0x8000);

	assert_int_equal(cfg->n_pci_bus, 1);
	assert_int_equal(b->ecam_base, 0x30000000);
	assert_int_equal(b->ecam_size, 0x10000000);
	assert_int_equal(b->io_base, 0x3000000);
	assert_int_equal(b->io_size, 0x10000);
	assert_int_equal(b->pci_io_base, 0);
	assert_int_equal(b->mem32_base, 0x40000000);
	assert_int_equal(b->mem32_size, 0x40000000);
	assert_int_equal(b->pci_mem32_base, 0x40000001);
	assert_int_equal(b->mem64_base, 0x400000000);
	assert_int_equal(b->mem64_size, 0x400000002);
	assert_int_equal(b->pci_mem64_base, 0x400000003);
	assert_int_equal(b->bus_range_begin, 1);
	assert_int_equal(b->bus_range_end, 255);
	assert_int_equal(b->domain, 3);

	assert_int_equal(cfg->n_pci_devs, 2);
	d = &cfg->pci_devs[0];
	assert_int_equal(d->domain, 0);
	assert_int_equal(d->bus, 0);
	assert_int_equal(d->device, 1);
	assert_int_equal(d->function, 0);
	assert_int_equal(d->v_bus, 0);
	assert_int_equal(d->v_device, 2);
	assert_int_equal(d->v_function, 1);
	assert_int_equal(d->dev_type, 1);
	/* missing v_* default to the physical BDF, with one warning */
	d = &cfg->pci_devs[1];
	assert_int_equal(d->domain, 1);
	assert_int_equal(d->bus, 2);
	assert_int_equal(d->device, 31);
	assert_int_equal(d->function, 7);
	assert_int_equal(d->v_bus, 2);
	assert_int_equal(d->v_device, 31);
	assert_int_equal(d->v_function, 7);
	assert_int_equal(d->dev_type, 0);
	assert_int_equal(cfg->n_warnings, 1);
	assert_true(has_warning(cfg, "alloc_pci_devs"));
	hv_zone_config_free(cfg);
	(void)state;
}

static void test_riscv64_aia(void **state)
{
	json_object *root = load(RISCV64);
	struct hv_zone_config *cfg;

	/* hvisor built with `aia` reads the APLIC pair; both are still required */
	mutate(root, "arch_config.plic_size", "'0x600000'");
	mutate(root, "arch_config.aplic_base", "'0xd000000'");
	mutate(root, "arch_config.aplic_size", "'0x4000'");
	mutate(root, "alloc_pci_devs", NULL);
	mutate(root, "pci_config", "[]");
	cfg = parse_ok_obj(root, HV_ARCH_RISCV64);
	assert_int_equal(cfg->arch_config.riscv64.plic_size, 0x600000);
	assert_int_equal(cfg->arch_config.riscv64.aplic_size, 0x4000);
	assert_int_equal(cfg->n_pci_bus, 0);
	assert_int_equal(cfg->n_pci_devs, 0);
	assert_int_equal(cfg->n_warnings, 0);
	hv_zone_config_free(cfg);
	json_object_put(root);
	(void)state;
}

static void test_x86_64_linux_boot(void **state)
{
	struct hv_zone_config *cfg = parse_ok(X86_64, HV_ARCH_X86_64);
	const struct hv_arch_x86_64 *x = &cfg->arch_config.x86_64;
	const struct hv_image *img;

	assert_int_equal(cfg->n_regions, 5);
	check_region(&cfg->regions[0], HV_MEM_TYPE_RAM, 0x40300000, 0, 0xe0000);
	check_region(&cfg->regions[2], HV_MEM_TYPE_RAM, 0x40400000, 0x100000, 0xfe00000);
	assert_int_equal(cfg->entry_point, 0x8000);
	assert_int_equal(x->ioapic_base, 0xfec00000);
	assert_int_equal(x->ioapic_size, 0x1000);
	assert_int_equal(x->kernel_entry_gpa, 0x100000);
	assert_int_equal(x->setup_load_gpa, 0xd000);
	assert_int_equal(x->cmdline_load_gpa, 0xc000);
	assert_int_equal(x->initrd_load_gpa, 0x7d00000);
	assert_int_equal(x->rsdp_memory_region_id, 1);
	assert_int_equal(x->acpi_memory_region_id, 2);
	assert_int_equal(x->uefi_memory_region_id, 63);
	assert_int_equal(x->screen_base, 0xfd000000);
	assert_false(x->multiboot2);
	assert_null(x->kernel_cmdline);

	/* no DTB on x86; kernel, boot, setup, initrd, cmdline in that order */
	assert_int_equal(cfg->n_images, 5);
	assert_null(find_image(cfg, "dtb_filepath"));
	assert_string_equal(cfg->images[0].key, "kernel_filepath");
	assert_string_equal(cfg->images[1].key, "arch_config.boot_filepath");
	assert_string_equal(cfg->images[2].key, "arch_config.setup_filepath");
	assert_string_equal(cfg->images[3].key, "arch_config.initrd_filepath");
	assert_string_equal(cfg->images[4].key, "arch_config.cmdline");
	check_image(cfg, "kernel_filepath", HV_IMAGE_KERNEL, "kernel_load_paddr", "vmlinux.bin",
		    0x40400000);
	check_image(cfg, "arch_config.boot_filepath", HV_IMAGE_X86_BOOT,
		    "arch_config.boot_load_paddr", "boot.bin", 0x40308000);
	check_image(cfg, "arch_config.setup_filepath", HV_IMAGE_X86_SETUP,
		    "arch_config.setup_load_hpa", "setup.bin", 0x4030d000);
	check_image(cfg, "arch_config.initrd_filepath", HV_IMAGE_X86_INITRD,
		    "arch_config.initrd_load_hpa", "initrd.img", 0x48000000);
	img = find_image(cfg, "arch_config.cmdline");
	assert_int_equal(img->kind, HV_IMAGE_X86_CMDLINE);
	assert_string_equal(img->paddr_key, "arch_config.cmdline_load_hpa");
	assert_null(img->path);
	assert_int_equal(img->data_len, sizeof("console=ttyS0"));
	assert_int_equal(img->size, sizeof("console=ttyS0"));
	assert_memory_equal(img->data, "console=ttyS0", sizeof("console=ttyS0"));
	assert_int_equal(img->load_paddr, 0x4030c000);
	assert_int_equal(cfg->n_warnings, 0);
	hv_zone_config_free(cfg);
	(void)state;
}

static void test_x86_64_optional_groups_absent(void **state)
{
	static const char *const drop[] = {
		"boot_filepath",   "boot_load_paddr", "setup_filepath",	  "setup_load_hpa",
		"setup_load_gpa",  "cmdline",	      "cmdline_load_hpa", "cmdline_load_gpa",
		"initrd_filepath", "initrd_load_hpa", "initrd_load_gpa",
	};
	json_object *root = load(X86_64);
	struct hv_zone_config *cfg;
	char path[64];

	for (size_t i = 0; i < ARRAY_SIZE(drop); i++) {
		snprintf(path, sizeof(path), "arch_config.%s", drop[i]);
		mutate(root, path, NULL);
	}
	/* x86 ignores dtb_filepath whatever it names */
	mutate(root, "dtb_filepath", "'ignored.dtb'");
	cfg = parse_ok_obj(root, HV_ARCH_X86_64);
	assert_int_equal(cfg->n_images, 1);
	assert_string_equal(cfg->images[0].key, "kernel_filepath");
	assert_int_equal(cfg->arch_config.x86_64.setup_load_gpa, 0);
	hv_zone_config_free(cfg);
	json_object_put(root);
	(void)state;
}

static void test_x86_64_multiboot2(void **state)
{
	json_object *root = load(X86_64);
	struct hv_zone_config *cfg;
	const struct hv_arch_x86_64 *x;

	mutate(root, "boot_protocol", "'multiboot2'");
	mutate(root, "kernel_cmdline", "'console=ttyS0 quiet'");
	mutate(root, "initramfs_filepath", "'initramfs.img'");
	mutate(root, "initramfs_load_gpa", "'0x8000000'");
	mutate(root, "arch_config.kernel_entry_gpa", NULL);
	cfg = parse_ok_obj(root, HV_ARCH_X86_64);
	x = &cfg->arch_config.x86_64;
	assert_true(x->multiboot2);
	assert_string_equal(x->kernel_cmdline, "console=ttyS0 quiet");
	assert_int_equal(x->multiboot_info_paddr, 0x9000000);
	assert_int_equal(x->initramfs_load_gpa, 0x8000000);
	/* loaded at the host address of the gpa (first RAM region's offset) */
	check_image(cfg, "initramfs_filepath", HV_IMAGE_INITRAMFS, "initramfs_load_gpa",
		    "initramfs.img", 0x8000000 + 0x40300000);
	assert_string_equal(cfg->images[cfg->n_images - 1].key, "initramfs_filepath");
	assert_int_equal(cfg->n_warnings, 0);
	hv_zone_config_free(cfg);

	/* the legacy boolean, and an explicit info address */
	mutate(root, "boot_protocol", NULL);
	mutate(root, "multiboot_enabled", "true");
	mutate(root, "multiboot_info_paddr", "'0x7000000'");
	cfg = parse_ok_obj(root, HV_ARCH_X86_64);
	assert_true(cfg->arch_config.x86_64.multiboot2);
	assert_int_equal(cfg->arch_config.x86_64.multiboot_info_paddr, 0x7000000);
	hv_zone_config_free(cfg);

	/* an unknown protocol is the Linux one (upstream), with a warning;
	 * then kernel_entry_gpa is required again */
	mutate(root, "boot_protocol", "'pvh'");
	string_rejects(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN), HV_ARCH_X86_64,
		       "arch_config.kernel_entry_gpa", "missing");
	mutate(root, "arch_config.kernel_entry_gpa", "'0x100000'");
	cfg = parse_ok_obj(root, HV_ARCH_X86_64);
	assert_false(cfg->arch_config.x86_64.multiboot2);
	assert_true(has_warning(cfg, "pvh"));
	/* the initramfs is only used by multiboot2 */
	assert_null(find_image(cfg, "initramfs_filepath"));
	assert_true(has_warning(cfg, "initramfs_filepath"));
	hv_zone_config_free(cfg);
	json_object_put(root);
	(void)state;
}

static void test_loongarch64(void **state)
{
	struct hv_zone_config *cfg = parse_ok(LOONGARCH64, HV_ARCH_LOONGARCH64);
	json_object *root;

	assert_int_equal(cfg->arch, HV_ARCH_LOONGARCH64);
	assert_int_equal(cfg->cpus, 2);
	assert_int_equal(cfg->n_ivc, 0);
	assert_int_equal(cfg->n_images, 2);
	assert_int_equal(cfg->n_warnings, 0);
	hv_zone_config_free(cfg);

	/* arch_config is not read on LoongArch, whatever it holds */
	root = load(LOONGARCH64);
	mutate(root, "arch_config", "'whatever'");
	cfg = parse_ok_obj(root, HV_ARCH_LOONGARCH64);
	assert_int_equal(cfg->n_warnings, 0);
	hv_zone_config_free(cfg);
	json_object_put(root);
	(void)state;
}

static void test_number_spellings(void **state)
{
	static const struct {
		const char *value;
		uint64_t want;
	} cases[] = {
		{"'0x10'", 16},
		{"'0X10'", 16},
		{"'010'", 8},
		{"'10'", 10},
		{"'0'", 0},
		{"0", 0},
		{"-0", 0},
		{"1234", 1234},
		{"9223372036854775807", INT64_MAX},
		{"9223372036854775808", UINT64_C(9223372036854775808)},
		{"18446744073709551614", UINT64_MAX - 1},
		{"'0xffffffffffffffff'", UINT64_MAX},
		{"'18446744073709551615'", UINT64_MAX},
		{"'01777777777777777777777'", UINT64_MAX},
	};
	json_object *root = load(AARCH64_V3);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct hv_zone_config *cfg;

		mutate(root, "entry_point", cases[i].value);
		cfg = parse_ok_obj(root, HV_ARCH_AARCH64);
		if (cfg->entry_point != cases[i].want)
			fail_msg("%s parsed as %" PRIu64, cases[i].value,
				 (uint64_t)cfg->entry_point);
		hv_zone_config_free(cfg);
	}
	json_object_put(root);
	(void)state;
}

static void test_null_and_empty_images(void **state)
{
	json_object *root = load(AARCH64_V2);
	struct hv_zone_config *cfg;

	mutate(root, "kernel_filepath", "'null'");
	mutate(root, "dtb_filepath", "''");
	mutate(root, "modules[0].filepath", "'null'");
	cfg = parse_ok_obj(root, HV_ARCH_AARCH64);
	assert_int_equal(cfg->n_images, 1);
	assert_string_equal(cfg->images[0].key, "modules[1].filepath");
	/* the addresses are still read */
	assert_int_equal(cfg->kernel_load_paddr, 0x40400000);
	hv_zone_config_free(cfg);

	mutate(root, "dtb_filepath", "'null'");
	mutate(root, "modules", "[]");
	cfg = parse_ok_obj(root, HV_ARCH_AARCH64);
	assert_int_equal(cfg->n_images, 0);
	hv_zone_config_free(cfg);
	json_object_put(root);
	(void)state;
}

static void test_tolerated_missing_keys(void **state)
{
	json_object *root = load(AARCH64_V3);
	struct hv_zone_config *cfg;

	mutate(root, "pci_config", NULL);
	mutate(root, "ivc_configs", NULL);
	cfg = parse_ok_obj(root, HV_ARCH_AARCH64);
	assert_int_equal(cfg->n_pci_bus, 0);
	assert_int_equal(cfg->n_ivc, 0);
	assert_int_equal(cfg->n_warnings, 1);
	assert_true(has_warning(cfg, "pci_config"));
	hv_zone_config_free(cfg);
	json_object_put(root);
	(void)state;
}

static void test_unknown_keys_warn(void **state)
{
	json_object *root = load(AARCH64_V3);
	struct hv_zone_config *cfg;
	char key[32];

	mutate(root, "num_pci_devs", "0");
	mutate(root, "arch", "'arm64'");
	mutate(root, "kernel_fielpath", "'typo'");
	mutate(root, "boot_protocol", "'multiboot2'");
	cfg = parse_ok_obj(root, HV_ARCH_AARCH64);
	assert_int_equal(cfg->n_warnings, 2);
	assert_true(has_warning(cfg, "unknown key 'kernel_fielpath' ignored"));
	assert_true(has_warning(cfg, "'boot_protocol' only applies to x86_64"));
	hv_zone_config_free(cfg);

	/* warnings are capped, never an error */
	for (int i = 0; i < 3 * HV_CONFIG_MAX_WARNINGS; i++) {
		snprintf(key, sizeof(key), "extra%d", i);
		mutate(root, key, "1");
	}
	cfg = parse_ok_obj(root, HV_ARCH_AARCH64);
	assert_int_equal(cfg->n_warnings, HV_CONFIG_MAX_WARNINGS);
	hv_zone_config_free(cfg);
	json_object_put(root);
	(void)state;
}

static void test_misc_accepted(void **state)
{
	json_object *root = load(AARCH64_V3);
	struct hv_zone_config *cfg;

	/* duplicate CPUs and IRQs just set the same bit; limits inclusive */
	mutate(root, "cpus", "[63, 0, 63]");
	mutate(root, "interrupts", "[1023, 1023]");
	mutate(root, "zone_id", "4294967295");
	mutate(root, "name", "'0123456789012345678901234567890'");
	cfg = parse_ok_obj(root, HV_ARCH_AARCH64);
	assert_int_equal(cfg->cpus, (UINT64_C(1) << 63) | 1);
	assert_int_equal(irq_count(cfg), 1);
	assert_int_equal(cfg->zone_id, UINT32_MAX);
	assert_int_equal(strlen(cfg->name), 31);
	hv_zone_config_free(cfg);

	/* adjacent regions do not overlap; io may share a host range with RAM */
	mutate(root, "memory_regions[2]",
	       "{'type':'ram','physical_start':'0x80000000',"
	       "'virtual_start':'0x80000000','size':'0x1000'}");
	mutate(root, "memory_regions[3]",
	       "{'type':'io','physical_start':'0x50000000',"
	       "'virtual_start':'0x90000000','size':'0x1000'}");
	mutate(root, "memory_regions[4]",
	       "{'type':'virtio','physical_start':'0xa004000',"
	       "'size':'0x1000'}");
	cfg = parse_ok_obj(root, HV_ARCH_AARCH64);
	assert_int_equal(cfg->n_regions, 5);
	hv_zone_config_free(cfg);

	/* exactly at the limits */
	mutate(root, "memory_regions", "[]");
	for (int i = 0; i < HV_CONFIG_MAX_MEMORY_REGIONS; i++) {
		char path[32], value[160];

		snprintf(path, sizeof(path), "memory_regions[%d]", i);
		snprintf(value, sizeof(value),
			 "{'type':'ram','physical_start':%d,'virtual_start':%d,'size':4096}",
			 i * 4096, i * 4096);
		mutate(root, path, value);
	}
	mutate(root, "kernel_filepath", "'null'");
	mutate(root, "dtb_filepath", "'null'");
	cfg = parse_ok_obj(root, HV_ARCH_AARCH64);
	assert_int_equal(cfg->n_regions, HV_CONFIG_MAX_MEMORY_REGIONS);
	assert_int_equal(cfg->regions[63].physical_start, 63 * 4096);
	hv_zone_config_free(cfg);
	json_object_put(root);
	(void)state;
}

/* ---- rejections -------------------------------------------------------- */

struct reject {
	enum hv_arch arch;
	const char *base;
	const char *err_path, *msg;
	const char *path, *value; /* value NULL: delete the key */
	const char *path2, *value2;
};

#define A3  HV_ARCH_AARCH64, AARCH64_V3
#define A2  HV_ARCH_AARCH64, AARCH64_V2
#define RV  HV_ARCH_RISCV64, RISCV64
#define X86 HV_ARCH_X86_64, X86_64
#define LA  HV_ARCH_LOONGARCH64, LOONGARCH64
#define DEL NULL
/* one mutation; path2/value2 stay NULL */
/* clang-format off */
#define R(...) { __VA_ARGS__, .path2 = NULL }
/* clang-format on */

static const struct reject rejects[] = {
	/* required top-level keys */
	R(A3, "zone_id", "missing", "zone_id", DEL),
	R(A3, "cpus", "missing", "cpus", DEL),
	R(A3, "name", "missing", "name", DEL),
	R(A3, "memory_regions", "missing", "memory_regions", DEL),
	R(A3, "interrupts", "missing", "interrupts", DEL),
	R(A3, "kernel_filepath", "missing", "kernel_filepath", DEL),
	R(A3, "dtb_filepath", "missing", "dtb_filepath", DEL),
	R(A3, "kernel_load_paddr", "missing", "kernel_load_paddr", DEL),
	R(A3, "dtb_load_paddr", "missing", "dtb_load_paddr", DEL),
	R(A3, "entry_point", "missing", "entry_point", DEL),
	R(A3, "arch_config", "missing", "arch_config", DEL),
	R(RV, "arch_config", "missing", "arch_config", DEL),
	R(X86, "arch_config", "missing", "arch_config", DEL),
	R(X86, "dtb_filepath", "missing", "dtb_filepath", DEL),
	R(LA, "kernel_filepath", "missing", "kernel_filepath", DEL),
	/* zone_id */
	R(A3, "zone_id", "root zone", "zone_id", "0"),
	R(A3, "zone_id", "root zone", "zone_id", "'0x0'"),
	R(A3, "zone_id", "must be <= 4294967295", "zone_id", "4294967296"),
	R(A3, "zone_id", "must be <= 4294967295", "zone_id", "'0x100000000'"),
	R(A3, "zone_id", "must not be negative", "zone_id", "-1"),
	R(A3, "zone_id", "expected a number", "zone_id", "1.5"),
	R(A3, "zone_id", "expected a number", "zone_id", "true"),
	R(A3, "zone_id", "expected a number", "zone_id", "null"),
	R(A3, "zone_id", "expected a number", "zone_id", "'one'"),
	R(A3, "zone_id", "expected a number", "zone_id", "[1]"),
	/* cpus */
	R(A3, "cpus", "at least one CPU", "cpus", "[]"),
	R(A3, "cpus", "expected an array", "cpus", "2"),
	R(A3, "cpus", "expected an array", "cpus", "{}"),
	R(A3, "cpus[1]", "CPU 64 is out of range (0..63)", "cpus", "[2,64]"),
	R(A3, "cpus[0]", "CPU 64 is out of range (0..63)", "cpus", "['0x40']"),
	R(A3, "cpus[0]", "CPU 4294967296 is out of range", "cpus", "[4294967296]"),
	R(A3, "cpus[0]", "must not be negative", "cpus", "[-1]"),
	R(A3, "cpus[0]", "expected a number", "cpus", "[1.0]"),
	R(A3, "cpus[0]", "expected a number", "cpus", "[null]"),
	R(A3, "cpus[0]", "expected a number", "cpus", "['']"),
	R(A3, "cpus[2]", "expected a number", "cpus", "[1,2,{}]"),
	/* name */
	R(A3, "name", "expected a string", "name", "5"),
	R(A3, "name", "expected a string", "name", "null"),
	R(A3, "name", "must not be empty", "name", "''"),
	R(A3, "name", "longer than 31 bytes", "name", "'0123456789012345678901234567890a'"),
	R(A3, "name", "control character", "name", "'a\\tb'"),
	R(A3, "name", "control character", "name", "'a\\u001bb'"),
	R(A3, "name", "control character", "name", "'a\\u007fb'"),
	R(A3, "name", "NUL", "name", "'a\\u0000b'"),
	/* memory_regions */
	R(A3, "memory_regions", "expected an array", "memory_regions", "{}"),
	R(A3, "memory_regions[1]", "expected an object", "memory_regions[1]", "5"),
	R(A3, "memory_regions[1].size", "expected a number", "memory_regions[1].size", "'abc'"),
	R(A3, "memory_regions[1].size", "expected a number", "memory_regions[1].size", "'0x'"),
	R(A3, "memory_regions[1].size", "must not be 0", "memory_regions[1].size", "0"),
	R(A3, "memory_regions[0].type", "unknown region type 'rom'", "memory_regions[0].type",
	  "'rom'"),
	R(A3, "memory_regions[0].type", "unknown region type", "memory_regions[0].type", "'RAM'"),
	R(A3, "memory_regions[0].type", "missing", "memory_regions[0].type", DEL),
	R(A3, "memory_regions[0].type", "expected a string", "memory_regions[0].type", "0"),
	R(A3, "memory_regions[0].physical_start", "missing", "memory_regions[0].physical_start",
	  DEL),
	R(A3, "memory_regions[0].virtual_start", "missing", "memory_regions[0].virtual_start", DEL),
	R(A3, "memory_regions[0].size", "missing", "memory_regions[0].size", DEL),
	R(A3, "memory_regions[0].physical_start", "expected a number",
	  "memory_regions[0].physical_start", "false"),
	R(A3, "memory_regions[0].size", "physical_start + size overflows",
	  "memory_regions[0].physical_start", "'0xffffffffe0000000'"),
	R(A3, "memory_regions[0].size", "virtual_start + size overflows",
	  "memory_regions[0].virtual_start", "'0xffffffffe0000000'"),
	{A3, "memory_regions[1].size", "physical_start + size overflows",
	 "memory_regions[1].physical_start", "'0xfffffffffffff000'", "memory_regions[1].size",
	 "'0x1000'"},
	R(A3, "memory_regions[1]", "RAM host range 0x7ffff000+0x2000 overlaps memory_regions[0]",
	  "memory_regions[1]",
	  "{'type':'ram','physical_start':'0x7ffff000','virtual_start':'0x90000000',"
	  "'size':'0x2000'}"),
	R(A3, "memory_regions[1]", "guest range 0x50001000+0x1000 overlaps memory_regions[0]",
	  "memory_regions[1]",
	  "{'type':'io','physical_start':'0x9000000','virtual_start':'0x50001000',"
	  "'size':'0x1000'}"),
	R(A3, "memory_regions[1]", "guest range 0x4ffff000+0x2000 overlaps memory_regions[0]",
	  "memory_regions[1]",
	  "{'type':'ram','physical_start':'0x90000000','virtual_start':'0x4ffff000',"
	  "'size':'0x2000'}"),
	R(A3, "memory_regions[2]", "virtio range 0xa003000+0x2000 overlaps memory_regions[1]",
	  "memory_regions[2]", "{'type':'virtio','physical_start':'0xa003000','size':'0x2000'}"),
	{A3, "memory_regions[3]", "guest range 0x1fff+0x1000 overlaps memory_regions[2]",
	 "memory_regions[2]",
	 "{'type':'io','physical_start':'0x1000','virtual_start':'0x1000','size':'0x1000'}",
	 "memory_regions[3]",
	 "{'type':'io','physical_start':'0x2000','virtual_start':'0x1fff','size':'0x1000'}"},
	/* interrupts */
	R(A3, "interrupts", "expected an array", "interrupts", "{}"),
	R(A3, "interrupts[0]", "IRQ 1024 is out of range (0..1023)", "interrupts", "[1024]"),
	R(A3, "interrupts[1]", "IRQ 1024 is out of range", "interrupts", "[76,'0x400']"),
	R(A3, "interrupts[0]", "must not be negative", "interrupts", "[-5]"),
	R(A3, "interrupts[0]", "expected a number", "interrupts", "['x']"),
	R(A3, "interrupts[0]", "expected a number", "interrupts", "[[1]]"),
	/* ivc_configs */
	R(A3, "ivc_configs", "expected an array", "ivc_configs", "{}"),
	R(A3, "ivc_configs", "at most 2", "ivc_configs", "[{},{},{}]"),
	R(A3, "ivc_configs[0]", "expected an object", "ivc_configs", "[5]"),
	R(A3, "ivc_configs[0].peer_id", "missing", "ivc_configs", "[{'ivc_id':0}]"),
	R(A2, "ivc_configs[0].max_peers", "missing", "ivc_configs[0].max_peers", DEL),
	R(A2, "ivc_configs[0].ivc_id", "missing", "ivc_configs[0].ivc_id", DEL),
	R(A2, "ivc_configs[0].shared_mem_ipa", "missing", "ivc_configs[0].shared_mem_ipa", DEL),
	R(A2, "ivc_configs[0].rw_sec_size", "must be <= 4294967295", "ivc_configs[0].rw_sec_size",
	  "'0x100000000'"),
	/* images and addresses */
	R(A3, "kernel_filepath", "expected a string", "kernel_filepath", "5"),
	R(A3, "kernel_filepath", "empty file name", "kernel_filepath", "''"),
	R(A3, "kernel_filepath", "NUL", "kernel_filepath", "'a\\u0000b'"),
	R(A3, "dtb_filepath", "expected a string", "dtb_filepath", "null"),
	R(X86, "dtb_filepath", "expected a string", "dtb_filepath", "5"),
	R(A3, "kernel_load_paddr", "expected a number", "kernel_load_paddr", "'0x1g'"),
	R(A3, "kernel_load_paddr", "expected a number", "kernel_load_paddr", "' 12'"),
	R(A3, "kernel_load_paddr", "expected a number", "kernel_load_paddr", "'\\n12'"),
	R(A3, "kernel_load_paddr", "expected a number", "kernel_load_paddr", "'12 '"),
	R(A3, "kernel_load_paddr", "expected a number", "kernel_load_paddr", "'-1'"),
	R(A3, "kernel_load_paddr", "expected a number", "kernel_load_paddr", "'+1'"),
	R(A3, "kernel_load_paddr", "expected a number", "kernel_load_paddr", "''"),
	R(A3, "kernel_load_paddr", "expected a number", "kernel_load_paddr", "'08'"),
	R(A3, "kernel_load_paddr", "expected a number", "kernel_load_paddr", "'1\\u00002'"),
	R(A3, "kernel_load_paddr", "does not fit in 64 bits", "kernel_load_paddr",
	  "'0x10000000000000000'"),
	R(A3, "kernel_load_paddr", "does not fit in 64 bits", "kernel_load_paddr",
	  "'18446744073709551616'"),
	R(A3, "kernel_load_paddr", "expected a number", "kernel_load_paddr", "1e3"),
	/* json-c clamps larger literals to 2^64-1: ambiguous, so refused */
	R(A3, "kernel_load_paddr", "as a string", "kernel_load_paddr", "18446744073709551615"),
	R(A3, "kernel_load_paddr", "as a string", "kernel_load_paddr", "99999999999999999999999"),
	R(A3, "entry_point", "expected a number", "entry_point", "false"),
	R(A3, "dtb_load_paddr", "must not be negative", "dtb_load_paddr", "-9223372036854775809"),
	/* modules */
	R(A3, "modules", "expected an array", "modules", "{}"),
	R(A3, "modules[0]", "expected an object", "modules", "[1]"),
	R(A3, "modules[0].filepath", "missing", "modules", "[{'name':'a','load_paddr':1}]"),
	R(A3, "modules[0].name", "missing", "modules", "[{'filepath':'a','load_paddr':1}]"),
	R(A3, "modules[0].load_paddr", "missing", "modules", "[{'name':'a','filepath':'a'}]"),
	R(A3, "modules[0].load_paddr", "expected a number", "modules",
	  "[{'name':'a','filepath':'f','load_paddr':true}]"),
	R(A3, "modules[0].name", "expected a string", "modules",
	  "[{'name':5,'filepath':'f','load_paddr':1}]"),
	R(A3, "modules[0].filepath", "expected a string", "modules",
	  "[{'name':'a','filepath':5,'load_paddr':1}]"),
	R(A2, "modules[1].filepath", "empty file name", "modules[1].filepath", "''"),
	/* aarch64 arch_config */
	R(A3, "arch_config", "expected an object", "arch_config", "5"),
	R(A3, "arch_config", "expected an object", "arch_config", "[]"),
	R(A3, "arch_config.gic_version", "missing", "arch_config.gic_version", DEL),
	R(A3, "arch_config.gic_version", "unknown GIC version 'v4'", "arch_config.gic_version",
	  "'v4'"),
	R(A3, "arch_config.gic_version", "expected a string", "arch_config.gic_version", "3"),
	R(A3, "arch_config.gicd_base", "missing", "arch_config.gicd_base", DEL),
	R(A3, "arch_config.gicd_size", "missing", "arch_config.gicd_size", DEL),
	R(A3, "arch_config.gicr_base", "missing", "arch_config.gicr_base", DEL),
	R(A3, "arch_config.gicr_size", "missing", "arch_config.gicr_size", DEL),
	R(A3, "arch_config.gits_base", "expected a number", "arch_config.gits_base", "'x'"),
	R(A3, "arch_config.is_aarch32", "expected true, false, 0 or 1", "arch_config.is_aarch32",
	  "2"),
	R(A3, "arch_config.is_aarch32", "expected true, false, 0 or 1", "arch_config.is_aarch32",
	  "'true'"),
	R(A3, "arch_config.is_aarch32", "expected true, false, 0 or 1", "arch_config.is_aarch32",
	  "-1"),
	R(A3, "arch_config.memory_map_size", "missing", "arch_config.memory_map_addr",
	  "'0x60000000'"),
	{A3, "arch_config.sys_map_addr", "missing", "arch_config.memory_map_addr", "'0x60000000'",
	 "arch_config.memory_map_size", "'0x1000'"},
	R(A3, "arch_config.memory_map_addr", "expected a number", "arch_config.memory_map_addr",
	  "[]"),
	R(A2, "arch_config.gicd_base", "missing", "arch_config.gicd_base", DEL),
	R(A2, "arch_config.gicd_size", "missing", "arch_config.gicd_size", DEL),
	R(A2, "arch_config.gicc_base", "missing", "arch_config.gicc_base", DEL),
	R(A2, "arch_config.gicc_size", "missing", "arch_config.gicc_size", DEL),
	R(A2, "arch_config.gicc_offset", "missing", "arch_config.gicc_offset", DEL),
	R(A2, "arch_config.gich_base", "missing", "arch_config.gich_base", DEL),
	R(A2, "arch_config.gich_size", "missing", "arch_config.gich_size", DEL),
	R(A2, "arch_config.gicv_base", "missing", "arch_config.gicv_base", DEL),
	R(A2, "arch_config.gicv_size", "missing", "arch_config.gicv_size", DEL),
	/* riscv64 arch_config */
	R(RV, "arch_config.plic_base", "missing", "arch_config.plic_base", DEL),
	R(RV, "arch_config.plic_size", "missing", "arch_config.plic_size", DEL),
	R(RV, "arch_config.aplic_base", "missing", "arch_config.aplic_base", DEL),
	R(RV, "arch_config.aplic_size", "missing", "arch_config.aplic_size", DEL),
	R(RV, "arch_config.plic_base", "expected a number", "arch_config.plic_base", "'z'"),
	/* pci_config */
	R(RV, "pci_config", "expected an array", "pci_config", "{}"),
	R(RV, "pci_config", "at most 4", "pci_config", "[{},{},{},{},{}]"),
	R(RV, "pci_config[0]", "expected an object", "pci_config[0]", "1"),
	R(RV, "pci_config[0].ecam_base", "missing", "pci_config[0].ecam_base", DEL),
	R(RV, "pci_config[0].ecam_size", "missing", "pci_config[0].ecam_size", DEL),
	R(RV, "pci_config[0].io_base", "missing", "pci_config[0].io_base", DEL),
	R(RV, "pci_config[0].io_size", "missing", "pci_config[0].io_size", DEL),
	R(RV, "pci_config[0].pci_io_base", "missing", "pci_config[0].pci_io_base", DEL),
	R(RV, "pci_config[0].mem32_base", "missing", "pci_config[0].mem32_base", DEL),
	R(RV, "pci_config[0].mem32_size", "missing", "pci_config[0].mem32_size", DEL),
	R(RV, "pci_config[0].pci_mem32_base", "missing", "pci_config[0].pci_mem32_base", DEL),
	R(RV, "pci_config[0].mem64_base", "missing", "pci_config[0].mem64_base", DEL),
	R(RV, "pci_config[0].mem64_size", "missing", "pci_config[0].mem64_size", DEL),
	R(RV, "pci_config[0].pci_mem64_base", "missing", "pci_config[0].pci_mem64_base", DEL),
	R(RV, "pci_config[0].bus_range_begin", "missing", "pci_config[0].bus_range_begin", DEL),
	R(RV, "pci_config[0].bus_range_end", "missing", "pci_config[0].bus_range_end", DEL),
	R(RV, "pci_config[0].domain", "missing", "pci_config[0].domain", DEL),
	R(RV, "pci_config[0].domain", "must be <= 255", "pci_config[0].domain", "256"),
	R(RV, "pci_config[0].bus_range_end", "must be <= 4294967295", "pci_config[0].bus_range_end",
	  "4294967296"),
	R(RV, "pci_config[0].ecam_base", "must not be negative", "pci_config[0].ecam_base", "-1"),
	/* alloc_pci_devs */
	R(RV, "alloc_pci_devs", "expected an array", "alloc_pci_devs", "{}"),
	R(RV, "alloc_pci_devs[1]", "expected an object", "alloc_pci_devs[1]", "5"),
	R(RV, "alloc_pci_devs[0].device", "must be <= 31", "alloc_pci_devs[0].device", "32"),
	R(RV, "alloc_pci_devs[0].function", "must be <= 7", "alloc_pci_devs[0].function", "8"),
	R(RV, "alloc_pci_devs[0].v_device", "must be <= 31", "alloc_pci_devs[0].v_device", "32"),
	R(RV, "alloc_pci_devs[0].v_function", "must be <= 7", "alloc_pci_devs[0].v_function",
	  "'010'"),
	R(RV, "alloc_pci_devs[0].bus", "must be <= 255", "alloc_pci_devs[0].bus", "256"),
	R(RV, "alloc_pci_devs[0].v_bus", "must be <= 255", "alloc_pci_devs[0].v_bus", "256"),
	R(RV, "alloc_pci_devs[0].domain", "must be <= 255", "alloc_pci_devs[0].domain", "'0x100'"),
	R(RV, "alloc_pci_devs[0].dev_type", "missing", "alloc_pci_devs[0].dev_type", DEL),
	R(RV, "alloc_pci_devs[0].dev_type", "must be <= 4294967295", "alloc_pci_devs[0].dev_type",
	  "4294967296"),
	R(RV, "alloc_pci_devs[0].device", "missing", "alloc_pci_devs[0].device", DEL),
	R(RV, "alloc_pci_devs[1].function", "missing", "alloc_pci_devs[1].function", DEL),
	/* x86_64 arch_config */
	R(X86, "arch_config.ioapic_base", "missing", "arch_config.ioapic_base", DEL),
	R(X86, "arch_config.ioapic_size", "missing", "arch_config.ioapic_size", DEL),
	R(X86, "arch_config.kernel_entry_gpa", "missing", "arch_config.kernel_entry_gpa", DEL),
	R(X86, "arch_config.rsdp_memory_region_id", "missing", "arch_config.rsdp_memory_region_id",
	  DEL),
	R(X86, "arch_config.acpi_memory_region_id", "missing", "arch_config.acpi_memory_region_id",
	  DEL),
	R(X86, "arch_config.uefi_memory_region_id", "missing", "arch_config.uefi_memory_region_id",
	  DEL),
	R(X86, "arch_config.screen_base", "missing", "arch_config.screen_base", DEL),
	R(X86, "arch_config.rsdp_memory_region_id", "must be <= 63",
	  "arch_config.rsdp_memory_region_id", "64"),
	R(X86, "arch_config.uefi_memory_region_id", "must be <= 63",
	  "arch_config.uefi_memory_region_id", "'0x40'"),
	R(X86, "arch_config.boot_load_paddr", "missing (required with boot_filepath)",
	  "arch_config.boot_load_paddr", DEL),
	R(X86, "arch_config.boot_filepath", "missing (required with boot_load_paddr)",
	  "arch_config.boot_filepath", DEL),
	R(X86, "arch_config.setup_load_gpa", "missing (required with setup_filepath)",
	  "arch_config.setup_load_gpa", DEL),
	R(X86, "arch_config.setup_filepath", "missing (required with setup_load_hpa)",
	  "arch_config.setup_filepath", DEL),
	R(X86, "arch_config.cmdline", "missing (required with cmdline_load_hpa)",
	  "arch_config.cmdline", DEL),
	R(X86, "arch_config.cmdline_load_hpa", "missing (required with cmdline)",
	  "arch_config.cmdline_load_hpa", DEL),
	R(X86, "arch_config.cmdline_load_gpa", "missing (required with cmdline)",
	  "arch_config.cmdline_load_gpa", DEL),
	R(X86, "arch_config.initrd_load_hpa", "missing (required with initrd_filepath)",
	  "arch_config.initrd_load_hpa", DEL),
	R(X86, "arch_config.initrd_filepath", "missing (required with initrd_load_hpa)",
	  "arch_config.initrd_filepath", DEL),
	R(X86, "arch_config.initrd_filepath", "expected a string", "arch_config.initrd_filepath",
	  "5"),
	R(X86, "arch_config.cmdline", "expected a string", "arch_config.cmdline", "5"),
	R(X86, "arch_config.cmdline", "NUL", "arch_config.cmdline", "'a\\u0000b'"),
	R(X86, "arch_config.boot_filepath", "empty file name", "arch_config.boot_filepath", "''"),
	R(X86, "arch_config.setup_load_hpa", "expected a number", "arch_config.setup_load_hpa",
	  "'x'"),
	/* x86_64 top-level */
	R(X86, "initramfs_load_gpa", "missing (required with initramfs_filepath)",
	  "initramfs_filepath", "'initramfs.img'"),
	R(X86, "initramfs_filepath", "missing (required with initramfs_load_gpa)",
	  "initramfs_load_gpa", "0"),
	{X86, "initramfs_load_gpa", "expected a number", "initramfs_filepath", "'i.img'",
	 "initramfs_load_gpa", "'x'"},
	R(X86, "boot_protocol", "expected a string", "boot_protocol", "5"),
	R(X86, "multiboot_enabled", "expected true, false, 0 or 1", "multiboot_enabled", "'yes'"),
	R(X86, "kernel_cmdline", "expected a string", "kernel_cmdline", "5"),
	R(X86, "multiboot_info_paddr", "expected a number", "multiboot_info_paddr", "'x'"),
};

static void test_reject(void **state)
{
	const struct reject *c = *state;
	struct hv_zone_config *cfg = (struct hv_zone_config *)&cfg;
	struct hv_error err = {0};
	json_object *root = load(c->base);
	const char *text;
	int r;

	mutate(root, c->path, c->value);
	if (c->path2)
		mutate(root, c->path2, c->value2);

	r = hv_zone_config_parse(root, c->arch, &cfg, &err);
	expect_error(r, &err, c->err_path, c->msg);
	assert_ptr_equal(cfg, (struct hv_zone_config *)&cfg);

	/* the same through the text entry point */
	memset(&err, 0, sizeof(err));
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	r = hv_zone_config_parse_string(text, strlen(text), c->arch, &cfg, &err);
	expect_error(r, &err, c->err_path, c->msg);
	assert_ptr_equal(cfg, (struct hv_zone_config *)&cfg);
	json_object_put(root);
}

/* Arrays one past their limit. */
static void test_reject_counts(void **state)
{
	static const struct {
		const char *key;
		int count;
		const char *item;
		const char *msg;
	} cases[] = {
		{"memory_regions", HV_CONFIG_MAX_MEMORY_REGIONS + 1,
		 "{'type':'io','physical_start':0,'virtual_start':0,'size':1}", "at most 64"},
		{"alloc_pci_devs", HV_CONFIG_MAX_PCI_DEVS + 1,
		 "{'domain':0,'bus':0,'device':0,'function':0,'dev_type':0}", "at most 32"},
		{"modules", HV_CONFIG_MAX_MODULES + 1, "{'name':'m','filepath':'m','load_paddr':0}",
		 "at most 16"},
		{"pci_config", HV_CONFIG_MAX_PCI_BUS + 1, "{}", "at most 4"},
		{"ivc_configs", HV_CONFIG_MAX_IVC + 1, "{}", "at most 2"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct hv_zone_config *cfg = NULL;
		struct hv_error err = {0};
		json_object *root = load(RISCV64);
		char path[64];
		int r;

		mutate(root, cases[i].key, "[]");
		for (int k = 0; k < cases[i].count; k++) {
			char region[128];
			const char *item = cases[i].item;

			/* regions must not overlap each other */
			if (strcmp(cases[i].key, "memory_regions") == 0) {
				snprintf(region, sizeof(region),
					 "{'type':'io','physical_start':%d,'virtual_start':%d,"
					 "'size':1}",
					 k, k);
				item = region;
			}
			snprintf(path, sizeof(path), "%s[%d]", cases[i].key, k);
			mutate(root, path, item);
		}
		r = hv_zone_config_parse(root, HV_ARCH_RISCV64, &cfg, &err);
		expect_error(r, &err, cases[i].key, cases[i].msg);
		assert_null(cfg);

		/* one fewer is fine where the items are complete */
		if (strcmp(cases[i].item, "{}") != 0) {
			snprintf(path, sizeof(path), "%s[%d]", cases[i].key, cases[i].count - 1);
			mutate(root, path, NULL);
			cfg = parse_ok_obj(root, HV_ARCH_RISCV64);
			hv_zone_config_free(cfg);
		}
		json_object_put(root);
	}
	(void)state;
}

/* nested n levels deep: objects {"a": ...} around `inner` */
static char *nested(int n, const char *inner)
{
	size_t len = (size_t)n * 6 + strlen(inner) + 1;
	char *s = malloc(len), *p = s;

	assert_non_null(s);
	/* memcpy, not sprintf: gcc's ASan build warns of a NULL destination */
	for (int i = 0; i < n; i++, p += 5)
		memcpy(p, "{\"a\":", 5);
	memcpy(p, inner, strlen(inner));
	p += strlen(inner);
	for (int i = 0; i < n; i++)
		*p++ = '}';
	*p = '\0';
	return s;
}

/* The wording of docs/config.md §1: every message names its limit or
 * where in the text the problem is. */
static void test_document_messages(void **state)
{
	struct hv_error err = {0};
	json_object *root = NULL;
	char *t;

	/* byte offsets of trailing data, of a syntax error, of a NUL */
	string_rejects("{}\n  {'x': 1}", HV_ARCH_AARCH64, "",
		       "JSON syntax error at line 2, column 3 (byte 5): unexpected data after the "
		       "JSON document");
	string_rejects("{'zone_id': 1,\n x}", HV_ARCH_AARCH64, "",
		       "JSON syntax error at line 2, column 2 (byte 16): ");
	assert_int_equal(hv_zone_config_parse_json("{\"a\":\"b\0c\"}", 11, 0, &root, &err),
			 -EINVAL);
	assert_string_equal(err.message, "the config contains a NUL byte (byte 7)");
	/* a truncated document */
	string_rejects("{'zone_id': 1, 'cpus': [2,", HV_ARCH_AARCH64, "",
		       "JSON syntax error: unexpected end of input");
	string_rejects("{'name': 'zo", HV_ARCH_AARCH64, "",
		       "JSON syntax error: unexpected end of input");

	/* 32 levels are fine, 33 are not: containers count, scalars do not */
	t = nested(32, "1");
	assert_int_equal(hv_zone_config_parse_json(t, strlen(t), 0, &root, &err), 0);
	json_object_put(root);
	free(t);
	t = nested(31, "[]");
	assert_int_equal(hv_zone_config_parse_json(t, strlen(t), 0, &root, &err), 0);
	json_object_put(root);
	free(t);
	t = nested(33, "1");
	assert_int_equal(hv_zone_config_parse_json(t, strlen(t), 0, &root, &err), -EINVAL);
	assert_string_equal(err.message, "the config nests deeper than 32 levels");
	free(t);
	t = nested(32, "[]");
	assert_int_equal(hv_zone_config_parse_json(t, strlen(t), 0, &root, &err), -EINVAL);
	assert_string_equal(err.message, "the config nests deeper than 32 levels");
	free(t);
	/* a tighter limit (hvctl's: what fits in a protocol message) */
	t = nested(14, "[]");
	assert_int_equal(hv_zone_config_parse_json(t, strlen(t), 14, &root, &err), -EINVAL);
	assert_string_equal(err.message, "the config nests deeper than 14 levels");
	free(t);
	t = nested(14, "1");
	assert_int_equal(hv_zone_config_parse_json(t, strlen(t), 14, &root, &err), 0);
	json_object_put(root);
	free(t);
	/* the top level */
	assert_int_equal(hv_zone_config_parse_json("[1]", 3, 0, &root, &err), -EINVAL);
	assert_string_equal(err.message, "a zone config must be a JSON object");
	/* the size */
	t = malloc((1u << 20) + 1);
	assert_non_null(t);
	memset(t, ' ', (1u << 20) + 1);
	t[0] = '{';
	t[(1u << 20) - 1] = '}';
	assert_int_equal(hv_zone_config_parse_json(t, 1u << 20, 0, &root, &err), 0);
	json_object_put(root);
	t[(1u << 20) - 1] = ' ';
	t[1u << 20] = '}';
	assert_int_equal(hv_zone_config_parse_json(t, (1u << 20) + 1, 0, &root, &err), -EINVAL);
	assert_string_equal(err.message, "the config is larger than 1048576 bytes");
	free(t);
	(void)state;
}

static void test_reject_documents(void **state)
{
	struct hv_zone_config *cfg = NULL;
	struct hv_error err = {0};
	char *big, *deep;
	size_t n;
	int r;

	string_rejects("[]", HV_ARCH_AARCH64, "", "must be a JSON object");
	string_rejects("5", HV_ARCH_AARCH64, "", "must be a JSON object");
	string_rejects("'text'", HV_ARCH_AARCH64, "", "must be a JSON object");
	string_rejects("null", HV_ARCH_AARCH64, "", "must be a JSON object");
	string_rejects("", HV_ARCH_AARCH64, "", "unexpected end of input");
	string_rejects("   ", HV_ARCH_AARCH64, "", "unexpected end of input");
	string_rejects("{", HV_ARCH_AARCH64, "", "JSON syntax error");
	string_rejects("{'zone_id':}", HV_ARCH_AARCH64, "", "JSON syntax error");
	string_rejects("{\n'zone_id': 1,\n  x}", HV_ARCH_AARCH64, "", "line 3");
	string_rejects("{} {}", HV_ARCH_AARCH64, "", "after the JSON document");
	string_rejects("{}x", HV_ARCH_AARCH64, "", "after the JSON document");
	/* a valid text then the missing key */
	string_rejects("{}  \n", HV_ARCH_AARCH64, "zone_id", "missing");

	/* NUL bytes inside the text */
	r = hv_zone_config_parse_string("{}\0{}", 5, HV_ARCH_AARCH64, &cfg, &err);
	expect_error(r, &err, "", "NUL");
	assert_null(cfg);

	/* nesting depth */
	n = 100000;
	deep = malloc(2 * n + 1);
	assert_non_null(deep);
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	r = hv_zone_config_parse_string(deep, 2 * n, HV_ARCH_AARCH64, &cfg, &err);
	expect_error(r, &err, "", "the config nests deeper than 32 levels");
	deep[0] = '{';
	memcpy(deep + 1, "'a':", 4);
	for (size_t i = 0; i < 5; i++)
		if (deep[i] == '\'')
			deep[i] = '"';
	r = hv_zone_config_parse_string(deep, 2 * n, HV_ARCH_AARCH64, &cfg, &err);
	assert_int_equal(r, -EINVAL);
	free(deep);

	/* size limit */
	n = 1024 * 1024 + 1;
	big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	r = hv_zone_config_parse_string(big, n, HV_ARCH_AARCH64, &cfg, &err);
	expect_error(r, &err, "", "larger than");
	free(big);
	assert_null(cfg);

	/* API misuse */
	r = hv_zone_config_parse(NULL, HV_ARCH_AARCH64, &cfg, &err);
	expect_error(r, &err, "", "must be a JSON object");
	{
		json_object *root = load(AARCH64_V3);

		r = hv_zone_config_parse(root, (enum hv_arch)99, &cfg, &err);
		expect_error(r, &err, "", "architecture");
		json_object_put(root);
	}
	r = hv_zone_config_parse_string(NULL, 0, HV_ARCH_AARCH64, &cfg, &err);
	assert_int_equal(r, -EINVAL);
	assert_null(cfg);
	assert_null(hv_zone_config_free(NULL));
	(void)state;
}

/* ---- foreach_file ------------------------------------------------------ */

struct collected {
	int n;
	char keys[HV_CONFIG_MAX_IMAGES + 4][64];
	char paths[HV_CONFIG_MAX_IMAGES + 4][64];
	int fail_at; /* return -EBADF on that call (1-based); 0 never */
};

static int collect(const char *key, const char *path, void *userdata)
{
	struct collected *c = userdata;

	if (c->n >= (int)ARRAY_SIZE(c->keys))
		return -E2BIG;
	snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", key);
	snprintf(c->paths[c->n], sizeof(c->paths[0]), "%s", path);
	c->n++;
	if (c->n == c->fail_at)
		return -EBADF;
	return 1; /* non-negative results are not errors */
}

static void test_foreach_file(void **state)
{
	static const char *const x86_keys[] = {"kernel_filepath",
					       "dtb_filepath",
					       "arch_config.boot_filepath",
					       "arch_config.setup_filepath",
					       "arch_config.initrd_filepath",
					       "initramfs_filepath"};
	struct collected c = {0};
	struct hv_error err = {0};
	json_object *root;
	int r;

	/* x86 with every file key, arch not needed */
	root = load(X86_64);
	mutate(root, "dtb_filepath", "'acpi-is-used.dtb'");
	mutate(root, "initramfs_filepath", "'initramfs.img'");
	r = hv_zone_config_foreach_file(root, collect, &c, &err);
	assert_int_equal(r, 0);
	assert_int_equal(c.n, ARRAY_SIZE(x86_keys));
	for (size_t i = 0; i < ARRAY_SIZE(x86_keys); i++)
		assert_string_equal(c.keys[i], x86_keys[i]);
	assert_string_equal(c.paths[2], "boot.bin");

	/* a negative callback result stops the walk and is returned */
	memset(&c, 0, sizeof(c));
	c.fail_at = 2;
	r = hv_zone_config_foreach_file(root, collect, &c, &err);
	assert_int_equal(r, -EBADF);
	assert_int_equal(c.n, 2);
	json_object_put(root);

	/* modules, "null" and "" skipped */
	root = load(AARCH64_V2);
	mutate(root, "dtb_filepath", "''");
	mutate(root, "modules[0].filepath", "'null'");
	memset(&c, 0, sizeof(c));
	r = hv_zone_config_foreach_file(root, collect, &c, &err);
	assert_int_equal(r, 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.keys[0], "kernel_filepath");
	assert_string_equal(c.keys[1], "modules[1].filepath");
	assert_string_equal(c.paths[1], "fw.bin");
	json_object_put(root);
	(void)state;
}

static void test_foreach_file_rejects(void **state)
{
	static const struct {
		const char *path, *value, *err_path;
	} cases[] = {
		{"kernel_filepath", "5", "kernel_filepath"},
		{"dtb_filepath", "null", "dtb_filepath"},
		{"dtb_filepath", "'a\\u0000b'", "dtb_filepath"},
		{"modules", "{}", "modules"},
		{"modules", "[5]", "modules[0]"},
		{"modules", "[{'filepath':[]}]", "modules[0].filepath"},
		{"modules", "[{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}]", "modules"},
		{"arch_config", "'x'", "arch_config"},
		{"arch_config.boot_filepath", "{}", "arch_config.boot_filepath"},
		{"initramfs_filepath", "1", "initramfs_filepath"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct collected c = {0};
		struct hv_error err = {0};
		json_object *root = load(X86_64);
		int r;

		mutate(root, cases[i].path, cases[i].value);
		r = hv_zone_config_foreach_file(root, collect, &c, &err);
		assert_int_equal(r, -EINVAL);
		assert_string_equal(err.path, cases[i].err_path);
		json_object_put(root);
	}
	{
		struct collected c = {0};
		struct hv_error err = {0};
		json_object *arr = json_object_new_array();

		assert_int_equal(hv_zone_config_foreach_file(arr, collect, &c, &err), -EINVAL);
		assert_int_equal(hv_zone_config_foreach_file(NULL, collect, &c, &err), -EINVAL);
		json_object_put(arr);
	}
	(void)state;
}

/* ---- the architecture a config is written for ---------------------------- */

static void expect_apparent(const char *doc, int want_r, enum hv_arch arch, const char *path,
			    const char *why)
{
	json_object *root = load(doc);
	struct hv_arch_evidence e;
	int r = hv_zone_config_apparent_arch(root, &e);

	if (r != want_r)
		fail_msg("%s: apparent arch %d, expected %d", doc, r, want_r);
	if (r == 1) {
		assert_int_equal(e.arch, arch);
		assert_string_equal(e.path, path);
		assert_string_equal(e.why, why);
	}
	json_object_put(root);
}

static void test_apparent_arch(void **state)
{
	/* the case: an aarch64 config for an x86_64 backend */
	string_rejects(AARCH64_V3, HV_ARCH_X86_64, "arch_config",
		       "this config looks like aarch64 (arch_config has gic_version) but the "
		       "backend is x86_64");

	expect_apparent("{'arch_config': {'gicd_base': 1}}", 1, HV_ARCH_AARCH64, "arch_config",
			"arch_config has gicd_base");
	expect_apparent("{'arch_config': {'aplic_base': 1}, 'arch': 'x86_64'}", 1, HV_ARCH_RISCV64,
			"arch_config", "arch_config has aplic_base");
	expect_apparent("{'arch_config': {'ioapic_base': 1, 'ioapic_size': 1}}", 1, HV_ARCH_X86_64,
			"arch_config", "arch_config has ioapic_base");
	/* upstream's informational key, in its make ARCH= spellings too */
	expect_apparent("{'arch': 'riscv'}", 1, HV_ARCH_RISCV64, "arch", "\"arch\" is \"riscv\"");
	expect_apparent("{'arch': 'loongarch64', 'arch_config': {'dummy': 1}}", 1,
			HV_ARCH_LOONGARCH64, "arch", "\"arch\" is \"loongarch64\"");
	/* no evidence: nothing, contradicting keys, an unknown or non-string arch */
	expect_apparent("{}", 0, 0, NULL, NULL);
	expect_apparent("{'arch_config': {'gic_version': 'v3', 'plic_base': 1}}", 0, 0, NULL, NULL);
	expect_apparent("{'arch': 'sparc', 'arch_config': 5}", 0, 0, NULL, NULL);
	expect_apparent("{'arch': 7}", 0, 0, NULL, NULL);
	/* contradicting keys and an arch key: the key decides */
	expect_apparent("{'arch_config': {'gic_version': 'v3', 'ioapic_base': 1}, 'arch': 'arm64'}",
			1, HV_ARCH_AARCH64, "arch", "\"arch\" is \"arm64\"");

	/* a config of the right arch: the parser's own errors, no warning */
	string_rejects("{'arch': 'arm64', 'zone_id': 0}", HV_ARCH_AARCH64, "zone_id",
		       "0 is the root zone");
	/* without evidence the parser's own error stays */
	string_rejects("{'zone_id': 1}", HV_ARCH_X86_64, "cpus", "missing");
	/* with only the arch key, on any error */
	string_rejects("{'arch': 'loongarch64', 'zone_id': 0}", HV_ARCH_RISCV64, "arch",
		       "this config looks like loongarch64 (\"arch\" is \"loongarch64\") but the "
		       "backend is riscv64");
	(void)state;
}

/* ---- shipped examples -------------------------------------------------- */

struct example {
	const char *file;
	enum hv_arch arch;
	const char *keys[8];
};

static const struct example examples[] = {
	{"qemu-aarch64/zone1-linux.json", HV_ARCH_AARCH64, {"kernel_filepath", "dtb_filepath"}},
	{"zcu102-aarch64/zone1-linux.json", HV_ARCH_AARCH64, {"kernel_filepath", "dtb_filepath"}},
	{"qemu-riscv64/zone1-linux.json", HV_ARCH_RISCV64, {"kernel_filepath", "dtb_filepath"}},
	{"qemu-riscv64-aia/zone1-linux.json", HV_ARCH_RISCV64, {"kernel_filepath", "dtb_filepath"}},
	{"qemu-x86_64/zone1-linux.json",
	 HV_ARCH_X86_64,
	 {"kernel_filepath", "arch_config.boot_filepath", "arch_config.setup_filepath",
	  "arch_config.initrd_filepath"}},
	{"loongarch64/zone1-linux.json", HV_ARCH_LOONGARCH64, {"kernel_filepath", "dtb_filepath"}},
	{"sim/zone1.json", HV_ARCH_AARCH64, {"kernel_filepath", "dtb_filepath"}},
	{"sim/zone2.json", HV_ARCH_AARCH64, {"kernel_filepath", "dtb_filepath"}},
};

static struct hv_zone_config *parse_example(const char *file, enum hv_arch arch)
{
	struct hv_zone_config *cfg = NULL;
	struct hv_error err = {0};
	char rel[256];
	size_t len;
	char *text;
	int r;

	snprintf(rel, sizeof(rel), "conf/examples/%s", file);
	text = test_source_file(rel, &len);
	r = hv_zone_config_parse_string(text, len, arch, &cfg, &err);
	if (r < 0)
		fail_msg("%s: %s: %s", file, err.path, err.message);
	free(text);
	return cfg;
}

/* The example looks like its own arch, and is refused by every other one
 * with both named; loongarch64, which reads no arch_config, warns. */
static void example_other_arches(const struct example *ex, json_object *root)
{
	struct hv_arch_evidence e;

	assert_int_equal(hv_zone_config_apparent_arch(root, &e), 1);
	assert_int_equal(e.arch, ex->arch);
	for (int a = 0; a < _HV_ARCH_MAX; a++) {
		struct hv_zone_config *cfg = NULL;
		struct hv_error err = {0};
		char want[256];
		int r;

		if (a == (int)ex->arch)
			continue;
		snprintf(want, sizeof(want), "this config looks like %s (%s) but the backend is %s",
			 hv_arch_to_string(ex->arch), e.why, hv_arch_to_string((enum hv_arch)a));
		r = hv_zone_config_parse(root, (enum hv_arch)a, &cfg, &err);
		if (a != HV_ARCH_LOONGARCH64) {
			expect_error(r, &err, e.path, want);
			assert_string_equal(err.message, want);
			continue;
		}
		assert_int_equal(r, 0);
		assert_int_equal(cfg->n_warnings, 1);
		assert_non_null(strstr(cfg->warnings[0], want));
		hv_zone_config_free(cfg);
	}
}

static void test_example(void **state)
{
	const struct example *ex = *state;
	struct hv_zone_config *cfg = parse_example(ex->file, ex->arch);
	uint8_t buf[HV_ZONE_CONFIG_MAX_SIZE];
	struct collected c = {0};
	struct hv_error err = {0};
	json_object *root;
	size_t n_keys = 0, n_files = 0;
	char rel[256], *text;
	size_t len;

	/* examples are clean: nothing to warn about */
	for (unsigned i = 0; i < cfg->n_warnings; i++)
		print_message("warning: %s\n", cfg->warnings[i]);
	assert_int_equal(cfg->n_warnings, 0);
	assert_true(cfg->zone_id >= 1);

	/* foreach_file names exactly the files the parser turned into images */
	snprintf(rel, sizeof(rel), "conf/examples/%s", ex->file);
	text = test_source_file(rel, &len);
	root = json_tokener_parse(text);
	assert_non_null(root);
	assert_int_equal(hv_zone_config_foreach_file(root, collect, &c, &err), 0);
	while (n_keys < ARRAY_SIZE(ex->keys) && ex->keys[n_keys])
		n_keys++;
	assert_int_equal(c.n, n_keys);
	for (size_t i = 0; i < n_keys; i++) {
		const struct hv_image *img;

		assert_string_equal(c.keys[i], ex->keys[i]);
		img = find_image(cfg, c.keys[i]);
		assert_non_null(img);
		assert_string_equal(img->path, c.paths[i]);
		/* relative names, resolved against the config's directory */
		assert_true(img->path[0] != '/');
	}
	for (size_t i = 0; i < cfg->n_images; i++)
		if (cfg->images[i].path) {
			cfg->images[i].size = 0x1000;
			n_files++;
		}
	assert_int_equal(n_files, n_keys);

	/* their load addresses are sane, and both layouts encode */
	if (hv_zone_config_check_images(cfg, &err) < 0)
		fail_msg("%s: %s: %s", ex->file, err.path, err.message);
	assert_true(hv_zone_config_encode(cfg, HV_CONFIG_MAGIC_0x06, buf, sizeof(buf), &err) > 0);
	assert_true(hv_zone_config_encode(cfg, HV_CONFIG_MAGIC_0x05, buf, sizeof(buf), &err) > 0);

	example_other_arches(ex, root);
	json_object_put(root);
	free(text);
	hv_zone_config_free(cfg);
}

static int count_json(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	static const char suffix[] = ".json";
	size_t len = strlen(path);
	const char *rel;
	bool listed = false;

	(void)st;
	(void)ftw;
	if (type != FTW_F || len < sizeof(suffix) ||
	    strcmp(path + len - (sizeof(suffix) - 1), suffix) != 0)
		return 0;
	rel = strstr(path, "conf/examples/");
	assert_non_null(rel);
	rel += strlen("conf/examples/");
	/* virtio configs, covered by test-virtio-config */
	if (strcmp(path + len - strlen("virtio_cfg.json"), "virtio_cfg.json") == 0)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(examples); i++)
		listed |= strcmp(rel, examples[i].file) == 0;
	if (!listed)
		fail_msg("conf/examples/%s is not covered by test-config", rel);
	return 0;
}

/* A new example must be added to the table above (and so gets tested). */
static void test_examples_all_listed(void **state)
{
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/conf/examples", getenv("HV_SOURCE_DIR"));
	assert_int_equal(nftw(dir, count_json, 8, FTW_PHYS), 0);
	(void)state;
}

static void test_example_values(void **state)
{
	struct hv_zone_config *q = parse_example("qemu-aarch64/zone1-linux.json", HV_ARCH_AARCH64);
	struct hv_zone_config *z1 = parse_example("sim/zone1.json", HV_ARCH_AARCH64);
	struct hv_zone_config *z2 = parse_example("sim/zone2.json", HV_ARCH_AARCH64);
	struct hv_zone_config *x = parse_example("qemu-x86_64/zone1-linux.json", HV_ARCH_X86_64);
	struct hv_zone_config *zcu =
		parse_example("zcu102-aarch64/zone1-linux.json", HV_ARCH_AARCH64);

	assert_int_equal(q->cpus, 0xc);
	check_region(&q->regions[0], HV_MEM_TYPE_RAM, 0x50000000, 0x50000000, 0x30000000);
	check_region(&q->regions[1], HV_MEM_TYPE_VIRTIO, 0xa000000, 0xa000000, 0x4000);
	assert_true(irq_set(q, 76) && irq_set(q, 78));
	assert_int_equal(irq_count(q), 2);
	assert_int_equal(q->entry_point, 0x50400000);
	check_image(q, "kernel_filepath", HV_IMAGE_KERNEL, "kernel_load_paddr", "Image",
		    0x50400000);
	check_image(q, "dtb_filepath", HV_IMAGE_DTB, "dtb_load_paddr", "zone1-linux.dtb",
		    0x50000000);
	assert_int_equal(q->arch_config.aarch64.gic_version, 3);

	assert_int_equal(zcu->arch_config.aarch64.gic_version, 2);

	/* the two demo zones fit side by side on a 4-CPU sim whose root owns
	 * CPUs 0 and 1 */
	assert_int_equal(z1->cpus, 1u << 2);
	assert_int_equal(z2->cpus, 1u << 3);
	assert_int_equal(z1->zone_id, 1);
	assert_int_equal(z2->zone_id, 2);
	check_region(&z1->regions[0], HV_MEM_TYPE_RAM, 0x50000000, 0x50000000, 0x10000000);
	check_region(&z2->regions[0], HV_MEM_TYPE_RAM, 0x60000000, 0x60000000, 0x10000000);
	check_region(&z1->regions[1], HV_MEM_TYPE_VIRTIO, 0xa000000, 0xa000000, 0x4000);
	check_region(&z2->regions[1], HV_MEM_TYPE_VIRTIO, 0xa004000, 0xa004000, 0x4000);
	for (unsigned irq = 76; irq <= 79; irq++)
		assert_true(irq_set(z1, irq) && !irq_set(z2, irq));
	for (unsigned irq = 80; irq <= 83; irq++)
		assert_true(irq_set(z2, irq) && !irq_set(z1, irq));
	check_image(z1, "kernel_filepath", HV_IMAGE_KERNEL, "kernel_load_paddr", "zone1-kernel.bin",
		    0x50400000);
	check_image(z2, "kernel_filepath", HV_IMAGE_KERNEL, "kernel_load_paddr", "zone2-kernel.bin",
		    0x60400000);
	check_image(z2, "dtb_filepath", HV_IMAGE_DTB, "dtb_load_paddr", "zone2.dtb", 0x60000000);

	/* x86: RAM remapped to guest 0, cmdline inline */
	check_region(&x->regions[0], HV_MEM_TYPE_RAM, 0x40300000, 0, 0xe0000);
	assert_non_null(find_image(x, "arch_config.cmdline"));
	assert_null(find_image(x, "dtb_filepath"));
	assert_int_equal(x->arch_config.x86_64.ioapic_base, 0xfec00000);

	hv_zone_config_free(q);
	hv_zone_config_free(z1);
	hv_zone_config_free(z2);
	hv_zone_config_free(x);
	hv_zone_config_free(zcu);
	(void)state;
}

/* ---- check_images ------------------------------------------------------ */

static struct hv_zone_config *images_cfg(void)
{
	/* RAM 0x50000000..0x80000000 and 0x80000000..0x90000000 (adjacent),
	 * io at 0x90000000, virtio at 0xa000000 */
	json_object *root = load(AARCH64_V3);
	struct hv_zone_config *cfg;

	mutate(root, "memory_regions[2]",
	       "{'type':'ram','physical_start':'0x80000000',"
	       "'virtual_start':'0x80000000','size':'0x10000000'}");
	mutate(root, "memory_regions[3]",
	       "{'type':'io','physical_start':'0x90000000',"
	       "'virtual_start':'0x90000000','size':'0x1000000'}");
	mutate(root, "modules", "[{'name':'m','filepath':'m.bin','load_paddr':'0x60000000'}]");
	cfg = parse_ok_obj(root, HV_ARCH_AARCH64);
	json_object_put(root);
	assert_int_equal(cfg->n_images, 3);
	cfg->images[0].size = 0x1000000; /* kernel at 0x50400000 */
	cfg->images[1].size = 0x10000;	 /* dtb at 0x50000000 */
	cfg->images[2].size = 0x1000;	 /* module at 0x60000000 */
	return cfg;
}

static void images_reject(struct hv_zone_config *cfg, const char *path, const char *msg)
{
	struct hv_error err = {0};

	expect_error(hv_zone_config_check_images(cfg, &err), &err, path, msg);
	hv_zone_config_free(cfg);
}

static void test_check_images(void **state)
{
	struct hv_zone_config *cfg;
	struct hv_error err = {0};

	/* fits, including an image ending exactly at its region's end */
	cfg = images_cfg();
	assert_int_equal(hv_zone_config_check_images(cfg, &err), 0);
	cfg->images[2].load_paddr = 0x80000000 - 0x1000;
	assert_int_equal(hv_zone_config_check_images(cfg, &err), 0);
	hv_zone_config_free(cfg);

	/* straddles the end of its region */
	cfg = images_cfg();
	cfg->images[0].load_paddr = 0x7ff00000;
	images_reject(cfg, "kernel_filepath",
		      "0x1000000 bytes at 0x7ff00000 do not fit in a RAM region");

	/* straddles two adjacent RAM regions: must be inside one */
	cfg = images_cfg();
	cfg->images[2].load_paddr = 0x7ffff000;
	cfg->images[2].size = 0x2000;
	images_reject(cfg, "modules[0].filepath", "do not fit in a RAM region");

	/* outside any region, in an io region, in a virtio region */
	cfg = images_cfg();
	cfg->images[1].load_paddr = 0x10000000;
	images_reject(cfg, "dtb_filepath", "do not fit in a RAM region");
	cfg = images_cfg();
	cfg->images[2].load_paddr = 0x90000000;
	images_reject(cfg, "modules[0].filepath", "do not fit in a RAM region");
	cfg = images_cfg();
	cfg->images[2].load_paddr = 0xa000000;
	images_reject(cfg, "modules[0].filepath", "do not fit in a RAM region");

	/* overflow near 2^64 */
	cfg = images_cfg();
	cfg->images[2].load_paddr = UINT64_MAX - 0xfff;
	cfg->images[2].size = 0x2000;
	images_reject(cfg, "modules[0].filepath", "do not fit in a RAM region");
	cfg = images_cfg();
	cfg->images[0].size = UINT64_MAX;
	images_reject(cfg, "kernel_filepath", "do not fit in a RAM region");

	/* empty file */
	cfg = images_cfg();
	cfg->images[1].size = 0;
	images_reject(cfg, "dtb_filepath", "empty");

	/* overlapping images: the later one is named, the earlier mentioned */
	cfg = images_cfg();
	cfg->images[1].size = 0x400001; /* dtb at 0x50000000 runs into the kernel */
	images_reject(cfg, "dtb_filepath", "overlap kernel_filepath");
	cfg = images_cfg();
	cfg->images[2].load_paddr = 0x50400000 + 0xfff000;
	images_reject(cfg, "modules[0].filepath", "overlap kernel_filepath");
	(void)state;
}

static void test_check_images_x86(void **state)
{
	struct hv_zone_config *cfg = parse_ok(X86_64, HV_ARCH_X86_64);
	struct hv_error err = {0};

	for (size_t i = 0; i < cfg->n_images; i++)
		if (cfg->images[i].path)
			cfg->images[i].size = 0x1000;
	/* the inline cmdline already has its size */
	assert_int_equal(hv_zone_config_check_images(cfg, &err), 0);
	/* a cmdline running into setup.bin */
	cfg->images[4].load_paddr = 0x4030d000 - 4;
	assert_int_equal(hv_zone_config_check_images(cfg, &err), -EINVAL);
	assert_string_equal(err.path, "arch_config.cmdline");
	assert_non_null(strstr(err.message, "arch_config.setup_filepath"));
	hv_zone_config_free(cfg);
	(void)state;
}

/* ---- robustness -------------------------------------------------------- */

static uint64_t rng_state = TEST_RNG_SEED;

static int ignore_file(const char *key, const char *path, void *userdata)
{
	(void)key;
	(void)path;
	(void)userdata;
	return 0;
}

static void try_text(const char *text, size_t len, enum hv_arch arch)
{
	struct hv_zone_config *cfg = NULL;
	struct hv_error err = {0};
	int r;

	r = hv_zone_config_parse_string(text, len, arch, &cfg, &err);
	if (r == 0) {
		/* exercise the consumers of a model too */
		uint8_t buf[HV_ZONE_CONFIG_MAX_SIZE];

		for (size_t i = 0; i < cfg->n_images; i++)
			if (cfg->images[i].path)
				cfg->images[i].size = 1 + (test_rng(&rng_state) & 0xffff);
		(void)hv_zone_config_check_images(cfg, &err);
		(void)hv_zone_config_encode(cfg, HV_CONFIG_MAGIC_0x06, buf, sizeof(buf), &err);
		hv_zone_config_free(cfg);
	} else {
		assert_int_equal(r, -EINVAL);
		assert_null(cfg);
		/* errors are terminated strings */
		assert_true(memchr(err.message, '\0', sizeof(err.message)) != NULL);
		assert_true(memchr(err.path, '\0', sizeof(err.path)) != NULL);
		assert_true(err.message[0] != '\0');
	}
}

static void test_garbage(void **state)
{
	static const char *const files[] = {"qemu-x86_64/zone1-linux.json",
					    "qemu-riscv64/zone1-linux.json"};
	static const enum hv_arch arch_of[] = {HV_ARCH_X86_64, HV_ARCH_RISCV64};
	static const char interesting[] = "\0\"{}[],:0x9-.\\ntfu'";

	for (size_t f = 0; f < ARRAY_SIZE(files); f++) {
		char rel[256];
		size_t len, last;
		char *text, *copy;

		snprintf(rel, sizeof(rel), "conf/examples/%s", files[f]);
		text = test_source_file(rel, &len);
		last = (size_t)(strrchr(text, '}') - text);

		/* every truncation: only the complete document is valid */
		for (size_t n = 0; n <= len; n++) {
			struct hv_zone_config *cfg = NULL;
			struct hv_error err = {0};
			char *t = malloc(n ? n : 1);
			int r;

			assert_non_null(t);
			memcpy(t, text, n); /* exact-size copy so ASan sees over-reads */
			r = hv_zone_config_parse_string(t, n, arch_of[f], &cfg, &err);
			if (n <= last)
				assert_int_equal(r, -EINVAL);
			else
				assert_int_equal(r, 0);
			hv_zone_config_free(cfg);
			free(t);
		}

		/* random byte flips (fixed seed), for every architecture */
		copy = malloc(len + 1);
		assert_non_null(copy);
		copy[len] = '\0'; /* for json_tokener_parse() below */
		for (int iter = 0; iter < 4000; iter++) {
			int flips = 1 + (int)(test_rng(&rng_state) % 4);

			memcpy(copy, text, len);
			for (int k = 0; k < flips; k++) {
				size_t pos = test_rng(&rng_state) % len;

				if (test_rng(&rng_state) & 1)
					copy[pos] = interesting[test_rng(&rng_state) %
								(sizeof(interesting) - 1)];
				else
					copy[pos] = (char)test_rng(&rng_state);
			}
			try_text(copy, len, (enum hv_arch)(iter % _HV_ARCH_MAX));
			{
				json_object *root = json_tokener_parse(copy);
				struct hv_error err = {0};

				if (root)
					(void)hv_zone_config_foreach_file(root, ignore_file, NULL,
									  &err);
				json_object_put(root);
			}
		}
		free(copy);
		free(text);
	}
	(void)state;
}

/* Structurally valid JSON with values of the wrong kind everywhere. */
static void test_wrong_types_everywhere(void **state)
{
	static const char *const bases[] = {AARCH64_V3, AARCH64_V2, RISCV64, X86_64, LOONGARCH64};
	static const enum hv_arch arches[] = {HV_ARCH_AARCH64, HV_ARCH_AARCH64, HV_ARCH_RISCV64,
					      HV_ARCH_X86_64, HV_ARCH_LOONGARCH64};
	static const char *const values[] = {
		"null", "true", "-1",	"1.5",	"'x'",
		"[]",	"{}",	"[[]]", "'0x'", "18446744073709551615"};

	for (size_t b = 0; b < ARRAY_SIZE(bases); b++) {
		json_object *root = load(bases[b]);

		/* replace each top-level member and each member of the first
		 * level objects / array items, one at a time */
		json_object_object_foreach (root, key, val) {
			for (size_t v = 0; v < ARRAY_SIZE(values); v++) {
				json_object *copy = NULL;

				assert_int_equal(json_object_deep_copy(root, &copy, NULL), 0);
				mutate(copy, key, values[v]);
				{
					const char *t = json_object_to_json_string(copy);

					try_text(t, strlen(t), arches[b]);
				}
				json_object_put(copy);
			}
			if (json_object_is_type(val, json_type_object) ||
			    json_object_is_type(val, json_type_array)) {
				size_t n = json_object_is_type(val, json_type_array)
						   ? json_object_array_length(val)
						   : 0;

				for (size_t i = 0; i < n; i++) {
					json_object *item = json_object_array_get_idx(val, i);

					if (!json_object_is_type(item, json_type_object))
						continue;
					json_object_object_foreach (item, k2, v2) {
						(void)v2;
						for (size_t v = 0; v < ARRAY_SIZE(values); v++) {
							json_object *copy = NULL;
							char path[128];
							const char *t;

							assert_int_equal(json_object_deep_copy(
										 root, &copy, NULL),
									 0);
							snprintf(path, sizeof(path), "%s[%zu].%s",
								 key, i, k2);
							mutate(copy, path, values[v]);
							t = json_object_to_json_string(copy);
							try_text(t, strlen(t), arches[b]);
							json_object_put(copy);
						}
					}
				}
				if (json_object_is_type(val, json_type_object)) {
					json_object_object_foreach (val, k3, v3) {
						(void)v3;
						for (size_t v = 0; v < ARRAY_SIZE(values); v++) {
							json_object *copy = NULL;
							char path[128];
							const char *t;

							assert_int_equal(json_object_deep_copy(
										 root, &copy, NULL),
									 0);
							snprintf(path, sizeof(path), "%s.%s", key,
								 k3);
							mutate(copy, path, values[v]);
							t = json_object_to_json_string(copy);
							try_text(t, strlen(t), arches[b]);
							json_object_put(copy);
						}
					}
				}
			}
		}
		json_object_put(root);
	}
	(void)state;
}

/* ---- main -------------------------------------------------------------- */

static const struct CMUnitTest fixed_tests[] = {
	cmocka_unit_test(test_aarch64_gicv3),
	cmocka_unit_test(test_aarch64_gicv2_numbers_ivc_modules),
	cmocka_unit_test(test_aarch64_uefi_and_aarch32_forms),
	cmocka_unit_test(test_aarch64_no_gits_warns),
	cmocka_unit_test(test_riscv64_plic_pci),
	cmocka_unit_test(test_riscv64_aia),
	cmocka_unit_test(test_x86_64_linux_boot),
	cmocka_unit_test(test_x86_64_optional_groups_absent),
	cmocka_unit_test(test_x86_64_multiboot2),
	cmocka_unit_test(test_loongarch64),
	cmocka_unit_test(test_number_spellings),
	cmocka_unit_test(test_null_and_empty_images),
	cmocka_unit_test(test_tolerated_missing_keys),
	cmocka_unit_test(test_unknown_keys_warn),
	cmocka_unit_test(test_misc_accepted),
	cmocka_unit_test(test_reject_counts),
	cmocka_unit_test(test_reject_documents),
	cmocka_unit_test(test_document_messages),
	cmocka_unit_test(test_foreach_file),
	cmocka_unit_test(test_foreach_file_rejects),
	cmocka_unit_test(test_apparent_arch),
	cmocka_unit_test(test_examples_all_listed),
	cmocka_unit_test(test_example_values),
	cmocka_unit_test(test_check_images),
	cmocka_unit_test(test_check_images_x86),
	cmocka_unit_test(test_garbage),
	cmocka_unit_test(test_wrong_types_everywhere),
};

static char *test_names[ARRAY_SIZE(rejects) + ARRAY_SIZE(examples)];

int main(void)
{
	/* one TAP plan: fixed tests, then one case per rejection and example */
	struct CMUnitTest
		tests[ARRAY_SIZE(fixed_tests) + ARRAY_SIZE(rejects) + ARRAY_SIZE(examples)];
	size_t n = 0, k = 0;

	for (size_t i = 0; i < ARRAY_SIZE(fixed_tests); i++)
		tests[n++] = fixed_tests[i];
	for (size_t i = 0; i < ARRAY_SIZE(rejects); i++) {
		const struct reject *c = &rejects[i];

		if (asprintf(&test_names[k], "reject %s %s=%s%s%s%s%s", hv_arch_to_string(c->arch),
			     c->path, c->value ? c->value : "(deleted)", c->path2 ? " " : "",
			     c->path2 ? c->path2 : "", c->path2 ? "=" : "",
			     c->path2 ? (c->value2 ? c->value2 : "(deleted)") : "") < 0)
			return 1;
		/* '#' would start a TAP directive */
		for (char *p = test_names[k]; *p; p++)
			if (*p == '#')
				*p = '_';
		tests[n++] =
			(struct CMUnitTest){test_names[k++], test_reject, NULL, NULL, (void *)c};
	}
	for (size_t i = 0; i < ARRAY_SIZE(examples); i++) {
		if (asprintf(&test_names[k], "example %s", examples[i].file) < 0)
			return 1;
		tests[n++] = (struct CMUnitTest){test_names[k++], test_example, NULL, NULL,
						 (void *)&examples[i]};
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
