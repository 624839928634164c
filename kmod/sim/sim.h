/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hvisor_sim.ko internals: a stand-in for the hvisor hypervisor inside a
 * test VM. It answers hvisor.ko's hypercalls with hvisor's rules, posts
 * guest accesses into the bridge ring the way hvisor does, raises the
 * wake-up IRQ, and provides a loopback virtio transport whose register
 * accesses travel through that bridge, so that Linux's own virtio drivers
 * are served by hvisor-virtiod.
 *
 * Lock order: sim_res_lock -> sim_zones_lock -> sim_zone.lock; the bridge
 * lock nests inside sim_zone.lock and takes no other lock. All spinlocks
 * are taken with interrupts disabled: FINISH_REQ and virtqueue kicks may
 * come from any context.
 */
#ifndef HVISOR_SIM_INTERNAL_H
#define HVISOR_SIM_INTERNAL_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/virtio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "abi/hvisor-abi.h"
#include "abi/zone-config.h"

#define SIM_MAX_VDEVS	8	/* loopback devices per zone */
#define SIM_MAX_VQS	8	/* virtqueues per loopback device */
#define SIM_NO_CPU	(-1)	/* sim_access(): any free vCPU of the zone */

/* Module parameters (sim-main.c). */
extern unsigned int sim_magic;
extern unsigned int sim_ncpus;
extern unsigned long long sim_root_cpus;
extern unsigned int sim_timeout_ms;
extern unsigned int sim_lose_wakeup;
extern bool sim_virtio_irq;
extern char *sim_devices;

struct sim_stats {
	atomic_long_t posted;		/* requests pushed into the ring */
	atomic_long_t notifies;		/* ... of which posted notifies */
	atomic_long_t wakeups;		/* wake-up IRQs raised */
	atomic_long_t wakeups_lost;	/* ... skipped by lose_wakeup */
	atomic_long_t ring_full;	/* pushes that found the ring full */
	atomic_long_t timeouts;		/* stalls not completed in time */
	atomic_long_t irqs;		/* res_list entries for running zones */
	atomic_long_t finish_req;	/* FINISH_REQ hypercalls */
};

extern struct sim_stats sim_stats;

/* One entry of the `devices` parameter that belongs to a zone. */
struct sim_devspec {
	u64 base;
	u64 size;
	u32 irq;
};

struct sim_dma;
struct sim_vdev;

struct sim_zone {
	struct kref ref;
	struct list_head link;		/* sim_zones, under sim_zones_lock */
	u32 id;
	u64 cpus;
	char name[HV_CONFIG_NAME_LEN];
	u32 n_regions;
	struct hv_cfg_memory_region regions[HV_CONFIG_MAX_MEMORY_REGIONS];
	u32 irq_bitmap[HV_CONFIG_IRQ_WORDS];
	bool dead;			/* shut down: nothing posted any more */

	spinlock_t lock;		/* vCPU state and vdevs */
	wait_queue_head_t cpu_wq;	/* a vCPU became free, or dead */
	u64 busy;			/* vCPUs inside an access */
	u64 hung;			/* vCPUs stuck in a timed-out access */
	u64 hung_snap[HVISOR_BRIDGE_MAX_CPUS];
	unsigned long hung_gen[HVISOR_BRIDGE_MAX_CPUS];
	struct list_head vdevs;

	struct sim_devspec specs[SIM_MAX_VDEVS];
	unsigned int n_specs;
	struct sim_dma *dma;		/* owned by the lifecycle work */
	struct work_struct start_work;
	struct work_struct stop_work;
};

/* One access of a zone vCPU to a virtio region, as hvisor traps it. */
struct sim_io {
	u64 addr;	/* absolute guest-physical address */
	u64 value;	/* in: value written; out: value read */
	u8 size;	/* 1, 2, 4, 8 */
	bool is_write;
};

/* What a pushed request needs for its completion. */
struct sim_ticket {
	struct hvisor_bridge *b;
	unsigned long gen;
	unsigned int cpu;
	u64 snap;	/* cfg_flags[cpu] before the push */
};

/* Per-virtqueue state of a loopback device (sim-vq.c). */
struct sim_vq {
	struct virtqueue *vq;
	unsigned long *outstanding;	/* heads the device still owes */
	unsigned int num;
	u16 last_avail;
	u16 last_used;
};

struct sim_vdev {
	struct virtio_device vdev;
	struct sim_zone *zone;		/* holds a reference */
	struct list_head link;		/* zone->vdevs */
	u64 base;
	u64 size;
	u32 irq;
	bool notify_posted;		/* base is the start of its region */
	u64 dev_features;		/* offered by the backend */

	struct mutex vq_mutex;		/* vqs[], active, the callbacks */
	bool vqs_active;
	struct sim_vq vqs[SIM_MAX_VQS];

	unsigned long kick_pending;	/* queues whose notify is deferred */
	struct work_struct irq_work;
	struct work_struct kick_work;
};

extern struct workqueue_struct *sim_irq_wq;
extern struct workqueue_struct *sim_life_wq;

/* sim-hc.c */
void *sim_phys_ptr(u64 pa, u64 len);

/* sim-arch-<arch>.c: the zone_config hvisor expects for (arch, magic). */
const char *sim_arch_name(void);
size_t sim_arch_config_size(unsigned int magic);
bool sim_arch_irq_gated(void);

/* sim-irq-x86.c / sim-irq-of.c: the wake-up IRQ. */
int sim_irq_init(void);
void sim_irq_exit(void);
void sim_irq_raise(void);
/*
 * The CPU a wake-up goes to, called with preemption off: this one, unless
 * it has interrupts off (a driver spinning for the backend's answer, which
 * only happens because the "guest" is the root kernel): then another.
 */
unsigned int sim_irq_target(unsigned int cpu);
long sim_irq_hc_get(u64 pa);

/* sim-bridge.c */
long sim_bridge_init(u64 pa);
long sim_bridge_finish_req(void);
int sim_bridge_post(struct sim_zone *z, unsigned int cpu,
		    const struct sim_io *io, bool notify, bool atomic,
		    struct sim_ticket *t);
int sim_bridge_wait(struct sim_zone *z, const struct sim_ticket *t,
		    const struct sim_io *io, u64 *value);
bool sim_bridge_moved(unsigned int cpu, u64 snap, unsigned long gen);
void sim_bridge_exit(void);

/* sim-zones.c */
int sim_zones_init(void);
void sim_zones_exit(void);
long sim_zone_start(u64 pa, u64 size);
long sim_zone_shutdown(u64 id);
long sim_zone_list(u64 pa, u64 cnt);
struct sim_zone *sim_zone_get(u32 id);
void sim_zone_put(struct sim_zone *z);
void sim_zone_deliver_irq(u32 zone_id, u32 irq);
const struct hv_cfg_memory_region *
sim_zone_virtio_region(const struct sim_zone *z, u64 addr, u64 size);
int sim_access(struct sim_zone *z, int cpu, struct sim_io *io);
int sim_notify_atomic(struct sim_zone *z, u64 addr, u32 queue);

/* sim-devices.c */
unsigned int sim_devices_parse(struct sim_zone *z);
void sim_devices_start(struct work_struct *work);
void sim_devices_stop(struct work_struct *work);

/* sim-dma.c */
struct sim_dma *sim_dma_create(struct sim_zone *z,
			       const struct hv_cfg_memory_region *r);
void sim_dma_destroy(struct sim_dma *d);
struct device *sim_dma_device(struct sim_dma *d);
void *sim_dma_gpa_to_va(struct sim_dma *d, u64 gpa, u64 len);

/* sim-vdev.c */
int sim_vdev_create(struct sim_zone *z, const struct sim_devspec *s);
void sim_vdev_destroy(struct sim_vdev *sv);
void sim_vdev_kill(struct sim_vdev *sv);

/* sim-vq.c */
int sim_vq_init(struct sim_vq *svq, struct virtqueue *vq);
void sim_vq_free(struct sim_vq *svq);
void sim_vq_track(struct sim_vdev *sv, struct sim_vq *svq);
void sim_vq_abort(struct sim_vdev *sv, struct sim_vq *svq);

#endif
