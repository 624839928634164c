// SPDX-License-Identifier: GPL-2.0-only
/* Built instead of blk-io-uring.c without liburing: there is no io_uring
 * engine (asked for, the threads engine runs). */
#include "blk-io-engine.h"

const struct blk_io_engine *const blk_io_uring_engine = NULL;
