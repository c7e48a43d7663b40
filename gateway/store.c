/*
 * store.c - the gateway's SQL, one typed call per statement. See store.h.
 *
 * Parameters travel as text (PQsendQueryParams with no types): PostgreSQL
 * casts them to each function's declared argument types.
 */
#include "store.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define I64(buf, v) (snprintf((buf), sizeof(buf), "%" PRId64, (int64_t)(v)), (buf))

void
store_query_ints(struct db *db, const char *sql, int n, const int64_t *values, db_result_cb *cb, void *arg)
{
	char text[STORE_INT_PARAMS_MAX][24];
	const char *params[STORE_INT_PARAMS_MAX];

	assert(n >= 0 && n <= STORE_INT_PARAMS_MAX);
	for (int i = 0; i < n; i++)
		params[i] = I64(text[i], values[i]);
	db_query(db, sql, n, params, cb, arg);
}

const char *const store_accept_columns[ACCEPT_NCOLS + 1] = {
	[ACCEPT_MESSAGE_ID] = "message_id", [ACCEPT_CONVERSATION_ID] = "conversation_id", [ACCEPT_IS_NEW] = "is_new",
};

void
store_inbound_accept(struct db *db, const struct store_inbound *in, db_result_cb *cb, void *arg)
{
	char media[24];
	const char *params[] = { in->provider, in->sid, in->from, in->to, in->body,
		I64(media, in->num_media), in->opt_out_type };

	db_query(db, "SELECT message_id, conversation_id, is_new "
	    "FROM carenav_inbound_accept($1, $2, $3, $4, $5, $6, $7)", 7, params, cb, arg);
}

void
store_delivery_report(struct db *db, const char *provider, const char *sid, const char *status,
    const char *error_code, db_result_cb *cb, void *arg)
{
	const char *params[] = { provider, sid, status, error_code };

	db_query(db, "SELECT carenav_delivery_report($1, $2, $3, $4)", 4, params, cb, arg);
}

/* Each subquery is served by a partial index (outbox_pending, escalations_open, messages_unprocessed). */
const char store_gauges_sql[] = "SELECT "
    "(SELECT count(*) FROM outbox WHERE state = 'pending') AS outbox_pending, "
    "(SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM outbox WHERE state = 'pending') "
    "AS outbox_oldest_s, "
    "(SELECT count(*) FROM escalations WHERE status = 'open') AS escalations_open, "
    "(SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM escalations WHERE status = 'open') "
    "AS escalations_oldest_s, "
    "(SELECT count(*) FROM escalations WHERE status = 'acknowledged') AS escalations_acknowledged, "
    "(SELECT count(*) FROM messages WHERE direction = 'in' AND processed_at IS NULL) AS inbound_unanswered, "
    "(SELECT count(*) FROM staff WHERE active AND unreachable_at IS NOT NULL) AS staff_unreachable, "
    "(SELECT count(DISTINCT o.staff_id) FROM oncall_shifts o JOIN staff s ON s.id = o.staff_id "
    "WHERE s.active AND o.starts_at <= now() AND o.ends_at > now()) AS oncall_staff";

const char *const store_gauge_columns[GAUGE_NCOLS + 1] = {
	[GAUGE_OUTBOX_PENDING] = "outbox_pending", [GAUGE_OUTBOX_OLDEST_S] = "outbox_oldest_s",
	[GAUGE_ESCALATIONS_OPEN] = "escalations_open", [GAUGE_ESCALATIONS_OLDEST_S] = "escalations_oldest_s",
	[GAUGE_ESCALATIONS_ACKNOWLEDGED] = "escalations_acknowledged",
	[GAUGE_INBOUND_UNANSWERED] = "inbound_unanswered", [GAUGE_STAFF_UNREACHABLE] = "staff_unreachable",
	[GAUGE_ONCALL_STAFF] = "oncall_staff",
};

void
store_metrics_gauges(struct db *db, db_result_cb *cb, void *arg)
{
	db_query(db, store_gauges_sql, 0, NULL, cb, arg);
}

void
store_metrics_escalations(struct db *db, db_result_cb *cb, void *arg)
{
	db_query(db, "SELECT carenav_metrics_escalations()", 0, NULL, cb, arg);
}

void
store_partitions_ensure(struct db *db, int months_ahead, db_result_cb *cb, void *arg)
{
	store_query_ints(db, "SELECT carenav_partitions_ensure($1)", 1, (const int64_t[]){ months_ahead }, cb, arg);
}

void
store_retention_purge(struct db *db, int64_t days, int limit, db_result_cb *cb, void *arg)
{
	store_query_ints(db, "SELECT carenav_retention_purge($1, $2)", 2, (const int64_t[]){ days, limit }, cb, arg);
}

void
store_retention_clear_states(struct db *db, int64_t days, int64_t idle_hours, int limit, db_result_cb *cb,
    void *arg)
{
	store_query_ints(db, "SELECT carenav_retention_clear_states($1, $2, $3)", 3,
	    (const int64_t[]){ days, idle_hours, limit }, cb, arg);
}

void
store_outbox_trim(struct db *db, int64_t days, int limit, db_result_cb *cb, void *arg)
{
	store_query_ints(db, "SELECT carenav_outbox_trim($1, $2)", 2, (const int64_t[]){ days, limit }, cb, arg);
}

void
store_unprocessed_conversations(struct db *db, int limit, int64_t min_age_ms, db_result_cb *cb, void *arg)
{
	store_query_ints(db, "SELECT conversation_id FROM carenav_unprocessed_conversations($1, $2)", 2,
	    (const int64_t[]){ limit, min_age_ms }, cb, arg);
}

const char *const store_claim_columns[CLAIM_NCOLS + 1] = {
	[CLAIM_ID] = "outbox_id", [CLAIM_MESSAGE_ID] = "message_id", [CLAIM_ATTEMPTS] = "attempts",
	[CLAIM_TO] = "to_number", [CLAIM_FROM] = "from_number", [CLAIM_BODY] = "body",
	[CLAIM_URGENT] = "urgent", [CLAIM_ESCALATION_OPEN] = "escalation_open",
};

void
store_outbox_claim(struct db *db, int limit, int64_t lease_ms, int64_t urgent_lease_ms, db_result_cb *cb,
    void *arg)
{
	store_query_ints(db, "SELECT outbox_id, message_id, attempts, to_number, from_number, body, urgent, "
	    "escalation_open FROM carenav_outbox_claim($1, $2, $3)", 3,
	    (const int64_t[]){ limit, lease_ms, urgent_lease_ms }, cb, arg);
}

void
store_outbox_urgent_now(struct db *db, db_result_cb *cb, void *arg)
{
	db_query(db, "SELECT carenav_outbox_urgent_now()", 0, NULL, cb, arg);
}

void
store_outbox_retry(struct db *db, int64_t outbox_id, int64_t delay_ms, const char *error,
    db_result_cb *cb, void *arg)
{
	char id[24], delay[24];
	const char *params[] = { I64(id, outbox_id), I64(delay, delay_ms), error };

	db_query(db, "SELECT carenav_outbox_retry($1, $2, $3)", 3, params, cb, arg);
}

void
store_outbox_hold(struct db *db, const char *items_json, db_result_cb *cb, void *arg)
{
	const char *params[] = { items_json };

	db_query(db, "SELECT outbox_id FROM carenav_outbox_hold($1::jsonb)", 1, params, cb, arg);
}

void
store_outbox_failed(struct db *db, int64_t outbox_id, const char *error, db_result_cb *cb, void *arg)
{
	char id[24];
	const char *params[] = { I64(id, outbox_id), error };

	db_query(db, "SELECT carenav_outbox_failed($1, $2)", 2, params, cb, arg);
}

void
store_outbox_unsubscribed(struct db *db, int64_t outbox_id, const char *error, db_result_cb *cb,
    void *arg)
{
	char id[24];
	const char *params[] = { I64(id, outbox_id), error };

	db_query(db, "SELECT carenav_outbox_unsubscribed($1, $2)", 2, params, cb, arg);
}

const char *const store_due_columns[DUE_NCOLS + 1] = {
	[DUE_ID] = "escalation_id", [DUE_CODE] = "code", [DUE_STEP] = "step",
	[DUE_LATEST_FLOW_VERSION_ID] = "latest_flow_version_id",
};

void
store_escalation_due(struct db *db, int limit, const char *default_flow, int64_t early_ms, db_result_cb *cb,
    void *arg)
{
	char lim[24], early[24];
	const char *params[] = { I64(lim, limit), default_flow, I64(early, early_ms) };

	db_query(db, "SELECT escalation_id, code, step, latest_flow_version_id "
	    "FROM carenav_escalation_due($1, $2, $3)", 3, params, cb, arg);
}

const char *const store_shift_columns[SHIFT_NCOLS + 1] = {
	[SHIFT_STAFF_ID] = "staff_id", [SHIFT_NAME] = "name", [SHIFT_PHONE] = "phone",
	[SHIFT_LANGUAGE] = "language", [SHIFT_WEBHOOK] = "webhook_url", [SHIFT_TIER] = "tier",
	[SHIFT_START_MS] = "starts_ms", [SHIFT_END_MS] = "ends_ms", [SHIFT_UNREACHABLE] = "unreachable",
};

void
store_oncall_window(struct db *db, db_result_cb *cb, void *arg)
{
	db_query(db, "SELECT staff_id, name, phone, language, webhook_url, tier, starts_ms, ends_ms, "
	    "unreachable FROM carenav_oncall_window()", 0, NULL, cb, arg);
}

void
store_fallback_staff(struct db *db, const char *phone, db_result_cb *cb, void *arg)
{
	const char *params[] = { phone };

	db_query(db, "SELECT carenav_fallback_staff($1)", 1, params, cb, arg);
}

void
store_escalation_advance_group(struct db *db, const char *items_json, const char *template_json,
    int64_t next_due_ms, const char *provider, int64_t hold_ms, db_result_cb *cb, void *arg)
{
	char due[24], hold[24];
	const char *params[] = { items_json, template_json, I64(due, next_due_ms), provider, I64(hold, hold_ms) };

	db_query(db, "SELECT carenav_escalation_advance_group($1, $2, $3, $4, $5)::text", 5, params, cb, arg);
}

void
store_escalation_event(struct db *db, int64_t escalation_id, const char *event, int64_t staff_id,
    const char *detail, db_result_cb *cb, void *arg)
{
	char id[24], staff[24];
	const char *params[] = { I64(id, escalation_id), event, staff_id ? I64(staff, staff_id) : NULL,
		detail };

	db_query(db, "SELECT carenav_escalation_event($1, $2, $3, $4)", 4, params, cb, arg);
}

const char store_flow_list_sql[] = "SELECT f.name, v.version, v.sha256, v.created_at::timestamp(0) AS loaded, "
    "(SELECT count(*) FROM conversations c WHERE c.flow_version_id = v.id) AS conversations "
    "FROM flow_versions v JOIN flows f ON f.id = v.flow_id ORDER BY f.name, v.version";

const char *const store_flow_list_columns[FLOWS_NCOLS + 1] = {
	[FLOWS_NAME] = "name", [FLOWS_VERSION] = "version", [FLOWS_SHA256] = "sha256", [FLOWS_LOADED] = "loaded",
	[FLOWS_CONVERSATIONS] = "conversations",
};

void
store_flow_version(struct db *db, int64_t flow_version_id, db_result_cb *cb, void *arg)
{
	store_query_ints(db, "SELECT document::text FROM flow_versions WHERE id = $1", 1,
	    (const int64_t[]){ flow_version_id }, cb, arg);
}
static const char *const store_step_columns[STEP_NCOLS + 1] = {
	[STEP_VERSION] = "version", [STEP_STATE] = "state", [STEP_FLOW_VERSION_ID] = "flow_version_id",
	[STEP_LANGUAGE] = "language", [STEP_HANDOFF] = "handoff", [STEP_LAST_ACTIVITY_MS] = "last_activity_ms",
	[STEP_MESSAGE_ID] = "message_id", [STEP_BODY] = "body", [STEP_KIND] = "kind",
	[STEP_LATEST_FLOW_VERSION_ID] = "latest_flow_version_id", [STEP_WINDOW_COUNT] = "window_count",
	[STEP_STATUS] = "status", [STEP_OPT_OUT_TYPE] = "opt_out_type", [STEP_RECEIVED_MS] = "received_ms",
};

const struct store_batch store_step_load_batch = {
	"SELECT ord, version, state, flow_version_id, language, handoff, last_activity_ms, message_id, body, "
	"kind, latest_flow_version_id, window_count, status, opt_out_type, received_ms "
	"FROM carenav_step_load_batch($1, $2)",
	store_step_columns,
};

static const char *const store_commit_columns[COMMIT_NCOLS + 1] = {
	[COMMIT_OUTCOME] = "outcome", [COMMIT_CLAIM + CLAIM_ID] = "outbox_id",
	[COMMIT_CLAIM + CLAIM_MESSAGE_ID] = "message_id", [COMMIT_CLAIM + CLAIM_ATTEMPTS] = "attempts",
	[COMMIT_CLAIM + CLAIM_TO] = "to_number", [COMMIT_CLAIM + CLAIM_FROM] = "from_number",
	[COMMIT_CLAIM + CLAIM_BODY] = "body", [COMMIT_CLAIM + CLAIM_URGENT] = "urgent",
	[COMMIT_CLAIM + CLAIM_ESCALATION_OPEN] = "escalation_open",
};

const struct store_batch store_step_commit_batch = {
	"SELECT ord, outcome, outbox_id, message_id, attempts, to_number, from_number, body, urgent, escalation_open "
	"FROM carenav_step_commit_batch($1, $2::integer)",
	store_commit_columns,
};

static const char *const store_outcome_columns[] = { "outcome", NULL };

static const char *const store_accept_batch_columns[ACCEPT_BATCH_NCOLS + 1] = {
	[ACCEPT_MESSAGE_ID] = "message_id", [ACCEPT_CONVERSATION_ID] = "conversation_id", [ACCEPT_IS_NEW] = "is_new",
	[ACCEPT_STEP + STEP_VERSION] = "version", [ACCEPT_STEP + STEP_STATE] = "state",
	[ACCEPT_STEP + STEP_FLOW_VERSION_ID] = "flow_version_id", [ACCEPT_STEP + STEP_LANGUAGE] = "language",
	[ACCEPT_STEP + STEP_HANDOFF] = "handoff", [ACCEPT_STEP + STEP_LAST_ACTIVITY_MS] = "last_activity_ms",
	[ACCEPT_STEP + STEP_MESSAGE_ID] = "message_id", [ACCEPT_STEP + STEP_BODY] = "body",
	[ACCEPT_STEP + STEP_KIND] = "kind", [ACCEPT_STEP + STEP_LATEST_FLOW_VERSION_ID] = "latest_flow_version_id",
	[ACCEPT_STEP + STEP_WINDOW_COUNT] = "window_count", [ACCEPT_STEP + STEP_STATUS] = "status",
	[ACCEPT_STEP + STEP_OPT_OUT_TYPE] = "opt_out_type", [ACCEPT_STEP + STEP_RECEIVED_MS] = "received_ms",
};

const struct store_batch store_inbound_accept_batch = {
	"SELECT ord, message_id, conversation_id, is_new, version, state, flow_version_id, language, handoff, "
	"last_activity_ms, body, kind, latest_flow_version_id, window_count, status, opt_out_type, received_ms "
	"FROM carenav_inbound_accept_batch($1, $2)",
	store_accept_batch_columns,
};

/* sql/ has no batch function for staff texts: one call of carenav_staff_step per item, in item order. */
const struct store_batch store_staff_step_batch = {
	"SELECT x.i::integer AS ord, carenav_staff_step((x.e->>'conversation_id')::bigint, "
	"(x.e->>'version')::bigint, (x.e->>'message_id')::bigint, (x.e->>'is_ack')::boolean, x.e->>'code', "
	"x.e->>'provider', x.e->'texts', (x.e->>'code_required')::boolean) AS outcome "
	"FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x (e, i)",
	store_outcome_columns,
};

static const char *const store_sent_columns[SENT_NCOLS + 1] = {
	[SENT_MORE] = "more", [SENT_CLAIM + CLAIM_ID] = "outbox_id", [SENT_CLAIM + CLAIM_MESSAGE_ID] = "message_id",
	[SENT_CLAIM + CLAIM_ATTEMPTS] = "attempts", [SENT_CLAIM + CLAIM_TO] = "to_number",
	[SENT_CLAIM + CLAIM_FROM] = "from_number", [SENT_CLAIM + CLAIM_BODY] = "body",
	[SENT_CLAIM + CLAIM_URGENT] = "urgent", [SENT_CLAIM + CLAIM_ESCALATION_OPEN] = "escalation_open",
};

const struct store_batch store_outbox_sent_batch = {
	"SELECT ord, more, outbox_id, message_id, attempts, to_number, from_number, body, urgent, escalation_open "
	"FROM carenav_outbox_sent_batch($1, $2::integer)",
	store_sent_columns,
};

bool
store_col_lookup(const PGresult *res, const char *const *names, int *cols, const char **missing)
{
	for (size_t i = 0; names[i] != NULL; i++) {
		if ((cols[i] = PQfnumber(res, names[i])) < 0) {
			*missing = names[i];
			return false;
		}
	}
	return true;
}

int64_t
store_col_int64(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return 0;
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

bool
store_col_bool(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

const char *
store_col_text(const PGresult *res, int row, int col)
{
	return PQgetvalue(res, row, col);  /* "" for NULL, per libpq */
}
