// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvctl.h"
#include "util.h"

void hvctl_error(const struct hvctl *h, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	/* a message from hvisord may quote anything a client sent it */
	va_start(ap, fmt);
	msg = format_escaped(fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s%s%s\n", h->prog, h->where ?: "", h->where ? ": " : "", msg);
	free(msg);
}

/* An error about one item of a list call is told as the item's own. */
static void print_reply_error(struct hvctl *h, json_object *reply, const char *error)
{
	json_object *p = vl_reply_parameters(reply), *inner;
	const char *msg = vl_reply_error_message(reply), *where = h->where;
	uint64_t i = json_u64(p, "index");

	if (h->items && strcmp(error, VL_ERROR_VIRTIO_DEVICE_REFUSED) == 0 && i < h->n_items &&
	    json_str(p, "error") && json_object_object_get_ex(p, "parameters", &inner)) {
		h->where = h->items[i];
		error = json_str(p, "error");
		msg = json_str(inner, "message") ?: "";
	}
	hvctl_error(h, "%s%s%s", error, *msg ? ": " : "", msg);
	if (strcmp(error, VL_ERROR_METHOD_NOT_FOUND) == 0)
		hvctl_error(h, "hvisord is older than hvctl %s: update it", HV_VERSION);
	h->where = where;
}

void print_warnings(const struct hvctl *h, json_object *params)
{
	json_object *w;

	if (json_object_object_get_ex(params, "warnings", &w) &&
	    json_object_is_type(w, json_type_array))
		for (size_t i = 0; i < json_object_array_length(w); i++)
			hvctl_error(h, "warning: %s",
				    json_object_get_string(json_object_array_get_idx(w, i)));
}

int hvctl_connect(struct hvctl *h, struct vl_client **ret)
{
	int r = vl_client_connect(h->socket, ret);

	if (r < 0) {
		fprintf(stderr, "%s: cannot reach hvisord at %s: %s%s\n", h->prog, h->socket,
			strerror(-r),
			r == -ENOENT || r == -ECONNREFUSED ? " (is hvisord running? see --socket)"
							   : "");
		return EXIT_UNREACHABLE;
	}
	return EXIT_OK;
}

int hvctl_call(struct hvctl *h, struct vl_client *c, const char *method, json_object *params,
	       const int *fds, size_t n_fds, json_object **ret_reply)
{
	json_object *reply = NULL, *call = vl_call_new(method, params, false);
	const char *error;
	int r = vl_client_send(c, call, fds, n_fds);

	json_object_put(call);
	if (r == -EMSGSIZE) {
		hvctl_error(h,
			    "%s: the call is larger than the protocol's limit of %u bytes (%u KiB)",
			    method, VL_MAX_MESSAGE_SIZE, VL_MAX_MESSAGE_SIZE / 1024);
		return EXIT_FAILED;
	}
	if (r >= 0)
		r = vl_client_recv(c, &reply);
	if (r < 0) {
		hvctl_error(h, "%s: %s", method,
			    r == -ECONNRESET ? "hvisord closed the connection"
			    : r == -EMSGSIZE ? "the reply is larger than the protocol's limit"
			    : r == -EBADMSG  ? "the reply is not a JSON object"
					     : strerror(-r));
		return r == -EMSGSIZE || r == -EBADMSG ? EXIT_FAILED : EXIT_UNREACHABLE;
	}
	error = vl_reply_error(reply);
	if (error) {
		if (h->json)
			print_json(reply);
		print_reply_error(h, reply, error);
		json_object_put(reply);
		return EXIT_FAILED;
	}
	*ret_reply = reply;
	return EXIT_OK;
}

int hvctl_call1(struct hvctl *h, const char *method, json_object *params, const int *fds,
		size_t n_fds, json_object **ret_reply)
{
	struct vl_client *c = NULL;
	int r = hvctl_connect(h, &c);

	if (r != EXIT_OK) {
		json_object_put(params);
		return r;
	}
	r = hvctl_call(h, c, method, params, fds, n_fds, ret_reply);
	vl_client_free(c);
	return r;
}

json_object *zone_params(uint32_t zone_id)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "zone_id", json_object_new_int64(zone_id));
	return p;
}

int parse_zone_id(struct hvctl *h, const char *s, uint32_t *ret)
{
	uint64_t v;

	if (parse_u64(s, UINT32_MAX, &v) < 0) {
		fprintf(stderr, "%s: '%s' is not a zone id (a number)\n", h->prog, s);
		return EXIT_USAGE;
	}
	*ret = (uint32_t)v;
	return EXIT_OK;
}
