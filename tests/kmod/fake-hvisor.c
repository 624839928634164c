// SPDX-License-Identifier: GPL-2.0-only
/*
 * LD_PRELOAD stand-in for /dev/hvisor: open() of $FAKE_HVISOR_DEVICE gives a
 * connection to hvisor-sim ($FAKE_HVISOR_SIM), and ioctl() on it behaves like
 * the upstream hvisor.ko: the same request numbers (written here as literals
 * from the reference, not taken from proto/uapi/hvisor.h, so the header is
 * checked too), the same by-value / by-pointer argument conventions, -1 and
 * errno on failure, the zone count as the result of ZONE_LIST. This lets the
 * test suite drive hvisord's kmod backend without a kernel module.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "macro.h"
#include "sim.h"

#define REQ_ZONE_START	  0x40080103ul
#define REQ_ZONE_SHUTDOWN 0x40080104ul
#define REQ_ZONE_LIST	  0x80080105ul
#define REQ_CONFIG_CHECK  0x80080106ul
#define REQ_LOAD_IMAGE	  0x40180108ul
#define BUF_SIZE	  (2u << 20)

static int dev_fd = -1;
static void *buf;
static size_t cfg_size;

static int sim_call(struct hvsim_msg *m, const void *payload, size_t len, const int *fds,
		    size_t n_fds, void *out, size_t out_cap)
{
	uint8_t pkt[HVSIM_MAX_PACKET];
	struct msghdr msg = {0};
	struct iovec iov;
	char cbuf[CMSG_SPACE(sizeof(int))];
	ssize_t k;

	memcpy(pkt, m, sizeof(*m));
	if (len)
		memcpy(pkt + sizeof(*m), payload, len);
	iov = (struct iovec){pkt, sizeof(*m) + len};
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (n_fds) {
		struct cmsghdr *c;

		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), fds, sizeof(int));
	}
	if (sendmsg(dev_fd, &msg, MSG_NOSIGNAL) < 0)
		return -errno;
	k = recv(dev_fd, pkt, sizeof(pkt), 0);
	if (k < (ssize_t)sizeof(*m))
		return -EIO;
	memcpy(m, pkt, sizeof(*m));
	if (out)
		memcpy(out, pkt + sizeof(*m), MIN((size_t)k - sizeof(*m), out_cap));
	return (int)m->ret;
}

static int fake_open(void)
{
	const char *path = getenv("FAKE_HVISOR_SIM");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct hvsim_msg m = {.op = HVSIM_OP_HELLO};
	struct hvsim_hello hello;
	int mfd, r;

	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -ENODEV;
	strcpy(sa.sun_path, path);
	dev_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (dev_fd < 0 || connect(dev_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -ENODEV;
	r = sim_call(&m, NULL, 0, NULL, 0, &hello, sizeof(hello));
	if (r < 0)
		return r;
	/* what a module built for this hypervisor copies for ZONE_START */
	cfg_size = hv_zone_config_size((enum hv_arch)hello.arch, hello.magic);
	mfd = memfd_create("fake-hvisor", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, BUF_SIZE) < 0)
		return -ENOMEM;
	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	m = (struct hvsim_msg){.op = HVSIM_OP_LOAD_BUFFER, .arg = {BUF_SIZE}};
	r = sim_call(&m, NULL, 0, &mfd, 1, NULL, 0);
	close(mfd);
	return r < 0 ? r : dev_fd;
}

static int matches(const char *path)
{
	const char *dev = getenv("FAKE_HVISOR_DEVICE");

	return path && dev && strcmp(path, dev) == 0;
}

int open(const char *path, int flags, ...);
int open(const char *path, int flags, ...)
{
	static int (*real_open)(const char *, int, ...);
	mode_t mode = 0;
	va_list ap;

	if (matches(path)) {
		int r = dev_fd >= 0 ? -EBUSY : fake_open();

		if (r < 0) {
			errno = -r;
			return -1;
		}
		return r;
	}
	if (!real_open)
		real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	va_start(ap, flags);
	if (flags & (O_CREAT | O_TMPFILE))
		mode = va_arg(ap, mode_t);
	va_end(ap);
	return real_open(path, flags, mode);
}

static int do_ioctl(unsigned long req, unsigned long arg)
{
	struct hvsim_msg m = {0};

	switch (req) {
	case REQ_CONFIG_CHECK: {
		int r;

		m.op = HVSIM_OP_CONFIG_CHECK;
		r = sim_call(&m, NULL, 0, NULL, 0, NULL, 0);
		if (r < 0)
			return r;
		memcpy((void *)arg, &m.arg[0], sizeof(uint64_t));
		return 0;
	}
	case REQ_LOAD_IMAGE: {
		uint64_t a[3]; /* user_buffer, size, load_paddr */

		memcpy(a, (void *)arg, sizeof(a));
		for (uint64_t off = 0; off < a[1]; off += BUF_SIZE) {
			size_t n = (size_t)MIN((uint64_t)BUF_SIZE, a[1] - off);
			int r;

			memcpy(buf, (const char *)(uintptr_t)a[0] + off, n);
			m = (struct hvsim_msg){.op = HVSIM_OP_LOAD_IMAGE,
					       .arg = {a[2] + off, n, 0}};
			r = sim_call(&m, NULL, 0, NULL, 0, NULL, 0);
			if (r < 0)
				return r;
		}
		return 0;
	}
	case REQ_ZONE_START:
		if (!cfg_size)
			return -EINVAL;
		m.op = HVSIM_OP_ZONE_START;
		return sim_call(&m, (const void *)arg, cfg_size, NULL, 0, NULL, 0);
	case REQ_ZONE_SHUTDOWN:
		m.op = HVSIM_OP_ZONE_SHUTDOWN;
		m.zone_id = (uint32_t)arg; /* by value */
		return sim_call(&m, NULL, 0, NULL, 0, NULL, 0);
	case REQ_ZONE_LIST: {
		uint64_t a[2]; /* cnt, zones */

		memcpy(a, (void *)arg, sizeof(a));
		m.op = HVSIM_OP_ZONE_LIST;
		m.arg[0] = MIN(a[0], (uint64_t)64);
		return sim_call(&m, NULL, 0, NULL, 0, (void *)(uintptr_t)a[1],
				(size_t)m.arg[0] * sizeof(struct hvisor_zone_info));
	}
	default:
		return -EINVAL; /* like hvisor.ko for unknown requests */
	}
}

int ioctl(int fd, unsigned long req, ...);
int ioctl(int fd, unsigned long req, ...)
{
	static int (*real_ioctl)(int, unsigned long, ...);
	unsigned long arg;
	va_list ap;

	va_start(ap, req);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (fd >= 0 && fd == dev_fd) {
		int r = do_ioctl(req, arg);

		if (r < 0) {
			errno = -r;
			return -1;
		}
		return r;
	}
	if (!real_ioctl)
		real_ioctl = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	return real_ioctl(fd, req, arg);
}
