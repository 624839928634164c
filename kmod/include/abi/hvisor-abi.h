/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * The hvisor hypervisor ABI as spoken by the root zone: hypercall codes, the
 * virtio bridge page shared with hvisor, and zone_info. Binary compatible
 * with hvisor v0.4 and hvisor-tool HEAD (see docs/ and the reference notes).
 * Included by userspace and by kmod/, so only <linux/types.h> types.
 */
#ifndef HVISOR_ABI_H
#define HVISOR_ABI_H

#include <linux/types.h>

/* Hypercall codes (first argument register). Unknown codes return 0. */
#define HVISOR_HC_INIT_VIRTIO	       0  /* arg0: PA of the bridge page */
#define HVISOR_HC_FINISH_REQ	       1  /* drain res_list, inject IRQs */
#define HVISOR_HC_START_ZONE	       2  /* arg0: PA of zone_config, arg1: its size */
#define HVISOR_HC_SHUTDOWN_ZONE	       3  /* arg0: zone id */
#define HVISOR_HC_ZONE_LIST	       4  /* arg0: PA of zone_info[], arg1: capacity */
#define HVISOR_HC_IVC_INFO	       5  /* aarch64 only */
#define HVISOR_HC_CONFIG_CHECK	       6  /* arg0: PA of a u64 that receives the magic */
#define HVISOR_HC_SET_BOOT_MODE	       8  /* x86 multiboot2; not in v0.4 */
#define HVISOR_HC_GET_ECAM_BASE	       9  /* not in v0.4 */
#define HVISOR_HC_CLEAR_INJECT_IRQ     11 /* LoongArch (zone, irq); not in v0.4 */
#define HVISOR_HC_CLEAR_INJECT_IRQ_V04 20 /* LoongArch v0.4, no arguments */
#define HVISOR_HC_GET_VIRTIO_IRQ       86 /* x86: arg0: PA of a u32 */

/* Hypercall instruction details per architecture. */
#define HVISOR_HVC_IMM_AARCH64	     0x4856	/* hvc #0x4856 ("HV") */
#define HVISOR_SBI_EID_RISCV64	     0x114514	/* a7 for ecall; result in a1 */
#define HVISOR_HVCL_WORD_LOONGARCH64 0x002b8000 /* raw encoding of "hvcl 0" */

/* Virtio bridge page (one 4 KiB page, 2136 bytes used). */
#define HVISOR_BRIDGE_MAX_REQ	32
#define HVISOR_BRIDGE_MAX_DEVS	8
#define HVISOR_BRIDGE_MAX_CPUS	32
#define HVISOR_BRIDGE_RING_MASK (HVISOR_BRIDGE_MAX_REQ - 1)
/* A QueueNotify write: offset 0x50 from the start of the virtio region. */
#define HVISOR_VIRTIO_NOTIFY_OFFSET 0x50

struct hvisor_device_req {
	__u64 src_cpu; /* physical CPU id of the trapping vCPU */
	__u64 address; /* absolute guest-physical address */
	__u64 size;    /* 1, 2, 4 or 8 */
	__u64 value;   /* value written; 0 for reads */
	__u32 src_zone;
	__u8 is_write;
	__u8 need_interrupt; /* 1: posted notify, the vCPU does not wait */
	__u16 padding;
};

struct hvisor_device_res {
	__u32 target_zone;
	__u32 irq_id;
};

struct hvisor_bridge {
	__u32 req_front; /* consumer (root) */
	__u32 req_rear;	 /* producer (hvisor) */
	__u32 res_front; /* consumer (hvisor) */
	__u32 res_rear;	 /* producer (root) */
	struct hvisor_device_req req_list[HVISOR_BRIDGE_MAX_REQ];
	struct hvisor_device_res res_list[HVISOR_BRIDGE_MAX_REQ];
	__u64 cfg_flags[HVISOR_BRIDGE_MAX_CPUS];  /* per-CPU completion counter */
	__u64 cfg_values[HVISOR_BRIDGE_MAX_CPUS]; /* per-CPU read result */
	__u64 mmio_addrs[HVISOR_BRIDGE_MAX_DEVS]; /* vestigial */
	__u8 mmio_avail;			  /* vestigial */
	__u8 need_wakeup;			  /* 1: root side sleeps, raise the IRQ */
};

/* One zone in the answer of ZONE_LIST. */
#define HVISOR_ZONE_NAME_LEN 32
struct hvisor_zone_info {
	__u32 zone_id;
	__u32 __pad0;
	__u64 cpus;			 /* bitmask of physical CPU ids */
	char name[HVISOR_ZONE_NAME_LEN]; /* not necessarily NUL-terminated */
	__u8 is_err;
	__u8 __pad1[7];
};

#define HVISOR_ABI_ASSERT_OFFSET(type, field, off) \
	_Static_assert(__builtin_offsetof(struct type, field) == (off), #type "." #field)
#define HVISOR_ABI_ASSERT_SIZE(type, size) _Static_assert(sizeof(struct type) == (size), #type)

HVISOR_ABI_ASSERT_OFFSET(hvisor_device_req, src_cpu, 0);
HVISOR_ABI_ASSERT_OFFSET(hvisor_device_req, address, 8);
HVISOR_ABI_ASSERT_OFFSET(hvisor_device_req, size, 16);
HVISOR_ABI_ASSERT_OFFSET(hvisor_device_req, value, 24);
HVISOR_ABI_ASSERT_OFFSET(hvisor_device_req, src_zone, 32);
HVISOR_ABI_ASSERT_OFFSET(hvisor_device_req, is_write, 36);
HVISOR_ABI_ASSERT_OFFSET(hvisor_device_req, need_interrupt, 37);
HVISOR_ABI_ASSERT_OFFSET(hvisor_device_req, padding, 38);
HVISOR_ABI_ASSERT_SIZE(hvisor_device_req, 40);
HVISOR_ABI_ASSERT_OFFSET(hvisor_device_res, target_zone, 0);
HVISOR_ABI_ASSERT_OFFSET(hvisor_device_res, irq_id, 4);
HVISOR_ABI_ASSERT_SIZE(hvisor_device_res, 8);
HVISOR_ABI_ASSERT_OFFSET(hvisor_bridge, req_front, 0);
HVISOR_ABI_ASSERT_OFFSET(hvisor_bridge, req_rear, 4);
HVISOR_ABI_ASSERT_OFFSET(hvisor_bridge, res_front, 8);
HVISOR_ABI_ASSERT_OFFSET(hvisor_bridge, res_rear, 12);
HVISOR_ABI_ASSERT_OFFSET(hvisor_bridge, req_list, 16);
HVISOR_ABI_ASSERT_OFFSET(hvisor_bridge, res_list, 1296);
HVISOR_ABI_ASSERT_OFFSET(hvisor_bridge, cfg_flags, 1552);
HVISOR_ABI_ASSERT_OFFSET(hvisor_bridge, cfg_values, 1808);
HVISOR_ABI_ASSERT_OFFSET(hvisor_bridge, mmio_addrs, 2064);
HVISOR_ABI_ASSERT_OFFSET(hvisor_bridge, mmio_avail, 2128);
HVISOR_ABI_ASSERT_OFFSET(hvisor_bridge, need_wakeup, 2129);
HVISOR_ABI_ASSERT_SIZE(hvisor_bridge, 2136);
HVISOR_ABI_ASSERT_OFFSET(hvisor_zone_info, zone_id, 0);
HVISOR_ABI_ASSERT_OFFSET(hvisor_zone_info, cpus, 8);
HVISOR_ABI_ASSERT_OFFSET(hvisor_zone_info, name, 16);
HVISOR_ABI_ASSERT_OFFSET(hvisor_zone_info, is_err, 48);
HVISOR_ABI_ASSERT_SIZE(hvisor_zone_info, 56);

#endif
