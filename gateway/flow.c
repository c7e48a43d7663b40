/*
 * flow.c - load and validate a dialogue flow document (PURE). See flow.h.
 *
 * The document is parsed with jansson and kept alive inside the struct flow:
 * node views borrow its strings, and every other allocation (node arrays,
 * normalized keywords) is recorded in flow->allocs so flow_free() releases
 * all of it in one sweep. Loading runs in passes: header and languages, the
 * texts table, node ids (to resolve links in any order), node bodies, then
 * whole-graph checks (reachability, no cycle of non-waiting nodes, every
 * variable read is written somewhere). The first failure wins and is
 * reported as "<where>: <what>"; the loader is meant to survive fuzzing, so
 * every size is bounded and every JSON type is checked before use.
 */
#include "flow.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "xmalloc.h"

#define FLOW_MAX_DEPTH 8      /* condition nesting */
#define FLOW_MAX_WORDS 64     /* keywords per language per list */
#define FLOW_MAX_EFFECTS 16   /* sets or actions per node/choice */
#define FLOW_MAX_SHORTCUTS 16 /* shortcut keywords */
#define FLOW_MAX_TEXTS 256    /* entries of the texts table */
#define FLOW_MAX_REPLACES 1024 /* earlier shipped versions a document replaces */
#define FLOW_MAX_SLOTS 16     /* slots, values per slot, units per duration */

struct flow_word {
	const char *norm; /* normalized keyword; owned via allocs */
	enum flow_keyword kind;
	int lang;			/* FLOW_KW_LANGUAGE target */
	const struct flow_node *target; /* FLOW_KW_GOTO target */
};

struct flow_named_text {
	const char *name; /* borrowed from doc */
	struct flow_text *text;
};

/* A set of single normalized words, any language; strings owned via allocs. */
struct flow_wordset {
	const char **words;
	size_t n, cap;
};

struct flow {
	json_t *doc;	  /* owned; node views borrow its strings */
	void **allocs;	  /* owned: everything else flow_alloc() handed out */
	size_t nallocs, allocs_cap;
	const char *name; /* borrowed from doc */
	const char *langs[FLOW_MAX_LANGS]; /* borrowed from doc */
	size_t nlangs, default_lang;
	struct flow_node *nodes; /* owned via allocs */
	size_t nnodes;
	const struct flow_node *start, *emergency;
	const struct flow_text *messages[FLOW_MSG_COUNT];
	struct flow_word *words; /* global keywords; owned via allocs */
	size_t nwords, words_cap;
	const char **numbers[FLOW_MAX_LANGS]; /* number words per language */
	size_t nnumbers[FLOW_MAX_LANGS];
	struct flow_wordset plain_words; /* ordinary words typo matching never reads as an answer */
	struct flow_wordset hedges;	 /* words that keep a YES/NO answer's first word from deciding */
	struct flow_named_text *texts;
	size_t ntexts;
	struct flow_slot *slots; /* owned via allocs */
	size_t nslots;
	const struct flow_text *noted; /* "Noted: {list}."; NULL without slots */
	struct flow_wordset negations; /* words that cancel a slot word after them in a clause */
	struct flow_wordset ones;      /* "a", "una": a duration of one unit */
	const char **replaces; /* hex SHA-256 of earlier shipped versions; borrowed from doc */
	size_t nreplaces;
};

struct flow_loader {
	struct flow *flow;
	char *cause;	      /* owned until handed to the caller */
	const char **vars_set; /* variables some node writes; owned via allocs */
	size_t nvars_set, vars_set_cap;
	const char **vars_read; /* (var, where) pairs read by conditions */
	size_t nvars_read, vars_read_cap;
};

#define FLOW_NAME(e, n) n,
static const char *const flow_node_kind_names[] = { FLOW_NODE_KIND_LIST(FLOW_NAME) };
static const char *const flow_message_names[] = { FLOW_MESSAGE_LIST(FLOW_NAME) };
static const char *const flow_keyword_names[] = { FLOW_KEYWORD_LIST(FLOW_NAME) };
static const char *const flow_action_names[] = { FLOW_ACTION_LIST(FLOW_NAME) };
#undef FLOW_NAME

#define FLOW_NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool flow_fail(struct flow_loader *ld, const char *fmt, ...) CN_PRINTF(2, 3);

/* Records the first error; always returns false so callers can return it. */
static bool
flow_fail(struct flow_loader *ld, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (ld->cause != NULL)
		return false;
	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	ld->cause = xstrdup(buf);
	return false;
}

static void *
flow_alloc(struct flow *flow, size_t nmemb, size_t size)
{
	void *p = xcalloc(nmemb ? nmemb : 1, size);

	if (flow->nallocs == flow->allocs_cap) {
		flow->allocs_cap = flow->allocs_cap ? flow->allocs_cap * 2 : 64;
		flow->allocs = xreallocarray(flow->allocs, flow->allocs_cap, sizeof *flow->allocs);
	}
	flow->allocs[flow->nallocs++] = p;
	return p;
}

static char *
flow_strdup(struct flow *flow, const char *s)
{
	char *p = flow_alloc(flow, strlen(s) + 1, 1);

	memcpy(p, s, strlen(s));
	return p;
}

/* Lower-case ASCII equivalents of U+00C0..U+00FF; ' ' = not a letter. */
static const char flow_latin1_fold[64 + 1] =
    "aaaaaaaceeeeiiiidnooooo ouuuuy s"
    "aaaaaaaceeeeiiiidnooooo ouuuuy y";

/* Folds text to lower-case ASCII words for keyword matching; see flow.h. */
size_t
flow_normalize(const char *text, size_t len, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t o = 0, i = 0;
	bool space = true; /* suppress leading and repeated spaces */

	if (cap == 0)
		return 0;
	while (text != NULL && i < len) {
		uint32_t cp;
		size_t n = 1, need = 0;
		char fold = 0;

		if (s[i] < 0x80)
			cp = s[i];
		else {
			if (s[i] >= 0xc2 && s[i] <= 0xdf)
				need = 1, cp = s[i] & 0x1f;
			else if (s[i] >= 0xe0 && s[i] <= 0xef)
				need = 2, cp = s[i] & 0x0f;
			else if (s[i] >= 0xf0 && s[i] <= 0xf4)
				need = 3, cp = s[i] & 0x07;
			else
				need = 0, cp = 0xfffd;
			if (need > 0) {
				size_t k;

				for (k = 1; k <= need && i + k < len; k++) {
					if ((s[i + k] & 0xc0) != 0x80)
						break;
					cp = (cp << 6) | (s[i + k] & 0x3f);
				}
				if (k <= need)
					cp = 0xfffd;
				else
					n = need + 1;
			} else
				cp = 0xfffd;
		}
		if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'))
			fold = (char)cp;
		else if (cp >= 'A' && cp <= 'Z')
			fold = (char)(cp - 'A' + 'a');
		else if (cp >= 0xc0 && cp <= 0xff)
			fold = flow_latin1_fold[cp - 0xc0];
		if (cp == '\'' || cp == 0x2019 || cp == 0x2018 || cp == '`') {
			i += n;
			continue; /* "don't" -> "dont" */
		}
		if (fold == 0 && cp >= 0x100 && cp != 0xfffd && !(cp >= 0x2000 && cp <= 0x2bff) &&
		    !(cp >= 0x3000 && cp <= 0x303f) && cp != 0xfeff) {
			/* Letters of other scripts (and emoji) stay as they are. */
			if (o + n >= cap)
				break;
			memcpy(out + o, text + i, n);
			o += n;
			space = false;
		} else if (fold != 0 && fold != ' ') {
			if (o + 1 >= cap)
				break;
			out[o++] = fold;
			space = false;
		} else if (!space) {
			if (o + 1 >= cap)
				break;
			out[o++] = ' ';
			space = true;
		}
		i += n;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return o;
}

/* Returns the name of a node kind ("question"). */
const char *
flow_node_kind_name(enum flow_node_kind kind)
{
	if ((size_t)kind >= FLOW_NELEM(flow_node_kind_names))
		return "unknown";
	return flow_node_kind_names[kind];
}

/* Returns the name of a keyword kind ("stop"). */
const char *
flow_keyword_name(enum flow_keyword kw)
{
	if ((size_t)kw >= FLOW_NELEM(flow_keyword_names))
		return "unknown";
	return flow_keyword_names[kw];
}

/* Checks that obj has only the listed keys (NULL-terminated). */
static bool
flow_check_keys(struct flow_loader *ld, json_t *obj, const char *where, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t i;

		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return flow_fail(ld, "%s: unknown field '%.64s'", where, key);
	}
	return true;
}

/* Checks that v is an object with only the listed keys (NULL-terminated). */
static bool
flow_object(struct flow_loader *ld, json_t *v, const char *where, const char *const *allowed)
{
	if (!json_is_object(v))
		return flow_fail(ld, "%s: must be an object", where);
	return flow_check_keys(ld, v, where, allowed);
}

/* A name: 1..FLOW_MAX_VALUE of [a-z0-9_]. */
static bool
flow_is_ident(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > FLOW_MAX_VALUE)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static bool
flow_get_ident(struct flow_loader *ld, json_t *obj, const char *key, const char *where,
    bool required, const char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL) {
		if (required)
			return flow_fail(ld, "%s: missing field '%s'", where, key);
		return true;
	}
	if (!json_is_string(v))
		return flow_fail(ld, "%s: field '%s' must be a string", where, key);
	if (!flow_is_ident(json_string_value(v)) || strlen(json_string_value(v)) != json_string_length(v))
		return flow_fail(ld, "%s: field '%s' must be 1-%d characters of a-z, 0-9, _",
		    where, key, FLOW_MAX_VALUE);
	*out = json_string_value(v);
	return true;
}

/* Parses a language map {"en": "...", ...} or a "@name" reference to texts. */
static bool
flow_get_text(struct flow_loader *ld, json_t *obj, const char *key, const char *where,
    bool required, const struct flow_text **out)
{
	struct flow *flow = ld->flow;
	json_t *v = json_object_get(obj, key), *s;
	struct flow_text *t;
	const char *lang;

	*out = NULL;
	if (v == NULL) {
		if (required)
			return flow_fail(ld, "%s: missing field '%s'", where, key);
		return true;
	}
	if (json_is_string(v) && json_string_value(v)[0] == '@') {
		for (size_t i = 0; i < flow->ntexts; i++)
			if (strcmp(flow->texts[i].name, json_string_value(v) + 1) == 0) {
				*out = flow->texts[i].text;
				return true;
			}
		return flow_fail(ld, "%s: field '%s': unknown text '%.64s'", where, key,
		    json_string_value(v));
	}
	if (!json_is_object(v))
		return flow_fail(ld, "%s: field '%s' must be a language map or \"@name\"", where, key);
	t = flow_alloc(flow, 1, sizeof *t);
	json_object_foreach(v, lang, s) {
		int li = flow_lang_index(flow, lang);

		if (li < 0)
			return flow_fail(ld, "%s: field '%s': undeclared language '%.16s'", where, key, lang);
		if (!json_is_string(s))
			return flow_fail(ld, "%s: field '%s': language '%s' must be a string", where, key, lang);
		if (json_string_length(s) == 0 || json_string_length(s) > FLOW_MAX_TEXT ||
		    strlen(json_string_value(s)) != json_string_length(s))
			return flow_fail(ld, "%s: field '%s': language '%s' must be 1-%d bytes", where,
			    key, lang, FLOW_MAX_TEXT);
		t->by_lang[li] = json_string_value(s);
	}
	for (size_t i = 0; i < flow->nlangs; i++)
		if (t->by_lang[i] == NULL)
			return flow_fail(ld, "%s: field '%s': missing language '%s'", where, key,
			    flow->langs[i]);
	*out = t;
	return true;
}

/*
 * Parses a keyword language map {"en": ["STOP", ...], ...} into normalized
 * words, each passed to add(). Every declared language must be present.
 */
static bool
flow_get_words(struct flow_loader *ld, json_t *v, const char *where, bool all_langs,
    bool (*add)(struct flow_loader *, const char *, int, void *), void *arg)
{
	struct flow *flow = ld->flow;
	const char *lang;
	json_t *arr;
	char norm[FLOW_MAX_WORD + 8];

	if (!json_is_object(v))
		return flow_fail(ld, "%s: must be a language map of word lists", where);
	json_object_foreach(v, lang, arr) {
		int li = flow_lang_index(flow, lang);
		size_t i;
		json_t *w;

		if (li < 0)
			return flow_fail(ld, "%s: undeclared language '%.16s'", where, lang);
		if (!json_is_array(arr) || json_array_size(arr) > FLOW_MAX_WORDS)
			return flow_fail(ld, "%s: language '%s' must be a list of at most %d words",
			    where, lang, FLOW_MAX_WORDS);
		json_array_foreach(arr, i, w) {
			if (!json_is_string(w) || json_string_length(w) > FLOW_MAX_WORD)
				return flow_fail(ld, "%s: language '%s' word %zu must be a string of at most %d bytes",
				    where, lang, i + 1, FLOW_MAX_WORD);
			flow_normalize(json_string_value(w), json_string_length(w), norm, sizeof norm);
			if (norm[0] == '\0')
				return flow_fail(ld, "%s: language '%s' word %zu has no letters or digits",
				    where, lang, i + 1);
			if (!add(ld, norm, li, arg))
				return false;
		}
	}
	if (all_langs)
		for (size_t i = 0; i < flow->nlangs; i++)
			if (json_object_get(v, flow->langs[i]) == NULL)
				return flow_fail(ld, "%s: missing language '%s'", where, flow->langs[i]);
	return true;
}

/* Returns the global keyword already using norm, or NULL. */
static const struct flow_word *
flow_word_find(const struct flow *flow, const char *norm)
{
	for (size_t i = 0; i < flow->nwords; i++)
		if (strcmp(flow->words[i].norm, norm) == 0)
			return &flow->words[i];
	return NULL;
}

/*
 * Returns what already uses norm ("stop", "numbers") or NULL. Choices may
 * reuse START words, which only act while opted out, and STOP words, which
 * a question's own answer outranks ("alto" = upper). Flows a clinic edited
 * before issue #18 may still do so; the shipped flow has no START word that
 * is an answer (ALTA was dropped).
 */
static const char *
flow_word_owner(const struct flow *flow, const char *norm, bool for_choice)
{
	const struct flow_word *w = flow_word_find(flow, norm);

	if (w != NULL && !(for_choice && (w->kind == FLOW_KW_START || w->kind == FLOW_KW_STOP)))
		return flow_keyword_name(w->kind);
	for (size_t l = 0; l < flow->nlangs; l++)
		for (size_t i = 0; i < flow->nnumbers[l]; i++)
			if (strcmp(flow->numbers[l][i], norm) == 0)
				return "numbers";
	return NULL;
}

struct flow_global_arg {
	enum flow_keyword kind;
	int lang;
	const struct flow_node *target;
	const char *where;
};

static bool
flow_add_global(struct flow_loader *ld, const char *norm, int lang, void *varg)
{
	struct flow *flow = ld->flow;
	struct flow_global_arg *arg = varg;
	const struct flow_word *dup = flow_word_find(flow, norm);
	const char *owner = flow_word_owner(flow, norm, false);
	struct flow_word *w;

	(void)lang;
	if (dup != NULL && dup->kind == arg->kind && dup->lang == arg->lang && dup->target == arg->target)
		return true; /* "MENU" and "MENÚ" normalize alike */
	if (owner != NULL)
		return flow_fail(ld, "%s: word '%s' is already used by '%s'", arg->where, norm, owner);
	if (flow->nwords == flow->words_cap) {
		struct flow_word *nw;

		flow->words_cap = flow->words_cap ? flow->words_cap * 2 : 32;
		nw = flow_alloc(flow, flow->words_cap, sizeof *nw);
		if (flow->nwords > 0)
			memcpy(nw, flow->words, flow->nwords * sizeof *nw);
		flow->words = nw;
	}
	w = &flow->words[flow->nwords++];
	w->norm = flow_strdup(flow, norm);
	w->kind = arg->kind;
	w->lang = arg->lang;
	w->target = arg->target;
	return true;
}

static bool
flow_add_number(struct flow_loader *ld, const char *norm, int lang, void *varg)
{
	struct flow *flow = ld->flow;
	const char *owner = flow_word_owner(flow, norm, false);

	(void)varg;
	for (size_t i = 0; i < flow->nnumbers[lang]; i++)
		if (strcmp(flow->numbers[lang][i], norm) == 0)
			return flow_fail(ld, "numbers: word '%s' listed twice", norm);
	if (owner != NULL)
		return flow_fail(ld, "numbers: word '%s' is already used by '%s'", norm, owner);
	if (flow->numbers[lang] == NULL)
		flow->numbers[lang] = flow_alloc(flow, FLOW_MAX_WORDS, sizeof (char *));
	flow->numbers[lang][flow->nnumbers[lang]++] = flow_strdup(flow, norm);
	return true;
}

static bool
flow_wordset_has(const struct flow_wordset *set, const char *word, size_t len)
{
	for (size_t i = 0; i < set->n; i++)
		if (strlen(set->words[i]) == len && memcmp(set->words[i], word, len) == 0)
			return true;
	return false;
}

/* Adds one word of a "plain_words" or "hedges" list (arg: the set). */
static bool
flow_add_set_word(struct flow_loader *ld, const char *norm, int lang, void *varg)
{
	struct flow_wordset *set = varg;

	(void)lang;
	if (strchr(norm, ' ') != NULL)
		return flow_fail(ld, "plain_words/hedges/negations/one_words: '%s' must be one word", norm);
	if (flow_wordset_has(set, norm, strlen(norm)))
		return true; /* the same word in two languages */
	if (set->n == set->cap) {
		const char **nw;

		set->cap = set->cap ? set->cap * 2 : 64;
		nw = flow_alloc(ld->flow, set->cap, sizeof *nw);
		if (set->n > 0)
			memcpy(nw, set->words, set->n * sizeof *nw);
		set->words = nw;
	}
	set->words[set->n++] = flow_strdup(ld->flow, norm);
	return true;
}

struct flow_choice_arg {
	struct flow_choice *choices; /* all choices of the node */
	size_t index, cap;	     /* the choice being filled */
	const char **words;	     /* owned via allocs */
	const char *where;
};

static bool
flow_add_choice_word(struct flow_loader *ld, const char *norm, int lang, void *varg)
{
	struct flow_choice_arg *arg = varg;
	const char *owner = flow_word_owner(ld->flow, norm, true);

	(void)lang;
	if (owner != NULL)
		return flow_fail(ld, "%s: keyword '%s' is shadowed by the global keyword '%s'",
		    arg->where, norm, owner);
	for (size_t i = 0; i < arg->choices[arg->index].nkeywords; i++)
		if (strcmp(arg->words[i], norm) == 0)
			return true; /* same word twice in one choice, e.g. "no" in en and es */
	for (size_t c = 0; c < arg->index; c++)
		for (size_t i = 0; i < arg->choices[c].nkeywords; i++)
			if (strcmp(arg->choices[c].keywords[i], norm) == 0)
				return flow_fail(ld, "%s: keyword '%s' also belongs to choice %zu",
				    arg->where, norm, c + 1);
	if (arg->choices[arg->index].nkeywords >= arg->cap)
		return flow_fail(ld, "%s: too many keywords", arg->where);
	arg->words[arg->choices[arg->index].nkeywords++] = flow_strdup(ld->flow, norm);
	return true;
}

static void
flow_note_var(struct flow_loader *ld, const char *var, bool set)
{
	const char ***arr = set ? &ld->vars_set : &ld->vars_read;
	size_t *n = set ? &ld->nvars_set : &ld->nvars_read;
	size_t *cap = set ? &ld->vars_set_cap : &ld->vars_read_cap;

	if (*n == *cap) {
		const char **na;

		*cap = *cap ? *cap * 2 : 32;
		na = flow_alloc(ld->flow, *cap, sizeof *na);
		if (*n > 0)
			memcpy(na, *arr, *n * sizeof *na);
		*arr = na;
	}
	(*arr)[(*n)++] = var;
}

static const struct flow_node *
flow_find_node(const struct flow *flow, const char *id)
{
	for (size_t i = 0; i < flow->nnodes; i++)
		if (strcmp(flow->nodes[i].id, id) == 0)
			return &flow->nodes[i];
	return NULL;
}

/* Resolves obj[key] to a node; required unless optional. */
static bool
flow_get_link(struct flow_loader *ld, json_t *obj, const char *key, const char *where,
    const struct flow_node **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return flow_fail(ld, "%s: missing field '%s'", where, key);
	if (!json_is_string(v))
		return flow_fail(ld, "%s: field '%s' must be a node id", where, key);
	*out = flow_find_node(ld->flow, json_string_value(v));
	if (*out == NULL)
		return flow_fail(ld, "%s: field '%s' names unknown node '%.64s'", where, key,
		    json_string_value(v));
	return true;
}

static bool
flow_get_effects(struct flow_loader *ld, json_t *obj, const char *where, struct flow_effects *fx)
{
	json_t *set = json_object_get(obj, "set"), *acts = json_object_get(obj, "actions"), *v;
	const char *key;
	size_t i;

	memset(fx, 0, sizeof *fx);
	if (set != NULL) {
		struct flow_set *sets;

		if (!json_is_object(set) || json_object_size(set) > FLOW_MAX_EFFECTS)
			return flow_fail(ld, "%s: field 'set' must be an object of at most %d variables",
			    where, FLOW_MAX_EFFECTS);
		sets = flow_alloc(ld->flow, json_object_size(set), sizeof *sets);
		json_object_foreach(set, key, v) {
			if (!flow_is_ident(key))
				return flow_fail(ld, "%s: field 'set': bad variable name '%.64s'", where, key);
			if (!json_is_string(v) || json_string_length(v) > FLOW_MAX_VALUE ||
			    strlen(json_string_value(v)) != json_string_length(v))
				return flow_fail(ld, "%s: field 'set': variable '%s' needs a string of at most %d bytes",
				    where, key, FLOW_MAX_VALUE);
			sets[fx->nsets].var = key;
			sets[fx->nsets++].value = json_string_value(v);
			flow_note_var(ld, key, true);
		}
		fx->sets = sets;
	}
	if (acts != NULL) {
		struct flow_action_spec *specs;
		static const char *const keys[] = { "action", "reason", "detail", NULL };

		if (!json_is_array(acts) || json_array_size(acts) > FLOW_MAX_EFFECTS)
			return flow_fail(ld, "%s: field 'actions' must be a list of at most %d actions",
			    where, FLOW_MAX_EFFECTS);
		specs = flow_alloc(ld->flow, json_array_size(acts), sizeof *specs);
		json_array_foreach(acts, i, v) {
			json_t *a, *r, *d;
			size_t k;
			char w[160];

			(void)snprintf(w, sizeof w, "%s: action %zu", where, i + 1);
			if (!flow_object(ld, v, w, keys))
				return false;
			a = json_object_get(v, "action");
			r = json_object_get(v, "reason");
			d = json_object_get(v, "detail");
			if (!json_is_string(a))
				return flow_fail(ld, "%s: missing field 'action'", w);
			for (k = 0; k < FLOW_NELEM(flow_action_names); k++)
				if (strcmp(flow_action_names[k], json_string_value(a)) == 0)
					break;
			if (k == FLOW_NELEM(flow_action_names))
				return flow_fail(ld, "%s: unknown action '%.32s'", w, json_string_value(a));
			if (!json_is_string(r) || !flow_is_ident(json_string_value(r)))
				return flow_fail(ld, "%s: field 'reason' must be 1-%d characters of a-z, 0-9, _",
				    w, FLOW_MAX_VALUE);
			if (d != NULL && (!json_is_string(d) || json_string_length(d) > 256 ||
			    strlen(json_string_value(d)) != json_string_length(d)))
				return flow_fail(ld, "%s: field 'detail' must be a string of at most 256 bytes", w);
			specs[i].kind = (enum flow_action_kind)k;
			specs[i].reason = json_string_value(r);
			specs[i].detail = d ? json_string_value(d) : NULL;
		}
		fx->actions = specs;
		fx->nactions = json_array_size(acts);
	}
	return true;
}

static bool
flow_get_cond(struct flow_loader *ld, json_t *v, const char *where, int depth, struct flow_cond *c)
{
	static const char *const ops[] = { "eq", "ne", "set", "any", "all", "not", "advised" };
	json_t *var = json_object_get(v, "var");
	size_t nops = 0, op = 0;

	if (!json_is_object(v))
		return flow_fail(ld, "%s: condition must be an object", where);
	if (depth > FLOW_MAX_DEPTH)
		return flow_fail(ld, "%s: conditions nested deeper than %d", where, FLOW_MAX_DEPTH);
	for (size_t i = 0; i < FLOW_NELEM(ops); i++)
		if (json_object_get(v, ops[i]) != NULL) {
			nops++;
			op = i;
		}
	if (nops != 1 || json_object_size(v) != (op < 3 ? 2u : 1u))
		return flow_fail(ld, "%s: condition needs exactly one of var+eq, var+ne, var+set, any, all, not, "
		    "advised", where);
	c->op = (enum flow_cond_op)op;
	if (op == FLOW_COND_ADVISED) {
		if (!json_is_boolean(json_object_get(v, "advised")))
			return flow_fail(ld, "%s: condition field 'advised' must be true or false", where);
		c->value = json_is_true(json_object_get(v, "advised")) ? NULL : "";
		return true;
	}
	if (op < 3) {
		json_t *val = json_object_get(v, ops[op]);

		if (!json_is_string(var) || !flow_is_ident(json_string_value(var)))
			return flow_fail(ld, "%s: condition field 'var' must be a variable name", where);
		c->var = json_string_value(var);
		flow_note_var(ld, c->var, false);
		flow_note_var(ld, flow_strdup(ld->flow, where), false);
		if (op == FLOW_COND_SET) {
			if (!json_is_boolean(val))
				return flow_fail(ld, "%s: condition field 'set' must be true or false", where);
			c->value = json_is_true(val) ? NULL : "";
		} else {
			if (!json_is_string(val) || json_string_length(val) > FLOW_MAX_VALUE)
				return flow_fail(ld, "%s: condition field '%s' must be a string", where, ops[op]);
			c->value = json_string_value(val);
		}
		return true;
	}
	if (op == FLOW_COND_NOT) {
		struct flow_cond *sub = flow_alloc(ld->flow, 1, sizeof *sub);

		c->subs = sub;
		c->nsubs = 1;
		return flow_get_cond(ld, json_object_get(v, "not"), where, depth + 1, sub);
	} else {
		json_t *arr = json_object_get(v, ops[op]), *e;
		struct flow_cond *subs;
		size_t i;

		if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 32)
			return flow_fail(ld, "%s: condition field '%s' must be a list of 1-32 conditions",
			    where, ops[op]);
		subs = flow_alloc(ld->flow, json_array_size(arr), sizeof *subs);
		c->subs = subs;
		c->nsubs = json_array_size(arr);
		json_array_foreach(arr, i, e)
			if (!flow_get_cond(ld, e, where, depth + 1, &subs[i]))
				return false;
	}
	return true;
}

static bool
flow_parse_choices(struct flow_loader *ld, json_t *arr, const char *where, struct flow_node *node)
{
	static const char *const keys[] = { "keywords", "value", "next", "var", "set", "actions", "note", NULL };
	struct flow_choice *choices;
	json_t *v;
	size_t i, nnone = 0;

	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > FLOW_MAX_CHOICES)
		return flow_fail(ld, "%s: field 'choices' must be a list of 1-%d choices", where,
		    FLOW_MAX_CHOICES);
	choices = flow_alloc(ld->flow, json_array_size(arr), sizeof *choices);
	node->choices = choices;
	node->nchoices = json_array_size(arr);
	json_array_foreach(arr, i, v) {
		char w[160];
		json_t *kw, *val;

		(void)snprintf(w, sizeof w, "%s: choice %zu", where, i + 1);
		if (!flow_object(ld, v, w, keys))
			return false;
		if (node->multi) {
			/* Several choices may be taken at once: each stores its own var, the node's next follows. */
			if (json_object_get(v, "next") != NULL)
				return flow_fail(ld, "%s: field 'next' is not allowed in a multi question (the node's 'next' follows)", w);
			if (!flow_get_ident(ld, v, "var", w, false, &choices[i].var))
				return false;
			if (choices[i].var == NULL && ++nnone > 1)
				return flow_fail(ld, "%s: a multi question has at most one choice without 'var' (the \"none\" answer)", w);
			if (choices[i].var != NULL)
				flow_note_var(ld, choices[i].var, true);
		} else {
			if (json_object_get(v, "var") != NULL)
				return flow_fail(ld, "%s: field 'var' is only allowed in a multi question", w);
			if (!flow_get_link(ld, v, "next", w, &choices[i].next))
				return false;
		}
		if (!flow_get_effects(ld, v, w, &choices[i].fx))
			return false;
		val = json_object_get(v, "value");
		if (val != NULL) {
			if (!json_is_string(val) || json_string_length(val) > FLOW_MAX_VALUE ||
			    json_string_length(val) == 0 ||
			    strlen(json_string_value(val)) != json_string_length(val))
				return flow_fail(ld, "%s: field 'value' must be a string of 1-%d bytes", w,
				    FLOW_MAX_VALUE);
			choices[i].value = json_string_value(val);
		} else if (node->multi) {
			choices[i].value = "yes";
		} else {
			char num[24];

			(void)snprintf(num, sizeof num, "%zu", i + 1);
			choices[i].value = flow_strdup(ld->flow, num);
		}
		kw = json_object_get(v, "keywords");
		if (kw != NULL) {
			struct flow_choice_arg arg = { choices, i, FLOW_MAX_WORDS * FLOW_MAX_LANGS, NULL, w };

			arg.words = flow_alloc(ld->flow, arg.cap, sizeof *arg.words);
			choices[i].keywords = arg.words;
			if (!flow_get_words(ld, kw, w, false, flow_add_choice_word, &arg))
				return false;
		}
	}
	return true;
}

static bool flow_get_list(struct flow_loader *ld, json_t *obj, const char *where, bool single,
    const char *const **words, size_t *n);

/*
 * A multi question's "which": {"words": {...}, "text": {...}}: a plain "yes"
 * says some signs apply but not which, so it is answered with text (ask
 * which), never read as a choice nor as "not understood".
 */
static bool
flow_parse_which(struct flow_loader *ld, json_t *v, const char *where, struct flow_node *node)
{
	static const char *const keys[] = { "words", "text", "note", NULL };
	char w[160];

	if (v == NULL)
		return true;
	(void)snprintf(w, sizeof w, "%s: field 'which'", where);
	if (!json_is_object(v))
		return flow_fail(ld, "%s must be an object", w);
	if (!flow_check_keys(ld, v, w, keys) || !flow_get_text(ld, v, "text", w, true, &node->which) ||
	    !flow_get_list(ld, v, w, false, &node->which_words, &node->nwhich_words))
		return false;
	for (size_t i = 0; i < node->nwhich_words; i++)
		for (size_t c = 0; c < node->nchoices; c++)
			for (size_t k = 0; k < node->choices[c].nkeywords; k++)
				if (strcmp(node->which_words[i], node->choices[c].keywords[k]) == 0)
					return flow_fail(ld, "%s: '%s' is also a keyword of choice %zu", w,
					    node->which_words[i], c + 1);
	return true;
}

static bool
flow_parse_node(struct flow_loader *ld, json_t *v, struct flow_node *node)
{
	static const char *const common[] = { "id", "kind", "set", "actions", "note", "text", "prompt",
		"hint", "reminder", "var", "strict", "multi", "which", "see_doctor", "choices", "choices_from",
		"next", "cases", "else", NULL };
	/* Fields each kind may use, beyond id, kind, set, actions, note. */
	static const char *const allowed[][13] = {
		[FLOW_MESSAGE] = { "text", "next", "see_doctor", NULL },
		[FLOW_QUESTION] = { "text", "prompt", "hint", "var", "strict", "multi", "which", "see_doctor",
			"choices", "choices_from", "next", NULL },
		[FLOW_CAPTURE] = { "text", "hint", "var", "next", NULL },
		[FLOW_BRANCH] = { "cases", "else", NULL },
		[FLOW_EMERGENCY] = { "text", "reminder", NULL },
		[FLOW_END] = { "text", NULL },
	};
	char where[128];
	const char *key;
	json_t *f;

	(void)snprintf(where, sizeof where, "node '%s'", node->id);
	if (!flow_check_keys(ld, v, where, common))
		return false;
	json_object_foreach(v, key, f) {
		size_t i;

		if (strcmp(key, "id") == 0 || strcmp(key, "kind") == 0 || strcmp(key, "set") == 0 ||
		    strcmp(key, "actions") == 0 || strcmp(key, "note") == 0)
			continue;
		for (i = 0; allowed[node->kind][i] != NULL; i++)
			if (strcmp(allowed[node->kind][i], key) == 0)
				break;
		if (allowed[node->kind][i] == NULL)
			return flow_fail(ld, "%s: field '%s' is not allowed in a %s node", where, key,
			    flow_node_kind_name(node->kind));
	}
	if (!flow_get_effects(ld, v, where, &node->fx))
		return false;
	if (node->kind != FLOW_BRANCH && !flow_get_text(ld, v, "text", where, true, &node->text))
		return false;
	f = json_object_get(v, "see_doctor");
	if (f != NULL && !json_is_boolean(f))
		return flow_fail(ld, "%s: field 'see_doctor' must be true or false", where);
	node->see_doctor = json_is_true(f);
	switch (node->kind) {
	case FLOW_MESSAGE:
		return flow_get_link(ld, v, "next", where, &node->next);
	case FLOW_QUESTION: {
		json_t *strict = json_object_get(v, "strict"), *from = json_object_get(v, "choices_from");
		json_t *multi = json_object_get(v, "multi");

		if (multi != NULL && !json_is_boolean(multi))
			return flow_fail(ld, "%s: field 'multi' must be true or false", where);
		node->multi = json_is_true(multi);
		if (node->multi) {
			if (from != NULL)
				return flow_fail(ld, "%s: a multi question needs its own 'choices', not 'choices_from'", where);
			if (json_object_get(v, "var") != NULL)
				return flow_fail(ld, "%s: field 'var' is not allowed in a multi question (each choice has its own)", where);
			if (json_is_true(strict))
				return flow_fail(ld, "%s: a multi question cannot be strict", where);
			if (!flow_get_link(ld, v, "next", where, &node->next))
				return false;
		} else if (json_object_get(v, "next") != NULL)
			return flow_fail(ld, "%s: field 'next' is only allowed in a multi question (choices say where to go)", where);
		else if (json_object_get(v, "which") != NULL)
			return flow_fail(ld, "%s: field 'which' is only allowed in a multi question", where);

		if (!flow_get_text(ld, v, "prompt", where, false, &node->prompt) ||
		    !flow_get_text(ld, v, "hint", where, false, &node->hint) ||
		    !flow_get_ident(ld, v, "var", where, false, &node->var))
			return false;
		if (node->var != NULL)
			flow_note_var(ld, node->var, true);
		if (strict != NULL && !json_is_boolean(strict))
			return flow_fail(ld, "%s: field 'strict' must be true or false", where);
		node->strict = json_is_true(strict);
		if ((from == NULL) == (json_object_get(v, "choices") == NULL))
			return flow_fail(ld, "%s: needs exactly one of 'choices' or 'choices_from'", where);
		if (from != NULL)
			return true; /* resolved after every node's own choices are parsed */
		return flow_parse_choices(ld, json_object_get(v, "choices"), where, node) &&
		    flow_parse_which(ld, json_object_get(v, "which"), where, node);
	}
	case FLOW_CAPTURE:
		if (!flow_get_text(ld, v, "hint", where, false, &node->hint) ||
		    !flow_get_ident(ld, v, "var", where, true, &node->var))
			return false;
		flow_note_var(ld, node->var, true);
		return flow_get_link(ld, v, "next", where, &node->next);
	case FLOW_BRANCH: {
		json_t *cases = json_object_get(v, "cases"), *c;
		struct flow_case *cs;
		size_t i;

		if (!json_is_array(cases) || json_array_size(cases) == 0 || json_array_size(cases) > 32)
			return flow_fail(ld, "%s: field 'cases' must be a list of 1-32 cases", where);
		cs = flow_alloc(ld->flow, json_array_size(cases), sizeof *cs);
		node->cases = cs;
		node->ncases = json_array_size(cases);
		json_array_foreach(cases, i, c) {
			static const char *const keys[] = { "if", "next", "note", NULL };
			char w[160];

			(void)snprintf(w, sizeof w, "%s: case %zu", where, i + 1);
			if (!flow_object(ld, c, w, keys) ||
			    !flow_get_link(ld, c, "next", w, &cs[i].next))
				return false;
			if (json_object_get(c, "if") == NULL)
				return flow_fail(ld, "%s: missing field 'if'", w);
			if (!flow_get_cond(ld, json_object_get(c, "if"), w, 1, &cs[i].cond))
				return false;
		}
		return flow_get_link(ld, v, "else", where, &node->next);
	}
	case FLOW_EMERGENCY:
		return flow_get_text(ld, v, "reminder", where, true, &node->reminder);
	case FLOW_END:
		return true;
	}
	return flow_fail(ld, "%s: unknown kind", where);
}

/* Marks nodes reachable from n. */
static void
flow_mark(const struct flow *flow, const struct flow_node *n, bool *seen)
{
	size_t i = (size_t)(n - flow->nodes);

	if (seen[i])
		return;
	seen[i] = true;
	if (n->next != NULL)
		flow_mark(flow, n->next, seen);
	for (size_t c = 0; c < n->nchoices; c++)
		if (n->choices[c].next != NULL)
			flow_mark(flow, n->choices[c].next, seen);
	for (size_t c = 0; c < n->ncases; c++)
		flow_mark(flow, n->cases[c].next, seen);
}

/* Finds a cycle through nodes that do not wait for the patient. */
static const struct flow_node *
flow_auto_cycle(const struct flow *flow, const struct flow_node *n, unsigned char *color)
{
	size_t i = (size_t)(n - flow->nodes);
	const struct flow_node *bad;

	if (n->kind != FLOW_MESSAGE && n->kind != FLOW_BRANCH)
		return NULL;
	if (color[i] == 1)
		return n;
	if (color[i] == 2)
		return NULL;
	color[i] = 1;
	if ((bad = flow_auto_cycle(flow, n->next, color)) != NULL)
		return bad;
	for (size_t c = 0; c < n->ncases; c++)
		if ((bad = flow_auto_cycle(flow, n->cases[c].next, color)) != NULL)
			return bad;
	color[i] = 2;
	return NULL;
}

static bool
flow_parse_keywords(struct flow_loader *ld, json_t *kws)
{
	static const char *const keys[] = { "stop", "start", "help", "restart", "human", "language", NULL };
	struct flow *flow = ld->flow;
	json_t *lang_kw, *v;
	const char *lang;

	if (!json_is_object(kws))
		return flow_fail(ld, "keywords: missing or not an object");
	if (!flow_check_keys(ld, kws, "keywords", keys))
		return false;
	for (size_t k = 0; keys[k] != NULL && k < 5; k++) {
		char where[64];
		struct flow_global_arg arg;

		(void)snprintf(where, sizeof where, "keywords.%s", keys[k]);
		arg.kind = (enum flow_keyword)(FLOW_KW_STOP + k);
		arg.lang = -1;
		arg.target = NULL;
		arg.where = where;
		if (json_object_get(kws, keys[k]) == NULL)
			return flow_fail(ld, "keywords: missing list '%s'", keys[k]);
		if (!flow_get_words(ld, json_object_get(kws, keys[k]), where, true, flow_add_global, &arg))
			return false;
	}
	lang_kw = json_object_get(kws, "language");
	if (lang_kw == NULL)
		return true;
	if (!json_is_object(lang_kw))
		return flow_fail(ld, "keywords.language: must map a language to its words");
	json_object_foreach(lang_kw, lang, v) {
		int li = flow_lang_index(flow, lang);
		struct flow_global_arg arg = { FLOW_KW_LANGUAGE, li, NULL, "keywords.language" };
		json_t *wrap;
		bool ok;

		if (li < 0)
			return flow_fail(ld, "keywords.language: undeclared language '%.16s'", lang);
		/* The words may be in any language: check them like a one-language map. */
		wrap = json_pack("{sO}", flow->langs[0], v);
		ok = wrap != NULL && flow_get_words(ld, wrap, "keywords.language", false, flow_add_global, &arg);
		json_decref(wrap);
		if (!ok)
			return flow_fail(ld, "keywords.language: language '%s' must be a list of words", lang);
	}
	return true;
}

struct flow_list_arg {
	const char **words; /* owned via allocs */
	size_t n, cap;
	bool single;	    /* one word each (duration units) */
	const char *where;
};

/* Adds one phrase of a slot value or unit (arg: the list). */
static bool
flow_add_list_word(struct flow_loader *ld, const char *norm, int lang, void *varg)
{
	struct flow_list_arg *arg = varg;

	(void)lang;
	if (arg->single && strchr(norm, ' ') != NULL)
		return flow_fail(ld, "%s: '%s' must be one word", arg->where, norm);
	for (size_t i = 0; i < arg->n; i++)
		if (strcmp(arg->words[i], norm) == 0)
			return true;
	if (arg->n >= arg->cap)
		return flow_fail(ld, "%s: too many words", arg->where);
	arg->words[arg->n++] = flow_strdup(ld->flow, norm);
	return true;
}

/* Parses "words": a language map of phrase lists into a list. */
static bool
flow_get_list(struct flow_loader *ld, json_t *obj, const char *where, bool single,
    const char *const **words, size_t *n)
{
	struct flow_list_arg arg = { NULL, 0, FLOW_MAX_WORDS * FLOW_MAX_LANGS, single, where };
	json_t *v = json_object_get(obj, "words");

	if (v == NULL)
		return flow_fail(ld, "%s: missing field 'words'", where);
	arg.words = flow_alloc(ld->flow, arg.cap, sizeof *arg.words);
	if (!flow_get_words(ld, v, where, true, flow_add_list_word, &arg))
		return false;
	if (arg.n == 0)
		return flow_fail(ld, "%s: field 'words' lists no word", where);
	*words = arg.words;
	*n = arg.n;
	return true;
}

/* Parses one slot: {"var", "values": [...]} or {"var", "duration": {...}}. */
static bool
flow_parse_slot(struct flow_loader *ld, json_t *v, const char *where, struct flow_slot *slot)
{
	static const char *const keys[] = { "var", "values", "duration", "note", NULL };
	static const char *const vkeys[] = { "value", "label", "words", "note", NULL };
	static const char *const dkeys[] = { "units", "one_words", "over_days", "set", "note", NULL };
	static const char *const ukeys[] = { "days", "words", "note", NULL };
	json_t *vals = json_object_get(v, "values"), *dur = json_object_get(v, "duration"), *e;
	size_t i;
	char w[160];

	if (!flow_object(ld, v, where, keys) || !flow_get_ident(ld, v, "var", where, true, &slot->var))
		return false;
	flow_note_var(ld, slot->var, true);
	if ((vals == NULL) == (dur == NULL))
		return flow_fail(ld, "%s: needs exactly one of 'values' or 'duration'", where);
	if (vals != NULL) {
		struct flow_slot_value *sv;

		if (!json_is_array(vals) || json_array_size(vals) == 0 || json_array_size(vals) > FLOW_MAX_SLOTS)
			return flow_fail(ld, "%s: field 'values' must be a list of 1-%d values", where, FLOW_MAX_SLOTS);
		sv = flow_alloc(ld->flow, json_array_size(vals), sizeof *sv);
		slot->values = sv;
		slot->nvalues = json_array_size(vals);
		json_array_foreach(vals, i, e) {
			json_t *val;

			(void)snprintf(w, sizeof w, "%s: value %zu", where, i + 1);
			if (!flow_object(ld, e, w, vkeys))
				return false;
			val = json_object_get(e, "value");
			if (!json_is_string(val) || json_string_length(val) == 0 ||
			    json_string_length(val) > FLOW_MAX_VALUE ||
			    strlen(json_string_value(val)) != json_string_length(val))
				return flow_fail(ld, "%s: field 'value' must be a string of 1-%d bytes", w, FLOW_MAX_VALUE);
			sv[i].value = json_string_value(val);
			if (!flow_get_text(ld, e, "label", w, true, &sv[i].label) ||
			    !flow_get_list(ld, e, w, false, &sv[i].words, &sv[i].nwords))
				return false;
		}
		return true;
	}
	(void)snprintf(w, sizeof w, "%s: duration", where);
	if (!flow_object(ld, dur, w, dkeys))
		return false;
	e = json_object_get(dur, "units");
	if (!json_is_array(e) || json_array_size(e) == 0 || json_array_size(e) > FLOW_MAX_SLOTS)
		return flow_fail(ld, "%s: field 'units' must be a list of 1-%d units", w, FLOW_MAX_SLOTS);
	{
		struct flow_slot_unit *su = flow_alloc(ld->flow, json_array_size(e), sizeof *su);
		json_t *u;

		slot->units = su;
		slot->nunits = json_array_size(e);
		json_array_foreach(e, i, u) {
			char uw[192];
			json_t *days;

			(void)snprintf(uw, sizeof uw, "%s: unit %zu", w, i + 1);
			if (!flow_object(ld, u, uw, ukeys))
				return false;
			days = json_object_get(u, "days");
			if (!json_is_integer(days) || json_integer_value(days) < 1 || json_integer_value(days) > 36500)
				return flow_fail(ld, "%s: field 'days' must be an integer 1-36500", uw);
			su[i].days = (int)json_integer_value(days);
			if (!flow_get_list(ld, u, uw, true, &su[i].words, &su[i].nwords))
				return false;
		}
	}
	e = json_object_get(dur, "one_words");
	if (e != NULL && !flow_get_words(ld, e, "slots: one_words", false, flow_add_set_word, &ld->flow->ones))
		return false;
	e = json_object_get(dur, "over_days");
	slot->over_days = -1;
	if (e != NULL) {
		if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > 36500)
			return flow_fail(ld, "%s: field 'over_days' must be an integer 0-36500", w);
		slot->over_days = (int)json_integer_value(e);
	}
	if ((e != NULL) != (json_object_get(dur, "set") != NULL))
		return flow_fail(ld, "%s: fields 'over_days' and 'set' go together", w);
	return flow_get_effects(ld, dur, w, &slot->over_fx);
}

/*
 * Parses "slots": what the engine reads from free text, the "Noted" line
 * that confirms it, and the negations that cancel a slot word ("no numbness").
 */
static bool
flow_parse_slots(struct flow_loader *ld, json_t *v)
{
	static const char *const keys[] = { "noted", "negations", "fields", "note", NULL };
	struct flow *flow = ld->flow;
	json_t *fields, *e;
	size_t i;

	if (!flow_object(ld, v, "slots", keys) ||
	    !flow_get_text(ld, v, "noted", "slots", true, &flow->noted))
		return false;
	for (i = 0; i < flow->nlangs; i++)
		if (strstr(flow->noted->by_lang[i], "{list}") == NULL)
			return flow_fail(ld, "slots: field 'noted': language '%s' must contain {list}", flow->langs[i]);
	e = json_object_get(v, "negations");
	if (e != NULL && !flow_get_words(ld, e, "slots: negations", false, flow_add_set_word, &flow->negations))
		return false;
	fields = json_object_get(v, "fields");
	if (!json_is_array(fields) || json_array_size(fields) == 0 || json_array_size(fields) > FLOW_MAX_SLOTS)
		return flow_fail(ld, "slots: field 'fields' must be a list of 1-%d slots", FLOW_MAX_SLOTS);
	flow->slots = flow_alloc(flow, json_array_size(fields), sizeof *flow->slots);
	json_array_foreach(fields, i, e) {
		char where[64];

		(void)snprintf(where, sizeof where, "slots: field %zu", i + 1);
		if (!flow_parse_slot(ld, e, where, &flow->slots[i]))
			return false;
		for (size_t k = 0; k < i; k++)
			if (strcmp(flow->slots[k].var, flow->slots[i].var) == 0)
				return flow_fail(ld, "%s: variable '%s' already has a slot", where, flow->slots[i].var);
		flow->nslots++;
	}
	return true;
}

/*
 * "replaces": the SHA-256 (64 lower-case hex digits) of every earlier
 * shipped version of this document. An unmodified earlier version stored in
 * a database is upgraded to this one at startup (gateway/flow_admin.c).
 */
static bool
flow_parse_replaces(struct flow_loader *ld, json_t *v)
{
	struct flow *flow = ld->flow;
	json_t *e;
	size_t i;

	if (v == NULL)
		return true;
	if (!json_is_array(v) || json_array_size(v) > FLOW_MAX_REPLACES)
		return flow_fail(ld, "document: field 'replaces' must be a list of at most %d SHA-256 hashes",
		    FLOW_MAX_REPLACES);
	flow->replaces = flow_alloc(flow, json_array_size(v) + 1, sizeof *flow->replaces);
	json_array_foreach(v, i, e) {
		const char *h = json_is_string(e) ? json_string_value(e) : "";

		if (strlen(h) != 64 || strspn(h, "0123456789abcdef") != 64)
			return flow_fail(ld, "document: field 'replaces': item %zu must be a SHA-256 in 64 "
			    "lower-case hex digits", i + 1);
		flow->replaces[flow->nreplaces++] = h;
	}
	return true;
}

static bool
flow_parse_header(struct flow_loader *ld, json_t *root)
{
	static const char *const keys[] = { "name", "version", "note", "languages", "default_language",
		"start", "emergency", "messages", "keywords", "numbers", "plain_words", "hedges", "shortcuts",
		"texts", "slots", "nodes", "replaces", NULL };
	struct flow *flow = ld->flow;
	json_t *langs = json_object_get(root, "languages"), *v, *msgs;
	size_t i;

	if (!json_is_object(root))
		return flow_fail(ld, "document: must be a JSON object");
	if (!flow_check_keys(ld, root, "document", keys) ||
	    !flow_get_ident(ld, root, "name", "document", true, &flow->name))
		return false;
	v = json_object_get(root, "version");
	if (v != NULL && !json_is_integer(v))
		return flow_fail(ld, "document: field 'version' must be an integer");
	if (!flow_parse_replaces(ld, json_object_get(root, "replaces")))
		return false;
	if (!json_is_array(langs) || json_array_size(langs) == 0 || json_array_size(langs) > FLOW_MAX_LANGS)
		return flow_fail(ld, "document: field 'languages' must list 1-%d language codes",
		    FLOW_MAX_LANGS);
	json_array_foreach(langs, i, v) {
		const char *code = json_is_string(v) ? json_string_value(v) : "";
		size_t n = strlen(code);

		if (n < 2 || n > 8 || strspn(code, "abcdefghijklmnopqrstuvwxyz-") != n)
			return flow_fail(ld, "document: language %zu must be a code like \"en\"", i + 1);
		if (flow_lang_index(flow, code) >= 0)
			return flow_fail(ld, "document: language '%s' declared twice", code);
		flow->langs[flow->nlangs++] = code;
	}
	v = json_object_get(root, "default_language");
	if (v != NULL) {
		int li = json_is_string(v) ? flow_lang_index(flow, json_string_value(v)) : -1;

		if (li < 0)
			return flow_fail(ld, "document: field 'default_language' must be a declared language");
		flow->default_lang = (size_t)li;
	}
	v = json_object_get(root, "texts");
	if (v != NULL) {
		const char *key;
		json_t *t;

		if (!json_is_object(v) || json_object_size(v) > FLOW_MAX_TEXTS)
			return flow_fail(ld, "texts: must be an object of at most %d texts", FLOW_MAX_TEXTS);
		flow->texts = flow_alloc(flow, json_object_size(v), sizeof *flow->texts);
		json_object_foreach(v, key, t) {
			char where[96];
			const struct flow_text *txt;

			(void)snprintf(where, sizeof where, "texts '%.64s'", key);
			if (!flow_is_ident(key))
				return flow_fail(ld, "%s: name must be 1-%d characters of a-z, 0-9, _", where,
				    FLOW_MAX_VALUE);
			if (json_is_string(t))
				return flow_fail(ld, "%s: must be a language map", where);
			if (!flow_get_text(ld, v, key, where, true, &txt))
				return false;
			flow->texts[flow->ntexts].name = key;
			flow->texts[flow->ntexts++].text = (struct flow_text *)txt;
		}
	}
	msgs = json_object_get(root, "messages");
	if (!json_is_object(msgs))
		return flow_fail(ld, "messages: missing or not an object");
	{
		const char *mkeys[FLOW_MSG_COUNT + 2];

		for (i = 0; i < FLOW_MSG_COUNT; i++)
			mkeys[i] = flow_message_names[i];
		mkeys[FLOW_MSG_COUNT] = "note";
		mkeys[FLOW_MSG_COUNT + 1] = NULL;
		if (!flow_check_keys(ld, msgs, "messages", mkeys))
			return false;
	}
	for (i = 0; i < FLOW_MSG_COUNT; i++)
		if (!flow_get_text(ld, msgs, flow_message_names[i], "messages", true, &flow->messages[i]))
			return false;
	if (!flow_parse_keywords(ld, json_object_get(root, "keywords")))
		return false;
	v = json_object_get(root, "numbers");
	if (v != NULL && !flow_get_words(ld, v, "numbers", false, flow_add_number, NULL))
		return false;
	for (size_t l = 0; l < flow->nlangs; l++)
		if (flow->nnumbers[l] > FLOW_MAX_CHOICES)
			return flow_fail(ld, "numbers: language '%s' has more than %d words", flow->langs[l],
			    FLOW_MAX_CHOICES);
	v = json_object_get(root, "plain_words");
	if (v != NULL && !flow_get_words(ld, v, "plain_words", false, flow_add_set_word, &flow->plain_words))
		return false;
	v = json_object_get(root, "hedges");
	if (v != NULL && !flow_get_words(ld, v, "hedges", false, flow_add_set_word, &flow->hedges))
		return false;
	v = json_object_get(root, "slots");
	if (v != NULL && !flow_parse_slots(ld, v))
		return false;
	return true;
}

static bool
flow_parse_nodes(struct flow_loader *ld, json_t *root)
{
	struct flow *flow = ld->flow;
	json_t *nodes = json_object_get(root, "nodes"), *v, *sc;
	size_t i;

	if (!json_is_array(nodes) || json_array_size(nodes) == 0 ||
	    json_array_size(nodes) > FLOW_MAX_NODES)
		return flow_fail(ld, "nodes: must be a list of 1-%d nodes", FLOW_MAX_NODES);
	flow->nodes = flow_alloc(flow, json_array_size(nodes), sizeof *flow->nodes);
	json_array_foreach(nodes, i, v) {
		char where[64];
		const char *id, *kind;
		size_t k;

		(void)snprintf(where, sizeof where, "node %zu", i + 1);
		if (!json_is_object(v))
			return flow_fail(ld, "%s: must be an object", where);
		if (!flow_get_ident(ld, v, "id", where, true, &id))
			return false;
		(void)snprintf(where, sizeof where, "node '%s'", id);
		if (flow_find_node(flow, id) != NULL)
			return flow_fail(ld, "%s: duplicate id", where);
		kind = json_is_string(json_object_get(v, "kind")) ?
		    json_string_value(json_object_get(v, "kind")) : NULL;
		if (kind == NULL)
			return flow_fail(ld, "%s: missing field 'kind'", where);
		for (k = 0; k < FLOW_NELEM(flow_node_kind_names); k++)
			if (strcmp(kind, flow_node_kind_names[k]) == 0)
				break;
		if (k == FLOW_NELEM(flow_node_kind_names))
			return flow_fail(ld, "%s: unknown kind '%.32s'", where, kind);
		flow->nodes[flow->nnodes].id = id;
		flow->nodes[flow->nnodes++].kind = (enum flow_node_kind)k;
	}
	json_array_foreach(nodes, i, v)
		if (!flow_parse_node(ld, v, &flow->nodes[i]))
			return false;
	json_array_foreach(nodes, i, v) {
		json_t *from = json_object_get(v, "choices_from");
		const struct flow_node *src;

		if (flow->nodes[i].kind != FLOW_QUESTION || from == NULL)
			continue;
		src = json_is_string(from) ? flow_find_node(flow, json_string_value(from)) : NULL;
		if (src == NULL)
			return flow_fail(ld, "node '%s': field 'choices_from' names unknown node '%.64s'",
			    flow->nodes[i].id, json_is_string(from) ? json_string_value(from) : "?");
		if (src->kind != FLOW_QUESTION || json_object_get(json_array_get(nodes,
		    (size_t)(src - flow->nodes)), "choices") == NULL)
			return flow_fail(ld, "node '%s': field 'choices_from' must name a question with its own choices",
			    flow->nodes[i].id);
		if (src->multi)
			return flow_fail(ld, "node '%s': field 'choices_from' cannot name the multi question '%s'",
			    flow->nodes[i].id, src->id);
		flow->nodes[i].choices = src->choices;
		flow->nodes[i].nchoices = src->nchoices;
	}
	if (!flow_get_link(ld, root, "start", "document", &flow->start) ||
	    !flow_get_link(ld, root, "emergency", "document", &flow->emergency))
		return false;
	if (flow->emergency->kind != FLOW_EMERGENCY)
		return flow_fail(ld, "document: field 'emergency' must name an emergency node, not '%s'",
		    flow->emergency->id);
	if (flow->start->kind == FLOW_EMERGENCY || flow->start->kind == FLOW_END)
		return flow_fail(ld, "document: field 'start' cannot be the %s node '%s'",
		    flow_node_kind_name(flow->start->kind), flow->start->id);
	sc = json_object_get(root, "shortcuts");
	if (sc != NULL) {
		if (!json_is_array(sc) || json_array_size(sc) > FLOW_MAX_SHORTCUTS)
			return flow_fail(ld, "shortcuts: must be a list of at most %d shortcuts",
			    FLOW_MAX_SHORTCUTS);
		json_array_foreach(sc, i, v) {
			static const char *const keys[] = { "keywords", "goto", "note", NULL };
			char where[64];
			struct flow_global_arg arg = { FLOW_KW_GOTO, -1, NULL, NULL };

			(void)snprintf(where, sizeof where, "shortcut %zu", i + 1);
			arg.where = where;
			if (!flow_object(ld, v, where, keys) ||
			    !flow_get_link(ld, v, "goto", where, &arg.target))
				return false;
			if (json_object_get(v, "keywords") == NULL)
				return flow_fail(ld, "%s: missing field 'keywords'", where);
			if (!flow_get_words(ld, json_object_get(v, "keywords"), where, true, flow_add_global,
			    &arg))
				return false;
		}
	}
	return true;
}

/* Choice keywords were checked against globals as they were parsed, but
 * shortcuts come later: check again now that every global word is known. */
static bool
flow_check_graph(struct flow_loader *ld)
{
	struct flow *flow = ld->flow;
	bool *seen = xcalloc(flow->nnodes, sizeof *seen);
	unsigned char *color = xcalloc(flow->nnodes, 1);
	const struct flow_node *bad = NULL;
	bool ok = true;

	flow_mark(flow, flow->start, seen);
	flow_mark(flow, flow->emergency, seen);
	for (size_t i = 0; i < flow->nwords; i++)
		if (flow->words[i].target != NULL)
			flow_mark(flow, flow->words[i].target, seen);
	for (size_t i = 0; i < flow->nnodes && ok; i++)
		if ((bad = flow_auto_cycle(flow, &flow->nodes[i], color)) != NULL)
			ok = flow_fail(ld, "node '%s': part of a cycle of message/branch nodes that never waits for a reply",
			    bad->id);
	for (size_t i = 0; i < flow->nnodes && ok; i++)
		if (!seen[i])
			ok = flow_fail(ld, "node '%s': unreachable from start", flow->nodes[i].id);
	for (size_t i = 0; i < flow->nnodes && ok; i++)
		for (size_t c = 0; c < flow->nodes[i].nchoices && ok; c++)
			for (size_t k = 0; k < flow->nodes[i].choices[c].nkeywords && ok; k++) {
				const char *w = flow->nodes[i].choices[c].keywords[k];

				for (size_t g = 0; g < flow->nwords && ok; g++)
					if (strcmp(flow->words[g].norm, w) == 0 && flow->words[g].kind != FLOW_KW_START &&
					    flow->words[g].kind != FLOW_KW_STOP)
						ok = flow_fail(ld, "node '%s': choice %zu: keyword '%s' is shadowed by the global keyword '%s'",
						    flow->nodes[i].id, c + 1, w, flow_keyword_name(flow->words[g].kind));
			}
	for (size_t r = 0; r + 1 < ld->nvars_read && ok; r += 2) {
		size_t s;

		for (s = 0; s < ld->nvars_set; s++)
			if (strcmp(ld->vars_set[s], ld->vars_read[r]) == 0)
				break;
		if (s == ld->nvars_set)
			ok = flow_fail(ld, "%s: reads variable '%s' that no node sets", ld->vars_read[r + 1],
			    ld->vars_read[r]);
	}
	free(seen);
	free(color);
	return ok;
}

/* Parses and validates a flow document; NULL and *cause (caller frees) on error. */
struct flow *
flow_load(const char *json_text, size_t len, char **cause)
{
	struct flow_loader ld;
	json_error_t err;
	json_t *root;

	*cause = NULL;
	memset(&ld, 0, sizeof ld);
	if (json_text == NULL || len == 0) {
		*cause = xstrdup("document: empty");
		return NULL;
	}
	if (len > FLOW_MAX_DOC) {
		*cause = xasprintf("document: larger than %u bytes", FLOW_MAX_DOC);
		return NULL;
	}
	root = json_loadb(json_text, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		*cause = xasprintf("document: JSON error at line %d column %d: %s", err.line,
		    err.column, err.text);
		return NULL;
	}
	ld.flow = xcalloc(1, sizeof *ld.flow);
	ld.flow->doc = root;
	if (!flow_parse_header(&ld, root) || !flow_parse_nodes(&ld, root) || !flow_check_graph(&ld)) {
		flow_free(ld.flow);
		*cause = ld.cause != NULL ? ld.cause : xstrdup("document: invalid");
		return NULL;
	}
	return ld.flow;
}

/* Frees a flow and everything borrowed from it (NULL ok). */
void
flow_free(struct flow *flow)
{
	if (flow == NULL)
		return;
	for (size_t i = 0; i < flow->nallocs; i++)
		free(flow->allocs[i]);
	free(flow->allocs);
	json_decref(flow->doc);
	free(flow);
}

/* Returns the flow's name ("back_pain"). */
const char *
flow_name(const struct flow *flow)
{
	return flow->name;
}

/* Returns the number of declared languages (1..FLOW_MAX_LANGS). */
size_t
flow_nlangs(const struct flow *flow)
{
	return flow->nlangs;
}

/* Returns the code of language i ("en"). */
const char *
flow_lang(const struct flow *flow, size_t i)
{
	return i < flow->nlangs ? flow->langs[i] : flow->langs[flow->default_lang];
}

/* Returns the index of a language code, or -1 when the flow does not declare it. */
int
flow_lang_index(const struct flow *flow, const char *code)
{
	if (code == NULL)
		return -1;
	for (size_t i = 0; i < flow->nlangs; i++)
		if (strcmp(flow->langs[i], code) == 0)
			return (int)i;
	return -1;
}

/* Returns the index of the default language. */
size_t
flow_default_lang(const struct flow *flow)
{
	return flow->default_lang;
}

/* Returns the first node of a conversation. */
const struct flow_node *
flow_start(const struct flow *flow)
{
	return flow->start;
}

/* Returns the node red flags lead to (kind FLOW_EMERGENCY). */
const struct flow_node *
flow_emergency(const struct flow *flow)
{
	return flow->emergency;
}

/* Returns the node with this id, or NULL. */
const struct flow_node *
flow_node_find(const struct flow *flow, const char *id)
{
	return id == NULL ? NULL : flow_find_node(flow, id);
}

/* Returns a system message. */
const struct flow_text *
flow_message(const struct flow *flow, enum flow_message msg)
{
	return flow->messages[msg];
}

/* Matches a normalized message against the global keywords. */
struct flow_keyword_hit
flow_keyword_match(const struct flow *flow, const char *norm)
{
	struct flow_keyword_hit hit = { FLOW_KW_NONE, -1, NULL };

	for (size_t i = 0; i < flow->nwords; i++)
		if (strcmp(flow->words[i].norm, norm) == 0) {
			hit.kind = flow->words[i].kind;
			hit.lang = flow->words[i].lang;
			hit.target = flow->words[i].target;
			break;
		}
	return hit;
}

/* Is the word (len bytes, normalized) on the flow's list of ordinary words? */
bool
flow_plain_word(const struct flow *flow, const char *word, size_t len)
{
	return flow_wordset_has(&flow->plain_words, word, len);
}

/* Is the word (len bytes, normalized) one of the flow's hedges ("but", "sure")? */
bool
flow_hedge_word(const struct flow *flow, const char *word, size_t len)
{
	return flow_wordset_has(&flow->hedges, word, len);
}

/* Returns 1..n when norm is a number word ("one", "uno"), else 0. */
int
flow_number_word(const struct flow *flow, const char *norm)
{
	for (size_t l = 0; l < flow->nlangs; l++)
		for (size_t i = 0; i < flow->nnumbers[l]; i++)
			if (strcmp(flow->numbers[l][i], norm) == 0)
				return (int)i + 1;
	return 0;
}

char *
flow_message_json(const struct flow *flow, enum flow_message msg)
{
	const struct flow_text *text = flow_message(flow, msg);
	json_t *map = json_object();
	char *out;

	for (size_t i = 0; i < flow_nlangs(flow); i++)
		json_object_set_new(map, flow_lang(flow, i), json_string(text->by_lang[i]));
	out = json_dumps(map, JSON_COMPACT);
	json_decref(map);
	return out;
}

/* Returns the slots, *n of them; NULL/0 when the flow has none. */
const struct flow_slot *
flow_slots(const struct flow *flow, size_t *n)
{
	*n = flow->nslots;
	return flow->slots;
}

/* Returns the "Noted: {list}." text, or NULL without slots. */
const struct flow_text *
flow_slots_noted(const struct flow *flow)
{
	return flow->noted;
}

/* Is the word (len bytes, normalized) a negation for slot words? */
bool
flow_negation_word(const struct flow *flow, const char *word, size_t len)
{
	return flow_wordset_has(&flow->negations, word, len);
}

/* Returns the days of a duration unit word, or 0. */
int
flow_duration_unit(const struct flow *flow, const char *word, size_t len)
{
	for (size_t s = 0; s < flow->nslots; s++)
		for (size_t u = 0; u < flow->slots[s].nunits; u++)
			for (size_t w = 0; w < flow->slots[s].units[u].nwords; w++)
				if (strlen(flow->slots[s].units[u].words[w]) == len &&
				    memcmp(flow->slots[s].units[u].words[w], word, len) == 0)
					return flow->slots[s].units[u].days;
	return 0;
}

/* Is the word (len bytes, normalized) a duration's "one" ("a week")? */
bool
flow_duration_one(const struct flow *flow, const char *word, size_t len)
{
	return flow_wordset_has(&flow->ones, word, len);
}

bool
flow_replaces(const struct flow *flow, const char *sha256)
{
	for (size_t i = 0; sha256 != NULL && i < flow->nreplaces; i++)
		if (strcmp(flow->replaces[i], sha256) == 0)
			return true;
	return false;
}
