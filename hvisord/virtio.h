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

#define ZVIRT_MAX_RAM 64

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
};

enum backend_state {
	BACKEND_NONE, /* no process (zone not running, or no devices) */
	BACKEND_RUNNING,
	BACKEND_RESTART,  /* died; restart scheduled */
	BACKEND_FAILED,	  /* died too often; given up */
	BACKEND_STOPPING, /* we asked it to exit */
};

struct zvirt {
	TAILQ_ENTRY(zvirt) entry;
	struct daemon *d;
	uint32_t zone_id;
	TAILQ_HEAD(, vdevice) devices;
	unsigned n_devices;

	/* the guest's RAM as hvisor-virtiod maps it */
	unsigned n_ram;
	struct {
		uint64_t gpa, size, offset;
	} ram[ZVIRT_MAX_RAM];
	bool ram_known;

	/* the backend */
	enum backend_state state;
	pid_t pid;
	int ctl_fd; /* control socketpair (SOCK_SEQPACKET) */
	/* attached before ZONE_START, handed to the backend after it */
	int early_chan, early_mem;
	int state_fd; /* transport state, kept across restarts of one zone run */
	struct event *ev_restart;
	unsigned restarts, quick_failures;
	uint64_t started_usec;
	char last_exit[64];
};

/* backend.c */
/* Attach the zone's channel before its ZONE_START, so the guest's first
 * access waits for the backend instead of being answered as "no device".
 * The kernel module knows a zone's RAM only once it started, so the
 * backend, which maps that RAM, starts after ZONE_START. */
int backend_attach_early(struct zvirt *zv, char *errbuf, size_t errsize);
/* Attach the zone's channel (unless attached early), start
 * hvisor-virtiod, Setup and add every device. errbuf gets the reason on
 * failure (nothing left running, the channel released). */
int backend_start(struct zvirt *zv, char *errbuf, size_t errsize);
/* SIGTERM, wait up to 2.5 s (then SIGKILL). The state memfd is kept
 * unless forget_state (the zone run is over). */
void backend_stop(struct zvirt *zv, bool forget_state);
/* Control calls on a running backend (blocking, bounded by a timeout). */
int backend_add_device(struct zvirt *zv, struct vdevice *dev, json_object **ret_info, char *errbuf,
		       size_t errsize);
int backend_remove_device(struct zvirt *zv, uint64_t addr);
int backend_list(struct zvirt *zv, json_object **ret_devices);
/* The backend's level before, into ret_previous. */
int backend_set_log_level(struct zvirt *zv, const char *level, char *ret_previous, size_t size);
void backend_sigchld(struct daemon *d);
const char *backend_state_name(enum backend_state s);

/* backing.c: the descriptor a client passed for a device, checked before
 * the device is registered; on a problem the error is sent on c and a
 * negative errno returned. backing_image: a readable (and unless readonly,
 * writable) regular file or block device (files.img), then locked, shared
 * for a readonly or share device, else exclusive, against this hvisord's
 * other devices and other processes (org.hvisor.Virtio.ImageLocked naming
 * the holder). backing_tap: /dev/net/tun attached to spec's tap with
 * IFF_NO_PI | IFF_VNET_HDR (files.tap). */
int backing_image(struct conn *c, struct daemon *d, const struct hv_virtio_device *spec, int fd,
		  json_object *warnings);
int backing_tap(struct conn *c, const struct hv_virtio_device *spec, int fd);

#endif
