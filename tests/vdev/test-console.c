// SPDX-License-Identifier: GPL-2.0-only
/* virtio-console (console.c) through the mmio transport, with hand-built
 * rings and a real pty: the test holds the slave (raw mode) the way
 * hvisord does. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#include "devices.h"
#include "hvguest.h"
#include "util.h"
#include "vtest.h"

#define IRQ   41
#define RXQ   0
#define TXQ   1
#define QSIZE 64
/* test_tx_slow_reader: bytes in all, per request */
#define SLOW_TOTAL (256 * 1024)
#define SLOW_CHUNK 2000
#define V1	   (1ull << VIRTIO_F_VERSION_1)
#define F(b)	   (1ull << (b))

struct fx {
	struct vtest t;
	struct virtio_dev *d;
	int master; /* owned by the device */
	int slave;
	char slave_path[64];
	struct vtest_vq rx, tx;
};

/* ---- the little driver (vtest's, on slot 0) ---------------------------- */

static void start(struct fx *f, uint64_t features)
{
	assert_true(vtest_start_rxtx(&f->t, &f->rx, &f->tx, features, QSIZE));
}

static uint64_t post_rx(struct fx *f, uint32_t len)
{
	return vtest_vq_post(&f->rx, len, 8, true);
}

/* Guest output; split into buffers of at most `piece` bytes. */
static uint16_t post_tx(struct fx *f, const void *data, uint32_t len, uint32_t piece)
{
	struct vtest_buf b[16];
	unsigned n = 0;
	uint64_t g = vtest_alloc(&f->t, len, 8);
	uint16_t head;

	memcpy(vtest_host(&f->t, g), data, len);
	for (uint32_t off = 0; off < len; off += piece)
		b[n++] = (struct vtest_buf){g + off, MIN(piece, len - off), false};
	head = vtest_vq_chain(&f->tx, b, n);
	vtest_vq_publish(&f->tx, head);
	return head;
}

static ssize_t slave_read(struct fx *f, void *buf, size_t len)
{
	return read(f->slave, buf, len);
}

/* The pty hands bytes over from a kernel worker: wait until `len` bytes
 * are read (or a second has passed). */
static ssize_t slave_wait_read(struct fx *f, void *buf, size_t len)
{
	uint64_t deadline = now_usec() + 1000000;
	size_t got = 0;

	while (got < len && now_usec() < deadline) {
		struct pollfd p = {.fd = f->slave, .events = POLLIN};
		ssize_t r;

		poll(&p, 1, 10);
		r = read(f->slave, (char *)buf + got, len - got);
		if (r > 0)
			got += (size_t)r;
	}
	return (ssize_t)got;
}

/* ---- fixtures --------------------------------------------------------- */

static int open_slave(struct fx *f)
{
	struct termios tio;

	f->slave = open(f->slave_path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (f->slave < 0)
		return -errno;
	/* raw, as hvisord sets it: no echo, no line editing */
	tcgetattr(f->slave, &tio);
	cfmakeraw(&tio);
	tcsetattr(f->slave, TCSANOW, &tio);
	return 0;
}

static void create(struct fx *f, uint16_t cols, uint16_t rows)
{
	struct vdev_params p = vtest_params(&f->t, 0, IRQ);
	struct console_params cp = {.cols = cols, .rows = rows};
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	assert_int_equal(ptsname_r(m, f->slave_path, sizeof(f->slave_path)), 0);
	assert_int_equal(open_slave(f), 0);
	f->master = m;
	cp.pty_fd = m;
	assert_int_equal(console_create(&p, &cp, &f->d), 0);
	vtest_add(&f->t, 0, f->d);
}

static int setup(void **state)
{
	struct fx *f = vtest_fx_new(sizeof(*f));

	create(f, 0, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vtest_fx_free(f, f->slave);
	return 0;
}

/* ---- tests ------------------------------------------------------------ */

static void test_identity_and_config(void **state)
{
	struct fx *f = *state;
	uint64_t feat = vtest_offered(&f->t, 0);
	struct json_object *o;

	assert_int_equal(vtest_rd(&f->t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
	vtest_wr(&f->t, VIRTIO_MMIO_QUEUE_SEL, TXQ);
	assert_int_equal(vtest_rd(&f->t, VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	vtest_wr(&f->t, VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(vtest_rd(&f->t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_true(feat & V1);
	assert_true(feat & F(VIRTIO_CONSOLE_F_SIZE));
	assert_true(feat & F(VIRTIO_CONSOLE_F_EMERG_WRITE));
	assert_false(feat & F(VIRTIO_CONSOLE_F_MULTIPORT));
	/* default 80x25, one port */
	assert_int_equal(vtest_read(&f->t, 0, VIRTIO_MMIO_CONFIG + 0, 2), 80);
	assert_int_equal(vtest_read(&f->t, 0, VIRTIO_MMIO_CONFIG + 2, 2), 25);
	assert_int_equal(vtest_read(&f->t, 0, VIRTIO_MMIO_CONFIG + 4, 4), 1);
	assert_int_equal(vtest_read(&f->t, 0, VIRTIO_MMIO_CONFIG + 8, 4), 0);
	assert_int_equal(vtest_read(&f->t, 0, VIRTIO_MMIO_CONFIG + 12, 4), 0); /* beyond */
	/* cols/rows are read-only */
	vtest_write(&f->t, 0, VIRTIO_MMIO_CONFIG, 2, 132);
	assert_int_equal(vtest_read(&f->t, 0, VIRTIO_MMIO_CONFIG, 2), 80);
	assert_false(vtest_negotiate(&f->t, 0, V1 | F(VIRTIO_CONSOLE_F_MULTIPORT)));
	assert_true(vtest_negotiate(
		&f->t, 0, V1 | F(VIRTIO_CONSOLE_F_SIZE) | F(VIRTIO_CONSOLE_F_EMERG_WRITE)));

	o = json_object_new_object();
	f->d->ops->describe(f->d, o);
	assert_int_equal(json_object_get_int(json_object_object_get(o, "cols")), 80);
	assert_int_equal(json_object_get_int(json_object_object_get(o, "rows")), 25);
	json_object_put(o);

	/* a configured size */
	vtest_remove(&f->t, 0);
	close(f->slave);
	create(f, 132, 43);
	assert_int_equal(vtest_read(&f->t, 0, VIRTIO_MMIO_CONFIG + 0, 2), 132);
	assert_int_equal(vtest_read(&f->t, 0, VIRTIO_MMIO_CONFIG + 2, 2), 43);
}

static void test_tx_to_pty(void **state)
{
	struct fx *f = *state;
	const char *msg = "hello from the guest\r\n";
	char buf[256];
	uint32_t id, len;

	start(f, 0);
	post_tx(f, msg, (uint32_t)strlen(msg), 5);
	post_tx(f, "second", 6, 100);
	vtest_vq_kick(&f->tx);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->tx), 2);
	assert_int_equal(f->t.irqs_raised, 1);
	assert_true(vtest_vq_get_used(&f->tx, &id, &len));
	assert_int_equal(len, 0);
	assert_int_equal(slave_wait_read(f, buf, strlen(msg) + 6), strlen(msg) + 6);
	assert_memory_equal(buf, msg, strlen(msg));
	assert_memory_equal(buf + strlen(msg), "second", 6);
}

static void test_rx_from_pty(void **state)
{
	struct fx *f = *state;
	uint64_t g;
	uint32_t id, len;

	start(f, 0);
	g = post_rx(f, 64);
	vtest_vq_kick(&f->rx);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->rx), 0);
	assert_int_equal(write(f->slave, "typed", 5), 5);
	vtest_poll(&f->t, 50);
	vtest_run(&f->t);
	assert_true(vtest_vq_get_used(&f->rx, &id, &len));
	assert_int_equal(len, 5);
	assert_memory_equal(vtest_host(&f->t, g), "typed", 5);
	assert_int_equal(f->t.irqs_raised, 1);
}

/* No receive buffer: the bytes stay in the pty until one is posted. */
static void test_rx_waits_for_buffers(void **state)
{
	struct fx *f = *state;
	struct pollfd p = {.fd = f->master, .events = POLLIN};
	char all[3000];
	uint32_t id, len, got = 0;
	uint64_t g[QSIZE];
	unsigned posted = 0;

	for (unsigned i = 0; i < sizeof(all); i++)
		all[i] = (char)('a' + i % 26);
	start(f, F(VIRTIO_RING_F_EVENT_IDX));
	assert_int_equal(write(f->slave, all, sizeof(all)), sizeof(all));
	vtest_poll(&f->t, 30);
	vtest_run(&f->t);
	assert_int_equal(poll(&p, 1, 1000), 1); /* still in the pty */
	assert_int_equal(vtest_vq_used_idx(&f->rx), 0);
	/* small buffers, a few at a time: every byte arrives, in order */
	while (got < sizeof(all)) {
		assert_true(posted < 200);
		for (unsigned i = 0; i < 4; i++, posted++)
			g[posted % QSIZE] = post_rx(f, 100);
		vtest_vq_kick(&f->rx);
		vtest_poll(&f->t, 5);
		vtest_run(&f->t);
		while (vtest_vq_get_used(&f->rx, &id, &len)) {
			assert_true(len > 0 && len <= 100);
			assert_memory_equal(vtest_host(&f->t, g[id % QSIZE]), all + got, len);
			got += len;
		}
	}
	assert_int_equal(got, sizeof(all));
}

/* A slow reader on the slave: the pty fills, the device keeps what it has
 * not written and completes a request only when all of it is out; every
 * byte arrives in order. */
static void test_tx_slow_reader(void **state)
{
	struct fx *f = *state;
	static char data[SLOW_TOTAL], got[SLOW_TOTAL];
	size_t sent = 0, rcvd = 0;
	unsigned posted = 0, rounds = 0;
	uint32_t sizes[1024];
	uint32_t id, len;
	size_t completed = 0;
	bool saw_full = false;
	uint64_t deadline = now_usec() + 30000000;

	for (size_t i = 0; i < SLOW_TOTAL; i++)
		data[i] = (char)(i * 13 + (i >> 9));
	start(f, 0);
	while (rcvd < SLOW_TOTAL) {
		assert_true(now_usec() < deadline);
		rounds++;
		/* three descriptors per request: at most QSIZE / 4 in flight */
		while (sent < SLOW_TOTAL &&
		       (uint16_t)(posted - vtest_vq_used_idx(&f->tx)) < QSIZE / 4) {
			uint32_t n = (uint32_t)MIN((size_t)SLOW_CHUNK, SLOW_TOTAL - sent);

			post_tx(f, data + sent, n, 700);
			sizes[posted % 1024] = n;
			sent += n;
			posted++;
		}
		vtest_vq_kick(&f->tx);
		vtest_run(&f->t);
		while (vtest_vq_get_used(&f->tx, &id, &len))
			completed += sizes[(f->tx.used_seen - 1) % 1024];
		/* completed bytes were written: the reader has them or the
		 * pty holds them */
		assert_true(completed <= sent);
		if (vtest_vq_used_idx(&f->tx) < posted && rcvd == 0)
			saw_full = true;
		/* read a little, slowly */
		if (rounds % 3 == 0) {
			ssize_t r = slave_read(f, got + rcvd, MIN((size_t)1500, SLOW_TOTAL - rcvd));

			if (r > 0)
				rcvd += (size_t)r;
		}
		vtest_poll(&f->t, 1);
		assert_true(rcvd <= completed + SLOW_CHUNK); /* never more than written */
	}
	assert_true(saw_full);
	assert_memory_equal(got, data, SLOW_TOTAL);
	assert_int_equal(vtest_vq_used_idx(&f->tx), posted);
	assert_int_equal(f->d->n_errors, 0);
}

static void test_emergency_write(void **state)
{
	struct fx *f = *state;
	char buf[8];

	/* usable before the driver is set up */
	vtest_write(&f->t, 0, VIRTIO_MMIO_CONFIG + 8, 4, 'E');
	start(f, F(VIRTIO_CONSOLE_F_EMERG_WRITE));
	vtest_write(&f->t, 0, VIRTIO_MMIO_CONFIG + 8, 4, 0x100 | 'M');
	assert_int_equal(vtest_read(&f->t, 0, VIRTIO_MMIO_CONFIG + 8, 4), 0);
	assert_int_equal(slave_wait_read(f, buf, 2), 2);
	assert_memory_equal(buf, "EM", 2);
	/* other config writes go nowhere */
	vtest_write(&f->t, 0, VIRTIO_MMIO_CONFIG + 4, 4, 'X');
	assert_int_equal(slave_wait_read(f, buf, 1), 0);
}

/* Bad requests are completed empty; ring corruption sets NEEDS_RESET. */
static void test_malicious(void **state)
{
	struct fx *f = *state;
	uint64_t g = vtest_alloc(&f->t, 4096, 16);
	struct vtest_buf b;
	char buf[64];
	uint32_t id, len;

	start(f, 0);
	/* TX: outside RAM, wrapping, zero length, indirect not negotiated */
	b = (struct vtest_buf){VTEST_RAM_GPA + VTEST_RAM_SIZE - 4, 64, false};
	vtest_vq_publish(&f->tx, vtest_vq_chain(&f->tx, &b, 1));
	b = (struct vtest_buf){UINT64_MAX - 8, 64, false};
	vtest_vq_publish(&f->tx, vtest_vq_chain(&f->tx, &b, 1));
	b = (struct vtest_buf){g, 0, false};
	vtest_vq_publish(&f->tx, vtest_vq_chain(&f->tx, &b, 1));
	*vtest_vq_desc(&f->tx, f->tx.next_desc % QSIZE) =
		(struct vring_desc){.addr = g, .len = 32, .flags = VRING_DESC_F_INDIRECT};
	vtest_vq_publish(&f->tx, f->tx.next_desc++ % QSIZE);
	post_tx(f, "ok", 2, 10);
	vtest_vq_kick(&f->tx);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->tx), 5);
	for (unsigned i = 0; i < 5; i++) {
		assert_true(vtest_vq_get_used(&f->tx, &id, &len));
		assert_int_equal(len, 0);
	}
	assert_int_equal(slave_wait_read(f, buf, 2), 2);
	/* RX: a readable buffer, and a buffer past RAM */
	b = (struct vtest_buf){g, 64, false};
	vtest_vq_publish(&f->rx, vtest_vq_chain(&f->rx, &b, 1));
	b = (struct vtest_buf){VTEST_RAM_GPA + VTEST_RAM_SIZE - 4, 64, true};
	vtest_vq_publish(&f->rx, vtest_vq_chain(&f->rx, &b, 1));
	vtest_vq_kick(&f->rx);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->rx), 2);
	assert_false(vtest_status(&f->t, 0) & VIRTIO_CONFIG_S_NEEDS_RESET);

	/* descriptor loop */
	start(f, 0);
	*vtest_vq_desc(&f->tx, 0) = (struct vring_desc){g, 8, VRING_DESC_F_NEXT, 1};
	*vtest_vq_desc(&f->tx, 1) = (struct vring_desc){g, 8, VRING_DESC_F_NEXT, 0};
	vtest_vq_publish(&f->tx, 0);
	vtest_vq_kick(&f->tx);
	vtest_run(&f->t);
	assert_true(vtest_needs_reset(&f->t));
	/* head >= size */
	start(f, 0);
	vtest_vq_publish(&f->rx, QSIZE);
	vtest_vq_kick(&f->rx);
	vtest_run(&f->t);
	assert_true(vtest_needs_reset(&f->t));
	/* avail jump */
	start(f, 0);
	vtest_vq_avail(&f->tx)->idx = 1000;
	vtest_vq_kick(&f->tx);
	vtest_run(&f->t);
	assert_true(vtest_needs_reset(&f->t));
	/* nested indirect */
	start(f, F(VIRTIO_RING_F_INDIRECT_DESC));
	{
		struct vring_desc *t = vtest_host(&f->t, g);

		t[0] = (struct vring_desc){.addr = g, .len = 16, .flags = VRING_DESC_F_INDIRECT};
		*vtest_vq_desc(&f->tx, 0) =
			(struct vring_desc){.addr = g, .len = 16, .flags = VRING_DESC_F_INDIRECT};
		vtest_vq_publish(&f->tx, 0);
		vtest_vq_kick(&f->tx);
		vtest_run(&f->t);
		assert_true(vtest_vq_get_used(&f->tx, &id, &len));
		assert_int_equal(len, 0);
		assert_false(vtest_status(&f->t, 0) & VIRTIO_CONFIG_S_NEEDS_RESET);
	}
}

/* Reset with a receive buffer and unwritten output in flight. */
static void test_reset_in_flight(void **state)
{
	struct fx *f = *state;
	static char big[64 * 1024];
	char buf[4096];

	memset(big, 'z', sizeof(big));
	start(f, 0);
	post_rx(f, 64);
	vtest_vq_kick(&f->rx);
	for (unsigned i = 0; i < 4; i++)
		post_tx(f, big + i * 16000, 16000, 16000);
	vtest_vq_kick(&f->tx);
	vtest_run(&f->t);
	assert_true(vtest_vq_used_idx(&f->tx) < 4);
	vtest_wr(&f->t, VIRTIO_MMIO_STATUS, 0);
	while (slave_read(f, buf, sizeof(buf)) > 0)
		;
	assert_int_equal(write(f->slave, "x", 1), 1);
	vtest_poll(&f->t, 20);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->rx), 0);
	/* a new driver gets the byte */
	start(f, 0);
	post_rx(f, 64);
	vtest_vq_kick(&f->rx);
	vtest_poll(&f->t, 20);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->rx), 1);
}

/* drain() finishes the output it took. */
static void test_drain(void **state)
{
	struct fx *f = *state;
	static char big[40000];
	char buf[4096];
	size_t rcvd = 0;
	uint64_t deadline = now_usec() + 10000000;

	memset(big, 'q', sizeof(big));
	start(f, 0);
	post_tx(f, big, sizeof(big), 4000);
	post_tx(f, big, 100, 100);
	vtest_vq_kick(&f->tx);
	vtest_run(&f->t);
	assert_int_equal(f->d->ops->drain(f->d), 1);
	while (f->d->ops->drain(f->d) > 0) {
		ssize_t r;

		assert_true(now_usec() < deadline);
		r = slave_read(f, buf, sizeof(buf));
		if (r > 0)
			rcvd += (size_t)r;
		vtest_poll(&f->t, 1);
	}
	while (rcvd < sizeof(big)) {
		ssize_t r = slave_wait_read(f, buf, MIN(sizeof(buf), sizeof(big) - rcvd));

		if (r <= 0)
			break;
		rcvd += (size_t)r;
	}
	assert_int_equal(rcvd, sizeof(big));
	assert_int_equal(vtest_vq_used_idx(&f->tx), 1); /* the second was not taken */
}

/* Nobody holds the slave: no busy loop, nothing lost; a new reader gets the
 * bytes. */
static void test_hangup(void **state)
{
	struct fx *f = *state;
	char buf[64];
	uint32_t id, len;
	uint64_t g, deadline;

	start(f, 0);
	g = post_rx(f, 64);
	vtest_vq_kick(&f->rx);
	close(f->slave);
	f->slave = -1;
	vtest_poll(&f->t, 20);
	vtest_run(&f->t);
	post_tx(f, "kept", 4, 4);
	vtest_vq_kick(&f->tx);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->rx), 0);
	assert_int_equal(open_slave(f), 0);
	assert_int_equal(write(f->slave, "back", 4), 4);
	/* the device looks again within a second */
	deadline = now_usec() + 3000000;
	while ((vtest_vq_used_idx(&f->rx) == 0 || vtest_vq_used_idx(&f->tx) == 0) &&
	       now_usec() < deadline)
		vtest_poll(&f->t, 10);
	assert_true(vtest_vq_get_used(&f->rx, &id, &len));
	assert_int_equal(len, 4);
	assert_memory_equal(vtest_host(&f->t, g), "back", 4);
	assert_int_equal(vtest_vq_used_idx(&f->tx), 1);
	assert_int_equal(slave_wait_read(f, buf, 4), 4);
	assert_memory_equal(buf, "kept", 4);
}

/* The real driver (libhvguest) against the device: negotiation, config,
 * bytes both ways with indirect descriptors and EVENT_IDX. */
static void test_hvguest_driver(void **state)
{
	struct fx *f = *state;
	struct hvg_transport *tr = vtest_transport(&f->t);
	struct hvg_dev *hd;
	struct hvg_vq *rxq, *txq;
	uint64_t neg, rxbuf[8];
	uint16_t size[2];
	char in[64] = "", out[64];
	const char *msg = "login: ";
	unsigned sent = 0;
	size_t got = 0;
	void *token;
	uint32_t len;

	assert_int_equal(hvg_dev_probe(tr, VTEST_DEV_BASE, IRQ, &hd), 0);
	assert_int_equal(hvg_dev_id(hd), VIRTIO_ID_CONSOLE);
	assert_int_equal(hvg_dev_negotiate(hd,
					   F(VIRTIO_CONSOLE_F_SIZE) |
						   F(VIRTIO_CONSOLE_F_EMERG_WRITE) |
						   F(VIRTIO_RING_F_EVENT_IDX) |
						   F(VIRTIO_RING_F_INDIRECT_DESC),
					   &neg),
			 0);
	assert_int_equal(hvg_dev_config_read(hd, 0, size, 4), 0);
	assert_int_equal(size[0], 80);
	assert_int_equal(size[1], 25);
	assert_int_equal(hvg_vq_setup(hd, RXQ, 16, &rxq), 0);
	assert_int_equal(hvg_vq_setup(hd, TXQ, 16, &txq), 0);
	assert_int_equal(hvg_dev_driver_ok(hd), 0);
	for (uintptr_t i = 0; i < 8; i++) {
		struct hvg_buf b = {.len = 4, .writable = true};

		b.gpa = rxbuf[i] = hvg_alloc(tr, 4, 8);
		assert_int_equal(hvg_vq_add(rxq, &b, 1, false, (void *)i), 0);
	}
	hvg_vq_kick(rxq);
	{
		struct hvg_buf b[2] = {{.gpa = hvg_alloc(tr, 3, 8), .len = 3},
				       {.gpa = hvg_alloc(tr, 4, 8), .len = 4}};

		memcpy(hvg_ptr(tr, b[0].gpa, 3), msg, 3);
		memcpy(hvg_ptr(tr, b[1].gpa, 4), msg + 3, 4);
		assert_int_equal(hvg_vq_add(txq, b, 2, true, NULL), 0);
		hvg_vq_kick(txq);
	}
	assert_int_equal(write(f->slave, "root\r", 5), 5);
	while (got < 5 || sent < 1) {
		assert_int_equal(hvg_dev_wait(hd, 2000, NULL), 1);
		while (hvg_vq_get(txq, &token, &len) == 1)
			sent++;
		while (hvg_vq_get(rxq, &token, &len) == 1) {
			assert_true(len <= 4 && got + len < sizeof(in));
			memcpy(in + got, hvg_ptr(tr, rxbuf[(uintptr_t)token], len), len);
			got += len;
		}
	}
	assert_memory_equal(in, "root\r", 5);
	assert_int_equal(slave_wait_read(f, out, 7), 7);
	assert_memory_equal(out, msg, 7);
	hvg_dev_free(hd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_to_pty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_from_pty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_waits_for_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_slow_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emergency_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malicious, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hangup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hvguest_driver, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
