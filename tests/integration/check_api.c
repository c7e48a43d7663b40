/*
 * check_api.c - the operator API end to end: the real gateway, PostgreSQL
 * and a fake Twilio. Authentication, every endpoint, keyset pagination while
 * new messages arrive, what ACK/resolve/handoff do to the dialogue, operator
 * texts reaching the provider, the audit trail, the rate limit, the console's
 * static files, and that the gateway's log holds no body or full number.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_twilio.h"
#include "file_text.h"
#include "twilio_world.h"
#include "xmalloc.h"

#define CLINIC "+15550001111"
#define PATIENT "+15553000100"
#define ALICE "alice-token-0123456789"
#define BOB "bob-token-abcdefghijklmnop"
#define WAIT_MS 15000

/* A gateway on the fake Twilio with these OPERATOR_TOKENS and, unless NULL, API_RATE_PER_MINUTE. */
static void
world_init(struct twilio_world *w, const char *tokens, const char *rate)
{
	char *env[] = { xasprintf("OPERATOR_TOKENS=%s", tokens), NULL, NULL };

	if (rate != NULL)
		env[1] = xasprintf("API_RATE_PER_MINUTE=%s", rate);
	twilio_world_start(w, &(const struct twilio_world_opts){ .settings = (const char *const *)env });
	free(env[0]);
	free(env[1]);
}

static void
sms(struct twilio_world *w, const char *from, const char *body)
{
	twilio_world_text(w, from, CLINIC, body, WAIT_MS);
}

/* An API call that must answer `want`; returns the parsed JSON body (caller decrefs). */
static json_t *
call(struct twilio_world *w, long want, const char *method, const char *path, const char *token,
    const char *body)
{
	char *resp = NULL;
	long got = harness_api(w->gw.port, method, path, token, body, &resp);
	json_t *doc = json_loads(resp, 0, NULL);

	ck_assert_msg(got == want, "%s %s: wanted %ld, got %ld: %s", method, path, want, got, resp);
	ck_assert_msg(doc != NULL, "%s %s: not JSON: %s", method, path, resp);
	free(resp);
	return doc;
}

/* A POST with no body that must answer 200 with the string `want` in `field`. */
static void
post_expect(struct twilio_world *w, const char *path, const char *token, const char *field, const char *want)
{
	json_t *doc = call(w, 200, "POST", path, token, NULL);

	ck_assert_str_eq(json_string_value(json_object_get(doc, field)), want);
	json_decref(doc);
}

/* Asserts doc is {"error": {"code": code, "message": ...}} and frees it. */
static void
expect_error(json_t *doc, const char *code)
{
	json_t *err = json_object_get(doc, "error");

	ck_assert_msg(json_is_string(json_object_get(err, "message")), "no error message");
	ck_assert_str_eq(json_string_value(json_object_get(err, "code")), code);
	json_decref(doc);
}

/* GET path as alice: must answer 200 with want in the body. */
static void
get_has(struct twilio_world *w, const char *path, const char *want)
{
	char *resp = NULL;

	ck_assert_int_eq(harness_api(w->gw.port, "GET", path, ALICE, NULL, &resp), 200);
	ck_assert_msg(strstr(resp, want) != NULL, "GET %s: no %s in %s", path, want, resp);
	free(resp);
}

static void
expect_status(struct twilio_world *w, long want, const char *method, const char *path, const char *token,
    const char *body, const char *code)
{
	expect_error(call(w, want, method, path, token, body), code);
}

/* Stops the gateway; its log holds no full patient number and neither message body. */
static void
gw_stop_log_clean(struct twilio_world *w, const char *body_a, const char *body_b)
{
	char *log;

	harness_gw_stop(&w->gw);
	log = file_text_read(w->gw.log_path, NULL);
	ck_assert_msg(strstr(log, PATIENT) == NULL, "full number in the log");
	ck_assert_msg(strstr(log, body_a) == NULL && strstr(log, body_b) == NULL, "a message body in the log");
	free(log);
}

/* One request and the error it must get: status and code word. */
struct api_case {
	long status;
	const char *method, *path, *token, *body, *code;
};

/* expect_status for each of n cases, in order. */
static void
expect_statuses(struct twilio_world *w, const struct api_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_status(w, cases[i].status, cases[i].method, cases[i].path, cases[i].token, cases[i].body,
		    cases[i].code);
}

START_TEST(test_auth_and_errors)
{
	static const struct api_case errors[] = {
		/* Unknown paths and methods under /api/ say so only to an operator. */
		{ 401, "GET", "/api/nope", NULL, NULL, "unauthorized" },
		{ 401, "GET", "/api/escalations/1/ack", NULL, NULL, "unauthorized" },
		{ 404, "GET", "/api/nope", ALICE, NULL, "not_found" },
		{ 404, "GET", "/api/conversations/abc", ALICE, NULL, "not_found" },
		{ 405, "POST", "/api/conversations", ALICE, NULL, "method_not_allowed" },
		/* Bad input: 400 / 404 / 415 / 422 with a code. */
		{ 400, "GET", "/api/conversations?limit=0", ALICE, NULL, "invalid_parameter" },
		{ 400, "GET", "/api/conversations?limit=abc", ALICE, NULL, "invalid_parameter" },
		{ 400, "GET", "/api/conversations?status=weird", ALICE, NULL, "invalid_parameter" },
		{ 400, "GET", "/api/conversations?cursor=xyz", ALICE, NULL, "invalid_cursor" },
		{ 400, "GET", "/api/escalations?open=maybe", ALICE, NULL, "invalid_parameter" },
		{ 400, "GET", "/api/callbacks?status=later", ALICE, NULL, "invalid_parameter" },
		{ 404, "GET", "/api/conversations/424242", ALICE, NULL, "not_found" },
		{ 404, "POST", "/api/escalations/424242/ack", ALICE, NULL, "not_found" },
		{ 404, "POST", "/api/escalations/424242/resolve", ALICE, NULL, "not_found" },
		{ 404, "POST", "/api/callbacks/424242/done", ALICE, NULL, "not_found" },
		{ 404, "POST", "/api/conversations/424242/handoff", ALICE, NULL, "not_found" },
		{ 404, "POST", "/api/conversations/424242/messages", ALICE, "{\"body\": \"hi\"}", "not_found" },
		{ 400, "POST", "/api/conversations/1/messages", ALICE, "[1]", "invalid_json" },
		{ 400, "POST", "/api/conversations/1/messages", ALICE, "{\"body\":", "invalid_json" },
		{ 422, "POST", "/api/conversations/1/messages", ALICE, "{\"body\": \"  \"}", "invalid_body" },
		{ 422, "POST", "/api/conversations/1/handoff", ALICE, "{\"active\": \"yes\"}", "invalid_body" },
		/* The console's language: an OPERATOR_TOKENS name has no account to keep one (check_operators has them). */
		{ 409, "POST", "/api/me/language", ALICE, "{\"language\": \"es\"}", "no_account" },
		{ 422, "POST", "/api/me/language", ALICE, "{\"language\": \"fr\"}", "invalid_body" },
		{ 400, "POST", "/api/me/language", ALICE, "{\"language\":", "invalid_json" },
		{ 405, "GET", "/api/me/language", ALICE, NULL, "method_not_allowed" },
	};
	struct twilio_world w;
	json_t *doc;
	char *resp = NULL;

	world_init(&w, "alice:" ALICE ",bob:" BOB, NULL);
	/* Missing, wrong, wrong scheme, a prefix of a right token: 401 and nothing else. */
	expect_status(&w, 401, "GET", "/api/conversations", NULL, NULL, "unauthorized");
	expect_status(&w, 401, "GET", "/api/conversations", "wrong-token-0123456789", NULL, "unauthorized");
	expect_status(&w, 401, "GET", "/api/conversations", "alice-token-012345678", NULL, "unauthorized");
	ck_assert_int_eq(harness_post(w.gw.port, "/api/escalations/1/ack", "application/json", "{}", 2,
	    &resp), 401);
	ck_assert_msg(strstr(resp, "unauthorized") != NULL, "%s", resp);
	free(resp);
	/* The right tokens, each with its name. */
	doc = call(&w, 200, "GET", "/api/me", ALICE, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "operator")), "alice");
	json_decref(doc);
	doc = call(&w, 200, "GET", "/api/me", BOB, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "operator")), "bob");
	json_decref(doc);
	doc = call(&w, 200, "GET", "/api/conversations", ALICE, NULL);
	ck_assert(json_is_array(json_object_get(doc, "conversations")));
	json_decref(doc);
	expect_statuses(&w, errors, sizeof errors / sizeof errors[0]);
	ck_assert_int_eq(harness_api(w.gw.port, "POST", "/api/conversations/1/messages", NULL, NULL, NULL),
	    401);
	ck_assert_int_eq(harness_api(w.gw.port, "POST", "/api/me/language", NULL, "{\"language\": \"es\"}", NULL),
	    401);
	/* No operator action happened; the attempt to open conversation 424242 is audited as a read. */
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM operator_actions WHERE action NOT IN "
	    "('conversation_open', 'request')"), 0);
	twilio_world_stop(&w);
}
END_TEST

START_TEST(test_api_disabled_without_tokens)
{
	struct twilio_world w;

	world_init(&w, "", NULL);
	/* Without OPERATOR_TOKENS only operator accounts get in (check_operators). */
	expect_status(&w, 401, "GET", "/api/conversations", NULL, NULL, "unauthorized");
	expect_status(&w, 401, "GET", "/api/conversations", ALICE, NULL, "unauthorized");
	twilio_world_stop(&w);
}
END_TEST

START_TEST(test_console_assets)
{
	struct twilio_world w;
	char *resp = NULL;

	world_init(&w, "alice:" ALICE, NULL);
	ck_assert_int_eq(harness_get(w.gw.port, "/console/", &resp), 200);
	ck_assert_msg(strstr(resp, "Operator console") && strstr(resp, "console.js"), "%s", resp);
	free(resp);
	ck_assert_int_eq(harness_get(w.gw.port, "/console/console.js", &resp), 200);
	ck_assert(strstr(resp, "carenavAuth") != NULL);
	free(resp);
	ck_assert_int_eq(harness_get(w.gw.port, "/console/login.js", &resp), 200);
	ck_assert(strstr(resp, "Authorization") != NULL && strstr(resp, "X-CSRF-Token") != NULL);
	free(resp);
	ck_assert_int_eq(harness_get(w.gw.port, "/console/console.css", NULL), 200);
	ck_assert_int_eq(harness_get(w.gw.port, "/console", NULL), 301);
	ck_assert_int_eq(harness_get(w.gw.port, "/console/nope.js", NULL), 404);
	ck_assert_int_eq(harness_get(w.gw.port, "/console/../CMakeLists.txt", NULL), 404);
	ck_assert_int_eq(harness_get(w.gw.port, "/console/%2e%2e%2fCMakeLists.txt", NULL), 404);
	ck_assert_int_eq(harness_get(w.gw.port, "/console/.hidden", NULL), 404);
	twilio_world_stop(&w);
}
END_TEST

/* Ids of a page's conversations, appended to ids[*n]; checks the order is newest first. */
static const char *
page_ids(json_t *doc, long long *ids, size_t *n)
{
	json_t *list = json_object_get(doc, "conversations"), *c;
	const char *prev = NULL;
	size_t i;

	json_array_foreach(list, i, c) {
		const char *at = json_string_value(json_object_get(c, "last_activity_at"));

		ck_assert_msg(prev == NULL || strcmp(prev, at) >= 0, "page not newest first");
		prev = at;
		ids[(*n)++] = json_integer_value(json_object_get(c, "id"));
	}
	return json_string_value(json_object_get(doc, "next_cursor"));
}

START_TEST(test_pagination_stable_while_messages_arrive)
{
	struct twilio_world w;
	long long ids[64], moved;
	size_t n = 0, page1;
	json_t *doc;
	char *path, *resp = NULL;
	const char *cursor;

	world_init(&w, "alice:" ALICE, NULL);
	/* Twelve conversations a minute apart (newest: +15554000001), one of them twice. */
	PQclear(PQexec(w.pg, "INSERT INTO conversations (patient_number, service_number, last_activity_at) "
	    "SELECT '+1555400' || lpad(i::text, 4, '0'), '" CLINIC "', now() - i * interval '1 minute' "
	    "FROM generate_series(1, 12) i"));
	PQclear(PQexec(w.pg, "UPDATE conversations SET last_activity_at = "
	    "(SELECT last_activity_at FROM conversations WHERE patient_number = '+15554000005') "
	    "WHERE patient_number = '+15554000006'"));
	moved = harness_query_int(w.pg, "SELECT id FROM conversations WHERE patient_number = '+15554000011'");

	doc = call(&w, 200, "GET", "/api/conversations?limit=5", ALICE, NULL);
	cursor = page_ids(doc, ids, &n);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(ids[0], harness_query_int(w.pg, "SELECT id FROM conversations WHERE patient_number = "
	    "'+15554000001'"));
	ck_assert_ptr_nonnull(cursor);
	path = xasprintf("/api/conversations?limit=5&cursor=%s", cursor);
	json_decref(doc);
	page1 = n;

	/* While the operator pages: a new patient, and a text in a conversation not yet seen. */
	sms(&w, "+15554000099", "hello");
	sms(&w, "+15554000011", "my back still hurts");
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM conversations WHERE kind = 'patient'"), 13);

	while (path != NULL) {
		doc = call(&w, 200, "GET", path, ALICE, NULL);
		free(path);
		cursor = page_ids(doc, ids, &n);
		path = cursor ? xasprintf("/api/conversations?limit=5&cursor=%s", cursor) : NULL;
		json_decref(doc);
	}
	/* Every conversation that did not move is seen exactly once; none twice; the new one is not in the old pages. */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			ck_assert_msg(ids[i] != ids[j], "conversation %lld on two pages", ids[i]);
	for (long long k = 1; k <= 12; k++) {
		char *sql = xasprintf("SELECT id FROM conversations WHERE patient_number = '+1555400%04lld'", k);
		long long id = harness_query_int(w.pg, sql);
		size_t seen = 0;

		for (size_t i = 0; i < n; i++)
			seen += ids[i] == id;
		ck_assert_msg(id == moved || seen == 1, "conversation %lld seen %zu times", k, seen);
		free(sql);
	}
	ck_assert_uint_ge(n, page1 + 6);
	/* The moved conversation is now at the top of a fresh first page, before the new one. */
	doc = call(&w, 200, "GET", "/api/conversations?limit=2", ALICE, NULL);
	n = 0;
	page_ids(doc, ids, &n);
	ck_assert_int_eq(ids[0], moved);
	json_decref(doc);

	/* Filters and search; numbers masked in lists. */
	ck_assert_int_eq(harness_api(w.gw.port, "GET", "/api/conversations?q=4000099", ALICE, NULL, &resp), 200);
	ck_assert_msg(strstr(resp, "\"***0099\"") && !strstr(resp, "+15554000099") &&
	    !strstr(resp, "***0011"), "%s", resp);
	free(resp);
	ck_assert_int_eq(harness_api(w.gw.port, "GET", "/api/conversations?q=STILL%20hurts", ALICE, NULL,
	    &resp), 200);
	ck_assert_msg(strstr(resp, "***0011") && !strstr(resp, "***0099"), "%s", resp);
	free(resp);
	get_has(&w, "/api/conversations?status=closed", "\"conversations\": []");
	twilio_world_stop(&w);
}
END_TEST

START_TEST(test_escalation_ack_and_resolve)
{
	struct twilio_world w;
	json_t *doc, *list;
	char *resp = NULL, *path, *code;
	long long esc, conv;

	world_init(&w, "alice:" ALICE ",bob:" BOB, NULL);
	sms(&w, PATIENT, "my back hurts and now i have chest pain and cant breathe");
	esc = harness_query_int(w.pg, "SELECT id FROM escalations");
	conv = harness_query_int(w.pg, "SELECT conversation_id FROM escalations");
	code = harness_query_text(w.pg, "SELECT code FROM escalations");

	doc = call(&w, 200, "GET", "/api/escalations?open=true", ALICE, NULL);
	list = json_object_get(doc, "escalations");
	ck_assert_uint_eq(json_array_size(list), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "code")), code);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "patient")), "***0100");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "status")), "open");
	json_decref(doc);

	/* The conversation view: full number, messages, state, the escalation. */
	path = xasprintf("/api/conversations/%lld", conv);
	doc = call(&w, 200, "GET", path, ALICE, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "patient")), PATIENT);
	ck_assert_uint_ge(json_array_size(json_object_get(doc, "messages")), 2);
	ck_assert(json_is_object(json_object_get(doc, "state")));
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "escalations")), 1);
	json_decref(doc);
	free(path);

	path = xasprintf("/api/escalations/%lld/ack", esc);
	post_expect(&w, path, BOB, "by", "operator:bob");
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalations WHERE status = 'acknowledged' "
	    "AND acknowledged_by = 'operator:bob' AND next_due_at IS NULL"), 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalation_events WHERE event = 'acknowledged' "
	    "AND actor = 'operator:bob'"), 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM operator_actions WHERE operator = 'bob' "
	    "AND action = 'escalation_ack' AND at > now() - interval '1 minute'"), 1);
	/* The patient is told a nurse will call, and it reaches the provider. */
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM messages WHERE to_number = '" PATIENT "' "
	    "AND body LIKE '%nurse%' AND sent_by = 'system' AND status = 'sent'", 1, WAIT_MS));
	expect_status(&w, 409, "POST", path, ALICE, NULL, "conflict");
	free(path);
	get_has(&w, "/api/escalations?open=true", "\"escalations\": []");

	path = xasprintf("/api/escalations/%lld/resolve", esc);
	expect_status(&w, 422, "POST", path, ALICE, "{\"note\": 5}", "invalid_body");
	doc = call(&w, 200, "POST", path, ALICE, "{\"note\": \"called back, patient at ER\"}");
	json_decref(doc);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalations WHERE status = 'resolved' "
	    "AND resolved_by = 'operator:alice' AND resolution_note = 'called back, patient at ER'"), 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalation_events WHERE event = 'resolved' "
	    "AND actor = 'operator:alice'"), 1);
	expect_status(&w, 409, "POST", path, ALICE, NULL, "conflict");
	free(path);
	get_has(&w, "/api/escalations", "\"resolved\"");

	/* The audit trail, newest first, through the API too. */
	ck_assert_int_eq(harness_api(w.gw.port, "GET", "/api/audit", ALICE, NULL, &resp), 200);
	ck_assert_msg(strstr(resp, "escalation_resolve") < strstr(resp, "escalation_ack"), "%s", resp);
	free(resp);

	gw_stop_log_clean(&w, "chest pain", "called back");
	free(code);
	twilio_world_stop(&w);
}
END_TEST

START_TEST(test_handoff_and_operator_message)
{
	struct twilio_world w;
	json_t *doc;
	char *path, *before_text, *replies;
	long long conv, before;

	world_init(&w, "alice:" ALICE ",bob:" BOB, NULL);
	sms(&w, PATIENT, "hi my back hurts");
	conv = harness_query_int(w.pg, "SELECT id FROM conversations WHERE patient_number = '" PATIENT "'");
	ck_assert_int_gt(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out' AND sent_by = "
	    "'dialogue'"), 0);

	/* Handoff: the patient's texts get no automated reply. */
	path = xasprintf("/api/conversations/%lld/handoff", conv);
	doc = call(&w, 200, "POST", path, BOB, "{\"active\": true}");
	ck_assert(json_is_true(json_object_get(doc, "handoff")) && json_is_true(json_object_get(doc, "changed")));
	json_decref(doc);
	doc = call(&w, 200, "POST", path, BOB, "{\"active\": true}");
	ck_assert(json_is_false(json_object_get(doc, "changed")));
	json_decref(doc);
	before = harness_last_message_id(w.pg);
	sms(&w, PATIENT, "no");
	sms(&w, PATIENT, "it started two days ago");
	replies = harness_replies(w.pg, PATIENT, before);
	ck_assert_msg(replies[0] == '\0', "automated reply during handoff: %s", replies);
	free(replies);

	/* The operator texts the patient: through the outbox to the provider, as operator:bob. */
	free(path);
	path = xasprintf("/api/conversations/%lld/messages", conv);
	doc = call(&w, 201, "POST", path, BOB, "{\"body\": \"Hi, this is Bob, a nurse at the clinic. Can I call you?\"}");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "sent_by")), "operator:bob");
	json_decref(doc);
	for (int waited = 0; fake_twilio_count_sent(w.ft, "Body",
	    "Hi, this is Bob, a nurse at the clinic. Can I call you?") < 1; waited += 50) {
		ck_assert_msg(waited < WAIT_MS, "operator text never reached the provider");
		usleep(50 * 1000);
	}
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM messages WHERE sent_by = 'operator:bob' "
	    "AND to_number = '" PATIENT "' AND status = 'sent'", 1, WAIT_MS));
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM operator_actions WHERE operator = 'bob' "
	    "AND action = 'message_sent' AND message_id IS NOT NULL"), 1);
	expect_status(&w, 422, "POST", path, BOB, NULL, "invalid_body");
	free(path);

	/* Resume: automated replies again. */
	path = xasprintf("/api/conversations/%lld/handoff", conv);
	doc = call(&w, 200, "POST", path, ALICE, "{\"active\": false}");
	ck_assert(json_is_false(json_object_get(doc, "handoff")));
	json_decref(doc);
	free(path);
	before = harness_last_message_id(w.pg);
	sms(&w, PATIENT, "menu");
	before_text = harness_replies(w.pg, PATIENT, before);
	ck_assert_msg(before_text[0] != '\0', "no automated reply after the handoff ended");
	free(before_text);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM operator_actions WHERE action IN "
	    "('handoff_start', 'handoff_end')"), 2);

	/* An opted-out patient cannot be texted. */
	sms(&w, PATIENT, "STOP");
	path = xasprintf("/api/conversations/%lld/messages", conv);
	expect_status(&w, 409, "POST", path, ALICE, "{\"body\": \"hello?\"}", "opted_out");
	free(path);

	gw_stop_log_clean(&w, "Bob, a nurse", "two days");
	twilio_world_stop(&w);
}
END_TEST

/* The message of an {"error": ...} document (borrowed from doc). */
static const char *
error_message(json_t *doc)
{
	return json_string_value(json_object_get(json_object_get(doc, "error"), "message"));
}

START_TEST(test_operator_text_is_one_message)
{
	struct twilio_world w;
	json_t *doc;
	char *path, *longtext, *resp = NULL, *want;
	long long conv;

	world_init(&w, "alice:" ALICE, NULL);
	sms(&w, PATIENT, "hi my back hurts");
	conv = harness_query_int(w.pg, "SELECT id FROM conversations WHERE patient_number = '" PATIENT "'");
	path = xasprintf("/api/conversations/%lld/messages", conv);

	/* /api/me says what one text may be, for the console's counter. */
	doc = call(&w, 200, "GET", "/api/me", ALICE, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "sms"), "alphabet")), "gsm7");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(doc, "sms"), "max_chars")), 1600);
	json_decref(doc);

	/* Over Twilio's 1600 characters: refused whole with the counts, nothing queued. */
	longtext = xcalloc(1, 1700);
	memset(longtext, 'a', 1601);
	want = xasprintf("{\"body\": \"%s\"}", longtext);
	doc = call(&w, 400, "POST", path, ALICE, want);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "error"), "code")), "too_long");
	ck_assert_msg(strstr(error_message(doc), "too long for one message: 1601 characters / 11 segments, "
	    "the limit with twilio is 1600 characters") != NULL, "%s", error_message(doc));
	json_decref(doc);
	free(want);
	/* Exactly 1600 fits and goes as one body. */
	longtext[1600] = '\0';
	want = xasprintf("{\"body\": \"%s\"}", longtext);
	json_decref(call(&w, 201, "POST", path, ALICE, want));
	free(want);
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM messages WHERE sent_by = 'operator:alice' "
	    "AND length(body) = 1600 AND segments = 11 AND encoding = 'gsm7' AND status = 'sent'", 1, WAIT_MS));
	ck_assert_int_eq(fake_twilio_count_sent(w.ft, "Body", longtext), 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM operator_actions WHERE action = 'message_sent'"), 1);

	/* Folded to GSM-7 (SMS_ALPHABET=gsm7, the default) like the dialogue's replies. */
	json_decref(call(&w, 201, "POST", path, ALICE, "{\"body\": \"Hola José — cómo está: llame hoy\"}"));
	for (int waited = 0; fake_twilio_count_sent(w.ft, "Body", "Hola Jose - como esta: llame hoy") < 1;
	    waited += 50) {
		ck_assert_msg(waited < WAIT_MS, "folded operator text never reached the provider");
		usleep(50 * 1000);
	}
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM messages WHERE sent_by = 'operator:alice' "
	    "AND body = 'Hola Jose - como esta: llame hoy' AND segments = 1 AND encoding = 'gsm7' "
	    "AND status = 'sent'", 1, WAIT_MS));
	/* What GSM-7 cannot carry goes as UCS-2, counted so. */
	json_decref(call(&w, 201, "POST", path, ALICE, "{\"body\": \"Ok 👍\"}"));
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM messages WHERE sent_by = 'operator:alice' "
	    "AND segments = 1 AND encoding = 'ucs2' AND status = 'sent'", 1, WAIT_MS));

	/* Every dialogue reply records its segments and encoding too. */
	ck_assert_int_gt(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE sent_by = 'dialogue'"), 0);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM messages WHERE sent_by = 'dialogue' "
	    "AND (segments IS NULL OR segments < 1 OR encoding IS NULL)"), 0);
	ck_assert(harness_wait_int(w.pg, "SELECT count(*) FROM messages WHERE direction = 'out' "
	    "AND status <> 'sent'", 0, WAIT_MS));

	/* /metrics: the segments the provider accepted, by encoding. */
	ck_assert_int_eq(harness_get(w.gw.port, "/metrics", &resp), 200);
	want = xasprintf("carenav_sms_segments_sent_total{encoding=\"gsm7\"} %lld\n",
	    harness_query_int(w.pg, "SELECT sum(segments) FROM messages WHERE direction = 'out' AND encoding = 'gsm7'"));
	ck_assert_msg(strstr(resp, want) != NULL, "wanted %s in:\n%s", want, resp);
	ck_assert_msg(strstr(resp, "carenav_sms_segments_sent_total{encoding=\"ucs2\"} 1\n") != NULL, "%s", resp);
	free(want);
	free(resp);
	free(longtext);
	free(path);
	twilio_world_stop(&w);
}
END_TEST

START_TEST(test_callbacks)
{
	struct twilio_world w;
	char *path, *resp = NULL;
	long long id;

	world_init(&w, "alice:" ALICE, NULL);
	sms(&w, PATIENT, "hello");
	PQclear(PQexec(w.pg, "INSERT INTO callbacks (conversation_id, reason) SELECT id, 'human' FROM conversations"));
	id = harness_query_int(w.pg, "SELECT id FROM callbacks");
	ck_assert_int_eq(harness_api(w.gw.port, "GET", "/api/callbacks", ALICE, NULL, &resp), 200);
	ck_assert_msg(strstr(resp, "\"***0100\"") && strstr(resp, "\"human\"") && !strstr(resp, PATIENT), "%s", resp);
	free(resp);
	path = xasprintf("/api/callbacks/%lld/done", id);
	post_expect(&w, path, ALICE, "status", "done");
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM callbacks WHERE status = 'done' AND done_by = "
	    "'operator:alice'"), 1);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM operator_actions WHERE action = 'callback_done'"), 1);
	expect_status(&w, 409, "POST", path, ALICE, NULL, "conflict");
	free(path);
	get_has(&w, "/api/callbacks", "\"callbacks\": []");
	get_has(&w, "/api/callbacks?status=all", "operator:alice");
	twilio_world_stop(&w);
}
END_TEST

START_TEST(test_rate_limit)
{
	struct twilio_world w;

	world_init(&w, "alice:" ALICE ",bob:" BOB, "6");
	/* Requests without a valid token have their own bucket (API_AUTH_FAILURES_PER_MINUTE, 30)... */
	for (int i = 0; i < 3; i++)
		expect_status(&w, 401, "GET", "/api/me", "guess-guess-guess-guess", NULL, "unauthorized");
	/* ...so alice still has all 6 of hers, then 429 with Retry-After. */
	for (int i = 0; i < 6; i++)
		json_decref(call(&w, 200, "GET", "/api/me", ALICE, NULL));
	expect_status(&w, 429, "GET", "/api/me", ALICE, NULL, "rate_limited");
	expect_status(&w, 429, "GET", "/api/conversations", ALICE, NULL, "rate_limited");
	/* Each operator has a bucket: bob, at the same address, is not limited by alice. */
	json_decref(call(&w, 200, "GET", "/api/me", BOB, NULL));
	/* Guessing is throttled too, per address. */
	for (int i = 3; i < 30; i++)
		expect_status(&w, 401, "GET", "/api/me", "guess-guess-guess-guess", NULL, "unauthorized");
	expect_status(&w, 429, "GET", "/api/conversations", NULL, NULL, "rate_limited");
	/* The webhook and the console are not limited. */
	ck_assert_int_eq(harness_get(w.gw.port, "/console/", NULL), 200);
	ck_assert_int_eq(harness_get(w.gw.port, "/healthz", NULL), 200);
	twilio_world_stop(&w);
}
END_TEST

/*
 * A console action whose statement PostgreSQL rolls back to break a
 * deadlock (seen: an ACK against a 'sent' mark taking the same rows in the
 * other order) runs again and answers; one that keeps failing gets a 503
 * after three more tries. A trigger stands in for the deadlock.
 */
START_TEST(test_rolled_back_action_runs_again)
{
	static const char *const setup[] = {
		"CREATE SEQUENCE test_rollbacks",
		"CREATE TABLE test_rollback_limit (n bigint)",
		"INSERT INTO test_rollback_limit VALUES (2)",
		"CREATE FUNCTION test_rollback() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
		"IF nextval('test_rollbacks') <= (SELECT n FROM test_rollback_limit) THEN "
		"RAISE EXCEPTION 'standing in for a deadlock' USING ERRCODE = 'deadlock_detected'; END IF; "
		"RETURN NEW; END $$",
		"CREATE TRIGGER test_rollback BEFORE UPDATE ON escalations FOR EACH ROW "
		"WHEN (NEW.status IS DISTINCT FROM OLD.status) EXECUTE FUNCTION test_rollback()",
	};
	struct twilio_world w;
	char *path;
	long long esc;

	world_init(&w, "alice:" ALICE ",bob:" BOB, NULL);
	sms(&w, PATIENT, "my back hurts and now i have chest pain and cant breathe");
	esc = harness_query_int(w.pg, "SELECT id FROM escalations");
	for (size_t i = 0; i < sizeof setup / sizeof setup[0]; i++)
		harness_exec(w.pg, setup[i]);

	/* Rolled back twice, then done: the operator sees only the answer. */
	path = xasprintf("/api/escalations/%lld/ack", esc);
	post_expect(&w, path, BOB, "by", "operator:bob");
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT last_value FROM test_rollbacks"), 3);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalations WHERE status = 'acknowledged'"), 1);
	free(path);

	/* Rolled back every time: four tries, then "unavailable", and nothing changed. */
	harness_exec(w.pg, "UPDATE test_rollback_limit SET n = 1000");
	path = xasprintf("/api/escalations/%lld/resolve", esc);
	expect_status(&w, 503, "POST", path, ALICE, "{}", "unavailable");
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT last_value FROM test_rollbacks"), 3 + 4);
	ck_assert_int_eq(harness_query_int(w.pg, "SELECT count(*) FROM escalations WHERE status = 'acknowledged'"), 1);
	free(path);
	twilio_world_stop(&w);
}
END_TEST

CHECK_RUN_MAIN("api", 120, test_auth_and_errors, test_api_disabled_without_tokens, test_console_assets,
    test_pagination_stable_while_messages_arrive, test_escalation_ack_and_resolve,
    test_handoff_and_operator_message, test_operator_text_is_one_message, test_callbacks, test_rate_limit,
    test_rolled_back_action_runs_again)
