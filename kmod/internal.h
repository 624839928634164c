/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hvisor.ko internals.
 *
 *   main.c     /dev/hvisor, the lifecycle ioctls, sysfs, init/exit
 *   zone.c     what each ZONE_START config said: CPUs, RAM, interrupts
 *   mem.c      which physical memory may be loaded and mapped; LOAD_IMAGE
 *   bridge.c   the bridge page: wake-up IRQ, draining, routing by zone,
 *              completions (cfg_flags) and IRQs (res_list + FINISH_REQ)
 *   channel.c  HVISOR_ZONE_ATTACH: one owner per zone, read/write/poll/mmap
 *   legacy.c   INIT_VIRTIO, SET_EVENTFD, FINISH_REQ and the bridge mmap for
 *              upstream's unmodified daemon
 *   arch-*.c   per-arch cache maintenance, wake-up IRQ, zone_config size
 *   hc-*.c     the hypercall instruction (hc-sim.c in the test build)
 *   irq-of.c   the wake-up interrupt on device-tree systems
 */
#ifndef HVISOR_INTERNAL_H
#define HVISOR_INTERNAL_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "abi/hvisor-abi.h"
#include "abi/zone-config.h"
#include "uapi/hvisor.h"

#define HVISOR_MAX_ZONES	64  /* zone records and ZONE_LIST capacity */
#define HVISOR_MAX_CHANNELS	32  /* zones with an attached channel */
#define HVISOR_CHAN_QUEUE	256 /* records a channel holds before read */
/*
 * Notifies may fill the queue up to this; the rest is kept for stalled
 * accesses, of which there is at most one per CPU.
 */
#define HVISOR_CHAN_NOTIFY_MAX	(HVISOR_CHAN_QUEUE - HVISOR_BRIDGE_MAX_CPUS)
#define HVISOR_RECHECK_MS	10  /* look at the ring once after sleeping */
#define HVISOR_RECHECK_BUSY_MS	100 /* ... and this often while a CPU waits */
#define HVISOR_RES_RETRIES	4   /* FINISH_REQ calls to drain a full res_list */
#define HVISOR_LOAD_CHUNK	(4UL << 20) /* LOAD_IMAGE maps this much at once */

/* hc-<arch>.c, or hc-sim.c in the test build */
long hvisor_hypercall(u64 code, u64 arg0, u64 arg1);

/* arch-<arch>.c */
int hvisor_arch_wakeup_irq(void);	/* Linux IRQ, or -errno: no virtio */
void hvisor_arch_wakeup_ack(void);	/* hard-IRQ context */
void hvisor_arch_sync_image(void *va, size_t len);
size_t hvisor_arch_config_size(u64 magic); /* 0: layout unknown */
extern const bool hvisor_arch_irqs_gated; /* zone interrupts gate its IRQs */

/* irq-of.c: the DT node /hvisor_virtio_device */
int hvisor_of_wakeup_irq(void);

enum hvisor_stat {
	HV_STAT_requests,	 /* taken from the bridge ring */
	HV_STAT_notifies,	 /* of which posted QueueNotify */
	HV_STAT_coalesced,	 /* duplicate notifies dropped */
	HV_STAT_queue_full,	 /* notifies dropped: channel full */
	HV_STAT_orphan_answers,	 /* answered by us: no owner */
	HV_STAT_bad_requests,	 /* CPU id out of range */
	HV_STAT_bad_completions, /* COMPLETE with no such request */
	HV_STAT_irqs,		 /* IRQ records queued in res_list */
	HV_STAT_res_full,	 /* res_list found full */
	HV_STAT_res_drops,	 /* IRQs dropped: res_list stayed full */
	HV_STAT_wakeups,	 /* wake-up interrupts */
	HV_STAT_rechecks,	 /* ring looks without a wake-up */
	HV_STAT_recheck_found,	 /* ... that found requests */
	HV_NSTATS
};

struct hvisor_channel;

struct hvisor_pending {
	bool busy;
	u8 size;
	u32 zone_id;
	u64 id;
};

struct hvisor {
	struct mutex lock;	/* lifecycle ioctls: zone start/stop/list */
	spinlock_t zones_lock;	/* zones[] */
	struct hvisor_zone *zones[HVISOR_MAX_ZONES];

	/* bridge; virtio is unavailable when irq < 0 */
	int irq;
	struct page *bridge_page;
	struct hvisor_bridge *bridge;
	struct mutex drain_lock; /* one consumer of the ring at a time */
	struct workqueue_struct *wq; /* unbound: drains on any CPU */
	struct work_struct drain;
	struct delayed_work recheck;
	struct mutex res_lock;	 /* res_list producer */

	/* channels, their queues and the stalled accesses, by CPU */
	spinlock_t req_lock;
	struct hvisor_channel *chan[HVISOR_MAX_CHANNELS];
	unsigned int nchan;
	struct hvisor_pending pending[HVISOR_BRIDGE_MAX_CPUS];
	unsigned int outstanding;

	/* legacy mode: the file that did INIT_VIRTIO (under req_lock) */
	struct file *legacy;
	struct eventfd_ctx *legacy_efd;

	atomic_long_t stats[HV_NSTATS];
};

extern struct hvisor hvisor;

#define hv_stat_inc(name) atomic_long_inc(&hvisor.stats[HV_STAT_ ## name])

/* zone.c */
int hvisor_zone_check(const struct hv_cfg_head *h);
int hvisor_zone_add(const struct hv_cfg_head *h);
void hvisor_zone_remove(u32 zone_id);
bool hvisor_zone_known(u32 zone_id);
bool hvisor_zone_ram_contains(u32 zone_id, u64 start, u64 len);
u32 hvisor_ram_owner(u64 start, u64 len); /* 0: no zone's RAM */
int hvisor_zone_irq_ok(u32 zone_id, u64 irq);
void hvisor_zones_reconcile(const struct hvisor_zone_info *zi, int n);
void hvisor_zones_free(void);

/* mem.c */
int hvisor_phys_check(u64 start, u64 len);
long hvisor_load_image(const struct hvisor_load_image_args *a);

/* bridge.c */
int hvisor_bridge_init(void);
void hvisor_bridge_exit(void);
void hvisor_bridge_kick(void);
void hvisor_complete_locked(u32 cpu, u64 value);
int hvisor_inject_irqs(u32 zone_id, const u32 *irqs, unsigned int n);
unsigned long hvisor_bridge_pfn(void);

/* channel.c */
long hvisor_channel_attach(const struct hvisor_zone_attach *a);
void hvisor_channel_end(u32 zone_id);
void hvisor_channel_route_locked(struct hvisor_channel *ch,
				 const struct hvisor_device_req *req);
struct hvisor_channel *hvisor_channel_find_locked(u32 zone_id);

/* legacy.c */
long hvisor_legacy_ioctl(struct file *f, unsigned int cmd, unsigned long arg);
int hvisor_legacy_mmap(struct file *f, struct vm_area_struct *vma);
void hvisor_legacy_release(struct file *f);
bool hvisor_legacy_wakeup(void);
bool hvisor_legacy_active(void);

#endif
