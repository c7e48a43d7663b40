/*
 * store_api.c - the operator API's SQL, one typed call per statement. See
 * store_api.h.
 *
 * Like store.c, parameters travel as text and PostgreSQL casts them to the
 * functions' argument types; JSON results are cast to text so the handler
 * can pass them through without parsing.
 */
#include "store_api.h"

#include <inttypes.h>
#include <stdio.h>

#include "store.h"

#define I64(buf, v) (snprintf((buf), sizeof(buf), "%" PRId64, (int64_t)(v)), (buf))

void
store_api_conversations(struct db *db, const char *status, const char *q, int limit,
    const struct store_api_cursor *cursor, db_result_cb *cb, void *arg)
{
	char lim[24], us[24], id[24];
	const char *params[] = { status, q, I64(lim, limit),
		cursor->set ? I64(us, cursor->after_us) : NULL,
		cursor->set ? I64(id, cursor->after_id) : NULL };

	db_query(db, "SELECT carenav_api_conversations($1, $2, $3, $4, $5)::text", 5, params, cb, arg);
}

void
store_api_conversation(struct db *db, int64_t id, db_result_cb *cb, void *arg)
{
	store_query_ints(db, "SELECT carenav_api_conversation($1)::text", 1, (const int64_t[]){ id }, cb, arg);
}

void
store_api_escalations(struct db *db, const char *state, int limit, const char *lang, db_result_cb *cb, void *arg)
{
	char lim[24];
	const char *params[] = { state, I64(lim, limit), lang };

	db_query(db, "SELECT carenav_api_escalation_list($1, $2, $3)::text", 3, params, cb, arg);
}

void
store_api_escalation(struct db *db, int64_t id, const char *lang, db_result_cb *cb, void *arg)
{
	char idbuf[24];
	const char *params[] = { I64(idbuf, id), lang };

	db_query(db, "SELECT carenav_api_escalation_doc($1, $2)::text", 2, params, cb, arg);
}

void
store_api_callbacks(struct db *db, const char *status, int limit, db_result_cb *cb, void *arg)
{
	char lim[24];
	const char *params[] = { status, I64(lim, limit) };

	db_query(db, "SELECT carenav_api_callbacks($1, $2)::text", 2, params, cb, arg);
}

void
store_api_audit(struct db *db, int limit, db_result_cb *cb, void *arg)
{
	store_query_ints(db, "SELECT carenav_api_audit($1)::text", 1, (const int64_t[]){ limit }, cb, arg);
}

void
store_api_latest_flow(struct db *db, const char *name, db_result_cb *cb, void *arg)
{
	const char *params[] = { name };

	db_query(db, "SELECT (SELECT v.id FROM flow_versions v JOIN flows f ON f.id = v.flow_id "
	    "WHERE f.name = $1 ORDER BY v.version DESC LIMIT 1)", 1, params, cb, arg);
}

void
store_api_escalation_ack(struct db *db, int64_t id, const char *operator_name, const char *provider,
    const char *texts_json, db_result_cb *cb, void *arg)
{
	char idbuf[24];
	const char *params[] = { I64(idbuf, id), operator_name, provider, texts_json };

	db_query(db, "SELECT carenav_api_escalation_ack($1, $2, $3, $4)", 4, params, cb, arg);
}

void
store_api_escalation_resolve(struct db *db, int64_t id, const char *operator_name, const char *note,
    const char *outcome, int tries, db_result_cb *cb, void *arg)
{
	char idbuf[24], triesbuf[24];
	const char *params[] = { I64(idbuf, id), operator_name, note, outcome, tries > 0 ? I64(triesbuf, tries) : NULL };

	db_query(db, "SELECT carenav_api_escalation_close($1, $2, $3, $4, $5)", 5, params, cb, arg);
}

void
store_api_callback_done(struct db *db, int64_t id, const char *operator_name, db_result_cb *cb,
    void *arg)
{
	char idbuf[24];
	const char *params[] = { I64(idbuf, id), operator_name };

	db_query(db, "SELECT carenav_api_callback_done($1, $2)", 2, params, cb, arg);
}

void
store_api_send(struct db *db, int64_t conversation_id, const char *operator_name,
    const char *provider, const char *body, size_t segments, const char *encoding, db_result_cb *cb,
    void *arg)
{
	char idbuf[24], segbuf[24];
	const char *params[] = { I64(idbuf, conversation_id), operator_name, provider, body,
		I64(segbuf, (int64_t)segments), encoding };

	db_query(db, "SELECT carenav_api_send($1, $2, $3, $4, $5::smallint, $6)::text", 6, params, cb,
	    arg);
}

void
store_api_handoff(struct db *db, int64_t conversation_id, const char *operator_name, bool active,
    db_result_cb *cb, void *arg)
{
	char idbuf[24];
	const char *params[] = { I64(idbuf, conversation_id), operator_name, active ? "true" : "false" };

	db_query(db, "SELECT carenav_api_handoff($1, $2, $3)", 3, params, cb, arg);
}

void
store_api_audit_add(struct db *db, const char *operator_name, const char *action, int64_t conversation_id,
    const char *detail, const char *addr, db_result_cb *cb, void *arg)
{
	char conv[24];
	const char *params[] = { operator_name, action, conversation_id > 0 ? I64(conv, conversation_id) : NULL,
		detail, addr };

	db_query_urgent(db, "SELECT carenav_audit($1, $2, $3::bigint, $4, $5)", 5, params, cb, arg);
}

void
store_api_operator_auth(struct db *db, const char *kind, const char *secret_hex, int64_t idle_s,
    int64_t max_s, db_result_cb *cb, void *arg)
{
	char idle[24], max[24];
	const char *params[] = { kind, secret_hex, I64(idle, idle_s), I64(max, max_s) };

	db_query_urgent(db, "SELECT name, role, coalesce(csrf, '') AS csrf, language "
	    "FROM carenav_operator_auth($1, $2, $3::int, $4::int)", 4, params, cb, arg);
}

void
store_api_login_get(struct db *db, const char *name, db_result_cb *cb, void *arg)
{
	const char *params[] = { name };

	db_query_urgent(db, "SELECT status, password_hash, totp_secret FROM carenav_operator_login_get($1)", 1,
	    params, cb, arg);
}

void
store_api_login_result(struct db *db, const char *name, bool ok, int64_t max_failures,
    int64_t lockout_s, const char *sid_hex, const char *csrf, const char *addr, db_result_cb *cb, void *arg)
{
	char failures[24], lockout[24];
	const char *params[] = { name, ok ? "true" : "false", I64(failures, max_failures), I64(lockout, lockout_s),
		sid_hex, csrf, addr };

	db_query_urgent(db, "SELECT carenav_operator_login_result($1, $2::boolean, $3::int, $4::int, $5, $6, $7)",
	    7, params, cb, arg);
}

void
store_api_logout(struct db *db, const char *sid_hex, const char *addr, db_result_cb *cb, void *arg)
{
	const char *params[] = { sid_hex, addr };

	db_query_urgent(db, "SELECT carenav_operator_logout($1, $2)", 2, params, cb, arg);
}

void
store_api_overview(struct db *db, int64_t days, db_result_cb *cb, void *arg)
{
	store_query_ints(db, "SELECT carenav_api_overview($1::int)::text", 1, (const int64_t[]){ days }, cb, arg);
}

void
store_api_export(struct db *db, const char *kind, const char *from, const char *to, bool full,
    int64_t max_rows, db_result_cb *cb, void *arg)
{
	char max[24];
	const char *params[] = { kind, from, to, full ? "true" : "false", I64(max, max_rows) };

	db_query(db, "SELECT carenav_api_export($1, ($2::date)::timestamp AT TIME ZONE 'UTC', "
	    "($3::date + 1)::timestamp AT TIME ZONE 'UTC', $4::boolean, $5::int)", 5, params, cb, arg);
}

void
store_api_operators(struct db *db, db_result_cb *cb, void *arg)
{
	db_query(db, "SELECT carenav_api_operators()::text", 0, NULL, cb, arg);
}

void
store_api_operator_disable(struct db *db, int64_t id, const char *operator_name, const char *addr,
    db_result_cb *cb, void *arg)
{
	char idbuf[24];
	const char *params[] = { I64(idbuf, id), operator_name, addr };

	db_query(db, "SELECT carenav_api_operator_disable($1::bigint, $2, $3)", 3, params, cb, arg);
}

void
store_api_operator_language(struct db *db, const char *name, const char *lang, const char *addr,
    db_result_cb *cb, void *arg)
{
	const char *params[] = { name, lang, name, addr };

	db_query(db, "SELECT carenav_operator_language_set($1, $2, $3, $4)", 4, params, cb, arg);
}
