// SPDX-License-Identifier: GPL-2.0-only
/*
 * The state file: what a restarted hvisord needs to manage the zones and
 * backends it left running (RUNDIR/state.json, docs/protocol.md
 * "Restarts"). Written whole after every change that matters, atomically
 * (a new file, fsync, rename, fsync of the directory); read once at
 * start-up with limits on size and depth, and every part checked by the
 * parsers that check clients' requests. What is wrong is logged and left
 * out, never obeyed; what the hypervisor says wins over what the file says.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvisord.h"
#include "json-util.h"
#include "log.h"
#include "util.h"

#define STATE_FILE	"state.json"
#define STATE_TMP	"state.json.new"
#define STATE_VERSION	1
#define STATE_MAX_BYTES (4u << 20)
#define STATE_MAX_DEPTH 32

static int write_all_sync(int dirfd, const char *text, size_t len)
{
	_cleanup_close_ int fd = -1;
	int r;

	(void)unlinkat(dirfd, STATE_TMP, 0);
	fd = openat(dirfd, STATE_TMP, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return negative_errno();
	r = write_full(fd, text, len);
	if (r < 0)
		return r;
	if (fsync(fd) < 0)
		return negative_errno();
	if (renameat(dirfd, STATE_TMP, dirfd, STATE_FILE) < 0)
		return negative_errno();
	return fsync(dirfd) < 0 ? negative_errno() : 0;
}

void state_save(struct daemon *d)
{
	json_object *o = json_object_new_object();
	const char *text;
	size_t len;
	int r;

	if (d->runtime_fd < 0 || d->state_frozen) {
		json_object_put(o);
		return;
	}
	json_object_object_add(o, "version", json_object_new_int(STATE_VERSION));
	json_object_object_add(o, "hvisord_pid", json_object_new_int((int)getpid()));
	json_object_object_add(o, "zones", zones_state_json(d));
	json_object_object_add(o, "virtio", virtio_state_json(d));
	text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	r = write_all_sync(d->runtime_fd, text, len);
	if (r < 0)
		log_errno(LOG_ERR, r, "cannot save the state to %s/%s", d->runtime_dir, STATE_FILE);
	json_object_put(o);
}

/* The state file as left by the last hvisord, or NULL (none, or unusable:
 * logged). */
json_object *state_load(struct daemon *d)
{
	_cleanup_close_ int fd = -1;
	json_object *root = NULL, *v;
	struct hv_error err;
	struct stat st;
	char *text;
	ssize_t n;

	fd = openat(d->runtime_fd, STATE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("ignoring the state file %s/%s: %m", d->runtime_dir, STATE_FILE);
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 0077) || st.st_size > (off_t)STATE_MAX_BYTES) {
		log_warn("ignoring the state file %s/%s: not a regular file of ours, mode 0600, "
			 "at most %u bytes",
			 d->runtime_dir, STATE_FILE, STATE_MAX_BYTES);
		return NULL;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text)
		return NULL;
	n = read_full(fd, text, (size_t)st.st_size);
	if (n >= 0 && hv_json_parse_text(text, (size_t)n, STATE_MAX_BYTES, STATE_MAX_DEPTH, &root,
					 &err) < 0) {
		log_warn("ignoring the state file %s/%s: %s: %s", d->runtime_dir, STATE_FILE,
			 err.path, err.message);
		root = NULL;
	}
	free(text);
	if (root && (!json_object_is_type(root, json_type_object) ||
		     !json_object_object_get_ex(root, "version", &v) ||
		     json_object_get_int(v) != STATE_VERSION)) {
		log_warn("ignoring the state file %s/%s: not version %d", d->runtime_dir,
			 STATE_FILE, STATE_VERSION);
		json_object_put(root);
		root = NULL;
	}
	return root;
}

void state_remove(struct daemon *d)
{
	if (unlinkat(d->runtime_fd, STATE_FILE, 0) < 0 && errno != ENOENT)
		log_warn("cannot remove %s/%s: %m", d->runtime_dir, STATE_FILE);
}
