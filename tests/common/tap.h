/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Skips that read as skips, for every cmocka test of the tree (tap.c is
 * linked whole into each through the cmocka_tap dependency; nothing to
 * call). cmocka 1.1.5 (Debian 12) reports a skipped test as
 * "not ok N # SKIP", which meson and every TAP consumer count as a
 * failure; from before main() on, stdout writes those lines as
 * "ok N # SKIP", which meson and scripts/test-summary.py count as skips.
 *
 * A test that cannot run here calls skip_because("why"), never returns
 * early as if it had passed.
 */
#ifndef HV_TEST_TAP_H
#define HV_TEST_TAP_H

/* Makes stdout rewrite cmocka's skip lines (done before main(); again
 * after stdout's descriptor changed is harmless). */
void tap_fix_skips(void);
/* "# <text>" on stdout: the reason ahead of cmocka's "ok N # SKIP". */
void tap_comment(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Skips the running test (cmocka's skip()), saying why first. */
#define skip_because(...)                 \
	do {                              \
		tap_comment(__VA_ARGS__); \
		skip();                   \
	} while (0)

#endif
