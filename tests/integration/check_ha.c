/*
 * check_ha.c - many gateways, one database: three real gateway processes
 * behind a real HAProxy (deploy/haproxy.cfg, TLS with a throwaway
 * self-signed certificate) sharing one PostgreSQL through a real PgBouncer
 * in transaction pooling (12 gateway connections over at most 6 server
 * connections: carenav uses no named prepared statements and no session
 * state, see deploy/pgbouncer.ini). Six client threads play
 * the SMS provider: 3,000 webhooks from 300 patients over HTTPS, each
 * patient's texts in order, some webhooks sent twice (a provider retry),
 * and every webhook retried until it gets its 200. One gateway is SIGKILLed
 * mid-stream and started again later.
 *
 * Checked afterwards: every message stored once and answered once (one
 * dialogue step each), every conversation's texts processed in the order
 * they were sent and its replies sent in the order they were written,
 * every escalation's alert rounds fired once per step, and the replies
 * delivered once (the sandbox provider's log is shared by the three
 * gateways, so a resend by another gateway would show as a second line).
 * The measured row goes to the build's reliability.md.
 */
#include <check.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "haproxy_fixture.h"
#include "harness.h"
#include "xmalloc.h"

#define NGW 3
#define PATIENTS 300
#define ROUNDS 10            /* texts per patient: 3,000 webhooks */
#define THREADS 6
#define RETRY_EVERY 7        /* every 7th webhook is sent a second time after its 200 */
#define RED_FLAG_EVERY 60    /* patients 0, 60, 120... open with a red flag: 5 escalations */
#define KILL_AT 1000         /* webhooks answered before gateway 2 is SIGKILLed */
#define RESTART_AT 2000      /* ... and before it is started again */
#define SETTLE_MS 120000
#define BOUNCER_POOL 6       /* PgBouncer's server connections for the database */
#define CLINIC "+15550001111"
#define PRIMARY "+15550000100"
#define BACKUP "+15550000200"

/* HAProxy forwards (X-Forwarded-For): the sandbox takes such texts only with its secret. */
#define SANDBOX_SECRET "ha-sandbox-secret"

static const char *const texts[] = { "hi my back hurts", "no", "3", "about a week", "no", "no",
	"no", "no", "1", "2", "thanks" };
#define NTEXTS (sizeof texts / sizeof texts[0])
#define RED_FLAG_TEXT "my back hurts and i have chest pain and cant breathe"

struct ha {
	struct haproxy_fixture haproxy;  /* its dir holds PgBouncer's files and the shared sandbox log too */
	pid_t pgbouncer;
	int bouncer_port;
	struct harness_gw gw[NGW];
	atomic_long answered;     /* webhooks that got their 200 (first time) */
	atomic_long not_ok;       /* answers other than 200, or no answer: retried */
	atomic_long resent;       /* provider retries of webhooks already answered */
};

/* PgBouncer in front of the test cluster; returns the gateways' conninfo. */
static char *
pgbouncer_start(struct ha *ha, const char *direct_conninfo)
{
	const char *p = strstr(direct_conninfo, "dbname=");
	char *dbname, *server, *conninfo;

	ck_assert_ptr_nonnull(p);
	dbname = xstrndup(p + 7, strcspn(p + 7, " "));
	server = xasprintf("host=%s", getenv("CARENAV_TEST_PGHOST"));
	ha->pgbouncer = harness_pgbouncer_start(ha->haproxy.dir, "pgbouncer", server, dbname, BOUNCER_POOL, &ha->bouncer_port);
	conninfo = xasprintf("host=127.0.0.1 port=%d dbname=%s user=carenav", ha->bouncer_port, dbname);
	free(server);
	free(dbname);
	return conninfo;
}

/* Posts until 200, as a provider retries; counts the failures. */
static void
post_until_ok(struct haproxy_client *c, struct ha *ha, const char *sid, const char *from, const char *body)
{
	int tries = 0;

	while (haproxy_client_post_sms(c, sid, from, CLINIC, body) != 200) {
		atomic_fetch_add(&ha->not_ok, 1);
		ck_assert_msg(++tries < 500, "webhook %s never accepted", sid);
		harness_sleep_ms(20);
	}
}

/* One patient's text of a round; every RETRY_EVERY-th is sent again after its 200, as a provider retry. */
static void
post_webhook(struct haproxy_client *c, int p, int round, void *arg)
{
	struct ha *ha = arg;
	const char *body = round == 0 && p % RED_FLAG_EVERY == 0 ? RED_FLAG_TEXT : texts[round % NTEXTS];
	char sid[32], from[32];
	long seq;

	snprintf(sid, sizeof sid, "SMha%04d%02d", p, round);
	snprintf(from, sizeof from, "+1555800%04d", p);
	post_until_ok(c, ha, sid, from, body);
	seq = atomic_fetch_add(&ha->answered, 1) + 1;
	if (seq % RETRY_EVERY == 0) {
		post_until_ok(c, ha, sid, from, body);
		atomic_fetch_add(&ha->resent, 1);
	}
}

static void
staff_setup(struct ha *ha, PGconn *pg)
{
	char *from, *to, *out = NULL;

	ck_assert_int_eq(harness_gw_cli(&ha->gw[0], NULL, "staff", "add", "--name", "Pat Primary", "--phone",
	    PRIMARY, NULL), 0);
	ck_assert_int_eq(harness_gw_cli(&ha->gw[0], NULL, "staff", "add", "--name", "Bea Backup", "--phone",
	    BACKUP, NULL), 0);
	from = harness_query_text(pg, "SELECT to_char(now() AT TIME ZONE 'UTC' - interval '1 hour', "
	    "'YYYY-MM-DD HH24:MI')");
	to = harness_query_text(pg, "SELECT to_char(now() AT TIME ZONE 'UTC' + interval '2 hours', "
	    "'YYYY-MM-DD HH24:MI')");
	ck_assert_msg(harness_gw_cli(&ha->gw[0], &out, "oncall", "add", "--phone", PRIMARY, "--tier", "primary",
	    "--from", from, "--to", to, "--tz", "UTC", NULL) == 0, "%s", out);
	free(out);
	ck_assert_int_eq(harness_gw_cli(&ha->gw[0], NULL, "oncall", "add", "--phone", BACKUP, "--tier", "backup",
	    "--from", from, "--to", to, "--tz", "UTC", NULL), 0);
	free(from);
	free(to);
}

/* Lines in the gateways' logs (all their runs) that contain needle. */
static long
logs_count(struct ha *ha, const char *needle)
{
	char *line = NULL;
	size_t cap = 0;
	long n = 0;

	for (int i = 0; i < NGW; i++) {
		FILE *f = fopen(ha->gw[i].log_path, "r");

		while (f != NULL && getline(&line, &cap, f) > 0)
			n += strstr(line, needle) != NULL;
		if (f != NULL)
			fclose(f);
	}
	free(line);
	return n;
}

START_TEST(test_three_gateways_one_killed)
{
	enum { SENT = PATIENTS * ROUNDS };
	char *conninfo = harness_db_create(), *notes, *bouncer;
	struct haproxy_stream stream;
	struct ha ha;
	PGconn *pg;
	bool killed = false, restarted = false;
	long lines, distinct, out_of_order;
	struct harness_inbound t;
	long long escalations;
	double t0, elapsed;

	memset(&ha, 0, sizeof ha);
	haproxy_fixture_init(&ha.haproxy, "ha");
	bouncer = pgbouncer_start(&ha, conninfo);
	/*
	 * As in production: HAProxy is the trusted proxy (no per-client connection cap, X-Forwarded-For
	 * believed). Migrations once (through PgBouncer too: the migration lock is transaction-scoped), then
	 * the gateways.
	 */
	haproxy_fixture_gateways(&ha.haproxy, ha.gw, NGW, bouncer, SANDBOX_SECRET,
	    (const char *const[]){ "ESCALATION_ACK_TIMEOUT=3", "PROVIDER_TIMEOUT_MS=1000", NULL });
	pg = harness_db_connect(conninfo);
	staff_setup(&ha, pg);
	haproxy_fixture_start(&ha.haproxy, ha.gw, NGW);

	t0 = harness_now_s();
	haproxy_stream_start(&stream, &ha.haproxy, "X-Sandbox-Secret: " SANDBOX_SECRET, THREADS, PATIENTS, ROUNDS,
	    post_webhook, &ha);
	while (atomic_load(&ha.answered) < SENT) {
		long n = atomic_load(&ha.answered);

		if (!killed && n >= KILL_AT) {
			harness_gw_kill(&ha.gw[1]);
			killed = true;
		}
		if (killed && !restarted && n >= RESTART_AT) {
			harness_gw_start(&ha.gw[1]);
			restarted = true;
		}
		harness_sleep_ms(5);
	}
	haproxy_stream_join(&stream);
	elapsed = harness_now_s() - t0;
	/* PgBouncer multiplexed the gateways' 12 connections over its pool. */
	ck_assert_int_le(harness_query_int(pg, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
	    "AND pid <> pg_backend_pid()"), BOUNCER_POOL);
	ck_assert_msg(killed && restarted, "the stream ended before the kill/restart points");

	harness_wait_settled(pg, SETTLE_MS, ha.gw[0].log_path);
	/* Let at least one more alert round come due (ESCALATION_ACK_TIMEOUT=3) while all three run. */
	harness_sleep_ms(3500);
	/*
	 * Then stop the rounds as a nurse's ACK would, or a new round (every 3 s)
	 * could be queued between the checks below.
	 */
	PQclear(PQexec(pg, "UPDATE escalations SET status = 'acknowledged', acknowledged_by = 'test', "
	    "acknowledged_at = now(), next_due_at = NULL WHERE status = 'open'"));
	ck_assert_msg(harness_wait_int(pg, "SELECT count(*) FROM outbox WHERE state = 'pending'", 0, SETTLE_MS),
	    "alerts left unsent");

	/* Stored once: one row per provider id, all 3,000 of them. */
	harness_inbound_tally(pg, &t);
	ck_assert_int_eq(t.stored, SENT);
	ck_assert_int_eq(t.rows, SENT);
	/* Answered once: each text processed, and exactly one dialogue step per text. */
	ck_assert_int_eq(t.answered, SENT);
	ck_assert_int_eq(t.steps, SENT);
	/* In order: a conversation's texts are stored and processed in the order the patient sent them. */
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM (SELECT provider_sid, processed_at, "
	    "lag(provider_sid) OVER w AS prev_sid, lag(processed_at) OVER w AS prev_at FROM messages "
	    "WHERE direction = 'in' WINDOW w AS (PARTITION BY conversation_id ORDER BY id)) x "
	    "WHERE prev_sid > provider_sid OR prev_at > processed_at"), 0);
	/* Every outbox row sent once, and each conversation's replies left in the order written. */
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	harness_sandbox_log_tally(ha.haproxy.outbox_log, &lines, &distinct, &out_of_order);
	ck_assert_int_eq(distinct, harness_query_int(pg, "SELECT count(*) FROM outbox"));
	ck_assert_int_eq(out_of_order, 0);
	/* The sandbox, like a provider with idempotency keys, absorbs a resend after the kill. */
	ck_assert_msg(lines == distinct, "%ld replies delivered twice", lines - distinct);
	/* Escalation timers: every round fired once per staff member, rounds numbered without gaps. */
	escalations = harness_query_int(pg, "SELECT count(*) FROM escalations");
	ck_assert_int_eq(escalations, (PATIENTS + RED_FLAG_EVERY - 1) / RED_FLAG_EVERY);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM escalations WHERE step < 2"), 0);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM (SELECT escalation_id, step, staff_id FROM "
	    "escalation_events WHERE event = 'alert_queued' GROUP BY 1, 2, 3 HAVING count(*) > 1) d"), 0);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM escalations e WHERE (SELECT count(DISTINCT step) "
	    "FROM escalation_events v WHERE v.escalation_id = e.id AND v.event = 'alert_queued') <> e.step"), 0);

	notes = xasprintf("3 gateways behind HAProxy (TLS), PgBouncer (transaction pooling, %d server "
	    "connections) in front of PostgreSQL; gateway 2 SIGKILLed after %d webhooks, restarted "
	    "after %d; %ld provider retries of answered webhooks; %ld non-200 answers retried; %lld escalations, "
	    "%lld alert rounds, none twice; %ld replies resent after the kill, absorbed by the sandbox's idempotency; "
	    "%.0f webhooks/s through HAProxy (2 cores, shared)", BOUNCER_POOL, KILL_AT, RESTART_AT, atomic_load(&ha.resent),
	    atomic_load(&ha.not_ok), escalations, harness_query_int(pg, "SELECT coalesce(sum(step), 0) FROM escalations"),
	    logs_count(&ha, "was already delivered"),
	    (double)(SENT + atomic_load(&ha.resent)) / elapsed);
	harness_report_row("3 gateways behind HAProxy and PgBouncer, one SIGKILLed mid-stream", SENT, t.stored,
	    t.answered, (t.rows - t.stored) + (t.steps - t.answered) + (lines - distinct), SENT - t.answered, notes);
	fprintf(stderr, "check_ha: %s\n", notes);
	free(notes);

	haproxy_fixture_stop_all(&ha.haproxy, ha.gw, NGW);
	kill(ha.pgbouncer, SIGTERM);
	waitpid(ha.pgbouncer, NULL, 0);
	free(bouncer);
	PQfinish(pg);
	free(conninfo);
}
END_TEST

CHECK_RUN_MAIN("ha", 400, test_three_gateways_one_killed)
