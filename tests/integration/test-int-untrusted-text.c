// SPDX-License-Identifier: GPL-2.0-only
/* Untrusted text on its way to a terminal or a log: a zone started from a
 * config whose path, and an image path, hold ESC, a newline, a C1 control
 * (CSI) and a bidi override. zone list, zone info and virtio list (which
 * any local user may run) show them escaped, --json keeps them exact but
 * \u-escaped, and hvisord's log has no line they forged. */
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
#include "util.h"

/* ESC [2J (clear screen), a newline that would start a forged line, CSI
 * as a C1 control (U+009B), RIGHT-TO-LEFT OVERRIDE (U+202E) */
#define EVIL                             \
	"x\x1b[2J\nFORGED line \xc2\x9b" \
	"31m\xe2\x80\xae"
#define EVIL_ESCAPED "x\\x1b[2J\\nFORGED line \\xc2\\x9b31m\\xe2\\x80\\xae"

/* No byte a terminal acts on: C0 controls but the newline, DEL, C1
 * controls (as UTF-8), U+202E; no line begins where EVIL's newline would
 * have started one. */
static void assert_no_raw_controls(const char *what, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;

	for (size_t i = 0; p[i]; i++) {
		if ((p[i] < 0x20 && p[i] != '\n') || p[i] == 0x7f ||
		    (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) ||
		    (p[i] == 0xe2 && p[i + 1] == 0x80 && p[i + 2] == 0xae))
			fail_msg("%s: raw control byte 0x%02x at %zu:\n%s", what, p[i], i, text);
		if ((i == 0 || p[i - 1] == '\n') && strncmp(text + i, "FORGED", 6) == 0)
			fail_msg("%s: a forged line at %zu:\n%s", what, i, text);
	}
}

/* hvctl ARGS... succeeds; its output has no raw control character and
 * shows `expect` (NULL: no check). */
static void hvctl_shows(struct ih *h, const char *expect, const char *a1, const char *a2,
			const char *a3)
{
	struct ih_out o;

	if (ih_hvctl(h, &o, a1, a2, a3, NULL) != 0)
		fail_msg("hvctl %s %s: %s", a1, a2, o.err);
	assert_no_raw_controls(a2, o.out);
	assert_no_raw_controls(a2, o.err);
	if (expect && !strstr(o.out, expect))
		fail_msg("hvctl %s %s %s does not show %s:\n%s", a1, a2, a3 ?: "", expect, o.out);
	ih_out_free(&o);
}

/* The same --json: no raw control either, and `key` (a dotted path) is
 * exactly `value` again once parsed. */
static void hvctl_json_keeps(struct ih *h, const char *key, const char *value, const char *a1,
			     const char *a2, const char *a3)
{
	struct ih_out o;
	json_object *j, *v;

	if (ih_hvctl(h, &o, a1, a2, "--json", a3, NULL) != 0)
		fail_msg("hvctl %s %s --json: %s", a1, a2, o.err);
	assert_no_raw_controls(a2, o.out);
	j = json_tokener_parse(o.out);
	assert_non_null(j);
	v = j;
	for (const char *k = key; k && v;) {
		const char *dot = strchr(k, '.');
		char seg[64];

		snprintf(seg, sizeof(seg), "%.*s", dot ? (int)(dot - k) : (int)strlen(k), k);
		if (json_object_is_type(v, json_type_array))
			v = json_object_array_get_idx(v, (size_t)atoi(seg));
		else if (!json_object_object_get_ex(v, seg, &v))
			v = NULL;
		k = dot ? dot + 1 : NULL;
	}
	if (!v || strcmp(json_object_get_string(v), value) != 0)
		fail_msg("%s of hvctl %s %s --json is not the original:\n%s", key, a1, a2, o.out);
	json_object_put(j);
	ih_out_free(&o);
}

/* A copy of the sim's zone1 with the kernel named `kernel`, saved as
 * `name` in the runtime dir (its images too). */
static char *make_zone(struct ih *h, const char *name, const char *kernel)
{
	char *src = ih_example("zone1"), *dst = ih_path(h, name), *dtb;
	json_object *o = ih_json_load(src);

	ih_json_set(o, "kernel_filepath", json_object_new_string(kernel));
	ih_json_save(o, dst);
	free(ih_make_image(h, kernel, 64 * 1024));
	dtb = ih_make_image(h, json_object_get_string(json_object_object_get(o, "dtb_filepath")),
			    4096);
	free(dtb);
	json_object_put(o);
	free(src);
	return dst;
}

static void test_zone_text(void **state)
{
	struct ih *h = ih_start(NULL);
	char *cfg = make_zone(h, EVIL ".json", "k" EVIL ".bin"), *log;
	struct ih_out o;

	if (ih_hvctl(h, &o, "zone", "start", cfg, NULL) != 0)
		fail_msg("zone start: %s", o.err);
	assert_no_raw_controls("zone start", o.out);
	ih_out_free(&o);
	hvctl_shows(h, EVIL_ESCAPED ".json", "zone", "list", NULL);
	hvctl_shows(h, EVIL_ESCAPED ".json", "zone", "info", "1");
	hvctl_shows(h, "k" EVIL_ESCAPED ".bin", "zone", "info", "1");
	hvctl_json_keeps(h, "zones.1.source", cfg, "zone", "list", NULL);
	hvctl_json_keeps(h, "zone.source", cfg, "zone", "info", "1");
	/* as the config names it */
	hvctl_json_keeps(h, "zone.images.0.path", "k" EVIL ".bin", "zone", "info", "1");
	/* hvisord logged the start, with the source, on one line */
	assert_true(ih_wait_file_contains(h->log, "started by uid", IH_TIMEOUT_MS));
	log = ih_read_file(h->log, NULL);
	assert_no_raw_controls("hvisord's log", log);
	assert_non_null(strstr(log, EVIL_ESCAPED ".json"));
	free(log);
	ih_stop(h);
	free(cfg);
	(void)state;
}

static void test_virtio_text(void **state)
{
	struct ih *h;
	char *img, *spec, *log;
	struct ih_out o;

	if (geteuid() != 0) {
		print_message("# hvisor-virtiod drops to nobody: needs root\n");
		skip();
	}
	h = ih_start(NULL);
	img = ih_make_image(h, "d" EVIL ".img", 1 << 20);
	assert_true(asprintf(&spec, "blk,addr=0xa003c00,len=0x200,irq=78,img=%s", img) > 0);
	if (ih_hvctl(h, &o, "virtio", "add", "1", spec, NULL) != 0)
		fail_msg("virtio add: %s", o.err);
	assert_no_raw_controls("virtio add", o.out);
	ih_out_free(&o);
	hvctl_shows(h, "d" EVIL_ESCAPED ".img", "virtio", "list", NULL);
	hvctl_json_keeps(h, "devices.0.backing", img, "virtio", "list", NULL);
	assert_true(ih_wait_file_contains(h->log, "added by uid", IH_TIMEOUT_MS));
	log = ih_read_file(h->log, NULL);
	assert_no_raw_controls("hvisord's log", log);
	assert_non_null(strstr(log, "d" EVIL_ESCAPED ".img"));
	free(log);
	ih_stop(h);
	free(spec);
	free(img);
	(void)state;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_zone_text, ih_reap),
		cmocka_unit_test_setup(test_virtio_text, ih_reap),
	};

	ih_init(argc, argv);
	ih_need_virtio();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
