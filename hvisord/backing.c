// SPDX-License-Identifier: GPL-2.0-only
/*
 * The backing descriptors a client passes with Virtio.Add, checked before
 * the device is registered: a disk image (opened by the client with its own
 * rights), locked against other writers, and a tap (attached by the client
 * on /dev/net/tun with its own rights, so the kernel's tun rules apply).
 *
 * A console's backing is a pty made here, published as
 * RUNDIR/zone<N>/console (or console-<addr> for a zone's further ones).
 *
 * Image locks work as QEMU's: an OFD lock on the whole file (or block
 * device node), shared for a read-only device or one with share, exclusive
 * otherwise. An OFD lock belongs to the open file description, which the
 * client, hvisord and every hvisor-virtiod that serves the device share:
 * it holds across the descriptor's handover and across backend restarts,
 * and goes with the last descriptor (the device removed, the client gone
 * after a refused add).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "json-util.h"
#include "log.h"
#include "util.h"
#include "virtio.h"

#define SHARE_HINT "devices share an image only when each is readonly or has share=on"

/* The same file, or the same block device through any node. */
static bool same_image(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) || S_ISBLK(b->st_mode))
		return S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode) && a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static bool wants_exclusive(const struct hv_virtio_device *d)
{
	return !d->readonly && !d->share;
}

static const char *access_name(const struct hv_virtio_device *d)
{
	return d->readonly ? "read-only" : d->share ? "read-write with share=on" : "read-write";
}

/* org.hvisor.Virtio.ImageLocked: who holds the image, as far as known. */
static int fail_locked(struct conn *c, const char *image, const struct vdevice *holder, pid_t pid,
		       const char *message)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "image", json_object_new_string(image));
	if (holder) {
		json_object_object_add(p, "zone_id", json_object_new_int64(holder->spec.zone_id));
		json_object_object_add(p, "addr", json_object_new_uint64(holder->spec.addr));
	}
	if (pid > 0)
		json_object_object_add(p, "pid", json_object_new_int64(pid));
	json_object_object_add(p, "message", json_object_new_string(message));
	return conn_fail(c, vl_error_new(VL_ERROR_VIRTIO_IMAGE_LOCKED, p));
}

/* A device of this hvisord whose use of the same image excludes spec's. */
static const struct vdevice *registry_holder(struct daemon *d, const struct hv_virtio_device *spec,
					     const struct stat *st)
{
	const struct zvirt *zv;
	const struct vdevice *o;
	struct stat ost;

	TAILQ_FOREACH (zv, &d->zvirts, entry)
		TAILQ_FOREACH (o, &zv->devices, entry)
			if (o->spec.type == HV_VIRTIO_BLK && fstat(o->fd, &ost) == 0 &&
			    same_image(st, &ost) &&
			    (wants_exclusive(spec) || wants_exclusive(&o->spec)))
				return o;
	return NULL;
}

/* Another process holds a conflicting lock: name it if the kernel does
 * (a POSIX lock has a pid; an OFD lock, like QEMU's or ours, has none). */
static int refuse_external(struct conn *c, const struct hv_virtio_device *spec, int fd,
			   const char *image)
{
	struct flock fl = {.l_type = wants_exclusive(spec) ? F_WRLCK : F_RDLCK,
			   .l_whence = SEEK_SET};
	pid_t pid = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK ? fl.l_pid : 0;
	char msg[512], who[64] = "";

	if (pid > 0)
		snprintf(who, sizeof(who), " (pid %d)", (int)pid);
	snprintf(msg, sizeof(msg),
		 "cannot get the %s lock on '%s': another process%s is using the image; %s",
		 wants_exclusive(spec) ? "write" : "shared", image, who, SHARE_HINT);
	return fail_locked(c, image, NULL, pid, msg);
}

static int refuse(struct conn *c, const char *parameter, const char *why)
{
	struct hv_error err;

	hv_error_set(&err, parameter, "%s", why);
	conn_fail_invalid(c, NULL, &err);
	return -EINVAL;
}

int backing_image(struct conn *c, struct daemon *d, const struct hv_virtio_device *spec, int fd,
		  json_object *warnings)
{
	struct flock fl = {.l_type = wants_exclusive(spec) ? F_WRLCK : F_RDLCK,
			   .l_whence = SEEK_SET};
	const struct vdevice *holder;
	const char *why;
	char image[256], other[256], as[300] = "", msg[1024];
	struct stat st;
	int r;

	/* it allows what hvisor-virtiod will do: read, and unless readonly,
	 * write in place */
	why = passed_file_problem(fd, !spec->readonly, &st);
	if (why)
		return refuse(c, "files.img", why);
	hv_printable(spec->img ? spec->img : "", image, sizeof(image));
	/* our own devices first: they can be named, and a client may pass
	 * the description of one twice, which its lock would not refuse */
	holder = registry_holder(d, spec, &st);
	if (holder) {
		hv_printable(holder->backing, other, sizeof(other));
		if (strcmp(image, other) != 0)
			snprintf(as, sizeof(as), " (as '%s')", other);
		snprintf(msg, sizeof(msg), "'%s' is attached %s to zone %u's blk at 0x%llx%s; %s",
			 image, access_name(&holder->spec), holder->spec.zone_id,
			 (unsigned long long)holder->spec.addr, as, SHARE_HINT);
		fail_locked(c, image, holder, 0, msg);
		return -EBUSY;
	}
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	r = -errno;
	if (r == -EAGAIN || r == -EACCES) {
		refuse_external(c, spec, fd, image);
		return -EBUSY;
	}
	/* a filesystem without locks (some network or FUSE ones): served
	 * unprotected, as QEMU's locking=auto does, and said so */
	snprintf(msg, sizeof(msg), "'%s' cannot be locked (%s): other writers are not kept out",
		 image, strerror(-r));
	log_warn("zone %u: %s", spec->zone_id, msg);
	json_object_array_add(warnings, json_object_new_string(msg));
	return 0;
}

/* The reason a tap descriptor does not fit spec, or NULL. */
const char *backing_tap_problem(const struct hv_virtio_device *spec, int fd, char *buf, size_t size)
{
	struct ifreq ifr = {0};
	char raw[IFNAMSIZ + 1], name[IFNAMSIZ + 1];

	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return errno == EBADFD ? "a /dev/net/tun descriptor attached to no interface"
				       : "not a /dev/net/tun descriptor";
	memcpy(raw, ifr.ifr_name, IFNAMSIZ);
	raw[IFNAMSIZ] = '\0';
	hv_printable(raw, name, sizeof(name));
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TAP)
		snprintf(buf, size, "'%s' is a tun interface, not a tap", name);
	else if (strncmp(ifr.ifr_name, spec->tap, IFNAMSIZ) != 0)
		snprintf(buf, size, "attached to tap '%s', but the device names tap '%s'", name,
			 spec->tap);
	/* what hvisor-virtiod's frames look like: a vnet header, no packet info */
	else if (!(ifr.ifr_flags & IFF_NO_PI) || !(ifr.ifr_flags & IFF_VNET_HDR))
		snprintf(buf, size, "tap '%s' is not attached with IFF_NO_PI | IFF_VNET_HDR", name);
	else
		return NULL;
	return buf;
}

void backing_unlock(const struct vdevice *dev, int fd)
{
	struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET};

	if (dev->spec.type == HV_VIRTIO_BLK && fd >= 0)
		(void)fcntl(fd, F_OFD_SETLK, &fl);
}

int backing_tap(struct conn *c, const struct hv_virtio_device *spec, int fd)
{
	char buf[128];
	const char *why = backing_tap_problem(spec, fd, buf, sizeof(buf));

	return why ? refuse(c, "files.tap", why) : 0;
}

/* A pty for a console: the master for the backend, the slave held open
 * here (raw, so the guest's bytes reach a terminal unchanged), group
 * HVISOR_GROUP may open it (hvctl console). */
static int open_pty(struct vdevice *dev, struct hv_error *err)
{
	struct termios tio;
	struct group *g;
	int master, slave;
	char *name;

	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    !(name = ptsname(master))) {
		hv_error_set(err, "device", "cannot create a pty: %m");
		safe_close(master);
		return -EIO;
	}
	snprintf(dev->pty, sizeof(dev->pty), "%s", name);
	slave = open(dev->pty, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0) {
		hv_error_set(err, "device", "cannot open %s: %m", dev->pty);
		close(master);
		return -EIO;
	}
	if (tcgetattr(slave, &tio) == 0) {
		cfmakeraw(&tio);
		(void)tcsetattr(slave, TCSANOW, &tio);
	}
	g = getgrnam(HVISOR_GROUP);
	if (g && (fchown(slave, (uid_t)-1, g->gr_gid) < 0 || fchmod(slave, 0660) < 0))
		log_warn("%s: cannot give group hvisor access: %m", dev->pty);
	dev->fd = master;
	dev->pty_slave = slave;
	return 0;
}

/* RUNDIR/zone<N>/console (the zone's first console) or console-<addr>. */
void backing_publish_console(struct daemon *d, struct zvirt *zv, struct vdevice *dev)
{
	char name[32], err[PATH_MAX + 128];
	const struct vdevice *o;
	bool first = true;
	int zfd;

	TAILQ_FOREACH (o, &zv->devices, entry)
		if (o != dev && o->spec.type == HV_VIRTIO_CONSOLE && o->link[0])
			first = false;
	if (first)
		snprintf(name, sizeof(name), "console");
	else
		snprintf(name, sizeof(name), "console-%llx", (unsigned long long)dev->spec.addr);
	zfd = rundir_zone_open(d, zv->zone_id, true, err, sizeof(err));
	if (zfd < 0) {
		log_warn("cannot publish zone %u's console: %s", zv->zone_id, err);
	} else {
		(void)unlinkat(zfd, name, 0);
		if (symlinkat(dev->pty, zfd, name) < 0)
			log_warn("cannot publish %s/zone%u/%s: %m", d->runtime_dir, zv->zone_id,
				 name);
		else
			snprintf(dev->link, sizeof(dev->link), "%.4000s/zone%u/%s", d->runtime_dir,
				 zv->zone_id, name);
		close(zfd);
	}
	/* the line upstream scripts grep for */
	log_notice("zone %u console %#llx: char device redirected to %s", zv->zone_id,
		   (unsigned long long)dev->spec.addr, dev->pty);
}

/* Before a console is added: its zone<N>/ can be used (made now if
 * needed; a removal of the device or a failed add takes it away again).
 * If not, org.hvisor.Internal names the path and what is wrong with it. */
static int check_console_dir(struct conn *c, struct daemon *d, uint32_t zone_id)
{
	char why[PATH_MAX + 128];
	int zfd = rundir_zone_open(d, zone_id, true, why, sizeof(why));

	if (zfd < 0) {
		conn_failf(c, VL_ERROR_INTERNAL, "cannot publish the console: %s", why);
		return zfd;
	}
	close(zfd);
	return 0;
}

/* The descriptor passed for files.<key>, or -1. */
static int passed_fd(json_object *files, const char *key, const int *fds, size_t n_fds)
{
	json_object *idx;

	if (!files || !json_object_object_get_ex(files, key, &idx) ||
	    !json_object_is_type(idx, json_type_int) || json_object_get_int64(idx) < 0 ||
	    json_object_get_int64(idx) >= (int64_t)n_fds)
		return -1;
	return fds[json_object_get_int64(idx)];
}

/* A descriptor the client opened with its own rights (an image, a tap),
 * checked, or a pty made here: into dev->fd. 0, or the error was sent. */
int backing_take(struct conn *c, struct vdevice *dev, json_object *files, const int *fds,
		 size_t n_fds, json_object *warnings)
{
	const struct hv_virtio_device *spec = &dev->spec;
	bool blk = spec->type == HV_VIRTIO_BLK;
	struct hv_error err;
	int fd, r;

	if (spec->type == HV_VIRTIO_CONSOLE) {
		r = check_console_dir(c, conn_daemon(c), spec->zone_id);
		if (r < 0)
			return r;
		if (open_pty(dev, &err) < 0)
			return conn_fail_invalid(c, NULL, &err), -EIO;
		snprintf(dev->backing, sizeof(dev->backing), "%s", dev->pty);
		return 0;
	}
	fd = passed_fd(files, blk ? "img" : "tap", fds, n_fds);
	if (fd < 0) {
		if (blk)
			hv_error_set(&err, "files.img",
				     "pass the image '%s' as a file descriptor with the call",
				     spec->img ? spec->img : "");
		else
			hv_error_set(
				&err, "files.tap",
				"pass the tap '%s' as a descriptor with the call (/dev/net/tun "
				"attached to it, opened with your own rights)",
				spec->tap);
		return conn_fail_invalid(c, NULL, &err);
	}
	r = blk ? backing_image(c, conn_daemon(c), spec, fd, warnings) : backing_tap(c, spec, fd);
	if (r < 0)
		return r;
	snprintf(dev->backing, sizeof(dev->backing), "%s", blk ? (spec->img ?: "") : spec->tap);
	dev->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dev->fd < 0) {
		conn_failf(c, VL_ERROR_INTERNAL, "cannot keep the backing descriptor: %m");
		return -EMFILE;
	}
	return 0;
}

/* A removed console's link goes (through the checked zone<N>/, never a
 * symlink), and with the zone's last one the directory itself. */
void backing_unpublish_console(struct daemon *d, struct vdevice *dev)
{
	char err[PATH_MAX + 128];
	int zfd;

	if (dev->spec.type != HV_VIRTIO_CONSOLE || !dev->spec.has_zone_id)
		return;
	if (dev->link[0]) {
		zfd = rundir_zone_open(d, dev->spec.zone_id, false, err, sizeof(err));
		if (zfd < 0 ||
		    (unlinkat(zfd, strrchr(dev->link, '/') + 1, 0) < 0 && errno != ENOENT))
			log_warn("cannot remove %s: %s", dev->link,
				 zfd < 0 ? err : strerror(errno));
		safe_close(zfd);
		dev->link[0] = '\0';
	}
	rundir_zone_remove(d, dev->spec.zone_id);
}
