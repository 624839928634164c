// SPDX-License-Identifier: GPL-2.0-only
/* hvctl zone start | shutdown | list | info */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hvctl.h"
#include "json-util.h"
#include "util.h"

struct open_ctx {
	struct hvctl *h;
	const char *dir; /* of the config file */
	json_object *files;
	int fds[HV_MAX_FDS_PER_MSG];
	size_t n_fds;
	int exit;
};

/* Opens a file the config names, with the caller's own permissions;
 * relative paths are relative to the config file. */
static int open_one(const char *key, const char *path, void *userdata)
{
	struct open_ctx *o = userdata;
	char full[PATH_MAX];
	int fd;

	if (resolve_path(o->dir, path, full, sizeof(full)) < 0) {
		fprintf(stderr, "%s: %s: path too long\n", o->h->prog, key);
		o->exit = EXIT_FAILED;
		return -ENAMETOOLONG;
	}
	if (o->n_fds == ARRAY_SIZE(o->fds)) {
		fprintf(stderr, "%s: the config names more than %zu files\n", o->h->prog,
			ARRAY_SIZE(o->fds));
		o->exit = EXIT_FAILED;
		return -E2BIG;
	}
	fd = open_named_file(o->h, key, path, full, O_RDONLY, true, NULL);
	if (fd < 0) {
		o->exit = EXIT_FAILED;
		return fd;
	}
	json_object_object_add(o->files, key, json_object_new_int((int)o->n_fds));
	o->fds[o->n_fds++] = fd;
	return 0;
}

int zone_start_file(struct hvctl *h, const char *path)
{
	struct open_ctx o = {.h = h};
	json_object *config = NULL, *params, *reply = NULL, *p;
	char dir[PATH_MAX], abs[PATH_MAX], *text;
	struct hv_error err;
	size_t len;
	int r;

	r = read_config_file(h, path, &text, &len);
	if (r != EXIT_OK)
		return r;
	/* it travels inside a call: the envelope takes two levels */
	r = hv_zone_config_parse_json(text, len, VL_MAX_DEPTH - 2, &config, &err);
	free(text);
	if (r < 0) {
		char msg[512];

		hv_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "%s: %s: %s\n", h->prog, path, msg);
		return EXIT_FAILED;
	}
	file_dir(path, dir, sizeof(dir));
	o.dir = dir;
	o.files = json_object_new_object();
	if (hv_zone_config_foreach_file(config, open_one, &o, &err) < 0) {
		if (o.exit == EXIT_OK) {
			char msg[512];

			hv_error_format(&err, msg, sizeof(msg));
			fprintf(stderr, "%s: %s: %s\n", h->prog, path, msg);
		}
		close_many(o.fds, o.n_fds);
		json_object_put(o.files);
		json_object_put(config);
		return EXIT_FAILED;
	}
	params = json_object_new_object();
	json_object_object_add(params, "config", config);
	json_object_object_add(params, "files", o.files);
	json_object_object_add(params, "source",
			       json_object_new_string(realpath(path, abs) ? abs : path));
	r = hvctl_call1(h, VL_IFACE_ZONE ".Start", params, o.fds, o.n_fds, &reply);
	close_many(o.fds, o.n_fds);
	if (r != EXIT_OK)
		return r;
	p = vl_reply_parameters(reply);
	print_warnings(h, p);
	if (h->json)
		print_json(p);
	else
		print_line("Zone %llu (%s) started.", (unsigned long long)json_u64(p, "zone_id"),
			   json_str(p, "name") ?: "");
	json_object_put(reply);
	return EXIT_OK;
}

int zone_shutdown_id(struct hvctl *h, uint32_t id)
{
	json_object *params = zone_params(id), *reply = NULL;
	int r;

	r = hvctl_call1(h, VL_IFACE_ZONE ".Shutdown", params, NULL, 0, &reply);
	if (r != EXIT_OK)
		return r;
	if (!h->json && !h->compat)
		printf("Zone %u shut down.\n", id);
	json_object_put(reply);
	return EXIT_OK;
}

static int list_zones(struct hvctl *h, json_object **ret_reply, json_object **ret_zones)
{
	int r = hvctl_call1(h, VL_IFACE_ZONE ".List", NULL, NULL, 0, ret_reply);

	if (r != EXIT_OK)
		return r;
	if (!json_object_object_get_ex(vl_reply_parameters(*ret_reply), "zones", ret_zones) ||
	    !json_object_is_type(*ret_zones, json_type_array)) {
		fprintf(stderr, "%s: malformed reply from hvisord\n", h->prog);
		json_object_put(*ret_reply);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

/* The byte-exact table of upstream "hvisor zone list" (hvisor's CI compares
 * it line by line). */
int zone_list_upstream(struct hvctl *h)
{
	json_object *reply = NULL, *zones;
	int r = list_zones(h, &reply, &zones);

	if (r != EXIT_OK)
		return r;
	printf("|     zone_id     |       cpus        |      name       |     status |\n");
	for (size_t i = 0; i < json_object_array_length(zones); i++) {
		json_object *z = json_object_array_get_idx(zones, i), *cpus = NULL;
		const char *status = json_str(z, "status");
		char buf[256];

		if (status && strcmp(status, "starting") == 0)
			continue; /* not a zone of the hypervisor yet */
		json_object_object_get_ex(z, "cpus", &cpus);
		format_cpus(cpus, ", ", buf, sizeof(buf));
		print_line("| %15u | %17s | %15s | %10s |", (unsigned)json_u64(z, "zone_id"), buf,
			   json_str(z, "name") ?: "",
			   status && strcmp(status, "error") == 0 ? "error" : "running");
	}
	json_object_put(reply);
	return EXIT_OK;
}

static int cmd_start(struct hvctl *h, const struct command *cmd, const struct cmd_args *a)
{
	return zone_start_file(h, a->pos[0]);
}

/* The zone_id of a zone config, so that what started a zone from a file
 * (hvisor-zone@.service, an init script) can stop it by the same name. */
static int zone_id_of_file(struct hvctl *h, const char *path, uint32_t *ret)
{
	json_object *config = NULL;
	struct hv_error err;
	char msg[512], *text;
	size_t len;
	int r = read_config_file(h, path, &text, &len);

	if (r != EXIT_OK)
		return r;
	r = hv_zone_config_parse_json(text, len, 0, &config, &err);
	free(text);
	if (r >= 0)
		r = hv_json_get_u32(config, "zone_id", "", UINT32_MAX, true, ret, &err);
	json_object_put(config);
	if (r < 0) {
		hv_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "%s: %s: %s\n", h->prog, path, msg);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

static int cmd_shutdown(struct hvctl *h, const struct command *cmd, const struct cmd_args *a)
{
	const char *arg = a->pos[0];
	uint32_t id;
	int r;

	/* a path (a '/' or a .json name) is the config the zone started from */
	if (strchr(arg, '/') || (strlen(arg) > 5 && !strcmp(arg + strlen(arg) - 5, ".json")))
		r = zone_id_of_file(h, arg, &id);
	else
		r = parse_zone_id(h, arg, &id);
	return r == EXIT_OK ? zone_shutdown_id(h, id) : r;
}

static int cmd_list(struct hvctl *h, const struct command *cmd, const struct cmd_args *a)
{
	json_object *reply = NULL, *zones;
	struct table *t;
	int r = list_zones(h, &reply, &zones);

	if (r != EXIT_OK)
		return r;
	if (h->json) {
		print_json(vl_reply_parameters(reply));
		json_object_put(reply);
		return EXIT_OK;
	}
	t = table_new(6, "ZONE", "NAME", "CPUS", "STATUS", "STARTED", "CONFIG");
	for (size_t i = 0; i < json_object_array_length(zones); i++) {
		json_object *z = json_object_array_get_idx(zones, i), *cpus = NULL;
		char id[16], cpu[256], started[32];

		json_object_object_get_ex(z, "cpus", &cpus);
		format_cpus(cpus, ",", cpu, sizeof(cpu));
		snprintf(id, sizeof(id), "%llu", (unsigned long long)json_u64(z, "zone_id"));
		format_time_usec(json_u64(z, "started_usec"), started, sizeof(started));
		table_add(t, id, json_str(z, "name"), cpu, json_str(z, "status"), started,
			  json_str(z, "source"));
	}
	table_print(t, stdout);
	table_free(t);
	json_object_put(reply);
	return EXIT_OK;
}

/* The zone's virtio backend (hvisor-virtiod), if it has devices. */
static void print_virtio(json_object *z)
{
	json_object *v;
	uint64_t n, restarts;
	char pid[32] = "", rs[48] = "";
	const char *last;

	if (!json_object_object_get_ex(z, "virtio", &v))
		return;
	n = json_u64(v, "devices");
	restarts = json_u64(v, "restarts");
	last = json_str(v, "last_exit");
	if (json_object_object_get_ex(v, "pid", NULL))
		snprintf(pid, sizeof(pid), " (pid %llu)", (unsigned long long)json_u64(v, "pid"));
	if (restarts)
		snprintf(rs, sizeof(rs), ", %llu restart%s", (unsigned long long)restarts,
			 restarts == 1 ? "" : "s");
	print_line("  Virtio:       %llu device%s, backend %s%s%s%s%s", (unsigned long long)n,
		   n == 1 ? "" : "s", json_str(v, "backend") ?: "?", pid, rs,
		   last ? ", last exit: " : "", last ?: "");
}

static void print_info(json_object *z)
{
	json_object *cpus = NULL, *regions, *irqs, *images;
	char buf[1024], started[32];
	bool managed;

	json_object_object_get_ex(z, "cpus", &cpus);
	format_cpus(cpus, ", ", buf, sizeof(buf));
	managed = json_object_get_boolean(json_object_object_get(z, "managed"));
	print_line("Zone %llu: %s", (unsigned long long)json_u64(z, "zone_id"),
		   json_str(z, "name") ?: "");
	print_line("  Status:       %s", json_str(z, "status") ?: "?");
	print_line("  CPUs:         %s", buf);
	if (!managed) {
		printf("  Managed:      no (not started through this hvisord; details unknown)\n");
		print_virtio(z);
		return;
	}
	format_time_usec(json_u64(z, "started_usec"), started, sizeof(started));
	print_line("  Started:      %s", started);
	print_line("  Config:       %s", json_str(z, "source") ?: "-");
	print_line("  Arch:         %s", json_str(z, "arch") ?: "?");
	print_line("  Entry point:  0x%llx", (unsigned long long)json_u64(z, "entry_point"));
	if (json_object_object_get_ex(z, "memory_regions", &regions)) {
		printf("  Memory:\n");
		for (size_t i = 0; i < json_object_array_length(regions); i++) {
			json_object *m = json_object_array_get_idx(regions, i);

			print_line("    %-7s host 0x%-12llx guest 0x%-12llx size 0x%llx",
				   json_str(m, "type") ?: "?",
				   (unsigned long long)json_u64(m, "physical_start"),
				   (unsigned long long)json_u64(m, "virtual_start"),
				   (unsigned long long)json_u64(m, "size"));
		}
	}
	if (json_object_object_get_ex(z, "interrupts", &irqs)) {
		format_cpus(irqs, ", ", buf, sizeof(buf));
		print_line("  Interrupts:   %s", buf);
	}
	if (json_object_object_get_ex(z, "images", &images)) {
		printf("  Images:\n");
		for (size_t i = 0; i < json_object_array_length(images); i++) {
			json_object *m = json_object_array_get_idx(images, i);

			print_line(
				"    %-22s at 0x%-12llx %llu bytes  %s", json_str(m, "key") ?: "?",
				(unsigned long long)json_u64(m, "load_paddr"),
				(unsigned long long)json_u64(m, "size"), json_str(m, "path") ?: "");
		}
	}
	print_virtio(z);
}

static int cmd_info(struct hvctl *h, const struct command *cmd, const struct cmd_args *a)
{
	json_object *params, *reply = NULL, *z;
	uint32_t id;
	int r;

	if (parse_zone_id(h, a->pos[0], &id) != EXIT_OK)
		return EXIT_USAGE;
	params = zone_params(id);
	r = hvctl_call1(h, VL_IFACE_ZONE ".Info", params, NULL, 0, &reply);
	if (r != EXIT_OK)
		return r;
	if (h->json)
		print_json(vl_reply_parameters(reply));
	else if (json_object_object_get_ex(vl_reply_parameters(reply), "zone", &z))
		print_info(z);
	json_object_put(reply);
	return EXIT_OK;
}

const struct command zone_commands[] = {
	{"zone start", "FILE", "start a zone from its JSON config",
	 "Files the config names (kernel, dtb, modules, ...) are opened by hvctl with your\n"
	 "permissions, relative to the config's directory, and passed to hvisord.\n",
	 CMD_DATA, 1, 1, cmd_start},
	{"zone shutdown", "ID|FILE", "shut a zone down",
	 "FILE: the zone config it was started from (its zone_id): a path with a / or a .json name.\n",
	 0, 1, 1, cmd_shutdown},
	{"zone list", "", "list the zones", NULL, CMD_DATA, 0, 0, cmd_list},
	{"zone info", "ID", "show a zone's details", NULL, CMD_DATA, 1, 1, cmd_info},
	{},
};
