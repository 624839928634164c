/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Varlink (https://varlink.org) as spoken between hvctl and hvisord: one JSON
 * object per message, NUL-terminated, over a SOCK_STREAM UNIX socket; file
 * descriptors ride along as SCM_RIGHTS with the first byte of the message
 * they belong to. This file holds the framing (shared by server, client and
 * tests), call/reply helpers, strict parameter checking, a small blocking
 * client, and every interface, method and error name (docs/protocol.md).
 */
#ifndef HV_VARLINK_H
#define HV_VARLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "config.h"

/* Limits every peer enforces. */
#define VL_MAX_MESSAGE_SIZE (128u << 10) /* bytes, including the NUL */
#define VL_MAX_DEPTH	    16		 /* JSON nesting */

/* Interfaces */
#define VL_IFACE_SERVICE "org.varlink.service"
#define VL_IFACE_HVISOR	 "org.hvisor" /* shared errors, GetLimits */
#define VL_IFACE_MANAGER "org.hvisor.Manager"
#define VL_IFACE_ZONE	 "org.hvisor.Zone"
#define VL_IFACE_VIRTIO	 "org.hvisor.Virtio"

/* Errors. Every error carries "message" (for people; never parse it). */
#define VL_ERROR_INVALID_PARAMETER   "org.hvisor.InvalidParameter" /* parameter: JSON path */
#define VL_ERROR_PERMISSION_DENIED   "org.hvisor.PermissionDenied"
#define VL_ERROR_KERNEL		     "org.hvisor.KernelError" /* operation, errno, errno_name */
#define VL_ERROR_NOT_SUPPORTED	     "org.hvisor.NotSupported"
#define VL_ERROR_LIMIT		     "org.hvisor.LimitExceeded" /* limit */
#define VL_ERROR_BUSY		     "org.hvisor.Busy"
#define VL_ERROR_PROTOCOL	     "org.hvisor.ProtocolError"
#define VL_ERROR_INTERNAL	     "org.hvisor.Internal"
#define VL_ERROR_BACKEND_UNAVAILABLE "org.hvisor.BackendUnavailable"
#define VL_ERROR_ZONE_NOT_FOUND	     "org.hvisor.Zone.NotFound"		     /* zone_id */
#define VL_ERROR_ZONE_EXISTS	     "org.hvisor.Zone.AlreadyExists"	     /* zone_id */
#define VL_ERROR_ZONE_CPU_BUSY	     "org.hvisor.Zone.CpuBusy"		     /* cpu, owner */
#define VL_ERROR_ZONE_MEMORY_OVERLAP "org.hvisor.Zone.MemoryOverlap"	     /* owner, range */
#define VL_ERROR_VIRTIO_NOT_FOUND    "org.hvisor.Virtio.NotFound"	     /* zone_id, addr */
#define VL_ERROR_VIRTIO_IMAGE_LOCKED "org.hvisor.Virtio.ImageLocked"	     /* image, holder */
#define VL_ERROR_METHOD_NOT_FOUND    "org.varlink.service.MethodNotFound"    /* method */
#define VL_ERROR_INTERFACE_NOT_FOUND "org.varlink.service.InterfaceNotFound" /* interface */
#define VL_ERROR_EXPECTED_MORE	     "org.varlink.service.ExpectedMore"

/* Virtio.AddMany: devices[index] refused with error (and its parameters) */
#define VL_ERROR_VIRTIO_DEVICE_REFUSED "org.hvisor.Virtio.DeviceRefused"

/* Framing: accumulate stream bytes, cut NUL-terminated messages. */
struct vl_framer {
	char *buf;
	size_t len; /* bytes held */
	size_t cap;
	size_t max;	 /* largest message, NUL included */
	uint64_t offset; /* stream offset of buf[0] */
};

void vl_framer_init(struct vl_framer *f, size_t max_message);
void vl_framer_done(struct vl_framer *f);
/* Room for at least one more byte; up to *ret_avail bytes may be written
 * at *ret_ptr, then vl_framer_commit(). -EMSGSIZE once the buffered,
 * unterminated message already exceeds the limit. */
int vl_framer_reserve(struct vl_framer *f, char **ret_ptr, size_t *ret_avail);
void vl_framer_commit(struct vl_framer *f, size_t n);
/* reserve + copy + commit, for tests and small writers. */
int vl_framer_feed(struct vl_framer *f, const void *data, size_t n);
/* Next complete message: 1 and *ret (with *ret_offset, its stream offset,
 * if non-NULL), 0 if more bytes are needed, -EMSGSIZE if the message is over
 * the limit, -EBADMSG if it is not one JSON object (syntax, too deep,
 * trailing data; UTF-8 is not checked, see vl_check_utf8). After an error
 * the stream is unusable. */
int vl_framer_next(struct vl_framer *f, json_object **ret, uint64_t *ret_offset);
/* At end of stream: -EBADMSG if a partial message is left, else 0. */
int vl_framer_eof(const struct vl_framer *f);
/* Bytes held that are not a complete message yet. */
static inline bool vl_framer_empty(const struct vl_framer *f)
{
	return f->len == 0;
}

/* One message in one packet of a SOCK_SEQPACKET socket (hvisord and
 * hvisor-virtiod), with the descriptors the packet carries (fds[], their
 * number in *ret_n_fds, also on errors: the caller closes what it does
 * not take). Returns 1 and *ret_msg (the caller puts), 0 when the peer
 * closed, -EAGAIN or -EINTR when nothing is there yet, -EBADMSG when the
 * packet is not exactly one message, or another negative errno. Never
 * blocks (MSG_DONTWAIT). */
int vl_recv_packet(int fd, int *fds, size_t max_fds, size_t *ret_n_fds, json_object **ret_msg);

/* A method call as received. Pointers borrow from the message object. */
struct vl_call {
	const char *method;
	json_object *parameters; /* an object, never NULL */
	bool oneway;
	bool more;
};
/* Checks the call shape ("method" string; optional "parameters" object,
 * "oneway", "more" booleans; nothing else; valid UTF-8 outside the
 * parameters). -EBADMSG with errbuf filled. */
int vl_call_parse(json_object *msg, struct vl_call *ret, char *errbuf, size_t errsize);

/* The first string or key in o (at JSON path prefix) that is not valid
 * UTF-8: -EILSEQ and *err (may be NULL) with its path ("config.name"), or
 * for a key the path of its object. 0 when all is valid. The framer does not
 * check, so a server can name the parameter (InvalidParameter). */
int vl_check_utf8(json_object *o, const char *prefix, struct hv_error *err);

/* Messages. These take ownership of `parameters` (may be NULL). */
json_object *vl_call_new(const char *method, json_object *parameters, bool more);
json_object *vl_reply_new(json_object *parameters, bool continues);
json_object *vl_error_new(const char *error, json_object *parameters);
/* An error with just a message (printf style). */
json_object *vl_error_newf(const char *error, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* org.hvisor.LimitExceeded: which limit (docs/protocol.md, Limits), and a
 * message (printf style). */
json_object *vl_error_limit_new(const char *limit, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Serialised form (NUL included in *ret_len), owned by msg. */
const char *vl_message_serialize(json_object *msg, size_t *ret_len);

/* Reading replies. */
const char *vl_reply_error(json_object *reply);	      /* NULL if not an error */
json_object *vl_reply_parameters(json_object *reply); /* never NULL for objects */
bool vl_reply_continues(json_object *reply);
/* "message" of an error reply, or "" */
const char *vl_reply_error_message(json_object *reply);

/* Strict parameter checking: every key of `params` must be in spec, each of
 * the given JSON type (json_type_int also accepts non-negative numbers in
 * range of int64), required ones present. On error: -EINVAL and err->path
 * = the parameter name. Found values are stored in *spec[i].ret (borrowed),
 * absent optional ones as NULL. */
struct vl_param {
	const char *name;
	json_type type;
	bool required;
	json_object **ret;
};
int vl_params_parse(json_object *params, const struct vl_param *spec, size_t n,
		    struct hv_error *err);

/* Blocking client. */
struct vl_client {
	int fd;
	struct vl_framer in;
};
/* -errno: -ENOENT / -ECONNREFUSED / -EACCES when nobody (allowed) listens. */
int vl_client_connect(const char *path, struct vl_client **ret);
struct vl_client *vl_client_free(struct vl_client *c);
int vl_client_send(struct vl_client *c, json_object *msg, const int *fds, size_t n_fds);
/* Next message from the server; -ECONNRESET at EOF, -EBADMSG/-EMSGSIZE. */
int vl_client_recv(struct vl_client *c, json_object **ret);
/* send a call and wait for its (first) reply; takes `parameters`. */
int vl_client_call(struct vl_client *c, const char *method, json_object *parameters, const int *fds,
		   size_t n_fds, json_object **ret_reply);

/* Interface descriptions (varlink IDL), served by GetInterfaceDescription. */
struct vl_interface {
	const char *name;
	const char *description;
};
extern const struct vl_interface vl_interfaces[];
extern const size_t vl_n_interfaces;
const char *vl_interface_description(const char *name);

#endif
