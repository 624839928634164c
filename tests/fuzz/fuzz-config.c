// SPDX-License-Identifier: GPL-2.0-only
/* The zone JSON parser, image placement check and encoders, for every
 * architecture and magic, on arbitrary input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static int count_file(const char *key, const char *path, void *userdata)
{
	(*(unsigned *)userdata)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[HV_ZONE_CONFIG_MAX_SIZE];

	for (unsigned a = 0; a < _HV_ARCH_MAX; a++) {
		struct hv_zone_config *cfg = NULL;
		struct hv_error err;

		if (hv_zone_config_parse_string((const char *)data, size, (enum hv_arch)a, &cfg,
						&err) < 0)
			continue;
		/* image sizes from the input too, so placement checks see all kinds */
		for (size_t i = 0; i < cfg->n_images; i++)
			if (cfg->images[i].path)
				cfg->images[i].size = size > i ? (uint64_t)data[i] << (i % 40) : 1;
		(void)hv_zone_config_check_images(cfg, &err);
		(void)hv_zone_config_encode(cfg, HV_CONFIG_MAGIC_0x05, buf, sizeof(buf), &err);
		(void)hv_zone_config_encode(cfg, HV_CONFIG_MAGIC_0x06, buf, sizeof(buf), &err);
		hv_zone_config_free(cfg);
	}
	{
		/* the client's view: which files would be opened */
		char *text = malloc(size + 1);
		json_object *root;
		unsigned n = 0;
		struct hv_error err;

		if (!text)
			return 0;
		memcpy(text, data, size);
		text[size] = '\0';
		root = json_tokener_parse(text);
		if (root)
			(void)hv_zone_config_foreach_file(root, count_file, &n, &err);
		json_object_put(root);
		free(text);
	}
	return 0;
}
