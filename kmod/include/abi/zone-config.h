/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * Binary layouts of zone_config, the argument of the START_ZONE hypercall,
 * for every architecture and both config magic versions:
 *   0x05  hvisor v0.4
 *   0x06  hvisor-tool HEAD (PCI device entries with a virtual BDF,
 *         aarch64 UEFI union)
 * A zone_config is   head (2360 bytes, same for all)
 *                  + arch_config (per arch and magic)
 *                  + PCI tail (per magic).
 * LP64, natural alignment. hvisor checks the total size exactly.
 * Included by userspace and by kmod/, so only <linux/types.h> types.
 */
#ifndef HVISOR_ZONE_CONFIG_H
#define HVISOR_ZONE_CONFIG_H

#include <linux/types.h>

#include "hvisor-abi.h"

#define HV_CONFIG_MAGIC_0x05 0x05
#define HV_CONFIG_MAGIC_0x06 0x06

#define HV_CONFIG_MAX_MEMORY_REGIONS 64
#define HV_CONFIG_MAX_INTERRUPTS     1024
#define HV_CONFIG_IRQ_WORDS	     (HV_CONFIG_MAX_INTERRUPTS / 32)
#define HV_CONFIG_MAX_IVC	     2
#define HV_CONFIG_NAME_LEN	     32
#define HV_CONFIG_MAX_PCI_BUS	     4
#define HV_CONFIG_MAX_PCI_DEVS	     32
#define HV_CONFIG_MAX_CPUS	     64 /* cpus is a u64 bitmask */

#define HV_MEM_TYPE_RAM	   0
#define HV_MEM_TYPE_IO	   1
#define HV_MEM_TYPE_VIRTIO 2

#define HV_GIC_TAG_V2	    0
#define HV_GIC_TAG_V3	    1
#define HV_UEFI_TAG_PRESENT 0 /* Rust enum variant 0: UEFI info follows */
#define HV_UEFI_TAG_NONE    1

struct hv_cfg_memory_region {
	__u32 type;
	__u32 __pad;
	__u64 physical_start; /* host PA (as root Linux sees it) */
	__u64 virtual_start;  /* guest PA; ignored for virtio regions */
	__u64 size;
};

struct hv_cfg_ivc {
	__u32 ivc_id;
	__u32 peer_id;
	__u64 control_table_ipa;
	__u64 shared_mem_ipa;
	__u32 rw_sec_size;
	__u32 out_sec_size;
	__u32 interrupt_num;
	__u32 max_peers;
};

struct hv_cfg_head {
	__u32 zone_id;
	__u32 __pad0;
	__u64 cpus;
	__u32 num_memory_regions;
	__u32 __pad1;
	struct hv_cfg_memory_region memory_regions[HV_CONFIG_MAX_MEMORY_REGIONS];
	__u32 interrupts_bitmap[HV_CONFIG_IRQ_WORDS];
	__u32 num_ivc_configs;
	__u32 __pad2;
	struct hv_cfg_ivc ivc_configs[HV_CONFIG_MAX_IVC];
	__u64 entry_point;
	__u64 kernel_load_paddr;
	__u64 kernel_size; /* page-rounded */
	__u64 dtb_load_paddr;
	__u64 dtb_size; /* page-rounded */
	char name[HV_CONFIG_NAME_LEN];
};

/* aarch64 */
struct hv_cfg_gicv2 {
	__u64 gicd_base, gicd_size;
	__u64 gicc_base, gicc_size, gicc_offset;
	__u64 gich_base, gich_size;
	__u64 gicv_base, gicv_size;
};

struct hv_cfg_gicv3 {
	__u64 gicd_base, gicd_size;
	__u64 gicr_base, gicr_size;
	__u64 gits_base, gits_size;
	__u64 __pad[3]; /* union with gicv2 */
};

struct hv_cfg_arch_aarch64_0x05 {
	__u8 is_aarch32;
	__u8 __pad[7];
	__u64 gic_tag;
	union {
		struct hv_cfg_gicv2 v2;
		struct hv_cfg_gicv3 v3;
	} gic;
};

struct hv_cfg_arch_aarch64_0x06 {
	__u8 is_aarch32;
	__u8 __pad[7];
	__u64 gic_tag;
	union {
		struct hv_cfg_gicv2 v2;
		struct hv_cfg_gicv3 v3;
	} gic;
	__u64 uefi_tag;
	__u64 memory_map_addr;
	__u64 memory_map_size;
	__u64 sys_map_addr;
};

/* riscv64: hvisor uses the PLIC pair with its `plic` feature, APLIC with `aia`. */
struct hv_cfg_arch_riscv64 {
	__u64 plic_base, plic_size;
	__u64 aplic_base, aplic_size;
};

struct hv_cfg_arch_loongarch64 {
	__u64 dummy;
};

struct hv_cfg_arch_x86_64 {
	__u64 ioapic_base, ioapic_size;
	__u64 kernel_entry_gpa;
	__u64 cmdline_load_gpa;
	__u64 setup_load_gpa;
	__u64 initrd_load_gpa;
	__u64 initrd_size; /* page-rounded */
	__u64 rsdp_memory_region_id;
	__u64 acpi_memory_region_id;
	__u64 uefi_memory_region_id;
	__u64 screen_base;
};

/* PCI */
struct hv_cfg_pci_bus {
	__u64 ecam_base, ecam_size;
	__u64 io_base, io_size, pci_io_base;
	__u64 mem32_base, mem32_size, pci_mem32_base;
	__u64 mem64_base, mem64_size, pci_mem64_base;
	__u32 bus_range_begin;
	__u32 bus_range_end;
	__u8 domain;
	__u8 __pad[7];
};

struct hv_cfg_pci_dev_0x05 {
	__u8 domain, bus, device, function;
	__u32 dev_type;
};

struct hv_cfg_pci_dev_0x06 {
	__u8 domain, bus, device, function;
	__u8 v_bus, v_device, v_function;
	__u8 __pad;
	__u32 dev_type; /* 0 physical, 1 standard virtual device */
};

struct hv_cfg_pci_tail_0x05 {
	__u64 num_pci_bus;
	struct hv_cfg_pci_bus pci_config[HV_CONFIG_MAX_PCI_BUS];
	__u64 num_pci_devs;
	struct hv_cfg_pci_dev_0x05 alloc_pci_devs[HV_CONFIG_MAX_PCI_DEVS];
};

struct hv_cfg_pci_tail_0x06 {
	__u64 num_pci_bus;
	struct hv_cfg_pci_bus pci_config[HV_CONFIG_MAX_PCI_BUS];
	__u64 num_pci_devs;
	struct hv_cfg_pci_dev_0x06 alloc_pci_devs[HV_CONFIG_MAX_PCI_DEVS];
};

/* Whole configs, one per (arch, magic): what hvisor receives. */
#define HV_CFG_DEFINE(name, archtype, tailtype) \
	struct hv_zone_config_##name {          \
		struct hv_cfg_head head;        \
		struct archtype arch;           \
		struct tailtype pci;            \
	}
HV_CFG_DEFINE(aarch64_0x05, hv_cfg_arch_aarch64_0x05, hv_cfg_pci_tail_0x05);
HV_CFG_DEFINE(aarch64_0x06, hv_cfg_arch_aarch64_0x06, hv_cfg_pci_tail_0x06);
HV_CFG_DEFINE(riscv64_0x05, hv_cfg_arch_riscv64, hv_cfg_pci_tail_0x05);
HV_CFG_DEFINE(riscv64_0x06, hv_cfg_arch_riscv64, hv_cfg_pci_tail_0x06);
HV_CFG_DEFINE(loongarch64_0x05, hv_cfg_arch_loongarch64, hv_cfg_pci_tail_0x05);
HV_CFG_DEFINE(loongarch64_0x06, hv_cfg_arch_loongarch64, hv_cfg_pci_tail_0x06);
HV_CFG_DEFINE(x86_64_0x05, hv_cfg_arch_x86_64, hv_cfg_pci_tail_0x05);
HV_CFG_DEFINE(x86_64_0x06, hv_cfg_arch_x86_64, hv_cfg_pci_tail_0x06);
#undef HV_CFG_DEFINE

/* The largest zone_config of any layout, for buffers. */
#define HV_ZONE_CONFIG_MAX_SIZE 3296

/* head, reference §2.8 */
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_memory_region, type, 0);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_memory_region, physical_start, 8);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_memory_region, virtual_start, 16);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_memory_region, size, 24);
HVISOR_ABI_ASSERT_SIZE(hv_cfg_memory_region, 32);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_ivc, ivc_id, 0);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_ivc, peer_id, 4);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_ivc, control_table_ipa, 8);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_ivc, shared_mem_ipa, 16);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_ivc, rw_sec_size, 24);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_ivc, out_sec_size, 28);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_ivc, interrupt_num, 32);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_ivc, max_peers, 36);
HVISOR_ABI_ASSERT_SIZE(hv_cfg_ivc, 40);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_head, zone_id, 0);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_head, cpus, 8);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_head, num_memory_regions, 16);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_head, memory_regions, 24);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_head, interrupts_bitmap, 2072);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_head, num_ivc_configs, 2200);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_head, ivc_configs, 2208);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_head, entry_point, 2288);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_head, kernel_load_paddr, 2296);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_head, kernel_size, 2304);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_head, dtb_load_paddr, 2312);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_head, dtb_size, 2320);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_head, name, 2328);
HVISOR_ABI_ASSERT_SIZE(hv_cfg_head, 2360);

/* arch_config */
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_arch_aarch64_0x06, is_aarch32, 0);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_arch_aarch64_0x06, gic_tag, 8);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_arch_aarch64_0x06, gic.v2.gicd_base, 16);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_arch_aarch64_0x06, gic.v2.gicc_offset, 48);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_arch_aarch64_0x06, gic.v2.gicv_size, 80);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_arch_aarch64_0x06, gic.v3.gicr_base, 32);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_arch_aarch64_0x06, gic.v3.gits_size, 56);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_arch_aarch64_0x06, uefi_tag, 88);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_arch_aarch64_0x06, memory_map_addr, 96);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_arch_aarch64_0x06, sys_map_addr, 112);
HVISOR_ABI_ASSERT_SIZE(hv_cfg_arch_aarch64_0x06, 120);
HVISOR_ABI_ASSERT_SIZE(hv_cfg_arch_aarch64_0x05, 88);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_arch_riscv64, aplic_size, 24);
HVISOR_ABI_ASSERT_SIZE(hv_cfg_arch_riscv64, 32);
HVISOR_ABI_ASSERT_SIZE(hv_cfg_arch_loongarch64, 8);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_arch_x86_64, kernel_entry_gpa, 16);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_arch_x86_64, initrd_size, 48);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_arch_x86_64, screen_base, 80);
HVISOR_ABI_ASSERT_SIZE(hv_cfg_arch_x86_64, 88);

/* PCI */
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_pci_bus, pci_mem64_base, 80);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_pci_bus, bus_range_begin, 88);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_pci_bus, bus_range_end, 92);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_pci_bus, domain, 96);
HVISOR_ABI_ASSERT_SIZE(hv_cfg_pci_bus, 104);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_pci_dev_0x06, v_function, 6);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_pci_dev_0x06, dev_type, 8);
HVISOR_ABI_ASSERT_SIZE(hv_cfg_pci_dev_0x06, 12);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_pci_dev_0x05, dev_type, 4);
HVISOR_ABI_ASSERT_SIZE(hv_cfg_pci_dev_0x05, 8);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_pci_tail_0x06, pci_config, 8);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_pci_tail_0x06, num_pci_devs, 424);
HVISOR_ABI_ASSERT_OFFSET(hv_cfg_pci_tail_0x06, alloc_pci_devs, 432);
HVISOR_ABI_ASSERT_SIZE(hv_cfg_pci_tail_0x06, 816);
HVISOR_ABI_ASSERT_SIZE(hv_cfg_pci_tail_0x05, 688);

/* totals, reference §2.8 for 0x06; 0x05 = head + v0.4 arch + 8-byte devices */
HVISOR_ABI_ASSERT_OFFSET(hv_zone_config_aarch64_0x06, arch, 2360);
HVISOR_ABI_ASSERT_OFFSET(hv_zone_config_aarch64_0x06, pci, 2480);
HVISOR_ABI_ASSERT_SIZE(hv_zone_config_aarch64_0x06, 3296);
HVISOR_ABI_ASSERT_SIZE(hv_zone_config_riscv64_0x06, 3208);
HVISOR_ABI_ASSERT_SIZE(hv_zone_config_loongarch64_0x06, 3184);
HVISOR_ABI_ASSERT_SIZE(hv_zone_config_x86_64_0x06, 3264);
HVISOR_ABI_ASSERT_SIZE(hv_zone_config_aarch64_0x05, 3136);
HVISOR_ABI_ASSERT_SIZE(hv_zone_config_riscv64_0x05, 3080);
HVISOR_ABI_ASSERT_SIZE(hv_zone_config_loongarch64_0x05, 3056);
HVISOR_ABI_ASSERT_SIZE(hv_zone_config_x86_64_0x05, 3136);

#endif
