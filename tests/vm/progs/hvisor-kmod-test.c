// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvisor-kmod-test: checks of hvisor.ko that need its ioctls directly,
 * run inside the VM on the test build (hypercalls answered by
 * hvisor_sim.ko). Each check prints "ok NAME" or "not ok NAME: why"; the
 * exit status is 1 if one failed.
 *
 *   hvisor-kmod-test [OPTIONS] holes     every hole of reference §1.6 refused
 *   hvisor-kmod-test [OPTIONS] channel   per-zone channel semantics
 *   hvisor-kmod-test [OPTIONS] legacy    legacy mode, to upstream's contract
 *   hvisor-kmod-test [OPTIONS] wakeup    lost wake-ups do not hang a vCPU
 *   hvisor-kmod-test [OPTIONS] rtt N     register round trip figures
 *
 * It starts a zone of its own (--zone, default 3) on --cpu with RAM
 * --ram BASE:SIZE (free memory root Linux does not use) and one virtio
 * region at --virtio BASE; --busy BASE:SIZE is the RAM of another running
 * zone. Nothing else may own that zone's channel meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abi/hvisor-abi.h"
#include "abi/zone-config.h"
#include "hvisor-sim-uapi.h"
#include "uapi/hvisor.h"

/* The upstream encodings a stock daemon uses (reference §1.2). */
_Static_assert(HVISOR_INIT_VIRTIO == 0x100, "INIT_VIRTIO");
_Static_assert(HVISOR_FINISH_REQ == 0x102, "FINISH_REQ");
_Static_assert(HVISOR_ZONE_START == 0x40080103, "ZONE_START");
_Static_assert(HVISOR_ZONE_SHUTDOWN == 0x40080104, "ZONE_SHUTDOWN");
_Static_assert(HVISOR_ZONE_LIST == 0x80080105, "ZONE_LIST");
_Static_assert(HVISOR_CONFIG_CHECK == 0x80080106, "CONFIG_CHECK");
_Static_assert(HVISOR_SET_EVENTFD == 0x40040107, "SET_EVENTFD");
_Static_assert(HVISOR_LOAD_IMAGE == 0x40180108, "LOAD_IMAGE");
_Static_assert(HVISOR_SET_BOOT_MODE == 0x40080109, "SET_BOOT_MODE");
_Static_assert(HVISOR_GET_ECAM_BASE == 0x8008010a, "GET_ECAM_BASE");
_Static_assert(HVISOR_DEASSERT_IRQ == 0x4008010b, "DEASSERT_IRQ");

/* where hvisor gates a zone's IRQs by its interrupt list */
#if defined(__aarch64__) || defined(__riscv)
#define IRQS_GATED 1
#else
#define IRQS_GATED 0
#endif

#define TEST_IRQ      40 /* in the test zone's interrupts */
#define NOTIFY_OFFSET HVISOR_VIRTIO_NOTIFY_OFFSET
#define WAIT_MS	      5000

static struct {
	uint32_t zone, cpu;
	uint64_t ram, ram_size, virtio, busy, busy_size;
	int dev, sim;
	unsigned failed, passed;
} T = {.zone = 3, .cpu = 5, .virtio = 0xfe000000, .dev = -1, .sim = -1};

static char why[512];

static bool failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool failf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return false;
}

static void check(const char *name, bool ok)
{
	if (ok) {
		printf("ok %s\n", name);
		T.passed++;
	} else {
		printf("not ok %s: %s\n", name, why);
		T.failed++;
	}
	fflush(stdout);
	why[0] = 0;
}

/* ioctl result as 0 or -errno */
static int io(int fd, unsigned long req, unsigned long arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

static bool expect_err(const char *what, int r, int want)
{
	if (r == want)
		return true;
	return failf("%s: got %d (%s), want %d (%s)", what, r, strerror(-r), want, strerror(-want));
}

/* ---------------------------------------------------------------- zones */

static uint64_t magic(void)
{
	uint64_t m = 0;

	if (io(T.dev, HVISOR_CONFIG_CHECK, (unsigned long)&m) < 0)
		return 0;
	return m;
}

struct zcfg {
	_Alignas(8) uint8_t buf[HV_ZONE_CONFIG_MAX_SIZE];
	struct hv_cfg_head *h;
};

/* The test zone: its RAM and one virtio region, TEST_IRQ allowed. */
static void zone_config(struct zcfg *z, uint32_t id, uint64_t cpus, uint64_t ram, uint64_t size)
{
	memset(z, 0, sizeof(*z));
	z->h = (struct hv_cfg_head *)z->buf;
	z->h->zone_id = id;
	z->h->cpus = cpus;
	z->h->num_memory_regions = 2;
	z->h->memory_regions[0] = (struct hv_cfg_memory_region){.type = HV_MEM_TYPE_RAM,
								.physical_start = ram,
								.virtual_start = 0x40000000,
								.size = size};
	z->h->memory_regions[1] = (struct hv_cfg_memory_region){.type = HV_MEM_TYPE_VIRTIO,
								.physical_start = T.virtio,
								.virtual_start = T.virtio,
								.size = 0x1000};
	z->h->interrupts_bitmap[TEST_IRQ / 32] = 1u << (TEST_IRQ % 32);
	snprintf(z->h->name, sizeof(z->h->name), "kmod-test");
}

static int zone_start(struct zcfg *z)
{
	return io(T.dev, HVISOR_ZONE_START, (unsigned long)z->buf);
}

static int start_test_zone(void)
{
	struct zcfg z;

	zone_config(&z, T.zone, 1ull << T.cpu, T.ram, T.ram_size);
	return zone_start(&z);
}

static int stop_test_zone(void)
{
	return io(T.dev, HVISOR_ZONE_SHUTDOWN, T.zone);
}

static int attach(uint32_t zone)
{
	struct hvisor_zone_attach a = {.zone_id = zone};
	int fd = ioctl(T.dev, HVISOR_ZONE_ATTACH, &a);

	return fd < 0 ? -errno : fd;
}

/* Physical address of root Linux's kernel code, from /proc/iomem. */
static uint64_t root_ram_addr(void)
{
	char line[256];
	uint64_t a = 0, b;
	FILE *f = fopen("/proc/iomem", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "Kernel code") &&
		    sscanf(line, " %" SCNx64 "-%" SCNx64, &a, &b) == 2)
			break;
	if (f)
		fclose(f);
	return a & ~UINT64_C(0xfff);
}

/* ---------------------------------------------------------------- sim vCPU */

struct vcpu {
	pthread_t t;
	struct hvsim_access a;
	int r;
	bool done;
};

static void *vcpu_fn(void *arg)
{
	struct vcpu *v = arg;

	v->r = ioctl(T.sim, HVSIM_IOC_ACCESS, &v->a) < 0 ? -errno : 0;
	__atomic_store_n(&v->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static void vcpu_start(struct vcpu *v, uint64_t addr, unsigned size, bool write, uint64_t val)
{
	memset(v, 0, sizeof(*v));
	v->a = (struct hvsim_access){.zone_id = T.zone,
				     .cpu = T.cpu,
				     .address = addr,
				     .size = size,
				     .is_write = write,
				     .value = val};
	pthread_create(&v->t, NULL, vcpu_fn, v);
}

/* Waits for the access to finish; false if it does not within ms. */
static bool vcpu_join(struct vcpu *v, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(v->t, NULL, &ts) == 0;
}

static int sim_access(uint64_t addr, unsigned size, bool write, uint64_t *val)
{
	struct hvsim_access a = {.zone_id = T.zone,
				 .cpu = T.cpu,
				 .address = addr,
				 .size = size,
				 .is_write = write,
				 .value = val ? *val : 0};
	int r = ioctl(T.sim, HVSIM_IOC_ACCESS, &a) < 0 ? -errno : 0;

	if (val)
		*val = a.value;
	return r;
}

static long stat_of(const char *dir, const char *name)
{
	char path[256], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/misc/%s/stats/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return strtol(buf, NULL, 10);
}

/* Reads one record from the channel within WAIT_MS. */
static int read_req(int ch, struct hvisor_ioreq *rq)
{
	struct pollfd p = {.fd = ch, .events = POLLIN};
	ssize_t n;

	if (poll(&p, 1, WAIT_MS) != 1)
		return -ETIMEDOUT;
	n = read(ch, rq, sizeof(*rq));
	if (n < 0)
		return -errno;
	return n == sizeof(*rq) ? 0 : -EIO;
}

static int write_rec(int ch, uint32_t type, uint32_t cpu, uint64_t id, uint64_t value)
{
	struct hvisor_iocomp c = {.type = type, .cpu = cpu, .id = id, .value = value};
	ssize_t n = write(ch, &c, sizeof(c));

	return n < 0 ? -errno : n == sizeof(c) ? 0 : -EIO;
}

/* ---------------------------------------------------------------- holes */

static bool t_zone_list(void)
{
	struct hvisor_zone_info zi[HVISOR_BRIDGE_MAX_CPUS + 32];
	struct hvisor_zone_list_args a = {.cnt = 0, .zones = (uintptr_t)zi};
	int n;

	if (!expect_err("cnt 0", io(T.dev, HVISOR_ZONE_LIST, (unsigned long)&a), -EINVAL))
		return false;
	/* a huge count is bounded, not multiplied into an overflow */
	a.cnt = UINT64_C(1) << 61;
	n = ioctl(T.dev, HVISOR_ZONE_LIST, &a);
	if (n < 1)
		return failf("cnt 2^61: %d (%m), want the zones", n);
	a.cnt = 4;
	a.zones = 16; /* not a user address */
	if (!expect_err("bad pointer", io(T.dev, HVISOR_ZONE_LIST, (unsigned long)&a), -EFAULT))
		return false;
	/* nothing uninitialised copied out: padding is zero */
	memset(zi, 0xa5, sizeof(zi));
	a = (struct hvisor_zone_list_args){.cnt = 8, .zones = (uintptr_t)zi};
	n = ioctl(T.dev, HVISOR_ZONE_LIST, &a);
	for (int i = 0; i < n; i++)
		if (zi[i].__pad0 || memchr(zi[i].__pad1, 0xa5, sizeof(zi[i].__pad1)))
			return failf("zone_info[%d] padding not zeroed", i);
	return n >= 1 || failf("ZONE_LIST: %d", n);
}

static bool t_config_check(void)
{
	if (!expect_err("NULL", io(T.dev, HVISOR_CONFIG_CHECK, 0), -EFAULT))
		return false;
	return magic() == 5 || magic() == 6 || failf("magic %" PRIu64, magic());
}

/* Bad configs never reach hvisor. */
static bool t_zone_start_checked(void)
{
	uint64_t root = root_ram_addr();
	struct zcfg z;

	if (!expect_err("NULL", io(T.dev, HVISOR_ZONE_START, 0), -EFAULT))
		return false;
	zone_config(&z, 0, 1ull << T.cpu, T.ram, T.ram_size);
	if (!expect_err("zone 0", zone_start(&z), -EINVAL))
		return false;
	zone_config(&z, T.zone, 1ull << T.cpu, T.ram, T.ram_size);
	z.h->num_memory_regions = HV_CONFIG_MAX_MEMORY_REGIONS + 1;
	if (!expect_err("65 regions", zone_start(&z), -EINVAL))
		return false;
	zone_config(&z, T.zone, 1ull << T.cpu, T.ram, T.ram_size);
	z.h->memory_regions[1].type = 9;
	if (!expect_err("region type 9", zone_start(&z), -EINVAL))
		return false;
	zone_config(&z, T.zone, 1ull << 40, T.ram, T.ram_size);
	if (!expect_err("CPU 40", zone_start(&z), -EINVAL))
		return false;
	zone_config(&z, T.zone, 0, T.ram, T.ram_size);
	if (!expect_err("no CPU", zone_start(&z), -EINVAL))
		return false;
	zone_config(&z, T.zone, 1ull << T.cpu, UINT64_MAX - 0xfff, 0x2000);
	if (!expect_err("wrapping RAM", zone_start(&z), -EINVAL))
		return false;
	if (!root)
		return failf("no 'Kernel code' in /proc/iomem");
	zone_config(&z, T.zone, 1ull << T.cpu, root, 0x100000);
	if (!expect_err("root Linux's RAM", zone_start(&z), -EINVAL))
		return false;
	if (T.busy_size) {
		zone_config(&z, T.zone, 1ull << T.cpu, T.busy, 0x100000);
		if (!expect_err("a running zone's RAM", zone_start(&z), -EBUSY))
			return false;
	}
	return true;
}

static int load(uint64_t paddr, const void *buf, uint64_t size)
{
	struct hvisor_load_image_args a = {
		.user_buffer = (uintptr_t)buf, .size = size, .load_paddr = paddr};

	return io(T.dev, HVISOR_LOAD_IMAGE, (unsigned long)&a);
}

static uint8_t pattern[3 * 4096 + 123];

/* Loads reach non-root memory only; what was loaded is there. */
static bool t_load_image(void)
{
	uint64_t root = root_ram_addr(), at = T.ram + 0x1000 + 77;
	uint8_t *m;
	int ch;

	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 3);
	if (!expect_err("root RAM", load(root, pattern, 4096), -EPERM))
		return false;
	if (!expect_err("wrapping", load(UINT64_MAX - 100, pattern, 4096), -EINVAL))
		return false;
	if (!expect_err("bad buffer", load(at, (void *)16, 4096), -EFAULT))
		return false;
	if (!expect_err("free memory", load(at, pattern, sizeof(pattern)), 0))
		return false;
	if (start_test_zone() < 0)
		return failf("ZONE_START of the test zone: %m");
	if (!expect_err("running zone's RAM", load(at, pattern, 4096), -EBUSY))
		return false;
	/* read it back through the zone's channel */
	ch = attach(T.zone);
	if (ch < 0)
		return failf("attach: %s", strerror(-ch));
	m = mmap(NULL, 0x10000, PROT_READ, MAP_SHARED, ch, (off_t)T.ram);
	if (m == MAP_FAILED)
		return failf("mmap of zone RAM: %m");
	if (memcmp(m + 0x1000 + 77, pattern, sizeof(pattern)))
		return failf("loaded bytes differ");
	munmap(m, 0x10000);
	close(ch);
	return stop_test_zone() == 0 || failf("ZONE_SHUTDOWN: %m");
}

static bool map_fails(int fd, uint64_t off, size_t len, int flags, int want, const char *what)
{
	void *p = mmap(NULL, len, PROT_READ, flags, fd, (off_t)off);

	if (p != MAP_FAILED) {
		munmap(p, len);
		return failf("mmap %s succeeded", what);
	}
	return errno == want || failf("mmap %s: %m, want %s", what, strerror(want));
}

/* The device and channel mmaps are no window onto physical memory. */
static bool t_mmap_confined(void)
{
	uint64_t root = root_ram_addr();
	bool ok;
	int ch;

	/* /dev/hvisor without legacy mode: nothing, not even the bridge */
	if (!map_fails(T.dev, 0, 4096, MAP_SHARED, EINVAL, "bridge before INIT_VIRTIO") ||
	    !map_fails(T.dev, T.ram, 4096, MAP_SHARED, EINVAL, "RAM without legacy mode"))
		return false;
	if (start_test_zone() < 0)
		return failf("ZONE_START: %m");
	ch = attach(T.zone);
	if (ch < 0)
		return failf("attach: %s", strerror(-ch));
	ok = map_fails(ch, root, 4096, MAP_SHARED, EINVAL, "root RAM") &&
	     map_fails(ch, T.ram + T.ram_size - 4096, 8192, MAP_SHARED, EINVAL,
		       "across the end of zone RAM") &&
	     map_fails(ch, T.ram, 4096, MAP_PRIVATE, EINVAL, "MAP_PRIVATE") &&
	     (!T.busy_size ||
	      map_fails(ch, T.busy, 4096, MAP_SHARED, EINVAL, "another zone's RAM"));
	if (ok) {
		void *p = mmap(NULL, T.ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, ch,
			       (off_t)T.ram);

		ok = p != MAP_FAILED || failf("mmap of the whole zone RAM: %m");
		if (p != MAP_FAILED)
			munmap(p, T.ram_size);
	}
	close(ch);
	stop_test_zone();
	return ok;
}

static bool t_attach_checked(void)
{
	struct hvisor_zone_attach a = {.zone_id = T.zone, .flags = 1};
	bool ok;
	int ch;

	if (!expect_err("flags", io(T.dev, HVISOR_ZONE_ATTACH, (unsigned long)&a), -EINVAL))
		return false;
	a = (struct hvisor_zone_attach){.zone_id = T.zone, .reserved = {0, 1}};
	if (!expect_err("reserved", io(T.dev, HVISOR_ZONE_ATTACH, (unsigned long)&a), -EINVAL))
		return false;
	if (!expect_err("zone 0", attach(0), -EINVAL))
		return false;
	ch = attach(T.zone);
	if (ch < 0)
		return failf("attach: %s", strerror(-ch));
	ok = expect_err("second owner", attach(T.zone), -EBUSY) &&
	     expect_err("legacy while a channel is open", io(T.dev, HVISOR_INIT_VIRTIO, 0), -EBUSY);
	close(ch);
	/* the owner is gone: a new one may come */
	ch = attach(T.zone);
	if (ok && ch < 0)
		ok = failf("attach after close: %s", strerror(-ch));
	if (ch >= 0)
		close(ch);
	return ok;
}

/* Garbage on the channel gets an error, never an effect. */
static bool t_channel_input(void)
{
	struct hvisor_ioreq rq;
	char small[32];
	long bad = stat_of("hvisor", "bad_completions");
	bool ok;
	int ch = attach(T.zone);

	if (ch < 0)
		return failf("attach: %s", strerror(-ch));
	fcntl(ch, F_SETFL, O_NONBLOCK);
	ok = expect_err("23-byte write", write(ch, small, 23) < 0 ? -errno : 0, -EINVAL) &&
	     expect_err("unknown type", write_rec(ch, 7, 0, 0, 0), -EINVAL) &&
	     expect_err("COMPLETE of nothing", write_rec(ch, HVISOR_IOCOMP_COMPLETE, T.cpu, 99, 1),
			-EINVAL) &&
	     expect_err("COMPLETE on CPU 99", write_rec(ch, HVISOR_IOCOMP_COMPLETE, 99, 0, 1),
			-EINVAL) &&
	     expect_err("IRQ 5000", write_rec(ch, HVISOR_IOCOMP_IRQ, 0, 0, 5000), -EINVAL) &&
	     expect_err("short read buffer", read(ch, small, sizeof(small)) < 0 ? -errno : 0,
			-EINVAL) &&
	     expect_err("read with nothing queued", read(ch, &rq, sizeof(rq)) < 0 ? -errno : 0,
			-EAGAIN);
	if (ok && stat_of("hvisor", "bad_completions") < bad + 2)
		ok = failf("bad_completions did not count");
	if (ok && IRQS_GATED && start_test_zone() == 0) {
		ok = expect_err("IRQ not in the zone's interrupts",
				write_rec(ch, HVISOR_IOCOMP_IRQ, 0, 0, TEST_IRQ + 1), -EPERM);
		stop_test_zone();
	}
	close(ch);
	return ok;
}

/* Legacy INIT_VIRTIO is tied to one file and idempotent (§1.6 7, 9). */
static bool t_legacy_exclusive(void)
{
	int a = open("/dev/hvisor", O_RDWR), b = open("/dev/hvisor", O_RDWR), efd;
	bool ok;

	if (a < 0 || b < 0)
		return failf("open: %m");
	efd = eventfd(0, EFD_CLOEXEC);
	ok = expect_err("INIT_VIRTIO", io(a, HVISOR_INIT_VIRTIO, 0), 0) &&
	     expect_err("INIT_VIRTIO again", io(a, HVISOR_INIT_VIRTIO, 0), 0) &&
	     expect_err("INIT_VIRTIO by another file", io(b, HVISOR_INIT_VIRTIO, 0), -EBUSY) &&
	     expect_err("SET_EVENTFD by another file", io(b, HVISOR_SET_EVENTFD, efd), -EINVAL) &&
	     expect_err("attach in legacy mode", attach(T.zone), -EBUSY) &&
	     map_fails(a, 0, 8192, MAP_SHARED, EINVAL, "two pages of bridge");
	close(a);
	if (ok) {
		int ch = attach(T.zone);

		ok = ch >= 0 || failf("attach after the legacy file closed: %s", strerror(-ch));
		if (ch >= 0)
			close(ch);
		ok = ok && expect_err("INIT_VIRTIO by b", io(b, HVISOR_INIT_VIRTIO, 0), 0);
	}
	close(b);
	close(efd);
	return ok;
}

static void run_holes(void)
{
	check("zone-list-bounded", t_zone_list());
	check("config-check", t_config_check());
	check("zone-start-checked", t_zone_start_checked());
	check("load-image-confined", t_load_image());
	check("mmap-confined", t_mmap_confined());
	check("attach-checked", t_attach_checked());
	check("channel-input-checked", t_channel_input());
	check("legacy-exclusive", t_legacy_exclusive());
}

/* ---------------------------------------------------------------- channel */

/* A stalled read reaches the owner whole and takes its masked answer. */
static bool t_read_round_trip(int ch)
{
	struct hvisor_ioreq rq;
	struct vcpu v;
	int r;

	vcpu_start(&v, T.virtio + 0x8, 4, false, 0);
	r = read_req(ch, &rq);
	if (r < 0)
		return failf("no record: %s", strerror(-r));
	if (rq.address != T.virtio + 0x8 || rq.size != 4 || rq.cpu != T.cpu ||
	    rq.zone_id != T.zone || rq.is_write || rq.is_notify)
		return failf("record addr %#llx size %u cpu %u zone %u w %u n %u",
			     (unsigned long long)rq.address, rq.size, rq.cpu, rq.zone_id,
			     rq.is_write, rq.is_notify);
	if (vcpu_join(&v, 100))
		return failf("the vCPU did not wait for the answer");
	r = write_rec(ch, HVISOR_IOCOMP_COMPLETE, rq.cpu, rq.id, 0xdeadbeef12345678ull);
	if (r < 0)
		return failf("COMPLETE: %s", strerror(-r));
	if (!vcpu_join(&v, WAIT_MS) || v.r)
		return failf("the access did not finish (%d)", v.r);
	return v.a.value == 0x12345678 || failf("read %#llx", (unsigned long long)v.a.value);
}

static bool t_write_round_trip(int ch)
{
	struct hvisor_ioreq rq;
	struct vcpu v;
	int r;

	vcpu_start(&v, T.virtio + 0x70, 2, true, 0xabcd);
	r = read_req(ch, &rq);
	if (r < 0)
		return failf("no record: %s", strerror(-r));
	if (!rq.is_write || rq.value != 0xabcd || rq.size != 2 || rq.is_notify)
		return failf("record w %u value %#llx size %u", rq.is_write,
			     (unsigned long long)rq.value, rq.size);
	r = write_rec(ch, HVISOR_IOCOMP_COMPLETE, rq.cpu, rq.id, 0);
	return (r == 0 && vcpu_join(&v, WAIT_MS) && v.r == 0) ||
	       failf("the write did not finish (%d, %d)", r, v.r);
}

static bool wait_stat(const char *dir, const char *name, long at_least)
{
	for (int i = 0; i < WAIT_MS / 10; i++) {
		if (stat_of(dir, name) >= at_least)
			return true;
		usleep(10000);
	}
	return failf("%s/%s stays below %ld (%ld)", dir, name, at_least, stat_of(dir, name));
}

/* QueueNotify is posted; queued duplicates coalesce into one record. */
static bool t_notify_coalesced(int ch)
{
	long req = stat_of("hvisor", "requests"), co = stat_of("hvisor", "coalesced");
	struct hvisor_ioreq rq[4];
	uint64_t q = 1;
	ssize_t n;

	for (int i = 0; i < 3; i++)
		if (sim_access(T.virtio + NOTIFY_OFFSET, 4, true, &q) < 0)
			return failf("notify %d: %m", i);
	if (!wait_stat("hvisor", "requests", req + 3))
		return false;
	n = read(ch, rq, sizeof(rq));
	if (n != sizeof(rq[0]))
		return failf("read %zd bytes, want one record", n);
	if (!rq[0].is_notify || rq[0].value != 1)
		return failf("record n %u value %llu", rq[0].is_notify,
			     (unsigned long long)rq[0].value);
	return stat_of("hvisor", "coalesced") >= co + 2 || failf("coalesced did not count 2");
}

static bool t_irq_injected(int ch)
{
	long irqs = stat_of("hvisor_sim", "irqs");

	if (write_rec(ch, HVISOR_IOCOMP_IRQ, 0, 0, TEST_IRQ) < 0)
		return failf("IRQ record: %m");
	return wait_stat("hvisor_sim", "irqs", irqs + 1);
}

/* The owner dies: what it read and what it never read both read 0. */
static bool t_owner_close(int ch)
{
	struct hvisor_ioreq rq;
	struct vcpu v1, v2;
	long req;
	bool ok;

	vcpu_start(&v1, T.virtio + 0x4, 4, false, 0);
	if (read_req(ch, &rq) < 0)
		return failf("no record");
	close(ch);
	ok = (vcpu_join(&v1, WAIT_MS) && v1.r == 0 && v1.a.value == 0) ||
	     failf("a read-but-unanswered access: r %d value %#llx", v1.r,
		   (unsigned long long)v1.a.value);
	ch = attach(T.zone);
	if (ch < 0)
		return failf("re-attach: %s", strerror(-ch));
	req = stat_of("hvisor", "requests");
	vcpu_start(&v2, T.virtio + 0x4, 4, false, 0);
	ok = ok && wait_stat("hvisor", "requests", req + 1);
	close(ch);
	ok = ok && ((vcpu_join(&v2, WAIT_MS) && v2.r == 0) ||
		    failf("a queued, never read access was not answered (%d)", v2.r));
	return ok;
}

/* No owner: the module answers at once, reads 0. */
static bool t_orphan(void)
{
	long orphans = stat_of("hvisor", "orphan_answers");
	uint64_t v = 0x77;

	if (sim_access(T.virtio + 0x0, 4, false, &v) < 0)
		return failf("access: %m");
	if (v)
		return failf("read %#llx, want 0", (unsigned long long)v);
	return stat_of("hvisor", "orphan_answers") > orphans ||
	       failf("orphan_answers did not count");
}

/* Zone shutdown ends the channel: end of file, HUP, EPIPE, new owner. */
static bool t_shutdown_ends(int ch)
{
	struct pollfd p = {.fd = ch, .events = POLLIN};
	struct hvisor_ioreq rq;
	ssize_t n;
	int again;

	if (stop_test_zone() < 0)
		return failf("ZONE_SHUTDOWN: %m");
	if (poll(&p, 1, WAIT_MS) != 1 || !(p.revents & POLLHUP))
		return failf("no POLLHUP (revents %#x)", p.revents);
	n = read(ch, &rq, sizeof(rq));
	if (n != 0)
		return failf("read gave %zd, want 0 (end of file)", n);
	if (write_rec(ch, HVISOR_IOCOMP_IRQ, 0, 0, TEST_IRQ) != -EPIPE)
		return failf("write after the end did not fail with EPIPE");
	again = attach(T.zone);
	if (again < 0)
		return failf("attach after shutdown: %s", strerror(-again));
	close(again);
	return true;
}

static void run_channel(void)
{
	int ch;

	if (start_test_zone() < 0) {
		check("channel-zone-start", failf("ZONE_START: %m"));
		return;
	}
	ch = attach(T.zone);
	check("channel-attach", ch >= 0 || failf("attach: %s", strerror(-ch)));
	if (ch < 0)
		return;
	fcntl(ch, F_SETFL, O_NONBLOCK);
	check("channel-read-round-trip", t_read_round_trip(ch));
	check("channel-write-round-trip", t_write_round_trip(ch));
	check("channel-notify-coalesced", t_notify_coalesced(ch));
	check("channel-irq", t_irq_injected(ch));
	check("channel-owner-close", t_owner_close(ch));
	check("channel-orphan", t_orphan());
	ch = attach(T.zone);
	check("channel-shutdown-ends", ch >= 0 ? t_shutdown_ends(ch) : failf("attach: %d", ch));
	if (ch >= 0)
		close(ch);
}

/* ---------------------------------------------------------------- legacy */

/*
 * A daemon written to upstream's contract (reference §1.4, §2.5-§2.7),
 * not upstream's code: INIT_VIRTIO, eventfd, the bridge mmap, drain with
 * the need_wakeup handshake, answer through cfg_flags, IRQs through
 * res_list + FINISH_REQ.
 */
struct legacy {
	int fd, efd;
	struct hvisor_bridge *b;
	pthread_t t;
	bool stop;
	unsigned wakeups, answered;
};

static uint64_t legacy_answer(const struct hvisor_device_req *r)
{
	uint64_t v = r->address ^ 0x5a5a5a5a5a5a5a5aull;

	return r->size >= 8 ? v : v & ((1ull << (8 * r->size)) - 1);
}

static void legacy_handle(struct legacy *l, const struct hvisor_device_req *r)
{
	struct hvisor_bridge *b = l->b;

	if (r->is_write && r->address == T.virtio + 0x64) {
		/* InterruptACK: raise TEST_IRQ, as a device would */
		uint32_t rear = __atomic_load_n(&b->res_rear, __ATOMIC_RELAXED);

		b->res_list[rear].target_zone = r->src_zone;
		b->res_list[rear].irq_id = TEST_IRQ;
		__atomic_store_n(&b->res_rear, (rear + 1) & HVISOR_BRIDGE_RING_MASK,
				 __ATOMIC_RELEASE);
		ioctl(l->fd, HVISOR_FINISH_REQ, 0);
	}
	if (!r->need_interrupt) {
		b->cfg_values[r->src_cpu] = r->is_write ? 0 : legacy_answer(r);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		__atomic_store_n(&b->cfg_flags[r->src_cpu], b->cfg_flags[r->src_cpu] + 1,
				 __ATOMIC_RELEASE);
		l->answered++;
	}
}

static void legacy_drain(struct legacy *l)
{
	struct hvisor_bridge *b = l->b;

	for (;;) {
		uint32_t front = b->req_front;

		__atomic_store_n(&b->need_wakeup, 0, __ATOMIC_RELAXED);
		while (front != __atomic_load_n(&b->req_rear, __ATOMIC_ACQUIRE)) {
			struct hvisor_device_req r = b->req_list[front];

			front = (front + 1) & HVISOR_BRIDGE_RING_MASK;
			__atomic_store_n(&b->req_front, front, __ATOMIC_RELEASE);
			if (r.src_cpu < HVISOR_BRIDGE_MAX_CPUS)
				legacy_handle(l, &r);
		}
		__atomic_store_n(&b->need_wakeup, 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&b->req_rear, __ATOMIC_RELAXED) == front)
			return;
	}
}

static void *legacy_fn(void *arg)
{
	struct legacy *l = arg;

	legacy_drain(l);
	while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd p = {.fd = l->efd, .events = POLLIN};
		uint64_t n;

		if (poll(&p, 1, 50) == 1 && read(l->efd, &n, sizeof(n)) == sizeof(n)) {
			l->wakeups++;
			legacy_drain(l);
		}
	}
	return NULL;
}

static bool legacy_open(struct legacy *l)
{
	memset(l, 0, sizeof(*l));
	l->fd = open("/dev/hvisor", O_RDWR | O_CLOEXEC);
	l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->fd < 0 || l->efd < 0)
		return failf("open/eventfd: %m");
	if (ioctl(l->fd, HVISOR_INIT_VIRTIO) < 0)
		return failf("INIT_VIRTIO: %m");
	if (ioctl(l->fd, HVISOR_SET_EVENTFD, l->efd) < 0)
		return failf("SET_EVENTFD: %m");
	l->b = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, l->fd, 0);
	if (l->b == MAP_FAILED)
		return failf("bridge mmap: %m");
	return pthread_create(&l->t, NULL, legacy_fn, l) == 0 || failf("pthread_create");
}

static void legacy_close(struct legacy *l)
{
	__atomic_store_n(&l->stop, true, __ATOMIC_RELEASE);
	pthread_join(l->t, NULL);
	munmap(l->b, 4096);
	close(l->fd);
}

static bool t_legacy_serves(struct legacy *l)
{
	uint64_t v = 0, want = (T.virtio + 0x8) ^ 0x5a5a5a5a5a5a5a5aull;
	long irqs = stat_of("hvisor_sim", "irqs");
	void *ram;

	if (sim_access(T.virtio + 0x8, 4, false, &v) < 0)
		return failf("read: %m");
	if (v != (want & 0xffffffff))
		return failf("read %#llx, want %#llx", (unsigned long long)v,
			     (unsigned long long)(want & 0xffffffff));
	v = 1;
	if (sim_access(T.virtio + 0x64, 4, true, &v) < 0)
		return failf("write: %m");
	if (!wait_stat("hvisor_sim", "irqs", irqs + 1))
		return false;
	if (!l->wakeups)
		return failf("the eventfd never woke the daemon");
	/* zone RAM through /dev/hvisor, as upstream maps it; not root RAM */
	ram = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, l->fd, (off_t)T.ram);
	if (ram == MAP_FAILED)
		return failf("zone RAM mmap: %m");
	munmap(ram, 4096);
	return map_fails(l->fd, root_ram_addr(), 4096, MAP_SHARED, EPERM, "root RAM (legacy)");
}

static void run_legacy(void)
{
	struct legacy l;
	uint64_t n;

	if (start_test_zone() < 0) {
		check("legacy-zone-start", failf("ZONE_START: %m"));
		return;
	}
	check("legacy-init", legacy_open(&l));
	if (!l.b || l.b == MAP_FAILED) {
		stop_test_zone();
		return;
	}
	check("legacy-serves", t_legacy_serves(&l));
	legacy_close(&l);
	/* the module drains again, the old eventfd hears nothing */
	(void)!read(l.efd, &n, sizeof(n));
	check("legacy-released",
	      t_orphan() && (read(l.efd, &n, sizeof(n)) < 0 && errno == EAGAIN
				     ? true
				     : failf("the closed daemon's eventfd was signalled")));
	close(l.efd);
	stop_test_zone();
}

/* ---------------------------------------------------------------- server */

/* A channel owner that answers every read with its address. */
struct server {
	int ch;
	pthread_t t;
	bool stop;
	unsigned long served;
};

static void *server_fn(void *arg)
{
	struct server *s = arg;
	struct hvisor_ioreq rq[64];

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd p = {.fd = s->ch, .events = POLLIN};
		struct hvisor_iocomp c[64];
		ssize_t n;
		int k = 0;

		if (poll(&p, 1, 50) != 1)
			continue;
		n = read(s->ch, rq, sizeof(rq));
		for (ssize_t i = 0; i < n / (ssize_t)sizeof(rq[0]); i++)
			if (!rq[i].is_notify)
				c[k++] = (struct hvisor_iocomp){.type = HVISOR_IOCOMP_COMPLETE,
								.cpu = rq[i].cpu,
								.id = rq[i].id,
								.value = rq[i].address};
		if (k && write(s->ch, c, k * sizeof(c[0])) == (ssize_t)(k * sizeof(c[0])))
			s->served += k;
	}
	return NULL;
}

static bool server_start(struct server *s)
{
	memset(s, 0, sizeof(*s));
	s->ch = attach(T.zone);
	if (s->ch < 0)
		return failf("attach: %s", strerror(-s->ch));
	fcntl(s->ch, F_SETFL, O_NONBLOCK);
	return pthread_create(&s->t, NULL, server_fn, s) == 0 || failf("pthread_create");
}

static void server_stop(struct server *s)
{
	__atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
	pthread_join(s->t, NULL);
	close(s->ch);
}

/* ---------------------------------------------------------------- wakeup */

static int write_param(const char *name, const char *value)
{
	char path[128];
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "/sys/module/hvisor_sim/parameters/%s", name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	r = fputs(value, f) < 0 ? -EIO : 0;
	return fclose(f) ? -errno : r;
}

/* hvisor_sim drops every 3rd wake-up: the re-check finds the requests. */
static bool t_lost_wakeups(void)
{
	long lost = stat_of("hvisor_sim", "wakeups_lost");
	long found = stat_of("hvisor", "recheck_found");
	struct server s;
	bool ok = true;
	int r;

	r = write_param("lose_wakeup", "3");
	if (r < 0)
		return failf("lose_wakeup: %s", strerror(-r));
	if (!server_start(&s))
		ok = false;
	for (int i = 0; ok && i < 200; i++) {
		uint64_t v = 0;

		/* below 0x50: a read there would be a posted notify (§2.4) */
		r = sim_access(T.virtio + 4 * (i % 16), 4, false, &v);
		if (r < 0)
			ok = failf("access %d: %s", i, strerror(-r));
		else if (v != ((T.virtio + 4 * (i % 16)) & 0xffffffff))
			ok = failf("access %d read %#llx", i, (unsigned long long)v);
	}
	write_param("lose_wakeup", "0");
	if (s.ch >= 0)
		server_stop(&s);
	if (ok && stat_of("hvisor_sim", "wakeups_lost") <= lost)
		ok = failf("no wake-up was lost (wakeups_lost stays %ld)", lost);
	if (ok && stat_of("hvisor", "recheck_found") <= found)
		ok = failf("recheck_found stays %ld", found);
	return ok;
}

static void run_wakeup(void)
{
	if (start_test_zone() < 0) {
		check("wakeup-zone-start", failf("ZONE_START: %m"));
		return;
	}
	check("lost-wakeups-recovered", t_lost_wakeups());
	stop_test_zone();
}

/* ---------------------------------------------------------------- rtt */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct figures {
	double median_us, p99_us;
};

static struct figures summarize(uint64_t *ns, int n)
{
	qsort(ns, n, sizeof(ns[0]), cmp_u64);
	return (struct figures){ns[n / 2] / 1000.0, ns[(n * 99) / 100] / 1000.0};
}

/* n register reads of addr; EBUSY (the guest's own access on that vCPU)
 * is retried and not timed. */
static int time_reads(uint64_t addr, int n, uint64_t *ns)
{
	for (int i = 0; i < n; i++) {
		uint64_t t0, v;
		int r;

		do {
			t0 = now_ns();
			r = sim_access(addr, 4, false, &v);
		} while (r == -EBUSY);
		if (r < 0)
			return r;
		ns[i] = now_ns() - t0;
	}
	return 0;
}

/* Baseline: one byte there and back over pipes between two processes. */
static int time_pipes(int n, uint64_t *ns)
{
	int a[2], b[2], r = 0;
	pid_t pid;
	char c = 0;

	if (pipe(a) || pipe(b))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* only its own ends: EOF ends it, and it holds no caller's pipe */
		close(a[1]);
		close(b[0]);
		while (read(a[0], &c, 1) == 1 && write(b[1], &c, 1) == 1)
			;
		_exit(0);
	}
	close(a[0]);
	close(b[1]);
	for (int i = 0; i < n && r == 0; i++) {
		uint64_t t0 = now_ns();

		if (write(a[1], &c, 1) != 1 || read(b[0], &c, 1) != 1)
			r = -EIO;
		ns[i] = now_ns() - t0;
	}
	close(a[1]);
	close(b[0]);
	waitpid(pid, NULL, 0);
	return r;
}

static void print_fig(const char *what, struct figures f, struct figures base)
{
	printf("rtt %-40s median %8.1f us  p99 %8.1f us  ratio %6.2f\n", what, f.median_us,
	       f.p99_us, f.median_us / base.median_us);
}

/* --device: the real backend's register (zone, cpu, virtio = that
 * device's base) instead of this program's own owner. */
static int run_rtt(int n, bool device)
{
	uint64_t *ns = calloc(n, sizeof(*ns));
	struct figures base, f;
	struct server s;
	int r;

	if (!ns || time_pipes(n, ns) < 0)
		return 1;
	base = summarize(ns, n);
	print_fig("baseline: pipe ping-pong, 2 processes", base, base);
	if (device) {
		r = time_reads(T.virtio, n, ns);
		if (r < 0)
			return fprintf(stderr, "device read: %s\n", strerror(-r)), 1;
		print_fig("MagicValue via hvisor-virtiod", summarize(ns, n), base);
		return 0;
	}
	if (start_test_zone() < 0)
		return fprintf(stderr, "ZONE_START: %m\n"), 1;
	r = time_reads(T.virtio, n, ns);
	f = summarize(ns, n);
	if (r == 0)
		print_fig("no owner (hvisor.ko answers)", f, base);
	if (r == 0 && server_start(&s)) {
		r = time_reads(T.virtio, n, ns);
		server_stop(&s);
		if (r == 0)
			print_fig("channel owner in user space", summarize(ns, n), base);
	}
	stop_test_zone();
	free(ns);
	return r < 0;
}

/* ---------------------------------------------------------------- load */

/* Is FILE at physical PA of zone ZONE's RAM? Through the zone's channel:
 * checks what hvisord's LOAD_IMAGE calls wrote. */
static int run_verify_load(uint32_t zone, uint64_t pa, const char *path)
{
	uint64_t base = pa & ~UINT64_C(0xfff);
	size_t len = 0, cap = 0;
	char *want = NULL;
	FILE *f = fopen(path, "rb");
	uint8_t *m;
	int ch;

	while (f && !feof(f)) {
		if (len == cap && !(want = realloc(want, cap = cap ? 2 * cap : 1 << 20)))
			return 1;
		len += fread(want + len, 1, cap - len, f);
	}
	if (!f || !len)
		return fprintf(stderr, "%s: empty or unreadable\n", path), 1;
	fclose(f);
	ch = attach(zone);
	if (ch < 0)
		return fprintf(stderr, "attach zone %u: %s\n", zone, strerror(-ch)), 1;
	m = mmap(NULL, pa - base + len, PROT_READ, MAP_SHARED, ch, (off_t)base);
	if (m == MAP_FAILED)
		return fprintf(stderr, "mmap %#llx: %m\n", (unsigned long long)base), 1;
	if (memcmp(m + (pa - base), want, len))
		return fprintf(stderr, "the %zu bytes at %#llx differ from %s\n", len,
			       (unsigned long long)pa, path),
		       1;
	printf("%zu bytes at %#llx match %s\n", len, (unsigned long long)pa, path);
	return 0;
}

/* ---------------------------------------------------------------- main */

static int parse_range(const char *s, uint64_t *base, uint64_t *size)
{
	char *end;

	*base = strtoull(s, &end, 0);
	if (*end != ':')
		return -EINVAL;
	*size = strtoull(end + 1, &end, 0);
	return *end ? -EINVAL : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hvisor-kmod-test [--zone ID] [--cpu N] [--ram BASE:SIZE] [--virtio BASE]\n"
		"                        [--busy BASE:SIZE] holes|channel|legacy|wakeup|rtt N [--device]\n"
		"       hvisor-kmod-test [OPTIONS] zone-start|zone-shutdown\n"
		"       hvisor-kmod-test verify-load ZONE PA FILE\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"zone", 1, NULL, 'z'}, {"cpu", 1, NULL, 'c'},
					     {"ram", 1, NULL, 'r'},  {"virtio", 1, NULL, 'v'},
					     {"busy", 1, NULL, 'b'}, {"device", 0, NULL, 'd'},
					     {"help", 0, NULL, 'h'}, {0}};
	bool device = false;
	const char *cmd;
	int o;

	while ((o = getopt_long(argc, argv, "z:c:r:v:b:dh", opts, NULL)) != -1) {
		switch (o) {
		case 'z':
			T.zone = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			T.cpu = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			if (parse_range(optarg, &T.ram, &T.ram_size))
				return usage(stderr), 2;
			break;
		case 'v':
			T.virtio = strtoull(optarg, NULL, 0);
			break;
		case 'b':
			if (parse_range(optarg, &T.busy, &T.busy_size))
				return usage(stderr), 2;
			break;
		case 'd':
			device = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc)
		return usage(stderr), 2;
	cmd = argv[optind];
	T.dev = open("/dev/hvisor", O_RDWR | O_CLOEXEC);
	T.sim = open("/dev/hvisor_sim", O_RDWR | O_CLOEXEC);
	if (T.dev < 0 || T.sim < 0)
		return fprintf(stderr, "open /dev/hvisor, /dev/hvisor_sim: %m\n"), 1;
	if (strcmp(cmd, "zone-start") == 0 || strcmp(cmd, "zone-shutdown") == 0) {
		int r = strcmp(cmd, "zone-start") == 0 ? start_test_zone() : stop_test_zone();

		if (r < 0)
			fprintf(stderr, "%s of zone %u: %m\n", cmd, T.zone);
		return r < 0;
	}
	if (strcmp(cmd, "verify-load") == 0 && optind + 3 < argc)
		return run_verify_load(strtoul(argv[optind + 1], NULL, 0),
				       strtoull(argv[optind + 2], NULL, 0), argv[optind + 3]);
	if (strcmp(cmd, "rtt") == 0)
		return run_rtt(optind + 1 < argc ? atoi(argv[optind + 1]) : 2000, device);
	if (!T.ram_size)
		return fprintf(stderr, "--ram is required\n"), 2;
	if (strcmp(cmd, "holes") == 0)
		run_holes();
	else if (strcmp(cmd, "channel") == 0)
		run_channel();
	else if (strcmp(cmd, "legacy") == 0)
		run_legacy();
	else if (strcmp(cmd, "wakeup") == 0)
		run_wakeup();
	else
		return usage(stderr), 2;
	printf("# %u passed, %u failed\n", T.passed, T.failed);
	return T.failed ? 1 : 0;
}
