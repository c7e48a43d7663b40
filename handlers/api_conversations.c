/*
 * api_conversations.c - conversations in the operator API.
 *
 *   GET  /api/conversations?status=&q=&limit=&cursor=   a page, newest activity first
 *   GET  /api/conversations/{id}                        one, with messages and state
 *   POST /api/conversations/{id}/messages  {"body"}     text the patient as the operator
 *   POST /api/conversations/{id}/handoff   {"active"}   pause / resume the automated dialogue
 *
 * Pages use a keyset cursor ("<last_activity_us>.<id>" of the page's last
 * row), so they never repeat or skip a conversation that did not move while
 * the operator paged; one that gets a new message moves to the top, where
 * the next refresh of the first page shows it.
 */
#include "http_reply.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "log.h"
#include "outbox.h"
#include "phone.h"
#include "provider.h"
#include "segment.h"
#include "store.h"
#include "store_api.h"
#include "xmalloc.h"

#define CONV_DEFAULT_LIMIT 50
#define CONV_MAX_LIMIT 200
#define CONV_MAX_QUERY 100
#define CONV_MISSING "no such conversation"

static const char *const conv_statuses[] = { "", "active", "emergency", "closed", "handoff",
	"escalated", NULL };

/* Characters (code points) of a valid UTF-8 string. */
static size_t
conv_utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* Parses "<us>.<id>"; false if it is not one. */
static bool
conv_cursor_parse(const char *s, struct store_api_cursor *out)
{
	char *end;

	errno = 0;
	out->after_us = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '.' || out->after_us < 0)
		return false;
	s = end + 1;
	out->after_id = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || out->after_id <= 0)
		return false;
	out->set = true;
	return true;
}

/*
 * The search text; a whole phone number in any form ("001 555 111 0003")
 * is searched as stored (E.164), anything else as given.
 */
static const char *
conv_query(struct http_ctx *ctx, const char *q)
{
	static char norm[PHONE_NORM_MAX];
	const char *why;

	if (q == NULL)
		return "";
	if (phone_normalize(q, (int)ctx->cfg->default_country_code, PHONE_FULL, norm, &why))
		return norm;
	return q;
}

static void
conv_list(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	char *status, *q, *cursor_text;
	struct store_api_cursor cursor = { 0 };
	long long limit;
	bool status_ok = false;

	if (!api_query_int(req, "limit", CONV_DEFAULT_LIMIT, 1, CONV_MAX_LIMIT, &limit))
		return;
	status = api_query_get(req, "status");
	q = api_query_get(req, "q");
	cursor_text = api_query_get(req, "cursor");
	for (const char *const *s = conv_statuses; *s != NULL; s++)
		status_ok |= strcmp(*s, status ? status : "") == 0;
	if (!status_ok)
		api_error(req, 400, "invalid_parameter",
		    "status must be active, emergency, closed, handoff or escalated");
	else if (q != NULL && strlen(q) > CONV_MAX_QUERY)
		api_error(req, 400, "invalid_parameter", "q is too long");
	else if (cursor_text != NULL && *cursor_text != '\0' && !conv_cursor_parse(cursor_text, &cursor))
		api_error(req, 400, "invalid_cursor", "cursor must be a next_cursor value from a page");
	else
		store_api_conversations(ctx->db, status ? status : "", conv_query(ctx, q), (int)limit, &cursor,
		    api_doc_done, api_call_doc(req, ctx, op, "conversation read", CONV_MISSING));
	free(status);
	free(q);
	free(cursor_text);
}

static void
conv_get(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	struct api_call *call;

	call = api_call_doc(req, ctx, op, "conversation read", CONV_MISSING);
	store_api_conversation(ctx->db, call->id, api_doc_done, call);
}

static void
conv_message_done(const PGresult *res, const char *error, void *arg)
{
	struct api_call *call = arg;
	json_t *doc = NULL;
	const char *result;

	if (error != NULL) {
		api_db_error(call->req, "operator message", error);
		api_call_end(call);
		return;
	}
	doc = json_loads(store_col_text(res, 0, 0), 0, NULL);
	result = json_string_value(json_object_get(doc, "result"));
	if (result != NULL && strcmp(result, "ok") == 0) {
		json_int_t msg = json_integer_value(json_object_get(doc, "message_id"));
		char *sent_by = xasprintf("operator:%s", call->operator_name);

		log_info("api: operator=%s sent message=%" PRId64 " on conversation=%lld",
		    call->operator_name, (int64_t)msg, call->id);
		outbox_kick(call->ctx->outbox);
		api_reply_json(call->req, 201, json_pack("{s:I, s:I, s:s, s:s}", "message_id", msg,
		    "conversation_id", (json_int_t)call->id, "sent_by", sent_by, "status", "queued"));
		free(sent_by);
	} else if (result != NULL && strcmp(result, "opted_out") == 0) {
		api_error(call->req, 409, "opted_out",
		    "the patient texted STOP; nothing can be sent until they text START");
	} else if (result != NULL && strcmp(result, "staff") == 0) {
		api_error(call->req, 409, "staff_conversation", "this is a staff alert line, not a patient");
	} else {
		api_error(call->req, 404, "not_found", CONV_MISSING);
	}
	json_decref(doc);
	api_call_end(call);
}

/*
 * Why text (as it would be sent) cannot go as one message within limit:
 * "too long for one message: N characters / M segments, the limit with
 * <provider> is ..." (caller frees).
 */
static char *
conv_too_long(const struct config *cfg, const struct segment_limit *limit, const char *text)
{
	size_t segs = segment_count(text, strlen(text), NULL);
	char *max;
	char *msg;

	if (limit->max_segments > 0)
		max = xasprintf("%zu segments (%zu GSM-7 or %zu Unicode characters)", limit->max_segments,
		    limit->max_segments == 1 ? (size_t)SEGMENT_GSM7_SINGLE :
		    limit->max_segments * SEGMENT_GSM7_PART,
		    limit->max_segments == 1 ? (size_t)SEGMENT_UCS2_SINGLE :
		    limit->max_segments * SEGMENT_UCS2_PART);
	else
		max = xasprintf("%zu characters", limit->max_chars);
	msg = xasprintf("too long for one message: %zu characters / %zu segments, the limit with %s "
	    "is %s; shorten it or send it as two messages", conv_utf8_chars(text), segs,
	    cfg->sms_provider, max);
	free(max);
	return msg;
}

/*
 * An operator's text goes as ONE message: folded to GSM-7 when the clinic
 * chose it (as dialogue replies are), and refused whole, never cut or
 * truncated, when longer than the provider sends as one.
 */
static void
conv_message(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	const char *text;
	json_t *body;
	struct api_call *call;
	struct segment_limit limit;
	enum segment_encoding enc;
	size_t nseg;
	char *folded, *why;

	if ((body = api_body_json(req)) == NULL)
		return;
	text = json_string_value(json_object_get(body, "body"));
	if (text == NULL || text[strspn(text, " \t\r\n")] == '\0') {
		api_error(req, 422, "invalid_body", "body must be a non-empty string");
		json_decref(body);
		return;
	}
	if (json_string_length(json_object_get(body, "body")) != strlen(text)) {
		api_error(req, 422, "invalid_body", "body must be text without NUL characters");
		json_decref(body);
		return;
	}
	folded = strcmp(ctx->cfg->sms_alphabet, "gsm7") == 0 ? segment_fold_gsm7(text) : xstrdup(text);
	json_decref(body);
	provider_limit(ctx->cfg, &limit);
	if (!segment_fits(folded, strlen(folded), &limit)) {
		why = conv_too_long(ctx->cfg, &limit, folded);
		api_error(req, 400, "too_long", why);
		free(why);
		free(folded);
		return;
	}
	nseg = segment_count(folded, strlen(folded), &enc);
	call = api_call_new(req, ctx, op);
	call->text = folded;
	store_api_send(ctx->db, call->id, op, ctx->cfg->sms_provider, call->text, nseg,
	    segment_encoding_name(enc), conv_message_done, call);
}

static void
conv_handoff_done(const PGresult *res, const char *error, void *arg)
{
	struct api_call *call = arg;
	const char *result = api_action_result(call, res, error, "handoff", CONV_MISSING);

	if (result != NULL) {
		if (strcmp(result, "ok") == 0)
			log_info("api: operator=%s handoff %s on conversation=%lld", call->operator_name,
			    call->flag ? "started" : "ended", call->id);
		api_reply_json(call->req, 200, json_pack("{s:I, s:b, s:b}", "conversation_id",
		    (json_int_t)call->id, "handoff", call->flag, "changed", strcmp(result, "ok") == 0));
	}
	api_call_end(call);
}

static void
conv_handoff(struct evhttp_request *req, struct http_ctx *ctx, const char *op)
{
	json_t *body, *active;
	struct api_call *call;

	if ((body = api_body_json(req)) == NULL)
		return;
	active = json_object_get(body, "active");
	if (active != NULL && !json_is_boolean(active)) {
		api_error(req, 422, "invalid_body", "active must be true (pause the dialogue) or false (resume)");
	} else {
		call = api_call_new(req, ctx, op);
		call->flag = active == NULL || json_is_true(active);
		store_api_handoff(ctx->db, call->id, op, call->flag, conv_handoff_done, call);
	}
	json_decref(body);
}

const struct http_route api_conversations_routes[] = {
	{ "GET", "/api/conversations", .need = API_VIEWER, .operator_handler = conv_list },
	{ "GET", "/api/conversations/{id}", .need = API_VIEWER, .operator_handler = conv_get },
	{ "POST", "/api/conversations/{id}/messages", .need = API_RESPONDER, .operator_handler = conv_message },
	{ "POST", "/api/conversations/{id}/handoff", .need = API_RESPONDER, .operator_handler = conv_handoff },
	{ .method = NULL },
};
