// SPDX-License-Identifier: GPL-2.0-only
/*
 * The virtio bridge page as hvisor drives it (reference §2.3-2.7):
 *
 *  - a trapped access is pushed into req_list under the request lock; a
 *    full ring is waited out with exponential back-off;
 *  - the slot is filled, a release fence, then req_rear is stored with
 *    release semantics; after dropping the lock need_wakeup is read with a
 *    plain load followed by an acquire fence only. There is no store->load
 *    barrier between publishing req_rear and reading need_wakeup: hvisor
 *    has none either, and hvisor.ko must survive the lost wake-up that
 *    this allows;
 *  - a notify is posted; any other access waits until cfg_flags[cpu]
 *    differs from the value it had before the push, then takes the result
 *    from cfg_values[cpu]. hvisor spins forever; the sim gives up after
 *    timeout_ms and reports that as a failure;
 *  - FINISH_REQ drains res_list and hands each IRQ to its zone.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/sched.h>

#include "sim.h"

#define SIM_BACKOFF_MAX		1024	/* spin hints, as hvisor */
#define SIM_ATOMIC_ROUNDS	16	/* full-ring rounds before deferring */
#define SIM_WAIT_SPINS		256	/* busy polls before sleeping */
#define SIM_POLL_MIN_US		2
#define SIM_POLL_MAX_US		256

static struct {
	spinlock_t lock;		/* page, gen and the request ring */
	struct hvisor_bridge *page;
	unsigned long gen;		/* bumped by every INIT_VIRTIO */
} sim_bridge = {
	.lock = __SPIN_LOCK_UNLOCKED(sim_bridge.lock),
};

static DEFINE_SPINLOCK(sim_res_lock);	/* consumer side of res_list */
static atomic_long_t sim_raises;

long sim_bridge_init(u64 pa)
{
	struct hvisor_bridge *b;
	unsigned long flags;

	/* hvisor asserts page alignment (a hypervisor panic on a board) */
	if (!PAGE_ALIGNED(pa)) {
		pr_err("INIT_VIRTIO with unaligned address 0x%llx: hvisor would panic\n",
		       pa);
		return -EINVAL;
	}
	b = sim_phys_ptr(pa, PAGE_SIZE);
	if (!b) {
		pr_err("INIT_VIRTIO with 0x%llx, which is not root RAM\n", pa);
		return -EFAULT;
	}
	spin_lock_irqsave(&sim_bridge.lock, flags);
	sim_bridge.page = b;
	sim_bridge.gen++;
	spin_unlock_irqrestore(&sim_bridge.lock, flags);
	pr_info("bridge page at 0x%llx\n", pa);
	return 0;
}

void sim_bridge_exit(void)
{
	unsigned long flags;

	spin_lock_irqsave(&sim_bridge.lock, flags);
	sim_bridge.page = NULL;
	sim_bridge.gen++;
	spin_unlock_irqrestore(&sim_bridge.lock, flags);
}

/* Has the access a hung vCPU waited for completed meanwhile? */
bool sim_bridge_moved(unsigned int cpu, u64 snap, unsigned long gen)
{
	struct hvisor_bridge *b;
	unsigned long flags;
	bool moved;

	spin_lock_irqsave(&sim_bridge.lock, flags);
	b = sim_bridge.page;
	moved = !b || sim_bridge.gen != gen ||
		READ_ONCE(b->cfg_flags[cpu]) != snap;
	spin_unlock_irqrestore(&sim_bridge.lock, flags);
	return moved;
}

/*
 * lose_wakeup models hvisor's real race, not arbitrary loss: without a
 * store->load barrier hvisor can miss a need_wakeup store that is only
 * just being made, i.e. when the root side went to sleep an instant ago.
 * A post soon after the previous one is the analogue of that window.
 */
#define SIM_RACE_WINDOW_NS (5 * NSEC_PER_MSEC)

static void sim_wakeup(void)
{
	static atomic64_t last_ns;
	unsigned int every = READ_ONCE(sim_lose_wakeup);
	u64 now = ktime_get_ns(), prev = atomic64_xchg(&last_ns, now);
	long n;

	if (!sim_virtio_irq)
		return;
	n = atomic_long_inc_return(&sim_raises);
	if (every && n % every == 0 && now - prev < SIM_RACE_WINDOW_NS) {
		atomic_long_inc(&sim_stats.wakeups_lost);
		return;
	}
	atomic_long_inc(&sim_stats.wakeups);
	sim_irq_raise();
}

static bool sim_ring_full(struct hvisor_bridge *b, u32 *rear)
{
	/* acquire: the consumer is done with the slot it handed back */
	u32 front = smp_load_acquire(&b->req_front) & HVISOR_BRIDGE_RING_MASK;

	*rear = READ_ONCE(b->req_rear) & HVISOR_BRIDGE_RING_MASK;
	return ((*rear + 1) & HVISOR_BRIDGE_RING_MASK) == front;
}

static void sim_ring_fill(struct hvisor_device_req *slot, u32 zone,
			  unsigned int cpu, const struct sim_io *io,
			  bool notify)
{
	u64 mask = io->size >= 8 ? ~0ULL : (1ULL << (8 * io->size)) - 1;

	WRITE_ONCE(slot->src_cpu, cpu);
	WRITE_ONCE(slot->address, io->addr);
	WRITE_ONCE(slot->size, io->size);
	WRITE_ONCE(slot->value, io->is_write ? io->value & mask : 0);
	WRITE_ONCE(slot->src_zone, zone);
	WRITE_ONCE(slot->is_write, io->is_write);
	WRITE_ONCE(slot->need_interrupt, notify);
	WRITE_ONCE(slot->padding, 0);
}

static void sim_report_timeout(const struct sim_zone *z, unsigned int cpu,
			       const struct sim_io *io, const char *what)
{
	atomic_long_inc(&sim_stats.timeouts);
	pr_err("TIMEOUT zone %u cpu %u: %u-byte %s of 0x%llx %s within %u ms (a hung vCPU on hvisor)\n",
	       z->id, cpu, io->size, io->is_write ? "write" : "read",
	       io->addr, what, READ_ONCE(sim_timeout_ms));
}

/*
 * The ring is full: back off like hvisor (1..1024 spin hints, doubling).
 * In atomic context only a bounded number of rounds, then -EAGAIN so the
 * caller defers; in process context sleep once the spins are exhausted,
 * until the deadline.
 */
static int sim_ring_backoff(unsigned int *spins, unsigned int *rounds,
			    bool atomic, unsigned long deadline)
{
	unsigned int i;

	if (atomic && ++*rounds > SIM_ATOMIC_ROUNDS)
		return -EAGAIN;
	if (!atomic && time_after(jiffies, deadline))
		return -ETIMEDOUT;
	if (!atomic && *spins >= SIM_BACKOFF_MAX) {
		usleep_range(SIM_POLL_MAX_US, 2 * SIM_POLL_MAX_US);
		return 0;
	}
	for (i = 0; i < *spins; i++)
		cpu_relax();
	*spins = min(*spins * 2, (unsigned int)SIM_BACKOFF_MAX);
	return 0;
}

/*
 * Push one access into the request ring exactly as hvisor does. On success
 * *t says what to wait for (nothing for a notify).
 */
int sim_bridge_post(struct sim_zone *z, unsigned int cpu,
		    const struct sim_io *io, bool notify, bool atomic,
		    struct sim_ticket *t)
{
	unsigned long deadline, flags;
	unsigned int spins = 1, rounds = 0;
	struct hvisor_bridge *b;
	bool counted = false;
	int ret;
	u32 rear;
	u8 need;

	if (cpu >= HVISOR_BRIDGE_MAX_CPUS)
		return -EINVAL;
	deadline = jiffies + msecs_to_jiffies(READ_ONCE(sim_timeout_ms));
	spin_lock_irqsave(&sim_bridge.lock, flags);
	for (;;) {
		b = sim_bridge.page;
		if (!b) {
			spin_unlock_irqrestore(&sim_bridge.lock, flags);
			pr_err_ratelimited("zone %u touched 0x%llx before INIT_VIRTIO: hvisor would panic (VirtioBridge not enabled)\n",
					   z->id, io->addr);
			return -ENODEV;
		}
		t->b = b;
		t->gen = sim_bridge.gen;
		t->cpu = cpu;
		/* acquire: the snapshot is taken before the push */
		t->snap = smp_load_acquire(&b->cfg_flags[cpu]);
		if (!sim_ring_full(b, &rear))
			break;
		if (!counted)
			atomic_long_inc(&sim_stats.ring_full);
		counted = true;
		spin_unlock_irqrestore(&sim_bridge.lock, flags);
		ret = sim_ring_backoff(&spins, &rounds, atomic, deadline);
		if (!ret && READ_ONCE(z->dead))
			ret = -ESHUTDOWN;	/* its vCPUs are gone */
		if (ret == -ETIMEDOUT)
			sim_report_timeout(z, cpu, io, "not queued (ring full)");
		if (ret)
			return ret;
		spin_lock_irqsave(&sim_bridge.lock, flags);
	}
	sim_ring_fill(&b->req_list[rear], z->id, cpu, io, notify);
	/* release: the slot is complete before req_rear publishes it */
	smp_store_release(&b->req_rear, (rear + 1) & HVISOR_BRIDGE_RING_MASK);
	spin_unlock_irqrestore(&sim_bridge.lock, flags);

	atomic_long_inc(&sim_stats.posted);
	if (notify)
		atomic_long_inc(&sim_stats.notifies);
	/*
	 * hvisor has no store->load barrier here, so a wake-up can be lost
	 * and hvisor.ko's re-check timer recovers it. A caller with
	 * interrupts off is a driver about to spin for the answer: it stands
	 * for a guest vCPU, but it is also a root CPU whose timers cannot run
	 * meanwhile, which no board has. Only there the race is closed.
	 */
	if (irqs_disabled())
		smp_mb();	/* req_rear before need_wakeup: hvisor.ko's Dekker pair */
	need = READ_ONCE(b->need_wakeup);
	/* acquire fence only, as hvisor: no store->load order vs req_rear */
	smp_rmb();
	if (need == 1)
		sim_wakeup();
	return 0;
}

/*
 * The vCPU stall: wait until the root side bumps cfg_flags[cpu], then
 * read cfg_values[cpu]. Process context only.
 */
int sim_bridge_wait(struct sim_zone *z, const struct sim_ticket *t,
		    const struct sim_io *io, u64 *value)
{
	unsigned long deadline;
	unsigned int spins = 0, delay = SIM_POLL_MIN_US;

	might_sleep();
	deadline = jiffies + msecs_to_jiffies(READ_ONCE(sim_timeout_ms));
	for (;;) {
		/* acquire: cfg_values is read only after the counter moved */
		if (smp_load_acquire(&t->b->cfg_flags[t->cpu]) != t->snap) {
			*value = READ_ONCE(t->b->cfg_values[t->cpu]);
			return 0;
		}
		if (READ_ONCE(z->dead))
			return -ESHUTDOWN;
		if (READ_ONCE(sim_bridge.gen) != t->gen) {
			pr_err("zone %u cpu %u: bridge page replaced while waiting for 0x%llx\n",
			       z->id, t->cpu, io->addr);
			return -EIO;
		}
		if (time_after(jiffies, deadline)) {
			sim_report_timeout(z, t->cpu, io, "not completed");
			return -ETIMEDOUT;
		}
		if (spins < SIM_WAIT_SPINS) {
			spins++;
			cpu_relax();
			continue;
		}
		usleep_range(delay, 2 * delay);
		delay = min(2 * delay, (unsigned int)SIM_POLL_MAX_US);
	}
}

/* Take one result; false when the ring is empty. */
static bool sim_res_pop(struct hvisor_bridge *b, struct hvisor_device_res *res)
{
	u32 front = READ_ONCE(b->res_front) & HVISOR_BRIDGE_RING_MASK;
	/* acquire: the slot is read only after res_rear published it */
	u32 rear = smp_load_acquire(&b->res_rear) & HVISOR_BRIDGE_RING_MASK;

	if (front == rear)
		return false;
	res->target_zone = READ_ONCE(b->res_list[front].target_zone);
	res->irq_id = READ_ONCE(b->res_list[front].irq_id);
	/* release: done with the slot before handing it back */
	smp_store_release(&b->res_front, (front + 1) & HVISOR_BRIDGE_RING_MASK);
	return true;
}

/* FINISH_REQ: any context, never sleeps. */
long sim_bridge_finish_req(void)
{
	struct hvisor_device_res res;
	struct hvisor_bridge *b;
	unsigned long flags;
	unsigned int n;

	atomic_long_inc(&sim_stats.finish_req);
	spin_lock_irqsave(&sim_res_lock, flags);
	spin_lock(&sim_bridge.lock);
	b = sim_bridge.page;
	spin_unlock(&sim_bridge.lock);
	if (!b) {
		spin_unlock_irqrestore(&sim_res_lock, flags);
		pr_err_ratelimited("FINISH_REQ before INIT_VIRTIO\n");
		return 0;
	}
	/* at most a ring's worth: the producer may keep adding meanwhile */
	for (n = 0; n < HVISOR_BRIDGE_MAX_REQ && sim_res_pop(b, &res); n++)
		sim_zone_deliver_irq(res.target_zone, res.irq_id);
	spin_unlock_irqrestore(&sim_res_lock, flags);
	return 0;
}
