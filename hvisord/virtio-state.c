// SPDX-License-Identifier: GPL-2.0-only
/*
 * What of the data plane outlives hvisord: every device's descriptors and
 * each zone's transport state memfd are handed to the descriptor keeper
 * (fdstore.c) under a name, and the registry is described in the state
 * file (state.c). A restarted hvisord takes both back, checks each device
 * and each descriptor as it would a client's, and finds the backends again
 * (backend_adopt) - or starts them again where they died meanwhile.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json-util.h"
#include "log.h"
#include "util.h"
#include "virtio.h"

static void name_state(char *buf, size_t size, uint32_t zone_id)
{
	snprintf(buf, size, "zone%u/state", zone_id);
}

static void name_dev(char *buf, size_t size, const struct vdevice *dev, bool slave)
{
	snprintf(buf, size, "zone%u/dev/%llx%s", dev->spec.zone_id,
		 (unsigned long long)dev->spec.addr, slave ? "/slave" : "");
}

void virtio_keep_state(struct zvirt *zv)
{
	char name[64];

	name_state(name, sizeof(name), zv->zone_id);
	if (zv->state_fd >= 0)
		fdstore_put(zv->d, name, zv->state_fd);
}

void virtio_forget_state(struct zvirt *zv)
{
	char name[64];

	if (zv->state_fd < 0)
		return;
	zv->state_fd = safe_close(zv->state_fd);
	name_state(name, sizeof(name), zv->zone_id);
	fdstore_drop(zv->d, name);
}

void virtio_keep_device(struct daemon *d, const struct vdevice *dev, bool keep)
{
	char name[64];

	name_dev(name, sizeof(name), dev, false);
	if (keep && dev->fd >= 0)
		fdstore_put(d, name, dev->fd);
	else if (!keep)
		fdstore_drop(d, name);
	if (dev->spec.type != HV_VIRTIO_CONSOLE)
		return;
	name_dev(name, sizeof(name), dev, true);
	if (keep && dev->pty_slave >= 0)
		fdstore_put(d, name, dev->pty_slave);
	else if (!keep)
		fdstore_drop(d, name);
}

void virtio_fdstore_refill(struct daemon *d)
{
	struct zvirt *zv;

	TAILQ_FOREACH (zv, &d->zvirts, entry) {
		struct vdevice *dev;

		virtio_keep_state(zv);
		TAILQ_FOREACH (dev, &zv->devices, entry)
			virtio_keep_device(d, dev, true);
	}
}

void virtio_save(struct daemon *d)
{
	state_save(d);
}

/* ---- the state file ---------------------------------------------------------------------- */

static json_object *device_state(const struct vdevice *dev)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "spec", hv_virtio_device_to_json(&dev->spec));
	json_object_object_add(o, "slot", json_object_new_int((int)dev->slot));
	json_object_object_add(o, "served", json_object_new_boolean(dev->served));
	json_object_object_add(o, "backing", json_object_new_string(dev->backing));
	if (dev->pty[0])
		json_object_object_add(o, "pty", json_object_new_string(dev->pty));
	if (dev->link[0])
		json_object_object_add(o, "link", json_object_new_string(dev->link));
	return o;
}

static json_object *backend_state(const struct zvirt *zv)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "state", json_object_new_string(backend_state_name(zv->state)));
	json_object_object_add(o, "pid", json_object_new_int((int)zv->pid));
	json_object_object_add(o, "restarts", json_object_new_int((int)zv->restarts));
	json_object_object_add(o, "last_exit", json_object_new_string(zv->last_exit));
	return o;
}

json_object *virtio_state_json(struct daemon *d)
{
	json_object *a = json_object_new_array();
	const struct zvirt *zv;

	TAILQ_FOREACH (zv, &d->zvirts, entry) {
		json_object *o = json_object_new_object(), *devs = json_object_new_array();
		const struct vdevice *dev;

		json_object_object_add(o, "zone_id", json_object_new_int64(zv->zone_id));
		if (zv->ram_known)
			json_object_object_add(o, "ram",
					       hv_virtiod_ram_to_json(zv->ram, zv->n_ram));
		json_object_object_add(o, "backend", backend_state(zv));
		TAILQ_FOREACH (dev, &zv->devices, entry)
			if (!dev->adding)
				json_object_array_add(devs, device_state(dev));
		json_object_object_add(o, "devices", devs);
		json_object_array_add(a, o);
	}
	return a;
}

/* ---- restoring ----------------------------------------------------------------------------- */

static void kept_add(void *arg, const char *name, int fd)
{
	(void)named_fds_put(arg, name, fd);
}

/* Why a kept descriptor cannot back dev, or NULL. */
static const char *descriptor_problem(const struct vdevice *dev, char *buf, size_t size)
{
	struct stat st;
	char pts[64];

	switch (dev->spec.type) {
	case HV_VIRTIO_BLK:
		return passed_file_problem(dev->fd, !dev->spec.readonly, &st);
	case HV_VIRTIO_NET:
		return backing_tap_problem(&dev->spec, dev->fd, buf, size);
	case HV_VIRTIO_CONSOLE:
		if (dev->pty_slave < 0 || ptsname_r(dev->fd, pts, sizeof(pts)) != 0 ||
		    strcmp(pts, dev->pty) != 0)
			return "not the pty it was";
		return NULL;
	}
	return "an unknown type";
}

/* One device of the state file, with its kept descriptors: 0, or it is
 * left out (logged). */
static int restore_device(struct daemon *d, struct zvirt *zv, json_object *o, const char *path,
			  struct named_fds *k)
{
	struct vdevice *dev = calloc(1, sizeof(*dev));
	const char *backing = "", *pty = "", *link = "", *why = NULL;
	json_object *spec = NULL;
	struct hv_error err;
	uint64_t slot = 0;
	char name[64], buf[160];
	bool served = false;

	if (!dev)
		return -ENOMEM;
	dev->fd = dev->pty_slave = -1;
	if (hv_json_lookup(o, "spec", path, true, &spec, &err) < 0 ||
	    hv_json_get_u64(o, "slot", path, HV_VIRTIO_MAX_DEVICES - 1, true, &slot, &err) < 0 ||
	    hv_json_get_bool(o, "served", path, &served, &err) < 0 ||
	    hv_json_get_string(o, "backing", path, PATH_MAX - 1, false, &backing, &err) < 0 ||
	    hv_json_get_string(o, "pty", path, sizeof(dev->pty) - 1, false, &pty, &err) < 0 ||
	    hv_json_get_string(o, "link", path, PATH_MAX - 1, false, &link, &err) < 0 ||
	    hv_virtio_device_from_json(spec, &dev->spec, &err) < 0)
		why = err.message;
	dev->spec.zone_id = zv->zone_id;
	dev->spec.has_zone_id = true;
	dev->slot = (unsigned)slot;
	dev->served = served;
	snprintf(dev->backing, sizeof(dev->backing), "%s", backing);
	snprintf(dev->pty, sizeof(dev->pty), "%s", pty);
	snprintf(dev->link, sizeof(dev->link), "%s", link);
	if (!why && (virtio_check_overlap(zv, &dev->spec, &err) < 0 ||
		     zv->n_devices >= HV_VIRTIO_MAX_DEVICES))
		why = "it overlaps another device of the zone, or the zone has too many";
	name_dev(name, sizeof(name), dev, false);
	dev->fd = named_fds_take(k, name);
	name_dev(name, sizeof(name), dev, true);
	dev->pty_slave = named_fds_take(k, name);
	if (!why && dev->fd < 0)
		why = "the descriptor keeper has no descriptor for it";
	if (!why)
		why = descriptor_problem(dev, buf, sizeof(buf));
	if (why) {
		log_warn("state file: %s: %s; device left out", path, why);
		/* the keeper lets its descriptors go too */
		virtio_keep_device(d, dev, false);
		dev->link[0] = '\0';
		vdevice_free(d, dev, false);
		return -EINVAL;
	}
	TAILQ_INSERT_TAIL(&zv->devices, dev, entry);
	zv->n_devices++;
	return 0;
}

static void adopted(struct zvirt *zv, json_object *reply, const char *error, void *arg)
{
	struct daemon *d = zv->d;

	if (error) {
		zv->state = BACKEND_FAILED;
		snprintf(zv->last_exit, sizeof(zv->last_exit), "not found again");
		daemon_event(d, "VirtiodFailed", zv->zone_id, error, NULL);
	}
	virtio_save(d);
	if (--d->adopting == 0)
		daemon_ready(d);
}

/* The backend of a zone that runs: found again, or started again. */
static void restore_backend(struct zvirt *zv, json_object *b)
{
	const char *state = "", *last = "";
	uint64_t pid = 0, restarts = 0;
	int running = zone_is_running(zv->d, zv->zone_id);
	struct hv_error err;

	(void)hv_json_get_string(b, "state", "backend", 32, false, &state, &err);
	(void)hv_json_get_u64(b, "pid", "backend", INT32_MAX, false, &pid, &err);
	(void)hv_json_get_u64(b, "restarts", "backend", UINT32_MAX, false, &restarts, &err);
	(void)hv_json_get_string(b, "last_exit", "backend", 60, false, &last, &err);
	zv->restarts = (unsigned)restarts;
	snprintf(zv->last_exit, sizeof(zv->last_exit), "%s", last);
	if (running <= 0 || zv->n_devices == 0) {
		/* its run is over: the devices wait for the next one */
		virtio_forget_state(zv);
		return;
	}
	if (strcmp(state, "failed") == 0) {
		zv->state = BACKEND_FAILED;
		return;
	}
	zv->d->adopting++;
	backend_adopt(zv, (pid_t)pid, adopted, NULL);
}

/* One zone's devices and backend. */
static void restore_zvirt(struct daemon *d, json_object *o, size_t i, struct named_fds *k)
{
	json_object *devices = NULL, *ram = NULL, *b = NULL;
	const struct hv_zone_config *cfg;
	char path[48], dpath[80], name[64];
	uint64_t zone_id = 0;
	struct hv_error err;
	struct zvirt *zv;

	hv_json_path_index(path, sizeof(path), "virtio", i);
	if (hv_json_get_u64(o, "zone_id", path, UINT32_MAX, true, &zone_id, &err) < 0 ||
	    zone_id == 0 || zvirt_find(d, (uint32_t)zone_id) ||
	    hv_json_get_array(o, "devices", path, HV_VIRTIO_MAX_DEVICES, true, &devices, &err) <
		    0 ||
	    hv_json_lookup(o, "backend", path, true, &b, &err) < 0 ||
	    hv_json_lookup(o, "ram", path, false, &ram, &err) < 0) {
		log_warn("state file: %s: %s; left out", path,
			 zone_id ? err.message : "no zone, or zone 0");
		return;
	}
	zv = zvirt_get(d, (uint32_t)zone_id);
	if (!zv)
		return;
	cfg = zone_config_of(d, zv->zone_id);
	if (cfg)
		virtio_ram_from_config(zv, cfg);
	else if (ram && hv_virtiod_ram_from_json(ram, zv->ram, &zv->n_ram, &err) == 0)
		zv->ram_known = true;
	name_state(name, sizeof(name), zv->zone_id);
	zv->state_fd = named_fds_take(k, name);
	for (size_t j = 0; j < json_object_array_length(devices); j++) {
		hv_json_path_index(dpath, sizeof(dpath), path, j);
		restore_device(d, zv, json_object_array_get_idx(devices, j), dpath, k);
	}
	restore_backend(zv, b);
	zvirt_release(zv);
}

void virtio_state_restore(struct daemon *d, json_object *virtio)
{
	struct named_fds k = {0};
	int n = fdstore_list(d, kept_add, &k);

	if (n > 0)
		log_info("the descriptor keeper kept %d descriptors", n);
	for (size_t i = 0; virtio && i < json_object_array_length(virtio); i++) {
		json_object *o = json_object_array_get_idx(virtio, i);

		if (json_object_is_type(o, json_type_object))
			restore_zvirt(d, o, i, &k);
	}
	/* what nobody claims: the keeper lets it go too */
	for (size_t i = 0; i < k.n; i++)
		if (k.e[i].fd >= 0) {
			log_notice(
				"the descriptor keeper held %s, which no device claims; released",
				k.e[i].name);
			close(k.e[i].fd);
			fdstore_drop(d, k.e[i].name);
		}
	free(k.e);
}
