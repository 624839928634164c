// SPDX-License-Identifier: GPL-2.0-only
/*
 * org.hvisor.Virtiod (proto/virtiod.h): hvisord's requests over the control
 * socket (SOCK_SEQPACKET: one varlink message per packet, its fds with it).
 * hvisord is trusted more than a guest but still checked: a bad request is
 * answered with an error, never half-applied. The first controller is the
 * socketpair hvisord started us with; a restarted hvisord connects to our
 * listening socket (RUNDIR/zone<N>/control.sock) and replaces it.
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "log.h"
#include "util.h"
#include "varlink.h"
#include "virtiod.h"
#include "virtiod-protocol.h"

/* Connections waiting on the listening socket: only a restarted hvisord
 * connects, once. */
#define CONTROL_BACKLOG 4

static void reply(struct virtiod *v, json_object *msg)
{
	size_t len;
	const char *s = vl_message_serialize(msg, &len);

	if (send(v->control_fd, s, len, MSG_NOSIGNAL) < 0)
		log_warn("control: reply lost: %m");
	json_object_put(msg);
}

static void reply_error(struct virtiod *v, const char *error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reply_error(struct virtiod *v, const char *error, const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_warn("control: %s", buf);
	reply(v, vl_error_newf(error, "%s", buf));
}

/* org.hvisor.InvalidParameter: the parameter's path and what is wrong. */
static void reply_invalid(struct virtiod *v, const struct hv_error *err)
{
	json_object *p = json_object_new_object();
	char buf[400];

	hv_error_format(err, buf, sizeof(buf));
	log_warn("control: %s", buf);
	json_object_object_add(p, "parameter", json_object_new_string(err->path));
	json_object_object_add(p, "message", json_object_new_string(buf));
	reply(v, vl_error_new(VL_ERROR_INVALID_PARAMETER, p));
}

static int parse_ram(json_object *ram, struct gmem_region *r, unsigned *ret_n, struct hv_error *err)
{
	struct hv_virtiod_ram map[HV_VIRTIOD_MAX_RAM];
	int ret = hv_virtiod_ram_from_json(ram, map, ret_n, err);

	for (unsigned i = 0; ret == 0 && i < *ret_n; i++)
		r[i] = (struct gmem_region){
			.gpa = map[i].gpa, .size = map[i].size, .offset = map[i].offset};
	return ret;
}

static void do_setup(struct virtiod *v, json_object *params, int *fds, size_t n_fds)
{
	json_object *zone, *ram, *user, *serve;
	const struct vl_param spec[] = {
		{"zone_id", json_type_int, true, &zone},
		{"ram", json_type_array, true, &ram},
		{"user", json_type_string, false, &user},
		{"serve", json_type_boolean, false, &serve},
	};
	struct gmem_region regions[HV_VIRTIOD_MAX_RAM];
	struct hv_error err;
	unsigned n;
	struct stat st;
	void *state;
	int r;

	if (v->setup_done)
		return reply_error(v, VL_ERROR_BUSY, "already set up");
	if (vl_params_parse(params, spec, ARRAY_SIZE(spec), &err) < 0 ||
	    parse_ram(ram, regions, &n, &err) < 0)
		return reply_invalid(v, &err);
	if (n_fds != 3)
		return reply_error(v, VL_ERROR_INVALID_PARAMETER,
				   "Setup needs 3 descriptors (channel, memory, state), got %zu",
				   n_fds);
	/* refuse before anything is set up, not after */
	if (user && geteuid() == 0 && strcmp(json_object_get_string(user), "root") != 0 &&
	    json_object_get_string_len(user) > 0 && !getpwnam(json_object_get_string(user)))
		return reply_error(v, VL_ERROR_INVALID_PARAMETER, "user: no user '%.64s'",
				   json_object_get_string(user));
	if (fstat(fds[2], &st) < 0 || (uint64_t)st.st_size < VIRTIOD_STATE_SIZE)
		return reply_error(v, VL_ERROR_INVALID_PARAMETER,
				   "state memfd smaller than %zu bytes", VIRTIOD_STATE_SIZE);
	state = mmap(NULL, VIRTIOD_STATE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[2], 0);
	if (state == MAP_FAILED)
		return reply_error(v, VL_ERROR_INTERNAL, "cannot map the state memfd: %m");
	r = gmem_map(&v->mem, fds[1], regions, n);
	if (r < 0) {
		munmap(state, VIRTIOD_STATE_SIZE);
		return reply_error(v, VL_ERROR_INVALID_PARAMETER, "cannot map zone RAM: %s",
				   strerror(-r));
	}
	/* serve: false holds the guest's requests until Serve(), so the first
	 * one finds the devices added in between */
	r = channel_start(v, fds[0], !serve || json_object_get_boolean(serve));
	if (r < 0) {
		gmem_unmap(&v->mem);
		munmap(state, VIRTIOD_STATE_SIZE);
		return reply_error(v, VL_ERROR_INTERNAL, "cannot serve the channel: %s",
				   strerror(-r));
	}
	v->zone_id = (uint32_t)json_object_get_int64(zone);
	v->state = state;
	v->mem_fd = TAKE_FD(fds[1]);
	v->state_fd = TAKE_FD(fds[2]);
	fds[0] = -1; /* the channel's now */
	if (user)
		v->user = strdup(json_object_get_string(user));
	/* Everything privileged is done: from here on only the guest's
	 * requests and hvisord's fds. */
	r = virtiod_drop_privileges(v->user);
	if (r < 0)
		return reply_error(v, VL_ERROR_INTERNAL, "cannot drop privileges to '%s': %s",
				   v->user ? v->user : "", strerror(-r));
	v->setup_done = true;
	log_info("serving zone %u (%u RAM regions)", v->zone_id, n);
	reply(v, vl_reply_new(NULL, false));
}

static json_object *describe(struct vdev *vd)
{
	struct virtio_dev *d = vd->dev;
	json_object *o = json_object_new_object();

	json_object_object_add(o, "slot", json_object_new_int((int)vd->slot));
	json_object_object_add(o, "type",
			       json_object_new_string(hv_virtio_type_to_string(vd->type)));
	json_object_object_add(o, "addr", json_object_new_uint64(d->base));
	json_object_object_add(o, "len", json_object_new_uint64(d->len));
	json_object_object_add(o, "irq", json_object_new_int64(d->irq));
	json_object_object_add(o, "driver_status", json_object_new_int64(d->st->status));
	json_object_object_add(o, "driver_features",
			       json_object_new_uint64(d->st->driver_features));
	json_object_object_add(o, "needs_reset", json_object_new_boolean(d->needs_reset));
	json_object_object_add(o, "requests", json_object_new_uint64(d->n_requests));
	json_object_object_add(o, "errors", json_object_new_uint64(d->n_errors));
	json_object_object_add(o, "notifies", json_object_new_uint64(d->n_notifies));
	json_object_object_add(o, "interrupts", json_object_new_uint64(d->n_interrupts));
	if (d->ops->describe)
		d->ops->describe(d, o);
	return o;
}

static void do_add(struct virtiod *v, json_object *params, int *fds, size_t n_fds)
{
	json_object *slot, *device, *restore = NULL, *p;
	const struct vl_param spec[] = {
		{"slot", json_type_int, true, &slot},
		{"device", json_type_object, true, &device},
		{"restore", json_type_boolean, false, &restore},
	};
	struct hv_virtio_device dev = {0};
	struct hv_error err;
	struct vdev *vd;
	int r;

	if (!v->setup_done)
		return reply_error(v, VL_ERROR_BUSY, "not set up");
	if (vl_params_parse(params, spec, ARRAY_SIZE(spec), &err) < 0)
		return reply_invalid(v, &err);
	if (hv_virtio_device_from_json(device, &dev, &err) < 0)
		return reply_error(v, VL_ERROR_INVALID_PARAMETER, "device.%.100s: %.200s", err.path,
				   err.message);
	if (n_fds != 1) {
		hv_virtio_device_clear(&dev);
		return reply_error(v, VL_ERROR_INVALID_PARAMETER,
				   "AddDevice needs the backing descriptor, got %zu", n_fds);
	}
	r = virtiod_add(v, (unsigned)json_object_get_int64(slot), &dev, fds[0],
			restore && json_object_get_boolean(restore), &vd);
	fds[0] = -1; /* taken (also on failure) */
	hv_virtio_device_clear(&dev);
	/* hvisord says "cannot add the device: " before this */
	if (r < 0)
		return reply_error(v, r == -EBUSY ? VL_ERROR_BUSY : VL_ERROR_INVALID_PARAMETER,
				   "hvisor-virtiod: %s", strerror(-r));
	p = json_object_new_object();
	json_object_object_add(p, "info", describe(vd));
	reply(v, vl_reply_new(p, false));
}

static void do_remove(struct virtiod *v, json_object *params)
{
	json_object *addr;
	const struct vl_param spec[] = {{"addr", json_type_int, true, &addr}};
	struct hv_error err;

	if (vl_params_parse(params, spec, ARRAY_SIZE(spec), &err) < 0)
		return reply_invalid(v, &err);
	if (virtiod_remove(v, json_object_get_uint64(addr)) < 0)
		return reply_error(v, VL_ERROR_INVALID_PARAMETER, "no device at 0x%llx",
				   (unsigned long long)json_object_get_uint64(addr));
	reply(v, vl_reply_new(NULL, false));
}

static void do_list(struct virtiod *v, json_object *params)
{
	json_object *arr = json_object_new_array(), *p;
	struct hv_error err;

	if (vl_params_parse(params, NULL, 0, &err) < 0) {
		json_object_put(arr);
		return reply_invalid(v, &err);
	}
	for (unsigned i = 0; i < v->n_devs; i++)
		json_object_array_add(arr, describe(&v->devs[i]));
	p = json_object_new_object();
	json_object_object_add(p, "devices", arr);
	json_object_object_add(p, "ioreqs", json_object_new_uint64(v->n_ioreqs));
	reply(v, vl_reply_new(p, false));
}

static void do_serve(struct virtiod *v, json_object *params)
{
	struct hv_error err;

	if (vl_params_parse(params, NULL, 0, &err) < 0)
		return reply_invalid(v, &err);
	if (!v->setup_done)
		return reply_error(v, VL_ERROR_BUSY, "not set up");
	channel_serve(v);
	reply(v, vl_reply_new(NULL, false));
}

/* hvctl log-level, through hvisord: the level it had comes back. */
static void do_set_log_level(struct virtiod *v, json_object *params)
{
	json_object *level, *p;
	const struct vl_param spec[] = {{"level", json_type_string, true, &level}};
	struct hv_error err;
	int old = log_get_level(), l;

	if (vl_params_parse(params, spec, ARRAY_SIZE(spec), &err) < 0)
		return reply_invalid(v, &err);
	l = log_level_from_string(json_object_get_string(level));
	if (l < 0)
		return reply_error(v, VL_ERROR_INVALID_PARAMETER,
				   "level: unknown log level '%.32s'",
				   json_object_get_string(level));
	log_set_level(l);
	log_notice("log level set to %s", log_level_to_string(l));
	p = json_object_new_object();
	json_object_object_add(p, "previous", json_object_new_string(log_level_to_string(old)));
	reply(v, vl_reply_new(p, false));
}

/* Who answers: a restarted hvisord checks it is the backend it left. */
static void do_get_info(struct virtiod *v, json_object *params)
{
	struct hv_error err;
	json_object *p;

	if (vl_params_parse(params, NULL, 0, &err) < 0)
		return reply_invalid(v, &err);
	p = json_object_new_object();
	json_object_object_add(p, "version", json_object_new_int(HV_VIRTIOD_PROTO_VERSION));
	json_object_object_add(p, "zone_id", json_object_new_int64(v->zone_id));
	json_object_object_add(p, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(p, "setup", json_object_new_boolean(v->setup_done));
	json_object_object_add(
		p, "serving",
		json_object_new_boolean(v->ev_channel &&
					event_pending(v->ev_channel, EV_READ, NULL)));
	json_object_object_add(p, "devices", json_object_new_int((int)v->n_devs));
	reply(v, vl_reply_new(p, false));
}

static void reply_not_found(struct virtiod *v, const char *method)
{
	json_object *p = json_object_new_object();
	char buf[160];

	snprintf(buf, sizeof(buf), "no method %.100s", method);
	json_object_object_add(p, "method", json_object_new_string(method));
	json_object_object_add(p, "message", json_object_new_string(buf));
	reply(v, vl_error_new(VL_ERROR_METHOD_NOT_FOUND, p));
}

static void dispatch(struct virtiod *v, json_object *msg, int *fds, size_t n_fds)
{
	struct vl_call call;
	char err[256];
	int r;

	if (vl_call_parse(msg, &call, err, sizeof(err)) < 0)
		return reply_error(v, VL_ERROR_PROTOCOL, "%s", err);
	/* the contract first (proto/virtiod-protocol.h), then each method's
	 * own checks */
	r = hv_virtiod_check_call(call.method, call.parameters, err, sizeof(err));
	if (r == -ENOENT)
		return reply_not_found(v, call.method);
	if (r < 0) {
		struct hv_error e;

		hv_error_set(&e, "", "%s", err);
		return reply_invalid(v, &e);
	}
	if (strcmp(call.method, HV_VIRTIOD_SETUP) == 0)
		return do_setup(v, call.parameters, fds, n_fds);
	if (strcmp(call.method, HV_VIRTIOD_ADD_DEVICE) == 0)
		return do_add(v, call.parameters, fds, n_fds);
	if (n_fds)
		return reply_error(v, VL_ERROR_INVALID_PARAMETER, "%s takes no descriptors",
				   call.method);
	if (strcmp(call.method, HV_VIRTIOD_REMOVE_DEVICE) == 0)
		return do_remove(v, call.parameters);
	if (strcmp(call.method, HV_VIRTIOD_LIST) == 0)
		return do_list(v, call.parameters);
	if (strcmp(call.method, HV_VIRTIOD_SERVE) == 0)
		return do_serve(v, call.parameters);
	if (strcmp(call.method, HV_VIRTIOD_SET_LOG_LEVEL) == 0)
		return do_set_log_level(v, call.parameters);
	if (strcmp(call.method, HV_VIRTIOD_GET_INFO) == 0)
		return do_get_info(v, call.parameters);
	reply_not_found(v, call.method);
}

static void control_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct virtiod *v = arg;
	int fds[HV_MAX_FDS_PER_MSG];
	size_t n_fds;
	json_object *msg;
	int r = vl_recv_packet(fd, fds, ARRAY_SIZE(fds), &n_fds, &msg);

	if (r == -EAGAIN || r == -EINTR)
		return;
	if (r == -EBADMSG)
		reply_error(v, VL_ERROR_PROTOCOL, "expected one message per packet");
	else if (r <= 0) {
		/* hvisord is gone. The guest keeps its devices: we go on until
		 * the zone goes away or we are told to stop, and take the next
		 * hvisord's connection. */
		if (r < 0)
			log_errno(LOG_WARNING, r, "control socket");
		log_notice("hvisord closed the control socket; serving on");
		control_stop(v);
	} else if (v->draining)
		reply_error(v, VL_ERROR_BUSY, "shutting down");
	else
		dispatch(v, msg, fds, n_fds);
	json_object_put(msg);
	close_many(fds, n_fds); /* whatever was not taken */
}

/* fd (into *slot) read by cb from now on; on failure nothing is kept. */
static int watch(struct virtiod *v, int fd, event_callback_fn cb, int *slot, struct event **ev)
{
	*ev = event_new(v->base, fd, EV_READ | EV_PERSIST, cb, v);
	if (!*ev)
		return -ENOMEM;
	event_add(*ev, NULL);
	*slot = fd;
	return 0;
}

static void unwatch(int *slot, struct event **ev)
{
	if (*ev)
		event_free(*ev);
	*ev = NULL;
	*slot = safe_close(*slot);
}

int control_start(struct virtiod *v, int fd)
{
	control_stop(v); /* a new controller replaces the old */
	return watch(v, fd, control_read_cb, &v->control_fd, &v->ev_control);
}

void control_stop(struct virtiod *v)
{
	unwatch(&v->control_fd, &v->ev_control);
}

/* A restarted hvisord (our uid when we were started: only it may reach the
 * socket anyway) becomes the controller. */
static void listen_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct virtiod *v = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    cred.uid != v->controller_uid) {
		log_warn("control: refusing a connection from uid %u",
			 len == sizeof(cred) ? (unsigned)cred.uid : 0u);
		close(fd);
		return;
	}
	if (control_start(v, fd) < 0) {
		close(fd);
		return;
	}
	log_notice("control: hvisord (pid %d) took over", (int)cred.pid);
}

int control_listen(struct virtiod *v, int lfd)
{
	/* we listen, so a connection's SO_PEERCRED names this process */
	if (listen(lfd, CONTROL_BACKLOG) < 0)
		return negative_errno();
	v->controller_uid = geteuid();
	return watch(v, lfd, listen_cb, &v->listen_fd, &v->ev_listen);
}

void control_unlisten(struct virtiod *v)
{
	unwatch(&v->listen_fd, &v->ev_listen);
}
