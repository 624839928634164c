// SPDX-License-Identifier: GPL-2.0-only
/* A real hvisor-virtiod for the guest tests (vbackend.h). */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "guest-zone.h"
#include "util.h"
#include "varlink.h"
#include "vbackend.h"
#include "virtiod-protocol.h"

#define CALL_TIMEOUT_MS 15000

static const char *virtiod_path;

const char *vbackend_init(int argc, char **argv)
{
	virtiod_path = getenv("HVISOR_VIRTIOD");
	if ((!virtiod_path || !*virtiod_path) && argc > 3)
		virtiod_path = argv[3];
	return virtiod_path && *virtiod_path ? virtiod_path : NULL;
}

/* One call, one reply; the fds are sent and closed. Asserts success. */
static json_object *call(struct vbackend *b, const char *method, json_object *params, int *fds,
			 size_t n_fds)
{
	json_object *msg = vl_call_new(method, params, false), *reply = NULL;
	struct pollfd p = {.fd = b->ctl, .events = POLLIN};
	size_t len, n_rfds = 0;
	const char *s = vl_message_serialize(msg, &len);
	int rfds[4];

	assert_true(send_with_fds(b->ctl, s, len, fds, n_fds, 0) == (ssize_t)len);
	json_object_put(msg);
	close_many(fds, n_fds);
	assert_int_equal(poll(&p, 1, CALL_TIMEOUT_MS), 1);
	assert_int_equal(vl_recv_packet(b->ctl, rfds, ARRAY_SIZE(rfds), &n_rfds, &reply), 1);
	close_many(rfds, n_rfds);
	if (vl_reply_error(reply))
		fail_msg("hvisor-virtiod: %s: %s: %s", method, vl_reply_error(reply),
			 vl_reply_error_message(reply));
	return reply;
}

static void spawn(struct vbackend *b)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	b->pid = fork();
	assert_true(b->pid >= 0);
	if (b->pid == 0) {
		/* fd 3, as hvisord passes it */
		if (dup2(sv[1], 3) < 0)
			_exit(127);
		execl(virtiod_path, "hvisor-virtiod", "--control-fd", "3", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	b->ctl = sv[0];
}

void vbackend_start(struct vbackend *b)
{
	const struct hv_virtiod_ram ram[] = {
		{GZ_RAM, GZ_RAM_SIZE, GZ_RAM},
		{GZ_RAM2, GZ_RAM2_SIZE, GZ_RAM2},
	};
	json_object *params = json_object_new_object();
	int fds[3];

	*b = (struct vbackend){.pid = -1, .ctl = -1};
	assert_int_equal(simh_start(&b->sim, NULL), 0);
	guest_zone_start(&b->sim);
	assert_int_equal(simh_attach(b->sim.ctl, HVSIM_OP_ZONE_ATTACH, GZ_ZONE, &fds[0], &fds[1]),
			 0);
	fds[2] = memfd_create("virtiod-state", MFD_CLOEXEC);
	assert_true(fds[2] >= 0);
	assert_int_equal(ftruncate(fds[2], HV_VIRTIOD_STATE_BYTES), 0);
	spawn(b);
	json_object_object_add(params, "zone_id", json_object_new_int(GZ_ZONE));
	json_object_object_add(params, "ram", hv_virtiod_ram_to_json(ram, ARRAY_SIZE(ram)));
	json_object_put(call(b, HV_VIRTIOD_SETUP, params, fds, 3));
}

void vbackend_add(struct vbackend *b, struct hv_virtio_device *dev, int fd)
{
	json_object *params = json_object_new_object();

	if (!dev->addr)
		dev->addr = GZ_BASE;
	if (!dev->len)
		dev->len = GZ_LEN;
	if (!dev->irq)
		dev->irq = GZ_IRQ;
	dev->enabled = true;
	json_object_object_add(params, "slot", json_object_new_int((int)b->n_devs++));
	json_object_object_add(params, "device", hv_virtio_device_to_json(dev));
	json_object_put(call(b, HV_VIRTIOD_ADD_DEVICE, params, &fd, 1));
}

void vbackend_stop(struct vbackend *b)
{
	int status = -1;

	if (b->pid > 0) {
		assert_int_equal(kill(b->pid, SIGTERM), 0);
		assert_int_equal(waitpid(b->pid, &status, 0), b->pid);
		b->pid = -1;
	}
	b->ctl = safe_close(b->ctl);
	simh_stop(&b->sim);
	if (status != -1)
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
