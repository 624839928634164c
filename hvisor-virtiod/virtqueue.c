// SPDX-License-Identifier: GPL-2.0-only
/* Split virtqueues, device side (VIRTIO 1.2 §2.7). See virtqueue.h for
 * the rules; the guest may rewrite its rings at any moment, so every value
 * read from them is read once and checked before use. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "virtqueue.h"

/* Accesses to memory the guest shares with us: never cached by the
 * compiler, never torn for aligned 16/32-bit fields. */
#define READ_ONCE(x)	 (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

static inline uint16_t ring_get16(const __virtio16 *p)
{
	return le16toh(READ_ONCE(*p));
}

static inline void ring_put16(__virtio16 *p, uint16_t v)
{
	WRITE_ONCE(*p, htole16(v));
}

static size_t avail_size(uint16_t num)
{
	/* flags, idx, ring[num], used_event */
	return 6 + 2 * (size_t)num;
}

static size_t used_size(uint16_t num)
{
	/* flags, idx, ring[num], avail_event */
	return 6 + 8 * (size_t)num;
}

/* Stores to the persistent record stay in program order, so a process
 * killed between two of them leaves a state virtq_resume() understands. */
#define persist_barrier() __atomic_signal_fence(__ATOMIC_SEQ_CST)

static void bit_set(uint64_t *map, uint16_t i)
{
	map[i / 64] |= UINT64_C(1) << (i % 64);
}

static void bit_clear(uint64_t *map, uint16_t i)
{
	map[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

static bool bit_test(const uint64_t *map, uint16_t i)
{
	return map[i / 64] & (UINT64_C(1) << (i % 64));
}

static void free_done(struct virtq *vq)
{
	for (unsigned i = 0; i < vq->n_done; i++)
		free(vq->done[i]);
	vq->n_done = 0;
}

void virtq_reset(struct virtq *vq)
{
	uint16_t num_max = vq->num_max;

	free_done(vq);

	if (vq->ps)
		memset(vq->ps, 0, sizeof(*vq->ps));
	*vq = (struct virtq){.num_max = num_max};
}

static int map_rings(struct virtq *vq, const struct gmem *mem)
{
	if (vq->num == 0 || vq->num > vq->num_max || vq->num > VIRTQ_MAX_SIZE ||
	    !IS_POWER_OF_2(vq->num))
		return -EINVAL;
	vq->desc = gmem_ptr_aligned(mem, vq->desc_gpa, 16 * (uint64_t)vq->num, 16);
	vq->avail = gmem_ptr_aligned(mem, vq->avail_gpa, avail_size(vq->num), 2);
	vq->used = gmem_ptr_aligned(mem, vq->used_gpa, used_size(vq->num), 4);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return -EINVAL;
	}
	vq->mem = mem;
	return 0;
}

static int avail_pending(struct virtq *vq);

static int start(struct virtq *vq, const struct gmem *mem, bool event_idx, bool indirect)
{
	int r = map_rings(vq, mem);

	if (r < 0)
		return r;
	vq->event_idx = event_idx;
	vq->indirect = indirect;
	vq->broken = false;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->inflight = 0;
	vq->signalled_used = 0;
	vq->signalled_used_valid = false; /* the first interrupt is never suppressed */
	memset(vq->redo, 0, sizeof(vq->redo));
	vq->n_redo = 0;
	return 0;
}

int virtq_enable(struct virtq *vq, const struct gmem *mem, bool event_idx, bool indirect)
{
	int r = start(vq, mem, event_idx, indirect);

	if (r < 0)
		return r;
	if (vq->ps) {
		memset(vq->ps, 0, sizeof(*vq->ps));
		vq->ps->valid = 1;
	}
	vq->ready = true;
	return 0;
}

int virtq_resume(struct virtq *vq, const struct gmem *mem, bool event_idx, bool indirect)
{
	struct virtq_persist *ps = vq->ps;
	uint16_t guest_used, k;
	int r = start(vq, mem, event_idx, indirect);

	if (r < 0)
		return r;
	vq->ready = true;
	guest_used = ring_get16(&vq->used->idx);
	if (!ps || ps->valid != 1) {
		/* no record: assume in-order completion */
		vq->used_idx = vq->last_avail = vq->signalled_used = guest_used;
		return 0;
	}
	/* A batch the dead process published (used->idx moved) but had not
	 * recorded yet: its requests are complete. More than a ring's worth
	 * means the guest wrote used->idx itself; our record stands. */
	k = (uint16_t)(guest_used - ps->used_idx);
	if (k <= vq->num) {
		for (uint16_t i = 0; i < k; i++) {
			uint16_t slot = (uint16_t)(ps->used_idx + i) & (vq->num - 1);
			uint32_t id = le32toh(READ_ONCE(vq->used->ring[slot].id));

			if (id < vq->num)
				bit_clear(ps->inflight, (uint16_t)id);
		}
		ps->used_idx = guest_used;
	}
	vq->used_idx = vq->signalled_used = ps->used_idx;
	vq->last_avail = ps->last_avail;
	/* killed inside virtq_pop: the head was marked, last_avail not yet
	 * advanced; it is taken again from the avail ring, not redone (the
	 * driver cannot have re-posted a head still in flight) */
	if (avail_pending(vq) > 0) {
		uint16_t head = ring_get16(&vq->avail->ring[vq->last_avail & (vq->num - 1)]);

		if (head < vq->num)
			bit_clear(ps->inflight, head);
	}
	for (uint16_t i = 0; i < vq->num; i++)
		if (bit_test(ps->inflight, i)) {
			bit_set(vq->redo, i);
			vq->n_redo++;
		}
	/* bits beyond the queue size are not ours to redo */
	memcpy(ps->inflight, vq->redo, sizeof(vq->redo));
	return 0;
}

/* avail->idx, or -1 if it claims more new entries than the ring holds. */
static int avail_pending(struct virtq *vq)
{
	uint16_t idx = ring_get16(&vq->avail->idx);
	uint16_t pending = (uint16_t)(idx - vq->last_avail);

	if (pending > vq->num)
		return -1;
	return pending;
}

bool virtq_has_avail(struct virtq *vq)
{
	if (!vq->ready || vq->broken)
		return false;
	/* a corrupt index counts as "something to look at": pop reports it */
	return vq->n_redo || avail_pending(vq) != 0;
}

/* Buffers of one chain while it is walked; copied into the element. */
struct chain {
	struct iovec out[VIRTQ_MAX_CHAIN], in[VIRTQ_MAX_CHAIN];
	unsigned n_out, n_in, total;
	uint64_t out_len, in_len;
	int error;
	bool last_in; /* the chain's last descriptor was a good writable buffer */
};

static __thread struct chain chain_scratch;

static void chain_error(struct chain *ch, int error)
{
	if (!ch->error)
		ch->error = error;
	ch->last_in = false;
}

/* One data buffer of the chain. */
static void add_buffer(struct virtq *vq, struct chain *ch, const struct vring_desc *d)
{
	uint64_t addr = le64toh(d->addr);
	uint32_t len = le32toh(d->len);
	bool writable = le16toh(d->flags) & VRING_DESC_F_WRITE;
	void *p;

	ch->last_in = false;
	if (len == 0) {
		chain_error(ch, -EINVAL);
		return;
	}
	p = gmem_ptr(vq->mem, addr, len);
	if (!p) {
		chain_error(ch, -EFAULT); /* outside guest RAM, or wrapping */
		return;
	}
	if (writable) {
		ch->in[ch->n_in++] = (struct iovec){p, len};
		ch->in_len += len;
		ch->last_in = true;
	} else {
		/* readable buffers must all come before writable ones */
		if (ch->n_in)
			chain_error(ch, -EINVAL);
		else {
			ch->out[ch->n_out++] = (struct iovec){p, len};
			ch->out_len += len;
		}
	}
}

/* The descriptors of an indirect table: a buffer of the request, so any
 * problem in it is the request's, not the ring's. */
static void walk_indirect(struct virtq *vq, struct chain *ch, const struct vring_desc *ind)
{
	uint64_t addr = le64toh(ind->addr);
	uint32_t len = le32toh(ind->len);
	const struct vring_desc *table;
	unsigned n, i = 0, seen = 0;

	if (!vq->indirect || len == 0 || len % sizeof(struct vring_desc)) {
		chain_error(ch, -EINVAL);
		return;
	}
	n = len / sizeof(struct vring_desc);
	table = n <= VIRTQ_MAX_CHAIN ? gmem_ptr(vq->mem, addr, len) : NULL;
	if (!table) {
		chain_error(ch, n > VIRTQ_MAX_CHAIN ? -E2BIG : -EFAULT);
		return;
	}
	for (;;) {
		struct vring_desc d;
		uint16_t flags;

		memcpy(&d, (const void *)&table[i], sizeof(d)); /* read once */
		flags = le16toh(d.flags);
		if (++seen > n || ++ch->total > VIRTQ_MAX_CHAIN) {
			chain_error(ch, -ELOOP);
			return;
		}
		if (flags & VRING_DESC_F_INDIRECT)
			chain_error(ch, -EINVAL); /* nested */
		else
			add_buffer(vq, ch, &d);
		if (!(flags & VRING_DESC_F_NEXT))
			return;
		i = le16toh(d.next);
		if (i >= n) {
			chain_error(ch, -EINVAL);
			return;
		}
	}
}

/* The head of the next request: a request the dead backend had taken
 * (after virtq_resume), else the next avail entry. 1 with *head and
 * *redo, 0 if none is waiting, -EFAULT if the avail ring is corrupt. */
static int next_head(struct virtq *vq, uint16_t *head, bool *redo)
{
	int pending;

	*redo = vq->n_redo > 0;
	if (*redo) {
		/* taken by the backend before a restart: again, before anything new */
		for (*head = 0; !bit_test(vq->redo, *head); (*head)++)
			;
		return 1;
	}
	pending = avail_pending(vq);
	if (pending <= 0)
		return pending < 0 ? -EFAULT : 0;
	/* the ring entry and the descriptors were written before avail->idx */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	*head = ring_get16(&vq->avail->ring[vq->last_avail & (vq->num - 1)]);
	return *head < vq->num ? 1 : -EFAULT;
}

/* Walks the chain from head into ch. -EFAULT if the ring is corrupt (an
 * index out of range, a loop); a bad request is only ch->error. */
static int walk_chain(struct virtq *vq, struct chain *ch, uint16_t head)
{
	unsigned seen = 0;

	ch->n_out = ch->n_in = ch->total = 0;
	ch->out_len = ch->in_len = 0;
	ch->error = 0;
	ch->last_in = false;
	for (uint16_t i = head;;) {
		struct vring_desc d;
		uint16_t flags;

		memcpy(&d, (const void *)&vq->desc[i], sizeof(d)); /* read once */
		flags = le16toh(d.flags);
		/* a chain longer than the ring loops; total counts buffers,
		 * so an indirect descriptor is not one (its table may hold
		 * VIRTQ_MAX_CHAIN of them) */
		if (++seen > vq->num ||
		    (!(flags & VRING_DESC_F_INDIRECT) && ++ch->total > VIRTQ_MAX_CHAIN))
			return -EFAULT;
		if (flags & VRING_DESC_F_INDIRECT) {
			/* must be the chain's only descriptor */
			if ((flags & VRING_DESC_F_NEXT) || ch->n_out || ch->n_in)
				chain_error(ch, -EINVAL);
			else
				walk_indirect(vq, ch, &d);
			ch->last_in = ch->last_in && !(flags & VRING_DESC_F_NEXT);
		} else
			add_buffer(vq, ch, &d);
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = le16toh(d.next);
		if (i >= vq->num)
			return -EFAULT;
	}
	if (ch->out_len > UINT32_MAX || ch->in_len > UINT32_MAX)
		chain_error(ch, -E2BIG);
	return 0;
}

static struct virtq_elem *elem_new(const struct chain *ch, uint16_t head)
{
	struct virtq_elem *e = malloc(sizeof(*e) + (ch->n_out + ch->n_in) * sizeof(struct iovec));

	if (!e)
		return NULL;
	e->head = head;
	e->n_out = (uint16_t)ch->n_out;
	e->n_in = (uint16_t)ch->n_in;
	e->out_len = (uint32_t)MIN(ch->out_len, UINT32_MAX);
	e->in_len = (uint32_t)MIN(ch->in_len, UINT32_MAX);
	e->error = ch->error;
	e->last_in = ch->last_in;
	memcpy(e->iov, ch->out, ch->n_out * sizeof(struct iovec));
	memcpy(e->iov + ch->n_out, ch->in, ch->n_in * sizeof(struct iovec));
	e->in = e->iov + ch->n_out;
	return e;
}

/* The request is ours now: past it in the avail ring (or off the redo
 * list), and in the persistent record until it is completed. */
static void mark_taken(struct virtq *vq, uint16_t head, bool redo)
{
	vq->inflight++;
	if (redo) {
		bit_clear(vq->redo, head);
		vq->n_redo--;
		return;
	}
	vq->last_avail++;
	if (vq->ps) {
		bit_set(vq->ps->inflight, head);
		persist_barrier();
		vq->ps->last_avail = vq->last_avail;
	}
}

int virtq_pop(struct virtq *vq, struct virtq_elem **ret)
{
	/* the loop thread pops; a per-thread scratch chain avoids an 8 KiB
	 * allocation per request */
	struct chain *ch = &chain_scratch;
	struct virtq_elem *e;
	uint16_t head;
	bool redo;
	int r;

	if (!vq->ready || vq->broken)
		return 0;
	r = next_head(vq, &head, &redo);
	if (r == 0)
		return 0;
	if (r < 0 || walk_chain(vq, ch, head) < 0) {
		vq->broken = true;
		return -EFAULT;
	}
	e = elem_new(ch, head);
	if (!e)
		return -ENOMEM;
	mark_taken(vq, head, redo);
	*ret = e;
	return 1;
}

static void put_used(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem *u = &vq->used->ring[vq->used_idx & (vq->num - 1)];

	WRITE_ONCE(u->id, htole32(head));
	WRITE_ONCE(u->len, htole32(len));
	vq->used_idx++;
	if (vq->inflight)
		vq->inflight--;
}

static void publish_used(struct virtq *vq)
{
	/* entries before the index that makes them visible */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	ring_put16(&vq->used->idx, vq->used_idx);
}

/* After publishing: the requests are no longer ours. Killed before the
 * record's used_idx moves, virtq_resume() finds the batch in the used
 * ring and clears the same bits. */
static void persist_completed(struct virtq *vq, struct virtq_elem *const *elems, unsigned n)
{
	if (!vq->ps)
		return;
	persist_barrier();
	for (unsigned i = 0; i < n; i++)
		if (elems[i]->head < vq->num)
			bit_clear(vq->ps->inflight, elems[i]->head);
	persist_barrier();
	vq->ps->used_idx = vq->used_idx;
}

void virtq_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t len)
{
	struct virtq_elem *const one[1] = {(struct virtq_elem *)elem};

	virtq_push_batch(vq, one, &len, 1);
}

void virtq_push_batch(struct virtq *vq, struct virtq_elem *const *elems, const uint32_t *lens,
		      unsigned n)
{
	if (!vq->ready || !vq->used || n == 0)
		return;
	for (unsigned i = 0; i < n; i++)
		put_used(vq, elems[i]->head, lens[i]);
	publish_used(vq);
	persist_completed(vq, elems, n);
}

void virtq_complete(struct virtq *vq, struct virtq_elem *elem, uint32_t len)
{
	if (!vq->ready) {
		free(elem); /* the queue was reset while the request ran */
		return;
	}
	if (vq->n_done == VIRTQ_BATCH)
		virtq_publish(vq);
	vq->done[vq->n_done] = elem;
	vq->done_len[vq->n_done++] = len;
}

unsigned virtq_publish(struct virtq *vq)
{
	unsigned n = vq->n_done;

	virtq_push_batch(vq, vq->done, vq->done_len, n);
	free_done(vq);
	return n;
}

bool virtq_should_interrupt(struct virtq *vq)
{
	uint16_t old = vq->signalled_used, cur = vq->used_idx;
	bool valid = vq->signalled_used_valid, need;

	if (!vq->ready || !vq->avail)
		return false;
	if (old == cur)
		return false; /* nothing pushed since the last interrupt */
	/* our used->idx store before reading the driver's wishes */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx) {
		uint16_t event = ring_get16(&vq->avail->ring[vq->num]); /* used_event */

		need = !valid || vring_need_event(event, cur, old);
	} else
		need = !(ring_get16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	vq->signalled_used = cur;
	vq->signalled_used_valid = true;
	return need;
}

void virtq_disable_notify(struct virtq *vq)
{
	/* With EVENT_IDX the driver kicks only when avail->idx passes
	 * avail_event, which we simply stop moving. */
	if (!vq->ready || vq->event_idx)
		return;
	ring_put16(&vq->used->flags, VRING_USED_F_NO_NOTIFY);
}

bool virtq_enable_notify(struct virtq *vq)
{
	if (!vq->ready || vq->broken)
		return false;
	if (vq->event_idx)
		ring_put16((__virtio16 *)&vq->used->ring[vq->num],
			   vq->last_avail); /* avail_event */
	else
		ring_put16(&vq->used->flags, 0);
	/* the store above before re-reading avail->idx (a kick may have
	 * been suppressed just before it) */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return avail_pending(vq) != 0;
}

size_t iov_size(const struct iovec *iov, unsigned n)
{
	size_t s = 0;

	for (unsigned i = 0; i < n; i++)
		s += iov[i].iov_len;
	return s;
}

/* The entry in which byte `skip` of iov[] lies; *skip becomes the offset
 * in it (n if the array is shorter). */
static unsigned iov_seek(const struct iovec *iov, unsigned n, size_t *skip)
{
	unsigned i = 0;

	while (i < n && *skip >= iov[i].iov_len)
		*skip -= iov[i++].iov_len;
	return i;
}

static size_t iov_copy(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len,
		       bool to_iov)
{
	size_t done = 0;

	for (unsigned i = iov_seek(iov, n, &skip); i < n && done < len; i++, skip = 0) {
		char *p = (char *)iov[i].iov_base + skip;
		size_t k = MIN(iov[i].iov_len - skip, len - done);

		if (to_iov)
			memcpy(p, (const char *)buf + done, k);
		else
			memcpy((char *)buf + done, p, k);
		done += k;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len)
{
	return iov_copy(iov, n, skip, buf, len, false);
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf, size_t len)
{
	return iov_copy(iov, n, skip, (void *)buf, len, true);
}

unsigned iov_slice(const struct iovec *src, unsigned n, size_t skip, size_t len, struct iovec *dst)
{
	unsigned k = 0;

	for (unsigned i = iov_seek(src, n, &skip); i < n && len; i++, skip = 0) {
		size_t l = MIN(src[i].iov_len - skip, len);

		dst[k++] = (struct iovec){(char *)src[i].iov_base + skip, l};
		len -= l;
	}
	return k;
}
