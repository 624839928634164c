/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hvisor-sim internals: one event loop (libevent), one struct sim, a list of
 * zones (the hypervisor's view) and a list of control connections (the
 * /dev/hvisor file descriptions). The protocol is proto/sim.h.
 *
 *   hvisor-sim.c   options, listening socket, signals, readiness
 *   sim-control.c  control connections: packet checks, op dispatch, loading
 *   sim-zones.c    zone table: zone_config validation, start/shutdown/list
 *   sim-channel.c  per-zone channels: guest accesses -> ioreqs -> DONE, IRQs
 */
#ifndef HVISOR_SIM_INTERNAL_H
#define HVISOR_SIM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "config.h"
#include "ratelimit.h"
#include "sim.h"

#define SIM_PHYS_SIZE	     (UINT64_C(1) << 40) /* 1 TiB, sparse */
#define SIM_ROOT_NAME	     "root-linux"
#define SIM_MAX_CONNS	     128  /* control connections at once */
#define SIM_LIST_MAX	     64	  /* zone_info entries per ZONE_LIST reply */
#define SIM_QUEUE_MAX	     1024 /* ioreqs queued toward one zone's owner */
#define SIM_BATCH_MAX	     32	  /* ioreqs per channel packet */
#define SIM_OWNER_RX_RECORDS 1024 /* iocomp records in one owner packet, at most */
#define SIM_GUEST_OUT_PAUSE  64	  /* stop reading a guest that leaves this many unread */
#define SIM_GUEST_OUT_MAX    4096 /* a guest that leaves more unread is dropped */
#define SIM_LOG_BURST	     10
#define SIM_LOG_INTERVAL     (1000 * 1000) /* µs */
#define SIM_MAX_CPUS	     HV_CONFIG_MAX_CPUS
#define SIM_MAX_PENDING	     64 /* owners attached to zones not running yet */
#define SIM_WAKEUP_PACKETS   16 /* packets (accepts) taken per wake-up, for fairness */
#define SIM_PENDING_PACKETS  64 /* a waiting owner's packets dropped per wake-up */
#define SIM_LISTEN_BACKLOG   64

/* The highest CPU of cpus the sim does not have, or -1. */
static inline int sim_cpu_missing(unsigned ncpus, uint64_t cpus)
{
	if (ncpus >= SIM_MAX_CPUS || (cpus >> ncpus) == 0)
		return -1;
	return 63 - __builtin_clzll(cpus);
}

struct sim;

/* One access a vCPU waits for (one per CPU, like hvisor's cfg_flags[cpu]). */
struct sim_pending {
	bool busy;
	uint8_t size;
	uint8_t is_write;
	uint64_t id;
	uint64_t address;
};

struct sim_guest_out {
	TAILQ_ENTRY(sim_guest_out) link;
	struct hvsim_guest_msg msg;
};

struct sim_zone {
	TAILQ_ENTRY(sim_zone) link;
	struct sim *sim;

	uint32_t id;
	uint64_t cpus;
	char name[HV_CONFIG_NAME_LEN];	       /* raw bytes from zone_config, maybe no NUL */
	char log_name[HV_CONFIG_NAME_LEN + 1]; /* printable copy for log lines */
	uint32_t n_regions;
	struct hv_cfg_memory_region regions[HV_CONFIG_MAX_MEMORY_REGIONS];
	uint32_t irq_bitmap[HV_CONFIG_IRQ_WORDS];

	/* owner side (hvisor-virtiod): the zone channel */
	int owner_fd;
	struct event *owner_rd, *owner_wr;
	uint64_t seq; /* last ioreq id handed out */
	unsigned q_head, q_len;
	struct hvisor_ioreq q[SIM_QUEUE_MAX]; /* queued, not yet sent to the owner */
	struct sim_pending pending[SIM_MAX_CPUS];

	/* guest side (test driver / libhvguest) */
	int guest_fd;
	struct event *guest_rd, *guest_wr;
	bool guest_reading;
	unsigned guest_out_len;
	TAILQ_HEAD(, sim_guest_out) guest_out; /* DONE/IRQ the socket had no room for */

	/* complaints about hostile input, at most SIM_LOG_BURST per second */
	struct ratelimit complaints;
};

struct sim_conn;

/* A ZONE_ATTACH for a zone that is not running yet: the channel waits here
 * and becomes the zone's owner when ZONE_START creates that zone id. */
struct sim_pending_owner {
	LIST_ENTRY(sim_pending_owner) link;
	struct sim *sim;
	uint32_t zone_id;
	int fd;
	struct event *rd; /* only to notice a hang-up */
};

struct sim {
	struct event_base *base;
	enum hv_arch arch;
	unsigned magic;
	unsigned ncpus;
	uint64_t root_cpus; /* --root-cpus; 0: CPUs 0 and 1 (0 alone with one CPU) */
	uint64_t phys_size;
	int phys_fd;

	const char *socket_path;
	int listen_fd;
	struct event *listen_ev;

	TAILQ_HEAD(, sim_zone) zones; /* sorted by id, root (0) first */
	unsigned n_zones;
	TAILQ_HEAD(, sim_conn) conns;
	unsigned n_conns;
	/* zero-initialised LIST_HEAD is a valid empty list */
	LIST_HEAD(, sim_pending_owner) pending_owners;
	unsigned n_pending_owners;
	/* LOAD_HOLD (tests): hold loads, but let hold_passes more go first;
	 * hold_seq orders the held ones */
	bool hold_loads;
	unsigned hold_passes, hold_seq;
};

/* sim-zones.c */
int sim_zones_init(struct sim *sim);
void sim_zones_free(struct sim *sim);
struct sim_zone *sim_zone_find(struct sim *sim, uint32_t id);
/* payload = zone_config bytes as received; returns 0 or -errno */
int sim_zone_start(struct sim *sim, const void *cfg, size_t size);
int sim_zone_shutdown(struct sim *sim, uint32_t id);
/* fills at most cap entries (root first, by id); returns the count */
unsigned sim_zone_list(struct sim *sim, struct hvisor_zone_info *out, unsigned cap);
/* Does [addr, addr+size) touch RAM of a running non-root zone? (its id in *ret_id) */
bool sim_ram_in_use(struct sim *sim, uint64_t addr, uint64_t size, uint32_t *ret_id);

/* sim-channel.c */
/* Returns the new channel end for the client (caller sends and closes it)
 * or -errno. */
int sim_channel_attach_owner(struct sim_zone *z);
int sim_channel_attach_guest(struct sim_zone *z);
/* ZONE_ATTACH for a zone id that is not running: a pending owner (client's
 * channel end or -errno: -EINVAL zone 0, -EBUSY one is pending already). */
int sim_channel_attach_pending(struct sim *sim, uint32_t zone_id);
/* ZONE_START created z: a pending owner for its id becomes its owner. */
void sim_channel_adopt_pending(struct sim_zone *z);
void sim_channel_pending_free_all(struct sim *sim);
/* Closes both channels of a zone (zone shutdown / sim exit). */
void sim_channel_close_all(struct sim_zone *z);

/* sim-control.c */
int sim_control_accept(struct sim *sim, int fd);
void sim_control_free_all(struct sim *sim);

#endif
