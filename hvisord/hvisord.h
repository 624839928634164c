/* SPDX-License-Identifier: GPL-2.0-only */
/* hvisord: the daemon's shared state and the interfaces between its files.
 *   main.c     options, start-up, signals, sd_notify
 *   control.c  the varlink socket: connections, credentials, framing, limits
 *   manager.c  org.varlink.service, org.hvisor (limits), org.hvisor.Manager, the event stream
 *   zone.c     org.hvisor.Zone and the zone table
 *   load.c     copying images into zone memory in bounded chunks
 *   hv*.c      backends: /dev/hvisor (hv-kmod.c) and hvisor-sim (hv-sim.c) */
#ifndef HVISORD_H
#define HVISORD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

/* glibc's sys/queue.h lacks the _SAFE iterators. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)                                     \
	for ((var) = TAILQ_FIRST(head); (var) && ((tvar) = TAILQ_NEXT(var, field), 1); \
	     (var) = (tvar))
#endif
#include <sys/types.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "config.h"
#include "varlink.h"

#define HVISORD_API_MAJOR 1
#define HVISORD_API_MINOR 2

struct hv;
struct conn;
struct zone;
struct zvirt;

struct limits {
	unsigned max_connections;
	unsigned max_subscribers;
	size_t max_reply_queue;	     /* bytes of replies queued: stop reading the client's calls */
	size_t max_subscriber_queue; /* bytes queued towards one subscriber */
};

struct daemon {
	struct event_base *base;
	struct hv *hv;
	char *runtime_dir;
	char *socket_path;
	bool socket_created; /* we bound it, so we unlink it */
	int listen_fd;
	struct event *ev_listen;
	struct event *ev_accept_resume;
	struct event *ev_signals[3];
	struct limits limits;

	TAILQ_HEAD(, conn) conns;
	unsigned n_conns;
	unsigned n_subscribers;
	uint64_t next_conn_id;

	TAILQ_HEAD(, zone) zones;
	uint64_t start_usec;

	/* data plane: devices per zone and their hvisor-virtiod */
	TAILQ_HEAD(, zvirt) zvirts;
	char *virtiod_path;
	char *virtiod_user;
	struct event *ev_sigchld;
};

/* A method handler. Returns 0 once it replied (or went async with
 * conn_async_begin), or a negative errno for an internal failure, which the
 * caller turns into org.hvisor.Internal. fds[] are the descriptors that came
 * with the call; a handler that keeps one sets its slot to -1. */
struct method {
	const char *name;
	int (*fn)(struct conn *c, const struct vl_call *call, int *fds, size_t n_fds);
	unsigned flags;
};
#define METHOD_MUTATING	 (1u << 0) /* root or group "hvisor" only */
#define METHOD_TAKES_FDS (1u << 1)

extern const struct method manager_methods[];
extern const struct method zone_methods[];
extern const struct method virtio_methods[];

/* control.c */
int control_init(struct daemon *d);
void control_done(struct daemon *d);
struct daemon *conn_daemon(struct conn *c);
/* Replies. All take ownership of their json argument. */
int conn_reply(struct conn *c, json_object *parameters);
int conn_reply_more(struct conn *c, json_object *parameters); /* "continues": true */
int conn_error(struct conn *c, json_object *error_message);
int conn_errorf(struct conn *c, const char *error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* org.hvisor.InvalidParameter for err (path prefixed by `prefix`). */
int conn_error_invalid(struct conn *c, const char *prefix, const struct hv_error *err);
/* org.hvisor.KernelError: `operation` (e.g. "ZONE_LIST") failed with r (-errno). */
int conn_error_kernel(struct conn *c, const char *operation, int r);

/* What makes a descriptor a client passed as a file unusable: NULL for a
 * regular file or block device opened for reading (with write: for
 * reading and writing, without O_APPEND), else the reason. *ret_st: its
 * stat. */
struct stat;
const char *passed_file_problem(int fd, bool write, struct stat *ret_st);
/* A handler that finishes later: input processing pauses until
 * conn_async_end(); the connection stays allocated even if the peer leaves
 * (replies then go nowhere). */
void conn_async_begin(struct conn *c);
void conn_async_end(struct conn *c);
void conn_set_subscriber(struct conn *c);
bool conn_is_privileged(const struct conn *c);
uid_t conn_uid(const struct conn *c);
/* Sends one event to every subscriber (takes ownership). */
void control_broadcast(struct daemon *d, json_object *event);

/* manager.c */
json_object *daemon_event_new(const char *name, const struct zone *z, const char *message);
void daemon_event_emit(struct daemon *d, const char *name, const struct zone *z,
		       const char *message);
/* An event about zone zone_id (its name added if hvisord knows it); extra
 * (taken, may be NULL) adds fields, e.g. a device's addr. */
void daemon_event_emitx(struct daemon *d, const char *name, uint32_t zone_id, const char *message,
			json_object *extra);
static inline void daemon_event_emit_zone(struct daemon *d, const char *name, uint32_t zone_id,
					  const char *message)
{
	daemon_event_emitx(d, name, zone_id, message, NULL);
}

/* zone.c */
void zones_done(struct daemon *d);
uint32_t zone_id(const struct zone *z);
const char *zone_name(const struct zone *z);
const struct zone *zone_lookup(struct daemon *d, uint32_t id);
/* The config of a zone this hvisord started and that still runs, or NULL. */
const struct hv_zone_config *zone_config_of(struct daemon *d, uint32_t id);
/* Does the hypervisor report zone id as running? (0/1, or -errno) */
int zone_is_running(struct daemon *d, uint32_t id);

/* virtio.c: the zone lifecycle's hooks into the data plane */
int virtio_init(struct daemon *d);
void virtio_done(struct daemon *d);
/* Before ZONE_START of cfg: checks the devices registered for the zone
 * against it and attaches the zone's channel, so the guest's first access
 * waits for its backend. On failure the error reply is sent and nothing
 * is left attached. */
int virtio_zone_starting(struct conn *c, struct daemon *d, const struct hv_zone_config *cfg);
/* After ZONE_START: starts the zone's backend on that channel (it maps
 * the zone's RAM, which the kernel module allows only once the zone
 * runs). A failure is reported as a VirtiodFailed event. */
void virtio_zone_started(struct daemon *d, uint32_t zone_id);
/* The start failed / the zone is gone: stop its backend; its devices
 * stay registered for the next start. */
void virtio_zone_stopped(struct daemon *d, uint32_t zone_id);
/* Every running backend takes log level `level`: [{zone_id, previous}]
 * of those that confirmed it. */
json_object *virtio_set_log_level(struct daemon *d, const char *level);
/* Backend facts for Zone.Info, or NULL. */
json_object *virtio_zone_info(struct daemon *d, uint32_t zone_id);

#endif
