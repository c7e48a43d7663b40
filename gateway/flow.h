/*
 * flow.h - a dialogue flow document (JSON) loaded into a validated, read-only
 * struct flow (PURE: no I/O; the caller reads the file).
 *
 * The loader rejects anything the engine could trip over at run time:
 * unknown fields or node kinds, dangling or cyclic links, unreachable nodes,
 * texts missing a declared language, keywords that two meanings share. So
 * engine.c can follow links and index languages without checking again.
 * Everything here is borrowed from the struct flow and lives until
 * flow_free(); the node views are public so engine.c can walk them, but only
 * flow.c builds them. Slots (what the engine reads from free text) are flow
 * data too, validated here like nodes. docs/flows.md describes the document.
 */
#ifndef CARENAV_GATEWAY_FLOW_H
#define CARENAV_GATEWAY_FLOW_H

#include <stdbool.h>
#include <stddef.h>

#include "attrs.h"

#define FLOW_MAX_LANGS 8	    /* languages one flow may declare */
#define FLOW_MAX_NODES 512	    /* nodes per flow */
#define FLOW_MAX_CHOICES 32	    /* choices per question */
#define FLOW_MAX_TEXT 1600	    /* bytes per text in one language */
#define FLOW_MAX_WORD 64	    /* bytes per keyword after normalizing */
#define FLOW_MAX_DOC (4u << 20)	    /* bytes of JSON accepted */
#define FLOW_MAX_VALUE 64	    /* bytes per variable name or set value */

#define FLOW_NODE_KIND_LIST(X)                                                   \
	X(FLOW_MESSAGE, "message")     /* sends text, moves on to next at once */     \
	X(FLOW_QUESTION, "question")   /* sends text, waits for one of its choices */ \
	X(FLOW_CAPTURE, "capture")     /* sends text, stores any reply in var */      \
	X(FLOW_BRANCH, "branch")       /* sends nothing, picks next from variables */ \
	X(FLOW_EMERGENCY, "emergency") /* emergency instruction; later texts get the reminder */ \
	X(FLOW_END, "end")	       /* closing text; the next text starts over */

enum flow_node_kind {
#define FLOW_ENUM(e, n) e,
	FLOW_NODE_KIND_LIST(FLOW_ENUM)
#undef FLOW_ENUM
};

/* System messages the engine sends; every flow must provide all of them. */
#define FLOW_MESSAGE_LIST(X)                                                     \
	X(FLOW_MSG_OPT_OUT, "opt_out")	   /* confirms STOP */                          \
	X(FLOW_MSG_OPT_IN, "opt_in")	   /* confirms START after STOP */              \
	X(FLOW_MSG_HELP, "help")	   /* who we are, how to reach a human, 911 */  \
	X(FLOW_MSG_HUMAN, "human")	   /* confirms a call-back request */           \
	X(FLOW_MSG_RETRY, "retry")	   /* hint before a re-asked question */         \
	X(FLOW_MSG_GIVE_UP, "give_up")	   /* after 3 failed tries: HUMAN or MENU */    \
	X(FLOW_MSG_IDLE_RESET, "idle_reset") /* the old conversation was closed */      \
	X(FLOW_MSG_SEE_DOCTOR, "see_doctor") /* red-flag matcher said see a doctor */ \
	X(FLOW_MSG_ACK_PATIENT, "ack_patient") /* staff acknowledged: a nurse will call */ \
	X(FLOW_MSG_ALERT_STAFF, "alert_staff") /* to staff; {code} {reason} {matched} {patient} */ \
	X(FLOW_MSG_ACK_OK, "ack_ok")         /* to staff; {staff} {code} {patient} */       \
	X(FLOW_MSG_ACK_UNKNOWN, "ack_unknown") /* to staff; {code} {codes} */               \
	X(FLOW_MSG_ACK_WHICH, "ack_which")   /* to staff, on an ACK without a code; {count} {codes} */ \
	X(FLOW_MSG_STAFF_HELP, "staff_help") /* to staff: how the staff line works */ \
	X(FLOW_MSG_RATE_LIMITED, "rate_limited") /* sent once when a number texts too fast */

enum flow_message {
#define FLOW_ENUM(e, n) e,
	FLOW_MESSAGE_LIST(FLOW_ENUM)
#undef FLOW_ENUM
	FLOW_MSG_COUNT
};

/* Whole-message keywords, valid at any point in the conversation. */
#define FLOW_KEYWORD_LIST(X)                                                     \
	X(FLOW_KW_NONE, "none")	      /* not a keyword */                             \
	X(FLOW_KW_STOP, "stop")	      /* opt out */                                   \
	X(FLOW_KW_START, "start")     /* opt back in */                               \
	X(FLOW_KW_HELP, "help")	      /* send the help message */                     \
	X(FLOW_KW_RESTART, "restart") /* start the flow over */                      \
	X(FLOW_KW_HUMAN, "human")     /* ask for a call-back */                       \
	X(FLOW_KW_LANGUAGE, "language") /* switch language (hit.lang) */              \
	X(FLOW_KW_GOTO, "goto")	      /* a shortcut: jump to hit.target */

enum flow_keyword {
#define FLOW_ENUM(e, n) e,
	FLOW_KEYWORD_LIST(FLOW_ENUM)
#undef FLOW_ENUM
};

#define FLOW_ACTION_LIST(X)                                                      \
	X(FLOW_ACTION_ESCALATE, "escalate") /* alert staff now */                     \
	X(FLOW_ACTION_CALLBACK, "callback") /* staff should phone the patient */

enum flow_action_kind {
#define FLOW_ENUM(e, n) e,
	FLOW_ACTION_LIST(FLOW_ENUM)
#undef FLOW_ENUM
};

enum flow_cond_op {
	FLOW_COND_EQ,  /* var == value ("" when unset) */
	FLOW_COND_NE,  /* var != value */
	FLOW_COND_SET, /* var is set (value NULL) or unset (value "") */
	FLOW_COND_ANY, /* any of subs */
	FLOW_COND_ALL, /* all of subs */
	FLOW_COND_NOT, /* not subs[0] */
	FLOW_COND_ADVISED /* the see-a-doctor advice was given (value NULL) or not (value "") */
};

struct flow;
struct flow_node;

/* A text in every declared language, indexed like flow_lang(). */
struct flow_text {
	const char *by_lang[FLOW_MAX_LANGS]; /* borrowed from flow, never NULL */
};

struct flow_set {
	const char *var;   /* borrowed */
	const char *value; /* borrowed */
};

struct flow_action_spec {
	enum flow_action_kind kind;
	const char *reason; /* borrowed, never NULL */
	const char *detail; /* borrowed, may be NULL */
};

/* What entering a node or taking a choice does besides moving. */
struct flow_effects {
	const struct flow_set *sets; /* borrowed */
	size_t nsets;
	const struct flow_action_spec *actions; /* borrowed */
	size_t nactions;
};

struct flow_choice {
	const char *const *keywords; /* normalized, all languages; borrowed */
	size_t nkeywords;
	const char *value;	     /* stored in the node's var (multi: in the choice's var); borrowed */
	const char *var;	     /* multi question: variable this choice sets; NULL = the "none" choice */
	const struct flow_node *next; /* NULL in a multi question (the node's next applies) */
	struct flow_effects fx;
};

struct flow_cond {
	enum flow_cond_op op;
	const char *var;	      /* borrowed; NULL for ANY/ALL/NOT */
	const char *value;	      /* borrowed; see enum flow_cond_op */
	const struct flow_cond *subs; /* borrowed */
	size_t nsubs;
};

struct flow_case {
	struct flow_cond cond;
	const struct flow_node *next;
};

/* One node, read-only, owned by its flow. */
struct flow_node {
	const char *id; /* borrowed */
	enum flow_node_kind kind;
	const struct flow_text *text;	  /* all kinds but branch */
	const struct flow_text *prompt;	  /* question: re-ask text instead of text; may be NULL */
	const struct flow_text *hint;	  /* question/capture: re-ask hint; NULL = messages.retry */
	const struct flow_text *reminder; /* emergency: reply to later texts */
	const char *var;		  /* question/capture: variable to store; may be NULL */
	bool strict;			  /* question: whole-message answers only */
	bool multi;			  /* question: several choices at once ("1 3"), then next */
	bool see_doctor;		  /* entering it gives the see-a-doctor advice (messages.see_doctor not sent) */
	const struct flow_text *which;	  /* multi question: reply to a plain "yes" (ask which); may be NULL */
	const char *const *which_words;	  /* normalized "yes" phrases, all languages; borrowed */
	size_t nwhich_words;
	const struct flow_choice *choices; /* question; shared with choices_from */
	size_t nchoices;
	const struct flow_case *cases; /* branch */
	size_t ncases;
	const struct flow_node *next; /* message/capture/multi question next, branch else */
	struct flow_effects fx;	      /* applied on entering the node */
};

/* One value a slot can take, and the words that say it in free text. */
struct flow_slot_value {
	const char *value;	       /* stored in the slot's var; borrowed */
	const struct flow_text *label; /* how "Noted: ..." names it */
	const char *const *words;      /* normalized phrases, all languages; borrowed */
	size_t nwords;
};

/* A duration unit ("weeks" = 7 days). */
struct flow_slot_unit {
	int days;
	const char *const *words; /* normalized single words, all languages; borrowed */
	size_t nwords;
};

/*
 * A slot: a variable the engine fills from free text ("lower back, 3 weeks").
 * Either values (region: upper/middle/lower) or a duration (number + unit).
 */
struct flow_slot {
	const char *var; /* borrowed */
	const struct flow_slot_value *values;
	size_t nvalues;
	const struct flow_slot_unit *units; /* duration slot: nunits > 0 */
	size_t nunits;
	int over_days;		     /* duration: longer than this applies over_fx; < 0 = never */
	struct flow_effects over_fx; /* sets when the duration is over over_days */
};

/* A global keyword match. */
struct flow_keyword_hit {
	enum flow_keyword kind;
	int lang;			/* FLOW_KW_LANGUAGE: language index */
	const struct flow_node *target; /* FLOW_KW_GOTO: node to jump to */
};

/* Parses and validates a flow document; NULL and *cause (caller frees) on error. */
struct flow *flow_load(const char *json_text, size_t len, char **cause) CN_MUSTCHECK;
/* Frees a flow and everything borrowed from it (NULL ok). */
void flow_free(struct flow *flow);
/* Is sha256 (hex) an earlier shipped version this document lists in "replaces"? */
bool flow_replaces(const struct flow *flow, const char *sha256);
/* Returns the flow's name, e.g. "back_pain". */
const char *flow_name(const struct flow *flow);
/* Returns the number of declared languages (1..FLOW_MAX_LANGS). */
size_t flow_nlangs(const struct flow *flow);
/* Returns the code of language i, e.g. "en". */
const char *flow_lang(const struct flow *flow, size_t i);
/* Returns the index of a language code, or -1 when the flow does not declare it. */
int flow_lang_index(const struct flow *flow, const char *code);
/* Returns the index of the default language. */
size_t flow_default_lang(const struct flow *flow);
/* Returns the first node of a conversation. */
const struct flow_node *flow_start(const struct flow *flow);
/* Returns the node red flags lead to (kind FLOW_EMERGENCY). */
const struct flow_node *flow_emergency(const struct flow *flow);
/* Returns the node with this id, or NULL. */
const struct flow_node *flow_node_find(const struct flow *flow, const char *id);
/* Returns a system message. */
const struct flow_text *flow_message(const struct flow *flow, enum flow_message msg);
/* A system message as a JSON language map {"en": ..., "es": ...} (caller frees). */
char *flow_message_json(const struct flow *flow, enum flow_message msg);
/* Matches a normalized message against the global keywords. */
struct flow_keyword_hit flow_keyword_match(const struct flow *flow, const char *norm);
/* Returns 1..n when norm is a number word ("one", "uno"), else 0. */
int flow_number_word(const struct flow *flow, const char *norm);
/*
 * Is this normalized word (len bytes, not NUL-terminated) one of the flow's
 * "plain_words": ordinary words that typo matching must never read as an
 * answer ("gone" is not "done", "sore" is not "core")?
 */
bool flow_plain_word(const struct flow *flow, const char *word, size_t len);
/*
 * Is this normalized word one of the flow's "hedges": words that keep the
 * opening word of a YES/NO answer from deciding it ("no but...", "not sure")?
 */
bool flow_hedge_word(const struct flow *flow, const char *word, size_t len);
/* Returns the slots (free-text extraction), *n of them; NULL/0 when the flow has none. */
const struct flow_slot *flow_slots(const struct flow *flow, size_t *n);
/* Returns the "Noted: {list}." text of the slots, or NULL when the flow has no slots. */
const struct flow_text *flow_slots_noted(const struct flow *flow);
/* Is this normalized word (len bytes) a negation ("no", "not", "sin") for slot words? */
bool flow_negation_word(const struct flow *flow, const char *word, size_t len);
/* Returns the days of a duration unit word ("weeks" -> 7), or 0. */
int flow_duration_unit(const struct flow *flow, const char *word, size_t len);
/* Is this normalized word (len bytes) a duration's "one" ("a", "una": "a week")? */
bool flow_duration_one(const struct flow *flow, const char *word, size_t len);
/* Returns the name of a node kind ("question"). */
const char *flow_node_kind_name(enum flow_node_kind kind);
/* Returns the name of a keyword kind ("stop"). */
const char *flow_keyword_name(enum flow_keyword kw);
/*
 * Normalizes text for matching into out (cap bytes, NUL-terminated): lower
 * case, Latin accents folded (MENÚ -> menu), apostrophes dropped, any other
 * punctuation or invalid UTF-8 as one space, trimmed. Returns strlen(out).
 */
size_t flow_normalize(const char *text, size_t len, char *out, size_t cap);

#endif
