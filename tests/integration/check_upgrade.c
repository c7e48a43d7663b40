/*
 * check_upgrade.c - a rolling upgrade under traffic: two real gateways
 * behind a real HAProxy (deploy/haproxy.cfg, TLS) take webhooks from four
 * client threads playing the provider. Mid-stream an additive "expand"
 * migration (tests/data/upgrade/900_expand_probe.sql: a column, a
 * function, its schema_migrations row, lock_timeout) is applied, and the
 * gateways are then replaced one by one: taken out of HAProxy (the stats
 * page's admin action "maint"), SIGTERM (drain), started again, put back
 * ("ready"), and only once HAProxy's health check has it UP, the next.
 *
 * What is replaced is the same binary: the build has one version, so this
 * proves the procedure (drain, health checks, redispatch, a binary running
 * against a schema newer than it knows), not a change of code. Checked: no
 * webhook answered anything but 200 (the provider saw no 5xx and needed no
 * retry), every text stored once and answered once, every reply sent once,
 * and the restarted gateways run on the expanded schema.
 */
#include <check.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "haproxy_fixture.h"
#include "harness.h"
#include "xmalloc.h"

#define NGW 2
#define PATIENTS 80
#define ROUNDS 8             /* 640 webhooks */
#define THREADS 4
#define MIGRATE_AT 100       /* webhooks answered before the expand migration */
#define REPLACE_AT 160       /* ... and before the first gateway is replaced */
#define SETTLE_MS 60000
#define CLINIC "+15550001111"
#define SANDBOX_SECRET "upgrade-sandbox-secret"

static const char *const texts[] = { "hi my back hurts", "no", "3", "about a week", "no", "no", "1", "thanks" };

struct up {
	struct haproxy_fixture haproxy;
	struct harness_gw gw[NGW];
	atomic_long answered;    /* webhooks answered 200 */
	atomic_long not_ok;      /* any other answer, or none: what the provider would have seen */
	atomic_long status_0, status_503, status_other;
};

/* One patient's text of a round, retried as a provider would; each non-200 is a failure of the upgrade. */
static void
post_webhook(struct haproxy_client *c, int p, int round, void *arg)
{
	struct up *up = arg;
	char sid[32], from[32];
	int tries = 0;
	long st;

	snprintf(sid, sizeof sid, "SMup%04d%02d", p, round);
	snprintf(from, sizeof from, "+1555700%04d", p);
	while ((st = haproxy_client_post_sms(c, sid, from, CLINIC, texts[round])) != 200 && ++tries < 200) {
		atomic_fetch_add(&up->not_ok, 1);
		atomic_fetch_add(st == 0 ? &up->status_0 : st == 503 ? &up->status_503 : &up->status_other, 1);
		harness_sleep_ms(20);
	}
	atomic_fetch_add(&up->answered, 1);
	harness_sleep_ms(10);
}

static void
wait_answered(struct up *up, long n)
{
	while (atomic_load(&up->answered) < n)
		harness_sleep_ms(5);
}

/* Applies the expand migration as "carenav migrate" would, retrying when its lock_timeout expires. */
static void
apply_expand(PGconn *pg)
{
	const char *dir = getenv("CARENAV_UPGRADE_SQL");
	char *path, *sql = NULL;
	size_t cap = 0;
	FILE *f;
	int tries = 0;

	ck_assert_ptr_nonnull(dir);
	path = xasprintf("%s/900_expand_probe.sql", dir);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert(getdelim(&sql, &cap, '\0', f) > 0);
	fclose(f);
	for (;;) {
		PGresult *res = PQexec(pg, sql);
		bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

		PQclear(res);
		if (ok)
			break;
		PQclear(PQexec(pg, "ROLLBACK"));
		ck_assert_msg(++tries < 10, "the expand migration failed: %s", PQerrorMessage(pg));
		harness_sleep_ms(200);
	}
	free(sql);
	free(path);
}

START_TEST(test_rolling_upgrade_under_traffic)
{
	enum { SENT = PATIENTS * ROUNDS };
	char *conninfo = harness_db_create_empty(), *out = NULL, *notes;
	struct haproxy_stream stream;
	struct up up;
	PGconn *pg;
	struct harness_inbound t;
	long lines, distinct, out_of_order;
	double t0, elapsed;

	memset(&up, 0, sizeof up);
	haproxy_fixture_init(&up.haproxy, "upgrade");
	haproxy_fixture_gateways(&up.haproxy, up.gw, NGW, conninfo, SANDBOX_SECRET, NULL);
	pg = harness_db_connect(conninfo);
	/* deploy/haproxy.cfg's third server is gateway 1 again (two of three entries go down at a time). */
	haproxy_fixture_start(&up.haproxy, up.gw, NGW);

	t0 = harness_now_s();
	haproxy_stream_start(&stream, &up.haproxy, "X-Sandbox-Secret: " SANDBOX_SECRET, THREADS, PATIENTS, ROUNDS,
	    post_webhook, &up);
	wait_answered(&up, MIGRATE_AT);
	apply_expand(pg);
	wait_answered(&up, REPLACE_AT);
	for (int i = 0; i < NGW; i++) {
		long before = atomic_load(&up.answered);

		/* Out of the balancer first, then drained and stopped, started, back in. */
		haproxy_fixture_admin(&up.haproxy, i == 0 ? "s=gw1&s=gw3" : "s=gw2", "maint");
		ck_assert_int_eq(haproxy_fixture_servers_up(&up.haproxy), i == 0 ? 1 : 2);
		harness_gw_stop_clean(&up.gw[i]);
		harness_gw_start(&up.gw[i]);
		haproxy_fixture_admin(&up.haproxy, i == 0 ? "s=gw1&s=gw3" : "s=gw2", "ready");
		haproxy_fixture_wait_up(&up.haproxy, HAPROXY_SERVERS);
		/* Webhooks went on while it was replaced. */
		ck_assert_int_gt(atomic_load(&up.answered), before);
	}
	haproxy_stream_join(&stream);
	elapsed = harness_now_s() - t0;
	ck_assert_int_eq(atomic_load(&up.answered), SENT);

	harness_wait_settled(pg, SETTLE_MS, up.gw[0].log_path);
	harness_inbound_tally(pg, &t);
	/* Replies sent once: one sandbox log line per outbox row. */
	harness_sandbox_log_tally(up.haproxy.outbox_log, &lines, &distinct, &out_of_order);
	/* The expanded schema is there and the replaced gateways ignore the migration they do not know. */
	ck_assert_int_eq(harness_query_int(pg, "SELECT carenav_upgrade_probe()"), 1);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM schema_migrations "
	    "WHERE name = '900_expand_probe.sql'"), 1);
	harness_gw_cli(&up.gw[0], &out, "doctor", NULL);
	ck_assert_msg(strstr(out, "1 migration(s) this binary does not know") != NULL, "%s", out);
	free(out);

	notes = xasprintf("2 gateways behind HAProxy (TLS); an additive migration (a column, a function, "
	    "lock_timeout) applied after %d webhooks, then each gateway taken out of HAProxy (maint), "
	    "drained (SIGTERM), started again (the same binary) and put back once the other was up; %ld answers other than 200 (%ld none, %ld 503, "
	    "%ld other); %ld replies, each sent once; %.0f webhooks/s", MIGRATE_AT, atomic_load(&up.not_ok),
	    atomic_load(&up.status_0), atomic_load(&up.status_503), atomic_load(&up.status_other), lines, (double)SENT / elapsed);
	/* Only the normal build's run goes into docs/reliability.md (the sanitizer pass sets a scale). */
	if (getenv("CARENAV_FAULTS_SCALE") == NULL)
		harness_report_row("rolling restart of 2 gateways with an expand migration, under traffic", SENT,
		    t.stored, t.answered, (t.rows - t.stored) + (t.steps - t.answered) + (lines - distinct),
		    SENT - (t.answered < t.stored ? t.answered : t.stored), notes);
	fprintf(stderr, "check_upgrade: %s\n", notes);
	ck_assert_int_eq(atomic_load(&up.not_ok), 0);
	ck_assert_int_eq(t.stored, SENT);
	ck_assert_int_eq(t.rows, SENT);
	ck_assert_int_eq(t.answered, SENT);
	ck_assert_int_eq(t.steps, SENT);
	ck_assert_int_eq(lines, distinct);
	ck_assert_int_eq(lines, harness_query_int(pg, "SELECT count(*) FROM outbox"));
	free(notes);

	haproxy_fixture_stop_all(&up.haproxy, up.gw, NGW);
	PQfinish(pg);
	free(conninfo);
}
END_TEST

CHECK_RUN_MAIN("upgrade", 180, test_rolling_upgrade_under_traffic)
