// SPDX-License-Identifier: GPL-2.0-only
/* Reading the JSON files hvctl is given, and paths relative to them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hvctl.h"
#include "util.h"

static const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFSOCK:
		return "a socket";
	}
	return "not a regular file";
}

int open_named_file(struct hvctl *h, const char *what, const char *name, const char *path,
		    int flags, bool disk, struct stat *ret_st)
{
	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer */
	_cleanup_close_ int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	bool writing = (flags & O_ACCMODE) != O_RDONLY;
	char shown[PATH_MAX + 8] = "";
	struct stat st;
	int r;

	if (strcmp(name, path) != 0)
		snprintf(shown, sizeof(shown), " (%s)", path);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = negative_errno();
		hvctl_error(h, "cannot open %s '%s'%s%s: %s", what, name, shown,
			    writing ? " for writing" : "", strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode) && !(disk && S_ISBLK(st.st_mode))) {
		hvctl_error(h, "%s '%s'%s is %s, not a regular file%s", what, name, shown,
			    file_kind(st.st_mode), disk ? " or a block device" : "");
		return -EINVAL;
	}
	/* the reader of the descriptor expects blocking I/O */
	r = fd_set_nonblock(fd, false);
	if (r < 0)
		return r;
	if (ret_st)
		*ret_st = st;
	return TAKE_FD(fd);
}

int read_config_file(struct hvctl *h, const char *path, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st = {0};
	size_t max;
	ssize_t n;

	fd = open_named_file(h, "config", path, path, O_RDONLY, false, &st);
	if (fd < 0)
		return EXIT_FAILED;
	/* one byte more than allowed tells the parser it is too large */
	max = MIN((uint64_t)st.st_size, (uint64_t)HV_CONFIG_MAX_TEXT + 1);
	buf = malloc(max + 1);
	if (!buf)
		return EXIT_FAILED;
	n = read_full(fd, buf, max);
	if (n < 0) {
		fprintf(stderr, "%s: cannot read config '%s': %s\n", h->prog, path,
			strerror((int)-n));
		return EXIT_FAILED;
	}
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = (size_t)n;
	return EXIT_OK;
}

void file_dir(const char *path, char *buf, size_t size)
{
	char *slash;

	snprintf(buf, size, "%s", path);
	slash = strrchr(buf, '/');
	if (slash)
		slash[slash == buf ? 1 : 0] = '\0';
	else
		buf[0] = '\0';
}

int resolve_path(const char *dir, const char *path, char *buf, size_t size)
{
	int k;

	if (path[0] == '/' || !dir || !dir[0])
		k = snprintf(buf, size, "%s", path);
	else
		k = snprintf(buf, size, "%s/%s", dir, path);
	return k < 0 || (size_t)k >= size ? -ENAMETOOLONG : 0;
}
