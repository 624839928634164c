/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one hook between the test build of hvisor.ko and hvisor_sim.ko.
 *
 * The test build of hvisor.ko (kmod/hc-sim.c) calls this instead of
 * issuing hvc/vmcall. The codes and arguments are the hypervisor's
 * (proto/abi/hvisor-abi.h); the return value is what hvisor would put in
 * the result register: >= 0 on success, -errno on failure, 0 for codes
 * hvisor does not know.
 *
 * Every code except HVISOR_HC_FINISH_REQ may sleep: call them from
 * process context without a spinlock held. FINISH_REQ never sleeps.
 */
#ifndef HVISOR_SIM_H
#define HVISOR_SIM_H

#include <linux/types.h>

long hvisor_sim_hypercall(u64 code, u64 arg0, u64 arg1);

#endif
