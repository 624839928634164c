// SPDX-License-Identifier: GPL-2.0-only
/*
 * The loopback virtio transport. Each device is what a zone's guest would
 * find at a virtio-mmio window; every register access it makes travels
 * through the bridge as a trapped access of one of the zone's vCPUs, at the
 * version-2 register offsets and sizes a guest's virtio_mmio driver uses,
 * so that Linux's own virtio drivers run against hvisor-virtiod.
 *
 * Nothing waits in atomic context: a kick is a posted notify, or deferred
 * to a work item when it cannot be posted at once; the interrupt path runs
 * in a work item (FINISH_REQ -> read InterruptStatus, write InterruptACK,
 * then the vring callbacks with BH and interrupts off, as in a real IRQ).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bottom_half.h>
#include <linux/interrupt.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "sim.h"

#define SIM_MMIO_MAGIC	0x74726976	/* "virt" */
#define SIM_VRING_ALIGN	PAGE_SIZE	/* as virtio_mmio */

static struct sim_vdev *to_sv(struct virtio_device *vdev)
{
	return container_of(vdev, struct sim_vdev, vdev);
}

/* One register access; reads give 0 when it fails (dead zone, timeout). */
static u64 sv_io(struct sim_vdev *sv, u32 off, u8 size, bool is_write,
		 u64 value)
{
	struct sim_io io = {
		.addr = sv->base + off, .value = value, .size = size,
		.is_write = is_write,
	};

	if (off >= sv->size || size > sv->size - off)
		return 0;	/* outside the window: no such register */
	if (sim_access(sv->zone, SIM_NO_CPU, &io))
		return 0;
	return is_write ? 0 : io.value;
}

static u32 sv_read32(struct sim_vdev *sv, u32 off)
{
	return (u32)sv_io(sv, off, 4, false, 0);
}

static void sv_write32(struct sim_vdev *sv, u32 off, u32 value)
{
	sv_io(sv, off, 4, true, value);
}

static void sv_write64(struct sim_vdev *sv, u32 low, u64 value)
{
	sv_write32(sv, low, lower_32_bits(value));
	sv_write32(sv, low + 4, upper_32_bits(value));
}

/* Config space: 1/2/4-byte accesses, 8 as two 4-byte ones (virtio_mmio). */
static void sim_get(struct virtio_device *vdev, unsigned int offset,
		    void *buf, unsigned int len)
{
	struct sim_vdev *sv = to_sv(vdev);
	u32 off = VIRTIO_MMIO_CONFIG + offset;
	unsigned int i;
	__le32 l[2];
	__le16 w;
	u8 b;

	switch (len) {
	case 1:
		b = sv_io(sv, off, 1, false, 0);
		memcpy(buf, &b, sizeof(b));
		break;
	case 2:
		w = cpu_to_le16(sv_io(sv, off, 2, false, 0));
		memcpy(buf, &w, sizeof(w));
		break;
	case 4:
	case 8:
		l[0] = cpu_to_le32(sv_read32(sv, off));
		if (len == 8)
			l[1] = cpu_to_le32(sv_read32(sv, off + 4));
		memcpy(buf, l, len);
		break;
	default:
		for (i = 0; i < len; i++)
			((u8 *)buf)[i] = sv_io(sv, off + i, 1, false, 0);
	}
}

static void sim_set(struct virtio_device *vdev, unsigned int offset,
		    const void *buf, unsigned int len)
{
	struct sim_vdev *sv = to_sv(vdev);
	u32 off = VIRTIO_MMIO_CONFIG + offset, i;
	__le32 l[2];
	__le16 w;

	switch (len) {
	case 2:
		memcpy(&w, buf, sizeof(w));
		sv_io(sv, off, 2, true, le16_to_cpu(w));
		break;
	case 4:
	case 8:
		memcpy(l, buf, len);
		sv_write32(sv, off, le32_to_cpu(l[0]));
		if (len == 8)
			sv_write32(sv, off + 4, le32_to_cpu(l[1]));
		break;
	default:
		for (i = 0; i < len; i++)
			sv_io(sv, off + i, 1, true, ((const u8 *)buf)[i]);
	}
}

static u32 sim_generation(struct virtio_device *vdev)
{
	return sv_read32(to_sv(vdev), VIRTIO_MMIO_CONFIG_GENERATION);
}

static u8 sim_get_status(struct virtio_device *vdev)
{
	return sv_read32(to_sv(vdev), VIRTIO_MMIO_STATUS) & 0xff;
}

static void sim_set_status(struct virtio_device *vdev, u8 status)
{
	sv_write32(to_sv(vdev), VIRTIO_MMIO_STATUS, status);
}

static void sim_reset(struct virtio_device *vdev)
{
	/* 0 resets the device; the write completes once the backend did it */
	sv_write32(to_sv(vdev), VIRTIO_MMIO_STATUS, 0);
}

static u64 sim_get_features(struct virtio_device *vdev)
{
	struct sim_vdev *sv = to_sv(vdev);
	u64 f;

	sv_write32(sv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (u64)sv_read32(sv, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	sv_write32(sv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f |= sv_read32(sv, VIRTIO_MMIO_DEVICE_FEATURES);
	sv->dev_features = f;
	/* the driver must use the DMA API: its buffers are not zone RAM */
	return f | BIT_ULL(VIRTIO_F_ACCESS_PLATFORM);
}

static int sim_finalize_features(struct virtio_device *vdev)
{
	struct sim_vdev *sv = to_sv(vdev);
	u64 f;

	vring_transport_features(vdev);
	if (!__virtio_test_bit(vdev, VIRTIO_F_VERSION_1)) {
		dev_err(&vdev->dev, "virtio-mmio version 2 devices must offer VIRTIO_F_VERSION_1\n");
		return -EINVAL;
	}
	if (!__virtio_test_bit(vdev, VIRTIO_F_ACCESS_PLATFORM))
		return -EINVAL;
	f = vdev->features;
	/* ours, not the backend's, unless it offered it itself */
	if (!(sv->dev_features & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM)))
		f &= ~BIT_ULL(VIRTIO_F_ACCESS_PLATFORM);
	sv_write32(sv, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	sv_write32(sv, VIRTIO_MMIO_DRIVER_FEATURES, upper_32_bits(f));
	sv_write32(sv, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	sv_write32(sv, VIRTIO_MMIO_DRIVER_FEATURES, lower_32_bits(f));
	return 0;
}

/* A kick: post the notify now if possible, else from the kick work. */
static bool sim_vq_notify(struct virtqueue *vq)
{
	struct sim_vdev *sv = to_sv(vq->vdev);
	int ret;

	if (sv->notify_posted && !READ_ONCE(sv->zone->dead)) {
		ret = sim_notify_atomic(sv->zone,
					sv->base + VIRTIO_MMIO_QUEUE_NOTIFY,
					vq->index);
		if (ret != -EAGAIN && ret != -ESHUTDOWN)
			return !ret;	/* no bridge: the device is broken */
	}
	set_bit(vq->index, &sv->kick_pending);
	queue_work(sim_irq_wq, &sv->kick_work);
	return true;
}

static struct virtqueue *sim_setup_vq(struct sim_vdev *sv, unsigned int index,
				      vq_callback_t *callback,
				      const char *name, bool ctx)
{
	struct virtqueue *vq;
	u32 num;
	int ret;

	if (index >= SIM_MAX_VQS)
		return ERR_PTR(-ENOENT);
	sv_write32(sv, VIRTIO_MMIO_QUEUE_SEL, index);
	if (sv_read32(sv, VIRTIO_MMIO_QUEUE_READY))
		return ERR_PTR(-ENOENT);
	num = sv_read32(sv, VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (!num)
		return ERR_PTR(-ENOENT);
	vq = vring_create_virtqueue(index, num, SIM_VRING_ALIGN, &sv->vdev,
				    true, true, ctx, sim_vq_notify, callback,
				    name);
	if (!vq)
		return ERR_PTR(-ENOMEM);
	ret = sim_vq_init(&sv->vqs[index], vq);
	if (ret) {
		vring_del_virtqueue(vq);
		return ERR_PTR(ret);
	}
	sv_write32(sv, VIRTIO_MMIO_QUEUE_NUM, virtqueue_get_vring_size(vq));
	sv_write64(sv, VIRTIO_MMIO_QUEUE_DESC_LOW, virtqueue_get_desc_addr(vq));
	sv_write64(sv, VIRTIO_MMIO_QUEUE_AVAIL_LOW, virtqueue_get_avail_addr(vq));
	sv_write64(sv, VIRTIO_MMIO_QUEUE_USED_LOW, virtqueue_get_used_addr(vq));
	sv_write32(sv, VIRTIO_MMIO_QUEUE_READY, 1);
	return vq;
}

static void sim_del_vqs(struct virtio_device *vdev)
{
	struct sim_vdev *sv = to_sv(vdev);
	struct virtqueue *vq, *n;

	mutex_lock(&sv->vq_mutex);
	sv->vqs_active = false;
	mutex_unlock(&sv->vq_mutex);
	/* nothing may touch the queues once they are gone */
	cancel_work_sync(&sv->irq_work);
	cancel_work_sync(&sv->kick_work);
	sv->kick_pending = 0;
	list_for_each_entry_safe(vq, n, &vdev->vqs, list) {
		sv_write32(sv, VIRTIO_MMIO_QUEUE_SEL, vq->index);
		sv_write32(sv, VIRTIO_MMIO_QUEUE_READY, 0);
		if (sv_read32(sv, VIRTIO_MMIO_QUEUE_READY) &&
		    !READ_ONCE(sv->zone->dead))
			dev_warn(&vdev->dev, "queue %u stays ready after disabling it\n",
				 vq->index);
		if (vq->index < SIM_MAX_VQS)
			sim_vq_free(&sv->vqs[vq->index]);
		vring_del_virtqueue(vq);
	}
}

static int sim_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
			struct virtqueue *vqs[], vq_callback_t *callbacks[],
			const char * const names[], const bool *ctx,
			struct irq_affinity *desc)
{
	struct sim_vdev *sv = to_sv(vdev);
	unsigned int i, index = 0;

	for (i = 0; i < nvqs; i++) {
		if (!names[i]) {
			vqs[i] = NULL;
			continue;
		}
		vqs[i] = sim_setup_vq(sv, index++, callbacks[i], names[i],
				      ctx ? ctx[i] : false);
		if (IS_ERR(vqs[i])) {
			sim_del_vqs(vdev);
			return PTR_ERR(vqs[i]);
		}
	}
	mutex_lock(&sv->vq_mutex);
	sv->vqs_active = true;
	mutex_unlock(&sv->vq_mutex);
	return 0;
}

/* Callbacks run under vq_mutex: taking it waits for running ones. */
static void sim_synchronize_cbs(struct virtio_device *vdev)
{
	struct sim_vdev *sv = to_sv(vdev);

	mutex_lock(&sv->vq_mutex);
	mutex_unlock(&sv->vq_mutex);
}

static const char *sim_bus_name(struct virtio_device *vdev)
{
	return dev_name(vdev->dev.parent);
}

static const struct virtio_config_ops sim_vdev_config_ops = {
	.get = sim_get,
	.set = sim_set,
	.generation = sim_generation,
	.get_status = sim_get_status,
	.set_status = sim_set_status,
	.reset = sim_reset,
	.find_vqs = sim_find_vqs,
	.del_vqs = sim_del_vqs,
	.synchronize_cbs = sim_synchronize_cbs,
	.get_features = sim_get_features,
	.finalize_features = sim_finalize_features,
	.bus_name = sim_bus_name,
};

/* Run the vring callbacks (and the config one) as an interrupt would. */
static void sim_vdev_callbacks(struct sim_vdev *sv, u32 isr)
{
	unsigned long flags;
	unsigned int q;

	local_bh_disable();
	local_irq_save(flags);
	if (isr & VIRTIO_MMIO_INT_CONFIG)
		virtio_config_changed(&sv->vdev);
	for (q = 0; q < SIM_MAX_VQS && (isr & VIRTIO_MMIO_INT_VRING); q++)
		if (sv->vqs_active && sv->vqs[q].vq)
			vring_interrupt(0, sv->vqs[q].vq);
	local_irq_restore(flags);
	local_bh_enable();
}

/* FINISH_REQ delivered this device's IRQ: its interrupt handler. */
static void sim_vdev_irq_work(struct work_struct *work)
{
	struct sim_vdev *sv = container_of(work, struct sim_vdev, irq_work);
	unsigned int q;
	u32 isr;

	isr = sv_read32(sv, VIRTIO_MMIO_INTERRUPT_STATUS);
	if (!isr)
		return;		/* not ours (a shared line) or spurious */
	sv_write32(sv, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	mutex_lock(&sv->vq_mutex);
	for (q = 0; q < SIM_MAX_VQS && sv->vqs_active; q++)
		if (sv->vqs[q].vq)
			sim_vq_track(sv, &sv->vqs[q]);
	sim_vdev_callbacks(sv, isr);
	mutex_unlock(&sv->vq_mutex);
}

/*
 * The zone is gone: the device completes everything the driver is still
 * waiting for, with errors, so that the driver can be removed.
 */
static void sim_vdev_abort(struct sim_vdev *sv)
{
	unsigned int q;

	mutex_lock(&sv->vq_mutex);
	for (q = 0; q < SIM_MAX_VQS && sv->vqs_active; q++)
		if (sv->vqs[q].vq)
			sim_vq_abort(sv, &sv->vqs[q]);
	if (sv->vqs_active)
		sim_vdev_callbacks(sv, VIRTIO_MMIO_INT_VRING);
	mutex_unlock(&sv->vq_mutex);
}

/* Deferred kicks, and the dead device's completions. */
static void sim_vdev_kick_work(struct work_struct *work)
{
	struct sim_vdev *sv = container_of(work, struct sim_vdev, kick_work);
	unsigned int q;

	for (q = 0; q < SIM_MAX_VQS && !READ_ONCE(sv->zone->dead); q++)
		if (test_and_clear_bit(q, &sv->kick_pending))
			sv_write32(sv, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	if (READ_ONCE(sv->zone->dead)) {
		sv->kick_pending = 0;
		sim_vdev_abort(sv);
	}
}

/* SHUTDOWN_ZONE (atomic): let the device finish what the driver awaits. */
void sim_vdev_kill(struct sim_vdev *sv)
{
	queue_work(sim_irq_wq, &sv->kick_work);
}

static void sim_vdev_release(struct device *dev)
{
	struct sim_vdev *sv = to_sv(dev_to_virtio(dev));

	sim_zone_put(sv->zone);
	kfree(sv);
}

/* What a guest's virtio_mmio probe checks: magic, version 2, device id. */
static int sim_vdev_probe(struct sim_vdev *sv)
{
	u32 magic, version, id;

	magic = sv_read32(sv, VIRTIO_MMIO_MAGIC_VALUE);
	if (magic != SIM_MMIO_MAGIC) {
		pr_info("zone %u: no virtio-mmio device at 0x%llx (magic 0x%08x)\n",
			sv->zone->id, sv->base, magic);
		return -ENODEV;
	}
	version = sv_read32(sv, VIRTIO_MMIO_VERSION);
	if (version != 2) {
		pr_err("zone %u: device at 0x%llx is virtio-mmio version %u; only 2 is supported\n",
		       sv->zone->id, sv->base, version);
		return -ENXIO;
	}
	id = sv_read32(sv, VIRTIO_MMIO_DEVICE_ID);
	if (!id) {
		pr_info("zone %u: no device behind 0x%llx (device id 0)\n",
			sv->zone->id, sv->base);
		return -ENODEV;
	}
	sv->vdev.id.device = id;
	sv->vdev.id.vendor = sv_read32(sv, VIRTIO_MMIO_VENDOR_ID);
	return 0;
}

static struct sim_vdev *sim_vdev_alloc(struct sim_zone *z,
				       const struct sim_devspec *s)
{
	const struct hv_cfg_memory_region *r;
	struct sim_vdev *sv = kzalloc(sizeof(*sv), GFP_KERNEL);

	if (!sv)
		return NULL;
	kref_get(&z->ref);
	sv->zone = z;
	sv->base = s->base;
	sv->size = s->size;
	sv->irq = s->irq;
	/* hvisor posts only QueueNotify at +0x50 from the region's start */
	r = sim_zone_virtio_region(z, s->base, s->size);
	sv->notify_posted = r && r->physical_start == s->base;
	mutex_init(&sv->vq_mutex);
	INIT_LIST_HEAD(&sv->link);
	INIT_WORK(&sv->irq_work, sim_vdev_irq_work);
	INIT_WORK(&sv->kick_work, sim_vdev_kick_work);
	sv->vdev.dev.parent = sim_dma_device(z->dma);
	sv->vdev.dev.release = sim_vdev_release;
	sv->vdev.config = &sim_vdev_config_ops;
	/* a config interrupt may beat register_virtio_device()'s own init */
	spin_lock_init(&sv->vdev.config_lock);
	return sv;
}

static void sim_vdev_unlist(struct sim_vdev *sv)
{
	unsigned long flags;

	spin_lock_irqsave(&sv->zone->lock, flags);
	list_del_init(&sv->link);
	spin_unlock_irqrestore(&sv->zone->lock, flags);
	cancel_work_sync(&sv->irq_work);
	cancel_work_sync(&sv->kick_work);
}

int sim_vdev_create(struct sim_zone *z, const struct sim_devspec *s)
{
	struct sim_vdev *sv = sim_vdev_alloc(z, s);
	unsigned long flags;
	int ret;

	if (!sv)
		return -ENOMEM;
	ret = sim_vdev_probe(sv);
	if (ret) {
		sim_zone_put(z);
		kfree(sv);
		return ret;
	}
	/* listed first: FINISH_REQ must find it while the driver probes */
	spin_lock_irqsave(&z->lock, flags);
	list_add_tail(&sv->link, &z->vdevs);
	spin_unlock_irqrestore(&z->lock, flags);
	ret = register_virtio_device(&sv->vdev);
	if (ret) {
		pr_err("zone %u: cannot register the device at 0x%llx: %d\n",
		       z->id, s->base, ret);
		sim_vdev_unlist(sv);
		put_device(&sv->vdev.dev);
		return ret;
	}
	dev_info(&sv->vdev.dev, "zone %u: virtio device %u at 0x%llx+0x%llx, IRQ %u, notify %s\n",
		 z->id, sv->vdev.id.device, s->base, s->size, s->irq,
		 sv->notify_posted ? "posted" : "stalled");
	return 0;
}

/* Zone teardown (process context, the zone is dead). */
void sim_vdev_destroy(struct sim_vdev *sv)
{
	sim_vdev_abort(sv);
	get_device(&sv->vdev.dev);
	unregister_virtio_device(&sv->vdev);
	cancel_work_sync(&sv->irq_work);
	cancel_work_sync(&sv->kick_work);
	put_device(&sv->vdev.dev);
}
