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
 *
 * test_eval_set holds the phrase rules alone to that bar on the hand-written
 * set (the .jsonl files in TRIAGE_DATA_DIR). test_combined_heldout holds the combined
 * detector (rules OR text model, triage.c) to it per language, on the texts
 * the shipped model never trained on (triage_model_heldout(): a fifth of
 * the .jsonl files in TRIAGE_DATA_DIR and in its subdirectories, e.g. corpus/).
 *   TRIAGE_MODEL     the text model (default: sql/triage/model.txt)
 */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include <glob.h>

#include "lang.h"
#include "redflag.h"
#include "triage.h"
#include "triage_files.h"
#include "triage_model.h"

#define EVAL_LEVELS 3

struct eval_tally {
	size_t total[EVAL_LEVELS];          /* texts labelled with each level */
	size_t got[EVAL_LEVELS][EVAL_LEVELS]; /* [label][result] counts */
	size_t lang_wrong;                  /* language label disagreements */
	size_t files;                       /* .jsonl files read */
	size_t bad_lines;                   /* unparsable lines */
};

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
	struct eval_tally t;
	struct redflag_rules *rules;
	struct dirent *de;
	DIR *d;
	char path[4096];
	size_t none_alarm, i;
	double rec_er, rec_doc, false_alarm;

	memset(&t, 0, sizeof(t));
	ck_assert_msg(dir != NULL && dir[0] != '\0',
	    "TRIAGE_DATA_DIR is not set");
	rules = triage_files_rules();

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

/* [language][label][result] counts: 0 = en, 1 = es. */
struct eval_split {
	size_t got[2][EVAL_LEVELS][EVAL_LEVELS];
	size_t total[2][EVAL_LEVELS];
};

static void
eval_split_add(struct eval_split *s, int es, enum triage_level want, enum triage_level got)
{
	s->total[es][want]++;
	s->got[es][want][got]++;
}

/* Prints one detector's figures for one language; returns false if a target is missed. */
static bool
eval_split_report(const char *who, const struct eval_split *s, int es)
{
	const size_t *n = s->total[es];
	const size_t (*g)[EVAL_LEVELS] = s->got[es];
	double er = eval_ratio(g[TRIAGE_EMERGENCY][TRIAGE_EMERGENCY], n[TRIAGE_EMERGENCY]);
	double sd = eval_ratio(g[TRIAGE_SEE_DOCTOR][TRIAGE_SEE_DOCTOR], n[TRIAGE_SEE_DOCTOR]);
	double fa = eval_ratio(n[TRIAGE_NONE] - g[TRIAGE_NONE][TRIAGE_NONE], n[TRIAGE_NONE]);

	fprintf(stderr, "held-out %-8s %s: emergency recall %.3f (%zu/%zu), see_doctor recall %.3f (%zu/%zu), "
	    "none false alarms %.3f (%zu/%zu)\n", who, es ? "es" : "en",
	    er, g[TRIAGE_EMERGENCY][TRIAGE_EMERGENCY], n[TRIAGE_EMERGENCY],
	    sd, g[TRIAGE_SEE_DOCTOR][TRIAGE_SEE_DOCTOR], n[TRIAGE_SEE_DOCTOR],
	    fa, n[TRIAGE_NONE] - g[TRIAGE_NONE][TRIAGE_NONE], n[TRIAGE_NONE]);
	return (n[TRIAGE_EMERGENCY] == 0 || er >= 0.98) && (n[TRIAGE_SEE_DOCTOR] == 0 || sd >= 0.90) &&
	    fa <= 0.05;
}

/* Triages every held-out text of one file with the rules, the model and both. */
static void
eval_heldout_file(const struct triage *both, const char *path, struct eval_split *sp)
{
	const struct triage rules_only = { both->rules, NULL }, model_only = { NULL, both->model };
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while ((len = getline(&line, &cap, f)) >= 0) {
		json_t *obj = json_loadb(line, (size_t)len, 0, NULL);
		const char *text = json_string_value(json_object_get(obj, "text"));
		const char *lvl = json_string_value(json_object_get(obj, "level"));
		const char *lang = json_string_value(json_object_get(obj, "language"));
		struct triage_result r;
		enum triage_level want;
		int es;

		lineno++;
		if (obj == NULL && strspn(line, " \t\r\n") == (size_t)len)
			continue;
		ck_assert_msg(text != NULL && lvl != NULL && triage_level_parse(lvl, &want),
		    "%s:%zu: not a labelled text", path, lineno);
		es = lang != NULL && strcmp(lang, "es") == 0;
		if (triage_model_heldout(text, strlen(text))) {
			triage_scan(&rules_only, text, strlen(text), &r);
			eval_split_add(&sp[0], es, want, r.level);
			triage_scan(&model_only, text, strlen(text), &r);
			eval_split_add(&sp[1], es, want, r.level);
			triage_scan(both, text, strlen(text), &r);
			eval_split_add(&sp[2], es, want, r.level);
			if (r.level != want)
				fprintf(stderr, "HELD-OUT MISS want=%s got=%s detector=%s p_emergency=%.3f %s: %s\n",
				    lvl, triage_level_name(r.level), triage_detector_name(r.detector), r.p_emergency,
				    es ? "es" : "en", text);
		}
		json_decref(obj);
	}
	free(line);
	fclose(f);
}

START_TEST(test_combined_heldout)
{
	const char *dir = getenv("TRIAGE_DATA_DIR");
	static const char *const who[] = { "rules", "model", "combined" };
	struct eval_split sp[3];
	struct triage t;
	struct redflag_rules *rules;
	struct triage_model *model;
	char *pattern;
	size_t files = 0;
	bool ok = true;
	glob_t g;

	memset(sp, 0, sizeof sp);
	ck_assert_msg(dir != NULL && dir[0] != '\0', "TRIAGE_DATA_DIR is not set");
	rules = triage_files_rules();
	model = triage_files_model();
	t.rules = rules;
	t.model = model;

	/* The same files, in the same order, as "carenav triage train --data DIR". */
	for (int depth = 0; depth < 2; depth++) {
		size_t n = strlen(dir) + 16;

		pattern = malloc(n);
		snprintf(pattern, n, depth == 0 ? "%s/*.jsonl" : "%s/*/*.jsonl", dir);
		if (glob(pattern, 0, NULL, &g) == 0) {
			for (size_t i = 0; i < g.gl_pathc; i++, files++)
				eval_heldout_file(&t, g.gl_pathv[i], sp);
			globfree(&g);
		}
		free(pattern);
	}
	ck_assert_msg(files > 0, "no *.jsonl files in %s", dir);
	for (int es = 0; es < 2; es++) {
		for (int d = 0; d < 3; d++) {
			bool met = eval_split_report(who[d], &sp[d], es);

			if (d == 2)
				ok &= met;
		}
	}
	ck_assert_msg(sp[2].total[0][TRIAGE_EMERGENCY] > 0 && sp[2].total[0][TRIAGE_SEE_DOCTOR] > 0 &&
	    sp[2].total[0][TRIAGE_NONE] > 0, "the held-out split lacks an English level");
	ck_assert_msg(ok, "the combined detector misses a target on held-out texts (see the figures above)");
	triage_model_free(model);
	redflag_rules_free(rules);
}
END_TEST

int
main(void)
{
	const TTest *const tests[] = {
		test_eval_set,
		test_combined_heldout,
	};

	return check_run("triage_eval", 300, tests, sizeof tests / sizeof tests[0]);
}
