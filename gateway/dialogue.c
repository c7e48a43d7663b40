/*
 * dialogue.c - the walking skeleton's dialogue: greet, then echo (PURE).
 *
 * Replaced by the flow engine (engine.c) in the dialogue issue; kept this
 * small so the storage and sending around it can be proven first.
 */
#include "dialogue.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

void
dialogue_run(const struct dialogue_input *in, struct dialogue_output *out)
{
	json_t *state = json_loads(in->state_json, 0, NULL);
	json_t *replies = json_array(), *actions = json_array();
	bool greeted = json_is_true(json_object_get(state, "greeted"));
	char *text;

	memset(out, 0, sizeof *out);
	if (!greeted) {
		json_array_append_new(replies, json_pack("{s:s, s:b}", "body",
		    "Hi, this is the clinic's automated back-pain line. It is not for emergencies: "
		    "call 911 if you need help now.", "compliance", 0));
	}
	text = xasprintf("You said: %.140s", in->text);
	json_array_append_new(replies, json_pack("{s:s, s:b}", "body", text, "compliance", 0));
	free(text);
	json_decref(state);
	state = json_pack("{s:b}", "greeted", 1);
	out->state_json = json_dumps(state, JSON_COMPACT);
	out->replies_json = json_dumps(replies, JSON_COMPACT);
	out->actions_json = json_dumps(actions, JSON_COMPACT);
	out->status = "active";
	strcpy(out->language, "en");
	json_decref(state);
	json_decref(replies);
	json_decref(actions);
}

void
dialogue_output_free(struct dialogue_output *out)
{
	free(out->state_json);
	free(out->replies_json);
	free(out->actions_json);
	memset(out, 0, sizeof *out);
}
