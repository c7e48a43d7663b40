/*
 * phone.c - phone number validation (PURE). See phone.h.
 */
#include "phone.h"

#include <string.h>

#define PHONE_MAX_LEN 64

bool
phone_valid(const char *s)
{
	const char *colon = strchr(s, ':');
	const char *digits = colon ? colon + 1 : s;
	size_t ndigits = 0;

	if (strlen(s) > PHONE_MAX_LEN)
		return false;
	/* A channel prefix is lowercase letters, as in "whatsapp:". */
	for (const char *p = s; colon != NULL && p < colon; p++) {
		if (*p < 'a' || *p > 'z')
			return false;
	}
	if (colon == s)
		return false;
	if (*digits == '+')
		digits++;
	for (const char *p = digits; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return false;
		ndigits++;
	}
	return ndigits >= 3 && ndigits <= 15;
}
