/*
 * check_conversation.c - issue #18 through the real gateway: scripted
 * conversations in English and Spanish (the happy path, a free-text first
 * message, HELP first, BOOK then the questions for the doctor), with the
 * segment budget counted from what the sandbox provider received (its
 * outbox log), and no sentence of any reply sent twice in a conversation
 * unless the patient asked.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "file_text.h"
#include "twilio_world.h"
#include "xmalloc.h"

#define CLINIC "+15550001111"
#define WAIT_MS 15000

static const struct twilio_world_opts sandbox = { .sandbox = true };

/* Texts the gateway and waits until the step is processed and its replies delivered. */
static void
say(struct twilio_world *w, const char *patient, const char *body)
{
	twilio_world_text(w, patient, CLINIC, body, WAIT_MS);
	ck_assert_msg(harness_wait_int(w->pg, "SELECT count(*) FROM outbox WHERE state <> 'done'", 0, WAIT_MS),
	    "replies not delivered; see %s", w->gw.log_path);
}

/* Texts a whole script; returns the segments the provider received for it (from the start). */
static size_t
converse(struct twilio_world *w, const char *patient, const char *const *script)
{
	size_t n, segments;
	char **sent;

	for (size_t i = 0; script[i] != NULL; i++)
		say(w, patient, script[i]);
	sent = harness_sandbox_sent(&w->gw, patient, &n, &segments);
	for (size_t i = 0; i < n; i++)
		free(sent[i]);
	free(sent);
	return segments;
}

/* Does the sentence starting at p end at p[i]? "e.g." is no sentence end. */
static bool
sentence_end(const char *p, size_t i)
{
	size_t k = i;

	if (strchr(".?!", p[i]) == NULL || (p[i + 1] != ' ' && p[i + 1] != '\n' && p[i + 1] != '\0'))
		return false;
	if (p[i] != '.')
		return true;
	while (k > 0 && p[k - 1] != ' ' && p[k - 1] != '(')
		if (p[--k] == '.')
			return false; /* an abbreviation such as "e.g." */
	return true;
}

/*
 * The sentences of one outbound body: cut at line breaks and at . ? ! before
 * a space or the end, trimmed; appended to *list (caller frees).
 */
static void
sentences(const char *body, char ***list, size_t *n)
{
	const char *p = body;

	while (*p != '\0') {
		size_t len = 0;

		while (*p == ' ' || *p == '\n')
			p++;
		while (p[len] != '\0' && p[len] != '\n' && !sentence_end(p, len))
			len++;
		if (p[len] != '\0' && p[len] != '\n')
			len++; /* keep the full stop */
		if (len > 0) {
			*list = xreallocarray(*list, *n + 1, sizeof **list);
			(*list)[(*n)++] = xstrndup(p, len);
		}
		p += len;
	}
}

/* No sentence of any reply to patient repeats in the conversation (nobody asked twice). */
static void
assert_no_sentence_twice(const char *patient, char **sent, size_t nsent)
{
	char **list = NULL;
	size_t n = 0;

	for (size_t i = 0; i < nsent; i++)
		sentences(sent[i], &list, &n);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < i; k++)
			ck_assert_msg(strcasecmp(list[k], list[i]) != 0, "sentence sent twice to %s: \"%s\"",
			    patient, list[i]);
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* Everything the provider received for patient, joined by "\n--\n" (caller frees). */
static char *
received(struct twilio_world *w, const char *patient, size_t *nmessages)
{
	size_t n, len = 1;
	char **sent = harness_sandbox_sent(&w->gw, patient, &n, NULL), *all;

	for (size_t i = 0; i < n; i++)
		len += strlen(sent[i]) + 4;
	all = xcalloc(1, len);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(all, "\n--\n");
		strcat(all, sent[i]);
		/* No reply is sent twice in these conversations (nobody asked for one again). */
		for (size_t k = 0; k < i; k++)
			ck_assert_msg(strcmp(sent[k], sent[i]) != 0, "sent twice to %s:\n%s", patient, sent[i]);
	}
	assert_no_sentence_twice(patient, sent, n);
	for (size_t i = 0; i < n; i++)
		free(sent[i]);
	free(sent);
	if (nmessages != NULL)
		*nmessages = n;
	return all;
}

static int
occurrences(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* One scripted conversation and what its patient must receive. */
struct script_case {
	const char *patient;
	const char *const *script;
	const char *want[5];   /* each somewhere in the replies; NULL-ended */
	const char *once;      /* exactly once in the replies, or NULL */
	const char *never[3];  /* none of these in the replies; NULL-ended */
	size_t max_segments;
};

/* Texts c's script and checks what its patient received against c. */
static void
converse_expect(struct twilio_world *w, const struct script_case *c)
{
	size_t seg = converse(w, c->patient, c->script);
	char *all = received(w, c->patient, NULL);

	for (size_t i = 0; c->want[i] != NULL; i++)
		ck_assert_msg(strstr(all, c->want[i]) != NULL, "no \"%s\" to %s; got:\n%s", c->want[i], c->patient,
		    all);
	for (size_t i = 0; c->never[i] != NULL; i++)
		ck_assert_msg(strstr(all, c->never[i]) == NULL, "\"%s\" sent to %s:\n%s", c->never[i], c->patient,
		    all);
	if (c->once != NULL)
		ck_assert_msg(occurrences(all, c->once) == 1, "\"%s\" is not there once for %s:\n%s", c->once,
		    c->patient, all);
	ck_assert_msg(seg <= c->max_segments, "%zu segments to %s, want at most %zu", seg, c->patient,
	    c->max_segments);
	free(all);
}

/* converse_expect for each of n cases, in order. */
static void
converse_expect_all(struct twilio_world *w, const struct script_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		converse_expect(w, &cases[i]);
}

/* The world of the tests that run in one on the sandbox provider (twilio_world_run starts and frees it). */
static struct twilio_world world;

/* The happy path to the first self-care tip: at most 8 segments in each language (issue #18). */
START_TEST(test_happy_path_budget)
{
	static const char *const en[] = { "Hi, my back hurts", "no", "3", "no", "1", NULL };
	static const char *const es[] = { "Hola, me duele la espalda", "no", "3", "no", "1", NULL };
	size_t seg_en, seg_es, n;
	char *all;

	seg_en = converse(&world, "+15553000001", en);
	seg_es = converse(&world, "+15553000002", es);
	all = received(&world, "+15553000001", &n);
	ck_assert_msg(strstr(all, "Safety check") && strstr(all, "Any of these") &&
	    strstr(all, "10-20 minutes"), "got:\n%s", all);
	ck_assert_uint_eq(n, 5); /* one message per step */
	free(all);
	all = received(&world, "+15553000002", &n);
	/* Folded to GSM-7 as sent: "número" arrives as "numero". */
	ck_assert_msg(strstr(all, "Por seguridad") && strstr(all, "Responda los numeros") &&
	    strstr(all, "10 a 20 minutos") && strstr(all, "á") == NULL, "got:\n%s", all);
	free(all);
	ck_assert_msg(seg_en <= 8, "English happy path took %zu segments, want at most 8", seg_en);
	ck_assert_msg(seg_es <= 8, "Spanish happy path took %zu segments, want at most 8", seg_es);
}
END_TEST

/*
 * "lower back, 3 weeks, can't sleep" as the first text: the screen first,
 * then one confirmation line and the doctor advice, once; no question about
 * where, how long or the two weeks.
 */
START_TEST(test_free_text_first_message)
{
	static const char *const en[] = { "lower back, 3 weeks, can't sleep", "no", NULL };
	static const char *const es[] = { "me duele la espalda baja desde hace 3 semanas, no puedo dormir", "no", NULL };
	static const struct script_case cases[] = {
		{ "+15553000011", en, { "Safety check", "Noted: lower back, 3 weeks" }, "recommend",
		  { "Where is the pain", "Any of these" }, 4 },
		{ "+15553000012", es, { "Por seguridad", "Anotado: espalda baja, 3 semanas" }, "le recomendamos",
		  { "Donde le duele" }, 4 },
	};

	converse_expect(&world, &cases[0]);
	ck_assert_int_eq(harness_query_int(world.pg, "SELECT count(*) FROM conversations WHERE patient_number = "
	    "'+15553000011' AND state->>'node' = 'see_doctor' AND state->'vars'->>'region' = 'lower' AND "
	    "state->'vars'->>'sd_daily' = 'yes'"), 1);
	converse_expect(&world, &cases[1]);
}
END_TEST

/*
 * HELP as the first text: help, then the screen (no greeting, help said it); the path after it as usual,
 * in at most 9 segments (8 + the help text, which stands for the greeting).
 */
START_TEST(test_help_first)
{
	static const char *const en[] = { "HELP", "no", "lower, 2 days", "no", "1", NULL };
	static const char *const es[] = { "AYUDA", "no", "baja, 2 días", "no", "1", NULL };
	static const struct script_case cases[] = {
		{ "+15553000021", en, { "not for emergencies", "Safety check", "Noted: 2 days.", "10-20 minutes" },
		  NULL, { "Emergency? Call 911." }, 9 },
		{ "+15553000022", es, { "No es para emergencias", "Por seguridad", "Anotado: 2 dias.", "10 a 20 minutos" },
		  NULL, { "Emergencia? Llame" }, 9 },
	};

	converse_expect_all(&world, cases, sizeof cases / sizeof cases[0]);
}
END_TEST

/* BOOK, then the questions for the doctor: the questions, not a new safety screen. */
START_TEST(test_book_then_questions)
{
	static const char *const en[] = { "hi", "no", "1", "BOOK", "QUESTIONS", NULL };
	static const char *const es[] = { "hola", "no", "3", "CITA", "PREGUNTAS", NULL };
	static const struct script_case cases[] = {
		{ "+15553000031", en, { "The clinic will call you soon", "What is causing my pain", "come back sooner" },
		  "Safety check", { NULL }, 10 },
		{ "+15553000032", es, { "La clinica le llamara pronto", "efectos secundarios" }, "Por seguridad",
		  { NULL }, 10 },
	};

	converse_expect_all(&world, cases, sizeof cases / sizeof cases[0]);
	ck_assert_int_eq(harness_query_int(world.pg, "SELECT count(*) FROM callbacks WHERE reason = 'booking'"), 2);
}
END_TEST

/*
 * Whole conversations with the advice, BOOK and the keywords after it: no
 * sentence of any reply comes twice (received() checks), and BOOK again
 * asks for no second call.
 */
START_TEST(test_no_sentence_twice)
{
	static const char *const free_en[] = { "lower back, 3 weeks, can't sleep", "no", "2", "1", "2", "4", NULL };
	static const char *const yes_en[] = { "hi", "no", "3", "yes", "1 3", "1", "QUESTIONS", "TIP", "BOOK", NULL };
	static const char *const yes_es[] = { "hola", "no", "2", "sí", "2", "1", "PREGUNTAS", "CONSEJO", "CITA", NULL };
	char *all;

	converse(&world, "+15553000041", free_en);
	free(received(&world, "+15553000041", NULL));
	converse(&world, "+15553000042", yes_en);
	all = received(&world, "+15553000042", NULL);
	ck_assert_msg(strstr(all, "Which ones?") && strstr(all, "What is causing my pain") &&
	    strstr(all, "Lower back self-care") && strstr(all, "already has your visit request") &&
	    strstr(all, "Sorry") == NULL, "got:\n%s", all);
	free(all);
	converse(&world, "+15553000043", yes_es);
	all = received(&world, "+15553000043", NULL);
	ck_assert_msg(strstr(all, "Cuales?") && strstr(all, "Que causa mi dolor") && strstr(all, "Espalda media") &&
	    strstr(all, "ya tiene su solicitud de cita") && strstr(all, "Perdon") == NULL, "got:\n%s", all);
	free(all);
	ck_assert_int_eq(harness_query_int(world.pg, "SELECT count(*) FROM callbacks WHERE reason = 'booking'"), 2);
}
END_TEST

/* The shipped flow before this one (tests/data/flows/shipped/back_pain_v1.json; caller frees the path). */
static char *
shipped_v1_path(void)
{
	const char *flow = getenv("CARENAV_FLOW_FILE"), *tail = "sql/flows/back_pain.json";
	size_t root;

	ck_assert_msg(flow != NULL && strlen(flow) >= strlen(tail) &&
	    strcmp(flow + strlen(flow) - strlen(tail), tail) == 0, "CARENAV_FLOW_FILE is not .../%s", tail);
	root = strlen(flow) - strlen(tail);
	return xasprintf("%.*stests/data/flows/shipped/back_pain_v1.json", (int)root, flow);
}

/* Does the newest stored back_pain version hold exactly the shipped sql/flows/back_pain.json? */
static bool
newest_is_shipped(PGconn *pg)
{
	char *doc = file_text_read(getenv("CARENAV_FLOW_FILE"), NULL);
	const char *params[] = { doc };
	PGresult *res = PQexecParams(pg, "SELECT document = $1::jsonb FROM flow_versions "
	    "ORDER BY version DESC LIMIT 1", 1, NULL, params, NULL, NULL, 0);
	bool same;

	ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	same = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	free(doc);
	return same;
}

/*
 * A clinic that never edited the flow gets the new shipped one when the
 * gateway is upgraded; a conversation in flight finishes on its version.
 */
START_TEST(test_shipped_flow_upgrade)
{
	struct twilio_world w;
	char *v1 = shipped_v1_path(), *out = NULL, *reply;
	long long before;

	memset(&w, 0, sizeof w);
	w.conninfo = harness_db_create_empty();
	harness_gw_init(&w.gw, w.conninfo, NULL);
	/* The database an earlier gateway left: the earlier shipped flow, unmodified. */
	ck_assert_msg(harness_gw_cli(&w.gw, &out, "flow", "load", v1, NULL) == 0, "flow load: %s", out);
	free(out);
	harness_gw_start(&w.gw);
	w.pg = harness_db_connect(w.conninfo);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM flow_versions"), 2);
	ck_assert_msg(newest_is_shipped(w.pg), "the gateway did not load the new shipped flow");

	/* Once more with a conversation in flight on the earlier version. */
	ck_assert_msg(harness_gw_cli(&w.gw, &out, "flow", "load", v1, NULL) == 0, "flow load: %s", out);
	free(out);
	say(&w, "+15553000051", "hi");
	say(&w, "+15553000051", "no");
	say(&w, "+15553000051", "3");
	harness_gw_stop_clean(&w.gw);
	harness_gw_start(&w.gw);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM flow_versions"), 4);
	ck_assert_msg(newest_is_shipped(w.pg), "the gateway did not load the new shipped flow");
	before = harness_last_message_id(w.pg);
	say(&w, "+15553000051", "yes");
	reply = harness_replies(w.pg, "+15553000051", before);
	ck_assert_msg(strstr(reply, "Sorry") != NULL, "the earlier version (3) should finish: %s", reply);
	free(reply);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT v.version FROM conversations c JOIN flow_versions v "
	    "ON v.id = c.flow_version_id WHERE c.patient_number = '+15553000051'"), 3);
	before = harness_last_message_id(w.pg);
	say(&w, "+15553000052", "hi");
	say(&w, "+15553000052", "no");
	say(&w, "+15553000052", "3");
	say(&w, "+15553000052", "yes");
	reply = harness_replies(w.pg, "+15553000052", before);
	ck_assert_msg(strstr(reply, "Which ones?") != NULL, "a new conversation is not on the new flow: %s", reply);
	free(reply);
	free(v1);
	twilio_world_free(&w);
}
END_TEST

/* A flow the clinic edited stays at an upgrade, with a log notice and a doctor warning. */
START_TEST(test_edited_flow_kept)
{
	static const char *const greeting = "Your clinic's automated back pain line.";
	struct twilio_world w;
	char *v1 = shipped_v1_path(), *doc = file_text_read(v1, NULL), *edited, *path, *out = NULL, *log, *at;
	FILE *f;

	memset(&w, 0, sizeof w);
	w.conninfo = harness_db_create_empty();
	harness_gw_init(&w.gw, w.conninfo, NULL);
	at = strstr(doc, greeting);
	ck_assert_ptr_nonnull(at);
	edited = xasprintf("%.*sSunny Clinic's back pain line.%s", (int)(at - doc), doc, at + strlen(greeting));
	path = xasprintf("%s/edited.json", w.gw.var_dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(edited, f);
	fclose(f);
	ck_assert_msg(harness_gw_cli(&w.gw, &out, "flow", "load", path, NULL) == 0, "flow load: %s", out);
	free(out);
	harness_gw_start(&w.gw);
	w.pg = harness_db_connect(w.conninfo);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM flow_versions"), 1);
	say(&w, "+15553000061", "hi");
	out = received(&w, "+15553000061", NULL);
	ck_assert_msg(strstr(out, "Sunny Clinic") != NULL, "got:\n%s", out);
	free(out);
	log = file_text_read(w.gw.log_path, NULL);
	ck_assert_msg(strstr(log, "was edited here, so it stays") != NULL, "no notice in %s", w.gw.log_path);
	free(log);
	harness_gw_cli(&w.gw, &out, "doctor", NULL);
	ck_assert_msg(strstr(out, "a newer shipped flow exists") != NULL, "doctor said:\n%s", out);
	free(out);
	free(path);
	free(edited);
	free(doc);
	free(v1);
	twilio_world_free(&w);
}
END_TEST

int
main(void)
{
	return twilio_world_run("conversation", 120, &world, &sandbox, CHECK_RUN_LIST(test_happy_path_budget,
	    test_free_text_first_message, test_help_first, test_book_then_questions, test_no_sentence_twice),
	    CHECK_RUN_LIST(test_shipped_flow_upgrade, test_edited_flow_kept));
}
