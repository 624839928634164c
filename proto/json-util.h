/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Typed access to JSON config documents, shared by the zone JSON parser
 * (config.c) and the virtio config parser (virtio-config.c), so both files
 * have one number syntax, one set of messages and one notion of a JSON path
 * (docs/config.md §1-2). Internal to libhvproto.
 *
 * Paths: `prefix` is the JSON path of the object holding `key` ("" for the
 * document itself); errors name "<prefix>.<key>". Getters return 1 when the
 * key was found and stored, 0 when it is absent and optional, and -EINVAL
 * with *err filled otherwise ("<path>: missing" for an absent required key).
 */
#ifndef HV_JSON_UTIL_H
#define HV_JSON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config.h"

#define HV_JSON_PATH_SIZE sizeof(((struct hv_error *)0)->path)

/* "<prefix>.<key>" (just key when prefix is empty) and "<prefix>[i]" into
 * buf; return buf. Paths are built from our own key names and small
 * indexes, truncation is harmless. */
const char *hv_json_path_join(char *buf, size_t size, const char *prefix, const char *key);
const char *hv_json_path_index(char *buf, size_t size, const char *prefix, size_t i);

/* User text echoed in a message must not carry terminal control sequences
 * into a log or a client's terminal: keeps printable ASCII ('?' for the
 * rest), cuts long text with "...". Returns buf. */
const char *hv_printable(const char *s, char *buf, size_t size);

/* A number: a non-negative JSON integer or a string in upstream's syntax
 * (parse_u64: 0x hex, leading 0 octal, else decimal, nothing else), <= max. */
int hv_json_value_u64(json_object *v, const char *path, uint64_t max, uint64_t *ret,
		      struct hv_error *err);
/* A boolean that upstream reads through cJSON's int view: true/false or 0/1. */
int hv_json_value_bool(json_object *v, const char *path, bool *ret, struct hv_error *err);
/* A string without NUL bytes of at most max_len bytes; borrowed from v. */
int hv_json_value_string(json_object *v, const char *path, size_t max_len, const char **ret,
			 struct hv_error *err);

/* obj[key]: 1 and *ret when present, 0 when absent and optional, -EINVAL
 * ("<path>: missing") when absent and required. */
int hv_json_lookup(json_object *obj, const char *key, const char *prefix, bool required,
		   json_object **ret, struct hv_error *err);
int hv_json_get_u64(json_object *obj, const char *key, const char *prefix, uint64_t max,
		    bool required, uint64_t *ret, struct hv_error *err);
int hv_json_get_u32(json_object *obj, const char *key, const char *prefix, uint64_t max,
		    bool required, uint32_t *ret, struct hv_error *err);
int hv_json_get_string(json_object *obj, const char *key, const char *prefix, size_t max_len,
		       bool required, const char **ret, struct hv_error *err);
/* Always optional. */
int hv_json_get_bool(json_object *obj, const char *key, const char *prefix, bool *ret,
		     struct hv_error *err);
/* An array of at most max entries. */
int hv_json_get_array(json_object *obj, const char *key, const char *prefix, size_t max,
		      bool required, json_object **ret, struct hv_error *err);
/* Element i of an array of objects; path receives "<key>[i]" (key being the
 * array's full path). */
int hv_json_array_object(json_object *arr, const char *key, size_t i, char *path, size_t size,
			 json_object **ret, struct hv_error *err);

/* Text -> JSON value with bounded size (max_len bytes) and nesting
 * (max_depth objects/arrays, hv_json_depth): no NUL bytes, nothing but
 * blanks after the value, syntax errors with line, column and byte offset;
 * err->path is "" for all of these. On success *ret holds a new reference. */
/* Objects and arrays nested in o, o included (scalars do not count).
 * Recursion is bounded by the tokener's limit. */
int hv_json_depth(json_object *o);
int hv_json_parse_text(const char *text, size_t len, size_t max_len, int max_depth,
		       json_object **ret, struct hv_error *err);

#endif
