/*
 * provider_sandbox.c - the offline provider: every SMS becomes a JSON line.
 *
 * The default, so carenav runs with no account anywhere. carenav-sim reads
 * the same file to show a person the replies "on their phone". Each line is
 * written with one write(2) on an O_APPEND descriptor and fsync'd, so a
 * line is whole or absent after a crash.
 *
 * Like a provider with idempotency keys, the sandbox accepts each outbox id
 * once: a gateway killed between the write and recording "sent" resends the
 * row after its lease, and the sandbox answers "sent" without a second line.
 * (Twilio and Kannel have no such key: there that window can deliver a
 * reply twice; docs/reliability.md measures how often.)
 *
 * Several gateways may share one log (SANDBOX_OUTBOX_LOG), as they share
 * one provider account: before each write a gateway takes an flock on the
 * log and reads the lines the others appended since it last looked, so a
 * row resent by another gateway after a crash is recognised too.
 *
 * Receiving: carenav-sim posts Twilio-format webhooks (POST /sms/inbound,
 * /sms/status) that nobody signs. Without SANDBOX_WEBHOOK_SECRET they are
 * taken only from a peer on this machine that no proxy forwarded (a
 * request carrying X-Forwarded-For or Forwarded came from elsewhere); with
 * it, every request must carry it in X-Sandbox-Secret, from any peer,
 * compared in constant time. Anything else is refused with 403, so a
 * sandbox gateway reachable from a network is not an open door.
 */
#include "provider.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "config.h"
#include "idmap.h"
#include "log.h"
#include "provider_twilio.h"
#include "stats.h"
#include "timeutil.h"
#include "xmalloc.h"

struct provider_sandbox {
	struct event_base *base;
	int fd;       /* the log, opened O_APPEND */
	char *path;   /* owned */
	struct idmap *sent;  /* outbox ids already in the log */
	long read_off;       /* bytes of the log already read into sent (whole lines only) */
};

/* Reads the outbox ids delivered since read_off, from the "sid":"SB<id>" of each whole line. */
static void
provider_sandbox_load_sent(struct provider_sandbox *sb)
{
	FILE *f = fopen(sb->path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL || fseek(f, sb->read_off, SEEK_SET) != 0) {
		if (f != NULL)
			fclose(f);
		return;
	}
	while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
		const char *p = strstr(line, "\"sid\":\"SB");

		if (p != NULL)
			idmap_put(sb->sent, strtoll(p + strlen("\"sid\":\"SB"), NULL, 10), sb);
		sb->read_off += (long)n;
	}
	free(line);
	fclose(f);
}

/* The outcome travels to the loop so the callback never runs inside send(). */
struct provider_sandbox_done {
	struct provider_outcome outcome;
	char *sid;    /* owned */
	char *error;  /* owned */
	provider_send_done_cb *done;
	void *arg;
};

static void
provider_sandbox_destroy(void *impl)
{
	struct provider_sandbox *sb = impl;

	if (sb == NULL)
		return;
	if (sb->fd >= 0)
		close(sb->fd);
	idmap_free(sb->sent);
	free(sb->path);
	free(sb);
}

static void *
provider_sandbox_create(const struct provider_env *env, char **cause)
{
	struct provider_sandbox *sb = xcalloc(1, sizeof *sb);

	sb->base = env->base;
	sb->path = config_sandbox_log_path(env->cfg);
	sb->sent = idmap_new();
	provider_sandbox_load_sent(sb);
	sb->fd = open(sb->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (sb->fd < 0) {
		*cause = xasprintf("sandbox provider: cannot open %s: %s", sb->path, strerror(errno));
		provider_sandbox_destroy(sb);
		return NULL;
	}
	log_info("sandbox provider: writing outbound SMS to %s", sb->path);
	return sb;
}

static void
provider_sandbox_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct provider_sandbox_done *d = arg;

	(void)fd;
	(void)what;
	d->done(&d->outcome, d->arg);
	free(d->sid);
	free(d->error);
	free(d);
}

static void
provider_sandbox_send(void *impl, const struct provider_sms *sms, provider_send_done_cb *done,
    void *arg)
{
	struct provider_sandbox *sb = impl;
	struct provider_sandbox_done *d = xcalloc(1, sizeof *d);
	json_t *line;
	char *text, *row;
	size_t len;

	d->sid = xasprintf("SB%lld", sms->outbox_id);
	line = json_pack("{s:s, s:s, s:s, s:s, s:I}", "sid", d->sid, "to", sms->to, "from", sms->from,
	    "body", sms->body, "at_ms", (json_int_t)timeutil_now_ms());
	text = line ? json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(line);
	d->done = done;
	d->arg = arg;
	/* Held until our line is written: another gateway checks under the same lock. */
	if (flock(sb->fd, LOCK_EX) == 0)
		provider_sandbox_load_sent(sb);
	if (idmap_get(sb->sent, sms->outbox_id) != NULL) {
		stats.outbound_resends_absorbed++;
		log_info("sandbox provider: outbox id %lld was already delivered (a resend after a crash); "
		    "not delivered again", sms->outbox_id);
		d->outcome.result = PROVIDER_SENT;
	} else if (text == NULL) {
		d->outcome.result = PROVIDER_REJECTED;
		d->error = xstrdup("message is not valid UTF-8");
	} else {
		row = xasprintf("%s\n", text);
		len = strlen(row);
		if (write(sb->fd, row, len) != (ssize_t)len || fsync(sb->fd) != 0) {
			d->outcome.result = PROVIDER_RETRY;
			d->error = xasprintf("sandbox log %s: %s", sb->path, strerror(errno));
		} else {
			d->outcome.result = PROVIDER_SENT;
			idmap_put(sb->sent, sms->outbox_id, sb);
		}
		free(row);
	}
	flock(sb->fd, LOCK_UN);
	free(text);
	d->outcome.provider_sid = d->outcome.result == PROVIDER_SENT ? d->sid : NULL;
	d->outcome.error = d->error;
	event_base_once(sb->base, -1, EV_TIMEOUT, provider_sandbox_deliver_cb, d, NULL);
}

/* SANDBOX_WEBHOOK_SECRET when set, else a loopback peer that no proxy forwarded. */
static enum provider_parse
provider_sandbox_verify(const struct config *cfg, const struct provider_request *req, char **cause)
{
	if (cfg->sandbox_webhook_secret[0] == '\0') {
		if (!req->peer_loopback || req->header(req->header_arg, "X-Forwarded-For") != NULL ||
		    req->header(req->header_arg, "Forwarded") != NULL) {
			*cause = xstrdup("the sandbox provider takes webhooks from this machine only "
			    "(carenav-sim); set SANDBOX_WEBHOOK_SECRET to take them from elsewhere");
			return PROVIDER_PARSE_FORBIDDEN;
		}
		return PROVIDER_PARSE_OK;
	}
	return provider_secret_check(cfg->sandbox_webhook_secret, req->header(req->header_arg, "X-Sandbox-Secret"),
	    "X-Sandbox-Secret", cause);
}

const struct provider_ops provider_sandbox_ops = {
	.name = "sandbox",
	.create = provider_sandbox_create,
	.destroy = provider_sandbox_destroy,
	.send = provider_sandbox_send,
	.verify = provider_sandbox_verify,
	/* Twilio's paths and form: carenav-sim speaks it, and a sandbox gateway is tried out that way. */
	PROVIDER_TWILIO_WEBHOOKS,
};
