// SPDX-License-Identifier: GPL-2.0-only
/* Backend: hvisor-sim over its SOCK_SEQPACKET protocol (proto/sim.h). Image
 * chunks travel through a shared memfd, like LOAD_IMAGE's user buffer. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "hv.h"
#include "log.h"
#include "sim.h"
#include "util.h"

#define MAX_ERRNO 4095 /* the largest errno a reply carries */

/* A stuck sim must not hang hvisord forever. */
#define SIM_TIMEOUT_SEC 10

/* One request, one reply. Reply payload (up to payload_cap bytes) goes to
 * payload; descriptors of the reply to rfds (up to *n_rfds, which returns
 * their number; NULL: none expected, any are closed). Returns the reply's
 * ret (>= 0 or -errno). */
static int sim_call_fds(struct hv *hv, struct hvsim_msg *req, const void *req_payload,
			size_t req_len, const int *fds, size_t n_fds, void *payload,
			size_t payload_cap, size_t *ret_payload_len, int *rfds, size_t *n_rfds)
{
	uint8_t buf[HVSIM_MAX_PACKET];
	struct hvsim_msg rep;
	int got[HV_MAX_FDS_PER_MSG];
	size_t n_got = 0;
	ssize_t k;

	if (sizeof(*req) + req_len > sizeof(buf))
		return -EMSGSIZE;
	memcpy(buf, req, sizeof(*req));
	if (req_len)
		memcpy(buf + sizeof(*req), req_payload, req_len);
	k = send_with_fds(hv->fd, buf, sizeof(*req) + req_len, fds, n_fds, 0);
	if (k < 0)
		return (int)k;
	k = recv_with_fds(hv->fd, buf, sizeof(buf), got, ARRAY_SIZE(got), &n_got, 0);
	if (rfds && k > 0 && n_got <= *n_rfds) {
		memcpy(rfds, got, n_got * sizeof(int));
		*n_rfds = n_got;
		n_got = 0;
	} else if (rfds)
		*n_rfds = 0;
	close_many(got, n_got); /* unexpected ones */
	if (k < 0)
		return k == -EAGAIN ? -ETIMEDOUT : (int)k;
	if (k == 0)
		return -ECONNRESET;
	if ((size_t)k < sizeof(rep))
		return -EBADMSG;
	memcpy(&rep, buf, sizeof(rep));
	if (rep.op != req->op)
		return -EBADMSG;
	if (payload) {
		size_t len = (size_t)k - sizeof(rep);

		if (len > payload_cap)
			return -EBADMSG;
		memcpy(payload, buf + sizeof(rep), len);
		*ret_payload_len = len;
	}
	memcpy(req, &rep, sizeof(rep));
	/* an errno, or a count */
	if (rep.ret < 0)
		return rep.ret < -MAX_ERRNO ? -EIO : (int)rep.ret;
	return (int)MIN(rep.ret, INT32_MAX);
}

static int sim_call(struct hv *hv, struct hvsim_msg *req, const void *req_payload, size_t req_len,
		    const int *fds, size_t n_fds, void *payload, size_t payload_cap,
		    size_t *ret_payload_len)
{
	return sim_call_fds(hv, req, req_payload, req_len, fds, n_fds, payload, payload_cap,
			    ret_payload_len, NULL, NULL);
}

static int sim_open(struct hv *hv, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = SIM_TIMEOUT_SEC};
	struct hvsim_msg m = {.op = HVSIM_OP_HELLO};
	struct hvsim_hello hello;
	_cleanup_close_ int mfd = -1;
	size_t len = 0;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	hv->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (hv->fd < 0)
		return negative_errno();
	if (connect(hv->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(hv->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(hv->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		r = negative_errno();
		goto fail;
	}
	r = sim_call(hv, &m, NULL, 0, NULL, 0, &hello, sizeof(hello), &len);
	if (r < 0)
		goto fail;
	if (len != sizeof(hello) || hello.version != HVSIM_PROTO_VERSION ||
	    hello.arch >= _HV_ARCH_MAX) {
		log_err("hvisor-sim at %s speaks an unknown protocol version", path);
		r = -EPROTO;
		goto fail;
	}
	hv->arch = (enum hv_arch)hello.arch;
	hv->ncpus = hello.ncpus;

	/* The chunk buffer, shared with the sim. */
	mfd = memfd_create("hvisord-load", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, HV_LOAD_CHUNK) < 0) {
		r = negative_errno();
		goto fail;
	}
	hv->load_buf = mmap(NULL, HV_LOAD_CHUNK, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (hv->load_buf == MAP_FAILED) {
		hv->load_buf = NULL;
		r = negative_errno();
		goto fail;
	}
	m = (struct hvsim_msg){.op = HVSIM_OP_LOAD_BUFFER, .arg = {HV_LOAD_CHUNK}};
	r = sim_call(hv, &m, NULL, 0, &mfd, 1, NULL, 0, NULL);
	if (r < 0)
		goto fail;
	return 0;
fail:
	if (hv->load_buf)
		munmap(hv->load_buf, HV_LOAD_CHUNK);
	hv->load_buf = NULL;
	hv->fd = safe_close(hv->fd);
	return r;
}

static void sim_close(struct hv *hv)
{
	if (hv->load_buf)
		munmap(hv->load_buf, HV_LOAD_CHUNK);
	hv->load_buf = NULL;
	hv->fd = safe_close(hv->fd);
}

static int sim_config_check(struct hv *hv, uint64_t *ret_magic)
{
	struct hvsim_msg m = {.op = HVSIM_OP_CONFIG_CHECK};
	int r = sim_call(hv, &m, NULL, 0, NULL, 0, NULL, 0, NULL);

	if (r < 0)
		return r;
	*ret_magic = m.arg[0];
	return 0;
}

static int sim_load(struct hv *hv, uint64_t paddr, const void *data, size_t len)
{
	struct hvsim_msg m = {.op = HVSIM_OP_LOAD_IMAGE, .arg = {paddr, len, 0}};

	/* the sim reads the buffer it shares with us */
	if (data != hv->load_buf)
		memcpy(hv->load_buf, data, len);

	return sim_call(hv, &m, NULL, 0, NULL, 0, NULL, 0, NULL);
}

static int sim_load_file(struct hv *hv, uint64_t paddr, int fd, uint64_t off, size_t len)
{
	struct hvsim_msg m = {.op = HVSIM_OP_LOAD_FILE, .arg = {paddr, len, off}};

	return sim_call(hv, &m, NULL, 0, &fd, 1, NULL, 0, NULL);
}

static int sim_zone_start(struct hv *hv, const void *config, size_t size)
{
	struct hvsim_msg m = {.op = HVSIM_OP_ZONE_START};

	return sim_call(hv, &m, config, size, NULL, 0, NULL, 0, NULL);
}

static int sim_zone_shutdown(struct hv *hv, uint32_t zone_id)
{
	struct hvsim_msg m = {.op = HVSIM_OP_ZONE_SHUTDOWN, .zone_id = zone_id};

	return sim_call(hv, &m, NULL, 0, NULL, 0, NULL, 0, NULL);
}

static int sim_zone_list(struct hv *hv, struct hvisor_zone_info *zones, size_t cap)
{
	struct hvsim_msg m = {.op = HVSIM_OP_ZONE_LIST, .arg = {cap}};
	size_t len = 0;
	int r = sim_call(hv, &m, NULL, 0, NULL, 0, zones, cap * sizeof(*zones), &len);

	if (r < 0)
		return r;
	if ((size_t)r > cap || len != (size_t)r * sizeof(*zones))
		return -EBADMSG;
	return r;
}

static int sim_zone_attach(struct hv *hv, uint32_t zone_id, int *ret_channel, int *ret_mem)
{
	struct hvsim_msg m = {.op = HVSIM_OP_ZONE_ATTACH, .zone_id = zone_id};
	int fds[2];
	size_t n = 2;
	int r = sim_call_fds(hv, &m, NULL, 0, NULL, 0, NULL, 0, NULL, fds, &n);

	if (r >= 0 && n != 2) {
		close_many(fds, n);
		return -EBADMSG;
	}
	if (r < 0) {
		close_many(fds, n);
		return r;
	}
	*ret_channel = fds[0];
	*ret_mem = fds[1];
	return 0;
}

/* The sim closed its end (it died), or a reply never came: a timed-out
 * request leaves the stream out of step, so a new connection it is. */
static bool sim_is_loss(int r)
{
	return r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN || r == -ETIMEDOUT;
}

const struct hv_ops hv_sim_ops = {
	.name = "sim",
	.what = "hvisor-sim",
	.is_loss = sim_is_loss,
	.watch_fd = true,
	.open = sim_open,
	.close = sim_close,
	.config_check = sim_config_check,
	.load = sim_load,
	.load_file = sim_load_file,
	.zone_start = sim_zone_start,
	.zone_shutdown = sim_zone_shutdown,
	.zone_list = sim_zone_list,
	.zone_attach = sim_zone_attach,
};
