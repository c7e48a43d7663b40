/*
 * fuzz_phone.c - libFuzzer target: phone number normalisation (every
 * webhook's From and To) and provider error redaction.
 * A number that normalises is canonical: normalising it again gives the
 * same text, and it is E.164 (after any channel prefix) or a bare short
 * code. A redacted error is bounded and holds no run of 7 or more digits.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "phone.h"
#include "redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), out[PHONE_NORM_MAX], again[PHONE_NORM_MAX], *red;
	const char *why, *colon;
	int cc = size > 0 ? 1 + data[0] % 999 : 1;
	size_t run = 0;

	memcpy(s, data, size);
	s[size] = '\0';
	for (int accept = PHONE_FULL; accept <= PHONE_FULL_OR_SHORT; accept++) {
		if (!phone_normalize(s, cc, (enum phone_accept)accept, out, &why)) {
			assert(why != NULL);
			continue;
		}
		assert(phone_normalize(out, cc, (enum phone_accept)accept, again, &why));
		assert(strcmp(out, again) == 0);
		colon = strchr(out, ':');
		assert(phone_is_e164(colon ? colon + 1 : out) ||
		    (accept == PHONE_FULL_OR_SHORT && strspn(out, "0123456789") == strlen(out)));
	}
	red = redact_provider_error(s, size > 8 ? s + size / 2 : NULL);
	assert(strlen(red) <= REDACT_ERROR_MAX + 3);
	for (const char *p = red; *p != '\0'; p++) {
		run = *p >= '0' && *p <= '9' ? run + 1 : 0;
		assert(run < 7);
	}
	free(red);
	free(s);
	return 0;
}
