/*
 * store_api.h - the operator API's SQL (sql/functions/console.sql), as typed calls.
 *
 * Reads answer one row with one column: a JSON document (text) the handler
 * sends on as it is. Actions answer one row with one column: a result word
 * ('ok', 'not_found', 'conflict', ...) or, for store_api_send, a JSON object.
 * Operator names are token names from OPERATOR_TOKENS; the SQL records them
 * as 'operator:<name>' and audits every action in operator_actions.
 */
#ifndef CARENAV_GATEWAY_STORE_API_H
#define CARENAV_GATEWAY_STORE_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* A keyset cursor: the last row of the previous page. */
struct store_api_cursor {
	bool set;          /* false: first page */
	int64_t after_us;  /* last_activity_at, microseconds since the epoch */
	int64_t after_id;  /* conversation id */
};

/* Row: {"conversations": [...], "next_cursor": ...}. status and q may be "". */
void store_api_conversations(struct db *db, const char *status, const char *q, int limit,
    const struct store_api_cursor *cursor, db_result_cb *cb, void *arg);
/* Row: the conversation document, or SQL NULL when there is no such conversation. */
void store_api_conversation(struct db *db, int64_t id, db_result_cb *cb, void *arg);
/*
 * Row: {"escalations": [...], "today": {...}}; state "" (all), "active",
 * "open", "in_progress" or "resolved"; reasons and triage summaries in lang ("en", "es").
 */
void store_api_escalations(struct db *db, const char *state, int limit, const char *lang, db_result_cb *cb,
    void *arg);
/* Row: one escalation's document (as in the list, in lang), or SQL NULL if there is none. */
void store_api_escalation(struct db *db, int64_t id, const char *lang, db_result_cb *cb, void *arg);
/* Row: {"callbacks": [...]}; status "", "open" or "done". */
void store_api_callbacks(struct db *db, const char *status, int limit, db_result_cb *cb, void *arg);
/* Row: {"actions": [...]}, newest first. */
void store_api_audit(struct db *db, int limit, db_result_cb *cb, void *arg);
/* Row: the id of the newest version of flow name, or NULL. */
void store_api_latest_flow(struct db *db, const char *name, db_result_cb *cb, void *arg);

/* Row: 'ok', 'not_found' or 'conflict'. texts_json: the flow's ack_patient map. */
void store_api_escalation_ack(struct db *db, int64_t id, const char *operator_name,
    const char *provider, const char *texts_json, db_result_cb *cb, void *arg);
/*
 * Row: 'ok', 'not_found' or 'conflict'. note and outcome may be ""; tries
 * (for outcome "no_answer") 0 for none.
 */
void store_api_escalation_resolve(struct db *db, int64_t id, const char *operator_name,
    const char *note, const char *outcome, int tries, db_result_cb *cb, void *arg);
/* Row: 'ok', 'not_found' or 'conflict'. */
void store_api_callback_done(struct db *db, int64_t id, const char *operator_name, db_result_cb *cb,
    void *arg);
/*
 * Queues body as one message that costs segments in encoding ("gsm7", "ucs2";
 * recorded on the message, sql/021_segments.sql).
 * Row: {"result": "ok", "message_id": n} or {"result": "not_found"|"opted_out"|"staff"}.
 */
void store_api_send(struct db *db, int64_t conversation_id, const char *operator_name,
    const char *provider, const char *body, size_t segments, const char *encoding, db_result_cb *cb,
    void *arg);
/* Row: 'ok', 'unchanged' or 'not_found'. */
void store_api_handoff(struct db *db, int64_t conversation_id, const char *operator_name,
    bool active, db_result_cb *cb, void *arg);

/* Operators, their sign-in and sessions, the audit: urgent queries, a request waits on each. */

/* Records an audited action before it runs (conversation_id 0: none). Row: nothing to read. */
void store_api_audit_add(struct db *db, const char *operator_name, const char *action, int64_t conversation_id,
    const char *detail, const char *addr, db_result_cb *cb, void *arg);
/*
 * A token's or session's operator (kind "token" or "session", secret_hex its
 * SHA-256). Zero rows if unknown, expired or revoked; else one row: name,
 * role, csrf ("" for a token), language.
 */
void store_api_operator_auth(struct db *db, const char *kind, const char *secret_hex, int64_t idle_s,
    int64_t max_s, db_result_cb *cb, void *arg);
/* Row: status ('ok', 'unknown', ...), password_hash, totp_secret (NULL: none) of the operator name. */
void store_api_login_get(struct db *db, const char *name, db_result_cb *cb, void *arg);
/* Records a sign-in attempt and, if ok, opens the session sid_hex. Row: the outcome. */
void store_api_login_result(struct db *db, const char *name, bool ok, int64_t max_failures,
    int64_t lockout_s, const char *sid_hex, const char *csrf, const char *addr, db_result_cb *cb, void *arg);
/* Ends the session sid_hex. */
void store_api_logout(struct db *db, const char *sid_hex, const char *addr, db_result_cb *cb, void *arg);

/* Row: the overview document of the last days (text). */
void store_api_overview(struct db *db, int64_t days, db_result_cb *cb, void *arg);
/*
 * Row: the CSV export of kind between the dates from and to (YYYY-MM-DD,
 * UTC, inclusive), at most max_rows rows; full: with message bodies.
 */
void store_api_export(struct db *db, const char *kind, const char *from, const char *to, bool full,
    int64_t max_rows, db_result_cb *cb, void *arg);
/* Row: the operators document (text). */
void store_api_operators(struct db *db, db_result_cb *cb, void *arg);
/* Row: 'ok', 'unchanged' or 'not_found'. */
void store_api_operator_disable(struct db *db, int64_t id, const char *operator_name, const char *addr,
    db_result_cb *cb, void *arg);
/* Sets name's console language, audited as done by name: 'ok', 'unchanged', 'not_found' or 'unknown_language'. */
void store_api_operator_language(struct db *db, const char *name, const char *lang, const char *addr,
    db_result_cb *cb, void *arg);

#endif
