/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hvisord and its descriptor keeper (hvisor-fdstore): the keeper holds the
 * descriptors hvisord must find again after a restart (disk images, taps,
 * ptys, transport state), by name. One fixed-size record per SOCK_SEQPACKET
 * packet, with at most one descriptor.
 *
 *   PUT name + fd    keep fd as name (replaces an older entry of that name)
 *   DROP name        forget name (closing the descriptor)
 *   LIST             one ENTRY name + fd per entry, then END
 *   EXIT             the keeper closes everything and exits
 * PUT and DROP are not answered; a refusal is logged by the keeper.
 * Records of another version are refused: the connection is closed.
 */
#ifndef HV_PROTO_FDSTORE_H
#define HV_PROTO_FDSTORE_H

#include <stdint.h>

#define HV_FDSTORE_VERSION  1
#define HV_FDSTORE_NAME_MAX 64	 /* the NUL included */
#define HV_FDSTORE_MAX	    4096 /* descriptors one keeper holds */
#define HV_FDSTORE_SOCKET   "fdstore.sock"

enum hv_fdstore_op {
	HV_FDSTORE_PUT = 1,
	HV_FDSTORE_DROP = 2,
	HV_FDSTORE_LIST = 3,
	HV_FDSTORE_EXIT = 4,
	HV_FDSTORE_ENTRY = 5,
	HV_FDSTORE_END = 6,
};

struct hv_fdstore_msg {
	uint32_t version; /* HV_FDSTORE_VERSION */
	uint32_t op;	  /* enum hv_fdstore_op */
	char name[HV_FDSTORE_NAME_MAX];
};
_Static_assert(sizeof(struct hv_fdstore_msg) == 72, "hv_fdstore_msg layout");

#endif
