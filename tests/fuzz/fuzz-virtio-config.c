// SPDX-License-Identifier: GPL-2.0-only
/* virtio_cfg.json, --device strings and the wire form of a device, on
 * arbitrary input (the first byte picks the parser). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio-config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_virtio_config *cfg = NULL;
	struct hv_virtio_device dev = {0}, copy = {0};
	struct hv_error err;
	char *text;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0:
		if (hv_virtio_config_parse_string(text, size - 1, &cfg, &err) == 0) {
			/* every parsed device survives the wire form */
			for (unsigned z = 0; z < cfg->n_zones; z++)
				for (unsigned i = 0; i < cfg->zones[z].n_devices; i++) {
					json_object *o =
						hv_virtio_device_to_json(&cfg->zones[z].devices[i]);

					if (hv_virtio_device_from_json(o, &dev, &err) == 0)
						hv_virtio_device_clear(&dev);
					json_object_put(o);
				}
			hv_virtio_config_free(cfg);
		}
		break;
	case 1:
		if (hv_virtio_device_parse_spec(text, &dev, &err) == 0) {
			if (hv_virtio_device_copy(&copy, &dev) == 0)
				hv_virtio_device_clear(&copy);
			hv_virtio_device_clear(&dev);
		}
		break;
	default: {
		json_object *o = json_tokener_parse(text);

		if (o && hv_virtio_device_from_json(o, &dev, &err) == 0)
			hv_virtio_device_clear(&dev);
		json_object_put(o);
		break;
	}
	}
	free(text);
	return 0;
}
