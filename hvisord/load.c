// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "hv.h"
#include "load.h"
#include "log.h"
#include "util.h"

struct load_job {
	struct daemon *d;
	const struct load_item *items;
	size_t n, cur;
	uint64_t done_bytes; /* of items[cur] */
	load_done_fn done;
	void *userdata;
	struct event *ev;
	uint64_t start_usec, total;
	bool by_chunks;	       /* the backend cannot take the file itself */
	uint64_t generation;   /* of the backend: one that came back is another */
	struct load_job *next; /* in jobs */
};

/* Loads in progress, for load_cancel_all(). */
static struct load_job *jobs;

static void load_finish(struct load_job *j, int r, const char *key, bool file_error,
			const char *message)
{
	load_done_fn done = j->done;
	void *userdata = j->userdata;
	void *buf = j->d->hv->load_buf;

	/* Give the chunk buffer's pages back between starts: REMOVE frees a
	 * shared memfd's pages too, DONTNEED is for the anonymous buffer.
	 * (A lost backend has none.) */
	if (buf && madvise(buf, HV_LOAD_CHUNK, MADV_REMOVE) < 0)
		(void)madvise(buf, HV_LOAD_CHUNK, MADV_DONTNEED);

	for (struct load_job **p = &jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	if (r == 0)
		log_debug("loaded %llu bytes in %llu us", (unsigned long long)j->total,
			  (unsigned long long)(now_usec() - j->start_usec));
	event_free(j->ev);
	free(j);
	done(r, key, file_error, message, userdata);
}

/* A file through the chunk buffer (read into load_buf), inline data as it
 * is: LOAD_IMAGE. Returns the backend's result, or 1 if the job was
 * finished with a file error. */
static int load_chunk(struct load_job *j, const struct load_item *it, size_t len)
{
	struct hv *hv = j->d->hv;
	char msg[256];

	if (it->fd >= 0) {
		ssize_t k = pread_full(it->fd, hv->load_buf, len, (off_t)j->done_bytes);

		if (k < 0) {
			snprintf(msg, sizeof(msg), "reading the file failed: %s",
				 strerror((int)-k));
			load_finish(j, (int)k, it->key, true, msg);
			return 1;
		}
		if ((size_t)k != len) {
			load_finish(j, -EIO, it->key, true, "the file shrank while it was loaded");
			return 1;
		}
		return hv_load(hv, it->paddr + j->done_bytes, hv->load_buf, len);
	}
	return hv_load(hv, it->paddr + j->done_bytes, it->data + j->done_bytes, len);
}

static void load_step(evutil_socket_t fd, short what, void *arg)
{
	struct load_job *j = arg;
	struct hv *hv = j->d->hv;
	uint64_t budget = HV_LOAD_STEP;
	char msg[256];

	if (hv->lost || hv->generation != j->generation) {
		/* what was loaded went with the backend */
		load_finish(j, HV_LOST, j->n ? j->items[MIN(j->cur, j->n - 1)].key : "images",
			    false, "the backend went away during the load");
		return;
	}
	while (j->cur < j->n && budget > 0) {
		const struct load_item *it = &j->items[j->cur];
		uint64_t left = it->size - j->done_bytes;
		size_t len = (size_t)MIN(left, (uint64_t)HV_LOAD_CHUNK);
		int r;

		if (left == 0) {
			j->cur++;
			j->done_bytes = 0;
			continue;
		}
		if (it->fd >= 0 && !j->by_chunks) {
			/* one copy, from the page cache, none through load_buf */
			len = (size_t)MIN(left, budget);
			r = hv_load_file(hv, it->paddr + j->done_bytes, it->fd, j->done_bytes, len);
			if (r == -EOPNOTSUPP) {
				j->by_chunks = true;
				continue;
			}
			if (r == -ENODATA) {
				load_finish(j, -EIO, it->key, true,
					    "the file shrank while it was loaded");
				return;
			}
		} else {
			r = load_chunk(j, it, len);
			if (r == 1)
				return; /* finished with an error */
		}
		if (r < 0) {
			snprintf(msg, sizeof(msg),
				 "LOAD_IMAGE of %zu bytes at 0x%" PRIx64 " failed: %s", len,
				 it->paddr + j->done_bytes, strerror(-r));
			load_finish(j, r, it->key, false, msg);
			return;
		}
		j->done_bytes += len;
		j->total += len;
		budget -= MIN(budget, (uint64_t)len);
	}
	if (j->cur >= j->n) {
		load_finish(j, 0, NULL, false, NULL);
		return;
	}
	/* More next turn. A zero timeout, not event_active(): libevent runs an
	 * event activated from its own callback again before it polls for
	 * I/O, so other clients would wait for the whole load. */
	event_add(j->ev, &(const struct timeval){0, 0});
}

int load_start(struct daemon *d, const struct load_item *items, size_t n, load_done_fn done,
	       void *userdata)
{
	struct load_job *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	*j = (struct load_job){
		.d = d,
		.items = items,
		.n = n,
		.done = done,
		.userdata = userdata,
		.start_usec = now_usec(),
		.generation = d->hv->generation,
	};
	j->ev = event_new(d->base, -1, 0, load_step, j);
	if (!j->ev) {
		free(j);
		return -ENOMEM;
	}
	j->next = jobs;
	jobs = j;
	event_active(j->ev, 0, 0);
	return 0;
}

void load_cancel_all(void)
{
	while (jobs) {
		struct load_job *j = jobs;

		load_finish(j, -ECANCELED, j->n ? j->items[MIN(j->cur, j->n - 1)].key : "images",
			    false, "cancelled: hvisord is shutting down");
	}
}
