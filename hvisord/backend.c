// SPDX-License-Identifier: GPL-2.0-only
/*
 * One hvisor-virtiod per zone: attach the zone channel, fork+exec the
 * backend with a control socketpair as fd 3, hand it the channel, the
 * memory fd, the state memfd and every device's backing fd, and watch it.
 * If it dies while its zone runs, the event is reported and it is started
 * again after a back-off (0.1 s doubling to 10 s; after 5 quick failures in
 * a row we give up). The state memfd survives the restart, so the guest's
 * device setup is restored rather than lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hv.h"
#include "log.h"
#include "util.h"
#include "virtio.h"

#define CONTROL_TIMEOUT_SEC 5
#define STOP_WAIT_MSEC	    2500
#define RESTART_MIN_MSEC    100
#define RESTART_MAX_MSEC    10000
#define QUICK_FAILURE_SEC   30
#define MAX_QUICK_FAILURES  5

const char *backend_state_name(enum backend_state s)
{
	static const char *const names[] = {
		[BACKEND_NONE] = "stopped",	  [BACKEND_RUNNING] = "running",
		[BACKEND_RESTART] = "restarting", [BACKEND_FAILED] = "failed",
		[BACKEND_STOPPING] = "stopping",
	};

	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "?";
}

/* One call over the control socket: a packet out, a packet back. */
static int call(struct zvirt *zv, const char *method, json_object *params, const int *fds,
		size_t n_fds, json_object **ret_reply)
{
	struct vl_client c = {.fd = zv->ctl_fd};
	int r;

	vl_framer_init(&c.in, VL_MAX_MESSAGE_SIZE);
	r = vl_client_call(&c, method, params, fds, n_fds, ret_reply);
	vl_framer_done(&c.in);
	if (r == -EAGAIN)
		r = -ETIMEDOUT;
	return r;
}

/* call() and turn an error reply into -EIO with its message. */
static int call_ok(struct zvirt *zv, const char *method, json_object *params, const int *fds,
		   size_t n_fds, json_object **ret_reply, char *errbuf, size_t errsize)
{
	json_object *reply = NULL;
	int r = call(zv, method, params, fds, n_fds, &reply);

	if (r < 0) {
		snprintf(errbuf, errsize, "hvisor-virtiod of zone %u did not answer %s: %s",
			 zv->zone_id, method, strerror(-r));
		return r;
	}
	if (vl_reply_error(reply)) {
		snprintf(errbuf, errsize, "%s", vl_reply_error_message(reply));
		json_object_put(reply);
		return -EIO;
	}
	if (ret_reply)
		*ret_reply = reply;
	else
		json_object_put(reply);
	return 0;
}

static json_object *ram_json(const struct zvirt *zv)
{
	json_object *a = json_object_new_array();

	for (unsigned i = 0; i < zv->n_ram; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "gpa", json_object_new_uint64(zv->ram[i].gpa));
		json_object_object_add(o, "size", json_object_new_uint64(zv->ram[i].size));
		json_object_object_add(o, "offset", json_object_new_uint64(zv->ram[i].offset));
		json_object_array_add(a, o);
	}
	return a;
}

int backend_add_device(struct zvirt *zv, struct vdevice *dev, json_object **ret_info, char *errbuf,
		       size_t errsize)
{
	json_object *params = json_object_new_object(), *reply = NULL, *info;
	int fd, r;

	/* the backend owns what it gets; we keep ours for a restart */
	fd = fcntl(dev->fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0) {
		json_object_put(params);
		snprintf(errbuf, errsize, "cannot duplicate the backing fd: %m");
		return negative_errno();
	}
	json_object_object_add(params, "slot", json_object_new_int((int)dev->slot));
	json_object_object_add(params, "device", hv_virtio_device_to_json(&dev->spec));
	json_object_object_add(params, "restore", json_object_new_boolean(dev->served));
	r = call_ok(zv, "org.hvisor.Virtiod.AddDevice", params, &fd, 1, &reply, errbuf, errsize);
	close(fd);
	if (r < 0)
		return r;
	dev->served = true;
	if (ret_info && json_object_object_get_ex(vl_reply_parameters(reply), "info", &info))
		*ret_info = json_object_get(info);
	json_object_put(reply);
	return 0;
}

int backend_remove_device(struct zvirt *zv, uint64_t addr)
{
	json_object *params = json_object_new_object();
	char err[256];

	json_object_object_add(params, "addr", json_object_new_uint64(addr));
	return call_ok(zv, "org.hvisor.Virtiod.RemoveDevice", params, NULL, 0, NULL, err,
		       sizeof(err));
}

int backend_list(struct zvirt *zv, json_object **ret_devices)
{
	json_object *reply = NULL, *devs;
	char err[256];
	int r;

	if (zv->state != BACKEND_RUNNING)
		return -ESRCH;
	r = call_ok(zv, "org.hvisor.Virtiod.List", NULL, NULL, 0, &reply, err, sizeof(err));
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(vl_reply_parameters(reply), "devices", &devs)) {
		json_object_put(reply);
		return -EBADMSG;
	}
	*ret_devices = json_object_get(devs);
	json_object_put(reply);
	return 0;
}

int backend_set_log_level(struct zvirt *zv, const char *level, char *ret_previous, size_t size)
{
	json_object *reply = NULL, *params = json_object_new_object();
	char err[256];
	int r;

	json_object_object_add(params, "level", json_object_new_string(level));
	r = call_ok(zv, "org.hvisor.Virtiod.SetLogLevel", params, NULL, 0, &reply, err,
		    sizeof(err));
	if (r < 0) {
		log_warn("zone %u: hvisor-virtiod did not take log level %s: %s", zv->zone_id,
			 level, err);
		return r;
	}
	snprintf(ret_previous, size, "%s",
		 json_object_get_string(
			 json_object_object_get(vl_reply_parameters(reply), "previous"))
			 ?: "?");
	json_object_put(reply);
	return 0;
}

/* The child: fd 3 is the control socket, fd 4 (close-on-exec) reports a
 * failed exec by its errno; nothing else leaks. */
static _noreturn_ void spawn_child(struct daemon *d, int child_fd, int err_fd)
{
	const char *level = log_level_to_string(log_get_level());
	sigset_t all;
	int e;

	if (dup2(child_fd, 3) < 0 || dup3(err_fd, 4, O_CLOEXEC) < 0)
		_exit(127);
	(void)syscall(SYS_close_range, 5, ~0u, 0);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	execl(d->virtiod_path, "hvisor-virtiod", "--control-fd", "3", "--log-level", level,
	      (char *)NULL);
	e = errno;
	(void)!write(4, &e, sizeof(e));
	_exit(127);
}

/* fork + exec hvisor-virtiod. A failed exec is reported here with its
 * reason ("cannot run PATH: ..."), not later as a silent control socket. */
static pid_t spawn(struct daemon *d, int child_fd, char *errbuf, size_t errsize)
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
		spawn_child(d, child_fd, ep[1]);
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

static void kill_and_reap(struct zvirt *zv)
{
	if (zv->pid > 0) {
		kill(zv->pid, SIGKILL);
		(void)waitpid(zv->pid, NULL, 0);
	}
	zv->pid = 0;
	zv->ctl_fd = safe_close(zv->ctl_fd);
	zv->state = BACKEND_NONE;
}

/* The transport state of this zone run, kept across backend restarts. */
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
	return 0;
}

int backend_start(struct zvirt *zv, char *errbuf, size_t errsize)
{
	struct daemon *d = zv->d;
	struct timeval tv = {.tv_sec = CONTROL_TIMEOUT_SEC};
	int chan = -1, mem = -1, sv[2] = {-1, -1}, fds[3], r;
	json_object *params;
	struct vdevice *dev;

	if (zv->state == BACKEND_RUNNING)
		return 0;
	if (!zv->ram_known) {
		release_early(zv);
		snprintf(errbuf, errsize, "the memory map of zone %u is unknown", zv->zone_id);
		return -EINVAL;
	}
	r = backend_attach_early(zv, errbuf, errsize);
	if (r < 0)
		return r;
	chan = TAKE_FD(zv->early_chan);
	mem = TAKE_FD(zv->early_mem);
	r = state_memfd(zv, errbuf, errsize);
	if (r < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		r = negative_errno();
		snprintf(errbuf, errsize, "socketpair: %s", strerror(-r));
		goto fail;
	}
	zv->pid = spawn(d, sv[1], errbuf, errsize);
	if (zv->pid < 0) {
		r = negative_errno();
		zv->pid = 0;
		goto fail;
	}
	sv[1] = safe_close(sv[1]);
	zv->ctl_fd = TAKE_FD(sv[0]);
	zv->state = BACKEND_RUNNING;

	params = json_object_new_object();
	json_object_object_add(params, "zone_id", json_object_new_int64(zv->zone_id));
	json_object_object_add(params, "ram", ram_json(zv));
	if (d->virtiod_user && *d->virtiod_user)
		json_object_object_add(params, "user", json_object_new_string(d->virtiod_user));
	/* the guest's requests wait until every device is there */
	json_object_object_add(params, "serve", json_object_new_boolean(false));
	fds[0] = chan;
	fds[1] = mem;
	fds[2] = zv->state_fd;
	r = call_ok(zv, "org.hvisor.Virtiod.Setup", params, fds, 3, NULL, errbuf, errsize);
	chan = safe_close(chan);
	mem = safe_close(mem);
	if (r < 0)
		goto fail_child;
	TAILQ_FOREACH (dev, &zv->devices, entry) {
		r = backend_add_device(zv, dev, NULL, errbuf, errsize);
		if (r < 0)
			goto fail_child;
	}
	r = call_ok(zv, "org.hvisor.Virtiod.Serve", NULL, NULL, 0, NULL, errbuf, errsize);
	if (r < 0)
		goto fail_child;
	zv->started_usec = now_usec();
	log_info("zone %u: hvisor-virtiod pid %d serves %u device(s)", zv->zone_id, (int)zv->pid,
		 zv->n_devices);
	return 0;

fail_child:
	kill_and_reap(zv);
fail:
	safe_close(chan);
	safe_close(mem);
	safe_close(sv[0]);
	safe_close(sv[1]);
	return r;
}

/* Waits for the backend to exit, up to ms; true if it did. */
static bool wait_exit(struct zvirt *zv, int ms, int *ret_status)
{
	for (int waited = 0;; waited += 10) {
		pid_t p = waitpid(zv->pid, ret_status, WNOHANG);

		if (p == zv->pid || (p < 0 && errno == ECHILD))
			return true;
		if (waited >= ms)
			return false;
		usleep(10000);
	}
}

static void describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by %s", strsignal(WTERMSIG(status)));
	else
		snprintf(buf, size, "ended");
}

void backend_stop(struct zvirt *zv, bool forget_state)
{
	int status = 0;

	release_early(zv);
	if (zv->ev_restart)
		evtimer_del(zv->ev_restart);
	if (zv->pid > 0) {
		zv->state = BACKEND_STOPPING;
		kill(zv->pid, SIGTERM); /* it drains what is in flight */
		if (!wait_exit(zv, STOP_WAIT_MSEC, &status)) {
			log_warn("zone %u: hvisor-virtiod did not exit in time; killing it",
				 zv->zone_id);
			kill(zv->pid, SIGKILL);
			(void)waitpid(zv->pid, &status, 0);
		}
		describe_status(status, zv->last_exit, sizeof(zv->last_exit));
		log_info("zone %u: hvisor-virtiod stopped (%s)", zv->zone_id, zv->last_exit);
	}
	zv->pid = 0;
	zv->ctl_fd = safe_close(zv->ctl_fd);
	zv->state = BACKEND_NONE;
	zv->quick_failures = 0;
	if (forget_state) {
		zv->state_fd = safe_close(zv->state_fd);
		zv->restarts = 0;
	}
}

static void restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct zvirt *zv = arg;
	char err[512];
	int running = zone_is_running(zv->d, zv->zone_id);

	if (zv->state != BACKEND_RESTART)
		return;
	if (running <= 0) {
		/* the zone is gone meanwhile: nothing to serve */
		zv->state = BACKEND_NONE;
		zv->state_fd = safe_close(zv->state_fd);
		return;
	}
	zv->state = BACKEND_NONE;
	if (backend_start(zv, err, sizeof(err)) < 0) {
		log_warn("zone %u: restarting hvisor-virtiod failed: %s", zv->zone_id, err);
		zv->state = BACKEND_FAILED;
		snprintf(zv->last_exit, sizeof(zv->last_exit), "restart failed");
		daemon_event_emit_zone(zv->d, "VirtiodFailed", zv->zone_id, err);
		return;
	}
	zv->restarts++;
	daemon_event_emit_zone(zv->d, "VirtiodRestarted", zv->zone_id, NULL);
}

static void backend_died(struct zvirt *zv, int status)
{
	bool quick = now_usec() - zv->started_usec < QUICK_FAILURE_SEC * 1000000ull;
	unsigned delay;
	struct timeval tv;
	char msg[128];

	describe_status(status, zv->last_exit, sizeof(zv->last_exit));
	zv->pid = 0;
	zv->ctl_fd = safe_close(zv->ctl_fd);
	snprintf(msg, sizeof(msg), "hvisor-virtiod %s", zv->last_exit);
	log_warn("zone %u: %s", zv->zone_id, msg);
	daemon_event_emit_zone(zv->d, "VirtiodExited", zv->zone_id, msg);
	/* a backend that ran for QUICK_FAILURE_SEC starts a new streak */
	zv->quick_failures = quick ? zv->quick_failures + 1 : 0;
	/* the 5th quick death in a row is the last (docs/devices.md) */
	if (zv->quick_failures >= MAX_QUICK_FAILURES) {
		log_err("zone %u: hvisor-virtiod keeps dying; not restarting it", zv->zone_id);
		zv->state = BACKEND_FAILED;
		daemon_event_emit_zone(zv->d, "VirtiodFailed", zv->zone_id, msg);
		return;
	}
	delay = MIN((unsigned)RESTART_MAX_MSEC,
		    (unsigned)RESTART_MIN_MSEC
			    << MIN(zv->quick_failures - !!zv->quick_failures, 16u));
	tv = (struct timeval){.tv_sec = delay / 1000, .tv_usec = (delay % 1000) * 1000};
	zv->state = BACKEND_RESTART;
	if (!zv->ev_restart)
		zv->ev_restart = evtimer_new(zv->d->base, restart_cb, zv);
	if (zv->ev_restart)
		evtimer_add(zv->ev_restart, &tv);
	log_info("zone %u: restarting hvisor-virtiod in %u ms", zv->zone_id, delay);
}

void backend_sigchld(struct daemon *d)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		struct zvirt *zv;

		TAILQ_FOREACH (zv, &d->zvirts, entry)
			if (zv->pid == pid && zv->state == BACKEND_RUNNING) {
				backend_died(zv, status);
				break;
			}
	}
}
