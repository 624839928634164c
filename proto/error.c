// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

void hv_error_set(struct hv_error *err, const char *path, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	snprintf(err->path, sizeof(err->path), "%s", path ? path : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

void hv_error_format(const struct hv_error *err, char *buf, size_t size)
{
	if (err->path[0])
		snprintf(buf, size, "%s: %s", err->path, err->message);
	else
		snprintf(buf, size, "%s", err->message);
}
