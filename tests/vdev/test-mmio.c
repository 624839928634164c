// SPDX-License-Identifier: GPL-2.0-only
/* The virtio-mmio transport (mmio.c) with a small echo device: register
 * semantics, negotiation rules, queue setup checks, interrupts, failure and
 * restore. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "vtest.h"

#define IRQ	 33
#define ECHO_ID	 0x4242
#define QSIZE	 8
#define F_ECHO_X 3 /* a device feature bit */

struct echo {
	struct virtio_dev dev;
	int features_ok_calls, driver_ok_calls, reset_calls, resumed_calls;
	bool refuse;
};

static int echo_features_ok(struct virtio_dev *d, uint64_t f)
{
	struct echo *e = d->priv;

	e->features_ok_calls++;
	return e->refuse ? -EINVAL : 0;
}

static void echo_driver_ok(struct virtio_dev *d)
{
	((struct echo *)d->priv)->driver_ok_calls++;
}

/* Copies each request's readable bytes into its writable buffers. */
static void echo_notify(struct virtio_dev *d, unsigned q)
{
	struct virtq_elem *el;
	int r;

	while ((r = virtq_pop(&d->vq[q], &el)) == 1) {
		uint8_t buf[4096];
		size_t n = iov_to_buf(el->iov, el->n_out, 0, buf, sizeof(buf));

		n = iov_from_buf(el->in, el->n_in, 0, buf, n);
		virtq_push(&d->vq[q], el, el->error ? 0 : (uint32_t)n);
		free(el);
	}
	if (r < 0)
		virtio_dev_fail(d, "corrupt ring");
	virtio_dev_used(d, q);
}

static void echo_reset(struct virtio_dev *d)
{
	((struct echo *)d->priv)->reset_calls++;
}

static void echo_resumed(struct virtio_dev *d)
{
	((struct echo *)d->priv)->resumed_calls++;
}

static void echo_destroy(struct virtio_dev *d)
{
	free(d->priv);
}

static const struct virtio_dev_ops echo_ops = {
	.name = "echo",
	.features_ok = echo_features_ok,
	.driver_ok = echo_driver_ok,
	.queue_notify = echo_notify,
	.reset = echo_reset,
	.resumed = echo_resumed,
	.destroy = echo_destroy,
};

static struct echo *echo_create(struct vtest *t)
{
	struct echo *e = calloc(1, sizeof(*e));
	struct vdev_params p = vtest_params(t, 0, IRQ);

	virtio_dev_init(&e->dev, &echo_ops, e, ECHO_ID, &p,
			(1ull << F_ECHO_X) | (1ull << VIRTIO_RING_F_EVENT_IDX), 2, QSIZE, 12);
	memcpy(e->dev.config, "0123456789AB", 12);
	vtest_add(t, 0, &e->dev);
	return e;
}

struct fx {
	struct vtest t;
	struct echo *e;
};

static int setup(void **state)
{
	struct fx *f = vtest_fx_new(sizeof(*f));

	f->e = echo_create(&f->t);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	vtest_fx_free(*state, -1);
	return 0;
}

static uint64_t rd(struct fx *f, uint64_t off, unsigned size)
{
	return vtest_read(&f->t, 0, off, size);
}

static void wr(struct fx *f, uint64_t off, uint64_t v)
{
	vtest_write(&f->t, 0, off, 4, v);
}

static uint32_t status(struct fx *f)
{
	return (uint32_t)rd(f, VIRTIO_MMIO_STATUS, 4);
}

#define V1 (1ull << VIRTIO_F_VERSION_1)

/* Rings of queue q at a fixed place in the tests' memory. */
struct ring {
	uint64_t desc, avail, used, buf;
	uint16_t idx;
};

static struct ring setup_queue(struct fx *f, unsigned q, uint32_t num)
{
	struct ring r;

	r.desc = vtest_alloc(&f->t, 4096, 4096);
	r.avail = vtest_alloc(&f->t, 4096, 4096);
	r.used = vtest_alloc(&f->t, 4096, 4096);
	r.buf = vtest_alloc(&f->t, 65536, 4096);
	r.idx = 0;
	vtest_queue_setup(&f->t, 0, q, num, r.desc, r.avail, r.used);
	return r;
}

/* One echo request "data" -> writable buffer; returns the head used. */
static void submit(struct fx *f, struct ring *r, unsigned q, const char *data)
{
	struct vring_desc *d = vtest_host(&f->t, r->desc);
	struct vring_avail *a = vtest_host(&f->t, r->avail);
	size_t n = strlen(data);

	memcpy(vtest_host(&f->t, r->buf), data, n);
	d[0] = (struct vring_desc){
		.addr = r->buf, .len = (uint32_t)n, .flags = VRING_DESC_F_NEXT, .next = 1};
	d[1] = (struct vring_desc){.addr = r->buf + 4096, .len = 64, .flags = VRING_DESC_F_WRITE};
	a->ring[r->idx % QSIZE] = 0;
	a->idx = ++r->idx;
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static struct vring_used *used(struct fx *f, struct ring *r)
{
	return vtest_host(&f->t, r->used);
}

static void test_identity(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE, 4), 0x74726976);
	assert_int_equal(rd(f, VIRTIO_MMIO_VERSION, 4), 2);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_ID, 4), ECHO_ID);
	assert_int_equal(rd(f, VIRTIO_MMIO_VENDOR_ID, 4), 0x48564953);
	/* registers are 32-bit only */
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE, 1), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE, 8), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_MAGIC_VALUE, 3), 0);
	/* no shared memory regions */
	assert_int_equal(rd(f, VIRTIO_MMIO_SHM_LEN_LOW, 4), 0xffffffff);
	/* write-only and unknown registers read 0 */
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NOTIFY, 4), 0);
	assert_int_equal(rd(f, 0x0f0, 4), 0);
}

static void test_config_space(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG + 0, 1), '0');
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG + 1, 2), 0x3231);
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG + 4, 4), 0x37363534);
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG + 4, 8), 0x4241393837363534ull);
	/* the last bytes, and nothing beyond the 12 bytes of config */
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG + 11, 1), 'B');
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG + 10, 4), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG + 12, 1), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG + 4000, 4), 0);
	assert_int_equal(rd(f, UINT64_MAX - 3, 4), 0);
	/* no config_write op: writes are dropped */
	vtest_write(&f->t, 0, VIRTIO_MMIO_CONFIG, 4, 0xdeadbeef);
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG, 1), '0');
}

static void test_features(void **state)
{
	struct fx *f = *state;

	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES, 4),
			 (1u << F_ECHO_X) | (1u << VIRTIO_RING_F_EVENT_IDX));
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES, 4), 1); /* VERSION_1 */
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(f, VIRTIO_MMIO_DEVICE_FEATURES, 4), 0);

	/* not offered -> FEATURES_OK stays clear */
	vtest_negotiate(&f->t, 0, V1 | (1ull << 7));
	assert_false(status(f) & VIRTIO_CONFIG_S_FEATURES_OK);
	/* legacy driver (no VERSION_1) */
	vtest_negotiate(&f->t, 0, 1ull << F_ECHO_X);
	assert_false(status(f) & VIRTIO_CONFIG_S_FEATURES_OK);
	/* the device model refuses */
	f->e->refuse = true;
	vtest_negotiate(&f->t, 0, V1);
	assert_false(status(f) & VIRTIO_CONFIG_S_FEATURES_OK);
	f->e->refuse = false;
	vtest_negotiate(&f->t, 0, V1 | (1ull << F_ECHO_X));
	assert_true(status(f) & VIRTIO_CONFIG_S_FEATURES_OK);
	assert_true(virtio_dev_has(&f->e->dev, F_ECHO_X));
	/* frozen after FEATURES_OK */
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	assert_true(virtio_dev_has(&f->e->dev, F_ECHO_X));
	/* the halves are written, not accumulated: a reset forgets them */
	wr(f, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(f->e->dev.st->driver_features, 0);
}

static void test_status_rules(void **state)
{
	struct fx *f = *state;
	int resets;

	/* DRIVER_OK without FEATURES_OK is refused */
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_false(status(f) & VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(f->e->driver_ok_calls, 0);
	vtest_negotiate(&f->t, 0, V1);
	wr(f, VIRTIO_MMIO_STATUS, status(f) | VIRTIO_CONFIG_S_DRIVER_OK);
	assert_true(status(f) & VIRTIO_CONFIG_S_DRIVER_OK);
	assert_int_equal(f->e->driver_ok_calls, 1);
	/* bits are not cleared by a write other than 0 */
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	assert_true(status(f) & VIRTIO_CONFIG_S_DRIVER_OK);
	/* a driver cannot fake NEEDS_RESET */
	wr(f, VIRTIO_MMIO_STATUS, status(f) | VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_false(status(f) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* reset */
	resets = f->e->reset_calls;
	wr(f, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(status(f), 0);
	assert_int_equal(f->e->reset_calls, resets + 1);
	/* non-4-byte register writes are ignored */
	vtest_write(&f->t, 0, VIRTIO_MMIO_STATUS, 2, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	assert_int_equal(status(f), 0);
}

static void test_queue_registers(void **state)
{
	struct fx *f = *state;

	wr(f, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX, 4), QSIZE);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 2); /* the device has 2 queues */
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX, 4), 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY, 4), 0);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, 4);
	wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY, 4), 0);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_false(status(f) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_bad_queue_setup(void **state)
{
	struct fx *f = *state;
	struct ring r;

	vtest_negotiate(&f->t, 0, V1);
	r = setup_queue(f, 0, 6); /* not a power of two */
	assert_true(status(f) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY, 4), 0);
	/* a reset recovers */
	wr(f, VIRTIO_MMIO_STATUS, 0);
	vtest_negotiate(&f->t, 0, V1);
	r = setup_queue(f, 0, QSIZE);
	assert_false(status(f) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY, 4), 1);
	/* the layout is frozen while ready */
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1234);
	assert_int_equal(f->e->dev.st->q[0].desc, r.desc);
	/* disabling the queue */
	wr(f, VIRTIO_MMIO_QUEUE_READY, 0);
	assert_int_equal(rd(f, VIRTIO_MMIO_QUEUE_READY, 4), 0);
	assert_false(f->e->dev.vq[0].ready);

	/* rings outside guest RAM */
	wr(f, VIRTIO_MMIO_STATUS, 0);
	vtest_negotiate(&f->t, 0, V1);
	wr(f, VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_true(status(f) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* too big */
	wr(f, VIRTIO_MMIO_STATUS, 0);
	vtest_negotiate(&f->t, 0, V1);
	setup_queue(f, 0, QSIZE * 2);
	assert_true(status(f) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_echo_and_interrupts(void **state)
{
	struct fx *f = *state;
	struct ring r;

	vtest_negotiate(&f->t, 0, V1);
	r = setup_queue(f, 1, QSIZE);
	vtest_driver_ok(&f->t, 0);
	submit(f, &r, 1, "ping");
	assert_int_equal(used(f, &r)->idx, 1);
	assert_int_equal(used(f, &r)->ring[0].len, 4);
	assert_memory_equal(vtest_host(&f->t, r.buf + 4096), "ping", 4);
	assert_int_equal(f->t.irqs_raised, 1);
	assert_int_equal(f->t.irq_queue[0], IRQ);
	/* InterruptStatus reads do not clear */
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS, 4), VIRTIO_MMIO_INT_VRING);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS, 4), VIRTIO_MMIO_INT_VRING);
	/* not acknowledged yet: no second interrupt */
	submit(f, &r, 1, "pong");
	assert_int_equal(used(f, &r)->idx, 2);
	assert_int_equal(f->t.irqs_raised, 1);
	wr(f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS, 4), 0);
	submit(f, &r, 1, "again");
	assert_int_equal(f->t.irqs_raised, 2);
	/* a notify for a queue the device does not have, or not ready */
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 7);
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_false(status(f) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_true(f->e->dev.n_notifies >= 5);
}

static void test_config_change(void **state)
{
	struct fx *f = *state;
	uint32_t gen = (uint32_t)rd(f, VIRTIO_MMIO_CONFIG_GENERATION, 4);

	/* before DRIVER_OK: the generation moves, no interrupt */
	virtio_dev_config_changed(&f->e->dev);
	assert_int_equal(rd(f, VIRTIO_MMIO_CONFIG_GENERATION, 4), gen + 1);
	assert_int_equal(f->t.irqs_raised, 0);
	vtest_negotiate(&f->t, 0, V1);
	vtest_driver_ok(&f->t, 0);
	virtio_dev_config_changed(&f->e->dev);
	assert_int_equal(f->t.irqs_raised, 1);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS, 4), VIRTIO_MMIO_INT_CONFIG);
}

static void test_corrupt_ring_needs_reset(void **state)
{
	struct fx *f = *state;
	struct vring_avail *a;
	struct ring r;

	vtest_negotiate(&f->t, 0, V1);
	r = setup_queue(f, 0, QSIZE);
	vtest_driver_ok(&f->t, 0);
	a = vtest_host(&f->t, r.avail);
	a->ring[0] = 200; /* head out of range */
	a->idx = 1;
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(status(f) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(rd(f, VIRTIO_MMIO_INTERRUPT_STATUS, 4) & VIRTIO_MMIO_INT_CONFIG,
			 VIRTIO_MMIO_INT_CONFIG);
	assert_true(f->e->dev.vq[0].broken);
	/* nothing more is processed until the reset */
	submit(f, &r, 0, "x");
	assert_int_equal(used(f, &r)->idx, 0);
	wr(f, VIRTIO_MMIO_STATUS, 0);
	assert_false(status(f) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static void test_restore(void **state)
{
	struct fx *f = *state;
	struct ring r;

	vtest_negotiate(&f->t, 0, V1 | (1ull << F_ECHO_X));
	r = setup_queue(f, 1, QSIZE);
	vtest_driver_ok(&f->t, 0);
	submit(f, &r, 1, "one");
	assert_int_equal(used(f, &r)->idx, 1);

	/* the backend "dies": a new device on the same saved state */
	vtest_remove(&f->t, 0);
	f->e = echo_create(&f->t);
	assert_int_equal(virtio_dev_restore(&f->e->dev), 1);
	assert_int_equal(f->e->resumed_calls, 1);
	assert_true(virtio_dev_has(&f->e->dev, F_ECHO_X));
	assert_true(status(f) & VIRTIO_CONFIG_S_DRIVER_OK);
	submit(f, &r, 1, "two");
	assert_int_equal(used(f, &r)->idx, 2);
	assert_memory_equal(vtest_host(&f->t, r.buf + 4096), "two", 3);

	/* a saved state that does not hold up */
	vtest_remove(&f->t, 0);
	f->t.state[0].q[1].desc = 0x10; /* not RAM */
	f->e = echo_create(&f->t);
	assert_int_equal(virtio_dev_restore(&f->e->dev), -EINVAL);
	assert_true(status(f) & VIRTIO_CONFIG_S_NEEDS_RESET);

	/* unknown status bits */
	vtest_remove(&f->t, 0);
	memset(&f->t.state[0], 0, sizeof(f->t.state[0]));
	f->e = echo_create(&f->t);
	f->t.state[0].status = 0x400;
	assert_int_equal(virtio_dev_restore(&f->e->dev), -EINVAL);

	/* a state of another device is not taken over */
	vtest_remove(&f->t, 0);
	f->t.state[0].device_id = 1;
	f->t.state[0].status = VIRTIO_CONFIG_S_DRIVER_OK;
	f->e = echo_create(&f->t);
	assert_int_equal(virtio_dev_restore(&f->e->dev), 0);
	assert_int_equal(status(f), 0);
}

/* Lines of `what` in what fd (a memfd standing in for stderr) holds. */
static unsigned count_lines(int fd, const char *what, char *last, size_t last_size)
{
	char buf[16384], *line, *save = NULL;
	ssize_t k = pread(fd, buf, sizeof(buf) - 1, 0);
	unsigned n = 0;

	assert_true(k >= 0);
	buf[k] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strstr(line, what)) {
			n++;
			snprintf(last, last_size, "%s", line);
		}
	return n;
}

/* What a guest makes the device log is rate limited: VIRTIO_LOG_BURST
 * lines an interval; the first line of the next interval says how many
 * were held back. The counters count everything. */
static void test_complaints_rate_limited(void **state)
{
	struct fx *f = *state;
	int err = dup(STDERR_FILENO), log = memfd_create("log", MFD_CLOEXEC);
	const char *what = "write of read-only or unknown register";
	char last[512] = "";

	assert_true(err >= 0 && log >= 0);
	fflush(stderr);
	dup2(log, STDERR_FILENO);
	for (unsigned i = 0; i < VIRTIO_LOG_BURST + 4; i++)
		wr(f, VIRTIO_MMIO_MAGIC_VALUE, 0);
	assert_int_equal(count_lines(log, what, last, sizeof(last)), VIRTIO_LOG_BURST);
	assert_int_equal(f->e->dev.n_errors, VIRTIO_LOG_BURST + 4);
	/* the interval is over */
	f->e->dev.log_rl.begin_usec -= VIRTIO_LOG_INTERVAL_USEC;
	wr(f, VIRTIO_MMIO_MAGIC_VALUE, 0);
	fflush(stderr);
	dup2(err, STDERR_FILENO);
	close(err);
	assert_int_equal(count_lines(log, what, last, sizeof(last)), VIRTIO_LOG_BURST + 1);
	assert_non_null(strstr(last, "(4 lines before it not logged"));
	close(log);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_identity),
		T(test_config_space),
		T(test_features),
		T(test_status_rules),
		T(test_queue_registers),
		T(test_bad_queue_setup),
		T(test_echo_and_interrupts),
		T(test_config_change),
		T(test_corrupt_ring_needs_reset),
		T(test_restore),
		T(test_complaints_rate_limited),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
