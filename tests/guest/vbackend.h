/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The real device models for hvsim-guest: a hvisor-virtiod process that
 * owns the channel of the guest tests' zone (guest-zone.h) of a fresh
 * hvisor-sim, set up over its control socket the way hvisord does it
 * (org.hvisor.Virtiod Setup, then AddDevice with each backing fd). The
 * test keeps the other end of each device's fd: the image file, a
 * socketpair for a console, a SOCK_SEQPACKET socketpair or a tap for net.
 */
#ifndef HV_TEST_VBACKEND_H
#define HV_TEST_VBACKEND_H

#include <stdint.h>
#include <sys/types.h>

#include "sim-harness.h"
#include "virtio-config.h"

struct vbackend {
	struct simh sim;
	pid_t pid;
	int ctl; /* our end of its control socket */
	unsigned n_devs;
};

/* The hvisor-virtiod binary: $HVISOR_VIRTIOD or argv[3]; NULL if neither. */
const char *vbackend_init(int argc, char **argv);
/* Sim, zone, ZONE_ATTACH, hvisor-virtiod, Setup (asserts). */
void vbackend_start(struct vbackend *b);
/* AddDevice (asserts it is added); fd is the backing, closed here. The
 * device's addr, len and irq default to the zone's virtio region and
 * first IRQ. */
void vbackend_add(struct vbackend *b, struct hv_virtio_device *dev, int fd);
/* SIGTERM: hvisor-virtiod must exit 0; then the sim. */
void vbackend_stop(struct vbackend *b);

#endif
