// SPDX-License-Identifier: GPL-2.0-only
/* hvisor-sim zone channels: guest accesses routed to the owner as
 * hvisor_ioreq, COMPLETE back to the vCPU, posted notifies at +0x50 and
 * their coalescing, IRQs, owner death, hostile records. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim-harness.h"
#include "util.h"

#define RAM	 UINT64_C(0x50000000)
#define VIRTIO0	 UINT64_C(0xa000000) /* region of 0x200: two devices, notify only at +0x50 */
#define VIRTIO1	 UINT64_C(0xa000400) /* region of 0x200 */
#define IRQ_OK	 78
#define IRQ_OK2	 79
#define IRQ_NOPE 77

struct fixture {
	struct simh sim;
	int owner; /* zone 1 channel */
	int guest; /* zone 1 guest driver */
};

static int start_zone(struct simh *h)
{
	struct hv_zone_config *cfg = simh_cfg_new(SIMH_ARCH, 1, 0xc, "guest", RAM);
	int64_t r;

	simh_cfg_region(cfg, HV_MEM_TYPE_VIRTIO, VIRTIO0, 0x200);
	simh_cfg_region(cfg, HV_MEM_TYPE_VIRTIO, VIRTIO1, 0x200);
	simh_cfg_irq(cfg, IRQ_OK);
	simh_cfg_irq(cfg, IRQ_OK2);
	r = simh_zone_start(h->ctl, cfg, 6);
	free(cfg);
	return (int)r;
}

static int setup_common(void **state, bool owner, bool guest)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->owner = f->guest = -1;
	simh_start(&f->sim, NULL);
	assert_int_equal(start_zone(&f->sim), 0);
	if (owner)
		assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_ZONE_ATTACH, 1, &f->owner, NULL),
				 0);
	if (guest)
		assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_GUEST_ATTACH, 1, &f->guest, NULL),
				 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_common(state, true, true);
}

static int setup_no_owner(void **state)
{
	return setup_common(state, false, true);
}

static int setup_no_owner_no_guest(void **state)
{
	return setup_common(state, false, false);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int status;

	if (f->owner >= 0)
		close(f->owner);
	if (f->guest >= 0)
		close(f->guest);
	status = simh_stop(&f->sim);
	free(f);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	return 0;
}

/* The owner's next packet holds exactly one ioreq. */
static struct hvisor_ioreq owner_one(int o)
{
	struct hvisor_ioreq r[4];

	assert_int_equal(simh_owner_recv(o, r, 4, SIMH_TIMEOUT_MS), 1);
	return r[0];
}

static void no_guest_msg(int g)
{
	struct hvsim_guest_msg m;

	assert_int_equal(simh_guest_recv(g, &m, SIMH_QUIET_MS), 0);
}

static void test_read_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct hvisor_ioreq req, req2;
	struct hvsim_guest_msg done;

	simh_guest_access(f->guest, 2, VIRTIO0 + 0x8, 4, 0xdeadbeef, false);
	req = owner_one(f->owner);
	assert_true(req.id > 0);
	assert_int_equal(req.cpu, 2);
	assert_int_equal(req.zone_id, 1);
	assert_true(req.address == VIRTIO0 + 0x8);
	assert_int_equal(req.size, 4);
	assert_true(req.value == 0); /* reads carry no value */
	assert_int_equal(req.is_write, 0);
	assert_int_equal(req.is_notify, 0);
	/* the vCPU waits for the owner */
	no_guest_msg(f->guest);
	simh_owner_complete(f->owner, 2, req.id, 0x74726976);
	done = simh_guest_done(f->guest);
	assert_int_equal(done.cpu, 2);
	assert_true(done.address == VIRTIO0 + 0x8);
	assert_true(done.value == 0x74726976);
	assert_int_equal(done.status, 0);

	/* ids increase; the value is passed through unmasked (the owner masks) */
	simh_guest_access(f->guest, 3, VIRTIO1 + 0x100, 1, 0, false);
	req2 = owner_one(f->owner);
	assert_true(req2.id > req.id);
	assert_int_equal(req2.cpu, 3);
	assert_int_equal(req2.size, 1);
	simh_owner_complete(f->owner, 3, req2.id, 0x1ff);
	done = simh_guest_done(f->guest);
	assert_int_equal(done.cpu, 3);
	assert_true(done.value == 0x1ff);
}

static void test_write_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct hvisor_ioreq req;
	struct hvsim_guest_msg done;

	simh_guest_access(f->guest, 3, VIRTIO1 + 0x70, 2, 0x12345, true);
	req = owner_one(f->owner);
	assert_int_equal(req.cpu, 3);
	assert_true(req.address == VIRTIO1 + 0x70);
	assert_int_equal(req.size, 2);
	assert_true(req.value == 0x2345); /* a 2-byte store carries 2 bytes */
	assert_int_equal(req.is_write, 1);
	assert_int_equal(req.is_notify, 0);
	/* writes are not posted either: DONE only after COMPLETE */
	no_guest_msg(f->guest);
	simh_owner_complete(f->owner, 3, req.id, 0);
	done = simh_guest_done(f->guest);
	assert_int_equal(done.cpu, 3);
	assert_int_equal(done.status, 0);
}

static void test_two_cpus_out_of_order(void **state)
{
	struct fixture *f = *state;
	struct hvisor_ioreq a, b, r[4];
	struct hvsim_guest_msg done;
	int n;

	simh_guest_access(f->guest, 2, VIRTIO0 + 0x4, 4, 0, false);
	a = owner_one(f->owner);
	simh_guest_access(f->guest, 3, VIRTIO0 + 0x4, 4, 0, false);
	n = simh_owner_recv(f->owner, r, 4, SIMH_TIMEOUT_MS);
	assert_int_equal(n, 1);
	b = r[0];
	assert_int_equal(a.cpu, 2);
	assert_int_equal(b.cpu, 3);

	/* a second access on a CPU that waits is refused */
	simh_guest_access(f->guest, 2, VIRTIO0 + 0x8, 4, 0, false);
	done = simh_guest_done(f->guest);
	assert_int_equal(done.cpu, 2);
	assert_int_equal(done.status, -EBUSY);

	/* COMPLETE for unknown requests never finishes another one */
	simh_owner_complete(f->owner, 2, b.id, 0x99);	     /* right id, wrong CPU */
	simh_owner_complete(f->owner, 2, a.id + 1000, 0x99); /* unknown id */
	simh_owner_complete(f->owner, 200, a.id, 0x99);	     /* no such CPU */
	no_guest_msg(f->guest);

	simh_owner_complete(f->owner, 3, b.id, 0xbbbb);
	done = simh_guest_done(f->guest);
	assert_int_equal(done.cpu, 3);
	assert_true(done.value == 0xbbbb);
	simh_owner_complete(f->owner, 2, a.id, 0xaaaa);
	done = simh_guest_done(f->guest);
	assert_int_equal(done.cpu, 2);
	assert_true(done.value == 0xaaaa);
	/* completing twice does nothing */
	simh_owner_complete(f->owner, 2, a.id, 0xaaaa);
	no_guest_msg(f->guest);
}

static void test_notify_is_posted(void **state)
{
	struct fixture *f = *state;
	struct hvisor_ioreq req;
	struct hvsim_guest_msg done;

	simh_guest_access(f->guest, 2, VIRTIO0 + HVISOR_VIRTIO_NOTIFY_OFFSET, 4, 1, true);
	/* DONE comes without any COMPLETE */
	done = simh_guest_done(f->guest);
	assert_int_equal(done.cpu, 2);
	assert_int_equal(done.status, 0);
	req = owner_one(f->owner);
	assert_int_equal(req.is_notify, 1);
	assert_int_equal(req.is_write, 1);
	assert_int_equal(req.cpu, 2);
	assert_int_equal(req.zone_id, 1);
	assert_true(req.address == VIRTIO0 + 0x50);
	assert_true(req.value == 1);

	/* the CPU is not busy: the next access goes through */
	simh_guest_access(f->guest, 2, VIRTIO1 + HVISOR_VIRTIO_NOTIFY_OFFSET, 4, 0, true);
	done = simh_guest_done(f->guest);
	assert_int_equal(done.status, 0);
	req = owner_one(f->owner);
	assert_int_equal(req.is_notify, 1);
	assert_true(req.address == VIRTIO1 + 0x50);

	/* +0x50 of the second device in a shared region is no notify
	 * (hvisor keys on the region start) */
	simh_guest_access(f->guest, 2, VIRTIO0 + 0x100 + HVISOR_VIRTIO_NOTIFY_OFFSET, 4, 0, true);
	req = owner_one(f->owner);
	assert_int_equal(req.is_notify, 0);
	no_guest_msg(f->guest);
	/* a COMPLETE for a notify id is unknown */
	simh_owner_complete(f->owner, 2, req.id - 1, 0);
	no_guest_msg(f->guest);
	simh_owner_complete(f->owner, 2, req.id, 0);
	assert_int_equal(simh_guest_done(f->guest).status, 0);
}

static void test_notify_coalescing(void **state)
{
	struct fixture *f = *state;
	struct hvisor_ioreq reqs[64];
	const unsigned distinct = 900;
	unsigned seen = 0, dup_seen = 0, other_seen = 0;
	bool last = false;

	/* The owner does not read: its socket fills up and the sim queues. */
	for (unsigned i = 0; i < distinct; i++) {
		simh_guest_access(f->guest, 2, VIRTIO0 + 0x50, 4, 1000 + i, true);
		assert_int_equal(simh_guest_done(f->guest).status, 0);
	}
	/* identical queued notifies coalesce: the owner sees 7 once */
	for (unsigned i = 0; i < 5; i++) {
		simh_guest_access(f->guest, 3, VIRTIO0 + 0x50, 4, 7, true);
		assert_int_equal(simh_guest_done(f->guest).status, 0);
	}
	/* same value at another address is another notify */
	simh_guest_access(f->guest, 3, VIRTIO1 + 0x50, 4, 7, true);
	assert_int_equal(simh_guest_done(f->guest).status, 0);
	/* and a final marker */
	simh_guest_access(f->guest, 3, VIRTIO1 + 0x50, 4, 8, true);
	assert_int_equal(simh_guest_done(f->guest).status, 0);

	while (!last) {
		int n = simh_owner_recv(f->owner, reqs, ARRAY_SIZE(reqs), SIMH_TIMEOUT_MS);

		assert_true(n > 0);
		for (int i = 0; i < n; i++) {
			assert_int_equal(reqs[i].is_notify, 1);
			if (reqs[i].address == VIRTIO0 + 0x50 && reqs[i].value == 7)
				dup_seen++;
			else if (reqs[i].address == VIRTIO1 + 0x50 && reqs[i].value == 7)
				other_seen++;
			else if (reqs[i].address == VIRTIO1 + 0x50 && reqs[i].value == 8)
				last = true;
			else
				assert_true(reqs[i].value == 1000 + seen++);
		}
	}
	assert_int_equal(seen, distinct); /* distinct ones are never merged */
	assert_int_equal(dup_seen, 1);
	assert_int_equal(other_seen, 1);

	/* once delivered, the same notify is delivered again */
	simh_guest_access(f->guest, 3, VIRTIO0 + 0x50, 4, 7, true);
	assert_int_equal(simh_guest_done(f->guest).status, 0);
	assert_true(owner_one(f->owner).value == 7);
}

/* sendmsg with n copies of fd attached (beyond what send_with_fds allows). */
static ssize_t send_n_fds(int sock, const void *buf, size_t len, int fd, size_t n)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * 64)];
	} control = {0};
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf};
	struct cmsghdr *c;

	assert_true(n <= 64);
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	for (size_t i = 0; i < n; i++)
		memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0);
}

static void test_refused_accesses(void **state)
{
	struct fixture *f = *state;
	struct hvsim_guest_msg done;
	struct hvsim_guest_msg bad = {.type = HVSIM_GUEST_ACCESS, .cpu = 2, .size = 4};
	uint8_t raw[40] = {0};
	struct hvisor_ioreq r[4];

	/* outside every virtio region: RAM, an unmapped address, region end */
	simh_guest_access(f->guest, 2, RAM + 0x1000, 4, 0, false);
	done = simh_guest_done(f->guest);
	assert_int_equal(done.status, -EFAULT);
	assert_true(done.address == RAM + 0x1000);
	simh_guest_access(f->guest, 2, 0x1234, 8, 0, true);
	assert_int_equal(simh_guest_done(f->guest).status, -EFAULT);
	simh_guest_access(f->guest, 2, VIRTIO0 + 0x200, 4, 0, false);
	assert_int_equal(simh_guest_done(f->guest).status, -EFAULT);
	simh_guest_access(f->guest, 2, UINT64_MAX, 1, 0, false);
	assert_int_equal(simh_guest_done(f->guest).status, -EFAULT);

	/* CPUs that are not the zone's */
	simh_guest_access(f->guest, 0, VIRTIO0, 4, 0, false);
	done = simh_guest_done(f->guest);
	assert_int_equal(done.cpu, 0);
	assert_int_equal(done.status, -EINVAL);
	simh_guest_access(f->guest, 4, VIRTIO0, 4, 0, false);
	assert_int_equal(simh_guest_done(f->guest).status, -EINVAL);
	simh_guest_access(f->guest, 64, VIRTIO0, 4, 0, false);
	assert_int_equal(simh_guest_done(f->guest).status, -EINVAL);
	simh_guest_access(f->guest, UINT32_MAX, VIRTIO0, 4, 0, false);
	assert_int_equal(simh_guest_done(f->guest).status, -EINVAL);

	/* sizes */
	for (unsigned s = 0; s <= 16; s++) {
		if (s == 1 || s == 2 || s == 4 || s == 8)
			continue;
		simh_guest_access(f->guest, 2, VIRTIO0, (uint8_t)s, 0, false);
		assert_int_equal(simh_guest_done(f->guest).status, -EINVAL);
	}
	/* wrong type, wrong is_write, wrong packet sizes */
	bad.type = HVSIM_GUEST_DONE;
	assert_int_equal(send(f->guest, &bad, sizeof(bad), 0), (ssize_t)sizeof(bad));
	assert_int_equal(simh_guest_done(f->guest).status, -EINVAL);
	bad.type = HVSIM_GUEST_ACCESS;
	bad.is_write = 2;
	assert_int_equal(send(f->guest, &bad, sizeof(bad), 0), (ssize_t)sizeof(bad));
	assert_int_equal(simh_guest_done(f->guest).status, -EINVAL);
	bad.is_write = 0;
	memcpy(raw, &bad, sizeof(bad));
	assert_int_equal(send(f->guest, raw, 31, 0), 31);
	assert_int_equal(simh_guest_done(f->guest).status, -EINVAL);
	assert_int_equal(send(f->guest, raw, 40, 0), 40);
	assert_int_equal(simh_guest_done(f->guest).status, -EINVAL);

	/* descriptors attached to an access: closed, the access answered; more
	 * than the sim takes in one packet (32): refused as a whole */
	{
		struct hvsim_guest_msg acc = {
			.type = HVSIM_GUEST_ACCESS, .cpu = 2, .address = RAM + 0x1000, .size = 4};
		int p[2];

		assert_int_equal(pipe(p), 0);
		assert_int_equal(send_n_fds(f->guest, &acc, sizeof(acc), p[0], 2),
				 (ssize_t)sizeof(acc));
		assert_int_equal(simh_guest_done(f->guest).status, -EFAULT);
		assert_int_equal(send_n_fds(f->guest, &acc, sizeof(acc), p[0], 40),
				 (ssize_t)sizeof(acc));
		assert_int_equal(simh_guest_done(f->guest).status, -EINVAL);
		close(p[0]);
		/* the sim kept no copy of the read end: the write end sees EPIPE */
		{
			struct pollfd pf = {.fd = p[1], .events = POLLOUT};

			assert_int_equal(poll(&pf, 1, SIMH_TIMEOUT_MS), 1);
			assert_true(pf.revents & POLLERR);
		}
		close(p[1]);
	}

	/* none of this reached the owner */
	assert_int_equal(simh_owner_recv(f->owner, r, 4, SIMH_QUIET_MS), 0);
	/* and the zone still works */
	simh_guest_access(f->guest, 2, VIRTIO0, 4, 0, false);
	r[0] = owner_one(f->owner);
	simh_owner_complete(f->owner, 2, r[0].id, 0x74726976);
	assert_true(simh_guest_done(f->guest).value == 0x74726976);
}

static void test_irq_forwarding(void **state)
{
	struct fixture *f = *state;
	struct hvsim_guest_msg m;
	struct hvisor_iocomp batch[3] = {
		{.type = HVISOR_IOCOMP_IRQ, .value = IRQ_NOPE},
		{.type = HVISOR_IOCOMP_IRQ, .value = 5000},
		{.type = HVISOR_IOCOMP_IRQ, .value = IRQ_OK2},
	};

	simh_owner_irq(f->owner, IRQ_OK);
	assert_int_equal(simh_guest_recv(f->guest, &m, SIMH_TIMEOUT_MS), 1);
	assert_int_equal(m.type, HVSIM_GUEST_IRQ);
	assert_true(m.value == IRQ_OK);
	assert_int_equal(m.cpu, 2); /* the zone's first CPU */

	/* IRQs outside the zone's bitmap are dropped: only IRQ_OK2 arrives */
	simh_owner_irq(f->owner, IRQ_NOPE);
	simh_owner_irq(f->owner, 1024);
	simh_owner_irq(f->owner, UINT64_MAX);
	assert_int_equal(send(f->owner, batch, sizeof(batch), 0), (ssize_t)sizeof(batch));
	assert_int_equal(simh_guest_recv(f->guest, &m, SIMH_TIMEOUT_MS), 1);
	assert_int_equal(m.type, HVSIM_GUEST_IRQ);
	assert_true(m.value == IRQ_OK2);
	no_guest_msg(f->guest);
}

/* The interrupt list gates IRQs where hvisor's does: aarch64 and riscv64;
 * on x86_64 and loongarch64 every IRQ below 1024 reaches the guest. */
static void test_irq_rule_per_arch(void **state)
{
	static const struct {
		const char *arg;
		enum hv_arch arch;
		bool gated;
	} arches[] = {
		{"aarch64", HV_ARCH_AARCH64, true},
		{"riscv64", HV_ARCH_RISCV64, true},
		{"x86_64", HV_ARCH_X86_64, false},
		{"loongarch64", HV_ARCH_LOONGARCH64, false},
	};

	for (size_t a = 0; a < ARRAY_SIZE(arches); a++) {
		const char *args[] = {"--arch", arches[a].arg, NULL};
		struct hv_zone_config *cfg = simh_cfg_new(arches[a].arch, 1, 0xc, "irqs", RAM);
		struct hvsim_guest_msg m;
		struct simh sim;
		int owner, guest;

		simh_start(&sim, args);
		simh_cfg_region(cfg, HV_MEM_TYPE_VIRTIO, VIRTIO0, 0x200);
		simh_cfg_irq(cfg, IRQ_OK);
		assert_int_equal(simh_zone_start(sim.ctl, cfg, 6), 0);
		free(cfg);
		assert_int_equal(simh_attach(sim.ctl, HVSIM_OP_ZONE_ATTACH, 1, &owner, NULL), 0);
		assert_int_equal(simh_attach(sim.ctl, HVSIM_OP_GUEST_ATTACH, 1, &guest, NULL), 0);

		simh_owner_irq(owner, 1024); /* beyond every interrupt controller */
		simh_owner_irq(owner, IRQ_NOPE);
		simh_owner_irq(owner, IRQ_OK);
		if (!arches[a].gated) {
			assert_int_equal(simh_guest_recv(guest, &m, SIMH_TIMEOUT_MS), 1);
			assert_int_equal(m.type, HVSIM_GUEST_IRQ);
			if (m.value != IRQ_NOPE)
				fail_msg("%s: IRQ %llu first, not %u", arches[a].arg,
					 (unsigned long long)m.value, IRQ_NOPE);
		}
		assert_int_equal(simh_guest_recv(guest, &m, SIMH_TIMEOUT_MS), 1);
		assert_int_equal(m.type, HVSIM_GUEST_IRQ);
		if (m.value != IRQ_OK)
			fail_msg("%s: IRQ %llu, not %u", arches[a].arg, (unsigned long long)m.value,
				 IRQ_OK);
		no_guest_msg(guest);
		close(owner);
		close(guest);
		assert_int_equal(WEXITSTATUS(simh_stop(&sim)), 0);
	}
	(void)state;
}

static void test_irq_without_guest(void **state)
{
	struct fixture *f = *state;
	struct hvisor_ioreq r[2];

	close(f->guest);
	f->guest = -1;
	simh_owner_irq(f->owner, IRQ_OK); /* dropped, nobody to tell */
	/* a new guest gets later IRQs, not the old one */
	for (int i = 0; i < 200; i++) {
		if (simh_attach(f->sim.ctl, HVSIM_OP_GUEST_ATTACH, 1, &f->guest, NULL) == 0)
			break;
		usleep(5000);
	}
	assert_true(f->guest >= 0);
	simh_owner_irq(f->owner, IRQ_OK2);
	{
		struct hvsim_guest_msg m;

		assert_int_equal(simh_guest_recv(f->guest, &m, SIMH_TIMEOUT_MS), 1);
		assert_true(m.value == IRQ_OK2);
	}
	assert_int_equal(simh_owner_recv(f->owner, r, 2, SIMH_QUIET_MS), 0);
}

static void test_owner_close_answers(void **state)
{
	struct fixture *f = *state;
	struct hvsim_guest_msg done;
	struct hvisor_ioreq req;

	simh_guest_access(f->guest, 2, VIRTIO0 + 0x10, 4, 0, false);
	simh_guest_access(f->guest, 3, VIRTIO0 + 0x14, 4, 0x55, true);
	req = owner_one(f->owner);
	(void)req;
	close(f->owner);
	f->owner = -1;
	/* both waiting vCPUs are answered: reads 0 */
	for (int i = 0; i < 2; i++) {
		done = simh_guest_done(f->guest);
		assert_int_equal(done.status, 0);
		assert_true(done.value == 0);
		assert_true(done.cpu == 2 || done.cpu == 3);
	}
	/* later accesses are answered at once */
	simh_guest_access(f->guest, 2, VIRTIO0 + 0x10, 4, 0, false);
	done = simh_guest_done(f->guest);
	assert_int_equal(done.status, 0);
	assert_true(done.value == 0);
	simh_guest_access(f->guest, 2, VIRTIO0 + 0x50, 4, 0, true);
	assert_int_equal(simh_guest_done(f->guest).status, 0);

	/* a new owner takes over; nothing stale is delivered to it */
	assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_ZONE_ATTACH, 1, &f->owner, NULL), 0);
	simh_guest_access(f->guest, 3, VIRTIO1 + 0x20, 4, 0, false);
	req = owner_one(f->owner);
	assert_int_equal(req.cpu, 3);
	assert_true(req.address == VIRTIO1 + 0x20);
	simh_owner_complete(f->owner, 3, req.id, 42);
	assert_true(simh_guest_done(f->guest).value == 42);
}

static void test_no_owner(void **state)
{
	struct fixture *f = *state;
	struct hvsim_guest_msg done;

	simh_guest_access(f->guest, 2, VIRTIO0 + 0x0, 4, 0, false);
	done = simh_guest_done(f->guest);
	assert_int_equal(done.status, 0);
	assert_true(done.value == 0);
	simh_guest_access(f->guest, 3, VIRTIO0 + 0x70, 4, 1, true);
	assert_int_equal(simh_guest_done(f->guest).status, 0);
	simh_guest_access(f->guest, 3, VIRTIO0 + 0x50, 4, 1, true);
	assert_int_equal(simh_guest_done(f->guest).status, 0);
	/* the rules still apply */
	simh_guest_access(f->guest, 3, RAM, 4, 1, true);
	assert_int_equal(simh_guest_done(f->guest).status, -EFAULT);
}

static void test_shutdown_closes_channels(void **state)
{
	struct fixture *f = *state;
	struct hvisor_ioreq r[2];
	struct hvsim_guest_msg m;

	simh_guest_access(f->guest, 2, VIRTIO0 + 0x10, 4, 0, false);
	assert_int_equal(simh_owner_recv(f->owner, r, 2, SIMH_TIMEOUT_MS), 1);
	assert_int_equal(simh_op(f->sim.ctl, HVSIM_OP_ZONE_SHUTDOWN, 1, 0, 0, 0), 0);
	assert_int_equal(simh_owner_recv(f->owner, r, 2, SIMH_TIMEOUT_MS), -1);
	assert_int_equal(simh_guest_recv(f->guest, &m, SIMH_TIMEOUT_MS), -1);
	/* the zone is gone: no guest can attach */
	close(f->owner);
	close(f->guest);
	f->owner = f->guest = -1;
	assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_GUEST_ATTACH, 1, &f->guest, NULL),
			 -ENOENT);
	/* and may start again, with fresh channels */
	assert_int_equal(start_zone(&f->sim), 0);
	assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_ZONE_ATTACH, 1, &f->owner, NULL), 0);
	assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_GUEST_ATTACH, 1, &f->guest, NULL), 0);
	simh_guest_access(f->guest, 2, VIRTIO0 + 0x10, 4, 0, false);
	r[0] = owner_one(f->owner);
	simh_owner_complete(f->owner, 2, r[0].id, 3);
	assert_true(simh_guest_done(f->guest).value == 3);
}

static void test_garbage_iocomp(void **state)
{
	struct fixture *f = *state;
	struct hvisor_iocomp c[2] = {
		{.type = 0},
		{.type = 77, .cpu = 2, .id = 1, .value = 1},
	};
	struct hvisor_iocomp big[2000];
	uint8_t junk[25];
	struct hvisor_ioreq req;
	int fds[2];

	simh_guest_access(f->guest, 2, VIRTIO0 + 0x10, 4, 0, false);
	req = owner_one(f->owner);

	memset(junk, 0xff, sizeof(junk));
	assert_int_equal(send(f->owner, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	assert_int_equal(send(f->owner, junk, 1, 0), 1);
	assert_int_equal(send(f->owner, c, sizeof(c), 0), (ssize_t)sizeof(c));
	/* a COMPLETE hidden in a packet that is not whole records: ignored */
	{
		uint8_t odd[sizeof(struct hvisor_iocomp) + 3] = {0};
		struct hvisor_iocomp ok = {.type = HVISOR_IOCOMP_COMPLETE, .cpu = 2, .id = req.id};

		memcpy(odd, &ok, sizeof(ok));
		assert_int_equal(send(f->owner, odd, sizeof(odd), 0), (ssize_t)sizeof(odd));
	}
	/* larger than the sim takes in one packet: ignored as a whole */
	memset(big, 0, sizeof(big));
	for (size_t i = 0; i < ARRAY_SIZE(big); i++)
		big[i] = (struct hvisor_iocomp){
			.type = HVISOR_IOCOMP_COMPLETE, .cpu = 2, .id = req.id, .value = 9};
	assert_int_equal(send(f->owner, big, sizeof(big), 0), (ssize_t)sizeof(big));
	/* descriptors are closed */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(send_with_fds(f->owner, c, sizeof(c), fds, 2, 0), (ssize_t)sizeof(c));
	close(fds[0]);
	close(fds[1]);
	no_guest_msg(f->guest);

	/* the sim still works */
	simh_owner_complete(f->owner, 2, req.id, 0x1234);
	assert_true(simh_guest_done(f->guest).value == 0x1234);
	/* several records in one packet: a COMPLETE and an IRQ */
	simh_guest_access(f->guest, 3, VIRTIO0 + 0x10, 4, 0, false);
	req = owner_one(f->owner);
	{
		struct hvisor_iocomp two[2] = {
			{.type = HVISOR_IOCOMP_COMPLETE, .cpu = 3, .id = req.id, .value = 5},
			{.type = HVISOR_IOCOMP_IRQ, .value = IRQ_OK},
		};
		struct hvsim_guest_msg m;

		assert_int_equal(send(f->owner, two, sizeof(two), 0), (ssize_t)sizeof(two));
		m = simh_guest_done(f->guest);
		assert_true(m.value == 5);
		assert_int_equal(simh_guest_recv(f->guest, &m, SIMH_TIMEOUT_MS), 1);
		assert_int_equal(m.type, HVSIM_GUEST_IRQ);
	}
}

static void test_guest_close_with_outstanding(void **state)
{
	struct fixture *f = *state;
	struct hvisor_ioreq old, req;

	simh_guest_access(f->guest, 2, VIRTIO0 + 0x10, 4, 0, false);
	old = owner_one(f->owner);
	close(f->guest);
	f->guest = -1;
	for (int i = 0; i < 200; i++) {
		if (simh_attach(f->sim.ctl, HVSIM_OP_GUEST_ATTACH, 1, &f->guest, NULL) == 0)
			break;
		usleep(5000);
	}
	assert_true(f->guest >= 0);
	/* the old vCPU state went with the old driver */
	simh_guest_access(f->guest, 2, VIRTIO0 + 0x14, 4, 0, false);
	req = owner_one(f->owner);
	assert_true(req.id > old.id);
	simh_owner_complete(f->owner, 2, old.id, 1); /* stale: ignored */
	no_guest_msg(f->guest);
	simh_owner_complete(f->owner, 2, req.id, 2);
	assert_true(simh_guest_done(f->guest).value == 2);
}

/* Guest accesses from several zones are routed to their own owners. */
static void test_two_zones(void **state)
{
	struct fixture *f = *state;
	struct hv_zone_config *cfg = simh_cfg_new(SIMH_ARCH, 2, 0x0, "two", 0);
	int o2 = -1, g2 = -1;
	struct hvisor_ioreq req;

	/* zone 1 owns CPUs 2 and 3: give zone 2 none of them -> restart
	 * zone 1 on CPU 2 only */
	close(f->owner);
	close(f->guest);
	f->owner = f->guest = -1;
	assert_int_equal(simh_op(f->sim.ctl, HVSIM_OP_ZONE_SHUTDOWN, 1, 0, 0, 0), 0);
	{
		struct hv_zone_config *one = simh_cfg_new(SIMH_ARCH, 1, 0x4, "one", RAM);

		simh_cfg_region(one, HV_MEM_TYPE_VIRTIO, VIRTIO0, 0x200);
		assert_int_equal(simh_zone_start(f->sim.ctl, one, 6), 0);
		free(one);
	}
	cfg->cpus = 0x8;
	simh_cfg_region(cfg, HV_MEM_TYPE_RAM, RAM + (16u << 20), 16u << 20);
	simh_cfg_region(cfg, HV_MEM_TYPE_VIRTIO, VIRTIO0, 0x200); /* same guest address */
	assert_int_equal(simh_zone_start(f->sim.ctl, cfg, 6), 0);
	free(cfg);

	assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_ZONE_ATTACH, 1, &f->owner, NULL), 0);
	assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_GUEST_ATTACH, 1, &f->guest, NULL), 0);
	assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_ZONE_ATTACH, 2, &o2, NULL), 0);
	assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_GUEST_ATTACH, 2, &g2, NULL), 0);

	/* zone 2's guest cannot act as CPU 2 (zone 1's) */
	simh_guest_access(g2, 2, VIRTIO0, 4, 0, false);
	assert_int_equal(simh_guest_done(g2).status, -EINVAL);

	simh_guest_access(g2, 3, VIRTIO0 + 0x8, 4, 0, false);
	req = owner_one(o2);
	assert_int_equal(req.zone_id, 2);
	assert_int_equal(req.cpu, 3);
	{
		struct hvisor_ioreq r[2];

		assert_int_equal(simh_owner_recv(f->owner, r, 2, SIMH_QUIET_MS), 0);
	}
	/* zone 1's owner cannot complete zone 2's request */
	simh_owner_complete(f->owner, 3, req.id, 1);
	no_guest_msg(g2);
	simh_owner_complete(o2, 3, req.id, 2);
	assert_true(simh_guest_done(g2).value == 2);
	no_guest_msg(f->guest);
	close(o2);
	close(g2);
}

/* An owner that does not read stalls the zone like hvisor's full bridge
 * ring: the sim stops reading the guest instead of queueing without bound,
 * and once the owner reads, everything arrives, in order, nothing lost. */
static void test_backpressure(void **state)
{
	struct fixture *f = *state;
	const unsigned total = 6000;
	unsigned sent = 0, done = 0, got = 0;
	struct hvisor_ioreq reqs[64];
	uint64_t idle_since = now_usec();

	assert_int_equal(fd_set_nonblock(f->guest, true), 0);
	/* phase 1: the owner sleeps; the guest pushes until nothing moves
	 * (and at least until the sim's queue must be full, on a slow machine) */
	for (uint64_t deadline = now_usec() + 20000000;
	     now_usec() - idle_since < 300000 || (done < 1024 && now_usec() < deadline);) {
		struct hvsim_guest_msg m;
		bool progress = false;

		if (sent < total) {
			struct hvsim_guest_msg a = {.type = HVSIM_GUEST_ACCESS,
						    .cpu = 2,
						    .address = VIRTIO0 + 0x50,
						    .value = sent,
						    .size = 4,
						    .is_write = 1};

			if (send(f->guest, &a, sizeof(a), MSG_DONTWAIT) == (ssize_t)sizeof(a)) {
				sent++;
				progress = true;
			}
		}
		while (recv(f->guest, &m, sizeof(m), MSG_DONTWAIT) == (ssize_t)sizeof(m)) {
			assert_int_equal(m.type, HVSIM_GUEST_DONE);
			assert_int_equal(m.status, 0);
			done++;
			progress = true;
		}
		if (progress)
			idle_since = now_usec();
		else
			usleep(1000);
	}
	assert_true(done < total); /* the guest was paced */
	assert_true(done >= 1024); /* after the queue filled up */
	assert_true(sent > done);  /* its later accesses wait, unread */

	/* phase 2: the owner reads; the guest goes on */
	for (uint64_t deadline = now_usec() + 20000000; got < total || done < total;) {
		struct hvsim_guest_msg m;
		int n = simh_owner_recv(f->owner, reqs, ARRAY_SIZE(reqs), sent < total ? 1 : 1000);

		assert_true(n >= 0);
		for (int i = 0; i < n; i++) {
			assert_int_equal(reqs[i].is_notify, 1);
			assert_true(reqs[i].value == got);
			got++;
		}
		while (sent < total) {
			struct hvsim_guest_msg a = {.type = HVSIM_GUEST_ACCESS,
						    .cpu = 2,
						    .address = VIRTIO0 + 0x50,
						    .value = sent,
						    .size = 4,
						    .is_write = 1};

			if (send(f->guest, &a, sizeof(a), MSG_DONTWAIT) != (ssize_t)sizeof(a))
				break;
			sent++;
		}
		while (recv(f->guest, &m, sizeof(m), MSG_DONTWAIT) == (ssize_t)sizeof(m))
			done++;
		assert_true(now_usec() < deadline);
	}
	assert_int_equal(got, total);
	assert_int_equal(done, total);
}

/* --- owners attached before the zone starts, GUEST_ATTACH reply ----------- */

static int setup_bare(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->owner = f->guest = -1;
	simh_start(&f->sim, NULL);
	*state = f;
	return 0;
}

static void test_pending_owner(void **state)
{
	struct fixture *f = *state;
	struct hvisor_iocomp early = {.type = HVISOR_IOCOMP_IRQ, .value = IRQ_OK};
	struct hvisor_ioreq r[2];
	struct hvsim_guest_msg m;
	int o2 = -1;

	assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_ZONE_ATTACH, 1, &f->owner, NULL), 0);
	assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_ZONE_ATTACH, 1, &o2, NULL), -EBUSY);
	assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_ZONE_ATTACH, 0, &o2, NULL), -EINVAL);
	/* nothing is owed before the zone exists: this record is dropped */
	assert_int_equal(send(f->owner, &early, sizeof(early), 0), (ssize_t)sizeof(early));
	assert_int_equal(start_zone(&f->sim), 0);
	assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_ZONE_ATTACH, 1, &o2, NULL), -EBUSY);
	assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_GUEST_ATTACH, 1, &f->guest, NULL), 0);
	no_guest_msg(f->guest);
	/* the very first access goes to the early owner */
	simh_guest_access(f->guest, 2, VIRTIO0 + 0x0, 4, 0, false);
	r[0] = owner_one(f->owner);
	assert_true(r[0].address == VIRTIO0 && r[0].cpu == 2 && r[0].zone_id == 1);
	simh_owner_complete(f->owner, 2, r[0].id, 0x74726976);
	m = simh_guest_done(f->guest);
	assert_int_equal(m.status, 0);
	assert_true(m.value == 0x74726976);
	simh_owner_irq(f->owner, IRQ_OK);
	assert_int_equal(simh_guest_recv(f->guest, &m, SIMH_TIMEOUT_MS), 1);
	assert_int_equal(m.type, HVSIM_GUEST_IRQ);
	/* shutdown ends it like any owner */
	assert_int_equal(simh_op(f->sim.ctl, HVSIM_OP_ZONE_SHUTDOWN, 1, 0, 0, 0), 0);
	assert_int_equal(simh_owner_recv(f->owner, r, 2, SIMH_TIMEOUT_MS), -1);
}

static void test_pending_owner_hangup(void **state)
{
	struct fixture *f = *state;
	struct hvsim_guest_msg m;
	int64_t r = -EBUSY;

	assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_ZONE_ATTACH, 1, &f->owner, NULL), 0);
	close(f->owner);
	f->owner = -1;
	/* forgotten once the sim sees the hang-up: the id is free again */
	for (int i = 0; i < 200 && r == -EBUSY; i++) {
		r = simh_attach(f->sim.ctl, HVSIM_OP_ZONE_ATTACH, 1, &f->owner, NULL);
		if (r == -EBUSY)
			usleep(5000);
	}
	assert_int_equal(r, 0);
	close(f->owner);
	f->owner = -1;
	/* whether or not the sim noticed the second hang-up before the zone
	 * starts, the guest is answered by the sim itself */
	assert_int_equal(start_zone(&f->sim), 0);
	assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_GUEST_ATTACH, 1, &f->guest, NULL), 0);
	simh_guest_access(f->guest, 2, VIRTIO0 + 0x10, 4, 0, false);
	m = simh_guest_done(f->guest);
	assert_int_equal(m.status, 0);
	assert_true(m.value == 0);
	/* and a real owner can still attach */
	r = -EBUSY;
	for (int i = 0; i < 200 && r == -EBUSY; i++) {
		r = simh_attach(f->sim.ctl, HVSIM_OP_ZONE_ATTACH, 1, &f->owner, NULL);
		if (r == -EBUSY)
			usleep(5000);
	}
	assert_int_equal(r, 0);
}

static void test_pending_owner_limit(void **state)
{
	struct fixture *f = *state;
	int fds[64];
	int o = -1;

	for (unsigned i = 0; i < ARRAY_SIZE(fds); i++)
		assert_int_equal(
			simh_attach(f->sim.ctl, HVSIM_OP_ZONE_ATTACH, 100 + i, &fds[i], NULL), 0);
	assert_int_equal(simh_attach(f->sim.ctl, HVSIM_OP_ZONE_ATTACH, 99, &o, NULL), -ENOSPC);
	close_many(fds, ARRAY_SIZE(fds));
}

static void test_guest_attach_reply(void **state)
{
	struct fixture *f = *state;
	struct hvsim_msg req = {.op = HVSIM_OP_GUEST_ATTACH, .zone_id = 1}, rep;
	struct hv_cfg_memory_region regs[HV_CONFIG_MAX_MEMORY_REGIONS];
	int rfds[2] = {-1, -1};
	size_t rlen = 0, n = 0;

	assert_int_equal(simh_rpc(f->sim.ctl, &req, NULL, 0, NULL, 0, &rep, regs, sizeof(regs),
				  &rlen, rfds, 2, &n),
			 0);
	assert_int_equal(n, 2);
	f->guest = rfds[0];
	close(rfds[1]);
	assert_true(rep.arg[0] == 0xc);
	assert_true(rep.arg[1] == 3);
	assert_int_equal(rlen, 3 * sizeof(regs[0]));
	assert_int_equal(regs[0].type, HV_MEM_TYPE_RAM);
	assert_true(regs[0].physical_start == RAM && regs[0].virtual_start == RAM);
	assert_true(regs[0].size == 16u << 20);
	assert_int_equal(regs[1].type, HV_MEM_TYPE_VIRTIO);
	assert_true(regs[1].physical_start == VIRTIO0 && regs[1].size == 0x200);
	assert_int_equal(regs[2].type, HV_MEM_TYPE_VIRTIO);
	assert_true(regs[2].physical_start == VIRTIO1);
	/* a refused attach carries nothing */
	rlen = 99;
	n = 99;
	assert_int_equal(simh_rpc(f->sim.ctl, &req, NULL, 0, NULL, 0, &rep, regs, sizeof(regs),
				  &rlen, rfds, 2, &n),
			 -EBUSY);
	assert_int_equal(n, 0);
	assert_int_equal(rlen, 0);
	assert_true(rep.arg[0] == 0 && rep.arg[1] == 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_cpus_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_is_posted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_coalescing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_forwarding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_without_guest, setup, teardown),
		cmocka_unit_test(test_irq_rule_per_arch),
		cmocka_unit_test_setup_teardown(test_owner_close_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_owner, setup_no_owner, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_closes_channels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_iocomp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_close_with_outstanding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_zones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_owner, setup_bare, teardown),
		cmocka_unit_test_setup_teardown(test_pending_owner_hangup, setup_bare, teardown),
		cmocka_unit_test_setup_teardown(test_pending_owner_limit, setup_bare, teardown),
		cmocka_unit_test_setup_teardown(test_guest_attach_reply, setup_no_owner_no_guest,
						teardown),
	};

	sim_harness_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
