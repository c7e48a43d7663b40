/*
 * engine.c - the dialogue state machine (PURE). See engine.h.
 *
 * One step copies the old state, decides what the text means, and records
 * replies and actions in the result. Order of precedence, highest first:
 *  1. opted out: silence; only START (reply + OPT_IN) and red flags (ESCALATE
 *     for staff but still no reply: the patient asked us not to text).
 *  2. red flag (TRIAGE_EMERGENCY): emergency instruction + ESCALATE, even
 *     during operator handoff and mid-question; nothing else that step.
 *  3. STOP / START.
 *  4. operator handoff: silence.
 *  5. idle longer than idle_reset_ms: note that the old conversation closed,
 *     then continue as a new one.
 *  6. other whole-message keywords (HELP, MENU, HUMAN, ES/EN, shortcuts).
 *  7. the answer to the current node.
 * When the SMS provider flags the text as STOP, START or HELP (Twilio's
 * OptOutType), that verdict replaces the flow's keyword match for 3 and 6.
 * Matching works on flow_normalize()d text: at a YES/NO question the words
 * the text opens with, then numbers, number words, keyword phrases at word
 * boundaries, then a small edit distance on longer keywords (never on the
 * flow's plain words: "gone" is not "done").
 * An answer matching two choices is treated as not understood (re-ask)
 * rather than guessed, because a wrong guess at the emergency screen costs
 * more than one extra SMS.
 * Before 7, slot filling reads what a free text already says (the flow's
 * "slots": region, how long, see-a-doctor signs) into variables the flow's
 * branches use to skip questions; it never overwrites a value, and what it
 * read is confirmed in one "Noted: ..." line once the safety screen (a
 * strict question) is behind. A multi question takes several choices at
 * once ("1 3"); a plain "yes" there gets the node's "which" text. The
 * matcher's see-a-doctor verdict likewise waits until the screen is
 * answered, and is not sent when a see_doctor node gave the advice; the
 * flow's "advised" condition lets it skip its own advice once given.
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "enum_name.h"
#include "strpair.h"
#include "xmalloc.h"

#define ENGINE_MAX_VARS 64     /* variables kept per conversation */
#define ENGINE_MAX_STR 512     /* bytes of a stored variable value */
#define ENGINE_MAX_NORM 1024   /* bytes of normalized text we match on */
#define ENGINE_MAX_TOKENS 64   /* words of a message we look at */
#define ENGINE_MAX_ESCALATED 32 /* rule ids remembered in the emergency node */
#define ENGINE_CAPTURE_MAX 300 /* bytes of free text stored by a capture node */
#define ENGINE_JOIN_MAX 280    /* bytes above which a hint and its question go as two texts */
#define ENGINE_MAX_FILLED 48   /* slot vars one text can fill (slots plus their over_days sets) */

struct conv_state {
	char *node;		 /* owned: waiting node id; NULL = not started */
	int tries;		 /* failed answers at node */
	char lang[16];		 /* "en"; "" = not chosen yet */
	struct strpair *vars;	 /* owned */
	size_t nvars;
	char **escalated;	 /* owned: rule ids escalated since entering the emergency node */
	size_t nescalated;
	char **noted;		 /* owned: slot vars filled from free text, not yet confirmed ("Noted: ...") */
	size_t nnoted;
	bool see_doctor_sent;	 /* the see-doctor advice went out (once per conversation) */
	bool see_doctor_due;	 /* the matcher said see a doctor; the advice waits until after the screen */
	bool booking_offered;	 /* a BOOK offer went out */
	bool emergency_sent;	 /* the emergency instruction went out */
	bool opted_out;		 /* STOP received, no START since */
	int64_t last_activity;	 /* ms since epoch of the last inbound text; 0 = never */
};

/* Working data for one engine_step(). */
struct engine_ctx {
	const struct flow *flow;
	const struct engine_input *in;
	struct conv_state *st;	 /* the new state, owned by out */
	struct engine_result *out;
	size_t lang;		 /* index of st->lang in the flow */
	size_t replies_cap, actions_cap;
	const char *filled[ENGINE_MAX_FILLED]; /* slot vars this text filled; borrowed from flow */
	size_t nfilled;
	bool help_greeted; /* the help text stands in for the start's message nodes (no greeting twice) */
};

/* Returns the name of an action kind ("escalate"). */
CN_ENUM_NAME(engine_action_name, enum engine_action_kind, ENGINE_ACTION_LIST)

/* ---- state ---- */

/* Returns a fresh conversation (caller frees). */
struct conv_state *
engine_state_new(void)
{
	return xcalloc(1, sizeof(struct conv_state));
}

/* Frees a list of owned strings and leaves it empty. */
static void
engine_strings_clear(char ***v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

/* Frees a state (NULL ok). */
void
engine_state_free(struct conv_state *st)
{
	if (st == NULL)
		return;
	free(st->node);
	strpairs_clear(&st->vars, &st->nvars);
	engine_strings_clear(&st->escalated, &st->nescalated);
	engine_strings_clear(&st->noted, &st->nnoted);
	free(st);
}

static void
engine_add_noted(struct conv_state *st, const char *var)
{
	for (size_t i = 0; i < st->nnoted; i++)
		if (strcmp(st->noted[i], var) == 0)
			return;
	if (st->nnoted >= ENGINE_MAX_VARS)
		return;
	st->noted = xreallocarray(st->noted, st->nnoted + 1, sizeof *st->noted);
	st->noted[st->nnoted++] = xstrdup(var);
}

/* Forgets a pending confirmation: the patient has just answered that question. */
static void
engine_drop_noted(struct conv_state *st, const char *var)
{
	for (size_t i = 0; var != NULL && i < st->nnoted; i++)
		if (strcmp(st->noted[i], var) == 0) {
			free(st->noted[i]);
			memmove(&st->noted[i], &st->noted[i + 1], (st->nnoted - i - 1) * sizeof *st->noted);
			st->nnoted--;
			return;
		}
}

static void
engine_clear_vars(struct conv_state *st)
{
	engine_strings_clear(&st->noted, &st->nnoted);
	strpairs_clear(&st->vars, &st->nvars);
}

static void
engine_set_node(struct conv_state *st, const char *id)
{
	free(st->node);
	st->node = id ? xstrdup(id) : NULL;
	st->tries = 0;
}

/* Returns a captured variable, or NULL when unset. */
const char *
engine_state_var(const struct conv_state *st, const char *name)
{
	for (size_t i = 0; st != NULL && i < st->nvars; i++)
		if (strcmp(st->vars[i].name, name) == 0)
			return st->vars[i].value;
	return NULL;
}

static void
engine_set_var(struct conv_state *st, const char *name, const char *value)
{
	for (size_t i = 0; i < st->nvars; i++)
		if (strcmp(st->vars[i].name, name) == 0) {
			free(st->vars[i].value);
			st->vars[i].value = xstrdup(value);
			return;
		}
	if (st->nvars >= ENGINE_MAX_VARS)
		return; /* the flow cannot name more; a hostile state could */
	st->vars = xreallocarray(st->vars, st->nvars + 1, sizeof *st->vars);
	st->vars[st->nvars].name = xstrdup(name);
	st->vars[st->nvars++].value = xstrdup(value);
}

static struct conv_state *
engine_state_copy(const struct conv_state *src)
{
	struct conv_state *st = engine_state_new();

	if (src == NULL)
		return st;
	st->node = src->node ? xstrdup(src->node) : NULL;
	st->tries = src->tries;
	memcpy(st->lang, src->lang, sizeof st->lang);
	for (size_t i = 0; i < src->nvars; i++)
		engine_set_var(st, src->vars[i].name, src->vars[i].value);
	if (src->nescalated > 0) {
		st->escalated = xcalloc(src->nescalated, sizeof *st->escalated);
		for (size_t i = 0; i < src->nescalated; i++)
			st->escalated[i] = xstrdup(src->escalated[i]);
		st->nescalated = src->nescalated;
	}
	for (size_t i = 0; i < src->nnoted; i++)
		engine_add_noted(st, src->noted[i]);
	st->see_doctor_sent = src->see_doctor_sent;
	st->see_doctor_due = src->see_doctor_due;
	st->booking_offered = src->booking_offered;
	st->emergency_sent = src->emergency_sent;
	st->opted_out = src->opted_out;
	st->last_activity = src->last_activity;
	return st;
}

/* Returns the current node id, or NULL before the first message. */
const char *
engine_state_node(const struct conv_state *st)
{
	return st->node;
}

/* Returns the conversation language ("en"), or "" before the first message. */
const char *
engine_state_lang(const struct conv_state *st)
{
	return st->lang;
}

/* Returns true when the patient has opted out (STOP). */
bool
engine_state_opted_out(const struct conv_state *st)
{
	return st->opted_out;
}

/* Returns failed answers at the current node. */
int
engine_state_tries(const struct conv_state *st)
{
	return st->tries;
}

/* Returns the time of the last inbound text, ms since epoch (0 = never). */
int64_t
engine_state_last_activity(const struct conv_state *st)
{
	return st->last_activity;
}

/* Serializes a state to JSON text (caller frees). */
json_t *
engine_state_json(const struct conv_state *st)
{
	json_t *root, *vars, *esc, *noted;

	vars = json_object();
	for (size_t i = 0; i < st->nvars; i++)
		json_object_set_new(vars, st->vars[i].name, json_string(st->vars[i].value));
	esc = json_array();
	for (size_t i = 0; i < st->nescalated; i++)
		json_array_append_new(esc, json_string(st->escalated[i]));
	noted = json_array();
	for (size_t i = 0; i < st->nnoted; i++)
		json_array_append_new(noted, json_string(st->noted[i]));
	root = json_pack("{si ss* si ss so s{sbsbsbsb} so so sb sI}",
	    "v", 1,
	    "node", st->node,
	    "tries", st->tries,
	    "lang", st->lang,
	    "vars", vars,
	    "flags",
	    "see_doctor_sent", st->see_doctor_sent,
	    "see_doctor_due", st->see_doctor_due,
	    "booking_offered", st->booking_offered,
	    "emergency_sent", st->emergency_sent,
	    "escalated", esc,
	    "noted", noted,
	    "opted_out", st->opted_out,
	    "last_activity", (json_int_t)st->last_activity);
	if (root == NULL)
		abort(); /* only an allocation failure can get here */
	return root;
}

char *
engine_state_to_json(const struct conv_state *st)
{
	json_t *root = engine_state_json(st);
	char *text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(root);
	if (text == NULL)
		abort();
	return text;
}

static bool
engine_json_str(json_t *v, size_t max, const char **out)
{
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return false;
	*out = json_string_value(v);
	return true;
}

/* Parses a state stored by engine_state_to_json(); NULL or "" gives a fresh conversation. */
bool
engine_state_from_json(const char *json, struct conv_state **out, char **cause)
{
	struct conv_state *st;
	json_error_t err;
	json_t *root, *v, *f;
	const char *s, *key;
	size_t i;

	*out = NULL;
	*cause = NULL;
	if (json == NULL || json[0] == '\0') {
		*out = engine_state_new();
		return true;
	}
	root = json_loads(json, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		*cause = xasprintf("state: JSON error at line %d column %d: %s", err.line, err.column,
		    err.text);
		return false;
	}
	st = engine_state_new();
	if (!json_is_object(root)) {
		*cause = xstrdup("state: not a JSON object");
		goto fail;
	}
	if ((v = json_object_get(root, "v")) != NULL && (!json_is_integer(v) || json_integer_value(v) != 1)) {
		*cause = xstrdup("state: unsupported version");
		goto fail;
	}
	if ((v = json_object_get(root, "node")) != NULL && !json_is_null(v)) {
		if (!engine_json_str(v, 64, &s)) {
			*cause = xstrdup("state: field 'node' must be a short string");
			goto fail;
		}
		st->node = xstrdup(s);
	}
	if ((v = json_object_get(root, "tries")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000) {
			*cause = xstrdup("state: field 'tries' must be an integer 0-1000");
			goto fail;
		}
		st->tries = (int)json_integer_value(v);
	}
	if ((v = json_object_get(root, "lang")) != NULL) {
		if (!engine_json_str(v, sizeof st->lang - 1, &s)) {
			*cause = xstrdup("state: field 'lang' must be a language code");
			goto fail;
		}
		memcpy(st->lang, s, strlen(s) + 1);
	}
	if ((v = json_object_get(root, "vars")) != NULL) {
		if (!json_is_object(v) || json_object_size(v) > ENGINE_MAX_VARS) {
			*cause = xstrdup("state: field 'vars' must be an object of strings");
			goto fail;
		}
		json_object_foreach(v, key, f) {
			if (!engine_json_str(f, ENGINE_MAX_STR, &s) || strlen(key) > 64) {
				*cause = xstrdup("state: field 'vars' must be an object of strings");
				goto fail;
			}
			engine_set_var(st, key, s);
		}
	}
	if ((v = json_object_get(root, "flags")) != NULL) {
		static const char *const names[] = { "see_doctor_sent", "booking_offered", "emergency_sent",
			"see_doctor_due" };
		bool *dst[] = { &st->see_doctor_sent, &st->booking_offered, &st->emergency_sent,
			&st->see_doctor_due };

		if (!json_is_object(v)) {
			*cause = xstrdup("state: field 'flags' must be an object");
			goto fail;
		}
		for (i = 0; i < 4; i++) {
			f = json_object_get(v, names[i]);
			if (f != NULL && !json_is_boolean(f)) {
				*cause = xasprintf("state: flag '%s' must be true or false", names[i]);
				goto fail;
			}
			*dst[i] = json_is_true(f);
		}
	}
	if ((v = json_object_get(root, "escalated")) != NULL) {
		if (!json_is_array(v) || json_array_size(v) > ENGINE_MAX_ESCALATED) {
			*cause = xstrdup("state: field 'escalated' must be a list of rule ids");
			goto fail;
		}
		st->escalated = xcalloc(json_array_size(v) + 1, sizeof *st->escalated);
		json_array_foreach(v, i, f) {
			if (!engine_json_str(f, 128, &s)) {
				*cause = xstrdup("state: field 'escalated' must be a list of rule ids");
				goto fail;
			}
			st->escalated[st->nescalated++] = xstrdup(s);
		}
	}
	if ((v = json_object_get(root, "noted")) != NULL) {
		if (!json_is_array(v) || json_array_size(v) > ENGINE_MAX_VARS) {
			*cause = xstrdup("state: field 'noted' must be a list of variable names");
			goto fail;
		}
		json_array_foreach(v, i, f) {
			if (!engine_json_str(f, 64, &s)) {
				*cause = xstrdup("state: field 'noted' must be a list of variable names");
				goto fail;
			}
			engine_add_noted(st, s);
		}
	}
	if ((v = json_object_get(root, "opted_out")) != NULL) {
		if (!json_is_boolean(v)) {
			*cause = xstrdup("state: field 'opted_out' must be true or false");
			goto fail;
		}
		st->opted_out = json_is_true(v);
	}
	if ((v = json_object_get(root, "last_activity")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			*cause = xstrdup("state: field 'last_activity' must be ms since epoch");
			goto fail;
		}
		st->last_activity = (int64_t)json_integer_value(v);
	}
	json_decref(root);
	*out = st;
	return true;
fail:
	json_decref(root);
	engine_state_free(st);
	return false;
}

/* ---- result building ---- */

static void
engine_reply(struct engine_ctx *cx, const struct flow_text *t)
{
	struct engine_result *out = cx->out;

	if (out->nreplies == cx->replies_cap) {
		cx->replies_cap = cx->replies_cap ? cx->replies_cap * 2 : 4;
		out->replies = xreallocarray(out->replies, cx->replies_cap, sizeof *out->replies);
	}
	out->replies[out->nreplies++] = xstrdup(t->by_lang[cx->lang]);
}

/*
 * Sends a then b as one message, separated by a newline, when together they
 * stay short (two SMS segments, roughly); otherwise as two messages, so a
 * long question is never pushed into a third segment by its hint.
 */
static void
engine_reply2(struct engine_ctx *cx, const struct flow_text *a, const struct flow_text *b)
{
	engine_reply(cx, a);
	if (b != NULL && strlen(a->by_lang[cx->lang]) + strlen(b->by_lang[cx->lang]) + 1 > ENGINE_JOIN_MAX)
		engine_reply(cx, b);
	else if (b != NULL) {
		char *joined = xasprintf("%s\n%s", a->by_lang[cx->lang], b->by_lang[cx->lang]);

		free(cx->out->replies[cx->out->nreplies - 1]);
		cx->out->replies[cx->out->nreplies - 1] = joined;
	}
}

static void
engine_action(struct engine_ctx *cx, enum engine_action_kind kind, const char *reason,
    const char *detail)
{
	struct engine_result *out = cx->out;
	struct engine_action *a;

	if (out->nactions == cx->actions_cap) {
		cx->actions_cap = cx->actions_cap ? cx->actions_cap * 2 : 4;
		out->actions = xreallocarray(out->actions, cx->actions_cap, sizeof *out->actions);
	}
	a = &out->actions[out->nactions++];
	a->kind = kind;
	a->reason = xstrdup(reason);
	a->detail = detail != NULL ? xstrdup(detail) : NULL;
}

/* Frees everything a result owns and zeroes it. */
void
engine_result_free(struct engine_result *res)
{
	if (res == NULL)
		return;
	engine_state_free(res->next);
	for (size_t i = 0; i < res->nreplies; i++)
		free(res->replies[i]);
	free(res->replies);
	for (size_t i = 0; i < res->nactions; i++) {
		free(res->actions[i].reason);
		free(res->actions[i].detail);
	}
	free(res->actions);
	memset(res, 0, sizeof *res);
}

/* The replies joined by newlines: the one message dialogue sends them as. */
char *
engine_result_text(const struct engine_result *res)
{
	size_t len = 1;
	char *text;

	for (size_t i = 0; i < res->nreplies; i++)
		len += strlen(res->replies[i]) + 1;
	text = xcalloc(1, len);
	for (size_t i = 0; i < res->nreplies; i++) {
		if (i > 0)
			strcat(text, "\n");
		strcat(text, res->replies[i]);
	}
	return text;
}

/* ---- moving through the flow ---- */

static bool
engine_cond(const struct conv_state *st, const struct flow_cond *c)
{
	const char *v;

	switch (c->op) {
	case FLOW_COND_EQ:
	case FLOW_COND_NE:
		v = engine_state_var(st, c->var);
		return (strcmp(v ? v : "", c->value) == 0) == (c->op == FLOW_COND_EQ);
	case FLOW_COND_SET:
		return (engine_state_var(st, c->var) != NULL) == (c->value == NULL);
	case FLOW_COND_ANY:
		for (size_t i = 0; i < c->nsubs; i++)
			if (engine_cond(st, &c->subs[i]))
				return true;
		return false;
	case FLOW_COND_ALL:
		for (size_t i = 0; i < c->nsubs; i++)
			if (!engine_cond(st, &c->subs[i]))
				return false;
		return true;
	case FLOW_COND_NOT:
		return !engine_cond(st, &c->subs[0]);
	case FLOW_COND_ADVISED:
		return st->see_doctor_sent == (c->value == NULL);
	}
	return false;
}

static void
engine_effects(struct engine_ctx *cx, const struct flow_effects *fx)
{
	for (size_t i = 0; i < fx->nsets; i++)
		engine_set_var(cx->st, fx->sets[i].var, fx->sets[i].value);
	for (size_t i = 0; i < fx->nactions; i++) {
		const struct flow_action_spec *a = &fx->actions[i];

		engine_action(cx, a->kind == FLOW_ACTION_ESCALATE ? ENGINE_ACTION_ESCALATE :
		    ENGINE_ACTION_CALLBACK, a->reason, a->detail);
		if (a->kind == FLOW_ACTION_ESCALATE)
			cx->st->emergency_sent = true;
	}
}

/* Sends a waiting node's full text, as on entry or after a language switch. */
static void
engine_send_node(struct engine_ctx *cx, const struct flow_node *n)
{
	engine_reply2(cx, n->text, n->kind == FLOW_QUESTION ? n->prompt : NULL);
}

/*
 * The variable that records that a question's prompt went out. Tip nodes
 * share one prompt ("Another topic? ..."), so it is keyed by its text;
 * ':' is never in a flow's variable names, and RESTART clears it.
 */
static void
engine_prompt_key(const struct flow_text *prompt, char key[24])
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)prompt->by_lang[0]; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	(void)snprintf(key, 24, "prompt:%08x", (unsigned)h);
}

/* Sends a question on entry: its prompt only the first time in the conversation (no sentence twice). */
static void
engine_send_entered(struct engine_ctx *cx, const struct flow_node *n)
{
	const struct flow_text *prompt = n->kind == FLOW_QUESTION ? n->prompt : NULL;
	char key[24];

	if (prompt != NULL) {
		engine_prompt_key(prompt, key);
		if (engine_state_var(cx->st, key) != NULL)
			prompt = NULL; /* the patient has seen how to go on */
		else
			engine_set_var(cx->st, key, "sent");
	}
	engine_reply2(cx, n->text, prompt);
}

/*
 * Enters node n: applies its effects, sends its text, and follows message
 * and branch nodes until one that waits for the patient. The loader rejects
 * cycles of message/branch nodes; the bound is a second line of defence.
 */
static void
engine_enter(struct engine_ctx *cx, const struct flow_node *n)
{
	for (int guard = 0; n != NULL && guard < FLOW_MAX_NODES + 1; guard++) {
		engine_effects(cx, &n->fx);
		if (n->see_doctor) {
			/* The flow gives the advice itself: never messages.see_doctor as well. */
			cx->st->see_doctor_sent = cx->st->booking_offered = true;
			cx->st->see_doctor_due = false;
		}
		if (n->kind == FLOW_MESSAGE) {
			if (!cx->help_greeted)
				engine_reply(cx, n->text);
			n = n->next;
			continue;
		}
		if (n->kind == FLOW_BRANCH) {
			const struct flow_node *next = n->next;

			for (size_t i = 0; i < n->ncases; i++)
				if (engine_cond(cx->st, &n->cases[i].cond)) {
					next = n->cases[i].next;
					break;
				}
			n = next;
			continue;
		}
		if (n->kind == FLOW_EMERGENCY) {
			cx->st->emergency_sent = true;
			engine_strings_clear(&cx->st->escalated, &cx->st->nescalated);
		}
		engine_send_entered(cx, n);
		engine_set_node(cx->st, n->id);
		return;
	}
}

/* Starts the conversation over from the flow's start node. */
static void
engine_restart(struct engine_ctx *cx)
{
	engine_clear_vars(cx->st);
	/* Starting over is asking again: the flow may give its advice again. */
	cx->st->see_doctor_sent = cx->st->booking_offered = false;
	engine_set_node(cx->st, NULL);
	engine_enter(cx, flow_start(cx->flow));
}

/* ---- matching ---- */

struct engine_tokens {
	const char *w[ENGINE_MAX_TOKENS];
	size_t len[ENGINE_MAX_TOKENS];
	size_t n;
};

static void
engine_tokenize(const char *norm, struct engine_tokens *t)
{
	const char *p = norm;

	t->n = 0;
	while (*p != '\0' && t->n < ENGINE_MAX_TOKENS) {
		size_t l = strcspn(p, " ");

		t->w[t->n] = p;
		t->len[t->n++] = l;
		p += l;
		while (*p == ' ')
			p++;
	}
}

/* Does phrase occur in norm at word boundaries? */
static bool
engine_has_phrase(const char *norm, const char *phrase)
{
	size_t pl = strlen(phrase);

	for (const char *p = strstr(norm, phrase); p != NULL; p = strstr(p + 1, phrase))
		if ((p == norm || p[-1] == ' ') && (p[pl] == '\0' || p[pl] == ' '))
			return true;
	return false;
}

/* Optimal string alignment distance, for words of at most 32 bytes. */
static size_t
engine_distance(const char *a, size_t al, const char *b, size_t bl)
{
	size_t d[33][33];

	if (al > 32 || bl > 32)
		return 99;
	for (size_t i = 0; i <= al; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= bl; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= al; i++)
		for (size_t j = 1; j <= bl; j++) {
			size_t cost = a[i - 1] != b[j - 1], best = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[al][bl];
}

/* Is token i a number followed by a duration unit ("3 weeks")? Then it is no choice number. */
static bool
engine_is_amount(const struct flow *flow, const struct engine_tokens *t, size_t i)
{
	return i + 1 < t->n && flow_duration_unit(flow, t->w[i + 1], t->len[i + 1]) > 0;
}

/* Returns the number a token says ("3", "three", "tres"), or 0. */
static int
engine_token_number(const struct flow *flow, const struct engine_tokens *t, size_t i)
{
	char word[FLOW_MAX_WORD + 1];

	if (strspn(t->w[i], "0123456789") == t->len[i])
		return t->len[i] <= 3 ? atoi(t->w[i]) : 0;
	if (t->len[i] > FLOW_MAX_WORD)
		return 0;
	memcpy(word, t->w[i], t->len[i]);
	word[t->len[i]] = '\0';
	return flow_number_word(flow, word);
}

/* Returns the only choice marked, or -1 for none or several. */
static int
engine_only(const bool *marked, size_t n)
{
	int found = -1;

	for (size_t i = 0; i < n; i++)
		if (marked[i]) {
			if (found >= 0)
				return -1;
			found = (int)i;
		}
	return found;
}

/*
 * Is word (len bytes) a typo of the keyword kw? Only for keywords of five
 * letters or more and words that start with the same letter: shorter ones
 * sit one letter away from everyday words ("done"/"dont"/"gone",
 * "core"/"sore"), and typos rarely hit the first letter.
 */
static bool
engine_typo_of(const char *word, size_t len, const char *kw)
{
	size_t kl = strlen(kw), lim;

	if (kl < 5 || strchr(kw, ' ') != NULL || word[0] != kw[0])
		return false;
	lim = (kl < len ? kl : len) >= 8 ? 2 : 1;
	return engine_distance(word, len, kw, kl) <= lim;
}

/* Does the text hold a word that keeps its first word from deciding ("but", "sure")? */
static bool
engine_has_hedge(const struct flow *flow, const struct engine_tokens *t)
{
	for (size_t i = 0; i < t->n; i++)
		if (flow_hedge_word(flow, t->w[i], t->len[i]))
			return true;
	return false;
}

/* Is n a YES/NO question (two choices whose values are "yes" and "no")? */
static bool
engine_yes_no(const struct flow_node *n)
{
	return n->nchoices == 2 && ((strcmp(n->choices[0].value, "yes") == 0 &&
	    strcmp(n->choices[1].value, "no") == 0) || (strcmp(n->choices[0].value, "no") == 0 &&
	    strcmp(n->choices[1].value, "yes") == 0));
}

/*
 * At a YES/NO question, the way the text opens answers it, as a person would
 * read it: "no im fine", "none of those", "no chest pain, no fever, not
 * dizzy", "no, no tengo fiebre". The longest opening (three words down to
 * one) that is a choice's keyword decides ("no puedo dormir" is YES where
 * that is a keyword). Returns the choice, or -1.
 */
static int
engine_leading_answer(const struct flow_node *n, const struct engine_tokens *t)
{
	for (size_t words = 3; words >= 1; words--) {
		int found = -1;

		if (words > t->n)
			continue;
		size_t len = (size_t)(t->w[words - 1] + t->len[words - 1] - t->w[0]);

		for (size_t c = 0; c < n->nchoices; c++)
			for (size_t k = 0; k < n->choices[c].nkeywords; k++) {
				const char *kw = n->choices[c].keywords[k];

				if (strlen(kw) != len || memcmp(kw, t->w[0], len) != 0)
					continue;
				if (found >= 0 && found != (int)c)
					return -1;
				found = (int)c;
			}
		if (found >= 0)
			return found;
	}
	return -1;
}

/* Returns the index of the choice norm selects at question n, or -1. */
static int
engine_match_choice(const struct flow *flow, const struct flow_node *n, const char *norm)
{
	struct engine_tokens t;
	bool marked[FLOW_MAX_CHOICES] = { false }, any = false;
	int num;

	engine_tokenize(norm, &t);
	if (t.n == 0)
		return -1;
	if (engine_yes_no(n)) {
		/* "no but...", "not sure": asked again, never guessed. */
		if (engine_has_hedge(flow, &t))
			return -1;
		if ((num = engine_leading_answer(n, &t)) >= 0)
			return num;
	}
	if (strspn(t.w[0], "0123456789") == t.len[0] && !engine_is_amount(flow, &t, 0)) {
		/* "2", "2. also my legs": a leading number decides, in range or not ("3 weeks" is no answer). */
		if (t.len[0] > 3 || (n->strict && t.n > 1))
			return -1;
		num = atoi(t.w[0]);
		return num >= 1 && (size_t)num <= n->nchoices ? num - 1 : -1;
	}
	num = flow_number_word(flow, norm);
	if (num >= 1 && (size_t)num <= n->nchoices)
		return num - 1;
	for (size_t c = 0; c < n->nchoices; c++)
		for (size_t k = 0; k < n->choices[c].nkeywords; k++) {
			const char *kw = n->choices[c].keywords[k];

			if (n->strict ? strcmp(norm, kw) == 0 : engine_has_phrase(norm, kw))
				marked[c] = any = true;
		}
	if (any)
		return engine_only(marked, n->nchoices);
	if (n->strict && t.n != 1)
		return -1;
	for (size_t i = 0; i < t.n; i++) {
		if (t.len[i] < 4 || flow_plain_word(flow, t.w[i], t.len[i]))
			continue;
		for (size_t c = 0; c < n->nchoices; c++)
			for (size_t k = 0; k < n->choices[c].nkeywords; k++)
				if (engine_typo_of(t.w[i], t.len[i], n->choices[c].keywords[k]))
					marked[c] = true;
	}
	return engine_only(marked, n->nchoices);
}

/* Is norm, as a whole, one of question n's keywords? (NULL or another kind: no) */
static bool
engine_is_choice_word(const struct flow_node *n, const char *norm)
{
	if (n == NULL || n->kind != FLOW_QUESTION)
		return false;
	for (size_t c = 0; c < n->nchoices; c++)
		for (size_t k = 0; k < n->choices[c].nkeywords; k++)
			if (strcmp(n->choices[c].keywords[k], norm) == 0)
				return true;
	return false;
}

/* Copies a capture answer: valid UTF-8 only, at most ENGINE_CAPTURE_MAX bytes, trimmed. */
static char *
engine_clean_capture(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	char *out = xmalloc(ENGINE_CAPTURE_MAX + 1);
	size_t o = 0, i = 0;

	while (i < len) {
		size_t need = 0, k;

		if (s[i] < 0x80)
			need = 0;
		else if (s[i] >= 0xc2 && s[i] <= 0xdf)
			need = 1;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			need = 2;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			need = 3;
		else {
			i++;
			continue;
		}
		for (k = 1; k <= need; k++)
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				break;
		if (k <= need) {
			i++;
			continue; /* a truncated or broken sequence: drop its lead byte */
		}
		if (o + need + 1 > ENGINE_CAPTURE_MAX)
			break;
		if (need == 0 && s[i] < 0x20)
			out[o++] = ' ';
		else {
			memcpy(out + o, s + i, need + 1);
			o += need + 1;
		}
		i += need + 1;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	i = strspn(out, " ");
	memmove(out, out + i, o - i + 1);
	return out;
}

/* Do the first one to three words of t make one of the phrases in words? */
static bool
engine_opening_in(const struct engine_tokens *t, const char *const *words, size_t nwords)
{
	for (size_t n = 3; n >= 1; n--) {
		size_t len;

		if (n > t->n)
			continue;
		len = (size_t)(t->w[n - 1] + t->len[n - 1] - t->w[0]);
		for (size_t k = 0; k < nwords; k++)
			if (strlen(words[k]) == len && memcmp(words[k], t->w[0], len) == 0)
				return true;
	}
	return false;
}

/*
 * A multi question: "1 3", "1,3", "13", "one and three", or the choices'
 * phrases ("numb and I can't sleep"); or the "none" choice's words as the
 * opening ("no", "none of those"). Marks the choices taken in sel. Returns
 * 1 for a selection, 0 for the none choice, -1 when unclear: a hedge, a
 * number out of range, or none together with a selection.
 */
static int
engine_match_multi(const struct flow *flow, const struct flow_node *n, const char *norm, bool *sel)
{
	struct engine_tokens t;
	bool any = false, digits = false;
	int none = -1;

	engine_tokenize(norm, &t);
	if (t.n == 0 || engine_has_hedge(flow, &t))
		return -1;
	for (size_t c = 0; c < n->nchoices; c++)
		if (n->choices[c].var == NULL)
			none = (int)c;
	for (size_t i = 0; i < t.n; i++) {
		int num;

		if (engine_is_amount(flow, &t, i))
			continue; /* "3 weeks" is a duration, not choice 3 */
		if (strspn(t.w[i], "0123456789") == t.len[i]) {
			digits = true;
			num = t.len[i] <= 3 ? atoi(t.w[i]) : 0;
			if (num >= 1 && (size_t)num <= n->nchoices) {
				sel[num - 1] = any = true;
				continue;
			}
			/* "134": several single digits written together */
			for (size_t k = 0; k < t.len[i]; k++) {
				int d = t.w[i][k] - '0';

				if (d < 1 || (size_t)d > n->nchoices)
					return -1;
				sel[d - 1] = any = true;
			}
			continue;
		}
		if ((num = engine_token_number(flow, &t, i)) >= 1 && (size_t)num <= n->nchoices)
			sel[num - 1] = any = true;
	}
	/* "no", "none of those", "no numbness": the opening decides, as at a YES/NO question. */
	if (none >= 0 && !digits &&
	    engine_opening_in(&t, n->choices[none].keywords, n->choices[none].nkeywords))
		return any ? -1 : 0;
	for (size_t c = 0; c < n->nchoices; c++)
		for (size_t k = 0; (int)c != none && k < n->choices[c].nkeywords; k++)
			if (engine_has_phrase(norm, n->choices[c].keywords[k]))
				sel[c] = any = true;
	if (!any || (none >= 0 && sel[none]))
		return -1;
	return 1;
}

/* Did this text fill var? */
static bool
engine_filled(const struct engine_ctx *cx, const char *var)
{
	for (size_t i = 0; var != NULL && i < cx->nfilled; i++)
		if (strcmp(cx->filled[i], var) == 0)
			return true;
	return false;
}

/* Stores a slot value unless the variable already has one; remembers it to confirm. */
static void
engine_fill(struct engine_ctx *cx, const char *var, const char *value, bool confirm)
{
	if (engine_state_var(cx->st, var) != NULL || cx->nfilled >= ENGINE_MAX_FILLED)
		return;
	engine_set_var(cx->st, var, value);
	cx->filled[cx->nfilled++] = var;
	if (confirm)
		engine_add_noted(cx->st, var);
}

/* Does phrase occur in the clause at word boundaries with no negation before it? */
static bool
engine_slot_phrase(const struct flow *flow, const char *norm, const struct engine_tokens *t,
    const char *phrase)
{
	size_t pl = strlen(phrase);

	for (const char *p = strstr(norm, phrase); p != NULL; p = strstr(p + 1, phrase)) {
		bool negated = false;

		if (!((p == norm || p[-1] == ' ') && (p[pl] == '\0' || p[pl] == ' ')))
			continue;
		/* "no numbness", "sin hormigueo": a negation earlier in the clause cancels it */
		for (size_t i = 0; i < t->n && t->w[i] < p; i++)
			if (flow_negation_word(flow, t->w[i], t->len[i]))
				negated = true;
		if (!negated)
			return true;
	}
	return false;
}

/* A duration in the clause ("3 weeks", "tres semanas", "a month"): days, and the phrase in out. */
static int
engine_slot_duration(const struct flow *flow, const struct flow_slot *slot, const struct engine_tokens *t,
    char *out, size_t cap)
{
	for (size_t i = 1; i < t->n; i++) {
		int unit = 0, num;

		for (size_t u = 0; u < slot->nunits && unit == 0; u++)
			for (size_t w = 0; w < slot->units[u].nwords; w++)
				if (strlen(slot->units[u].words[w]) == t->len[i] &&
				    memcmp(slot->units[u].words[w], t->w[i], t->len[i]) == 0) {
					unit = slot->units[u].days;
					break;
				}
		if (unit == 0)
			continue;
		num = engine_token_number(flow, t, i - 1);
		if (num <= 0 && flow_duration_one(flow, t->w[i - 1], t->len[i - 1]))
			num = 1;
		if (num <= 0)
			continue;
		(void)snprintf(out, cap, "%.*s", (int)(t->w[i] + t->len[i] - t->w[i - 1]), t->w[i - 1]);
		return num * unit;
	}
	return 0;
}

/*
 * Slot filling: reads what the text already says (region, how long, the
 * see-a-doctor signs) into the flow's slot variables, clause by clause
 * ("lower back, 3 weeks, can't sleep"), so the flow can skip what it would
 * ask. A value is taken only when exactly one of a slot's values is named
 * ("upper and lower back" fills nothing) and never overwrites an answer.
 */
static void
engine_fill_slots(struct engine_ctx *cx)
{
	const struct flow *flow = cx->flow;
	const char *text = cx->in->text ? cx->in->text : "";
	size_t len = cx->in->text ? cx->in->len : 0, nslots;
	const struct flow_slot *slots = flow_slots(flow, &nslots);
	int found[FLOW_MAX_CHOICES];
	char *norm = xmalloc(ENGINE_MAX_NORM), phrase[ENGINE_MAX_STR];
	bool dur_found = false;
	int dur_days = 0;
	const struct flow_slot *dur_slot = NULL;

	if (nslots == 0) {
		free(norm);
		return;
	}
	for (size_t s = 0; s < nslots && s < FLOW_MAX_CHOICES; s++)
		found[s] = -1;
	for (size_t start = 0; start < len;) {
		size_t end = start;
		struct engine_tokens t;

		while (end < len && strchr(",.;:!?\n", text[end]) == NULL)
			end++;
		flow_normalize(text + start, end - start, norm, ENGINE_MAX_NORM);
		engine_tokenize(norm, &t);
		for (size_t s = 0; s < nslots && s < FLOW_MAX_CHOICES; s++) {
			if (slots[s].nunits > 0) {
				if (!dur_found && (dur_days = engine_slot_duration(flow, &slots[s], &t, phrase,
				    sizeof phrase)) > 0) {
					dur_found = true;
					dur_slot = &slots[s];
				}
				continue;
			}
			for (size_t v = 0; v < slots[s].nvalues && found[s] != -2; v++)
				for (size_t w = 0; w < slots[s].values[v].nwords; w++)
					if (engine_slot_phrase(flow, norm, &t, slots[s].values[v].words[w])) {
						/* two different values: say nothing rather than guess */
						found[s] = found[s] == -1 || found[s] == (int)v ? (int)v : -2;
						break;
					}
		}
		start = end + 1;
	}
	for (size_t s = 0; s < nslots && s < FLOW_MAX_CHOICES; s++) {
		if (&slots[s] == dur_slot) {
			bool fresh = engine_state_var(cx->st, slots[s].var) == NULL;

			engine_fill(cx, slots[s].var, phrase, true);
			if (fresh && slots[s].over_days >= 0 && dur_days > slots[s].over_days)
				for (size_t k = 0; k < slots[s].over_fx.nsets; k++)
					engine_fill(cx, slots[s].over_fx.sets[k].var, slots[s].over_fx.sets[k].value,
					    false);
		} else if (found[s] >= 0)
			engine_fill(cx, slots[s].var, slots[s].values[found[s]].value, true);
	}
	free(norm);
}

/* Returns how "Noted: ..." names var's current value. */
static const char *
engine_slot_label(const struct engine_ctx *cx, const char *var)
{
	size_t nslots;
	const struct flow_slot *slots = flow_slots(cx->flow, &nslots);
	const char *value = engine_state_var(cx->st, var);

	if (value == NULL)
		return NULL;
	for (size_t s = 0; s < nslots; s++) {
		if (strcmp(slots[s].var, var) != 0)
			continue;
		for (size_t v = 0; v < slots[s].nvalues; v++)
			if (strcmp(slots[s].values[v].value, value) == 0)
				return slots[s].values[v].label->by_lang[cx->lang];
		return value; /* a duration as written */
	}
	return NULL;
}

/*
 * Confirms what slot filling read, in one line before the step's replies
 * ("Noted: lower back, 3 weeks."), once the safety screen is behind: a
 * strict question (the screen) or the emergency node gets nothing extra.
 */
static void
engine_flush_noted(struct engine_ctx *cx, size_t at)
{
	const struct flow_node *cur = flow_node_find(cx->flow, cx->st->node);
	const struct flow_text *noted = flow_slots_noted(cx->flow);
	struct engine_result *out = cx->out;
	char list[ENGINE_MAX_NORM] = "", *line, *mark;
	size_t n = 0;

	if (cx->st->nnoted == 0 || noted == NULL || out->nreplies <= at || cur == NULL ||
	    cur->kind == FLOW_EMERGENCY || (cur->kind == FLOW_QUESTION && cur->strict))
		return;
	for (size_t i = 0; i < cx->st->nnoted; i++) {
		const char *label = engine_slot_label(cx, cx->st->noted[i]);
		size_t l = strlen(list);

		if (label == NULL || l + strlen(label) + 3 >= sizeof list)
			continue;
		(void)snprintf(list + l, sizeof list - l, "%s%s", n++ > 0 ? ", " : "", label);
	}
	engine_strings_clear(&cx->st->noted, &cx->st->nnoted);
	if (n == 0)
		return;
	mark = strstr(noted->by_lang[cx->lang], "{list}");
	line = xasprintf("%.*s%s%s\n%s", (int)(mark - noted->by_lang[cx->lang]), noted->by_lang[cx->lang],
	    list, mark + strlen("{list}"), out->replies[at]);
	free(out->replies[at]);
	out->replies[at] = line;
}

/* Re-asks node n after a reply it did not understand. */
static void
engine_reask(struct engine_ctx *cx, const struct flow_node *n)
{
	cx->st->tries++;
	if (cx->st->tries >= ENGINE_MAX_TRIES) {
		engine_reply(cx, flow_message(cx->flow, FLOW_MSG_GIVE_UP));
		return;
	}
	engine_reply2(cx, n->hint ? n->hint : flow_message(cx->flow, FLOW_MSG_RETRY),
	    n->prompt ? n->prompt : n->text);
}

/* Takes every choice a multi question's answer selected, then moves on to the node's next. */
static void
engine_answer_multi(struct engine_ctx *cx, const struct flow_node *n, const char *norm)
{
	bool sel[FLOW_MAX_CHOICES] = { false }, any = false;
	int r = engine_match_multi(cx->flow, n, norm, sel);

	if (r < 0) {
		/* No clear answer, but the text itself named some signs ("my legs tingle"): those. */
		for (size_t c = 0; c < n->nchoices; c++)
			if (n->choices[c].var != NULL && engine_filled(cx, n->choices[c].var))
				sel[c] = any = true;
		if (!any) {
			struct engine_tokens t;

			engine_tokenize(norm, &t);
			if (cx->nfilled > 0)
				engine_reply(cx, n->prompt ? n->prompt : n->text);
			else if (n->which != NULL && !engine_has_hedge(cx->flow, &t) &&
			    engine_opening_in(&t, n->which_words, n->nwhich_words))
				engine_reply(cx, n->which); /* "yes": some apply; ask which, not "sorry" */
			else
				engine_reask(cx, n);
			return;
		}
		r = 1;
	}
	for (size_t c = 0; c < n->nchoices; c++) {
		engine_drop_noted(cx->st, n->choices[c].var);
		if (!(r == 0 ? n->choices[c].var == NULL : sel[c]))
			continue;
		if (n->choices[c].var != NULL)
			engine_set_var(cx->st, n->choices[c].var, n->choices[c].value);
		engine_effects(cx, &n->choices[c].fx);
	}
	engine_enter(cx, n->next);
}

/* Handles a text that is not a keyword, at the current node. */
static void
engine_answer(struct engine_ctx *cx, const char *norm)
{
	const struct flow_node *n = flow_node_find(cx->flow, cx->st->node);
	int c;

	if (n == NULL || n->kind == FLOW_END || n->kind == FLOW_MESSAGE || n->kind == FLOW_BRANCH) {
		engine_restart(cx);
		return;
	}
	switch (n->kind) {
	case FLOW_EMERGENCY:
		engine_reply(cx, n->reminder);
		return;
	case FLOW_CAPTURE: {
		char *v = engine_clean_capture(cx->in->text, cx->in->len);

		if (norm[0] == '\0' || v[0] == '\0') {
			free(v);
			engine_reask(cx, n);
			return;
		}
		engine_set_var(cx->st, n->var, v);
		free(v);
		engine_enter(cx, n->next);
		return;
	}
	case FLOW_QUESTION:
		if (n->multi) {
			engine_answer_multi(cx, n, norm);
			return;
		}
		c = engine_match_choice(cx->flow, n, norm);
		if (c < 0 && engine_filled(cx, n->var))
			for (size_t k = 0; k < n->nchoices && c < 0; k++)
				if (strcmp(n->choices[k].value, engine_state_var(cx->st, n->var)) == 0)
					c = (int)k; /* the free text named the answer ("my lower back hurts") */
		if (c < 0) {
			if (cx->nfilled > 0) /* it told us something else: note it, ask again, no "sorry" */
				engine_reply(cx, n->prompt ? n->prompt : n->text);
			else
				engine_reask(cx, n);
			return;
		}
		engine_drop_noted(cx->st, n->var);
		if (n->var != NULL)
			engine_set_var(cx->st, n->var, n->choices[c].value);
		engine_effects(cx, &n->choices[c].fx);
		engine_enter(cx, n->choices[c].next);
		return;
	default:
		engine_restart(cx);
	}
}

static bool
engine_escalated_has(const struct conv_state *st, const char *rule)
{
	for (size_t k = 0; k < st->nescalated; k++)
		if (strcmp(st->escalated[k], rule) == 0)
			return true;
	return false;
}

/*
 * Red flag: the emergency instruction (or, already there, the reminder) and
 * ESCALATE. Inside the emergency node only rules not escalated there yet
 * alert staff again. reply is false for an opted-out patient: no text goes
 * out, and every red flag reaches staff.
 */
static void
engine_emergency(struct engine_ctx *cx, bool reply)
{
	const struct engine_input *in = cx->in;
	const struct flow_node *em = flow_emergency(cx->flow);
	bool inside = cx->st->node != NULL && strcmp(cx->st->node, em->id) == 0;
	bool fresh = !reply || !inside;
	size_t len = sizeof "redflag";
	char *reason;

	for (size_t i = 0; i < in->ntriage_reasons; i++) {
		const char *r = in->triage_reasons[i] ? in->triage_reasons[i] : "";

		len += strlen(r) + 1;
		if (!engine_escalated_has(cx->st, r))
			fresh = true;
	}
	if (reply) {
		if (inside)
			engine_reply(cx, em->reminder);
		else {
			engine_send_node(cx, em);
			engine_set_node(cx->st, em->id);
			engine_strings_clear(&cx->st->escalated, &cx->st->nescalated);
		}
		cx->st->emergency_sent = true;
	}
	if (!fresh)
		return;
	reason = xcalloc(1, len);
	for (size_t i = 0; i < in->ntriage_reasons; i++) {
		const char *r = in->triage_reasons[i] ? in->triage_reasons[i] : "";

		if (i > 0)
			strcat(reason, ",");
		strcat(reason, r);
		if (reply && !engine_escalated_has(cx->st, r) && cx->st->nescalated < ENGINE_MAX_ESCALATED) {
			cx->st->escalated = xreallocarray(cx->st->escalated, cx->st->nescalated + 1,
			    sizeof *cx->st->escalated);
			cx->st->escalated[cx->st->nescalated++] = xstrdup(r);
		}
	}
	if (reason[0] == '\0')
		strcpy(reason, "redflag");
	engine_action(cx, ENGINE_ACTION_ESCALATE, reason, in->triage_matched);
	free(reason);
}

static bool
engine_idle(const struct conv_state *st, const struct engine_input *in)
{
	return st->node != NULL && st->last_activity > 0 && in->idle_reset_ms > 0 &&
	    in->now_ms - st->last_activity > in->idle_reset_ms;
}

/* Runs one inbound SMS through the flow. */
void
engine_step(const struct flow *flow, const struct conv_state *state,
    const struct engine_input *in, struct engine_result *out)
{
	struct engine_ctx cx;
	struct flow_keyword_hit kw;
	char *norm = xmalloc(ENGINE_MAX_NORM);
	const struct flow_node *cur;
	size_t before;
	int li;

	memset(out, 0, sizeof *out);
	memset(&cx, 0, sizeof cx);
	cx.flow = flow;
	cx.in = in;
	cx.out = out;
	cx.st = out->next = engine_state_copy(state);
	li = flow_lang_index(flow, cx.st->lang);
	if (li < 0) {
		/* First message (or a language the flow dropped): take the caller's guess. */
		li = flow_lang_index(flow, in->detected_lang);
		if (li < 0)
			li = (int)flow_default_lang(flow);
		(void)snprintf(cx.st->lang, sizeof cx.st->lang, "%s", flow_lang(flow, (size_t)li));
	}
	cx.lang = (size_t)li;
	flow_normalize(in->text, in->text ? in->len : 0, norm, ENGINE_MAX_NORM);
	kw = flow_keyword_match(flow, norm);
	if (in->provider_keyword == ENGINE_PKW_STOP)
		kw.kind = FLOW_KW_STOP;
	else if (in->provider_keyword == ENGINE_PKW_START)
		kw.kind = FLOW_KW_START;
	else if (in->provider_keyword == ENGINE_PKW_HELP)
		kw.kind = FLOW_KW_HELP;
	if (kw.kind == FLOW_KW_START && !cx.st->opted_out)
		kw.kind = FLOW_KW_NONE; /* START only acts after STOP; otherwise an ordinary text */
	cur = flow_node_find(flow, cx.st->node);
	if (kw.kind == FLOW_KW_STOP && !cx.st->opted_out && engine_is_choice_word(cur, norm))
		kw.kind = FLOW_KW_NONE; /* the question's own answer outranks a STOP word ("alto" = upper) */
	if (cx.st->node != NULL && (cur == NULL || (cur->kind != FLOW_QUESTION &&
	    cur->kind != FLOW_CAPTURE && cur->kind != FLOW_EMERGENCY && cur->kind != FLOW_END)))
		engine_set_node(cx.st, NULL); /* the flow changed under this conversation */
	if (cx.st->opted_out) {
		if (kw.kind == FLOW_KW_START) {
			cx.st->opted_out = false;
			engine_set_node(cx.st, NULL);
			engine_clear_vars(cx.st);
			if (!(in->provider_confirms && in->provider_keyword == ENGINE_PKW_START))
				engine_reply(&cx, flow_message(flow, FLOW_MSG_OPT_IN));
			engine_action(&cx, ENGINE_ACTION_OPT_IN, "start", NULL);
		} else if (in->triage == TRIAGE_EMERGENCY)
			engine_emergency(&cx, false);
		goto done;
	}
	if (in->triage == TRIAGE_EMERGENCY) {
		engine_emergency(&cx, true);
		goto done;
	}
	if (kw.kind == FLOW_KW_STOP) {
		cx.st->opted_out = true;
		/* The provider's own confirmation went out; ours would be refused (Twilio 21610). */
		if (!(in->provider_confirms && in->provider_keyword == ENGINE_PKW_STOP))
			engine_reply(&cx, flow_message(flow, FLOW_MSG_OPT_OUT));
		engine_action(&cx, ENGINE_ACTION_OPT_OUT, "stop", NULL);
		goto done;
	}
	if (in->handoff)
		goto done;
	if (engine_idle(cx.st, in)) {
		engine_set_node(cx.st, NULL);
		engine_clear_vars(cx.st);
		engine_strings_clear(&cx.st->escalated, &cx.st->nescalated);
		cx.st->see_doctor_sent = cx.st->booking_offered = cx.st->emergency_sent = false;
		cx.st->see_doctor_due = false;
		engine_reply(&cx, flow_message(flow, FLOW_MSG_IDLE_RESET));
	}
	before = out->nreplies;
	switch (kw.kind) {
	case FLOW_KW_HELP:
		engine_reply(&cx, flow_message(flow, FLOW_MSG_HELP));
		if (cx.st->node == NULL) {
			/* Help first: it already says what the greeting would, so the first question follows. */
			cx.help_greeted = true;
			engine_restart(&cx);
			cx.help_greeted = false;
		}
		break;
	case FLOW_KW_RESTART:
		engine_restart(&cx);
		break;
	case FLOW_KW_HUMAN:
		engine_reply(&cx, flow_message(flow, FLOW_MSG_HUMAN));
		engine_action(&cx, ENGINE_ACTION_CALLBACK, "human", cx.st->node);
		break;
	case FLOW_KW_LANGUAGE:
		(void)snprintf(cx.st->lang, sizeof cx.st->lang, "%s", flow_lang(flow, (size_t)kw.lang));
		cx.lang = (size_t)kw.lang;
		cur = flow_node_find(flow, cx.st->node);
		if (cur == NULL)
			engine_restart(&cx);
		else
			engine_send_node(&cx, cur);
		break;
	case FLOW_KW_GOTO:
		engine_enter(&cx, kw.target);
		break;
	default:
		cur = flow_node_find(flow, cx.st->node);
		if (cur == NULL || cur->kind == FLOW_END) {
			/* A new conversation: the greeting and the screen first, then what the text said. */
			engine_restart(&cx);
			engine_fill_slots(&cx);
		} else {
			if (cur->kind != FLOW_EMERGENCY)
				engine_fill_slots(&cx);
			engine_answer(&cx, norm);
		}
		break;
	}
	engine_flush_noted(&cx, before);
	cur = flow_node_find(flow, cx.st->node);
	if (in->triage == TRIAGE_SEE_DOCTOR && !cx.st->see_doctor_sent)
		cx.st->see_doctor_due = true;
	/* The advice waits until the screen is answered, and the flow may give it itself. */
	if (cx.st->see_doctor_due && !cx.st->see_doctor_sent && out->nreplies > before &&
	    (cur == NULL || (cur->kind != FLOW_EMERGENCY && !(cur->kind == FLOW_QUESTION && cur->strict)))) {
		engine_reply(&cx, flow_message(flow, FLOW_MSG_SEE_DOCTOR));
		cx.st->see_doctor_sent = cx.st->booking_offered = true;
		cx.st->see_doctor_due = false;
	}
done:
	cx.st->last_activity = in->now_ms;
	free(norm);
}
