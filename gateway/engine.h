/*
 * engine.h - the dialogue state machine (PURE: no I/O, no clock, no
 * randomness; time and input are arguments).
 *
 * engine_step() takes a flow, the conversation's state and one inbound SMS
 * with the red-flag matcher's verdict, and returns a new state, the reply
 * texts and the actions for inbound.c to commit in one transaction. The old
 * state is never modified, so a failed commit can simply be retried.
 * Everything clinical (texts, keywords, questions, the words slot filling
 * reads from free text) comes from the flow document; this file only knows
 * the order of precedence:
 * opted-out > emergency > STOP/START > handoff > idle reset > keywords > answer.
 */
#ifndef CARENAV_GATEWAY_ENGINE_H
#define CARENAV_GATEWAY_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attrs.h"
#include "flow.h"
#include "redflag.h"

#define ENGINE_MAX_TRIES 3 /* failed answers at one node before offering HUMAN/MENU */

/* One conversation's progress; opaque, see engine.c. */
struct conv_state;

#define ENGINE_ACTION_LIST(X)                                                     \
	X(ENGINE_ACTION_ESCALATE, "escalate") /* alert staff now: red flag or screen YES */ \
	X(ENGINE_ACTION_CALLBACK, "callback") /* staff should phone the patient */         \
	X(ENGINE_ACTION_OPT_OUT, "opt_out")   /* patient sent STOP: record the opt-out */  \
	X(ENGINE_ACTION_OPT_IN, "opt_in")     /* patient sent START after STOP */

enum engine_action_kind {
#define ENGINE_ENUM(e, n) e,
	ENGINE_ACTION_LIST(ENGINE_ENUM)
#undef ENGINE_ENUM
};

struct engine_action {
	enum engine_action_kind kind;
	char *reason; /* owned: rule ids joined by ",", "booking", "human", "stop", ... */
	char *detail; /* owned, may be NULL: matched words, node id */
};

/*
 * An opt-out keyword the SMS provider itself recognised in the text
 * (Twilio's OptOutType). It overrides the flow's own keyword matching:
 * the provider has already blocked or unblocked the number.
 */
enum engine_provider_keyword {
	ENGINE_PKW_NONE,  /* none: the flow's keywords decide */
	ENGINE_PKW_STOP,  /* the provider took the text as an opt-out (STOP, REVOKE, OPTOUT, ...) */
	ENGINE_PKW_START, /* an opt-in (START, YES, ...): only after STOP, else an ordinary answer */
	ENGINE_PKW_HELP,  /* a help request */
};

struct engine_input {
	const char *text;	   /* the patient's SMS, UTF-8, may be invalid; borrowed */
	size_t len;		   /* bytes in text */
	int64_t now_ms;		   /* ms since epoch */
	int64_t idle_reset_ms;	   /* idle longer than this starts over; <= 0 never */
	const char *detected_lang; /* "en"/"es" guess for this text; first message only */
	enum triage_level triage;  /* red-flag matcher's verdict on this text */
	const char *const *triage_reasons; /* rule ids; borrowed */
	size_t ntriage_reasons;
	const char *triage_matched; /* matched words; borrowed, may be NULL */
	bool handoff;		    /* an operator has paused automation */
	enum engine_provider_keyword provider_keyword; /* the provider's verdict on the text */
	bool provider_confirms;	    /* the provider answers the keywords it flags (Twilio Advanced
				       Opt-Out): no STOP/START confirmation of ours for those */
};

struct engine_result {
	struct conv_state *next; /* owned: the new state */
	char **replies;		 /* owned: complete texts in the conversation's language */
	size_t nreplies;
	struct engine_action *actions; /* owned */
	size_t nactions;
};

/*
 * Parses a state stored by engine_state_to_json(); NULL or "" gives a fresh
 * conversation. On failure returns false with *cause (caller frees).
 */
bool engine_state_from_json(const char *json, struct conv_state **out, char **cause) CN_MUSTCHECK;
/* The state as a JSON value (a new reference), as stored. */
json_t *engine_state_json(const struct conv_state *state);
/* The same as JSON text (caller frees). */
char *engine_state_to_json(const struct conv_state *state);
/* Frees a state (NULL ok). */
void engine_state_free(struct conv_state *state);
/* Returns a fresh conversation (caller frees). */
struct conv_state *engine_state_new(void);
/* Returns the current node id, or NULL before the first message. */
const char *engine_state_node(const struct conv_state *state);
/* Returns the conversation language ("en"), or "" before the first message. */
const char *engine_state_lang(const struct conv_state *state);
/* Returns a captured variable, or NULL when unset. */
const char *engine_state_var(const struct conv_state *state, const char *name);
/* Returns true when the patient has opted out (STOP). */
bool engine_state_opted_out(const struct conv_state *state);
/* Returns failed answers at the current node. */
int engine_state_tries(const struct conv_state *state);
/* Returns the time of the last inbound text, ms since epoch (0 = never). */
int64_t engine_state_last_activity(const struct conv_state *state);

/*
 * Runs one inbound SMS through the flow. state may be NULL (fresh). Fills
 * *out, which the caller releases with engine_result_free(). Never fails.
 */
void engine_step(const struct flow *flow, const struct conv_state *state,
    const struct engine_input *in, struct engine_result *out);
/* Frees everything a result owns and zeroes it. */
void engine_result_free(struct engine_result *res);
/* The step's replies as the one message they are sent as: joined by newlines (caller frees). */
char *engine_result_text(const struct engine_result *res);
/* Returns the name of an action kind ("escalate"). */
const char *engine_action_name(enum engine_action_kind kind);

#endif
