/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel API differences between the kernels boards run, detected by
 * Kbuild from the headers rather than guessed from version numbers.
 */
#ifndef HVISOR_COMPAT_H
#define HVISOR_COMPAT_H

#include <linux/eventfd.h>

/* Linux 6.8 dropped the count argument */
static inline void hvisor_eventfd_signal(struct eventfd_ctx *ctx)
{
#ifdef HVISOR_EVENTFD_SIGNAL_1ARG
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

#endif
