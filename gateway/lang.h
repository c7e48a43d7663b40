/*
 * lang.h - guesses whether an inbound SMS is Spanish or English, and folds
 * UTF-8 text to plain ASCII letters for the matchers.
 *
 * Why: replies (including the emergency "call 911" text) must go out in the
 * patient's language, decided from the message alone before any conversation
 * state is known. Patients type "vómito", "vomito" and "VÓMITO"; the folding
 * here is shared with redflag.c so that both see the same letters. Pure, no
 * I/O; every function accepts arbitrary bytes (invalid UTF-8 included).
 */
#ifndef CARENAV_GATEWAY_LANG_H
#define CARENAV_GATEWAY_LANG_H

#include <stdbool.h>
#include <stddef.h>

/* Special values returned by lang_fold_next() besides plain ASCII bytes. */
#define LANG_FOLD_IGNORE (-1)   /* zero-width: combining accent, ZWJ, BOM */
#define LANG_FOLD_APOS (-2)     /* apostrophe of any kind: joins "can't" */
#define LANG_FOLD_OPENER (-3)   /* Spanish ¿ or ¡: starts a sentence */

/*
 * Decodes the character at *pos (len bytes in text) and advances *pos by at
 * least one byte. Returns: 'a'-'z' for letters (lowercased, diacritics
 * removed, ñ -> n), '0'-'9', other printable ASCII as itself, '\n' for line
 * breaks, one of the LANG_FOLD_* values, or ' ' for anything else (emoji,
 * invalid bytes, control characters). *accented is set when the character
 * was a Spanish-looking non-ASCII letter or mark (á, ñ, ¿...).
 */
int lang_fold_next(const char *text, size_t len, size_t *pos, bool *accented);

/* Returns "es" when text is clearly Spanish, else "en"; static strings. */
const char *lang_detect(const char *text, size_t len);

#endif
