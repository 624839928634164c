// SPDX-License-Identifier: GPL-2.0-only
/* hvctl events | version | log-level */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "hvctl.h"
#include "log.h"

static void print_event(json_object *e)
{
	uint64_t usec = json_u64(e, "timestamp_usec");
	time_t t = (time_t)(usec / 1000000);
	const char *name = json_str(e, "name"), *msg = json_str(e, "message"),
		   *type = json_str(e, "type");
	json_object *id;
	struct tm tm;
	char ts[32] = "-", zone[32] = "", addr[32] = "";

	if (localtime_r(&t, &tm))
		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	if (json_object_object_get_ex(e, "zone_id", &id))
		snprintf(zone, sizeof(zone), " zone %lld", (long long)json_object_get_int64(id));
	if (json_object_object_get_ex(e, "addr", &id))
		snprintf(addr, sizeof(addr), " at 0x%llx",
			 (unsigned long long)json_object_get_uint64(id));
	print_line("%s.%03u %s%s%s%s%s%s%s%s%s%s", ts, (unsigned)(usec / 1000 % 1000),
		   json_str(e, "event") ?: "?", zone, name ? " (" : "", name ?: "", name ? ")" : "",
		   type ? " " : "", type ?: "", addr, msg ? ": " : "", msg ?: "");
}

static int cmd_events(struct hvctl *h, const struct command *cmd, const struct cmd_args *a)
{
	struct vl_client *c = NULL;
	json_object *call;
	int r = hvctl_connect(h, &c);

	if (r != EXIT_OK)
		return r;
	call = vl_call_new(VL_IFACE_MANAGER ".Subscribe", NULL, true);
	r = vl_client_send(c, call, NULL, 0);
	json_object_put(call);
	if (r < 0) {
		fprintf(stderr, "%s: events: %s\n", h->prog, strerror(-r));
		vl_client_free(c);
		return EXIT_UNREACHABLE;
	}
	setvbuf(stdout, NULL, _IOLBF, 0); /* one line per event, also into pipes */
	for (;;) {
		json_object *reply = NULL, *e;
		const char *error;

		r = vl_client_recv(c, &reply);
		if (r < 0) {
			fprintf(stderr, "%s: events: %s\n", h->prog,
				r == -ECONNRESET ? "hvisord closed the stream" : strerror(-r));
			vl_client_free(c);
			return EXIT_UNREACHABLE;
		}
		error = vl_reply_error(reply);
		if (error) {
			hvctl_error(h, "%s: %s", error, vl_reply_error_message(reply));
			json_object_put(reply);
			vl_client_free(c);
			return EXIT_FAILED;
		}
		if (json_object_object_get_ex(vl_reply_parameters(reply), "event", &e)) {
			if (h->json)
				print_json_flags(e, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE);
			else
				print_event(e);
		}
		json_object_put(reply);
	}
}

static int cmd_version(struct hvctl *h, const struct command *cmd, const struct cmd_args *a)
{
	json_object *reply = NULL, *info;
	int r = hvctl_call1(h, VL_IFACE_MANAGER ".GetInfo", NULL, NULL, 0, &reply);
	if (r != EXIT_OK) {
		if (!h->json)
			printf("hvctl %s\n", HV_VERSION);
		return r;
	}
	if (!json_object_object_get_ex(vl_reply_parameters(reply), "info", &info)) {
		json_object_put(reply);
		return EXIT_FAILED;
	}
	if (h->json) {
		json_object_object_add(info, "client_version", json_object_new_string(HV_VERSION));
		print_json(info);
	} else {
		printf("hvctl %s\n", HV_VERSION);
		print_line("hvisord %s (API %llu.%llu)", json_str(info, "version") ?: "?",
			   (unsigned long long)json_u64(info, "api_major"),
			   (unsigned long long)json_u64(info, "api_minor"));
		if (strcmp(json_str(info, "backend_state") ?: "", "lost") == 0)
			print_line(
				"backend %s at %s: lost (%s); hvisord reconnects when it is back",
				json_str(info, "backend") ?: "?",
				json_str(info, "backend_path") ?: "?",
				json_str(info, "backend_error") ?: "?");
		else
			print_line("backend %s at %s, %s, config magic 0x%02llx%s",
				   json_str(info, "backend") ?: "?",
				   json_str(info, "backend_path") ?: "?",
				   json_str(info, "arch") ?: "?",
				   (unsigned long long)json_u64(info, "config_magic"),
				   json_object_get_boolean(
					   json_object_object_get(info, "config_magic_supported"))
					   ? ""
					   : " (not supported: zones cannot be started)");
	}
	json_object_put(reply);
	return EXIT_OK;
}

static int cmd_log_level(struct hvctl *h, const struct command *cmd, const struct cmd_args *a)
{
	json_object *reply = NULL, *params, *info, *p, *v;
	int r;

	if (a->n == 0) {
		r = hvctl_call1(h, VL_IFACE_MANAGER ".GetInfo", NULL, NULL, 0, &reply);
		if (r != EXIT_OK)
			return r;
		if (json_object_object_get_ex(vl_reply_parameters(reply), "info", &info))
			print_line("%s", json_str(info, "log_level") ?: "?");
		json_object_put(reply);
		return EXIT_OK;
	}
	params = json_object_new_object();
	json_object_object_add(params, "level", json_object_new_string(a->pos[0]));
	r = hvctl_call1(h, VL_IFACE_MANAGER ".SetLogLevel", params, NULL, 0, &reply);
	if (r != EXIT_OK)
		return r;
	p = vl_reply_parameters(reply);
	if (h->json)
		print_json(p);
	else {
		const char *now = log_level_to_string(log_level_from_string(a->pos[0]));

		/* what took the level, as confirmed by each */
		print_line("hvisord: %s (was %s)", now, json_str(p, "previous") ?: "?");
		if (json_object_object_get_ex(p, "virtiods", &v) &&
		    json_object_is_type(v, json_type_array))
			for (size_t i = 0; i < json_object_array_length(v); i++) {
				json_object *e = json_object_array_get_idx(v, i);

				print_line("hvisor-virtiod of zone %llu: %s (was %s)",
					   (unsigned long long)json_u64(e, "zone_id"), now,
					   json_str(e, "previous") ?: "?");
			}
	}
	json_object_put(reply);
	return EXIT_OK;
}

const struct command daemon_commands[] = {
	{"events", "", "follow zone events until interrupted", NULL, CMD_DATA, 0, 0, cmd_events},
	{"version", "", "show hvctl's and hvisord's versions and the backend", NULL, CMD_DATA, 0, 0,
	 cmd_version},
	{"log-level", "[LEVEL]", "show or set hvisord's log level",
	 "LEVEL: debug, info, notice, warning or err. Running hvisor-virtiods take it\n"
	 "too; each one that confirmed it is listed.\n",
	 CMD_DATA, 0, 1, cmd_log_level},
	{},
};
