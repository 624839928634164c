// SPDX-License-Identifier: GPL-2.0-only
/* virtio-net through the whole stack: hvctl virtio add opens the tap with
 * the caller's rights -> hvisord checks and keeps it -> hvisor-virtiod. Everything runs in a
 * network namespace the test creates for itself (unshare(CLONE_NEWNET) before anything is started,
 * so hvisor-sim, hvisord, hvisor-virtiod, the taps and ping live in it), and only 192.0.2.0/24
 * (TEST-NET-1) is used there:
 *  - the MAC of the spec and the link status in the guest's config space;
 *  - frames both ways, byte for byte, between this process as the guest
 *    (libhvguest) and an AF_PACKET socket on the tap;
 *  - ping from the namespace answered by hvsim-guest net-echo, UDP echoed,
 *    and what crossed the tap captured and checked;
 *  - the taps: created by hvctl (as root) or beforehand (`ip tuntap add`),
 *    one device per tap, gone or kept when the device is removed; a member
 *    of group hvisor gets only what the kernel lets that user have;
 *  - hvctl virtio list (table and --json) with the tap and the counters.
 * Skipped unless root with network namespaces and /dev/net/tun. */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "util.h"

#define NET_ADDR  0xa003600
#define NET_IRQ	  77
#define NET2_ADDR 0xa003400 /* a second device, same zone */
#define NET2_IRQ  79
#define TAP	  "hvtap0"
#define TAP2	  "hvtap1"
#define MAC_STR	  "02:00:00:00:00:02"
#define HOST_IP	  "192.0.2.1"
#define GUEST_IP  "192.0.2.2"
#define ETH_TEST  0x88b5 /* IEEE 802 local experimental: no stack takes it */
#define UDP_PORT  7

static const uint8_t guest_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
static const char *ping_path;

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* hvctl virtio add 1 net,...; asserts it is served. */
static void add_net(struct ih *h, uint64_t addr, unsigned irq, const char *tap, const char *extra)
{
	char spec[256], want[128];
	struct ih_out o;

	snprintf(spec, sizeof(spec), "net,addr=0x%llx,len=0x200,irq=%u,tap=%s%s",
		 (unsigned long long)addr, irq, tap, extra);
	if (ih_hvctl(h, &o, "virtio", "add", "1", spec, NULL) != 0)
		fail_msg("hvctl virtio add 1 %s: %s", spec, o.err);
	snprintf(want, sizeof(want), "Zone 1: net device at 0x%llx (irq %u, %s) running.\n",
		 (unsigned long long)addr, irq, tap);
	if (!strstr(o.out, want))
		fail_msg("unexpected reply to virtio add: %s", o.out);
	ih_out_free(&o);
}

/* An AF_PACKET socket on the interface: every frame in both directions. */
static int packet_socket(const char *ifname)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)ih_if_index(ifname),
	};
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));

	assert_true(fd >= 0);
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return fd;
}

/* The next frame on the packet socket within timeout_ms: its length (and
 * direction in *ret_type), or -ETIMEDOUT. */
static ssize_t packet_recv(int fd, uint8_t *buf, size_t size, int *ret_type, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		struct sockaddr_ll sll;
		socklen_t sl = sizeof(sll);
		int64_t left = deadline - mono_ms();
		ssize_t k;

		k = recvfrom(fd, buf, size, MSG_TRUNC, (struct sockaddr *)&sll, &sl);
		if (k >= 0) {
			assert_true((size_t)k <= size);
			*ret_type = sll.sll_pkttype;
			return k;
		}
		assert_true(errno == EAGAIN || errno == EINTR);
		if (left <= 0)
			return -ETIMEDOUT;
		poll(&p, 1, (int)left);
	}
}

/* An Ethernet frame of ETH_TEST with a payload seeded by `seed`. */
static void make_frame(uint8_t *f, size_t len, const uint8_t dst[6], const uint8_t src[6],
		       const char *seed)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETH_TEST >> 8;
	f[13] = ETH_TEST & 0xff;
	ih_fill(f + 14, len - 14, seed);
}

/* ---- this process as the guest's virtio-net driver --------------------------- */

#define GN_RX_BUFS 16
#define GN_BUF	   2048
#define GN_HDR	   ((uint32_t)sizeof(struct virtio_net_hdr_v1))

struct gnet {
	struct hvg_transport *t;
	struct hvg_dev *d;
	struct hvg_vq *rx, *tx;
	uint64_t offered, negotiated;
	uint64_t rx_gpa, tx_gpa;
	uint8_t *rx_buf, *tx_buf;
};

static void gnet_open(const struct ih *h, uint64_t addr, unsigned irq, uint64_t wanted,
		      struct gnet *g)
{
	int r;

	memset(g, 0, sizeof(*g));
	r = hvg_sim_open(h->sim.sock, 1, -1, 0, 0, &g->t);
	if (r < 0)
		fail_msg("cannot attach to zone 1 as its guest: %s", strerror(-r));
	r = hvg_dev_probe(g->t, addr, irq, &g->d);
	if (r < 0)
		fail_msg("no virtio device at 0x%llx: %s", (unsigned long long)addr, strerror(-r));
	assert_int_equal(hvg_dev_id(g->d), VIRTIO_ID_NET);
	g->offered = hvg_dev_features(g->d);
	assert_int_equal(hvg_dev_negotiate(g->d, wanted, &g->negotiated), 0);
}

/* Queues up, RX buffers posted, DRIVER_OK. */
static void gnet_start(struct gnet *g)
{
	assert_int_equal(hvg_vq_setup(g->d, 0, 0, &g->rx), 0);
	assert_int_equal(hvg_vq_setup(g->d, 1, 0, &g->tx), 0);
	g->rx_gpa = hvg_alloc(g->t, GN_RX_BUFS * GN_BUF, 4096);
	g->tx_gpa = hvg_alloc(g->t, GN_BUF, 4096);
	assert_true(g->rx_gpa && g->tx_gpa);
	g->rx_buf = hvg_ptr(g->t, g->rx_gpa, GN_RX_BUFS * GN_BUF);
	g->tx_buf = hvg_ptr(g->t, g->tx_gpa, GN_BUF);
	assert_true(g->rx_buf && g->tx_buf);
	assert_int_equal(hvg_dev_driver_ok(g->d), 0);
	for (uintptr_t i = 0; i < GN_RX_BUFS; i++) {
		struct hvg_buf b = {.gpa = g->rx_gpa + i * GN_BUF, .len = GN_BUF, .writable = true};

		assert_int_equal(hvg_vq_add(g->rx, &b, 1, false, (void *)(i + 1)), 0);
	}
	hvg_vq_kick(g->rx);
}

static void gnet_close(struct gnet *g)
{
	if (g->d) {
		(void)hvg_dev_reset(g->d);
		hvg_dev_free(g->d);
	}
	if (g->t)
		hvg_transport_close(g->t);
	memset(g, 0, sizeof(*g));
}

/* Sends one frame (header all zero) and waits until the device took it. */
static void gnet_send(struct gnet *g, const uint8_t *frame, size_t len)
{
	struct hvg_buf b = {.gpa = g->tx_gpa, .len = GN_HDR + (uint32_t)len};
	int64_t deadline = mono_ms() + IH_TIMEOUT_MS;
	void *token;
	uint32_t used;

	assert_true(GN_HDR + len <= GN_BUF);
	memset(g->tx_buf, 0, GN_HDR);
	memcpy(g->tx_buf + GN_HDR, frame, len);
	assert_int_equal(hvg_vq_add(g->tx, &b, 1, false, (void *)1), 0);
	hvg_vq_kick(g->tx);
	while (hvg_vq_get(g->tx, &token, &used) != 1) {
		if (mono_ms() > deadline)
			fail_msg("the device did not take a frame of %zu bytes", len);
		assert_true(hvg_dev_wait(g->d, 20, NULL) >= 0);
	}
	assert_ptr_equal(token, (void *)1);
}

/* The next received frame (header in *hdr, frame into buf): its length,
 * or -ETIMEDOUT. The buffer is posted again. */
static ssize_t gnet_recv(struct gnet *g, struct virtio_net_hdr_v1 *hdr, uint8_t *buf, size_t size,
			 int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	void *token;
	uint32_t used;
	uintptr_t i;
	struct hvg_buf b;

	while (hvg_vq_get(g->rx, &token, &used) != 1) {
		if (mono_ms() > deadline)
			return -ETIMEDOUT;
		assert_true(hvg_dev_wait(g->d, 20, NULL) >= 0);
	}
	i = (uintptr_t)token - 1;
	assert_true(i < GN_RX_BUFS);
	if (used < GN_HDR || used > GN_BUF)
		fail_msg("used length %u of an RX buffer of %u bytes", used, GN_BUF);
	memcpy(hdr, g->rx_buf + i * GN_BUF, GN_HDR);
	assert_true(used - GN_HDR <= size);
	memcpy(buf, g->rx_buf + i * GN_BUF + GN_HDR, used - GN_HDR);
	b = (struct hvg_buf){.gpa = g->rx_gpa + i * GN_BUF, .len = GN_BUF, .writable = true};
	assert_int_equal(hvg_vq_add(g->rx, &b, 1, false, token), 0);
	hvg_vq_kick(g->rx);
	return (ssize_t)(used - GN_HDR);
}

/* ---- tests ------------------------------------------------------------------- */

/* A tap hvisord creates; this process as the guest: the MAC and link
 * status in the config space, frames of several sizes both ways compared
 * byte for byte with what an AF_PACKET socket on the tap sees and sends,
 * the device's counters. A device without a mac does not offer
 * VIRTIO_NET_F_MAC. */
static void test_net_config_and_frames(void **state)
{
	static const size_t sizes[] = {60, 333, 1514};
	static const uint8_t host_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x99};
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	struct ih *h = ih_start(NULL);
	uint8_t frame[GN_BUF], got[GN_BUF], mac[6];
	unsigned others = 0;
	json_object *dev, *v;
	struct gnet g;
	uint16_t status;
	int ps;

	ih_zone_start(h, "zone1");
	/* hvisord opens the tap and creates it: it does not exist before */
	assert_int_equal(ih_if_index(TAP), 0);
	add_net(h, NET_ADDR, NET_IRQ, TAP, ",mac=" MAC_STR);
	assert_true(ih_if_index(TAP) > 0);
	ih_if_up(TAP, NULL, 0); /* no address: the stack sends nothing on it */
	ps = packet_socket(TAP);

	gnet_open(h, NET_ADDR, NET_IRQ, (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS),
		  &g);
	assert_true(g.offered & (1ull << VIRTIO_F_VERSION_1));
	assert_true(g.offered & (1ull << VIRTIO_NET_F_MAC));
	assert_true(g.offered & (1ull << VIRTIO_NET_F_STATUS));
	assert_true(g.negotiated & (1ull << VIRTIO_NET_F_MAC));
	/* the MAC of the spec, the link up */
	assert_int_equal(hvg_dev_config_read(g.d, offsetof(struct virtio_net_config, mac), mac, 6),
			 0);
	assert_memory_equal(mac, guest_mac, 6);
	assert_int_equal(
		hvg_dev_config_read(g.d, offsetof(struct virtio_net_config, status), &status, 2),
		0);
	assert_true(le16toh(status) & VIRTIO_NET_S_LINK_UP);
	gnet_start(&g);

	/* guest -> host: exactly the frame, on the tap, as received */
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		char seed[32];
		ssize_t k;
		int type;

		snprintf(seed, sizeof(seed), "to host %zu", i);
		make_frame(frame, sizes[i], bcast, guest_mac, seed);
		gnet_send(&g, frame, sizes[i]);
		do {
			k = packet_recv(ps, got, sizeof(got), &type, IH_TIMEOUT_MS);
			if (k == -ETIMEDOUT)
				fail_msg("frame %zu (%zu bytes) did not reach the tap", i,
					 sizes[i]);
		} while (k < 14 || get16(got + 12) != ETH_TEST);
		assert_int_not_equal(type, PACKET_OUTGOING);
		assert_int_equal(k, (ssize_t)sizes[i]);
		assert_memory_equal(got, frame, sizes[i]);
	}

	/* host -> guest: exactly the frame, after a header that claims nothing */
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct virtio_net_hdr_v1 hdr;
		char seed[32];
		ssize_t k;

		snprintf(seed, sizeof(seed), "to guest %zu", i);
		make_frame(frame, sizes[i], guest_mac, host_mac, seed);
		assert_int_equal(send(ps, frame, sizes[i], 0), (ssize_t)sizes[i]);
		for (;;) {
			k = gnet_recv(&g, &hdr, got, sizeof(got), IH_TIMEOUT_MS);
			if (k == -ETIMEDOUT)
				fail_msg("frame %zu (%zu bytes) did not reach the guest", i,
					 sizes[i]);
			if (k >= 14 && get16(got + 12) == ETH_TEST)
				break;
			others++; /* something of the namespace's own */
		}
		assert_int_equal(k, (ssize_t)sizes[i]);
		assert_memory_equal(got, frame, sizes[i]);
		assert_int_equal(hdr.flags, 0);
		assert_int_equal(hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		assert_int_equal(le16toh(hdr.num_buffers), 1);
	}

	/* hvisord's view */
	dev = ih_virtio_device(h, 1, NET_ADDR);
	assert_non_null(dev);
	assert_true(json_object_object_get_ex(dev, "type", &v));
	assert_string_equal(json_object_get_string(v), "net");
	assert_true(json_object_object_get_ex(dev, "backing", &v));
	assert_string_equal(json_object_get_string(v), TAP);
	assert_true(json_object_object_get_ex(dev, "state", &v));
	assert_string_equal(json_object_get_string(v), "running");
	assert_true(json_object_object_get_ex(dev, "mac", &v));
	assert_string_equal(json_object_get_string(v), MAC_STR);
	assert_true(json_object_object_get_ex(dev, "link", &v));
	assert_string_equal(json_object_get_string(v), "up");
	assert_true(json_object_object_get_ex(dev, "driver_status", &v));
	assert_true(json_object_get_int64(v) & 4); /* DRIVER_OK */
	assert_true(json_object_object_get_ex(dev, "tx_frames", &v));
	assert_int_equal(json_object_get_int64(v), ARRAY_SIZE(sizes));
	assert_true(json_object_object_get_ex(dev, "rx_frames", &v));
	assert_int_equal(json_object_get_int64(v), ARRAY_SIZE(sizes) + others);
	assert_true(json_object_object_get_ex(dev, "requests", &v));
	assert_true(json_object_get_int64(v) >= (int64_t)(2 * ARRAY_SIZE(sizes)));
	assert_true(json_object_object_get_ex(dev, "errors", &v));
	assert_int_equal(json_object_get_int64(v), 0);
	assert_true(json_object_object_get_ex(dev, "tx_dropped", &v));
	assert_int_equal(json_object_get_int64(v), 0);
	json_object_put(dev);
	gnet_close(&g);
	close(ps);

	/* without a mac the guest's driver picks one: no VIRTIO_NET_F_MAC */
	add_net(h, NET2_ADDR, NET2_IRQ, TAP2, "");
	gnet_open(h, NET2_ADDR, NET2_IRQ, 1ull << VIRTIO_NET_F_STATUS, &g);
	assert_false(g.offered & (1ull << VIRTIO_NET_F_MAC));
	assert_true(g.offered & (1ull << VIRTIO_NET_F_STATUS));
	assert_int_equal(
		hvg_dev_config_read(g.d, offsetof(struct virtio_net_config, status), &status, 2),
		0);
	assert_true(le16toh(status) & VIRTIO_NET_S_LINK_UP);
	gnet_close(&g);
	ih_stop(h);
}

/* Reads a background process's stdout until EOF (it has exited). */
static char *read_all(int fd)
{
	size_t len = 0, cap = 4096;
	char *s = malloc(cap);
	ssize_t k;

	assert_non_null(s);
	while ((k = read(fd, s + len, cap - len - 1)) > 0) {
		len += (size_t)k;
		if (cap - len < 2) {
			cap *= 2;
			s = realloc(s, cap);
			assert_non_null(s);
		}
	}
	s[len] = '\0';
	close(fd);
	return s;
}

/* Waits until the guest's driver has set DRIVER_OK on the device. */
static void wait_driver_ok(const struct ih *h, uint64_t addr)
{
	int64_t deadline = mono_ms() + IH_TIMEOUT_MS;

	while (!(ih_virtio_counter(h, 1, addr, "driver_status") & 4)) {
		if (mono_ms() > deadline)
			fail_msg("the guest's driver did not start the device");
		poll(NULL, 0, 20);
	}
}

/* One UDP datagram of `len` bytes to the guest and its echo back. */
static void udp_echo(int s, size_t len)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(UDP_PORT)}, from;
	uint8_t out[1500], in[1600];
	char seed[32];
	socklen_t fl = sizeof(from);
	struct pollfd p = {.fd = s, .events = POLLIN};
	ssize_t k;

	assert_true(len <= sizeof(out));
	snprintf(seed, sizeof(seed), "udp %zu", len);
	ih_fill(out, len, seed);
	assert_int_equal(inet_pton(AF_INET, GUEST_IP, &to.sin_addr), 1);
	assert_int_equal(sendto(s, out, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
	if (poll(&p, 1, IH_TIMEOUT_MS) != 1)
		fail_msg("no echo of a UDP datagram of %zu bytes", len);
	k = recvfrom(s, in, sizeof(in), 0, (struct sockaddr *)&from, &fl);
	assert_int_equal(k, (ssize_t)len);
	assert_memory_equal(in, out, len);
	assert_int_equal(from.sin_addr.s_addr, to.sin_addr.s_addr);
	assert_int_equal(ntohs(from.sin_port), UDP_PORT);
}

struct capture {
	unsigned arp_replies, icmp_replies, udp_replies; /* guest -> host */
	unsigned icmp_requests, udp_requests;		 /* host -> guest */
	unsigned from_guest, foreign_src;
};

/* Classifies what crossed the tap during the test. */
static void capture_read(int ps, struct capture *c)
{
	uint8_t f[2048], host_ip[4], guest_ip[4];
	ssize_t k;
	int type;

	memset(c, 0, sizeof(*c));
	assert_int_equal(inet_pton(AF_INET, HOST_IP, host_ip), 1);
	assert_int_equal(inet_pton(AF_INET, GUEST_IP, guest_ip), 1);
	while ((k = packet_recv(ps, f, sizeof(f), &type, 0)) >= 0) {
		bool out = type == PACKET_OUTGOING; /* the namespace's stack -> guest */
		const uint8_t *ip = f + 14;

		if (k < 14)
			continue;
		if (!out) {
			c->from_guest++;
			if (memcmp(f + 6, guest_mac, 6) != 0)
				c->foreign_src++;
		}
		if (get16(f + 12) == 0x0806 && k >= 42 && !out && get16(f + 20) == 2 &&
		    memcmp(f + 22, guest_mac, 6) == 0 && memcmp(f + 28, guest_ip, 4) == 0)
			c->arp_replies++;
		if (get16(f + 12) != 0x0800 || k < 34 + 8)
			continue;
		if (out && memcmp(f, guest_mac, 6) == 0 && memcmp(ip + 12, host_ip, 4) == 0 &&
		    memcmp(ip + 16, guest_ip, 4) == 0) {
			if (ip[9] == 1 && ip[20] == 8)
				c->icmp_requests++;
			if (ip[9] == 17 && get16(ip + 22) == UDP_PORT)
				c->udp_requests++;
		}
		if (!out && memcmp(ip + 12, guest_ip, 4) == 0 && memcmp(ip + 16, host_ip, 4) == 0) {
			if (ip[9] == 1 && ip[20] == 0)
				c->icmp_replies++;
			if (ip[9] == 17 && get16(ip + 20) == UDP_PORT)
				c->udp_replies++;
		}
	}
}

/* The scenario: a tap made beforehand (as `ip tuntap add` does)
 * with 192.0.2.1/24, hvsim-guest net-echo as 192.0.2.2 behind the device;
 * `ping -c 3 -W 2 192.0.2.2` from the namespace succeeds, UDP datagrams of
 * several sizes come back intact, the capture on the tap shows the ARP,
 * ICMP and UDP answers coming from the device's MAC, and hvctl virtio list
 * shows the device on its tap with its counters. */
static void test_net_ping(void **state)
{
	static const size_t udp_sizes[] = {1, 100, 1000, 1472};
	const char *ping_argv[] = {ping_path, "-c", "3", "-W", "2", GUEST_IP, NULL};
	struct ih *h;
	struct capture cap;
	json_object *res, *list, *devs, *dev = NULL;
	struct ih_out o;
	char count[16], *out;
	pid_t guest;
	int ps, gout, s;

	if (!ping_path)
		skip_because("no ping (Debian: iputils-ping)");
	h = ih_start(NULL);
	ih_zone_start(h, "zone1");
	ih_tap_create(TAP);
	ih_if_up(TAP, HOST_IP, 24);
	add_net(h, NET_ADDR, NET_IRQ, TAP, ",mac=" MAC_STR);
	ps = packet_socket(TAP);

	snprintf(count, sizeof(count), "%zu", 3 + ARRAY_SIZE(udp_sizes));
	guest = ih_guest_bg(h, &gout, 1, NET_ADDR, NET_IRQ, "--json", "net-echo", "--ip", GUEST_IP,
			    "--count", count, "--seconds", "60", NULL);
	wait_driver_ok(h, NET_ADDR);

	/* ping from the namespace */
	if (ih_run(h, NULL, &o, ping_argv) != 0)
		fail_msg("ping failed (%d):\n%s\n%s", o.code, o.out, o.err);
	if (!strstr(o.out, "3 packets transmitted, 3 received"))
		fail_msg("unexpected ping output:\n%s", o.out);
	ih_out_free(&o);

	/* UDP both ways, payloads compared */
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	{
		struct sockaddr_in me = {.sin_family = AF_INET};

		assert_int_equal(inet_pton(AF_INET, HOST_IP, &me.sin_addr), 1);
		assert_int_equal(bind(s, (struct sockaddr *)&me, sizeof(me)), 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(udp_sizes); i++)
		udp_echo(s, udp_sizes[i]);
	close(s);

	/* net-echo is done: it answered exactly that, from the config's MAC */
	assert_int_equal(ih_wait_bg(h, guest, IH_TIMEOUT_MS), 0);
	out = read_all(gout);
	res = json_tokener_parse(out);
	if (!res)
		fail_msg("net-echo printed no JSON: %s", out);
	assert_true(json_object_get_boolean(json_object_object_get(res, "ok")));
	assert_string_equal(ih_jstr(res, "mac"), MAC_STR);
	assert_true(json_object_get_boolean(json_object_object_get(res, "link_up")));
	assert_int_equal(ih_jint(res, "answered_icmp"), 3);
	assert_int_equal(ih_jint(res, "answered_udp"), ARRAY_SIZE(udp_sizes));
	assert_true(ih_jint(res, "answered_arp") >= 1);
	assert_int_equal(ih_jint(res, "bad_checksum"), 0);
	assert_int_equal(ih_jint(res, "rx_bad"), 0);
	json_object_put(res);
	free(out);

	/* what crossed the tap */
	capture_read(ps, &cap);
	close(ps);
	assert_int_equal(cap.icmp_requests, 3);
	assert_int_equal(cap.icmp_replies, 3);
	assert_int_equal(cap.udp_requests, ARRAY_SIZE(udp_sizes));
	assert_int_equal(cap.udp_replies, ARRAY_SIZE(udp_sizes));
	assert_true(cap.arp_replies >= 1);
	assert_int_equal(cap.foreign_src, 0);
	assert_true(cap.from_guest >= 3 + ARRAY_SIZE(udp_sizes) + 1);

	/* hvctl --json virtio list: the device, its tap, its counters */
	assert_int_equal(ih_hvctl(h, &o, "virtio", "list", "--json", NULL), 0);
	list = json_tokener_parse(o.out);
	assert_non_null(list);
	assert_true(json_object_object_get_ex(list, "devices", &devs));
	assert_int_equal(json_object_array_length(devs), 1);
	dev = json_object_array_get_idx(devs, 0);
	assert_int_equal(ih_jint(dev, "zone_id"), 1);
	assert_string_equal(ih_jstr(dev, "type"), "net");
	assert_int_equal(ih_jint(dev, "addr"), NET_ADDR);
	assert_int_equal(ih_jint(dev, "irq"), NET_IRQ);
	assert_string_equal(ih_jstr(dev, "backing"), TAP);
	assert_string_equal(ih_jstr(dev, "state"), "running");
	assert_string_equal(ih_jstr(dev, "mac"), MAC_STR);
	assert_string_equal(ih_jstr(dev, "link"), "up");
	/* 3 pings, the datagrams and at least one ARP, each way */
	assert_true(ih_jint(dev, "rx_frames") >= (int64_t)(3 + ARRAY_SIZE(udp_sizes) + 1));
	assert_true(ih_jint(dev, "tx_frames") >= (int64_t)(3 + ARRAY_SIZE(udp_sizes) + 1));
	assert_true(ih_jint(dev, "requests") >=
		    ih_jint(dev, "rx_frames") + ih_jint(dev, "tx_frames"));
	assert_true(ih_jint(dev, "notifies") > 0);
	assert_true(ih_jint(dev, "interrupts") > 0);
	assert_int_equal(ih_jint(dev, "errors"), 0);
	assert_int_equal(ih_jint(dev, "tx_dropped"), 0);
	json_object_put(list);
	ih_out_free(&o);

	/* and the table */
	assert_int_equal(ih_hvctl(h, &o, "virtio", "list", NULL), 0);
	{
		char *line = strstr(o.out, "\n1 "), z[8], type[16], addr[24], irq[8], backing[64],
		     st[16], pty[16];
		long long req, err;

		assert_non_null(line);
		assert_int_equal(sscanf(line + 1, "%7s %15s %23s %7s %63s %15s %15s %lld %lld", z,
					type, addr, irq, backing, st, pty, &req, &err),
				 9);
		assert_string_equal(type, "net");
		assert_string_equal(addr, "0xa003600");
		assert_string_equal(irq, "77");
		assert_string_equal(backing, TAP);
		assert_string_equal(st, "running");
		assert_string_equal(pty, "-");
		assert_true(req > 0);
		assert_int_equal(err, 0);
	}
	ih_out_free(&o);

	/* removed: the tap made beforehand stays, and is free again */
	assert_int_equal(ih_hvctl(h, &o, "virtio", "remove", "1", "0xa003600", NULL), 0);
	ih_out_free(&o);
	assert_true(ih_if_index(TAP) > 0);
	ih_tap_delete(TAP);
	ih_stop(h);
}

/* One device per tap: a second one on a tap in use is refused with the
 * reason and changes nothing; bad tap names never reach hvisord; removing
 * the device removes the tap hvctl created (and frees the name). */
static void test_net_tap_in_use(void **state)
{
	struct ih *h = ih_start(NULL);
	struct ih_out o;
	char *before, *after;

	ih_zone_start(h, "zone1");
	add_net(h, NET_ADDR, NET_IRQ, TAP, ",mac=" MAC_STR);
	before = ih_virtio_list_str(h, 0);

	assert_int_equal(ih_hvctl(h, &o, "virtio", "add", "1",
				  "net,addr=0xa003400,len=0x200,irq=79,tap=" TAP, NULL),
			 1);
	/* hvctl attaches to the tap itself: hvisord is not asked */
	if (!strstr(o.err, "cannot attach to " TAP ": Device or resource busy") ||
	    !strstr(o.err, "in use by another program") || strstr(o.err, "org.hvisor."))
		fail_msg("unclear message: %s", o.err);
	assert_string_equal(o.out, "");
	ih_out_free(&o);

	/* names Linux would refuse: usage errors, before hvisord is asked */
	assert_int_equal(ih_hvctl(h, &o, "virtio", "add", "1",
				  "net,addr=0xa003400,len=0x200,irq=79,tap=a/b", NULL),
			 2);
	assert_non_null(strstr(o.err, "tap: may only contain letters, digits"));
	ih_out_free(&o);
	assert_int_equal(ih_hvctl(h, &o, "virtio", "add", "1",
				  "net,addr=0xa003400,len=0x200,irq=79,tap=abcdefghijklmnop", NULL),
			 2);
	assert_non_null(strstr(o.err, "tap: longer than 15 bytes"));
	ih_out_free(&o);
	assert_int_equal(
		ih_hvctl(h, &o, "virtio", "add", "1",
			 "net,addr=0xa003400,len=0x200,irq=79,tap=t0,mac=01:00:5e:00:00:01", NULL),
		2);
	assert_non_null(strstr(o.err, "multicast"));
	ih_out_free(&o);
	after = ih_virtio_list_str(h, 0);
	assert_string_equal(after, before);
	free(after);
	free(before);
	assert_int_equal(ih_if_index("t0"), 0);

	/* hvctl created the tap, hvisord kept it: it goes with the device */
	assert_int_equal(ih_hvctl(h, &o, "virtio", "remove", "1", "0xa003600", NULL), 0);
	ih_out_free(&o);
	assert_true(ih_wait_if(TAP, false, IH_TIMEOUT_MS));
	/* and the name is free for the next one */
	add_net(h, NET2_ADDR, NET2_IRQ, TAP, "");
	assert_true(ih_if_index(TAP) > 0);
	ih_stop(h);
	/* hvisord and its backend are gone: so is the tap */
	assert_true(ih_wait_if(TAP, false, IH_TIMEOUT_MS));
}

#define NOBODY 65534

/* hvctl as uid 65534 in group hvisor: virtio add of a net device on tap. */
static int member_add(struct ih *h, gid_t gid, const char *tap, struct ih_out *o)
{
	const gid_t groups[] = {gid};
	const struct ih_exec member = {
		.uid = NOBODY, .gid = NOBODY, .groups = groups, .n_groups = 1};
	char spec[128];
	const char *argv[] = {ih_bin_hvctl(), "virtio", "add", "1", spec, NULL};

	snprintf(spec, sizeof(spec), "net,addr=0xa003600,len=0x200,irq=77,tap=%s", tap);
	return ih_run(h, &member, o, argv);
}

static void expect_member_refused(struct ih *h, gid_t gid, const char *tap, const char *why)
{
	struct ih_out o;
	json_object *devs;

	assert_int_equal(member_add(h, gid, tap, &o), 1);
	/* hvctl's own error, with the kernel's reason: hvisord was not asked */
	if (!strstr(o.err, why) || strstr(o.err, "org.hvisor."))
		fail_msg("tap %s: expected '%s', got: %s", tap, why, o.err);
	ih_out_free(&o);
	devs = ih_virtio_list(h, 0);
	assert_int_equal(json_object_array_length(devs), 0);
	json_object_put(devs);
}

/* Virtio.Add of a net device with `fd` as files.tap (or no files if fd < 0):
 * refused with files.tap and `why`. */
static void expect_raw_refused(struct ih *h, int fd, const char *why)
{
	struct vl_client *c = ih_client(h);
	json_object *params = json_tokener_parse(
		fd < 0 ? "{\"zone_id\": 1, \"device\": {\"type\": \"net\", \"addr\": 167786496, "
			 "\"len\": 512, \"irq\": 77, \"tap\": \"" TAP "\"}}"
		       : "{\"zone_id\": 1, \"device\": {\"type\": \"net\", \"addr\": 167786496, "
			 "\"len\": 512, \"irq\": 77, \"tap\": \"" TAP
			 "\"}, \"files\": {\"tap\": 0}}");
	json_object *reply = ih_call_fds(c, "org.hvisor.Virtio.Add", params, &fd, fd < 0 ? 0 : 1);
	json_object *p = vl_reply_parameters(reply);

	ih_assert_error(reply, "org.hvisor.InvalidParameter");
	assert_string_equal(ih_jstr(p, "parameter"), "files.tap");
	if (!strstr(ih_jstr(p, "message"), why))
		fail_msg("expected '%s', got '%s'", why, ih_jstr(p, "message"));
	json_object_put(reply);
	vl_client_free(c);
}

static int tun_fd(const char *name, short flags)
{
	struct ifreq ifr = {.ifr_flags = flags};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	return fd;
}

/* The tap is opened with the caller's rights: a member of group hvisor
 * gets what the kernel gives that user (here uid 65534 with /dev/net/tun
 * mode 0666 in a mount namespace of this test's own: its own tap, not
 * root's, no new interface), root keeps its full rights, and hvisord takes
 * only a tap descriptor attached to the device's tap with the flags the
 * data plane needs, never opening /dev/net/tun itself. */
static void test_net_tap_caller_rights(void **state)
{
	gid_t gid = ih_hvisor_gid();
	struct ih *h;
	struct ih_out o;
	int fd, r;

	if (gid == (gid_t)-1)
		skip();
	h = ih_start(NULL);
	assert_int_equal(chmod(h->dir, 0755), 0);
	r = ih_tun_node(h->dir, 0600);
	if (r < 0) {
		ih_stop(h);
		printf("# no mount namespace of our own: %s\n", strerror(-r));
		skip();
	}
	/* a member who may not open /dev/net/tun cannot have hvisord do it */
	expect_member_refused(h, gid, "hvnew0",
			      "cannot open /dev/net/tun for tap hvnew0: Permission denied");
	assert_int_equal(ih_if_index("hvnew0"), 0);

	assert_int_equal(ih_tun_node(h->dir, 0666), 0);
	ih_tap_create_owned(TAP, 0);
	ih_tap_create_owned(TAP2, NOBODY);
	/* root's persistent tap, and a new interface: the kernel's EPERM */
	expect_member_refused(h, gid, TAP,
			      "cannot attach to " TAP ": Operation not permitted (a persistent "
			      "tap owned by another user or group?)");
	expect_member_refused(h, gid, "hvnew0",
			      "cannot attach to hvnew0: Operation not permitted (there is no such "
			      "interface");
	assert_int_equal(ih_if_index("hvnew0"), 0);
	/* the member's own tap */
	assert_int_equal(member_add(h, gid, TAP2, &o), 0);
	ih_out_free(&o);
	assert_int_equal(ih_hvctl(h, &o, "virtio", "remove", "1", "0xa003600", NULL), 0);
	ih_out_free(&o);
	/* root may attach to anyone's tap */
	assert_int_equal(ih_hvctl(h, &o, "virtio", "add", "1",
				  "net,addr=0xa003600,len=0x200,irq=77,tap=" TAP2, NULL),
			 0);
	ih_out_free(&o);
	assert_int_equal(ih_hvctl(h, &o, "virtio", "remove", "1", "0xa003600", NULL), 0);
	ih_out_free(&o);

	/* hvisord checks the descriptor; it never opens the tap itself */
	expect_raw_refused(h, -1, "pass the tap '" TAP "' as a descriptor");
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	expect_raw_refused(h, fd, "not a /dev/net/tun descriptor");
	close(fd);
	fd = tun_fd(TAP2, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
	expect_raw_refused(h, fd, "attached to tap '" TAP2 "', but the device names tap '" TAP "'");
	close(fd);
	fd = tun_fd(TAP, IFF_TAP | IFF_NO_PI);
	expect_raw_refused(h, fd, "tap '" TAP "' is not attached with IFF_NO_PI | IFF_VNET_HDR");
	close(fd);
	assert_int_equal(ih_if_index("hvnew0"), 0);
	assert_int_equal(ih_tun_node(NULL, 0), 0);
	ih_stop(h);
	ih_tap_delete(TAP);
	ih_tap_delete(TAP2);
}

/* ih_reap, and the taps a failed test left behind: those hvisord made go
 * with the processes that held them, those made beforehand are deleted. */
static int net_reap(void **state)
{
	static const char *const taps[] = {TAP, TAP2};

	ih_reap(state);
	assert_int_equal(ih_tun_node(NULL, 0), 0);
	for (size_t i = 0; i < ARRAY_SIZE(taps); i++)
		if (!ih_wait_if(taps[i], false, 2000))
			ih_tap_delete(taps[i]);
	return 0;
}

static int net_cleanup(void **state)
{
	ih_hvisor_group_cleanup();
	return 0;
}

static const char *find_ping(void)
{
	static const char *const paths[] = {"/usr/bin/ping", "/bin/ping", "/usr/sbin/ping",
					    "/sbin/ping"};

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_net_config_and_frames, net_reap),
		cmocka_unit_test_setup(test_net_ping, net_reap),
		cmocka_unit_test_setup(test_net_tap_in_use, net_reap),
		cmocka_unit_test_setup(test_net_tap_caller_rights, net_reap),
	};
	int r;

	ih_init(argc, argv);
	ih_need_virtio();
	r = ih_netns_private();
	if (r < 0)
		ih_skip_all("needs root, network namespaces and /dev/net/tun (%s)", strerror(-r));
	ping_path = find_ping();
	if (!ping_path)
		printf("# no ping binary: the ping test is skipped\n");
	return cmocka_run_group_tests(tests, NULL, net_cleanup);
}
