// SPDX-License-Identifier: GPL-2.0-only
/* The fake virtio-mmio device of the libhvguest tests (fakedev.h). */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "fakedev.h"
#include "util.h"

#define FAKE_MAX_SEGS 512

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool writable;
};

void fake_init(struct fakedev *d, uint32_t device_id, uint64_t features)
{
	memset(d, 0, sizeof(*d));
	d->magic = 0x74726976;
	d->version = 2;
	d->device_id = device_id;
	d->vendor = 0x48564953;
	d->features = features | (UINT64_C(1) << VIRTIO_F_VERSION_1);
	d->num_max = 256;
	d->n_queues = 2;
	d->mode = FAKE_MARK_USED;
	d->chan = d->mem = -1;
	d->first_address = UINT64_MAX;
	pthread_mutex_init(&d->lock, NULL);
}

void fake_lock(struct fakedev *d)
{
	pthread_mutex_lock(&d->lock);
}

void fake_unlock(struct fakedev *d)
{
	pthread_mutex_unlock(&d->lock);
}

void *fake_host(struct fakedev *d, uint64_t gpa, uint64_t len)
{
	if (gpa >= GZ_RAM && gpa - GZ_RAM <= GZ_RAM_SIZE && len <= GZ_RAM_SIZE - (gpa - GZ_RAM))
		return d->ram + (gpa - GZ_RAM);
	return NULL;
}

/* --- queues ------------------------------------------------------------------------ */

static void send_irq(struct fakedev *d, uint32_t irq)
{
	struct hvisor_iocomp c = {.type = HVISOR_IOCOMP_IRQ, .value = irq};

	if (send(d->chan, &c, sizeof(c), MSG_NOSIGNAL) == (ssize_t)sizeof(c))
		d->irqs_sent++;
}

/* Walks a chain (direct or one indirect table); -1 if it is malformed. */
static int walk(struct fakedev *d, struct fake_queue *q, uint16_t head, struct seg *segs,
		struct fake_chain *info)
{
	const struct vring_desc *table = fake_host(d, q->desc, 16 * (uint64_t)q->num);
	uint32_t tsize = q->num;
	unsigned n = 0;
	uint16_t i = head;

	memset(info, 0, sizeof(*info));
	info->head = head;
	if (!table || head >= q->num)
		return -1;
	if (le16toh(table[head].flags) & VRING_DESC_F_INDIRECT) {
		uint32_t len = le32toh(table[head].len);

		table = fake_host(d, le64toh(table[head].addr), len);
		if (!table || len == 0 || len % 16)
			return -1;
		tsize = len / 16;
		i = 0;
		info->indirect = true;
	}
	for (;;) {
		struct vring_desc dd;

		if (i >= tsize || n >= FAKE_MAX_SEGS)
			return -1;
		dd = table[i];
		segs[n].gpa = le64toh(dd.addr);
		segs[n].len = le32toh(dd.len);
		segs[n].writable = le16toh(dd.flags) & VRING_DESC_F_WRITE;
		if (segs[n].writable)
			info->writable += segs[n].len;
		else
			info->readable += segs[n].len;
		n++;
		if (!(le16toh(dd.flags) & VRING_DESC_F_NEXT))
			break;
		i = le16toh(dd.next);
	}
	info->ndesc = n;
	return (int)n;
}

static uint32_t do_mark_used(struct fakedev *d, struct seg *segs, int n)
{
	uint32_t total = 0;

	for (int i = 0; i < n; i++) {
		uint8_t *p = segs[i].writable ? fake_host(d, segs[i].gpa, segs[i].len) : NULL;

		if (p) {
			memset(p, FAKE_FILL, segs[i].len);
			total += segs[i].len;
		}
	}
	return total;
}

static uint32_t do_blk(struct fakedev *d, struct seg *segs, int n)
{
	struct virtio_blk_outhdr h;
	uint8_t *hp, *status;
	uint8_t st = VIRTIO_BLK_S_OK;
	uint64_t sector, off;
	uint32_t written = 0;

	if (n < 2 || segs[0].writable || segs[0].len < 16 || !segs[n - 1].writable ||
	    segs[n - 1].len < 1)
		return 0;
	hp = fake_host(d, segs[0].gpa, 16);
	status = fake_host(d, segs[n - 1].gpa + segs[n - 1].len - 1, 1);
	if (!hp || !status)
		return 0;
	memcpy(&h, hp, 16);
	sector = le64toh(h.sector);
	off = sector * 512;
	switch (le32toh(h.type)) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT: {
		bool in = le32toh(h.type) == VIRTIO_BLK_T_IN;

		if (!in && (d->features & (UINT64_C(1) << VIRTIO_BLK_F_RO))) {
			st = VIRTIO_BLK_S_IOERR;
			break;
		}
		for (int i = 1; i < n - 1; i++) {
			uint8_t *p = fake_host(d, segs[i].gpa, segs[i].len);

			if (!p || segs[i].writable != in || sector > d->disk_sectors ||
			    off + segs[i].len > d->disk_sectors * 512) {
				st = VIRTIO_BLK_S_IOERR;
				break;
			}
			if (in) {
				memcpy(p, d->disk + off, segs[i].len);
				if (d->corrupt_reads && segs[i].len)
					p[0] ^= 1;
				written += segs[i].len;
			} else {
				memcpy(d->disk + off, p, segs[i].len);
			}
			off += segs[i].len;
		}
		break;
	}
	case VIRTIO_BLK_T_FLUSH:
		break;
	case VIRTIO_BLK_T_GET_ID:
		if (n >= 3 && segs[1].writable) {
			uint8_t *p = fake_host(d, segs[1].gpa, MIN(segs[1].len, 20u));

			if (p) {
				memcpy(p, d->serial, MIN(segs[1].len, 20u));
				written += MIN(segs[1].len, 20u);
			}
		}
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	*status = st;
	return written + 1;
}

/* Gathers the readable bytes of a chain into buf (at most cap). */
static size_t gather(struct fakedev *d, struct seg *segs, int n, uint8_t *buf, size_t cap)
{
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		uint8_t *p = segs[i].writable ? NULL : fake_host(d, segs[i].gpa, segs[i].len);

		if (!p)
			continue;
		if (len + segs[i].len > cap)
			return SIZE_MAX;
		memcpy(buf + len, p, segs[i].len);
		len += segs[i].len;
	}
	return len;
}

/* net: keeps the header and length of the last frame, and the first frames */
static void stream_tx(struct fakedev *d, struct seg *segs, int n)
{
	static uint8_t buf[1 << 17];
	size_t len = gather(d, segs, n, buf, sizeof(buf));

	if (len == SIZE_MAX || len < 12)
		return;
	memcpy(d->last_tx_hdr, buf, 12);
	d->last_tx_len = len;
	if (len - 12 <= FAKE_FRAME_MAX && d->n_tx_frames < FAKE_MAX_FRAMES) {
		struct fake_frame *f = &d->tx_frames[d->n_tx_frames++];

		f->len = len - 12;
		memcpy(f->data, buf + 12, f->len);
	}
}

/* Scatters up to len bytes into the writable segments; returns the count. */
static uint32_t scatter(struct fakedev *d, struct seg *segs, int n, const uint8_t *src, size_t len)
{
	uint32_t done = 0;

	for (int i = 0; i < n && done < len; i++) {
		uint32_t k = (uint32_t)MIN((size_t)segs[i].len, len - done);
		uint8_t *p = segs[i].writable ? fake_host(d, segs[i].gpa, k) : NULL;

		if (!p)
			continue;
		memcpy(p, src + done, k);
		done += k;
	}
	return done;
}

/* One frame per chain: [u16 len][frame] -> header + frame; or, split, the
 * header and the first half, then the rest. 1 when a chain was consumed. */
static int stream_rx(struct fakedev *d, struct seg *segs, int n, struct fake_chain *info,
		     uint32_t *used_len)
{
	static uint8_t buf[12 + FAKE_FRAME_MAX];
	struct virtio_net_hdr_v1 h = {.num_buffers = htole16(1)};
	size_t flen = (size_t)d->rx_pending[0] | (size_t)d->rx_pending[1] << 8;
	bool split = d->split_rx && (d->driver_features & (UINT64_C(1) << VIRTIO_NET_F_MRG_RXBUF));
	size_t first = flen;

	if (d->rx_second) {
		/* the rest of a split frame */
		size_t off = 2 + flen - d->rx_second;

		*used_len = scatter(d, segs, n, d->rx_pending + off, d->rx_second);
		d->rx_second = 0;
	} else {
		if (split && flen >= 2) {
			first = flen / 2;
			h.num_buffers = htole16(2);
		}
		memcpy(buf, &h, 12);
		memcpy(buf + 12, d->rx_pending + 2, first);
		*used_len = info->writable >= 12 + first ? scatter(d, segs, n, buf, 12 + first) : 0;
		if (first < flen) {
			d->rx_second = (unsigned)(flen - first);
			return 1;
		}
	}
	memmove(d->rx_pending, d->rx_pending + 2 + flen, d->rx_len - 2 - flen);
	d->rx_len -= 2 + flen;
	return 1;
}

static void run_queue_locked(struct fakedev *d, unsigned qi)
{
	static struct seg segs[FAKE_MAX_SEGS];
	struct fake_queue *q;
	uint16_t *avail, *used16, avail_idx, old_used;
	struct vring_used_elem *used_ring;
	bool event_idx = d->driver_features & (UINT64_C(1) << VIRTIO_RING_F_EVENT_IDX);
	bool irq;

	if (qi >= d->n_queues || !d->q[qi].ready)
		return;
	q = &d->q[qi];
	avail = fake_host(d, q->avail, 6 + 2 * (uint64_t)q->num);
	used16 = fake_host(d, q->used, 6 + 8 * (uint64_t)q->num);
	if (!avail || !used16 || !q->num)
		return;
	used_ring = (struct vring_used_elem *)(used16 + 2);
	old_used = q->used_idx;
again:
	avail_idx = le16toh(__atomic_load_n(&avail[1], __ATOMIC_ACQUIRE));
	while (q->last_avail != avail_idx) {
		uint16_t head = le16toh(avail[2 + q->last_avail % q->num]);
		struct fake_chain info;
		uint32_t len = 0;
		int n = walk(d, q, head, segs, &info);

		if (n < 0) {
			d->bad_chains++;
			q->last_avail++;
			continue;
		}
		if (d->mode == FAKE_STREAM && qi == 0 && d->rx_len == 0)
			break; /* nothing to receive: keep the buffer */
		d->last_chain = info;
		d->chains++;
		switch (d->mode) {
		case FAKE_MARK_USED:
			len = do_mark_used(d, segs, n);
			break;
		case FAKE_BLK:
			len = do_blk(d, segs, n);
			break;
		case FAKE_STREAM:
			if (qi == 1)
				stream_tx(d, segs, n);
			else
				stream_rx(d, segs, n, &info, &len);
			break;
		case FAKE_MANUAL:
			len = info.writable;
			break;
		}
		used_ring[q->used_idx % q->num].id = htole32(head);
		used_ring[q->used_idx % q->num].len = htole32(len);
		q->used_idx++;
		q->last_avail++;
	}
	__atomic_store_n(&used16[1], htole16(q->used_idx), __ATOMIC_RELEASE);
	if (event_idx) {
		/* kick me for the next one; then look again, or an entry the
		 * driver published before it saw this is never noticed */
		__atomic_store_n((uint16_t *)&used_ring[q->num], htole16(q->last_avail),
				 __ATOMIC_RELEASE);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (d->mode != FAKE_MANUAL && !(d->mode == FAKE_STREAM && qi == 0) &&
		    le16toh(__atomic_load_n(&avail[1], __ATOMIC_ACQUIRE)) != q->last_avail)
			goto again;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->used_idx == old_used)
		return;
	if (event_idx)
		irq = vring_need_event(le16toh(avail[2 + q->num]), q->used_idx, old_used);
	else
		irq = !(le16toh(avail[0]) & VRING_AVAIL_F_NO_INTERRUPT);
	if (irq) {
		d->isr |= VIRTIO_MMIO_INT_VRING;
		send_irq(d, GZ_IRQ);
	}
}

void fake_run_queue(struct fakedev *d, unsigned q)
{
	fake_lock(d);
	run_queue_locked(d, q);
	fake_unlock(d);
}

void fake_raise(struct fakedev *d, uint32_t isr, uint32_t irq)
{
	fake_lock(d);
	d->isr |= isr;
	send_irq(d, irq);
	fake_unlock(d);
}

void fake_inject(struct fakedev *d, const void *data, size_t len)
{
	size_t need;

	fake_lock(d);
	need = d->rx_len + len + 2;
	if (need > d->rx_cap) {
		uint8_t *p = realloc(d->rx_pending, need * 2);

		assert_non_null(p);
		d->rx_pending = p;
		d->rx_cap = need * 2;
	}
	d->rx_pending[d->rx_len++] = (uint8_t)len;
	d->rx_pending[d->rx_len++] = (uint8_t)(len >> 8);
	memcpy(d->rx_pending + d->rx_len, data, len);
	d->rx_len += len;
	run_queue_locked(d, 0);
	fake_unlock(d);
}

bool fake_wait(struct fakedev *d, bool (*cond)(struct fakedev *d, void *arg), void *arg,
	       int timeout_ms)
{
	for (int waited = 0;; waited += 2) {
		bool ok;

		fake_lock(d);
		ok = cond(d, arg);
		fake_unlock(d);
		if (ok)
			return true;
		if (waited >= timeout_ms)
			return false;
		nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
	}
}

/* --- registers ----------------------------------------------------------------------- */

static void reset_locked(struct fakedev *d)
{
	d->status = 0;
	d->driver_features = 0;
	d->isr = 0;
	d->dev_sel = d->drv_sel = d->queue_sel = 0;
	memset(d->q, 0, sizeof(d->q));
	d->resets++;
}

static uint64_t reg_read(struct fakedev *d, uint64_t off, unsigned size)
{
	struct fake_queue *q = d->queue_sel < d->n_queues ? &d->q[d->queue_sel] : NULL;

	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t v = 0;

		d->config_sizes |= 1u << size;
		for (unsigned i = 0; i < size; i++)
			if (off - VIRTIO_MMIO_CONFIG + i < d->config_len)
				v |= (uint64_t)d->config[off - VIRTIO_MMIO_CONFIG + i] << (8 * i);
		return v;
	}
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return d->magic;
	case VIRTIO_MMIO_VERSION:
		return d->version;
	case VIRTIO_MMIO_DEVICE_ID:
		return d->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return d->vendor;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return d->dev_sel == 0	 ? (uint32_t)d->features
		       : d->dev_sel == 1 ? (uint32_t)(d->features >> 32)
					 : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? d->num_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return d->isr;
	case VIRTIO_MMIO_STATUS:
		return d->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return 0;
	default:
		return 0;
	}
}

static void set_half(uint64_t *v, bool high, uint32_t x)
{
	if (high)
		*v = (*v & 0xffffffffu) | (uint64_t)x << 32;
	else
		*v = (*v & ~UINT64_C(0xffffffff)) | x;
}

static void reg_write(struct fakedev *d, uint64_t off, unsigned size, uint64_t v)
{
	struct fake_queue *q = d->queue_sel < d->n_queues ? &d->q[d->queue_sel] : NULL;

	if (off >= VIRTIO_MMIO_CONFIG) {
		d->config_sizes |= 1u << size;
		for (unsigned i = 0; i < size; i++)
			if (off - VIRTIO_MMIO_CONFIG + i < d->config_len)
				d->config[off - VIRTIO_MMIO_CONFIG + i] = (uint8_t)(v >> (8 * i));
		return;
	}
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		d->dev_sel = (uint32_t)v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (d->drv_sel < 2)
			set_half(&d->driver_features, d->drv_sel == 1, (uint32_t)v);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		d->drv_sel = (uint32_t)v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		d->queue_sel = (uint32_t)v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (q)
			q->num = (uint32_t)v;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (q)
			q->ready = v == 1;
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (v < FAKE_QUEUES)
			d->notifies[v]++;
		if (d->mode != FAKE_MANUAL)
			run_queue_locked(d, (unsigned)v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		d->acks++;
		d->last_ack = (uint32_t)v;
		d->isr &= ~(uint32_t)v;
		break;
	case VIRTIO_MMIO_STATUS:
		if (v == 0) {
			reset_locked(d);
			break;
		}
		if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && d->refuse_features_ok)
			v &= ~(uint64_t)VIRTIO_CONFIG_S_FEATURES_OK;
		d->status = (uint32_t)v;
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (q)
			set_half(&q->desc, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)v);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		if (q)
			set_half(&q->avail, off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)v);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if (q)
			set_half(&q->used, off == VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)v);
		break;
	default:
		break;
	}
}

static void *fake_thread(void *arg)
{
	struct fakedev *d = arg;
	static struct hvisor_ioreq reqs[64];

	for (;;) {
		struct pollfd p[2] = {{.fd = d->chan, .events = POLLIN},
				      {.fd = d->stop[0], .events = POLLIN}};
		ssize_t k;

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			break;
		k = recv(d->chan, reqs, sizeof(reqs), MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0)
			break;
		for (size_t i = 0; i < (size_t)k / sizeof(reqs[0]); i++) {
			const struct hvisor_ioreq *r = &reqs[i];
			uint64_t off = r->address - GZ_BASE, value = 0;
			struct hvisor_iocomp c = {.type = HVISOR_IOCOMP_COMPLETE};

			fake_lock(d);
			d->accesses++;
			if (d->first_address == UINT64_MAX)
				d->first_address = r->address;
			if (r->is_write)
				reg_write(d, off, r->size, r->value);
			else
				value = reg_read(d, off, r->size);
			fake_unlock(d);
			if (r->is_notify)
				continue;
			c.cpu = r->cpu;
			c.id = r->id;
			c.value =
				r->size >= 8 ? value : value & ((UINT64_C(1) << (8 * r->size)) - 1);
			if (send(d->chan, &c, sizeof(c), MSG_NOSIGNAL) != (ssize_t)sizeof(c))
				break;
		}
	}
	return NULL;
}

/* --- environment ---------------------------------------------------------------------- */

void fake_env_start(struct fake_env *e, bool attach_first)
{
	struct fakedev *d = &e->dev;
	void *map;

	simh_start(&e->sim, NULL);
	if (attach_first)
		assert_int_equal(
			simh_attach(e->sim.ctl, HVSIM_OP_ZONE_ATTACH, GZ_ZONE, &d->chan, &d->mem),
			0);
	guest_zone_start(&e->sim);
	if (!attach_first)
		assert_int_equal(
			simh_attach(e->sim.ctl, HVSIM_OP_ZONE_ATTACH, GZ_ZONE, &d->chan, &d->mem),
			0);
	map = mmap(NULL, GZ_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, d->mem, GZ_RAM);
	assert_true(map != MAP_FAILED);
	d->ram = map;
	if (d->device_id == 1) {
		d->tx_frames = calloc(FAKE_MAX_FRAMES, sizeof(*d->tx_frames));
		assert_non_null(d->tx_frames);
	}
	assert_int_equal(pipe(d->stop), 0);
	assert_int_equal(pthread_create(&d->thread, NULL, fake_thread, d), 0);
	d->running = true;
}

void fake_env_stop(struct fake_env *e)
{
	struct fakedev *d = &e->dev;

	if (d->running) {
		assert_int_equal(write(d->stop[1], "x", 1), 1);
		pthread_join(d->thread, NULL);
		close(d->stop[0]);
		close(d->stop[1]);
		d->running = false;
	}
	if (d->ram)
		munmap(d->ram, GZ_RAM_SIZE);
	d->ram = NULL;
	d->chan = safe_close(d->chan);
	d->mem = safe_close(d->mem);
	simh_stop(&e->sim);
	free(d->rx_pending);
	free(d->tx_frames);
	free(d->disk);
	d->rx_pending = d->disk = NULL;
	d->tx_frames = NULL;
	pthread_mutex_destroy(&d->lock);
}
