// SPDX-License-Identifier: GPL-2.0-only
/* virtio-console through the whole stack: the pty hvisord publishes (the
 * Add reply, Virtio.List, RUNDIR/zone1/console), bytes both ways with
 * hvsim-guest, back-pressure (a slow reader loses nothing, a writer ahead
 * of the guest loses nothing), and hvctl console. The byte pattern is
 * hvsim-guest's own (wl_pattern_* in sim/hvsim-guest.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "hvsim-guest.h"
#include "util.h"

#define CON_ADDR 0xa003800
#define CON_IRQ	 76
#define CON_SPEC "console,addr=0xa003800,len=0x200,irq=76"

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Zone 1 with a console; returns the pty's path (malloc'd). */
static char *start_console(struct ih *h)
{
	char link[PATH_MAX], target[PATH_MAX], *want;
	json_object *dev, *v;
	struct ih_out o;
	ssize_t k;

	ih_zone_start(h, "zone1");
	if (ih_hvctl(h, &o, "--json", "virtio", "add", "1", CON_SPEC, NULL) != 0)
		fail_msg("hvctl virtio add: %s", o.err);
	dev = json_tokener_parse(o.out);
	assert_non_null(dev);
	ih_out_free(&o);
	assert_true(json_object_object_get_ex(dev, "state", &v));
	assert_string_equal(json_object_get_string(v), "running");
	assert_true(json_object_object_get_ex(dev, "pty", &v));
	assert_true(strncmp(json_object_get_string(v), "/dev/pts/", 9) == 0);
	want = strdup(json_object_get_string(v));
	assert_non_null(want);
	/* the stable name: RUNDIR/zone1/console -> the pty */
	snprintf(link, sizeof(link), "%s/zone1/console", h->dir);
	assert_true(json_object_object_get_ex(dev, "console", &v));
	assert_string_equal(json_object_get_string(v), link);
	json_object_put(dev);
	k = readlink(link, target, sizeof(target) - 1);
	assert_true(k > 0);
	target[k] = '\0';
	assert_string_equal(target, want);
	/* Virtio.List says the same */
	dev = ih_virtio_device(h, 1, CON_ADDR);
	assert_non_null(dev);
	assert_true(json_object_object_get_ex(dev, "pty", &v));
	assert_string_equal(json_object_get_string(v), want);
	json_object_put(dev);
	/* and the line upstream scripts grep for */
	{
		char line[PATH_MAX + 64];

		snprintf(line, sizeof(line), "char device redirected to %s", want);
		assert_true(ih_wait_file_contains(h->log, line, IH_TIMEOUT_MS));
	}
	return want;
}

static int open_pty(const struct ih *h)
{
	char link[PATH_MAX];
	int fd;

	snprintf(link, sizeof(link), "%s/zone1/console", h->dir);
	fd = open(link, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		fail_msg("cannot open %s: %s", link, strerror(errno));
	return fd;
}

static void assert_quiet(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	if (poll(&p, 1, IH_QUIET_MS) > 0 && read(fd, &c, 1) == 1)
		fail_msg("unexpected byte 0x%02x on the console", (unsigned char)c);
}

/* Bytes written to the pty come back through console-echo. */
static void test_console_echo(void **state)
{
	enum {
		N = 96 * 1024
	};
	struct ih *h = ih_start(NULL);
	char *pty = start_console(h), nbuf[32];
	uint8_t *out = malloc(N), *in = malloc(N);
	size_t sent = 0, got = 0;
	int64_t deadline;
	pid_t guest;
	int fd;

	assert_true(out && in);
	ih_fill(out, N, "echo");
	snprintf(nbuf, sizeof(nbuf), "%d", N);
	guest = ih_guest_bg(h, NULL, 1, CON_ADDR, CON_IRQ, "console-echo", "--bytes", nbuf, NULL);
	fd = open_pty(h);
	deadline = mono_ms() + IH_TIMEOUT_MS;
	while (got < N) {
		struct pollfd p = {.fd = fd, .events = POLLIN | (sent < N ? POLLOUT : 0)};
		ssize_t k;

		if (mono_ms() > deadline)
			fail_msg("echoed %zu of %zu bytes (%d sent)", got, sent, N);
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (p.revents & POLLOUT) {
			k = write(fd, out + sent, MIN((size_t)N - sent, (size_t)1000));
			if (k > 0)
				sent += (size_t)k;
		}
		if (p.revents & POLLIN) {
			k = read(fd, in + got, N - got);
			if (k > 0)
				got += (size_t)k;
		}
	}
	assert_memory_equal(in, out, N);
	assert_int_equal(ih_wait_bg(h, guest, IH_TIMEOUT_MS), 0);
	assert_quiet(fd);
	close(fd);
	free(in);
	free(out);
	free(pty);
	ih_stop(h);
}

/* console-send of 1 MiB while this reader is slow (small reads, pauses):
 * every byte arrives, in order, nothing more. */
static void test_console_slow_reader(void **state)
{
	const uint64_t seed = 7, total = 1 << 20;
	struct ih *h = ih_start(NULL);
	char *pty = start_console(h);
	uint64_t off = 0;
	int64_t deadline;
	uint8_t buf[8192];
	pid_t guest;
	int fd;

	fd = open_pty(h);
	guest = ih_guest_bg(h, NULL, 1, CON_ADDR, CON_IRQ, "console-send", "--bytes", "1048576",
			    "--seed", "7", NULL);
	/* nobody reads for a while: the pty fills up and the guest must wait */
	poll(NULL, 0, 300);
	assert_true(ih_pid_alive(guest, NULL));
	deadline = mono_ms() + 2 * IH_TIMEOUT_MS;
	while (off < total) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		/* slow at first: 64 KiB in reads of at most 200 bytes */
		size_t want = off < 65536 ? 200 : sizeof(buf);
		ssize_t k;

		if (mono_ms() > deadline)
			fail_msg("received %llu of %llu bytes", (unsigned long long)off,
				 (unsigned long long)total);
		if (poll(&p, 1, 100) <= 0)
			continue;
		k = read(fd, buf, MIN(want, (size_t)(total - off)));
		if (k < 0 && errno == EAGAIN)
			continue;
		assert_true(k > 0);
		for (ssize_t i = 0; i < k; i++)
			if (buf[i] != wl_pattern_byte(seed, off + (uint64_t)i))
				fail_msg("byte %llu is 0x%02x, expected 0x%02x",
					 (unsigned long long)(off + (uint64_t)i), buf[i],
					 wl_pattern_byte(seed, off + (uint64_t)i));
		off += (uint64_t)k;
		if (off < 65536)
			poll(NULL, 0, 1); /* the slow part */
		else if (off - (uint64_t)k < 512 * 1024 && off >= 512 * 1024)
			poll(NULL, 0, 200); /* another stall half-way */
	}
	assert_int_equal(ih_wait_bg(h, guest, IH_TIMEOUT_MS), 0);
	assert_quiet(fd);
	close(fd);
	free(pty);
	ih_stop(h);
}

/* Writes the pattern of seed to fd (non-blocking, waiting for room). */
static void write_pattern(int fd, uint64_t seed, uint64_t total)
{
	int64_t deadline = mono_ms() + 2 * IH_TIMEOUT_MS;
	uint8_t buf[4096];
	uint64_t off = 0;

	while (off < total) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		size_t n = (size_t)MIN(total - off, (uint64_t)sizeof(buf));
		ssize_t k;

		if (mono_ms() > deadline)
			fail_msg("the console took %llu of %llu bytes", (unsigned long long)off,
				 (unsigned long long)total);
		if (poll(&p, 1, 100) <= 0)
			continue;
		wl_pattern_fill(seed, off, buf, n);
		k = write(fd, buf, n);
		if (k < 0 && errno == EAGAIN)
			continue;
		assert_true(k > 0);
		off += (uint64_t)k;
	}
}

/* The other direction: the test writes ahead of the guest (the pty fills,
 * the writer waits), console-recv checks every byte. */
static void test_console_to_guest(void **state)
{
	struct ih *h = ih_start(NULL);
	char *pty = start_console(h);
	pid_t guest;
	int fd = open_pty(h);

	/* written before the guest's driver is up: kept, not dropped */
	write_pattern(fd, 9, 1000);
	guest = ih_guest_bg(h, NULL, 1, CON_ADDR, CON_IRQ, "console-recv", "--bytes", "524288",
			    "--seed", "9", NULL);
	{
		/* the rest of the pattern, from offset 1000 */
		int64_t deadline = mono_ms() + 2 * IH_TIMEOUT_MS;
		uint8_t buf[4096];
		uint64_t off = 1000;

		while (off < 524288) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			size_t n = (size_t)MIN(524288 - off, (uint64_t)sizeof(buf));
			ssize_t k;

			if (mono_ms() > deadline)
				fail_msg("the console took %llu bytes", (unsigned long long)off);
			if (poll(&p, 1, 100) <= 0)
				continue;
			wl_pattern_fill(9, off, buf, n);
			k = write(fd, buf, n);
			if (k < 0 && errno == EAGAIN)
				continue;
			assert_true(k > 0);
			off += (uint64_t)k;
		}
	}
	assert_int_equal(ih_wait_bg(h, guest, 2 * IH_TIMEOUT_MS), 0);
	close(fd);
	free(pty);
	ih_stop(h);
}

/* hvctl console 1: piped stdin reaches the guest; what the guest sent is
 * printed. */

/* what the tests' "console-send --bytes 3000 --seed 12" sends */
#define SENT 3000

/* hvctl console (argv) prints exactly what that sent; data: a scratch
 * buffer of SENT bytes. */
static void expect_console_send(struct ih *h, const char *const *argv, uint8_t *data)
{
	struct ih_out o;

	if (ih_run(h, NULL, &o, argv) != 0)
		fail_msg("hvctl console 1: %s", o.err);
	assert_int_equal(o.out_len, SENT);
	wl_pattern_fill(12, 0, data, SENT);
	assert_memory_equal(o.out, data, SENT);
	ih_out_free(&o);
}
static void test_hvctl_console(void **state)
{
	enum {
		IN = 100000,
		OUT = SENT
	};
	struct ih *h = ih_start(NULL);
	char *pty = start_console(h), *in_path = ih_path(h, "stdin.bin");
	const char *argv[] = {ih_bin_hvctl(), "console", "1", NULL};
	uint8_t *data = malloc(IN);
	struct ih_exec x = {0};
	struct ih_out o;
	pid_t guest;

	/* stdin -> guest */
	assert_non_null(data);
	wl_pattern_fill(11, 0, data, IN);
	ih_write_file(in_path, data, IN, 0600);
	guest = ih_guest_bg(h, NULL, 1, CON_ADDR, CON_IRQ, "console-recv", "--bytes", "100000",
			    "--seed", "11", NULL);
	x.stdin_fd = open(in_path, O_RDONLY | O_CLOEXEC);
	assert_true(x.stdin_fd > 0);
	if (ih_run(h, &x, &o, argv) != 0)
		fail_msg("hvctl console 1: %s", o.err);
	close(x.stdin_fd);
	ih_out_free(&o);
	assert_int_equal(ih_wait_bg(h, guest, IH_TIMEOUT_MS), 0);

	/* guest -> stdout: the bytes wait in the pty until someone reads */
	guest = ih_guest_bg(h, NULL, 1, CON_ADDR, CON_IRQ, "console-send", "--bytes", "3000",
			    "--seed", "12", NULL);
	assert_int_equal(ih_wait_bg(h, guest, IH_TIMEOUT_MS), 0);
	expect_console_send(h, argv, data);

	/* a zone without a console */
	assert_int_equal(ih_hvctl(h, &o, "console", "2", NULL), 1);
	assert_non_null(strstr(o.err, "no virtio console"));
	ih_out_free(&o);

	free(data);
	free(in_path);
	free(pty);
	ih_stop(h);
}

/* hvctl console by someone who may not open the pty: the error says who
 * may attach; a member of group hvisor may. Needs root (to become uid
 * 65534) and the group. */
static void test_hvctl_console_denied(void **state)
{
	const char *argv[] = {ih_bin_hvctl(), "console", "1", NULL};
	struct group *g = getgrnam("hvisor");
	struct ih *h;
	char *pty, *want;
	struct ih_out o;

	if (geteuid() != 0 || !g)
		skip_because("needs root and a group 'hvisor'");
	h = ih_start(NULL);
	pty = start_console(h);
	assert_int_equal(chmod(h->dir, 0755), 0); /* nobody must reach the socket */
	{
		const struct ih_exec nobody = {.uid = 65534, .gid = 65534};

		assert_int_equal(ih_run(h, &nobody, &o, argv), 1);
		assert_true(
			asprintf(&want,
				 "cannot open zone 1's console %s: Permission denied (only root "
				 "and members of group 'hvisor' may attach)",
				 pty) > 0);
		if (!strstr(o.err, want))
			fail_msg("hvctl console as nobody said: %s", o.err);
		free(want);
		ih_out_free(&o);
	}
	{
		const gid_t groups[] = {g->gr_gid};
		const struct ih_exec member = {
			.uid = 65534, .gid = 65534, .groups = groups, .n_groups = 1};

		assert_int_equal(ih_run(h, &member, &o, argv), 0);
		ih_out_free(&o);
	}
	free(pty);
	ih_stop(h);
}

/* Is `path` one of pid's open files? */
static bool has_open(pid_t pid, const char *path)
{
	char dir[64], link[PATH_MAX], target[PATH_MAX];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		ssize_t k;

		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		k = readlink(link, target, sizeof(target) - 1);
		if (k > 0) {
			target[k] = '\0';
			found = strcmp(target, path) == 0;
		}
	}
	closedir(d);
	return found;
}

/* hvctl console whose output closed (a pipe without reader): what the
 * guest sends then is not taken from the pty and lost, hvctl says the
 * output closed, and the next hvctl console gets every byte. */
static void test_hvctl_console_output_closed(void **state)
{
	struct ih *h = ih_start(NULL);
	char *pty = start_console(h), *errlog = ih_path(h, "console.err"), *err;
	const char *argv[] = {ih_bin_hvctl(), "console", "1", NULL};
	uint8_t *data = malloc(SENT);
	int in[2], out[2], lf, status;
	pid_t pid, guest;
	int64_t deadline;

	assert_non_null(data);
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	lf = open(errlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(lf >= 0);
	close(out[0]); /* nobody reads hvctl's output */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0); /* open, and silent: hvctl stays attached */
		dup2(out[1], 1);
		dup2(lf, 2);
		setenv("HVISOR_SOCKET", h->sock, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(lf);
	/* attached once it holds the pty */
	deadline = mono_ms() + IH_TIMEOUT_MS;
	while (!has_open(pid, pty)) {
		assert_true(mono_ms() < deadline);
		assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
		usleep(1000);
	}
	guest = ih_guest_bg(h, NULL, 1, CON_ADDR, CON_IRQ, "console-send", "--bytes", "3000",
			    "--seed", "12", NULL);
	assert_int_equal(ih_wait_bg(h, guest, IH_TIMEOUT_MS), 0);
	/* hvctl ends with an error, neither killed by SIGPIPE nor silent */
	status = ih_waitpid(pid, IH_TIMEOUT_MS);
	close(in[1]);
	err = ih_read_file(errlog, NULL);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 1 || !strstr(err, "the output closed"))
		fail_msg("hvctl console: status 0x%x, stderr: %s", status, err);
	free(err);
	/* every byte is still there for the next one */
	expect_console_send(h, argv, data);
	free(data);
	free(errlog);
	free(pty);
	ih_stop(h);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_console_echo, ih_reap),
		cmocka_unit_test_setup(test_console_slow_reader, ih_reap),
		cmocka_unit_test_setup(test_console_to_guest, ih_reap),
		cmocka_unit_test_setup(test_hvctl_console, ih_reap),
		cmocka_unit_test_setup(test_hvctl_console_denied, ih_reap),
		cmocka_unit_test_setup(test_hvctl_console_output_closed, ih_reap),
	};

	ih_init(argc, argv);
	ih_need_virtio();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
