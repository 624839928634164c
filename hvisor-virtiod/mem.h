/* SPDX-License-Identifier: GPL-2.0-only */
/* Guest memory as the backends see it: the zone's RAM regions mapped from
 * the memory fd hvisord passes (a memfd from hvisor-sim, or the zone
 * channel of hvisor.ko), each as (guest address, size, offset in the fd).
 * Every guest address a backend uses goes through gmem_ptr(), which checks
 * the whole range [gpa, gpa + len) against ONE region with overflow-checked
 * arithmetic; there is no other way from a guest address to a pointer. */
#ifndef VIRTIOD_MEM_H
#define VIRTIOD_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtiod-protocol.h"

#define GMEM_MAX_REGIONS HV_VIRTIOD_MAX_RAM

struct gmem_region {
	uint64_t gpa; /* guest physical start */
	uint64_t size;
	uint64_t offset; /* in the memory fd (host physical address) */
	uint8_t *host;	 /* mapping, or caller-provided memory in tests */
};

struct gmem {
	unsigned n;
	struct gmem_region r[GMEM_MAX_REGIONS];
	int fd; /* the memory fd (not owned); -1 when the caller provided the memory */
};

/* Maps each region (MAP_SHARED, read/write) from fd. Regions must not
 * overlap in guest space, sizes > 0. Returns 0 or -errno; on failure
 * nothing stays mapped. */
int gmem_map(struct gmem *m, int fd, const struct gmem_region *regions, unsigned n);
/* Tests and fuzzers: regions backed by memory the caller owns (r[].host set). */
int gmem_init_static(struct gmem *m, const struct gmem_region *regions, unsigned n);
void gmem_unmap(struct gmem *m);

/* Host pointer for [gpa, gpa + len) if it lies inside one region, else
 * NULL. len 0 is refused too (a zero-length buffer is never valid). */
void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len);

/* Same, but with the alignment the virtio ring structures need. */
static inline void *gmem_ptr_aligned(const struct gmem *m, uint64_t gpa, uint64_t len,
				     uint64_t align)
{
	return (gpa & (align - 1)) ? NULL : gmem_ptr(m, gpa, len);
}

#endif
