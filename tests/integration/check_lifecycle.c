/*
 * check_lifecycle.c - the data lifecycle: messages and escalation_events
 * partitioned by month, the upgrade of a database that already holds data
 * (sql/010_partitions.sql attaches the old table instead of copying it),
 * and the retention purge run by the gateway itself: bodies older than
 * RETENTION_DAYS blanked (and marked so in the API), the dialogue state of
 * conversations idle that long emptied, rows, counts and the escalation
 * audit kept; and the outbox trimmed of sent rows after OUTBOX_KEEP_DAYS.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "xmalloc.h"

#define CLINIC "+15550001111"
#define OLD "+15551230001"   /* this patient's texts are made 40 days old */
#define NEW "+15551230002"
#define WAIT_MS 20000
#define RED_FLAG_TEXT "my back hurts and i have chest pain and cant breathe"

START_TEST(test_partitions_and_retention)
{
	const char *env[] = { "RETENTION_DAYS=30", "OUTBOX_KEEP_DAYS=30", "LIFECYCLE_INTERVAL_S=1", NULL };
	char *conninfo = harness_db_create(), *out = NULL, *metrics = NULL, *matched;
	struct harness_gw gw;
	long long msgs, events, old_rows, version, old_outbox, outbox;
	PGconn *pg;
	PGresult *res;

	harness_gw_init(&gw, conninfo, env);
	harness_gw_start(&gw);
	pg = harness_db_connect(conninfo);
	ck_assert_int_eq(harness_post_sms(gw.port, "SMlc001", OLD, CLINIC, RED_FLAG_TEXT), 200);
	ck_assert_int_eq(harness_post_sms(gw.port, "SMlc002", OLD, CLINIC, "no"), 200);
	ck_assert_int_eq(harness_post_sms(gw.port, "SMlc003", NEW, CLINIC, "hi my back hurts"), 200);
	harness_wait_settled(pg, WAIT_MS, gw.log_path);

	/* Partitioned, with this month and three more ready, and nothing in the default partitions. */
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM pg_class WHERE relname IN ('messages', "
	    "'escalation_events') AND relkind = 'p'"), 2);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM pg_inherits WHERE inhparent = "
	    "'messages'::regclass"), 1 + 3 + 1);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages_default"), 0);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM pg_class WHERE relname = 'messages_y' || "
	    "to_char(date_trunc('month', now() AT TIME ZONE 'UTC') + interval '3 months', 'YYYY\"m\"MM')"), 1);
	ck_assert_msg(harness_gw_cli(&gw, &out, "doctor", NULL) >= 0 &&
	    strstr(out, "ok    partitions: monthly partitions are ready ahead") != NULL, "%s", out);
	free(out);

	/* Forty days pass for the first patient (moving their rows to an older partition). */
	harness_gw_stop(&gw);
	msgs = harness_query_int(pg, "SELECT count(*) FROM messages");
	events = harness_query_int(pg, "SELECT count(*) FROM escalation_events");
	ck_assert_int_gt(events, 0);
	harness_exec(pg, "UPDATE messages SET created_at = created_at - interval '40 days' "
	    "WHERE conversation_id = (SELECT id FROM conversations WHERE patient_number = '" OLD "')");
	old_rows = harness_query_int(pg, "SELECT count(*) FROM messages WHERE created_at < now() - interval '30 days'");
	ck_assert_int_ge(old_rows, 4);
	harness_exec(pg, "UPDATE conversations SET last_activity_at = last_activity_at - interval '40 days' "
	    "WHERE patient_number = '" OLD "'");
	harness_exec(pg, "UPDATE outbox SET created_at = created_at - interval '40 days' "
	    "WHERE conversation_id = (SELECT id FROM conversations WHERE patient_number = '" OLD "')");
	old_outbox = harness_query_int(pg, "SELECT count(*) FROM outbox WHERE created_at < now() - interval '30 days'");
	ck_assert_int_ge(old_outbox, 2);
	outbox = harness_query_int(pg, "SELECT count(*) FROM outbox");
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM conversations WHERE state <> '{}'"), 2);

	/* The gateway's lifecycle worker purges them on its own. */
	harness_gw_start(&gw);
	ck_assert_msg(harness_wait_int(pg, "SELECT count(*) FROM messages WHERE purged_at IS NOT NULL", old_rows,
	    WAIT_MS), "bodies not purged; see %s", gw.log_path);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages WHERE created_at < now() - interval '30 days' "
	    "AND body <> ''"), 0);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages WHERE created_at > now() - interval '1 day' "
	    "AND (body = '' OR purged_at IS NOT NULL)"), 0);
	/* Counts, statuses and the escalation audit remain. */
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages"), msgs);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM escalation_events"), events);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages WHERE direction = 'in' AND processed_at IS "
	    "NULL"), 0);
	matched = harness_query_text(pg, "SELECT coalesce(matched, '') FROM escalations");
	ck_assert_msg(strlen(matched) > 0, "escalation audit lost its matched words");
	free(matched);
	/*
	 * The long-idle conversation's answers are gone, the other's are not; the row and status stay.
	 * The states are the stage after the bodies': the wait above can end between the two.
	 */
	ck_assert_msg(harness_wait_int(pg, "SELECT count(*) FROM conversations WHERE patient_number = '" OLD "' "
	    "AND state = '{}' AND status = 'emergency'", 1, WAIT_MS), "state not cleared; see %s", gw.log_path);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM conversations WHERE patient_number = '" NEW "' "
	    "AND state <> '{}'"), 1);
	/* The API says which bodies were purged, and when. */
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM conversations c, "
	    "jsonb_array_elements(carenav_api_conversation(c.id)->'messages') m "
	    "WHERE m->>'purged_at' IS NOT NULL AND m->>'body' = ''"), old_rows);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM conversations c, "
	    "jsonb_array_elements(carenav_api_conversation(c.id)->'messages') m "
	    "WHERE m ? 'purged_at' AND m->>'purged_at' IS NULL"), msgs - old_rows);
	/* The outbox rows of the old replies are gone; their messages keep status and provider id. */
	ck_assert_msg(harness_wait_int(pg, "SELECT count(*) FROM outbox", outbox - old_outbox, WAIT_MS),
	    "outbox not trimmed; see %s", gw.log_path);
	/*
	 * The counters, read once the trim, the stage after the other two, is seen: the
	 * gateway counts a stage's rows when it reads its result, after the commit the waits see.
	 */
	ck_assert_int_eq(harness_get(gw.port, "/metrics", &metrics), 200);
	out = xasprintf("carenav_retention_bodies_purged_total %lld\n", old_rows);
	ck_assert_msg(strstr(metrics, out) != NULL, "%s", metrics);
	free(out);
	ck_assert_msg(strstr(metrics, "carenav_retention_states_cleared_total 1\n") != NULL, "%s", metrics);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages m JOIN conversations c ON c.id = "
	    "m.conversation_id WHERE c.patient_number = '" OLD "' AND m.direction = 'out' AND m.status = 'sent' "
	    "AND m.provider_sid IS NOT NULL"), old_outbox);
	free(metrics);
	/* A late Kannel report for a trimmed row still finds its message, by provider id. */
	harness_exec(pg, "UPDATE messages SET provider_sid = 'K999999' WHERE id = (SELECT min(m.id) FROM messages m "
	    "JOIN conversations c ON c.id = m.conversation_id WHERE c.patient_number = '" OLD "' "
	    "AND m.direction = 'out')");
	ck_assert_int_eq(harness_query_int(pg, "SELECT carenav_delivery_report('kannel', 'K999999', 'delivered', "
	    "'')::int"), 1);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages WHERE provider_sid = 'K999999' AND status = "
	    "'delivered'"),
	    1);
	/* A pending reply without its message's month is refused (an old carenav_queue_sms mid-upgrade). */
	res = PQexec(pg, "INSERT INTO outbox (message_id, conversation_id) SELECT max(id), 1 FROM messages");
	ck_assert_msg(PQresultStatus(res) == PGRES_FATAL_ERROR &&
	    strstr(PQresultErrorMessage(res), "outbox_pending_has_month") != NULL, "%s", PQresultErrorMessage(res));
	PQclear(res);
	ck_assert_int_eq(harness_get(gw.port, "/metrics", &metrics), 200);
	out = xasprintf("carenav_outbox_rows_trimmed_total %lld\n", old_outbox);
	ck_assert_msg(strstr(metrics, out) != NULL, "%s", metrics);
	free(out);
	free(metrics);
	/* A reply still pending is never trimmed, however old. */
	harness_exec(pg, "UPDATE outbox SET state = 'pending', next_attempt_at = now() + interval '1 day', "
	    "created_at = now() - interval '40 days' WHERE id = (SELECT max(id) FROM outbox)");
	ck_assert_int_eq(harness_query_int(pg, "SELECT carenav_outbox_trim(30, 100)"), 0);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM outbox WHERE state = 'pending'"), 1);
	harness_exec(pg, "UPDATE outbox SET state = 'done', created_at = now() WHERE state = 'pending'");

	/* A late provider retry of a purged text is still recognised; the patient can go on. */
	ck_assert_int_eq(harness_post_sms(gw.port, "SMlc001", OLD, CLINIC, RED_FLAG_TEXT), 200);
	ck_assert_int_eq(harness_post_sms(gw.port, "SMlc004", OLD, CLINIC, "hello again"), 200);
	harness_wait_settled(pg, WAIT_MS, gw.log_path);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages WHERE direction = 'in'"), 4);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages WHERE provider_sid = 'SMlc004' AND body = "
	    "'hello again'"), 1);

	/* Retention never empties a state sooner than the idle reset: with 1 day of retention and
	 * a 72-hour idle reset, a patient quiet for 30 hours keeps their place; after 80 hours not,
	 * and the version moves on so a step loaded before cannot write the old answers back. */
	harness_exec(pg, "UPDATE conversations SET last_activity_at = now() - interval '30 hours' "
	    "WHERE patient_number = '" NEW "'");
	version = harness_query_int(pg, "SELECT version FROM conversations WHERE patient_number = '" NEW "'");
	ck_assert_int_eq(harness_query_int(pg, "SELECT carenav_retention_clear_states(1, 72, 100)"), 0);
	harness_exec(pg, "UPDATE conversations SET last_activity_at = now() - interval '80 hours' "
	    "WHERE patient_number = '" NEW "'");
	ck_assert_int_eq(harness_query_int(pg, "SELECT carenav_retention_clear_states(1, 72, 100)"), 1);
	ck_assert_int_eq(harness_query_int(pg, "SELECT version FROM conversations WHERE patient_number = '" NEW "' "
	    "AND state = '{}'"), version + 1);

	/* The CLI does one run by hand: nothing left to purge. */
	ck_assert_int_eq(harness_gw_cli(&gw, &out, "purge", NULL), 0);
	ck_assert_msg(strstr(out, "message bodies purged: 0, dialogue states cleared: 0 (older than 30 days)") != NULL,
	    "%s", out);
	ck_assert_msg(strstr(out, "outbox rows trimmed: 0 (no longer pending, older than 30 days)") != NULL, "%s", out);
	free(out);
	harness_gw_stop_clean(&gw);
	harness_gw_free(&gw);
	PQfinish(pg);
	free(conninfo);
}
END_TEST

START_TEST(test_upgrade_keeps_data)
{
	/*
	 * A database of the version before partitioning (tests/data/upgrade/db-009.sql.gz,
	 * main's 001..009), then texts, a reply queued and an escalation.
	 */
	char *conninfo = harness_db_restore("db-009.sql.gz"), *out = NULL;
	struct harness_gw gw;
	long long old_max;
	PGconn *pg = harness_db_connect(conninfo);

	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM pg_class WHERE relname = 'messages' AND relkind = "
	    "'r'"), 1);
	for (int i = 0; i < 50; i++) {
		char *sql = xasprintf("SELECT message_id FROM carenav_inbound_accept('twilio', 'SMup%03d', "
		    "'+1555123%04d', '" CLINIC "', 'text %d', 0)", i, i % 7, i);

		ck_assert_int_gt(harness_query_int(pg, sql), 0);
		free(sql);
	}
	harness_exec(pg, "UPDATE messages SET created_at = now() - interval '70 days' WHERE provider_sid < 'SMup010'");
	harness_exec(pg, "SELECT carenav_queue_sms(1, 'twilio', 'a reply', 'dialogue', 0::smallint, false, NULL)");
	harness_exec(pg, "INSERT INTO escalations (code, conversation_id, message_id, reason, matched) "
	    "SELECT '4821', conversation_id, id, 'chest_pain', 'chest pain' FROM messages WHERE provider_sid = 'SMup000'");
	harness_exec(pg, "INSERT INTO escalation_events (escalation_id, event, actor) SELECT id, 'created', 'gateway' "
	    "FROM escalations");
	old_max = harness_query_int(pg, "SELECT max(id) FROM messages");

	/* The new binary migrates it. */
	harness_gw_init(&gw, conninfo, NULL);
	ck_assert_msg(harness_gw_cli(&gw, &out, "migrate", NULL) == 0, "%s", out);
	free(out);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM pg_class WHERE relname = 'messages' AND relkind = "
	    "'p'"), 1);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages"), 51);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages_legacy"), 51);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM inbound_ids"), 50);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM escalation_events_legacy"), 1);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM outbox o JOIN messages m ON m.id = o.message_id "
	    "WHERE m.body = 'a reply'"), 1);
	/* Stored once across the upgrade: an old id is recognised, a new one gets a fresh, larger id. */
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM carenav_inbound_accept('twilio', 'SMup003', "
	    "'+15551230003', '" CLINIC "', 'text 3', 0) WHERE NOT is_new"), 1);
	ck_assert_int_gt(harness_query_int(pg, "SELECT message_id FROM carenav_inbound_accept('twilio', 'SMup999', "
	    "'+15551230003', '" CLINIC "', 'new', 0) WHERE is_new"), old_max);
	/* This month is still legacy's. */
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages_legacy"), 52);

	/* A gateway runs on it: the queued reply goes out, the old texts get answered. */
	harness_gw_start(&gw);
	harness_wait_settled(pg, WAIT_MS, gw.log_path);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM outbox WHERE state = 'done'"),
	    harness_query_int(pg, "SELECT count(*) FROM outbox"));
	harness_gw_stop_clean(&gw);
	harness_gw_free(&gw);
	PQfinish(pg);
	free(conninfo);
}
END_TEST

/*
 * A text stored in an older monthly partition (a gateway down over the turn
 * of the month): the step commit finds it by (id, created_at) there, marks it
 * processed and queues its replies once; a later sweep finds nothing to redo.
 */
START_TEST(test_text_in_older_partition_answered_once)
{
	char *conninfo = harness_db_create(), *out = NULL, *where;
	struct harness_gw gw;
	long long replies;
	PGconn *pg;

	harness_gw_init(&gw, conninfo, NULL);
	ck_assert_msg(harness_gw_cli(&gw, &out, "migrate", NULL) == 0, "%s", out);
	free(out);
	pg = harness_db_connect(conninfo);
	/* Last month gets its own partition (the legacy one covers the months before). */
	harness_exec(pg, "DO $$ DECLARE m timestamptz := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'; "
	    "BEGIN ALTER TABLE messages DETACH PARTITION messages_legacy; "
	    "EXECUTE format('CREATE TABLE messages_last_month PARTITION OF messages FOR VALUES FROM (%L) TO (%L)', "
	    "m - interval '1 month', m); "
	    "EXECUTE format('CREATE TABLE messages_this_month PARTITION OF messages FOR VALUES FROM (%L) TO (%L)', "
	    "m, m + interval '1 month'); "
	    "EXECUTE format('ALTER TABLE messages ATTACH PARTITION messages_legacy FOR VALUES FROM (MINVALUE) TO (%L)', "
	    "m - interval '1 month'); END $$");
	harness_exec(pg, "SELECT carenav_inbound_accept('twilio', 'SMlc900', '" OLD "', '" CLINIC "', 'hi', 0)");
	harness_exec(pg, "UPDATE messages SET created_at = date_trunc('month', now()) - interval '1 day 3.217 ms' "
	    "WHERE provider_sid = 'SMlc900'");
	where = harness_query_text(pg, "SELECT tableoid::regclass::text FROM messages WHERE provider_sid = 'SMlc900'");
	ck_assert_str_eq(where, "messages_last_month");
	free(where);

	harness_gw_start(&gw);
	harness_wait_settled(pg, WAIT_MS, gw.log_path);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages_last_month WHERE provider_sid = 'SMlc900' "
	    "AND status = 'processed'"), 1);
	replies = harness_query_int(pg, "SELECT count(*) FROM outbox");
	ck_assert_int_ge(replies, 1);
	/* Two more sweeps: nothing is stepped or queued again. */
	harness_sleep_ms(2500);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM outbox"), replies);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages WHERE direction = 'out'"), replies);
	ck_assert_int_eq(harness_gw_stop(&gw), 0);
	harness_gw_free(&gw);
	PQfinish(pg);
	free(conninfo);
}
END_TEST

CHECK_RUN_MAIN("lifecycle", 120, test_partitions_and_retention, test_upgrade_keeps_data,
    test_text_in_older_partition_answered_once)
