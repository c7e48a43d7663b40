/*
 * dialogue.h - one dialogue step, from stored state and an SMS to what to
 * store and send (PURE).
 *
 * This is the glue between the database row that inbound.c loads and the
 * pure modules that decide: it turns the stored state into the engine's,
 * runs the step, and serialises the new state, the replies (already cut
 * into SMS segments) and the actions as the JSON that carenav_step_commit
 * takes.
 */
#ifndef CARENAV_GATEWAY_DIALOGUE_H
#define CARENAV_GATEWAY_DIALOGUE_H

#include <stdbool.h>
#include <stdint.h>

struct dialogue_input {
	const char *state_json;  /* the conversation's stored state; "" or "{}" = new */
	const char *text;        /* the patient's SMS */
	int64_t now_ms;          /* ms since epoch */
	int64_t idle_reset_ms;   /* idle longer than this starts over */
	bool handoff;            /* an operator has paused automation */
};

struct dialogue_output {
	char *state_json;    /* owned */
	char *replies_json;  /* owned: [{"body": ..., "compliance": bool}] */
	char *actions_json;  /* owned: [{"kind": ..., "reason": ..., "detail": ...}] */
	const char *status;  /* static: "active", "emergency" or "closed" */
	char language[4];    /* "en", "es" */
};

void dialogue_run(const struct dialogue_input *in, struct dialogue_output *out);
void dialogue_output_free(struct dialogue_output *out);

#endif
