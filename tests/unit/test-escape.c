// SPDX-License-Identifier: GPL-2.0-only
/* str_escape (lib/util.c), which every table line of hvctl and every log
 * line goes through, and the logger's use of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "util.h"

static void check(const char *in, enum str_escape_style style, const char *want)
{
	char *got = str_escape_dup(in, style);

	if (strcmp(got, want) != 0)
		fail_msg("escaped: got \"%s\", want \"%s\"", got, want);
	assert_int_equal(str_escape(in, style, NULL, 0), strlen(want));
	free(got);
}

static void test_c_style(void **state)
{
	check("", STR_ESCAPE_C, "");
	check("zone1 /etc/hvisor/zone1.json", STR_ESCAPE_C, "zone1 /etc/hvisor/zone1.json");
	check("a\nb\rc\td\\e", STR_ESCAPE_C, "a\\nb\\rc\\td\\\\e");
	check("\x1b[2J\x07\x7f\x01", STR_ESCAPE_C, "\\x1b[2J\\x07\\x7f\\x01");
	/* printable UTF-8 stays */
	check("gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x99\x82", STR_ESCAPE_C,
	      "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x99\x82");
	/* C1 controls (CSI, NEL), separators and bidi controls: their bytes */
	check("\xc2\x9b\xc2\x85", STR_ESCAPE_C, "\\xc2\\x9b\\xc2\\x85");
	check("\xe2\x80\xa8\xe2\x80\xae\xe2\x81\xa6\xd8\x9c", STR_ESCAPE_C,
	      "\\xe2\\x80\\xa8\\xe2\\x80\\xae\\xe2\\x81\\xa6\\xd8\\x9c");
	/* ill-formed: a lone continuation byte, an overlong form, a surrogate,
	 * a cut sequence, a byte beyond U+10FFFF; the next character survives */
	check("\x80x", STR_ESCAPE_C, "\\x80x");
	check("\xc0\xaf", STR_ESCAPE_C, "\\xc0\\xaf");
	check("\xed\xa0\x80", STR_ESCAPE_C, "\\xed\\xa0\\x80");
	check("\xe2\x82", STR_ESCAPE_C, "\\xe2\\x82");
	check("\xe2\x82z", STR_ESCAPE_C, "\\xe2\\x82z");
	check("\xf5\x80\x80\x80", STR_ESCAPE_C, "\\xf5\\x80\\x80\\x80");
	(void)state;
}

static void test_json_style(void **state)
{
	/* json-c's output: C0 controls are escaped already, layout stays */
	check("{\n  \"a\": \"b\\u001b\\n\"\n}", STR_ESCAPE_JSON, "{\n  \"a\": \"b\\u001b\\n\"\n}");
	check("\"\x7f\xc2\x9b\xe2\x80\xae\xc3\xbc\"", STR_ESCAPE_JSON,
	      "\"\\u007f\\u009b\\u202e\xc3\xbc\"");
	check("\"\xff\"", STR_ESCAPE_JSON, "\"\\ufffd\"");
	(void)state;
}

/* A short buffer gets whole escapes only, NUL-terminated; the return value
 * is the full length. */
static void test_truncation(void **state)
{
	char buf[8];

	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(str_escape("abcde\x1b", STR_ESCAPE_C, buf, sizeof(buf)), 9);
	assert_string_equal(buf, "abcde");
	assert_int_equal(str_escape("ab\x1b", STR_ESCAPE_C, buf, sizeof(buf)), 6);
	assert_string_equal(buf, "ab\\x1b");
	assert_int_equal(str_escape("\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc", STR_ESCAPE_C, buf, 6), 8);
	assert_string_equal(buf, "\xc3\xbc\xc3\xbc");
	assert_int_equal(str_escape("x", STR_ESCAPE_C, buf, 1), 1);
	assert_string_equal(buf, "");
	(void)state;
}

static void test_utf8_valid(void **state)
{
	uint32_t cp = 0;

	assert_true(utf8_valid("a\xc3\xbc\xe2\x82\xac\xf0\x9f\x99\x82", 10));
	assert_false(utf8_valid("\xc3", 1));
	assert_false(utf8_valid("\xed\xa0\x80", 3));
	assert_int_equal(utf8_decode("\xe2\x80\xae", 3, &cp), 3);
	assert_int_equal(cp, 0x202e);
	assert_int_equal(utf8_decode("\xe2\x80\xae", 2, &cp), 0);
	(void)state;
}

/* A message with newlines and ESC is one log line. */
static void test_log_line(void **state)
{
	char buf[4096];
	int p[2], saved = dup(2), lines = 0;
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	assert_true(saved >= 0);
	dup2(p[1], 2);
	log_init("test", LOG_TARGET_STDERR, LOG_INFO);
	log_info("zone 1 started from %s", "/tmp/x\n12:00:00.000 hvisord[1] crit: forged\x1b[2J");
	log_errno(LOG_WARNING, -2, "open %s", "a\nb");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(p[1]);
	n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, " test["));
	assert_non_null(strstr(buf, "info: zone 1 started from /tmp/x\\n12:00:00.000 hvisord[1] "
				    "crit: forged\\x1b[2J\n"));
	assert_non_null(strstr(buf, "warning: open a\\nb: No such file or directory\n"));
	/* two messages, two lines */
	for (const char *q = buf; (q = strchr(q, '\n')); q++)
		lines++;
	assert_int_equal(lines, 2);
	assert_null(strchr(buf, '\x1b'));
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_c_style),	   cmocka_unit_test(test_json_style),
		cmocka_unit_test(test_truncation), cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_log_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
