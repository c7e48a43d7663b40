/*
 * api_escalations.c - escalations in the operator API.
 *
 *   GET  /api/escalations?status=&limit=     open ones first, then in progress, then resolved;
 *                                            status: active (not resolved), open (nobody has
 *                                            it), in_progress, resolved, all (default);
 *                                            open=true is status=open. Each has its pages,
 *                                            timeline, owner, outcome and triage summary;
 *                                            "today" has the counts and median time to ACK.
 *                                            Reasons and summaries are in the operator's language.
 *   GET  /api/escalations/{id}               one of them, as in the list
 *   POST /api/escalations/{id}/ack           as a staff ACK: alerts stop, the patient is told,
 *                                            the others paged are stood down
 *   POST /api/escalations/{id}/resolve       {"outcome": one of ESC_OUTCOMES, "tries": n (for
 *                                            no_answer), "note": text}: closed for good
 *   GET  /api/audit?limit=                   the newest operator actions
 *
 * An operator ACK tells the patient a nurse will call in the words of the
 * newest version of DEFAULT_FLOW (its ack_patient message), like a staff ACK
 * by text does; so the handler fetches that flow before the commit.
 */
#include "http_reply.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "escalation.h"
#include "flow.h"
#include "flows.h"
#include "log.h"
#include "outbox.h"
#include "store.h"
#include "store_api.h"
#include "xmalloc.h"

#define ESC_DEFAULT_LIMIT 100
#define ESC_MAX_LIMIT 500
#define ESC_MAX_NOTE 500
#define ESC_MAX_TRIES 99

/* How a call-back ended (escalations.outcome). */
static const char *const esc_outcomes[] = {
	"advised_er",    /* reached the patient, advised the ER */
	"er_confirmed",  /* reached: the patient is at / going to the ER */
	"not_urgent",    /* reached: not urgent after all */
	"no_answer",     /* no answer after "tries" tries */
	"false_alarm",   /* not an emergency (a test, a mistake) */
	NULL,
};

static void
esc_list(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	static const char *const states[] = { "active", "open", "in_progress", "resolved", "all", NULL };
	const char *state = NULL;
	char *open, *status;
	long long limit;

	if (!api_query_int(req, "limit", ESC_DEFAULT_LIMIT, 1, ESC_MAX_LIMIT, &limit))
		return;
	open = api_query_get(req, "open");
	status = api_query_get(req, "status");
	for (size_t i = 0; status != NULL && states[i] != NULL; i++) {
		if (strcmp(status, states[i]) == 0)
			state = strcmp(status, "all") == 0 ? "" : states[i];
	}
	if (open != NULL && strcmp(open, "true") != 0 && strcmp(open, "false") != 0)
		api_error(req, 400, "invalid_parameter", "open must be true or false");
	else if (status != NULL && state == NULL)
		api_error(req, 400, "invalid_parameter", "status must be active, open, in_progress, resolved or all");
	else
		store_api_escalations(ctx->db, state != NULL ? state : open != NULL && strcmp(open, "true") == 0 ?
		    "open" : "", (int)limit, api_who(ctx)->language, api_doc_done,
		    api_call_doc(req, ctx, op, "escalation read", NULL));
	free(open);
	free(status);
}

static void
esc_get(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	struct api_call *call;

	call = api_call_doc(req, ctx, op, "escalation read", "no such escalation");
	store_api_escalation(ctx->db, call->id, api_who(ctx)->language, api_doc_done, call);
}

/*
 * Answers an action on escalation call->id: ok -> 200 {"id", "status", "by"} and a kick of the outbox (the
 * patient's ACK text, or the stand-down texts), else 404 / 409 / 503. Ends the call.
 */
static void
esc_action_finish(struct api_call *call, const PGresult *res, const char *error, const char *status)
{
	bool ack = strcmp(status, "acknowledged") == 0;
	const char *result = api_action_result(call, res, error, ack ? "escalation ack" : "escalation resolve",
	    "no such escalation");

	if (result == NULL) {
		/* answered */
	} else if (strcmp(result, "ok") == 0) {
		char *by = xasprintf("operator:%s", call->operator_name);

		log_info("api: operator=%s %s escalation=%lld", call->operator_name, status, call->id);
		outbox_kick(call->ctx->outbox);
		api_reply_json(call->req, 200, json_pack("{s:I, s:s, s:s}", "id", (json_int_t)call->id,
		    "status", status, "by", by));
		free(by);
	} else {
		api_error(call->req, 409, "conflict", ack ?
		    "the escalation is not open any more (already acknowledged or resolved)" :
		    "the escalation is already resolved");
	}
	api_call_end(call);
}

static void
esc_ack_done(const PGresult *res, const char *error, void *arg)
{
	esc_action_finish(arg, res, error, "acknowledged");
}

static void
esc_ack_flow(const struct flow *flow, const char *error, void *arg)
{
	struct api_call *call = arg;
	char *texts;

	if (flow == NULL) {
		api_db_error(call->req, "flow for the patient's ACK text", error);
		api_call_end(call);
		return;
	}
	texts = flow_message_json(flow, FLOW_MSG_ACK_PATIENT);
	store_api_escalation_ack(call->ctx->db, call->id, call->operator_name, call->ctx->cfg->sms_provider,
	    texts, esc_ack_done, call);
	free(texts);
}

static void
esc_ack_version(const PGresult *res, const char *error, void *arg)
{
	struct api_call *call = arg;

	if (error != NULL || PQgetisnull(res, 0, 0)) {
		api_db_error(call->req, "flow lookup", error ? error : "no version of DEFAULT_FLOW is loaded");
		api_call_end(call);
		return;
	}
	flows_get(call->ctx->flows, store_col_int64(res, 0, 0), esc_ack_flow, call);
}

static void
esc_ack(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	store_api_latest_flow(ctx->db, ctx->cfg->default_flow, esc_ack_version, api_call_new(req, ctx, op));
}

static void
esc_resolve_done(const PGresult *res, const char *error, void *arg)
{
	esc_action_finish(arg, res, error, "resolved");
}

static bool
esc_outcome_known(const char *outcome)
{
	for (size_t i = 0; esc_outcomes[i] != NULL; i++) {
		if (strcmp(outcome, esc_outcomes[i]) == 0)
			return true;
	}
	return false;
}

static void
esc_resolve(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	const char *note, *outcome;
	json_t *body, *jnote, *joutcome, *jtries;
	struct api_call *call;
	json_int_t tries = 0;

	if ((body = api_body_json(req)) == NULL)
		return;
	jnote = json_object_get(body, "note");
	joutcome = json_object_get(body, "outcome");
	jtries = json_object_get(body, "tries");
	note = jnote ? json_string_value(jnote) : "";
	outcome = joutcome ? json_string_value(joutcome) : "";
	if (jtries != NULL)
		tries = json_is_integer(jtries) ? json_integer_value(jtries) : -1;
	if (note == NULL || strlen(note) > ESC_MAX_NOTE || json_string_length(jnote) != strlen(note)) {
		api_error(req, 422, "invalid_body", "note must be a string of at most 500 bytes");
	} else if (outcome == NULL || (outcome[0] != '\0' && !esc_outcome_known(outcome))) {
		api_error(req, 422, "invalid_body", "outcome must be one of advised_er, er_confirmed, not_urgent, "
		    "no_answer, false_alarm");
	} else if (jtries != NULL && (strcmp(outcome, "no_answer") != 0 || tries < 1 || tries > ESC_MAX_TRIES)) {
		api_error(req, 422, "invalid_body", "tries must be a number from 1 to 99, with outcome no_answer");
	} else {
		call = api_call_new(req, ctx, op);
		call->text = xstrdup(note);
		store_api_escalation_resolve(ctx->db, call->id, op, call->text, outcome, (int)tries, esc_resolve_done,
		    call);
	}
	json_decref(body);
}

static void
esc_audit(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	long long limit;

	if (!api_query_int(req, "limit", ESC_DEFAULT_LIMIT, 1, ESC_MAX_LIMIT, &limit))
		return;
	store_api_audit(ctx->db, (int)limit, api_doc_done, api_call_doc(req, ctx, op, "escalation read", NULL));
}

const struct http_route api_escalations_routes[] = {
	{ "GET", "/api/escalations", .need = API_VIEWER, .operator_handler = esc_list },
	{ "GET", "/api/escalations/{id}", .need = API_VIEWER, .operator_handler = esc_get },
	{ "POST", "/api/escalations/{id}/ack", .need = API_RESPONDER, .operator_handler = esc_ack },
	{ "POST", "/api/escalations/{id}/resolve", .need = API_RESPONDER, .operator_handler = esc_resolve },
	{ "GET", "/api/audit", .need = API_ADMIN, .operator_handler = esc_audit },
	{ .method = NULL },
};
