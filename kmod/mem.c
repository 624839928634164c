// SPDX-License-Identifier: GPL-2.0-only
/*
 * Which physical memory user space may reach through this module, and
 * LOAD_IMAGE. Non-root RAM is memory root Linux does not use: a
 * reserved-memory region with no-map, or memory outside its memory map.
 * Anything root Linux owns (System RAM, its linear map, or a resource a
 * driver claimed) is refused, so neither an image load nor a mapping can
 * ever touch a page of the root kernel.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "internal.h"

static int busy_found(struct resource *res, void *arg)
{
	return 1;
}

/*
 * 0 if [start, start + len) is page-aligned memory root Linux does not
 * own; -EINVAL for an empty, wrapping or unaligned range, -EPERM for
 * memory that is root Linux's.
 */
int hvisor_phys_check(u64 start, u64 len)
{
	u64 end;

	if (!len || check_add_overflow(start, len, &end) ||
	    !PAGE_ALIGNED(start) || !PAGE_ALIGNED(len))
		return -EINVAL;
	if (region_intersects(start, len, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_DISJOINT)
		return -EPERM;
	/* System RAM, the kernel image and claimed device memory are busy */
	if (walk_iomem_res_desc(IORES_DESC_NONE,
				IORESOURCE_MEM | IORESOURCE_BUSY, start,
				end - 1, NULL, busy_found) == 1)
		return -EPERM;
	return 0;
}

static int load_chunk(u64 paddr, const void __user *src, size_t len)
{
	u64 base = round_down(paddr, PAGE_SIZE);
	size_t off = paddr - base, maplen = PAGE_ALIGN(off + len);
	void *va;
	int r = 0;

	va = memremap(base, maplen, MEMREMAP_WB);
	if (!va)
		return -ENOMEM;
	if (copy_from_user(va + off, src, len))
		r = -EFAULT;
	else
		hvisor_arch_sync_image(va + off, len);
	memunmap(va);
	return r;
}

/*
 * Copies an image to where a zone that is about to start expects it.
 * Only memory root Linux does not own, and not the RAM of a running
 * zone. Maps a bounded window at a time, so a large image neither needs
 * a large mapping nor blocks a fatal signal.
 */
long hvisor_load_image(const struct hvisor_load_image_args *a)
{
	const void __user *src = u64_to_user_ptr(a->user_buffer);
	u64 start = round_down(a->load_paddr, PAGE_SIZE), end, done = 0;
	u32 owner;
	int r;

	if (!a->size)
		return 0;
	if (check_add_overflow(a->load_paddr, a->size, &end) ||
	    end > U64_MAX - PAGE_SIZE)
		return -EINVAL;
	r = hvisor_phys_check(start, PAGE_ALIGN(end) - start);
	if (r) {
		pr_err("LOAD_IMAGE: [%#llx, +%#llx) is %s\n", a->load_paddr,
		       a->size, r == -EPERM ? "root Linux's memory" :
		       "not a valid range");
		return r;
	}
	owner = hvisor_ram_owner(a->load_paddr, a->size);
	if (owner) {
		pr_err("LOAD_IMAGE: [%#llx, +%#llx) is RAM of running zone %u\n",
		       a->load_paddr, a->size, owner);
		return -EBUSY;
	}
	while (done < a->size) {
		u64 pa = a->load_paddr + done;
		size_t n = min_t(u64, a->size - done,
				 HVISOR_LOAD_CHUNK - (pa & (HVISOR_LOAD_CHUNK - 1)));

		r = load_chunk(pa, src + done, n);
		if (r)
			return r;
		done += n;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}
