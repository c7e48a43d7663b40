/*
 * flows.c - cache of parsed flow versions. See flows.h.
 */
#include "flows.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "flow.h"
#include "idmap.h"
#include "log.h"
#include "store.h"
#include "xmalloc.h"

struct flows {
	struct db *db;        /* borrowed */
	struct idmap *cache;  /* version id -> struct flow (owned) */
};

struct flows_fetch {
	struct flows *flows;
	int64_t version_id;
	flows_get_cb *cb;
	void *arg;
};

struct flows *
flows_new(struct db *db)
{
	struct flows *flows = xcalloc(1, sizeof *flows);

	flows->db = db;
	flows->cache = idmap_new();
	return flows;
}

static void
flows_free_one(void *value)
{
	flow_free(value);
}

void
flows_free(struct flows *flows)
{
	if (flows == NULL)
		return;
	idmap_free_values(flows->cache, flows_free_one);
	free(flows);
}

static void
flows_fetch_done(const PGresult *res, const char *error, void *arg)
{
	struct flows_fetch *f = arg;
	struct flow *flow = NULL;
	char *cause = NULL;

	if (error == NULL && PQntuples(res) == 0)
		error = "no such flow version";
	if (error == NULL) {
		const char *doc = store_col_text(res, 0, 0);

		/* A race may have cached it meanwhile; keep the first. */
		flow = idmap_get(f->flows->cache, f->version_id);
		if (flow == NULL) {
			flow = flow_load(doc, strlen(doc), &cause);
			if (flow != NULL)
				idmap_put(f->flows->cache, f->version_id, flow);
			else
				log_error("flows: stored version %" PRId64 " is invalid: %s", f->version_id, cause);
		}
	}
	f->cb(flow, flow ? NULL : (cause ? cause : error), f->arg);
	free(cause);
	free(f);
}

void
flows_get(struct flows *flows, int64_t version_id, flows_get_cb *cb, void *arg)
{
	struct flow *flow = idmap_get(flows->cache, version_id);
	struct flows_fetch *f;

	if (flow != NULL) {
		cb(flow, NULL, arg);
		return;
	}
	f = xcalloc(1, sizeof *f);
	f->flows = flows;
	f->version_id = version_id;
	f->cb = cb;
	f->arg = arg;
	store_flow_version(flows->db, version_id, flows_fetch_done, f);
}
