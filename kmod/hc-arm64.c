// SPDX-License-Identifier: GPL-2.0-only
/* hvisor hypercall on arm64: hvc #0x4856, code in x0, args x1 and x2. */
#include <linux/stringify.h>

#include "internal.h"

long hvisor_hypercall(u64 code, u64 arg0, u64 arg1)
{
	register u64 x0 asm("x0") = code;
	register u64 x1 asm("x1") = arg0;
	register u64 x2 asm("x2") = arg1;

	asm volatile("hvc #" __stringify(HVISOR_HVC_IMM_AARCH64)
		     : "+r"(x0)
		     : "r"(x1), "r"(x2)
		     : "memory");
	return (long)x0;
}
