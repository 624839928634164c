// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvisor hypercall on riscv64: an SBI call to hvisor's extension
 * (a7 = 0x114514), code in a0, args a1 and a2. The result is the SBI value
 * in a1 (a negative errno on failure), as upstream reads it.
 */
#include "internal.h"

long hvisor_hypercall(u64 code, u64 arg0, u64 arg1)
{
	register u64 a0 asm("a0") = code;
	register u64 a1 asm("a1") = arg0;
	register u64 a2 asm("a2") = arg1;
	register u64 a7 asm("a7") = HVISOR_SBI_EID_RISCV64;

	asm volatile("ecall"
		     : "+r"(a0), "+r"(a1)
		     : "r"(a2), "r"(a7)
		     : "memory");
	return (long)a1;
}
