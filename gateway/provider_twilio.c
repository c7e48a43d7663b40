/*
 * provider_twilio.c - Twilio's REST Messages API (and compatible services).
 *
 * Sending: POST {TWILIO_API_BASE}/2010-04-01/Accounts/{sid}/Messages.json
 * with basic auth and a form body: From, or MessagingServiceSid when
 * TWILIO_MESSAGING_SERVICE_SID is set (the service picks the sender). 2xx =
 * accepted: the JSON answer carries the message sid that delivery reports
 * will name and the status Twilio gave it (queued; accepted or scheduled
 * through a Messaging Service), which is recorded as is until a status
 * callback moves it on. 429, 5xx and transport errors are temporary, and a
 * Retry-After on a 429 or 503 (seconds or an HTTP date) sets the delay;
 * any other 4xx is a permanent rejection, with Twilio's error code kept
 * (21610, the recipient unsubscribed, opts the patient out: outbox.c).
 *
 * Receiving: the inbound webhook (POST /sms/inbound) and the status
 * callback (POST /sms/status), form-encoded. Each request must carry
 * X-Twilio-Signature: base64 HMAC-SHA1, keyed with
 * the auth token, of PUBLIC_BASE_URL + path (+ "?" + query) followed by
 * every POST parameter as name + value, sorted by name. Compared in
 * constant time. As Twilio's own validators do, the URL is also tried
 * without its port, or with the scheme's default port (:443, :80) when it
 * has none, since Twilio signs the URL as it was configured on its side.
 * Without TWILIO_AUTH_TOKEN nothing can be checked, so every request is
 * refused (config.c also refuses to start without it). An inbound text may
 * carry OptOutType (STOP, START, HELP): Twilio's verdict that the text is an
 * opt-out keyword, passed on to the dialogue.
 */
#include "provider_twilio.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backoff.h"
#include "config.h"
#include "form.h"
#include "http_client.h"
#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

struct provider_twilio {
	struct http_client *http;  /* borrowed */
	char *url;                 /* owned: the Messages endpoint */
	char *userpwd;             /* owned: "sid:token" */
	char *status_callback;     /* owned: our /sms/status URL, or NULL */
	const char *service_sid;   /* borrowed from cfg: the Messaging Service to send through, or NULL */
	long timeout_ms;
	long long retry_after_max_ms;  /* a provider's Retry-After is capped at OUTBOX_BACKOFF_MAX_MS */
};

struct provider_twilio_call {
	provider_send_done_cb *done;
	void *arg;
	long long retry_after_max_ms;
};

static void *
provider_twilio_create(const struct provider_env *env, char **cause)
{
	const struct config *cfg = env->cfg;
	struct provider_twilio *tw;
	size_t base_len = strlen(cfg->twilio_api_base);

	if (!http_client_url_ok(cfg->twilio_api_base)) {
		*cause = xasprintf("TWILIO_API_BASE must start with http:// or https://");
		return NULL;
	}
	tw = xcalloc(1, sizeof *tw);
	tw->http = env->http;
	/* Tolerate a trailing slash in the configured base. */
	if (base_len > 0 && cfg->twilio_api_base[base_len - 1] == '/')
		base_len--;
	tw->url = xasprintf("%.*s/2010-04-01/Accounts/%s/Messages.json", (int)base_len,
	    cfg->twilio_api_base, cfg->twilio_account_sid);
	tw->userpwd = xasprintf("%s:%s", cfg->twilio_account_sid, cfg->twilio_auth_token);
	if (cfg->public_base_url[0] != '\0')
		tw->status_callback = xasprintf("%s/sms/status", cfg->public_base_url);
	if (cfg->twilio_messaging_service_sid[0] != '\0')
		tw->service_sid = cfg->twilio_messaging_service_sid;
	tw->timeout_ms = (long)cfg->provider_timeout_ms;
	tw->retry_after_max_ms = cfg->outbox_backoff_max_ms;
	return tw;
}

static void
provider_twilio_destroy(void *impl)
{
	struct provider_twilio *tw = impl;

	if (tw == NULL)
		return;
	free(tw->url);
	free(tw->userpwd);
	free(tw->status_callback);
	free(tw);
}

/* Twilio's error JSON is {"code": 21211, "message": "..."}; keep both for the record. */
static char *
provider_twilio_error_text(long status, json_t *doc)
{
	const char *message = json_string_value(json_object_get(doc, "message"));
	json_int_t code = json_integer_value(json_object_get(doc, "code"));

	if (message != NULL)
		return xasprintf("HTTP %ld: twilio error %lld: %.200s", status, (long long)code, message);
	return xasprintf("HTTP %ld", status);
}

/* The status Twilio gave a message it took: one that says it is not yet sent, or NULL ("sent"). */
static const char *
provider_twilio_created_status(json_t *doc)
{
	static const char *const waiting[] = { "queued", "accepted", "scheduled", "sending" };
	const char *status = json_string_value(json_object_get(doc, "status"));

	for (size_t i = 0; status != NULL && i < sizeof waiting / sizeof waiting[0]; i++) {
		if (strcmp(status, waiting[i]) == 0)
			return waiting[i];
	}
	return NULL;
}

static void
provider_twilio_done(const struct http_response *resp, void *arg)
{
	struct provider_twilio_call *call = arg;
	struct provider_outcome outcome = { 0 };
	json_t *doc = NULL;
	char *error = NULL;

	if (resp->status == 0) {
		outcome.result = PROVIDER_RETRY;
		error = xasprintf("no response: %s", resp->error);
	} else {
		doc = json_loadb(resp->body, resp->body_len, 0, NULL);
		if (resp->status >= 200 && resp->status < 300) {
			outcome.result = PROVIDER_SENT;
			outcome.provider_sid = json_string_value(json_object_get(doc, "sid"));
			outcome.status = provider_twilio_created_status(doc);
		} else {
			outcome.result = resp->status == 429 || resp->status >= 500 ? PROVIDER_RETRY
			                                                            : PROVIDER_REJECTED;
			outcome.error_code = (long)json_integer_value(json_object_get(doc, "code"));
			if (resp->status == 429 || resp->status == 503)
				outcome.retry_after_ms = backoff_retry_after_ms(resp->retry_after,
				    timeutil_now_ms(), call->retry_after_max_ms);
			error = provider_twilio_error_text(resp->status, doc);
		}
	}
	outcome.error = error;
	call->done(&outcome, call->arg);
	json_decref(doc);
	free(error);
	free(call);
}

static void
provider_twilio_send(void *impl, const struct provider_sms *sms, provider_send_done_cb *done,
    void *arg)
{
	struct provider_twilio *tw = impl;
	struct provider_twilio_call *call = xcalloc(1, sizeof *call);
	const char *kv[8];
	struct http_request req = { 0 };
	size_t n = 0;
	char *body;

	kv[n++] = "To";
	kv[n++] = sms->to;
	/* A Messaging Service picks the sender from its pool; From would override it. */
	kv[n++] = tw->service_sid ? "MessagingServiceSid" : "From";
	kv[n++] = tw->service_sid ? tw->service_sid : sms->from;
	kv[n++] = "Body";
	kv[n++] = sms->body;
	if (tw->status_callback != NULL) {
		kv[n++] = "StatusCallback";
		kv[n++] = tw->status_callback;
	}
	body = form_encode(kv, n / 2);
	call->done = done;
	call->arg = arg;
	call->retry_after_max_ms = tw->retry_after_max_ms;
	req.url = tw->url;
	req.content_type = "application/x-www-form-urlencoded";
	req.body = body;
	req.body_len = strlen(body);
	req.userpwd = tw->userpwd;
	req.timeout_ms = tw->timeout_ms;
	http_client_post(tw->http, &req, provider_twilio_done, call);
	free(body);
}

/* The string Twilio signs: our public URL (base, as Twilio has it), then the sorted parameters. */
static char *
provider_twilio_signed_data(const char *base, const struct provider_request *req)
{
	const struct form *f = req->form;
	size_t n = f ? f->npairs : 0, *order = xcalloc(n + 1, sizeof *order), len;
	char *data = xasprintf("%s%s%s%s", base, req->path, req->query ? "?" : "",
	    req->query ? req->query : "");

	/* Insertion sort by name keeps equal names in arrival order, as Twilio does. */
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		while (j > 0 && strcmp(f->pairs[order[j - 1]].name, f->pairs[i].name) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (size_t i = 0; i < n; i++) {
		const struct strpair *p = &f->pairs[order[i]];

		len = strlen(data);
		data = xrealloc(data, len + strlen(p->name) + strlen(p->value) + 1);
		strcpy(data + len, p->name);
		strcat(data + len, p->value);
	}
	free(order);
	return data;
}

/*
 * The other spelling of base Twilio's validators accept: without the port
 * if it has one, else with the scheme's default port. NULL when base is not
 * an http(s) URL. Caller frees.
 */
static char *
provider_twilio_base_variant(const char *base)
{
	const char *host, *end, *colon, *bracket;
	bool https = strncmp(base, "https://", 8) == 0;

	if (!https && strncmp(base, "http://", 7) != 0)
		return NULL;
	host = base + (https ? 8 : 7);
	end = host + strcspn(host, "/?#");
	/* An IPv6 literal's port follows its "]". */
	bracket = host[0] == '[' ? memchr(host, ']', (size_t)(end - host)) : NULL;
	colon = memchr(bracket ? bracket : host, ':', (size_t)(end - (bracket ? bracket : host)));
	if (colon != NULL)
		return xasprintf("%.*s%s", (int)(colon - base), base, end);
	return xasprintf("%.*s:%s%s", (int)(end - base), base, https ? "443" : "80", end);
}

/* Whether sig is Twilio's signature of the request with base as our URL. */
static bool
provider_twilio_signature_ok(const struct config *cfg, const char *base,
    const struct provider_request *req, const char *sig)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char expect[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1], *data;

	data = provider_twilio_signed_data(base, req);
	HMAC(EVP_sha1(), cfg->twilio_auth_token, (int)strlen(cfg->twilio_auth_token),
	    (const unsigned char *)data, strlen(data), mac, &maclen);
	free(data);
	EVP_EncodeBlock((unsigned char *)expect, mac, (int)maclen);
	return strlen(sig) == strlen(expect) && CRYPTO_memcmp(sig, expect, strlen(expect)) == 0;
}

/* Checks X-Twilio-Signature; with no auth token configured, refuses everything. */
static enum provider_parse
provider_twilio_verify(const struct config *cfg, const struct provider_request *req, char **cause)
{
	const char *sig;
	char *variant;
	bool ok;

	if (cfg->twilio_auth_token[0] == '\0') {
		*cause = xstrdup("Twilio webhooks are off: TWILIO_AUTH_TOKEN is not set");
		return PROVIDER_PARSE_FORBIDDEN;
	}
	sig = req->header(req->header_arg, "X-Twilio-Signature");
	if (sig == NULL) {
		*cause = xstrdup("missing X-Twilio-Signature");
		return PROVIDER_PARSE_FORBIDDEN;
	}
	ok = provider_twilio_signature_ok(cfg, cfg->public_base_url, req, sig);
	if (!ok && (variant = provider_twilio_base_variant(cfg->public_base_url)) != NULL) {
		ok = provider_twilio_signature_ok(cfg, variant, req, sig);
		free(variant);
	}
	if (!ok) {
		*cause = xstrdup("X-Twilio-Signature does not match");
		return PROVIDER_PARSE_FORBIDDEN;
	}
	return PROVIDER_PARSE_OK;
}

/* Twilio posts forms; anything else is not Twilio. */
static enum provider_parse
provider_twilio_check_form(const struct provider_request *req, char **cause)
{
	if (strcmp(req->method, "POST") != 0) {
		*cause = xstrdup("method not allowed: Twilio webhooks are POSTs");
		return PROVIDER_PARSE_METHOD;
	}
	if (req->form == NULL || !req->form_is_body) {
		*cause = xstrdup("Content-Type must be application/x-www-form-urlencoded");
		return PROVIDER_PARSE_MEDIA_TYPE;
	}
	return PROVIDER_PARSE_OK;
}

/* Twilio's OptOutType, as the dialogue knows it; NULL for none or one it does not know. */
static const char *
provider_twilio_opt_out_type(const char *value)
{
	static const char *const known[] = { "STOP", "START", "HELP" };

	for (size_t i = 0; value != NULL && i < sizeof known / sizeof known[0]; i++) {
		if (strcasecmp(value, known[i]) == 0)
			return known[i];
	}
	if (value != NULL && value[0] != '\0')
		log_debug("twilio: OptOutType %.16s not known; the text is read as it is", value);
	return NULL;
}

enum provider_parse
provider_twilio_read_inbound(const struct config *cfg, const struct provider_request *req,
    struct provider_message *out, char **cause)
{
	enum provider_parse r;
	const char *media;

	(void)cfg;
	if ((r = provider_twilio_check_form(req, cause)) != PROVIDER_PARSE_OK)
		return r;
	out->sid = form_get(req->form, "MessageSid");
	if (out->sid == NULL)
		out->sid = form_get(req->form, "SmsSid");
	out->from = form_get(req->form, "From");
	out->to = form_get(req->form, "To");
	out->body = form_get(req->form, "Body");
	if (out->body == NULL)
		out->body = "";  /* a picture with no text */
	if (out->sid == NULL || out->from == NULL || out->to == NULL) {
		*cause = xstrdup("missing field: MessageSid, From and To are required");
		return PROVIDER_PARSE_BAD;
	}
	media = form_get(req->form, "NumMedia");
	if (media != NULL && (media[0] == '\0' || strspn(media, "0123456789") != strlen(media) ||
	    strlen(media) > 2)) {
		*cause = xstrdup("NumMedia must be a small number");
		return PROVIDER_PARSE_BAD;
	}
	out->num_media = media ? atoi(media) : 0;
	out->opt_out_type = provider_twilio_opt_out_type(form_get(req->form, "OptOutType"));
	return PROVIDER_PARSE_OK;
}

enum provider_parse
provider_twilio_read_status(const struct config *cfg, const struct provider_request *req,
    struct provider_report *out, char **cause)
{
	/* Every MessageStatus Twilio has: a 4xx would make it retry and alert. */
	static const char *const known[] = { "accepted", "scheduled", "canceled", "queued", "sending",
		"sent", "failed", "delivered", "undelivered", "receiving", "received", "read",
		"partially_delivered", NULL };
	enum provider_parse r;
	const char *const *k;

	(void)cfg;
	if ((r = provider_twilio_check_form(req, cause)) != PROVIDER_PARSE_OK)
		return r;
	out->sid = form_get(req->form, "MessageSid");
	out->status = form_get(req->form, "MessageStatus");
	out->error_code = form_get(req->form, "ErrorCode");
	if (out->error_code == NULL)
		out->error_code = "";
	if (out->sid == NULL || out->status == NULL) {
		*cause = xstrdup("missing field: MessageSid and MessageStatus are required");
		return PROVIDER_PARSE_BAD;
	}
	for (k = known; *k != NULL && strcmp(*k, out->status) != 0; k++)
		;
	if (*k == NULL) {
		*cause = xstrdup("unknown MessageStatus");
		return PROVIDER_PARSE_BAD;
	}
	return PROVIDER_PARSE_OK;
}

/* The form's shape, then the signature, before any field is read. */
static enum provider_parse
provider_twilio_check(const struct config *cfg, const struct provider_request *req, char **cause)
{
	enum provider_parse r = provider_twilio_check_form(req, cause);

	return r != PROVIDER_PARSE_OK ? r : provider_twilio_verify(cfg, req, cause);
}

const struct provider_ops provider_twilio_ops = {
	.name = "twilio",
	.create = provider_twilio_create,
	.destroy = provider_twilio_destroy,
	.send = provider_twilio_send,
	.verify = provider_twilio_check,
	PROVIDER_TWILIO_WEBHOOKS,
};
