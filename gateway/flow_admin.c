/*
 * flow_admin.c - validating and storing flow versions. See flow_admin.h.
 */
#include "flow_admin.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "flow.h"
#include "log.h"
#include "store.h"
#include "store_admin.h"
#include "xmalloc.h"

/* Hex SHA-256 of the document, so operators can tell versions apart. */
static void
flow_admin_sha256(const char *doc, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(doc, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

static bool
flow_admin_exec(PGconn *pg, const char *sql, int n, const char *const *params, PGresult **out,
    char **cause)
{
	PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		*cause = xstrdup(PQresultErrorMessage(res));
		PQclear(res);
		return false;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return true;
}

bool
flow_admin_load(PGconn *pg, const char *doc, size_t len, int *version, char **name, char **cause)
{
	struct flow *flow = flow_load(doc, len, cause);
	char sha[65], *text;
	const char *params[3];
	PGresult *res;
	bool ok;

	if (flow == NULL)
		return false;
	*name = xstrdup(flow_name(flow));
	flow_free(flow);
	flow_admin_sha256(doc, len, sha);
	text = xstrndup(doc, len);
	params[0] = *name;
	params[1] = text;
	params[2] = sha;
	/* One statement: the flow row (first load only) and the next version number. */
	ok = flow_admin_exec(pg, store_admin_flow_add_sql, 3, params, &res, cause);
	free(text);
	if (!ok) {
		free(*name);
		*name = NULL;
		return false;
	}
	*version = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return true;
}

bool
flow_admin_shipped(PGconn *pg, const struct embedded_file *f, struct flow_admin_status *st, char **cause)
{
	struct flow *flow = flow_load(f->data, f->len, cause), *stored;
	char sha[65], *why = NULL;
	const char *params[2], *missing;
	int col[FLOW_NEWEST_NCOLS];
	PGresult *res;

	memset(st, 0, sizeof *st);
	if (flow == NULL) {
		why = xasprintf("compiled-in flow %s: %s", f->name, *cause);
		free(*cause);
		*cause = why;
		return false;
	}
	flow_admin_sha256(f->data, f->len, sha);
	params[0] = flow_name(flow);
	params[1] = sha;
	(void)snprintf(st->name, sizeof st->name, "%s", flow_name(flow));
	if (!flow_admin_exec(pg, store_admin_flow_newest_sql, 2, params, &res, cause)) {
		flow_free(flow);
		return false;
	}
	if (!store_col_lookup(res, store_admin_flow_newest_columns, col, &missing)) {
		*cause = xasprintf("flow versions: the query has no column %s", missing);
		flow_free(flow);
		PQclear(res);
		return false;
	}
	if (PQntuples(res) == 0) {
		st->state = FLOW_SHIPPED_MISSING;
	} else {
		const char *document = store_col_text(res, 0, col[FLOW_NEWEST_DOCUMENT]);
		const char *stored_sha = store_col_text(res, 0, col[FLOW_NEWEST_SHA256]);

		st->version = (int)store_col_int64(res, 0, col[FLOW_NEWEST_VERSION]);
		stored = flow_load(document, strlen(document), &why);
		if (stored == NULL) {
			st->state = FLOW_SHIPPED_BROKEN;
			(void)snprintf(st->why, sizeof st->why, "%s", why);
		} else if (strcmp(stored_sha, sha) == 0 || flow_replaces(stored, sha)) {
			st->state = FLOW_SHIPPED_CURRENT; /* this shipped version, or a newer one */
		} else if (flow_replaces(flow, stored_sha)) {
			st->state = FLOW_SHIPPED_UPGRADE;
		} else {
			/* Edited here: is this shipped version news to the database? */
			st->state = store_col_bool(res, 0, col[FLOW_NEWEST_SHA_STORED]) ? FLOW_SHIPPED_EDITED :
			    FLOW_SHIPPED_EDITED_NEWER;
		}
		free(why);
		flow_free(stored);
	}
	flow_free(flow);
	PQclear(res);
	return true;
}

/* Arbitrary constant naming "carenav flow seeding" for pg_advisory_xact_lock. */
#define FLOW_ADMIN_LOCK_KEY "727466"

/*
 * Loads a compiled-in flow when its name has no version yet, when the newest
 * stored version is an unmodified earlier shipped one (listed in the new
 * document's "replaces"), or when it no longer passes this binary's
 * validation: the gateway must never be left with a flow it cannot run. A
 * flow a clinic edited is kept. Conversations in flight finish on the
 * version they started on.
 */
static bool
flow_admin_seed_locked(PGconn *pg, char **cause)
{
	for (const struct embedded_file *f = embedded_flows; f->name != NULL; f++) {
		struct flow_admin_status st;
		char *name = NULL;
		int version;

		if (!flow_admin_shipped(pg, f, &st, cause))
			return false;
		switch (st.state) {
		case FLOW_SHIPPED_CURRENT:
		case FLOW_SHIPPED_EDITED:
			continue;
		case FLOW_SHIPPED_EDITED_NEWER:
			log_info("flow: %s version %d was edited here, so it stays; a newer shipped flow (%s) "
			    "exists: see \"carenav doctor\"", st.name, st.version, f->name);
			continue;
		case FLOW_SHIPPED_BROKEN:
			log_warn("flow: the newest stored %s no longer loads (%s); storing the compiled-in "
			    "one as a new version", st.name, st.why);
			break;
		case FLOW_SHIPPED_UPGRADE:
		case FLOW_SHIPPED_MISSING:
			break;
		}
		if (!flow_admin_load(pg, f->data, f->len, &version, &name, cause))
			return false;
		if (st.state == FLOW_SHIPPED_UPGRADE)
			log_info("flow: %s version %d was an unmodified shipped flow; loaded the new shipped one "
			    "from %s as version %d", name, st.version, f->name, version);
		else
			log_info("flow: loaded %s version %d from %s", name, version, f->name);
		free(name);
	}
	return true;
}

bool
flow_admin_seed(PGconn *pg, char **cause)
{
	bool ok;

	/*
	 * Gateways starting together must not each load version 1. The lock is
	 * transaction-scoped so this also works through a transaction pooler
	 * (PgBouncer), where a session lock could be left behind on a server
	 * connection.
	 */
	if (!flow_admin_exec(pg, "BEGIN", 0, NULL, NULL, cause))
		return false;
	if (!flow_admin_exec(pg, "SELECT pg_advisory_xact_lock(" FLOW_ADMIN_LOCK_KEY ")", 0, NULL, NULL, cause)) {
		PQclear(PQexec(pg, "ROLLBACK"));
		return false;
	}
	ok = flow_admin_seed_locked(pg, cause);
	if (ok)
		ok = flow_admin_exec(pg, "COMMIT", 0, NULL, NULL, cause);
	else
		PQclear(PQexec(pg, "ROLLBACK"));
	return ok;
}
