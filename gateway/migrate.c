/*
 * migrate.c - numbered migrations, tracked in schema_migrations. See migrate.h.
 *
 * Each migration runs in its own transaction together with its
 * schema_migrations row, so it is applied entirely or not at all. A
 * transaction-scoped advisory lock, taken first in each of those
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
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

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

/* Applies m unless it is already recorded, in one transaction under the migration lock. */
static bool
migrate_one(PGconn *pg, const struct embedded_file *m, char **cause)
{
	const char *params[] = { m->name };
	PGresult *res;
	char *err = NULL;
	bool applied;

	if (!migrate_exec(pg, "BEGIN", cause))
		return false;
	if (!migrate_exec(pg, "SET LOCAL client_min_messages = warning", cause) ||
	    !migrate_exec(pg, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", cause) ||
	    !migrate_exec(pg, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", cause) ||
	    !migrate_is_applied(pg, m->name, &applied, cause))
		goto rollback;
	if (applied)
		return migrate_exec(pg, "COMMIT", cause);
	if (!migrate_exec(pg, m->data, &err)) {
		*cause = xasprintf("%s: %s", m->name, err);
		free(err);
		goto rollback;
	}
	res = PQexecParams(pg, "INSERT INTO schema_migrations (name) VALUES ($1)", 1, NULL, params,
	    NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*cause = xasprintf("%s: %s", m->name, PQresultErrorMessage(res));
		PQclear(res);
		goto rollback;
	}
	PQclear(res);
	if (!migrate_exec(pg, "COMMIT", cause))
		return false;
	log_info("migrate: applied %s", m->name);
	return true;
rollback:
	PQclear(PQexec(pg, "ROLLBACK"));
	return false;
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

bool
migrate_apply(PGconn *pg, char **cause)
{
	for (const struct embedded_file *m = embedded_migrations; m->name != NULL; m++) {
		if (!migrate_one(pg, m, cause))
			return false;
	}
	return migrate_titles(pg, cause);
}
