// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"
#include "log.h"

int hv_open(const char *spec, struct hv **ret)
{
	const struct hv_ops *ops;
	const char *arg = NULL;
	struct hv *hv;
	int r;

	if (strcmp(spec, "kmod") == 0 || strncmp(spec, "kmod:", 5) == 0) {
		ops = &hv_kmod_ops;
		arg = spec[4] ? spec + 5 : "/dev/hvisor";
	} else if (strncmp(spec, "sim:", 4) == 0 && spec[4]) {
		ops = &hv_sim_ops;
		arg = spec + 4;
	} else
		return -EINVAL;

	hv = calloc(1, sizeof(*hv));
	if (!hv)
		return -ENOMEM;
	hv->ops = ops;
	hv->fd = -1;
	hv->path = strdup(arg);
	if (!hv->path) {
		free(hv);
		return -ENOMEM;
	}
	r = ops->open(hv, arg);
	if (r < 0) {
		free(hv->path);
		free(hv);
		return r;
	}
	r = ops->config_check(hv, &hv->magic);
	if (r < 0) {
		hv_close(hv);
		return r;
	}
	if (!hv_magic_supported(hv))
		log_warn(
			"hypervisor reports config magic 0x%02llx; this hvisord encodes 0x05 and 0x06 only, zone start will be refused",
			(unsigned long long)hv->magic);
	*ret = hv;
	return 0;
}

struct hv *hv_close(struct hv *hv)
{
	if (!hv)
		return NULL;
	hv->ops->close(hv);
	free(hv->path);
	free(hv);
	return NULL;
}

int hv_magic_supported(const struct hv *hv)
{
	return hv_zone_config_size(hv->arch, (unsigned)hv->magic) != 0;
}
