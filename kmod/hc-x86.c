// SPDX-License-Identifier: GPL-2.0-only
/* hvisor hypercall on x86_64: vmcall, code in rax, args rdi and rsi. */
#include "internal.h"

long hvisor_hypercall(u64 code, u64 arg0, u64 arg1)
{
	long r;

	asm volatile("vmcall"
		     : "=a"(r)
		     : "a"(code), "D"(arg0), "S"(arg1)
		     : "memory");
	return r;
}
