/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The device models (one file each: blk.c, net.c, console.c) and what
 * they need from their host. A model allocates its struct virtio_dev
 * together with its own state, calls virtio_dev_init(), registers the fds
 * it needs on p->evbase, and answers through the transport (mmio.h).
 * net and console move records between one fd and two queues, and share
 * how they do it and their lifecycle (stream.h).
 *
 * Threading: everything runs on the event loop thread, except what a
 * model explicitly hands to worker threads (blk's "threads" engine); such
 * work comes back to the loop thread before anything touches a virtqueue.
 *
 * Every model must, on any guest input:
 *  - take requests with virtio_dev_pop() (a corrupt ring fails the
 *    device), complete each one it takes (virtq_complete()) with an error
 *    status where the device type has one, never leave it hanging, never
 *    crash, and end each turn with virtio_dev_used();
 *  - on reset(): drop in-flight work without touching guest memory again
 *    (requests still running in the kernel are waited for first);
 *  - on drain(): stop taking requests, finish and push the ones taken,
 *    sync (blk: fdatasync), return 0 when done;
 *  - keep its I/O counters in the struct virtio_dev (n_requests, n_errors).
 */
#ifndef VIRTIOD_DEVICES_H
#define VIRTIOD_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "mmio.h"
#include "virtio-config.h"

struct event_base;

/* virtio-blk. The image fd is owned by the device from create on (closed
 * by destroy; also on failure). */
struct blk_params {
	int fd;		    /* raw image file or block device */
	bool readonly;	    /* offer VIRTIO_BLK_F_RO, refuse writes */
	const char *serial; /* GET_ID answer, <= 20 bytes; NULL/"" = derived */
	enum hv_blk_aio aio;
};
int blk_create(const struct vdev_params *p, const struct blk_params *bp, struct virtio_dev **ret);
/* The engine DEFAULT resolves to, for display. */
enum hv_blk_aio blk_default_aio(void);

/* virtio-net. The tap fd (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, opened by
 * hvisord) is owned by the device from create on. */
struct net_params {
	int tap_fd;
	uint8_t mac[6];
};
int net_create(const struct vdev_params *p, const struct net_params *np, struct virtio_dev **ret);

/* virtio-console. The pty master fd is owned by the device from create on;
 * hvisord keeps its own copy so the console survives backend restarts. */
struct console_params {
	int pty_fd;
	uint16_t cols, rows; /* 0: 80x25 */
};
int console_create(const struct vdev_params *p, const struct console_params *cp,
		   struct virtio_dev **ret);

#endif
