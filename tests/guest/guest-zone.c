// SPDX-License-Identifier: GPL-2.0-only
/* The zone of the guest tests (guest-zone.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "guest-zone.h"

void guest_zone_start(struct simh *h)
{
	struct hv_zone_config *cfg = simh_cfg_new(SIMH_ARCH, GZ_ZONE, 0xc, "guest", 0);

	simh_cfg_region(cfg, HV_MEM_TYPE_RAM, GZ_RAM, GZ_RAM_SIZE);
	simh_cfg_region(cfg, HV_MEM_TYPE_VIRTIO, GZ_BASE, GZ_LEN);
	simh_cfg_region(cfg, HV_MEM_TYPE_RAM, GZ_RAM2, GZ_RAM2_SIZE);
	simh_cfg_irq(cfg, GZ_IRQ);
	simh_cfg_irq(cfg, GZ_IRQ2);
	assert_int_equal(simh_zone_start(h->ctl, cfg, 6), 0);
	free(cfg);
}
