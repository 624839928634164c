// SPDX-License-Identifier: GPL-2.0-only
/* virtio-net (net.c) through the mmio transport, with hand-built rings and
 * a SOCK_SEQPACKET socketpair standing in for the tap (same records: a
 * 12-byte virtio_net_hdr_v1, then the frame). When run as root, a real tap
 * in a private network namespace (192.0.2.0/24 only) checks the offload
 * probing and negotiation and an ARP exchange with the kernel. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "devices.h"
#include "hvguest.h"
#include "tap.h"
#include "vtest.h"

#define IRQ	 40
#define HDR	 12
#define RXQ	 0
#define TXQ	 1
#define QSIZE	 64
#define V1	 (1ull << VIRTIO_F_VERSION_1)
#define F(b)	 (1ull << (b))
#define MRG	 F(VIRTIO_NET_F_MRG_RXBUF)
#define EVIDX	 F(VIRTIO_RING_F_EVENT_IDX)
#define INDIRECT F(VIRTIO_RING_F_INDIRECT_DESC)

static const uint8_t test_mac[6] = {0x02, 0x16, 0x3e, 0x10, 0x20, 0x30};

struct fx {
	struct vtest t;
	struct virtio_dev *d;
	int fd;	  /* the device's end (owned by the device) */
	int peer; /* the "network" */
	struct vtest_vq rx, tx;
};

/* ---- the little driver (vtest's, on slot 0) ---------------------------- */

/* negotiate, both queues, DRIVER_OK */
static void start(struct fx *f, uint64_t features, uint16_t num)
{
	assert_true(vtest_start_rxtx(&f->t, &f->rx, &f->tx, features, num));
}

/* One writable RX buffer per call. */
static uint64_t post_rx(struct fx *f, uint32_t len)
{
	return vtest_vq_post(&f->rx, len, 64, true);
}

/* A TX frame: header (split in two buffers if split) + data. */
static uint16_t post_tx(struct fx *f, const void *frame, uint32_t len, bool split)
{
	struct vtest_buf b[3];
	unsigned n = 0;
	uint64_t h = vtest_alloc(&f->t, HDR, 16);
	uint64_t data = vtest_alloc(&f->t, len, 16);
	uint16_t head;

	memset(vtest_host(&f->t, h), 0, HDR);
	memcpy(vtest_host(&f->t, data), frame, len);
	if (split) {
		b[n++] = (struct vtest_buf){h, 5, false};
		b[n++] = (struct vtest_buf){h + 5, HDR - 5, false};
	} else
		b[n++] = (struct vtest_buf){h, HDR, false};
	b[n++] = (struct vtest_buf){data, len, false};
	head = vtest_vq_chain(&f->tx, b, n);
	vtest_vq_publish(&f->tx, head);
	return head;
}

static void make_frame(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

/* header + frame from the "network" */
static void peer_send(struct fx *f, const uint8_t *frame, size_t len)
{
	uint8_t rec[HDR + 70000] = {0};

	memcpy(rec + HDR, frame, len);
	assert_int_equal(send(f->peer, rec, HDR + len, MSG_DONTWAIT), (ssize_t)(HDR + len));
}

static ssize_t peer_recv(struct fx *f, uint8_t *buf, size_t len)
{
	return recv(f->peer, buf, len, MSG_DONTWAIT);
}

/* ---- fixtures --------------------------------------------------------- */

static int create(struct fx *f, const uint8_t *mac)
{
	int sv[2];
	struct vdev_params p;
	struct net_params np = {0};

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	f->fd = sv[0];
	f->peer = sv[1];
	np.tap_fd = sv[0];
	if (mac)
		memcpy(np.mac, mac, 6);
	p = vtest_params(&f->t, 0, IRQ);
	assert_int_equal(net_create(&p, &np, &f->d), 0);
	vtest_add(&f->t, 0, f->d);
	return 0;
}

static int setup(void **state)
{
	struct fx *f = vtest_fx_new(sizeof(*f));

	create(f, test_mac);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vtest_fx_free(f, f->peer);
	return 0;
}

/* ---- tests ------------------------------------------------------------ */

static void test_identity_and_config(void **state)
{
	struct fx *f = *state;
	uint64_t feat = vtest_offered(&f->t, 0);
	struct json_object *o;

	assert_int_equal(vtest_rd(&f->t, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	vtest_wr(&f->t, VIRTIO_MMIO_QUEUE_SEL, RXQ);
	assert_int_equal(vtest_rd(&f->t, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	vtest_wr(&f->t, VIRTIO_MMIO_QUEUE_SEL, 2); /* no control queue */
	assert_int_equal(vtest_rd(&f->t, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	assert_true(feat & V1);
	assert_true(feat & F(VIRTIO_NET_F_MAC));
	assert_true(feat & F(VIRTIO_NET_F_STATUS));
	assert_true(feat & MRG);
	assert_true(feat & EVIDX);
	assert_true(feat & INDIRECT);
	/* not a tap: no offloads, no control queue */
	assert_false(feat & (F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
			     F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO4) |
			     F(VIRTIO_NET_F_HOST_TSO6) | F(VIRTIO_NET_F_GUEST_TSO6) |
			     F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_MQ)));
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(vtest_read(&f->t, 0, VIRTIO_MMIO_CONFIG + i, 1), test_mac[i]);
	assert_int_equal(vtest_read(&f->t, 0, VIRTIO_MMIO_CONFIG + 6, 2), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(vtest_read(&f->t, 0, VIRTIO_MMIO_CONFIG + 8, 2), 0); /* beyond */
	/* read-only for the driver */
	vtest_write(&f->t, 0, VIRTIO_MMIO_CONFIG, 1, 0xff);
	assert_int_equal(vtest_read(&f->t, 0, VIRTIO_MMIO_CONFIG, 1), test_mac[0]);

	o = json_object_new_object();
	f->d->ops->describe(f->d, o);
	assert_string_equal(json_object_get_string(json_object_object_get(o, "mac")),
			    "02:16:3e:10:20:30");
	assert_string_equal(json_object_get_string(json_object_object_get(o, "link")), "up");
	assert_non_null(json_object_object_get(o, "offloads"));
	json_object_put(o);
}

static void test_no_mac_multicast_mac(void **state)
{
	struct fx *f = *state;
	static const uint8_t mcast[6] = {0x01, 0, 0x5e, 0, 0, 1};
	struct vdev_params p = vtest_params(&f->t, 1, IRQ);
	struct net_params np = {.tap_fd = dup(f->peer)};
	struct virtio_dev *d;

	/* a multicast MAC is refused (and the fd closed) */
	memcpy(np.mac, mcast, 6);
	assert_int_equal(net_create(&p, &np, &d), -EINVAL);
	/* no MAC: not offered, the driver picks one */
	vtest_remove(&f->t, 0);
	close(f->peer);
	assert_int_equal(create(f, NULL), 0);
	assert_false(vtest_offered(&f->t, 0) & F(VIRTIO_NET_F_MAC));
}

static void test_feature_rules(void **state)
{
	struct fx *f = *state;

	/* offloads are not offered on a socket */
	assert_false(vtest_negotiate(&f->t, 0, V1 | F(VIRTIO_NET_F_GUEST_CSUM)));
	/* the dependency checks themselves */
	assert_true(f->d->ops->features_ok(f->d, V1 | F(VIRTIO_NET_F_GUEST_TSO4)) < 0);
	assert_true(f->d->ops->features_ok(f->d, V1 | F(VIRTIO_NET_F_GUEST_TSO6)) < 0);
	assert_true(f->d->ops->features_ok(f->d, V1 | F(VIRTIO_NET_F_HOST_TSO4)) < 0);
	assert_true(f->d->ops->features_ok(f->d, V1 | F(VIRTIO_NET_F_HOST_TSO6)) < 0);
	assert_int_equal(f->d->ops->features_ok(f->d, V1 | F(VIRTIO_NET_F_GUEST_CSUM) |
							      F(VIRTIO_NET_F_GUEST_TSO4)),
			 0);
	assert_int_equal(
		f->d->ops->features_ok(f->d, V1 | F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO6)),
		0);
	/* legacy drivers are refused */
	assert_false(vtest_negotiate(&f->t, 0, MRG));
	assert_true(vtest_negotiate(&f->t, 0,
				    V1 | MRG | EVIDX | INDIRECT | F(VIRTIO_NET_F_MAC) |
					    F(VIRTIO_NET_F_STATUS)));
}

static void check_rx_frame(struct fx *f, uint64_t gpa, const uint8_t *frame, size_t len,
			   uint16_t nbufs)
{
	struct virtio_net_hdr_v1 *h = vtest_host(&f->t, gpa);

	assert_int_equal(h->num_buffers, nbufs);
	assert_int_equal(h->flags, 0);
	assert_memory_equal((uint8_t *)vtest_host(&f->t, gpa) + HDR, frame, len);
}

/* One buffer per frame without MRG_RXBUF; several sizes; one interrupt
 * for a batch. */
static void test_rx_sizes(void **state)
{
	struct fx *f = *state;
	static const size_t sizes[] = {14, 60, 1000, 1514};
	uint8_t frame[1514];
	uint64_t gpa[4];
	uint32_t id, len;

	start(f, 0, QSIZE);
	for (unsigned i = 0; i < 4; i++)
		gpa[i] = post_rx(f, HDR + 1514);
	vtest_vq_kick(&f->rx);
	for (unsigned i = 0; i < 4; i++) {
		make_frame(frame, sizes[i], i);
		peer_send(f, frame, sizes[i]);
	}
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->rx), 4);
	assert_int_equal(f->t.irqs_raised, 1); /* one batch, one interrupt */
	for (unsigned i = 0; i < 4; i++) {
		assert_true(vtest_vq_get_used(&f->rx, &id, &len));
		assert_int_equal(id, i);
		assert_int_equal(len, HDR + sizes[i]);
		make_frame(frame, sizes[i], i);
		check_rx_frame(f, gpa[i], frame, sizes[i], 1);
	}
	assert_int_equal(f->d->n_errors, 0);
}

/* MRG_RXBUF: a frame spread over several buffers, num_buffers set, the
 * unused buffers kept for the next frame. */
static void test_rx_mergeable(void **state)
{
	struct fx *f = *state;
	uint8_t frame[1514], *p;
	uint64_t gpa[8];
	uint32_t id, len;

	start(f, MRG, QSIZE);
	for (unsigned i = 0; i < 8; i++)
		gpa[i] = post_rx(f, 512);
	vtest_vq_kick(&f->rx);
	make_frame(frame, 1514, 7);
	peer_send(f, frame, 1514);
	vtest_run(&f->t);
	/* 12 + 1514 = 1526 bytes: 512 + 512 + 502 */
	assert_int_equal(vtest_vq_used_idx(&f->rx), 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_true(vtest_vq_get_used(&f->rx, &id, &len));
		assert_int_equal(id, i);
		assert_int_equal(len, i < 2 ? 512 : 1526 - 1024);
	}
	assert_int_equal(((struct virtio_net_hdr_v1 *)vtest_host(&f->t, gpa[0]))->num_buffers, 3);
	p = vtest_host(&f->t, gpa[0]);
	assert_memory_equal(p + HDR, frame, 500);
	assert_memory_equal(vtest_host(&f->t, gpa[1]), frame + 500, 512);
	assert_memory_equal(vtest_host(&f->t, gpa[2]), frame + 1012, 502);

	/* a small frame takes the next buffer */
	make_frame(frame, 60, 8);
	peer_send(f, frame, 60);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->rx), 4);
	assert_true(vtest_vq_get_used(&f->rx, &id, &len));
	assert_int_equal(id, 3);
	assert_int_equal(len, HDR + 60);
	check_rx_frame(f, gpa[3], frame, 60, 1);
}

/* Without RX buffers the fd is not read: the frame waits, nothing lost. */
static void test_rx_no_buffer_no_read(void **state)
{
	struct fx *f = *state;
	uint8_t frame[200], peek[300];
	uint64_t gpa;
	uint32_t id, len;

	start(f, MRG | EVIDX, QSIZE);
	make_frame(frame, 200, 1);
	peer_send(f, frame, 200);
	vtest_run(&f->t);
	vtest_poll(&f->t, 20);
	/* still in the socket */
	assert_int_equal(recv(f->fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT), HDR + 200);
	assert_int_equal(vtest_vq_used_idx(&f->rx), 0);

	/* with MRG_RXBUF, too little room for a full frame is not enough
	 * either: 256 bytes < 12 + 1518 */
	post_rx(f, 256);
	vtest_vq_kick(&f->rx);
	vtest_run(&f->t);
	assert_int_equal(recv(f->fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT), HDR + 200);
	assert_int_equal(vtest_vq_used_idx(&f->rx), 0);
	/* EVENT_IDX: the device asked to be kicked at the next buffer */
	assert_int_equal(*(uint16_t *)&vtest_vq_used(&f->rx)->ring[QSIZE], 1);

	gpa = post_rx(f, 2048);
	vtest_vq_kick(&f->rx);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->rx), 1);
	assert_true(vtest_vq_get_used(&f->rx, &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(len, 212);
	(void)gpa;
	assert_int_equal(recv(f->fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

/* Many frames, few buffers: every frame arrives, in order, as buffers are
 * posted. */
static void test_rx_many_frames_few_buffers(void **state)
{
	struct fx *f = *state;
	uint8_t frame[600];
	uint32_t id, len;
	unsigned got = 0;
	uint64_t gpa[QSIZE];

	start(f, 0, QSIZE);
	for (unsigned i = 0; i < 100; i++) {
		make_frame(frame, 100 + i, i);
		peer_send(f, frame, 100 + i);
	}
	while (got < 100) {
		unsigned base = got;

		for (unsigned i = 0; i < 7; i++)
			gpa[(base + i) % QSIZE] = post_rx(f, HDR + 1514);
		vtest_vq_kick(&f->rx);
		vtest_run(&f->t);
		while (vtest_vq_get_used(&f->rx, &id, &len)) {
			make_frame(frame, 100 + got, got);
			assert_int_equal(len, HDR + 100 + got);
			check_rx_frame(f, gpa[got % QSIZE], frame, 100 + got, 1);
			got++;
		}
		assert_true(got <= base + 7);
	}
	assert_int_equal(f->d->n_errors, 0);
}

/* A buffer smaller than the frame: counted, the buffer is reused. */
static void test_rx_truncated(void **state)
{
	struct fx *f = *state;
	uint8_t frame[1000];
	uint64_t gpa;
	uint32_t id, len;

	start(f, 0, QSIZE);
	gpa = post_rx(f, HDR + 100);
	vtest_vq_kick(&f->rx);
	make_frame(frame, 1000, 3);
	peer_send(f, frame, 1000);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->rx), 0);
	assert_int_equal(f->d->n_errors, 1);
	make_frame(frame, 80, 4);
	peer_send(f, frame, 80);
	vtest_run(&f->t);
	assert_true(vtest_vq_get_used(&f->rx, &id, &len));
	assert_int_equal(len, HDR + 80);
	check_rx_frame(f, gpa, frame, 80, 1);
}

/* MRG_RXBUF and a frame larger than expected (a non-tap fd: 1518 bytes):
 * counted once, then the device waits for room for frames that large. */
static void test_rx_mergeable_learns(void **state)
{
	struct fx *f = *state;
	uint8_t frame[3000];
	uint64_t gpa[3];
	uint32_t id, len;

	start(f, MRG, QSIZE);
	gpa[0] = post_rx(f, 1024);
	gpa[1] = post_rx(f, 1024);
	vtest_vq_kick(&f->rx);
	make_frame(frame, 3000, 1);
	peer_send(f, frame, 3000);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->rx), 0);
	assert_int_equal(f->d->n_errors, 1);
	/* 2048 bytes posted are no longer enough: the frame waits */
	peer_send(f, frame, 3000);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->rx), 0);
	assert_int_equal(f->d->n_errors, 1);
	gpa[2] = post_rx(f, 1024);
	vtest_vq_kick(&f->rx);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->rx), 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_true(vtest_vq_get_used(&f->rx, &id, &len));
		assert_int_equal(id, i);
		assert_int_equal(len, i < 2 ? 1024 : 3012 - 2048);
	}
	assert_memory_equal((uint8_t *)vtest_host(&f->t, gpa[0]) + HDR, frame, 1012);
	assert_memory_equal(vtest_host(&f->t, gpa[1]), frame + 1012, 1024);
	assert_memory_equal(vtest_host(&f->t, gpa[2]), frame + 2036, 3000 - 2036);
	assert_int_equal(f->d->n_errors, 1);
}

/* Frames arrive intact and in order; headers may span buffers. */
static void test_tx_order(void **state)
{
	struct fx *f = *state;
	uint8_t frame[2000], got[HDR + 2000];
	uint32_t id, len;

	start(f, 0, QSIZE);
	for (unsigned i = 0; i < 20; i++) {
		make_frame(frame, 60 + i * 50, 100 + i);
		post_tx(f, frame, 60 + i * 50, i % 2);
	}
	vtest_vq_kick(&f->tx);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->tx), 20);
	assert_int_equal(f->t.irqs_raised, 1);
	for (unsigned i = 0; i < 20; i++) {
		assert_true(vtest_vq_get_used(&f->tx, &id, &len));
		assert_int_equal(len, 0);
		assert_int_equal(peer_recv(f, got, sizeof(got)), HDR + 60 + i * 50);
		make_frame(frame, 60 + i * 50, 100 + i);
		assert_memory_equal(got + HDR, frame, 60 + i * 50);
	}
	assert_int_equal(peer_recv(f, got, sizeof(got)), -1);
}

/* The peer does not read: frames are completed only once written, none is
 * lost, order kept. */
static void test_tx_backpressure(void **state)
{
	struct fx *f = *state;
	int sz = 4096;
	uint8_t frame[1400], got[HDR + 1400];
	unsigned received = 0, posted = 0, rounds = 0;
	const unsigned total = 300;

	assert_int_equal(setsockopt(f->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	start(f, EVIDX, QSIZE);
	while (received < total) {
		assert_true(++rounds < 10000);
		/* keep the ring full */
		while (posted < total &&
		       (uint16_t)(posted - vtest_vq_used_idx(&f->tx)) < QSIZE / 4) {
			make_frame(frame, sizeof(frame), posted);
			post_tx(f, frame, sizeof(frame), false);
			posted++;
		}
		vtest_vq_kick(&f->tx);
		vtest_run(&f->t);
		/* completed == written: the socket holds exactly the frames
		 * completed and not yet received */
		{
			int queued = 0;
			uint16_t done = vtest_vq_used_idx(&f->tx);

			while (peer_recv(f, got, sizeof(got)) > 0) {
				make_frame(frame, sizeof(frame), received);
				assert_memory_equal(got + HDR, frame, sizeof(frame));
				received++;
				queued++;
				if (queued == 3)
					break; /* a slow reader */
			}
			assert_true(received <= done);
			if (posted < total)
				assert_true(done < posted || posted == total);
		}
		vtest_poll(&f->t, 1);
	}
	assert_int_equal(vtest_vq_used_idx(&f->tx), total);
	assert_int_equal(f->d->n_errors, 0);
}

/* Bad TX requests are completed empty and counted; good ones go on. */
static void test_tx_bad_requests(void **state)
{
	struct fx *f = *state;
	uint8_t frame[100], got[HDR + 200];
	uint64_t g = vtest_alloc(&f->t, 256, 16);
	struct vtest_buf b;
	uint32_t id, len;
	uint64_t errors;

	start(f, 0, QSIZE);
	errors = f->d->n_errors;
	/* header too short */
	b = (struct vtest_buf){g, 8, false};
	vtest_vq_publish(&f->tx, vtest_vq_chain(&f->tx, &b, 1));
	/* buffer past RAM */
	b = (struct vtest_buf){VTEST_RAM_GPA + VTEST_RAM_SIZE - 8, 64, false};
	vtest_vq_publish(&f->tx, vtest_vq_chain(&f->tx, &b, 1));
	/* address + length wrapping */
	b = (struct vtest_buf){UINT64_MAX - 16, 64, false};
	vtest_vq_publish(&f->tx, vtest_vq_chain(&f->tx, &b, 1));
	/* zero-length buffer */
	b = (struct vtest_buf){g, 0, false};
	vtest_vq_publish(&f->tx, vtest_vq_chain(&f->tx, &b, 1));
	/* indirect not negotiated */
	*vtest_vq_desc(&f->tx, f->tx.next_desc % QSIZE) =
		(struct vring_desc){.addr = g, .len = 32, .flags = VRING_DESC_F_INDIRECT};
	vtest_vq_publish(&f->tx, f->tx.next_desc++ % QSIZE);
	/* then a good frame */
	make_frame(frame, 100, 9);
	post_tx(f, frame, 100, false);
	vtest_vq_kick(&f->tx);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->tx), 6);
	for (unsigned i = 0; i < 6; i++) {
		assert_true(vtest_vq_get_used(&f->tx, &id, &len));
		assert_int_equal(len, 0);
	}
	assert_int_equal(f->d->n_errors, errors + 5);
	assert_int_equal(peer_recv(f, got, sizeof(got)), HDR + 100);
	assert_memory_equal(got + HDR, frame, 100);
	assert_false(vtest_status(&f->t, 0) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* Nested indirect tables, and a good indirect one. */
static void test_tx_indirect(void **state)
{
	struct fx *f = *state;
	uint8_t frame[300], got[HDR + 300];
	uint64_t tbl = vtest_alloc(&f->t, 64, 16), h = vtest_alloc(&f->t, HDR, 16);
	uint64_t data = vtest_alloc(&f->t, 300, 16);
	struct vring_desc *t = vtest_host(&f->t, tbl);
	uint32_t id, len;

	start(f, INDIRECT, QSIZE);
	make_frame(frame, 300, 5);
	memset(vtest_host(&f->t, h), 0, HDR);
	memcpy(vtest_host(&f->t, data), frame, 300);
	t[0] = (struct vring_desc){.addr = h, .len = HDR, .flags = VRING_DESC_F_NEXT, .next = 1};
	t[1] = (struct vring_desc){.addr = data, .len = 300};
	*vtest_vq_desc(&f->tx, 0) =
		(struct vring_desc){.addr = tbl, .len = 32, .flags = VRING_DESC_F_INDIRECT};
	f->tx.next_desc = 1;
	vtest_vq_publish(&f->tx, 0);
	vtest_vq_kick(&f->tx);
	vtest_run(&f->t);
	assert_int_equal(peer_recv(f, got, sizeof(got)), HDR + 300);
	assert_memory_equal(got + HDR, frame, 300);

	/* nested: an indirect descriptor inside the table */
	t[2] = (struct vring_desc){.addr = tbl, .len = 32, .flags = VRING_DESC_F_INDIRECT};
	*vtest_vq_desc(&f->tx, 1) =
		(struct vring_desc){.addr = tbl + 32, .len = 16, .flags = VRING_DESC_F_INDIRECT};
	f->tx.next_desc = 2;
	vtest_vq_publish(&f->tx, 1);
	vtest_vq_kick(&f->tx);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->tx), 2);
	assert_true(vtest_vq_get_used(&f->tx, &id, &len));
	assert_true(vtest_vq_get_used(&f->tx, &id, &len));
	assert_int_equal(id, 1);
	assert_int_equal(len, 0);
	assert_int_equal(peer_recv(f, got, sizeof(got)), -1);
}

/* Ring corruption on either queue: DEVICE_NEEDS_RESET, never a crash; a
 * reset brings the device back. */
static void test_corrupt_rings(void **state)
{
	struct fx *f = *state;
	uint64_t g = vtest_alloc(&f->t, 4096, 16);
	uint8_t frame[64] = {0};
	uint32_t id, len;

	/* descriptor loop on TX */
	start(f, 0, QSIZE);
	*vtest_vq_desc(&f->tx, 0) = (struct vring_desc){g, HDR, VRING_DESC_F_NEXT, 1};
	*vtest_vq_desc(&f->tx, 1) = (struct vring_desc){g + 64, 64, VRING_DESC_F_NEXT, 0};
	vtest_vq_publish(&f->tx, 0);
	vtest_vq_kick(&f->tx);
	vtest_run(&f->t);
	assert_true(vtest_needs_reset(&f->t));

	/* head index >= queue size on RX */
	start(f, MRG, QSIZE);
	vtest_vq_publish(&f->rx, QSIZE + 3);
	vtest_vq_kick(&f->rx);
	vtest_run(&f->t);
	assert_true(vtest_needs_reset(&f->t));

	/* next index >= queue size */
	start(f, 0, QSIZE);
	*vtest_vq_desc(&f->tx, 0) = (struct vring_desc){g, HDR, VRING_DESC_F_NEXT, 999};
	vtest_vq_publish(&f->tx, 0);
	vtest_vq_kick(&f->tx);
	vtest_run(&f->t);
	assert_true(vtest_needs_reset(&f->t));

	/* avail index jumps past the ring */
	start(f, 0, QSIZE);
	vtest_vq_avail(&f->rx)->idx = QSIZE + 1;
	vtest_vq_kick(&f->rx);
	vtest_run(&f->t);
	assert_true(vtest_needs_reset(&f->t));
	/* a notify after the failure does nothing */
	vtest_vq_kick(&f->rx);
	vtest_vq_kick(&f->tx);

	/* reset, and everything works again */
	start(f, 0, QSIZE);
	post_rx(f, HDR + 100);
	vtest_vq_kick(&f->rx);
	peer_send(f, frame, 64);
	vtest_run(&f->t);
	assert_true(vtest_vq_get_used(&f->rx, &id, &len));
	assert_int_equal(len, HDR + 64);
	assert_false(vtest_status(&f->t, 0) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* Bad RX buffers (readable, too small for the header, outside RAM) are
 * completed empty; the good ones around them still receive. */
static void test_rx_bad_buffers(void **state)
{
	struct fx *f = *state;
	uint8_t frame[100];
	uint64_t g = vtest_alloc(&f->t, 4096, 16), good;
	struct vtest_buf b;
	uint32_t id, len;

	start(f, MRG, QSIZE);
	b = (struct vtest_buf){g, 2048, false}; /* readable */
	vtest_vq_publish(&f->rx, vtest_vq_chain(&f->rx, &b, 1));
	b = (struct vtest_buf){g, 4, true}; /* smaller than the header */
	vtest_vq_publish(&f->rx, vtest_vq_chain(&f->rx, &b, 1));
	b = (struct vtest_buf){VTEST_RAM_GPA + VTEST_RAM_SIZE - 100, 2048, true}; /* past RAM */
	vtest_vq_publish(&f->rx, vtest_vq_chain(&f->rx, &b, 1));
	good = post_rx(f, 2048);
	vtest_vq_kick(&f->rx);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->rx), 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_true(vtest_vq_get_used(&f->rx, &id, &len));
		assert_int_equal(len, 0);
	}
	make_frame(frame, 100, 2);
	peer_send(f, frame, 100);
	vtest_run(&f->t);
	assert_true(vtest_vq_get_used(&f->rx, &id, &len));
	assert_int_equal(id, 3);
	assert_int_equal(len, HDR + 100);
	check_rx_frame(f, good, frame, 100, 1);
	assert_false(vtest_status(&f->t, 0) & VIRTIO_CONFIG_S_NEEDS_RESET);
}

/* Reset with RX buffers held and TX blocked: nothing completed afterwards,
 * nothing touched, the device works after re-initialisation. */
static void test_reset_in_flight(void **state)
{
	struct fx *f = *state;
	int sz = 4096;
	uint8_t frame[1400];
	uint32_t id, len;

	assert_int_equal(setsockopt(f->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	start(f, MRG, QSIZE);
	for (unsigned i = 0; i < 8; i++)
		post_rx(f, 1024);
	vtest_vq_kick(&f->rx);
	for (unsigned i = 0; i < 30; i++) {
		make_frame(frame, sizeof(frame), i);
		post_tx(f, frame, sizeof(frame), false);
	}
	vtest_vq_kick(&f->tx);
	vtest_run(&f->t);
	assert_true(vtest_vq_used_idx(&f->tx) < 30);
	vtest_wr(&f->t, VIRTIO_MMIO_STATUS, 0);
	/* the peer drains: nothing may be pushed into the old rings */
	{
		uint8_t got[HDR + 1400];
		uint16_t before = vtest_vq_used_idx(&f->tx);

		while (peer_recv(f, got, sizeof(got)) > 0)
			;
		peer_send(f, frame, 100);
		vtest_poll(&f->t, 10);
		vtest_run(&f->t);
		assert_int_equal(vtest_vq_used_idx(&f->tx), before);
		assert_int_equal(vtest_vq_used_idx(&f->rx), 0);
	}
	/* new driver */
	start(f, 0, QSIZE);
	post_rx(f, HDR + 1514);
	vtest_vq_kick(&f->rx);
	vtest_run(&f->t);
	assert_true(vtest_vq_get_used(&f->rx, &id, &len));
	assert_int_equal(len, HDR + 100);
}

/* The peer hangs up: link down, configuration interrupt; TX completes. */
static void test_link_down(void **state)
{
	struct fx *f = *state;
	uint8_t frame[100] = {0};
	uint32_t id, len;
	struct json_object *o;

	start(f, 0, QSIZE);
	post_rx(f, HDR + 1514);
	vtest_vq_kick(&f->rx);
	vtest_run(&f->t);
	vtest_wr(&f->t, VIRTIO_MMIO_INTERRUPT_ACK, 3);
	close(f->peer);
	f->peer = -1;
	vtest_poll(&f->t, 10);
	vtest_run(&f->t);
	assert_int_equal(vtest_read(&f->t, 0, VIRTIO_MMIO_CONFIG + 6, 2), 0);
	assert_true(vtest_rd(&f->t, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(vtest_vq_used_idx(&f->rx), 0);
	post_tx(f, frame, 100, false);
	vtest_vq_kick(&f->tx);
	vtest_run(&f->t);
	assert_true(vtest_vq_get_used(&f->tx, &id, &len));
	o = json_object_new_object();
	f->d->ops->describe(f->d, o);
	assert_string_equal(json_object_get_string(json_object_object_get(o, "link")), "down");
	json_object_put(o);
}

/* drain(): RX stops, the frame the fd refused so far is finished. */
static void test_drain(void **state)
{
	struct fx *f = *state;
	int sz = 4096;
	uint8_t frame[1400], got[HDR + 1400];
	unsigned n = 0, rounds = 0;

	assert_int_equal(setsockopt(f->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	start(f, 0, QSIZE);
	post_rx(f, HDR + 1514);
	vtest_vq_kick(&f->rx);
	for (unsigned i = 0; i < 20; i++) {
		make_frame(frame, sizeof(frame), i);
		post_tx(f, frame, sizeof(frame), false);
	}
	vtest_vq_kick(&f->tx);
	vtest_run(&f->t);
	assert_int_equal(f->d->ops->drain(f->d), 1);
	/* the device takes nothing new */
	while (f->d->ops->drain(f->d) > 0) {
		assert_true(++rounds < 1000);
		while (peer_recv(f, got, sizeof(got)) > 0)
			n++;
		vtest_poll(&f->t, 1);
	}
	while (peer_recv(f, got, sizeof(got)) > 0)
		n++;
	assert_int_equal(n, vtest_vq_used_idx(&f->tx));
	assert_true(n < 20);
	/* RX is not read any more */
	peer_send(f, frame, 100);
	vtest_run(&f->t);
	assert_int_equal(vtest_vq_used_idx(&f->rx), 0);
}

/* The real driver (libhvguest) against the device: negotiation, config,
 * frames both ways with mergeable buffers, indirect descriptors and
 * EVENT_IDX. */
static void test_hvguest_driver(void **state)
{
	struct fx *f = *state;
	struct hvg_transport *tr = vtest_transport(&f->t);
	struct hvg_dev *hd;
	struct hvg_vq *rxq, *txq;
	uint64_t neg, rxbuf[32];
	uint8_t mac[6], frame[1514], rec[HDR + 1514];
	unsigned got = 0, sent = 0;
	void *token;
	uint32_t len;

	assert_int_equal(hvg_dev_probe(tr, VTEST_DEV_BASE, IRQ, &hd), 0);
	assert_int_equal(hvg_dev_id(hd), VIRTIO_ID_NET);
	assert_int_equal(hvg_dev_negotiate(hd,
					   MRG | EVIDX | INDIRECT | F(VIRTIO_NET_F_MAC) |
						   F(VIRTIO_NET_F_STATUS),
					   &neg),
			 0);
	assert_true(neg & MRG);
	assert_int_equal(hvg_dev_config_read(hd, 0, mac, 6), 0);
	assert_memory_equal(mac, test_mac, 6);
	assert_int_equal(hvg_vq_setup(hd, RXQ, 64, &rxq), 0);
	assert_int_equal(hvg_vq_setup(hd, TXQ, 64, &txq), 0);
	assert_int_equal(hvg_dev_driver_ok(hd), 0);
	for (uintptr_t i = 0; i < 32; i++) {
		struct hvg_buf b = {.len = 1024, .writable = true};

		b.gpa = rxbuf[i] = hvg_alloc(tr, 1024, 64);
		assert_int_equal(hvg_vq_add(rxq, &b, 1, false, (void *)i), 0);
	}
	hvg_vq_kick(rxq);
	/* guest -> network: header and frame in one indirect table */
	for (unsigned i = 0; i < 10; i++) {
		struct hvg_buf b[2];

		b[0] = (struct hvg_buf){.gpa = hvg_alloc(tr, HDR, 16), .len = HDR};
		b[1] = (struct hvg_buf){.gpa = hvg_alloc(tr, 1514, 16), .len = 100 + 100 * i};
		make_frame(hvg_ptr(tr, b[1].gpa, b[1].len), b[1].len, 50 + i);
		assert_int_equal(hvg_vq_add(txq, b, 2, true, NULL), 0);
	}
	hvg_vq_kick(txq);
	/* network -> guest: frames of up to 1514 bytes over 1024-byte buffers */
	for (unsigned i = 0; i < 10; i++) {
		make_frame(frame, 60 + 160 * i, 80 + i);
		peer_send(f, frame, 60 + 160 * i);
	}
	while (got < 10 || sent < 10) {
		assert_int_equal(hvg_dev_wait(hd, 2000, NULL), 1);
		while (hvg_vq_get(txq, &token, &len) == 1)
			sent++;
		while (hvg_vq_get(rxq, &token, &len) == 1) {
			uintptr_t first = (uintptr_t)token;
			uint8_t *p = hvg_ptr(tr, rxbuf[first], 1024);
			uint16_t nb = ((struct virtio_net_hdr_v1 *)p)->num_buffers;
			size_t flen = 60 + 160 * got, off = len - HDR;

			make_frame(frame, flen, 80 + got);
			assert_memory_equal(p + HDR, frame, off);
			/* the rest of a merged frame follows in the next buffers */
			for (unsigned k = 1; k < nb; k++) {
				assert_int_equal(hvg_vq_get(rxq, &token, &len), 1);
				assert_memory_equal(hvg_ptr(tr, rxbuf[(uintptr_t)token], len),
						    frame + off, len);
				off += len;
			}
			assert_int_equal(off, flen);
			got++;
		}
	}
	for (unsigned i = 0; i < 10; i++) {
		assert_int_equal(peer_recv(f, rec, sizeof(rec)), HDR + 100 + 100 * i);
		make_frame(frame, 100 + 100 * i, 50 + i);
		assert_memory_equal(rec + HDR, frame, 100 + 100 * i);
	}
	assert_int_equal(f->d->n_errors, 0);
	hvg_dev_free(hd);
}

/* ---- a real tap (root only) ------------------------------------------ */

static int tap_open(const char *name)
{
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* 192.0.2.0/24 only: no IPv6 link-local address, no IPv6 chatter either */
static void disable_ipv6(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			print_message("cannot disable IPv6 on %s\n", name);
		close(fd);
	}
}

static int if_up(const char *name, const char *addr)
{
	struct ifreq ifr = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (s < 0)
		return -errno;
	disable_ipv6(name);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, addr, &sin->sin_addr);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
		r = -errno;
	inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
	if (!r && ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
		r = -errno;
	if (!r && ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		r = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!r && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		r = -errno;
	close(s);
	return r;
}

/* An ARP request from 192.0.2.2 (the guest) for 192.0.2.1 (the tap). */
static size_t arp_request(uint8_t *p)
{
	static const uint8_t hdr[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint8_t *a = p + 14;

	memcpy(p, hdr, 6);
	memcpy(p + 6, test_mac, 6);
	p[12] = 0x08;
	p[13] = 0x06;
	a[0] = 0, a[1] = 1, a[2] = 0x08, a[3] = 0, a[4] = 6, a[5] = 4, a[6] = 0, a[7] = 1;
	memcpy(a + 8, test_mac, 6);
	a[14] = 192, a[15] = 0, a[16] = 2, a[17] = 2;
	memset(a + 18, 0, 6);
	a[24] = 192, a[25] = 0, a[26] = 2, a[27] = 1;
	memset(a + 28, 0, 60 - 42);
	return 60;
}

static void test_real_tap(void **state)
{
	struct fx *f = *state;
	struct vdev_params p;
	struct net_params np = {0};
	uint64_t feat, csum = F(VIRTIO_NET_F_CSUM), gcsum = F(VIRTIO_NET_F_GUEST_CSUM);
	uint8_t frame[64];
	uint64_t gpa[20];
	bool got_reply = false;
	uint64_t errors;
	int fd;

	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		skip_because("needs root and a network namespace of its own");
	fd = tap_open("hvtest0");
	if (fd < 0)
		skip_because("cannot create a tap (%s)", strerror(-fd));
	/* replace the socketpair device by a tap one */
	vtest_remove(&f->t, 0);
	memcpy(np.mac, test_mac, 6);
	np.tap_fd = fd;
	p = vtest_params(&f->t, 0, IRQ);
	assert_int_equal(net_create(&p, &np, &f->d), 0);
	vtest_add(&f->t, 0, f->d);
	f->fd = fd;

	feat = vtest_offered(&f->t, 0);
	assert_true(feat & csum);
	assert_true(feat & gcsum);
	assert_true(feat & F(VIRTIO_NET_F_HOST_TSO4));
	assert_true(feat & F(VIRTIO_NET_F_GUEST_TSO6));
	/* illegal combinations: FEATURES_OK stays clear */
	assert_false(vtest_negotiate(&f->t, 0, V1 | F(VIRTIO_NET_F_GUEST_TSO4)));
	assert_false(vtest_negotiate(
		&f->t, 0, V1 | gcsum | F(VIRTIO_NET_F_GUEST_TSO6) | F(VIRTIO_NET_F_HOST_TSO4)));
	assert_true(vtest_negotiate(&f->t, 0,
				    V1 | csum | gcsum | F(VIRTIO_NET_F_GUEST_TSO4) |
					    F(VIRTIO_NET_F_HOST_TSO4)));

	/* ARP through the kernel: the tap answers our request */
	errors = f->d->n_errors; /* the refusals above */
	assert_int_equal(if_up("hvtest0", "192.0.2.1"), 0);
	start(f, MRG | csum | gcsum | F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_HOST_TSO4),
	      QSIZE);
	/* GUEST_TSO4: read only once 12 + 65550 bytes are posted */
	for (unsigned i = 0; i < 20; i++)
		gpa[i] = post_rx(f, 4096);
	vtest_vq_kick(&f->rx);
	post_tx(f, frame, (uint32_t)arp_request(frame), false);
	vtest_vq_kick(&f->tx);
	for (int i = 0; i < 100 && !got_reply; i++) {
		uint32_t id, len;

		vtest_poll(&f->t, 10);
		while (vtest_vq_get_used(&f->tx, &id, &len))
			;
		while (vtest_vq_get_used(&f->rx, &id, &len)) {
			const uint8_t *e = (uint8_t *)vtest_host(&f->t, gpa[id]) + HDR;

			assert_true(len >= HDR + 14);
			if (e[12] == 0x08 && e[13] == 0x06 && e[21] == 2 &&
			    memcmp(e, test_mac, 6) == 0)
				got_reply = true;
		}
	}
	assert_true(got_reply);
	assert_int_equal(f->d->n_errors, errors);
	assert_true(vtest_read(&f->t, 0, VIRTIO_MMIO_CONFIG + 6, 2) & VIRTIO_NET_S_LINK_UP);

	/* a vnet header the kernel refuses (bogus GSO type) is completed and
	 * counted */
	{
		uint16_t head = post_tx(f, frame, 60, false);
		struct vring_desc *d = vtest_vq_desc(&f->tx, head);
		struct virtio_net_hdr_v1 *h = vtest_host(&f->t, d->addr);
		uint32_t id, len;

		errors = f->d->n_errors;
		h->gso_type = 0x55;
		h->gso_size = 1;
		vtest_vq_kick(&f->tx);
		vtest_run(&f->t);
		assert_true(vtest_vq_get_used(&f->tx, &id, &len));
		assert_int_equal(id, head);
		assert_int_equal(f->d->n_errors, errors + 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_mac_multicast_mac, setup, teardown),
		cmocka_unit_test_setup_teardown(test_feature_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_no_buffer_no_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_many_frames_few_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable_learns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_bad_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hvguest_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_tap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
