/*
 * log.h - leveled logging to stderr, one JSON object per line (see log.c).
 *
 * Never log message bodies; log phone numbers only through log_mask_phone()
 * (STYLE §5). Debug calls check the level before evaluating their arguments.
 */
#ifndef CARENAV_GATEWAY_LOG_H
#define CARENAV_GATEWAY_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "attrs.h"

#define LOG_LEVEL_LIST(X) \
	X(LOG_ERROR, "error") \
	X(LOG_WARN, "warn")   \
	X(LOG_INFO, "info")   \
	X(LOG_DEBUG, "debug")

enum log_level {
#define X(id, name) id,
	LOG_LEVEL_LIST(X)
#undef X
};

/* Parses "error".."debug"; false if unknown. */
bool log_level_parse(const char *name, enum log_level *out) CN_MUSTCHECK;
void log_set_level(enum log_level level);
/* true (the default): JSON lines; false: plain "time level text" lines. */
void log_set_json(bool json);
bool log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) CN_PRINTF(2, 3);
/* Logs and exits(1): only for startup, configuration and broken invariants. */
void fatalx(const char *fmt, ...) CN_PRINTF(1, 2) CN_NORETURN;
/* Routes libevent's internal warnings into our log. */
void log_capture_libevent(void);
/* Writes "+1555***0001"-style masking of a phone number into buf. */
const char *log_mask_phone(const char *phone, char *buf, size_t size);

/*
 * Rate-limits one kind of warning under a flood: the first event is logged
 * at once, later ones are only counted until every_ms has passed, and the
 * next line reports how many it stands for.
 */
struct log_throttle {
	double next_ms;         /* monotonic ms before which events are only counted */
	unsigned long pending;  /* events counted since the last line */
};
/* Counts one event; true when a line is due now, *count = the events it covers (this one included). */
bool log_throttle_due(struct log_throttle *t, double now_ms, double every_ms, unsigned long *count)
    CN_MUSTCHECK;

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) do { if (log_enabled(LOG_INFO)) log_msg(LOG_INFO, __VA_ARGS__); } while (0)
#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
