// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: virtio-console (console.c) driven by a hostile guest
 * and whoever holds the pty slave. The input is a program of small
 * operations: register reads and writes (config space: the emergency
 * write), guest memory (descriptor table, avail ring, indirect tables,
 * buffers), notifies, bytes typed on the slave, reads on the slave, the
 * slave closed and reopened, turns of the event loop, reset and drain.
 * Nothing may crash, leak or hit UB.
 *
 *   build-fuzz/tests/fuzz/fuzz-console -max_total_time=300 corpus-console/
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "devices.h"
#include "log.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct pty {
	int slave;
	char path[64];
};

static void slave_open(struct pty *pt)
{
	struct termios tio;

	pt->slave = open(pt->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (pt->slave < 0)
		return;
	tcgetattr(pt->slave, &tio);
	cfmakeraw(&tio);
	tcsetattr(pt->slave, TCSANOW, &tio);
}

static void op(struct vtest *t, struct virtio_dev *d, struct pty *pt, struct fuzz_in *in)
{
	static uint8_t buf[8192];
	unsigned code = fuzz_get(in, 1) % 15;

	if (fuzz_guest_op(t, d, in, code))
		return;
	/* the pty's side */
	switch (code) {
	case 6: { /* typed on the slave */
		size_t len = fuzz_get(in, 2) % sizeof(buf);

		memset(buf, (int)fuzz_get(in, 1), len);
		if (pt->slave >= 0 && write(pt->slave, buf, len) < 0)
			break;
		break;
	}
	case 7: /* the slave reads */
		for (unsigned n = fuzz_get(in, 1) % 8; n > 0 && pt->slave >= 0; n--)
			if (read(pt->slave, buf, sizeof(buf)) <= 0)
				break;
		break;
	case 12: /* emergency write */
		vtest_write(t, 0, VIRTIO_MMIO_CONFIG + 8, 4, fuzz_get(in, 4));
		break;
	case 13: /* the slave goes away, or comes back */
		if (pt->slave >= 0) {
			close(pt->slave);
			pt->slave = -1;
		} else
			slave_open(pt);
		break;
	case 14:
		fuzz_describe(d);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vtest t;
	struct fuzz_in in = {data, size};
	struct vdev_params p;
	struct console_params cp = {0};
	struct virtio_dev *d;
	struct pty pt = {.slave = -1};
	int m;

	log_set_level(LOG_EMERG); /* guest complaints would drown the fuzzer's output */
	vtest_init(&t);
	m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, pt.path, sizeof(pt.path)))
		__builtin_trap();
	slave_open(&pt);
	cp.pty_fd = m;
	cp.cols = (uint16_t)fuzz_get(&in, 1);
	p = vtest_params(&t, 0, 34);
	if (console_create(&p, &cp, &d) < 0)
		__builtin_trap();
	vtest_add(&t, 0, d);
	while (in.n)
		op(&t, d, &pt, &in);
	vtest_poll(&t, 0);
	vtest_done(&t);
	if (pt.slave >= 0)
		close(pt.slave);
	return 0;
}
