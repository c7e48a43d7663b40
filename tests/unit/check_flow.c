/*
 * check_flow.c - unit tests for the flow loader (gateway/flow.c).
 *
 * Environment:
 *   FLOW_FILE       path to the production flow (sql/flows/back_pain.json)
 *   FLOW_TEST_DATA  directory with minimal.json and invalid/ (tests/data/flows)
 *
 * Invalid documents come two ways: whole files listed in
 * invalid/EXPECTED.tsv, and a table of mutations applied to minimal.json
 * (a JSON pointer, a new value or deletion, the cause we expect), so each
 * case breaks exactly one rule of an otherwise valid flow.
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

struct mutation {
	const char *ptr;   /* JSON pointer; a final "-" appends to an array */
	const char *value; /* JSON text, or NULL to delete */
	const char *ptr2;  /* optional second change */
	const char *value2;
	const char *cause; /* substring of the expected cause */
};

#define TXT "{\"en\":\"x\",\"es\":\"y\"}"

static const struct mutation mutations[] = {
	{ "/nodes/1/kind", "\"quiz\"", NULL, NULL, "node 'pick': unknown kind 'quiz'" },
	{ "/nodes/1/kind", NULL, NULL, NULL, "node 'pick': missing field 'kind'" },
	{ "/nodes/0/next", "\"nowhere\"", NULL, NULL, "node 'hello': field 'next' names unknown node 'nowhere'" },
	{ "/nodes/0/next", NULL, NULL, NULL, "node 'hello': missing field 'next'" },
	{ "/nodes/2/id", "\"pick\"", NULL, NULL, "node 'pick': duplicate id" },
	{ "/nodes/0/id", "\"Hello World\"", NULL, NULL, "node 1: field 'id' must be 1-64 characters" },
	{ "/nodes/0/text/es", NULL, NULL, NULL, "node 'hello': field 'text': missing language 'es'" },
	{ "/nodes/0/text", NULL, NULL, NULL, "node 'hello': missing field 'text'" },
	{ "/nodes/0/text/fr", "\"salut\"", NULL, NULL, "node 'hello': field 'text': undeclared language 'fr'" },
	{ "/nodes/0/text/en", "\"\"", NULL, NULL, "node 'hello': field 'text': language 'en' must be 1-1600 bytes" },
	{ "/nodes/0/text/en", "7", NULL, NULL, "node 'hello': field 'text': language 'en' must be a string" },
	{ "/nodes/0/text", "\"plain\"", NULL, NULL, "node 'hello': field 'text' must be a language map" },
	{ "/nodes/1/prompt", "\"@nope\"", NULL, NULL, "node 'pick': field 'prompt': unknown text '@nope'" },
	{ "/nodes/0/colour", "\"red\"", NULL, NULL, "node 'hello': unknown field 'colour'" },
	{ "/nodes/0/choices", "[]", NULL, NULL, "node 'hello': field 'choices' is not allowed in a message node" },
	{ "/nodes/6/next", "\"hello\"", NULL, NULL, "node 'bye': field 'next' is not allowed in a end node" },
	{ "/start", "\"missing\"", NULL, NULL, "document: field 'start' names unknown node 'missing'" },
	{ "/start", "\"er\"", NULL, NULL, "document: field 'start' cannot be the emergency node 'er'" },
	{ "/start", NULL, NULL, NULL, "document: missing field 'start'" },
	{ "/replaces", "{}", NULL, NULL, "document: field 'replaces' must be a list of at most 1024 SHA-256 hashes" },
	{ "/replaces", "[\"0a43559956536e2529ac259d761552e7cd526debe9072adf90cceebb18d3410F\"]", NULL, NULL,
	    "document: field 'replaces': item 1 must be a SHA-256 in 64 lower-case hex digits" },
	{ "/emergency", "\"bye\"", NULL, NULL, "document: field 'emergency' must name an emergency node, not 'bye'" },
	{ "/nodes/-", "{\"id\":\"orphan\",\"kind\":\"end\",\"text\":" TXT "}", NULL, NULL,
	    "node 'orphan': unreachable from start" },
	{ "/nodes/3/else", "\"loop\"", "/nodes/-", "{\"id\":\"loop\",\"kind\":\"message\",\"text\":" TXT ",\"next\":\"check\"}",
	    "part of a cycle of message/branch nodes" },
	{ "/nodes/0/next", "\"hello\"", NULL, NULL, "node 'hello': part of a cycle" },
	{ "/messages/help", NULL, NULL, NULL, "messages: missing field 'help'" },
	{ "/messages/shout", TXT, NULL, NULL, "messages: unknown field 'shout'" },
	{ "/messages/retry/es", NULL, NULL, NULL, "messages: field 'retry': missing language 'es'" },
	{ "/keywords/stop", NULL, NULL, NULL, "keywords: missing list 'stop'" },
	{ "/keywords/stop/es", NULL, NULL, NULL, "keywords.stop: missing language 'es'" },
	{ "/keywords/help/en", "[\"HELP\",\"STOP\"]", NULL, NULL, "keywords.help: word 'stop' is already used by 'stop'" },
	{ "/keywords/help/en", "[\"...\"]", NULL, NULL, "keywords.help: language 'en' word 1 has no letters or digits" },
	{ "/keywords/help/en", "\"HELP\"", NULL, NULL, "keywords.help: language 'en' must be a list" },
	{ "/keywords/language/fr", "[\"FR\"]", NULL, NULL, "keywords.language: undeclared language 'fr'" },
	{ "/keywords/yell", "{}", NULL, NULL, "keywords: unknown field 'yell'" },
	{ "/numbers/en", "[\"one\",\"stop\"]", NULL, NULL, "numbers: word 'stop' is already used by 'stop'" },
	{ "/nodes/1/choices/0/keywords/en", "[\"menu\"]", NULL, NULL,
	    "node 'pick': choice 1: keyword 'menu' is shadowed by the global keyword 'restart'" },
	{ "/nodes/1/choices/0/keywords/en", "[\"book\"]", NULL, NULL,
	    "node 'pick': choice 1: keyword 'book' is shadowed by the global keyword 'goto'" },
	{ "/nodes/1/choices/0/keywords/en", "[\"two\"]", NULL, NULL, "keyword 'two' is shadowed by the global keyword 'numbers'" },
	{ "/nodes/1/choices/1/keywords/en", "[\"apple\"]", NULL, NULL, "node 'pick': choice 2: keyword 'apple' also belongs to choice 1" },
	{ "/nodes/1/choices/0/next", NULL, NULL, NULL, "node 'pick': choice 1: missing field 'next'" },
	{ "/nodes/1/choices/0/value", "\"\"", NULL, NULL, "node 'pick': choice 1: field 'value' must be a string of 1-64 bytes" },
	{ "/nodes/1/choices/0/extra", "1", NULL, NULL, "node 'pick': choice 1: unknown field 'extra'" },
	{ "/nodes/1/choices", "[]", NULL, NULL, "node 'pick': field 'choices' must be a list of 1-32 choices" },
	{ "/nodes/1/choices/1/actions/0/action", "\"launch\"", NULL, NULL, "node 'pick': choice 2: action 1: unknown action 'launch'" },
	{ "/nodes/1/choices/1/actions/0/reason", NULL, NULL, NULL, "node 'pick': choice 2: action 1: field 'reason'" },
	{ "/nodes/1/choices/1/set/flag", "5", NULL, NULL, "node 'pick': choice 2: field 'set': variable 'flag' needs a string" },
	{ "/nodes/1/strict", "\"yes\"", NULL, NULL, "node 'pick': field 'strict' must be true or false" },
	{ "/nodes/4/choices_from", "\"bye\"", NULL, NULL, "node 'again': field 'choices_from' must name a question with its own choices" },
	{ "/nodes/4/choices_from", "\"ghost\"", NULL, NULL, "node 'again': field 'choices_from' names unknown node 'ghost'" },
	{ "/nodes/4/choices", "[{\"next\":\"bye\"}]", NULL, NULL, "node 'again': needs exactly one of 'choices' or 'choices_from'" },
	{ "/nodes/3/cases/0/if", "{\"var\":\"ghost\",\"eq\":\"x\"}", NULL, NULL, "node 'check': case 1: reads variable 'ghost' that no node sets" },
	{ "/nodes/3/cases/0/if", "{\"var\":\"pick\",\"eq\":\"a\",\"ne\":\"b\"}", NULL, NULL, "node 'check': case 1: condition needs exactly one of" },
	{ "/nodes/3/cases/0/if", "{\"any\":[]}", NULL, NULL, "node 'check': case 1: condition field 'any' must be a list of 1-32 conditions" },
	{ "/nodes/3/cases/0/if", "{\"not\":{\"not\":{\"not\":{\"not\":{\"not\":{\"not\":{\"not\":{\"not\":{\"var\":\"pick\",\"set\":true}}}}}}}}}",
	    NULL, NULL, "node 'check': case 1: conditions nested deeper than 8" },
	{ "/nodes/3/cases/0/if", "{\"var\":\"pick\",\"set\":\"yes\"}", NULL, NULL, "condition field 'set' must be true or false" },
	{ "/nodes/3/cases/0/if", "{\"advised\":\"yes\"}", NULL, NULL, "condition field 'advised' must be true or false" },
	{ "/nodes/3/cases/0/if", "{\"advised\":true,\"var\":\"pick\"}", NULL, NULL, "condition needs exactly one of" },
	{ "/nodes/3/cases/0/if", NULL, NULL, NULL, "node 'check': case 1: missing field 'if'" },
	{ "/nodes/3/else", NULL, NULL, NULL, "node 'check': missing field 'else'" },
	{ "/nodes/2/var", NULL, NULL, NULL, "node 'note': missing field 'var'" },
	{ "/nodes/5/reminder", NULL, NULL, NULL, "node 'er': missing field 'reminder'" },
	{ "/languages", "[]", NULL, NULL, "document: field 'languages' must list 1-8 language codes" },
	{ "/languages", "[\"en\",\"en\"]", NULL, NULL, "document: language 'en' declared twice" },
	{ "/languages", "[\"en\",\"EN!\"]", NULL, NULL, "document: language 2 must be a code" },
	{ "/languages", "[\"en\"]", NULL, NULL, "undeclared language 'es'" },
	{ "/default_language", "\"fr\"", NULL, NULL, "document: field 'default_language' must be a declared language" },
	{ "/name", "\"Back Pain\"", NULL, NULL, "document: field 'name' must be 1-64 characters" },
	{ "/name", NULL, NULL, NULL, "document: missing field 'name'" },
	{ "/version", "\"1\"", NULL, NULL, "document: field 'version' must be an integer" },
	{ "/nodes", "[]", NULL, NULL, "nodes: must be a list of 1-512 nodes" },
	{ "/nodes/0", "\"hello\"", NULL, NULL, "node 1: must be an object" },
	{ "/shortcuts/0/goto", "\"ghost\"", NULL, NULL, "shortcut 1: field 'goto' names unknown node 'ghost'" },
	{ "/shortcuts/0/keywords/es", NULL, NULL, NULL, "shortcut 1: missing language 'es'" },
	{ "/texts/shared/es", NULL, NULL, NULL, "texts 'shared': field 'shared': missing language 'es'" },
	{ "/texts/shared", "\"@shared\"", NULL, NULL, "texts 'shared': must be a language map" },
	{ "/texts/Bad Name", TXT, NULL, NULL, "texts 'Bad Name': name must be" },
	{ "/nodes/7/next", NULL, NULL, NULL, "node 'several': missing field 'next'" },
	{ "/nodes/7/choices/0/next", "\"bye\"", NULL, NULL,
	    "node 'several': choice 1: field 'next' is not allowed in a multi question" },
	{ "/nodes/7/choices/0/var", NULL, NULL, NULL,
	    "node 'several': choice 3: a multi question has at most one choice without 'var'" },
	{ "/nodes/7/choices/0/var", "\"Bad Var\"", NULL, NULL, "node 'several': choice 1: field 'var' must be 1-64 characters" },
	{ "/nodes/7/multi", "\"yes\"", NULL, NULL, "node 'several': field 'multi' must be true or false" },
	{ "/nodes/7/var", "\"x\"", NULL, NULL, "node 'several': field 'var' is not allowed in a multi question" },
	{ "/nodes/7/strict", "true", NULL, NULL, "node 'several': a multi question cannot be strict" },
	{ "/nodes/7/which", "[]", NULL, NULL, "node 'several': field 'which' must be an object" },
	{ "/nodes/7/which", "{\"words\":{\"en\":[\"yes\"],\"es\":[\"si\"]}}", NULL, NULL,
	    "node 'several': field 'which': missing field 'text'" },
	{ "/nodes/7/which", "{\"words\":{\"en\":[\"Numb\"],\"es\":[\"si\"]},\"text\":" TXT "}", NULL, NULL,
	    "node 'several': field 'which': 'numb' is also a keyword of choice 2" },
	{ "/nodes/1/which", "{\"words\":{\"en\":[\"yes\"],\"es\":[\"si\"]},\"text\":" TXT "}", NULL, NULL,
	    "node 'pick': field 'which' is only allowed in a multi question" },
	{ "/nodes/7/choices_from", "\"pick\"", NULL, NULL,
	    "node 'several': a multi question needs its own 'choices', not 'choices_from'" },
	{ "/nodes/7/see_doctor", "1", NULL, NULL, "node 'several': field 'see_doctor' must be true or false" },
	{ "/nodes/6/see_doctor", "true", NULL, NULL, "node 'bye': field 'see_doctor' is not allowed in a end node" },
	{ "/nodes/1/choices/0/var", "\"x\"", NULL, NULL, "node 'pick': choice 1: field 'var' is only allowed in a multi question" },
	{ "/nodes/1/next", "\"bye\"", NULL, NULL, "node 'pick': field 'next' is only allowed in a multi question" },
	{ "/nodes/4/choices_from", "\"several\"", NULL, NULL,
	    "node 'again': field 'choices_from' cannot name the multi question 'several'" },
	{ "/slots/noted/en", "\"Noted\"", NULL, NULL, "slots: field 'noted': language 'en' must contain {list}" },
	{ "/slots/noted", NULL, NULL, NULL, "slots: missing field 'noted'" },
	{ "/slots/extra", "1", NULL, NULL, "slots: unknown field 'extra'" },
	{ "/slots/negations/en", "[\"not at all\"]", NULL, NULL, "'not at all' must be one word" },
	{ "/slots/fields", "[]", NULL, NULL, "slots: field 'fields' must be a list of 1-16 slots" },
	{ "/slots/fields/0/colour", "1", NULL, NULL, "slots: field 1: unknown field 'colour'" },
	{ "/slots/fields/0/var", NULL, NULL, NULL, "slots: field 1: missing field 'var'" },
	{ "/slots/fields/0/duration", "{}", NULL, NULL, "slots: field 1: needs exactly one of 'values' or 'duration'" },
	{ "/slots/fields/0/values", "[]", NULL, NULL, "slots: field 1: field 'values' must be a list of 1-16 values" },
	{ "/slots/fields/0/values/0/value", "\"\"", NULL, NULL, "slots: field 1: value 1: field 'value' must be a string of 1-64 bytes" },
	{ "/slots/fields/0/values/0/label", NULL, NULL, NULL, "slots: field 1: value 1: missing field 'label'" },
	{ "/slots/fields/0/values/0/label/es", NULL, NULL, NULL, "slots: field 1: value 1: field 'label': missing language 'es'" },
	{ "/slots/fields/0/values/0/words", NULL, NULL, NULL, "slots: field 1: value 1: missing field 'words'" },
	{ "/slots/fields/0/values/0/words/fr", "[\"pomme\"]", NULL, NULL, "slots: field 1: value 1: undeclared language 'fr'" },
	{ "/slots/fields/0/values/0/words/es", NULL, NULL, NULL, "slots: field 1: value 1: missing language 'es'" },
	{ "/slots/fields/1/var", "\"pick\"", NULL, NULL, "slots: field 2: variable 'pick' already has a slot" },
	{ "/slots/fields/1/duration/units/0/days", "0", NULL, NULL,
	    "slots: field 2: duration: unit 1: field 'days' must be an integer 1-36500" },
	{ "/slots/fields/1/duration/units/0/words/en", "[\"two weeks\"]", NULL, NULL,
	    "slots: field 2: duration: unit 1: 'two weeks' must be one word" },
	{ "/slots/fields/1/duration/units", "[]", NULL, NULL, "slots: field 2: duration: field 'units' must be a list of 1-16 units" },
	{ "/slots/fields/1/duration/set", NULL, NULL, NULL, "slots: field 2: duration: fields 'over_days' and 'set' go together" },
	{ "/slots/fields/1/duration/over_days", "-1", NULL, NULL,
	    "slots: field 2: duration: field 'over_days' must be an integer 0-36500" },
	{ "/slots/fields/1/duration/set/long", "5", NULL, NULL,
	    "slots: field 2: duration: field 'set': variable 'long' needs a string" },
	{ "/surprise", "1", NULL, NULL, "document: unknown field 'surprise'" },
};

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

START_TEST(test_mutations)
{
	const struct mutation *m = &mutations[_i];
	char *path = data_path("minimal.json"), *text, *doc, *cause = NULL;
	size_t len;
	json_t *root;
	bool loaded;

	text = file_text_read(path, &len);
	root = json_loadb(text, len, 0, NULL);
	ck_assert_ptr_nonnull(root);
	ck_assert_msg(mutate(root, m->ptr, m->value), "cannot apply %s", m->ptr);
	if (m->ptr2 != NULL)
		ck_assert_msg(mutate(root, m->ptr2, m->value2), "cannot apply %s", m->ptr2);
	doc = json_dumps(root, JSON_COMPACT);
	loaded = flow_load(doc, strlen(doc), &cause) != NULL;
	unit_assert_refused(loaded, m->ptr, cause, m->cause);
	free(doc);
	json_decref(root);
	free(text);
	free(path);
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

static Suite *
flow_suite(void)
{
	Suite *s = suite_create("flow");
	TCase *tc = tcase_create("flow");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_back_pain_loads);
	tcase_add_test(tc, test_back_pain_texts_fit);
	tcase_add_loop_test(tc, test_keywords, 0, (int)(sizeof kw_cases / sizeof kw_cases[0]));
	tcase_add_loop_test(tc, test_normalize, 0, (int)(sizeof norm_cases / sizeof norm_cases[0]));
	tcase_add_test(tc, test_normalize_bounds);
	tcase_add_test(tc, test_numbers_and_names);
	tcase_add_test(tc, test_minimal_loads);
	tcase_add_test(tc, test_invalid_files);
	tcase_add_loop_test(tc, test_mutations, 0, (int)(sizeof mutations / sizeof mutations[0]));
	tcase_add_test(tc, test_empty_and_huge);
	tcase_add_test(tc, test_hostile_variants);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run_suite(flow_suite());
}
