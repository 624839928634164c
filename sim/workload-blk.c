// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-blk workloads (VIRTIO 1.2 §5.2):
 *  blk-verify  random writes of deterministic content with several in
 *              flight, FLUSH, read-back of the whole written range compared
 *              with a shadow of what must be there; GET_ID; or, with
 *              --expect-readonly, checks that writes fail and reads work.
 *  blk-bench   IOPS, bandwidth, latency percentiles, notifications and
 *              interrupts per request.
 * A request is header (readable) + data (readable or writable, split at
 * size_max) + status byte (writable); one indirect table when negotiated.
 * Device-written values (used length, status) are checked before use.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>

#include "hvsim-guest.h"

#define SECTOR		512u
#define BLK_MAX_QD	128
#define BLK_MAX_SEGS	64 /* data descriptors per request */
#define BLK_MAX_SIZE	(4u << 20)
#define BLK_REGION_MAX	(UINT64_C(1) << 24) /* sectors blk-verify keeps a shadow of */
#define BLK_STATUS_NONE 0xff		    /* not written by the device (yet) */

struct blk_slot {
	bool busy;
	uint32_t type;
	uint64_t sector;
	uint32_t len;	  /* data bytes */
	uint32_t gen;	  /* blk-verify: generation written */
	uint64_t t0;	  /* submission time, ns */
	uint64_t hdr_gpa; /* 16-byte header, status byte at +16 */
	struct virtio_blk_outhdr *hdr;
	uint8_t *status;
	uint64_t data_gpa;
	uint8_t *data;
};

struct blk;
typedef void (*blk_done_fn)(struct blk *b, struct blk_slot *s, uint8_t status, uint32_t used_len);

struct blk {
	struct wl *w;
	struct hvg_vq *vq;
	uint64_t capacity; /* sectors */
	uint32_t seg_len;  /* bytes per data descriptor, 0: no limit */
	uint32_t seg_max;  /* data descriptors per request, 0: no limit */
	uint32_t slot_size;
	bool indirect;
	unsigned qd, inflight;
	struct blk_slot *slots;
	blk_done_fn done;
	uint64_t completed, bad_status, bad_len, short_len;
	void *ctx; /* of the current phase */
};

static const char *status_name(uint8_t s)
{
	switch (s) {
	case VIRTIO_BLK_S_OK:
		return "OK";
	case VIRTIO_BLK_S_IOERR:
		return "IOERR";
	case VIRTIO_BLK_S_UNSUPP:
		return "UNSUPP";
	case BLK_STATUS_NONE:
		return "not written";
	default:
		return "invalid";
	}
}

static int blk_init(struct blk *b, struct wl *w, uint64_t features, unsigned qd, uint32_t max_len)
{
	uint64_t cap_le = 0;
	uint32_t v;
	int r;

	memset(b, 0, sizeof(*b));
	b->w = w;
	features |= (UINT64_C(1) << VIRTIO_BLK_F_SIZE_MAX) | (UINT64_C(1) << VIRTIO_BLK_F_SEG_MAX) |
		    (UINT64_C(1) << VIRTIO_BLK_F_BLK_SIZE) | (UINT64_C(1) << VIRTIO_BLK_F_RO);
	r = wl_start(w, VIRTIO_ID_BLOCK, features, &b->vq, 1);
	if (r < 0)
		return r;
	b->indirect = wl_has(w, VIRTIO_RING_F_INDIRECT_DESC);
	r = hvg_dev_config_read(w->d, offsetof(struct virtio_blk_config, capacity), &cap_le, 8);
	if (r < 0)
		return r;
	b->capacity = le64toh(cap_le);
	if (wl_has(w, VIRTIO_BLK_F_SIZE_MAX)) {
		r = hvg_dev_config_read(w->d, offsetof(struct virtio_blk_config, size_max), &v, 4);
		if (r < 0)
			return r;
		/* a size_max below a sector would make no progress: ignore it */
		b->seg_len = le32toh(v) >= SECTOR ? le32toh(v) : 0;
	}
	if (wl_has(w, VIRTIO_BLK_F_SEG_MAX)) {
		r = hvg_dev_config_read(w->d, offsetof(struct virtio_blk_config, seg_max), &v, 4);
		if (r < 0)
			return r;
		b->seg_max = le32toh(v);
	}
	wl_res_u64(w, "capacity_sectors", b->capacity);
	{
		unsigned segs = b->seg_len ? (max_len + b->seg_len - 1) / b->seg_len : 1;
		unsigned limit =
			b->seg_max ? MIN(b->seg_max, (uint32_t)BLK_MAX_SEGS) : BLK_MAX_SEGS;

		if (segs > limit || segs + 2 > hvg_vq_free_descs(b->vq)) {
			wl_err(w,
			       "requests of %u bytes need %u segments; the device takes %u of at most %u bytes",
			       max_len, segs, limit, b->seg_len);
			return -EINVAL;
		}
	}
	b->qd = MIN(qd, hvg_vq_free_descs(b->vq));
	b->slot_size = max_len;
	b->slots = calloc(b->qd, sizeof(*b->slots));
	if (!b->slots)
		return -ENOMEM;
	for (unsigned i = 0; i < b->qd; i++) {
		struct blk_slot *s = &b->slots[i];
		void *p;

		r = wl_alloc(w, 32, 16, &s->hdr_gpa, &p);
		if (r < 0)
			return r;
		s->hdr = p;
		s->status = (uint8_t *)p + 16;
		r = wl_alloc(w, max_len ? max_len : SECTOR, 4096, &s->data_gpa, &p);
		if (r < 0)
			return r;
		s->data = p;
	}
	return 0;
}

static void blk_free(struct blk *b)
{
	free(b->slots);
}

static struct blk_slot *blk_free_slot(struct blk *b)
{
	for (unsigned i = 0; i < b->qd; i++)
		if (!b->slots[i].busy)
			return &b->slots[i];
	return NULL;
}

static bool blk_data_writable(uint32_t type)
{
	return type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
}

/* Queues the request in s (not kicked). -ENOSPC: not enough descriptors. */
static int blk_submit(struct blk *b, struct blk_slot *s, uint32_t type, uint64_t sector,
		      uint32_t len)
{
	struct hvg_buf bufs[BLK_MAX_SEGS + 2];
	unsigned n = 0;
	int r;

	bufs[n++] = (struct hvg_buf){.gpa = s->hdr_gpa, .len = 16, .writable = false};
	for (uint32_t off = 0; off < len && n <= BLK_MAX_SEGS;) {
		uint32_t chunk = b->seg_len ? MIN(b->seg_len, len - off) : len - off;

		bufs[n++] = (struct hvg_buf){.gpa = s->data_gpa + off,
					     .len = chunk,
					     .writable = blk_data_writable(type)};
		off += chunk;
	}
	bufs[n++] = (struct hvg_buf){.gpa = s->hdr_gpa + 16, .len = 1, .writable = true};
	s->hdr->type = htole32(type);
	s->hdr->ioprio = 0;
	s->hdr->sector = htole64(sector);
	*s->status = BLK_STATUS_NONE;
	s->type = type;
	s->sector = sector;
	s->len = len;
	s->t0 = wl_now_ns();
	r = hvg_vq_add(b->vq, bufs, n, b->indirect && n > 1, s);
	if (r < 0)
		return r;
	s->busy = true;
	b->inflight++;
	return 0;
}

/* wl_poll callback: completes what the device finished. */
static int blk_reap(void *arg)
{
	struct blk *b = arg;
	int n = 0;

	for (;;) {
		struct blk_slot *s;
		uint32_t used_len, writable;
		void *token;
		uint8_t status;
		int r = hvg_vq_get(b->vq, &token, &used_len);

		if (r < 0) {
			wl_err(b->w, "the device corrupted the used ring");
			return r;
		}
		if (r == 0)
			return n;
		s = token;
		s->busy = false;
		b->inflight--;
		b->completed++;
		n++;
		/* read the status once; its value is the device's word */
		status = __atomic_load_n(s->status, __ATOMIC_RELAXED);
		writable = 1 + (blk_data_writable(s->type) ? s->len : 0);
		if (used_len > writable) {
			b->bad_len++;
			wl_err(b->w, "sector %llu: used length %u exceeds the %u writable bytes",
			       (unsigned long long)s->sector, used_len, writable);
		} else if (used_len < writable && status == VIRTIO_BLK_S_OK) {
			b->short_len++;
		}
		if (status != VIRTIO_BLK_S_OK && status != VIRTIO_BLK_S_IOERR &&
		    status != VIRTIO_BLK_S_UNSUPP)
			b->bad_status++;
		b->done(b, s, status, used_len);
	}
}

static int blk_wait(struct blk *b)
{
	int r = wl_poll(b->w, &b->vq, 1, blk_reap, b, b->w->timeout_ms);

	if (r == -ETIMEDOUT)
		wl_err(b->w, "no completion within %d ms (%u requests in flight)", b->w->timeout_ms,
		       b->inflight);
	return r < 0 ? r : 0;
}

static int blk_drain(struct blk *b)
{
	while (b->inflight > 0) {
		int r = blk_wait(b);

		if (r < 0)
			return r;
	}
	return 0;
}

/* Submits (waiting for room) and kicks. */
static int blk_issue(struct blk *b, struct blk_slot *s, uint32_t type, uint64_t sector,
		     uint32_t len)
{
	for (;;) {
		int r = blk_submit(b, s, type, sector, len);

		if (r == 0)
			break;
		if (r != -ENOSPC || b->inflight == 0)
			return r;
		r = blk_wait(b);
		if (r < 0)
			return r;
	}
	hvg_vq_kick(b->vq);
	return 0;
}

static struct blk_slot *blk_wait_slot(struct blk *b)
{
	struct blk_slot *s;

	while (!(s = blk_free_slot(b)))
		if (blk_wait(b) < 0)
			return NULL;
	return s;
}

/* --- GET_ID and FLUSH -------------------------------------------------------------- */

struct one_result {
	uint8_t status;
	uint32_t used_len;
	bool done;
};

static void one_done(struct blk *b, struct blk_slot *s, uint8_t status, uint32_t used_len)
{
	struct one_result *res = b->ctx;

	res->status = status;
	res->used_len = used_len;
	res->done = true;
}

/* One synchronous request in slot 0. */
static int blk_one(struct blk *b, uint32_t type, uint32_t len, struct one_result *res)
{
	int r;

	memset(res, 0, sizeof(*res));
	b->done = one_done;
	b->ctx = res;
	r = blk_issue(b, &b->slots[0], type, 0, len);
	if (r == 0)
		r = blk_drain(b);
	return r;
}

static int blk_get_id(struct blk *b)
{
	char serial[VIRTIO_BLK_ID_BYTES + 1];
	struct one_result res;
	int r;

	if (b->slot_size < VIRTIO_BLK_ID_BYTES)
		return 0;
	memset(b->slots[0].data, 0, VIRTIO_BLK_ID_BYTES);
	r = blk_one(b, VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_ID_BYTES, &res);
	if (r < 0)
		return r;
	if (res.status != VIRTIO_BLK_S_OK) {
		wl_say(b->w, "serial: none (GET_ID: %s)", status_name(res.status));
		return 0;
	}
	/* up to 20 bytes, NUL-terminated only if shorter; shown printable */
	for (unsigned i = 0; i < VIRTIO_BLK_ID_BYTES; i++) {
		char c = (char)b->slots[0].data[i];

		serial[i] = c;
		if (c == '\0')
			break;
		if (c < 0x20 || c > 0x7e)
			serial[i] = '?';
	}
	serial[VIRTIO_BLK_ID_BYTES] = '\0';
	wl_res_str(b->w, "serial", serial);
	wl_say(b->w, "serial: \"%s\"", serial);
	return 0;
}

static int blk_flush(struct blk *b)
{
	struct one_result res;
	int r;

	if (!wl_has(b->w, VIRTIO_BLK_F_FLUSH)) {
		wl_say(b->w, "flush: not offered");
		return 0;
	}
	r = blk_one(b, VIRTIO_BLK_T_FLUSH, 0, &res);
	if (r < 0)
		return r;
	wl_res_str(b->w, "flush", status_name(res.status));
	if (res.status != VIRTIO_BLK_S_OK) {
		wl_err(b->w, "FLUSH completed with %s", status_name(res.status));
		return -EIO;
	}
	wl_say(b->w, "flush: OK");
	return 0;
}

/* --- blk-verify -------------------------------------------------------------------------- */

struct verify {
	uint64_t seed, count, max_size; /* the options */
	bool readonly;
	uint64_t region; /* sectors */
	uint32_t *gen;	 /* per sector: generation there, 0 never written */
	uint8_t *busy;	 /* per sector: a write in flight */
	uint64_t lo, hi; /* written range [lo, hi) */
	uint64_t write_errors, read_errors, mismatches, readonly_ok_writes;
	uint8_t expect_status; /* for writes */
	uint8_t *expect;       /* one sector */
};

static void sector_fill(uint8_t *p, uint64_t seed, uint64_t sector, uint32_t gen)
{
	uint64_t x = wl_mix64(seed ^ wl_mix64(sector ^ ((uint64_t)gen << 40)));

	for (unsigned i = 0; i < SECTOR; i += 8) {
		uint64_t v = wl_rand(&x);

		for (unsigned k = 0; k < 8; k++)
			p[i + k] = (uint8_t)(v >> (8 * k));
	}
}

static void verify_write_done(struct blk *b, struct blk_slot *s, uint8_t status, uint32_t used_len)
{
	struct verify *v = b->ctx;
	uint64_t n = s->len / SECTOR;

	for (uint64_t i = 0; i < n; i++)
		v->busy[s->sector + i] = 0;
	if (status != v->expect_status) {
		if (v->write_errors++ < 5)
			wl_err(b->w, "write of %u bytes at sector %llu: %s, expected %s", s->len,
			       (unsigned long long)s->sector, status_name(status),
			       status_name(v->expect_status));
		/* what is there now is unknown */
		for (uint64_t i = 0; i < n && v->gen; i++)
			v->gen[s->sector + i] = UINT32_MAX;
		return;
	}
	if (status != VIRTIO_BLK_S_OK) {
		v->readonly_ok_writes++;
		return;
	}
	for (uint64_t i = 0; i < n && v->gen; i++)
		v->gen[s->sector + i] = s->gen;
}

static void verify_read_done(struct blk *b, struct blk_slot *s, uint8_t status, uint32_t used_len)
{
	struct verify *v = b->ctx;

	if (status != VIRTIO_BLK_S_OK) {
		if (v->read_errors++ < 5)
			wl_err(b->w, "read of %u bytes at sector %llu: %s", s->len,
			       (unsigned long long)s->sector, status_name(status));
		return;
	}
	if (!v->gen)
		return; /* read-only mode: reads only have to work */
	for (uint32_t i = 0; i < s->len / SECTOR; i++) {
		uint64_t sector = s->sector + i;
		uint32_t g = v->gen[sector];

		if (g == 0 || g == UINT32_MAX)
			continue; /* never written, or by a write that failed */
		sector_fill(v->expect, v->seed, sector, g);
		if (memcmp(v->expect, s->data + (size_t)i * SECTOR, SECTOR) != 0) {
			if (v->mismatches++ < 5)
				wl_err(b->w, "sector %llu differs from write generation %u",
				       (unsigned long long)sector, g);
		}
	}
}

static bool verify_overlaps(const struct verify *v, uint64_t sector, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (v->busy[sector + i])
			return true;
	return false;
}

static int verify_writes(struct blk *b, struct verify *v, uint64_t count, uint32_t max_size)
{
	uint64_t rng = v->seed;
	int r;

	b->done = verify_write_done;
	b->ctx = v;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t n = 1 + wl_rand(&rng) % (max_size / SECTOR);
		uint64_t sector;
		struct blk_slot *s;

		n = MIN(n, v->region);
		sector = wl_rand(&rng) % (v->region - n + 1);
		/* never two writes to one sector in flight: their order would
		 * be the device's choice */
		while (!(s = blk_free_slot(b)) || verify_overlaps(v, sector, n)) {
			r = blk_wait(b);
			if (r < 0)
				return r;
		}
		s->gen = (uint32_t)(i + 1);
		for (uint64_t k = 0; k < n; k++) {
			sector_fill(s->data + k * SECTOR, v->seed, sector + k, s->gen);
			v->busy[sector + k] = 1;
		}
		v->lo = MIN(v->lo, sector);
		v->hi = MAX(v->hi, sector + n);
		r = blk_issue(b, s, VIRTIO_BLK_T_OUT, sector, (uint32_t)(n * SECTOR));
		if (r < 0)
			return r;
	}
	return blk_drain(b);
}

static int verify_reads(struct blk *b, struct verify *v, uint64_t lo, uint64_t hi,
			uint32_t max_size)
{
	int r;

	b->done = verify_read_done;
	b->ctx = v;
	for (uint64_t pos = lo; pos < hi;) {
		uint64_t n = MIN(hi - pos, (uint64_t)(max_size / SECTOR));
		struct blk_slot *s = blk_wait_slot(b);

		if (!s)
			return -ETIMEDOUT;
		r = blk_issue(b, s, VIRTIO_BLK_T_IN, pos, (uint32_t)(n * SECTOR));
		if (r < 0)
			return r;
		pos += n;
	}
	return blk_drain(b);
}

/* The disk and the options fit together; the shadow is allocated. 0, or
 * an exit code or -errno. */
static int verify_setup(struct blk *b, struct verify *v)
{
	struct wl *w = b->w;
	bool ro = wl_has(w, VIRTIO_BLK_F_RO);
	int r;

	wl_say(w, "capacity %llu sectors (%.1f MiB)%s, queue depth %u",
	       (unsigned long long)b->capacity, (double)b->capacity * SECTOR / 1048576.0,
	       ro ? ", read-only" : "", b->qd);
	if (b->capacity == 0) {
		wl_err(w, "the disk is empty");
		return WL_FAIL;
	}
	r = blk_get_id(b);
	if (r < 0)
		return r;
	if (v->readonly != ro) {
		wl_err(w,
		       v->readonly
			       ? "--expect-readonly, but the device does not offer VIRTIO_BLK_F_RO"
			       : "the device is read-only (VIRTIO_BLK_F_RO); use --expect-readonly");
		return WL_FAIL;
	}
	if (v->region == 0)
		v->region = MIN(b->capacity, (uint64_t)32768);
	if (v->region > b->capacity) {
		wl_err(w, "--region %llu is larger than the disk (%llu sectors)",
		       (unsigned long long)v->region, (unsigned long long)b->capacity);
		return WL_USAGE;
	}
	v->busy = calloc(v->region, 1);
	v->expect = malloc(SECTOR);
	if (!v->readonly)
		v->gen = calloc(v->region, sizeof(*v->gen));
	if (!v->busy || !v->expect || (!v->readonly && !v->gen))
		return -ENOMEM;
	return 0;
}

/* Every write must fail; reads must work. */
static int verify_readonly(struct blk *b, struct verify *v)
{
	uint32_t max = (uint32_t)v->max_size;
	int r;

	v->expect_status = VIRTIO_BLK_S_IOERR;
	r = verify_writes(b, v, MIN(v->count, (uint64_t)64), max);
	if (r == 0)
		r = verify_reads(b, v, 0, MIN(v->region, (uint64_t)(max / SECTOR) * 4), max);
	if (r < 0)
		return r;
	wl_res_u64(b->w, "writes_refused", v->readonly_ok_writes);
	wl_say(b->w, "read-only: %llu writes refused with IOERR, reads %s",
	       (unsigned long long)v->readonly_ok_writes, v->read_errors ? "FAILED" : "OK");
	return 0;
}

/* Writes, FLUSH, the written range read back. */
static int verify_readwrite(struct blk *b, struct verify *v)
{
	int r;

	v->expect_status = VIRTIO_BLK_S_OK;
	r = verify_writes(b, v, v->count, (uint32_t)v->max_size);
	if (r == 0)
		r = blk_flush(b);
	if (r == 0)
		r = verify_reads(b, v, v->lo, v->hi, (uint32_t)v->max_size);
	if (r < 0)
		return r;
	wl_res_u64(b->w, "writes", v->count);
	wl_res_u64(b->w, "range_first_sector", v->lo);
	wl_res_u64(b->w, "range_sectors", v->hi - v->lo);
	wl_res_u64(b->w, "mismatched_sectors", v->mismatches);
	wl_say(b->w,
	       "%llu writes (seed %llu) in sectors [%llu, %llu), read back: %llu sectors differ",
	       (unsigned long long)v->count, (unsigned long long)v->seed, (unsigned long long)v->lo,
	       (unsigned long long)v->hi, (unsigned long long)v->mismatches);
	return 0;
}

/* The device-side counters common to both workloads. */
static void blk_report(struct blk *b)
{
	wl_res_u64(b->w, "bad_used_len", b->bad_len);
	wl_res_u64(b->w, "short_used_len", b->short_len);
	wl_res_u64(b->w, "bad_status", b->bad_status);
	if (b->short_len)
		wl_say(b->w, "warning: %llu completions reported fewer bytes than the buffers hold",
		       (unsigned long long)b->short_len);
	wl_res_per_req(b->w, b->completed);
}

static int blk_verify(struct wl *w, int argc, char **argv)
{
	struct verify v = {.count = 256, .max_size = 65536, .seed = 1, .lo = UINT64_MAX};
	uint64_t qd = 8, t0;
	const struct wl_opt opts[] = {
		WL_U64("count", &v.count, 1, 100000000),
		WL_U64("qd", &qd, 1, BLK_MAX_QD),
		WL_SIZE("max-size", &v.max_size, SECTOR, BLK_MAX_SIZE, SECTOR),
		WL_U64("seed", &v.seed, 0, UINT64_MAX),
		WL_U64("region", &v.region, 1, BLK_REGION_MAX),
		WL_FLAG("expect-readonly", &v.readonly),
	};
	struct blk b = {0};
	int r = wl_options(w, argc, argv, opts, ARRAY_SIZE(opts));

	if (r != WL_OK)
		return r;
	r = blk_init(&b, w, UINT64_C(1) << VIRTIO_BLK_F_FLUSH, (unsigned)qd, (uint32_t)v.max_size);
	if (r == 0)
		r = verify_setup(&b, &v);
	t0 = wl_now_ns();
	if (r == 0)
		r = v.readonly ? verify_readonly(&b, &v) : verify_readwrite(&b, &v);
	if (r == 0) {
		wl_res_dbl(w, "elapsed_s", (double)(wl_now_ns() - t0) / 1e9);
		wl_res_u64(w, "write_errors", v.write_errors);
		wl_res_u64(w, "read_errors", v.read_errors);
		blk_report(&b);
		r = v.write_errors || v.read_errors || v.mismatches || b.bad_len || b.bad_status
			    ? WL_FAIL
			    : WL_OK;
	}
	free(v.gen);
	free(v.busy);
	free(v.expect);
	blk_free(&b);
	return r;
}

/* --- blk-bench --------------------------------------------------------------------------- */

static const char *const bench_modes[] = {"randread", "randwrite", "read", "write", NULL};

struct bench {
	uint64_t bs, seconds, count, seed;
	unsigned mode; /* in bench_modes */
	uint64_t *lat;
	size_t n_lat, cap_lat;
	uint64_t errors, bytes, elapsed;
};

static void bench_done(struct blk *b, struct blk_slot *s, uint8_t status, uint32_t used_len)
{
	struct bench *bb = b->ctx;
	uint64_t lat = wl_now_ns() - s->t0;

	if (status != VIRTIO_BLK_S_OK) {
		if (bb->errors++ < 5)
			wl_err(b->w, "request at sector %llu: %s", (unsigned long long)s->sector,
			       status_name(status));
		return;
	}
	bb->bytes += s->len;
	if (bb->n_lat == bb->cap_lat) {
		size_t cap = bb->cap_lat ? bb->cap_lat * 2 : 65536;
		uint64_t *p = realloc(bb->lat, cap * sizeof(*p));

		if (!p)
			return; /* the sample is lost, not the run */
		bb->lat = p;
		bb->cap_lat = cap;
	}
	bb->lat[bb->n_lat++] = lat;
}

/* Keeps the queue full until the count or the time is reached. */
static int bench_run(struct blk *b, struct bench *bb)
{
	bool is_write = bb->mode == 1 || bb->mode == 3, is_rand = bb->mode <= 1;
	uint64_t blocks = b->capacity / (bb->bs / SECTOR), next = 0, submitted = 0;
	uint64_t t0 = wl_now_ns(), t_end = t0 + bb->seconds * 1000000000u;
	int r;

	for (unsigned i = 0; i < b->qd && is_write; i++)
		wl_pattern_fill(bb->seed, i * bb->bs, b->slots[i].data, bb->bs);
	for (;;) {
		bool more = bb->count ? submitted < bb->count : wl_now_ns() < t_end;
		unsigned added = 0;
		struct blk_slot *s;

		while (more && (s = blk_free_slot(b))) {
			uint64_t blk = is_rand ? wl_rand(&bb->seed) % blocks : next++ % blocks;

			r = blk_submit(b, s, is_write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
				       blk * (bb->bs / SECTOR), (uint32_t)bb->bs);
			if (r == -ENOSPC)
				break;
			if (r < 0)
				return r;
			added++;
			submitted++;
			more = bb->count ? submitted < bb->count : true;
		}
		if (added)
			hvg_vq_kick(b->vq);
		if (!more && b->inflight == 0)
			break;
		r = blk_wait(b);
		if (r < 0)
			return r;
	}
	bb->elapsed = wl_now_ns() - t0;
	return 0;
}

static void bench_report(struct blk *b, struct bench *bb)
{
	struct wl *w = b->w;
	double secs = (double)bb->elapsed / 1e9;
	double iops = (double)b->completed / secs;
	double mibs = (double)bb->bytes / 1048576.0 / secs;
	double p50, p99;

	wl_sort(bb->lat, bb->n_lat);
	p50 = (double)wl_quantile(bb->lat, bb->n_lat, 0.50, true) / 1e3;
	p99 = (double)wl_quantile(bb->lat, bb->n_lat, 0.99, true) / 1e3;
	wl_res_str(w, "rw", bench_modes[bb->mode]);
	wl_res_u64(w, "bs", bb->bs);
	wl_res_u64(w, "qd", b->qd);
	wl_res_u64(w, "requests", b->completed);
	wl_res_u64(w, "errors", bb->errors);
	wl_res_dbl(w, "elapsed_s", secs);
	wl_res_dbl(w, "iops", iops);
	wl_res_dbl(w, "mib_per_s", mibs);
	wl_res_dbl(w, "lat_p50_us", p50);
	wl_res_dbl(w, "lat_p99_us", p99);
	wl_say(w,
	       "%llu requests in %.2f s: %.0f IOPS, %.2f MiB/s, latency p50 %.1f us, p99 %.1f us",
	       (unsigned long long)b->completed, secs, iops, mibs, p50, p99);
	wl_res_per_req(w, b->completed);
}

static int blk_bench(struct wl *w, int argc, char **argv)
{
	struct bench bb = {.bs = 4096, .seconds = 5, .seed = 1};
	uint64_t qd = 1;
	const struct wl_opt opts[] = {
		WL_CHOICE("rw", &bb.mode, bench_modes, "randread, randwrite, read or write"),
		WL_SIZE("bs", &bb.bs, SECTOR, BLK_MAX_SIZE, SECTOR),
		WL_U64("qd", &qd, 1, BLK_MAX_QD),
		WL_U64("seconds", &bb.seconds, 1, 86400),
		WL_U64("count", &bb.count, 1, UINT64_MAX),
		WL_U64("seed", &bb.seed, 0, UINT64_MAX),
	};
	struct blk b = {0};
	int r = wl_options(w, argc, argv, opts, ARRAY_SIZE(opts));

	if (r != WL_OK)
		return r;
	r = blk_init(&b, w, 0, (unsigned)qd, (uint32_t)bb.bs);
	if (r == 0 && (bb.mode == 1 || bb.mode == 3) && wl_has(w, VIRTIO_BLK_F_RO)) {
		wl_err(w, "the device is read-only");
		r = WL_FAIL;
	}
	if (r == 0 && b.capacity < bb.bs / SECTOR) {
		wl_err(w, "the disk (%llu sectors) is smaller than one block",
		       (unsigned long long)b.capacity);
		r = WL_FAIL;
	}
	b.done = bench_done;
	b.ctx = &bb;
	if (r == 0) {
		wl_say(w, "%s, bs %llu, qd %u, %s%llu", bench_modes[bb.mode],
		       (unsigned long long)bb.bs, b.qd, bb.count ? "requests " : "seconds ",
		       (unsigned long long)(bb.count ? bb.count : bb.seconds));
		r = bench_run(&b, &bb);
	}
	if (r == 0) {
		bench_report(&b, &bb);
		r = bb.errors || b.bad_len || b.bad_status || b.completed == 0 ? WL_FAIL : WL_OK;
	}
	free(bb.lat);
	blk_free(&b);
	return r;
}

const struct workload wl_blk_verify = {
	.name = "blk-verify",
	.usage =
		"[--count N=256] [--qd N=8] [--max-size BYTES=65536] [--seed S] [--region SECTORS] [--expect-readonly]",
	.run = blk_verify,
};

const struct workload wl_blk_bench = {
	.name = "blk-bench",
	.usage =
		"[--rw randread|randwrite|read|write] [--bs BYTES=4096] [--qd N=1] [--seconds S=5] [--count N]",
	.run = blk_bench,
};
