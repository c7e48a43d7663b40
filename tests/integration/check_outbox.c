/*
 * check_outbox.c - the outbox's batched SQL on a real database, without a
 * gateway in between: the 'sent' marks of many replies in one call (set-based
 * for ordinary replies, row by row for urgent ones, a delivery report that
 * raced ahead applied), exactly as the gateway's batches call them.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "xmalloc.h"

#define CLINIC "+15550001111"
#define PATIENT "+15551230001"

static long long
q(PGconn *pg, const char *sql)
{
	return harness_query_int(pg, sql);
}

/* A migrated database with no gateway on it, and one patient conversation (id in *conv). */
static PGconn *
outbox_db(struct harness_gw *gw, char **conninfo, long long *conv)
{
	char *out = NULL;
	PGconn *pg;

	*conninfo = harness_db_create();
	harness_gw_init(gw, *conninfo, NULL);
	ck_assert_msg(harness_gw_cli(gw, &out, "migrate", NULL) == 0, "%s", out);
	free(out);
	pg = harness_db_connect(*conninfo);
	*conv = q(pg, "INSERT INTO conversations (patient_number, service_number) VALUES ('" PATIENT "', '" CLINIC
	    "') RETURNING id");
	return pg;
}

static void
outbox_db_free(struct harness_gw *gw, char *conninfo, PGconn *pg)
{
	PQfinish(pg);
	harness_gw_free(gw);
	free(conninfo);
}

START_TEST(test_sent_batch)
{
	struct harness_gw gw;
	char *conninfo, *sql, *s;
	long long conv, plain, raced, urgent, oid[3];
	PGconn *pg = outbox_db(&gw, &conninfo, &conv);

	sql = xasprintf("SELECT carenav_queue_sms(%lld, 'twilio', 'plain', 'dialogue', 0::smallint, false, NULL)", conv);
	plain = q(pg, sql);
	free(sql);
	sql = xasprintf("SELECT carenav_queue_sms(%lld, 'twilio', 'raced', 'dialogue', 0::smallint, false, NULL)", conv);
	raced = q(pg, sql);
	free(sql);
	sql = xasprintf("SELECT carenav_queue_urgent(%lld, 'twilio', 'urgent', 'dialogue', 30::smallint, NULL, NULL, "
	    "NULL, NULL)", conv);
	urgent = q(pg, sql);
	free(sql);
	for (int i = 0; i < 3; i++) {
		sql = xasprintf("SELECT id FROM outbox WHERE message_id = %lld", (long long[]){ plain, raced, urgent }[i]);
		oid[i] = q(pg, sql);
		free(sql);
	}
	/* The report of the second reply arrives before its 'sent' mark: no message has its id yet. */
	ck_assert_int_eq(q(pg, "SELECT carenav_delivery_report('twilio', 'SMraced', 'delivered', '')::int"), 0);
	sql = xasprintf("SELECT count(*) FROM carenav_outbox_sent_batch('["
	    "{\"id\": %lld, \"sid\": \"SMplain\", \"status\": \"sent\", \"segments\": 1, \"encoding\": \"gsm7\"},"
	    "{\"id\": %lld, \"sid\": \"SMraced\", \"segments\": 1, \"encoding\": \"gsm7\"},"
	    "{\"id\": %lld, \"sid\": \"SMurgent\", \"status\": \"queued\", \"segments\": 1, \"encoding\": \"gsm7\"},"
	    "{\"id\": 999999, \"sid\": \"SMnone\"}]') WHERE done", oid[0], oid[1], oid[2]);
	ck_assert_int_eq(q(pg, sql), 4);
	free(sql);
	ck_assert_int_eq(q(pg, "SELECT count(*) FROM outbox WHERE state = 'done' AND lease_until IS NULL"), 3);
	sql = xasprintf("SELECT string_agg(body || ' ' || status || ' ' || provider_sid || ' ' || segments || ' ' "
	    "|| encoding, ', ' ORDER BY id) FROM messages WHERE id IN (%lld, %lld, %lld)", plain, raced, urgent);
	s = harness_query_text(pg, sql);
	ck_assert_str_eq(s, "plain sent SMplain 1 gsm7, raced delivered SMraced 1 gsm7, urgent queued SMurgent 1 gsm7");
	free(s);
	free(sql);
	/* A mark that comes again (a retried record) leaves a status past 'sent' as it is. */
	sql = xasprintf("SELECT count(*) FROM carenav_outbox_sent_batch('[{\"id\": %lld, \"sid\": \"SMraced\"}]')",
	    oid[1]);
	ck_assert_int_eq(q(pg, sql), 1);
	free(sql);
	sql = xasprintf("SELECT count(*) FROM messages WHERE id = %lld AND status = 'delivered'", raced);
	ck_assert_int_eq(q(pg, sql), 1);
	free(sql);
	outbox_db_free(&gw, conninfo, pg);
}
END_TEST

CHECK_RUN_MAIN("outbox", 60, test_sent_batch)
