/*
 * cli_triage.c - carenav triage. See cli_triage.h.
 *
 *   carenav triage [--jsonl] [--phrases FILE] < texts
 *
 * One patient text per input line (or, with --jsonl, one JSON object per
 * line with a "text" field); one JSON object per output line:
 *   {"text": ..., "level": "emergency"|"see_doctor"|"none", "reasons": [rule ids], "language": "en"|"es"}
 * The matcher and phrase data are exactly the gateway's (TRIAGE_PHRASES_FILE,
 * or the compiled-in sql/triage/phrases.json; --phrases overrides both).
 * A line that is not valid UTF-8 or not valid JSON gets {"error": ...} and
 * the exit status is 1; the other lines are still triaged.
 */
#include "cli_triage.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "redflag.h"

static void
cli_triage_print(json_t *obj)
{
	char *line = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);

	puts(line);
	free(line);
	json_decref(obj);
}

/* Triages one text; false if it could not be read. */
static bool
cli_triage_one(const struct redflag_rules *rules, const char *line, size_t len, bool jsonl,
    size_t lineno)
{
	struct redflag_result res;
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
	redflag_scan(rules, text, text_len, &res);
	reasons = json_array();
	for (size_t i = 0; i < res.nreasons; i++)
		json_array_append_new(reasons, json_string(res.reasons[i]));
	cli_triage_print(json_pack("{s:s%, s:s, s:o, s:s}", "text", text, text_len, "level",
	    triage_level_name(res.level), "reasons", reasons, "language", res.language));
	json_decref(doc);
	return true;
}

int
cli_triage(const struct redflag_rules *rules, int argc, char **argv)
{
	bool jsonl = false, ok = true;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--jsonl") == 0) {
			jsonl = true;
		} else if (strcmp(argv[i], "--phrases") == 0 && i + 1 < argc) {
			i++;  /* read by main before the rules were loaded */
		} else {
			fprintf(stderr, "usage: carenav triage [--jsonl] [--phrases FILE] < texts\n");
			return 2;
		}
	}
	while ((n = getline(&line, &cap, stdin)) > 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		ok &= cli_triage_one(rules, line, (size_t)n, jsonl, lineno);
	}
	free(line);
	fflush(stdout);
	return ok ? 0 : 1;
}
