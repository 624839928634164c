/* SPDX-License-Identifier: GPL-2.0-only */
/* The hypervisor as hvisord sees it: the operations of /dev/hvisor, served
 * either by the kernel module (hv-kmod.c) or by hvisor-sim (hv-sim.c).
 * All calls are synchronous and return >= 0 or -errno as the hypervisor
 * reported it. Callers use the hv_*() wrappers below: they notice a
 * backend that went away (a sim that died, a module that reports its
 * device gone), answer HV_LOST until it is back, and reconnect (reopen)
 * it, on demand and from a back-off timer in the event loop. */
#ifndef HVISORD_HV_H
#define HVISORD_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "abi/hvisor-abi.h"
#include "config.h"

/* How much zone start copies per LOAD_IMAGE: bounds hvisord's memory use
 * and how long one event-loop step takes. */
#define HV_LOAD_CHUNK (1u << 20)
/* What one event-loop turn of a zone start copies, at most. */
#define HV_LOAD_STEP (HV_LOAD_CHUNK << 3)

struct hv;

/* What the wrappers return while the backend is gone, or when it went away
 * during the operation (the hypervisor itself never answers ENOTCONN). */
#define HV_LOST (-ENOTCONN)

struct hv_ops {
	const char *name; /* "kmod" or "sim" */
	const char *what; /* for people: "hvisor-sim", "hvisor.ko" */
	/* Does r (from an operation) mean the backend is gone? */
	bool (*is_loss)(int r);
	/* hv->fd shows the loss by becoming readable (EOF) */
	bool watch_fd;
	int (*open)(struct hv *hv, const char *arg);
	void (*close)(struct hv *hv);
	int (*config_check)(struct hv *hv, uint64_t *ret_magic);
	/* Copies len (<= HV_LOAD_CHUNK) bytes at data to paddr; data in
	 * hv->load_buf saves a copy (the sim shares that buffer). */
	int (*load)(struct hv *hv, uint64_t paddr, const void *data, size_t len);
	/* Optional: copies len (<= HV_LOAD_STEP) bytes at offset off of the
	 * file fd to paddr without passing them through hvisord (the sim
	 * reads the file itself: one round trip per step instead of one per
	 * chunk). -EOPNOTSUPP: not for this file, use load(); -ENODATA: the
	 * file is shorter than off + len. */
	int (*load_file)(struct hv *hv, uint64_t paddr, int fd, uint64_t off, size_t len);
	int (*zone_start)(struct hv *hv, const void *config, size_t size);
	int (*zone_shutdown)(struct hv *hv, uint32_t zone_id);
	/* Returns the number of entries written (<= cap). */
	int (*zone_list)(struct hv *hv, struct hvisor_zone_info *zones, size_t cap);
	/* The zone's channel (whole struct hvisor_ioreq records in, struct
	 * hvisor_iocomp out) and a memory fd whose offsets are host physical
	 * addresses. The zone need not run yet. -EBUSY: it has an owner. */
	int (*zone_attach)(struct hv *hv, uint32_t zone_id, int *ret_channel, int *ret_mem);
};

struct hv {
	const struct hv_ops *ops;
	char *path;	   /* device or socket */
	enum hv_arch arch; /* what zone configs are parsed and encoded for */
	uint64_t magic;	   /* CONFIG_CHECK */
	unsigned ncpus;	   /* 0 if unknown */
	void *load_buf;	   /* HV_LOAD_CHUNK bytes to read images into */
	int fd;

	/* a lost backend (the wrappers keep this up to date) */
	bool lost;
	int lost_reason;     /* -errno that showed it */
	uint64_t generation; /* counts reconnections: an operation that spans
			      * event-loop turns (a load) checks it */
	struct event_base *base;
	struct event *ev_watch, *ev_retry;
	unsigned retry_msec;
	void (*on_change)(struct hv *hv, void *userdata); /* lost, or back */
	void *userdata;
};

/* spec: "kmod", "kmod:/dev/hvisor", "sim:/path/to/socket": its ops and
 * their argument (the device, the socket), or -EINVAL. */
int hv_parse(const char *spec, const struct hv_ops **ret_ops, const char **ret_arg);
int hv_open(const struct hv_ops *ops, const char *arg, struct hv **ret);
struct hv *hv_close(struct hv *hv);
/* Is hv->magic a zone_config layout we can encode? */
int hv_magic_supported(const struct hv *hv);

/* Watches the backend from the event loop (a sim's socket closing) and
 * retries a lost one with back-off (0.1 s doubling to 10 s); on_change
 * runs after each change of hv->lost. */
int hv_watch(struct hv *hv, struct event_base *base,
	     void (*on_change)(struct hv *hv, void *userdata), void *userdata);
/* 0 if the backend is there; a lost one is reconnected first (HV_LOST if
 * it is still gone). */
int hv_ensure(struct hv *hv);

/* The operations, through the loss detection. */
int hv_load(struct hv *hv, uint64_t paddr, const void *data, size_t len);
int hv_load_file(struct hv *hv, uint64_t paddr, int fd, uint64_t off, size_t len);
int hv_zone_start(struct hv *hv, const void *config, size_t size);
int hv_zone_shutdown(struct hv *hv, uint32_t zone_id);
int hv_zone_list(struct hv *hv, struct hvisor_zone_info *zones, size_t cap);
int hv_zone_attach(struct hv *hv, uint32_t zone_id, int *ret_channel, int *ret_mem);

extern const struct hv_ops hv_kmod_ops;
extern const struct hv_ops hv_sim_ops;

#endif
