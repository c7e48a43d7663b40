/*
 * check_engine.c - unit tests for the dialogue engine (gateway/engine.c).
 *
 * Environment:
 *   FLOW_FILE       path to the flow under test (sql/flows/back_pain.json)
 *   FLOW_TEST_DATA  directory with transcripts/ (tests/data/flows)
 *
 * Most cases are transcripts, replayed by a table-driven test: see
 * tests/data/flows/README.md for the format. Every step also round-trips
 * the state through engine_state_to_json()/engine_state_from_json(), as the
 * daemon does with its jsonb column. The rest are direct tests of corners a
 * transcript cannot express (random bytes, state JSON errors).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "file_text.h"
#include "engine.h"
#include "flow.h"
#include "segment.h"
#include "xmalloc.h"

#define DEFAULT_IDLE_MS (24LL * 3600 * 1000)
#define DEFAULT_GAP_MS 60000LL

static struct flow *test_flow;

static void
load_flow(void)
{
	const char *path = getenv("FLOW_FILE");
	size_t len;
	char *text, *cause = NULL;

	if (path == NULL)
		path = "sql/flows/back_pain.json";
	text = file_text_read(path, &len);
	test_flow = flow_load(text, len, &cause);
	ck_assert_msg(test_flow != NULL, "flow %s: %s", path, cause ? cause : "?");
	free(text);
}

static void
unload_flow(void)
{
	flow_free(test_flow);
	test_flow = NULL;
}

/* ---- transcript runner ---- */

struct transcript {
	const char *file;
	struct conv_state *state;
	struct engine_result res;
	bool have_res;
	size_t next_reply; /* next reply a "<" line checks */
	int64_t now;
	int failures;
	size_t total_segments; /* segments sent since the conversation started (or "= reset_total") */
	char *log; /* the conversation so far, for failure messages */
	size_t loglen;
};

static void
tlog(struct transcript *t, const char *prefix, const char *s)
{
	char *line = xasprintf("%s%s\n", prefix, s);
	size_t n = strlen(line);

	t->log = xrealloc(t->log, t->loglen + n + 1);
	memcpy(t->log + t->loglen, line, n + 1);
	t->loglen += n;
	free(line);
}

static void
tfail(struct transcript *t, int lineno, const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "%s:%d: ", t->file, lineno);
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\n--- conversation so far ---\n%s---\n", t->log ? t->log : "");
	t->failures++;
}

struct step_opts {
	enum triage_level triage;
	char reasons[256];
	char matched[256];
	char lang[16];
	bool handoff;
	int64_t wait;
	bool raw; /* text is hex bytes */
};

static size_t
unhex(const char *s, char *out)
{
	size_t n = 0;
	unsigned v;

	while (*s != '\0' && sscanf(s, "%2x", &v) == 1) {
		out[n++] = (char)v;
		s += 2;
		while (*s == ' ')
			s++;
	}
	return n;
}

/* Segments the step's replies take as sent: joined into one message, folded to GSM-7. */
static size_t
step_segments(const struct engine_result *res)
{
	char *joined = engine_result_text(res), *sent;
	size_t n;

	sent = segment_fold_gsm7(joined);
	n = segment_count(sent, strlen(sent), NULL);
	free(sent);
	free(joined);
	return n;
}

static void
run_step(struct transcript *t, const char *text, struct step_opts *o)
{
	struct engine_input in;
	const char *reasons[16];
	size_t nreasons = 0;
	char *rcopy = xstrdup(o->reasons), *tok, *save = NULL, *json, *cause = NULL;
	char bytes[1024];
	struct conv_state *back;

	memset(&in, 0, sizeof in);
	for (tok = strtok_r(rcopy, ",", &save); tok != NULL && nreasons < 16;
	    tok = strtok_r(NULL, ",", &save))
		reasons[nreasons++] = tok;
	t->now += o->wait ? o->wait : DEFAULT_GAP_MS;
	if (o->raw) {
		in.len = unhex(text, bytes);
		in.text = bytes;
	} else {
		in.text = text;
		in.len = strlen(text);
	}
	in.now_ms = t->now;
	in.idle_reset_ms = DEFAULT_IDLE_MS;
	in.detected_lang = o->lang[0] ? o->lang : "en";
	in.triage = o->triage;
	in.triage_reasons = reasons;
	in.ntriage_reasons = nreasons;
	in.triage_matched = o->matched[0] ? o->matched : NULL;
	in.handoff = o->handoff;
	if (t->have_res)
		engine_result_free(&t->res);
	engine_step(test_flow, t->state, &in, &t->res);
	t->have_res = true;
	t->next_reply = 0;
	t->total_segments += step_segments(&t->res);
	tlog(t, "> ", text);
	for (size_t i = 0; i < t->res.nreplies; i++)
		tlog(t, "< ", t->res.replies[i]);
	for (size_t i = 0; i < t->res.nactions; i++) {
		char *a = xasprintf("%s %s %s", engine_action_name(t->res.actions[i].kind),
		    t->res.actions[i].reason, t->res.actions[i].detail ? t->res.actions[i].detail : "-");

		tlog(t, "! ", a);
		free(a);
	}
	/* The daemon stores the state as JSON between messages: do the same. */
	json = engine_state_to_json(t->res.next);
	ck_assert_msg(engine_state_from_json(json, &back, &cause), "state round trip: %s", cause);
	{
		char *again = engine_state_to_json(back);

		ck_assert_str_eq(json, again);
		free(again);
	}
	free(json);
	engine_state_free(t->state);
	t->state = back;
	free(rcopy);
	memset(o, 0, sizeof *o);
}

static bool
has_action(const struct engine_result *res, const char *kind, const char *reason)
{
	for (size_t i = 0; i < res->nactions; i++)
		if (strcmp(engine_action_name(res->actions[i].kind), kind) == 0 &&
		    (reason == NULL || strcmp(res->actions[i].reason, reason) == 0))
			return true;
	return false;
}

static void
check_expect(struct transcript *t, int lineno, char *what)
{
	char *arg = what + strcspn(what, " ");
	const struct conv_state *st = t->state;
	char num[32];

	if (*arg != '\0')
		*arg++ = '\0';
	if (strcmp(what, "node") == 0) {
		const char *n = engine_state_node(st);

		if (strcmp(n ? n : "-", arg) != 0)
			tfail(t, lineno, "node is %s, want %s", n ? n : "-", arg);
	} else if (strcmp(what, "var") == 0) {
		char *val = arg + strcspn(arg, " ");
		const char *v;

		if (*val != '\0')
			*val++ = '\0';
		v = engine_state_var(st, arg);
		if (strcmp(v ? v : "-", val) != 0)
			tfail(t, lineno, "var is %s, want %s", v ? v : "-", val);
	} else if (strcmp(what, "lang") == 0) {
		if (strcmp(engine_state_lang(st), arg) != 0)
			tfail(t, lineno, "lang is %s, want %s", engine_state_lang(st), arg);
	} else if (strcmp(what, "tries") == 0) {
		(void)snprintf(num, sizeof num, "%d", engine_state_tries(st));
		if (strcmp(num, arg) != 0)
			tfail(t, lineno, "tries is %s, want %s", num, arg);
	} else if (strcmp(what, "opted_out") == 0) {
		if (engine_state_opted_out(st) != (strcmp(arg, "yes") == 0))
			tfail(t, lineno, "opted_out is %s, want %s", engine_state_opted_out(st) ? "yes" : "no", arg);
	} else if (strcmp(what, "replies") == 0) {
		(void)snprintf(num, sizeof num, "%zu", t->res.nreplies);
		if (strcmp(num, arg) != 0)
			tfail(t, lineno, "%s replies, want %s", num, arg);
	} else if (strcmp(what, "actions") == 0) {
		(void)snprintf(num, sizeof num, "%zu", t->res.nactions);
		if (strcmp(num, arg) != 0)
			tfail(t, lineno, "%s actions, want %s", num, arg);
	} else if (strcmp(what, "action") == 0 || strcmp(what, "no-action") == 0) {
		char *reason = arg + strcspn(arg, " ");
		bool want = what[0] == 'a';

		if (*reason != '\0')
			*reason++ = '\0';
		if (has_action(&t->res, arg, *reason ? reason : NULL) != want)
			tfail(t, lineno, want ? "missing action %s %s" : "unexpected action %s %s", arg, reason);
	} else if (strcmp(what, "detail") == 0) {
		bool found = false;

		for (size_t i = 0; i < t->res.nactions; i++)
			if (t->res.actions[i].detail != NULL && strcmp(t->res.actions[i].detail, arg) == 0)
				found = true;
		if (!found)
			tfail(t, lineno, "no action with detail %s%s", arg, "");
	} else if (strcmp(what, "silent") == 0) {
		if (t->res.nreplies != 0 || t->res.nactions != 0)
			tfail(t, lineno, "expected no reply and no action%s%s", "", "");
	} else if (strcmp(what, "step_segments") == 0) {
		/* The step's replies as sent: joined into one message, folded to GSM-7. */
		size_t n = step_segments(&t->res);

		(void)snprintf(num, sizeof num, "%zu", n);
		if (n > (size_t)atoi(arg))
			tfail(t, lineno, "the step's message needs %s segments, want at most %s", num, arg);
	} else if (strcmp(what, "total_segments") == 0) {
		/* Every segment sent since the conversation started (or the last "= reset_total"). */
		(void)snprintf(num, sizeof num, "%zu", t->total_segments);
		if (t->total_segments > (size_t)atoi(arg))
			tfail(t, lineno, "the conversation so far needs %s segments, want at most %s", num, arg);
	} else if (strcmp(what, "reset_total") == 0) {
		t->total_segments = 0;
	} else if (strcmp(what, "segments") == 0) {
		/* Every reply of this step, folded to GSM-7 as sent by default, fits in at most N segments. */
		for (size_t i = 0; i < t->res.nreplies; i++) {
			char *sent = segment_fold_gsm7(t->res.replies[i]);
			size_t n = segment_count(sent, strlen(sent), NULL);

			free(sent);
			(void)snprintf(num, sizeof num, "%zu", n);
			if (n > (size_t)atoi(arg))
				tfail(t, lineno, "a reply needs %s segments, want at most %s", num, arg);
		}
	} else
		tfail(t, lineno, "unknown expectation '%s'%s", what, "");
}

/* Replays one transcript file; returns the number of failed expectations. */
static int
run_transcript(const char *path)
{
	struct transcript t;
	struct step_opts o;
	FILE *f = fopen(path, "r");
	char line[4096];
	int lineno = 0;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	memset(&t, 0, sizeof t);
	memset(&o, 0, sizeof o);
	t.file = path;
	t.now = 1700000000000LL;
	ck_assert(engine_state_from_json("", &t.state, &(char *){ NULL }));
	while (fgets(line, sizeof line, f) != NULL) {
		size_t n = strlen(line);

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (strncmp(line, "> ", 2) == 0 || strcmp(line, ">") == 0) {
			/* "\n" in a transcript text stands for a newline. */
			char *text = xstrdup(n > 2 ? line + 2 : ""), *p;

			while ((p = strstr(text, "\\n")) != NULL) {
				*p = '\n';
				memmove(p + 1, p + 2, strlen(p + 2) + 1);
			}
			run_step(&t, text, &o);
			free(text);
		} else if (strncmp(line, "< ", 2) == 0) {
			/* In order: this reply or a later one; several lines may hit one reply. */
			size_t k = t.next_reply;

			while (t.have_res && k < t.res.nreplies && strstr(t.res.replies[k], line + 2) == NULL)
				k++;
			if (!t.have_res || k >= t.res.nreplies)
				tfail(&t, lineno, "no reply (in order) contains '%s'%s", line + 2, "");
			else
				t.next_reply = k;
		} else if (strncmp(line, "<! ", 3) == 0) {
			for (size_t i = 0; t.have_res && i < t.res.nreplies; i++)
				if (strstr(t.res.replies[i], line + 3) != NULL)
					tfail(&t, lineno, "reply '%s' has '%s'", t.res.replies[i], line + 3);
		} else if (strncmp(line, "= ", 2) == 0)
			check_expect(&t, lineno, line + 2);
		else if (strncmp(line, "! ", 2) == 0) {
			char *kv = line + 2, *val = kv + strcspn(kv, " ");

			if (*val != '\0')
				*val++ = '\0';
			if (strcmp(kv, "triage") == 0)
				o.triage = strcmp(val, "emergency") == 0 ? TRIAGE_EMERGENCY :
				    strcmp(val, "see_doctor") == 0 ? TRIAGE_SEE_DOCTOR : TRIAGE_NONE;
			else if (strcmp(kv, "reasons") == 0)
				(void)snprintf(o.reasons, sizeof o.reasons, "%s", val);
			else if (strcmp(kv, "matched") == 0)
				(void)snprintf(o.matched, sizeof o.matched, "%s", val);
			else if (strcmp(kv, "lang") == 0)
				(void)snprintf(o.lang, sizeof o.lang, "%s", val);
			else if (strcmp(kv, "handoff") == 0)
				o.handoff = true;
			else if (strcmp(kv, "raw") == 0)
				o.raw = true;
			else if (strcmp(kv, "wait") == 0)
				o.wait = atoll(val);
			else
				tfail(&t, lineno, "unknown option '%s'%s", kv, "");
		} else
			tfail(&t, lineno, "cannot parse line '%s'%s", line, "");
	}
	fclose(f);
	if (t.have_res)
		engine_result_free(&t.res);
	engine_state_free(t.state);
	free(t.log);
	return t.failures;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(test_transcripts)
{
	const char *dir = getenv("FLOW_TEST_DATA");
	char *path = xasprintf("%s/transcripts", dir ? dir : "tests/data/flows");
	DIR *d = opendir(path);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	int failures = 0;

	ck_assert_msg(d != NULL, "cannot open %s", path);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		/* TRANSCRIPT=name runs only the transcripts whose file name contains it. */
		if (getenv("TRANSCRIPT") != NULL && strstr(e->d_name, getenv("TRANSCRIPT")) == NULL)
			continue;
		if (l > 4 && strcmp(e->d_name + l - 4, ".txt") == 0) {
			names = xreallocarray(names, n + 1, sizeof *names);
			names[n++] = xasprintf("%s/%s", path, e->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof *names, name_cmp);
	for (size_t i = 0; i < n; i++) {
		failures += run_transcript(names[i]);
		free(names[i]);
	}
	free(names);
	free(path);
	ck_assert_msg(n >= 10 || getenv("TRANSCRIPT") != NULL, "only %zu transcripts", n);
	ck_assert_msg(failures == 0, "%d transcript expectations failed (see stderr)", failures);
}
END_TEST

/* ---- direct tests ---- */

static void
step(const struct conv_state *st, const char *text, enum triage_level triage, bool handoff,
    int64_t now, struct engine_result *res)
{
	static const char *const reasons[] = { "cauda_equina" };
	struct engine_input in;

	memset(&in, 0, sizeof in);
	in.text = text;
	in.len = text ? strlen(text) : 0;
	in.now_ms = now;
	in.idle_reset_ms = DEFAULT_IDLE_MS;
	in.detected_lang = "en";
	in.triage = triage;
	in.triage_reasons = reasons;
	in.ntriage_reasons = triage == TRIAGE_EMERGENCY ? 1 : 0;
	in.triage_matched = "lost bladder control";
	in.handoff = handoff;
	engine_step(test_flow, st, &in, res);
}

START_TEST(test_null_state_is_fresh)
{
	struct engine_result res;

	step(NULL, "hello", TRIAGE_NONE, false, 1000, &res);
	ck_assert_uint_eq(res.nreplies, 2);
	ck_assert_str_eq(engine_state_node(res.next), "screen");
	ck_assert_int_eq(engine_state_last_activity(res.next), 1000);
	engine_result_free(&res);
	ck_assert_ptr_null(res.next);
	engine_result_free(NULL);
}
END_TEST

START_TEST(test_state_json_shape)
{
	struct engine_result res;
	struct conv_state *st;
	char *json, *cause = NULL;

	step(NULL, "hi", TRIAGE_NONE, false, 5000, &res);
	json = engine_state_to_json(res.next);
	ck_assert_ptr_nonnull(strstr(json, "\"node\":\"screen\""));
	ck_assert_ptr_nonnull(strstr(json, "\"lang\":\"en\""));
	ck_assert_ptr_nonnull(strstr(json, "\"last_activity\":5000"));
	ck_assert_ptr_nonnull(strstr(json, "\"v\":1"));
	ck_assert(engine_state_from_json(json, &st, &cause));
	ck_assert_str_eq(engine_state_node(st), "screen");
	engine_state_free(st);
	free(json);
	engine_result_free(&res);

	ck_assert(engine_state_from_json(NULL, &st, &cause));
	ck_assert_ptr_null(engine_state_node(st));
	ck_assert_str_eq(engine_state_lang(st), "");
	json = engine_state_to_json(st);
	ck_assert_ptr_nonnull(strstr(json, "\"opted_out\":false"));
	free(json);
	engine_state_free(st);
	engine_state_free(NULL);
}
END_TEST

static const char *const bad_states[] = {
	"{", "[]", "42", "{\"v\":2}", "{\"node\":5}", "{\"tries\":-1}", "{\"tries\":\"x\"}",
	"{\"lang\":\"a-very-long-language-code\"}", "{\"vars\":[]}", "{\"vars\":{\"a\":1}}",
	"{\"flags\":{\"see_doctor_sent\":1}}", "{\"flags\":[]}", "{\"escalated\":{}}",
	"{\"escalated\":[1]}", "{\"opted_out\":\"yes\"}", "{\"last_activity\":-5}",
	"{\"node\":\"a\",\"node\":\"b\"}", "{\"noted\":\"region\"}", "{\"noted\":[7]}",
	"{\"flags\":{\"see_doctor_due\":\"yes\"}}",
};

START_TEST(test_state_json_rejects)
{
	struct conv_state *st = (struct conv_state *)1;
	char *cause = NULL;

	ck_assert_msg(!engine_state_from_json(bad_states[_i], &st, &cause), "accepted %s", bad_states[_i]);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(cause);
	ck_assert_ptr_nonnull(strstr(cause, "state"));
	free(cause);
}
END_TEST

START_TEST(test_state_unknown_node_restarts)
{
	struct conv_state *st;
	struct engine_result res;
	char *cause = NULL;

	ck_assert(engine_state_from_json("{\"v\":1,\"node\":\"removed_node\",\"lang\":\"es\",\"last_activity\":1}",
	    &st, &cause));
	step(st, "2", TRIAGE_NONE, false, 1000, &res);
	ck_assert_str_eq(engine_state_node(res.next), "screen");
	ck_assert_ptr_nonnull(strstr(res.replies[0], "Hola"));
	engine_result_free(&res);
	engine_state_free(st);
}
END_TEST

START_TEST(test_old_state_untouched)
{
	struct engine_result a, b;
	char *before, *after;

	step(NULL, "hi", TRIAGE_NONE, false, 1000, &a);
	before = engine_state_to_json(a.next);
	step(a.next, "no", TRIAGE_NONE, false, 2000, &b);
	after = engine_state_to_json(a.next);
	ck_assert_str_eq(before, after);
	ck_assert_str_eq(engine_state_node(b.next), "region");
	free(before);
	free(after);
	engine_result_free(&a);
	engine_result_free(&b);
}
END_TEST

START_TEST(test_opted_out_red_flag_escalates_silently)
{
	struct engine_result a, b, c;

	step(NULL, "STOP", TRIAGE_NONE, false, 1000, &a);
	ck_assert(engine_state_opted_out(a.next));
	step(a.next, "I lost bladder control", TRIAGE_EMERGENCY, false, 2000, &b);
	ck_assert_uint_eq(b.nreplies, 0);
	ck_assert_uint_eq(b.nactions, 1);
	ck_assert_int_eq(b.actions[0].kind, ENGINE_ACTION_ESCALATE);
	ck_assert_str_eq(b.actions[0].reason, "cauda_equina");
	ck_assert_str_eq(b.actions[0].detail, "lost bladder control");
	/* Every red flag while opted out reaches staff, even a repeated one. */
	step(b.next, "still no bladder control", TRIAGE_EMERGENCY, false, 3000, &c);
	ck_assert_uint_eq(c.nreplies, 0);
	ck_assert_uint_eq(c.nactions, 1);
	engine_result_free(&a);
	engine_result_free(&b);
	engine_result_free(&c);
}
END_TEST

/* A step with the provider's keyword verdict (Twilio's OptOutType). */
static void
step_kw(const struct conv_state *st, const char *text, enum engine_provider_keyword kw, bool confirms,
    struct engine_result *res)
{
	struct engine_input in;

	memset(&in, 0, sizeof in);
	in.text = text;
	in.len = strlen(text);
	in.now_ms = 5000;
	in.idle_reset_ms = DEFAULT_IDLE_MS;
	in.detected_lang = "en";
	in.provider_keyword = kw;
	in.provider_confirms = confirms;
	engine_step(test_flow, st, &in, res);
}

static bool
has_action_kind(const struct engine_result *res, enum engine_action_kind kind)
{
	for (size_t i = 0; i < res->nactions; i++) {
		if (res->actions[i].kind == kind)
			return true;
	}
	return false;
}

START_TEST(test_provider_keyword)
{
	struct engine_result fresh, a, b, c, d, e, f, g;

	step(NULL, "hello", TRIAGE_NONE, false, 1000, &fresh);
	/* Not a word of the flow, but the provider says STOP: opted out, confirmed by us. */
	step_kw(fresh.next, "REVOKE", ENGINE_PKW_STOP, false, &a);
	ck_assert(engine_state_opted_out(a.next));
	ck_assert(has_action_kind(&a, ENGINE_ACTION_OPT_OUT));
	ck_assert_uint_eq(a.nreplies, 1);
	/* The provider confirms (Advanced Opt-Out): no reply of ours. */
	step_kw(fresh.next, "OPTOUT", ENGINE_PKW_STOP, true, &b);
	ck_assert(engine_state_opted_out(b.next));
	ck_assert(has_action_kind(&b, ENGINE_ACTION_OPT_OUT));
	ck_assert_uint_eq(b.nreplies, 0);
	/* YES flagged START after STOP opts in; with the provider confirming, silently. */
	step_kw(a.next, "YES", ENGINE_PKW_START, false, &c);
	ck_assert(!engine_state_opted_out(c.next));
	ck_assert(has_action_kind(&c, ENGINE_ACTION_OPT_IN));
	ck_assert_uint_eq(c.nreplies, 1);
	step_kw(b.next, "YES", ENGINE_PKW_START, true, &d);
	ck_assert(!engine_state_opted_out(d.next));
	ck_assert(has_action_kind(&d, ENGINE_ACTION_OPT_IN));
	ck_assert_uint_eq(d.nreplies, 0);
	/* START from someone not opted out is an ordinary answer. */
	step_kw(fresh.next, "YES", ENGINE_PKW_START, false, &e);
	ck_assert(!has_action_kind(&e, ENGINE_ACTION_OPT_IN));
	ck_assert_int_gt(e.nreplies, 0);
	/* HELP flagged by the provider answers as the flow's HELP does. */
	step_kw(fresh.next, "what is this", ENGINE_PKW_HELP, false, &f);
	step_kw(fresh.next, "HELP", ENGINE_PKW_NONE, false, &g);
	ck_assert_uint_eq(f.nreplies, g.nreplies);
	ck_assert_uint_gt(f.nreplies, 0);
	ck_assert_str_eq(f.replies[0], g.replies[0]);
	engine_result_free(&fresh);
	engine_result_free(&a);
	engine_result_free(&b);
	engine_result_free(&c);
	engine_result_free(&d);
	engine_result_free(&e);
	engine_result_free(&f);
	engine_result_free(&g);
}
END_TEST

START_TEST(test_null_and_empty_text)
{
	struct engine_result a, b;

	step(NULL, NULL, TRIAGE_NONE, false, 1000, &a);
	ck_assert_str_eq(engine_state_node(a.next), "screen");
	step(a.next, "", TRIAGE_NONE, false, 2000, &b);
	ck_assert_int_eq(engine_state_tries(b.next), 1);
	engine_result_free(&a);
	engine_result_free(&b);
}
END_TEST

/* Random bytes at every node must never crash, leak or produce an empty reply. */
START_TEST(test_random_bytes)
{
	static const char *const walk[] = { "hi", "no", "3", "a week", "no", "no", "no", "no", "2" };
	unsigned seed = 12345;
	struct conv_state *st = NULL;

	for (size_t w = 0; w < sizeof walk / sizeof walk[0]; w++) {
		struct engine_result res;

		for (int r = 0; r < 200; r++) {
			char buf[64];
			size_t len = (size_t)(seed % sizeof buf);
			struct engine_input in;

			for (size_t i = 0; i < len; i++) {
				seed = seed * 1103515245u + 12345u;
				buf[i] = (char)(seed >> 16);
			}
			seed = seed * 1103515245u + 12345u;
			memset(&in, 0, sizeof in);
			in.text = buf;
			in.len = len;
			in.now_ms = 1000 + r;
			in.idle_reset_ms = DEFAULT_IDLE_MS;
			in.detected_lang = (r & 1) ? "es" : "xx";
			in.triage = (enum triage_level)(seed % 3);
			in.handoff = (seed >> 8) % 7 == 0;
			engine_step(test_flow, st, &in, &res);
			for (size_t i = 0; i < res.nreplies; i++)
				ck_assert_uint_gt(strlen(res.replies[i]), 0);
			engine_result_free(&res);
		}
		step(st, walk[w], TRIAGE_NONE, false, 5000 + (int64_t)w, &res);
		engine_state_free(st);
		st = res.next;
		res.next = NULL;
		engine_result_free(&res);
	}
	ck_assert_str_eq(engine_state_node(st), "lower_posture");
	engine_state_free(st);
}
END_TEST

START_TEST(test_action_names)
{
	ck_assert_str_eq(engine_action_name(ENGINE_ACTION_ESCALATE), "escalate");
	ck_assert_str_eq(engine_action_name(ENGINE_ACTION_CALLBACK), "callback");
	ck_assert_str_eq(engine_action_name(ENGINE_ACTION_OPT_OUT), "opt_out");
	ck_assert_str_eq(engine_action_name(ENGINE_ACTION_OPT_IN), "opt_in");
	ck_assert_str_eq(engine_action_name((enum engine_action_kind)99), "unknown");
}
END_TEST

int
main(void)
{
	TCase *tc = tcase_create("engine");

	tcase_add_checked_fixture(tc, load_flow, unload_flow);
	tcase_set_timeout(tc, 60);
	CHECK_RUN_ADD(tc, test_transcripts, test_null_state_is_fresh, test_state_json_shape);
	tcase_add_loop_test(tc, test_state_json_rejects, 0, (int)(sizeof bad_states / sizeof bad_states[0]));
	CHECK_RUN_ADD(tc, test_state_unknown_node_restarts, test_old_state_untouched,
	    test_opted_out_red_flag_escalates_silently, test_null_and_empty_text, test_provider_keyword,
	    test_random_bytes, test_action_names);
	return check_run_case("engine", tc);
}
