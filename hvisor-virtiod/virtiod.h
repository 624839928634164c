/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hvisor-virtiod: the virtio backends of one zone, in one process that
 * hvisord starts, feeds and supervises. It never opens /dev/hvisor: hvisord
 * hands it, over the control socket (fd --control-fd), the zone channel,
 * the memory fd, the state memfd and each device's backing fd.
 *   main.c     options, the loop, privilege drop, SIGTERM: drain and exit
 *   control.c  the private protocol with hvisord (org.hvisor.Virtiod)
 *   channel.c  trapped register accesses in, completions and IRQs out
 *   mem.c virtqueue.c mmio.c  guest memory, rings, the transport
 *   blk.c blk-io*.c           virtio-blk and its I/O engines
 *   stream.c net.c console.c  virtio-net and virtio-console
 *
 * org.hvisor.Virtiod (proto/virtiod-protocol.h; varlink framing over the
 * control socket):
 *   Setup(zone_id, ram: [{gpa, size, offset}], user: ?string, serve: ?bool)
 *       fds: [channel, memory, state]    -> ()
 *       serve false: the channel is read only after Serve()
 *   Serve() -> ()
 *   AddDevice(slot: int, device: <proto/virtio-config wire form>, restore: ?bool)
 *       fds: [backing] (image, tap or pty master; none for nothing) -> (info: object)
 *   RemoveDevice(addr: int) -> ()
 *   List() -> (devices: []object)
 * The state memfd holds VIRTIOD_STATE_SLOTS struct virtio_mmio_state;
 * a device's slot survives a restart of this process, so the guest's setup
 * is restored instead of lost.
 */
#ifndef VIRTIOD_H
#define VIRTIOD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>

#include "mem.h"
#include "mmio.h"
#include "uapi/hvisor.h"
#include "virtio-config.h"

#define VIRTIOD_STATE_SLOTS HV_VIRTIO_MAX_DEVICES
#define VIRTIOD_STATE_SIZE  (VIRTIOD_STATE_SLOTS * sizeof(struct virtio_mmio_state))
_Static_assert(VIRTIOD_STATE_SIZE <= HV_VIRTIOD_STATE_BYTES, "state memfd too small");
#define VIRTIOD_MAX_BATCH	64   /* ioreqs read, iocomps written per call */
#define VIRTIOD_OUT_MAX		4096 /* iocomp records queued when the channel is full */
#define VIRTIOD_DRAIN_MSEC	1800 /* SIGTERM: give up draining after this */
#define VIRTIOD_DRAIN_POLL_USEC 5000 /* and look again this often meanwhile */

struct vdev {
	struct virtio_dev *dev;
	enum hv_virtio_type type;
	unsigned slot;
};

struct virtiod {
	struct event_base *base;
	uint32_t zone_id;
	bool setup_done;
	char *user; /* drop to this user after Setup (if root) */

	/* control socket to hvisord, and where a restarted hvisord reaches us */
	int control_fd;
	struct event *ev_control;
	int listen_fd;
	struct event *ev_listen;
	uid_t controller_uid;

	/* the zone channel */
	int channel_fd;
	struct event *ev_channel, *ev_channel_out, *ev_flush;
	bool channel_is_socket;	   /* hvisor-sim's SOCK_SEQPACKET, not hvisor.ko's fd */
	struct hvisor_iocomp *out; /* completions and IRQs not yet written */
	unsigned n_out;
	uint64_t n_ioreqs;
	struct ratelimit channel_log; /* what the guest's accesses make us log */

	struct gmem mem;
	int mem_fd;
	struct virtio_mmio_state *state; /* VIRTIOD_STATE_SLOTS, shared with hvisord */
	int state_fd;

	struct vdev devs[HV_VIRTIO_MAX_DEVICES];
	unsigned n_devs; /* sorted by base address */

	bool draining;
	uint64_t drain_deadline_usec;
	struct event *ev_drain;
	struct event *ev_signals[2];
	int exit_code;
};

/* channel.c */
/* serve: start reading it now, else at channel_serve() */
int channel_start(struct virtiod *v, int fd, bool serve);
void channel_serve(struct virtiod *v);
void channel_stop(struct virtiod *v);
/* The interrupt callback given to every device (virtio_irq_fn). */
void channel_raise_irq(void *ctx, uint32_t irq);
/* Writes what is queued (called after every batch and at exit). */
void channel_flush(struct virtiod *v);

/* control.c */
/* fd: the controller's connection (replaces the current one). */
int control_start(struct virtiod *v, int fd);
void control_stop(struct virtiod *v);
/* lfd: a bound socket to listen on for the next controllers. */
int control_listen(struct virtiod *v, int lfd);
void control_unlisten(struct virtiod *v);

/* main.c: the device table */
struct vdev *virtiod_find(struct virtiod *v, uint64_t addr);
/* restore: continue the guest's setup saved in the slot (a restart of
 * this process); else the device starts fresh, whatever the slot holds. */
int virtiod_add(struct virtiod *v, unsigned slot, const struct hv_virtio_device *spec, int fd,
		bool restore, struct vdev **ret);
int virtiod_remove(struct virtiod *v, uint64_t addr);
void virtiod_begin_drain(struct virtiod *v, const char *why);
/* setgroups/setgid/setuid to `user` if root (and it is not "root"), then
 * PR_SET_NO_NEW_PRIVS. -ESRCH: no such user. */
int virtiod_drop_privileges(const char *user);

#endif
