/*
 * migrate.c - numbered migrations, tracked in schema_migrations, then the
 * function files, tracked in schema_functions. See migrate.h and sql/README.md.
 *
 * Each migration runs in its own transaction together with its
 * schema_migrations row, so it is applied entirely or not at all; so does
 * each function file (sql/functions/<area>.sql) with its schema_functions
 * row, which holds the SHA-256 of the text applied, so an unchanged file
 * costs one lookup and takes no lock on any table. A file is applied again
 * when its text changed, and every file when this run applied a migration
 * (a migration may drop a function whose signature changes). The row also
 * names the release that applied the file (the newest migration that binary
 * has); an older binary, such as one restarted during a rolling upgrade,
 * leaves a file a newer one applied alone, so it cannot put back an older
 * definition. Function bodies are not checked against the schema while a
 * file is applied (check_function_bodies = off, as pg_dump does), so a file
 * need not order its functions by who calls whom. A file that (re)creates
 * a trigger takes its table's lock: like a migration applied under traffic
 * (docs/operations.md) it waits at most MIGRATE_LOCK_TIMEOUT for it, then
 * rolls back and tries again.
 *
 * Once a run has applied a migration, carenav_partitions_ensure(3) makes
 * this month's partitions and the next three's (sql/010_partitions.sql did
 * it itself while it still defined the function).
 *
 * A transaction-scoped advisory lock, taken first in each of those
 * transactions, makes gateways that start together apply them once. It is
 * transaction-scoped (not a session lock) so that startup also works
 * through PgBouncer in transaction pooling, where consecutive statements
 * may run on different server connections and a session lock taken on one
 * would never be released.
 */
#include "migrate.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db_hosts.h"
#include "embedded.h"
#include "log.h"
#include "xmalloc.h"

/* Arbitrary constant naming "carenav migrations" for pg_advisory_lock. */
#define MIGRATE_LOCK_KEY "727465"
/*
 * A function file that (re)creates a trigger waits for its table's lock at
 * most this long, so that webhooks never queue behind it for longer; it
 * then rolls back and tries again, up to MIGRATE_FUNCTION_TRIES times.
 */
#define MIGRATE_LOCK_TIMEOUT "'2s'"
#define MIGRATE_FUNCTION_TRIES 30

/* True unless pg answers that it takes writes (db_hosts.h says why libpq's word is not enough). */
static bool
migrate_is_read_only(PGconn *pg)
{
	PGresult *res = PQexec(pg, "SHOW transaction_read_only");
	bool read_only = PQresultStatus(res) != PGRES_TUPLES_OK || strcmp(PQgetvalue(res, 0, 0), "off") != 0;

	PQclear(res);
	return read_only;
}

PGconn *
migrate_connect(const char *conninfo, int wait_seconds, char **cause)
{
	char *why = NULL;
	struct db_hosts *hosts = db_hosts_new(conninfo, &why);
	size_t first = 0;
	bool read_only;

	if (hosts == NULL) {
		*cause = xasprintf("DATABASE_URL: %s", why);
		free(why);
		return NULL;
	}
	for (int attempt = 1;; attempt++) {
		PGconn *pg = PQconnectdbParams(db_hosts_keywords(hosts), db_hosts_values(hosts, first), 0);

		if (PQstatus(pg) == CONNECTION_OK && !migrate_is_read_only(pg)) {
			db_hosts_free(hosts);
			return pg;
		}
		read_only = PQstatus(pg) == CONNECTION_OK;
		if (read_only) {
			size_t reached = db_hosts_find(hosts, PQhost(pg), PQport(pg));

			why = xasprintf("%s:%s is read-only (a standby)", PQhost(pg), PQport(pg));
			/* The next attempt starts after the host reached. */
			first = (reached < db_hosts_count(hosts) ? reached : first) + 1;
		} else {
			why = xstrdup(PQerrorMessage(pg));
			why[strcspn(why, "\n")] = '\0';
		}
		PQfinish(pg);
		/* A host found read-only lets the next one have its turn, even with no time to wait. */
		if (attempt >= wait_seconds * 4 && !(read_only && attempt < (int)db_hosts_count(hosts))) {
			*cause = xasprintf("cannot connect to PostgreSQL: %s", why);
			free(why);
			db_hosts_free(hosts);
			return NULL;
		}
		free(why);
		usleep(250 * 1000);
	}
}

static bool
migrate_exec(PGconn *pg, const char *sql, char **cause)
{
	PGresult *res = PQexec(pg, sql);
	/* A migration whose functions moved to sql/functions/ may hold only its comments. */
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK ||
	    PQresultStatus(res) == PGRES_EMPTY_QUERY;

	if (!ok)
		*cause = xstrdup(PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

/* One parameterised statement that returns no rows. */
static bool
migrate_write(PGconn *pg, const char *sql, int nparams, const char *const *params, char **cause)
{
	PGresult *res = PQexecParams(pg, sql, nparams, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		*cause = xstrdup(PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

static bool
migrate_is_applied(PGconn *pg, const char *name, bool *applied, char **cause)
{
	const char *params[] = { name };
	PGresult *res = PQexecParams(pg, "SELECT 1 FROM schema_migrations WHERE name = $1", 1, NULL,
	    params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		*cause = xstrdup(PQresultErrorMessage(res));
		PQclear(res);
		return false;
	}
	*applied = PQntuples(res) > 0;
	PQclear(res);
	return true;
}

/* Ends migrate_begin's transaction: COMMIT when ok (false if that fails), else ROLLBACK and false. */
static bool
migrate_end(PGconn *pg, bool ok, char **cause)
{
	if (ok)
		return migrate_exec(pg, "COMMIT", cause);
	PQclear(PQexec(pg, "ROLLBACK"));
	return false;
}

/*
 * Ends a step's transaction once its SQL and bookkeeping ran: when ok, COMMIT and log "applied
 * DIR NAME"; else ROLLBACK, with *cause "DIR NAME: err". Takes err (NULL when ok) and frees it.
 */
static bool
migrate_finish(PGconn *pg, bool ok, const char *dir, const char *name, char *err, char **cause)
{
	if (!ok) {
		*cause = xasprintf("%s%s: %s", dir, name, err);
		free(err);
		return migrate_end(pg, false, cause);
	}
	if (!migrate_end(pg, true, cause))
		return false;
	log_info("migrate: applied %s%s", dir, name);
	return true;
}

/* Opens a transaction holding the migration lock, with the bookkeeping tables in place. */
static bool
migrate_begin(PGconn *pg, char **cause)
{
	if (!migrate_exec(pg, "BEGIN", cause))
		return false;
	if (migrate_exec(pg, "SET LOCAL client_min_messages = warning", cause) &&
	    migrate_exec(pg, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", cause) &&
	    migrate_exec(pg, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", cause) &&
	    migrate_exec(pg, "CREATE TABLE IF NOT EXISTS schema_functions (name text PRIMARY KEY, "
	    "sha256 text NOT NULL, release text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())", cause))
		return true;
	return migrate_end(pg, false, cause);
}

/*
 * Applies m unless it is already recorded, in one transaction under the
 * migration lock; *applied says whether it was.
 */
static bool
migrate_one(PGconn *pg, const struct embedded_file *m, bool *applied, char **cause)
{
	const char *params[] = { m->name };
	char *err = NULL;
	bool done, ok;

	*applied = false;
	if (!migrate_begin(pg, cause))
		return false;
	if (!migrate_is_applied(pg, m->name, &done, cause))
		return migrate_end(pg, false, cause);
	if (done)
		return migrate_end(pg, true, cause);
	ok = migrate_exec(pg, m->data, &err) &&
	    migrate_write(pg, "INSERT INTO schema_migrations (name) VALUES ($1)", 1, params, &err);
	*applied = migrate_finish(pg, ok, "", m->name, err, cause);
	return *applied;
}

/* The compiled-in rule titles (sql/triage/titles.json) into triage_titles; unchanged ones write nothing. */
static bool
migrate_titles(PGconn *pg, char **cause)
{
	const struct embedded_file *f = embedded_find(embedded_triage, "titles.json");
	const char *params[1];
	PGresult *res;
	bool ok;

	if (f == NULL)
		return true;
	params[0] = f->data;
	res = PQexecParams(pg, "SELECT carenav_titles_load($1::jsonb)", 1, NULL, params, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		*cause = xasprintf("storing titles.json: %s", PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

#define MIGRATE_SHA256 "encode(sha256(convert_to($2, 'UTF8')), 'hex')"

/* This binary's release: the name of its newest migration. */
static const char *
migrate_release(void)
{
	const char *last = "";

	for (const struct embedded_file *m = embedded_migrations; m->name != NULL; m++)
		last = m->name;
	return last;
}

/*
 * Applies the function file f when force is set or its text changed, unless
 * a newer release applied it, in one transaction under the lock; *busy says that it failed only for a table
 * lock it could not have in time (or a deadlock), so it is worth a retry.
 */
static bool
migrate_function_file(PGconn *pg, const struct embedded_file *f, bool force, bool *busy, char **cause)
{
	const char *params[] = { f->name, f->data, migrate_release() };
	const char *state;
	PGresult *res;
	char *err = NULL;
	bool same, newer, ok;

	*busy = false;
	if (!migrate_begin(pg, cause))
		return false;
	if (!migrate_exec(pg, "SET LOCAL check_function_bodies = off", cause) ||
	    !migrate_exec(pg, "SET LOCAL lock_timeout = " MIGRATE_LOCK_TIMEOUT, cause))
		return migrate_end(pg, false, cause);
	res = PQexecParams(pg, "SELECT sha256 = " MIGRATE_SHA256 ", release > $3, release FROM schema_functions "
	    "WHERE name = $1", 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		*cause = xasprintf("functions/%s: %s", f->name, PQresultErrorMessage(res));
		PQclear(res);
		return migrate_end(pg, false, cause);
	}
	same = PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	newer = PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	if (newer && !same)
		log_info("migrate: functions/%s was applied by release %s, newer than this binary's %s: left as it is",
		    f->name, PQgetvalue(res, 0, 2), params[2]);
	PQclear(res);
	if (newer || (same && !force))
		return migrate_end(pg, true, cause);
	res = PQexec(pg, f->data);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		/* 55P03 lock_not_available (lock_timeout), 40P01 deadlock_detected */
		*busy = state != NULL && (strcmp(state, "55P03") == 0 || strcmp(state, "40P01") == 0);
		*cause = xasprintf("functions/%s: %s", f->name, PQresultErrorMessage(res));
		PQclear(res);
		return migrate_end(pg, false, cause);
	}
	PQclear(res);
	ok = migrate_write(pg, "INSERT INTO schema_functions (name, sha256, release) VALUES ($1, " MIGRATE_SHA256
	    ", $3) ON CONFLICT (name) DO UPDATE SET sha256 = EXCLUDED.sha256, release = EXCLUDED.release, "
	    "applied_at = now()", 3, params, &err);
	return migrate_finish(pg, ok, "functions/", f->name, err, cause);
}

bool
migrate_apply(PGconn *pg, char **cause)
{
	bool migrated = false, applied, busy;

	for (const struct embedded_file *m = embedded_migrations; m->name != NULL; m++) {
		if (!migrate_one(pg, m, &applied, cause))
			return false;
		migrated = migrated || applied;
	}
	for (const struct embedded_file *f = embedded_functions; f->name != NULL; f++) {
		for (int attempt = 1; !migrate_function_file(pg, f, migrated, &busy, cause); attempt++) {
			if (!busy || attempt == MIGRATE_FUNCTION_TRIES)
				return false;
			log_info("migrate: functions/%s waits for a table lock; trying again", f->name);
			free(*cause);
			*cause = NULL;
			usleep(500 * 1000);
		}
	}
	/* Then gateway/lifecycle.c keeps them ahead, hourly. */
	if (migrated && !migrate_exec(pg, "SELECT carenav_partitions_ensure(3)", cause))
		return false;
	return migrate_titles(pg, cause);
}
