/*
 * provider.c - the registry of SMS providers. See provider.h.
 */
#include "provider.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "enum_name.h"
#include "form.h"
#include "xmalloc.h"

extern const struct provider_ops provider_sandbox_ops;
extern const struct provider_ops provider_twilio_ops;
extern const struct provider_ops provider_kannel_ops;

/* Every provider the gateway knows, by SMS_PROVIDER name. */
static const struct provider_ops *const provider_table[] = {
	&provider_sandbox_ops,
	&provider_twilio_ops,
	&provider_kannel_ops,
};

/* The name of a result ("retry"), for logs and the outbox's record. */
CN_ENUM_NAME(provider_result_name, enum provider_result, PROVIDER_RESULT_LIST)

void
provider_message_release(struct provider_message *msg)
{
	free(msg->owned);
	msg->owned = NULL;
}

int
provider_parse_status(enum provider_parse result)
{
	switch (result) {
#define X(id, status) case id: return status;
	PROVIDER_PARSE_LIST(X)
#undef X
	}
	return 500;
}

const struct provider_ops *
provider_find(const char *name)
{
	for (size_t i = 0; i < sizeof provider_table / sizeof provider_table[0]; i++) {
		if (strcmp(provider_table[i]->name, name) == 0)
			return provider_table[i];
	}
	return NULL;
}

const struct provider_ops *
provider_for_path(const char *name, const char *path, bool *is_status)
{
	const struct provider_ops *ops = provider_find(name);

	if (ops == NULL)
		return NULL;
	if (ops->inbound_path != NULL && strcmp(ops->inbound_path, path) == 0) {
		*is_status = false;
		return ops;
	}
	if (ops->status_path != NULL && strcmp(ops->status_path, path) == 0) {
		*is_status = true;
		return ops;
	}
	return NULL;
}

const char *
provider_path_method(const struct provider_ops *ops, bool is_status)
{
	return is_status ? ops->status_method : ops->inbound_method;
}

enum provider_parse
provider_verify(const struct provider_ops *ops, const struct config *cfg, const struct provider_request *req,
    char **cause)
{
	return ops->verify != NULL ? ops->verify(cfg, req, cause) : PROVIDER_PARSE_OK;
}

/* Compares the SHA-256 digests, so that neither the secret's bytes nor its length leak. */
static bool
provider_secret_equal(const char *secret, const char *given)
{
	unsigned char want[SHA256_DIGEST_LENGTH], got[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)secret, strlen(secret), want);
	SHA256((const unsigned char *)given, strlen(given), got);
	return CRYPTO_memcmp(want, got, sizeof want) == 0;
}

enum provider_parse
provider_secret_check(const char *secret, const char *given, const char *name, char **cause)
{
	if (given == NULL) {
		*cause = xasprintf("missing %s", name);
		return PROVIDER_PARSE_FORBIDDEN;
	}
	if (!provider_secret_equal(secret, given)) {
		*cause = xasprintf("wrong %s", name);
		return PROVIDER_PARSE_FORBIDDEN;
	}
	return PROVIDER_PARSE_OK;
}

/* The probe's headers: the numbers Kannel would send, and no credential of any kind. */
static const char *
provider_probe_header(void *arg, const char *name)
{
	(void)arg;
	if (strcasecmp(name, "X-Kannel-From") == 0)
		return "+15550000001";
	if (strcasecmp(name, "X-Kannel-To") == 0)
		return "+15550000002";
	return NULL;
}

bool
provider_webhook_open(const struct provider_ops *ops, const struct config *cfg, bool is_status,
    bool peer_loopback)
{
	/* Every field any provider reads, once as a form body and once as the query string. */
	static const char probe[] = "MessageSid=SMprobe&SmsSid=SMprobe&From=%2B15550000001"
	    "&To=%2B15550000002&Body=probe&NumMedia=0&MessageStatus=delivered&id=probe&type=1";
	struct provider_request req = { 0 };
	struct form form;
	char *cause = NULL;
	bool open = false;

	if ((is_status ? ops->status_path : ops->inbound_path) == NULL)
		return false;
	if (!form_parse(probe, strlen(probe), &form, &cause)) {
		free(cause);
		return false;
	}
	req.method = provider_path_method(ops, is_status);
	req.path = is_status ? ops->status_path : ops->inbound_path;
	req.form = &form;
	req.header = provider_probe_header;
	req.peer_loopback = peer_loopback;
	for (int as_body = 0; as_body < 2 && !open; as_body++) {
		struct provider_message msg = { 0 };
		struct provider_report rep = { 0 };
		enum provider_parse r;

		req.form_is_body = as_body;
		req.query = as_body ? NULL : probe;
		req.body = as_body ? probe : "probe";
		req.body_len = strlen(req.body);
		r = provider_verify(ops, cfg, &req, &cause);
		if (r == PROVIDER_PARSE_OK)
			r = is_status ? ops->parse_status(cfg, &req, &rep, &cause) :
			    ops->parse_inbound(cfg, &req, &msg, &cause);
		open = r == PROVIDER_PARSE_OK;
		provider_message_release(&msg);
		free(cause);
		cause = NULL;
	}
	form_free(&form);
	return open;
}

bool
provider_open(struct provider *p, const struct provider_env *env, char **cause)
{
	p->ops = provider_find(env->cfg->sms_provider);
	if (p->ops != NULL) {
		p->impl = p->ops->create(env, cause);
		return p->impl != NULL;
	}
	*cause = xasprintf("SMS_PROVIDER: unknown provider \"%s\"", env->cfg->sms_provider);
	return false;
}

void
provider_close(struct provider *p)
{
	if (p->ops != NULL)
		p->ops->destroy(p->impl);
	p->ops = NULL;
	p->impl = NULL;
}

void
provider_send(struct provider *p, const struct provider_sms *sms, provider_send_done_cb *done,
    void *arg)
{
	p->ops->send(p->impl, sms, done, arg);
}

/*
 * What one message may be with the configured provider: Twilio takes a body
 * of up to 1600 characters (the sandbox stands in for it); Kannel joins up to
 * its sendsms-user's max-messages segments and drops the rest silently, so
 * KANNEL_MAX_MESSAGES must not exceed what kannel.conf says (carenav doctor).
 */
void
provider_limit(const struct config *cfg, struct segment_limit *out)
{
	memset(out, 0, sizeof *out);
	if (strcmp(cfg->sms_provider, "kannel") == 0)
		out->max_segments = (size_t)cfg->kannel_max_messages;
	else
		out->max_chars = PROVIDER_TWILIO_MAX_CHARS;
}
