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
 *   "bladder" both start "blad"), used for words of 4+ letters. Numbers keep
 *   one decimal ("38.5", "38,5") and are compared in tenths, so a measured
 *   temperature can be told from a normal one. Each emoji is a word of its
 *   own that the data can give a meaning ("🤮" -> "vomiting").
 * - Word matching: exact, prefix ("vomit*"), or within edit distance 1
 *   (2 for long words) with the same first letter; shorter words allow only
 *   two neighbouring letters swapped ("chset"), or one edit when the data
 *   writes "~word". The data lists real words that must never be read as
 *   typos ("never" is not "fever").
 * - Patterns are word sequences with alternatives, concepts (@limb), numbers
 *   (#>=2) and bounded gaps (...3). A pattern never spans a sentence
 *   boundary or a scope break such as "but".
 * - Context: a match is dropped when a negation cue precedes it in its clause
 *   (other symptoms and "or"/"and" do not count towards the window, so
 *   "no fever, chills or vomiting" negates all three), when it follows a
 *   hypothetical cue, when a third person is its subject, or when its clause
 *   is about the past or resolved (unless the rule is about duration), or
 *   when the message disclaims a symptom it only asks about. A message
 *   sent for someone who is with the sender now ("texting for my dad, he
 *   can't pee") is the patient's own voice: its `proxy` cue turns the
 *   other-person rule off. A resolution ("better now") counts only for the
 *   symptom it is said of ("chest hurts, back is better now" keeps the
 *   chest pain; "it's gone numb" is an onset).
 * - Loading and compiling phrases.json lives in redflag_load.c; the tables
 *   both files share are in redflag_priv.h.
 * - Cost: one scan uses a fixed stack buffer of RF_MAX_TOKENS tokens and no
 *   heap; longer texts are processed in overlapping windows. Patterns are
 *   indexed by their first word so each token tries only plausible patterns.
 */
#define _POSIX_C_SOURCE 200809L
#include "redflag.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"
#include "redflag_priv.h"

struct rf_token {
	char text[RF_WORD_MAX];
	char sq[RF_WORD_MAX];
	uint8_t len, sqlen, nids;
	uint16_t ids[RF_MAX_IDS];
	uint32_t flags;
	size_t src;         /* byte offset of the source word */
	int32_t num10;      /* numeric value in tenths ("38.5" = 385, "two" =
	                       20), -1 if not a number */
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

/*
 * Emoji carry meaning in patients' texts ("🤮🤮 + back pain"), so each one in
 * the pictograph blocks becomes a word of its own, "~" plus its code point in
 * hex ("~1f92e"); the data gives it a meaning through `abbreviations`, whose
 * keys go through this same reader. Returns the bytes used, 0 if the text at
 * p is not such an emoji.
 */
static size_t
rf_emoji(const char *s, size_t len, size_t pos, char *word)
{
	const unsigned char *p = (const unsigned char *)s + pos;
	uint32_t cp, d;
	size_t n, i;
	int shift;

	if (pos + 4 <= len && p[0] == 0xF0 && (p[1] & 0xC0) == 0x80 &&
	    (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80) {
		cp = ((uint32_t)(p[1] & 0x3F) << 12) | ((uint32_t)(p[2] & 0x3F) << 6) |
		    (p[3] & 0x3F);
		n = 4;
		if (cp < 0x1F300 || cp > 0x1FAFF)
			return 0;
	} else if (pos + 3 <= len && p[0] == 0xE2 && (p[1] & 0xC0) == 0x80 &&
	    (p[2] & 0xC0) == 0x80) {
		cp = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) |
		    (p[2] & 0x3F);
		n = 3;
		if (cp < 0x2600 || cp > 0x27BF)
			return 0;
	} else {
		return 0;
	}
	word[0] = '~';
	for (i = 0, shift = 16; shift >= 0; shift -= 4) {
		d = (cp >> shift) & 0xF;
		if (i == 0 && d == 0)
			continue;   /* no leading zeros */
		word[1 + i++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
	}
	word[1 + i] = '\0';
	return n;
}


/*
 * Reads the next word starting at *pos into word (NUL-terminated,
 * normalised). Returns its full length (may exceed RF_WORD_MAX - 1, then the
 * buffer holds a prefix), 0 at the end of input. *src gets the byte offset of
 * the word, *events what separated it from the previous word.
 */
size_t
rf_next_word(const char *s, size_t len, size_t *pos, char *word,
    size_t *src, unsigned *events)
{
	size_t wlen = 0, before, n;
	int c, prev = 0;
	bool acc;
	char emoji[RF_WORD_MAX];

	*events = 0;
	while (*pos < len) {
		before = *pos;
		if ((unsigned char)s[*pos] >= 0xE2 &&
		    (n = rf_emoji(s, len, *pos, emoji)) > 0) {
			if (wlen > 0)
				break;      /* ends the word; read again next call */
			*src = *pos;
			*pos += n;
			strcpy(word, emoji);
			return strlen(word);
		}
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
		if ((c == '.' || c == ',') && prev >= '0' && prev <= '9' &&
		    wlen > 0 && *pos < len && s[*pos] >= '0' && s[*pos] <= '9') {
			/* a decimal point or comma ("38.5", "38,5"), not a full
			 * stop: kept in the word as '.' so "36.8" is one number */
			if (wlen < RF_WORD_MAX - 1)
				word[wlen] = '.';
			wlen++;
			prev = '.';
			continue;
		}
		if (wlen > 0) {
			/* put the separator back so the next call sees it */
			*pos = before;
			break;
		}
		if (c == '.' || c == '!' || c == '?' || c == ';' || c == '\n' ||
		    c == LANG_FOLD_OPENER)
			*events |= RF_EV_BOUNDARY;
		if (c == '?')
			*events |= RF_EV_QUESTION;
		else if (c == ',')
			*events |= RF_EV_COMMA;
	}
	word[wlen < RF_WORD_MAX - 1 ? wlen : RF_WORD_MAX - 1] = '\0';
	return wlen;
}

/* Parses "38" or "38.5" into tenths (385); *end points past the number.
 * Values are capped at 10,000,000 tenths. */
int32_t
rf_parse_tenths(const char *s, const char **end)
{
	int32_t v = 0;

	for (; *s >= '0' && *s <= '9'; s++) {
		if (v < 1000000)
			v = v * 10 + (*s - '0');
	}
	v *= 10;
	if (s[0] == '.' && s[1] >= '0' && s[1] <= '9') {
		v += s[1] - '0';
		for (s += 2; *s >= '0' && *s <= '9'; s++)
			;
	}
	*end = s;
	return v;
}

/* Collapses every run of equal letters to one; digits are kept as is. */
size_t
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

const struct rf_abbrev *
rf_abbrev_find(const struct redflag_rules *r, const char *w)
{
	if (r->nabbrev == 0)
		return NULL;
	return bsearch(w, r->abbrevs, r->nabbrev, sizeof(*r->abbrevs),
	    rf_key_cmp);
}

/* True when a and b (n letters each) differ only by two neighbouring
 * letters swapped: "chset" for "chest", "stnad" for "stand". Short words
 * get no other typo tolerance, but a swap rarely makes another real word. */
static bool
rf_one_swap(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	if (i + 1 >= n || a[i] != b[i + 1] || a[i + 1] != b[i])
		return false;
	return memcmp(a + i + 2, b + i + 2, n - i - 2) == 0;
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
		if (v->exact || (t->flags & RF_F_NOFUZZY) || t->num10 >= 0 ||
		    v->sqlen < (v->loose ? 4 : r->fuzzy1) || t->sqlen < 4)
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
	if (v->exact || (t->flags & RF_F_NOFUZZY) || t->num10 >= 0 ||
	    t->sqlen < 4)
		return false;
	/* two edits only between two long words: "breathe" is not "breathless" */
	d = (v->sqlen >= r->fuzzy2 && t->sqlen + 1 >= r->fuzzy2) ? 2 :
	    (v->sqlen >= r->fuzzy1 || (v->loose && v->sqlen >= 4) ? 1 : 0);
	if (d == 0)
		return t->sqlen == v->sqlen && rf_one_swap(t->sq, v->sq, v->sqlen);
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
	if ((*events & RF_EV_QUESTION) && sc->ntok > 0)
		sc->tok[sc->ntok - 1].flags |= RF_F_QEND;
	*events = 0;
	sc->ntok++;
	t->sent = sc->sent;
	t->src = src;
	t->num10 = -1;
	if (len == 0 || len >= RF_WORD_MAX)
		return;     /* an over-long word: keeps its place, matches nothing */
	memcpy(t->text, w, len + 1);
	t->len = (uint8_t)len;
	t->sqlen = (uint8_t)rf_squeeze(t->text, t->sq);
	if (t->text[0] >= '0' && t->text[0] <= '9') {
		t->num10 = rf_parse_tenths(t->text, &p);
		if (*p != '\0')
			t->num10 = -1;  /* "1.2.3": no number */
		else if ((p = strchr(t->text, '.')) != NULL && p[2] == '\0')
			t->flags |= RF_F_DECIMAL;   /* one decimal, as a reading */
	} else if (r->nnumber > 0 && (num = bsearch(t->text, r->numbers,
	    r->nnumber, sizeof(*r->numbers), rf_key_cmp)) != NULL) {
		t->num10 = num->value * 10;
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
	if (w[0] == '~') {
		rf_push_token(r, sc, w, src, events);   /* an emoji: never split */
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
		digit = rf_numchar(w[start]);
		for (i = start; i < wlen && rf_numchar(w[i]) == digit; i++)
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
	const uint64_t *bits = r->conc_first + ci * r->conc_words;
	const struct rf_token *t;
	size_t k, mid, res;
	bool can = false;

	/* most positions cannot start any entry: check the first word once */
	if (pos >= end)
		return RF_NOMATCH;
	t = &sc->tok[pos];
	can = r->conc_num[ci] && t->num10 >= 0;
	for (k = 0; k < t->nids && !can; k++)
		can = (bits[t->ids[k] / 64] >> (t->ids[k] % 64)) & 1;
	if (!can)
		return RF_NOMATCH;
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
		    sc->tok[pos].num10 < 0 ||
		    (e->n && !(sc->tok[pos].flags & RF_F_DECIMAL)) ||
		    (uint32_t)sc->tok[pos].num10 < e->arg ||
		    (uint32_t)sc->tok[pos].num10 >= e->carg)
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

/*
 * True when a match [pos, end) runs over a comma it must not cross: a cue
 * never does ("sí, no puedo trabajar" is not "si no puedo"), a symptom not
 * after an answering "no" ("no, puedo orinar bien").
 */
static bool
rf_crosses_comma(const struct rf_scan *sc, size_t pos, size_t end,
    uint8_t kind)
{
	for (; pos + 1 < end; pos++) {
		if (!(sc->tok[pos].flags & RF_F_COMMA))
			continue;
		if (kind == RF_OWN_CUE)
			return true;
		if (kind == RF_OWN_RULE && rf_cue_active(&sc->tok[pos],
		    RF_CUE_NEGATION, RF_CUE_NEGATION_EXC))
			return true;
	}
	return false;
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
		} else if (t->num10 >= 0) {
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
			if (end == RF_NOMATCH || end == pos ||
			    rf_crosses_comma(sc, pos, end, kind))
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

	bool first = false;

	for (j = start; j > ss && count < r->hypo_window; j--, count++) {
		t = &sc->tok[j - 1];
		/* "should I worry that I keep peeing myself": a report */
		if ((t->flags & RF_F_BREAKS) || ((t->flags & RF_F(RF_CUE_AFFIRM)) &&
		    !(t->flags & RF_F(RF_CUE_HYPO))))
			return false;
		/* "should I go to the ER, my chest hurts": a new first-person
		 * clause after a comma is not under the question */
		if ((t->flags & RF_F_COMMA) && first)
			return false;
		if ((t->flags & RF_F(RF_CUE_FIRST)) && !(t->flags & RF_F(RF_CUE_HYPO)))
			first = true;
		if (t->flags & RF_F(RF_CUE_HYPO))
			return true;
	}
	return false;
}

static bool
rf_third_party(const struct rf_scan *sc, size_t start, size_t end)
{
	const struct rf_token *t;
	size_t j, ss = sc->tok[start].sstart;

	/* a symptom told in the first person ("mi mamá dice que huelo a
	 * orines", "compa, no puedo orinar") is the patient's whoever is
	 * named before it */
	for (j = start; j < end; j++) {
		if (sc->tok[j].flags & RF_F(RF_CUE_FIRST))
			return false;
	}
	for (j = start; j > ss; j--) {
		t = &sc->tok[j - 1];
		/* "lifted my son", "cargué a mi niño": the patient acts */
		if (t->flags & RF_F(RF_CUE_OBJECT))
			return false;
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

/* "still", "now", "came back" after a resolution undo it */
#define RF_F_UNDONE (RF_F(RF_CUE_CURRENT) | RF_F(RF_CUE_RECUR))
#define RF_RESOLVED_GAP 6   /* words from a symptom to "stopped" */

/* True when one of the two words before token k, in its clause, negates
 * it ("hasn't stopped", "has not gone away"; not "no comí, hoy ya estoy
 * bien"). */
static bool
rf_cue_negated(const struct rf_scan *sc, size_t k)
{
	size_t ss = sc->tok[k].sstart;

	if (k < ss + 1 || (sc->tok[k - 1].flags & RF_F_COMMA))
		return false;
	return (sc->tok[k - 1].flags & RF_F(RF_CUE_NEGATION)) ||
	    (k >= ss + 2 && !(sc->tok[k - 2].flags & RF_F_COMMA) &&
	    (sc->tok[k - 2].flags & RF_F(RF_CUE_NEGATION)));
}

/* True when the cue run ending before e describes how the symptom at e
 * began, not its end: "it's gone numb", "my leg has gone weak". */
static bool
rf_cue_onset(const struct rf_scan *sc, size_t k, size_t e)
{
	size_t j, se = sc->tok[k].send;

	if (sc->tok[e - 1].flags & RF_F_COMMA)
		return false;
	/* only `onset_fillers` in between: "it's gone all numb", not "se me
	 * quitó el mareo" */
	for (j = e; j < se && j < e + 3; j++) {
		if (sc->tok[j].flags & RF_F_SYMPTOM)
			return true;
		if (!(sc->tok[j].flags & RF_F(RF_CUE_ONSET_FILLER)) ||
		    (sc->tok[j].flags & RF_F_COMMA))
			return false;
	}
	return false;
}

/*
 * True when [a, b) holds a `resolved` cue that is not negated and that is
 * said of the symptom [start, end): not of a resolution subject named
 * between them ("chest hurts, back is better now", "the back pain is gone,
 * chest hurts"), not of a new first-person clause before the symptom ("the
 * pain went away and I feel dizzy"), and not an onset ("gone numb").
 */
static bool
rf_resolved_in(const struct rf_scan *sc, size_t a, size_t b, size_t start,
    size_t end)
{
	const uint32_t f = RF_F(RF_CUE_RESOLVED);
	const uint32_t other = RF_F(RF_CUE_OTHER_SUBJECT);
	size_t k, e, ss;

	for (k = a; k < b; k++) {
		if (!(sc->tok[k].flags & f) || (k > a && (sc->tok[k - 1].flags & f))
		    || rf_cue_negated(sc, k))
			continue;
		for (e = k; e < sc->tok[k].send && (sc->tok[e].flags & f); e++)
			;
		if (rf_cue_onset(sc, k, e))
			continue;
		if (k >= end && rf_range_has(sc, end, k, other, RF_F_SYMPTOM))
			continue;
		if (k < start) {
			ss = sc->tok[k].sstart;
			if (rf_range_has(sc, e, start, RF_F(RF_CUE_FIRST) |
			    RF_F(RF_CUE_RESTART), 0) ||
			    rf_range_has(sc, k >= ss + 3 ? k - 3 : ss, k, other,
			    RF_F_SYMPTOM))
				continue;
		}
		return true;
	}
	return false;
}

/*
 * Looks in [from, to) for a cue saying that the symptom just before it is
 * over: a `resolved` phrase anywhere, a `resolved_after` word ("stopped",
 * "se quitó") within RF_RESOLVED_GAP words of from. The cue must not be
 * negated ("hasn't stopped"), part of a symptom ("passed out"), or follow a
 * new first-person subject ("and I went down") or another symptom (whose
 * resolution it would be). Returns the index after the cue, or 0.
 */
static size_t
rf_resolution_after(const struct rf_scan *sc, size_t from, size_t to)
{
	const uint32_t any = RF_F(RF_CUE_RESOLVED) | RF_F(RF_CUE_RESOLVED_AFTER);
	const struct rf_token *t;
	size_t k, e;

	for (k = from; k < to; k++) {
		t = &sc->tok[k];
		/* another symptom, a new subject, or what the cue is about
		 * ("chest hurts, back is better now") */
		if ((t->flags & (RF_F_SYMPTOM | RF_F(RF_CUE_FIRST))) ||
		    ((t->flags & RF_F(RF_CUE_OTHER_SUBJECT)) &&
		    !(t->flags & any)))
			return 0;
		if (!(t->flags & RF_F(RF_CUE_RESOLVED)) &&
		    !((t->flags & RF_F(RF_CUE_RESOLVED_AFTER)) &&
		    k < from + RF_RESOLVED_GAP))
			continue;
		if (rf_cue_negated(sc, k))
			return 0;
		for (e = k; e < to && (sc->tok[e].flags & any); e++)
			;
		if (rf_cue_onset(sc, k, e))
			return 0;
		return e;
	}
	return 0;
}

/*
 * True when the `current` cue at k gives the time of a resolution subject
 * that follows it in its sentence, within 5 words and before any symptom:
 * "chest pain last year, today just back pain", "hoy solo me duele la
 * espalda".
 */
static bool
rf_current_of_subject(const struct rf_scan *sc, size_t k)
{
	uint32_t f;
	size_t j, lim;

	lim = k + 6 < sc->tok[k].send ? k + 6 : sc->tok[k].send;
	for (j = k + 1; j < lim; j++) {
		f = sc->tok[j].flags;
		if ((f & RF_F(RF_CUE_OTHER_SUBJECT)) &&
		    !(f & RF_F(RF_CUE_CURRENT)))
			return true;
		/* a symptom word first: the time is its ("today I threw up
		 * and my back..."); a gap's words are not */
		if ((f & RF_F_SYMPTOM) && !(f & (RF_F_BREAKS |
		    RF_F(RF_CUE_FIRST) | RF_F(RF_CUE_RESTART))))
			return false;
	}
	return false;
}

/*
 * True when [a, b) holds a `current` cue said of the symptom ending at end:
 * not part of a resolution, not after the symptom with a resolution subject
 * in between ("se me quitó el mareo, la espalda sigue igual": the "sigue"
 * is the back's, as in rf_undone()), and not the time of a resolution
 * subject after it (rf_current_of_subject()).
 */
static bool
rf_current_in(const struct rf_scan *sc, size_t a, size_t b, size_t end)
{
	size_t k;

	for (k = a; k < b; k++) {
		if (!(sc->tok[k].flags & RF_F(RF_CUE_CURRENT)) ||
		    (sc->tok[k].flags & RF_F(RF_CUE_RESOLVED)))
			continue;
		if (k >= end && rf_range_has(sc, end, k,
		    RF_F(RF_CUE_OTHER_SUBJECT), RF_F_SYMPTOM))
			continue;
		if (!rf_current_of_subject(sc, k))
			return true;
	}
	return false;
}

/* True when [a, b) undoes a resolution just before it ("still", "now"),
 * unless a resolution subject comes first: in "fever broke 3 days ago, back
 * still stiff" the "still" is about the back, and so is "hoy" in "ya se me
 * quitó y hoy solo la espalda". */
static bool
rf_undone(const struct rf_scan *sc, size_t a, size_t b)
{
	for (; a < b; a++) {
		if (sc->tok[a].flags & RF_F(RF_CUE_RESOLVED))
			continue;
		if ((sc->tok[a].flags & RF_F_UNDONE) &&
		    !((sc->tok[a].flags & RF_F(RF_CUE_CURRENT)) &&
		    rf_current_of_subject(sc, a)))
			return true;
		if (sc->tok[a].flags & RF_F(RF_CUE_OTHER_SUBJECT))
			return false;
	}
	return false;
}

/* True when the clause is over: resolved, or (if past_counts) in the past. */
static bool
rf_historical(const struct rf_scan *sc, size_t start, size_t end,
    bool past_counts)
{
	size_t cs, ce, ns, ne, lim, after;
	bool past, resolved;

	rf_clause(sc, start, end, &cs, &ce);
	/* "had a fever last month and now it is back": anywhere in the sentence,
	 * unless part of a resolution ("ya no regresó") */
	if (rf_range_has(sc, sc->tok[start].sstart, sc->tok[start].send,
	    RF_F(RF_CUE_RECUR), RF_F(RF_CUE_RESOLVED)))
		return false;
	/* "threw up this morning, that's over", "the tingling stopped": said
	 * of this symptom, so only "still" or "now" after it can undo it */
	after = rf_resolution_after(sc, end, ce);
	if (after > 0)
		return !rf_undone(sc, after, ce);
	/* ... or in the clause right after it: "threw up, but it passed" */
	for (ns = ce; ns < sc->ntok && (sc->tok[ns].flags & RF_F_BREAKS); ns++)
		;
	if (ns < sc->ntok) {
		for (ne = ns; ne < sc->tok[ns].send &&
		    !(sc->tok[ne].flags & RF_F_BREAKS); ne++)
			;
		after = rf_resolution_after(sc, ns, ne);
		if (after > 0)
			return !rf_undone(sc, after, ne);
	}
	if (rf_current_in(sc, cs, ce, end))
		return false;
	past = rf_range_has(sc, cs, ce, RF_F(RF_CUE_PAST),
	    RF_F(RF_CUE_PAST_EXC));
	/* the symptom's own words are not its resolution ("se me fue la
	 * fuerza" is not "se me fue") */
	resolved = rf_resolved_in(sc, cs, start, start, end) ||
	    rf_resolved_in(sc, end, ce, start, end);
	/* "I had a fever but it's gone": look at the next clause too */
	for (ns = ce; ns < sc->ntok &&
	    (sc->tok[ns].flags & RF_F_BREAKS); ns++)
		;
	if (ns < sc->ntok) {
		lim = sc->tok[ns].send;
		for (ne = ns; ne < lim &&
		    !(sc->tok[ne].flags & RF_F_BREAKS); ne++)
			;
		resolved = resolved || rf_resolved_in(sc, ns, ne, start, end);
	}
	return (past && past_counts) || resolved;
}

/*
 * True when the match [start, end) holds one of its rule's "episode_ok"
 * phrases and a `today` cue dates it (before it in its sentence, or in its
 * clause) in a sentence that says nothing of the past: "today I got short of
 * breath walking the dog, then it passed" still counts (a passing episode of
 * chest pain or breathlessness is the warning); "was dizzy this morning,
 * better now" (dizziness is not listed), "short of breath yesterday, it's
 * gone", "chest tight last night, fine today" (the "today" is the
 * resolution's) and "chest felt tight last month but that went away" do not.
 */
static bool
rf_episode_today(const struct redflag_rules *r, const struct rf_scan *sc,
    const struct rf_rule *rule, size_t start, size_t end)
{
	const uint32_t today = RF_F(RF_CUE_TODAY), resolved = RF_F(RF_CUE_RESOLVED);
	size_t ss = sc->tok[start].sstart, se = sc->tok[start].send, cs, ce, j, k;
	bool listed = false;

	for (k = 0; k < rule->en && !listed; k++) {
		for (j = start; j < end && !listed; j++)
			listed = rf_match_pattern(r, sc, &r->pats[rule->efirst + k],
			    j, 0) != RF_NOMATCH;
	}
	if (!listed ||
	    rf_range_has(sc, ss, se, RF_F(RF_CUE_PAST), RF_F(RF_CUE_PAST_EXC)))
		return false;
	rf_clause(sc, start, end, &cs, &ce);
	return rf_range_has(sc, ss, start, today, resolved) ||
	    rf_range_has(sc, cs, ce, today, resolved);
}

/*
 * True for a symptom asked about in general rather than reported. When the
 * message disclaims it ("would chest pain be an emergency? I don't have
 * that", "just curious"), any question counts (a sentence ending in "?" or
 * opening with a `question` word) unless a first-person word precedes the
 * symptom in its clause, so "I can't pee, is that bad? just curious" still
 * raises the alarm. Without a disclaimer only a sentence that opens with a
 * `question` word and has no first-person word at all counts, and only when
 * the message does not affirm it elsewhere (an `affirmation` such as "I
 * have it since yesterday", "lo tengo"): "is dizziness an emergency?",
 * "does numbness mean nerve damage" are questions about a symptom; "is it
 * bad that I'm dizzy?" and "dizzy, is that bad?" are not. A sentence that
 * opens with one of the `question_articles` ("el", "la") and ends in "?"
 * counts as opening with a question word ("el hormigueo es grave?"), and so
 * does one that opens with a generic infinitive ("¿vomitar es grave?").
 */
static bool
rf_generic_question(const struct rf_scan *sc, size_t start, size_t end,
    bool disclaimed, bool affirmed)
{
	size_t ss = sc->tok[start].sstart, se = sc->tok[start].send, cs, ce, j;
	bool opener;

	for (j = ss; j < se && (sc->tok[j].flags & (RF_F(RF_CUE_DISCLAIMER) |
	    RF_F_BREAKS)); j++)
		;
	opener = j < se && j < start &&
	    (sc->tok[j].flags & RF_F(RF_CUE_QUESTION));
	/*
	 * "¿el hormigueo es grave?": an article opens it, the "?" ends it; an
	 * infinitive that opens it may be the symptom itself ("¿vomitar sería
	 * motivo para ir a urgencias?")
	 */
	if (!disclaimed && j < se && j <= start &&
	    (sc->tok[j].flags & RF_F(RF_CUE_QARTICLE)) &&
	    (sc->tok[se - 1].flags & RF_F_QEND))
		opener = true;
	if (!disclaimed)
		return opener && !affirmed &&
		    !rf_range_has(sc, ss, se, RF_F(RF_CUE_FIRST), 0);
	if (!(sc->tok[se - 1].flags & RF_F_QEND) && !opener)
		return false;
	rf_clause(sc, start, end, &cs, &ce);
	return !rf_range_has(sc, cs, start, RF_F(RF_CUE_FIRST),
	    RF_F(RF_CUE_DISCLAIMER));
}

/*
 * True for a symptom only quoted or asked about and then denied: in a
 * message that disclaims it, a sentence quoting the article ("it says
 * tingling is a reason to see a doctor. no tingling here", "dice que náusea
 * o vómito, no tengo nada de eso"); a question answered by a bare "no" in
 * the next sentence ("fever? no. chills? no."); or a symptom whose clause a
 * bare "no" closes ("fiebre no, náuseas no").
 */
static bool
rf_quoted_or_denied(const struct rf_scan *sc, size_t start, size_t end,
    bool disclaimed)
{
	size_t ss = sc->tok[start].sstart, se = sc->tok[start].send;

	/* a bare "no" right after the symptom closing its clause denies it:
	 * "fiebre no, náuseas no, mareo no" (not "el mareo no se me quita",
	 * not the tag question "dizzy, no?", not "no me sostienen nada") */
	if (end < se && sc->tok[end].len == 2 &&
	    memcmp(sc->tok[end].text, "no", 2) == 0 &&
	    !(sc->tok[end - 1].flags & RF_F_COMMA) &&
	    !(sc->tok[end].flags & RF_F_QEND) &&
	    (end + 1 == se || (sc->tok[end].flags & RF_F_COMMA)))
		return true;

	if (disclaimed && rf_range_has(sc, ss, start, RF_F(RF_CUE_QUOTE), 0))
		return true;
	if (!(sc->tok[se - 1].flags & RF_F_QEND) || se >= sc->ntok)
		return false;
	return (sc->tok[se].flags & RF_F(RF_CUE_NEGATION)) &&
	    (sc->tok[se].send == se + 1 || (sc->tok[se].flags & RF_F_COMMA));
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
	bool disclaimed = false, proxy = false, affirmed = false;

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
	for (i = 0; i < sc->ntok; i++) {
		disclaimed |= (sc->tok[i].flags & RF_F(RF_CUE_DISCLAIMER)) != 0;
		proxy |= (sc->tok[i].flags & RF_F(RF_CUE_PROXY)) != 0;
		affirmed |= (sc->tok[i].flags & (RF_F(RF_CUE_AFFIRM) |
		    RF_F(RF_CUE_DISCLAIMER))) == RF_F(RF_CUE_AFFIRM);
	}
	for (i = 0; i < sc->nhits; i++) {
		h = &sc->hits[i];
		rule = &r->rules[h->rule];
		/* "should I worry about throwing up? been doing it all
		 * morning": the message affirms what its question asks */
		if (rf_negated(r, sc, h->start) ||
		    (rf_hypothetical(r, sc, h->start) && !(affirmed &&
		    (sc->tok[sc->tok[h->start].send - 1].flags & RF_F_QEND))) ||
		    (!proxy && rf_third_party(sc, h->start, h->end)) ||
		    (rf_historical(sc, h->start, h->end, !rule->history_ok) &&
		    !rf_episode_today(r, sc, rule, h->start, h->end)) ||
		    rf_generic_question(sc, h->start, h->end, disclaimed, affirmed) ||
		    rf_quoted_or_denied(sc, h->start, h->end, disclaimed) ||
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
		/* a "?" after the last word */
		if (wlen == 0 && (events & RF_EV_QUESTION) && sc.ntok > 0)
			sc.tok[sc.ntok - 1].flags |= RF_F_QEND;
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
