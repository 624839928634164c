/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Virtio devices of zones: upstream's virtio_cfg.json, its --device strings,
 * and the wire form of one device (org.hvisor.Virtio.Add, and hvisord ->
 * hvisor-virtiod). Every key, default and limit is in docs/devices.md.
 *
 *   { "zones": [ { "id": 1,
 *                  "memory_region": [ {"zone0_ipa": .., "zonex_ipa": .., "size": ..} ],
 *                  "devices": [ {"type": "blk", "addr": .., "len": .., "irq": ..,
 *                                "status": "enable", "img": "disk.img"} ] } ] }
 *
 *   blk,addr=0xa003c00,len=0x200,irq=78,img=disk.img[,readonly][,share][,zone_id=1]
 *   net,addr=...,len=...,irq=...,tap=tap0[,mac=00:16:3e:10:10:10]
 *   console,addr=...,len=...,irq=...
 */
#ifndef HV_VIRTIO_CONFIG_H
#define HV_VIRTIO_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config.h"
#include "virtiod-protocol.h"

#define HV_VIRTIO_MAX_ZONES   32
#define HV_VIRTIO_MAX_MEM     HV_VIRTIOD_MAX_RAM /* memory_region entries per zone */
#define HV_VIRTIO_MAX_DEVICES 32		 /* per zone */
#define HV_VIRTIO_SERIAL_LEN  20		 /* VIRTIO_BLK_ID_BYTES */
#define HV_VIRTIO_MIN_LEN     0x200		 /* registers + config space */
#define HV_VIRTIO_IFNAMSIZ    16

/* devices in one Virtio.AddMany: a virtio_cfg.json's and 64 --device specs */
#define HV_VIRTIO_ADD_MANY_MAX (HV_VIRTIO_MAX_ZONES * HV_VIRTIO_MAX_DEVICES + 64)

/* Device types carry their virtio device ids. */
enum hv_virtio_type {
	HV_VIRTIO_NET = 1,
	HV_VIRTIO_BLK = 2,
	HV_VIRTIO_CONSOLE = 3,
};

/* virtio-blk I/O engine. DEFAULT lets the backend choose (docs/devices.md
 * says which and why). */
enum hv_blk_aio {
	HV_AIO_DEFAULT,
	HV_AIO_SYNC,
	HV_AIO_THREADS,
	HV_AIO_IO_URING,
};

struct hv_virtio_device {
	enum hv_virtio_type type;
	uint32_t zone_id;
	bool has_zone_id; /* zone_id= in a --device string, or the zone in a file */
	uint64_t addr;	  /* guest-physical base of the MMIO window */
	uint64_t len;	  /* its size, >= HV_VIRTIO_MIN_LEN */
	uint32_t irq;	  /* < 1024 */
	bool enabled;	  /* "status" != "disable" */

	/* blk */
	char *img; /* path as written (relative paths: the client resolves) */
	bool readonly;
	/* several devices may write the image at once: a shared lock even
	 * when read-write (docs/devices.md, "Image locks") */
	bool share;
	char serial[HV_VIRTIO_SERIAL_LEN + 1]; /* "" = derived by the backend */
	enum hv_blk_aio aio;

	/* net */
	char tap[HV_VIRTIO_IFNAMSIZ];
	uint8_t mac[6];
	bool has_mac;
};

struct hv_virtio_mem {
	uint64_t zone0_ipa; /* the RAM as root Linux sees it (host physical) */
	uint64_t zonex_ipa; /* the same RAM as the guest sees it */
	uint64_t size;
};

struct hv_virtio_zone {
	uint32_t zone_id;
	unsigned n_mem;
	struct hv_virtio_mem mem[HV_VIRTIO_MAX_MEM];
	unsigned n_devices;
	struct hv_virtio_device devices[HV_VIRTIO_MAX_DEVICES];
	/* where each device is in the file's devices[] (disabled devices of
	 * unsupported types are left out of devices[]) */
	unsigned device_index[HV_VIRTIO_MAX_DEVICES];
};

struct hv_virtio_config {
	unsigned n_zones;
	struct hv_virtio_zone zones[HV_VIRTIO_MAX_ZONES];
};

const char *hv_virtio_type_to_string(enum hv_virtio_type type); /* "blk", "net", "console" */
int hv_virtio_type_from_string(const char *s, enum hv_virtio_type *ret);
/* "default", "sync", "threads", "io_uring" */
const char *hv_blk_aio_to_string(enum hv_blk_aio aio);
int hv_blk_aio_from_string(const char *s, enum hv_blk_aio *ret);

/* Upstream virtio_cfg.json. Disabled devices are kept with enabled = false
 * (callers skip them). Errors name the JSON path, e.g.
 * "zones[0].devices[1].addr: missing". */
int hv_virtio_config_parse(json_object *root, struct hv_virtio_config **ret, struct hv_error *err);
int hv_virtio_config_parse_string(const char *text, size_t len, struct hv_virtio_config **ret,
				  struct hv_error *err);
struct hv_virtio_config *hv_virtio_config_free(struct hv_virtio_config *cfg);

/* One --device string. Errors name the key, e.g. "addr: expected a hex number". */
int hv_virtio_device_parse_spec(const char *spec, struct hv_virtio_device *ret,
				struct hv_error *err);

/* The wire form: {"type", "addr", "len", "irq", "zone_id"?, "img"?, "readonly"?,
 * "share"? (written only when true), "serial"?, "aio"?, "tap"?, "mac"?
 * ("00:16:3e:10:10:10")}. from_json is strict (unknown keys refused) since
 * it reads a client's request. */
json_object *hv_virtio_device_to_json(const struct hv_virtio_device *dev);
int hv_virtio_device_from_json(json_object *o, struct hv_virtio_device *ret, struct hv_error *err);

/* The device against the config of its zone: inside one of the zone's virtio
 * regions, with an IRQ the zone owns where its arch lets the list decide
 * (hv_arch_irqs_gated). Errors name prefix.addr or prefix.irq. What
 * hvisord checks before it adds a device; hvctl virtio check too. */
int hv_virtio_device_check_zone(const struct hv_virtio_device *dev,
				const struct hv_zone_config *cfg, const char *prefix,
				struct hv_error *err);

/* A zone's memory_region as Virtio.Add's "memory": [{"zone0_ipa",
 * "zonex_ipa", "size"}]. */
json_object *hv_virtio_mem_to_json(const struct hv_virtio_zone *zone);

/* Frees what a device owns (img) and zeroes it. */
void hv_virtio_device_clear(struct hv_virtio_device *dev);
/* Deep copy (img duplicated). */
int hv_virtio_device_copy(struct hv_virtio_device *dst, const struct hv_virtio_device *src);

/* "00:16:3e:10:10:10" */
void hv_mac_format(const uint8_t mac[6], char buf[18]);
int hv_mac_parse(const char *s, uint8_t mac[6]);

#endif
