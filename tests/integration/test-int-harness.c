// SPDX-License-Identifier: GPL-2.0-only
/* The test harness itself: a skipped test of any cmocka test program reads
 * as a skip to meson and to scripts/test-summary.py ("ok N # SKIP"), never
 * as a failure (tests/common/tap.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "util.h"

static void passes(void **state)
{
	(void)state;
}

static void skips(void **state)
{
	(void)state;
	skip_because("the reason");
}

/* A cmocka run with a passing and a skipped test, its stdout in a pipe:
 * nothing to set up, tests/common/tap.c did it before main(). */
static char *child_output(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(passes),
		cmocka_unit_test(skips),
	};
	char buf[4096];
	int p[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		cmocka_set_message_output(CM_OUTPUT_TAP);
		_exit(cmocka_run_group_tests_name("probe", tests, NULL, NULL) == 0 ? 0 : 1);
	}
	close(p[1]);
	n = read_full(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return strdup(buf);
}

static void test_skip_reads_as_skip(void **state)
{
	char *out = child_output();

	if (!strstr(out, "ok 1 - passes\n") || !strstr(out, "# the reason\nok 2 # SKIP") ||
	    strstr(out, "not ok"))
		fail_msg("cmocka's TAP output with a skipped test:\n%s", out);
	free(out);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skip_reads_as_skip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
