/*
 * redflag.c - red-flag / triage matcher for inbound SMS.
 *
 * Why: every inbound text must be checked for the emergency signs listed in
 * the clinical article (sql/triage/phrases.json cites each one) before any
 * dialogue logic runs. Clinicians own the phrase list, so this file holds no
 * medical vocabulary at all: it is a small phrase-pattern engine and the
 * context rules (negation, other people, the past, hypotheticals) that keep
 * "no chest pain" or "my dad had a fever" from raising an alarm.
 *
 * DESIGN
 * - Normalisation: UTF-8 is folded to ASCII (lang_fold_next), apostrophes
 *   vanish ("can't" -> "cant"), runs of 3+ equal letters shrink to 2
 *   ("dizzzy" -> "dizzy"), SMS abbreviations from the data are expanded
 *   ("bc" -> "because") and "3wks" splits into "3" "wks". Each token also
 *   keeps a squeezed form with every doubled letter collapsed ("bladdr" and
 *   "bladder" both start "blad"), used for words of 4+ letters.
 * - Word matching: exact, prefix ("vomit*"), or within edit distance 1
 *   (2 for long words) with the same first letter; the data lists real words
 *   that must never be read as typos ("never" is not "fever").
 * - Patterns are word sequences with alternatives, concepts (@limb), numbers
 *   (#>=2) and bounded gaps (...3). A pattern never spans a sentence
 *   boundary or a scope break such as "but".
 * - Context: a match is dropped when a negation cue precedes it in its clause
 *   (other symptoms and "or"/"and" do not count towards the window, so
 *   "no fever, chills or vomiting" negates all three), when it follows a
 *   hypothetical cue, when a third person is its subject, or when its clause
 *   is about the past or resolved (unless the rule is about duration).
 * - Cost: one scan uses a fixed stack buffer of RF_MAX_TOKENS tokens and no
 *   heap; longer texts are processed in overlapping windows. Patterns are
 *   indexed by their first word so each token tries only plausible patterns.
 */
#define _POSIX_C_SOURCE 200809L
#include "redflag.h"

#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"
#include "xmalloc.h"

#define RF_WORD_MAX 24      /* token text incl. NUL; longer words never match */
#define RF_MAX_TOKENS 256   /* tokens per scan window */
#define RF_OVERLAP 32       /* tokens re-read by the next window */
#define RF_MAX_IDS 12       /* vocabulary hits kept per token */
#define RF_MAX_RULES 64     /* rules per file (fired set is a 64-bit mask) */
#define RF_MAX_ELEMS 24     /* elements per pattern */
#define RF_MAX_GAP 8        /* largest "...N" */
#define RF_MAX_HITS 256     /* raw rule matches kept per window */
#define RF_MAX_ABBREV_WORDS 4
#define RF_NOMATCH SIZE_MAX

enum rf_elem_kind {
	RF_ELEM_WORDS,      /* one token among idpool[arg .. arg+n), or
	                       an entry of one of nconc concepts */
	RF_ELEM_CONCEPT,    /* any entry of concepts[arg] */
	RF_ELEM_NUMBER,     /* one number token with value >= arg */
	RF_ELEM_GAP,        /* 0..n arbitrary tokens */
};

enum rf_owner {
	RF_OWN_CONCEPT,     /* entry of a concept */
	RF_OWN_RULE,        /* rule pattern; owner = rule index */
	RF_OWN_UNLESS,      /* rule exclusion; owner = rule index */
	RF_OWN_CUE,         /* context cue; owner = enum rf_cue */
	RF_OWN_BENIGN,      /* benign phrase that masks its words */
};

#define RF_CUES(X)                                                            \
	X(RF_CUE_NEGATION, "negation")                                        \
	X(RF_CUE_NEGATION_EXC, "negation_exceptions")                         \
	X(RF_CUE_BREAK, "scope_breaks")                                       \
	X(RF_CUE_SOFT_BREAK, "soft_breaks")                                   \
	X(RF_CUE_COORD, "coordinators")                                       \
	X(RF_CUE_RESTART, "clause_restarts")                                  \
	X(RF_CUE_FIRST, "first_person")                                       \
	X(RF_CUE_THIRD, "third_party")                                        \
	X(RF_CUE_PAST, "past")                                                \
	X(RF_CUE_PAST_EXC, "past_exceptions")                                 \
	X(RF_CUE_RESOLVED, "resolved")                                        \
	X(RF_CUE_CURRENT, "current")                                          \
	X(RF_CUE_RECUR, "recurrence")                                         \
	X(RF_CUE_HYPO, "hypothetical")

#define RF_CUE_ENUM(name, text) name,
enum rf_cue { RF_CUES(RF_CUE_ENUM) RF_CUE_COUNT };
#undef RF_CUE_ENUM
#define RF_CUE_NAME(name, text) text,
static const char *const rf_cue_names[] = { RF_CUES(RF_CUE_NAME) };
#undef RF_CUE_NAME

#define RF_F(cue) (1u << (cue))
/* end a clause for context rules; only hard ones also stop pattern gaps */
#define RF_F_BREAKS (RF_F(RF_CUE_BREAK) | RF_F(RF_CUE_SOFT_BREAK))
#define RF_F_BENIGN (1u << 20)   /* inside a benign phrase */
#define RF_F_SYMPTOM (1u << 21)  /* inside some raw rule match */
#define RF_F_COMMA (1u << 22)    /* a comma follows this token */
#define RF_F_NOFUZZY (1u << 23)  /* a real word: exact matches only */

struct rf_elem {
	uint8_t kind;       /* enum rf_elem_kind */
	uint16_t n;         /* id count (WORDS) or max tokens (GAP) */
	uint16_t nconc;     /* WORDS: concept alternatives ("a|@c") */
	uint32_t arg;       /* see enum rf_elem_kind */
	uint32_t carg;      /* WORDS: concept indices at idpool[carg..) */
};

struct rf_pattern {
	uint32_t first;     /* index into elems */
	uint16_t nelem;
	uint8_t owner_kind; /* enum rf_owner */
	uint16_t owner;
};

struct rf_vocab {
	char text[RF_WORD_MAX]; /* normalised word */
	char sq[RF_WORD_MAX];   /* with doubled letters collapsed */
	uint8_t len, sqlen;
	bool prefix;            /* written "word*" */
	bool exact;             /* written "=word": no typo tolerance */
};

struct rf_concept {
	char *name;         /* owned */
	uint32_t first, n;  /* patterns */
};

struct rf_rule {
	char *id;           /* owned; reasons[] borrow it */
	enum triage_level level;
	bool history_ok;    /* past-time cues do not cancel it (duration) */
	uint32_t first, n;  /* patterns */
	uint32_t ufirst, un; /* "unless" patterns */
};

struct rf_abbrev {
	char key[RF_WORD_MAX];
	uint8_t nwords;
	char words[RF_MAX_ABBREV_WORDS][RF_WORD_MAX];
};

struct rf_number {
	char key[RF_WORD_MAX];
	int32_t value;
};

struct redflag_rules {
	struct rf_vocab *vocab;
	size_t nvocab, vocab_cap;
	uint16_t *idpool;
	size_t nid, id_cap;
	struct rf_elem *elems;
	size_t nelem, elem_cap;
	struct rf_pattern *pats;
	size_t npat, pat_cap;
	struct rf_concept *concepts;
	size_t nconcept;
	struct rf_rule rules[RF_MAX_RULES];
	size_t nrules;
	uint32_t cue_first[RF_CUE_COUNT], cue_n[RF_CUE_COUNT];
	struct rf_abbrev *abbrevs;       /* sorted by key */
	size_t nabbrev;
	struct rf_number *numbers;       /* sorted by key */
	size_t nnumber;
	char (*nofuzzy)[RF_WORD_MAX];    /* sorted */
	size_t nnofuzzy;
	uint32_t bucket_off[38];         /* vocab ids by first character */
	uint16_t *bucket_ids;
	uint32_t *start_off;             /* nvocab+1 offsets into start_pats */
	uint32_t *start_pats;            /* top-level patterns by first word */
	uint32_t *num_start;             /* patterns starting with a number */
	size_t nnum_start;
	int neg_window, hypo_window, fuzzy1, fuzzy2;
};

struct rf_token {
	char text[RF_WORD_MAX];
	char sq[RF_WORD_MAX];
	uint8_t len, sqlen, nids;
	uint16_t ids[RF_MAX_IDS];
	uint32_t flags;
	size_t src;         /* byte offset of the source word */
	int32_t num;        /* numeric value, -1 if not a number */
	uint16_t sent;      /* sentence number */
	uint16_t send;      /* index one past the last token of the sentence */
	uint16_t sstart;    /* index of the first token of the sentence */
};

struct rf_hit {
	uint16_t rule, start, end;
};

struct rf_scan {
	struct rf_token tok[RF_MAX_TOKENS];
	size_t ntok;
	uint16_t sent;
	struct rf_hit hits[RF_MAX_HITS];
	size_t nhits;
	uint64_t fired;
	int best_rule;
	char matched[sizeof(((struct redflag_result *)0)->matched)];
};

/* ---- normalisation shared by the loader and the scanner ---- */

#define RF_EV_BOUNDARY 1u   /* a sentence boundary precedes the word */
#define RF_EV_COMMA 2u      /* a comma precedes the word */

/*
 * Reads the next word starting at *pos into word (NUL-terminated,
 * normalised). Returns its full length (may exceed RF_WORD_MAX - 1, then the
 * buffer holds a prefix), 0 at the end of input. *src gets the byte offset of
 * the word, *events what separated it from the previous word.
 */
static size_t
rf_next_word(const char *s, size_t len, size_t *pos, char *word,
    size_t *src, unsigned *events)
{
	size_t wlen = 0, before;
	int c, prev = 0;
	bool acc;

	*events = 0;
	while (*pos < len) {
		before = *pos;
		c = lang_fold_next(s, len, pos, &acc);
		if (c == LANG_FOLD_IGNORE)
			continue;
		if (c == LANG_FOLD_APOS) {
			if (wlen > 0)
				continue;
			c = ' ';
		}
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (c == '/' && wlen == 1 && prev >= 'a' && prev <= 'z')) {
			if (wlen == 0)
				*src = before;
			/* keep at most two equal letters in a row */
			if (wlen >= 2 && c >= 'a' && c <= 'z' &&
			    wlen < RF_WORD_MAX && word[wlen - 1] == c &&
			    word[wlen - 2] == c)
				continue;
			if (wlen < RF_WORD_MAX - 1)
				word[wlen] = (char)c;
			wlen++;
			prev = c;
			continue;
		}
		if (c == '.' && prev >= '0' && prev <= '9' && *pos < len &&
		    s[*pos] >= '0' && s[*pos] <= '9')
			c = ' ';       /* decimal point, not a full stop */
		if (wlen > 0) {
			/* put the separator back so the next call sees it */
			*pos = before;
			break;
		}
		if (c == '.' || c == '!' || c == '?' || c == ';' || c == '\n' ||
		    c == LANG_FOLD_OPENER)
			*events |= RF_EV_BOUNDARY;
		else if (c == ',')
			*events |= RF_EV_COMMA;
	}
	word[wlen < RF_WORD_MAX - 1 ? wlen : RF_WORD_MAX - 1] = '\0';
	return wlen;
}

/* Collapses every run of equal letters to one; digits are kept as is. */
static size_t
rf_squeeze(const char *in, char *out)
{
	size_t i, n = 0;

	for (i = 0; in[i] != '\0'; i++) {
		if (n > 0 && in[i] == out[n - 1] && in[i] >= 'a' && in[i] <= 'z')
			continue;
		out[n++] = in[i];
	}
	out[n] = '\0';
	return n;
}

/* Optimal string alignment distance, giving up above max. */
static int
rf_osa(const char *a, size_t la, const char *b, size_t lb, int max)
{
	int d[RF_WORD_MAX + 1][RF_WORD_MAX + 1];
	size_t i, j;
	int v, rowmin;

	if (la >= RF_WORD_MAX || lb >= RF_WORD_MAX)
		return max + 1;
	if ((la > lb ? la - lb : lb - la) > (size_t)max)
		return max + 1;
	for (i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (i = 1; i <= la; i++) {
		rowmin = INT_MAX;
		for (j = 1; j <= lb; j++) {
			v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
			if (v < rowmin)
				rowmin = v;
		}
		if (rowmin > max)
			return max + 1;
	}
	return d[la][lb];
}

static int
rf_bucket(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '0' && c <= '9')
		return 26 + (c - '0');
	return 36;
}

static int
rf_key_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static const struct rf_abbrev *
rf_abbrev_find(const struct redflag_rules *r, const char *w)
{
	if (r->nabbrev == 0)
		return NULL;
	return bsearch(w, r->abbrevs, r->nabbrev, sizeof(*r->abbrevs),
	    rf_key_cmp);
}

static bool
rf_vocab_match(const struct redflag_rules *r, const struct rf_token *t,
    const struct rf_vocab *v)
{
	int d;
	size_t k;

	if (v->prefix) {
		if (t->len >= v->len && memcmp(t->text, v->text, v->len) == 0)
			return true;
		if (v->sqlen >= 4 && t->sqlen >= v->sqlen &&
		    memcmp(t->sq, v->sq, v->sqlen) == 0)
			return true;
		if (v->exact || (t->flags & RF_F_NOFUZZY) || t->num >= 0 ||
		    v->sqlen < r->fuzzy1 || t->sqlen < 4)
			return false;
		for (k = v->sqlen - 1; k <= (size_t)v->sqlen + 1; k++) {
			if (k <= t->sqlen && rf_osa(t->sq, k, v->sq, v->sqlen, 1) <= 1)
				return true;
		}
		return false;
	}
	if (t->len == v->len && memcmp(t->text, v->text, v->len) == 0)
		return true;
	if (v->sqlen >= 4 && t->sqlen == v->sqlen && !(t->flags & RF_F_NOFUZZY) &&
	    memcmp(t->sq, v->sq, v->sqlen) == 0)
		return true;
	if (v->exact || (t->flags & RF_F_NOFUZZY) || t->num >= 0 || t->sqlen < 4)
		return false;
	/* two edits only between two long words: "breathe" is not "breathless" */
	d = (v->sqlen >= r->fuzzy2 && t->sqlen + 1 >= r->fuzzy2) ? 2 :
	    (v->sqlen >= r->fuzzy1 ? 1 : 0);
	if (d == 0)
		return false;
	return rf_osa(t->sq, t->sqlen, v->sq, v->sqlen, d) <= d;
}

/* Appends one normalised word as a token of the scan window. */
static void
rf_push_token(const struct redflag_rules *r, struct rf_scan *sc,
    const char *w, size_t src, unsigned *events)
{
	struct rf_token *t;
	const struct rf_number *num;
	size_t i, len = strlen(w);
	uint32_t b, e;
	const char *p;

	if (sc->ntok >= RF_MAX_TOKENS)
		return;
	t = &sc->tok[sc->ntok];
	memset(t, 0, sizeof(*t));
	if (*events & RF_EV_BOUNDARY)
		sc->sent++;
	if ((*events & RF_EV_COMMA) && sc->ntok > 0)
		sc->tok[sc->ntok - 1].flags |= RF_F_COMMA;
	*events = 0;
	sc->ntok++;
	t->sent = sc->sent;
	t->src = src;
	t->num = -1;
	if (len == 0 || len >= RF_WORD_MAX)
		return;     /* an over-long word: keeps its place, matches nothing */
	memcpy(t->text, w, len + 1);
	t->len = (uint8_t)len;
	t->sqlen = (uint8_t)rf_squeeze(t->text, t->sq);
	for (p = t->text; *p >= '0' && *p <= '9'; p++)
		;
	if (*p == '\0') {
		t->num = 0;
		for (p = t->text; *p != '\0' && t->num < 1000000; p++)
			t->num = t->num * 10 + (*p - '0');
	} else if (r->nnumber > 0 && (num = bsearch(t->text, r->numbers,
	    r->nnumber, sizeof(*r->numbers), rf_key_cmp)) != NULL) {
		t->num = num->value;
	}
	if (r->nnofuzzy > 0 && bsearch(t->text, r->nofuzzy, r->nnofuzzy,
	    sizeof(*r->nofuzzy), rf_key_cmp) != NULL)
		t->flags |= RF_F_NOFUZZY;
	i = (size_t)rf_bucket(t->text[0]);
	b = r->bucket_off[i];
	e = r->bucket_off[i + 1];
	for (; b < e && t->nids < RF_MAX_IDS; b++) {
		if (rf_vocab_match(r, t, &r->vocab[r->bucket_ids[b]]))
			t->ids[t->nids++] = r->bucket_ids[b];
	}
}

/* Expands abbreviations and splits "3wks" before pushing tokens. */
static void
rf_push_word(const struct redflag_rules *r, struct rf_scan *sc,
    const char *w, size_t wlen, size_t src, unsigned *events)
{
	const struct rf_abbrev *ab;
	char part[RF_WORD_MAX], sq[RF_WORD_MAX];
	size_t i, start, n;
	bool digit;

	if (wlen >= RF_WORD_MAX) {
		rf_push_token(r, sc, "", src, events);
		return;
	}
	ab = rf_abbrev_find(r, w);
	if (ab == NULL) {
		rf_squeeze(w, sq);
		ab = rf_abbrev_find(r, sq);
	}
	if (ab != NULL) {
		for (i = 0; i < ab->nwords; i++)
			rf_push_token(r, sc, ab->words[i], src, events);
		return;
	}
	if (wlen > 2 && w[1] == '/') {
		/* "w/pain": the reader keeps "x/" together for "w/", "b/c" */
		memcpy(part, w, 2);
		part[2] = '\0';
		rf_push_word(r, sc, part, 2, src, events);
		rf_push_word(r, sc, w + 2, wlen - 2, src, events);
		return;
	}
	if (wlen == 2 && w[1] == '/') {
		part[0] = w[0];
		part[1] = '\0';
		rf_push_word(r, sc, part, 1, src, events);
		return;
	}
	for (start = 0; start < wlen; start = i) {
		digit = w[start] >= '0' && w[start] <= '9';
		for (i = start; i < wlen &&
		    ((w[i] >= '0' && w[i] <= '9') == digit); i++)
			;
		if (start == 0 && i == wlen) {
			rf_push_token(r, sc, w, src, events);
			return;
		}
		n = i - start;
		memcpy(part, w + start, n);
		part[n] = '\0';
		ab = rf_abbrev_find(r, part);
		if (ab != NULL) {
			size_t k;

			for (k = 0; k < ab->nwords; k++)
				rf_push_token(r, sc, ab->words[k], src, events);
		} else if (part[0] != '/') {
			rf_push_token(r, sc, part, src, events);
		}
	}
}

/* ---- pattern matching ---- */

static bool
rf_cue_active(const struct rf_token *t, enum rf_cue cue, enum rf_cue exc)
{
	return (t->flags & RF_F(cue)) && !(t->flags & RF_F(exc));
}

static bool
rf_token_has(const struct rf_token *t, const uint16_t *ids, size_t n)
{
	size_t i, j;

	for (i = 0; i < t->nids; i++) {
		for (j = 0; j < n; j++) {
			if (t->ids[i] == ids[j])
				return true;
		}
	}
	return false;
}

static size_t rf_match(const struct redflag_rules *, const struct rf_scan *,
    const struct rf_elem *, size_t, size_t, size_t, uint32_t);

/* Matches one entry of concept ci at pos, then the elements e[0..ne). */
static size_t
rf_match_concept(const struct redflag_rules *r, const struct rf_scan *sc,
    uint32_t ci, const struct rf_elem *e, size_t ne, size_t pos, size_t end,
    uint32_t forbid)
{
	const struct rf_concept *c = &r->concepts[ci];
	const struct rf_pattern *p;
	size_t k, mid, res;

	for (k = 0; k < c->n; k++) {
		p = &r->pats[c->first + k];
		mid = rf_match(r, sc, r->elems + p->first, p->nelem, pos, end,
		    forbid);
		if (mid == RF_NOMATCH || mid == pos)
			continue;
		res = rf_match(r, sc, e, ne, mid, end, forbid);
		if (res != RF_NOMATCH)
			return res;
	}
	return RF_NOMATCH;
}

/* Matches elements e[0..ne) at token pos; returns the end index or RF_NOMATCH. */
static size_t
rf_match(const struct redflag_rules *r, const struct rf_scan *sc,
    const struct rf_elem *e, size_t ne, size_t pos, size_t end,
    uint32_t forbid)
{
	size_t k, res;

	if (ne == 0)
		return pos;
	switch (e->kind) {
	case RF_ELEM_WORDS:
		if (pos < end && !(sc->tok[pos].flags & forbid) &&
		    rf_token_has(&sc->tok[pos], r->idpool + e->arg, e->n)) {
			res = rf_match(r, sc, e + 1, ne - 1, pos + 1, end, forbid);
			if (res != RF_NOMATCH)
				return res;
		}
		for (k = 0; k < e->nconc; k++) {
			res = rf_match_concept(r, sc, r->idpool[e->carg + k], e + 1,
			    ne - 1, pos, end, forbid);
			if (res != RF_NOMATCH)
				return res;
		}
		return RF_NOMATCH;
	case RF_ELEM_NUMBER:
		if (pos >= end || (sc->tok[pos].flags & forbid) ||
		    sc->tok[pos].num < (int32_t)e->arg)
			return RF_NOMATCH;
		return rf_match(r, sc, e + 1, ne - 1, pos + 1, end, forbid);
	case RF_ELEM_GAP:
		for (k = 0; k <= e->n && pos + k <= end; k++) {
			/* a gap may not swallow "but", nor a negation as in
			 * "legs are not weak" */
			if (k > 0 && ((sc->tok[pos + k - 1].flags &
			    RF_F(RF_CUE_BREAK)) ||
			    rf_cue_active(&sc->tok[pos + k - 1], RF_CUE_NEGATION,
			    RF_CUE_NEGATION_EXC)))
				break;
			res = rf_match(r, sc, e + 1, ne - 1, pos + k, end, forbid);
			if (res != RF_NOMATCH)
				return res;
		}
		return RF_NOMATCH;
	case RF_ELEM_CONCEPT:
		return rf_match_concept(r, sc, e->arg, e + 1, ne - 1, pos, end,
		    forbid);
	default:
		return RF_NOMATCH;
	}
}

static size_t
rf_match_pattern(const struct redflag_rules *r, const struct rf_scan *sc,
    const struct rf_pattern *p, size_t pos, uint32_t forbid)
{
	return rf_match(r, sc, r->elems + p->first, p->nelem, pos,
	    sc->tok[pos].send, forbid);
}

static void
rf_mark(struct rf_scan *sc, size_t start, size_t end, uint32_t flag)
{
	for (; start < end; start++)
		sc->tok[start].flags |= flag;
}

static void
rf_record_hit(struct rf_scan *sc, uint16_t rule, size_t start, size_t end)
{
	size_t i;

	for (i = 0; i < sc->nhits; i++) {
		if (sc->hits[i].rule == rule && sc->hits[i].start == start)
			return;
	}
	if (sc->nhits < RF_MAX_HITS) {
		sc->hits[sc->nhits].rule = rule;
		sc->hits[sc->nhits].start = (uint16_t)start;
		sc->hits[sc->nhits].end = (uint16_t)end;
		sc->nhits++;
	}
}

/* Runs every top-level pattern of one owner kind that can start at pos. */
static void
rf_pass_at(const struct redflag_rules *r, struct rf_scan *sc, size_t pos,
    uint8_t kind)
{
	const struct rf_token *t = &sc->tok[pos];
	const struct rf_pattern *p;
	const uint32_t *list;
	size_t i, j, n, end;
	uint32_t forbid = kind == RF_OWN_RULE ? RF_F_BENIGN : 0;

	for (i = 0; i <= t->nids; i++) {
		if (i < t->nids) {
			list = r->start_pats + r->start_off[t->ids[i]];
			n = r->start_off[t->ids[i] + 1] - r->start_off[t->ids[i]];
		} else if (t->num >= 0) {
			list = r->num_start;
			n = r->nnum_start;
		} else {
			break;
		}
		for (j = 0; j < n; j++) {
			p = &r->pats[list[j]];
			if (p->owner_kind != kind)
				continue;
			end = rf_match_pattern(r, sc, p, pos, forbid);
			if (end == RF_NOMATCH || end == pos)
				continue;
			if (kind == RF_OWN_BENIGN)
				rf_mark(sc, pos, end, RF_F_BENIGN);
			else if (kind == RF_OWN_CUE)
				rf_mark(sc, pos, end, RF_F(p->owner));
			else {
				rf_mark(sc, pos, end, RF_F_SYMPTOM);
				rf_record_hit(sc, p->owner, pos, end);
			}
		}
	}
}

/* ---- context rules ---- */

static bool
rf_negated(const struct redflag_rules *r, const struct rf_scan *sc,
    size_t start)
{
	const struct rf_token *t;
	size_t j, ss = sc->tok[start].sstart;
	int count = 0;

	for (j = start; j > ss; j--) {
		t = &sc->tok[j - 1];
		if (t->flags & RF_F_BREAKS)
			return false;
		if (t->flags & RF_F_SYMPTOM)
			continue;
		if (rf_cue_active(t, RF_CUE_NEGATION, RF_CUE_NEGATION_EXC))
			return !(t->flags & RF_F_COMMA);  /* "no, I can't pee" */
		/* "never had this before, can't pee": a comma after a word that
		 * is not a symptom ends the negated clause; one after a symptom
		 * ("no fever, chills or vomiting") continues a list */
		if ((t->flags & RF_F_COMMA) && !(t->flags & RF_F(RF_CUE_COORD)))
			return false;
		/* a new subject ends the negation, unless it is the negated
		 * verb itself ("no tengo", "no me siento") */
		if ((t->flags & RF_F(RF_CUE_RESTART)) && !(j >= ss + 2 &&
		    rf_cue_active(&sc->tok[j - 2], RF_CUE_NEGATION,
		    RF_CUE_NEGATION_EXC)) && !(j >= ss + 3 &&
		    rf_cue_active(&sc->tok[j - 3], RF_CUE_NEGATION,
		    RF_CUE_NEGATION_EXC)))
			return false;
		if (t->flags & RF_F(RF_CUE_COORD))
			continue;
		if (++count > r->neg_window)
			return false;
	}
	return false;
}

static bool
rf_hypothetical(const struct redflag_rules *r, const struct rf_scan *sc,
    size_t start)
{
	const struct rf_token *t;
	size_t j, ss = sc->tok[start].sstart;
	int count = 0;

	for (j = start; j > ss && count < r->hypo_window; j--, count++) {
		t = &sc->tok[j - 1];
		if (t->flags & RF_F_BREAKS)
			return false;
		if (t->flags & RF_F(RF_CUE_HYPO))
			return true;
	}
	return false;
}

static bool
rf_third_party(const struct rf_scan *sc, size_t start)
{
	const struct rf_token *t;
	size_t j, ss = sc->tok[start].sstart;

	for (j = start; j > ss; j--) {
		t = &sc->tok[j - 1];
		if (t->flags & RF_F(RF_CUE_THIRD))
			return true;
		if (t->flags & RF_F(RF_CUE_FIRST))
			return false;
	}
	return false;
}

/* Finds the clause [*cs, *ce) around [start, end): sentence minus breaks. */
static void
rf_clause(const struct rf_scan *sc, size_t start, size_t end, size_t *cs,
    size_t *ce)
{
	size_t ss = sc->tok[start].sstart, se = sc->tok[start].send;

	for (*cs = start; *cs > ss &&
	    !(sc->tok[*cs - 1].flags & RF_F_BREAKS); (*cs)--)
		;
	for (*ce = end; *ce < se &&
	    !(sc->tok[*ce].flags & RF_F_BREAKS); (*ce)++)
		;
}

static bool
rf_range_has(const struct rf_scan *sc, size_t a, size_t b, uint32_t flag,
    uint32_t unless)
{
	for (; a < b; a++) {
		if ((sc->tok[a].flags & flag) && !(sc->tok[a].flags & unless))
			return true;
	}
	return false;
}

/* True when the clause is over: resolved, or (if past_counts) in the past. */
static bool
rf_historical(const struct rf_scan *sc, size_t start, size_t end,
    bool past_counts)
{
	size_t cs, ce, ns, ne, lim;
	bool past, resolved;

	rf_clause(sc, start, end, &cs, &ce);
	if (rf_range_has(sc, cs, ce, RF_F(RF_CUE_CURRENT),
	    RF_F(RF_CUE_RESOLVED)))
		return false;
	/* "had a fever last month and now it is back": anywhere in the sentence */
	if (rf_range_has(sc, sc->tok[start].sstart, sc->tok[start].send,
	    RF_F(RF_CUE_RECUR), 0))
		return false;
	past = rf_range_has(sc, cs, ce, RF_F(RF_CUE_PAST),
	    RF_F(RF_CUE_PAST_EXC));
	resolved = rf_range_has(sc, cs, ce, RF_F(RF_CUE_RESOLVED), 0);
	/* "I had a fever but it's gone": look at the next clause too */
	for (ns = ce; ns < sc->ntok &&
	    (sc->tok[ns].flags & RF_F_BREAKS); ns++)
		;
	if (ns < sc->ntok) {
		lim = sc->tok[ns].send;
		for (ne = ns; ne < lim &&
		    !(sc->tok[ne].flags & RF_F_BREAKS); ne++)
			;
		resolved = resolved ||
		    rf_range_has(sc, ns, ne, RF_F(RF_CUE_RESOLVED), 0);
	}
	return (past && past_counts) || resolved;
}

static bool
rf_excluded(const struct redflag_rules *r, const struct rf_scan *sc,
    const struct rf_rule *rule, size_t start)
{
	size_t j, k, ss = sc->tok[start].sstart, se = sc->tok[start].send;

	for (k = 0; k < rule->un; k++) {
		for (j = ss; j < se; j++) {
			if (rf_match_pattern(r, sc, &r->pats[rule->ufirst + k], j,
			    0) != RF_NOMATCH && !rf_negated(r, sc, j))
				return true;
		}
	}
	return false;
}

static void
rf_set_matched(struct rf_scan *sc, size_t start, size_t end)
{
	size_t j, n = 0, l;

	sc->matched[0] = '\0';
	for (j = start; j < end; j++) {
		l = sc->tok[j].len;
		if (n + l + (n > 0) >= sizeof(sc->matched))
			break;
		if (n > 0)
			sc->matched[n++] = ' ';
		memcpy(sc->matched + n, sc->tok[j].text, l);
		n += l;
		sc->matched[n] = '\0';
	}
}

/* Scores the tokens currently in the window. */
static void
rf_process_window(const struct redflag_rules *r, struct rf_scan *sc)
{
	const struct rf_rule *rule;
	const struct rf_hit *h;
	size_t i, j, start;
	int best;

	if (sc->ntok == 0)
		return;
	for (i = 0; i < sc->ntok; i = j) {
		start = i;
		for (j = i; j < sc->ntok && sc->tok[j].sent == sc->tok[i].sent; j++)
			;
		for (; i < j; i++) {
			sc->tok[i].sstart = (uint16_t)start;
			sc->tok[i].send = (uint16_t)j;
		}
	}
	sc->nhits = 0;
	for (i = 0; i < sc->ntok; i++)
		rf_pass_at(r, sc, i, RF_OWN_BENIGN);
	for (i = 0; i < sc->ntok; i++)
		rf_pass_at(r, sc, i, RF_OWN_CUE);
	for (i = 0; i < sc->ntok; i++)
		rf_pass_at(r, sc, i, RF_OWN_RULE);
	for (i = 0; i < sc->nhits; i++) {
		h = &sc->hits[i];
		rule = &r->rules[h->rule];
		if (rf_negated(r, sc, h->start) || rf_hypothetical(r, sc, h->start) ||
		    rf_third_party(sc, h->start) ||
		    rf_historical(sc, h->start, h->end, !rule->history_ok) ||
		    rf_excluded(r, sc, rule, h->start))
			continue;
		sc->fired |= UINT64_C(1) << h->rule;
		best = sc->best_rule;
		if (best < 0 || rule->level > r->rules[best].level ||
		    (rule->level == r->rules[best].level && h->rule < best) ||
		    (h->rule == best && sc->matched[0] == '\0')) {
			sc->best_rule = h->rule;
			rf_set_matched(sc, h->start, h->end);
		}
	}
}

/* Scans one message; see redflag.h. Never allocates on the heap. */
void
redflag_scan(const struct redflag_rules *r, const char *text, size_t len,
    struct redflag_result *out)
{
	struct rf_scan sc;
	char word[RF_WORD_MAX];
	size_t pos = 0, wlen, src = 0, i, restart;
	unsigned events, pending;
	int lvl;

	memset(out, 0, sizeof(*out));
	out->level = TRIAGE_NONE;
	out->language = lang_detect(text, text == NULL ? 0 : len);
	if (r == NULL || text == NULL)
		return;
	sc.fired = 0;
	sc.best_rule = -1;
	sc.matched[0] = '\0';
	for (;;) {
		sc.ntok = 0;
		sc.sent = 0;
		pending = 0;
		restart = len;
		while ((wlen = rf_next_word(text, len, &pos, word, &src,
		    &events)) > 0) {
			pending |= events;
			rf_push_word(r, &sc, word, wlen, src, &pending);
			if (sc.ntok >= RF_MAX_TOKENS - RF_MAX_ABBREV_WORDS * 2) {
				restart = sc.tok[sc.ntok - RF_OVERLAP].src;
				break;
			}
		}
		rf_process_window(r, &sc);
		if (restart >= len)
			break;
		/* always make progress, even if the overlap would not */
		if (restart > sc.tok[0].src)
			pos = restart;
	}
	for (lvl = TRIAGE_EMERGENCY; lvl > TRIAGE_NONE; lvl--) {
		for (i = 0; i < r->nrules; i++) {
			if (!(sc.fired & (UINT64_C(1) << i)) ||
			    (int)r->rules[i].level != lvl)
				continue;
			if (out->level < r->rules[i].level)
				out->level = r->rules[i].level;
			if (out->nreasons < REDFLAG_MAX_REASONS)
				out->reasons[out->nreasons++] = r->rules[i].id;
		}
	}
	memcpy(out->matched, sc.matched, sizeof(out->matched));
}

/* ---- loading ---- */

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

static uint16_t
rf_intern(struct redflag_rules *r, const char *w, bool prefix, bool exact)
{
	struct rf_vocab *v;
	size_t i;

	for (i = 0; i < r->nvocab; i++) {
		v = &r->vocab[i];
		if (v->prefix == prefix && v->exact == exact &&
		    strcmp(v->text, w) == 0)
			return (uint16_t)i;
	}
	r->vocab = rf_grow(r->vocab, &r->vocab_cap, r->nvocab + 1,
	    sizeof(*r->vocab));
	v = &r->vocab[r->nvocab];
	memset(v, 0, sizeof(*v));
	strcpy(v->text, w);
	v->len = (uint8_t)strlen(w);
	v->sqlen = (uint8_t)rf_squeeze(w, v->sq);
	v->prefix = prefix;
	v->exact = exact;
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
	bool prefix, exact, several = strchr(piece, '|') != NULL;
	size_t alen, k, nconc = 0;
	uint16_t conc[16];
	int n, i;
	uint32_t first = (uint32_t)r->nid;

	for (alt = strtok_r(piece, "|", &save); alt != NULL;
	    alt = strtok_r(NULL, "|", &save)) {
		if (alt[0] == '@') {
			for (k = 0; k < r->nconcept; k++) {
				if (strcmp(r->concepts[k].name, alt + 1) == 0)
					break;
			}
			if (kind == RF_OWN_CONCEPT || k == r->nconcept ||
			    nconc == sizeof(conc) / sizeof(conc[0])) {
				*cause = xasprintf("phrase \"%s\": unknown or "
				    "disallowed concept \"%s\"", src, alt);
				return false;
			}
			conc[nconc++] = (uint16_t)k;
			continue;
		}
		exact = alt[0] == '=';
		alt += exact;
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
				    prefix && i == n - 1, exact));
			}
			return true;
		}
		rf_push_id(r, rf_intern(r, words[0], prefix, exact));
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
			for (i = 0; i < r->nconcept; i++) {
				if (strcmp(r->concepts[i].name, piece + 1) == 0)
					break;
			}
			if (i == r->nconcept) {
				*cause = xasprintf("phrase \"%s\": unknown concept "
				    "\"%s\"", src, piece);
				ok = false;
				break;
			}
			e = rf_new_elem(r, RF_ELEM_CONCEPT);
			e->arg = (uint32_t)i;
		} else if (piece[0] == '#') {
			endp = piece + 1;
			if (strncmp(endp, ">=", 2) == 0)
				endp += 2;
			v = *endp ? strtol(endp, &endp, 10) : 0;
			if (*endp != '\0' || v < 0 || v > 1000000) {
				*cause = xasprintf("phrase \"%s\": number \"%s\" must "
				    "be # or #>=N", src, piece);
				ok = false;
				break;
			}
			e = rf_new_elem(r, RF_ELEM_NUMBER);
			e->arg = (uint32_t)v;
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
	char words[2][RF_WORD_MAX];
	int n;

	if (obj == NULL)
		return true;
	if (!json_is_object(obj)) {
		*cause = xstrdup("abbreviations: must be an object");
		return false;
	}
	r->abbrevs = xcalloc(json_object_size(obj) + 1, sizeof(*r->abbrevs));
	json_object_foreach(obj, key, val) {
		ab = &r->abbrevs[r->nabbrev];
		n = rf_phrase_words(key, words, 1);
		if (n != 1 || !json_is_string(val) ||
		    (n = rf_phrase_words(json_string_value(val), ab->words,
		    RF_MAX_ABBREV_WORDS)) < 1) {
			*cause = xasprintf("abbreviations: \"%s\" must be one word "
			    "mapped to 1 to %d words", key, RF_MAX_ABBREV_WORDS);
			return false;
		}
		strcpy(ab->key, words[0]);
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
	char words[1][RF_WORD_MAX];

	if (obj == NULL)
		return true;
	if (!json_is_object(obj)) {
		*cause = xstrdup("numbers: must be an object");
		return false;
	}
	r->numbers = xcalloc(json_object_size(obj) + 1, sizeof(*r->numbers));
	json_object_foreach(obj, key, val) {
		if (rf_phrase_words(key, words, 1) != 1 || !json_is_integer(val) ||
		    json_integer_value(val) < 0 ||
		    json_integer_value(val) > 1000000) {
			*cause = xasprintf("numbers: \"%s\" must be one word mapped "
			    "to an integer 0..1000000", key);
			return false;
		}
		strcpy(r->numbers[r->nnumber].key, words[0]);
		r->numbers[r->nnumber].value = (int32_t)json_integer_value(val);
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
	char words[1][RF_WORD_MAX];

	if (arr == NULL)
		return true;
	if (!json_is_array(arr)) {
		*cause = xstrdup("no_fuzzy: must be an array of words");
		return false;
	}
	r->nofuzzy = xcalloc(json_array_size(arr) + 1, sizeof(*r->nofuzzy));
	json_array_foreach(arr, i, item) {
		if (!json_is_string(item) ||
		    rf_phrase_words(json_string_value(item), words, 1) != 1) {
			*cause = xasprintf("no_fuzzy[%zu]: must be one word", i);
			return false;
		}
		strcpy(r->nofuzzy[r->nnofuzzy++], words[0]);
	}
	qsort(r->nofuzzy, r->nnofuzzy, sizeof(*r->nofuzzy), rf_key_cmp);
	return true;
}

static bool
rf_load_settings(struct redflag_rules *r, json_t *obj, char **cause)
{
	static const struct {
		const char *name;
		size_t off;
		int min, max, def;
	} table[] = {
		{ "negation_window", offsetof(struct redflag_rules, neg_window), 1, 12, 5 },
		{ "hypothetical_window", offsetof(struct redflag_rules, hypo_window), 1, 16, 8 },
		{ "fuzzy_min_len_1", offsetof(struct redflag_rules, fuzzy1), 3, 99, 6 },
		{ "fuzzy_min_len_2", offsetof(struct redflag_rules, fuzzy2), 4, 99, 9 },
	};
	const char *key;
	json_t *val;
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		*(int *)((char *)r + table[i].off) = table[i].def;
	if (obj == NULL)
		return true;
	if (!json_is_object(obj)) {
		*cause = xstrdup("settings: must be an object");
		return false;
	}
	json_object_foreach(obj, key, val) {
		for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
			if (strcmp(key, table[i].name) == 0)
				break;
		}
		if (key[0] == '_')
			continue;
		if (i == sizeof(table) / sizeof(table[0]) ||
		    !json_is_integer(val) || json_integer_value(val) < table[i].min ||
		    json_integer_value(val) > table[i].max) {
			*cause = xasprintf("settings: unknown key or bad value "
			    "\"%s\"", key);
			return false;
		}
		*(int *)((char *)r + table[i].off) = (int)json_integer_value(val);
	}
	return true;
}

static bool
rf_load_concepts(struct redflag_rules *r, json_t *obj, char **cause)
{
	const char *key;
	json_t *val;
	struct rf_concept *c;
	const char *p;
	char what[96];

	if (obj == NULL)
		return true;
	if (!json_is_object(obj)) {
		*cause = xstrdup("concepts: must be an object");
		return false;
	}
	r->concepts = xcalloc(json_object_size(obj) + 1, sizeof(*r->concepts));
	json_object_foreach(obj, key, val) {
		if (key[0] == '_')
			continue;
		for (p = key; *p != '\0'; p++) {
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			    *p == '_'))
				break;
		}
		if (*p != '\0' || key[0] == '\0') {
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

	if (!json_is_object(obj)) {
		*cause = xstrdup("cues: must be an object");
		return false;
	}
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
rf_load_rule(struct redflag_rules *r, json_t *obj, size_t idx, char **cause)
{
	struct rf_rule *rule = &r->rules[idx];
	const char *key, *id, *p;
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
	for (p = id; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_')) {
			*cause = xasprintf("rules[%zu]: id \"%s\" must be "
			    "lower-case letters, digits and _", idx, id);
			return false;
		}
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
		    strcmp(key, "patterns") == 0 || strcmp(key, "unless") == 0)
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
	return rf_compile_list(r, json_object_get(obj, "unless"), what,
	    RF_OWN_UNLESS, (uint16_t)idx, &rule->ufirst, &rule->un, cause);
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
	size_t n = 0, cap = 0, i, k;
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
	free(pairs);
}

/* Compiles phrases.json; see docs/clinical-content.md for the format. */
struct redflag_rules *
redflag_rules_load(const char *json_text, size_t len, char **cause)
{
	static const char *const known[] = { "version", "settings",
	    "abbreviations", "no_fuzzy", "numbers", "concepts", "cues",
	    "benign", "rules" };
	struct redflag_rules *r;
	json_t *root, *rules, *val;
	json_error_t err;
	const char *key;
	size_t i;
	uint32_t bf, bn;
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
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
			if (strcmp(key, known[i]) == 0)
				break;
		}
		if (i == sizeof(known) / sizeof(known[0]) && key[0] != '_') {
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
	if (!rf_load_settings(r, json_object_get(root, "settings"), cause) ||
	    !rf_load_numbers(r, json_object_get(root, "numbers"), cause) ||
	    !rf_load_abbrevs(r, json_object_get(root, "abbreviations"), cause) ||
	    !rf_load_nofuzzy(r, json_object_get(root, "no_fuzzy"), cause) ||
	    !rf_load_concepts(r, json_object_get(root, "concepts"), cause) ||
	    !rf_load_cues(r, json_object_get(root, "cues"), cause) ||
	    !rf_compile_list(r, json_object_get(root, "benign"), "benign",
	    RF_OWN_BENIGN, 0, &bf, &bn, cause))
		goto out;
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

#define TRIAGE_NAME_ITEM(name, text) text,
static const char *const triage_level_names[] = {
	TRIAGE_LEVELS(TRIAGE_NAME_ITEM)
};
#undef TRIAGE_NAME_ITEM

/* Static name of a level, as used in phrases.json and the evaluation set. */
const char *
triage_level_name(enum triage_level level)
{
	if ((unsigned)level >= sizeof(triage_level_names) /
	    sizeof(triage_level_names[0]))
		return "unknown";
	return triage_level_names[level];
}

/* Inverse of triage_level_name(). */
bool
triage_level_parse(const char *name, enum triage_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(triage_level_names) /
	    sizeof(triage_level_names[0]); i++) {
		if (name != NULL && strcmp(name, triage_level_names[i]) == 0) {
			*out = (enum triage_level)i;
			return true;
		}
	}
	return false;
}
