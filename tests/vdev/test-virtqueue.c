// SPDX-License-Identifier: GPL-2.0-only
/* Split virtqueue, device side, against hand-built rings in fake guest
 * memory: the well-formed cases and every way a guest can get it wrong. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "virtqueue.h"

#define RAM_GPA	 0x80000000ull
#define RAM_SIZE (1u << 20)
#define NUM	 8
#define DESC	 (RAM_GPA + 0x0000)
#define AVAIL	 (RAM_GPA + 0x1000)
#define USED	 (RAM_GPA + 0x2000)
#define BUF	 (RAM_GPA + 0x10000)

struct fx {
	uint8_t *ram;
	struct gmem mem;
	struct virtq vq;
	uint16_t avail_idx;
};

static void *host(struct fx *f, uint64_t gpa)
{
	return f->ram + (gpa - RAM_GPA);
}

static struct vring_desc *desc(struct fx *f, unsigned i)
{
	return (struct vring_desc *)host(f, DESC) + i;
}

static struct vring_avail *avail(struct fx *f)
{
	return host(f, AVAIL);
}

static struct vring_used *used(struct fx *f)
{
	return host(f, USED);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct gmem_region r = {.gpa = RAM_GPA, .size = RAM_SIZE};

	f->ram = calloc(1, RAM_SIZE);
	r.host = f->ram;
	assert_int_equal(gmem_init_static(&f->mem, &r, 1), 0);
	f->vq.num_max = 256;
	f->vq.num = NUM;
	f->vq.desc_gpa = DESC;
	f->vq.avail_gpa = AVAIL;
	f->vq.used_gpa = USED;
	assert_int_equal(virtq_enable(&f->vq, &f->mem, false, true), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->ram);
	free(f);
	return 0;
}

static void set_desc(struct fx *f, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	*desc(f, i) = (struct vring_desc){.addr = addr, .len = len, .flags = flags, .next = next};
}

static void offer(struct fx *f, uint16_t head)
{
	avail(f)->ring[f->avail_idx % NUM] = head;
	f->avail_idx++;
	avail(f)->idx = f->avail_idx;
}

static struct virtq_elem *pop_ok(struct fx *f)
{
	struct virtq_elem *e = NULL;

	assert_int_equal(virtq_pop(&f->vq, &e), 1);
	assert_non_null(e);
	return e;
}

static void test_enable_checks(void **state)
{
	struct fx *f = *state;
	struct virtq vq = {.num_max = 16, .desc_gpa = DESC, .avail_gpa = AVAIL, .used_gpa = USED};

	vq.num = 0;
	assert_int_equal(virtq_enable(&vq, &f->mem, false, false), -EINVAL);
	vq.num = 12; /* not a power of two */
	assert_int_equal(virtq_enable(&vq, &f->mem, false, false), -EINVAL);
	vq.num = 32; /* above the maximum */
	assert_int_equal(virtq_enable(&vq, &f->mem, false, false), -EINVAL);
	vq.num = 16;
	vq.desc_gpa = DESC + 8; /* misaligned */
	assert_int_equal(virtq_enable(&vq, &f->mem, false, false), -EINVAL);
	vq.desc_gpa = RAM_GPA + RAM_SIZE - 64; /* runs past RAM */
	assert_int_equal(virtq_enable(&vq, &f->mem, false, false), -EINVAL);
	vq.desc_gpa = 0x1000; /* not RAM */
	assert_int_equal(virtq_enable(&vq, &f->mem, false, false), -EINVAL);
	vq.desc_gpa = DESC;
	vq.used_gpa = USED + 2; /* used ring needs 4-byte alignment */
	assert_int_equal(virtq_enable(&vq, &f->mem, false, false), -EINVAL);
	assert_false(vq.ready);
	vq.used_gpa = USED;
	assert_int_equal(virtq_enable(&vq, &f->mem, false, false), 0);
	assert_true(vq.ready);
}

static void test_pop_push(void **state)
{
	struct fx *f = *state;
	struct virtq_elem *e = NULL;
	char in[8];

	assert_false(virtq_has_avail(&f->vq));
	assert_int_equal(virtq_pop(&f->vq, &e), 0);

	memcpy(host(f, BUF), "hello", 5);
	set_desc(f, 3, BUF, 5, VRING_DESC_F_NEXT, 5);
	set_desc(f, 5, BUF + 100, 8, VRING_DESC_F_WRITE, 0);
	offer(f, 3);
	assert_true(virtq_has_avail(&f->vq));
	e = pop_ok(f);
	assert_int_equal(e->head, 3);
	assert_int_equal(e->n_out, 1);
	assert_int_equal(e->n_in, 1);
	assert_int_equal(e->out_len, 5);
	assert_int_equal(e->in_len, 8);
	assert_int_equal(e->error, 0);
	assert_true(e->last_in);
	assert_memory_equal(e->iov[0].iov_base, "hello", 5);
	assert_int_equal(iov_from_buf(e->in, e->n_in, 0, "WORLD!!", 8), 8);
	virtq_push(&f->vq, e, 8);
	free(e);
	assert_int_equal(used(f)->idx, 1);
	assert_int_equal(used(f)->ring[0].id, 3);
	assert_int_equal(used(f)->ring[0].len, 8);
	memcpy(in, host(f, BUF + 100), 8);
	assert_memory_equal(in, "WORLD!!", 8);
	assert_int_equal(f->vq.inflight, 0);
}

static void test_iov_helpers(void **state)
{
	char a[3] = "abc", b[4] = "defg", out[16];
	struct iovec iov[2] = {{a, 3}, {b, 4}};

	assert_int_equal(iov_size(iov, 2), 7);
	assert_int_equal(iov_to_buf(iov, 2, 2, out, sizeof(out)), 5);
	assert_memory_equal(out, "cdefg", 5);
	assert_int_equal(iov_to_buf(iov, 2, 9, out, sizeof(out)), 0);
	assert_int_equal(iov_from_buf(iov, 2, 1, "XYZW", 4), 4);
	assert_memory_equal(a, "aXY", 3);
	assert_memory_equal(b, "ZWfg", 4);
}

static void expect_corrupt(struct fx *f)
{
	struct virtq_elem *e = NULL;

	assert_int_equal(virtq_pop(&f->vq, &e), -EFAULT);
	assert_null(e);
	assert_true(f->vq.broken);
	/* a broken queue stays quiet */
	assert_false(virtq_has_avail(&f->vq));
	assert_int_equal(virtq_pop(&f->vq, &e), 0);
}

static void test_head_out_of_range(void **state)
{
	struct fx *f = *state;

	offer(f, NUM);
	expect_corrupt(f);
}

static void test_next_out_of_range(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, BUF, 16, VRING_DESC_F_NEXT, 200);
	offer(f, 0);
	expect_corrupt(f);
}

static void test_descriptor_loop(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, BUF, 16, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 16, VRING_DESC_F_NEXT, 0);
	offer(f, 0);
	expect_corrupt(f);
}

static void test_avail_jump(void **state)
{
	struct fx *f = *state;

	set_desc(f, 0, BUF, 16, 0, 0);
	avail(f)->idx = NUM + 1; /* more new entries than the ring holds */
	expect_corrupt(f);
}

static struct virtq_elem *pop_single(struct fx *f, uint64_t addr, uint32_t len, uint16_t flags)
{
	set_desc(f, 0, addr, len, flags, 0);
	offer(f, 0);
	return pop_ok(f);
}

static void test_bad_buffers(void **state)
{
	struct fx *f = *state;
	struct virtq_elem *e;

	/* past the end of RAM */
	e = pop_single(f, RAM_GPA + RAM_SIZE - 4, 8, VRING_DESC_F_WRITE);
	assert_int_equal(e->error, -EFAULT);
	assert_int_equal(e->n_in, 0);
	assert_false(e->last_in);
	virtq_push(&f->vq, e, 0);
	free(e);
	/* addr + len wraps around 2^64 */
	e = pop_single(f, UINT64_MAX - 16, 64, 0);
	assert_int_equal(e->error, -EFAULT);
	virtq_push(&f->vq, e, 0);
	free(e);
	/* not RAM at all */
	e = pop_single(f, 0x1000, 16, 0);
	assert_int_equal(e->error, -EFAULT);
	virtq_push(&f->vq, e, 0);
	free(e);
	/* zero length */
	e = pop_single(f, BUF, 0, VRING_DESC_F_WRITE);
	assert_int_equal(e->error, -EINVAL);
	virtq_push(&f->vq, e, 0);
	free(e);
	assert_false(f->vq.broken);
	assert_int_equal(used(f)->idx, 4);
}

static void test_wrong_order(void **state)
{
	struct fx *f = *state;
	struct virtq_elem *e;

	/* readable after writable */
	set_desc(f, 0, BUF, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF + 16, 16, 0, 0);
	offer(f, 0);
	e = pop_ok(f);
	assert_int_equal(e->error, -EINVAL);
	assert_false(e->last_in);
	free(e);
	/* but the chain's status buffer stays usable when it is last */
	set_desc(f, 0, BUF, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF + 16, 16, VRING_DESC_F_NEXT, 2);
	set_desc(f, 2, BUF + 32, 1, VRING_DESC_F_WRITE, 0);
	offer(f, 0);
	e = pop_ok(f);
	assert_int_equal(e->error, -EINVAL);
	assert_true(e->last_in);
	assert_ptr_equal(e->in[e->n_in - 1].iov_base, host(f, BUF + 32));
	free(e);
}

static void test_indirect(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t = host(f, BUF + 0x1000);
	struct virtq_elem *e;

	t[0] = (struct vring_desc){.addr = BUF, .len = 16, .flags = VRING_DESC_F_NEXT, .next = 2};
	t[2] = (struct vring_desc){.addr = BUF + 64, .len = 32, .flags = VRING_DESC_F_WRITE};
	e = pop_single(f, BUF + 0x1000, 3 * sizeof(*t), VRING_DESC_F_INDIRECT);
	assert_int_equal(e->error, 0);
	assert_int_equal(e->n_out, 1);
	assert_int_equal(e->n_in, 1);
	assert_int_equal(e->in_len, 32);
	assert_true(e->last_in);
	virtq_push(&f->vq, e, 0);
	free(e);

	/* nested */
	t[2] = (struct vring_desc){.addr = BUF + 0x1000, .len = 16, .flags = VRING_DESC_F_INDIRECT};
	e = pop_single(f, BUF + 0x1000, 3 * sizeof(*t), VRING_DESC_F_INDIRECT);
	assert_int_equal(e->error, -EINVAL);
	free(e);
	/* a table length that is not a multiple of 16 */
	e = pop_single(f, BUF + 0x1000, 20, VRING_DESC_F_INDIRECT);
	assert_int_equal(e->error, -EINVAL);
	free(e);
	/* a table outside RAM */
	e = pop_single(f, RAM_GPA + RAM_SIZE - 16, 32, VRING_DESC_F_INDIRECT);
	assert_int_equal(e->error, -EFAULT);
	free(e);
	/* a loop inside the table */
	t[0] = (struct vring_desc){.addr = BUF, .len = 16, .flags = VRING_DESC_F_NEXT, .next = 1};
	t[1] = (struct vring_desc){.addr = BUF, .len = 16, .flags = VRING_DESC_F_NEXT, .next = 0};
	e = pop_single(f, BUF + 0x1000, 2 * sizeof(*t), VRING_DESC_F_INDIRECT);
	assert_int_equal(e->error, -ELOOP);
	free(e);
	/* next beyond the table */
	t[0] = (struct vring_desc){.addr = BUF, .len = 16, .flags = VRING_DESC_F_NEXT, .next = 7};
	e = pop_single(f, BUF + 0x1000, 2 * sizeof(*t), VRING_DESC_F_INDIRECT);
	assert_int_equal(e->error, -EINVAL);
	free(e);
	/* an indirect descriptor that is not alone in its chain */
	set_desc(f, 0, BUF, 16, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF + 0x1000, 32, VRING_DESC_F_INDIRECT, 0);
	offer(f, 0);
	e = pop_ok(f);
	assert_int_equal(e->error, -EINVAL);
	free(e);
	/* a table of exactly VIRTQ_MAX_CHAIN buffers (virtio_blk with
	 * seg_max 254: header, 254 pages, status) is whole: the indirect
	 * descriptor that points at it is not one of its buffers */
	for (unsigned i = 0; i < VIRTQ_MAX_CHAIN; i++)
		t[i] = (struct vring_desc){.addr = BUF,
					   .len = 8,
					   .flags = VRING_DESC_F_NEXT,
					   .next = (uint16_t)(i + 1)};
	t[VIRTQ_MAX_CHAIN - 1] =
		(struct vring_desc){.addr = BUF + 64, .len = 1, .flags = VRING_DESC_F_WRITE};
	e = pop_single(f, BUF + 0x1000, VIRTQ_MAX_CHAIN * sizeof(*t), VRING_DESC_F_INDIRECT);
	assert_int_equal(e->error, 0);
	assert_int_equal(e->n_out, VIRTQ_MAX_CHAIN - 1);
	assert_int_equal(e->n_in, 1);
	assert_true(e->last_in);
	virtq_push(&f->vq, e, 1);
	free(e);
	/* more entries than a chain may have */
	for (unsigned i = 0; i < VIRTQ_MAX_CHAIN + 1; i++)
		t[i] = (struct vring_desc){.addr = BUF,
					   .len = 8,
					   .flags = VRING_DESC_F_NEXT,
					   .next = (uint16_t)(i + 1)};
	t[VIRTQ_MAX_CHAIN].flags = 0;
	e = pop_single(f, BUF + 0x1000, (VIRTQ_MAX_CHAIN + 1) * sizeof(*t), VRING_DESC_F_INDIRECT);
	assert_int_equal(e->error, -E2BIG);
	free(e);
	assert_false(f->vq.broken);
}

static void test_indirect_not_negotiated(void **state)
{
	struct fx *f = *state;
	struct vring_desc *t = host(f, BUF + 0x1000);
	struct virtq_elem *e;

	assert_int_equal(virtq_enable(&f->vq, &f->mem, false, false), 0);
	f->avail_idx = 0;
	t[0] = (struct vring_desc){.addr = BUF, .len = 16};
	e = pop_single(f, BUF + 0x1000, sizeof(*t), VRING_DESC_F_INDIRECT);
	assert_int_equal(e->error, -EINVAL);
	assert_int_equal(e->n_out + e->n_in, 0);
	free(e);
}

static void test_too_large(void **state)
{
	/* Two writable buffers of 3 GiB each: more than a used length (u32)
	 * can report. A sparse mapping, nothing is touched but the rings. */
	const uint64_t size = 3ull << 30, gpa = 0x100000000ull;
	struct gmem_region r = {.gpa = gpa, .size = size};
	struct virtq vq = {.num_max = NUM,
			   .num = NUM,
			   .desc_gpa = gpa,
			   .avail_gpa = gpa + 0x1000,
			   .used_gpa = gpa + 0x2000};
	struct virtq_elem *e = NULL;
	struct vring_desc *d;
	struct vring_avail *av;
	struct gmem m;
	uint8_t *ram;

	ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	assert_true(ram != MAP_FAILED);
	r.host = ram;
	assert_int_equal(gmem_init_static(&m, &r, 1), 0);
	assert_int_equal(virtq_enable(&vq, &m, false, false), 0);
	d = (struct vring_desc *)ram;
	av = (struct vring_avail *)(ram + 0x1000);
	d[0] = (struct vring_desc){.addr = gpa,
				   .len = (uint32_t)size,
				   .flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
				   .next = 1};
	d[1] = (struct vring_desc){.addr = gpa, .len = (uint32_t)size, .flags = VRING_DESC_F_WRITE};
	av->ring[0] = 0;
	av->idx = 1;
	assert_int_equal(virtq_pop(&vq, &e), 1);
	assert_int_equal(e->error, -E2BIG);
	free(e);
	munmap(ram, size);
	(void)state;
}

static void test_batch(void **state)
{
	struct fx *f = *state;
	struct virtq_elem *e[3];
	uint32_t lens[3] = {1, 2, 3};

	for (unsigned i = 0; i < 3; i++) {
		set_desc(f, i, BUF + 16 * i, 16, VRING_DESC_F_WRITE, 0);
		offer(f, (uint16_t)i);
	}
	for (unsigned i = 0; i < 3; i++)
		e[i] = pop_ok(f);
	assert_int_equal(f->vq.inflight, 3);
	assert_int_equal(e[2]->head, 2);
	virtq_push_batch(&f->vq, e, lens, 3);
	assert_int_equal(used(f)->idx, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(used(f)->ring[i].id, i);
		assert_int_equal(used(f)->ring[i].len, lens[i]);
		free(e[i]);
	}
}

/* virtq_complete gathers, virtq_publish makes visible (one used->idx
 * store) and frees; a full batch is published early; a reset frees what
 * was not published, and a completion after a reset is only freed. */
static void test_complete_publish(void **state)
{
	struct fx *f = *state;
	struct virtq_elem *e;
	unsigned n = 0;

	for (unsigned i = 0; i < 3; i++) {
		set_desc(f, i, BUF + 16 * i, 16, VRING_DESC_F_WRITE, 0);
		offer(f, (uint16_t)i);
	}
	for (unsigned i = 0; i < 3; i++)
		virtq_complete(&f->vq, pop_ok(f), i + 1);
	assert_int_equal(used(f)->idx, 0);
	assert_int_equal(virtq_publish(&f->vq), 3);
	assert_int_equal(used(f)->idx, 3);
	assert_int_equal(f->vq.inflight, 0);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(used(f)->ring[i].id, i);
		assert_int_equal(used(f)->ring[i].len, i + 1);
	}
	assert_int_equal(virtq_publish(&f->vq), 0);
	/* more than a batch: the first VIRTQ_BATCH go out when it is full */
	while (n < VIRTQ_BATCH + 5) {
		for (unsigned i = 0; i < NUM; i++)
			offer(f, (uint16_t)(i % 3));
		for (unsigned i = 0; i < NUM; i++, n++)
			virtq_complete(&f->vq, pop_ok(f), 0);
	}
	assert_int_equal(used(f)->idx, 3 + VIRTQ_BATCH);
	assert_int_equal(virtq_publish(&f->vq), n - VIRTQ_BATCH);
	assert_int_equal(used(f)->idx, (uint16_t)(3 + n));
	/* a reset frees what was gathered (ASan: no leak), and a request
	 * taken before it is freed when it completes */
	offer(f, 0);
	offer(f, 1);
	virtq_complete(&f->vq, pop_ok(f), 0);
	e = pop_ok(f);
	virtq_reset(&f->vq);
	virtq_complete(&f->vq, e, 0);
	assert_int_equal(f->vq.n_done, 0);
	assert_int_equal(virtq_publish(&f->vq), 0);
}

static void test_interrupt_suppression(void **state)
{
	struct fx *f = *state;
	struct virtq_elem *e;

	/* nothing pushed: no interrupt */
	assert_false(virtq_should_interrupt(&f->vq));
	e = pop_single(f, BUF, 16, VRING_DESC_F_WRITE);
	virtq_push(&f->vq, e, 0);
	free(e);
	avail(f)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	assert_false(virtq_should_interrupt(&f->vq));
	e = pop_single(f, BUF, 16, VRING_DESC_F_WRITE);
	virtq_push(&f->vq, e, 0);
	free(e);
	avail(f)->flags = 0;
	assert_true(virtq_should_interrupt(&f->vq));
	/* already signalled, nothing new */
	assert_false(virtq_should_interrupt(&f->vq));
}

static void test_event_idx(void **state)
{
	struct fx *f = *state;
	__virtio16 *used_event = &avail(f)->ring[NUM];
	struct virtq_elem *e;

	assert_int_equal(virtq_enable(&f->vq, &f->mem, true, false), 0);
	f->avail_idx = 0;
	*used_event = 1; /* interrupt once the second completion is used */
	e = pop_single(f, BUF, 16, VRING_DESC_F_WRITE);
	virtq_push(&f->vq, e, 0);
	free(e);
	assert_true(virtq_should_interrupt(&f->vq)); /* the first ever */
	e = pop_single(f, BUF, 16, VRING_DESC_F_WRITE);
	virtq_push(&f->vq, e, 0);
	free(e);
	assert_true(virtq_should_interrupt(&f->vq)); /* used idx passed 1 */
	e = pop_single(f, BUF, 16, VRING_DESC_F_WRITE);
	virtq_push(&f->vq, e, 0);
	free(e);
	assert_false(virtq_should_interrupt(&f->vq)); /* used_event still 1 */

	/* kick suppression: avail_event follows what we consumed */
	virtq_disable_notify(&f->vq);
	assert_false(virtq_enable_notify(&f->vq));
	assert_int_equal(*(__virtio16 *)&used(f)->ring[NUM], f->vq.last_avail);
	offer(f, 0);
	assert_true(virtq_enable_notify(&f->vq)); /* re-check sees it */
}

static void test_notify_flags(void **state)
{
	struct fx *f = *state;

	virtq_disable_notify(&f->vq);
	assert_int_equal(used(f)->flags, VRING_USED_F_NO_NOTIFY);
	assert_false(virtq_enable_notify(&f->vq));
	assert_int_equal(used(f)->flags, 0);
}

static void test_resume(void **state)
{
	struct fx *f = *state;
	struct virtq_elem *e;

	/* two completed before a "crash", a third taken but not completed */
	for (unsigned i = 0; i < 3; i++) {
		set_desc(f, i, BUF, 16, VRING_DESC_F_WRITE, 0);
		offer(f, (uint16_t)i);
	}
	for (unsigned i = 0; i < 2; i++) {
		e = pop_ok(f);
		virtq_push(&f->vq, e, 0);
		free(e);
	}
	e = pop_ok(f);
	free(e);
	virtq_reset(&f->vq);
	f->vq.num = NUM;
	f->vq.desc_gpa = DESC;
	f->vq.avail_gpa = AVAIL;
	f->vq.used_gpa = USED;
	assert_int_equal(virtq_resume(&f->vq, &f->mem, false, true), 0);
	assert_int_equal(f->vq.last_avail, 2);
	e = pop_ok(f); /* the request lost in the crash comes again */
	assert_int_equal(e->head, 2);
	virtq_push(&f->vq, e, 0);
	free(e);
	assert_int_equal(used(f)->idx, 3);
}

/* The queue, re-enabled with a persistent record. */
static void attach_record(struct fx *f, struct virtq_persist *ps)
{
	f->vq.ps = ps;
	assert_int_equal(virtq_enable(&f->vq, &f->mem, false, true), 0);
	assert_int_equal(ps->valid, 1);
}

/* What a new process has: the rings and the record, nothing else. */
static void virtq_reset_keep_record(struct fx *f, struct virtq_persist *ps)
{
	f->vq = (struct virtq){.num_max = 256,
			       .num = NUM,
			       .desc_gpa = DESC,
			       .avail_gpa = AVAIL,
			       .used_gpa = USED,
			       .ps = ps};
}
/* A new backend continuing from the persistent record after a crash. */
static void crash_and_resume(struct fx *f, struct virtq_persist *ps)
{
	virtq_reset_keep_record(f, ps);
	assert_int_equal(virtq_resume(&f->vq, &f->mem, false, true), 0);
}

/* Out-of-order completion before the crash: exactly the requests not
 * completed are taken again, none of the completed ones. */
static void test_resume_out_of_order(void **state)
{
	struct fx *f = *state;
	struct virtq_persist ps = {0};
	struct virtq_elem *e[4], *x;
	uint32_t lens[2] = {0, 0};

	attach_record(f, &ps);
	for (unsigned i = 0; i < 4; i++) {
		set_desc(f, i, BUF + 16 * i, 16, VRING_DESC_F_WRITE, 0);
		offer(f, (uint16_t)i);
	}
	for (unsigned i = 0; i < 4; i++)
		e[i] = pop_ok(f);
	/* 2 and 3 complete first, 0 and 1 are in flight at the crash */
	virtq_push_batch(&f->vq, &e[2], lens, 2);
	for (unsigned i = 0; i < 4; i++)
		free(e[i]);
	assert_int_equal(ps.last_avail, 4);
	assert_int_equal(ps.used_idx, 2);

	crash_and_resume(f, &ps);
	assert_true(virtq_has_avail(&f->vq));
	e[0] = pop_ok(f);
	e[1] = pop_ok(f);
	assert_int_equal(e[0]->head, 0);
	assert_int_equal(e[1]->head, 1);
	assert_int_equal(virtq_pop(&f->vq, &x), 0); /* 2 and 3 are not repeated */
	virtq_push_batch(&f->vq, e, lens, 2);
	assert_int_equal(used(f)->idx, 4);
	free(e[0]);
	free(e[1]);

	/* new requests go on from where the avail ring was */
	set_desc(f, 5, BUF, 16, VRING_DESC_F_WRITE, 0);
	offer(f, 5);
	x = pop_ok(f);
	assert_int_equal(x->head, 5);
	free(x);
}

/* Killed between publishing a batch and recording it: the batch counts
 * as completed; killed inside virtq_pop after marking the head: that
 * head is taken from the avail ring once, not twice. */
static void test_resume_torn_record(void **state)
{
	struct fx *f = *state;
	struct virtq_persist ps = {0};
	struct virtq_elem *e[3], *x;
	uint32_t len = 0;

	attach_record(f, &ps);
	for (unsigned i = 0; i < 3; i++) {
		set_desc(f, i, BUF + 16 * i, 16, VRING_DESC_F_WRITE, 0);
		offer(f, (uint16_t)i);
	}
	e[0] = pop_ok(f);
	e[1] = pop_ok(f);
	virtq_push_batch(&f->vq, &e[1], &len, 1);
	/* as if killed right after used->idx was published */
	ps.inflight[0] |= 1u << 1;
	ps.used_idx = 0;
	/* and as if killed inside the pop of head 2 */
	ps.inflight[0] |= 1u << 2;
	free(e[0]);
	free(e[1]);

	crash_and_resume(f, &ps);
	assert_int_equal(f->vq.used_idx, 1);
	assert_int_equal(ps.used_idx, 1);
	e[0] = pop_ok(f);
	assert_int_equal(e[0]->head, 0); /* redone */
	e[2] = pop_ok(f);
	assert_int_equal(e[2]->head, 2); /* from the avail ring */
	assert_int_equal(virtq_pop(&f->vq, &x), 0);
	virtq_push(&f->vq, e[0], 0);
	virtq_push(&f->vq, e[2], 0);
	assert_int_equal(used(f)->idx, 3);
	assert_int_equal(ps.inflight[0], 0);
	free(e[0]);
	free(e[2]);
}

/* A record the guest could not have produced is bounded by the queue. */
static void test_resume_bad_record(void **state)
{
	struct fx *f = *state;
	struct virtq_persist ps = {0};
	struct virtq_elem *x;

	attach_record(f, &ps);
	ps.inflight[0] = ~0ull; /* bits beyond the 8 entries */
	ps.inflight[15] = ~0ull;
	used(f)->idx = 1000; /* the guest wrote used->idx */
	crash_and_resume(f, &ps);
	assert_int_equal(f->vq.n_redo, NUM);
	assert_int_equal(ps.inflight[15], 0);
	for (unsigned i = 0; i < NUM; i++)
		set_desc(f, i, BUF, 16, VRING_DESC_F_WRITE, 0);
	for (unsigned i = 0; i < NUM; i++) {
		x = pop_ok(f);
		assert_int_equal(x->head, i);
		free(x);
	}
	assert_int_equal(virtq_pop(&f->vq, &x), 0);
}

static void test_gmem(void **state)
{
	struct fx *f = *state;
	struct gmem m;
	uint8_t a[64], b[64];
	struct gmem_region r[2] = {
		{.gpa = 0x1000, .size = 64, .host = a},
		{.gpa = 0x2000, .size = 64, .host = b},
	};

	assert_int_equal(gmem_init_static(&m, r, 2), 0);
	assert_ptr_equal(gmem_ptr(&m, 0x1000, 64), a);
	assert_ptr_equal(gmem_ptr(&m, 0x2010, 48), b + 16);
	assert_null(gmem_ptr(&m, 0x1000, 65));	   /* runs past the region */
	assert_null(gmem_ptr(&m, 0x1030, 0x1000)); /* spans two regions */
	assert_null(gmem_ptr(&m, 0x1000, 0));	   /* empty */
	assert_null(gmem_ptr(&m, UINT64_MAX, 2));  /* wraps */
	assert_null(gmem_ptr(&m, 0x0fff, 1));
	r[1].gpa = 0x1020; /* overlapping regions are refused */
	assert_int_equal(gmem_init_static(&m, r, 2), -EINVAL);
	r[1].gpa = UINT64_MAX - 10; /* wrapping region */
	assert_int_equal(gmem_init_static(&m, r, 2), -EINVAL);
	(void)f;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enable_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop_push, setup, teardown),
		cmocka_unit_test(test_iov_helpers),
		cmocka_unit_test_setup_teardown(test_head_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_descriptor_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_avail_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_not_negotiated, setup, teardown),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_complete_publish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_suppression, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_torn_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_bad_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gmem, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
