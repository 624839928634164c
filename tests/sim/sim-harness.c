// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim-harness.h"
#include "util.h"

static const char *sim_path;

void sim_harness_init(int argc, char **argv)
{
	sim_path = getenv("HVISOR_SIM");
	if ((!sim_path || !*sim_path) && argc > 1)
		sim_path = argv[1];
	if (!sim_path || !*sim_path) {
		printf("1..0 # SKIP set HVISOR_SIM or pass the hvisor-sim path\n");
		exit(77);
	}
	signal(SIGPIPE, SIG_IGN);
}

const char *simh_sim_path(void)
{
	return sim_path;
}

int simh_connect(const char *sock)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

int simh_start_full(struct simh *h, const char *const *args, const char *notify_path)
{
	const char *argv[32];
	size_t n = 0;
	pid_t parent = getpid();

	memset(h, 0, sizeof(*h));
	h->ctl = -1;
	h->pid = -1;
	snprintf(h->dir, sizeof(h->dir), "%s/hvsim-test.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(h->dir))
		return -errno;
	snprintf(h->sock, sizeof(h->sock), "%s/sim.sock", h->dir);

	argv[n++] = sim_path;
	argv[n++] = "--socket";
	argv[n++] = h->sock;
	if (getenv("HVSIM_TEST_LOG_LEVEL")) {
		argv[n++] = "--log-level";
		argv[n++] = getenv("HVSIM_TEST_LOG_LEVEL");
	}
	for (size_t i = 0; args && args[i] && n < ARRAY_SIZE(argv) - 1; i++)
		argv[n++] = args[i];
	argv[n] = NULL;

	h->pid = fork();
	if (h->pid < 0)
		return -errno;
	if (h->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (notify_path)
			setenv("NOTIFY_SOCKET", notify_path, 1);
		else
			unsetenv("NOTIFY_SOCKET");
		execv(sim_path, (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 1000; i++) {
		int status;

		h->ctl = simh_connect(h->sock);
		if (h->ctl >= 0)
			return 0;
		if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
			h->pid = -1;
			return -ECHILD;
		}
		sleep_ms(5);
	}
	return -ETIMEDOUT;
}

int simh_start(struct simh *h, const char *const *args)
{
	int r = simh_start_full(h, args, NULL);

	assert_int_equal(r, 0);
	return r;
}

int simh_wait(struct simh *h, int timeout_ms)
{
	int status = -1;

	if (h->pid <= 0)
		return -1;
	for (int waited = 0;; waited += 5) {
		pid_t p = waitpid(h->pid, &status, WNOHANG);

		if (p == h->pid)
			break;
		if (p < 0)
			return -1;
		if (waited >= timeout_ms) {
			kill(h->pid, SIGKILL);
			waitpid(h->pid, &status, 0);
			status = -1;
			break;
		}
		sleep_ms(5);
	}
	h->pid = -1;
	return status;
}

int simh_stop(struct simh *h)
{
	int status = -1;
	char path[600];

	if (h->ctl >= 0)
		close(h->ctl);
	h->ctl = -1;
	if (h->pid > 0) {
		kill(h->pid, SIGTERM);
		status = simh_wait(h, 5000);
	}
	if (h->dir[0]) {
		snprintf(path, sizeof(path), "%s/sim.sock", h->dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/notify.sock", h->dir);
		unlink(path);
		rmdir(h->dir);
	}
	return status;
}

ssize_t simh_recv(int fd, void *buf, size_t len, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	return recv(fd, buf, len, MSG_DONTWAIT);
}

int64_t simh_rpc(int fd, const struct hvsim_msg *req, const void *payload, size_t plen,
		 const int *fds, size_t n_fds, struct hvsim_msg *rep, void *rbuf, size_t rcap,
		 size_t *rlen, int *rfds, size_t max_rfds, size_t *n_rfds)
{
	uint8_t out[HVSIM_MAX_PACKET], in[HVSIM_MAX_PACKET];
	int got[HV_MAX_FDS_PER_MSG];
	size_t n_got = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t k;

	assert_true(sizeof(*req) + plen <= sizeof(out));
	memcpy(out, req, sizeof(*req));
	if (plen)
		memcpy(out + sizeof(*req), payload, plen);
	k = send_with_fds(fd, out, sizeof(*req) + plen, fds, n_fds, 0);
	assert_int_equal(k, (ssize_t)(sizeof(*req) + plen));
	assert_int_equal(poll(&p, 1, SIMH_TIMEOUT_MS), 1);
	k = recv_with_fds(fd, in, sizeof(in), got, ARRAY_SIZE(got), &n_got, 0);
	assert_true(k >= (ssize_t)sizeof(*rep));
	memcpy(rep, in, sizeof(*rep));
	if (rlen)
		*rlen = (size_t)k - sizeof(*rep);
	if (rbuf)
		memcpy(rbuf, in + sizeof(*rep), MIN((size_t)k - sizeof(*rep), rcap));
	for (size_t i = 0; i < n_got; i++) {
		if (rfds && i < max_rfds)
			rfds[i] = got[i];
		else
			close(got[i]);
	}
	if (n_rfds)
		*n_rfds = n_got;
	return rep->ret;
}

int64_t simh_op(int fd, uint32_t op, uint32_t zone_id, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct hvsim_msg req = {.op = op, .zone_id = zone_id, .arg = {a0, a1, a2}}, rep;
	size_t n_rfds = 0;
	int64_t r;

	r = simh_rpc(fd, &req, NULL, 0, NULL, 0, &rep, NULL, 0, NULL, NULL, 0, &n_rfds);
	assert_int_equal(rep.op, op);
	return r;
}

int64_t simh_raw(int fd, const void *buf, size_t len, const int *fds, size_t n_fds)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint8_t in[HVSIM_MAX_PACKET];
	struct hvsim_msg rep;
	ssize_t k;

	k = send_with_fds(fd, buf, len, fds, n_fds, 0);
	assert_int_equal(k, (ssize_t)len);
	assert_int_equal(poll(&p, 1, SIMH_TIMEOUT_MS), 1);
	k = recv(fd, in, sizeof(in), 0);
	assert_true(k >= (ssize_t)sizeof(rep));
	memcpy(&rep, in, sizeof(rep));
	return rep.ret;
}

struct hvsim_hello simh_hello(int fd)
{
	struct hvsim_msg req = {.op = HVSIM_OP_HELLO}, rep;
	struct hvsim_hello hello = {0};
	size_t rlen = 0;

	assert_int_equal(simh_rpc(fd, &req, NULL, 0, NULL, 0, &rep, &hello, sizeof(hello), &rlen,
				  NULL, 0, NULL),
			 0);
	assert_int_equal(rlen, sizeof(hello));
	return hello;
}

int64_t simh_list(int fd, uint64_t cap, struct hvisor_zone_info *out, size_t max)
{
	struct hvsim_msg req = {.op = HVSIM_OP_ZONE_LIST, .arg = {cap}}, rep;
	size_t rlen = 0;
	int64_t r;

	r = simh_rpc(fd, &req, NULL, 0, NULL, 0, &rep, out, max * sizeof(*out), &rlen, NULL, 0,
		     NULL);
	assert_true(r >= 0);
	assert_int_equal(rlen, (size_t)r * sizeof(*out));
	return r;
}

struct hv_zone_config *simh_cfg_new(enum hv_arch arch, uint32_t id, uint64_t cpus, const char *name,
				    uint64_t ram)
{
	struct hv_zone_config *cfg = calloc(1, sizeof(*cfg));

	assert_non_null(cfg);
	cfg->arch = arch;
	cfg->zone_id = id;
	cfg->cpus = cpus;
	snprintf(cfg->name, sizeof(cfg->name), "%s", name);
	if (arch == HV_ARCH_AARCH64)
		cfg->arch_config.aarch64.gic_version = 3;
	if (ram)
		simh_cfg_region(cfg, HV_MEM_TYPE_RAM, ram, 16u << 20);
	return cfg;
}

void simh_cfg_region(struct hv_zone_config *cfg, uint32_t type, uint64_t phys, uint64_t size)
{
	struct hv_cfg_memory_region *r;

	assert_true(cfg->n_regions < HV_CONFIG_MAX_MEMORY_REGIONS);
	r = &cfg->regions[cfg->n_regions++];
	r->type = type;
	r->physical_start = phys;
	r->virtual_start = phys;
	r->size = size;
}

void simh_cfg_irq(struct hv_zone_config *cfg, unsigned irq)
{
	cfg->irq_bitmap[irq / 32] |= UINT32_C(1) << (irq % 32);
}

size_t simh_encode(const struct hv_zone_config *cfg, unsigned magic, void *buf)
{
	struct hv_error err;
	int r = hv_zone_config_encode(cfg, magic, buf, HV_ZONE_CONFIG_MAX_SIZE, &err);

	assert_true(r > 0);
	assert_int_equal((size_t)r, hv_zone_config_size(cfg->arch, magic));
	return (size_t)r;
}

int64_t simh_zone_start_raw(int fd, const void *cfg, size_t size)
{
	struct hvsim_msg req = {.op = HVSIM_OP_ZONE_START}, rep;

	return simh_rpc(fd, &req, cfg, size, NULL, 0, &rep, NULL, 0, NULL, NULL, 0, NULL);
}

int64_t simh_zone_start(int fd, const struct hv_zone_config *cfg, unsigned magic)
{
	uint8_t buf[HV_ZONE_CONFIG_MAX_SIZE];
	size_t n = simh_encode(cfg, magic, buf);

	return simh_zone_start_raw(fd, buf, n);
}

int64_t simh_attach(int fd, uint32_t op, uint32_t zone_id, int *chan, int *mem)
{
	struct hvsim_msg req = {.op = op, .zone_id = zone_id}, rep;
	int rfds[2] = {-1, -1};
	size_t n = 0;
	int64_t r;

	r = simh_rpc(fd, &req, NULL, 0, NULL, 0, &rep, NULL, 0, NULL, rfds, 2, &n);
	if (r < 0) {
		assert_int_equal(n, 0);
		return r;
	}
	assert_int_equal(n, 2);
	*chan = rfds[0];
	if (mem)
		*mem = rfds[1];
	else
		close(rfds[1]);
	return r;
}

void simh_guest_access(int g, uint32_t cpu, uint64_t addr, uint8_t size, uint64_t value,
		       bool is_write)
{
	struct hvsim_guest_msg m = {
		.type = HVSIM_GUEST_ACCESS,
		.cpu = cpu,
		.address = addr,
		.value = value,
		.size = size,
		.is_write = is_write,
	};

	assert_int_equal(send(g, &m, sizeof(m), MSG_NOSIGNAL), (ssize_t)sizeof(m));
}

int simh_guest_recv(int g, struct hvsim_guest_msg *m, int timeout_ms)
{
	ssize_t k = simh_recv(g, m, sizeof(*m), timeout_ms);

	if (k == -ETIMEDOUT)
		return 0;
	if (k == 0)
		return -1;
	assert_int_equal(k, (ssize_t)sizeof(*m));
	return 1;
}

struct hvsim_guest_msg simh_guest_done(int g)
{
	struct hvsim_guest_msg m;

	assert_int_equal(simh_guest_recv(g, &m, SIMH_TIMEOUT_MS), 1);
	assert_int_equal(m.type, HVSIM_GUEST_DONE);
	return m;
}

int simh_owner_recv(int o, struct hvisor_ioreq *reqs, size_t max, int timeout_ms)
{
	ssize_t k = simh_recv(o, reqs, max * sizeof(*reqs), timeout_ms);

	if (k == -ETIMEDOUT)
		return 0;
	if (k == 0)
		return -1;
	assert_true(k > 0);
	assert_int_equal((size_t)k % sizeof(*reqs), 0);
	return (int)((size_t)k / sizeof(*reqs));
}

void simh_owner_complete(int o, uint32_t cpu, uint64_t id, uint64_t value)
{
	struct hvisor_iocomp c = {
		.type = HVISOR_IOCOMP_COMPLETE, .cpu = cpu, .id = id, .value = value};

	assert_int_equal(send(o, &c, sizeof(c), MSG_NOSIGNAL), (ssize_t)sizeof(c));
}

void simh_owner_irq(int o, uint64_t irq)
{
	struct hvisor_iocomp c = {.type = HVISOR_IOCOMP_IRQ, .value = irq};

	assert_int_equal(send(o, &c, sizeof(c), MSG_NOSIGNAL), (ssize_t)sizeof(c));
}

int simh_memfd_with(const void *data, size_t size)
{
	int fd = memfd_create("simh-buf", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write_full(fd, data, size), 0);
	return fd;
}
