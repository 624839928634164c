/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hvisor-sim protocol: what /dev/hvisor + hvisor are to hvisord on a board,
 * hvisor-sim is over a SOCK_SEQPACKET UNIX socket on any Linux machine.
 *
 * Control connection (to --socket PATH): every request is one packet
 *   struct hvsim_msg [+ payload]   [+ SCM_RIGHTS fds]
 * answered by exactly one packet
 *   struct hvsim_msg (same op, ret = result or -errno) [+ payload] [+ fds]
 * in order. ret follows the hypervisor: >= 0 success, -errno failure.
 *
 * Zone channel (fd from HVSIM_OP_ZONE_ATTACH): the same semantics as the
 * hvisor.ko per-zone channel (proto/uapi/hvisor.h): the sim sends packets
 * holding one or more whole struct hvisor_ioreq; the owner sends packets
 * holding one or more whole struct hvisor_iocomp. The memfd that comes with
 * it is the sim's physical memory: zone RAM is at offset = physical address.
 * Closing the channel makes the sim answer the zone's outstanding and later
 * accesses itself (reads 0, writes dropped) until a new owner attaches.
 *
 * Guest channel (fd from HVSIM_OP_GUEST_ATTACH): a test driver plays the
 * zone's vCPUs. It sends struct hvsim_guest_msg ACCESS packets; each is
 * answered by exactly one DONE (in order per CPU); IRQ packets arrive at any
 * time. Like hvisor: an access at offset 0x50 of a virtio memory region is a
 * posted notify (DONE comes at once); any other access in a virtio region
 * waits for the owner's COMPLETE; an access outside every virtio region is
 * refused with DONE status -EFAULT. One access per CPU may be outstanding.
 */
#ifndef HV_SIM_H
#define HV_SIM_H

#include <linux/types.h>

#include "abi/hvisor-abi.h"
#include "abi/zone-config.h"
#include "uapi/hvisor.h"

#define HVSIM_PROTO_VERSION 1u
/* Largest control packet (header + payload) in either direction. */
#define HVSIM_MAX_PACKET 8192
/* Largest load buffer a client may register (HVSIM_OP_LOAD_BUFFER). */
#define HVSIM_MAX_LOAD_BUFFER (64u << 20)

enum hvsim_op {
	/* -> payload struct hvsim_hello */
	HVSIM_OP_HELLO = 1,
	/* -> arg[0] = the configured magic (CONFIG_CHECK) */
	HVSIM_OP_CONFIG_CHECK = 2,
	/* fd[0] = a memfd of arg[0] bytes (<= HVSIM_MAX_LOAD_BUFFER) that
	 * later LOAD_IMAGE requests copy from; replaces any previous one. */
	HVSIM_OP_LOAD_BUFFER = 3,
	/* copy arg[1] bytes at offset arg[2] of the load buffer to physical
	 * address arg[0] (LOAD_IMAGE). Refused (-EPERM) if the range touches
	 * the RAM of a running zone, -EFAULT beyond physical memory. */
	HVSIM_OP_LOAD_IMAGE = 4,
	/* payload = zone_config bytes (START_ZONE); size must be exact */
	HVSIM_OP_ZONE_START = 5,
	/* zone_id (SHUTDOWN_ZONE) */
	HVSIM_OP_ZONE_SHUTDOWN = 6,
	/* arg[0] = capacity -> ret = count, payload = struct hvisor_zone_info[count] */
	HVSIM_OP_ZONE_LIST = 7,
	/* zone_id -> fd[0] = zone channel, fd[1] = physical memory memfd.
	 * The zone need not be running yet: a channel attached before
	 * ZONE_START receives the zone's accesses from its first one (so a
	 * backend can be ready before the guest boots); ZONE_SHUTDOWN closes
	 * it. -EBUSY if the zone has an owner, -EINVAL for zone 0. */
	HVSIM_OP_ZONE_ATTACH = 8,
	/* zone_id -> fd[0] = guest channel, fd[1] = physical memory memfd,
	 * arg[0] = the zone's CPU mask, arg[1] = number of memory regions,
	 * payload = struct hv_cfg_memory_region[arg[1]] (as in its
	 * zone_config: the guest's RAM map). -ENOENT if the zone is not
	 * running, -EBUSY if a guest driver is attached. */
	HVSIM_OP_GUEST_ATTACH = 9,
	/* -> fd[0] = physical memory memfd (read-only use by tests) */
	HVSIM_OP_PHYS_MEMFD = 10,
	/* fd[0] = a regular file or block device: copy arg[1] bytes
	 * (<= HVSIM_MAX_LOAD_BUFFER) at its offset arg[2] to physical address
	 * arg[0], with LOAD_IMAGE's rules (-EPERM, -EFAULT); -ENODATA if the
	 * file is shorter, -EOPNOTSUPP for other kinds of file (use
	 * LOAD_BUFFER + LOAD_IMAGE). */
	HVSIM_OP_LOAD_FILE = 11,
	/* Tests only: hold loads, so that a test can act while a client's
	 * zone start is loading, without betting on how long a load takes.
	 * arg[0] = enum hvsim_hold. A held LOAD_IMAGE/LOAD_FILE (of any
	 * connection) is not answered, nor is its connection read, until it
	 * is let go; then it runs and is answered as usual. */
	HVSIM_OP_LOAD_HOLD = 12,
};

enum hvsim_hold {
	HVSIM_HOLD_OFF = 0,  /* stop holding: every held load runs; ret = how many */
	HVSIM_HOLD_ON = 1,   /* hold every load from now on */
	HVSIM_HOLD_WAIT = 2, /* answered once a load is held (at once if one is) */
	HVSIM_HOLD_STEP = 3, /* let one load go: the oldest held, else the next one */
};

struct hvsim_msg {
	__u32 op;
	__u32 zone_id;
	__u64 arg[3];
	__s64 ret;
};

struct hvsim_hello {
	__u32 version;	 /* HVSIM_PROTO_VERSION */
	__u32 arch;	 /* enum hv_arch (proto/config.h) */
	__u32 magic;	 /* what CONFIG_CHECK answers */
	__u32 ncpus;	 /* physical CPUs 0..ncpus-1 */
	__u64 phys_size; /* physical memory: addresses [0, phys_size) */
};

enum hvsim_guest_type {
	HVSIM_GUEST_ACCESS = 1, /* guest -> sim */
	HVSIM_GUEST_DONE = 2,	/* sim -> guest: value = read result, status */
	HVSIM_GUEST_IRQ = 3,	/* sim -> guest: value = interrupt number */
};

struct hvsim_guest_msg {
	__u32 type;
	__u32 cpu;     /* ACCESS, DONE: the vCPU (a CPU of the zone) */
	__u64 address; /* ACCESS, DONE: absolute guest-physical address */
	__u64 value;   /* ACCESS: value written; DONE: value read; IRQ: number */
	__u8 size;     /* ACCESS: 1, 2, 4 or 8 */
	__u8 is_write;
	__u8 __pad[2];
	__s32 status; /* DONE: 0, or -errno if the access was refused */
};

_Static_assert(sizeof(struct hvsim_msg) == 40, "hvsim_msg");
_Static_assert(sizeof(struct hvsim_hello) == 24, "hvsim_hello");
_Static_assert(sizeof(struct hvsim_guest_msg) == 32, "hvsim_guest_msg");

#endif
