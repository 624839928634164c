// SPDX-License-Identifier: GPL-2.0-only
/*
 * Test build only (make HVISOR_SIM=y): hypercalls go to hvisor_sim.ko,
 * the in-kernel stand-in for hvisor that the VM tests load first. The
 * production module has no such hook: this file replaces hc-<arch>.c.
 */
#include <linux/module.h>

#include "internal.h"
#include "sim/hvisor-sim.h"

long hvisor_hypercall(u64 code, u64 arg0, u64 arg1)
{
	return hvisor_sim_hypercall(code, arg0, arg1);
}

MODULE_INFO(hvisor_build, "test: hypercalls answered by hvisor_sim");
