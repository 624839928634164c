// SPDX-License-Identifier: GPL-2.0-only
/*
 * libhvguest transport for hvisor-sim (proto/sim.h): one vCPU of a zone.
 * Register accesses are HVSIM_GUEST_ACCESS packets on the guest channel,
 * each waiting for its DONE; interrupts are IRQ packets, queued here until
 * wait_irq takes them. Guest RAM is the sim's physical-memory memfd, mapped
 * at the zone's RAM regions only (guest address = virtual_start, memfd
 * offset = physical_start), as GUEST_ATTACH describes them.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hvguest.h"
#include "sim.h"
#include "util.h"

#define SIMT_HEAP_DEFAULT (UINT64_C(64) << 20)
#define SIMT_IRQ_QUEUE	  64

struct simt_region {
	uint64_t gpa, size;
	uint8_t *host; /* gpa maps here */
	void *map;     /* page-aligned mapping that contains it */
	size_t map_len;
};

struct simt {
	struct hvg_transport t;
	int fd; /* guest channel */
	uint32_t cpu;
	unsigned n_regions;
	struct simt_region regions[HV_CONFIG_MAX_MEMORY_REGIONS];
	uint32_t irqs[SIMT_IRQ_QUEUE];
	unsigned irq_head, irq_len;
};

static void irq_push(struct simt *s, uint32_t irq)
{
	/* the guest only learns "irq N fired": one queued copy is enough
	 * (the device's InterruptStatus says what happened) */
	for (unsigned i = 0; i < s->irq_len; i++)
		if (s->irqs[(s->irq_head + i) % SIMT_IRQ_QUEUE] == irq)
			return;
	if (s->irq_len == SIMT_IRQ_QUEUE)
		return;
	s->irqs[(s->irq_head + s->irq_len) % SIMT_IRQ_QUEUE] = irq;
	s->irq_len++;
}

/* One packet from the sim within timeout_ms (-1: forever): 1, 0 on timeout,
 * -errno (-ECONNRESET: the sim closed the channel). Malformed packets are
 * skipped. */
static int recv_msg(struct simt *s, int timeout_ms, struct hvsim_guest_msg *m)
{
	int64_t deadline = timeout_ms < 0 ? -1 : (int64_t)(now_usec() / 1000) + timeout_ms;

	for (;;) {
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		uint8_t buf[sizeof(*m) + 1];
		int left = -1, r;
		ssize_t k;

		if (deadline >= 0) {
			int64_t now = (int64_t)(now_usec() / 1000);

			left = now >= deadline ? 0 : (int)MIN(deadline - now, (int64_t)INT32_MAX);
			r = poll(&p, 1, left);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return negative_errno();
			if (r == 0)
				return 0;
		}
		/* no deadline (a vCPU waiting for its access): one blocking
		 * recv, no poll before it. (Spinning like hvisor's vCPU was
		 * tried: on 2 CPUs it takes the CPU the sim or the backend
		 * needs and doubles the round trip.) */
		k = recv(s->fd, buf, sizeof(buf), (deadline >= 0 ? MSG_DONTWAIT : 0) | MSG_TRUNC);
		if (k < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (k < 0)
			return negative_errno();
		if (k == 0)
			return -ECONNRESET;
		if (k != (ssize_t)sizeof(*m))
			continue; /* not a guest message */
		memcpy(m, buf, sizeof(*m));
		return 1;
	}
}

static int simt_access(struct simt *s, uint64_t addr, unsigned size, bool is_write, uint64_t value,
		       uint64_t *ret)
{
	struct hvsim_guest_msg m = {
		.type = HVSIM_GUEST_ACCESS,
		.cpu = s->cpu,
		.address = addr,
		.value = is_write ? value : 0,
		.size = (uint8_t)size,
		.is_write = is_write,
	};
	ssize_t k;

	if (size != 1 && size != 2 && size != 4 && size != 8)
		return -EINVAL;
	do
		k = send(s->fd, &m, sizeof(m), MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return errno == EPIPE ? -ECONNRESET : negative_errno();
	if (k != (ssize_t)sizeof(m))
		return -EIO;
	/* a vCPU blocks on its access, like the real one (the sim answers
	 * for a backend that goes away) */
	for (;;) {
		int r = recv_msg(s, -1, &m);

		if (r < 0)
			return r;
		if (m.type == HVSIM_GUEST_IRQ) {
			irq_push(s, (uint32_t)MIN(m.value, (uint64_t)UINT32_MAX));
			continue;
		}
		if (m.type != HVSIM_GUEST_DONE || m.cpu != s->cpu || m.address != addr)
			continue; /* stale or not ours */
		if (m.status < 0)
			return m.status;
		if (ret)
			*ret = m.value;
		return 0;
	}
}

static int simt_read(void *ctx, uint64_t addr, unsigned size, uint64_t *ret)
{
	return simt_access(ctx, addr, size, false, 0, ret);
}

static int simt_write(void *ctx, uint64_t addr, unsigned size, uint64_t value)
{
	return simt_access(ctx, addr, size, true, value, NULL);
}

static int simt_wait_irq(void *ctx, int timeout_ms, uint32_t *ret_irq)
{
	struct simt *s = ctx;
	int64_t deadline = timeout_ms < 0 ? -1 : (int64_t)(now_usec() / 1000) + timeout_ms;

	for (;;) {
		struct hvsim_guest_msg m;
		int left = -1, r;

		if (s->irq_len > 0) {
			*ret_irq = s->irqs[s->irq_head];
			s->irq_head = (s->irq_head + 1) % SIMT_IRQ_QUEUE;
			s->irq_len--;
			return 1;
		}
		if (deadline >= 0) {
			int64_t now = (int64_t)(now_usec() / 1000);

			left = now >= deadline ? 0 : (int)MIN(deadline - now, (int64_t)INT32_MAX);
		}
		r = recv_msg(s, left, &m);
		if (r <= 0)
			return r;
		/* a DONE here is stale (no access is outstanding): dropped */
		if (m.type == HVSIM_GUEST_IRQ)
			irq_push(s, (uint32_t)MIN(m.value, (uint64_t)UINT32_MAX));
	}
}

static void *simt_ptr(void *ctx, uint64_t gpa, uint64_t len)
{
	struct simt *s = ctx;

	for (unsigned i = 0; i < s->n_regions; i++) {
		const struct simt_region *r = &s->regions[i];

		/* [gpa, gpa + len) inside [r->gpa, r->gpa + r->size), no overflow */
		if (gpa >= r->gpa && gpa - r->gpa <= r->size && len <= r->size - (gpa - r->gpa))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

static void simt_close(void *ctx)
{
	struct simt *s = ctx;

	for (unsigned i = 0; i < s->n_regions; i++)
		munmap(s->regions[i].map, s->regions[i].map_len);
	safe_close(s->fd);
	free(s);
}

static const struct hvg_transport_ops simt_ops = {
	.read = simt_read,
	.write = simt_write,
	.wait_irq = simt_wait_irq,
	.ptr = simt_ptr,
	.close = simt_close,
};

static int connect_sim(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = negative_errno();

		close(fd);
		return r;
	}
	return fd;
}

/* GUEST_ATTACH: the guest channel, the memory memfd, the CPU mask and the
 * zone's memory map. */
static int guest_attach(const char *socket_path, uint32_t zone_id, int *ret_chan, int *ret_mem,
			uint64_t *ret_cpus, struct hv_cfg_memory_region *regions,
			unsigned *ret_n_regions)
{
	struct hvsim_msg req = {.op = HVSIM_OP_GUEST_ATTACH, .zone_id = zone_id}, rep;
	uint8_t buf[HVSIM_MAX_PACKET];
	int fds[HV_MAX_FDS_PER_MSG];
	size_t n_fds = 0, plen;
	int ctl, r;
	ssize_t k;

	ctl = connect_sim(socket_path);
	if (ctl < 0)
		return ctl;
	k = send_with_fds(ctl, &req, sizeof(req), NULL, 0, 0);
	if (k >= 0 && k != (ssize_t)sizeof(req))
		k = -EIO;
	if (k >= 0)
		k = recv_with_fds(ctl, buf, sizeof(buf), fds, ARRAY_SIZE(fds), &n_fds, MSG_TRUNC);
	close(ctl); /* the guest channel lives on without the control connection */
	if (k < 0)
		return (int)k;
	r = -EPROTO;
	if ((size_t)k < sizeof(rep) || (size_t)k > sizeof(buf))
		goto fail;
	memcpy(&rep, buf, sizeof(rep));
	if (rep.op != HVSIM_OP_GUEST_ATTACH)
		goto fail;
	if (rep.ret < 0) {
		r = rep.ret < -4095 ? -EPROTO : (int)rep.ret;
		goto fail;
	}
	plen = (size_t)k - sizeof(rep);
	if (n_fds != 2 || rep.arg[1] > HV_CONFIG_MAX_MEMORY_REGIONS ||
	    plen != rep.arg[1] * sizeof(regions[0]))
		goto fail;
	memcpy(regions, buf + sizeof(rep), plen);
	*ret_chan = fds[0];
	*ret_mem = fds[1];
	*ret_cpus = rep.arg[0];
	*ret_n_regions = (unsigned)rep.arg[1];
	return 0;
fail:
	close_many(fds, n_fds);
	return r;
}

/* The zone's RAM regions, mapped from the zone's memory fd. */
static int map_regions(struct simt *s, const struct hv_cfg_memory_region *regions,
		       unsigned n_regions, int mem)
{
	long page = sysconf(_SC_PAGESIZE);

	for (unsigned i = 0; i < n_regions; i++) {
		const struct hv_cfg_memory_region *m = &regions[i];
		struct simt_region *sr = &s->regions[s->n_regions];
		uint64_t delta, len;
		void *map;

		if (m->type != HV_MEM_TYPE_RAM || m->size == 0)
			continue;
		/* mmap offsets are page-aligned; a region need not be */
		delta = m->physical_start % (uint64_t)page;
		if (__builtin_add_overflow(m->size, delta, &len) || len > SIZE_MAX - (size_t)page ||
		    m->virtual_start + m->size < m->virtual_start)
			return -EPROTO;
		len = (len + (uint64_t)page - 1) & ~((uint64_t)page - 1);
		map = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, mem,
			   (off_t)(m->physical_start - delta));
		if (map == MAP_FAILED)
			return negative_errno();
		sr->gpa = m->virtual_start;
		sr->size = m->size;
		sr->map = map;
		sr->map_len = (size_t)len;
		sr->host = (uint8_t *)map + delta;
		s->n_regions++;
	}
	return 0;
}

/* The heap: the one asked for, else the end of the first RAM region. */
static int set_heap(struct simt *s, uint64_t heap_gpa, uint64_t heap_size)
{
	if (heap_size == 0) {
		const struct simt_region *first = s->n_regions ? &s->regions[0] : NULL;

		if (!first)
			return -ENOMEM; /* a zone without RAM has no room for rings */
		heap_size = MIN(first->size, SIMT_HEAP_DEFAULT);
		heap_gpa = first->gpa + (first->size - heap_size);
	}
	if (!simt_ptr(s, heap_gpa, heap_size))
		return -EINVAL; /* the heap must be zone RAM */
	s->t.heap_gpa = heap_gpa;
	s->t.heap_size = heap_size;
	s->t.heap_next = heap_gpa;
	return 0;
}

int hvg_sim_open(const char *socket, uint32_t zone_id, int cpu, uint64_t heap_gpa,
		 uint64_t heap_size, struct hvg_transport **ret)
{
	struct hv_cfg_memory_region regions[HV_CONFIG_MAX_MEMORY_REGIONS];
	unsigned n_regions = 0;
	int chan = -1, mem = -1, r;
	uint64_t cpus = 0;
	struct simt *s;

	r = guest_attach(socket, zone_id, &chan, &mem, &cpus, regions, &n_regions);
	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(chan);
		close(mem);
		return -ENOMEM;
	}
	s->fd = chan;
	s->t.ops = &simt_ops;
	s->t.ctx = s;
	if (cpus == 0)
		r = -EPROTO;
	else if (cpu < 0)
		s->cpu = (uint32_t)__builtin_ctzll(cpus);
	else if (cpu < HV_CONFIG_MAX_CPUS && (cpus & (UINT64_C(1) << cpu)))
		s->cpu = (uint32_t)cpu;
	else
		r = -EINVAL; /* not a vCPU of this zone */
	if (r == 0)
		r = map_regions(s, regions, n_regions, mem);
	close(mem);
	if (r == 0)
		r = set_heap(s, heap_gpa, heap_size);
	if (r < 0) {
		simt_close(s);
		return r;
	}
	*ret = &s->t;
	return 0;
}
