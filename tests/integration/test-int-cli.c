// SPDX-License-Identifier: GPL-2.0-only
/* hvctl's command line: help, usage errors and exit codes, choosing the
 * socket, version, relative paths; the upstream "hvisor" spelling with its
 * byte-compatible table. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "util.h"

#define NOSOCK		     "/nonexistent/hvisord.sock"
#define HVCTL_DEFAULT_SOCKET "/run/hvisor/hvisord.sock" /* hvctl/hvctl.h */

#define UPSTREAM_HEADER "|     zone_id     |       cpus        |      name       |     status |\n"
#define UPSTREAM_ROOT	"|               0 |              0, 1 |      root-linux |    running |\n"

static int setup(void **state)
{
	ih_reap(NULL);
	*state = ih_start(NULL);
	return 0;
}

static int teardown(void **state)
{
	ih_stop(*state);
	return 0;
}

/* Runs hvctl with args (NULL-terminated) and expects exit code `code`;
 * x: as ih_run takes it. */
static void expect_code_x(struct ih *h, const struct ih_exec *x, int code, const char *const *args,
			  const char *in_out, const char *in_err)
{
	ih_hvctl_expect_x(h, x, code, args, in_out, in_err, NULL);
}

static void expect_code(struct ih *h, int code, const char *const *args, const char *in_out,
			const char *in_err)
{
	expect_code_x(h, NULL, code, args, in_out, in_err);
}

#define ARGS IH_ARGS

static void test_help(void **state)
{
	struct ih *h = *state;

	expect_code(h, 0, ARGS("--help"), "Usage: hvctl", NULL);
	expect_code(h, 0, ARGS("--help"), "Exit status", NULL);
	expect_code(h, 0, ARGS("help"), "zone start", NULL);
	/* per command, without a daemon */
	expect_code(h, 0, ARGS("--socket", NOSOCK, "zone", "start", "--help"),
		    "Usage: hvctl [--socket PATH] zone start FILE", NULL);
	expect_code(h, 0, ARGS("--socket", NOSOCK, "zone", "start", "--help"),
		    "relative to the config's directory", NULL);
	expect_code(h, 0, ARGS("--socket", NOSOCK, "zone", "shutdown", "--help"),
		    "zone shutdown ID", NULL);
	expect_code(h, 0, ARGS("--socket", NOSOCK, "zone", "list", "--help"), "zone list", NULL);
	expect_code(h, 0, ARGS("--socket", NOSOCK, "zone", "info", "-h"), "zone info ID", NULL);
	expect_code(h, 0, ARGS("--socket", NOSOCK, "events", "--help"), "events", NULL);
	expect_code(h, 0, ARGS("--socket", NOSOCK, "version", "--help"), "version", NULL);
	expect_code(h, 0, ARGS("help", "zone", "info"), "zone info ID", NULL);
	expect_code(h, 0, ARGS("--version"), "hvctl " HV_VERSION, NULL);
}

/* A command group ("zone", "virtio") has a help of its own: its commands. */
static void test_group_help(void **state)
{
	static const char *const zone_cmds[] = {"zone start FILE", "zone shutdown ID", "zone list",
						"zone info ID", NULL};
	static const char *const virtio_cmds[] = {"virtio add ZONE SPEC", "virtio start [FILE]",
						  "virtio remove ZONE ADDR", "virtio list [ZONE]",
						  NULL};
	const struct {
		const char *const *args;
		int code;
		const char *const *cmds;
		const char *other; /* a command of another group */
	} cases[] = {
		{ARGS("zone", "--help"), 0, zone_cmds, "virtio add"},
		{ARGS("zone", "-h"), 0, zone_cmds, "virtio add"},
		{ARGS("help", "zone"), 0, zone_cmds, "virtio add"},
		{ARGS("zone"), 2, zone_cmds, "virtio add"},
		{ARGS("zone", "frobnicate"), 2, zone_cmds, "virtio add"},
		{ARGS("virtio", "--help"), 0, virtio_cmds, "zone start"},
		{ARGS("help", "virtio"), 0, virtio_cmds, "zone start"},
		{ARGS("virtio"), 2, virtio_cmds, "zone start"},
	};
	struct ih *h = *state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *argv[8] = {ih_bin_hvctl(), "--socket", NOSOCK};
		struct ih_out o;
		const char *text;
		size_t n = 3;

		for (size_t k = 0; cases[i].args[k]; k++)
			argv[n++] = cases[i].args[k];
		assert_int_equal(ih_run(h, NULL, &o, argv), cases[i].code);
		/* help asked for goes to stdout, help after a mistake to stderr */
		text = cases[i].code == 0 ? o.out : o.err;
		if (!strstr(text,
			    cases[i].args[0][0] == 'h' ? cases[i].args[1] : cases[i].args[0]) ||
		    !strstr(text, "COMMAND [ARGS]") || strstr(text, cases[i].other))
			fail_msg("case %zu: not the group's help:\n%s", i, text);
		for (size_t k = 0; cases[i].cmds[k]; k++)
			if (!strstr(text, cases[i].cmds[k]))
				fail_msg("case %zu: no '%s' in:\n%s", i, cases[i].cmds[k], text);
		ih_out_free(&o);
	}
	/* unknown things are still unknown */
	expect_code(h, 2, ARGS("help", "frobnicate"), NULL, "help: unknown command 'frobnicate'");
	expect_code(h, 2, ARGS("help", "zone", "frobnicate"), NULL,
		    "help: unknown command 'zone frobnicate'");
}

/* A listening socket nobody accepts on: whatever connects to it waits in
 * its backlog, so pending() tells whether anything connected. */
static int probe_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 64), 0);
	return fd;
}

static bool pending(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

/* Usage errors exit 2 and never connect: hvctl is pointed at a probe
 * socket instead of hvisord, which nothing may have connected to. */
static void test_usage_errors(void **state)
{
	struct ih *h = *state;
	char *sock = ih_path(h, "probe.sock"), env[400];
	const char *envv[] = {env, NULL};
	const struct ih_exec x = {.env = envv};
	int probe = probe_listen(sock), c;

	snprintf(env, sizeof(env), "HVISOR_SOCKET=%s", sock);
	/* the probe sees a connection */
	c = ih_raw_connect(sock);
	assert_true(pending(probe));
	close(c);
	close(accept(probe, NULL, NULL));
	assert_false(pending(probe));

#define USAGE(in_err, ...) expect_code_x(h, &x, 2, ARGS(__VA_ARGS__), NULL, in_err)
	USAGE("Usage", "--socket", sock);
	USAGE("unknown command", "frobnicate");
	USAGE("zone: missing COMMAND", "zone");
	USAGE("unknown command", "zone", "frobnicate");
	USAGE("missing", "zone", "start");
	USAGE("unexpected argument", "zone", "start", "a.json", "b.json");
	USAGE("missing", "zone", "shutdown");
	USAGE("not a zone id", "zone", "shutdown", "one");
	USAGE("not a zone id", "zone", "shutdown", "1x");
	USAGE(NULL, "zone", "shutdown", "-1");
	USAGE("not a zone id", "zone", "info", "4294967296");
	USAGE("not a zone id", "zone", "info", "");
	USAGE("unexpected argument", "zone", "list", "extra");
	USAGE("unknown option", "zone", "list", "--frobnicate");
	USAGE(NULL, "--frobnicate", "zone", "list");
	USAGE(NULL, "--socket");
	USAGE(NULL, "events", "extra");
	/* --json after a command that prints no data */
	USAGE("virtio remove: --json: the command prints no data", "virtio", "remove", "1", "0x1",
	      "--json");
	USAGE("zone shutdown: --json: the command prints no data", "zone", "shutdown", "--json",
	      "1");
	USAGE("console: --json", "console", "1", "--json");
	USAGE("virtio stop: --json", "virtio", "stop", "--json", "v.json");
	USAGE("virtio start: --device needs a SPEC", "virtio", "start", "--device");
#undef USAGE
	/* none of these connected */
	assert_false(pending(probe));
	close(probe);
	free(sock);
}

static void test_unreachable(void **state)
{
	struct ih *h = *state;
	char *stale = ih_path(h, "stale.sock");

	expect_code(h, 3, ARGS("--socket", NOSOCK, "zone", "list"), NULL, "cannot reach hvisord");
	expect_code(h, 3, ARGS("--socket", NOSOCK, "zone", "list", "--json"), NULL, NOSOCK);
	expect_code(h, 3, ARGS("--socket", NOSOCK, "zone", "info", "1"), NULL, NULL);
	expect_code(h, 3, ARGS("--socket", NOSOCK, "zone", "shutdown", "1"), NULL, NULL);
	expect_code(h, 3, ARGS("--socket", NOSOCK, "events"), NULL, NULL);
	expect_code(h, 3, ARGS("--socket", NOSOCK, "version"), "hvctl " HV_VERSION, NULL);
	/* a socket file nobody listens on */
	{
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		assert_true(fd >= 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", stale);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
	}
	expect_code(h, 3, ARGS("--socket", stale, "zone", "list"), NULL, "cannot reach hvisord");
	free(stale);
}

static void test_socket_selection(void **state)
{
	struct ih *h = *state;
	char env_good[400], env_bad[] = "HVISOR_SOCKET=" NOSOCK;
	const char *list[] = {ih_bin_hvctl(), "zone", "list", NULL};
	const char *list_s[] = {ih_bin_hvctl(), "--socket", h->sock, "zone", "list", NULL};
	const char *list_bad[] = {ih_bin_hvctl(), "--socket", NOSOCK, "zone", "list", NULL};
	struct ih_out o;

	snprintf(env_good, sizeof(env_good), "HVISOR_SOCKET=%s", h->sock);
	{
		/* $HVISOR_SOCKET is honoured */
		const char *env[] = {env_good, NULL};
		const struct ih_exec x = {.env = env};

		assert_int_equal(ih_run(h, &x, &o, list), 0);
		assert_non_null(strstr(o.out, "root-linux"));
		ih_out_free(&o);
		/* --socket beats it */
		assert_int_equal(ih_run(h, &x, &o, list_bad), 3);
		assert_non_null(strstr(o.err, NOSOCK));
		ih_out_free(&o);
	}
	{
		const char *env[] = {env_bad, NULL};
		const struct ih_exec x = {.env = env};

		assert_int_equal(ih_run(h, &x, &o, list), 3);
		assert_non_null(strstr(o.err, NOSOCK));
		ih_out_free(&o);
		assert_int_equal(ih_run(h, &x, &o, list_s), 0);
		ih_out_free(&o);
	}
}

/* Neither --socket nor $HVISOR_SOCKET (or an empty one): the default path. */
static void test_default_socket(void **state)
{
	struct ih *h = *state;
	const char *list[] = {ih_bin_hvctl(), "zone", "list", NULL};
	const char *unset[] = {"HVISOR_SOCKET", NULL}, *empty[] = {"HVISOR_SOCKET=", NULL};
	const struct ih_exec x = {.env = unset, .no_socket_env = true};
	const struct ih_exec x2 = {.env = empty, .no_socket_env = true};
	struct ih_out o;

	if (access(HVCTL_DEFAULT_SOCKET, F_OK) == 0)
		skip_because("a real hvisord serves " HVCTL_DEFAULT_SOCKET "; not talking to it");
	assert_int_equal(ih_run(h, &x, &o, list), 3);
	assert_non_null(strstr(o.err, HVCTL_DEFAULT_SOCKET));
	ih_out_free(&o);
	assert_int_equal(ih_run(h, &x2, &o, list), 3);
	assert_non_null(strstr(o.err, HVCTL_DEFAULT_SOCKET));
	ih_out_free(&o);
}

static void test_version(void **state)
{
	struct ih *h = *state;
	char want[400];
	struct ih_out o;
	json_object *j, *v;

	snprintf(want, sizeof(want), "backend %s at %s, %s, config magic 0x06\n", ih_backend_kind(),
		 ih_backend_path(h), ih_arch());
	expect_code(h, 0, ARGS("version"), "hvctl " HV_VERSION "\n", NULL);
	expect_code(h, 0, ARGS("version"), "hvisord " HV_VERSION " (API 1.3)\n", NULL);
	expect_code(h, 0, ARGS("version"), want, NULL);
	assert_int_equal(ih_hvctl(h, &o, "version", "--json", NULL), 0);
	j = json_tokener_parse(o.out);
	assert_non_null(j);
	assert_true(json_object_object_get_ex(j, "client_version", &v));
	assert_string_equal(json_object_get_string(v), HV_VERSION);
	assert_true(json_object_object_get_ex(j, "config_magic", &v));
	assert_int_equal(json_object_get_int(v), 6);
	json_object_put(j);
	ih_out_free(&o);
	expect_code(h, 0, ARGS("log-level"), "info\n", NULL);
}

/* Relative paths in a config are relative to the config's directory,
 * whatever the current directory is. */
static void test_relative_paths(void **state)
{
	struct ih *h = *state;
	char *sub = ih_path(h, "sub"), *img = ih_path(h, "sub/img"),
	     *cfg = ih_path(h, "zone1.json");
	char *subcfg = ih_path(h, "sub/zone.json"), *k = ih_path(h, "sub/img/k.bin");
	char *d = ih_path(h, "sub/img/d.dtb");
	const char *argv[] = {ih_bin_hvctl(), "zone", "start", "sub/zone.json", NULL};
	const struct ih_exec in_dir = {.cwd = h->dir};
	json_object *j;
	struct ih_out o;
	char buf[3000];

	free(ih_make_zone(h, "zone1", 10, 10));
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(mkdir(img, 0755), 0);
	ih_fill(buf, sizeof(buf), "k");
	ih_write_file(k, buf, sizeof(buf), 0644);
	ih_fill(buf, 999, "d");
	ih_write_file(d, buf, 999, 0644);
	j = ih_json_load(cfg);
	ih_json_set(j, "kernel_filepath", json_object_new_string("img/k.bin"));
	ih_json_set(j, "dtb_filepath", json_object_new_string("./img/../img/d.dtb"));
	ih_json_save(j, subcfg);
	json_object_put(j);

	assert_int_equal(ih_run(h, &in_dir, &o, argv), 0);
	ih_out_free(&o);
	ih_assert_phys_equals_file(h, ih_layout("zone1").kernel, k);
	if (ih_layout("zone1").dtb_loaded)
		ih_assert_phys_equals_file(h, ih_layout("zone1").dtb, d);
	/* the source shown is the absolute path of the config */
	assert_int_equal(ih_hvctl(h, &o, "zone", "info", "1", NULL), 0);
	assert_non_null(strstr(o.out, subcfg));
	ih_out_free(&o);
	free(sub);
	free(img);
	free(cfg);
	free(subcfg);
	free(k);
	free(d);
}

static char *zone_variant(struct ih *h, const char *example, const char *name, int cpu0, int cpu1)
{
	char *src = ih_make_zone(h, example, 8192 + 1, 512), *dst = ih_path(h, name);
	json_object *j = ih_json_load(src), *cpus = json_object_new_array();

	json_object_array_add(cpus, json_object_new_int(cpu0));
	if (cpu1 >= 0)
		json_object_array_add(cpus, json_object_new_int(cpu1));
	ih_json_set(j, "cpus", cpus);
	ih_json_save(j, dst);
	json_object_put(j);
	free(src);
	return dst;
}

static void expect_upstream_list(struct ih *h, const char *want)
{
	struct ih_out o;

	assert_int_equal(ih_hvisor(h, &o, "zone", "list", NULL), 0);
	if (strcmp(o.out, want) != 0) {
		fprintf(stderr, "# got:\n%s# want:\n%s", o.out, want);
		ih_out_free(&o);
		fail_msg("hvisor zone list is not byte-compatible");
	}
	assert_string_equal(o.err, "");
	ih_out_free(&o);
}

static void test_upstream_spelling(void **state)
{
	struct ih *h = *state;
	char *z1 = zone_variant(h, "zone1", "z1.json", 2, 3);
	char *z1b = zone_variant(h, "zone1", "z1b.json", 2, -1);
	char *z2 = zone_variant(h, "zone2", "z2.json", 3, -1);
	struct ih_out o;

	expect_upstream_list(h, UPSTREAM_HEADER UPSTREAM_ROOT);

	/* a two-CPU zone */
	assert_int_equal(ih_hvisor(h, &o, "zone", "start", z1, NULL), 0);
	ih_out_free(&o);
	expect_upstream_list(
		h, UPSTREAM_HEADER UPSTREAM_ROOT
		"|               1 |              2, 3 |           zone1 |    running |\n");
	assert_int_equal(ih_hvisor(h, &o, "zone", "shutdown", "-id", "1", NULL), 0);
	ih_out_free(&o);

	assert_int_equal(ih_hvisor(h, &o, "zone", "start", z1b, NULL), 0);
	ih_out_free(&o);
	assert_int_equal(ih_hvisor(h, &o, "zone", "start", z2, NULL), 0);
	ih_out_free(&o);
	expect_upstream_list(
		h, UPSTREAM_HEADER UPSTREAM_ROOT
		"|               1 |                 2 |           zone1 |    running |\n"
		"|               2 |                 3 |           zone2 |    running |\n");
	/* hvctl sees the same zones */
	assert_int_equal(ih_hvctl(h, &o, "zone", "list", NULL), 0);
	assert_non_null(strstr(o.out, "zone2"));
	ih_out_free(&o);

	assert_int_equal(ih_hvisor(h, &o, "zone", "shutdown", "-id", "1", NULL), 0);
	assert_string_equal(o.out, "");
	ih_out_free(&o);
	assert_int_equal(ih_hvisor(h, &o, "zone", "shutdown", "--id", "2", NULL), 0);
	ih_out_free(&o);
	expect_upstream_list(h, UPSTREAM_HEADER UPSTREAM_ROOT);

	/* refusals and usage */
	assert_int_equal(ih_hvisor(h, &o, "zone", "shutdown", "-id", "1", NULL), 1);
	assert_non_null(strstr(o.err, "org.hvisor.Zone.NotFound"));
	ih_out_free(&o);
	assert_int_equal(ih_hvisor(h, &o, "zone", "shutdown", "-id", "x", NULL), 2);
	ih_out_free(&o);
	assert_int_equal(ih_hvisor(h, &o, "zone", "shutdown", NULL), 2);
	ih_out_free(&o);
	assert_int_equal(ih_hvisor(h, &o, "zone", "start", NULL), 2);
	ih_out_free(&o);
	assert_int_equal(ih_hvisor(h, &o, "zone", "frobnicate", NULL), 2);
	ih_out_free(&o);
	assert_int_equal(ih_hvisor(h, &o, NULL), 2);
	ih_out_free(&o);
	assert_int_equal(ih_hvisor(h, &o, "--help", NULL), 0);
	assert_non_null(strstr(o.out, "hvisor zone start"));
	ih_out_free(&o);
	{
		const char *argv[] = {ih_bin_hvisor_link(), "zone", "list", NULL};
		const char *env[] = {"HVISOR_SOCKET=" NOSOCK, NULL};
		const struct ih_exec x = {.env = env};

		assert_int_equal(ih_run(h, &x, &o, argv), 3);
		ih_out_free(&o);
	}
	free(z1);
	free(z1b);
	free(z2);
}

/* Files that are not regular files: a FIFO as the zone config, a kernel,
 * a virtio config or a disk image gets an error at once (hvctl opened
 * them blocking, and waited for a writer forever); a directory too.
 * Nothing reaches hvisord. */
static void test_not_regular_files(void **state)
{
	struct ih *h = *state;
	char *cfg = ih_make_zone(h, "zone1", 4096, 512), *fifo = ih_path(h, "fifo");
	char *kcfg = ih_path(h, "fifo-kernel.json"), *dcfg = ih_path(h, "fifo-disk.json");
	char *before = ih_list_json(h), *after, *spec;
	json_object *j;

	assert_int_equal(mkfifo(fifo, 0644), 0);
	/* the zone config */
	expect_code(h, 1, ARGS("zone", "start", fifo), NULL, "is a FIFO, not a regular file");
	expect_code(h, 1, ARGS("zone", "start", h->dir), NULL,
		    "is a directory, not a regular file");
	/* a kernel */
	j = ih_json_load(cfg);
	ih_json_set(j, "kernel_filepath", json_object_new_string("fifo"));
	ih_json_save(j, kcfg);
	json_object_put(j);
	expect_code(h, 1, ARGS("zone", "start", kcfg), NULL, "kernel_filepath 'fifo'");
	expect_code(h, 1, ARGS("zone", "start", kcfg), NULL,
		    "is a FIFO, not a regular file or a block device");
	/* a virtio config */
	expect_code(h, 1, ARGS("virtio", "start", fifo), NULL, "is a FIFO, not a regular file");
	/* a disk image, in a spec and in a virtio config */
	assert_true(asprintf(&spec, "blk,addr=0xa003c00,len=0x200,irq=78,img=%s", fifo) > 0);
	expect_code(h, 1, ARGS("virtio", "add", "1", spec), NULL,
		    "is a FIFO, not a regular file or a block device");
	expect_code(h, 1, ARGS("virtio", "add", "1", spec, "--json"), NULL, "image '");
	free(spec);
	j = json_tokener_parse("{\"zones\": [{\"id\": 1, \"devices\": [{\"type\": \"blk\", "
			       "\"addr\": \"0xa003c00\", \"len\": \"0x200\", \"irq\": 78, "
			       "\"img\": \"fifo\", \"status\": \"enable\"}]}]}");
	assert_non_null(j);
	ih_json_save(j, dcfg);
	json_object_put(j);
	expect_code(h, 1, ARGS("virtio", "start", dcfg), NULL, "image 'fifo'");
	expect_code(h, 1, ARGS("virtio", "start", dcfg), NULL,
		    "is a FIFO, not a regular file or a block device");
	/* the upstream spelling goes the same way */
	{
		struct ih_out o;

		assert_int_equal(ih_hvisor(h, &o, "zone", "start", fifo, NULL), 1);
		assert_non_null(strstr(o.err, "is a FIFO"));
		ih_out_free(&o);
	}
	after = ih_list_json(h);
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(cfg);
	free(fifo);
	free(kcfg);
	free(dcfg);
}

/* hvctl applies the document rules of docs/config.md §1 to the file, with
 * their wording, before anything is sent. */
static void test_config_document_errors(void **state)
{
	struct ih *h = *state;
	char *cfg = ih_make_zone(h, "zone1", 4096, 512), *bad = ih_path(h, "bad.json");
	char *before = ih_list_json(h), *after, *text, *t;
	size_t len;

	text = ih_read_file(cfg, &len);
	/* trailing data: refused (it was ignored, and the zone started) */
	t = malloc(len + 16);
	assert_non_null(t);
	memcpy(t, text, len);
	memcpy(t + len, "\n{\"x\": 1}\n", 10);
	ih_write_file(bad, t, len + 10, 0644);
	{
		char want[160];

		snprintf(want, sizeof(want), "(byte %zu): unexpected data after the JSON document",
			 len + 1);
		expect_code(h, 1, ARGS("zone", "start", bad), NULL, want);
		expect_code(h, 1, ARGS("virtio", "start", bad), NULL, want);
	}
	/* truncated */
	ih_write_file(bad, text, len / 2, 0644);
	expect_code(h, 1, ARGS("zone", "start", bad), NULL,
		    "bad.json: JSON syntax error: unexpected end of input");
	/* a NUL byte */
	memcpy(t, text, len);
	t[3] = '\0';
	ih_write_file(bad, t, len, 0644);
	expect_code(h, 1, ARGS("zone", "start", bad), NULL,
		    "bad.json: the config contains a NUL byte (byte 3)");
	/* a syntax error names line, column and byte */
	ih_write_file(bad, "{\n  \"zone_id\": x}", 17, 0644);
	expect_code(h, 1, ARGS("zone", "start", bad), NULL,
		    "bad.json: JSON syntax error at line 2, column 14 (byte 15): ");
	free(t);
	free(text);

	/* nesting: 14 levels fit in a call (hvisord answers), 15 do not */
	t = malloc(256);
	assert_non_null(t);
	len = 0;
	for (int i = 0; i < 14; i++)
		len += (size_t)sprintf(t + len, "{\"a\":");
	len += (size_t)sprintf(t + len, "1");
	for (int i = 0; i < 14; i++)
		t[len++] = '}';
	ih_write_file(bad, t, len, 0644);
	expect_code(h, 1, ARGS("zone", "start", bad), NULL,
		    "org.hvisor.InvalidParameter: config.zone_id: missing");
	memmove(t + 5, t, len);
	memcpy(t, "{\"a\":", 5);
	t[len + 5] = '}';
	ih_write_file(bad, t, len + 6, 0644);
	expect_code(h, 1, ARGS("zone", "start", bad), NULL,
		    "bad.json: the config nests deeper than 14 levels");
	free(t);

	/* the size limit */
	len = (1u << 20) + 1;
	t = malloc(len);
	assert_non_null(t);
	memset(t, ' ', len);
	t[0] = '{';
	t[len - 1] = '}';
	ih_write_file(bad, t, len, 0644);
	expect_code(h, 1, ARGS("zone", "start", bad), NULL,
		    "bad.json: the config is larger than 1048576 bytes");
	expect_code(h, 1, ARGS("virtio", "start", bad), NULL,
		    "bad.json: the config is larger than 1048576 bytes");
	free(t);

	after = ih_list_json(h);
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(cfg);
	free(bad);
}

/* A config that is fine as a file but does not fit in one protocol
 * message: hvctl names the limit. */
static void test_message_limit(void **state)
{
	struct ih *h = *state;
	char *cfg = ih_make_zone(h, "zone1", 4096, 512), *pad = malloc(200 * 1024 + 1);
	json_object *j = ih_json_load(cfg);

	assert_non_null(pad);
	memset(pad, 'x', 200 * 1024);
	pad[200 * 1024] = '\0';
	ih_json_set(j, "padding", json_object_new_string(pad));
	ih_json_save(j, cfg);
	json_object_put(j);
	expect_code(h, 1, ARGS("zone", "start", cfg), NULL,
		    "org.hvisor.Zone.Start: the call is larger than the protocol's limit of "
		    "131072 bytes (128 KiB)");
	ih_assert_serving(h);
	free(pad);
	free(cfg);
}

/* The hvisor spelling takes --socket (the unreachable error points to it)
 * before the upstream command, in both forms, over $HVISOR_SOCKET. */
static void test_upstream_socket(void **state)
{
	struct ih *h = *state;
	const char *env[] = {"HVISOR_SOCKET=" NOSOCK, NULL};
	const struct ih_exec x = {.env = env};
	char *eq;
	struct ih_out o;

	{
		const char *argv[] = {ih_bin_hvisor_link(), "zone", "list", NULL};

		assert_int_equal(ih_run(h, &x, &o, argv), 3);
		assert_non_null(strstr(o.err, "see --socket"));
		ih_out_free(&o);
	}
	{
		const char *argv[] = {
			ih_bin_hvisor_link(), "--socket", h->sock, "zone", "list", NULL};

		assert_int_equal(ih_run(h, &x, &o, argv), 0);
		assert_string_equal(o.out, UPSTREAM_HEADER UPSTREAM_ROOT);
		ih_out_free(&o);
	}
	assert_true(asprintf(&eq, "--socket=%s", h->sock) > 0);
	{
		const char *argv[] = {ih_bin_hvisor_link(), eq, "zone", "list", NULL};

		assert_int_equal(ih_run(h, &x, &o, argv), 0);
		assert_string_equal(o.out, UPSTREAM_HEADER UPSTREAM_ROOT);
		ih_out_free(&o);
	}
	free(eq);
	{
		const char *argv[] = {ih_bin_hvisor_link(), "--socket", NULL};

		assert_int_equal(ih_run(h, &x, &o, argv), 2);
		assert_non_null(strstr(o.err, "--socket PATH   hvisord's socket"));
		ih_out_free(&o);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_help, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_help, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_selection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upstream_spelling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upstream_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_regular_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_document_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_limit, setup, teardown),
	};

	ih_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, ih_reap);
}
