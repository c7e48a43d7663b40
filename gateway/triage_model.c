/*
 * triage_model.c - features, model parsing and prediction of the text
 * classifier. See triage_model.h.
 *
 * DESIGN. Words come from rf_next_word() (redflag_priv.h), the phrase
 * matcher's own normaliser, so both detectors see the same folded,
 * lowercased, accent-free words ("VÓMITO" = "vomito") and no second
 * normaliser can drift from the first. Topic words ("back", "pain",
 * "espalda"...; see tm_topic_words) are skipped. Each feature string is hashed with
 * 32-bit FNV-1a (a one-letter kind prefix keeps words, bigrams and n-grams
 * apart) into 2^TRIAGE_HASH_BITS buckets. A text's vector holds the counts
 * of the buckets the model knows, scaled by triage_model_scale() (unit
 * length, short texts less); buckets the model never saw are dropped before
 * scaling, exactly as the trainer dropped rare ones, so training and
 * prediction see the same vectors.
 *
 * The model is one-vs-rest logistic regression (liblinear L2R_LR): per
 * class k, p_k = 1 / (1 + exp(-(b_k + w_k . x))), then normalised to sum to
 * 1 as liblinear's predict_probability() does.
 *
 * File format (text, one item per line, written by triage_train.c):
 *   carenav-triage-model 1
 *   # free comments (training data, validation figures)
 *   hash_bits 20
 *   scale_floor 100
 *   threshold_emergency 0.35
 *   threshold_see_doctor 0.5
 *   weights N
 *   bias W_NONE W_SEE_DOCTOR W_EMERGENCY
 *   ID W_NONE W_SEE_DOCTOR W_EMERGENCY     (N lines, ids ascending)
 *   end
 * The final "end" makes a truncated file an error rather than a weaker model.
 */
#include "triage_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redflag_priv.h"
#include "xmalloc.h"

#define TM_NGRAM_MIN 3
#define TM_NGRAM_MAX 5
#define TM_NEG_WINDOW 5              /* words a negation covers, as the rules' negation_window */

struct tm_weight {
	uint32_t id;                          /* hash bucket */
	float w[TRIAGE_MODEL_CLASSES];        /* per class, enum triage_level order */
};

struct triage_model {
	struct tm_weight *weights;            /* owned, ascending id */
	size_t nweights;
	double bias[TRIAGE_MODEL_CLASSES];
	double threshold[TRIAGE_MODEL_CLASSES];  /* [NONE] unused */
	double scale_floor;                   /* see triage_model_scale() */
};

/* ---- features ---- */

static uint32_t
tm_hash(char kind, const char *s, size_t n, const char *s2, size_t n2)
{
	uint32_t h = 2166136261u;

	h = (h ^ (unsigned char)kind) * 16777619u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	if (s2 != NULL) {
		h = (h ^ (unsigned char)' ') * 16777619u;
		for (size_t i = 0; i < n2; i++)
			h = (h ^ (unsigned char)s2[i]) * 16777619u;
	}
	return h & ((1u << TRIAGE_HASH_BITS) - 1);
}

static void
tm_add(struct triage_features *f, uint32_t id)
{
	if (f->n < TRIAGE_FEAT_MAX)
		f->id[f->n++] = id;
}

static int
tm_id_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The subject of nearly every text to a back-pain line. Skipped entirely
 * (no word, bigram or character n-gram): they say nothing about urgency,
 * and the training corpus habitually ends emergency stories with ", back
 * pain", which taught the model that "back pain since this morning" was an
 * emergency. Normalised forms, as rf_next_word() returns them.
 */
static const char *const tm_topic_words[] = {
	"back", "backs", "pain", "pains", "hurt", "hurts", "hurting", "ache", "aches", "aching", "achy",
	"sore", "espalda", "dolor", "dolores", "duele", "duelen", "cintura",
};

/*
 * Words that deny what follows them in their clause ("not nauseous", "sin
 * fiebre", "nada entumido"), in rf_next_word()'s normalised form. "cant",
 * "cannot" and "couldnt" are not here: "cant pee" reports a symptom.
 */
static const char *const tm_negation_words[] = {
	"no", "not", "never", "nothing", "none", "neither", "nor", "without",
	"dont", "doesnt", "didnt", "havent", "hasnt", "hadnt", "isnt", "arent",
	"wasnt", "werent", "aint", "sin", "ni", "nunca", "jamas", "tampoco",
	"nada", "ningun", "ninguna", "ninguno",
};

/* Words that end a negated clause as a comma does ("no fever but ..."). */
static const char *const tm_scope_break_words[] = {
	"but", "though", "although", "just", "only", "now", "except",
	"pero", "aunque", "solo", "nomas", "ahora", "excepto",
};

static bool
tm_in(const char *w, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(w, list[i]) == 0)
			return true;
	}
	return false;
}

#define TM_IN(w, list) tm_in((w), (list), sizeof(list) / sizeof((list)[0]))

/*
 * A number in the range of a body temperature is a feature of its band, so
 * the model can tell "marca 37" from "marca 38.5" (the rules' policy: 38.0
 * °C / 100.4 °F or more is fever). A whole number is a temperature only when
 * the message says so (`context`: a fever or thermometer word, a unit, a
 * degree sign); otherwise it is an age or a count ("im 38", "tengo 39
 * años") and becomes one 'bare number' feature instead of the word the
 * corpus mostly saw next to "fiebre". Returns true for such a bare number:
 * the caller then drops the word itself.
 */
static bool
tm_temperature(const char *w, bool context, struct triage_features *out)
{
	const char *end;
	int32_t t;
	bool normal, fever;

	if (!(w[0] >= '0' && w[0] <= '9'))
		return false;
	t = rf_parse_tenths(w, &end);
	if (*end != '\0')
		return false;
	normal = (t >= 340 && t < 380) || (t >= 930 && t < 1004);
	fever = (t >= 380 && t < 430) || (t >= 1004 && t < 1100);
	if (!(normal || fever))
		return false;
	if (!context && strchr(w, '.') == NULL) {
		tm_add(out, tm_hash('t', "bare", 4, NULL, 0));
		return true;
	}
	tm_add(out, normal ? tm_hash('t', "normal", 6, NULL, 0) :
	    tm_hash('t', "fever", 5, NULL, 0));
	return false;
}

/* What a message says of temperatures, read before its words. */
struct tm_temps {
	bool context;     /* names one: a fever or thermometer word, a unit, "°" */
	bool normal_only; /* has a normal reading and no fever reading */
};

static bool
tm_is_fever_stem(const char *w)
{
	static const char *const stem[] = {
		"fever", "fiebr", "febril", "afiebr", "calentur",
	};

	for (size_t i = 0; i < sizeof stem / sizeof stem[0]; i++) {
		if (strncmp(w, stem[i], strlen(stem[i])) == 0)
			return true;
	}
	return false;
}

/*
 * A message with a number: does it name a temperature, and are its readings
 * all normal? Then its fever words count as denied ("felt feverish but took
 * it and its 98.2", "me sentía afiebrado pero salió 36.8"), like the rules'
 * normal-reading phrases.
 */
static struct tm_temps
tm_temperature_scan(const char *text, size_t len)
{
	static const char *const stem[] = { "temperat", "termomet", "thermomet" };
	static const char *const unit[] = {
		"temp", "temps", "c", "f", "grados", "grado", "degrees", "degree", "celsius",
		"fahrenheit", "centigrados", "marca", "marco", "marcaba", "salio",
	};
	struct tm_temps r = { false, false };
	char word[RF_WORD_MAX];
	size_t pos = 0, src, i;
	unsigned events;
	bool digit = false, nd = false, fd = false, nw = false, fw = false, dec;
	const char *end;
	int32_t t;

	for (i = 0; i < len && !digit; i++)
		digit = text[i] >= '0' && text[i] <= '9';
	if (!digit)
		return r;
	for (i = 0; i + 1 < len; i++) {
		if ((unsigned char)text[i] == 0xC2 && (unsigned char)text[i + 1] == 0xB0)
			r.context = true;        /* "°" */
	}
	while (rf_next_word(text, len, &pos, word, &src, &events) > 0) {
		if (TM_IN(word, unit) || tm_is_fever_stem(word))
			r.context = true;
		for (i = 0; i < sizeof stem / sizeof stem[0]; i++) {
			if (strncmp(word, stem[i], strlen(stem[i])) == 0)
				r.context = true;
		}
		if (!(word[0] >= '0' && word[0] <= '9'))
			continue;
		t = rf_parse_tenths(word, &end);
		if (*end != '\0')
			continue;
		dec = strchr(word, '.') != NULL;
		if ((t >= 340 && t < 380) || (t >= 930 && t < 1004))
			*(dec ? &nd : &nw) = true;
		else if ((t >= 380 && t < 430) || (t >= 1004 && t < 1100))
			*(dec ? &fd : &fw) = true;
	}
	if (r.context) {
		nd = nd || nw;
		fd = fd || fw;
	}
	r.normal_only = nd && !fd;
	return r;
}

/*
 * The resolution mark. The words of a sentence that says something is over
 * ("was dizzy earlier but that passed", "se me quitó el mareo", "threw up,
 * im fine now") also count as features of their own ('r' + word), added to
 * the plain ones, so the model can learn that "dizzy" in such a sentence
 * is weak evidence. The cues are a small fixed list, like the negation
 * words: "passed" (not "passed out"), "gone" (not "gone numb"), "went
 * away", "se me quitó / pasó", and "fine" / "better" / "bien" after "im",
 * "now", "ya", "estoy" when the clause ends there ("estoy bien mareada" is
 * no resolution).
 */
#define TM_SENT_WORDS 64             /* words of a sentence kept for the mark */

enum tm_pending {
	TM_PEND_NONE,                      /* nothing to decide */
	TM_PEND_OUT,                       /* "passed": a resolution unless "out" follows */
	TM_PEND_ONSET,                     /* "gone": a resolution unless "numb", "weak"... follows */
	TM_PEND_END,                       /* "im fine": a resolution if its clause ends here */
};

struct tm_sentence {
	uint32_t ids[TM_SENT_WORDS];       /* 'r' features of its words */
	size_t n;
	bool resolved;                     /* a resolution cue was seen */
	enum tm_pending pend;
	char last[RF_WORD_MAX];            /* the word before, topic words included */
};

static void
tm_sentence_flush(struct tm_sentence *s, struct triage_features *out)
{
	if (s->resolved || s->pend != TM_PEND_NONE) {
		for (size_t i = 0; i < s->n; i++)
			tm_add(out, s->ids[i]);
	}
	s->n = 0;
	s->resolved = false;
	s->pend = TM_PEND_NONE;
	s->last[0] = '\0';
}

/* Reads word w for the resolution cues; events as rf_next_word() gave them. */
static void
tm_sentence_cue(struct tm_sentence *s, const char *w, unsigned events,
    struct triage_features *out)
{
	static const char *const onset[] = {
		"numb", "weak", "dead", "limp", "all", "completely", "totally", "really", "so", "very",
		"kind", "kinda", "pretty", "super", "tingly", "stiff", "cold",
	};
	static const char *const clause_end[] = {
		"and", "but", "now", "thanks", "thank", "so", "lol", "today", "y", "pero", "gracias",
		"ya", "ahora", "hoy", "jaja", "haha",
	};
	static const char *const fine[] = { "fine", "better", "ok", "okay", "good", "normal" };
	static const char *const fine_lead[] = {
		"im", "now", "was", "then", "felt", "feel", "feeling", "all", "been", "got", "am", "its",
	};
	static const char *const bien[] = { "bien", "mejor", "normal" };
	static const char *const bien_lead[] = {
		"ya", "estoy", "quede", "hoy", "todo", "siento", "sentia", "estaba", "ando",
	};
	static const char *const quito_lead[] = { "me", "se", "le", "ya" };

	if (events & RF_EV_BOUNDARY)
		tm_sentence_flush(s, out);
	switch (s->pend) {
	case TM_PEND_OUT:
		s->resolved |= strcmp(w, "out") != 0;
		break;
	case TM_PEND_ONSET:
		s->resolved |= !TM_IN(w, onset);
		break;
	case TM_PEND_END:
		s->resolved |= (events & RF_EV_COMMA) || TM_IN(w, clause_end);
		break;
	case TM_PEND_NONE:
		break;
	}
	s->pend = TM_PEND_NONE;
	if (strcmp(w, "passed") == 0)
		s->pend = TM_PEND_OUT;
	else if (strcmp(w, "gone") == 0)
		s->pend = TM_PEND_ONSET;
	else if ((TM_IN(w, fine) && TM_IN(s->last, fine_lead)) ||
	    (TM_IN(w, bien) && TM_IN(s->last, bien_lead)))
		s->pend = TM_PEND_END;
	else if ((strcmp(w, "away") == 0 && strcmp(s->last, "went") == 0) ||
	    ((strcmp(w, "quito") == 0 || strcmp(w, "paso") == 0) &&
	    TM_IN(s->last, quito_lead)) || strcmp(w, "desaparecio") == 0 ||
	    strcmp(w, "subsided") == 0)
		s->resolved = true;
	snprintf(s->last, sizeof s->last, "%s", w);
}

/* Keeps the 'r' feature of a (non-topic) word for the end of its sentence. */
static void
tm_sentence_add(struct tm_sentence *s, const char *w, size_t wl)
{
	if (s->n < TM_SENT_WORDS)
		s->ids[s->n++] = tm_hash('r', w, wl, NULL, 0);
}

void
triage_model_features(const char *text, size_t len,
    struct triage_features *out)
{
	char word[RF_WORD_MAX], prev[RF_WORD_MAX], padded[RF_WORD_MAX + 2];
	size_t pos = 0, src, wl, pl = 0, n, i, negated = 0;
	unsigned events;
	char wkind, ckind;
	bool in_scope;
	struct tm_sentence sent = { .n = 0 };
	struct tm_temps temps;
	bool bare;

	out->n = 0;
	if (text == NULL)
		len = 0;
	temps = tm_temperature_scan(text, len);
	for (;;) {
		wl = rf_next_word(text, len, &pos, word, &src, &events);
		if (events & RF_EV_QUESTION)
			tm_add(out, tm_hash('q', "?", 1, NULL, 0));
		if (wl == 0)
			break;
		if (wl > RF_WORD_MAX - 1)
			wl = RF_WORD_MAX - 1;
		tm_sentence_cue(&sent, word, events, out);
		bare = tm_temperature(word, temps.context, out);
		if (events & RF_EV_BOUNDARY)
			pl = 0;
		/* a negation covers the next TM_NEG_WINDOW words of its clause */
		if (events & (RF_EV_BOUNDARY | RF_EV_COMMA) ||
		    TM_IN(word, tm_scope_break_words))
			negated = 0;
		in_scope = negated > 0;
		if (in_scope)
			negated--;
		/* a normal reading in the message denies its fever words */
		in_scope = in_scope ||
		    (temps.normal_only && tm_is_fever_stem(word));
		if (TM_IN(word, tm_negation_words))
			negated = TM_NEG_WINDOW;
		if (TM_IN(word, tm_topic_words) || bare)
			continue;
		/* a denied word is a feature of its own: "n:fiebre" is not "fiebre" */
		wkind = in_scope ? 'n' : 'w';
		ckind = in_scope ? 'm' : 'c';
		tm_add(out, tm_hash(wkind, word, wl, NULL, 0));
		tm_sentence_add(&sent, word, wl);
		if (pl > 0)
			tm_add(out, tm_hash('b', prev, pl, word, wl));
		padded[0] = '<';
		memcpy(padded + 1, word, wl);
		padded[wl + 1] = '>';
		for (n = TM_NGRAM_MIN; n <= TM_NGRAM_MAX && n <= wl + 2; n++) {
			for (i = 0; i + n <= wl + 2; i++)
				tm_add(out, tm_hash(ckind, padded + i, n, NULL, 0));
		}
		memcpy(prev, word, wl);
		pl = wl;
	}
	tm_sentence_flush(&sent, out);
	qsort(out->id, out->n, sizeof out->id[0], tm_id_cmp);
	/* merge equal ids into counts */
	n = 0;
	for (i = 0; i < out->n; i++) {
		if (n > 0 && out->id[n - 1] == out->id[i]) {
			out->count[n - 1] += 1.0f;
			continue;
		}
		out->id[n] = out->id[i];
		out->count[n] = 1.0f;
		n++;
	}
	out->n = n;
}

double
triage_model_scale(double sumsq, double floor)
{
	if (sumsq < floor)
		sumsq = floor;
	return sumsq > 0 ? 1.0 / sqrt(sumsq) : 0;
}

/* ---- splits ---- */

static uint32_t
tm_text_hash(const char *text, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)text[i]) * 16777619u;
	return h;
}

bool
triage_model_heldout(const char *text, size_t len)
{
	return tm_text_hash(text, text == NULL ? 0 : len) % 5 == 0;
}

unsigned
triage_model_fold(const char *text, size_t len)
{
	return (tm_text_hash(text, text == NULL ? 0 : len) / 5) % 5;
}

/* ---- model text ---- */

struct tm_reader {
	const char *p, *end;
	size_t lineno;
	char line[256];
};

/* Next non-comment line into r->line; false at the end or on an overlong line. */
static bool
tm_next_line(struct tm_reader *r, bool *toolong)
{
	*toolong = false;
	while (r->p < r->end) {
		const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
		size_t n = nl != NULL ? (size_t)(nl - r->p) : (size_t)(r->end - r->p);

		r->lineno++;
		if (n >= sizeof r->line) {
			*toolong = true;
			return false;
		}
		memcpy(r->line, r->p, n);
		r->line[n] = '\0';
		if (n > 0 && r->line[n - 1] == '\r')
			r->line[n - 1] = '\0';
		r->p += n + (nl != NULL);
		if (r->line[0] == '#' || r->line[0] == '\0')
			continue;
		return true;
	}
	return false;
}

/* Parses "key VALUE" into *v; false when the key differs or VALUE is not a finite number. */
static bool
tm_keyed(const char *line, const char *key, double *v)
{
	size_t kl = strlen(key);
	char *end;

	if (strncmp(line, key, kl) != 0 || line[kl] != ' ')
		return false;
	*v = strtod(line + kl + 1, &end);
	return end != line + kl + 1 && *end == '\0' && isfinite(*v);
}

/* Parses TRIAGE_MODEL_CLASSES finite numbers from s; false on anything else. */
static bool
tm_numbers(const char *s, double v[TRIAGE_MODEL_CLASSES])
{
	char *end;

	for (int k = 0; k < TRIAGE_MODEL_CLASSES; k++) {
		if (*s != ' ')
			return false;
		v[k] = strtod(s + 1, &end);
		if (end == s + 1 || !isfinite(v[k]))
			return false;
		s = end;
	}
	return *s == '\0';
}

static struct triage_model *
tm_fail(struct triage_model *m, const struct tm_reader *r, bool toolong, const char *what, char **cause)
{
	if (toolong)
		*cause = xasprintf("line %zu: line too long", r->lineno);
	else if (r->p >= r->end)
		*cause = xasprintf("the file ends at line %zu (truncated?): expected %s", r->lineno, what);
	else
		*cause = xasprintf("line %zu: expected %s", r->lineno, what);
	triage_model_free(m);
	return NULL;
}

struct triage_model *
triage_model_load(const char *text, size_t len, char **cause)
{
	struct triage_model *m = xcalloc(1, sizeof *m);
	struct tm_reader r = { text, text == NULL ? text : text + len, 0, "" };
	double v, w[TRIAGE_MODEL_CLASSES];
	bool toolong;
	char *end;
	unsigned long id;

	*cause = NULL;
	if (text == NULL || !tm_next_line(&r, &toolong) || r.lineno != 1 ||
	    strcmp(r.line, TRIAGE_MODEL_MAGIC) != 0) {
		*cause = xstrdup("not a carenav triage model (first line is not \"" TRIAGE_MODEL_MAGIC "\")");
		triage_model_free(m);
		return NULL;
	}
	r.line[0] = '\0';
	if (!tm_next_line(&r, &toolong) || !tm_keyed(r.line, "hash_bits", &v))
		return tm_fail(m, &r, toolong, "\"hash_bits N\"", cause);
	if (v != TRIAGE_HASH_BITS) {
		*cause = xasprintf("line %zu: hash_bits %g, this build hashes into %d bits; retrain the model",
		    r.lineno, v, TRIAGE_HASH_BITS);
		triage_model_free(m);
		return NULL;
	}
	r.line[0] = '\0';
	if (!tm_next_line(&r, &toolong) || !tm_keyed(r.line, "scale_floor", &v) || v < 0 || v > 1e6)
		return tm_fail(m, &r, toolong, "\"scale_floor N\" with 0 <= N <= 1000000", cause);
	m->scale_floor = v;
	r.line[0] = '\0';
	if (!tm_next_line(&r, &toolong) || !tm_keyed(r.line, "threshold_emergency", &v) || v <= 0 || v > 1)
		return tm_fail(m, &r, toolong, "\"threshold_emergency P\" with 0 < P <= 1", cause);
	m->threshold[TRIAGE_EMERGENCY] = v;
	r.line[0] = '\0';
	if (!tm_next_line(&r, &toolong) || !tm_keyed(r.line, "threshold_see_doctor", &v) || v <= 0 || v > 1)
		return tm_fail(m, &r, toolong, "\"threshold_see_doctor P\" with 0 < P <= 1", cause);
	m->threshold[TRIAGE_SEE_DOCTOR] = v;
	r.line[0] = '\0';
	if (!tm_next_line(&r, &toolong) || !tm_keyed(r.line, "weights", &v) || v < 1 ||
	    v > (double)(1u << TRIAGE_HASH_BITS) || v != floor(v))
		return tm_fail(m, &r, toolong, "\"weights N\" with 1 <= N <= 2^hash_bits", cause);
	m->nweights = (size_t)v;
	m->weights = xcalloc(m->nweights, sizeof *m->weights);
	r.line[0] = '\0';
	if (!tm_next_line(&r, &toolong) || strncmp(r.line, "bias", 4) != 0 ||
	    !tm_numbers(r.line + 4, m->bias))
		return tm_fail(m, &r, toolong, "\"bias W W W\"", cause);
	for (size_t i = 0; i < m->nweights; i++) {
		r.line[0] = '\0';
		if (!tm_next_line(&r, &toolong))
			return tm_fail(m, &r, toolong, "a weight line", cause);
		id = strtoul(r.line, &end, 10);
		if (end == r.line || r.line[0] < '0' || r.line[0] > '9' ||
		    id >= (1ul << TRIAGE_HASH_BITS) || (i > 0 && id <= m->weights[i - 1].id) ||
		    !tm_numbers(end, w))
			return tm_fail(m, &r, toolong, "\"ID W W W\" (ids ascending, below 2^hash_bits)", cause);
		m->weights[i].id = (uint32_t)id;
		for (int k = 0; k < TRIAGE_MODEL_CLASSES; k++)
			m->weights[i].w[k] = (float)w[k];
	}
	r.line[0] = '\0';
	if (!tm_next_line(&r, &toolong) || strcmp(r.line, "end") != 0)
		return tm_fail(m, &r, toolong, "\"end\" after the weights", cause);
	r.line[0] = '\0';
	if (tm_next_line(&r, &toolong) || toolong)
		return tm_fail(m, &r, toolong, "nothing after \"end\"", cause);
	return m;
}

void
triage_model_free(struct triage_model *m)
{
	if (m == NULL)
		return;
	free(m->weights);
	free(m);
}

size_t
triage_model_size(const struct triage_model *m)
{
	return m == NULL ? 0 : m->nweights;
}

double
triage_model_threshold(const struct triage_model *m, enum triage_level level)
{
	if (m == NULL || level <= TRIAGE_NONE || level > TRIAGE_EMERGENCY)
		return 1.0;
	return m->threshold[level];
}

static const struct tm_weight *
tm_find(const struct triage_model *m, uint32_t id)
{
	size_t lo = 0, hi = m->nweights;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->weights[mid].id < id)
			lo = mid + 1;
		else if (m->weights[mid].id > id)
			hi = mid;
		else
			return &m->weights[mid];
	}
	return NULL;
}

enum triage_level
triage_model_predict(const struct triage_model *m,
    const struct triage_features *f, double prob[TRIAGE_MODEL_CLASSES])
{
	double dot[TRIAGE_MODEL_CLASSES] = { 0 }, norm = 0, sum = 0;
	const struct tm_weight *w;
	int k;

	for (size_t i = 0; i < f->n; i++) {
		if ((w = tm_find(m, f->id[i])) == NULL)
			continue;
		norm += (double)f->count[i] * f->count[i];
		for (k = 0; k < TRIAGE_MODEL_CLASSES; k++)
			dot[k] += (double)w->w[k] * f->count[i];
	}
	norm = triage_model_scale(norm, m->scale_floor);
	for (k = 0; k < TRIAGE_MODEL_CLASSES; k++) {
		prob[k] = 1.0 / (1.0 + exp(-(m->bias[k] + dot[k] * norm)));
		sum += prob[k];
	}
	for (k = 0; k < TRIAGE_MODEL_CLASSES; k++)
		prob[k] /= sum;
	if (prob[TRIAGE_EMERGENCY] >= m->threshold[TRIAGE_EMERGENCY])
		return TRIAGE_EMERGENCY;
	if (prob[TRIAGE_SEE_DOCTOR] >= m->threshold[TRIAGE_SEE_DOCTOR])
		return TRIAGE_SEE_DOCTOR;
	return TRIAGE_NONE;
}
