// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvisor-sim: a user-space stand-in for the hvisor hypervisor and its
 * kernel module, spoken to over a SOCK_SEQPACKET socket (proto/sim.h).
 * See docs/hvisor-sim.md.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <fcntl.h>

#include "hvisor-sim.h"
#include "log.h"
#include "sd-notify.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: hvisor-sim --socket PATH [OPTIONS]\n"
		   "\n"
		   "A user-space stand-in for the hvisor hypervisor and /dev/hvisor.\n"
		   "\n"
		   "  -s, --socket PATH     control socket to listen on (required)\n"
		   "  -a, --arch ARCH       aarch64|riscv64|loongarch64|x86_64 (also arm64,\n"
		   "                        riscv, loongarch, x86); default: aarch64, the\n"
		   "                        arch of conf/examples/sim\n"
		   "  -m, --magic N         zone_config magic to speak: 5 or 6 (default 6)\n"
		   "  -c, --cpus N          physical CPUs, 1..64 (default 4)\n"
		   "  -r, --root-cpus LIST  the root zone's CPUs, e.g. 0 or 0-1,4 (default 0,1;\n"
		   "                        0 with --cpus 1)\n"
		   "  -l, --log-level L     debug|info|notice|warning|err (default info)\n"
		   "  -h, --help            show this help\n"
		   "      --version         show the version\n");
}

static int make_sockaddr(const char *path, struct sockaddr_un *sa)
{
	size_t len = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (len == 0 || len >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, len);
	return 0;
}

/* Removes a socket file left by a dead sim; refuses a live one or a path
 * that is not a socket. */
static int remove_stale_socket(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : negative_errno();
	if (!S_ISSOCK(st.st_mode)) {
		log_err("%s exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0) {
		log_err("%s: another hvisor-sim is answering there", path);
		return -EADDRINUSE;
	}
	if (errno != ECONNREFUSED && errno != ENOENT) {
		r = negative_errno();
		log_errno(LOG_ERR, r, "%s: cannot tell whether the socket is in use", path);
		return r;
	}
	log_info("removing stale socket %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}

static int listen_socket(const char *path)
{
	struct sockaddr_un sa;
	mode_t old;
	int fd, r;

	r = make_sockaddr(path, &sa);
	if (r < 0)
		return log_errno(LOG_ERR, r, "socket path %s", path);
	r = remove_stale_socket(path, &sa);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_errno(LOG_ERR, negative_errno(), "socket");
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0) {
		r = log_errno(LOG_ERR, negative_errno(), "bind %s", path);
		close(fd);
		return r;
	}
	r = chmod(path, 0600) < 0 ? negative_errno() : 0;
	if (r == 0 && listen(fd, SIM_LISTEN_BACKLOG) < 0)
		r = negative_errno();
	if (r < 0) {
		log_errno(LOG_ERR, r, "listening on the socket");
		unlink(path);
		close(fd);
		return r;
	}
	return fd;
}

static int phys_memfd(uint64_t size)
{
	int fd = memfd_create("hvisor-sim-phys", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return log_errno(LOG_ERR, negative_errno(), "memfd_create");
	if (ftruncate(fd, (off_t)size) < 0) {
		int r = log_errno(LOG_ERR, negative_errno(), "sizing physical memory");

		close(fd);
		return r;
	}
	/* Clients get this fd: none of them may resize "physical memory". */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		log_errno(LOG_WARNING, negative_errno(), "sealing physical memory");
	return fd;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct sim *sim = arg;

	for (int i = 0; i < SIM_WAKEUP_PACKETS; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_errno(LOG_WARNING, negative_errno(), "accept");
			return;
		}
		sim_control_accept(sim, fd);
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct sim *sim = arg;

	log_info("%s received, exiting", strsignal((int)sig));
	event_base_loopbreak(sim->base);
}

/* Linux's cpulist format, decimal: "0", "0,2", "0-3,6". */
static int parse_cpu_list(const char *s, uint64_t *ret)
{
	uint64_t mask = 0;
	const char *p = s;

	for (;;) {
		unsigned long a, b;
		char *end;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		a = b = strtoul(p, &end, 10);
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			b = strtoul(p, &end, 10);
		}
		if (a > b || b >= SIM_MAX_CPUS)
			return -ERANGE;
		for (unsigned long i = a; i <= b; i++)
			mask |= UINT64_C(1) << i;
		if (*end == '\0')
			break;
		if (*end != ',')
			return -EINVAL;
		p = end + 1;
	}
	*ret = mask;
	return 0;
}

/* What the options say together, once all are read (in any order). */
static int check_args(const struct sim *sim)
{
	int missing = sim_cpu_missing(sim->ncpus, sim->root_cpus);

	if (missing >= 0) {
		fprintf(stderr, "hvisor-sim: --root-cpus: CPU %d does not exist (%u CPUs)\n",
			missing, sim->ncpus);
		return -EINVAL;
	}
	if (!sim->socket_path) {
		fprintf(stderr, "hvisor-sim: --socket PATH is required\n");
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct sim *sim)
{
	enum {
		OPT_VERSION = 0x100
	};
	static const struct option options[] = {
		{"socket", required_argument, NULL, 's'},
		{"arch", required_argument, NULL, 'a'},
		{"magic", required_argument, NULL, 'm'},
		{"cpus", required_argument, NULL, 'c'},
		{"root-cpus", required_argument, NULL, 'r'},
		{"log-level", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{},
	};
	uint64_t v;
	int c, level;

	while ((c = getopt_long(argc, argv, "s:a:m:c:r:l:h", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			sim->socket_path = optarg;
			break;
		case 'a':
			if (hv_arch_from_string(optarg, &sim->arch) < 0) {
				fprintf(stderr, "hvisor-sim: unknown architecture '%s'\n", optarg);
				return -EINVAL;
			}
			break;
		case 'm':
			if (parse_u64(optarg, UINT32_MAX, &v) < 0 ||
			    (v != HV_CONFIG_MAGIC_0x05 && v != HV_CONFIG_MAGIC_0x06)) {
				fprintf(stderr, "hvisor-sim: --magic must be 5 or 6, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			sim->magic = (unsigned)v;
			break;
		case 'c':
			if (parse_u64(optarg, SIM_MAX_CPUS, &v) < 0 || v == 0) {
				fprintf(stderr, "hvisor-sim: --cpus must be 1..%u, not '%s'\n",
					SIM_MAX_CPUS, optarg);
				return -EINVAL;
			}
			sim->ncpus = (unsigned)v;
			break;
		case 'r':
			if (parse_cpu_list(optarg, &sim->root_cpus) < 0) {
				fprintf(stderr,
					"hvisor-sim: --root-cpus must be a list of CPUs 0..%u like 0 "
					"or 0-1,4, not '%s'\n",
					SIM_MAX_CPUS - 1, optarg);
				return -EINVAL;
			}
			break;
		case 'l':
			level = log_level_from_string(optarg);
			if (level < 0) {
				fprintf(stderr, "hvisor-sim: unknown log level '%s'\n", optarg);
				return -EINVAL;
			}
			log_set_level(level);
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		case OPT_VERSION:
			printf("hvisor-sim %s (protocol %u)\n", HV_VERSION, HVSIM_PROTO_VERSION);
			exit(EXIT_SUCCESS);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hvisor-sim: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return check_args(sim);
}

int main(int argc, char **argv)
{
	struct sim sim = {
		/* not the build machine's: the same simulated board everywhere,
		 * the one conf/examples/sim is written for */
		.arch = HV_ARCH_AARCH64,
		.magic = HV_CONFIG_MAGIC_0x06,
		.ncpus = 4,
		.phys_size = SIM_PHYS_SIZE,
		.phys_fd = -1,
		.listen_fd = -1,
	};
	struct event *sigterm = NULL, *sigint = NULL;
	char cpus[256];
	int ret = EXIT_FAILURE;

	log_init("hvisor-sim", LOG_TARGET_STDERR, LOG_INFO);
	TAILQ_INIT(&sim.zones);
	TAILQ_INIT(&sim.conns);
	if (parse_args(argc, argv, &sim) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);

	sim.base = event_base_new();
	if (!sim.base) {
		log_err("cannot create the event loop");
		return EXIT_FAILURE;
	}
	sim.phys_fd = phys_memfd(sim.phys_size);
	if (sim.phys_fd < 0)
		goto out;
	if (sim_zones_init(&sim) < 0) {
		log_err("out of memory");
		goto out;
	}
	sigterm = evsignal_new(sim.base, SIGTERM, on_signal, &sim);
	sigint = evsignal_new(sim.base, SIGINT, on_signal, &sim);
	if (!sigterm || !sigint || evsignal_add(sigterm, NULL) < 0 ||
	    evsignal_add(sigint, NULL) < 0) {
		log_err("cannot watch signals");
		goto out;
	}
	sim.listen_fd = listen_socket(sim.socket_path);
	if (sim.listen_fd < 0)
		goto out;
	sim.listen_ev = event_new(sim.base, sim.listen_fd, EV_READ | EV_PERSIST, on_accept, &sim);
	if (!sim.listen_ev || event_add(sim.listen_ev, NULL) < 0) {
		log_err("cannot watch the listening socket");
		goto out;
	}

	format_cpu_list(TAILQ_FIRST(&sim.zones)->cpus, ",", cpus, sizeof(cpus));
	log_info(
		"hvisor-sim %s: %s, config magic 0x%02x, %u CPUs (root zone on %s), %llu GiB physical memory, listening on %s",
		HV_VERSION, hv_arch_to_string(sim.arch), sim.magic, sim.ncpus, cpus,
		(unsigned long long)(sim.phys_size >> 30), sim.socket_path);
	sd_notifyf("READY=1\nSTATUS=hvisor-sim %s, %u CPUs, magic 0x%02x",
		   hv_arch_to_string(sim.arch), sim.ncpus, sim.magic);

	if (event_base_dispatch(sim.base) < 0)
		log_err("event loop failed");
	else
		ret = EXIT_SUCCESS;
	sd_notify_send("STOPPING=1");
out:
	if (sim.listen_ev)
		event_free(sim.listen_ev);
	if (sim.listen_fd >= 0) {
		close(sim.listen_fd);
		unlink(sim.socket_path);
	}
	sim_control_free_all(&sim);
	sim_zones_free(&sim);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	safe_close(sim.phys_fd);
	event_base_free(sim.base);
	return ret;
}
