/*
 * check_triage_eval.c - runs the red-flag matcher over a labelled evaluation
 * set written independently of the phrase data, and fails when it is not
 * safe enough.
 *
 * Environment:
 *   TRIAGE_DATA_DIR  directory holding *.jsonl files (required; the test
 *                    fails when it is unset or holds no .jsonl file)
 *   REDFLAG_PHRASES  phrase data (default: sql/triage/phrases.json)
 * Each line: {"text": "...", "level": "emergency"|"see_doctor"|"none",
 * "language": "en"|"es"}. Blank lines are skipped; any other unparsable line
 * fails the test, so a broken data file cannot pass quietly.
 *
 * Why: the unit table (tests/data/redflag_cases.tsv) is written by the same
 * person as the rules and so flatters them; this set is not. Pass criteria:
 * emergency recall >= 0.98, see_doctor recall >= 0.90 (both exact level),
 * and at most 5% of "none" texts raised to any alarm. Every miss is printed.
 */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "lang.h"
#include "redflag.h"

#define EVAL_LEVELS 3

struct eval_tally {
	size_t total[EVAL_LEVELS];          /* texts labelled with each level */
	size_t got[EVAL_LEVELS][EVAL_LEVELS]; /* [label][result] counts */
	size_t lang_wrong;                  /* language label disagreements */
	size_t files;                       /* .jsonl files read */
	size_t bad_lines;                   /* unparsable lines */
};

static char *
eval_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		fclose(f);
		return NULL;
	}
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static bool
eval_has_suffix(const char *name, const char *suffix)
{
	size_t a = strlen(name), b = strlen(suffix);

	return a > b && strcmp(name + a - b, suffix) == 0;
}

static void
eval_file(const struct redflag_rules *rules, const char *path,
    struct eval_tally *t)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0, n;
	ssize_t len;
	json_t *obj;
	json_error_t err;
	const char *text, *lvl, *lang;
	enum triage_level want;
	struct redflag_result res;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	t->files++;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		for (n = 0; n < (size_t)len && strchr(" \t\r\n", line[n]); n++)
			;
		if (n == (size_t)len)
			continue;
		obj = json_loadb(line, (size_t)len, 0, &err);
		text = json_string_value(json_object_get(obj, "text"));
		lvl = json_string_value(json_object_get(obj, "level"));
		lang = json_string_value(json_object_get(obj, "language"));
		if (obj == NULL || text == NULL || lvl == NULL ||
		    !triage_level_parse(lvl, &want)) {
			fprintf(stderr, "BAD LINE %s:%zu\n", path, lineno);
			t->bad_lines++;
			json_decref(obj);
			continue;
		}
		redflag_scan(rules, text, strlen(text), &res);
		t->total[want]++;
		t->got[want][res.level]++;
		if (res.level != want)
			fprintf(stderr, "MISS want=%s got=%s reasons=%s matched=[%s] "
			    "%s: %s\n", lvl, triage_level_name(res.level),
			    res.nreasons ? res.reasons[0] : "-", res.matched,
			    lang != NULL ? lang : "?", text);
		if (lang != NULL && strcmp(lang, res.language) != 0) {
			t->lang_wrong++;
			fprintf(stderr, "LANG want=%s got=%s: %s\n", lang,
			    res.language, text);
		}
		json_decref(obj);
	}
	free(line);
	fclose(f);
}

static double
eval_ratio(size_t a, size_t b)
{
	return b == 0 ? 0.0 : (double)a / (double)b;
}

START_TEST(test_eval_set)
{
	const char *dir = getenv("TRIAGE_DATA_DIR");
	const char *phrases = getenv("REDFLAG_PHRASES");
	struct eval_tally t;
	struct redflag_rules *rules;
	struct dirent *de;
	DIR *d;
	char *text, *cause = NULL, path[4096];
	size_t len, none_alarm, i;
	double rec_er, rec_doc, false_alarm;

	memset(&t, 0, sizeof(t));
	ck_assert_msg(dir != NULL && dir[0] != '\0',
	    "TRIAGE_DATA_DIR is not set");
	if (phrases == NULL || phrases[0] == '\0')
		phrases = "sql/triage/phrases.json";
	text = eval_read_file(phrases, &len);
	ck_assert_msg(text != NULL, "cannot read %s", phrases);
	rules = redflag_rules_load(text, len, &cause);
	ck_assert_msg(rules != NULL, "%s: %s", phrases, cause ? cause : "?");
	free(text);

	d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot open TRIAGE_DATA_DIR %s", dir);
	while ((de = readdir(d)) != NULL) {
		if (!eval_has_suffix(de->d_name, ".jsonl"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		eval_file(rules, path, &t);
	}
	closedir(d);
	redflag_rules_free(rules);

	ck_assert_msg(t.files > 0, "no *.jsonl files in %s", dir);
	for (i = 0; i < EVAL_LEVELS; i++) {
		fprintf(stderr, "level %-10s n=%4zu -> none %zu, see_doctor %zu, "
		    "emergency %zu\n", triage_level_name((enum triage_level)i),
		    t.total[i], t.got[i][TRIAGE_NONE], t.got[i][TRIAGE_SEE_DOCTOR],
		    t.got[i][TRIAGE_EMERGENCY]);
	}
	rec_er = eval_ratio(t.got[TRIAGE_EMERGENCY][TRIAGE_EMERGENCY],
	    t.total[TRIAGE_EMERGENCY]);
	rec_doc = eval_ratio(t.got[TRIAGE_SEE_DOCTOR][TRIAGE_SEE_DOCTOR],
	    t.total[TRIAGE_SEE_DOCTOR]);
	none_alarm = t.total[TRIAGE_NONE] - t.got[TRIAGE_NONE][TRIAGE_NONE];
	false_alarm = eval_ratio(none_alarm, t.total[TRIAGE_NONE]);
	fprintf(stderr, "emergency recall  %.3f (%zu/%zu)\n", rec_er,
	    t.got[TRIAGE_EMERGENCY][TRIAGE_EMERGENCY], t.total[TRIAGE_EMERGENCY]);
	fprintf(stderr, "see_doctor recall %.3f (%zu/%zu; %.3f counting "
	    "over-triage to emergency)\n", rec_doc,
	    t.got[TRIAGE_SEE_DOCTOR][TRIAGE_SEE_DOCTOR], t.total[TRIAGE_SEE_DOCTOR],
	    eval_ratio(t.total[TRIAGE_SEE_DOCTOR] -
	    t.got[TRIAGE_SEE_DOCTOR][TRIAGE_NONE], t.total[TRIAGE_SEE_DOCTOR]));
	fprintf(stderr, "none false alarms %.3f (%zu/%zu)\n", false_alarm,
	    none_alarm, t.total[TRIAGE_NONE]);
	fprintf(stderr, "language label disagreements: %zu\n", t.lang_wrong);

	ck_assert_msg(t.bad_lines == 0, "%zu unparsable lines", t.bad_lines);
	ck_assert_msg(t.total[TRIAGE_EMERGENCY] > 0 &&
	    t.total[TRIAGE_SEE_DOCTOR] > 0 && t.total[TRIAGE_NONE] > 0,
	    "evaluation set lacks a level (emergency %zu, see_doctor %zu, "
	    "none %zu)", t.total[TRIAGE_EMERGENCY], t.total[TRIAGE_SEE_DOCTOR],
	    t.total[TRIAGE_NONE]);
	ck_assert_msg(rec_er >= 0.98, "emergency recall %.3f < 0.98", rec_er);
	ck_assert_msg(false_alarm <= 0.05, "none false-alarm rate %.3f > 0.05",
	    false_alarm);
	ck_assert_msg(rec_doc >= 0.90, "see_doctor recall %.3f < 0.90", rec_doc);
}
END_TEST

int
main(void)
{
	const TTest *const tests[] = {
		test_eval_set,
	};

	return check_run("triage_eval", 300, tests, sizeof tests / sizeof tests[0]);
}
