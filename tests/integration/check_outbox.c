/*
 * check_outbox.c - the outbox's batched SQL on a real database, without a
 * gateway in between: the 'sent' marks of many replies in one call (set-based
 * for ordinary replies, row by row for urgent ones, a delivery report that
 * raced ahead applied), and the step commit handing a conversation's next
 * reply to the sender (leased as a claim would, in order, never an urgent
 * one), and the 'sent' mark handing over the next one the same way, exactly
 * as the gateway's batches call them; and what a text's accept and step
 * commit read stays the same whatever its conversation's history.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "xmalloc.h"

#define CLINIC "+15550001111"
#define PATIENT "+15551230001"
#define PATIENT2 "+15551230002"

/* A migrated database with no gateway on it, and one patient conversation. */
struct outbox_db {
	struct harness_gw gw;  /* never started: runs the CLI on the database */
	char *conninfo;        /* owned */
	PGconn *pg;            /* owned */
	long long conv;        /* the patient's conversation id */
};

/* Creates db; returns db->pg. */
static PGconn *
outbox_db_open(struct outbox_db *db)
{
	char *out = NULL;

	db->conninfo = harness_db_create();
	harness_gw_init(&db->gw, db->conninfo, NULL);
	ck_assert_msg(harness_gw_cli(&db->gw, &out, "migrate", NULL) == 0, "%s", out);
	free(out);
	db->pg = harness_db_connect(db->conninfo);
	db->conv = harness_query_int(db->pg, "INSERT INTO conversations (patient_number, service_number) VALUES "
	    "('" PATIENT "', '"
	    CLINIC "') RETURNING id");
	return db->pg;
}

static void
outbox_db_close(struct outbox_db *db)
{
	PQfinish(db->pg);
	harness_gw_free(&db->gw);
	free(db->conninfo);
}

/* Asserts that got (owned: freed here) is want. */
static void
assert_text(char *got, const char *want)
{
	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_sent_batch)
{
	struct outbox_db db;
	char *sql;
	long long plain, raced, urgent, oid[3];
	PGconn *pg = outbox_db_open(&db);

	sql = xasprintf("SELECT carenav_queue_sms(%lld, 'twilio', 'plain', 'dialogue', 0::smallint, false, NULL)",
	    db.conv);
	plain = harness_query_int(pg, sql);
	free(sql);
	sql = xasprintf("SELECT carenav_queue_sms(%lld, 'twilio', 'raced', 'dialogue', 0::smallint, false, NULL)",
	    db.conv);
	raced = harness_query_int(pg, sql);
	free(sql);
	sql = xasprintf("SELECT carenav_queue_urgent(%lld, 'twilio', 'urgent', 'dialogue', 30::smallint, NULL, NULL, "
	    "NULL, NULL)", db.conv);
	urgent = harness_query_int(pg, sql);
	free(sql);
	for (int i = 0; i < 3; i++) {
		sql = xasprintf("SELECT id FROM outbox WHERE message_id = %lld", (long long[]){ plain, raced, urgent }[i]);
		oid[i] = harness_query_int(pg, sql);
		free(sql);
	}
	/* The report of the second reply arrives before its 'sent' mark: no message has its id yet. */
	ck_assert_int_eq(harness_query_int(pg, "SELECT carenav_delivery_report('twilio', 'SMraced', 'delivered', "
	    "'')::int"), 0);
	sql = xasprintf("SELECT count(*) FROM carenav_outbox_sent_batch('["
	    "{\"id\": %lld, \"sid\": \"SMplain\", \"status\": \"sent\", \"segments\": 1, \"encoding\": \"gsm7\"},"
	    "{\"id\": %lld, \"sid\": \"SMraced\", \"segments\": 1, \"encoding\": \"gsm7\"},"
	    "{\"id\": %lld, \"sid\": \"SMurgent\", \"status\": \"queued\", \"segments\": 1, \"encoding\": \"gsm7\"},"
	    "{\"id\": 999999, \"sid\": \"SMnone\"}]') WHERE done", oid[0], oid[1], oid[2]);
	ck_assert_int_eq(harness_query_int(pg, sql), 4);
	free(sql);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM outbox WHERE state = 'done' AND lease_until IS NULL"), 3);
	sql = xasprintf("SELECT string_agg(body || ' ' || status || ' ' || provider_sid || ' ' || segments || ' ' "
	    "|| encoding, ', ' ORDER BY id) FROM messages WHERE id IN (%lld, %lld, %lld)", plain, raced, urgent);
	assert_text(harness_query_text(pg, sql),
	    "plain sent SMplain 1 gsm7, raced delivered SMraced 1 gsm7, urgent queued SMurgent 1 gsm7");
	free(sql);
	/* A mark that comes again (a retried record) leaves a status past 'sent' as it is. */
	sql = xasprintf("SELECT count(*) FROM carenav_outbox_sent_batch('[{\"id\": %lld, \"sid\": \"SMraced\"}]')",
	    oid[1]);
	ck_assert_int_eq(harness_query_int(pg, sql), 1);
	free(sql);
	sql = xasprintf("SELECT count(*) FROM messages WHERE id = %lld AND status = 'delivered'", raced);
	ck_assert_int_eq(harness_query_int(pg, sql), 1);
	free(sql);
	outbox_db_close(&db);
}
END_TEST

/*
 * One text from patient stored and its step committed with replies and
 * actions (JSON text) through carenav_step_commit_batch: "outcome body
 * attempts" of the reply it handed over, "-" for none.
 */
static char *
step(PGconn *pg, const char *patient, const char *sid, const char *replies, const char *actions)
{
	char *sql = xasprintf("SELECT message_id FROM carenav_inbound_accept('twilio', '%s', '%s', '" CLINIC "', "
	    "'hi', 0)", sid, patient);
	long long msg = harness_query_int(pg, sql);
	char *out;

	free(sql);
	sql = xasprintf("SELECT s.outcome || ' ' || coalesce(s.body, '-') || ' ' || coalesce(s.attempts::text, '-') "
	    "FROM conversations c, carenav_step_commit_batch(jsonb_build_array(jsonb_build_object("
	    "'conversation_id', c.id, 'version', c.version, 'message_id', %lld, 'state', '{}', 'language', 'en', "
	    "'status', 'active', 'provider', 'twilio', 'replies', '%s', 'actions', '%s')), 60000) s "
	    "WHERE c.patient_number = '%s'", msg, replies, actions, patient);
	out = harness_query_text(pg, sql);
	free(sql);
	return out;
}

START_TEST(test_step_commit_hands_over_next_reply)
{
	struct outbox_db db;
	PGconn *pg = outbox_db_open(&db);

	/* The first of the step's two replies is leased and handed over; the second waits behind it. */
	assert_text(step(pg, PATIENT, "SMh1", "[{\"body\": \"one\"}, {\"body\": \"two\"}]", "[]"), "last one 1");
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM outbox o JOIN messages m ON m.id = o.message_id "
	    "WHERE m.body = 'one' AND o.attempts = 1 AND o.lease_until > now() + interval '50 s'"), 1);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM outbox o JOIN messages m ON m.id = o.message_id "
	    "WHERE m.body = 'two' AND o.attempts = 0 AND o.lease_until IS NULL"), 1);
	/* The next step's reply is not the oldest pending one: nothing is handed over. */
	assert_text(step(pg, PATIENT, "SMh2", "[{\"body\": \"three\"}]", "[]"), "last - -");
	/* Nor is the claim given the leased row, or a reply behind an unsent one. */
	assert_text(harness_query_text(pg, "SELECT coalesce(string_agg(body, ','), '-') "
	    "FROM carenav_outbox_claim(10, 60000, 2000)"), "-");
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM carenav_outbox_sent_batch((SELECT jsonb_build_array("
	    "jsonb_build_object('id', o.id, 'sid', 'SMone')) FROM outbox o JOIN messages m ON m.id = o.message_id "
	    "WHERE m.body = 'one'))"), 1);
	assert_text(harness_query_text(pg, "SELECT coalesce(string_agg(body, ','), '-') "
	    "FROM carenav_outbox_claim(10, 60000, 2000)"), "two");
	/* An emergency step's replies are urgent: the claim, which sends them first, keeps them. */
	assert_text(step(pg, PATIENT2, "SMh3", "[{\"body\": \"call 911\"}]",
	    "[{\"kind\": \"escalate\", \"reason\": \"cauda_equina\", \"detail\": \"numb\"}]"), "last - -");
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM outbox WHERE urgent AND attempts = 0 AND lease_until IS "
	    "NULL"), 1);
	outbox_db_close(&db);
}
END_TEST

/* The 'sent' mark of the reply named body, with a lease: "body more" of the row it handed over, "-" for none. */
static char *
sent_hand(PGconn *pg, const char *body)
{
	char *sql = xasprintf("SELECT coalesce(s.body, '-') || ' ' || s.more FROM carenav_outbox_sent_batch("
	    "(SELECT jsonb_build_array(jsonb_build_object('id', o.id, 'sid', 'SM' || m.body)) FROM outbox o "
	    "JOIN messages m ON m.id = o.message_id WHERE m.body = '%s'), 60000) s", body);
	char *out = harness_query_text(pg, sql);

	free(sql);
	return out;
}

START_TEST(test_sent_batch_hands_over_next_reply)
{
	struct outbox_db db;
	PGconn *pg = outbox_db_open(&db);

	assert_text(step(pg, PATIENT, "SMn1", "[{\"body\": \"one\"}, {\"body\": \"two\"}, {\"body\": \"three\"}]",
	    "[]"), "last one 1");
	/* The mark of the first leases the second, as a claim would; nothing is left to the claim. */
	assert_text(sent_hand(pg, "one"), "two false");
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM outbox o JOIN messages m ON m.id = o.message_id "
	    "WHERE m.body = 'two' AND o.attempts = 1 AND o.lease_until > now() + interval '50 s'"), 1);
	/* The third is held elsewhere (another gateway's claim): not handed over, and left to the claim. */
	ck_assert_int_eq(harness_query_int(pg, "WITH u AS (UPDATE outbox o SET lease_until = now() + interval '1 minute' "
	    "FROM messages m WHERE m.id = o.message_id AND m.body = 'three' RETURNING 1) SELECT count(*) FROM u"), 1);
	assert_text(sent_hand(pg, "two"), "- true");
	/* The last mark: nothing pending, nothing to claim. */
	assert_text(sent_hand(pg, "three"), "- false");
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM outbox WHERE state = 'done' AND lease_until IS NULL"), 3);
	/* An emergency step's reply is urgent: a mark before it never hands it over. */
	assert_text(step(pg, PATIENT, "SMn2", "[{\"body\": \"four\"}]", "[]"), "last four 1");
	assert_text(step(pg, PATIENT, "SMn3", "[{\"body\": \"call 911\"}]",
	    "[{\"kind\": \"escalate\", \"reason\": \"cauda_equina\", \"detail\": \"numb\"}]"), "last - -");
	assert_text(sent_hand(pg, "four"), "- true");
	outbox_db_close(&db);
}
END_TEST

/* The shared buffers one call of sql reads (hit or read), its functions' statements included. */
static long long
call_pages(PGconn *pg, const char *sql)
{
	char *explain = xasprintf("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) %s", sql);
	char *plan = harness_query_text(pg, explain);
	json_t *doc = json_loads(plan, 0, NULL);
	json_t *top = json_object_get(json_array_get(doc, 0), "Plan");
	long long pages;

	ck_assert_msg(top != NULL, "no plan: %s", plan);
	pages = json_integer_value(json_object_get(top, "Shared Hit Blocks")) +
	    json_integer_value(json_object_get(top, "Shared Read Blocks"));
	json_decref(doc);
	free(plan);
	free(explain);
	return pages;
}

/* One text from PATIENT through the accept (its step loaded) and its step's commit: the pages each read. */
static void
text_pages(PGconn *pg, const char *sid, long long *accept, long long *commit)
{
	char *sql = xasprintf("SELECT * FROM carenav_inbound_accept_batch('[{\"provider\": \"twilio\", "
	    "\"sid\": \"%s\", \"from\": \"" PATIENT "\", \"to\": \"" CLINIC "\", \"body\": \"no\", "
	    "\"num_media\": 0}]', 'back_pain')", sid);

	*accept = call_pages(pg, sql);
	free(sql);
	sql = harness_query_text(pg, "SELECT format('SELECT * FROM carenav_step_commit_batch(%L, 60000)', "
	    "jsonb_build_array(jsonb_build_object('conversation_id', c.id, 'version', c.version, 'message_id', m.id, "
	    "'received_ms', (extract(epoch FROM m.created_at) * 1000)::bigint, 'state', '{}', 'language', 'en', "
	    "'status', 'active', 'provider', 'twilio', 'replies', '[{\"body\": \"ok\"}]', 'actions', '[]'))) "
	    "FROM conversations c JOIN messages m ON m.conversation_id = c.id "
	    "WHERE c.patient_number = '" PATIENT "' AND m.direction = 'in' AND m.processed_at IS NULL");
	*commit = call_pages(pg, sql);
	free(sql);
}

/*
 * A long history for PATIENT: 300 texts and their replies, answered, a day
 * old (out of the rate limit's window), each on a page of its own (between
 * another conversation's rows), as in a table many patients write to.
 */
static void
add_history(PGconn *pg)
{
	harness_exec(pg, "INSERT INTO conversations (patient_number, service_number) VALUES "
	    "('" PATIENT2 "', '" CLINIC "') ON CONFLICT DO NOTHING");
	harness_exec(pg, "INSERT INTO messages (id, conversation_id, direction, provider, from_number, to_number, "
	    "body, status, created_at, processed_at) SELECT nextval('messages_id_seq'), "
	    "CASE WHEN g % 80 = 0 THEN p.id ELSE o.id END, CASE WHEN g % 160 = 0 THEN 'in' ELSE 'out' END, 'twilio', "
	    "'" PATIENT "', '" CLINIC "', 'old', 'processed', now() - interval '1 day', "
	    "CASE WHEN g % 160 = 0 THEN now() END FROM conversations p, conversations o, generate_series(1, 48000) g "
	    "WHERE p.patient_number = '" PATIENT "' AND o.patient_number = '" PATIENT2 "'");
}

/*
 * The plans of the accept's step load and of the step commit are generic,
 * made by a connection's first call. Once the conversation has a long
 * history, a text must still cost the probes of its recent and unprocessed
 * texts only, not a page per earlier text (issue #23: the rate limit's
 * count and the commit's 'last' check took an index that walked them all).
 * With plans made on analyzed tables, both calls; made while the tables
 * were empty and never analyzed, the step commit (autovacuum analyzes
 * messages after its first 50 rows, and the plans are made again).
 */
START_TEST(test_pages_per_text_ignore_history)
{
	struct outbox_db db;
	PGconn *pg = outbox_db_open(&db);
	long long accept, commit;

	/* Two thousand patients have texted once, and the tables were analyzed. */
	harness_exec(pg, "INSERT INTO conversations (patient_number, service_number) SELECT '+1556100' || "
	    "lpad(g::text, 4, '0'), '" CLINIC "' FROM generate_series(0, 1999) g");
	harness_exec(pg, "INSERT INTO messages (id, conversation_id, direction, provider, from_number, to_number, "
	    "body, status, created_at, processed_at) SELECT nextval('messages_id_seq'), c.id, d, 'twilio', "
	    "c.patient_number, c.service_number, 'hi', 'processed', now() - interval '10 minutes', "
	    "CASE WHEN d = 'in' THEN now() END FROM conversations c, (VALUES ('in'), ('out')) v (d)");
	harness_exec(pg, "ANALYZE");
	text_pages(pg, "SMp1", &accept, &commit);
	add_history(pg);
	for (int analyzed = 0; analyzed < 2; analyzed++) {
		if (analyzed)
			harness_exec(pg, "ANALYZE messages");
		text_pages(pg, analyzed ? "SMp3" : "SMp2", &accept, &commit);  /* plans again after ANALYZE */
		text_pages(pg, analyzed ? "SMp5" : "SMp4", &accept, &commit);
		ck_assert_msg(accept < 200, "the accept read %lld pages (analyzed: %d)", accept, analyzed);
		ck_assert_msg(commit < 200, "the step commit read %lld pages (analyzed: %d)", commit, analyzed);
	}
	outbox_db_close(&db);

	pg = outbox_db_open(&db);
	text_pages(pg, "SMe1", &accept, &commit);
	add_history(pg);
	text_pages(pg, "SMe2", &accept, &commit);
	ck_assert_msg(commit < 200, "the step commit read %lld pages (plans made on empty tables)", commit);
	outbox_db_close(&db);
}
END_TEST

/*
 * The probes for a conversation's oldest unprocessed text skip the
 * partitions older than two days (carenav_unprocessed_since), unless such a
 * text waits somewhere: two texts left three days ago by gateways that were
 * all down are still found first, by the accept's step load, the load batch
 * and the step commit's 'last' check, on a connection that never looked.
 */
START_TEST(test_old_unprocessed_texts_found_first)
{
	struct outbox_db db;
	PGconn *pg = outbox_db_open(&db);
	long long oldest;
	char *sql;

	sql = xasprintf("INSERT INTO messages (id, conversation_id, direction, provider, provider_sid, from_number, "
	    "to_number, body, status, created_at) SELECT nextval('messages_id_seq'), %lld, 'in', 'twilio', "
	    "'SMold' || g, '" PATIENT "', '" CLINIC "', 'old ' || g, 'received', "
	    "now() - interval '3 days' + g * interval '1 hour' FROM generate_series(1, 2) g", db.conv);
	harness_exec(pg, sql);
	free(sql);
	oldest = harness_query_int(pg, "SELECT min(id) FROM messages WHERE direction = 'in'");
	/* A new text waits behind them: its accept loads no step. */
	assert_text(harness_query_text(pg, "SELECT coalesce(version::text, 'waits') FROM carenav_inbound_accept_batch("
	    "'[{\"provider\": \"twilio\", \"sid\": \"SMnew\", \"from\": \"" PATIENT "\", \"to\": \"" CLINIC
	    "\", \"body\": \"new\", \"num_media\": 0}]', 'back_pain')"), "waits");
	sql = xasprintf("SELECT message_id FROM carenav_step_load_batch('[{\"id\": %lld}]', 'back_pain')", db.conv);
	ck_assert_int_eq(harness_query_int(pg, sql), oldest);
	free(sql);
	/* Its step committed: the second old text still waits, so not 'last'. */
	sql = xasprintf("SELECT outcome FROM conversations c, carenav_step_commit_batch(jsonb_build_array("
	    "jsonb_build_object('conversation_id', c.id, 'version', c.version, 'message_id', %lld, 'state', '{}', "
	    "'language', 'en', 'status', 'active', 'provider', 'twilio', 'replies', '[]', 'actions', '[]')), 60000) "
	    "WHERE c.id = %lld", oldest, db.conv);
	assert_text(harness_query_text(pg, sql), "ok");
	free(sql);
	sql = xasprintf("SELECT body FROM messages WHERE id = (SELECT message_id FROM "
	    "carenav_step_load_batch('[{\"id\": %lld}]', 'back_pain'))", db.conv);
	assert_text(harness_query_text(pg, sql), "old 2");
	free(sql);
	outbox_db_close(&db);
}
END_TEST

/*
 * A step item's state, replies and actions may be JSON values (what the
 * gateway sends, inbound_step_item) or their text as JSON strings (a throttled
 * step's state; gateways before issue #23): carenav_item_json reads both the
 * same, on the set-based path (no action) and the per-item one (an action).
 */
START_TEST(test_step_items_as_values_or_text)
{
	static const char *const patients[] = { "+15551230011", "+15551230012", "+15551230013", "+15551230014" };
	struct outbox_db db;
	PGconn *pg = outbox_db_open(&db);

	for (int i = 0; i < 4; i++) {
		bool text = i % 2 == 1, action = i >= 2;
		const char *cast = text ? "" : "::jsonb";
		char *sql = xasprintf("SELECT message_id FROM carenav_inbound_accept('twilio', 'SMv%d', '%s', '" CLINIC
		    "', 'hi', 0)", i, patients[i]);
		long long msg = harness_query_int(pg, sql);

		free(sql);
		sql = xasprintf("SELECT s.outcome FROM conversations c, carenav_step_commit_batch(jsonb_build_array("
		    "jsonb_build_object('conversation_id', c.id, 'version', c.version, 'message_id', %lld, "
		    "'state', '{\"v\": 1, \"node\": \"node%d\"}'%s, 'language', 'en', 'status', 'active', "
		    "'provider', 'twilio', 'replies', '[{\"body\": \"reply%d\"}]'%s, 'actions', '%s'%s)), 60000) s "
		    "WHERE c.patient_number = '%s'", msg, i, cast, i, cast,
		    action ? "[{\"kind\": \"escalate\", \"reason\": \"cauda_equina\", \"detail\": \"numb\"}]" : "[]",
		    cast, patients[i]);
		assert_text(harness_query_text(pg, sql), "last");
		free(sql);
		sql = xasprintf("SELECT c.state->>'node' || ' ' || m.body || ' ' || o.urgent FROM conversations c "
		    "JOIN messages m ON m.conversation_id = c.id AND m.direction = 'out' "
		    "JOIN outbox o ON o.message_id = m.id WHERE c.patient_number = '%s'", patients[i]);
		char *want = xasprintf("node%d reply%d %s", i, i, action ? "true" : "false");

		assert_text(harness_query_text(pg, sql), want);
		free(want);
		free(sql);
	}
	outbox_db_close(&db);
}
END_TEST

CHECK_RUN_MAIN("outbox", 60, test_sent_batch, test_step_commit_hands_over_next_reply,
    test_sent_batch_hands_over_next_reply, test_pages_per_text_ignore_history,
    test_old_unprocessed_texts_found_first, test_step_items_as_values_or_text)
