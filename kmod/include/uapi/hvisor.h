/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * /dev/hvisor user API. Shared verbatim by userspace and kmod/.
 *
 * The lifecycle ioctls keep the upstream hvisor.ko numbers bit for bit,
 * including their odd size fields (several declare a pointer size and some
 * pass their argument by value), so hvisord also works on a stock module.
 *
 * New in this module: per-zone channels. HVISOR_ZONE_ATTACH returns an fd
 * that owns one zone's virtio traffic. The zone need not be running yet: a
 * channel attached before ZONE_START sees the zone's accesses from the
 * first one; zone shutdown ends it (read() returns 0).
 *   read()   whole struct hvisor_ioreq records (poll() says readable)
 *   write()  whole struct hvisor_iocomp records, several per call
 *   mmap()   zone RAM; the offset is the host physical address of the range,
 *            which must lie inside a RAM region of the zone
 *   close()  the module answers the zone's outstanding and future requests
 *            itself (reads 0, writes dropped) until a new owner attaches
 */
#ifndef _UAPI_HVISOR_H
#define _UAPI_HVISOR_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define HVISOR_IOCTL_TYPE 1

/* struct hvisor_zone_list_args (in/out) of HVISOR_ZONE_LIST */
struct hvisor_zone_list_args {
	__u64 cnt;   /* in: capacity of zones[]; the ioctl returns the count */
	__u64 zones; /* user pointer to struct hvisor_zone_info[cnt] */
};

struct hvisor_load_image_args {
	__u64 user_buffer; /* user pointer to the bytes */
	__u64 size;
	__u64 load_paddr; /* host physical address */
};

struct hvisor_boot_mode_args {
	__u32 zone_id;
	__u32 multiboot_enabled;
	__u64 multiboot_info_paddr;
};

struct hvisor_irq_line_args {
	__u32 zone_id;
	__u32 irq_id;
};

/*
 * Upstream lifecycle ioctls. "by value": the ioctl argument itself is the
 * number; "ptr": a pointer to the struct named.
 */
#define HVISOR_INIT_VIRTIO   _IO(HVISOR_IOCTL_TYPE, 0)
#define HVISOR_GET_TASK	     _IO(HVISOR_IOCTL_TYPE, 1) /* vestigial, -EINVAL */
#define HVISOR_FINISH_REQ    _IO(HVISOR_IOCTL_TYPE, 2)
#define HVISOR_ZONE_START    _IOW(HVISOR_IOCTL_TYPE, 3, __u64) /* ptr: zone_config */
#define HVISOR_ZONE_SHUTDOWN _IOW(HVISOR_IOCTL_TYPE, 4, __u64) /* by value: zone id */
#define HVISOR_ZONE_LIST     _IOR(HVISOR_IOCTL_TYPE, 5, __u64) /* ptr: zone_list_args */
#define HVISOR_CONFIG_CHECK  _IOR(HVISOR_IOCTL_TYPE, 6, __u64) /* ptr: __u64 out */
#define HVISOR_SET_EVENTFD   _IOW(HVISOR_IOCTL_TYPE, 7, int)   /* by value: eventfd */
#define HVISOR_LOAD_IMAGE    _IOW(HVISOR_IOCTL_TYPE, 8, struct hvisor_load_image_args)
#define HVISOR_SET_BOOT_MODE _IOW(HVISOR_IOCTL_TYPE, 9, __u64)	/* ptr: boot_mode_args */
#define HVISOR_GET_ECAM_BASE _IOR(HVISOR_IOCTL_TYPE, 10, __u64) /* ptr: __u64 out */
#define HVISOR_DEASSERT_IRQ  _IOW(HVISOR_IOCTL_TYPE, 11, struct hvisor_irq_line_args)
/* Upstream SCMI helpers (root clocks/resets/power domains); sizes only. */
#define HVISOR_SCMI_CLOCK_IOCTL _IOC(_IOC_READ | _IOC_WRITE, HVISOR_IOCTL_TYPE, 32, 88)
#define HVISOR_SCMI_RESET_IOCTL _IOC(_IOC_READ | _IOC_WRITE, HVISOR_IOCTL_TYPE, 33, 20)
#define HVISOR_SCMI_POWER_IOCTL _IOC(_IOC_READ | _IOC_WRITE, HVISOR_IOCTL_TYPE, 34, 80)

/* Per-zone channel (this module only). */
struct hvisor_zone_attach {
	__u32 zone_id;
	__u32 flags;	   /* must be 0 */
	__u64 reserved[2]; /* must be 0 */
};

#define HVISOR_ZONE_ATTACH _IOW(HVISOR_IOCTL_TYPE, 0x40, struct hvisor_zone_attach)

/* One trapped guest access to a virtio-mmio register. */
struct hvisor_ioreq {
	__u64 id;      /* per-zone sequence number, echoed by COMPLETE */
	__u64 address; /* absolute guest-physical address */
	__u64 value;   /* value written; 0 for reads */
	__u32 cpu;     /* physical CPU of the trapping vCPU */
	__u32 zone_id;
	__u8 size; /* 1, 2, 4 or 8 */
	__u8 is_write;
	__u8 is_notify; /* posted: the vCPU does not wait, send no COMPLETE */
	__u8 __reserved[5];
};

#define HVISOR_IOCOMP_COMPLETE 1 /* finish the request `id` on `cpu` with `value` */
#define HVISOR_IOCOMP_IRQ      2 /* inject interrupt `value` into the zone */

struct hvisor_iocomp {
	__u32 type;
	__u32 cpu;   /* COMPLETE */
	__u64 id;    /* COMPLETE */
	/* COMPLETE: read result, already masked to the access size;
	 * IRQ: the interrupt number
	 */
	__u64 value;
};

#endif
