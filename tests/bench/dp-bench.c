// SPDX-License-Identifier: GPL-2.0-only
/*
 * dp-bench: the data-plane benchmarks of docs/performance.md. Not part of
 * the test suite: it asserts nothing about timing, it prints figures next
 * to a raw baseline measured in the same run.
 *
 * It starts its own hvisor-sim and hvisord (which runs hvisor-virtiod for
 * zone 1) in a fresh temporary directory, starts zone 1, adds a virtio-blk
 * device on an image in /dev/shm and (as root) a virtio-net device on a tap
 * in a private network namespace, and runs hvsim-guest workloads against
 * them, each next to a raw loop doing the same I/O without the guest:
 *
 *   blk     4 KiB random reads at QD1 and QD32, 1 MiB sequential reads and
 *           writes, against preadv/pwritev loops on the same file (QD32:
 *           32 threads, and io_uring with 32 in flight, both shown)
 *   net     guest transmit of 64 and 1514-byte frames and 64 KiB TSO frames
 *           against a write loop on a second tap configured the same way;
 *           guest receive of 64 and 1514-byte frames against a read loop on
 *           that tap, both fed by the same AF_PACKET sender
 *   reg     synchronous register read round trip (reg-bench) against the
 *           same four message hops between three plain processes
 *   notify  notifications and interrupts per request, with and without
 *           VIRTIO_F_RING_EVENT_IDX
 *   rss     hvisor-virtiod's RSS besides mapped guest RAM (/proc/PID/smaps),
 *           and its wake-ups while idle
 *
 * Everything (sim, hvisord, virtiod, guest, raw loops) runs in the network
 * namespace dp-bench makes for itself; its only addresses are from
 * 192.0.2.0/24 (TEST-NET-1). Not root: the net benchmarks are skipped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

#include "bench-common.h"
#include "util.h"
#include "varlink.h"
#include "virtio-config.h"

/* the zone and its devices */
#define ZONE_RAMSZ  0x10000000ull
#define BLK_ADDR    "0xa003c00"
#define BLK_IRQ	    "78"
#define BLK2_REGION "0xa003000" /* a region shared with nothing, but not at its start */
#define BLK2_ADDR   "0xa003200"
#define BLK2_IRQ    "79"
#define NET_ADDR    "0xa003600"
#define NET_IRQ	    "77"
#define TAP_DEV	    "dpbench0" /* the virtio-net device's tap */
#define TAP_RAW	    "dpbench1" /* the raw loop's tap */
#define TAP_DEV_IP  "192.0.2.1"
#define TAP_RAW_IP  "192.0.2.129"
#define TAP_NETMASK "255.255.255.128"
#define VNET_HDR    12u /* struct virtio_net_hdr_v1: what hvisor-virtiod sets */

const char bench_name[] = "dp-bench";

static struct {
	const char *guest, *image_dir, *aio;
	double secs, notify_secs, idle_window;
	unsigned image_mib, reg_count;
} opt = {
	.image_dir = "/dev/shm",
	.secs = 5,
	.notify_secs = 2,
	.idle_window = 5,
	.image_mib = 256,
	.reg_count = 20000,
};

/* --- /proc ------------------------------------------------------------------- */

static long long proc_cpu_ns(pid_t pid)
{
	return proc_threads_sum(pid, false, NULL);
}

/* The child of `parent` whose comm is `comm`, or 0. */
static pid_t find_child(pid_t parent, const char *comm)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;

	while (d && (de = readdir(d)) && !found) {
		char path[300], buf[512], name[64];
		int ppid;
		FILE *f;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			char *l = strchr(buf, '('), *r = strrchr(buf, ')');

			if (l && r && r > l && sscanf(r + 2, "%*c %d", &ppid) == 1 &&
			    ppid == parent) {
				snprintf(name, sizeof(name), "%.*s", (int)(r - l - 1), l + 1);
				if (strcmp(name, comm) == 0)
					found = (pid_t)atoi(de->d_name);
			}
		}
		fclose(f);
	}
	if (d)
		closedir(d);
	return found;
}

struct smaps_split {
	double rss, guest, anon, file, shmem_other; /* MiB */
};

/* /proc/PID/smaps: the RSS of the mappings of `guest_name` (the zone RAM
 * memfd) against everything else. */
static bool smaps_split(pid_t pid, const char *guest_name, struct smaps_split *s)
{
	char path[64], line[512];
	bool is_guest = false, is_file = false, is_shmem = false;
	FILE *f;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		long long kb;
		char name[400] = "";

		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %399[^\n]", &a, &b, name) >= 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			const char *n = name;

			while (*n == ' ')
				n++;
			is_guest = strstr(n, guest_name) != NULL;
			is_shmem = strncmp(n, "/memfd:", 7) == 0 ||
				   strncmp(n, "/dev/shm", 8) == 0 || strncmp(n, "/SYSV", 5) == 0;
			is_file = *n == '/' && !is_shmem;
			continue;
		}
		if (sscanf(line, "Rss: %lld kB", &kb) == 1) {
			s->rss += (double)kb / 1024;
			if (is_guest)
				s->guest += (double)kb / 1024;
			else if (is_shmem)
				s->shmem_other += (double)kb / 1024;
			else if (is_file)
				s->file += (double)kb / 1024;
		} else if (sscanf(line, "Anonymous: %lld kB", &kb) == 1 && !is_guest)
			s->anon += (double)kb / 1024;
	}
	fclose(f);
	return true;
}

/* --- hvisord ------------------------------------------------------------------- */

/* Zone 1 "dpbench": 256 MiB of RAM, a 64 KiB kernel, one virtio region per
 * device (as the zcu102/NXP configs do). hvisor posts a QueueNotify only at
 * offset 0x50 of a region: with one region for all devices (the QEMU
 * example) every kick would be a blocking request, the vCPU waiting until
 * the backend has run the queue. */
static void zone_start(struct vl_client *c, const struct env *e)
{
	static const char regions[] = VIRTIO_REGION(NET_ADDR, "0x200")
		VIRTIO_REGION(BLK_ADDR, "0x200") VIRTIO_REGION(BLK2_REGION, "0x400");
	char kernel[400];
	uint64_t k[8192];
	int fd;

	snprintf(kernel, sizeof(kernel), "%s/kernel.bin", e->dir);
	fd = open(kernel, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	memset(k, 0xa5, sizeof(k));
	if (fd < 0 || write_full(fd, k, sizeof(k)) < 0)
		die("%s: %m", kernel);
	json_object_put(call_ok(c, VL_IFACE_ZONE ".Start",
				zone_start_params("dpbench", ZONE_RAMSZ, regions), &fd, 1));
	close(fd);
}

/* Virtio.Add of an hvctl device spec; fd: the image (blk) or the tap
 * (net), passed as hvctl does. */
static void virtio_add(struct vl_client *c, const char *spec, int fd)
{
	json_object *p = json_object_new_object();
	struct hv_virtio_device dev;
	struct hv_error err;

	if (hv_virtio_device_parse_spec(spec, &dev, &err) < 0)
		die("device '%s': %s: %s", spec, err.path, err.message);
	json_object_object_add(p, "zone_id", json_object_new_int(1));
	json_object_object_add(p, "device", hv_virtio_device_to_json(&dev));
	if (fd >= 0) {
		json_object *files = json_object_new_object();

		json_object_object_add(files, dev.type == HV_VIRTIO_NET ? "tap" : "img",
				       json_object_new_int(0));
		json_object_object_add(p, "files", files);
	}
	json_object_put(call_ok(c, VL_IFACE_VIRTIO ".Add", p, fd >= 0 ? &fd : NULL, fd >= 0));
	hv_virtio_device_clear(&dev);
}

/* --- hvsim-guest ------------------------------------------------------------------ */

struct guest_run {
	json_object *res;
	double cpu_guest_ns, cpu_sim_ns, cpu_virtiod_ns, wall_ns;
};

static struct env env;
static pid_t virtiod_pid;

/* Runs `hvsim-guest --json [pre...] WORKLOAD args...` against the device
 * at addr/irq; returns its JSON result (fails the run if it failed) and the
 * CPU time the guest, the sim and hvisor-virtiod used meanwhile. */
static void guest(struct guest_run *g, const char *addr, const char *irq, bool event_idx,
		  const char *const *args)
{
	const char *argv[40];
	size_t n = 0, len = 0, cap = 65536;
	char *out = malloc(cap);
	long long s0, v0;
	struct rusage ru;
	int pfd[2], status;
	uint64_t t0;
	pid_t pid;

	argv[n++] = opt.guest;
	argv[n++] = "--sim";
	argv[n++] = env.sim_sock;
	argv[n++] = "--zone";
	argv[n++] = "1";
	argv[n++] = "--device";
	argv[n++] = addr;
	argv[n++] = "--irq";
	argv[n++] = irq;
	argv[n++] = "--json";
	if (!event_idx)
		argv[n++] = "--no-event-idx";
	for (size_t i = 0; args[i] && n < ARRAY_SIZE(argv) - 1; i++)
		argv[n++] = args[i];
	argv[n] = NULL;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		die("pipe: %m");
	s0 = proc_cpu_ns(env.sim_pid);
	v0 = proc_cpu_ns(virtiod_pid);
	t0 = now_ns();
	pid = fork();
	if (pid < 0)
		die("fork: %m");
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t k;

		if (len + 1 >= cap)
			out = realloc(out, cap *= 2);
		k = read(pfd[0], out + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	out[len] = '\0';
	close(pfd[0]);
	if (wait4(pid, &status, 0, &ru) != pid)
		die("wait4: %m");
	g->wall_ns = (double)(now_ns() - t0);
	g->cpu_sim_ns = (double)(proc_cpu_ns(env.sim_pid) - s0);
	g->cpu_virtiod_ns = (double)(proc_cpu_ns(virtiod_pid) - v0);
	g->cpu_guest_ns = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
			  (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
	g->res = json_tokener_parse(out);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !g->res) {
		fprintf(stderr, "dp-bench: failed:");
		for (size_t i = 0; argv[i]; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "\n%s\n", out);
		die("hvsim-guest exited with status 0x%x", status);
	}
	free(out);
}

static double jd(const struct guest_run *g, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(g->res, key, &v))
		die("hvsim-guest result without \"%s\"", key);
	return json_object_get_double(v);
}

static void guest_free(struct guest_run *g)
{
	json_object_put(g->res);
	g->res = NULL;
}

/* CPU use during a guest run, in µs per request and in % of one CPU. */
static void print_cpu(const struct guest_run *g, double requests)
{
	double r = requests > 0 ? requests : 1;

	printf("      CPU per request: guest %.1f us, hvisor-sim %.1f us, hvisor-virtiod %.1f us"
	       " (busy: %.0f%%, %.0f%%, %.0f%% of a CPU)\n",
	       g->cpu_guest_ns / r / 1e3, g->cpu_sim_ns / r / 1e3, g->cpu_virtiod_ns / r / 1e3,
	       100 * g->cpu_guest_ns / g->wall_ns, 100 * g->cpu_sim_ns / g->wall_ns,
	       100 * g->cpu_virtiod_ns / g->wall_ns);
}

/* --- results table ----------------------------------------------------------------- */

struct row {
	char name[96], measured[160], baseline[512], target[48], met[48];
};

static struct row rows[48];
static size_t n_rows;

static struct row *row_add(const char *name)
{
	struct row *r = &rows[n_rows < ARRAY_SIZE(rows) ? n_rows++ : n_rows - 1];

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	return r;
}

/* --- blk -------------------------------------------------------------------------- */

static int img_fd;
static uint64_t img_size;

/* Fills the image with incompressible data, so no read finds a hole. */
static void image_create(char *path, size_t size)
{
	uint64_t x = now_ns(), *buf = malloc(1 << 20);

	snprintf(path, 300, "%s/dp-bench-img.XXXXXX", opt.image_dir);
	img_fd = mkostemp(path, O_CLOEXEC);
	if (img_fd < 0)
		die("mkstemp %s: %m", path);
	for (size_t off = 0; off < size; off += 1 << 20) {
		fill_random(&x, buf, (1 << 20) / 8);
		if (pwrite(img_fd, buf, 1 << 20, (off_t)off) != 1 << 20)
			die("writing %s: %m", path);
	}
	free(buf);
	img_size = size;
}

struct raw_result {
	double ops_per_s, mib_per_s, cpu_pct;
};

static double self_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
}

/* One thread's preadv/pwritev loop: random (4 KiB) or sequential blocks. */
struct raw_loop {
	size_t bs;
	bool write, random;
	uint64_t seed, ops;
	atomic_bool *stop;
	pthread_t th;
};

static void *raw_loop_run(void *arg)
{
	struct raw_loop *l = arg;
	uint64_t blocks = img_size / l->bs, next = 0;
	void *buf = aligned_alloc(4096, l->bs);
	struct iovec iov = {buf, l->bs};

	memset(buf, 0x5a, l->bs);
	while (!atomic_load_explicit(l->stop, memory_order_relaxed)) {
		for (int i = 0; i < 16; i++) {
			uint64_t b = l->random ? rnd(&l->seed) % blocks : next++ % blocks;
			ssize_t k = l->write ? pwritev(img_fd, &iov, 1, (off_t)(b * l->bs))
					     : preadv(img_fd, &iov, 1, (off_t)(b * l->bs));

			if (k != (ssize_t)l->bs)
				die("%s: %m", l->write ? "pwritev" : "preadv");
		}
		l->ops += 16;
	}
	free(buf);
	return NULL;
}

/* `threads` loops at once for opt.secs: QD = threads. */
static struct raw_result raw_blk(unsigned threads, size_t bs, bool write, bool random)
{
	struct raw_loop *l = calloc(threads, sizeof(*l));
	atomic_bool stop = false;
	struct raw_result r;
	double c0 = self_cpu_ns();
	uint64_t t0 = now_ns(), ops = 0;
	double el;

	for (unsigned i = 0; i < threads; i++) {
		l[i] = (struct raw_loop){.bs = bs,
					 .write = write,
					 .random = random,
					 .seed = 0x9e3779b97f4a7c15ull * (i + 1),
					 .stop = &stop};
		if (pthread_create(&l[i].th, NULL, raw_loop_run, &l[i]) != 0)
			die("pthread_create failed");
	}
	sleep_s(opt.secs);
	atomic_store(&stop, true);
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(l[i].th, NULL);
		ops += l[i].ops;
	}
	el = (double)(now_ns() - t0) / 1e9;
	r.ops_per_s = (double)ops / el;
	r.mib_per_s = (double)ops * (double)bs / MIB / el;
	r.cpu_pct = 100 * (self_cpu_ns() - c0) / (el * 1e9);
	free(l);
	return r;
}

/* One thread keeping `qd` 4 KiB random reads in flight with io_uring. */
static struct raw_result raw_uring(unsigned qd)
{
	struct raw_result r = {0};
#ifdef HAVE_LIBURING
	struct io_uring ring;
	uint64_t seed = 0x9e3779b97f4a7c15ull, blocks = img_size / 4096, ops = 0, t0, end;
	struct iovec *iov = calloc(qd, sizeof(*iov));
	double c0 = self_cpu_ns(), el;

	if (io_uring_queue_init(2 * qd, &ring, 0) < 0)
		return r;
	for (unsigned i = 0; i < qd; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		iov[i] = (struct iovec){aligned_alloc(4096, 4096), 4096};
		io_uring_prep_readv(sqe, img_fd, &iov[i], 1, (rnd(&seed) % blocks) * 4096);
		io_uring_sqe_set_data64(sqe, i);
	}
	t0 = now_ns();
	end = t0 + (uint64_t)(opt.secs * 1e9);
	io_uring_submit(&ring);
	while (now_ns() < end) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;

		if (io_uring_wait_cqe(&ring, &cqe) < 0)
			die("io_uring_wait_cqe failed");
		io_uring_for_each_cqe(&ring, head, cqe)
		{
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			uint64_t i = io_uring_cqe_get_data64(cqe);

			if (cqe->res != 4096)
				die("io_uring read: %d", cqe->res);
			io_uring_prep_readv(sqe, img_fd, &iov[i], 1, (rnd(&seed) % blocks) * 4096);
			io_uring_sqe_set_data64(sqe, i);
			n++;
		}
		io_uring_cq_advance(&ring, n);
		ops += n;
		io_uring_submit(&ring);
	}
	el = (double)(now_ns() - t0) / 1e9;
	r.ops_per_s = (double)ops / el;
	r.mib_per_s = r.ops_per_s * 4096 / MIB;
	r.cpu_pct = 100 * (self_cpu_ns() - c0) / (el * 1e9);
	/* Reap the qd reads still in flight before their buffers are freed:
	 * io_uring_queue_exit() does not wait for them, and an io-wq worker
	 * (every tmpfs read goes there) would write into freed heap memory. */
	for (unsigned left = qd; left > 0;) {
		struct io_uring_cqe *cqe;

		if (io_uring_wait_cqe(&ring, &cqe) < 0)
			die("io_uring_wait_cqe failed");
		io_uring_cqe_seen(&ring, cqe);
		left--;
	}
	io_uring_queue_exit(&ring);
	for (unsigned i = 0; i < qd; i++)
		free(iov[i].iov_base);
	free(iov);
#else
	(void)qd;
#endif
	return r;
}

/* Both blk devices serve the same image (share: else the second is refused
 * with ImageLocked). hvisor posts a QueueNotify only at
 * offset 0x50 of a virtio memory region (docs/hvisor-abi: mmio_virtio_handler):
 * the first device has a region of its own (zcu102/NXP configs), so its
 * kicks are posted and completions come by interrupt; the second sits at
 * 0x200 in a shared region (the QEMU example), so each kick is a blocking
 * request that returns once the backend has run the queue. */
struct blkdev {
	const char *name, *addr, *irq;
};

static const struct blkdev blkdevs[] = {
	{"posted kick", BLK_ADDR, BLK_IRQ},
	{"blocking kick", BLK2_ADDR, BLK2_IRQ},
};

static void bench_blk(void)
{
	char secs[16];
	struct {
		const char *label, *rw, *bs, *qd;
		size_t raw_bs;
		bool write, random;
		double target; /* ratio to the 1-thread raw loop, 0: none */
	} cases[] = {
		{"blk 4 KiB randread QD1", "randread", "4096", "1", 4096, false, true, 0},
		{"blk 4 KiB randread QD32", "randread", "4096", "32", 4096, false, true, 0.5},
		{"blk 1 MiB seq read QD1", "read", "1048576", "1", 1 << 20, false, false, 0.8},
		{"blk 1 MiB seq write QD1", "write", "1048576", "1", 1 << 20, true, false, 0.8},
		{"blk 1 MiB seq read QD4", "read", "1048576", "4", 1 << 20, false, false, 0},
		{"blk 1 MiB seq write QD4", "write", "1048576", "4", 1 << 20, true, false, 0},
	};

	snprintf(secs, sizeof(secs), "%g", opt.secs);
	printf("== blk: hvsim-guest blk-bench against a preadv/pwritev loop on the same file"
	       " (1 thread: \"the raw loop\"), %g s each\n",
	       opt.secs);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *args[] = {"blk-bench", "--rw",	cases[i].rw, "--bs", cases[i].bs,
				      "--qd",	   cases[i].qd, "--seconds", secs,   NULL};
		unsigned qd = (unsigned)atoi(cases[i].qd);
		bool big = cases[i].raw_bs > 4096;
		struct raw_result raw, raw_mt = {0}, uring = {0};
		const char *op = cases[i].write ? "pwritev" : "preadv";
		char extra[160] = "";

		printf("  %s\n", cases[i].label);
		raw = raw_blk(1, cases[i].raw_bs, cases[i].write, cases[i].random);
		printf("    the raw loop (%s, 1 thread): %.0f IOPS, %.1f MiB/s (%.0f%% of a CPU)\n",
		       op, raw.ops_per_s, raw.mib_per_s, raw.cpu_pct);
		if (qd > 1 && !big) {
			raw_mt = raw_blk(qd, cases[i].raw_bs, cases[i].write, cases[i].random);
			uring = raw_uring(qd);
			printf("    also: %s x %u threads: %.0f IOPS (%.0f%% of a CPU); io_uring, 1 thread, %u in flight: %.0f IOPS (%.0f%%)\n",
			       op, qd, raw_mt.ops_per_s, raw_mt.cpu_pct, qd, uring.ops_per_s,
			       uring.cpu_pct);
			snprintf(extra, sizeof(extra), "; %u threads: %.0f; io_uring QD%u: %.0f",
				 qd, raw_mt.ops_per_s, qd, uring.ops_per_s);
		}
		for (size_t d = 0; d < ARRAY_SIZE(blkdevs); d++) {
			struct guest_run g;
			double iops, mibs, ratio;
			struct row *r;
			char name[96];

			guest(&g, blkdevs[d].addr, blkdevs[d].irq, true, args);
			iops = jd(&g, "iops");
			mibs = jd(&g, "mib_per_s");
			ratio = iops / raw.ops_per_s;
			printf("    guest, %s: %.0f IOPS, %.1f MiB/s, latency p50 %.1f us, p99 %.1f us; %.3f notifications, %.3f interrupts per request\n",
			       blkdevs[d].name, iops, mibs, jd(&g, "lat_p50_us"),
			       jd(&g, "lat_p99_us"), jd(&g, "notifications_per_request"),
			       jd(&g, "interrupts_per_request"));
			print_cpu(&g, jd(&g, "requests"));
			printf("      ratio guest / raw loop: %.2f%s", ratio,
			       cases[i].target > 0 ? (ratio >= cases[i].target ? " (target met)"
									       : " (target MISSED)")
						   : "");
			if (raw_mt.ops_per_s > 0)
				printf("; / %u threads: %.2f; / io_uring: %.2f", qd,
				       iops / raw_mt.ops_per_s, iops / uring.ops_per_s);
			printf("\n");
			snprintf(name, sizeof(name), "%s, %s", cases[i].label, blkdevs[d].name);
			r = row_add(name);
			if (big)
				snprintf(r->measured, sizeof(r->measured),
					 "%.0f MiB/s (p50 %.0f us, p99 %.0f us)", mibs,
					 jd(&g, "lat_p50_us"), jd(&g, "lat_p99_us"));
			else
				snprintf(r->measured, sizeof(r->measured),
					 "%.0f IOPS (p50 %.1f us, p99 %.1f us)", iops,
					 jd(&g, "lat_p50_us"), jd(&g, "lat_p99_us"));
			if (big)
				snprintf(r->baseline, sizeof(r->baseline), "%s loop: %.0f MiB/s",
					 op, raw.mib_per_s);
			else
				snprintf(r->baseline, sizeof(r->baseline), "%s loop: %.0f IOPS%s",
					 op, raw.ops_per_s, extra);
			if (cases[i].target > 0) {
				snprintf(r->target, sizeof(r->target), "ratio >= %.1f",
					 cases[i].target);
				snprintf(r->met, sizeof(r->met), "%.2f: %s", ratio,
					 yes(ratio >= cases[i].target));
			} else {
				snprintf(r->target, sizeof(r->target), "-");
				snprintf(r->met, sizeof(r->met), "ratio %.2f", ratio);
			}
			guest_free(&g);
		}
	}
}

/* --- reg --------------------------------------------------------------------------- */

/* The same four hops as a trapped read, between three plain processes:
 * "guest" -> "sim" (32 bytes) -> "backend" (40) -> "sim" (24) -> "guest" (32),
 * SOCK_SEQPACKET, each side sleeping in poll() like the real ones. */
static void raw_chain(uint64_t *lat, unsigned n)
{
	int a[2], b[2];
	pid_t sim, be;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, a) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, b) < 0)
		die("socketpair: %m");
	be = fork();
	if (be == 0) {
		char buf[64];

		close(a[0]);
		close(a[1]);
		close(b[0]);
		for (;;) {
			struct pollfd p = {.fd = b[1], .events = POLLIN};

			poll(&p, 1, -1);
			if (recv(b[1], buf, sizeof(buf), 0) <= 0 || send(b[1], buf, 24, 0) != 24)
				_exit(0);
		}
	}
	sim = fork();
	if (sim == 0) {
		char buf[64];

		close(a[0]);
		close(b[1]);
		for (;;) {
			struct pollfd p[2] = {{.fd = a[1], .events = POLLIN},
					      {.fd = b[0], .events = POLLIN}};

			poll(p, 2, -1);
			if (p[0].revents) {
				if (recv(a[1], buf, sizeof(buf), MSG_DONTWAIT) <= 0)
					_exit(0);
				send(b[0], buf, 40, 0);
			}
			if (p[1].revents) {
				if (recv(b[0], buf, sizeof(buf), MSG_DONTWAIT) <= 0)
					_exit(0);
				send(a[1], buf, 32, 0);
			}
		}
	}
	if (be < 0 || sim < 0)
		die("fork: %m");
	close(a[1]);
	close(b[0]);
	close(b[1]);
	for (unsigned i = 0; i < n + 1000; i++) {
		char buf[64] = {0};
		struct pollfd p = {.fd = a[0], .events = POLLIN};
		uint64_t t0 = now_ns();

		if (send(a[0], buf, 32, 0) != 32)
			die("chain send: %m");
		poll(&p, 1, -1);
		if (recv(a[0], buf, sizeof(buf), 0) != 32)
			die("chain recv: %m");
		if (i >= 1000)
			lat[i - 1000] = now_ns() - t0;
	}
	close(a[0]);
	waitpid(sim, NULL, 0);
	waitpid(be, NULL, 0);
}

static void bench_reg(void)
{
	char count[16];
	const char *args[] = {"reg-bench", "--count", count, NULL};
	uint64_t *lat = calloc(opt.reg_count, sizeof(*lat));
	struct guest_run g;
	double p50, p99;
	struct row *r;

	snprintf(count, sizeof(count), "%u", opt.reg_count);
	printf("== reg: %u synchronous reads of VendorID (reg-bench)\n", opt.reg_count);
	raw_chain(lat, opt.reg_count);
	qsort(lat, opt.reg_count, sizeof(*lat), cmp_u64);
	guest(&g, BLK_ADDR, BLK_IRQ, true, args);
	p50 = jd(&g, "p50_us");
	p99 = jd(&g, "p99_us");
	printf("    guest: p50 %.1f us, p90 %.1f, p99 %.1f, max %.1f, mean %.1f\n", p50,
	       jd(&g, "p90_us"), p99, jd(&g, "max_us"), jd(&g, "mean_us"));
	print_cpu(&g, jd(&g, "reads"));
	printf("    raw: the same 4 SOCK_SEQPACKET hops between 3 processes: p50 %.1f us, p90 %.1f, p99 %.1f, max %.1f\n",
	       pct(lat, opt.reg_count, 0.5) / 1e3, pct(lat, opt.reg_count, 0.9) / 1e3,
	       pct(lat, opt.reg_count, 0.99) / 1e3, lat[opt.reg_count - 1] / 1e3);
	r = row_add("register read round trip");
	snprintf(r->measured, sizeof(r->measured), "p50 %.1f us, p99 %.1f us", p50, p99);
	snprintf(r->baseline, sizeof(r->baseline), "4-hop socket chain: p50 %.1f us, p99 %.1f us",
		 pct(lat, opt.reg_count, 0.5) / 1e3, pct(lat, opt.reg_count, 0.99) / 1e3);
	snprintf(r->target, sizeof(r->target), "p50 <= 30 us");
	snprintf(r->met, sizeof(r->met), "%s", yes(p50 <= 30));
	guest_free(&g);
	free(lat);
}

/* --- notifications and interrupts ---------------------------------------------------- */

/* Defined with the net benchmarks below. */
static pid_t injector(const char *ifname, size_t size);

static void bench_notify(bool with_net)
{
	char secs[16];
	static const struct {
		const char *name, *addr, *irq, *mode, *qd;
	} runs[] = {
		{"blk 4 KiB randread QD1, posted kick", BLK_ADDR, BLK_IRQ, NULL, "1"},
		{"blk 4 KiB randread QD32, posted kick", BLK_ADDR, BLK_IRQ, NULL, "32"},
		{"blk 4 KiB randread QD1, blocking kick", BLK2_ADDR, BLK2_IRQ, NULL, "1"},
		{"blk 4 KiB randread QD32, blocking kick", BLK2_ADDR, BLK2_IRQ, NULL, "32"},
		{"net tx 64 B", NET_ADDR, NET_IRQ, "tx", NULL},
		{"net rx 64 B", NET_ADDR, NET_IRQ, "rx", NULL},
	};

	snprintf(secs, sizeof(secs), "%g", opt.notify_secs);
	printf("== notify: notifications and interrupts per request, with and without EVENT_IDX, %g s each\n",
	       opt.notify_secs);
	for (size_t w = 0; w < ARRAY_SIZE(runs); w++) {
		double per[2][3];

		if (runs[w].mode && !with_net)
			continue;
		for (int ei = 1; ei >= 0; ei--) {
			const char *blk[] = {"blk-bench", "--rw",      "randread", "--qd",
					     runs[w].qd,  "--seconds", secs,	   NULL};
			const char *net[] = {"net-bench", "--mode", runs[w].mode,   "--size", "64",
					     "--seconds", secs,	    "--min-frames", "0",      NULL};
			struct guest_run g;
			pid_t inj = 0;

			if (runs[w].mode && runs[w].mode[0] == 'r') {
				inj = injector(TAP_DEV, 64);
				sleep_s(0.2);
			}
			guest(&g, runs[w].addr, runs[w].irq, ei, runs[w].mode ? net : blk);
			if (inj) {
				kill(inj, SIGKILL);
				waitpid(inj, NULL, 0);
			}
			per[ei][0] = jd(&g, "notifications_per_request");
			per[ei][1] = jd(&g, "interrupts_per_request");
			per[ei][2] = runs[w].mode ? jd(&g, "packets_per_s") : jd(&g, "iops");
			guest_free(&g);
		}
		printf("  %-40s EVENT_IDX: %.3f notifications, %.3f interrupts per request (%.0f/s);"
		       " without: %.3f, %.3f (%.0f/s)\n",
		       runs[w].name, per[1][0], per[1][1], per[1][2], per[0][0], per[0][1],
		       per[0][2]);
		{
			struct row *r = row_add(runs[w].name);

			snprintf(r->name, sizeof(r->name), "notif. / irq per request, %s",
				 runs[w].name);
			snprintf(r->measured, sizeof(r->measured),
				 "EVENT_IDX: %.3f / %.3f (%.0f/s)", per[1][0], per[1][1],
				 per[1][2]);
			snprintf(r->baseline, sizeof(r->baseline), "without: %.3f / %.3f (%.0f/s)",
				 per[0][0], per[0][1], per[0][2]);
			snprintf(r->target, sizeof(r->target), "-");
			snprintf(r->met, sizeof(r->met), "-");
		}
	}
}

/* --- net ---------------------------------------------------------------------------- */

static int inet_sock;

static void if_up(const char *name, const char *ip)
{
	struct ifreq ifr = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ip) {
		sin->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &sin->sin_addr);
		if (ioctl(inet_sock, SIOCSIFADDR, &ifr) < 0)
			die("%s: SIOCSIFADDR: %m", name);
		inet_pton(AF_INET, TAP_NETMASK, &sin->sin_addr);
		if (ioctl(inet_sock, SIOCSIFNETMASK, &ifr) < 0)
			die("%s: SIOCSIFNETMASK: %m", name);
	}
	if (ioctl(inet_sock, SIOCGIFFLAGS, &ifr) < 0)
		die("%s: SIOCGIFFLAGS: %m", name);
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(inet_sock, SIOCSIFFLAGS, &ifr) < 0)
		die("%s: SIOCSIFFLAGS: %m", name);
}

static int tap_open(const char *name, bool persist)
{
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("/dev/net/tun: %m");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		die("TUNSETIFF %s: %m", name);
	if (persist && ioctl(fd, TUNSETPERSIST, 1) < 0)
		die("TUNSETPERSIST %s: %m", name);
	return fd;
}

/* A private network namespace with the two taps, both up, addresses from
 * 192.0.2.0/24 only. Before anything is started: every process inherits it. */
static bool net_setup(void)
{
	int fd;

	if (geteuid() != 0) {
		printf("(not root: the net benchmarks are skipped)\n");
		return false;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		printf("(unshare(CLONE_NEWNET): %s: the net benchmarks are skipped)\n",
		       strerror(errno));
		return false;
	}
	inet_sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (inet_sock < 0)
		die("socket: %m");
	if_up("lo", NULL);
	/* the device's tap: persistent, so hvisord attaches to it, configured */
	fd = tap_open(TAP_DEV, true);
	close(fd);
	if_up(TAP_DEV, TAP_DEV_IP);
	fd = tap_open(TAP_RAW, true);
	close(fd);
	if_up(TAP_RAW, TAP_RAW_IP);
	return true;
}

/* The guest's frames (workload-net.c build_udp/build_tso), for the raw loop. */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t csum16(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* vnet header + frame; returns its length */
static size_t build_frame(uint8_t *buf, size_t size, bool tso)
{
	struct virtio_net_hdr_v1 *h = (struct virtio_net_hdr_v1 *)buf;
	uint8_t *f = buf + VNET_HDR, *ip = f + 14, *l4 = ip + 20;
	uint16_t tot = tso ? 65535 : (uint16_t)(size - 14);

	memset(buf, 0, VNET_HDR + 14 + tot);
	memset(f, 0xff, 6);
	memcpy(f + 6, (uint8_t[]){0x02, 0, 0, 0, 0, 0x01}, 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, tot);
	put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = tso ? 6 : 17;
	memcpy(ip + 12, (uint8_t[]){10, 0, 0, 1}, 4);
	memcpy(ip + 16, (uint8_t[]){10, 0, 0, 2}, 4);
	put16(ip + 10, csum16(0, ip, 20));
	put16(l4, tso ? 5001 : 9);
	put16(l4 + 2, tso ? 5001 : 9);
	for (size_t i = tso ? 20 : 8; i < (size_t)tot - 20; i++)
		l4[i] = (uint8_t)(i * 7);
	if (tso) {
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		h->hdr_len = 14 + 20 + 20;
		h->gso_size = 1448;
		h->csum_start = 14 + 20;
		h->csum_offset = 16;
		l4[12] = 5 << 4;
		l4[13] = 0x18;
		put16(l4 + 14, 65535);
	} else {
		put16(l4 + 4, (uint16_t)(tot - 20));
	}
	return VNET_HDR + 14 + tot;
}

static struct raw_result raw_tap_tx(size_t size, bool tso)
{
	uint8_t *buf = calloc(1, VNET_HDR + 14 + 65536);
	size_t len = build_frame(buf, size, tso);
	int fd = tap_open(TAP_RAW, false), hdr = VNET_HDR;
	uint64_t frames = 0, t0, end;
	double c0 = self_cpu_ns(), el;
	struct raw_result r;

	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		die("TUNSETVNETHDRSZ: %m");
	t0 = now_ns();
	end = t0 + (uint64_t)(opt.secs * 1e9);
	do {
		for (int i = 0; i < 64; i++)
			if (write(fd, buf, len) != (ssize_t)len)
				die("tap write: %m");
		frames += 64;
	} while (now_ns() < end);
	el = (double)(now_ns() - t0) / 1e9;
	r.ops_per_s = (double)frames / el;
	r.mib_per_s = (double)frames * (double)(len - VNET_HDR) * 8 / el / 1e9; /* Gbit/s */
	r.cpu_pct = 100 * (self_cpu_ns() - c0) / (el * 1e9);
	close(fd);
	free(buf);
	return r;
}

/* A child that sends frames of `size` bytes out of interface `ifname` as
 * fast as it can (AF_PACKET, qdisc bypassed), until killed. */
static pid_t injector(const char *ifname, size_t size)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %m");
	if (pid == 0) {
		struct sockaddr_ll sll = {.sll_family = AF_PACKET,
					  .sll_protocol = htons(0x0800),
					  .sll_ifindex = (int)if_nametoindex(ifname),
					  .sll_halen = 6};
		uint8_t *buf = calloc(1, VNET_HDR + 1514);
		int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), one = 1;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		build_frame(buf, size, false);
		if (s < 0 || bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0)
			_exit(1);
		setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
		for (;;)
			if (send(s, buf + VNET_HDR, size, 0) < 0 && errno != ENOBUFS &&
			    errno != EAGAIN)
				_exit(1);
	}
	return pid;
}

static struct raw_result raw_tap_rx(size_t size)
{
	uint8_t *buf = malloc(VNET_HDR + 65536);
	int fd = tap_open(TAP_RAW, false), hdr = VNET_HDR;
	uint64_t frames = 0, bytes = 0, t0, end;
	struct raw_result r;
	double c0, el;
	pid_t inj;

	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		die("TUNSETVNETHDRSZ: %m");
	fd_set_nonblock(fd, true);
	inj = injector(TAP_RAW, size);
	sleep_s(0.2);
	c0 = self_cpu_ns();
	t0 = now_ns();
	end = t0 + (uint64_t)(opt.secs * 1e9);
	while (now_ns() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t k = read(fd, buf, VNET_HDR + 65536);

		if (k < 0 && errno == EAGAIN) {
			poll(&p, 1, 100);
			continue;
		}
		if (k < 0)
			die("tap read: %m");
		frames++;
		bytes += (uint64_t)k - VNET_HDR;
	}
	el = (double)(now_ns() - t0) / 1e9;
	kill(inj, SIGKILL);
	waitpid(inj, NULL, 0);
	r.ops_per_s = (double)frames / el;
	r.mib_per_s = (double)bytes * 8 / el / 1e9;
	r.cpu_pct = 100 * (self_cpu_ns() - c0) / (el * 1e9);
	close(fd);
	free(buf);
	return r;
}

static void bench_net(void)
{
	char secs[16];
	struct {
		const char *label, *mode, *size;
		bool tso;
	} cases[] = {
		{"net tx 64 B frames", "tx", "64", false},
		{"net tx 1514 B frames", "tx", "1514", false},
		{"net tx 64 KiB TSO frames", "tx", "1514", true},
		{"net rx 64 B frames", "rx", "64", false},
		{"net rx 1514 B frames", "rx", "1514", false},
	};

	snprintf(secs, sizeof(secs), "%g", opt.secs);
	printf("== net: hvsim-guest net-bench against a raw loop on a tap configured the same way, %g s each\n",
	       opt.secs);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *args[] = {"net-bench",   "--mode",	  cases[i].mode, "--size",
				      cases[i].size, "--seconds", secs,		 "--min-frames",
				      "0",	     NULL,	  NULL};
		bool tx = cases[i].mode[0] == 't';
		size_t size = strtoul(cases[i].size, NULL, 10);
		struct raw_result raw;
		struct guest_run g;
		double pps, gbit, ratio;
		struct row *r;
		pid_t inj = 0;

		if (cases[i].tso)
			args[9] = "--tso";
		raw = tx ? raw_tap_tx(size, cases[i].tso) : raw_tap_rx(size);
		if (!tx) {
			inj = injector(TAP_DEV, size);
			sleep_s(0.2);
		}
		guest(&g, NET_ADDR, NET_IRQ, true, args);
		if (inj) {
			kill(inj, SIGKILL);
			waitpid(inj, NULL, 0);
		}
		pps = jd(&g, "packets_per_s");
		gbit = jd(&g, "gbit_per_s");
		ratio = cases[i].tso ? gbit / raw.mib_per_s : pps / raw.ops_per_s;
		printf("  %s\n", cases[i].label);
		printf("    guest: %.0f packets/s, %.3f Gbit/s; %.3f notifications, %.3f interrupts per frame\n",
		       pps, gbit, jd(&g, "notifications_per_request"),
		       jd(&g, "interrupts_per_request"));
		print_cpu(&g, jd(&g, "frames"));
		printf("    raw tap %s loop: %.0f packets/s, %.3f Gbit/s (%.0f%% of a CPU)\n",
		       tx ? "write" : "read", raw.ops_per_s, raw.mib_per_s, raw.cpu_pct);
		printf("    ratio guest / raw: %.2f\n", ratio);
		r = row_add(cases[i].label);
		if (cases[i].tso)
			snprintf(r->measured, sizeof(r->measured), "%.2f Gbit/s (%.0f frames/s)",
				 gbit, pps);
		else
			snprintf(r->measured, sizeof(r->measured), "%.0f packets/s (%.3f Gbit/s)",
				 pps, gbit);
		if (cases[i].tso)
			snprintf(r->baseline, sizeof(r->baseline), "tap write: %.2f Gbit/s",
				 raw.mib_per_s);
		else
			snprintf(r->baseline, sizeof(r->baseline), "tap %s: %.0f packets/s",
				 tx ? "write" : "read", raw.ops_per_s);
		snprintf(r->target, sizeof(r->target), "-");
		snprintf(r->met, sizeof(r->met), "ratio %.2f", ratio);
		guest_free(&g);
	}
}

/* --- rss and idle ----------------------------------------------------------------------- */

static void bench_rss(void)
{
	struct smaps_split s;
	long long c0, c1, t0, t1;
	struct row *r;
	double rest;

	printf("== rss: hvisor-virtiod (pid %d) after the workloads, and idle for %g s\n",
	       (int)virtiod_pid, opt.idle_window);
	if (!smaps_split(virtiod_pid, "memfd:hvisor-sim-phys", &s))
		die("cannot read /proc/%d/smaps", (int)virtiod_pid);
	rest = s.rss - s.guest;
	printf("    VmRSS %.2f MiB = guest RAM mapping %.2f + anon %.2f + file %.2f + other shmem %.2f (VmHWM %.2f MiB)\n",
	       s.rss, s.guest, s.anon, s.file, s.shmem_other,
	       (double)proc_kb(virtiod_pid, "VmHWM") / 1024);
	r = row_add("hvisor-virtiod RSS besides guest RAM");
	snprintf(r->measured, sizeof(r->measured), "%.2f MiB (anon %.2f, file %.2f, shmem %.2f)",
		 rest, s.anon, s.file, s.shmem_other);
	snprintf(r->baseline, sizeof(r->baseline), "guest RAM mapped: %.2f MiB; VmRSS %.2f",
		 s.guest, s.rss);
	snprintf(r->target, sizeof(r->target), "<= 4 MiB");
	snprintf(r->met, sizeof(r->met), "%s", yes(rest <= 4));

	sleep_s(1);
	c0 = proc_threads_sum(virtiod_pid, true, NULL);
	t0 = proc_cpu_ns(virtiod_pid);
	sleep_s(opt.idle_window);
	c1 = proc_threads_sum(virtiod_pid, true, NULL);
	t1 = proc_cpu_ns(virtiod_pid);
	printf("    idle: %lld context switches, %.3f ms CPU in %g s\n", c1 - c0, (t1 - t0) / 1e6,
	       opt.idle_window);
	r = row_add("idle hvisor-virtiod wake-ups");
	snprintf(r->measured, sizeof(r->measured), "%lld in %g s (%.3f ms CPU)", c1 - c0,
		 opt.idle_window, (t1 - t0) / 1e6);
	snprintf(r->target, sizeof(r->target), "0");
	snprintf(r->met, sizeof(r->met), "%s", yes(c1 == c0));
}

/* --- main ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: dp-bench --sim PATH --hvisord PATH --virtiod PATH --guest PATH [OPTIONS]\n"
		"                [blk|net|reg|notify|rss|all|serve]...\n"
		"\n"
		"Data-plane benchmarks against hvisor-sim (docs/performance.md).\n"
		"\n"
		"      --sim PATH          hvisor-sim\n"
		"      --hvisord PATH      hvisord\n"
		"      --virtiod PATH      hvisor-virtiod\n"
		"      --guest PATH        hvsim-guest\n"
		"      --seconds S         blk and net: seconds per run (default 5)\n"
		"      --notify-seconds S  notify: seconds per run (default 2)\n"
		"      --reg-count N       reg: timed reads (default 20000)\n"
		"      --image-mib N       blk: image size (default 256)\n"
		"      --image-dir DIR     blk: where the image is made, tmpfs (default /dev/shm)\n"
		"      --aio ENGINE        blk: the devices' engine, sync|threads|io_uring (default:\n"
		"                          the device's default for the image)\n"
		"      --idle-window S     rss: idle window (default 5)\n"
		"      --tmpdir DIR        for sockets and logs (default $TMPDIR or /tmp)\n"
		"      --keep-logs         keep the temporary directory\n"
		"\n"
		"serve: set up the zone and its devices, print how to run hvsim-guest\n"
		"against them and wait for the end of stdin (for profiling by hand).\n");
}

int main(int argc, char **argv)
{
	enum {
		O_VIRTIOD = BENCH_O_OWN,
		O_GUEST,
		O_SECS,
		O_NSECS,
		O_REG,
		O_MIB,
		O_IDIR,
		O_IDLE,
		O_AIO
	};
	static const struct option options[] = {
		BENCH_OPTIONS,
		{"virtiod", required_argument, NULL, O_VIRTIOD},
		{"guest", required_argument, NULL, O_GUEST},
		{"seconds", required_argument, NULL, O_SECS},
		{"notify-seconds", required_argument, NULL, O_NSECS},
		{"reg-count", required_argument, NULL, O_REG},
		{"image-mib", required_argument, NULL, O_MIB},
		{"image-dir", required_argument, NULL, O_IDIR},
		{"idle-window", required_argument, NULL, O_IDLE},
		{"aio", required_argument, NULL, O_AIO},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	bool do_blk = false, do_net = false, do_reg = false, do_notify = false, do_rss = false;
	bool do_serve = false;
	bool have_net;
	struct vl_client *c;
	char image[300];
	uint64_t v;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (ch) {
		case O_VIRTIOD:
			bench_opt.virtiod = optarg;
			break;
		case O_GUEST:
			opt.guest = optarg;
			break;
		case O_SECS:
		case O_NSECS:
		case O_IDLE: {
			double d = atof(optarg);

			if (d < 1 || d > 3600)
				die("%s: expected seconds in [1, 3600]", argv[optind - 1]);
			*(ch == O_SECS	  ? &opt.secs
			  : ch == O_NSECS ? &opt.notify_secs
					  : &opt.idle_window) = d;
			break;
		}
		case O_REG:
		case O_MIB:
			if (parse_u64(optarg, 1u << 24, &v) < 0 || v == 0)
				die("%s: expected a positive number", argv[optind - 1]);
			*(ch == O_REG ? &opt.reg_count : &opt.image_mib) = (unsigned)v;
			break;
		case O_IDIR:
			opt.image_dir = optarg;
			break;
		case O_AIO:
			opt.aio = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (bench_option(ch, optarg))
				break;
			usage(stderr);
			return 2;
		}
	}
	if (!bench_opt.sim || !bench_opt.hvisord || !bench_opt.virtiod || !opt.guest) {
		usage(stderr);
		return 2;
	}
	if (opt.image_mib < 16 || opt.image_mib > 4096)
		die("--image-mib: 16..4096");
	if (optind == argc)
		do_blk = do_net = do_reg = do_notify = do_rss = true;
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "blk") == 0)
			do_blk = true;
		else if (strcmp(argv[i], "net") == 0)
			do_net = true;
		else if (strcmp(argv[i], "reg") == 0)
			do_reg = true;
		else if (strcmp(argv[i], "notify") == 0)
			do_notify = true;
		else if (strcmp(argv[i], "rss") == 0)
			do_rss = true;
		else if (strcmp(argv[i], "serve") == 0)
			do_serve = true;
		else if (strcmp(argv[i], "all") == 0)
			do_blk = do_net = do_reg = do_notify = do_rss = true;
		else
			die("unknown benchmark '%s' (blk, net, reg, notify, rss, all)", argv[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	machine();

	have_net = (do_net || do_notify || do_rss) && net_setup();
	env_start(&env);
	c = connect_hvisord(&env);
	zone_start(c, &env);
	image_create(image, (size_t)opt.image_mib << 20);
	{
		char spec[200];

		for (size_t d = 0; d < ARRAY_SIZE(blkdevs); d++) {
			snprintf(spec, sizeof(spec),
				 "blk,addr=%s,len=0x200,irq=%s,img=dp-bench.img,share%s%s",
				 blkdevs[d].addr, blkdevs[d].irq, opt.aio ? ",aio=" : "",
				 opt.aio ? opt.aio : "");
			virtio_add(c, spec, img_fd);
		}
	}
	if (have_net) {
		int tap = tap_open(TAP_DEV, false);

		virtio_add(c, "net,addr=" NET_ADDR ",len=0x200,irq=" NET_IRQ ",tap=" TAP_DEV, tap);
		close(tap);
	}
	{
		/* what the devices really run (hvctl virtio list) */
		json_object *rep = call_ok(c, VL_IFACE_VIRTIO ".List", NULL, NULL, 0), *devs;

		if (json_object_object_get_ex(vl_reply_parameters(rep), "devices", &devs))
			for (size_t i = 0; i < json_object_array_length(devs); i++) {
				json_object *d = json_object_array_get_idx(devs, i), *e, *a;

				if (json_object_object_get_ex(d, "engine", &e) &&
				    json_object_object_get_ex(d, "addr", &a))
					printf("blk at 0x%llx: engine %s\n",
					       (unsigned long long)json_object_get_uint64(a),
					       json_object_get_string(e));
			}
		json_object_put(rep);
	}
	virtiod_pid = find_child(env.hvisord_pid, "hvisor-virtio");
	if (!virtiod_pid)
		die("no hvisor-virtiod under hvisord %d", (int)env.hvisord_pid);
	printf("hvisor-sim pid %d, hvisord pid %d, hvisor-virtiod pid %d; image %s (%u MiB, tmpfs)\n",
	       (int)env.sim_pid, (int)env.hvisord_pid, (int)virtiod_pid, image, opt.image_mib);

	if (do_serve) {
		/* for profiling by hand: the devices stay up until stdin closes */
		printf("serving; e.g.\n  %s --sim %s --zone 1 --device %s --irq %s blk-bench --qd 32\n"
		       "close stdin (Ctrl-D) to stop\n",
		       opt.guest, env.sim_sock, BLK_ADDR, BLK_IRQ);
		while (getchar() != EOF)
			;
	}
	if (do_reg)
		bench_reg();
	if (do_blk)
		bench_blk();
	if (do_net && have_net)
		bench_net();
	if (do_notify)
		bench_notify(have_net);
	if (do_rss)
		bench_rss();

	vl_client_free(c);
	env_stop(&env);
	close(img_fd);
	unlink(image);

	printf("\n== results\n");
	printf("| benchmark | hvsim-guest | raw baseline, same run | target | met |\n");
	printf("| --- | --- | --- | --- | --- |\n");
	for (size_t i = 0; i < n_rows; i++)
		printf("| %s | %s | %s | %s | %s |\n", rows[i].name, rows[i].measured,
		       rows[i].baseline, rows[i].target, rows[i].met);
	return 0;
}
