// SPDX-License-Identifier: GPL-2.0-only
/*
 * One hvisor-virtiod per zone: attach the zone channel, fork+exec the
 * backend with a control socketpair as fd 3 and a socket to listen on,
 * RUNDIR/zone<N>/control.sock, as fd 4; hand it the channel, the memory fd,
 * the state memfd and every device's backing fd; watch its pidfd. If it dies
 * while its zone runs, the event is reported and it is started again after
 * a back-off (0.1 s doubling to 10 s; after 5 quick failures in a row we
 * give up). The state memfd survives the restart, so the guest's device
 * setup is restored rather than lost.
 *
 * hvisord's own exit does not stop it: a restarted hvisord finds it again
 * through its socket (backend_adopt), or starts it again if it died
 * meanwhile. Nothing here waits for the process: starts, calls and stops end
 * in callbacks from the event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hv.h"
#include "log.h"
#include "util.h"
#include "virtio.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define STOP_WAIT_MSEC	   2500
#define RESTART_MIN_MSEC   100
#define RESTART_MAX_MSEC   10000
#define QUICK_FAILURE_SEC  30
#define MAX_QUICK_FAILURES 5
/* the child's descriptors */
#define CHILD_CONTROL_FD  3
#define CHILD_LISTEN_FD	  4
#define CHILD_EXEC_ERR_FD 5

const char *backend_state_name(enum backend_state s)
{
	static const char *const names[] = {
		[BACKEND_NONE] = "stopped",    [BACKEND_STARTING] = "starting",
		[BACKEND_RUNNING] = "running", [BACKEND_RESTART] = "restarting",
		[BACKEND_FAILED] = "failed",   [BACKEND_STOPPING] = "stopping",
	};

	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "?";
}

bool backend_process_stopped(const struct zvirt *zv)
{
	char path[64], buf[512], *p;
	_cleanup_close_ int fd = -1;
	ssize_t k;

	if (zv->pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)zv->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	k = read(fd, buf, sizeof(buf) - 1);
	if (k <= 0)
		return false;
	buf[k] = '\0';
	/* "pid (comm) S ...": the state follows the last ')' */
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'T' || p[2] == 't');
}

bool backend_answering(const struct zvirt *zv, char *why, size_t size)
{
	if (backend_process_stopped(zv)) {
		snprintf(why, size,
			 "hvisor-virtiod of zone %u (pid %d) does not answer: it is stopped "
			 "(SIGSTOP or a debugger)",
			 zv->zone_id, (int)zv->pid);
		return false;
	}
	if (!zv->answering) {
		snprintf(why, size,
			 "hvisor-virtiod of zone %u (pid %d) does not answer (it missed a "
			 "deadline; hvisord checks it every second)",
			 zv->zone_id, (int)zv->pid);
		return false;
	}
	return true;
}

/* ---- the control socket ------------------------------------------------------------ */

/* RUNDIR/zone<N>/control.sock as a path that cannot be redirected: through
 * the checked directory's descriptor. */
static int control_path(struct zvirt *zv, bool create, struct sockaddr_un *sa, int *ret_zfd)
{
	char err[PATH_MAX + 128];
	int zfd = rundir_zone_open(zv->d, zv->zone_id, create, err, sizeof(err));

	if (zfd < 0) {
		if (create || zfd != -ENOENT)
			log_warn("zone %u: %s", zv->zone_id, err);
		return zfd;
	}
	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", zfd,
		 HV_VIRTIOD_CONTROL_SOCKET);
	*ret_zfd = zfd;
	return 0;
}

/* A bound socket for the backend to listen on (mode 0600: our uid only). */
static int listen_socket(struct zvirt *zv)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	_cleanup_close_ int zfd = -1;
	struct sockaddr_un sa;
	mode_t old;
	int r;

	if (fd < 0)
		return negative_errno();
	r = control_path(zv, true, &sa, &zfd);
	if (r < 0)
		return r;
	(void)unlinkat(zfd, HV_VIRTIOD_CONTROL_SOCKET, 0);
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0)
		return negative_errno();
	return TAKE_FD(fd);
}

static void unlink_control(struct zvirt *zv)
{
	_cleanup_close_ int zfd = -1;
	struct sockaddr_un sa;

	if (control_path(zv, false, &sa, &zfd) == 0)
		(void)unlinkat(zfd, HV_VIRTIOD_CONTROL_SOCKET, 0);
	rundir_zone_remove(zv->d, zv->zone_id);
}

/* Connects to the backend's socket: the descriptor, and the pid of the
 * process that listens on it (the kernel's word, not the state file's). */
static int connect_control(struct zvirt *zv, pid_t *ret_pid)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	_cleanup_close_ int zfd = -1;
	struct sockaddr_un sa;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int r;

	if (fd < 0)
		return negative_errno();
	r = control_path(zv, false, &sa, &zfd);
	if (r < 0)
		return r;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return negative_errno();
	*ret_pid = cred.pid;
	return TAKE_FD(fd);
}

int backend_reconnect(struct zvirt *zv)
{
	pid_t pid = 0;
	int fd = connect_control(zv, &pid);

	if (fd < 0)
		return fd;
	if (pid != zv->pid) {
		log_warn("zone %u: %s/zone%u/%s is served by pid %d, not by its backend %d",
			 zv->zone_id, zv->d->runtime_dir, zv->zone_id, HV_VIRTIOD_CONTROL_SOCKET,
			 (int)pid, (int)zv->pid);
		close(fd);
		return -ESRCH;
	}
	return backend_calls_open(zv, fd);
}

/* ---- the process --------------------------------------------------------------------- */

static void describe_status(const siginfo_t *si, char *buf, size_t size)
{
	if (si->si_code == CLD_EXITED)
		snprintf(buf, size, "exited with status %d", si->si_status);
	else if (si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED)
		snprintf(buf, size, "killed by %s", strsignal(si->si_status));
	else
		snprintf(buf, size, "ended");
}

static void process_exited(struct zvirt *zv, const char *how);
static void adopt_restart(struct zvirt *zv, const char *why);

/* The process ended: reap it if it is our child. */
static void pidfd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zvirt *zv = arg;
	siginfo_t si = {0};
	char how[64];

	if (waitid((idtype_t)P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) == 0 && si.si_pid)
		describe_status(&si, how, sizeof(how));
	else
		/* not our child: started by an hvisord before this one */
		snprintf(how, sizeof(how), "ended (exit status unknown to this hvisord)");
	process_exited(zv, how);
}

/* Watches pid's exit; 0, or -errno (-ESRCH: it is gone already). */
static int watch(struct zvirt *zv, pid_t pid)
{
	int fd = pidfd_open(pid, 0);

	if (fd < 0)
		return negative_errno();
	zv->ev_pidfd = event_new(zv->d->base, fd, EV_READ, pidfd_cb, zv);
	if (!zv->ev_pidfd) {
		close(fd);
		return -ENOMEM;
	}
	zv->pid = pid;
	zv->pidfd = fd;
	zv->incarnation++;
	event_add(zv->ev_pidfd, NULL);
	return 0;
}

static void unwatch(struct zvirt *zv)
{
	if (zv->ev_pidfd)
		event_free(zv->ev_pidfd);
	zv->ev_pidfd = NULL;
	zv->pidfd = safe_close(zv->pidfd);
	zv->pid = 0;
}

/* The child: fd 3 the control socket, fd 4 the socket to listen on, fd 5
 * (close-on-exec) reports a failed exec by its errno; nothing else leaks. */
static _noreturn_ void spawn_child(struct daemon *d, int ctl, int lsock, int err_fd)
{
	const char *level = log_level_to_string(log_get_level());
	sigset_t all;
	int e;

	if (dup2(ctl, CHILD_CONTROL_FD) < 0 || dup2(lsock, CHILD_LISTEN_FD) < 0 ||
	    dup3(err_fd, CHILD_EXEC_ERR_FD, O_CLOEXEC) < 0)
		_exit(127);
	(void)syscall(SYS_close_range, CHILD_EXEC_ERR_FD + 1, ~0u, 0);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* its own session: a signal to hvisord's process group is not for it */
	(void)setsid();
	execl(d->virtiod_path, "hvisor-virtiod", "--control-fd", "3", "--listen-fd", "4",
	      "--log-level", level, (char *)NULL);
	e = errno;
	(void)!write(CHILD_EXEC_ERR_FD, &e, sizeof(e));
	_exit(127);
}

/* fork + exec hvisor-virtiod. A failed exec is reported here with its
 * reason ("cannot run PATH: ..."), not later as a silent control socket. */
static pid_t spawn(struct daemon *d, int ctl, int lsock, char *errbuf, size_t errsize)
{
	int ep[2], e = 0;
	ssize_t k;
	pid_t pid;

	if (pipe2(ep, O_CLOEXEC) < 0) {
		snprintf(errbuf, errsize, "pipe: %m");
		return -1;
	}
	pid = fork();
	if (pid == 0)
		spawn_child(d, ctl, lsock, ep[1]);
	close(ep[1]);
	if (pid < 0) {
		snprintf(errbuf, errsize, "fork: %m");
		close(ep[0]);
		return -1;
	}
	do
		k = read(ep[0], &e, sizeof(e)); /* EOF: exec succeeded */
	while (k < 0 && errno == EINTR);
	close(ep[0]);
	if (k == (ssize_t)sizeof(e)) {
		(void)waitpid(pid, NULL, 0);
		snprintf(errbuf, errsize, "cannot run %s: %s", d->virtiod_path, strerror(e));
		errno = e;
		return -1;
	}
	return pid;
}

int backend_attach_early(struct zvirt *zv, char *errbuf, size_t errsize)
{
	struct daemon *d = zv->d;
	int r;

	if (zv->early_chan >= 0)
		return 0;
	r = hv_zone_attach(d->hv, zv->zone_id, &zv->early_chan, &zv->early_mem);
	if (r < 0) {
		zv->early_chan = zv->early_mem = -1;
		snprintf(errbuf, errsize, "cannot attach to zone %u's channel: %s%s", zv->zone_id,
			 strerror(-r), r == -EBUSY ? " (another backend owns it)" : "");
	}
	return r;
}

static void release_early(struct zvirt *zv)
{
	zv->early_chan = safe_close(zv->early_chan);
	zv->early_mem = safe_close(zv->early_mem);
}

/* The transport state of this zone run, kept across backend restarts (and
 * by the descriptor keeper across restarts of hvisord). */
static int state_memfd(struct zvirt *zv, char *errbuf, size_t errsize)
{
	int r;

	if (zv->state_fd >= 0)
		return 0;
	zv->state_fd = memfd_create("hvisor-virtiod-state", MFD_CLOEXEC);
	if (zv->state_fd < 0 || ftruncate(zv->state_fd, HV_VIRTIOD_STATE_BYTES) < 0) {
		r = negative_errno();
		snprintf(errbuf, errsize, "cannot create the state memfd: %s", strerror(-r));
		zv->state_fd = safe_close(zv->state_fd);
		return r;
	}
	virtio_keep_state(zv);
	return 0;
}

/* Ends the process: sig now, SIGKILL after STOP_WAIT_MSEC; its pidfd tells
 * when it is gone, and the waiters then hear error (NULL: stopped as asked). */
static void stop_process(struct zvirt *zv, int sig, const char *error)
{
	struct timeval tv = timeval_from_ms(STOP_WAIT_MSEC);
	char why[200];

	snprintf(why, sizeof(why), "hvisor-virtiod of zone %u is stopping", zv->zone_id);
	zv->state = BACKEND_STOPPING;
	if (error && !zv->settle_error)
		zv->settle_error = strdup(error);
	backend_calls_close(zv);
	backend_calls_fail(zv, why);
	zv->killed = false;
	if (pidfd_send_signal(zv->pidfd, sig, NULL, 0) < 0)
		log_errno(LOG_ERR, negative_errno(), "zone %u: cannot signal hvisor-virtiod pid %d",
			  zv->zone_id, (int)zv->pid);
	evtimer_add(zv->ev_stop_timeout, &tv);
}

/* Not gone in time: SIGKILL; still not gone after another wait (a process
 * hvisord may not signal, one stuck in the kernel): whoever waits for the
 * stop hears so, and its exit is still handled whenever it comes. */
static void stop_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv = timeval_from_ms(STOP_WAIT_MSEC);
	struct zvirt *zv = arg;
	char why[200];

	if (!zv->killed) {
		log_warn("zone %u: hvisor-virtiod did not exit in time; killing it", zv->zone_id);
		zv->killed = true;
		if (pidfd_send_signal(zv->pidfd, SIGKILL, NULL, 0) < 0)
			log_errno(LOG_ERR, negative_errno(),
				  "zone %u: cannot kill hvisor-virtiod pid %d", zv->zone_id,
				  (int)zv->pid);
		evtimer_add(zv->ev_stop_timeout, &tv);
		return;
	}
	snprintf(why, sizeof(why), "hvisor-virtiod of zone %u (pid %d) does not exit", zv->zone_id,
		 (int)zv->pid);
	log_err("%s", why);
	backend_settle(zv, why);
}

/* The chain of calls of a start or a re-adoption belongs to one process:
 * what is left of it when that one is gone is for nobody. */
#define INCARNATION(zv) ((void *)(uintptr_t)(zv)->incarnation)

static bool stale(const struct zvirt *zv, void *arg)
{
	return (uintptr_t)arg != zv->incarnation;
}

/* A step of the start (or of a re-adoption) failed: the process goes, the
 * waiters hear why once it is gone. */
static void start_failed(struct zvirt *zv, const char *step, const char *error)
{
	char msg[512];

	if (zv->state != BACKEND_STARTING)
		return; /* an earlier step failed already, or it was stopped */
	snprintf(msg, sizeof(msg), "%s: %s", step, error);
	log_err("zone %u: starting hvisor-virtiod failed: %s", zv->zone_id, msg);
	stop_process(zv, SIGKILL, msg);
}

static void setup_done(struct zvirt *zv, json_object *reply, const char *error, void *arg)
{
	if (stale(zv, arg))
		return;
	if (error)
		start_failed(zv, "Setup", error);
}

static void add_done(struct zvirt *zv, json_object *reply, const char *error, void *arg)
{
	if (stale(zv, arg))
		return;
	if (error)
		start_failed(zv, "AddDevice", error);
}

static void serving(struct zvirt *zv, const char *how)
{
	zv->state = BACKEND_RUNNING;
	zv->started_usec = now_usec();
	log_info("zone %u: hvisor-virtiod pid %d %s %u device(s)", zv->zone_id, (int)zv->pid, how,
		 zv->n_devices);
	virtio_save(zv->d);
	backend_settle(zv, NULL);
}

static void serve_done(struct zvirt *zv, json_object *reply, const char *error, void *arg)
{
	if (stale(zv, arg))
		return;
	if (error)
		start_failed(zv, "Serve", error);
	else if (zv->state == BACKEND_STARTING)
		serving(zv, "serves");
}

/* Channel, memory, state memfd, the two sockets, the process. */
static int start_process(struct zvirt *zv, int *chan, int *mem, char *errbuf, size_t errsize)
{
	_cleanup_close_ int lsock = -1;
	int sv[2] = {-1, -1}, r;
	pid_t pid;

	if (!zv->ram_known) {
		snprintf(errbuf, errsize, "the memory map of zone %u is unknown", zv->zone_id);
		return -EINVAL;
	}
	r = backend_attach_early(zv, errbuf, errsize);
	if (r < 0)
		return r;
	*chan = TAKE_FD(zv->early_chan);
	*mem = TAKE_FD(zv->early_mem);
	r = state_memfd(zv, errbuf, errsize);
	if (r < 0)
		return r;
	lsock = listen_socket(zv);
	if (lsock < 0) {
		snprintf(errbuf, errsize, "cannot make %s/zone%u/%s: %s", zv->d->runtime_dir,
			 zv->zone_id, HV_VIRTIOD_CONTROL_SOCKET, strerror(-lsock));
		return lsock;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = negative_errno();
		snprintf(errbuf, errsize, "socketpair: %s", strerror(-r));
		return r;
	}
	pid = spawn(zv->d, sv[1], lsock, errbuf, errsize);
	r = pid < 0 ? negative_errno() : watch(zv, pid);
	close(sv[1]);
	if (r < 0) {
		if (pid > 0) {
			kill(pid, SIGKILL);
			(void)waitpid(pid, NULL, 0);
			snprintf(errbuf, errsize, "cannot watch hvisor-virtiod: %s", strerror(-r));
		}
		close(sv[0]);
		return r;
	}
	zv->adopted = false;
	return backend_calls_open(zv, sv[0]);
}

static json_object *setup_params(struct zvirt *zv)
{
	json_object *params = json_object_new_object();
	struct daemon *d = zv->d;

	json_object_object_add(params, "zone_id", json_object_new_int64(zv->zone_id));
	json_object_object_add(params, "ram", hv_virtiod_ram_to_json(zv->ram, zv->n_ram));
	if (d->virtiod_user && *d->virtiod_user)
		json_object_object_add(params, "user", json_object_new_string(d->virtiod_user));
	/* the guest's requests wait until every device is there */
	json_object_object_add(params, "serve", json_object_new_boolean(false));
	return params;
}

void backend_start(struct zvirt *zv, backend_done_fn done, void *arg)
{
	int chan = -1, mem = -1, fds[3], r;
	struct vdevice *dev;
	char err[512];

	if (zv->state == BACKEND_STOPPING) {
		snprintf(err, sizeof(err), "hvisor-virtiod of zone %u is stopping: try again",
			 zv->zone_id);
		backend_complete(zv, done, arg, err);
		return;
	}
	if (done)
		backend_wait(zv, done, arg);
	if (zv->state == BACKEND_STARTING)
		return;
	if (zv->state == BACKEND_RUNNING) {
		backend_settle(zv, NULL);
		return;
	}
	evtimer_del(zv->ev_restart);
	r = start_process(zv, &chan, &mem, err, sizeof(err));
	if (r < 0) {
		safe_close(chan);
		safe_close(mem);
		release_early(zv);
		zv->state = BACKEND_NONE;
		log_err("zone %u: cannot start hvisor-virtiod: %s", zv->zone_id, err);
		backend_settle(zv, err);
		return;
	}
	zv->state = BACKEND_STARTING;
	fds[0] = chan;
	fds[1] = mem;
	fds[2] = zv->state_fd;
	backend_call(zv, HV_VIRTIOD_SETUP, setup_params(zv), fds, 3, setup_done, INCARNATION(zv));
	close(chan);
	close(mem);
	TAILQ_FOREACH (dev, &zv->devices, entry)
		backend_add_device(zv, dev, add_done, INCARNATION(zv));
	backend_call(zv, HV_VIRTIOD_SERVE, NULL, NULL, 0, serve_done, INCARNATION(zv));
}

void backend_stop(struct zvirt *zv, bool forget_state, backend_done_fn done, void *arg)
{
	release_early(zv);
	evtimer_del(zv->ev_restart);
	zv->forget_on_stop |= forget_state;
	zv->replace = false;
	if (zv->pid <= 0) {
		/* restarting or given up on: nothing runs */
		zv->state = BACKEND_NONE;
		zv->quick_failures = 0;
		if (zv->forget_on_stop)
			virtio_forget_state(zv);
		zv->forget_on_stop = false;
		backend_complete(zv, done, arg, NULL);
		return;
	}
	if (done)
		backend_wait(zv, done, arg);
	if (zv->state != BACKEND_STOPPING)
		stop_process(zv, SIGTERM, NULL);
}

static void restart_done(struct zvirt *zv, json_object *reply, const char *error, void *arg)
{
	if (error) {
		log_warn("zone %u: restarting hvisor-virtiod failed: %s", zv->zone_id, error);
		zv->state = BACKEND_FAILED;
		snprintf(zv->last_exit, sizeof(zv->last_exit), "restart failed");
		daemon_event(zv->d, "VirtiodFailed", zv->zone_id, error, NULL);
		virtio_save(zv->d);
		return;
	}
	zv->restarts++;
	daemon_event(zv->d, "VirtiodRestarted", zv->zone_id, NULL, NULL);
	virtio_save(zv->d);
}

static void restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zvirt *zv = arg;
	int running = zone_is_running(zv->d, zv->zone_id);

	if (zv->state != BACKEND_RESTART)
		return;
	if (running <= 0) {
		/* the zone is gone meanwhile: nothing to serve */
		zv->state = BACKEND_NONE;
		virtio_forget_state(zv);
		virtio_save(zv->d);
		return;
	}
	zv->state = BACKEND_NONE;
	backend_start(zv, restart_done, NULL);
}

/* Died unasked while it served: again after a back-off, or given up on. */
static void backend_died(struct zvirt *zv)
{
	bool quick = now_usec() - zv->started_usec < QUICK_FAILURE_SEC * 1000000ull;
	struct timeval tv;
	unsigned delay, streak;
	char msg[128];

	snprintf(msg, sizeof(msg), "hvisor-virtiod %s", zv->last_exit);
	log_warn("zone %u: %s", zv->zone_id, msg);
	daemon_event(zv->d, "VirtiodExited", zv->zone_id, msg, NULL);
	/* a backend that ran for QUICK_FAILURE_SEC starts a new streak */
	zv->quick_failures = quick ? zv->quick_failures + 1 : 0;
	/* the 5th quick death in a row is the last (docs/devices.md) */
	if (zv->quick_failures >= MAX_QUICK_FAILURES) {
		log_err("zone %u: hvisor-virtiod keeps dying; not restarting it", zv->zone_id);
		zv->state = BACKEND_FAILED;
		daemon_event(zv->d, "VirtiodFailed", zv->zone_id, msg, NULL);
		virtio_save(zv->d);
		return;
	}
	/* the back-off doubles with each quick death after the first:
	 * 0.1 s, 0.1 s, 0.2 s, 0.4 s ... up to RESTART_MAX_MSEC */
	streak = zv->quick_failures > 0 ? zv->quick_failures - 1 : 0;
	delay = MIN((unsigned)RESTART_MAX_MSEC, (unsigned)RESTART_MIN_MSEC << MIN(streak, 16u));
	tv = timeval_from_ms(delay);
	zv->state = BACKEND_RESTART;
	evtimer_add(zv->ev_restart, &tv);
	log_info("zone %u: restarting hvisor-virtiod in %u ms", zv->zone_id, delay);
	virtio_save(zv->d);
}

static void process_exited(struct zvirt *zv, const char *how)
{
	enum backend_state was = zv->state;
	char msg[200];
	char *error = TAKE_PTR(zv->settle_error);

	unwatch(zv);
	evtimer_del(zv->ev_stop_timeout);
	backend_calls_close(zv);
	zv->answering = true;
	snprintf(zv->last_exit, sizeof(zv->last_exit), "%s", how);
	snprintf(msg, sizeof(msg), "hvisor-virtiod of zone %u %s", zv->zone_id, how);
	backend_calls_fail(zv, msg);
	if (was == BACKEND_STARTING && zv->adopted) {
		/* the backend found again died before it was checked: it is
		 * started again as one that died while hvisord was away */
		zv->state = BACKEND_NONE;
		adopt_restart(zv, msg);
	} else if (was == BACKEND_STOPPING && zv->replace) {
		/* replaced by a backend of ours (re-adoption) */
		zv->replace = false;
		zv->state = BACKEND_NONE;
		backend_start(zv, NULL, NULL);
	} else if (was == BACKEND_STOPPING || was == BACKEND_STARTING) {
		zv->state = BACKEND_NONE;
		zv->quick_failures = 0;
		log_info("zone %u: hvisor-virtiod stopped (%s)", zv->zone_id, how);
		if (zv->forget_on_stop)
			virtio_forget_state(zv);
		zv->forget_on_stop = false;
		unlink_control(zv);
		backend_settle(zv, error ? error : was == BACKEND_STARTING ? msg : NULL);
		virtio_save(zv->d);
	} else
		backend_died(zv);
	free(error);
}

/* ---- re-adoption ----------------------------------------------------------------------- */

/* A backend we found but cannot keep: ours replaces it (it drains first,
 * and the new one restores the guest's setup from the state memfd). */
static void replace(struct zvirt *zv, const char *why)
{
	log_warn("zone %u: replacing hvisor-virtiod pid %d: %s", zv->zone_id, (int)zv->pid, why);
	zv->state = BACKEND_STOPPING;
	zv->replace = true;
	stop_process(zv, SIGTERM, NULL);
}

static bool listed(json_object *devices, uint64_t addr)
{
	for (size_t i = 0; i < json_object_array_length(devices); i++) {
		json_object *a, *o = json_object_array_get_idx(devices, i);

		if (json_object_object_get_ex(o, "addr", &a) && json_object_get_uint64(a) == addr)
			return true;
	}
	return false;
}

static void adopt_ready(struct zvirt *zv, json_object *reply, const char *error, void *arg)
{
	if (stale(zv, arg))
		return;
	if (error)
		start_failed(zv, "re-adoption", error);
	else if (zv->state == BACKEND_STARTING)
		serving(zv, "found again, serves");
}

/* Its devices and ours agree after this: what it serves and we do not
 * know goes, what we know and it does not serve is added (restored). */
static void adopt_list_done(struct zvirt *zv, json_object *reply, const char *error, void *arg)
{
	json_object *devices, *a;
	struct vdevice *dev;

	if (stale(zv, arg))
		return;

	if (zv->state != BACKEND_STARTING)
		return;
	if (error || !json_object_object_get_ex(reply, "devices", &devices) ||
	    !json_object_is_type(devices, json_type_array))
		return replace(zv, error ? error : "a List reply without devices");
	for (size_t i = 0; i < json_object_array_length(devices); i++) {
		bool known = false;

		if (!json_object_object_get_ex(json_object_array_get_idx(devices, i), "addr", &a))
			continue;
		TAILQ_FOREACH (dev, &zv->devices, entry)
			known |= dev->spec.addr == json_object_get_uint64(a);
		if (!known) {
			json_object *p = json_object_new_object();

			log_warn("zone %u: removing the device at 0x%llx hvisord does not know",
				 zv->zone_id, (unsigned long long)json_object_get_uint64(a));
			json_object_object_add(p, "addr", json_object_get(a));
			backend_call(zv, HV_VIRTIOD_REMOVE_DEVICE, p, NULL, 0, NULL, NULL);
		}
	}
	TAILQ_FOREACH (dev, &zv->devices, entry)
		if (!listed(devices, dev->spec.addr))
			backend_add_device(zv, dev, add_done, INCARNATION(zv));
	/* after those: it serves what we know (also one left before its
	 * Serve, by an hvisord that died starting it) */
	backend_call(zv, HV_VIRTIOD_SERVE, NULL, NULL, 0, adopt_ready, INCARNATION(zv));
}

static int64_t reply_int(json_object *reply, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(reply, key, &v) && json_object_is_type(v, json_type_int)
		       ? json_object_get_int64(v)
		       : -1;
}

/* Who answers on the socket: the backend of this zone, set up, speaking our
 * protocol version? */
static void adopt_info_done(struct zvirt *zv, json_object *reply, const char *error, void *arg)
{
	int64_t version = reply_int(reply, "version");
	char why[200];

	if (stale(zv, arg))
		return;

	if (zv->state != BACKEND_STARTING)
		return;
	if (error) {
		/* version 1 backends do not know GetInfo */
		snprintf(why, sizeof(why), "it does not answer GetInfo (%s)", error);
		return replace(zv, why);
	}
	if (version != HV_VIRTIOD_PROTO_VERSION) {
		snprintf(why, sizeof(why), "it speaks protocol version %lld, this hvisord %d",
			 (long long)version, HV_VIRTIOD_PROTO_VERSION);
		return replace(zv, why);
	}
	if (!json_object_get_boolean(json_object_object_get(reply, "setup")))
		return replace(zv, "it was never set up");
	if (reply_int(reply, "zone_id") != (int64_t)zv->zone_id ||
	    reply_int(reply, "pid") != (int64_t)zv->pid) {
		snprintf(why, sizeof(why), "it says it is pid %lld of zone %lld",
			 (long long)reply_int(reply, "pid"),
			 (long long)reply_int(reply, "zone_id"));
		return replace(zv, why);
	}
	backend_call(zv, HV_VIRTIOD_LIST, NULL, NULL, 0, adopt_list_done, INCARNATION(zv));
}

/* The backend a previous hvisord left is gone: a new one, counted as a
 * restart (the guest's setup comes back from the kept state memfd). */
static void adopt_restart(struct zvirt *zv, const char *why)
{
	log_warn("zone %u: %s; starting it again", zv->zone_id, why);
	snprintf(zv->last_exit, sizeof(zv->last_exit), "gone while hvisord was away");
	daemon_event(zv->d, "VirtiodExited", zv->zone_id, why, NULL);
	zv->state = BACKEND_NONE;
	backend_start(zv, restart_done, NULL);
}

void backend_adopt(struct zvirt *zv, pid_t pid, backend_done_fn done, void *arg)
{
	char why[200];
	pid_t peer = 0;
	int fd, r;

	if (done)
		backend_wait(zv, done, arg);
	fd = connect_control(zv, &peer);
	if (fd < 0) {
		snprintf(why, sizeof(why), "its hvisor-virtiod (pid %d) is gone (%s)", (int)pid,
			 strerror(-fd));
		return adopt_restart(zv, why);
	}
	if (peer != pid)
		log_warn("zone %u: the backend recorded was pid %d, pid %d answers", zv->zone_id,
			 (int)pid, (int)peer);
	r = watch(zv, peer);
	if (r == 0)
		r = backend_calls_open(zv, fd);
	else
		close(fd);
	if (r < 0) {
		snprintf(why, sizeof(why), "cannot watch its hvisor-virtiod (pid %d): %s",
			 (int)peer, strerror(-r));
		unwatch(zv);
		return adopt_restart(zv, why);
	}
	zv->state = BACKEND_STARTING;
	zv->adopted = true;
	backend_call(zv, HV_VIRTIOD_GET_INFO, NULL, NULL, 0, adopt_info_done, INCARNATION(zv));
}

int backend_init(struct zvirt *zv)
{
	struct event_base *base = zv->d->base;

	zv->pidfd = zv->state_fd = -1;
	zv->early_chan = zv->early_mem = -1;
	zv->ev_restart = evtimer_new(base, restart_cb, zv);
	zv->ev_stop_timeout = evtimer_new(base, stop_timeout_cb, zv);
	if (!zv->ev_restart || !zv->ev_stop_timeout)
		return -ENOMEM;
	return backend_calls_init(zv);
}

void backend_release(struct zvirt *zv)
{
	release_early(zv);
	unwatch(zv);
	backend_calls_free(zv);
	if (zv->ev_restart)
		event_free(zv->ev_restart);
	if (zv->ev_stop_timeout)
		event_free(zv->ev_stop_timeout);
	zv->ev_restart = zv->ev_stop_timeout = NULL;
	zv->state_fd = safe_close(zv->state_fd);
	free(TAKE_PTR(zv->settle_error));
}
