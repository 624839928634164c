// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hvctl.h"
#include "util.h"

struct table {
	size_t ncols, nrows, cap;
	char **cells; /* nrows x ncols, row 0 = header */
};

struct table *table_new(size_t ncols, ...)
{
	struct table *t = calloc(1, sizeof(*t));
	va_list ap;

	if (!t)
		abort();
	t->ncols = ncols;
	va_start(ap, ncols);
	t->cells = calloc(ncols, sizeof(char *));
	if (!t->cells)
		abort();
	for (size_t i = 0; i < ncols; i++)
		t->cells[i] = strdup(va_arg(ap, const char *));
	va_end(ap);
	t->nrows = t->cap = 1;
	return t;
}

void table_add(struct table *t, ...)
{
	va_list ap;

	if (t->nrows == t->cap) {
		t->cap *= 2;
		t->cells = realloc(t->cells, t->cap * t->ncols * sizeof(char *));
		if (!t->cells)
			abort();
	}
	va_start(ap, t);
	for (size_t i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);

		t->cells[t->nrows * t->ncols + i] = str_escape_dup(s ? s : "-", STR_ESCAPE_C);
	}
	va_end(ap);
	t->nrows++;
}

void table_print(struct table *t, FILE *f)
{
	size_t width[16] = {0};

	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols && c < 16; c++) {
			size_t l = strlen(t->cells[r * t->ncols + c]);

			if (l > width[c])
				width[c] = l;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];

			if (c + 1 == t->ncols)
				fprintf(f, "%s\n", s);
			else
				fprintf(f, "%-*s  ", (int)width[c < 16 ? c : 15], s);
		}
	}
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

char *format_escaped(const char *fmt, va_list ap)
{
	char *text, *escaped;

	if (vasprintf(&text, fmt, ap) < 0)
		abort();
	escaped = str_escape_dup(text, STR_ESCAPE_C);
	free(text);
	return escaped;
}

void print_line(const char *fmt, ...)
{
	va_list ap;
	char *line;

	va_start(ap, fmt);
	line = format_escaped(fmt, ap);
	va_end(ap);
	printf("%s\n", line);
	free(line);
}

void print_json_flags(json_object *o, int flags)
{
	/* json-c escapes C0 controls, not DEL, C1 controls or bidi controls */
	char *text = str_escape_dup(json_object_to_json_string_ext(o, flags), STR_ESCAPE_JSON);

	printf("%s\n", text);
	free(text);
}

void print_json(json_object *o)
{
	print_json_flags(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
				    JSON_C_TO_STRING_NOSLASHESCAPE);
}

void format_time_usec(uint64_t usec, char *buf, size_t size)
{
	time_t t = (time_t)(usec / 1000000);
	struct tm tm;

	if (!usec || !localtime_r(&t, &tm)) {
		snprintf(buf, size, "-");
		return;
	}
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

uint64_t json_u64(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_uint64(v);
}

const char *json_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

void format_cpus(json_object *cpus, const char *sep, char *buf, size_t size)
{
	size_t n = json_object_is_type(cpus, json_type_array) ? json_object_array_length(cpus) : 0;
	size_t off = 0;

	buf[0] = '\0';
	if (n == 0) {
		snprintf(buf, size, "none");
		return;
	}
	for (size_t i = 0; i < n && off < size; i++) {
		int k = snprintf(buf + off, size - off, "%s%d", i ? sep : "",
				 json_object_get_int(json_object_array_get_idx(cpus, i)));

		if (k < 0)
			break;
		off += (size_t)k;
	}
}
