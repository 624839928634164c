// SPDX-License-Identifier: GPL-2.0-only
/* hvisor-sim control protocol: HELLO/CONFIG_CHECK, zone_config validation
 * like hvisor's zone_create, ZONE_LIST, image loading, malformed packets,
 * process lifecycle (signals, stale sockets, sd_notify). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim-harness.h"
#include "util.h"

#define GiB (UINT64_C(1) << 30)

static int setup(void **state)
{
	struct simh *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	simh_start(h, NULL);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	struct simh *h = *state;
	int status = simh_stop(h);

	free(h);
	/* a clean exit 0 also proves the sim survived what the test sent
	 * (and, under sanitizers, that it leaked nothing) */
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	return 0;
}

/* --- HELLO / CONFIG_CHECK / config size per arch and magic -------------- */

static void test_hello_config_check_every_arch_magic(void **state)
{
	static const struct {
		const char *arch_arg;
		enum hv_arch arch;
	} arches[] = {
		{"aarch64", HV_ARCH_AARCH64},
		{"riscv", HV_ARCH_RISCV64},
		{"loongarch64", HV_ARCH_LOONGARCH64},
		{"x86_64", HV_ARCH_X86_64},
		{"arm64", HV_ARCH_AARCH64},
		{"riscv64", HV_ARCH_RISCV64},
		{"x86", HV_ARCH_X86_64},
		{"loongarch", HV_ARCH_LOONGARCH64},
	};
	static const struct {
		const char *arg;
		unsigned magic;
	} magics[] = {{"5", 5}, {"0x06", 6}};

	for (size_t a = 0; a < ARRAY_SIZE(arches); a++)
		for (size_t m = 0; m < ARRAY_SIZE(magics); m++) {
			const char *args[] = {"--arch", arches[a].arch_arg, "--magic",
					      magics[m].arg, NULL};
			unsigned magic = magics[m].magic, other = magic == 5 ? 6 : 5;
			enum hv_arch arch = arches[a].arch;
			uint8_t buf[HV_ZONE_CONFIG_MAX_SIZE + 16] = {0};
			struct hv_zone_config *cfg;
			struct hvsim_hello hello;
			struct hvsim_msg req = {.op = HVSIM_OP_CONFIG_CHECK}, rep;
			struct simh h;
			size_t size;

			simh_start(&h, args);
			hello = simh_hello(h.ctl);
			assert_int_equal(hello.version, HVSIM_PROTO_VERSION);
			assert_int_equal(hello.arch, arch);
			assert_int_equal(hello.magic, magic);
			assert_int_equal(hello.ncpus, 4);
			assert_true(hello.phys_size == UINT64_C(1) << 40);

			assert_int_equal(simh_rpc(h.ctl, &req, NULL, 0, NULL, 0, &rep, NULL, 0,
						  NULL, NULL, 0, NULL),
					 0);
			assert_int_equal(rep.op, HVSIM_OP_CONFIG_CHECK);
			assert_int_equal(rep.arg[0], magic);

			/* hvisor's exact-size rule, for this arch and magic */
			cfg = simh_cfg_new(arch, 1, 1u << 2, "sized", GiB);
			size = simh_encode(cfg, magic, buf);
			assert_int_equal(size, hv_zone_config_size(arch, magic));
			assert_int_equal(simh_zone_start_raw(h.ctl, buf, size - 8), -EINVAL);
			assert_int_equal(simh_zone_start_raw(h.ctl, buf, size + 8), -EINVAL);
			if (hv_zone_config_size(arch, other) != size) {
				uint8_t obuf[HV_ZONE_CONFIG_MAX_SIZE];
				size_t osize = simh_encode(cfg, other, obuf);

				assert_int_equal(simh_zone_start_raw(h.ctl, obuf, osize), -EINVAL);
			}
			for (int o = 0; o < _HV_ARCH_MAX; o++) {
				size_t osize = hv_zone_config_size((enum hv_arch)o, magic);

				if (osize != size)
					assert_int_equal(simh_zone_start_raw(h.ctl, buf, osize),
							 -EINVAL);
			}
			assert_int_equal(simh_zone_start_raw(h.ctl, buf, size), 0);
			free(cfg);

			assert_int_equal(WEXITSTATUS(simh_stop(&h)), 0);
		}
}

static void test_defaults(void **state)
{
	struct hvisor_zone_info zi[4];
	struct hvsim_hello hello;
	struct simh h;
	const char *one[] = {"--cpus", "1", NULL};

	simh_start(&h, NULL);
	hello = simh_hello(h.ctl);
	assert_int_equal(hello.arch, HV_ARCH_AARCH64); /* conf/examples/sim's */
	assert_int_equal(hello.magic, 6);
	assert_int_equal(hello.ncpus, 4);
	assert_int_equal(simh_list(h.ctl, 4, zi, 4), 1);
	assert_int_equal(zi[0].zone_id, 0);
	assert_true(zi[0].cpus == 0x3);
	assert_string_equal(zi[0].name, "root-linux");
	assert_int_equal(zi[0].is_err, 0);
	assert_int_equal(WEXITSTATUS(simh_stop(&h)), 0);

	simh_start(&h, one);
	hello = simh_hello(h.ctl);
	assert_int_equal(hello.ncpus, 1);
	assert_int_equal(simh_list(h.ctl, 4, zi, 4), 1);
	assert_true(zi[0].cpus == 0x1);
	assert_int_equal(WEXITSTATUS(simh_stop(&h)), 0);
}

/* Boards whose root zone owns CPU 0 only, or other CPUs. */
static void test_root_cpus(void **state)
{
	static const struct {
		const char *args[5];
		uint64_t root;
	} cases[] = {
		{{"--root-cpus", "0", NULL}, 0x1},
		{{"--cpus", "8", "--root-cpus", "0-2,5"}, 0x27},
		{{"--root-cpus", "3,1", "--cpus", "4"}, 0xa}, /* any order of options */
		{{"-r", "0,0,0-1", NULL}, 0x3},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct hv_zone_config *a = simh_cfg_new(SIMH_ARCH, 1, 0, "a", GiB);
		struct hvisor_zone_info zi[4];
		struct simh h;
		uint64_t free_cpu = ~cases[i].root & 0xf;

		simh_start(&h, cases[i].args);
		assert_int_equal(simh_list(h.ctl, 4, zi, 4), 1);
		assert_true(zi[0].cpus == cases[i].root);
		/* the root's CPUs are busy, the others free */
		a->cpus = cases[i].root & -cases[i].root;
		assert_int_equal(simh_zone_start(h.ctl, a, 6), -EBUSY);
		a->cpus = free_cpu & -free_cpu;
		assert_int_equal(simh_zone_start(h.ctl, a, 6), 0);
		free(a);
		assert_int_equal(WEXITSTATUS(simh_stop(&h)), 0);
	}
	(void)state;
}

static void test_bad_options(void **state)
{
	static const char *const bad[][5] = {
		{"--arch", "sparc", NULL},
		{"--magic", "7", NULL},
		{"--cpus", "0", NULL},
		{"--cpus", "65", NULL},
		{"--magic", "x", NULL},
		{"--log-level", "loud", NULL},
		{"--root-cpus", "", NULL},
		{"--root-cpus", "1,", NULL},
		{"--root-cpus", "0,,1", NULL},
		{"--root-cpus", "3-1", NULL},
		{"--root-cpus", "0-", NULL},
		{"--root-cpus", "64", NULL},
		{"--root-cpus", "010x", NULL},
		{"--root-cpus", "4", NULL}, /* of 4 CPUs */
		{"--root-cpus", "0-3", "--cpus", "2", NULL},
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct simh h;

		assert_int_equal(simh_start_full(&h, bad[i], NULL), -ECHILD);
		simh_stop(&h);
	}
}

/* --- zone lifecycle ------------------------------------------------------------ */

static void test_start_list_shutdown(void **state)
{
	struct simh *h = *state;
	struct hv_zone_config *cfg = simh_cfg_new(SIMH_ARCH, 1, 0xc, "linux2", GiB);
	struct hv_zone_config *cfg3 = simh_cfg_new(SIMH_ARCH, 3, 0x10, "x", 2 * GiB);
	uint8_t buf[HV_ZONE_CONFIG_MAX_SIZE];
	struct hvisor_zone_info zi[80];
	struct hv_cfg_head head;
	size_t n;
	const char *args[] = {"--cpus", "8", NULL};

	/* this test needs CPU 4 */
	simh_stop(h);
	simh_start(h, args);

	assert_int_equal(simh_zone_start(h->ctl, cfg, 6), 0);
	/* a 32-byte name without NUL is kept as is */
	n = simh_encode(cfg3, 6, buf);
	memcpy(&head, buf, sizeof(head));
	memcpy(head.name, "0123456789abcdef0123456789ABCDEF", 32);
	memcpy(buf, &head, sizeof(head));
	assert_int_equal(simh_zone_start_raw(h->ctl, buf, n), 0);

	assert_int_equal(simh_list(h->ctl, 80, zi, 80), 3);
	assert_int_equal(zi[0].zone_id, 0);
	assert_string_equal(zi[0].name, "root-linux");
	assert_true(zi[0].cpus == 0x3);
	assert_int_equal(zi[1].zone_id, 1);
	assert_string_equal(zi[1].name, "linux2");
	assert_true(zi[1].cpus == 0xc);
	assert_int_equal(zi[1].is_err, 0);
	assert_int_equal(zi[2].zone_id, 3);
	assert_memory_equal(zi[2].name, "0123456789abcdef0123456789ABCDEF", 32);
	assert_true(zi[2].cpus == 0x10);

	/* capacity bounds the count */
	assert_int_equal(simh_list(h->ctl, 2, zi, 80), 2);
	assert_int_equal(zi[1].zone_id, 1);
	assert_int_equal(simh_list(h->ctl, 0, zi, 80), 0);
	assert_int_equal(simh_list(h->ctl, UINT64_MAX, zi, 80), 3);

	assert_int_equal(simh_op(h->ctl, HVSIM_OP_ZONE_SHUTDOWN, 1, 0, 0, 0), 0);
	assert_int_equal(simh_list(h->ctl, 80, zi, 80), 2);
	assert_int_equal(zi[0].zone_id, 0);
	assert_int_equal(zi[1].zone_id, 3);
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_ZONE_SHUTDOWN, 1, 0, 0, 0), -EINVAL);

	/* its CPUs and memory are free again */
	assert_int_equal(simh_zone_start(h->ctl, cfg, 6), 0);
	assert_int_equal(simh_list(h->ctl, 80, zi, 80), 3);
	free(cfg);
	free(cfg3);
}

static void test_zone_id_rules(void **state)
{
	struct simh *h = *state;
	struct hv_zone_config *a = simh_cfg_new(SIMH_ARCH, 1, 0x4, "a", GiB);
	struct hv_zone_config *dup = simh_cfg_new(SIMH_ARCH, 1, 0x8, "dup", 2 * GiB);
	struct hv_zone_config *root = simh_cfg_new(SIMH_ARCH, 0, 0x8, "root", 2 * GiB);

	assert_int_equal(simh_zone_start(h->ctl, root, 6), -EINVAL);
	assert_int_equal(simh_zone_start(h->ctl, a, 6), 0);
	assert_int_equal(simh_zone_start(h->ctl, dup, 6), -EINVAL);
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_ZONE_SHUTDOWN, 0, 0, 0, 0), -EINVAL);
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_ZONE_SHUTDOWN, 7, 0, 0, 0), -EINVAL);
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_ZONE_SHUTDOWN, UINT32_MAX, 0, 0, 0), -EINVAL);
	free(a);
	free(dup);
	free(root);
}

static void test_cpu_rules(void **state)
{
	struct simh *h = *state;
	struct hv_zone_config *cfg = simh_cfg_new(SIMH_ARCH, 1, 0x4, "a", GiB);

	cfg->cpus = 0x2; /* root's CPU 1 */
	assert_int_equal(simh_zone_start(h->ctl, cfg, 6), -EBUSY);
	cfg->cpus = 0x1; /* root's CPU 0 */
	assert_int_equal(simh_zone_start(h->ctl, cfg, 6), -EBUSY);
	cfg->cpus = 0;
	assert_int_equal(simh_zone_start(h->ctl, cfg, 6), -EINVAL);
	cfg->cpus = 0x10; /* CPU 4 of 4 */
	assert_int_equal(simh_zone_start(h->ctl, cfg, 6), -EINVAL);
	cfg->cpus = UINT64_C(1) << 63;
	assert_int_equal(simh_zone_start(h->ctl, cfg, 6), -EINVAL);
	cfg->cpus = 0x4;
	assert_int_equal(simh_zone_start(h->ctl, cfg, 6), 0);

	cfg->zone_id = 2;
	cfg->regions[0].physical_start = 2 * GiB;
	cfg->cpus = 0xc; /* CPU 2 belongs to zone 1 */
	assert_int_equal(simh_zone_start(h->ctl, cfg, 6), -EBUSY);
	cfg->cpus = 0x8;
	assert_int_equal(simh_zone_start(h->ctl, cfg, 6), 0);
	free(cfg);
}

static void test_memory_rules(void **state)
{
	struct simh *h = *state;
	struct hv_zone_config *a = simh_cfg_new(SIMH_ARCH, 1, 0x4, "a", GiB);
	struct hv_zone_config *b = simh_cfg_new(SIMH_ARCH, 2, 0x8, "b", 0);
	uint8_t buf[HV_ZONE_CONFIG_MAX_SIZE];
	struct hv_cfg_head head;
	size_t n;

	simh_cfg_region(a, HV_MEM_TYPE_VIRTIO, 0xa000000, 0x200);
	simh_cfg_region(a, HV_MEM_TYPE_IO, 0x9000000, 0x1000);
	assert_int_equal(simh_zone_start(h->ctl, a, 6), 0);

	/* RAM overlapping zone 1's RAM (last byte) */
	simh_cfg_region(b, HV_MEM_TYPE_RAM, GiB + (16u << 20) - 1, 0x1000);
	assert_int_equal(simh_zone_start(h->ctl, b, 6), -EBUSY);
	/* RAM containing zone 1's RAM */
	b->regions[0].physical_start = 0;
	b->regions[0].size = 4 * GiB;
	assert_int_equal(simh_zone_start(h->ctl, b, 6), -EBUSY);
	/* RAM beyond physical memory */
	b->regions[0].physical_start = (UINT64_C(1) << 40) - 0x1000;
	b->regions[0].size = 0x2000;
	assert_int_equal(simh_zone_start(h->ctl, b, 6), -EINVAL);
	/* size 0, wrapping, unknown type */
	b->regions[0].physical_start = 2 * GiB;
	b->regions[0].size = 0;
	assert_int_equal(simh_zone_start(h->ctl, b, 6), -EINVAL);
	b->regions[0].physical_start = UINT64_MAX - 0xfff;
	b->regions[0].size = 0x2000;
	b->regions[0].type = HV_MEM_TYPE_IO;
	assert_int_equal(simh_zone_start(h->ctl, b, 6), -EINVAL);
	b->regions[0].physical_start = 2 * GiB;
	b->regions[0].type = 3;
	assert_int_equal(simh_zone_start(h->ctl, b, 6), -EINVAL);
	b->regions[0].type = 5; /* x86 RESERVED: not producible by the tools */
	assert_int_equal(simh_zone_start(h->ctl, b, 6), -EINVAL);
	/* adjacent RAM, and IO/virtio may be shared like device pages */
	b->regions[0].type = HV_MEM_TYPE_RAM;
	b->regions[0].physical_start = GiB + (16u << 20);
	b->regions[0].size = 0x1000;
	simh_cfg_region(b, HV_MEM_TYPE_IO, 0x9000000, 0x1000);
	assert_int_equal(simh_zone_start(h->ctl, b, 6), 0);

	/* > 64 regions: the encoder refuses, so patch the bytes; CPU 3 is
	 * free again so only the count is wrong */
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_ZONE_SHUTDOWN, 2, 0, 0, 0), 0);
	b->zone_id = 3;
	b->n_regions = 1;
	n = simh_encode(b, 6, buf);
	memcpy(&head, buf, sizeof(head));
	head.num_memory_regions = 65;
	memcpy(buf, &head, sizeof(head));
	assert_int_equal(simh_zone_start_raw(h->ctl, buf, n), -EINVAL);
	head.num_memory_regions = UINT32_MAX;
	memcpy(buf, &head, sizeof(head));
	assert_int_equal(simh_zone_start_raw(h->ctl, buf, n), -EINVAL);

	/* 64 regions are fine */
	b->n_regions = 0;
	for (unsigned i = 0; i < HV_CONFIG_MAX_MEMORY_REGIONS; i++)
		simh_cfg_region(b, HV_MEM_TYPE_RAM, 8 * GiB + i * 0x10000, 0x10000);
	assert_int_equal(simh_zone_start(h->ctl, b, 6), 0);
	free(a);
	free(b);
}

/* --- image loading ------------------------------------------------------------- */

static int load_buffer(int ctl, int fd, uint64_t size)
{
	struct hvsim_msg req = {.op = HVSIM_OP_LOAD_BUFFER, .arg = {size}}, rep;

	return (int)simh_rpc(ctl, &req, NULL, 0, &fd, fd >= 0 ? 1 : 0, &rep, NULL, 0, NULL, NULL, 0,
			     NULL);
}

static int phys_memfd(int ctl)
{
	struct hvsim_msg req = {.op = HVSIM_OP_PHYS_MEMFD}, rep;
	int fd = -1;
	size_t n = 0;

	assert_int_equal(simh_rpc(ctl, &req, NULL, 0, NULL, 0, &rep, NULL, 0, NULL, &fd, 1, &n), 0);
	assert_int_equal(n, 1);
	return fd;
}

static void test_load_image(void **state)
{
	struct simh *h = *state;
	const size_t size = 3 * 4096 + 123;
	uint8_t *data = malloc(size), *back = malloc(size);
	struct stat st;
	int mfd, pfd;

	for (size_t i = 0; i < size; i++)
		data[i] = (uint8_t)(i * 7 + 3);
	mfd = simh_memfd_with(data, size);
	assert_int_equal(load_buffer(h->ctl, mfd, size), 0);
	/* bytes [4096, size) of the buffer to 0x80001000 */
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_LOAD_IMAGE, 0, 0x80001000, size - 4096, 4096), 0);
	/* and the whole buffer at the very end of physical memory */
	assert_int_equal(
		simh_op(h->ctl, HVSIM_OP_LOAD_IMAGE, 0, (UINT64_C(1) << 40) - size, size, 0), 0);

	pfd = phys_memfd(h->ctl);
	assert_int_equal(fstat(pfd, &st), 0);
	assert_true((uint64_t)st.st_size == UINT64_C(1) << 40);
	assert_int_equal(pread_full(pfd, back, size - 4096, 0x80001000), (ssize_t)(size - 4096));
	assert_memory_equal(back, data + 4096, size - 4096);
	assert_int_equal(pread_full(pfd, back, size, (off_t)((UINT64_C(1) << 40) - size)),
			 (ssize_t)size);
	assert_memory_equal(back, data, size);
	/* nothing around it was touched */
	assert_int_equal(pread_full(pfd, back, 4096, 0x80000000), 4096);
	for (size_t i = 0; i < 4096; i++)
		assert_int_equal(back[i], 0);
	/* the sim's memory cannot be resized by a client */
	assert_true(ftruncate(pfd, 4096) < 0);

	/* a second connection has no buffer of its own */
	{
		int c2 = simh_connect(h->sock);

		assert_true(c2 >= 0);
		assert_int_equal(simh_op(c2, HVSIM_OP_LOAD_IMAGE, 0, 0x80001000, 16, 0), -EINVAL);
		close(c2);
	}
	close(pfd);
	close(mfd);
	free(data);
	free(back);
}

static void test_load_image_rules(void **state)
{
	struct simh *h = *state;
	struct hv_zone_config *cfg = simh_cfg_new(SIMH_ARCH, 1, 0x4, "a", GiB);
	uint8_t data[8192] = {1, 2, 3};
	const uint64_t phys = UINT64_C(1) << 40;
	int mfd = simh_memfd_with(data, sizeof(data));
	int pipefd[2];

	/* no buffer yet */
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_LOAD_IMAGE, 0, 0x1000, 16, 0), -EINVAL);
	/* LOAD_BUFFER checks */
	assert_int_equal(load_buffer(h->ctl, -1, 16), -EINVAL);
	assert_int_equal(load_buffer(h->ctl, mfd, sizeof(data) + 1), -EINVAL);
	assert_int_equal(load_buffer(h->ctl, mfd, (uint64_t)HVSIM_MAX_LOAD_BUFFER + 1), -EINVAL);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(load_buffer(h->ctl, pipefd[0], 0), -EINVAL);
	close(pipefd[0]);
	close(pipefd[1]);
	assert_int_equal(load_buffer(h->ctl, mfd, sizeof(data)), 0);

	/* beyond physical memory, or wrapping */
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_LOAD_IMAGE, 0, phys - 8, 16, 0), -EFAULT);
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_LOAD_IMAGE, 0, phys, 1, 0), -EFAULT);
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_LOAD_IMAGE, 0, UINT64_MAX - 7, 16, 0), -EFAULT);
	/* outside the buffer, or wrapping */
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_LOAD_IMAGE, 0, 0x1000, 16, sizeof(data) - 8),
			 -EINVAL);
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_LOAD_IMAGE, 0, 0x1000, sizeof(data) + 1, 0),
			 -EINVAL);
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_LOAD_IMAGE, 0, 0x1000, 16, UINT64_MAX - 7),
			 -EINVAL);

	/* into a zone before it starts: fine; once it runs: refused */
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_LOAD_IMAGE, 0, GiB, sizeof(data), 0), 0);
	assert_int_equal(simh_zone_start(h->ctl, cfg, 6), 0);
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_LOAD_IMAGE, 0, GiB, sizeof(data), 0), -EPERM);
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_LOAD_IMAGE, 0, GiB - 1, 2, 0), -EPERM);
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_LOAD_IMAGE, 0, GiB + (16u << 20) - 1, 1, 0),
			 -EPERM);
	/* right next to it is fine */
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_LOAD_IMAGE, 0, GiB + (16u << 20), 16, 0), 0);
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_LOAD_IMAGE, 0, GiB - 16, 16, 0), 0);
	/* after shutdown the memory may be loaded again */
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_ZONE_SHUTDOWN, 1, 0, 0, 0), 0);
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_LOAD_IMAGE, 0, GiB, sizeof(data), 0), 0);

	/* a client that shrinks its buffer behind the sim's back gets an
	 * error, the sim does not crash */
	assert_int_equal(ftruncate(mfd, 0), 0);
	assert_true(simh_op(h->ctl, HVSIM_OP_LOAD_IMAGE, 0, 0x2000, sizeof(data), 0) < 0);
	assert_int_equal(simh_hello(h->ctl).version, HVSIM_PROTO_VERSION);
	close(mfd);
	free(cfg);
}

static int load_file(int ctl, int fd, uint64_t paddr, uint64_t size, uint64_t off)
{
	struct hvsim_msg req = {.op = HVSIM_OP_LOAD_FILE, .arg = {paddr, size, off}}, rep;

	return (int)simh_rpc(ctl, &req, NULL, 0, &fd, fd >= 0 ? 1 : 0, &rep, NULL, 0, NULL, NULL, 0,
			     NULL);
}

static void test_load_file(void **state)
{
	struct simh *h = *state;
	struct hv_zone_config *cfg = simh_cfg_new(SIMH_ARCH, 1, 0x4, "a", GiB);
	const size_t size = (3u << 20) + 4096 + 123; /* several bounce buffers, a ragged end */
	const uint64_t phys = UINT64_C(1) << 40;
	uint8_t *data = malloc(size), *back = malloc(size);
	int fd, pfd, pipefd[2];

	for (size_t i = 0; i < size; i++)
		data[i] = (uint8_t)(i * 13 + 5);
	fd = simh_memfd_with(data, size);

	/* bytes [4096 + 7, size) of the file to 0x80001000: any offset */
	assert_int_equal(load_file(h->ctl, fd, 0x80001000, size - 4103, 4103), 0);
	pfd = phys_memfd(h->ctl);
	assert_int_equal(pread_full(pfd, back, size - 4103, 0x80001000), (ssize_t)(size - 4103));
	assert_memory_equal(back, data + 4103, size - 4103);
	/* the last byte of physical memory */
	assert_int_equal(load_file(h->ctl, fd, phys - 1, 1, 0), 0);
	assert_int_equal(pread_full(pfd, back, 1, (off_t)(phys - 1)), 1);
	assert_int_equal(back[0], data[0]);

	/* LOAD_IMAGE's rules for the destination */
	assert_int_equal(load_file(h->ctl, fd, phys - 8, 16, 0), -EFAULT);
	assert_int_equal(load_file(h->ctl, fd, UINT64_MAX - 7, 16, 0), -EFAULT);
	assert_int_equal(simh_zone_start(h->ctl, cfg, 6), 0);
	assert_int_equal(load_file(h->ctl, fd, GiB - 1, 2, 0), -EPERM);
	assert_int_equal(simh_op(h->ctl, HVSIM_OP_ZONE_SHUTDOWN, 1, 0, 0, 0), 0);
	/* the file: too much at once, shorter than asked, wrapping, not a file */
	assert_int_equal(load_file(h->ctl, fd, 0x1000, (uint64_t)HVSIM_MAX_LOAD_BUFFER + 1, 0),
			 -EINVAL);
	assert_int_equal(load_file(h->ctl, fd, 0x1000, 16, size - 8), -ENODATA);
	assert_int_equal(load_file(h->ctl, fd, 0x1000, 16, UINT64_MAX - 7), -EINVAL);
	assert_int_equal(load_file(h->ctl, -1, 0x1000, 16, 0), -EINVAL);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(load_file(h->ctl, pipefd[0], 0x1000, 16, 0), -EOPNOTSUPP);
	close(pipefd[0]);
	close(pipefd[1]);
	/* a file that shrinks behind the sim's back: an error, no crash */
	assert_int_equal(ftruncate(fd, 4096), 0);
	assert_int_equal(load_file(h->ctl, fd, 0x1000, size, 0), -ENODATA);
	assert_int_equal(simh_hello(h->ctl).version, HVSIM_PROTO_VERSION);

	close(pfd);
	close(fd);
	free(data);
	free(back);
	free(cfg);
}

/* LOAD_HOLD (for tests of clients): a held load is neither run nor
 * answered until it is let go, one at a time or all at once. */
static void send_load_file(int c, int fd, uint64_t paddr, uint64_t size)
{
	struct hvsim_msg req = {.op = HVSIM_OP_LOAD_FILE, .arg = {paddr, size, 0}};

	assert_int_equal(send_with_fds(c, &req, sizeof(req), &fd, 1, 0), sizeof(req));
}

static int64_t load_reply(int c)
{
	struct hvsim_msg rep;

	assert_int_equal(simh_recv(c, &rep, sizeof(rep), SIMH_TIMEOUT_MS), sizeof(rep));
	assert_int_equal(rep.op, HVSIM_OP_LOAD_FILE);
	return rep.ret;
}

static int64_t hold(int ctl, int what)
{
	return simh_op(ctl, HVSIM_OP_LOAD_HOLD, 0, (uint64_t)what, 0, 0);
}

static bool phys_written(int pfd, uint64_t paddr)
{
	uint8_t b = 0;

	assert_int_equal(pread_full(pfd, &b, 1, (off_t)paddr), 1);
	return b != 0;
}

static void test_load_hold(void **state)
{
	struct simh *h = *state;
	uint8_t data[4096];
	int c = simh_connect(h->sock), fd, pfd = phys_memfd(h->ctl), w;
	struct hvsim_msg rep;

	memset(data, 0xa5, sizeof(data));
	fd = simh_memfd_with(data, sizeof(data));
	assert_true(c >= 0);
	/* nothing to wait for or step while not holding */
	assert_int_equal(hold(h->ctl, HVSIM_HOLD_WAIT), -EINVAL);
	assert_int_equal(hold(h->ctl, HVSIM_HOLD_STEP), -EINVAL);
	assert_int_equal(hold(h->ctl, 9), -EINVAL);
	assert_int_equal(hold(h->ctl, HVSIM_HOLD_ON), 0);

	/* held: WAIT returns, the memory is untouched until a STEP */
	send_load_file(c, fd, 0x10000, sizeof(data));
	assert_int_equal(hold(h->ctl, HVSIM_HOLD_WAIT), 0);
	assert_false(phys_written(pfd, 0x10000));
	assert_int_equal(hold(h->ctl, HVSIM_HOLD_STEP), 0);
	assert_int_equal(load_reply(c), 0);
	assert_true(phys_written(pfd, 0x10000));
	/* a STEP with nothing held lets the next load go */
	assert_int_equal(hold(h->ctl, HVSIM_HOLD_STEP), 0);
	send_load_file(c, fd, 0x20000, sizeof(data));
	assert_int_equal(load_reply(c), 0);
	assert_true(phys_written(pfd, 0x20000));
	/* a WAIT with nothing held is answered when a load is held (or at
	 * once if the load came first: two connections, either order) */
	w = simh_connect(h->sock);
	rep = (struct hvsim_msg){.op = HVSIM_OP_LOAD_HOLD, .arg = {HVSIM_HOLD_WAIT}};
	assert_int_equal(send(w, &rep, sizeof(rep), 0), sizeof(rep));
	send_load_file(c, fd, 0x30000, sizeof(data));
	assert_int_equal(simh_recv(w, &rep, sizeof(rep), SIMH_TIMEOUT_MS), sizeof(rep));
	assert_int_equal(rep.ret, 0);
	assert_false(phys_written(pfd, 0x30000));
	/* OFF lets every held load go and says how many */
	assert_int_equal(hold(h->ctl, HVSIM_HOLD_OFF), 1);
	assert_int_equal(load_reply(c), 0);
	assert_true(phys_written(pfd, 0x30000));
	/* a client gone while its load is held: let go without harm */
	assert_int_equal(hold(h->ctl, HVSIM_HOLD_ON), 0);
	send_load_file(c, fd, 0x40000, sizeof(data));
	assert_int_equal(hold(h->ctl, HVSIM_HOLD_WAIT), 0);
	close(c);
	assert_int_equal(hold(h->ctl, HVSIM_HOLD_OFF), 1);
	assert_int_equal(simh_hello(h->ctl).version, HVSIM_PROTO_VERSION);
	/* and one held when the sim stops (teardown: SIGTERM, exit 0) */
	c = simh_connect(h->sock);
	assert_int_equal(hold(h->ctl, HVSIM_HOLD_ON), 0);
	send_load_file(c, fd, 0x50000, sizeof(data));
	assert_int_equal(hold(h->ctl, HVSIM_HOLD_WAIT), 0);
	close(c);
	close(w);
	close(fd);
	close(pfd);
}

/* --- malformed packets ------------------------------------------------------------ */

static void test_malformed_packets(void **state)
{
	struct simh *h = *state;
	uint8_t big[HVSIM_MAX_PACKET + 100] = {0};
	struct hvsim_msg m = {.op = HVSIM_OP_HELLO};
	uint8_t buf[sizeof(m) + 16] = {0};
	int fds[2];

	/* shorter than a header */
	assert_int_equal(simh_raw(h->ctl, &m, 8, NULL, 0), -EINVAL);
	assert_int_equal(simh_raw(h->ctl, &m, 1, NULL, 0), -EINVAL);
	/* unknown ops */
	m.op = 0;
	assert_int_equal(simh_raw(h->ctl, &m, sizeof(m), NULL, 0), -EINVAL);
	m.op = 99;
	assert_int_equal(simh_raw(h->ctl, &m, sizeof(m), NULL, 0), -EINVAL);
	m.op = UINT32_MAX;
	assert_int_equal(simh_raw(h->ctl, &m, sizeof(m), NULL, 0), -EINVAL);
	/* payload where none belongs */
	m.op = HVSIM_OP_HELLO;
	memcpy(buf, &m, sizeof(m));
	assert_int_equal(simh_raw(h->ctl, buf, sizeof(buf), NULL, 0), -EINVAL);
	m.op = HVSIM_OP_ZONE_SHUTDOWN;
	memcpy(buf, &m, sizeof(m));
	assert_int_equal(simh_raw(h->ctl, buf, sizeof(m) + 1, NULL, 0), -EINVAL);
	m.op = HVSIM_OP_ZONE_LIST;
	m.arg[0] = 4;
	memcpy(buf, &m, sizeof(m));
	assert_int_equal(simh_raw(h->ctl, buf, sizeof(m) + 8, NULL, 0), -EINVAL);
	/* no zone_config at all */
	m.op = HVSIM_OP_ZONE_START;
	assert_int_equal(simh_raw(h->ctl, &m, sizeof(m), NULL, 0), -EINVAL);
	/* larger than any packet */
	m.op = HVSIM_OP_ZONE_START;
	memcpy(big, &m, sizeof(m));
	assert_int_equal(simh_raw(h->ctl, big, sizeof(big), NULL, 0), -EINVAL);
	/* descriptors nobody asked for are closed, the request still runs */
	assert_int_equal(pipe(fds), 0);
	m = (struct hvsim_msg){.op = HVSIM_OP_CONFIG_CHECK};
	assert_int_equal(simh_raw(h->ctl, &m, sizeof(m), fds, 2), 0);
	close(fds[0]);
	/* the sim closed its copy of the read end (before replying), so no
	 * reader is left */
	{
		char c = 'x';

		assert_int_equal(write(fds[1], &c, 1), -1);
		assert_int_equal(errno, EPIPE);
	}
	close(fds[1]);

	/* the sim keeps serving this connection and others */
	assert_int_equal(simh_hello(h->ctl).version, HVSIM_PROTO_VERSION);
	{
		int c2 = simh_connect(h->sock);

		assert_true(c2 >= 0);
		assert_int_equal(simh_hello(c2).ncpus, 4);
		/* a client that disappears mid-request is no problem */
		m = (struct hvsim_msg){.op = HVSIM_OP_HELLO};
		assert_int_equal(send(c2, &m, sizeof(m), 0), (ssize_t)sizeof(m));
		close(c2);
	}
	assert_int_equal(simh_hello(h->ctl).version, HVSIM_PROTO_VERSION);
}

static void test_attach_rules(void **state)
{
	struct simh *h = *state;
	struct hv_zone_config *cfg = simh_cfg_new(SIMH_ARCH, 1, 0x4, "a", GiB);
	int o = -1, o2 = -1, g = -1, g2 = -1, mem = -1;
	int64_t r = -1;

	/* no guest for a zone that does not run; nobody owns the root zone */
	assert_int_equal(simh_attach(h->ctl, HVSIM_OP_GUEST_ATTACH, 1, &g, NULL), -ENOENT);
	assert_int_equal(simh_attach(h->ctl, HVSIM_OP_ZONE_ATTACH, 0, &o, NULL), -EINVAL);
	/* an owner may attach before its zone starts (pending), only one */
	assert_int_equal(simh_attach(h->ctl, HVSIM_OP_ZONE_ATTACH, 1, &o, &mem), 0);
	assert_int_equal(simh_attach(h->ctl, HVSIM_OP_ZONE_ATTACH, 1, &o2, NULL), -EBUSY);
	assert_int_equal(simh_zone_start(h->ctl, cfg, 6), 0);
	assert_int_equal(simh_attach(h->ctl, HVSIM_OP_ZONE_ATTACH, 1, &o2, NULL), -EBUSY);
	assert_int_equal(simh_attach(h->ctl, HVSIM_OP_GUEST_ATTACH, 1, &g, NULL), 0);
	assert_int_equal(simh_attach(h->ctl, HVSIM_OP_GUEST_ATTACH, 1, &g2, NULL), -EBUSY);
	/* the memfd is physical memory */
	{
		struct stat st;

		assert_int_equal(fstat(mem, &st), 0);
		assert_true((uint64_t)st.st_size == UINT64_C(1) << 40);
		close(mem);
	}
	/* once the owner is gone, a new one may attach */
	close(o);
	for (int i = 0; i < 200; i++) {
		r = simh_attach(h->ctl, HVSIM_OP_ZONE_ATTACH, 1, &o2, NULL);
		if (r != -EBUSY)
			break;
		usleep(5000);
	}
	assert_int_equal(r, 0);
	close(o2);
	close(g);
	free(cfg);
}

/* --- process lifecycle ------------------------------------------------------------ */

static void test_sigterm_and_sigint(void **state)
{
	static const int sigs[] = {SIGTERM, SIGINT};

	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		struct simh h;
		struct stat st;
		int status;

		simh_start(&h, NULL);
		assert_int_equal(stat(h.sock, &st), 0);
		assert_true(S_ISSOCK(st.st_mode));
		assert_int_equal(st.st_mode & 0777, 0600);
		kill(h.pid, sigs[i]);
		status = simh_wait(&h, 5000);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_int_equal(stat(h.sock, &st), -1);
		assert_int_equal(errno, ENOENT);
		simh_stop(&h);
	}
}

static void test_stale_and_live_socket(void **state)
{
	struct simh *h = *state;
	char sock[sizeof(h->sock)];
	int status;

	/* a second sim on a live socket refuses to start */
	{
		pid_t pid;

		strcpy(sock, h->sock);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			const char *sim = simh_sim_path();

			execl(sim, sim, "--socket", sock, (char *)NULL);
			_exit(127);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_not_equal(WEXITSTATUS(status), 0);
		assert_int_not_equal(WEXITSTATUS(status), 127);
		assert_int_equal(simh_hello(h->ctl).version, HVSIM_PROTO_VERSION);
	}

	/* a killed sim leaves its socket; the next one takes it over */
	kill(h->pid, SIGKILL);
	simh_wait(h, 5000);
	close(h->ctl);
	h->ctl = -1;
	assert_int_equal(access(sock, F_OK), 0);
	{
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			const char *sim = simh_sim_path();

			execl(sim, sim, "--socket", sock, (char *)NULL);
			_exit(127);
		}
		h->pid = pid;
		for (int i = 0; i < 1000 && h->ctl < 0; i++) {
			h->ctl = simh_connect(sock);
			if (h->ctl < 0)
				usleep(5000);
		}
		assert_true(h->ctl >= 0);
		assert_int_equal(simh_hello(h->ctl).version, HVSIM_PROTO_VERSION);
	}
	/* teardown stops this one and checks exit 0 */
}

static void test_not_a_socket(void **state)
{
	struct simh *h = *state;
	char path[sizeof(h->dir) + 16];
	pid_t pid;
	int status, fd;

	snprintf(path, sizeof(path), "%s/file", h->dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *sim = simh_sim_path();

		execl(sim, sim, "--socket", path, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 0);
	assert_int_not_equal(WEXITSTATUS(status), 127);
	/* the file was left alone */
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
}

static void test_sd_notify_ready(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[300], msg[512];
	struct simh h;
	ssize_t k;
	int ns;

	/* the harness' directory is created by simh_start; use our own */
	snprintf(path, sizeof(path), "%s/hvsim-notify.%d",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	unlink(path);
	ns = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(ns >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	assert_int_equal(bind(ns, (struct sockaddr *)&sa, sizeof(sa)), 0);

	assert_int_equal(simh_start_full(&h, NULL, path), 0);
	k = simh_recv(ns, msg, sizeof(msg) - 1, SIMH_TIMEOUT_MS);
	assert_true(k > 0);
	msg[k] = '\0';
	assert_non_null(strstr(msg, "READY=1"));
	assert_int_equal(WEXITSTATUS(simh_stop(&h)), 0);
	close(ns);
	unlink(path);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_config_check_every_arch_magic),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_root_cpus),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test_setup_teardown(test_start_list_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zone_id_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpu_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_image_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_rules, setup, teardown),
		cmocka_unit_test(test_sigterm_and_sigint),
		cmocka_unit_test_setup_teardown(test_stale_and_live_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_socket, setup, teardown),
		cmocka_unit_test(test_sd_notify_ready),
	};

	sim_harness_init(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
