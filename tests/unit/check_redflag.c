/*
 * check_redflag.c - unit tests for the red-flag matcher (gateway/redflag.c)
 * and the language guess (gateway/lang.c).
 *
 * Environment (paths are relative to the working directory):
 *   REDFLAG_PHRASES  phrase data      (default: sql/triage/phrases.json)
 *   REDFLAG_CASES    labelled table   (default: tests/data/redflag_cases.tsv)
 * CMake should run this binary from the repository root or set both.
 *
 * Why: the matcher decides whether a patient is told to call 911, so the
 * behaviour is pinned by a data table (one case per line, like pgbouncer's
 * hba_test.rules) that clinicians can extend without touching C, plus tests
 * for the loader's validation and for hostile input (invalid UTF-8, binary,
 * 64 KiB texts) that the fuzzer will also hammer.
 */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_run.h"
#include "file_text.h"
#include "lang.h"
#include "redflag.h"
#include "triage_files.h"
#include "unit_helpers.h"

static struct redflag_rules *rules;

static void
setup(void)
{
	rules = triage_files_rules();
}

static void
teardown(void)
{
	redflag_rules_free(rules);
	rules = NULL;
}

/* Scans a string through an exact-size heap copy so ASan sees overreads. */
static void
scan(const char *text, size_t len, struct redflag_result *out)
{
	char *copy = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, text, len);
	redflag_scan(rules, copy, len, out);
	free(copy);
}

static bool
has_reason(const struct redflag_result *res, const char *id)
{
	size_t i;

	for (i = 0; i < res->nreasons; i++) {
		if (strcmp(res->reasons[i], id) == 0)
			return true;
	}
	return false;
}

static void
expect_load_error(const char *json, const char *needle)
{
	char *cause = NULL;
	struct redflag_rules *r = redflag_rules_load(json, strlen(json), &cause);

	unit_assert_refused(r != NULL, json, cause, needle);
}

START_TEST(test_table)
{
	size_t len, nrows = 0, nfail = 0;
	char *text, *line, *save = NULL, *lvl, *rule, *msg, *tab;
	enum triage_level want;
	struct redflag_result res;

	text = file_text_read(triage_files_path("REDFLAG_CASES", "tests/data/redflag_cases.tsv"), &len);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' || line[0] == '\0')
			continue;
		lvl = line;
		tab = strchr(lvl, '\t');
		ck_assert_msg(tab != NULL, "bad row (no tab): %s", line);
		*tab = '\0';
		rule = tab + 1;
		tab = strchr(rule, '\t');
		ck_assert_msg(tab != NULL, "bad row (one tab): %s", rule);
		*tab = '\0';
		msg = tab + 1;
		ck_assert_msg(triage_level_parse(lvl, &want), "bad level %s", lvl);
		nrows++;
		scan(msg, strlen(msg), &res);
		if (res.level != want ||
		    (strcmp(rule, "-") != 0 && !has_reason(&res, rule))) {
			nfail++;
			fprintf(stderr, "FAIL want %s/%s got %s/%s [%s]: %s\n", lvl,
			    rule, triage_level_name(res.level),
			    res.nreasons ? res.reasons[0] : "-", res.matched, msg);
		}
	}
	free(text);
	ck_assert_uint_ge(nrows, 150);
	ck_assert_msg(nfail == 0, "%zu of %zu table cases failed", nfail, nrows);
}
END_TEST

START_TEST(test_level_names)
{
	enum triage_level l;

	ck_assert_str_eq(triage_level_name(TRIAGE_NONE), "none");
	ck_assert_str_eq(triage_level_name(TRIAGE_SEE_DOCTOR), "see_doctor");
	ck_assert_str_eq(triage_level_name(TRIAGE_EMERGENCY), "emergency");
	ck_assert_str_eq(triage_level_name((enum triage_level)42), "unknown");
	ck_assert(triage_level_parse("emergency", &l) && l == TRIAGE_EMERGENCY);
	ck_assert(!triage_level_parse("urgent", &l));
	ck_assert(!triage_level_parse(NULL, &l));
	ck_assert(TRIAGE_NONE < TRIAGE_SEE_DOCTOR &&
	    TRIAGE_SEE_DOCTOR < TRIAGE_EMERGENCY);
}
END_TEST

START_TEST(test_result_fields)
{
	struct redflag_result res;
	const char *t = "its been 3 weeks, cant sleep and now I cant pee";

	scan(t, strlen(t), &res);
	ck_assert_int_eq(res.level, TRIAGE_EMERGENCY);
	ck_assert_uint_ge(res.nreasons, 3);
	ck_assert_str_eq(res.reasons[0], "er_bowel_bladder");
	ck_assert(has_reason(&res, "doc_duration"));
	ck_assert(has_reason(&res, "doc_daily_life"));
	ck_assert_str_eq(res.matched, "cant pee");
	ck_assert_str_eq(res.language, "en");

	t = "no puedo orinar y tengo fiebre";
	scan(t, strlen(t), &res);
	ck_assert_int_eq(res.level, TRIAGE_EMERGENCY);
	ck_assert_str_eq(res.language, "es");
	ck_assert_str_eq(res.reasons[0], "er_bowel_bladder");
	ck_assert(has_reason(&res, "er_abdominal_fever_vomit"));

	scan("hello", 5, &res);
	ck_assert_int_eq(res.level, TRIAGE_NONE);
	ck_assert_uint_eq(res.nreasons, 0);
	ck_assert_str_eq(res.matched, "");
}
END_TEST

START_TEST(test_rule_accessors)
{
	size_t i, n = redflag_rules_count(rules);

	ck_assert_uint_ge(n, 9);
	for (i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(redflag_rule_id(rules, i));
		ck_assert_int_ne(redflag_rule_level(rules, i), TRIAGE_NONE);
	}
	ck_assert_ptr_null(redflag_rule_id(rules, n));
	ck_assert_int_eq(redflag_rule_level(rules, n), TRIAGE_NONE);
	ck_assert_uint_eq(redflag_rules_count(NULL), 0);
	redflag_rules_free(NULL);
}
END_TEST

/* The JSON of a one-rule file: extra top-level keys (must include "cues")
 * and the rule's English patterns as JSON array text. */
static void
inline_json(char *json, size_t size, const char *extra, const char *patterns)
{
	snprintf(json, size, "{\"version\":1%s,\"rules\":[{\"id\":"
	    "\"x\",\"level\":\"emergency\",\"article\":\"a\",\"patterns\":"
	    "{\"en\":%s}}]}", extra, patterns);
}

/* Loads a one-rule file (inline_json). */
static struct redflag_rules *
load_inline(const char *extra, const char *patterns)
{
	char json[2048], *cause = NULL;
	struct redflag_rules *r;

	inline_json(json, sizeof(json), extra, patterns);
	r = redflag_rules_load(json, strlen(json), &cause);
	ck_assert_msg(r != NULL, "%s: %s", json, cause ? cause : "?");
	return r;
}

/* Asserts that a one-rule file (inline_json) is refused with a cause that contains needle. */
static void
expect_inline_error(const char *extra, const char *patterns, const char *needle)
{
	char json[2048];

	inline_json(json, sizeof(json), extra, patterns);
	expect_load_error(json, needle);
}

#define RULE_OK "{\"id\":\"x\",\"level\":\"emergency\",\"article\":\"a\"," \
	"\"patterns\":{\"en\":[\"chest pain\"]}}"

START_TEST(test_load_errors)
{
	char *cause = NULL;
	struct redflag_rules *r;
	struct redflag_result res;
	const char *ok = "{\"version\":1,\"cues\":{},\"rules\":[" RULE_OK "]}";

	r = redflag_rules_load(ok, strlen(ok), &cause);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_null(cause);
	redflag_scan(r, "CHEST PAIN", 10, &res);
	ck_assert_int_eq(res.level, TRIAGE_EMERGENCY);
	redflag_rules_free(r);

	expect_load_error("{", "JSON error");
	expect_load_error("[]", "top level");
	expect_load_error("{\"version\":2,\"rules\":[" RULE_OK "]}", "version");
	expect_load_error("{\"version\":1,\"rulez\":[]}", "unknown key");
	expect_load_error("{\"version\":1,\"cues\":{},\"rules\":[]}", "rules");
	expect_load_error("{\"version\":1,\"cues\":{\"negatoin\":[]},\"rules\":["
	    RULE_OK "]}", "negatoin");
	expect_load_error("{\"version\":1,\"cues\":{},\"rules\":[" RULE_OK ","
	    RULE_OK "]}", "duplicate");
	expect_load_error("{\"version\":1,\"cues\":{},\"rules\":[{\"id\":\"x\","
	    "\"level\":\"none\",\"article\":\"a\",\"patterns\":{\"en\":[\"a\"]}}]}",
	    "level");
	expect_load_error("{\"version\":1,\"cues\":{},\"rules\":[{\"id\":\"x\","
	    "\"level\":\"emergency\",\"patterns\":{\"en\":[\"a\"]}}]}", "article");
	expect_load_error("{\"version\":1,\"cues\":{},\"rules\":[{\"id\":\"x\","
	    "\"level\":\"emergency\",\"article\":\"a\",\"paterns\":{}}]}", "paterns");
	expect_inline_error(",\"cues\":{}", "[\"@nothing pain\"]", "unknown concept");
	expect_inline_error(",\"cues\":{}", "[\"... pain\"]", "gap");
	expect_inline_error(",\"cues\":{},\"abbreviations\":{\"u\":\"you\"}", "[\"u ok\"]",
	    "abbreviation");
	expect_load_error("{\"version\":1,\"cues\":{},\"rules\":[{\"id\":\"X Y\","
	    "\"level\":\"emergency\",\"article\":\"a\",\"patterns\":{\"en\":"
	    "[\"a\"]}}]}", "id");
	expect_inline_error(",\"cues\":{}", "[\"#>=x weeks\"]", "number");
	expect_load_error("{\"version\":1,\"cues\":{},\"rules\":[{\"id\":\"x\","
	    "\"level\":\"emergency\",\"article\":\"a\",\"patterns\":{\"en\":"
	    "[\"a\"]},\"episode_ok\":true}]}", "rule x episode_ok: must be an array");
}
END_TEST

/* A NULL-terminated list of texts, for assert_levels. */
#define TEXTS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Asserts that r gives each of texts (NULL-terminated) the level want, naming the text that fails. */
static void
assert_levels(const struct redflag_rules *r, enum triage_level want, const char *const *texts)
{
	struct redflag_result res;

	for (; *texts != NULL; texts++) {
		redflag_scan(r, *texts, strlen(*texts), &res);
		ck_assert_msg(res.level == want, "\"%s\": level %s, want %s", *texts,
		    triage_level_name(res.level), triage_level_name(want));
	}
}

/* Numbers keep one decimal ("38.5", "38,5") and compare in tenths; "#>=N<M"
 * is a half-open range and "#." asks for a written decimal point. */
START_TEST(test_number_ranges)
{
	struct redflag_rules *r;

	r = load_inline(",\"cues\":{}", "[\"temp #>=38<43\", \"#>=100.4<110 f\"]");
	assert_levels(r, TRIAGE_EMERGENCY, TEXTS("temp 38.5", "temp 38,5", "temp 38", "100.4F"));
	assert_levels(r, TRIAGE_NONE, TEXTS("temp 37.9", "temp 36.8", "temp 43", "temp 1.2.3",
	    "100.3 F", "98.6 f",
	    /* a full stop after a number still ends the sentence */
	    "temp. 39"));
	redflag_rules_free(r);

	r = load_inline(",\"cues\":{}", "[\"#.>=38<43\"]");
	assert_levels(r, TRIAGE_EMERGENCY, TEXTS("38.2 and my back hurts"));
	assert_levels(r, TRIAGE_NONE, TEXTS("im 40 years old", "it cost 39.99"));
	redflag_rules_free(r);

	/* "1.5 weeks" is one number, not "1" and "5" */
	r = load_inline(",\"cues\":{},\"numbers\":{\"two\":2}",
	    "[\"#>=2 weeks\"]");
	assert_levels(r, TRIAGE_NONE, TEXTS("1.5 weeks"));
	assert_levels(r, TRIAGE_EMERGENCY, TEXTS("two weeks", "2.5 weeks"));
	redflag_rules_free(r);

	expect_inline_error(",\"cues\":{}", "[\"#>=43<38\"]", "number");
	expect_inline_error(",\"cues\":{}", "[\"#<\"]", "number");
	expect_inline_error(",\"cues\":{}", "[\"#.x\"]", "number");
	expect_inline_error(",\"cues\":{}", "[\"sick twice|#>=2\"]", "alternative");
}
END_TEST

/* "~word" tolerates one typo in a short word; plain short words only a
 * swap of two neighbouring letters. */
START_TEST(test_loose_words)
{
	struct redflag_rules *r;

	r = load_inline(",\"cues\":{}", "[\"~worse\", \"lost kilos\"]");
	assert_levels(r, TRIAGE_EMERGENCY, TEXTS("getting wirse", "getting worse", "lost kilos",
	    /* any word of 4+ letters tolerates two neighbouring letters swapped */
	    "lost kilso"));
	assert_levels(r, TRIAGE_NONE, TEXTS("lost klos", "lost kilo",
	    /* the first letter must still match */
	    "horse"));
	redflag_rules_free(r);
}
END_TEST

/* An emoji is a word of its own that `abbreviations` can give a meaning. */
START_TEST(test_emoji_words)
{
	struct redflag_rules *r;

	r = load_inline(",\"cues\":{},\"abbreviations\":{\"\xf0\x9f\xa4\xae\":"
	    "\"vomiting\"}",
	    "[\"vomiting\"]");
	assert_levels(r, TRIAGE_EMERGENCY, TEXTS("\xf0\x9f\xa4\xae\xf0\x9f\xa4\xae + back pain",
	    "ugh\xf0\x9f\xa4\xae"));
	/* other emoji separate words and never split into letters/numbers */
	assert_levels(r, TRIAGE_NONE, TEXTS("\xf0\x9f\x98\x80\xf0\x9f\x98\x80"));
	redflag_rules_free(r);
}
END_TEST

/* Issue #16 policies that live in the matcher, not only in the data. */
START_TEST(test_context_policies)
{
	struct redflag_rules *r;
	const char *cues = ",\"concepts\":{\"rel\":[\"dad\",\"wife\"]},"
	    "\"cues\":{\"third_party\":[\"@rel\",\"he\",\"his\"],"
	    "\"proxy\":[\"texting for my @rel\",\"this is his @rel\"],"
	    "\"resolved\":[\"its gone\",\"better now\",\"se me quito\"],"
	    "\"onset_fillers\":[\"all\"],"
	    "\"hypothetical\":[\"should i worry\"],"
	    "\"affirmation\":[\"i have it\",\"that i ...1 keep\"],"
	    "\"quoting\":[\"says\"],\"disclaimer\":[\"not me\"],"
	    "\"negation\":[\"no\"],"
	    "\"resolution_subjects\":[\"back\"],"
	    "\"question\":[\"is\",\"does\"],"
	    "\"first_person\":[\"i\",\"im\",\"my\"]}";

	r = load_inline(cues, "[\"cant pee\", \"dizzy\", \"numb\", "
	    "\"chest hurts\", \"mareo\"]");
	/* someone reporting for a person with them is the patient's voice */
	assert_levels(r, TRIAGE_NONE, TEXTS("my dad says he cant pee"));
	assert_levels(r, TRIAGE_EMERGENCY, TEXTS("texting for my dad, he cant pee",
	    "this is his wife, he is dizzy"));
	/* a resolution applies to what it is said of */
	assert_levels(r, TRIAGE_NONE, TEXTS("dizzy earlier, its gone", "se me quito el mareo"));
	assert_levels(r, TRIAGE_EMERGENCY, TEXTS("my chest hurts, back is better now", "its gone numb",
	    "its gone all numb"));
	/* a question about a symptom is not a report of it */
	assert_levels(r, TRIAGE_NONE, TEXTS("is dizzy bad?", "should i worry about numb"));
	assert_levels(r, TRIAGE_EMERGENCY, TEXTS("is it bad that im dizzy?", "dizzy, is that bad?",
	    "is dizzy bad? i have it since today"));
	/* quoted and disclaimed, or asked and answered "no" */
	assert_levels(r, TRIAGE_NONE, TEXTS("it says dizzy is bad. not me", "dizzy? no. numb? no."));
	assert_levels(r, TRIAGE_EMERGENCY, TEXTS("it says dizzy is bad", "dizzy? yes.",
	    "should i worry that i keep numb"));
	redflag_rules_free(r);
}
END_TEST

START_TEST(test_hostile_input)
{
	struct redflag_result res;
	unsigned char *buf;
	size_t i, n = 64 * 1024;
	uint32_t seed = 12345;
	static const char *const odd[] = {
		"\xff\xfe\xfd", "\xc3", "\xe2\x80", "\xf0\x9f\x98", "\xed\xa0\x80",
		"\xc0\xaf", "caf\xc3\xa9\xcc\x81", "\xef\xbb\xbf" "chest pain",
		"w/", "w/o", "b/c", "a/", "////", "...", "1.2.3", "'''''",
		"\xe2\x80\x99", "can\xe2\x80\x99t pee",
	};

	scan("", 0, &res);
	ck_assert_int_eq(res.level, TRIAGE_NONE);
	redflag_scan(rules, NULL, 0, &res);
	ck_assert_int_eq(res.level, TRIAGE_NONE);
	redflag_scan(NULL, "chest pain", 10, &res);
	ck_assert_int_eq(res.level, TRIAGE_NONE);
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		scan(odd[i], strlen(odd[i]), &res);
	scan("can\xe2\x80\x99t pee", strlen("can\xe2\x80\x99t pee"), &res);
	ck_assert_int_eq(res.level, TRIAGE_EMERGENCY);

	buf = malloc(n);
	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (unsigned char)(seed >> 16);
		if (buf[i] == 0)
			buf[i] = 1;
	}
	scan((const char *)buf, n, &res);
	ck_assert_uint_le(res.nreasons, REDFLAG_MAX_REASONS);
	ck_assert(memchr(res.matched, '\0', sizeof(res.matched)) != NULL);

	memset(buf, 'a', n);
	scan((const char *)buf, n, &res);
	ck_assert_int_eq(res.level, TRIAGE_NONE);
	for (i = 0; i + 2 < n; i += 3)
		memcpy(buf + i, "..\n", 3);
	scan((const char *)buf, n, &res);
	ck_assert_int_eq(res.level, TRIAGE_NONE);

	/* a red flag at the very end of 64 KiB of ordinary words */
	for (i = 0; i + 5 <= n; i += 5)
		memcpy(buf + i, "ok a ", 5);
	memcpy(buf + n - 9, " cant pee", 9);
	scan((const char *)buf, n, &res);
	ck_assert_int_eq(res.level, TRIAGE_EMERGENCY);
	ck_assert_str_eq(res.reasons[0], "er_bowel_bladder");
	/* and one in the middle, far from any window edge */
	for (i = 0; i + 5 <= n; i += 5)
		memcpy(buf + i, "hi u ", 5);
	memcpy(buf + (n / 2 / 5) * 5, "cant pee  ", 10);
	scan((const char *)buf, n, &res);
	ck_assert_int_eq(res.level, TRIAGE_EMERGENCY);
	free(buf);
}
END_TEST

START_TEST(test_speed)
{
	static const char *const msgs[] = {
		"my back has been killing me since tuesday, hard to sleep",
		"2",
		"no fever but cant stop throwing up since last night pls help",
		"Me duele mucho la espalda y tengo hormigueo en la pierna",
	};
	struct redflag_result res;
	struct timespec a, b;
	size_t i, n = 20000;
	double us;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++)
		redflag_scan(rules, msgs[i % 4], strlen(msgs[i % 4]), &res);
	clock_gettime(CLOCK_MONOTONIC, &b);
	us = ((double)(b.tv_sec - a.tv_sec) * 1e9 +
	    (double)(b.tv_nsec - a.tv_nsec)) / 1e3 / (double)n;
	fprintf(stderr, "redflag_scan: %.1f us per message\n", us);
	/* generous: sanitizers and valgrind slow this down a lot */
	ck_assert_msg(us < 5000.0, "too slow: %.1f us per message", us);
}
END_TEST

START_TEST(test_lang)
{
	ck_assert_str_eq(lang_detect("me duele la espalda", 19), "es");
	ck_assert_str_eq(lang_detect("No puedo orinar", 15), "es");
	ck_assert_str_eq(lang_detect("v\xc3\xb3mito", 7), "es");
	ck_assert_str_eq(lang_detect("tengo fiebre", 12), "es");
	ck_assert_str_eq(lang_detect("my back hurts", 13), "en");
	ck_assert_str_eq(lang_detect("no", 2), "en");
	ck_assert_str_eq(lang_detect("", 0), "en");
	ck_assert_str_eq(lang_detect(NULL, 0), "en");
	ck_assert_str_eq(lang_detect("\xff\xfe", 2), "en");
	ck_assert_str_eq(lang_detect("2", 1), "en");
	ck_assert_str_eq(lang_detect("I have fever y dolor", 20), "en");
}
END_TEST

static Suite *
redflag_suite(void)
{
	Suite *s = suite_create("redflag");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_level_names);
	tcase_add_test(tc, test_result_fields);
	tcase_add_test(tc, test_rule_accessors);
	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_number_ranges);
	tcase_add_test(tc, test_loose_words);
	tcase_add_test(tc, test_emoji_words);
	tcase_add_test(tc, test_context_policies);
	tcase_add_test(tc, test_hostile_input);
	tcase_add_test(tc, test_speed);
	tcase_add_test(tc, test_lang);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run_suite(redflag_suite());
}
