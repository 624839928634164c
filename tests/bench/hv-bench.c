// SPDX-License-Identifier: GPL-2.0-only
/*
 * hv-bench: the benchmarks of docs/performance.md. Not part of the test
 * suite: it asserts nothing about timing, it prints figures next to a raw
 * baseline measured in the same run.
 *
 *   load  Zone.Start of a zone whose kernel is a 256 MiB image on tmpfs,
 *         against `cat image > /dev/null` + memcpy of the same size;
 *         hvisord's peak RSS.
 *   list  org.hvisor.Zone.List round trips (root + 1 zone), against an
 *         echo of the same message sizes over a plain UNIX socketpair.
 *   idle  an idle hvisord: RSS and context switches over a window.
 *
 * Every benchmark starts its own hvisor-sim and hvisord in a fresh
 * temporary directory (waiting for their sd_notify READY=1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-common.h"
#include "sim.h"
#include "util.h"
#include "varlink.h"

const char bench_name[] = "hv-bench";

static struct {
	const char *image_dir;
	unsigned runs, calls, warmup;
	double idle_settle, idle_window;
	unsigned image_mib;
	bool strace;
} opt = {
	.image_dir = "/dev/shm",
	.runs = 5,
	.calls = 10000,
	.warmup = 200,
	.idle_settle = 1.0,
	.idle_window = 10.0,
	.image_mib = 256,
};

/* --- /proc ------------------------------------------------------------------- */

/* utime + stime in clock ticks */
static long long proc_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	/* after ")": state(3) ... utime(14) stime(15) */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/* CPU time in ns (first field of /proc/PID/schedstat, the whole process's main thread) */
static long long proc_cpu_ns(pid_t pid)
{
	char path[64];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* --- varlink client helpers ---------------------------------------------------- */

/* Zone 1 "bench1": 512 MiB of RAM (the kernel image goes at KERNEL_PA), one
 * virtio region. */
#define ZONE_RAMSZ 0x20000000ull

static json_object *start_params(void)
{
	return zone_start_params("bench1", ZONE_RAMSZ, VIRTIO_REGION("0xa000000", "0x4000"));
}

static void zone_shutdown(struct vl_client *c, uint32_t id)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "zone_id", json_object_new_int64(id));
	json_object_put(call_ok(c, VL_IFACE_ZONE ".Shutdown", p, NULL, 0));
}

/* --- (a) load ------------------------------------------------------------------ */

struct results {
	bool have_load, have_list, have_idle;
	/* load */
	double load_ms, load_min_ms, load_max_ms, cat_ms, read_ms, memcpy_ms, base_ms, ratio;
	double ratio_min, ratio_max;
	unsigned runs;
	double hwm_mib, rss_mib, anon_mib, file_mib, shmem_mib, hwm_before_mib;
	bool verified;
	/* list */
	double l_cpu_d, l_cpu_s;
	double l_p50, l_p90, l_p99, l_max, b_p50, b_p90, b_p99, b_max;
	unsigned calls;
	size_t req_len, rep_len;
	/* idle */
	double i_rss_mib, i_hwm_mib, i_anon_mib, i_file_mib, i_window;
	long long i_ctxt, i_ticks;
	int i_threads;
	char i_strace[2048];
};

static struct results res;

/* splitmix64 from a fresh seed: incompressible data, new every run. */
static void fill_new_random(uint64_t *p, size_t n)
{
	uint64_t x;

	if (getrandom(&x, sizeof(x), 0) != sizeof(x))
		x = now_ns();
	fill_random(&x, p, n);
}

/* FNV-1a over 64-bit words: a cheap fingerprint to print; the check itself is memcmp. */
static uint64_t hash64(const void *p, size_t n)
{
	const uint64_t *w = p;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n / 8; i++)
		h = (h ^ w[i]) * 0x100000001b3ull;
	return h;
}

/* `cat path > /dev/null`, the real program; wall time from fork to exit. */
static uint64_t time_cat(const char *path)
{
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	int status;

	if (pid < 0)
		die("fork: %m");
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, STDOUT_FILENO);
		execlp("cat", "cat", path, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("cat %s failed", path);
	return now_ns() - t0;
}

/* The same as a read loop with a 128 KiB buffer, in process. */
static uint64_t time_read_loop(const char *path)
{
	static char buf[128 * 1024];
	uint64_t t0 = now_ns();
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k;

	if (fd < 0)
		die("open %s: %m", path);
	while ((k = read(fd, buf, sizeof(buf))) > 0)
		;
	if (k < 0)
		die("read %s: %m", path);
	close(fd);
	return now_ns() - t0;
}

static int sim_phys_memfd(const struct env *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct hvsim_msg m = {.op = HVSIM_OP_PHYS_MEMFD};
	uint8_t buf[HVSIM_MAX_PACKET];
	int fds[HV_MAX_FDS_PER_MSG];
	size_t n_fds = 0;
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ssize_t k;

	strcpy(sa.sun_path, e->sim_sock);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect %s: %m", e->sim_sock);
	if (send_with_fds(s, &m, sizeof(m), NULL, 0, 0) != sizeof(m))
		die("PHYS_MEMFD: send failed");
	k = recv_with_fds(s, buf, sizeof(buf), fds, ARRAY_SIZE(fds), &n_fds, 0);
	close(s);
	if (k < (ssize_t)sizeof(m) || n_fds != 1)
		die("PHYS_MEMFD: bad reply");
	return fds[0];
}

static void bench_load(void)
{
	size_t size = (size_t)opt.image_mib << 20;
	uint64_t *t_load = calloc(opt.runs, sizeof(uint64_t));
	uint64_t *t_cat = calloc(opt.runs, sizeof(uint64_t));
	uint64_t *t_read = calloc(opt.runs, sizeof(uint64_t));
	uint64_t *t_cpy = calloc(opt.runs, sizeof(uint64_t));
	uint64_t *ratio_x1000 = calloc(opt.runs, sizeof(uint64_t));
	char image[300];
	uint8_t *img, *src, *dst, *phys;
	uint64_t h_img;
	struct vl_client *c;
	struct env e;
	int ifd, pfd;

	printf("== (a) load: Zone.Start with a %u MiB kernel image\n", opt.image_mib);
	snprintf(image, sizeof(image), "%s/hv-bench-image.XXXXXX", opt.image_dir);
	ifd = mkstemp(image);
	if (ifd < 0)
		die("mkstemp %s: %m", image);
	if (ftruncate(ifd, (off_t)size) < 0)
		die("ftruncate: %m");
	img = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, ifd, 0);
	if (img == MAP_FAILED)
		die("mmap image: %m");
	fill_new_random((uint64_t *)img, size / 8);
	h_img = hash64(img, size);
	close(ifd);
	ifd = open(image, O_RDONLY | O_CLOEXEC);
	if (ifd < 0)
		die("open %s: %m", image);

	/* memcpy baseline: both buffers touched beforehand */
	src = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED || dst == MAP_FAILED)
		die("mmap: %m");
	/* Not shared with the forked `cat`: after a fork every page of dst
	 * would be write-protected, and the baseline would time one
	 * copy-on-write fault per page instead of the copy. */
	if (madvise(src, size, MADV_DONTFORK) < 0 || madvise(dst, size, MADV_DONTFORK) < 0)
		die("madvise: %m");
	memcpy(src, img, size);
	memset(dst, 0x5a, size);

	env_start(&e);
	res.hwm_before_mib = (double)proc_kb(e.hvisord_pid, "VmHWM") / 1024.0;
	pfd = sim_phys_memfd(&e);
	phys = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, pfd, (off_t)KERNEL_PA);
	if (phys == MAP_FAILED)
		die("mmap sim physical memory: %m");
	c = connect_hvisord(&e);

	printf("  image %s (%zu bytes, fingerprint %016" PRIx64 "), %u runs + 1 warm-up\n", image,
	       size, h_img, opt.runs);
	printf("  %-4s %12s %12s %12s %12s %12s %8s\n", "run", "Zone.Start", "cat", "read-loop",
	       "memcpy", "cat+memcpy", "ratio");
	res.verified = true;
	for (unsigned run = 0; run <= opt.runs; run++) {
		json_object *msg, *reply = NULL;
		uint64_t t0, tl, tc, tr, tm;
		char label[16];
		int r;

		/* Clobber the destination, so this run must write every byte
		 * (this also allocates the sim's pages, like RAM that exists). */
		memset(phys, 0, size);

		tc = time_cat(image);
		tr = time_read_loop(image);
		t0 = now_ns();
		memcpy(dst, src, size);
		tm = now_ns() - t0;
		__asm__ volatile("" : : "r"(dst) : "memory");

		msg = vl_call_new(VL_IFACE_ZONE ".Start", start_params(), false);
		t0 = now_ns();
		r = vl_client_send(c, msg, &ifd, 1);
		if (r == 0)
			r = vl_client_recv(c, &reply);
		tl = now_ns() - t0;
		json_object_put(msg);
		if (r < 0)
			die("Zone.Start: %s", strerror(-r));
		if (vl_reply_error(reply))
			die("Zone.Start: %s: %s", vl_reply_error(reply),
			    vl_reply_error_message(reply));
		json_object_put(reply);

		if (memcmp(phys, img, size) != 0) {
			res.verified = false;
			printf("  run %u: sim memory at 0x%llx does NOT match the image (fingerprint %016" PRIx64
			       ")\n",
			       run, KERNEL_PA, hash64(phys, size));
		}
		zone_shutdown(c, 1);

		snprintf(label, sizeof(label), "%u", run);
		printf("  %-4s %9.1f ms %9.1f ms %9.1f ms %9.1f ms %9.1f ms %8.2f\n",
		       run ? label : "w-up", tl / 1e6, tc / 1e6, tr / 1e6, tm / 1e6,
		       (tc + tm) / 1e6, (double)(tc + tm) / (double)tl);
		if (run == 0)
			continue;
		t_load[run - 1] = tl;
		t_cat[run - 1] = tc;
		t_read[run - 1] = tr;
		t_cpy[run - 1] = tm;
		ratio_x1000[run - 1] = (uint64_t)(1000.0 * (double)(tc + tm) / (double)tl);
	}
	if (res.verified)
		printf("  sim memory at 0x%llx matched the image (memcmp) after every run\n",
		       KERNEL_PA);

	res.have_load = true;
	res.runs = opt.runs;
	res.load_ms = median(t_load, opt.runs) / 1e6;
	res.cat_ms = median(t_cat, opt.runs) / 1e6;
	res.read_ms = median(t_read, opt.runs) / 1e6;
	res.memcpy_ms = median(t_cpy, opt.runs) / 1e6;
	res.base_ms = res.cat_ms + res.memcpy_ms;
	res.ratio = median(ratio_x1000, opt.runs) / 1000.0;
	qsort(t_load, opt.runs, sizeof(uint64_t), cmp_u64);
	qsort(ratio_x1000, opt.runs, sizeof(uint64_t), cmp_u64);
	res.load_min_ms = t_load[0] / 1e6;
	res.load_max_ms = t_load[opt.runs - 1] / 1e6;
	res.ratio_min = ratio_x1000[0] / 1000.0;
	res.ratio_max = ratio_x1000[opt.runs - 1] / 1000.0;
	res.hwm_mib = (double)proc_kb(e.hvisord_pid, "VmHWM") / 1024.0;
	res.rss_mib = (double)proc_kb(e.hvisord_pid, "VmRSS") / 1024.0;
	res.anon_mib = (double)proc_kb(e.hvisord_pid, "RssAnon") / 1024.0;
	res.file_mib = (double)proc_kb(e.hvisord_pid, "RssFile") / 1024.0;
	res.shmem_mib = (double)proc_kb(e.hvisord_pid, "RssShmem") / 1024.0;
	printf("  median: Zone.Start %.1f ms (%.0f MiB/s), cat %.1f ms, read-loop %.1f ms, memcpy %.1f ms\n",
	       res.load_ms, opt.image_mib / (res.load_ms / 1e3), res.cat_ms, res.read_ms,
	       res.memcpy_ms);
	printf("  ratio (cat+memcpy)/Zone.Start: median %.2f (min %.2f, max %.2f); target >= 0.8\n",
	       res.ratio, res.ratio_min, res.ratio_max);
	printf("  hvisord after the loads: VmHWM %.2f MiB (%.2f MiB before), VmRSS %.2f MiB = anon %.2f + file %.2f + shmem %.2f; target HWM <= 8 MiB\n",
	       res.hwm_mib, res.hwm_before_mib, res.rss_mib, res.anon_mib, res.file_mib,
	       res.shmem_mib);

	vl_client_free(c);
	munmap(phys, size);
	close(pfd);
	env_stop(&e);
	munmap(img, size);
	munmap(src, size);
	munmap(dst, size);
	close(ifd);
	unlink(image);
	free(t_load);
	free(t_cat);
	free(t_read);
	free(t_cpy);
	free(ratio_x1000);
}

/* --- (b) list ------------------------------------------------------------------ */

static void write_all(int fd, const void *buf, size_t len)
{
	if (write_full(fd, buf, len) < 0)
		die("write: %m");
}

/* Reads one NUL-terminated message into buf (cap); returns its length with the NUL. */
static size_t read_msg(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	for (;;) {
		ssize_t k = read(fd, buf + len, cap - len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("read: %s", k ? strerror(errno) : "end of file");
		len += (size_t)k;
		if (buf[len - 1] == '\0')
			return len;
		if (len == cap)
			die("message too long");
	}
}

static void report_lat(const char *what, uint64_t *v, size_t n, double *p50, double *p90,
		       double *p99, double *max)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	*p50 = pct(v, n, 0.50) / 1e3;
	*p90 = pct(v, n, 0.90) / 1e3;
	*p99 = pct(v, n, 0.99) / 1e3;
	*max = v[n - 1] / 1e3;
	printf("  %-34s p50 %7.1f us  p90 %7.1f us  p99 %7.1f us  max %8.1f us\n", what, *p50, *p90,
	       *p99, *max);
}

static void bench_list(void)
{
	static char buf[VL_MAX_MESSAGE_SIZE];
	static const char req[] = "{\"method\":\"org.hvisor.Zone.List\"}";
	uint64_t *lat = calloc(opt.calls, sizeof(uint64_t));
	uint64_t *base = calloc(opt.calls, sizeof(uint64_t));
	char image[300], *reply_copy;
	struct vl_client *c;
	size_t rep_len = 0;
	long long cpu_d, cpu_s;
	struct env e;
	int sp[2], ifd;
	pid_t echo;

	printf("== (b) list: %u x org.hvisor.Zone.List on one connection\n", opt.calls);
	env_start(&e);
	c = connect_hvisord(&e);

	/* zone 1 with a 64 KiB kernel: List then reports root + 1 managed zone */
	snprintf(image, sizeof(image), "%s/kernel.bin", e.dir);
	ifd = open(image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (ifd < 0)
		die("open %s: %m", image);
	{
		uint64_t k[8192];

		fill_new_random(k, ARRAY_SIZE(k));
		write_all(ifd, k, sizeof(k));
	}
	json_object_put(call_ok(c, VL_IFACE_ZONE ".Start", start_params(), &ifd, 1));
	close(ifd);
	unlink(image);

	/* the real thing, timed from write() to the reply's NUL */
	cpu_d = proc_cpu_ns(e.hvisord_pid);
	cpu_s = proc_cpu_ns(e.sim_pid);
	for (unsigned i = 0; i < opt.warmup + opt.calls; i++) {
		uint64_t t0 = now_ns(), t;
		size_t n;

		write_all(c->fd, req, sizeof(req));
		n = read_msg(c->fd, buf, sizeof(buf));
		t = now_ns() - t0;
		if (i >= opt.warmup)
			lat[i - opt.warmup] = t;
		if (i == 0) {
			json_object *o = json_tokener_parse(buf), *zones;

			if (!o || vl_reply_error(o) ||
			    !json_object_object_get_ex(vl_reply_parameters(o), "zones", &zones) ||
			    json_object_array_length(zones) != 2)
				die("Zone.List: unexpected reply: %s", buf);
			json_object_put(o);
			rep_len = n;
		} else if (n != rep_len)
			die("Zone.List: reply size changed (%zu, was %zu)", n, rep_len);
	}
	res.l_cpu_d = (double)(proc_cpu_ns(e.hvisord_pid) - cpu_d) / (opt.warmup + opt.calls) / 1e3;
	res.l_cpu_s = (double)(proc_cpu_ns(e.sim_pid) - cpu_s) / (opt.warmup + opt.calls) / 1e3;
	reply_copy = malloc(rep_len);
	memcpy(reply_copy, buf, rep_len);
	zone_shutdown(c, 1);
	vl_client_free(c);
	env_stop(&e);

	/* baseline: an echo process answering a message of the request's size
	 * with one of the reply's size, over a SOCK_STREAM socketpair */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		die("socketpair: %m");
	echo = fork();
	if (echo < 0)
		die("fork: %m");
	if (echo == 0) {
		static char in[4096];

		close(sp[0]);
		for (;;) {
			size_t len = 0;

			while (len == 0 || in[len - 1] != '\0') {
				ssize_t k = read(sp[1], in + len, sizeof(in) - len);

				if (k <= 0)
					_exit(0);
				len += (size_t)k;
			}
			if (write_full(sp[1], reply_copy, rep_len) < 0)
				_exit(1);
		}
	}
	close(sp[1]);
	for (unsigned i = 0; i < opt.warmup + opt.calls; i++) {
		uint64_t t0 = now_ns(), t;

		write_all(sp[0], req, sizeof(req));
		read_msg(sp[0], buf, sizeof(buf));
		t = now_ns() - t0;
		if (i >= opt.warmup)
			base[i - opt.warmup] = t;
	}
	close(sp[0]);
	waitpid(echo, NULL, 0);

	res.have_list = true;
	res.calls = opt.calls;
	res.req_len = sizeof(req);
	res.rep_len = rep_len;
	printf("  request %zu bytes, reply %zu bytes (2 zones), %u warm-up calls not counted\n",
	       sizeof(req), rep_len, opt.warmup);
	report_lat("Zone.List via hvisord", lat, opt.calls, &res.l_p50, &res.l_p90, &res.l_p99,
		   &res.l_max);
	report_lat("baseline: socketpair echo", base, opt.calls, &res.b_p50, &res.b_p90, &res.b_p99,
		   &res.b_max);
	printf("  CPU time per call: hvisord %.1f us, hvisor-sim %.1f us\n", res.l_cpu_d,
	       res.l_cpu_s);
	printf("  target: p99 <= 1000 us\n");
	free(reply_copy);
	free(lat);
	free(base);
}

/* --- (c) idle ------------------------------------------------------------------ */

static void run_strace(pid_t pid, double window)
{
	char spid[32], log[64];
	pid_t st;
	FILE *f;
	size_t n;

	snprintf(spid, sizeof(spid), "%d", (int)pid);
	snprintf(log, sizeof(log), "/tmp/hv-bench-strace.%d", (int)getpid());
	st = fork();
	if (st < 0)
		return;
	if (st == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, STDERR_FILENO);
		dup2(fd, STDOUT_FILENO);
		execlp("strace", "strace", "-c", "-f", "-p", spid, (char *)NULL);
		_exit(127);
	}
	sleep_s(window);
	kill(st, SIGINT);
	waitpid(st, NULL, 0);
	f = fopen(log, "re");
	if (f) {
		n = fread(res.i_strace, 1, sizeof(res.i_strace) - 1, f);
		res.i_strace[n] = '\0';
		fclose(f);
	}
	unlink(log);
}

static void bench_idle(void)
{
	long long ctxt0, ctxt1, ticks0, ticks1;
	int threads;
	struct env e;

	printf("== (c) idle: hvisord with no clients, %.0f s window after %.1f s\n",
	       opt.idle_window, opt.idle_settle);
	env_start(&e);
	sleep_s(opt.idle_settle);
	ctxt0 = proc_threads_sum(e.hvisord_pid, true, &threads);
	ticks0 = proc_cpu_ticks(e.hvisord_pid);
	sleep_s(opt.idle_window);
	ctxt1 = proc_threads_sum(e.hvisord_pid, true, &threads);
	ticks1 = proc_cpu_ticks(e.hvisord_pid);

	res.have_idle = true;
	res.i_window = opt.idle_window;
	res.i_ctxt = ctxt1 - ctxt0;
	res.i_ticks = ticks1 - ticks0;
	res.i_threads = threads;
	res.i_rss_mib = (double)proc_kb(e.hvisord_pid, "VmRSS") / 1024.0;
	res.i_hwm_mib = (double)proc_kb(e.hvisord_pid, "VmHWM") / 1024.0;
	res.i_anon_mib = (double)proc_kb(e.hvisord_pid, "RssAnon") / 1024.0;
	res.i_file_mib = (double)proc_kb(e.hvisord_pid, "RssFile") / 1024.0;
	printf("  %d thread(s); context switches (voluntary+nonvoluntary, all threads) in the window: %lld; CPU ticks: %lld\n",
	       threads, res.i_ctxt, res.i_ticks);
	printf("  VmRSS %.2f MiB (anon %.2f, file %.2f), VmHWM %.2f MiB; target RSS <= 4 MiB, 0 wake-ups\n",
	       res.i_rss_mib, res.i_anon_mib, res.i_file_mib, res.i_hwm_mib);
	if (opt.strace) {
		run_strace(e.hvisord_pid, opt.idle_window);
		printf("  strace -c -f -p (%.0f s, after the window):\n%s%s", opt.idle_window,
		       res.i_strace, strstr(res.i_strace, "% time") ? "" : "  (no system calls)\n");
	}
	env_stop(&e);
}

/* --- main ---------------------------------------------------------------------- */

static void summary(void)
{
	printf("\n== results\n");
	printf("| benchmark | measured | baseline, same run | target | met |\n");
	printf("| --- | --- | --- | --- | --- |\n");
	if (res.have_load) {
		printf("| (a) Zone.Start, %u MiB kernel (median of %u) | %.1f ms (min %.1f, max %.1f) | cat %.1f ms + memcpy %.1f ms = %.1f ms | ratio >= 0.8 | %.2f (%.2f..%.2f): %s |\n",
		       opt.image_mib, res.runs, res.load_ms, res.load_min_ms, res.load_max_ms,
		       res.cat_ms, res.memcpy_ms, res.base_ms, res.ratio, res.ratio_min,
		       res.ratio_max, yes(res.ratio >= 0.8));
		printf("| (a) loaded bytes == image | %s | | memcmp | %s |\n",
		       res.verified ? "equal" : "DIFFERENT", yes(res.verified));
		printf("| (a) hvisord VmHWM after the loads | %.2f MiB (anon %.2f, file %.2f, shmem %.2f at the end) | %.2f MiB before | <= 8 MiB | %s |\n",
		       res.hwm_mib, res.anon_mib, res.file_mib, res.shmem_mib, res.hwm_before_mib,
		       yes(res.hwm_mib <= 8.0));
	}
	if (res.have_list) {
		printf("| (b) Zone.List round trip, %u calls | p50 %.1f us, p90 %.1f, p99 %.1f, max %.1f | socketpair echo: p50 %.1f us, p99 %.1f | p99 <= 1 ms | %s |\n",
		       res.calls, res.l_p50, res.l_p90, res.l_p99, res.l_max, res.b_p50, res.b_p99,
		       yes(res.l_p99 <= 1000.0));
	}
	if (res.have_idle) {
		printf("| (c) idle hvisord VmRSS | %.2f MiB (anon %.2f, file %.2f; HWM %.2f) | | <= 4 MiB | %s |\n",
		       res.i_rss_mib, res.i_anon_mib, res.i_file_mib, res.i_hwm_mib,
		       yes(res.i_rss_mib <= 4.0));
		printf("| (c) idle wake-ups in %.0f s | %lld context switches, %lld CPU ticks | | 0 | %s |\n",
		       res.i_window, res.i_ctxt, res.i_ticks, yes(res.i_ctxt == 0));
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: hv-bench --sim PATH --hvisord PATH [OPTIONS] [load|list|idle|all]...\n"
		"\n"
		"Benchmarks of hvisord against hvisor-sim (docs/performance.md).\n"
		"\n"
		"      --sim PATH          hvisor-sim binary ($HVISOR_SIM)\n"
		"      --hvisord PATH      hvisord binary ($HVISORD)\n"
		"      --runs N            load: timed Zone.Start cycles (default 5, + 1 warm-up)\n"
		"      --image-mib N       load: image size (default 256)\n"
		"      --image-dir DIR     load: where the image is made, tmpfs (default /dev/shm)\n"
		"      --calls N           list: timed calls (default 10000)\n"
		"      --idle-window S     idle: seconds observed (default 10)\n"
		"      --strace            idle: also run strace -c -f -p for another window\n"
		"      --tmpdir DIR        for sockets and logs (default $TMPDIR or /tmp)\n"
		"      --keep-logs         keep the temporary directories\n");
}

int main(int argc, char **argv)
{
	enum {
		O_RUNS = BENCH_O_OWN,
		O_IMAGE_MIB,
		O_IMAGE_DIR,
		O_CALLS,
		O_IDLE,
		O_STRACE,
	};
	static const struct option options[] = {
		BENCH_OPTIONS,
		{"runs", required_argument, NULL, O_RUNS},
		{"image-mib", required_argument, NULL, O_IMAGE_MIB},
		{"image-dir", required_argument, NULL, O_IMAGE_DIR},
		{"calls", required_argument, NULL, O_CALLS},
		{"idle-window", required_argument, NULL, O_IDLE},
		{"strace", no_argument, NULL, O_STRACE},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	bool do_load = false, do_list = false, do_idle = false;
	uint64_t v;
	int c;

	bench_opt.sim = getenv("HVISOR_SIM");
	bench_opt.hvisord = getenv("HVISORD");
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (c) {
		case O_RUNS:
		case O_IMAGE_MIB:
		case O_CALLS:
			if (parse_u64(optarg, 1u << 24, &v) < 0 || v == 0)
				die("%s: expected a positive number", argv[optind - 1]);
			if (c == O_RUNS)
				opt.runs = (unsigned)v;
			else if (c == O_IMAGE_MIB)
				opt.image_mib = (unsigned)v;
			else
				opt.calls = (unsigned)v;
			break;
		case O_IMAGE_DIR:
			opt.image_dir = optarg;
			break;
		case O_IDLE:
			opt.idle_window = atof(optarg);
			if (opt.idle_window <= 0)
				die("--idle-window: expected seconds > 0");
			break;
		case O_STRACE:
			opt.strace = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (bench_option(c, optarg))
				break;
			usage(stderr);
			return 2;
		}
	}
	if (!bench_opt.sim || !bench_opt.hvisord) {
		usage(stderr);
		return 2;
	}
	if (opt.image_mib > 448)
		die("--image-mib: the bench zone has 508 MiB of RAM after the kernel address");
	if (optind == argc)
		do_load = do_list = do_idle = true;
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "load") == 0)
			do_load = true;
		else if (strcmp(argv[i], "list") == 0)
			do_list = true;
		else if (strcmp(argv[i], "idle") == 0)
			do_idle = true;
		else if (strcmp(argv[i], "all") == 0)
			do_load = do_list = do_idle = true;
		else
			die("unknown benchmark '%s' (load, list, idle, all)", argv[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	machine();
	if (do_idle) /* first: nothing else has run yet */
		bench_idle();
	if (do_load)
		bench_load();
	if (do_list)
		bench_list();
	summary();
	return 0;
}
