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

/* One Virtio.Add. dir: where relative image paths start ("" = cwd).
 * mem: the zone's RAM map from a virtio_cfg.json, or NULL. On success the
 * reply's device info goes to *ret_info (caller puts). */
static int add_device(struct hvctl *h, struct vl_client *c, uint32_t zone_id,
		      const struct hv_virtio_device *dev, const char *dir,
		      const struct hv_virtio_zone *mem, json_object **ret_info)
{
	json_object *params = json_object_new_object(), *reply = NULL, *p, *w, *info;
	bool blk = dev->type == HV_VIRTIO_BLK;
	int fd = -1, r;

	json_object_object_add(params, "zone_id", json_object_new_int64(zone_id));
	json_object_object_add(params, "device", hv_virtio_device_to_json(dev));
	if (mem && mem->n_mem)
		json_object_object_add(params, "memory", hv_virtio_mem_to_json(mem));
	/* hvisord never opens either for a client */
	if (blk || dev->type == HV_VIRTIO_NET) {
		json_object *files = json_object_new_object();

		fd = blk ? open_image(h, dev, dir) : open_tap(h, dev->tap);
		if (fd < 0) {
			json_object_put(files);
			json_object_put(params);
			return EXIT_FAILED;
		}
		json_object_object_add(files, blk ? "img" : "tap", json_object_new_int(0));
		json_object_object_add(params, "files", files);
	}
	r = hvctl_call(h, c, VL_IFACE_VIRTIO ".Add", params, fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0,
		       &reply);
	safe_close(fd);
	if (r != EXIT_OK)
		return r;
	p = vl_reply_parameters(reply);
	if (json_object_object_get_ex(p, "warnings", &w) && json_object_is_type(w, json_type_array))
		for (size_t i = 0; i < json_object_array_length(w); i++)
			fprintf(stderr, "%s: warning: %s\n", h->prog,
				json_object_get_string(json_object_array_get_idx(w, i)));
	if (json_object_object_get_ex(p, "device", &info))
		*ret_info = json_object_get(info);
	json_object_put(reply);
	return EXIT_OK;
}

static void print_added(struct hvctl *h, json_object *info)
{
	const char *pty = json_str(info, "pty"), *link = json_str(info, "console");

	if (h->json) {
		print_json(info);
		return;
	}
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

static int remove_device(struct hvctl *h, struct vl_client *c, uint32_t zone_id, uint64_t addr)
{
	json_object *params = json_object_new_object(), *reply = NULL;
	int r;

	json_object_object_add(params, "zone_id", json_object_new_int64(zone_id));
	json_object_object_add(params, "addr", json_object_new_uint64(addr));
	r = hvctl_call(h, c, VL_IFACE_VIRTIO ".Remove", params, NULL, 0, &reply);
	json_object_put(reply);
	return r;
}

static int print_spec_error(struct hvctl *h, const char *what, const struct hv_error *err)
{
	char msg[512];

	hv_error_format(err, msg, sizeof(msg));
	fprintf(stderr, "%s: %s: %s\n", h->prog, what, msg);
	return EXIT_USAGE;
}

static int cmd_add(struct hvctl *h, int argc, char **argv)
{
	struct hv_virtio_device dev = {0};
	struct vl_client *c = NULL;
	json_object *info = NULL;
	struct hv_error err;
	char *pos[2];
	uint32_t zone;
	int n = command_args(h, &virtio_commands[0], argc, argv, pos, 2, 2), r;

	if (n < 0)
		return n == -1 ? EXIT_OK : EXIT_USAGE;
	if (parse_zone_id(h, pos[0], &zone) != EXIT_OK)
		return EXIT_USAGE;
	if (hv_virtio_device_parse_spec(pos[1], &dev, &err) < 0)
		return print_spec_error(h, pos[1], &err);
	if (dev.has_zone_id && dev.zone_id != zone) {
		fprintf(stderr, "%s: the spec says zone_id=%u, the command zone %u\n", h->prog,
			dev.zone_id, zone);
		hv_virtio_device_clear(&dev);
		return EXIT_USAGE;
	}
	r = hvctl_connect(h, &c);
	if (r == EXIT_OK)
		r = add_device(h, c, zone, &dev, "", NULL, &info);
	if (r == EXIT_OK)
		print_added(h, info);
	json_object_put(info);
	vl_client_free(c);
	hv_virtio_device_clear(&dev);
	return r;
}

struct added {
	uint32_t zone;
	uint64_t addr;
};

struct start_ctx {
	struct hvctl *h;
	struct vl_client *c;
	struct added done[HV_VIRTIO_MAX_ZONES * HV_VIRTIO_MAX_DEVICES + VIRTIO_MAX_SPECS];
	unsigned n_done;
};

/* where: how errors name the device (its place in the file, or its spec) */
static int start_one(struct start_ctx *s, uint32_t zone_id, const struct hv_virtio_device *dev,
		     const char *dir, const struct hv_virtio_zone *mem, const char *where)
{
	json_object *info = NULL;
	int r;

	s->h->where = where;
	r = add_device(s->h, s->c, zone_id, dev, dir, mem, &info);
	s->h->where = NULL;
	if (r == EXIT_OK) {
		print_added(s->h, info);
		s->done[s->n_done++] = (struct added){zone_id, dev->addr};
	}
	json_object_put(info);
	return r;
}

/* Every --device string is checked before anything is added. */
static int parse_specs(struct hvctl *h, char **specs, int n, struct hv_virtio_device *devs)
{
	struct hv_error err;

	for (int i = 0; i < n; i++) {
		if (hv_virtio_device_parse_spec(specs[i], &devs[i], &err) < 0)
			return print_spec_error(h, specs[i], &err);
		if (!devs[i].has_zone_id) {
			fprintf(stderr, "%s: %s: zone_id= is required with --device\n", h->prog,
				specs[i]);
			return EXIT_USAGE;
		}
	}
	return EXIT_OK;
}

static int read_virtio_file(struct hvctl *h, const char *path, struct hv_virtio_config **ret,
			    char *dir, size_t dir_size)
{
	struct hv_error err;
	char *text;
	size_t len;
	int r = read_config_file(h, path, &text, &len);

	if (r != EXIT_OK)
		return r;
	r = hv_virtio_config_parse_string(text, len, ret, &err);
	free(text);
	if (r < 0)
		return print_spec_error(h, path, &err), EXIT_FAILED;
	file_dir(path, dir, dir_size);
	return EXIT_OK;
}

int virtio_start(struct hvctl *h, const char *path, char **specs, int n_specs)
{
	struct hv_virtio_device devs[VIRTIO_MAX_SPECS] = {0};
	struct hv_virtio_config *cfg = NULL;
	struct start_ctx s = {.h = h};
	char dir[PATH_MAX] = "";
	int r = EXIT_USAGE;

	if (n_specs > VIRTIO_MAX_SPECS)
		goto out;
	r = path ? read_virtio_file(h, path, &cfg, dir, sizeof(dir)) : EXIT_OK;
	if (r == EXIT_OK)
		r = parse_specs(h, specs, n_specs, devs);
	if (r == EXIT_OK)
		r = hvctl_connect(h, &s.c);
	for (unsigned z = 0; cfg && z < cfg->n_zones && r == EXIT_OK; z++) {
		const struct hv_virtio_zone *zone = &cfg->zones[z];

		for (unsigned i = 0; i < zone->n_devices && r == EXIT_OK; i++) {
			const struct hv_virtio_device *dev = &zone->devices[i];
			char where[PATH_MAX + 64];

			if (!dev->enabled)
				continue; /* "status": "disable" */
			snprintf(where, sizeof(where), "%s: zones[%u].devices[%u] (%s at 0x%llx)",
				 path, z, i, hv_virtio_type_to_string(dev->type),
				 (unsigned long long)dev->addr);
			r = start_one(&s, zone->zone_id, dev, dir, zone, where);
		}
	}
	for (int i = 0; i < n_specs && r == EXIT_OK; i++)
		r = start_one(&s, devs[i].zone_id, &devs[i], "", NULL, specs[i]);
	/* all or nothing: take back what this command added */
	if (r != EXIT_OK && r != EXIT_UNREACHABLE)
		for (unsigned i = s.n_done; i-- > 0;) {
			fprintf(stderr, "%s: removing zone %u's device at 0x%llx again\n", h->prog,
				s.done[i].zone, (unsigned long long)s.done[i].addr);
			remove_device(h, s.c, s.done[i].zone, s.done[i].addr);
		}
out:
	for (int i = 0; i < n_specs && i < VIRTIO_MAX_SPECS; i++)
		hv_virtio_device_clear(&devs[i]);
	vl_client_free(s.c);
	hv_virtio_config_free(cfg);
	return r;
}

static int cmd_start(struct hvctl *h, int argc, char **argv)
{
	char *specs[VIRTIO_MAX_SPECS], *file = NULL;
	int n_specs = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--device") == 0) {
			if (i + 1 == argc || n_specs == (int)ARRAY_SIZE(specs)) {
				command_help(h, &virtio_commands[1], stderr);
				return EXIT_USAGE;
			}
			specs[n_specs++] = argv[++i];
		} else if (strcmp(argv[i], "--json") == 0) {
			h->json = true;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			command_help(h, &virtio_commands[1], stdout);
			return EXIT_OK;
		} else if (argv[i][0] == '-' || file) {
			fprintf(stderr, "%s: virtio start: unexpected argument '%s'\n", h->prog,
				argv[i]);
			command_help(h, &virtio_commands[1], stderr);
			return EXIT_USAGE;
		} else
			file = argv[i];
	}
	if (!file && n_specs == 0) {
		command_help(h, &virtio_commands[1], stderr);
		return EXIT_USAGE;
	}
	return virtio_start(h, file, specs, n_specs);
}

static int cmd_remove(struct hvctl *h, int argc, char **argv)
{
	struct vl_client *c = NULL;
	char *pos[2];
	uint32_t zone;
	uint64_t addr;
	int n = command_args(h, &virtio_commands[2], argc, argv, pos, 2, 2), r;

	if (n < 0)
		return n == -1 ? EXIT_OK : EXIT_USAGE;
	if (parse_zone_id(h, pos[0], &zone) != EXIT_OK)
		return EXIT_USAGE;
	if (parse_u64(pos[1], UINT64_MAX, &addr) < 0) {
		fprintf(stderr, "%s: '%s' is not an address (e.g. 0xa003c00)\n", h->prog, pos[1]);
		return EXIT_USAGE;
	}
	r = hvctl_connect(h, &c);
	if (r == EXIT_OK)
		r = remove_device(h, c, zone, addr);
	vl_client_free(c);
	if (r == EXIT_OK && !h->json)
		printf("Zone %u: device at 0x%llx removed.\n", zone, (unsigned long long)addr);
	return r;
}

static int cmd_list(struct hvctl *h, int argc, char **argv)
{
	json_object *params = NULL, *reply = NULL, *devs;
	struct table *t;
	char *pos[1];
	uint32_t zone;
	int n = command_args(h, &virtio_commands[3], argc, argv, pos, 0, 1), r;

	if (n < 0)
		return n == -1 ? EXIT_OK : EXIT_USAGE;
	if (n == 1) {
		if (parse_zone_id(h, pos[0], &zone) != EXIT_OK)
			return EXIT_USAGE;
		params = json_object_new_object();
		json_object_object_add(params, "zone_id", json_object_new_int64(zone));
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
static int cmd_stop(struct hvctl *h, int argc, char **argv)
{
	struct hv_virtio_config *cfg = NULL;
	struct vl_client *c = NULL;
	char *pos[1], dir[PATH_MAX];
	int n = command_args(h, &virtio_commands[4], argc, argv, pos, 1, 1), r, ret;

	if (n < 0)
		return n == -1 ? EXIT_OK : EXIT_USAGE;
	r = read_virtio_file(h, pos[0], &cfg, dir, sizeof(dir));
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
			else if (!h->json)
				printf("Zone %u: device at 0x%llx removed.\n", zone,
				       (unsigned long long)dev->addr);
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
	 cmd_add},
	{"virtio start", "[FILE] [--device SPEC]...", "add the devices of a virtio_cfg.json",
	 "FILE: upstream's virtio_cfg.json (devices with \"status\": \"disable\" are skipped;\n"
	 "image paths are relative to the file). --device SPEC needs zone_id=N in SPEC.\n"
	 "All or nothing: if one device fails, the ones added before are removed.\n",
	 cmd_start},
	{"virtio remove", "ZONE ADDR", "remove a virtio device", NULL, cmd_remove},
	{"virtio list", "[ZONE]", "list virtio devices with their state and counters", NULL,
	 cmd_list},
	{"virtio stop", "FILE", "remove the devices of a virtio_cfg.json",
	 "Every enabled device of FILE is removed; each that cannot be is reported.\n", cmd_stop},
	{NULL, NULL, NULL, NULL, NULL},
};
