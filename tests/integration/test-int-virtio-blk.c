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
 * writes; the image is unchanged. Without readonly, an image the caller
 * may only read is refused by hvctl, and a read-only descriptor by
 * hvisord. */
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

	/* hvctl: an image the caller may only read, added read-write */
	{
		const char *argv[] = {ih_bin_hvctl(), "virtio", "add", "1", NULL, NULL};
		struct ih_exec x = {.uid = 65534, .gid = 65534};
		char *spec;

		assert_int_equal(chmod(h->dir, 0755), 0);
		assert_int_equal(chmod(img, 0644), 0);
		assert_true(asprintf(&spec, "blk,addr=0xa003a00,len=0x200,irq=79,img=%s", img) > 0);
		argv[4] = spec;
		assert_int_equal(ih_run(h, &x, &o, argv), 1);
		if (!strstr(o.err, "cannot open image") || !strstr(o.err, "for writing") ||
		    !strstr(o.err, "Permission denied"))
			fail_msg("unclear message: %s", o.err);
		ih_out_free(&o);
		free(spec);
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
	char *img = ih_make_image(h, "disk.img", 1 << 20);
	uint64_t before = ih_file_hash(img);

	ih_zone_start(h, "zone1");
	add_blk(h, img, ""); /* the backend runs */
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
	free(img);
	ih_stop(h);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_blk_verify, ih_reap),
		cmocka_unit_test_setup(test_blk_guest_precise, ih_reap),
		cmocka_unit_test_setup(test_blk_readonly, ih_reap),
		cmocka_unit_test_setup(test_blk_block_device_engine, ih_reap),
		cmocka_unit_test_setup(test_blk_descriptor_modes, ih_reap),
	};

	ih_init(argc, argv);
	ih_need_virtio();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
