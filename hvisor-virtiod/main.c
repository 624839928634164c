// SPDX-License-Identifier: GPL-2.0-only
/* hvisor-virtiod: the virtio backends of one zone (virtiod.h). Started by
 * hvisord with the control socket as --control-fd; everything else arrives
 * through it. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "devices.h"
#include "log.h"
#include "util.h"
#include "virtiod.h"

struct vdev *virtiod_find(struct virtiod *v, uint64_t addr)
{
	unsigned lo = 0, hi = v->n_devs;

	/* sorted by base, non-overlapping: binary search */
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		struct virtio_dev *d = v->devs[mid].dev;

		if (addr < d->base)
			hi = mid;
		else if (addr - d->base >= d->len)
			lo = mid + 1;
		else
			return &v->devs[mid];
	}
	return NULL;
}

static int create_device(struct virtiod *v, unsigned slot, const struct hv_virtio_device *spec,
			 int fd, struct virtio_dev **ret)
{
	struct vdev_params p = {
		.base = spec->addr,
		.len = spec->len,
		.irq = spec->irq,
		.mem = &v->mem,
		.state = &v->state[slot],
		.raise_irq = channel_raise_irq,
		.irq_ctx = v,
		.evbase = v->base,
	};

	switch (spec->type) {
	case HV_VIRTIO_BLK: {
		struct blk_params bp = {
			.fd = fd,
			.readonly = spec->readonly,
			.serial = spec->serial,
			.aio = spec->aio,
		};

		return blk_create(&p, &bp, ret);
	}
	case HV_VIRTIO_NET: {
		struct net_params np = {.tap_fd = fd};

		memcpy(np.mac, spec->mac, sizeof(np.mac));
		return net_create(&p, &np, ret);
	}
	case HV_VIRTIO_CONSOLE: {
		struct console_params cp = {.pty_fd = fd};

		return console_create(&p, &cp, ret);
	}
	}
	safe_close(fd);
	return -EINVAL;
}

int virtiod_add(struct virtiod *v, unsigned slot, const struct hv_virtio_device *spec, int fd,
		bool restore, struct vdev **ret)
{
	struct virtio_dev *d;
	unsigned pos = 0;
	int r;

	if (slot >= VIRTIOD_STATE_SLOTS || v->n_devs == HV_VIRTIO_MAX_DEVICES) {
		safe_close(fd);
		return -EINVAL;
	}
	for (unsigned i = 0; i < v->n_devs; i++) {
		const struct virtio_dev *o = v->devs[i].dev;

		if (v->devs[i].slot == slot ||
		    ranges_overlap(spec->addr, spec->len, o->base, o->len)) {
			safe_close(fd);
			return -EBUSY;
		}
		if (o->base < spec->addr)
			pos = i + 1;
	}
	if (!restore)
		memset(&v->state[slot], 0, sizeof(v->state[0]));
	r = create_device(v, slot, spec, fd, &d);
	if (r < 0)
		return r;
	memmove(&v->devs[pos + 1], &v->devs[pos], (v->n_devs - pos) * sizeof(v->devs[0]));
	v->devs[pos] = (struct vdev){.dev = d, .type = spec->type, .slot = slot};
	v->n_devs++;
	/* a slot with the guest's setup from before a restart */
	r = virtio_dev_restore(d);
	log_info("%s: added (irq %u)%s", d->name, d->irq,
		 r > 0	 ? ", guest setup restored"
		 : r < 0 ? ", saved setup dropped"
			 : "");
	*ret = &v->devs[pos];
	return 0;
}

int virtiod_remove(struct virtiod *v, uint64_t addr)
{
	struct vdev *vd = virtiod_find(v, addr);
	unsigned i;

	if (!vd || vd->dev->base != addr)
		return -ENOENT;
	i = (unsigned)(vd - v->devs);
	log_info("%s: removed", vd->dev->name);
	/* like an unplug: what the guest has in flight is abandoned */
	vd->dev->ops->reset(vd->dev);
	memset(&v->state[vd->slot], 0, sizeof(v->state[0]));
	vd->dev->ops->destroy(vd->dev);
	memmove(&v->devs[i], &v->devs[i + 1], (v->n_devs - i - 1) * sizeof(v->devs[0]));
	v->n_devs--;
	return 0;
}

static void finish(struct virtiod *v, bool complete)
{
	for (unsigned i = 0; i < v->n_devs; i++)
		v->devs[i].dev->ops->destroy(v->devs[i].dev);
	v->n_devs = 0;
	channel_flush(v);
	v->exit_code = complete ? 0 : 1;
	event_base_loopbreak(v->base);
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct virtiod *v = arg;
	bool busy = false;

	for (unsigned i = 0; i < v->n_devs; i++) {
		struct virtio_dev *d = v->devs[i].dev;

		if (d->ops->drain && d->ops->drain(d) > 0)
			busy = true;
	}
	channel_flush(v);
	if (!busy) {
		log_info("in-flight requests completed; exiting");
		finish(v, true);
	} else if (now_usec() >= v->drain_deadline_usec) {
		log_warn("requests still in flight after %d ms; exiting anyway",
			 VIRTIOD_DRAIN_MSEC);
		finish(v, false);
	} else {
		struct timeval tv = {.tv_usec = VIRTIOD_DRAIN_POLL_USEC};

		evtimer_add(v->ev_drain, &tv);
	}
}

void virtiod_begin_drain(struct virtiod *v, const char *why)
{
	if (v->draining)
		return;
	log_info("%s: finishing requests in flight", why);
	v->draining = true;
	v->drain_deadline_usec = now_usec() + VIRTIOD_DRAIN_MSEC * 1000ull;
	/* the zone channel keeps being served: vCPUs must get their answers */
	event_active(v->ev_drain, 0, 0);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	virtiod_begin_drain(arg, strsignal((int)sig));
}

/* After Setup: nothing this process does later needs root. */
int virtiod_drop_privileges(const char *user)
{
	if (geteuid() == 0 && user && *user && strcmp(user, "root") != 0) {
		struct passwd *pw = getpwnam(user);

		if (!pw)
			return -ESRCH;
		if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
			return negative_errno();
		if (setuid(0) == 0)
			return -EPERM; /* the drop did not stick */
		log_info("running as %s", user);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return negative_errno();
	return 0;
}

/* The control socket must be what hvisord passes, one end of an AF_UNIX
 * SOCK_SEQPACKET socketpair: on anything else no Setup could ever arrive
 * and we would wait for it forever. */
static int check_control_fd(int fd)
{
	int type = -1, domain = -1;
	socklen_t len = sizeof(int);
	struct stat st;

	if (fstat(fd, &st) < 0)
		return log_errno(LOG_ERR, negative_errno(), "--control-fd %d", fd);
	if (!S_ISSOCK(st.st_mode)) {
		log_err("--control-fd %d is not a socket", fd);
		return -ENOTSOCK;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return log_errno(LOG_ERR, negative_errno(), "--control-fd %d", fd);
	if (domain != AF_UNIX || type != SOCK_SEQPACKET) {
		log_err("--control-fd %d is not a unix SOCK_SEQPACKET socket (hvisord's socketpair)",
			fd);
		return -EPROTOTYPE;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hvisor-virtiod --control-fd N [--listen-fd N] [--log-level L] [--syslog]\n"
		"\n"
		"The virtio backends of one hvisor zone. Started by hvisord, which passes\n"
		"everything it needs over the control socket; not meant to be run by hand.\n");
}

struct args {
	int control_fd;
	int listen_fd; /* -1: none */
	int level;
	bool use_syslog;
};

/* The command line: 1 to run, else the exit code (0 after --help). */
static int parse_argv(int argc, char **argv, struct args *ret)
{
	static const struct option opts[] = {
		{"control-fd", required_argument, NULL, 'c'},
		{"listen-fd", required_argument, NULL, 'L'},
		{"log-level", required_argument, NULL, 'l'},
		{"syslog", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{},
	};
	uint64_t cfd = UINT64_MAX, lfd = UINT64_MAX;
	int c;

	*ret = (struct args){.listen_fd = -1, .level = LOG_INFO};
	while ((c = getopt_long(argc, argv, "c:l:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (parse_u64(optarg, INT32_MAX, &cfd) < 0) {
				fprintf(stderr, "hvisor-virtiod: bad --control-fd '%s'\n", optarg);
				return 2;
			}
			break;
		case 'L':
			if (parse_u64(optarg, INT32_MAX, &lfd) < 0) {
				fprintf(stderr, "hvisor-virtiod: bad --listen-fd '%s'\n", optarg);
				return 2;
			}
			break;
		case 'l':
			ret->level = log_level_from_string(optarg);
			if (ret->level < 0) {
				fprintf(stderr, "hvisor-virtiod: unknown log level '%s'\n", optarg);
				return 2;
			}
			break;
		case 'S':
			ret->use_syslog = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hvisor-virtiod %s\n", HV_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (cfd == UINT64_MAX || optind < argc) {
		usage(stderr);
		return 2;
	}
	ret->control_fd = (int)cfd;
	ret->listen_fd = lfd == UINT64_MAX ? -1 : (int)lfd;
	return 1;
}

int main(int argc, char **argv)
{
	struct virtiod v = {
		.control_fd = -1, .listen_fd = -1, .channel_fd = -1, .mem_fd = -1, .state_fd = -1};
	const int sigs[] = {SIGTERM, SIGINT};
	struct args args;
	int r = parse_argv(argc, argv, &args);

	if (r != 1)
		return r;
	log_init("hvisor-virtiod", args.use_syslog ? LOG_TARGET_SYSLOG : LOG_TARGET_STDERR,
		 args.level);
	if (check_control_fd(args.control_fd) < 0)
		return 1;
	/* the upstream daemon's name, so `pkill hvisor-virtio` still works */
	prctl(PR_SET_NAME, "hvisor-virtio", 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);

	v.base = event_base_new();
	if (!v.base)
		fatal("event_base_new failed");
	v.ev_drain = evtimer_new(v.base, drain_cb, &v);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		v.ev_signals[i] = evsignal_new(v.base, sigs[i], signal_cb, &v);
		if (!v.ev_signals[i] || evsignal_add(v.ev_signals[i], NULL) < 0)
			fatal("cannot handle signal %d", sigs[i]);
	}
	r = control_start(&v, args.control_fd);
	if (r >= 0 && args.listen_fd >= 0)
		r = control_listen(&v, args.listen_fd);
	if (r < 0 || !v.ev_drain)
		fatal("cannot start: %s", strerror(-r));

	event_base_dispatch(v.base);

	control_stop(&v);
	control_unlisten(&v);
	channel_stop(&v);
	gmem_unmap(&v.mem);
	if (v.state)
		munmap(v.state, VIRTIOD_STATE_SIZE);
	safe_close(v.mem_fd);
	safe_close(v.state_fd);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		event_free(v.ev_signals[i]);
	event_free(v.ev_drain);
	event_base_free(v.base);
	free(v.user);
	return v.exit_code;
}
