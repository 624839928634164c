/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test harness for hvisor-sim: start one sim in a fresh temporary
 * directory, talk the control protocol (proto/sim.h), build zone_configs
 * programmatically, play the owner and the guest of a zone channel.
 * The sim binary comes from $HVISOR_SIM or argv[1] (see sim_harness_init).
 */
#ifndef HV_TEST_SIM_HARNESS_H
#define HV_TEST_SIM_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "sim.h"

#define SIMH_TIMEOUT_MS 3000		/* for things that must happen */
#define SIMH_QUIET_MS	100		/* for things that must not happen */
#define SIMH_ARCH	HV_ARCH_AARCH64 /* what hvisor-sim runs without --arch */

struct simh {
	pid_t pid;
	char dir[256];
	char sock[300];
	int ctl; /* a control connection, opened by simh_start */
};

/* Remembers the sim path from $HVISOR_SIM or argv[1]; exits 77 (skip)
 * if neither is given. */
void sim_harness_init(int argc, char **argv);
const char *simh_sim_path(void);

/* Starts hvisor-sim with --socket DIR/sim.sock and the extra arguments
 * (NULL-terminated, may be NULL), waits until it accepts connections.
 * notify_path != NULL: NOTIFY_SOCKET for the child. Returns 0 or -errno. */
int simh_start_full(struct simh *h, const char *const *args, const char *notify_path);
int simh_start(struct simh *h, const char *const *args);
/* SIGTERM, wait for it; returns its wait status (or -1), removes the dir. */
int simh_stop(struct simh *h);
/* Just waits for the sim to exit (after someone sent a signal). */
int simh_wait(struct simh *h, int timeout_ms);

int simh_connect(const char *sock);

/* One request/reply. Payloads and fds optional. Returns the reply's ret;
 * a transport failure fails the test. Received fds go to rfds (others
 * closed), the payload length to *rlen. */
int64_t simh_rpc(int fd, const struct hvsim_msg *req, const void *payload, size_t plen,
		 const int *fds, size_t n_fds, struct hvsim_msg *rep, void *rbuf, size_t rcap,
		 size_t *rlen, int *rfds, size_t max_rfds, size_t *n_rfds);
int64_t simh_op(int fd, uint32_t op, uint32_t zone_id, uint64_t a0, uint64_t a1, uint64_t a2);
/* Sends raw bytes, returns the reply's ret (asserts a reply comes). */
int64_t simh_raw(int fd, const void *buf, size_t len, const int *fds, size_t n_fds);

struct hvsim_hello simh_hello(int fd);
/* returns the count (ret) */
int64_t simh_list(int fd, uint64_t cap, struct hvisor_zone_info *out, size_t max);

/* Zone configs: a model with one RAM region of 16 MiB at ram (if ram != 0). */
struct hv_zone_config *simh_cfg_new(enum hv_arch arch, uint32_t id, uint64_t cpus, const char *name,
				    uint64_t ram);
void simh_cfg_region(struct hv_zone_config *cfg, uint32_t type, uint64_t phys, uint64_t size);
void simh_cfg_irq(struct hv_zone_config *cfg, unsigned irq);
/* Encodes for (cfg->arch, magic) into buf (HV_ZONE_CONFIG_MAX_SIZE); returns the size. */
size_t simh_encode(const struct hv_zone_config *cfg, unsigned magic, void *buf);
int64_t simh_zone_start(int fd, const struct hv_zone_config *cfg, unsigned magic);
int64_t simh_zone_start_raw(int fd, const void *cfg, size_t size);

/* ZONE_ATTACH / GUEST_ATTACH: returns ret; on success *chan and *mem. */
int64_t simh_attach(int fd, uint32_t op, uint32_t zone_id, int *chan, int *mem);

/* Receive one packet within timeout_ms: bytes, 0 on EOF, -ETIMEDOUT. */
ssize_t simh_recv(int fd, void *buf, size_t len, int timeout_ms);

/* Guest side. */
void simh_guest_access(int g, uint32_t cpu, uint64_t addr, uint8_t size, uint64_t value,
		       bool is_write);
/* 1 got one, 0 nothing within timeout, -1 EOF */
int simh_guest_recv(int g, struct hvsim_guest_msg *m, int timeout_ms);
/* Expects a DONE for (cpu, addr) and returns it. */
struct hvsim_guest_msg simh_guest_done(int g);

/* Owner side: one packet of ioreqs -> count (0 on timeout, -1 EOF). */
int simh_owner_recv(int o, struct hvisor_ioreq *reqs, size_t max, int timeout_ms);
void simh_owner_complete(int o, uint32_t cpu, uint64_t id, uint64_t value);
void simh_owner_irq(int o, uint64_t irq);

int simh_memfd_with(const void *data, size_t size);

#endif
