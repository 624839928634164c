// SPDX-License-Identifier: GPL-2.0-only
/* virtio-blk (blk.c, blk-io.c) through vtest, with a small driver written
 * here on hand-built rings so malicious requests can be built too. Every
 * case runs once per engine (sync, threads, io_uring); each checks that
 * every request submitted got exactly one used entry, unless the device
 * ended in DEVICE_NEEDS_RESET. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <linux/virtio_blk.h>

#include "blk-io.h"
#include "devices.h"
#include "macro.h"
#include "tap.h"
#include "vtest.h"

#define IRQ	  40
#define QN	  256u
#define SECT	  512u
#define IMG_SIZE  (4u << 20)
#define MAX_CHAIN 8
#define V1	  (1ull << VIRTIO_F_VERSION_1)
#define F(bit)	  (1ull << (bit))
#define WAIT_MS	  5000

/* per-head scratch: header at +0, status at +32 */
#define AREA_STRIDE 128u
#define IND_STRIDE  (16u * MAX_CHAIN)

struct tbuf {
	uint64_t gpa;
	uint32_t len;
	bool w;
};

struct fx {
	struct vtest t;
	enum hv_blk_aio aio;
	struct virtio_dev *d;
	int img; /* the test's own fd on the image */
	uint64_t features;

	/* the driver */
	uint64_t desc_gpa, avail_gpa, used_gpa, area_gpa, ind_gpa, data_gpa;
	uint16_t avail_idx, used_idx;
	bool dfree[QN];
	uint16_t chain[QN][MAX_CHAIN];
	unsigned chain_n[QN];
	bool outstanding[QN];
	uint32_t used_len[QN];
	unsigned n_submitted, n_completed;
	uint16_t order[QN * 4]; /* heads in completion order */
	unsigned n_order;
};

static const enum hv_blk_aio aio_sync = HV_AIO_SYNC, aio_threads = HV_AIO_THREADS,
			     aio_uring = HV_AIO_IO_URING;

/* ---- images ---- */

static void fill_pattern(int fd, size_t size)
{
	uint8_t *buf = malloc(size);

	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 7 + i / 4096);
	assert_int_equal(pwrite(fd, buf, size, 0), (ssize_t)size);
	free(buf);
}

/* tmpfs: PUNCH_HOLE works, ZERO_RANGE does not */
static int img_memfd(size_t size)
{
	int fd = memfd_create("blk-img", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	fill_pattern(fd, size);
	return fd;
}

/* /tmp: whatever the filesystem can do (ext4: both) */
static int img_tmpfile(size_t size)
{
	char path[] = "/tmp/test-blk-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	fill_pattern(fd, size);
	assert_int_equal(fsync(fd), 0);
	return fd;
}

static void img_read(struct fx *f, uint64_t off, void *buf, size_t len)
{
	assert_int_equal(pread(f->img, buf, len, (off_t)off), (ssize_t)len);
}

/* ---- register access ---- */

static bool needs_reset(struct fx *f)
{
	return vtest_status(&f->t, 0) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

static struct virtio_blk_config config(struct fx *f)
{
	struct virtio_blk_config c;
	uint8_t *p = (uint8_t *)&c;

	for (unsigned i = 0; i < sizeof(c); i++)
		p[i] = (uint8_t)vtest_read(&f->t, 0, VIRTIO_MMIO_CONFIG + i, 1);
	return c;
}

/* ---- the driver ---- */

static struct vring_desc *desc(struct fx *f)
{
	return vtest_host(&f->t, f->desc_gpa);
}

static struct vring_avail *avail(struct fx *f)
{
	return vtest_host(&f->t, f->avail_gpa);
}

static struct vring_used *used(struct fx *f)
{
	return vtest_host(&f->t, f->used_gpa);
}

static uint64_t hdr_gpa(struct fx *f, uint16_t head)
{
	return f->area_gpa + (uint64_t)head * AREA_STRIDE;
}

static uint64_t status_gpa(struct fx *f, uint16_t head)
{
	return hdr_gpa(f, head) + 32;
}

static uint8_t status_of(struct fx *f, uint16_t head)
{
	return *(uint8_t *)vtest_host(&f->t, status_gpa(f, head));
}

/* Reset, negotiate `features` (& offered), set up the queue, DRIVER_OK. */
static void drv_init(struct fx *f, uint64_t features)
{
	features = (features & vtest_offered(&f->t, 0)) | V1;
	f->features = features;
	assert_true(vtest_negotiate(&f->t, 0, features));

	memset(vtest_host(&f->t, f->desc_gpa), 0, 16 * QN);
	memset(vtest_host(&f->t, f->avail_gpa), 0, 6 + 2 * QN);
	memset(vtest_host(&f->t, f->used_gpa), 0, 6 + 8 * QN);
	f->avail_idx = f->used_idx = 0;
	for (unsigned i = 0; i < QN; i++) {
		f->dfree[i] = true;
		f->outstanding[i] = false;
	}
	f->n_submitted = f->n_completed = f->n_order = 0;
	vtest_wr(&f->t, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(vtest_rd(&f->t, VIRTIO_MMIO_QUEUE_NUM_MAX), QN);
	vtest_queue_setup(&f->t, 0, 0, QN, f->desc_gpa, f->avail_gpa, f->used_gpa);
	assert_true(vtest_driver_ok(&f->t, 0));
}

static void create(struct fx *f, int img, bool readonly, const char *serial)
{
	struct vdev_params p = vtest_params(&f->t, 0, IRQ);
	struct blk_params bp = {
		.fd = dup(img), .readonly = readonly, .serial = serial, .aio = f->aio};

	assert_int_equal(blk_create(&p, &bp, &f->d), 0);
	vtest_add(&f->t, 0, f->d);
}

/* n free descriptors, or -1 */
static int reserve(struct fx *f, unsigned n, uint16_t *idx)
{
	unsigned k = 0;

	for (unsigned i = 0; i < QN && k < n; i++)
		if (f->dfree[i])
			idx[k++] = (uint16_t)i;
	if (k < n)
		return -1;
	for (unsigned i = 0; i < n; i++)
		f->dfree[idx[i]] = false;
	return 0;
}

static void set_desc(struct fx *f, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	desc(f)[i] = (struct vring_desc){.addr = htole64(addr),
					 .len = htole32(len),
					 .flags = htole16(flags),
					 .next = htole16(next)};
}

/* Makes head available (without a kick). */
static void publish(struct fx *f, uint16_t head)
{
	avail(f)->ring[f->avail_idx % QN] = htole16(head);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	avail(f)->idx = htole16(++f->avail_idx);
	f->outstanding[head] = true;
	f->n_submitted++;
}

static void kick(struct fx *f)
{
	vtest_wr(&f->t, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

/* A chain of bufs, direct or through one indirect table; returns head. */
static uint16_t add_bufs(struct fx *f, const struct tbuf *b, unsigned n, bool indirect)
{
	uint16_t idx[MAX_CHAIN] = {0};

	assert_true(n > 0 && n <= MAX_CHAIN);
	assert_int_equal(reserve(f, indirect ? 1 : n, idx), 0);
	if (indirect) {
		uint64_t tbl = f->ind_gpa + (uint64_t)idx[0] * IND_STRIDE;
		struct vring_desc *t = vtest_host(&f->t, tbl);

		for (unsigned i = 0; i < n; i++)
			t[i] = (struct vring_desc){
				.addr = htole64(b[i].gpa),
				.len = htole32(b[i].len),
				.flags = htole16((b[i].w ? VRING_DESC_F_WRITE : 0) |
						 (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
				.next = htole16((uint16_t)(i + 1))};
		set_desc(f, idx[0], tbl, n * 16, VRING_DESC_F_INDIRECT, 0);
		f->chain_n[idx[0]] = 1;
		f->chain[idx[0]][0] = idx[0];
		return idx[0];
	}
	for (unsigned i = 0; i < n; i++) {
		set_desc(f, idx[i], b[i].gpa, b[i].len,
			 (b[i].w ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0),
			 i + 1 < n ? idx[i + 1] : 0);
		f->chain[idx[0]][i] = idx[i];
	}
	f->chain_n[idx[0]] = n;
	return idx[0];
}

/* A virtio-blk request: header, data buffers, status; published. Needs
 * the head before the header is written, so reserves first. */
static uint16_t submit(struct fx *f, uint32_t type, uint64_t sector, const struct tbuf *data,
		       unsigned ndata, bool indirect)
{
	struct tbuf b[MAX_CHAIN];
	uint16_t head;
	struct virtio_blk_outhdr *h;

	assert_true(ndata + 2 <= MAX_CHAIN);
	/* placeholder addresses; fixed once the head is known */
	b[0] = (struct tbuf){0, 16, false};
	for (unsigned i = 0; i < ndata; i++)
		b[1 + i] = data[i];
	b[ndata + 1] = (struct tbuf){0, 1, true};
	{
		uint16_t idx[MAX_CHAIN] = {0};

		/* peek at the head the chain will get */
		assert_int_equal(reserve(f, 1, idx), 0);
		f->dfree[idx[0]] = true;
		head = idx[0];
	}
	b[0].gpa = hdr_gpa(f, head);
	b[ndata + 1].gpa = status_gpa(f, head);
	h = vtest_host(&f->t, hdr_gpa(f, head));
	*h = (struct virtio_blk_outhdr){.type = htole32(type), .sector = htole64(sector)};
	*(uint8_t *)vtest_host(&f->t, status_gpa(f, head)) = 0xee;
	assert_int_equal(add_bufs(f, b, ndata + 2, indirect), head);
	publish(f, head);
	return head;
}

/* Takes what the device completed; fails on a duplicate or unknown head. */
static unsigned reap(struct fx *f)
{
	unsigned n = 0;

	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	while (f->used_idx != le16toh(used(f)->idx)) {
		struct vring_used_elem *u = &used(f)->ring[f->used_idx % QN];
		uint32_t id = le32toh(u->id);

		assert_true(id < QN);
		assert_true(f->outstanding[id]); /* exactly one used entry per request */
		f->outstanding[id] = false;
		f->used_len[id] = le32toh(u->len);
		for (unsigned i = 0; i < f->chain_n[id]; i++)
			f->dfree[f->chain[id][i]] = true;
		if (f->n_order < ARRAY_SIZE(f->order))
			f->order[f->n_order++] = (uint16_t)id;
		f->used_idx++;
		f->n_completed++;
		n++;
	}
	return n;
}

/* Polls the loop until every request submitted is completed. */
static void wait_all(struct fx *f)
{
	for (int ms = 0; ms < WAIT_MS; ms++) {
		reap(f);
		if (f->n_completed == f->n_submitted)
			break;
		vtest_poll(&f->t, 1);
	}
	reap(f);
	assert_int_equal(f->n_completed, f->n_submitted);
	vtest_wr(&f->t, VIRTIO_MMIO_INTERRUPT_ACK, vtest_rd(&f->t, VIRTIO_MMIO_INTERRUPT_STATUS));
}

/* One request, waited for; returns its status, used length in *ret_len. */
static uint8_t do_req(struct fx *f, uint32_t type, uint64_t sector, const struct tbuf *data,
		      unsigned ndata, uint32_t *ret_len)
{
	uint16_t head = submit(f, type, sector, data, ndata, false);

	kick(f);
	wait_all(f);
	if (ret_len)
		*ret_len = f->used_len[head];
	return status_of(f, head);
}

static uint8_t rw(struct fx *f, bool write, uint64_t sector, uint64_t gpa, uint32_t len)
{
	struct tbuf b = {gpa, len, !write};

	return do_req(f, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector, &b, 1, NULL);
}

static void *host(struct fx *f, uint64_t gpa)
{
	return vtest_host(&f->t, gpa);
}

/* ---- fixture ---- */

#define ALL_FEATURES                                                                   \
	(F(VIRTIO_BLK_F_SEG_MAX) | F(VIRTIO_BLK_F_BLK_SIZE) | F(VIRTIO_BLK_F_FLUSH) |  \
	 F(VIRTIO_BLK_F_RO) | F(VIRTIO_BLK_F_DISCARD) | F(VIRTIO_BLK_F_WRITE_ZEROES) | \
	 F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_RING_F_INDIRECT_DESC))

static void fx_alloc_rings(struct fx *f)
{
	f->desc_gpa = vtest_alloc(&f->t, 16 * QN, 4096);
	f->avail_gpa = vtest_alloc(&f->t, 6 + 2 * QN, 4096);
	f->used_gpa = vtest_alloc(&f->t, 6 + 8 * QN, 4096);
	f->area_gpa = vtest_alloc(&f->t, AREA_STRIDE * QN, 4096);
	f->ind_gpa = vtest_alloc(&f->t, IND_STRIDE * QN, 4096);
	f->data_gpa = vtest_alloc(&f->t, 16u << 20, 4096);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->aio = *(const enum hv_blk_aio *)*state;
	vtest_init(&f->t);
	fx_alloc_rings(f);
	f->img = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	blk_io_test_hold = (struct blk_io_hold){0}; /* after a failed test_out_of_order */
	/* every request got its used entry, unless the device gave up */
	if (f->d && !needs_reset(f)) {
		reap(f);
		assert_int_equal(f->n_completed, f->n_submitted);
	}
	vtest_done(&f->t);
	if (f->img >= 0)
		close(f->img);
	free(f);
	return 0;
}

/* memfd image, device created and initialised with every feature */
static void start(struct fx *f)
{
	f->img = img_memfd(IMG_SIZE);
	create(f, f->img, false, NULL);
	drv_init(f, ALL_FEATURES);
}

/* ---- tests ---- */

static void test_identity(void **state)
{
	struct fx *f = *state;
	struct virtio_blk_config c;
	struct json_object *o;
	uint64_t feat;

	start(f);
	assert_int_equal(vtest_rd(&f->t, VIRTIO_MMIO_DEVICE_ID), 2);
	feat = vtest_offered(&f->t, 0);
	assert_true(feat & F(VIRTIO_BLK_F_SEG_MAX));
	assert_true(feat & F(VIRTIO_BLK_F_BLK_SIZE));
	assert_true(feat & F(VIRTIO_BLK_F_FLUSH));
	assert_true(feat & F(VIRTIO_RING_F_EVENT_IDX));
	assert_true(feat & F(VIRTIO_RING_F_INDIRECT_DESC));
	assert_true(feat & V1);
	assert_false(feat & F(VIRTIO_BLK_F_RO));
	assert_false(feat & F(VIRTIO_BLK_F_SIZE_MAX));
	assert_false(feat & F(VIRTIO_BLK_F_MQ));
	/* tmpfs punches holes but has no ZERO_RANGE */
	assert_true(feat & F(VIRTIO_BLK_F_DISCARD));
	assert_false(feat & F(VIRTIO_BLK_F_WRITE_ZEROES));
	c = config(f);
	assert_int_equal(le64toh(c.capacity), IMG_SIZE / SECT);
	assert_int_equal(le32toh(c.seg_max), QN - 2);
	assert_int_equal(le32toh(c.blk_size), 512);
	assert_int_equal(le32toh(c.max_discard_seg), 1);
	assert_true(le32toh(c.max_discard_sectors) > 0);
	assert_int_equal(le32toh(c.max_write_zeroes_seg), 0);
	/* config space is read-only, and ends after write_zeroes_may_unmap */
	vtest_write(&f->t, 0, VIRTIO_MMIO_CONFIG, 8, 1);
	assert_int_equal(le64toh(config(f).capacity), IMG_SIZE / SECT);
	assert_int_equal(vtest_read(&f->t, 0, VIRTIO_MMIO_CONFIG + 60, 4), 0);

	o = json_object_new_object();
	f->d->ops->describe(f->d, o);
	assert_string_equal(json_object_get_string(json_object_object_get(o, "engine")),
			    f->aio == HV_AIO_SYNC      ? "sync"
			    : f->aio == HV_AIO_THREADS ? "threads"
#ifdef HAVE_LIBURING
						       : "io_uring");
#else
						       : "threads");
#endif
	assert_false(json_object_get_boolean(json_object_object_get(o, "readonly")));
	assert_true(json_object_get_boolean(json_object_object_get(o, "discard")));
	assert_int_equal(json_object_get_int64(json_object_object_get(o, "capacity_sectors")),
			 IMG_SIZE / SECT);
	json_object_put(o);
}

static void test_rw_layouts(void **state)
{
	struct fx *f = *state;
	uint64_t buf = f->data_gpa;
	uint8_t *p = host(f, buf), check[4 * SECT];
	struct tbuf d[3];
	uint32_t len;

	start(f);
	for (unsigned i = 0; i < 4 * SECT; i++)
		p[i] = (uint8_t)(i * 13 + 1);
	/* write from three readable buffers of odd sizes, via an indirect table */
	d[0] = (struct tbuf){buf, 100, false};
	d[1] = (struct tbuf){buf + 100, 1000, false};
	d[2] = (struct tbuf){buf + 1100, 4 * SECT - 1100, false};
	submit(f, VIRTIO_BLK_T_OUT, 100, d, 3, true);
	kick(f);
	wait_all(f);
	assert_int_equal(status_of(f, f->order[0]), VIRTIO_BLK_S_OK);
	img_read(f, 100 * SECT, check, sizeof(check));
	assert_memory_equal(check, p, sizeof(check));

	/* read it back into three writable buffers */
	memset(host(f, buf + 8192), 0, 4 * SECT);
	d[0] = (struct tbuf){buf + 8192, 7, true};
	d[1] = (struct tbuf){buf + 8192 + 7, 2000, true};
	d[2] = (struct tbuf){buf + 8192 + 2007, 4 * SECT - 2007, true};
	assert_int_equal(do_req(f, VIRTIO_BLK_T_IN, 100, d, 3, &len), VIRTIO_BLK_S_OK);
	assert_int_equal(len, 4 * SECT + 1);
	assert_memory_equal(host(f, buf + 8192), p, 4 * SECT);

	/* the last sector of the disk, and the first */
	assert_int_equal(rw(f, false, IMG_SIZE / SECT - 1, buf, SECT), VIRTIO_BLK_S_OK);
	img_read(f, IMG_SIZE - SECT, check, SECT);
	assert_memory_equal(check, p, SECT);
	assert_int_equal(rw(f, true, 0, buf + 8192, SECT), VIRTIO_BLK_S_OK);
	img_read(f, 0, check, SECT);
	assert_memory_equal(check, host(f, buf + 8192), SECT);
}

/* Header split over two buffers, data and status in one buffer. */
static void test_odd_framing(void **state)
{
	struct fx *f = *state;
	uint64_t hdr = f->data_gpa, io = f->data_gpa + 4096;
	struct virtio_blk_outhdr h = {.type = htole32(VIRTIO_BLK_T_IN), .sector = htole64(3)};
	uint8_t check[SECT];
	uint16_t idx[3];

	start(f);
	memcpy(host(f, hdr), &h, 8);
	memcpy(host(f, hdr + 100), (uint8_t *)&h + 8, 8);
	memset(host(f, io), 0xcc, SECT + 1);
	assert_int_equal(reserve(f, 3, idx), 0);
	set_desc(f, idx[0], hdr, 8, VRING_DESC_F_NEXT, idx[1]);
	set_desc(f, idx[1], hdr + 100, 8, VRING_DESC_F_NEXT, idx[2]);
	set_desc(f, idx[2], io, SECT + 1, VRING_DESC_F_WRITE, 0);
	f->chain_n[idx[0]] = 3;
	memcpy(f->chain[idx[0]], idx, sizeof(idx));
	publish(f, idx[0]);
	kick(f);
	wait_all(f);
	assert_int_equal(*(uint8_t *)host(f, io + SECT), VIRTIO_BLK_S_OK);
	assert_int_equal(f->used_len[idx[0]], SECT + 1);
	img_read(f, 3 * SECT, check, SECT);
	assert_memory_equal(check, host(f, io), SECT);
}

/* QD32 of 4 KiB random writes then reads, all in flight at once. */
static void test_qd32(void **state)
{
	struct fx *f = *state;
	uint64_t sectors[32];
	uint16_t heads[32];
	uint8_t check[4096];

	start(f);
	srand(42);
	for (unsigned i = 0; i < 32; i++) {
		uint8_t *p = host(f, f->data_gpa + i * 4096);

		/* distinct 4 KiB slots */
		sectors[i] = (uint64_t)(i * 29 % 1024) * 8;
		for (unsigned k = 0; k < 4096; k++)
			p[k] = (uint8_t)(rand() & 0xff);
	}
	for (unsigned i = 0; i < 32; i++) {
		struct tbuf b = {f->data_gpa + i * 4096, 4096, false};

		heads[i] = submit(f, VIRTIO_BLK_T_OUT, sectors[i], &b, 1, false);
	}
	kick(f);
	wait_all(f);
	for (unsigned i = 0; i < 32; i++) {
		assert_int_equal(status_of(f, heads[i]), VIRTIO_BLK_S_OK);
		img_read(f, sectors[i] * SECT, check, 4096);
		assert_memory_equal(check, host(f, f->data_gpa + i * 4096), 4096);
	}
	/* and read them back, 32 in flight */
	for (unsigned i = 0; i < 32; i++) {
		struct tbuf b = {f->data_gpa + (64 + i) * 4096, 4096, true};

		heads[i] = submit(f, VIRTIO_BLK_T_IN, sectors[i], &b, 1, false);
	}
	kick(f);
	wait_all(f);
	for (unsigned i = 0; i < 32; i++) {
		assert_int_equal(status_of(f, heads[i]), VIRTIO_BLK_S_OK);
		assert_int_equal(f->used_len[heads[i]], 4097);
		assert_memory_equal(host(f, f->data_gpa + (64 + i) * 4096),
				    host(f, f->data_gpa + i * 4096), 4096);
	}
	/* completions were batched: far fewer interrupts than requests */
	assert_true(f->t.irqs_raised < 64);
}

/* A slow request first, 31 quick ones behind it: with an asynchronous
 * engine the quick ones complete first. */
#define OOO_WRITE (12u << 20)

/* test_out_of_order's hold (blk_io_test_hold): the big write's completion
 * waits until a read has completed. */
static bool hold_write_for_a_read(void *ctx, const struct blk_io_req *r)
{
	unsigned *reads = ctx;

	if (r->op == BLK_IO_READ)
		++*reads;
	return r->op == BLK_IO_WRITE && r->len == OOO_WRITE && *reads == 0;
}

/* Completions reach the used ring in the order they finish, not in the
 * order of the avail ring: a write submitted first and finishing after
 * the reads behind it (the hold makes sure it does) is used after them,
 * and every request completes. */
static void test_out_of_order(void **state)
{
	struct fx *f = *state;
	unsigned reads = 0, pos = 0;
	uint16_t big;
	struct tbuf b[6];

	f->img = img_tmpfile(64u << 20);
	create(f, f->img, false, NULL);
	drv_init(f, ALL_FEATURES & ~F(VIRTIO_BLK_F_FLUSH));
	for (unsigned i = 0; i < 6; i++)
		b[i] = (struct tbuf){f->data_gpa + i * (2u << 20), 2u << 20, false};
	memset(host(f, f->data_gpa), 0x5a, OOO_WRITE);
	blk_io_test_hold = (struct blk_io_hold){hold_write_for_a_read, &reads};
	big = submit(f, VIRTIO_BLK_T_OUT, 0, b, 6, true);
	for (unsigned i = 0; i < 31; i++) {
		struct tbuf r = {f->data_gpa + (16u << 20) - (i + 1) * 4096, 4096, true};

		submit(f, VIRTIO_BLK_T_IN, 65536 + i * 8, &r, 1, false);
	}
	kick(f);
	wait_all(f);
	blk_io_test_hold = (struct blk_io_hold){0};
	for (unsigned i = 0; i < f->n_order; i++)
		if (f->order[i] == big)
			pos = i;
	assert_int_equal(status_of(f, big), VIRTIO_BLK_S_OK);
	assert_true(reads > 0);
	assert_true(pos > 0);
}

static void test_flush(void **state)
{
	struct fx *f = *state;
	uint8_t check[SECT];

	f->img = img_tmpfile(IMG_SIZE);
	create(f, f->img, false, NULL);
	/* write-back: writes then FLUSH */
	drv_init(f, ALL_FEATURES);
	assert_true(f->features & F(VIRTIO_BLK_F_FLUSH));
	memset(host(f, f->data_gpa), 0x11, SECT);
	assert_int_equal(rw(f, true, 5, f->data_gpa, SECT), VIRTIO_BLK_S_OK);
	assert_int_equal(do_req(f, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	img_read(f, 5 * SECT, check, SECT);
	assert_memory_equal(check, host(f, f->data_gpa), SECT);
	/* a FLUSH with a sector number and extra writable bytes: still a flush */
	{
		struct tbuf b = {f->data_gpa + 4096, 8, true};

		assert_int_equal(do_req(f, VIRTIO_BLK_T_FLUSH, 77, &b, 1, NULL), VIRTIO_BLK_S_OK);
	}

	/* write-through: FLUSH not negotiated, writes are durable at once */
	drv_init(f, ALL_FEATURES & ~F(VIRTIO_BLK_F_FLUSH));
	memset(host(f, f->data_gpa), 0x22, 8 * SECT);
	assert_int_equal(rw(f, true, 8, f->data_gpa, 8 * SECT), VIRTIO_BLK_S_OK);
	img_read(f, 8 * SECT, check, SECT);
	assert_memory_equal(check, host(f, f->data_gpa), SECT);
}

static void test_get_id(void **state)
{
	struct fx *f = *state;
	uint16_t head;
	struct tbuf b;
	char want[20] = "hvisor-a000000";

	start(f);
	head = submit(f, VIRTIO_BLK_T_GET_ID, 0, &(struct tbuf){f->data_gpa, 20, true}, 1, false);
	memset(host(f, f->data_gpa), 0xff, 20);
	kick(f);
	wait_all(f);
	assert_int_equal(status_of(f, head), VIRTIO_BLK_S_OK);
	assert_int_equal(f->used_len[head], 21);
	/* derived from the device's base address, zero-padded */
	assert_memory_equal(host(f, f->data_gpa), want, 20);

	/* a configured serial of exactly 20 bytes: no terminating NUL */
	vtest_remove(&f->t, 0);
	create(f, f->img, false, "ABCDEFGHIJKLMNOPQRST");
	drv_init(f, ALL_FEATURES);
	b = (struct tbuf){f->data_gpa, 20, true};
	assert_int_equal(do_req(f, VIRTIO_BLK_T_GET_ID, 0, &b, 1, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(host(f, f->data_gpa), "ABCDEFGHIJKLMNOPQRST", 20);
	/* a smaller buffer gets what fits, the status byte is not touched */
	memset(host(f, f->data_gpa), 0, 20);
	b.len = 5;
	head = submit(f, VIRTIO_BLK_T_GET_ID, 0, &b, 1, false);
	kick(f);
	wait_all(f);
	assert_int_equal(status_of(f, head), VIRTIO_BLK_S_OK);
	assert_int_equal(f->used_len[head], 6);
	assert_memory_equal(host(f, f->data_gpa), "ABCDE\0", 6);
	/* a short serial is zero-padded */
	vtest_remove(&f->t, 0);
	create(f, f->img, false, "disk1");
	drv_init(f, ALL_FEATURES);
	memset(host(f, f->data_gpa), 0xff, 20);
	b.len = 20;
	assert_int_equal(do_req(f, VIRTIO_BLK_T_GET_ID, 0, &b, 1, NULL), VIRTIO_BLK_S_OK);
	assert_memory_equal(host(f, f->data_gpa), "disk1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);
}

static void test_readonly(void **state)
{
	struct fx *f = *state;
	char path[64];
	uint8_t before[SECT], after[SECT];
	struct vdev_params p;
	struct blk_params bp;
	struct virtio_dev *d;
	uint64_t feat;
	int ro;

	f->img = img_memfd(IMG_SIZE);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f->img);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(ro >= 0);

	/* a read-only fd for a writable device is refused (and closed) */
	p = vtest_params(&f->t, 0, IRQ);
	bp = (struct blk_params){.fd = dup(ro), .readonly = false, .aio = f->aio};
	assert_int_equal(blk_create(&p, &bp, &d), -EBADF);

	create(f, ro, true, NULL);
	close(ro);
	feat = vtest_offered(&f->t, 0);
	assert_true(feat & F(VIRTIO_BLK_F_RO));
	assert_false(feat & F(VIRTIO_BLK_F_DISCARD));
	assert_false(feat & F(VIRTIO_BLK_F_WRITE_ZEROES));
	drv_init(f, ALL_FEATURES);

	img_read(f, 0, before, SECT);
	memset(host(f, f->data_gpa), 0x77, SECT);
	assert_int_equal(rw(f, true, 0, f->data_gpa, SECT), VIRTIO_BLK_S_IOERR);
	img_read(f, 0, after, SECT);
	assert_memory_equal(before, after, SECT);
	/* reads work, FLUSH succeeds, DISCARD is not supported */
	assert_int_equal(rw(f, false, 0, f->data_gpa, SECT), VIRTIO_BLK_S_OK);
	assert_memory_equal(host(f, f->data_gpa), before, SECT);
	assert_int_equal(do_req(f, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, NULL), VIRTIO_BLK_S_OK);
	{
		struct virtio_blk_discard_write_zeroes *s = host(f, f->data_gpa + 4096);
		struct tbuf b = {f->data_gpa + 4096, sizeof(*s), false};

		*s = (struct virtio_blk_discard_write_zeroes){.sector = 0,
							      .num_sectors = htole32(8)};
		assert_int_equal(do_req(f, VIRTIO_BLK_T_DISCARD, 0, &b, 1, NULL),
				 VIRTIO_BLK_S_UNSUPP);
	}
	img_read(f, 0, after, SECT);
	assert_memory_equal(before, after, SECT);
}

static uint8_t zero_req(struct fx *f, uint32_t type, uint64_t sector, uint32_t n, uint32_t flags,
			unsigned nseg)
{
	struct virtio_blk_discard_write_zeroes *s = host(f, f->data_gpa + (8u << 20));
	struct tbuf b = {f->data_gpa + (8u << 20), (uint32_t)(nseg * sizeof(*s)), false};

	for (unsigned i = 0; i < nseg; i++)
		s[i] = (struct virtio_blk_discard_write_zeroes){.sector = htole64(sector),
								.num_sectors = htole32(n),
								.flags = htole32(flags)};
	return do_req(f, type, 0, &b, 1, NULL);
}

static bool is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static blkcnt_t blocks(struct fx *f)
{
	struct stat st;

	assert_int_equal(fsync(f->img), 0);
	assert_int_equal(fstat(f->img, &st), 0);
	return st.st_blocks;
}

static void test_discard_write_zeroes(void **state)
{
	struct fx *f = *state;
	uint8_t buf[65536];
	blkcnt_t b0, b1;
	uint64_t feat;

	f->img = img_tmpfile(IMG_SIZE);
	create(f, f->img, false, NULL);
	feat = vtest_offered(&f->t, 0);
	if (!(feat & F(VIRTIO_BLK_F_DISCARD)) || !(feat & F(VIRTIO_BLK_F_WRITE_ZEROES))) {
		skip_because("/tmp cannot punch holes and zero ranges");
	}
	assert_int_equal(le32toh(config(f).max_write_zeroes_seg), 1);
	assert_int_equal(config(f).write_zeroes_may_unmap, 1);
	drv_init(f, ALL_FEATURES);

	/* discard 64 KiB: a hole, reads as zeroes */
	b0 = blocks(f);
	assert_int_equal(zero_req(f, VIRTIO_BLK_T_DISCARD, 128, 128, 0, 1), VIRTIO_BLK_S_OK);
	b1 = blocks(f);
	assert_true(b1 < b0);
	img_read(f, 128 * SECT, buf, 65536);
	assert_true(is_zero(buf, 65536));
	assert_int_equal(lseek(f->img, 0, SEEK_HOLE), 128 * SECT);
	img_read(f, 127 * SECT, buf, SECT); /* neighbours untouched */
	assert_false(is_zero(buf, SECT));

	/* write zeroes without UNMAP: zeroes, space stays allocated */
	assert_int_equal(zero_req(f, VIRTIO_BLK_T_WRITE_ZEROES, 1024, 128, 0, 1), VIRTIO_BLK_S_OK);
	img_read(f, 1024 * SECT, buf, 65536);
	assert_true(is_zero(buf, 65536));
	assert_true(blocks(f) >= b1); /* (an extent block may be added) */
	/* with UNMAP it may punch: here it does */
	assert_int_equal(zero_req(f, VIRTIO_BLK_T_WRITE_ZEROES, 2048, 128,
				  VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1),
			 VIRTIO_BLK_S_OK);
	img_read(f, 2048 * SECT, buf, 65536);
	assert_true(is_zero(buf, 65536));
	assert_true(blocks(f) < b1);

	/* what is refused */
	assert_int_equal(
		zero_req(f, VIRTIO_BLK_T_DISCARD, 0, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, 1),
		VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(zero_req(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0x2, 1), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(zero_req(f, VIRTIO_BLK_T_DISCARD, 0, 8, 0, 2), VIRTIO_BLK_S_IOERR);
	assert_int_equal(zero_req(f, VIRTIO_BLK_T_DISCARD, IMG_SIZE / SECT - 4, 8, 0, 1),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(zero_req(f, VIRTIO_BLK_T_WRITE_ZEROES, UINT64_MAX - 2, 8, 0, 1),
			 VIRTIO_BLK_S_IOERR);
	/* a short segment */
	{
		struct tbuf b = {f->data_gpa, 8, false};

		assert_int_equal(do_req(f, VIRTIO_BLK_T_DISCARD, 0, &b, 1, NULL),
				 VIRTIO_BLK_S_IOERR);
	}
	/* write-through: fallocate then fdatasync */
	drv_init(f, ALL_FEATURES & ~F(VIRTIO_BLK_F_FLUSH));
	assert_int_equal(zero_req(f, VIRTIO_BLK_T_WRITE_ZEROES, 4096, 8, 0, 1), VIRTIO_BLK_S_OK);
	assert_int_equal(zero_req(f, VIRTIO_BLK_T_DISCARD, 4200, 8, 0, 1), VIRTIO_BLK_S_OK);
	img_read(f, 4096 * SECT, buf, 4096);
	assert_true(is_zero(buf, 4096));
}

/* tmpfs has no ZERO_RANGE: WRITE_ZEROES is not offered, and refused. */
static void test_write_zeroes_not_offered(void **state)
{
	struct fx *f = *state;
	uint8_t before[4096], after[4096];

	start(f);
	assert_false(vtest_offered(&f->t, 0) & F(VIRTIO_BLK_F_WRITE_ZEROES));
	img_read(f, 0, before, sizeof(before));
	assert_int_equal(zero_req(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0, 1), VIRTIO_BLK_S_UNSUPP);
	img_read(f, 0, after, sizeof(after));
	assert_memory_equal(before, after, sizeof(before));
	/* DISCARD offered but not negotiated: refused too */
	drv_init(f, ALL_FEATURES & ~F(VIRTIO_BLK_F_DISCARD));
	assert_int_equal(zero_req(f, VIRTIO_BLK_T_DISCARD, 0, 8, 0, 1), VIRTIO_BLK_S_UNSUPP);
	img_read(f, 0, after, sizeof(after));
	assert_memory_equal(before, after, sizeof(before));
}

/* ---- malicious guests ---- */

/* A request with the given raw descriptors at indexes 0..n-1 (chained in
 * order unless flags say otherwise), published with head 0. */
static void raw_chain(struct fx *f, const struct vring_desc *d, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		desc(f)[i] = d[i];
		f->dfree[i] = false;
		f->chain[0][i] = (uint16_t)i;
	}
	f->chain_n[0] = n;
	publish(f, 0);
}

static struct vring_desc D(uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
	return (struct vring_desc){htole64(addr), htole32(len), htole16(flags), htole16(next)};
}

#define NX VRING_DESC_F_NEXT
#define WR VRING_DESC_F_WRITE

static void
put_hdr(struct fx *f, uint64_t gpa, uint32_t type, uint64_t sector)
{
	*(struct virtio_blk_outhdr *)host(f, gpa) =
		(struct virtio_blk_outhdr){.type = htole32(type), .sector = htole64(sector)};
}

/* After a ring is corrupted: NEEDS_RESET, then a reset makes it work. */
static void expect_needs_reset_then_recover(struct fx *f)
{
	uint8_t check[SECT];

	kick(f);
	vtest_poll(&f->t, 10);
	assert_true(needs_reset(f));
	/* kicks are ignored from now on */
	kick(f);
	drv_init(f, ALL_FEATURES);
	assert_false(needs_reset(f));
	memset(host(f, f->data_gpa), 0x42, SECT);
	assert_int_equal(rw(f, true, 1, f->data_gpa, SECT), VIRTIO_BLK_S_OK);
	img_read(f, SECT, check, SECT);
	assert_memory_equal(check, host(f, f->data_gpa), SECT);
}

static void test_bad_descriptor_loop(void **state)
{
	struct fx *f = *state;
	uint64_t h = f->data_gpa;
	struct vring_desc d[3] = {D(h, 16, NX, 1), D(h + 512, 512, NX | WR, 2),
				  D(h + 1024, 1, NX | WR, 1)};

	start(f);
	put_hdr(f, h, VIRTIO_BLK_T_IN, 0);
	raw_chain(f, d, 3);
	expect_needs_reset_then_recover(f);
}

static void test_bad_head_index(void **state)
{
	struct fx *f = *state;

	start(f);
	avail(f)->ring[0] = htole16(QN); /* head >= size */
	avail(f)->idx = htole16(++f->avail_idx);
	expect_needs_reset_then_recover(f);
}

static void test_bad_next_index(void **state)
{
	struct fx *f = *state;
	uint64_t h = f->data_gpa;
	struct vring_desc d[2] = {D(h, 16, NX, 1), D(h + 512, 512, NX | WR, 999)};

	start(f);
	put_hdr(f, h, VIRTIO_BLK_T_IN, 0);
	raw_chain(f, d, 2);
	expect_needs_reset_then_recover(f);
}

static void test_bad_avail_jump(void **state)
{
	struct fx *f = *state;

	start(f);
	avail(f)->idx = htole16(QN + 1);
	expect_needs_reset_then_recover(f);
}

/* Requests that are well-formed rings but bad requests: each gets an
 * error status (IOERR unless said otherwise) and the device goes on. */
struct bad_case {
	const char *what;
	struct vring_desc d[4];
	unsigned n;
	uint32_t type;
	uint64_t sector;
	int want; /* status, or -1: no status byte, used length 0 */
};

static void run_bad(struct fx *f, const struct bad_case *c, unsigned status_idx)
{
	uint8_t before[SECT], after[SECT];
	uint64_t errors = f->d->n_errors;
	uint8_t *st = NULL;

	print_message("# %s\n", c->what);
	put_hdr(f, f->data_gpa, c->type, c->sector);
	if (status_idx < c->n) {
		const struct vring_desc *s = &c->d[status_idx];

		st = host(f, le64toh(s->addr) + le32toh(s->len) - 1);
		*st = 0xee;
	}
	img_read(f, 0, before, SECT);
	raw_chain(f, c->d, c->n);
	kick(f);
	wait_all(f);
	assert_false(needs_reset(f));
	if (c->want < 0)
		assert_int_equal(f->used_len[0], 0);
	else {
		assert_non_null(st);
		assert_int_equal(*st, c->want);
		assert_int_equal(f->used_len[0], 1); /* the status byte only */
	}
	assert_true(f->d->n_errors > errors);
	img_read(f, 0, after, SECT);
	assert_memory_equal(before, after, SECT);
}

static void test_bad_requests(void **state)
{
	struct fx *f = *state;
	const uint64_t h = f->data_gpa, buf = h + 4096, st = h + 65536;
	const uint64_t ram_end = VTEST_RAM_GPA + VTEST_RAM_SIZE;
	const uint64_t cap = IMG_SIZE / SECT;
	uint64_t table = h + 8192;
	const struct bad_case cases[] = {
		{"data buffer past the end of RAM",
		 {D(h, 16, NX, 1), D(ram_end - 256, 512, NX | WR, 2), D(st, 1, WR, 0)},
		 3,
		 VIRTIO_BLK_T_IN,
		 0,
		 VIRTIO_BLK_S_IOERR},
		{"addr + len wraps 2^64",
		 {D(h, 16, NX, 1), D(UINT64_MAX - 100, 512, NX | WR, 2), D(st, 1, WR, 0)},
		 3,
		 VIRTIO_BLK_T_IN,
		 0,
		 VIRTIO_BLK_S_IOERR},
		{"IN with readable data",
		 {D(h, 16, NX, 1), D(buf, 512, NX, 2), D(st, 1, WR, 0)},
		 3,
		 VIRTIO_BLK_T_IN,
		 0,
		 VIRTIO_BLK_S_IOERR},
		{"OUT with writable data",
		 {D(h, 16, NX, 1), D(buf, 512, NX | WR, 2), D(st, 1, WR, 0)},
		 3,
		 VIRTIO_BLK_T_OUT,
		 0,
		 VIRTIO_BLK_S_IOERR},
		{"read past the capacity",
		 {D(h, 16, NX, 1), D(buf, 1024, NX | WR, 2), D(st, 1, WR, 0)},
		 3,
		 VIRTIO_BLK_T_IN,
		 cap - 1,
		 VIRTIO_BLK_S_IOERR},
		{"write at the capacity",
		 {D(h, 16, NX, 1), D(buf, 512, NX, 2), D(st, 1, WR, 0)},
		 3,
		 VIRTIO_BLK_T_OUT,
		 cap,
		 VIRTIO_BLK_S_IOERR},
		{"sector * 512 overflows",
		 {D(h, 16, NX, 1), D(buf, 512, NX, 2), D(st, 1, WR, 0)},
		 3,
		 VIRTIO_BLK_T_OUT,
		 (1ull << 55) + 1,
		 VIRTIO_BLK_S_IOERR},
		{"sector + count overflows",
		 {D(h, 16, NX, 1), D(buf, 1024, NX | WR, 2), D(st, 1, WR, 0)},
		 3,
		 VIRTIO_BLK_T_IN,
		 UINT64_MAX,
		 VIRTIO_BLK_S_IOERR},
		{"length not a multiple of 512",
		 {D(h, 16, NX, 1), D(buf, 513, NX, 2), D(st, 1, WR, 0)},
		 3,
		 VIRTIO_BLK_T_OUT,
		 0,
		 VIRTIO_BLK_S_IOERR},
		{"zero-length buffer",
		 {D(h, 16, NX, 1), D(buf, 0, NX | WR, 2), D(st, 1, WR, 0)},
		 3,
		 VIRTIO_BLK_T_IN,
		 0,
		 VIRTIO_BLK_S_IOERR},
		{"header shorter than 16 bytes",
		 {D(h, 8, NX, 1), D(st, 1, WR, 0)},
		 2,
		 VIRTIO_BLK_T_FLUSH,
		 0,
		 VIRTIO_BLK_S_IOERR},
		{"unknown request type",
		 {D(h, 16, NX, 1), D(st, 1, WR, 0)},
		 2,
		 0x1234,
		 0,
		 VIRTIO_BLK_S_UNSUPP},
		{"SCSI command (legacy)",
		 {D(h, 16, NX, 1), D(st, 1, WR, 0)},
		 2,
		 2,
		 0,
		 VIRTIO_BLK_S_UNSUPP},
		{"indirect without negotiation",
		 {D(table, 32, VRING_DESC_F_INDIRECT, 0)},
		 1,
		 VIRTIO_BLK_T_IN,
		 0,
		 -1},
		{"no writable status byte",
		 {D(h, 16, NX, 1), D(buf, 512, 0, 0)},
		 2,
		 VIRTIO_BLK_T_OUT,
		 0,
		 -1},
		{"readable after writable (status not last)",
		 {D(h, 16, NX, 1), D(st, 1, NX | WR, 2), D(buf, 512, 0, 0)},
		 3,
		 VIRTIO_BLK_T_IN,
		 0,
		 -1},
		{"status buffer outside RAM",
		 {D(h, 16, NX, 1), D(buf, 512, NX | WR, 2), D(ram_end, 1, WR, 0)},
		 3,
		 VIRTIO_BLK_T_IN,
		 0,
		 -1},
	};
	const unsigned status_idx[] = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 9, 9, 9, 9};

	start(f);
	/* negotiated without INDIRECT_DESC for the indirect case */
	drv_init(f, ALL_FEATURES & ~F(VIRTIO_RING_F_INDIRECT_DESC));
	*(struct vring_desc *)host(f, table) = D(h, 16, NX, 1);
	*((struct vring_desc *)host(f, table) + 1) = D(st, 1, WR, 0);
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++)
		run_bad(f, &cases[i], status_idx[i]);
	/* and the device still works */
	memset(host(f, buf), 0x99, SECT);
	assert_int_equal(rw(f, true, 2, buf, SECT), VIRTIO_BLK_S_OK);
}

static void test_bad_indirect(void **state)
{
	struct fx *f = *state;
	const uint64_t h = f->data_gpa, st = h + 65536;
	uint64_t t1 = h + 8192, t2 = h + 12288;
	struct vring_desc *a = host(f, t1), *b = host(f, t2);
	struct vring_desc d = D(t1, 32, VRING_DESC_F_INDIRECT, 0);

	start(f);
	put_hdr(f, h, VIRTIO_BLK_T_FLUSH, 0);
	/* indirect inside indirect */
	a[0] = D(t2, 32, VRING_DESC_F_INDIRECT | NX, 1);
	a[1] = D(st, 1, WR, 0);
	b[0] = D(h, 16, NX, 1);
	b[1] = D(st, 1, WR, 0);
	*(uint8_t *)host(f, st) = 0xee;
	raw_chain(f, &d, 1);
	kick(f);
	wait_all(f);
	assert_false(needs_reset(f));
	assert_int_equal(*(uint8_t *)host(f, st), VIRTIO_BLK_S_IOERR);
	/* an indirect table whose next points outside it */
	a[0] = D(h, 16, NX, 5);
	*(uint8_t *)host(f, st) = 0xee;
	raw_chain(f, &d, 1);
	kick(f);
	wait_all(f);
	assert_false(needs_reset(f));
	assert_int_equal(f->used_len[0], 0); /* chain broken before the status */
	/* a well-formed one still works */
	a[0] = D(h, 16, NX, 1);
	raw_chain(f, &d, 1);
	kick(f);
	wait_all(f);
	assert_int_equal(*(uint8_t *)host(f, st), VIRTIO_BLK_S_OK);
}

/* ---- lifecycle ---- */

/* Requests in flight when the driver resets: waited for, never pushed;
 * the device works afterwards. */
static void test_reset_inflight(void **state)
{
	struct fx *f = *state;
	struct tbuf b[6];
	uint16_t used_before;
	uint8_t check[SECT];

	f->img = img_tmpfile(64u << 20);
	create(f, f->img, false, NULL);
	drv_init(f, ALL_FEATURES & ~F(VIRTIO_BLK_F_FLUSH));
	for (unsigned i = 0; i < 6; i++)
		b[i] = (struct tbuf){f->data_gpa + i * (2u << 20), 2u << 20, false};
	memset(host(f, f->data_gpa), 0x3c, 12u << 20);
	for (unsigned i = 0; i < 4; i++)
		submit(f, VIRTIO_BLK_T_OUT, i * 24576, b, 6, true);
	kick(f);
	/* all taken; the sync engine runs them inline, at most 1 MiB per
	 * loop turn (these are 12 MiB each) */
	if (f->aio != HV_AIO_SYNC)
		assert_int_equal(f->d->n_requests, 4);
	else
		assert_true(f->d->n_requests >= 1);
	used_before = le16toh(used(f)->idx);
	/* reset at once, without running the loop */
	vtest_wr(&f->t, VIRTIO_MMIO_STATUS, 0);
	if (f->aio != HV_AIO_SYNC)
		assert_int_equal(used_before, 0);
	/* nothing was pushed after the reset */
	assert_int_equal(le16toh(used(f)->idx), used_before);
	vtest_poll(&f->t, 10);
	assert_int_equal(le16toh(used(f)->idx), used_before);

	drv_init(f, ALL_FEATURES);
	memset(host(f, f->data_gpa), 0x5d, SECT);
	assert_int_equal(rw(f, true, 3, f->data_gpa, SECT), VIRTIO_BLK_S_OK);
	img_read(f, 3 * SECT, check, SECT);
	assert_memory_equal(check, host(f, f->data_gpa), SECT);
}

/* drain(): takes nothing new, completes what is in flight, returns 0. */
static void test_drain(void **state)
{
	struct fx *f = *state;
	uint16_t heads[16];
	int r = 1;

	start(f);
	for (unsigned i = 0; i < 16; i++) {
		struct tbuf b = {f->data_gpa + i * 65536, 65536, true};

		heads[i] = submit(f, VIRTIO_BLK_T_IN, i * 128, &b, 1, false);
	}
	kick(f);
	for (int ms = 0; ms < WAIT_MS && r; ms++) {
		r = f->d->ops->drain(f->d);
		if (r)
			vtest_poll(&f->t, 1);
	}
	assert_int_equal(r, 0);
	/* everything taken was pushed by the time drain returned 0 */
	reap(f);
	assert_int_equal(f->n_completed, 16);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(status_of(f, heads[i]), VIRTIO_BLK_S_OK);
	/* no new requests while draining */
	submit(f, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false);
	kick(f);
	vtest_poll(&f->t, 10);
	assert_int_equal(reap(f), 0);
	assert_int_equal(f->d->ops->drain(f->d), 0);
	/* the one left is never completed by this device: forget it */
	f->n_submitted--;
}

/* A backend restart: state kept in its slot, device destroyed (in-flight
 * work dropped, never pushed), created again and restored: requests made
 * before are taken again and completed exactly once. */
static void test_restore(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio_state saved;
	uint16_t heads[8];
	uint8_t check[4096];

	start(f);
	for (unsigned i = 0; i < 8; i++) {
		struct tbuf b = {f->data_gpa + i * 4096, 4096, false};

		memset(host(f, b.gpa), 0x10 + i, 4096);
		heads[i] = submit(f, VIRTIO_BLK_T_OUT, 800 + i * 8, &b, 1, false);
	}
	/* half of them kicked (in flight for the async engines), half only
	 * published */
	kick(f);
	for (unsigned i = 0; i < 4; i++) {
		struct tbuf b = {f->data_gpa + (8 + i) * 4096, 4096, true};

		submit(f, VIRTIO_BLK_T_IN, 2000 + i * 8, &b, 1, false);
	}
	memcpy(&saved, &f->t.state[0], sizeof(saved));
	vtest_remove(&f->t, 0);
	f->d = NULL;
	memcpy(&f->t.state[0], &saved, sizeof(saved));

	create(f, f->img, false, NULL);
	assert_int_equal(virtio_dev_restore(f->d), 1);
	wait_all(f);
	assert_false(needs_reset(f));
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(status_of(f, heads[i]), VIRTIO_BLK_S_OK);
		img_read(f, (800 + i * 8) * SECT, check, 4096);
		assert_memory_equal(check, host(f, f->data_gpa + i * 4096), 4096);
	}
	for (unsigned i = 0; i < 4; i++) {
		img_read(f, (2000 + i * 8) * SECT, check, 4096);
		assert_memory_equal(host(f, f->data_gpa + (8 + i) * 4096), check, 4096);
	}
	/* and it goes on */
	assert_int_equal(rw(f, false, 800, f->data_gpa + 65536, 4096), VIRTIO_BLK_S_OK);
}

/* EVENT_IDX: the driver asks for an interrupt only at a given used index. */
static void test_event_idx(void **state)
{
	struct fx *f = *state;
	uint16_t *used_event;
	uint64_t irqs;

	start(f);
	assert_true(f->features & F(VIRTIO_RING_F_EVENT_IDX));
	used_event = &avail(f)->ring[QN];
	*used_event = htole16(2); /* interrupt when used->idx passes 2 */
	for (unsigned i = 0; i < 2; i++) {
		submit(f, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false);
		kick(f);
		wait_all(f);
	}
	irqs = f->t.irqs_raised;
	submit(f, VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false);
	kick(f);
	wait_all(f);
	assert_int_equal(f->t.irqs_raised, irqs + 1);
	/* the device asks for kicks through avail_event once idle */
	assert_int_equal(le16toh(*(uint16_t *)&used(f)->ring[QN]), f->avail_idx);
}

static const char *engine_of(struct fx *f)
{
	struct json_object *o = json_object_new_object();
	static char name[16];

	f->d->ops->describe(f->d, o);
	snprintf(name, sizeof(name), "%s",
		 json_object_get_string(json_object_object_get(o, "engine")));
	json_object_put(o);
	return name;
}

/* DEFAULT: sync on a memory-backed image, io_uring on a disk (threads
 * without liburing). */
static void test_default_engine(void **state)
{
	struct fx *f = *state;
	int disk = img_tmpfile(1u << 20);

	f->aio = HV_AIO_DEFAULT;
	f->img = img_memfd(1u << 20);
	create(f, f->img, false, NULL);
	assert_string_equal(engine_of(f), "sync");
	vtest_remove(&f->t, 0);
	create(f, disk, false, NULL);
	close(disk);
#ifdef HAVE_LIBURING
	assert_int_equal(blk_default_aio(), HV_AIO_IO_URING);
#else
	assert_int_equal(blk_default_aio(), HV_AIO_THREADS);
#endif
	if (!strcmp(engine_of(f), "sync")) {
		skip_because("/tmp is a tmpfs here: no default engine for a disk file to check");
	}
	/* io_uring, or threads where io_uring cannot be set up */
	assert_true(!strcmp(engine_of(f), "io_uring") || !strcmp(engine_of(f), "threads"));
	drv_init(f, ALL_FEATURES);
	assert_int_equal(rw(f, false, 0, f->data_gpa, 4096), VIRTIO_BLK_S_OK);
}

/* ---- runner ---- */

#define T(fn)                                                                \
	{#fn "/sync", fn, setup, teardown, (void *)&aio_sync},               \
		{#fn "/threads", fn, setup, teardown, (void *)&aio_threads}, \
	{                                                                    \
#fn "/io_uring", fn, setup, teardown, (void *)&aio_uring     \
	}

/* the asynchronous engines only */
#define TA(fn)                                                           \
	{#fn "/threads", fn, setup, teardown, (void *)&aio_threads},     \
	{                                                                \
#fn "/io_uring", fn, setup, teardown, (void *)&aio_uring \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(test_default_engine, setup, teardown,
							 (void *)&aio_sync),
		T(test_identity),
		T(test_rw_layouts),
		T(test_odd_framing),
		T(test_qd32),
		TA(test_out_of_order),
		T(test_flush),
		T(test_get_id),
		T(test_readonly),
		T(test_discard_write_zeroes),
		T(test_write_zeroes_not_offered),
		T(test_bad_descriptor_loop),
		T(test_bad_head_index),
		T(test_bad_next_index),
		T(test_bad_avail_jump),
		T(test_bad_requests),
		T(test_bad_indirect),
		T(test_reset_inflight),
		T(test_drain),
		T(test_restore),
		T(test_event_idx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
