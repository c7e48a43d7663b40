/*
 * webhook_sms.c - every provider's inbound SMS and delivery-report webhooks.
 *
 * The provider's own parser (provider_<name>.c) checks its signature or
 * shared secret and reads its fields; this file does what is common: the
 * limits every message must meet, storing it before the 2xx, and the
 * answer. A retried provider id is stored once and answered once
 * (carenav_inbound_accept); the reply goes out through the outbox. If the
 * database cannot take the message we answer 503 and the provider retries.
 * Bad input gets a 4xx that says what is wrong, and nothing is stored.
 */
#include "webhook_sms.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "form.h"
#include "intake.h"
#include "log.h"
#include "phone.h"
#include "provider.h"
#include "redact.h"
#include "stats.h"
#include "store.h"
#include "xmalloc.h"

#define WEBHOOK_MAX_SID 64
/* A delivery report's error code or text, as stored. */
#define WEBHOOK_MAX_ERROR_CODE 200
/* Providers join long texts up to 1600 characters; 4 bytes each at worst. */
#define WEBHOOK_MAX_TEXT_BYTES 6400

/* A request waiting for the database. */
struct webhook_call {
	struct evhttp_request *req;
	struct http_ctx *ctx;
	const struct provider_ops *ops;
	char from_masked[16];
	double started_ms;  /* stats_now_ms() when the webhook arrived, for the latency histogram */
};

static bool
webhook_sid_valid(const char *sid)
{
	size_t n = strlen(sid);

	if (n == 0 || n > WEBHOOK_MAX_SID)
		return false;
	for (const char *p = sid; *p != '\0'; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == ':'))
			return false;
	}
	return true;
}

static const char *
webhook_header(void *arg, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(arg), name);
}

static void
webhook_reject(struct evhttp_request *req, int status, const char *why)
{
	stats.inbound_rejected++;
	if (status == 403)
		stats.signature_failures++;
	http_reply_text(req, status, why);
}

/* Answers a provider parser's refusal; frees cause. */
static void
webhook_refuse(struct evhttp_request *req, enum provider_parse r, char *cause)
{
	webhook_reject(req, provider_parse_status(r), cause);
	free(cause);
}

/* True if the request came over a connection from this machine (127.0.0.0/8, ::1, ::ffff:127.x). */
static bool
webhook_peer_loopback(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const struct sockaddr *sa = evcon ? evhttp_connection_get_addr(evcon) : NULL;

	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

/*
 * Reads the request into *preq: the body, and the form from the body (if
 * form-encoded) or from the query string. Answers 400 itself and returns
 * false on a malformed form.
 */
static bool
webhook_read(struct evhttp_request *req, const char *path, struct provider_request *preq,
    struct form *form)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	char *cause = NULL, *msg;
	bool is_form = http_content_type_is(req, "application/x-www-form-urlencoded");
	const char *src;

	memset(preq, 0, sizeof *preq);
	memset(form, 0, sizeof *form);
	preq->method = evhttp_request_get_command(req) == EVHTTP_REQ_GET ? "GET" : "POST";
	preq->path = path;
	preq->query = uri ? evhttp_uri_get_query(uri) : NULL;
	preq->body = http_request_body(req, &preq->body_len);
	preq->header = webhook_header;
	preq->header_arg = req;
	preq->peer_loopback = webhook_peer_loopback(req);
	src = is_form ? preq->body : preq->query;
	if (src == NULL)
		return true;
	if (!form_parse(src, is_form ? preq->body_len : strlen(src), form, &cause)) {
		msg = xasprintf("malformed form %s: %s", is_form ? "body" : "query", cause);
		webhook_reject(req, 400, msg);
		free(msg);
		free(cause);
		return false;
	}
	preq->form = form;
	preq->form_is_body = is_form;
	return true;
}

static void
webhook_accept_done(enum intake_result result, int64_t message_id, void *arg)
{
	struct webhook_call *call = arg;
	enum log_level level = result == INTAKE_STORED ? LOG_DEBUG : LOG_INFO;

	http_release(call->ctx);
	stats_observe_webhook_ms(stats_now_ms() - call->started_ms);
	if (result == INTAKE_SPOOLED)
		stats.inbound_spooled++;
	switch (result) {
	case INTAKE_UNAVAILABLE:
		stats.inbound_unavailable++;
		http_reply_text(call->req, 503, "temporarily unable to store the message; retry");
		break;
	case INTAKE_STORED:
	case INTAKE_SPOOLED:
		stats.inbound_stored++;
		/* FALLTHROUGH */
	case INTAKE_DUPLICATE:
		if (result == INTAKE_DUPLICATE)
			stats.inbound_duplicate++;
		/*
		 * A text stored as it came is in the database, with its id and time;
		 * at info only the exceptions (spooled, a provider's retry): a line
		 * per text would be a write per text at load.
		 */
		if (log_enabled(level))
			log_msg(level, "webhook: %s message=%" PRId64 " from %s %s", call->ops->name, message_id,
			    call->from_masked, intake_result_name(result));
		http_reply_body(call->req, 200, call->ops->ok_content_type, call->ops->ok_body);
		break;
	}
	free(call);
}

/*
 * Puts From and To in their one canonical form (phone.h), so a patient is
 * one conversation however the provider wrote the number. What is not a
 * phone number gets 400 with the reason (Twilio does not retry a 4xx: right
 * for input that can never be stored). To may be the clinic's short code.
 */
static bool
webhook_numbers(struct evhttp_request *req, const struct config *cfg, const struct provider_message *msg,
    char *from, char *to)
{
	const char *why;
	char *reason;

	if (!phone_normalize(msg->from, (int)cfg->default_country_code, PHONE_FULL, from, &why)) {
		reason = xasprintf("From is not a phone number: %s", why);
	} else if (!phone_normalize(msg->to, (int)cfg->default_country_code, PHONE_FULL_OR_SHORT, to, &why)) {
		reason = xasprintf("To is not a phone number: %s", why);
	} else {
		return true;
	}
	webhook_reject(req, 400, reason);
	free(reason);
	return false;
}

static void
webhook_inbound(struct evhttp_request *req, struct http_ctx *ctx, const struct provider_ops *ops,
    const struct provider_request *preq)
{
	struct provider_message msg = { 0 };
	struct store_inbound in = { 0 };
	struct webhook_call *call;
	char *cause = NULL, from[PHONE_NORM_MAX], to[PHONE_NORM_MAX];
	double started_ms = stats_now_ms();
	enum provider_parse r = ops->parse_inbound(ctx->cfg, preq, &msg, &cause);

	if (r != PROVIDER_PARSE_OK) {
		webhook_refuse(req, r, cause);
		provider_message_release(&msg);
		return;
	}
	if (!webhook_sid_valid(msg.sid)) {
		webhook_reject(req, 400, "message id must be 1-64 letters, digits, '-', '_', '.' or ':'");
	} else if (!webhook_numbers(req, ctx->cfg, &msg, from, to)) {
		/* answered */
	} else if (strlen(msg.body) > WEBHOOK_MAX_TEXT_BYTES) {
		webhook_reject(req, 413, "message text longer than any SMS");
	} else if (!utf8_valid(msg.body, strlen(msg.body))) {
		webhook_reject(req, 400, "message text is not valid UTF-8");
	} else {
		in.provider = ops->name;
		in.sid = msg.sid;
		in.from = from;
		in.to = to;
		in.body = msg.body;
		in.num_media = msg.num_media;
		in.opt_out_type = msg.opt_out_type;
		call = xcalloc(1, sizeof *call);
		call->req = req;
		call->ctx = ctx;
		call->ops = ops;
		call->started_ms = started_ms;
		log_mask_phone(from, call->from_masked, sizeof call->from_masked);
		http_hold(ctx);
		intake_accept(ctx->intake, &in, webhook_accept_done, call);
	}
	provider_message_release(&msg);  /* db_query copied what it needs */
}

static void
webhook_status_done(const PGresult *res, const char *error, void *arg)
{
	struct webhook_call *call = arg;

	http_release(call->ctx);
	if (error != NULL) {
		log_warn("webhook: could not store delivery report: %s", error);
		http_reply_text(call->req, 503, "temporarily unable to store the report; retry");
	} else {
		stats.delivery_reports++;
		if (!store_col_bool(res, 0, 0))
			log_info("webhook: delivery report for an unknown message id, kept for later");
		http_reply_body(call->req, 200, call->ops->ok_content_type, call->ops->ok_body);
	}
	free(call);
}

static void
webhook_status(struct evhttp_request *req, struct http_ctx *ctx, const struct provider_ops *ops,
    const struct provider_request *preq)
{
	struct provider_report rep = { 0 };
	struct webhook_call *call;
	char *cause = NULL, *error_code;
	enum provider_parse r = ops->parse_status(ctx->cfg, preq, &rep, &cause);

	if (r != PROVIDER_PARSE_OK) {
		webhook_refuse(req, r, cause);
		return;
	}
	if (!webhook_sid_valid(rep.sid)) {
		webhook_reject(req, 400, "message id must be 1-64 letters, digits, '-', '_', '.' or ':'");
		return;
	}
	/* A report's error text (Kannel's SMSC reply) may carry numbers: stored masked. */
	error_code = xstrndup(rep.error_code, WEBHOOK_MAX_ERROR_CODE);
	redact_digits(error_code);
	call = xcalloc(1, sizeof *call);
	call->req = req;
	call->ctx = ctx;
	call->ops = ops;
	http_hold(ctx);
	store_delivery_report(ctx->db, ops->name, rep.sid, rep.status, error_code,
	    webhook_status_done, call);
	free(error_code);
}

void
webhook_sms_handle(struct evhttp_request *req, struct http_ctx *ctx, const struct provider_ops *ops,
    const char *path, bool is_status)
{
	struct provider_request preq;
	struct form form;
	const char *allow = provider_path_method(ops, is_status);
	char *why, *cause = NULL;
	enum provider_parse r;

	if (evhttp_request_get_command(req) != (strcmp(allow, "GET") == 0 ? EVHTTP_REQ_GET : EVHTTP_REQ_POST)) {
		why = xasprintf("method not allowed: %s %s takes %s", ops->name, path, allow);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
		webhook_reject(req, 405, why);
		free(why);
		return;
	}
	if (!webhook_read(req, path, &preq, &form))
		return;
	if ((r = provider_verify(ops, ctx->cfg, &preq, &cause)) != PROVIDER_PARSE_OK)
		webhook_refuse(req, r, cause);
	else if (is_status)
		webhook_status(req, ctx, ops, &preq);
	else
		webhook_inbound(req, ctx, ops, &preq);
	form_free(&form);
}
