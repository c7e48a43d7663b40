/*
 * check_failover.c - database failover with pg_auto_failover: a monitor
 * and two PostgreSQL nodes on loopback (deploy/pg-failover), the primary
 * with a synchronous standby. The gateway connects with a multi-host URL
 * and target_session_attrs=read-write. During a stream of webhooks the
 * standby is promoted as deploy/README.md says a planned failover is done
 * (deploy/pg-failover failover: the gateways fenced off the old primary,
 * pg_autoctl perform failover, the fence lifted); the gateway loses its
 * connections, spools what arrives meanwhile, finds the new primary and
 * replays. Without the fence pg_auto_failover 2.0 can leave the old primary
 * writable with synchronous replication off mid-failover (upstream issue
 * #774): one run in a dozen lost texts it had acknowledged. Checked: no
 * acknowledged message lost, none stored or answered twice, replies
 * delivered once, and the gateway counted its reconnects.
 *
 * The same again with a PgBouncer (transaction pooling) in front of each
 * node and the gateway's multi-host URL naming the two PgBouncers. After a
 * failover PgBouncer keeps reporting the read-only state it saw first
 * (gateway/db_hosts.h), so this checks that the gateway finds the new
 * primary by asking, not by believing the pooler.
 * The measured rows go to the build's reliability.md.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "xmalloc.h"

#define PATIENTS 60
#define MIN_SENT 600          /* webhooks at least; more if the failover is still running */
#define FAILOVER_AT 150       /* webhooks answered before the failover starts */
#define SETTLE_MS 90000
#define CLINIC "+15550001111"

static const char *const texts[] = { "hi my back hurts", "no", "3", "about a week", "no", "no",
	"no", "no", "1", "2", "thanks" };
#define NTEXTS (sizeof texts / sizeof texts[0])

struct failover {
	const char *script;   /* deploy/pg-failover */
	char *dir;            /* owned: the formation's directory */
	atomic_long *answered;
	atomic_bool done;
	int rc;
	double took_s;
};

/* The formations' directories, named in main() so main can stop them after a failed test too. */
static char *formation_dir[2];
enum route { ROUTE_DIRECT, ROUTE_PGBOUNCER };

static bool
port_free(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;

	close(fd);
	return ok;
}

/* Three consecutive free loopback ports: the monitor's and the two nodes'. */
static int
free_port_triple(void)
{
	for (int tries = 0; tries < 50; tries++) {
		int p = harness_free_port();

		if (p < 65000 && port_free(p + 1) && port_free(p + 2))
			return p;
	}
	ck_abort_msg("no three free consecutive ports");
	return 0;
}

static int
run(const char *script, const char *verb, const char *dir, const char *extra)
{
	char *cmd = xasprintf("%s %s %s %s >>%s/script.log 2>&1", script, verb, dir, extra ? extra : "", dir);
	int rc = system(cmd);

	free(cmd);
	return rc;
}

static void *
failover_thread(void *arg)
{
	struct failover *f = arg;
	double t0;

	while (atomic_load(f->answered) < FAILOVER_AT)
		harness_sleep_ms(10);
	t0 = harness_now_s();
	f->rc = run(f->script, "failover", f->dir, NULL);
	f->took_s = harness_now_s() - t0;
	atomic_store(&f->done, true);
	return NULL;
}

/* The value of a metric line "name value" in a /metrics page (-1 if absent). */
static long long
metric(const char *page, const char *name)
{
	char *needle = xasprintf("\n%s ", name);
	const char *p = strstr(page, needle);
	long long v = p ? atoll(p + strlen(needle)) : -1;

	free(needle);
	return v;
}

static void
failover_mid_stream(enum route route)
{
	const char *script = getenv("CARENAV_PG_FAILOVER");
	struct failover f = { 0 };
	atomic_long answered = 0;
	struct harness_gw gw;
	pthread_t t;
	PGconn *pg;
	char *url, *gw_url, *metrics = NULL, *notes, *extra, *scenario, from[32], sid[32];
	int bouncer_port[2] = { 0, 0 };
	pid_t bouncer[2] = { 0, 0 };
	const char *env[] = { "LOG_LEVEL=info", "PROVIDER_TIMEOUT_MS=1000", NULL };
	long sent = 0, not_ok = 0, primary_port;
	struct harness_inbound in;
	int base;

	ck_assert_msg(script != NULL, "CARENAV_PG_FAILOVER is not set (run through ctest)");
	f.dir = xstrdup(formation_dir[route]);
	ck_assert(mkdir(getenv("CARENAV_TEST_VARDIR"), 0755) == 0 || errno == EEXIST);
	ck_assert(mkdir(f.dir, 0755) == 0 || errno == EEXIST);
	base = free_port_triple();
	extra = xasprintf("%d", base);
	ck_assert_msg(run(script, "start", f.dir, extra) == 0, "pg_auto_failover did not start; see %s", f.dir);
	free(extra);
	url = xasprintf("postgresql://carenav@127.0.0.1:%d,127.0.0.1:%d/carenav?target_session_attrs=read-write"
	    "&connect_timeout=2", base + 1, base + 2);
	gw_url = xstrdup(url);
	if (route == ROUTE_PGBOUNCER) {
		for (int i = 0; i < 2; i++) {
			char *name = xasprintf("pgbouncer%d", i + 1), *server = xasprintf("host=127.0.0.1 port=%d",
			    base + 1 + i);

			bouncer[i] = harness_pgbouncer_start(f.dir, name, server, "carenav", 6, &bouncer_port[i]);
			free(name);
			free(server);
		}
		free(gw_url);
		gw_url = xasprintf("postgresql://carenav@127.0.0.1:%d,127.0.0.1:%d/carenav?"
		    "target_session_attrs=read-write&connect_timeout=2", bouncer_port[0], bouncer_port[1]);
	}

	harness_gw_init(&gw, gw_url, env);
	harness_gw_start(&gw);
	pg = harness_db_connect(url);
	ck_assert_int_eq(harness_query_int(pg, "SELECT inet_server_port()"), base + 1);
	metrics = harness_query_text(pg, "SELECT current_setting('synchronous_standby_names')");
	ck_assert_msg(strstr(metrics, "pgautofailover_standby") != NULL, "the standby is not synchronous: %s", metrics);
	free(metrics);
	metrics = NULL;
	PQfinish(pg);

	f.script = script;
	f.answered = &answered;
	pthread_create(&t, NULL, failover_thread, &f);
	/* A steady stream, each patient's texts in order, every webhook retried until its 200. */
	while (sent < MIN_SENT || !atomic_load(&f.done)) {
		int p = (int)(sent % PATIENTS), round = (int)(sent / PATIENTS);

		snprintf(sid, sizeof sid, "SMfo%02d%04d", p, round);
		snprintf(from, sizeof from, "+1555900%04d", p);
		for (int tries = 0; harness_post_sms(gw.port, sid, from, CLINIC, texts[round % NTEXTS]) != 200;
		    tries++) {
			not_ok++;
			ck_assert_msg(tries < 1000, "webhook %s never accepted; see %s", sid, gw.log_path);
			harness_sleep_ms(20);
		}
		sent++;
		atomic_fetch_add(&answered, 1);
		harness_sleep_ms(10);
	}
	pthread_join(t, NULL);
	ck_assert_msg(f.rc == 0, "pg_autoctl perform failover failed; see %s/script.log", f.dir);

	/* The new primary is the former standby; everything acknowledged is there, once. */
	pg = harness_db_connect(url);
	primary_port = harness_query_int(pg, "SELECT inet_server_port()");
	ck_assert_int_eq(primary_port, base + 2);
	{
		char *sql = xasprintf("SELECT count(*) FROM messages WHERE direction = 'in' AND processed_at IS NOT NULL "
		    "HAVING count(*) >= %ld", sent);

		ck_assert_msg(harness_wait_int(pg, sql, sent, SETTLE_MS), "acknowledged texts missing or unanswered; see %s",
		    gw.log_path);
		free(sql);
	}
	ck_assert_msg(harness_wait_int(pg, "SELECT count(*) FROM outbox WHERE state = 'pending'", 0, SETTLE_MS),
	    "replies left unsent; see %s", gw.log_path);
	harness_inbound_tally(pg, &in);
	ck_assert_int_eq(in.stored, sent);
	ck_assert_int_eq(in.rows, sent);
	ck_assert_int_eq(in.answered, sent);
	ck_assert_int_eq(in.steps, sent);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM outbox WHERE state <> 'done'"), 0);
	ck_assert_int_eq(harness_get(gw.port, "/metrics", &metrics), 200);
	ck_assert_msg(metric(metrics, "carenav_database_reconnects_total") > 0, "%s", metrics);

	notes = xasprintf("pg_auto_failover: primary + synchronous standby + monitor on loopback; standby promoted "
	    "(the gateways fenced off the old primary, pg_autoctl perform failover, the fence lifted: %.1f s) after %d "
	    "acknowledged webhooks; gateway on a multi-host URL "
	    "with target_session_attrs=read-write%s: %lld connections lost, %lld re-established, %lld texts spooled "
	    "during the switch, %ld non-200 answers retried", f.took_s, FAILOVER_AT,
	    route == ROUTE_PGBOUNCER ? " naming one PgBouncer (transaction pooling) per node" : "",
	    metric(metrics, "carenav_database_connections_lost_total"),
	    metric(metrics, "carenav_database_reconnects_total"), metric(metrics, "carenav_inbound_spooled_total"),
	    not_ok);
	scenario = xstrdup(route == ROUTE_PGBOUNCER ? "PostgreSQL failover through PgBouncer (one per node)" :
	    "PostgreSQL failover (standby promoted mid-stream)");
	harness_report_row(scenario, sent, in.stored, in.answered, (in.rows - in.stored) + (in.steps - in.answered),
	    sent - (in.answered < in.stored ? in.answered : in.stored), notes);
	free(scenario);
	fprintf(stderr, "check_failover: %s\n", notes);
	free(notes);
	free(metrics);
	PQfinish(pg);
	harness_gw_stop_clean(&gw);
	harness_gw_free(&gw);
	for (int i = 0; i < 2; i++) {
		if (bouncer[i] > 0) {
			kill(bouncer[i], SIGTERM);
			waitpid(bouncer[i], NULL, 0);
		}
	}
	run(script, "stop", f.dir, NULL);
	free(url);
	free(gw_url);
	free(f.dir);
}

START_TEST(test_failover_mid_stream)
{
	failover_mid_stream(ROUTE_DIRECT);
}
END_TEST

START_TEST(test_failover_through_pgbouncer)
{
	failover_mid_stream(ROUTE_PGBOUNCER);
}
END_TEST

int
main(void)
{
	int status;

	formation_dir[ROUTE_DIRECT] = xasprintf("%s/failover-%d", getenv("CARENAV_TEST_VARDIR"), (int)getpid());
	formation_dir[ROUTE_PGBOUNCER] = xasprintf("%s/failover-pgbouncer-%d", getenv("CARENAV_TEST_VARDIR"),
	    (int)getpid());
	status = CHECK_RUN("failover", 400, test_failover_mid_stream, test_failover_through_pgbouncer);
	/* pg_autoctl runs detached from the test: stop it even when the test failed half-way. */
	for (int i = 0; i < 2; i++) {
		if (getenv("CARENAV_PG_FAILOVER") != NULL) {
			char *cmd = xasprintf("%s stop %s >/dev/null 2>&1", getenv("CARENAV_PG_FAILOVER"),
			    formation_dir[i]);

			if (system(cmd) != 0)
				fprintf(stderr, "check_failover: could not stop the formation in %s\n", formation_dir[i]);
			free(cmd);
		}
		free(formation_dir[i]);
	}
	return status;
}
