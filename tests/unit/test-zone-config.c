// SPDX-License-Identifier: GPL-2.0-only
/*
 * zone_config encoder (proto/abi/zone-config.c), byte for byte. The offsets
 * below are written from the reference layout (hvisor-abi.md section 2.8),
 * deliberately not from the C structs, so a struct mistake cannot hide
 * itself. Every byte the test does not expect a value in must be zero, and
 * nothing past the returned size may be written.
 */
#include <errno.h>
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

/* ---- reference layout -------------------------------------------------- */

/* head */
#define OFF_ZONE_ID	      0
#define OFF_CPUS	      8
#define OFF_NUM_REGIONS	      16
#define OFF_REGIONS	      24 /* 64 x 32 */
#define REGION_SIZE	      32
#define OFF_IRQ_BITMAP	      2072 /* 32 x u32 */
#define OFF_NUM_IVC	      2200
#define OFF_IVC		      2208 /* 2 x 40 */
#define IVC_SIZE	      40
#define OFF_ENTRY_POINT	      2288
#define OFF_KERNEL_LOAD_PADDR 2296
#define OFF_KERNEL_SIZE	      2304
#define OFF_DTB_LOAD_PADDR    2312
#define OFF_DTB_SIZE	      2320
#define OFF_NAME	      2328 /* char[32] */
#define OFF_ARCH	      2360

/* PCI tail, relative to its start (2360 + arch size) */
#define PCI_NUM_BUS	  0
#define PCI_BUSES	  8 /* 4 x 104 */
#define PCI_BUS_SIZE	  104
#define PCI_NUM_DEVS	  424
#define PCI_DEVS	  432
#define PCI_DEV_SIZE_0x06 12
#define PCI_DEV_SIZE_0x05 8

static size_t ref_arch_size(enum hv_arch arch, unsigned magic)
{
	switch (arch) {
	case HV_ARCH_AARCH64:
		return magic == HV_CONFIG_MAGIC_0x06 ? 120 : 88;
	case HV_ARCH_RISCV64:
		return 32;
	case HV_ARCH_LOONGARCH64:
		return 8;
	case HV_ARCH_X86_64:
		return 88;
	default:
		return 0;
	}
}

static size_t ref_total(enum hv_arch arch, unsigned magic)
{
	static const size_t t06[] = {[HV_ARCH_AARCH64] = 3296,
				     [HV_ARCH_RISCV64] = 3208,
				     [HV_ARCH_LOONGARCH64] = 3184,
				     [HV_ARCH_X86_64] = 3264};
	static const size_t t05[] = {[HV_ARCH_AARCH64] = 3136,
				     [HV_ARCH_RISCV64] = 3080,
				     [HV_ARCH_LOONGARCH64] = 3056,
				     [HV_ARCH_X86_64] = 3136};

	return magic == HV_CONFIG_MAGIC_0x06 ? t06[arch] : t05[arch];
}

/* ---- byte checker ------------------------------------------------------ */

#define SLACK	 64
#define SENTINEL 0xa5

struct image {
	uint8_t buf[HV_ZONE_CONFIG_MAX_SIZE + SLACK];
	bool covered[HV_ZONE_CONFIG_MAX_SIZE + SLACK];
	size_t size;
};

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void want(struct image *im, size_t off, size_t n, uint64_t v, const char *what)
{
	uint64_t got;

	if (off + n > im->size)
		fail_msg("%s at %zu+%zu lies beyond the config size %zu", what, off, n, im->size);
	got = le(im->buf + off, n);
	if (got != v)
		fail_msg("%s at offset %zu: got 0x%" PRIx64 ", want 0x%" PRIx64, what, off, got, v);
	for (size_t i = 0; i < n; i++) {
		if (im->covered[off + i])
			fail_msg("test bug: offset %zu checked twice", off + i);
		im->covered[off + i] = true;
	}
}

#define want64(im, off, v, what) want(im, off, 8, v, what)
#define want32(im, off, v, what) want(im, off, 4, v, what)
#define want8(im, off, v, what)	 want(im, off, 1, v, what)

static void want_rest_zero(const struct image *im)
{
	for (size_t i = 0; i < im->size; i++)
		if (!im->covered[i] && im->buf[i] != 0)
			fail_msg("byte %zu is 0x%02x, should be 0 (padding/unused)", i, im->buf[i]);
	for (size_t i = im->size; i < sizeof(im->buf); i++)
		if (im->buf[i] != SENTINEL)
			fail_msg("byte %zu past the end (%zu) was written", i, im->size);
}

static void encode(const struct hv_zone_config *cfg, unsigned magic, struct image *im)
{
	struct hv_error err = {0};
	int r;

	memset(im, 0, sizeof(*im));
	memset(im->buf, SENTINEL, sizeof(im->buf));
	r = hv_zone_config_encode(cfg, magic, im->buf, sizeof(im->buf), &err);
	if (r < 0)
		fail_msg("encode failed (%d): %s: %s", r, err.path, err.message);
	assert_int_equal(r, ref_total(cfg->arch, magic));
	im->size = (size_t)r;
}

/* ---- model ------------------------------------------------------------- */

static void add_image(struct hv_zone_config *cfg, enum hv_image_kind kind, uint64_t paddr,
		      uint64_t size)
{
	struct hv_image *img = &cfg->images[cfg->n_images++];

	img->kind = kind;
	img->load_paddr = paddr;
	img->size = size;
}

/* Every field a distinct value so a misplaced one shows. */
static struct hv_zone_config *model(enum hv_arch arch)
{
	struct hv_zone_config *cfg = calloc(1, sizeof(*cfg));

	assert_non_null(cfg);
	cfg->arch = arch;
	cfg->zone_id = 0x0a0b0c0d;
	cfg->cpus = 0x8000000000000005ull;
	snprintf(cfg->name, sizeof(cfg->name), "%s", "enc-test");

	cfg->n_regions = 3;
	cfg->regions[0] = (struct hv_cfg_memory_region){
		.type = HV_MEM_TYPE_RAM,
		.__pad = 0xdeadbeef, /* must not reach hvisor */
		.physical_start = 0x50000000,
		.virtual_start = 0x40000000,
		.size = 0x30000000,
	};
	cfg->regions[1] = (struct hv_cfg_memory_region){
		.type = HV_MEM_TYPE_IO,
		.physical_start = 0x9000000,
		.virtual_start = 0x9100000,
		.size = 0x1000,
	};
	cfg->regions[2] = (struct hv_cfg_memory_region){
		.type = HV_MEM_TYPE_VIRTIO,
		.__pad = 1,
		.physical_start = 0xa000000,
		.virtual_start = 0xa000000,
		.size = 0x4000,
	};
	/* IRQs 0, 31, 33, 76, 1023 */
	cfg->irq_bitmap[0] = 0x80000001u;
	cfg->irq_bitmap[1] = 0x00000002u;
	cfg->irq_bitmap[2] = 0x00001000u;
	cfg->irq_bitmap[31] = 0x80000000u;

	cfg->n_ivc = 2;
	cfg->ivc[0] = (struct hv_cfg_ivc){1, 2, 0x1111000, 0x2222000, 0x33, 0x44, 0x55, 0x66};
	cfg->ivc[1] = (struct hv_cfg_ivc){7, 8, 0x7777000, 0x8888000, 0x99, 0xaa, 0xbb, 0xcc};

	cfg->entry_point = 0x50400000;
	cfg->kernel_load_paddr = 0x50480000;
	cfg->dtb_load_paddr = 0x50000000;
	add_image(cfg, HV_IMAGE_KERNEL, 0x50480000, 0x1234); /* -> 0x2000 */
	add_image(cfg, HV_IMAGE_MODULE, 0x60000000, 0x5);    /* not encoded */
	if (arch != HV_ARCH_X86_64)
		add_image(cfg, HV_IMAGE_DTB, 0x50000000, 0x1000); /* -> 0x1000 */

	cfg->n_pci_bus = 2;
	for (int b = 0; b < 2; b++) {
		struct hv_cfg_pci_bus *bus = &cfg->pci_bus[b];
		uint64_t base = 0x1000000000ull * (b + 1);

		bus->ecam_base = base + 1;
		bus->ecam_size = base + 2;
		bus->io_base = base + 3;
		bus->io_size = base + 4;
		bus->pci_io_base = base + 5;
		bus->mem32_base = base + 6;
		bus->mem32_size = base + 7;
		bus->pci_mem32_base = base + 8;
		bus->mem64_base = base + 9;
		bus->mem64_size = base + 10;
		bus->pci_mem64_base = base + 11;
		bus->bus_range_begin = 0x10u * (b + 1);
		bus->bus_range_end = 0x20u * (b + 1);
		bus->domain = (uint8_t)(b + 3);
	}
	cfg->n_pci_devs = 3;
	for (int d = 0; d < 3; d++)
		cfg->pci_devs[d] = (struct hv_cfg_pci_dev_0x06){
			.domain = (uint8_t)(0x10 + d),
			.bus = (uint8_t)(0x20 + d),
			.device = (uint8_t)(0x01 + d),
			.function = (uint8_t)(0x02 + d),
			.v_bus = (uint8_t)(0x30 + d),
			.v_device = (uint8_t)(0x04 + d),
			.v_function = (uint8_t)(0x05 + d),
			.dev_type = 0x100u + (unsigned)d,
		};
	return cfg;
}

/* ---- expected bytes ---------------------------------------------------- */

static void check_head(struct image *im, uint64_t kernel_size, uint64_t dtb_size)
{
	static const struct {
		uint32_t type;
		uint64_t phys, virt, size;
	} regions[] = {
		{0, 0x50000000, 0x40000000, 0x30000000},
		{1, 0x9000000, 0x9100000, 0x1000},
		{2, 0xa000000, 0xa000000, 0x4000},
	};
	static const uint32_t ivc[2][8] = {
		{1, 2, 0x1111000, 0x2222000, 0x33, 0x44, 0x55, 0x66},
		{7, 8, 0x7777000, 0x8888000, 0x99, 0xaa, 0xbb, 0xcc},
	};

	want32(im, OFF_ZONE_ID, 0x0a0b0c0d, "zone_id");
	want64(im, OFF_CPUS, 0x8000000000000005ull, "cpus");
	want32(im, OFF_NUM_REGIONS, 3, "num_memory_regions");
	for (size_t i = 0; i < ARRAY_SIZE(regions); i++) {
		size_t o = OFF_REGIONS + i * REGION_SIZE;

		want32(im, o + 0, regions[i].type, "region type");
		want64(im, o + 8, regions[i].phys, "region physical_start");
		want64(im, o + 16, regions[i].virt, "region virtual_start");
		want64(im, o + 24, regions[i].size, "region size");
	}
	want32(im, OFF_IRQ_BITMAP + 0 * 4, 0x80000001u, "irq word 0");
	want32(im, OFF_IRQ_BITMAP + 1 * 4, 0x00000002u, "irq word 1");
	want32(im, OFF_IRQ_BITMAP + 2 * 4, 0x00001000u, "irq word 2");
	want32(im, OFF_IRQ_BITMAP + 31 * 4, 0x80000000u, "irq word 31");
	want32(im, OFF_NUM_IVC, 2, "num_ivc_configs");
	for (size_t i = 0; i < 2; i++) {
		size_t o = OFF_IVC + i * IVC_SIZE;

		want32(im, o + 0, ivc[i][0], "ivc_id");
		want32(im, o + 4, ivc[i][1], "peer_id");
		want64(im, o + 8, ivc[i][2], "control_table_ipa");
		want64(im, o + 16, ivc[i][3], "shared_mem_ipa");
		want32(im, o + 24, ivc[i][4], "rw_sec_size");
		want32(im, o + 28, ivc[i][5], "out_sec_size");
		want32(im, o + 32, ivc[i][6], "interrupt_num");
		want32(im, o + 36, ivc[i][7], "max_peers");
	}
	want64(im, OFF_ENTRY_POINT, 0x50400000, "entry_point");
	want64(im, OFF_KERNEL_LOAD_PADDR, 0x50480000, "kernel_load_paddr");
	want64(im, OFF_KERNEL_SIZE, kernel_size, "kernel_size");
	want64(im, OFF_DTB_LOAD_PADDR, 0x50000000, "dtb_load_paddr");
	want64(im, OFF_DTB_SIZE, dtb_size, "dtb_size");
	assert_memory_equal(im->buf + OFF_NAME, "enc-test", 8);
	for (size_t i = 0; i < 8; i++)
		im->covered[OFF_NAME + i] = true; /* the rest of name[] must be 0 */
}

static void check_pci(struct image *im, size_t tail, unsigned magic)
{
	want64(im, tail + PCI_NUM_BUS, 2, "num_pci_bus");
	for (size_t b = 0; b < 2; b++) {
		size_t o = tail + PCI_BUSES + b * PCI_BUS_SIZE;
		uint64_t base = 0x1000000000ull * (b + 1);

		for (size_t k = 0; k < 11; k++)
			want64(im, o + 8 * k, base + 1 + k, "pci_config u64 field");
		want32(im, o + 88, 0x10u * (b + 1), "bus_range_begin");
		want32(im, o + 92, 0x20u * (b + 1), "bus_range_end");
		want8(im, o + 96, b + 3, "domain");
	}
	want64(im, tail + PCI_NUM_DEVS, 3, "num_pci_devs");
	for (size_t d = 0; d < 3; d++) {
		if (magic == HV_CONFIG_MAGIC_0x06) {
			size_t o = tail + PCI_DEVS + d * PCI_DEV_SIZE_0x06;

			want8(im, o + 0, 0x10 + d, "dev domain");
			want8(im, o + 1, 0x20 + d, "dev bus");
			want8(im, o + 2, 0x01 + d, "dev device");
			want8(im, o + 3, 0x02 + d, "dev function");
			want8(im, o + 4, 0x30 + d, "dev v_bus");
			want8(im, o + 5, 0x04 + d, "dev v_device");
			want8(im, o + 6, 0x05 + d, "dev v_function");
			want32(im, o + 8, 0x100 + d, "dev dev_type");
		} else {
			/* v0.4 has no virtual BDF */
			size_t o = tail + PCI_DEVS + d * PCI_DEV_SIZE_0x05;

			want8(im, o + 0, 0x10 + d, "dev domain");
			want8(im, o + 1, 0x20 + d, "dev bus");
			want8(im, o + 2, 0x01 + d, "dev device");
			want8(im, o + 3, 0x02 + d, "dev function");
			want32(im, o + 4, 0x100 + d, "dev dev_type");
		}
	}
}

/* ---- per-layout tests -------------------------------------------------- */

enum variant {
	V_GICV2,
	V_GICV3,
	V_GICV3_UEFI,
	V_NONE,
};

struct layout_case {
	const char *name;
	enum hv_arch arch;
	unsigned magic;
	enum variant variant;
};

static const struct layout_case layout_cases[] = {
	{"aarch64 GICv2 0x06", HV_ARCH_AARCH64, HV_CONFIG_MAGIC_0x06, V_GICV2},
	{"aarch64 GICv2 0x05", HV_ARCH_AARCH64, HV_CONFIG_MAGIC_0x05, V_GICV2},
	{"aarch64 GICv3 0x06", HV_ARCH_AARCH64, HV_CONFIG_MAGIC_0x06, V_GICV3},
	{"aarch64 GICv3 0x05", HV_ARCH_AARCH64, HV_CONFIG_MAGIC_0x05, V_GICV3},
	{"aarch64 GICv3 UEFI 0x06", HV_ARCH_AARCH64, HV_CONFIG_MAGIC_0x06, V_GICV3_UEFI},
	{"riscv64 0x06", HV_ARCH_RISCV64, HV_CONFIG_MAGIC_0x06, V_NONE},
	{"riscv64 0x05", HV_ARCH_RISCV64, HV_CONFIG_MAGIC_0x05, V_NONE},
	{"loongarch64 0x06", HV_ARCH_LOONGARCH64, HV_CONFIG_MAGIC_0x06, V_NONE},
	{"loongarch64 0x05", HV_ARCH_LOONGARCH64, HV_CONFIG_MAGIC_0x05, V_NONE},
	{"x86_64 0x06", HV_ARCH_X86_64, HV_CONFIG_MAGIC_0x06, V_NONE},
	{"x86_64 0x05", HV_ARCH_X86_64, HV_CONFIG_MAGIC_0x05, V_NONE},
};

static void set_aarch64(struct hv_zone_config *cfg, enum variant v)
{
	struct hv_arch_aarch64 *a = &cfg->arch_config.aarch64;

	/* fill every field, so the union member not chosen shows if leaked */
	*a = (struct hv_arch_aarch64){
		.is_aarch32 = v == V_GICV2,
		.gic_version = v == V_GICV2 ? 2 : 3,
		.gicd_base = 0xd1,
		.gicd_size = 0xd2,
		.gicc_base = 0xc1,
		.gicc_size = 0xc2,
		.gicc_offset = 0xc3,
		.gich_base = 0xe1,
		.gich_size = 0xe2,
		.gicv_base = 0xf1,
		.gicv_size = 0xf2,
		.gicr_base = 0xa1,
		.gicr_size = 0xa2,
		.gits_base = 0xb1,
		.gits_size = 0xb2,
		.has_uefi = v == V_GICV3_UEFI,
		.memory_map_addr = 0x61,
		.memory_map_size = 0x62,
		.sys_map_addr = 0x63,
	};
}

static void check_aarch64(struct image *im, unsigned magic, enum variant v)
{
	const size_t a = OFF_ARCH;

	want8(im, a + 0, v == V_GICV2, "is_aarch32");
	want64(im, a + 8, v == V_GICV2 ? 0 : 1, "gic tag");
	want64(im, a + 16, 0xd1, "gicd_base");
	want64(im, a + 24, 0xd2, "gicd_size");
	if (v == V_GICV2) {
		want64(im, a + 32, 0xc1, "gicc_base");
		want64(im, a + 40, 0xc2, "gicc_size");
		want64(im, a + 48, 0xc3, "gicc_offset");
		want64(im, a + 56, 0xe1, "gich_base");
		want64(im, a + 64, 0xe2, "gich_size");
		want64(im, a + 72, 0xf1, "gicv_base");
		want64(im, a + 80, 0xf2, "gicv_size");
	} else {
		want64(im, a + 32, 0xa1, "gicr_base");
		want64(im, a + 40, 0xa2, "gicr_size");
		want64(im, a + 48, 0xb1, "gits_base");
		want64(im, a + 56, 0xb2, "gits_size");
		/* a + 64 .. a + 88: union padding, zero */
	}
	if (magic == HV_CONFIG_MAGIC_0x06) {
		if (v == V_GICV3_UEFI) {
			want64(im, a + 88, 0, "uefi tag (0 = present)");
			want64(im, a + 96, 0x61, "memory_map_addr");
			want64(im, a + 104, 0x62, "memory_map_size");
			want64(im, a + 112, 0x63, "sys_map_addr");
		} else {
			want64(im, a + 88, 1, "uefi tag (1 = none)");
		}
	}
}

static void check_x86(struct image *im)
{
	static const uint64_t v[] = {0xfec00000,
				     0x1000,
				     0x100000,
				     0xc000,
				     0xd000,
				     0x7d00000,
				     0x11000 /* initrd_size, page-rounded */,
				     1,
				     2,
				     3,
				     0xfd000000};
	static const char *const names[] = {"ioapic_base",
					    "ioapic_size",
					    "kernel_entry_gpa",
					    "cmdline_load_gpa",
					    "setup_load_gpa",
					    "initrd_load_gpa",
					    "initrd_size",
					    "rsdp_memory_region_id",
					    "acpi_memory_region_id",
					    "uefi_memory_region_id",
					    "screen_base"};

	for (size_t i = 0; i < ARRAY_SIZE(v); i++)
		want64(im, OFF_ARCH + 8 * i, v[i], names[i]);
}

static void test_layout(void **state)
{
	const struct layout_case *c = *state;
	struct hv_zone_config *cfg = model(c->arch);
	struct image *im = malloc(sizeof(*im));

	assert_non_null(im);
	switch (c->arch) {
	case HV_ARCH_AARCH64:
		set_aarch64(cfg, c->variant);
		break;
	case HV_ARCH_RISCV64:
		cfg->arch_config.riscv64 =
			(struct hv_arch_riscv64){0xc000000, 0x4000000, 0xd000000, 0x8000};
		break;
	case HV_ARCH_X86_64:
		cfg->arch_config.x86_64 = (struct hv_arch_x86_64){
			.ioapic_base = 0xfec00000,
			.ioapic_size = 0x1000,
			.kernel_entry_gpa = 0x100000,
			.cmdline_load_gpa = 0xc000,
			.setup_load_gpa = 0xd000,
			.initrd_load_gpa = 0x7d00000,
			.rsdp_memory_region_id = 1,
			.acpi_memory_region_id = 2,
			.uefi_memory_region_id = 3,
			.screen_base = 0xfd000000,
			/* multiboot fields have no place in zone_config */
			.multiboot_info_paddr = 0x9000000,
			.initramfs_load_gpa = 0x8000000,
		};
		add_image(cfg, HV_IMAGE_X86_SETUP, 0x4030d000, 0x3000);
		add_image(cfg, HV_IMAGE_X86_INITRD, 0x48000000, 0x10001);
		add_image(cfg, HV_IMAGE_X86_CMDLINE, 0x4030c000, 14);
		break;
	default:
		break;
	}
	assert_int_equal(hv_zone_config_size(c->arch, c->magic), ref_total(c->arch, c->magic));

	encode(cfg, c->magic, im);
	/* x86 loads no DTB: dtb_size stays 0 */
	check_head(im, 0x2000, c->arch == HV_ARCH_X86_64 ? 0 : 0x1000);
	if (c->arch == HV_ARCH_AARCH64)
		check_aarch64(im, c->magic, c->variant);
	else if (c->arch == HV_ARCH_RISCV64) {
		want64(im, OFF_ARCH + 0, 0xc000000, "plic_base");
		want64(im, OFF_ARCH + 8, 0x4000000, "plic_size");
		want64(im, OFF_ARCH + 16, 0xd000000, "aplic_base");
		want64(im, OFF_ARCH + 24, 0x8000, "aplic_size");
	} else if (c->arch == HV_ARCH_X86_64)
		check_x86(im);
	/* loongarch64: one zero dummy word */
	check_pci(im, OFF_ARCH + ref_arch_size(c->arch, c->magic), c->magic);
	want_rest_zero(im);

	free(im);
	hv_zone_config_free(cfg);
}

/* ---- edge cases -------------------------------------------------------- */

static void test_sizes(void **state)
{
	for (int a = 0; a < _HV_ARCH_MAX; a++) {
		assert_int_equal(hv_zone_config_size((enum hv_arch)a, HV_CONFIG_MAGIC_0x06),
				 ref_total((enum hv_arch)a, HV_CONFIG_MAGIC_0x06));
		assert_int_equal(hv_zone_config_size((enum hv_arch)a, HV_CONFIG_MAGIC_0x05),
				 ref_total((enum hv_arch)a, HV_CONFIG_MAGIC_0x05));
		assert_int_equal(hv_zone_config_size((enum hv_arch)a, 0x04), 0);
		assert_int_equal(hv_zone_config_size((enum hv_arch)a, 0x07), 0);
		assert_true(ref_total((enum hv_arch)a, HV_CONFIG_MAGIC_0x06) <=
			    HV_ZONE_CONFIG_MAX_SIZE);
	}
	assert_int_equal(hv_zone_config_size(_HV_ARCH_MAX, HV_CONFIG_MAGIC_0x06), 0);
	(void)state;
}

static void test_uefi_needs_0x06(void **state)
{
	struct hv_zone_config *cfg = model(HV_ARCH_AARCH64);
	uint8_t buf[HV_ZONE_CONFIG_MAX_SIZE];
	struct hv_error err = {0};

	set_aarch64(cfg, V_GICV3_UEFI);
	assert_int_equal(hv_zone_config_encode(cfg, HV_CONFIG_MAGIC_0x05, buf, sizeof(buf), &err),
			 -EOPNOTSUPP);
	assert_string_equal(err.path, "arch_config.memory_map_addr");
	assert_non_null(strstr(err.message, "0x06"));
	hv_zone_config_free(cfg);
	(void)state;
}

static void test_bad_magic_and_buffer(void **state)
{
	static const unsigned bad[] = {0, 0x01, 0x04, 0x07, 0x106};
	struct hv_zone_config *cfg = model(HV_ARCH_AARCH64);
	uint8_t buf[HV_ZONE_CONFIG_MAX_SIZE];
	struct hv_error err = {0};

	set_aarch64(cfg, V_GICV3);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(buf, SENTINEL, sizeof(buf));
		assert_int_equal(hv_zone_config_encode(cfg, bad[i], buf, sizeof(buf), &err),
				 -EINVAL);
		assert_non_null(strstr(err.message, "magic"));
		/* nothing written */
		for (size_t k = 0; k < sizeof(buf); k++)
			assert_int_equal(buf[k], SENTINEL);
	}
	assert_int_equal(hv_zone_config_encode(cfg, HV_CONFIG_MAGIC_0x06, buf, 3295, &err),
			 -ENOBUFS);
	assert_int_equal(hv_zone_config_encode(cfg, HV_CONFIG_MAGIC_0x06, buf, 3296, &err), 3296);

	/* counts beyond the tables are refused, never copied */
	cfg->n_regions = HV_CONFIG_MAX_MEMORY_REGIONS + 1;
	assert_int_equal(hv_zone_config_encode(cfg, HV_CONFIG_MAGIC_0x06, buf, sizeof(buf), &err),
			 -EINVAL);
	cfg->n_regions = 1;
	cfg->n_pci_devs = HV_CONFIG_MAX_PCI_DEVS + 1;
	assert_int_equal(hv_zone_config_encode(cfg, HV_CONFIG_MAGIC_0x05, buf, sizeof(buf), &err),
			 -EINVAL);
	hv_zone_config_free(cfg);
	(void)state;
}

static void test_page_rounding(void **state)
{
	static const struct {
		uint64_t size, want;
	} cases[] = {
		{1, 0x1000},	  {0xfff, 0x1000},	{0x1000, 0x1000},
		{0x1001, 0x2000}, {0x123456, 0x124000},
	};
	struct image *im = malloc(sizeof(*im));
	struct hv_zone_config *cfg = calloc(1, sizeof(*cfg));

	assert_non_null(im);
	assert_non_null(cfg);
	cfg->arch = HV_ARCH_RISCV64;
	cfg->zone_id = 1;
	/* no images at all: sizes 0 */
	encode(cfg, HV_CONFIG_MAGIC_0x06, im);
	assert_int_equal(le(im->buf + OFF_KERNEL_SIZE, 8), 0);
	assert_int_equal(le(im->buf + OFF_DTB_SIZE, 8), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cfg->n_images = 0;
		add_image(cfg, HV_IMAGE_DTB, 0, cases[i].size + 1);
		add_image(cfg, HV_IMAGE_KERNEL, 0, cases[i].size);
		encode(cfg, HV_CONFIG_MAGIC_0x05, im);
		assert_int_equal(le(im->buf + OFF_KERNEL_SIZE, 8), cases[i].want);
		assert_int_equal(le(im->buf + OFF_DTB_SIZE, 8),
				 ALIGN_UP(cases[i].size + 1, (uint64_t)0x1000));
	}

	/* x86 initrd_size (arch offset 48) */
	cfg->arch = HV_ARCH_X86_64;
	cfg->n_images = 0;
	encode(cfg, HV_CONFIG_MAGIC_0x06, im);
	assert_int_equal(le(im->buf + OFF_ARCH + 48, 8), 0);
	add_image(cfg, HV_IMAGE_X86_INITRD, 0, 0x2001);
	encode(cfg, HV_CONFIG_MAGIC_0x06, im);
	assert_int_equal(le(im->buf + OFF_ARCH + 48, 8), 0x3000);
	free(im);
	hv_zone_config_free(cfg);
	(void)state;
}

/* The name field carries 31 bytes and a NUL. */
static void test_name_full_length(void **state)
{
	struct hv_zone_config *cfg = model(HV_ARCH_LOONGARCH64);
	struct image *im = malloc(sizeof(*im));

	assert_non_null(im);
	memset(cfg->name, 'n', 31);
	cfg->name[31] = '\0';
	encode(cfg, HV_CONFIG_MAGIC_0x06, im);
	for (size_t i = 0; i < 31; i++)
		assert_int_equal(im->buf[OFF_NAME + i], 'n');
	assert_int_equal(im->buf[OFF_NAME + 31], 0);
	assert_int_equal(im->buf[OFF_ARCH], 0);
	free(im);
	hv_zone_config_free(cfg);
	(void)state;
}

/* End to end: JSON text -> parser -> encoder, checked at reference offsets. */
static void test_from_json(void **state)
{
	static const char doc[] =
		"{\"name\":\"linux2\",\"zone_id\":1,\"cpus\":[2,3],"
		"\"memory_regions\":["
		"{\"type\":\"ram\",\"physical_start\":\"0x50000000\","
		"\"virtual_start\":\"0x50000000\",\"size\":\"0x30000000\"},"
		"{\"type\":\"virtio\",\"physical_start\":\"0xa000000\",\"size\":\"0x4000\"}],"
		"\"interrupts\":[76,78],"
		"\"kernel_filepath\":\"Image\",\"dtb_filepath\":\"linux2.dtb\","
		"\"kernel_load_paddr\":\"0x50400000\",\"dtb_load_paddr\":\"0x50000000\","
		"\"entry_point\":\"0x50400000\","
		"\"arch_config\":{\"gic_version\":\"v3\",\"gicd_base\":\"0x8000000\","
		"\"gicd_size\":\"0x10000\",\"gicr_base\":\"0x80a0000\",\"gicr_size\":\"0xf60000\","
		"\"gits_base\":\"0x8080000\",\"gits_size\":\"0x20000\",\"is_aarch32\":false},"
		"\"pci_config\":[],"
		"\"alloc_pci_devs\":[{\"domain\":0,\"bus\":0,\"device\":2,\"function\":1,"
		"\"dev_type\":1}]}";
	struct hv_zone_config *cfg = NULL;
	struct hv_error err = {0};
	struct image *im = malloc(sizeof(*im));
	const size_t tail = OFF_ARCH + 120;

	assert_non_null(im);
	assert_int_equal(hv_zone_config_parse_string(doc, strlen(doc), HV_ARCH_AARCH64, &cfg, &err),
			 0);
	cfg->images[0].size = 0x1a00000; /* Image */
	cfg->images[1].size = 0x2345;	 /* dtb */
	encode(cfg, HV_CONFIG_MAGIC_0x06, im);

	want32(im, OFF_ZONE_ID, 1, "zone_id");
	want64(im, OFF_CPUS, 0xc, "cpus");
	want32(im, OFF_NUM_REGIONS, 2, "num_memory_regions");
	want32(im, OFF_REGIONS + 0, 0, "region 0 type");
	want64(im, OFF_REGIONS + 8, 0x50000000, "region 0 physical_start");
	want64(im, OFF_REGIONS + 16, 0x50000000, "region 0 virtual_start");
	want64(im, OFF_REGIONS + 24, 0x30000000, "region 0 size");
	want32(im, OFF_REGIONS + 32, 2, "region 1 type");
	want64(im, OFF_REGIONS + 40, 0xa000000, "region 1 physical_start");
	want64(im, OFF_REGIONS + 48, 0xa000000, "region 1 virtual_start (defaulted)");
	want64(im, OFF_REGIONS + 56, 0x4000, "region 1 size");
	/* 76 = word 2 bit 12, 78 = word 2 bit 14 */
	want32(im, OFF_IRQ_BITMAP + 8, (1u << 12) | (1u << 14), "irq word 2");
	want64(im, OFF_ENTRY_POINT, 0x50400000, "entry_point");
	want64(im, OFF_KERNEL_LOAD_PADDR, 0x50400000, "kernel_load_paddr");
	want64(im, OFF_KERNEL_SIZE, 0x1a00000, "kernel_size");
	want64(im, OFF_DTB_LOAD_PADDR, 0x50000000, "dtb_load_paddr");
	want64(im, OFF_DTB_SIZE, 0x3000, "dtb_size");
	assert_memory_equal(im->buf + OFF_NAME, "linux2", 7);
	for (size_t i = 0; i < 6; i++)
		im->covered[OFF_NAME + i] = true;
	want64(im, OFF_ARCH + 8, 1, "gic tag v3");
	want64(im, OFF_ARCH + 16, 0x8000000, "gicd_base");
	want64(im, OFF_ARCH + 24, 0x10000, "gicd_size");
	want64(im, OFF_ARCH + 32, 0x80a0000, "gicr_base");
	want64(im, OFF_ARCH + 40, 0xf60000, "gicr_size");
	want64(im, OFF_ARCH + 48, 0x8080000, "gits_base");
	want64(im, OFF_ARCH + 56, 0x20000, "gits_size");
	want64(im, OFF_ARCH + 88, 1, "no UEFI");
	want64(im, tail + PCI_NUM_BUS, 0, "num_pci_bus");
	want64(im, tail + PCI_NUM_DEVS, 1, "num_pci_devs");
	/* v_* defaulted to the physical BDF */
	want8(im, tail + PCI_DEVS + 2, 2, "device");
	want8(im, tail + PCI_DEVS + 3, 1, "function");
	want8(im, tail + PCI_DEVS + 5, 2, "v_device");
	want8(im, tail + PCI_DEVS + 6, 1, "v_function");
	want32(im, tail + PCI_DEVS + 8, 1, "dev_type");
	want_rest_zero(im);

	/* the same model for hvisor v0.4 */
	encode(cfg, HV_CONFIG_MAGIC_0x05, im);
	assert_int_equal(im->size, 3136);
	assert_int_equal(le(im->buf + OFF_ARCH + 8, 8), 1);
	assert_int_equal(le(im->buf + OFF_ARCH + 88 + PCI_NUM_DEVS, 8), 1);
	assert_int_equal(im->buf[OFF_ARCH + 88 + PCI_DEVS + 2], 2);
	assert_int_equal(le(im->buf + OFF_ARCH + 88 + PCI_DEVS + 4, 4), 1);

	free(im);
	hv_zone_config_free(cfg);
	(void)state;
}

static const struct CMUnitTest fixed_tests[] = {
	cmocka_unit_test(test_sizes),
	cmocka_unit_test(test_uefi_needs_0x06),
	cmocka_unit_test(test_bad_magic_and_buffer),
	cmocka_unit_test(test_page_rounding),
	cmocka_unit_test(test_name_full_length),
	cmocka_unit_test(test_from_json),
};

int main(void)
{
	/* one TAP plan: the fixed tests and one case per (arch, magic) layout */
	struct CMUnitTest tests[ARRAY_SIZE(fixed_tests) + ARRAY_SIZE(layout_cases)];
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(fixed_tests); i++)
		tests[n++] = fixed_tests[i];
	for (size_t i = 0; i < ARRAY_SIZE(layout_cases); i++)
		tests[n++] = (struct CMUnitTest){layout_cases[i].name, test_layout, NULL, NULL,
						 (void *)&layout_cases[i]};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
