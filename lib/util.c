// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "util.h"

static int parse_u64_base(const char *s, int base, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	/* strtoull accepts blanks and a sign; upstream's rule is digits only. */
	if (!s || !isxdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (end == s || *end)
		return -EINVAL;
	if (errno == ERANGE || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
	return parse_u64_base(s, 0, max, ret);
}

int parse_u64_hex(const char *s, uint64_t max, uint64_t *ret)
{
	return parse_u64_base(s, 16, max, ret);
}

int fd_file_size(int fd, const struct stat *st, uint64_t *ret)
{
	if (S_ISREG(st->st_mode)) {
		*ret = (uint64_t)st->st_size;
		return 0;
	}
	if (!S_ISBLK(st->st_mode))
		return -EINVAL;
	return ioctl(fd, BLKGETSIZE64, ret) < 0 ? -errno : 0;
}

/* Sets or clears one flag of F_GETFL/F_SETFL or F_GETFD/F_SETFD. */
static int fd_set_flag(int fd, int get, int set, int flag, bool on)
{
	int flags = fcntl(fd, get);

	if (flags < 0)
		return negative_errno();
	flags = on ? flags | flag : flags & ~flag;
	if (fcntl(fd, set, flags) < 0)
		return negative_errno();
	return 0;
}

int fd_set_nonblock(int fd, bool nonblock)
{
	return fd_set_flag(fd, F_GETFL, F_SETFL, O_NONBLOCK, nonblock);
}

int fd_set_cloexec(int fd, bool cloexec)
{
	return fd_set_flag(fd, F_GETFD, F_SETFD, FD_CLOEXEC, cloexec);
}

ssize_t read_full(int fd, void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = read(fd, (char *)buf + done, n - done);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (k == 0)
			break;
		done += (size_t)k;
	}
	return (ssize_t)done;
}

ssize_t pread_full(int fd, void *buf, size_t n, off_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = pread(fd, (char *)buf + done, n - done, off + (off_t)done);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (k == 0)
			break;
		done += (size_t)k;
	}
	return (ssize_t)done;
}

int write_full(int fd, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = write(fd, (const char *)buf + done, n - done);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		done += (size_t)k;
	}
	return 0;
}

ssize_t send_with_fds(int sock, const void *buf, size_t len, const int *fds, size_t n_fds,
		      int flags)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * HV_MAX_FDS_PER_MSG)];
	} control;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t k;

	if (n_fds > HV_MAX_FDS_PER_MSG)
		return -EINVAL;
	if (n_fds > 0) {
		struct cmsghdr *c;

		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	do
		k = sendmsg(sock, &msg, flags | MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	return k < 0 ? negative_errno() : k;
}

ssize_t recv_with_fds(int sock, void *buf, size_t len, int *fds, size_t max_fds, size_t *ret_n_fds,
		      int flags)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * HV_MAX_FDS_PER_MSG)];
	} control;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	size_t n;
	ssize_t k;

	do
		k = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return negative_errno();
	if (cmsg_take_fds(&msg, fds, max_fds, &n) != (ssize_t)n) {
		close_many(fds, n);
		*ret_n_fds = 0;
		return -EMSGSIZE;
	}
	*ret_n_fds = n;
	return k;
}

ssize_t cmsg_take_fds(const struct msghdr *msg, int *fds, size_t max_fds, size_t *ret_n)
{
	size_t n = 0, all = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		size_t cnt;
		int *p;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		p = (int *)CMSG_DATA(c);
		for (size_t i = 0; i < cnt; i++, all++) {
			int fd;

			memcpy(&fd, p + i, sizeof(fd));
			if (n < max_fds)
				fds[n++] = fd;
			else
				close(fd);
		}
	}
	*ret_n = n;
	if (msg->msg_flags & MSG_CTRUNC)
		return -EMSGSIZE;
	return (ssize_t)all;
}

void close_many(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		safe_close(fds[i]);
}

static uint64_t clock_usec(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t now_usec(void)
{
	return clock_usec(CLOCK_MONOTONIC);
}

uint64_t now_realtime_usec(void)
{
	return clock_usec(CLOCK_REALTIME);
}

int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return negative_errno();
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

void format_cpu_list(uint64_t cpus, const char *sep, char *buf, size_t size)
{
	size_t off = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (cpus == 0) {
		snprintf(buf, size, "none");
		return;
	}
	for (unsigned i = 0; i < 64; i++) {
		int k;

		if (!(cpus & (UINT64_C(1) << i)))
			continue;
		k = snprintf(buf + off, size - off, "%s%u", off ? sep : "", i);
		if (k < 0 || (size_t)k >= size - off)
			return;
		off += (size_t)k;
	}
}

size_t utf8_decode(const char *s, size_t len, uint32_t *ret_cp)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned n;
	uint32_t cp;

	if (len == 0)
		return 0;
	if (p[0] < 0x80)
		n = 0, cp = p[0];
	else if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 1, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 2, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 3, cp = p[0] & 0x07;
	else
		return 0; /* a continuation byte, or an overlong lead */
	if (len - 1 < n)
		return 0;
	for (unsigned i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* overlong, surrogates, beyond U+10FFFF */
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return n + 1;
}

bool utf8_valid(const char *s, size_t len)
{
	uint32_t cp;

	for (size_t i = 0, n; i < len; i += n) {
		n = utf8_decode(s + i, len - i, &cp);
		if (n == 0)
			return false;
	}
	return true;
}

/* What a terminal or a reader of a log acts on rather than shows: C0 and
 * C1 controls, DEL, the line and paragraph separators, and the bidi
 * controls that reorder the text around them. */
static bool char_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x61c || cp == 0x200e ||
	       cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Must the character of n bytes at s (n = 0: an ill-formed byte) be
 * escaped in this style? */
static bool needs_escape(size_t n, uint32_t cp, enum str_escape_style style)
{
	if (n == 0)
		return true;
	if (style == STR_ESCAPE_JSON) /* json-c escapes C0 in strings; elsewhere it is layout */
		return cp >= 0x20 && char_is_control(cp);
	return cp == '\\' || char_is_control(cp);
}

/* The escaped form of that character into out (at least 17 bytes); its
 * length. */
static size_t escape_char(const char *s, size_t n, uint32_t cp, enum str_escape_style style,
			  char *out)
{
	static const char named[] = {['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't', ['\\'] = '\\'};
	size_t k = 0;

	if (!needs_escape(n, cp, style)) {
		memcpy(out, s, n);
		return n;
	}
	if (style == STR_ESCAPE_JSON)
		return (size_t)sprintf(out, "\\u%04x", n ? (unsigned)cp : 0xfffdu);
	if (n == 1 && cp < sizeof(named) && named[cp])
		return (size_t)sprintf(out, "\\%c", named[cp]);
	for (size_t i = 0; i < (n ? n : 1); i++)
		k += (size_t)sprintf(out + k, "\\x%02x", (unsigned char)s[i]);
	return k;
}

size_t str_escape(const char *s, enum str_escape_style style, char *buf, size_t size)
{
	size_t len = strlen(s), out = 0;
	bool full = size == 0;

	for (size_t i = 0, n; i < len; i += n ? n : 1) {
		char unit[20];
		uint32_t cp = 0;
		size_t k;

		n = utf8_decode(s + i, len - i, &cp);
		k = escape_char(s + i, n, cp, style, unit);
		/* whole characters only: a cut escape would read as another */
		if (!full && out + k >= size) {
			buf[out] = '\0';
			full = true;
		}
		if (!full)
			memcpy(buf + out, unit, k);
		out += k;
	}
	if (!full)
		buf[out] = '\0';
	return out;
}

char *str_escape_dup(const char *s, enum str_escape_style style)
{
	size_t n = str_escape(s, style, NULL, 0);
	char *buf = malloc(n + 1);

	if (!buf)
		abort();
	str_escape(s, style, buf, n + 1);
	return buf;
}

int sockaddr_un_from_path(const char *path, struct sockaddr_un *ret)
{
	size_t len = strlen(path);

	memset(ret, 0, sizeof(*ret));
	ret->sun_family = AF_UNIX;
	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(ret->sun_path))
		return -ENAMETOOLONG;
	memcpy(ret->sun_path, path, len);
	return 0;
}
