// SPDX-License-Identifier: GPL-2.0-only
/* Opening a backend, and the wrappers that notice when it goes away and
 * bring it back (hv.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hv.h"
#include "log.h"
#include "util.h"

#define RETRY_MIN_MSEC 100
#define RETRY_MAX_MSEC 10000

int hv_parse(const char *spec, const struct hv_ops **ret_ops, const char **ret_arg)
{
	if (strcmp(spec, "kmod") == 0 || strncmp(spec, "kmod:", 5) == 0) {
		*ret_ops = &hv_kmod_ops;
		*ret_arg = spec[4] ? spec + 5 : "/dev/hvisor";
	} else if (strncmp(spec, "sim:", 4) == 0 && spec[4]) {
		*ret_ops = &hv_sim_ops;
		*ret_arg = spec + 4;
	} else
		return -EINVAL;
	return 0;
}

int hv_open(const struct hv_ops *ops, const char *arg, struct hv **ret)
{
	struct hv *hv;
	int r;

	hv = calloc(1, sizeof(*hv));
	if (!hv)
		return -ENOMEM;
	hv->ops = ops;
	hv->fd = -1;
	hv->path = strdup(arg);
	if (!hv->path) {
		free(hv);
		return -ENOMEM;
	}
	r = ops->open(hv, arg);
	if (r < 0) {
		free(hv->path);
		free(hv);
		return r;
	}
	r = ops->config_check(hv, &hv->magic);
	if (r < 0) {
		hv_close(hv);
		return r;
	}
	if (!hv_magic_supported(hv))
		log_warn(
			"hypervisor reports config magic 0x%02llx; this hvisord encodes 0x05 and 0x06 only, zone start will be refused",
			(unsigned long long)hv->magic);
	*ret = hv;
	return 0;
}

struct hv *hv_close(struct hv *hv)
{
	if (!hv)
		return NULL;
	if (hv->ev_watch)
		event_free(hv->ev_watch);
	if (hv->ev_retry)
		event_free(hv->ev_retry);
	hv->ops->close(hv);
	free(hv->path);
	free(hv);
	return NULL;
}

int hv_magic_supported(const struct hv *hv)
{
	return hv_zone_config_size(hv->arch, (unsigned)hv->magic) != 0;
}

static void watch_cb(evutil_socket_t fd, short what, void *arg);

/* The sim's socket, between calls: readable means it closed. */
static void watch_arm(struct hv *hv)
{
	if (!hv->base || !hv->ops->watch_fd || hv->fd < 0)
		return;
	hv->ev_watch = event_new(hv->base, hv->fd, EV_READ | EV_PERSIST, watch_cb, hv);
	if (!hv->ev_watch || event_add(hv->ev_watch, NULL) < 0)
		log_warn("cannot watch the %s backend: a loss shows at the next call",
			 hv->ops->what);
}

static void retry_arm(struct hv *hv)
{
	struct timeval tv = timeval_from_ms(hv->retry_msec);

	if (hv->ev_retry)
		evtimer_add(hv->ev_retry, &tv);
}

static void mark_lost(struct hv *hv, int r)
{
	if (hv->lost)
		return;
	hv->lost = true;
	hv->lost_reason = r;
	log_err("lost the %s backend at %s: %s; hvisord %s it as soon as it is back", hv->ops->what,
		hv->path, strerror(-r), hv->ops->watch_fd ? "reconnects to" : "reopens");
	if (hv->ev_watch)
		event_free(hv->ev_watch);
	hv->ev_watch = NULL;
	hv->ops->close(hv); /* a kmod backend's device can go away meanwhile */
	hv->retry_msec = RETRY_MIN_MSEC;
	retry_arm(hv);
	if (hv->on_change)
		hv->on_change(hv, hv->userdata);
}

/* Opens the backend again; 0 once it is back. */
static int reconnect(struct hv *hv)
{
	uint64_t magic = 0;
	int r = hv->ops->open(hv, hv->path);

	if (r >= 0)
		r = hv->ops->config_check(hv, &magic);
	if (r < 0) {
		hv->ops->close(hv);
		log_debug("the %s backend at %s is still gone: %s", hv->ops->what, hv->path,
			  strerror(-r));
		return r;
	}
	hv->magic = magic;
	hv->lost = false;
	hv->generation++;
	log_notice("the %s backend at %s is back: %s, config magic 0x%02llx%s", hv->ops->what,
		   hv->path, hv_arch_to_string(hv->arch), (unsigned long long)hv->magic,
		   hv_magic_supported(hv) ? "" : " (unsupported)");
	if (hv->ev_retry)
		evtimer_del(hv->ev_retry);
	watch_arm(hv);
	if (hv->on_change)
		hv->on_change(hv, hv->userdata);
	return 0;
}

static void watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hv *hv = arg;
	char c;
	ssize_t k = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	if (k > 0) {
		/* nothing is due between calls: drop the stray packet */
		log_warn("the %s backend sent something unasked; dropped", hv->ops->what);
		(void)recv(fd, &c, 1, MSG_DONTWAIT);
		return;
	}
	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	mark_lost(hv, k == 0 ? -ECONNRESET : negative_errno());
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hv *hv = arg;

	if (!hv->lost || reconnect(hv) == 0)
		return;
	hv->retry_msec = MIN(hv->retry_msec * 2, (unsigned)RETRY_MAX_MSEC);
	retry_arm(hv);
}

int hv_watch(struct hv *hv, struct event_base *base,
	     void (*on_change)(struct hv *hv, void *userdata), void *userdata)
{
	hv->base = base;
	hv->on_change = on_change;
	hv->userdata = userdata;
	hv->ev_retry = evtimer_new(base, retry_cb, hv);
	if (!hv->ev_retry)
		return -ENOMEM;
	watch_arm(hv);
	return 0;
}

int hv_ensure(struct hv *hv)
{
	if (!hv->lost)
		return 0;
	return reconnect(hv) < 0 ? HV_LOST : 0;
}

/* An operation's result: a loss becomes HV_LOST (and is handled). */
static int checked(struct hv *hv, int r)
{
	if (r < 0 && hv->ops->is_loss(r)) {
		mark_lost(hv, r);
		return HV_LOST;
	}
	return r;
}

int hv_load(struct hv *hv, uint64_t paddr, const void *data, size_t len)
{
	if (len > HV_LOAD_CHUNK)
		return -EINVAL;
	return hv->lost ? HV_LOST : checked(hv, hv->ops->load(hv, paddr, data, len));
}

int hv_load_file(struct hv *hv, uint64_t paddr, int fd, uint64_t off, size_t len)
{
	if (!hv->ops->load_file)
		return -EOPNOTSUPP;
	return hv->lost ? HV_LOST : checked(hv, hv->ops->load_file(hv, paddr, fd, off, len));
}

int hv_zone_start(struct hv *hv, const void *config, size_t size)
{
	int r = hv_ensure(hv);

	return r < 0 ? r : checked(hv, hv->ops->zone_start(hv, config, size));
}

int hv_zone_shutdown(struct hv *hv, uint32_t zone_id)
{
	int r = hv_ensure(hv);

	return r < 0 ? r : checked(hv, hv->ops->zone_shutdown(hv, zone_id));
}

int hv_zone_list(struct hv *hv, struct hvisor_zone_info *zones, size_t cap)
{
	int r = hv_ensure(hv);

	return r < 0 ? r : checked(hv, hv->ops->zone_list(hv, zones, cap));
}

int hv_zone_attach(struct hv *hv, uint32_t zone_id, int *ret_channel, int *ret_mem)
{
	int r = hv_ensure(hv);

	return r < 0 ? r : checked(hv, hv->ops->zone_attach(hv, zone_id, ret_channel, ret_mem));
}
