/*
 * segment.h - split one reply text into SMS segments (PURE).
 *
 * A reply is sent as GSM-7 when every character is in the GSM 03.38 basic
 * or extension table (extension characters cost two septets), else as UCS-2
 * (UTF-16 code units). Long replies are split on word boundaries and each
 * part is numbered "(i/n) ", the prefix counted inside the per-part limit,
 * so the handset shows them in order even when the network reorders them.
 */
#ifndef CARENAV_GATEWAY_SEGMENT_H
#define CARENAV_GATEWAY_SEGMENT_H

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

/*
 * Splits text (len bytes of UTF-8, may be invalid) into SMS parts. Returns the
 * number of parts (0 for an empty or all-blank text, *parts then NULL); each
 * part and the *parts array are owned by the caller. Invalid UTF-8 bytes come
 * out as U+FFFD. encoding may be NULL.
 */
size_t segment_split(const char *text, size_t len, char ***parts,
    enum segment_encoding *encoding);

/* Frees a parts array returned by segment_split (NULL ok). */
void segment_free(char **parts, size_t nparts);

/* Returns the name of an encoding ("gsm7", "ucs2"). */
const char *segment_encoding_name(enum segment_encoding encoding);

#endif
