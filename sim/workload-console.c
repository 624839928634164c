// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-console workloads (VIRTIO 1.2 §5.3, one port, no MULTIPORT):
 * queue 0 receives, queue 1 transmits.
 *  console-echo  sends back everything it receives: the RX buffer itself
 *                goes on the TX queue and is re-posted for RX once the
 *                device has sent it (no copy, and back-pressure for free);
 *  console-send  sends a deterministic pattern, waiting for used buffers
 *                when the queue is full (never drops);
 *  console-recv  receives and checks the same pattern.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#include "hvsim-guest.h"

#define CON_BUF	  4096u
#define CON_NBUFS 64u

struct con {
	struct wl *w;
	struct hvg_vq *vq[2]; /* rx, tx */
	unsigned n_bufs;
	uint64_t buf_gpa;
	uint8_t *buf_host; /* n_bufs buffers of CON_BUF */
	unsigned tx_busy;
	uint32_t *tx_len; /* per buffer: bytes it carries on TX */
	unsigned *tx_free;
	unsigned n_tx_free;
	uint64_t rx_bytes, tx_bytes; /* received; sent and completed */
	int (*on_rx)(struct con *c, unsigned i, uint32_t len);
	void *ctx;
};

static int con_init(struct con *c, struct wl *w)
{
	int r;

	memset(c, 0, sizeof(*c));
	c->w = w;
	r = wl_start(w, VIRTIO_ID_CONSOLE, 0, c->vq, 2);
	if (r < 0)
		return r;
	c->n_bufs = MIN(MIN(hvg_vq_free_descs(c->vq[0]), hvg_vq_free_descs(c->vq[1])), CON_NBUFS);
	r = wl_alloc(w, (uint64_t)c->n_bufs * CON_BUF, 4096, &c->buf_gpa, (void **)&c->buf_host);
	if (r < 0)
		return r;
	c->tx_free = calloc(c->n_bufs, sizeof(*c->tx_free));
	c->tx_len = calloc(c->n_bufs, sizeof(*c->tx_len));
	return c->tx_free && c->tx_len ? 0 : -ENOMEM;
}

static void con_free(struct con *c)
{
	free(c->tx_free);
	free(c->tx_len);
}

static uint8_t *con_buf(struct con *c, unsigned i)
{
	return c->buf_host + (size_t)i * CON_BUF;
}

static int con_add(struct con *c, unsigned q, unsigned i, uint32_t len)
{
	struct hvg_buf b = {
		.gpa = c->buf_gpa + (uint64_t)i * CON_BUF, .len = len, .writable = q == 0};
	int r = hvg_vq_add(c->vq[q], &b, 1, false, (void *)(uintptr_t)(i + 1));

	if (r == 0 && q == 1) {
		c->tx_len[i] = len;
		c->tx_busy++;
	}
	return r;
}

static int con_post_all_rx(struct con *c)
{
	for (unsigned i = 0; i < c->n_bufs; i++) {
		int r = con_add(c, 0, i, CON_BUF);

		if (r < 0)
			return r;
	}
	hvg_vq_kick(c->vq[0]);
	return 0;
}

/* Completed TX buffers: counted; echo re-posts them for RX, send reuses them. */
static int con_tx_reap(struct con *c, bool repost_rx)
{
	int got = 0, r;

	for (;;) {
		void *token;
		uint32_t len;
		unsigned i;

		r = hvg_vq_get(c->vq[1], &token, &len);
		if (r < 0) {
			wl_err(c->w, "the device corrupted the transmit used ring");
			return r;
		}
		if (r == 0)
			break;
		i = (unsigned)((uintptr_t)token - 1);
		c->tx_busy--;
		/* sent: the device has consumed the bytes (len is not its word here) */
		c->tx_bytes += c->tx_len[i];
		got++;
		if (repost_rx) {
			r = con_add(c, 0, i, CON_BUF);
			if (r < 0)
				return r;
		} else {
			c->tx_free[c->n_tx_free++] = i;
		}
	}
	if (got && repost_rx)
		hvg_vq_kick(c->vq[0]);
	return got;
}

static int con_rx_reap(struct con *c)
{
	int got = 0, r;

	for (;;) {
		void *token;
		uint32_t len;

		r = hvg_vq_get(c->vq[0], &token, &len);
		if (r < 0) {
			wl_err(c->w, "the device corrupted the receive used ring");
			return r;
		}
		if (r == 0)
			return got;
		if (len > CON_BUF) {
			wl_err(c->w,
			       "the device claims to have written %u bytes into a %u-byte buffer",
			       len, CON_BUF);
			return -EIO;
		}
		got++;
		c->rx_bytes += len;
		r = c->on_rx(c, (unsigned)((uintptr_t)token - 1), len);
		if (r < 0)
			return r;
	}
}

/* --- console-echo ------------------------------------------------------------------ */

struct echo_state {
	bool tx_added, rx_added;
};

static int echo_rx(struct con *c, unsigned i, uint32_t len)
{
	struct echo_state *e = c->ctx;

	if (len == 0) {
		/* nothing to send back: the buffer goes straight back to RX */
		e->rx_added = true;
		return con_add(c, 0, i, CON_BUF);
	}
	e->tx_added = true;
	return con_add(c, 1, i, len);
}

static int echo_process(void *arg)
{
	struct con *c = arg;
	struct echo_state *e = c->ctx;
	int a, b;

	e->tx_added = e->rx_added = false;
	a = con_rx_reap(c);
	if (a < 0)
		return a;
	if (e->tx_added)
		hvg_vq_kick(c->vq[1]);
	if (e->rx_added)
		hvg_vq_kick(c->vq[0]);
	b = con_tx_reap(c, true);
	if (b < 0)
		return b;
	return a + b;
}

static int console_echo(struct wl *w, int argc, char **argv)
{
	static const struct option opts[] = {
		{"bytes", required_argument, NULL, 'b'},
		{"seconds", required_argument, NULL, 's'},
		{},
	};
	uint64_t bytes = 0, seconds = 10, t_end;
	bool have_bytes = false;
	struct echo_state e = {0};
	struct con c;
	int ch, r;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			r = wl_parse_size(w, "--bytes", optarg, 1, UINT64_MAX, &bytes);
			have_bytes = true;
			break;
		case 's':
			r = wl_parse_u64(w, "--seconds", optarg, 1, 86400, &seconds);
			break;
		default:
			return WL_USAGE;
		}
		if (r < 0)
			return WL_USAGE;
	}
	if (optind != argc) {
		wl_err(w, "unexpected argument '%s'", argv[optind]);
		return WL_USAGE;
	}
	r = con_init(&c, w);
	if (r < 0)
		goto out;
	c.on_rx = echo_rx;
	c.ctx = &e;
	r = con_post_all_rx(&c);
	if (r < 0)
		goto out;
	wl_say(w, "echoing the console for %llu s%s", (unsigned long long)seconds,
	       have_bytes ? " or until the byte count is reached" : "");

	t_end = wl_now_ns() + seconds * 1000000000u;
	for (;;) {
		uint64_t now = wl_now_ns();

		/* echoed = sent back and taken by the device */
		if (have_bytes && c.tx_bytes >= bytes)
			break;
		if (now >= t_end) {
			if (have_bytes) {
				wl_err(w, "timed out after %llu s: %llu of %llu bytes echoed",
				       (unsigned long long)seconds, (unsigned long long)c.tx_bytes,
				       (unsigned long long)bytes);
				r = WL_FAIL;
				goto report;
			}
			break;
		}
		r = wl_poll(w, c.vq, 2, echo_process, &c,
			    (int)MIN((t_end - now) / 1000000 + 1, (uint64_t)w->timeout_ms));
		if (r < 0 && r != -ETIMEDOUT)
			goto report;
	}
	r = WL_OK;
report:
	wl_res_u64(w, "bytes_received", c.rx_bytes);
	wl_res_u64(w, "bytes_echoed", c.tx_bytes);
	wl_say(w, "received %llu bytes, echoed %llu", (unsigned long long)c.rx_bytes,
	       (unsigned long long)c.tx_bytes);
	wl_res_per_req(w, (c.rx_bytes + CON_BUF - 1) / CON_BUF);
out:
	con_free(&c);
	return r;
}

/* --- console-send / console-recv ------------------------------------------------------ */

static int send_reap(void *arg)
{
	return con_tx_reap(arg, false);
}

static int console_send(struct wl *w, int argc, char **argv)
{
	static const struct option opts[] = {
		{"bytes", required_argument, NULL, 'b'},
		{"seed", required_argument, NULL, 's'},
		{},
	};
	uint64_t bytes = 0, seed = 1, off = 0, t0;
	bool have_bytes = false;
	struct con c;
	int ch, r;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			r = wl_parse_size(w, "--bytes", optarg, 1, UINT64_MAX, &bytes);
			have_bytes = true;
			break;
		case 's':
			r = wl_parse_u64(w, "--seed", optarg, 0, UINT64_MAX, &seed);
			break;
		default:
			return WL_USAGE;
		}
		if (r < 0)
			return WL_USAGE;
	}
	if (optind != argc || !have_bytes) {
		wl_err(w, "--bytes N is required");
		return WL_USAGE;
	}
	r = con_init(&c, w);
	if (r < 0)
		goto out;
	for (unsigned i = 0; i < c.n_bufs; i++)
		c.tx_free[c.n_tx_free++] = i;
	t0 = wl_now_ns();
	while (off < bytes) {
		unsigned added = 0;

		while (off < bytes && c.n_tx_free > 0) {
			unsigned i = c.tx_free[--c.n_tx_free];
			uint32_t len = (uint32_t)MIN(bytes - off, (uint64_t)CON_BUF);

			wl_pattern_fill(seed, off, con_buf(&c, i), len);
			r = con_add(&c, 1, i, len);
			if (r < 0)
				goto out;
			off += len;
			added++;
		}
		if (added)
			hvg_vq_kick(c.vq[1]);
		if (c.n_tx_free == 0 || off >= bytes) {
			/* back-pressure: wait until the device took something */
			r = wl_poll(w, &c.vq[1], 1, send_reap, &c, w->timeout_ms);
			if (r == -ETIMEDOUT) {
				wl_err(w,
				       "the device took nothing for %d ms (%llu of %llu bytes queued)",
				       w->timeout_ms, (unsigned long long)off,
				       (unsigned long long)bytes);
				goto out;
			}
			if (r < 0)
				goto out;
		}
	}
	while (c.tx_busy > 0) {
		r = wl_poll(w, &c.vq[1], 1, send_reap, &c, w->timeout_ms);
		if (r < 0) {
			if (r == -ETIMEDOUT)
				wl_err(w, "%u buffers still not sent after %d ms", c.tx_busy,
				       w->timeout_ms);
			goto out;
		}
	}
	{
		double secs = (double)(wl_now_ns() - t0) / 1e9;

		wl_res_u64(w, "bytes", bytes);
		wl_res_dbl(w, "elapsed_s", secs);
		wl_res_dbl(w, "mib_per_s", (double)bytes / 1048576.0 / (secs > 0 ? secs : 1));
		wl_say(w, "sent %llu bytes (seed %llu) in %.2f s", (unsigned long long)bytes,
		       (unsigned long long)seed, secs);
	}
	wl_res_per_req(w, (bytes + CON_BUF - 1) / CON_BUF);
	r = WL_OK;
out:
	con_free(&c);
	return r;
}

struct recv_state {
	uint64_t seed, want, got, extra;
	uint8_t expect[CON_BUF];
	bool mismatch;
};

static int recv_rx(struct con *c, unsigned i, uint32_t len)
{
	struct recv_state *s = c->ctx;
	const uint8_t *b = con_buf(c, i);
	uint32_t check = (uint32_t)MIN((uint64_t)len, s->want - MIN(s->got, s->want));

	if (check > 0 && !s->mismatch) {
		wl_pattern_fill(s->seed, s->got, s->expect, check);
		if (memcmp(s->expect, b, check) != 0) {
			for (uint32_t k = 0; k < check; k++)
				if (s->expect[k] != b[k]) {
					wl_err(c->w, "byte %llu is 0x%02x, expected 0x%02x",
					       (unsigned long long)(s->got + k), b[k],
					       s->expect[k]);
					break;
				}
			s->mismatch = true;
		}
	}
	s->extra += len - check;
	s->got += check;
	return con_add(c, 0, i, CON_BUF) < 0 ? -EIO : 0;
}

static int recv_process(void *arg)
{
	struct con *c = arg;
	int r = con_rx_reap(c);

	if (r > 0)
		hvg_vq_kick(c->vq[0]);
	return r;
}

static int console_recv(struct wl *w, int argc, char **argv)
{
	static const struct option opts[] = {
		{"bytes", required_argument, NULL, 'b'},
		{"seed", required_argument, NULL, 's'},
		{},
	};
	struct recv_state *s;
	bool have_bytes = false;
	uint64_t t0;
	struct con c;
	int ch, r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->seed = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			r = wl_parse_size(w, "--bytes", optarg, 1, UINT64_MAX, &s->want);
			have_bytes = true;
			break;
		case 's':
			r = wl_parse_u64(w, "--seed", optarg, 0, UINT64_MAX, &s->seed);
			break;
		default:
			free(s);
			return WL_USAGE;
		}
		if (r < 0) {
			free(s);
			return WL_USAGE;
		}
	}
	if (optind != argc || !have_bytes) {
		wl_err(w, "--bytes N is required");
		free(s);
		return WL_USAGE;
	}
	r = con_init(&c, w);
	if (r < 0)
		goto out;
	c.on_rx = recv_rx;
	c.ctx = s;
	r = con_post_all_rx(&c);
	if (r < 0)
		goto out;
	t0 = wl_now_ns();
	while (s->got < s->want && !s->mismatch) {
		r = wl_poll(w, c.vq, 1, recv_process, &c, w->timeout_ms);
		if (r == -ETIMEDOUT) {
			wl_err(w, "nothing received for %d ms (%llu of %llu bytes)", w->timeout_ms,
			       (unsigned long long)s->got, (unsigned long long)s->want);
			goto out;
		}
		if (r < 0)
			goto out;
	}
	{
		double secs = (double)(wl_now_ns() - t0) / 1e9;

		wl_res_u64(w, "bytes", s->got);
		wl_res_u64(w, "extra_bytes", s->extra);
		wl_res_bool(w, "pattern_ok", !s->mismatch);
		wl_res_dbl(w, "elapsed_s", secs);
		wl_say(w, "received %llu bytes (seed %llu): %s%s", (unsigned long long)s->got,
		       (unsigned long long)s->seed, s->mismatch ? "MISMATCH" : "pattern OK",
		       s->extra ? ", and more after them" : "");
	}
	wl_res_per_req(w, (s->got + CON_BUF - 1) / CON_BUF);
	r = s->mismatch ? WL_FAIL : WL_OK;
out:
	con_free(&c);
	free(s);
	return r;
}

const struct workload wl_console_echo = {
	.name = "console-echo",
	.usage = "[--bytes N] [--seconds S=10]",
	.run = console_echo,
};

const struct workload wl_console_send = {
	.name = "console-send",
	.usage = "--bytes N [--seed S=1]",
	.run = console_send,
};

const struct workload wl_console_recv = {
	.name = "console-recv",
	.usage = "--bytes N [--seed S=1]",
	.run = console_recv,
};
