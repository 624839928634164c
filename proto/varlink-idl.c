// SPDX-License-Identifier: GPL-2.0-only
/* Varlink IDL: parser and parameter checker (varlink-idl.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "varlink-idl.h"

struct parser {
	const char *start, *p;
	unsigned depth;
	char *err;
	size_t errsize;
};

/* "where: what" into err; -EINVAL. */
static int vfail(char *err, size_t errsize, const char *where, const char *fmt, va_list ap)
	_printf_(4, 0);
static int vfail(char *err, size_t errsize, const char *where, const char *fmt, va_list ap)
{
	char msg[200];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(err, errsize, "%s: %s", where, msg);
	return -EINVAL;
}

static int parse_fail(struct parser *ps, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int parse_fail(struct parser *ps, const char *fmt, ...)
{
	unsigned line = 1;
	char where[32];
	va_list ap;
	int r;

	for (const char *q = ps->start; q < ps->p; q++)
		line += *q == '\n';
	snprintf(where, sizeof(where), "line %u", line);
	va_start(ap, fmt);
	r = vfail(ps->err, ps->errsize, where, fmt, ap);
	va_end(ap);
	return r;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

/* Blanks and comments. */
static void skip(struct parser *ps)
{
	for (;;) {
		if (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n')
			ps->p++;
		else if (*ps->p == '#')
			while (*ps->p && *ps->p != '\n')
				ps->p++;
		else
			return;
	}
}

static bool eat(struct parser *ps, char c)
{
	skip(ps);
	if (*ps->p != c)
		return false;
	ps->p++;
	return true;
}

/* The next word (letters, digits, '_', and '.' '-' if dotted), malloc'd;
 * NULL with *ret_r set if there is none or memory is short. */
static char *read_word(struct parser *ps, bool dotted, const char *what, int *ret_r)
{
	const char *b;
	char *w;

	skip(ps);
	b = ps->p;
	while (is_alnum(*ps->p) || *ps->p == '_' || (dotted && (*ps->p == '.' || *ps->p == '-')))
		ps->p++;
	if (ps->p == b) {
		*ret_r = parse_fail(ps, "expected %s", what);
		return NULL;
	}
	w = strndup(b, (size_t)(ps->p - b));
	if (!w)
		*ret_r = -ENOMEM;
	return w;
}

/* [A-Za-z][A-Za-z0-9-]* parts, at least two, joined by dots; no part
 * begins or ends with '-'. */
static bool interface_name_ok(const char *s)
{
	unsigned parts = 0;

	if (!is_alpha(s[0]))
		return false;
	for (;;) {
		size_t n = strcspn(s, ".");

		if (n == 0 || s[0] == '-' || s[n - 1] == '-')
			return false;
		for (size_t i = 0; i < n; i++)
			if (!is_alnum(s[i]) && s[i] != '-')
				return false;
		parts++;
		if (!s[n])
			return parts >= 2;
		s += n + 1;
	}
}

/* [A-Z][A-Za-z0-9]* */
static bool member_name_ok(const char *s)
{
	if (!(s[0] >= 'A' && s[0] <= 'Z'))
		return false;
	for (s++; *s; s++)
		if (!is_alnum(*s))
			return false;
	return true;
}

/* [A-Za-z](_?[A-Za-z0-9])* */
static bool field_name_ok(const char *s)
{
	if (!is_alpha(s[0]))
		return false;
	for (s++; *s; s++) {
		if (*s == '_')
			s++;
		if (!is_alnum(*s))
			return false;
	}
	return true;
}

static void type_free(struct vl_idl_type *t)
{
	if (!t)
		return;
	type_free(t->elem);
	free(t->name);
	for (size_t i = 0; i < t->n_fields; i++) {
		free(t->fields[i].name);
		type_free(t->fields[i].type);
	}
	free(t->fields);
	free(t);
}

static struct vl_idl_type *type_new(enum vl_idl_kind kind)
{
	struct vl_idl_type *t = calloc(1, sizeof(*t));

	if (t)
		t->kind = kind;
	return t;
}

static int parse_type(struct parser *ps, struct vl_idl_type **ret);

/* One field (name: type) or enum value (name) into t; the first decides
 * which t is. */
static int parse_field(struct parser *ps, struct vl_idl_type *t)
{
	struct vl_idl_field f = {0}, *n = NULL;
	int r = 0;

	f.name = read_word(ps, false, "a field name", &r);
	if (!f.name)
		return r;
	if (!field_name_ok(f.name))
		r = parse_fail(ps, "'%.64s' is not a valid field name", f.name);
	for (size_t i = 0; r == 0 && i < t->n_fields; i++)
		if (strcmp(t->fields[i].name, f.name) == 0)
			r = parse_fail(ps, "field '%.64s' appears twice", f.name);
	if (r == 0 && eat(ps, ':')) {
		if (t->kind == VL_IDL_ENUM && t->n_fields > 0)
			r = parse_fail(ps, "'%.64s': an enum's values have no type", f.name);
		else
			r = parse_type(ps, &f.type);
	} else if (r == 0) {
		if (t->kind == VL_IDL_STRUCT && t->n_fields > 0)
			r = parse_fail(ps, "field '%.64s' has no type", f.name);
		t->kind = VL_IDL_ENUM;
	}
	if (r == 0) {
		n = realloc(t->fields, (t->n_fields + 1) * sizeof(*n));
		r = n ? 0 : -ENOMEM;
	}
	if (r < 0 || !n) {
		free(f.name);
		type_free(f.type);
		return r < 0 ? r : -ENOMEM;
	}
	t->fields = n;
	t->fields[t->n_fields++] = f;
	return 0;
}

/* ( [field {, field}] ) */
static int parse_struct(struct parser *ps, struct vl_idl_type **ret)
{
	struct vl_idl_type *t;
	int r = 0;

	if (!eat(ps, '('))
		return parse_fail(ps, "expected '('");
	t = type_new(VL_IDL_STRUCT);
	if (!t)
		return -ENOMEM;
	if (!eat(ps, ')'))
		for (;;) {
			r = parse_field(ps, t);
			if (r < 0 || eat(ps, ')'))
				break;
			if (!eat(ps, ',')) {
				r = parse_fail(ps, "expected ',' or ')'");
				break;
			}
		}
	if (r < 0) {
		type_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

/* ?T, []T, [string]T: the prefix is consumed, elem follows. */
static int parse_wrapped(struct parser *ps, enum vl_idl_kind kind, struct vl_idl_type **ret)
{
	struct vl_idl_type *t = type_new(kind);
	int r;

	if (!t)
		return -ENOMEM;
	r = parse_type(ps, &t->elem);
	if (r == 0 && kind == VL_IDL_MAYBE && t->elem->kind == VL_IDL_MAYBE)
		r = parse_fail(ps, "a maybe type cannot be maybe again (?"
				   "?T)");
	if (r < 0) {
		type_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

static const struct {
	const char *word;
	enum vl_idl_kind kind;
} builtins[] = {
	{"bool", VL_IDL_BOOL},	   {"int", VL_IDL_INT},	      {"float", VL_IDL_FLOAT},
	{"string", VL_IDL_STRING}, {"object", VL_IDL_OBJECT},
};

/* bool, int, ..., or a type's name. */
static int parse_word_type(struct parser *ps, struct vl_idl_type **ret)
{
	struct vl_idl_type *t;
	int r = 0;
	char *w = read_word(ps, false, "a type", &r);

	if (!w)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(builtins); i++)
		if (strcmp(w, builtins[i].word) == 0) {
			free(w);
			t = type_new(builtins[i].kind);
			if (!t)
				return -ENOMEM;
			*ret = t;
			return 0;
		}
	if (!member_name_ok(w)) {
		r = parse_fail(ps, "'%.64s' is not a type", w);
		free(w);
		return r;
	}
	t = type_new(VL_IDL_NAMED);
	if (!t) {
		free(w);
		return -ENOMEM;
	}
	t->name = w;
	*ret = t;
	return 0;
}

static int parse_type(struct parser *ps, struct vl_idl_type **ret)
{
	int r;

	if (++ps->depth > VL_IDL_MAX_DEPTH)
		return parse_fail(ps, "types nest deeper than %d", VL_IDL_MAX_DEPTH);
	skip(ps);
	if (eat(ps, '?')) {
		r = parse_wrapped(ps, VL_IDL_MAYBE, ret);
	} else if (eat(ps, '[')) {
		enum vl_idl_kind kind = VL_IDL_ARRAY;

		if (!eat(ps, ']')) {
			char *w = read_word(ps, false, "']' or 'string]'", &r);

			if (!w)
				return r;
			kind = VL_IDL_MAP;
			r = strcmp(w, "string") == 0 && eat(ps, ']')
				    ? 0
				    : parse_fail(ps, "expected '[]' or '[string]'");
			free(w);
			if (r < 0)
				return r;
		}
		r = parse_wrapped(ps, kind, ret);
	} else if (*ps->p == '(') {
		r = parse_struct(ps, ret);
	} else {
		r = parse_word_type(ps, ret);
	}
	ps->depth--;
	return r;
}

static const struct vl_idl_member *find_member(const struct vl_idl *idl, const char *name)
{
	for (size_t i = 0; i < idl->n_members; i++)
		if (strcmp(idl->members[i].name, name) == 0)
			return &idl->members[i];
	return NULL;
}

const struct vl_idl_member *vl_idl_find(const struct vl_idl *idl, enum vl_idl_member_kind kind,
					const char *name)
{
	const struct vl_idl_member *m = find_member(idl, name);

	return m && m->kind == kind ? m : NULL;
}

/* The parameters of a method or an error: a struct, not an enum. */
static int parse_fields(struct parser *ps, const char *member, struct vl_idl_type **ret)
{
	int r = parse_struct(ps, ret);

	if (r == 0 && (*ret)->kind != VL_IDL_STRUCT)
		return parse_fail(ps, "the parameters of %.64s are not 'name: type' pairs", member);
	return r;
}

/* type Name (struct|enum) | method Name (in) -> (out) | error Name (struct) */
static int parse_member(struct parser *ps, struct vl_idl_member *m, const struct vl_idl *idl)
{
	int r = 0;
	char *kw = read_word(ps, false, "'type', 'method' or 'error'", &r);

	if (!kw)
		return r;
	if (strcmp(kw, "type") == 0)
		m->kind = VL_IDL_TYPEDEF;
	else if (strcmp(kw, "method") == 0)
		m->kind = VL_IDL_METHOD;
	else if (strcmp(kw, "error") == 0)
		m->kind = VL_IDL_ERROR;
	else
		r = parse_fail(ps, "unknown keyword '%.64s'", kw);
	free(kw);
	if (r < 0)
		return r;
	m->name = read_word(ps, false, "a name", &r);
	if (!m->name)
		return r;
	if (!member_name_ok(m->name))
		return parse_fail(ps, "'%.64s' is not a valid name", m->name);
	if (find_member(idl, m->name))
		return parse_fail(ps, "'%.64s' is declared twice", m->name);
	if (m->kind == VL_IDL_TYPEDEF) {
		r = parse_type(ps, &m->type);
		if (r == 0 && m->type->kind != VL_IDL_STRUCT && m->type->kind != VL_IDL_ENUM)
			r = parse_fail(ps, "type %.64s is neither a struct nor an enum", m->name);
		return r;
	}
	r = parse_fields(ps, m->name, &m->type);
	if (r < 0 || m->kind == VL_IDL_ERROR)
		return r;
	if (!eat(ps, '-') || *ps->p != '>')
		return parse_fail(ps, "expected '->' after the input of %.64s", m->name);
	ps->p++;
	return parse_fields(ps, m->name, &m->out);
}

/* Every Name refers to a type of the interface. */
static int resolve(const struct vl_idl *idl, struct vl_idl_type *t, char *err, size_t errsize)
{
	const struct vl_idl_member *m;
	int r = 0;

	if (!t)
		return 0;
	if (t->kind == VL_IDL_NAMED) {
		m = vl_idl_find(idl, VL_IDL_TYPEDEF, t->name);
		if (!m) {
			snprintf(err, errsize, "type %.64s is used but not declared", t->name);
			return -EINVAL;
		}
		t->target = m->type;
	}
	r = resolve(idl, t->elem, err, errsize);
	for (size_t i = 0; r == 0 && i < t->n_fields; i++)
		r = resolve(idl, t->fields[i].type, err, errsize);
	return r;
}

static int parse_members(struct parser *ps, struct vl_idl *idl)
{
	int r;

	for (skip(ps); *ps->p; skip(ps)) {
		struct vl_idl_member *n = realloc(idl->members, (idl->n_members + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		idl->members = n;
		n = &idl->members[idl->n_members];
		*n = (struct vl_idl_member){0};
		r = parse_member(ps, n, idl);
		idl->n_members++; /* freed with the rest, also when half parsed */
		if (r < 0)
			return r;
		idl->n_methods += n->kind == VL_IDL_METHOD;
	}
	for (size_t i = 0; i < idl->n_members; i++) {
		r = resolve(idl, idl->members[i].type, ps->err, ps->errsize);
		if (r == 0)
			r = resolve(idl, idl->members[i].out, ps->err, ps->errsize);
		if (r < 0)
			return r;
	}
	return 0;
}

int vl_idl_parse(const char *text, struct vl_idl **ret, char *errbuf, size_t errsize)
{
	struct parser ps = {.start = text, .p = text, .err = errbuf, .errsize = errsize};
	struct vl_idl *idl = calloc(1, sizeof(*idl));
	char *kw = NULL;
	int r = 0;

	if (!idl)
		return -ENOMEM;
	kw = read_word(&ps, false, "'interface'", &r);
	if (kw && strcmp(kw, "interface") != 0)
		r = parse_fail(&ps, "expected 'interface'");
	free(kw);
	if (r == 0) {
		idl->name = read_word(&ps, true, "an interface name", &r);
		if (idl->name && !interface_name_ok(idl->name))
			r = parse_fail(&ps, "'%.64s' is not a valid interface name", idl->name);
	}
	if (r == 0)
		r = parse_members(&ps, idl);
	if (r < 0) {
		if (r == -ENOMEM)
			snprintf(errbuf, errsize, "out of memory");
		vl_idl_free(idl);
		return r;
	}
	*ret = idl;
	return 0;
}

struct vl_idl *vl_idl_free(struct vl_idl *idl)
{
	if (!idl)
		return NULL;
	for (size_t i = 0; i < idl->n_members; i++) {
		free(idl->members[i].name);
		type_free(idl->members[i].type);
		type_free(idl->members[i].out);
	}
	free(idl->members);
	free(idl->name);
	free(idl);
	return NULL;
}

/* ---- checking values ---------------------------------------------------------------- */

struct checker {
	char path[256];
	size_t len;
	char *err;
	size_t errsize;
};

static int check_fail(struct checker *ck, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int check_fail(struct checker *ck, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(ck->err, ck->errsize, ck->len ? ck->path : "parameters", fmt, ap);
	va_end(ap);
	return r;
}

/* Appends to the path; returns the length to restore. */
static size_t path_push(struct checker *ck, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static size_t path_push(struct checker *ck, const char *fmt, ...)
{
	size_t old = ck->len;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(ck->path + ck->len, sizeof(ck->path) - ck->len, fmt, ap);
	va_end(ap);
	ck->len = MIN(ck->len + (size_t)MAX(k, 0), sizeof(ck->path) - 1);
	return old;
}

static void path_pop(struct checker *ck, size_t len)
{
	ck->len = len;
	ck->path[len] = '\0';
}

static const char *json_kind(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_int:
		return "an integer";
	case json_type_double:
		return "a fractional number";
	case json_type_string:
		return "a string";
	case json_type_array:
		return "an array";
	case json_type_object:
		return "an object";
	}
	return "?";
}

static int check_value(struct checker *ck, const struct vl_idl_type *t, json_object *v);

static int check_struct(struct checker *ck, const struct vl_idl_type *t, json_object *o)
{
	int r;

	json_object_object_foreach (o, key, val) {
		const struct vl_idl_field *f = NULL;
		size_t old = path_push(ck, "%s%.64s", ck->len ? "." : "", key);

		for (size_t i = 0; i < t->n_fields && !f; i++)
			if (strcmp(t->fields[i].name, key) == 0)
				f = &t->fields[i];
		r = f ? check_value(ck, f->type, val) : check_fail(ck, "not a declared field");
		if (r < 0)
			return r;
		path_pop(ck, old);
	}
	for (size_t i = 0; i < t->n_fields; i++) {
		const struct vl_idl_field *f = &t->fields[i];

		if (f->type->kind != VL_IDL_MAYBE && !json_object_object_get_ex(o, f->name, NULL)) {
			path_push(ck, "%s%.64s", ck->len ? "." : "", f->name);
			return check_fail(ck, "missing");
		}
	}
	return 0;
}

static int check_elements(struct checker *ck, const struct vl_idl_type *t, json_object *v)
{
	int r;

	if (t->kind == VL_IDL_ARRAY) {
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			size_t old = path_push(ck, "[%zu]", i);

			r = check_value(ck, t->elem, json_object_array_get_idx(v, i));
			if (r < 0)
				return r;
			path_pop(ck, old);
		}
		return 0;
	}
	json_object_object_foreach (v, key, val) {
		size_t old = path_push(ck, "[\"%.64s\"]", key);

		r = check_value(ck, t->elem, val);
		if (r < 0)
			return r;
		path_pop(ck, old);
	}
	return 0;
}

static bool enum_has(const struct vl_idl_type *t, const char *s)
{
	for (size_t i = 0; i < t->n_fields; i++)
		if (strcmp(t->fields[i].name, s) == 0)
			return true;
	return false;
}

static int check_value(struct checker *ck, const struct vl_idl_type *t, json_object *v)
{
	static const json_type want[] = {
		[VL_IDL_BOOL] = json_type_boolean,  [VL_IDL_INT] = json_type_int,
		[VL_IDL_FLOAT] = json_type_double,  [VL_IDL_STRING] = json_type_string,
		[VL_IDL_OBJECT] = json_type_object, [VL_IDL_ARRAY] = json_type_array,
		[VL_IDL_MAP] = json_type_object,    [VL_IDL_STRUCT] = json_type_object,
		[VL_IDL_ENUM] = json_type_string,
	};
	static const char *const what[] = {
		[VL_IDL_BOOL] = "a boolean",
		[VL_IDL_INT] = "an integer",
		[VL_IDL_FLOAT] = "a number",
		[VL_IDL_STRING] = "a string",
		[VL_IDL_OBJECT] = "an object",
		[VL_IDL_ARRAY] = "an array",
		[VL_IDL_MAP] = "an object (a map)",
		[VL_IDL_STRUCT] = "an object",
		[VL_IDL_ENUM] = "a string (an enum value)",
	};
	json_type jt = json_object_get_type(v);

	if (t->kind == VL_IDL_NAMED)
		t = t->target;
	if (t->kind == VL_IDL_MAYBE)
		return jt == json_type_null ? 0 : check_value(ck, t->elem, v);
	if (jt != want[t->kind] && !(t->kind == VL_IDL_FLOAT && jt == json_type_int))
		return check_fail(ck, "expected %s, got %s", what[t->kind], json_kind(v));
	switch (t->kind) {
	case VL_IDL_ARRAY:
	case VL_IDL_MAP:
		return check_elements(ck, t, v);
	case VL_IDL_STRUCT:
		return check_struct(ck, t, v);
	case VL_IDL_ENUM:
		if (!enum_has(t, json_object_get_string(v)))
			return check_fail(ck, "'%.64s' is not a value of the enum",
					  json_object_get_string(v));
		return 0;
	default:
		return 0;
	}
}

int vl_idl_check(const struct vl_idl_type *st, json_object *params, char *errbuf, size_t errsize)
{
	struct checker ck = {.err = errbuf, .errsize = errsize};
	json_object *empty = NULL;
	int r;

	if (!params)
		params = empty = json_object_new_object();
	if (!params)
		return -ENOMEM;
	r = check_value(&ck, st, params);
	json_object_put(empty);
	return r;
}

/* The interface of a qualified name (method or error) and the member. */
static const struct vl_idl_member *lookup(struct vl_idl *const *ifaces, size_t n,
					  enum vl_idl_member_kind kind, const char *qname)
{
	const char *dot = strrchr(qname, '.');

	if (!dot)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strlen(ifaces[i]->name) == (size_t)(dot - qname) &&
		    strncmp(ifaces[i]->name, qname, (size_t)(dot - qname)) == 0)
			return vl_idl_find(ifaces[i], kind, dot + 1);
	return NULL;
}

/* The message's keys and their JSON types. */
static int check_envelope(json_object *msg, json_object **ret_params, const char **ret_error,
			  bool *ret_continues, char *errbuf, size_t errsize)
{
	*ret_params = NULL;
	*ret_error = NULL;
	*ret_continues = false;
	if (!json_object_is_type(msg, json_type_object)) {
		snprintf(errbuf, errsize, "the message is not an object");
		return -EINVAL;
	}
	json_object_object_foreach (msg, key, val) {
		json_type jt = json_object_get_type(val);

		if (strcmp(key, "parameters") == 0 &&
		    (jt == json_type_object || jt == json_type_null))
			*ret_params = val;
		else if (strcmp(key, "continues") == 0 && jt == json_type_boolean)
			*ret_continues = json_object_get_boolean(val);
		else if (strcmp(key, "error") == 0 && jt == json_type_string)
			*ret_error = json_object_get_string(val);
		else {
			snprintf(errbuf, errsize,
				 "'%.64s' is not a field of a reply, or has the wrong type", key);
			return -EINVAL;
		}
	}
	if (*ret_error && *ret_continues) {
		snprintf(errbuf, errsize, "an error with \"continues\": true");
		return -EINVAL;
	}
	return 0;
}

int vl_idl_check_reply(struct vl_idl *const *ifaces, size_t n, const char *method, json_object *msg,
		       char *errbuf, size_t errsize)
{
	const struct vl_idl_member *m;
	json_object *params;
	const char *error;
	bool continues;
	char why[300];
	int r = check_envelope(msg, &params, &error, &continues, errbuf, errsize);

	if (r < 0)
		return r;
	if (!error && !method) {
		snprintf(errbuf, errsize, "a reply that answers no call");
		return -EINVAL;
	}
	m = error ? lookup(ifaces, n, VL_IDL_ERROR, error)
		  : lookup(ifaces, n, VL_IDL_METHOD, method);
	if (!m) {
		snprintf(errbuf, errsize, "%s %.128s is not declared", error ? "error" : "method",
			 error ? error : method);
		return -ENOENT;
	}
	r = vl_idl_check(error ? m->type : m->out, params, why, sizeof(why));
	if (r < 0)
		snprintf(errbuf, errsize, "%s %.128s: %s", error ? "error" : "reply of",
			 error ? error : method, why);
	return r;
}
