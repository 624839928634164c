// SPDX-License-Identifier: GPL-2.0-only
/* The varlink IDL parser and checker (proto/varlink-idl.h), and the
 * interface descriptions hvisord serves (proto/interfaces.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "macro.h"
#include "varlink-idl.h"
#include "varlink.h"

static const char sample[] =
	"# A test interface.\n"
	"interface org.example.more-test\n"
	"\n"
	"# a comment before a member\n"
	"type Color (red, green, blue)\n"
	"type Point (x: int, y: int)\n"
	"type Shape (\n"
	"  name: string, # a comment in a struct\n"
	"  color: Color,\n"
	"  points: []Point,\n"
	"  tags: [string]string,\n"
	"  scale: ?float,\n"
	"  extra: ?object,\n"
	"  inner: ?(a: bool, b: (on, off)),\n"
	"  grid: ?[][]?int\n"
	")\n"
	"method Draw(shape: Shape, dry: ?bool) -> (id: int, warnings: []string)\n"
	"method Ping() -> ()\n"
	"error NoSuchShape (id: int, message: string)\n"
	"error Refused ()\n";

static struct vl_idl *parse_ok(const char *text)
{
	struct vl_idl *idl = NULL;
	char err[256] = "";
	int r = vl_idl_parse(text, &idl, err, sizeof(err));

	if (r < 0)
		fail_msg("parse failed (%d): %s\n%s", r, err, text);
	return idl;
}

static void test_parse_sample(void **state)
{
	struct vl_idl *idl = parse_ok(sample);
	const struct vl_idl_member *m;
	const struct vl_idl_type *t;

	assert_string_equal(idl->name, "org.example.more-test");
	assert_int_equal(idl->n_members, 7);
	assert_int_equal(idl->n_methods, 2);
	m = vl_idl_find(idl, VL_IDL_TYPEDEF, "Color");
	assert_non_null(m);
	assert_int_equal(m->type->kind, VL_IDL_ENUM);
	assert_int_equal(m->type->n_fields, 3);
	assert_string_equal(m->type->fields[2].name, "blue");
	m = vl_idl_find(idl, VL_IDL_TYPEDEF, "Shape");
	assert_int_equal(m->type->kind, VL_IDL_STRUCT);
	assert_int_equal(m->type->n_fields, 8);
	t = m->type->fields[1].type;
	assert_int_equal(t->kind, VL_IDL_NAMED);
	assert_ptr_equal(t->target, vl_idl_find(idl, VL_IDL_TYPEDEF, "Color")->type);
	assert_int_equal(m->type->fields[2].type->kind, VL_IDL_ARRAY);
	assert_int_equal(m->type->fields[3].type->kind, VL_IDL_MAP);
	assert_int_equal(m->type->fields[3].type->elem->kind, VL_IDL_STRING);
	t = m->type->fields[6].type;
	assert_int_equal(t->kind, VL_IDL_MAYBE);
	assert_int_equal(t->elem->kind, VL_IDL_STRUCT);
	assert_int_equal(t->elem->fields[1].type->kind, VL_IDL_ENUM);
	t = m->type->fields[7].type;
	assert_int_equal(t->elem->kind, VL_IDL_ARRAY);
	assert_int_equal(t->elem->elem->elem->kind, VL_IDL_MAYBE);
	m = vl_idl_find(idl, VL_IDL_METHOD, "Draw");
	assert_non_null(m);
	assert_int_equal(m->type->n_fields, 2);
	assert_int_equal(m->out->n_fields, 2);
	m = vl_idl_find(idl, VL_IDL_METHOD, "Ping");
	assert_int_equal(m->type->n_fields, 0);
	assert_int_equal(m->out->n_fields, 0);
	assert_non_null(vl_idl_find(idl, VL_IDL_ERROR, "Refused"));
	/* the kind matters */
	assert_null(vl_idl_find(idl, VL_IDL_METHOD, "Refused"));
	assert_null(vl_idl_find(idl, VL_IDL_ERROR, "Nope"));
	assert_null(vl_idl_free(idl));
}

/* Descriptions that must be refused, with a word the reason contains. */
static void test_parse_invalid(void **state)
{
	static const struct {
		const char *text, *reason;
	} bad[] = {
		{"", "expected 'interface'"},
		{"# only a comment\n", "expected 'interface'"},
		{"interfaces org.a.b\n", "expected 'interface'"},
		{"interface\n", "interface name"},
		{"interface org\n", "not a valid interface name"},
		{"interface org..a\n", "not a valid interface name"},
		{"interface org.a-\n", "not a valid interface name"},
		{"interface org.-a\n", "not a valid interface name"},
		{"interface 1org.a\n", "interface name"},
		{"interface org.a\nfunction F() -> ()\n", "unknown keyword"},
		{"interface org.a\nmethod f() -> ()\n", "not a valid name"},
		{"interface org.a\nmethod F() -> ()\nmethod F() -> ()\n", "declared twice"},
		{"interface org.a\ntype F (a: int)\nerror F ()\n", "declared twice"},
		{"interface org.a\nmethod F(a: int, a: int) -> ()\n", "appears twice"},
		{"interface org.a\nmethod F(a: Nope) -> ()\n", "not declared"},
		{"interface org.a\nmethod F() -> (a: []Nope)\n", "not declared"},
		{"interface org.a\nmethod F(a: ?\?int) -> ()\n", "maybe again"},
		{"interface org.a\nmethod F(a: ? ?int) -> ()\n", "maybe again"},
		{"interface org.a\nmethod F(a: [int]string) -> ()\n", "'[string]'"},
		{"interface org.a\nmethod F(a: [string) -> ()\n", "'[string]'"},
		{"interface org.a\nmethod F(a: integer) -> ()\n", "not a type"},
		{"interface org.a\nmethod F(a: int b: int) -> ()\n", "expected ',' or ')'"},
		{"interface org.a\nmethod F(a: int,) -> ()\n", "field name"},
		{"interface org.a\nmethod F(a: int\n", "expected ',' or ')'"},
		{"interface org.a\nmethod F(a: (x, y: int)) -> ()\n", "no type"},
		{"interface org.a\nmethod F(a: (x: int, y)) -> ()\n", "has no type"},
		{"interface org.a\nmethod F(x, y) -> ()\n", "not 'name: type' pairs"},
		{"interface org.a\nmethod F() -> (x)\n", "not 'name: type' pairs"},
		{"interface org.a\nerror E (x, y)\n", "not 'name: type' pairs"},
		{"interface org.a\nmethod F()\n", "'->'"},
		{"interface org.a\nmethod F() - ()\n", "'->'"},
		{"interface org.a\nmethod F() -> \n", "'('"},
		{"interface org.a\nmethod F -> ()\n", "'('"},
		{"interface org.a\ntype T int\n", "neither a struct nor an enum"},
		{"interface org.a\ntype T ?(a: int)\n", "neither a struct nor an enum"},
		{"interface org.a\nmethod F(_a: int) -> ()\n", "field name"},
		{"interface org.a\nmethod F(a__b: int) -> ()\n", "not a valid field name"},
		{"interface org.a\nmethod F(a_: int) -> ()\n", "not a valid field name"},
		{"interface org.a\nmethod F(a: int) -> ()\n)\n",
		 "expected 'type', 'method' or 'error'"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct vl_idl *idl = NULL;
		char err[256] = "";
		int r = vl_idl_parse(bad[i].text, &idl, err, sizeof(err));

		if (r != -EINVAL || !strstr(err, bad[i].reason))
			fail_msg("case %zu (%s): %d '%s', want -EINVAL '%s'", i, bad[i].text, r,
				 err, bad[i].reason);
		assert_null(idl);
	}
}

/* A line number comes with the reason. */
static void test_parse_line(void **state)
{
	struct vl_idl *idl = NULL;
	char err[256];

	assert_int_equal(vl_idl_parse("interface org.a\n\n# c\nmethod F(a: intt) -> ()\n", &idl,
				      err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "line 4:"));
}

static void test_parse_depth(void **state)
{
	char text[512], *p = text;
	struct vl_idl *idl = NULL;
	char err[256];

	p += sprintf(p, "interface org.a\nmethod F(a: ");
	for (int i = 0; i < VL_IDL_MAX_DEPTH - 1; i++)
		p += sprintf(p, "[]");
	sprintf(p, "int) -> ()\n");
	idl = parse_ok(text);
	vl_idl_free(idl);
	idl = NULL;
	p = text + sprintf(text, "interface org.a\nmethod F(a: ");
	for (int i = 0; i < VL_IDL_MAX_DEPTH; i++)
		p += sprintf(p, "[]");
	sprintf(p, "int) -> ()\n");
	assert_int_equal(vl_idl_parse(text, &idl, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "deeper"));
}

/* Checks JSON against Draw's input (a Shape and more) or output. */
static int check(const struct vl_idl *idl, bool out, const char *json, char *err, size_t size)
{
	const struct vl_idl_member *m = vl_idl_find(idl, VL_IDL_METHOD, "Draw");
	json_object *o = json ? json_tokener_parse(json) : NULL;
	int r;

	if (json && !o)
		fail_msg("bad test JSON %s", json);
	r = vl_idl_check(out ? m->out : m->type, o, err, size);
	json_object_put(o);
	return r;
}

#define SHAPE_OK "\"name\": \"s\", \"color\": \"red\", \"points\": [], \"tags\": {}"

static void test_check_values(void **state)
{
	static const char *const good[] = {
		"{\"shape\": {" SHAPE_OK "}}",
		"{\"shape\": {" SHAPE_OK "}, \"dry\": true}",
		"{\"shape\": {" SHAPE_OK "}, \"dry\": null}",
		"{\"shape\": {\"name\": \"s\", \"color\": \"blue\", \"points\": [{\"x\": 1, \"y\": -2}],"
		" \"tags\": {\"k\": \"v\"}, \"scale\": 2, \"extra\": {\"any\": [1, \"x\"]},"
		" \"inner\": {\"a\": false, \"b\": \"off\"}, \"grid\": [[1, null], []]}}",
		"{\"shape\": {" SHAPE_OK ", \"scale\": 0.5, \"inner\": null, \"grid\": null}}",
	};
	struct vl_idl *idl = parse_ok(sample);
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (check(idl, false, good[i], err, sizeof(err)) < 0)
			fail_msg("case %zu: %s", i, err);
	assert_int_equal(check(idl, true, "{\"id\": 1, \"warnings\": [\"w\"]}", err, sizeof(err)),
			 0);
	vl_idl_free(idl);
}

/* Each must fail, with this path and reason. */
static void test_check_invalid(void **state)
{
	static const struct {
		const char *json, *want;
	} bad[] = {
		{NULL, "shape: missing"},
		{"{}", "shape: missing"},
		{"{\"shape\": null}", "shape: expected an object, got null"},
		{"{\"shape\": [1]}", "shape: expected an object, got an array"},
		{"{\"shape\": {" SHAPE_OK "}, \"Dry\": true}", "Dry: not a declared field"},
		{"{\"shape\": {" SHAPE_OK "}, \"dry\": 1}",
		 "dry: expected a boolean, got an integer"},
		{"{\"shape\": {" SHAPE_OK ", \"size\": 1}}", "shape.size: not a declared field"},
		{"{\"shape\": {\"name\": \"s\", \"points\": [], \"tags\": {}}}",
		 "shape.color: missing"},
		{"{\"shape\": {\"name\": 1, \"color\": \"red\", \"points\": [], \"tags\": {}}}",
		 "shape.name: expected a string, got an integer"},
		{"{\"shape\": {\"name\": null, \"color\": \"red\", \"points\": [], \"tags\": {}}}",
		 "shape.name: expected a string, got null"},
		{"{\"shape\": {\"name\": \"s\", \"color\": \"pink\", \"points\": [], \"tags\": {}}}",
		 "shape.color: 'pink' is not a value of the enum"},
		{"{\"shape\": {\"name\": \"s\", \"color\": 0, \"points\": [], \"tags\": {}}}",
		 "shape.color: expected a string (an enum value), got an integer"},
		{"{\"shape\": {\"name\": \"s\", \"color\": \"red\", \"points\": {}, \"tags\": {}}}",
		 "shape.points: expected an array, got an object"},
		{"{\"shape\": {\"name\": \"s\", \"color\": \"red\", \"points\": [{\"x\": 1, \"y\": 2},"
		 " {\"x\": 1.5, \"y\": 2}], \"tags\": {}}}",
		 "shape.points[1].x: expected an integer, got a fractional number"},
		{"{\"shape\": {\"name\": \"s\", \"color\": \"red\", \"points\": [{\"x\": 1}], \"tags\": {}}}",
		 "shape.points[0].y: missing"},
		{"{\"shape\": {\"name\": \"s\", \"color\": \"red\", \"points\": [null], \"tags\": {}}}",
		 "shape.points[0]: expected an object, got null"},
		{"{\"shape\": {\"name\": \"s\", \"color\": \"red\", \"points\": [], \"tags\": []}}",
		 "shape.tags: expected an object (a map), got an array"},
		{"{\"shape\": {\"name\": \"s\", \"color\": \"red\", \"points\": [], \"tags\": {\"k\": 1}}}",
		 "shape.tags[\"k\"]: expected a string, got an integer"},
		{"{\"shape\": {" SHAPE_OK ", \"scale\": \"1\"}}",
		 "shape.scale: expected a number, got a string"},
		{"{\"shape\": {" SHAPE_OK ", \"extra\": []}}",
		 "shape.extra: expected an object, got an array"},
		{"{\"shape\": {" SHAPE_OK ", \"inner\": {\"a\": true}}}", "shape.inner.b: missing"},
		{"{\"shape\": {" SHAPE_OK ", \"inner\": {\"a\": true, \"b\": \"on\", \"c\": 1}}}",
		 "shape.inner.c: not a declared field"},
		{"{\"shape\": {" SHAPE_OK ", \"grid\": [[1, \"2\"]]}}",
		 "shape.grid[0][1]: expected an integer, got a string"},
		{"{\"shape\": {" SHAPE_OK ", \"grid\": [null]}}",
		 "shape.grid[0]: expected an array, got null"},
	};
	struct vl_idl *idl = parse_ok(sample);
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = check(idl, false, bad[i].json, err, sizeof(err));

		if (r != -EINVAL || strcmp(err, bad[i].want) != 0)
			fail_msg("case %zu: %d '%s', want '%s'", i, r, err, bad[i].want);
	}
	assert_int_equal(check(idl, true, "{\"id\": 1}", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "warnings: missing");
	vl_idl_free(idl);
}

static int check_reply(struct vl_idl *const *ifaces, size_t n, const char *method, const char *json,
		       char *err, size_t size)
{
	json_object *o = json_tokener_parse(json);
	int r;

	if (!o)
		fail_msg("bad test JSON %s", json);
	r = vl_idl_check_reply(ifaces, n, method, o, err, size);
	json_object_put(o);
	return r;
}

static void test_check_reply(void **state)
{
	static const struct {
		const char *method, *json;
		int r;
		const char *want; /* in the reason */
	} cases[] = {
		{"org.example.more-test.Ping", "{\"parameters\": {}}", 0, NULL},
		{"org.example.more-test.Ping", "{}", 0, NULL},
		{"org.example.more-test.Ping", "{\"parameters\": null, \"continues\": true}", 0,
		 NULL},
		{"org.example.more-test.Draw", "{\"parameters\": {\"id\": 7, \"warnings\": []}}", 0,
		 NULL},
		{"org.example.more-test.Draw", "{\"parameters\": {\"id\": 7}}", -EINVAL,
		 "reply of org.example.more-test.Draw: warnings: missing"},
		{"org.example.more-test.Ping", "{\"parameters\": {\"x\": 1}}", -EINVAL,
		 "x: not a declared field"},
		{"org.example.more-test.Ping", "{\"parameters\": []}", -EINVAL, "'parameters'"},
		{"org.example.more-test.Ping", "{\"parameters\": {}, \"more\": true}", -EINVAL,
		 "'more'"},
		{"org.example.more-test.Ping", "{\"continues\": 1}", -EINVAL, "'continues'"},
		{"org.example.more-test.Nope", "{}", -ENOENT, "method org.example.more-test.Nope"},
		{"org.example.Ping", "{}", -ENOENT, "not declared"},
		{"Ping", "{}", -ENOENT, "not declared"},
		/* the kind of member matters */
		{"org.example.more-test.Refused", "{}", -ENOENT, "not declared"},
		{NULL, "{\"parameters\": {}}", -EINVAL, "answers no call"},
		/* errors: checked against their declaration, whatever the call */
		{NULL, "{\"error\": \"org.example.more-test.Refused\"}", 0, NULL},
		{"org.example.more-test.Ping",
		 "{\"error\": \"org.example.more-test.NoSuchShape\", \"parameters\": {\"id\": 1,"
		 " \"message\": \"m\"}}",
		 0, NULL},
		{"org.example.more-test.Ping",
		 "{\"error\": \"org.example.more-test.NoSuchShape\", \"parameters\": {\"id\": 1}}",
		 -EINVAL, "error org.example.more-test.NoSuchShape: message: missing"},
		{NULL,
		 "{\"error\": \"org.example.more-test.Refused\", \"parameters\": {\"why\": \"x\"}}",
		 -EINVAL, "why: not a declared field"},
		{NULL, "{\"error\": \"org.example.more-test.Refused\", \"continues\": true}",
		 -EINVAL, "continues"},
		{NULL, "{\"error\": \"org.example.more-test.Draw\"}", -ENOENT, "not declared"},
		{NULL, "{\"error\": \"org.example.other.Refused\"}", -ENOENT, "not declared"},
		{NULL, "{\"error\": 1}", -EINVAL, "'error'"},
	};
	struct vl_idl *idl = parse_ok(sample), *other = parse_ok("interface org.example.other\n"
								 "method X() -> ()\n");
	struct vl_idl *const ifaces[] = {other, idl};
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = check_reply(ifaces, ARRAY_SIZE(ifaces), cases[i].method, cases[i].json, err,
				    sizeof(err));

		if (r != cases[i].r || (cases[i].want && !strstr(err, cases[i].want)))
			fail_msg("case %zu (%s): %d '%s', want %d '%s'", i, cases[i].json, r,
				 r ? err : "", cases[i].r, cases[i].want ? cases[i].want : "");
	}
	json_object *notobj = json_object_new_array();

	assert_int_equal(vl_idl_check_reply(ifaces, 2, NULL, notobj, err, sizeof(err)), -EINVAL);
	json_object_put(notobj);
	vl_idl_free(idl);
	vl_idl_free(other);
}

/* Every description hvisord serves parses, under the name it is served by,
 * and has a method: the reference parser (varlink-go's idl.New) refuses an
 * interface without one. */
static void test_served_interfaces(void **state)
{
	for (size_t i = 0; i < vl_n_interfaces; i++) {
		struct vl_idl *idl = parse_ok(vl_interfaces[i].description);

		assert_string_equal(idl->name, vl_interfaces[i].name);
		if (idl->n_methods == 0)
			fail_msg("interface %s declares no method", idl->name);
		vl_idl_free(idl);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_sample), cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_parse_line),   cmocka_unit_test(test_parse_depth),
		cmocka_unit_test(test_check_values), cmocka_unit_test(test_check_invalid),
		cmocka_unit_test(test_check_reply),  cmocka_unit_test(test_served_interfaces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
