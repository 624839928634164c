// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvisor hypercall on loongarch64: "hvcl 0", emitted as its raw encoding
 * because assemblers of the day lack the mnemonic; code in a0, args a1
 * and a2, result in a0.
 */
#include <linux/stringify.h>

#include "internal.h"

long hvisor_hypercall(u64 code, u64 arg0, u64 arg1)
{
	register u64 a0 asm("$a0") = code;
	register u64 a1 asm("$a1") = arg0;
	register u64 a2 asm("$a2") = arg1;

	asm volatile(".word " __stringify(HVISOR_HVCL_WORD_LOONGARCH64)
		     : "+r"(a0)
		     : "r"(a1), "r"(a2)
		     : "memory");
	return (long)a0;
}
