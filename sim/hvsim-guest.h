/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hvsim-guest internals: what the CLI (hvsim-guest.c) gives every workload
 * (workload-*.c): the opened device, common options, a results object,
 * the wait loop, and the deterministic data patterns (also used by tests
 * to check what a workload sent).
 */
#ifndef HVSIM_GUEST_H
#define HVSIM_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvguest.h"
#include "macro.h"

struct json_object;

/* Exit codes of the CLI: WL_OK only when the workload verified what it
 * checks. */
enum {
	WL_OK = 0,
	WL_FAIL = 1,  /* a check failed, a timeout, a device error */
	WL_USAGE = 2, /* bad options */
};

struct wl {
	const char *name; /* the workload */
	struct hvg_transport *t;
	struct hvg_dev *d;
	uint64_t base;	/* the device's registers */
	int timeout_ms; /* longest wait for the device */
	bool no_event_idx, no_indirect;
	bool json;
	struct json_object *res; /* results, printed with --json */
};

struct workload {
	const char *name;
	const char *usage; /* options after the name */
	/* argv[0] is the workload name; returns an exit code or -errno */
	int (*run)(struct wl *w, int argc, char **argv);
};

extern const struct workload wl_blk_verify, wl_blk_bench;
extern const struct workload wl_net_echo, wl_net_bench;
extern const struct workload wl_console_echo, wl_console_send, wl_console_recv;
extern const struct workload wl_reg_bench;

/* Checks the device id, negotiates `features` plus the ring features the
 * options allow, sets up queues 0..n-1 (size: QueueNumMax, at most 256)
 * with interrupts off, sets DRIVER_OK. Messages on failure. */
int wl_start(struct wl *w, uint32_t device_id, uint64_t features, struct hvg_vq **vqs, unsigned n);
bool wl_has(const struct wl *w, unsigned feature);

/* One round of "process what completed, else sleep until the device
 * interrupts": calls process(arg); if it found nothing, enables the
 * queues' interrupts, calls it again, and if still nothing waits up to
 * timeout_ms for the device. Returns what process returned (> 0), 0 after an
 * interrupt, -ETIMEDOUT, or -errno. Re-arms the watchdog. */
int wl_poll(struct wl *w, struct hvg_vq **vqs, unsigned n, int (*process)(void *arg), void *arg,
	    int timeout_ms);
/* The watchdog ends the program (exit 1) when nothing returns from the
 * device for timeout + 2 s, e.g. a register access that is never answered. */
void wl_watchdog(const struct wl *w);

/* Output: human lines (not with --json), errors (always, on stderr),
 * result fields (always collected, printed with --json). */
void wl_say(const struct wl *w, const char *fmt, ...) _printf_(2, 3);
void wl_err(const struct wl *w, const char *fmt, ...) _printf_(2, 3);
void wl_res_u64(struct wl *w, const char *key, uint64_t v);
void wl_res_dbl(struct wl *w, const char *key, double v);
void wl_res_str(struct wl *w, const char *key, const char *v);
void wl_res_bool(struct wl *w, const char *key, bool v);
/* notifications / interrupts per request, both as results */
void wl_res_per_req(struct wl *w, uint64_t requests);

/* Option values: "opt" names the option in messages. 0 or -EINVAL
 * (message printed). Sizes accept K/M/G suffixes (powers of 1024). */
int wl_parse_u64(const struct wl *w, const char *opt, const char *s, uint64_t min, uint64_t max,
		 uint64_t *ret);
int wl_parse_size(const struct wl *w, const char *opt, const char *s, uint64_t min, uint64_t max,
		  uint64_t *ret);

/* A workload's option: --name, into ret. */
enum wl_opt_kind {
	WL_OPT_U64,    /* uint64_t in [min, max] */
	WL_OPT_SIZE,   /* uint64_t with K/M/G in [min, max], a multiple of unit (0: any) */
	WL_OPT_FLAG,   /* bool, set */
	WL_OPT_STR,    /* const char * */
	WL_OPT_CHOICE, /* unsigned: the index of the value in choices (NULL-terminated) */
};

struct wl_opt {
	const char *name;
	enum wl_opt_kind kind;
	void *ret;
	uint64_t min, max, unit;
	const char *const *choices;
	const char *usage; /* WL_OPT_CHOICE: the choices, for a message */
	bool *given;	   /* set when the option is given (may be NULL) */
};

#define WL_OPTS_MAX 8
#define WL_U64(n, p, lo, hi)                                                          \
	{                                                                             \
		.name = (n), .kind = WL_OPT_U64, .ret = (p), .min = (lo), .max = (hi) \
	}
#define WL_SIZE(n, p, lo, hi, u)                                                        \
	{                                                                               \
		.name = (n), .kind = WL_OPT_SIZE, .ret = (p), .min = (lo), .max = (hi), \
		.unit = (u)                                                             \
	}
/* a size option that says whether it was given */
#define WL_SIZE_GIVEN(n, p, lo, hi, g)                                                  \
	{                                                                               \
		.name = (n), .kind = WL_OPT_SIZE, .ret = (p), .min = (lo), .max = (hi), \
		.given = (g)                                                            \
	}
#define WL_FLAG(n, p)                                        \
	{                                                    \
		.name = (n), .kind = WL_OPT_FLAG, .ret = (p) \
	}
#define WL_STR(n, p)                                        \
	{                                                   \
		.name = (n), .kind = WL_OPT_STR, .ret = (p) \
	}
#define WL_CHOICE(n, p, list, text)                                                                \
	{                                                                                          \
		.name = (n), .kind = WL_OPT_CHOICE, .ret = (p), .choices = (list), .usage = (text) \
	}

/* A workload's options (argv[0] its name; no positional arguments) into
 * the opts' ret: WL_OK, or WL_USAGE after a message. */
int wl_options(const struct wl *w, int argc, char **argv, const struct wl_opt *opts, size_t n);

/* Until t_end (ns), in waits of at most the device timeout: the next wait
 * (ms), 0 once t_end has passed. */
int wl_slice_ms(const struct wl *w, uint64_t t_end);
uint64_t wl_now_ns(void);
/* seconds from now, as a wl_now_ns() time */
uint64_t wl_deadline(uint64_t seconds);
/* sorts v and returns its p-quantile (0..1); 0 for an empty set */
uint64_t wl_quantile(uint64_t *v, size_t n, double p, bool sorted);
void wl_sort(uint64_t *v, size_t n);

/* Heap buffers the workloads reuse for the whole run. */
int wl_alloc(struct wl *w, uint64_t size, uint64_t align, uint64_t *ret_gpa, void **ret_host);

/* Deterministic data. */
static inline uint64_t wl_mix64(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static inline uint64_t wl_rand(uint64_t *state)
{
	*state += UINT64_C(0x9e3779b97f4a7c15);
	return wl_mix64(*state);
}

/* The byte stream console-send sends and console-recv checks. */
static inline uint8_t wl_pattern_byte(uint64_t seed, uint64_t off)
{
	return (uint8_t)(wl_mix64(seed ^ wl_mix64(off / 8)) >> (8 * (off % 8)));
}

static inline void wl_pattern_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint64_t o = off + i, word = wl_mix64(seed ^ wl_mix64(o / 8));

		for (unsigned b = (unsigned)(o % 8); b < 8 && i < len; b++, i++)
			buf[i] = (uint8_t)(word >> (8 * b));
	}
}

#endif
