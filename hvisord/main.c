// SPDX-License-Identifier: GPL-2.0-only
/* hvisord: the hvisor control-plane daemon. The only user of /dev/hvisor;
 * serves zone lifecycle to hvctl over varlink (docs/protocol.md). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

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
		"      --max-subscribers N   event subscribers at once (default 64)\n"
		"      --virtiod PATH        the virtio backend (default " HV_VIRTIOD_PATH ")\n"
		"      --virtiod-user USER   it drops to this user (default nobody; \"root\": stays)\n"
		"  -h, --help                this text\n"
		"  -V, --version             print the version\n"
		"\n"
		"Socket activation (LISTEN_FDS) and sd_notify (NOTIFY_SOCKET) are supported.\n");
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	log_info("received %s, exiting", strsignal((int)sig));
	sd_notify_send("STOPPING=1");
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

static int parse_limit(const char *opt, const char *s, unsigned max, unsigned *ret)
{
	uint64_t v;

	if (parse_u64(s, max, &v) < 0 || v == 0) {
		fprintf(stderr, "hvisord: %s: expected a number in 1..%u, got '%s'\n", opt, max, s);
		return -EINVAL;
	}
	*ret = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"backend", required_argument, NULL, 'b'},
		{"runtime-dir", required_argument, NULL, 'r'},
		{"log-level", required_argument, NULL, 'l'},
		{"syslog", no_argument, NULL, 'S'},
		{"max-connections", required_argument, NULL, 'C'},
		{"max-subscribers", required_argument, NULL, 'U'},
		{"virtiod", required_argument, NULL, 'D'},
		{"virtiod-user", required_argument, NULL, 'u'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{},
	};
	struct daemon d = {
		.listen_fd = -1,
		.limits =
			{
				.max_connections = 512,
				.max_subscribers = 64,
				.max_reply_queue = 64u << 10,
				.max_subscriber_queue = 256u << 10,
			},
	};
	const char *backend = "kmod", *rundir = "/run/hvisor";
	const char *virtiod = HV_VIRTIOD_PATH, *virtiod_user = "nobody";
	const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	int level = LOG_INFO, ret = 1, c, r;
	bool use_syslog = false;
	char path[4096];

	while ((c = getopt_long(argc, argv, "b:r:l:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			backend = optarg;
			break;
		case 'r':
			rundir = optarg;
			break;
		case 'l':
			level = log_level_from_string(optarg);
			if (level < 0) {
				fprintf(stderr, "hvisord: unknown log level '%s'\n", optarg);
				return 2;
			}
			break;
		case 'S':
			use_syslog = true;
			break;
		case 'C':
			if (parse_limit("--max-connections", optarg, 65536,
					&d.limits.max_connections) < 0)
				return 2;
			break;
		case 'U':
			if (parse_limit("--max-subscribers", optarg, 4096,
					&d.limits.max_subscribers) < 0)
				return 2;
			break;
		case 'D':
			virtiod = optarg;
			break;
		case 'u':
			virtiod_user = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hvisord %s\n", HV_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hvisord: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	log_init("hvisord", use_syslog ? LOG_TARGET_SYSLOG : LOG_TARGET_STDERR, level);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();

	if (snprintf(path, sizeof(path), "%s/hvisord.sock", rundir) >= (int)sizeof(path))
		fatal("runtime directory path too long");
	d.runtime_dir = strdup(rundir);
	d.socket_path = strdup(path);
	d.start_usec = now_usec();
	d.virtiod_path = strdup(virtiod);
	d.virtiod_user = strdup(virtiod_user);
	TAILQ_INIT(&d.zones);
	TAILQ_INIT(&d.zvirts);

	r = hv_open(backend, &d.hv);
	if (r == -EINVAL && strncmp(backend, "kmod", 4) != 0 && strncmp(backend, "sim:", 4) != 0) {
		log_err("unknown backend '%s' (expected kmod[:DEVICE] or sim:SOCKET)", backend);
		ret = 2;
		goto out;
	}
	if (r < 0) {
		log_errno(LOG_ERR, r, "cannot open the %s backend at %s",
			  strncmp(backend, "sim:", 4) == 0 ? "hvisor-sim" : "kmod",
			  strchr(backend, ':') ? strchr(backend, ':') + 1 : "/dev/hvisor");
		goto out;
	}
	log_info("backend %s at %s: %s, config magic 0x%02llx%s", d.hv->ops->name, d.hv->path,
		 hv_arch_to_string(d.hv->arch), (unsigned long long)d.hv->magic,
		 hv_magic_supported(d.hv) ? "" : " (unsupported)");

	r = mkdir_p(rundir, 0755);
	if (r < 0) {
		log_errno(LOG_ERR, r, "cannot create runtime directory %s", rundir);
		goto out;
	}
	d.base = event_base_new();
	if (!d.base)
		fatal("event_base_new failed");
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		d.ev_signals[i] = evsignal_new(d.base, sigs[i], signal_cb, &d);
		if (!d.ev_signals[i] || evsignal_add(d.ev_signals[i], NULL) < 0)
			fatal("cannot handle signal %d", sigs[i]);
	}
	r = virtio_init(&d);
	if (r < 0)
		goto out;
	r = control_init(&d);
	if (r < 0)
		goto out;

	sd_notifyf("READY=1\nSTATUS=serving %s (backend %s, %s)", d.socket_path, d.hv->ops->name,
		   hv_arch_to_string(d.hv->arch));
	event_base_dispatch(d.base);
	ret = 0;

out:
	/* also after a failed start-up, so leak checkers see no noise */
	load_cancel_all(); /* zone starts still loading fail, their clients hear it */
	virtio_done(&d);
	control_done(&d);
	zones_done(&d);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		if (d.ev_signals[i])
			event_free(d.ev_signals[i]);
	if (d.base)
		event_base_free(d.base);
	hv_close(d.hv);
	free(d.runtime_dir);
	free(d.socket_path);
	free(d.virtiod_path);
	free(d.virtiod_user);
	if (ret == 0)
		log_info("stopped");
	return ret;
}
