/*
 * webhook_sms.c - Twilio's inbound SMS webhook and delivery status callback.
 *
 * POST /sms/inbound: the message is committed (carenav_inbound_accept)
 * before the 200; a retried MessageSid is stored once and answered once.
 * The reply goes out through the outbox, so the 200 carries an empty TwiML
 * <Response/>. If the database cannot take the message we answer 503 and the
 * provider retries. Bad input gets a 4xx that says what is wrong and stores
 * nothing.
 *
 * POST /sms/status: MessageSid + MessageStatus update the outbound message.
 */
#include "http_server.h"

#include <event2/http.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "form.h"
#include "inbound.h"
#include "log.h"
#include "phone.h"
#include "stats.h"
#include "store.h"
#include "xmalloc.h"

#define WEBHOOK_PROVIDER "twilio"
#define WEBHOOK_MAX_SID 64
/* Twilio joins long texts up to 1600 characters; 4 bytes each at worst. */
#define WEBHOOK_MAX_TEXT_BYTES 6400
#define WEBHOOK_TWIML_EMPTY "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>"

/* A request waiting for the database. */
struct webhook_call {
	struct evhttp_request *req;
	struct http_ctx *ctx;
	char from_masked[16];
};

static bool
webhook_sid_valid(const char *sid)
{
	size_t n = strlen(sid);

	if (n == 0 || n > WEBHOOK_MAX_SID)
		return false;
	for (const char *p = sid; *p != '\0'; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_'))
			return false;
	}
	return true;
}

/* Parses a form webhook or answers the 4xx itself; true when form is ready to use. */
static bool
webhook_parse_form(struct evhttp_request *req, struct form *form)
{
	size_t len;
	const char *body;
	char *cause = NULL, *msg;

	if (!http_content_type_is(req, "application/x-www-form-urlencoded")) {
		stats.inbound_rejected++;
		http_reply_text(req, 415, "Content-Type must be application/x-www-form-urlencoded");
		return false;
	}
	body = http_request_body(req, &len);
	if (!form_parse(body, len, form, &cause)) {
		stats.inbound_rejected++;
		msg = xasprintf("malformed form body: %s", cause);
		http_reply_text(req, 400, msg);
		free(msg);
		free(cause);
		return false;
	}
	return true;
}

static void
webhook_sms_accept_done(const PGresult *res, const char *error, void *arg)
{
	struct webhook_call *call = arg;

	http_release(call->ctx);
	if (error != NULL) {
		stats.inbound_unavailable++;
		log_warn("webhook: could not store message from %s: %s", call->from_masked, error);
		http_reply_text(call->req, 503, "temporarily unable to store the message; retry");
	} else {
		int64_t message_id = store_col_int64(res, 0, 0);
		int64_t conversation_id = store_col_int64(res, 0, 1);
		bool is_new = store_col_bool(res, 0, 2);

		log_info("webhook: message=%" PRId64 " conversation=%" PRId64 " from %s %s", message_id,
		    conversation_id, call->from_masked, is_new ? "stored" : "duplicate, already stored");
		http_reply_body(call->req, 200, "text/xml", WEBHOOK_TWIML_EMPTY);
		if (is_new) {
			stats.inbound_stored++;
			inbound_kick(call->ctx->inbound, conversation_id);
		} else {
			stats.inbound_duplicate++;
		}
	}
	free(call);
}

static void
webhook_sms_inbound(struct evhttp_request *req, struct http_ctx *ctx)
{
	struct form form;
	struct store_inbound in = { 0 };
	struct webhook_call *call;
	const char *media;

	if (!webhook_parse_form(req, &form))
		return;
	in.provider = WEBHOOK_PROVIDER;
	in.sid = form_get(&form, "MessageSid");
	if (in.sid == NULL)
		in.sid = form_get(&form, "SmsSid");
	in.from = form_get(&form, "From");
	in.to = form_get(&form, "To");
	in.body = form_get(&form, "Body");
	media = form_get(&form, "NumMedia");
	if (in.body == NULL)
		in.body = "";
	if (in.sid == NULL || in.from == NULL || in.to == NULL || !webhook_sid_valid(in.sid) ||
	    !phone_valid(in.from) || !phone_valid(in.to) || strlen(in.body) > WEBHOOK_MAX_TEXT_BYTES)
		stats.inbound_rejected++;
	if (in.sid == NULL || in.from == NULL || in.to == NULL) {
		http_reply_text(req, 400, "missing field: MessageSid, From and To are required");
	} else if (!webhook_sid_valid(in.sid)) {
		http_reply_text(req, 400, "MessageSid must be 1-64 letters, digits, '-' or '_'");
	} else if (!phone_valid(in.from) || !phone_valid(in.to)) {
		http_reply_text(req, 400, "From and To must be phone numbers");
	} else if (strlen(in.body) > WEBHOOK_MAX_TEXT_BYTES) {
		http_reply_text(req, 413, "Body longer than any SMS");
	} else if (media != NULL && (strspn(media, "0123456789") != strlen(media) || strlen(media) > 2)) {
		http_reply_text(req, 400, "NumMedia must be a small number");
	} else {
		in.num_media = media ? atoi(media) : 0;
		call = xcalloc(1, sizeof *call);
		call->req = req;
		call->ctx = ctx;
		log_mask_phone(in.from, call->from_masked, sizeof call->from_masked);
		http_hold(ctx);
		store_inbound_accept(ctx->db, &in, webhook_sms_accept_done, call);
	}
	form_free(&form);
}

/* Statuses Twilio reports for outbound messages. */
static bool
webhook_status_known(const char *status)
{
	static const char *const known[] = { "accepted", "scheduled", "queued", "sending", "sent",
		"delivered", "undelivered", "failed", "read", "canceled", NULL };

	for (const char *const *k = known; *k != NULL; k++) {
		if (strcmp(*k, status) == 0)
			return true;
	}
	return false;
}

static void
webhook_sms_status_done(const PGresult *res, const char *error, void *arg)
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
		http_reply_text(call->req, 200, "ok");
	}
	free(call);
}

static void
webhook_sms_status(struct evhttp_request *req, struct http_ctx *ctx)
{
	struct form form;
	struct webhook_call *call;
	const char *sid, *status, *error_code;

	if (!webhook_parse_form(req, &form))
		return;
	sid = form_get(&form, "MessageSid");
	status = form_get(&form, "MessageStatus");
	error_code = form_get(&form, "ErrorCode");
	if (sid == NULL || status == NULL) {
		http_reply_text(req, 400, "missing field: MessageSid and MessageStatus are required");
	} else if (!webhook_sid_valid(sid)) {
		http_reply_text(req, 400, "MessageSid must be 1-64 letters, digits, '-' or '_'");
	} else if (!webhook_status_known(status)) {
		http_reply_text(req, 400, "unknown MessageStatus");
	} else {
		call = xcalloc(1, sizeof *call);
		call->req = req;
		call->ctx = ctx;
		http_hold(ctx);
		store_delivery_report(ctx->db, WEBHOOK_PROVIDER, sid, status,
		    error_code ? error_code : "", webhook_sms_status_done, call);
	}
	form_free(&form);
}

const struct http_route webhook_sms_inbound_route = { "POST", "/sms/inbound", webhook_sms_inbound };
const struct http_route webhook_sms_status_route = { "POST", "/sms/status", webhook_sms_status };
