/*
 * log.c - leveled logging to stderr. See log.h.
 *
 * Lines look like "2026-11-27T10:00:00.123Z info outbox: sent id=42".
 * stderr is unbuffered, so each line is one write and survives a crash.
 */
#include "log.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static enum log_level log_level = LOG_INFO;

static const char *const log_level_names[] = {
#define X(id, name) [id] = name,
	LOG_LEVEL_LIST(X)
#undef X
};

bool
log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof log_level_names / sizeof log_level_names[0]; i++) {
		if (strcmp(name, log_level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

bool
log_enabled(enum log_level level)
{
	return level <= log_level;
}

static void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[2048], stamp[32];
	struct timeval tv;
	struct tm tm;
	int n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof line, "%s.%03ldZ %s ", stamp, (long)(tv.tv_usec / 1000),
	    log_level_names[level]);
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

static void
log_libevent_cb(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warn("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

void
log_capture_libevent(void)
{
	event_set_log_callback(log_libevent_cb);
}

const char *
log_mask_phone(const char *phone, char *buf, size_t size)
{
	size_t len = phone ? strlen(phone) : 0;

	if (len <= 4)
		snprintf(buf, size, "***");
	else
		snprintf(buf, size, "***%s", phone + len - 4);
	return buf;
}
