/*
 * redflag_priv.h - data structures shared by the red-flag matcher's scanner
 * (redflag.c) and its loader (redflag_load.c). Not for other modules: the
 * public interface is redflag.h, and struct redflag_rules stays opaque there.
 *
 * Why: the loader compiles phrases.json into exactly the tables the scanner
 * walks, and both must normalise words the same way, so they share these
 * definitions and the normalisation helpers declared at the end.
 */
#ifndef CARENAV_GATEWAY_REDFLAG_PRIV_H
#define CARENAV_GATEWAY_REDFLAG_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "redflag.h"

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
	RF_ELEM_NUMBER,     /* one number token with arg <= value*10 < carg
	                       (tenths: "#>=100.4" is arg 1004) */
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
	X(RF_CUE_HYPO, "hypothetical")                                        \
	X(RF_CUE_RESOLVED_AFTER, "resolved_after")                            \
	X(RF_CUE_QUESTION, "question")                                        \
	X(RF_CUE_DISCLAIMER, "disclaimer")                                    \
	X(RF_CUE_PROXY, "proxy")                                              \
	X(RF_CUE_OTHER_SUBJECT, "resolution_subjects")                        \
	X(RF_CUE_ONSET_FILLER, "onset_fillers")                               \
	X(RF_CUE_AFFIRM, "affirmation")                                       \
	X(RF_CUE_QARTICLE, "question_articles")                               \
	X(RF_CUE_QUOTE, "quoting")                                            \
	X(RF_CUE_OBJECT, "objects")                                           \
	X(RF_CUE_TODAY, "today")

#define RF_CUE_ENUM(name, text) name,
enum rf_cue { RF_CUES(RF_CUE_ENUM) RF_CUE_COUNT };
#undef RF_CUE_ENUM

#define RF_F(cue) (1u << (cue))
/* cue bits must stay below the token flags that follow */
_Static_assert(RF_CUE_COUNT <= 26, "too many cue classes for the flag word");
/* end a clause for context rules; only hard ones also stop pattern gaps */
#define RF_F_BREAKS (RF_F(RF_CUE_BREAK) | RF_F(RF_CUE_SOFT_BREAK))
#define RF_F_BENIGN (1u << 26)   /* inside a benign phrase */
#define RF_F_SYMPTOM (1u << 27)  /* inside some raw rule match */
#define RF_F_COMMA (1u << 28)    /* a comma follows this token */
#define RF_F_NOFUZZY (1u << 29)  /* a real word: exact matches only */
#define RF_F_QEND (1u << 30)     /* a question mark follows this token */
#define RF_F_DECIMAL (1u << 31)  /* a number written with one decimal (38.5) */

struct rf_elem {
	uint8_t kind;       /* enum rf_elem_kind */
	uint16_t n;         /* id count (WORDS), max tokens (GAP), or 1 when
	                       the number must have a decimal point (NUMBER) */
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
	bool loose;             /* written "~word": one typo even when short
	                           (4+ letters squeezed) */
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
	uint32_t efirst, en; /* "episode_ok" patterns: a match holding one of
	                        them still counts when it passed earlier today
	                        (chest pain, breathlessness) */
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
	uint32_t *vocab_slots;           /* while loading: the vocab by word
	                                    and marks, open addressing (id + 1;
	                                    0 empty); NULL once loaded */
	size_t vocab_nslots;             /* a power of two */
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
	uint64_t *conc_first;            /* per concept, conc_words words: bit v
	                                    set when an entry can start with
	                                    vocab id v (a cheap pre-check) */
	size_t conc_words;
	bool *conc_num;                  /* per concept: an entry starts with a
	                                    number */
	int neg_window, hypo_window, fuzzy1, fuzzy2;
};

/* ---- normalisation shared by the loader and the scanner (redflag.c) ---- */

#define RF_EV_BOUNDARY 1u   /* a sentence boundary precedes the word */
#define RF_EV_COMMA 2u      /* a comma precedes the word */
#define RF_EV_QUESTION 4u   /* a question mark precedes the word */

/*
 * Reads the next word starting at *pos into word (NUL-terminated,
 * normalised). Returns its full length (may exceed RF_WORD_MAX - 1, then the
 * buffer holds a prefix), 0 at the end of input. *src gets the byte offset of
 * the word, *events what separated it from the previous word.
 */
size_t rf_next_word(const char *s, size_t len, size_t *pos, char *word,
    size_t *src, unsigned *events);

/* Parses "38" or "38.5" (digits, optionally '.' and decimals, as the
 * normaliser writes them) into tenths; *end gets the first byte after it. */
int32_t rf_parse_tenths(const char *s, const char **end);

/* True for the characters of a number word: digits and the decimal point. */
static inline bool
rf_numchar(char c)
{
	return (c >= '0' && c <= '9') || c == '.';
}

/* Collapses every run of equal letters to one; returns the new length. */
size_t rf_squeeze(const char *in, char *out);

/* The abbreviation whose key is w, or NULL. */
const struct rf_abbrev *rf_abbrev_find(const struct redflag_rules *r,
    const char *w);

/* Vocabulary bucket of a word's first character (0..36). */
static inline int
rf_bucket(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '0' && c <= '9')
		return 26 + (c - '0');
	return 36;
}

/* strcmp() for qsort()/bsearch() over arrays that start with a key. */
static inline int
rf_key_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

#endif
