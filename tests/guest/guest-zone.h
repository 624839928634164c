/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The zone the guest tests run in: zone 1 of an hvisor-sim with CPUs 2
 * and 3, RAM at GZ_RAM and GZ_RAM2 (guest address = sim physical address,
 * so also the offset in the sim's memory fd), one virtio region at GZ_BASE
 * and IRQs GZ_IRQ and GZ_IRQ2. Its channel's owner is the fake device of
 * fakedev.c (test-guest-driver) or a real hvisor-virtiod (test-guest-cli).
 */
#ifndef HV_TEST_GUEST_ZONE_H
#define HV_TEST_GUEST_ZONE_H

#include <stdint.h>

#include "sim-harness.h"

#define GZ_RAM	     UINT64_C(0x50000000)
#define GZ_RAM_SIZE  (UINT64_C(128) << 20)
#define GZ_RAM2	     UINT64_C(0x60000000)
#define GZ_RAM2_SIZE (UINT64_C(1) << 20)
#define GZ_BASE	     UINT64_C(0xa000000)
#define GZ_LEN	     UINT64_C(0x200)
#define GZ_IRQ	     78
#define GZ_IRQ2	     79
#define GZ_ZONE	     1

/* ZONE_START of that zone on the sim (asserts). */
void guest_zone_start(struct simh *h);

#endif
