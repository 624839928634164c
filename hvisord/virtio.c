// SPDX-License-Identifier: GPL-2.0-only
/*
 * org.hvisor.Virtio: the virtio devices of zones. A device is registered
 * with hvisord (Add) for a zone that runs or will run; hvisord holds its
 * backing resource (backing.c: the image or tap the client opened and
 * passed, or a pty it made) and runs one hvisor-virtiod per running zone
 * with devices (backend.c). What it holds is also kept by the descriptor
 * keeper and described in the state file (virtio-state.c), so that a
 * restarted hvisord finds every device and backend again.
 *
 * Checks, before anything is opened or started: the device is well formed
 * (proto/virtio-config.c), does not overlap another device of the zone,
 * and - for a zone hvisord started - lies inside one of the zone's virtio
 * regions with an IRQ the zone owns. Devices for a zone that is not
 * running yet are checked against its config when it starts. Calls that
 * need the backend end when it answers; one that does not answer fails
 * them, not hvisord.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv.h"
#include "log.h"
#include "util.h"
#include "virtio.h"

struct zvirt *zvirt_find(struct daemon *d, uint32_t zone_id)
{
	struct zvirt *zv;

	TAILQ_FOREACH (zv, &d->zvirts, entry)
		if (zv->zone_id == zone_id)
			return zv;
	return NULL;
}

struct zvirt *zvirt_get(struct daemon *d, uint32_t zone_id)
{
	struct zvirt *zv = zvirt_find(d, zone_id);

	if (zv)
		return zv;
	zv = calloc(1, sizeof(*zv));
	if (!zv)
		return NULL;
	zv->d = d;
	zv->zone_id = zone_id;
	TAILQ_INIT(&zv->devices);
	if (backend_init(zv) < 0) {
		backend_release(zv);
		free(zv);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&d->zvirts, zv, entry);
	return zv;
}

static void zvirt_free(struct zvirt *zv)
{
	TAILQ_REMOVE(&zv->d->zvirts, zv, entry);
	backend_release(zv);
	free(zv);
}

void zvirt_release(struct zvirt *zv)
{
	/* a zone without devices needs no bookkeeping */
	if (zv->n_devices || zv->state != BACKEND_NONE || zv->pid > 0 || backend_calls_busy(zv))
		return;
	virtio_forget_state(zv);
	zvirt_free(zv);
}

/* A device ends: its console link and (unless hvisord only exits) what
 * the keeper held for it. */
void vdevice_free(struct daemon *d, struct vdevice *dev, bool for_good)
{
	if (for_good) {
		backing_unpublish_console(d, dev);
		virtio_keep_device(d, dev, false);
		backing_unlock(dev, dev->fd);
	}
	safe_close(dev->fd);
	safe_close(dev->pty_slave);
	hv_virtio_device_clear(&dev->spec);
	free(dev);
}

/* The RAM of a zone hvisord started, from its config. */
void virtio_ram_from_config(struct zvirt *zv, const struct hv_zone_config *cfg)
{
	zv->n_ram = 0;
	for (uint32_t i = 0; i < cfg->n_regions && zv->n_ram < HV_VIRTIOD_MAX_RAM; i++)
		if (cfg->regions[i].type == HV_MEM_TYPE_RAM)
			zv->ram[zv->n_ram++] = (struct hv_virtiod_ram){
				.gpa = cfg->regions[i].virtual_start,
				.size = cfg->regions[i].size,
				.offset = cfg->regions[i].physical_start,
			};
	zv->ram_known = zv->n_ram > 0;
}

int virtio_check_overlap(const struct zvirt *zv, const struct hv_virtio_device *dev,
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
	if (zv->state == BACKEND_RUNNING) {
		char why[200];

		json_object_object_add(
			o, "answering",
			json_object_new_boolean(backend_answering(zv, why, sizeof(why))));
	}
	/* counters and device facts from the backend (not what we know) */
	if (stats) {
		static const char *const ours[] = {"addr", "len", "irq", "type", "slot"};

		json_object_object_foreach (stats, k, v) {
			bool known = false;

			for (size_t i = 0; i < ARRAY_SIZE(ours) && !known; i++)
				known = strcmp(k, ours[i]) == 0;
			if (!known)
				json_object_object_add(o, k, json_object_get(v));
		}
	}
	return o;
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
	return conn_fail(
		c, vl_error_limit_new(
			   "pending_devices",
			   "%u devices already wait for their zones to start, the limit (hvisord "
			   "--max-pending-devices): start those zones or remove some devices",
			   n));
}

/* ---- Add ---------------------------------------------------------------------------------- */

struct many;

struct add {
	struct conn *c;
	struct vdevice *dev;
	uint32_t zone_id;
	bool running;
	bool starts_backend; /* the zone's backend is started for it */
	json_object *warnings;
	struct many *many; /* AddMany: the call it is part of, its index there */
	unsigned index;
	json_object *info; /* AddMany: what the backend said of it */
};

static void add_free(struct add *a)
{
	json_object_put(a->warnings);
	json_object_put(a->info);
	free(a);
}

/* The call's zone and device; a->dev is made. */
static int add_parse(struct conn *c, const struct vl_call *call, struct add *a,
		     json_object **ret_memory, json_object **ret_files)
{
	json_object *zone, *device;
	const struct vl_param spec[] = {
		{"zone_id", json_type_int, true, &zone},
		{"device", json_type_object, true, &device},
		{"memory", json_type_array, false, ret_memory},
		{"files", json_type_object, false, ret_files},
	};
	struct hv_error err;

	int r;

	if (vl_params_parse(call->parameters, spec, ARRAY_SIZE(spec), &err) < 0)
		return conn_fail_invalid(c, NULL, &err);
	r = conn_zone_id(c, zone, false, &a->zone_id);
	if (r < 0)
		return r;
	a->dev = calloc(1, sizeof(*a->dev));
	if (!a->dev)
		return -ENOMEM;
	a->dev->fd = a->dev->pty_slave = -1;
	if (hv_virtio_device_from_json(device, &a->dev->spec, &err) < 0)
		return conn_fail_invalid(c, "device", &err);
	a->dev->spec.zone_id = a->zone_id;
	a->dev->spec.has_zone_id = true;
	return 0;
}

/* upstream virtio_cfg.json's memory_region: where the zone's RAM is */
static int add_memory(struct conn *c, struct zvirt *zv, json_object *memory)
{
	unsigned n = (unsigned)MIN(json_object_array_length(memory), (size_t)HV_VIRTIOD_MAX_RAM);
	struct hv_error err;

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
			return conn_fail_invalid(c, NULL, &err);
		}
		zv->ram[i] = (struct hv_virtiod_ram){.offset = json_object_get_uint64(a),
						     .gpa = json_object_get_uint64(b),
						     .size = json_object_get_uint64(s)};
	}
	zv->n_ram = n;
	zv->ram_known = n > 0;
	return 0;
}

/* Where the device may go in the zone, and which RAM map serves it. */
static int add_check(struct conn *c, struct zvirt *zv, struct add *a, json_object *memory)
{
	struct daemon *d = conn_daemon(c);
	const struct hv_zone_config *cfg;
	struct hv_error err;
	int slot, running, r;

	if (virtio_check_overlap(zv, &a->dev->spec, &err) < 0)
		return conn_fail_invalid(c, NULL, &err);
	if (zv->n_devices >= HV_VIRTIO_MAX_DEVICES || (slot = free_slot(zv)) < 0)
		return conn_fail(c, vl_error_limit_new("devices", "zone %u has %d devices already",
						       a->zone_id, HV_VIRTIO_MAX_DEVICES));
	a->dev->slot = (unsigned)slot;
	running = zone_is_running(d, a->zone_id);
	if (running < 0)
		return conn_fail_kernel(c, "ZONE_LIST", running);
	a->running = running;
	if (!running && (r = check_pending_limit(c, d)) < 0)
		return r;
	cfg = zone_config_of(d, a->zone_id);
	if (cfg) {
		if (hv_virtio_device_check_zone(&a->dev->spec, cfg, "device", &err) < 0)
			return conn_fail_invalid(c, NULL, &err);
		if (!zv->ram_known)
			virtio_ram_from_config(zv, cfg);
	} else if (memory && (r = add_memory(c, zv, memory)) < 0)
		return r;
	if (running && !cfg) {
		if (!zv->ram_known) {
			hv_error_set(&err, "memory",
				     "zone %u was not started through hvisord: pass its memory map "
				     "(virtio_cfg.json's memory_region)",
				     a->zone_id);
			return conn_fail_invalid(c, NULL, &err);
		}
		json_object_array_add(a->warnings,
				      json_object_new_string("the zone was not started through "
							     "hvisord: its virtio regions and "
							     "interrupts are not checked"));
	}
	return 0;
}

static void emit_device_event(struct daemon *d, const char *name, const struct vdevice *dev)
{
	json_object *extra = json_object_new_object();

	json_object_object_add(extra, "addr", json_object_new_uint64(dev->spec.addr));
	json_object_object_add(extra, "type",
			       json_object_new_string(hv_virtio_type_to_string(dev->spec.type)));
	daemon_event(d, name, dev->spec.zone_id, NULL, extra);
}

/* The device is in: published, announced. */
static void add_announce(struct add *a, struct zvirt *zv)
{
	struct daemon *d = conn_daemon(a->c);
	struct vdevice *dev = a->dev;

	dev->adding = false;
	if (dev->spec.type == HV_VIRTIO_CONSOLE)
		backing_publish_console(d, zv, dev);
	log_info("zone %u: %s device at 0x%llx irq %u (%s) added by uid %u%s", a->zone_id,
		 hv_virtio_type_to_string(dev->spec.type), (unsigned long long)dev->spec.addr,
		 dev->spec.irq, dev->backing, (unsigned)conn_uid(a->c),
		 a->running ? "" : " (pending)");
	emit_device_event(d, "VirtioDeviceAdded", dev);
}

/* ... and answered. */
static int add_done_reply(struct add *a, struct zvirt *zv, json_object *info)
{
	json_object *p = json_object_new_object();

	add_announce(a, zv);
	virtio_save(conn_daemon(a->c));
	json_object_object_add(p, "device", device_json(zv, a->dev, info));
	json_object_object_add(p, "warnings", json_object_get(a->warnings));
	return conn_reply(a->c, p);
}

/* The backend took it (or did not): the call ends here. */
static void add_served(struct zvirt *zv, json_object *reply, const char *error, void *arg)
{
	struct add *a = arg;
	struct conn *c = a->c;
	json_object *info = NULL;
	struct hv_error err;
	int r;

	if (error) {
		TAILQ_REMOVE(&zv->devices, a->dev, entry);
		zv->n_devices--;
		vdevice_free(zv->d, a->dev, true);
		/* the running backend refused it, or it could not be started */
		hv_error_set(&err, "device", "cannot add the device: %s", error);
		r = conn_fail_invalid(c, NULL, &err);
	} else {
		if (a->starts_backend)
			daemon_event(zv->d, "VirtiodStarted", zv->zone_id, NULL, NULL);
		if (reply)
			json_object_object_get_ex(reply, "info", &info);
		r = add_done_reply(a, zv, info);
	}
	add_free(a);
	conn_async_done(c, r);
	zvirt_release(zv);
}

/* Can a running zone's backend take the device now? */
static int add_ready(struct conn *c, struct zvirt *zv, const struct add *a)
{
	char why[512];

	if (a->running && zv->state != BACKEND_RUNNING && zv->state != BACKEND_NONE &&
	    zv->state != BACKEND_STARTING) {
		/* what gets it going again (docs/devices.md §3) */
		snprintf(
			why, sizeof(why), "zone %u's backend is %s%s", a->zone_id,
			backend_state_name(zv->state),
			zv->state == BACKEND_FAILED
				? " (hvisord gave up restarting it): remove the zone's devices "
				  "(hvctl virtio remove) and add them again, or shut the zone down "
				  "and start it again"
				: ": try again in a moment");
		return conn_failf(c, VL_ERROR_BUSY, "cannot add the device: %s", why);
	}
	if (a->running && zv->state == BACKEND_RUNNING && !backend_answering(zv, why, sizeof(why)))
		return conn_failf(c, VL_ERROR_BUSY, "cannot add the device: %s", why);
	return 0;
}

/* Registered: a running zone gets it served before the reply. */
static int add_commit(struct conn *c, struct zvirt *zv, struct add *a)
{
	int r = add_ready(c, zv, a);

	if (r < 0)
		return r;
	TAILQ_INSERT_TAIL(&zv->devices, a->dev, entry);
	zv->n_devices++;
	virtio_keep_device(conn_daemon(c), a->dev, true);
	if (!a->running)
		return add_done_reply(a, zv, NULL);
	a->dev->adding = true;
	conn_async_begin(c);
	a->starts_backend = zv->state == BACKEND_NONE;
	if (a->starts_backend)
		/* the new device is in the list: the start adds it */
		backend_start(zv, add_served, a);
	else
		backend_add_device(zv, a->dev, add_served, a);
	return 1;
}

static int method_add(struct conn *c, const struct vl_call *call, int *fds, size_t n_fds)
{
	struct daemon *d = conn_daemon(c);
	json_object *memory = NULL, *files = NULL;
	struct add *a = calloc(1, sizeof(*a));
	struct zvirt *zv = NULL;
	int r;

	if (!a)
		return -ENOMEM;
	a->c = c;
	a->warnings = json_object_new_array();
	r = add_parse(c, call, a, &memory, &files);
	if (r == 0) {
		zv = zvirt_get(d, a->zone_id);
		r = zv ? add_check(c, zv, a, memory) : -ENOMEM;
	}
	if (r == 0)
		r = backing_take(c, a->dev, files, fds, n_fds, a->warnings);
	if (r == 0)
		r = add_commit(c, zv, a);
	if (r > 0)
		return 0; /* asynchronous: a is the backend's now */
	if (r < 0 && a->dev)
		vdevice_free(d, a->dev, false);
	add_free(a);
	if (zv)
		zvirt_release(zv);
	return r;
}

/* ---- AddMany ------------------------------------------------------------------------------ */

/* Several devices in one call, all or none (hvctl virtio start). Each is
 * checked and its backing taken as by Add, and listed (adding) so that the
 * next is checked against it too; a refusal takes them all back before any
 * is announced. Then the running zones' backends get them; if one refuses,
 * none stays. */
struct many {
	struct conn *c;
	unsigned n, pending;
	int refused; /* the device a backend refused, or -1 */
	char error[256];
	struct add *adds[];
};

/* The error recorded about device i becomes a DeviceRefused naming it. */
static int many_refused(struct conn *c, size_t i, int r)
{
	json_object *e = conn_failure_take(c), *p = json_object_new_object(), *params = NULL, *v;
	const char *name = VL_ERROR_INTERNAL, *msg = strerror(-r);
	char buf[700];

	if (e && json_object_object_get_ex(e, "error", &v))
		name = json_object_get_string(v);
	if (e && json_object_object_get_ex(e, "parameters", &params) &&
	    json_object_object_get_ex(params, "message", &v))
		msg = json_object_get_string(v);
	snprintf(buf, sizeof(buf), "devices[%zu]: %s", i, msg);
	json_object_object_add(p, "index", json_object_new_int64((int64_t)i));
	json_object_object_add(p, "error", json_object_new_string(name));
	json_object_object_add(p, "parameters",
			       params ? json_object_get(params) : json_object_new_object());
	json_object_object_add(p, "message", json_object_new_string(buf));
	json_object_put(e);
	conn_fail(c, vl_error_new(VL_ERROR_VIRTIO_DEVICE_REFUSED, p));
	return r;
}

/* One device of the call: parsed, checked, its backing taken, listed. */
static int many_take(struct conn *c, struct many *m, json_object *item, int *fds, size_t n_fds)
{
	const struct vl_call sub = {.method = "", .parameters = item};
	json_object *memory = NULL, *files = NULL;
	struct add *a = calloc(1, sizeof(*a));
	struct hv_error err;
	struct zvirt *zv;
	int r;

	if (!a)
		return -ENOMEM;
	*a = (struct add){.c = c, .many = m, .index = m->n, .warnings = json_object_new_array()};
	m->adds[m->n++] = a;
	if (!json_object_is_type(item, json_type_object)) {
		hv_error_set(&err, "", "expected an object (the parameters of an Add)");
		return conn_fail_invalid(c, NULL, &err);
	}
	r = add_parse(c, &sub, a, &memory, &files);
	if (r < 0)
		return r;
	zv = zvirt_get(conn_daemon(c), a->zone_id);
	if (!zv)
		return -ENOMEM;
	r = add_check(c, zv, a, memory);
	if (r == 0)
		r = backing_take(c, a->dev, files, fds, n_fds, a->warnings);
	if (r == 0)
		r = add_ready(c, zv, a);
	if (r < 0)
		return r;
	TAILQ_INSERT_TAIL(&zv->devices, a->dev, entry);
	zv->n_devices++;
	a->dev->adding = true;
	return 0;
}

static void many_undone(struct zvirt *zv, json_object *reply, const char *error, void *arg)
{
	zvirt_release(zv);
}

/* Every device of m goes again, unannounced; kept: committed, so what the
 * keeper holds goes too and a backend that took one is told. */
static void many_undo(struct many *m, bool kept)
{
	struct daemon *d = conn_daemon(m->c);

	for (unsigned i = 0; i < m->n; i++) {
		struct add *a = m->adds[i];
		struct zvirt *zv = a->dev && a->dev->adding ? zvirt_find(d, a->zone_id) : NULL;

		if (!a->dev)
			continue;
		if (zv) {
			TAILQ_REMOVE(&zv->devices, a->dev, entry);
			zv->n_devices--;
		}
		if (zv && kept && zv->n_devices == 0 && zv->state != BACKEND_NONE) {
			backend_stop(zv, false, many_undone, NULL);
		} else if (zv && kept && zv->state == BACKEND_RUNNING && (int)i != m->refused) {
			json_object *p = json_object_new_object();

			json_object_object_add(p, "addr",
					       json_object_new_uint64(a->dev->spec.addr));
			backend_call(zv, HV_VIRTIOD_REMOVE_DEVICE, p, NULL, 0, many_undone, NULL);
		}
		vdevice_free(d, a->dev, kept && zv);
		a->dev = NULL;
	}
	for (unsigned i = 0; i < m->n; i++) {
		struct zvirt *zv = zvirt_find(d, m->adds[i]->zone_id);

		if (zv)
			zvirt_release(zv);
	}
}

static void many_free(struct many *m)
{
	for (unsigned i = 0; i < m->n; i++)
		add_free(m->adds[i]);
	free(m);
}

/* All in: announced and answered. */
static int many_reply(struct many *m)
{
	struct daemon *d = conn_daemon(m->c);
	json_object *devs = json_object_new_array(), *warnings = json_object_new_array();
	json_object *p = json_object_new_object();

	for (unsigned i = 0; i < m->n; i++) {
		struct add *a = m->adds[i];
		struct zvirt *zv = zvirt_find(d, a->zone_id);

		if (a->starts_backend)
			daemon_event(d, "VirtiodStarted", a->zone_id, NULL, NULL);
		add_announce(a, zv);
		json_object_array_add(devs, device_json(zv, a->dev, a->info));
		for (size_t k = 0; k < json_object_array_length(a->warnings); k++)
			json_object_array_add(warnings, json_object_get(json_object_array_get_idx(
								a->warnings, k)));
	}
	virtio_save(d);
	json_object_object_add(p, "devices", devs);
	json_object_object_add(p, "warnings", warnings);
	return conn_reply(m->c, p);
}

/* What hvctl virtio start does when a backend refuses: the call fails as
 * Add would, naming the device. */
static int many_backend_refused(struct many *m)
{
	struct hv_error err;

	many_undo(m, true);
	hv_error_set(&err, "device", "cannot add the device: %s", m->error);
	return many_refused(m->c, (size_t)m->refused, conn_fail_invalid(m->c, NULL, &err));
}

/* A backend took a device (or did not); the last answer ends the call. */
static void many_served(struct zvirt *zv, json_object *reply, const char *error, void *arg)
{
	struct add *a = arg;
	struct many *m = a->many;
	struct conn *c = m->c;
	json_object *info;
	int r;

	if (error && m->refused < 0) {
		m->refused = (int)a->index;
		snprintf(m->error, sizeof(m->error), "%s", error);
	}
	if (!error && reply && json_object_object_get_ex(reply, "info", &info))
		a->info = json_object_get(info);
	if (--m->pending > 0)
		return;
	r = m->refused < 0 ? many_reply(m) : many_backend_refused(m);
	many_free(m);
	conn_async_done(c, r);
}

/* Registered; the running zones' backends get theirs (a backend started for
 * the call adds every device of its zone). */
static int many_commit(struct conn *c, struct many *m)
{
	struct daemon *d = conn_daemon(c);
	int r;

	for (unsigned i = 0; i < m->n; i++) {
		struct add *a = m->adds[i];
		struct zvirt *zv = zvirt_find(d, a->zone_id);
		bool started = false;

		virtio_keep_device(d, a->dev, true);
		for (unsigned k = 0; k < i; k++)
			started |= m->adds[k]->starts_backend && m->adds[k]->zone_id == a->zone_id;
		if (!a->running || started)
			continue;
		m->pending++;
		a->starts_backend = zv->state == BACKEND_NONE;
		if (a->starts_backend)
			backend_start(zv, many_served, a);
		else
			backend_add_device(zv, a->dev, many_served, a);
	}
	if (m->pending) {
		conn_async_begin(c);
		return 0;
	}
	r = many_reply(m);
	many_free(m);
	return r;
}

static int method_add_many(struct conn *c, const struct vl_call *call, int *fds, size_t n_fds)
{
	json_object *list;
	const struct vl_param spec[] = {{"devices", json_type_array, true, &list}};
	struct hv_error err;
	struct many *m;
	size_t n;
	int r = 0;

	if (vl_params_parse(call->parameters, spec, ARRAY_SIZE(spec), &err) < 0)
		return conn_fail_invalid(c, NULL, &err);
	n = json_object_array_length(list);
	if (n > HV_VIRTIO_ADD_MANY_MAX) {
		hv_error_set(&err, "devices", "%zu devices, at most %u in one call", n,
			     HV_VIRTIO_ADD_MANY_MAX);
		return conn_fail_invalid(c, NULL, &err);
	}
	m = calloc(1, sizeof(*m) + n * sizeof(m->adds[0]));
	if (!m)
		return -ENOMEM;
	*m = (struct many){.c = c, .refused = -1};
	for (size_t i = 0; i < n && r == 0; i++) {
		r = many_take(c, m, json_object_array_get_idx(list, i), fds, n_fds);
		if (r < 0)
			many_refused(c, i, r);
	}
	if (r == 0)
		return many_commit(c, m);
	many_undo(m, false);
	many_free(m);
	return r;
}

/* ---- Remove ------------------------------------------------------------------------------- */

struct remove {
	struct conn *c;
	uint64_t addr;
	struct vdevice *dev; /* its descriptor still, for the lock */
};

static void removed(struct zvirt *zv, json_object *reply, const char *error, void *arg)
{
	struct remove *rm = arg;

	/* a device added on its slot later starts fresh all the same */
	if (error)
		log_warn("zone %u: the backend did not remove 0x%llx: %s", zv->zone_id,
			 (unsigned long long)rm->addr, error);
	/* the backend is done with it: its image is free before the reply */
	backing_unlock(rm->dev, rm->dev->fd);
	vdevice_free(zv->d, rm->dev, false);
	conn_async_done(rm->c, conn_reply(rm->c, NULL));
	free(rm);
	zvirt_release(zv);
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

	if (vl_params_parse(call->parameters, spec, ARRAY_SIZE(spec), &err) < 0)
		return conn_fail_invalid(c, NULL, &err);
	if (conn_zone_id(c, zone, true, ret_zone) < 0)
		return -EINVAL;
	*ret_addr = json_object_get_uint64(addr);
	return 0;
}

static int fail_no_device(struct conn *c, uint32_t zone_id, uint64_t addr)
{
	json_object *p = json_object_new_object();
	char msg[128];

	snprintf(msg, sizeof(msg), "zone %u has no virtio device at 0x%llx", zone_id,
		 (unsigned long long)addr);
	json_object_object_add(p, "zone_id", json_object_new_int64(zone_id));
	json_object_object_add(p, "addr", json_object_new_uint64(addr));
	json_object_object_add(p, "message", json_object_new_string(msg));
	return conn_fail(c, vl_error_new(VL_ERROR_VIRTIO_NOT_FOUND, p));
}

static int method_remove(struct conn *c, const struct vl_call *call, int *fds, size_t n_fds)
{
	struct daemon *d = conn_daemon(c);
	struct vdevice *dev = NULL;
	struct remove *rm;
	struct zvirt *zv;
	uint32_t zone_id = 0;
	uint64_t addr = 0;
	int r = get_zone_addr(c, call, &zone_id, &addr);

	if (r < 0)
		return r;
	zv = zvirt_find(d, zone_id);
	if (zv)
		TAILQ_FOREACH (dev, &zv->devices, entry)
			if (dev->spec.addr == addr)
				break;
	if (!dev)
		return fail_no_device(c, zone_id, addr);
	if (dev->adding)
		return conn_failf(c, VL_ERROR_BUSY, "the device at 0x%llx is being added",
				  (unsigned long long)addr);
	rm = calloc(1, sizeof(*rm));
	if (!rm)
		return -ENOMEM;
	*rm = (struct remove){.c = c, .addr = addr, .dev = dev};
	TAILQ_REMOVE(&zv->devices, dev, entry);
	zv->n_devices--;
	log_info("zone %u: %s device at 0x%llx removed by uid %u", zone_id,
		 hv_virtio_type_to_string(dev->spec.type), (unsigned long long)addr,
		 (unsigned)conn_uid(c));
	emit_device_event(d, "VirtioDeviceRemoved", dev);
	/* gone for good (link, keeper), but its descriptor stays with rm
	 * until the backend is done with it (removed()) */
	backing_unpublish_console(d, dev);
	virtio_keep_device(d, dev, false);
	virtio_save(d);
	conn_async_begin(c);
	if (zv->n_devices == 0) {
		/* nothing left to serve: the backend ends whatever its state,
		 * also one waiting for its restart or given up on */
		backend_stop(zv, false, removed, rm);
	} else if (zv->state == BACKEND_RUNNING) {
		json_object *p = json_object_new_object();

		json_object_object_add(p, "addr", json_object_new_uint64(addr));
		backend_call(zv, HV_VIRTIOD_REMOVE_DEVICE, p, NULL, 0, removed, rm);
	} else
		backend_complete(zv, removed, rm, NULL);
	return 0;
}

/* ---- List --------------------------------------------------------------------------------- */

struct list {
	struct conn *c;
	int64_t zone; /* -1: all */
	unsigned pending;
	json_object *stats; /* zone id (string) -> the backend's List */
};

static void list_reply(struct list *l)
{
	struct daemon *d = conn_daemon(l->c);
	json_object *arr = json_object_new_array(), *p;
	struct zvirt *zv;

	TAILQ_FOREACH (zv, &d->zvirts, entry) {
		json_object *stats = NULL;
		struct vdevice *dev;
		char key[16];

		if (l->zone >= 0 && (int64_t)zv->zone_id != l->zone)
			continue;
		snprintf(key, sizeof(key), "%u", zv->zone_id);
		json_object_object_get_ex(l->stats, key, &stats);
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
	}
	p = json_object_new_object();
	json_object_object_add(p, "devices", arr);
	conn_async_done(l->c, conn_reply(l->c, p));
	json_object_put(l->stats);
	free(l);
}

static void listed(struct zvirt *zv, json_object *reply, const char *error, void *arg)
{
	struct list *l = arg;
	json_object *devs;
	char key[16];

	if (error)
		log_warn("zone %u: no statistics from hvisor-virtiod: %s", zv->zone_id, error);
	else if (json_object_object_get_ex(reply, "devices", &devs)) {
		snprintf(key, sizeof(key), "%u", zv->zone_id);
		json_object_object_add(l->stats, key, json_object_get(devs));
	}
	if (--l->pending == 0)
		list_reply(l);
}

static int method_list(struct conn *c, const struct vl_call *call, int *fds, size_t n_fds)
{
	struct daemon *d = conn_daemon(c);
	json_object *zone;
	const struct vl_param spec[] = {{"zone_id", json_type_int, false, &zone}};
	struct hv_error err;
	struct zvirt *zv;
	struct list *l;

	if (vl_params_parse(call->parameters, spec, ARRAY_SIZE(spec), &err) < 0)
		return conn_fail_invalid(c, NULL, &err);
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	*l = (struct list){.c = c,
			   .zone = zone ? json_object_get_int64(zone) : -1,
			   .pending = 1,
			   .stats = json_object_new_object()};
	conn_async_begin(c);
	/* a backend that does not answer is not asked: its devices are
	 * listed without counters, with answering false */
	TAILQ_FOREACH (zv, &d->zvirts, entry) {
		char why[200];

		if ((l->zone >= 0 && (int64_t)zv->zone_id != l->zone) ||
		    (zv->state != BACKEND_RUNNING && zv->state != BACKEND_STARTING) ||
		    !backend_answering(zv, why, sizeof(why)))
			continue;
		l->pending++;
		backend_call(zv, HV_VIRTIOD_LIST, NULL, NULL, 0, listed, l);
	}
	if (--l->pending == 0)
		list_reply(l);
	return 0;
}

const struct method virtio_methods[] = {
	{"org.hvisor.Virtio.Add", method_add, METHOD_MUTATING | METHOD_TAKES_FDS},
	{"org.hvisor.Virtio.AddMany", method_add_many, METHOD_MUTATING | METHOD_TAKES_FDS},
	{"org.hvisor.Virtio.Remove", method_remove, METHOD_MUTATING},
	{"org.hvisor.Virtio.List", method_list, 0},
	{NULL, NULL, 0},
};

/* ---- the zone's life ---------------------------------------------------------------------- */

int virtio_zone_starting(struct conn *c, struct daemon *d, const struct hv_zone_config *cfg)
{
	struct zvirt *zv = zvirt_find(d, cfg->zone_id);
	struct vdevice *dev;
	struct hv_error err;
	char ebuf[512];

	if (!zv || zv->n_devices == 0)
		return 0;
	TAILQ_FOREACH (dev, &zv->devices, entry)
		if (hv_virtio_device_check_zone(&dev->spec, cfg, "device", &err) < 0) {
			char msg[400];

			snprintf(msg, sizeof(msg),
				 "the %s device registered at 0x%llx does not fit this zone: %s "
				 "(hvctl virtio remove %u 0x%llx)",
				 hv_virtio_type_to_string(dev->spec.type),
				 (unsigned long long)dev->spec.addr, err.message, cfg->zone_id,
				 (unsigned long long)dev->spec.addr);
			hv_error_set(&err, "config", "%s", msg);
			return conn_fail_invalid(c, NULL, &err);
		}
	if (zv->pid > 0 || zv->state == BACKEND_STOPPING)
		return conn_failf(c, VL_ERROR_BUSY,
				  "the backend of zone %u's last run is still stopping: try again",
				  cfg->zone_id);
	/* the config's RAM map wins over one given with the devices */
	virtio_ram_from_config(zv, cfg);
	/* a new zone run: no saved device state from a previous one */
	virtio_forget_state(zv);
	zv->restarts = 0;
	if (backend_attach_early(zv, ebuf, sizeof(ebuf)) < 0)
		return conn_failf(c, VL_ERROR_INTERNAL, "cannot start the virtio backend: %s",
				  ebuf);
	return 0;
}

struct zone_wait {
	void (*done)(void *arg);
	void *arg;
};

static void zone_backend_done(struct zvirt *zv, json_object *reply, const char *error, void *arg)
{
	struct zone_wait *w = arg;

	if (w) {
		w->done(w->arg);
		free(w);
	}
	if (error) {
		/* the channel is released: the guest finds no devices */
		zv->state = BACKEND_FAILED;
		snprintf(zv->last_exit, sizeof(zv->last_exit), "start failed");
		daemon_event(zv->d, "VirtiodFailed", zv->zone_id, error, NULL);
		virtio_save(zv->d);
		return;
	}
	daemon_event(zv->d, "VirtiodStarted", zv->zone_id, NULL, NULL);
}

bool virtio_zone_started(struct daemon *d, uint32_t zone_id, void (*done)(void *arg), void *arg)
{
	struct zvirt *zv = zvirt_find(d, zone_id);
	struct zone_wait *w;

	if (!zv || zv->n_devices == 0)
		return false;
	w = done ? calloc(1, sizeof(*w)) : NULL;
	if (w)
		*w = (struct zone_wait){.done = done, .arg = arg};
	backend_start(zv, zone_backend_done, w);
	return w != NULL;
}

static void zone_backend_stopped(struct zvirt *zv, json_object *reply, const char *error, void *arg)
{
	struct zone_wait *w = arg;

	w->done(w->arg);
	free(w);
}

bool virtio_zone_stopped(struct daemon *d, uint32_t zone_id, void (*done)(void *arg), void *arg)
{
	struct zvirt *zv = zvirt_find(d, zone_id);
	struct zone_wait *w = done ? calloc(1, sizeof(*w)) : NULL;

	if (!zv) {
		free(w);
		return false;
	}
	if (w)
		*w = (struct zone_wait){.done = done, .arg = arg};
	backend_stop(zv, true, w ? zone_backend_stopped : NULL, w);
	zvirt_release(zv);
	return w != NULL;
}

json_object *virtio_zone_info(struct daemon *d, uint32_t zone_id)
{
	struct zvirt *zv = zvirt_find(d, zone_id);
	json_object *o;
	char why[200];

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
	if (zv->pid > 0 && !backend_answering(zv, why, sizeof(why)))
		json_object_object_add(o, "not_answering", json_object_new_string(why));
	return o;
}

/* ---- log levels ------------------------------------------------------------------------- */

struct level {
	unsigned pending;
	json_object *result;
	void (*done)(json_object *result, void *arg);
	void *arg;
};

static void level_set(struct zvirt *zv, json_object *reply, const char *error, void *arg)
{
	struct level *l = arg;
	json_object *prev;

	if (error)
		log_warn("zone %u: hvisor-virtiod did not take the log level: %s", zv->zone_id,
			 error);
	else if (json_object_object_get_ex(reply, "previous", &prev)) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "zone_id", json_object_new_int64(zv->zone_id));
		json_object_object_add(o, "previous", json_object_get(prev));
		json_object_array_add(l->result, o);
	}
	if (--l->pending == 0) {
		l->done(l->result, l->arg);
		free(l);
	}
}

void virtio_set_log_level(struct daemon *d, const char *level,
			  void (*done)(json_object *result, void *arg), void *arg)
{
	struct level *l = calloc(1, sizeof(*l));
	struct zvirt *zv;

	if (!l) {
		done(json_object_new_array(), arg);
		return;
	}
	*l = (struct level){
		.pending = 1, .result = json_object_new_array(), .done = done, .arg = arg};
	/* the others get hvisord's level when they start */
	TAILQ_FOREACH (zv, &d->zvirts, entry) {
		json_object *params;
		char why[200];

		if (zv->state != BACKEND_RUNNING || !backend_answering(zv, why, sizeof(why)))
			continue;
		params = json_object_new_object();
		json_object_object_add(params, "level", json_object_new_string(level));
		l->pending++;
		backend_call(zv, HV_VIRTIOD_SET_LOG_LEVEL, params, NULL, 0, level_set, l);
	}
	if (--l->pending == 0) {
		done(l->result, arg);
		free(l);
	}
}

int virtio_init(struct daemon *d)
{
	TAILQ_INIT(&d->zvirts);
	return 0;
}

/* hvisord exits: the backends serve on (a restarted hvisord finds them
 * again), unless stop (hvisord --stop-zones, or nothing keeps them). */
void virtio_done(struct daemon *d)
{
	struct zvirt *zv;

	while ((zv = TAILQ_FIRST(&d->zvirts))) {
		struct vdevice *dev;

		while ((dev = TAILQ_FIRST(&zv->devices))) {
			TAILQ_REMOVE(&zv->devices, dev, entry);
			vdevice_free(d, dev, false);
		}
		zv->n_devices = 0;
		zvirt_free(zv);
	}
}
