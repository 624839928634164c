// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-net (VIRTIO 1.2 §5.1) on a tap opened by hvisord with
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR. Queue 0 receives, queue 1 transmits;
 * no control queue, one queue pair.
 *
 * The tap's vnet header is set to the guest's (struct virtio_net_hdr_v1,
 * 12 bytes, VERSION_1 is always negotiated), so frames move between the
 * tap and guest memory with one readv/writev and no copy.
 *
 * Nothing is dropped for lack of room (stream.h):
 *  - RX: the tap is read only while the guest has posted buffers that can
 *    take the largest frame it may deliver; otherwise the read event is
 *    removed and the frames wait in the tap (the kernel queues, then
 *    drops at its own queue limit, as for any slow NIC). RX buffers taken
 *    from the ring are kept until a frame fills them, so the ring's
 *    avail_event always matches what we consumed.
 *  - TX: a frame the tap does not take (EAGAIN) stays ours until EV_WRITE;
 *    later ones wait behind it, so order is kept and the guest's ring
 *    fills up, which stops its queue.
 *
 * Any other fd (a SOCK_SEQPACKET socket in tests and the sim) carries the
 * same records as the tap: a 12-byte header, then the Ethernet frame. No
 * offloads are offered then and no tap ioctl is issued.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#include "devices.h"
#include "stream.h"
#include "log.h"
#include "macro.h"
#include "util.h"

#define NET_QUEUE_MAX	    256
#define NET_HDR_LEN	    sizeof(struct virtio_net_hdr_v1)
#define NET_NUM_BUFFERS_OFF offsetof(struct virtio_net_hdr_v1, num_buffers)
/* A 64 KiB GSO frame and its Ethernet header, the most a tap hands over. */
#define NET_MAX_FRAME 65550u
/* Ethernet header + VLAN tag + 1500 bytes: frames of a non-tap fd, and of
 * a tap whose MTU cannot be read. */
#define NET_STD_FRAME 1518u
/* Guest buffers of one readv; one more entry takes the overflow. */
#define NET_RX_IOV	1023
#define NET_CONFIG_SIZE offsetof(struct virtio_net_config, max_virtqueue_pairs)

#define BIT(b) (UINT64_C(1) << (b))
#define NET_OFFLOAD_FEATURES                                                                   \
	(BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) | \
	 BIT(VIRTIO_NET_F_HOST_TSO6) | BIT(VIRTIO_NET_F_GUEST_TSO4) |                          \
	 BIT(VIRTIO_NET_F_GUEST_TSO6))

struct net {
	struct stream s;
	bool is_tap, is_sock;
	bool offloads; /* the tap takes TUNSETOFFLOAD: offload features offered */
	bool link_up;
	uint8_t mac[6];

	/* Largest record (header + frame) the fd may deliver now. */
	uint32_t rx_need;
	/* RX buffers taken from the ring, in ring order, not filled yet. */
	struct virtq_elem *rx_held[NET_QUEUE_MAX];
	unsigned n_rx_held;
	struct iovec rx_iov[NET_RX_IOV + 1];

	uint64_t rx_frames, rx_bytes, rx_truncated;
	uint64_t tx_frames, tx_bytes, tx_dropped;
};

static struct net *to_net(struct stream *s)
{
	return (struct net *)s; /* s is the first member */
}

/* Where a frame too big for the posted buffers runs over to: its length
 * tells us it did not fit. Only the loop thread reads into it. */
static uint8_t rx_overflow[NET_HDR_LEN + NET_MAX_FRAME];

static bool has(const struct net *n, unsigned bit)
{
	return virtio_dev_has(&n->s.dev, bit);
}

/* ---- the fd ---------------------------------------------------------- */

/* What the fd is; a tap must carry the vnet header and no packet info. */
static int net_probe(struct net *n)
{
	struct ifreq ifr = {0};
	struct stat st;
	unsigned features = 0;

	if (fstat(n->s.fd, &st) < 0)
		return negative_errno();
	n->is_sock = S_ISSOCK(st.st_mode);
	if (n->is_sock || ioctl(n->s.fd, TUNGETIFF, &ifr) < 0)
		return 0; /* not a tap: plain records, no offloads */
	n->is_tap = true;
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TAP || !(ifr.ifr_flags & IFF_NO_PI) ||
	    !(ifr.ifr_flags & IFF_VNET_HDR)) {
		log_err("%s: tap %.16s must be IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (flags 0x%x)",
			n->s.dev.name, ifr.ifr_name, (unsigned)ifr.ifr_flags & 0xffff);
		return -EINVAL;
	}
	/* Offloads need TUNSETOFFLOAD; try them all, then take them back
	 * until a driver negotiates them. */
	if (ioctl(n->s.fd, TUNGETFEATURES, &features) == 0 && (features & IFF_VNET_HDR) &&
	    ioctl(n->s.fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) == 0)
		n->offloads = true;
	if (ioctl(n->s.fd, TUNSETOFFLOAD, 0) < 0)
		n->offloads = false;
	return 0;
}

/* The tap hands the guest what the guest negotiated, in its header. */
static int tap_apply(struct net *n, uint64_t f)
{
	int hdr_len = (int)NET_HDR_LEN;
	unsigned off = 0;

	if (!n->is_tap)
		return 0;
	if (ioctl(n->s.fd, TUNSETVNETHDRSZ, &hdr_len) < 0)
		return log_errno(LOG_ERR, negative_errno(), "%s: TUNSETVNETHDRSZ", n->s.dev.name);
	if (f & BIT(VIRTIO_NET_F_GUEST_CSUM)) {
		off |= TUN_F_CSUM;
		if (f & BIT(VIRTIO_NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (f & BIT(VIRTIO_NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
	}
	if ((off || n->offloads) && ioctl(n->s.fd, TUNSETOFFLOAD, off) < 0)
		return log_errno(LOG_ERR, negative_errno(), "%s: TUNSETOFFLOAD 0x%x", n->s.dev.name,
				 off);
	return 0;
}

/* The tap's MTU, for the largest frame it can deliver without GSO. */
static uint32_t tap_frame_max(struct net *n)
{
	struct ifreq ifr = {0};
	int s, mtu = -1;

	if (!n->is_tap || ioctl(n->s.fd, TUNGETIFF, &ifr) < 0)
		return NET_STD_FRAME;
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		if (ioctl(s, SIOCGIFMTU, &ifr) == 0)
			mtu = ifr.ifr_mtu;
		close(s);
	}
	if (mtu <= 0)
		return NET_STD_FRAME;
	return (uint32_t)MIN((uint64_t)mtu + (NET_STD_FRAME - 1500), (uint64_t)NET_MAX_FRAME);
}

static void net_update_rx_need(struct net *n)
{
	uint32_t frame = NET_STD_FRAME;

	if (has(n, VIRTIO_NET_F_GUEST_TSO4) || has(n, VIRTIO_NET_F_GUEST_TSO6))
		frame = NET_MAX_FRAME;
	else if (n->is_tap)
		frame = tap_frame_max(n);
	n->rx_need = (uint32_t)NET_HDR_LEN + frame;
}

static ssize_t fd_readv(struct net *n, struct iovec *iov, int cnt)
{
	ssize_t r;

	do
		r = readv(n->s.fd, iov, cnt);
	while (r < 0 && errno == EINTR);
	return r < 0 ? negative_errno() : r;
}

static ssize_t fd_writev(struct net *n, struct iovec *iov, int cnt)
{
	ssize_t r;

	do {
		if (n->is_sock) {
			/* a peer that went away must not SIGPIPE the daemon */
			struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};

			r = sendmsg(n->s.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		} else
			r = writev(n->s.fd, iov, cnt);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? negative_errno() : r;
}

/* A socket read returned 0: the peer is gone, or sent an empty record. */
static bool fd_hung_up(struct net *n)
{
	struct pollfd p = {.fd = n->s.fd, .events = POLLIN | POLLRDHUP};

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR));
}

static void net_set_status(struct net *n)
{
	uint16_t status = htole16(n->link_up ? VIRTIO_NET_S_LINK_UP : 0);

	memcpy(n->s.dev.config + offsetof(struct virtio_net_config, status), &status, 2);
}

/* The fd failed or its peer hung up: link down, config interrupt. Frames
 * the guest sends are then completed without going anywhere. */
static void net_link_down(struct net *n, int err)
{
	if (!n->link_up)
		return;
	log_warn("%s: %s; link down", n->s.dev.name, err ? strerror(-err) : "hang-up");
	n->link_up = false;
	stream_arm_rx(&n->s, false);
	net_set_status(n);
	virtio_dev_config_changed(&n->s.dev);
}

/* ---- RX: tap -> guest ----------------------------------------------- */

/* An RX buffer must be device-writable only and take the whole header. */
static bool rx_elem_ok(const struct virtq_elem *e)
{
	return !e->error && e->n_out == 0 && e->in_len >= NET_HDR_LEN;
}

static void rx_release_front(struct net *n, unsigned k)
{
	n->n_rx_held -= k;
	memmove(n->rx_held, n->rx_held + k, n->n_rx_held * sizeof(n->rx_held[0]));
}

/* Unusable buffers at the front are completed empty, in ring order. */
static void rx_drop_bad_front(struct net *n)
{
	unsigned k = 0;

	while (k < n->n_rx_held && !rx_elem_ok(n->rx_held[k])) {
		struct virtq_elem *e = n->rx_held[k++];

		virtio_dev_error(&n->s.dev, "RX buffer unusable (error %d, %u readable, %u bytes)",
				 e->error, e->n_out, e->in_len);
		virtq_complete(&n->s.dev.vq[STREAM_RXQ], e, 0);
	}
	rx_release_front(n, k);
}

/*
 * Takes RX buffers until the next frame surely fits: one good buffer
 * without MRG_RXBUF (its size is the driver's choice), else a run of good
 * buffers holding rx_need bytes. A run that cannot grow (a bad buffer
 * follows it, or the guest posted its whole ring) is used as it is.
 * Returns 1 ready, 0 when the guest has to post more, <0 from
 * virtio_dev_pop.
 */
static int net_rx_take(struct stream *s)
{
	struct net *n = to_net(s);
	struct virtq *vq = &s->dev.vq[STREAM_RXQ];
	bool mrg = has(n, VIRTIO_NET_F_MRG_RXBUF);
	uint64_t bytes = 0;
	unsigned run = 0;

	rx_drop_bad_front(n);
	while (run < n->n_rx_held && rx_elem_ok(n->rx_held[run]))
		bytes += n->rx_held[run++]->in_len;
	for (;;) {
		struct virtq_elem *e;
		int r;

		if (run > 0 &&
		    (!mrg || bytes >= n->rx_need || run < n->n_rx_held || n->n_rx_held >= vq->num))
			return 1;
		/* the run is empty only while nothing is held (bad buffers
		 * at the front were completed), so there is room */
		if (n->n_rx_held == NET_QUEUE_MAX)
			return run > 0;
		r = virtio_dev_pop(&s->dev, STREAM_RXQ, &e);
		if (r <= 0)
			return r;
		n->rx_held[n->n_rx_held++] = e;
		if (run == n->n_rx_held - 1 && rx_elem_ok(e)) {
			run++;
			bytes += e->in_len;
		} else if (run == 0)
			rx_drop_bad_front(n);
	}
}

/* The header the guest gets: how many buffers the frame took, and no
 * checksum flags unless it negotiated them (§5.1.6.4.1). */
static void rx_fix_header(struct net *n, const struct virtq_elem *first, uint16_t nbufs)
{
	uint16_t v = htole16(nbufs);

	iov_from_buf(first->in, first->n_in, NET_NUM_BUFFERS_OFF, &v, sizeof(v));
	if (!has(n, VIRTIO_NET_F_GUEST_CSUM)) {
		uint8_t flags = 0;

		iov_from_buf(first->in, first->n_in, offsetof(struct virtio_net_hdr_v1, flags),
			     &flags, 1);
	}
}

/* Reads one record into the run of good buffers rx_take found (as far as
 * one readv takes it), and what overflows them into rx_overflow; *cap is
 * what the guest's buffers hold. Bytes read or -errno. */
static ssize_t rx_readv(struct net *n, uint64_t *cap)
{
	bool mrg = has(n, VIRTIO_NET_F_MRG_RXBUF);
	unsigned cnt = 0;

	*cap = 0;
	for (unsigned k = 0; k < n->n_rx_held && rx_elem_ok(n->rx_held[k]) && (k == 0 || mrg);
	     k++) {
		const struct virtq_elem *e = n->rx_held[k];

		if (cnt + e->n_in > NET_RX_IOV)
			break;
		memcpy(n->rx_iov + cnt, e->in, e->n_in * sizeof(struct iovec));
		cnt += e->n_in;
		*cap += e->in_len;
	}
	n->rx_iov[cnt++] = (struct iovec){rx_overflow, sizeof(rx_overflow)};
	return fd_readv(n, n->rx_iov, (int)cnt);
}

/* A frame of len bytes that fits the held buffers: to the guest. */
static void rx_deliver(struct net *n, uint64_t len)
{
	unsigned used = 0;
	uint64_t left;

	for (left = len; left > 0; used++)
		left -= MIN(left, (uint64_t)n->rx_held[used]->in_len);
	rx_fix_header(n, n->rx_held[0], (uint16_t)used);
	left = len;
	for (unsigned i = 0; i < used; i++) {
		uint32_t l = (uint32_t)MIN(left, (uint64_t)n->rx_held[i]->in_len);

		virtq_complete(&n->s.dev.vq[STREAM_RXQ], n->rx_held[i], l);
		left -= l;
	}
	rx_release_front(n, used);
	n->rx_frames++;
	n->rx_bytes += len - NET_HDR_LEN;
	n->s.dev.n_requests++;
}

/* One frame into the held buffers. 1: a record was consumed, 0: nothing
 * to read, <0: the fd failed (link down). */
static int net_rx_read(struct stream *s)
{
	struct net *n = to_net(s);
	uint64_t cap;
	ssize_t r = rx_readv(n, &cap);

	if (r == -EAGAIN)
		return 0;
	if (r == 0 && (!n->is_sock || fd_hung_up(n)))
		r = -EPIPE;
	if (r < 0) {
		net_link_down(n, r == -EPIPE ? 0 : (int)r);
		return (int)r;
	}
	if ((uint64_t)r < NET_HDR_LEN) {
		virtio_dev_error(&s->dev, "%zd-byte record from the tap, shorter than its header",
				 r);
		return 1; /* the buffers stay for the next frame */
	}
	if ((uint64_t)r > cap) {
		/* Truncated: the guest's buffers were smaller than the frame.
		 * Remember its size, so we wait for enough buffers next time. */
		n->rx_truncated++;
		n->rx_need = (uint32_t)MIN(MAX((uint64_t)r, (uint64_t)n->rx_need),
					   NET_HDR_LEN + NET_MAX_FRAME);
		virtio_dev_error(&s->dev,
				 "%zd-byte frame does not fit the %llu bytes of RX buffers", r,
				 (unsigned long long)cap);
		return 1;
	}
	rx_deliver(n, (uint64_t)r); /* r <= cap: it ends inside the run */
	return 1;
}

static void net_rx_forget(struct stream *s)
{
	struct net *n = to_net(s);

	for (unsigned i = 0; i < n->n_rx_held; i++)
		free(n->rx_held[i]);
	n->n_rx_held = 0;
}

/* ---- TX: guest -> tap ----------------------------------------------- */

/* 0: the request is finished (sent or refused), -EAGAIN: keep it. */
static int net_tx_send(struct stream *s, struct virtq_elem *e)
{
	struct net *n = to_net(s);
	ssize_t r;

	if (e->error || e->out_len < NET_HDR_LEN || e->out_len > NET_HDR_LEN + NET_MAX_FRAME) {
		virtio_dev_error(&n->s.dev, "TX request refused (error %d, %u bytes)", e->error,
				 e->out_len);
		return 0;
	}
	if (!n->link_up) {
		n->tx_dropped++;
		return 0;
	}
	r = fd_writev(n, e->iov, e->n_out);
	if (r == -EAGAIN)
		return -EAGAIN;
	if (r < 0) {
		/* the kernel refused the frame (bad vnet header, runt,
		 * interface down, no memory), or the fd is gone */
		n->tx_dropped++;
		virtio_dev_error(&n->s.dev, "TX frame of %u bytes not sent: %s", e->out_len,
				 strerror((int)-r));
		if (r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN || r == -EBADFD ||
		    r == -EBADF)
			net_link_down(n, (int)r);
		return 0;
	}
	n->tx_frames++;
	n->tx_bytes += e->out_len - NET_HDR_LEN;
	return 0;
}

/* Frames the guest sends while the link is down are dropped (tx_send);
 * receiving waits for the link. */
static bool net_may_run(struct stream *s, unsigned q)
{
	return q != STREAM_RXQ || to_net(s)->link_up;
}

static void net_start(struct stream *s)
{
	net_update_rx_need(to_net(s));
}

static const struct stream_ops net_stream_ops = {
	.rx_take = net_rx_take,
	.rx_read = net_rx_read,
	.rx_forget = net_rx_forget,
	.tx_send = net_tx_send,
	.may_run = net_may_run,
	.start = net_start,
};

/* ---- transport callbacks -------------------------------------------- */

static int net_features_ok(struct virtio_dev *d, uint64_t f)
{
	struct net *n = d->priv;

	/* §5.1.3.1 feature dependencies */
	if ((f & (BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6))) &&
	    !(f & BIT(VIRTIO_NET_F_GUEST_CSUM))) {
		virtio_dev_error(&n->s.dev, "GUEST_TSO without GUEST_CSUM refused");
		return -EINVAL;
	}
	if ((f & (BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6))) &&
	    !(f & BIT(VIRTIO_NET_F_CSUM))) {
		virtio_dev_error(&n->s.dev, "HOST_TSO without CSUM refused");
		return -EINVAL;
	}
	return tap_apply(n, f);
}

static void net_reset(struct virtio_dev *d)
{
	struct net *n = d->priv;

	stream_stop(&n->s);
	/* the next driver may not want what this one negotiated */
	if (n->offloads && ioctl(n->s.fd, TUNSETOFFLOAD, 0) < 0)
		log_warn("%s: TUNSETOFFLOAD 0: %s", d->name, strerror(errno));
}

static void net_free(struct net *n)
{
	stream_fini(&n->s);
	free(n);
}

static void net_destroy(struct virtio_dev *d)
{
	net_free(d->priv);
}

static void add_offload(struct json_object *arr, const struct net *n, unsigned bit,
			const char *name)
{
	if (has(n, bit))
		json_object_array_add(arr, json_object_new_string(name));
}

static void net_describe(struct virtio_dev *d, struct json_object *obj)
{
	struct net *n = d->priv;
	struct json_object *off = json_object_new_array();
	char mac[18];

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1], n->mac[2],
		 n->mac[3], n->mac[4], n->mac[5]);
	json_object_object_add(obj, "mac", json_object_new_string(mac));
	json_object_object_add(obj, "link", json_object_new_string(n->link_up ? "up" : "down"));
	add_offload(off, n, VIRTIO_NET_F_CSUM, "csum");
	add_offload(off, n, VIRTIO_NET_F_HOST_TSO4, "tso4");
	add_offload(off, n, VIRTIO_NET_F_HOST_TSO6, "tso6");
	add_offload(off, n, VIRTIO_NET_F_GUEST_CSUM, "guest_csum");
	add_offload(off, n, VIRTIO_NET_F_GUEST_TSO4, "guest_tso4");
	add_offload(off, n, VIRTIO_NET_F_GUEST_TSO6, "guest_tso6");
	json_object_object_add(obj, "offloads", off);
	json_object_object_add(obj, "mrg_rxbuf",
			       json_object_new_boolean(has(n, VIRTIO_NET_F_MRG_RXBUF)));
	json_object_object_add(obj, "rx_frames", json_object_new_uint64(n->rx_frames));
	json_object_object_add(obj, "tx_frames", json_object_new_uint64(n->tx_frames));
	json_object_object_add(obj, "rx_truncated", json_object_new_uint64(n->rx_truncated));
	json_object_object_add(obj, "tx_dropped", json_object_new_uint64(n->tx_dropped));
}

static const struct virtio_dev_ops net_ops = {
	.name = "net",
	.features_ok = net_features_ok,
	.driver_ok = stream_start,
	.queue_notify = stream_queue_notify,
	.reset = net_reset,
	.drain = stream_drain,
	.resumed = stream_start,
	.destroy = net_destroy,
	.describe = net_describe,
};

static bool mac_is_zero(const uint8_t *mac)
{
	static const uint8_t zero[6];

	return memcmp(mac, zero, sizeof(zero)) == 0;
}

int net_create(const struct vdev_params *p, const struct net_params *np, struct virtio_dev **ret)
{
	struct net *n;
	uint64_t features;
	int r;

	if (np->mac[0] & 1)
		log_err("net@0x%llx: MAC address is multicast", (unsigned long long)p->base);
	if (np->tap_fd < 0 || !p->evbase || (np->mac[0] & 1)) {
		safe_close(np->tap_fd);
		return -EINVAL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		safe_close(np->tap_fd);
		return -ENOMEM;
	}
	snprintf(n->s.dev.name, sizeof(n->s.dev.name), "net@0x%llx", (unsigned long long)p->base);
	r = stream_init(&n->s, &net_stream_ops, np->tap_fd, p->evbase);
	if (r == 0)
		r = net_probe(n);
	if (r < 0) {
		net_free(n);
		return r;
	}
	features = BIT(VIRTIO_NET_F_STATUS) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
		   BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_RING_F_INDIRECT_DESC);
	/* no MAC configured: the driver picks a random one (§5.1.5) */
	if (!mac_is_zero(np->mac))
		features |= BIT(VIRTIO_NET_F_MAC);
	if (n->offloads)
		features |= NET_OFFLOAD_FEATURES;
	virtio_dev_init(&n->s.dev, &net_ops, n, VIRTIO_ID_NET, p, features, 2, NET_QUEUE_MAX,
			NET_CONFIG_SIZE);
	memcpy(n->mac, np->mac, sizeof(n->mac));
	memcpy(n->s.dev.config + offsetof(struct virtio_net_config, mac), n->mac, 6);
	n->link_up = true;
	net_set_status(n);
	n->rx_need = NET_HDR_LEN + NET_STD_FRAME;
	log_info("%s: %s, mac %02x:%02x:%02x:%02x:%02x:%02x, offloads %s", n->s.dev.name,
		 n->is_tap    ? "tap"
		 : n->is_sock ? "socket"
			      : "fd",
		 n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5],
		 n->offloads ? "offered" : "none");
	*ret = &n->s.dev;
	return 0;
}
