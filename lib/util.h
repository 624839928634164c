/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef HV_UTIL_H
#define HV_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>

#include "macro.h"

/* The group whose members may start and stop zones and attach to consoles
 * besides root (docs/protocol.md, Permissions). */
#define HVISOR_GROUP "hvisor"

/* Most file descriptors one message may carry (SCM_RIGHTS), for every
 * socket protocol of the project (a zone names up to 23 files). */
#define HV_MAX_FDS_PER_MSG 32

/* Parse an unsigned number the way upstream hvisor-tool does for strings:
 * base auto-detection ("0x" hex, leading "0" octal, else decimal), the
 * whole string must be consumed, no sign, no blanks, overflow rejected.
 * Returns 0, -EINVAL (not a number) or -ERANGE (> max). */
int parse_u64(const char *s, uint64_t max, uint64_t *ret);
/* Same, base 16 only with an optional "0x" (upstream --device addr/len). */
int parse_u64_hex(const char *s, uint64_t max, uint64_t *ret);

int fd_set_nonblock(int fd, bool nonblock);
/* The size of a regular file or a block device (st: its fstat()), or -errno
 * (-EINVAL for anything else). */
struct stat;
int fd_file_size(int fd, const struct stat *st, uint64_t *ret);
int fd_set_cloexec(int fd, bool cloexec);

/* Loop over short reads/writes and EINTR. read_full returns the number of
 * bytes read (less than n only at EOF) or -errno. */
ssize_t read_full(int fd, void *buf, size_t n);
ssize_t pread_full(int fd, void *buf, size_t n, off_t off);
int write_full(int fd, const void *buf, size_t n);

/* Send a buffer and up to HV_MAX_FDS_PER_MSG descriptors in one sendmsg().
 * Returns bytes sent or -errno (MSG_NOSIGNAL: no SIGPIPE). */
ssize_t send_with_fds(int sock, const void *buf, size_t len, const int *fds, size_t n_fds,
		      int flags);
/* Receive into buf; descriptors (made O_CLOEXEC) go to fds[], their number to
 * *ret_n_fds. Truncated ancillary data closes what arrived and fails with
 * -EMSGSIZE. Returns bytes received (0 = EOF) or -errno. */
ssize_t recv_with_fds(int sock, void *buf, size_t len, int *fds, size_t max_fds, size_t *ret_n_fds,
		      int flags);
/* The descriptors of a received message (SCM_RIGHTS): up to max_fds go to
 * fds[] (*ret_n of them), the rest are closed. Returns how many arrived, or
 * -EMSGSIZE if the kernel had to drop some (MSG_CTRUNC). */
struct msghdr;
ssize_t cmsg_take_fds(const struct msghdr *msg, int *fds, size_t max_fds, size_t *ret_n);
void close_many(const int *fds, size_t n);

/* A timeout of ms milliseconds as libevent takes it. */
static inline struct timeval timeval_from_ms(uint64_t ms)
{
	return (struct timeval){.tv_sec = (time_t)(ms / 1000),
				.tv_usec = (suseconds_t)(ms % 1000) * 1000};
}

/* Microseconds on CLOCK_MONOTONIC / CLOCK_REALTIME. */
uint64_t now_usec(void);
uint64_t now_realtime_usec(void);

/* mkdir -p with the given mode for the last component. */
int mkdir_p(const char *path, mode_t mode);

/* Formats a CPU bitmask as "2, 3" (the upstream table style) or "none". */
void format_cpu_list(uint64_t cpus, const char *sep, char *buf, size_t size);

/* Is s[0..len) well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing beyond U+10FFFF)? */
bool utf8_valid(const char *s, size_t len);
/* The character at s[0..len): the length (1..4) of its well-formed UTF-8
 * sequence and its code point in *ret_cp, or 0 if it is ill-formed. */
size_t utf8_decode(const char *s, size_t len, uint32_t *ret_cp);

/*
 * Untrusted text (zone names, config paths, messages) on its way to a
 * terminal or a log: what a terminal or log reader would act on rather than
 * show -- C0 and C1 controls, DEL, U+2028/U+2029, bidi controls -- and bytes
 * that are not well-formed UTF-8 are escaped.
 *   STR_ESCAPE_C     C style: \n \r \t \\, every other such byte \xNN (ESC is
 *                    \x1b, a C1 control its two UTF-8 bytes \xc2\x9b).
 *   STR_ESCAPE_JSON  for JSON text json-c wrote (it escapes C0 controls in
 *                    strings): DEL, C1 and the rest as \u00XX, an ill-formed
 *                    byte as \ufffd.
 * Writes at most size bytes with the NUL (whole escapes only; buf may be
 * NULL if size is 0) and returns the length of the whole escaped text, as
 * snprintf does.
 */
enum str_escape_style {
	STR_ESCAPE_C,
	STR_ESCAPE_JSON,
};
size_t str_escape(const char *s, enum str_escape_style style, char *buf, size_t size);
/* The same, malloc'd (aborts when out of memory). */
char *str_escape_dup(const char *s, enum str_escape_style style);

/* Does the string fit in a buffer of `size` bytes with its NUL? */
static inline bool str_fits(const char *s, size_t size)
{
	for (size_t i = 0; i < size; i++)
		if (s[i] == '\0')
			return true;
	return false;
}

#endif
