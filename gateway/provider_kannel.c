/*
 * provider_kannel.c - Kannel (bearerbox + smsbox), for clinics with a GSM
 * modem or an SMPP link to an operator and no internet.
 *
 * Sending: GET {KANNEL_SENDSMS_URL}?username&password&from&to&text with
 * charset=UTF-8, and coding=2 (UCS-2) whenever the text is not all GSM 03.38
 * (the same test the segmenter splits by, so a part that fits one SMS for
 * carenav fits one for Kannel; Kannel's own 7-bit conversion would turn
 * á, í, ó, ú and emoji into '?'). A text still longer than one SMS is split
 * by Kannel with concatenation headers when the sendsms-user allows
 * max-messages > 1 (deploy/kannel/kannel.conf does). Each send asks for
 * delivery reports (dlr-mask) on a dlr-url that carries the outbox id as
 * "K<outbox_id>", which is also the provider id we record, so a report can
 * arrive before the send is recorded and still find its message.
 *
 * Kannel's answers: 202 "0: Accepted for delivery" and 202 "3: Queued for
 * later delivery" = sent; no answer (smsbox down), 5xx (503 is Kannel's
 * "temporal failure") and 403 "Authorization failed" (a configuration
 * fault that an operator fixes, not this message's) = retry with backoff;
 * any other 4xx (bad number, denied prefix, text too long) = rejected.
 *
 * Receiving: an sms-service with post-url (POST /sms/kannel/inbound) and
 * the dlr-url (GET /sms/kannel/status). Kannel signs nothing, so both URLs
 * carry ?secret=KANNEL_SHARED_SECRET, compared in constant time
 * (provider_secret_check: the length does not leak either).
 * The inbound id is Kannel's internal message id (%I, a UUID that stays the
 * same when smsbox retries the post), the numbers come from X-Kannel-From
 * and X-Kannel-To, and the text is the body in the charset its
 * Content-Type names (UTF-8, or UTF-16BE for UCS-2 that smsbox could not
 * recode), converted to UTF-8 here.
 */
#include "provider.h"

#include <errno.h>
#include <iconv.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "form.h"
#include "http_client.h"
#include "log.h"
#include "segment.h"
#include "xmalloc.h"

#define KANNEL_INBOUND_PATH "/sms/kannel/inbound"
#define KANNEL_STATUS_PATH "/sms/kannel/status"
/* Kannel's answer bodies are one short line; keep a little for the record. */
#define KANNEL_ERROR_MAX 160

/*
 * Kannel's delivery report types (the %d of a dlr-url): one bit of the
 * dlr-mask each, and the carenav status it means.
 */
#define KANNEL_DLR_LIST(X)                                                          \
	X(1, "delivered")    /* delivered to the phone */                                   \
	X(2, "undelivered")  /* the network gave up on the phone */                          \
	X(4, "queued")       /* buffered by the SMSC (phone off): still on its way */         \
	X(8, "sent")         /* accepted by the SMSC (or the modem) */                       \
	X(16, "failed")      /* rejected by the SMSC */

static const struct {
	const char *type;    /* as Kannel writes %d */
	const char *status;  /* carenav's name */
} kannel_dlr_types[] = {
#define X(value, name) { #value, name },
	KANNEL_DLR_LIST(X)
#undef X
};

struct provider_kannel {
	struct http_client *http;   /* borrowed */
	const struct config *cfg;   /* borrowed */
	char *dlr_base;             /* owned: our status URL as Kannel reaches it, with ?secret= */
	long timeout_ms;
};

struct provider_kannel_call {
	provider_send_done_cb *done;
	void *arg;
	char sid[32];               /* "K<outbox_id>" */
};

static void *
provider_kannel_create(const struct provider_env *env, char **cause)
{
	const struct config *cfg = env->cfg;
	struct provider_kannel *k;
	const char *kv[] = { "secret", cfg->kannel_shared_secret };
	char *base, *secret;
	size_t len;

	if (!http_client_url_ok(cfg->kannel_sendsms_url)) {
		*cause = xasprintf("KANNEL_SENDSMS_URL must start with http:// or https://");
		return NULL;
	}
	k = xcalloc(1, sizeof *k);
	k->http = env->http;
	k->cfg = cfg;
	k->timeout_ms = (long)cfg->provider_timeout_ms;
	/* Kannel usually runs beside carenav: without a public URL, our own listener. */
	if (cfg->public_base_url[0] != '\0')
		base = xstrdup(cfg->public_base_url);
	else
		base = xasprintf("http://%s:%lld", cfg->http_host, cfg->http_port);
	len = strlen(base);
	if (len > 0 && base[len - 1] == '/')
		base[len - 1] = '\0';
	secret = form_encode(kv, 1);
	k->dlr_base = xasprintf("%s" KANNEL_STATUS_PATH "?%s", base, secret);
	free(secret);
	free(base);
	return k;
}

static void
provider_kannel_destroy(void *impl)
{
	struct provider_kannel *k = impl;

	if (k == NULL)
		return;
	free(k->dlr_base);
	free(k);
}

/* Kannel's one-line answer, trimmed and made printable, for the outbox's record. */
static char *
provider_kannel_error_text(long status, const char *body)
{
	char text[KANNEL_ERROR_MAX + 1];
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)body; *p != '\0' && n < KANNEL_ERROR_MAX;
	    p++)
		text[n++] = (*p < 32 || *p > 126) ? ' ' : (char)*p;
	while (n > 0 && text[n - 1] == ' ')
		n--;
	text[n] = '\0';
	return xasprintf("HTTP %ld: kannel: %s", status, n ? text : "(no text)");
}

/* Maps Kannel's sendsms answer onto the outbox's three outcomes. */
static enum provider_result
provider_kannel_classify(long status, const char *body)
{
	if (status == 0 || status >= 500 || status == 408 || status == 429)
		return PROVIDER_RETRY;
	if (status >= 200 && status < 300)
		return PROVIDER_SENT;
	/* Wrong KANNEL_USERNAME/PASSWORD: every message would fail; keep them until fixed. */
	if ((status == 401 || status == 403) && strstr(body, "Authorization") != NULL)
		return PROVIDER_RETRY;
	return PROVIDER_REJECTED;
}

static void
provider_kannel_done(const struct http_response *resp, void *arg)
{
	struct provider_kannel_call *call = arg;
	struct provider_outcome outcome = { 0 };
	char *error = NULL;

	outcome.result = provider_kannel_classify(resp->status, resp->body);
	if (resp->status == 0)
		error = xasprintf("no response from Kannel's sendsms: %s", resp->error);
	else if (outcome.result != PROVIDER_SENT)
		error = provider_kannel_error_text(resp->status, resp->body);
	else
		outcome.provider_sid = call->sid;
	outcome.error = error;
	call->done(&outcome, call->arg);
	free(error);
	free(call);
}

static void
provider_kannel_send(void *impl, const struct provider_sms *sms, provider_send_done_cb *done,
    void *arg)
{
	struct provider_kannel *k = impl;
	const struct config *cfg = k->cfg;
	struct provider_kannel_call *call = xcalloc(1, sizeof *call);
	struct http_request req = { 0 };
	enum segment_encoding enc = SEGMENT_GSM7;
	char mask[8], *dlr_url = NULL, *query, *url;
	size_t n = 0;
	const char *kv[20];

	(void)segment_count(sms->body, strlen(sms->body), &enc);
	call->done = done;
	call->arg = arg;
	snprintf(call->sid, sizeof call->sid, "K%lld", sms->outbox_id);
	kv[n++] = "username";
	kv[n++] = cfg->kannel_username;
	kv[n++] = "password";
	kv[n++] = cfg->kannel_password;
	kv[n++] = "from";
	kv[n++] = sms->from;
	kv[n++] = "to";
	kv[n++] = sms->to;
	kv[n++] = "text";
	kv[n++] = sms->body;
	kv[n++] = "charset";
	kv[n++] = "UTF-8";
	kv[n++] = "coding";
	kv[n++] = enc == SEGMENT_UCS2 ? "2" : "0";
	if (cfg->kannel_dlr_mask > 0) {
		/* %d and %A are Kannel's escapes: the report type and the SMSC's reply text. */
		dlr_url = xasprintf("%s&id=%s&type=%%d&reply=%%A", k->dlr_base, call->sid);
		snprintf(mask, sizeof mask, "%lld", cfg->kannel_dlr_mask);
		kv[n++] = "dlr-mask";
		kv[n++] = mask;
		kv[n++] = "dlr-url";
		kv[n++] = dlr_url;
	}
	if (cfg->kannel_smsc[0] != '\0') {
		kv[n++] = "smsc";
		kv[n++] = cfg->kannel_smsc;
	}
	query = form_encode(kv, n / 2);
	url = xasprintf("%s%c%s", cfg->kannel_sendsms_url,
	    strchr(cfg->kannel_sendsms_url, '?') ? '&' : '?', query);
	req.url = url;
	req.timeout_ms = k->timeout_ms;
	http_client_get(k->http, &req, provider_kannel_done, call);
	free(url);
	free(query);
	free(dlr_url);
}

/* The ?secret= parameter against KANNEL_SHARED_SECRET, in constant time. */
static enum provider_parse
provider_kannel_verify(const struct config *cfg, const struct form *query, char **cause)
{
	const char *given = query ? form_get(query, "secret") : NULL;

	if (cfg->kannel_shared_secret[0] == '\0') {
		*cause = xstrdup("Kannel webhooks are off: KANNEL_SHARED_SECRET is not set");
		return PROVIDER_PARSE_FORBIDDEN;
	}
	return provider_secret_check(cfg->kannel_shared_secret, given, "secret", cause);
}

/* The query string's parameters: Kannel puts ours (secret, id...) there, never in a form body. */
static const struct form *
provider_kannel_query(const struct provider_request *req)
{
	return req->form_is_body ? NULL : req->form;
}

/* The webhook's method (else *cause says how to set Kannel up: why), then its shared secret. */
static enum provider_parse
provider_kannel_check(const struct config *cfg, const struct provider_request *req, const char *method,
    const char *why, char **cause)
{
	if (strcmp(req->method, method) != 0) {
		*cause = xasprintf("method not allowed: %s", why);
		return PROVIDER_PARSE_METHOD;
	}
	return provider_kannel_verify(cfg, provider_kannel_query(req), cause);
}

/* The charset parameter of a Content-Type value, into buf; "" when there is none. */
static void
provider_kannel_charset(const char *ctype, char *buf, size_t size)
{
	const char *p = ctype ? strcasestr(ctype, "charset=") : NULL;
	size_t n = 0;

	buf[0] = '\0';
	if (p == NULL)
		return;
	p += strlen("charset=");
	if (*p == '"')
		p++;
	while (*p != '\0' && *p != '"' && *p != ';' && *p != ' ' && n + 1 < size)
		buf[n++] = *p++;
	buf[n] = '\0';
}

/* Converts len bytes in charset to a new UTF-8 string; NULL if they are not valid in it. */
static char *
provider_kannel_to_utf8(const char *charset, const char *in, size_t len)
{
	iconv_t cd = iconv_open("UTF-8", charset);
	size_t room = 4 * len + 1, left = room - 1;
	char *out, *op, *ip = (char *)(uintptr_t)in;

	if (cd == (iconv_t)-1)
		return NULL;
	out = xmalloc(room);
	op = out;
	if (iconv(cd, &ip, &len, &op, &left) == (size_t)-1) {
		free(out);
		out = NULL;
	} else {
		*op = '\0';
	}
	iconv_close(cd);
	return out;
}

static enum provider_parse
provider_kannel_parse_inbound(const struct config *cfg, const struct provider_request *req,
    struct provider_message *out, char **cause)
{
	const struct form *query = provider_kannel_query(req);
	const char *coding = req->header(req->header_arg, "X-Kannel-Coding");
	char charset[32];
	enum provider_parse r;

	r = provider_kannel_check(cfg, req, "POST", "configure the sms-service with post-url", cause);
	if (r != PROVIDER_PARSE_OK)
		return r;
	out->sid = form_get(query, "id");
	out->from = req->header(req->header_arg, "X-Kannel-From");
	out->to = req->header(req->header_arg, "X-Kannel-To");
	if (out->sid == NULL || out->from == NULL || out->to == NULL) {
		*cause = xstrdup("missing field: the post-url needs id=%I, and the sms-service "
		    "send-sender = true (X-Kannel-From, X-Kannel-To)");
		return PROVIDER_PARSE_BAD;
	}
	if (coding != NULL && strcmp(coding, "1") == 0) {
		*cause = xstrdup("8-bit (binary) SMS are not supported");
		return PROVIDER_PARSE_MEDIA_TYPE;
	}
	provider_kannel_charset(req->header(req->header_arg, "Content-Type"), charset, sizeof charset);
	if (charset[0] == '\0')
		strcpy(charset, coding != NULL && strcmp(coding, "2") == 0 ? "UTF-16BE" : "UTF-8");
	if (strcasecmp(charset, "UTF-8") == 0 || strcasecmp(charset, "UTF8") == 0) {
		if (memchr(req->body, '\0', req->body_len) != NULL) {
			*cause = xstrdup("message text is not valid UTF-8");
			return PROVIDER_PARSE_BAD;
		}
		out->body = req->body;
	} else {
		out->owned = provider_kannel_to_utf8(charset, req->body, req->body_len);
		if (out->owned == NULL || (out->owned[0] == '\0' && req->body_len > 0)) {
			*cause = xasprintf("message text is not valid %.31s", charset);
			return PROVIDER_PARSE_BAD;
		}
		out->body = out->owned;
	}
	if (req->header(req->header_arg, "X-Kannel-Time") != NULL)
		log_debug("kannel: inbound id=%s, SMSC time %s", out->sid,
		    req->header(req->header_arg, "X-Kannel-Time"));
	out->num_media = 0;
	return PROVIDER_PARSE_OK;
}

static enum provider_parse
provider_kannel_parse_status(const struct config *cfg, const struct provider_request *req,
    struct provider_report *out, char **cause)
{
	const struct form *query = provider_kannel_query(req);
	const char *type;
	enum provider_parse r;

	r = provider_kannel_check(cfg, req, "GET", "Kannel fetches the dlr-url with GET", cause);
	if (r != PROVIDER_PARSE_OK)
		return r;
	out->sid = form_get(query, "id");
	type = form_get(query, "type");
	if (out->sid == NULL || type == NULL) {
		*cause = xstrdup("missing field: id and type are required");
		return PROVIDER_PARSE_BAD;
	}
	out->status = NULL;
	for (size_t i = 0; i < sizeof kannel_dlr_types / sizeof kannel_dlr_types[0]; i++) {
		if (strcmp(type, kannel_dlr_types[i].type) == 0)
			out->status = kannel_dlr_types[i].status;
	}
	if (out->status == NULL) {
		*cause = xstrdup("unknown delivery report type");
		return PROVIDER_PARSE_BAD;
	}
	out->error_code = "";
	if (strcmp(out->status, "undelivered") == 0 || strcmp(out->status, "failed") == 0) {
		out->error_code = form_get(query, "reply");
		if (out->error_code == NULL || out->error_code[0] == '\0')
			out->error_code = type[0] == '2' ? "kannel dlr 2" : "kannel dlr 16";
	}
	return PROVIDER_PARSE_OK;
}

const struct provider_ops provider_kannel_ops = {
	.name = "kannel",
	.create = provider_kannel_create,
	.destroy = provider_kannel_destroy,
	.send = provider_kannel_send,
	.inbound_path = KANNEL_INBOUND_PATH,
	.status_path = KANNEL_STATUS_PATH,
	.inbound_method = "POST",
	.status_method = "GET",
	/* Empty: the sms-service has max-messages = 0 and sends nothing back itself. */
	.ok_content_type = "text/plain",
	.ok_body = "",
	.parse_inbound = provider_kannel_parse_inbound,
	.parse_status = provider_kannel_parse_status,
};
