/*
 * check_log.c - the structured log: every line parses as one JSON object
 * with level, component, event and the ids of the message, and no full
 * phone number ever reaches stderr.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "log.h"

/* Runs one log call with stderr captured; returns the line written (caller frees). */
static char *
capture(enum log_level level, const char *text)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	char *line = NULL;
	size_t cap = 0;

	ck_assert_ptr_nonnull(tmp);
	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	log_msg(level, "%s", text);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	if (getline(&line, &cap, tmp) < 0) {
		free(line);
		line = NULL;
	}
	fclose(tmp);
	return line;
}

static json_t *
capture_json(enum log_level level, const char *text)
{
	char *line = capture(level, text);
	json_error_t err;
	json_t *obj;

	ck_assert_msg(line != NULL, "nothing logged for %s", text);
	ck_assert_msg(line[strlen(line) - 1] == '\n', "line not terminated: %s", line);
	ck_assert_msg(strchr(line, '\n') == line + strlen(line) - 1, "two lines: %s", line);
	obj = json_loads(line, 0, &err);
	ck_assert_msg(obj != NULL, "not JSON (%s): %s", err.text, line);
	free(line);
	return obj;
}

static const char *
field(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_string(v), "no string %s", key);
	return json_string_value(v);
}

START_TEST(test_fields)
{
	json_t *o;

	log_set_level(LOG_DEBUG);
	o = capture_json(LOG_WARN, "outbox: id=42 attempt 3 failed, retry in 2000 ms: HTTP 500");
	ck_assert_str_eq(field(o, "level"), "warn");
	ck_assert_str_eq(field(o, "component"), "outbox");
	ck_assert_str_eq(field(o, "event"), "outbox.attempt_failed");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "id")), 42);
	ck_assert_str_eq(field(o, "msg"), "id=42 attempt 3 failed, retry in 2000 ms: HTTP 500");
	ck_assert_msg(strlen(field(o, "ts")) == 24, "%s", field(o, "ts"));
	json_decref(o);

	o = capture_json(LOG_INFO, "inbound: conversation=7 message=19 triage=none status=active");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "conversation")), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "message")), 19);
	ck_assert_ptr_null(json_object_get(o, "triage"));
	json_decref(o);

	o = capture_json(LOG_ERROR, "db: connection 2 lost: server closed the connection");
	ck_assert_str_eq(field(o, "event"), "db.connection_lost");
	json_decref(o);

	o = capture_json(LOG_INFO, "no component here \"quoted\"\ttab \\ back");
	ck_assert_str_eq(field(o, "component"), "carenav");
	ck_assert_str_eq(field(o, "msg"), "no component here \"quoted\"\ttab \\ back");
	json_decref(o);
}
END_TEST

START_TEST(test_phone_scrubbed)
{
	char *line;

	log_set_level(LOG_DEBUG);
	line = capture(LOG_INFO, "intake: message from +15551230001 spooled");
	ck_assert_ptr_null(strstr(line, "15551230001"));
	ck_assert_ptr_nonnull(strstr(line, "+*******0001"));
	free(line);
}
END_TEST

START_TEST(test_level_filter)
{
	char *line;

	log_set_level(LOG_WARN);
	line = capture(LOG_INFO, "outbox: quiet");
	ck_assert_ptr_null(line);
	line = capture(LOG_ERROR, "outbox: loud");
	ck_assert_ptr_nonnull(line);
	free(line);
}
END_TEST

START_TEST(test_text_format)
{
	char *line;

	log_set_level(LOG_INFO);
	log_set_json(false);
	line = capture(LOG_INFO, "outbox: id=1 sent");
	ck_assert_ptr_nonnull(strstr(line, " info outbox: id=1 sent"));
	ck_assert_int_ne(line[0], '{');
	free(line);
	log_set_json(true);
}
END_TEST

CHECK_RUN_MAIN("log", 30, test_fields, test_phone_scrubbed, test_level_filter, test_text_format)
