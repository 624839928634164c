// SPDX-License-Identifier: GPL-2.0-only
/*
 * org.hvisor.Virtio: the virtio devices of zones. A device is registered
 * with hvisord (Add) for a zone that runs or will run; hvisord holds its
 * backing resource (the image or tap fd the client opened and passed,
 * checked by backing.c, or a pty it created and published as
 * RUNDIR/zone<N>/console) and runs one
 * hvisor-virtiod per running zone with devices (backend.c).
 *
 * Checks, before anything is opened or started: the device is well formed
 * (proto/virtio-config.c), does not overlap another device of the zone,
 * and — for a zone hvisord started — lies inside one of the zone's virtio
 * regions with an IRQ the zone owns. Devices for a zone that is not
 * running yet are checked against its config when it starts.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "hv.h"
#include "log.h"
#include "util.h"
#include "virtio.h"

static struct zvirt *zvirt_find(struct daemon *d, uint32_t zone_id)
{
	struct zvirt *zv;

	TAILQ_FOREACH (zv, &d->zvirts, entry)
		if (zv->zone_id == zone_id)
			return zv;
	return NULL;
}

static struct zvirt *zvirt_get(struct daemon *d, uint32_t zone_id)
{
	struct zvirt *zv = zvirt_find(d, zone_id);

	if (zv)
		return zv;
	zv = calloc(1, sizeof(*zv));
	if (!zv)
		return NULL;
	zv->d = d;
	zv->zone_id = zone_id;
	zv->ctl_fd = -1;
	zv->state_fd = -1;
	zv->early_chan = zv->early_mem = -1;
	TAILQ_INIT(&zv->devices);
	TAILQ_INSERT_TAIL(&d->zvirts, zv, entry);
	return zv;
}

static void zvirt_put(struct zvirt *zv)
{
	/* a zone without devices needs no bookkeeping */
	if (zv->n_devices || zv->state != BACKEND_NONE)
		return;
	if (zv->ev_restart)
		event_free(zv->ev_restart);
	safe_close(zv->state_fd);
	TAILQ_REMOVE(&zv->d->zvirts, zv, entry);
	free(zv);
}

/* A removed console's link goes (through the checked zone<N>/, never a
 * symlink), and with the zone's last one the directory itself. */
static void unpublish_console(struct daemon *d, struct vdevice *dev)
{
	char err[PATH_MAX + 128];
	int zfd;

	if (dev->spec.type != HV_VIRTIO_CONSOLE || !dev->spec.has_zone_id)
		return;
	if (dev->link[0]) {
		zfd = rundir_zone_open(d, dev->spec.zone_id, false, err, sizeof(err));
		if (zfd < 0 ||
		    (unlinkat(zfd, strrchr(dev->link, '/') + 1, 0) < 0 && errno != ENOENT))
			log_warn("cannot remove %s: %s", dev->link,
				 zfd < 0 ? err : strerror(errno));
		safe_close(zfd);
		dev->link[0] = '\0';
	}
	rundir_zone_remove(d, dev->spec.zone_id);
}

static void vdevice_free(struct daemon *d, struct vdevice *dev)
{
	unpublish_console(d, dev);
	safe_close(dev->fd);
	safe_close(dev->pty_slave);
	hv_virtio_device_clear(&dev->spec);
	free(dev);
}

/* The RAM of a zone hvisord started, from its config. */
static void ram_from_config(struct zvirt *zv, const struct hv_zone_config *cfg)
{
	zv->n_ram = 0;
	for (uint32_t i = 0; i < cfg->n_regions && zv->n_ram < ZVIRT_MAX_RAM; i++)
		if (cfg->regions[i].type == HV_MEM_TYPE_RAM)
			zv->ram[zv->n_ram++] = (typeof(zv->ram[0])){
				.gpa = cfg->regions[i].virtual_start,
				.size = cfg->regions[i].size,
				.offset = cfg->regions[i].physical_start,
			};
	zv->ram_known = zv->n_ram > 0;
}

static int check_overlap(const struct zvirt *zv, const struct hv_virtio_device *dev,
			 struct hv_error *err)
{
	const struct vdevice *o;

	TAILQ_FOREACH (o, &zv->devices, entry)
		if (ranges_overlap(dev->addr, dev->len, o->spec.addr, o->spec.len)) {
			hv_error_set(err, "device.addr",
				     "0x%llx+0x%llx overlaps the %s device at 0x%llx of zone %u",
				     (unsigned long long)dev->addr, (unsigned long long)dev->len,
				     hv_virtio_type_to_string(o->spec.type),
				     (unsigned long long)o->spec.addr, zv->zone_id);
			return -EEXIST;
		}
	return 0;
}

static int free_slot(const struct zvirt *zv)
{
	for (unsigned s = 0; s < HV_VIRTIO_MAX_DEVICES; s++) {
		const struct vdevice *o;
		bool used = false;

		TAILQ_FOREACH (o, &zv->devices, entry)
			used |= o->slot == s;
		if (!used)
			return (int)s;
	}
	return -ENOSPC;
}

/* A pty for a console: the master for the backend, the slave held open
 * here (raw, so the guest's bytes reach a terminal unchanged), group
 * "hvisor" may open it (hvctl console). */
static int open_pty(struct vdevice *dev, struct hv_error *err)
{
	struct termios tio;
	struct group *g;
	int master, slave;
	char *name;

	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    !(name = ptsname(master))) {
		hv_error_set(err, "device", "cannot create a pty: %m");
		safe_close(master);
		return -EIO;
	}
	snprintf(dev->pty, sizeof(dev->pty), "%s", name);
	slave = open(dev->pty, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0) {
		hv_error_set(err, "device", "cannot open %s: %m", dev->pty);
		close(master);
		return -EIO;
	}
	if (tcgetattr(slave, &tio) == 0) {
		cfmakeraw(&tio);
		(void)tcsetattr(slave, TCSANOW, &tio);
	}
	g = getgrnam("hvisor");
	if (g && (fchown(slave, (uid_t)-1, g->gr_gid) < 0 || fchmod(slave, 0660) < 0))
		log_warn("%s: cannot give group hvisor access: %m", dev->pty);
	dev->fd = master;
	dev->pty_slave = slave;
	return 0;
}

/* RUNDIR/zone<N>/console (the zone's first console) or console-<addr>. */
static void publish_console(struct daemon *d, struct zvirt *zv, struct vdevice *dev)
{
	char name[32], err[PATH_MAX + 128];
	const struct vdevice *o;
	bool first = true;
	int zfd;

	TAILQ_FOREACH (o, &zv->devices, entry)
		if (o != dev && o->spec.type == HV_VIRTIO_CONSOLE && o->link[0])
			first = false;
	if (first)
		snprintf(name, sizeof(name), "console");
	else
		snprintf(name, sizeof(name), "console-%llx", (unsigned long long)dev->spec.addr);
	zfd = rundir_zone_open(d, zv->zone_id, true, err, sizeof(err));
	if (zfd < 0) {
		log_warn("cannot publish zone %u's console: %s", zv->zone_id, err);
	} else {
		(void)unlinkat(zfd, name, 0);
		if (symlinkat(dev->pty, zfd, name) < 0)
			log_warn("cannot publish %s/zone%u/%s: %m", d->runtime_dir, zv->zone_id,
				 name);
		else
			snprintf(dev->link, sizeof(dev->link), "%.4000s/zone%u/%s", d->runtime_dir,
				 zv->zone_id, name);
		close(zfd);
	}
	/* the line upstream scripts grep for */
	log_notice("zone %u console %#llx: char device redirected to %s", zv->zone_id,
		   (unsigned long long)dev->spec.addr, dev->pty);
}

/* Before a console is added: its zone<N>/ can be used (made now if
 * needed; a removal of the device or a failed add takes it away again).
 * If not, org.hvisor.Internal names the path and what is wrong with it. */
static int check_console_dir(struct conn *c, struct daemon *d, uint32_t zone_id)
{
	char why[PATH_MAX + 128];
	int zfd = rundir_zone_open(d, zone_id, true, why, sizeof(why));

	if (zfd < 0) {
		conn_errorf(c, VL_ERROR_INTERNAL, "cannot publish the console: %s", why);
		return zfd;
	}
	close(zfd);
	return 0;
}

static json_object *device_json(const struct zvirt *zv, const struct vdevice *dev,
				json_object *stats)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "zone_id", json_object_new_int64(zv->zone_id));
	json_object_object_add(o, "type",
			       json_object_new_string(hv_virtio_type_to_string(dev->spec.type)));
	json_object_object_add(o, "addr", json_object_new_uint64(dev->spec.addr));
	json_object_object_add(o, "len", json_object_new_uint64(dev->spec.len));
	json_object_object_add(o, "irq", json_object_new_int64(dev->spec.irq));
	json_object_object_add(o, "backing", json_object_new_string(dev->backing));
	json_object_object_add(o, "state",
			       json_object_new_string(zv->state == BACKEND_RUNNING ? "running"
						      : zv->state == BACKEND_NONE
							      ? "pending"
							      : backend_state_name(zv->state)));
	if (dev->pty[0])
		json_object_object_add(o, "pty", json_object_new_string(dev->pty));
	if (dev->link[0])
		json_object_object_add(o, "console", json_object_new_string(dev->link));
	if (dev->spec.type == HV_VIRTIO_BLK)
		json_object_object_add(o, "readonly", json_object_new_boolean(dev->spec.readonly));
	if (dev->spec.type == HV_VIRTIO_NET) {
		char mac[18];

		hv_mac_format(dev->spec.mac, mac);
		json_object_object_add(o, "mac", json_object_new_string(mac));
	}
	/* counters and device facts from the backend */
	if (stats) {
		json_object_object_foreach (stats, k, v) {
			if (strcmp(k, "addr") && strcmp(k, "len") && strcmp(k, "irq") &&
			    strcmp(k, "type") && strcmp(k, "slot"))
				json_object_object_add(o, k, json_object_get(v));
		}
	}
	return o;
}

static int error_invalid(struct conn *c, const struct hv_error *err)
{
	return conn_error_invalid(c, NULL, err);
}

/* Devices waiting for their zones to start hold ptys, taps and images
 * for zones that may never come: bounded for the whole daemon. Zones
 * without a backend are the ones that do not run. */
static int check_pending_limit(struct conn *c, struct daemon *d)
{
	const struct zvirt *zv;
	unsigned n = 0;

	TAILQ_FOREACH (zv, &d->zvirts, entry)
		if (zv->state == BACKEND_NONE)
			n += zv->n_devices;
	if (n < d->limits.max_pending_devices)
		return 0;
	conn_error(c,
		   vl_error_limit_new(
			   "pending_devices",
			   "%u devices already wait for their zones to start, the limit (hvisord "
			   "--max-pending-devices): start those zones or remove some devices",
			   n));
	return -ENOSPC;
}

/* The descriptor passed for files.<key>, or -1. */
static int passed_fd(json_object *files, const char *key, const int *fds, size_t n_fds)
{
	json_object *idx;

	if (!files || !json_object_object_get_ex(files, key, &idx) ||
	    !json_object_is_type(idx, json_type_int) || json_object_get_int64(idx) < 0 ||
	    json_object_get_int64(idx) >= (int64_t)n_fds)
		return -1;
	return fds[json_object_get_int64(idx)];
}

/* A descriptor the client opened with its own rights (an image, a tap),
 * checked, or a pty made here: into dev->fd. 0, or the error was sent. */
static int take_backing(struct conn *c, struct vdevice *dev, json_object *files, const int *fds,
			size_t n_fds, json_object *warnings)
{
	const struct hv_virtio_device *spec = &dev->spec;
	bool blk = spec->type == HV_VIRTIO_BLK;
	struct hv_error err;
	int fd, r;

	if (spec->type == HV_VIRTIO_CONSOLE) {
		r = check_console_dir(c, conn_daemon(c), spec->zone_id);
		if (r < 0)
			return r;
		if (open_pty(dev, &err) < 0)
			return error_invalid(c, &err), -EIO;
		snprintf(dev->backing, sizeof(dev->backing), "%s", dev->pty);
		return 0;
	}
	fd = passed_fd(files, blk ? "img" : "tap", fds, n_fds);
	if (fd < 0) {
		if (blk)
			hv_error_set(&err, "files.img",
				     "pass the image '%s' as a file descriptor with the call",
				     spec->img ? spec->img : "");
		else
			hv_error_set(
				&err, "files.tap",
				"pass the tap '%s' as a descriptor with the call (/dev/net/tun "
				"attached to it, opened with your own rights)",
				spec->tap);
		return error_invalid(c, &err), -EINVAL;
	}
	r = blk ? backing_image(c, conn_daemon(c), spec, fd, warnings) : backing_tap(c, spec, fd);
	if (r < 0)
		return r;
	snprintf(dev->backing, sizeof(dev->backing), "%s", blk ? (spec->img ?: "") : spec->tap);
	dev->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dev->fd < 0) {
		conn_errorf(c, VL_ERROR_INTERNAL, "cannot keep the backing descriptor: %m");
		return -EMFILE;
	}
	return 0;
}

static int method_add(struct conn *c, const struct vl_call *call, int *fds, size_t n_fds)
{
	struct daemon *d = conn_daemon(c);
	json_object *zone, *device, *memory, *files, *p, *info = NULL, *warnings;
	const struct vl_param spec[] = {
		{"zone_id", json_type_int, true, &zone},
		{"device", json_type_object, true, &device},
		{"memory", json_type_array, false, &memory},
		{"files", json_type_object, false, &files},
	};
	const struct hv_zone_config *cfg;
	struct vdevice *dev = NULL;
	struct hv_error err;
	struct zvirt *zv;
	uint32_t zone_id;
	char ebuf[512];
	int running, slot, r;

	if (vl_params_parse(call->parameters, spec, ARRAY_SIZE(spec), &err) < 0)
		return error_invalid(c, &err);
	if (json_object_get_int64(zone) == 0 || json_object_get_int64(zone) > UINT32_MAX) {
		hv_error_set(&err, "zone_id", "must be a non-root zone id (1..2^32-1)");
		return error_invalid(c, &err);
	}
	zone_id = (uint32_t)json_object_get_int64(zone);
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->fd = dev->pty_slave = -1;
	if (hv_virtio_device_from_json(device, &dev->spec, &err) < 0) {
		conn_error_invalid(c, "device", &err);
		goto fail;
	}
	dev->spec.zone_id = zone_id;
	dev->spec.has_zone_id = true;
	warnings = json_object_new_array();

	zv = zvirt_get(d, zone_id);
	if (!zv) {
		json_object_put(warnings);
		vdevice_free(d, dev);
		return -ENOMEM;
	}
	if (check_overlap(zv, &dev->spec, &err) < 0) {
		error_invalid(c, &err);
		goto fail_w;
	}
	if (zv->n_devices >= HV_VIRTIO_MAX_DEVICES || (slot = free_slot(zv)) < 0) {
		conn_error(c, vl_error_limit_new("devices", "zone %u has %d devices already",
						 zone_id, HV_VIRTIO_MAX_DEVICES));
		goto fail_w;
	}
	dev->slot = (unsigned)slot;
	running = zone_is_running(d, zone_id);
	if (running < 0) {
		conn_error_kernel(c, "ZONE_LIST", running);
		goto fail_w;
	}
	if (!running && check_pending_limit(c, d) < 0)
		goto fail_w;
	cfg = zone_config_of(d, zone_id);
	if (cfg) {
		if (hv_virtio_device_check_zone(&dev->spec, cfg, "device", &err) < 0) {
			error_invalid(c, &err);
			goto fail_w;
		}
		if (!zv->ram_known)
			ram_from_config(zv, cfg);
	} else if (memory) {
		/* upstream virtio_cfg.json's memory_region: where the zone's RAM is */
		unsigned n = (unsigned)MIN(json_object_array_length(memory), (size_t)ZVIRT_MAX_RAM);

		for (unsigned i = 0; i < n; i++) {
			json_object *m = json_object_array_get_idx(memory, i), *a, *b, *s;
			const struct vl_param ms[] = {
				{"zone0_ipa", json_type_int, true, &a},
				{"zonex_ipa", json_type_int, true, &b},
				{"size", json_type_int, true, &s},
			};

			if (!json_object_is_type(m, json_type_object) ||
			    vl_params_parse(m, ms, ARRAY_SIZE(ms), &err) < 0 ||
			    json_object_get_uint64(s) == 0) {
				hv_error_set(&err, "memory",
					     "entry %u: expected {zone0_ipa, zonex_ipa, size}", i);
				error_invalid(c, &err);
				goto fail_w;
			}
			zv->ram[i].offset = json_object_get_uint64(a);
			zv->ram[i].gpa = json_object_get_uint64(b);
			zv->ram[i].size = json_object_get_uint64(s);
		}
		zv->n_ram = n;
		zv->ram_known = n > 0;
	}
	if (running && !cfg) {
		if (!zv->ram_known) {
			hv_error_set(
				&err, "memory",
				"zone %u was not started through hvisord: pass its memory map (virtio_cfg.json's memory_region)",
				zone_id);
			error_invalid(c, &err);
			goto fail_w;
		}
		json_object_array_add(
			warnings,
			json_object_new_string(
				"the zone was not started through hvisord: its virtio regions and interrupts are not checked"));
	}

	if (take_backing(c, dev, files, fds, n_fds, warnings) < 0)
		goto fail_w;

	/* Commit: register it; a running zone gets it served now. */
	TAILQ_INSERT_TAIL(&zv->devices, dev, entry);
	zv->n_devices++;
	if (running) {
		if (zv->state == BACKEND_RUNNING)
			r = backend_add_device(zv, dev, &info, ebuf, sizeof(ebuf));
		else if (zv->state == BACKEND_NONE) {
			r = backend_start(zv, ebuf, sizeof(ebuf));
			if (r == 0)
				daemon_event_emit_zone(d, "VirtiodStarted", zone_id, NULL);
		} else {
			/* what gets it going again (docs/devices.md §3) */
			snprintf(ebuf, sizeof(ebuf), "zone %u's backend is %s%s", zone_id,
				 backend_state_name(zv->state),
				 zv->state == BACKEND_FAILED
					 ? " (hvisord gave up restarting it): remove the zone's "
					   "devices (hvctl virtio remove) and add them again, or "
					   "shut the zone down and start it again"
					 : ": try again in a moment");
			r = -EBUSY;
		}
		if (r < 0) {
			TAILQ_REMOVE(&zv->devices, dev, entry);
			zv->n_devices--;
			if (r == -EBUSY) {
				conn_errorf(c, VL_ERROR_BUSY, "cannot add the device: %s", ebuf);
			} else {
				/* the running backend refused it */
				hv_error_set(&err, "device", "cannot add the device: %s", ebuf);
				error_invalid(c, &err);
			}
			goto fail_w;
		}
	}
	if (dev->spec.type == HV_VIRTIO_CONSOLE)
		publish_console(d, zv, dev);
	log_info("zone %u: %s device at 0x%llx irq %u (%s) added by uid %u%s", zone_id,
		 hv_virtio_type_to_string(dev->spec.type), (unsigned long long)dev->spec.addr,
		 dev->spec.irq, dev->backing, (unsigned)conn_uid(c), running ? "" : " (pending)");
	{
		json_object *extra = json_object_new_object();

		json_object_object_add(extra, "addr", json_object_new_uint64(dev->spec.addr));
		json_object_object_add(
			extra, "type",
			json_object_new_string(hv_virtio_type_to_string(dev->spec.type)));
		daemon_event_emitx(d, "VirtioDeviceAdded", zone_id, NULL, extra);
	}
	p = json_object_new_object();
	json_object_object_add(p, "device", device_json(zv, dev, info));
	json_object_object_add(p, "warnings", warnings);
	json_object_put(info);
	return conn_reply(c, p);

fail_w:
	json_object_put(warnings);
	vdevice_free(d, dev);
	zvirt_put(zv);
	return 0;
fail:
	vdevice_free(d, dev);
	return 0;
}

static int get_zone_addr(struct conn *c, const struct vl_call *call, uint32_t *ret_zone,
			 uint64_t *ret_addr)
{
	json_object *zone, *addr;
	const struct vl_param spec[] = {
		{"zone_id", json_type_int, true, &zone},
		{"addr", json_type_int, true, &addr},
	};
	struct hv_error err;

	if (vl_params_parse(call->parameters, spec, ARRAY_SIZE(spec), &err) < 0) {
		error_invalid(c, &err);
		return -EINVAL;
	}
	if (json_object_get_int64(zone) > UINT32_MAX) {
		hv_error_set(&err, "zone_id", "must be < 2^32");
		error_invalid(c, &err);
		return -EINVAL;
	}
	*ret_zone = (uint32_t)json_object_get_int64(zone);
	*ret_addr = json_object_get_uint64(addr);
	return 0;
}

static int method_remove(struct conn *c, const struct vl_call *call, int *fds, size_t n_fds)
{
	struct daemon *d = conn_daemon(c);
	struct vdevice *dev = NULL;
	struct zvirt *zv;
	uint32_t zone_id;
	uint64_t addr;

	if (get_zone_addr(c, call, &zone_id, &addr) < 0)
		return 0;
	zv = zvirt_find(d, zone_id);
	if (zv)
		TAILQ_FOREACH (dev, &zv->devices, entry)
			if (dev->spec.addr == addr)
				break;
	if (!dev) {
		json_object *p = json_object_new_object();
		char msg[128];

		snprintf(msg, sizeof(msg), "zone %u has no virtio device at 0x%llx", zone_id,
			 (unsigned long long)addr);
		json_object_object_add(p, "zone_id", json_object_new_int64(zone_id));
		json_object_object_add(p, "addr", json_object_new_uint64(addr));
		json_object_object_add(p, "message", json_object_new_string(msg));
		return conn_error(c, vl_error_new(VL_ERROR_VIRTIO_NOT_FOUND, p));
	}
	TAILQ_REMOVE(&zv->devices, dev, entry);
	zv->n_devices--;
	if (zv->n_devices == 0) {
		/* nothing left to serve: the backend ends whatever its state,
		 * also one waiting for its restart or given up on */
		backend_stop(zv, false);
	} else if (zv->state == BACKEND_RUNNING && backend_remove_device(zv, addr) < 0) {
		/* a device added on its slot later starts fresh all the same */
		log_warn("zone %u: the backend did not remove 0x%llx", zone_id,
			 (unsigned long long)addr);
	}
	log_info("zone %u: %s device at 0x%llx removed by uid %u", zone_id,
		 hv_virtio_type_to_string(dev->spec.type), (unsigned long long)addr,
		 (unsigned)conn_uid(c));
	{
		json_object *extra = json_object_new_object();

		json_object_object_add(extra, "addr", json_object_new_uint64(addr));
		json_object_object_add(
			extra, "type",
			json_object_new_string(hv_virtio_type_to_string(dev->spec.type)));
		daemon_event_emitx(d, "VirtioDeviceRemoved", zone_id, NULL, extra);
	}
	vdevice_free(d, dev);
	zvirt_put(zv);
	return conn_reply(c, NULL);
}

static int method_list(struct conn *c, const struct vl_call *call, int *fds, size_t n_fds)
{
	struct daemon *d = conn_daemon(c);
	json_object *zone, *arr, *p;
	const struct vl_param spec[] = {{"zone_id", json_type_int, false, &zone}};
	struct hv_error err;
	struct zvirt *zv;

	if (vl_params_parse(call->parameters, spec, ARRAY_SIZE(spec), &err) < 0)
		return error_invalid(c, &err);
	arr = json_object_new_array();
	TAILQ_FOREACH (zv, &d->zvirts, entry) {
		json_object *stats = NULL;
		struct vdevice *dev;

		if (zone && (int64_t)zv->zone_id != json_object_get_int64(zone))
			continue;
		if (zv->state == BACKEND_RUNNING && backend_list(zv, &stats) < 0)
			log_warn("zone %u: no statistics from hvisor-virtiod", zv->zone_id);
		TAILQ_FOREACH (dev, &zv->devices, entry) {
			json_object *mine = NULL;

			for (size_t i = 0; stats && i < json_object_array_length(stats); i++) {
				json_object *s = json_object_array_get_idx(stats, i), *a;

				if (json_object_object_get_ex(s, "addr", &a) &&
				    json_object_get_uint64(a) == dev->spec.addr)
					mine = s;
			}
			json_object_array_add(arr, device_json(zv, dev, mine));
		}
		json_object_put(stats);
	}
	p = json_object_new_object();
	json_object_object_add(p, "devices", arr);
	return conn_reply(c, p);
}

const struct method virtio_methods[] = {
	{"org.hvisor.Virtio.Add", method_add, METHOD_MUTATING | METHOD_TAKES_FDS},
	{"org.hvisor.Virtio.Remove", method_remove, METHOD_MUTATING},
	{"org.hvisor.Virtio.List", method_list, 0},
	{NULL, NULL, 0},
};

int virtio_zone_starting(struct conn *c, struct daemon *d, const struct hv_zone_config *cfg)
{
	struct zvirt *zv = zvirt_find(d, cfg->zone_id);
	struct vdevice *dev;
	struct hv_error err;
	char ebuf[512];
	int r;

	if (!zv || zv->n_devices == 0)
		return 0;
	TAILQ_FOREACH (dev, &zv->devices, entry)
		if (hv_virtio_device_check_zone(&dev->spec, cfg, "device", &err) < 0) {
			char msg[400];

			snprintf(
				msg, sizeof(msg),
				"the %s device registered at 0x%llx does not fit this zone: %s (hvctl virtio remove %u 0x%llx)",
				hv_virtio_type_to_string(dev->spec.type),
				(unsigned long long)dev->spec.addr, err.message, cfg->zone_id,
				(unsigned long long)dev->spec.addr);
			hv_error_set(&err, "config", "%s", msg);
			conn_error_invalid(c, NULL, &err);
			return -EINVAL;
		}
	/* the config's RAM map wins over one given with the devices */
	ram_from_config(zv, cfg);
	/* a new zone run: no saved device state from a previous one */
	zv->state_fd = safe_close(zv->state_fd);
	zv->restarts = 0;
	r = backend_attach_early(zv, ebuf, sizeof(ebuf));
	if (r < 0) {
		conn_errorf(c, VL_ERROR_INTERNAL, "cannot start the virtio backend: %s", ebuf);
		return r;
	}
	return 0;
}

void virtio_zone_started(struct daemon *d, uint32_t zone_id)
{
	struct zvirt *zv = zvirt_find(d, zone_id);
	char ebuf[512];

	if (!zv || zv->n_devices == 0)
		return;
	if (backend_start(zv, ebuf, sizeof(ebuf)) < 0) {
		/* the channel is released: the guest finds no devices */
		log_err("zone %u: cannot start hvisor-virtiod: %s", zone_id, ebuf);
		zv->state = BACKEND_FAILED;
		snprintf(zv->last_exit, sizeof(zv->last_exit), "start failed");
		daemon_event_emit_zone(d, "VirtiodFailed", zone_id, ebuf);
		return;
	}
	daemon_event_emit_zone(d, "VirtiodStarted", zone_id, NULL);
}

void virtio_zone_stopped(struct daemon *d, uint32_t zone_id)
{
	struct zvirt *zv = zvirt_find(d, zone_id);

	if (!zv)
		return;
	backend_stop(zv, true);
	zvirt_put(zv);
}

json_object *virtio_zone_info(struct daemon *d, uint32_t zone_id)
{
	struct zvirt *zv = zvirt_find(d, zone_id);
	json_object *o;

	if (!zv)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "devices", json_object_new_int((int)zv->n_devices));
	json_object_object_add(o, "backend", json_object_new_string(backend_state_name(zv->state)));
	if (zv->pid > 0)
		json_object_object_add(o, "pid", json_object_new_int((int)zv->pid));
	json_object_object_add(o, "restarts", json_object_new_int((int)zv->restarts));
	if (zv->last_exit[0])
		json_object_object_add(o, "last_exit", json_object_new_string(zv->last_exit));
	return o;
}

json_object *virtio_set_log_level(struct daemon *d, const char *level)
{
	json_object *a = json_object_new_array();
	struct zvirt *zv;

	/* the others get hvisord's level when they start */
	TAILQ_FOREACH (zv, &d->zvirts, entry) {
		json_object *o;
		char prev[32];

		if (zv->state != BACKEND_RUNNING ||
		    backend_set_log_level(zv, level, prev, sizeof(prev)) < 0)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "zone_id", json_object_new_int64(zv->zone_id));
		json_object_object_add(o, "previous", json_object_new_string(prev));
		json_object_array_add(a, o);
	}
	return a;
}

static void sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	backend_sigchld(arg);
}

int virtio_init(struct daemon *d)
{
	TAILQ_INIT(&d->zvirts);
	d->ev_sigchld = evsignal_new(d->base, SIGCHLD, sigchld_cb, d);
	if (!d->ev_sigchld || evsignal_add(d->ev_sigchld, NULL) < 0)
		return -ENOMEM;
	return 0;
}

void virtio_done(struct daemon *d)
{
	struct zvirt *zv;

	while ((zv = TAILQ_FIRST(&d->zvirts))) {
		struct vdevice *dev;

		backend_stop(zv, true);
		while ((dev = TAILQ_FIRST(&zv->devices))) {
			TAILQ_REMOVE(&zv->devices, dev, entry);
			vdevice_free(d, dev);
		}
		zv->n_devices = 0;
		zvirt_put(zv);
	}
	if (d->ev_sigchld)
		event_free(d->ev_sigchld);
	d->ev_sigchld = NULL;
}
