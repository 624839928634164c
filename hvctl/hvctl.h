/* SPDX-License-Identifier: GPL-2.0-only */
/* hvctl: the command-line client of hvisord.
 *   main.c    global options, the command table, the one argument parser
 *             every command gets its struct command and arguments from, help
 *   client.c  connecting and calling, error reporting, exit codes
 *   output.c  tables for people, JSON for scripts
 *   zone.c    zone start | shutdown | list | info
 *   virtio.c  virtio add | start | remove | list
 *   console.c console
 *   daemon.c  events, version, log-level
 *   files.c   JSON files and paths relative to them
 *   compat.c  the upstream "hvisor ..." spelling
 *   check.c   zone check | virtio check (offline, no hvisord) */
#ifndef HVCTL_H
#define HVCTL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "varlink.h"

enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1, /* hvisord refused, or a named file could not be used */
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3, /* no hvisord at the socket */
};

#define HVCTL_DEFAULT_SOCKET "/run/hvisor/hvisord.sock"

struct hvctl {
	const char *socket;
	bool json;
	bool compat; /* invoked as "hvisor" */
	const char *prog;
	/* what the errors printed now are about ("cfg.json: zones[0].devices[1]"),
	 * or NULL */
	const char *where;
	/* a call with a list (Virtio.AddMany): what each item is, for an error
	 * naming one (org.hvisor.Virtio.DeviceRefused) */
	char *const *items;
	size_t n_items;
};

/* "<prog>: [<where>: ]<message>\n" on stderr. */
void hvctl_error(const struct hvctl *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define VIRTIO_MAX_SPECS 64 /* --device strings in one virtio start */
#define CMD_MAX_ARGS	 2

/* What the command line gives a command. */
struct cmd_args {
	int argc; /* after the command's name */
	char **argv;
	char *pos[CMD_MAX_ARGS]; /* the positional arguments */
	int n;
	char *devices[VIRTIO_MAX_SPECS]; /* --device SPEC, in order */
	int n_devices;
};

enum {
	CMD_DATA = 1 << 0,     /* prints data: takes --json */
	CMD_DEVICES = 1 << 1,  /* takes --device SPEC (repeatable) */
	CMD_OWN_ARGS = 1 << 2, /* parses argc/argv itself (its --help: EXIT_HELP) */
};

struct command {
	const char *name; /* "zone start" */
	const char *args; /* "FILE" */
	const char *summary;
	const char *options; /* extra help lines, or NULL */
	unsigned flags;
	int min_args, max_args; /* positional arguments */
	/* an exit code, or EXIT_HELP */
	int (*fn)(struct hvctl *h, const struct command *cmd, const struct cmd_args *a);
};

/* A command's parsing printed its --help: the exit status is EXIT_OK. */
#define EXIT_HELP (-1)

/* Parses the options of cmd (--help, --json if CMD_DATA, --device if
 * CMD_DEVICES, unless CMD_OWN_ARGS) and runs it: the exit status. */
int command_run(struct hvctl *h, const struct command *cmd, int argc, char **argv);
const struct command *command_find(const char *name);
void command_help(const struct hvctl *h, const struct command *cmd, FILE *f);

/* client.c. Both return an exit code; on EXIT_OK, *ret_reply is the reply
 * (the caller puts it). Errors are printed. */
int hvctl_connect(struct hvctl *h, struct vl_client **ret);
int hvctl_call(struct hvctl *h, struct vl_client *c, const char *method, json_object *params,
	       const int *fds, size_t n_fds, json_object **ret_reply);
/* Connect + call + disconnect. */
int hvctl_call1(struct hvctl *h, const char *method, json_object *params, const int *fds,
		size_t n_fds, json_object **ret_reply);
int parse_zone_id(struct hvctl *h, const char *s, uint32_t *ret);
/* {"zone_id": zone_id}, the parameters of most calls about a zone */
json_object *zone_params(uint32_t zone_id);
/* The "warnings" of a reply's parameters, each on a line of its own. */
void print_warnings(const struct hvctl *h, json_object *params);

/* files.c */
/* Opens path (name: how the user wrote it) with the caller's permissions,
 * without waiting on a FIFO; anything but a regular file (or with disk, a
 * block device) is refused. Errors are printed, naming `what` ("config",
 * "image", an image key). The descriptor (blocking), or -errno. */
struct stat;
int open_named_file(struct hvctl *h, const char *what, const char *name, const char *path,
		    int flags, bool disk, struct stat *ret_st);
/* The text of a config file (a regular file), NUL-terminated: at most
 * HV_CONFIG_MAX_TEXT + 1 bytes, for the parser to see it is too large.
 * Errors printed. */
int read_config_file(struct hvctl *h, const char *path, char **ret, size_t *ret_len);
/* The directory part of path ("" for a bare name). */
void file_dir(const char *path, char *buf, size_t size);
/* path, relative to dir unless absolute. */
int resolve_path(const char *dir, const char *path, char *buf, size_t size);

/* output.c. Whatever reaches the terminal goes through these: strings
 * from hvisord (names, paths, messages) may hold control characters, which
 * are escaped (str_escape). */
struct table;
struct table *table_new(size_t ncols, ...);
void table_add(struct table *t, ...); /* ncols strings (NULL: "-"), escaped */
void table_print(struct table *t, FILE *f);
void table_free(struct table *t);
/* vasprintf, escaped (malloc'd; aborts when out of memory). */
char *format_escaped(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* One line on stdout, escaped as a whole; the newline is added. */
void print_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* JSON text with DEL, C1 and bidi controls \u-escaped too. */
void print_json_flags(json_object *o, int flags);
void print_json(json_object *o); /* pretty */
void format_time_usec(uint64_t usec, char *buf, size_t size);
uint64_t json_u64(json_object *o, const char *key);
const char *json_str(json_object *o, const char *key);
/* "2, 3" from a JSON array of CPU numbers */
void format_cpus(json_object *cpus, const char *sep, char *buf, size_t size);

extern const struct command zone_commands[];
extern const struct command virtio_commands[];
extern const struct command console_commands[];
extern const struct command daemon_commands[];
extern const struct command check_commands[];
int compat_main(struct hvctl *h, int argc, char **argv);
int zone_start_file(struct hvctl *h, const char *path);
int zone_shutdown_id(struct hvctl *h, uint32_t id);
int zone_list_upstream(struct hvctl *h);

#endif
