/*
 * inbound.h - runs the dialogue for stored inbound messages.
 *
 * The webhook only stores a message; this module answers it: for each
 * conversation with unprocessed messages it loads the oldest, runs one
 * dialogue step and commits the result, then takes the next, so one
 * patient's texts are answered one at a time in arrival order.
 */
#ifndef CARENAV_GATEWAY_INBOUND_H
#define CARENAV_GATEWAY_INBOUND_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Below INBOUND_COMMIT_LINGER_ITEMS waiting, a step commit waits up to
 * INBOUND_COMMIT_LINGER_MS for others to share its transaction, as the
 * accept does (gateway/intake.h): nobody waits on it but the reply, which
 * leaves that much later (50 ms: nothing beside an SMS's own seconds; see
 * gateway/intake.h for what these lingers saved).
 */
#define INBOUND_COMMIT_LINGER_ITEMS 64
#define INBOUND_COMMIT_LINGER_MS 50

struct config;
struct conv_state;
struct db;
struct dialogue_input;
struct escalation;
struct event_base;
struct flow;
struct flows;
struct inbound;
struct outbox;
struct triage;

/*
 * A conversation's next step as carenav_step_load read it: what the
 * dialogue runs on and what carenav_step_commit checks. bench/replay.c runs
 * its steps through the same functions.
 */
struct inbound_step {
	int64_t version;          /* conversation version as loaded */
	int64_t message_id;
	int64_t received_ms;      /* the message's created_at (ms since epoch, rounded): its partition */
	int64_t flow_version_id;  /* the conversation's own, until the step picks the one it runs on */
	int64_t latest_flow_version_id;  /* the newest version of the default flow */
	int64_t idle_ms;          /* since the conversation's last activity, when loaded */
	bool handoff;
	char language[8];         /* the conversation's, as loaded */
	char status[16];          /* the conversation's, as loaded */
	char opt_out_type[8];     /* the provider's keyword verdict ("STOP", ...), or "" */
	char *state_json;         /* owned: as stored, for a step that keeps it */
	struct conv_state *state; /* owned: state_json parsed (inbound_step_parse); NULL before, or when unreadable */
	char *body;               /* owned */
};

struct inbound *inbound_new(struct event_base *base, struct db *db, struct outbox *outbox,
    struct escalation *escalation, struct flows *flows, const struct triage *triage,
    const struct config *cfg);
void inbound_free(struct inbound *in);
/* A message for this conversation was stored: process it soon. */
void inbound_kick(struct inbound *in, int64_t conversation_id);
/*
 * The same, with the conversation's step already loaded: row of res, its
 * columns col[STEP_*] (store.h), borrowed for the call; a NULL version
 * column (or res NULL) means not loaded. Used unless a job for the
 * conversation runs already.
 */
void inbound_kick_loaded(struct inbound *in, int64_t conversation_id, const PGresult *res, int row,
    const int *col);
/* The arguments of carenav_step_load for the conversation: an item of carenav_step_load_batch. */
json_t *inbound_step_load_item(int64_t conversation_id, const struct config *cfg);
/* Reads the step from row of res, its columns at col[STEP_*] (store.h); its state unparsed. */
void inbound_step_read(struct inbound_step *step, const PGresult *res, int row, const int *col);
/*
 * Parses state_json into state; call it before inbound_step_starts_over and
 * inbound_step_input. Kept apart from the read so that the gateway can run it
 * a loop pass later (inbound.c).
 */
void inbound_step_parse(struct inbound_step *step);
/* Frees what the step owns; it can be read again. */
void inbound_step_clear(struct inbound_step *step);
/*
 * Whether the step runs on the newest flow version rather than the
 * conversation's own: a conversation with no version or not yet started,
 * or one idle past IDLE_RESET_HOURS (which starts over).
 */
bool inbound_step_starts_over(const struct inbound_step *step, const struct config *cfg);
/* The dialogue's input for the step, run on flow now; borrows from the step. */
void inbound_step_input(const struct inbound_step *step, const struct flow *flow,
    const struct triage *triage, const struct config *cfg, struct dialogue_input *din);
/*
 * The step's commit: the arguments of carenav_step_commit, an item of
 * carenav_step_commit_batch, with the state, language, status, replies and
 * actions it leaves. Takes the references to state, replies and actions:
 * JSON values, or a value's text as a JSON string (carenav_item_json).
 */
json_t *inbound_step_item(int64_t conversation_id, const struct inbound_step *step, const char *provider,
    json_t *state, const char *language, const char *status, json_t *replies, json_t *actions);
/* Stops starting new steps; steps in flight finish. */
void inbound_stop(struct inbound *in);
/* Conversations being stepped right now, plus one while a sweep query is in flight. */
size_t inbound_active(const struct inbound *in);

#endif
