// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-net workloads (VIRTIO 1.2 §5.1), queue 0 receive, queue 1 transmit,
 * every buffer starting with the 12-byte struct virtio_net_hdr_v1:
 *  net-echo   answers ARP for --ip, ICMP echo requests to it, and echoes
 *             UDP datagrams to it back to their sender;
 *  net-bench  transmits as fast as the queue takes frames (optionally one
 *             64 KiB TSO frame at a time), or counts what it receives.
 * RX buffers stay posted; with MRG_RXBUF a frame may span several of them
 * (num_buffers in the first). Frames, lengths and headers the device
 * writes are bounds-checked before use.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>

#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "hvsim-guest.h"

#define NET_HDR	      ((uint32_t)sizeof(struct virtio_net_hdr_v1))
#define NET_RX_BUF    2048u  /* one RX buffer: header + a standard frame */
#define NET_FRAME_MAX 65550u /* largest frame (a 64 KiB GSO frame + Ethernet) */
#define NET_RX_MAX    256u
#define NET_TX_MAX    256u
#define NET_TSO_MSS   1448u

#define ETH_HLEN      14
#define ETH_P_IP      0x0800
#define ETH_P_ARP     0x0806
#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_  6
#define IPPROTO_UDP_  17

struct tx_slot {
	uint64_t gpa;
	uint8_t *host;
	bool busy;
};

struct net {
	struct wl *w;
	struct hvg_vq *vq[2]; /* rx, tx */
	bool mrg;
	uint8_t mac[6];

	unsigned n_rx;
	uint64_t rx_gpa;
	uint8_t *rx_host; /* n_rx buffers of NET_RX_BUF */

	unsigned n_tx, tx_busy;
	uint32_t tx_size; /* bytes per TX slot */
	struct tx_slot *tx;
	unsigned *tx_free; /* stack of free slot indices */
	unsigned n_tx_free;

	/* frame being assembled from RX buffers */
	uint8_t *frame;
	size_t frame_len;
	unsigned bufs_left;
	bool frame_bad;
	struct virtio_net_hdr_v1 frame_hdr;

	/* what to do with a whole frame */
	void (*on_frame)(struct net *n, const uint8_t *f, size_t len,
			 const struct virtio_net_hdr_v1 *hdr);
	void *ctx;

	uint64_t rx_frames, rx_bytes, rx_bad, tx_frames, tx_bytes;
	int error; /* a device protocol error seen in a callback */
};

/* --- byte helpers and checksums ------------------------------------------------------ */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Internet checksum of [p, p+len) plus `sum` (e.g. a pseudo-header). */
static uint16_t csum(uint32_t sum, const uint8_t *p, size_t len)
{
	return (uint16_t)~csum_fold(csum_add(sum, p, len));
}

static uint32_t pseudo_sum(const uint8_t *ip, uint8_t proto, uint16_t l4_len)
{
	uint32_t sum = csum_add(0, ip + 12, 8); /* source and destination */

	return sum + proto + l4_len;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 0xff)
			return -EINVAL;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

/* --- queues ------------------------------------------------------------------------- */

static int rx_post(struct net *n, unsigned i)
{
	struct hvg_buf b = {
		.gpa = n->rx_gpa + (uint64_t)i * NET_RX_BUF, .len = NET_RX_BUF, .writable = true};

	return hvg_vq_add(n->vq[0], &b, 1, false, (void *)(uintptr_t)(i + 1));
}

/* The MAC (--mac, else the device's, else a local one) and the link, told. */
static int net_mac(struct net *n, const char *mac_opt)
{
	static const uint8_t local[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
	struct wl *w = n->w;
	uint16_t st = 0;
	char buf[32];
	int r;

	if (mac_opt && parse_mac(mac_opt, n->mac) < 0) {
		wl_err(w, "--mac: expected aa:bb:cc:dd:ee:ff");
		return -EINVAL;
	} else if (!mac_opt && wl_has(w, VIRTIO_NET_F_MAC)) {
		r = hvg_dev_config_read(w->d, offsetof(struct virtio_net_config, mac), n->mac, 6);
		if (r < 0)
			return r;
	} else if (!mac_opt) {
		memcpy(n->mac, local, 6);
	}
	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1], n->mac[2],
		 n->mac[3], n->mac[4], n->mac[5]);
	wl_res_str(w, "mac", buf);
	if (!wl_has(w, VIRTIO_NET_F_STATUS)) {
		wl_say(w, "mac %s, mergeable rx buffers %s", buf, n->mrg ? "on" : "off");
		return 0;
	}
	r = hvg_dev_config_read(w->d, offsetof(struct virtio_net_config, status), &st, 2);
	if (r < 0)
		return r;
	wl_res_bool(w, "link_up", le16toh(st) & VIRTIO_NET_S_LINK_UP);
	wl_say(w, "mac %s, link %s, mergeable rx buffers %s", buf,
	       le16toh(st) & VIRTIO_NET_S_LINK_UP ? "up" : "down", n->mrg ? "on" : "off");
	return 0;
}

static int net_init(struct net *n, struct wl *w, uint64_t features, const char *mac_opt,
		    unsigned n_tx, uint32_t tx_frame_max)
{
	uint64_t gpa;
	uint8_t *host;
	int r;

	memset(n, 0, sizeof(*n));
	n->w = w;
	features |= (UINT64_C(1) << VIRTIO_NET_F_MAC) | (UINT64_C(1) << VIRTIO_NET_F_STATUS) |
		    (UINT64_C(1) << VIRTIO_NET_F_MRG_RXBUF);
	r = wl_start(w, VIRTIO_ID_NET, features, n->vq, 2);
	if (r < 0)
		return r;
	n->mrg = wl_has(w, VIRTIO_NET_F_MRG_RXBUF);
	r = net_mac(n, mac_opt);
	if (r < 0)
		return r;

	/* RX: keep every buffer posted */
	n->n_rx = MIN(hvg_vq_free_descs(n->vq[0]), NET_RX_MAX);
	r = wl_alloc(w, (uint64_t)n->n_rx * NET_RX_BUF, 4096, &n->rx_gpa, (void **)&n->rx_host);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n->n_rx; i++) {
		r = rx_post(n, i);
		if (r < 0)
			return r;
	}
	hvg_vq_kick(n->vq[0]);
	n->frame = malloc(NET_FRAME_MAX);
	if (!n->frame)
		return -ENOMEM;

	/* TX slots, each a header and the largest frame this workload sends */
	n->n_tx = MIN(MIN(n_tx, NET_TX_MAX), hvg_vq_free_descs(n->vq[1]));
	n->tx_size = NET_HDR + tx_frame_max;
	n->tx = calloc(n->n_tx, sizeof(*n->tx));
	n->tx_free = calloc(n->n_tx, sizeof(*n->tx_free));
	if (!n->tx || !n->tx_free)
		return -ENOMEM;
	for (unsigned i = 0; i < n->n_tx; i++) {
		n->tx_free[n->n_tx_free++] = n->n_tx - 1 - i;
		r = wl_alloc(w, n->tx_size, 64, &gpa, (void **)&host);
		if (r < 0)
			return r;
		n->tx[i].gpa = gpa;
		n->tx[i].host = host;
	}
	return 0;
}

static void net_free(struct net *n)
{
	free(n->frame);
	free(n->tx);
	free(n->tx_free);
}

static void frame_done(struct net *n)
{
	if (n->frame_bad) {
		n->rx_bad++;
		return;
	}
	n->rx_frames++;
	n->rx_bytes += n->frame_len;
	if (n->on_frame)
		n->on_frame(n, n->frame, n->frame_len, &n->frame_hdr);
}

/* Takes used RX buffers, assembles frames, re-posts the buffers. */
static int rx_reap(struct net *n)
{
	unsigned got = 0;
	int r;

	for (;;) {
		uint32_t len;
		void *token;
		uintptr_t i;
		const uint8_t *buf;

		r = hvg_vq_get(n->vq[0], &token, &len);
		if (r < 0) {
			wl_err(n->w, "the device corrupted the receive used ring");
			return r;
		}
		if (r == 0)
			break;
		i = (uintptr_t)token - 1;
		buf = n->rx_host + i * NET_RX_BUF;
		got++;
		if (len > NET_RX_BUF) {
			/* it cannot have written more than the buffer: drop the frame */
			n->frame_bad = true;
			len = 0;
		}
		if (n->bufs_left == 0) {
			/* the first buffer of a frame starts with the header */
			uint16_t nb = 1;

			n->frame_len = 0;
			n->frame_bad = len < NET_HDR;
			if (!n->frame_bad) {
				memcpy(&n->frame_hdr, buf, NET_HDR);
				if (n->mrg)
					nb = le16toh(n->frame_hdr.num_buffers);
				if (nb == 0 || nb > n->n_rx) {
					n->frame_bad = true;
					nb = 1;
				}
				memcpy(n->frame, buf + NET_HDR, len - NET_HDR);
				n->frame_len = len - NET_HDR;
			}
			n->bufs_left = nb;
		} else if (!n->frame_bad) {
			if (n->frame_len + len > NET_FRAME_MAX)
				n->frame_bad = true;
			else {
				memcpy(n->frame + n->frame_len, buf, len);
				n->frame_len += len;
			}
		}
		n->bufs_left--;
		if (n->bufs_left == 0)
			frame_done(n);
		r = rx_post(n, (unsigned)i);
		if (r < 0)
			return r;
	}
	if (got)
		hvg_vq_kick(n->vq[0]);
	return (int)got;
}

static int tx_reap(struct net *n)
{
	int got = 0;

	for (;;) {
		void *token;
		uint32_t len;
		int r = hvg_vq_get(n->vq[1], &token, &len);

		if (r < 0) {
			wl_err(n->w, "the device corrupted the transmit used ring");
			return r;
		}
		if (r == 0)
			return got;
		/* a transmit buffer is read-only for the device: len means nothing */
		n->tx[(uintptr_t)token - 1].busy = false;
		n->tx_free[n->n_tx_free++] = (unsigned)((uintptr_t)token - 1);
		n->tx_busy--;
		got++;
	}
}

static int tx_reap_cb(void *arg)
{
	return tx_reap(arg);
}

static int net_process(void *arg)
{
	struct net *n = arg;
	int a = tx_reap(n), b;

	if (a < 0)
		return a;
	b = rx_reap(n);
	if (b < 0)
		return b;
	return n->error ? n->error : a + b;
}

/* The next free slot (tx_queue takes it). */
static struct tx_slot *tx_slot_get(struct net *n)
{
	return n->n_tx_free ? &n->tx[n->tx_free[n->n_tx_free - 1]] : NULL;
}

/* Waits (transmit completions only) until a TX slot is free. */
static struct tx_slot *tx_slot_wait(struct net *n)
{
	struct tx_slot *s;

	while (!(s = tx_slot_get(n))) {
		int r = wl_poll(n->w, &n->vq[1], 1, tx_reap_cb, n, n->w->timeout_ms);

		if (r < 0) {
			if (r == -ETIMEDOUT)
				wl_err(n->w, "the device took no transmit buffer for %d ms",
				       n->w->timeout_ms);
			n->error = r;
			return NULL;
		}
	}
	return s;
}

/* Queues slot s (from tx_slot_get) holding a header and `len` frame bytes
 * (not kicked). */
static int tx_queue(struct net *n, struct tx_slot *s, uint32_t len)
{
	struct hvg_buf b = {.gpa = s->gpa, .len = NET_HDR + len, .writable = false};
	int r = hvg_vq_add(n->vq[1], &b, 1, false, (void *)(uintptr_t)(s - n->tx + 1));

	if (r < 0)
		return r;
	s->busy = true;
	n->n_tx_free--;
	n->tx_busy++;
	n->tx_frames++;
	n->tx_bytes += len;
	return 0;
}

/* Sends a frame with an empty header (copied into a TX slot), kicks. */
static int tx_send(struct net *n, const uint8_t *f, size_t len)
{
	struct tx_slot *s;
	int r;

	if (len + NET_HDR > n->tx_size)
		return -EMSGSIZE;
	s = tx_slot_wait(n);
	if (!s)
		return n->error;
	memset(s->host, 0, NET_HDR);
	memcpy(s->host + NET_HDR, f, len);
	r = tx_queue(n, s, (uint32_t)len);
	if (r < 0)
		return r;
	hvg_vq_kick(n->vq[1]);
	return 0;
}

static int tx_drain(struct net *n)
{
	while (n->tx_busy > 0) {
		int r = wl_poll(n->w, &n->vq[1], 1, tx_reap_cb, n, n->w->timeout_ms);

		if (r < 0)
			return r;
	}
	return 0;
}

/* --- net-echo ----------------------------------------------------------------------- */

struct echo {
	uint8_t ip[4];
	uint64_t arp, icmp, udp, ignored, bad_csum;
	uint8_t *reply; /* NET_FRAME_MAX */
};

static void echo_arp(struct net *n, struct echo *e, const uint8_t *f, size_t len)
{
	const uint8_t *a = f + ETH_HLEN;
	uint8_t *o = e->reply;

	/* Ethernet/IPv4 request for our address */
	if (len < ETH_HLEN + 28 || get16(a) != 1 || get16(a + 2) != ETH_P_IP || a[4] != 6 ||
	    a[5] != 4 || get16(a + 6) != 1 || memcmp(a + 24, e->ip, 4) != 0) {
		e->ignored++;
		return;
	}
	memset(o, 0, 60);
	memcpy(o, a + 8, 6); /* to the sender's hardware address */
	memcpy(o + 6, n->mac, 6);
	put16(o + 12, ETH_P_ARP);
	put16(o + 14, 1);
	put16(o + 16, ETH_P_IP);
	o[18] = 6;
	o[19] = 4;
	put16(o + 20, 2); /* reply */
	memcpy(o + 22, n->mac, 6);
	memcpy(o + 28, e->ip, 4);
	memcpy(o + 32, a + 8, 10); /* target = the sender's hardware + protocol address */
	if (tx_send(n, o, 60) == 0)
		e->arp++;
}

/* The reply frame in e->reply: Ethernet and IPv4 addresses swapped. */
static void echo_swap(struct net *n, struct echo *e, const uint8_t *f, size_t len, unsigned ihl)
{
	uint8_t *o = e->reply;
	uint8_t *ip = o + ETH_HLEN;

	memcpy(o, f, len);
	memcpy(o, f + 6, 6);
	memcpy(o + 6, n->mac, 6);
	memcpy(ip + 12, f + ETH_HLEN + 16, 4);
	memcpy(ip + 16, f + ETH_HLEN + 12, 4);
	ip[8] = 64; /* ttl */
	put16(ip + 10, 0);
	put16(ip + 10, csum(0, ip, ihl));
}

static void echo_ip(struct net *n, struct echo *e, const uint8_t *f, size_t len,
		    const struct virtio_net_hdr_v1 *hdr)
{
	const uint8_t *ip = f + ETH_HLEN;
	size_t avail = len - ETH_HLEN;
	unsigned ihl;
	size_t tot, l4_len;
	const uint8_t *l4;
	/* the device says the L4 checksum is partial or already checked */
	bool csum_known = hdr->flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID);

	if (avail < 20 || (ip[0] >> 4) != 4) {
		e->ignored++;
		return;
	}
	ihl = (ip[0] & 0xf) * 4u;
	tot = get16(ip + 2);
	if (ihl < 20 || tot < ihl || tot > avail || memcmp(ip + 16, e->ip, 4) != 0 ||
	    (get16(ip + 6) & 0x3fff) != 0 /* fragments */) {
		e->ignored++;
		return;
	}
	if (csum(0, ip, ihl) != 0) {
		e->bad_csum++;
		return;
	}
	l4 = ip + ihl;
	l4_len = tot - ihl;
	if (ip[9] == IPPROTO_ICMP_) {
		uint8_t *icmp = e->reply + ETH_HLEN + ihl;

		if (l4_len < 8 || l4[0] != 8 || l4[1] != 0) {
			e->ignored++;
			return;
		}
		if (!csum_known && csum(0, l4, l4_len) != 0) {
			e->bad_csum++;
			return;
		}
		echo_swap(n, e, f, ETH_HLEN + tot, ihl);
		icmp[0] = 0; /* echo reply */
		put16(icmp + 2, 0);
		put16(icmp + 2, csum(0, icmp, l4_len));
		if (tx_send(n, e->reply, ETH_HLEN + tot) == 0)
			e->icmp++;
	} else if (ip[9] == IPPROTO_UDP_) {
		uint8_t *udp = e->reply + ETH_HLEN + ihl;
		uint16_t ulen, sum;

		if (l4_len < 8 || get16(l4 + 4) < 8 || get16(l4 + 4) > l4_len) {
			e->ignored++;
			return;
		}
		ulen = get16(l4 + 4);
		if (!csum_known && get16(l4 + 6) != 0 &&
		    csum(pseudo_sum(ip, IPPROTO_UDP_, ulen), l4, ulen) != 0) {
			e->bad_csum++;
			return;
		}
		echo_swap(n, e, f, ETH_HLEN + tot, ihl);
		put16(udp, get16(l4 + 2));
		put16(udp + 2, get16(l4));
		put16(udp + 6, 0);
		sum = csum(pseudo_sum(e->reply + ETH_HLEN, IPPROTO_UDP_, ulen), udp, ulen);
		put16(udp + 6, sum ? sum : 0xffff);
		if (tx_send(n, e->reply, ETH_HLEN + tot) == 0)
			e->udp++;
	} else {
		e->ignored++;
	}
}

static void echo_frame(struct net *n, const uint8_t *f, size_t len,
		       const struct virtio_net_hdr_v1 *hdr)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	struct echo *e = n->ctx;

	if (len < ETH_HLEN || (memcmp(f, n->mac, 6) != 0 && memcmp(f, bcast, 6) != 0) ||
	    hdr->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		e->ignored++;
		return;
	}
	switch (get16(f + 12)) {
	case ETH_P_ARP:
		echo_arp(n, e, f, len);
		break;
	case ETH_P_IP:
		echo_ip(n, e, f, len, hdr);
		break;
	default:
		e->ignored++;
		break;
	}
}

/* Answers until count requests are, or the time is up. */
static int echo_loop(struct net *n, struct echo *e, uint64_t count, uint64_t seconds)
{
	uint64_t t_end = wl_deadline(seconds);
	int r;

	while (e->icmp + e->udp < count) {
		int slice = wl_slice_ms(n->w, t_end);

		if (slice == 0) {
			wl_err(n->w, "timed out after %llu s with %llu of %llu answers",
			       (unsigned long long)seconds, (unsigned long long)(e->icmp + e->udp),
			       (unsigned long long)count);
			return WL_FAIL;
		}
		r = wl_poll(n->w, n->vq, 2, net_process, n, slice);
		if (r < 0 && r != -ETIMEDOUT)
			return r;
	}
	/* the answers are sent once the device took them */
	return tx_drain(n);
}

static int net_echo(struct wl *w, int argc, char **argv)
{
	const char *ip = NULL, *mac = NULL;
	uint64_t count = 1, seconds = 10;
	const struct wl_opt opts[] = {
		WL_STR("ip", &ip),
		WL_STR("mac", &mac),
		WL_U64("count", &count, 1, UINT64_MAX),
		WL_U64("seconds", &seconds, 1, 86400),
	};
	struct echo e = {0};
	struct net n = {0};
	int r = wl_options(w, argc, argv, opts, ARRAY_SIZE(opts));

	if (r != WL_OK)
		return r;
	if (!ip || inet_pton(AF_INET, ip, e.ip) != 1) {
		wl_err(w, "--ip A.B.C.D is required");
		return WL_USAGE;
	}
	e.reply = malloc(NET_FRAME_MAX);
	if (!e.reply)
		return -ENOMEM;
	r = net_init(&n, w, UINT64_C(1) << VIRTIO_NET_F_GUEST_CSUM, mac, 32, NET_FRAME_MAX);
	if (r < 0)
		goto out;
	n.on_frame = echo_frame;
	n.ctx = &e;
	wl_say(w,
	       "answering ARP, ICMP echo and UDP for %s until %llu ICMP/UDP requests are answered, for at most %llu s",
	       ip, (unsigned long long)count, (unsigned long long)seconds);
	r = echo_loop(&n, &e, count, seconds);
	wl_res_u64(w, "answered_icmp", e.icmp);
	wl_res_u64(w, "answered_udp", e.udp);
	wl_res_u64(w, "answered_arp", e.arp);
	wl_res_u64(w, "ignored", e.ignored);
	wl_res_u64(w, "bad_checksum", e.bad_csum);
	wl_res_u64(w, "rx_frames", n.rx_frames);
	wl_res_u64(w, "rx_bad", n.rx_bad);
	wl_res_u64(w, "tx_frames", n.tx_frames);
	wl_say(w,
	       "answered %llu ICMP, %llu UDP, %llu ARP; received %llu frames (%llu malformed, %llu ignored, %llu bad checksums)",
	       (unsigned long long)e.icmp, (unsigned long long)e.udp, (unsigned long long)e.arp,
	       (unsigned long long)n.rx_frames, (unsigned long long)n.rx_bad,
	       (unsigned long long)e.ignored, (unsigned long long)e.bad_csum);
out:
	net_free(&n);
	free(e.reply);
	return r;
}

/* --- net-bench ---------------------------------------------------------------------- */

/* The Ethernet and IPv4 headers of a frame from us to dst, 10.0.0.1 ->
 * 10.0.0.2, tot bytes of IP: where the L4 header goes. */
static uint8_t *build_ip(const struct net *n, const uint8_t dst[6], uint8_t *f, uint16_t tot,
			 uint8_t proto)
{
	static const uint8_t src_ip[4] = {10, 0, 0, 1}, dst_ip[4] = {10, 0, 0, 2};
	uint8_t *ip = f + ETH_HLEN;

	memcpy(f, dst, 6);
	memcpy(f + 6, n->mac, 6);
	put16(f + 12, ETH_P_IP);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, tot);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, src_ip, 4);
	memcpy(ip + 16, dst_ip, 4);
	put16(ip + 10, csum(0, ip, 20));
	return ip + 20;
}

/* A UDP/IPv4 frame of `size` bytes, 10.0.0.1:9 -> 10.0.0.2:9. */
static void build_udp(const struct net *n, const uint8_t dst[6], uint8_t *f, uint32_t size)
{
	uint16_t tot = (uint16_t)(size - ETH_HLEN), ulen = (uint16_t)(tot - 20), sum;
	uint8_t *ip = f + ETH_HLEN, *udp = build_ip(n, dst, f, tot, IPPROTO_UDP_);

	put16(udp, 9);
	put16(udp + 2, 9);
	put16(udp + 4, ulen);
	put16(udp + 6, 0);
	wl_pattern_fill(size, 0, udp + 8, ulen - 8u);
	sum = csum(pseudo_sum(ip, IPPROTO_UDP_, ulen), udp, ulen);
	put16(udp + 6, sum ? sum : 0xffff);
}

/* A 64 KiB TCPv4 frame for the device to segment (TSO): the TCP checksum
 * holds the pseudo-header sum, NEEDS_CSUM says where to finish it. */
static uint32_t build_tso(const struct net *n, const uint8_t dst[6], uint8_t *buf)
{
	struct virtio_net_hdr_v1 *h = (struct virtio_net_hdr_v1 *)buf;
	uint8_t *f = buf + NET_HDR, *ip = f + ETH_HLEN, *tcp;
	uint16_t tot = 65535, tcp_len = (uint16_t)(tot - 20);

	memset(h, 0, NET_HDR);
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h->hdr_len = htole16(ETH_HLEN + 20 + 20);
	h->gso_size = htole16(NET_TSO_MSS);
	h->csum_start = htole16(ETH_HLEN + 20);
	h->csum_offset = htole16(16);
	tcp = build_ip(n, dst, f, tot, IPPROTO_TCP_);
	memset(tcp, 0, 20);
	put16(tcp, 5001);
	put16(tcp + 2, 5001);
	tcp[12] = 5 << 4; /* data offset */
	tcp[13] = 0x18;	  /* PSH, ACK */
	put16(tcp + 14, 65535);
	wl_pattern_fill(tot, 0, tcp + 20, tcp_len - 20u);
	put16(tcp + 16, csum_fold(pseudo_sum(ip, IPPROTO_TCP_, tcp_len)));
	return ETH_HLEN + tot;
}

struct nbench {
	bool tx, tso;
	uint64_t size, seconds, min_frames;
	uint8_t dst[6];
	uint64_t elapsed, frames, bytes;
};

/* Transmits the same frame (built once per slot) as fast as the queue
 * takes it. */
static int bench_tx(struct net *n, struct nbench *nb)
{
	struct wl *w = n->w;
	uint64_t t0 = wl_now_ns(), t_end = t0 + nb->seconds * 1000000000u;
	uint32_t flen = (uint32_t)nb->size;
	int r;

	for (unsigned i = 0; i < n->n_tx; i++) {
		if (nb->tso) {
			flen = build_tso(n, nb->dst, n->tx[i].host);
			continue;
		}
		memset(n->tx[i].host, 0, NET_HDR);
		build_udp(n, nb->dst, n->tx[i].host + NET_HDR, flen);
	}
	while (wl_now_ns() < t_end) {
		unsigned added = 0;
		struct tx_slot *s;

		r = tx_reap(n);
		if (r < 0)
			return r;
		while ((s = tx_slot_get(n)) && tx_queue(n, s, flen) == 0)
			added++;
		if (added) {
			hvg_vq_kick(n->vq[1]);
			continue;
		}
		r = wl_poll(w, &n->vq[1], 1, tx_reap_cb, n, w->timeout_ms);
		if (r == -ETIMEDOUT)
			wl_err(w, "the device took no frame for %d ms", w->timeout_ms);
		if (r < 0)
			return r;
	}
	nb->elapsed = wl_now_ns() - t0;
	nb->frames = n->tx_frames;
	nb->bytes = n->tx_bytes;
	return tx_drain(n);
}

/* Counts what arrives until the time is up. */
static int bench_rx(struct net *n, struct nbench *nb)
{
	uint64_t t0 = wl_now_ns(), t_end = t0 + nb->seconds * 1000000000u;
	int slice, r;

	while ((slice = wl_slice_ms(n->w, t_end)) > 0) {
		r = wl_poll(n->w, n->vq, 2, net_process, n, slice);
		if (r < 0 && r != -ETIMEDOUT)
			return r;
	}
	nb->elapsed = wl_now_ns() - t0;
	nb->frames = n->rx_frames;
	nb->bytes = n->rx_bytes;
	return 0;
}

static int nbench_report(struct net *n, const struct nbench *nb)
{
	struct wl *w = n->w;
	double secs = (double)nb->elapsed / 1e9;

	wl_res_str(w, "mode", nb->tx ? "tx" : "rx");
	wl_res_u64(w, "frames", nb->frames);
	wl_res_u64(w, "bytes", nb->bytes);
	wl_res_dbl(w, "elapsed_s", secs);
	wl_res_dbl(w, "packets_per_s", (double)nb->frames / secs);
	wl_res_dbl(w, "gbit_per_s", (double)nb->bytes * 8 / secs / 1e9);
	if (!nb->tx)
		wl_res_u64(w, "rx_bad", n->rx_bad);
	wl_say(w, "%llu frames, %llu bytes in %.2f s: %.0f packets/s, %.3f Gbit/s",
	       (unsigned long long)nb->frames, (unsigned long long)nb->bytes, secs,
	       (double)nb->frames / secs, (double)nb->bytes * 8 / secs / 1e9);
	wl_res_per_req(w, nb->frames);
	if (!nb->tx && nb->frames < nb->min_frames) {
		wl_err(w, "received %llu frames, expected at least %llu",
		       (unsigned long long)nb->frames, (unsigned long long)nb->min_frames);
		return WL_FAIL;
	}
	return nb->frames > 0 || !nb->tx ? WL_OK : WL_FAIL;
}

static int net_bench(struct wl *w, int argc, char **argv)
{
	static const char *const modes[] = {"tx", "rx", NULL};
	struct nbench nb = {.size = 64, .seconds = 5, .min_frames = 1};
	const char *dst = NULL;
	unsigned mode = 0;
	const struct wl_opt opts[] = {
		WL_CHOICE("mode", &mode, modes, "tx or rx"),
		WL_SIZE("size", &nb.size, ETH_HLEN + 28, 1514, 0),
		WL_U64("seconds", &nb.seconds, 1, 86400),
		WL_FLAG("tso", &nb.tso),
		WL_STR("dst-mac", &dst),
		WL_U64("min-frames", &nb.min_frames, 0, UINT64_MAX),
	};
	struct net n = {0};
	int r = wl_options(w, argc, argv, opts, ARRAY_SIZE(opts));

	if (r != WL_OK)
		return r;
	nb.tx = mode == 0;
	memset(nb.dst, 0xff, sizeof(nb.dst));
	if (dst && parse_mac(dst, nb.dst) < 0) {
		wl_err(w, "--dst-mac: expected aa:bb:cc:dd:ee:ff");
		return WL_USAGE;
	}
	if (nb.tso && !nb.tx) {
		wl_err(w, "--tso is for --mode tx");
		return WL_USAGE;
	}
	r = net_init(&n, w,
		     nb.tso ? (UINT64_C(1) << VIRTIO_NET_F_CSUM) |
				      (UINT64_C(1) << VIRTIO_NET_F_HOST_TSO4)
			    : 0,
		     NULL, nb.tso ? 64 : NET_TX_MAX, nb.tso ? NET_FRAME_MAX : (uint32_t)nb.size);
	if (r == 0 && nb.tso && !wl_has(w, VIRTIO_NET_F_HOST_TSO4)) {
		wl_err(w, "--tso: the device does not offer HOST_TSO4 (with CSUM)");
		r = WL_FAIL;
	}
	if (r == 0) {
		wl_say(w, "%s %s for %llu s", nb.tx ? "transmitting" : "receiving",
		       nb.tx ? (nb.tso ? "64 KiB TSO frames" : "UDP frames") : "frames",
		       (unsigned long long)nb.seconds);
		r = nb.tx ? bench_tx(&n, &nb) : bench_rx(&n, &nb);
	}
	if (r == 0)
		r = nbench_report(&n, &nb);
	net_free(&n);
	return r;
}

const struct workload wl_net_echo = {
	.name = "net-echo",
	.usage = "--ip A.B.C.D [--mac MAC] [--count N=1] [--seconds S=10]",
	.run = net_echo,
};

const struct workload wl_net_bench = {
	.name = "net-bench",
	.usage =
		"--mode tx|rx [--size BYTES=64] [--seconds S=5] [--tso] [--dst-mac MAC] [--min-frames N=1]",
	.run = net_bench,
};
