/*
 * provider.c - the registry of SMS providers. See provider.h.
 */
#include "provider.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
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

static const char *const provider_result_names[] = {
#define X(id, name) [id] = name,
	PROVIDER_RESULT_LIST(X)
#undef X
};

const char *
provider_result_name(enum provider_result result)
{
	return provider_result_names[result];
}

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
provider_for_path(const char *path, bool *is_status)
{
	for (size_t i = 0; i < sizeof provider_table / sizeof provider_table[0]; i++) {
		const struct provider_ops *ops = provider_table[i];

		if (ops->inbound_path != NULL && strcmp(ops->inbound_path, path) == 0) {
			*is_status = false;
			return ops;
		}
		if (ops->status_path != NULL && strcmp(ops->status_path, path) == 0) {
			*is_status = true;
			return ops;
		}
	}
	return NULL;
}

bool
provider_open(struct provider *p, const struct provider_env *env, char **cause)
{
	for (size_t i = 0; i < sizeof provider_table / sizeof provider_table[0]; i++) {
		if (strcmp(provider_table[i]->name, env->cfg->sms_provider) != 0)
			continue;
		p->ops = provider_table[i];
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
