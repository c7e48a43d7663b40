/*
 * check_faults.c - the offline-first promise under faults, with real
 * processes: PostgreSQL stopped mid-stream, the gateway SIGKILLed again and
 * again, the SMS provider down, failing, then slow. Each scenario writes its
 * measured row to the build's reliability.md (harness_report_row).
 */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fake_twilio.h"
#include "harness.h"
#include "xmalloc.h"

#define CLINIC "+15550001111"
/* What patients text, cycling: walks the flow and exercises free text. */
static const char *const texts[] = { "hi my back hurts", "no", "3", "about a week", "no", "no",
	"no", "no", "1", "2", "thanks" };
#define NTEXTS (sizeof texts / sizeof texts[0])

static const char *
patient(int i, char buf[32])
{
	snprintf(buf, 32, "+1555700%04d", i);
	return buf;
}

/* Posts until the gateway says 200, like a provider retrying; returns the extra tries. */
static int
post_until_ok(const struct harness_gw *gw, const char *sid, const char *from, const char *body)
{
	int tries = 0;

	while (harness_post_sms(gw->port, sid, from, CLINIC, body) != 200) {
		tries++;
		ck_assert_msg(tries < 2000, "message %s never accepted", sid);
		harness_sleep_ms(20);
	}
	return tries;
}

/* Duplicate lines (by provider id) in the sandbox provider's log: replies sent twice. */
static long
sandbox_duplicates(const struct harness_gw *gw, long *lines)
{
	char *path = xasprintf("%s/outbox.log", gw->var_dir), *line = NULL;
	char **sids = NULL;
	size_t cap = 0, n = 0;
	long dups = 0;
	FILE *f = fopen(path, "r");

	while (f != NULL && getline(&line, &cap, f) > 0) {
		char *p = strstr(line, "\"sid\":\""), *end;

		if (p == NULL)
			continue;
		p += 7;
		end = strchr(p, '"');
		sids = xreallocarray(sids, n + 1, sizeof *sids);
		sids[n++] = xstrndup(p, (size_t)(end - p));
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(sids[i], sids[j]) == 0) {
				dups++;
				break;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		free(sids[i]);
	free(sids);
	free(line);
	free(path);
	if (f != NULL)
		fclose(f);
	*lines = (long)n;
	return dups;
}

/* Lines of the gateway's log (all its runs) that contain needle. */
static long
log_count(const struct harness_gw *gw, const char *needle)
{
	FILE *f = fopen(gw->log_path, "r");
	char *line = NULL;
	size_t cap = 0;
	long n = 0;

	while (f != NULL && getline(&line, &cap, f) > 0)
		n += strstr(line, needle) != NULL;
	free(line);
	if (f != NULL)
		fclose(f);
	return n;
}

/* Counts what the database shows and writes the scenario's row. */
static void
report(PGconn *pg, const struct harness_gw *gw, const char *scenario, long sent, long extra_dups,
    const char *notes)
{
	struct harness_inbound t;
	long dups, lost;

	harness_inbound_tally(pg, &t);
	dups = (t.rows - t.stored) + (t.steps - t.answered) + extra_dups;
	lost = sent - (t.answered < t.stored ? t.answered : t.stored);
	/* Only full-length runs go into docs/reliability.md. */
	if (harness_scaled(1000) == 1000)
		harness_report_row(scenario, sent, t.stored, t.answered, dups, lost, notes);
	ck_assert_msg(t.stored == sent && t.answered == sent && dups == 0 && lost == 0,
	    "%s: sent %ld stored %ld answered %ld duplicates %ld lost %ld; see %s", scenario, sent, t.stored,
	    t.answered, dups, lost, gw->log_path);
}

/* A private PostgreSQL cluster (CARENAV_PG_LOCAL) under the test's VAR_DIR, for the tests that stop it. */
struct cluster {
	char *dir;       /* owned */
	char *conninfo;  /* owned: its carenav database */
};

/* Names the cluster (nothing runs yet): VAR_DIR/name-PID. */
static void
cluster_init(struct cluster *c, const char *name)
{
	c->dir = xasprintf("%s/%s-%d", getenv("CARENAV_TEST_VARDIR"), name, (int)getpid());
	c->conninfo = xasprintf("host=%s/run dbname=carenav user=carenav", c->dir);
}

/* Runs CARENAV_PG_LOCAL's verb (start, stop, stop-immediate) on the cluster; it must succeed. */
static void
cluster_ctl(const struct cluster *c, const char *verb)
{
	char *cmd = xasprintf("%s %s %s", getenv("CARENAV_PG_LOCAL"), verb, c->dir);

	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
	free(cmd);
}

/* Stops the cluster and frees what cluster_init made. */
static void
cluster_free(struct cluster *c)
{
	cluster_ctl(c, "stop");
	free(c->conninfo);
	free(c->dir);
}

/* --- PostgreSQL stopped mid-stream ----------------------------------------------------- */

struct outage {
	const struct cluster *cluster;
	int port;                 /* the gateway's, for /readyz */
	bool readyz_down;         /* /readyz said 503 during the outage */
	bool readyz_back;         /* and 200 again after it */
	atomic_long *posted;
	long stop_after;
	int down_ms;
	long stopped_at, restarted_at;
};

static void *
outage_thread(void *arg)
{
	struct outage *o = arg;

	while (atomic_load(o->posted) < o->stop_after)
		harness_sleep_ms(10);
	o->stopped_at = atomic_load(o->posted);
	cluster_ctl(o->cluster, "stop-immediate");
	o->readyz_down = harness_wait_get(o->port, "/readyz", 503, o->down_ms);
	harness_sleep_ms(o->down_ms);
	o->restarted_at = atomic_load(o->posted);
	cluster_ctl(o->cluster, "start");
	/* The pool reconnects by itself, with backoff. */
	o->readyz_back = harness_wait_get(o->port, "/readyz", 200, 20000);
	return NULL;
}

START_TEST(test_database_stopped_mid_stream)
{
	const int N = harness_scaled(1000), PATIENTS = 100;
	struct cluster db;
	char *notes;
	struct outage o = { 0 };
	atomic_long posted = 0;
	struct harness_gw gw;
	pthread_t t;
	PGconn *pg;
	long retries = 0, lines, dups;
	char from[32], sid[32];

	cluster_init(&db, "faults-pg");
	cluster_ctl(&db, "start");
	harness_gw_init(&gw, db.conninfo, NULL);
	harness_gw_start(&gw);
	o.cluster = &db;
	o.port = gw.port;
	o.posted = &posted;
	o.stop_after = N * 3 / 10;
	o.down_ms = 10000;
	pthread_create(&t, NULL, outage_thread, &o);
	for (int i = 0; i < N; i++) {
		snprintf(sid, sizeof sid, "SMdbdown%05d", i);
		retries += post_until_ok(&gw, sid, patient(i % PATIENTS, from), texts[(i / PATIENTS) % NTEXTS]);
		atomic_fetch_add(&posted, 1);
		harness_sleep_ms(15);  /* a steady stream, so the outage falls in the middle of it */
	}
	pthread_join(t, NULL);
	ck_assert_msg(o.readyz_down, "/readyz never said 503 while PostgreSQL was down");
	ck_assert_msg(o.readyz_back, "/readyz never said 200 again after PostgreSQL came back");
	pg = harness_db_connect(db.conninfo);
	harness_wait_answered(pg, N, 90000, gw.log_path);
	dups = sandbox_duplicates(&gw, &lines);
	notes = xasprintf("`pg_ctl stop -m immediate` after %ld texts, restarted 10 s later (after %ld); "
	    "texts in between were spooled and answered 200, /readyz said 503 then 200 again; %ld "
	    "provider-style retries; %ld replies, %ld sent twice", o.stopped_at, o.restarted_at, retries,
	    lines, dups);
	report(pg, &gw, "PostgreSQL stopped mid-stream", N, dups, notes);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM outbox WHERE state = 'done'"), lines);
	free(notes);
	PQfinish(pg);
	harness_gw_free(&gw);
	cluster_free(&db);
}
END_TEST

/* --- the gateway started while PostgreSQL is down ------------------------------------------- */

START_TEST(test_database_down_at_start)
{
	enum { N = 40, PATIENTS = 10 };
	struct cluster db;
	char *notes;
	struct harness_gw gw;
	PGconn *pg;
	long lines, dups;
	char from[32], sid[32];

	/* A cluster that exists but is not running when the gateway starts. */
	cluster_init(&db, "faults-pg3");
	cluster_ctl(&db, "start");
	cluster_ctl(&db, "stop");
	harness_gw_init(&gw, db.conninfo, NULL);
	harness_gw_start(&gw);
	ck_assert_int_eq(harness_get(gw.port, "/readyz", NULL), 503);
	for (int i = 0; i < N; i++) {
		snprintf(sid, sizeof sid, "SMcold%04d", i);
		ck_assert_int_eq(harness_post_sms(gw.port, sid, patient(i % PATIENTS, from), CLINIC,
		    texts[(i / PATIENTS) % NTEXTS]), 200);
	}
	cluster_ctl(&db, "start");
	pg = harness_db_connect(db.conninfo);
	harness_wait_answered(pg, N, 60000, gw.log_path);
	dups = sandbox_duplicates(&gw, &lines);
	notes = xasprintf("the gateway started with PostgreSQL stopped, answered all %d texts 200 from the "
	    "spool, migrated and replayed them in order when PostgreSQL started; %ld replies, %ld sent twice",
	    N, lines, dups);
	report(pg, &gw, "PostgreSQL down when the gateway starts", N, dups, notes);
	free(notes);
	PQfinish(pg);
	harness_gw_free(&gw);
	cluster_free(&db);
}
END_TEST

/* --- neither the database nor the disk ------------------------------------------------ */

START_TEST(test_database_and_disk_both_down)
{
	struct cluster db;
	char *spool;
	struct harness_gw gw;
	PGconn *pg;
	char from[32];

	cluster_init(&db, "faults-pg2");
	cluster_ctl(&db, "start");
	harness_gw_init(&gw, db.conninfo, NULL);
	/* A full disk: the spool file is /dev/full, where every write fails with ENOSPC. */
	spool = xasprintf("%s/spool", gw.var_dir);
	ck_assert_int_eq(mkdir(spool, 0750), 0);
	free(spool);
	spool = xasprintf("%s/spool/inbound.spool", gw.var_dir);
	ck_assert_int_eq(symlink("/dev/full", spool), 0);
	harness_gw_start(&gw);
	cluster_ctl(&db, "stop-immediate");
	/* Nothing can keep the message: 503, so the provider keeps it and retries. */
	ck_assert_int_eq(harness_post_sms(gw.port, "SMnowhere1", patient(1, from), CLINIC, "hello"), 503);
	cluster_ctl(&db, "start");
	/* The provider's retry, once the database is back: stored and answered once. */
	for (int i = 0; i < 200 && harness_post_sms(gw.port, "SMnowhere1", from, CLINIC, "hello") != 200; i++)
		harness_sleep_ms(100);
	pg = harness_db_connect(db.conninfo);
	ck_assert(harness_wait_int(pg, "SELECT count(*) FROM messages WHERE direction = 'in' "
	    "AND processed_at IS NOT NULL", 1, 20000));
	PQfinish(pg);
	harness_gw_free(&gw);
	cluster_free(&db);
	free(spool);
}
END_TEST

/* --- the gateway SIGKILLed again and again ------------------------------------------------ */

struct killer {
	struct harness_gw *gw;
	atomic_int *done;
	/*
	 * The thread lives until the test is over: the gateway it started last
	 * has PR_SET_PDEATHSIG, which fires when the forking *thread* exits.
	 */
	atomic_int *finished;
	atomic_int *accepted;   /* texts the gateway has said 200 to */
	int every;              /* texts between two kills, on average */
	atomic_int kills;
	pthread_mutex_t *lock;  /* held while the gateway is being restarted */
};

static void *
killer_thread(void *arg)
{
	struct killer *k = arg;
	unsigned seed = 7;

	while (!atomic_load(k->done) || k->kills < 20) {
		int from = atomic_load(k->accepted), gap = 1 + (int)(rand_r(&seed) % (unsigned)(2 * k->every));
		int pause_ms = 200 + (int)(rand_r(&seed) % 400);

		/*
		 * A kill at a random point of the stream, after `gap` more texts are
		 * accepted (so a slow machine sees as many kills, not more); once
		 * every text is in, after a pause.
		 */
		for (int waited = 0; atomic_load(k->accepted) - from < gap; waited += 10) {
			if (atomic_load(k->done) && waited >= pause_ms)
				break;
			harness_sleep_ms(10);
		}
		pthread_mutex_lock(k->lock);
		harness_gw_kill(k->gw);
		k->kills++;
		harness_gw_start(k->gw);
		pthread_mutex_unlock(k->lock);
		if (atomic_load(k->done) && k->kills >= 20)
			break;
	}
	while (!atomic_load(k->finished))
		harness_sleep_ms(20);
	return NULL;
}

START_TEST(test_gateway_killed_repeatedly)
{
	const int N = harness_scaled(500), PATIENTS = 50;
	/*
	 * The sandbox provider writes a local file: a short provider timeout
	 * and margin shorten the lease (timeout + margin, 45 s by default) a
	 * killed gateway leaves on the replies it was sending, which the last
	 * restart waits out.
	 */
	static const char *const env[] = { "PROVIDER_TIMEOUT_MS=1000", "OUTBOX_LEASE_MARGIN_MS=4000", NULL };
	char *conninfo = harness_db_create(), *notes;
	struct harness_gw gw;
	struct killer k = { 0 };
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	atomic_int done = 0, finished = 0, accepted = 0;
	pthread_t t;
	PGconn *pg;
	long retries = 0, resent = 0, lines, dups;
	char from[32], sid[32];
	unsigned seed = 11;

	harness_gw_init(&gw, conninfo, env);
	harness_gw_start(&gw);
	k.gw = &gw;
	k.done = &done;
	k.finished = &finished;
	k.accepted = &accepted;
	k.every = N / 20;
	k.lock = &lock;
	pthread_create(&t, NULL, killer_thread, &k);
	for (int i = 0; i < N; i++) {
		snprintf(sid, sizeof sid, "SMkill%05d", i);
		retries += post_until_ok(&gw, sid, patient(i % PATIENTS, from), texts[(i / PATIENTS) % NTEXTS]);
		atomic_fetch_add(&accepted, 1);
		/* Providers also retry messages we already accepted. */
		if (rand_r(&seed) % 8 == 0 && i > 0) {
			int j = (int)(rand_r(&seed) % (unsigned)i);

			snprintf(sid, sizeof sid, "SMkill%05d", j);
			retries += post_until_ok(&gw, sid, patient(j % PATIENTS, from), texts[(j / PATIENTS) % NTEXTS]);
			resent++;
		}
		harness_sleep_ms(10);
	}
	atomic_store(&done, 1);
	while (k.kills < 20)
		harness_sleep_ms(50);
	pthread_mutex_lock(&lock);  /* the last restart has finished */
	pthread_mutex_unlock(&lock);
	pg = harness_db_connect(conninfo);
	harness_wait_answered(pg, N, 90000, gw.log_path);
	dups = sandbox_duplicates(&gw, &lines);
	notes = xasprintf("%d SIGKILLs at random points (every 1-%d accepted texts), each followed by a restart; "
	    "%ld provider retries of refused posts and %ld re-posts of accepted texts; %ld replies, %ld sent twice; "
	    "%ld resends of a reply whose 'sent' was not recorded before a kill, absorbed by the sandbox "
	    "provider's id check (with Twilio or Kannel each would reach the phone twice)",
	    (int)k.kills, 2 * k.every, retries, resent, lines, dups, log_count(&gw, "was already delivered"));
	report(pg, &gw, "gateway SIGKILLed repeatedly", N, dups, notes);
	atomic_store(&finished, 1);
	pthread_join(t, NULL);
	free(notes);
	PQfinish(pg);
	harness_gw_free(&gw);
	free(conninfo);
}
END_TEST

/* --- the SMS provider down, failing, then slow -------------------------------------------- */

START_TEST(test_provider_down_failing_slow)
{
	enum { PATIENTS = 20, ROUNDS = 3 };
	static int failing[40];
	char *conninfo = harness_db_create(), *notes;
	char *env[7];
	struct fake_twilio *ft = fake_twilio_start();
	struct harness_gw gw;
	PGconn *pg;
	long out_of_order = 0, twice = 0, accepted = 0;
	char from[32], sid[32];

	for (size_t i = 0; i < 40; i++)
		failing[i] = i % 2 ? 429 : 500;
	env[0] = xstrdup("SMS_PROVIDER=twilio");
	env[1] = xstrdup("TWILIO_ACCOUNT_SID=ACfaults");
	env[2] = xstrdup("TWILIO_AUTH_TOKEN=faults-token");
	env[3] = xasprintf("TWILIO_API_BASE=http://127.0.0.1:%d", fake_twilio_port(ft));
	env[4] = xstrdup("PUBLIC_BASE_URL=https://sms.example.org");
	/* Retry for as long as the provider is away (the tests' backoff is short). */
	env[5] = xstrdup("OUTBOX_MAX_ATTEMPTS=1000");
	env[6] = NULL;
	harness_sign_twilio("faults-token", "https://sms.example.org");
	harness_gw_init(&gw, conninfo, (const char *const *)env);
	harness_gw_start(&gw);
	pg = harness_db_connect(conninfo);

	fake_twilio_go_down(ft);
	for (int r = 0; r < ROUNDS; r++) {
		for (int p = 0; p < PATIENTS; p++) {
			snprintf(sid, sizeof sid, "SMprov%02d%03d", r, p);
			post_until_ok(&gw, sid, patient(p, from), texts[r]);
		}
	}
	harness_sleep_ms(2000);                       /* refused connections: retried with backoff */
	fake_twilio_script(ft, failing, 40);  /* then 500 and 429 */
	fake_twilio_come_back(ft);
	harness_sleep_ms(2000);
	fake_twilio_set_delay(ft, 5000);      /* then slow: 5 s per answer */
	harness_sleep_ms(6000);
	fake_twilio_set_delay(ft, 0);
	harness_wait_answered(pg, PATIENTS * ROUNDS, 90000, gw.log_path);

	/* Per patient: the provider accepted exactly the stored replies, in order, once each. */
	for (int p = 0; p < PATIENTS; p++) {
		char *sql = xasprintf("SELECT coalesce(string_agg(body, E'\\n' ORDER BY id), '') FROM messages "
		    "WHERE direction = 'out' AND to_number = '%s'", patient(p, from));
		char *want = harness_query_text(pg, sql), *got = fake_twilio_bodies_to(ft, from);

		if (strcmp(want, got) != 0) {
			if (strlen(got) > strlen(want))
				twice++;
			else
				out_of_order++;
			fprintf(stderr, "patient %s\n want: %s\n got: %s\n", from, want, got);
		}
		free(sql);
		free(want);
		free(got);
	}
	accepted = (long)fake_twilio_count(ft);
	notes = xasprintf("provider refused connections for 2 s, then answered 500/429 to 40 requests, then "
	    "took 5 s per answer for 6 s; %ld requests in all; conversations with replies out of order: %ld, "
	    "with a reply accepted twice: %ld", accepted, out_of_order, twice);
	report(pg, &gw, "SMS provider down, then 500/429, then slow", PATIENTS * ROUNDS, twice, notes);
	ck_assert_int_eq(out_of_order, 0);
	ck_assert_int_eq(twice, 0);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages WHERE direction = 'out' "
	    "AND status <> 'sent'"), 0);
	free(notes);
	PQfinish(pg);
	harness_gw_free(&gw);
	fake_twilio_stop(ft);
	for (int i = 0; i < 6; i++)
		free(env[i]);
	free(conninfo);
}
END_TEST

CHECK_RUN_MAIN("faults", 400, test_database_stopped_mid_stream, test_database_and_disk_both_down,
    test_database_down_at_start, test_gateway_killed_repeatedly, test_provider_down_failing_slow)
