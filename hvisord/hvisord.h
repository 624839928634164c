/* SPDX-License-Identifier: GPL-2.0-only */
/* hvisord: the daemon's shared state and the interfaces between its files.
 *   main.c     options, start-up, signals, sd_notify
 *   control.c  the varlink socket: connections, credentials, framing, limits
 *   manager.c  org.varlink.service, org.hvisor (limits), org.hvisor.Manager, the event stream
 *   zone.c     org.hvisor.Zone and the zone table
 *   load.c     copying images into zone memory in bounded chunks
 *   rundir.c   the runtime directory: checked, entries made with *at()
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
#include "ratelimit.h"
#include "varlink.h"

#define HVISORD_API_MAJOR 1
#define HVISORD_API_MINOR 3

struct hv;
struct conn;
struct zone;
struct zvirt;

/* What one client, or all unprivileged ones together, may hold. Root has
 * no per-user cap; group "hvisor" has, but may use the reserved part. */
struct limits {
	unsigned max_connections;
	unsigned max_connections_per_user; /* uids other than 0 */
	unsigned reserved_connections;	   /* only for root and group "hvisor" */
	unsigned max_subscribers;
	unsigned max_subscribers_per_user;
	unsigned reserved_subscribers;
	unsigned max_pending_devices; /* virtio devices of zones not running, all zones */
	unsigned message_timeout_sec; /* a message begun must end within this */
	unsigned idle_timeout_sec;    /* a connection holding nothing is closed */
	size_t max_reply_queue;	      /* bytes of replies queued: stop reading the client's calls */
	size_t max_subscriber_queue;  /* bytes queued towards one subscriber */
};

struct daemon {
	struct event_base *base;
	struct hv *hv;
	char *runtime_dir;
	int runtime_fd; /* the runtime directory, checked (rundir.c) */
	char *socket_path;
	bool socket_created; /* we bound it, so we unlink it */
	int listen_fd;
	struct event *ev_listen;
	struct event *ev_accept_resume;
	struct event *ev_signals[3];
	struct limits limits;

	TAILQ_HEAD(, conn) conns;
	unsigned n_conns, n_conns_unprivileged;
	unsigned n_subscribers, n_subscribers_unprivileged;
	/* lines about refused and broken connections; a summary of the rest */
	struct ratelimit conn_log_rl;
	struct event *ev_conn_log;
	uint64_t next_conn_id;

	TAILQ_HEAD(, zone) zones;
	struct event *ev_zones;
	int fdstore_fd;	   /* the descriptor keeper, or -1 */
	bool state_frozen; /* restoring: the state file is not rewritten yet */
	bool stop_zones;   /* --stop-zones: shut every zone down on exit */
	bool stopping;	   /* a signal said exit */
	unsigned adopting; /* backends being found again: READY=1 waits */
	bool started, ready;

	/* data plane: devices per zone and their hvisor-virtiod */
	TAILQ_HEAD(, zvirt) zvirts;
	char *virtiod_path;
	char *virtiod_user;
	struct event *ev_sigchld;
};

/* A method handler. Returns 0 once it replied (conn_reply) or went async
 * (conn_async_begin), or a negative errno after it recorded the error
 * (conn_fail*): the dispatcher sends it, the only place an error is sent
 * from (without a recorded error: org.hvisor.Internal). Helpers record and
 * return, never send. fds[] are the descriptors that came with the call; a
 * handler that keeps one sets its slot to -1. */
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

/* main.c: READY=1, once started and nothing is being adopted anymore */
void daemon_ready(struct daemon *d);

/* control.c */
int control_init(struct daemon *d);
void control_done(struct daemon *d);
struct daemon *conn_daemon(struct conn *c);
/* The reply. Takes ownership of its json argument. */
int conn_reply(struct conn *c, json_object *parameters);
int conn_reply_more(struct conn *c, json_object *parameters); /* "continues": true */
/* Record the error of the current call (the first recorded wins); they
 * return a negative errno for the handler to return. Take ownership. */
int conn_fail(struct conn *c, json_object *error_message);
int conn_failf(struct conn *c, const char *error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* org.hvisor.InvalidParameter for err (path prefixed by `prefix`). */
int conn_fail_invalid(struct conn *c, const char *prefix, const struct hv_error *err);
/* The parameter zone_id (v, an int): 0 (root only with root_ok) up to
 * 2^32 - 1, into *ret; else InvalidParameter recorded. */
int conn_zone_id(struct conn *c, json_object *v, bool root_ok, uint32_t *ret);
/* The error recorded so far (taken: none is recorded now), or NULL; for a
 * handler that reports it inside another. */
json_object *conn_failure_take(struct conn *c);
/* org.hvisor.KernelError: `operation` (e.g. "ZONE_LIST") failed with r
 * (-errno); org.hvisor.BackendUnavailable if r is HV_LOST. */
int conn_fail_kernel(struct conn *c, const char *operation, int r);

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
/* An asynchronous call ends: its reply was sent (r >= 0), or its recorded
 * error is sent now (r < 0); then conn_async_end(). */
void conn_async_done(struct conn *c, int r);
/* Makes c a subscriber: NULL, or the LimitExceeded error to send (a cap
 * of all, of unprivileged callers or of the caller's uid). */
json_object *conn_subscribe(struct conn *c);
bool conn_is_privileged(const struct conn *c);
uid_t conn_uid(const struct conn *c);
/* Sends one event to every subscriber (takes ownership). */
void control_broadcast(struct daemon *d, json_object *event);

/* manager.c */
/* The backend was lost or is back: logged by hv.c, told to subscribers. */
void manager_backend_changed(struct hv *hv, void *userdata);
/* An event to every subscriber, about zone_id (EVENT_NO_ZONE: none; its
 * name is added if hvisord knows the zone, or comes in extra), with message
 * (may be NULL) and extra fields (taken, may be NULL), e.g. a device's
 * addr. */
#define EVENT_NO_ZONE UINT32_MAX
void daemon_event(struct daemon *d, const char *name, uint32_t zone_id, const char *message,
		  json_object *extra);

/* rundir.c */
/* Creates the runtime directory if missing, opens it and refuses it (or a
 * zone<N>/ in it) unless it is owned by hvisord's uid, not writable by
 * others, and writable by its group only if that is gid 0. Logs why. */
int rundir_open(struct daemon *d);
void rundir_close(struct daemon *d);
/* zone<N>/ (made first if create), checked the same way: its descriptor,
 * or -errno with errbuf naming the path and what is wrong with it. */
int rundir_zone_open(struct daemon *d, uint32_t zone_id, bool create, char *errbuf, size_t errsize);
/* Removes zone<N>/ if it is empty. */
void rundir_zone_remove(struct daemon *d, uint32_t zone_id);

/* state.c: RUNDIR/state.json, what a restarted hvisord needs */
void state_save(struct daemon *d);
json_object *state_load(struct daemon *d);
void state_remove(struct daemon *d);
/* virtio-state.c */
json_object *virtio_state_json(struct daemon *d);
/* The devices and backends of the state file, with the descriptors the
 * keeper kept; backends that serve on are re-adopted. */
void virtio_state_restore(struct daemon *d, json_object *virtio);
/* The keeper was replaced: hand it everything again. */
void virtio_fdstore_refill(struct daemon *d);
/* fdstore.c: named descriptors, as the keeper holds them */
struct named_fds {
	struct named_fd {
		char name[64]; /* HV_FDSTORE_NAME_MAX */
		int fd;
	} * e;
	size_t n, cap;
};
/* Keeps fd (taken) as name, closing an older one of that name; -ENOSPC
 * (fd closed) beyond HV_FDSTORE_MAX. */
int named_fds_put(struct named_fds *s, const char *name, int fd);
/* name's descriptor, out of s (the caller's now), or -1. */
int named_fds_take(struct named_fds *s, const char *name);
/* Closes every descriptor left. */
void named_fds_clear(struct named_fds *s);
/* fdstore.c: the descriptor keeper (proto/fdstore.h) */
int fdstore_connect(struct daemon *d, bool spawn);
void fdstore_put(struct daemon *d, const char *name, int fd);
void fdstore_drop(struct daemon *d, const char *name);
/* cb(arg, name, fd) for each kept descriptor (cb takes fd): how many, or
 * -errno. No keeper: 0. */
int fdstore_list(struct daemon *d, void (*cb)(void *arg, const char *name, int fd), void *arg);
void fdstore_exit(struct daemon *d);
void fdstore_close(struct daemon *d);

/* zone.c */
/* The zone table's timer: zones shut down behind hvisord's back. */
int zones_init(struct daemon *d);
json_object *zones_state_json(struct daemon *d);
/* The zones of the state file that still run become managed again. */
void zones_state_restore(struct daemon *d, json_object *zones);
/* Shuts down every zone the hypervisor runs (but zone 0); done(arg) once
 * their backends are gone too. */
void zones_stop_all(struct daemon *d, void (*done)(void *arg), void *arg);
void zones_done(struct daemon *d);
/* The name of a zone hvisord knows, or NULL. */
const char *zone_name_of(struct daemon *d, uint32_t id);
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
 * runs). A failure is reported as a VirtiodFailed event. true: done(arg)
 * follows once it serves (or failed). */
bool virtio_zone_started(struct daemon *d, uint32_t zone_id, void (*done)(void *arg), void *arg);
/* The start failed / the zone is gone: stop its backend; its devices
 * stay registered for the next start. true: done(arg) follows once the
 * backend is gone. */
bool virtio_zone_stopped(struct daemon *d, uint32_t zone_id, void (*done)(void *arg), void *arg);
/* Every running backend takes log level `level`; done gets [{zone_id,
 * previous}] of those that confirmed it (taken). */
void virtio_set_log_level(struct daemon *d, const char *level,
			  void (*done)(json_object *result, void *arg), void *arg);
/* Backend facts for Zone.Info, or NULL. */
json_object *virtio_zone_info(struct daemon *d, uint32_t zone_id);

#endif
