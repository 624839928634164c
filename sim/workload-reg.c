// SPDX-License-Identifier: GPL-2.0-only
/*
 * reg-bench: the cost of one trapped register access, guest -> hypervisor
 * -> backend -> back. N synchronous reads of the VendorID register, each
 * timed on its own (CLOCK_MONOTONIC).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_mmio.h>

#include "hvsim-guest.h"

#define REG_VENDOR_ID VIRTIO_MMIO_VENDOR_ID

/* libhvguest has no raw register call: read through the transport, as the
 * vCPU would (and counted like the driver's own accesses). */
static int read_vendor(struct wl *w, uint64_t base, uint32_t *ret)
{
	uint64_t v = 0;
	int r;

	w->t->n_reads++;
	r = w->t->ops->read(w->t->ctx, base + REG_VENDOR_ID, 4, &v);
	*ret = (uint32_t)v;
	return r;
}

static int reg_bench(struct wl *w, int argc, char **argv)
{
	uint64_t count = 10000;
	const struct wl_opt opts[] = {WL_U64("count", &count, 1, 100000000)};
	uint64_t *lat, t0, total = 0;
	uint32_t first = 0, v;
	int r = wl_options(w, argc, argv, opts, ARRAY_SIZE(opts));

	if (r != WL_OK)
		return r;
	lat = calloc(count, sizeof(*lat));
	if (!lat)
		return -ENOMEM;
	for (uint64_t i = 0; i < count; i++) {
		t0 = wl_now_ns();
		r = read_vendor(w, w->base, &v);
		lat[i] = wl_now_ns() - t0;
		if (r < 0) {
			wl_err(w, "read %llu of VendorID failed: %s", (unsigned long long)i,
			       strerror(-r));
			free(lat);
			return r;
		}
		if (i == 0)
			first = v;
		else if (v != first) {
			wl_err(w, "VendorID read 0x%x, then 0x%x: registers are not stable", first,
			       v);
			free(lat);
			return WL_FAIL;
		}
		total += lat[i];
		if ((i & 1023) == 0)
			wl_watchdog(w);
	}
	wl_sort(lat, count);
	wl_res_u64(w, "reads", count);
	wl_res_u64(w, "vendor_id", first);
	wl_res_dbl(w, "mean_us", (double)total / (double)count / 1e3);
	wl_res_dbl(w, "p50_us", (double)wl_quantile(lat, count, 0.50, true) / 1e3);
	wl_res_dbl(w, "p90_us", (double)wl_quantile(lat, count, 0.90, true) / 1e3);
	wl_res_dbl(w, "p99_us", (double)wl_quantile(lat, count, 0.99, true) / 1e3);
	wl_res_dbl(w, "max_us", (double)lat[count - 1] / 1e3);
	wl_res_dbl(w, "reads_per_s", (double)count * 1e9 / (double)(total ? total : 1));
	wl_say(w,
	       "%llu reads of VendorID (0x%08x): mean %.2f us, p50 %.2f, p90 %.2f, p99 %.2f, max %.2f us",
	       (unsigned long long)count, first, (double)total / (double)count / 1e3,
	       (double)wl_quantile(lat, count, 0.50, true) / 1e3,
	       (double)wl_quantile(lat, count, 0.90, true) / 1e3,
	       (double)wl_quantile(lat, count, 0.99, true) / 1e3, (double)lat[count - 1] / 1e3);
	free(lat);
	return WL_OK;
}

const struct workload wl_reg_bench = {
	.name = "reg-bench",
	.usage = "[--count N=10000]",
	.run = reg_bench,
};
