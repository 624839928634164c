// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "util.h"

static const char *log_ident = "hvisor";
static enum log_target log_target = LOG_TARGET_STDERR;
static int log_level = LOG_INFO;
static int syslog_open;

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",	  [LOG_CRIT] = "crit",
	[LOG_ERR] = "err",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

void log_set_target(enum log_target target)
{
	log_target = target;
	if (target == LOG_TARGET_SYSLOG && !syslog_open) {
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		syslog_open = 1;
	}
}

void log_reopen(void)
{
	if (!syslog_open)
		return;
	closelog();
	openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_init(const char *ident, enum log_target target, int level)
{
	log_ident = ident;
	log_level = level;
	log_set_target(target);
}

void log_set_level(int level)
{
	if (level >= LOG_EMERG && level <= LOG_DEBUG)
		log_level = level;
}

int log_get_level(void)
{
	return log_level;
}

int log_level_from_string(const char *s)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	if (strcasecmp(s, "error") == 0)
		return LOG_ERR;
	if (strcasecmp(s, "warn") == 0)
		return LOG_WARNING;
	v = strtol(s, &end, 10);
	if (*end || v < LOG_EMERG || v > LOG_DEBUG)
		return -EINVAL;
	return (int)v;
}

const char *log_level_to_string(int level)
{
	if (level < LOG_EMERG || level > LOG_DEBUG)
		return "?";
	return level_names[level];
}

static void log_vmsg(int prio, const char *suffix, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static void log_vmsg(int prio, const char *suffix, const char *fmt, va_list ap)
{
	char buf[2048], line[4 * sizeof(buf)]; /* an escape is at most 4 bytes per byte */
	int saved = errno, n;

	if (prio > log_level)
		return;
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (suffix && n >= 0 && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - (size_t)n, ": %s", suffix);
	/* one line per message, whatever a name or path in it holds */
	str_escape(buf, STR_ESCAPE_C, line, sizeof(line));
	if (log_target == LOG_TARGET_SYSLOG) {
		syslog(prio, "%s", line);
	} else {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%02d:%02d:%02d.%03ld %s[%d] %s: %s\n", tm.tm_hour, tm.tm_min,
			tm.tm_sec, ts.tv_nsec / 1000000, log_ident, (int)getpid(),
			log_level_to_string(prio), line);
	}
	errno = saved;
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, NULL, fmt, ap);
	va_end(ap);
}

int log_errno(int prio, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, strerror(r < 0 ? -r : r), fmt, ap);
	va_end(ap);
	return r < 0 ? r : -r;
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
