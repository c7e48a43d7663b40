/*
 * intake.c - durable acceptance of inbound SMS. See intake.h.
 *
 * DESIGN. Normally a message is committed with carenav_inbound_accept. If
 * the database cannot be reached (the pool reports a lost or unavailable
 * connection), it is appended to the spool and fsync'd instead; either way
 * the provider's 2xx follows durability. While the spool holds anything,
 * new messages are appended behind it too, so a patient's texts still
 * reach the database in the order they arrived. The replay commits the
 * spooled records one at a time, in file order, with the same idempotent
 * accept (a record replayed twice after a crash is stored once), and only
 * then cuts them from the spool.
 *
 * GROUP COMMIT. Accepts go to the database through the group-commit engine
 * (batch.c): the webhooks that arrive while a batch commits wait, then go
 * together as one call of carenav_inbound_accept_batch, one transaction
 * and one WAL flush for all of them, and only after that commit does any
 * of them get its 2xx. Under light load a batch is a single message; under
 * heavy load the batch grows with the load, so the commit rate (fsyncs per
 * second) stays bounded while the message rate rises. Two batches may be
 * in flight (intake_accept_calls), the second only once a full linger's
 * worth waits. Order is kept: a conversation's texts are never in two
 * batches at once (keyed by its numbers: a later text waits for the batch
 * with its earlier one), and a batch stores its messages in arrival order
 * within each conversation. If a batch fails with the connection lost, its
 * messages are spooled in arrival order; if PostgreSQL refuses it (one bad
 * message, a deadlock with another gateway), batch.c sends each message
 * again alone, so one message never fails the others. The spool is the
 * batch's hold (intake_hold): while it has records, waiting messages are
 * spooled behind them instead of sent, a conversation's only once the
 * batch with its older text has ended (and spooled it, if it failed). The
 * batch is urgent, ahead of dialogue steps in the pool's FIFO.
 */
#include "intake.h"

#include <event2/event.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "config.h"
#include "db.h"
#include "enum_name.h"
#include "inbound.h"
#include "log.h"
#include "spool.h"
#include "store.h"
#include "sweeper.h"
#include "timeutil.h"
#include "xmalloc.h"

struct intake {
	struct event_base *base;
	struct db *db;              /* borrowed */
	struct inbound *inbound;    /* borrowed */
	struct spool *spool;        /* borrowed, may be NULL */
	const struct config *cfg;   /* borrowed */
	struct sweeper replayer;    /* with a spool (else unused): one replay at a time */
	bool ready;                 /* the database has our schema: accept and replay there */
	struct batch *accepts;      /* owned: carenav_inbound_accept_batch */
};

/* Most messages in one accept batch (one transaction). */
#define INTAKE_BATCH_MAX 256

/* A copy of a message, for the time its accept is in flight. */
struct intake_msg {
	char *provider, *sid, *from, *to, *body;  /* owned */
	int num_media;
	char *opt_out_type;  /* owned, or NULL */
};

/* One webhook's accept, from intake_accept until its done callback. */
struct intake_call {
	struct intake *intake;
	struct intake_msg msg;
	intake_done_cb *done;
	void *arg;
};

/* One replay: the spooled records read at its start, committed one by one. */
struct intake_replay {
	struct intake *intake;
	struct intake_msg *msgs;  /* owned */
	size_t n, next;
	size_t consumed;          /* spool bytes the records occupy */
};

/* The name of a result ("spooled"), for logs. */
CN_ENUM_NAME(intake_result_name, enum intake_result, INTAKE_RESULT_LIST)

static void
intake_msg_copy(struct intake_msg *dst, const char *provider, const char *sid, const char *from,
    const char *to, const char *body, int num_media, const char *opt_out_type)
{
	dst->opt_out_type = opt_out_type ? xstrdup(opt_out_type) : NULL;
	dst->provider = xstrdup(provider);
	dst->sid = xstrdup(sid);
	dst->from = xstrdup(from);
	dst->to = xstrdup(to);
	dst->body = xstrdup(body);
	dst->num_media = num_media;
}

static void
intake_msg_clear(struct intake_msg *m)
{
	free(m->provider);
	free(m->sid);
	free(m->from);
	free(m->to);
	free(m->body);
	free(m->opt_out_type);
}

static struct store_inbound
intake_msg_view(const struct intake_msg *m)
{
	struct store_inbound in = { m->provider, m->sid, m->from, m->to, m->body, m->num_media,
		m->opt_out_type };

	return in;
}

/* Appends to the spool; the result to give the provider. */
static enum intake_result
intake_spool(struct intake *intake, const struct store_inbound *in)
{
	char *cause = NULL;
	char masked[16];

	if (intake->spool == NULL)
		return INTAKE_UNAVAILABLE;
	if (!spool_append(intake->spool, in, timeutil_now_ms(), &cause)) {
		log_error("intake: database down AND spool failed (%s): answering 503", cause);
		free(cause);
		return INTAKE_UNAVAILABLE;
	}
	log_info("intake: message from %s spooled (%zu waiting for the database)",
	    log_mask_phone(in->from, masked, sizeof masked), spool_pending_records(intake->spool));
	return INTAKE_SPOOLED;
}

static void
intake_call_finish(struct intake_call *call, enum intake_result result, int64_t message_id)
{
	call->done(result, message_id, call->arg);
	intake_msg_clear(&call->msg);
	free(call);
}

/* One accept of a batch is over: stored, a duplicate, spooled, or refused. */
static void
intake_accept_item_done(const PGresult *res, int row, const int *col, const char *error, void *arg)
{
	struct intake_call *call = arg;
	struct intake *intake = call->intake;
	struct store_inbound in = intake_msg_view(&call->msg);
	enum intake_result result;
	int64_t message_id = 0;

	if (error == NULL && row >= 0) {
		message_id = store_col_int64(res, row, col[ACCEPT_MESSAGE_ID]);
		result = store_col_bool(res, row, col[ACCEPT_IS_NEW]) ? INTAKE_STORED : INTAKE_DUPLICATE;
		if (result == INTAKE_STORED)
			inbound_kick_loaded(intake->inbound, store_col_int64(res, row, col[ACCEPT_CONVERSATION_ID]), res,
			    row, col + ACCEPT_STEP);
	} else if (error == NULL) {
		result = INTAKE_UNAVAILABLE;  /* a row the function did not return: 503 */
	} else if (res == NULL) {
		/* No answer from the server, or held behind the spool: keep the message here. */
		result = intake_spool(intake, &in);
	} else {
		log_error("intake: the database refused a message: %s", error);
		result = INTAKE_UNAVAILABLE;
	}
	intake_call_finish(call, result, message_id);
}

static void
intake_spooled_now(evutil_socket_t fd, short what, void *arg)
{
	struct intake_call *call = arg;
	struct store_inbound in = intake_msg_view(&call->msg);

	(void)fd;
	(void)what;
	intake_call_finish(call, intake_spool(call->intake, &in), 0);
}

/*
 * The batch's hold: while the spool has records, newer messages go behind
 * them (arrival order); so do those that waited while the schema was not
 * there yet.
 */
static bool
intake_hold(void *arg)
{
	struct intake *intake = arg;

	return !intake->ready || (intake->spool != NULL && spool_pending_records(intake->spool) > 0);
}

size_t
intake_accept_calls(long long pool_size)
{
	return pool_size >= 3 ? 2 : 1;
}

void
intake_conversation_key(char *buf, size_t size, const char *from, const char *to)
{
	snprintf(buf, size, "%s\n%s", from, to);
}

void
intake_accept(struct intake *intake, const struct store_inbound *msg, intake_done_cb *done, void *arg)
{
	struct intake_call *call = xcalloc(1, sizeof *call);
	char key[INTAKE_KEY_MAX];

	call->intake = intake;
	call->done = done;
	call->arg = arg;
	intake_msg_copy(&call->msg, msg->provider, msg->sid, msg->from, msg->to, msg->body,
	    msg->num_media, msg->opt_out_type);
	if (intake_hold(intake) && batch_pending(intake->accepts) == 0) {
		/* Behind the spooled ones, to keep arrival order. */
		event_base_once(intake->base, -1, EV_TIMEOUT, intake_spooled_now, call, NULL);
		return;
	}
	/*
	 * With accepts waiting or in flight, behind them: an older text of this
	 * conversation may be in a call that fails and goes to the spool, and
	 * the batch's hold spools this one only after it.
	 */
	intake_conversation_key(key, sizeof key, call->msg.from, call->msg.to);
	batch_add_keyed_take(intake->accepts, key, json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s*, s:I}",
	    "provider", call->msg.provider, "sid", call->msg.sid, "from", call->msg.from, "to", call->msg.to,
	    "body", call->msg.body, "num_media", call->msg.num_media, "opt_out_type", call->msg.opt_out_type,
	    "window_ms", (json_int_t)(intake->cfg->rate_limit_window_s * 1000)), intake_accept_item_done, call);
}

static void intake_replay_next(struct intake_replay *r);

static void
intake_replay_end(struct intake_replay *r, bool committed)
{
	struct intake *intake = r->intake;
	char *cause = NULL;

	if (committed) {
		if (spool_consume(intake->spool, r->consumed, &cause))
			log_info("intake: replayed %zu spooled messages into the database", r->n);
		else
			log_error("intake: replayed, but could not cut the spool (will replay again, "
			    "deduplicated): %s", cause);
		free(cause);
	}
	for (size_t i = 0; i < r->n; i++)
		intake_msg_clear(&r->msgs[i]);
	free(r->msgs);
	free(r);
	sweeper_done(&intake->replayer);
	/* More arrived during the replay: go on at once. */
	if (committed && spool_pending_records(intake->spool) > 0)
		sweeper_kick(&intake->replayer);
}

static void
intake_replay_done(const PGresult *res, const char *error, void *arg)
{
	struct intake_replay *r = arg;
	int col[ACCEPT_NCOLS];
	const char *missing = NULL;

	if (error == NULL && !store_col_lookup(res, store_accept_columns, col, &missing))
		error = "the accept's result lacks a column";
	if (error != NULL) {
		log_warn("intake: spool replay paused at %zu/%zu: %s%s%s", r->next, r->n, error,
		    missing ? ": " : "", missing ? missing : "");
		intake_replay_end(r, false);
		return;
	}
	if (store_col_bool(res, 0, col[ACCEPT_IS_NEW]))
		inbound_kick(r->intake->inbound, store_col_int64(res, 0, col[ACCEPT_CONVERSATION_ID]));
	r->next++;
	intake_replay_next(r);
}

static void
intake_replay_next(struct intake_replay *r)
{
	struct store_inbound in;

	if (r->next == r->n) {
		intake_replay_end(r, true);
		return;
	}
	in = intake_msg_view(&r->msgs[r->next]);
	store_inbound_accept(r->intake->db, &in, intake_replay_done, r);
}

static bool
intake_collect_cb(const struct spool_record *rec, size_t end, void *arg)
{
	struct intake_replay *r = arg;

	r->msgs = xreallocarray(r->msgs, r->n + 1, sizeof *r->msgs);
	intake_msg_copy(&r->msgs[r->n++], rec->provider, rec->sid, rec->from, rec->to, rec->body,
	    rec->num_media, rec->opt_out_type);
	r->consumed = end;
	return true;
}

/* The replayer's run: a replay of what the spool holds, if the database can take it. */
static bool
intake_replay_start(void *arg)
{
	struct intake *intake = arg;
	struct intake_replay *r;
	char *buf = NULL, *cause = NULL;
	size_t len;

	if (!intake->ready || spool_pending_records(intake->spool) == 0 || !db_is_up(intake->db))
		return false;
	if (!spool_read(intake->spool, &buf, &len, &cause)) {
		log_error("intake: cannot read the spool: %s", cause);
		free(cause);
		return false;
	}
	r = xcalloc(1, sizeof *r);
	r->intake = intake;
	spool_parse(buf, len, intake_collect_cb, r);
	free(buf);
	log_info("intake: database reachable; replaying %zu spooled messages", r->n);
	intake_replay_next(r);
	return true;
}

struct intake *
intake_new(struct event_base *base, struct db *db, struct inbound *inbound, struct spool *spool,
    const struct config *cfg)
{
	struct intake *intake = xcalloc(1, sizeof *intake);

	intake->base = base;
	intake->db = db;
	intake->inbound = inbound;
	intake->spool = spool;
	intake->cfg = cfg;
	/* The accept also loads each text's step (inbound_kick_loaded): $2 is the default flow. */
	intake->accepts = batch_new(base, db, &store_inbound_accept_batch, cfg->default_flow, INTAKE_BATCH_MAX, true);
	batch_set_hold(intake->accepts, intake_hold, intake);
	batch_set_linger(intake->accepts, INTAKE_LINGER_ITEMS, INTAKE_LINGER_MS);
	batch_set_calls(intake->accepts, intake_accept_calls(cfg->db_pool_size));
	if (spool != NULL)
		sweeper_init(&intake->replayer, base, cfg->sweep_interval_ms, intake_replay_start, intake);
	return intake;
}

void
intake_set_ready(struct intake *intake, bool ready)
{
	intake->ready = ready;
	if (ready && intake->spool != NULL && spool_pending_records(intake->spool) > 0)
		sweeper_kick(&intake->replayer);
}

void
intake_free(struct intake *intake)
{
	if (intake == NULL)
		return;
	if (intake->spool != NULL)
		sweeper_stop(&intake->replayer);
	batch_free(intake->accepts);
	free(intake);
}

size_t
intake_spooled(const struct intake *intake)
{
	return intake->spool ? spool_pending_records(intake->spool) : 0;
}

bool
intake_replaying(const struct intake *intake)
{
	return intake->replayer.busy;
}
