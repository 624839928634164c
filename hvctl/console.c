// SPDX-License-Identifier: GPL-2.0-only
/* hvctl console ZONE: attach the terminal to a zone's virtio-console pty.
 * Ctrl-] detaches; the console device keeps running. Without a terminal
 * (scripts), stdin is sent until EOF and output printed until then. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "hvctl.h"
#include "util.h"

#define ESCAPE 0x1d /* Ctrl-] */

/* The pty of the zone's console (first, or the one at addr). */
static int find_pty(struct hvctl *h, uint32_t zone, bool have_addr, uint64_t addr, char *buf,
		    size_t size)
{
	json_object *params = zone_params(zone), *reply = NULL, *devs;
	int r;

	r = hvctl_call1(h, VL_IFACE_VIRTIO ".List", params, NULL, 0, &reply);
	if (r != EXIT_OK)
		return r;
	r = EXIT_FAILED;
	if (json_object_object_get_ex(vl_reply_parameters(reply), "devices", &devs))
		for (size_t i = 0; i < json_object_array_length(devs); i++) {
			json_object *d = json_object_array_get_idx(devs, i);
			const char *type = json_str(d, "type"), *pty = json_str(d, "pty");

			if (!type || strcmp(type, "console") || !pty ||
			    (have_addr && json_u64(d, "addr") != addr))
				continue;
			snprintf(buf, size, "%s", pty);
			r = EXIT_OK;
			break;
		}
	if (r != EXIT_OK)
		fprintf(stderr, "%s: zone %u has no virtio console%s\n", h->prog, zone,
			have_addr ? " at that address" : "");
	json_object_put(reply);
	return r;
}

/* Why the pty cannot be opened; for a permission problem, who may open it
 * (hvisord gives it to group HVISOR_GROUP, docs/devices.md). */
static int open_failed(struct hvctl *h, uint32_t zone, const char *pty)
{
	int e = errno;
	char who[160] = "root";
	struct passwd *pw;
	struct group *gr;
	struct stat st;

	if ((e == EACCES || e == EPERM) && stat(pty, &st) == 0) {
		pw = getpwuid(st.st_uid);
		gr = getgrgid(st.st_gid);
		if (st.st_uid != 0)
			snprintf(who + 4, sizeof(who) - 4, ", %s", pw ? pw->pw_name : "its owner");
		if ((st.st_mode & (S_IRGRP | S_IWGRP)) == (S_IRGRP | S_IWGRP))
			snprintf(who + strlen(who), sizeof(who) - strlen(who),
				 " and members of group '%s'", gr ? gr->gr_name : "?");
		fprintf(stderr, "%s: cannot open zone %u's console %s: %s (only %s may attach)\n",
			h->prog, zone, pty, strerror(e), who);
		return EXIT_FAILED;
	}
	fprintf(stderr, "%s: cannot open zone %u's console %s: %s\n", h->prog, zone, pty,
		strerror(e));
	return EXIT_FAILED;
}

/* The console's output to stdout: > 0 bytes moved, 0 nothing (EOF, EIO,
 * EAGAIN), -1 and a message when stdout fails. Into a pipe the bytes are
 * spliced: they leave the pty only as the pipe takes them, so when its
 * reader is gone (EPIPE) they stay in the pty for the next attach. */
static int copy_out(struct hvctl *h, int pty, bool *splice_ok)
{
	char buf[4096];
	ssize_t k;
	int r;

	if (*splice_ok) {
		k = splice(pty, NULL, STDOUT_FILENO, NULL, 65536, 0);
		if (k >= 0 || errno == EAGAIN || errno == EINTR || errno == EIO)
			return k > 0 ? (int)k : 0;
		if (errno == EPIPE) {
			fprintf(stderr,
				"%s: the output closed; the console's output stays unread\n",
				h->prog);
			return -1;
		}
		*splice_ok = false; /* a kernel without splice for ttys */
	}
	k = read(pty, buf, sizeof(buf));
	if (k <= 0)
		return 0;
	r = write_full(STDOUT_FILENO, buf, (size_t)k);
	if (r < 0) {
		fprintf(stderr, "%s: cannot write the console's output: %s (%zd bytes lost)\n",
			h->prog, strerror(-r), k);
		return -1;
	}
	return (int)k;
}

static int cmd_console(struct hvctl *h, const struct command *cmd, const struct cmd_args *a);

const struct command console_commands[] = {
	{"console", "ZONE [ADDR]", "attach to a zone's virtio console (Ctrl-] detaches)",
	 "ADDR picks one of several consoles. Needs read/write access to the pty\n"
	 "(root or group " HVISOR_GROUP ").\n",
	 0, 1, 2, cmd_console},
	{},
};

/* The pty is non-blocking: wait for room rather than drop. -1 on an error. */
static int write_pty(int fd, const char *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, buf + off, len - off);

		if (w < 0 && errno == EAGAIN) {
			struct pollfd o = {fd, POLLOUT, 0};

			poll(&o, 1, 100);
			continue;
		}
		if (w < 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* What is typed (or piped in) to the console: 1 after Ctrl-] on a
 * terminal, -1 on an error, else 0; *stdin_open false at its end. */
static int copy_in(int fd, bool tty, bool *stdin_open)
{
	char buf[4096], *esc;
	ssize_t m = read(STDIN_FILENO, buf, sizeof(buf));

	if (m <= 0) {
		*stdin_open = false; /* print what is still coming, then leave */
		return 0;
	}
	esc = tty ? memchr(buf, ESCAPE, (size_t)m) : NULL;
	if (esc)
		m = esc - buf;
	if (write_pty(fd, buf, (size_t)m) < 0)
		return -1;
	return esc ? 1 : 0;
}

/* Until Ctrl-], or stdin's end and then a quiet console: the exit status. */
static int console_loop(struct hvctl *h, int fd, bool tty)
{
	bool stdin_open = true, splice_ok;
	struct stat out;

	splice_ok = fstat(STDOUT_FILENO, &out) == 0 && S_ISFIFO(out.st_mode);
	for (;;) {
		struct pollfd p[2] = {{fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
		int k = poll(p, stdin_open ? 2 : 1, stdin_open ? -1 : 200);

		if ((k < 0 && errno != EINTR) || k == 0)
			return EXIT_OK; /* k == 0: stdin closed and the console quiet */
		if ((p[0].revents & (POLLIN | POLLHUP)) && copy_out(h, fd, &splice_ok) < 0)
			return EXIT_FAILED;
		if (stdin_open && (p[1].revents & (POLLIN | POLLHUP))) {
			k = copy_in(fd, tty, &stdin_open);
			if (k)
				return k < 0 ? EXIT_FAILED : EXIT_OK;
		}
	}
}

static int cmd_console(struct hvctl *h, const struct command *cmd, const struct cmd_args *a)
{
	struct termios saved, raw;
	bool tty = isatty(STDIN_FILENO);
	uint64_t addr = 0;
	uint32_t zone;
	char pty[64];
	int fd, r;

	if (parse_zone_id(h, a->pos[0], &zone) != EXIT_OK)
		return EXIT_USAGE;
	if (a->n == 2 && parse_u64(a->pos[1], UINT64_MAX, &addr) < 0) {
		fprintf(stderr, "%s: '%s' is not an address\n", h->prog, a->pos[1]);
		return EXIT_USAGE;
	}
	r = find_pty(h, zone, a->n == 2, addr, pty, sizeof(pty));
	if (r != EXIT_OK)
		return r;
	/* a closed output is an error to report, with the terminal restored */
	signal(SIGPIPE, SIG_IGN);
	fd = open(pty, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return open_failed(h, zone, pty);
	if (tty) {
		fprintf(stderr, "Connected to zone %u's console (%s). Detach with Ctrl-].\r\n",
			zone, pty);
		tcgetattr(STDIN_FILENO, &saved);
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	r = console_loop(h, fd, tty);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		fprintf(stderr, "\nDetached from zone %u's console.\n", zone);
	}
	close(fd);
	return r;
}
