/* SPDX-License-Identifier: GPL-2.0-only */
/* Rate limiting of log lines a peer can provoke at will: at most `burst`
 * lines per `interval_usec`; the rest are counted, so that the caller can
 * write one summary line for them. */
#ifndef HV_RATELIMIT_H
#define HV_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	uint64_t interval_usec;
	unsigned burst;
	uint64_t begin_usec; /* start of the current interval */
	unsigned n;	     /* lines passed in it */
	unsigned suppressed; /* lines held back since the last ratelimit_take() */
};

#define RATELIMIT_INIT(interval, b)                       \
	{                                                 \
		.interval_usec = (interval), .burst = (b) \
	}

/* May a line be written at time now (CLOCK_MONOTONIC µs)? If not, it is
 * counted as suppressed. */
bool ratelimit_pass(struct ratelimit *rl, uint64_t now);
/* The number of lines held back since the last call, reset to 0. */
unsigned ratelimit_take(struct ratelimit *rl);
/* When the current interval ends (µs, CLOCK_MONOTONIC). */
static inline uint64_t ratelimit_end(const struct ratelimit *rl)
{
	return rl->begin_usec + rl->interval_usec;
}

#endif
