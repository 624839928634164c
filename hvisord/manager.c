// SPDX-License-Identifier: GPL-2.0-only
/* org.varlink.service, org.hvisor and org.hvisor.Manager: what this daemon
 * is, its limits, and the event stream. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"
#include "hvisord.h"
#include "log.h"
#include "util.h"
#include "virtio-config.h"

static json_object *jstr(const char *s)
{
	return json_object_new_string(s);
}

static int service_get_info(struct conn *c, const struct vl_call *call, int *fds, size_t n_fds)
{
	json_object *p, *ifaces;
	struct hv_error err;
	int r;

	r = vl_params_parse(call->parameters, NULL, 0, &err);
	if (r < 0)
		return conn_fail_invalid(c, NULL, &err);
	p = json_object_new_object();
	ifaces = json_object_new_array();
	for (size_t i = 0; i < vl_n_interfaces; i++)
		json_object_array_add(ifaces, jstr(vl_interfaces[i].name));
	json_object_object_add(p, "vendor", jstr("hvisor-tools"));
	json_object_object_add(p, "product", jstr("hvisord"));
	json_object_object_add(p, "version", jstr(HV_VERSION));
	json_object_object_add(p, "url", jstr("https://github.com/syswonder/hvisor"));
	json_object_object_add(p, "interfaces", ifaces);
	return conn_reply(c, p);
}

static int service_get_interface_description(struct conn *c, const struct vl_call *call, int *fds,
					     size_t n_fds)
{
	json_object *iface, *p;
	const struct vl_param spec[] = {{"interface", json_type_string, true, &iface}};
	struct hv_error err;
	const char *desc;

	if (vl_params_parse(call->parameters, spec, ARRAY_SIZE(spec), &err) < 0)
		return conn_fail_invalid(c, NULL, &err);
	desc = vl_interface_description(json_object_get_string(iface));
	if (!desc) {
		p = json_object_new_object();
		json_object_object_add(p, "interface", jstr(json_object_get_string(iface)));
		json_object_object_add(p, "message", jstr("no such interface"));
		return conn_fail(c, vl_error_new(VL_ERROR_INTERFACE_NOT_FOUND, p));
	}
	p = json_object_new_object();
	json_object_object_add(p, "description", jstr(desc));
	return conn_reply(c, p);
}

/* org.hvisor.GetLimits: the first six are what LimitExceeded's "limit"
 * names. */
static int hvisor_get_limits(struct conn *c, const struct vl_call *call, int *fds, size_t n_fds)
{
	const struct limits *l = &conn_daemon(c)->limits;
	const struct {
		const char *name;
		uint64_t value;
	} limits[] = {
		{"connections", l->max_connections},
		{"subscribers", l->max_subscribers},
		{"devices", HV_VIRTIO_MAX_DEVICES},
		{"connections_per_user", l->max_connections_per_user},
		{"subscribers_per_user", l->max_subscribers_per_user},
		{"pending_devices", l->max_pending_devices},
		{"reserved_connections", l->reserved_connections},
		{"reserved_subscribers", l->reserved_subscribers},
		{"message_seconds", l->message_timeout_sec},
		{"idle_seconds", l->idle_timeout_sec},
		{"message_bytes", VL_MAX_MESSAGE_SIZE},
		{"message_depth", VL_MAX_DEPTH},
		{"message_fds", HV_MAX_FDS_PER_MSG},
		{"subscriber_queue_bytes", l->max_subscriber_queue},
		{"reply_queue_bytes", l->max_reply_queue},
	};
	json_object *o, *p;
	struct hv_error err;

	if (vl_params_parse(call->parameters, NULL, 0, &err) < 0)
		return conn_fail_invalid(c, NULL, &err);
	o = json_object_new_object();
	for (size_t i = 0; i < ARRAY_SIZE(limits); i++)
		json_object_object_add(o, limits[i].name, json_object_new_uint64(limits[i].value));
	p = json_object_new_object();
	json_object_object_add(p, "limits", o);
	return conn_reply(c, p);
}

static int manager_get_info(struct conn *c, const struct vl_call *call, int *fds, size_t n_fds)
{
	struct daemon *d = conn_daemon(c);
	struct hv *hv = d->hv;
	json_object *info, *features, *p;
	struct hv_error err;

	if (vl_params_parse(call->parameters, NULL, 0, &err) < 0)
		return conn_fail_invalid(c, NULL, &err);
	info = json_object_new_object();
	features = json_object_new_array();
	json_object_array_add(features, jstr("zone-lifecycle"));
	json_object_array_add(features, jstr("events"));
	json_object_array_add(features, jstr("fd-passing"));
	json_object_array_add(features, jstr("virtio"));
	json_object_object_add(info, "version", jstr(HV_VERSION));
	json_object_object_add(info, "api_major", json_object_new_int(HVISORD_API_MAJOR));
	json_object_object_add(info, "api_minor", json_object_new_int(HVISORD_API_MINOR));
	(void)hv_ensure(hv); /* report a lost backend that is back as such */
	json_object_object_add(info, "backend", jstr(hv->ops->name));
	json_object_object_add(info, "backend_path", jstr(hv->path));
	json_object_object_add(info, "backend_state", jstr(hv->lost ? "lost" : "connected"));
	if (hv->lost)
		json_object_object_add(info, "backend_error", jstr(strerror(-hv->lost_reason)));
	json_object_object_add(info, "arch", jstr(hv_arch_to_string(hv->arch)));
	json_object_object_add(info, "config_magic", json_object_new_int64((int64_t)hv->magic));
	json_object_object_add(info, "config_magic_supported",
			       json_object_new_boolean(hv_magic_supported(hv)));
	json_object_object_add(info, "cpus", json_object_new_int((int)hv->ncpus));
	json_object_object_add(info, "log_level", jstr(log_level_to_string(log_get_level())));
	json_object_object_add(info, "features", features);
	p = json_object_new_object();
	json_object_object_add(p, "info", info);
	return conn_reply(c, p);
}

/* An event: name, zone (its name from hvisord's table, else from extra),
 * message, extra fields (taken). */
static json_object *daemon_event_new(struct daemon *d, const char *name, uint32_t zone_id,
				     const char *message, json_object *extra)
{
	json_object *e = json_object_new_object();
	const char *zname = zone_id != EVENT_NO_ZONE ? zone_name_of(d, zone_id) : NULL;

	json_object_object_add(e, "event", jstr(name));
	json_object_object_add(e, "timestamp_usec",
			       json_object_new_int64((int64_t)now_realtime_usec()));
	json_object_object_add(e, "monotonic_usec", json_object_new_int64((int64_t)now_usec()));
	if (zone_id != EVENT_NO_ZONE)
		json_object_object_add(e, "zone_id", json_object_new_int64(zone_id));
	if (zname)
		json_object_object_add(e, "name", jstr(zname));
	if (message)
		json_object_object_add(e, "message", jstr(message));
	if (extra) {
		json_object_object_foreach (extra, k, v)
			json_object_object_add(e, k, json_object_get(v));
		json_object_put(extra);
	}
	return e;
}

void daemon_event(struct daemon *d, const char *name, uint32_t zone_id, const char *message,
		  json_object *extra)
{
	json_object *p = json_object_new_object();

	log_debug("event %s", name);
	json_object_object_add(p, "event", daemon_event_new(d, name, zone_id, message, extra));
	control_broadcast(d, p);
}

void manager_backend_changed(struct hv *hv, void *userdata)
{
	char msg[PATH_MAX + 100];

	if (hv->lost)
		snprintf(msg, sizeof(msg), "%s at %s: %s", hv->ops->what, hv->path,
			 strerror(-hv->lost_reason));
	else
		snprintf(msg, sizeof(msg), "%s at %s: %s, config magic 0x%02llx", hv->ops->what,
			 hv->path, hv_arch_to_string(hv->arch), (unsigned long long)hv->magic);
	daemon_event(userdata, hv->lost ? "BackendLost" : "BackendBack", EVENT_NO_ZONE, msg, NULL);
}

static int manager_subscribe(struct conn *c, const struct vl_call *call, int *fds, size_t n_fds)
{
	struct hv_error err;
	json_object *p, *refusal;

	if (vl_params_parse(call->parameters, NULL, 0, &err) < 0)
		return conn_fail_invalid(c, NULL, &err);
	if (!call->more)
		return conn_failf(c, VL_ERROR_EXPECTED_MORE,
				  "Subscribe streams events: call it with \"more\": true");
	refusal = conn_subscribe(c);
	if (refusal)
		return conn_fail(c, refusal);
	p = json_object_new_object();
	json_object_object_add(
		p, "event",
		daemon_event_new(conn_daemon(c), "Subscribed", EVENT_NO_ZONE, NULL, NULL));
	return conn_reply_more(c, p);
}

struct set_level {
	struct conn *c;
	char previous[16];
};

static void level_confirmed(json_object *virtiods, void *arg)
{
	struct set_level *sl = arg;
	json_object *p = json_object_new_object();
	struct conn *c = sl->c;

	json_object_object_add(p, "previous", jstr(sl->previous));
	json_object_object_add(p, "virtiods", virtiods);
	free(sl);
	conn_async_done(c, conn_reply(c, p));
}

/* hvisord's level now; the running backends' as they confirm it. */
static int manager_set_log_level(struct conn *c, const struct vl_call *call, int *fds, size_t n_fds)
{
	json_object *level;
	const struct vl_param spec[] = {{"level", json_type_string, true, &level}};
	struct set_level *sl;
	struct hv_error err;
	int old = log_get_level(), l;

	if (vl_params_parse(call->parameters, spec, ARRAY_SIZE(spec), &err) < 0)
		return conn_fail_invalid(c, NULL, &err);
	l = log_level_from_string(json_object_get_string(level));
	if (l < 0) {
		hv_error_set(&err, "level",
			     "unknown log level '%.32s' (debug, info, notice, warning, err)",
			     json_object_get_string(level));
		return conn_fail_invalid(c, NULL, &err);
	}
	sl = calloc(1, sizeof(*sl));
	if (!sl)
		return -ENOMEM;
	sl->c = c;
	snprintf(sl->previous, sizeof(sl->previous), "%s", log_level_to_string(old));
	log_set_level(l);
	log_notice("log level set to %s by uid %u", log_level_to_string(l), (unsigned)conn_uid(c));
	conn_async_begin(c);
	virtio_set_log_level(conn_daemon(c), log_level_to_string(l), level_confirmed, sl);
	return 0;
}

const struct method manager_methods[] = {
	{"org.varlink.service.GetInfo", service_get_info, 0},
	{"org.varlink.service.GetInterfaceDescription", service_get_interface_description, 0},
	{"org.hvisor.GetLimits", hvisor_get_limits, 0},
	{"org.hvisor.Manager.GetInfo", manager_get_info, 0},
	{"org.hvisor.Manager.Subscribe", manager_subscribe, 0},
	{"org.hvisor.Manager.SetLogLevel", manager_set_log_level, METHOD_MUTATING},
	{NULL, NULL, 0},
};
