// SPDX-License-Identifier: GPL-2.0-only
/* hvctl virtio add | start | remove | list */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "hvctl.h"
#include "util.h"
#include "virtio-config.h"

/* The image, opened with the caller's permissions (dir: where a relative
 * path starts, "" = cwd). Errors printed. */
static int open_image(struct hvctl *h, const struct hv_virtio_device *dev, const char *dir)
{
	char path[PATH_MAX];

	if (resolve_path(dir, dev->img, path, sizeof(path)) < 0) {
		hvctl_error(h, "image '%s': path too long", dev->img);
		return -ENAMETOOLONG;
	}
	return open_named_file(h, "image", dev->img, path, dev->readonly ? O_RDONLY : O_RDWR, true,
			       NULL);
}

static const char *tap_hint(const char *name, int r)
{
	bool exists = if_nametoindex(name) > 0;

	switch (r) {
	case -EPERM:
		return exists ? " (a persistent tap owned by another user or group?)"
			      : " (there is no such interface, and creating one needs "
				"CAP_NET_ADMIN: ip tuntap add dev NAME mode tap user USER)";
	case -EBUSY:
		return " (in use by another program)";
	case -EINVAL:
		return exists ? " (a tun, or a multi-queue tap?)" : "";
	}
	return "";
}

/* The tap, attached (or created) with the caller's rights, so the kernel's
 * rules decide: who may open /dev/net/tun, a persistent tap's owner and
 * group, CAP_NET_ADMIN to create one. The flags are the data plane's.
 * Errors printed. */
static int open_tap(struct hvctl *h, const char *name)
{
	_cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	struct ifreq ifr = {0};
	int r;

	if (fd < 0) {
		r = -errno;
		hvctl_error(h, "cannot open /dev/net/tun for tap %s: %s", name, strerror(-r));
		return r;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		hvctl_error(h, "cannot attach to %s: %s%s", name, strerror(-r), tap_hint(name, r));
		return r;
	}
	return TAKE_FD(fd);
}

/* The parameters of an Add, or of one device of an AddMany: dir is where a
 * relative image path starts ("" = cwd), mem the zone's RAM map from a
 * virtio_cfg.json or NULL. The image or tap is opened with the caller's
 * rights (hvisord never opens either for a client) and appended to fds.
 * Errors printed. */
static int device_params(struct hvctl *h, uint32_t zone_id, const struct hv_virtio_device *dev,
			 const char *dir, const struct hv_virtio_zone *mem, int *fds, size_t *n_fds,
			 json_object **ret)
{
	json_object *params, *files;
	bool blk = dev->type == HV_VIRTIO_BLK;
	int fd;

	if (blk || dev->type == HV_VIRTIO_NET) {
		if (*n_fds == HV_MAX_FDS_PER_MSG) {
			hvctl_error(h,
				    "more than %d images and taps: start the devices with "
				    "several virtio start",
				    HV_MAX_FDS_PER_MSG);
			return EXIT_FAILED;
		}
		fd = blk ? open_image(h, dev, dir) : open_tap(h, dev->tap);
		if (fd < 0)
			return EXIT_FAILED;
		fds[*n_fds] = fd;
	}
	params = zone_params(zone_id);
	json_object_object_add(params, "device", hv_virtio_device_to_json(dev));
	if (mem && mem->n_mem)
		json_object_object_add(params, "memory", hv_virtio_mem_to_json(mem));
	if (blk || dev->type == HV_VIRTIO_NET) {
		files = json_object_new_object();
		json_object_object_add(files, blk ? "img" : "tap",
				       json_object_new_int((int)*n_fds));
		json_object_object_add(params, "files", files);
		(*n_fds)++;
	}
	*ret = params;
	return EXIT_OK;
}

static void print_added(struct hvctl *h, json_object *info)
{
	const char *pty = json_str(info, "pty"), *link = json_str(info, "console");

	print_line("Zone %llu: %s device at 0x%llx (irq %llu, %s) %s.",
		   (unsigned long long)json_u64(info, "zone_id"), json_str(info, "type") ?: "?",
		   (unsigned long long)json_u64(info, "addr"),
		   (unsigned long long)json_u64(info, "irq"), json_str(info, "backing") ?: "",
		   json_str(info, "state") ?: "");
	if (pty)
		/* upstream scripts look for this line */
		print_line("char device redirected to %s%s%s%s", pty, link ? " (" : "",
			   link ? link : "", link ? ")" : "");
}

/* Add or AddMany: the call, then what it added. */
static int add_call(struct hvctl *h, const char *method, json_object *params, int *fds,
		    size_t n_fds)
{
	json_object *reply = NULL, *p, *v;
	int r = hvctl_call1(h, method, params, fds, n_fds, &reply);

	close_many(fds, n_fds);
	if (r != EXIT_OK)
		return r;
	p = vl_reply_parameters(reply);
	print_warnings(h, p);
	if (json_object_object_get_ex(p, "device", &v) && h->json)
		print_json(v);
	else if (h->json)
		print_json(p);
	else if (json_object_object_get_ex(p, "device", &v))
		print_added(h, v);
	else if (json_object_object_get_ex(p, "devices", &v))
		for (size_t i = 0; i < json_object_array_length(v); i++)
			print_added(h, json_object_array_get_idx(v, i));
	json_object_put(reply);
	return EXIT_OK;
}

static int remove_device(struct hvctl *h, struct vl_client *c, uint32_t zone_id, uint64_t addr)
{
	json_object *params = zone_params(zone_id), *reply = NULL;
	int r;

	json_object_object_add(params, "addr", json_object_new_uint64(addr));
	r = hvctl_call(h, c, VL_IFACE_VIRTIO ".Remove", params, NULL, 0, &reply);
	json_object_put(reply);
	if (r == EXIT_OK && !h->json)
		printf("Zone %u: device at 0x%llx removed.\n", zone_id, (unsigned long long)addr);
	return r;
}

#define ZONE_FROM_SPEC UINT32_MAX

/* A SPEC of virtio add or virtio start --device, for zone (ZONE_FROM_SPEC:
 * the spec's zone_id=, then required). Errors printed. */
static int parse_device(struct hvctl *h, const char *spec, uint32_t zone,
			struct hv_virtio_device *dev)
{
	struct hv_error err;
	char msg[512];

	if (hv_virtio_device_parse_spec(spec, dev, &err) < 0) {
		hv_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "%s: %s: %s\n", h->prog, spec, msg);
		return EXIT_USAGE;
	}
	if (zone == ZONE_FROM_SPEC && !dev->has_zone_id) {
		fprintf(stderr, "%s: %s: zone_id= is required with --device\n", h->prog, spec);
		return EXIT_USAGE;
	}
	if (zone != ZONE_FROM_SPEC && dev->has_zone_id && dev->zone_id != zone) {
		fprintf(stderr, "%s: the spec says zone_id=%u, the command zone %u\n", h->prog,
			dev->zone_id, zone);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int cmd_add(struct hvctl *h, const struct command *cmd, const struct cmd_args *a)
{
	struct hv_virtio_device dev = {0};
	json_object *params = NULL;
	size_t n_fds = 0;
	uint32_t zone;
	int fd = -1, r = parse_zone_id(h, a->pos[0], &zone);

	if (r == EXIT_OK)
		r = parse_device(h, a->pos[1], zone, &dev);
	if (r == EXIT_OK)
		r = device_params(h, zone, &dev, "", NULL, &fd, &n_fds, &params);
	if (r == EXIT_OK)
		r = add_call(h, VL_IFACE_VIRTIO ".Add", params, &fd, n_fds);
	hv_virtio_device_clear(&dev);
	return r;
}

/* virtio start: every device of the file and of --device in one AddMany,
 * which hvisord carries out all or not at all. */
struct start {
	struct hvctl *h;
	json_object *devices;
	int fds[HV_MAX_FDS_PER_MSG];
	size_t n_fds;
	char *where[HV_VIRTIO_ADD_MANY_MAX]; /* how errors name each device */
	size_t n;
};

static int start_add(struct start *s, uint32_t zone_id, const struct hv_virtio_device *dev,
		     const char *dir, const struct hv_virtio_zone *mem, char *where)
{
	json_object *params;
	int r;

	s->where[s->n++] = where;
	s->h->where = where;
	r = device_params(s->h, zone_id, dev, dir, mem, s->fds, &s->n_fds, &params);
	s->h->where = NULL;
	if (r == EXIT_OK)
		json_object_array_add(s->devices, params);
	return r;
}

static int read_virtio_file(struct hvctl *h, const char *path, struct hv_virtio_config **ret,
			    char *dir, size_t dir_size)
{
	struct hv_error err;
	char *text, msg[512];
	size_t len;
	int r = read_config_file(h, path, &text, &len);

	if (r != EXIT_OK)
		return r;
	r = hv_virtio_config_parse_string(text, len, ret, &err);
	free(text);
	if (r < 0) {
		hv_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "%s: %s: %s\n", h->prog, path, msg);
		return EXIT_FAILED;
	}
	file_dir(path, dir, dir_size);
	return EXIT_OK;
}

/* The enabled devices of a virtio_cfg.json (not "status": "disable"). */
static int start_file(struct start *s, const char *path, const struct hv_virtio_config *cfg,
		      const char *dir)
{
	int r = EXIT_OK;

	for (unsigned z = 0; z < cfg->n_zones && r == EXIT_OK; z++) {
		const struct hv_virtio_zone *zone = &cfg->zones[z];

		for (unsigned i = 0; i < zone->n_devices && r == EXIT_OK; i++) {
			const struct hv_virtio_device *dev = &zone->devices[i];
			char *where;

			if (!dev->enabled)
				continue;
			if (asprintf(&where, "%s: zones[%u].devices[%u] (%s at 0x%llx)", path, z, i,
				     hv_virtio_type_to_string(dev->type),
				     (unsigned long long)dev->addr) < 0)
				return EXIT_FAILED;
			r = start_add(s, zone->zone_id, dev, dir, zone, where);
		}
	}
	return r;
}

/* The --device specs after the file's devices; every spec is checked
 * before anything is opened. */
static int start_devices(struct start *s, const struct cmd_args *a, const char *path,
			 const struct hv_virtio_config *cfg, const char *dir)
{
	struct hv_virtio_device devs[VIRTIO_MAX_SPECS] = {0};
	int r = EXIT_OK;

	for (int i = 0; i < a->n_devices && r == EXIT_OK; i++)
		r = parse_device(s->h, a->devices[i], ZONE_FROM_SPEC, &devs[i]);
	if (r == EXIT_OK && cfg)
		r = start_file(s, path, cfg, dir);
	for (int i = 0; i < a->n_devices && r == EXIT_OK; i++)
		r = start_add(s, devs[i].zone_id, &devs[i], "", NULL, strdup(a->devices[i]));
	for (int i = 0; i < a->n_devices; i++)
		hv_virtio_device_clear(&devs[i]);
	return r;
}

static int cmd_start(struct hvctl *h, const struct command *cmd, const struct cmd_args *a)
{
	struct start *s = calloc(1, sizeof(*s));
	struct hv_virtio_config *cfg = NULL;
	const char *path = a->n ? a->pos[0] : NULL;
	char dir[PATH_MAX] = "";
	int r = path ? read_virtio_file(h, path, &cfg, dir, sizeof(dir)) : EXIT_OK;

	if (!s)
		abort();
	*s = (struct start){.h = h, .devices = json_object_new_array()};
	if (!path && a->n_devices == 0) {
		command_help(h, cmd, stderr);
		r = EXIT_USAGE;
	}
	if (r == EXIT_OK)
		r = start_devices(s, a, path, cfg, dir);
	if (r == EXIT_OK) {
		json_object *params = json_object_new_object();

		json_object_object_add(params, "devices", json_object_get(s->devices));
		h->items = s->where;
		h->n_items = s->n;
		r = add_call(h, VL_IFACE_VIRTIO ".AddMany", params, s->fds, s->n_fds);
		h->items = NULL;
	} else
		close_many(s->fds, s->n_fds);
	for (size_t i = 0; i < s->n; i++)
		free(s->where[i]);
	json_object_put(s->devices);
	hv_virtio_config_free(cfg);
	free(s);
	return r;
}

static int cmd_remove(struct hvctl *h, const struct command *cmd, const struct cmd_args *a)
{
	struct vl_client *c = NULL;
	uint32_t zone;
	uint64_t addr;
	int r;

	if (parse_zone_id(h, a->pos[0], &zone) != EXIT_OK)
		return EXIT_USAGE;
	if (parse_u64(a->pos[1], UINT64_MAX, &addr) < 0) {
		fprintf(stderr, "%s: '%s' is not an address (e.g. 0xa003c00)\n", h->prog,
			a->pos[1]);
		return EXIT_USAGE;
	}
	r = hvctl_connect(h, &c);
	if (r == EXIT_OK)
		r = remove_device(h, c, zone, addr);
	vl_client_free(c);
	return r;
}

static int cmd_list(struct hvctl *h, const struct command *cmd, const struct cmd_args *a)
{
	json_object *params = NULL, *reply = NULL, *devs;
	struct table *t;
	uint32_t zone;
	int r;

	if (a->n == 1) {
		if (parse_zone_id(h, a->pos[0], &zone) != EXIT_OK)
			return EXIT_USAGE;
		params = zone_params(zone);
	}
	r = hvctl_call1(h, VL_IFACE_VIRTIO ".List", params, NULL, 0, &reply);
	if (r != EXIT_OK)
		return r;
	if (h->json) {
		print_json(vl_reply_parameters(reply));
		json_object_put(reply);
		return EXIT_OK;
	}
	if (!json_object_object_get_ex(vl_reply_parameters(reply), "devices", &devs) ||
	    !json_object_is_type(devs, json_type_array)) {
		json_object_put(reply);
		return EXIT_FAILED;
	}
	t = table_new(9, "ZONE", "TYPE", "ADDR", "IRQ", "BACKING", "STATE", "PTY", "REQUESTS",
		      "ERRORS");
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		json_object *d = json_object_array_get_idx(devs, i), *v;
		char zid[16], addr[24], irq[16], req[24] = "-", err[24] = "-";

		snprintf(zid, sizeof(zid), "%llu", (unsigned long long)json_u64(d, "zone_id"));
		snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)json_u64(d, "addr"));
		snprintf(irq, sizeof(irq), "%llu", (unsigned long long)json_u64(d, "irq"));
		if (json_object_object_get_ex(d, "requests", &v))
			snprintf(req, sizeof(req), "%llu",
				 (unsigned long long)json_object_get_uint64(v));
		if (json_object_object_get_ex(d, "errors", &v))
			snprintf(err, sizeof(err), "%llu",
				 (unsigned long long)json_object_get_uint64(v));
		table_add(t, zid, json_str(d, "type"), addr, irq, json_str(d, "backing"),
			  json_str(d, "state"), json_str(d, "pty"), req, err);
	}
	table_print(t, stdout);
	table_free(t);
	json_object_put(reply);
	return EXIT_OK;
}

/* The counterpart of "virtio start FILE": what hvisor-zone@.service runs
 * when the zone itself could not start, so that a second try finds no
 * devices of the first. Every device is tried; each failure is reported. */
static int cmd_stop(struct hvctl *h, const struct command *cmd, const struct cmd_args *a)
{
	struct hv_virtio_config *cfg = NULL;
	struct vl_client *c = NULL;
	char dir[PATH_MAX];
	int r = read_virtio_file(h, a->pos[0], &cfg, dir, sizeof(dir)), ret;

	if (r == EXIT_OK)
		r = hvctl_connect(h, &c);
	ret = r;
	for (unsigned z = 0; r == EXIT_OK && z < cfg->n_zones; z++)
		for (unsigned i = 0; i < cfg->zones[z].n_devices; i++) {
			const struct hv_virtio_device *dev = &cfg->zones[z].devices[i];
			uint32_t zone = cfg->zones[z].zone_id;

			if (!dev->enabled)
				continue;
			if (remove_device(h, c, zone, dev->addr) != EXIT_OK)
				ret = EXIT_FAILED;
		}
	vl_client_free(c);
	hv_virtio_config_free(cfg);
	return ret;
}

const struct command virtio_commands[] = {
	{"virtio add", "ZONE SPEC", "add a virtio device to a zone",
	 "SPEC: blk,addr=0xa003c00,len=0x200,irq=78,img=disk.img[,readonly][,share][,serial=S]\n"
	 "          [,aio=E]\n"
	 "      net,addr=...,len=...,irq=...,tap=tap0[,mac=02:00:00:00:00:01]\n"
	 "      console,addr=...,len=...,irq=...\n"
	 "The image and the tap are opened with your permissions (the image read-only\n"
	 "with 'readonly'). An image is locked: one read-write device, or any number\n"
	 "of devices that are each readonly or have 'share'.\n",
	 CMD_DATA, 2, 2, cmd_add},
	{"virtio start", "[FILE] [--device SPEC]...", "add the devices of a virtio_cfg.json",
	 "FILE: upstream's virtio_cfg.json (devices with \"status\": \"disable\" are skipped;\n"
	 "image paths are relative to the file). --device SPEC needs zone_id=N in SPEC.\n"
	 "All or nothing: hvisord adds every device in one call, or none of them\n"
	 "(an hvisord of API 1.3 or later).\n",
	 CMD_DATA | CMD_DEVICES, 0, 1, cmd_start},
	{"virtio remove", "ZONE ADDR", "remove a virtio device", NULL, 0, 2, 2, cmd_remove},
	{"virtio list", "[ZONE]", "list virtio devices with their state and counters", NULL,
	 CMD_DATA, 0, 1, cmd_list},
	{"virtio stop", "FILE", "remove the devices of a virtio_cfg.json",
	 "Every enabled device of FILE is removed; each that cannot be is reported.\n", 0, 1, 1,
	 cmd_stop},
	{},
};
