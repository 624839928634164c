/* SPDX-License-Identifier: GPL-2.0-only */
/* Files of the source tree for tests (example configs, docs). */
#ifndef HV_TEST_SOURCE_H
#define HV_TEST_SOURCE_H

#include <stddef.h>

/* The text of $HV_SOURCE_DIR/rel, NUL-terminated (the caller frees it),
 * its length in *ret_len; the running test fails if it cannot be read. */
char *test_source_file(const char *rel, size_t *ret_len);

#endif
