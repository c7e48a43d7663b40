/*
 * check_flow.c - unit tests for the flow loader (gateway/flow.c).
 *
 * Environment:
 *   FLOW_FILE       path to the production flow (sql/flows/back_pain.json)
 *   FLOW_TEST_DATA  directory with minimal.json and invalid/ (tests/data/flows)
 *
 * Invalid documents come two ways: whole files listed in
 * invalid/EXPECTED.tsv, and the mutations of minimal.json listed in
 * mutations.tsv (a JSON pointer, a new value or deletion, the cause we
 * expect), so each case breaks exactly one rule of an otherwise valid flow.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check_run.h"
#include "file_text.h"
#include "unit_helpers.h"
#include "flow.h"
#include "segment.h"
#include "xmalloc.h"

static char *
data_path(const char *name)
{
	const char *dir = getenv("FLOW_TEST_DATA");

	return xasprintf("%s/%s", dir ? dir : "tests/data/flows", name);
}

static char *
flow_file(size_t *len)
{
	const char *path = getenv("FLOW_FILE");

	return file_text_read(path ? path : "sql/flows/back_pain.json", len);
}

START_TEST(test_back_pain_loads)
{
	size_t len;
	char *text = flow_file(&len), *cause = NULL;
	struct flow *flow = flow_load(text, len, &cause);

	ck_assert_msg(flow != NULL, "back_pain: %s", cause ? cause : "?");
	ck_assert_str_eq(flow_name(flow), "back_pain");
	ck_assert_uint_eq(flow_nlangs(flow), 2);
	ck_assert_str_eq(flow_lang(flow, 0), "en");
	ck_assert_str_eq(flow_lang(flow, 1), "es");
	ck_assert_int_eq(flow_lang_index(flow, "es"), 1);
	ck_assert_int_eq(flow_lang_index(flow, "fr"), -1);
	ck_assert_int_eq(flow_lang_index(flow, NULL), -1);
	ck_assert_str_eq(flow_start(flow)->id, "greeting");
	ck_assert_int_eq(flow_emergency(flow)->kind, FLOW_EMERGENCY);
	ck_assert_ptr_nonnull(flow_node_find(flow, "lower_menu"));
	ck_assert_ptr_null(flow_node_find(flow, "nope"));
	ck_assert_ptr_null(flow_node_find(flow, NULL));
	ck_assert_uint_eq(flow_node_find(flow, "middle_menu")->nchoices, 10);
	ck_assert_uint_eq(flow_node_find(flow, "upper_menu")->nchoices, 9);
	ck_assert(flow_node_find(flow, "sd")->multi);
	ck_assert_ptr_null(flow_node_find(flow, "sd")->choices[4].var);
	ck_assert_str_eq(flow_node_find(flow, "sd")->choices[1].var, "sd_numb");
	ck_assert(flow_node_find(flow, "see_doctor")->see_doctor);
	ck_assert_ptr_eq(flow_node_find(flow, "lower_heat")->choices,
	    flow_node_find(flow, "lower_menu")->choices);
	for (int m = 0; m < FLOW_MSG_COUNT; m++)
		for (size_t l = 0; l < 2; l++)
			ck_assert_ptr_nonnull(flow_message(flow, (enum flow_message)m)->by_lang[l]);
	flow_free(flow);
	free(text);
}
END_TEST

/* Every text of the production flow, in every language, fits in 2 SMS as sent (GSM-7 by default). */
static void
check_texts(json_t *v, const char *where, int *checked)
{
	const char *key;
	json_t *e;
	size_t i;

	if (json_is_object(v)) {
		json_t *en = json_object_get(v, "en"), *es = json_object_get(v, "es");

		if (json_is_string(en) && json_is_string(es) && json_object_size(v) == 2) {
			json_object_foreach(v, key, e) {
				char *sent = segment_fold_gsm7(json_string_value(e));
				enum segment_encoding enc;
				size_t n = segment_count(sent, strlen(sent), &enc);

				free(sent);
				ck_assert_msg(n <= 2, "%s.%s needs %zu segments (%s)", where, key, n,
				    segment_encoding_name(enc));
				ck_assert_msg(strstr(json_string_value(e), "http") == NULL, "%s.%s has a link", where, key);
				(*checked)++;
			}
			return;
		}
		json_object_foreach(v, key, e) {
			char *w = xasprintf("%s.%s", where, key);

			check_texts(e, w, checked);
			free(w);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			json_t *id = json_is_object(e) ? json_object_get(e, "id") : NULL;
			char *w = id ? xasprintf("%s.%s", where, json_string_value(id)) :
			    xasprintf("%s[%zu]", where, i);

			check_texts(e, w, checked);
			free(w);
		}
	}
}

START_TEST(test_back_pain_texts_fit)
{
	size_t len;
	char *text = flow_file(&len);
	json_t *root = json_loadb(text, len, 0, NULL);
	int checked = 0;

	ck_assert_ptr_nonnull(root);
	check_texts(root, "flow", &checked);
	ck_assert_int_gt(checked, 60);
	json_decref(root);
	free(text);
}
END_TEST

struct kw_case {
	const char *text;
	enum flow_keyword kind;
	const char *lang; /* FLOW_KW_LANGUAGE: the language; FLOW_KW_GOTO: the target node (NULL = book) */
};

static const struct kw_case kw_cases[] = {
	{ "STOP", FLOW_KW_STOP, NULL }, { "stop", FLOW_KW_STOP, NULL }, { "  Stop. ", FLOW_KW_STOP, NULL },
	{ "UNSUBSCRIBE", FLOW_KW_STOP, NULL }, { "Cancel", FLOW_KW_STOP, NULL }, { "end", FLOW_KW_STOP, NULL },
	{ "QUIT!", FLOW_KW_STOP, NULL }, { "ALTO", FLOW_KW_STOP, NULL }, { "parar", FLOW_KW_STOP, NULL },
	{ "the pain won't stop", FLOW_KW_NONE, NULL }, { "stop it hurts", FLOW_KW_NONE, NULL },
	{ "START", FLOW_KW_START, NULL }, { "unstop", FLOW_KW_START, NULL }, { "Alta", FLOW_KW_NONE, NULL },
	{ "HELP", FLOW_KW_HELP, NULL }, { "info", FLOW_KW_HELP, NULL }, { "AYUDA", FLOW_KW_HELP, NULL },
	{ "¿ayuda?", FLOW_KW_HELP, NULL },
	{ "ACTIVAR", FLOW_KW_START, NULL },
	{ "RESTART", FLOW_KW_RESTART, NULL }, { "MENU", FLOW_KW_GOTO, "kw_menu" },
	{ "MENÚ", FLOW_KW_GOTO, "kw_menu" }, { "menú", FLOW_KW_GOTO, "kw_menu" }, { "Inicio", FLOW_KW_RESTART, NULL },
	{ "tip", FLOW_KW_GOTO, "kw_menu" }, { "Más", FLOW_KW_GOTO, "kw_menu" }, { "consejos", FLOW_KW_GOTO, "kw_menu" },
	{ "DOCTOR", FLOW_KW_GOTO, "kw_doctor" }, { "médico", FLOW_KW_GOTO, "kw_doctor" },
	{ "questions", FLOW_KW_GOTO, "kw_questions" }, { "PREGUNTAS", FLOW_KW_GOTO, "kw_questions" },
	{ "start over", FLOW_KW_RESTART, NULL },
	{ "HUMAN", FLOW_KW_HUMAN, NULL }, { "persona", FLOW_KW_HUMAN, NULL }, { "call me", FLOW_KW_HUMAN, NULL },
	{ "LLÁMENME", FLOW_KW_HUMAN, NULL },
	{ "ES", FLOW_KW_LANGUAGE, "es" }, { "Español", FLOW_KW_LANGUAGE, "es" }, { "ESPANOL", FLOW_KW_LANGUAGE, "es" },
	{ "EN", FLOW_KW_LANGUAGE, "en" }, { "english", FLOW_KW_LANGUAGE, "en" }, { "inglés", FLOW_KW_LANGUAGE, "en" },
	{ "BOOK", FLOW_KW_GOTO, NULL }, { "cita", FLOW_KW_GOTO, NULL },
	{ "", FLOW_KW_NONE, NULL }, { "1", FLOW_KW_NONE, NULL }, { "yes", FLOW_KW_NONE, NULL },
	{ "helps", FLOW_KW_NONE, NULL }, { "menus", FLOW_KW_NONE, NULL },
};

START_TEST(test_keywords)
{
	const struct kw_case *c = &kw_cases[_i];
	size_t len;
	char *text = flow_file(&len), *cause = NULL, norm[256];
	struct flow *flow = flow_load(text, len, &cause);
	struct flow_keyword_hit hit;

	ck_assert_ptr_nonnull(flow);
	flow_normalize(c->text, strlen(c->text), norm, sizeof norm);
	hit = flow_keyword_match(flow, norm);
	ck_assert_msg(hit.kind == c->kind, "'%s' -> %s, want %s", c->text, flow_keyword_name(hit.kind),
	    flow_keyword_name(c->kind));
	if (c->lang != NULL && c->kind == FLOW_KW_LANGUAGE)
		ck_assert_str_eq(flow_lang(flow, (size_t)hit.lang), c->lang);
	if (c->kind == FLOW_KW_GOTO)
		ck_assert_str_eq(hit.target->id, c->lang != NULL ? c->lang : "kw_book"); /* lang: the target node */
	flow_free(flow);
	free(text);
}
END_TEST

struct norm_case {
	const char *in;
	const char *out;
};

static const struct norm_case norm_cases[] = {
	{ "  Hello,   World!  ", "hello world" }, { "MENÚ", "menu" }, { "Sí", "si" }, { "¿Qué?", "que" },
	{ "ESPAÑOL", "espanol" }, { "don't", "dont" }, { "won\xe2\x80\x99t", "wont" }, { "2. also", "2 also" },
	{ "#3", "3" }, { "ÀÉÎÕÜÇ", "aeiouc" }, { "a\xff" "b", "a b" }, { "\xc3", "" }, { "x\xe2\x82", "x" },
	{ "tab\tand\nnewline", "tab and newline" }, { "\xf0\x9f\x98\x80 ok", "\xf0\x9f\x98\x80 ok" },
	{ "\xe2\x80\x9cquoted\xe2\x80\x9d", "quoted" }, { "", "" }, { "...", "" }, { "l\xc3\xb3wer", "lower" },
};

START_TEST(test_normalize)
{
	char out[64];
	size_t n = flow_normalize(norm_cases[_i].in, strlen(norm_cases[_i].in), out, sizeof out);

	ck_assert_str_eq(out, norm_cases[_i].out);
	ck_assert_uint_eq(n, strlen(out));
}
END_TEST

START_TEST(test_normalize_bounds)
{
	char out[8];

	ck_assert_uint_eq(flow_normalize("abcdefghijklmnop", 16, out, sizeof out), 7);
	ck_assert_str_eq(out, "abcdefg");
	ck_assert_uint_eq(flow_normalize("abc", 3, out, 0), 0);
	ck_assert_uint_eq(flow_normalize(NULL, 5, out, sizeof out), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_numbers_and_names)
{
	size_t len;
	char *text = flow_file(&len), *cause = NULL;
	struct flow *flow = flow_load(text, len, &cause);

	ck_assert_int_eq(flow_number_word(flow, "one"), 1);
	ck_assert_int_eq(flow_number_word(flow, "tres"), 3);
	ck_assert_int_eq(flow_number_word(flow, "nueve"), 9);
	ck_assert_int_eq(flow_number_word(flow, "ten"), 0);
	ck_assert_str_eq(flow_node_kind_name(FLOW_QUESTION), "question");
	ck_assert_str_eq(flow_node_kind_name((enum flow_node_kind)42), "unknown");
	ck_assert_str_eq(flow_keyword_name(FLOW_KW_STOP), "stop");
	ck_assert_str_eq(flow_keyword_name((enum flow_keyword)42), "unknown");
	flow_free(flow);
	flow_free(NULL);
	free(text);
}
END_TEST

START_TEST(test_minimal_loads)
{
	char *path = data_path("minimal.json"), *text, *cause = NULL;
	size_t len;
	struct flow *flow;
	const struct flow_node *pick;

	text = file_text_read(path, &len);
	flow = flow_load(text, len, &cause);
	ck_assert_msg(flow != NULL, "minimal: %s", cause ? cause : "?");
	pick = flow_node_find(flow, "pick");
	ck_assert_str_eq(pick->prompt->by_lang[1], "shared text (es)");
	ck_assert_str_eq(pick->choices[1].value, "2");
	ck_assert_str_eq(pick->choices[0].keywords[1], "manzana");
	ck_assert_int_eq(pick->choices[1].fx.actions[0].kind, FLOW_ACTION_CALLBACK);
	ck_assert_int_eq(flow_node_find(flow, "check")->cases[0].cond.op, FLOW_COND_ANY);
	flow_free(flow);
	free(text);
	free(path);
}
END_TEST

/* ---- invalid documents ---- */

START_TEST(test_invalid_files)
{
	char *manifest = data_path("invalid/EXPECTED.tsv"), *dir = data_path("invalid"), *list, *line, *save = NULL;
	size_t len;
	int cases = 0;

	list = file_text_read(manifest, &len);
	for (line = strtok_r(list, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *tab = strchr(line, '\t'), *path, *text, *cause = NULL;
		size_t tlen;
		bool loaded;

		if (line[0] == '#' || tab == NULL)
			continue;
		*tab = '\0';
		path = xasprintf("%s/%s", dir, line);
		text = file_text_read(path, &tlen);
		loaded = flow_load(text, tlen, &cause) != NULL;
		unit_assert_refused(loaded, line, cause, tab + 1);
		free(text);
		free(path);
		cases++;
	}
	ck_assert_int_ge(cases, 5);
	free(list);
	free(dir);
	free(manifest);
}
END_TEST

/* Applies one JSON-pointer change to root; false if the pointer is bad. */
static bool
mutate(json_t *root, const char *ptr, const char *value)
{
	char *copy = xstrdup(ptr + 1), *last = strrchr(copy, '/'), *tok, *save = NULL;
	json_t *parent = root, *v = NULL;
	bool ok;

	if (last == NULL) {
		last = copy;
		copy = xasprintf("%s", "");
		tok = last;
		last = xstrdup(tok);
		free(tok);
	} else {
		*last++ = '\0';
		last = xstrdup(last);
		for (tok = strtok_r(copy, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save))
			parent = json_is_array(parent) ? json_array_get(parent, (size_t)atoi(tok)) :
			    json_object_get(parent, tok);
	}
	if (value != NULL) {
		v = json_loads(value, JSON_DECODE_ANY, NULL);
		ck_assert_msg(v != NULL, "bad mutation value %s", value);
	}
	if (json_is_array(parent)) {
		if (strcmp(last, "-") == 0)
			ok = json_array_append_new(parent, v) == 0;
		else if (v == NULL)
			ok = json_array_remove(parent, (size_t)atoi(last)) == 0;
		else
			ok = json_array_set_new(parent, (size_t)atoi(last), v) == 0;
	} else if (json_is_object(parent))
		ok = v == NULL ? json_object_del(parent, last) == 0 : json_object_set_new(parent, last, v) == 0;
	else {
		json_decref(v);
		ok = false;
	}
	free(copy);
	free(last);
	return ok;
}

/* A mutation's value: JSON text, or NULL for "(delete)". */
static const char *
mutation_value(const char *field)
{
	return strcmp(field, "(delete)") == 0 ? NULL : field;
}

/*
 * Each line of mutations.tsv breaks one rule of minimal.json: a JSON pointer,
 * its new value, the cause we expect, and optionally a second pointer and
 * value (see tests/data/flows/README.md).
 */
START_TEST(test_mutations)
{
	char *manifest = data_path("mutations.tsv"), *path = data_path("minimal.json"), *list, *text, *line;
	char *save = NULL;
	size_t len, tlen;
	int cases = 0;

	list = file_text_read(manifest, &len);
	text = file_text_read(path, &tlen);
	for (line = strtok_r(list, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *field[5], *doc, *cause = NULL;
		size_t n = 0;
		json_t *root;
		bool loaded;

		if (line[0] == '#')
			continue;
		for (char *p = line; p != NULL && n < 5; n++) {
			field[n] = p;
			if ((p = strchr(p, '\t')) != NULL)
				*p++ = '\0';
		}
		ck_assert_msg(n == 3 || n == 5, "mutations.tsv: '%s' has %zu fields, not 3 or 5", field[0], n);
		root = json_loadb(text, tlen, 0, NULL);
		ck_assert_ptr_nonnull(root);
		ck_assert_msg(mutate(root, field[0], mutation_value(field[1])), "cannot apply %s", field[0]);
		if (n == 5)
			ck_assert_msg(mutate(root, field[3], mutation_value(field[4])), "cannot apply %s", field[3]);
		doc = json_dumps(root, JSON_COMPACT);
		loaded = flow_load(doc, strlen(doc), &cause) != NULL;
		unit_assert_refused(loaded, field[0], cause, field[2]);
		free(doc);
		json_decref(root);
		cases++;
	}
	ck_assert_int_ge(cases, 100);
	free(text);
	free(list);
	free(path);
	free(manifest);
}
END_TEST

START_TEST(test_empty_and_huge)
{
	char *cause = NULL, *big;

	ck_assert_ptr_null(flow_load(NULL, 0, &cause));
	ck_assert_str_eq(cause, "document: empty");
	free(cause);
	ck_assert_ptr_null(flow_load("{}", 0, &cause));
	free(cause);
	big = xcalloc(1, FLOW_MAX_DOC + 2);
	memset(big, ' ', FLOW_MAX_DOC + 1);
	ck_assert_ptr_null(flow_load(big, FLOW_MAX_DOC + 1, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "larger than"));
	free(cause);
	free(big);
}
END_TEST

/* Truncations and byte flips of the real flow: load or fail, never crash. */
START_TEST(test_hostile_variants)
{
	size_t len;
	char *text = flow_file(&len), *copy = xmalloc(len + 1), *cause = NULL;
	unsigned seed = 7;
	int loaded = 0;

	for (size_t cut = 0; cut < len; cut += 97) {
		struct flow *flow = flow_load(text, cut, &cause);

		ck_assert(flow == NULL);
		ck_assert_ptr_nonnull(cause);
		free(cause);
	}
	for (int r = 0; r < 400; r++) {
		struct flow *flow;

		memcpy(copy, text, len);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245u + 12345u;
			copy[(seed >> 4) % len] = (char)(seed >> 16);
		}
		flow = flow_load(copy, len, &cause);
		if (flow != NULL) {
			loaded++;
			ck_assert_ptr_null(cause);
			flow_free(flow);
		} else {
			ck_assert_ptr_nonnull(cause);
			free(cause);
		}
	}
	(void)loaded;
	free(copy);
	free(text);
}
END_TEST

int
main(void)
{
	TCase *tc = tcase_create("flow");

	tcase_set_timeout(tc, 60);
	CHECK_RUN_ADD(tc, test_back_pain_loads, test_back_pain_texts_fit);
	tcase_add_loop_test(tc, test_keywords, 0, (int)(sizeof kw_cases / sizeof kw_cases[0]));
	tcase_add_loop_test(tc, test_normalize, 0, (int)(sizeof norm_cases / sizeof norm_cases[0]));
	CHECK_RUN_ADD(tc, test_normalize_bounds, test_numbers_and_names, test_minimal_loads,
	    test_invalid_files, test_mutations, test_empty_and_huge, test_hostile_variants);
	return check_run_case("flow", tc);
}
