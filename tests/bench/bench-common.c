// SPDX-License-Identifier: GPL-2.0-only
/*
 * What hv-bench and dp-bench share (bench-common.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-common.h"
#include "util.h"
#include "varlink.h"

struct bench_opts bench_opt;

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", bench_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* --- time, numbers ------------------------------------------------------------ */

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void sleep_s(double s)
{
	struct timespec ts = {.tv_sec = (time_t)s,
			      .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void fill_random(uint64_t *seed, uint64_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t z = (*seed += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		p[i] = z ^ (z >> 31);
	}
}

int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t pct(const uint64_t *v, size_t n, double q)
{
	size_t k = (size_t)ceil(q * (double)n);

	return v[k ? k - 1 : 0];
}

uint64_t median(const uint64_t *v, size_t n)
{
	uint64_t *s = malloc(n * sizeof(*s));
	uint64_t m;

	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_u64);
	m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return m;
}

const char *yes(bool ok)
{
	return ok ? "yes" : "NO";
}

void machine(void)
{
	char line[256], model[200] = "?";
	struct utsname u;
	time_t now = time(NULL);
	FILE *f = fopen("/proc/cpuinfo", "re");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "model name", 10) == 0) {
			char *p = strchr(line, ':');

			if (p) {
				snprintf(model, sizeof(model), "%s", p + 2);
				model[strcspn(model, "\n")] = '\0';
			}
			break;
		}
	if (f)
		fclose(f);
	uname(&u);
	strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
	printf("%s %s: %s; %ld CPUs (nproc), %s, kernel %s %s; load average ", bench_name,
	       HV_VERSION, line, sysconf(_SC_NPROCESSORS_ONLN), model, u.release, u.machine);
	f = fopen("/proc/loadavg", "re");
	if (f && fgets(line, sizeof(line), f))
		printf("%s", line);
	else
		printf("?\n");
	if (f)
		fclose(f);
}

/* --- options ------------------------------------------------------------------ */

bool bench_option(int c, const char *arg)
{
	switch (c) {
	case BENCH_O_SIM:
		bench_opt.sim = arg;
		return true;
	case BENCH_O_HVISORD:
		bench_opt.hvisord = arg;
		return true;
	case BENCH_O_TMPDIR:
		bench_opt.tmpdir = arg;
		return true;
	case BENCH_O_KEEP:
		bench_opt.keep_logs = true;
		return true;
	default:
		return false;
	}
}

/* --- hvisor-sim and hvisord --------------------------------------------------- */

static int unix_listen_dgram(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		die("notify socket: %m");
	strcpy(sa.sun_path, path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind %s: %m", path);
	return fd;
}

static pid_t spawn(const char *const *argv, const struct env *e, const char *log)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %m");
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		setenv("NOTIFY_SOCKET", e->notify, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Waits for READY=1 from pid on the notify socket. */
static void wait_ready(struct env *e, pid_t pid, const char *what)
{
	uint64_t deadline = now_ns() + 10ull * 1000000000u;

	for (;;) {
		struct pollfd p = {.fd = e->notify_fd, .events = POLLIN};
		char buf[512];
		int status;
		ssize_t k;

		if (waitpid(pid, &status, WNOHANG) == pid)
			die("%s exited during start-up (status 0x%x), see its log in %s", what,
			    status, e->dir);
		if (now_ns() > deadline)
			die("%s did not become ready", what);
		if (poll(&p, 1, 100) <= 0)
			continue;
		k = recv(e->notify_fd, buf, sizeof(buf) - 1, 0);
		if (k <= 0)
			continue;
		buf[k] = '\0';
		if (strstr(buf, "READY=1"))
			return;
	}
}

void env_start(struct env *e)
{
	char log[400];

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "%s/%s.XXXXXX",
		 bench_opt.tmpdir   ? bench_opt.tmpdir
		 : getenv("TMPDIR") ? getenv("TMPDIR")
				    : "/tmp",
		 bench_name);
	if (!mkdtemp(e->dir))
		die("mkdtemp %s: %m", e->dir);
	snprintf(e->notify, sizeof(e->notify), "%s/notify.sock", e->dir);
	snprintf(e->sim_sock, sizeof(e->sim_sock), "%s/sim.sock", e->dir);
	snprintf(e->rundir, sizeof(e->rundir), "%s/run", e->dir);
	snprintf(e->hvisord_sock, sizeof(e->hvisord_sock), "%s/hvisord.sock", e->rundir);
	e->notify_fd = unix_listen_dgram(e->notify);
	{
		const char *argv[] = {bench_opt.sim, "--socket", e->sim_sock, "--arch",
				      "aarch64",     "--cpus",	 "4",	      "--log-level",
				      "warning",     NULL};

		snprintf(log, sizeof(log), "%s/hvisor-sim.log", e->dir);
		e->sim_pid = spawn(argv, e, log);
		wait_ready(e, e->sim_pid, "hvisor-sim");
	}
	{
		char backend[320];
		/* --stop-zones: a benchmark leaves nothing running behind it */
		const char *argv[11] = {bench_opt.hvisord, "--backend",	  backend,
					"--runtime-dir",   e->rundir,	  "--log-level",
					"warning",	   "--stop-zones"};
		size_t n = 8;

		if (bench_opt.virtiod) {
			argv[n++] = "--virtiod";
			argv[n++] = bench_opt.virtiod;
		}
		snprintf(backend, sizeof(backend), "sim:%s", e->sim_sock);
		snprintf(log, sizeof(log), "%s/hvisord.log", e->dir);
		e->hvisord_pid = spawn(argv, e, log);
		wait_ready(e, e->hvisord_pid, "hvisord");
	}
}

static void stop_pid(pid_t pid)
{
	int status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 500; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		sleep_s(0.01);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

void env_stop(struct env *e)
{
	static const char *const files[] = {"notify.sock",    "sim.sock",    "run/hvisord.sock",
					    "hvisor-sim.log", "hvisord.log", "kernel.bin"};
	char path[400];

	stop_pid(e->hvisord_pid);
	stop_pid(e->sim_pid);
	close(e->notify_fd);
	if (bench_opt.keep_logs) {
		printf("  (logs kept in %s)\n", e->dir);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", e->dir, files[i]);
		unlink(path);
	}
	rmdir(e->rundir);
	rmdir(e->dir);
}

struct vl_client *connect_hvisord(const struct env *e)
{
	struct vl_client *c;
	int r = vl_client_connect(e->hvisord_sock, &c);

	if (r < 0)
		die("connect %s: %s", e->hvisord_sock, strerror(-r));
	return c;
}

json_object *call_ok(struct vl_client *c, const char *method, json_object *params, const int *fds,
		     size_t n_fds)
{
	json_object *reply = NULL;
	int r = vl_client_call(c, method, params, fds, n_fds, &reply);

	if (r < 0)
		die("%s: %s", method, strerror(-r));
	if (vl_reply_error(reply))
		die("%s: %s: %s", method, vl_reply_error(reply), vl_reply_error_message(reply));
	return reply;
}

json_object *zone_start_params(const char *name, uint64_t ram_size, const char *virtio)
{
	json_object *p = json_object_new_object(), *files = json_object_new_object();
	char text[2048];
	int n;

	n = snprintf(
		text, sizeof(text),
		"{\"name\": \"%s\", \"zone_id\": 1, \"cpus\": [2],"
		" \"memory_regions\": ["
		"  {\"type\": \"ram\", \"physical_start\": \"0x%llx\", \"virtual_start\": \"0x%llx\", \"size\": \"0x%llx\"}"
		"%s],"
		" \"interrupts\": [76, 77, 78, 79], \"ivc_configs\": [],"
		" \"kernel_filepath\": \"kernel.bin\", \"dtb_filepath\": \"null\","
		" \"kernel_load_paddr\": \"0x%llx\", \"dtb_load_paddr\": \"0x50000000\","
		" \"entry_point\": \"0x%llx\","
		" \"arch_config\": {\"gic_version\": \"v3\", \"gicd_base\": \"0x8000000\", \"gicd_size\": \"0x10000\","
		"  \"gicr_base\": \"0x80a0000\", \"gicr_size\": \"0xf60000\", \"gits_base\": \"0x8080000\","
		"  \"gits_size\": \"0x20000\", \"is_aarch32\": false},"
		" \"pci_config\": []}",
		name, ZONE_RAM, ZONE_RAM, (unsigned long long)ram_size, virtio, KERNEL_PA,
		KERNEL_PA);
	if (n < 0 || (size_t)n >= sizeof(text))
		die("zone config: too long");
	json_object_object_add(files, "kernel_filepath", json_object_new_int(0));
	json_object_object_add(p, "config", json_tokener_parse(text));
	json_object_object_add(p, "files", files);
	json_object_object_add(p, "source", json_object_new_string(bench_name));
	return p;
}

/* --- /proc -------------------------------------------------------------------- */

long long status_field(const char *path, const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtoll(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

long long proc_kb(pid_t pid, const char *key)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	return status_field(path, key);
}

long long proc_threads_sum(pid_t pid, bool ctxt, int *threads)
{
	char path[300];
	long long sum = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	if (threads)
		*threads = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (threads)
			(*threads)++;
		if (ctxt) {
			snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid,
				 de->d_name);
			sum += status_field(path, "voluntary_ctxt_switches") +
			       status_field(path, "nonvoluntary_ctxt_switches");
		} else {
			long long v = 0;
			FILE *f;

			snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid,
				 de->d_name);
			f = fopen(path, "re");
			if (f && fscanf(f, "%lld", &v) == 1)
				sum += v;
			if (f)
				fclose(f);
		}
	}
	closedir(d);
	return sum;
}
