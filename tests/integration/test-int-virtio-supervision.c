// SPDX-License-Identifier: GPL-2.0-only
/* hvisord's supervision of hvisor-virtiod, with a guest busy on the device:
 * a kill -9 is reported (events, zone info) and repaired (new pid, guest
 * setup restored, owed register reads answered by the sim, posted requests
 * completed); repeated quick deaths back off and end in "failed" while the
 * zone runs on; SIGTERM, zone shutdown, removal of the last device and
 * stopping hvisord drain the writes in flight, exit 0 and lose nothing the
 * guest saw acknowledged. The guest is this process (libhvguest), a forked
 * register reader, and hvsim-guest. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_mmio.h>

#include "harness.h"
#include "util.h"

#define BLK_ADDR   0xa003c00
#define BLK_IRQ	   78
#define SECTOR	   512
#define MMIO_MAGIC 0x74726976 /* "virt" */

/* "no hang" means an answer within this long, also on a loaded machine */
#define HANG_MS	   10000
#define WATCHDOG_S 20

/* ---- small helpers ------------------------------------------------------- */

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A register access libhvguest makes blocks until it is answered: if one
 * never is, end the run with a message instead of a silent meson timeout. */
static void on_watchdog(int sig)
{
	static const char msg[] = "Bail out! a guest register access stayed unanswered\n";
	ssize_t k = write(STDOUT_FILENO, msg, sizeof(msg) - 1);

	(void)k;
	_exit(1);
}

static void watchdog(unsigned seconds)
{
	signal(SIGALRM, on_watchdog);
	alarm(seconds);
}

/* Fixture: no watchdog left armed by a failed test, nothing left running. */
static int setup(void **state)
{
	alarm(0);
	return ih_reap(state);
}

static void add_blk(struct ih *h, const char *img, const char *extra)
{
	struct ih_out o;
	char *spec;

	assert_true(asprintf(&spec, "blk,addr=0x%x,len=0x200,irq=%d,img=%s%s", BLK_ADDR, BLK_IRQ,
			     img, extra) > 0);
	if (ih_hvctl(h, &o, "virtio", "add", "1", spec, NULL) != 0)
		fail_msg("hvctl virtio add 1 %s: %s", spec, o.err);
	assert_non_null(strstr(o.out, "running"));
	ih_out_free(&o);
	free(spec);
}

/* A zone with a blk device on an image of `size` bytes (extra: more
 * options of the device); returns the image. */
static char *setup_blk_opts(struct ih *h, size_t size, const char *extra)
{
	char *img = ih_make_image(h, "disk.img", size);

	ih_zone_start(h, "zone1");
	add_blk(h, img, extra);
	return img;
}

static char *setup_blk(struct ih *h, size_t size)
{
	return setup_blk_opts(h, size, "");
}

/* The next event on a subscription (the caller puts it); fails after
 * timeout_ms. */
static json_object *next_event(struct vl_client *sub, int timeout_ms)
{
	json_object *reply = NULL, *e;
	int r = ih_recv(sub, timeout_ms, &reply);

	if (r != 1)
		fail_msg("no event within %d ms (%s)", timeout_ms, r ? strerror(-r) : "timeout");
	assert_true(json_object_object_get_ex(ih_ok(reply), "event", &e));
	json_object_get(e);
	json_object_put(reply);
	return e;
}

/* The next event must be `name` for zone 1, with `message` if non-NULL. */
static json_object *expect_event(struct vl_client *sub, const char *name, const char *message)
{
	json_object *e = next_event(sub, IH_TIMEOUT_MS);

	if (strcmp(ih_jstr_or(e, "event", ""), name) != 0 || ih_jint_or(e, "zone_id", -1) != 1)
		fail_msg("expected %s for zone 1, got %s", name, json_object_to_json_string(e));
	if (message && strcmp(ih_jstr_or(e, "message", ""), message) != 0)
		fail_msg("%s: message '%s', expected '%s'", name,
			 ih_jstr_or(e, "message", "(none)"), message);
	return e;
}

/* No event at all for quiet_ms. */
static void expect_no_event(struct vl_client *sub, int quiet_ms)
{
	json_object *reply = NULL;
	int r = ih_recv(sub, quiet_ms, &reply);

	if (r == 1)
		fail_msg("unexpected event %s", json_object_to_json_string(reply));
	assert_true(r == 0 || r == -ETIMEDOUT); /* ih_recv's timeout */
}

/* `hvctl --json zone info 1`: the zone (a reference the caller puts). */
static json_object *hvctl_zone_info(const struct ih *h)
{
	json_object *res, *z = NULL;
	struct ih_out o;

	if (ih_hvctl(h, &o, "--json", "zone", "info", "1", NULL) != 0)
		fail_msg("hvctl --json zone info 1: %s", o.err);
	res = json_tokener_parse(o.out);
	if (!res || !json_object_object_get_ex(res, "zone", &z))
		fail_msg("hvctl --json zone info 1 printed: %s", o.out);
	json_object_get(z);
	json_object_put(res);
	ih_out_free(&o);
	return z;
}

/* The zone runs and its backend is `backend` with these counters. */
static void expect_zone_backend(const struct ih *h, const char *backend, pid_t pid,
				int64_t restarts, const char *last_exit)
{
	json_object *z = hvctl_zone_info(h), *v;

	assert_string_equal(ih_jstr(z, "status"), "running");
	if (!json_object_object_get_ex(z, "virtio", &v))
		fail_msg("zone info has no virtio: %s", json_object_to_json_string(z));
	if (strcmp(ih_jstr_or(v, "backend", ""), backend) != 0 ||
	    (pid > 0 ? ih_jint_or(v, "pid", -1) != pid : ih_jint_or(v, "pid", -1) != -1) ||
	    ih_jint_or(v, "restarts", -1) != restarts ||
	    (last_exit && strcmp(ih_jstr_or(v, "last_exit", ""), last_exit) != 0))
		fail_msg("zone 1's virtio: %s; expected backend %s, pid %d, restarts %lld, "
			 "last_exit '%s'",
			 json_object_to_json_string(v), backend, (int)pid, (long long)restarts,
			 last_exit ?: "");
	assert_int_equal(ih_jint(v, "devices"), 1);
	json_object_put(z);
}

static pid_t spawn_hvctl(const struct ih *h, const char *a1, const char *a2, const char *a3,
			 const char *a4)
{
	const char *argv[] = {ih_bin_hvctl(), a1, a2, a3, a4, NULL};

	return ih_spawn_bg(h, argv, NULL);
}

/* ---- processes we did not start ---------------------------------------------- */

/* A pidfd (the test is not hvisor-virtiod's parent), or -1 where the
 * kernel has none: then /proc is polled. */
static int pid_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	return -1;
#endif
}

/* Has it exited (a zombie counts)? Waits up to timeout_ms. */
static bool pid_gone(pid_t pid, int pidfd, int timeout_ms)
{
	int64_t deadline = mono_us() + (int64_t)timeout_ms * 1000;

	for (;;) {
		if (pidfd >= 0) {
			struct pollfd p = {.fd = pidfd, .events = POLLIN};
			int left = (int)((deadline - mono_us()) / 1000);

			if (poll(&p, 1, left > 0 ? left : 0) == 1)
				return true;
		} else if (!ih_pid_alive(pid, NULL))
			return true;
		if (mono_us() >= deadline)
			return false;
		if (pidfd < 0)
			poll(NULL, 0, 1);
	}
}

/* ---- a vCPU reading one register in a loop (a forked child) ------------------ */

/* The child reports after a change of value, an error, or every 10 ms:
 * a read that is never answered shows as silence. */
struct reader_rec {
	int32_t r;
	uint32_t value;
	uint64_t count;
};

struct reader {
	pid_t pid;
	int fd;
	struct reader_rec last;
};

static _Noreturn void reader_child(const char *sim_sock, uint64_t addr, int out)
{
	struct reader_rec rec = {0};
	struct hvg_transport *t = NULL;
	int64_t last = 0;
	int r;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGALRM, SIG_DFL);
	alarm(0);
	/* the previous guest may still be detaching */
	for (int i = 0; i < 500; i++) {
		r = hvg_sim_open(sim_sock, 1, -1, 0, 0, &t);
		if (r != -EBUSY)
			break;
		poll(NULL, 0, 10);
	}
	if (r < 0) {
		rec.r = r;
		(void)!write(out, &rec, sizeof(rec));
		_exit(1);
	}
	for (;;) {
		uint64_t v = 0;
		int64_t now;

		r = t->ops->read(t->ctx, addr, 4, &v);
		rec.count++;
		now = mono_us();
		if (r < 0 || (uint32_t)v != rec.value || rec.count == 1 || now - last >= 10000) {
			rec.r = r;
			rec.value = (uint32_t)v;
			if (write(out, &rec, sizeof(rec)) != (ssize_t)sizeof(rec) || r < 0)
				_exit(1);
			last = now;
		}
	}
}

static void reader_start(const struct ih *h, uint64_t addr, struct reader *rd)
{
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fflush(NULL);
	rd->pid = fork();
	assert_true(rd->pid >= 0);
	if (rd->pid == 0) {
		close(p[0]);
		reader_child(h->sim.sock, addr, p[1]);
	}
	close(p[1]);
	rd->fd = p[0];
	memset(&rd->last, 0, sizeof(rd->last));
}

/* The next report within timeout_ms: true, false on timeout. A read that
 * failed or a reader that died fails the test. */
static bool reader_next(struct reader *rd, int timeout_ms)
{
	struct pollfd p = {.fd = rd->fd, .events = POLLIN};
	struct reader_rec rec;
	ssize_t k;

	if (poll(&p, 1, timeout_ms) == 0)
		return false;
	k = read(rd->fd, &rec, sizeof(rec));
	if (k != (ssize_t)sizeof(rec))
		fail_msg("the register reader died (read %zd)", k);
	if (rec.r < 0)
		fail_msg("the guest's register read failed after %llu reads: %s",
			 (unsigned long long)rec.count, strerror(-rec.r));
	rd->last = rec;
	return true;
}

/* Reads go on until one returns `value`; fails if reads stop being
 * answered for HANG_MS. */
static void reader_wait_value(struct reader *rd, uint32_t value)
{
	while (rd->last.count == 0 || rd->last.value != value)
		if (!reader_next(rd, HANG_MS))
			fail_msg("the guest's register read was not answered within %d ms "
				 "(%llu answered, last value 0x%x, waiting for 0x%x)",
				 HANG_MS, (unsigned long long)rd->last.count, rd->last.value,
				 value);
}

/* How many reads were answered during ms (reports that arrive meanwhile
 * are taken). With `value`, every one of them must have read it. */
static uint64_t reader_count_for(struct reader *rd, int ms, const uint32_t *value)
{
	int64_t end = mono_us() + (int64_t)ms * 1000;
	uint64_t first;

	while (reader_next(rd, 0))
		; /* old news */
	first = rd->last.count;
	for (;;) {
		int64_t left = (end - mono_us()) / 1000;

		if (left <= 0 || !reader_next(rd, (int)left))
			break;
		if (value && rd->last.value != *value)
			fail_msg("a register read 0x%x, expected 0x%x", rd->last.value, *value);
	}
	return rd->last.count - first;
}

static void reader_stop(struct reader *rd)
{
	kill(rd->pid, SIGKILL);
	waitpid(rd->pid, NULL, 0);
	close(rd->fd);
	rd->pid = -1;
	rd->fd = -1;
}

/* ---- this process as the guest: many writes in flight ------------------------ */

/* Each write has sectors of its own and contents of its own, so the image
 * tells which writes landed. */
#define FL_SECTORS 32 /* 16 KiB */
#define FL_LEN	   (FL_SECTORS * SECTOR)
#define FL_IMG	   (32u << 20)
#define FL_WRITES  (FL_IMG / FL_LEN)
#define FL_QD	   64

enum {
	WR_NONE,
	WR_POSTED,
	WR_OK,
	WR_ERROR
};

struct flood {
	struct ih_gblk b;
	const char *img;
	unsigned next, limit; /* writes posted so far; post no more than limit */
	unsigned n_ok, n_err;
	unsigned max_done; /* the latest write (by index) seen completed */
	bool no_irq;	   /* the guest channel is gone */
	uint8_t st[FL_WRITES];
	uint8_t buf[FL_LEN];
};

static void flood_pattern(uint8_t *buf, unsigned i)
{
	char seed[32];

	snprintf(seed, sizeof(seed), "flood write %u", i);
	ih_fill(buf, FL_LEN, seed);
}

static struct flood *flood_open(const struct ih *h, const char *img)
{
	struct flood *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->img = img;
	f->limit = FL_WRITES;
	ih_gblk_open(h, 1, BLK_ADDR, BLK_IRQ, FL_QD, FL_LEN, &f->b);
	assert_int_equal(f->b.capacity, FL_IMG / SECTOR);
	assert_int_equal(f->b.qd, FL_QD);
	return f;
}

static void flood_close(struct flood *f)
{
	ih_gblk_close(&f->b);
	free(f);
}

/* Takes every completion in the used ring (memory only: also works when
 * the zone or the sim is gone). */
static void flood_reap(struct flood *f)
{
	for (;;) {
		struct ih_gblk_req *q;
		void *token = NULL;
		uint32_t used = 0;
		int r = hvg_vq_get(f->b.vq, &token, &used);

		if (r < 0)
			fail_msg("the used ring names no request in flight (%s): a request "
				 "completed twice, or a corrupt ring",
				 strerror(-r));
		if (r == 0)
			return;
		q = token;
		assert_true(q >= f->b.reqs && q < f->b.reqs + f->b.qd);
		if (!q->busy)
			fail_msg("write %llu completed twice", (unsigned long long)q->tag);
		q->busy = false;
		f->b.inflight--;
		assert_int_equal(f->st[q->tag], WR_POSTED);
		f->max_done = MAX(f->max_done, (unsigned)q->tag);
		if (*q->status == VIRTIO_BLK_S_OK) {
			f->st[q->tag] = WR_OK;
			f->n_ok++;
		} else {
			f->st[q->tag] = WR_ERROR;
			f->n_err++;
		}
	}
}

/* Keeps every slot busy with a new write. */
static void flood_fill(struct flood *f)
{
	while (f->next < f->limit && f->b.inflight < f->b.qd) {
		flood_pattern(f->buf, f->next);
		assert_non_null(ih_gblk_submit(&f->b, VIRTIO_BLK_T_OUT,
					       (uint64_t)f->next * FL_SECTORS, FL_LEN, f->buf,
					       f->next));
		f->st[f->next++] = WR_POSTED;
	}
}

/* One turn: completions, new writes, then a short wait for the device
 * (its interrupt, or 1 ms: interrupts may be lost while a backend is
 * replaced, and none come once the zone is gone). */
static void flood_step(struct flood *f, bool refill)
{
	watchdog(WATCHDOG_S);
	flood_reap(f);
	if (refill)
		flood_fill(f);
	if (!f->no_irq && hvg_dev_wait(f->b.d, 1, NULL) < 0)
		f->no_irq = true;
	else if (f->no_irq)
		poll(NULL, 0, 1);
}

/* Steady state: writes flowing, n more completed. */
static void flood_run(struct flood *f, unsigned n)
{
	unsigned want = f->n_ok + n;
	int64_t deadline = mono_us() + IH_TIMEOUT_MS * 1000ll;

	while (f->n_ok < want) {
		if (mono_us() > deadline)
			fail_msg("only %u of %u writes completed", f->n_ok, want);
		flood_step(f, true);
	}
	assert_int_equal(f->n_err, 0);
}

/* Until nothing is in flight (the device answers everything posted). */
static void flood_finish(struct flood *f)
{
	int64_t deadline = mono_us() + IH_TIMEOUT_MS * 1000ll;

	while (f->b.inflight > 0) {
		if (mono_us() > deadline)
			fail_msg("%u writes still in flight after %d ms", f->b.inflight,
				 IH_TIMEOUT_MS);
		flood_step(f, false);
	}
}

/* Every write the guest saw acknowledged is in the image. */
static void flood_verify(const struct flood *f)
{
	uint8_t *want = malloc(FL_LEN), *got = malloc(FL_LEN);
	int fd = open(f->img, O_RDONLY | O_CLOEXEC);
	unsigned checked = 0;

	assert_true(want && got && fd >= 0);
	for (unsigned i = 0; i < f->next; i++) {
		if (f->st[i] != WR_OK)
			continue;
		flood_pattern(want, i);
		assert_int_equal(pread_full(fd, got, FL_LEN, (off_t)i * FL_LEN), FL_LEN);
		if (memcmp(want, got, FL_LEN) != 0)
			fail_msg("write %u (sector %u) was acknowledged but is not in %s", i,
				 i * FL_SECTORS, f->img);
		checked++;
	}
	assert_int_equal(checked, f->n_ok);
	close(fd);
	free(want);
	free(got);
}

/* ---- kill -9 ------------------------------------------------------------------ */

/* A register read owed by a backend that is killed is answered (by the
 * sim: 0), reads stay answered while none runs, and the restarted backend
 * answers them again. The death and the restart are reported on the event
 * stream (varlink and hvctl events) and in zone info. */
static void test_kill9_register_reads(void **state)
{
	struct ih *h = ih_start(NULL);
	char *img = setup_blk(h, 8 << 20), line[512];
	const char *ev_argv[] = {ih_bin_hvctl(), "events", NULL};
	struct ih_lines lines = {0};
	struct vl_client *sub = ih_subscribe(h);
	bool seen_exit = false, seen_restart = false;
	struct reader rd;
	struct ih_out o;
	pid_t pid0, pid1, events;

	events = ih_spawn_bg(h, ev_argv, &lines.fd);
	do
		assert_true(ih_read_line(&lines, line, sizeof(line), IH_TIMEOUT_MS) >= 0);
	while (!strstr(line, "Subscribed"));

	pid0 = ih_virtiod_pid(h, 1);
	assert_true(pid0 > 0);
	assert_true(ih_pid_alive(pid0, IH_VIRTIOD_COMM));
	expect_zone_backend(h, "running", pid0, 0, NULL);

	reader_start(h, BLK_ADDR + VIRTIO_MMIO_MAGIC_VALUE, &rd);
	reader_wait_value(&rd, MMIO_MAGIC);
	assert_true(reader_count_for(&rd, 50, &(uint32_t){MMIO_MAGIC}) > 0);

	/* a stopped backend owes the guest its next read: the vCPU waits */
	assert_int_equal(kill(pid0, SIGSTOP), 0);
	reader_count_for(&rd, IH_QUIET_MS, NULL); /* what was answered before */
	assert_int_equal(reader_count_for(&rd, IH_QUIET_MS, NULL), 0);

	/* killed: the owed read is answered now, with 0 (no backend) */
	assert_int_equal(kill(pid0, SIGKILL), 0);
	if (!reader_next(&rd, HANG_MS))
		fail_msg("the read owed by the killed backend was not answered");
	assert_int_equal(rd.last.value, 0);

	/* reported, restarted */
	json_object_put(expect_event(sub, "VirtiodExited", "hvisor-virtiod killed by Killed"));
	json_object_put(expect_event(sub, "VirtiodRestarted", NULL));
	while (!seen_exit || !seen_restart) {
		if (ih_read_line(&lines, line, sizeof(line), IH_TIMEOUT_MS) < 0)
			fail_msg("hvctl events: no VirtiodExited/VirtiodRestarted line");
		if (strstr(line, "VirtiodExited zone 1") && strstr(line, "killed by Killed"))
			seen_exit = true;
		if (strstr(line, "VirtiodRestarted zone 1"))
			seen_restart = true;
	}
	pid1 = ih_wait_virtiod(h, 1, pid0);
	assert_false(ih_pid_alive(pid0, IH_VIRTIOD_COMM));
	assert_true(ih_pid_alive(pid1, IH_VIRTIOD_COMM));
	expect_zone_backend(h, "running", pid1, 1, "killed by Killed");

	/* the new backend answers the guest's reads with the device again */
	reader_wait_value(&rd, MMIO_MAGIC);
	assert_true(reader_count_for(&rd, 50, &(uint32_t){MMIO_MAGIC}) > 0);
	reader_stop(&rd);

	/* and the device works: a fresh run of the guest's disk check */
	if (ih_guest(h, &o, 1, BLK_ADDR, BLK_IRQ, "--timeout", "10000", "blk-verify", "--count",
		     "200", "--qd", "8", NULL) != 0)
		fail_msg("blk-verify after the restart failed: %s\n%s", o.out, o.err);
	ih_out_free(&o);
	assert_int_equal(ih_virtiod_pid(h, 1), pid1);

	kill(events, SIGTERM);
	assert_int_equal(ih_wait_bg(h, events, IH_TIMEOUT_MS), 128 + SIGTERM);
	close(lines.fd);
	vl_client_free(sub);
	free(img);
	alarm(0);
	ih_stop(h);
}

/* The device completed out of order: a write the guest posted is not
 * completed, one it posted later is (so the device took the older one). */
static bool flood_out_of_order(const struct flood *f)
{
	for (unsigned i = 0; i < f->b.qd; i++)
		if (f->b.reqs[i].busy && f->b.reqs[i].tag < f->max_done)
			return true;
	return false;
}

/* /proc/PID/stat's state letter, or 0. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t k;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (k <= 0)
		return 0;
	buf[k] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Until the used ring has a hole: the backend is stopped (SIGSTOP) when
 * the guest sees one, so it is still there when it is killed. False if
 * that did not happen (the hole was always filled before the stop). */
static bool flood_until_hole(struct flood *f, pid_t pid)
{
	for (;;) {
		int64_t deadline = mono_us() + IH_TIMEOUT_MS * 1000ll;

		while (!flood_out_of_order(f)) {
			if (f->next >= FL_WRITES - 2 * FL_QD)
				return false;
			flood_step(f, true);
		}
		assert_int_equal(kill(pid, SIGSTOP), 0);
		while (proc_state(pid) != 'T') {
			if (mono_us() > deadline)
				fail_msg("hvisor-virtiod pid %d does not stop", (int)pid);
			poll(NULL, 0, 1);
		}
		flood_reap(f); /* memory only: the backend answers no access now */
		if (flood_out_of_order(f))
			return true;
		assert_int_equal(kill(pid, SIGCONT), 0);
	}
}

/* kill -9 while this process, as the guest, keeps 64 writes in flight
 * (engine: the device's aio option). out_of_order: at a moment when the
 * guest sees completions out of order, else after 256 writes. */
static void kill9_writes_in_flight(const char *engine, bool out_of_order)
{
	struct ih *h = ih_start(NULL);
	char *img = setup_blk_opts(h, FL_IMG, engine);
	struct vl_client *sub = ih_subscribe(h);
	struct flood *f = flood_open(h, img);
	pid_t pid0 = ih_virtiod_pid(h, 1), pid1;
	json_object *dev = ih_virtio_device(h, 1, BLK_ADDR);
	char used_engine[32];
	unsigned at_kill;
	struct ih_out o;

	assert_true(pid0 > 0);
	assert_non_null(dev);
	snprintf(used_engine, sizeof(used_engine), "%s", ih_jstr_or(dev, "engine", "?"));
	json_object_put(dev);
	if (!*engine && strcmp(used_engine, "threads") == 0) {
		/* no io_uring here: the default engine completes out of order,
		 * which test_kill9_out_of_order covers; in order: sync */
		struct ih_out o2;

		printf("# the default engine is threads here; using sync\n");
		flood_close(f);
		assert_int_equal(ih_hvctl(h, &o2, "virtio", "remove", "1", "0xa003c00", NULL), 0);
		ih_out_free(&o2);
		add_blk(h, img, ",aio=sync");
		vl_client_free(sub);
		sub = ih_subscribe(h); /* past the events of the swap */
		snprintf(used_engine, sizeof(used_engine), "sync");
		pid0 = ih_virtiod_pid(h, 1);
		f = flood_open(h, img);
	}
	if (out_of_order) {
		flood_run(f, 64);
		if (!flood_until_hole(f, pid0)) {
			printf("# inconclusive: %u writes, never caught the device with a hole "
			       "in the used ring\n",
			       f->next);
			flood_close(f);
			vl_client_free(sub);
			free(img);
			alarm(0);
			ih_stop(h);
			return;
		}
	} else
		flood_run(f, 256);
	at_kill = f->next;
	assert_int_equal(kill(pid0, SIGKILL), 0);
	assert_true(pid_gone(pid0, -1, HANG_MS));
	flood_reap(f); /* what the dead backend completed */
	printf("# engine %s: killed with %u writes not completed, the latest %u%s\n", used_engine,
	       f->b.inflight, at_kill - 1,
	       flood_out_of_order(f) ? ", some older than completed ones" : "");
	/* the guest goes on posting through the gap and after it */
	f->limit = MIN(at_kill + 512, FL_WRITES);
	while (f->next < f->limit)
		flood_step(f, true);
	flood_finish(f);
	assert_int_equal(f->n_err, 0);
	assert_int_equal(f->n_ok, f->next);
	flood_verify(f);

	json_object_put(expect_event(sub, "VirtiodExited", "hvisor-virtiod killed by Killed"));
	json_object_put(expect_event(sub, "VirtiodRestarted", NULL));
	pid1 = ih_wait_virtiod(h, 1, pid0);
	expect_zone_backend(h, "running", pid1, 1, "killed by Killed");
	flood_close(f);

	if (ih_guest(h, &o, 1, BLK_ADDR, BLK_IRQ, "--timeout", "10000", "blk-verify", "--count",
		     "200", "--qd", "16", NULL) != 0)
		fail_msg("blk-verify after the restart failed: %s\n%s", o.out, o.err);
	ih_out_free(&o);
	vl_client_free(sub);
	free(img);
	alarm(0);
	ih_stop(h);
}

/* Every write posted before, during and after the gap completes (the new
 * backend takes again what the dead one had taken and not completed),
 * none twice, all OK, all in the image; then a fresh blk-verify. The
 * default engine (io_uring) completes writes to one file in order. */
static void test_kill9_writes_in_flight(void **state)
{
	kill9_writes_in_flight("", false);
}

/* The same, killed while the device has completed a later write and not
 * an earlier one (the threads engine): the restarted backend redoes
 * exactly the writes not completed (the queue's persistent record,
 * virtq_resume), none twice. */
static void test_kill9_out_of_order(void **state)
{
	kill9_writes_in_flight(",aio=threads", true);
}

/* The interrupt of a completion the guest has not acknowledged when the
 * backend dies: the guest reads InterruptStatus while none runs (0: no
 * ACK), so the saved status stays set. The restarted backend must still
 * interrupt the guest for what it completes later. hvisord is stopped
 * meanwhile so the read surely falls into the gap. */
static void test_kill9_interrupt_not_lost(void **state)
{
	struct ih *h = ih_start(NULL);
	char *img = setup_blk(h, 8 << 20);
	struct vl_client *sub = ih_subscribe(h);
	pid_t pid0 = ih_virtiod_pid(h, 1);
	uint8_t data[4 * SECTOR];
	struct ih_gblk_req *q;
	struct ih_gblk b;
	uint64_t isr = 1;
	uint32_t irq = 0;

	assert_true(pid0 > 0);
	watchdog(WATCHDOG_S);
	ih_gblk_open(h, 1, BLK_ADDR, BLK_IRQ, 4, sizeof(data), &b);
	ih_fill(data, sizeof(data), "before the kill");
	q = ih_gblk_submit(&b, VIRTIO_BLK_T_OUT, 64, sizeof(data), data, 1);
	assert_non_null(q);
	/* the interrupt arrives; the driver has not looked at it yet */
	assert_int_equal(b.t->ops->wait_irq(b.t->ctx, IH_TIMEOUT_MS, &irq), 1);
	assert_int_equal(irq, BLK_IRQ);
	assert_ptr_equal(ih_gblk_reap(&b, 0), q);
	assert_int_equal(*q->status, VIRTIO_BLK_S_OK);

	assert_int_equal(kill(h->pid, SIGSTOP), 0);
	assert_int_equal(kill(pid0, SIGKILL), 0);
	assert_true(pid_gone(pid0, -1, HANG_MS));
	/* the driver handles the interrupt: no backend, the status reads 0,
	 * nothing to acknowledge */
	assert_int_equal(b.t->ops->read(b.t->ctx, BLK_ADDR + VIRTIO_MMIO_INTERRUPT_STATUS, 4, &isr),
			 0);
	assert_int_equal(isr, 0);
	assert_int_equal(kill(h->pid, SIGCONT), 0);
	json_object_put(expect_event(sub, "VirtiodExited", "hvisor-virtiod killed by Killed"));
	json_object_put(expect_event(sub, "VirtiodRestarted", NULL));
	ih_wait_virtiod(h, 1, pid0);

	/* every completion from now on comes with an interrupt */
	for (unsigned i = 0; i < 3; i++) {
		uint32_t status = 0;
		int r;

		ih_fill(data, sizeof(data), "after the restart");
		q = ih_gblk_submit(&b, VIRTIO_BLK_T_OUT, 128 + 8 * i, sizeof(data), data, 2);
		assert_non_null(q);
		r = hvg_dev_wait(b.d, 5000, &status);
		if (r != 1)
			fail_msg("write %u after the restart: no interrupt within 5 s (%d)", i, r);
		assert_ptr_equal(ih_gblk_reap(&b, IH_TIMEOUT_MS), q);
		assert_int_equal(*q->status, VIRTIO_BLK_S_OK);
	}
	ih_gblk_close(&b);
	vl_client_free(sub);
	free(img);
	alarm(0);
	ih_stop(h);
}

/* hvsim-guest's blk-verify (EVENT_IDX, indirect descriptors, its own
 * interrupt handling) with a kill -9 in the middle of its writes: it does
 * not hang and verifies every sector. */
static void test_kill9_hvsim_guest(void **state)
{
	struct ih *h = ih_start(NULL);
	char *img = setup_blk(h, 16 << 20), buf[16384];
	int64_t deadline = mono_us() + IH_TIMEOUT_MS * 1000ll, done;
	pid_t pid0 = ih_virtiod_pid(h, 1), guest;
	json_object *res, *v;
	int out, rc;
	ssize_t k;

	assert_true(pid0 > 0);
	guest = ih_guest_bg(h, &out, 1, BLK_ADDR, BLK_IRQ, "--timeout", "10000", "--json",
			    "blk-verify", "--count", "5000", "--qd", "16", NULL);
	/* well into its writes */
	while ((done = ih_virtio_counter(h, 1, BLK_ADDR, "requests")) < 500) {
		if (mono_us() > deadline)
			fail_msg("blk-verify did not get going (%lld requests)", (long long)done);
		poll(NULL, 0, 5);
	}
	assert_true(ih_pid_alive(guest, NULL));
	assert_int_equal(kill(pid0, SIGKILL), 0);
	printf("# killed after %lld requests\n", (long long)done);
	rc = ih_wait_bg(h, guest, HANG_MS + 5000);
	k = read(out, buf, sizeof(buf) - 1);
	close(out);
	buf[k > 0 ? k : 0] = '\0';
	if (rc != 0) {
		char *bg = ih_path(h, "bg.log"), *text = ih_read_file(bg, NULL);

		fail_msg("blk-verify across the kill exited %d: %s\n%s", rc, buf, text);
	}
	res = json_tokener_parse(buf);
	assert_non_null(res);
	assert_true(json_object_object_get_ex(res, "writes", &v));
	assert_int_equal(json_object_get_int64(v), 5000);
	assert_true(json_object_object_get_ex(res, "mismatched_sectors", &v));
	assert_int_equal(json_object_get_int64(v), 0);
	json_object_put(res);
	ih_wait_virtiod(h, 1, pid0);
	expect_zone_backend(h, "running", ih_virtiod_pid(h, 1), 1, "killed by Killed");
	free(img);
	ih_stop(h);
}

/* ---- quick deaths in a row ------------------------------------------------------- */

#define QUICK_DEATHS 5 /* hvisord gives up after this many (backend.c) */

/* Each quick death is reported and followed by a restart after a back-off
 * that doubles from 100 ms; the fifth makes the backend "failed": no more
 * restarts, reported by the event stream, zone info and Virtio.List; the
 * zone keeps running and the guest's accesses are still answered. */
static void test_quick_deaths_fail(void **state)
{
	struct ih *h = ih_start(NULL);
	char *img = setup_blk(h, 8 << 20);
	struct vl_client *sub = ih_subscribe(h);
	pid_t pid = 0;
	struct reader rd;
	json_object *dev, *v;
	uint32_t ids[8];
	int n;

	for (int i = 1; i <= QUICK_DEATHS; i++) {
		int64_t died, back, want = 100000ll << (i - 1);
		json_object *e;

		pid = ih_wait_virtiod(h, 1, pid);
		assert_int_equal(kill(pid, SIGKILL), 0);
		e = expect_event(sub, "VirtiodExited", "hvisor-virtiod killed by Killed");
		died = ih_jint(e, "monotonic_usec");
		json_object_put(e);
		if (i == QUICK_DEATHS)
			break;
		e = expect_event(sub, "VirtiodRestarted", NULL);
		back = ih_jint(e, "monotonic_usec");
		json_object_put(e);
		printf("# death %d: restarted after %.1f ms (back-off %lld ms)\n", i,
		       (double)(back - died) / 1000, (long long)(want / 1000));
		/* never earlier than the back-off (a lower bound: no load makes a
		 * timer fire early; 5 ms for the loop's cached clock) */
		assert_true(back - died >= want - 5000);
	}
	json_object_put(expect_event(sub, "VirtiodFailed", "hvisor-virtiod killed by Killed"));
	assert_false(ih_pid_alive(pid, IH_VIRTIOD_COMM));

	/* the guest's accesses are answered (reads 0: nobody serves the
	 * device), and for longer than the next back-off would have been:
	 * nothing is restarted */
	reader_start(h, BLK_ADDR + VIRTIO_MMIO_MAGIC_VALUE, &rd);
	reader_wait_value(&rd, 0);
	assert_true(reader_count_for(&rd, 2000, &(uint32_t){0}) > 0);
	reader_stop(&rd);
	expect_no_event(sub, IH_QUIET_MS);
	assert_int_equal(ih_children_named(h->pid, IH_VIRTIOD_COMM, &pid, 1), 0);

	/* reported as failed (also to people); the zone runs on */
	expect_zone_backend(h, "failed", 0, QUICK_DEATHS - 1, "killed by Killed");
	{
		struct ih_out o;

		assert_int_equal(ih_hvctl(h, &o, "zone", "info", "1", NULL), 0);
		if (!strstr(o.out, "failed") || !strstr(o.out, "killed by Killed"))
			fail_msg("hvctl zone info 1 does not say the backend failed:\n%s", o.out);
		ih_out_free(&o);
	}
	dev = ih_virtio_device(h, 1, BLK_ADDR);
	assert_non_null(dev);
	assert_true(json_object_object_get_ex(dev, "state", &v));
	assert_string_equal(json_object_get_string(v), "failed");
	json_object_put(dev);
	n = ih_sim_zone_ids(h, ids, ARRAY_SIZE(ids));
	assert_int_equal(n, 2);
	assert_int_equal(ids[1], 1);

	vl_client_free(sub);
	free(img);
	alarm(0);
	ih_stop(h);
}

/* Kills zone 1's backend until hvisord gives up on it (VirtiodFailed). */
static void kill_until_failed(struct ih *h, struct vl_client *sub)
{
	pid_t pid = 0;

	for (int i = 1; i <= QUICK_DEATHS; i++) {
		pid = ih_wait_virtiod(h, 1, pid);
		assert_int_equal(kill(pid, SIGKILL), 0);
		json_object_put(expect_event(sub, "VirtiodExited", NULL));
		if (i < QUICK_DEATHS)
			json_object_put(expect_event(sub, "VirtiodRestarted", NULL));
	}
	json_object_put(expect_event(sub, "VirtiodFailed", NULL));
}

/* Adding a device to a zone whose backend failed is Busy, and the error
 * says how to recover; both ways it names work. */
static void test_failed_backend_recovery(void **state)
{
	struct ih *h = ih_start(NULL);
	char *img = setup_blk(h, 1 << 20);
	struct vl_client *sub = ih_subscribe(h);
	struct ih_out o;

	kill_until_failed(h, sub);
	assert_int_equal(ih_hvctl(h, &o, "virtio", "add", "1",
				  "console,addr=0xa003800,len=0x200,irq=76", NULL),
			 1);
	if (!strstr(o.err, "org.hvisor.Busy: cannot add the device: zone 1's backend is failed "
			   "(hvisord gave up restarting it): remove the zone's devices (hvctl "
			   "virtio remove) and add them again, or shut the zone down and start it "
			   "again"))
		fail_msg("no way out in: %s", o.err);
	ih_out_free(&o);

	/* way 1: remove the devices, add them again */
	assert_int_equal(ih_hvctl(h, &o, "virtio", "remove", "1", "0xa003c00", NULL), 0);
	ih_out_free(&o);
	add_blk(h, img, "");
	json_object_put(expect_event(sub, "VirtioDeviceRemoved", NULL));
	json_object_put(expect_event(sub, "VirtiodStarted", NULL));
	json_object_put(expect_event(sub, "VirtioDeviceAdded", NULL));
	expect_zone_backend(h, "running", ih_virtiod_pid(h, 1), 0, NULL);
	ih_blk_verify_quick(h, 1, BLK_ADDR, BLK_IRQ);

	/* way 2: restart the zone */
	kill_until_failed(h, sub);
	assert_int_equal(ih_hvctl(h, &o, "zone", "shutdown", "1", NULL), 0);
	ih_out_free(&o);
	ih_zone_start(h, "zone1");
	ih_wait_virtiod(h, 1, 0);
	expect_zone_backend(h, "running", ih_virtiod_pid(h, 1), 0, NULL);
	ih_blk_verify_quick(h, 1, BLK_ADDR, BLK_IRQ);

	vl_client_free(sub);
	free(img);
	ih_stop(h);
}

/* ---- orderly stops with writes in flight ----------------------------------------- */

enum stop_how {
	STOP_SIGTERM,
	STOP_ZONE_SHUTDOWN,
	STOP_REMOVE,
	STOP_HVISORD
};

static const char *const stop_names[] = {
	[STOP_SIGTERM] = "SIGTERM to hvisor-virtiod",
	[STOP_ZONE_SHUTDOWN] = "hvctl zone shutdown",
	[STOP_REMOVE] = "hvctl virtio remove (last device)",
	[STOP_HVISORD] = "SIGTERM to hvisord",
};

/* The guest keeps 64 writes in flight; the backend is told to stop and
 * must exit (status checked by the caller) within 2 s while the guest goes
 * on posting; afterwards every write the guest saw acknowledged is in the
 * image. */
static void stop_with_writes_in_flight(struct ih *h, struct flood *f, enum stop_how how, pid_t vpid)
{
	int pidfd = pid_open(vpid);
	unsigned ok_before;
	pid_t hvctl = -1;
	int64_t t0, t1;
	double ms;

	flood_run(f, 128);
	/* all 64 slots hold writes the guest has not seen completed */
	assert_int_equal(f->b.inflight, f->b.qd);
	ok_before = f->n_ok;
	t0 = mono_us();
	switch (how) {
	case STOP_SIGTERM:
		assert_int_equal(kill(vpid, SIGTERM), 0);
		break;
	case STOP_ZONE_SHUTDOWN:
		hvctl = spawn_hvctl(h, "zone", "shutdown", "1", NULL);
		break;
	case STOP_REMOVE:
		hvctl = spawn_hvctl(h, "virtio", "remove", "1", "0xa003c00");
		break;
	case STOP_HVISORD:
		assert_int_equal(kill(h->pid, SIGTERM), 0);
		break;
	}
	while (!pid_gone(vpid, pidfd, 0)) {
		if (mono_us() - t0 > HANG_MS * 1000ll)
			fail_msg("hvisor-virtiod pid %d still runs %d ms after %s", (int)vpid,
				 HANG_MS, stop_names[how]);
		flood_step(f, true);
	}
	t1 = mono_us();
	if (pidfd >= 0)
		close(pidfd);
	/* what it acknowledged is in guest memory: take it all */
	flood_reap(f);
	ms = (double)(t1 - t0) / 1000;
	printf("# %s: hvisor-virtiod exited after %.1f ms; %u writes acknowledged before, "
	       "%u after; %u posted and not completed\n",
	       stop_names[how], ms, ok_before, f->n_ok - ok_before, f->b.inflight);
	assert_int_equal(f->n_err, 0);
	flood_verify(f);
	if (hvctl > 0)
		assert_int_equal(ih_wait_bg(h, hvctl, IH_TIMEOUT_MS), 0);
	/* "within 2 s" (docs/man/hvisor-virtiod.8): the drain gives up at
	 * 1.8 s (and would exit 1); the rest is slack for a loaded machine */
	assert_true(ms <= 2000);
}

/* The backend logged that it finished what was in flight, and hvisord
 * that it exited 0 (hvisord's log has both: it is the backend's stderr). */
static void expect_clean_exit_logged(const char *log_text)
{
	if (!strstr(log_text, "in-flight requests completed; exiting") ||
	    !strstr(log_text, "hvisor-virtiod stopped (exited with status 0)") ||
	    strstr(log_text, "still in flight") || strstr(log_text, "did not exit in time"))
		fail_msg("no clean exit of hvisor-virtiod in the log:\n%s", log_text);
}

/* SIGTERM to hvisor-virtiod: it drains and exits 0 (reported as such);
 * hvisord starts it again since the zone runs, and the new one completes
 * what the guest had posted meanwhile. */
static void test_sigterm_writes_in_flight(void **state)
{
	struct ih *h = ih_start(NULL);
	char *img = setup_blk(h, FL_IMG);
	struct vl_client *sub = ih_subscribe(h);
	struct flood *f = flood_open(h, img);
	pid_t pid0 = ih_virtiod_pid(h, 1), pid1;

	assert_true(pid0 > 0);
	stop_with_writes_in_flight(h, f, STOP_SIGTERM, pid0);
	json_object_put(expect_event(sub, "VirtiodExited", "hvisor-virtiod exited with status 0"));
	assert_true(ih_wait_file_contains(h->log, "in-flight requests completed; exiting",
					  IH_TIMEOUT_MS));
	json_object_put(expect_event(sub, "VirtiodRestarted", NULL));
	pid1 = ih_wait_virtiod(h, 1, pid0);
	expect_zone_backend(h, "running", pid1, 1, "exited with status 0");

	/* the rest completes through the new backend */
	flood_finish(f);
	assert_int_equal(f->n_err, 0);
	assert_int_equal(f->n_ok, f->next);
	flood_verify(f);
	flood_close(f);
	vl_client_free(sub);
	free(img);
	alarm(0);
	ih_stop(h);
}

/* hvctl zone shutdown: the zone ends first (the guest with it), the
 * backend finishes what it had taken and exits 0; the device stays
 * registered, pending. */
static void test_zone_shutdown_writes_in_flight(void **state)
{
	struct ih *h = ih_start(NULL);
	char *img = setup_blk(h, FL_IMG), *log;
	struct flood *f = flood_open(h, img);
	pid_t pid = ih_virtiod_pid(h, 1);
	json_object *dev, *v;

	assert_true(pid > 0);
	stop_with_writes_in_flight(h, f, STOP_ZONE_SHUTDOWN, pid);
	assert_true(ih_wait_file_contains(h->log, "hvisor-virtiod stopped", IH_TIMEOUT_MS));
	log = ih_read_file(h->log, NULL);
	expect_clean_exit_logged(log);
	free(log);
	assert_int_equal(ih_children_named(h->pid, IH_VIRTIOD_COMM, &pid, 1), 0);
	dev = ih_virtio_device(h, 1, BLK_ADDR);
	assert_non_null(dev);
	assert_true(json_object_object_get_ex(dev, "state", &v));
	assert_string_equal(json_object_get_string(v), "pending");
	json_object_put(dev);
	flood_close(f);
	free(img);
	alarm(0);
	ih_stop(h);
}

/* hvctl virtio remove of the zone's only device: the backend drains and
 * exits 0; the zone runs on and its guest's accesses are answered. */
static void test_remove_last_writes_in_flight(void **state)
{
	struct ih *h = ih_start(NULL);
	char *img = setup_blk(h, FL_IMG), *log;
	struct flood *f = flood_open(h, img);
	pid_t pid = ih_virtiod_pid(h, 1);
	json_object *devs, *z, *v;
	uint64_t magic = 1;

	assert_true(pid > 0);
	stop_with_writes_in_flight(h, f, STOP_REMOVE, pid);
	assert_true(ih_wait_file_contains(h->log, "hvisor-virtiod stopped", IH_TIMEOUT_MS));
	log = ih_read_file(h->log, NULL);
	expect_clean_exit_logged(log);
	free(log);
	assert_int_equal(ih_children_named(h->pid, IH_VIRTIOD_COMM, &pid, 1), 0);
	devs = ih_virtio_list(h, 1);
	assert_int_equal(json_object_array_length(devs), 0);
	json_object_put(devs);
	z = hvctl_zone_info(h);
	assert_string_equal(ih_jstr(z, "status"), "running");
	if (json_object_object_get_ex(z, "virtio", &v))
		assert_string_equal(ih_jstr(v, "backend"), "stopped");
	json_object_put(z);
	/* nobody serves the window now: the sim answers, reads 0 */
	watchdog(WATCHDOG_S);
	assert_int_equal(
		f->b.t->ops->read(f->b.t->ctx, BLK_ADDR + VIRTIO_MMIO_MAGIC_VALUE, 4, &magic), 0);
	assert_int_equal(magic, 0);
	flood_close(f);
	free(img);
	alarm(0);
	ih_stop(h);
}

/* SIGTERM to hvisord: it stops the zone's backend, which drains and exits
 * 0 before hvisord does; no hvisor-virtiod is left behind. */
static void test_hvisord_stop_writes_in_flight(void **state)
{
	struct ih *h = ih_start(NULL);
	char *img = setup_blk(h, FL_IMG), *log = NULL;
	struct flood *f = flood_open(h, img);
	pid_t pid = ih_virtiod_pid(h, 1);
	size_t len = 0;
	int64_t deadline;
	FILE *logf;

	assert_true(pid > 0);
	/* ih_stop removes the log with the runtime dir: keep it open */
	logf = fopen(h->log, "re");
	assert_non_null(logf);
	stop_with_writes_in_flight(h, f, STOP_HVISORD, pid);
	flood_close(f);
	/* hvisord exits on its own (ih_stop then reaps it and checks that no
	 * child of it is left, its exit status, its log) */
	deadline = mono_us() + IH_TIMEOUT_MS * 1000ll;
	while (ih_pid_alive(h->pid, NULL)) {
		if (mono_us() > deadline)
			fail_msg("hvisord still runs %d ms after SIGTERM", IH_TIMEOUT_MS);
		poll(NULL, 0, 5);
	}
	free(img);
	alarm(0);
	ih_stop(h);
	assert_false(ih_pid_alive(pid, IH_VIRTIOD_COMM));
	assert_true(getdelim(&log, &len, '\0', logf) > 0);
	fclose(logf);
	expect_clean_exit_logged(log);
	free(log);
}

/* hvisor-virtiod --control-fd 0 with `fd` as its stdin (-1: --control-fd
 * 100, not open) exits 1 at once with an error saying `why`, instead of
 * waiting forever for a Setup that cannot come (ih_run fails the test if
 * it does not finish). */
static void expect_bad_control_fd(int fd, const char *why)
{
	const char *argv[] = {ih_bin_virtiod(), "--control-fd", fd >= 0 ? "0" : "100", NULL};
	const struct ih_exec x = {.stdin_fd = fd};
	struct ih_out o;

	assert_int_equal(ih_run(NULL, &x, &o, argv), 1);
	if (!strstr(o.err, why))
		fail_msg("--control-fd: '%s' expected in:\n%s", why, o.err);
	ih_out_free(&o);
}

static void test_bad_control_fd(void **state)
{
	static const int types[] = {SOCK_STREAM, SOCK_DGRAM};
	int sv[2], p[2], inet;

	expect_bad_control_fd(-1, "--control-fd 100: Bad file descriptor");
	/* ih_run's default stdin, /dev/null */
	expect_bad_control_fd(0, "--control-fd 0 is not a socket");
	assert_int_equal(pipe(p), 0);
	expect_bad_control_fd(p[0], "--control-fd 0 is not a socket");
	close(p[0]);
	close(p[1]);
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		assert_int_equal(socketpair(AF_UNIX, types[i], 0, sv), 0);
		expect_bad_control_fd(sv[0], "is not a unix SOCK_SEQPACKET socket");
		close(sv[0]);
		close(sv[1]);
	}
	inet = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(inet >= 0);
	expect_bad_control_fd(inet, "is not a unix SOCK_SEQPACKET socket");
	close(inet);
	(void)state;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_kill9_register_reads, setup),
		cmocka_unit_test_setup(test_kill9_writes_in_flight, setup),
		cmocka_unit_test_setup(test_kill9_interrupt_not_lost, setup),
		cmocka_unit_test_setup(test_kill9_hvsim_guest, setup),
		cmocka_unit_test_setup(test_quick_deaths_fail, setup),
		cmocka_unit_test_setup(test_failed_backend_recovery, setup),
		cmocka_unit_test_setup(test_sigterm_writes_in_flight, setup),
		cmocka_unit_test_setup(test_zone_shutdown_writes_in_flight, setup),
		cmocka_unit_test_setup(test_remove_last_writes_in_flight, setup),
		cmocka_unit_test_setup(test_hvisord_stop_writes_in_flight, setup),
		cmocka_unit_test_setup(test_kill9_out_of_order, setup),
		cmocka_unit_test_setup(test_bad_control_fd, setup),
	};

	ih_init(argc, argv);
	ih_need_virtio();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
