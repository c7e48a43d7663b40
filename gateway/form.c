/*
 * form.c - application/x-www-form-urlencoded parser (PURE). See form.h.
 */
#include "form.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

/* Hostile bodies could carry thousands of empty pairs; no real webhook has this many. */
#define FORM_MAX_PAIRS 256

static int
form_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..len) ('+' is a space, %XX a byte) and sets *outlen; NULL on a bad escape. */
static char *
form_decode(const char *s, size_t len, size_t *outlen)
{
	char *out = xmalloc(len + 1), *o = out;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '+') {
			*o++ = ' ';
		} else if (s[i] == '%') {
			int hi, lo;

			if (len - i < 3) {
				free(out);
				return NULL;
			}
			hi = form_hexval(s[i + 1]);
			lo = form_hexval(s[i + 2]);
			if (hi < 0 || lo < 0) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi << 4 | lo);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
}

bool
utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* Overlong forms, UTF-16 surrogates and values past U+10FFFF. */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += n + 1;
	}
	return true;
}

static bool
form_add(struct form *form, const char *s, size_t len, char **cause)
{
	const char *eq = memchr(s, '=', len);
	size_t klen = eq ? (size_t)(eq - s) : len;
	size_t key_len = 0, value_len = 0;
	char *key, *value;

	if (len == 0)
		return true;  /* "a=1&&b=2": empty segments are harmless */
	if (form->npairs == FORM_MAX_PAIRS) {
		*cause = xasprintf("more than %d fields", FORM_MAX_PAIRS);
		return false;
	}
	key = form_decode(s, klen, &key_len);
	value = eq ? form_decode(eq + 1, len - klen - 1, &value_len) : xstrdup("");
	if (key == NULL || value == NULL) {
		*cause = xasprintf("bad percent-escape in field %zu", form->npairs + 1);
		goto fail;
	}
	/* utf8_valid also refuses "%00", which would cut a C string short. */
	if (!utf8_valid(key, key_len) || !utf8_valid(value, value_len)) {
		*cause = xasprintf("field %zu is not valid UTF-8", form->npairs + 1);
		goto fail;
	}
	form->pairs = xreallocarray(form->pairs, form->npairs + 1, sizeof *form->pairs);
	form->pairs[form->npairs].name = key;
	form->pairs[form->npairs].value = value;
	form->npairs++;
	return true;
fail:
	free(key);
	free(value);
	return false;
}

bool
form_parse(const char *body, size_t len, struct form *form, char **cause)
{
	size_t start = 0;

	memset(form, 0, sizeof *form);
	for (size_t i = 0; i <= len; i++) {
		if (i == len || body[i] == '&') {
			if (!form_add(form, body + start, i - start, cause)) {
				form_free(form);
				return false;
			}
			start = i + 1;
		}
	}
	return true;
}

void
form_free(struct form *form)
{
	strpairs_clear(&form->pairs, &form->npairs);
}

const char *
form_get(const struct form *form, const char *key)
{
	for (size_t i = 0; i < form->npairs; i++) {
		if (strcmp(form->pairs[i].name, key) == 0)
			return form->pairs[i].value;
	}
	return NULL;
}

/* Appends s percent-encoded (RFC 3986 unreserved bytes kept, space as '+'). */
static size_t
form_encode_one(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			out[n++] = (char)*p;
		} else if (*p == ' ') {
			out[n++] = '+';
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	return n;
}

char *
form_encode(const char *const *kv, size_t n)
{
	size_t size = 1, len = 0;
	char *out;

	for (size_t i = 0; i < 2 * n; i++)
		size += 3 * strlen(kv[i]) + 1;
	out = xmalloc(size);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			out[len++] = '&';
		len += form_encode_one(out + len, kv[2 * i]);
		out[len++] = '=';
		len += form_encode_one(out + len, kv[2 * i + 1]);
	}
	out[len] = '\0';
	return out;
}
