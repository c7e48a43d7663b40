/*
 * check_titles.c - staff read titles, never rule ids: every red-flag rule
 * of the phrase data (sql/triage/phrases.json), the engine's fallback
 * reason and every escalation reason of the flow (sql/flows/back_pain.json)
 * has a title in every language of the flow in sql/triage/titles.json; and
 * the triage summary has its words in each of those languages too.
 */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"

static json_t *
load(const char *env)
{
	const char *path = getenv(env);
	json_error_t err;
	json_t *doc;

	ck_assert_msg(path != NULL, "set %s", env);
	doc = json_load_file(path, 0, &err);
	ck_assert_msg(doc != NULL, "%s: %s", path, err.text);
	return doc;
}

static void
has_title(json_t *titles, json_t *langs, const char *id)
{
	json_t *map = json_object_get(json_object_get(titles, "rules"), id), *lang;
	size_t i;

	ck_assert_msg(map != NULL, "no title for %s", id);
	json_array_foreach(langs, i, lang) {
		const char *t = json_string_value(json_object_get(map, json_string_value(lang)));

		ck_assert_msg(t != NULL && t[0] != '\0', "%s has no %s title", id, json_string_value(lang));
		ck_assert_msg(strlen(t) <= 60, "%s: title too long for an SMS alert: %s", id, t);
	}
}

/* Every escalate action's reason anywhere in the flow document. */
static void
flow_reasons(json_t *titles, json_t *langs, json_t *v, int *n)
{
	const char *key;
	json_t *sub;
	size_t i;

	if (json_is_object(v)) {
		if (json_is_string(json_object_get(v, "action")) &&
		    strcmp(json_string_value(json_object_get(v, "action")), "escalate") == 0) {
			has_title(titles, langs, json_string_value(json_object_get(v, "reason")));
			(*n)++;
		}
		json_object_foreach(v, key, sub)
			flow_reasons(titles, langs, sub, n);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, sub)
			flow_reasons(titles, langs, sub, n);
	}
}

START_TEST(test_every_reason_has_titles)
{
	json_t *titles = load("TITLES_FILE"), *phrases = load("REDFLAG_PHRASES"), *flow = load("FLOW_FILE");
	json_t *langs = json_object_get(flow, "languages"), *rule, *lang;
	int n = 0;
	size_t i, j;

	ck_assert_uint_ge(json_array_size(langs), 2);
	json_array_foreach(json_object_get(phrases, "rules"), i, rule) {
		has_title(titles, langs, json_string_value(json_object_get(rule, "id")));
		n++;
	}
	ck_assert_int_ge(n, 9);
	has_title(titles, langs, "redflag");  /* engine.c's reason when no rule id is known */
	n = 0;
	flow_reasons(titles, langs, flow, &n);
	ck_assert_int_ge(n, 1);
	/* The summary's words. */
	json_array_foreach(langs, j, lang) {
		static const char *const paths[] = { "yes", "no", "since", "brief" };
		json_t *summary = json_object_get(titles, "summary");
		const char *l = json_string_value(lang);

		for (i = 0; i < sizeof paths / sizeof paths[0]; i++)
			ck_assert_msg(json_is_string(json_object_get(json_object_get(summary, paths[i]), l)),
			    "summary.%s has no %s", paths[i], l);
		ck_assert_msg(strstr(json_string_value(json_object_get(json_object_get(summary, "brief"), l)),
		    "{patient}") != NULL, "the %s brief must give the number to call", l);
		ck_assert(json_is_string(json_object_get(json_object_get(json_object_get(summary, "language"), l), l)));
	}
	json_decref(titles);
	json_decref(phrases);
	json_decref(flow);
}
END_TEST

CHECK_RUN_MAIN("titles", 30, test_every_reason_has_titles)
