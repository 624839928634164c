/* SPDX-License-Identifier: GPL-2.0-only */
/* The group whose members may do what root may with hvisord (start and stop
 * zones, add devices) and attach to zone consoles (docs/protocol.md,
 * "Permissions"). */
#ifndef HV_HVISOR_GROUP_H
#define HV_HVISOR_GROUP_H

#define HVISOR_GROUP "hvisor"

#endif
