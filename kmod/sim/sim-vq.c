// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a loopback device owes its driver, per split virtqueue.
 *
 * A zone that is shut down takes its backend with it, but the test guest
 * (the VM's own kernel) lives on: a driver with requests in flight (a
 * virtio_blk probe reading the partition table, say) would wait for them
 * forever and could never be removed. So the sim watches each ring the way
 * the device side sees it, and once the zone is dead it completes every
 * buffer still outstanding itself: length 0 and its device-writable bytes
 * set to 0xff, which virtio_blk reports as an I/O error.
 *
 * The watch runs before every callback (under sv->vq_mutex): heads that
 * appeared in the avail ring are outstanding, ids that appeared in the used
 * ring are not. With interrupt-driven drivers this is exact, because a
 * driver only reuses a head after the callback that follows our scan.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "sim.h"

#define SIM_INDIRECT_MAX 1024	/* descriptors looked at per indirect table */

int sim_vq_init(struct sim_vq *svq, struct virtqueue *vq)
{
	unsigned int num = virtqueue_get_vring_size(vq);

	if (!num || (num & (num - 1)))
		return -EINVAL;	/* split rings are powers of two */
	svq->outstanding = bitmap_zalloc(num, GFP_KERNEL);
	if (!svq->outstanding)
		return -ENOMEM;
	svq->vq = vq;
	svq->num = num;
	svq->last_avail = 0;
	svq->last_used = 0;
	return 0;
}

void sim_vq_free(struct sim_vq *svq)
{
	bitmap_free(svq->outstanding);
	memset(svq, 0, sizeof(*svq));
}

static bool sim_vq_split(struct sim_vdev *sv)
{
	return !virtio_has_feature(&sv->vdev, VIRTIO_F_RING_PACKED);
}

void sim_vq_track(struct sim_vdev *sv, struct sim_vq *svq)
{
	const struct vring *vr = virtqueue_get_vring(svq->vq);
	struct virtio_device *vdev = &sv->vdev;
	unsigned int mask = svq->num - 1, slot;
	u32 head;
	u16 idx, n, i;

	if (!sim_vq_split(sv))
		return;
	/* the avail ring first: a head cannot be both new and reused here */
	idx = virtio16_to_cpu(vdev, READ_ONCE(vr->avail->idx));
	n = min_t(u16, idx - svq->last_avail, svq->num);
	for (i = 0; i < n; i++) {
		slot = (svq->last_avail + i) & mask;
		head = virtio16_to_cpu(vdev, READ_ONCE(vr->avail->ring[slot]));
		if (head < svq->num)
			set_bit(head, svq->outstanding);
	}
	svq->last_avail = idx;
	idx = virtio16_to_cpu(vdev, READ_ONCE(vr->used->idx));
	n = min_t(u16, idx - svq->last_used, svq->num);
	for (i = 0; i < n; i++) {
		slot = (svq->last_used + i) & mask;
		head = virtio32_to_cpu(vdev, READ_ONCE(vr->used->ring[slot].id));
		if (head < svq->num)
			clear_bit(head, svq->outstanding);
	}
	svq->last_used = idx;
}

static void sim_poison(struct sim_vdev *sv, u64 gpa, u32 len)
{
	void *va = sim_dma_gpa_to_va(sv->zone->dma, gpa, len);

	if (va)
		memset(va, 0xff, len);
}

static void sim_poison_indirect(struct sim_vdev *sv, u64 gpa, u32 len)
{
	struct vring_desc *t = sim_dma_gpa_to_va(sv->zone->dma, gpa, len);
	unsigned int i, n = min_t(u32, len / sizeof(*t), SIM_INDIRECT_MAX);

	for (i = 0; t && i < n; i++)
		if (virtio16_to_cpu(&sv->vdev, t[i].flags) & VRING_DESC_F_WRITE)
			sim_poison(sv, virtio64_to_cpu(&sv->vdev, t[i].addr),
				   virtio32_to_cpu(&sv->vdev, t[i].len));
}

/* Make the device-writable buffers of one chain read as garbage. */
static void sim_poison_chain(struct sim_vdev *sv, const struct vring *vr,
			     unsigned int num, u16 head)
{
	struct virtio_device *vdev = &sv->vdev;
	unsigned int steps;
	u16 i = head, flags;
	u64 addr;
	u32 len;

	for (steps = 0; steps < num && i < num; steps++) {
		flags = virtio16_to_cpu(vdev, READ_ONCE(vr->desc[i].flags));
		addr = virtio64_to_cpu(vdev, READ_ONCE(vr->desc[i].addr));
		len = virtio32_to_cpu(vdev, READ_ONCE(vr->desc[i].len));
		if (flags & VRING_DESC_F_INDIRECT)
			sim_poison_indirect(sv, addr, len);
		else if (flags & VRING_DESC_F_WRITE)
			sim_poison(sv, addr, len);
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = virtio16_to_cpu(vdev, READ_ONCE(vr->desc[i].next));
	}
}

/* The zone is dead: complete every outstanding head of svq. */
void sim_vq_abort(struct sim_vdev *sv, struct sim_vq *svq)
{
	const struct vring *vr = virtqueue_get_vring(svq->vq);
	struct virtio_device *vdev = &sv->vdev;
	unsigned int mask = svq->num - 1, head;
	u16 used;

	if (!sim_vq_split(sv) || !sv->zone->dma)
		return;
	sim_vq_track(sv, svq);
	used = svq->last_used;
	for_each_set_bit(head, svq->outstanding, svq->num) {
		sim_poison_chain(sv, vr, svq->num, head);
		WRITE_ONCE(vr->used->ring[used & mask].id,
			   cpu_to_virtio32(vdev, head));
		WRITE_ONCE(vr->used->ring[used & mask].len,
			   cpu_to_virtio32(vdev, 0));
		used++;
		clear_bit(head, svq->outstanding);
	}
	/* the entries are visible before the index that publishes them */
	virtio_wmb(true);
	WRITE_ONCE(vr->used->idx, cpu_to_virtio16(vdev, used));
	svq->last_used = used;
	/* the driver must kick again for what it adds from now on */
	WRITE_ONCE(vr->used->flags, 0);
	if (virtio_has_feature(vdev, VIRTIO_RING_F_EVENT_IDX))
		WRITE_ONCE(vring_avail_event(vr),
			   cpu_to_virtio16(vdev, svq->last_avail));
}
