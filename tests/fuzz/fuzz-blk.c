// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: virtio-blk (blk.c, blk-io.c) driven by a hostile
 * guest. The first byte picks the engine (sync, threads, io_uring), a
 * read-only device, the image (a memfd, or a file in /tmp whose
 * filesystem may offer WRITE_ZEROES) and a configured serial; the rest is
 * a program of small operations: register reads and writes, guest memory
 * (descriptor table, avail ring, indirect tables, headers, buffers),
 * ready-made blk requests with fuzzed fields, notifies, turns of the event
 * loop, reset, drain, and a backend restart (destroy, create, restore).
 * Nothing may crash, leak or hit UB.
 *
 *   build-fuzz/tests/fuzz/fuzz-blk -max_total_time=300 corpus-blk/
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_blk.h>

#include "devices.h"
#include "log.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Headers and buffers share the window with the one queue's rings (laid
 * out as fuzz_quick_setup() does queue 0's). */
#define DESC	 FUZZ_DESC(0)
#define AVAIL	 FUZZ_AVAIL(0)
#define HDRS	 (FUZZ_RING_BASE + 0x3000) /* 32 bytes per request slot */
#define BUFS	 (FUZZ_RING_BASE + 0x8000)
#define IMG_SIZE (1u << 20)

struct fz {
	struct vtest t;
	struct blk_params bp;
	int img;
	uint16_t num, avail_idx;
};

static void set_desc(struct fz *f, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct vring_desc d = {addr, len, flags, next};

	fuzz_mem_write(&f->t, DESC + (i % 256) * sizeof(d), &d, sizeof(d));
}

static void avail_add(struct fz *f, uint16_t head)
{
	uint16_t idx;

	fuzz_mem_write(&f->t, AVAIL + 4 + 2 * (f->avail_idx & (f->num - 1)), &head, 2);
	idx = ++f->avail_idx;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	fuzz_mem_write(&f->t, AVAIL + 2, &idx, 2);
}

static void quick_setup(struct fz *f, struct fuzz_in *in)
{
	uint64_t features = fuzz_get(in, 4) | (1ull << VIRTIO_F_VERSION_1) |
			    ((fuzz_get(in, 1) & 3) << VIRTIO_RING_F_INDIRECT_DESC);

	f->num = (uint16_t)(1u << (fuzz_get(in, 1) % 9));
	f->avail_idx = 0;
	memset(vtest_host(&f->t, FUZZ_RING_BASE), 0, 0x3000);
	fuzz_quick_setup(&f->t, features, f->num, 1);
}

static const uint32_t types[] = {
	VIRTIO_BLK_T_IN,     VIRTIO_BLK_T_OUT,	   VIRTIO_BLK_T_FLUSH,
	VIRTIO_BLK_T_GET_ID, VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES,
	VIRTIO_BLK_T_IN,     VIRTIO_BLK_T_OUT,	   VIRTIO_BLK_T_SECURE_ERASE,
};

/* A blk request in slot s (descriptors 3s..3s+2, header at HDRS + 32s),
 * every field from the input, sizes and directions included. */
static void blk_request(struct fz *f, struct fuzz_in *in)
{
	unsigned s = (unsigned)fuzz_get(in, 1) % 80;
	uint8_t sel = (uint8_t)fuzz_get(in, 1);
	struct virtio_blk_outhdr h = {0};
	uint64_t hdr = HDRS + 32ull * s, data = BUFS + (fuzz_get(in, 2) % 0x7000);
	uint32_t len = (uint32_t)fuzz_get(in, 2),
		 hlen = sel & 0x40 ? (uint32_t)fuzz_get(in, 1) : 16;
	uint16_t dflags = (uint16_t)(sel & 0x80 ? fuzz_get(in, 2) : 0);

	h.type = sel & 0x10 ? (uint32_t)fuzz_get(in, 4) : types[sel % 9];
	h.sector = sel & 0x20 ? fuzz_get(in, 8) : fuzz_get(in, 2);
	fuzz_mem_write(&f->t, hdr, &h, sizeof(h));
	if (h.type == VIRTIO_BLK_T_DISCARD || h.type == VIRTIO_BLK_T_WRITE_ZEROES) {
		struct virtio_blk_discard_write_zeroes z = {
			.sector = fuzz_get(in, 2),
			.num_sectors = (uint32_t)fuzz_get(in, 2),
			.flags = (uint32_t)fuzz_get(in, 1) & 3,
		};

		fuzz_mem_write(&f->t, data, &z, sizeof(z));
	}
	/* IN wants writable data, the others readable: the flags decide */
	if (h.type != VIRTIO_BLK_T_OUT && h.type != VIRTIO_BLK_T_DISCARD &&
	    h.type != VIRTIO_BLK_T_WRITE_ZEROES)
		dflags ^= VRING_DESC_F_WRITE;
	set_desc(f, 3 * s, hdr, hlen, VRING_DESC_F_NEXT, (uint16_t)(3 * s + 1));
	set_desc(f, 3 * s + 1, data, len, (uint16_t)(dflags | VRING_DESC_F_NEXT),
		 (uint16_t)(3 * s + 2));
	set_desc(f, 3 * s + 2, hdr + 16, 1, VRING_DESC_F_WRITE, 0);
	avail_add(f, (uint16_t)(3 * s));
}

static int create(struct fz *f)
{
	struct vdev_params p = vtest_params(&f->t, 0, 5);
	struct blk_params bp = f->bp;
	struct virtio_dev *d;

	bp.fd = dup(f->img);
	if (blk_create(&p, &bp, &d) < 0)
		return -1;
	vtest_add(&f->t, 0, d);
	return 0;
}

static int open_image(bool on_disk, bool readonly)
{
	char path[] = "/tmp/fuzz-blk-XXXXXX";
	int fd = on_disk ? mkstemp(path) : memfd_create("fuzz-blk", MFD_CLOEXEC);
	static uint8_t pattern[IMG_SIZE];

	if (fd < 0)
		return -1;
	if (on_disk)
		unlink(path);
	if (!pattern[1])
		for (size_t i = 0; i < sizeof(pattern); i++)
			pattern[i] = (uint8_t)(i * 31 + 7);
	if (pwrite(fd, pattern, sizeof(pattern), 0) != (ssize_t)sizeof(pattern)) {
		close(fd);
		return -1;
	}
	if (readonly) {
		char p2[64];
		int ro;

		snprintf(p2, sizeof(p2), "/proc/self/fd/%d", fd);
		ro = open(p2, O_RDONLY | O_CLOEXEC);
		close(fd);
		fd = ro;
	}
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum hv_blk_aio aio[] = {HV_AIO_SYNC, HV_AIO_THREADS, HV_AIO_IO_URING,
					      HV_AIO_DEFAULT};
	static const unsigned sizes[] = {1, 2, 4, 8};
	struct fuzz_in in = {data, size};
	struct fz *f = calloc(1, sizeof(*f));
	uint8_t mode = (uint8_t)fuzz_get(&in, 1);
	unsigned ops = 0;

	if (!f)
		return 0;
	/* a hostile guest is expected: its complaints only slow us down */
	log_set_level(LOG_CRIT);
	f->bp.aio = aio[mode & 3];
	f->bp.readonly = mode & 4;
	f->bp.serial = mode & 16 ? "fuzz-serial-0123456789" : NULL; /* > 20: cut */
	f->num = 256;
	f->img = open_image(mode & 8, f->bp.readonly);
	if (f->img < 0) {
		free(f);
		return 0;
	}
	vtest_init(&f->t);
	if (create(f) < 0)
		goto out;

	while (in.n && ops++ < 4096 && f->t.devs[0]) {
		switch (fuzz_get(&in, 1) % 13) {
		case 0: {
			uint64_t off = fuzz_get(&in, 2) % VTEST_DEV_LEN;
			unsigned sz = sizes[fuzz_get(&in, 1) & 3];

			vtest_write(&f->t, 0, off, sz, fuzz_get(&in, 8));
			break;
		}
		case 1: {
			uint64_t off = fuzz_get(&in, 2) % VTEST_DEV_LEN;

			(void)vtest_read(&f->t, 0, off, sizes[fuzz_get(&in, 1) & 3]);
			break;
		}
		case 2:
			fuzz_mem_op(&f->t, &in);
			break;
		case 3: {
			unsigned i = (unsigned)fuzz_get(&in, 1);
			uint64_t addr = fuzz_guest_addr(&in);
			uint32_t len = (uint32_t)fuzz_get(&in, 4);
			uint16_t flags = (uint16_t)fuzz_get(&in, 1),
				 next = (uint16_t)fuzz_get(&in, 2);

			set_desc(f, i, addr, len, flags, next);
			break;
		}
		case 4:
			avail_add(f, (uint16_t)fuzz_get(&in, 2));
			break;
		case 5: {
			uint16_t idx = (uint16_t)fuzz_get(&in, 2);

			fuzz_mem_write(&f->t, AVAIL + 2, &idx, 2);
			break;
		}
		case 6:
			vtest_write(&f->t, 0, VIRTIO_MMIO_QUEUE_NOTIFY, 4, fuzz_get(&in, 1) & 1);
			break;
		case 7:
			vtest_poll(&f->t, (int)(fuzz_get(&in, 1) & 1));
			break;
		case 8:
			quick_setup(f, &in);
			break;
		case 9:
			blk_request(f, &in);
			break;
		case 10:
			(void)f->t.devs[0]->ops->drain(f->t.devs[0]);
			break;
		case 11:
			/* a backend restart: the state slot survives */
			vtest_remove(&f->t, 0);
			if (create(f) == 0)
				(void)virtio_dev_restore(f->t.devs[0]);
			break;
		case 12:
			vtest_write(&f->t, 0, VIRTIO_MMIO_STATUS, 4, 0);
			break;
		}
	}
out:
	vtest_done(&f->t);
	close(f->img);
	free(f);
	return 0;
}
