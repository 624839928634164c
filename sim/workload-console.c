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
	uint64_t bytes = 0, seconds = 10, t_end;
	bool have_bytes = false;
	const struct wl_opt opts[] = {
		WL_SIZE_GIVEN("bytes", &bytes, 1, UINT64_MAX, &have_bytes),
		WL_U64("seconds", &seconds, 1, 86400),
	};
	struct echo_state e = {0};
	struct con c = {0};
	int slice, r = wl_options(w, argc, argv, opts, ARRAY_SIZE(opts));

	if (r != WL_OK)
		return r;
	r = con_init(&c, w);
	c.on_rx = echo_rx;
	c.ctx = &e;
	if (r == 0)
		r = con_post_all_rx(&c);
	if (r < 0)
		goto out;
	wl_say(w, "echoing the console for %llu s%s", (unsigned long long)seconds,
	       have_bytes ? " or until the byte count is reached" : "");
	t_end = wl_deadline(seconds);
	/* echoed = sent back and taken by the device */
	while (!have_bytes || c.tx_bytes < bytes) {
		slice = wl_slice_ms(w, t_end);
		if (slice == 0 && have_bytes) {
			wl_err(w, "timed out after %llu s: %llu of %llu bytes echoed",
			       (unsigned long long)seconds, (unsigned long long)c.tx_bytes,
			       (unsigned long long)bytes);
			r = WL_FAIL;
			break;
		}
		if (slice == 0)
			break;
		r = wl_poll(w, c.vq, 2, echo_process, &c, slice);
		if (r < 0 && r != -ETIMEDOUT)
			break;
		r = WL_OK;
	}
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

/* Waits until the device took something; with what, for a message. */
static int send_wait(struct con *c, const char *what, uint64_t off, uint64_t bytes)
{
	int r = wl_poll(c->w, &c->vq[1], 1, send_reap, c, c->w->timeout_ms);

	if (r == -ETIMEDOUT)
		wl_err(c->w, "the device took nothing for %d ms (%s: %llu of %llu bytes)",
		       c->w->timeout_ms, what, (unsigned long long)off, (unsigned long long)bytes);
	return r < 0 ? r : 0;
}

/* The pattern of seed, bytes long, with back-pressure; then until sent. */
static int send_all(struct con *c, uint64_t seed, uint64_t bytes)
{
	uint64_t off = 0;
	int r;

	for (unsigned i = 0; i < c->n_bufs; i++)
		c->tx_free[c->n_tx_free++] = i;
	while (off < bytes) {
		unsigned added = 0;

		while (off < bytes && c->n_tx_free > 0) {
			unsigned i = c->tx_free[--c->n_tx_free];
			uint32_t len = (uint32_t)MIN(bytes - off, (uint64_t)CON_BUF);

			wl_pattern_fill(seed, off, con_buf(c, i), len);
			r = con_add(c, 1, i, len);
			if (r < 0)
				return r;
			off += len;
			added++;
		}
		if (added)
			hvg_vq_kick(c->vq[1]);
		if (c->n_tx_free == 0 || off >= bytes) {
			r = send_wait(c, "queued", off, bytes);
			if (r < 0)
				return r;
		}
	}
	while (c->tx_busy > 0) {
		r = send_wait(c, "sent", bytes - (uint64_t)c->tx_busy * CON_BUF, bytes);
		if (r < 0)
			return r;
	}
	return 0;
}

static int console_send(struct wl *w, int argc, char **argv)
{
	uint64_t bytes = 0, seed = 1, t0;
	bool have_bytes = false;
	const struct wl_opt opts[] = {
		WL_SIZE_GIVEN("bytes", &bytes, 1, UINT64_MAX, &have_bytes),
		WL_U64("seed", &seed, 0, UINT64_MAX),
	};
	struct con c = {0};
	double secs;
	int r = wl_options(w, argc, argv, opts, ARRAY_SIZE(opts));

	if (r != WL_OK)
		return r;
	if (!have_bytes) {
		wl_err(w, "--bytes N is required");
		return WL_USAGE;
	}
	r = con_init(&c, w);
	t0 = wl_now_ns();
	if (r == 0)
		r = send_all(&c, seed, bytes);
	if (r == 0) {
		secs = (double)(wl_now_ns() - t0) / 1e9;
		wl_res_u64(w, "bytes", bytes);
		wl_res_dbl(w, "elapsed_s", secs);
		wl_res_dbl(w, "mib_per_s", (double)bytes / 1048576.0 / (secs > 0 ? secs : 1));
		wl_say(w, "sent %llu bytes (seed %llu) in %.2f s", (unsigned long long)bytes,
		       (unsigned long long)seed, secs);
		wl_res_per_req(w, (bytes + CON_BUF - 1) / CON_BUF);
		r = WL_OK;
	}
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
	struct recv_state *s = calloc(1, sizeof(*s));
	bool have_bytes = false;
	struct con c = {0};
	uint64_t t0;
	int r;

	if (!s)
		return -ENOMEM;
	s->seed = 1;
	{
		const struct wl_opt opts[] = {
			WL_SIZE_GIVEN("bytes", &s->want, 1, UINT64_MAX, &have_bytes),
			WL_U64("seed", &s->seed, 0, UINT64_MAX),
		};

		r = wl_options(w, argc, argv, opts, ARRAY_SIZE(opts));
	}
	if (r == WL_OK && !have_bytes) {
		wl_err(w, "--bytes N is required");
		r = WL_USAGE;
	}
	if (r != WL_OK) {
		free(s);
		return r;
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
