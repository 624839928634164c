// SPDX-License-Identifier: GPL-2.0-only
/*
 * Virtio devices of zones (see virtio-config.h and docs/devices.md): the
 * upstream virtio_cfg.json, the legacy --device strings and the wire form of
 * one device. All three end in the same struct hv_virtio_device and go
 * through the same checks, so a device accepted in one form is accepted in
 * the others. Errors name the JSON path (or the --device key) of the value.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "macro.h"
#include "util.h"
#include "virtio-config.h"

/* Bounds on what parse_string feeds to json-c (the deepest legitimate
 * document nests 4 levels: zones[].devices[].mac[]). */
#define VCFG_MAX_TEXT  HV_CONFIG_MAX_TEXT
#define VCFG_MAX_DEPTH 32

#define PATH_SIZE   HV_JSON_PATH_SIZE
#define MAX_IRQ	    1023
#define MAX_IMG_LEN (HV_CONFIG_MAX_STRING - 1)

static void hv_virtio_config_freep(struct hv_virtio_config **p)
{
	hv_virtio_config_free(*p);
}

/* ---- names ------------------------------------------------------------- */

static const struct {
	const char *name;
	enum hv_virtio_type type;
} type_names[] = {
	{"blk", HV_VIRTIO_BLK},
	{"net", HV_VIRTIO_NET},
	{"console", HV_VIRTIO_CONSOLE},
};

/* Upstream types this project does not implement. */
static const char *const unsupported_types[] = {"gpu", "scmi"};

const char *hv_virtio_type_to_string(enum hv_virtio_type type)
{
	for (size_t i = 0; i < ARRAY_SIZE(type_names); i++)
		if (type_names[i].type == type)
			return type_names[i].name;
	return "unknown";
}

int hv_virtio_type_from_string(const char *s, enum hv_virtio_type *ret)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(type_names); i++)
		if (strcmp(s, type_names[i].name) == 0) {
			*ret = type_names[i].type;
			return 0;
		}
	for (size_t i = 0; i < ARRAY_SIZE(unsupported_types); i++)
		if (strcmp(s, unsupported_types[i]) == 0)
			return -EOPNOTSUPP;
	return -EINVAL;
}

static const char *const aio_names[] = {
	[HV_AIO_DEFAULT] = "default",
	[HV_AIO_SYNC] = "sync",
	[HV_AIO_THREADS] = "threads",
	[HV_AIO_IO_URING] = "io_uring",
};

const char *hv_blk_aio_to_string(enum hv_blk_aio aio)
{
	if ((unsigned)aio < ARRAY_SIZE(aio_names))
		return aio_names[aio];
	return "unknown";
}

int hv_blk_aio_from_string(const char *s, enum hv_blk_aio *ret)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(aio_names); i++)
		if (strcmp(s, aio_names[i]) == 0) {
			*ret = (enum hv_blk_aio)i;
			return 0;
		}
	return -EINVAL;
}

/* ---- MAC addresses ----------------------------------------------------- */

void hv_mac_format(const uint8_t mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hv_mac_parse(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	if (!s)
		return -EINVAL;
	/* exactly "hh:hh:hh:hh:hh:hh" */
	for (size_t i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hi < 0 ? -1 : hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		if (s[3 * i + 2] != (i < 5 ? ':' : '\0'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(mac, m, 6);
	return 0;
}

/* ---- value rules shared by every form ---------------------------------- */

/* The bits of the device types a key belongs to. */
#define T_BLK	  (1u << HV_VIRTIO_BLK)
#define T_NET	  (1u << HV_VIRTIO_NET)
#define T_CONSOLE (1u << HV_VIRTIO_CONSOLE)
#define T_ALL	  (T_BLK | T_NET | T_CONSOLE)

/* Where a key may appear. */
#define F_FILE (1u << 0) /* virtio_cfg.json device */
#define F_WIRE (1u << 1) /* hv_virtio_device_from_json */
#define F_SPEC (1u << 2) /* --device string */
#define F_ALL  (F_FILE | F_WIRE | F_SPEC)

enum dev_key {
	K_TYPE,
	K_ADDR,
	K_LEN,
	K_IRQ,
	K_STATUS,
	K_ZONE_ID,
	K_IMG,
	K_READONLY,
	K_SHARE,
	K_SERIAL,
	K_AIO,
	K_TAP,
	K_MAC,
	K_COUNT,
};

static const struct {
	const char *name;
	unsigned types;
	unsigned forms;
} dev_keys[K_COUNT] = {
	[K_TYPE] = {"type", T_ALL, F_FILE | F_WIRE}, /* positional in a spec */
	[K_ADDR] = {"addr", T_ALL, F_ALL},
	[K_LEN] = {"len", T_ALL, F_ALL},
	[K_IRQ] = {"irq", T_ALL, F_ALL},
	[K_STATUS] = {"status", T_ALL, F_FILE},
	[K_ZONE_ID] = {"zone_id", T_ALL, F_WIRE | F_SPEC}, /* a file's zone is zones[].id */
	[K_IMG] = {"img", T_BLK, F_ALL},
	[K_READONLY] = {"readonly", T_BLK, F_ALL},
	[K_SHARE] = {"share", T_BLK, F_ALL},
	[K_SERIAL] = {"serial", T_BLK, F_ALL},
	[K_AIO] = {"aio", T_BLK, F_ALL},
	[K_TAP] = {"tap", T_NET, F_ALL},
	[K_MAC] = {"mac", T_NET, F_ALL},
};

static const char *types_of(unsigned types)
{
	switch (types) {
	case T_BLK:
		return "blk";
	case T_NET:
		return "net";
	default:
		return "other";
	}
}

/* Is `key` allowed for this type in this form? 0, or -EINVAL with the
 * reason at path. *ret_key receives the key's index when it is known. */
static int check_key(const char *key, enum hv_virtio_type type, unsigned form, const char *path,
		     int *ret_key, struct hv_error *err)
{
	for (int k = 0; k < K_COUNT; k++) {
		if (strcmp(key, dev_keys[k].name) != 0 || !(dev_keys[k].forms & form))
			continue;
		if (!(dev_keys[k].types & (1u << type))) {
			hv_error_set(err, path, "not an option of %s devices (only of %s devices)",
				     hv_virtio_type_to_string(type), types_of(dev_keys[k].types));
			return -EINVAL;
		}
		*ret_key = k;
		return 0;
	}
	if (form == F_FILE && strcmp(key, "zone_id") == 0)
		hv_error_set(err, path,
			     "unknown key (a device's zone is the id of its zones[] entry)");
	else
		hv_error_set(err, path, "unknown key");
	return -EINVAL;
}

static int unsupported_type(const char *path, const char *type, struct hv_error *err)
{
	char buf[40];

	hv_error_set(err, path, "device type '%s' is not supported (blk, net and console are)",
		     hv_printable(type, buf, sizeof(buf)));
	return -EOPNOTSUPP;
}

static int parse_type(const char *s, const char *path, enum hv_virtio_type *ret,
		      struct hv_error *err)
{
	char buf[40];
	int r;

	r = hv_virtio_type_from_string(s, ret);
	if (r == -EOPNOTSUPP)
		return unsupported_type(path, s, err);
	if (r < 0) {
		hv_error_set(err, path, "unknown device type '%s' (expected blk, net or console)",
			     hv_printable(s, buf, sizeof(buf)));
		return -EINVAL;
	}
	return 0;
}

static int check_img(const char *s, const char *path, struct hv_error *err)
{
	if (s[0] == '\0') {
		hv_error_set(err, path, "must not be empty");
		return -EINVAL;
	}
	if (strlen(s) > MAX_IMG_LEN) {
		hv_error_set(err, path, "longer than %d bytes", MAX_IMG_LEN);
		return -EINVAL;
	}
	return 0;
}

static int set_serial(struct hv_virtio_device *d, const char *s, const char *path,
		      struct hv_error *err)
{
	size_t n = strlen(s);

	if (n > HV_VIRTIO_SERIAL_LEN) {
		hv_error_set(err, path, "longer than %d bytes", HV_VIRTIO_SERIAL_LEN);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f) {
			hv_error_set(err, path, "must be printable ASCII");
			return -EINVAL;
		}
	memcpy(d->serial, s, n + 1);
	return 0;
}

static int set_aio(struct hv_virtio_device *d, const char *s, const char *path,
		   struct hv_error *err)
{
	char buf[40];

	if (hv_blk_aio_from_string(s, &d->aio) < 0) {
		hv_error_set(
			err, path,
			"unknown I/O engine '%s' (expected default, sync, threads or io_uring)",
			hv_printable(s, buf, sizeof(buf)));
		return -EINVAL;
	}
	return 0;
}

static int set_tap(struct hv_virtio_device *d, const char *s, const char *path,
		   struct hv_error *err)
{
	size_t n = strlen(s);

	if (n == 0) {
		hv_error_set(err, path, "must not be empty");
		return -EINVAL;
	}
	if (n >= HV_VIRTIO_IFNAMSIZ) {
		hv_error_set(err, path, "longer than %d bytes (an interface name)",
			     HV_VIRTIO_IFNAMSIZ - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-')) {
			hv_error_set(err, path,
				     "may only contain letters, digits, '_', '.' and '-'");
			return -EINVAL;
		}
	}
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
		hv_error_set(err, path, "'%s' is not a valid interface name", s);
		return -EINVAL;
	}
	memcpy(d->tap, s, n + 1);
	return 0;
}

static int check_mac(const uint8_t mac[6], const char *path, struct hv_error *err)
{
	if (mac[0] & 1) {
		hv_error_set(err, path,
			     "%02x:%02x:%02x:%02x:%02x:%02x is a multicast address "
			     "(bit 0 of the first byte is set)",
			     mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		return -EINVAL;
	}
	return 0;
}

/*
 * What every form requires once all keys are read: addr, len and irq given
 * and non-zero (upstream: "missing arguments"), len covering the registers,
 * the window not wrapping, and the type's own required keys. `given` has
 * bit k set for every key k that was present. `prefix` names the object
 * ("" for a spec or a wire device).
 */
static int check_device(const struct hv_virtio_device *d, unsigned given, bool has_img,
			const char *prefix, struct hv_error *err)
{
	char path[PATH_SIZE];
	uint64_t end;

#define P(key) hv_json_path_join(path, sizeof(path), prefix, key)
	if (!(given & (1u << K_ADDR))) {
		hv_error_set(err, P("addr"), "missing");
		return -EINVAL;
	}
	if (!(given & (1u << K_LEN))) {
		hv_error_set(err, P("len"), "missing");
		return -EINVAL;
	}
	if (!(given & (1u << K_IRQ))) {
		hv_error_set(err, P("irq"), "missing");
		return -EINVAL;
	}
	if (d->addr == 0) {
		hv_error_set(err, P("addr"), "must not be 0");
		return -EINVAL;
	}
	if (d->len == 0) {
		hv_error_set(err, P("len"), "must not be 0");
		return -EINVAL;
	}
	if (d->len < HV_VIRTIO_MIN_LEN) {
		hv_error_set(err, P("len"), "must be >= 0x%x (the virtio-mmio registers)",
			     HV_VIRTIO_MIN_LEN);
		return -EINVAL;
	}
	if (range_end(d->addr, d->len, &end) < 0) {
		hv_error_set(err, P("len"), "addr 0x%" PRIx64 " + len 0x%" PRIx64 " overflows",
			     d->addr, d->len);
		return -EINVAL;
	}
	if (d->irq == 0) {
		hv_error_set(err, P("irq"), "must not be 0");
		return -EINVAL;
	}
	if (d->irq > MAX_IRQ) {
		hv_error_set(err, P("irq"), "must be <= %d", MAX_IRQ);
		return -EINVAL;
	}
	if (d->type == HV_VIRTIO_BLK && !has_img) {
		hv_error_set(err, P("img"), "missing");
		return -EINVAL;
	}
	if (d->type == HV_VIRTIO_NET && !(given & (1u << K_TAP))) {
		hv_error_set(err, P("tap"), "missing");
		return -EINVAL;
	}
#undef P
	return 0;
}

/* Hands the parsed device to *ret with its own copy of img. */
static int finish_device(struct hv_virtio_device *d, const char *img, struct hv_virtio_device *ret,
			 struct hv_error *err)
{
	if (img) {
		d->img = strdup(img);
		if (!d->img) {
			hv_error_set(err, "", "out of memory");
			return -ENOMEM;
		}
	}
	*ret = *d;
	return 0;
}

/* ---- JSON devices (file and wire) -------------------------------------- */

static int json_mac(json_object *v, const char *path, uint8_t mac[6], struct hv_error *err)
{
	char ipath[PATH_SIZE];
	uint64_t x;
	size_t n;

	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);

		if ((size_t)json_object_get_string_len(v) != strlen(s) ||
		    hv_mac_parse(s, mac) < 0) {
			hv_error_set(err, path,
				     "expected a MAC address like \"00:16:3e:10:10:10\"");
			return -EINVAL;
		}
		return 0;
	}
	if (!json_object_is_type(v, json_type_array)) {
		hv_error_set(err, path,
			     "expected an array of 6 numbers or a string like "
			     "\"00:16:3e:10:10:10\", got %s",
			     json_type_to_name(json_object_get_type(v)));
		return -EINVAL;
	}
	n = json_object_array_length(v);
	if (n != 6) {
		hv_error_set(err, path, "expected 6 bytes, got %zu", n);
		return -EINVAL;
	}
	for (size_t i = 0; i < 6; i++) {
		if (hv_json_value_u64(json_object_array_get_idx(v, i),
				      hv_json_path_index(ipath, sizeof(ipath), path, i), UINT8_MAX,
				      &x, err) < 0)
			return -EINVAL;
		mac[i] = (uint8_t)x;
	}
	return 0;
}

/* The keys of a blk device object; *ret_img: its image (in o), or NULL. */
static int json_blk_options(json_object *o, const char *prefix, struct hv_virtio_device *d,
			    const char **ret_img, struct hv_error *err)
{
	char path[PATH_SIZE];
	const char *s;
	int r;

#define P(key) hv_json_path_join(path, sizeof(path), prefix, key)
	r = hv_json_get_string(o, "img", prefix, MAX_IMG_LEN, false, ret_img, err);
	if (r < 0 || (r > 0 && check_img(*ret_img, P("img"), err) < 0))
		return -EINVAL;
	if (hv_json_get_bool(o, "readonly", prefix, &d->readonly, err) < 0 ||
	    hv_json_get_bool(o, "share", prefix, &d->share, err) < 0)
		return -EINVAL;
	r = hv_json_get_string(o, "serial", prefix, HV_CONFIG_MAX_STRING, false, &s, err);
	if (r < 0 || (r > 0 && set_serial(d, s, P("serial"), err) < 0))
		return -EINVAL;
	r = hv_json_get_string(o, "aio", prefix, HV_CONFIG_MAX_STRING, false, &s, err);
	if (r < 0 || (r > 0 && set_aio(d, s, P("aio"), err) < 0))
		return -EINVAL;
	return 0;
}

static int json_net_options(json_object *o, const char *prefix, struct hv_virtio_device *d,
			    struct hv_error *err)
{
	char path[PATH_SIZE];
	const char *s;
	json_object *v;
	int r;

	r = hv_json_get_string(o, "tap", prefix, HV_CONFIG_MAX_STRING, false, &s, err);
	if (r < 0 || (r > 0 && set_tap(d, s, P("tap"), err) < 0))
		return -EINVAL;
	if (hv_json_lookup(o, "mac", prefix, false, &v, err) > 0) {
		if (json_mac(v, P("mac"), d->mac, err) < 0 || check_mac(d->mac, path, err) < 0)
			return -EINVAL;
		d->has_mac = true;
	}
	return 0;
#undef P
}

/*
 * One device object. form is F_FILE or F_WIRE. For F_FILE a disabled device
 * of a type this project does not implement (gpu, scmi) is not an error:
 * upstream does not look at disabled devices; *ret_skip is set then.
 */
static int parse_json_device(json_object *o, const char *prefix, unsigned form,
			     struct hv_virtio_device *ret, bool *ret_skip, struct hv_error *err)
{
	struct hv_virtio_device d = {.enabled = true};
	char path[PATH_SIZE], keybuf[40];
	const char *s, *img = NULL;
	unsigned given = 0;
	int r;

	*ret_skip = false;
	if (!json_object_is_type(o, json_type_object)) {
		hv_error_set(err, prefix, "expected an object, got %s",
			     json_type_to_name(json_object_get_type(o)));
		return -EINVAL;
	}

#define P(key) hv_json_path_join(path, sizeof(path), prefix, key)
	if (form == F_FILE) {
		/* Upstream requires "status"; missing means enabled here. */
		r = hv_json_get_string(o, "status", prefix, HV_CONFIG_MAX_STRING, false, &s, err);
		if (r < 0)
			return r;
		if (r > 0 && strcmp(s, "disable") == 0)
			d.enabled = false;
	}

	r = hv_json_get_string(o, "type", prefix, HV_CONFIG_MAX_STRING, true, &s, err);
	if (r < 0)
		return r;
	r = parse_type(s, P("type"), &d.type, err);
	if (r == -EOPNOTSUPP && form == F_FILE && !d.enabled) {
		*ret_skip = true;
		return 0;
	}
	if (r < 0)
		return -EINVAL;

	json_object_object_foreach (o, key, val) {
		int k;

		(void)val;
		if (check_key(key, d.type, form, P(hv_printable(key, keybuf, sizeof(keybuf))), &k,
			      err) < 0)
			return -EINVAL;
		given |= 1u << k;
	}

	if (hv_json_get_u64(o, "addr", prefix, UINT64_MAX, false, &d.addr, err) < 0 ||
	    hv_json_get_u64(o, "len", prefix, UINT64_MAX, false, &d.len, err) < 0 ||
	    hv_json_get_u32(o, "irq", prefix, MAX_IRQ, false, &d.irq, err) < 0)
		return -EINVAL;
	if (form == F_WIRE) {
		r = hv_json_get_u32(o, "zone_id", prefix, UINT32_MAX, false, &d.zone_id, err);
		if (r < 0)
			return r;
		d.has_zone_id = r > 0;
	}

	if ((d.type == HV_VIRTIO_BLK && json_blk_options(o, prefix, &d, &img, err) < 0) ||
	    (d.type == HV_VIRTIO_NET && json_net_options(o, prefix, &d, err) < 0))
		return -EINVAL;
#undef P

	if (check_device(&d, given, img != NULL, prefix, err) < 0)
		return -EINVAL;
	return finish_device(&d, img, ret, err);
}

int hv_virtio_device_from_json(json_object *o, struct hv_virtio_device *ret, struct hv_error *err)
{
	bool skip;

	return parse_json_device(o, "", F_WIRE, ret, &skip, err);
}

json_object *hv_virtio_device_to_json(const struct hv_virtio_device *dev)
{
	json_object *o = json_object_new_object();
	char mac[18];

	if (!o)
		return NULL;
	json_object_object_add(o, "type",
			       json_object_new_string(hv_virtio_type_to_string(dev->type)));
	json_object_object_add(o, "addr", json_object_new_uint64(dev->addr));
	json_object_object_add(o, "len", json_object_new_uint64(dev->len));
	json_object_object_add(o, "irq", json_object_new_int64(dev->irq));
	if (dev->has_zone_id)
		json_object_object_add(o, "zone_id", json_object_new_int64(dev->zone_id));
	switch (dev->type) {
	case HV_VIRTIO_BLK:
		if (dev->img)
			json_object_object_add(o, "img", json_object_new_string(dev->img));
		json_object_object_add(o, "readonly", json_object_new_boolean(dev->readonly));
		/* only when set: an older hvisord refuses keys it does not know */
		if (dev->share)
			json_object_object_add(o, "share", json_object_new_boolean(true));
		if (dev->serial[0])
			json_object_object_add(o, "serial", json_object_new_string(dev->serial));
		json_object_object_add(o, "aio",
				       json_object_new_string(hv_blk_aio_to_string(dev->aio)));
		break;
	case HV_VIRTIO_NET:
		json_object_object_add(o, "tap", json_object_new_string(dev->tap));
		if (dev->has_mac) {
			hv_mac_format(dev->mac, mac);
			json_object_object_add(o, "mac", json_object_new_string(mac));
		}
		break;
	case HV_VIRTIO_CONSOLE:
		break;
	}
	return o;
}

json_object *hv_virtio_mem_to_json(const struct hv_virtio_zone *zone)
{
	json_object *a = json_object_new_array();

	for (unsigned i = 0; i < zone->n_mem; i++) {
		json_object *m = json_object_new_object();

		json_object_object_add(m, "zone0_ipa",
				       json_object_new_uint64(zone->mem[i].zone0_ipa));
		json_object_object_add(m, "zonex_ipa",
				       json_object_new_uint64(zone->mem[i].zonex_ipa));
		json_object_object_add(m, "size", json_object_new_uint64(zone->mem[i].size));
		json_object_array_add(a, m);
	}
	return a;
}

/* ---- virtio_cfg.json --------------------------------------------------- */

static int parse_memory(json_object *zone, const char *zpath, struct hv_virtio_zone *z,
			struct hv_error *err)
{
	char apath[PATH_SIZE], path[PATH_SIZE];
	size_t index[HV_VIRTIO_MAX_MEM];
	json_object *arr, *o;
	int r;

	/* the JSON index of each entry, for the overlap message */
	for (unsigned j = 0; j < z->n_mem; j++)
		index[j] = j;

	r = hv_json_get_array(zone, "memory_region", zpath, HV_VIRTIO_MAX_MEM, false, &arr, err);
	if (r <= 0)
		return r;
	hv_json_path_join(apath, sizeof(apath), zpath, "memory_region");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct hv_virtio_mem m;
		uint64_t end;

		if (hv_json_array_object(arr, apath, i, path, sizeof(path), &o, err) < 0 ||
		    hv_json_get_u64(o, "zone0_ipa", path, UINT64_MAX, true, &m.zone0_ipa, err) <
			    0 ||
		    hv_json_get_u64(o, "zonex_ipa", path, UINT64_MAX, true, &m.zonex_ipa, err) <
			    0 ||
		    hv_json_get_u64(o, "size", path, UINT64_MAX, true, &m.size, err) < 0)
			return -EINVAL;
		/* upstream logs "Invalid memory size" and skips it */
		if (m.size == 0)
			continue;
		if (range_end(m.zone0_ipa, m.size, &end) < 0 ||
		    range_end(m.zonex_ipa, m.size, &end) < 0) {
			char spath[PATH_SIZE];

			hv_error_set(err, hv_json_path_join(spath, sizeof(spath), path, "size"),
				     "0x%" PRIx64 " bytes from zone0_ipa 0x%" PRIx64
				     " / zonex_ipa 0x%" PRIx64 " overflow",
				     m.size, m.zone0_ipa, m.zonex_ipa);
			return -EINVAL;
		}
		for (unsigned j = 0; j < z->n_mem; j++)
			if (ranges_overlap(m.zonex_ipa, m.size, z->mem[j].zonex_ipa,
					   z->mem[j].size)) {
				hv_error_set(err, path,
					     "guest range 0x%" PRIx64 "+0x%" PRIx64
					     " overlaps %s[%zu] (0x%" PRIx64 "+0x%" PRIx64 ")",
					     m.zonex_ipa, m.size, apath, index[j],
					     z->mem[j].zonex_ipa, z->mem[j].size);
				return -EINVAL;
			}
		index[z->n_mem] = i;
		z->mem[z->n_mem++] = m;
	}
	return 0;
}

static int parse_devices(json_object *zone, const char *zpath, struct hv_virtio_zone *z,
			 struct hv_error *err)
{
	char apath[PATH_SIZE], path[PATH_SIZE];
	json_object *arr;
	int r;

	r = hv_json_get_array(zone, "devices", zpath, HV_VIRTIO_MAX_DEVICES, false, &arr, err);
	if (r <= 0)
		return r;
	hv_json_path_join(apath, sizeof(apath), zpath, "devices");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct hv_virtio_device *d = &z->devices[z->n_devices];
		bool skip;

		hv_json_path_index(path, sizeof(path), apath, i);
		r = parse_json_device(json_object_array_get_idx(arr, i), path, F_FILE, d, &skip,
				      err);
		if (r < 0)
			return r;
		if (skip)
			continue;
		/* counted at once, so a failure below frees img */
		z->device_index[z->n_devices++] = (unsigned)i;
		d->zone_id = z->zone_id;
		d->has_zone_id = true;
		if (!d->enabled)
			continue;
		for (unsigned j = 0; j + 1 < z->n_devices; j++) {
			const struct hv_virtio_device *o = &z->devices[j];

			if (o->enabled && ranges_overlap(d->addr, d->len, o->addr, o->len)) {
				hv_error_set(err, path,
					     "0x%" PRIx64 "+0x%" PRIx64
					     " overlaps %s[%u] (%s at 0x%" PRIx64 "+0x%" PRIx64 ")",
					     d->addr, d->len, apath, z->device_index[j],
					     hv_virtio_type_to_string(o->type), o->addr, o->len);
				return -EINVAL;
			}
		}
	}
	return 0;
}

int hv_virtio_config_parse(json_object *root, struct hv_virtio_config **ret, struct hv_error *err)
{
	_cleanup_(hv_virtio_config_freep) struct hv_virtio_config *cfg = NULL;
	char zpath[PATH_SIZE];
	json_object *zones, *zone;
	int r;

	if (!json_object_is_type(root, json_type_object)) {
		hv_error_set(err, "", "a virtio config must be a JSON object");
		return -EINVAL;
	}
	if (!json_object_object_get_ex(root, "zones", NULL) &&
	    json_object_object_get_ex(root, "devices", NULL)) {
		hv_error_set(err, "zones",
			     "missing (the flat \"devices\" list of 2024 is not supported: "
			     "put the devices under zones[].devices)");
		return -EINVAL;
	}
	r = hv_json_get_array(root, "zones", "", HV_VIRTIO_MAX_ZONES, true, &zones, err);
	if (r < 0)
		return r;

	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		hv_error_set(err, "", "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < json_object_array_length(zones); i++) {
		struct hv_virtio_zone *z = &cfg->zones[cfg->n_zones];

		if (hv_json_array_object(zones, "zones", i, zpath, sizeof(zpath), &zone, err) < 0 ||
		    hv_json_get_u32(zone, "id", zpath, UINT32_MAX, true, &z->zone_id, err) < 0)
			return -EINVAL;
		for (unsigned j = 0; j < cfg->n_zones; j++)
			if (cfg->zones[j].zone_id == z->zone_id) {
				char path[PATH_SIZE];

				hv_error_set(err,
					     hv_json_path_join(path, sizeof(path), zpath, "id"),
					     "zone %" PRIu32 " is already listed in zones[%u]",
					     z->zone_id, j);
				return -EINVAL;
			}
		/* counted before the devices, so a failure frees what they own */
		cfg->n_zones++;
		r = parse_memory(zone, zpath, z, err);
		if (r < 0)
			return r;
		r = parse_devices(zone, zpath, z, err);
		if (r < 0)
			return r;
	}

	*ret = TAKE_PTR(cfg);
	return 0;
}

int hv_virtio_config_parse_string(const char *text, size_t len, struct hv_virtio_config **ret,
				  struct hv_error *err)
{
	json_object *root;
	int r;

	r = hv_json_parse_text(text, len, VCFG_MAX_TEXT, VCFG_MAX_DEPTH, &root, err);
	if (r < 0)
		return r;
	r = hv_virtio_config_parse(root, ret, err);
	json_object_put(root);
	return r;
}

struct hv_virtio_config *hv_virtio_config_free(struct hv_virtio_config *cfg)
{
	if (!cfg)
		return NULL;
	for (unsigned i = 0; i < cfg->n_zones && i < HV_VIRTIO_MAX_ZONES; i++)
		for (unsigned j = 0; j < cfg->zones[i].n_devices && j < HV_VIRTIO_MAX_DEVICES; j++)
			hv_virtio_device_clear(&cfg->zones[i].devices[j]);
	free(cfg);
	return NULL;
}

/* ---- --device strings -------------------------------------------------- */

/* Decimal digits only (upstream: strtoul base 10 for irq and zone_id). */
static int parse_decimal(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t x = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (__builtin_mul_overflow(x, 10, &x) || __builtin_add_overflow(x, *s - '0', &x))
			return -ERANGE;
	}
	if (x > max)
		return -ERANGE;
	*ret = x;
	return 0;
}

static int spec_number(const char *key, const char *value, bool hex, uint64_t max, uint64_t *ret,
		       struct hv_error *err)
{
	int r = hex ? parse_u64_hex(value, max, ret) : parse_decimal(value, max, ret);

	if (r == -ERANGE) {
		if (max == UINT64_MAX)
			hv_error_set(err, key, "does not fit in 64 bits");
		else
			hv_error_set(err, key, "must be <= %" PRIu64, max);
		return -EINVAL;
	}
	if (r < 0) {
		hv_error_set(err, key, hex ? "expected a hex number" : "expected a decimal number");
		return -EINVAL;
	}
	return 0;
}

/* A flag: given alone, or with a value that says yes or no. */
static int spec_flag(const char *key, const char *value, bool *ret, struct hv_error *err)
{
	static const char *const yes[] = {"1", "true", "on"}, *const no[] = {"0", "false", "off"};

	if (!value) {
		*ret = true;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		if (strcmp(value, yes[i]) == 0 || strcmp(value, no[i]) == 0) {
			*ret = strcmp(value, yes[i]) == 0;
			return 0;
		}
	hv_error_set(err, key, "expected nothing, on, off, 1, 0, true or false");
	return -EINVAL;
}

static int spec_option(struct hv_virtio_device *d, int k, const char *key, const char *value,
		       const char **img, struct hv_error *err)
{
	uint64_t x;

	switch (k) {
	case K_ADDR:
		return spec_number(key, value, true, UINT64_MAX, &d->addr, err);
	case K_LEN:
		return spec_number(key, value, true, UINT64_MAX, &d->len, err);
	case K_IRQ:
		if (spec_number(key, value, false, MAX_IRQ, &x, err) < 0)
			return -EINVAL;
		d->irq = (uint32_t)x;
		return 0;
	case K_ZONE_ID:
		if (spec_number(key, value, false, UINT32_MAX, &x, err) < 0)
			return -EINVAL;
		if (x == 0) {
			hv_error_set(err, key, "must not be 0 (the root zone)");
			return -EINVAL;
		}
		d->zone_id = (uint32_t)x;
		d->has_zone_id = true;
		return 0;
	case K_IMG:
		if (check_img(value, key, err) < 0)
			return -EINVAL;
		*img = value;
		return 0;
	case K_READONLY:
		return spec_flag(key, value, &d->readonly, err);
	case K_SHARE:
		return spec_flag(key, value, &d->share, err);
	case K_SERIAL:
		return set_serial(d, value, key, err);
	case K_AIO:
		return set_aio(d, value, key, err);
	case K_TAP:
		return set_tap(d, value, key, err);
	case K_MAC:
		if (hv_mac_parse(value, d->mac) < 0) {
			hv_error_set(err, key, "expected a MAC address like 00:16:3e:10:10:10");
			return -EINVAL;
		}
		if (check_mac(d->mac, key, err) < 0)
			return -EINVAL;
		d->has_mac = true;
		return 0;
	default:
		hv_error_set(err, key, "unknown key");
		return -EINVAL;
	}
}

int hv_virtio_device_parse_spec(const char *spec, struct hv_virtio_device *ret,
				struct hv_error *err)
{
	struct hv_virtio_device d = {.enabled = true};
	_cleanup_free_ char *copy = NULL;
	const char *img = NULL;
	unsigned given = 0;
	char *p, *next;
	char keybuf[40];

	if (!spec || !*spec || *spec == ',') {
		hv_error_set(err, "type",
			     "missing (a device spec starts with blk, net or console)");
		return -EINVAL;
	}
	copy = strdup(spec);
	if (!copy) {
		hv_error_set(err, "", "out of memory");
		return -ENOMEM;
	}

	next = strchr(copy, ',');
	if (next)
		*next++ = '\0';
	if (strchr(copy, '=')) {
		hv_error_set(err, "type",
			     "missing (a device spec starts with blk, net or console, got '%s')",
			     hv_printable(copy, keybuf, sizeof(keybuf)));
		return -EINVAL;
	}
	if (parse_type(copy, "type", &d.type, err) < 0)
		return -EINVAL;

	for (p = next; p; p = next) {
		char *value;
		int k;

		next = strchr(p, ',');
		if (next)
			*next++ = '\0';
		if (!*p) {
			hv_error_set(err, "",
				     "empty option (two commas in a row or a trailing comma)");
			return -EINVAL;
		}
		value = strchr(p, '=');
		if (value)
			*value++ = '\0';
		hv_printable(p, keybuf, sizeof(keybuf));
		if (check_key(p, d.type, F_SPEC, keybuf, &k, err) < 0)
			return -EINVAL;
		if (given & (1u << k)) {
			hv_error_set(err, keybuf, "given twice");
			return -EINVAL;
		}
		given |= 1u << k;
		if ((!value && k != K_READONLY && k != K_SHARE) || (value && !*value)) {
			hv_error_set(err, keybuf, "missing value (%s=...)", keybuf);
			return -EINVAL;
		}
		if (spec_option(&d, k, keybuf, value, &img, err) < 0)
			return -EINVAL;
	}

	if (check_device(&d, given, img != NULL, "", err) < 0)
		return -EINVAL;
	/* img points into copy: finish_device duplicates it */
	return finish_device(&d, img, ret, err);
}

/* ---- ownership ------------------------------------------------------------ */

void hv_virtio_device_clear(struct hv_virtio_device *dev)
{
	if (!dev)
		return;
	free(dev->img);
	memset(dev, 0, sizeof(*dev));
}

int hv_virtio_device_copy(struct hv_virtio_device *dst, const struct hv_virtio_device *src)
{
	char *img = NULL;

	if (dst == src)
		return 0;
	if (src->img) {
		img = strdup(src->img);
		if (!img)
			return -ENOMEM;
	}
	*dst = *src;
	dst->img = img;
	return 0;
}

/* ---- against a zone config --------------------------------------------- */

int hv_virtio_device_check_zone(const struct hv_virtio_device *dev,
				const struct hv_zone_config *cfg, const char *prefix,
				struct hv_error *err)
{
	char path[PATH_SIZE];
	bool inside = false;

	for (uint32_t i = 0; i < cfg->n_regions && !inside; i++) {
		const struct hv_cfg_memory_region *r = &cfg->regions[i];

		/* hvisor traps a virtio region at its physical_start */
		inside = r->type == HV_MEM_TYPE_VIRTIO && dev->addr >= r->physical_start &&
			 dev->addr - r->physical_start < r->size &&
			 dev->len <= r->size - (dev->addr - r->physical_start);
	}
	if (!inside) {
		hv_error_set(err, hv_json_path_join(path, sizeof(path), prefix, "addr"),
			     "0x%" PRIx64 "+0x%" PRIx64
			     " is not inside a virtio memory region of zone %" PRIu32,
			     dev->addr, dev->len, cfg->zone_id);
		return -EINVAL;
	}
	if (dev->irq >= HV_CONFIG_MAX_INTERRUPTS ||
	    (hv_arch_irqs_gated(cfg->arch) &&
	     !(cfg->irq_bitmap[dev->irq / 32] & (1u << (dev->irq % 32))))) {
		hv_error_set(err, hv_json_path_join(path, sizeof(path), prefix, "irq"),
			     "IRQ %" PRIu32 " is not in zone %" PRIu32 "'s interrupts", dev->irq,
			     cfg->zone_id);
		return -EINVAL;
	}
	return 0;
}
