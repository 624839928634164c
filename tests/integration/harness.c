// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <endian.h>
#include <ftw.h>
#include <grp.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "abi/hvisor-abi.h"
#include "harness.h"
#include "rng.h"
#include "tap.h"
#include "uapi/hvisor.h"
#include "util.h"

static const char *path_hvisord, *path_hvctl, *path_hvisor_link, *source_dir;
static const char *path_virtiod, *path_guest;
static struct ih *live; /* instances not stopped yet */

/*
 * The backend of the run: a fresh hvisor-sim per test (the default), or
 * the hvisor.ko named by $HV_IT_BACKEND, shared by every test of the run
 * (tests/vm runs the suite that way). What differs between the two is
 * described here, once, from the environment.
 */
static struct {
	const char *kmod_dev; /* NULL: hvisor-sim */
	const char *arch;     /* GetInfo's arch */
	const char *examples; /* directory of zone1.json, zone2.json */
	int cpus;	      /* GetInfo's cpus */
} target;

/* Absolute (children may change directory), malloc'd; NULL if not given. */
static char *arg_or_env(int argc, char **argv, int i, const char *env)
{
	const char *v = getenv(env);
	char *abs = NULL, *cwd;

	if (!v || !*v)
		v = i < argc ? argv[i] : NULL;
	if (!v)
		return NULL;
	if (v[0] == '/')
		return strdup(v);
	/* not realpath(): the hvisor link must keep its name */
	cwd = getcwd(NULL, 0);
	if (!cwd || asprintf(&abs, "%s/%s", cwd, v) < 0)
		abs = NULL;
	free(cwd);
	return abs;
}

static void reap_all(void)
{
	ih_reap(NULL);
}

static const char *env_or_die(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		printf("Bail out! HV_IT_BACKEND is set: set %s too\n", name);
		exit(1);
	}
	return v;
}

/* $HV_IT_BACKEND=kmod:DEV with $HV_IT_ARCH, $HV_IT_CPUS and $HV_IT_EXAMPLES
 * (zone1.json and zone2.json in that machine's layout, laid out as
 * conf/examples/sim's: kernel at RAM + 4 MiB, dtb at RAM). */
static void target_init(void)
{
	static char sim_examples[1024];
	const char *spec = getenv("HV_IT_BACKEND");

	if (!spec || !*spec) {
		snprintf(sim_examples, sizeof(sim_examples), "%s/conf/examples/sim", source_dir);
		target.arch = "aarch64";
		target.cpus = 4;
		target.examples = sim_examples;
		return;
	}
	if (strncmp(spec, "kmod:", 5) != 0 || spec[5] != '/') {
		printf("Bail out! HV_IT_BACKEND=%s: expected kmod:/dev/...\n", spec);
		exit(1);
	}
	target.kmod_dev = spec + 5;
	target.arch = env_or_die("HV_IT_ARCH");
	target.cpus = atoi(env_or_die("HV_IT_CPUS"));
	target.examples = env_or_die("HV_IT_EXAMPLES");
}

bool ih_on_sim(void)
{
	return !target.kmod_dev;
}

const char *ih_backend_kind(void)
{
	return ih_on_sim() ? "sim" : "kmod";
}

const char *ih_backend_path(const struct ih *h)
{
	return ih_on_sim() ? h->sim.sock : target.kmod_dev;
}

const char *ih_arch(void)
{
	return target.arch;
}

int ih_cpus(void)
{
	return target.cpus;
}

void ih_need_sim(const char *why)
{
	if (ih_on_sim())
		return;
	skip_because("skipped on %s: %s", target.kmod_dev, why);
}

char *ih_example(const char *name)
{
	char *path;

	assert_true(asprintf(&path, "%s/%s.json", target.examples, name) > 0);
	return path;
}

struct ih_layout ih_layout(const char *example)
{
	char *path = ih_example(example);
	json_object *o = ih_json_load(path);
	struct ih_layout l = {
		.ram = ih_json_u64(o, "memory_regions[0].physical_start"),
		.ram_size = ih_json_u64(o, "memory_regions[0].size"),
		.kernel = ih_json_u64(o, "kernel_load_paddr"),
		.dtb = ih_json_u64(o, "dtb_load_paddr"),
		.entry = ih_json_u64(o, "entry_point"),
		.dtb_loaded = strcmp(ih_arch(), "x86_64") != 0,
	};

	json_object_put(o);
	free(path);
	return l;
}

void ih_init(int argc, char **argv)
{
	char *sim = arg_or_env(argc, argv, 1, "HVISOR_SIM");

	if (sim)
		setenv("HVISOR_SIM", sim, 1);
	free(sim);
	sim_harness_init(argc, argv); /* hvisor-sim: $HVISOR_SIM */
	path_hvisord = arg_or_env(argc, argv, 2, "HVISORD");
	path_hvctl = arg_or_env(argc, argv, 3, "HVCTL");
	path_hvisor_link = arg_or_env(argc, argv, 4, "HVISOR_LINK");
	path_virtiod = arg_or_env(argc, argv, 5, "HVISOR_VIRTIOD");
	path_guest = arg_or_env(argc, argv, 6, "HVSIM_GUEST");
	source_dir = getenv("HV_SOURCE_DIR");
	if (!path_hvisord || !path_hvctl || !path_hvisor_link || !source_dir)
		ih_skip_all("pass hvisor-sim, hvisord, hvctl and the hvisor link (and set "
			    "HV_SOURCE_DIR)");
	target_init();
	/* Children must not think they were socket-activated or supervised. */
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("NOTIFY_SOCKET");
	unsetenv("HVISOR_SOCKET");
	atexit(reap_all);
}

void ih_skip_all(const char *fmt, ...)
{
	va_list ap;

	/* a plan of 1..0 with SKIP and status 0: meson's TAP protocol counts
	 * the exit status 77 as an error */
	printf("1..0 # SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(0);
}

const char *ih_bin_hvisord(void)
{
	return path_hvisord;
}

const char *ih_bin_hvctl(void)
{
	return path_hvctl;
}

const char *ih_bin_hvisor_link(void)
{
	return path_hvisor_link;
}

const char *ih_source_dir(void)
{
	return source_dir;
}

const char *ih_bin_virtiod(void)
{
	return path_virtiod;
}

const char *ih_bin_guest(void)
{
	return path_guest;
}

void ih_need_virtio(void)
{
	if (!path_virtiod || !path_guest || access(path_virtiod, X_OK) < 0 ||
	    access(path_guest, X_OK) < 0)
		ih_skip_all("pass hvisor-virtiod and hvsim-guest too");
}

bool ih_need_root_virtio(void)
{
	int r;

	ih_need_virtio();
	if (geteuid() != 0)
		ih_skip_all("needs root");
	r = ih_netns_private();
	if (r < 0)
		printf("# no network namespace of our own (%s): net devices left out\n",
		       strerror(-r));
	return r == 0;
}

/* ---- time and processes ------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	return left < 0 ? 0 : (int)left;
}

int ih_waitpid(pid_t pid, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int status;

	for (;;) {
		pid_t p = waitpid(pid, &status, WNOHANG);

		if (p == pid)
			return status;
		if (p < 0)
			return -1;
		if (now_ms() >= deadline) {
			fprintf(stderr, "# pid %d did not exit within %d ms; killing it\n",
				(int)pid, timeout_ms);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		/* a child exiting has no descriptor to wait on: poll briefly */
		poll(NULL, 0, 5);
	}
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void rm_rf(const char *dir)
{
	if (dir[0])
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void unlink_live(struct ih *h)
{
	for (struct ih **p = &live; *p; p = &(*p)->next)
		if (*p == h) {
			*p = h->next;
			return;
		}
}

static void ih_free(struct ih *h)
{
	unlink_live(h);
	if (h->notify_fd >= 0)
		close(h->notify_fd);
	rm_rf(h->dir);
	free(h);
}

int ih_reap(void **state)
{
	ih_check_reset();
	while (live) {
		struct ih *h = live;

		if (h->pid > 0) {
			kill(h->pid, SIGKILL);
			waitpid(h->pid, NULL, 0);
			h->pid = -1;
		}
		if (h->sim_running) {
			kill(h->sim.pid, SIGKILL);
			simh_stop(&h->sim);
			h->sim_running = false;
		}
		ih_free(h);
	}
	return 0;
}

/* ---- starting and stopping ------------------------------------------------ */

struct ih *ih_new(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct ih *h = calloc(1, sizeof(*h));
	const char *tmp = getenv("TMPDIR");

	assert_non_null(h);
	h->pid = -1;
	h->notify_fd = -1;
	snprintf(h->dir, sizeof(h->dir), "%s/hvisord-it.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(h->dir));
	h->next = live;
	live = h;
	snprintf(h->sock, sizeof(h->sock), "%s/hvisord.sock", h->dir);
	snprintf(h->notify, sizeof(h->notify), "%s/notify.sock", h->dir);
	snprintf(h->log, sizeof(h->log), "%s/hvisord.log", h->dir);
	snprintf(h->sim_log, sizeof(h->sim_log), "%s/hvisor-sim.log", h->dir);

	h->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(h->notify_fd >= 0);
	assert_true(strlen(h->notify) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, h->notify);
	assert_int_equal(bind(h->notify_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return h;
}

/* ---- hvisor.ko, straight --------------------------------------------------- */

static int kmod_open(void)
{
	int fd = open(target.kmod_dev, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		fail_msg("open %s: %s", target.kmod_dev, strerror(errno));
	return fd;
}

static int kmod_zone_list(int fd, struct hvisor_zone_info *zones, size_t cap)
{
	struct hvisor_zone_list_args a = {.cnt = cap, .zones = (uintptr_t)zones};
	int n = ioctl(fd, HVISOR_ZONE_LIST, &a);

	if (n < 0)
		fail_msg("HVISOR_ZONE_LIST on %s: %s", target.kmod_dev, strerror(errno));
	assert_true((size_t)n <= cap);
	return n;
}

void ih_backend_zone_shutdown(struct ih *h, uint32_t id)
{
	int fd;

	if (ih_on_sim()) {
		assert_int_equal(simh_op(h->sim.ctl, HVSIM_OP_ZONE_SHUTDOWN, id, 0, 0, 0), 0);
		return;
	}
	fd = kmod_open();
	if (ioctl(fd, HVISOR_ZONE_SHUTDOWN, (unsigned long)id) < 0)
		fail_msg("HVISOR_ZONE_SHUTDOWN %u: %s", id, strerror(errno));
	close(fd);
}

/* The root kernel's window on zone memory (HV_IT_PHYS, /dev/hvisor_sim in
 * the VM): arm64's /dev/mem refuses the no-map reserved memory zones use. */
static int kmod_phys_open(int flags)
{
	const char *path = getenv("HV_IT_PHYS");
	int fd;

	if (!path || !*path)
		fail_msg("HV_IT_PHYS is not set: on hvisor.ko the harness reaches zone "
			 "memory through a device such as /dev/hvisor_sim");
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	return fd;
}

/* Zeroes the examples' RAM, as a fresh sim's is. The device answers at most
 * one window per call, hence the loop on short writes. */
static void kmod_zero_examples(void)
{
	static const char *const examples[] = {"zone1", "zone2"};
	static char zero[1 << 20];
	int fd = kmod_phys_open(O_WRONLY);

	for (size_t i = 0; i < ARRAY_SIZE(examples); i++) {
		struct ih_layout l = ih_layout(examples[i]);

		for (uint64_t off = 0; off < l.ram_size;) {
			size_t n = MIN(sizeof(zero), l.ram_size - off);
			ssize_t k = pwrite(fd, zero, n, (off_t)(l.ram + off));

			if (k <= 0)
				fail_msg("zeroing zone memory at 0x%llx: %s",
					 (unsigned long long)(l.ram + off),
					 k < 0 ? strerror(errno) : "nothing written");
			off += (uint64_t)k;
		}
	}
	close(fd);
}

/* The state a fresh sim starts in: only the root zone, zeroed memory. A
 * test that failed or a zone hvisord left running must not leak into the
 * next. */
static void kmod_reset(struct ih *h)
{
	struct hvisor_zone_info zones[64];
	int fd = kmod_open(), n = kmod_zone_list(fd, zones, 64);

	close(fd);
	for (int i = 0; i < n; i++)
		if (zones[i].zone_id != 0)
			ih_backend_zone_shutdown(h, zones[i].zone_id);
	kmod_zero_examples();
}

void ih_backend_stop(struct ih *h)
{
	if (!h->sim_running)
		return;
	assert_int_equal(simh_stop(&h->sim), 0);
	h->sim_running = false;
}

void ih_sim_start(struct ih *h, const char *const *args)
{
	static const char *const defaults[] = {"--arch", "aarch64", NULL};
	int saved, lf, r;

	if (!ih_on_sim()) {
		if (args)
			ih_need_sim("the test needs hvisor-sim's options");
		snprintf(h->backend, sizeof(h->backend), "kmod:%s", target.kmod_dev);
		kmod_reset(h);
		return;
	}

	/* The sim logs to stderr: into a file of ours, checked at the end. */
	lf = open(h->sim_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	assert_true(lf >= 0);
	fflush(stderr);
	saved = fcntl(2, F_DUPFD_CLOEXEC, 10);
	assert_true(saved >= 0);
	dup2(lf, 2);
	r = simh_start_full(&h->sim, args ? args : defaults, NULL);
	dup2(saved, 2);
	close(saved);
	close(lf);
	if (r < 0) {
		char *log = ih_read_file(h->sim_log, NULL);

		fprintf(stderr, "# hvisor-sim did not start (%s); its log:\n%s\n", strerror(-r),
			log);
		free(log);
	}
	assert_int_equal(r, 0);
	h->sim_running = true;
	snprintf(h->backend, sizeof(h->backend), "sim:%s", h->sim.sock);
}

void ih_sim_kill(struct ih *h)
{
	assert_true(h->sim_running);
	assert_int_equal(kill(h->sim.pid, SIGKILL), 0);
	assert_int_not_equal(simh_wait(&h->sim, IH_TIMEOUT_MS), -1);
	h->sim.ctl = safe_close(h->sim.ctl);
	h->sim_running = false;
}

void ih_sim_restart(struct ih *h, const char *const *args)
{
	static const char *const defaults[] = {"--arch", "aarch64", NULL};
	const char *argv[32] = {simh_sim_path(), "--socket", h->sim.sock};
	int64_t deadline = now_ms() + IH_TIMEOUT_MS;
	size_t n = 3;
	pid_t parent = getpid();
	int lf;

	assert_false(h->sim_running);
	for (size_t i = 0; (args ? args : defaults)[i]; i++) {
		assert_true(n < ARRAY_SIZE(argv) - 1);
		argv[n++] = (args ? args : defaults)[i];
	}
	lf = open(h->sim_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	assert_true(lf >= 0);
	fflush(NULL);
	h->sim.pid = fork();
	assert_true(h->sim.pid >= 0);
	if (h->sim.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(lf, 2);
		unsetenv("NOTIFY_SOCKET");
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(lf);
	/* it accepts once it listens (it removes the stale socket first) */
	while ((h->sim.ctl = simh_connect(h->sim.sock)) < 0) {
		if (now_ms() > deadline || waitpid(h->sim.pid, NULL, WNOHANG) == h->sim.pid)
			fail_msg("hvisor-sim did not come back on %s", h->sim.sock);
		poll(NULL, 0, 5);
	}
	h->sim_running = true;
}

pid_t ih_daemon_spawn(struct ih *h, const char *const *args, int listen_fd, const char *log)
{
	const char *argv[40];
	size_t n = 0;
	pid_t parent = getpid(), pid;
	int lf, nul;

	argv[n++] = path_hvisord;
	argv[n++] = "--backend";
	argv[n++] = h->backend;
	argv[n++] = "--runtime-dir";
	argv[n++] = h->dir;
	if (path_virtiod && !h->no_virtiod_arg) {
		/* before the test's own arguments, which may override it */
		argv[n++] = "--virtiod";
		argv[n++] = path_virtiod;
	}
	if (!h->keep_zones)
		argv[n++] = "--stop-zones";
	for (size_t i = 0; args && args[i]; i++) {
		assert_true(n < ARRAY_SIZE(argv) - 1);
		argv[n++] = args[i];
	}
	argv[n] = NULL;

	lf = open(log ? log : h->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	assert_true(lf >= 0);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(nul >= 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[32];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		/* out of the way of fds 0..3 first */
		lf = fcntl(lf, F_DUPFD, 10);
		nul = fcntl(nul, F_DUPFD, 10);
		if (listen_fd > 0) {
			if (listen_fd == 3)
				fd_set_cloexec(3, false);
			else if (dup2(listen_fd, 3) < 0)
				_exit(127);
			snprintf(buf, sizeof(buf), "%d", (int)getpid());
			setenv("LISTEN_PID", buf, 1);
			setenv("LISTEN_FDS", "1", 1);
		}
		dup2(nul, 0);
		dup2(lf, 1);
		dup2(lf, 2);
		setenv("NOTIFY_SOCKET", h->notify, 1);
		execv(path_hvisord, (char *const *)argv);
		_exit(127);
	}
	close(lf);
	close(nul);
	return pid;
}

/* Moves every datagram waiting on the notify socket into h->notes. */
static void drain_notify(struct ih *h)
{
	char buf[1024];
	ssize_t k;

	while ((k = recv(h->notify_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		size_t room = sizeof(h->notes) - 1 - h->notes_len;
		size_t n = MIN((size_t)k, room > 0 ? room - 1 : 0);

		memcpy(h->notes + h->notes_len, buf, n);
		h->notes_len += n;
		if (h->notes_len + 1 < sizeof(h->notes))
			h->notes[h->notes_len++] = '\n';
		h->notes[h->notes_len] = '\0';
	}
}

/* Finds `what` in the notes and consumes everything up to its end. */
static bool take_note(struct ih *h, const char *what)
{
	char *p = strstr(h->notes, what);
	size_t end;

	if (!p)
		return false;
	end = (size_t)(p - h->notes) + strlen(what);
	memmove(h->notes, h->notes + end, h->notes_len - end + 1);
	h->notes_len -= end;
	return true;
}

int ih_wait_notify(struct ih *h, const char *what, pid_t pid, int timeout_ms, int *ret_status)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = {.fd = h->notify_fd, .events = POLLIN};
		int status;

		drain_notify(h);
		if (take_note(h, what))
			return 1;
		if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
			drain_notify(h);
			if (ret_status)
				*ret_status = status;
			return take_note(h, what) ? -EINTR : 0;
		}
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		/* short slices: the child may exit without notifying */
		poll(&p, 1, MIN(remaining_ms(deadline), 20));
	}
}

static void dump_log(const char *what, const char *path)
{
	char *log = ih_read_file(path, NULL);

	fprintf(stderr, "# ---- %s (%s) ----\n%s# ---- end ----\n", what, path, log);
	free(log);
}

struct ih *ih_start(const struct ih_opts *o)
{
	static const struct ih_opts none = {0};
	struct ih *h;
	int status = 0, r;

	if (!o)
		o = &none;
	h = ih_new();
	h->keep_zones = o->keep_zones;
	ih_sim_start(h, o->sim_args);
	if (o->listen_fd > 0) {
		assert_non_null(o->socket);
		snprintf(h->sock, sizeof(h->sock), "%s", o->socket);
	}
	h->pid = ih_daemon_spawn(h, o->daemon_args, o->listen_fd, NULL);
	r = ih_wait_notify(h, "READY=1", h->pid, IH_TIMEOUT_MS, &status);
	if (r != 1) {
		fprintf(stderr, "# hvisord did not become ready (%s, status 0x%x)\n",
			r == 0 ? "it exited" : strerror(-r), status);
		if (r == 0 || r == -EINTR)
			h->pid = -1;
		dump_log("hvisord log", h->log);
	}
	assert_int_equal(r, 1);
	return h;
}

void ih_assert_log_clean(const char *path)
{
	static const char *const bad[] = {
		" crit: ",
		" alert: ",
		" emerg: ",
		"AddressSanitizer",
		"LeakSanitizer",
		"runtime error:",
		"UndefinedBehaviorSanitizer",
	};
	char *log = ih_read_file(path, NULL);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (strstr(log, bad[i])) {
			fprintf(stderr, "# %s contains '%s':\n%s\n", path, bad[i], log);
			free(log);
			fail_msg("%s contains '%s'", path, bad[i]);
		}
	free(log);
}

/* Starts hvisord again on h (same runtime dir, sim and options; args as
 * ih_daemon_spawn's) and waits for its READY=1. */
void ih_daemon_restart(struct ih *h, const char *const *args)
{
	int status = 0, r;

	assert_true(h->pid < 0);
	h->pid = ih_daemon_spawn(h, args, 0, NULL);
	r = ih_wait_notify(h, "READY=1", h->pid, IH_TIMEOUT_MS, &status);
	if (r != 1) {
		fprintf(stderr, "# hvisord did not become ready again (%s, status 0x%x)\n",
			r == 0 ? "it exited" : strerror(-r), status);
		if (r == 0 || r == -EINTR)
			h->pid = -1;
		dump_log("hvisord log", h->log);
	}
	assert_int_equal(r, 1);
}

void ih_daemon_kill9(struct ih *h)
{
	assert_true(h->pid > 0);
	assert_int_equal(kill(h->pid, SIGKILL), 0);
	(void)ih_waitpid(h->pid, IH_TIMEOUT_MS);
	h->pid = -1;
}

void ih_stop_sig(struct ih *h, int sig)
{
	ih_daemon_stop(h, sig);
	if (h->sim_running) {
		int status = simh_stop(&h->sim);

		h->sim_running = false;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			dump_log("hvisor-sim log", h->sim_log);
			fail_msg("hvisor-sim did not exit 0 (status 0x%x)", status);
		}
		ih_assert_log_clean(h->sim_log);
	}
	ih_free(h);
}

void ih_daemon_stop(struct ih *h, int sig)
{
	bool activated = strncmp(h->sock, h->dir, strlen(h->dir)) != 0 ||
			 strcmp(h->sock + strlen(h->dir), "/hvisord.sock") != 0;
	char own_sock[320], *bg;
	pid_t virtiods[64];
	int status, r, n_virtiods;

	assert_true(h->pid > 0);
	/* its backends, which must not outlive it */
	n_virtiods = ih_children_named(h->pid, IH_VIRTIOD_COMM, virtiods, 64);
	assert_int_equal(kill(h->pid, sig), 0);
	status = ih_waitpid(h->pid, IH_TIMEOUT_MS);
	h->pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "# hvisord exited with wait status 0x%x\n", status);
		dump_log("hvisord log", h->log);
		fail_msg("hvisord did not exit 0 after signal %d (status 0x%x)", sig, status);
	}
	for (int i = 0; i < n_virtiods && !h->keep_zones; i++)
		if (ih_pid_alive(virtiods[i], IH_VIRTIOD_COMM)) {
			dump_log("hvisord log", h->log);
			fail_msg("hvisor-virtiod pid %d outlived hvisord", (int)virtiods[i]);
		}
	/* its socket is gone (an activated socket belongs to the manager) */
	snprintf(own_sock, sizeof(own_sock), "%s/hvisord.sock", h->dir);
	if (access(own_sock, F_OK) == 0)
		fail_msg("%s still exists after hvisord exited", own_sock);
	assert_int_equal(errno, ENOENT);
	if (activated)
		assert_int_equal(access(h->sock, F_OK), 0);
	r = ih_wait_notify(h, "STOPPING=1", -1, IH_TIMEOUT_MS, NULL);
	if (r != 1)
		fail_msg("no STOPPING=1 from hvisord (notes: %s)", h->notes);
	ih_assert_log_clean(h->log);
	/* background clients (hvctl events, hvsim-guest) */
	bg = ih_path(h, "bg.log");
	ih_assert_log_clean(bg);
	free(bg);
}

void ih_stop(struct ih *h)
{
	ih_stop_sig(h, SIGTERM);
}

/* ---- files ----------------------------------------------------------------- */

char *ih_read_file(const char *path, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	ssize_t k;

	if (fd < 0 && errno == ENOENT && !ret_len) {
		buf = strdup("");
		assert_non_null(buf);
		return buf;
	}
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	k = read_full(fd, buf, (size_t)st.st_size);
	close(fd);
	assert_true(k >= 0);
	buf[k] = '\0';
	if (ret_len)
		*ret_len = (size_t)k;
	return buf;
}

void ih_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write_full(fd, data, len), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

bool ih_file_contains(const char *path, const char *needle)
{
	char *s = ih_read_file(path, NULL);
	bool found = strstr(s, needle) != NULL;

	free(s);
	return found;
}

bool ih_wait_file_contains(const char *path, const char *needle, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		if (ih_file_contains(path, needle))
			return true;
		if (now_ms() >= deadline)
			return false;
		poll(NULL, 0, 10);
	}
}

char *ih_path(const struct ih *h, const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", h->dir, name) > 0);
	return p;
}

void ih_fill(void *buf, size_t len, const char *seed)
{
	uint64_t x = 0xcbf29ce484222325ull;
	uint8_t *b = buf;
	size_t i = 0;

	for (const char *s = seed; *s; s++)
		x = (x ^ (uint8_t)*s) * 0x100000001b3ull;
	x |= 1;
	while (i < len) {
		test_rng(&x);
		for (int k = 0; k < 8 && i < len; k++, i++)
			b[i] = (uint8_t)(x >> (8 * k));
	}
}

uint64_t ih_file_hash(const char *path)
{
	size_t len;
	char *s = ih_read_file(path, &len);
	uint64_t x = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		x = (x ^ (uint8_t)s[i]) * 0x100000001b3ull;
	free(s);
	return x;
}

int64_t ih_jint(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no '%s' in %s", key, json_object_to_json_string(o));
	return json_object_get_int64(v);
}

const char *ih_jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no '%s' in %s", key, json_object_to_json_string(o));
	return json_object_get_string(v);
}

int64_t ih_jint_or(json_object *o, const char *key, int64_t dflt)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : dflt;
}

const char *ih_jstr_or(json_object *o, const char *key, const char *dflt)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : dflt;
}

json_object *ih_json_load(const char *path)
{
	json_object *o = json_object_from_file(path);

	if (!o)
		fail_msg("cannot parse %s: %s", path, json_util_get_last_err());
	return o;
}

void ih_json_save(json_object *o, const char *path)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_NOSLASHESCAPE);

	ih_write_file(path, s, strlen(s), 0644);
}

/* Walks a dotted path ("memory_regions[0].size") to its last step: with
 * val, sets it there (taking val); without, returns what is there. */
static json_object *json_path(json_object *root, const char *path, json_object *val)
{
	char *copy = strdup(path), *save = NULL, *tok, *next;
	json_object *cur = root, *got = NULL;

	assert_non_null(copy);
	tok = strtok_r(copy, ".", &save);
	while (tok) {
		char *br = strchr(tok, '[');
		long idx = -1;

		next = strtok_r(NULL, ".", &save);
		if (br) {
			*br = '\0';
			idx = strtol(br + 1, NULL, 10);
		}
		if (idx < 0 && !next && val) {
			json_object_object_add(cur, tok, val);
			break;
		}
		if (!json_object_object_get_ex(cur, tok, &cur))
			fail_msg("%s: no key '%s'", path, tok);
		if (idx >= 0) {
			assert_true(json_object_is_type(cur, json_type_array));
			if (!next && val) {
				assert_int_equal(json_object_array_put_idx(cur, (size_t)idx, val),
						 0);
				break;
			}
			cur = json_object_array_get_idx(cur, (size_t)idx);
			assert_non_null(cur);
		}
		if (!next)
			got = cur;
		tok = next;
	}
	free(copy);
	return got;
}

void ih_json_set(json_object *root, const char *path, json_object *val)
{
	assert_non_null(val);
	json_path(root, path, val);
}

json_object *ih_json_get(json_object *root, const char *path)
{
	return json_path(root, path, NULL);
}

uint64_t ih_json_u64(json_object *root, const char *path)
{
	json_object *v = json_path(root, path, NULL);
	const char *s;
	char *end;
	uint64_t n;

	if (json_object_is_type(v, json_type_int))
		return (uint64_t)json_object_get_int64(v);
	assert_true(json_object_is_type(v, json_type_string));
	s = json_object_get_string(v);
	errno = 0;
	n = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		fail_msg("%s: '%s' is not a number", path, s);
	return n;
}

void ih_json_rebase(json_object *cfg, uint64_t base)
{
	static const char *const keys[] = {
		"memory_regions[0].physical_start",
		"memory_regions[0].virtual_start",
		"kernel_load_paddr",
		"dtb_load_paddr",
		"entry_point",
	};
	uint64_t old = ih_json_u64(cfg, keys[0]);

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		char hex[32];

		snprintf(hex, sizeof(hex), "0x%llx",
			 (unsigned long long)(ih_json_u64(cfg, keys[i]) - old + base));
		ih_json_set(cfg, keys[i], json_object_new_string(hex));
	}
}

uint64_t ih_file_u64(const char *file, const char *path)
{
	json_object *o = ih_json_load(file);
	uint64_t n = ih_json_u64(o, path);

	json_object_put(o);
	return n;
}

char *ih_make_image(struct ih *h, const char *rel, size_t size)
{
	char *path = ih_path(h, rel), *buf = malloc(size ? size : 1);

	assert_non_null(buf);
	ih_fill(buf, size, rel);
	ih_write_file(path, buf, size, 0644);
	free(buf);
	return path;
}

static void make_image(struct ih *h, const char *rel, size_t size)
{
	free(ih_make_image(h, rel, size));
}

char *ih_make_zone(struct ih *h, const char *example, size_t kernel_size, size_t dtb_size)
{
	char name[128], *dst, *src = ih_example(example);
	json_object *o, *v;

	snprintf(name, sizeof(name), "%s.json", example);
	o = ih_json_load(src);
	free(src);
	dst = ih_path(h, name);
	ih_json_save(o, dst);
	assert_true(json_object_object_get_ex(o, "kernel_filepath", &v));
	make_image(h, json_object_get_string(v), kernel_size);
	assert_true(json_object_object_get_ex(o, "dtb_filepath", &v));
	make_image(h, json_object_get_string(v), dtb_size);
	json_object_put(o);
	return dst;
}

/* ---- the sim's side ---------------------------------------------------------- */

/* Physical memory: the sim's memfd, or the kmod target's HV_IT_PHYS. */
static int phys_fd(struct ih *h)
{
	if (ih_on_sim())
		return ih_phys_memfd(h);
	return kmod_phys_open(O_RDONLY);
}

static void phys_read(struct ih *h, uint64_t paddr, void *buf, size_t len)
{
	int fd = phys_fd(h);
	ssize_t k = pread_full(fd, buf, len, (off_t)paddr);

	if (k != (ssize_t)len)
		fail_msg("reading %zu bytes of physical memory at 0x%llx: %s", len,
			 (unsigned long long)paddr, k < 0 ? strerror(errno) : "short read");
	close(fd);
}

int ih_phys_memfd(struct ih *h)
{
	ih_need_sim("the sim's memory file");
	struct hvsim_msg req = {.op = HVSIM_OP_PHYS_MEMFD}, rep;
	int fd = simh_connect(h->sim.sock), mfd = -1;
	size_t n = 0;

	assert_true(fd >= 0);
	assert_int_equal(simh_rpc(fd, &req, NULL, 0, NULL, 0, &rep, NULL, 0, NULL, &mfd, 1, &n), 0);
	close(fd);
	assert_int_equal(n, 1);
	return mfd;
}

void ih_assert_phys_equals_file(struct ih *h, uint64_t paddr, const char *file)
{
	size_t len;
	char *want = ih_read_file(file, &len), *got = malloc(len + 1);

	assert_non_null(got);
	phys_read(h, paddr, got, len);
	if (memcmp(want, got, len) != 0) {
		size_t i = 0;

		while (want[i] == got[i])
			i++;
		free(want);
		free(got);
		fail_msg("%s differs from memory at 0x%llx from byte %zu of %zu", file,
			 (unsigned long long)paddr, i, len);
	}
	free(want);
	free(got);
}

bool ih_phys_is_zero(struct ih *h, uint64_t paddr, size_t len)
{
	char *buf = malloc(len);
	bool zero = true;

	assert_non_null(buf);
	phys_read(h, paddr, buf, len);
	for (size_t i = 0; i < len && zero; i++)
		zero = buf[i] == 0;
	free(buf);
	return zero;
}

int ih_sim_zone_ids(struct ih *h, uint32_t *ids, size_t max)
{
	struct hvisor_zone_info zones[64];
	int64_t n;

	if (ih_on_sim()) {
		n = simh_list(h->sim.ctl, 64, zones, 64);
	} else {
		int fd = kmod_open();

		n = kmod_zone_list(fd, zones, 64);
		close(fd);
	}

	for (int64_t i = 0; i < n && (size_t)i < max; i++)
		ids[i] = zones[i].zone_id;
	return (int)n;
}

/* ---- varlink ------------------------------------------------------------------ */

struct vl_client *ih_client_at(const char *sock)
{
	struct vl_client *c = NULL;
	int r = vl_client_connect(sock, &c);

	if (r < 0)
		fail_msg("cannot connect to %s: %s", sock, strerror(-r));
	return c;
}

struct vl_client *ih_client(const struct ih *h)
{
	return ih_client_at(h->sock);
}

int ih_recv(struct vl_client *c, int timeout_ms, json_object **ret)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		size_t avail;
		char *buf;
		ssize_t k;
		int r = vl_framer_next(&c->in, ret, NULL);

		if (r == 1)
			ih_check_received_or_fail(c->fd, *ret);
		if (r != 0)
			return r;
		r = poll(&p, 1, remaining_ms(deadline));
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return -ETIMEDOUT;
		r = vl_framer_reserve(&c->in, &buf, &avail);
		if (r < 0)
			return r;
		k = recv(c->fd, buf, avail, MSG_DONTWAIT);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k < 0)
			return errno == ECONNRESET ? -ECONNRESET : -errno;
		if (k == 0)
			return -ECONNRESET;
		vl_framer_commit(&c->in, (size_t)k);
	}
}

static json_object *parse_params(const char *params)
{
	json_object *p;

	if (!params)
		return NULL;
	p = json_tokener_parse(params);
	if (!p)
		fail_msg("bad test JSON: %s", params);
	return p;
}

json_object *ih_call_fds(struct vl_client *c, const char *method, json_object *params,
			 const int *fds, size_t n_fds)
{
	json_object *msg = vl_call_new(method, params, false), *reply = NULL;
	int r = ih_send(c, msg, fds, n_fds);

	json_object_put(msg);
	if (r < 0)
		fail_msg("%s: send failed: %s", method, strerror(-r));
	r = ih_recv(c, IH_TIMEOUT_MS, &reply);
	if (r != 1)
		fail_msg("%s: no reply: %s", method, strerror(-r));
	return reply;
}

json_object *ih_call(struct vl_client *c, const char *method, const char *params)
{
	return ih_call_fds(c, method, parse_params(params), NULL, 0);
}

json_object *ih_ok(json_object *reply)
{
	const char *e = vl_reply_error(reply);

	if (e)
		fail_msg("unexpected error %s: %s", e, json_object_to_json_string(reply));
	return vl_reply_parameters(reply);
}

void ih_assert_error(json_object *reply, const char *name)
{
	const char *e = vl_reply_error(reply);

	if (!e || strcmp(e, name) != 0)
		fail_msg("expected %s, got %s", name, json_object_to_json_string(reply));
	/* every error carries a human message */
	assert_true(strlen(vl_reply_error_message(reply)) > 0);
}

json_object *ih_call_error(const struct ih *h, const char *method, const char *params,
			   const char *name, bool keep)
{
	struct vl_client *c = ih_client(h);
	json_object *reply = ih_call(c, method, params);

	vl_client_free(c);
	ih_assert_error(reply, name);
	if (keep)
		return reply;
	json_object_put(reply);
	return NULL;
}

char *ih_list_json(const struct ih *h)
{
	struct vl_client *c = ih_client(h);
	json_object *reply = ih_call(c, "org.hvisor.Zone.List", NULL);
	char *s = strdup(json_object_to_json_string_ext(ih_ok(reply), JSON_C_TO_STRING_PLAIN));

	json_object_put(reply);
	vl_client_free(c);
	assert_non_null(s);
	return s;
}

int ih_zone_ids(const struct ih *h, uint32_t *ids, size_t max)
{
	struct vl_client *c = ih_client(h);
	json_object *reply = ih_call(c, "org.hvisor.Zone.List", NULL), *zones;
	size_t n;

	assert_true(json_object_object_get_ex(ih_ok(reply), "zones", &zones));
	n = json_object_array_length(zones);
	for (size_t i = 0; i < n && i < max; i++)
		ids[i] = (uint32_t)json_object_get_int64(
			json_object_object_get(json_object_array_get_idx(zones, i), "zone_id"));
	json_object_put(reply);
	vl_client_free(c);
	return (int)n;
}

void ih_assert_serving(const struct ih *h)
{
	struct vl_client *c = ih_client(h);
	json_object *reply = ih_call(c, "org.hvisor.Zone.List", NULL), *zones, *z0, *info;

	assert_true(json_object_object_get_ex(ih_ok(reply), "zones", &zones));
	assert_true(json_object_array_length(zones) >= 1);
	z0 = json_object_array_get_idx(zones, 0);
	assert_int_equal(json_object_get_int64(json_object_object_get(z0, "zone_id")), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(z0, "name")),
			    "root-linux");
	json_object_put(reply);
	reply = ih_call(c, "org.hvisor.Manager.GetInfo", NULL);
	assert_true(json_object_object_get_ex(ih_ok(reply), "info", &info));
	assert_string_equal(json_object_get_string(json_object_object_get(info, "backend")),
			    ih_backend_kind());
	json_object_put(reply);
	vl_client_free(c);
}

void ih_send_start(struct ih *h, struct vl_client *c, const char *cfg)
{
	json_object *j = ih_json_load(cfg), *params = json_object_new_object();
	json_object *files = json_object_new_object(), *msg;
	char *k = ih_path(h, ih_jstr(j, "kernel_filepath"));
	char *d = ih_path(h, ih_jstr(j, "dtb_filepath"));
	int fds[2];

	fds[0] = open(k, O_RDONLY | O_CLOEXEC);
	fds[1] = open(d, O_RDONLY | O_CLOEXEC);
	assert_true(fds[0] >= 0 && fds[1] >= 0);
	json_object_object_add(files, "kernel_filepath", json_object_new_int(0));
	json_object_object_add(files, "dtb_filepath", json_object_new_int(1));
	json_object_object_add(params, "config", j);
	json_object_object_add(params, "files", files);
	msg = vl_call_new("org.hvisor.Zone.Start", params, false);
	assert_int_equal(ih_send(c, msg, fds, 2), 0);
	json_object_put(msg);
	close(fds[0]);
	close(fds[1]);
	free(k);
	free(d);
}

int64_t ih_load_hold(struct ih *h, enum hvsim_hold what)
{
	struct hvsim_msg m = {.op = HVSIM_OP_LOAD_HOLD, .arg = {what}};
	struct pollfd p = {.fd = h->sim.ctl, .events = POLLIN};

	ih_need_sim("it holds loads in hvisor-sim (LOAD_HOLD)");
	assert_int_equal(send(h->sim.ctl, &m, sizeof(m), MSG_NOSIGNAL), sizeof(m));
	/* HVSIM_HOLD_WAIT is answered once hvisord's load arrived */
	if (poll(&p, 1, IH_TIMEOUT_MS) != 1)
		fail_msg("hvisor-sim did not answer LOAD_HOLD %d", (int)what);
	assert_int_equal(recv(h->sim.ctl, &m, sizeof(m), 0), sizeof(m));
	assert_int_equal(m.op, HVSIM_OP_LOAD_HOLD);
	return m.ret;
}

json_object *ih_call_during_load(struct ih *h, struct vl_client *c, const char *method,
				 const char *params)
{
	json_object *msg = vl_call_new(method, parse_params(params), false), *reply = NULL;

	assert_int_equal(ih_send(c, msg, NULL, 0), 0);
	json_object_put(msg);
	assert_int_equal(ih_load_hold(h, HVSIM_HOLD_STEP), 0);
	if (ih_recv(c, IH_TIMEOUT_MS, &reply) != 1)
		fail_msg("%s was not answered while a load was held", method);
	return reply;
}

void ih_wait_settled(const struct ih *h)
{
	int64_t deadline = now_ms() + IH_TIMEOUT_MS;

	for (;;) {
		char *s = ih_list_json(h);
		bool starting = strstr(s, "\"starting\"") != NULL;

		free(s);
		if (!starting)
			return;
		if (now_ms() >= deadline)
			fail_msg("a zone stays in state 'starting'");
		poll(NULL, 0, 10);
	}
}

int ih_raw_connect(const char *sock)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(sock) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fail_msg("connect %s: %s", sock, strerror(errno));
	return fd;
}

void ih_raw_send(int fd, const void *buf, size_t len)
{
	ih_note_sent(fd, buf, len);
	assert_int_equal(send_with_fds(fd, buf, len, NULL, 0, 0), (ssize_t)len);
}

int ih_raw_recv(int fd, struct vl_framer *frm, int timeout_ms, json_object **ret)
{
	struct vl_client c = {.fd = fd, .in = *frm};
	int r = ih_recv(&c, timeout_ms, ret);

	*frm = c.in;
	return r;
}

void ih_assert_closed(int fd, struct vl_framer *frm)
{
	json_object *extra = NULL;
	int r = ih_raw_recv(fd, frm, IH_TIMEOUT_MS, &extra);

	if (r == 1) {
		fprintf(stderr, "# unexpected message: %s\n", json_object_to_json_string(extra));
		json_object_put(extra);
	}
	assert_int_equal(r, -ECONNRESET);
}

/* ---- subprocesses --------------------------------------------------------------- */

static void child_setup(const struct ih *h, const struct ih_exec *x)
{
	if (x && x->stdin_fd > 0)
		dup2(x->stdin_fd, 0);
	if (h && !(x && x->no_socket_env))
		setenv("HVISOR_SOCKET", h->sock, 1);
	for (size_t i = 0; x && x->env && x->env[i]; i++) {
		const char *eq = strchr(x->env[i], '=');

		if (eq) {
			char name[128];

			snprintf(name, sizeof(name), "%.*s", (int)(eq - x->env[i]), x->env[i]);
			setenv(name, eq + 1, 1);
		} else
			unsetenv(x->env[i]);
	}
	if (x && x->cwd && chdir(x->cwd) < 0)
		_exit(126);
	if (x && x->uid) {
		if (setgroups(x->n_groups, x->groups) < 0 || setgid(x->gid) < 0 ||
		    setuid(x->uid) < 0)
			_exit(125);
	}
}

static void read_into(int fd, char **buf, size_t *len, bool *open_)
{
	char tmp[8192];
	ssize_t k = read(fd, tmp, sizeof(tmp));

	if (k < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (k <= 0) {
		*open_ = false;
		return;
	}
	*buf = realloc(*buf, *len + (size_t)k + 1);
	assert_non_null(*buf);
	memcpy(*buf + *len, tmp, (size_t)k);
	*len += (size_t)k;
	(*buf)[*len] = '\0';
}

int ih_run(const struct ih *h, const struct ih_exec *x, struct ih_out *out, const char *const *argv)
{
	int po[2], pe[2], nul;
	int64_t deadline;
	bool o_open = true, e_open = true;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	out->out = strdup("");
	out->err = strdup("");
	assert_non_null(out->out);
	assert_non_null(out->err);
	assert_int_equal(pipe2(po, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pe, O_CLOEXEC), 0);
	nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(nul >= 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(nul, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		child_setup(h, x);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	out->pid = pid;
	close(nul);
	close(po[1]);
	close(pe[1]);
	deadline = now_ms() + IH_TIMEOUT_MS;
	while (o_open || e_open) {
		struct pollfd p[2] = {{.fd = o_open ? po[0] : -1, .events = POLLIN},
				      {.fd = e_open ? pe[0] : -1, .events = POLLIN}};
		int r = poll(p, 2, remaining_ms(deadline));

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(po[0]);
			close(pe[0]);
			fail_msg("%s did not finish in time (stdout: %s, stderr: %s)", argv[0],
				 out->out, out->err);
		}
		if (p[0].revents)
			read_into(po[0], &out->out, &out->out_len, &o_open);
		if (p[1].revents)
			read_into(pe[0], &out->err, &out->err_len, &e_open);
	}
	close(po[0]);
	close(pe[0]);
	out->status = ih_waitpid(pid, IH_TIMEOUT_MS);
	if (WIFEXITED(out->status))
		out->code = WEXITSTATUS(out->status);
	else if (WIFSIGNALED(out->status))
		out->code = 128 + WTERMSIG(out->status);
	else
		out->code = -1;
	/* a sanitizer report in a client is a failure whatever its exit code */
	if (strstr(out->err, "Sanitizer") || strstr(out->err, "runtime error:"))
		fail_msg("%s reported:\n%s", argv[0], out->err);
	return out->code;
}

void ih_hvctl_expect(const struct ih *h, int code, const char *const *args, const char *in_out,
		     const char *in_err, struct ih_out *ret_out)
{
	ih_hvctl_expect_x(h, NULL, code, args, in_out, in_err, ret_out);
}

void ih_hvctl_expect_x(const struct ih *h, const struct ih_exec *x, int code,
		       const char *const *args, const char *in_out, const char *in_err,
		       struct ih_out *ret_out)
{
	const char *argv[32];
	struct ih_out o;
	size_t n = 0;
	int r;

	argv[n++] = ih_bin_hvctl();
	for (size_t i = 0; args[i] && n + 1 < ARRAY_SIZE(argv); i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	r = ih_run(h, x, &o, argv);
	if (r != code || (in_out && !strstr(o.out, in_out)) || (in_err && !strstr(o.err, in_err))) {
		fprintf(stderr, "# hvctl");
		for (size_t i = 1; i < n; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "\n# exit %d\n# stdout: %s\n# stderr: %s\n", r, o.out, o.err);
		ih_out_free(&o);
		fail_msg("expected exit %d%s%s%s%s", code, in_out ? ", stdout with " : "",
			 in_out ? in_out : "", in_err ? ", stderr with " : "",
			 in_err ? in_err : "");
	}
	if (ret_out)
		*ret_out = o;
	else
		ih_out_free(&o);
}

static int run_va(const struct ih *h, const char *prog, struct ih_out *out, va_list ap)
{
	const char *argv[32];
	size_t n = 0;
	const char *a;

	argv[n++] = prog;
	while ((a = va_arg(ap, const char *))) {
		assert_true(n < ARRAY_SIZE(argv) - 1);
		argv[n++] = a;
	}
	argv[n] = NULL;
	return ih_run(h, NULL, out, argv);
}

int ih_hvctl(const struct ih *h, struct ih_out *out, ...)
{
	va_list ap;
	int r;

	va_start(ap, out);
	r = run_va(h, path_hvctl, out, ap);
	va_end(ap);
	return r;
}

int ih_hvisor(const struct ih *h, struct ih_out *out, ...)
{
	va_list ap;
	int r;

	va_start(ap, out);
	r = run_va(h, path_hvisor_link, out, ap);
	va_end(ap);
	return r;
}

void ih_out_free(struct ih_out *out)
{
	free(out->out);
	free(out->err);
	out->out = out->err = NULL;
}

pid_t ih_spawn_bg(const struct ih *h, const char *const *argv, int *ret_stdout)
{
	char *errlog = ih_path(h, "bg.log");
	int po[2] = {-1, -1}, lf;
	pid_t pid;

	if (ret_stdout)
		assert_int_equal(pipe2(po, O_CLOEXEC), 0);
	lf = open(errlog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	free(errlog);
	assert_true(lf >= 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(ret_stdout ? po[1] : lf, 1);
		dup2(lf, 2);
		child_setup(h, NULL);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(lf);
	if (ret_stdout) {
		close(po[1]);
		*ret_stdout = po[0];
	}
	return pid;
}

ssize_t ih_read_line(struct ih_lines *l, char *out, size_t size, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		char *nl = memchr(l->buf, '\n', l->len);
		struct pollfd p = {.fd = l->fd, .events = POLLIN};
		ssize_t k;

		if (nl) {
			size_t n = (size_t)(nl - l->buf);

			snprintf(out, size, "%.*s", (int)n, l->buf);
			memmove(l->buf, nl + 1, l->len - n - 1);
			l->len -= n + 1;
			return (ssize_t)n;
		}
		if (l->len == sizeof(l->buf))
			fail_msg("line longer than %zu bytes", sizeof(l->buf));
		if (poll(&p, 1, remaining_ms(deadline)) == 0)
			return -ETIMEDOUT;
		k = read(l->fd, l->buf + l->len, sizeof(l->buf) - l->len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -EPIPE;
		l->len += (size_t)k;
	}
}

/* ---- virtio ---------------------------------------------------------------------- */

void ih_zone_start(struct ih *h, const char *example)
{
	char *cfg = ih_make_zone(h, example, 64 * 1024, 4096);
	struct ih_out o;

	if (ih_hvctl(h, &o, "zone", "start", cfg, NULL) != 0)
		fail_msg("hvctl zone start %s: %s", cfg, o.err);
	ih_out_free(&o);
	free(cfg);
}

json_object *ih_zone_virtio(const struct ih *h, uint32_t zone_id)
{
	struct vl_client *c = ih_client(h);
	char params[64];
	json_object *reply, *z, *v = NULL;

	snprintf(params, sizeof(params), "{\"zone_id\": %u}", zone_id);
	reply = ih_call(c, "org.hvisor.Zone.Info", params);
	vl_client_free(c);
	assert_true(json_object_object_get_ex(ih_ok(reply), "zone", &z));
	if (json_object_object_get_ex(z, "virtio", &v))
		json_object_get(v);
	json_object_put(reply);
	return v;
}

pid_t ih_virtiod_pid(const struct ih *h, uint32_t zone_id)
{
	json_object *v = ih_zone_virtio(h, zone_id), *b, *p;
	pid_t pid = 0;

	if (v && json_object_object_get_ex(v, "backend", &b) &&
	    strcmp(json_object_get_string(b), "running") == 0 &&
	    json_object_object_get_ex(v, "pid", &p))
		pid = (pid_t)json_object_get_int64(p);
	json_object_put(v);
	return pid;
}

pid_t ih_wait_virtiod(const struct ih *h, uint32_t zone_id, pid_t not_pid)
{
	int64_t deadline = now_ms() + IH_TIMEOUT_MS;

	for (;;) {
		pid_t pid = ih_virtiod_pid(h, zone_id);

		if (pid > 0 && pid != not_pid)
			return pid;
		if (now_ms() >= deadline)
			fail_msg("zone %u's hvisor-virtiod is not running (other than pid %d)",
				 zone_id, (int)not_pid);
		poll(NULL, 0, 10);
	}
}

char *ih_virtio_list_str(const struct ih *h, uint32_t zone_id)
{
	json_object *l = ih_virtio_list(h, zone_id);
	char *s = strdup(json_object_to_json_string_ext(l, JSON_C_TO_STRING_PLAIN));

	assert_non_null(s);
	json_object_put(l);
	return s;
}

json_object *ih_virtio_list(const struct ih *h, uint32_t zone_id)
{
	struct vl_client *c = ih_client(h);
	char params[64];
	json_object *reply, *devs;

	snprintf(params, sizeof(params), "{\"zone_id\": %u}", zone_id);
	reply = ih_call(c, "org.hvisor.Virtio.List", zone_id ? params : NULL);
	vl_client_free(c);
	assert_true(json_object_object_get_ex(ih_ok(reply), "devices", &devs));
	assert_true(json_object_is_type(devs, json_type_array));
	json_object_get(devs);
	json_object_put(reply);
	return devs;
}

json_object *ih_virtio_device(const struct ih *h, uint32_t zone_id, uint64_t addr)
{
	json_object *devs = ih_virtio_list(h, zone_id), *found = NULL;

	for (size_t i = 0; i < json_object_array_length(devs) && !found; i++) {
		json_object *d = json_object_array_get_idx(devs, i), *a;

		if (json_object_object_get_ex(d, "addr", &a) && json_object_get_uint64(a) == addr)
			found = json_object_get(d);
	}
	json_object_put(devs);
	return found;
}

int64_t ih_virtio_counter(const struct ih *h, uint32_t zone_id, uint64_t addr, const char *key)
{
	json_object *d = ih_virtio_device(h, zone_id, addr), *v;
	int64_t r = -1;

	if (d && json_object_object_get_ex(d, key, &v))
		r = json_object_get_int64(v);
	json_object_put(d);
	return r;
}

/* ---- network ------------------------------------------------------------------ */

int ih_netns_private(void)
{
	static const char *const v6[] = {
		"/proc/sys/net/ipv6/conf/default/disable_ipv6",
		"/proc/sys/net/ipv6/conf/all/disable_ipv6",
	};

	if (geteuid() != 0)
		return -EPERM;
	if (access("/dev/net/tun", R_OK | W_OK) < 0)
		return -errno;
	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	/* best effort: a kernel without IPv6 has nothing to turn off */
	for (size_t i = 0; i < ARRAY_SIZE(v6); i++) {
		int fd = open(v6[i], O_WRONLY | O_CLOEXEC);

		if (fd >= 0) {
			(void)!write(fd, "1", 1);
			close(fd);
		}
	}
	return 0;
}

static bool created_hvisor_group; /* by ih_hvisor_gid */

static int tap_open(const char *name)
{
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

void ih_tap_create_owned(const char *name, uid_t owner)
{
	int fd = tap_open(name);

	if (fd < 0)
		fail_msg("cannot create tap %s: %s", name, strerror(-fd));
	if (owner != (uid_t)-1)
		assert_int_equal(ioctl(fd, TUNSETOWNER, (unsigned long)owner), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
	assert_true(ih_if_index(name) > 0);
}

void ih_tap_create(const char *name)
{
	ih_tap_create_owned(name, (uid_t)-1);
}

int ih_tun_node(const char *dir, mode_t mode)
{
	static bool private_ns;
	char node[512];
	int r = 0;

	if (mode == 0 && !private_ns)
		return 0;
	if (!private_ns) {
		/* private, or the bind below would reach the host's mounts */
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			return -errno;
		private_ns = true;
	}
	(void)umount2("/dev/net/tun", MNT_DETACH); /* an earlier binding */
	if (mode == 0)
		return 0;
	snprintf(node, sizeof(node), "%s/tun-node", dir);
	(void)unlink(node);
	if (mknod(node, S_IFCHR | 0600, makedev(10, 200)) < 0 || chmod(node, mode) < 0 ||
	    mount(node, "/dev/net/tun", NULL, MS_BIND, NULL) < 0)
		r = -errno;
	(void)unlink(node); /* the binding keeps the inode */
	return r;
}

gid_t ih_hvisor_gid(void)
{
	struct group *g = getgrnam("hvisor");

	if (!g && access("/usr/sbin/groupadd", X_OK) == 0) {
		const char *argv[] = {"/usr/sbin/groupadd", "-f", "hvisor", NULL};
		struct ih_out o;

		assert_int_equal(ih_run(NULL, NULL, &o, argv), 0);
		ih_out_free(&o);
		created_hvisor_group = true;
		g = getgrnam("hvisor");
	}
	return g ? g->gr_gid : (gid_t)-1;
}

void ih_hvisor_group_cleanup(void)
{
	const char *argv[] = {"/usr/sbin/groupdel", "hvisor", NULL};
	struct ih_out o;

	if (!created_hvisor_group)
		return;
	ih_run(NULL, NULL, &o, argv);
	ih_out_free(&o);
	created_hvisor_group = false;
}

void ih_tap_delete(const char *name)
{
	int fd;

	if (ih_if_index(name) == 0)
		return;
	fd = tap_open(name);
	if (fd < 0)
		fail_msg("cannot attach to tap %s to delete it: %s", name, strerror(-fd));
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 0), 0);
	close(fd);
	assert_true(ih_wait_if(name, false, IH_TIMEOUT_MS));
}

void ih_if_up(const char *name, const char *addr, unsigned prefix)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};

	assert_true(s >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (addr) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

		assert_true(prefix >= 1 && prefix <= 32);
		sin->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
		if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
			fail_msg("%s: SIOCSIFADDR %s: %s", name, addr, strerror(errno));
		sin->sin_addr.s_addr = htonl(~0u << (32 - prefix));
		if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
			fail_msg("%s: SIOCSIFNETMASK /%u: %s", name, prefix, strerror(errno));
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		fail_msg("%s: SIOCGIFFLAGS: %s", name, strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		fail_msg("%s: SIOCSIFFLAGS: %s", name, strerror(errno));
	close(s);
}

unsigned ih_if_index(const char *name)
{
	return if_nametoindex(name);
}

bool ih_wait_if(const char *name, bool exists, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		if ((ih_if_index(name) > 0) == exists)
			return true;
		if (now_ms() >= deadline)
			return false;
		poll(NULL, 0, 10);
	}
}

struct vl_client *ih_subscribe(const struct ih *h)
{
	struct vl_client *c = ih_client(h);
	json_object *msg = vl_call_new("org.hvisor.Manager.Subscribe", NULL, true), *reply = NULL;
	json_object *e, *v;

	assert_int_equal(ih_send(c, msg, NULL, 0), 0);
	json_object_put(msg);
	assert_int_equal(ih_recv(c, IH_TIMEOUT_MS, &reply), 1);
	assert_true(vl_reply_continues(reply));
	assert_true(json_object_object_get_ex(ih_ok(reply), "event", &e));
	assert_true(json_object_object_get_ex(e, "event", &v));
	assert_string_equal(json_object_get_string(v), "Subscribed");
	json_object_put(reply);
	return c;
}

json_object *ih_wait_event(struct vl_client *sub, const char *name, int64_t zone_id, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	char seen[2048] = "";

	for (;;) {
		json_object *reply = NULL, *e, *v;
		int r = ih_recv(sub, remaining_ms(deadline), &reply);

		if (r != 1)
			fail_msg("no event %s within %d ms (%s); seen: %s", name, timeout_ms,
				 strerror(-r), seen);
		assert_true(json_object_object_get_ex(ih_ok(reply), "event", &e));
		assert_true(json_object_object_get_ex(e, "event", &v));
		snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s ",
			 json_object_get_string(v));
		if (strcmp(json_object_get_string(v), name) == 0 &&
		    (zone_id < 0 || (json_object_object_get_ex(e, "zone_id", &v) &&
				     json_object_get_int64(v) == zone_id))) {
			json_object_get(e);
			json_object_put(reply);
			return e;
		}
		json_object_put(reply);
	}
}

/* argv of hvsim-guest for zone/addr/irq plus the caller's arguments */
static void guest_argv(const struct ih *h, const char **argv, size_t max, char bufs[3][32],
		       uint32_t zone, uint64_t addr, uint32_t irq, va_list ap)
{
	size_t n = 0;
	const char *a;

	assert_non_null(path_guest);
	snprintf(bufs[0], 32, "%u", zone);
	snprintf(bufs[1], 32, "0x%llx", (unsigned long long)addr);
	snprintf(bufs[2], 32, "%u", irq);
	argv[n++] = path_guest;
	argv[n++] = "--sim";
	argv[n++] = h->sim.sock;
	argv[n++] = "--zone";
	argv[n++] = bufs[0];
	argv[n++] = "--device";
	argv[n++] = bufs[1];
	argv[n++] = "--irq";
	argv[n++] = bufs[2];
	while ((a = va_arg(ap, const char *))) {
		assert_true(n < max - 1);
		argv[n++] = a;
	}
	argv[n] = NULL;
}

int ih_guest(const struct ih *h, struct ih_out *out, uint32_t zone, uint64_t addr, uint32_t irq,
	     ...)
{
	const char *argv[48];
	char bufs[3][32];
	va_list ap;

	va_start(ap, irq);
	guest_argv(h, argv, ARRAY_SIZE(argv), bufs, zone, addr, irq, ap);
	va_end(ap);
	return ih_run(h, NULL, out, argv);
}

void ih_blk_verify(const struct ih *h, uint32_t zone, uint64_t addr, uint32_t irq,
		   const char *count)
{
	struct ih_out o;

	if (ih_guest(h, &o, zone, addr, irq, "blk-verify", "--count", count, NULL) != 0)
		fail_msg("blk-verify on zone %u failed: %s\n%s", zone, o.out, o.err);
	assert_non_null(strstr(o.out, "blk-verify: OK"));
	ih_out_free(&o);
}

pid_t ih_guest_bg(const struct ih *h, int *ret_stdout, uint32_t zone, uint64_t addr, uint32_t irq,
		  ...)
{
	const char *argv[48];
	char bufs[3][32];
	va_list ap;

	va_start(ap, irq);
	guest_argv(h, argv, ARRAY_SIZE(argv), bufs, zone, addr, irq, ap);
	va_end(ap);
	return ih_spawn_bg(h, argv, ret_stdout);
}

int ih_wait_bg(const struct ih *h, pid_t pid, int timeout_ms)
{
	int status = ih_waitpid(pid, timeout_ms);
	char bg[400];

	snprintf(bg, sizeof(bg), "%s/bg.log", h->dir);
	if (status == -1) {
		dump_log("background log", bg);
		fail_msg("pid %d did not finish within %d ms", (int)pid, timeout_ms);
	}
	ih_assert_log_clean(bg);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

/* /proc/PID/stat: comm (in parentheses, may contain anything), state, ppid */
static bool proc_stat(pid_t pid, char *comm, size_t size, char *state, pid_t *ppid)
{
	char path[64], buf[1024], *open_, *close_;
	int fd, p = 0;
	ssize_t k;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (k <= 0)
		return false;
	buf[k] = '\0';
	open_ = strchr(buf, '(');
	close_ = strrchr(buf, ')');
	if (!open_ || !close_ || close_ < open_ || sscanf(close_ + 1, " %c %d", state, &p) != 2)
		return false;
	snprintf(comm, size, "%.*s", (int)(close_ - open_ - 1), open_ + 1);
	*ppid = p;
	return true;
}

int ih_children_named(pid_t parent, const char *comm, pid_t *pids, int max)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	int n = 0;

	assert_non_null(dir);
	while ((de = readdir(dir))) {
		char c[64], state;
		pid_t pid = (pid_t)atoi(de->d_name), ppid;

		if (pid <= 0 || !proc_stat(pid, c, sizeof(c), &state, &ppid))
			continue;
		if (ppid == parent && strcmp(c, comm) == 0 && state != 'Z' && n < max)
			pids[n++] = pid;
	}
	closedir(dir);
	return n;
}

void ih_blk_verify_quick(const struct ih *h, uint32_t zone, uint64_t addr, uint32_t irq)
{
	ih_blk_verify(h, zone, addr, irq, "16");
}

void ih_wait_stopped(pid_t pid, bool stopped)
{
	int64_t deadline = now_ms() + IH_TIMEOUT_MS;
	char c[64], state = '?';
	pid_t ppid;

	/* a signal is delivered after kill() returns: wait for its effect */
	while (proc_stat(pid, c, sizeof(c), &state, &ppid) && (state == 'T') != stopped) {
		if (now_ms() > deadline)
			fail_msg("pid %d is in state %c", (int)pid, state);
		poll(NULL, 0, 1);
	}
}

pid_t ih_keeper_pid(const struct ih *h)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;

	assert_non_null(dir);
	while (!found && (de = readdir(dir))) {
		char c[64], state, fd2[64], target[PATH_MAX];
		pid_t pid = (pid_t)atoi(de->d_name), ppid;
		ssize_t k;

		if (pid <= 0 || !proc_stat(pid, c, sizeof(c), &state, &ppid) ||
		    strcmp(c, "hvisor-fdstore") != 0 || state == 'Z')
			continue;
		/* this test's: it writes to this test's hvisord log */
		snprintf(fd2, sizeof(fd2), "/proc/%d/fd/2", (int)pid);
		k = readlink(fd2, target, sizeof(target) - 1);
		if (k > 0 && (size_t)k == strlen(h->log) && memcmp(target, h->log, (size_t)k) == 0)
			found = pid;
	}
	closedir(dir);
	return found;
}

bool ih_pid_alive(pid_t pid, const char *comm)
{
	char c[64], state;
	pid_t ppid;

	if (pid <= 0 || !proc_stat(pid, c, sizeof(c), &state, &ppid))
		return false;
	return state != 'Z' && (!comm || strcmp(c, comm) == 0);
}

/* ---- the test as a virtio-blk guest ----------------------------------------------- */

void ih_gblk_open(const struct ih *h, uint32_t zone, uint64_t addr, uint32_t irq, unsigned qd,
		  uint32_t max_len, struct ih_gblk *b)
{
	uint64_t negotiated = 0;
	uint32_t lo = 0, hi = 0;
	int r;

	memset(b, 0, sizeof(*b));
	r = hvg_sim_open(h->sim.sock, zone, -1, 0, 0, &b->t);
	if (r < 0)
		fail_msg("cannot attach to zone %u as its guest: %s", zone, strerror(-r));
	r = hvg_dev_probe(b->t, addr, irq, &b->d);
	if (r < 0)
		fail_msg("no virtio device at 0x%llx: %s", (unsigned long long)addr, strerror(-r));
	assert_int_equal(hvg_dev_id(b->d), 2); /* block */
	b->features = hvg_dev_features(b->d);
	assert_int_equal(hvg_dev_negotiate(b->d, 0, &negotiated), 0);
	/* capacity: config offset 0, a 64-bit field read as two words */
	assert_int_equal(hvg_dev_config_read(b->d, 0, &lo, 4), 0);
	assert_int_equal(hvg_dev_config_read(b->d, 4, &hi, 4), 0);
	b->capacity = (uint64_t)le32toh(hi) << 32 | le32toh(lo);
	assert_int_equal(hvg_vq_setup(b->d, 0, 0, &b->vq), 0);
	assert_int_equal(hvg_dev_driver_ok(b->d), 0);
	b->qd = MIN(qd, hvg_vq_free_descs(b->vq) / 3);
	assert_true(b->qd >= 1);
	b->max_len = max_len;
	b->reqs = calloc(b->qd, sizeof(*b->reqs));
	assert_non_null(b->reqs);
	for (unsigned i = 0; i < b->qd; i++) {
		struct ih_gblk_req *q = &b->reqs[i];

		q->hdr_gpa = hvg_alloc(b->t, 32, 16);
		q->data_gpa = hvg_alloc(b->t, max_len, 4096);
		assert_true(q->hdr_gpa && q->data_gpa);
		q->hdr = hvg_ptr(b->t, q->hdr_gpa, 32);
		q->data = hvg_ptr(b->t, q->data_gpa, max_len);
		assert_true(q->hdr && q->data);
		q->status = q->hdr + 16;
	}
}

void ih_gblk_close(struct ih_gblk *b)
{
	if (b->d) {
		(void)hvg_dev_reset(b->d);
		hvg_dev_free(b->d);
	}
	if (b->t)
		hvg_transport_close(b->t);
	free(b->reqs);
	memset(b, 0, sizeof(*b));
}

struct ih_gblk_req *ih_gblk_submit(struct ih_gblk *b, uint32_t type, uint64_t sector, uint32_t len,
				   const void *data, uint64_t tag)
{
	/* IN (0) and GET_ID (8) fill the data buffer */
	bool writable = type == 0 || type == 8;
	struct hvg_buf bufs[3];
	struct ih_gblk_req *q = NULL;
	unsigned n = 0;
	uint32_t v;
	uint64_t s64;

	for (unsigned i = 0; i < b->qd && !q; i++)
		if (!b->reqs[i].busy)
			q = &b->reqs[i];
	if (!q)
		return NULL;
	assert_true(len <= b->max_len);
	v = htole32(type);
	memcpy(q->hdr, &v, 4);
	memset(q->hdr + 4, 0, 4);
	s64 = htole64(sector);
	memcpy(q->hdr + 8, &s64, 8);
	*q->status = 0xff; /* not written by the device (yet) */
	if (data)
		memcpy(q->data, data, len);
	bufs[n++] = (struct hvg_buf){.gpa = q->hdr_gpa, .len = 16};
	if (len)
		bufs[n++] = (struct hvg_buf){.gpa = q->data_gpa, .len = len, .writable = writable};
	bufs[n++] = (struct hvg_buf){.gpa = q->hdr_gpa + 16, .len = 1, .writable = true};
	assert_int_equal(hvg_vq_add(b->vq, bufs, n, false, q), 0);
	q->busy = true;
	q->type = type;
	q->sector = sector;
	q->len = len;
	q->tag = tag;
	b->inflight++;
	hvg_vq_kick(b->vq);
	return q;
}

struct ih_gblk_req *ih_gblk_reap(struct ih_gblk *b, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		void *token = NULL;
		uint32_t used = 0;
		int r = hvg_vq_get(b->vq, &token, &used);

		assert_true(r >= 0);
		if (r == 1) {
			struct ih_gblk_req *q = token;

			assert_true(q >= b->reqs && q < b->reqs + b->qd && q->busy);
			q->busy = false;
			b->inflight--;
			return q;
		}
		if (now_ms() >= deadline)
			return NULL;
		/* interrupts can be lost while a backend restarts: short slices */
		r = hvg_dev_wait(b->d, MIN(remaining_ms(deadline), 20), NULL);
		assert_true(r >= 0);
	}
}

uint8_t ih_gblk_sync(struct ih_gblk *b, uint32_t type, uint64_t sector, uint32_t len, void *buf)
{
	bool out = !(type == 0 || type == 8);
	struct ih_gblk_req *q = ih_gblk_submit(b, type, sector, len, out ? buf : NULL, 0), *done;

	assert_non_null(q);
	done = ih_gblk_reap(b, IH_TIMEOUT_MS);
	if (!done)
		fail_msg("request type %u sector %llu not completed", type,
			 (unsigned long long)sector);
	assert_ptr_equal(done, q);
	if (!out && buf)
		memcpy(buf, q->data, len);
	return *q->status;
}
