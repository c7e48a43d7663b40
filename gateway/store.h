/*
 * store.h - every SQL statement the running gateway issues, as typed calls.
 *
 * Each call is one statement (mostly one function of sql/functions/) sent
 * through db.c; results come back to the caller's db_result_cb, which reads
 * columns with store_col_*. The group-commit statements (struct store_batch, run by
 * batch.c) are here too. Rows of several columns are read by name: each such
 * statement names its columns, and an enum indexes the names (store_col_lookup
 * maps them to positions once per result). Keeping the SQL in the store files
 * means a schema change touches them only: store_api.c has the operator API's,
 * store_admin.c the blocking statements of the CLI and doctor (run through
 * cli_sql.c).
 */
#ifndef CARENAV_GATEWAY_STORE_H
#define CARENAV_GATEWAY_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "attrs.h"
#include "db.h"

/* The most parameters store_query_ints takes. */
#define STORE_INT_PARAMS_MAX 3

/*
 * Queues sql with the n integers of values as its parameters $1..$n (as
 * text, like every store call): the statements whose parameters are all
 * integers. values is copied.
 */
void store_query_ints(struct db *db, const char *sql, int n, const int64_t *values, db_result_cb *cb, void *arg);

/* An inbound SMS as the provider gave it; all fields borrowed. */
struct store_inbound {
	const char *provider;
	const char *sid;
	const char *from;
	const char *to;
	const char *body;
	int num_media;
	const char *opt_out_type;  /* "STOP", "START", "HELP" from the provider, or NULL */
};

/* The columns of an accept's row (store_accept_columns), one batch item's or a single accept's. */
enum store_accept_col {
	ACCEPT_MESSAGE_ID,
	ACCEPT_CONVERSATION_ID,
	ACCEPT_IS_NEW,  /* false: a provider retry of a stored message */
	ACCEPT_NCOLS
};
extern const char *const store_accept_columns[ACCEPT_NCOLS + 1];
/* Row: the accept_columns. */
void store_inbound_accept(struct db *db, const struct store_inbound *in, db_result_cb *cb, void *arg);
/*
 * The backlog, one row, database-wide (not per gateway): /metrics and
 * carenav doctor both read it (store_gauges_sql), by these names.
 */
enum store_gauge_col {
	GAUGE_OUTBOX_PENDING,             /* outbox rows pending */
	GAUGE_OUTBOX_OLDEST_S,            /* age of the oldest (s, fractional; 0 = none) */
	GAUGE_ESCALATIONS_OPEN,           /* escalations not acknowledged */
	GAUGE_ESCALATIONS_OLDEST_S,       /* age of the oldest of those (s, fractional; 0 = none) */
	GAUGE_ESCALATIONS_ACKNOWLEDGED,   /* acknowledged, not yet resolved */
	GAUGE_INBOUND_UNANSWERED,         /* inbound texts whose step has not committed */
	GAUGE_STAFF_UNREACHABLE,          /* active staff whose pages the provider refused for good */
	GAUGE_ONCALL_STAFF,               /* active staff with a shift covering now */
	GAUGE_NCOLS
};
extern const char *const store_gauge_columns[GAUGE_NCOLS + 1];
extern const char store_gauges_sql[];
void store_metrics_gauges(struct db *db, db_result_cb *cb, void *arg);
/* Row: Prometheus text: escalations opened by reason, the time-to-ACK histogram. */
void store_metrics_escalations(struct db *db, db_result_cb *cb, void *arg);
/* Row: partitions created (this month and months_ahead more, where missing). */
void store_partitions_ensure(struct db *db, int months_ahead, db_result_cb *cb, void *arg);
/* Row: message bodies older than days blanked (at most limit; 0 if another gateway is purging). */
void store_retention_purge(struct db *db, int64_t days, int limit, db_result_cb *cb, void *arg);
/* Empties the dialogue state of up to limit conversations idle past days (and idle_hours); 1 row: how many. */
void store_retention_clear_states(struct db *db, int64_t days, int64_t idle_hours, int limit, db_result_cb *cb,
    void *arg);
/* Row: outbox rows no longer pending and older than days deleted (at most limit; 0 if another gateway is at it). */
void store_outbox_trim(struct db *db, int64_t days, int limit, db_result_cb *cb, void *arg);
/* Row: matched (bool). */
void store_delivery_report(struct db *db, const char *provider, const char *sid, const char *status,
    const char *error_code, db_result_cb *cb, void *arg);
/* Rows: conversation_id of conversations with unprocessed inbound messages. */
void store_unprocessed_conversations(struct db *db, int limit, int64_t min_age_ms, db_result_cb *cb, void *arg);

/*
 * Columns of store_outbox_claim's rows, by name: cols[CLAIM_ID] after
 * store_col_lookup(res, store_claim_columns, cols, ...).
 * CLAIM_URGENT: an emergency text or a staff page (outbox.urgent, sql/017):
 * exempt from opt-outs and rate caps. CLAIM_ESCALATION_OPEN: urgent and its
 * escalation not resolved (open or acknowledged), so it is retried without
 * an attempt limit.
 */
enum store_claim_col {
	CLAIM_ID, CLAIM_MESSAGE_ID, CLAIM_ATTEMPTS, CLAIM_TO, CLAIM_FROM, CLAIM_BODY, CLAIM_URGENT,
	CLAIM_ESCALATION_OPEN, CLAIM_NCOLS
};
extern const char *const store_claim_columns[CLAIM_NCOLS + 1];
/* Urgent rows get urgent_lease_ms, others lease_ms. */
void store_outbox_claim(struct db *db, int limit, int64_t lease_ms, int64_t urgent_lease_ms, db_result_cb *cb,
    void *arg);
/* Urgent rows waiting on a backoff are due now (the provider recovered); row: how many. */
void store_outbox_urgent_now(struct db *db, db_result_cb *cb, void *arg);
void store_outbox_retry(struct db *db, int64_t outbox_id, int64_t delay_ms, const char *error,
    db_result_cb *cb, void *arg);
/*
 * The rows the send gate held (outbox_gate.h), as JSON [{"id", "delay_ms"} |
 * {"id", "refuse"}]; rows: the ids that are urgent and must be sent now.
 */
void store_outbox_hold(struct db *db, const char *items_json, db_result_cb *cb, void *arg);
void store_outbox_failed(struct db *db, int64_t outbox_id, const char *error, db_result_cb *cb,
    void *arg);
/*
 * A permanent failure because the recipient unsubscribed (Twilio 21610): an
 * ordinary dialogue reply opts the patient's conversation out. Row: whether it did.
 */
void store_outbox_unsubscribed(struct db *db, int64_t outbox_id, const char *error, db_result_cb *cb,
    void *arg);

/* Columns of store_escalation_due's rows, by name: cols[DUE_ID] after store_col_lookup. */
enum store_due_col { DUE_ID, DUE_CODE, DUE_STEP, DUE_LATEST_FLOW_VERSION_ID, DUE_NCOLS };
extern const char *const store_due_columns[DUE_NCOLS + 1];
/* Due rounds, and with them those due within early_ms (sql/017: surges are paged together). */
void store_escalation_due(struct db *db, int limit, const char *default_flow, int64_t early_ms, db_result_cb *cb,
    void *arg);
/* Columns of store_oncall_window's rows (shifts near now with their staff), by name. */
enum store_shift_col {
	SHIFT_STAFF_ID, SHIFT_NAME, SHIFT_PHONE, SHIFT_LANGUAGE, SHIFT_WEBHOOK, SHIFT_TIER,
	SHIFT_START_MS, SHIFT_END_MS, SHIFT_UNREACHABLE, SHIFT_NCOLS
};
extern const char *const store_shift_columns[SHIFT_NCOLS + 1];
void store_oncall_window(struct db *db, db_result_cb *cb, void *arg);
/* Registers ESCALATION_FALLBACK_NUMBER as staff (role 'fallback'); row: its staff id, NULL for "". */
void store_fallback_staff(struct db *db, const char *phone, db_result_cb *cb, void *arg);
/*
 * The rounds due in one sweep (sql/017): items_json [{"id", "step", "alerts"}];
 * a round whose targets were all paged less than hold_ms ago waits.
 * Row: {"result", "advanced": [ids], "alerts": [{"staff_id", "escalation_id", "body"}]}.
 */
void store_escalation_advance_group(struct db *db, const char *items_json, const char *template_json,
    int64_t next_due_ms, const char *provider, int64_t hold_ms, db_result_cb *cb, void *arg);
void store_escalation_event(struct db *db, int64_t escalation_id, const char *event,
    int64_t staff_id, const char *detail, db_result_cb *cb, void *arg);
/* carenav flow list (libpq, blocking): every stored flow version, its columns by these names. */
enum store_flow_list_col {
	FLOWS_NAME, FLOWS_VERSION, FLOWS_SHA256, FLOWS_LOADED, FLOWS_CONVERSATIONS, FLOWS_NCOLS
};
extern const char *const store_flow_list_columns[FLOWS_NCOLS + 1];
extern const char store_flow_list_sql[];

/* Row: document (text) of one flow version. */
void store_flow_version(struct db *db, int64_t flow_version_id, db_result_cb *cb, void *arg);

/*
 * A set-returning SQL function that batch.c calls with a jsonb array of
 * items as $1 (and the batch's extra text as $2). Each row starts with ord,
 * the item's 1-based position; columns names what the item callbacks read,
 * indexed by the enum beside each batch.
 */
struct store_batch {
	const char *sql;
	const char *const *columns;  /* NULL-terminated */
};

/* Items {"id", "window_ms"}, $2 the default flow; zero rows for a conversation with nothing to process. */
enum store_step_col {
	STEP_VERSION,           /* conversation version: the commit fails with 'conflict' if it moved */
	STEP_STATE,             /* dialogue state JSON */
	STEP_FLOW_VERSION_ID,   /* the conversation's flow version, NULL if none yet */
	STEP_LANGUAGE,
	STEP_HANDOFF,           /* an operator took the conversation over */
	STEP_LAST_ACTIVITY_MS,  /* ms since epoch */
	STEP_MESSAGE_ID,        /* the oldest unprocessed inbound text */
	STEP_BODY,
	STEP_KIND,              /* 'staff' or 'patient' */
	STEP_LATEST_FLOW_VERSION_ID,  /* the newest version of the default flow */
	STEP_WINDOW_COUNT,      /* inbound texts in the window_ms before this one, this one included */
	STEP_STATUS,            /* 'active', 'emergency', 'closed' */
	STEP_OPT_OUT_TYPE,      /* the provider's keyword verdict, or NULL */
	STEP_RECEIVED_MS,       /* the text's created_at, ms since epoch (rounded): its partition */
	STEP_NCOLS
};
extern const struct store_batch store_step_load_batch;
/*
 * Items: the arguments of carenav_step_commit {"conversation_id", "version",
 * "message_id", "state", "flow_version_id", "language", "status", "provider",
 * "replies", "actions", "received_ms"}, state, replies and actions as JSON text;
 * $2 the lease (ms) of a reply handed to the sender. Each row also carries,
 * from COMMIT_CLAIM on, the CLAIM_NCOLS columns of a claimed row in CLAIM_*
 * order: the conversation's next reply, leased for the sender, or
 * COMMIT_CLAIM + CLAIM_ID NULL when the claim is left to send it.
 */
enum store_commit_col {
	COMMIT_OUTCOME,  /* 'ok', 'last', 'conflict' or 'already' */
	COMMIT_CLAIM,
	COMMIT_NCOLS = COMMIT_CLAIM + CLAIM_NCOLS
};
extern const struct store_batch store_step_commit_batch;
/*
 * A text from staff: items are the arguments of carenav_staff_step
 * {"conversation_id", "version", "message_id", "is_ack", "code",
 * "code_required", "provider", "texts"}; its one column, the outcome
 * (COMMIT_OUTCOME), is
 * 'acknowledged', 'unknown', 'which', 'code_required' (a bare ACK refused,
 * answered with how to ACK), 'help', 'conflict' or 'already'.
 */
extern const struct store_batch store_staff_step_batch;
/*
 * Several accepts in one transaction (group commit): items {"provider",
 * "sid", "from", "to", "body", "num_media", "opt_out_type", "window_ms"},
 * $2 the default flow; rows: the accept columns, then from ACCEPT_STEP on
 * the STEP_NCOLS columns of the text's step, loaded in the same
 * transaction (ACCEPT_STEP + STEP_VERSION NULL when the text is not its
 * conversation's next: load it as usual).
 */
enum store_accept_batch_col {
	ACCEPT_STEP = ACCEPT_NCOLS,
	ACCEPT_BATCH_NCOLS = ACCEPT_STEP + STEP_NCOLS
};
extern const struct store_batch store_inbound_accept_batch;
/*
 * Items {"id", "sid", "status", "segments", "encoding"}: the provider took
 * the reply; $2 the lease (ms) of a reply handed to the sender. Each item's
 * row carries, from SENT_CLAIM on, the CLAIM_NCOLS columns of its
 * conversation's next reply, leased for the sender (SENT_CLAIM + CLAIM_ID
 * NULL when none was), and SENT_MORE: a reply of the conversation was left
 * to the claim.
 */
enum store_sent_col {
	SENT_MORE,
	SENT_CLAIM,
	SENT_NCOLS = SENT_CLAIM + CLAIM_NCOLS
};
extern const struct store_batch store_outbox_sent_batch;

/*
 * Looks the columns names[] (NULL-terminated) up in res by name, once per
 * result: cols[i] for names[i]. False, with *missing the first name res
 * lacks (a schema the gateway does not know), if any is absent.
 */
bool store_col_lookup(const PGresult *res, const char *const *names, int *cols, const char **missing)
    CN_MUSTCHECK;
/* Column readers; a NULL column reads as 0 / false / "". */
int64_t store_col_int64(const PGresult *res, int row, int col);
bool store_col_bool(const PGresult *res, int row, int col);
const char *store_col_text(const PGresult *res, int row, int col);

#endif
