// SPDX-License-Identifier: GPL-2.0-only
/* hvisord: the hvisor control-plane daemon. The only user of /dev/hvisor;
 * serves zone lifecycle to hvctl over varlink (docs/protocol.md). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv.h"
#include "hvisord.h"
#include "load.h"
#include "log.h"
#include "sd-notify.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hvisord [OPTIONS]\n"
		"\n"
		"The hvisor control-plane daemon: starts, lists and shuts down zones for hvctl.\n"
		"\n"
		"  -b, --backend SPEC        kmod[:DEVICE] (default kmod:/dev/hvisor) or sim:SOCKET\n"
		"                            (an hvisor-sim instead of the hypervisor)\n"
		"  -r, --runtime-dir DIR     where hvisord.sock lives (default /run/hvisor)\n"
		"  -l, --log-level LEVEL     debug, info (default), notice, warning, err\n"
		"      --syslog              log to syslog (ident hvisord) instead of stderr\n"
		"      --max-connections N   clients at once (default 512)\n"
		"      --max-connections-per-user N\n"
		"                            of one uid other than root (default 1/8 of them)\n"
		"      --reserved-connections N\n"
		"                            kept for root and group hvisor (default 1/8)\n"
		"      --max-subscribers N   event subscribers at once (default 64)\n"
		"      --max-subscribers-per-user N\n"
		"                            of one uid other than root (default 1/8 of them)\n"
		"      --reserved-subscribers N\n"
		"                            kept for root and group hvisor (default 1/4)\n"
		"      --message-timeout SEC a message must arrive within SEC of its first\n"
		"                            byte (default 10)\n"
		"      --idle-timeout SEC    close a connection without a call, a reply or\n"
		"                            a subscription after SEC (default 60)\n"
		"      --max-pending-devices N\n"
		"                            virtio devices waiting for their zones to start,\n"
		"                            all zones together (default 64)\n"
		"      --virtiod PATH        the virtio backend (default: hvisor-virtiod next to\n"
		"                            hvisord, as in the build tree, else " HV_VIRTIOD_PATH
		")\n"
		"      --virtiod-user USER   it drops to this user (default nobody; \"root\": stays)\n"
		"      --stop-zones          on SIGTERM, shut every zone down before exiting\n"
		"                            (default: zones and their devices keep running, and\n"
		"                            the next hvisord manages them again)\n"
		"  -h, --help                this text\n"
		"  -V, --version             print the version\n"
		"\n"
		"Socket activation (LISTEN_FDS) and sd_notify (NOTIFY_SOCKET) are supported.\n");
}

static void all_stopped(void *arg)
{
	struct daemon *d = arg;

	event_base_loopbreak(d->base);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	if (sig == SIGHUP) {
		/* what daemons do on SIGHUP: the log again (a restarted syslog) */
		log_reopen();
		log_info("received %s: the log is reopened", strsignal((int)sig));
		return;
	}
	if (d->stopping)
		return;
	d->stopping = true;
	sd_notify_send("STOPPING=1");
	if (d->stop_zones) {
		log_info("received %s: shutting every zone down, then exiting",
			 strsignal((int)sig));
		zones_stop_all(d, all_stopped, d);
		return;
	}
	log_info("received %s, exiting; zones and their devices keep running", strsignal((int)sig));
	event_base_loopbreak(d->base);
}

static void raise_nofile(void)
{
	struct rlimit rl;

	/* every client is a descriptor; images are passed as descriptors */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The numeric options: long options with val LIMIT_OPT + index. */
#define LIMIT_OPT   0x100
#define LIMIT_UNSET UINT_MAX /* defaults to a share of its total */
static const struct limit_opt {
	const char *name;
	size_t offset; /* in struct limits */
	unsigned max;
	bool zero_ok;
} limit_opts[] = {
	{"max-connections", offsetof(struct limits, max_connections), 65536, false},
	{"max-connections-per-user", offsetof(struct limits, max_connections_per_user), 65536,
	 false},
	{"reserved-connections", offsetof(struct limits, reserved_connections), 65536, true},
	{"max-subscribers", offsetof(struct limits, max_subscribers), 4096, false},
	{"max-subscribers-per-user", offsetof(struct limits, max_subscribers_per_user), 4096,
	 false},
	{"reserved-subscribers", offsetof(struct limits, reserved_subscribers), 4096, true},
	{"message-timeout", offsetof(struct limits, message_timeout_sec), 3600, false},
	{"idle-timeout", offsetof(struct limits, idle_timeout_sec), 86400, false},
	{"max-pending-devices", offsetof(struct limits, max_pending_devices), 4096, false},
};

/* The limit option o's value s, into its field of l. */
static int parse_limit(const struct limit_opt *o, const char *s, struct limits *l)
{
	uint64_t v;

	if (parse_u64(s, o->max, &v) < 0 || (v == 0 && !o->zero_ok)) {
		fprintf(stderr, "hvisord: --%s: expected a number in %u..%u, got '%s'\n", o->name,
			!o->zero_ok, o->max, s);
		return -EINVAL;
	}
	*(unsigned *)((char *)l + o->offset) = (unsigned)v;
	return 0;
}

/* The limits not given default to a share of their total; some only make
 * sense together. */
static int settle_limits(struct limits *l)
{
	if (l->max_connections_per_user == LIMIT_UNSET)
		l->max_connections_per_user = MAX(l->max_connections / 8, 1u);
	if (l->reserved_connections == LIMIT_UNSET)
		l->reserved_connections = l->max_connections / 8;
	if (l->max_subscribers_per_user == LIMIT_UNSET)
		l->max_subscribers_per_user = MAX(l->max_subscribers / 8, 1u);
	if (l->reserved_subscribers == LIMIT_UNSET)
		l->reserved_subscribers = l->max_subscribers / 4;
	if (l->reserved_connections >= l->max_connections ||
	    l->reserved_subscribers >= l->max_subscribers) {
		fprintf(stderr, "hvisord: the reserved connections (subscribers) must be fewer "
				"than --max-connections (--max-subscribers)\n");
		return -EINVAL;
	}
	return 0;
}

/* What the command line says. */
struct options {
	const char *backend, *rundir, *virtiod, *virtiod_user;
	int level;
	bool use_syslog, stop_zones;
	struct limits limits;
};

/* 1: go on; 0: exit 0 (--help, --version); < 0: exit 2 (usage error). */
static int parse_argv(int argc, char **argv, struct options *o)
{
	/* not static: the limit options' names come from limit_opts[] */
	const struct option opts[] = {
		{"backend", required_argument, NULL, 'b'},
		{"runtime-dir", required_argument, NULL, 'r'},
		{"log-level", required_argument, NULL, 'l'},
		{"syslog", no_argument, NULL, 'S'},
#define LIMIT_OPTION(i) {limit_opts[i].name, required_argument, NULL, LIMIT_OPT + (i)}
		LIMIT_OPTION(0),
		LIMIT_OPTION(1),
		LIMIT_OPTION(2),
		LIMIT_OPTION(3),
		LIMIT_OPTION(4),
		LIMIT_OPTION(5),
		LIMIT_OPTION(6),
		LIMIT_OPTION(7),
		LIMIT_OPTION(8),
		{"virtiod", required_argument, NULL, 'D'},
		{"virtiod-user", required_argument, NULL, 'u'},
		{"stop-zones", no_argument, NULL, 'Z'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{},
	};
	_Static_assert(ARRAY_SIZE(limit_opts) == 9, "one LIMIT_OPTION per limit_opts entry");
	int c;

	while ((c = getopt_long(argc, argv, "b:r:l:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->backend = optarg;
			break;
		case 'r':
			o->rundir = optarg;
			break;
		case 'l':
			o->level = log_level_from_string(optarg);
			if (o->level < 0) {
				fprintf(stderr, "hvisord: unknown log level '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'S':
			o->use_syslog = true;
			break;
		case 'D':
			o->virtiod = optarg;
			break;
		case 'u':
			o->virtiod_user = optarg;
			break;
		case 'Z':
			o->stop_zones = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hvisord %s\n", HV_VERSION);
			return 0;
		default:
			if (c < LIMIT_OPT || c >= LIMIT_OPT + (int)ARRAY_SIZE(limit_opts)) {
				usage(stderr);
				return -EINVAL;
			}
			if (parse_limit(&limit_opts[c - LIMIT_OPT], optarg, &o->limits) < 0)
				return -EINVAL;
		}
	}
	if (settle_limits(&o->limits) < 0)
		return -EINVAL;
	if (optind < argc) {
		fprintf(stderr, "hvisord: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 1;
}

/* A program hvisord can run: a regular file it may execute. */
static int check_executable(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -EACCES;
	return access(path, X_OK) < 0 ? negative_errno() : 0;
}

/* hvisor-virtiod next to this hvisord: the build tree keeps it in the
 * sibling directory (build/hvisord/hvisord, build/hvisor-virtiod/), a
 * copied pair of programs in the same one. Else the installed one
 * (libexec). */
static char *find_virtiod(void)
{
	static const char *const near[] = {"../hvisor-virtiod/hvisor-virtiod", "hvisor-virtiod"};
	char exe[PATH_MAX], path[PATH_MAX + 64], *slash;
	ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (k > 0) {
		exe[k] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		for (size_t i = 0; slash && i < ARRAY_SIZE(near); i++) {
			snprintf(path, sizeof(path), "%s/%s", exe, near[i]);
			if (check_executable(path) == 0)
				return realpath(path, NULL);
		}
	}
	return strdup(HV_VIRTIOD_PATH);
}

/* What the backends need, checked before serving rather than at the first
 * virtio add. */
static int check_virtiod(const struct daemon *d, bool searched)
{
	int r = check_executable(d->virtiod_path);

	if (r < 0)
		return log_errno(LOG_ERR, r, "cannot run hvisor-virtiod %s%s", d->virtiod_path,
				 searched ? " (not found next to hvisord either; --virtiod PATH)"
					  : "");
	if (*d->virtiod_user && strcmp(d->virtiod_user, "root") != 0 &&
	    !getpwnam(d->virtiod_user)) {
		log_err("--virtiod-user: no user '%s'", d->virtiod_user);
		return -ESRCH;
	}
	log_info("hvisor-virtiod: %s, runs as %s", d->virtiod_path,
		 *d->virtiod_user ? d->virtiod_user : "hvisord's user");
	return 0;
}

static int open_backend(struct daemon *d, const char *backend)
{
	const struct hv_ops *ops;
	const char *arg;
	int r = hv_parse(backend, &ops, &arg);

	if (r < 0) {
		log_err("unknown backend '%s' (expected kmod[:DEVICE] or sim:SOCKET)", backend);
		return -EINVAL;
	}
	r = hv_open(ops, arg, &d->hv);
	if (r < 0) {
		log_errno(LOG_ERR, r, "cannot open the %s backend at %s", ops->what, arg);
		return -ENODEV; /* not a usage error */
	}
	log_info("backend %s at %s: %s, config magic 0x%02llx%s", d->hv->ops->name, d->hv->path,
		 hv_arch_to_string(d->hv->arch), (unsigned long long)d->hv->magic,
		 hv_magic_supported(d->hv) ? "" : " (unsupported)");
	return 0;
}

void daemon_ready(struct daemon *d)
{
	if (!d->started || d->ready)
		return;
	d->ready = true;
	sd_notifyf("READY=1\nSTATUS=serving %s (backend %s, %s)", d->socket_path, d->hv->ops->name,
		   hv_arch_to_string(d->hv->arch));
}

/* What the last hvisord left: its zones and their devices and backends,
 * checked against what runs now. */
static void restore_state(struct daemon *d)
{
	json_object *state = state_load(d), *zones = NULL, *virtio = NULL;

	d->state_frozen = true;
	if (state) {
		json_object_object_get_ex(state, "zones", &zones);
		json_object_object_get_ex(state, "virtio", &virtio);
		zones_state_restore(d, json_object_is_type(zones, json_type_array) ? zones : NULL);
	}
	/* also without a state file: the keeper lets go what nobody claims */
	virtio_state_restore(d, json_object_is_type(virtio, json_type_array) ? virtio : NULL);
	json_object_put(state);
	d->state_frozen = false;
	state_save(d);
}

static int start_loop(struct daemon *d, const int *sigs, size_t n_sigs)
{
	int r = rundir_open(d);

	if (r < 0)
		return r;
	d->base = event_base_new();
	if (!d->base)
		fatal("event_base_new failed");
	for (size_t i = 0; i < n_sigs; i++) {
		d->ev_signals[i] = evsignal_new(d->base, sigs[i], signal_cb, d);
		if (!d->ev_signals[i] || evsignal_add(d->ev_signals[i], NULL) < 0)
			fatal("cannot handle signal %d", sigs[i]);
	}
	r = hv_watch(d->hv, d->base, manager_backend_changed, d);
	if (r < 0)
		return r;
	r = virtio_init(d);
	if (r == 0)
		r = zones_init(d);
	if (r < 0)
		return r;
	restore_state(d);
	return control_init(d);
}

static void daemon_done(struct daemon *d, const int *sigs, size_t n_sigs)
{
	load_cancel_all(); /* zone starts still loading fail, their clients hear it */
	/* nothing to keep for the next hvisord: the keeper may go (with
	 * --stop-zones the devices of the zones that stopped go too) */
	if ((d->stop_zones || TAILQ_EMPTY(&d->zvirts)) && d->runtime_fd >= 0)
		fdstore_exit(d);
	if (d->stop_zones && d->runtime_fd >= 0)
		state_remove(d);
	fdstore_close(d);
	virtio_done(d);
	control_done(d);
	zones_done(d);
	for (size_t i = 0; i < n_sigs; i++)
		if (d->ev_signals[i])
			event_free(d->ev_signals[i]);
	hv_close(d->hv); /* its events first */
	if (d->base)
		event_base_free(d->base);
	rundir_close(d);
	free(d->runtime_dir);
	free(d->socket_path);
	free(d->virtiod_path);
	free(d->virtiod_user);
}

int main(int argc, char **argv)
{
	struct options o = {
		.backend = "kmod",
		.rundir = "/run/hvisor",
		.virtiod_user = "nobody",
		.level = LOG_INFO,
		.limits =
			{
				.max_connections = 512,
				.max_connections_per_user = LIMIT_UNSET,
				.reserved_connections = LIMIT_UNSET,
				.max_subscribers = 64,
				.max_subscribers_per_user = LIMIT_UNSET,
				.reserved_subscribers = LIMIT_UNSET,
				.message_timeout_sec = 10,
				.idle_timeout_sec = 60,
				.max_pending_devices = 64,
				.max_reply_queue = 64u << 10,
				.max_subscriber_queue = 256u << 10,
			},
	};
	struct daemon d = {.listen_fd = -1, .runtime_fd = -1, .fdstore_fd = -1};
	const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	int ret = 1, r;
	char path[4096];

	r = parse_argv(argc, argv, &o);
	if (r <= 0)
		return r < 0 ? 2 : 0;
	log_init("hvisord", o.use_syslog ? LOG_TARGET_SYSLOG : LOG_TARGET_STDERR, o.level);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();

	if (snprintf(path, sizeof(path), "%s/hvisord.sock", o.rundir) >= (int)sizeof(path))
		fatal("runtime directory path too long");
	d.limits = o.limits;
	d.runtime_dir = strdup(o.rundir);
	d.socket_path = strdup(path);
	d.virtiod_path = o.virtiod ? strdup(o.virtiod) : find_virtiod();
	d.virtiod_user = strdup(o.virtiod_user ? o.virtiod_user : "nobody");
	d.stop_zones = o.stop_zones;
	TAILQ_INIT(&d.zones);
	TAILQ_INIT(&d.zvirts);

	r = open_backend(&d, o.backend);
	if (r < 0) {
		ret = r == -EINVAL ? 2 : 1;
		goto out;
	}
	if (check_virtiod(&d, !o.virtiod) < 0 || start_loop(&d, sigs, ARRAY_SIZE(sigs)) < 0)
		goto out;
	/* ready once the backends a previous hvisord left are found again */
	d.started = true;
	if (d.adopting == 0)
		daemon_ready(&d);
	event_base_dispatch(d.base);
	ret = 0;

out:
	/* also after a failed start-up, so leak checkers see no noise */
	daemon_done(&d, sigs, ARRAY_SIZE(sigs));
	if (ret == 0)
		log_info("stopped");
	return ret;
}
