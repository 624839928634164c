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

#include <linux/virtio_net.h>

#include "devices.h"
#include "log.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void op(struct vtest *t, struct virtio_dev *d, int peer, struct fuzz_in *in)
{
	static uint8_t buf[70000];
	unsigned code = fuzz_get(in, 1) % 14;

	if (fuzz_guest_op(t, d, in, code))
		return;
	/* the network's side */
	switch (code) {
	case 6: { /* a record from the network */
		size_t len = fuzz_get(in, 2);

		if (len > sizeof(buf))
			len = sizeof(buf);
		memset(buf, (int)fuzz_get(in, 1), len);
		send(peer, buf, len, MSG_DONTWAIT);
		break;
	}
	case 7: /* the network reads */
		for (unsigned n = fuzz_get(in, 1) % 8; n > 0; n--)
			recv(peer, buf, sizeof(buf), MSG_DONTWAIT);
		break;
	case 12: /* the network goes away */
		shutdown(peer, SHUT_RDWR);
		break;
	case 13:
		fuzz_describe(d);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vtest t;
	struct fuzz_in in = {data, size};
	struct vdev_params p;
	struct net_params np = {.mac = {0x02, 0, 0, 0, 0, 1}};
	struct virtio_dev *d;
	int sv[2];

	log_set_level(LOG_EMERG); /* guest complaints would drown the fuzzer's output */
	vtest_init(&t);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		__builtin_trap();
	if (fuzz_get(&in, 1) & 1) { /* sometimes a tiny socket buffer: back-pressure */
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
