// SPDX-License-Identifier: GPL-2.0-only
/*
 * org.hvisor.Zone. The hypervisor's ZONE_LIST is the truth about which
 * zones exist; hvisord additionally remembers the configs of the zones it
 * started ("managed" zones) so it can refuse overlapping memory and answer
 * Info. Start checks everything before it touches memory: config, files,
 * CPUs, memory, encoding; only then are images loaded and the zone started.
 * A failed start leaves no zone and no entry behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "hv.h"
#include "hvisord.h"
#include "json-util.h"
#include "load.h"
#include "log.h"
#include "util.h"

#define ZONE_LIST_CAP	    64
#define ZONES_RECONCILE_SEC 5

enum zone_state {
	ZONE_STARTING,
	ZONE_RUNNING,
};

struct zone {
	TAILQ_ENTRY(zone) entry;
	enum zone_state state;
	struct hv_zone_config *cfg;
	json_object *config; /* as the client sent it: for the state file */
	char *source;
	uint64_t started_usec;
	uid_t started_by;
};

/* A Start in progress (images loading). */
struct start_ctx {
	struct conn *c;
	struct daemon *d;
	struct zone *z; /* until it runs (the zone may go while its backend starts) */
	uint32_t zone_id;
	char name[HV_CONFIG_NAME_LEN + 1];
	int fds[HV_CONFIG_MAX_IMAGES];
	struct load_item items[HV_CONFIG_MAX_IMAGES];
	size_t n_items;
	size_t config_size;
	_Alignas(8) uint8_t config[HV_ZONE_CONFIG_MAX_SIZE];
};

static struct zone *zone_find(struct daemon *d, uint32_t id)
{
	struct zone *z;

	TAILQ_FOREACH (z, &d->zones, entry)
		if (z->cfg->zone_id == id)
			return z;
	return NULL;
}

const char *zone_name_of(struct daemon *d, uint32_t id)
{
	const struct zone *z = zone_find(d, id);

	return z ? z->cfg->name : NULL;
}

const struct hv_zone_config *zone_config_of(struct daemon *d, uint32_t id)
{
	struct zone *z = zone_find(d, id);

	return z && z->state == ZONE_RUNNING ? z->cfg : NULL;
}

int zone_is_running(struct daemon *d, uint32_t id)
{
	struct hvisor_zone_info zones[ZONE_LIST_CAP];
	int n = hv_zone_list(d->hv, zones, ZONE_LIST_CAP);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		if (zones[i].zone_id == id)
			return 1;
	return 0;
}

static void zone_free(struct daemon *d, struct zone *z)
{
	TAILQ_REMOVE(&d->zones, z, entry);
	hv_zone_config_free(z->cfg);
	json_object_put(z->config);
	free(z->source);
	free(z);
}

void zones_done(struct daemon *d)
{
	if (d->ev_zones)
		event_free(d->ev_zones);
	d->ev_zones = NULL;
	struct zone *z;

	while ((z = TAILQ_FIRST(&d->zones)))
		zone_free(d, z);
}

static int error_zone(struct conn *c, const char *error, uint32_t id, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int error_zone(struct conn *c, const char *error, uint32_t id, const char *fmt, ...)
{
	json_object *p = json_object_new_object();
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(p, "zone_id", json_object_new_int64(id));
	json_object_object_add(p, "message", json_object_new_string(msg));
	return conn_fail(c, vl_error_new(error, p));
}

/* The zone's name from ZONE_LIST: up to 32 bytes, maybe unterminated;
 * control characters would garble tables. */
static void info_name(const struct hvisor_zone_info *zi, char buf[HV_CONFIG_NAME_LEN + 1])
{
	size_t i;

	for (i = 0; i < HV_CONFIG_NAME_LEN && zi->name[i]; i++) {
		unsigned char ch = (unsigned char)zi->name[i];

		buf[i] = (char)(ch < 0x20 || ch == 0x7f ? '?' : ch);
	}
	buf[i] = '\0';
}

/* Forgets the managed zones the hypervisor no longer has (zones[0..n) is
 * what it has): shut down behind hvisord's back. */
static void forget_vanished(struct daemon *d, const struct hvisor_zone_info *zones, int n)
{
	struct zone *z, *tmp;

	TAILQ_FOREACH_SAFE (z, &d->zones, entry, tmp) {
		bool found = false;

		if (z->state != ZONE_RUNNING)
			continue;
		for (int i = 0; i < n && !found; i++)
			found = zones[i].zone_id == z->cfg->zone_id;
		if (!found) {
			log_notice("zone %u (%s) is gone; it was shut down behind our back",
				   z->cfg->zone_id, z->cfg->name);
			daemon_event(d, "ZoneVanished", z->cfg->zone_id, NULL, NULL);
			virtio_zone_stopped(d, z->cfg->zone_id, NULL, NULL);
			zone_free(d, z);
			state_save(d);
		}
	}
}

/* ZONE_LIST, and what it says about the managed zones: the step before a
 * decision that depends on them (Start, Shutdown), and every
 * ZONES_RECONCILE_SEC, so that a zone shut down behind hvisord's back is
 * noticed (ZoneVanished) whether or not anybody asks. */
static int reconcile(struct daemon *d, struct hvisor_zone_info *zones, size_t cap)
{
	int n = hv_zone_list(d->hv, zones, cap);

	if (n >= 0)
		forget_vanished(d, zones, n);
	return n;
}

/* The managed zone the hypervisor reports as zi: same id and name (one
 * that vanished may not be forgotten yet, and its id reused). */
static struct zone *managed(struct daemon *d, const struct hvisor_zone_info *zi)
{
	struct zone *z = zone_find(d, zi->zone_id);
	char name[HV_CONFIG_NAME_LEN + 1];

	info_name(zi, name);
	return z && z->state == ZONE_RUNNING && strcmp(name, z->cfg->name) == 0 ? z : NULL;
}

static void reconcile_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hvisor_zone_info zones[ZONE_LIST_CAP];

	(void)reconcile(arg, zones, ZONE_LIST_CAP);
}

int zones_init(struct daemon *d)
{
	struct timeval tv = {.tv_sec = ZONES_RECONCILE_SEC};

	d->ev_zones = event_new(d->base, -1, EV_PERSIST, reconcile_cb, d);
	if (!d->ev_zones)
		return -ENOMEM;
	return event_add(d->ev_zones, &tv);
}

/* The size of an image a client passed; a problem with it in *ret_why. */
static int image_file_size(int fd, uint64_t *ret, const char **ret_why)
{
	struct stat st;
	int r;

	*ret_why = passed_file_problem(fd, false, &st);
	if (*ret_why)
		return -EINVAL;
	r = fd_file_size(fd, &st, ret);
	if (r < 0) {
		*ret_why = strerror(-r);
		return -EINVAL;
	}
	return 0;
}

/* Every entry of files names a descriptor of the call. */
static int check_file_indexes(struct conn *c, const struct hv_zone_config *cfg, json_object *files,
			      size_t n_fds)
{
	struct hv_error err;

	if (!files)
		return 0;
	json_object_object_foreach (files, key, val) {
		bool known = false;

		if (!json_object_is_type(val, json_type_int) || json_object_get_int64(val) < 0 ||
		    json_object_get_int64(val) >= (int64_t)n_fds) {
			char path[160];

			snprintf(path, sizeof(path), "files.%.120s", key);
			hv_error_set(&err, path,
				     "expected the index of a passed file descriptor (0..%d)",
				     (int)n_fds - 1);
			return conn_fail_invalid(c, NULL, &err);
		}
		for (size_t i = 0; i < cfg->n_images && !known; i++)
			known = strcmp(cfg->images[i].key, key) == 0;
		if (!known)
			/* hvctl cannot know the arch: x86-only keys on another
			 * arch, or a dtb on x86, simply go unused */
			log_debug("ignoring file for %s: not loaded on %s", key,
				  hv_arch_to_string(cfg->arch));
	}
	return 0;
}

/* Matches the config's files to the descriptors of the call and sizes them;
 * the used ones are duplicated into ctx->fds[]. On failure the error is
 * recorded. */
static int bind_files(struct conn *c, struct start_ctx *ctx, struct hv_zone_config *cfg,
		      json_object *files, int *fds, size_t n_fds)
{
	struct hv_error err;
	int r = check_file_indexes(c, cfg, files, n_fds);

	if (r < 0)
		return r;
	for (size_t i = 0; i < cfg->n_images; i++) {
		struct hv_image *img = &cfg->images[i];
		struct load_item *it = &ctx->items[ctx->n_items];
		json_object *idx;
		const char *why;
		char path[160];
		uint64_t size;
		int fd;

		*it = (struct load_item){.key = img->key, .fd = -1, .paddr = img->load_paddr};
		if (!img->path) {
			it->data = img->data;
			it->size = img->size;
			ctx->n_items++;
			continue;
		}
		snprintf(path, sizeof(path), "files.%s", img->key);
		if (!files || !json_object_object_get_ex(files, img->key, &idx)) {
			hv_error_set(
				&err, "files",
				"no file descriptor for %s ('%.200s'): pass the file with the call",
				img->key, img->path);
			conn_fail_invalid(c, NULL, &err);
			return -EINVAL;
		}
		fd = fds[json_object_get_int64(idx)];
		r = image_file_size(fd, &size, &why);
		if (r < 0) {
			hv_error_set(&err, path, "'%.200s': %s", img->path, why);
			conn_fail_invalid(c, NULL, &err);
			return -EINVAL;
		}
		img->size = size;
		it->size = size;
		it->fd = fd;
		ctx->n_items++;
	}
	/* Each item keeps its own descriptor: one fd may serve two keys. */
	for (size_t i = 0; i < ctx->n_items; i++) {
		int fd = ctx->items[i].fd;

		if (fd < 0)
			continue;
		ctx->fds[i] = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (ctx->fds[i] < 0) {
			conn_failf(c, VL_ERROR_INTERNAL, "cannot keep a file descriptor: %m");
			return -EINVAL;
		}
		ctx->items[i].fd = ctx->fds[i];
	}
	return 0;
}

/* org.hvisor.Zone.CpuBusy for the lowest CPU of `shared`; returns -EBUSY. */
static int error_cpu_busy(struct conn *c, uint64_t shared, uint32_t owner, const char *owner_name)
{
	json_object *p = json_object_new_object();
	unsigned cpu = (unsigned)__builtin_ctzll(shared);
	char msg[160];

	snprintf(msg, sizeof(msg), "CPU %u is owned by zone %u (%s)", cpu, owner, owner_name);
	json_object_object_add(p, "cpu", json_object_new_int((int)cpu));
	json_object_object_add(p, "owner", json_object_new_int64(owner));
	json_object_object_add(p, "message", json_object_new_string(msg));
	conn_fail(c, vl_error_new(VL_ERROR_ZONE_CPU_BUSY, p));
	return -EBUSY;
}

/* CPUs and memory against the hypervisor's zones and our starting ones. */
static int check_resources(struct conn *c, struct daemon *d, const struct hv_zone_config *cfg)
{
	struct hvisor_zone_info zones[ZONE_LIST_CAP];
	struct zone *z;
	int n;

	if (d->hv->ncpus && d->hv->ncpus < HV_CONFIG_MAX_CPUS && (cfg->cpus >> d->hv->ncpus)) {
		struct hv_error err;
		unsigned cpu = (unsigned)__builtin_ctzll(cfg->cpus >> d->hv->ncpus) + d->hv->ncpus;

		hv_error_set(&err, "config.cpus",
			     "CPU %u does not exist (the hypervisor has %u CPUs)", cpu,
			     d->hv->ncpus);
		return conn_fail_invalid(c, NULL, &err), -EINVAL;
	}
	n = reconcile(d, zones, ZONE_LIST_CAP);
	if (n < 0)
		return conn_fail_kernel(c, "ZONE_LIST", n), n;
	for (int i = 0; i < n; i++) {
		char name[HV_CONFIG_NAME_LEN + 1];
		uint64_t shared = zones[i].cpus & cfg->cpus;

		info_name(&zones[i], name);
		if (zones[i].zone_id == cfg->zone_id)
			return error_zone(c, VL_ERROR_ZONE_EXISTS, cfg->zone_id,
					  "zone %u already exists (%s)", cfg->zone_id, name),
			       -EEXIST;
		if (shared)
			return error_cpu_busy(c, shared, zones[i].zone_id, name);
	}
	TAILQ_FOREACH (z, &d->zones, entry) {
		if (z->cfg->zone_id == cfg->zone_id)
			return error_zone(c, VL_ERROR_ZONE_EXISTS, cfg->zone_id,
					  "zone %u is being started", cfg->zone_id),
			       -EEXIST;
		if (z->cfg->cpus & cfg->cpus)
			return error_cpu_busy(c, z->cfg->cpus & cfg->cpus, z->cfg->zone_id,
					      z->cfg->name);
		for (uint32_t i = 0; i < cfg->n_regions; i++) {
			const struct hv_cfg_memory_region *a = &cfg->regions[i];

			if (a->type != HV_MEM_TYPE_RAM)
				continue;
			for (uint32_t j = 0; j < z->cfg->n_regions; j++) {
				const struct hv_cfg_memory_region *b = &z->cfg->regions[j];
				json_object *p;
				char msg[200];

				if (b->type != HV_MEM_TYPE_RAM ||
				    !ranges_overlap(a->physical_start, a->size, b->physical_start,
						    b->size))
					continue;
				snprintf(
					msg, sizeof(msg),
					"memory_regions[%u] (0x%llx+0x%llx) overlaps RAM of zone %u (%s) at 0x%llx+0x%llx",
					i, (unsigned long long)a->physical_start,
					(unsigned long long)a->size, z->cfg->zone_id, z->cfg->name,
					(unsigned long long)b->physical_start,
					(unsigned long long)b->size);
				p = json_object_new_object();
				json_object_object_add(p, "owner",
						       json_object_new_int64(z->cfg->zone_id));
				json_object_object_add(
					p, "start",
					json_object_new_int64((int64_t)b->physical_start));
				json_object_object_add(p, "size",
						       json_object_new_int64((int64_t)b->size));
				json_object_object_add(p, "message", json_object_new_string(msg));
				return conn_fail(c, vl_error_new(VL_ERROR_ZONE_MEMORY_OVERLAP, p)),
				       -EBUSY;
			}
		}
	}
	return 0;
}

static void start_ctx_free(struct start_ctx *ctx)
{
	close_many(ctx->fds, ARRAY_SIZE(ctx->fds));
	free(ctx);
}

static void start_failed(struct start_ctx *ctx, const char *message)
{
	struct daemon *d = ctx->d;

	log_warn("zone %u (%s) did not start: %s", ctx->z->cfg->zone_id, ctx->z->cfg->name,
		 message);
	daemon_event(d, "ZoneStartFailed", ctx->z->cfg->zone_id, message, NULL);
	virtio_zone_stopped(d, ctx->z->cfg->zone_id, NULL, NULL);
	zone_free(d, ctx->z);
}

/* The zone runs (its backend, if any, serves or failed): the reply. */
static void start_replied(void *arg)
{
	struct start_ctx *ctx = arg;
	const struct hv_zone_config *cfg = zone_config_of(ctx->d, ctx->zone_id);
	json_object *p = json_object_new_object(), *warnings = json_object_new_array();
	struct conn *c = ctx->c;

	for (unsigned i = 0; cfg && i < cfg->n_warnings; i++)
		json_object_array_add(warnings, json_object_new_string(cfg->warnings[i]));
	json_object_object_add(p, "zone_id", json_object_new_int64(ctx->zone_id));
	json_object_object_add(p, "name", json_object_new_string(ctx->name));
	json_object_object_add(p, "warnings", warnings);
	start_ctx_free(ctx);
	conn_async_done(c, conn_reply(c, p));
}

static void start_loaded(int r, const char *failed_key, bool file_error, const char *message,
			 void *userdata)
{
	struct start_ctx *ctx = userdata;
	struct daemon *d = ctx->d;
	struct conn *c = ctx->c;
	struct zone *z = ctx->z;
	char msg[400];

	if (r < 0) {
		snprintf(msg, sizeof(msg), "%s: %s", failed_key, message);
		if (file_error) {
			struct hv_error err;
			char path[160];

			snprintf(path, sizeof(path), "files.%s", failed_key);
			hv_error_set(&err, path, "%s", message);
			r = conn_fail_invalid(c, NULL, &err);
		} else
			r = conn_fail_kernel(c, "LOAD_IMAGE", r);
		start_failed(ctx, msg);
		goto out;
	}
	r = hv_zone_start(d->hv, ctx->config, ctx->config_size);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "ZONE_START: %s", strerror(-r));
		r = conn_fail_kernel(c, "ZONE_START", r);
		start_failed(ctx, msg);
		goto out;
	}
	z->state = ZONE_RUNNING;
	z->started_usec = now_realtime_usec();
	state_save(d);
	log_info("zone %u (%s) started by uid %u%s%s", z->cfg->zone_id, z->cfg->name,
		 (unsigned)z->started_by, z->source ? " from " : "", z->source ? z->source : "");
	daemon_event(d, "ZoneStarted", z->cfg->zone_id, NULL, NULL);
	/* the reply once its devices are served */
	if (virtio_zone_started(d, z->cfg->zone_id, start_replied, ctx))
		return;
	start_replied(ctx);
	return;
out:
	start_ctx_free(ctx);
	conn_async_done(c, r);
}

/* The binary zone_config for the hypervisor's magic, into ctx. */
static int encode_config(struct conn *c, struct daemon *d, const struct hv_zone_config *cfg,
			 struct start_ctx *ctx)
{
	struct hv_error err;
	int r = hv_zone_config_encode(cfg, (unsigned)d->hv->magic, ctx->config, sizeof(ctx->config),
				      &err);

	if (r == -EOPNOTSUPP)
		return conn_failf(c, VL_ERROR_NOT_SUPPORTED, "config.%s: %s", err.path,
				  err.message);
	if (r < 0)
		return conn_fail_invalid(c, "config", &err);
	ctx->config_size = (size_t)r;
	return 0;
}

/* A zone being started, in the table (takes *cfg). */
static struct zone *zone_new(struct daemon *d, struct hv_zone_config **cfg, json_object *config,
			     uid_t uid, json_object *source)
{
	struct zone *z = calloc(1, sizeof(*z));

	if (!z)
		return NULL;
	z->state = ZONE_STARTING;
	z->started_by = uid;
	z->source = source ? strdup(json_object_get_string(source)) : NULL;
	z->cfg = TAKE_PTR(*cfg);
	z->config = json_object_get(config);
	TAILQ_INSERT_TAIL(&d->zones, z, entry);
	return z;
}

/* The config of a Start, for the backend as it is now; on failure the
 * error reply is sent. */
static int parse_config(struct conn *c, struct daemon *d, json_object *config,
			struct hv_zone_config **ret)
{
	/* a backend that came back may have another arch or magic */
	int r = hv_ensure(d->hv);
	struct hv_error err;

	if (r < 0)
		return conn_fail_kernel(c, "ZONE_START", r), r;
	if (!hv_magic_supported(d->hv))
		return conn_failf(
			       c, VL_ERROR_NOT_SUPPORTED,
			       "the hypervisor reports config magic 0x%02llx; this hvisord can encode zone configs for 0x05 and 0x06 only",
			       (unsigned long long)d->hv->magic),
		       -EOPNOTSUPP;
	if (hv_zone_config_parse(config, d->hv->arch, ret, &err) < 0)
		return conn_fail_invalid(c, "config", &err), -EINVAL;
	if (hv_zone_config_check_supported(*ret, &err) < 0) {
		*ret = hv_zone_config_free(*ret);
		return conn_failf(c, VL_ERROR_NOT_SUPPORTED, "config.%s: %s", err.path,
				  err.message),
		       -EOPNOTSUPP;
	}
	return 0;
}

static int method_start(struct conn *c, const struct vl_call *call, int *fds, size_t n_fds)
{
	struct daemon *d = conn_daemon(c);
	json_object *config, *files, *source;
	const struct vl_param spec[] = {
		{"config", json_type_object, true, &config},
		{"files", json_type_object, false, &files},
		{"source", json_type_string, false, &source},
	};
	struct hv_zone_config *cfg = NULL;
	struct start_ctx *ctx = NULL;
	struct hv_error err;
	struct zone *z;
	int r;

	if (vl_params_parse(call->parameters, spec, ARRAY_SIZE(spec), &err) < 0)
		return conn_fail_invalid(c, NULL, &err);
	r = parse_config(c, d, config, &cfg);
	if (r < 0)
		return r;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		hv_zone_config_free(cfg);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ctx->fds); i++)
		ctx->fds[i] = -1;
	ctx->c = c;
	ctx->d = d;
	r = bind_files(c, ctx, cfg, files, fds, n_fds);
	if (r == 0 && hv_zone_config_check_images(cfg, &err) < 0)
		r = conn_fail_invalid(c, "config", &err);
	if (r == 0)
		r = check_resources(c, d, cfg);
	if (r == 0)
		r = encode_config(c, d, cfg, ctx);
	/* The zone's virtio devices must be served from its first access:
	 * their backend is attached and running before the guest is. */
	if (r == 0)
		r = virtio_zone_starting(c, d, cfg);
	if (r < 0)
		goto fail;

	/* Everything checked: from here on we change things. The entry
	 * reserves id, CPUs and memory against concurrent starts. */
	z = zone_new(d, &cfg, config, conn_uid(c), source);
	if (!z) {
		virtio_zone_stopped(d, cfg->zone_id, NULL, NULL);
		r = -ENOMEM;
		goto fail;
	}
	ctx->z = z;
	ctx->zone_id = z->cfg->zone_id;
	snprintf(ctx->name, sizeof(ctx->name), "%s", z->cfg->name);
	r = load_start(d, ctx->items, ctx->n_items, start_loaded, ctx);
	if (r < 0) {
		virtio_zone_stopped(d, z->cfg->zone_id, NULL, NULL);
		zone_free(d, z);
		goto fail;
	}
	conn_async_begin(c);
	return 0;

fail:
	hv_zone_config_free(cfg);
	start_ctx_free(ctx);
	return r;
}

static int get_zone_id_param(struct conn *c, const struct vl_call *call, uint32_t *ret)
{
	json_object *id;
	const struct vl_param spec[] = {{"zone_id", json_type_int, true, &id}};
	struct hv_error err;

	if (vl_params_parse(call->parameters, spec, ARRAY_SIZE(spec), &err) < 0)
		return conn_fail_invalid(c, NULL, &err);
	return conn_zone_id(c, id, true, ret);
}

static void shutdown_done(void *arg)
{
	struct conn *c = arg;

	conn_async_done(c, conn_reply(c, NULL));
}

static int method_shutdown(struct conn *c, const struct vl_call *call, int *fds, size_t n_fds)
{
	struct daemon *d = conn_daemon(c);
	struct hvisor_zone_info zones[ZONE_LIST_CAP];
	struct zone *z;
	uint32_t id = 0;
	bool found = false;
	int n, r;

	r = get_zone_id_param(c, call, &id);
	if (r < 0)
		return r;
	if (id == 0) {
		struct hv_error err;

		hv_error_set(&err, "zone_id", "zone 0 is the root zone; it cannot be shut down");
		return conn_fail_invalid(c, NULL, &err);
	}
	z = zone_find(d, id);
	if (z && z->state == ZONE_STARTING)
		return conn_failf(c, VL_ERROR_BUSY, "zone %u is still being started", id);
	n = reconcile(d, zones, ZONE_LIST_CAP);
	if (n < 0)
		return conn_fail_kernel(c, "ZONE_LIST", n);
	for (int i = 0; i < n && !found; i++)
		found = zones[i].zone_id == id;
	if (!found)
		return error_zone(c, VL_ERROR_ZONE_NOT_FOUND, id, "no zone %u", id);
	r = hv_zone_shutdown(d->hv, id);
	if (r < 0)
		return conn_fail_kernel(c, "ZONE_SHUTDOWN", r);
	log_info("zone %u shut down by uid %u", id, (unsigned)conn_uid(c));
	z = zone_find(d, id);
	if (z) {
		daemon_event(d, "ZoneStopped", id, NULL, NULL);
		zone_free(d, z);
	} else {
		/* not ours: the hypervisor's name for it */
		json_object *extra = json_object_new_object();
		char name[HV_CONFIG_NAME_LEN + 1] = "";

		for (int i = 0; i < n; i++)
			if (zones[i].zone_id == id)
				info_name(&zones[i], name);
		json_object_object_add(extra, "name", json_object_new_string(name));
		daemon_event(d, "ZoneStopped", id, NULL, extra);
	}
	state_save(d);
	/* its backend drains what is in flight and exits: the reply waits */
	if (virtio_zone_stopped(d, id, shutdown_done, c)) {
		conn_async_begin(c);
		return 0;
	}
	return conn_reply(c, NULL);
}

static json_object *cpus_to_json(uint64_t cpus)
{
	json_object *a = json_object_new_array();

	for (unsigned i = 0; i < HV_CONFIG_MAX_CPUS; i++)
		if (cpus & (UINT64_C(1) << i))
			json_object_array_add(a, json_object_new_int((int)i));
	return a;
}

static json_object *u64_json(uint64_t v)
{
	return json_object_new_uint64(v);
}

static const char *const region_types[] = {"ram", "io", "virtio"};

static void add_details(json_object *o, const struct zone *z)
{
	const struct hv_zone_config *cfg = z->cfg;
	json_object *regions = json_object_new_array(), *irqs = json_object_new_array();
	json_object *images = json_object_new_array();

	json_object_object_add(o, "arch", json_object_new_string(hv_arch_to_string(cfg->arch)));
	json_object_object_add(o, "entry_point", u64_json(cfg->entry_point));
	for (uint32_t i = 0; i < cfg->n_regions; i++) {
		const struct hv_cfg_memory_region *r = &cfg->regions[i];
		json_object *m = json_object_new_object();

		json_object_object_add(
			m, "type",
			json_object_new_string(r->type < 3 ? region_types[r->type] : "?"));
		json_object_object_add(m, "physical_start", u64_json(r->physical_start));
		json_object_object_add(m, "virtual_start", u64_json(r->virtual_start));
		json_object_object_add(m, "size", u64_json(r->size));
		json_object_array_add(regions, m);
	}
	for (unsigned i = 0; i < HV_CONFIG_MAX_INTERRUPTS; i++)
		if (cfg->irq_bitmap[i / 32] & (1u << (i % 32)))
			json_object_array_add(irqs, json_object_new_int((int)i));
	for (size_t i = 0; i < cfg->n_images; i++) {
		const struct hv_image *img = &cfg->images[i];
		json_object *m = json_object_new_object();

		json_object_object_add(m, "key", json_object_new_string(img->key));
		json_object_object_add(m, "path",
				       json_object_new_string(img->path ? img->path : ""));
		json_object_object_add(m, "load_paddr", u64_json(img->load_paddr));
		json_object_object_add(m, "size", u64_json(img->size));
		json_object_array_add(images, m);
	}
	json_object_object_add(o, "memory_regions", regions);
	json_object_object_add(o, "interrupts", irqs);
	json_object_object_add(o, "images", images);
}

static json_object *zone_json(const struct hvisor_zone_info *zi, const struct zone *z, bool details)
{
	json_object *o = json_object_new_object();
	char name[HV_CONFIG_NAME_LEN + 1];
	uint64_t id, cpus;

	/* what the hypervisor says, or (a zone still starting) our config */
	if (zi) {
		info_name(zi, name);
		id = zi->zone_id;
		cpus = zi->cpus;
	} else {
		snprintf(name, sizeof(name), "%s", z->cfg->name);
		id = z->cfg->zone_id;
		cpus = z->cfg->cpus;
	}
	json_object_object_add(o, "zone_id", json_object_new_int64((int64_t)id));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "cpus", cpus_to_json(cpus));
	json_object_object_add(o, "status",
			       json_object_new_string(!zi	   ? "starting"
						      : zi->is_err ? "error"
								   : "running"));
	json_object_object_add(o, "managed", json_object_new_boolean(z != NULL));
	if (z && z->state == ZONE_RUNNING)
		json_object_object_add(o, "started_usec",
				       json_object_new_int64((int64_t)z->started_usec));
	if (z && z->source)
		json_object_object_add(o, "source", json_object_new_string(z->source));
	if (z && details)
		add_details(o, z);
	return o;
}

static void add_virtio(struct daemon *d, json_object *o, uint32_t id)
{
	json_object *v = virtio_zone_info(d, id);

	if (v)
		json_object_object_add(o, "virtio", v);
}

static int cmp_info(const void *a, const void *b)
{
	const struct hvisor_zone_info *x = a, *y = b;

	return x->zone_id < y->zone_id ? -1 : x->zone_id > y->zone_id;
}

static int method_list(struct conn *c, const struct vl_call *call, int *fds, size_t n_fds)
{
	struct daemon *d = conn_daemon(c);
	struct hvisor_zone_info zones[ZONE_LIST_CAP];
	json_object *arr, *p;
	struct hv_error err;
	struct zone *z;
	int n;

	if (vl_params_parse(call->parameters, NULL, 0, &err) < 0)
		return conn_fail_invalid(c, NULL, &err);
	n = hv_zone_list(d->hv, zones, ZONE_LIST_CAP);
	if (n < 0)
		return conn_fail_kernel(c, "ZONE_LIST", n);
	qsort(zones, (size_t)n, sizeof(zones[0]), cmp_info);
	arr = json_object_new_array();
	for (int i = 0; i < n; i++)
		json_object_array_add(arr, zone_json(&zones[i], managed(d, &zones[i]), false));
	TAILQ_FOREACH (z, &d->zones, entry)
		if (z->state == ZONE_STARTING)
			json_object_array_add(arr, zone_json(NULL, z, false));
	p = json_object_new_object();
	json_object_object_add(p, "zones", arr);
	return conn_reply(c, p);
}

static int method_info(struct conn *c, const struct vl_call *call, int *fds, size_t n_fds)
{
	struct daemon *d = conn_daemon(c);
	struct hvisor_zone_info zones[ZONE_LIST_CAP];
	struct zone *z;
	json_object *p;
	uint32_t id = 0;
	int n;

	n = get_zone_id_param(c, call, &id);
	if (n < 0)
		return n;
	n = hv_zone_list(d->hv, zones, ZONE_LIST_CAP);
	if (n < 0)
		return conn_fail_kernel(c, "ZONE_LIST", n);
	for (int i = 0; i < n; i++)
		if (zones[i].zone_id == id) {
			json_object *o = zone_json(&zones[i], managed(d, &zones[i]), true);

			add_virtio(d, o, id);
			p = json_object_new_object();
			json_object_object_add(p, "zone", o);
			return conn_reply(c, p);
		}
	z = zone_find(d, id);
	if (z && z->state == ZONE_STARTING) {
		p = json_object_new_object();
		json_object_object_add(p, "zone", zone_json(NULL, z, true));
		return conn_reply(c, p);
	}
	return error_zone(c, VL_ERROR_ZONE_NOT_FOUND, id, "no zone %u", id);
}

const struct method zone_methods[] = {
	{"org.hvisor.Zone.Start", method_start, METHOD_MUTATING | METHOD_TAKES_FDS},
	{"org.hvisor.Zone.Shutdown", method_shutdown, METHOD_MUTATING},
	{"org.hvisor.Zone.List", method_list, 0},
	{"org.hvisor.Zone.Info", method_info, 0},
	{NULL, NULL, 0},
};

/* ---- the state file -------------------------------------------------------------------- */

json_object *zones_state_json(struct daemon *d)
{
	json_object *a = json_object_new_array();
	const struct zone *z;

	TAILQ_FOREACH (z, &d->zones, entry) {
		json_object *o;

		if (z->state != ZONE_RUNNING || !z->config)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(z->cfg->zone_id));
		json_object_object_add(o, "config", json_object_get(z->config));
		if (z->source)
			json_object_object_add(o, "source", json_object_new_string(z->source));
		json_object_object_add(o, "started_by", json_object_new_int64(z->started_by));
		json_object_object_add(o, "started_usec", json_object_new_uint64(z->started_usec));
		json_object_array_add(a, o);
	}
	return a;
}

/* One zone of the state file, if the hypervisor runs it (with that name)
 * and its config passes the checks of a Start. */
static void restore_zone(struct daemon *d, json_object *o, size_t i,
			 const struct hvisor_zone_info *zones, int n)
{
	struct hv_zone_config *cfg = NULL;
	json_object *config = NULL;
	const char *source = NULL;
	uint64_t id = 0, by = 0, since = 0;
	char path[32], name[HV_CONFIG_NAME_LEN + 1] = "";
	struct hv_error err;
	struct zone *z;
	int k;

	hv_json_path_index(path, sizeof(path), "zones", i);
	if (hv_json_get_u64(o, "id", path, UINT32_MAX, true, &id, &err) < 0 ||
	    hv_json_get_u64(o, "started_by", path, UINT32_MAX, true, &by, &err) < 0 ||
	    hv_json_get_u64(o, "started_usec", path, UINT64_MAX, true, &since, &err) < 0 ||
	    hv_json_get_string(o, "source", path, PATH_MAX, false, &source, &err) < 0 ||
	    hv_json_lookup(o, "config", path, true, &config, &err) < 0) {
		log_warn("state file: %s: %s; zone left unmanaged", err.path, err.message);
		return;
	}
	if (hv_zone_config_parse(config, d->hv->arch, &cfg, &err) < 0) {
		log_warn("state file: %s.config.%s: %s; zone left unmanaged", path, err.path,
			 err.message);
		return;
	}
	if (cfg->zone_id != id) {
		log_warn("state file: %s: the config of zone %u for zone %llu; zone left unmanaged",
			 path, cfg->zone_id, (unsigned long long)id);
		hv_zone_config_free(cfg);
		return;
	}
	for (k = 0; k < n && zones[k].zone_id != id; k++)
		;
	if (k < n)
		info_name(&zones[k], name);
	if (k == n || strncmp(name, cfg->name, sizeof(name)) != 0 || zone_find(d, (uint32_t)id)) {
		log_notice("zone %llu (%s) of the state file %s", (unsigned long long)id, cfg->name,
			   k == n ? "no longer runs: forgotten" : "is not the zone running now");
		hv_zone_config_free(cfg);
		return;
	}
	z = zone_new(d, &cfg, config, (uid_t)by, NULL);
	if (!z)
		return;
	z->source = source ? strdup(source) : NULL;
	z->state = ZONE_RUNNING;
	z->started_usec = since;
	log_info("zone %u (%s) managed again", z->cfg->zone_id, z->cfg->name);
}

void zones_state_restore(struct daemon *d, json_object *zones)
{
	struct hvisor_zone_info running[ZONE_LIST_CAP];
	int n = hv_zone_list(d->hv, running, ZONE_LIST_CAP);

	if (n < 0) {
		log_errno(LOG_WARNING, n, "ZONE_LIST: no zone of the state file is managed again");
		return;
	}
	for (size_t i = 0; zones && i < json_object_array_length(zones); i++) {
		json_object *o = json_object_array_get_idx(zones, i);

		if (json_object_is_type(o, json_type_object))
			restore_zone(d, o, i, running, n);
	}
}

/* ---- hvisord --stop-zones --------------------------------------------------------------- */

struct stop_all {
	unsigned pending;
	void (*done)(void *arg);
	void *arg;
};

static void one_stopped(void *arg)
{
	struct stop_all *st = arg;

	if (--st->pending == 0) {
		st->done(st->arg);
		free(st);
	}
}

void zones_stop_all(struct daemon *d, void (*done)(void *arg), void *arg)
{
	struct hvisor_zone_info zones[ZONE_LIST_CAP];
	struct stop_all *st = calloc(1, sizeof(*st));
	int n = hv_zone_list(d->hv, zones, ZONE_LIST_CAP);

	if (!st || n < 0) {
		if (n < 0)
			log_errno(LOG_ERR, n, "ZONE_LIST: the zones keep running");
		free(st);
		done(arg);
		return;
	}
	*st = (struct stop_all){.pending = 1, .done = done, .arg = arg};
	for (int i = 0; i < n; i++) {
		uint32_t id = zones[i].zone_id;
		struct zone *z = zone_find(d, id);
		int r;

		if (id == 0)
			continue;
		r = hv_zone_shutdown(d->hv, id);
		if (r < 0) {
			log_errno(LOG_ERR, r, "ZONE_SHUTDOWN of zone %u", id);
			continue;
		}
		log_info("zone %u shut down (hvisord --stop-zones)", id);
		if (z) {
			daemon_event(d, "ZoneStopped", id, NULL, NULL);
			zone_free(d, z);
		}
		st->pending++;
		if (!virtio_zone_stopped(d, id, one_stopped, st))
			st->pending--;
	}
	state_save(d);
	one_stopped(st);
}
