// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "config.h"

static const char *const arch_names[_HV_ARCH_MAX] = {
	[HV_ARCH_AARCH64] = "aarch64",
	[HV_ARCH_RISCV64] = "riscv64",
	[HV_ARCH_LOONGARCH64] = "loongarch64",
	[HV_ARCH_X86_64] = "x86_64",
};

/* upstream's make ARCH= values */
static const char *const arch_aliases[_HV_ARCH_MAX] = {
	[HV_ARCH_AARCH64] = "arm64",
	[HV_ARCH_RISCV64] = "riscv",
	[HV_ARCH_LOONGARCH64] = "loongarch",
	[HV_ARCH_X86_64] = "x86",
};

const char *hv_arch_to_string(enum hv_arch arch)
{
	if ((unsigned)arch >= _HV_ARCH_MAX)
		return "unknown";
	return arch_names[arch];
}

int hv_arch_from_string(const char *s, enum hv_arch *ret)
{
	if (!s)
		return -EINVAL;
	for (unsigned i = 0; i < _HV_ARCH_MAX; i++)
		if (strcmp(s, arch_names[i]) == 0 || strcmp(s, arch_aliases[i]) == 0) {
			*ret = (enum hv_arch)i;
			return 0;
		}
	return -EINVAL;
}

enum hv_arch hv_arch_native(void)
{
#if defined(__aarch64__)
	return HV_ARCH_AARCH64;
#elif defined(__riscv)
	return HV_ARCH_RISCV64;
#elif defined(__loongarch64) || defined(__loongarch__)
	return HV_ARCH_LOONGARCH64;
#else
	return HV_ARCH_X86_64;
#endif
}

bool hv_arch_irqs_gated(enum hv_arch arch)
{
	/* hvisor's irq_bitmap_init does nothing on x86_64 and loongarch64
	 * (upstream's x86 configs leave "interrupts" empty) */
	return arch == HV_ARCH_AARCH64 || arch == HV_ARCH_RISCV64;
}
