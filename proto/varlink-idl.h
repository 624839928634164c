/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The varlink interface definition language (https://varlink.org/Interface-Definition):
 * a parser for interface descriptions and a checker of message parameters
 * against them. It is what a client that trusts nothing but the served
 * description can do: the integration tests check every reply and error
 * hvisord sends with it (tests/integration/harness.c).
 *
 * Accepted: `interface` name, then members `type Name (struct|enum)`,
 * `method Name (in) -> (out)`, `error Name (struct)`; types bool, int,
 * float, string, object, ?T (not ??T), []T, [string]T, Name, inline
 * structs and enums. `#` comments and blanks between any two tokens. Names:
 * interface [A-Za-z][A-Za-z0-9-]* dot-separated (two parts at least),
 * members [A-Z][A-Za-z0-9]*, fields and enum values [A-Za-z](_?[A-Za-z0-9])*.
 * Refused besides syntax errors: duplicate members or fields, a Name that
 * is no `type` of the interface, types nested deeper than VL_IDL_MAX_DEPTH.
 */
#ifndef HV_VARLINK_IDL_H
#define HV_VARLINK_IDL_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#define VL_IDL_MAX_DEPTH 32 /* nesting of types in one declaration */

enum vl_idl_kind {
	VL_IDL_BOOL,
	VL_IDL_INT,
	VL_IDL_FLOAT,
	VL_IDL_STRING,
	VL_IDL_OBJECT, /* any JSON object */
	VL_IDL_ARRAY,  /* []elem */
	VL_IDL_MAP,    /* [string]elem */
	VL_IDL_MAYBE,  /* ?elem: may be absent or null */
	VL_IDL_STRUCT,
	VL_IDL_ENUM,
	VL_IDL_NAMED, /* a `type` of the same interface */
};

struct vl_idl_field;

struct vl_idl_type {
	enum vl_idl_kind kind;
	struct vl_idl_type *elem;	  /* ARRAY, MAP, MAYBE */
	char *name;			  /* NAMED */
	const struct vl_idl_type *target; /* NAMED: the type it names (resolved) */
	size_t n_fields;		  /* STRUCT: fields, ENUM: values */
	struct vl_idl_field *fields;
};

struct vl_idl_field {
	char *name;
	struct vl_idl_type *type; /* NULL for an enum value */
};

enum vl_idl_member_kind {
	VL_IDL_TYPEDEF,
	VL_IDL_METHOD,
	VL_IDL_ERROR,
};

struct vl_idl_member {
	enum vl_idl_member_kind kind;
	char *name;
	struct vl_idl_type *type; /* the type; a method's input; an error's parameters */
	struct vl_idl_type *out;  /* a method's output */
};

struct vl_idl {
	char *name;
	size_t n_members;
	struct vl_idl_member *members;
	size_t n_methods;
};

/* Parses one interface description. -EINVAL with "line N: what" in errbuf
 * for a description that is not valid, -ENOMEM. */
int vl_idl_parse(const char *text, struct vl_idl **ret, char *errbuf, size_t errsize);
struct vl_idl *vl_idl_free(struct vl_idl *idl);
/* The member `name` of that kind, or NULL. */
const struct vl_idl_member *vl_idl_find(const struct vl_idl *idl, enum vl_idl_member_kind kind,
					const char *name);

/* Checks the parameters of a message (an object; NULL counts as {}) against
 * a declared struct: no field the struct lacks, every field that is not ?T
 * present and not null, each value of its type (int: a JSON integer; float:
 * any number; object: any object). 0, or -EINVAL with "path: problem" in
 * errbuf, path the JSON path of the value from the parameters (e.g.
 * "zone.memory_regions[0].type"). */
int vl_idl_check(const struct vl_idl_type *st, json_object *params, char *errbuf, size_t errsize);

/* Checks one message a server sent, as a client receives it:
 * {"parameters": {...}, "continues": bool} or {"error": name, "parameters":
 * {...}} and nothing else. An error is checked against its declaration
 * (the interface is the name up to its last dot), whatever the call; a
 * reply against the output of `method` (NULL: the message answers no call,
 * so only an error is acceptable). The interfaces are looked up in
 * ifaces[0..n). 0, or -EINVAL (-ENOENT for an undeclared method or error)
 * with the reason in errbuf. */
int vl_idl_check_reply(struct vl_idl *const *ifaces, size_t n, const char *method, json_object *msg,
		       char *errbuf, size_t errsize);

#endif
