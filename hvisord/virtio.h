/* SPDX-License-Identifier: GPL-2.0-only */
/* hvisord's data plane bookkeeping, shared by virtio.c (org.hvisor.Virtio,
 * devices and their backing resources) and backend.c (one hvisor-virtiod
 * per zone: spawn, feed, supervise, restart). */
#ifndef HVISORD_VIRTIO_H
#define HVISORD_VIRTIO_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hvisord.h"
#include "virtio-config.h"
#include "virtiod-protocol.h"

/* A device registered with hvisord. Its backing resource stays open here,
 * so a restarted backend gets the same image, tap or console. */
struct vdevice {
	TAILQ_ENTRY(vdevice) entry;
	struct hv_virtio_device spec;
	unsigned slot;		/* in the zone's state memfd */
	int fd;			/* image, tap, or pty master */
	int pty_slave;		/* console: held so the pty never hangs up */
	char pty[64];		/* console: /dev/pts/N */
	char link[PATH_MAX];	/* console: the symlink we published, or "" */
	char backing[PATH_MAX]; /* for display */
	/* a backend has served it in this zone run: the next one restores the
	 * guest's setup from its slot instead of starting it fresh */
	bool served;
	bool adding; /* Virtio.Add waits for the backend to take it */
};

enum backend_state {
	BACKEND_NONE,	  /* no process (zone not running, or no devices) */
	BACKEND_STARTING, /* spawned or found again, being set up / checked */
	BACKEND_RUNNING,
	BACKEND_RESTART,  /* died; restart scheduled */
	BACKEND_FAILED,	  /* died too often; given up */
	BACKEND_STOPPING, /* we asked it to exit */
};

struct zvirt;
/* The end of a call to a backend, of a start or of a stop: reply is the
 * reply's parameters (borrowed, NULL for start/stop) or error says what
 * went wrong. Always called from the event loop, never from inside the
 * function that was given it. */
typedef void (*backend_done_fn)(struct zvirt *zv, json_object *reply, const char *error, void *arg);
struct bcall;

struct zvirt {
	TAILQ_ENTRY(zvirt) entry;
	struct daemon *d;
	uint32_t zone_id;
	TAILQ_HEAD(, vdevice) devices;
	unsigned n_devices;

	/* the guest's RAM as hvisor-virtiod maps it */
	unsigned n_ram;
	struct hv_virtiod_ram ram[HV_VIRTIOD_MAX_RAM];
	bool ram_known;

	/* the backend */
	enum backend_state state;
	pid_t pid;
	int pidfd; /* watched: its exit, whether our child or found again */
	struct event *ev_pidfd;
	/* attached before ZONE_START, handed to the backend after it */
	int early_chan, early_mem;
	int state_fd; /* transport state, kept across restarts of one zone run */
	struct event *ev_restart, *ev_stop_timeout;
	unsigned restarts, quick_failures;
	uint64_t started_usec;
	char last_exit[64];
	bool adopted;	       /* found again after a restart of hvisord */
	uintptr_t incarnation; /* counts the processes watched (backend.c) */
	bool forget_on_stop;   /* the zone run is over: the state memfd goes too */
	bool replace;	       /* stopping it to start one of ours instead */
	bool killed;	       /* a stop came to SIGKILL */
	char *settle_error;    /* what the waiters hear when it is gone */

	/* calls (backend-call.c): one in flight, each with its own deadline */
	int ctl_fd;
	struct event *ev_ctl, *ev_call_timeout, *ev_done, *ev_probe;
	TAILQ_HEAD(, bcall) calls, done, waiters;
	bool in_flight;
	bool answering; /* false from a missed deadline until it answers again */
	unsigned callbacks_running;
};

/* backend.c */
/* Attach the zone's channel before its ZONE_START, so the guest's first
 * access waits for the backend instead of being answered as "no device".
 * The kernel module knows a zone's RAM only once it started, so the
 * backend, which maps that RAM, starts after ZONE_START. */
int backend_attach_early(struct zvirt *zv, char *errbuf, size_t errsize);
/* Start hvisor-virtiod: attach the zone's channel (unless attached early),
 * spawn it, Setup, add every device, Serve. done (may be NULL) hears when
 * it serves or why not; on failure nothing is left running and the state
 * is BACKEND_NONE (the caller decides whether that is a failure to report). */
void backend_start(struct zvirt *zv, backend_done_fn done, void *arg);
/* SIGTERM (it drains what is in flight), SIGKILL after STOP_WAIT_MSEC;
 * done when it is gone. The state memfd is kept unless forget_state (the
 * zone run is over). */
void backend_stop(struct zvirt *zv, bool forget_state, backend_done_fn done, void *arg);
/* The backend a previous hvisord left serving zone zv (pid recorded then):
 * reached through RUNDIR/zone<N>/control.sock, checked (who answers, which
 * protocol version), its devices reconciled with zv's. A backend that is
 * gone or cannot be re-adopted is (re)started instead. */
void backend_adopt(struct zvirt *zv, pid_t pid, backend_done_fn done, void *arg);
/* The events of a new zv; backend_release() frees them. */
int backend_init(struct zvirt *zv);
/* Give up our bookkeeping (hvisord exits) without stopping the process. */
void backend_release(struct zvirt *zv);
const char *backend_state_name(enum backend_state s);
/* Does it answer calls? No while a call missed its deadline or it is
 * stopped (SIGSTOP) - then why says so. */
bool backend_answering(const struct zvirt *zv, char *why, size_t size);
/* Is the process stopped (SIGSTOP, a debugger)? */
bool backend_process_stopped(const struct zvirt *zv);
/* A new control connection to a running backend, through its socket. */
int backend_reconnect(struct zvirt *zv);

/* backend-call.c: calls on a backend that is set up (or being set up). */
void backend_call(struct zvirt *zv, const char *method, json_object *params, const int *fds,
		  size_t n_fds, backend_done_fn done, void *arg);
void backend_add_device(struct zvirt *zv, struct vdevice *dev, backend_done_fn done, void *arg);
/* Queue a waiter, run with error (or NULL) by backend_settle(). */
void backend_wait(struct zvirt *zv, backend_done_fn done, void *arg);
/* done(error) from the event loop, now. done may be NULL. */
void backend_complete(struct zvirt *zv, backend_done_fn done, void *arg, const char *error);
void backend_settle(struct zvirt *zv, const char *error);
/* Every call not answered yet ends with error. */
void backend_calls_fail(struct zvirt *zv, const char *error);
/* The queues and events of a new zv. */
int backend_calls_init(struct zvirt *zv);
/* The control connection: a connected socket (taken), its events. */
int backend_calls_open(struct zvirt *zv, int fd);
void backend_calls_close(struct zvirt *zv);
void backend_calls_free(struct zvirt *zv);
/* Calls, completions or waiters still to come: zv must not go. */
bool backend_calls_busy(const struct zvirt *zv);

/* virtio.c */
struct zvirt *zvirt_find(struct daemon *d, uint32_t zone_id);
/* zone_id's, made if it has none yet (NULL: out of memory). */
struct zvirt *zvirt_get(struct daemon *d, uint32_t zone_id);
/* zv may go if it holds nothing (no devices, no backend, no calls). */
void zvirt_release(struct zvirt *zv);
/* The RAM map of a zone hvisord started, from its config. */
void virtio_ram_from_config(struct zvirt *zv, const struct hv_zone_config *cfg);
/* -EEXIST and err if dev overlaps a device of zv. */
int virtio_check_overlap(const struct zvirt *zv, const struct hv_virtio_device *dev,
			 struct hv_error *err);
/* for_good: the device is removed (its console link and what the keeper
 * holds for it go too), not only forgotten by an exiting hvisord. */
void vdevice_free(struct daemon *d, struct vdevice *dev, bool for_good);

/* virtio-state.c */
/* dev's descriptors to the keeper (keep) or away from it. */
void virtio_keep_device(struct daemon *d, const struct vdevice *dev, bool keep);
/* The state file after a change of zv's backend. */
void virtio_save(struct daemon *d);
/* zv's state memfd is new: the descriptor keeper keeps it too. */
void virtio_keep_state(struct zvirt *zv);
/* The zone run is over: its state memfd goes (here and in the keeper). */
void virtio_forget_state(struct zvirt *zv);

/* backing.c: what backs a device, checked before it is registered; on a
 * problem the error is recorded on c (conn_fail) and a negative errno
 * returned. backing_image: a readable (and unless readonly, writable)
 * regular file or block device (files.img), then locked, shared for a
 * readonly or share device, else exclusive, against this hvisord's other
 * devices and other processes (org.hvisor.Virtio.ImageLocked naming the
 * holder). backing_tap: /dev/net/tun attached to spec's tap with
 * IFF_NO_PI | IFF_VNET_HDR (files.tap). */
int backing_image(struct conn *c, struct daemon *d, const struct hv_virtio_device *spec, int fd,
		  json_object *warnings);
int backing_tap(struct conn *c, const struct hv_virtio_device *spec, int fd);
/* A removed blk device's image lock goes now, on its open file description
 * (fd), not when the last descriptor of it is closed: the keeper and the
 * backend close theirs a moment later, and a client adding the image again
 * right after the removal must find it free. */
void backing_unlock(const struct vdevice *dev, int fd);
/* Why a tap descriptor does not fit spec (into buf), or NULL. */
const char *backing_tap_problem(const struct hv_virtio_device *spec, int fd, char *buf,
				size_t size);
/* dev's backing: the descriptor passed for files.img / files.tap, checked,
 * or a new pty for a console; into dev->fd (and dev->pty_slave). */
int backing_take(struct conn *c, struct vdevice *dev, json_object *files, const int *fds,
		 size_t n_fds, json_object *warnings);
/* A console's pty as RUNDIR/zone<N>/console[-<addr>], and away again (with
 * zone<N>/ if it is empty then). */
void backing_publish_console(struct daemon *d, struct zvirt *zv, struct vdevice *dev);
void backing_unpublish_console(struct daemon *d, struct vdevice *dev);

#endif
