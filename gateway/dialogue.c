/*
 * dialogue.c - one dialogue step: matcher, engine, segmenter (PURE).
 * See dialogue.h.
 */
#include "dialogue.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "flow.h"
#include "segment.h"
#include "triage.h"
#include "xmalloc.h"

/* Replies of a step that confirms STOP or START must reach an opted-out number. */
static bool
dialogue_is_compliance(const struct engine_result *res)
{
	for (size_t i = 0; i < res->nactions; i++) {
		if (res->actions[i].kind == ENGINE_ACTION_OPT_OUT ||
		    res->actions[i].kind == ENGINE_ACTION_OPT_IN)
			return true;
	}
	return false;
}

/*
 * The replies of a step as they go to the provider: joined into one message
 * (the provider sends it as one concatenated SMS, which costs fewer segments
 * than several and reads as one on the handset), folded to GSM-7 when the
 * clinic chose it, and cut into whole messages only when longer than the
 * provider takes.
 */
static json_t *
dialogue_replies_json(const struct dialogue_input *in, const struct engine_result *res)
{
	json_t *arr = json_array();
	bool compliance = dialogue_is_compliance(res);
	char **parts = NULL, *joined = engine_result_text(res), *text;
	size_t n;

	text = in->gsm7 ? segment_fold_gsm7(joined) : xstrdup(joined);
	n = segment_split(text, strlen(text), &in->limit, &parts, NULL);
	for (size_t k = 0; k < n; k++) {
		json_t *body = json_string(parts[k]);

		/* The engine's texts come from a validated flow; a part that is
		 * not valid UTF-8 would be a segmenter bug, and is dropped, not sent. */
		enum segment_encoding enc;
		size_t nseg = segment_count(parts[k], strlen(parts[k]), &enc);

		if (body != NULL)
			json_array_append_new(arr, json_pack("{s:o, s:b, s:I, s:s}", "body", body,
			    "compliance", compliance, "segments", (json_int_t)nseg, "encoding",
			    segment_encoding_name(enc)));
	}
	segment_free(parts, n);
	free(text);
	free(joined);
	return arr;
}

static json_t *
dialogue_actions_json(const struct engine_result *res)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < res->nactions; i++) {
		const struct engine_action *a = &res->actions[i];
		json_t *obj = json_pack("{s:s, s:s}", "kind", engine_action_name(a->kind),
		    "reason", a->reason ? a->reason : "");

		if (obj == NULL)
			continue;
		if (a->detail != NULL)
			json_object_set_new(obj, "detail", json_string(a->detail));
		json_array_append_new(arr, obj);
	}
	return arr;
}

static const char *
dialogue_status(const struct flow *flow, const struct engine_result *res)
{
	const char *node = engine_state_node(res->next);
	const struct flow_node *n = node ? flow_node_find(flow, node) : NULL;

	for (size_t i = 0; i < res->nactions; i++) {
		if (res->actions[i].kind == ENGINE_ACTION_ESCALATE)
			return "emergency";
	}
	if (n != NULL && n->kind == FLOW_EMERGENCY)
		return "emergency";
	if (n != NULL && n->kind == FLOW_END)
		return "closed";
	return "active";
}

struct conv_state *
dialogue_state_read(const char *state_json)
{
	struct conv_state *st = NULL;
	char *cause = NULL;

	if (!engine_state_from_json(state_json, &st, &cause))
		free(cause);
	return st;
}

/* The provider's OptOutType as the engine's keyword signal. */
static enum engine_provider_keyword
dialogue_provider_keyword(const char *opt_out_type)
{
	if (opt_out_type == NULL)
		return ENGINE_PKW_NONE;
	if (strcmp(opt_out_type, "STOP") == 0)
		return ENGINE_PKW_STOP;
	if (strcmp(opt_out_type, "START") == 0)
		return ENGINE_PKW_START;
	if (strcmp(opt_out_type, "HELP") == 0)
		return ENGINE_PKW_HELP;
	return ENGINE_PKW_NONE;
}

void
dialogue_run(const struct dialogue_input *in, struct dialogue_output *out)
{
	struct triage_result triage;
	struct engine_input ein = { 0 };
	struct engine_result res;
	size_t len = strlen(in->text);

	memset(out, 0, sizeof *out);
	/* The engine starts an unreadable state over, as a fresh one. */
	out->state_was_bad = in->state == NULL;
	triage_scan(in->triage, in->text, len, &triage);
	ein.text = in->text;
	ein.len = len;
	ein.now_ms = in->now_ms;
	ein.idle_reset_ms = in->idle_reset_ms;
	ein.detected_lang = triage.language;
	ein.triage = triage.level;
	ein.triage_reasons = triage.reasons;
	ein.ntriage_reasons = triage.nreasons;
	ein.triage_matched = triage.matched[0] ? triage.matched : NULL;
	ein.handoff = in->handoff;
	ein.provider_keyword = dialogue_provider_keyword(in->opt_out_type);
	ein.provider_confirms = in->provider_confirms;
	engine_step(in->flow, in->state, &ein, &res);

	out->state = engine_state_json(res.next);
	out->replies = dialogue_replies_json(in, &res);
	out->actions = dialogue_actions_json(&res);
	out->status = dialogue_status(in->flow, &res);
	for (size_t i = 0; i < res.nactions; i++)
		out->escalated |= res.actions[i].kind == ENGINE_ACTION_ESCALATE;
	out->triage = triage_level_name(triage.level);
	snprintf(out->language, sizeof out->language, "%s",
	    engine_state_lang(res.next)[0] ? engine_state_lang(res.next) : "en");
	engine_result_free(&res);
}

void
dialogue_output_free(struct dialogue_output *out)
{
	json_decref(out->state);
	json_decref(out->replies);
	json_decref(out->actions);
	memset(out, 0, sizeof *out);
}
