/*
 * inbound.c - the dialogue step loop for stored inbound messages.
 *
 * DESIGN. A step is: load the conversation's state and its oldest
 * unprocessed message (carenav_step_load), run the pure dialogue, and
 * commit everything it decided in one statement (carenav_step_commit),
 * which also marks the message processed. So a message is answered exactly
 * once: a crash before the commit leaves it unprocessed and the sweep runs
 * the step again (once the text is SWEEP_MIN_AGE_MS old: younger ones are
 * still being answered by the gateway that received them); a crash after leaves it processed with its replies
 * queued. Two processes stepping the same conversation are kept apart by
 * the conversation's version: the loser gets 'conflict' and reloads.
 * Within this process a conversation has at most one job (idmap), and
 * a kick during a job marks it dirty so nothing waits for the sweep.
 *
 * Loads and commits of all jobs go to the database in batches (batch.c):
 * one query loads the next step of many conversations, one transaction
 * commits the steps of many (group commit). Every step commits the same way
 * (inbound_commit): a dialogue step and a throttled text as an item of
 * carenav_step_commit_batch, a staff text as an item of the staff batch
 * (carenav_staff_step, one per call, as it always was). A job still has at
 * most one load or commit in flight, so its steps stay in order.
 * A patient step's commit also leases the conversation's next reply when
 * nothing holds it, and the reply goes straight to the sender (outbox_take)
 * instead of waiting for a claim. A text's first step usually needs no load
 * at all: the accept that stored it read the step in the same transaction
 * (inbound_kick_loaded), under the conversation's lock. A step read runs on
 * the loop's next pass, after the accept's 200s are written.
 */
#include "inbound.h"

#include <event2/event.h>
#include <event2/event_struct.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "ack.h"
#include "batch.h"
#include "config.h"
#include "db.h"
#include "dialogue.h"
#include "engine.h"
#include "escalation.h"
#include "flow.h"
#include "flows.h"
#include "idmap.h"
#include "log.h"
#include "outbox.h"
#include "provider.h"
#include "segment.h"
#include "stats.h"
#include "store.h"
#include "sweeper.h"
#include "timeutil.h"
#include "triage.h"
#include "xmalloc.h"

/* Conversations looked up per sweep; more are found by the next one. */
#define INBOUND_SWEEP_LIMIT 200
/* Reloads after 'conflict' before leaving the conversation to the sweep. */
#define INBOUND_MAX_CONFLICTS 20
/* Most conversations in one load query, and steps in one commit. */
#define INBOUND_LOAD_BATCH 256
#define INBOUND_COMMIT_BATCH 128

struct inbound {
	struct event_base *base;
	struct db *db;              /* borrowed */
	struct outbox *outbox;      /* borrowed */
	struct escalation *escalation;  /* borrowed */
	struct flows *flows;        /* borrowed */
	const struct triage *triage;  /* borrowed: phrase rules + text model */
	const struct config *cfg;   /* borrowed */
	struct idmap *jobs;         /* conversation id -> struct inbound_job */
	struct batch *loads;        /* owned: carenav_step_load_batch */
	struct batch *commits;      /* owned: carenav_step_commit_batch */
	struct batch *staff_commits;  /* owned: carenav_staff_step, one per call */
	struct sweeper sweeper;     /* finds work left by crashes and other processes */
	TAILQ_HEAD(, inbound_job) ready;  /* steps read, their dialogue for the loop's next pass */
	struct event ready_ev;      /* runs them */
};

/* The processing of one conversation, from its first load until it has nothing left. */
struct inbound_job {
	struct inbound *in;
	int64_t conversation_id;
	bool dirty;       /* kicked while running: load again before ending */
	int conflicts;
	/* The loaded step, kept while it waits for its pass (ready) and its flow; it runs on step.flow_version_id. */
	struct inbound_step step;
	bool staff;               /* the sender is staff: ACK handling, not the dialogue */
	bool escalated;           /* the step raised an escalation */
	int64_t window_count;     /* texts from this number in the rate-limit window */
	TAILQ_ENTRY(inbound_job) ready_entry;  /* in inbound.ready */
};

static void inbound_load(struct inbound_job *job);

json_t *
inbound_step_load_item(int64_t conversation_id, const struct config *cfg)
{
	return json_pack("{s:I, s:I}", "id", (json_int_t)conversation_id,
	    "window_ms", (json_int_t)(cfg->rate_limit_window_s * 1000));
}

void
inbound_step_read(struct inbound_step *step, const PGresult *res, int row, const int *col)
{
	step->version = store_col_int64(res, row, col[STEP_VERSION]);
	step->message_id = store_col_int64(res, row, col[STEP_MESSAGE_ID]);
	step->received_ms = store_col_int64(res, row, col[STEP_RECEIVED_MS]);
	step->flow_version_id = store_col_int64(res, row, col[STEP_FLOW_VERSION_ID]);
	step->latest_flow_version_id = store_col_int64(res, row, col[STEP_LATEST_FLOW_VERSION_ID]);
	step->idle_ms = timeutil_now_ms() - store_col_int64(res, row, col[STEP_LAST_ACTIVITY_MS]);
	step->handoff = store_col_bool(res, row, col[STEP_HANDOFF]);
	snprintf(step->language, sizeof step->language, "%s", store_col_text(res, row, col[STEP_LANGUAGE]));
	snprintf(step->status, sizeof step->status, "%s", store_col_text(res, row, col[STEP_STATUS]));
	snprintf(step->opt_out_type, sizeof step->opt_out_type, "%s",
	    store_col_text(res, row, col[STEP_OPT_OUT_TYPE]));
	step->state_json = xstrdup(store_col_text(res, row, col[STEP_STATE]));
	step->body = xstrdup(store_col_text(res, row, col[STEP_BODY]));
}

void
inbound_step_parse(struct inbound_step *step)
{
	engine_state_free(step->state);
	step->state = dialogue_state_read(step->state_json);
}

void
inbound_step_clear(struct inbound_step *step)
{
	free(step->state_json);
	engine_state_free(step->state);
	free(step->body);
	step->state_json = NULL;
	step->state = NULL;
	step->body = NULL;
}

bool
inbound_step_starts_over(const struct inbound_step *step, const struct config *cfg)
{
	return step->flow_version_id == 0 || step->idle_ms > cfg->idle_reset_hours * 3600 * 1000 ||
	    step->state == NULL || engine_state_node(step->state) == NULL;
}

void
inbound_step_input(const struct inbound_step *step, const struct flow *flow, const struct triage *triage,
    const struct config *cfg, struct dialogue_input *din)
{
	*din = (struct dialogue_input){ 0 };
	din->flow = flow;
	din->triage = triage;
	din->state = step->state;
	din->text = step->body;
	din->now_ms = timeutil_now_ms();
	din->idle_reset_ms = cfg->idle_reset_hours * 3600 * 1000;
	din->handoff = step->handoff;
	din->opt_out_type = step->opt_out_type[0] ? step->opt_out_type : NULL;
	din->provider_confirms = cfg->twilio_advanced_opt_out != 0;
	provider_limit(cfg, &din->limit);
	din->gsm7 = strcmp(cfg->sms_alphabet, "gsm7") == 0;
}

json_t *
inbound_step_item(int64_t conversation_id, const struct inbound_step *step, const char *provider,
    json_t *state, const char *language, const char *status, json_t *replies, json_t *actions)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:o, s:o, s:s, s:s, s:s, s:o, s:o}",
	    "conversation_id", (json_int_t)conversation_id, "version", (json_int_t)step->version,
	    "message_id", (json_int_t)step->message_id, "received_ms", (json_int_t)step->received_ms,
	    "state", state,
	    "flow_version_id", step->flow_version_id ? json_integer(step->flow_version_id) : json_null(),
	    "language", language, "status", status, "provider", provider,
	    "replies", replies, "actions", actions);
}

static void
inbound_job_end(struct inbound_job *job)
{
	idmap_remove(job->in->jobs, job->conversation_id);
	inbound_step_clear(&job->step);
	free(job);
}

/*
 * handed: the commit leased the step's first reply and handed it to the
 * sender, so no claim is needed: the step's other replies are behind it and
 * become sendable when its 'sent' mark is recorded (which kicks the outbox).
 */
static void
inbound_commit_outcome(struct inbound_job *job, const char *outcome, bool handed, const char *error)
{
	if (error != NULL) {
		log_error("inbound: conversation=%" PRId64 " step commit failed: %s",
		    job->conversation_id, error);
		inbound_job_end(job);  /* the message stays unprocessed; the sweep retries */
		return;
	}
	/*
	 * 'ok' or 'last' (no other text of the conversation waits) for a patient
	 * step; a staff step says what it did ('acknowledged', ...).
	 */
	if (strcmp(outcome, "conflict") == 0) {
		stats.step_conflicts++;
		if (++job->conflicts > INBOUND_MAX_CONFLICTS) {
			log_warn("inbound: conversation=%" PRId64 " keeps conflicting; leaving it to the sweep",
			    job->conversation_id);
			inbound_job_end(job);
			return;
		}
	} else if (strcmp(outcome, "already") != 0) {
		stats.steps_committed++;
		if (job->staff)
			log_info("inbound: staff text on conversation=%" PRId64 ": %s", job->conversation_id,
			    outcome);
		if (job->escalated)
			escalation_kick(job->in->escalation);
		if (!handed)
			outbox_kick(job->in->outbox);
		if (strcmp(outcome, "last") == 0 && !job->dirty) {
			/* Nothing else waits: a text stored after the commit kicks (dirty) or starts a job. */
			inbound_job_end(job);
			return;
		}
	}
	inbound_load(job);
}

static void
inbound_commit_item_done(const PGresult *res, int row, const int *col, const char *error, void *arg)
{
	if (error == NULL && row < 0)
		error = "no result";
	inbound_commit_outcome(arg, error == NULL ? store_col_text(res, row, col[COMMIT_OUTCOME]) : NULL,
	    false, error);
}

/* A patient step committed: the reply the commit leased, if any, goes to the sender now. */
static void
inbound_step_item_done(const PGresult *res, int row, const int *col, const char *error, void *arg)
{
	struct inbound_job *job = arg;
	bool handed = error == NULL && row >= 0 && !PQgetisnull(res, row, col[COMMIT_CLAIM + CLAIM_ID]);

	if (error == NULL && row < 0)
		error = "no result";
	if (handed)
		outbox_take(job->in->outbox, res, row, col + COMMIT_CLAIM);
	inbound_commit_outcome(job, error == NULL ? store_col_text(res, row, col[COMMIT_OUTCOME]) : NULL,
	    handed, error);
}

/*
 * Every step commits here, whatever decided it (the dialogue, the rate
 * limit, a staff text): as one item of a commit batch, whose outcome
 * (inbound_commit_outcome) loads the conversation's next text.
 */
static void
inbound_commit(struct inbound_job *job, struct batch *commits, json_t *item)
{
	batch_add_take(commits, item, commits == job->in->commits ? inbound_step_item_done : inbound_commit_item_done,
	    job);
	inbound_step_clear(&job->step);
}

/* A text from a staff phone: an ACK, or anything else (answered with the staff help). */
static void
inbound_staff_step(struct inbound_job *job, const struct flow *flow)
{
	static const struct {
		const char *key;
		enum flow_message msg;
	} texts[] = {
		{ "ack_ok", FLOW_MSG_ACK_OK }, { "ack_unknown", FLOW_MSG_ACK_UNKNOWN },
		{ "ack_which", FLOW_MSG_ACK_WHICH }, { "staff_help", FLOW_MSG_STAFF_HELP },
		{ "ack_patient", FLOW_MSG_ACK_PATIENT },
	};
	json_t *map = json_object();
	char code[ACK_CODE_MAX];
	enum ack_kind kind = ack_classify(job->step.body, job->in->cfg->ack_bare_allowed != 0, code);

	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		char *one = flow_message_json(flow, texts[i].msg);

		json_object_set_new(map, texts[i].key, json_loads(one, 0, NULL));
		free(one);
	}
	if (kind == ACK_CODE_REQUIRED)
		log_info("inbound: conversation=%" PRId64 ": a bare ACK; the escalation's code is required "
		    "(ACK_BARE_ALLOWED=0)", job->conversation_id);
	/* The arguments of carenav_staff_step. */
	inbound_commit(job, job->in->staff_commits, json_pack("{s:I, s:I, s:I, s:b, s:s, s:b, s:s, s:o}",
	    "conversation_id", (json_int_t)job->conversation_id, "version", (json_int_t)job->step.version,
	    "message_id", (json_int_t)job->step.message_id, "is_ack", kind != ACK_NONE, "code", code,
	    "code_required", kind == ACK_CODE_REQUIRED, "provider", job->in->cfg->sms_provider, "texts", map));
}

/*
 * A number texting faster than RATE_LIMIT_MESSAGES per window (a runaway
 * phone, or a loop with another auto-responder): the text is stored and
 * marked processed, the dialogue does not move, and only the first text
 * over the limit gets one notice. Red flags are never throttled.
 */
static bool
inbound_throttle(struct inbound_job *job, const struct flow *flow)
{
	struct inbound *in = job->in;
	struct triage_result triage;
	const char *notice;
	json_t *replies;
	int lang;

	if (job->window_count <= in->cfg->rate_limit_messages)
		return false;
	triage_scan(in->triage, job->step.body, strlen(job->step.body), &triage);
	if (triage.level == TRIAGE_EMERGENCY)
		return false;
	stats.rate_limited++;
	replies = json_array();
	if (job->window_count == in->cfg->rate_limit_messages + 1) {
		lang = flow_lang_index(flow, job->step.language);
		notice = flow_message(flow, FLOW_MSG_RATE_LIMITED)->by_lang[lang < 0 ?
		    (int)flow_default_lang(flow) : lang];
		enum segment_encoding enc;
		size_t nseg = segment_count(notice, strlen(notice), &enc);

		json_array_append_new(replies, json_pack("{s:s, s:b, s:I, s:s}", "body", notice,
		    "compliance", 0, "segments", (json_int_t)nseg, "encoding", segment_encoding_name(enc)));
		log_warn("inbound: conversation=%" PRId64 " over %lld texts in %lld s: throttled",
		    job->conversation_id, in->cfg->rate_limit_messages, in->cfg->rate_limit_window_s);
	}
	/* The dialogue does not move: its state (the stored text, given back as such), language and status stay as loaded. */
	inbound_commit(job, in->commits, inbound_step_item(job->conversation_id, &job->step, in->cfg->sms_provider,
	    json_string(job->step.state_json[0] ? job->step.state_json : "{}"), job->step.language, job->step.status,
	    replies, json_array()));
	return true;
}

/* The flow is at hand: run the dialogue and commit what it decided. */
static void
inbound_flow_ready(const struct flow *flow, const char *error, void *arg)
{
	struct inbound_job *job = arg;
	struct inbound *in = job->in;
	struct dialogue_input din;
	struct dialogue_output dout;

	if (flow == NULL && job->step.flow_version_id != job->step.latest_flow_version_id) {
		/* An old version this binary cannot run: better the newest flow than no answer. */
		log_warn("inbound: conversation=%" PRId64 " flow version %" PRId64 " unusable (%s); "
		    "moving it to version %" PRId64, job->conversation_id, job->step.flow_version_id, error,
		    job->step.latest_flow_version_id);
		job->step.flow_version_id = job->step.latest_flow_version_id;
		flows_get(in->flows, job->step.flow_version_id, inbound_flow_ready, job);
		return;
	}
	if (flow == NULL) {
		log_error("inbound: conversation=%" PRId64 " flow version %" PRId64 " unavailable: %s",
		    job->conversation_id, job->step.flow_version_id, error);
		inbound_job_end(job);
		return;
	}
	if (job->staff) {
		inbound_staff_step(job, flow);
		return;
	}
	if (inbound_throttle(job, flow))
		return;
	inbound_step_input(&job->step, flow, in->triage, in->cfg, &din);
	dialogue_run(&din, &dout);
	job->escalated = dout.escalated;
	if (dout.state_was_bad)
		log_error("inbound: conversation=%" PRId64 " had unreadable state; started over",
		    job->conversation_id);

	log_debug("inbound: conversation=%" PRId64 " message=%" PRId64 " triage=%s status=%s",
	    job->conversation_id, job->step.message_id, dout.triage, dout.status);
	inbound_commit(job, in->commits, inbound_step_item(job->conversation_id, &job->step, in->cfg->sms_provider,
	    json_incref(dout.state), dout.language, dout.status, json_incref(dout.replies), json_incref(dout.actions)));
	dialogue_output_free(&dout);
}

static bool
inbound_is_ack(const char *body)
{
	char code[ACK_CODE_MAX];

	return ack_parse(body, code);
}

/*
 * Keeps what the step needs from the loaded row; its dialogue waits for the
 * loop's next pass (inbound_step_run), as does a load's. The webhooks of the
 * accept that read it are written first, so each is answered before the
 * dialogues of all its batch's texts, not after them, and the provider's next
 * webhooks are on their way while those run (session 23 in docs/architecture.md).
 */
static void
inbound_step(struct inbound_job *job, const PGresult *res, int row, const int *col)
{
	struct inbound *in = job->in;

	inbound_step_read(&job->step, res, row, col);
	job->staff = strcmp(store_col_text(res, row, col[STEP_KIND]), "staff") == 0;
	job->window_count = store_col_int64(res, row, col[STEP_WINDOW_COUNT]);
	job->escalated = false;
	TAILQ_INSERT_TAIL(&in->ready, job, ready_entry);
	if (!evtimer_pending(&in->ready_ev, NULL)) {
		struct timeval now = { 0, 0 };

		evtimer_add(&in->ready_ev, &now);
	}
}

/*
 * A step read: its flow version (the conversation's own, or the newest one
 * for a conversation that is new or idle long enough to start over), then
 * the dialogue (inbound_flow_ready).
 */
static void
inbound_step_run(struct inbound_job *job)
{
	struct inbound *in = job->in;
	struct inbound_step *step = &job->step;

	inbound_step_parse(step);
	if (!job->staff && inbound_is_ack(step->body)) {
		stats.ack_refused++;
		log_warn("inbound: conversation=%" PRId64 ": an ACK from a number that is not staff; refused",
		    job->conversation_id);
	}
	/* Staff texts are answered with the newest wording; they have no dialogue state. */
	if (job->staff || inbound_step_starts_over(step, in->cfg))
		step->flow_version_id = step->latest_flow_version_id;
	if (step->flow_version_id == 0) {
		log_error("inbound: no version of flow %s is loaded (carenav flow load FILE)",
		    in->cfg->default_flow);
		inbound_job_end(job);
		return;
	}
	flows_get(in->flows, step->flow_version_id, inbound_flow_ready, job);
}

/* The steps read on the pass before, in order. */
static void
inbound_ready_timer(evutil_socket_t fd, short what, void *arg)
{
	struct inbound *in = arg;
	struct inbound_job *job;

	(void)fd;
	(void)what;
	while ((job = TAILQ_FIRST(&in->ready)) != NULL) {
		TAILQ_REMOVE(&in->ready, job, ready_entry);
		inbound_step_run(job);
	}
}

static void
inbound_load_item_done(const PGresult *res, int row, const int *col, const char *error, void *arg)
{
	struct inbound_job *job = arg;

	if (error != NULL) {
		log_debug("inbound: conversation=%" PRId64 " load failed: %s", job->conversation_id,
		    error);
		inbound_job_end(job);
		return;
	}
	if (row < 0) {
		if (job->dirty && !job->in->sweeper.stopped) {
			job->dirty = false;
			inbound_load(job);
		} else {
			inbound_job_end(job);
		}
		return;
	}
	inbound_step(job, res, row, col);
}

static void
inbound_load(struct inbound_job *job)
{
	if (job->in->sweeper.stopped) {
		inbound_job_end(job);
		return;
	}
	batch_add_take(job->in->loads, inbound_step_load_item(job->conversation_id, job->in->cfg),
	    inbound_load_item_done, job);
}

void
inbound_kick(struct inbound *in, int64_t conversation_id)
{
	inbound_kick_loaded(in, conversation_id, NULL, -1, NULL);
}

void
inbound_kick_loaded(struct inbound *in, int64_t conversation_id, const PGresult *res, int row, const int *col)
{
	struct inbound_job *job = idmap_get(in->jobs, conversation_id);

	if (in->sweeper.stopped)
		return;
	if (job != NULL) {
		/* Its step may be loaded already, but a job runs: that job loads again after its commit. */
		job->dirty = true;
		return;
	}
	job = xcalloc(1, sizeof *job);
	job->in = in;
	job->conversation_id = conversation_id;
	idmap_put(in->jobs, conversation_id, job);
	if (res != NULL && !PQgetisnull(res, row, col[STEP_VERSION]))
		inbound_step(job, res, row, col);
	else
		inbound_load(job);
}

static void
inbound_sweep_done(const PGresult *res, const char *error, void *arg)
{
	struct inbound *in = arg;

	sweeper_done(&in->sweeper);
	if (error != NULL)
		return;
	for (int i = 0; i < PQntuples(res); i++)
		inbound_kick(in, store_col_int64(res, i, 0));
}

/* The sweeper's run: the conversations with texts left unprocessed, each kicked. */
static bool
inbound_sweep(void *arg)
{
	struct inbound *in = arg;

	store_unprocessed_conversations(in->db, INBOUND_SWEEP_LIMIT, in->cfg->sweep_min_age_ms, inbound_sweep_done, in);
	return true;
}

struct inbound *
inbound_new(struct event_base *base, struct db *db, struct outbox *outbox,
    struct escalation *escalation, struct flows *flows, const struct triage *triage,
    const struct config *cfg)
{
	struct inbound *in = xcalloc(1, sizeof *in);
	char lease[24];

	in->base = base;
	in->db = db;
	in->outbox = outbox;
	in->escalation = escalation;
	in->flows = flows;
	in->triage = triage;
	in->cfg = cfg;
	in->jobs = idmap_new();
	TAILQ_INIT(&in->ready);
	evtimer_assign(&in->ready_ev, base, inbound_ready_timer, in);
	in->loads = batch_new(base, db, &store_step_load_batch, cfg->default_flow, INBOUND_LOAD_BATCH, false);
	snprintf(lease, sizeof lease, "%" PRId64, outbox_lease_ms(cfg));
	in->commits = batch_new(base, db, &store_step_commit_batch, lease, INBOUND_COMMIT_BATCH, false);
	batch_set_linger(in->commits, INBOUND_COMMIT_LINGER_ITEMS, INBOUND_COMMIT_LINGER_MS);
	in->staff_commits = batch_new(base, db, &store_staff_step_batch, NULL, 1, false);
	sweeper_init(&in->sweeper, base, cfg->sweep_interval_ms, inbound_sweep, in);
	/* Messages stored before a crash or restart are answered right away. */
	sweeper_kick(&in->sweeper);
	return in;
}

void
inbound_free(struct inbound *in)
{
	if (in == NULL)
		return;
	sweeper_stop(&in->sweeper);
	event_del(&in->ready_ev);
	batch_free(in->loads);
	batch_free(in->commits);
	batch_free(in->staff_commits);
	idmap_free(in->jobs);
	free(in);
}

void
inbound_stop(struct inbound *in)
{
	sweeper_stop(&in->sweeper);
}

size_t
inbound_active(const struct inbound *in)
{
	/* A sweep query in flight counts: a drain must not free us under its callback. */
	return idmap_count(in->jobs) + (in->sweeper.busy ? 1 : 0);
}
