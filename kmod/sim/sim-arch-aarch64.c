// SPDX-License-Identifier: GPL-2.0-only
/*
 * aarch64: the zone_config size hvisor checks START_ZONE's size against, for
 * the config magic the sim speaks (proto/abi/zone-config.h's layouts).
 */
#include "sim.h"

const char *sim_arch_name(void)
{
	return "aarch64";
}

size_t sim_arch_config_size(unsigned int magic)
{
	if (magic == HV_CONFIG_MAGIC_0x05)
		return sizeof(struct hv_zone_config_aarch64_0x05);
	return sizeof(struct hv_zone_config_aarch64_0x06);
}

/*
 * Does the zone's interrupt bitmap decide which IRQs it may receive?
 * hvisor fills it only on aarch64 and riscv64; elsewhere it is ignored.
 */
bool sim_arch_irq_gated(void)
{
	return true;
}
