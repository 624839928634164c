/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What hv-bench and dp-bench share: an hvisor-sim + hvisord pair in a fresh
 * temporary directory, their common options, timing and statistics
 * helpers, /proc readers and the zone 1 both of them start.
 *
 * Free of json-c and varlink headers, so blk-engines can take rnd() from
 * here without them.
 */
#ifndef HV_BENCH_COMMON_H
#define HV_BENCH_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct json_object;
struct vl_client;

#define MIB (1024.0 * 1024.0)

/* Defined by each benchmark: its messages, temporary directories and
 * Zone.Start "source" carry it. */
extern const char bench_name[];

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* --- time, numbers ------------------------------------------------------------ */

uint64_t now_ns(void);
void sleep_s(double s);

/* xorshift64 */
static inline uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* splitmix64 from *seed: fast, incompressible data, reproducible. */
void fill_random(uint64_t *seed, uint64_t *p, size_t n);

int cmp_u64(const void *a, const void *b);
/* Nearest-rank percentile of a sorted array. */
uint64_t pct(const uint64_t *v, size_t n, double q);
uint64_t median(const uint64_t *v, size_t n);

const char *yes(bool ok);
/* The "NAME VERSION: date; CPUs, model, kernel; load average" line. */
void machine(void);

/* --- options ------------------------------------------------------------------ */

struct bench_opts {
	const char *sim, *hvisord;
	const char *virtiod; /* given to hvisord as --virtiod when set */
	const char *tmpdir;  /* NULL: $TMPDIR or /tmp */
	bool keep_logs;
};

extern struct bench_opts bench_opt;

/* getopt_long() values of the options every benchmark takes; its own ones
 * start at BENCH_O_OWN. */
enum {
	BENCH_O_SIM = 0x100,
	BENCH_O_HVISORD,
	BENCH_O_TMPDIR,
	BENCH_O_KEEP,
	BENCH_O_OWN,
};

/* clang-format off */
#define BENCH_OPTIONS							\
	{"sim", required_argument, NULL, BENCH_O_SIM},			\
	{"hvisord", required_argument, NULL, BENCH_O_HVISORD},		\
	{"tmpdir", required_argument, NULL, BENCH_O_TMPDIR},		\
	{"keep-logs", no_argument, NULL, BENCH_O_KEEP}
/* clang-format on */

/* Takes a BENCH_O_* option into bench_opt; false for any other value. */
bool bench_option(int c, const char *arg);

/* --- hvisor-sim and hvisord --------------------------------------------------- */

struct env {
	char dir[256];
	char notify[300], sim_sock[300], rundir[300], hvisord_sock[320];
	pid_t sim_pid, hvisord_pid;
	int notify_fd;
};

/* Starts both in a new NAME.XXXXXX directory, each waited for until it
 * reports READY=1; dies on failure. */
void env_start(struct env *e);
void env_stop(struct env *e);

struct vl_client *connect_hvisord(const struct env *e);
/* Dies on an error reply; takes params. */
struct json_object *call_ok(struct vl_client *c, const char *method, struct json_object *params,
			    const int *fds, size_t n_fds);

/* Zone 1 for hvisor-sim --arch aarch64: CPU 2, RAM at ZONE_RAM, the kernel
 * (file 0 of the call) at KERNEL_PA, no dtb. */
#define ZONE_RAM  0x50000000ull
#define KERNEL_PA 0x50400000ull

/* One identity-mapped virtio region, for zone_start_params(). */
#define VIRTIO_REGION(addr, size)                                                               \
	", {\"type\": \"virtio\", \"physical_start\": \"" addr "\", \"virtual_start\": \"" addr \
	"\", \"size\": \"" size "\"}"

/* Zone.Start parameters for zone 1 named `name` with ram_size bytes of RAM
 * and the VIRTIO_REGION()s in `virtio`. */
struct json_object *zone_start_params(const char *name, uint64_t ram_size, const char *virtio);

/* --- /proc -------------------------------------------------------------------- */

/* A "Key:   123 kB" or "Key: 123" field of /proc/PID[/task/TID]/status; -1 if absent. */
long long status_field(const char *path, const char *key);
long long proc_kb(pid_t pid, const char *key);
/* Sum over all threads of CPU ns (schedstat) or, with ctxt, voluntary +
 * nonvoluntary context switches; the number of threads in *threads if set. */
long long proc_threads_sum(pid_t pid, bool ctxt, int *threads);

#endif
