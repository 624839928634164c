/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Zone JSON -> typed model. Accepts what upstream hvisor-tool accepts
 * (numbers or strings with base auto-detection, "null" image paths, missing
 * pci_config / v_* fields, modules, x86 boot fields) and rejects what would
 * crash or corrupt hvisor, with an error naming the JSON path, e.g.
 * "memory_regions[2].size: expected a number". Never crashes on any input.
 * Every key, default and limit is documented in docs/config.md.
 */
#ifndef HV_CONFIG_H
#define HV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "abi/zone-config.h"

enum hv_arch {
	HV_ARCH_AARCH64,
	HV_ARCH_RISCV64,
	HV_ARCH_LOONGARCH64,
	HV_ARCH_X86_64,
	_HV_ARCH_MAX,
};

/* "aarch64", "riscv64", "loongarch64", "x86_64". */
const char *hv_arch_to_string(enum hv_arch arch);
/* Also accepts upstream's ARCH= spellings: arm64, riscv, loongarch. */
int hv_arch_from_string(const char *s, enum hv_arch *ret);
/* The architecture this program was built for (the kmod backend's arch). */
enum hv_arch hv_arch_native(void);
/* Does a zone's "interrupts" list decide which IRQs it may be given? On
 * aarch64 (the vGIC) and riscv64 (PLIC/APLIC) yes; on x86_64 and
 * loongarch64 hvisor ignores the list and injects any IRQ. hvisord checks
 * virtio devices and hvisor-sim delivers interrupts by this rule (and
 * hvisor.ko's hvisor_arch_irqs_gated keeps the same). */
bool hv_arch_irqs_gated(enum hv_arch arch);

/* Where and why a config (or request) was refused. path is a JSON path such
 * as "memory_regions[2].size" ("" for the document itself). */
struct hv_error {
	char path[128];
	char message[256];
};
void hv_error_set(struct hv_error *err, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "path: message", or just the message when path is empty. */
void hv_error_format(const struct hv_error *err, char *buf, size_t size);

/* The largest zone JSON or virtio_cfg.json text (docs/config.md §1) */
#define HV_CONFIG_MAX_TEXT (1u << 20)

#define HV_PAGE_SIZE	       4096u
#define HV_CONFIG_MAX_MODULES  16
#define HV_CONFIG_MAX_IMAGES   (8 + HV_CONFIG_MAX_MODULES)
#define HV_CONFIG_MAX_WARNINGS 8
#define HV_CONFIG_MAX_STRING   4096 /* file paths, cmdlines, module names */

enum hv_image_kind {
	HV_IMAGE_KERNEL,      /* kernel_filepath at kernel_load_paddr */
	HV_IMAGE_DTB,	      /* dtb_filepath at dtb_load_paddr (not on x86) */
	HV_IMAGE_MODULE,      /* modules[i].filepath at modules[i].load_paddr */
	HV_IMAGE_X86_BOOT,    /* arch_config.boot_filepath at boot_load_paddr */
	HV_IMAGE_X86_SETUP,   /* arch_config.setup_filepath at setup_load_hpa */
	HV_IMAGE_X86_INITRD,  /* arch_config.initrd_filepath at initrd_load_hpa */
	HV_IMAGE_X86_CMDLINE, /* arch_config.cmdline (inline, with its NUL) at cmdline_load_hpa */
	HV_IMAGE_INITRAMFS,   /* multiboot2 initramfs_filepath */
};

/* Something zone start copies into zone memory: a file the client passes as
 * an fd (path != NULL) or inline bytes from the config (data != NULL). */
struct hv_image {
	enum hv_image_kind kind;
	char key[64];	    /* JSON path of the file name, e.g. "modules[1].filepath";
			     * also the key of the fd in a Zone.Start request */
	char paddr_key[64]; /* JSON path of the load address */
	char *path;	    /* as written in the config, unresolved; NULL if inline */
	char *data;	    /* inline bytes; NULL for files */
	size_t data_len;
	char *name; /* modules[i].name, else NULL */
	uint64_t load_paddr;
	/* Bytes to load. Set by the parser for inline data; for files the
	 * caller sets it (from fstat) before hv_zone_config_check_images()
	 * and the encoder, which stores the page-rounded sizes. */
	uint64_t size;
};

struct hv_arch_aarch64 {
	bool is_aarch32;
	unsigned gic_version; /* 2 or 3 */
	uint64_t gicd_base, gicd_size;
	uint64_t gicc_base, gicc_size, gicc_offset; /* v2 */
	uint64_t gich_base, gich_size;		    /* v2 */
	uint64_t gicv_base, gicv_size;		    /* v2 */
	uint64_t gicr_base, gicr_size;		    /* v3 */
	uint64_t gits_base, gits_size;		    /* v3, optional */
	bool has_uefi; /* memory_map_addr given (needs config magic 0x06) */
	uint64_t memory_map_addr, memory_map_size, sys_map_addr;
};

struct hv_arch_riscv64 {
	uint64_t plic_base, plic_size;
	uint64_t aplic_base, aplic_size;
};

struct hv_arch_x86_64 {
	uint64_t ioapic_base, ioapic_size;
	uint64_t kernel_entry_gpa;
	uint64_t cmdline_load_gpa;
	uint64_t setup_load_gpa;
	uint64_t initrd_load_gpa;
	uint64_t rsdp_memory_region_id;
	uint64_t acpi_memory_region_id;
	uint64_t uefi_memory_region_id;
	uint64_t screen_base;
	/* Multiboot2 (top-level boot_protocol "multiboot2" or the legacy
	 * boolean multiboot_enabled). */
	bool multiboot2;
	uint64_t multiboot_info_paddr; /* default 0x9000000 */
	char *kernel_cmdline;
	uint64_t initramfs_load_gpa;
};

struct hv_zone_config {
	enum hv_arch arch;
	uint32_t zone_id;	       /* >= 1; 0 is the root zone */
	uint64_t cpus;		       /* bitmask of physical CPU ids, non-empty */
	char name[HV_CONFIG_NAME_LEN]; /* NUL-terminated, 1..31 printable bytes */

	uint32_t n_regions;
	struct hv_cfg_memory_region regions[HV_CONFIG_MAX_MEMORY_REGIONS];
	uint32_t irq_bitmap[HV_CONFIG_IRQ_WORDS];
	uint32_t n_ivc;
	struct hv_cfg_ivc ivc[HV_CONFIG_MAX_IVC];

	uint64_t entry_point;
	uint64_t kernel_load_paddr;
	uint64_t dtb_load_paddr;

	uint32_t n_pci_bus;
	struct hv_cfg_pci_bus pci_bus[HV_CONFIG_MAX_PCI_BUS];
	uint32_t n_pci_devs;
	struct hv_cfg_pci_dev_0x06 pci_devs[HV_CONFIG_MAX_PCI_DEVS];

	union {
		struct hv_arch_aarch64 aarch64;
		struct hv_arch_riscv64 riscv64;
		struct hv_arch_x86_64 x86_64;
	} arch_config;

	size_t n_images;
	struct hv_image images[HV_CONFIG_MAX_IMAGES];

	/* Things accepted but worth telling the user (defaults filled in,
	 * keys ignored). */
	unsigned n_warnings;
	char warnings[HV_CONFIG_MAX_WARNINGS][160];
};

/* The architecture a zone JSON looks written for: from the arch_config
 * keys only one architecture reads (gic_version, gicd_base: aarch64;
 * plic_base, aplic_base: riscv64; ioapic_base: x86_64), or else from
 * upstream's informational "arch" key. */
struct hv_arch_evidence {
	enum hv_arch arch;
	char path[16]; /* "arch_config" or "arch" */
	char why[64];  /* "arch_config has gic_version", "\"arch\" is \"arm64\"" */
};
/* 1 with *ret filled, 0 if the config does not tell (no such key, or keys
 * of two architectures). */
int hv_zone_config_apparent_arch(json_object *root, struct hv_arch_evidence *ret);

/* Parses a zone JSON object for `arch`. On failure returns -EINVAL and fills
 * *err; nothing is allocated then. A config that looks written for another
 * architecture (hv_zone_config_apparent_arch) fails with that as the error
 * ("this config looks like aarch64 (arch_config has gic_version) but the
 * backend is x86_64"), or, where it parses anyway (loongarch64 reads no
 * arch_config), gets it as a warning. */
int hv_zone_config_parse(json_object *root, enum hv_arch arch, struct hv_zone_config **ret,
			 struct hv_error *err);
/* A zone config's text (a file's contents) as a JSON object, by the rules of
 * docs/config.md §1: at most 1 MiB, nested at most max_depth levels (0: 32,
 * the most there is), no NUL, nothing after the object; syntax errors with
 * line, column and byte offset. *ret is a new reference. */
int hv_zone_config_parse_json(const char *text, size_t len, int max_depth, json_object **ret,
			      struct hv_error *err);
/* Same from text (a file's contents); JSON syntax errors are reported too. */
int hv_zone_config_parse_string(const char *text, size_t len, enum hv_arch arch,
				struct hv_zone_config **ret, struct hv_error *err);
struct hv_zone_config *hv_zone_config_free(struct hv_zone_config *cfg);

/* What hvisord cannot start yet although the config is valid: Multiboot2
 * zones (x86_64). -EOPNOTSUPP with *err ("boot_protocol: ..."). */
int hv_zone_config_check_supported(const struct hv_zone_config *cfg, struct hv_error *err);

/* After the caller has set images[].size: every image is non-empty, lies
 * entirely inside one RAM region's physical range, and no two images
 * overlap. -EINVAL with *err naming the image key otherwise. */
int hv_zone_config_check_images(const struct hv_zone_config *cfg, struct hv_error *err);

/* Calls cb(key, path) for every file a zone JSON names (the keys of
 * struct hv_image; "null" and "" skipped), without needing the arch: x86
 * arch_config file keys are visited whenever present. This is what a client
 * opens and passes as fds. Returns 0, the first negative cb result, or
 * -EINVAL with *err for a wrong type. */
int hv_zone_config_foreach_file(json_object *root,
				int (*cb)(const char *key, const char *path, void *userdata),
				void *userdata, struct hv_error *err);

/* The zone_config size hvisor expects for (arch, magic); 0 if unsupported. */
size_t hv_zone_config_size(enum hv_arch arch, unsigned magic);
/* Encodes cfg into buf (at least hv_zone_config_size() bytes, zeroed first
 * by the encoder) for the hypervisor speaking `magic`. Returns the size, or
 * -EOPNOTSUPP with *err when cfg needs something this magic cannot carry
 * (e.g. UEFI boot info with 0x05), -EINVAL for an unknown magic. */
int hv_zone_config_encode(const struct hv_zone_config *cfg, unsigned magic, void *buf, size_t size,
			  struct hv_error *err);

#endif
