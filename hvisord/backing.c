// SPDX-License-Identifier: GPL-2.0-only
/*
 * The backing descriptors a client passes with Virtio.Add, checked before
 * the device is registered: a disk image (opened by the client with its own
 * rights), locked against other writers, and a tap (attached by the client
 * on /dev/net/tun with its own rights, so the kernel's tun rules apply).
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
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "json-util.h"
#include "log.h"
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
static int send_locked(struct conn *c, const char *image, const struct vdevice *holder, pid_t pid,
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
	return conn_error(c, vl_error_new(VL_ERROR_VIRTIO_IMAGE_LOCKED, p));
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
	return send_locked(c, image, NULL, pid, msg);
}

static int refuse(struct conn *c, const char *parameter, const char *why)
{
	struct hv_error err;

	hv_error_set(&err, parameter, "%s", why);
	conn_error_invalid(c, NULL, &err);
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
		send_locked(c, image, holder, 0, msg);
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
static const char *tap_problem(const struct hv_virtio_device *spec, int fd, char *buf, size_t size)
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

int backing_tap(struct conn *c, const struct hv_virtio_device *spec, int fd)
{
	char buf[128];
	const char *why = tap_problem(spec, fd, buf, sizeof(buf));

	return why ? refuse(c, "files.tap", why) : 0;
}
