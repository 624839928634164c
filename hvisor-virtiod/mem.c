// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "macro.h"
#include "mem.h"

static int check_regions(const struct gmem_region *regions, unsigned n)
{
	if (n == 0 || n > GMEM_MAX_REGIONS)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		uint64_t end;

		if (regions[i].size == 0 || range_end(regions[i].gpa, regions[i].size, &end) < 0 ||
		    range_end(regions[i].offset, regions[i].size, &end) < 0 ||
		    regions[i].size > SIZE_MAX)
			return -EINVAL;
		for (unsigned j = 0; j < i; j++)
			if (ranges_overlap(regions[i].gpa, regions[i].size, regions[j].gpa,
					   regions[j].size))
				return -EINVAL;
	}
	return 0;
}

int gmem_map(struct gmem *m, int fd, const struct gmem_region *regions, unsigned n)
{
	int r = check_regions(regions, n);

	*m = (struct gmem){.fd = -1};
	if (r < 0)
		return r;
	m->fd = fd; /* so a failure below unmaps what was mapped */
	for (unsigned i = 0; i < n; i++) {
		void *p = mmap(NULL, (size_t)regions[i].size, PROT_READ | PROT_WRITE, MAP_SHARED,
			       fd, (off_t)regions[i].offset);

		if (p == MAP_FAILED) {
			r = negative_errno();
			gmem_unmap(m);
			return r;
		}
		m->r[i] = regions[i];
		m->r[i].host = p;
		m->n = i + 1;
	}
	return 0;
}

int gmem_init_static(struct gmem *m, const struct gmem_region *regions, unsigned n)
{
	int r = check_regions(regions, n);

	*m = (struct gmem){.fd = -1};
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++)
		if (!regions[i].host)
			return -EINVAL;
	memcpy(m->r, regions, n * sizeof(regions[0]));
	m->n = n;
	return 0;
}

void gmem_unmap(struct gmem *m)
{
	/* caller-provided regions (fd -1) are not ours to unmap */
	if (m->fd >= 0)
		for (unsigned i = 0; i < m->n; i++)
			munmap(m->r[i].host, (size_t)m->r[i].size);
	m->n = 0;
	m->fd = -1;
}

void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		return NULL;
	for (unsigned i = 0; i < m->n; i++) {
		const struct gmem_region *r = &m->r[i];

		/* gpa - r->gpa cannot underflow after the first test, and
		 * the second keeps offset + len inside the region without
		 * computing gpa + len (which may wrap). */
		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}
