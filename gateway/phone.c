/*
 * phone.c - phone number validation and normalisation (PURE). See phone.h.
 *
 * Deliberately small: no numbering-plan database, only the rules a clinic
 * needs to see one patient as one number (a calling-code setting plus the
 * international prefixes "+", "00" and, in North America, "011"). What
 * cannot be made into E.164 by these rules is refused, never guessed.
 */
#include "phone.h"

#include <stdio.h>
#include <string.h>

#define PHONE_MAX_LEN 64
/* Digits written at most: "011" and 15 digits. */
#define PHONE_MAX_WRITTEN_DIGITS 18

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

static bool
phone_is_separator(char c)
{
	return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
}

/* Splits off a channel prefix: its length (0 = none) in *prefix_len, or false if malformed. */
static bool
phone_channel(const char *s, size_t *prefix_len)
{
	const char *colon = strchr(s, ':');

	*prefix_len = 0;
	if (colon == NULL)
		return true;
	if (colon == s || (size_t)(colon - s) > 16)
		return false;
	for (const char *p = s; p < colon; p++) {
		if (*p < 'a' || *p > 'z')
			return false;
	}
	*prefix_len = (size_t)(colon - s) + 1;
	return true;
}

/* The digits of a number without its separators; false on any other character. */
static bool
phone_digits(const char *s, bool *plus, char *digits, size_t *n, const char **why)
{
	*plus = false;
	*n = 0;
	if (*s == '+') {
		*plus = true;
		s++;
	}
	for (const char *p = s; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9') {
			if (*n == PHONE_MAX_WRITTEN_DIGITS) {
				*why = "too many digits for a phone number";
				return false;
			}
			digits[(*n)++] = *p;
		} else if (!phone_is_separator(*p)) {
			*why = "only digits, a leading '+' and the separators space - . ( ) may be used";
			return false;
		}
	}
	digits[*n] = '\0';
	if (*n == 0) {
		*why = "no digits";
		return false;
	}
	return true;
}

bool
phone_is_e164(const char *s)
{
	size_t n = 0;

	if (*s++ != '+' || *s == '0')
		return false;
	for (; *s != '\0'; s++, n++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return n >= 7 && n <= 15;
}

/* Puts the international digits in E.164 form, or explains why they are not a number. */
static bool
phone_finish(const char *intl, char *e164, const char **why)
{
	size_t n = strlen(intl);

	if (n < 7 || n > 15 || intl[0] == '0') {
		*why = "not a full international number (7 to 15 digits after the country code's '+')";
		return false;
	}
	if (intl[0] == '1' && n != 11) {
		*why = "a North American number has 10 digits after the country code 1";
		return false;
	}
	e164[0] = '+';
	memcpy(e164 + 1, intl, n + 1);
	return true;
}

bool
phone_normalize(const char *s, int country_code, enum phone_accept accept, char *out,
    const char **why)
{
	char digits[PHONE_MAX_WRITTEN_DIGITS + 1], intl[32], cc[8];
	char e164[40];
	size_t prefix_len, n, cclen;
	bool plus;
	const char *d;

	*why = NULL;
	out[0] = '\0';
	if (strlen(s) > PHONE_MAX_LEN) {
		*why = "longer than any phone number";
		return false;
	}
	if (!phone_channel(s, &prefix_len)) {
		*why = "a channel prefix is lowercase letters and ':' (as in whatsapp:)";
		return false;
	}
	if (!phone_digits(s + prefix_len, &plus, digits, &n, why))
		return false;
	snprintf(cc, sizeof cc, "%d", country_code);
	cclen = strlen(cc);
	d = digits;
	if (plus) {
		snprintf(intl, sizeof intl, "%s", d);
	} else if (strncmp(d, "00", 2) == 0) {
		snprintf(intl, sizeof intl, "%s", d + 2);
	} else if (country_code == 1 && strncmp(d, "011", 3) == 0) {
		snprintf(intl, sizeof intl, "%s", d + 3);
	} else if (accept == PHONE_FULL_OR_SHORT && prefix_len == 0 && n >= 3 && n <= 6 && d[0] != '0' &&
	    strcmp(s, d) == 0) {
		memcpy(out, d, n + 1);  /* a short code: no country, kept as written */
		return true;
	} else if (country_code == 1) {
		if (n == 10)
			snprintf(intl, sizeof intl, "1%s", d);
		else if (n == 11 && d[0] == '1')
			snprintf(intl, sizeof intl, "%s", d);
		else {
			*why = "a North American number has 10 digits (or 1 and 10 digits)";
			return false;
		}
	} else if (d[0] == '0') {
		snprintf(intl, sizeof intl, "%s%s", cc, d + 1);
	} else if (strncmp(d, cc, cclen) == 0 && n >= 10) {
		snprintf(intl, sizeof intl, "%s", d);
	} else {
		snprintf(intl, sizeof intl, "%s%s", cc, d);
	}
	if (!phone_finish(intl, e164, why))
		return false;
	/* "tel:" is how a number is written, not a channel. */
	if (prefix_len == 4 && strncmp(s, "tel:", 4) == 0)
		prefix_len = 0;
	snprintf(out, PHONE_NORM_MAX, "%.*s%s", (int)prefix_len, s, e164);
	return true;
}

bool
phone_country_allowed(const char *e164, const char *list)
{
	const char *colon = strchr(e164, ':');
	const char *num = colon ? colon + 1 : e164;
	const char *p = list;

	if (*num != '+')
		return false;
	num++;
	while (*p != '\0') {
		const char *start, *end;

		while (*p == ' ' || *p == ',')
			p++;
		start = p;
		while (*p != '\0' && *p != ',')
			p++;
		end = p;
		while (end > start && end[-1] == ' ')
			end--;
		if (end - start == 1 && *start == '*')
			return true;
		if (end > start && strncmp(num, start, (size_t)(end - start)) == 0)
			return true;
	}
	return false;
}

bool
phone_country_list_valid(const char *list, const char **why)
{
	const char *p = list;

	while (*p != '\0') {
		size_t n = 0;

		while (*p == ' ')
			p++;
		if (*p == '*') {
			p++;
		} else {
			if (*p == '0') {
				*why = "a calling code does not start with 0";
				return false;
			}
			while (*p >= '0' && *p <= '9') {
				p++;
				n++;
			}
			if (n == 0 || n > 3) {
				*why = "expected \"*\" or calling codes of 1-3 digits separated by commas (e.g. 1,44)";
				return false;
			}
		}
		while (*p == ' ')
			p++;
		if (*p == ',')
			p++;
		else if (*p != '\0') {
			*why = "expected \"*\" or calling codes of 1-3 digits separated by commas (e.g. 1,44)";
			return false;
		}
	}
	return true;
}
