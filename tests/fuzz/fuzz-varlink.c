// SPDX-License-Identifier: GPL-2.0-only
/* The varlink decoder as hvisord runs it: bytes arrive in pieces of any
 * size, messages are cut, parsed and checked as calls and parameters. */
#include <stdint.h>
#include <string.h>

#include "varlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vl_framer f;
	size_t off = 0;
	unsigned step;

	if (size < 1)
		return 0;
	/* the first byte decides how the stream is chopped into reads */
	step = (unsigned)data[0] % 64 + 1;
	data++;
	size--;
	vl_framer_init(&f, 4096); /* small, so the size limit is reached */
	while (off < size) {
		size_t n = step < size - off ? step : size - off;
		json_object *msg;
		int r;

		if (vl_framer_feed(&f, data + off, n) < 0)
			break;
		off += n;
		while ((r = vl_framer_next(&f, &msg, NULL)) == 1) {
			struct vl_call call;
			char err[128];

			if (vl_call_parse(msg, &call, err, sizeof(err)) == 0) {
				json_object *id, *name, *files;
				const struct vl_param spec[] = {
					{"zone_id", json_type_int, true, &id},
					{"name", json_type_string, false, &name},
					{"files", json_type_object, false, &files},
				};
				struct hv_error e;

				(void)vl_params_parse(call.parameters, spec, 3, &e);
				(void)vl_interface_description(call.method);
			}
			(void)vl_reply_error(msg);
			(void)vl_reply_error_message(msg);
			(void)vl_reply_continues(msg);
			json_object_put(msg);
		}
		if (r < 0)
			break;
	}
	(void)vl_framer_eof(&f);
	vl_framer_done(&f);
	return 0;
}
