/* SPDX-License-Identifier: GPL-2.0-only */
/* Copies zone images into zone memory, at most HV_LOAD_STEP bytes per
 * event-loop turn: through the backend's load_file when it has one (the
 * sim reads the file itself), else HV_LOAD_CHUNK bytes at a time through
 * LOAD_IMAGE. A 256 MiB kernel neither needs 256 MiB of memory nor stalls
 * other clients. */
#ifndef HVISORD_LOAD_H
#define HVISORD_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hvisord.h"

struct load_item {
	const char *key; /* JSON path, for messages */
	int fd;		 /* the file, or -1 for inline data */
	const char *data;
	uint64_t size;
	uint64_t paddr;
};

/* r: 0 or -errno; failed_key: the item that failed; file_error: reading the
 * file failed (else the hypervisor refused); message: what failed. */
typedef void (*load_done_fn)(int r, const char *failed_key, bool file_error, const char *message,
			     void *userdata);

/* Starts copying items[0..n) (borrowed until done is called). done runs
 * from the event loop, never from inside load_start. */
int load_start(struct daemon *d, const struct load_item *items, size_t n, load_done_fn done,
	       void *userdata);
/* Finishes every load in progress with -ECANCELED (their done callbacks
 * run now): for shutting down. */
void load_cancel_all(void);

#endif
