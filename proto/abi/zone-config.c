// SPDX-License-Identifier: GPL-2.0-only
/* zone_config encoders: model (proto/config.h) -> the bytes hvisor reads,
 * for every (arch, magic) layout of abi/zone-config.h. */
#include <errno.h>
#include <string.h>

#include "config.h"
#include "macro.h"

static size_t arch_size(enum hv_arch arch, unsigned magic)
{
	switch (arch) {
	case HV_ARCH_AARCH64:
		return magic == HV_CONFIG_MAGIC_0x05 ? sizeof(struct hv_cfg_arch_aarch64_0x05)
						     : sizeof(struct hv_cfg_arch_aarch64_0x06);
	case HV_ARCH_RISCV64:
		return sizeof(struct hv_cfg_arch_riscv64);
	case HV_ARCH_LOONGARCH64:
		return sizeof(struct hv_cfg_arch_loongarch64);
	case HV_ARCH_X86_64:
		return sizeof(struct hv_cfg_arch_x86_64);
	default:
		return 0;
	}
}

size_t hv_zone_config_size(enum hv_arch arch, unsigned magic)
{
	size_t tail, a;

	if (magic == HV_CONFIG_MAGIC_0x05)
		tail = sizeof(struct hv_cfg_pci_tail_0x05);
	else if (magic == HV_CONFIG_MAGIC_0x06)
		tail = sizeof(struct hv_cfg_pci_tail_0x06);
	else
		return 0;
	a = arch_size(arch, magic);
	if (a == 0)
		return 0;
	return sizeof(struct hv_cfg_head) + a + tail;
}

static const struct hv_image *find_image(const struct hv_zone_config *cfg, enum hv_image_kind kind)
{
	for (size_t i = 0; i < cfg->n_images; i++)
		if (cfg->images[i].kind == kind)
			return &cfg->images[i];
	return NULL;
}

/* hvisor-tool stores the page-rounded size of each loaded image. */
static uint64_t image_size(const struct hv_zone_config *cfg, enum hv_image_kind kind)
{
	const struct hv_image *img = find_image(cfg, kind);

	return img ? ALIGN_UP(img->size, (uint64_t)HV_PAGE_SIZE) : 0;
}

static void encode_head(const struct hv_zone_config *cfg, struct hv_cfg_head *h)
{
	h->zone_id = cfg->zone_id;
	h->cpus = cfg->cpus;
	h->num_memory_regions = cfg->n_regions;
	memcpy(h->memory_regions, cfg->regions, sizeof(cfg->regions[0]) * cfg->n_regions);
	for (uint32_t i = 0; i < cfg->n_regions; i++)
		h->memory_regions[i].__pad = 0;
	memcpy(h->interrupts_bitmap, cfg->irq_bitmap, sizeof(h->interrupts_bitmap));
	h->num_ivc_configs = cfg->n_ivc;
	memcpy(h->ivc_configs, cfg->ivc, sizeof(cfg->ivc[0]) * cfg->n_ivc);
	h->entry_point = cfg->entry_point;
	h->kernel_load_paddr = cfg->kernel_load_paddr;
	h->kernel_size = image_size(cfg, HV_IMAGE_KERNEL);
	h->dtb_load_paddr = cfg->dtb_load_paddr;
	h->dtb_size = image_size(cfg, HV_IMAGE_DTB);
	/* name[] in the model is NUL-terminated and < 32 bytes */
	strncpy(h->name, cfg->name, sizeof(h->name));
}

static void encode_gic(const struct hv_arch_aarch64 *a, __u64 *tag, struct hv_cfg_gicv2 *v2,
		       struct hv_cfg_gicv3 *v3)
{
	if (a->gic_version == 2) {
		*tag = HV_GIC_TAG_V2;
		*v2 = (struct hv_cfg_gicv2){
			.gicd_base = a->gicd_base,
			.gicd_size = a->gicd_size,
			.gicc_base = a->gicc_base,
			.gicc_size = a->gicc_size,
			.gicc_offset = a->gicc_offset,
			.gich_base = a->gich_base,
			.gich_size = a->gich_size,
			.gicv_base = a->gicv_base,
			.gicv_size = a->gicv_size,
		};
	} else {
		*tag = HV_GIC_TAG_V3;
		*v3 = (struct hv_cfg_gicv3){
			.gicd_base = a->gicd_base,
			.gicd_size = a->gicd_size,
			.gicr_base = a->gicr_base,
			.gicr_size = a->gicr_size,
			.gits_base = a->gits_base,
			.gits_size = a->gits_size,
		};
	}
}

static int encode_arch(const struct hv_zone_config *cfg, unsigned magic, void *p,
		       struct hv_error *err)
{
	switch (cfg->arch) {
	case HV_ARCH_AARCH64: {
		const struct hv_arch_aarch64 *a = &cfg->arch_config.aarch64;

		if (magic == HV_CONFIG_MAGIC_0x05) {
			struct hv_cfg_arch_aarch64_0x05 *o = p;

			if (a->has_uefi) {
				hv_error_set(
					err, "arch_config.memory_map_addr",
					"UEFI boot information needs a hypervisor with config magic 0x06, this one speaks 0x05");
				return -EOPNOTSUPP;
			}
			o->is_aarch32 = a->is_aarch32;
			encode_gic(a, &o->gic_tag, &o->gic.v2, &o->gic.v3);
		} else {
			struct hv_cfg_arch_aarch64_0x06 *o = p;

			o->is_aarch32 = a->is_aarch32;
			encode_gic(a, &o->gic_tag, &o->gic.v2, &o->gic.v3);
			if (a->has_uefi) {
				o->uefi_tag = HV_UEFI_TAG_PRESENT;
				o->memory_map_addr = a->memory_map_addr;
				o->memory_map_size = a->memory_map_size;
				o->sys_map_addr = a->sys_map_addr;
			} else
				o->uefi_tag = HV_UEFI_TAG_NONE;
		}
		return 0;
	}
	case HV_ARCH_RISCV64: {
		const struct hv_arch_riscv64 *a = &cfg->arch_config.riscv64;
		struct hv_cfg_arch_riscv64 *o = p;

		o->plic_base = a->plic_base;
		o->plic_size = a->plic_size;
		o->aplic_base = a->aplic_base;
		o->aplic_size = a->aplic_size;
		return 0;
	}
	case HV_ARCH_LOONGARCH64:
		return 0; /* a dummy word */
	case HV_ARCH_X86_64: {
		const struct hv_arch_x86_64 *a = &cfg->arch_config.x86_64;
		struct hv_cfg_arch_x86_64 *o = p;

		o->ioapic_base = a->ioapic_base;
		o->ioapic_size = a->ioapic_size;
		o->kernel_entry_gpa = a->kernel_entry_gpa;
		o->cmdline_load_gpa = a->cmdline_load_gpa;
		o->setup_load_gpa = a->setup_load_gpa;
		o->initrd_load_gpa = a->initrd_load_gpa;
		o->initrd_size = image_size(cfg, HV_IMAGE_X86_INITRD);
		o->rsdp_memory_region_id = a->rsdp_memory_region_id;
		o->acpi_memory_region_id = a->acpi_memory_region_id;
		o->uefi_memory_region_id = a->uefi_memory_region_id;
		o->screen_base = a->screen_base;
		return 0;
	}
	default:
		hv_error_set(err, "", "unknown architecture %d", (int)cfg->arch);
		return -EINVAL;
	}
}

/* Same bus layout in both magics; padding from a hand-built model must not
 * reach hvisor. */
static void encode_pci_buses(const struct hv_zone_config *cfg, struct hv_cfg_pci_bus *out)
{
	for (uint32_t i = 0; i < cfg->n_pci_bus; i++) {
		out[i] = cfg->pci_bus[i];
		memset(out[i].__pad, 0, sizeof(out[i].__pad));
	}
}

static void encode_pci(const struct hv_zone_config *cfg, unsigned magic, void *p)
{
	if (magic == HV_CONFIG_MAGIC_0x05) {
		struct hv_cfg_pci_tail_0x05 *t = p;

		t->num_pci_bus = cfg->n_pci_bus;
		encode_pci_buses(cfg, t->pci_config);
		t->num_pci_devs = cfg->n_pci_devs;
		for (uint32_t i = 0; i < cfg->n_pci_devs; i++) {
			const struct hv_cfg_pci_dev_0x06 *d = &cfg->pci_devs[i];

			/* 0x05 has no virtual BDF: the device keeps its own. */
			t->alloc_pci_devs[i] = (struct hv_cfg_pci_dev_0x05){
				.domain = d->domain,
				.bus = d->bus,
				.device = d->device,
				.function = d->function,
				.dev_type = d->dev_type,
			};
		}
	} else {
		struct hv_cfg_pci_tail_0x06 *t = p;

		t->num_pci_bus = cfg->n_pci_bus;
		encode_pci_buses(cfg, t->pci_config);
		t->num_pci_devs = cfg->n_pci_devs;
		for (uint32_t i = 0; i < cfg->n_pci_devs; i++) {
			t->alloc_pci_devs[i] = cfg->pci_devs[i];
			t->alloc_pci_devs[i].__pad = 0;
		}
	}
}

int hv_zone_config_encode(const struct hv_zone_config *cfg, unsigned magic, void *buf, size_t size,
			  struct hv_error *err)
{
	size_t total = hv_zone_config_size(cfg->arch, magic);
	uint8_t *p = buf;
	int r;

	if (total == 0) {
		hv_error_set(err, "", "config magic 0x%02x is not supported (known: 0x05, 0x06)",
			     magic);
		return -EINVAL;
	}
	if (size < total) {
		hv_error_set(err, "", "buffer too small for a zone_config");
		return -ENOBUFS;
	}
	/* The model's counts are bounded by the parser; check again because
	 * an overrun here would corrupt what hvisor trusts. */
	if (cfg->n_regions > HV_CONFIG_MAX_MEMORY_REGIONS || cfg->n_ivc > HV_CONFIG_MAX_IVC ||
	    cfg->n_pci_bus > HV_CONFIG_MAX_PCI_BUS || cfg->n_pci_devs > HV_CONFIG_MAX_PCI_DEVS) {
		hv_error_set(err, "", "zone config exceeds a table limit");
		return -EINVAL;
	}
	memset(buf, 0, total);
	encode_head(cfg, (struct hv_cfg_head *)p);
	r = encode_arch(cfg, magic, p + sizeof(struct hv_cfg_head), err);
	if (r < 0)
		return r;
	encode_pci(cfg, magic, p + sizeof(struct hv_cfg_head) + arch_size(cfg->arch, magic));
	return (int)total;
}
