// SPDX-License-Identifier: GPL-2.0-only
/* virtio-mmio version 2 register model shared by all devices; mmio.h has
 * the rules. Every value written by the guest is checked here or when the
 * queue is enabled; nothing the guest writes can make us index out of
 * bounds or reach a device model in an unexpected state. */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "mmio.h"
#include "util.h"

static void log_limited_v(struct ratelimit *rl, int prio, const char *who, const char *fmt,
			  va_list ap) _printf_(4, 0);
static void log_limited_v(struct ratelimit *rl, int prio, const char *who, const char *fmt,
			  va_list ap)
{
	char buf[256];
	unsigned held;

	if (!ratelimit_pass(rl, now_usec()))
		return;
	held = ratelimit_take(rl);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (held)
		log_msg(prio, "%s: %s (%u lines before it not logged: at most %u a minute)", who,
			buf, held, VIRTIO_LOG_BURST);
	else
		log_msg(prio, "%s: %s", who, buf);
}

void virtio_log_limited(struct ratelimit *rl, int prio, const char *who, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_limited_v(rl, prio, who, fmt, ap);
	va_end(ap);
}

void virtio_dev_complain(struct virtio_dev *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_limited_v(&d->log_rl, LOG_WARNING, d->name, fmt, ap);
	va_end(ap);
}

static void state_clear(struct virtio_dev *d)
{
	*d->st = (struct virtio_mmio_state){
		.magic = VIRTIO_STATE_MAGIC,
		.device_id = d->device_id,
		.base = d->base,
	};
}

void virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops, void *priv,
		     uint32_t device_id, const struct vdev_params *p, uint64_t features,
		     unsigned num_queues, uint16_t queue_max, uint32_t config_size)
{
	d->ops = ops;
	d->priv = priv;
	d->device_id = device_id;
	d->base = p->base;
	d->len = p->len;
	d->irq = p->irq;
	d->host_features = features | (UINT64_C(1) << VIRTIO_F_VERSION_1);
	d->num_queues = MIN(num_queues, (unsigned)VIRTIO_MAX_QUEUES);
	d->queue_max = MIN(queue_max, (uint16_t)VIRTQ_MAX_SIZE);
	d->config_size = MIN(config_size, (uint32_t)VIRTIO_CONFIG_MAX);
	d->mem = p->mem;
	d->st = p->state;
	d->raise_irq = p->raise_irq;
	d->irq_ctx = p->irq_ctx;
	d->log_rl = (struct ratelimit)RATELIMIT_INIT(VIRTIO_LOG_INTERVAL_USEC, VIRTIO_LOG_BURST);
	snprintf(d->name, sizeof(d->name), "%s@0x%llx", ops->name, (unsigned long long)p->base);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		d->vq[q] = (struct virtq){0};
		d->vq[q].num_max = q < d->num_queues ? d->queue_max : 0;
	}
	/* A saved state of this very device stays for virtio_dev_restore(). */
	if (d->st->magic != VIRTIO_STATE_MAGIC || d->st->device_id != device_id ||
	    d->st->base != p->base)
		state_clear(d);
}

static void raise(struct virtio_dev *d, uint32_t bit)
{
	/* While the bit is still set the driver has not acknowledged the
	 * previous interrupt; it reads the rings after its ACK, so it will see
	 * what we add now. Re-raising would only cost it an interrupt. */
	if (d->st->int_status & bit)
		return;
	d->st->int_status |= bit;
	d->n_interrupts++;
	if (d->raise_irq)
		d->raise_irq(d->irq_ctx, d->irq);
}

void virtio_dev_used(struct virtio_dev *d, unsigned q)
{
	if (q >= d->num_queues)
		return;
	virtq_publish(&d->vq[q]);
	if (virtq_should_interrupt(&d->vq[q]))
		raise(d, VIRTIO_MMIO_INT_VRING);
}

int virtio_dev_pop(struct virtio_dev *d, unsigned q, struct virtq_elem **ret)
{
	char why[64];
	int r = virtq_pop(&d->vq[q], ret);

	if (r < 0) {
		snprintf(why, sizeof(why), "queue %u: %s", q,
			 r == -EFAULT ? "ring corrupt" : strerror(-r));
		virtio_dev_fail(d, why);
	}
	return r;
}

void virtio_dev_config_changed(struct virtio_dev *d)
{
	d->st->config_generation++;
	if (d->st->status & VIRTIO_CONFIG_S_DRIVER_OK)
		raise(d, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_dev_fail(struct virtio_dev *d, const char *why)
{
	if (d->needs_reset)
		return;
	log_warn("%s: %s; device needs a reset by the guest", d->name, why);
	d->needs_reset = true;
	d->n_errors++;
	for (unsigned q = 0; q < d->num_queues; q++)
		d->vq[q].broken = true;
	d->st->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (d->st->status & VIRTIO_CONFIG_S_DRIVER_OK)
		raise(d, VIRTIO_MMIO_INT_CONFIG);
}

static void device_reset(struct virtio_dev *d)
{
	if (d->ops->reset)
		d->ops->reset(d);
	for (unsigned q = 0; q < d->num_queues; q++)
		virtq_reset(&d->vq[q]);
	d->needs_reset = false;
	state_clear(d);
}

static int accept_features(struct virtio_dev *d, uint64_t f)
{
	if (f & ~d->host_features) {
		virtio_dev_error(d, "driver features 0x%llx not all offered (0x%llx)",
				 (unsigned long long)f, (unsigned long long)d->host_features);
		return -EINVAL;
	}
	if (!(f & (UINT64_C(1) << VIRTIO_F_VERSION_1))) {
		virtio_dev_error(
			d, "driver did not accept VERSION_1 (legacy drivers are not supported)");
		return -EINVAL;
	}
	if (d->ops->features_ok && d->ops->features_ok(d, f) < 0)
		return -EINVAL;
	return 0;
}

static int enable_queue(struct virtio_dev *d, unsigned q, bool resume)
{
	struct virtq *vq = &d->vq[q];
	bool event_idx = virtio_dev_has(d, VIRTIO_RING_F_EVENT_IDX);
	bool indirect = virtio_dev_has(d, VIRTIO_RING_F_INDIRECT_DESC);

	if (d->st->q[q].num > UINT16_MAX)
		return -EINVAL;
	vq->num = (uint16_t)d->st->q[q].num;
	vq->desc_gpa = d->st->q[q].desc;
	vq->avail_gpa = d->st->q[q].avail;
	vq->used_gpa = d->st->q[q].used;
	vq->ps = &d->st->q[q].ring;
	return resume ? virtq_resume(vq, d->mem, event_idx, indirect)
		      : virtq_enable(vq, d->mem, event_idx, indirect);
}

static void write_status(struct virtio_dev *d, uint32_t v)
{
	uint32_t old = d->st->status, set;

	if (v == 0) {
		device_reset(d);
		return;
	}
	/* Only the device clears bits (by a reset); NEEDS_RESET is ours. */
	if (old & ~v & ~VIRTIO_CONFIG_S_NEEDS_RESET)
		virtio_dev_error(d, "status 0x%x clears bits of 0x%x; ignored", v, old);
	v = (v | old) & ~VIRTIO_CONFIG_S_NEEDS_RESET;
	v |= old & VIRTIO_CONFIG_S_NEEDS_RESET;
	set = v & ~old;
	if (set & VIRTIO_CONFIG_S_FEATURES_OK) {
		if (accept_features(d, d->st->driver_features) < 0)
			v &= ~VIRTIO_CONFIG_S_FEATURES_OK; /* the driver reads it back */
	}
	if ((set & VIRTIO_CONFIG_S_DRIVER_OK) && !(v & VIRTIO_CONFIG_S_FEATURES_OK)) {
		virtio_dev_error(d, "DRIVER_OK without FEATURES_OK; ignored");
		v &= ~VIRTIO_CONFIG_S_DRIVER_OK;
		set &= ~VIRTIO_CONFIG_S_DRIVER_OK;
	}
	d->st->status = v;
	if ((set & VIRTIO_CONFIG_S_DRIVER_OK) && !d->needs_reset && d->ops->driver_ok)
		d->ops->driver_ok(d);
}

static void set_half(uint64_t *v, bool high, uint32_t half)
{
	if (high)
		*v = (*v & 0xffffffffu) | ((uint64_t)half << 32);
	else
		*v = (*v & ~(uint64_t)0xffffffffu) | half;
}

static void write_queue_reg(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	unsigned q = d->st->queue_sel;

	if (q >= d->num_queues) {
		virtio_dev_error(d, "queue register 0x%llx written for queue %u (has %u)",
				 (unsigned long long)off, q, d->num_queues);
		return;
	}
	if (off == VIRTIO_MMIO_QUEUE_READY) {
		if (v == 1 && !d->st->q[q].ready) {
			if (enable_queue(d, q, false) < 0) {
				virtq_reset(&d->vq[q]);
				virtio_dev_fail(
					d, "queue enabled with an invalid size or ring address");
				return;
			}
			d->st->q[q].ready = 1;
		} else if (v == 0 && d->st->q[q].ready) {
			d->st->q[q].ready = 0;
			virtq_reset(&d->vq[q]);
		}
		return;
	}
	/* A queue's layout is frozen while it is in use. */
	if (d->st->q[q].ready) {
		virtio_dev_error(d, "queue %u reconfigured while ready; ignored", q);
		return;
	}
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		d->st->q[q].num = v; /* checked when the queue is enabled */
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_half(&d->st->q[q].desc, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		set_half(&d->st->q[q].avail, off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		set_half(&d->st->q[q].used, off == VIRTIO_MMIO_QUEUE_USED_HIGH, v);
		break;
	}
}

static uint64_t mask(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (8 * size)) - 1;
}

uint64_t virtio_mmio_read(struct virtio_dev *d, uint64_t offset, unsigned size)
{
	struct virtio_mmio_state *st = d->st;
	uint32_t v = 0;

	if (!virtio_mmio_size_ok(size))
		return 0;
	if (offset >= VIRTIO_MMIO_CONFIG) {
		uint64_t off = offset - VIRTIO_MMIO_CONFIG;
		uint64_t val = 0;

		if (off >= d->config_size || size > d->config_size - off)
			return 0; /* nothing beyond the device's config */
		memcpy(&val, d->config + off, size);
		return le64toh(val) & mask(size);
	}
	if (size != 4) {
		virtio_dev_error(d, "%u-byte read of register 0x%llx", size,
				 (unsigned long long)offset);
		return 0;
	}
	switch (offset) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		v = VIRTIO_MMIO_MAGIC;
		break;
	case VIRTIO_MMIO_VERSION:
		v = VIRTIO_MMIO_VERSION_2;
		break;
	case VIRTIO_MMIO_DEVICE_ID:
		v = d->device_id;
		break;
	case VIRTIO_MMIO_VENDOR_ID:
		v = VIRTIO_VENDOR_HVISOR;
		break;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (st->dev_features_sel == 0)
			v = (uint32_t)d->host_features;
		else if (st->dev_features_sel == 1)
			v = (uint32_t)(d->host_features >> 32);
		break;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		v = st->queue_sel < d->num_queues ? d->queue_max : 0;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		v = st->queue_sel < d->num_queues ? st->q[st->queue_sel].ready : 0;
		break;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		v = st->int_status; /* no side effect */
		break;
	case VIRTIO_MMIO_STATUS:
		v = st->status;
		break;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		v = st->config_generation;
		break;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		v = UINT32_MAX; /* no shared memory regions */
		break;
	default:
		/* write-only, legacy or unknown: 0 */
		break;
	}
	return v;
}

void virtio_mmio_write(struct virtio_dev *d, uint64_t offset, unsigned size, uint64_t value)
{
	struct virtio_mmio_state *st = d->st;
	uint32_t v;

	if (!virtio_mmio_size_ok(size))
		return;
	value &= mask(size);
	v = (uint32_t)value;
	if (offset >= VIRTIO_MMIO_CONFIG) {
		uint64_t off = offset - VIRTIO_MMIO_CONFIG;
		uint64_t val = htole64(value);

		if (off >= d->config_size || size > d->config_size - off) {
			virtio_dev_error(d, "config write beyond its %u bytes", d->config_size);
			return;
		}
		if (d->ops->config_write && d->ops->config_write(d, (uint32_t)off, &val, size) == 0)
			memcpy(d->config + off, &val, size);
		return;
	}
	if (size != 4) {
		virtio_dev_error(d, "%u-byte write of register 0x%llx", size,
				 (unsigned long long)offset);
		return;
	}
	switch (offset) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		st->dev_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (st->status & VIRTIO_CONFIG_S_FEATURES_OK)
			virtio_dev_error(d, "features written after FEATURES_OK; ignored");
		else if (st->drv_features_sel <= 1)
			set_half(&st->driver_features, st->drv_features_sel == 1, v);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		st->drv_features_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		st->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_READY:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		write_queue_reg(d, offset, v);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		d->n_notifies++;
		if (v >= d->num_queues) {
			virtio_dev_error(d, "notify of queue %u (has %u)", v, d->num_queues);
			break;
		}
		if (!d->vq[v].ready || d->vq[v].broken)
			break;
		if (d->ops->queue_notify)
			d->ops->queue_notify(d, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		st->int_status &= ~v;
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(d, v);
		break;
	default:
		virtio_dev_error(d, "write of read-only or unknown register 0x%llx",
				 (unsigned long long)offset);
		break;
	}
}

int virtio_dev_restore(struct virtio_dev *d)
{
	struct virtio_mmio_state *st = d->st;
	const uint32_t known = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
			       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK |
			       VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED;
	bool configured;

	if (st->status == 0)
		return 0; /* nothing was configured: a fresh device */
	configured = st->status & ~VIRTIO_CONFIG_S_ACKNOWLEDGE;
	/* The saved state is checked like guest input: it was written by a
	 * process that crashed. */
	if ((st->status & ~known) || (st->int_status & ~3u))
		goto invalid;
	if ((st->status & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    accept_features(d, st->driver_features) < 0)
		goto invalid;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (!st->q[q].ready)
			continue;
		if (q >= d->num_queues || st->q[q].ready != 1 || enable_queue(d, q, true) < 0)
			goto invalid;
	}
	if (st->status & VIRTIO_CONFIG_S_NEEDS_RESET) {
		d->needs_reset = true;
		for (unsigned q = 0; q < d->num_queues; q++)
			d->vq[q].broken = true;
	}
	log_info("%s: restored (status 0x%x, features 0x%llx)", d->name, st->status,
		 (unsigned long long)st->driver_features);
	if (virtio_dev_running(d)) {
		/* The guest may have missed an interrupt while no backend ran:
		 * one the dead process never sent, or one whose InterruptStatus
		 * it read as 0 meanwhile (reads are answered 0 then), which
		 * leaves the saved bit set, and a set bit sends no more. So one
		 * now, set bit or not: a spurious one only costs it a look. */
		st->int_status &= ~(uint32_t)VIRTIO_MMIO_INT_VRING;
		raise(d, VIRTIO_MMIO_INT_VRING);
		if (d->ops->resumed)
			d->ops->resumed(d);
	}
	return 1;

invalid:
	for (unsigned q = 0; q < d->num_queues; q++)
		virtq_reset(&d->vq[q]);
	state_clear(d);
	if (configured) {
		/* the driver believes the device is set up: tell it it is not */
		d->st->status = VIRTIO_CONFIG_S_NEEDS_RESET;
		d->needs_reset = true;
	}
	log_warn("%s: saved device state is inconsistent; starting from reset", d->name);
	return -EINVAL;
}
