// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest accesses of a zone's vCPUs. A vCPU trapped in hvisor does one
 * access at a time, so every access owns one of the zone's physical CPUs
 * (its bridge slots) until it completes. A vCPU whose access timed out
 * stays stuck, as it would on hvisor, until that access's completion
 * arrives after all: a late completion must not finish a later access.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/sched.h>

#include "sim.h"

#define SIM_CPU_RECHECK	(HZ / 50)	/* re-poll hung vCPUs while waiting */

/* Is cpu free now? z->lock held. A hung vCPU is free once its counter moved. */
static bool sim_vcpu_free(struct sim_zone *z, unsigned int cpu)
{
	if (z->busy & BIT_ULL(cpu))
		return false;
	if (z->hung & BIT_ULL(cpu)) {
		if (!sim_bridge_moved(cpu, z->hung_snap[cpu], z->hung_gen[cpu]))
			return false;
		z->hung &= ~BIT_ULL(cpu);
	}
	return true;
}

/*
 * Claim a vCPU: want >= 0 asks for that one (-EBUSY when taken), SIM_NO_CPU
 * for any of the zone's CPUs that have bridge slots (-EAGAIN when none).
 */
static int sim_vcpu_try(struct sim_zone *z, int want, unsigned int *cpu)
{
	unsigned long flags;
	unsigned int c;
	int ret = -EAGAIN;

	spin_lock_irqsave(&z->lock, flags);
	if (READ_ONCE(z->dead)) {
		ret = -ESHUTDOWN;
	} else if (want >= 0) {
		c = want;
		if (c >= HVISOR_BRIDGE_MAX_CPUS || !(z->cpus & BIT_ULL(c)))
			ret = -EINVAL;
		else
			ret = sim_vcpu_free(z, c) ? 0 : -EBUSY;
	} else {
		for (c = 0; c < HVISOR_BRIDGE_MAX_CPUS; c++)
			if ((z->cpus & BIT_ULL(c)) && sim_vcpu_free(z, c)) {
				ret = 0;
				break;
			}
	}
	if (!ret) {
		z->busy |= BIT_ULL(c);
		*cpu = c;
	}
	spin_unlock_irqrestore(&z->lock, flags);
	return ret;
}

static bool sim_vcpu_got(struct sim_zone *z, unsigned int *cpu, int *ret)
{
	*ret = sim_vcpu_try(z, SIM_NO_CPU, cpu);
	return *ret != -EAGAIN;
}

/* Any vCPU, waiting for one to become free (process context). */
static int sim_vcpu_claim_any(struct sim_zone *z, unsigned int *cpu)
{
	unsigned long deadline;
	int ret;

	deadline = jiffies + msecs_to_jiffies(READ_ONCE(sim_timeout_ms));
	for (;;) {
		/* hung vCPUs recover by polling: wake up now and then */
		wait_event_timeout(z->cpu_wq, sim_vcpu_got(z, cpu, &ret),
				   SIM_CPU_RECHECK);
		if (ret != -EAGAIN)
			return ret;
		if (time_after(jiffies, deadline)) {
			pr_err_ratelimited("zone %u: no vCPU became free within %u ms\n",
					   z->id, READ_ONCE(sim_timeout_ms));
			return -ETIMEDOUT;
		}
	}
}

static void sim_vcpu_release(struct sim_zone *z, unsigned int cpu,
			     const struct sim_ticket *hung)
{
	unsigned long flags;

	spin_lock_irqsave(&z->lock, flags);
	z->busy &= ~BIT_ULL(cpu);
	if (hung) {
		z->hung |= BIT_ULL(cpu);
		z->hung_snap[cpu] = hung->snap;
		z->hung_gen[cpu] = hung->gen;
	}
	spin_unlock_irqrestore(&z->lock, flags);
	wake_up(&z->cpu_wq);
}

static bool sim_io_valid(const struct sim_io *io)
{
	return io->size == 1 || io->size == 2 || io->size == 4 ||
	       io->size == 8;
}

/*
 * One access by vCPU cpu (SIM_NO_CPU: any free one) of zone z, in process
 * context. A notify returns once posted; anything else once completed.
 */
int sim_access(struct sim_zone *z, int cpu, struct sim_io *io)
{
	const struct hv_cfg_memory_region *r;
	struct sim_ticket t;
	unsigned int c;
	bool notify;
	u64 value = 0;
	int ret;

	might_sleep();
	if (!sim_io_valid(io))
		return -EINVAL;
	r = sim_zone_virtio_region(z, io->addr, io->size);
	if (!r)
		return -EFAULT;
	/* hvisor's rule: +0x50 from the start of the region, read or write */
	notify = io->addr - r->physical_start == HVISOR_VIRTIO_NOTIFY_OFFSET;
	if (cpu == SIM_NO_CPU)
		ret = sim_vcpu_claim_any(z, &c);
	else
		ret = sim_vcpu_try(z, cpu, &c);
	if (ret)
		return ret;
	ret = sim_bridge_post(z, c, io, notify, false, &t);
	if (!ret && !notify)
		ret = sim_bridge_wait(z, &t, io, &value);
	sim_vcpu_release(z, c, ret == -ETIMEDOUT && !notify ? &t : NULL);
	if (!ret && !io->is_write)
		io->value = value;
	return ret;
}

/*
 * A QueueNotify write from any context (a virtqueue kick). Never sleeps:
 * -EAGAIN when the ring stays full, so that the caller issues it later
 * from process context. A posted notify stalls no vCPU, so it takes none:
 * it goes out as the zone's first CPU even while that one waits in
 * another access (here several kernel contexts share the zone's vCPUs).
 */
int sim_notify_atomic(struct sim_zone *z, u64 addr, u32 queue)
{
	struct sim_io io = {
		.addr = addr, .value = queue, .size = 4, .is_write = true,
	};
	const struct hv_cfg_memory_region *r;
	struct sim_ticket t;
	unsigned int c;

	r = sim_zone_virtio_region(z, addr, io.size);
	if (!r || addr - r->physical_start != HVISOR_VIRTIO_NOTIFY_OFFSET)
		return -EINVAL;
	if (READ_ONCE(z->dead))
		return -ESHUTDOWN;
	c = __ffs64(z->cpus);
	return sim_bridge_post(z, c, &io, true, true, &t);
}
