// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvsim-guest, the workloads CLI, run as a child process against the fake
 * device of fakedev.c (a RAM-disk virtio-blk, a console and a net device
 * whose traffic the test injects and captures): exit codes, data checks
 * that pass on a good device and fail on a corrupting one, JSON output.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define F(bit)	      (UINT64_C(1) << (bit))
#define CLI_TIMEOUT_S 60
#define OUT_MAX	      65536

static const char *cli_path;

struct child {
	pid_t pid;
	int out; /* its stdout + stderr */
};

struct fixture {
	struct fake_env env;
	char out[OUT_MAX];
};

static int teardown(void **state)
{
	struct fixture *f = *state;

	fake_env_stop(&f->env);
	free(f);
	return 0;
}

static struct fixture *start(uint32_t id, uint64_t features, enum fake_mode mode)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
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
	argv[n++] = f->env.sim.sock;
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

/* Collects its output and exit status (-1: killed after the timeout). */
static int cli_finish(struct fixture *f, struct child *c)
{
	size_t len = 0;
	int status;

	for (;;) {
		struct pollfd p = {.fd = c->out, .events = POLLIN};
		ssize_t k;

		if (poll(&p, 1, CLI_TIMEOUT_S * 1000) <= 0) {
			kill(c->pid, SIGKILL);
			break;
		}
		k = read(c->out, f->out + len, sizeof(f->out) - 1 - len);
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	f->out[len] = '\0';
	close(c->out);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
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

/* --- general ------------------------------------------------------------------------- */

static void test_usage(void **state)
{
	struct fixture *f = start(42, 0, FAKE_MARK_USED);

	*state = f;
	fake_env_start(&f->env, false);
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

static void test_bad_device(void **state)
{
	struct fixture *f = start(42, 0, FAKE_MARK_USED);

	*state = f;
	f->env.dev.magic = 0x1234;
	fake_env_start(&f->env, false);
	assert_int_equal(cli(f, (const char *const[]){"reg-bench", NULL}), 1);
	expect_out(f, "no virtio-mmio device");
}

static void test_reg_bench(void **state)
{
	struct fixture *f = start(42, 0, FAKE_MARK_USED);

	*state = f;
	fake_env_start(&f->env, false);
	assert_int_equal(
		cli(f, (const char *const[]){"--json", "reg-bench", "--count", "300", NULL}), 0);
	expect_out(f, "\"reads\":300");
	expect_out(f, "\"vendor_id\":1213614419");
	expect_out(f, "\"p99_us\":");
	expect_out(f, "\"ok\":true");
}

/* --- blk ------------------------------------------------------------------------------- */

#define DISK_SECTORS 8192 /* 4 MiB */

static struct fixture *start_blk(uint64_t features)
{
	struct fixture *f = start(2, features | F(VIRTIO_BLK_F_FLUSH), FAKE_BLK);
	struct fakedev *d = &f->env.dev;
	uint64_t cap = htole64(DISK_SECTORS);

	d->disk_sectors = DISK_SECTORS;
	d->disk = calloc(DISK_SECTORS, 512);
	assert_non_null(d->disk);
	memcpy(d->config, &cap, 8);
	d->config_len = 24;
	strcpy(d->serial, "fake-disk-0001");
	d->num_max = 128;
	return f;
}

static void test_blk_verify(void **state)
{
	struct fixture *f = start_blk(F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_RING_F_INDIRECT_DESC));

	*state = f;
	fake_env_start(&f->env, false);
	assert_int_equal(cli(f, (const char *const[]){"blk-verify", "--count", "300", "--qd", "8",
						      "--seed", "7", NULL}),
			 0);
	expect_out(f, "serial: \"fake-disk-0001\"");
	expect_out(f, "0 sectors differ");
	expect_out(f, "flush: OK");
	expect_out(f, "event_idx on, indirect on");
	/* the data really is on the disk: sector content is not all zero */
	{
		static const uint8_t zero[512];
		unsigned nonzero = 0;

		for (unsigned s = 0; s < DISK_SECTORS; s++)
			nonzero += memcmp(f->env.dev.disk + (size_t)s * 512, zero, 512) != 0;
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

static void test_blk_verify_detects_corruption(void **state)
{
	struct fixture *f = start_blk(0);

	*state = f;
	f->env.dev.corrupt_reads = true;
	fake_env_start(&f->env, false);
	assert_int_equal(
		cli(f, (const char *const[]){"--json", "blk-verify", "--count", "20", NULL}), 1);
	expect_out(f, "\"ok\":false");
	expect_out(f, "differs from write generation");
}

static void test_blk_readonly(void **state)
{
	struct fixture *f = start_blk(F(VIRTIO_BLK_F_RO));

	*state = f;
	fake_env_start(&f->env, false);
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
	struct fixture *f = start_blk(0);

	*state = f;
	fake_env_start(&f->env, false);
	assert_int_equal(cli(f, (const char *const[]){"blk-verify", "--expect-readonly", NULL}), 1);
	expect_out(f, "does not offer VIRTIO_BLK_F_RO");
}

static void test_blk_bench(void **state)
{
	struct fixture *f = start_blk(F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_RING_F_INDIRECT_DESC));

	*state = f;
	fake_env_start(&f->env, false);
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

static bool cond_rx_posted(struct fakedev *d, void *arg)
{
	const uint16_t *avail = fake_host(d, d->q[0].avail, 4);

	return d->q[0].ready && avail && le16toh(avail[1]) > 0 &&
	       (d->status & VIRTIO_CONFIG_S_DRIVER_OK);
}

static bool cond_tx_len(struct fakedev *d, void *arg)
{
	return d->tx_len >= *(size_t *)arg;
}

static void test_console_send(void **state)
{
	struct fixture *f = start(3, 0, FAKE_STREAM);
	uint8_t *want;

	*state = f;
	fake_env_start(&f->env, false);
	assert_int_equal(cli(f, (const char *const[]){"console-send", "--bytes", "300000", "--seed",
						      "5", NULL}),
			 0);
	want = malloc(300000);
	wl_pattern_fill(5, 0, want, 300000);
	fake_lock(&f->env.dev);
	assert_int_equal(f->env.dev.tx_len, 300000);
	assert_memory_equal(f->env.dev.tx_stream, want, 300000);
	fake_unlock(&f->env.dev);
	free(want);
}

static void test_console_recv(void **state)
{
	struct fixture *f = start(3, 0, FAKE_STREAM);
	uint8_t *data = malloc(100000);
	struct child c;

	*state = f;
	fake_env_start(&f->env, false);
	wl_pattern_fill(9, 0, data, 100000);
	c = cli_start(
		f, (const char *const[]){"console-recv", "--bytes", "100000", "--seed", "9", NULL});
	assert_true(fake_wait(&f->env.dev, cond_rx_posted, NULL, 10000));
	/* in pieces, as a pty would deliver them */
	for (size_t off = 0; off < 100000; off += 7000)
		fake_inject(&f->env.dev, data + off, MIN((size_t)7000, 100000 - off));
	assert_int_equal(cli_finish(f, &c), 0);
	expect_out(f, "pattern OK");

	/* one wrong byte fails it */
	data[4321] ^= 0x40;
	c = cli_start(
		f, (const char *const[]){"console-recv", "--bytes", "100000", "--seed", "9", NULL});
	assert_true(fake_wait(&f->env.dev, cond_rx_posted, NULL, 10000));
	fake_inject(&f->env.dev, data, 100000);
	assert_int_equal(cli_finish(f, &c), 1);
	expect_out(f, "byte 4321 is");
	free(data);
}

static void test_console_echo(void **state)
{
	struct fixture *f = start(3, 0, FAKE_STREAM);
	uint8_t data[50000];
	size_t want = sizeof(data);
	struct child c;

	*state = f;
	fake_env_start(&f->env, false);
	wl_pattern_fill(3, 0, data, sizeof(data));
	c = cli_start(f, (const char *const[]){"console-echo", "--bytes", "50000", NULL});
	assert_true(fake_wait(&f->env.dev, cond_rx_posted, NULL, 10000));
	for (size_t off = 0; off < sizeof(data); off += 5000)
		fake_inject(&f->env.dev, data + off, 5000);
	assert_int_equal(cli_finish(f, &c), 0);
	assert_true(fake_wait(&f->env.dev, cond_tx_len, &want, 1000));
	fake_lock(&f->env.dev);
	assert_int_equal(f->env.dev.tx_len, sizeof(data));
	assert_memory_equal(f->env.dev.tx_stream, data, sizeof(data));
	fake_unlock(&f->env.dev);
	/* without --bytes it runs for --seconds and succeeds */
	assert_int_equal(cli(f, (const char *const[]){"console-echo", "--seconds", "1", NULL}), 0);
	/* with --bytes that never come, it fails */
	assert_int_equal(cli(f, (const char *const[]){"console-echo", "--bytes", "10", "--seconds",
						      "1", NULL}),
			 1);
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

static bool cond_frames(struct fakedev *d, void *arg)
{
	return d->n_tx_frames >= *(unsigned *)arg;
}

static void net_echo(void **state, bool split)
{
	struct fixture *f = start(1,
				  F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) |
					  F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_GUEST_CSUM),
				  FAKE_STREAM);
	struct fakedev *d = &f->env.dev;
	uint8_t frame[256], l4[64];
	unsigned want = 3;
	struct child c;
	size_t len;

	*state = f;
	d->split_rx = split;
	memcpy(d->config, guest_mac, 6);
	d->config[6] = VIRTIO_NET_S_LINK_UP;
	d->config_len = 12;
	fake_env_start(&f->env, false);
	c = cli_start(f, (const char *const[]){"net-echo", "--ip", "10.1.2.3", "--count", "2",
					       "--seconds", "20", NULL});
	assert_true(fake_wait(d, cond_rx_posted, NULL, 10000));

	/* noise first: a frame for someone else, a runt, an IPv4 frame for another host */
	memset(frame, 0, sizeof(frame));
	memcpy(frame, peer_mac, 6);
	fake_inject(d, frame, 60);
	fake_inject(d, frame, 5);
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
	fake_inject(d, frame, 42);
	/* ICMP echo request, id 0x1234 seq 1, 32 bytes of data */
	memset(l4, 0, sizeof(l4));
	l4[0] = 8;
	put16(l4 + 4, 0x1234);
	put16(l4 + 6, 1);
	for (int i = 8; i < 40; i++)
		l4[i] = (uint8_t)i;
	put16(l4 + 2, csum(0, l4, 40));
	len = ipv4_frame(frame, 1, l4, 40);
	fake_inject(d, frame, len);
	/* UDP 10.1.2.1:4000 -> 10.1.2.3:7, "hello" */
	memset(l4, 0, sizeof(l4));
	put16(l4, 4000);
	put16(l4 + 2, 7);
	put16(l4 + 4, 13);
	memcpy(l4 + 8, "hello", 5);
	len = ipv4_frame(frame, 17, l4, 13);
	put16(frame + 34 + 6, csum(pseudo(frame + 14, 17, 13), frame + 34, 13));
	fake_inject(d, frame, len);

	assert_int_equal(cli_finish(f, &c), 0);
	assert_true(fake_wait(d, cond_frames, &want, 1000));
	fake_lock(d);
	assert_int_equal(d->n_tx_frames, 3);
	{
		/* ARP reply to the asker */
		const uint8_t *a = d->tx_frames[0].data;

		assert_true(d->tx_frames[0].len >= 42);
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
		const uint8_t *e = d->tx_frames[1].data, *ip = e + 14;

		assert_int_equal(d->tx_frames[1].len, 14 + 20 + 40);
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
		const uint8_t *e = d->tx_frames[2].data, *ip = e + 14, *udp = ip + 20;

		assert_int_equal(d->tx_frames[2].len, 14 + 20 + 13);
		assert_int_equal(get16(udp), 7);
		assert_int_equal(get16(udp + 2), 4000);
		assert_memory_equal(udp + 8, "hello", 5);
		assert_int_equal(csum(pseudo(ip, 17, 13), udp, 13), 0);
	}
	fake_unlock(d);
	expect_out(f, "answered 1 ICMP, 1 UDP, 1 ARP");
	expect_out(f, "(0 malformed, 2 ignored, 0 bad checksums)");
}

static void test_net_echo(void **state)
{
	net_echo(state, false);
}

/* mergeable receive buffers: every frame spans two buffers */
static void test_net_echo_merged(void **state)
{
	net_echo(state, true);
}

static void test_net_echo_timeout(void **state)
{
	struct fixture *f = start(1, F(VIRTIO_NET_F_MAC), FAKE_STREAM);

	*state = f;
	f->env.dev.config_len = 6;
	fake_env_start(&f->env, false);
	assert_int_equal(cli(f, (const char *const[]){"net-echo", "--ip", "10.1.2.3", "--seconds",
						      "1", NULL}),
			 1);
	expect_out(f, "timed out");
	assert_int_equal(cli(f, (const char *const[]){"net-echo", NULL}), 2);
}

static void test_net_bench_tx(void **state)
{
	struct fixture *f = start(1, F(VIRTIO_NET_F_MAC) | F(VIRTIO_RING_F_EVENT_IDX), FAKE_STREAM);
	struct fakedev *d = &f->env.dev;

	*state = f;
	memcpy(d->config, guest_mac, 6);
	d->config_len = 6;
	fake_env_start(&f->env, false);
	assert_int_equal(cli(f, (const char *const[]){"--json", "net-bench", "--mode", "tx",
						      "--size", "128", "--seconds", "1", NULL}),
			 0);
	expect_out(f, "\"packets_per_s\":");
	fake_lock(d);
	assert_true(d->n_tx_frames > 0);
	{
		const uint8_t *e = d->tx_frames[0].data, *ip = e + 14;

		assert_int_equal(d->tx_frames[0].len, 128);
		assert_memory_equal(e + 6, guest_mac, 6);
		assert_int_equal(csum(0, ip, 20), 0);
		assert_int_equal(csum(pseudo(ip, 17, 128 - 34), ip + 20, 128 - 34), 0);
	}
	fake_unlock(d);
	/* TSO needs HOST_TSO4 */
	assert_int_equal(cli(f, (const char *const[]){"net-bench", "--mode", "tx", "--tso",
						      "--seconds", "1", NULL}),
			 1);
	expect_out(f, "HOST_TSO4");
}

static void test_net_bench_tso(void **state)
{
	struct fixture *f = start(1, F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4), FAKE_STREAM);
	struct fakedev *d = &f->env.dev;
	struct virtio_net_hdr_v1 h;

	*state = f;
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
	struct fixture *f = start(1, F(VIRTIO_NET_F_MRG_RXBUF), FAKE_STREAM);
	uint8_t frame[600];
	struct child c;

	*state = f;
	f->env.dev.split_rx = true;
	fake_env_start(&f->env, false);
	memset(frame, 0xab, sizeof(frame));
	c = cli_start(f, (const char *const[]){"--json", "net-bench", "--mode", "rx", "--seconds",
					       "1", "--min-frames", "10", NULL});
	assert_true(fake_wait(&f->env.dev, cond_rx_posted, NULL, 10000));
	for (int i = 0; i < 10; i++)
		fake_inject(&f->env.dev, frame, sizeof(frame));
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
	cli_path = getenv("HVSIM_GUEST");
	if ((!cli_path || !*cli_path) && argc > 2)
		cli_path = argv[2];
	if (!cli_path || !*cli_path) {
		printf("1..0 # SKIP set HVSIM_GUEST or pass the hvsim-guest path\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
