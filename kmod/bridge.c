// SPDX-License-Identifier: GPL-2.0-only
/*
 * The bridge page hvisor posts every trapped virtio register access to
 * (reference §2.3-§2.7), with this module as its only consumer.
 *
 * The wake-up interrupt only queues a work item on an unbound high-priority
 * workqueue, which drains the ring in process context, on whichever CPU is
 * free (not necessarily the one that took the interrupt), and routes each
 * request by src_zone to that zone's channel, or answers it at once when
 * the zone has no owner. A stalled access (everything but
 * a posted QueueNotify) is finished by writing cfg_values[cpu] and then
 * bumping cfg_flags[cpu]; hvisor's vCPU spins on that counter forever, so
 * every stalled access must be answered exactly once.
 *
 * Sleeping is the Dekker handshake of §2.7: set need_wakeup, full
 * barrier, look at req_rear again. hvisor has no store->load barrier
 * between publishing req_rear and reading need_wakeup, so a wake-up can
 * still be lost: the ring is looked at once more HVISOR_RECHECK_MS after
 * each sleep, and periodically while a CPU waits for an answer. Nothing
 * runs when nothing happens.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/gfp.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/mm.h>

#include "internal.h"

#define RING_MASK HVISOR_BRIDGE_RING_MASK

static irqreturn_t hvisor_wakeup_irq(int irq, void *dev)
{
	hv_stat_inc(wakeups);
	hvisor_arch_wakeup_ack();
	queue_work(hvisor.wq, &hvisor.drain);
	/* no status register: a shared line cannot tell whose it was */
	return IRQ_HANDLED;
}

/* Caller holds req_lock. Reference §2.5: value, barrier, counter. */
void hvisor_complete_locked(u32 cpu, u64 value)
{
	struct hvisor_bridge *b = hvisor.bridge;

	WRITE_ONCE(b->cfg_values[cpu], value);
	/* the value is visible before the counter that releases the vCPU */
	smp_wmb();
	WRITE_ONCE(b->cfg_flags[cpu], READ_ONCE(b->cfg_flags[cpu]) + 1);
	/* and the counter before whatever we write next (upstream's order) */
	smp_wmb();
}

static void route(const struct hvisor_device_req *req)
{
	struct hvisor_channel *ch;
	u64 cpu = req->src_cpu;

	hv_stat_inc(requests);
	if (req->need_interrupt)
		hv_stat_inc(notifies);
	if (cpu >= HVISOR_BRIDGE_MAX_CPUS) {
		/* cannot be answered: cfg_flags has 32 slots */
		hv_stat_inc(bad_requests);
		pr_err_ratelimited("request from CPU %llu of zone %u dropped\n",
				   cpu, req->src_zone);
		return;
	}
	spin_lock(&hvisor.req_lock);
	ch = hvisor_channel_find_locked(req->src_zone);
	if (ch) {
		hvisor_channel_route_locked(ch, req);
	} else {
		/* nobody serves this zone: reads 0, writes dropped */
		hv_stat_inc(orphan_answers);
		if (!req->need_interrupt)
			hvisor_complete_locked(cpu, 0);
	}
	spin_unlock(&hvisor.req_lock);
}

/* Caller holds drain_lock. Returns the number of requests taken. */
static unsigned int drain(void)
{
	struct hvisor_bridge *b = hvisor.bridge;
	unsigned int n = 0;
	u32 front = READ_ONCE(b->req_front) & RING_MASK;

	for (;;) {
		WRITE_ONCE(b->need_wakeup, 0);
		/* acquire: the slot is complete once req_rear says so */
		while ((smp_load_acquire(&b->req_rear) & RING_MASK) != front) {
			struct hvisor_device_req req = b->req_list[front];

			front = (front + 1) & RING_MASK;
			/* release: the slot is copied before hvisor reuses it */
			smp_store_release(&b->req_front, front);
			route(&req);
			n++;
		}
		WRITE_ONCE(b->need_wakeup, 1);
		/* need_wakeup before req_rear is read again: Dekker, §2.7 */
		smp_mb();
		if ((READ_ONCE(b->req_rear) & RING_MASK) == front)
			return n;
	}
}

/* The wake-up's work: ours to drain, or legacy mode's to be told. */
static void drain_fn(struct work_struct *w)
{
	mutex_lock(&hvisor.drain_lock);
	if (!hvisor_legacy_wakeup()) {
		drain();
		mod_delayed_work(hvisor.wq, &hvisor.recheck,
				 msecs_to_jiffies(HVISOR_RECHECK_MS));
	}
	mutex_unlock(&hvisor.drain_lock);
}

static void recheck_fn(struct work_struct *w)
{
	unsigned int found, outstanding;

	mutex_lock(&hvisor.drain_lock);
	if (hvisor_legacy_active()) {
		mutex_unlock(&hvisor.drain_lock);
		return;
	}
	hv_stat_inc(rechecks);
	found = drain();
	mutex_unlock(&hvisor.drain_lock);
	if (found)
		hv_stat_inc(recheck_found);
	spin_lock(&hvisor.req_lock);
	outstanding = hvisor.outstanding;
	spin_unlock(&hvisor.req_lock);
	if (outstanding)
		mod_delayed_work(hvisor.wq, &hvisor.recheck,
				 msecs_to_jiffies(HVISOR_RECHECK_BUSY_MS));
}

/* Drain soon, from process context (after a mode change, a new owner). */
void hvisor_bridge_kick(void)
{
	if (hvisor.irq >= 0)
		queue_work(hvisor.wq, &hvisor.drain);
}

static bool res_full(const struct hvisor_bridge *b)
{
	u32 rear = READ_ONCE(b->res_rear) & RING_MASK, front;

	/* acquire: hvisor read the slot before it moved res_front */
	front = smp_load_acquire(&b->res_front) & RING_MASK;
	return ((rear + 1) & RING_MASK) == front;
}

/* hvisor drains res_list in FINISH_REQ; a few calls, then give up. */
static bool res_make_room(void)
{
	int i;

	hv_stat_inc(res_full);
	for (i = 0; i < HVISOR_RES_RETRIES; i++) {
		hvisor_hypercall(HVISOR_HC_FINISH_REQ, 0, 0);
		if (!res_full(hvisor.bridge))
			return true;
		cond_resched();
	}
	hv_stat_inc(res_drops);
	pr_warn_ratelimited("res_list stays full; an IRQ is dropped\n");
	return false;
}

/* Queues IRQs for zone_id in res_list (§2.6), then one FINISH_REQ. */
int hvisor_inject_irqs(u32 zone_id, const u32 *irqs, unsigned int n)
{
	struct hvisor_bridge *b = hvisor.bridge;
	unsigned int i;
	u32 rear;

	mutex_lock(&hvisor.res_lock);
	for (i = 0; i < n; i++) {
		if (res_full(b) && !res_make_room())
			continue;
		rear = READ_ONCE(b->res_rear) & RING_MASK;
		b->res_list[rear].target_zone = zone_id;
		b->res_list[rear].irq_id = irqs[i];
		/* the slot before the index that publishes it */
		smp_store_release(&b->res_rear, (rear + 1) & RING_MASK);
		hv_stat_inc(irqs);
	}
	/* res_rear is visible before hvisor is asked to read it */
	smp_mb();
	hvisor_hypercall(HVISOR_HC_FINISH_REQ, 0, 0);
	mutex_unlock(&hvisor.res_lock);
	return 0;
}

unsigned long hvisor_bridge_pfn(void)
{
	return page_to_pfn(hvisor.bridge_page);
}

static int bridge_register(void)
{
	long r;

	hvisor.bridge_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!hvisor.bridge_page)
		return -ENOMEM;
	hvisor.bridge = page_address(hvisor.bridge_page);
	r = request_irq(hvisor.irq, hvisor_wakeup_irq, IRQF_SHARED,
			"hvisor_virtio_device", &hvisor);
	if (r)
		goto fail;
	r = hvisor_hypercall(HVISOR_HC_INIT_VIRTIO,
			     page_to_phys(hvisor.bridge_page), 0);
	if (r) {
		free_irq(hvisor.irq, &hvisor);
		goto fail;
	}
	return 0;
fail:
	__free_page(hvisor.bridge_page);
	hvisor.bridge_page = NULL;
	hvisor.bridge = NULL;
	return r < 0 ? r : -EIO;
}

/* Never fails the module load: without it, only virtio is missing. */
int hvisor_bridge_init(void)
{
	int r;

	INIT_DELAYED_WORK(&hvisor.recheck, recheck_fn);
	INIT_WORK(&hvisor.drain, drain_fn);
	hvisor.irq = hvisor_arch_wakeup_irq();
	if (hvisor.irq < 0) {
		pr_info("no virtio wake-up interrupt: virtio is unavailable\n");
		return hvisor.irq;
	}
	hvisor.wq = alloc_workqueue("hvisor", WQ_UNBOUND | WQ_HIGHPRI, 1);
	r = hvisor.wq ? bridge_register() : -ENOMEM;
	if (r) {
		pr_err("virtio bridge: %d: virtio is unavailable\n", r);
		if (hvisor.wq)
			destroy_workqueue(hvisor.wq);
		hvisor.irq = -ENODEV;
		return r;
	}
	/* hvisor may wake us from now on */
	WRITE_ONCE(hvisor.bridge->need_wakeup, 1);
	hvisor_bridge_kick();
	return 0;
}

void hvisor_bridge_exit(void)
{
	phys_addr_t pa;

	if (hvisor.irq < 0)
		return;
	free_irq(hvisor.irq, &hvisor);
	cancel_work_sync(&hvisor.drain);
	cancel_delayed_work_sync(&hvisor.recheck);
	destroy_workqueue(hvisor.wq);
	/*
	 * hvisor has no call to forget the bridge and keeps writing to it,
	 * so the page must never go back to the allocator.
	 */
	WRITE_ONCE(hvisor.bridge->need_wakeup, 0);
	pa = page_to_phys(hvisor.bridge_page);
	pr_info("bridge page at %pa stays allocated: hvisor still uses it\n",
		&pa);
}
