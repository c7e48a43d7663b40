/*
 * redflag_load.c - compiles sql/triage/phrases.json into the tables the
 * red-flag scanner (redflag.c) walks, and frees them.
 *
 * Why: the phrase data belongs to clinicians and is edited by hand, so the
 * loader validates every key and phrase and names the bad entry in *cause;
 * the daemon refuses to start on an invalid file rather than triage with a
 * half-read list. Compilation interns every phrase word once, turns phrases
 * into element runs (words, concepts, numbers, gaps) and indexes top-level
 * patterns by their first word so a scan tries only plausible patterns.
 * See docs/clinical-content.md for the format.
 */
#define _POSIX_C_SOURCE 200809L
#include "redflag.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redflag_priv.h"
#include "xmalloc.h"

#define RF_CUE_NAME(name, text) text,
static const char *const rf_cue_names[] = { RF_CUES(RF_CUE_NAME) };
#undef RF_CUE_NAME

static void *
rf_grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return p;
	*cap = *cap ? *cap * 2 : 64;
	if (*cap < need)
		*cap = need;
	return xreallocarray(p, *cap, size);
}

/* Normalises a phrase fragment into words; returns the count, or -1. */
static int
rf_phrase_words(const char *s, char words[][RF_WORD_MAX], int max)
{
	size_t pos = 0, src, len = strlen(s), wlen;
	char w[RF_WORD_MAX];
	unsigned ev;
	int n = 0;

	while ((wlen = rf_next_word(s, len, &pos, w, &src, &ev)) > 0) {
		if (n >= max || wlen >= RF_WORD_MAX)
			return -1;
		memcpy(words[n++], w, wlen + 1);
	}
	return n;
}

/* Normalises s into word, the one word it must be; false if it is not. */
static bool
rf_one_word(const char *s, char word[RF_WORD_MAX])
{
	char words[1][RF_WORD_MAX];

	if (rf_phrase_words(s, words, 1) != 1)
		return false;
	strcpy(word, words[0]);
	return true;
}

/* Whether s is a concept or rule name: lower-case letters, digits and _. */
static bool
rf_is_name(const char *s)
{
	const char *p;

	for (p = s; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_'))
			return false;
	}
	return s[0] != '\0';
}

/* The index of the concept called name, or r->nconcept if there is none. */
static size_t
rf_concept_find(const struct redflag_rules *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nconcept; i++) {
		if (strcmp(r->concepts[i].name, name) == 0)
			break;
	}
	return i;
}

/* FNV-1a of a vocabulary word and its marks. */
static uint32_t
rf_vocab_hash(const char *w, bool prefix, bool exact, bool loose)
{
	uint32_t h = 2166136261u ^ (uint32_t)(prefix | exact << 1 | loose << 2);

	for (; *w != '\0'; w++)
		h = (h ^ (unsigned char)*w) * 16777619u;
	return h;
}

/* The slot of w's entry in the vocab index, or the empty slot it would take. */
static size_t
rf_vocab_slot(const struct redflag_rules *r, const char *w, bool prefix, bool exact, bool loose)
{
	size_t mask = r->vocab_nslots - 1, s = rf_vocab_hash(w, prefix, exact, loose) & mask;
	const struct rf_vocab *v;

	for (; r->vocab_slots[s] != 0; s = (s + 1) & mask) {
		v = &r->vocab[r->vocab_slots[s] - 1];
		if (v->prefix == prefix && v->exact == exact && v->loose == loose && strcmp(v->text, w) == 0)
			break;
	}
	return s;
}

/* Doubles the vocab index (at least 1024 slots) and enters every word again. */
static void
rf_vocab_index_grow(struct redflag_rules *r)
{
	const struct rf_vocab *v;
	size_t i;

	free(r->vocab_slots);
	r->vocab_nslots = r->vocab_nslots ? r->vocab_nslots * 2 : 1024;
	r->vocab_slots = xcalloc(r->vocab_nslots, sizeof(*r->vocab_slots));
	for (i = 0; i < r->nvocab; i++) {
		v = &r->vocab[i];
		r->vocab_slots[rf_vocab_slot(r, v->text, v->prefix, v->exact, v->loose)] = (uint32_t)i + 1;
	}
}

/*
 * The id of word w with its marks, added to the vocab if new. Ids follow
 * first use. Hashed: a linear search here was half of a gateway's start.
 */
static uint16_t
rf_intern(struct redflag_rules *r, const char *w, bool prefix, bool exact,
    bool loose)
{
	struct rf_vocab *v;
	size_t slot;

	if (2 * (r->nvocab + 1) > r->vocab_nslots)
		rf_vocab_index_grow(r);
	slot = rf_vocab_slot(r, w, prefix, exact, loose);
	if (r->vocab_slots[slot] != 0)
		return (uint16_t)(r->vocab_slots[slot] - 1);
	r->vocab_slots[slot] = (uint32_t)r->nvocab + 1;
	r->vocab = rf_grow(r->vocab, &r->vocab_cap, r->nvocab + 1,
	    sizeof(*r->vocab));
	v = &r->vocab[r->nvocab];
	memset(v, 0, sizeof(*v));
	strcpy(v->text, w);
	v->len = (uint8_t)strlen(w);
	v->sqlen = (uint8_t)rf_squeeze(w, v->sq);
	v->prefix = prefix;
	v->exact = exact;
	v->loose = loose;
	return (uint16_t)r->nvocab++;
}

static struct rf_elem *
rf_new_elem(struct redflag_rules *r, uint8_t kind)
{
	struct rf_elem *e;

	r->elems = rf_grow(r->elems, &r->elem_cap, r->nelem + 1,
	    sizeof(*r->elems));
	e = &r->elems[r->nelem++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	return e;
}

static void
rf_push_id(struct redflag_rules *r, uint16_t id)
{
	r->idpool = rf_grow(r->idpool, &r->id_cap, r->nid + 1,
	    sizeof(*r->idpool));
	r->idpool[r->nid++] = id;
}

/* Compiles one alternative set "a|b*|=c" (or a multi-word literal). */
static bool
rf_compile_words(struct redflag_rules *r, char *piece, const char *src,
    uint8_t kind, char **cause)
{
	char words[RF_MAX_ELEMS][RF_WORD_MAX];
	char *alt, *save = NULL;
	struct rf_elem *e;
	bool prefix, exact, loose, several = strchr(piece, '|') != NULL;
	size_t alen, k, nconc = 0;
	uint16_t conc[16];
	int n, i;
	uint32_t first = (uint32_t)r->nid;

	for (alt = strtok_r(piece, "|", &save); alt != NULL;
	    alt = strtok_r(NULL, "|", &save)) {
		if (alt[0] == '@') {
			k = rf_concept_find(r, alt + 1);
			if (kind == RF_OWN_CONCEPT || k == r->nconcept ||
			    nconc == sizeof(conc) / sizeof(conc[0])) {
				*cause = xasprintf("phrase \"%s\": unknown or "
				    "disallowed concept \"%s\"", src, alt);
				return false;
			}
			conc[nconc++] = (uint16_t)k;
			continue;
		}
		if (several && (alt[0] == '#' || strncmp(alt, "...", 3) == 0)) {
			*cause = xasprintf("phrase \"%s\": \"%s\" cannot be an "
			    "alternative (numbers and gaps stand alone)", src, alt);
			return false;
		}
		exact = alt[0] == '=';
		alt += exact;
		loose = !exact && alt[0] == '~';
		alt += loose;
		alen = strlen(alt);
		prefix = alen > 0 && alt[alen - 1] == '*';
		if (prefix)
			alt[alen - 1] = '\0';
		n = rf_phrase_words(alt, words, RF_MAX_ELEMS);
		if (n <= 0 || (n > 1 && several)) {
			*cause = xasprintf("phrase \"%s\": bad word \"%s\" (use "
			    "letters and digits; write multi-word alternatives "
			    "as a concept)", src, alt);
			return false;
		}
		for (i = 0; i < n; i++) {
			if (rf_abbrev_find(r, words[i]) != NULL) {
				*cause = xasprintf("phrase \"%s\": \"%s\" is an "
				    "abbreviation and is expanded before matching; "
				    "write the full word", src, words[i]);
				return false;
			}
		}
		if (!several && n > 1) {
			for (i = 0; i < n; i++) {
				e = rf_new_elem(r, RF_ELEM_WORDS);
				e->arg = (uint32_t)r->nid;
				e->n = 1;
				rf_push_id(r, rf_intern(r, words[i],
				    prefix && i == n - 1, exact, loose));
			}
			return true;
		}
		rf_push_id(r, rf_intern(r, words[0], prefix, exact, loose));
	}
	if (r->nid == first && nconc == 0) {
		*cause = xasprintf("phrase \"%s\": empty alternative", src);
		return false;
	}
	n = (int)(r->nid - first);
	for (k = 0; k < nconc; k++)
		rf_push_id(r, conc[k]);
	e = rf_new_elem(r, RF_ELEM_WORDS);
	e->arg = first;
	e->n = (uint16_t)n;
	e->carg = first + (uint32_t)n;
	e->nconc = (uint16_t)nconc;
	return true;
}

/*
 * Compiles a number element: "#" (any number), "#>=N" (at least N), "#<M"
 * (below M) or "#>=N<M"; N and M may have one decimal ("#>=100.4"). "#."
 * instead of "#" asks for a number written with a decimal point ("38.5").
 */
static bool
rf_compile_number(struct redflag_rules *r, const char *piece, const char *src,
    char **cause)
{
	const char *p = piece + 1;
	struct rf_elem *e;
	uint32_t lo = 0, hi = UINT32_MAX;
	bool ok = true, decimal = false;

	if (*p == '.') {
		decimal = true;
		p++;
	}
	if (strncmp(p, ">=", 2) == 0) {
		p += 2;
		ok = *p >= '0' && *p <= '9';
		if (ok)
			lo = (uint32_t)rf_parse_tenths(p, &p);
	}
	if (ok && *p == '<') {
		p++;
		ok = *p >= '0' && *p <= '9';
		if (ok)
			hi = (uint32_t)rf_parse_tenths(p, &p);
	}
	if (!ok || *p != '\0' || lo > 10000000 || lo >= hi) {
		*cause = xasprintf("phrase \"%s\": number \"%s\" must be #, "
		    "#>=N, #<M or #>=N<M, or #. for a decimal (N < M, one "
		    "decimal at most)", src, piece);
		return false;
	}
	e = rf_new_elem(r, RF_ELEM_NUMBER);
	e->arg = lo;
	e->carg = hi;
	e->n = decimal;
	return true;
}

static bool
rf_compile_pattern(struct redflag_rules *r, const char *src, uint8_t kind,
    uint16_t owner, char **cause)
{
	struct rf_pattern *p;
	struct rf_elem *e;
	char *copy, *piece, *save = NULL, *endp;
	size_t first = r->nelem, i;
	long v;
	bool ok = true;

	copy = xstrdup(src);
	for (piece = strtok_r(copy, " \t\n", &save); piece != NULL && ok;
	    piece = strtok_r(NULL, " \t\n", &save)) {
		if (strncmp(piece, "...", 3) == 0) {
			v = piece[3] ? strtol(piece + 3, &endp, 10) : 3;
			if ((piece[3] && *endp != '\0') || v < 1 || v > RF_MAX_GAP) {
				*cause = xasprintf("phrase \"%s\": gap \"%s\" must be "
				    "... or ...N with N from 1 to %d", src, piece,
				    RF_MAX_GAP);
				ok = false;
				break;
			}
			e = rf_new_elem(r, RF_ELEM_GAP);
			e->n = (uint16_t)v;
		} else if (piece[0] == '@' && strchr(piece, '|') == NULL) {
			if (kind == RF_OWN_CONCEPT) {
				*cause = xasprintf("concept entry \"%s\" may not use "
				    "another concept", src);
				ok = false;
				break;
			}
			i = rf_concept_find(r, piece + 1);
			if (i == r->nconcept) {
				*cause = xasprintf("phrase \"%s\": unknown concept "
				    "\"%s\"", src, piece);
				ok = false;
				break;
			}
			e = rf_new_elem(r, RF_ELEM_CONCEPT);
			e->arg = (uint32_t)i;
		} else if (piece[0] == '#') {
			if (!rf_compile_number(r, piece, src, cause)) {
				ok = false;
				break;
			}
		} else {
			ok = rf_compile_words(r, piece, src, kind, cause);
		}
	}
	free(copy);
	if (!ok)
		return false;
	if (r->nelem == first || r->nelem - first > RF_MAX_ELEMS ||
	    r->elems[first].kind == RF_ELEM_GAP ||
	    r->elems[r->nelem - 1].kind == RF_ELEM_GAP) {
		*cause = xasprintf("phrase \"%s\": must have 1 to %d parts and "
		    "may not start or end with a gap", src, RF_MAX_ELEMS);
		return false;
	}
	r->pats = rf_grow(r->pats, &r->pat_cap, r->npat + 1, sizeof(*r->pats));
	p = &r->pats[r->npat++];
	p->first = (uint32_t)first;
	p->nelem = (uint16_t)(r->nelem - first);
	p->owner_kind = kind;
	p->owner = owner;
	return true;
}

/* Compiles a JSON array of phrase strings into the pattern range first, n. */
static bool
rf_compile_list(struct redflag_rules *r, json_t *arr, const char *what,
    uint8_t kind, uint16_t owner, uint32_t *first, uint32_t *n, char **cause)
{
	json_t *item;
	size_t i;

	*first = (uint32_t)r->npat;
	*n = 0;
	if (arr == NULL)
		return true;
	if (!json_is_array(arr)) {
		*cause = xasprintf("%s: must be an array of strings", what);
		return false;
	}
	json_array_foreach(arr, i, item) {
		if (!json_is_string(item)) {
			*cause = xasprintf("%s[%zu]: must be a string", what, i);
			return false;
		}
		if (!rf_compile_pattern(r, json_string_value(item), kind, owner,
		    cause))
			return false;
	}
	*n = (uint32_t)(r->npat - *first);
	return true;
}

static bool
rf_load_abbrevs(struct redflag_rules *r, json_t *obj, char **cause)
{
	const char *key;
	json_t *val;
	struct rf_abbrev *ab;
	int n;

	r->abbrevs = xcalloc(json_object_size(obj) + 1, sizeof(*r->abbrevs));
	json_object_foreach(obj, key, val) {
		ab = &r->abbrevs[r->nabbrev];
		if (!rf_one_word(key, ab->key) || !json_is_string(val) ||
		    (n = rf_phrase_words(json_string_value(val), ab->words,
		    RF_MAX_ABBREV_WORDS)) < 1) {
			*cause = xasprintf("abbreviations: \"%s\" must be one word "
			    "mapped to 1 to %d words", key, RF_MAX_ABBREV_WORDS);
			return false;
		}
		ab->nwords = (uint8_t)n;
		r->nabbrev++;
	}
	qsort(r->abbrevs, r->nabbrev, sizeof(*r->abbrevs), rf_key_cmp);
	return true;
}

static bool
rf_load_numbers(struct redflag_rules *r, json_t *obj, char **cause)
{
	const char *key;
	json_t *val;
	struct rf_number *num;

	r->numbers = xcalloc(json_object_size(obj) + 1, sizeof(*r->numbers));
	json_object_foreach(obj, key, val) {
		num = &r->numbers[r->nnumber];
		if (!rf_one_word(key, num->key) || !json_is_integer(val) ||
		    json_integer_value(val) < 0 ||
		    json_integer_value(val) > 1000000) {
			*cause = xasprintf("numbers: \"%s\" must be one word mapped "
			    "to an integer 0..1000000", key);
			return false;
		}
		num->value = (int32_t)json_integer_value(val);
		r->nnumber++;
	}
	qsort(r->numbers, r->nnumber, sizeof(*r->numbers), rf_key_cmp);
	return true;
}

static bool
rf_load_nofuzzy(struct redflag_rules *r, json_t *arr, char **cause)
{
	json_t *item;
	size_t i;

	r->nofuzzy = xcalloc(json_array_size(arr) + 1, sizeof(*r->nofuzzy));
	json_array_foreach(arr, i, item) {
		if (!json_is_string(item) ||
		    !rf_one_word(json_string_value(item), r->nofuzzy[r->nnofuzzy])) {
			*cause = xasprintf("no_fuzzy[%zu]: must be one word", i);
			return false;
		}
		r->nnofuzzy++;
	}
	qsort(r->nofuzzy, r->nnofuzzy, sizeof(*r->nofuzzy), rf_key_cmp);
	return true;
}

/* The "settings" keys: the int field of struct redflag_rules each sets. */
static const struct {
	const char *name;
	size_t off;
	int min, max, def;
} rf_settings[] = {
	{ "negation_window", offsetof(struct redflag_rules, neg_window), 1, 12, 5 },
	{ "hypothetical_window", offsetof(struct redflag_rules, hypo_window), 1, 16, 8 },
	{ "fuzzy_min_len_1", offsetof(struct redflag_rules, fuzzy1), 3, 99, 6 },
	{ "fuzzy_min_len_2", offsetof(struct redflag_rules, fuzzy2), 4, 99, 9 },
};

/* Sets every setting to its default, for a file without "settings". */
static void
rf_settings_default(struct redflag_rules *r)
{
	size_t i;

	for (i = 0; i < sizeof(rf_settings) / sizeof(rf_settings[0]); i++)
		*(int *)((char *)r + rf_settings[i].off) = rf_settings[i].def;
}

static bool
rf_load_settings(struct redflag_rules *r, json_t *obj, char **cause)
{
	const char *key;
	json_t *val;
	size_t i;

	json_object_foreach(obj, key, val) {
		for (i = 0; i < sizeof(rf_settings) / sizeof(rf_settings[0]); i++) {
			if (strcmp(key, rf_settings[i].name) == 0)
				break;
		}
		if (key[0] == '_')
			continue;
		if (i == sizeof(rf_settings) / sizeof(rf_settings[0]) ||
		    !json_is_integer(val) ||
		    json_integer_value(val) < rf_settings[i].min ||
		    json_integer_value(val) > rf_settings[i].max) {
			*cause = xasprintf("settings: unknown key or bad value "
			    "\"%s\"", key);
			return false;
		}
		*(int *)((char *)r + rf_settings[i].off) =
		    (int)json_integer_value(val);
	}
	return true;
}

static bool
rf_load_concepts(struct redflag_rules *r, json_t *obj, char **cause)
{
	const char *key;
	json_t *val;
	struct rf_concept *c;
	char what[96];

	r->concepts = xcalloc(json_object_size(obj) + 1, sizeof(*r->concepts));
	json_object_foreach(obj, key, val) {
		if (key[0] == '_')
			continue;
		if (!rf_is_name(key)) {
			*cause = xasprintf("concepts: name \"%s\" must be "
			    "lower-case letters, digits and _", key);
			return false;
		}
		c = &r->concepts[r->nconcept];
		c->name = xstrdup(key);
		r->nconcept++;
		snprintf(what, sizeof(what), "concepts.%.64s", key);
		if (!rf_compile_list(r, val, what, RF_OWN_CONCEPT, 0, &c->first,
		    &c->n, cause))
			return false;
		if (c->n == 0) {
			*cause = xasprintf("%s: must not be empty", what);
			return false;
		}
	}
	return true;
}

static bool
rf_load_cues(struct redflag_rules *r, json_t *obj, char **cause)
{
	const char *key;
	json_t *val;
	size_t i;
	char what[96];

	json_object_foreach(obj, key, val) {
		if (key[0] == '_')
			continue;
		for (i = 0; i < RF_CUE_COUNT; i++) {
			if (strcmp(key, rf_cue_names[i]) == 0)
				break;
		}
		if (i == RF_CUE_COUNT) {
			*cause = xasprintf("cues: unknown cue class \"%s\"", key);
			return false;
		}
		snprintf(what, sizeof(what), "cues.%s", key);
		if (!rf_compile_list(r, val, what, RF_OWN_CUE, (uint16_t)i,
		    &r->cue_first[i], &r->cue_n[i], cause))
			return false;
	}
	return true;
}

static bool
rf_load_benign(struct redflag_rules *r, json_t *arr, char **cause)
{
	uint32_t first, n;

	return rf_compile_list(r, arr, "benign", RF_OWN_BENIGN, 0, &first, &n,
	    cause);
}

typedef bool rf_section_load_cb(struct redflag_rules *, json_t *, char **);

/*
 * The top-level sections besides "version" and "rules", loaded in this
 * order: phrases are checked against the abbreviations and may use the
 * concepts, so those come first. Each loader gets a value of its section's
 * type; an optional section may be absent.
 */
static const struct rf_section {
	const char *key;
	json_type type;		/* JSON_OBJECT or JSON_ARRAY */
	const char *shape;	/* what *cause says a bad value must be */
	bool required;
	rf_section_load_cb *load;
} rf_sections[] = {
	{ "settings", JSON_OBJECT, "an object", false, rf_load_settings },
	{ "numbers", JSON_OBJECT, "an object", false, rf_load_numbers },
	{ "abbreviations", JSON_OBJECT, "an object", false, rf_load_abbrevs },
	{ "no_fuzzy", JSON_ARRAY, "an array of words", false, rf_load_nofuzzy },
	{ "concepts", JSON_OBJECT, "an object", false, rf_load_concepts },
	{ "cues", JSON_OBJECT, "an object", true, rf_load_cues },
	{ "benign", JSON_ARRAY, "an array of strings", false, rf_load_benign },
};

#define RF_NSECTIONS (sizeof(rf_sections) / sizeof(rf_sections[0]))

/* Loads root's section s; an optional one may be absent. */
static bool
rf_load_section(struct redflag_rules *r, json_t *root,
    const struct rf_section *s, char **cause)
{
	json_t *val = json_object_get(root, s->key);

	if (val == NULL && !s->required)
		return true;
	if (val == NULL || json_typeof(val) != s->type) {
		*cause = xasprintf("%s: must be %s", s->key, s->shape);
		return false;
	}
	return s->load(r, val, cause);
}

/* Whether key may stand at the top level of phrases.json. */
static bool
rf_top_key_known(const char *key)
{
	size_t i;

	if (strcmp(key, "version") == 0 || strcmp(key, "rules") == 0)
		return true;
	for (i = 0; i < RF_NSECTIONS; i++) {
		if (strcmp(key, rf_sections[i].key) == 0)
			return true;
	}
	return false;
}

static bool
rf_load_rule(struct redflag_rules *r, json_t *obj, size_t idx, char **cause)
{
	struct rf_rule *rule = &r->rules[idx];
	const char *key, *id;
	json_t *val, *lang;
	uint32_t f, n;
	size_t i;
	char what[128];

	if (!json_is_object(obj)) {
		*cause = xasprintf("rules[%zu]: must be an object", idx);
		return false;
	}
	id = json_string_value(json_object_get(obj, "id"));
	if (id == NULL || id[0] == '\0') {
		*cause = xasprintf("rules[%zu]: missing \"id\"", idx);
		return false;
	}
	if (!rf_is_name(id)) {
		*cause = xasprintf("rules[%zu]: id \"%s\" must be "
		    "lower-case letters, digits and _", idx, id);
		return false;
	}
	for (i = 0; i < idx; i++) {
		if (strcmp(r->rules[i].id, id) == 0) {
			*cause = xasprintf("rules[%zu]: duplicate id \"%s\"", idx, id);
			return false;
		}
	}
	rule->id = xstrdup(id);
	r->nrules = idx + 1;
	json_object_foreach(obj, key, val) {
		if (key[0] == '_' || strcmp(key, "id") == 0 ||
		    strcmp(key, "title") == 0 || strcmp(key, "article") == 0 ||
		    strcmp(key, "patterns") == 0 || strcmp(key, "unless") == 0 ||
		    strcmp(key, "episode_ok") == 0)
			continue;
		if (strcmp(key, "level") == 0) {
			if (!json_is_string(val) ||
			    !triage_level_parse(json_string_value(val), &rule->level) ||
			    rule->level == TRIAGE_NONE) {
				*cause = xasprintf("rule %s: level must be "
				    "\"emergency\" or \"see_doctor\"", id);
				return false;
			}
			continue;
		}
		if (strcmp(key, "history_ok") == 0 && json_is_boolean(val)) {
			rule->history_ok = json_is_true(val);
			continue;
		}
		*cause = xasprintf("rule %s: unknown or bad key \"%s\"", id, key);
		return false;
	}
	if (rule->level == TRIAGE_NONE) {
		*cause = xasprintf("rule %s: missing \"level\"", id);
		return false;
	}
	if (!json_is_string(json_object_get(obj, "article"))) {
		*cause = xasprintf("rule %s: missing \"article\" (the clinical "
		    "fact the rule rests on)", id);
		return false;
	}
	val = json_object_get(obj, "patterns");
	if (!json_is_object(val)) {
		*cause = xasprintf("rule %s: \"patterns\" must be an object of "
		    "language -> array", id);
		return false;
	}
	rule->first = (uint32_t)r->npat;
	json_object_foreach(val, key, lang) {
		snprintf(what, sizeof(what), "rule %.48s patterns.%.16s", id, key);
		if (!rf_compile_list(r, lang, what, RF_OWN_RULE, (uint16_t)idx, &f,
		    &n, cause))
			return false;
	}
	rule->n = (uint32_t)(r->npat - rule->first);
	if (rule->n == 0) {
		*cause = xasprintf("rule %s: no patterns", id);
		return false;
	}
	snprintf(what, sizeof(what), "rule %.48s unless", id);
	if (!rf_compile_list(r, json_object_get(obj, "unless"), what,
	    RF_OWN_UNLESS, (uint16_t)idx, &rule->ufirst, &rule->un, cause))
		return false;
	/* matched on demand inside a hit, like "unless" */
	snprintf(what, sizeof(what), "rule %.48s episode_ok", id);
	return rf_compile_list(r, json_object_get(obj, "episode_ok"), what,
	    RF_OWN_UNLESS, (uint16_t)idx, &rule->efirst, &rule->en, cause);
}

struct rf_pair {
	uint32_t id, pat;
};

static int
rf_pair_cmp(const void *a, const void *b)
{
	const struct rf_pair *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->pat < y->pat ? -1 : (x->pat > y->pat);
}

static void
rf_add_start(struct rf_pair **pairs, size_t *n, size_t *cap,
    struct redflag_rules *r, const struct rf_elem *e, uint32_t pat)
{
	const struct rf_concept *c;
	size_t k, i;

	if (e->kind == RF_ELEM_WORDS) {
		for (i = 0; i < e->n; i++) {
			*pairs = rf_grow(*pairs, cap, *n + 1, sizeof(**pairs));
			(*pairs)[*n].id = r->idpool[e->arg + i];
			(*pairs)[(*n)++].pat = pat;
		}
		for (i = 0; i < e->nconc; i++) {
			c = &r->concepts[r->idpool[e->carg + i]];
			for (k = 0; k < c->n; k++)
				rf_add_start(pairs, n, cap, r,
				    &r->elems[r->pats[c->first + k].first], pat);
		}
	} else if (e->kind == RF_ELEM_NUMBER) {
		*pairs = rf_grow(*pairs, cap, *n + 1, sizeof(**pairs));
		(*pairs)[*n].id = UINT32_MAX;
		(*pairs)[(*n)++].pat = pat;
	} else if (e->kind == RF_ELEM_CONCEPT) {
		c = &r->concepts[e->arg];
		for (k = 0; k < c->n; k++)
			rf_add_start(pairs, n, cap, r,
			    &r->elems[r->pats[c->first + k].first], pat);
	}
}

/* Builds the vocabulary buckets and the first-word pattern index. */
static void
rf_build_index(struct redflag_rules *r)
{
	struct rf_pair *pairs = NULL;
	size_t n = 0, cap = 0, i, k, c;
	uint32_t counts[38] = { 0 }, fill[38];
	int b;

	for (i = 0; i < r->nvocab; i++)
		counts[rf_bucket(r->vocab[i].text[0]) + 1]++;
	for (b = 1; b < 38; b++)
		counts[b] += counts[b - 1];
	memcpy(r->bucket_off, counts, sizeof(counts));
	memcpy(fill, counts, sizeof(counts));
	r->bucket_ids = xcalloc(r->nvocab + 1, sizeof(*r->bucket_ids));
	for (i = 0; i < r->nvocab; i++)
		r->bucket_ids[fill[rf_bucket(r->vocab[i].text[0])]++] = (uint16_t)i;

	for (i = 0; i < r->npat; i++) {
		if (r->pats[i].owner_kind == RF_OWN_CONCEPT ||
		    r->pats[i].owner_kind == RF_OWN_UNLESS)
			continue;
		rf_add_start(&pairs, &n, &cap, r, &r->elems[r->pats[i].first],
		    (uint32_t)i);
	}
	if (n > 0)
		qsort(pairs, n, sizeof(*pairs), rf_pair_cmp);
	r->start_off = xcalloc(r->nvocab + 2, sizeof(*r->start_off));
	r->start_pats = xcalloc(n + 1, sizeof(*r->start_pats));
	r->num_start = xcalloc(n + 1, sizeof(*r->num_start));
	for (i = 0, k = 0; i < n; i++) {
		if (i > 0 && pairs[i].id == pairs[i - 1].id &&
		    pairs[i].pat == pairs[i - 1].pat)
			continue;
		if (pairs[i].id == UINT32_MAX) {
			r->num_start[r->nnum_start++] = pairs[i].pat;
			continue;
		}
		r->start_off[pairs[i].id + 1]++;
		r->start_pats[k++] = pairs[i].pat;
	}
	for (i = 1; i <= r->nvocab; i++)
		r->start_off[i] += r->start_off[i - 1];

	/* which words can start an entry of each concept */
	r->conc_words = r->nvocab / 64 + 1;
	r->conc_first = xcalloc(r->nconcept * r->conc_words + 1,
	    sizeof(*r->conc_first));
	r->conc_num = xcalloc(r->nconcept + 1, sizeof(*r->conc_num));
	for (c = 0; c < r->nconcept; c++) {
		n = 0;
		for (k = 0; k < r->concepts[c].n; k++)
			rf_add_start(&pairs, &n, &cap, r, &r->elems[r->pats[
			    r->concepts[c].first + k].first], 0);
		for (i = 0; i < n; i++) {
			if (pairs[i].id == UINT32_MAX)
				r->conc_num[c] = true;
			else
				r->conc_first[c * r->conc_words + pairs[i].id / 64] |=
				    UINT64_C(1) << (pairs[i].id % 64);
		}
	}
	free(pairs);
}

/* Compiles phrases.json; see docs/clinical-content.md for the format. */
struct redflag_rules *
redflag_rules_load(const char *json_text, size_t len, char **cause)
{
	struct redflag_rules *r;
	json_t *root, *rules, *val;
	json_error_t err;
	const char *key;
	size_t i;
	bool ok = false;

	*cause = NULL;
	root = json_loadb(json_text, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		*cause = xasprintf("phrases: JSON error line %d column %d: %s",
		    err.line, err.column, err.text);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	if (!json_is_object(root)) {
		*cause = xstrdup("phrases: top level must be an object");
		goto out;
	}
	json_object_foreach(root, key, val) {
		if (!rf_top_key_known(key) && key[0] != '_') {
			*cause = xasprintf("phrases: unknown key \"%s\"", key);
			goto out;
		}
	}
	if (json_integer_value(json_object_get(root, "version")) != 1) {
		*cause = xstrdup("phrases: \"version\" must be 1");
		goto out;
	}
	rules = json_object_get(root, "rules");
	if (!json_is_array(rules) || json_array_size(rules) == 0 ||
	    json_array_size(rules) > RF_MAX_RULES) {
		*cause = xasprintf("phrases: \"rules\" must be an array of 1 to "
		    "%d rules", RF_MAX_RULES);
		goto out;
	}
	rf_settings_default(r);
	for (i = 0; i < RF_NSECTIONS; i++) {
		if (!rf_load_section(r, root, &rf_sections[i], cause))
			goto out;
	}
	json_array_foreach(rules, i, val) {
		if (!rf_load_rule(r, val, i, cause))
			goto out;
	}
	if (r->nvocab >= UINT16_MAX) {
		*cause = xstrdup("phrases: too many distinct words");
		goto out;
	}
	rf_build_index(r);
	ok = true;
out:
	json_decref(root);
	free(r->vocab_slots);
	r->vocab_slots = NULL;
	if (!ok) {
		redflag_rules_free(r);
		return NULL;
	}
	return r;
}

/* Frees everything the rules own; NULL is a no-op. */
void
redflag_rules_free(struct redflag_rules *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nconcept; i++)
		free(r->concepts[i].name);
	for (i = 0; i < r->nrules; i++)
		free(r->rules[i].id);
	free(r->concepts);
	free(r->vocab);
	free(r->idpool);
	free(r->elems);
	free(r->pats);
	free(r->abbrevs);
	free(r->numbers);
	free(r->nofuzzy);
	free(r->bucket_ids);
	free(r->start_off);
	free(r->start_pats);
	free(r->num_start);
	free(r->conc_first);
	free(r->conc_num);
	free(r);
}

/* Number of compiled rules. */
size_t
redflag_rules_count(const struct redflag_rules *r)
{
	return r == NULL ? 0 : r->nrules;
}

/* Id of rule i, borrowed from the rules. */
const char *
redflag_rule_id(const struct redflag_rules *r, size_t i)
{
	return (r == NULL || i >= r->nrules) ? NULL : r->rules[i].id;
}

/* Level of rule i. */
enum triage_level
redflag_rule_level(const struct redflag_rules *r, size_t i)
{
	return (r == NULL || i >= r->nrules) ? TRIAGE_NONE : r->rules[i].level;
}
