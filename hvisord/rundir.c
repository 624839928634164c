// SPDX-License-Identifier: GPL-2.0-only
/*
 * The runtime directory (/run/hvisor): the control socket and one zone<N>/
 * per zone with a console (its pty published as zone<N>/console). hvisord,
 * often root, creates entries there, so it only uses a directory nobody
 * else can change under it: owned by hvisord's uid, not writable by
 * others, and writable by its group only if that group is root's (gid 0),
 * e.g. root:root 0755 or root:hvisor 0750 but not root:hvisor 0770 (the
 * members of group hvisor may start zones, not plant links for root). The
 * same holds for every zone<N>/ inside, which must be a real directory.
 * Entries are made relative to the directory's descriptor (mkdirat,
 * symlinkat, unlinkat), never through a symlink.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvisord.h"
#include "log.h"
#include "util.h"

/* Why st (of path) is no place for hvisord's entries, or NULL. */
static const char *untrusted(const struct stat *st, const char *path, char *buf, size_t size)
{
	if (!S_ISDIR(st->st_mode))
		snprintf(buf, size, "%s is not a directory", path);
	else if (st->st_uid != geteuid())
		snprintf(buf, size, "%s is owned by uid %u, not by hvisord's uid %u", path,
			 (unsigned)st->st_uid, (unsigned)geteuid());
	else if (st->st_mode & S_IWOTH)
		snprintf(buf, size, "%s is writable by others (mode %04o)", path,
			 (unsigned)(st->st_mode & 07777));
	else if ((st->st_mode & S_IWGRP) && st->st_gid != 0)
		snprintf(buf, size, "%s is writable by group %u (mode %04o), which is not root's",
			 path, (unsigned)st->st_gid, (unsigned)(st->st_mode & 07777));
	else
		return NULL;
	return buf;
}

/* name inside dirfd (shown as path), opened as a directory without
 * following a symlink and checked; -errno and the reason in errbuf. */
static int open_trusted(int dirfd, const char *name, const char *path, char *errbuf, size_t errsize)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		int r = negative_errno();

		if (r == -ELOOP || r == -ENOTDIR)
			snprintf(errbuf, errsize, "%s is %s, not a directory", path,
				 fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
						 S_ISLNK(st.st_mode)
					 ? "a symlink"
					 : "some other file");
		else
			snprintf(errbuf, errsize, "%s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		int r = negative_errno();

		snprintf(errbuf, errsize, "%s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	if (untrusted(&st, path, errbuf, errsize)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

static bool is_zone_dir_name(const char *name)
{
	unsigned id;
	char end;

	return sscanf(name, "zone%u%c", &id, &end) == 1;
}

/* Every zone<N> a previous run left must be as trusted as the directory. */
static int check_zone_dirs(struct daemon *d, char *errbuf, size_t errsize)
{
	int fd = fcntl(d->runtime_fd, F_DUPFD_CLOEXEC, 3), r = 0;
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!dir) {
		r = negative_errno();
		safe_close(fd);
		snprintf(errbuf, errsize, "%s: %s", d->runtime_dir, strerror(-r));
		return r;
	}
	while (r >= 0 && (e = readdir(dir))) {
		char path[PATH_MAX];

		if (!is_zone_dir_name(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", d->runtime_dir, e->d_name);
		r = open_trusted(d->runtime_fd, e->d_name, path, errbuf, errsize);
		safe_close(r);
	}
	closedir(dir);
	return r < 0 ? r : 0;
}

int rundir_open(struct daemon *d)
{
	char why[PATH_MAX + 128];
	int r = mkdir_p(d->runtime_dir, 0755);

	if (r < 0)
		return log_errno(LOG_ERR, r, "cannot create runtime directory %s", d->runtime_dir);
	r = open_trusted(AT_FDCWD, d->runtime_dir, d->runtime_dir, why, sizeof(why));
	if (r >= 0) {
		d->runtime_fd = r;
		r = check_zone_dirs(d, why, sizeof(why));
	}
	if (r < 0) {
		log_err("refusing the runtime directory: %s", why);
		return r;
	}
	return 0;
}

void rundir_close(struct daemon *d)
{
	d->runtime_fd = safe_close(d->runtime_fd);
}

int rundir_zone_open(struct daemon *d, uint32_t zone_id, bool create, char *errbuf, size_t errsize)
{
	char name[32], path[PATH_MAX];

	snprintf(name, sizeof(name), "zone%u", zone_id);
	snprintf(path, sizeof(path), "%s/%s", d->runtime_dir, name);
	if (create && mkdirat(d->runtime_fd, name, 0755) < 0 && errno != EEXIST) {
		snprintf(errbuf, errsize, "cannot create %s: %m", path);
		return negative_errno();
	}
	return open_trusted(d->runtime_fd, name, path, errbuf, errsize);
}

void rundir_zone_remove(struct daemon *d, uint32_t zone_id)
{
	char name[32];

	snprintf(name, sizeof(name), "zone%u", zone_id);
	if (unlinkat(d->runtime_fd, name, AT_REMOVEDIR) < 0 && errno != ENOTEMPTY &&
	    errno != EEXIST && errno != ENOENT)
		log_warn("cannot remove %s/%s: %m", d->runtime_dir, name);
}
