/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared by the device fuzz targets (fuzz-blk, fuzz-net, fuzz-console):
 * the input read as a program of small operations, and a window of guest
 * RAM that the input can write rings, tables and buffers into.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vtest.h"

/* Rings and buffers live in the first 64 KiB of guest RAM, so the input
 * can hit them; descriptors may still point anywhere. */
#define FUZZ_WINDOW    0x10000u
#define FUZZ_RING_BASE VTEST_RAM_GPA
/* Queue q's rings as fuzz_quick_setup() lays them out. */
#define FUZZ_DESC(q)  (FUZZ_RING_BASE + (q)*0x4000ull)
#define FUZZ_AVAIL(q) (FUZZ_DESC(q) + 0x1000)
#define FUZZ_USED(q)  (FUZZ_DESC(q) + 0x2000)

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

/* The next `bytes` bytes, little-endian; zeros once the input is used up. */
uint64_t fuzz_get(struct fuzz_in *in, unsigned bytes);
/* Mostly inside the window; sometimes anything at all. */
uint64_t fuzz_guest_addr(struct fuzz_in *in);
/* Copies to guest memory at gpa, in the window only: what would fall
 * outside it is dropped. */
void fuzz_mem_write(struct vtest *t, uint64_t gpa, const void *src, size_t len);
/* Op "guest memory": an offset, a length, then that many input bytes
 * copied to the window. */
void fuzz_mem_op(struct vtest *t, struct fuzz_in *in);
/* A well-behaved driver's setup of device 0 (nq queues of num entries);
 * it only shortens the way to deep states. */
void fuzz_quick_setup(struct vtest *t, uint64_t features, uint32_t num, unsigned nq);
/* What `hvctl virtio list` shows, at any moment. */
void fuzz_describe(struct virtio_dev *d);
/*
 * The hostile guest's ops on a device with two queues (net, console), by
 * op code: 0-5 and 8-11. Codes 6, 7 and 12 on are each target's own (its
 * backend's peer); returns false for them.
 */
bool fuzz_guest_op(struct vtest *t, struct virtio_dev *d, struct fuzz_in *in, unsigned code);

#endif
