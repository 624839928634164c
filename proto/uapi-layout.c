// SPDX-License-Identifier: GPL-2.0-only
/* The /dev/hvisor UAPI layouts, checked once at build time (the kernel
 * module checks the same in kmod/main.c). */
#include "uapi/hvisor.h"

_Static_assert(sizeof(struct hvisor_zone_list_args) == 16, "hvisor_zone_list_args");
_Static_assert(sizeof(struct hvisor_load_image_args) == 24, "hvisor_load_image_args");
_Static_assert(sizeof(struct hvisor_boot_mode_args) == 16, "hvisor_boot_mode_args");
_Static_assert(sizeof(struct hvisor_irq_line_args) == 8, "hvisor_irq_line_args");
_Static_assert(sizeof(struct hvisor_zone_attach) == 24, "hvisor_zone_attach");
_Static_assert(sizeof(struct hvisor_ioreq) == 40, "hvisor_ioreq");
_Static_assert(__builtin_offsetof(struct hvisor_ioreq, cpu) == 24, "hvisor_ioreq.cpu");
_Static_assert(__builtin_offsetof(struct hvisor_ioreq, size) == 32, "hvisor_ioreq.size");
_Static_assert(sizeof(struct hvisor_iocomp) == 24, "hvisor_iocomp");
