/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * /dev/hvisor_sim: test interface of hvisor_sim.ko, the in-kernel stand-in
 * for the hvisor hypervisor used by the VM tests.
 *
 * HVSIM_IOC_ACCESS plays one trapped guest access of a zone vCPU, exactly
 * as hvisor posts it into the bridge ring: a QueueNotify (offset 0x50 from
 * the start of the virtio region) is posted and returns at once, any other
 * access waits until the root side completes it through cfg_flags[cpu].
 *
 * Errors: ENOENT zone not running; EINVAL bad size/is_write/padding, zone 0,
 * cpu not a CPU of the zone or >= 32; EFAULT address not inside one of the
 * zone's virtio regions (or a bad pointer); EBUSY that vCPU is still busy
 * or stuck in an earlier timed-out access; ENODEV no bridge page registered
 * (hvisor would panic); ESHUTDOWN the zone was shut down while waiting;
 * EIO the bridge page was re-registered while waiting; ETIMEDOUT not
 * completed within the timeout_ms module parameter (a hung vCPU on hvisor).
 *
 * pread/pwrite at offset = physical address reach memory that root Linux
 * does not use as RAM (zone RAM: what LOAD_IMAGE wrote), at most 1 MiB
 * (aligned) per call; EPERM for System RAM.
 *
 * Counters: /sys/class/misc/hvisor_sim/stats/.
 */
#ifndef _UAPI_HVISOR_SIM_H
#define _UAPI_HVISOR_SIM_H

#include <linux/ioctl.h>
#include <linux/types.h>

struct hvsim_access {
	__u32 zone_id;
	__u32 cpu;	/* a physical CPU of that zone */
	__u64 address;	/* guest-physical, inside one of its virtio regions */
	__u64 value;	/* in: value to write; out: value read */
	__u8 size;	/* 1, 2, 4, 8 */
	__u8 is_write;
	__u8 __pad[6];	/* must be 0 */
};

#define HVSIM_IOC_ACCESS _IOWR('h', 1, struct hvsim_access)

#endif
