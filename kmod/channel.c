// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-zone channels (proto/uapi/hvisor.h): HVISOR_ZONE_ATTACH gives the
 * one owner of a zone's virtio traffic an fd.
 *   read()   struct hvisor_ioreq records, as many whole ones as fit
 *   write()  struct hvisor_iocomp records: COMPLETE and IRQ
 *   poll()   readable when a record is queued; HUP once the zone is gone
 *   mmap()   the zone's RAM, offset = host physical address
 * When the owner goes away (close, or its death) every stalled access of
 * the zone is answered here (reads 0) and so is every later one until a
 * new owner attaches: a guest never hangs on a dead backend. Zone
 * shutdown ends the channel: read() returns 0.
 *
 * A stalled access is remembered by its CPU in hvisor.pending from the
 * moment it is routed, whether or not it was read yet, so closing a
 * channel answers exactly the accesses nobody answered.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "internal.h"

#define WBATCH 32 /* completion records copied in at once */

struct hvisor_channel {
	u32 zone_id;
	bool attached;	/* in hvisor.chan[] (req_lock) */
	bool ended;	/* the zone was shut down (req_lock) */
	u64 next_id;
	unsigned int head, count;
	struct hvisor_ioreq q[HVISOR_CHAN_QUEUE];
	wait_queue_head_t wq;
	struct mutex io_lock; /* rbuf and wbuf */
	struct hvisor_ioreq rbuf[HVISOR_CHAN_QUEUE];
	struct hvisor_iocomp wbuf[WBATCH];
};

static u64 size_mask(u8 size)
{
	return size >= 8 ? U64_MAX : (1ULL << (8 * size)) - 1;
}

struct hvisor_channel *hvisor_channel_find_locked(u32 zone_id)
{
	unsigned int i;

	for (i = 0; i < HVISOR_MAX_CHANNELS; i++)
		if (hvisor.chan[i] && hvisor.chan[i]->zone_id == zone_id)
			return hvisor.chan[i];
	return NULL;
}

static bool coalesce_locked(struct hvisor_channel *ch,
			    const struct hvisor_device_req *req)
{
	unsigned int i;

	for (i = 0; i < ch->count; i++) {
		const struct hvisor_ioreq *q =
			&ch->q[(ch->head + i) % HVISOR_CHAN_QUEUE];

		if (q->is_notify && q->address == req->address &&
		    q->value == req->value)
			return true;
	}
	return false;
}

/* Called by the bridge with req_lock held; src_cpu is < 32. */
void hvisor_channel_route_locked(struct hvisor_channel *ch,
				 const struct hvisor_device_req *req)
{
	struct hvisor_pending *p = &hvisor.pending[req->src_cpu];
	struct hvisor_ioreq *q;

	if (req->need_interrupt) {
		if (coalesce_locked(ch, req)) {
			hv_stat_inc(coalesced);
			return;
		}
		if (ch->count >= HVISOR_CHAN_NOTIFY_MAX) {
			hv_stat_inc(queue_full);
			pr_warn_ratelimited("zone %u: channel full, notify dropped\n",
					    ch->zone_id);
			return;
		}
	} else {
		if (p->busy)
			pr_warn_ratelimited("CPU %llu: new access before the last was answered\n",
					    req->src_cpu);
		else
			hvisor.outstanding++;
		*p = (struct hvisor_pending){
			.busy = true,
			.size = req->size <= 8 ? req->size : 0,
			.zone_id = ch->zone_id,
			.id = ch->next_id,
		};
	}
	q = &ch->q[(ch->head + ch->count++) % HVISOR_CHAN_QUEUE];
	*q = (struct hvisor_ioreq){
		.id = ch->next_id++,
		.address = req->address,
		.value = req->is_write ? req->value : 0,
		.cpu = req->src_cpu,
		.zone_id = req->src_zone,
		.size = req->size <= 8 ? req->size : 0,
		.is_write = !!req->is_write,
		.is_notify = !!req->need_interrupt,
	};
	wake_up_interruptible(&ch->wq);
}

/* Answer one stalled access if it is the zone's (cpu, id). */
static int answer_locked(u32 zone_id, u32 cpu, u64 id, u64 value)
{
	struct hvisor_pending *p;

	if (cpu >= HVISOR_BRIDGE_MAX_CPUS)
		return -EINVAL;
	p = &hvisor.pending[cpu];
	if (!p->busy || p->zone_id != zone_id || p->id != id)
		return -EINVAL;
	hvisor_complete_locked(cpu, value & size_mask(p->size));
	p->busy = false;
	hvisor.outstanding--;
	return 0;
}

/* Every stalled access of the zone reads 0. */
static void answer_all_locked(u32 zone_id)
{
	unsigned int cpu;

	for (cpu = 0; cpu < HVISOR_BRIDGE_MAX_CPUS; cpu++)
		if (hvisor.pending[cpu].busy &&
		    hvisor.pending[cpu].zone_id == zone_id) {
			hvisor_complete_locked(cpu, 0);
			hvisor.pending[cpu].busy = false;
			hvisor.outstanding--;
		}
}

static void detach_locked(struct hvisor_channel *ch)
{
	unsigned int i;

	answer_all_locked(ch->zone_id);
	for (i = 0; i < HVISOR_MAX_CHANNELS; i++)
		if (hvisor.chan[i] == ch)
			hvisor.chan[i] = NULL;
	hvisor.nchan--;
	ch->attached = false;
	ch->count = 0;
}

/* The zone is gone: readers get end of file, a new owner may attach. */
void hvisor_channel_end(u32 zone_id)
{
	struct hvisor_channel *ch;

	spin_lock(&hvisor.req_lock);
	ch = hvisor_channel_find_locked(zone_id);
	if (ch) {
		detach_locked(ch);
		ch->ended = true;
		/* under the lock: once unlocked, ch may be released */
		wake_up_interruptible(&ch->wq);
	}
	spin_unlock(&hvisor.req_lock);
}

/* Takes up to max queued records into rbuf; -EPIPE: ended. */
static int take(struct hvisor_channel *ch, unsigned int max)
{
	unsigned int n, i;

	spin_lock(&hvisor.req_lock);
	if (ch->ended) {
		spin_unlock(&hvisor.req_lock);
		return -EPIPE;
	}
	n = min(ch->count, max);
	for (i = 0; i < n; i++)
		ch->rbuf[i] = ch->q[(ch->head + i) % HVISOR_CHAN_QUEUE];
	ch->head = (ch->head + n) % HVISOR_CHAN_QUEUE;
	ch->count -= n;
	spin_unlock(&hvisor.req_lock);
	return n;
}

/* Records taken but never delivered: their vCPUs must not wait. */
static void undeliverable(struct hvisor_channel *ch, unsigned int n)
{
	unsigned int i;

	spin_lock(&hvisor.req_lock);
	for (i = 0; i < n; i++)
		if (!ch->rbuf[i].is_notify)
			answer_locked(ch->zone_id, ch->rbuf[i].cpu,
				      ch->rbuf[i].id, 0);
	spin_unlock(&hvisor.req_lock);
}

static ssize_t chan_read(struct file *f, char __user *buf, size_t len,
			 loff_t *off)
{
	struct hvisor_channel *ch = f->private_data;
	unsigned int max = min_t(size_t, len / sizeof(struct hvisor_ioreq),
				 HVISOR_CHAN_QUEUE);
	int n;

	if (!max)
		return -EINVAL;
	mutex_lock(&ch->io_lock);
	while ((n = take(ch, max)) == 0) {
		mutex_unlock(&ch->io_lock);
		if (f->f_flags & O_NONBLOCK)
			return -EAGAIN;
		if (wait_event_interruptible(ch->wq, READ_ONCE(ch->count) ||
					     READ_ONCE(ch->ended)))
			return -ERESTARTSYS;
		mutex_lock(&ch->io_lock);
	}
	if (n > 0 && copy_to_user(buf, ch->rbuf, n * sizeof(ch->rbuf[0]))) {
		undeliverable(ch, n);
		n = -EFAULT;
	}
	mutex_unlock(&ch->io_lock);
	if (n == -EPIPE)
		return 0;
	return n < 0 ? n : n * sizeof(struct hvisor_ioreq);
}

static int add_irq(struct hvisor_channel *ch, u64 irq, u32 *irqs,
		   unsigned int *nirq)
{
	unsigned int i;
	int r = hvisor_zone_irq_ok(ch->zone_id, irq);

	if (r)
		return r;
	for (i = 0; i < *nirq; i++)
		if (irqs[i] == irq)
			return 0; /* hvisor coalesces them anyway */
	irqs[(*nirq)++] = irq;
	return 0;
}

static int one_record(struct hvisor_channel *ch, const struct hvisor_iocomp *c,
		      u32 *irqs, unsigned int *nirq)
{
	int r;

	switch (c->type) {
	case HVISOR_IOCOMP_COMPLETE:
		spin_lock(&hvisor.req_lock);
		r = answer_locked(ch->zone_id, c->cpu, c->id, c->value);
		spin_unlock(&hvisor.req_lock);
		if (r)
			hv_stat_inc(bad_completions);
		return r;
	case HVISOR_IOCOMP_IRQ:
		return add_irq(ch, c->value, irqs, nirq);
	default:
		return -EINVAL;
	}
}

static ssize_t chan_write(struct file *f, const char __user *buf, size_t len,
			  loff_t *off)
{
	struct hvisor_channel *ch = f->private_data;
	size_t total = len / sizeof(struct hvisor_iocomp), done = 0;
	unsigned int i, n, nirq;
	u32 irqs[WBATCH];
	int r = 0;

	if (len % sizeof(struct hvisor_iocomp))
		return -EINVAL;
	if (READ_ONCE(ch->ended))
		return -EPIPE;
	mutex_lock(&ch->io_lock);
	while (done < total && !r) {
		n = min_t(size_t, total - done, WBATCH);
		if (copy_from_user(ch->wbuf, buf + done * sizeof(ch->wbuf[0]),
				   n * sizeof(ch->wbuf[0]))) {
			r = -EFAULT;
			break;
		}
		for (i = 0, nirq = 0; i < n && !r; i++) {
			r = one_record(ch, &ch->wbuf[i], irqs, &nirq);
			if (!r)
				done++;
		}
		if (nirq)
			hvisor_inject_irqs(ch->zone_id, irqs, nirq);
	}
	mutex_unlock(&ch->io_lock);
	return done ? done * sizeof(struct hvisor_iocomp) : r;
}

static __poll_t chan_poll(struct file *f, poll_table *wait)
{
	struct hvisor_channel *ch = f->private_data;
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	poll_wait(f, &ch->wq, wait);
	if (READ_ONCE(ch->count))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (READ_ONCE(ch->ended))
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLHUP;
	return mask;
}

/* Only inside one RAM region of this zone, and never root Linux's. */
static int chan_mmap(struct file *f, struct vm_area_struct *vma)
{
	struct hvisor_channel *ch = f->private_data;
	u64 start = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u64 len = vma->vm_end - vma->vm_start;
	int r;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (!hvisor_zone_ram_contains(ch->zone_id, start, len))
		return -EINVAL;
	r = hvisor_phys_check(start, len);
	if (r)
		return r;
	/* remap_pfn_range() makes it VM_IO | VM_PFNMAP | VM_DONTEXPAND */
	return remap_pfn_range(vma, vma->vm_start, vma->vm_pgoff, len,
			       vma->vm_page_prot);
}

static int chan_release(struct inode *inode, struct file *f)
{
	struct hvisor_channel *ch = f->private_data;

	spin_lock(&hvisor.req_lock);
	if (ch->attached)
		detach_locked(ch);
	spin_unlock(&hvisor.req_lock);
	kvfree(ch);
	return 0;
}

static const struct file_operations chan_fops = {
	.owner = THIS_MODULE,
	.read = chan_read,
	.write = chan_write,
	.poll = chan_poll,
	.mmap = chan_mmap,
	.release = chan_release,
	.llseek = noop_llseek,
};

static int insert_locked(struct hvisor_channel *ch)
{
	unsigned int i;

	if (hvisor.legacy || hvisor_channel_find_locked(ch->zone_id))
		return -EBUSY;
	for (i = 0; i < HVISOR_MAX_CHANNELS; i++)
		if (!hvisor.chan[i]) {
			hvisor.chan[i] = ch;
			hvisor.nchan++;
			ch->attached = true;
			return 0;
		}
	return -ENOSPC;
}

long hvisor_channel_attach(const struct hvisor_zone_attach *a)
{
	struct hvisor_channel *ch;
	int fd, r;

	if (a->flags || a->reserved[0] || a->reserved[1] || !a->zone_id)
		return -EINVAL;
	if (hvisor.irq < 0)
		return -ENODEV;
	ch = kvzalloc(sizeof(*ch), GFP_KERNEL);
	if (!ch)
		return -ENOMEM;
	ch->zone_id = a->zone_id;
	init_waitqueue_head(&ch->wq);
	mutex_init(&ch->io_lock);
	spin_lock(&hvisor.req_lock);
	r = insert_locked(ch);
	spin_unlock(&hvisor.req_lock);
	if (r) {
		kvfree(ch);
		return r;
	}
	fd = anon_inode_getfd("[hvisor-zone]", &chan_fops, ch,
			      O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		spin_lock(&hvisor.req_lock);
		detach_locked(ch);
		spin_unlock(&hvisor.req_lock);
		kvfree(ch);
	}
	return fd;
}
