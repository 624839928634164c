// SPDX-License-Identifier: GPL-2.0-only
/*
 * Control connections: one per client (hvisord, tests), each like an open
 * /dev/hvisor. Every packet is one request struct hvsim_msg [+ payload]
 * [+ fds], answered by exactly one packet, in order. A client that does not
 * read its replies is not read from either (at most one reply is held).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvisor-sim.h"
#include "log.h"
#include "util.h"

struct sim_conn {
	TAILQ_ENTRY(sim_conn) link;
	struct sim *sim;
	int fd;
	unsigned id;
	struct event *rd, *wr;

	/* LOAD_BUFFER: read-only view of the client's memfd */
	void *load_map;
	uint64_t load_size;

	/* LOAD_HOLD: a held load (held = its turn, 0: none) and its
	 * descriptor; waiting: a HVSIM_HOLD_WAIT not answered yet. The
	 * connection is not read meanwhile. */
	unsigned held;
	struct hvsim_msg held_req;
	int held_fd[1];
	size_t held_n_fds;
	bool waiting;

	/* a reply the socket had no room for */
	uint8_t *out;
	size_t out_len;
	int out_fds[2];
	bool out_close[2];
	size_t out_n_fds;
};

struct reply {
	struct hvsim_msg hdr;
	union {
		struct hvsim_hello hello;
		struct hvisor_zone_info zones[SIM_LIST_MAX];
		struct hv_cfg_memory_region regions[HV_CONFIG_MAX_MEMORY_REGIONS];
	} payload;
	size_t payload_len;
	int fds[2];
	bool close_fd[2]; /* ours to close once sent */
	size_t n_fds;
	bool deferred; /* no reply now (HVSIM_HOLD_WAIT) */
};

static const char *op_name(uint32_t op)
{
	static const char *const names[] = {
		[HVSIM_OP_HELLO] = "HELLO",
		[HVSIM_OP_CONFIG_CHECK] = "CONFIG_CHECK",
		[HVSIM_OP_LOAD_BUFFER] = "LOAD_BUFFER",
		[HVSIM_OP_LOAD_IMAGE] = "LOAD_IMAGE",
		[HVSIM_OP_LOAD_FILE] = "LOAD_FILE",
		[HVSIM_OP_ZONE_START] = "ZONE_START",
		[HVSIM_OP_ZONE_SHUTDOWN] = "ZONE_SHUTDOWN",
		[HVSIM_OP_ZONE_LIST] = "ZONE_LIST",
		[HVSIM_OP_ZONE_ATTACH] = "ZONE_ATTACH",
		[HVSIM_OP_GUEST_ATTACH] = "GUEST_ATTACH",
		[HVSIM_OP_PHYS_MEMFD] = "PHYS_MEMFD",
		[HVSIM_OP_LOAD_HOLD] = "LOAD_HOLD",
	};

	if (op < ARRAY_SIZE(names) && names[op])
		return names[op];
	return "unknown";
}

static void conn_unmap(struct sim_conn *c)
{
	if (c->load_map)
		munmap(c->load_map, c->load_size);
	c->load_map = NULL;
	c->load_size = 0;
}

static void conn_drop_out(struct sim_conn *c)
{
	for (size_t i = 0; i < c->out_n_fds; i++)
		if (c->out_close[i])
			safe_close(c->out_fds[i]);
	c->out_n_fds = 0;
	free(c->out);
	c->out = NULL;
	c->out_len = 0;
}

static void conn_free(struct sim_conn *c)
{
	struct sim *sim = c->sim;

	log_debug("control connection %u closed", c->id);
	TAILQ_REMOVE(&sim->conns, c, link);
	sim->n_conns--;
	if (c->rd)
		event_free(c->rd);
	if (c->wr)
		event_free(c->wr);
	conn_drop_out(c);
	conn_unmap(c);
	close_many(c->held_fd, c->held_n_fds);
	safe_close(c->fd);
	free(c);
}

void sim_control_free_all(struct sim *sim)
{
	struct sim_conn *c;

	while ((c = TAILQ_FIRST(&sim->conns)))
		conn_free(c);
}

/* --- operations ------------------------------------------------------------ */

static int op_load_buffer(struct sim_conn *c, const struct hvsim_msg *req, int fd)
{
	uint64_t size = req->arg[0];
	struct stat st;
	void *map = NULL;

	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode)) {
		log_warn("LOAD_BUFFER: the descriptor is not a memfd or regular file");
		return -EINVAL;
	}
	if (size > HVSIM_MAX_LOAD_BUFFER || (uint64_t)st.st_size < size) {
		log_warn("LOAD_BUFFER: %llu bytes asked, file has %lld, limit %u",
			 (unsigned long long)size, (long long)st.st_size, HVSIM_MAX_LOAD_BUFFER);
		return -EINVAL;
	}
	if (size > 0) {
		/* Only the kernel reads this mapping (pwrite below), so a
		 * client that shrinks its file gets -EFAULT, not a SIGBUS. */
		map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED)
			return log_errno(LOG_WARNING, negative_errno(),
					 "LOAD_BUFFER: cannot map the buffer");
	}
	conn_unmap(c);
	c->load_map = map;
	c->load_size = size;
	return 0;
}

/* LOAD_IMAGE's rules for the destination: inside physical memory, not the
 * RAM of a running zone. */
static int load_target_ok(struct sim *sim, const char *op, uint64_t paddr, uint64_t size)
{
	uint64_t end;
	uint32_t zone;

	if (range_end(paddr, size, &end) < 0 || end > sim->phys_size) {
		log_warn("%s: [0x%llx, +0x%llx) is beyond physical memory", op,
			 (unsigned long long)paddr, (unsigned long long)size);
		return -EFAULT;
	}
	if (sim_ram_in_use(sim, paddr, size, &zone)) {
		log_warn("%s: [0x%llx, 0x%llx) is RAM of running zone %u", op,
			 (unsigned long long)paddr, (unsigned long long)end, zone);
		return -EPERM;
	}
	return 0;
}

/* Copies size bytes from src to physical memory. The kernel reads src
 * (pwrite), so a source mapping past the end of its file gives -EFAULT,
 * not a SIGBUS. */
static int copy_to_phys(struct sim *sim, const char *op, const void *src, uint64_t size,
			uint64_t paddr)
{
	uint64_t done = 0;

	while (done < size) {
		size_t chunk = (size_t)MIN(size - done, (uint64_t)(16u << 20));
		ssize_t k = pwrite(sim->phys_fd, (const uint8_t *)src + done, chunk,
				   (off_t)(paddr + done));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return log_errno(LOG_WARNING, negative_errno(), "%s at 0x%llx", op,
					 (unsigned long long)(paddr + done));
		if (k == 0)
			return -EIO;
		done += (uint64_t)k;
	}
	log_debug("%s: 0x%llx bytes at 0x%llx", op, (unsigned long long)size,
		  (unsigned long long)paddr);
	return 0;
}

static int op_load_image(struct sim_conn *c, const struct hvsim_msg *req)
{
	uint64_t paddr = req->arg[0], size = req->arg[1], off = req->arg[2], bend;
	int r;

	r = load_target_ok(c->sim, "LOAD_IMAGE", paddr, size);
	if (r < 0)
		return r;
	if (range_end(off, size, &bend) < 0 || bend > c->load_size) {
		log_warn(
			"LOAD_IMAGE: bytes [0x%llx, +0x%llx) are not in the load buffer (0x%llx bytes)",
			(unsigned long long)off, (unsigned long long)size,
			(unsigned long long)c->load_size);
		return -EINVAL;
	}
	return copy_to_phys(c->sim, "LOAD_IMAGE", (const uint8_t *)c->load_map + off, size, paddr);
}

/* Straight from the client's file to physical memory, through a buffer
 * that stays mapped: on machines where page faults are dear this beats
 * mapping the file (measured: 46 against 170 ms for 256 MiB). */
static int op_load_file(struct sim_conn *c, const struct hvsim_msg *req, int fd)
{
	static uint8_t bounce[1u << 20];
	uint64_t paddr = req->arg[0], size = req->arg[1], off = req->arg[2], fend, done = 0;
	struct stat st;
	int r;

	if (size > HVSIM_MAX_LOAD_BUFFER) {
		log_warn("LOAD_FILE: 0x%llx bytes asked, limit 0x%x", (unsigned long long)size,
			 HVSIM_MAX_LOAD_BUFFER);
		return -EINVAL;
	}
	r = load_target_ok(c->sim, "LOAD_FILE", paddr, size);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return -EOPNOTSUPP; /* the client copies through LOAD_IMAGE instead */
	if (range_end(off, size, &fend) < 0 || fend > (uint64_t)INT64_MAX)
		return -EINVAL;
	while (done < size) {
		size_t n = (size_t)MIN(size - done, (uint64_t)sizeof(bounce));
		ssize_t k = pread_full(fd, bounce, n, (off_t)(off + done));

		if (k < 0)
			return log_errno(LOG_WARNING, (int)k, "LOAD_FILE: reading the file");
		if ((size_t)k != n)
			return -ENODATA; /* the file is shorter */
		r = copy_to_phys(c->sim, "LOAD_FILE", bounce, n, paddr + done);
		if (r < 0)
			return r;
		done += n;
	}
	return 0;
}

static int op_attach(struct sim_conn *c, const struct hvsim_msg *req, struct reply *rep)
{
	struct sim_zone *z = sim_zone_find(c->sim, req->zone_id);
	int fd;

	if (req->op == HVSIM_OP_ZONE_ATTACH)
		/* a backend may get ready before its zone boots */
		fd = z ? sim_channel_attach_owner(z)
		       : sim_channel_attach_pending(c->sim, req->zone_id);
	else if (z)
		fd = sim_channel_attach_guest(z);
	else
		fd = -ENOENT;
	if (fd < 0)
		return fd;
	rep->fds[0] = fd;
	rep->close_fd[0] = true;
	rep->fds[1] = c->sim->phys_fd;
	rep->n_fds = 2;
	if (req->op == HVSIM_OP_GUEST_ATTACH) {
		/* the guest's view of its machine: which vCPUs it may play and
		 * where its RAM is */
		rep->hdr.arg[0] = z->cpus;
		rep->hdr.arg[1] = z->n_regions;
		memcpy(rep->payload.regions, z->regions, sizeof(z->regions[0]) * z->n_regions);
		rep->payload_len = sizeof(z->regions[0]) * z->n_regions;
	}
	return 0;
}

/* The payload and descriptors a request of op must carry; -EINVAL for an
 * unknown op. */
static int packet_shape(const struct sim *sim, uint32_t op, size_t *ret_payload, size_t *ret_fds)
{
	*ret_payload = *ret_fds = 0;
	switch (op) {
	case HVSIM_OP_ZONE_START:
		*ret_payload = hv_zone_config_size(sim->arch, sim->magic);
		return 0;
	case HVSIM_OP_LOAD_BUFFER:
	case HVSIM_OP_LOAD_FILE:
		*ret_fds = 1;
		return 0;
	case HVSIM_OP_HELLO:
	case HVSIM_OP_CONFIG_CHECK:
	case HVSIM_OP_LOAD_IMAGE:
	case HVSIM_OP_ZONE_SHUTDOWN:
	case HVSIM_OP_ZONE_LIST:
	case HVSIM_OP_ZONE_ATTACH:
	case HVSIM_OP_GUEST_ATTACH:
	case HVSIM_OP_PHYS_MEMFD:
	case HVSIM_OP_LOAD_HOLD:
		return 0;
	}
	return -EINVAL;
}

static int op_load_hold(struct sim_conn *c, const struct hvsim_msg *req, struct reply *rep);

/* The packet's shape: 0, or -EINVAL (logged). */
static int packet_check(struct sim_conn *c, const struct hvsim_msg *req, size_t len, size_t n_fds)
{
	size_t payload_len, want_payload, want_fds;

	if (len < sizeof(*req) || len > HVSIM_MAX_PACKET) {
		log_warn("control connection %u: packet of %zu bytes refused", c->id, len);
		return -EINVAL;
	}
	payload_len = len - sizeof(*req);
	if (packet_shape(c->sim, req->op, &want_payload, &want_fds) < 0) {
		log_warn("control connection %u: unknown op %u", c->id, req->op);
		return -EINVAL;
	}
	if (payload_len != want_payload) {
		log_warn("control connection %u: %s with %zu payload bytes, expected %zu", c->id,
			 op_name(req->op), payload_len, want_payload);
		return -EINVAL;
	}
	if (n_fds != want_fds) {
		log_warn("control connection %u: %s with %zu file descriptors, expected %zu", c->id,
			 op_name(req->op), n_fds, want_fds);
		/* unexpected ones are closed after the request */
		return want_fds ? -EINVAL : 0;
	}
	return 0;
}

/* Runs a well-formed request; fills rep. */
static int run_op(struct sim_conn *c, const struct hvsim_msg *req, const uint8_t *payload,
		  size_t payload_len, int *fds, struct reply *rep)
{
	struct sim *sim = c->sim;
	int r;

	switch (req->op) {
	case HVSIM_OP_HELLO:
		rep->payload.hello = (struct hvsim_hello){
			.version = HVSIM_PROTO_VERSION,
			.arch = (uint32_t)sim->arch,
			.magic = sim->magic,
			.ncpus = sim->ncpus,
			.phys_size = sim->phys_size,
		};
		rep->payload_len = sizeof(rep->payload.hello);
		return 0;
	case HVSIM_OP_CONFIG_CHECK:
		rep->hdr.arg[0] = sim->magic;
		return 0;
	case HVSIM_OP_LOAD_BUFFER:
		return op_load_buffer(c, req, fds[0]);
	case HVSIM_OP_LOAD_IMAGE:
		return op_load_image(c, req);
	case HVSIM_OP_LOAD_FILE:
		return op_load_file(c, req, fds[0]);
	case HVSIM_OP_ZONE_START:
		return sim_zone_start(sim, payload, payload_len);
	case HVSIM_OP_ZONE_SHUTDOWN:
		return sim_zone_shutdown(sim, req->zone_id);
	case HVSIM_OP_ZONE_LIST:
		r = (int)sim_zone_list(sim, rep->payload.zones,
				       (unsigned)MIN(req->arg[0], (uint64_t)SIM_LIST_MAX));
		rep->payload_len = (size_t)r * sizeof(rep->payload.zones[0]);
		return r;
	case HVSIM_OP_ZONE_ATTACH:
	case HVSIM_OP_GUEST_ATTACH:
		return op_attach(c, req, rep);
	case HVSIM_OP_PHYS_MEMFD:
		rep->fds[0] = sim->phys_fd;
		rep->close_fd[0] = false;
		rep->n_fds = 1;
		return 0;
	case HVSIM_OP_LOAD_HOLD:
		return op_load_hold(c, req, rep);
	}
	return -EINVAL;
}

/* Checks the packet's shape and runs it; fills rep. */
static void conn_dispatch(struct sim_conn *c, const uint8_t *buf, size_t len, int *fds,
			  size_t n_fds, struct reply *rep)
{
	struct hvsim_msg req = {0};
	int r;

	memcpy(&req, buf, MIN(len, sizeof(req)));
	rep->hdr.op = req.op;
	rep->hdr.zone_id = req.zone_id;
	r = packet_check(c, &req, len, n_fds);
	if (r == 0) {
		log_debug("control connection %u: %s zone %u arg 0x%llx 0x%llx 0x%llx", c->id,
			  op_name(req.op), req.zone_id, (unsigned long long)req.arg[0],
			  (unsigned long long)req.arg[1], (unsigned long long)req.arg[2]);
		r = run_op(c, &req, buf + sizeof(req), len - sizeof(req), fds, rep);
	}
	close_many(fds, n_fds);
	rep->hdr.ret = r;
	if (r < 0)
		log_debug("control connection %u: %s -> %d", c->id, op_name(req.op), r);
}

/* --- I/O ----------------------------------------------------------------------- */

static void conn_on_readable(evutil_socket_t fd, short what, void *arg);

/* Not read while a reply waits for room, a load is held or a
 * HVSIM_HOLD_WAIT is open. */
static bool conn_paused(const struct sim_conn *c)
{
	return c->out || c->held || c->waiting;
}

static void conn_resume(struct sim_conn *c)
{
	if (!conn_paused(c))
		event_add(c->rd, NULL);
}

/* false: the connection is gone */
static bool conn_send(struct sim_conn *c, struct reply *rep)
{
	uint8_t buf[sizeof(rep->hdr) + sizeof(rep->payload)];
	size_t len = sizeof(rep->hdr) + rep->payload_len;
	ssize_t k;

	memcpy(buf, &rep->hdr, sizeof(rep->hdr));
	memcpy(buf + sizeof(rep->hdr), &rep->payload, rep->payload_len);
	k = send_with_fds(c->fd, buf, len, rep->fds, rep->n_fds, MSG_DONTWAIT);
	if (k == (ssize_t)len) {
		for (size_t i = 0; i < rep->n_fds; i++)
			if (rep->close_fd[i])
				safe_close(rep->fds[i]);
		return true;
	}
	if (k == -EAGAIN || k == -EWOULDBLOCK) {
		c->out = malloc(len);
		if (c->out) {
			memcpy(c->out, buf, len);
			c->out_len = len;
			c->out_n_fds = rep->n_fds;
			for (size_t i = 0; i < rep->n_fds; i++) {
				c->out_fds[i] = rep->fds[i];
				c->out_close[i] = rep->close_fd[i];
			}
			event_del(c->rd);
			event_add(c->wr, NULL);
			return true;
		}
	}
	for (size_t i = 0; i < rep->n_fds; i++)
		if (rep->close_fd[i])
			safe_close(rep->fds[i]);
	conn_free(c);
	return false;
}

static void conn_on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct sim_conn *c = arg;
	ssize_t k =
		send_with_fds(c->fd, c->out, c->out_len, c->out_fds, c->out_n_fds, MSG_DONTWAIT);

	if (k == -EAGAIN || k == -EWOULDBLOCK)
		return;
	if (k != (ssize_t)c->out_len) {
		conn_free(c);
		return;
	}
	conn_drop_out(c);
	event_del(c->wr);
	conn_resume(c);
}

/* --- LOAD_HOLD ------------------------------------------------------------------ */

static struct sim_conn *hold_oldest(struct sim *sim)
{
	struct sim_conn *c, *best = NULL;

	TAILQ_FOREACH (c, &sim->conns, link)
		if (c->held && (!best || c->held < best->held))
			best = c;
	return best;
}

/* Answers every HVSIM_HOLD_WAIT still open with ret. */
static void hold_answer_waiters(struct sim *sim, int ret)
{
	struct sim_conn *c, *next;

	for (c = TAILQ_FIRST(&sim->conns); c; c = next) {
		struct reply rep = {.hdr = {.op = HVSIM_OP_LOAD_HOLD, .ret = ret}};

		next = TAILQ_NEXT(c, link);
		if (!c->waiting)
			continue;
		c->waiting = false;
		if (conn_send(c, &rep))
			conn_resume(c);
	}
}

/* A load that must wait is parked with its descriptor. true: parked. */
static bool hold_load(struct sim_conn *c, const uint8_t *buf, size_t len, int *fds, size_t n_fds)
{
	struct sim *sim = c->sim;
	struct hvsim_msg req;

	if (!sim->hold_loads || len != sizeof(req) || n_fds > ARRAY_SIZE(c->held_fd))
		return false;
	memcpy(&req, buf, sizeof(req));
	if (req.op != HVSIM_OP_LOAD_IMAGE && req.op != HVSIM_OP_LOAD_FILE)
		return false;
	if (sim->hold_passes > 0) {
		sim->hold_passes--;
		return false;
	}
	c->held_req = req;
	memcpy(c->held_fd, fds, n_fds * sizeof(int));
	c->held_n_fds = n_fds;
	c->held = ++sim->hold_seq;
	event_del(c->rd);
	log_info("control connection %u: %s held (LOAD_HOLD)", c->id, op_name(req.op));
	hold_answer_waiters(sim, 0);
	return true;
}

/* Runs and answers a held load; its connection is read again. */
static void hold_release(struct sim_conn *c)
{
	uint8_t pkt[sizeof(c->held_req)];
	struct reply rep;

	memset(&rep, 0, sizeof(rep));
	memcpy(pkt, &c->held_req, sizeof(pkt));
	c->held = 0;
	conn_dispatch(c, pkt, sizeof(pkt), c->held_fd, c->held_n_fds, &rep); /* closes them */
	c->held_n_fds = 0;
	if (conn_send(c, &rep))
		conn_resume(c);
}

static int op_load_hold(struct sim_conn *c, const struct hvsim_msg *req, struct reply *rep)
{
	struct sim *sim = c->sim;
	struct sim_conn *h;
	int n = 0;

	switch (req->arg[0]) {
	case HVSIM_HOLD_ON:
		sim->hold_loads = true;
		return 0;
	case HVSIM_HOLD_WAIT:
		if (!sim->hold_loads)
			return -EINVAL;
		if (!hold_oldest(sim)) {
			c->waiting = true;
			rep->deferred = true;
		}
		return 0;
	case HVSIM_HOLD_STEP:
		if (!sim->hold_loads)
			return -EINVAL;
		h = hold_oldest(sim);
		if (h)
			hold_release(h);
		else
			sim->hold_passes++;
		return 0;
	case HVSIM_HOLD_OFF:
		sim->hold_loads = false;
		sim->hold_passes = 0;
		for (; (h = hold_oldest(sim)); n++)
			hold_release(h);
		hold_answer_waiters(sim, -ECANCELED);
		return n;
	}
	return -EINVAL;
}

static void conn_on_readable(evutil_socket_t fd, short what, void *arg)
{
	static uint8_t buf[HVSIM_MAX_PACKET];
	struct sim_conn *c = arg;

	for (int pkt = 0; pkt < SIM_WAKEUP_PACKETS && !conn_paused(c); pkt++) {
		int fds[HV_MAX_FDS_PER_MSG];
		size_t n_fds = 0;
		struct reply rep;
		ssize_t k;

		k = recv_with_fds(c->fd, buf, sizeof(buf), fds, ARRAY_SIZE(fds), &n_fds,
				  MSG_DONTWAIT | MSG_TRUNC);
		if (k == -EAGAIN || k == -EWOULDBLOCK)
			return;
		memset(&rep, 0, sizeof(rep));
		if (k == -EMSGSIZE) {
			/* too many descriptors: the packet is lost, still answer it */
			log_warn("control connection %u: too many file descriptors", c->id);
			rep.hdr.ret = -EINVAL;
		} else if (k <= 0) {
			if (k < 0)
				log_debug("control connection %u: %s", c->id, strerror((int)-k));
			conn_free(c);
			return;
		} else if (hold_load(c, buf, (size_t)k, fds, n_fds)) {
			return;
		} else
			conn_dispatch(c, buf, (size_t)k, fds, n_fds, &rep);
		if (rep.deferred) {
			event_del(c->rd);
			return;
		}
		if (!conn_send(c, &rep))
			return;
	}
}

int sim_control_accept(struct sim *sim, int fd)
{
	static unsigned next_id;
	struct sim_conn *c;

	if (sim->n_conns >= SIM_MAX_CONNS) {
		log_warn("too many control connections (%u), refusing one", sim->n_conns);
		close(fd);
		return -EMFILE;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->sim = sim;
	c->fd = fd;
	c->id = ++next_id;
	c->rd = event_new(sim->base, fd, EV_READ | EV_PERSIST, conn_on_readable, c);
	c->wr = event_new(sim->base, fd, EV_WRITE | EV_PERSIST, conn_on_writable, c);
	TAILQ_INSERT_TAIL(&sim->conns, c, link);
	sim->n_conns++;
	if (!c->rd || !c->wr || event_add(c->rd, NULL) < 0) {
		conn_free(c);
		return -ENOMEM;
	}
	log_debug("control connection %u opened", c->id);
	return 0;
}
