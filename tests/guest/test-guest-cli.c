// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvsim-guest, the workloads CLI, run as a child process against the real
 * device models: a hvisor-virtiod owning the zone's channel (vbackend.h),
 * with a blk over an image file, a console over a socketpair and a net
 * device over a SOCK_SEQPACKET socketpair whose other ends the test holds:
 * exit codes, usage errors, data checks, JSON output. Three checks need a
 * device the real ones are not, and use the fake of fakedev.c: one that
 * corrupts what it reads, one that splits every received frame over two
 * buffers (the real net device fills one 2 KiB buffer with any frame a
 * non-tap fd carries), and one that offers HOST_TSO4 and shows the test
 * the header the driver wrote (the real one offers it on a tap only, and
 * hands that header to the kernel).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <endian.h>

#include <cmocka.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "fakedev.h"
#include "hvsim-guest.h"
#include "util.h"
#include "vbackend.h"

#define F(bit)	      (UINT64_C(1) << (bit))
#define CLI_TIMEOUT_S 60
#define OUT_MAX	      65536
#define NET_HDR	      12

static const char *cli_path;

struct child {
	pid_t pid;
	int out; /* its stdout + stderr */
};

struct fixture {
	bool fake; /* env, else be */
	struct fake_env env;
	struct vbackend be;
	char img[PATH_MAX]; /* the blk device's image, "" if none */
	/* our end of the console's or net device's socket (-1: none); what
	 * the device sent through it, and what we still have to send */
	int peer;
	bool records; /* net: one record per packet, a header then a frame */
	uint8_t *stream;
	size_t stream_len, stream_cap;
	struct fake_frame *frames; /* net: the first FAKE_MAX_FRAMES */
	unsigned n_frames;
	uint8_t last_hdr[NET_HDR]; /* net: header of the last frame */
	size_t last_len;	   /* its record's length */
	const uint8_t *inject;
	size_t inject_len;
	char out[OUT_MAX];
};

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->fake)
		fake_env_stop(&f->env);
	else
		vbackend_stop(&f->be);
	if (f->img[0])
		unlink(f->img);
	safe_close(f->peer);
	free(f->stream);
	free(f->frames);
	free(f);
	return 0;
}

static struct fixture *fixture_new(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->peer = -1;
	f->frames = calloc(FAKE_MAX_FRAMES, sizeof(*f->frames));
	assert_non_null(f->frames);
	*state = f;
	return f;
}

/* The real devices: a hvisor-virtiod with none yet. */
static struct fixture *start(void **state)
{
	struct fixture *f = fixture_new(state);

	vbackend_start(&f->be);
	return f;
}

/* The fake device, started. */
static struct fixture *start_fake(void **state, uint32_t id, uint64_t features, enum fake_mode mode)
{
	struct fixture *f = fixture_new(state);

	f->fake = true;
	fake_init(&f->env.dev, id, features);
	f->env.dev.mode = mode;
	return f;
}

static struct child cli_start(struct fixture *f, const char *const *args)
{
	const char *argv[64];
	struct child c;
	int p[2];
	size_t n = 0;

	argv[n++] = cli_path;
	argv[n++] = "--sim";
	argv[n++] = f->fake ? f->env.sim.sock : f->be.sim.sock;
	argv[n++] = "--zone";
	argv[n++] = "1";
	argv[n++] = "--device";
	argv[n++] = "0xa000000";
	argv[n++] = "--irq";
	argv[n++] = "78";
	argv[n++] = "--timeout";
	argv[n++] = "3000";
	for (size_t i = 0; args[i] && n < ARRAY_SIZE(argv) - 1; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	c.pid = fork();
	assert_true(c.pid >= 0);
	if (c.pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execv(cli_path, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	c.out = p[0];
	return c;
}

/* What the device sent: console bytes, or net records. */
static void peer_take(struct fixture *f)
{
	static uint8_t buf[NET_HDR + 70000];

	for (;;) {
		ssize_t k = recv(f->peer, buf, sizeof(buf), MSG_DONTWAIT);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			assert_true(k == 0 || errno == EAGAIN);
			return;
		}
		if (!f->records) {
			if (f->stream_len + (size_t)k > f->stream_cap) {
				f->stream_cap = MAX(f->stream_cap * 2, f->stream_len + (size_t)k);
				f->stream = realloc(f->stream, f->stream_cap);
				assert_non_null(f->stream);
			}
			memcpy(f->stream + f->stream_len, buf, (size_t)k);
			f->stream_len += (size_t)k;
		} else if (k >= NET_HDR) {
			memcpy(f->last_hdr, buf, NET_HDR);
			f->last_len = (size_t)k;
			if ((size_t)k - NET_HDR <= FAKE_FRAME_MAX &&
			    f->n_frames < FAKE_MAX_FRAMES) {
				struct fake_frame *fr = &f->frames[f->n_frames++];

				fr->len = (size_t)k - NET_HDR;
				memcpy(fr->data, buf + NET_HDR, fr->len);
			}
		}
	}
}

/* The rest of a console injection, as far as the socket takes it. */
static void peer_give(struct fixture *f)
{
	ssize_t k = send(f->peer, f->inject, f->inject_len, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (k < 0) {
		assert_true(errno == EAGAIN || errno == EINTR);
		return;
	}
	f->inject += k;
	f->inject_len -= (size_t)k;
}

/* Collects its output and exit status (-1: killed after the timeout),
 * and meanwhile moves the device's traffic. */
static int cli_finish(struct fixture *f, struct child *c)
{
	size_t len = 0;
	int status;

	for (;;) {
		struct pollfd p[2] = {
			{.fd = c->out, .events = POLLIN},
			{.fd = f->peer, .events = POLLIN | (f->inject_len ? POLLOUT : 0)},
		};
		ssize_t k;

		if (poll(p, f->peer >= 0 ? 2 : 1, CLI_TIMEOUT_S * 1000) <= 0) {
			kill(c->pid, SIGKILL);
			break;
		}
		if (p[1].revents & (POLLERR | POLLHUP))
			fail_msg("the device's socket was closed");
		if (p[1].revents & POLLIN)
			peer_take(f);
		if (p[1].revents & POLLOUT)
			peer_give(f);
		if (!p[0].revents)
			continue;
		k = read(c->out, f->out + len, sizeof(f->out) - 1 - len);
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	f->out[len] = '\0';
	close(c->out);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	/* what the device took from the guest before it exited is there */
	if (f->peer >= 0)
		peer_take(f);
	if (getenv("HVSIM_TEST_VERBOSE"))
		fprintf(stderr, "--- hvsim-guest output ---\n%s", f->out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int cli(struct fixture *f, const char *const *args)
{
	struct child c = cli_start(f, args);

	return cli_finish(f, &c);
}

static void expect_out(struct fixture *f, const char *needle)
{
	if (!strstr(f->out, needle)) {
		fprintf(stderr, "output lacks \"%s\":\n%s\n", needle, f->out);
		fail();
	}
}

/* A console (type 3) over a socketpair. */
static void add_console(struct fixture *f)
{
	struct hv_virtio_device dev = {.type = HV_VIRTIO_CONSOLE};
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->peer = sv[1];
	vbackend_add(&f->be, &dev, sv[0]);
}

/* --- general ------------------------------------------------------------------------- */

static void test_usage(void **state)
{
	struct fixture *f = start(state);

	add_console(f);
	assert_int_equal(cli(f, (const char *const[]){NULL}), 2);
	assert_int_equal(cli(f, (const char *const[]){"no-such-workload", NULL}), 2);
	assert_int_equal(cli(f, (const char *const[]){"reg-bench", "--count", "zero", NULL}), 2);
	assert_int_equal(cli(f, (const char *const[]){"reg-bench", "extra", NULL}), 2);
	assert_int_equal(cli(f, (const char *const[]){"blk-verify", "--max-size", "1000", NULL}),
			 2);
	/* a device of another type is a failure, not a usage error */
	assert_int_equal(cli(f, (const char *const[]){"blk-verify", NULL}), 1);
	expect_out(f, "needs type 2");
}

/* Nothing at the address: the backend reads it as 0, magic included. */
static void test_bad_device(void **state)
{
	struct fixture *f = start(state);

	assert_int_equal(cli(f, (const char *const[]){"reg-bench", NULL}), 1);
	expect_out(f, "no virtio-mmio device");
}

static void test_reg_bench(void **state)
{
	struct fixture *f = start(state);

	add_console(f);
	assert_int_equal(
		cli(f, (const char *const[]){"--json", "reg-bench", "--count", "300", NULL}), 0);
	expect_out(f, "\"reads\":300");
	expect_out(f, "\"vendor_id\":1213614419");
	expect_out(f, "\"p99_us\":");
	expect_out(f, "\"ok\":true");
}

/* --- blk ------------------------------------------------------------------------------- */

#define DISK_SECTORS 8192 /* 4 MiB */

/* A 4 MiB image of zeroes in the sim's directory. */
static struct fixture *start_blk(void **state, bool readonly)
{
	struct fixture *f = start(state);
	struct hv_virtio_device dev = {.type = HV_VIRTIO_BLK, .readonly = readonly};
	int fd;

	snprintf(f->img, sizeof(f->img), "%s/disk.img", f->be.sim.dir);
	fd = open(f->img, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, DISK_SECTORS * 512), 0);
	if (readonly) {
		close(fd);
		fd = open(f->img, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
	}
	dev.img = f->img;
	strcpy(dev.serial, "real-disk-0001");
	vbackend_add(&f->be, &dev, fd);
	return f;
}

static void test_blk_verify(void **state)
{
	struct fixture *f = start_blk(state, false);

	assert_int_equal(cli(f, (const char *const[]){"blk-verify", "--count", "300", "--qd", "8",
						      "--seed", "7", NULL}),
			 0);
	expect_out(f, "serial: \"real-disk-0001\"");
	expect_out(f, "0 sectors differ");
	expect_out(f, "flush: OK");
	expect_out(f, "event_idx on, indirect on");
	/* the data really is on the disk: sector content is not all zero */
	{
		static const uint8_t zero[512];
		uint8_t *disk = malloc(DISK_SECTORS * 512);
		unsigned nonzero = 0;
		int fd = open(f->img, O_RDONLY | O_CLOEXEC);

		assert_non_null(disk);
		assert_true(fd >= 0);
		assert_int_equal(read_full(fd, disk, DISK_SECTORS * 512), DISK_SECTORS * 512);
		close(fd);
		for (unsigned s = 0; s < DISK_SECTORS; s++)
			nonzero += memcmp(disk + (size_t)s * 512, zero, 512) != 0;
		free(disk);
		assert_true(nonzero > 100);
	}
	/* the other ring paths, and a whole-disk region */
	assert_int_equal(
		cli(f, (const char *const[]){"--no-event-idx", "--no-indirect", "blk-verify",
					     "--count", "100", "--qd", "3", "--max-size", "8K",
					     "--region", "8192", NULL}),
		0);
	expect_out(f, "event_idx off, indirect off");
}

/* A device that corrupts what it reads: the fake's. */
static void test_blk_verify_detects_corruption(void **state)
{
	struct fixture *f = start_fake(state, 2, F(VIRTIO_BLK_F_FLUSH), FAKE_BLK);
	struct fakedev *d = &f->env.dev;
	uint64_t cap = htole64(DISK_SECTORS);

	d->disk_sectors = DISK_SECTORS;
	d->disk = calloc(DISK_SECTORS, 512);
	assert_non_null(d->disk);
	memcpy(d->config, &cap, 8);
	d->config_len = 24;
	d->num_max = 128;
	d->corrupt_reads = true;
	fake_env_start(&f->env, false);
	assert_int_equal(
		cli(f, (const char *const[]){"--json", "blk-verify", "--count", "20", NULL}), 1);
	expect_out(f, "\"ok\":false");
	expect_out(f, "differs from write generation");
}

static void test_blk_readonly(void **state)
{
	struct fixture *f = start_blk(state, true);

	assert_int_equal(cli(f, (const char *const[]){"blk-verify", "--count", "20", NULL}), 1);
	expect_out(f, "read-only");
	assert_int_equal(cli(f, (const char *const[]){"blk-verify", "--expect-readonly", "--count",
						      "20", NULL}),
			 0);
	expect_out(f, "20 writes refused with IOERR, reads OK");
	assert_int_equal(cli(f, (const char *const[]){"blk-bench", "--rw", "randwrite", "--count",
						      "10", NULL}),
			 1);
}

static void test_blk_readonly_expected_but_writable(void **state)
{
	struct fixture *f = start_blk(state, false);

	assert_int_equal(cli(f, (const char *const[]){"blk-verify", "--expect-readonly", NULL}), 1);
	expect_out(f, "does not offer VIRTIO_BLK_F_RO");
}

static void test_blk_bench(void **state)
{
	struct fixture *f = start_blk(state, false);

	assert_int_equal(cli(f, (const char *const[]){"--json", "blk-bench", "--rw", "randwrite",
						      "--qd", "4", "--count", "300", NULL}),
			 0);
	expect_out(f, "\"requests\":300");
	expect_out(f, "\"errors\":0");
	expect_out(f, "\"lat_p99_us\":");
	expect_out(f, "\"interrupts_per_request\":");
	assert_int_equal(cli(f, (const char *const[]){"blk-bench", "--rw", "read", "--bs", "64K",
						      "--seconds", "1", NULL}),
			 0);
	expect_out(f, "IOPS");
}

/* --- console ----------------------------------------------------------------------------- */

static void test_console_send(void **state)
{
	struct fixture *f = start(state);
	uint8_t *want = malloc(300000);

	add_console(f);
	assert_int_equal(cli(f, (const char *const[]){"console-send", "--bytes", "300000", "--seed",
						      "5", NULL}),
			 0);
	wl_pattern_fill(5, 0, want, 300000);
	assert_int_equal(f->stream_len, 300000);
	assert_memory_equal(f->stream, want, 300000);
	free(want);
}

static void test_console_recv(void **state)
{
	struct fixture *f = start(state);
	uint8_t *data = malloc(100000);
	struct child c;

	add_console(f);
	wl_pattern_fill(9, 0, data, 100000);
	/* the bytes wait in the socket until the guest posts buffers */
	c = cli_start(
		f, (const char *const[]){"console-recv", "--bytes", "100000", "--seed", "9", NULL});
	f->inject = data;
	f->inject_len = 100000;
	assert_int_equal(cli_finish(f, &c), 0);
	expect_out(f, "pattern OK");

	/* one wrong byte fails it */
	data[4321] ^= 0x40;
	c = cli_start(
		f, (const char *const[]){"console-recv", "--bytes", "100000", "--seed", "9", NULL});
	f->inject = data;
	f->inject_len = 100000;
	assert_int_equal(cli_finish(f, &c), 1);
	expect_out(f, "byte 4321 is");
	free(data);
}

static void test_console_echo(void **state)
{
	struct fixture *f = start(state);
	uint8_t data[50000];
	struct child c;

	add_console(f);
	wl_pattern_fill(3, 0, data, sizeof(data));
	c = cli_start(f, (const char *const[]){"console-echo", "--bytes", "50000", NULL});
	f->inject = data;
	f->inject_len = sizeof(data);
	assert_int_equal(cli_finish(f, &c), 0);
	assert_int_equal(f->stream_len, sizeof(data));
	assert_memory_equal(f->stream, data, sizeof(data));
	/* without --bytes it runs for --seconds and succeeds */
	assert_int_equal(cli(f, (const char *const[]){"console-echo", "--seconds", "1", NULL}), 0);
	/* with --bytes that never come, it fails */
	assert_int_equal(cli(f, (const char *const[]){"console-echo", "--bytes", "10", "--seconds",
						      "1", NULL}),
			 1);
}

/* The fake device's receive queue has buffers and the driver is up. */
static bool cond_rx_posted(struct fakedev *d, void *arg)
{
	const uint16_t *avail = fake_host(d, d->q[0].avail, 4);

	return d->q[0].ready && avail && le16toh(avail[1]) > 0 &&
	       (d->status & VIRTIO_CONFIG_S_DRIVER_OK);
}

/* --- net ----------------------------------------------------------------------------------- */

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc};
static const uint8_t peer_mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t guest_ip[4] = {10, 1, 2, 3};
static const uint8_t peer_ip[4] = {10, 1, 2, 1};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t csum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t pseudo(const uint8_t *ip, uint8_t proto, uint16_t len)
{
	return (uint32_t)get16(ip + 12) + get16(ip + 14) + get16(ip + 16) + get16(ip + 18) + proto +
	       len;
}

static size_t ipv4_frame(uint8_t *f, uint8_t proto, const uint8_t *l4, size_t l4_len)
{
	uint8_t *ip = f + 14;

	memcpy(f, guest_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	put16(f + 12, 0x0800);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4_len));
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, peer_ip, 4);
	memcpy(ip + 16, guest_ip, 4);
	put16(ip + 10, csum(0, ip, 20));
	memcpy(ip + 20, l4, l4_len);
	return 14 + 20 + l4_len;
}

/* A net device with guest_mac over a SOCK_SEQPACKET socketpair. */
static struct fixture *start_net(void **state)
{
	struct fixture *f = start(state);
	struct hv_virtio_device dev = {.type = HV_VIRTIO_NET, .has_mac = true};
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	memcpy(dev.mac, guest_mac, 6);
	strcpy(dev.tap, "socketpair");
	f->peer = sv[1];
	f->records = true;
	vbackend_add(&f->be, &dev, sv[0]);
	return f;
}

/* The fake net device, its MAC in the config (config_len 6, or 12 with
 * the status), started; the frames it receives split over two buffers. */
static struct fixture *start_fake_net(void **state, uint64_t features, bool status)
{
	struct fixture *f = start_fake(state, 1, features, FAKE_STREAM);
	struct fakedev *d = &f->env.dev;

	d->split_rx = true;
	memcpy(d->config, guest_mac, 6);
	d->config[6] = VIRTIO_NET_S_LINK_UP;
	d->config_len = status ? 12 : 6;
	fake_env_start(&f->env, false);
	return f;
}

/* A frame from the network (a header of zeroes first). */
static void inject_frame(struct fixture *f, const uint8_t *frame, size_t len)
{
	uint8_t rec[NET_HDR + 1518] = {0};

	if (f->fake) {
		fake_inject(&f->env.dev, frame, len);
		return;
	}
	assert_true(len <= sizeof(rec) - NET_HDR);
	memcpy(rec + NET_HDR, frame, len);
	assert_int_equal(send(f->peer, rec, NET_HDR + len, MSG_DONTWAIT | MSG_NOSIGNAL),
			 (ssize_t)(NET_HDR + len));
}

static bool cond_frames(struct fakedev *d, void *arg)
{
	return d->n_tx_frames >= *(unsigned *)arg;
}

/* The fake's frames, once it has n, as if they came through the peer. */
static void fake_take_frames(struct fixture *f, unsigned n)
{
	struct fakedev *d = &f->env.dev;

	assert_true(fake_wait(d, cond_frames, &n, 1000));
	fake_lock(d);
	f->n_frames = d->n_tx_frames;
	memcpy(f->frames, d->tx_frames, d->n_tx_frames * sizeof(*f->frames));
	fake_unlock(d);
}

/* Noise, ARP who-has 10.1.2.3, an ICMP echo request, a UDP datagram. */
static void inject_echo_traffic(struct fixture *f)
{
	uint8_t frame[256], l4[64];
	size_t len;

	/* noise first: a frame for someone else, a runt, an IPv4 frame for another host */
	memset(frame, 0, sizeof(frame));
	memcpy(frame, peer_mac, 6);
	inject_frame(f, frame, 60);
	inject_frame(f, frame, 5);
	/* ARP who-has 10.1.2.3 */
	memset(frame, 0xff, 6);
	memcpy(frame + 6, peer_mac, 6);
	put16(frame + 12, 0x0806);
	put16(frame + 14, 1);
	put16(frame + 16, 0x0800);
	frame[18] = 6;
	frame[19] = 4;
	put16(frame + 20, 1);
	memcpy(frame + 22, peer_mac, 6);
	memcpy(frame + 28, peer_ip, 4);
	memset(frame + 32, 0, 6);
	memcpy(frame + 38, guest_ip, 4);
	inject_frame(f, frame, 42);
	/* ICMP echo request, id 0x1234 seq 1, 32 bytes of data */
	memset(l4, 0, sizeof(l4));
	l4[0] = 8;
	put16(l4 + 4, 0x1234);
	put16(l4 + 6, 1);
	for (int i = 8; i < 40; i++)
		l4[i] = (uint8_t)i;
	put16(l4 + 2, csum(0, l4, 40));
	len = ipv4_frame(frame, 1, l4, 40);
	inject_frame(f, frame, len);
	/* UDP 10.1.2.1:4000 -> 10.1.2.3:7, "hello" */
	memset(l4, 0, sizeof(l4));
	put16(l4, 4000);
	put16(l4 + 2, 7);
	put16(l4 + 4, 13);
	memcpy(l4 + 8, "hello", 5);
	len = ipv4_frame(frame, 17, l4, 13);
	put16(frame + 34 + 6, csum(pseudo(frame + 14, 17, 13), frame + 34, 13));
	inject_frame(f, frame, len);
}

/* The ARP reply, the ICMP echo reply and the UDP answer, in that order. */
static void expect_echo_answers(struct fixture *f)
{
	assert_int_equal(f->n_frames, 3);
	{
		/* ARP reply to the asker */
		const uint8_t *a = f->frames[0].data;

		assert_true(f->frames[0].len >= 42);
		assert_memory_equal(a, peer_mac, 6);
		assert_memory_equal(a + 6, guest_mac, 6);
		assert_int_equal(get16(a + 12), 0x0806);
		assert_int_equal(get16(a + 20), 2);
		assert_memory_equal(a + 22, guest_mac, 6);
		assert_memory_equal(a + 28, guest_ip, 4);
		assert_memory_equal(a + 32, peer_mac, 6);
		assert_memory_equal(a + 38, peer_ip, 4);
	}
	{
		/* ICMP echo reply, valid checksums, same payload */
		const uint8_t *e = f->frames[1].data, *ip = e + 14;

		assert_int_equal(f->frames[1].len, 14 + 20 + 40);
		assert_memory_equal(e, peer_mac, 6);
		assert_memory_equal(ip + 12, guest_ip, 4);
		assert_memory_equal(ip + 16, peer_ip, 4);
		assert_int_equal(csum(0, ip, 20), 0);
		assert_int_equal(ip[20], 0);
		assert_int_equal(get16(ip + 24), 0x1234);
		assert_int_equal(csum(0, ip + 20, 40), 0);
		assert_int_equal(ip[20 + 39], 39);
	}
	{
		/* UDP back to the sender's port, checksum valid */
		const uint8_t *e = f->frames[2].data, *ip = e + 14, *udp = ip + 20;

		assert_int_equal(f->frames[2].len, 14 + 20 + 13);
		assert_int_equal(get16(udp), 7);
		assert_int_equal(get16(udp + 2), 4000);
		assert_memory_equal(udp + 8, "hello", 5);
		assert_int_equal(csum(pseudo(ip, 17, 13), udp, 13), 0);
	}
	expect_out(f, "answered 1 ICMP, 1 UDP, 1 ARP");
	expect_out(f, "(0 malformed, 2 ignored, 0 bad checksums)");
}

static const char *const echo_args[] = {"net-echo", "--ip",	 "10.1.2.3", "--count",
					"2",	    "--seconds", "20",	     NULL};

static void test_net_echo(void **state)
{
	struct fixture *f = start_net(state);
	struct child c = cli_start(f, echo_args);

	/* the frames wait in the socket until the guest posts buffers */
	inject_echo_traffic(f);
	assert_int_equal(cli_finish(f, &c), 0);
	expect_echo_answers(f);
}

/* mergeable receive buffers: every frame spans two buffers (the fake's) */
static void test_net_echo_merged(void **state)
{
	struct fixture *f =
		start_fake_net(state,
			       F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) |
				       F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_GUEST_CSUM),
			       true);
	struct child c = cli_start(f, echo_args);

	assert_true(fake_wait(&f->env.dev, cond_rx_posted, NULL, 10000));
	inject_echo_traffic(f);
	assert_int_equal(cli_finish(f, &c), 0);
	fake_take_frames(f, 3);
	expect_echo_answers(f);
}

static void test_net_echo_timeout(void **state)
{
	struct fixture *f = start_net(state);

	assert_int_equal(cli(f, (const char *const[]){"net-echo", "--ip", "10.1.2.3", "--seconds",
						      "1", NULL}),
			 1);
	expect_out(f, "timed out");
	assert_int_equal(cli(f, (const char *const[]){"net-echo", NULL}), 2);
}

static void test_net_bench_tx(void **state)
{
	struct fixture *f = start_net(state);

	assert_int_equal(cli(f, (const char *const[]){"--json", "net-bench", "--mode", "tx",
						      "--size", "128", "--seconds", "1", NULL}),
			 0);
	expect_out(f, "\"packets_per_s\":");
	assert_true(f->n_frames > 0);
	{
		const uint8_t *e = f->frames[0].data, *ip = e + 14;

		assert_int_equal(f->frames[0].len, 128);
		assert_memory_equal(e + 6, guest_mac, 6);
		assert_int_equal(csum(0, ip, 20), 0);
		assert_int_equal(csum(pseudo(ip, 17, 128 - 34), ip + 20, 128 - 34), 0);
	}
	/* TSO needs HOST_TSO4, which a device on a socket does not offer */
	assert_int_equal(cli(f, (const char *const[]){"net-bench", "--mode", "tx", "--tso",
						      "--seconds", "1", NULL}),
			 1);
	expect_out(f, "HOST_TSO4");
}

/* HOST_TSO4 and the header as the driver wrote it: the fake's */
static void test_net_bench_tso(void **state)
{
	struct fixture *f =
		start_fake(state, 1, F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4), FAKE_STREAM);
	struct fakedev *d = &f->env.dev;
	struct virtio_net_hdr_v1 h;

	fake_env_start(&f->env, false);
	assert_int_equal(cli(f, (const char *const[]){"net-bench", "--mode", "tx", "--tso",
						      "--seconds", "1", NULL}),
			 0);
	fake_lock(d);
	memcpy(&h, d->last_tx_hdr, sizeof(h));
	assert_int_equal(d->last_tx_len, 12 + 14 + 65535);
	fake_unlock(d);
	assert_int_equal(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	assert_int_equal(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(le16toh(h.gso_size), 1448);
	assert_int_equal(le16toh(h.hdr_len), 54);
	assert_int_equal(le16toh(h.csum_start), 34);
	assert_int_equal(le16toh(h.csum_offset), 16);
}

static void test_net_bench_rx(void **state)
{
	struct fixture *f = start_net(state);
	uint8_t frame[600];
	struct child c;

	memset(frame, 0xab, sizeof(frame));
	c = cli_start(f, (const char *const[]){"--json", "net-bench", "--mode", "rx", "--seconds",
					       "1", "--min-frames", "10", NULL});
	for (int i = 0; i < 10; i++)
		inject_frame(f, frame, sizeof(frame));
	assert_int_equal(cli_finish(f, &c), 0);
	expect_out(f, "\"frames\":10,");
	expect_out(f, "\"bytes\":6000,");
	/* and too few is a failure */
	assert_int_equal(
		cli(f, (const char *const[]){"net-bench", "--mode", "rx", "--seconds", "1", NULL}),
		1);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_usage, teardown),
		cmocka_unit_test_teardown(test_bad_device, teardown),
		cmocka_unit_test_teardown(test_reg_bench, teardown),
		cmocka_unit_test_teardown(test_blk_verify, teardown),
		cmocka_unit_test_teardown(test_blk_verify_detects_corruption, teardown),
		cmocka_unit_test_teardown(test_blk_readonly, teardown),
		cmocka_unit_test_teardown(test_blk_readonly_expected_but_writable, teardown),
		cmocka_unit_test_teardown(test_blk_bench, teardown),
		cmocka_unit_test_teardown(test_console_send, teardown),
		cmocka_unit_test_teardown(test_console_recv, teardown),
		cmocka_unit_test_teardown(test_console_echo, teardown),
		cmocka_unit_test_teardown(test_net_echo, teardown),
		cmocka_unit_test_teardown(test_net_echo_merged, teardown),
		cmocka_unit_test_teardown(test_net_echo_timeout, teardown),
		cmocka_unit_test_teardown(test_net_bench_tx, teardown),
		cmocka_unit_test_teardown(test_net_bench_tso, teardown),
		cmocka_unit_test_teardown(test_net_bench_rx, teardown),
	};

	sim_harness_init(argc, argv);
	if (!vbackend_init(argc, argv)) {
		printf("1..0 # SKIP set HVISOR_VIRTIOD or pass the hvisor-virtiod path\n");
		return 77;
	}
	cli_path = getenv("HVSIM_GUEST");
	if ((!cli_path || !*cli_path) && argc > 2)
		cli_path = argv[2];
	if (!cli_path || !*cli_path) {
		printf("1..0 # SKIP set HVSIM_GUEST or pass the hvsim-guest path\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
