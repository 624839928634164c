// SPDX-License-Identifier: GPL-2.0-only
/* An independent varlink client against hvisord on hvisor-sim: the
 * reference library, github.com/varlink/go (varlink-go/main.go, built by
 * meson when go and the library are installed; otherwise this test is a
 * skip). It introspects (GetInfo, GetInterfaceDescription of every
 * interface, each parsed with the library's own IDL parser), calls methods
 * and reads their errors, and follows a Subscribe stream. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static const char *client; /* argv[7]: the varlink-go client */

static char *address(const struct ih *h)
{
	char *a;

	assert_true(asprintf(&a, "unix:%s", h->sock) > 0);
	return a;
}

/* Runs the client with a command; asserts it succeeds. */
static void run_client(struct ih *h, const char *cmd, const char *zone)
{
	char *addr = address(h);
	const char *argv[] = {client, "-address", addr, cmd, zone ? "-zone" : NULL, zone, NULL};
	struct ih_out o;

	if (ih_run(h, NULL, &o, argv) != 0)
		fail_msg("varlink-go-client %s: exit %d\n%s%s", cmd, o.code, o.out, o.err);
	/* what it checked, in the test log */
	for (char *line = strtok(o.out, "\n"); line; line = strtok(NULL, "\n"))
		printf("# %s\n", line);
	ih_out_free(&o);
	free(addr);
}

static void test_go_introspect(void **state)
{
	struct ih *h = ih_start(NULL);

	run_client(h, "introspect", NULL);
	ih_stop(h);
}

static void test_go_calls(void **state)
{
	struct ih *h = ih_start(NULL);

	ih_zone_start(h, "zone1");
	run_client(h, "calls", "1");
	ih_stop(h);
}

/* The client subscribes and says so; then a zone starts, and it must see
 * the event in the stream and exit 0. */
static void test_go_subscribe(void **state)
{
	struct ih *h = ih_start(NULL);
	char *addr = address(h), line[256];
	const char *argv[] = {client, "-address", addr, "subscribe", "-zone", "1", NULL};
	struct ih_lines *l = calloc(1, sizeof(*l));
	pid_t pid;

	assert_non_null(l);
	pid = ih_spawn_bg(h, argv, &l->fd);
	if (ih_read_line(l, line, sizeof(line), IH_TIMEOUT_MS) < 0)
		fail_msg("the client did not subscribe (see bg.log)");
	assert_string_equal(line, "subscribed");
	ih_zone_start(h, "zone1");
	assert_int_equal(ih_wait_bg(h, pid, IH_TIMEOUT_MS), 0);
	close(l->fd);
	free(l);
	free(addr);
	ih_stop(h);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_go_introspect, ih_reap),
		cmocka_unit_test_setup(test_go_calls, ih_reap),
		cmocka_unit_test_setup(test_go_subscribe, ih_reap),
	};

	client = argc > 7 ? argv[7] : "";
	if (!*client) {
		/* meson passes why it built no client */
		printf("1..0 # SKIP %s\n", argc > 8 ? argv[8] : "no varlink-go client given");
		return 77;
	}
	if (access(client, X_OK) < 0) {
		printf("Bail out! %s: %s\n", client, strerror(errno));
		return 1;
	}
	ih_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, ih_reap);
}
