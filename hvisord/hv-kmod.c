// SPDX-License-Identifier: GPL-2.0-only
/* Backend: /dev/hvisor with the upstream ioctl numbers and argument
 * conventions (proto/uapi/hvisor.h), so a stock hvisor.ko works too. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "abi/zone-config.h"
#include "hv.h"
#include "log.h"
#include "uapi/hvisor.h"

static int kmod_ioctl(struct hv *hv, unsigned long req, unsigned long arg)
{
	int r;

	do
		r = ioctl(hv->fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? negative_errno() : r;
}

static int kmod_open(struct hv *hv, const char *path)
{
	hv->fd = open(path, O_RDWR | O_CLOEXEC);
	if (hv->fd < 0)
		return negative_errno();
	hv->arch = hv_arch_native();
	hv->ncpus = 0; /* root Linux only sees its own CPUs */
	hv->load_buf = aligned_alloc(4096, HV_LOAD_CHUNK);
	if (!hv->load_buf) {
		hv->fd = safe_close(hv->fd);
		return -ENOMEM;
	}
	return 0;
}

static void kmod_close(struct hv *hv)
{
	hv->fd = safe_close(hv->fd);
	free(hv->load_buf);
	hv->load_buf = NULL;
}

static int kmod_config_check(struct hv *hv, uint64_t *ret_magic)
{
	__u64 magic = 0;
	int r = kmod_ioctl(hv, HVISOR_CONFIG_CHECK, (unsigned long)&magic);

	if (r < 0)
		return r;
	*ret_magic = magic;
	return 0;
}

static int kmod_load(struct hv *hv, uint64_t paddr, const void *data, size_t len)
{
	struct hvisor_load_image_args args = {
		.user_buffer = (uintptr_t)data,
		.size = len,
		.load_paddr = paddr,
	};

	return kmod_ioctl(hv, HVISOR_LOAD_IMAGE, (unsigned long)&args);
}

static int kmod_zone_start(struct hv *hv, const void *config, size_t size)
{
	/* A stock module copies sizeof(its zone_config) from us whatever the
	 * layout, so always hand it a zero-padded buffer of the largest one. */
	_Alignas(8) uint8_t buf[HV_ZONE_CONFIG_MAX_SIZE] = {0};

	if (size > sizeof(buf))
		return -EINVAL;
	memcpy(buf, config, size);
	return kmod_ioctl(hv, HVISOR_ZONE_START, (unsigned long)buf);
}

static int kmod_zone_shutdown(struct hv *hv, uint32_t zone_id)
{
	return kmod_ioctl(hv, HVISOR_ZONE_SHUTDOWN, zone_id); /* by value */
}

static int kmod_zone_list(struct hv *hv, struct hvisor_zone_info *zones, size_t cap)
{
	struct hvisor_zone_list_args args = {.cnt = cap, .zones = (uintptr_t)zones};
	int r = kmod_ioctl(hv, HVISOR_ZONE_LIST, (unsigned long)&args);

	if (r >= 0 && (size_t)r > cap)
		return -EIO; /* a module that claims more than it could write */
	return r;
}

static int kmod_zone_attach(struct hv *hv, uint32_t zone_id, int *ret_channel, int *ret_mem)
{
	struct hvisor_zone_attach args = {.zone_id = zone_id};
	int fd = kmod_ioctl(hv, HVISOR_ZONE_ATTACH, (unsigned long)&args), mem;

	if (fd < 0)
		return fd;
	/* zone RAM is mmapped from the channel fd itself */
	mem = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (mem < 0) {
		int r = negative_errno();

		close(fd);
		return r;
	}
	*ret_channel = fd;
	*ret_mem = mem;
	return 0;
}

/* hvisord keeps /dev/hvisor open, so the module cannot be unloaded under
 * it; a device whose driver is gone answers ENXIO. (ENODEV is not a loss:
 * ZONE_ATTACH answers it when the module has no wake-up IRQ.) */
static bool kmod_is_loss(int r)
{
	return r == -ENXIO;
}

const struct hv_ops hv_kmod_ops = {
	.name = "kmod",
	.what = "hvisor.ko",
	.is_loss = kmod_is_loss,
	.open = kmod_open,
	.close = kmod_close,
	.config_check = kmod_config_check,
	.load = kmod_load,
	.zone_start = kmod_zone_start,
	.zone_shutdown = kmod_zone_shutdown,
	.zone_list = kmod_zone_list,
	.zone_attach = kmod_zone_attach,
};
