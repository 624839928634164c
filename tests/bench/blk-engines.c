// SPDX-License-Identifier: GPL-2.0-only
/*
 * blk-engines: 4 KiB random reads through the virtio-blk device model, per
 * I/O engine, at queue depth 1 and 32, next to a raw preadv() loop on the
 * same image in the same run. The device runs in-process under vtest
 * (tests/vdev/vtest.h) with a minimal driver written here, the way a guest
 * would drive it: split ring, EVENT_IDX, kicks only when the device asks.
 * What it measures is the backend's cost per request (ring handling,
 * engine hand-off, completion), not a guest's.
 *
 *   blk-engines [-t SECONDS] [-s IMAGE_MIB] [-f IMAGE_PATH] [-c]
 *
 * Default image: a 256 MiB memfd (tmpfs), filled so no read hits a hole.
 * -c drops the image's pages from the page cache before each run
 * (posix_fadvise DONTNEED, this file only), so reads of an image on a disk
 * go to the disk.
 * docs/devices.md §3.2 records the figures behind blk_default_aio().
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#include "bench-common.h"
#include "devices.h"
#include "log.h"
#include "util.h"
#include "vtest.h"

#define QN   256u
#define BS   4096u
#define SECT 512u

struct bench {
	struct vtest t;
	struct virtio_dev *d;
	uint64_t desc, avail, used, area, data;
	uint16_t avail_idx, used_idx, kicked_idx;
	uint64_t nsect;
	uint64_t rng;
};

static void wr(struct bench *b, uint64_t off, uint32_t v)
{
	vtest_write(&b->t, 0, off, 4, v);
}

static void *host(struct bench *b, uint64_t gpa)
{
	return vtest_host(&b->t, gpa);
}

static void drv_init(struct bench *b)
{
	uint64_t f = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_BLK_F_FLUSH) |
		     (1ull << VIRTIO_RING_F_EVENT_IDX);

	wr(b, VIRTIO_MMIO_STATUS, 0);
	wr(b, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(b, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(b, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(b, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(b, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(b, VIRTIO_MMIO_STATUS,
	   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	wr(b, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(b, VIRTIO_MMIO_QUEUE_NUM, QN);
	wr(b, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)b->desc);
	wr(b, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(b->desc >> 32));
	wr(b, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)b->avail);
	wr(b, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(b->avail >> 32));
	wr(b, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)b->used);
	wr(b, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(b->used >> 32));
	wr(b, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(b, VIRTIO_MMIO_STATUS,
	   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
		   VIRTIO_CONFIG_S_DRIVER_OK);
}

/* Slot k: descriptors 3k (header), 3k+1 (4 KiB data), 3k+2 (status). */
static void queue_read(struct bench *b, unsigned k)
{
	struct vring_desc *d = (struct vring_desc *)host(b, b->desc) + 3 * k;
	struct vring_avail *a = host(b, b->avail);
	uint64_t hdr = b->area + k * 64ull;
	struct virtio_blk_outhdr *h = host(b, hdr);
	uint64_t sector = (rnd(&b->rng) % (b->nsect / (BS / SECT))) * (BS / SECT);

	*h = (struct virtio_blk_outhdr){.type = htole32(VIRTIO_BLK_T_IN),
					.sector = htole64(sector)};
	d[0] = (struct vring_desc){htole64(hdr), htole32(16), htole16(VRING_DESC_F_NEXT),
				   htole16((uint16_t)(3 * k + 1))};
	d[1] = (struct vring_desc){htole64(b->data + k * (uint64_t)BS), htole32(BS),
				   htole16(VRING_DESC_F_NEXT | VRING_DESC_F_WRITE),
				   htole16((uint16_t)(3 * k + 2))};
	d[2] = (struct vring_desc){htole64(hdr + 32), htole32(1), htole16(VRING_DESC_F_WRITE), 0};
	a->ring[b->avail_idx % QN] = htole16((uint16_t)(3 * k));
	b->avail_idx++;
}

/* Publish and kick unless the device said it does not need one. */
static void publish(struct bench *b)
{
	struct vring_avail *a = host(b, b->avail);
	struct vring_used *u = host(b, b->used);
	uint16_t event;

	__atomic_thread_fence(__ATOMIC_RELEASE);
	a->idx = htole16(b->avail_idx);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	event = le16toh(*(volatile uint16_t *)&u->ring[QN]); /* avail_event */
	if (vring_need_event(event, b->avail_idx, b->kicked_idx))
		wr(b, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	b->kicked_idx = b->avail_idx;
}

/* Requests per second at queue depth qd for `secs` seconds. */
static bool cold;

static void drop_cache(int img)
{
	if (cold && (fdatasync(img) < 0 || posix_fadvise(img, 0, 0, POSIX_FADV_DONTNEED) != 0))
		perror("dropping the image from the page cache");
}

static double run_device(int img, enum hv_blk_aio aio, unsigned qd, double secs)
{
	struct bench *b = calloc(1, sizeof(*b));
	struct vdev_params p;
	struct blk_params bp;
	uint64_t done = 0, t0, end;
	double rate;

	vtest_init(&b->t);
	p = vtest_params(&b->t, 0, 1);
	bp = (struct blk_params){.fd = dup(img), .aio = aio};
	if (blk_create(&p, &bp, &b->d) < 0) {
		fprintf(stderr, "blk_create failed\n");
		exit(1);
	}
	vtest_add(&b->t, 0, b->d);
	b->desc = vtest_alloc(&b->t, 16 * QN, 4096);
	b->avail = vtest_alloc(&b->t, 6 + 2 * QN, 4096);
	b->used = vtest_alloc(&b->t, 6 + 8 * QN, 4096);
	b->area = vtest_alloc(&b->t, 64 * QN, 4096);
	b->data = vtest_alloc(&b->t, (uint64_t)BS * QN, 4096);
	b->nsect = vtest_read(&b->t, 0, VIRTIO_MMIO_CONFIG, 8);
	b->rng = 0x9e3779b97f4a7c15ull;
	drv_init(b);

	for (unsigned k = 0; k < qd; k++)
		queue_read(b, k);
	drop_cache(img);
	t0 = now_usec();
	end = t0 + (uint64_t)(secs * 1e6);
	publish(b);
	for (;;) {
		struct vring_used *u = host(b, b->used);
		uint16_t idx = le16toh(*(volatile uint16_t *)&u->idx);
		bool any = false;

		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		while (b->used_idx != idx) {
			uint32_t head = le32toh(u->ring[b->used_idx % QN].id);

			if (*(uint8_t *)host(b, b->area + head / 3 * 64ull + 32) !=
			    VIRTIO_BLK_S_OK) {
				fprintf(stderr, "request failed\n");
				exit(1);
			}
			b->used_idx++;
			done++;
			queue_read(b, head / 3);
			any = true;
		}
		/* the used_event the driver wants: the next completion */
		((struct vring_avail *)host(b, b->avail))->ring[QN] = htole16(b->used_idx);
		if (any) {
			if (now_usec() >= end)
				break;
			publish(b);
			wr(b, VIRTIO_MMIO_INTERRUPT_ACK, 1);
		} else
			vtest_poll(&b->t, 1); /* the engine's eventfd */
	}
	rate = (double)done / ((double)(now_usec() - t0) / 1e6);
	/* let what is in flight finish before the device goes */
	for (int i = 0; i < 100 && b->d->ops->drain(b->d); i++)
		vtest_poll(&b->t, 1);
	vtest_done(&b->t);
	free(b);
	return rate;
}

static double run_raw(int img, uint64_t size, double secs)
{
	uint64_t rng = 0x9e3779b97f4a7c15ull, done = 0, t0, end;
	void *buf = aligned_alloc(4096, BS);
	struct iovec iov = {buf, BS};

	drop_cache(img);
	t0 = now_usec();
	end = t0 + (uint64_t)(secs * 1e6);
	do {
		for (int i = 0; i < 256; i++) {
			off_t off = (off_t)((rnd(&rng) % (size / BS)) * BS);

			if (preadv(img, &iov, 1, off) != BS) {
				perror("preadv");
				exit(1);
			}
		}
		done += 256;
	} while (now_usec() < end);
	free(buf);
	return (double)done / ((double)(now_usec() - t0) / 1e6);
}

int main(int argc, char **argv)
{
	static const enum hv_blk_aio engines[] = {HV_AIO_SYNC, HV_AIO_THREADS, HV_AIO_IO_URING};
	static const char *const names[] = {"sync", "threads", "io_uring"};
	const char *path = NULL;
	double secs = 3, raw;
	uint64_t size = 256ull << 20;
	char *fill;
	int c, img;

	while ((c = getopt(argc, argv, "t:s:f:c")) != -1) {
		switch (c) {
		case 't':
			secs = atof(optarg);
			break;
		case 's':
			size = strtoull(optarg, NULL, 0) << 20;
			break;
		case 'f':
			path = optarg;
			break;
		case 'c':
			cold = true;
			break;
		default:
			fprintf(stderr,
				"usage: %s [-t SECONDS] [-s IMAGE_MIB] [-f IMAGE_PATH] [-c]\n",
				argv[0]);
			return 2;
		}
	}
	if (size < (1u << 20)) {
		fprintf(stderr, "image too small\n");
		return 2;
	}
	img = path ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)
		   : memfd_create("blk-bench", MFD_CLOEXEC);
	if (img < 0 || ftruncate(img, (off_t)size) < 0) {
		perror("image");
		return 1;
	}
	fill = malloc(1 << 20);
	memset(fill, 0x5a, 1 << 20);
	for (uint64_t off = 0; off < size; off += 1 << 20)
		if (pwrite(img, fill, 1 << 20, (off_t)off) != 1 << 20) {
			perror("fill");
			return 1;
		}
	free(fill);
	log_set_level(LOG_WARNING);

	printf("4 KiB random reads, %s image of %llu MiB, %s, %.1f s per run\n",
	       path ? path : "tmpfs (memfd)", (unsigned long long)(size >> 20),
	       cold ? "page cache dropped before each run" : "page cache warm", secs);
	raw = run_raw(img, size, secs);
	printf("%-10s %12s %12s\n", "engine", "QD1 IOPS", "QD32 IOPS");
	printf("%-10s %12.0f %12s\n", "raw preadv", raw, "-");
	for (unsigned i = 0; i < sizeof(engines) / sizeof(engines[0]); i++) {
		double qd1 = run_device(img, engines[i], 1, secs);
		double qd32 = run_device(img, engines[i], 32, secs);

		printf("%-10s %12.0f %12.0f   (QD32 = %.2f x raw)\n", names[i], qd1, qd32,
		       qd32 / raw);
	}
	close(img);
	return 0;
}
