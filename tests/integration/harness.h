/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Integration test harness: each test runs its own hvisor-sim and hvisord
 * in a fresh temporary runtime directory and talks to hvisord at the socket
 * level (raw varlink through vl_client_*, or hvctl / the hvisor link as a
 * subprocess).
 *
 * Binaries come from the test's arguments (meson passes them)
 *   argv[1] hvisor-sim  argv[2] hvisord  argv[3] hvctl  argv[4] hvisor link
 *   argv[5] hvisor-virtiod  argv[6] hvsim-guest (the virtio tests)
 * or from $HVISOR_SIM, $HVISORD, $HVCTL, $HVISOR_LINK, $HVISOR_VIRTIOD,
 * $HVSIM_GUEST when run by hand. hvisord always gets --virtiod when the
 * backend is known.
 *
 * Readiness is hvisord's sd_notify READY=1 on a datagram socket in the
 * runtime dir; teardown SIGTERMs hvisord and asserts exit status 0,
 * STOPPING=1, the socket removed and a log free of "crit" and sanitizer
 * reports.
 */
#ifndef HV_TEST_INTEGRATION_HARNESS_H
#define HV_TEST_INTEGRATION_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "hvguest.h"
#include "sim-harness.h"
#include "tap.h"
#include "varlink.h"

#define IH_TIMEOUT_MS 15000 /* for things that must happen (ASan builds are slow) */
#define IH_QUIET_MS   200   /* for things that must not happen */

struct ih {
	struct simh sim;
	bool sim_running;
	char dir[256];	   /* runtime dir (mkdtemp, mode 0700) */
	char sock[320];	   /* dir/hvisord.sock */
	char notify[320];  /* dir/notify.sock: NOTIFY_SOCKET of hvisord */
	char log[320];	   /* dir/hvisord.log: hvisord's stderr */
	char sim_log[320]; /* dir/hvisor-sim.log */
	char backend[340]; /* sim:<sim socket> */
	int notify_fd;
	pid_t pid;	  /* hvisord, or -1 */
	int status;	  /* its wait status once it exited */
	char notes[8192]; /* every sd_notify datagram received, one per line */
	size_t notes_len;
	struct ih *next;     /* live instances, for cleanup after a failed test */
	bool no_virtiod_arg; /* hvisord finds hvisor-virtiod itself */
	/* hvisord runs without --stop-zones: its zones and backends outlive it
	 * (the restart tests); else its exit ends them and the test checks so */
	bool keep_zones;
};

struct ih_opts {
	const char *const *sim_args;	/* NULL: --arch aarch64 */
	const char *const *daemon_args; /* extra hvisord arguments */
	int listen_fd;			/* > 0: socket activation with this fd */
	const char *socket;		/* with listen_fd: the path it is bound to */
	bool keep_zones;		/* struct ih's */
};

/* Call from main() before cmocka_run_group_tests. Skips the whole test
 * (ih_skip_all) if a binary is missing. (Skipped tests read as skips:
 * tests/common/tap.h.) */
void ih_init(int argc, char **argv);
/* Reports the whole test program as skipped, saying why, and exits. */
void ih_skip_all(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
const char *ih_bin_hvisord(void);
const char *ih_bin_hvctl(void);
const char *ih_bin_hvisor_link(void);
const char *ih_source_dir(void);
/* hvisor-virtiod and hvsim-guest, or NULL when not given. */
const char *ih_bin_virtiod(void);
const char *ih_bin_guest(void);
/* For the virtio tests, after ih_init: skips the whole test without them. */
void ih_need_virtio(void);
/* For tests that add devices to zones they start, after ih_init: skips the
 * whole test without hvisor-virtiod and hvsim-guest or unless root (hvisord
 * serves adds and zone starts to root or group hvisor, and hvisor-virtiod
 * must be able to drop to nobody). Then moves into a network namespace of
 * its own (ih_netns_private) if it can: returns whether it did, i.e.
 * whether net devices can be tested; says so if not. */
bool ih_need_root_virtio(void);

/* The backend: hvisor-sim (a fresh one per test), or hvisor.ko when
 * $HV_IT_BACKEND=kmod:DEV (one for the whole run; then $HV_IT_ARCH,
 * $HV_IT_CPUS and $HV_IT_EXAMPLES describe it). With hvisor.ko, each
 * ih_sim_start shuts down every zone but the root one, as a new sim would
 * start. */
bool ih_on_sim(void);
const char *ih_backend_kind(void);		 /* GetInfo's backend: "sim", "kmod" */
const char *ih_backend_path(const struct ih *h); /* GetInfo's backend_path */
const char *ih_arch(void);			 /* GetInfo's arch */
int ih_cpus(void);				 /* GetInfo's cpus */
/* Skips the test (saying why) unless it runs on hvisor-sim. */
void ih_need_sim(const char *why);
/* Path of an example zone config ("zone1": the sim's conf/examples/sim). */
char *ih_example(const char *name);
/* Where an example zone's memory is (as its config says). */
struct ih_layout {
	uint64_t ram, ram_size; /* memory_regions[0] (host physical) */
	uint64_t kernel, dtb;	/* load addresses */
	uint64_t entry;
	bool dtb_loaded; /* false on x86_64: it boots with ACPI, hvisord loads no DTB */
};
struct ih_layout ih_layout(const char *example);
/* Shuts a zone down behind hvisord's back. */
void ih_backend_zone_shutdown(struct ih *h, uint32_t id);
/* Stops the sim (exit 0); nothing to stop with hvisor.ko. */
void ih_backend_stop(struct ih *h);
/* Kills the sim (SIGKILL, reaped) and leaves its socket file behind, as a
 * crash does. */
void ih_sim_kill(struct ih *h);
/* Starts hvisor-sim again on the same socket (args as ih_sim_start's);
 * returns once it accepts connections. */
void ih_sim_restart(struct ih *h, const char *const *args);

/* The group "hvisor" (created if missing, (gid_t)-1 if it cannot be);
 * ih_hvisor_group_cleanup removes it again if it was created. */
gid_t ih_hvisor_gid(void);
void ih_hvisor_group_cleanup(void);

/* Fixture: kills whatever a failed test left running. */
int ih_reap(void **state);

/* The pieces of ih_start, for tests that need them separately. */
struct ih *ih_new(void);
void ih_sim_start(struct ih *h, const char *const *args);
/* Forks hvisord --backend sim:... --runtime-dir DIR [args...] with stderr
 * appended to `log` (h->log if NULL) and NOTIFY_SOCKET=h->notify. With
 * listen_fd > 0 it becomes fd 3 and LISTEN_FDS/LISTEN_PID are set.
 * --virtiod PATH comes first unless h->no_virtiod_arg, then --stop-zones
 * unless h->keep_zones. */
pid_t ih_daemon_spawn(struct ih *h, const char *const *args, int listen_fd, const char *log);
/* Waits until a notify datagram containing `what` arrived (1), or `pid`
 * exited (0, *ret_status set) or the timeout passed (-ETIMEDOUT). */
int ih_wait_notify(struct ih *h, const char *what, pid_t pid, int timeout_ms, int *ret_status);
/* Waits for pid to exit; returns the wait status, SIGKILLs on timeout (-1). */
int ih_waitpid(pid_t pid, int timeout_ms);

/* new + sim + hvisord + READY=1 (asserts). opts may be NULL. */
struct ih *ih_start(const struct ih_opts *opts);
/* SIGTERM (or sig), exit 0, STOPPING=1, socket gone, clean log; stops the
 * sim (exit 0 too) and removes the runtime dir. */
void ih_stop_sig(struct ih *h, int sig);
/* hvisord alone: stopped by sig (exit 0, its socket gone, STOPPING=1, a
 * clean log; its backends gone unless h->keep_zones), or killed (-9, no
 * checks); h and the sim stay for ih_daemon_restart. */
void ih_daemon_stop(struct ih *h, int sig);
void ih_daemon_kill9(struct ih *h);
void ih_daemon_restart(struct ih *h, const char *const *args);
void ih_stop(struct ih *h);
/* The log has no "crit"/"alert"/"emerg" lines and no sanitizer reports. */
void ih_assert_log_clean(const char *path);

/* Files. */
char *ih_read_file(const char *path, size_t *ret_len); /* NUL-terminated; asserts */
void ih_write_file(const char *path, const void *data, size_t len, mode_t mode);
bool ih_file_contains(const char *path, const char *needle);
/* Polls until the file contains needle (logs are written asynchronously). */
bool ih_wait_file_contains(const char *path, const char *needle, int timeout_ms);
char *ih_path(const struct ih *h, const char *name); /* dir/name, malloc'd */

/* Zone configs: copies conf/examples/sim/<example>.json to dir (same
 * name) and writes the kernel and dtb it names (relative to dir) with
 * deterministic contents of the given sizes. Returns the config's path. */
char *ih_make_zone(struct ih *h, const char *example, size_t kernel_size, size_t dtb_size);
/* Deterministic bytes for an image (seeded by name). */
void ih_fill(void *buf, size_t len, const char *seed);
json_object *ih_json_load(const char *path);
/* A key of a JSON object, failing the test if it is missing. */
int64_t ih_jint(json_object *o, const char *key);
const char *ih_jstr(json_object *o, const char *key);
/* The same, or dflt if the key is missing. */
int64_t ih_jint_or(json_object *o, const char *key, int64_t dflt);
const char *ih_jstr_or(json_object *o, const char *key, const char *dflt);
/* FNV-1a of a whole file, to tell whether it changed. */
uint64_t ih_file_hash(const char *path);
void ih_json_save(json_object *o, const char *path); /* does not take o */
/* json_object_object_add on a dotted path ("memory_regions[0].size"). */
void ih_json_set(json_object *root, const char *path, json_object *val);
/* What is at a dotted path (borrowed); the test fails if nothing is. */
json_object *ih_json_get(json_object *root, const char *path);
/* The number at a dotted path (an integer or a "0x..." string). */
uint64_t ih_json_u64(json_object *root, const char *path);
uint64_t ih_file_u64(const char *file, const char *path);
/* Moves a zone config's RAM (memory_regions[0], guest = host) to `base`,
 * its images and entry point with it. */
void ih_json_rebase(json_object *cfg, uint64_t base);

/* Physical memory (the sim's, or /dev/mem with hvisor.ko). */
int ih_phys_memfd(struct ih *h);
void ih_assert_phys_equals_file(struct ih *h, uint64_t paddr, const char *file);
bool ih_phys_is_zero(struct ih *h, uint64_t paddr, size_t len);
/* ZONE_LIST straight from the sim or hvisor.ko: number of zones, ids
 * into ids[]. */
int ih_sim_zone_ids(struct ih *h, uint32_t *ids, size_t max);

/* Replies checked against the IDL (harness-check.c). Every message that
 * arrives through ih_recv (so ih_call, ih_call_fds, ih_raw_recv,
 * ih_subscribe, ih_wait_event, ...) is checked against hvisord's interface
 * descriptions and fails the test if they do not allow it: a reply's
 * parameters against the output of the method it answers, an error's
 * against the error's declaration (unknown or missing fields, wrong types,
 * enum values), "continues" only for calls with "more". Calls must go out
 * through ih_send, ih_call*, ih_raw_send or be noted with ih_note_sent, so
 * the harness knows what a reply answers. */
void ih_note_sent(int fd, const void *buf, size_t len);
/* vl_client_send, noted. */
int ih_send(struct vl_client *c, json_object *msg, const int *fds, size_t n_fds);
/* The check of a received message: 0, or -EINVAL/-ENOENT and the reason
 * (for a child process that cannot fail the test itself). */
int ih_check_received(int fd, json_object *msg, char *errbuf, size_t errsize);
void ih_check_received_or_fail(int fd, json_object *msg);
/* Forgets the connections followed so far (ih_reap does it). */
void ih_check_reset(void);

/* Raw varlink. */
struct vl_client *ih_client(const struct ih *h);
struct vl_client *ih_client_at(const char *sock);
/* 1 and *ret, -ETIMEDOUT on timeout, -errno (-ECONNRESET at EOF). */
int ih_recv(struct vl_client *c, int timeout_ms, json_object **ret);
/* Sends a call (params: JSON text or NULL) and returns its reply (asserts
 * one arrives). The caller puts it. */
json_object *ih_call(struct vl_client *c, const char *method, const char *params);
json_object *ih_call_fds(struct vl_client *c, const char *method, json_object *params,
			 const int *fds, size_t n_fds);
/* Asserts the reply is not an error; returns its parameters (borrowed). */
json_object *ih_ok(json_object *reply);
/* Asserts the reply is the error `name`. */
void ih_assert_error(json_object *reply, const char *name);
/* One call on a fresh connection that must fail with `name`; returns the
 * reply for further checks if keep, else puts it and returns NULL. */
json_object *ih_call_error(const struct ih *h, const char *method, const char *params,
			   const char *name, bool keep);
/* Zone.List's parameters serialised (for before/after comparisons). */
char *ih_list_json(const struct ih *h);
/* A fresh client can List (root zone first) and GetInfo. */
void ih_assert_serving(const struct ih *h);
/* Zone ids from a List, in order; returns the count. */
int ih_zone_ids(const struct ih *h, uint32_t *ids, size_t max);
/* Sends a Zone.Start of cfg on c (its kernel and dtb, named relative to
 * the runtime dir, as descriptors) without waiting for the reply. */
void ih_send_start(struct ih *h, struct vl_client *c, const char *cfg);
/* hvisor-sim's LOAD_HOLD (proto/sim.h), for acting while a zone start is
 * loading without betting on how long a load takes: HVSIM_HOLD_ON before
 * the start, HVSIM_HOLD_WAIT returns once hvisord waits for a held load
 * (so it has taken the start), HVSIM_HOLD_OFF lets every load go. hvisord
 * gives up on a load held for 10 s (SIM_TIMEOUT_SEC). Skips the test on
 * hvisor.ko. Returns the reply's ret. */
int64_t ih_load_hold(struct ih *h, enum hvsim_hold what);
/* While hvisord waits for a held load: sends the call on c and lets that
 * one load go; hvisord answers the call before it loads on (it serves
 * clients between load steps) and its next load is held again. Returns
 * the reply (the caller puts it). */
json_object *ih_call_during_load(struct ih *h, struct vl_client *c, const char *method,
				 const char *params);
/* Waits until no zone is "starting". */
void ih_wait_settled(const struct ih *h);
/* Raw stream sockets, for malformed traffic. */
int ih_raw_connect(const char *sock);
void ih_raw_send(int fd, const void *buf, size_t len);
/* One NUL-terminated message from fd within timeout: 1 and *ret, or
 * -ECONNRESET (EOF/reset), -ETIMEDOUT. `frm` holds leftovers between calls. */
int ih_raw_recv(int fd, struct vl_framer *frm, int timeout_ms, json_object **ret);
/* Asserts the peer closes the connection within the timeout (no message). */
void ih_assert_closed(int fd, struct vl_framer *frm);

/* Subprocesses. */
struct ih_out {
	char *out, *err; /* NUL-terminated, malloc'd */
	size_t out_len, err_len;
	int status; /* raw wait status */
	int code;   /* exit code, or 128 + signal */
	pid_t pid;
};
struct ih_exec {
	const char *const *env; /* "K=V" to set, or "K" to unset */
	bool no_socket_env;	/* do not set HVISOR_SOCKET */
	uid_t uid;		/* != 0: drop to this uid/gid (and groups) */
	gid_t gid;
	const gid_t *groups;
	size_t n_groups;
	const char *cwd;
	int stdin_fd; /* > 0: the child's stdin (else /dev/null) */
};
/* Runs argv (argv[0] = path) with HVISOR_SOCKET=h->sock (h may be NULL),
 * stdin /dev/null, capturing stdout and stderr; returns the exit code. */
int ih_run(const struct ih *h, const struct ih_exec *x, struct ih_out *out,
	   const char *const *argv);
/* hvctl (or the hvisor link) with the arguments that follow, NULL-ended. */
int ih_hvctl(const struct ih *h, struct ih_out *out, ...) __attribute__((sentinel));
int ih_hvisor(const struct ih *h, struct ih_out *out, ...) __attribute__((sentinel));
void ih_out_free(struct ih_out *out);
/* A NULL-terminated argument list: IH_ARGS("zone", "list"). */
#define IH_ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
/* hvctl with args must exit with `code`, with in_out on stdout and in_err
 * on stderr (NULL: anything); else the test fails showing both. The output
 * goes to *ret_out if given (the caller frees it). */
void ih_hvctl_expect(const struct ih *h, int code, const char *const *args, const char *in_out,
		     const char *in_err, struct ih_out *ret_out);
/* The same, run as x says (ih_run). */
void ih_hvctl_expect_x(const struct ih *h, const struct ih_exec *x, int code,
		       const char *const *args, const char *in_out, const char *in_err,
		       struct ih_out *ret_out);
/* Starts argv in the background (HVISOR_SOCKET=h->sock) with stdout on a
 * pipe (*ret_stdout; NULL: stdout goes to bg.log too) and stderr appended
 * to dir/bg.log. */
pid_t ih_spawn_bg(const struct ih *h, const char *const *argv, int *ret_stdout);
/* Line reader over a pipe. */
struct ih_lines {
	int fd;
	size_t len;
	char buf[65536];
};
/* Next line (without its newline) into out within the timeout; returns its
 * length, -ETIMEDOUT, or -EPIPE at end of file. */
ssize_t ih_read_line(struct ih_lines *l, char *out, size_t size, int timeout_ms);

/* ---- virtio ------------------------------------------------------------------ */

/* A file of `size` deterministic bytes (ih_fill seeded by name) in the
 * runtime dir; returns its path (malloc'd). */
char *ih_make_image(struct ih *h, const char *name, size_t size);
/* Copies conf/examples/sim/<example>.json with its images and starts it
 * with hvctl (asserts success). */
void ih_zone_start(struct ih *h, const char *example);
/* Zone.Info's "virtio" object (a reference the caller puts), or NULL. */
json_object *ih_zone_virtio(const struct ih *h, uint32_t zone_id);
/* Its pid while the backend runs, else 0. */
pid_t ih_virtiod_pid(const struct ih *h, uint32_t zone_id);
/* Waits until the zone's backend runs with a pid other than not_pid;
 * returns the pid (asserts it happens within IH_TIMEOUT_MS). */
pid_t ih_wait_virtiod(const struct ih *h, uint32_t zone_id, pid_t not_pid);
/* Virtio.List's devices (a reference the caller puts). zone_id 0: all. */
json_object *ih_virtio_list(const struct ih *h, uint32_t zone_id);
/* The same (zone_id 0: every zone) as one string, for before/after
 * comparisons; the caller frees it. */
char *ih_virtio_list_str(const struct ih *h, uint32_t zone_id);
/* One device's Info from Virtio.List (a reference), or NULL. */
json_object *ih_virtio_device(const struct ih *h, uint32_t zone_id, uint64_t addr);
/* An integer field of a device's Info (-1 if absent). */
int64_t ih_virtio_counter(const struct ih *h, uint32_t zone_id, uint64_t addr, const char *key);

/* ---- network (virtio-net) ----------------------------------------------------- */

/* Moves this process, and so every child it starts afterwards (hvisor-sim,
 * hvisord, hvisor-virtiod, ping), into a network namespace of its own, with
 * IPv6 off for interfaces created in it (no router solicitations or MLD
 * reports on the taps). 0, or -errno when that is impossible (not root, no
 * namespaces, no /dev/net/tun): the caller skips what needs it. */
int ih_netns_private(void);
/* A persistent tap, as `ip tuntap add dev NAME mode tap` makes it. */
void ih_tap_create(const char *name);
/* The same with an owner (`... user UID`): only that uid (or a holder of
 * CAP_NET_ADMIN) may attach to it. */
void ih_tap_create_owned(const char *name, uid_t owner);
/* /dev/net/tun, for this process and the children it starts afterwards, a
 * node of `mode` (made in dir) bound over the host's in a mount namespace
 * of the process's own; mode 0 (dir unused) puts the host's back. 0, or
 * -errno (not root, no mount namespaces). */
int ih_tun_node(const char *dir, mode_t mode);
/* Removes a persistent tap (no-op if it is gone). */
void ih_tap_delete(const char *name);
/* Brings an interface up, with addr/prefix unless addr is NULL. */
void ih_if_up(const char *name, const char *addr, unsigned prefix);
/* The interface's index, 0 if there is none of that name. */
unsigned ih_if_index(const char *name);
/* Polls until the interface exists (exists) or is gone (!exists). */
bool ih_wait_if(const char *name, bool exists, int timeout_ms);

/* A Manager.Subscribe connection (the Subscribed reply consumed). */
struct vl_client *ih_subscribe(const struct ih *h);
/* Skips events until one named `name` (for zone_id if >= 0) arrives;
 * returns it (the caller puts). Fails after timeout_ms. */
json_object *ih_wait_event(struct vl_client *sub, const char *name, int64_t zone_id,
			   int timeout_ms);

/* hvsim-guest as the guest of `zone`, device at addr with irq, then the
 * workload and its options, NULL-ended. ih_guest runs it to its end
 * (exit code, output in out); ih_guest_bg starts it in the background with
 * stdout on a pipe (*ret_stdout, may be NULL: /dev/null). */
int ih_guest(const struct ih *h, struct ih_out *out, uint32_t zone, uint64_t addr, uint32_t irq,
	     ...) __attribute__((sentinel));
/* hvsim-guest blk-verify --count count on zone's blk device at addr: the
 * test fails (with the guest's output) unless it verified the data. */
void ih_blk_verify(const struct ih *h, uint32_t zone, uint64_t addr, uint32_t irq,
		   const char *count);
pid_t ih_guest_bg(const struct ih *h, int *ret_stdout, uint32_t zone, uint64_t addr, uint32_t irq,
		  ...) __attribute__((sentinel));
/* Waits for a background process: its exit code (128 + signal if killed).
 * Fails the test if it is still running after timeout_ms (it is killed),
 * or if dir/bg.log has a sanitizer report. */
int ih_wait_bg(const struct ih *h, pid_t pid, int timeout_ms);

/* Processes whose parent is `parent` and whose comm is `comm` (at most
 * max pids into pids); returns how many. */
int ih_children_named(pid_t parent, const char *comm, pid_t *pids, int max);
/* pid exists and is not a zombie (and, if comm, has that comm). */
bool ih_pid_alive(pid_t pid, const char *comm);
/* A short hvsim-guest blk-verify on that disk: it is served. */
void ih_blk_verify_quick(const struct ih *h, uint32_t zone, uint64_t addr, uint32_t irq);
/* Waits until pid is stopped (SIGSTOP took effect) or, with false, runs. */
void ih_wait_stopped(pid_t pid, bool stopped);
/* hvisord's descriptor keeper (hvisor-fdstore, found by its stderr: this
 * test's hvisord log), or 0. */
pid_t ih_keeper_pid(const struct ih *h);
#define IH_VIRTIOD_COMM "hvisor-virtio" /* hvisor-virtiod's PR_SET_NAME */

/* The test process as the guest of a zone (libhvguest over the sim's
 * GUEST_ATTACH): a minimal virtio-blk driver with up to qd requests in
 * flight. Only VERSION_1 is negotiated (no EVENT_IDX, no indirect): every
 * completion interrupts, and waits poll the used ring in short slices so a
 * lost interrupt (a backend restarting) costs a slice, not a hang. */
struct ih_gblk_req {
	bool busy;
	uint32_t type;
	uint64_t sector;
	uint32_t len;
	uint64_t tag; /* the caller's */
	uint64_t hdr_gpa;
	uint8_t *hdr, *status; /* 16-byte header; the status byte after it */
	uint64_t data_gpa;
	uint8_t *data; /* max_len bytes */
};

struct ih_gblk {
	struct hvg_transport *t;
	struct hvg_dev *d;
	struct hvg_vq *vq;
	uint64_t capacity; /* sectors */
	uint64_t features; /* offered */
	unsigned qd, inflight;
	uint32_t max_len;
	struct ih_gblk_req *reqs;
};

void ih_gblk_open(const struct ih *h, uint32_t zone, uint64_t addr, uint32_t irq, unsigned qd,
		  uint32_t max_len, struct ih_gblk *b);
void ih_gblk_close(struct ih_gblk *b);
/* Queues and kicks one request (data: the bytes of a write, or NULL);
 * NULL when all qd slots are busy. */
struct ih_gblk_req *ih_gblk_submit(struct ih_gblk *b, uint32_t type, uint64_t sector, uint32_t len,
				   const void *data, uint64_t tag);
/* The next completed request (its status in *req->status, its data in
 * req->data), or NULL when none completed within timeout_ms. */
struct ih_gblk_req *ih_gblk_reap(struct ih_gblk *b, int timeout_ms);
/* One request, waited for (asserts it completes): its status. buf: data
 * in (write) or out (read, GET_ID). */
uint8_t ih_gblk_sync(struct ih_gblk *b, uint32_t type, uint64_t sector, uint32_t len, void *buf);

#endif
