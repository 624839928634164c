// SPDX-License-Identifier: GPL-2.0-only
/*
 * Typed access to JSON config documents (see json-util.h). Moved out of
 * config.c so the virtio config parser shares the number syntax, the
 * messages and the text limits of the zone JSON parser.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json-util.h"
#include "macro.h"
#include "util.h"

const char *hv_json_path_join(char *buf, size_t size, const char *prefix, const char *key)
{
	if (prefix && prefix[0])
		snprintf(buf, size, "%s.%s", prefix, key);
	else
		snprintf(buf, size, "%s", key);
	return buf;
}

const char *hv_json_path_index(char *buf, size_t size, const char *prefix, size_t i)
{
	snprintf(buf, size, "%s[%zu]", prefix, i);
	return buf;
}

const char *hv_printable(const char *s, char *buf, size_t size)
{
	size_t i, o = 0;

	for (i = 0; s[i] && o + 4 < size; i++)
		buf[o++] = (char)((s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?');
	if (s[i] && size >= 4) {
		o = MIN(o, size - 4);
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

int hv_json_value_u64(json_object *v, const char *path, uint64_t max, uint64_t *ret,
		      struct hv_error *err)
{
	uint64_t x;

	switch (json_object_get_type(v)) {
	case json_type_int:
		if (json_object_get_int64(v) < 0) {
			hv_error_set(err, path, "must not be negative");
			return -EINVAL;
		}
		x = json_object_get_uint64(v);
		if (x > max) {
			hv_error_set(err, path, "must be <= %" PRIu64, max);
			return -EINVAL;
		}
		/* json-c clamps every integer literal above 2^64-1 to exactly
		 * that value, so it cannot be told apart from an overflow. */
		if (x == UINT64_MAX) {
			hv_error_set(
				err, path,
				"integer too large for JSON, write values >= 2^64-1 as a string");
			return -EINVAL;
		}
		break;
	case json_type_string: {
		const char *s = json_object_get_string(v);
		int len = json_object_get_string_len(v);
		int r;

		/* parse_u64 would let strtoull skip some blanks; insist on a
		 * digit first, and on no NUL inside the JSON string. */
		if (len <= 0 || (size_t)len != strlen(s) || s[0] < '0' || s[0] > '9') {
			hv_error_set(err, path, "expected a number, got a string that is not one");
			return -EINVAL;
		}
		r = parse_u64(s, max, &x);
		if (r == -ERANGE) {
			if (max == UINT64_MAX)
				hv_error_set(err, path, "does not fit in 64 bits");
			else
				hv_error_set(err, path, "must be <= %" PRIu64, max);
			return -EINVAL;
		}
		if (r < 0) {
			hv_error_set(err, path, "expected a number, got a string that is not one");
			return -EINVAL;
		}
		break;
	}
	case json_type_double:
		hv_error_set(err, path,
			     "expected a number (an integer or a string), got a fraction");
		return -EINVAL;
	default:
		hv_error_set(err, path, "expected a number, got %s",
			     json_type_to_name(json_object_get_type(v)));
		return -EINVAL;
	}
	*ret = x;
	return 0;
}

int hv_json_value_bool(json_object *v, const char *path, bool *ret, struct hv_error *err)
{
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		*ret = json_object_get_boolean(v);
		return 0;
	case json_type_int: {
		int64_t x = json_object_get_int64(v);

		if (x == 0 || x == 1) {
			*ret = x == 1;
			return 0;
		}
		break;
	}
	default:
		break;
	}
	hv_error_set(err, path, "expected true, false, 0 or 1");
	return -EINVAL;
}

int hv_json_value_string(json_object *v, const char *path, size_t max_len, const char **ret,
			 struct hv_error *err)
{
	const char *s;
	int len;

	if (!json_object_is_type(v, json_type_string)) {
		hv_error_set(err, path, "expected a string, got %s",
			     json_type_to_name(json_object_get_type(v)));
		return -EINVAL;
	}
	s = json_object_get_string(v);
	len = json_object_get_string_len(v);
	if (len < 0 || (size_t)len != strlen(s)) {
		hv_error_set(err, path, "contains a NUL character");
		return -EINVAL;
	}
	if ((size_t)len > max_len) {
		hv_error_set(err, path, "longer than %zu bytes", max_len);
		return -EINVAL;
	}
	*ret = s;
	return 0;
}

int hv_json_lookup(json_object *obj, const char *key, const char *prefix, bool required,
		   json_object **ret, struct hv_error *err)
{
	char path[HV_JSON_PATH_SIZE];
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v)) {
		if (!required)
			return 0;
		hv_error_set(err, hv_json_path_join(path, sizeof(path), prefix, key), "missing");
		return -EINVAL;
	}
	*ret = v;
	return 1;
}

/* The one accessor every numeric key goes through: same syntax, same
 * messages everywhere. */
int hv_json_get_u64(json_object *obj, const char *key, const char *prefix, uint64_t max,
		    bool required, uint64_t *ret, struct hv_error *err)
{
	char path[HV_JSON_PATH_SIZE];
	json_object *v;
	int r;

	r = hv_json_lookup(obj, key, prefix, required, &v, err);
	if (r <= 0)
		return r;
	r = hv_json_value_u64(v, hv_json_path_join(path, sizeof(path), prefix, key), max, ret, err);
	return r < 0 ? r : 1;
}

int hv_json_get_u32(json_object *obj, const char *key, const char *prefix, uint64_t max,
		    bool required, uint32_t *ret, struct hv_error *err)
{
	uint64_t x;
	int r;

	r = hv_json_get_u64(obj, key, prefix, MIN(max, (uint64_t)UINT32_MAX), required, &x, err);
	if (r > 0)
		*ret = (uint32_t)x;
	return r;
}

int hv_json_get_string(json_object *obj, const char *key, const char *prefix, size_t max_len,
		       bool required, const char **ret, struct hv_error *err)
{
	char path[HV_JSON_PATH_SIZE];
	json_object *v;
	int r;

	r = hv_json_lookup(obj, key, prefix, required, &v, err);
	if (r <= 0)
		return r;
	r = hv_json_value_string(v, hv_json_path_join(path, sizeof(path), prefix, key), max_len,
				 ret, err);
	return r < 0 ? r : 1;
}

int hv_json_get_bool(json_object *obj, const char *key, const char *prefix, bool *ret,
		     struct hv_error *err)
{
	char path[HV_JSON_PATH_SIZE];
	json_object *v;
	int r;

	r = hv_json_lookup(obj, key, prefix, false, &v, err);
	if (r <= 0)
		return r;
	r = hv_json_value_bool(v, hv_json_path_join(path, sizeof(path), prefix, key), ret, err);
	return r < 0 ? r : 1;
}

int hv_json_get_array(json_object *obj, const char *key, const char *prefix, size_t max,
		      bool required, json_object **ret, struct hv_error *err)
{
	char path[HV_JSON_PATH_SIZE];
	json_object *v;
	size_t n;
	int r;

	r = hv_json_lookup(obj, key, prefix, required, &v, err);
	if (r <= 0)
		return r;
	hv_json_path_join(path, sizeof(path), prefix, key);
	if (!json_object_is_type(v, json_type_array)) {
		hv_error_set(err, path, "expected an array, got %s",
			     json_type_to_name(json_object_get_type(v)));
		return -EINVAL;
	}
	n = json_object_array_length(v);
	if (n > max) {
		hv_error_set(err, path, "at most %zu entries allowed, got %zu", max, n);
		return -EINVAL;
	}
	*ret = v;
	return 1;
}

int hv_json_array_object(json_object *arr, const char *key, size_t i, char *path, size_t size,
			 json_object **ret, struct hv_error *err)
{
	json_object *v = json_object_array_get_idx(arr, i);

	hv_json_path_index(path, size, key, i);
	if (!json_object_is_type(v, json_type_object)) {
		hv_error_set(err, path, "expected an object, got %s",
			     json_type_to_name(json_object_get_type(v)));
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static void offset_to_line_col(const char *text, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else
			(*col)++;
	}
}

int hv_json_depth(json_object *o)
{
	int max = 0;

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach (o, key, val) {
			int d = hv_json_depth(val);

			(void)key;
			max = MAX(max, d);
		}
		return max + 1;
	}
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			max = MAX(max, hv_json_depth(json_object_array_get_idx(o, i)));
		return max + 1;
	}
	return 0;
}

static int syntax_error(const char *text, size_t off, const char *what, struct hv_error *err)
{
	unsigned line, col;

	offset_to_line_col(text, off, &line, &col);
	hv_error_set(err, "", "JSON syntax error at line %u, column %u (byte %zu): %s", line, col,
		     off, what);
	return -EINVAL;
}

/* json_tokener_parse_ex over the whole text: the root (or NULL), the
 * tokener's verdict, where it stopped; -ENOMEM. */
static int tokenize(const char *text, size_t len, int max_depth, json_object **ret_root,
		    enum json_tokener_error *ret_jerr, size_t *ret_end)
{
	/* json-c's depth counts one more than the nesting it allows (see
	 * hv_json_depth); the caller counts containers itself */
	struct json_tokener *tok = json_tokener_new_ex(max_depth + 1);
	enum json_tokener_error jerr;
	json_object *root;

	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	*ret_end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue && !root) {
		/* A NUL terminates a pending top-level number or literal. */
		root = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		if (jerr != json_tokener_success && !root)
			jerr = json_tokener_continue;
		*ret_end = len;
	}
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		json_object_put(root);
		root = NULL;
	}
	*ret_root = root;
	*ret_jerr = jerr;
	return 0;
}

int hv_json_parse_text(const char *text, size_t len, size_t max_len, int max_depth,
		       json_object **ret, struct hv_error *err)
{
	enum json_tokener_error jerr;
	json_object *root;
	const char *nul;
	size_t end;

	if (!text) {
		hv_error_set(err, "", "no config text");
		return -EINVAL;
	}
	if (len > max_len || len > INT32_MAX) {
		hv_error_set(err, "", "the config is larger than %zu bytes", max_len);
		return -EINVAL;
	}
	/* json-c would stop at a NUL and ignore the rest */
	nul = memchr(text, '\0', len);
	if (nul) {
		hv_error_set(err, "", "the config contains a NUL byte (byte %zu)",
			     (size_t)(nul - text));
		return -EINVAL;
	}

	if (tokenize(text, len, max_depth, &root, &jerr, &end) < 0) {
		hv_error_set(err, "", "out of memory");
		return -ENOMEM;
	}
	if (jerr == json_tokener_continue) {
		hv_error_set(err, "", "JSON syntax error: unexpected end of input");
		return -EINVAL;
	}
	if (jerr == json_tokener_error_depth || (root && hv_json_depth(root) > max_depth)) {
		json_object_put(root);
		hv_error_set(err, "", "the config nests deeper than %d levels", max_depth);
		return -EINVAL;
	}
	if (jerr != json_tokener_success)
		return syntax_error(text, MIN(end, len), json_tokener_error_desc(jerr), err);

	for (; end < len; end++)
		if (text[end] != ' ' && text[end] != '\t' && text[end] != '\n' && text[end] != '\r')
			break;
	if (end < len) {
		json_object_put(root);
		return syntax_error(text, end, "unexpected data after the JSON document", err);
	}

	*ret = root;
	return 0;
}
