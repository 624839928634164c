// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: virtio-net (net.c) driven by a hostile guest and a
 * hostile network. The input is a program of small operations: register
 * reads and writes, guest memory (descriptor table, avail ring, indirect
 * tables, buffers), notifies, frames from the peer of the SOCK_SEQPACKET
 * socketpair that stands in for the tap, reads by that peer, turns of the
 * event loop, reset and drain. Nothing may crash, leak or hit UB.
 *
 *   build-fuzz/tests/fuzz/fuzz-net -max_total_time=300 corpus-net/
 */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>
#include <linux/virtio_net.h>

#include "devices.h"
#include "log.h"
#include "vtest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Rings and buffers live in the first 64 KiB of guest RAM, so the input
 * can hit them; descriptors may still point anywhere. */
#define WINDOW	  0x10000u
#define RING_BASE VTEST_RAM_GPA

struct in {
	const uint8_t *p;
	size_t n;
};

static uint64_t get(struct in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->n; i++, in->p++, in->n--)
		v |= (uint64_t)*in->p << (8 * i);
	return v;
}

static uint64_t guest_addr(struct in *in)
{
	/* mostly inside the window; sometimes anything at all */
	if (get(in, 1) & 0x80)
		return get(in, 8);
	return RING_BASE + get(in, 2);
}

static void mem_write(struct vtest *t, uint64_t off, const void *src, size_t len)
{
	if (off >= WINDOW)
		return;
	len = len < WINDOW - off ? len : WINDOW - off;
	memcpy((uint8_t *)vtest_host(t, RING_BASE) + off, src, len);
}

/* The layout a well-behaved driver would use: queue q's rings at
 * RING_BASE + q * 0x4000; it only shortens the way to deep states. */
/* what `hvctl virtio list` shows, at any moment */
static void describe(struct virtio_dev *d)
{
	struct json_object *o = json_object_new_object();

	d->ops->describe(d, o);
	json_object_to_json_string(o);
	json_object_put(o);
}

static void quick_setup(struct vtest *t, struct in *in)
{
	uint64_t features = get(in, 4) | (1ull << VIRTIO_F_VERSION_1);
	uint32_t num = 1u << (get(in, 1) % 9);

	vtest_write(t, 0, VIRTIO_MMIO_STATUS, 4, 0);
	vtest_write(t, 0, VIRTIO_MMIO_STATUS, 4, 3);
	vtest_write(t, 0, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 4, 0);
	vtest_write(t, 0, VIRTIO_MMIO_DRIVER_FEATURES, 4, (uint32_t)features);
	vtest_write(t, 0, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 4, 1);
	vtest_write(t, 0, VIRTIO_MMIO_DRIVER_FEATURES, 4, (uint32_t)(features >> 32));
	vtest_write(t, 0, VIRTIO_MMIO_STATUS, 4, 11);
	for (unsigned q = 0; q < 2; q++) {
		uint64_t base = RING_BASE + q * 0x4000;

		vtest_write(t, 0, VIRTIO_MMIO_QUEUE_SEL, 4, q);
		vtest_write(t, 0, VIRTIO_MMIO_QUEUE_NUM, 4, num);
		vtest_write(t, 0, VIRTIO_MMIO_QUEUE_DESC_LOW, 4, (uint32_t)base);
		vtest_write(t, 0, VIRTIO_MMIO_QUEUE_AVAIL_LOW, 4, (uint32_t)(base + 0x1000));
		vtest_write(t, 0, VIRTIO_MMIO_QUEUE_USED_LOW, 4, (uint32_t)(base + 0x2000));
		vtest_write(t, 0, VIRTIO_MMIO_QUEUE_READY, 4, 1);
	}
	vtest_write(t, 0, VIRTIO_MMIO_STATUS, 4, 15);
}

static void op(struct vtest *t, struct virtio_dev *d, int peer, struct in *in)
{
	static uint8_t buf[70000];

	switch (get(in, 1) % 14) {
	case 0: { /* register write */
		uint64_t off = get(in, 2) % 0x200;
		unsigned size = 1u << (get(in, 1) % 4);

		vtest_write(t, 0, off, size, get(in, 4));
		break;
	}
	case 1: /* register read */
		vtest_read(t, 0, get(in, 2) % 0x200, 1u << (get(in, 1) % 4));
		break;
	case 2: { /* guest memory */
		uint64_t off = get(in, 2);
		size_t len = get(in, 1);

		len = len < in->n ? len : in->n;
		mem_write(t, off, in->p, len);
		in->p += len;
		in->n -= len;
		break;
	}
	case 3: { /* a descriptor of queue q */
		unsigned q = get(in, 1) & 1, i = get(in, 1);
		struct vring_desc dsc;

		dsc.addr = guest_addr(in);
		dsc.len = (uint32_t)get(in, 1) << (get(in, 1) % 17);
		dsc.flags = (uint16_t)get(in, 1);
		dsc.next = (uint16_t)get(in, 1);
		mem_write(t, q * 0x4000 + (i % 256) * 16, &dsc, sizeof(dsc));
		break;
	}
	case 4: { /* publish a head on queue q's avail ring */
		unsigned q = get(in, 1) & 1;
		struct vring_avail *a = vtest_host(t, RING_BASE + q * 0x4000 + 0x1000);
		uint16_t idx = a->idx, mask = (uint16_t)(get(in, 1) | 1);

		a->ring[idx & 255 & mask] = (uint16_t)get(in, 2);
		a->idx = (uint16_t)(idx + 1 + (get(in, 1) == 0xff ? get(in, 2) : 0));
		break;
	}
	case 5: /* notify */
		vtest_write(t, 0, VIRTIO_MMIO_QUEUE_NOTIFY, 4, get(in, 1) % 3);
		break;
	case 6: { /* a record from the network */
		size_t len = get(in, 2);

		if (len > sizeof(buf))
			len = sizeof(buf);
		memset(buf, (int)get(in, 1), len);
		send(peer, buf, len, MSG_DONTWAIT);
		break;
	}
	case 7: /* the network reads */
		for (unsigned n = get(in, 1) % 8; n > 0; n--)
			recv(peer, buf, sizeof(buf), MSG_DONTWAIT);
		break;
	case 8:
		vtest_poll(t, 0);
		break;
	case 9:
		quick_setup(t, in);
		break;
	case 10:
		d->ops->drain(d);
		break;
	case 11:
		vtest_write(t, 0, VIRTIO_MMIO_STATUS, 4, 0);
		break;
	case 12: /* the network goes away */
		shutdown(peer, SHUT_RDWR);
		break;
	case 13:
		describe(d);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vtest t;
	struct in in = {data, size};
	struct vdev_params p;
	struct net_params np = {.mac = {0x02, 0, 0, 0, 0, 1}};
	struct virtio_dev *d;
	int sv[2];

	log_set_level(LOG_EMERG); /* guest complaints would drown the fuzzer's output */
	vtest_init(&t);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		__builtin_trap();
	if (get(&in, 1) & 1) { /* sometimes a tiny socket buffer: back-pressure */
		int sz = 4096;

		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	np.tap_fd = sv[0];
	p = vtest_params(&t, 0, 33);
	if (net_create(&p, &np, &d) < 0)
		__builtin_trap();
	vtest_add(&t, 0, d);
	while (in.n)
		op(&t, d, sv[1], &in);
	vtest_poll(&t, 0);
	vtest_done(&t);
	close(sv[1]);
	return 0;
}
