// SPDX-License-Identifier: GPL-2.0-only
#include "ratelimit.h"

bool ratelimit_pass(struct ratelimit *rl, uint64_t now)
{
	if (rl->n == 0 || now - rl->begin_usec >= rl->interval_usec) {
		rl->begin_usec = now;
		rl->n = 0;
	}
	if (rl->n < rl->burst) {
		rl->n++;
		return true;
	}
	rl->suppressed++;
	return false;
}

unsigned ratelimit_take(struct ratelimit *rl)
{
	unsigned n = rl->suppressed;

	rl->suppressed = 0;
	return n;
}
