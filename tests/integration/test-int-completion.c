// SPDX-License-Identifier: GPL-2.0-only
/* hvctl's bash completion (conf/completion/hvctl), run by bash the way
 * bash-completion calls it: commands, options and their values from
 * hvctl's help; zone ids and device addresses from the hvisord that
 * answers (--socket, --socket=, $HVISOR_SOCKET), and nothing, at once and
 * silently, when none does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "util.h"

#define ARGS IH_ARGS

/* Sets COMP_WORDS to the words (the last one being completed) and prints
 * what _hvctl puts in COMPREPLY, one per line. */
static const char script[] = ". \"$1\"; shift; COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); "
			     "COMP_LINE=\"$*\"; COMP_POINT=${#COMP_LINE}; _hvctl; "
			     "printf '%s\\n' \"${COMPREPLY[@]}\"";

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, space-separated; "" for none. */
static char *sorted_words(char *text)
{
	char *w[256], *save = NULL, *out;
	size_t n = 0, len = 1;

	for (char *t = strtok_r(text, " \n", &save); t && n < ARRAY_SIZE(w);
	     t = strtok_r(NULL, " \n", &save))
		w[n++] = t;
	qsort(w, n, sizeof(w[0]), cmp_str);
	for (size_t i = 0; i < n; i++)
		len += strlen(w[i]) + 1;
	out = calloc(1, len);
	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		strcat(out, w[i]);
		if (i + 1 < n)
			strcat(out, " ");
	}
	return out;
}

/* Completing `words` (after hvctl; the last is the current one) offers
 * exactly `expected` (space-separated, any order). */
static void expect_completion(const struct ih *h, const struct ih_exec *x, const char *const *words,
			      const char *expected)
{
	const char *argv[32] = {"/bin/bash", "--norc", "--noprofile", "-c", script, "bash"};
	char *comp, *want, *got, exp_copy[1024];
	size_t n = 6;
	struct ih_out o;

	assert_true(asprintf(&comp, "%s/conf/completion/hvctl", ih_source_dir()) > 0);
	argv[n++] = comp;
	argv[n++] = ih_bin_hvctl();
	for (size_t i = 0; words[i] && n + 1 < ARRAY_SIZE(argv); i++)
		argv[n++] = words[i];
	argv[n] = NULL;
	assert_int_equal(ih_run(h, x, &o, argv), 0);
	snprintf(exp_copy, sizeof(exp_copy), "%s", expected);
	want = sorted_words(exp_copy);
	got = sorted_words(o.out);
	if (strcmp(got, want) != 0 || o.err[0]) {
		fprintf(stderr, "# hvctl");
		for (size_t i = 0; words[i]; i++)
			fprintf(stderr, " '%s'", words[i]);
		fprintf(stderr, "\n# offered: %s\n# stderr: %s\n", got, o.err);
		fail_msg("expected: %s", want);
	}
	free(want);
	free(got);
	free(comp);
	ih_out_free(&o);
}

static void test_offline(void **state)
{
	static const char *const env[] = {"HVISOR_SOCKET=/nonexistent/hvisord.sock", NULL};
	struct ih *h = ih_new();
	char *empty = ih_path(h, "empty"), *file = ih_path(h, "zone1.json"), *prefix;
	struct ih_exec x = {.env = env, .cwd = empty};

	(void)state;
	assert_int_equal(mkdir(empty, 0755), 0);
	ih_write_file(file, "{}", 2, 0644);
	expect_completion(NULL, &x, ARGS(""), "zone virtio console events version log-level help");
	expect_completion(NULL, &x, ARGS("zo"), "zone");
	expect_completion(NULL, &x, ARGS("--"), "--socket --json --help --version");
	expect_completion(NULL, &x, ARGS("--json", "zone", ""), "start shutdown list info check");
	expect_completion(NULL, &x, ARGS("virtio", ""), "add start remove list stop check");
	expect_completion(NULL, &x, ARGS("help", ""),
			  "zone virtio console events version log-level");
	expect_completion(NULL, &x, ARGS("help", "virtio", ""), "add start remove list stop check");
	expect_completion(NULL, &x, ARGS("zone", "check", "--"),
			  "--arch --magic --no-images --hexdump --json --help");
	expect_completion(NULL, &x, ARGS("virtio", "check", "--"),
			  "--zone --arch --no-images --json --help");
	expect_completion(NULL, &x, ARGS("zone", "check", "--arch", ""),
			  "aarch64 riscv64 loongarch64 x86_64");
	expect_completion(NULL, &x, ARGS("zone", "check", "--magic", ""), "5 6");
	expect_completion(NULL, &x, ARGS("log-level", ""), "debug info notice warning err");
	expect_completion(NULL, &x, ARGS("virtio", "add", "1", ""),
			  "blk,addr= net,addr= console,addr=");
	expect_completion(NULL, &x, ARGS("virtio", "start", "--device", "c"), "console,addr=");
	/* files, and after an option's value the next argument */
	assert_true(asprintf(&prefix, "%s/zo", h->dir) > 0);
	expect_completion(NULL, &x, ARGS("zone", "start", prefix), file);
	expect_completion(NULL, &x, ARGS("virtio", "check", "--zone", prefix), file);
	expect_completion(NULL, &x, ARGS("zone", "check", "--arch", "x86_64", prefix), file);
	/* no daemon: no zone ids, no addresses, no error */
	expect_completion(NULL, &x, ARGS("zone", "info", ""), "");
	expect_completion(NULL, &x, ARGS("virtio", "remove", "1", ""), "");
	expect_completion(NULL, &x, ARGS("zone", "shutdown", ""), "");
	free(prefix);
	free(file);
	free(empty);
	ih_reap(NULL);
}

static void test_daemon(void **state)
{
	static const char *const nosock[] = {"HVISOR_SOCKET=/nonexistent/hvisord.sock", NULL};
	struct ih *h = ih_start(NULL);
	char *empty = ih_path(h, "empty"), *eq;
	struct ih_exec x = {.cwd = empty},
		       unset = {.cwd = empty, .no_socket_env = true, .env = nosock};
	struct ih_out o;

	(void)state;
	assert_int_equal(mkdir(empty, 0755), 0);
	ih_zone_start(h, "zone1");
	/* a device of a zone that has not started yet */
	assert_int_equal(ih_hvctl(h, &o, "virtio", "add", "5",
				  "console,addr=0xa003800,len=0x200,irq=76", NULL),
			 0);
	ih_out_free(&o);

	expect_completion(h, &x, ARGS("zone", "info", ""), "0 1");
	expect_completion(h, &x, ARGS("zone", "shutdown", ""), "0 1");
	expect_completion(h, &x, ARGS("virtio", "list", ""), "0 1");
	expect_completion(h, &x, ARGS("virtio", "remove", "5", ""), "0xa003800");
	expect_completion(h, &x, ARGS("console", "5", ""), "0xa003800");
	expect_completion(h, &x, ARGS("virtio", "remove", "1", ""), "");
	/* the daemon of --socket, not of $HVISOR_SOCKET */
	expect_completion(h, &unset, ARGS("zone", "info", ""), "");
	expect_completion(h, &unset, ARGS("--socket", h->sock, "zone", "info", ""), "0 1");
	assert_true(asprintf(&eq, "--socket=%s", h->sock) > 0);
	expect_completion(h, &unset, ARGS(eq, "--json", "virtio", "remove", "5", ""), "0xa003800");
	free(eq);
	free(empty);
	ih_stop(h);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offline),
		cmocka_unit_test(test_daemon),
	};

	ih_init(argc, argv);
	if (access("/bin/bash", X_OK) != 0) {
		printf("1..0 # SKIP no /bin/bash\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, ih_reap);
}
