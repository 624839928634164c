// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "json-util.h"
#include "util.h"
#include "varlink.h"

#define FRAMER_MIN_ROOM 4096

void vl_framer_init(struct vl_framer *f, size_t max_message)
{
	*f = (struct vl_framer){.max = max_message};
}

void vl_framer_done(struct vl_framer *f)
{
	free(f->buf);
	*f = (struct vl_framer){.max = f->max};
}

int vl_framer_reserve(struct vl_framer *f, char **ret_ptr, size_t *ret_avail)
{
	/* An unterminated message at the limit can never become valid. The
	 * caller drains complete messages first, so no NUL means "partial". */
	if (f->len >= f->max && !memchr(f->buf, '\0', f->len))
		return -EMSGSIZE;
	if (f->cap - f->len < FRAMER_MIN_ROOM) {
		size_t ncap = f->cap ? f->cap * 2 : (size_t)FRAMER_MIN_ROOM * 2;
		char *n;

		while (ncap - f->len < FRAMER_MIN_ROOM)
			ncap *= 2;
		n = realloc(f->buf, ncap);
		if (!n)
			return -ENOMEM;
		f->buf = n;
		f->cap = ncap;
	}
	*ret_ptr = f->buf + f->len;
	*ret_avail = f->cap - f->len;
	return 0;
}

void vl_framer_commit(struct vl_framer *f, size_t n)
{
	f->len += n;
}

int vl_framer_feed(struct vl_framer *f, const void *data, size_t n)
{
	while (n > 0) {
		size_t avail, k;
		char *p;
		int r = vl_framer_reserve(f, &p, &avail);

		if (r < 0)
			return r;
		k = MIN(avail, n);
		memcpy(p, data, k);
		vl_framer_commit(f, k);
		data = (const char *)data + k;
		n -= k;
	}
	return 0;
}

static json_object *parse_object(const char *s, size_t len)
{
	/* json-c's depth counts one more than the nesting it allows (see
	 * hv_json_depth) */
	struct json_tokener *tok = json_tokener_new_ex(VL_MAX_DEPTH + 1);
	json_object *o;
	size_t end;

	if (!tok)
		return NULL;
	/* standard JSON only (no trailing commas); UTF-8 is checked by the
	 * reader (vl_check_utf8), so the error can name the parameter */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object) || hv_json_depth(o) > VL_MAX_DEPTH) {
		json_object_put(o);
		json_tokener_free(tok);
		return NULL;
	}
	/* Only blanks may follow the object. */
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (!strchr(" \t\r\n", s[end])) {
			json_object_put(o);
			o = NULL;
			break;
		}
	json_tokener_free(tok);
	return o;
}

int vl_framer_next(struct vl_framer *f, json_object **ret, uint64_t *ret_offset)
{
	char *nul = f->len ? memchr(f->buf, '\0', f->len) : NULL;
	size_t mlen;
	json_object *o;

	if (!nul)
		return f->len >= f->max ? -EMSGSIZE : 0;
	mlen = (size_t)(nul - f->buf);
	if (mlen + 1 > f->max)
		return -EMSGSIZE;
	o = parse_object(f->buf, mlen);
	if (!o)
		return -EBADMSG;
	if (ret_offset)
		*ret_offset = f->offset;
	memmove(f->buf, nul + 1, f->len - mlen - 1);
	f->len -= mlen + 1;
	f->offset += mlen + 1;
	*ret = o;
	return 1;
}

int vl_framer_eof(const struct vl_framer *f)
{
	return f->len ? -EBADMSG : 0;
}

/* A shared empty object for absent "parameters"; nobody modifies it. */
static json_object *empty_object(void)
{
	static json_object *empty;

	if (!empty)
		empty = json_object_new_object();
	return empty;
}

int vl_check_utf8(json_object *o, const char *prefix, struct hv_error *err)
{
	char path[HV_JSON_PATH_SIZE];

	if (json_object_is_type(o, json_type_string)) {
		if (utf8_valid(json_object_get_string(o), (size_t)json_object_get_string_len(o)))
			return 0;
		hv_error_set(err, prefix, "not valid UTF-8");
		return -EILSEQ;
	}
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (vl_check_utf8(json_object_array_get_idx(o, i),
					  hv_json_path_index(path, sizeof(path), prefix, i),
					  err) < 0)
				return -EILSEQ;
		return 0;
	}
	if (!json_object_is_type(o, json_type_object))
		return 0;
	json_object_object_foreach (o, key, val) {
		if (!utf8_valid(key, strlen(key))) {
			hv_error_set(err, prefix, "a key is not valid UTF-8");
			return -EILSEQ;
		}
		if (vl_check_utf8(val, hv_json_path_join(path, sizeof(path), prefix, key), err) < 0)
			return -EILSEQ;
	}
	return 0;
}

int vl_call_parse(json_object *msg, struct vl_call *ret, char *errbuf, size_t errsize)
{
	struct vl_call c = {0};

	if (!json_object_is_type(msg, json_type_object)) {
		snprintf(errbuf, errsize, "message is not an object");
		return -EBADMSG;
	}
	json_object_object_foreach (msg, key, val) {
		/* the parameters are the reader's to check (vl_check_utf8) */
		if (!utf8_valid(key, strlen(key)) ||
		    (strcmp(key, "parameters") != 0 && vl_check_utf8(val, "", NULL) < 0)) {
			snprintf(errbuf, errsize, "the call is not valid UTF-8");
			return -EBADMSG;
		}
		if (strcmp(key, "method") == 0) {
			if (!json_object_is_type(val, json_type_string) ||
			    json_object_get_string_len(val) == 0) {
				snprintf(errbuf, errsize, "'method' must be a non-empty string");
				return -EBADMSG;
			}
			c.method = json_object_get_string(val);
		} else if (strcmp(key, "parameters") == 0) {
			/* null: no parameters (what varlink-go sends) */
			if (!val)
				continue;
			if (!json_object_is_type(val, json_type_object)) {
				snprintf(errbuf, errsize, "'parameters' must be an object");
				return -EBADMSG;
			}
			c.parameters = val;
		} else if (strcmp(key, "oneway") == 0 || strcmp(key, "more") == 0 ||
			   strcmp(key, "upgrade") == 0) {
			if (!json_object_is_type(val, json_type_boolean)) {
				snprintf(errbuf, errsize, "'%s' must be a boolean", key);
				return -EBADMSG;
			}
			if (key[0] == 'o')
				c.oneway = json_object_get_boolean(val);
			else if (key[0] == 'm')
				c.more = json_object_get_boolean(val);
			else if (json_object_get_boolean(val)) {
				snprintf(errbuf, errsize, "protocol upgrades are not supported");
				return -EBADMSG;
			}
		} else {
			snprintf(errbuf, errsize, "unknown field '%.64s' in call", key);
			return -EBADMSG;
		}
	}
	if (!c.method) {
		snprintf(errbuf, errsize, "call without 'method'");
		return -EBADMSG;
	}
	if (c.oneway && c.more) {
		snprintf(errbuf, errsize, "'oneway' and 'more' exclude each other");
		return -EBADMSG;
	}
	if (!c.parameters)
		c.parameters = empty_object();
	*ret = c;
	return 0;
}

json_object *vl_call_new(const char *method, json_object *parameters, bool more)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "method", json_object_new_string(method));
	json_object_object_add(m, "parameters", parameters ? parameters : json_object_new_object());
	if (more)
		json_object_object_add(m, "more", json_object_new_boolean(1));
	return m;
}

json_object *vl_reply_new(json_object *parameters, bool continues)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "parameters", parameters ? parameters : json_object_new_object());
	if (continues)
		json_object_object_add(m, "continues", json_object_new_boolean(1));
	return m;
}

json_object *vl_error_new(const char *error, json_object *parameters)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "error", json_object_new_string(error));
	json_object_object_add(m, "parameters", parameters ? parameters : json_object_new_object());
	return m;
}

/* {"message": <fmt, ap>} */
static json_object *message_params(const char *fmt, va_list ap) _printf_(1, 0);
static json_object *message_params(const char *fmt, va_list ap)
{
	json_object *p = json_object_new_object();
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	json_object_object_add(p, "message", json_object_new_string(buf));
	return p;
}

json_object *vl_error_newf(const char *error, const char *fmt, ...)
{
	json_object *p;
	va_list ap;

	va_start(ap, fmt);
	p = message_params(fmt, ap);
	va_end(ap);
	return vl_error_new(error, p);
}

json_object *vl_error_limit_new(const char *limit, const char *fmt, ...)
{
	json_object *p;
	va_list ap;

	va_start(ap, fmt);
	p = message_params(fmt, ap);
	va_end(ap);
	json_object_object_add(p, "limit", json_object_new_string(limit));
	return vl_error_new(VL_ERROR_LIMIT, p);
}

const char *vl_message_serialize(json_object *msg, size_t *ret_len)
{
	size_t len;
	const char *s = json_object_to_json_string_length(
		msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	*ret_len = len + 1; /* json-c's buffer ends with the NUL we send */
	return s;
}

const char *vl_reply_error(json_object *reply)
{
	json_object *e;

	if (!json_object_object_get_ex(reply, "error", &e) ||
	    !json_object_is_type(e, json_type_string))
		return NULL;
	return json_object_get_string(e);
}

json_object *vl_reply_parameters(json_object *reply)
{
	json_object *p;

	if (json_object_object_get_ex(reply, "parameters", &p) &&
	    json_object_is_type(p, json_type_object))
		return p;
	return empty_object();
}

bool vl_reply_continues(json_object *reply)
{
	json_object *c;

	return json_object_object_get_ex(reply, "continues", &c) && json_object_get_boolean(c);
}

const char *vl_reply_error_message(json_object *reply)
{
	json_object *m;

	if (json_object_object_get_ex(vl_reply_parameters(reply), "message", &m) &&
	    json_object_is_type(m, json_type_string))
		return json_object_get_string(m);
	return "";
}

static const char *type_name(json_type t)
{
	switch (t) {
	case json_type_int:
		return "an integer";
	case json_type_string:
		return "a string";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_boolean:
		return "a boolean";
	default:
		return "a value";
	}
}

int vl_params_parse(json_object *params, const struct vl_param *spec, size_t n,
		    struct hv_error *err)
{
	for (size_t i = 0; i < n; i++)
		*spec[i].ret = NULL;
	json_object_object_foreach (params, key, val) {
		size_t i;

		for (i = 0; i < n; i++)
			if (strcmp(spec[i].name, key) == 0)
				break;
		if (i == n) {
			hv_error_set(err, key, "unknown parameter");
			return -EINVAL;
		}
		if (!json_object_is_type(val, spec[i].type)) {
			hv_error_set(err, key, "expected %s", type_name(spec[i].type));
			return -EINVAL;
		}
		if (spec[i].type == json_type_int && json_object_get_int64(val) < 0) {
			hv_error_set(err, key, "must not be negative");
			return -EINVAL;
		}
		*spec[i].ret = val;
	}
	for (size_t i = 0; i < n; i++)
		if (spec[i].required && !*spec[i].ret) {
			hv_error_set(err, spec[i].name, "missing");
			return -EINVAL;
		}
	return 0;
}

int vl_recv_packet(int fd, int *fds, size_t max_fds, size_t *ret_n_fds, json_object **ret_msg)
{
	_cleanup_free_ char *buf = malloc(VL_MAX_MESSAGE_SIZE);
	struct vl_framer f;
	ssize_t k;
	int r;

	*ret_n_fds = 0;
	*ret_msg = NULL;
	if (!buf)
		return -ENOMEM;
	k = recv_with_fds(fd, buf, VL_MAX_MESSAGE_SIZE, fds, max_fds, ret_n_fds, MSG_DONTWAIT);
	if (k <= 0)
		return k == -EWOULDBLOCK ? -EAGAIN : (int)k;
	vl_framer_init(&f, VL_MAX_MESSAGE_SIZE);
	r = vl_framer_feed(&f, buf, (size_t)k);
	if (r == 0)
		r = vl_framer_next(&f, ret_msg, NULL);
	if (r == 1 && !vl_framer_empty(&f)) {
		json_object_put(*ret_msg);
		*ret_msg = NULL;
		r = 0;
	}
	vl_framer_done(&f);
	return r == 1 ? 1 : -EBADMSG;
}

int vl_client_connect(const char *path, struct vl_client **ret)
{
	struct sockaddr_un sa;
	_cleanup_close_ int fd = -1;
	struct vl_client *c;
	int r = sockaddr_un_from_path(path, &sa);

	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return negative_errno();
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = TAKE_FD(fd);
	vl_framer_init(&c->in, VL_MAX_MESSAGE_SIZE);
	*ret = c;
	return 0;
}

struct vl_client *vl_client_free(struct vl_client *c)
{
	if (!c)
		return NULL;
	safe_close(c->fd);
	vl_framer_done(&c->in);
	free(c);
	return NULL;
}

int vl_client_send(struct vl_client *c, json_object *msg, const int *fds, size_t n_fds)
{
	size_t len, off = 0;
	const char *s = vl_message_serialize(msg, &len);

	if (len > VL_MAX_MESSAGE_SIZE)
		return -EMSGSIZE;
	while (off < len) {
		/* fds ride with the first byte of the message */
		ssize_t k = send_with_fds(c->fd, s + off, len - off, off ? NULL : fds,
					  off ? 0 : n_fds, 0);
		if (k < 0)
			return (int)k;
		off += (size_t)k;
	}
	return 0;
}

int vl_client_recv(struct vl_client *c, json_object **ret)
{
	for (;;) {
		size_t avail;
		ssize_t k;
		char *p;
		int r = vl_framer_next(&c->in, ret, NULL);

		if (r > 0 && vl_check_utf8(*ret, "", NULL) < 0) {
			json_object_put(*ret);
			*ret = NULL;
			return -EBADMSG;
		}
		if (r != 0)
			return r < 0 ? r : 0;
		r = vl_framer_reserve(&c->in, &p, &avail);
		if (r < 0)
			return r;
		do
			k = read(c->fd, p, avail);
		while (k < 0 && errno == EINTR);
		if (k < 0)
			return negative_errno();
		if (k == 0)
			return -ECONNRESET;
		vl_framer_commit(&c->in, (size_t)k);
	}
}

int vl_client_call(struct vl_client *c, const char *method, json_object *parameters, const int *fds,
		   size_t n_fds, json_object **ret_reply)
{
	json_object *msg = vl_call_new(method, parameters, false);
	int r = vl_client_send(c, msg, fds, n_fds);

	json_object_put(msg);
	if (r < 0)
		return r;
	return vl_client_recv(c, ret_reply);
}
