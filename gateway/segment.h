/*
 * segment.h - split one reply text into SMS segments (PURE).
 *
 * A reply is sent as GSM-7 when every character is in the GSM 03.38 basic
 * or extension table (extension characters cost two septets), else as UCS-2
 * (UTF-16 code units). A reply goes to the provider as one body, which the
 * provider sends as a concatenated SMS the handset shows as one message;
 * only a reply longer than the provider takes is cut into as few whole
 * messages as fit, at a line, sentence or word boundary, never numbered.
 */
#ifndef CARENAV_GATEWAY_SEGMENT_H
#define CARENAV_GATEWAY_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>

#define SEGMENT_ENCODING_LIST(X)                                               \
	X(SEGMENT_GSM7, "gsm7") /* 7-bit default alphabet: 160 single / 153 per part */ \
	X(SEGMENT_UCS2, "ucs2") /* UTF-16: 70 units single / 67 per part */

enum segment_encoding {
#define SEGMENT_ENUM(e, n) e,
	SEGMENT_ENCODING_LIST(SEGMENT_ENUM)
#undef SEGMENT_ENUM
};

#define SEGMENT_GSM7_SINGLE 160 /* septets in a lone GSM-7 SMS */
#define SEGMENT_GSM7_PART 153   /* septets per part of a concatenated SMS */
#define SEGMENT_UCS2_SINGLE 70  /* UTF-16 units in a lone UCS-2 SMS */
#define SEGMENT_UCS2_PART 67    /* UTF-16 units per part of a concatenated SMS */

/* What one message may be; 0 = no limit of that kind. */
struct segment_limit {
	size_t max_segments;  /* segments of a concatenated SMS (Kannel's max-messages) */
	size_t max_chars;     /* characters of one body (Twilio: 1600) */
};

/* Counts the segments text (len bytes of UTF-8) takes as one message; 0 for "". */
size_t segment_count(const char *text, size_t len, enum segment_encoding *encoding);

/* Does text fit in one message within limit (NULL: no limit)? */
bool segment_fits(const char *text, size_t len, const struct segment_limit *limit);

/*
 * Splits text (len bytes of UTF-8, may be invalid) into as few messages within
 * limit as it takes, cutting at the last line break, else sentence end, else
 * space that fits. Returns the number of messages (0 for an empty or
 * all-blank text, *parts then NULL); each and the *parts array are owned by
 * the caller. Invalid UTF-8 bytes come out as U+FFFD. encoding may be NULL.
 */
size_t segment_split(const char *text, size_t len, const struct segment_limit *limit, char ***parts,
    enum segment_encoding *encoding);

/*
 * Returns text with what GSM-7 lacks replaced where a plain stand-in exists
 * (á -> a, é -> e, ’ -> ', — -> -), so a clinic on SMS_ALPHABET=gsm7 pays
 * GSM-7 rates for every text (caller frees). Other characters stay.
 */
char *segment_fold_gsm7(const char *text);

/* Frees a parts array returned by segment_split (NULL ok). */
void segment_free(char **parts, size_t nparts);

/* Returns the name of an encoding ("gsm7", "ucs2"). */
const char *segment_encoding_name(enum segment_encoding encoding);

#endif
