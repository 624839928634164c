// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-zone channels: what hvisor's mmio_virtio_handler + the bridge ring +
 * hvisor.ko's routing do on a board (DESIGN §3, reference §2.4-2.6).
 *
 *   guest ACCESS --(virtio region, not +0x50)--> ioreq to the owner, the vCPU
 *                                                waits for COMPLETE(cpu, id)
 *                --(virtio region + 0x50)------> posted notify ioreq, DONE now
 *                --(no owner)------------------> DONE now: reads 0, writes dropped
 *                --(anything else)-------------> DONE with status -errno
 *   owner IRQ    --(in the zone's bitmap)------> guest IRQ
 *
 * Both peers are untrusted: every packet is checked, nothing asserts, and a
 * peer that does not read is paced (its input is no longer read) instead of
 * making the sim queue without bound.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hvisor-sim.h"
#include "log.h"
#include "util.h"

static void zone_complain(struct sim_zone *z, const char *fmt, ...) _printf_(2, 3);
static void zone_complain(struct sim_zone *z, const char *fmt, ...)
{
	char buf[256];
	unsigned n;
	va_list ap;

	if (!ratelimit_pass(&z->complaints, now_usec()))
		return;
	n = ratelimit_take(&z->complaints);
	if (n)
		log_warn("zone %u: %u more messages suppressed", z->id, n);
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_warn("zone %u: %s", z->id, buf);
}

/* Several packets per recvmmsg(): one call per wake-up instead of one per
 * packet plus one that ends in EAGAIN. Descriptors a peer attaches are
 * closed; len[i] is the packet's real length (MSG_TRUNC), -EMSGSIZE if its
 * descriptors did not fit, and fds[i] tells whether it carried any. */
#define SIM_RX_PKTS 8

struct sim_rx {
	struct mmsghdr mm[SIM_RX_PKTS];
	struct iovec iov[SIM_RX_PKTS];
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * HV_MAX_FDS_PER_MSG)];
	} ctl[SIM_RX_PKTS];
	ssize_t len[SIM_RX_PKTS];
	bool fds[SIM_RX_PKTS];
};

static int rx_batch(int fd, struct sim_rx *rx, void *bufs, size_t size, unsigned n)
{
	int k;

	n = MIN(n, (unsigned)SIM_RX_PKTS);
	for (unsigned i = 0; i < n; i++) {
		rx->iov[i] = (struct iovec){(char *)bufs + i * size, size};
		rx->mm[i] = (struct mmsghdr){.msg_hdr = {
						     .msg_iov = &rx->iov[i],
						     .msg_iovlen = 1,
						     .msg_control = rx->ctl[i].buf,
						     .msg_controllen = sizeof(rx->ctl[i].buf),
					     }};
	}
	do
		k = recvmmsg(fd, rx->mm, n, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC, NULL);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return negative_errno();
	for (int i = 0; i < k; i++) {
		struct msghdr *m = &rx->mm[i].msg_hdr;

		size_t none;
		ssize_t r = cmsg_take_fds(m, NULL, 0, &none); /* all closed */

		rx->len[i] = r < 0 ? r : (ssize_t)rx->mm[i].msg_len;
		rx->fds[i] = r != 0;
	}
	return k;
}

static void event_freep(struct event **ev)
{
	if (*ev) {
		event_free(*ev);
		*ev = NULL;
	}
}

/* --- guest side ------------------------------------------------------- */

static void guest_close(struct sim_zone *z, const char *why)
{
	struct sim_guest_out *o;

	if (z->guest_fd < 0)
		return;
	log_info("zone %u: guest driver detached (%s)", z->id, why);
	event_freep(&z->guest_rd);
	event_freep(&z->guest_wr);
	z->guest_fd = safe_close(z->guest_fd);
	z->guest_reading = false;
	while ((o = TAILQ_FIRST(&z->guest_out))) {
		TAILQ_REMOVE(&z->guest_out, o, link);
		free(o);
	}
	z->guest_out_len = 0;
	/* The vCPUs are gone with their driver: a late COMPLETE is unknown. */
	memset(z->pending, 0, sizeof(z->pending));
}

static bool guest_wants_input(const struct sim_zone *z)
{
	return z->guest_fd >= 0 && z->q_len < SIM_QUEUE_MAX &&
	       z->guest_out_len < SIM_GUEST_OUT_PAUSE;
}

/* Read guest input only while there is room for what it may cause (an
 * ioreq, a DONE): hvisor's vCPUs likewise spin while the bridge ring is full. */
static void guest_update_read(struct sim_zone *z)
{
	bool want = guest_wants_input(z);

	if (want == z->guest_reading || !z->guest_rd)
		return;
	if (want)
		event_add(z->guest_rd, NULL);
	else
		event_del(z->guest_rd);
	z->guest_reading = want;
}

/* 1 sent, 0 no room, -errno broken */
static int guest_try_send(struct sim_zone *z, const struct hvsim_guest_msg *m)
{
	ssize_t k = send(z->guest_fd, m, sizeof(*m), MSG_DONTWAIT | MSG_NOSIGNAL);

	if (k == (ssize_t)sizeof(*m))
		return 1;
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	return k < 0 ? negative_errno() : -EIO;
}

static void guest_send(struct sim_zone *z, const struct hvsim_guest_msg *m)
{
	struct sim_guest_out *o;
	int r;

	if (z->guest_fd < 0)
		return; /* nobody plays the vCPUs: nothing to tell */
	if (TAILQ_EMPTY(&z->guest_out)) {
		r = guest_try_send(z, m);
		if (r > 0)
			return;
		if (r < 0) {
			guest_close(z, "send failed");
			return;
		}
	}
	if (m->type == HVSIM_GUEST_IRQ) {
		/* like hvisor's per-CPU pending list: an IRQ already pending
		 * is not queued twice */
		TAILQ_FOREACH (o, &z->guest_out, link)
			if (o->msg.type == HVSIM_GUEST_IRQ && o->msg.value == m->value)
				return;
	}
	if (z->guest_out_len >= SIM_GUEST_OUT_MAX) {
		guest_close(z, "it does not read what it is sent");
		return;
	}
	o = malloc(sizeof(*o));
	if (!o) {
		guest_close(z, "out of memory");
		return;
	}
	o->msg = *m;
	TAILQ_INSERT_TAIL(&z->guest_out, o, link);
	z->guest_out_len++;
	event_add(z->guest_wr, NULL);
	guest_update_read(z);
}

static void guest_done(struct sim_zone *z, uint32_t cpu, uint64_t address, uint64_t value,
		       int status)
{
	struct hvsim_guest_msg m = {
		.type = HVSIM_GUEST_DONE,
		.cpu = cpu,
		.address = address,
		.value = value,
		.status = status,
	};

	guest_send(z, &m);
}

static void guest_on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct sim_zone *z = arg;
	struct sim_guest_out *o;

	while ((o = TAILQ_FIRST(&z->guest_out))) {
		int r = guest_try_send(z, &o->msg);

		if (r == 0)
			return; /* still full; the write event stays armed */
		if (r < 0) {
			guest_close(z, "send failed");
			return;
		}
		TAILQ_REMOVE(&z->guest_out, o, link);
		free(o);
		z->guest_out_len--;
	}
	event_del(z->guest_wr);
	guest_update_read(z);
}

/* --- owner side ------------------------------------------------------- */

static void owner_close(struct sim_zone *z, const char *why)
{
	if (z->owner_fd < 0)
		return;
	log_info("zone %u: channel owner detached (%s); the sim answers the zone's accesses", z->id,
		 why);
	event_freep(&z->owner_rd);
	event_freep(&z->owner_wr);
	z->owner_fd = safe_close(z->owner_fd);
	/* hvisor.ko: queued requests are dropped, waiting vCPUs get reads of
	 * 0 and their writes are dropped. */
	z->q_head = 0;
	z->q_len = 0;
	for (unsigned cpu = 0; cpu < SIM_MAX_CPUS; cpu++) {
		struct sim_pending *p = &z->pending[cpu];

		if (!p->busy)
			continue;
		p->busy = false;
		guest_done(z, cpu, p->address, 0, 0);
	}
	guest_update_read(z);
}

static void owner_flush(struct sim_zone *z)
{
	struct hvisor_ioreq batch[SIM_BATCH_MAX];

	while (z->q_len > 0 && z->owner_fd >= 0) {
		unsigned n = MIN(z->q_len, (unsigned)SIM_BATCH_MAX);
		ssize_t k;

		for (unsigned i = 0; i < n; i++)
			batch[i] = z->q[(z->q_head + i) % SIM_QUEUE_MAX];
		k = send(z->owner_fd, batch, n * sizeof(batch[0]), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			event_add(z->owner_wr, NULL);
			return;
		}
		if (k != (ssize_t)(n * sizeof(batch[0]))) {
			owner_close(z, k < 0 ? strerror(errno) : "short send");
			return;
		}
		z->q_head = (z->q_head + n) % SIM_QUEUE_MAX;
		z->q_len -= n;
	}
	if (z->owner_wr)
		event_del(z->owner_wr);
	guest_update_read(z);
}

static void owner_on_writable(evutil_socket_t fd, short what, void *arg)
{
	owner_flush(arg);
}

/* Returns false when the queue is full (guest input is paused before that
 * can happen, so this is only a safety net). */
static bool owner_queue(struct sim_zone *z, const struct hvisor_ioreq *req)
{
	if (z->q_len >= SIM_QUEUE_MAX)
		return false;
	z->q[(z->q_head + z->q_len) % SIM_QUEUE_MAX] = *req;
	z->q_len++;
	return true;
}

/* Is an identical notify still queued (not yet handed to the owner)? */
static bool notify_queued(const struct sim_zone *z, uint64_t address, uint64_t value)
{
	for (unsigned i = 0; i < z->q_len; i++) {
		const struct hvisor_ioreq *q = &z->q[(z->q_head + i) % SIM_QUEUE_MAX];

		if (q->is_notify && q->address == address && q->value == value)
			return true;
	}
	return false;
}

static void owner_complete(struct sim_zone *z, const struct hvisor_iocomp *c)
{
	struct sim_pending *p;

	if (c->cpu >= SIM_MAX_CPUS || !z->pending[c->cpu].busy || z->pending[c->cpu].id != c->id) {
		zone_complain(z, "COMPLETE for unknown request (cpu %u, id %llu) ignored", c->cpu,
			      (unsigned long long)c->id);
		return;
	}
	p = &z->pending[c->cpu];
	p->busy = false;
	guest_done(z, c->cpu, p->address, c->value, 0);
}

static void owner_irq(struct sim_zone *z, uint64_t irq)
{
	struct hvsim_guest_msg m = {.type = HVSIM_GUEST_IRQ};

	if (irq >= HV_CONFIG_MAX_INTERRUPTS ||
	    (hv_arch_irqs_gated(z->sim->arch) &&
	     !(z->irq_bitmap[irq / 32] & (UINT32_C(1) << (irq % 32))))) {
		zone_complain(z, "IRQ %llu is not in the zone's interrupt list, dropped",
			      (unsigned long long)irq);
		return;
	}
	/* hvisor injects into the zone's first CPU */
	m.cpu = (uint32_t)__builtin_ctzll(z->cpus);
	m.value = irq;
	guest_send(z, &m);
}

static void owner_packet(struct sim_zone *z, const struct hvisor_iocomp *rx, ssize_t k, bool fds)
{
	size_t n;

	if (k == -EMSGSIZE) {
		zone_complain(z, "owner packet with too many file descriptors ignored");
		return;
	}
	if (fds)
		zone_complain(z, "owner sent file descriptors, closed them");
	if ((size_t)k > SIM_OWNER_RX_RECORDS * sizeof(rx[0]) || (size_t)k % sizeof(rx[0]) != 0) {
		zone_complain(
			z,
			"owner packet of %zd bytes is not whole iocomp records (at most %u), ignored",
			k, SIM_OWNER_RX_RECORDS);
		return;
	}
	n = (size_t)k / sizeof(rx[0]);
	for (size_t i = 0; i < n; i++) {
		switch (rx[i].type) {
		case HVISOR_IOCOMP_COMPLETE:
			owner_complete(z, &rx[i]);
			break;
		case HVISOR_IOCOMP_IRQ:
			owner_irq(z, rx[i].value);
			break;
		default:
			zone_complain(z, "iocomp record of unknown type %u ignored", rx[i].type);
			break;
		}
	}
}

#define OWNER_RX_PKTS 4

static void owner_on_readable(evutil_socket_t fd, short what, void *arg)
{
	static struct hvisor_iocomp rx[OWNER_RX_PKTS][SIM_OWNER_RX_RECORDS];
	static struct sim_rx b;
	struct sim_zone *z = arg;

	/* a bounded number of packets per wake-up, for fairness */
	for (int round = 0; round < SIM_WAKEUP_PACKETS && z->owner_fd >= 0; round++) {
		int k = rx_batch(z->owner_fd, &b, rx, sizeof(rx[0]), OWNER_RX_PKTS);

		if (k == -EAGAIN || k == -EWOULDBLOCK)
			return;
		if (k < 0) {
			owner_close(z, strerror(-k));
			return;
		}
		for (int i = 0; i < k && z->owner_fd >= 0; i++) {
			if (b.len[i] == 0) {
				owner_close(z, "end of file");
				return;
			}
			owner_packet(z, rx[i], b.len[i], b.fds[i]);
		}
		if (k < OWNER_RX_PKTS)
			return; /* nothing is left */
	}
}

/* --- guest accesses ----------------------------------------------------- */

static const struct hv_cfg_memory_region *find_virtio_region(const struct sim_zone *z,
							     uint64_t address)
{
	for (uint32_t i = 0; i < z->n_regions; i++) {
		const struct hv_cfg_memory_region *r = &z->regions[i];

		if (r->type == HV_MEM_TYPE_VIRTIO && address >= r->physical_start &&
		    address - r->physical_start < r->size)
			return r;
	}
	return NULL;
}

static uint64_t mask_to_size(uint64_t v, unsigned size)
{
	return size >= 8 ? v : v & ((UINT64_C(1) << (size * 8)) - 1);
}

static void guest_access(struct sim_zone *z, const void *data, size_t len)
{
	const struct hv_cfg_memory_region *r;
	struct hvsim_guest_msg m = {0};
	struct hvisor_ioreq req = {0};
	uint64_t bit;

	memcpy(&m, data, MIN(len, sizeof(m)));
	if (len != sizeof(m) || m.type != HVSIM_GUEST_ACCESS) {
		log_debug("zone %u: guest packet of %zu bytes, type %u: not an ACCESS", z->id, len,
			  m.type);
		guest_done(z, m.cpu, m.address, 0, -EINVAL);
		return;
	}
	bit = m.cpu < SIM_MAX_CPUS ? UINT64_C(1) << m.cpu : 0;
	if (!(z->cpus & bit)) {
		log_debug("zone %u: access from CPU %u, not a CPU of the zone", z->id, m.cpu);
		guest_done(z, m.cpu, m.address, 0, -EINVAL);
		return;
	}
	if ((m.size != 1 && m.size != 2 && m.size != 4 && m.size != 8) || m.is_write > 1) {
		log_debug("zone %u: CPU %u: access of size %u, is_write %u", z->id, m.cpu, m.size,
			  m.is_write);
		guest_done(z, m.cpu, m.address, 0, -EINVAL);
		return;
	}
	if (z->pending[m.cpu].busy) {
		log_debug("zone %u: CPU %u issued an access while one is outstanding", z->id,
			  m.cpu);
		guest_done(z, m.cpu, m.address, 0, -EBUSY);
		return;
	}
	r = find_virtio_region(z, m.address);
	if (!r) {
		log_debug("zone %u: CPU %u: %s at 0x%llx is outside every virtio region", z->id,
			  m.cpu, m.is_write ? "write" : "read", (unsigned long long)m.address);
		guest_done(z, m.cpu, m.address, 0, -EFAULT);
		return;
	}

	req.address = m.address;
	req.value = m.is_write ? mask_to_size(m.value, m.size) : 0;
	req.cpu = m.cpu;
	req.zone_id = z->id;
	req.size = m.size;
	req.is_write = m.is_write;

	if (m.address - r->physical_start == HVISOR_VIRTIO_NOTIFY_OFFSET) {
		/* posted: the vCPU goes on at once */
		req.is_notify = 1;
		if (z->owner_fd >= 0 && !notify_queued(z, req.address, req.value)) {
			req.id = ++z->seq;
			if (owner_queue(z, &req))
				owner_flush(z);
			else
				zone_complain(z, "request queue full, notify dropped");
		}
		guest_done(z, m.cpu, m.address, 0, 0);
		return;
	}
	if (z->owner_fd < 0) {
		/* nobody serves the zone: reads 0, writes dropped */
		guest_done(z, m.cpu, m.address, 0, 0);
		return;
	}
	req.id = ++z->seq;
	if (!owner_queue(z, &req)) {
		zone_complain(z, "request queue full, CPU %u access refused", m.cpu);
		guest_done(z, m.cpu, m.address, 0, -EBUSY);
		return;
	}
	z->pending[m.cpu] = (struct sim_pending){
		.busy = true,
		.size = m.size,
		.is_write = m.is_write,
		.id = req.id,
		.address = m.address,
	};
	owner_flush(z);
}

static void guest_on_readable(evutil_socket_t fd, short what, void *arg)
{
	static uint8_t buf[SIM_RX_PKTS][sizeof(struct hvsim_guest_msg) + 1];
	static struct sim_rx b;
	struct sim_zone *z = arg;

	for (int round = 0; round < 8 && guest_wants_input(z); round++) {
		/* each packet may queue one ioreq and one DONE: no more than
		 * there is room for */
		unsigned room =
			MIN(SIM_QUEUE_MAX - z->q_len, SIM_GUEST_OUT_PAUSE - z->guest_out_len);
		int k = rx_batch(z->guest_fd, &b, buf, sizeof(buf[0]), MIN(room, SIM_RX_PKTS));

		if (k == -EAGAIN || k == -EWOULDBLOCK)
			return;
		if (k < 0) {
			guest_close(z, strerror(-k));
			return;
		}
		for (int i = 0; i < k; i++) {
			if (z->guest_fd < 0)
				return;
			if (b.len[i] == -EMSGSIZE) {
				guest_done(z, 0, 0, 0, -EINVAL);
				continue;
			}
			if (b.len[i] == 0) {
				guest_close(z, "end of file");
				return;
			}
			guest_access(z, buf[i], (size_t)b.len[i]);
		}
		if ((unsigned)k < MIN(room, SIM_RX_PKTS))
			return; /* nothing is left */
	}
}

/* --- attach / detach ----------------------------------------------------- */

static int new_channel(struct sim_zone *z, int *ret_mine)
{
	int sv[2];
	int r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return negative_errno();
	r = fd_set_nonblock(sv[0], true);
	if (r < 0) {
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	*ret_mine = sv[0];
	return sv[1];
}

/* Makes `mine` (our end of a channel) the zone's owner; closes it on failure. */
static int owner_install(struct sim_zone *z, int mine)
{
	struct event_base *base = z->sim->base;

	z->owner_rd = event_new(base, mine, EV_READ | EV_PERSIST, owner_on_readable, z);
	z->owner_wr = event_new(base, mine, EV_WRITE | EV_PERSIST, owner_on_writable, z);
	if (!z->owner_rd || !z->owner_wr || event_add(z->owner_rd, NULL) < 0) {
		event_freep(&z->owner_rd);
		event_freep(&z->owner_wr);
		close(mine);
		return -ENOMEM;
	}
	z->owner_fd = mine;
	z->q_head = z->q_len = 0;
	return 0;
}

int sim_channel_attach_owner(struct sim_zone *z)
{
	int mine, theirs, r;

	if (z->id == 0)
		return -EINVAL; /* the root zone is the backend side, it has no channel */
	if (z->owner_fd >= 0)
		return -EBUSY;
	theirs = new_channel(z, &mine);
	if (theirs < 0)
		return theirs;
	r = owner_install(z, mine);
	if (r < 0) {
		close(theirs);
		return r;
	}
	log_info("zone %u: channel owner attached", z->id);
	return theirs;
}

/* --- pending owners (attached before ZONE_START) --------------------------- */

static struct sim_pending_owner *pending_find(struct sim *sim, uint32_t zone_id)
{
	struct sim_pending_owner *p;

	LIST_FOREACH (p, &sim->pending_owners, link)
		if (p->zone_id == zone_id)
			return p;
	return NULL;
}

static void pending_free(struct sim_pending_owner *p)
{
	LIST_REMOVE(p, link);
	p->sim->n_pending_owners--;
	event_freep(&p->rd);
	safe_close(p->fd);
	free(p);
}

/* Nothing can be owed before the zone exists: records are discarded; only
 * a hang-up matters (the pending owner is then forgotten). Returns false
 * when the owner has gone. */
static bool pending_drain(struct sim_pending_owner *p, int max_packets)
{
	for (int pkt = 0; pkt < max_packets; pkt++) {
		struct hvisor_iocomp rx[16];
		int fds[HV_MAX_FDS_PER_MSG];
		size_t n_fds = 0;
		ssize_t k;

		k = recv_with_fds(p->fd, rx, sizeof(rx), fds, ARRAY_SIZE(fds), &n_fds,
				  MSG_DONTWAIT | MSG_TRUNC);
		close_many(fds, n_fds);
		if (k == -EAGAIN || k == -EWOULDBLOCK)
			return true;
		if (k == -EMSGSIZE)
			continue;
		if (k <= 0)
			return false;
		log_debug("zone %u: pending owner sent %zd bytes before the zone started, ignored",
			  p->zone_id, k);
	}
	return true;
}

static void pending_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct sim_pending_owner *p = arg;

	if (!pending_drain(p, SIM_PENDING_PACKETS)) {
		log_info("zone %u: pending channel owner detached before the zone started",
			 p->zone_id);
		pending_free(p);
	}
}

int sim_channel_attach_pending(struct sim *sim, uint32_t zone_id)
{
	struct sim_pending_owner *p;
	int sv[2], r;

	if (zone_id == 0)
		return -EINVAL;
	if (pending_find(sim, zone_id))
		return -EBUSY;
	if (sim->n_pending_owners >= SIM_MAX_PENDING) {
		log_warn("zone %u: %u channel owners already wait for their zones, refusing one",
			 zone_id, sim->n_pending_owners);
		return -ENOSPC;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = negative_errno();
		free(p);
		return r;
	}
	r = fd_set_nonblock(sv[0], true);
	p->sim = sim;
	p->zone_id = zone_id;
	p->fd = sv[0];
	if (r == 0) {
		p->rd = event_new(sim->base, p->fd, EV_READ | EV_PERSIST, pending_on_readable, p);
		r = p->rd && event_add(p->rd, NULL) == 0 ? 0 : -ENOMEM;
	}
	LIST_INSERT_HEAD(&sim->pending_owners, p, link);
	sim->n_pending_owners++;
	if (r < 0) {
		pending_free(p);
		close(sv[1]);
		return r;
	}
	log_info("zone %u: channel owner attached; it takes over when the zone starts", zone_id);
	return sv[1];
}

void sim_channel_adopt_pending(struct sim_zone *z)
{
	struct sim_pending_owner *p = pending_find(z->sim, z->id);
	int mine;

	if (!p || z->owner_fd >= 0)
		return;
	/* what it sent while the zone did not exist was for nobody (and the
	 * read event may not have run yet): dropped, not delivered late */
	if (!pending_drain(p, 1024)) {
		log_info("zone %u: pending channel owner detached before the zone started", z->id);
		pending_free(p);
		return;
	}
	mine = p->fd;
	p->fd = -1;
	pending_free(p);
	if (owner_install(z, mine) < 0) {
		log_warn(
			"zone %u: cannot install the pending channel owner; the sim answers the zone's accesses",
			z->id);
		return;
	}
	log_info("zone %u: the pending channel owner now owns the zone", z->id);
}

void sim_channel_pending_free_all(struct sim *sim)
{
	struct sim_pending_owner *p;

	while ((p = LIST_FIRST(&sim->pending_owners)))
		pending_free(p);
}

int sim_channel_attach_guest(struct sim_zone *z)
{
	struct event_base *base = z->sim->base;
	int mine, theirs;

	if (z->id == 0)
		return -EINVAL;
	if (z->guest_fd >= 0)
		return -EBUSY;
	theirs = new_channel(z, &mine);
	if (theirs < 0)
		return theirs;
	z->guest_rd = event_new(base, mine, EV_READ | EV_PERSIST, guest_on_readable, z);
	z->guest_wr = event_new(base, mine, EV_WRITE | EV_PERSIST, guest_on_writable, z);
	if (!z->guest_rd || !z->guest_wr) {
		event_freep(&z->guest_rd);
		event_freep(&z->guest_wr);
		close(mine);
		close(theirs);
		return -ENOMEM;
	}
	z->guest_fd = mine;
	z->guest_reading = false;
	memset(z->pending, 0, sizeof(z->pending));
	guest_update_read(z);
	log_info("zone %u: guest driver attached", z->id);
	return theirs;
}

void sim_channel_close_all(struct sim_zone *z)
{
	guest_close(z, "zone shut down");
	owner_close(z, "zone shut down");
}
