// SPDX-License-Identifier: GPL-2.0-only
/* org.hvisor.Virtiod: the IDL and the RAM map, shared by both ends
 * (virtiod-protocol.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json-util.h"
#include "varlink-idl.h"
#include "varlink.h"
#include "util.h"
#include "virtiod-protocol.h"

const char hv_virtiod_idl[] =
	"# hvisord's control of one zone's hvisor-virtiod. Private to the two\n"
	"# programs; versioned by GetInfo's version.\n"
	"interface org.hvisor.Virtiod\n"
	"\n"
	"# A RAM region of the zone: guest physical address, size, and where it\n"
	"# starts in the memory descriptor.\n"
	"type Ram (gpa: int, size: int, offset: int)\n"
	"\n"
	"# Descriptors: the zone channel, the zone memory, the state memfd.\n"
	"# serve false: the channel is read only after Serve(). user: the user to\n"
	"# drop to once set up (\"root\" or empty: none).\n"
	"method Setup(zone_id: int, ram: []Ram, user: ?string, serve: ?bool) -> ()\n"
	"\n"
	"method Serve() -> ()\n"
	"\n"
	"# Descriptor: the backing image, tap or pty master. device: the wire form\n"
	"# of proto/virtio-config.c. restore: take the guest's setup from the\n"
	"# slot of the state memfd instead of starting fresh. info: as in List.\n"
	"method AddDevice(slot: int, device: object, restore: ?bool) -> (info: object)\n"
	"\n"
	"method RemoveDevice(addr: int) -> ()\n"
	"\n"
	"# Each device's facts and counters; ioreqs: accesses served in all.\n"
	"method List() -> (devices: []object, ioreqs: int)\n"
	"\n"
	"method SetLogLevel(level: string) -> (previous: string)\n"
	"\n"
	"# Who answers: the protocol version it speaks, its zone (0 before\n"
	"# Setup), its pid, whether it is set up and serving, how many devices.\n"
	"method GetInfo() -> (version: int, zone_id: int, pid: int, setup: bool, serving: bool,\n"
	"  devices: int)\n"
	"\n"
	"# Its errors are org.hvisor's (InvalidParameter, Busy, ProtocolError,\n"
	"# Internal) and org.varlink.service.MethodNotFound.\n";

/* The interfaces of the contract, parsed once (NULL on a bug: the IDL does
 * not parse, which the tests catch). */
static struct vl_idl *const *idls(size_t *ret_n)
{
	static const char *const names[] = {"org.varlink.service", "org.hvisor"};
	static struct vl_idl *parsed[3];
	static bool done;
	char err[200];

	if (!done) {
		done = true;
		if (vl_idl_parse(hv_virtiod_idl, &parsed[0], err, sizeof(err)) < 0)
			parsed[0] = NULL;
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			if (vl_idl_parse(vl_interface_description(names[i]), &parsed[i + 1], err,
					 sizeof(err)) < 0)
				parsed[i + 1] = NULL;
	}
	*ret_n = ARRAY_SIZE(parsed);
	return parsed[0] && parsed[1] && parsed[2] ? parsed : NULL;
}

int hv_virtiod_check_call(const char *method, json_object *params, char *err, size_t size)
{
	const char *dot = strrchr(method, '.');
	const struct vl_idl_member *m;
	struct vl_idl *const *i;
	size_t n;

	i = idls(&n);
	if (!i) {
		snprintf(err, size, "the org.hvisor.Virtiod description does not parse");
		return -EINVAL;
	}
	if (!dot || (size_t)(dot - method) != strlen(i[0]->name) ||
	    strncmp(method, i[0]->name, (size_t)(dot - method)) != 0 ||
	    !(m = vl_idl_find(i[0], VL_IDL_METHOD, dot + 1))) {
		snprintf(err, size, "no method %.100s", method);
		return -ENOENT;
	}
	return vl_idl_check(m->type, params, err, size);
}

int hv_virtiod_check_reply(const char *method, json_object *msg, char *err, size_t size)
{
	size_t n;
	struct vl_idl *const *i = idls(&n);

	if (!i) {
		snprintf(err, size, "the org.hvisor.Virtiod description does not parse");
		return -EINVAL;
	}
	return vl_idl_check_reply(i, n, method, msg, err, size);
}

json_object *hv_virtiod_ram_to_json(const struct hv_virtiod_ram *r, unsigned n)
{
	json_object *a = json_object_new_array();

	for (unsigned i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "gpa", json_object_new_uint64(r[i].gpa));
		json_object_object_add(o, "size", json_object_new_uint64(r[i].size));
		json_object_object_add(o, "offset", json_object_new_uint64(r[i].offset));
		json_object_array_add(a, o);
	}
	return a;
}

int hv_virtiod_ram_from_json(json_object *a, struct hv_virtiod_ram *r, unsigned *ret_n,
			     struct hv_error *err)
{
	size_t n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;

	if (n == 0 || n > HV_VIRTIOD_MAX_RAM) {
		hv_error_set(err, "ram", "expected 1..%d regions", HV_VIRTIOD_MAX_RAM);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(a, i);
		char path[32];

		hv_json_path_index(path, sizeof(path), "ram", i);
		if (!json_object_is_type(o, json_type_object) ||
		    hv_json_get_u64(o, "gpa", path, UINT64_MAX, true, &r[i].gpa, err) < 0 ||
		    hv_json_get_u64(o, "size", path, UINT64_MAX, true, &r[i].size, err) < 0 ||
		    hv_json_get_u64(o, "offset", path, UINT64_MAX, true, &r[i].offset, err) < 0 ||
		    json_object_object_length(o) != 3 || r[i].size == 0 ||
		    r[i].gpa + r[i].size < r[i].gpa || r[i].offset + r[i].size < r[i].offset) {
			hv_error_set(err, path,
				     "expected {gpa, size, offset}: a non-empty region whose "
				     "ends fit in 64 bits");
			return -EINVAL;
		}
	}
	*ret_n = (unsigned)n;
	return 0;
}
