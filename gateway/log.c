/*
 * log.c - leveled, structured logging to stderr. See log.h.
 *
 * Each line is one JSON object, so a log shipper (journald, Loki, Vector)
 * can index it without a parser of ours:
 *   {"ts":"2026-11-27T10:00:00.123Z","level":"info","pid":42,"component":"outbox",
 *    "event":"outbox.attempt_failed","id":42,"msg":"id=42 attempt 3 failed, ..."}
 * The call sites stay printf-style ("outbox: id=%lld ..."): the text before
 * the first ": " is the component, the first two words after it name the
 * event, and every "key=<number>" becomes a numeric field, so ids can be
 * searched. LOG_FORMAT=text gives the old plain lines for a terminal.
 *
 * Privacy net: call sites never pass bodies and mask numbers with
 * log_mask_phone(); as a second line of defence, any "+" followed by six or
 * more digits is masked here before the line is written.
 *
 * stderr is unbuffered, so each line is one write and survives a crash.
 */
#include "log.h"

#include <ctype.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Largest message text kept; longer ones are cut. */
#define LOG_MSG_MAX 2048
/* Largest JSON line: every byte of the message may need escaping. */
#define LOG_LINE_MAX (LOG_MSG_MAX * 6 + 512)
/* Numeric "key=value" fields lifted out of one message. */
#define LOG_MAX_IDS 6

static enum log_level log_level = LOG_INFO;
static bool log_json = true;
/* Read once: glibc asks the kernel on every getpid(), a system call per text
 * at one line each; this process forks only to exec at once (gateway/doctor.c, gateway/main.c). */
static long log_pid;

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

void
log_set_json(bool json)
{
	log_json = json;
}

bool
log_enabled(enum log_level level)
{
	return level <= log_level;
}

/* Masks "+" followed by six or more digits in place, keeping the last four. */
static void
log_scrub_phones(char *s)
{
	for (char *p = s; *p != '\0'; p++) {
		size_t n = 0;

		if (*p != '+')
			continue;
		while (isdigit((unsigned char)p[1 + n]))
			n++;
		if (n < 6)
			continue;
		for (size_t i = 0; i < n - 4; i++)
			p[1 + i] = '*';
		p += n;
	}
}

/* A growing line buffer that silently stops at its end. */
struct log_buf {
	char *p;
	size_t len, cap;
};

static void
log_put(struct log_buf *b, const char *s, size_t n)
{
	if (n > b->cap - 1 - b->len)
		n = b->cap - 1 - b->len;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
log_puts(struct log_buf *b, const char *s)
{
	log_put(b, s, strlen(s));
}

/* Appends s as the inside of a JSON string. */
static void
log_put_escaped(struct log_buf *b, const char *s, size_t n)
{
	char esc[8];

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			log_put(b, esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			log_put(b, esc, 6);
		} else {
			log_put(b, (const char *)&c, 1);
		}
	}
}

/* "component: two words ..." -> event "component.two_words" (letters only). */
static void
log_put_event(struct log_buf *b, const char *comp, size_t comp_len, const char *text)
{
	const char *p = text;
	int words = 0;

	log_put_escaped(b, comp, comp_len);
	while (*p != '\0' && words < 2) {
		const char *w = p;
		size_t n = strcspn(p, " ,:;()");
		bool alpha = n > 0;

		for (size_t i = 0; i < n; i++)
			alpha = alpha && (isalpha((unsigned char)w[i]) || w[i] == '-' || w[i] == '_');
		if (alpha) {
			log_puts(b, words == 0 ? "." : "_");
			for (size_t i = 0; i < n; i++) {
				char c = (char)tolower((unsigned char)w[i]);

				log_put(b, c == '-' ? "_" : &c, 1);
			}
			words++;
		}
		p += n;
		if (*p == ':')
			break;  /* what follows a second colon is a cause, not the event */
		if (*p != '\0')
			p++;
	}
}

/* Appends ,"key":value for each "key=digits" word of text (first LOG_MAX_IDS). */
static void
log_put_ids(struct log_buf *b, const char *text)
{
	const char *p = text;
	int found = 0;

	while ((p = strchr(p, '=')) != NULL && found < LOG_MAX_IDS) {
		const char *k = p, *v = p + 1;
		size_t vn = 0;

		while (k > text && (isalnum((unsigned char)k[-1]) || k[-1] == '_'))
			k--;
		while (isdigit((unsigned char)v[vn]))
			vn++;
		p++;
		if (k == p - 1 || vn == 0 || vn > 18 || isalnum((unsigned char)v[vn]) ||
		    !isalpha((unsigned char)*k) || (k > text && k[-1] != ' '))
			continue;
		/* Field names of our own must not be overwritten. */
		if ((p - 1 - k == 3 && strncmp(k, "pid", 3) == 0) ||
		    (p - 1 - k == 2 && strncmp(k, "ts", 2) == 0))
			continue;
		log_puts(b, ",\"");
		log_put(b, k, (size_t)(p - 1 - k));
		log_puts(b, "\":");
		log_put(b, v, vn);
		found++;
	}
}

static void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char msg[LOG_MSG_MAX], stamp[48], line[LOG_LINE_MAX];
	struct log_buf b = { line, 0, sizeof line };
	const char *text = msg, *colon;
	size_t comp_len = 0;
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + strlen(stamp), sizeof stamp - strlen(stamp), ".%03ldZ",
	    (long)(tv.tv_usec / 1000));
	vsnprintf(msg, sizeof msg, fmt, ap);
	log_scrub_phones(msg);
	line[0] = '\0';
	if (!log_json) {
		fprintf(stderr, "%s %s %s\n", stamp, log_level_names[level], msg);
		return;
	}
	colon = strstr(msg, ": ");
	if (colon != NULL && (size_t)(colon - msg) <= 24 && strcspn(msg, " =") >= (size_t)(colon - msg)) {
		comp_len = (size_t)(colon - msg);
		text = colon + 2;
	}
	snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"pid\":%ld,\"component\":\"", stamp,
	    log_level_names[level], log_pid ? log_pid : (log_pid = (long)getpid()));
	b.len = strlen(line);
	log_put_escaped(&b, comp_len ? msg : "carenav", comp_len ? comp_len : 7);
	log_puts(&b, "\",\"event\":\"");
	log_put_event(&b, comp_len ? msg : "carenav", comp_len ? comp_len : 7, text);
	log_puts(&b, "\"");
	log_put_ids(&b, text);
	log_puts(&b, ",\"msg\":\"");
	log_put_escaped(&b, text, strlen(text));
	/* Room for the closing characters is kept even when the message was cut. */
	if (b.len > sizeof line - 4)
		b.len = sizeof line - 4;
	memcpy(line + b.len, "\"}\n", 4);
	fputs(line, stderr);
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

bool
log_throttle_due(struct log_throttle *t, double now_ms, double every_ms, unsigned long *count)
{
	t->pending++;
	if (now_ms < t->next_ms)
		return false;
	*count = t->pending;
	t->pending = 0;
	t->next_ms = now_ms + every_ms;
	return true;
}
