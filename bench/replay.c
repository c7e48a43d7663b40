/*
 * replay.c - the benchmark's reference: the gateway's own SQL for the same
 * texts, with no gateway in between.
 *
 * bench/run compares the gateway with this. It sends the load generator's
 * texts (message k goes to patient k % PATIENTS as step k / PATIENTS of the
 * same script) to a twin population of its own (--patient-base PATIENTS,
 * --run-id of its own): bench/run replays exactly the texts of each gateway
 * phase, to conversations in the states the gateway's were in, since the
 * twins got the same texts before. They go through the statements the
 * gateway issues for a text, built by the gateway's own code
 * (gateway/store.c, gateway/batch.c, gateway/db.c, inbound.c's
 * inbound_step_* functions, the pure dialogue):
 *   carenav_inbound_accept_batch   at most CONNS texts waiting for their
 *                                  accept (the load generator's connections),
 *                                  urgent in the pool and as many calls
 *                                  in flight, keyed, as in intake.c; the
 *                                  step it loads runs without a load
 *   carenav_step_load_batch        one job per conversation, as in inbound.c:
 *   carenav_step_commit_batch      load, dialogue, commit, load again until
 *                                  the commit says 'last'; the reply it
 *                                  leases goes straight to its 'sent' mark
 *   carenav_outbox_claim           after a commit that handed no reply over,
 *                                  a 'sent' mark that left a reply to it, and
 *                                  again while a claim comes back full
 *   carenav_outbox_sent_batch      every claimed or handed-over reply, as the
 *                                  provider took it; the next reply it
 *                                  leases goes straight to its 'sent' mark
 * over DB_POOL_SIZE connections, with the batch sizes bench/run measured in
 * the gateway phase before (--accept-batch and so on: the most items per
 * call, so with work waiting every call has that many). Nothing else runs:
 * no HTTP, no provider, no sweeps. It ends when every text is answered and
 * every reply marked sent, and prints KEY=value lines (RP_*) for bench/run.
 *
 * Settings come from the environment through gateway/config.c, the same
 * variables the gateway got (DATABASE_URL, DB_POOL_SIZE, DEFAULT_FLOW,
 * PROVIDER_TIMEOUT_MS, ...).
 */
#include <event2/event.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "batch.h"
#include "config.h"
#include "db.h"
#include "dialogue.h"
#include "embedded.h"
#include "evloop.h"
#include "flows.h"
#include "idmap.h"
#include "inbound.h"
#include "intake.h"
#include "log.h"
#include "outbox.h"
#include "redflag.h"
#include "segment.h"
#include "store.h"
#include "timeutil.h"
#include "triage.h"
#include "triage_model.h"
#include "xmalloc.h"

/* The load generator's script (bench/loadgen.c): the same texts in the same order. */
static const char *const replay_script[] = {
	"hi", "no", "lower, about 3 days", "no", "1", "2", "3", "4", "5", "6",
};
#define REPLAY_SCRIPT_LEN (sizeof replay_script / sizeof replay_script[0])
/* The gateway's lease margins (gateway/outbox.c). */
#define REPLAY_LEASE_MARGIN_MS 30000
#define REPLAY_URGENT_LEASE_MARGIN_MS 2000

struct replay_opts {
	const char *service;      /* the clinic's number */
	const char *run_id;       /* as the load generator's: MessageSids SM<run_id><seq> */
	long patients;
	long patient_base;        /* the first patient's number: 0 as the load generator's, or a twin population */
	uint64_t start;           /* first sequence number */
	uint64_t count;           /* texts to send */
	int conns;                /* accepts in flight at most */
	size_t accept_batch, load_batch, commit_batch, sent_batch;
	int claim_batch;          /* rows one claim asks for */
};

struct replay {
	struct replay_opts o;
	struct config cfg;
	struct event_base *base;
	struct db *db;
	struct flows *flows;
	struct triage triage;
	struct redflag_rules *rules;   /* owned */
	struct triage_model *model;    /* owned */
	struct batch *accepts, *loads, *commits, *sent;
	struct idmap *jobs;            /* conversation id -> struct replay_job */
	uint64_t next_seq, issued, in_flight, accepted, committed, replies, failures;
	bool claiming, claim_again;
	uint64_t t0_us;
};

/* One conversation's steps, from its first load until it has nothing left (inbound.c's job). */
struct replay_job {
	struct replay *rp;
	int64_t conversation_id;
	bool dirty;               /* a text arrived while stepping: load again before ending */
	struct inbound_step step; /* the loaded step, read as inbound.c reads it */
};

static void replay_load(struct replay_job *job);
static void replay_claim(struct replay *rp);
static void replay_sent(struct replay *rp, const PGresult *res, int i, const int *col);

/* Done when every text was accepted and answered and no reply waits for its claim or mark. */
static void
replay_check_done(struct replay *rp)
{
	if (rp->accepted + rp->failures == rp->o.count && idmap_count(rp->jobs) == 0 && !rp->claiming &&
	    batch_pending(rp->sent) == 0)
		event_base_loopbreak(rp->base);
}

static void
replay_fail(struct replay *rp, const char *what, const char *error)
{
	rp->failures++;
	fprintf(stderr, "replay: %s: %s\n", what, error);
}

static void
replay_job_end(struct replay_job *job)
{
	struct replay *rp = job->rp;

	idmap_remove(rp->jobs, job->conversation_id);
	inbound_step_clear(&job->step);
	free(job);
	replay_check_done(rp);
}

static void
replay_commit_done(const PGresult *res, int row, const int *col, const char *error, void *arg)
{
	struct replay_job *job = arg;
	struct replay *rp = job->rp;
	const char *outcome;

	inbound_step_clear(&job->step);
	if (error == NULL && row < 0)
		error = "no result";
	if (error != NULL) {
		replay_fail(rp, "step commit", error);
		replay_job_end(job);
		return;
	}
	outcome = store_col_text(res, row, col[COMMIT_OUTCOME]);
	if (strcmp(outcome, "ok") == 0 || strcmp(outcome, "last") == 0) {
		rp->committed++;
		if (!PQgetisnull(res, row, col[COMMIT_CLAIM + CLAIM_ID]))
			replay_sent(rp, res, row, col + COMMIT_CLAIM);
		else
			replay_claim(rp);  /* as inbound.c: a claim only when nothing was handed over */
		if (strcmp(outcome, "last") == 0 && !job->dirty) {
			replay_job_end(job);  /* as inbound.c: nothing else waits */
			return;
		}
	}
	replay_load(job);
}

/* inbound_flow_ready without staff texts and throttling (the load has neither). */
static void
replay_flow_ready(const struct flow *flow, const char *error, void *arg)
{
	struct replay_job *job = arg;
	struct replay *rp = job->rp;
	struct dialogue_input din;
	struct dialogue_output dout;

	if (flow == NULL) {
		replay_fail(rp, "flow", error);
		replay_job_end(job);
		return;
	}
	inbound_step_input(&job->step, flow, &rp->triage, &rp->cfg, &din);
	dialogue_run(&din, &dout);
	batch_add_take(rp->commits, inbound_step_item(job->conversation_id, &job->step, rp->cfg.sms_provider,
	    json_incref(dout.state), dout.language, dout.status, json_incref(dout.replies), json_incref(dout.actions)),
	    replay_commit_done, job);
	dialogue_output_free(&dout);
}

static void
replay_load_done(const PGresult *res, int row, const int *col, const char *error, void *arg)
{
	struct replay_job *job = arg;

	if (error != NULL) {
		replay_fail(job->rp, "step load", error);
		replay_job_end(job);
		return;
	}
	if (row < 0) {
		if (job->dirty) {
			job->dirty = false;
			replay_load(job);
		} else {
			replay_job_end(job);
		}
		return;
	}
	inbound_step_read(&job->step, res, row, col);
	inbound_step_parse(&job->step);
	/* The flow version as inbound_step_run picks it. */
	if (inbound_step_starts_over(&job->step, &job->rp->cfg))
		job->step.flow_version_id = job->step.latest_flow_version_id;
	flows_get(job->rp->flows, job->step.flow_version_id, replay_flow_ready, job);
}

static void
replay_load(struct replay_job *job)
{
	batch_add_take(job->rp->loads, inbound_step_load_item(job->conversation_id, &job->rp->cfg), replay_load_done,
	    job);
}

/*
 * As inbound_kick_loaded, but the step the accept loaded (row of res, columns
 * col[STEP_*]) runs at once: the replay has no webhooks to answer first.
 */
static void
replay_kick(struct replay *rp, int64_t conversation_id, const PGresult *res, int row, const int *col)
{
	struct replay_job *job = idmap_get(rp->jobs, conversation_id);

	if (job != NULL) {
		job->dirty = true;
		return;
	}
	job = xcalloc(1, sizeof *job);
	job->rp = rp;
	job->conversation_id = conversation_id;
	idmap_put(rp->jobs, conversation_id, job);
	if (!PQgetisnull(res, row, col[STEP_VERSION]))
		replay_load_done(res, row, col, NULL, job);
	else
		replay_load(job);
}

static void
replay_sent_done(const PGresult *res, int row, const int *col, const char *error, void *arg)
{
	struct replay *rp = arg;

	if (error == NULL && row < 0)
		error = "no result";
	if (error != NULL) {
		replay_fail(rp, "sent mark", error);
		replay_claim(rp);
	} else {
		rp->replies++;
		/* As gateway/outbox.c: the next reply the mark handed over, a claim only for one it left. */
		if (!PQgetisnull(res, row, col[SENT_CLAIM + CLAIM_ID]))
			replay_sent(rp, res, row, col + SENT_CLAIM);
		if (store_col_bool(res, row, col[SENT_MORE]))
			replay_claim(rp);
	}
	replay_check_done(rp);
}

/* A claimed or handed-over reply (claim columns col[CLAIM_*] of row i): the provider took it. */
static void
replay_sent(struct replay *rp, const PGresult *res, int i, const int *col)
{
	const char *body = store_col_text(res, i, col[CLAIM_BODY]);
	enum segment_encoding enc;
	size_t nseg = segment_count(body, strlen(body), &enc);
	int64_t id = store_col_int64(res, i, col[CLAIM_ID]);
	char sid[48];

	snprintf(sid, sizeof sid, "SMreplay%" PRId64, id);
	batch_add_take(rp->sent, json_pack("{s:I, s:s, s:s, s:I, s:s}", "id", (json_int_t)id, "sid", sid,
	    "status", "sent", "segments", (json_int_t)nseg, "encoding", segment_encoding_name(enc)),
	    replay_sent_done, rp);
}

static void
replay_claim_done(const PGresult *res, const char *error, void *arg)
{
	struct replay *rp = arg;
	int col[CLAIM_NCOLS], rows = 0;
	const char *missing;

	rp->claiming = false;
	if (error != NULL || !store_col_lookup(res, store_claim_columns, col, &missing)) {
		fprintf(stderr, "replay: claim: %s\n", error != NULL ? error : missing);
		exit(1);
	}
	rows = PQntuples(res);
	for (int i = 0; i < rows; i++)
		replay_sent(rp, res, i, col);
	if (rp->claim_again || rows == rp->o.claim_batch) {
		rp->claim_again = false;
		replay_claim(rp);
	}
	replay_check_done(rp);
}

static void
replay_claim(struct replay *rp)
{
	if (rp->claiming) {
		rp->claim_again = true;
		return;
	}
	rp->claiming = true;
	store_outbox_claim(rp->db, rp->o.claim_batch, rp->cfg.provider_timeout_ms + REPLAY_LEASE_MARGIN_MS,
	    rp->cfg.provider_timeout_ms + REPLAY_URGENT_LEASE_MARGIN_MS, replay_claim_done, rp);
}

static void replay_feed(struct replay *rp);

static void
replay_accept_done(const PGresult *res, int row, const int *col, const char *error, void *arg)
{
	struct replay *rp = arg;

	rp->in_flight--;
	if (error == NULL && row < 0)
		error = "no result";
	if (error != NULL) {
		replay_fail(rp, "accept", error);
	} else {
		rp->accepted++;
		replay_kick(rp, store_col_int64(res, row, col[ACCEPT_CONVERSATION_ID]), res, row, col + ACCEPT_STEP);
	}
	replay_feed(rp);
	replay_check_done(rp);
}

/* Keeps CONNS texts waiting for their accept, as the load generator's closed loop does. */
static void
replay_feed(struct replay *rp)
{
	char from[32], sid[64], key[INTAKE_KEY_MAX];

	while (rp->issued < rp->o.count && rp->in_flight < (uint64_t)rp->o.conns) {
		uint64_t seq = rp->next_seq++;
		uint64_t step = seq / (uint64_t)rp->o.patients;
		size_t s = step % REPLAY_SCRIPT_LEN;

		snprintf(from, sizeof from, "+1555%07ld",
		    1000000 + rp->o.patient_base + (long)(seq % (uint64_t)rp->o.patients));
		snprintf(sid, sizeof sid, "SM%s%020" PRIu64, rp->o.run_id, seq);
		rp->issued++;
		rp->in_flight++;
		intake_conversation_key(key, sizeof key, from, rp->o.service);
		batch_add_keyed_take(rp->accepts, key, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:n, s:I}", "provider", "twilio",
		    "sid", sid, "from", from, "to", rp->o.service,
		    "body", (s == 0 && step > 0) ? "menu" : replay_script[s], "num_media", 0, "opt_out_type",
		    "window_ms", (json_int_t)(rp->cfg.rate_limit_window_s * 1000)), replay_accept_done, rp);
	}
}

static const char *
replay_getenv(const char *name)
{
	return getenv(name);
}

/* The compiled-in detectors, as the gateway loads them without TRIAGE_* files. */
static void
replay_load_triage(struct replay *rp)
{
	const struct embedded_file *phrases = embedded_find(embedded_triage, "phrases.json");
	const struct embedded_file *model = embedded_find(embedded_triage, "model.txt");
	char *cause = NULL;

	if (phrases == NULL || model == NULL)
		fatalx("replay: no compiled-in triage phrases or model");
	if ((rp->rules = redflag_rules_load(phrases->data, phrases->len, &cause)) == NULL)
		fatalx("replay: triage phrases: %s", cause);
	if ((rp->model = triage_model_load(model->data, model->len, &cause)) == NULL)
		fatalx("replay: triage model: %s", cause);
	rp->triage.rules = rp->rules;
	rp->triage.model = rp->model;
}

static void
replay_usage(void)
{
	fprintf(stderr,
	    "usage: carenav-replay --count N [--start SEQ] [--patients N] [--patient-base N] [--run-id ID]\n"
	    "                      [--service NUM] [--conns N] [--accept-batch N] [--load-batch N]\n"
	    "                      [--commit-batch N] [--claim-batch N] [--sent-batch N]\n"
	    "  (the gateway's settings, DATABASE_URL and DB_POOL_SIZE first, from the environment)\n");
	exit(2);
}

static long
replay_arg(const char *name, const char *v, long min)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*v == '\0' || *end != '\0' || n < min) {
		fprintf(stderr, "carenav-replay: %s must be an integer >= %ld, not '%s'\n", name, min, v);
		exit(2);
	}
	return n;
}

int
main(int argc, char **argv)
{
	struct replay rp = { 0 };
	struct rusage ru;
	char *cause = NULL, *conninfo, lease[24];
	double secs, cpu_ms;

	rp.o.service = "+15550009999";
	rp.o.run_id = "0";
	rp.o.patients = 10000;
	rp.o.conns = 64;
	rp.o.accept_batch = rp.o.load_batch = rp.o.commit_batch = rp.o.sent_batch = 1;
	rp.o.claim_batch = 64;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			replay_usage();
		i++;
		if (strcmp(a, "--count") == 0) rp.o.count = (uint64_t)replay_arg(a, v, 1);
		else if (strcmp(a, "--start") == 0) rp.o.start = (uint64_t)replay_arg(a, v, 0);
		else if (strcmp(a, "--patients") == 0) rp.o.patients = replay_arg(a, v, 1);
		else if (strcmp(a, "--patient-base") == 0) rp.o.patient_base = replay_arg(a, v, 0);
		else if (strcmp(a, "--run-id") == 0) rp.o.run_id = v;
		else if (strcmp(a, "--service") == 0) rp.o.service = v;
		else if (strcmp(a, "--conns") == 0) rp.o.conns = (int)replay_arg(a, v, 1);
		else if (strcmp(a, "--accept-batch") == 0) rp.o.accept_batch = (size_t)replay_arg(a, v, 1);
		else if (strcmp(a, "--load-batch") == 0) rp.o.load_batch = (size_t)replay_arg(a, v, 1);
		else if (strcmp(a, "--commit-batch") == 0) rp.o.commit_batch = (size_t)replay_arg(a, v, 1);
		else if (strcmp(a, "--claim-batch") == 0) rp.o.claim_batch = (int)replay_arg(a, v, 1);
		else if (strcmp(a, "--sent-batch") == 0) rp.o.sent_batch = (size_t)replay_arg(a, v, 1);
		else replay_usage();
	}
	if (rp.o.count == 0)
		replay_usage();
	if (!config_load(&rp.cfg, replay_getenv, &cause))
		fatalx("replay: configuration: %s", cause);
	log_set_level(LOG_WARN);
	replay_load_triage(&rp);

	rp.base = evloop_new();  /* the gateway's loop */
	if (rp.base == NULL)
		fatalx("replay: cannot make an event loop");
	conninfo = config_database_conninfo(&rp.cfg);
	rp.db = db_new(rp.base, conninfo, (size_t)rp.cfg.db_pool_size);
	free(conninfo);
	rp.flows = flows_new(rp.db);
	rp.jobs = idmap_new();
	/*
	 * As intake.c, inbound.c and outbox.c make theirs, with the measured sizes
	 * and the same lingers: without them the commits and 'sent' marks went out
	 * with whatever waited, in a quarter to a half more calls than the
	 * gateway's for the same texts.
	 */
	rp.accepts = batch_new(rp.base, rp.db, &store_inbound_accept_batch, rp.cfg.default_flow, rp.o.accept_batch,
	    true);
	batch_set_linger(rp.accepts, INTAKE_LINGER_ITEMS, INTAKE_LINGER_MS);
	batch_set_calls(rp.accepts, intake_accept_calls(rp.cfg.db_pool_size));
	rp.loads = batch_new(rp.base, rp.db, &store_step_load_batch, rp.cfg.default_flow, rp.o.load_batch, false);
	snprintf(lease, sizeof lease, "%lld", rp.cfg.provider_timeout_ms + REPLAY_LEASE_MARGIN_MS);
	rp.commits = batch_new(rp.base, rp.db, &store_step_commit_batch, lease, rp.o.commit_batch, false);
	batch_set_linger(rp.commits, INBOUND_COMMIT_LINGER_ITEMS, INBOUND_COMMIT_LINGER_MS);
	rp.sent = batch_new(rp.base, rp.db, &store_outbox_sent_batch, lease, rp.o.sent_batch, false);
	batch_set_linger(rp.sent, OUTBOX_SENT_LINGER_ITEMS, OUTBOX_SENT_LINGER_MS);
	rp.next_seq = rp.o.start;

	rp.t0_us = timeutil_mono_us();
	replay_feed(&rp);
	event_base_dispatch(rp.base);
	secs = (double)(timeutil_mono_us() - rp.t0_us) / 1e6;
	getrusage(RUSAGE_SELF, &ru);
	cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;

	printf("RP_texts=%" PRIu64 "\n", rp.accepted);
	printf("RP_committed=%" PRIu64 "\n", rp.committed);
	printf("RP_replies=%" PRIu64 "\n", rp.replies);
	printf("RP_failures=%" PRIu64 "\n", rp.failures);
	printf("RP_seconds=%.3f\n", secs);
	printf("RP_rate=%.1f\n", secs > 0 ? (double)rp.accepted / secs : 0.0);
	printf("RP_cpu_ms_per_text=%.3f\n", rp.accepted ? cpu_ms / (double)rp.accepted : 0.0);

	batch_free(rp.accepts);
	batch_free(rp.loads);
	batch_free(rp.commits);
	batch_free(rp.sent);
	idmap_free(rp.jobs);
	flows_free(rp.flows);
	db_free(rp.db);
	event_base_free(rp.base);
	redflag_rules_free(rp.rules);
	triage_model_free(rp.model);
	config_free(&rp.cfg);
	return rp.failures > 0 ? 1 : 0;
}
