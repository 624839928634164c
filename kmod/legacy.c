// SPDX-License-Identifier: GPL-2.0-only
/*
 * Legacy mode: upstream's unmodified daemon drains the bridge ring itself
 * (reference §1.2-§1.4). The file that asks with INIT_VIRTIO owns the
 * mode until it is closed; meanwhile the wake-up interrupt signals its
 * eventfd instead of draining, and its mmap reaches the bridge page
 * (offset 0, exactly one page) and non-root memory (offset = physical
 * address, as upstream maps zone RAM). Channels and legacy mode exclude
 * each other: whichever comes second gets -EBUSY.
 *
 * Unlike upstream, INIT_VIRTIO does not allocate and register a new page
 * each time: the page registered at module load is shared, so a second
 * call neither leaks memory nor disconnects a running daemon.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/mm.h>

#include "compat.h"
#include "internal.h"

static bool is_owner(struct file *f)
{
	bool owner;

	spin_lock(&hvisor.req_lock);
	owner = hvisor.legacy == f;
	spin_unlock(&hvisor.req_lock);
	return owner;
}

static long legacy_init(struct file *f)
{
	long r = 0;

	if (hvisor.irq < 0)
		return -ENODEV;
	/* drain_lock: no drain of ours runs once the daemon owns the ring */
	mutex_lock(&hvisor.drain_lock);
	spin_lock(&hvisor.req_lock);
	if (hvisor.legacy && hvisor.legacy != f)
		r = -EBUSY;
	else if (hvisor.nchan)
		r = -EBUSY;
	else
		hvisor.legacy = f;
	spin_unlock(&hvisor.req_lock);
	mutex_unlock(&hvisor.drain_lock);
	return r;
}

static long legacy_set_eventfd(struct file *f, int fd)
{
	struct eventfd_ctx *ctx, *old;

	if (!is_owner(f))
		return -EINVAL;
	ctx = eventfd_ctx_fdget(fd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	spin_lock(&hvisor.req_lock);
	old = hvisor.legacy_efd;
	hvisor.legacy_efd = ctx;
	spin_unlock(&hvisor.req_lock);
	if (old)
		eventfd_ctx_put(old);
	return 0;
}

long hvisor_legacy_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case HVISOR_INIT_VIRTIO:
		return legacy_init(f);
	case HVISOR_SET_EVENTFD:
		return legacy_set_eventfd(f, (int)arg);
	case HVISOR_FINISH_REQ:
		/* the daemon filled res_list itself */
		if (!is_owner(f))
			return -EINVAL;
		return hvisor_hypercall(HVISOR_HC_FINISH_REQ, 0, 0);
	default:
		return -ENOTTY;
	}
}

int hvisor_legacy_mmap(struct file *f, struct vm_area_struct *vma)
{
	u64 len = vma->vm_end - vma->vm_start;
	unsigned long pfn = vma->vm_pgoff;
	int r;

	if (!is_owner(f) || !(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (!vma->vm_pgoff) {
		/* exactly the bridge page, nothing after it */
		if (len != PAGE_SIZE)
			return -EINVAL;
		pfn = hvisor_bridge_pfn();
	} else {
		/* zone RAM, which may be mapped before its zone starts */
		r = hvisor_phys_check((u64)vma->vm_pgoff << PAGE_SHIFT, len);
		if (r)
			return r;
	}
	return remap_pfn_range(vma, vma->vm_start, pfn, len,
			       vma->vm_page_prot);
}

/* The daemon is gone: we drain again, and answer what it left. */
void hvisor_legacy_release(struct file *f)
{
	struct eventfd_ctx *ctx = NULL;

	mutex_lock(&hvisor.drain_lock);
	spin_lock(&hvisor.req_lock);
	if (hvisor.legacy == f) {
		hvisor.legacy = NULL;
		ctx = hvisor.legacy_efd;
		hvisor.legacy_efd = NULL;
	}
	spin_unlock(&hvisor.req_lock);
	mutex_unlock(&hvisor.drain_lock);
	if (ctx)
		eventfd_ctx_put(ctx);
	hvisor_bridge_kick();
}

bool hvisor_legacy_active(void)
{
	bool legacy;

	spin_lock(&hvisor.req_lock);
	legacy = hvisor.legacy;
	spin_unlock(&hvisor.req_lock);
	return legacy;
}

/* From the wake-up thread: true if legacy mode took the wake-up. */
bool hvisor_legacy_wakeup(void)
{
	bool legacy;

	spin_lock(&hvisor.req_lock);
	legacy = hvisor.legacy;
	if (hvisor.legacy_efd)
		hvisor_eventfd_signal(hvisor.legacy_efd);
	spin_unlock(&hvisor.req_lock);
	return legacy;
}
