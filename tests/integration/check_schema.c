/*
 * check_schema.c - the schema is main's, and upgrading keeps working.
 *
 * When the functions moved to sql/functions/ (commit 3b71c67), a fresh
 * install was proven identical to main's (the frozen db-022 dump) but for
 * the bookkeeping table schema_functions; from then on the schema may
 * change, and what is checked is that upgrades end where a fresh install
 * does. A database frozen at an older
 * version (tests/data/upgrade/db-014.sql.gz, db-022.sql.gz, made with main's
 * migrations before the functions moved to sql/functions/, holding texts, a
 * queued reply, an escalation and a nurse) is migrated by this tree's
 * "carenav migrate" and ends with exactly the schema of a fresh install
 * (sql/schema.sql, which ctest schema_current proves current), its rows
 * unchanged and still working. Migrating twice changes nothing.
 *
 * The function files: one whose text changed is applied again, an
 * unchanged one is not touched, an older release leaves a newer one's alone, one that must wait for a table's lock (its trigger) gives up
 * the lock queue and tries again, and gateways migrating a fresh database
 * at once all succeed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "xmalloc.h"

/* What must survive the upgrade: every row's identity and content, one string per table. */
static const char *const fingerprints[] = {
	"SELECT md5(string_agg(concat_ws('|', id, conversation_id, direction, body, provider, provider_sid, "
	"created_at), ',' ORDER BY id)) FROM messages",
	"SELECT md5(string_agg(concat_ws('|', id, patient_number, service_number, status), ',' ORDER BY id)) "
	"FROM conversations",
	"SELECT md5(string_agg(concat_ws('|', id, conversation_id, message_id, state), ',' ORDER BY id)) FROM outbox",
	"SELECT md5(string_agg(concat_ws('|', id, code, conversation_id, reason, matched, status), ',' ORDER BY id)) "
	"FROM escalations",
	"SELECT md5(string_agg(concat_ws('|', escalation_id, event, actor, at), ',' ORDER BY id)) FROM escalation_events",
	"SELECT md5(string_agg(concat_ws('|', s.name, s.phone, o.tier, o.starts_at, o.ends_at), ',' ORDER BY o.id)) "
	"FROM oncall_shifts o JOIN staff s ON s.id = o.staff_id",
	"SELECT md5(string_agg(concat_ws('|', provider, provider_sid, message_id), ',' ORDER BY message_id)) "
	"FROM inbound_ids",
};
#define N_FINGERPRINTS (sizeof fingerprints / sizeof fingerprints[0])

/* The whole output of cmd (caller frees); fails the test unless it exits 0. */
static char *
run_output(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t len = 0, cap = 65536;
	char *out = xmalloc(cap);
	size_t n;

	ck_assert_msg(p != NULL, "%s", cmd);
	while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (cap - len < 4096)
			out = xrealloc(out, cap *= 2);
	}
	out[len] = '\0';
	ck_assert_msg(pclose(p) == 0, "%s failed", cmd);
	return out;
}

/* The schema of conninfo (tools/schema-dump --database), written to path. */
static void
dump_schema(const char *conninfo, const char *path)
{
	char *cmd = xasprintf("'%s' --database '%s' >'%s'", getenv("CARENAV_SCHEMA_DUMP"), conninfo, path);

	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
	free(cmd);
}

/* Files a and b are the same; on a difference, the start of the diff is in the failure. */
static void
assert_same_file(const char *a, const char *b, const char *what)
{
	char *cmd = xasprintf("diff -u '%s' '%s' | head -60", a, b);
	char *diff = run_output(cmd);

	ck_assert_msg(diff[0] == '\0', "%s:\n%s", what, diff);
	free(diff);
	free(cmd);
}

/* The schema of conninfo equals sql/schema.sql. */
static void
assert_schema_current(const char *conninfo)
{
	char *path = xasprintf("%s/schema-%d.sql", getenv("CARENAV_TEST_VARDIR"), (int)getpid());

	dump_schema(conninfo, path);
	assert_same_file(getenv("CARENAV_SCHEMA_SQL"), path, "the upgraded schema differs from sql/schema.sql");
	unlink(path);
	free(path);
}

static void
migrate(const char *conninfo)
{
	struct harness_gw gw;
	char *out = NULL;

	harness_gw_init(&gw, conninfo, NULL);
	ck_assert_msg(harness_gw_cli(&gw, &out, "migrate", NULL) == 0, "%s", out);
	free(out);
	harness_gw_free(&gw);
}

static void
check_upgrade_from(const char *dump_name, long long applied_before)
{
	char *conninfo = harness_db_restore(dump_name), *before[N_FINGERPRINTS];
	PGconn *pg = harness_db_connect(conninfo);
	long long migrations;

	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM schema_migrations"), applied_before);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM messages"), 31);
	for (size_t i = 0; i < N_FINGERPRINTS; i++)
		before[i] = harness_query_text(pg, fingerprints[i]);

	migrate(conninfo);
	assert_schema_current(conninfo);
	migrations = harness_query_int(pg, "SELECT count(*) FROM schema_migrations");
	for (size_t i = 0; i < N_FINGERPRINTS; i++) {
		char *after = harness_query_text(pg, fingerprints[i]);

		ck_assert_msg(strcmp(before[i], after) == 0, "%s: changed by the upgrade", fingerprints[i]);
		free(after);
		free(before[i]);
	}
	/* Stored once across the upgrade; a new text still gets in. */
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM carenav_inbound_accept('twilio', 'SMfz003', "
	    "'+15551230003', '+15550000000', 'text 3', 0) WHERE NOT is_new"), 1);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM carenav_inbound_accept('twilio', 'SMfz999', "
	    "'+15551230003', '+15550000000', 'new', 0) WHERE is_new"), 1);

	/* A second migrate finds nothing to do and leaves the schema as it is. */
	migrate(conninfo);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM schema_migrations"), migrations);
	assert_schema_current(conninfo);
	PQfinish(pg);
	free(conninfo);
}

/* A function redefined behind migrate's back, as a stale or hand-edited database would have it. */
#define TAMPER "CREATE OR REPLACE FUNCTION carenav_mask_phone(p_phone text) RETURNS text " \
	"LANGUAGE sql AS $$ SELECT 'tampered' $$"
#define MASKED "SELECT count(*) FROM carenav_mask_phone('+15551234567') AS m WHERE m = 'tampered'"

START_TEST(test_function_files_reapplied_when_changed)
{
	char *conninfo = harness_db_create_empty();
	PGconn *pg;

	migrate(conninfo);
	pg = harness_db_connect(conninfo);
	/* Unchanged file: migrate does not look at the function itself. */
	PQclear(PQexec(pg, TAMPER));
	migrate(conninfo);
	ck_assert_int_eq(harness_query_int(pg, MASKED), 1);
	/* Applied by a newer release: left alone even though this binary's file differs. */
	PQclear(PQexec(pg, "UPDATE schema_functions SET sha256 = 'other', release = '999_newer.sql' "
	    "WHERE name = 'console.sql'"));
	migrate(conninfo);
	ck_assert_int_eq(harness_query_int(pg, MASKED), 1);
	/* A migration unknown to this binary (applied by hand, or by a newer one) does not stop it. */
	PQclear(PQexec(pg, "INSERT INTO schema_migrations (name) VALUES ('900_by_hand.sql')"));
	/* Applied by this release or an older one: the changed file is applied again, and only it. */
	PQclear(PQexec(pg, "UPDATE schema_functions SET release = '001_core.sql' WHERE name = 'console.sql'"));
	PQclear(PQexec(pg, "UPDATE schema_functions SET applied_at = '2000-01-01'"));
	migrate(conninfo);
	ck_assert_int_eq(harness_query_int(pg, MASKED), 0);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM schema_functions WHERE applied_at > '2000-01-01'"),
	    1);
	assert_schema_current(conninfo);
	PQfinish(pg);
	free(conninfo);
}
END_TEST

START_TEST(test_function_file_waits_for_table_lock)
{
	char *conninfo = harness_db_create_empty(), *out = NULL;
	char *argv[] = { "psql", "-X", "-q", "-d", conninfo, "-c",
		"BEGIN; LOCK TABLE conversations IN SHARE MODE; SELECT pg_sleep(3); COMMIT", NULL };
	struct harness_spawn_opts opts = { .in_fd = -1 };
	struct harness_gw gw;
	PGconn *pg;
	pid_t holder;
	double started;
	int status;

	migrate(conninfo);
	pg = harness_db_connect(conninfo);
	/* outbox.sql has changed, and its opt-out trigger needs conversations, which a long transaction holds. */
	PQclear(PQexec(pg, "UPDATE schema_functions SET sha256 = 'older' WHERE name = 'outbox.sql'"));
	holder = harness_spawn(argv, &opts);
	ck_assert(harness_wait_int(pg, "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
	    "WHERE c.relname = 'conversations' AND l.mode = 'ShareLock' AND l.granted", 1, 5000));
	started = harness_now_s();
	harness_gw_init(&gw, conninfo, NULL);
	ck_assert_msg(harness_gw_cli(&gw, &out, "migrate", NULL) == 0, "%s", out);
	ck_assert_msg(strstr(out, "functions/outbox.sql waits for a table lock; trying again") != NULL, "%s", out);
	ck_assert_msg(harness_now_s() - started >= 2.0, "%s", out);
	ck_assert_int_eq(harness_query_int(pg, "SELECT count(*) FROM schema_functions WHERE sha256 = 'older'"), 0);
	ck_assert_int_eq(waitpid(holder, &status, 0), holder);
	assert_schema_current(conninfo);
	free(out);
	harness_gw_free(&gw);
	PQfinish(pg);
	free(conninfo);
}
END_TEST

START_TEST(test_concurrent_migrate)
{
	enum { GATEWAYS = 3 };
	char *conninfo = harness_db_create_empty(), *url = xasprintf("DATABASE_URL=%s", conninfo);
	const char *env[] = { url, NULL };
	char *argv[] = { (char *)getenv("CARENAV_BIN"), "migrate", NULL };
	pid_t pids[GATEWAYS];
	struct harness_gw gw;

	harness_gw_init(&gw, conninfo, NULL);
	for (int i = 0; i < GATEWAYS; i++) {
		char *log = xasprintf("%s/migrate-%d.log", gw.var_dir, i);
		struct harness_spawn_opts opts = { .log = log, .in_fd = -1, .env = env };

		pids[i] = harness_spawn(argv, &opts);
		free(log);
	}
	for (int i = 0; i < GATEWAYS; i++) {
		int status;

		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "migrate %d failed; see %s/migrate-%d.log",
		    i, gw.var_dir, i);
	}
	assert_schema_current(conninfo);
	harness_gw_free(&gw);
	free(url);
	free(conninfo);
}
END_TEST

START_TEST(test_upgrade_from_014)
{
	check_upgrade_from("db-014.sql.gz", 14);
}
END_TEST

START_TEST(test_upgrade_from_022)
{
	check_upgrade_from("db-022.sql.gz", 21);
}
END_TEST

CHECK_RUN_MAIN("schema", 120, test_function_files_reapplied_when_changed,
    test_function_file_waits_for_table_lock, test_concurrent_migrate, test_upgrade_from_014,
    test_upgrade_from_022)
