/*
 * form.h - parser for application/x-www-form-urlencoded bodies (PURE).
 *
 * Twilio and Kannel post webhooks in this format. The parser keeps every
 * pair in arrival order (signature checks need them all) and refuses bad
 * percent-escapes and invalid UTF-8 instead of guessing.
 */
#ifndef CARENAV_GATEWAY_FORM_H
#define CARENAV_GATEWAY_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include "attrs.h"
#include "strpair.h"

struct form {
	struct strpair *pairs;  /* owned; name and value decoded, NUL-terminated */
	size_t npairs;
};

/* Parses body into form; false + *cause (caller frees) on malformed input. */
bool form_parse(const char *body, size_t len, struct form *form, char **cause) CN_MUSTCHECK;
void form_free(struct form *form);
/* First value for key, or NULL. Borrowed from form. */
const char *form_get(const struct form *form, const char *key);
/*
 * Encodes pairs as a form body: kv holds n keys and values interleaved
 * (key0, value0, key1, ...). Caller frees the result.
 */
char *form_encode(const char *const *kv, size_t n);
/* True if s[0..len) is well-formed UTF-8 without NUL bytes or overlong forms. */
bool utf8_valid(const char *s, size_t len);

#endif
