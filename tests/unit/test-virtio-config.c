// SPDX-License-Identifier: GPL-2.0-only
/*
 * Virtio device configuration (proto/virtio-config.c): upstream's
 * virtio_cfg.json shapes are accepted with the right values, every rejection
 * names the right path, --device strings and the wire form follow the same
 * rules, the shipped examples parse, and garbage never crashes.
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "macro.h"
#include "rng.h"
#include "source.h"
#include "virtio-config.h"

/* ---- helpers ----------------------------------------------------------- */

/* Test documents are written with ' for " to stay readable in C. */
static char *dq(const char *s)
{
	char *r = strdup(s);

	assert_non_null(r);
	for (char *p = r; *p; p++)
		if (*p == '\'')
			*p = '"';
	return r;
}

static struct hv_virtio_config *parse_ok(const char *single_quoted)
{
	struct hv_virtio_config *cfg = NULL;
	struct hv_error err = {0};
	char *text = dq(single_quoted);
	int r;

	r = hv_virtio_config_parse_string(text, strlen(text), &cfg, &err);
	if (r < 0)
		fail_msg("parse failed: %s: %s\n%s", err.path, err.message, text);
	free(text);
	assert_non_null(cfg);
	return cfg;
}

static void expect_error(int r, const struct hv_error *err, const char *path, const char *msg)
{
	if (r >= 0)
		fail_msg("accepted, expected %s: ...%s...", path, msg);
	if (strcmp(err->path, path) != 0 || !strstr(err->message, msg))
		fail_msg("got '%s: %s', expected '%s: ...%s...'", err->path, err->message, path,
			 msg);
}

static void rejects(const char *single_quoted, const char *path, const char *msg)
{
	struct hv_virtio_config *cfg = NULL;
	struct hv_error err = {0};
	char *text = dq(single_quoted);
	int r;

	r = hv_virtio_config_parse_string(text, strlen(text), &cfg, &err);
	if (r >= 0)
		hv_virtio_config_free(cfg);
	else
		assert_null(cfg);
	expect_error(r, &err, path, msg);
	free(text);
}

/* Appends to a document built in doc[DOC_SIZE] at offset *n; at(n) then
 * rewrites the tail from a saved offset. */
#define DOC_SIZE 8192
static void _printf_(3, 4) append(char *doc, size_t *n, const char *format, ...)
{
	va_list ap;
	int r;

	va_start(ap, format);
	r = vsnprintf(doc + *n, DOC_SIZE - *n, format, ap);
	va_end(ap);
	assert_true(r > 0 && (size_t)r < DOC_SIZE - *n);
	*n += (size_t)r;
}

/* A document with one zone (id 1) holding the given devices. */
static char *zone_doc(const char *devices)
{
	char *doc;

	assert_true(
		asprintf(&doc,
			 "{'zones': [{'id': 1, 'memory_region': [{'zone0_ipa': '0x50000000', "
			 "'zonex_ipa': '0x50000000', 'size': '0x30000000'}], 'devices': [%s]}]}",
			 devices) > 0);
	return doc;
}

/* One device object (without braces) in zone 1. */
static void device_rejects(const char *device, const char *path, const char *msg)
{
	char *dev, *doc;

	assert_true(asprintf(&dev, "{%s}", device) > 0);
	doc = zone_doc(dev);
	rejects(doc, path, msg);
	free(doc);
	free(dev);
}

static struct hv_virtio_config *device_ok(const char *device)
{
	struct hv_virtio_config *cfg;
	char *dev, *doc;

	assert_true(asprintf(&dev, "{%s}", device) > 0);
	doc = zone_doc(dev);
	cfg = parse_ok(doc);
	free(doc);
	free(dev);
	assert_int_equal(cfg->n_zones, 1);
	assert_int_equal(cfg->zones[0].n_devices, 1);
	return cfg;
}

static void spec_ok(const char *spec, struct hv_virtio_device *dev)
{
	struct hv_error err = {0};
	int r;

	r = hv_virtio_device_parse_spec(spec, dev, &err);
	if (r < 0)
		fail_msg("spec '%s' refused: %s: %s", spec, err.path, err.message);
}

static void spec_rejects(const char *spec, const char *path, const char *msg)
{
	struct hv_virtio_device dev = {0};
	struct hv_error err = {0};
	int r;

	r = hv_virtio_device_parse_spec(spec, &dev, &err);
	if (r >= 0)
		hv_virtio_device_clear(&dev);
	else
		assert_null(dev.img);
	expect_error(r, &err, path, msg);
}

static json_object *load(const char *single_quoted)
{
	char *text = dq(single_quoted);
	json_object *o = json_tokener_parse(text);

	if (!o)
		fail_msg("test document does not parse: %s", text);
	free(text);
	return o;
}

static void wire_rejects(const char *single_quoted, const char *path, const char *msg)
{
	struct hv_virtio_device dev = {0};
	struct hv_error err = {0};
	json_object *o = load(single_quoted);
	int r;

	r = hv_virtio_device_from_json(o, &dev, &err);
	if (r >= 0)
		hv_virtio_device_clear(&dev);
	expect_error(r, &err, path, msg);
	json_object_put(o);
}

static void assert_dev_equal(const struct hv_virtio_device *a, const struct hv_virtio_device *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->zone_id, b->zone_id);
	assert_int_equal(a->has_zone_id, b->has_zone_id);
	assert_int_equal(a->addr, b->addr);
	assert_int_equal(a->len, b->len);
	assert_int_equal(a->irq, b->irq);
	assert_int_equal(a->enabled, b->enabled);
	if (a->img || b->img) {
		assert_non_null(a->img);
		assert_non_null(b->img);
		assert_string_equal(a->img, b->img);
	}
	assert_int_equal(a->readonly, b->readonly);
	assert_int_equal(a->share, b->share);
	assert_string_equal(a->serial, b->serial);
	assert_int_equal(a->aio, b->aio);
	assert_string_equal(a->tap, b->tap);
	assert_memory_equal(a->mac, b->mac, 6);
	assert_int_equal(a->has_mac, b->has_mac);
}

/* A file of conf/examples/ */
static char *read_example(const char *rel, size_t *ret_len)
{
	char path[512];

	snprintf(path, sizeof(path), "conf/examples/%s", rel);
	return test_source_file(path, ret_len);
}

static struct hv_virtio_config *parse_example(const char *rel)
{
	struct hv_virtio_config *cfg = NULL;
	struct hv_error err = {0};
	size_t len;
	char *text = read_example(rel, &len);

	if (hv_virtio_config_parse_string(text, len, &cfg, &err) < 0)
		fail_msg("%s: %s: %s", rel, err.path, err.message);
	free(text);
	return cfg;
}

/* ---- upstream shapes --------------------------------------------------- */

/* hvisor-tool examples/qemu-aarch64/with_virtio_blk_console/virtio_cfg.json */
static const char upstream_qemu_aarch64[] =
	"{ 'zones': [ { 'id': 1,"
	"  'memory_region': [ { 'zone0_ipa': '0x50000000', 'zonex_ipa': '0x50000000',"
	"                       'size': '0x30000000' } ],"
	"  'devices': ["
	"    { 'type': 'blk', 'addr': '0xa003c00', 'len': '0x200', 'irq': 78,"
	"      'img': 'rootfs2.ext4', 'status': 'enable' },"
	"    { 'type': 'console', 'addr': '0xa003800', 'len': '0x200', 'irq': 76,"
	"      'status': 'enable' } ] } ] }";

/* hvisor-tool examples/nuc14mnk-x86_64/virtio_cfg.json (RAM remapped, MAC
 * bytes as strings) */
static const char upstream_x86[] =
	"{ 'zones': [ { 'id': 1,"
	"  'memory_region': [ { 'zone0_ipa': '0x100000000', 'zonex_ipa': '0x0',"
	"                       'size': '0x119220000' } ],"
	"  'devices': ["
	"    { 'type': 'console', 'addr': '0x119220000', 'len': '0x200', 'irq': 10,"
	"      'status': 'enable' },"
	"    { 'type': 'net', 'addr': '0x119220200', 'len': '0x200', 'irq': 14, 'tap': 'tap0',"
	"      'mac': ['0x00', '0x16', '0x3e', '0x10', '0x10', '0x10'], 'status': 'enable' },"
	"    { 'type': 'blk', 'addr': '0x119220400', 'len': '0x200', 'irq': 11,"
	"      'img': 'rootfs2.img', 'status': 'enable' } ] } ] }";

static void test_upstream_qemu_aarch64(void **state)
{
	struct hv_virtio_config *cfg = parse_ok(upstream_qemu_aarch64);
	const struct hv_virtio_zone *z = &cfg->zones[0];
	const struct hv_virtio_device *d;

	assert_int_equal(cfg->n_zones, 1);
	assert_int_equal(z->zone_id, 1);
	assert_int_equal(z->n_mem, 1);
	assert_int_equal(z->mem[0].zone0_ipa, 0x50000000);
	assert_int_equal(z->mem[0].zonex_ipa, 0x50000000);
	assert_int_equal(z->mem[0].size, 0x30000000);
	assert_int_equal(z->n_devices, 2);

	d = &z->devices[0];
	assert_int_equal(d->type, HV_VIRTIO_BLK);
	assert_int_equal(d->addr, 0xa003c00);
	assert_int_equal(d->len, 0x200);
	assert_int_equal(d->irq, 78);
	assert_true(d->enabled);
	assert_true(d->has_zone_id);
	assert_int_equal(d->zone_id, 1);
	assert_string_equal(d->img, "rootfs2.ext4");
	assert_false(d->readonly);
	assert_string_equal(d->serial, "");
	assert_int_equal(d->aio, HV_AIO_DEFAULT);

	d = &z->devices[1];
	assert_int_equal(d->type, HV_VIRTIO_CONSOLE);
	assert_int_equal(d->addr, 0xa003800);
	assert_int_equal(d->irq, 76);
	assert_null(d->img);
	hv_virtio_config_free(cfg);
	(void)state;
}

static void test_upstream_x86_net(void **state)
{
	struct hv_virtio_config *cfg = parse_ok(upstream_x86);
	const struct hv_virtio_zone *z = &cfg->zones[0];
	const uint8_t mac[6] = {0x00, 0x16, 0x3e, 0x10, 0x10, 0x10};

	assert_int_equal(z->mem[0].zone0_ipa, 0x100000000ull);
	assert_int_equal(z->mem[0].zonex_ipa, 0);
	assert_int_equal(z->mem[0].size, 0x119220000ull);
	assert_int_equal(z->n_devices, 3);
	assert_int_equal(z->devices[0].addr, 0x119220000ull);
	assert_int_equal(z->devices[1].type, HV_VIRTIO_NET);
	assert_string_equal(z->devices[1].tap, "tap0");
	assert_true(z->devices[1].has_mac);
	assert_memory_equal(z->devices[1].mac, mac, 6);
	assert_int_equal(z->devices[2].type, HV_VIRTIO_BLK);
	assert_string_equal(z->devices[2].img, "rootfs2.img");
	hv_virtio_config_free(cfg);
	(void)state;
}

/* Upstream types this project does not implement are refused when enabled;
 * when disabled upstream never looks at them, so neither do we. */
static void test_upstream_unsupported_types(void **state)
{
	struct hv_virtio_config *cfg;

	/* examples/qemu-aarch64/with_virtio_gpu/virtio_cfg_ruxos.json */
	rejects("{'zones': [{'id': 1, 'memory_region': [{'zone0_ipa': '0x50000000',"
		"'zonex_ipa': '0x40000000', 'size': '0x30000000'}], 'devices': [{'type': 'gpu',"
		"'addr': '0xa003400', 'len': '0x200', 'irq': 74, 'width': 1280, 'height': 800,"
		"'status': 'enable'}]}]}",
		"zones[0].devices[0].type", "not supported");
	/* rk3588 with_virtio_scmi */
	device_rejects("'type': 'scmi', 'addr': '0xff9c0000', 'len': '0x200', 'irq': 75,"
		       "'status': 'enable', 'allowed_list': {'reset_ids': [0]}",
		       "zones[0].devices[0].type", "device type 'scmi' is not supported");
	/* status missing = enabled */
	device_rejects("'type': 'gpu', 'addr': 1, 'len': 512, 'irq': 1", "zones[0].devices[0].type",
		       "not supported");

	cfg = parse_ok("{'zones': [{'id': 1, 'devices': ["
		       "{'type': 'gpu', 'status': 'disable', 'width': 'x'},"
		       "{'type': 'console', 'addr': 1, 'len': 512, 'irq': 1}]}]}");
	assert_int_equal(cfg->zones[0].n_devices, 1);
	assert_int_equal(cfg->zones[0].devices[0].type, HV_VIRTIO_CONSOLE);
	hv_virtio_config_free(cfg);
	(void)state;
}

/* Numbers: JSON integers or strings in upstream's syntax (0x, octal, decimal). */
static void test_number_forms(void **state)
{
	struct hv_virtio_config *cfg;
	const struct hv_virtio_device *d;

	cfg = device_ok("'type': 'console', 'addr': 167787520, 'len': 512, 'irq': '78'");
	d = &cfg->zones[0].devices[0];
	assert_int_equal(d->addr, 0xa003c00);
	assert_int_equal(d->len, 0x200);
	assert_int_equal(d->irq, 78);
	hv_virtio_config_free(cfg);

	cfg = device_ok("'type': 'console', 'addr': '0XA003C00', 'len': '01000', 'irq': '0116'");
	d = &cfg->zones[0].devices[0];
	assert_int_equal(d->addr, 0xa003c00);
	assert_int_equal(d->len, 01000);
	assert_int_equal(d->irq, 78);
	hv_virtio_config_free(cfg);

	/* 64-bit addresses as strings and as JSON integers */
	cfg = device_ok("'type': 'console', 'addr': '0xfffffffffffffc00', 'len': '0x200', "
			"'irq': 1023");
	d = &cfg->zones[0].devices[0];
	assert_int_equal(d->addr, 0xfffffffffffffc00ull);
	assert_int_equal(d->irq, 1023);
	hv_virtio_config_free(cfg);
	cfg = device_ok("'type': 'console', 'addr': 18446744073709550592, 'len': 512, 'irq': 5");
	assert_int_equal(cfg->zones[0].devices[0].addr, 0xfffffffffffffc00ull);
	hv_virtio_config_free(cfg);

	/* zone ids: any u32 */
	cfg = parse_ok("{'zones': [{'id': '0xffffffff'}, {'id': 0}, {'id': 31}, {'id': 32}]}");
	assert_int_equal(cfg->n_zones, 4);
	assert_int_equal(cfg->zones[0].zone_id, UINT32_MAX);
	assert_int_equal(cfg->zones[1].zone_id, 0);
	assert_int_equal(cfg->zones[3].zone_id, 32);
	assert_int_equal(cfg->zones[0].n_mem, 0);
	assert_int_equal(cfg->zones[0].n_devices, 0);
	hv_virtio_config_free(cfg);
	(void)state;
}

static void test_mac_forms(void **state)
{
	const uint8_t want[6] = {0x02, 0x16, 0x3e, 0xab, 0xcd, 0xef};
	static const char *const forms[] = {
		"[2, 22, 62, 171, 205, 239]",
		"['0x02', '0x16', '0x3e', '0xab', '0xcd', '0xef']",
		"['2', '026', '0x3e', 171, '0XCD', '239']",
		"'02:16:3e:ab:cd:ef'",
		"'02:16:3E:AB:CD:EF'",
	};
	struct hv_virtio_config *cfg;

	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		char *dev;

		assert_true(asprintf(&dev,
				     "'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, "
				     "'tap': 'tap0', 'mac': %s",
				     forms[i]) > 0);
		cfg = device_ok(dev);
		assert_true(cfg->zones[0].devices[0].has_mac);
		assert_memory_equal(cfg->zones[0].devices[0].mac, want, 6);
		hv_virtio_config_free(cfg);
		free(dev);
	}

	/* no mac: the backend picks one */
	cfg = device_ok("'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 'a'");
	assert_false(cfg->zones[0].devices[0].has_mac);
	hv_virtio_config_free(cfg);
	(void)state;
}

static void test_status_and_disabled(void **state)
{
	struct hv_virtio_config *cfg;
	const struct hv_virtio_zone *z;

	cfg = parse_ok("{'zones': [{'id': 3, 'devices': ["
		       "{'type': 'console', 'addr': 1, 'len': 512, 'irq': 1, 'status': 'enable'},"
		       "{'type': 'console', 'addr': 1, 'len': 512, 'irq': 2, 'status': 'disable'},"
		       "{'type': 'blk', 'addr': 4096, 'len': 512, 'irq': 3, 'img': 'x',"
		       " 'status': 'yes please'},"
		       "{'type': 'net', 'addr': 8192, 'len': 512, 'irq': 4, 'tap': 't'},"
		       "{'type': 'blk', 'addr': 4096, 'len': 4096, 'irq': 5, 'img': 'y',"
		       " 'status': 'disable'}]}]}");
	z = &cfg->zones[0];
	assert_int_equal(z->n_devices, 5);
	assert_true(z->devices[0].enabled);
	/* disabled devices are kept and do not count for overlaps */
	assert_false(z->devices[1].enabled);
	assert_int_equal(z->devices[1].irq, 2);
	assert_int_equal(z->devices[1].zone_id, 3);
	assert_true(z->devices[2].enabled);
	assert_true(z->devices[3].enabled);
	assert_false(z->devices[4].enabled);
	assert_string_equal(z->devices[4].img, "y");
	hv_virtio_config_free(cfg);

	device_rejects("'type': 'console', 'addr': 1, 'len': 512, 'irq': 1, 'status': false",
		       "zones[0].devices[0].status", "expected a string");
	device_rejects("'type': 'console', 'addr': 1, 'len': 512, 'irq': 1, 'status': 0",
		       "zones[0].devices[0].status", "expected a string");
	/* a disabled device is still checked (typos are caught early) */
	device_rejects("'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, 'status': 'disable'",
		       "zones[0].devices[0].img", "missing");
	device_rejects("'type': 'gpu', 'status': 7", "zones[0].devices[0].status",
		       "expected a string");
	(void)state;
}

static void test_memory_regions(void **state)
{
	struct hv_virtio_config *cfg;
	const struct hv_virtio_zone *z;
	static char doc[DOC_SIZE];
	size_t n, mark;

	/* size 0 entries are dropped (upstream logs and skips them) */
	cfg = parse_ok("{'zones': [{'id': 1, 'memory_region': ["
		       "{'zone0_ipa': 1, 'zonex_ipa': 2, 'size': 0},"
		       "{'zone0_ipa': '0x80000000', 'zonex_ipa': 0, 'size': '0x1000'},"
		       "{'zone0_ipa': 5, 'zonex_ipa': 0, 'size': '0'},"
		       "{'zone0_ipa': '0x90000000', 'zonex_ipa': '0x1000', 'size': 4096, "
		       " 'type': 'normal'}]}]}");
	z = &cfg->zones[0];
	assert_int_equal(z->n_mem, 2);
	assert_int_equal(z->mem[0].zone0_ipa, 0x80000000);
	assert_int_equal(z->mem[0].zonex_ipa, 0);
	assert_int_equal(z->mem[1].zonex_ipa, 0x1000);
	hv_virtio_config_free(cfg);

	/* the same host RAM seen twice is fine; guest ranges must not overlap */
	cfg = parse_ok("{'zones': [{'id': 1, 'memory_region': ["
		       "{'zone0_ipa': 0, 'zonex_ipa': 0, 'size': 4096},"
		       "{'zone0_ipa': 0, 'zonex_ipa': 4096, 'size': 4096}]}]}");
	assert_int_equal(cfg->zones[0].n_mem, 2);
	hv_virtio_config_free(cfg);
	rejects("{'zones': [{'id': 1, 'memory_region': ["
		"{'zone0_ipa': 0, 'zonex_ipa': 0, 'size': 4096},"
		"{'zone0_ipa': 0, 'zonex_ipa': 0, 'size': 0},"
		"{'zone0_ipa': 8192, 'zonex_ipa': 4095, 'size': 2}]}]}",
		"zones[0].memory_region[2]", "overlaps zones[0].memory_region[0]");
	rejects("{'zones': [{'id': 1, 'memory_region': ["
		"{'zone0_ipa': '0xfffffffffffff000', 'zonex_ipa': 0, 'size': '0x1001'}]}]}",
		"zones[0].memory_region[0].size", "overflow");
	rejects("{'zones': [{'id': 1, 'memory_region': ["
		"{'zone0_ipa': 0, 'zonex_ipa': '0xfffffffffffff000', 'size': '0x2000'}]}]}",
		"zones[0].memory_region[0].size", "overflow");
	rejects("{'zones': [{'id': 1, 'memory_region': [{'zonex_ipa': 0, 'size': 1}]}]}",
		"zones[0].memory_region[0].zone0_ipa", "missing");
	rejects("{'zones': [{'id': 1, 'memory_region': [{'zone0_ipa': 0, 'size': 1}]}]}",
		"zones[0].memory_region[0].zonex_ipa", "missing");
	rejects("{'zones': [{'id': 1, 'memory_region': [{'zone0_ipa': 0, 'zonex_ipa': 1}]}]}",
		"zones[0].memory_region[0].size", "missing");
	rejects("{'zones': [{'id': 1, 'memory_region': [{'zone0_ipa': -1, 'zonex_ipa': 0,"
		"'size': 1}]}]}",
		"zones[0].memory_region[0].zone0_ipa", "must not be negative");
	rejects("{'zones': [{'id': 1, 'memory_region': [{'zone0_ipa': 'x', 'zonex_ipa': 0,"
		"'size': 1}]}]}",
		"zones[0].memory_region[0].zone0_ipa", "expected a number");
	rejects("{'zones': [{'id': 1, 'memory_region': [{'zone0_ipa': 1.5, 'zonex_ipa': 0,"
		"'size': 1}]}]}",
		"zones[0].memory_region[0].zone0_ipa", "got a fraction");
	rejects("{'zones': [{'id': 1, 'memory_region': [7]}]}", "zones[0].memory_region[0]",
		"expected an object");
	rejects("{'zones': [{'id': 1, 'memory_region': {}}]}", "zones[0].memory_region",
		"expected an array");

	/* at most 64 entries, even of size 0 */
	n = 0;
	append(doc, &n, "{'zones': [{'id': 1, 'memory_region': [");
	for (int i = 0; i < HV_VIRTIO_MAX_MEM; i++)
		append(doc, &n, "%s{'zone0_ipa': %d, 'zonex_ipa': %d, 'size': 1}", i ? "," : "", i,
		       i);
	mark = n;
	append(doc, &n, "]}]}");
	cfg = parse_ok(doc);
	assert_int_equal(cfg->zones[0].n_mem, HV_VIRTIO_MAX_MEM);
	hv_virtio_config_free(cfg);
	n = mark;
	append(doc, &n, ",{'zone0_ipa': 0, 'zonex_ipa': 0, 'size': 0}]}]}");
	rejects(doc, "zones[0].memory_region", "at most 64 entries");
	(void)state;
}

static void test_zones(void **state)
{
	struct hv_virtio_config *cfg;
	static char doc[DOC_SIZE];
	size_t n, mark;

	rejects("[]", "", "must be a JSON object");
	rejects("null", "", "must be a JSON object");
	rejects("{}", "zones", "missing");
	rejects("{'devices': []}", "zones", "flat \"devices\" list");
	rejects("{'zones': {}}", "zones", "expected an array");
	rejects("{'zones': [1]}", "zones[0]", "expected an object");
	rejects("{'zones': [{}]}", "zones[0].id", "missing");
	rejects("{'zones': [{'id': -1}]}", "zones[0].id", "must not be negative");
	rejects("{'zones': [{'id': '0x100000000'}]}", "zones[0].id", "must be <= 4294967295");
	rejects("{'zones': [{'id': 1}, {'id': 2}, {'id': '1'}]}", "zones[2].id",
		"zone 1 is already listed in zones[0]");
	rejects("{'zones': [{'id': 1, 'devices': {}}]}", "zones[0].devices", "expected an array");
	rejects("{'zones': [{'id': 1, 'devices': [[]]}]}", "zones[0].devices[0]",
		"expected an object");

	/* no zones at all; unknown keys outside devices are ignored (upstream
	 * examples carry "name") */
	cfg = parse_ok("{'zones': [], 'comment': 1}");
	assert_int_equal(cfg->n_zones, 0);
	hv_virtio_config_free(cfg);
	cfg = parse_ok("{'zones': [{'id': 1, 'name': 'linux', 'devices': []}]}");
	assert_int_equal(cfg->n_zones, 1);
	hv_virtio_config_free(cfg);

	/* at most 32 zones */
	n = 0;
	append(doc, &n, "{'zones': [");
	for (int i = 0; i < HV_VIRTIO_MAX_ZONES; i++)
		append(doc, &n, "%s{'id': %d}", i ? "," : "", i + 100);
	mark = n;
	append(doc, &n, "]}");
	cfg = parse_ok(doc);
	assert_int_equal(cfg->n_zones, HV_VIRTIO_MAX_ZONES);
	assert_int_equal(cfg->zones[31].zone_id, 131);
	hv_virtio_config_free(cfg);
	n = mark;
	append(doc, &n, ",{'id': 1}]}");
	rejects(doc, "zones", "at most 32 entries");

	/* at most 32 devices per zone */
	n = 0;
	append(doc, &n, "{'zones': [{'id': 1, 'devices': [");
	for (int i = 0; i < HV_VIRTIO_MAX_DEVICES; i++)
		append(doc, &n, "%s{'type': 'console', 'addr': %d, 'len': 512, 'irq': %d}",
		       i ? "," : "", 0x10000 + i * 0x200, i + 1);
	mark = n;
	append(doc, &n, "]}]}");
	cfg = parse_ok(doc);
	assert_int_equal(cfg->zones[0].n_devices, HV_VIRTIO_MAX_DEVICES);
	hv_virtio_config_free(cfg);
	n = mark;
	append(doc, &n, ",{'type': 'console', 'addr': 1, 'len': 512, 'irq': 1}]}]}");
	rejects(doc, "zones[0].devices", "at most 32 entries");
	(void)state;
}

static void test_device_rejections(void **state)
{
	static const struct {
		const char *device, *key, *msg;
	} cases[] = {
		/* type */
		{"'addr': 1, 'len': 512, 'irq': 1", "type", "missing"},
		{"'type': 'disk', 'addr': 1, 'len': 512, 'irq': 1", "type",
		 "unknown device type 'disk'"},
		{"'type': 'BLK', 'addr': 1, 'len': 512, 'irq': 1", "type", "unknown device type"},
		{"'type': 2, 'addr': 1, 'len': 512, 'irq': 1", "type", "expected a string"},
		{"'type': 'net\\u0000', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 't'", "type",
		 "contains a NUL character"},
		/* addr, len, irq */
		{"'type': 'console', 'len': 512, 'irq': 1", "addr", "missing"},
		{"'type': 'console', 'addr': 1, 'irq': 1", "len", "missing"},
		{"'type': 'console', 'addr': 1, 'len': 512", "irq", "missing"},
		{"'type': 'console', 'addr': 0, 'len': 512, 'irq': 1", "addr", "must not be 0"},
		{"'type': 'console', 'addr': '0x0', 'len': 512, 'irq': 1", "addr", "must not be 0"},
		{"'type': 'console', 'addr': 1, 'len': 0, 'irq': 1", "len", "must not be 0"},
		{"'type': 'console', 'addr': 1, 'len': '0x1ff', 'irq': 1", "len",
		 "must be >= 0x200"},
		{"'type': 'console', 'addr': 1, 'len': 512, 'irq': 0", "irq", "must not be 0"},
		{"'type': 'console', 'addr': 1, 'len': 512, 'irq': 1024", "irq", "must be <= 1023"},
		{"'type': 'console', 'addr': 1, 'len': 512, 'irq': '99999999999'", "irq",
		 "must be <= 1023"},
		{"'type': 'console', 'addr': '0xfffffffffffffe01', 'len': '0x200', 'irq': 1", "len",
		 "overflows"},
		{"'type': 'console', 'addr': 1, 'len': '0xffffffffffffffff', 'irq': 1", "len",
		 "overflows"},
		{"'type': 'console', 'addr': 'abc', 'len': 512, 'irq': 1", "addr",
		 "expected a number"},
		{"'type': 'console', 'addr': ' 1', 'len': 512, 'irq': 1", "addr",
		 "expected a number"},
		{"'type': 'console', 'addr': '08', 'len': 512, 'irq': 1", "addr",
		 "expected a number"},
		{"'type': 'console', 'addr': '0x10000000000000000', 'len': 512, 'irq': 1", "addr",
		 "does not fit in 64 bits"},
		{"'type': 'console', 'addr': 18446744073709551615, 'len': 512, 'irq': 1", "addr",
		 "integer too large"},
		{"'type': 'console', 'addr': true, 'len': 512, 'irq': 1", "addr",
		 "expected a number, got boolean"},
		{"'type': 'console', 'addr': null, 'len': 512, 'irq': 1", "addr",
		 "expected a number, got null"},
		{"'type': 'console', 'addr': 1, 'len': 512.0, 'irq': 1", "len", "got a fraction"},
		{"'type': 'console', 'addr': 1, 'len': 512, 'irq': -3", "irq",
		 "must not be negative"},
		/* unknown keys and keys of other types */
		{"'type': 'console', 'addr': 1, 'len': 512, 'irq': 1, 'adr': 2", "adr",
		 "unknown key"},
		{"'type': 'console', 'addr': 1, 'len': 512, 'irq': 1, 'zone_id': 1", "zone_id",
		 "unknown key"},
		{"'type': 'console', 'addr': 1, 'len': 512, 'irq': 1, 'width': 1280", "width",
		 "unknown key"},
		{"'type': 'console', 'addr': 1, 'len': 512, 'irq': 1, 'img': 'x'", "img",
		 "not an option of console devices (only of blk devices)"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 't', 'readonly': true",
		 "readonly", "not an option of net devices"},
		{"'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, 'img': 'x', 'mac': 'x'", "mac",
		 "not an option of blk devices (only of net devices)"},
		{"'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, 'img': 'x', 'tap': 't'", "tap",
		 "not an option of blk"},
		/* blk */
		{"'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1", "img", "missing"},
		{"'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, 'img': ''", "img",
		 "must not be empty"},
		{"'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, 'img': 5", "img",
		 "expected a string"},
		{"'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, 'img': 'x', 'readonly': 2",
		 "readonly", "expected true, false, 0 or 1"},
		{"'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, 'img': 'x', 'readonly': 'yes'",
		 "readonly", "expected true, false, 0 or 1"},
		{"'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, 'img': 'x', "
		 "'serial': '123456789012345678901'",
		 "serial", "longer than 20 bytes"},
		{"'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, 'img': 'x', 'serial': 'a\\tb'",
		 "serial", "printable ASCII"},
		{"'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, 'img': 'x', 'serial': 'caf\\u00e9'",
		 "serial", "printable ASCII"},
		{"'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, 'img': 'x', 'serial': 1",
		 "serial", "expected a string"},
		{"'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, 'img': 'x', 'aio': 'native'",
		 "aio", "unknown I/O engine 'native'"},
		{"'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, 'img': 'x', 'aio': 'SYNC'", "aio",
		 "unknown I/O engine"},
		/* net */
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1", "tap", "missing"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': ''", "tap",
		 "must not be empty"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': '0123456789abcdef'", "tap",
		 "longer than 15 bytes"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 'tap 0'", "tap",
		 "may only contain"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 'tap/0'", "tap",
		 "may only contain"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 'tap:0'", "tap",
		 "may only contain"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': '..'", "tap",
		 "not a valid interface name"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 't', 'mac': [1, 2, 3]",
		 "mac", "expected 6 bytes, got 3"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 't', "
		 "'mac': [0, 1, 2, 3, 4, 5, 6]",
		 "mac", "expected 6 bytes, got 7"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 't', "
		 "'mac': [0, 1, 2, 3, 4, 256]",
		 "mac[5]", "must be <= 255"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 't', "
		 "'mac': [0, 1, 2, '0x1g', 4, 5]",
		 "mac[3]", "expected a number"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 't', "
		 "'mac': [0, 1, 2, null, 4, 5]",
		 "mac[3]", "expected a number"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 't', "
		 "'mac': [1, 0, 0, 0, 0, 1]",
		 "mac", "multicast"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 't', "
		 "'mac': 'ff:ff:ff:ff:ff:ff'",
		 "mac", "multicast"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 't', "
		 "'mac': '00:16:3e:10:10'",
		 "mac", "expected a MAC address"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 't', "
		 "'mac': '00:16:3e:10:10:10:'",
		 "mac", "expected a MAC address"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 't', "
		 "'mac': '0:16:3e:10:10:10'",
		 "mac", "expected a MAC address"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 't', "
		 "'mac': '00-16-3e-10-10-10'",
		 "mac", "expected a MAC address"},
		{"'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 't', 'mac': {}", "mac",
		 "expected an array of 6 numbers or a string"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char path[128];

		snprintf(path, sizeof(path), "zones[0].devices[0].%s", cases[i].key);
		device_rejects(cases[i].device, path, cases[i].msg);
	}
	(void)state;
}

static void test_blk_options(void **state)
{
	struct hv_virtio_config *cfg;
	const struct hv_virtio_device *d;
	static const struct {
		const char *aio;
		enum hv_blk_aio want;
	} aios[] = {
		{"default", HV_AIO_DEFAULT},
		{"sync", HV_AIO_SYNC},
		{"threads", HV_AIO_THREADS},
		{"io_uring", HV_AIO_IO_URING},
	};

	cfg = device_ok("'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, 'img': '/dev/sda 1',"
			"'readonly': true, 'serial': '12345678901234567890', 'aio': 'io_uring'");
	d = &cfg->zones[0].devices[0];
	assert_string_equal(d->img, "/dev/sda 1");
	assert_true(d->readonly);
	assert_string_equal(d->serial, "12345678901234567890");
	assert_int_equal(d->aio, HV_AIO_IO_URING);
	hv_virtio_config_free(cfg);

	cfg = device_ok("'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, 'img': 'a',"
			"'readonly': 0, 'serial': ''");
	d = &cfg->zones[0].devices[0];
	assert_false(d->readonly);
	assert_string_equal(d->serial, "");
	hv_virtio_config_free(cfg);
	cfg = device_ok(
		"'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, 'img': 'a', 'readonly': 1");
	assert_true(cfg->zones[0].devices[0].readonly);
	assert_false(cfg->zones[0].devices[0].share);
	hv_virtio_config_free(cfg);
	cfg = device_ok(
		"'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, 'img': 'a', 'share': true");
	assert_true(cfg->zones[0].devices[0].share);
	assert_false(cfg->zones[0].devices[0].readonly);
	hv_virtio_config_free(cfg);

	for (size_t i = 0; i < ARRAY_SIZE(aios); i++) {
		char *dev;

		assert_true(asprintf(&dev,
				     "'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1, "
				     "'img': 'a', 'aio': '%s'",
				     aios[i].aio) > 0);
		cfg = device_ok(dev);
		assert_int_equal(cfg->zones[0].devices[0].aio, aios[i].want);
		hv_virtio_config_free(cfg);
		free(dev);
	}
	(void)state;
}

static void test_net_tap_names(void **state)
{
	static const char *const ok[] = {"t", "tap0", "hvtap-zone_1.2", "012345678901234", "..."};
	struct hv_virtio_config *cfg;

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		char *dev;

		assert_true(asprintf(&dev,
				     "'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, "
				     "'tap': '%s'",
				     ok[i]) > 0);
		cfg = device_ok(dev);
		assert_string_equal(cfg->zones[0].devices[0].tap, ok[i]);
		hv_virtio_config_free(cfg);
		free(dev);
	}
	device_rejects("'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': '.'",
		       "zones[0].devices[0].tap", "not a valid interface name");
	(void)state;
}

static void test_device_overlaps(void **state)
{
	struct hv_virtio_config *cfg;

	rejects("{'zones': [{'id': 1, 'devices': ["
		"{'type': 'console', 'addr': '0xa003800', 'len': '0x200', 'irq': 76},"
		"{'type': 'blk', 'addr': '0xa003c00', 'len': '0x200', 'irq': 78, 'img': 'x'},"
		"{'type': 'console', 'addr': '0xa003d00', 'len': '0x200', 'irq': 79}]}]}",
		"zones[0].devices[2]", "overlaps zones[0].devices[1] (blk at 0xa003c00+0x200)");
	rejects("{'zones': [{'id': 1}, {'id': 2, 'devices': ["
		"{'type': 'console', 'addr': '0x1000', 'len': '0x1000', 'irq': 76},"
		"{'type': 'console', 'addr': '0x1800', 'len': '0x200', 'irq': 78}]}]}",
		"zones[1].devices[1]", "0x1800+0x200 overlaps zones[1].devices[0]");
	/* a disabled gpu skipped in between: indexes are the file's */
	rejects("{'zones': [{'id': 1, 'devices': ["
		"{'type': 'gpu', 'status': 'disable'},"
		"{'type': 'console', 'addr': '0x1000', 'len': '0x1000', 'irq': 76},"
		"{'type': 'console', 'addr': '0x1800', 'len': '0x200', 'irq': 78}]}]}",
		"zones[0].devices[2]", "overlaps zones[0].devices[1]");

	/* adjacent windows, and the same address in different zones (upstream's
	 * LoongArch example) */
	cfg = parse_ok("{'zones': ["
		       "{'id': 1, 'devices': ["
		       "{'type': 'console', 'addr': '0x30001000', 'len': '0x200', 'irq': 4},"
		       "{'type': 'console', 'addr': '0x30001200', 'len': '0x200', 'irq': 4}]},"
		       "{'id': 3, 'devices': ["
		       "{'type': 'console', 'addr': '0x30001000', 'len': '0x200', 'irq': 4}]}]}");
	assert_int_equal(cfg->zones[0].n_devices, 2);
	assert_int_equal(cfg->zones[1].n_devices, 1);
	assert_int_equal(cfg->zones[1].devices[0].zone_id, 3);
	hv_virtio_config_free(cfg);
	(void)state;
}

/* Errors after devices with images were stored: nothing leaks (ASan). */
static void test_error_after_allocations(void **state)
{
	rejects("{'zones': [{'id': 1, 'devices': ["
		"{'type': 'blk', 'addr': 4096, 'len': 512, 'irq': 1, 'img': 'a'},"
		"{'type': 'blk', 'addr': 8192, 'len': 512, 'irq': 1, 'img': 'b'}]},"
		"{'id': 2, 'devices': ["
		"{'type': 'blk', 'addr': 4096, 'len': 512, 'irq': 1, 'img': 'c'}]},"
		"{'id': 3, 'devices': ["
		"{'type': 'blk', 'addr': 4096, 'len': 512, 'irq': 1, 'img': 'd'},"
		"{'type': 'blk', 'addr': 4096, 'len': 512, 'irq': 1, 'img': 'e'}]}]}",
		"zones[2].devices[1]", "overlaps");
	rejects("{'zones': [{'id': 1, 'devices': ["
		"{'type': 'blk', 'addr': 4096, 'len': 512, 'irq': 1, 'img': 'a'}]},"
		"{'id': 1}]}",
		"zones[1].id", "already listed");
	rejects("{'zones': [{'id': 1, 'devices': ["
		"{'type': 'blk', 'addr': 4096, 'len': 512, 'irq': 1, 'img': 'a'}]},"
		"{'id': 2, 'memory_region': [{}]}]}",
		"zones[1].memory_region[0].zone0_ipa", "missing");
	(void)state;
}

static void test_parse_string(void **state)
{
	struct hv_virtio_config *cfg = NULL;
	struct hv_error err = {0};
	const char nul[] = "{\"zones\": []}\0";
	char *big;
	size_t n = 1024 * 1024 + 1;
	int r;

	rejects("", "", "unexpected end of input");
	rejects("{", "", "JSON syntax error");
	rejects("{'zones': [}", "", "JSON syntax error at line 1");
	rejects("{'zones': []} x", "", "unexpected data after the JSON document");

	r = hv_virtio_config_parse_string(nul, sizeof(nul) - 1, &cfg, &err);
	expect_error(r, &err, "", "NUL byte");
	r = hv_virtio_config_parse_string(NULL, 0, &cfg, &err);
	expect_error(r, &err, "", "no config text");

	big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	r = hv_virtio_config_parse_string(big, n, &cfg, &err);
	expect_error(r, &err, "", "larger than");
	free(big);

	/* deep nesting is refused, without a stack overflow */
	big = malloc(200000);
	assert_non_null(big);
	memset(big, '[', 200000);
	r = hv_virtio_config_parse_string(big, 200000, &cfg, &err);
	expect_error(r, &err, "", "the config nests deeper than 32 levels");
	free(big);
	assert_null(cfg);
	(void)state;
}

/* ---- --device strings -------------------------------------------------- */

static void test_spec_valid(void **state)
{
	struct hv_virtio_device d = {0};
	const uint8_t mac[6] = {0x00, 0x16, 0x3e, 0x10, 0x10, 0x10};

	spec_ok("blk,addr=0xa003c00,len=0x200,irq=78,img=disk.img", &d);
	assert_int_equal(d.type, HV_VIRTIO_BLK);
	assert_int_equal(d.addr, 0xa003c00);
	assert_int_equal(d.len, 0x200);
	assert_int_equal(d.irq, 78);
	assert_true(d.enabled);
	assert_false(d.has_zone_id);
	assert_string_equal(d.img, "disk.img");
	assert_false(d.readonly);
	assert_int_equal(d.aio, HV_AIO_DEFAULT);
	hv_virtio_device_clear(&d);
	assert_null(d.img);

	/* hex without 0x, like upstream's strtoul(.., 16) */
	spec_ok("blk,irq=010,len=200,addr=A003C00,img=/var/lib/x y.img,readonly,zone_id=12,"
		"serial=SN-01,aio=threads",
		&d);
	assert_int_equal(d.addr, 0xa003c00);
	assert_int_equal(d.len, 0x200);
	assert_int_equal(d.irq, 10); /* decimal, not octal */
	assert_true(d.has_zone_id);
	assert_int_equal(d.zone_id, 12);
	assert_string_equal(d.img, "/var/lib/x y.img");
	assert_true(d.readonly);
	assert_string_equal(d.serial, "SN-01");
	assert_int_equal(d.aio, HV_AIO_THREADS);
	hv_virtio_device_clear(&d);

	static const struct {
		const char *v;
		bool want;
	} ro[] = {{"1", true},	{"true", true},	  {"on", true},
		  {"0", false}, {"false", false}, {"off", false}};
	for (size_t i = 0; i < ARRAY_SIZE(ro); i++) {
		char spec[128];

		snprintf(spec, sizeof(spec), "blk,addr=1,len=200,irq=1,img=a,readonly=%s", ro[i].v);
		spec_ok(spec, &d);
		assert_int_equal(d.readonly, ro[i].want);
		assert_false(d.share);
		hv_virtio_device_clear(&d);
		snprintf(spec, sizeof(spec), "blk,addr=1,len=200,irq=1,img=a,share=%s", ro[i].v);
		spec_ok(spec, &d);
		assert_int_equal(d.share, ro[i].want);
		assert_false(d.readonly);
		hv_virtio_device_clear(&d);
	}
	spec_ok("blk,addr=1,len=200,irq=1,img=a,share", &d);
	assert_true(d.share);
	hv_virtio_device_clear(&d);

	spec_ok("net,addr=0xa003600,len=0x200,irq=77,tap=tap0,mac=00:16:3E:10:10:10", &d);
	assert_int_equal(d.type, HV_VIRTIO_NET);
	assert_string_equal(d.tap, "tap0");
	assert_true(d.has_mac);
	assert_memory_equal(d.mac, mac, 6);
	assert_null(d.img);
	hv_virtio_device_clear(&d);

	spec_ok("net,addr=1,len=200,irq=1,tap=t", &d);
	assert_false(d.has_mac);
	hv_virtio_device_clear(&d);

	spec_ok("console,addr=0xa003800,len=0x200,irq=76,zone_id=4294967295", &d);
	assert_int_equal(d.type, HV_VIRTIO_CONSOLE);
	assert_int_equal(d.zone_id, UINT32_MAX);
	hv_virtio_device_clear(&d);

	/* the window may end just below 2^64 */
	spec_ok("console,addr=0xfffffffffffffc00,len=0x200,irq=1023", &d);
	assert_int_equal(d.addr, 0xfffffffffffffc00ull);
	hv_virtio_device_clear(&d);
	(void)state;
}

static void test_spec_errors(void **state)
{
	static const struct {
		const char *spec, *path, *msg;
	} cases[] = {
		{"", "type", "missing"},
		{",addr=1", "type", "missing"},
		{"addr=1,len=200,irq=1", "type", "missing"},
		{"disk,addr=1,len=200,irq=1", "type", "unknown device type 'disk'"},
		{"gpu,addr=1,len=200,irq=1", "type", "not supported"},
		{"scmi", "type", "not supported"},
		{"console", "addr", "missing"},
		{"console,addr=1", "len", "missing"},
		{"console,addr=1,len=200", "irq", "missing"},
		{"console,addr=1,len=200,irq=1,", "", "empty option"},
		{"console,addr=1,,len=200,irq=1", "", "empty option"},
		{"console,addr,len=200,irq=1", "addr", "missing value"},
		{"console,addr=,len=200,irq=1", "addr", "missing value"},
		{"console,addr=1,len=200,irq=1,zone_id", "zone_id", "missing value"},
		{"console,addr=1,len=200,irq=1,foo=2", "foo", "unknown key"},
		{"console,addr=1,len=200,irq=1,type=blk", "type", "unknown key"},
		{"console,addr=1,len=200,irq=1,status=disable", "status", "unknown key"},
		{"console,addr=1,len=200,irq=1,ADDR=2", "ADDR", "unknown key"},
		{"console,addr=1,len=200,irq=1,addr=2", "addr", "given twice"},
		{"blk,addr=1,len=200,irq=1,img=a,readonly,readonly=0", "readonly", "given twice"},
		{"console,addr=1,len=200,irq=1,img=x", "img", "not an option of console devices"},
		{"console,addr=1,len=200,irq=1,tap=x", "tap", "not an option of console devices"},
		{"net,addr=1,len=200,irq=1,tap=t,img=x", "img", "not an option of net devices"},
		{"blk,addr=1,len=200,irq=1,img=x,mac=00:16:3e:10:10:10", "mac",
		 "not an option of blk devices"},
		{"console,addr=0x,len=200,irq=1", "addr", "expected a hex number"},
		{"console,addr=xyz,len=200,irq=1", "addr", "expected a hex number"},
		{"console,addr= 1,len=200,irq=1", "addr", "expected a hex number"},
		{"console,addr=-1,len=200,irq=1", "addr", "expected a hex number"},
		{"console,addr=1g,len=200,irq=1", "addr", "expected a hex number"},
		{"console,addr=10000000000000000,len=200,irq=1", "addr", "does not fit in 64 bits"},
		{"console,addr=0,len=200,irq=1", "addr", "must not be 0"},
		{"console,addr=1,len=0,irq=1", "len", "must not be 0"},
		{"console,addr=1,len=1ff,irq=1", "len", "must be >= 0x200"},
		{"console,addr=fffffffffffffe01,len=200,irq=1", "len", "overflows"},
		{"console,addr=1,len=200,irq=0", "irq", "must not be 0"},
		{"console,addr=1,len=200,irq=1024", "irq", "must be <= 1023"},
		{"console,addr=1,len=200,irq=0x10", "irq", "expected a decimal number"},
		{"console,addr=1,len=200,irq=+1", "irq", "expected a decimal number"},
		{"console,addr=1,len=200,irq=99999999999999999999999", "irq", "must be <= 1023"},
		{"console,addr=1,len=200,irq=1,zone_id=0", "zone_id", "must not be 0"},
		{"console,addr=1,len=200,irq=1,zone_id=4294967296", "zone_id",
		 "must be <= 4294967295"},
		{"console,addr=1,len=200,irq=1,zone_id=x", "zone_id", "expected a decimal number"},
		{"blk,addr=1,len=200,irq=1", "img", "missing"},
		{"blk,addr=1,len=200,irq=1,img=a,readonly=yes", "readonly",
		 "expected nothing, on, off, 1, 0, true or false"},
		{"blk,addr=1,len=200,irq=1,img=a,share=yes", "share",
		 "expected nothing, on, off, 1, 0, true or false"},
		{"blk,addr=1,len=200,irq=1,img=a,share,share", "share", "given twice"},
		{"net,addr=1,len=200,irq=1,tap=t,share", "share", "not an option of net devices"},
		{"blk,addr=1,len=200,irq=1,img=a,readonly=", "readonly", "missing value"},
		{"blk,addr=1,len=200,irq=1,img=a,serial=123456789012345678901", "serial",
		 "longer than 20 bytes"},
		{"blk,addr=1,len=200,irq=1,img=a,serial=a\tb", "serial", "printable ASCII"},
		{"blk,addr=1,len=200,irq=1,img=a,aio=native", "aio", "unknown I/O engine"},
		{"net,addr=1,len=200,irq=1", "tap", "missing"},
		{"net,addr=1,len=200,irq=1,tap=0123456789abcdef", "tap", "longer than 15 bytes"},
		{"net,addr=1,len=200,irq=1,tap=a/b", "tap", "may only contain"},
		{"net,addr=1,len=200,irq=1,tap=t,mac=00:16:3e:10:10", "mac",
		 "expected a MAC address"},
		{"net,addr=1,len=200,irq=1,tap=t,mac=01:00:5e:00:00:01", "mac", "multicast"},
		{"net,addr=1,len=200,irq=1,tap=t,mac", "mac", "missing value"},
		{"net,addr=1,len=200,irq=1,tap=t,mac=", "mac", "missing value"},
		{"console,addr=1,len=200,irq=1,\x1b[31m=1", "?[31m", "unknown key"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		spec_rejects(cases[i].spec, cases[i].path, cases[i].msg);
	spec_rejects(NULL, "type", "missing");
	(void)state;
}

/* ---- wire form ----------------------------------------------------------- */

static void roundtrip(const struct hv_virtio_device *d)
{
	struct hv_virtio_device back = {0}, back2 = {0};
	struct hv_error err = {0};
	json_object *o = hv_virtio_device_to_json(d), *o2;
	const char *text;

	assert_non_null(o);
	if (hv_virtio_device_from_json(o, &back, &err) < 0)
		fail_msg("from_json(to_json()) failed: %s: %s (%s)", err.path, err.message,
			 json_object_to_json_string(o));
	assert_dev_equal(d, &back);

	/* through text, as on the socket */
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	o2 = json_tokener_parse(text);
	assert_non_null(o2);
	assert_int_equal(hv_virtio_device_from_json(o2, &back2, &err), 0);
	assert_dev_equal(d, &back2);

	json_object_put(o);
	json_object_put(o2);
	hv_virtio_device_clear(&back);
	hv_virtio_device_clear(&back2);
}

static void test_wire_roundtrip(void **state)
{
	static const char *const specs[] = {
		"blk,addr=0xa003c00,len=0x200,irq=78,img=disk.img",
		("blk,addr=0xa003c00,len=0x200,irq=78,img=d\"i\\sk\xc3\xa9.img,readonly,zone_id=7,"
		 "serial=S N,aio=io_uring"),
		"blk,addr=fffffffffffffc00,len=200,irq=1023,img=x,aio=sync",
		"blk,addr=0xa003c00,len=0x200,irq=78,img=shared.img,share",
		"net,addr=0xa003600,len=0x200,irq=77,tap=tap0",
		"net,addr=0xa003600,len=0x1000,irq=77,tap=hv-tap.0,mac=fe:ff:ff:ff:ff:ff,zone_id=1",
		"console,addr=0xa003800,len=0x200,irq=76",
		"console,addr=8000000000000000,len=200,irq=1,zone_id=4294967295",
	};
	struct hv_virtio_config *cfg;

	for (size_t i = 0; i < ARRAY_SIZE(specs); i++) {
		struct hv_virtio_device d = {0};

		spec_ok(specs[i], &d);
		roundtrip(&d);
		hv_virtio_device_clear(&d);
	}

	/* every device of the file form */
	cfg = parse_ok(upstream_x86);
	for (unsigned i = 0; i < cfg->zones[0].n_devices; i++)
		roundtrip(&cfg->zones[0].devices[i]);
	hv_virtio_config_free(cfg);
	(void)state;
}

static void test_wire_json(void **state)
{
	struct hv_virtio_device d = {0};
	struct hv_error err = {0};
	json_object *o, *v;
	char mac[18];

	/* numbers are JSON integers; mac a string; zone_id only when known */
	spec_ok("net,addr=0xa003600,len=0x200,irq=77,tap=tap0,mac=02:00:00:00:00:01", &d);
	o = hv_virtio_device_to_json(&d);
	assert_true(json_object_object_get_ex(o, "addr", &v));
	assert_true(json_object_is_type(v, json_type_int));
	assert_int_equal(json_object_get_uint64(v), 0xa003600);
	assert_true(json_object_object_get_ex(o, "irq", &v));
	assert_true(json_object_is_type(v, json_type_int));
	assert_true(json_object_object_get_ex(o, "mac", &v));
	assert_string_equal(json_object_get_string(v), "02:00:00:00:00:01");
	assert_false(json_object_object_get_ex(o, "zone_id", NULL));
	assert_false(json_object_object_get_ex(o, "img", NULL));
	json_object_put(o);
	hv_virtio_device_clear(&d);

	/* share only when set (an older hvisord would refuse the key) */
	spec_ok("blk,addr=0xa003c00,len=0x200,irq=78,img=a", &d);
	o = hv_virtio_device_to_json(&d);
	assert_false(json_object_object_get_ex(o, "share", NULL));
	json_object_put(o);
	hv_virtio_device_clear(&d);
	spec_ok("blk,addr=0xa003c00,len=0x200,irq=78,img=a,share=on", &d);
	o = hv_virtio_device_to_json(&d);
	assert_true(json_object_object_get_ex(o, "share", &v));
	assert_true(json_object_get_boolean(v));
	json_object_put(o);
	hv_virtio_device_clear(&d);

	/* the file form's MAC array and string numbers are taken too */
	o = load("{'type': 'net', 'addr': '0x1000', 'len': 512, 'irq': 1, 'tap': 't',"
		 "'mac': [2, 0, 0, 0, 0, 1], 'zone_id': 3}");
	assert_int_equal(hv_virtio_device_from_json(o, &d, &err), 0);
	assert_true(d.has_zone_id);
	assert_int_equal(d.zone_id, 3);
	assert_true(d.enabled);
	hv_mac_format(d.mac, mac);
	assert_string_equal(mac, "02:00:00:00:00:01");
	json_object_put(o);
	hv_virtio_device_clear(&d);

	/* strict */
	wire_rejects("{'type': 'console', 'addr': 1, 'len': 512, 'irq': 1, 'extra': 1}", "extra",
		     "unknown key");
	wire_rejects("{'type': 'console', 'addr': 1, 'len': 512, 'irq': 1, 'status': 'enable'}",
		     "status", "unknown key");
	wire_rejects("{'type': 'console', 'addr': 1, 'len': 512, 'irq': 1, 'img': 'x'}", "img",
		     "not an option of console devices");
	wire_rejects("{'type': 'gpu', 'addr': 1, 'len': 512, 'irq': 1}", "type", "not supported");
	wire_rejects("{'addr': 1, 'len': 512, 'irq': 1}", "type", "missing");
	wire_rejects("{'type': 'console', 'len': 512, 'irq': 1}", "addr", "missing");
	wire_rejects("{'type': 'console', 'addr': 1, 'len': 16, 'irq': 1}", "len",
		     "must be >= 0x200");
	wire_rejects("{'type': 'console', 'addr': 1, 'len': 512, 'irq': 1, 'zone_id': -1}",
		     "zone_id", "must not be negative");
	wire_rejects("{'type': 'blk', 'addr': 1, 'len': 512, 'irq': 1}", "img", "missing");
	wire_rejects("{'type': 'net', 'addr': 1, 'len': 512, 'irq': 1, 'tap': 't', "
		     "'mac': '03:00:00:00:00:00'}",
		     "mac", "multicast");
	wire_rejects("[]", "", "expected an object");
	wire_rejects("'blk'", "", "expected an object");

	assert_true(hv_virtio_device_from_json(NULL, &d, &err) < 0);
	assert_string_equal(err.path, "");
	(void)state;
}

static void test_copy_clear(void **state)
{
	struct hv_virtio_device a = {0}, b = {0}, c = {0};

	spec_ok("blk,addr=0xa003c00,len=0x200,irq=78,img=disk.img,serial=x,zone_id=2", &a);
	assert_int_equal(hv_virtio_device_copy(&b, &a), 0);
	assert_dev_equal(&a, &b);
	assert_ptr_not_equal(a.img, b.img);
	hv_virtio_device_clear(&a);
	assert_null(a.img);
	assert_int_equal(a.addr, 0);
	assert_string_equal(b.img, "disk.img");
	assert_int_equal(hv_virtio_device_copy(&b, &b), 0);
	assert_string_equal(b.img, "disk.img");

	spec_ok("console,addr=1,len=200,irq=1", &a);
	assert_int_equal(hv_virtio_device_copy(&c, &a), 0);
	assert_null(c.img);
	assert_dev_equal(&a, &c);
	hv_virtio_device_clear(&a);
	hv_virtio_device_clear(&b);
	hv_virtio_device_clear(&c);
	hv_virtio_device_clear(&c); /* twice is fine */
	hv_virtio_device_clear(NULL);
	assert_null(hv_virtio_config_free(NULL));
	(void)state;
}

static void test_names(void **state)
{
	enum hv_virtio_type t;
	enum hv_blk_aio a;
	uint8_t mac[6] = {0}, zero[6] = {0};
	char buf[18];

	assert_string_equal(hv_virtio_type_to_string(HV_VIRTIO_BLK), "blk");
	assert_string_equal(hv_virtio_type_to_string(HV_VIRTIO_NET), "net");
	assert_string_equal(hv_virtio_type_to_string(HV_VIRTIO_CONSOLE), "console");
	assert_string_equal(hv_virtio_type_to_string((enum hv_virtio_type)99), "unknown");
	assert_int_equal(HV_VIRTIO_NET, 1); /* virtio device ids */
	assert_int_equal(HV_VIRTIO_BLK, 2);
	assert_int_equal(HV_VIRTIO_CONSOLE, 3);
	assert_int_equal(hv_virtio_type_from_string("net", &t), 0);
	assert_int_equal(t, HV_VIRTIO_NET);
	assert_int_equal(hv_virtio_type_from_string("gpu", &t), -EOPNOTSUPP);
	assert_int_equal(hv_virtio_type_from_string("scmi", &t), -EOPNOTSUPP);
	assert_int_equal(hv_virtio_type_from_string("", &t), -EINVAL);
	assert_int_equal(hv_virtio_type_from_string(NULL, &t), -EINVAL);

	for (int i = HV_AIO_DEFAULT; i <= HV_AIO_IO_URING; i++) {
		assert_int_equal(hv_blk_aio_from_string(hv_blk_aio_to_string(i), &a), 0);
		assert_int_equal(a, i);
	}
	assert_string_equal(hv_blk_aio_to_string(HV_AIO_IO_URING), "io_uring");
	assert_string_equal(hv_blk_aio_to_string((enum hv_blk_aio)42), "unknown");
	assert_int_equal(hv_blk_aio_from_string("posix", &a), -EINVAL);
	assert_int_equal(hv_blk_aio_from_string(NULL, &a), -EINVAL);

	assert_int_equal(hv_mac_parse("00:16:3e:AB:cd:Ef", mac), 0);
	hv_mac_format(mac, buf);
	assert_string_equal(buf, "00:16:3e:ab:cd:ef");
	memset(mac, 0, 6);
	assert_int_equal(hv_mac_parse("00:16:3e:ab:cd:e", mac), -EINVAL);
	assert_int_equal(hv_mac_parse("00:16:3e:ab:cd:eff", mac), -EINVAL);
	assert_int_equal(hv_mac_parse("00:16:3e:ab:cd", mac), -EINVAL);
	assert_int_equal(hv_mac_parse("00.16.3e.ab.cd.ef", mac), -EINVAL);
	assert_int_equal(hv_mac_parse("", mac), -EINVAL);
	assert_int_equal(hv_mac_parse(NULL, mac), -EINVAL);
	assert_memory_equal(mac, zero, 6); /* untouched on failure */
	(void)state;
}

/* ---- shipped examples -------------------------------------------------- */

static const char *const example_files[] = {
	"sim/virtio_cfg.json",
	"qemu-aarch64/virtio_cfg.json",
};

static int check_listed(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	static const char name[] = "virtio_cfg.json";
	size_t len = strlen(path);
	const char *rel;
	bool listed = false;

	(void)st;
	(void)ftw;
	if (type != FTW_F || len < sizeof(name) - 1 ||
	    strcmp(path + len - (sizeof(name) - 1), name) != 0)
		return 0;
	rel = strstr(path, "conf/examples/");
	assert_non_null(rel);
	rel += strlen("conf/examples/");
	for (size_t i = 0; i < ARRAY_SIZE(example_files); i++)
		listed |= strcmp(rel, example_files[i]) == 0;
	if (!listed)
		fail_msg("conf/examples/%s is not covered by test-virtio-config", rel);
	return 0;
}

static void test_examples(void **state)
{
	char dir[4096];

	for (size_t i = 0; i < ARRAY_SIZE(example_files); i++)
		hv_virtio_config_free(parse_example(example_files[i]));
	snprintf(dir, sizeof(dir), "%s/conf/examples", getenv("HV_SOURCE_DIR"));
	assert_int_equal(nftw(dir, check_listed, 8, FTW_PHYS), 0);
	(void)state;
}

/* The devices of a virtio example sit in their zone's virtio windows and use
 * its IRQs, and its RAM map matches the zone's RAM (zone_file: a printf
 * pattern taking the zone id). Returns the number of disabled devices. */
static unsigned check_against_zones(const struct hv_virtio_config *cfg, const char *zone_file)
{
	unsigned disabled = 0;

	for (unsigned zi = 0; zi < cfg->n_zones; zi++) {
		const struct hv_virtio_zone *z = &cfg->zones[zi];
		struct hv_zone_config *zc = NULL;
		struct hv_error err = {0};
		char rel[128];
		size_t len;
		char *text;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(rel, sizeof(rel), zone_file, z->zone_id);
#pragma GCC diagnostic pop
		text = read_example(rel, &len);
		if (hv_zone_config_parse_string(text, len, HV_ARCH_AARCH64, &zc, &err) < 0)
			fail_msg("%s: %s: %s", rel, err.path, err.message);
		free(text);
		assert_int_equal(zc->zone_id, z->zone_id);

		for (unsigned m = 0; m < z->n_mem; m++) {
			bool found = false;

			for (uint32_t r = 0; r < zc->n_regions; r++)
				found |= zc->regions[r].type == HV_MEM_TYPE_RAM &&
					 zc->regions[r].physical_start == z->mem[m].zone0_ipa &&
					 zc->regions[r].virtual_start == z->mem[m].zonex_ipa &&
					 zc->regions[r].size == z->mem[m].size;
			if (!found)
				fail_msg("%s: memory_region[%u] is not a RAM region of %s",
					 zone_file, m, rel);
		}
		for (unsigned d = 0; d < z->n_devices; d++) {
			const struct hv_virtio_device *dev = &z->devices[d];
			bool inside = false;

			disabled += !dev->enabled;
			for (uint32_t r = 0; r < zc->n_regions; r++)
				inside |= zc->regions[r].type == HV_MEM_TYPE_VIRTIO &&
					  dev->addr >= zc->regions[r].physical_start &&
					  dev->addr + dev->len <= zc->regions[r].physical_start +
									  zc->regions[r].size;
			if (!inside)
				fail_msg("zone %u: device at 0x%llx is outside the virtio window",
					 z->zone_id, (unsigned long long)dev->addr);
			if (!(zc->irq_bitmap[dev->irq / 32] & (1u << (dev->irq % 32))))
				fail_msg("zone %u: IRQ %u is not in %s", z->zone_id, dev->irq, rel);
		}
		hv_zone_config_free(zc);
	}
	return disabled;
}

static void test_example_sim_matches_zones(void **state)
{
	struct hv_virtio_config *cfg = parse_example("sim/virtio_cfg.json");

	assert_int_equal(cfg->n_zones, 2);
	assert_int_equal(check_against_zones(cfg, "sim/zone%u.json"), 1);

	/* zone 1 as documented in conf/examples/README.md */
	assert_int_equal(cfg->zones[0].zone_id, 1);
	assert_int_equal(cfg->zones[0].n_devices, 3);
	assert_int_equal(cfg->zones[0].devices[0].type, HV_VIRTIO_BLK);
	assert_int_equal(cfg->zones[0].devices[0].addr, 0xa003c00);
	assert_int_equal(cfg->zones[0].devices[0].irq, 78);
	assert_string_equal(cfg->zones[0].devices[0].img, "zone1-disk.img");
	assert_int_equal(cfg->zones[0].devices[1].type, HV_VIRTIO_CONSOLE);
	assert_int_equal(cfg->zones[0].devices[1].addr, 0xa003800);
	assert_int_equal(cfg->zones[0].devices[2].type, HV_VIRTIO_NET);
	assert_int_equal(cfg->zones[0].devices[2].addr, 0xa003600);
	assert_string_equal(cfg->zones[0].devices[2].tap, "hvtap0");
	assert_true(cfg->zones[0].devices[2].has_mac);
	assert_int_equal(cfg->zones[0].devices[2].mac[5], 1);
	assert_false(cfg->zones[0].devices[2].enabled);
	hv_virtio_config_free(cfg);
	(void)state;
}

static void test_example_qemu_aarch64(void **state)
{
	struct hv_virtio_config *cfg = parse_example("qemu-aarch64/virtio_cfg.json");
	struct hv_virtio_config *up = parse_ok(upstream_qemu_aarch64);

	assert_int_equal(check_against_zones(cfg, "qemu-aarch64/zone%u-linux.json"), 0);
	/* the same as upstream's example */
	assert_int_equal(cfg->n_zones, up->n_zones);
	assert_int_equal(cfg->zones[0].zone_id, up->zones[0].zone_id);
	assert_int_equal(cfg->zones[0].n_mem, 1);
	assert_memory_equal(&cfg->zones[0].mem[0], &up->zones[0].mem[0],
			    sizeof(up->zones[0].mem[0]));
	assert_int_equal(cfg->zones[0].n_devices, up->zones[0].n_devices);
	for (unsigned i = 0; i < up->zones[0].n_devices; i++)
		assert_dev_equal(&cfg->zones[0].devices[i], &up->zones[0].devices[i]);
	hv_virtio_config_free(cfg);
	hv_virtio_config_free(up);
	(void)state;
}

/* ---- garbage ----------------------------------------------------------- */

static uint64_t rng_state = TEST_RNG_SEED;

static void try_text(const char *text, size_t len)
{
	struct hv_virtio_config *cfg = NULL;
	struct hv_error err;

	memset(&err, 0x5a, sizeof(err));
	if (hv_virtio_config_parse_string(text, len, &cfg, &err) == 0) {
		assert_non_null(cfg);
		hv_virtio_config_free(cfg);
	} else {
		assert_null(cfg);
		assert_non_null(memchr(err.path, '\0', sizeof(err.path)));
		assert_non_null(memchr(err.message, '\0', sizeof(err.message)));
		assert_true(err.message[0] != '\0');
	}
}

static void try_spec(const char *spec)
{
	struct hv_virtio_device d = {0};
	struct hv_error err = {0};

	if (hv_virtio_device_parse_spec(spec, &d, &err) == 0) {
		json_object *o = hv_virtio_device_to_json(&d);
		struct hv_virtio_device back = {0};

		/* whatever a spec accepts, the wire form carries */
		assert_int_equal(hv_virtio_device_from_json(o, &back, &err), 0);
		assert_dev_equal(&d, &back);
		hv_virtio_device_clear(&back);
		json_object_put(o);
		hv_virtio_device_clear(&d);
	} else {
		assert_null(d.img);
		assert_true(err.message[0] != '\0');
	}
}

static void test_garbage_documents(void **state)
{
	char *doc = dq(upstream_x86), *buf;
	size_t len = strlen(doc);

	buf = malloc(len + 1);
	assert_non_null(buf);
	/* every truncation */
	for (size_t n = 0; n <= len; n++) {
		memcpy(buf, doc, n);
		try_text(buf, n);
	}
	/* byte flips, single and several */
	for (int round = 0; round < 20000; round++) {
		int flips = 1 + (int)(test_rng(&rng_state) % 4);

		memcpy(buf, doc, len);
		for (int f = 0; f < flips; f++) {
			size_t at = test_rng(&rng_state) % len;
			static const char interesting[] = "{}[]\",:0x1-9 '\\ufa.e";

			if (test_rng(&rng_state) % 2)
				buf[at] = (char)(test_rng(&rng_state) & 0xff);
			else
				buf[at] = interesting[test_rng(&rng_state) %
						      (sizeof(interesting) - 1)];
		}
		try_text(buf, test_rng(&rng_state) % 8 ? len : test_rng(&rng_state) % (len + 1));
	}
	free(buf);
	free(doc);
	(void)state;
}

static void test_garbage_specs(void **state)
{
	static const char *const pieces[] = {
		"blk",
		"net",
		"console",
		"gpu",
		",",
		"=",
		"addr",
		"len",
		"irq",
		"img",
		"tap",
		"mac",
		"zone_id",
		"readonly",
		"share",
		"serial",
		"aio",
		"0x",
		"1",
		"200",
		"a003c00",
		"00:16:3e:10:10:10",
		"ffffffffffffffff",
		"io_uring",
		"\xff",
		"\t",
		"",
		"0",
		"1024",
		"true",
		"x.img",
	};
	char spec[512];

	for (int round = 0; round < 50000; round++) {
		size_t n = 0, parts = test_rng(&rng_state) % 16;

		spec[0] = '\0';
		for (size_t p = 0; p < parts; p++) {
			const char *piece = pieces[test_rng(&rng_state) % ARRAY_SIZE(pieces)];
			size_t l = strlen(piece);

			if (n + l + 1 >= sizeof(spec))
				break;
			memcpy(spec + n, piece, l + 1);
			n += l;
		}
		try_spec(spec);
	}
	/* well-formed skeletons with random values */
	for (int round = 0; round < 20000; round++) {
		static const char *const types[] = {"blk", "net", "console"};
		char value[24];

		for (size_t i = 0; i + 1 < sizeof(value); i++)
			value[i] = (char)(0x20 + test_rng(&rng_state) % 0x5f);
		value[test_rng(&rng_state) % sizeof(value)] = '\0';
		value[sizeof(value) - 1] = '\0';
		snprintf(spec, sizeof(spec), "%s,addr=%llx,len=%llx,irq=%llu,%s=%s",
			 types[test_rng(&rng_state) % 3],
			 (unsigned long long)(test_rng(&rng_state) % 4
						      ? test_rng(&rng_state) % 0x100000
						      : test_rng(&rng_state)),
			 (unsigned long long)(test_rng(&rng_state) % 0x2000),
			 (unsigned long long)(test_rng(&rng_state) % 1100),
			 pieces[6 + test_rng(&rng_state) % 10], value);
		try_spec(spec);
	}
	(void)state;
}

/* Random JSON values in every slot of a device object, through both JSON
 * entry points. */
static json_object *random_value(int depth)
{
	switch (test_rng(&rng_state) % (depth > 2 ? 6 : 8)) {
	case 0:
		return json_object_new_int64((int64_t)(test_rng(&rng_state) % 2
							       ? test_rng(&rng_state) % 2048
							       : test_rng(&rng_state)));
	case 1:
		return json_object_new_uint64(test_rng(&rng_state));
	case 2: {
		static const char *const s[] = {
			"blk", "net",  "console", "0x200",    "0xa003c00",	   "disable",
			"",    "tap0", "x.img",	  "io_uring", "00:16:3e:10:10:10", "010",
			"08",  "-1"};
		return json_object_new_string(s[test_rng(&rng_state) % ARRAY_SIZE(s)]);
	}
	case 3:
		return json_object_new_boolean(test_rng(&rng_state) % 2);
	case 4:
		return json_object_new_double(1.5);
	case 5:
		return NULL;
	case 6: {
		json_object *a = json_object_new_array();
		size_t n = test_rng(&rng_state) % 8;

		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, random_value(depth + 1));
		return a;
	}
	default: {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "x", random_value(depth + 1));
		return o;
	}
	}
}

static void test_garbage_json_devices(void **state)
{
	static const char *const keys[] = {"type",    "addr", "len",	  "irq",   "status",
					   "zone_id", "img",  "readonly", "share", "serial",
					   "aio",     "tap",  "mac",	  "junk"};

	for (int round = 0; round < 20000; round++) {
		json_object *dev = json_object_new_object(), *root, *zones, *zone, *devs;
		struct hv_virtio_config *cfg = NULL;
		struct hv_virtio_device d = {0};
		struct hv_error err;

		for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
			if (test_rng(&rng_state) % 2)
				json_object_object_add(dev, keys[k], random_value(0));
		if (test_rng(&rng_state) % 2)
			json_object_object_add(
				dev, "type",
				json_object_new_string(test_rng(&rng_state) % 2 ? "net" : "blk"));

		if (hv_virtio_device_from_json(dev, &d, &err) == 0)
			hv_virtio_device_clear(&d);

		root = json_object_new_object();
		zones = json_object_new_array();
		zone = json_object_new_object();
		devs = json_object_new_array();
		json_object_array_add(devs, dev);
		json_object_object_add(zone, "id", json_object_new_int(1));
		json_object_object_add(zone, "devices", devs);
		json_object_array_add(zones, zone);
		json_object_object_add(root, "zones", zones);
		if (hv_virtio_config_parse(root, &cfg, &err) == 0)
			hv_virtio_config_free(cfg);
		else
			assert_null(cfg);
		json_object_put(root);
	}
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upstream_qemu_aarch64),
		cmocka_unit_test(test_upstream_x86_net),
		cmocka_unit_test(test_upstream_unsupported_types),
		cmocka_unit_test(test_number_forms),
		cmocka_unit_test(test_mac_forms),
		cmocka_unit_test(test_status_and_disabled),
		cmocka_unit_test(test_memory_regions),
		cmocka_unit_test(test_zones),
		cmocka_unit_test(test_device_rejections),
		cmocka_unit_test(test_blk_options),
		cmocka_unit_test(test_net_tap_names),
		cmocka_unit_test(test_device_overlaps),
		cmocka_unit_test(test_error_after_allocations),
		cmocka_unit_test(test_parse_string),
		cmocka_unit_test(test_spec_valid),
		cmocka_unit_test(test_spec_errors),
		cmocka_unit_test(test_wire_roundtrip),
		cmocka_unit_test(test_wire_json),
		cmocka_unit_test(test_copy_clear),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_example_sim_matches_zones),
		cmocka_unit_test(test_example_qemu_aarch64),
		cmocka_unit_test(test_garbage_documents),
		cmocka_unit_test(test_garbage_specs),
		cmocka_unit_test(test_garbage_json_devices),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
