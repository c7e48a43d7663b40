/*
 * optoken.c - parsing OPERATOR_TOKENS. See optoken.h.
 *
 * Error messages name the entry by position and never quote a token, so a
 * startup failure does not print a secret into the log.
 */
#include "optoken.h"

#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

static bool
optoken_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > OPTOKEN_MAX_NAME)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool
optoken_token_valid(const char *token, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)token[i];

		if (c <= ' ' || c >= 0x7f || c == ',' || c == ':')
			return false;
	}
	return len >= OPTOKEN_MIN_LEN;
}

bool
optoken_parse(const char *spec, struct optoken_list *out, char **cause)
{
	const char *p = spec;
	size_t pos = 0;

	memset(out, 0, sizeof *out);
	while (*p != '\0') {
		const char *end = strchr(p, ','), *colon;
		size_t len = end ? (size_t)(end - p) : strlen(p), nlen;
		struct strpair t;

		pos++;
		colon = memchr(p, ':', len);
		if (colon == NULL) {
			*cause = xasprintf("OPERATOR_TOKENS: entry %zu is not name:token", pos);
			goto fail;
		}
		nlen = (size_t)(colon - p);
		if (!optoken_name_valid(p, nlen)) {
			*cause = xasprintf("OPERATOR_TOKENS: entry %zu: the name must be 1-%d characters of "
			    "a-z, 0-9, _ and -", pos, OPTOKEN_MAX_NAME);
			goto fail;
		}
		if (!optoken_token_valid(colon + 1, len - nlen - 1)) {
			*cause = xasprintf("OPERATOR_TOKENS: entry %zu (%.*s): the token must be at least %d "
			    "printable characters without spaces, commas or colons", pos, (int)nlen, p,
			    OPTOKEN_MIN_LEN);
			goto fail;
		}
		t.name = xstrndup(p, nlen);
		t.value = xstrndup(colon + 1, len - nlen - 1);
		for (size_t i = 0; i < out->n; i++) {
			if (strcmp(out->items[i].name, t.name) == 0 || strcmp(out->items[i].value, t.value) == 0) {
				*cause = xasprintf("OPERATOR_TOKENS: entry %zu (%s) repeats a name or a token",
				    pos, t.name);
				free(t.name);
				free(t.value);
				goto fail;
			}
		}
		out->items = xreallocarray(out->items, out->n + 1, sizeof *out->items);
		out->items[out->n++] = t;
		p += len;
		if (*p == ',' && *++p == '\0') {
			*cause = xasprintf("OPERATOR_TOKENS: entry %zu is empty", pos + 1);
			goto fail;
		}
	}
	return true;
fail:
	optoken_list_clear(out);
	return false;
}

void
optoken_list_clear(struct optoken_list *list)
{
	strpairs_clear(&list->items, &list->n);
}
