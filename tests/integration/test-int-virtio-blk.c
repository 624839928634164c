// SPDX-License-Identifier: GPL-2.0-only
/* virtio-blk through the whole stack: hvctl virtio add -> hvisord ->
 * hvisor-virtiod, driven by hvsim-guest and by this process as the guest
 * (libhvguest): data integrity against the image file, GET_ID, capacity,
 * read-only images, a block device as the image. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/loop.h>
#include <linux/virtio_blk.h>

#include "harness.h"
#include "util.h"

#define BLK_ADDR 0xa003c00
#define BLK_IRQ	 78
#define SECTOR	 512

static char *blk_spec(const char *img, const char *extra)
{
	char *s;

	assert_true(asprintf(&s, "blk,addr=0x%x,len=0x200,irq=%d,img=%s%s", BLK_ADDR, BLK_IRQ, img,
			     extra) > 0);
	return s;
}

static void add_blk(struct ih *h, const char *img, const char *extra)
{
	char *spec = blk_spec(img, extra);
	struct ih_out o;

	if (ih_hvctl(h, &o, "virtio", "add", "1", spec, NULL) != 0)
		fail_msg("hvctl virtio add 1 %s: %s", spec, o.err);
	/* the reply names the device and says it is served */
	assert_non_null(strstr(o.out, "blk device at 0xa003c00"));
	assert_non_null(strstr(o.out, "running"));
	ih_out_free(&o);
	free(spec);
}

/* hvctl virtio add ZONE blk,addr=ADDR,...,img=IMG[EXTRA]: its exit code,
 * stderr into err (malloc'd) if err. */
static int try_add(struct ih *h, uint32_t zone, uint64_t addr, const char *img, const char *extra,
		   char **err)
{
	char spec[512], zs[16];
	struct ih_out o;
	int r;

	snprintf(spec, sizeof(spec), "blk,addr=0x%llx,len=0x200,irq=79,img=%s%s",
		 (unsigned long long)addr, img, extra);
	snprintf(zs, sizeof(zs), "%u", zone);
	r = ih_hvctl(h, &o, "virtio", "add", zs, spec, NULL);
	if (err)
		*err = strdup(o.err);
	ih_out_free(&o);
	return r;
}

static void expect_added(struct ih *h, uint32_t zone, uint64_t addr, const char *img,
			 const char *extra)
{
	char *err;

	if (try_add(h, zone, addr, img, extra, &err) != 0)
		fail_msg("zone %u 0x%llx %s%s: %s", zone, (unsigned long long)addr, img, extra,
			 err);
	free(err);
}

/* Refused with ImageLocked, the message containing each of the needles. */
static void expect_locked(struct ih *h, uint32_t zone, uint64_t addr, const char *img,
			  const char *extra, const char *const *needles)
{
	char *err, *before = ih_virtio_list_str(h, 0), *after;

	assert_int_equal(try_add(h, zone, addr, img, extra, &err), 1);
	if (!strstr(err, "org.hvisor.Virtio.ImageLocked"))
		fail_msg("zone %u %s%s: not ImageLocked: %s", zone, img, extra, err);
	for (; *needles; needles++)
		if (!strstr(err, *needles))
			fail_msg("zone %u %s%s: '%s' missing in: %s", zone, img, extra, *needles,
				 err);
	free(err);
	after = ih_virtio_list_str(h, 0);
	assert_string_equal(after, before);
	free(after);
	free(before);
}

#define NEEDLES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* An OFD lock of `type` on the whole file through a new description of
 * path: the descriptor holding it, or -errno (-EAGAIN: a conflict). */
static int ofd_lock(const char *path, short type)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET};
	int fd = open(path, (type == F_WRLCK ? O_RDWR : O_RDONLY) | O_CLOEXEC), r;

	assert_true(fd >= 0);
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return fd;
	r = -errno;
	close(fd);
	return r;
}

/* hvsim-guest blk-verify against an image added with hvctl. */
static void test_blk_verify(void **state)
{
	struct ih *h = ih_start(NULL);
	char *img = ih_make_image(h, "disk.img", 16 << 20);
	json_object *dev, *v;
	struct ih_out o;

	ih_zone_start(h, "zone1");
	add_blk(h, img, ",serial=verify-serial");
	if (ih_guest(h, &o, 1, BLK_ADDR, BLK_IRQ, "--json", "blk-verify", "--count", "300", "--qd",
		     "16", NULL) != 0)
		fail_msg("blk-verify failed: %s\n%s", o.out, o.err);
	{
		json_object *res = json_tokener_parse(o.out);

		assert_non_null(res);
		assert_true(json_object_object_get_ex(res, "ok", &v));
		assert_true(json_object_get_boolean(v));
		assert_true(json_object_object_get_ex(res, "mismatched_sectors", &v));
		assert_int_equal(json_object_get_int64(v), 0);
		assert_true(json_object_object_get_ex(res, "writes", &v));
		assert_int_equal(json_object_get_int64(v), 300);
		assert_true(json_object_object_get_ex(res, "serial", &v));
		assert_string_equal(json_object_get_string(v), "verify-serial");
		assert_true(json_object_object_get_ex(res, "capacity_sectors", &v));
		assert_int_equal(json_object_get_int64(v), (16 << 20) / SECTOR);
		json_object_put(res);
	}
	ih_out_free(&o);

	/* hvisord's view: served, counted, no errors */
	dev = ih_virtio_device(h, 1, BLK_ADDR);
	assert_non_null(dev);
	assert_true(json_object_object_get_ex(dev, "state", &v));
	assert_string_equal(json_object_get_string(v), "running");
	assert_true(json_object_object_get_ex(dev, "requests", &v));
	assert_true(json_object_get_int64(v) >= 300);
	assert_true(json_object_object_get_ex(dev, "errors", &v));
	assert_int_equal(json_object_get_int64(v), 0);
	json_object_put(dev);
	free(img);
	ih_stop(h);
}

static void expect_file(const char *path, uint64_t off, const void *want, size_t len)
{
	uint8_t *got = malloc(len);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_non_null(got);
	assert_true(fd >= 0);
	assert_int_equal(pread_full(fd, got, len, (off_t)off), (ssize_t)len);
	close(fd);
	if (memcmp(got, want, len) != 0) {
		size_t i = 0;

		while (got[i] == ((const uint8_t *)want)[i])
			i++;
		free(got);
		fail_msg("%s differs at byte %llu", path, (unsigned long long)(off + i));
	}
	free(got);
}

/* This process as the guest: what it writes lands in the file at
 * sector * 512, what the file holds is what it reads, GET_ID is the
 * configured serial, the capacity is the file's. */
static void test_blk_guest_precise(void **state)
{
	const size_t size = (3 << 20) + 7 * SECTOR; /* not a power of two */
	struct ih *h = ih_start(NULL);
	char *img = ih_make_image(h, "precise.img", size), *file;
	uint8_t buf[16384], id[VIRTIO_BLK_ID_BYTES];
	const uint64_t last = size / SECTOR - 1;
	struct ih_gblk b;
	size_t flen;

	ih_zone_start(h, "zone1");
	add_blk(h, img, ",serial=IT serial 42");
	ih_gblk_open(h, 1, BLK_ADDR, BLK_IRQ, 4, sizeof(buf), &b);

	/* capacity, and the features a read-write disk offers */
	assert_int_equal(b.capacity, size / SECTOR);
	assert_false(b.features & (1ull << VIRTIO_BLK_F_RO));

	/* the file's contents, read by the guest */
	file = ih_read_file(img, &flen);
	assert_int_equal(flen, size);
	assert_int_equal(ih_gblk_sync(&b, VIRTIO_BLK_T_IN, 100, sizeof(buf), buf), VIRTIO_BLK_S_OK);
	assert_memory_equal(buf, file + 100 * SECTOR, sizeof(buf));
	assert_int_equal(ih_gblk_sync(&b, VIRTIO_BLK_T_IN, last, SECTOR, buf), VIRTIO_BLK_S_OK);
	assert_memory_equal(buf, file + last * SECTOR, SECTOR);

	/* the guest's writes, in the file */
	ih_fill(buf, sizeof(buf), "guest write 1");
	assert_int_equal(ih_gblk_sync(&b, VIRTIO_BLK_T_OUT, 1000, sizeof(buf), buf),
			 VIRTIO_BLK_S_OK);
	expect_file(img, 1000 * SECTOR, buf, sizeof(buf));
	/* its neighbours are untouched */
	expect_file(img, 999 * SECTOR, file + 999 * SECTOR, SECTOR);
	expect_file(img, 1000 * SECTOR + sizeof(buf), file + 1000 * SECTOR + sizeof(buf), SECTOR);
	ih_fill(buf, SECTOR, "guest write last");
	assert_int_equal(ih_gblk_sync(&b, VIRTIO_BLK_T_OUT, last, SECTOR, buf), VIRTIO_BLK_S_OK);
	expect_file(img, last * SECTOR, buf, SECTOR);
	assert_int_equal(ih_gblk_sync(&b, VIRTIO_BLK_T_FLUSH, 0, 0, NULL), VIRTIO_BLK_S_OK);

	/* the file changed behind the guest's back: it reads the new data */
	{
		uint8_t fresh[4 * SECTOR];
		int fd = open(img, O_WRONLY | O_CLOEXEC);

		ih_fill(fresh, sizeof(fresh), "written into the file");
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, fresh, sizeof(fresh), 2000 * SECTOR),
				 (ssize_t)sizeof(fresh));
		close(fd);
		assert_int_equal(ih_gblk_sync(&b, VIRTIO_BLK_T_IN, 2000, sizeof(fresh), buf),
				 VIRTIO_BLK_S_OK);
		assert_memory_equal(buf, fresh, sizeof(fresh));
	}

	/* beyond the end: an error, and the file does not grow */
	assert_int_equal(ih_gblk_sync(&b, VIRTIO_BLK_T_IN, last, 2 * SECTOR, buf),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(ih_gblk_sync(&b, VIRTIO_BLK_T_OUT, last + 1, SECTOR, buf),
			 VIRTIO_BLK_S_IOERR);
	{
		struct stat st;

		assert_int_equal(stat(img, &st), 0);
		assert_int_equal(st.st_size, size);
	}

	/* GET_ID: the serial, NUL-padded */
	memset(id, 0xaa, sizeof(id));
	assert_int_equal(ih_gblk_sync(&b, VIRTIO_BLK_T_GET_ID, 0, sizeof(id), id), VIRTIO_BLK_S_OK);
	assert_memory_equal(id, "IT serial 42\0\0\0\0\0\0\0\0", sizeof(id));

	ih_gblk_close(&b);
	free(file);
	free(img);
	ih_stop(h);
}

/* readonly: hvctl opens the image O_RDONLY, the device offers RO and fails
 * writes; the image is unchanged. Without readonly, a read-only descriptor
 * is refused by hvisord. */
static void test_blk_readonly(void **state)
{
	struct ih *h = ih_start(NULL);
	char *img = ih_make_image(h, "ro.img", 4 << 20);
	uint64_t before = ih_file_hash(img);
	json_object *dev, *v;
	struct ih_out o;

	ih_zone_start(h, "zone1");
	add_blk(h, img, ",readonly");
	dev = ih_virtio_device(h, 1, BLK_ADDR);
	assert_non_null(dev);
	assert_true(json_object_object_get_ex(dev, "readonly", &v));
	assert_true(json_object_get_boolean(v));
	json_object_put(dev);

	if (ih_guest(h, &o, 1, BLK_ADDR, BLK_IRQ, "blk-verify", "--expect-readonly", NULL) != 0)
		fail_msg("blk-verify --expect-readonly failed: %s\n%s", o.out, o.err);
	ih_out_free(&o);
	/* a plain blk-verify must fail on it (the check above means something) */
	assert_int_equal(ih_guest(h, &o, 1, BLK_ADDR, BLK_IRQ, "blk-verify", "--count", "4", NULL),
			 1);
	ih_out_free(&o);
	assert_true(ih_file_hash(img) == before);

	/* this process as the guest: RO offered, a write refused, reads work */
	{
		struct ih_gblk b;
		uint8_t buf[SECTOR];
		size_t len;
		char *file = ih_read_file(img, &len);

		ih_gblk_open(h, 1, BLK_ADDR, BLK_IRQ, 2, sizeof(buf), &b);
		assert_true(b.features & (1ull << VIRTIO_BLK_F_RO));
		memset(buf, 0x5a, sizeof(buf));
		assert_int_equal(ih_gblk_sync(&b, VIRTIO_BLK_T_OUT, 8, SECTOR, buf),
				 VIRTIO_BLK_S_IOERR);
		assert_int_equal(ih_gblk_sync(&b, VIRTIO_BLK_T_IN, 8, SECTOR, buf),
				 VIRTIO_BLK_S_OK);
		assert_memory_equal(buf, file + 8 * SECTOR, SECTOR);
		ih_gblk_close(&b);
		free(file);
	}
	assert_true(ih_file_hash(img) == before);

	/* hvisord refuses a read-only descriptor for a read-write device */
	{
		struct vl_client *c = ih_client(h);
		json_object *params = json_tokener_parse(
			"{\"zone_id\": 1, \"device\": {\"type\": \"blk\", \"addr\": 167787008, "
			"\"len\": 512, \"irq\": 79, \"img\": \"ro.img\"}, \"files\": {\"img\": 0}}");
		int fd = open(img, O_RDONLY | O_CLOEXEC);
		json_object *reply, *p;

		assert_true(fd >= 0);
		reply = ih_call_fds(c, "org.hvisor.Virtio.Add", params, &fd, 1);
		close(fd);
		ih_assert_error(reply, "org.hvisor.InvalidParameter");
		p = vl_reply_parameters(reply);
		assert_true(json_object_object_get_ex(p, "parameter", &v));
		assert_string_equal(json_object_get_string(v), "files.img");
		json_object_put(reply);
		vl_client_free(c);
	}

	/* nothing was added by the refused attempts */
	{
		json_object *devs = ih_virtio_list(h, 1);

		assert_int_equal(json_object_array_length(devs), 1);
		json_object_put(devs);
	}
	assert_true(ih_file_hash(img) == before);
	free(img);
	ih_stop(h);
}

/* hvctl opens the image with the caller's permissions: one the caller may
 * only read cannot be added read-write (and hvisord is not asked). Needs
 * root, to become uid 65534. */
static void test_blk_image_caller_rights(void **state)
{
	const char *argv[] = {ih_bin_hvctl(), "virtio", "add", "1", NULL, NULL};
	const struct ih_exec x = {.uid = 65534, .gid = 65534};
	struct ih *h;
	struct ih_out o;
	char *img, *spec;
	json_object *devs;
	uint64_t before;

	if (geteuid() != 0)
		skip();
	h = ih_start(NULL);
	img = ih_make_image(h, "ro.img", 4096);
	before = ih_file_hash(img);
	assert_int_equal(chmod(h->dir, 0755), 0);
	assert_int_equal(chmod(img, 0644), 0);
	assert_true(asprintf(&spec, "blk,addr=0xa003a00,len=0x200,irq=79,img=%s", img) > 0);
	argv[4] = spec;
	assert_int_equal(ih_run(h, &x, &o, argv), 1);
	if (!strstr(o.err, "cannot open image") || !strstr(o.err, "for writing") ||
	    !strstr(o.err, "Permission denied") || strstr(o.err, "org.hvisor."))
		fail_msg("unclear message: %s", o.err);
	ih_out_free(&o);
	devs = ih_virtio_list(h, 0);
	assert_int_equal(json_object_array_length(devs), 0);
	json_object_put(devs);
	assert_true(ih_file_hash(img) == before);
	free(spec);
	free(img);
	ih_stop(h);
}

/* A loop device on `backing`, its path into path; returns an fd on it,
 * which keeps it: it goes away with its last user (LO_FLAGS_AUTOCLEAR).
 * -errno where there is none to have (not root, no loop driver, a
 * container without the nodes). */
static int loop_attach(const char *backing, char *path, size_t size)
{
	struct loop_info64 info = {.lo_flags = LO_FLAGS_AUTOCLEAR};
	int ctl, fd = -1, bfd, n, r = -EBUSY;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	bfd = open(backing, O_RDWR | O_CLOEXEC);
	assert_true(bfd >= 0);
	/* another process may take the free device first: try again */
	for (int tries = 0; tries < 8 && r == -EBUSY; tries++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			r = -errno;
			break;
		}
		snprintf(path, size, "/dev/loop%d", n);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			break;
		}
		if (ioctl(fd, LOOP_SET_FD, bfd) < 0)
			r = -errno;
		else if (ioctl(fd, LOOP_SET_STATUS64, &info) < 0) {
			r = -errno;
			ioctl(fd, LOOP_CLR_FD, 0);
		} else
			r = 0;
		if (r < 0) {
			close(fd);
			fd = -1;
		}
	}
	close(bfd);
	close(ctl);
	return r < 0 ? r : fd;
}

/* A block device as the image gets an asynchronous engine (io_uring, or
 * threads where it cannot be set up), like a file on a disk: its node
 * lives on devtmpfs, but its data does not live in memory. */
static void test_blk_block_device_engine(void **state)
{
	struct ih *h = ih_start(NULL);
	char *img = ih_make_image(h, "loop-backing.img", 4 << 20);
	char dev_path[64];
	json_object *dev;
	struct ih_out o;
	const char *engine;
	int loop;

	if (geteuid() != 0) {
		ih_stop(h);
		free(img);
		skip_because("needs root (a loop device)");
	}
	loop = loop_attach(img, dev_path, sizeof(dev_path));
	if (loop < 0) {
		ih_stop(h);
		free(img);
		skip_because("no loop device (%s)", strerror(-loop));
	}
	ih_zone_start(h, "zone1");
	add_blk(h, dev_path, "");
	dev = ih_virtio_device(h, 1, BLK_ADDR);
	assert_non_null(dev);
	engine = ih_jstr(dev, "engine");
	if (strcmp(engine, "io_uring") != 0 && strcmp(engine, "threads") != 0)
		fail_msg("%s runs on the %s engine", dev_path, engine);
	assert_string_equal(ih_jstr(dev, "backing"), dev_path);
	assert_int_equal(ih_jint(dev, "capacity_sectors"), (4 << 20) / SECTOR);
	json_object_put(dev);
	/* locked like a file, through any node of the device */
	{
		char *node = ih_path(h, "same-disk");
		struct stat st;

		expect_locked(h, 2, BLK_ADDR, dev_path, ",readonly", NEEDLES("zone 1's blk"));
		assert_int_equal(stat(dev_path, &st), 0);
		assert_int_equal(mknod(node, S_IFBLK | 0600, st.st_rdev), 0);
		expect_locked(h, 2, BLK_ADDR, node, "", NEEDLES("zone 1's blk", "(as '/dev/loop"));
		unlink(node);
		free(node);
	}
	/* and it serves the guest */
	if (ih_guest(h, &o, 1, BLK_ADDR, BLK_IRQ, "blk-verify", "--count", "64", "--qd", "8",
		     NULL) != 0)
		fail_msg("blk-verify on %s failed: %s\n%s", dev_path, o.out, o.err);
	ih_out_free(&o);
	assert_int_equal(ih_hvctl(h, &o, "virtio", "remove", "1", "0xa003c00", NULL), 0);
	ih_out_free(&o);
	close(loop);
	free(img);
	ih_stop(h);
}

/* Virtio.Add with a descriptor of the wrong kind: refused by hvisord with
 * the reason, before the backend sees it. An O_APPEND image would move
 * every write to the end of the file; read-only it is harmless. */
static void test_blk_descriptor_modes(void **state)
{
	static const struct {
		int flags; /* -1: the directory */
		bool readonly;
		const char *message; /* NULL: accepted */
	} cases[] = {
		{O_RDWR | O_APPEND, false,
		 "files.img: opened with O_APPEND, which would move every write to the end"},
		{O_PATH, true, "files.img: opened with O_PATH, which cannot be read"},
		{O_RDONLY, false, "files.img: opened read-only, but the device is not readonly"},
		{-1, true, "files.img: not a regular file or block device"},
		{O_RDONLY | O_APPEND, true, NULL},
	};
	struct ih *h = ih_start(NULL);
	char *img = ih_make_image(h, "disk.img", 1 << 20),
	     *other = ih_make_image(h, "other.img", 4096);
	uint64_t before = ih_file_hash(img);

	ih_zone_start(h, "zone1");
	add_blk(h, other, ""); /* the backend runs */
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vl_client *c = ih_client(h);
		json_object *params, *reply, *p;
		char text[256];
		int fd = cases[i].flags == -1 ? open(h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
					      : open(img, cases[i].flags | O_CLOEXEC);

		assert_true(fd >= 0);
		snprintf(text, sizeof(text),
			 "{\"zone_id\": 1, \"device\": {\"type\": \"blk\", \"addr\": 167787008, "
			 "\"len\": 512, \"irq\": 79, \"img\": \"x.img\", \"readonly\": %s}, "
			 "\"files\": {\"img\": 0}}",
			 cases[i].readonly ? "true" : "false");
		params = json_tokener_parse(text);
		assert_non_null(params);
		reply = ih_call_fds(c, "org.hvisor.Virtio.Add", params, &fd, 1);
		close(fd);
		if (!cases[i].message) {
			ih_ok(reply);
			json_object_put(reply);
			vl_client_free(c);
			continue;
		}
		ih_assert_error(reply, "org.hvisor.InvalidParameter");
		p = vl_reply_parameters(reply);
		assert_string_equal(ih_jstr(p, "parameter"), "files.img");
		if (strcmp(ih_jstr(p, "message"), cases[i].message) != 0)
			fail_msg("case %zu: '%s', expected '%s'", i, ih_jstr(p, "message"),
				 cases[i].message);
		json_object_put(reply);
		vl_client_free(c);
	}
	/* the read-only O_APPEND one was added and works; the image is as it was */
	{
		json_object *devs = ih_virtio_list(h, 1);
		struct ih_out o;

		assert_int_equal(json_object_array_length(devs), 2);
		json_object_put(devs);
		if (ih_guest(h, &o, 1, 0xa003a00, 79, "blk-verify", "--count", "8",
			     "--expect-readonly", NULL) != 0)
			fail_msg("blk-verify: %s\n%s", o.out, o.err);
		ih_out_free(&o);
	}
	assert_true(ih_file_hash(img) == before);
	free(other);
	free(img);
	ih_stop(h);
}

/* Images are locked as QEMU locks them: one read-write device, or any
 * number that are each readonly or have share; within a zone, across
 * zones (pending ones too), and against other processes. Refusals are
 * org.hvisor.Virtio.ImageLocked naming the holder and change nothing. */
static void test_blk_image_locks(void **state)
{
	struct ih *h = ih_start(NULL);
	char *disk = ih_make_image(h, "disk.img", 1 << 20), *ro = ih_make_image(h, "ro.img", 4096);
	char *shared = ih_make_image(h, "shared.img", 4096),
	     *ext = ih_make_image(h, "ext.img", 4096);
	char *msg, pid[32];
	int fd;

	ih_zone_start(h, "zone1");
	add_blk(h, disk, "");
	/* read-write in another zone (pending), or twice in one zone */
	expect_locked(h, 2, BLK_ADDR, disk, "",
		      NEEDLES("is attached read-write to zone 1's blk at 0xa003c00"));
	expect_locked(h, 1, 0xa003a00, disk, "", NEEDLES("attached read-write to zone 1's blk"));
	/* read-only while a device writes it */
	expect_locked(h, 2, BLK_ADDR, disk, ",readonly", NEEDLES("zone 1's blk at 0xa003c00"));
	expect_locked(h, 2, BLK_ADDR, disk, ",share", NEEDLES("zone 1's blk at 0xa003c00"));
	/* readers share; a writer after them is refused */
	expect_added(h, 2, BLK_ADDR, ro, ",readonly");
	expect_added(h, 3, BLK_ADDR, ro, ",readonly");
	expect_locked(h, 4, BLK_ADDR, ro, "", NEEDLES("is attached read-only to zone 2's blk"));
	/* share=on on every writer */
	expect_added(h, 4, BLK_ADDR, shared, ",share=on");
	expect_added(h, 5, BLK_ADDR, shared, ",share");
	expect_added(h, 6, BLK_ADDR, shared, ",readonly");
	expect_locked(h, 7, BLK_ADDR, shared, "",
		      NEEDLES("is attached read-write with share=on to zone 4's blk",
			      "each is readonly or has share=on"));

	/* another process's OFD lock (as QEMU takes them): no pid to name */
	fd = ofd_lock(ext, F_WRLCK);
	assert_true(fd >= 0);
	expect_locked(h, 8, BLK_ADDR, ext, ",readonly",
		      NEEDLES("cannot get the shared lock on", "another process is using"));
	close(fd);
	/* a POSIX lock: the kernel names its process */
	fd = open(ext, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_SETLK, &(struct flock){.l_type = F_RDLCK}), 0);
	snprintf(pid, sizeof(pid), "(pid %d)", (int)getpid());
	expect_locked(h, 8, BLK_ADDR, ext, "", NEEDLES("cannot get the write lock", pid));
	expect_added(h, 8, BLK_ADDR, ext, ",readonly");
	close(fd);
	/* hvisord's devices hold their locks against other processes */
	assert_int_equal(ofd_lock(disk, F_RDLCK), -EAGAIN);
	assert_int_equal(ofd_lock(ro, F_WRLCK), -EAGAIN);
	fd = ofd_lock(ro, F_RDLCK);
	assert_true(fd >= 0);
	close(fd);

	/* the raw error names the holder in its parameters */
	{
		struct vl_client *c = ih_client(h);
		json_object *params = json_tokener_parse(
			"{\"zone_id\": 9, \"device\": {\"type\": \"blk\", \"addr\": 167787520, "
			"\"len\": 512, \"irq\": 78, \"img\": \"again.img\"}, \"files\": {\"img\": 0}}");
		json_object *reply, *p;

		fd = open(disk, O_RDWR | O_CLOEXEC);
		reply = ih_call_fds(c, "org.hvisor.Virtio.Add", params, &fd, 1);
		close(fd);
		ih_assert_error(reply, "org.hvisor.Virtio.ImageLocked");
		p = vl_reply_parameters(reply);
		assert_string_equal(ih_jstr(p, "image"), "again.img");
		assert_int_equal(ih_jint(p, "zone_id"), 1);
		assert_int_equal(ih_jint(p, "addr"), BLK_ADDR);
		msg = strdup(ih_jstr(p, "message"));
		json_object_put(reply);
		vl_client_free(c);
		if (!strstr(msg, "(as '") || !strstr(msg, "disk.img')"))
			fail_msg("the holder's own name is missing: %s", msg);
		free(msg);
	}
	free(disk);
	free(ro);
	free(shared);
	free(ext);
	ih_stop(h);
}

/* The lock lives as long as the device: across a backend's kill -9 and
 * restart (the new process gets the same open file description, so no
 * window opens), until its removal, after which the image can be added
 * again, also while other devices of the zone stay served. */
static void test_blk_lock_lifetime(void **state)
{
	struct ih *h = ih_start(NULL);
	char *disk = ih_make_image(h, "disk.img", 1 << 20);
	struct ih_out o;
	pid_t pid0, pid1;
	int fd;

	ih_zone_start(h, "zone1");
	add_blk(h, disk, "");
	assert_int_equal(ih_hvctl(h, &o, "virtio", "add", "1",
				  "console,addr=0xa003a00,len=0x200,irq=79", NULL),
			 0);
	ih_out_free(&o);
	pid0 = ih_wait_virtiod(h, 1, 0);
	assert_int_equal(kill(pid0, SIGKILL), 0);
	/* dead or restarting: the image stays locked */
	assert_int_equal(ofd_lock(disk, F_RDLCK), -EAGAIN);
	pid1 = ih_wait_virtiod(h, 1, pid0);
	assert_true(pid1 != pid0);
	assert_int_equal(ofd_lock(disk, F_RDLCK), -EAGAIN);
	expect_locked(h, 2, BLK_ADDR, disk, ",readonly", NEEDLES("zone 1's blk at 0xa003c00"));

	/* removed (the zone's backend keeps serving its console): free */
	assert_int_equal(ih_hvctl(h, &o, "virtio", "remove", "1", "0xa003c00", NULL), 0);
	ih_out_free(&o);
	fd = ofd_lock(disk, F_WRLCK);
	assert_true(fd >= 0);
	close(fd);
	add_blk(h, disk, "");
	assert_int_equal(ih_virtiod_pid(h, 1), pid1);
	/* the zone's last device: its backend stops, the lock goes */
	assert_int_equal(ih_hvctl(h, &o, "virtio", "remove", "1", "0xa003a00", NULL), 0);
	ih_out_free(&o);
	assert_int_equal(ih_hvctl(h, &o, "virtio", "remove", "1", "0xa003c00", NULL), 0);
	ih_out_free(&o);
	fd = ofd_lock(disk, F_WRLCK);
	assert_true(fd >= 0);
	close(fd);
	expect_added(h, 2, BLK_ADDR, disk, "");
	free(disk);
	ih_stop(h);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_blk_verify, ih_reap),
		cmocka_unit_test_setup(test_blk_guest_precise, ih_reap),
		cmocka_unit_test_setup(test_blk_readonly, ih_reap),
		cmocka_unit_test_setup(test_blk_image_caller_rights, ih_reap),
		cmocka_unit_test_setup(test_blk_block_device_engine, ih_reap),
		cmocka_unit_test_setup(test_blk_descriptor_modes, ih_reap),
		cmocka_unit_test_setup(test_blk_image_locks, ih_reap),
		cmocka_unit_test_setup(test_blk_lock_lifetime, ih_reap),
	};

	ih_init(argc, argv);
	ih_need_virtio();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
