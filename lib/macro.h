/* SPDX-License-Identifier: GPL-2.0-only */
/* Small helpers shared by every userspace program: cleanup attributes,
 * ownership transfer, sizes. systemd style: destructors accept NULL. */
#ifndef HV_MACRO_H
#define HV_MACRO_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_       __attribute__((unused))
#define _noreturn_     _Noreturn
#define _warn_unused_  __attribute__((warn_unused_result))
#define _likely_(x)    __builtin_expect(!!(x), 1)
#define _unlikely_(x)  __builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)	 ((a) < (b) ? (a) : (b))
#define MAX(a, b)	 ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a)	 (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define IS_POWER_OF_2(x) ((x) != 0 && (((x) & ((x)-1)) == 0))

/* Hand ownership of a pointer / fd to someone else; the cleanup then sees NULL / -1. */
#define TAKE_PTR(p)                      \
	({                               \
		__typeof__(p) _p_ = (p); \
		(p) = NULL;              \
		_p_;                     \
	})
#define TAKE_FD(fd)              \
	({                       \
		int _fd_ = (fd); \
		(fd) = -1;       \
		_fd_;            \
	})

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* close() that keeps errno, for cleanup paths. */
static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}
static inline void closep(int *fd)
{
	safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* errno as a negative return value, never 0 even if libc forgot to set it. */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* Overflow-checked end of [start, start + size): 0 on success. */
static inline int range_end(uint64_t start, uint64_t size, uint64_t *ret_end)
{
	uint64_t end;

	if (__builtin_add_overflow(start, size, &end))
		return -ERANGE;
	*ret_end = end;
	return 0;
}

/* Do [a, a+alen) and [b, b+blen) share a byte? Lengths of 0 never overlap;
 * ranges that wrap are treated as reaching the end of the address space. */
static inline int ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	uint64_t aend, bend;

	if (alen == 0 || blen == 0)
		return 0;
	if (range_end(a, alen, &aend) < 0)
		aend = UINT64_MAX;
	if (range_end(b, blen, &bend) < 0)
		bend = UINT64_MAX;
	return a < bend && b < aend;
}

#endif
