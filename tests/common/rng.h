/* SPDX-License-Identifier: GPL-2.0-only */
/* Deterministic "random" test inputs: xorshift64, the same sequence on
 * every run from the same seed (never 0). */
#ifndef HV_TEST_RNG_H
#define HV_TEST_RNG_H

#include <stdint.h>

#define TEST_RNG_SEED 0x9e3779b97f4a7c15ull

static inline uint64_t test_rng(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

#endif
