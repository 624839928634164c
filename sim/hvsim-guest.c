// SPDX-License-Identifier: GPL-2.0-only
/*
 * hvsim-guest: plays a zone's guest against the virtio devices of
 * hvisor-virtiod through hvisor-sim (libhvguest over the sim transport) and
 * runs one workload: data checks (blk-verify, net-echo, console-*) or
 * measurements (blk-bench, net-bench, reg-bench). docs/hvsim-guest.md.
 *
 * Exit status: 0 only when the workload verified what it checks, 1 when a
 * check failed or the device did not answer in time, 2 for bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "abi/zone-config.h"
#include "hvsim-guest.h"
#include "util.h"

static const struct workload *const workloads[] = {
	&wl_blk_verify,	  &wl_blk_bench,    &wl_net_echo,     &wl_net_bench,
	&wl_console_echo, &wl_console_send, &wl_console_recv, &wl_reg_bench,
};

static int watchdog_ms;

/* --- output -------------------------------------------------------------------- */

void wl_say(const struct wl *w, const char *fmt, ...)
{
	va_list ap;

	if (w->json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void wl_err(const struct wl *w, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hvsim-guest: %s: ", w->name ? w->name : "error");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void wl_res_u64(struct wl *w, const char *key, uint64_t v)
{
	json_object_object_add(w->res, key, json_object_new_uint64(v));
}

void wl_res_dbl(struct wl *w, const char *key, double v)
{
	json_object_object_add(w->res, key, json_object_new_double(v));
}

void wl_res_str(struct wl *w, const char *key, const char *v)
{
	json_object_object_add(w->res, key, json_object_new_string(v));
}

void wl_res_bool(struct wl *w, const char *key, bool v)
{
	json_object_object_add(w->res, key, json_object_new_boolean(v));
}

void wl_res_per_req(struct wl *w, uint64_t requests)
{
	double n = requests ? (double)requests : 1.0;

	wl_res_u64(w, "notifications", hvg_dev_notifications(w->d));
	wl_res_u64(w, "interrupts", hvg_dev_interrupts(w->d));
	wl_res_dbl(w, "notifications_per_request", (double)hvg_dev_notifications(w->d) / n);
	wl_res_dbl(w, "interrupts_per_request", (double)hvg_dev_interrupts(w->d) / n);
	wl_say(w, "notifications/request %.3f, interrupts/request %.3f",
	       (double)hvg_dev_notifications(w->d) / n, (double)hvg_dev_interrupts(w->d) / n);
}

/* --- option values --------------------------------------------------------------- */

int wl_parse_u64(const struct wl *w, const char *opt, const char *s, uint64_t min, uint64_t max,
		 uint64_t *ret)
{
	uint64_t v;

	if (parse_u64(s, UINT64_MAX, &v) < 0 || v < min || v > max) {
		wl_err(w, "%s: '%s' is not a number in [%llu, %llu]", opt, s,
		       (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

int wl_parse_size(const struct wl *w, const char *opt, const char *s, uint64_t min, uint64_t max,
		  uint64_t *ret)
{
	char buf[64];
	size_t len = strlen(s);
	unsigned shift = 0;
	uint64_t v;

	if (len > 0 && len < sizeof(buf)) {
		switch (s[len - 1]) {
		case 'k':
		case 'K':
			shift = 10;
			break;
		case 'm':
		case 'M':
			shift = 20;
			break;
		case 'g':
		case 'G':
			shift = 30;
			break;
		default:
			break;
		}
	}
	if (shift) {
		memcpy(buf, s, len - 1);
		buf[len - 1] = '\0';
		s = buf;
	}
	if (parse_u64(s, UINT64_MAX >> shift, &v) < 0 || (v << shift) < min || (v << shift) > max) {
		wl_err(w, "%s: '%s%s' is not a size in [%llu, %llu]", opt, s,
		       shift == 10   ? "K"
		       : shift == 20 ? "M"
		       : shift == 30 ? "G"
				     : "",
		       (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*ret = v << shift;
	return 0;
}

static int parse_opt(const struct wl *w, const struct wl_opt *o, const char *arg)
{
	char name[40];
	int r = 0;

	snprintf(name, sizeof(name), "--%s", o->name);
	switch (o->kind) {
	case WL_OPT_U64:
		return wl_parse_u64(w, name, arg, o->min, o->max, o->ret);
	case WL_OPT_SIZE:
		r = wl_parse_size(w, name, arg, o->min, o->max, o->ret);
		if (r == 0 && o->unit && *(uint64_t *)o->ret % o->unit) {
			wl_err(w, "%s must be a multiple of %llu", name,
			       (unsigned long long)o->unit);
			r = -EINVAL;
		}
		return r;
	case WL_OPT_FLAG:
		*(bool *)o->ret = true;
		return 0;
	case WL_OPT_STR:
		*(const char **)o->ret = arg;
		return 0;
	case WL_OPT_CHOICE:
		for (unsigned i = 0; o->choices[i]; i++)
			if (strcmp(arg, o->choices[i]) == 0) {
				*(unsigned *)o->ret = i;
				return 0;
			}
		wl_err(w, "%s: '%s' is not one of %s", name, arg, o->usage);
		return -EINVAL;
	}
	return -EINVAL;
}

int wl_options(const struct wl *w, int argc, char **argv, const struct wl_opt *opts, size_t n)
{
	struct option lo[WL_OPTS_MAX + 1] = {0};
	int c;

	for (size_t i = 0; i < n && i < WL_OPTS_MAX; i++)
		lo[i] = (struct option){
			opts[i].name, opts[i].kind == WL_OPT_FLAG ? no_argument : required_argument,
			NULL, (int)i};
	optind = 0; /* glibc: full re-initialisation */
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c < 0 || (size_t)c >= n || parse_opt(w, &opts[c], optarg) < 0)
			return WL_USAGE;
		if (opts[c].given)
			*opts[c].given = true;
	}
	if (optind != argc) {
		wl_err(w, "unexpected argument '%s'", argv[optind]);
		return WL_USAGE;
	}
	return WL_OK;
}

/* --- time, statistics, memory ------------------------------------------------------ */

uint64_t wl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t wl_deadline(uint64_t seconds)
{
	return wl_now_ns() + seconds * 1000000000u;
}

int wl_slice_ms(const struct wl *w, uint64_t t_end)
{
	uint64_t now = wl_now_ns();

	if (now >= t_end)
		return 0;
	return (int)MIN((t_end - now) / 1000000 + 1, (uint64_t)w->timeout_ms);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void wl_sort(uint64_t *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_u64);
}

uint64_t wl_quantile(uint64_t *v, size_t n, double p, bool sorted)
{
	size_t i;

	if (n == 0)
		return 0;
	if (!sorted)
		wl_sort(v, n);
	/* nearest rank */
	i = (size_t)(p * (double)n + 0.999999);
	if (i == 0)
		i = 1;
	if (i > n)
		i = n;
	return v[i - 1];
}

int wl_alloc(struct wl *w, uint64_t size, uint64_t align, uint64_t *ret_gpa, void **ret_host)
{
	uint64_t gpa = hvg_alloc(w->t, size, align);

	if (!gpa) {
		wl_err(w, "guest heap exhausted (%llu bytes wanted, heap of %llu); use --heap",
		       (unsigned long long)size, (unsigned long long)w->t->heap_size);
		return -ENOMEM;
	}
	*ret_gpa = gpa;
	if (ret_host)
		*ret_host = hvg_ptr(w->t, gpa, size);
	return 0;
}

/* --- device set-up and the wait loop ------------------------------------------------ */

bool wl_has(const struct wl *w, unsigned feature)
{
	return hvg_dev_negotiated(w->d) & (UINT64_C(1) << feature);
}

int wl_start(struct wl *w, uint32_t device_id, uint64_t features, struct hvg_vq **vqs, unsigned n)
{
	uint64_t negotiated = 0;
	char hex[32];
	int r;

	if (hvg_dev_id(w->d) != device_id) {
		wl_err(w, "the device is a virtio device of type %u, this workload needs type %u",
		       hvg_dev_id(w->d), device_id);
		return -ENODEV;
	}
	if (!w->no_event_idx)
		features |= UINT64_C(1) << VIRTIO_RING_F_EVENT_IDX;
	if (!w->no_indirect)
		features |= UINT64_C(1) << VIRTIO_RING_F_INDIRECT_DESC;
	r = hvg_dev_negotiate(w->d, features, &negotiated);
	if (r < 0) {
		wl_err(w, "feature negotiation failed (offered 0x%llx): %s",
		       (unsigned long long)hvg_dev_features(w->d), strerror(-r));
		return r;
	}
	snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)hvg_dev_features(w->d));
	wl_res_str(w, "features_offered", hex);
	snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)negotiated);
	wl_res_str(w, "features", hex);
	for (unsigned i = 0; i < n; i++) {
		r = hvg_vq_setup(w->d, i, 0, &vqs[i]);
		if (r < 0) {
			wl_err(w, "cannot set up queue %u: %s", i, strerror(-r));
			return r;
		}
		hvg_vq_irq_enable(vqs[i], false);
	}
	r = hvg_dev_driver_ok(w->d);
	if (r < 0)
		wl_err(w, "DRIVER_OK failed: %s", strerror(-r));
	wl_say(w, "%s: device type %u, features 0x%llx (event_idx %s, indirect %s)", w->name,
	       hvg_dev_id(w->d), (unsigned long long)negotiated,
	       wl_has(w, VIRTIO_RING_F_EVENT_IDX) ? "on" : "off",
	       wl_has(w, VIRTIO_RING_F_INDIRECT_DESC) ? "on" : "off");
	return r;
}

static void on_watchdog(int sig)
{
	static const char msg[] = "hvsim-guest: the device stopped answering (watchdog)\n";
	ssize_t k _unused_ = write(STDERR_FILENO, msg, sizeof(msg) - 1);

	_exit(WL_FAIL);
}

void wl_watchdog(const struct wl *w)
{
	static uint64_t last_arm;
	struct itimerval it = {0};
	uint64_t now = wl_now_ns();
	int ms = watchdog_ms;

	/* re-arming costs a system call: at most every 100 ms (the watchdog
	 * allows 2 s more than the longest wait) */
	if (ms <= 0 || (last_arm && now - last_arm < 100000000u))
		return;
	last_arm = now;
	it.it_value.tv_sec = ms / 1000;
	it.it_value.tv_usec = (ms % 1000) * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
}

static void set_irqs(struct hvg_vq **vqs, unsigned n, bool on)
{
	for (unsigned i = 0; i < n; i++)
		if (vqs[i])
			hvg_vq_irq_enable(vqs[i], on);
}

int wl_poll(struct wl *w, struct hvg_vq **vqs, unsigned n, int (*process)(void *arg), void *arg,
	    int timeout_ms)
{
	int r;

	wl_watchdog(w);
	r = process(arg);
	if (r != 0)
		return r;
	/* nothing: ask for an interrupt, then look once more so a completion
	 * that raced with the enable is not slept through */
	set_irqs(vqs, n, true);
	r = process(arg);
	if (r == 0) {
		r = hvg_dev_wait(w->d, timeout_ms, NULL);
		if (r == 0)
			r = -ETIMEDOUT;
		else if (r > 0)
			r = 0;
	}
	set_irqs(vqs, n, false);
	wl_watchdog(w);
	return r;
}

/* --- main -------------------------------------------------------------------------- */

enum {
	OPT_NO_EVENT_IDX = 0x100,
	OPT_NO_INDIRECT,
	OPT_JSON,
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: hvsim-guest --sim SOCKET --zone N --device ADDR [--irq N] [--cpu N]\n"
		   "                   [--heap GPA:SIZE] [--no-event-idx] [--no-indirect]\n"
		   "                   [--timeout MS] [--json] WORKLOAD [options]\n"
		   "\nWorkloads:\n");
	for (size_t i = 0; i < ARRAY_SIZE(workloads); i++)
		fprintf(f, "  %-14s %s\n", workloads[i]->name, workloads[i]->usage);
	fprintf(f, "\nExit status: 0 the workload verified what it checks, 1 it did not,\n"
		   "2 usage error. See docs/hvsim-guest.md.\n");
}

static int parse_heap(const struct wl *w, const char *s, uint64_t *gpa, uint64_t *size)
{
	char buf[128];
	char *colon;

	if (strlen(s) >= sizeof(buf))
		goto bad;
	strcpy(buf, s);
	colon = strchr(buf, ':');
	if (!colon)
		goto bad;
	*colon = '\0';
	if (parse_u64(buf, UINT64_MAX, gpa) < 0)
		goto bad;
	if (wl_parse_size(w, "--heap", colon + 1, 4096, UINT64_MAX, size) < 0)
		return -EINVAL;
	return 0;
bad:
	wl_err(w, "--heap: expected GPA:SIZE, e.g. 0x50000000:64M");
	return -EINVAL;
}

struct args {
	const char *sim;
	uint64_t zone, base, irq, heap_gpa, heap_size;
	int cpu;
	const struct workload *wl;
};

/* One option before the workload's name. 0, 1 to exit with WL_OK (--help,
 * --version), or -EINVAL after a message. */
static int parse_option(struct wl *w, struct args *a, int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case 's':
		a->sim = arg;
		return 0;
	case 'z':
		return wl_parse_u64(w, "--zone", arg, 1, UINT32_MAX, &a->zone);
	case 'd':
		return wl_parse_u64(w, "--device", arg, 0, UINT64_MAX - 0x1000, &a->base);
	case 'i':
		return wl_parse_u64(w, "--irq", arg, 0, UINT32_MAX, &a->irq);
	case 'c':
		if (wl_parse_u64(w, "--cpu", arg, 0, HV_CONFIG_MAX_CPUS - 1, &v) < 0)
			return -EINVAL;
		a->cpu = (int)v;
		return 0;
	case 'H':
		return parse_heap(w, arg, &a->heap_gpa, &a->heap_size);
	case 't':
		if (wl_parse_u64(w, "--timeout", arg, 1, 3600000, &v) < 0)
			return -EINVAL;
		w->timeout_ms = (int)v;
		return 0;
	case OPT_NO_EVENT_IDX:
		w->no_event_idx = true;
		return 0;
	case OPT_NO_INDIRECT:
		w->no_indirect = true;
		return 0;
	case OPT_JSON:
		w->json = true;
		return 0;
	case 'h':
		usage(stdout);
		return 1;
	case 'V':
		printf("hvsim-guest %s\n", HV_VERSION);
		return 1;
	}
	usage(stderr);
	return -EINVAL;
}

/* The options and the workload's name: -1 to run it, else the exit code. */
static int parse_argv(struct wl *w, struct args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{"sim", required_argument, NULL, 's'},
		{"zone", required_argument, NULL, 'z'},
		{"device", required_argument, NULL, 'd'},
		{"irq", required_argument, NULL, 'i'},
		{"cpu", required_argument, NULL, 'c'},
		{"heap", required_argument, NULL, 'H'},
		{"no-event-idx", no_argument, NULL, OPT_NO_EVENT_IDX},
		{"no-indirect", no_argument, NULL, OPT_NO_INDIRECT},
		{"timeout", required_argument, NULL, 't'},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{},
	};
	bool have_zone = false, have_base = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "+s:z:d:i:c:H:t:hV", opts, NULL)) != -1) {
		r = parse_option(w, a, c, optarg);
		if (r != 0)
			return r > 0 ? WL_OK : WL_USAGE;
		have_zone |= c == 'z';
		have_base |= c == 'd';
	}
	if (optind >= argc) {
		usage(stderr);
		return WL_USAGE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(workloads); i++)
		if (strcmp(argv[optind], workloads[i]->name) == 0)
			a->wl = workloads[i];
	if (!a->wl) {
		fprintf(stderr, "hvsim-guest: unknown workload '%s'\n", argv[optind]);
		usage(stderr);
		return WL_USAGE;
	}
	w->name = a->wl->name;
	if (!a->sim || !have_zone || !have_base) {
		wl_err(w, "--sim, --zone and --device are required");
		return WL_USAGE;
	}
	return -1;
}

/* Attaches as the zone's guest, probes the device, runs the workload. */
static int run(struct wl *w, const struct args *a, int argc, char **argv)
{
	int r = hvg_sim_open(a->sim, (uint32_t)a->zone, a->cpu, a->heap_gpa, a->heap_size, &w->t);

	if (r < 0) {
		wl_err(w, "cannot attach to zone %llu of %s as its guest: %s",
		       (unsigned long long)a->zone, a->sim, strerror(-r));
		return WL_FAIL;
	}
	r = hvg_dev_probe(w->t, a->base, (uint32_t)a->irq, &w->d);
	if (r < 0) {
		wl_err(w, "no virtio-mmio device at 0x%llx: %s", (unsigned long long)a->base,
		       strerror(-r));
		return WL_FAIL;
	}
	w->base = a->base;
	wl_res_u64(w, "device_id", hvg_dev_id(w->d));
	/* the workload parses its own options: argv[0] is its name */
	r = a->wl->run(w, argc, argv);
	if (r < 0)
		r = WL_FAIL; /* already reported */
	wl_res_u64(w, "register_reads", w->t->n_reads);
	wl_res_u64(w, "register_writes", w->t->n_writes);
	return r;
}

int main(int argc, char **argv)
{
	struct wl w = {.name = NULL, .timeout_ms = 10000};
	struct args a = {.cpu = -1};
	int r = parse_argv(&w, &a, argc, argv);

	if (r >= 0)
		return r;
	/* human lines and error messages in the order they happen, even in a pipe */
	setvbuf(stdout, NULL, _IOLBF, 0);
	w.res = json_object_new_object();
	if (!w.res)
		return WL_FAIL;
	wl_res_str(&w, "workload", a.wl->name);
	signal(SIGPIPE, SIG_IGN);
	watchdog_ms = w.timeout_ms + 2000;
	signal(SIGALRM, on_watchdog);
	wl_watchdog(&w);
	r = run(&w, &a, argc - optind, argv + optind);
	if (w.d) {
		/* leave the device quiet for whoever comes next (still under
		 * the watchdog: a device that does not answer fails the run) */
		wl_watchdog(&w);
		hvg_dev_reset(w.d);
		hvg_dev_free(w.d);
	}
	setitimer(ITIMER_REAL, &(struct itimerval){0}, NULL);
	wl_res_bool(&w, "ok", r == WL_OK);
	if (w.json)
		printf("%s\n",
		       json_object_to_json_string_ext(
			       w.res, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		printf("%s: %s\n", a.wl->name,
		       r == WL_OK      ? "OK"
		       : r == WL_USAGE ? "usage error"
				       : "FAILED");
	hvg_transport_close(w.t);
	json_object_put(w.res);
	return r;
}
