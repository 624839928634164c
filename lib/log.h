/* SPDX-License-Identifier: GPL-2.0-only */
/* The logging vocabulary of every program (OpenBSD-style, small):
 *   log_debug/log_info/log_notice/log_warn/log_err  plain messages
 *   log_errno(prio, r, ...)                          appends strerror(-r), returns r
 *   fatal(...)                                       logs and exits 1
 * Targets: stderr (default) or syslog; the level can change at run time.
 * Every message is one line: control characters in it are escaped
 * (str_escape, C style), so a name or path cannot forge a line. */
#ifndef HV_LOG_H
#define HV_LOG_H

#include <syslog.h>

#include "macro.h"

enum log_target {
	LOG_TARGET_STDERR,
	LOG_TARGET_SYSLOG,
};

void log_init(const char *ident, enum log_target target, int level);
void log_set_level(int level);
int log_get_level(void);
void log_set_target(enum log_target target);
/* Connects to syslog again (after syslogd restarted); nothing for stderr. */
void log_reopen(void);
/* "debug", "info", "notice", "warning", "err"/"error", "crit" or a number 0..7. */
int log_level_from_string(const char *s);
const char *log_level_to_string(int level);

void log_msg(int prio, const char *fmt, ...) _printf_(2, 3);
/* Logs "msg: strerror(-r)" and returns r (which must be negative), so callers
 * can `return log_errno(LOG_ERR, r, "...")`. */
int log_errno(int prio, int r, const char *fmt, ...) _printf_(3, 4);
_noreturn_ void fatal(const char *fmt, ...) _printf_(1, 2);

#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)

#endif
