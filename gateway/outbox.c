/*
 * outbox.c - claim, send, record, back off. See outbox.h.
 *
 * DESIGN. A reply is durable from the moment its outbox row commits (in the
 * same transaction as the dialogue step that wrote it). This worker claims
 * rows with a lease (carenav_outbox_claim: FOR UPDATE SKIP LOCKED, only the
 * oldest pending row per conversation, so replies leave in order), sends
 * each through the provider, and records the outcome. If the gateway dies
 * mid-send the lease expires and another sweep sends the row again: delivery
 * is at least once, and "twice" needs a crash between the provider's 2xx and
 * our commit. If recording fails (database down) the job keeps its outcome
 * and retries the write; it never resends what the provider accepted.
 * The 'sent' marks, by far the most common outcome, are committed in
 * batches (batch.c: one transaction for all replies sent meanwhile).
 * OUTBOX_BATCH bounds the requests waiting for the provider, not the
 * outcomes waiting to be recorded: a slot is free once the provider has
 * answered, so the database's commit latency does not throttle sending.
 * The row stays leased until recorded, so no claim takes it again.
 * Most replies are not claimed at all: the step commit that queued a reply
 * leases its conversation's next one in the same statement and hands it
 * over (outbox_take), saving a claim round trip and its walk per reply;
 * the row and its lease are the same as a claim's, so a crash before the
 * send is recovered the same way. The 'sent' mark hands over the
 * conversation's next reply the same way, and kicks a claim only when it
 * left one of the conversation's replies to it (an urgent one, one held
 * elsewhere), so the claim no longer follows every send. A handed row finding every provider slot
 * taken waits here for the next free one (its lease runs meanwhile).
 * A temporary failure waits the provider's Retry-After when it gave one,
 * else the backoff. A provider that only queued the reply (Twilio's 201
 * "queued") has it recorded as that status, with its id, for the status
 * callback to move on. A rejection because the recipient unsubscribed at
 * the provider (Twilio 21610) is recorded by carenav_outbox_unsubscribed,
 * which also opts the patient out of an ordinary dialogue (sql/015).
 *
 * Urgent rows (outbox.urgent, sql/017: the emergency instruction, "a nurse
 * will call", staff pages) are claimed first, retried without an attempt
 * limit until their escalation is resolved, back off at most
 * OUTBOX_URGENT_BACKOFF_MAX_MS, and are leased for the provider timeout
 * plus OUTBOX_URGENT_LEASE_MARGIN_MS only: a gateway killed mid-send holds
 * them seconds, not the OUTBOX_LEASE_MARGIN_MS (30 s) of ordinary replies. The price is a
 * resend if recording a send takes longer than that margin (the database
 * stalled); for these texts a duplicate is cheaper than a delay. When the
 * provider accepts a text after a second or more of nothing but failures,
 * every urgent row waiting on a backoff is made due at once
 * (carenav_outbox_urgent_now): after an outage they go first, not when
 * their own backoff ends. One number failing while others send fine never
 * triggers it.
 */
#include "outbox.h"

#include <event2/event.h>
#include <event2/event_struct.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "backoff.h"
#include "batch.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "outbox_gate.h"
#include "provider.h"
#include "redact.h"
#include "segment.h"
#include "stats.h"
#include "store.h"
#include "sweeper.h"
#include "timeutil.h"
#include "xmalloc.h"

/* How long an urgent row stays ours past the provider timeout before others may resend it (see above). */
#define OUTBOX_URGENT_LEASE_MARGIN_MS 2000
/* Nothing but failures this long, then a text accepted: the provider recovered. */
#define OUTBOX_RECOVERY_MIN_MS 1000
#define OUTBOX_RECORD_RETRY_MS 1000
/* Most 'sent' marks in one transaction. */
#define OUTBOX_SENT_BATCH 256

struct outbox {
	struct event_base *base;
	struct db *db;                 /* borrowed */
	struct provider *provider;     /* borrowed */
	const struct config *cfg;      /* borrowed */
	struct sweeper sweeper;        /* claims on each sweep and kick */
	struct batch *sent;            /* owned: carenav_outbox_sent_batch */
	struct outbox_gate *gate;      /* owned: OUTBOUND_RATE_PER_SEC, OUTBOUND_COUNTRIES */
	bool claiming;                 /* a claim query is in flight */
	int claim_limit;               /* the rows it asked for */
	bool again;                    /* kicked while claiming: claim once more */
	bool starved;                  /* the last claim had no room or filled it: a freed slot claims */
	size_t in_flight;              /* jobs from claim until their outcome is recorded */
	size_t sending;                /* of those, jobs waiting for the provider (<= OUTBOX_BATCH) */
	TAILQ_HEAD(, outbox_job) ready;  /* handed over while no provider slot was free */
	size_t nready;
	int64_t failing_since_ms;      /* monotonic ms of the first failure since the last send; 0 = none */
	outbox_refused_cb *refused_cb; /* outbox_set_refused_cb, or NULL */
	void *refused_arg;             /* borrowed */
};

/* One claimed row, from claim until its outcome is recorded. */
struct outbox_job {
	struct outbox *ob;
	int64_t id;
	int attempts;              /* including this one */
	bool urgent;               /* an emergency text or a page (CLAIM_URGENT) */
	bool unlimited;            /* urgent, its escalation not resolved: no attempt limit */
	char *to, *from, *body;    /* owned */
	enum provider_result result;
	char *provider_sid;        /* owned, when sent */
	char *status;              /* owned, when sent: the provider's status ("queued"...), or NULL = sent */
	char *error;               /* owned, when not sent */
	bool unsubscribed;         /* rejected because the recipient opted out at the provider (21610) */
	size_t segments;           /* what the text cost, counted when the provider took it */
	enum segment_encoding encoding;
	int64_t retry_delay_ms;
	struct event record_retry; /* re-records after a database error */
	TAILQ_ENTRY(outbox_job) ready_entry;
};

static void outbox_record(struct outbox_job *job);
static void outbox_send_ready(struct outbox *ob);

static void
outbox_urgent_now_done(const PGresult *res, const char *error, void *arg)
{
	struct outbox *ob = arg;

	ob->in_flight--;
	if (error != NULL) {
		log_debug("outbox: could not restart the backoff of urgent rows: %s", error);
		return;
	}
	if (atoi(PQgetvalue(res, 0, 0)) > 0)
		log_info("outbox: provider back; %s urgent text(s) due now", PQgetvalue(res, 0, 0));
	outbox_kick(ob);
}

/* Tracks provider outages; on recovery, urgent rows waiting on a backoff go now. */
static void
outbox_note_outcome(struct outbox *ob, enum provider_result result)
{
	int64_t now = (int64_t)(timeutil_mono_us() / 1000);

	if (result == PROVIDER_RETRY) {
		if (ob->failing_since_ms == 0)
			ob->failing_since_ms = now;
		return;
	}
	if (result != PROVIDER_SENT || ob->failing_since_ms == 0)
		return;
	if (now - ob->failing_since_ms >= OUTBOX_RECOVERY_MIN_MS) {
		ob->in_flight++;  /* the drain waits for it: its callback needs ob */
		store_outbox_urgent_now(ob->db, outbox_urgent_now_done, ob);
	}
	ob->failing_since_ms = 0;
}

static void
outbox_job_free(struct outbox_job *job)
{
	event_del(&job->record_retry);
	free(job->to);
	free(job->from);
	free(job->body);
	free(job->provider_sid);
	free(job->status);
	free(job->error);
	free(job);
}

/*
 * The outcome is recorded (error NULL) or must be recorded again. kick: a
 * reply of the conversation may now be sendable and left to the claim.
 */
static void
outbox_record_finish(struct outbox_job *job, const char *error, bool kick)
{
	struct outbox *ob = job->ob;
	struct timeval tv = { 0, OUTBOX_RECORD_RETRY_MS * 1000 };

	if (error != NULL) {
		log_warn("outbox: recording id=%" PRId64 " failed, will retry: %s", job->id, error);
		evtimer_add(&job->record_retry, &tv);
		return;
	}
	ob->in_flight--;
	if (job->urgent && job->result == PROVIDER_REJECTED && ob->refused_cb != NULL)
		ob->refused_cb(ob->refused_arg);
	outbox_job_free(job);
	if (kick)
		outbox_kick(ob);
}

static void
outbox_record_done(const PGresult *res, const char *error, void *arg)
{
	(void)res;
	outbox_record_finish(arg, error, true);
}

/*
 * A 'sent' mark committed: the conversation's next reply, if the mark
 * leased it, goes to the sender now; a claim runs only if the mark left a
 * reply of the conversation to it.
 */
static void
outbox_sent_item_done(const PGresult *res, int row, const int *col, const char *error, void *arg)
{
	struct outbox_job *job = arg;
	struct outbox *ob = job->ob;

	if (error == NULL && row < 0)
		error = "no result";
	if (error != NULL) {
		outbox_record_finish(job, error, true);
		return;
	}
	if (!PQgetisnull(res, row, col[SENT_CLAIM + CLAIM_ID]))
		outbox_take(ob, res, row, col + SENT_CLAIM);
	outbox_record_finish(job, NULL, store_col_bool(res, row, col[SENT_MORE]));
}

static void
outbox_record_retry_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	outbox_record(arg);
}

static void
outbox_unsubscribed_done(const PGresult *res, const char *error, void *arg)
{
	struct outbox_job *job = arg;

	if (error == NULL && store_col_bool(res, 0, 0))
		log_info("outbox: id=%" PRId64 ": the recipient unsubscribed at the provider; "
		    "conversation opted out, its queued replies dropped", job->id);
	outbox_record_done(res, error, arg);
}

static void
outbox_record(struct outbox_job *job)
{
	struct db *db = job->ob->db;

	switch (job->result) {
	case PROVIDER_SENT:
		batch_add_take(job->ob->sent, json_pack("{s:I, s:s, s:s, s:I, s:s}", "id", (json_int_t)job->id, "sid",
		    job->provider_sid, "status", job->status ? job->status : "sent", "segments",
		    (json_int_t)job->segments, "encoding", segment_encoding_name(job->encoding)),
		    outbox_sent_item_done, job);
		break;
	case PROVIDER_RETRY:
		store_outbox_retry(db, job->id, job->retry_delay_ms, job->error, outbox_record_done, job);
		break;
	case PROVIDER_REJECTED:
		if (job->unsubscribed)
			store_outbox_unsubscribed(db, job->id, job->error, outbox_unsubscribed_done, job);
		else
			store_outbox_failed(db, job->id, job->error, outbox_record_done, job);
		break;
	}
}

static void
outbox_send_done(const struct provider_outcome *outcome, void *arg)
{
	struct outbox_job *job = arg;
	const struct config *cfg = job->ob->cfg;

	/*
	 * The provider is done with it: its slot can take the next claim while we
	 * record, if rows wait for one (else a claim would find nothing new: its
	 * 'sent' mark kicks for the conversation's next reply).
	 */
	job->ob->sending--;
	outbox_send_ready(job->ob);
	if (job->ob->starved)
		outbox_kick(job->ob);
	job->result = outcome->result;
	job->provider_sid = xstrdup(outcome->provider_sid ? outcome->provider_sid : "");
	job->status = outcome->status ? xstrdup(outcome->status) : NULL;
	/* Logged and stored below: never a full number or the text sent (redact.h). */
	job->error = outcome->error ? redact_provider_error(outcome->error, job->body) : NULL;
	job->unsubscribed = outcome->result == PROVIDER_REJECTED &&
	    outcome->error_code == PROVIDER_ERROR_UNSUBSCRIBED;
	outbox_note_outcome(job->ob, outcome->result);
	switch (outcome->result) {
	case PROVIDER_SENT:
		stats.outbound_sent++;
		job->segments = segment_count(job->body, strlen(job->body), &job->encoding);
		stats_count_segments_sent(job->segments, job->encoding);
		log_debug("outbox: id=%" PRId64 " sent as %s (%s)", job->id, job->provider_sid,
		    job->status ? job->status : "sent");
		break;
	case PROVIDER_RETRY:
		if (job->attempts >= cfg->outbox_max_attempts && !job->unlimited) {
			char *why = xasprintf("gave up after %d attempts: %s", job->attempts, job->error);

			free(job->error);
			job->error = why;
			job->result = PROVIDER_REJECTED;
			stats.outbound_failed++;
			log_error("outbox: id=%" PRId64 " %s", job->id, why);
			break;
		}
		stats.outbound_retried++;
		job->retry_delay_ms = outcome->retry_after_ms > 0 ? outcome->retry_after_ms :
		    backoff_delay_ms(job->attempts, cfg->outbox_backoff_base_ms,
		        job->urgent && cfg->outbox_urgent_backoff_max_ms < cfg->outbox_backoff_max_ms ?
		        cfg->outbox_urgent_backoff_max_ms : cfg->outbox_backoff_max_ms, arc4random());
		log_warn("outbox: id=%" PRId64 " attempt %d failed, retry in %" PRId64 " ms: %s", job->id,
		    job->attempts, job->retry_delay_ms, job->error);
		break;
	case PROVIDER_REJECTED:
		stats.outbound_failed++;
		log_error("outbox: id=%" PRId64 " rejected: %s", job->id, job->error);
		break;
	}
	outbox_record(job);
}

static void
outbox_job_send(struct outbox_job *job)
{
	struct provider_sms sms;

	job->ob->sending++;
	sms.outbox_id = job->id;
	sms.to = job->to;
	sms.from = job->from;
	sms.body = job->body;
	provider_send(job->ob->provider, &sms, outbox_send_done, job);
}

/* Handed-over rows that waited for a provider slot go as slots free (also while stopping: they are ours). */
static void
outbox_send_ready(struct outbox *ob)
{
	struct outbox_job *job;

	while (ob->sending < (size_t)ob->cfg->outbox_batch && (job = TAILQ_FIRST(&ob->ready)) != NULL) {
		TAILQ_REMOVE(&ob->ready, job, ready_entry);
		ob->nready--;
		outbox_job_send(job);
	}
}

/* A leased row (claim columns col[CLAIM_*] of res's row i) as a job, counted in flight. */
static struct outbox_job *
outbox_job_new(struct outbox *ob, const PGresult *res, int i, const int *col)
{
	struct outbox_job *job = xcalloc(1, sizeof *job);

	job->ob = ob;
	job->id = store_col_int64(res, i, col[CLAIM_ID]);
	job->attempts = (int)store_col_int64(res, i, col[CLAIM_ATTEMPTS]);
	job->urgent = store_col_bool(res, i, col[CLAIM_URGENT]);
	job->unlimited = store_col_bool(res, i, col[CLAIM_ESCALATION_OPEN]);
	job->to = xstrdup(store_col_text(res, i, col[CLAIM_TO]));
	job->from = xstrdup(store_col_text(res, i, col[CLAIM_FROM]));
	job->body = xstrdup(store_col_text(res, i, col[CLAIM_BODY]));
	evtimer_assign(&job->record_retry, ob->base, outbox_record_retry_timer, job);
	ob->in_flight++;
	return job;
}

/* The send gate decided on a row it held: urgent ones go now, the others are done here. */
static void
outbox_gate_done(void *arg, bool send, void *ob_arg)
{
	struct outbox_job *job = arg;
	struct outbox *ob = ob_arg;

	if (send) {
		outbox_job_send(job);
		return;
	}
	ob->in_flight--;
	outbox_job_free(job);
	outbox_kick(ob);  /* walk on past held rows: an urgent one may be behind them */
}

static void
outbox_claim_done(const PGresult *res, const char *error, void *arg)
{
	struct outbox *ob = arg;
	int rows, col[CLAIM_NCOLS];
	const char *missing;

	ob->claiming = false;
	if (error != NULL) {
		log_debug("outbox: claim failed: %s", error);
		return;  /* the sweep tries again */
	}
	if (!store_col_lookup(res, store_claim_columns, col, &missing)) {
		log_error("outbox: the claim's result has no column %s (a schema this gateway does not know)",
		    missing);
		return;
	}
	rows = PQntuples(res);
	for (int i = 0; i < rows; i++) {
		struct outbox_job *job = outbox_job_new(ob, res, i, col);

		if (outbox_gate_check(ob->gate, job->id, job->to, job))
			outbox_job_send(job);
	}
	outbox_gate_flush(ob->gate, outbox_gate_done, ob);
	/* A full batch means more may be waiting. */
	ob->starved = rows == ob->claim_limit;
	if (ob->again || rows == ob->claim_limit) {
		ob->again = false;
		outbox_kick(ob);
	}
}

void
outbox_take(struct outbox *ob, const PGresult *res, int row, const int *col)
{
	struct outbox_job *job = outbox_job_new(ob, res, row, col);

	if (outbox_gate_check(ob->gate, job->id, job->to, job)) {
		TAILQ_INSERT_TAIL(&ob->ready, job, ready_entry);
		ob->nready++;
		outbox_send_ready(ob);
	}
	outbox_gate_flush(ob->gate, outbox_gate_done, ob);
}

int64_t
outbox_lease_ms(const struct config *cfg)
{
	return cfg->provider_timeout_ms + cfg->outbox_lease_margin_ms;
}

static void
outbox_claim(struct outbox *ob)
{
	int64_t room = ob->cfg->outbox_batch - (int64_t)ob->sending - (int64_t)ob->nready;

	if (room <= 0) {
		ob->starved = true;  /* finishing jobs kick again */
		return;
	}
	if (ob->claiming) {
		ob->again = true;
		return;
	}
	ob->claiming = true;
	ob->claim_limit = (int)room;
	store_outbox_claim(ob->db, (int)room, outbox_lease_ms(ob->cfg),
	    ob->cfg->provider_timeout_ms + OUTBOX_URGENT_LEASE_MARGIN_MS, outbox_claim_done, ob);
}

/* The sweeper's run. The claim keeps its own in-flight flag: whether to claim again depends on the room. */
static bool
outbox_sweep(void *arg)
{
	outbox_claim(arg);
	return false;
}

struct outbox *
outbox_new(struct event_base *base, struct db *db, struct provider *provider,
    const struct config *cfg)
{
	struct outbox *ob = xcalloc(1, sizeof *ob);
	char lease[24];

	ob->base = base;
	ob->db = db;
	ob->provider = provider;
	ob->cfg = cfg;
	TAILQ_INIT(&ob->ready);
	sweeper_init(&ob->sweeper, base, cfg->sweep_interval_ms, outbox_sweep, ob);
	snprintf(lease, sizeof lease, "%" PRId64, outbox_lease_ms(cfg));
	ob->sent = batch_new(base, db, &store_outbox_sent_batch, lease, OUTBOX_SENT_BATCH, false);
	batch_set_linger(ob->sent, OUTBOX_SENT_LINGER_ITEMS, OUTBOX_SENT_LINGER_MS);
	ob->gate = outbox_gate_new(db, cfg);
	outbox_kick(ob);
	return ob;
}

void
outbox_free(struct outbox *ob)
{
	if (ob == NULL)
		return;
	sweeper_stop(&ob->sweeper);
	batch_free(ob->sent);
	outbox_gate_free(ob->gate);
	free(ob);
}

void
outbox_kick(struct outbox *ob)
{
	/* Deferred to the loop, so many kicks in one iteration make one claim. */
	sweeper_kick(&ob->sweeper);
}

void
outbox_set_refused_cb(struct outbox *ob, outbox_refused_cb *cb, void *arg)
{
	ob->refused_cb = cb;
	ob->refused_arg = arg;
}

void
outbox_stop(struct outbox *ob)
{
	sweeper_stop(&ob->sweeper);
}

size_t
outbox_in_flight(const struct outbox *ob)
{
	/* A claim still in the database counts: its callback needs ob alive. */
	return ob->in_flight + (ob->claiming ? 1 : 0);
}
