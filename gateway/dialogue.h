/*
 * dialogue.h - one dialogue step, from stored state and an SMS to what to
 * store and send (PURE).
 *
 * The glue between the database row inbound.c loads and the pure modules
 * that decide: the red-flag detectors (triage.c: phrase rules OR text model)
 * read the text, the engine takes the step, the segmenter cuts each reply into SMS parts, and the result is
 * serialised as the JSON that carenav_step_commit takes.
 */
#ifndef CARENAV_GATEWAY_DIALOGUE_H
#define CARENAV_GATEWAY_DIALOGUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "segment.h"

struct conv_state;
struct flow;
struct triage;

struct dialogue_input {
	const struct flow *flow;            /* the conversation's flow version */
	const struct triage *triage;        /* the red-flag detectors (rules + model) */
	const struct conv_state *state;  /* the conversation's stored state (dialogue_state_read); NULL = unreadable */
	const char *text;        /* the patient's SMS */
	int64_t now_ms;          /* ms since epoch */
	int64_t idle_reset_ms;   /* idle longer than this starts over */
	bool handoff;            /* an operator has paused automation */
	const char *opt_out_type; /* the provider's keyword verdict: "STOP", "START", "HELP", or NULL */
	bool provider_confirms;  /* the provider answers the keywords it flags (TWILIO_ADVANCED_OPT_OUT) */
	struct segment_limit limit;  /* what one message may be with the provider */
	bool gsm7;               /* fold what GSM-7 lacks (SMS_ALPHABET=gsm7) */
};

struct dialogue_output {
	/* Owned references, handed to the step commit as they are (no text in between). */
	json_t *state;       /* the conversation's next state */
	json_t *replies;     /* [{"body": ..., "compliance": bool, "segments": n, "encoding": ...}], one per message */
	json_t *actions;     /* [{"kind": ..., "reason": ..., "detail": ...}] */
	const char *status;  /* static: "active", "emergency" or "closed" */
	char language[8];    /* "en", "es" */
	const char *triage;  /* static: the detectors' combined level name for this text */
	bool state_was_bad;  /* the stored state could not be read; started over */
	bool escalated;      /* the step raised an escalation: staff must be alerted */
};

void dialogue_run(const struct dialogue_input *in, struct dialogue_output *out);
void dialogue_output_free(struct dialogue_output *out);
/*
 * A conversation's stored state, parsed once for the step ("" or "{}" is a
 * new conversation); NULL when it cannot be read (the step starts over).
 */
struct conv_state *dialogue_state_read(const char *state_json);

#endif
