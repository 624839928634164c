// SPDX-License-Identifier: GPL-2.0-only
/*
 * The descriptor keeper: what hvisord holds for zones and devices (disk
 * images and taps passed by clients, ptys, transport state) must outlive
 * hvisord, or a restart of hvisord would lose the devices of every running
 * guest. hvisord hands each such descriptor to a small process of its own,
 * forked once (hvisor-fdstore), and takes them back when it starts again
 * (proto/fdstore.h). The keeper only holds descriptors: it parses fixed-size
 * records from its own uid and never touches what it holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdstore.h"
#include "hvisord.h"
#include "log.h"
#include "util.h"

_Static_assert(sizeof(((struct named_fd *)0)->name) == HV_FDSTORE_NAME_MAX, "named_fd name");

#define KEEPER_FD	    3
#define KEEPER_CHECK_MSEC   5000 /* how often an idle keeper checks its socket */
#define LIST_TIMEOUT_MSEC   2000
#define KEEPER_SEND_TIMEOUT 2 /* s */

struct keeper {
	int listen_fd, client_fd;
	ino_t sock_ino;
	const char *path;
	struct named_fds fds;
};

/* A name is 1..63 printable ASCII characters, NUL-terminated in place. */
static bool name_ok(const char name[HV_FDSTORE_NAME_MAX])
{
	size_t len = strnlen(name, HV_FDSTORE_NAME_MAX);

	if (len == 0 || len == HV_FDSTORE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return false;
	return true;
}

static int msg_send(int sock, enum hv_fdstore_op op, const char *name, int fd, int flags)
{
	struct hv_fdstore_msg m = {.version = HV_FDSTORE_VERSION, .op = op};
	ssize_t k;

	if (name)
		snprintf(m.name, sizeof(m.name), "%s", name);
	k = send_with_fds(sock, &m, sizeof(m), &fd, fd >= 0 ? 1 : 0, flags);
	return k < 0 ? (int)k : 0;
}

/* ---- the keeper ------------------------------------------------------------------------- */

/* ---- named descriptors (the keeper's, and what hvisord takes back) --------------------- */

static ssize_t named_find(const struct named_fds *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->e[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

int named_fds_put(struct named_fds *s, const char *name, int fd)
{
	ssize_t i = named_find(s, name);

	if (i >= 0) {
		close(s->e[i].fd);
		s->e[i].fd = fd;
		return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		void *e = s->n < HV_FDSTORE_MAX ? realloc(s->e, cap * sizeof(*s->e)) : NULL;

		if (!e) {
			close(fd);
			return -ENOSPC;
		}
		s->e = e;
		s->cap = cap;
	}
	snprintf(s->e[s->n].name, sizeof(s->e[s->n].name), "%s", name);
	s->e[s->n++].fd = fd;
	return 0;
}

int named_fds_take(struct named_fds *s, const char *name)
{
	ssize_t i = named_find(s, name);
	int fd;

	if (i < 0)
		return -1;
	fd = s->e[i].fd;
	s->e[i] = s->e[--s->n];
	return fd;
}

void named_fds_clear(struct named_fds *s)
{
	for (size_t i = 0; i < s->n; i++)
		close(s->e[i].fd);
	free(s->e);
	*s = (struct named_fds){0};
}

/* ---- the keeper ------------------------------------------------------------------------- */

static void keeper_put(struct keeper *k, const char *name, int fd)
{
	if (named_fds_put(&k->fds, name, fd) < 0)
		log_err("hvisor-fdstore: cannot keep %s: %u descriptors held", name,
			(unsigned)k->fds.n);
}

static void keeper_list(struct keeper *k)
{
	for (size_t i = 0; i < k->fds.n; i++)
		if (msg_send(k->client_fd, HV_FDSTORE_ENTRY, k->fds.e[i].name, k->fds.e[i].fd, 0) <
		    0)
			return;
	(void)msg_send(k->client_fd, HV_FDSTORE_END, NULL, -1, 0);
}

/* One record from the client; false when the connection is over. */
static bool keeper_serve(struct keeper *k)
{
	struct hv_fdstore_msg m;
	size_t n_fds = 0;
	int fd = -1;
	ssize_t r = recv_with_fds(k->client_fd, &m, sizeof(m), &fd, 1, &n_fds, 0);

	if (r <= 0)
		return false;
	if (r != sizeof(m) || m.version != HV_FDSTORE_VERSION ||
	    (m.op != HV_FDSTORE_LIST && m.op != HV_FDSTORE_EXIT && !name_ok(m.name)) ||
	    (n_fds == 1) != (m.op == HV_FDSTORE_PUT)) {
		log_warn("hvisor-fdstore: a malformed record (%zd bytes, op %u); closing", r,
			 r >= 8 ? m.op : 0);
		safe_close(fd);
		return false;
	}
	switch (m.op) {
	case HV_FDSTORE_PUT:
		keeper_put(k, m.name, fd);
		break;
	case HV_FDSTORE_DROP:
		safe_close(named_fds_take(&k->fds, m.name));
		break;
	case HV_FDSTORE_LIST:
		keeper_list(k);
		break;
	case HV_FDSTORE_EXIT:
		_exit(0);
	default:
		log_warn("hvisor-fdstore: unknown operation %u; closing", m.op);
		return false;
	}
	return true;
}

/* A new client replaces the old one: it is the hvisord that started since. */
static void keeper_accept(struct keeper *k)
{
	struct timeval tv = {.tv_sec = KEEPER_SEND_TIMEOUT};
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = accept4(k->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != getuid()) {
		close(fd);
		return;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	safe_close(k->client_fd);
	k->client_fd = fd;
}

/* Is our socket still where hvisord looks for it? A keeper whose runtime
 * directory was removed has nobody to serve. */
static bool keeper_reachable(const struct keeper *k)
{
	struct stat st;

	return stat(k->path, &st) == 0 && st.st_ino == k->sock_ino;
}

static _noreturn_ void keeper_main(struct keeper *k)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = k->listen_fd, .events = POLLIN},
				      {.fd = k->client_fd, .events = POLLIN}};
		int r = poll(p, k->client_fd >= 0 ? 2 : 1, KEEPER_CHECK_MSEC);

		if (r < 0 && errno != EINTR)
			_exit(1);
		if (r == 0 && k->client_fd < 0 && !keeper_reachable(k))
			_exit(0);
		if (r > 0 && (p[0].revents & POLLIN))
			keeper_accept(k);
		else if (r > 0 && k->client_fd >= 0 && p[1].revents && !keeper_serve(k)) {
			k->client_fd = safe_close(k->client_fd);
			/* hvisord is gone and nothing is kept: nothing to wait for */
			if (k->fds.n == 0)
				_exit(0);
		}
	}
}

/* ---- hvisord's side ---------------------------------------------------------------------- */

static int socket_path(struct daemon *d, struct sockaddr_un *sa)
{
	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	if (snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", d->runtime_dir,
		     HV_FDSTORE_SOCKET) >= (int)sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

static int connect_keeper(const struct sockaddr_un *sa)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return negative_errno();
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		return negative_errno();
	return TAKE_FD(fd);
}

/* Forks the keeper on a fresh socket at sa. */
/* The keeper's socket at sa (mode 0600: only our uid may connect). */
static int bind_keeper_socket(const struct sockaddr_un *sa, ino_t *ret_ino)
{
	_cleanup_close_ int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct stat st;
	mode_t old;
	int r;

	if (lfd < 0)
		return negative_errno();
	(void)unlink(sa->sun_path); /* nobody answered on it */
	old = umask(0177);
	r = bind(lfd, (const struct sockaddr *)sa, sizeof(*sa));
	umask(old);
	if (r < 0 || listen(lfd, 4) < 0 || stat(sa->sun_path, &st) < 0)
		return negative_errno();
	*ret_ino = st.st_ino;
	return TAKE_FD(lfd);
}

/* The keeper process: its own session, nothing of hvisord's but stderr; a
 * byte on ready once it is what it will stay. */
static _noreturn_ void keeper_start(struct keeper *k, int lfd, int ready)
{
	sigset_t none;

	(void)setsid();
	prctl(PR_SET_NAME, "hvisor-fdstore", 0, 0, 0);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	(void)!write(ready, "", 1);
	if (dup2(lfd, KEEPER_FD) < 0)
		_exit(1);
	k->listen_fd = KEEPER_FD;
	(void)syscall(SYS_close_range, KEEPER_FD + 1, ~0u, 0);
	keeper_main(k);
}

/* Forks the keeper on a fresh socket at sa, twice (nobody's child, so
 * nobody has to reap it), and returns once it runs. */
static int spawn_keeper(const struct sockaddr_un *sa)
{
	struct keeper k = {.client_fd = -1, .path = sa->sun_path};
	_cleanup_close_ int lfd = bind_keeper_socket(sa, &k.sock_ino);
	int ready[2], status;
	char c;
	pid_t pid;

	if (lfd < 0)
		return lfd;
	if (pipe2(ready, O_CLOEXEC) < 0)
		return negative_errno();
	pid = fork();
	if (pid == 0) {
		pid = fork();
		if (pid == 0)
			keeper_start(&k, lfd, ready[1]);
		_exit(pid < 0 ? 1 : 0);
	}
	close(ready[1]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) ||
	    read(ready[0], &c, 1) != 1) {
		close(ready[0]);
		return -ECHILD;
	}
	close(ready[0]);
	return 0;
}

int fdstore_connect(struct daemon *d, bool spawn)
{
	struct sockaddr_un sa;
	int r = socket_path(d, &sa);

	if (r < 0 || d->fdstore_fd >= 0)
		return r;
	r = connect_keeper(&sa);
	if (r < 0 && spawn) {
		r = spawn_keeper(&sa);
		if (r < 0)
			return log_errno(LOG_ERR, r, "cannot start the descriptor keeper at %s",
					 sa.sun_path);
		r = connect_keeper(&sa);
	}
	if (r < 0)
		return r;
	d->fdstore_fd = r;
	return 0;
}

/* A record to the keeper; one that does not answer is replaced. */
static void fdstore_send(struct daemon *d, enum hv_fdstore_op op, const char *name, int fd)
{
	/* a keeper is started to keep something, not to forget something */
	int r = fdstore_connect(d, op == HV_FDSTORE_PUT);

	if (r < 0 && op != HV_FDSTORE_PUT)
		return;

	if (r >= 0)
		r = msg_send(d->fdstore_fd, op, name, fd, MSG_DONTWAIT);
	if (r < 0 && r != -EAGAIN && d->fdstore_fd >= 0) {
		/* the keeper died: a new one, and everything again */
		d->fdstore_fd = safe_close(d->fdstore_fd);
		log_warn("the descriptor keeper is gone (%s); starting a new one", strerror(-r));
		if (fdstore_connect(d, true) == 0)
			virtio_fdstore_refill(d);
		return;
	}
	if (r < 0)
		log_warn("cannot hand %s to the descriptor keeper: %s", name ? name : "a record",
			 strerror(-r));
}

void fdstore_put(struct daemon *d, const char *name, int fd)
{
	fdstore_send(d, HV_FDSTORE_PUT, name, fd);
}

void fdstore_drop(struct daemon *d, const char *name)
{
	fdstore_send(d, HV_FDSTORE_DROP, name, -1);
}

/* One record within the list's deadline: 1, 0 at END, or -errno. */
static int list_next(int fd, int64_t deadline, struct hv_fdstore_msg *m, int *ret_fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int64_t left = deadline - (int64_t)(now_usec() / 1000);
	size_t n_fds = 0;
	ssize_t k;

	*ret_fd = -1;
	if (left <= 0 || poll(&p, 1, (int)left) <= 0)
		return -ETIMEDOUT;
	k = recv_with_fds(fd, m, sizeof(*m), ret_fd, 1, &n_fds, MSG_DONTWAIT);
	if (k <= 0)
		return k == 0 ? -ECONNRESET : (int)k;
	if (k != sizeof(*m) || m->version != HV_FDSTORE_VERSION ||
	    (m->op == HV_FDSTORE_ENTRY && (n_fds != 1 || !name_ok(m->name)))) {
		*ret_fd = safe_close(*ret_fd);
		return -EBADMSG;
	}
	return m->op == HV_FDSTORE_ENTRY ? 1 : 0;
}

int fdstore_list(struct daemon *d, void (*cb)(void *arg, const char *name, int fd), void *arg)
{
	int64_t deadline = (int64_t)(now_usec() / 1000) + LIST_TIMEOUT_MSEC;
	struct hv_fdstore_msg m;
	int r, fd, n = 0;

	r = fdstore_connect(d, false);
	if (r < 0)
		return r == -ENOENT || r == -ECONNREFUSED ? 0 : r;
	r = msg_send(d->fdstore_fd, HV_FDSTORE_LIST, NULL, -1, 0);
	while (r >= 0 && (r = list_next(d->fdstore_fd, deadline, &m, &fd)) == 1) {
		cb(arg, m.name, fd); /* takes fd */
		n++;
	}
	if (r < 0) {
		d->fdstore_fd = safe_close(d->fdstore_fd);
		return log_errno(LOG_WARNING, r,
				 "the descriptor keeper did not list what it keeps");
	}
	return n;
}

void fdstore_exit(struct daemon *d)
{
	if (fdstore_connect(d, false) == 0)
		(void)msg_send(d->fdstore_fd, HV_FDSTORE_EXIT, NULL, -1, MSG_DONTWAIT);
	d->fdstore_fd = safe_close(d->fdstore_fd);
}

void fdstore_close(struct daemon *d)
{
	d->fdstore_fd = safe_close(d->fdstore_fd);
}
