/*
 * redact.c - provider error texts made safe to log and store (PURE).
 * See redact.h.
 */
#include "redact.h"

#include <stdbool.h>
#include <string.h>

#include "xmalloc.h"

/* A stretch of the body this long in an error text is taken as an echo. */
#define REDACT_ECHO_MIN 12
/* Only this much of an error text is looked at (the rest would be cut anyway). */
#define REDACT_SCAN_MAX 1024
#define REDACT_BODY_MARK "[message text]"

void
redact_digits(char *s)
{
	for (char *p = s; *p != '\0'; p++) {
		size_t n = 0;

		while (p[n] >= '0' && p[n] <= '9')
			n++;
		if (n >= 7)
			memset(p, '*', n - 4);
		if (n > 0)
			p += n - 1;
	}
}

/* The longest prefix of e (at most elen bytes) found anywhere in body. */
static size_t
redact_echo_len(const char *e, size_t elen, const char *body, size_t blen)
{
	size_t best = 0;

	for (size_t j = 0; j < blen; j++) {
		size_t k = 0;

		while (k < elen && j + k < blen && e[k] == body[j + k])
			k++;
		if (k > best)
			best = k;
	}
	return best;
}

char *
redact_provider_error(const char *error, const char *body)
{
	size_t elen = strnlen(error, REDACT_SCAN_MAX), blen = body ? strlen(body) : 0;
	size_t min_echo = blen < REDACT_ECHO_MIN ? blen : REDACT_ECHO_MIN;
	/* Each byte out is a byte in, or one mark per echoed stretch of at least min_echo bytes. */
	char *out = xmalloc(elen * (sizeof REDACT_BODY_MARK) + 8), *o = out;
	size_t i = 0, n;

	while (i < elen) {
		size_t echo = min_echo >= 4 ? redact_echo_len(error + i, elen - i, body, blen) : 0;

		if (echo >= min_echo && echo > 0) {
			/* Runs of echoes (or an echo that is half a word) collapse into one mark. */
			if (o - out < (long)(sizeof REDACT_BODY_MARK - 1) ||
			    strncmp(o - (sizeof REDACT_BODY_MARK - 1), REDACT_BODY_MARK,
			    sizeof REDACT_BODY_MARK - 1) != 0) {
				memcpy(o, REDACT_BODY_MARK, sizeof REDACT_BODY_MARK - 1);
				o += sizeof REDACT_BODY_MARK - 1;
			}
			i += echo;
			continue;
		}
		*o++ = (unsigned char)error[i] < 32 || error[i] == 127 ? ' ' : error[i];
		i++;
	}
	*o = '\0';
	redact_digits(out);
	n = (size_t)(o - out);
	if (n > REDACT_ERROR_MAX) {
		n = REDACT_ERROR_MAX;
		/* Do not cut a UTF-8 sequence: back up over continuation bytes. */
		while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80)
			n--;
		memcpy(out + n, "...", 4);
	}
	return out;
}
