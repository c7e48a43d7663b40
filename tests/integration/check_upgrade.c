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
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
	int tls_port, http_port, stats_port;
	char *dir, *cert, *outbox_log;
	pid_t haproxy;
	struct harness_gw gw[NGW];
	atomic_long answered;    /* webhooks answered 200 */
	atomic_long not_ok;      /* any other answer, or none: what the provider would have seen */
	atomic_long status_0, status_503, status_other;
};

struct client {
	struct up *up;
	int index;
};

static size_t
collect_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	char **buf = arg;
	size_t have = strlen(*buf), n = size * nmemb;

	*buf = xrealloc(*buf, have + n + 1);
	memcpy(*buf + have, ptr, n);
	(*buf)[have + n] = '\0';
	return n;
}

static size_t
discard_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * nmemb;
}

/* Gateways HAProxy's health check sees UP (its stats CSV). */
static int
servers_up(struct up *up)
{
	char *url = xasprintf("http://127.0.0.1:%d/stats;csv", up->stats_port), *body = xstrdup(""), *p;
	CURL *h = curl_easy_init();
	int n = 0;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 2L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	if (curl_easy_perform(h) == CURLE_OK) {
		for (p = body; (p = strstr(p, "carenav_gateways,gw")) != NULL; p++) {
			char *eol = strchr(p, '\n');

			if (eol != NULL)
				*eol = '\0';
			n += strstr(p, ",UP,") != NULL;
			if (eol != NULL)
				*eol = '\n';
		}
	}
	curl_easy_cleanup(h);
	free(body);
	free(url);
	return n;
}

/* The stats page's admin action on a gateway's server entries (gw1 and gw3 are gateway 1, gw2 gateway 2). */
static void
haproxy_admin(struct up *up, int gw, const char *action)
{
	char *url = xasprintf("http://127.0.0.1:%d/stats", up->stats_port), *body = xstrdup("");
	char *form = xasprintf("%saction=%s&b=carenav_gateways", gw == 0 ? "s=gw1&s=gw3&" : "s=gw2&", action);
	CURL *h = curl_easy_init();
	long status = 0;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 2L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	ck_assert_int_eq(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	ck_assert_msg(status == 303 || status == 200, "stats admin %s: %ld", action, status);
	curl_easy_cleanup(h);
	free(body);
	free(form);
	free(url);
}

static void
wait_servers_up(struct up *up, int want)
{
	for (int waited = 0; servers_up(up) < want; waited += 100) {
		ck_assert_msg(waited < 20000, "HAProxy never saw %d servers up", want);
		harness_sleep_ms(100);
	}
}

/* deploy/haproxy.cfg names three servers: the third is gateway 1 again (two of three entries go down at a time). */
static void
haproxy_start(struct up *up)
{
	char *log = xasprintf("%s/haproxy.log", up->dir), *cmd, *env[8] = { NULL };
	const char *cfg = getenv("CARENAV_HAPROXY_CFG");
	char *argv[] = { "haproxy", "-db", "-f", (char *)cfg, NULL };
	size_t n = 0;

	ck_assert_msg(cfg != NULL, "CARENAV_HAPROXY_CFG is not set (run through ctest)");
	cmd = xasprintf("openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 2 "
	    "-keyout %s/key.pem -out %s/cert.pem >/dev/null 2>&1 && cat %s/cert.pem %s/key.pem > %s",
	    up->dir, up->dir, up->dir, up->dir, up->cert);
	ck_assert_msg(system(cmd) == 0, "openssl could not make a test certificate");
	free(cmd);
	env[n++] = xasprintf("CARENAV_TLS_BIND=127.0.0.1:%d", up->tls_port);
	env[n++] = xasprintf("CARENAV_HTTP_BIND=127.0.0.1:%d", up->http_port);
	env[n++] = xasprintf("CARENAV_STATS_BIND=127.0.0.1:%d", up->stats_port);
	env[n++] = xasprintf("CARENAV_TLS_CERT=%s", up->cert);
	env[n++] = xasprintf("CARENAV_GW1=127.0.0.1:%d", up->gw[0].port);
	env[n++] = xasprintf("CARENAV_GW2=127.0.0.1:%d", up->gw[1].port);
	env[n++] = xasprintf("CARENAV_GW3=127.0.0.1:%d", up->gw[0].port);
	up->haproxy = harness_spawn(argv, &(struct harness_spawn_opts){ .log = log, .in_fd = -1,
	    .env = (const char *const *)env });
	for (size_t i = 0; i < n; i++)
		free(env[i]);
	wait_servers_up(up, 3);
	free(log);
}

static long
post_sms(CURL *h, struct up *up, const char *sid, const char *from, const char *body)
{
	char *ef = curl_easy_escape(h, from, 0), *et = curl_easy_escape(h, CLINIC, 0);
	char *eb = curl_easy_escape(h, body, 0);
	char *form = xasprintf("MessageSid=%s&From=%s&To=%s&Body=%s&NumMedia=0", sid, ef, et, eb);
	char *url = xasprintf("https://localhost:%d/sms/inbound", up->tls_port);
	long status = 0;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_free(ef);
	curl_free(et);
	curl_free(eb);
	free(form);
	free(url);
	return status;
}

static void *
client_thread(void *arg)
{
	struct client *c = arg;
	struct up *up = c->up;
	CURL *h = curl_easy_init();
	struct curl_slist *resolve = NULL, *headers = NULL;
	char entry[64], sid[32], from[32];

	snprintf(entry, sizeof entry, "localhost:%d:127.0.0.1", up->tls_port);
	resolve = curl_slist_append(resolve, entry);
	curl_easy_setopt(h, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(h, CURLOPT_CAINFO, up->cert);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_cb);
	headers = curl_slist_append(headers, "X-Sandbox-Secret: " SANDBOX_SECRET);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	for (int round = 0; round < ROUNDS; round++) {
		for (int p = c->index; p < PATIENTS; p += THREADS) {
			int tries = 0;

			snprintf(sid, sizeof sid, "SMup%04d%02d", p, round);
			snprintf(from, sizeof from, "+1555700%04d", p);
			/* A provider retries a non-200; each one is counted as a failure of the upgrade. */
			long st;

			while ((st = post_sms(h, up, sid, from, texts[round])) != 200 && ++tries < 200) {
				atomic_fetch_add(&up->not_ok, 1);
				atomic_fetch_add(st == 0 ? &up->status_0 : st == 503 ? &up->status_503 : &up->status_other, 1);
				harness_sleep_ms(20);
			}
			atomic_fetch_add(&up->answered, 1);
			harness_sleep_ms(10);
		}
	}
	curl_slist_free_all(resolve);
	curl_slist_free_all(headers);
	curl_easy_cleanup(h);
	return NULL;
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
	char *conninfo = harness_db_create(), *env[6], *out = NULL, *notes;
	struct client clients[THREADS];
	pthread_t threads[THREADS];
	struct up up;
	PGconn *pg;
	long long stored, rows, answered, steps, lines = 0;
	double t0, elapsed;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	json_t *seen = json_object();

	memset(&up, 0, sizeof up);
	up.dir = xasprintf("%s/upgrade-%d", getenv("CARENAV_TEST_VARDIR"), (int)getpid());
	ck_assert(mkdir(getenv("CARENAV_TEST_VARDIR"), 0755) == 0 || errno == EEXIST);
	ck_assert(mkdir(up.dir, 0755) == 0 || errno == EEXIST);
	up.cert = xasprintf("%s/carenav.pem", up.dir);
	up.outbox_log = xasprintf("%s/outbox.log", up.dir);
	up.tls_port = harness_free_port();
	up.http_port = harness_free_port();
	up.stats_port = harness_free_port();
	env[0] = xasprintf("SANDBOX_OUTBOX_LOG=%s", up.outbox_log);
	env[1] = xstrdup("LOG_LEVEL=info");
	env[2] = xstrdup("TRUSTED_PROXIES=127.0.0.1");
	env[3] = xstrdup("SANDBOX_WEBHOOK_SECRET=" SANDBOX_SECRET);
	env[4] = xstrdup("DB_POOL_SIZE=4");
	env[5] = NULL;
	for (int i = 0; i < NGW; i++)
		harness_gw_init(&up.gw[i], conninfo, (const char *const *)env);
	ck_assert_int_eq(harness_gw_cli(&up.gw[0], NULL, "migrate", NULL), 0);
	pg = harness_db_connect(conninfo);
	for (int i = 0; i < NGW; i++)
		harness_gw_start(&up.gw[i]);
	haproxy_start(&up);

	t0 = harness_now_s();
	for (int i = 0; i < THREADS; i++) {
		clients[i].up = &up;
		clients[i].index = i;
		pthread_create(&threads[i], NULL, client_thread, &clients[i]);
	}
	wait_answered(&up, MIGRATE_AT);
	apply_expand(pg);
	wait_answered(&up, REPLACE_AT);
	for (int i = 0; i < NGW; i++) {
		long before = atomic_load(&up.answered);

		/* Out of the balancer first, then drained and stopped, started, back in. */
		haproxy_admin(&up, i, "maint");
		ck_assert_int_eq(servers_up(&up), i == 0 ? 1 : 2);
		ck_assert_msg(harness_gw_stop(&up.gw[i]) == 0, "gateway %d did not drain cleanly; see %s", i + 1,
		    up.gw[i].log_path);
		harness_gw_start(&up.gw[i]);
		haproxy_admin(&up, i, "ready");
		wait_servers_up(&up, 3);
		/* Webhooks went on while it was replaced. */
		ck_assert_int_gt(atomic_load(&up.answered), before);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	elapsed = harness_now_s() - t0;
	ck_assert_int_eq(atomic_load(&up.answered), SENT);

	ck_assert_msg(harness_wait_int(pg, "SELECT count(*) FROM messages WHERE direction = 'in' "
	    "AND processed_at IS NULL", 0, SETTLE_MS), "texts left unanswered; see %s", up.gw[0].log_path);
	ck_assert_msg(harness_wait_int(pg, "SELECT count(*) FROM outbox WHERE state = 'pending'", 0, SETTLE_MS),
	    "replies left unsent; see %s", up.gw[0].log_path);
	stored = harness_query_int(pg, "SELECT count(DISTINCT provider_sid) FROM messages WHERE direction = 'in'");
	rows = harness_query_int(pg, "SELECT count(*) FROM messages WHERE direction = 'in'");
	answered = harness_query_int(pg, "SELECT count(*) FROM messages WHERE direction = 'in' "
	    "AND processed_at IS NOT NULL");
	steps = harness_query_int(pg, "SELECT coalesce(sum(version), 0) FROM conversations");
	/* Replies sent once: one sandbox log line per outbox row. */
	f = fopen(up.outbox_log, "r");
	ck_assert_ptr_nonnull(f);
	while (getline(&line, &cap, f) > 0) {
		json_t *o = json_loads(line, 0, NULL);
		const char *sid = json_string_value(json_object_get(o, "sid"));

		ck_assert_ptr_nonnull(sid);
		json_object_set_new(seen, sid, json_true());
		lines++;
		json_decref(o);
	}
	fclose(f);
	free(line);
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
	    "%ld other); %lld replies, each sent once; %.0f webhooks/s", MIGRATE_AT, atomic_load(&up.not_ok),
	    atomic_load(&up.status_0), atomic_load(&up.status_503), atomic_load(&up.status_other), lines, (double)SENT / elapsed);
	/* Only the normal build's run goes into docs/reliability.md (the sanitizer pass sets a scale). */
	if (getenv("CARENAV_FAULTS_SCALE") == NULL)
		harness_report_row("rolling restart of 2 gateways with an expand migration, under traffic", SENT,
		    stored, answered, (rows - stored) + (steps - answered) + (lines - (long long)json_object_size(seen)),
		    SENT - (answered < stored ? answered : stored), notes);
	fprintf(stderr, "check_upgrade: %s\n", notes);
	ck_assert_int_eq(atomic_load(&up.not_ok), 0);
	ck_assert_int_eq(stored, SENT);
	ck_assert_int_eq(rows, SENT);
	ck_assert_int_eq(answered, SENT);
	ck_assert_int_eq(steps, SENT);
	ck_assert_int_eq(lines, (long long)json_object_size(seen));
	ck_assert_int_eq(lines, harness_query_int(pg, "SELECT count(*) FROM outbox"));
	free(notes);
	json_decref(seen);

	kill(up.haproxy, SIGTERM);
	waitpid(up.haproxy, NULL, 0);
	for (int i = 0; i < NGW; i++) {
		ck_assert_int_eq(harness_gw_stop(&up.gw[i]), 0);
		harness_gw_free(&up.gw[i]);
	}
	for (int i = 0; env[i] != NULL; i++)
		free(env[i]);
	PQfinish(pg);
	free(up.dir);
	free(up.cert);
	free(up.outbox_log);
	free(conninfo);
}
END_TEST

int
main(void)
{
	const TTest *const tests[] = {
		test_rolling_upgrade_under_traffic,
	};
	int status;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	status = check_run("upgrade", 180, tests, sizeof tests / sizeof tests[0]);
	curl_global_cleanup();
	return status;
}
