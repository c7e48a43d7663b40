/*
 * cli_triage.c - carenav triage. See cli_triage.h.
 *
 *   carenav triage [--jsonl] [--phrases FILE] [--model FILE|off] < texts
 *
 * One patient text per input line (or, with --jsonl, one JSON object per
 * line with a "text" field); one JSON object per output line:
 *   {"text": ..., "level": "emergency"|"see_doctor"|"none", "reasons": [ids],
 *    "language": "en"|"es", "detector": "rules"|"model"|"both"|"none",
 *    "p_emergency": the model's emergency probability (null without a model)}
 * The detectors are exactly the gateway's, combined by triage.c: phrase data
 * from TRIAGE_PHRASES_FILE or the compiled-in sql/triage/phrases.json, the
 * model from TRIAGE_MODEL_FILE or the compiled-in sql/triage/model.txt
 * (--phrases and --model override them; --model off = rules only).
 * A line that is not valid UTF-8 or not valid JSON gets {"error": ...} and
 * the exit status is 1; the other lines are still triaged.
 *
 *   carenav triage train --out FILE [--data DIR]
 *
 * Trains the text model (triage_train.c) on every .jsonl file in DIR and
 * in its subdirectories one level down (default DIR: tests/data/triage;
 * its corpus/ holds the larger corpus), files in sorted order,
 * and writes it to FILE through a temporary file and rename. Any unreadable
 * line stops the training with its file and line number.
 */
#include "cli_triage.h"

#include <glob.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "triage.h"
#include "triage_train.h"
#include "xmalloc.h"

static void
cli_triage_print(json_t *obj)
{
	char *line = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(4));

	puts(line);
	free(line);
	json_decref(obj);
}

/* Triages one text; false if it could not be read. */
static bool
cli_triage_one(const struct triage *t, const char *line, size_t len, bool jsonl, size_t lineno)
{
	struct triage_result res;
	json_t *doc = NULL, *reasons;
	const char *text = line;
	size_t text_len = len;

	if (jsonl) {
		doc = json_loadb(line, len, 0, NULL);
		text = json_string_value(json_object_get(doc, "text"));
		if (text == NULL) {
			cli_triage_print(json_pack("{s:s, s:I}", "error", "not a JSON object with a \"text\" string",
			    "line", (json_int_t)lineno));
			json_decref(doc);
			return false;
		}
		text_len = strlen(text);
	} else if (!utf8_valid(line, len)) {
		cli_triage_print(json_pack("{s:s, s:I}", "error", "not valid UTF-8", "line", (json_int_t)lineno));
		return false;
	}
	triage_scan(t, text, text_len, &res);
	reasons = json_array();
	for (size_t i = 0; i < res.nreasons; i++)
		json_array_append_new(reasons, json_string(res.reasons[i]));
	cli_triage_print(json_pack("{s:s%, s:s, s:o, s:s, s:s, s:o}", "text", text, text_len, "level",
	    triage_level_name(res.level), "reasons", reasons, "language", res.language, "detector",
	    triage_detector_name(res.detector), "p_emergency",
	    t->model != NULL ? json_real(res.p_emergency) : json_null()));
	json_decref(doc);
	return true;
}

int
cli_triage(const struct triage *t, int argc, char **argv)
{
	bool jsonl = false, ok = true;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--jsonl") == 0) {
			jsonl = true;
		} else if ((strcmp(argv[i], "--phrases") == 0 || strcmp(argv[i], "--model") == 0) &&
		    i + 1 < argc) {
			i++;  /* read by main before the detectors were loaded */
		} else {
			fprintf(stderr, "usage: carenav triage [--jsonl] [--phrases FILE] [--model FILE|off] < texts\n"
			    "       carenav triage train --out FILE [--data DIR]\n");
			return 2;
		}
	}
	while ((n = getline(&line, &cap, stdin)) > 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		ok &= cli_triage_one(t, line, (size_t)n, jsonl, lineno);
	}
	free(line);
	fflush(stdout);
	return ok ? 0 : 1;
}

/* ---- training ---- */

struct cli_train_data {
	struct triage_example *ex;   /* owned array; texts owned by docs */
	size_t n, cap;
	json_t **docs;               /* owned: one parsed line per example */
};

/* Reads one labelled file; false (with a message on stderr) on any bad line. */
static bool
cli_train_read(const char *path, struct cli_train_data *d)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0, i;
	ssize_t len;
	bool ok = true;

	if (f == NULL) {
		fprintf(stderr, "carenav triage train: %s: cannot open it\n", path);
		return false;
	}
	while (ok && (len = getline(&line, &cap, f)) >= 0) {
		json_t *doc;
		const char *text, *level, *lang;
		enum triage_level lvl;

		lineno++;
		for (i = 0; i < (size_t)len && strchr(" \t\r\n", line[i]) != NULL; i++)
			;
		if (i == (size_t)len)
			continue;
		doc = json_loadb(line, (size_t)len, 0, NULL);
		text = json_string_value(json_object_get(doc, "text"));
		level = json_string_value(json_object_get(doc, "level"));
		lang = json_string_value(json_object_get(doc, "language"));
		if (text == NULL || level == NULL || !triage_level_parse(level, &lvl) ||
		    (lang != NULL && strcmp(lang, "en") != 0 && strcmp(lang, "es") != 0)) {
			fprintf(stderr, "carenav triage train: %s:%zu: not a JSON object with \"text\", \"level\" "
			    "(none, see_doctor or emergency) and \"language\" (en or es)\n", path, lineno);
			json_decref(doc);
			ok = false;
			break;
		}
		if (d->n == d->cap) {
			d->cap = d->cap * 2 + 256;
			d->ex = xreallocarray(d->ex, d->cap, sizeof *d->ex);
			d->docs = xreallocarray(d->docs, d->cap, sizeof *d->docs);
		}
		d->docs[d->n] = doc;
		d->ex[d->n].text = text;
		d->ex[d->n].level = lvl;
		d->ex[d->n].language = lang != NULL ? lang : "en";
		d->n++;
	}
	free(line);
	fclose(f);
	return ok;
}

int
cli_triage_train(int argc, char **argv)
{
	const char *out = NULL, *dir = "tests/data/triage";
	struct cli_train_data d = { NULL, 0, 0, NULL };
	char *pattern, *model = NULL, *summary = NULL, *cause = NULL, *tmp;
	glob_t g;
	bool ok = true;
	int rc = 1;
	FILE *f;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
			dir = argv[++i];
		else
			out = NULL, i = argc;
	}
	if (out == NULL) {
		fprintf(stderr, "usage: carenav triage train --out FILE [--data DIR]\n");
		return 2;
	}
	for (int depth = 0; depth < 2 && ok; depth++) {
		pattern = xasprintf(depth == 0 ? "%s/*.jsonl" : "%s/*/*.jsonl", dir);
		if (glob(pattern, 0, NULL, &g) == 0) {
			for (size_t i = 0; i < g.gl_pathc && ok; i++) {
				ok = cli_train_read(g.gl_pathv[i], &d);
				if (ok)
					fprintf(stderr, "read %s\n", g.gl_pathv[i]);
			}
			globfree(&g);
		}
		free(pattern);
	}
	if (ok && d.n == 0) {
		fprintf(stderr, "carenav triage train: no labelled texts in %s/*.jsonl or %s/*/*.jsonl\n", dir, dir);
		ok = false;
	}
	if (ok && (model = triage_train(d.ex, d.n, &summary, &cause)) == NULL) {
		fprintf(stderr, "carenav triage train: %s\n", cause);
		ok = false;
	}
	if (ok) {
		tmp = xasprintf("%s.tmp", out);
		f = fopen(tmp, "w");
		if (f != NULL) {
			ok = fputs(model, f) != EOF;
			ok &= fclose(f) == 0;
		}
		if (f == NULL || !ok || rename(tmp, out) != 0) {
			fprintf(stderr, "carenav triage train: cannot write %s\n", out);
			remove(tmp);
		} else {
			fprintf(stderr, "%swrote %s\n", summary, out);
			rc = 0;
		}
		free(tmp);
	}
	free(model);
	free(summary);
	free(cause);
	for (size_t i = 0; i < d.n; i++)
		json_decref(d.docs[i]);
	free(d.docs);
	free(d.ex);
	return rc;
}
